/* bench_design: schedule design under a surrogate, CPU time and evaluations.
 *
 *   1. The multi-power-law reference case (published 100M parameters, 24,000
 *      steps, peak 3e-4, warmup 2160, floor 1e-10): schedopt's design
 *      (knots, WSD family, every step) and the authors' procedure re-run here
 *      — Adam (lr 5e-9, β = (0.9, 0.999)) on every post-warmup step's
 *      non-negative drop δ, η = max(peak − Σδ, 1e-10), 10,000 iterations, with
 *      the exact gradient of their objective (schedopt_lrdesign_mpl_reference)
 *      — final losses in the authors' convention.
 *   2. A 33,908-step design (the gpt-100m runs' length: 20B tokens at
 *      288 × 2048 tokens per step) under the fsl-llm fit of the 100M
 *      training set (peak 3e-4, floor 0, warmup 2160).
 * Usage: bench_design [adam_iterations (default 10000; 0 skips Adam)] */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/design.h"

static const double MPL100M[7] = {2.6514477, 0.60115152, 0.45295811, 437.9464276,
                                  2.13245612, 0.59785199, 0.65523644};
/* fsl-llm fitted on the 100M training set (docs/validation.md, table B, as printed there) */
static const double FSL100M[7] = {2.642, 0.5981, 0.04869, 1e4, 62.53, 0.4564, 0.9457};

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

static int design(const schedopt_surrogate *s, size_t K, size_t W, double peak, double floor_,
                  schedopt_lrdesign_param p, size_t knots, double *ref_out,
                  schedopt_lrdesign_result *r, schedopt_lrdesign **dout) {
  schedopt_error err = {0};
  schedopt_lrdesign *d = NULL;
  if (schedopt_lrdesign_alloc(&d, s, &err) || schedopt_lrdesign_set_steps(d, K, &err) ||
      schedopt_lrdesign_set_lr(d, peak, floor_, 0, &err) ||
      schedopt_lrdesign_set_warmup(d, W, SCHEDOPT_WARMUP_LINEAR, &err) ||
      schedopt_lrdesign_set_param(d, p, knots, 1, &err) ||
      schedopt_lrdesign_set_algorithm(d, SCHEDOPT_LRDESIGN_LBFGS, 1e-10, 3000, &err) ||
      schedopt_lrdesign_run(d, &err) || schedopt_lrdesign_get_result(d, r, &err)) {
    fprintf(stderr, "bench_design: %s\n", err.msg);
    schedopt_lrdesign_free(d);
    return 1;
  }
  if (ref_out)
    schedopt_lrdesign_mpl_reference(MPL100M, r->lr + W, K - W, peak, (double)W, ref_out, NULL,
                                    &err);
  *dout = d;
  return 0;
}

/* The authors' Adam procedure on δ (their objective and constraints). */
static double adam_reference(int iters, double *seconds) {
  const size_t K = 24000, W = 2160, n = K - W;
  const double peak = 3e-4, min_lr = 1e-10, lr = 5e-9, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double *delta = calloc(n, sizeof *delta), *m = calloc(n, sizeof *m), *v = calloc(n, sizeof *v),
         *eta = malloc(n * sizeof *eta), *ge = malloc(n * sizeof *ge), L = NAN;
  schedopt_error err = {0};
  double t0 = cpu();
  for (int it = 1; it <= iters; it++) {
    double c = 0;
    for (size_t i = 0; i < n; i++) {
      c += delta[i] > 0 ? delta[i] : 0;
      eta[i] = fmax(peak - c, min_lr);
    }
    if (schedopt_lrdesign_mpl_reference(MPL100M, eta, n, peak, (double)W, &L, ge, &err)) {
      fprintf(stderr, "bench_design: %s\n", err.msg);
      break;
    }
    /* ∂L/∂δ_j = −Σ_{i≥j} ∂L/∂η_i over the unclamped steps */
    double acc = 0, bc1 = 1 - pow(b1, it), bc2 = 1 - pow(b2, it);
    for (size_t j = n; j-- > 0;) {
      acc += eta[j] > min_lr ? ge[j] : 0;
      double g = delta[j] >= 0 ? -acc : 0;
      m[j] = b1 * m[j] + (1 - b1) * g;
      v[j] = b2 * v[j] + (1 - b2) * g * g;
      delta[j] -= lr * (m[j] / bc1) / (sqrt(v[j] / bc2) + eps);
    }
    /* their projection: 0 ≤ δ ≤ peak, no drop once η reaches min_lr */
    c = 0;
    for (size_t i = 0; i < n; i++) {
      delta[i] = fmin(fmax(delta[i], 0), peak);
      c += delta[i];
      if (peak - c <= min_lr) delta[i] = 0;
    }
  }
  /* the loss of the final δ */
  double c = 0;
  for (size_t i = 0; i < n; i++) {
    c += delta[i];
    eta[i] = fmax(peak - c, min_lr);
  }
  schedopt_lrdesign_mpl_reference(MPL100M, eta, n, peak, (double)W, &L, NULL, &err);
  *seconds = cpu() - t0;
  free(delta), free(m), free(v), free(eta), free(ge);
  return L;
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 10000;
  schedopt_error err = {0};
  schedopt_surrogate *mpl = NULL, *fsl = NULL;
  if (schedopt_surrogate_alloc(&mpl, schedopt_surrogate_mpl, &err) ||
      schedopt_surrogate_set_params(mpl, MPL100M, &err) ||
      schedopt_surrogate_alloc(&fsl, schedopt_surrogate_fsl_llm, &err) ||
      schedopt_surrogate_set_params(fsl, FSL100M, &err)) {
    fprintf(stderr, "bench_design: %s\n", err.msg);
    return 1;
  }
  printf("case                                   param   evals(design/all)  CPU s   final loss"
         "   authors' convention   nlopt\n");
  struct {
    schedopt_lrdesign_param p;
    size_t knots;
  } runs[] = {{SCHEDOPT_LRDESIGN_KNOTS, 64}, {SCHEDOPT_LRDESIGN_WSD, 0},
              {SCHEDOPT_LRDESIGN_STEPS, 0}};
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    schedopt_lrdesign_result r;
    schedopt_lrdesign *d = NULL;
    double ref = NAN;
    if (design(mpl, 24000, 2160, 3e-4, 1e-10, runs[i].p, runs[i].knots, &ref, &r, &d)) return 1;
    printf("mpl 100M, 24000 steps, peak 3e-4       %-6s %6ld / %-6ld %9.3f %12.6f %14.6f        %s\n",
           schedopt_lrdesign_param_name(runs[i].p), r.design_evals, r.evals, r.cpu_seconds,
           r.final_loss, ref, r.nlopt_result);
    schedopt_lrdesign_free(d);
  }
  {
    schedopt_lrdesign_result r;
    schedopt_lrdesign *d = NULL;
    if (design(fsl, 33908, 2160, 3e-4, 0, SCHEDOPT_LRDESIGN_KNOTS, 64, NULL, &r, &d)) return 1;
    printf("fsl-llm 100M, 33908 steps, peak 3e-4   %-6s %6ld / %-6ld %9.3f %12.6f %14s        %s\n",
           "knots", r.design_evals, r.evals, r.cpu_seconds, r.final_loss, "-", r.nlopt_result);
    printf("  baselines:");
    for (size_t i = 0; i < r.nbaselines; i++)
      printf(" %s %.6f", r.baselines[i].name, r.baselines[i].final_loss);
    printf("; gain %.6f\n", r.gain);
    schedopt_lrdesign_free(d);
  }
  if (iters > 0) {
    double secs, L = adam_reference(iters, &secs);
    printf("mpl 100M, the authors' Adam, %d iterations: %.3f s CPU, final loss %.6f (authors' "
           "convention; published 2.79414)\n", iters, secs, L);
  }
  schedopt_surrogate_free(mpl);
  schedopt_surrogate_free(fsl);
  return 0;
}
