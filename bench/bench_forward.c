/* Forward-solve benchmark: hard phase (a = 3.5, b = 5, N = 1000, σ² = 0.25,
 * batch 5), WSD schedule (peak 1, 20 % linear anneal), horizons 10^3 … 10^8,
 * CVODES backend (loss only, and with the bias/variance split) and the exact
 * recursion as far as feasible.  Each configuration runs in its own process
 * so its peak RSS is its own; the time is the median of the repeats, one
 * core (process CPU time, so other load on the machine does not inflate it),
 * 200 log-spaced output points.  The recursion's cost is also given per
 * mode-step: time / (T·N).
 *
 *   bench_forward [max_log10_T_recursion (default 6)] [repeats (default 15)]
 *   bench_forward kernel [log10_T (default 5)] [repeats (default 9)]
 *   bench_forward placement [log10_T (default 6)] [repeats (default 15)]
 *
 * The first prints a Markdown table (docs/performance.md); `kernel` times
 * only the recursion, in ns per mode-step, for SGD (loss only, and with the
 * bias/variance split) and heavy-ball momentum (μ = 0.9, peak lr 0.1);
 * `placement` times the CVODES (loss) solve after one allocation of 0 …
 * 100000 bytes that moves where the heap puts the solver's vectors (a solve's
 * time should not depend on it). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "schedopt/schedopt.h"
#include "bench_util.h"

typedef struct result {
  double median_s, loss;
  long steps, peak_kb;
  int ok;
} result;

/* Runs in the child. */
static result measure(double T, int recursion, int split, int momentum, int reps,
                      size_t heap_offset) {
  result res = {0};
  void *volatile offset = heap_offset ? malloc(heap_offset) : NULL; /* kept to the end */
  schedopt_error err;
  schedopt_plrf_params p;
  bench_hard_phase(&p);
  p.split = split;
  p.momentum = momentum;
  schedopt_model *m = NULL;
  schedopt_schedule *s = NULL;
  schedopt_control *lr = NULL, *bt = NULL, *mo = NULL;
  schedopt_integrator *it = NULL;
  if (schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err) ||
      schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, T, 1, &err) ||
      schedopt_control_alloc(&lr, schedopt_control_wsd, &err) ||
      schedopt_control_set(lr, "peak", momentum ? 0.1 : 1.0, &err) ||
      schedopt_control_set(lr, "decay_frac", 0.2, &err) ||
      schedopt_control_alloc(&bt, schedopt_control_constant, &err) ||
      schedopt_control_set(bt, "value", 5, &err) || schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err) ||
      schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err) ||
      (momentum && (schedopt_control_alloc(&mo, schedopt_control_constant, &err) ||
                    schedopt_control_set(mo, "value", 0.9, &err) ||
                    schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, mo, &err))) ||
      schedopt_integrator_alloc(&it, recursion ? schedopt_integrator_recursion : schedopt_integrator_cvodes,
                                m, &err)) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return res;
  }
  enum { NT = 200 };
  double times[NT];
  schedopt_row rows[NT];
  for (int i = 0; i < NT; i++) times[i] = floor(pow(T, (double)i / (NT - 1)) + 0.5);
  times[NT - 1] = T;
  double *ts = malloc(reps * sizeof *ts);
  for (int r = 0; r < reps; r++) {
    double t0 = bench_cpu();
    if (schedopt_integrator_run(it, s, times, NT, rows, &err)) {
      fprintf(stderr, "run: %s\n", err.msg);
      return res;
    }
    ts[r] = bench_cpu() - t0;
  }
  qsort(ts, reps, sizeof *ts, bench_cmp);
  schedopt_integrator_stats st;
  schedopt_integrator_get_stats(it, &st);
  res.median_s = ts[reps / 2];
  res.loss = rows[NT - 1].r.loss;
  res.steps = st.steps / reps;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  res.peak_kb = ru.ru_maxrss;
  res.ok = 1;
  free(ts);
  schedopt_integrator_free(it);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  schedopt_control_free(mo);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
  free(offset);
  return res;
}

static result in_child_at(double T, int recursion, int split, int momentum, int reps,
                          size_t heap_offset) {
  int fd[2];
  result res = {0};
  if (pipe(fd)) return res;
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    result r = measure(T, recursion, split, momentum, reps, heap_offset);
    if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
  }
  close(fd[1]);
  if (read(fd[0], &res, sizeof res) != (ssize_t)sizeof res) res.ok = 0;
  close(fd[0]);
  waitpid(pid, NULL, 0);
  return res;
}

static result in_child(double T, int recursion, int split, int momentum, int reps) {
  return in_child_at(T, recursion, split, momentum, reps, 0);
}

/* The CVODES (loss) solve after allocations of several sizes. */
static int placement(int argc, char **argv) {
  int e = argc > 2 ? atoi(argv[2]) : 6;
  int reps = argc > 3 ? atoi(argv[3]) : 15;
  static const size_t offs[] = {0, 1000, 2000, 3000, 4000, 6000, 100000};
  enum { NO = sizeof offs / sizeof offs[0] };
  printf("| T | bytes allocated first | cvodes (loss) ms | CVODES steps | final loss |\n");
  printf("|---|---|---|---|---|\n");
  double lo = HUGE_VAL, hi = 0;
  for (int i = 0; i < NO; i++) {
    result o = in_child_at(pow(10, e), 0, 0, 0, reps, offs[i]);
    if (!o.ok) return 1;
    lo = fmin(lo, o.median_s), hi = fmax(hi, o.median_s);
    printf("| 1e%d | %zu | %.3f | %ld | %.10f |\n", e, offs[i], 1e3 * o.median_s, o.steps, o.loss);
    fflush(stdout);
  }
  printf("slowest / fastest: %.2f\n", hi / lo);
  return 0;
}

/* ns per mode-step of the recursion (N = 1000 modes). */
static int kernel(int argc, char **argv) {
  int e = argc > 2 ? atoi(argv[2]) : 5;
  int reps = argc > 3 ? atoi(argv[3]) : 9;
  double T = pow(10, e), modes = T * 1000;
  printf("| T | SGD ns/mode-step | SGD + split ns/mode-step | momentum ns/mode-step |\n");
  printf("|---|---|---|---|\n");
  result a = in_child(T, 1, 0, 0, reps), b = in_child(T, 1, 1, 0, reps),
         c = in_child(T, 1, 0, 1, reps);
  if (!a.ok || !b.ok || !c.ok) return 1;
  /* the split state has two copies of every mode */
  printf("| 1e%d | %.3f | %.3f | %.3f |\n", e, 1e9 * a.median_s / modes,
         1e9 * b.median_s / (2 * modes), 1e9 * c.median_s / modes);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "kernel") == 0) return kernel(argc, argv);
  if (argc > 1 && strcmp(argv[1], "placement") == 0) return placement(argc, argv);
  int max_rec = argc > 1 ? atoi(argv[1]) : 6;
  int reps = argc > 2 ? atoi(argv[2]) : 15;
  printf("| T | cvodes (loss) ms | CVODES steps | peak RSS MiB | cvodes + split ms | recursion ms | "
         "ns/mode-step | peak RSS MiB | speed-up | final loss cvodes | final loss recursion |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int e = 3; e <= 8; e++) {
    double T = pow(10, e);
    result o = in_child(T, 0, 0, 0, reps);
    result os = in_child(T, 0, 1, 0, reps);
    result r = {0};
    if (e <= max_rec) r = in_child(T, 1, 0, 0, e >= 6 ? 3 : reps);
    printf("| 1e%d | %.3f | %ld | %.1f | %.3f | ", e, 1e3 * o.median_s, o.steps,
           o.peak_kb / 1024.0, 1e3 * os.median_s);
    if (r.ok)
      printf("%.1f | %.2f | %.1f | %.1fx | %.6f | %.6f |\n", 1e3 * r.median_s,
             1e9 * r.median_s / (T * 1000), r.peak_kb / 1024.0,
             r.median_s / o.median_s, o.loss, r.loss);
    else
      printf("— | — | — | — | %.6f | — |\n", o.loss);
    fflush(stdout);
  }
  return 0;
}
