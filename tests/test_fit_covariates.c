/* Fits with covariates and a chosen prior (fit.h), on synthetic curves made
 * by the multi-power law itself, so that the truth is known:
 *   - run offsets: two runs 0.02 apart are fitted with their offsets found;
 *   - tokens per step: the noise amplitude B ∝ 1/(b − c); fitted on two
 *     batch sizes (c found), a third is predicted within 1 % of its excess
 *     loss;
 *   - model size: laws L0(N) = E + (L0 − E)(N/N_ref)^κ, A(N) = A (N/N_ref)^κ
 *     fitted on two sizes recover κ and predict a third size;
 *   - the prior's cross-validation reports its grid and picks the best;
 *   - identifiability: a constant-lr curve cannot separate the drop
 *     parameters, and the Hessian's condition says so. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"
#include "testutil.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* A library call that should succeed: counted as a failed check (with the
 * message of the `err` in scope) when it does not. */
#define Q(call)                                                                       \
  ((call) == SCHEDOPT_OK ||                                                          \
   (fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, err.msg), test_failures++, 0))

/* published 100M multi-power-law parameters (the truth at the reference) */
static const double TRUTH[7] = {2.6514, 0.6012, 0.4530, 437.95, 2.1325, 0.5979, 0.6552};
enum { K = 6000, W = 200, EVERY = 50 };

/* schedule 0: constant, 1: drop to 0.3 at 3000, 2: cosine to 0.1 */
static void schedule(int kind, double *eta) {
  for (int k = 0; k < K; k++) {
    double v = 3e-4;
    if (k < W) v = 3e-4 * k / W;
    else if (kind == 1 && k >= 3000) v = 9e-5;
    else if (kind == 2) v = 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + cos(M_PI * (k - W) / (K - W)));
    eta[k] = v;
  }
}

/* A synthetic dense log (every step) of schedule `kind`, with parameters
 * th plus `offset`. */
static schedopt_losscurve *synth(const char *name, int kind, const double *th, double offset) {
  static double eta[K], step[K], loss[K];
  static size_t out[K];
  schedule(kind, eta);
  for (int k = 0; k < K - 1; k++) out[k] = (size_t)k + 1;
  schedopt_surrogate *s = NULL;
  schedopt_error err = {0};
  schedopt_losscurve *c = NULL;
  schedopt_surrogate_input in = {eta, K, out, K - 1, NULL};
  if (Q(schedopt_surrogate_alloc(&s, schedopt_surrogate_mpl, &err)) &&
      Q(schedopt_surrogate_set_params(s, th, &err)) &&
      Q(schedopt_surrogate_predict(s, &in, loss + 1, NULL, &err))) {
    loss[0] = loss[1]; /* T(0) = 0: not predicted (and before the warmup's end) */
    for (int k = 0; k < K; k++) step[k] = k, loss[k] += offset;
    if (Q(schedopt_losscurve_from_arrays(&c, name, K, step, eta, loss, &err)))
      schedopt_losscurve_set_warmup(c, W);
  }
  schedopt_surrogate_free(s);
  return c;
}

static schedopt_fit_options quick(void) {
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  o.starts = 2;
  o.prior = 0;
  o.max_points = 120;
  return o;
}

static void offsets(void) {
  schedopt_error err = {0};
  schedopt_losscurve *a = synth("a", 1, TRUTH, +0.01), *b = synth("b", 2, TRUTH, -0.01);
  schedopt_fit *f = NULL;
  schedopt_fit_options o = quick();
  o.offsets = 1;
  if (Q(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err)) &&
      Q(schedopt_fit_add_curve(f, a, SCHEDOPT_CURVE_FIT, NAN, NAN, &err)) &&
      Q(schedopt_fit_add_curve(f, b, SCHEDOPT_CURVE_FIT, NAN, NAN, &err)) &&
      Q(schedopt_fit_run(f, &o, &err))) {
    schedopt_fit_summary sm;
    schedopt_fit_get_summary(f, &sm);
    CHECK(sm.nextra == 1 && sm.noffsets == 1);
    CHECK(!strcmp(sm.names[7], "offset[a]"));
    CHECK_CLOSE(sm.theta[7], 0.01, 0, 1e-3);
    CHECK_CLOSE(sm.theta[0], TRUTH[0], 0, 1e-2); /* L0 trades with A, alpha on a short run */
    schedopt_fit_curve c;
    for (size_t i = 0; i < 2; i++)
      if (Q(schedopt_fit_get_curve(f, i, &c, &err))) CHECK_MSG(c.metrics.mae < 5e-4, "%g", c.metrics.mae);
  }
  schedopt_fit_free(f);
  schedopt_losscurve_free(a);
  schedopt_losscurve_free(b);
}

static void tokens(void) {
  schedopt_error err = {0};
  const double bs[3] = {1e5, 2e5, 4e5};
  schedopt_losscurve *c[3];
  for (int i = 0; i < 3; i++) {
    double th[7];
    memcpy(th, TRUTH, sizeof th);
    th[3] *= (1e5 - 3e4) / (bs[i] - 3e4); /* B ∝ 1/(b − c), c = 3e4 */
    char nm[16];
    snprintf(nm, sizeof nm, "b%d", i);
    c[i] = synth(nm, i == 2 ? 2 : 1 + i % 2, th, 0);
  }
  schedopt_fit *f = NULL;
  schedopt_fit_options o = quick();
  if (Q(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err))) {
    for (int i = 0; i < 3; i++) {
      Q(schedopt_fit_add_curve(f, c[i], i < 2 ? SCHEDOPT_CURVE_FIT : SCHEDOPT_CURVE_TEST, NAN,
                                NAN, &err));
      Q(schedopt_fit_set_curve_info(f, (size_t)i, NAN, bs[i], NULL, &err));
    }
    if (Q(schedopt_fit_run(f, &o, &err))) {
      schedopt_fit_summary sm;
      schedopt_fit_get_summary(f, &sm);
      CHECK_CLOSE(sm.laws->tokens_ref, 1e5, 0, 0);
      /* two batch sizes fitted: c is fitted too (the last extended parameter) */
      CHECK(sm.nextra == 1 && !strcmp(sm.names[7], "tokens_offset"));
      CHECK_CLOSE(sm.laws->tokens_offset, 3e4, 0.05, 0);
      schedopt_fit_curve fc;
      if (Q(schedopt_fit_get_curve(f, 2, &fc, &err))) {
        /* within 1 % of the excess loss L − L0 */
        const double *loss = schedopt_losscurve_loss(fc.curve);
        double ex = 0;
        size_t n = 0;
        for (size_t i = 0; i < schedopt_losscurve_npoints(fc.curve); i++)
          if (fc.scored[i]) ex += loss[i] - TRUTH[0], n++;
        ex /= (double)n;
        CHECK_MSG(fc.metrics.mae < 0.01 * ex, "MAE %g, excess loss %g", fc.metrics.mae, ex);
      }
    }
  }
  schedopt_fit_free(f);
  for (int i = 0; i < 3; i++) schedopt_losscurve_free(c[i]);
}

static void sizes(void) {
  schedopt_error err = {0};
  const double N[3] = {25e6, 100e6, 400e6}, kL = -0.2, kA = 0.1, E = 1.5;
  schedopt_losscurve *c[6];
  for (int i = 0; i < 3; i++) {
    double th[7], l = log(N[i] / 100e6);
    memcpy(th, TRUTH, sizeof th);
    th[0] = E + (TRUTH[0] - E) * exp(kL * l);
    th[1] = TRUTH[1] * exp(kA * l);
    for (int j = 0; j < 2; j++) {
      char nm[16];
      snprintf(nm, sizeof nm, "n%d_%d", i, j);
      c[2 * i + j] = synth(nm, 1 + j, th, 0);
    }
  }
  schedopt_fit *f = NULL;
  schedopt_fit_options o = quick();
  /* the laws are needed once curves differ in size */
  if (Q(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err))) {
    for (int i = 0; i < 4; i++) {
      Q(schedopt_fit_add_curve(f, c[i], SCHEDOPT_CURVE_FIT, NAN, NAN, &err));
      Q(schedopt_fit_set_curve_info(f, (size_t)i, N[i / 2], NAN, NULL, &err));
    }
    CHECK(schedopt_fit_run(f, &o, &err) == SCHEDOPT_EINVAL && strstr(err.msg, "size laws"));
    Q(schedopt_fit_set_size_law(f, "L0", SCHEDOPT_SIZE_SHIFTED, E, &err));
    Q(schedopt_fit_set_size_law(f, "A", SCHEDOPT_SIZE_POWER, 0, &err));
    for (int i = 4; i < 6; i++) {
      Q(schedopt_fit_add_curve(f, c[i], SCHEDOPT_CURVE_TEST, NAN, NAN, &err));
      Q(schedopt_fit_set_curve_info(f, (size_t)i, N[2], NAN, NULL, &err));
    }
    if (Q(schedopt_fit_run(f, &o, &err))) {
      schedopt_fit_summary sm;
      schedopt_fit_get_summary(f, &sm);
      CHECK_CLOSE(sm.laws->size_ref, 100e6, 0, 0);
      CHECK_CLOSE(sm.laws->size_exp[0], kL, 0, 0.01);
      CHECK_CLOSE(sm.laws->size_exp[1], kA, 0, 0.02);
      schedopt_fit_curve fc;
      for (size_t i = 4; i < 6; i++)
        if (Q(schedopt_fit_get_curve(f, i, &fc, &err)))
          CHECK_MSG(fc.metrics.mae < 2e-3, "400M curve %zu: MAE %g", i, fc.metrics.mae);
      /* the same θ through the public law */
      double th[7];
      if (Q(schedopt_fit_laws_apply(schedopt_surrogate_mpl, sm.laws, sm.theta, 400e6, NAN, th, &err)))
        CHECK_CLOSE(th[0], E + (TRUTH[0] - E) * exp(kL * log(4.0)), 0, 5e-3);
    }
  }
  schedopt_fit_free(f);
  for (int i = 0; i < 6; i++) schedopt_losscurve_free(c[i]);
}

static void cross_validation_and_identifiability(void) {
  schedopt_error err = {0};
  schedopt_losscurve *a = synth("drop", 1, TRUTH, 0), *b = synth("cos", 2, TRUTH, 0),
                     *k = synth("const", 0, TRUTH, 0);
  schedopt_fit *f = NULL;
  schedopt_fit_options o = quick();
  o.prior = NAN; /* chosen by cross-validation */
  o.starts = 1;
  if (Q(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err)) &&
      Q(schedopt_fit_add_curve(f, a, SCHEDOPT_CURVE_FIT, NAN, NAN, &err)) &&
      Q(schedopt_fit_add_curve(f, b, SCHEDOPT_CURVE_FIT, NAN, NAN, &err)) &&
      Q(schedopt_fit_run(f, &o, &err))) {
    schedopt_fit_summary sm;
    schedopt_fit_get_summary(f, &sm);
    CHECK(sm.ngrid == 5 && sm.folds == 3); /* two curves left out, one horizon */
    size_t best = 0;
    for (size_t i = 0; i < sm.ngrid; i++) {
      CHECK(isfinite(sm.cv_error[i]) && sm.cv_error[i] >= 0);
      if (sm.cv_error[i] < sm.cv_error[best]) best = i;
    }
    int found = 0;
    for (size_t i = 0; i < sm.ngrid; i++)
      if (sm.grid[i] == sm.prior) {
        found = 1;
        CHECK(sm.cv_error[i] <= 1.02 * sm.cv_error[best]);
      }
    CHECK(found);
    CHECK(isfinite(sm.condition) && sm.condition >= 1);
  }
  schedopt_fit_free(f);
  f = NULL;
  /* one constant-lr curve: the drop parameters only in combination */
  o.prior = 0;
  if (Q(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err)) &&
      Q(schedopt_fit_add_curve(f, k, SCHEDOPT_CURVE_FIT, NAN, NAN, &err)) &&
      Q(schedopt_fit_run(f, &o, &err))) {
    schedopt_fit_summary sm;
    schedopt_fit_get_summary(f, &sm);
    CHECK_MSG(!(sm.condition < 1e8), "condition %g", sm.condition);
    double drop = 0;
    for (int i = 3; i < 7; i++) drop += sm.weakest[i] * sm.weakest[i];
    CHECK_MSG(drop > 0.5, "share of the drop parameters in the flattest direction %g", drop);
  }
  schedopt_fit_free(f);
  schedopt_losscurve_free(a);
  schedopt_losscurve_free(b);
  schedopt_losscurve_free(k);
}

int main(void) {
  offsets();
  tokens();
  sizes();
  cross_validation_and_identifiability();
  return test_finish();
}
