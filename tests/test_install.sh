#!/bin/sh
# Install schedopt into a scratch prefix, then build the examples (simulate.c,
# optimize.c, fit.c) against the installed package both ways — CMake
# find_package(schedopt) and pkg-config — and run them and the installed CLI.
#
# usage: test_install.sh CMAKE CC BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
cmake=$1 cc=$2 build=$3 src=$4 work=$5
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
problem=$src/problems/hard_phase.yaml

echo "== cmake --install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/schedopt/schedopt.h include/schedopt/export.h include/schedopt/plot.h \
         bin/schedopt share/schedopt/problems/hard_phase.yaml; do
  test -e "$prefix/$f" || { echo "missing: $f"; exit 1; }
done
config=$(find "$prefix" -name schedoptConfig.cmake)
pc=$(find "$prefix" -name schedopt.pc)
test -n "$config" && test -f "$(dirname "$config")/schedoptConfigVersion.cmake" \
  || { echo "missing: schedoptConfig.cmake / schedoptConfigVersion.cmake"; exit 1; }
test -n "$pc" || { echo "missing: schedopt.pc"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
# a shared libschedopt is found through the loader path
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH

echo "== the installed CLI"
"$prefix/bin/schedopt" --version
"$prefix/bin/schedopt" simulate "$prefix/share/schedopt/problems/hard_phase.yaml" -q -o - \
  --set output.points=5 >"$work/cli.csv"
test "$(wc -l <"$work/cli.csv")" -eq 6 || { cat "$work/cli.csv"; exit 1; }

check_run() { # binary
  "$1" "$problem" >"$work/run.out"
  grep -q "hard_phase: a = 3.5, b = 5" "$work/run.out" &&
    grep -q "final excess loss: ODE" "$work/run.out" || { cat "$work/run.out"; exit 1; }
}

echo "== find_package(schedopt)"
mkdir -p "$work/consumer"
cat >"$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(schedopt 0.1 REQUIRED)
foreach(ex simulate optimize fit)
  add_executable(\${ex} "$src/examples/\${ex}.c")
  target_link_libraries(\${ex} PRIVATE schedopt::schedopt)
endforeach()
CMAKE
"$cmake" -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; exit 1; }
"$cmake" --build "$work/consumer/build" >>"$work/consumer.log" 2>&1 \
  || { cat "$work/consumer.log"; exit 1; }
check_run "$work/consumer/build/simulate"
"$work/consumer/build/optimize" >"$work/optimize.out" &&
  grep -q "optimum matches or beats the tuned WSD" "$work/optimize.out" \
  || { cat "$work/optimize.out"; exit 1; }
"$work/consumer/build/fit" "$src/examples/data/mpl-llama-100M" >"$work/fit.out" &&
  grep -q "held-out WSD run: predicted within 1 %" "$work/fit.out" || { cat "$work/fit.out"; exit 1; }
# a version the package does not satisfy is refused
cat >"$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer_v C)
find_package(schedopt 99 QUIET)
if(schedopt_FOUND)
  message(FATAL_ERROR "schedopt 99 was accepted")
endif()
CMAKE
"$cmake" -S "$work/consumer" -B "$work/consumer/build-v" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/consumer-v.log" 2>&1 || { cat "$work/consumer-v.log"; exit 1; }

echo "== pkg-config schedopt"
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
pkg-config --modversion schedopt
# --static: a static libschedopt needs its private dependencies on the line
for ex in simulate optimize fit; do
  "$cc" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags schedopt) "$src/examples/$ex.c" \
    -o "$work/$ex-pc" $(pkg-config --static --libs schedopt)
done
check_run "$work/simulate-pc"
echo "install test: ok"
