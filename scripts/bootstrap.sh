#!/usr/bin/env bash
# Set up a fresh Debian machine (installs what is missing), build, then either
# run the main job on the bundled default problem (default) or the test suite
# (`test`).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libsundials-dev libnlopt-dev libyaml-dev libcsv-dev libjansson-dev)
# The tests also run the exports inside the consumers' own code: python3 with
# PyTorch (LambdaLR, the HF weight-decay groups, torchtitan's lambda) and
# rsvg-convert (figures rendered to PNG); without them those checks are skipped.
[ "${1:-run}" = test ] && pkgs+=(python3 python3-torch librsvg2-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSCHEDOPT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

case "${1:-run}" in
  run)
    ./build/schedopt design problems/llm_wsd_token_budget.yaml -o build/llm_wsd_token_budget
    ;;
  test)
    (cd build && ctest --output-on-failure -j"$jobs" -LE validation)

    # The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer
    # (optimized, so it stays within the CI time; LeakSanitizer included).
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCHEDOPT_SANITIZE=ON \
          -DSCHEDOPT_WERROR=ON -DSCHEDOPT_BUILD_BENCH=OFF >/dev/null
    cmake --build build-asan -j"$jobs"
    (cd build-asan &&
       ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       ctest --output-on-failure -j"$jobs" -LE validation)

    # A short fuzz smoke run of the loaders (tests/fuzz/README.md), when clang
    # (libFuzzer) is installed.
    if command -v clang >/dev/null 2>&1; then
      CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCHEDOPT_FUZZ=ON \
            -DSCHEDOPT_BUILD_TESTS=OFF -DSCHEDOPT_BUILD_BENCH=OFF \
            -DSCHEDOPT_BUILD_EXAMPLES=OFF >/dev/null
      cmake --build build-fuzz -j"$jobs"
      for t in problem csv losscurve outset; do
        corpus=build-fuzz/ci-corpus/$t
        rm -rf "$corpus" && mkdir -p "$corpus" && cp tests/fuzz/corpus/$t/* "$corpus"/
        dict=()
        [ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
        ./build-fuzz/tests/fuzz/fuzz_$t "${dict[@]}" -max_total_time=15 -timeout=20 \
          -print_final_stats=1 -artifact_prefix=build-fuzz/ci-corpus/ "$corpus" \
          </dev/null 2>build-fuzz/ci-corpus/$t.log ||
          { tail -n 60 build-fuzz/ci-corpus/$t.log; exit 1; }
        grep -h "stat::number_of_executed_units" build-fuzz/ci-corpus/$t.log |
          sed "s/^/fuzz_$t: /"
      done
    else
      echo "bootstrap: clang not found: no fuzz smoke run"
    fi
    ;;
  *)
    echo "usage: $0 [run|test]" >&2
    exit 2
    ;;
esac
