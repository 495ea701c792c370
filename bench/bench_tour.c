/* The README tour's optimize in the unit (issue 14): the CPU time of
 * `schedopt optimize PROBLEM` (default problems/optimize_hard_phase.yaml) and
 * of each of its stages — every tuned baseline variant and the optimum — in
 * forward solves of the hard phase at T = 1e6 (cvodes, loss only, WSD; the
 * `cvodes (loss)` column of bench_forward at 1e6), measured in the same
 * process before and after the run.  CPU time of the process, each
 * evaluation's share given to the stage it reports to; run with
 * OMP_NUM_THREADS=1 (the baselines are OpenMP tasks, whose stages would
 * interleave).
 *
 *   bench_tour [--trace] [PROBLEM.yaml] [--set KEY=VALUE]...
 *
 * --trace prints every evaluation: stage, its evaluation count, best J and
 * the process CPU seconds. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/schedopt.h"
#include "bench_util.h"

/* Median CPU seconds of a forward solve as bench_forward's: hard phase, WSD
 * (peak 1, 20 % linear anneal), T = 1e6, cvodes, loss only, 200 points. */
static double forward_1e6(int reps) {
  schedopt_error err;
  schedopt_plrf_params p;
  bench_hard_phase(&p);
  const double T = 1e6;
  schedopt_model *m = NULL;
  schedopt_schedule *s = NULL;
  schedopt_control *lr = NULL, *bt = NULL;
  schedopt_integrator *it = NULL;
  double med = NAN;
  enum { NT = 200 };
  double times[NT], ts[64];
  schedopt_row rows[NT];
  if (reps > 64) reps = 64;
  if (schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err) ||
      schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, T, 1, &err) ||
      schedopt_control_alloc(&lr, schedopt_control_wsd, &err) ||
      schedopt_control_set(lr, "peak", 1.0, &err) ||
      schedopt_control_set(lr, "decay_frac", 0.2, &err) ||
      schedopt_control_alloc(&bt, schedopt_control_constant, &err) ||
      schedopt_control_set(bt, "value", 5, &err) || schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err) ||
      schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err) ||
      schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err)) {
    fprintf(stderr, "forward: %s\n", err.msg);
    goto done;
  }
  for (int i = 0; i < NT; i++) times[i] = floor(pow(T, (double)i / (NT - 1)) + 0.5);
  times[NT - 1] = T;
  for (int r = 0; r < reps; r++) {
    double t0 = bench_cpu();
    if (schedopt_integrator_run(it, s, times, NT, rows, &err)) {
      fprintf(stderr, "forward: %s\n", err.msg);
      goto done;
    }
    ts[r] = bench_cpu() - t0;
  }
  qsort(ts, (size_t)reps, sizeof *ts, bench_cmp);
  med = ts[reps / 2];
done:
  schedopt_integrator_free(it);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
  return med;
}

#define MAXSTAGE 64
typedef struct trace {
  int on;
  double t0, last;
  size_t n;
  char name[MAXSTAGE][48];
  long evals[MAXSTAGE];
  double cpu[MAXSTAGE], best[MAXSTAGE];
} trace;

static int on_eval(void *ctx, const char *stage, long evals, double best, double seconds) {
  trace *t = ctx;
  (void)seconds;
  const double now = bench_cpu();
  size_t i = 0;
  while (i < t->n && strcmp(t->name[i], stage)) i++;
  if (i == t->n && t->n < MAXSTAGE) snprintf(t->name[t->n++], sizeof t->name[0], "%s", stage);
  if (i < t->n) {
    t->cpu[i] += now - t->last;
    t->evals[i] = evals;
    t->best[i] = best;
  }
  t->last = now;
  if (t->on) printf("  %-28s %5ld  %.10f  %.3f s\n", stage, evals, best, now - t->t0);
  return 0;
}

int main(int argc, char **argv) {
  const char *path = "problems/optimize_hard_phase.yaml";
  static trace tr;
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  schedopt_optimize_spec *spec = malloc(sizeof *spec);
  int rc = 1;
  if (!spec || schedopt_problem_alloc(&p, &err)) goto fail;
  int loaded = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--trace")) {
      tr.on = 1;
    } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
      if (!loaded && schedopt_problem_load_file(p, path, &err)) goto fail;
      loaded = 1;
      if (schedopt_problem_set(p, argv[++i], &err)) goto fail;
    } else if (!loaded) {
      path = argv[i];
      if (schedopt_problem_load_file(p, path, &err)) goto fail;
      loaded = 1;
    } else {
      fprintf(stderr, "usage: bench_tour [--trace] [PROBLEM.yaml] [--set KEY=VALUE]...\n");
      goto cleanup;
    }
  }
  if (!loaded && schedopt_problem_load_file(p, path, &err)) goto fail;
  if (schedopt_problem_build(p, &err) || schedopt_problem_optimize_spec(p, spec, &err)) goto fail;
  spec->settings.progress = on_eval;
  spec->settings.progress_ctx = &tr;
  const double f0 = forward_1e6(9);
  if (!getenv("OMP_NUM_THREADS") || strcmp(getenv("OMP_NUM_THREADS"), "1"))
    fprintf(stderr, "bench_tour: run with OMP_NUM_THREADS=1 for the stages' CPU\n");
  tr.t0 = tr.last = bench_cpu();
  if (schedopt_optimization_run(&o, p, spec, &err)) goto fail;
  const double total = bench_cpu() - tr.t0;
  const double f1 = forward_1e6(9), fs = 0.5 * (f0 + f1);
  printf("%s: CPU %.3f s = %.0f forward solves at T = 1e6 (%.3f ms, %.3f before and %.3f "
         "after the run)\n",
         path, total, total / fs, 1e3 * fs, 1e3 * f0, 1e3 * f1);
  printf("| stage | evaluations | CPU s | forward solves | best objective |\n"
         "|---|---|---|---|---|\n");
  double sum = 0;
  for (size_t i = 0; i < tr.n; i++) {
    printf("| %s | %ld | %.3f | %.0f | %.10f |\n", tr.name[i], tr.evals[i], tr.cpu[i],
           tr.cpu[i] / fs, tr.best[i]);
    sum += tr.cpu[i];
  }
  const schedopt_opt_result *r = schedopt_optimization_result(o);
  printf("| the rest (set-up, starts, checks, curves) | | %.3f | %.0f | |\n", total - sum,
         (total - sum) / fs);
  printf("optimum: %s, %ld evaluations, L_T = %.15g\n", r->algorithm ? r->algorithm->name : "?",
         r->evals, r->J);
  rc = 0;
  goto cleanup;
fail:
  fprintf(stderr, "bench_tour: %s\n", err.msg);
cleanup:
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  free(spec);
  return rc;
}
