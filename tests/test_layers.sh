#!/bin/sh
# The layering of libschedopt (docs/architecture.md), lowest first:
#
#   core dynamics problem optimize surrogate export sweep   (the library)
#   cli                                                     (the program)
#
# A file in src/FOLDER may include
#   - internal headers "F/x.h" only of its own or a lower folder F, and
#   - public headers "schedopt/X.h" only of its own or a lower layer,
# and a public header include/schedopt/X.h may include public headers of
# its own or a lower layer only (and no internal header).  The public headers
# belong to the layers:
#
#   error.h version.h                                 core
#   control.h schedule.h model.h integrator.h         dynamics
#   problem.h                                         problem
#   optimize.h                                        optimize
#   losscurve.h surrogate.h fit.h design.h            surrogate
#   export.h plot.h                                   export
#   sweep.h                                           sweep
#   schedopt.h (the umbrella header)                  cli
#
# Every violation is printed as `FILE: includes X (layer L above M)`; the
# test fails if there is any.  A folder of src/ or a public header missing
# from these lists, and a layer list that differs from SCHEDOPT_LAYERS in
# CMakeLists.txt, are errors too (a new one needs its place here).
#
# usage: test_layers.sh SOURCE_DIR
set -eu
src=${1:?usage: test_layers.sh SOURCE_DIR}
cd "$src"

layers="core dynamics problem optimize surrogate export sweep"
public="error.h=core version.h=core
control.h=dynamics schedule.h=dynamics trainer.h=dynamics model.h=dynamics integrator.h=dynamics
problem.h=problem
optimize.h=optimize
losscurve.h=surrogate surrogate.h=surrogate fit.h=surrogate design.h=surrogate
export.h=export plot.h=export
sweep.h=sweep
schedopt.h=cli"

# the library's layers as CMakeLists.txt builds them
cmake_layers=$(sed -n 's/^[[:space:]]*set(SCHEDOPT_LAYERS[[:space:]]\{1,\}\([^)]*\))/\1/p' CMakeLists.txt)
# shellcheck disable=SC2086,SC2116 # the words, with single spaces
cmake_layers=$(echo $cmake_layers)
layer_list=
if [ "$cmake_layers" != "$layers" ]; then
  layer_list="CMakeLists.txt: SCHEDOPT_LAYERS is \"$cmake_layers\", this test knows \"$layers\""
fi

# the sources of src/ and the public headers (a file's layer is its folder)
files=$(ls src/*/*.c src/*/*.h include/schedopt/*.h 2>/dev/null)

# $files: one name per word (no spaces in src/); $public: its words on one line
# shellcheck disable=SC2086,SC2116
out=$(awk -v layers="$layers cli" -v public="$(echo $public)" '
  BEGIN {
    n = split(layers, l, " ")
    for (i = 1; i <= n; i++) rank[l[i]] = i
    m = split(public, p, " ")
    for (i = 1; i <= m; i++) { split(p[i], kv, "="); pub[kv[1]] = kv[2] }
  }
  FNR == 1 {
    file = FILENAME
    if (file ~ /^include\/schedopt\//) {
      name = file; sub(/^.*\//, "", name)
      own = (name in pub) ? pub[name] : ""   # (reported below)
      ispublic = 1
    } else {
      own = file; sub(/^src\//, "", own); sub(/\/.*$/, "", own)
      if (!(own in rank)) own = ""          # (reported below)
      ispublic = 0
    }
  }
  own == "" { next }
  /^[ \t]*#[ \t]*include[ \t]*["<]/ {
    line = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*["<]/, "", line)
    sub(/[">].*$/, "", line)
    inc = line
    if (inc ~ /^schedopt\//) {
      name = inc; sub(/^schedopt\//, "", name)
      if (!(name in pub)) {
        print file ": includes " inc " (a public header in no layer)"
        next
      }
      target = pub[name]
    } else if (ispublic && inc !~ /\//) {
      if (!(inc in pub)) next          # a system header as "x.h": not ours
      target = pub[inc]
    } else if (inc ~ /\//) {
      folder = inc; sub(/\/.*$/, "", folder)
      if (!(folder in rank)) next      # <sys/stat.h>, <nvector/...>: not ours
      if (ispublic) {
        print file ": includes " inc " (an internal header in a public header)"
        next
      }
      target = folder
    } else next                        # <stdio.h>, "cli.h" beside the file
    if (rank[target] > rank[own])
      print file ": includes " inc " (layer " target " above " own ")"
  }
' $files /dev/null 2>&1) || out="${out:+$out
}test_layers: awk failed"
out="$layer_list${layer_list:+${out:+
}}$out"
# folders and public headers that have no layer (empty files included)
for d in src/*/; do
  d=${d%/} && d=${d#src/}
  case " $layers cli " in
    *" $d "*) ;;
    *) out="${out:+$out
}src/$d: a folder in no layer (add it to tests/test_layers.sh and CMakeLists.txt)" ;;
  esac
done
for f in include/schedopt/*.h; do
  case "
$public" in
    *[[:space:]]"${f##*/}="*) ;;
    *) out="${out:+$out
}$f: a public header in no layer (add it to tests/test_layers.sh)" ;;
  esac
done
if [ -n "$out" ]; then
  echo "$out"
  echo "test_layers: $(echo "$out" | wc -l) violation(s)"
  exit 1
fi
echo "test_layers: $(echo "$files" | wc -l) files, no violation"
