/* The method of the papers, for comparison: gradient descent on every step's
 * learning rate, with gradients by reverse mode through the per-step
 * expected-risk recursion (√T check-points), projected onto [0, η_max].
 * Adam on η_k (the MPL reference uses Adam on every step's LR).
 *
 *   bench_paper_gd T target_loss [max_seconds (600)] [adam_lr (0.01)] [N (1000)]
 *
 * Hard phase (a = 3.5, b = 5, σ² = 0.25, batch 5, η ≤ 1), objective L_T.
 * Starts from the constant schedule η = 1 and runs until L_T ≤ target_loss or
 * the time limit (CPU seconds); prints the trajectory and the CPU time to reach
 * the target. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/schedopt.h"
#include "bench_util.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s T target_loss [max_seconds] [adam_lr] [N]\n", argv[0]);
    return 2;
  }
  const long T = atol(argv[1]);
  const double target = atof(argv[2]);
  const double tmax = argc > 3 ? atof(argv[3]) : 600;
  const double alpha = argc > 4 ? atof(argv[4]) : 0.01;
  schedopt_error err;
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 3.5;
  p.b = 5;
  p.N = argc > 5 ? atol(argv[5]) : 1000;
  p.sigma2 = 0.25;
  p.split = 0;
  schedopt_model *m = NULL;
  if (schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const schedopt_model_type *mt = schedopt_model_get_type(m);
  const void *self = schedopt_model_self(m);
  const size_t n = schedopt_model_size(m);
  const long K = (long)ceil(sqrt((double)T));
  double *eta = malloc(T * sizeof *eta), *g = malloc(T * sizeof *g);
  double *m1 = calloc(T, sizeof *m1), *m2 = calloc(T, sizeof *m2);
  double *ck = malloc((size_t)(T / K + 1) * n * sizeof *ck), *buf = malloc((size_t)K * n * sizeof *buf);
  double *y = malloc(n * sizeof *y), *lam = malloc(n * sizeof *lam), *gl = malloc(n * sizeof *gl);
  if (!eta || !g || !m1 || !m2 || !ck || !buf || !y || !lam || !gl) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (long k = 0; k < T; k++) eta[k] = 1.0;
  mt->dloss(self, gl);
  const double b1 = 0.9, b2 = 0.999;
  double t0 = bench_cpu(), J = INFINITY, best = INFINITY;
  long it = 0;
  printf("iteration,seconds,final_loss\n");
  for (;; it++) {
    /* forward with check-points */
    mt->initial(self, y);
    for (long k = 0; k < T; k++) {
      if (k % K == 0) memcpy(ck + (size_t)(k / K) * n, y, n * sizeof *y);
      schedopt_uval u = {eta[k], 5.0, 0.0};
      mt->step(self, &u, y);
    }
    schedopt_readout r;
    mt->readout(self, y, &r);
    J = r.loss;
    if (J < best) best = J;
    double el = bench_cpu() - t0;
    if (it % 10 == 0 || J <= target) printf("%ld,%.2f,%.8f\n", it, el, J);
    fflush(stdout);
    if (J <= target || el > tmax || !isfinite(J)) break;
    /* reverse sweep: g_k = λ_{k+1}ᵀ ∂F/∂η_k */
    memcpy(lam, gl, n * sizeof *lam);
    long have = -1;
    for (long k = T - 1; k >= 0; k--) {
      long b = k / K;
      if (b != have) {
        memcpy(buf, ck + (size_t)b * n, n * sizeof *buf);
        for (long j = b * K; j < k; j++) {
          double *dst = buf + (size_t)(j - b * K + 1) * n;
          memcpy(dst, dst - n, n * sizeof *dst);
          schedopt_uval u = {eta[j], 5.0, 0.0};
          mt->step(self, &u, dst);
        }
        have = b;
      }
      schedopt_uval u = {eta[k], 5.0, 0.0};
      double out[3];
      mt->step_vjp(self, &u, buf + (size_t)(k - b * K) * n, lam, out);
      g[k] = out[0];
    }
    /* projected Adam step */
    double c1 = 1 - pow(b1, it + 1), c2 = 1 - pow(b2, it + 1);
    for (long k = 0; k < T; k++) {
      m1[k] = b1 * m1[k] + (1 - b1) * g[k];
      m2[k] = b2 * m2[k] + (1 - b2) * g[k] * g[k];
      eta[k] -= alpha * (m1[k] / c1) / (sqrt(m2[k] / c2) + 1e-12);
      eta[k] = eta[k] < 0 ? 0 : eta[k] > 1 ? 1 : eta[k];
    }
  }
  double el = bench_cpu() - t0;
  printf("# T=%ld N=%ld: %s target %.8f after %ld iterations, %.1f s (best %.8f, %.2f s per iteration)\n",
         T, p.N, J <= target ? "reached" : "did NOT reach", target, it, el, best,
         it ? el / it : el);
  return 0;
}
