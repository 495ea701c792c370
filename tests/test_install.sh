#!/bin/sh
# Install schedopt into scratch prefixes — BUILD_DIR as it is, and a second
# copy of the library and CLI built as the other kind (static <-> shared) —
# then, for each, build the examples (simulate.c, optimize.c, fit.c) against
# the installed package both ways — CMake find_package(schedopt) and
# pkg-config — and run them and the installed CLI.
#
#   shared: pkg-config --libs schedopt            (no --static)
#   static: pkg-config --static --libs schedopt   (the private dependencies)
#
# The second copy is configured in WORK_DIR.build-KIND, which is kept between
# runs (an incremental build), with -DSCHEDOPT_BUILD_TESTS=OFF
# -DSCHEDOPT_BUILD_BENCH=OFF -DSCHEDOPT_BUILD_EXAMPLES=OFF.
#
# usage: test_install.sh CMAKE CC BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
cmake=$1 cc=$2 build=$3 src=$4 work=$5
rm -rf "$work"
mkdir -p "$work"
problem=$src/problems/hard_phase.yaml
t0=$(date +%s)

fail() { echo "FAIL: $*"; exit 1; }
show_fail() { # log message: the end of the log, then the message
  tail -n 100 "$1"; fail "$2"
}
needs_libschedopt() { # binary: exit 0 iff it loads libschedopt.so at run time
  readelf -d "$1" | grep -q 'NEEDED.*\[libschedopt\.so'
}

kind_of() { # build dir -> shared | static
  if grep -q '^BUILD_SHARED_LIBS:BOOL=\(ON\|1\|TRUE\|YES\|Y\)$' "$1/CMakeCache.txt"; then
    echo shared
  else
    echo static
  fi
}

check_run() { # binary (the simulate example)
  "$1" "$problem" >"$work/run.out" 2>&1 || show_fail "$work/run.out" "$1 failed"
  grep -q "hard_phase: a = 3.5, b = 5" "$work/run.out" &&
    grep -q "final excess loss: ODE" "$work/run.out" || show_fail "$work/run.out" "$1: output"
}
check_examples() { # dir suffix: DIR/simulate$suffix, DIR/optimize$suffix, DIR/fit$suffix
  check_run "$1/simulate$2"
  "$1/optimize$2" >"$work/optimize.out" 2>&1 || show_fail "$work/optimize.out" "$1/optimize$2 failed"
  grep -q "optimum matches or beats the tuned WSD" "$work/optimize.out" \
    || show_fail "$work/optimize.out" "$1/optimize$2: output"
  "$1/fit$2" "$src/examples/data/mpl-llama-100M" >"$work/fit.out" 2>&1 \
    || show_fail "$work/fit.out" "$1/fit$2 failed"
  grep -q "held-out WSD run: predicted within 1 %" "$work/fit.out" \
    || show_fail "$work/fit.out" "$1/fit$2: output"
}

check_prefix() { # kind prefix
  kind=$1 prefix=$2 w=$work/$1
  mkdir -p "$w"
  for f in include/schedopt/schedopt.h include/schedopt/export.h include/schedopt/plot.h \
           bin/schedopt share/schedopt/problems/hard_phase.yaml; do
    test -e "$prefix/$f" || fail "$kind: missing $f"
  done
  config=$(find "$prefix" -name schedoptConfig.cmake)
  pc=$(find "$prefix" -name schedopt.pc)
  test -n "$config" && test -f "$(dirname "$config")/schedoptConfigVersion.cmake" \
    || fail "$kind: missing schedoptConfig.cmake / schedoptConfigVersion.cmake"
  test -n "$pc" || fail "$kind: missing schedopt.pc"
  libdir=$(dirname "$(dirname "$pc")")
  if [ "$kind" = shared ]; then
    test -L "$libdir/libschedopt.so" && test -e "$libdir/libschedopt.so.0" \
      || fail "shared: missing libschedopt.so / libschedopt.so.0"
    readelf -d "$libdir/libschedopt.so" | grep -q 'SONAME.*\[libschedopt\.so\.0\]' \
      || fail "shared: libschedopt.so has no SONAME libschedopt.so.0"
    test ! -e "$libdir/libschedopt.a" || fail "shared: libschedopt.a installed too"
  else
    test -f "$libdir/libschedopt.a" || fail "static: missing libschedopt.a"
    test ! -e "$libdir/libschedopt.so" || fail "static: libschedopt.so installed too"
  fi

  echo "== $kind: the installed CLI"
  # no LD_LIBRARY_PATH: a shared libschedopt is found through the CLI's RUNPATH
  "$prefix/bin/schedopt" --version
  "$prefix/bin/schedopt" simulate "$prefix/share/schedopt/problems/hard_phase.yaml" -q -o - \
    --set output.points=5 >"$w/cli.csv"
  test "$(wc -l <"$w/cli.csv")" -eq 6 || { cat "$w/cli.csv"; fail "$kind: CLI output"; }
  if [ "$kind" = shared ]; then
    needs_libschedopt "$prefix/bin/schedopt" || fail "shared: the CLI does not load libschedopt.so"
  fi

  echo "== $kind: find_package(schedopt)"
  mkdir -p "$w/consumer"
  cat >"$w/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(schedopt 0.1 REQUIRED)
message(STATUS "schedopt_LIBRARY_TYPE: \${schedopt_LIBRARY_TYPE}")
foreach(ex simulate optimize fit)
  add_executable(\${ex} "$src/examples/\${ex}.c")
  target_link_libraries(\${ex} PRIVATE schedopt::schedopt)
endforeach()
CMAKE
  "$cmake" -S "$w/consumer" -B "$w/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" >"$w/consumer.log" 2>&1 || show_fail "$w/consumer.log" "$kind: configure"
  upper=$(echo "$kind" | tr '[:lower:]' '[:upper:]')
  grep -q "schedopt_LIBRARY_TYPE: ${upper}_LIBRARY" "$w/consumer.log" \
    || show_fail "$w/consumer.log" "$kind: schedopt_LIBRARY_TYPE"
  "$cmake" --build "$w/consumer/build" >>"$w/consumer.log" 2>&1 \
    || show_fail "$w/consumer.log" "$kind: build against find_package(schedopt)"
  # (CMake's build RPATH finds a shared libschedopt)
  check_examples "$w/consumer/build" ""
  if [ "$kind" = shared ]; then
    needs_libschedopt "$w/consumer/build/simulate" || fail "shared: simulate does not load libschedopt.so"
  else
    ! needs_libschedopt "$w/consumer/build/simulate" || fail "static: simulate loads libschedopt.so"
  fi
  # a version the package does not satisfy is refused
  mkdir -p "$w/consumer-v"
  cat >"$w/consumer-v/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer_v C)
find_package(schedopt 99 QUIET)
if(schedopt_FOUND)
  message(FATAL_ERROR "schedopt 99 was accepted")
endif()
CMAKE
  "$cmake" -S "$w/consumer-v" -B "$w/consumer-v/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" >"$w/consumer-v.log" 2>&1 || show_fail "$w/consumer-v.log" "$kind: version"

  echo "== $kind: pkg-config schedopt"
  pcdir=$(dirname "$pc")
  if [ "$kind" = shared ]; then static=; else static=--static; fi
  pc --modversion schedopt
  cflags=$(pc --cflags schedopt) || fail "$kind: pkg-config --cflags schedopt"
  libs=$(pc $static --libs schedopt) || fail "$kind: pkg-config${static:+ $static} --libs schedopt"
  echo "pkg-config${static:+ $static} --libs schedopt: $libs"
  for ex in simulate optimize fit; do
    # shellcheck disable=SC2086 # word splitting of the flags is intended
    "$cc" -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/$ex.c" -o "$w/$ex-pc" $libs \
      >"$w/pc-$ex.log" 2>&1 \
      || show_fail "$w/pc-$ex.log" "$kind: cc $ex.c \$(pkg-config${static:+ $static} --libs schedopt)"
  done
  if [ "$kind" = shared ]; then
    needs_libschedopt "$w/simulate-pc" || fail "shared: simulate-pc does not load libschedopt.so"
    ( LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      export LD_LIBRARY_PATH
      check_examples "$w" -pc )
  else
    ! needs_libschedopt "$w/simulate-pc" || fail "static: simulate-pc loads libschedopt.so"
    check_examples "$w" -pc
  fi
  echo "== $kind: ok ($(($(date +%s) - t0)) s)"
}
pc() { # pkg-config with the prefix being checked first on the search path
  PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH_0:+:$PKG_CONFIG_PATH_0} pkg-config "$@"
}
PKG_CONFIG_PATH_0=${PKG_CONFIG_PATH-}

# 1. BUILD_DIR as it is
kind=$(kind_of "$build")
if [ "$kind" = shared ]; then other=static; else other=shared; fi
echo "== cmake --install $build ($kind) into $work/$kind/prefix"
"$cmake" --install "$build" --prefix "$work/$kind/prefix" >"$work/install-$kind.log" 2>&1 \
  || show_fail "$work/install-$kind.log" "install $kind"
check_prefix "$kind" "$work/$kind/prefix"

# 2. the library and CLI again as the other kind
obuild=$work.build-$other
if [ "$other" = shared ]; then shared_opt=ON; else shared_opt=OFF; fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
echo "== configure and build $other ($obuild)"
"$cmake" -S "$src" -B "$obuild" -DBUILD_SHARED_LIBS=$shared_opt \
  -DSCHEDOPT_BUILD_TESTS=OFF -DSCHEDOPT_BUILD_BENCH=OFF -DSCHEDOPT_BUILD_EXAMPLES=OFF \
  -DSCHEDOPT_SANITIZE=OFF -DSCHEDOPT_FUZZ=OFF -DCMAKE_BUILD_TYPE="${build_type:-Release}" \
  -DCMAKE_C_COMPILER="$cc" >"$work/build-$other.log" 2>&1 \
  || show_fail "$work/build-$other.log" "configure $other"
"$cmake" --build "$obuild" -j2 >>"$work/build-$other.log" 2>&1 \
  || show_fail "$work/build-$other.log" "build $other"
test "$(kind_of "$obuild")" = "$other" || fail "$obuild is not $other"
echo "== cmake --install $obuild ($other) into $work/$other/prefix"
"$cmake" --install "$obuild" --prefix "$work/$other/prefix" >"$work/install-$other.log" 2>&1 \
  || show_fail "$work/install-$other.log" "install $other"
check_prefix "$other" "$work/$other/prefix"
echo "install test: ok, static and shared ($(($(date +%s) - t0)) s)"
