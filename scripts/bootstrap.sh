#!/usr/bin/env bash
# Set up a fresh Debian machine (installs what is missing), build, then either
# run the main job on the bundled default problem (default) or the test suite
# (`test`).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libsundials-dev libnlopt-dev libyaml-dev libcsv-dev libjansson-dev)
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
    ./build/schedopt simulate problems/hard_phase.yaml -o build/hard_phase_curve.csv
    ;;
  test)
    cd build && ctest --output-on-failure -j"$jobs" -LE validation
    ;;
  *)
    echo "usage: $0 [run|test]" >&2
    exit 2
    ;;
esac
