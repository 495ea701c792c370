/* bench_fit: time of an fsl-llm fit of a dense loss log (docs/performance.md,
 * "Surrogate fits").
 *
 *   bench_fit [LOG.csv] [REPEATS]     default: ../shared/data/gpt-100m/811.csv, 5
 *
 * The log is smoothed by a centered 201-step rolling mean and fitted from
 * step 1000 on with the default options (8 starts, at most 1000 fitted
 * points, LBFGS).  Reported: the median over the repeats of the wall and CPU
 * time of the fit, of a one-start fit, and of one evaluation at the fitted
 * parameters (fast: loss + gradient at every 33rd step from 1000, loss at
 * every step; direct: loss + gradient at every 33rd step). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"

static double wall(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One fit; returns 0 and fills wall/cpu seconds and evaluations. */
static int one_fit(const schedopt_losscurve *c, int starts, double *w, double *u, long *evals,
                   double *theta) {
  schedopt_fit *f = NULL;
  schedopt_error err = {0};
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  o.starts = starts;
  if (schedopt_fit_alloc(&f, schedopt_surrogate_fsl_llm, &err) ||
      schedopt_fit_add_curve(f, c, SCHEDOPT_CURVE_FIT, 1000, NAN, &err)) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    return 1;
  }
  double w0 = wall(), u0 = cpu();
  schedopt_status st = schedopt_fit_run(f, &o, &err);
  *w = wall() - w0;
  *u = cpu() - u0;
  if (st) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    schedopt_fit_free(f);
    return 1;
  }
  schedopt_fit_summary sm;
  schedopt_fit_get_summary(f, &sm);
  *evals = sm.evals;
  memcpy(theta, sm.theta, 7 * sizeof *theta);
  schedopt_fit_free(f);
  return 0;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "../shared/data/gpt-100m/811.csv";
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (reps < 1) reps = 1;
  schedopt_error err = {0};
  schedopt_losscurve *c = NULL;
  double t0 = wall();
  if (schedopt_losscurve_load_csv(&c, path, NULL, &err) ||
      schedopt_losscurve_smooth(c, 201, &err)) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    return 1;
  }
  double tload = wall() - t0;
  size_t K;
  const double *eta = schedopt_losscurve_lr(c, &K);
  if (!eta) {
    fprintf(stderr, "bench_fit: %s is not a dense log\n", path);
    return 1;
  }
  printf("bench_fit: %s: %zu steps (dense), read + smoothed in %.3f s\n", path, K, tload);

  double *w = malloc((size_t)reps * sizeof *w), *u = malloc((size_t)reps * sizeof *u);
  double theta[7];
  long evals = 0;
  for (int s = 0; s < 2; s++) {
    int starts = s ? 1 : 8;
    for (int r = 0; r < reps; r++)
      if (one_fit(c, starts, &w[r], &u[r], &evals, theta)) return 1;
    printf("fit, %d start%s, <= 1000 points: wall %.3f s, cpu %.3f s (median of %d), %ld "
           "evaluations\n", starts, starts > 1 ? "s" : "", median(w, reps), median(u, reps), reps,
           evals);
  }

  /* single evaluations at the fitted parameters */
  schedopt_surrogate *m = NULL;
  schedopt_surrogate_alloc(&m, schedopt_surrogate_fsl_llm, &err);
  schedopt_surrogate_set_params(m, theta, &err);
  size_t *out = malloc(K * sizeof *out), nthin = 0;
  for (size_t k = 1000; k < K; k += 33) out[nthin++] = k;
  double *L = malloc(K * sizeof *L), *G = malloc(K * 7 * sizeof *G);
  /* fast: at the thinned points (loss + gradient) and at every step (loss);
   * direct: at the thinned points only (O(K·n) pow calls) */
  const char *what[3] = {"fast, loss + gradient", "fast, loss", "direct, loss + gradient"};
  for (int v = 0; v < 3; v++) {
    size_t n = v == 1 ? K - 1 : nthin;
    if (v == 1)
      for (size_t k = 1; k < K; k++) out[k - 1] = k;
    if (v == 2) {
      nthin = 0;
      for (size_t k = 1000; k < K; k += 33) out[nthin++] = k;
    }
    schedopt_surrogate_set_method(m, v == 2 ? SCHEDOPT_SURROGATE_DIRECT : SCHEDOPT_SURROGATE_FAST);
    schedopt_surrogate_input in = {eta, K, out, n, NULL};
    for (int r = 0; r < reps; r++) {
      double a = wall();
      if (schedopt_surrogate_predict(m, &in, L, v == 1 ? NULL : G, &err)) {
        fprintf(stderr, "bench_fit: %s\n", err.msg);
        return 1;
      }
      w[r] = wall() - a;
    }
    printf("one evaluation, %s at %zu steps: %.3f ms\n", what[v], n, 1e3 * median(w, reps));
  }
  free(out), free(L), free(G), free(w), free(u);
  schedopt_surrogate_free(m);
  schedopt_losscurve_free(c);
  return 0;
}
