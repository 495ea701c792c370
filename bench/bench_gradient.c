/* Gradient benchmark: the cost of J and dJ/dθ (CVODES adjoint) relative to
 * one forward solve, and peak memory, for the hard phase (a = 3.5, b = 5,
 * N = 1000, σ² = 0.25, batch 5) at horizons 10^4 … 10^8 with
 *   - a WSD learning rate (7 parameters), and
 *   - a free-form table of 256 knots (the optimizer's parametrization),
 * plus the recursion's reverse sweep where feasible.  Each configuration runs
 * in its own process (its own peak RSS); times are medians of process CPU time.
 * cvodes rows also give the backward pass's steps and the gradient's error:
 * max-norm distance to the same gradient at rtol 1e-10, relative to its
 * largest component (WSD: without the floor, which sits at its bound 0 where
 * its derivative is the adjoint's limit: test_gradient).
 *
 *   bench_gradient [--lambda] [max_log10_T_recursion (default 5)] [repeats (default 9)]
 *
 * --lambda: the backward pass in λ itself (schedopt_integrator_set_decoupled
 * off), the pass before λ's decoupled part. */
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
  double fwd_s, grad_s, J, gerr;
  long peak_kb, bsteps;
  int ok;
} result;

static int lambda_itself; /* --lambda */

/* knots refined geometrically toward both ends */
static void knots(double T, int K, double *t, double *v) {
  int h = K / 2;
  for (int i = 0; i < h; i++) t[i] = (i == 0) ? 0.0 : pow(T / 2, (double)i / (h - 1)) - 1 + 1e-9 * i;
  for (int i = 0; i < K - h; i++) t[h + i] = T - (pow(T / 2, 1.0 - (double)(i + 1) / (K - h)) - 1);
  t[h - 1] = T / 2 - 1;
  t[K - 1] = T;
  for (int i = 0; i < K; i++) v[i] = t[i] < 0.8 * T ? 1.0 : 1.0 - (t[i] - 0.8 * T) / (0.2 * T);
}

static result measure(double T, int table, int recursion, int reps) {
  result res = {0};
  schedopt_error err;
  schedopt_plrf_params p;
  bench_hard_phase(&p);
  schedopt_model *m = NULL;
  schedopt_schedule *s = NULL;
  schedopt_control *lr = NULL, *bt = NULL;
  schedopt_integrator *it = NULL;
  if (schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err) ||
      schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, T, 1, &err))
    goto bad;
  if (table) {
    enum { K = 256 };
    double t[K], v[K];
    knots(T, K, t, v);
    if (schedopt_control_alloc(&lr, schedopt_control_table, &err) ||
        schedopt_control_set_table(lr, K, t, v, &err))
      goto bad;
  } else if (schedopt_control_alloc(&lr, schedopt_control_wsd, &err) ||
             schedopt_control_set(lr, "peak", 1.0, &err) ||
             schedopt_control_set(lr, "decay_frac", 0.2, &err)) {
    goto bad;
  }
  if (schedopt_control_alloc(&bt, schedopt_control_constant, &err) ||
      schedopt_control_set(bt, "value", 5, &err) || schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err) ||
      schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err) ||
      schedopt_integrator_alloc(&it, recursion ? schedopt_integrator_recursion : schedopt_integrator_cvodes,
                                m, &err))
    goto bad;
  if (!recursion && schedopt_integrator_set_decoupled(it, !lambda_itself, &err)) goto bad;
  size_t np = schedopt_control_nparams(lr);
  double *g0 = calloc(np, sizeof *g0), *g1 = calloc(8, sizeof *g1), *g2 = calloc(8, sizeof *g2);
  double *g[3] = {g0, g1, g2};
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  double *tf = malloc(reps * sizeof *tf), *tg = malloc(reps * sizeof *tg), J;
  for (int r = 0; r < reps; r++) {
    double t0 = bench_cpu();
    if (schedopt_integrator_objective(it, s, &obj, &J, &err)) goto bad;
    tf[r] = bench_cpu() - t0;
    t0 = bench_cpu();
    if (schedopt_integrator_gradient(it, s, &obj, &J, g, &err)) goto bad;
    tg[r] = bench_cpu() - t0;
  }
  qsort(tf, reps, sizeof *tf, bench_cmp);
  qsort(tg, reps, sizeof *tg, bench_cmp);
  res.fwd_s = tf[reps / 2];
  res.grad_s = tg[reps / 2];
  res.J = J;
  struct rusage ru; /* before the reference below */
  getrusage(RUSAGE_SELF, &ru);
  res.peak_kb = ru.ru_maxrss;
  if (!recursion) { /* steps of one gradient; its error against rtol 1e-10 (not timed) */
    schedopt_integrator_stats a, b;
    schedopt_integrator_get_stats(it, &a);
    if (schedopt_integrator_gradient(it, s, &obj, &J, g, &err)) goto bad;
    schedopt_integrator_get_stats(it, &b);
    res.bsteps = b.adjoint_steps - a.adjoint_steps;
    double *gr = calloc(np, sizeof *gr), *gg[3] = {gr, g1, g2}, Jr, big = 0, dif = 0;
    if (!gr || schedopt_integrator_set_tolerances(it, 1e-10, 1e-14, &err) ||
        schedopt_integrator_gradient(it, s, &obj, &Jr, gg, &err)) {
      free(gr);
      goto bad;
    }
    for (size_t i = 0; i < np; i++) {
      if (!table && i == 1) continue; /* WSD's floor, at its bound */
      big = fmax(big, fabs(gr[i]));
      dif = fmax(dif, fabs(g0[i] - gr[i]));
    }
    res.gerr = dif / big;
    free(gr);
  }
  res.ok = 1;
  return res;
bad:
  fprintf(stderr, "bench_gradient: %s\n", err.msg);
  return res;
}

static result in_child(double T, int table, int recursion, int reps) {
  int fd[2];
  result res = {0};
  if (pipe(fd)) return res;
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    result r = measure(T, table, recursion, reps);
    if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
  }
  close(fd[1]);
  if (read(fd[0], &res, sizeof res) != (ssize_t)sizeof res) res.ok = 0;
  close(fd[0]);
  waitpid(pid, NULL, 0);
  return res;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--lambda") == 0) {
    lambda_itself = 1;
    argc--, argv++;
  }
  int max_rec = argc > 1 ? atoi(argv[1]) : 5;
  int reps = argc > 2 ? atoi(argv[2]) : 9;
  printf("| T | schedule | backend | forward ms | J + gradient ms | ratio | peak RSS MiB | J | "
         "backward steps | gradient error |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int e = 4; e <= 8; e++) {
    double T = pow(10, e);
    for (int table = 0; table < 2; table++)
      for (int rec = 0; rec < 2; rec++) {
        if (rec && e > max_rec) continue;
        result r = in_child(T, table, rec, rec && e >= 5 ? 3 : reps);
        if (!r.ok) continue;
        char extra[64] = " | |";
        if (!rec) snprintf(extra, sizeof extra, " %ld | %.1e |", r.bsteps, r.gerr);
        printf("| 1e%d | %s | %s | %.2f | %.2f | %.2f | %.1f | %.6f |%s\n", e,
               table ? "table, 256 knots" : "WSD", rec ? "recursion" : "cvodes", 1e3 * r.fwd_s,
               1e3 * r.grad_s, r.grad_s / r.fwd_s, r.peak_kb / 1024.0, r.J, extra);
        fflush(stdout);
      }
  }
  return 0;
}
