#!/usr/bin/env bash
# Valgrind memcheck on representative CLI runs: every bundled problem, the
# recursion backend, momentum and data clocks, a table read from CSV, the
# other commands, and error paths (bad YAML, bad CSV, divergence, solver step
# limit, unwritable output).  Each run must end with its expected exit status
# and without memcheck errors or definite/indirect leaks.
#
# usage: bash scripts/memcheck.sh [BUILD_DIR]   (default build-memcheck)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed" >&2; exit 2; }

build=${1:-build-memcheck}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSCHEDOPT_BUILD_TESTS=OFF \
      -DSCHEDOPT_BUILD_BENCH=OFF -DSCHEDOPT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target schedopt_cli >/dev/null
cli=$build/schedopt
root=$(pwd)
cli_abs=$(cd "$build" && pwd)/schedopt
work=$build/memcheck
rm -rf "$work" && mkdir -p "$work"

vg=(valgrind --quiet --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --track-origins=yes)

runs=0 failed=0
# check NAME EXPECTED_STATUS ARGS...
check() {
  local name=$1 want=$2
  shift 2
  runs=$((runs + 1))
  local rc=0 t0=$SECONDS
  "${vg[@]}" --log-file="$work/$name.vg" "$cli" "$@" >"$work/$name.out" 2>&1 || rc=$?
  local dt=$((SECONDS - t0))
  if [ "$rc" -eq 99 ] || [ -s "$work/$name.vg" ]; then
    echo "memcheck: $name: valgrind errors (exit $rc):"
    cat "$work/$name.vg"
    failed=$((failed + 1))
  elif [ "$rc" -ne "$want" ]; then
    echo "memcheck: $name: exit $rc, want $want:"
    tail -n 5 "$work/$name.out"
    failed=$((failed + 1))
  else
    echo "memcheck: $name: clean (exit $rc, ${dt} s)"
  fi
}

# every bundled problem through simulate; problems for other commands (fit,
# sweep) are refused by simulate, which is an error path worth checking too:
# the expected status is the one of a plain run
small=(--set output.points=20)
for p in problems/*.yaml; do
  name=$(basename "$p" .yaml)
  want=0
  # (in the scratch folder: with -o /dev/null a problem's exports and figure
  # are named after it in the current folder)
  (cd "$work" && "$cli_abs" simulate "$root/$p" -q -o /dev/null "${small[@]}") >/dev/null 2>&1 ||
    want=$?
  check "simulate_$name" "$want" simulate "$p" -q -o "$work/$name.csv" "${small[@]}"
done
check recursion 0 simulate problems/hard_phase.yaml -q -o - "${small[@]}" \
  --set model.dynamics=recursion --set budget.steps=2000
check momentum_tokens 0 simulate problems/hard_phase.yaml -q -o - "${small[@]}" \
  --set controls.momentum=0.5 --set controls.lr.peak=0.3 --set budget.tokens=1e6 \
  --set budget.seq_len=64 --set model.split=false
printf 'step,lr\n0,0.2\n500,0.5\n5000,0.1\n10000,0.01\n' >"$work/lr.csv"
check csv_table 0 simulate problems/easy_phase.yaml -q -o - "${small[@]}" \
  --set "controls.lr={type: table, file: $work/lr.csv}"
check export_json 0 export problems/hard_phase.yaml --format json -o "$work/s.json"
check plot_svg 0 plot problems/hard_phase.yaml -o "$work/s.svg"

# error paths
printf 'model: {a: 2.5, b: 1.5\nbudget: {steps: 10}\n' >"$work/syntax.yaml"
check bad_yaml 2 simulate "$work/syntax.yaml" -o "$work/x.csv"
check bad_value 2 simulate problems/hard_phase.yaml -o "$work/x.csv" --set model.a=0.5
printf 'step,lr\n0,0.1\n10,nan\n' >"$work/nan.csv"
check bad_csv 2 simulate problems/hard_phase.yaml -o "$work/x.csv" \
  --set "controls.lr={type: table, file: $work/nan.csv}"
check diverge 1 simulate problems/hard_phase.yaml -o "$work/x.csv" --set controls.lr.peak=3
check diverge_recursion 1 simulate problems/hard_phase.yaml -o "$work/x.csv" \
  --set controls.lr.peak=3 --set model.dynamics=recursion
check max_steps 1 simulate problems/hard_phase.yaml -o "$work/x.csv" --set solver.max_steps=10
check unwritable 2 simulate problems/hard_phase.yaml -o /nonexistent/dir/x.csv
check limit 2 simulate problems/hard_phase.yaml -o "$work/x.csv" \
  --set model.dynamics=recursion --set budget.steps=1e15

# optimize and fit, when this build has them (short settings)
if "$cli" --help | grep -q '^  optimize '; then
  for p in problems/optimize_*.yaml; do
    [ -e "$p" ] || continue
    name=$(basename "$p" .yaml)
    check "optimize_$name" 0 optimize "$p" -q -o "$work/$name.opt" \
      --set optimize.maxeval=3 --set optimize.starts=1
    break
  done
  check optimize_bad 2 optimize problems/hard_phase.yaml -o "$work/x.opt" --set model.b=0.5
fi
for cmd in fit sweep; do
  "$cli" --help | grep -q "^  $cmd " || continue
  check "${cmd}_bad" 2 "$cmd" problems/hard_phase.yaml -o "$work/x.$cmd" --set model.b=0.5
done
# real runs of the surrogate and sweep commands, kept short
if "$cli" --help | grep -q '^  fit '; then
  check fit_mpl 0 fit problems/fit_mpl_100m.yaml -q -o "$work/fit_mpl" \
    --set fit.starts=1 --set fit.max_points=60 --set fit.maxeval=60
  check fit_fsl_boot 0 fit problems/fit_fsl_llm_100m.yaml -q -o "$work/fit_fsl" \
    --set fit.starts=1 --set fit.max_points=60 --set fit.maxeval=60 \
    --set uncertainty.bootstrap=3
  check predict 0 predict problems/fit_predict_wsd_100m.yaml -q -o "$work/pred.csv"
  check predict_band 0 predict problems/fit_predict_wsd_100m.yaml -q -o "$work/band.csv" \
    --set "model=$work/fit_fsl/fit.json"
fi
if "$cli" --help | grep -q '^  sweep '; then
  check sweep 0 sweep problems/sweep_hard_phase.yaml -q -o "$work/sweep" -j 1 \
    --set 'sweep.values=[300, 1000]' --set optimize.maxeval=5 --set optimize.starts=1
fi
if "$cli" --help | grep -q '^  design '; then
  check design 0 design problems/llm_wsd_token_budget.yaml -q -o "$work/design" \
    --set fit.maxeval=200 --set budget.tokens=2e9
  check design_reuse 0 design problems/llm_wsd_token_budget.yaml -q -o "$work/design2" \
    --set "model=$work/design/fit.json" --set budget.tokens=2e9
fi

# the output and input layers: a set refused for two outputs to one file, an
# export the trainer cannot express (the whole set dropped), an output name
# that is a folder (checked before the work), a FIFO as input, too few points
# for a fit
check two_outputs 2 simulate problems/hard_phase.yaml -q -o "$work/fig.svg" \
  --set output.plot=true "${small[@]}"
mkdir -p "$work/blocked/summary.json"
check blocked_output 2 optimize problems/hard_phase.yaml -q -o "$work/blocked" \
  --set optimize.maxeval=3
mkfifo "$work/fifo.csv"
check fifo_input 2 simulate problems/hard_phase.yaml -q -o - \
  --set controls.lr.type=table --set "controls.lr.file=$work/fifo.csv"
printf 'step,lr,loss\n0,0.0003,3.1\n' >"$work/one.csv"
printf 'model: mpl\ncurves:\n  - file: %s\n' "$work/one.csv" >"$work/one.yaml"
check fit_one_point 2 fit "$work/one.yaml" -q -o "$work/one_fit"
if "$cli" --help | grep -q '^  design '; then
  check design_megatron 2 design problems/llm_wsd_token_budget.yaml -q -o "$work/design3" \
    --set "model=$work/design/fit.json" --set budget.tokens=2e9 --set output.export=megatron
fi

echo "memcheck: $runs runs, $failed with errors"
[ "$failed" -eq 0 ]
