#!/bin/sh
# Every global symbol libschedopt defines starts with schedopt_: a program
# that links the library, or another library beside it, cannot collide with
# one of its internal helpers.
#
#   static archive: nm -g --defined-only   (every member object)
#   shared library: nm -D --defined-only   (what the .so exports)
#
# Symbols the toolchain defines (the linker's _init/_fini/_edata/_end/
# __bss_start, and sanitizer or coverage instrumentation, __asan_*,
# __odr_asan*, __sancov_*, __llvm_*, __prof*) are not ours and pass.
#
# usage: test_symbols.sh NM LIBRARY...
set -eu
nm=$1
shift
status=0
for lib in "$@"; do
  case $lib in
    *.a) opts="-A -g --defined-only" kind=static ;;
    *.so|*.so.*) opts="-A -D --defined-only" kind=shared ;;
    *) echo "test_symbols: $lib: neither a .a nor a .so"; exit 2 ;;
  esac
  test -f "$lib" || { echo "test_symbols: $lib: no such file"; exit 2; }
  # shellcheck disable=SC2086 # word splitting of the options is intended
  syms=$("$nm" $opts "$lib") || { echo "test_symbols: $nm $opts $lib failed"; exit 2; }
  # lines: FILE[:MEMBER]:[VALUE] TYPE NAME (nm -A); the name is the last field
  total=$(printf '%s\n' "$syms" | awk 'NF >= 2' | wc -l)
  bad=$(printf '%s\n' "$syms" | awk 'NF >= 2 { name = $NF;
          if (name ~ /^schedopt_/) next;
          if (name ~ /^(_init|_fini|_edata|_end|__bss_start)$/) next;
          if (name ~ /^__(asan_|odr_asan|ubsan_|sancov_|llvm_|prof)/) next;
          where = $1; sub(/:[0-9a-fA-F]*$/, "", where);
          print "  " where ": " $(NF - 1) " " name }')
  test "$total" -gt 0 || { echo "test_symbols: $lib ($kind): no global symbol at all"; exit 2; }
  if [ -n "$bad" ]; then
    echo "$lib ($kind): global symbols without the schedopt_ prefix:"
    echo "$bad"
    status=1
  else
    echo "$lib ($kind): $total global symbols, all schedopt_*"
  fi
done
exit $status
