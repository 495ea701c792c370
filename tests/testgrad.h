/* Helpers shared by the gradient tests (test_gradient, test_gradient_attack,
 * test_hessian): a differentiable parameter's address for finite
 * differences, controls, the small plrf model they differentiate, and the
 * relative difference of two arrays. */
#ifndef SCHEDOPT_TESTGRAD_H
#define SCHEDOPT_TESTGRAD_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dynamics/control_impl.h"
#include "schedopt/schedopt.h"

/* Parameter i of c in schedopt_control_nparams order: family parameters,
 * warmup, warmup_init, table values. */
static inline double *param_ptr(schedopt_control *c, size_t i) {
  size_t nf = c->type->nparams;
  if (i < nf) return &c->p[i];
  if (i == nf) return &c->warmup;
  if (i == nf + 1) return &c->warmup_init;
  return &c->v[i - nf - 2];
}

static inline schedopt_control *ctl(const schedopt_control_type *T) {
  schedopt_control *c = NULL;
  schedopt_error e;
  if (schedopt_control_alloc(&c, T, &e)) {
    fprintf(stderr, "control: %s\n", e.msg);
    exit(1);
  }
  return c;
}

static inline void set(schedopt_control *c, const char *k, double v) {
  schedopt_error e;
  if (schedopt_control_set(c, k, v, &e)) {
    fprintf(stderr, "set %s: %s\n", k, e.msg);
    exit(1);
  }
}

/* a = 2.5, b = 1.8, σ² = 0.2: small and fast, every term of the gradient alive;
 * with momentum, modes past K keep one state (momentum_modes; 0: all three) */
static inline schedopt_model *plrf_k(long N, int mom, schedopt_dynamics dyn, int split, long K) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 2.5;
  p.b = 1.8;
  p.N = N;
  p.sigma2 = 0.2;
  p.momentum = mom;
  p.dynamics = dyn;
  p.split = split;
  p.momentum_modes = K;
  schedopt_model *m = NULL;
  schedopt_error e;
  if (schedopt_model_alloc(&m, schedopt_model_plrf, &p, &e)) {
    fprintf(stderr, "model: %s\n", e.msg);
    exit(1);
  }
  return m;
}

static inline schedopt_model *plrf(long N, int mom, schedopt_dynamics dyn, int split) {
  return plrf_k(N, mom, dyn, split, 0);
}

/* ‖A − B‖ / ‖B‖ over m entries */
static inline double rel_diff(const double *A, const double *B, size_t m) {
  double num = 0, den = 0;
  for (size_t i = 0; i < m; i++) {
    num += (A[i] - B[i]) * (A[i] - B[i]);
    den += B[i] * B[i];
  }
  return sqrt(num / den);
}

#endif
