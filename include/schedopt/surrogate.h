/* schedopt/surrogate.h — loss-curve surrogates of real training runs
 * (plug-ins of one small interface).
 *
 * A surrogate maps a per-step learning-rate schedule η_0 … η_{K−1} to the
 * loss L(k) at chosen steps, through parameters Θ.  Intrinsic time is
 * T(k) = Σ_{j≤k} η_j (step 0 included).
 *
 *   fsl-llm  the practical functional-scaling-law ansatz (FSL eq. 30):
 *            L(k) = L0 + c1·T(k)^−s
 *                   − c2 Σ_{i=1..k} (η_{i−1} − η_i)(c3 + T(i)^−s)
 *                                  ·(1 − (1 + c4 (T(k) − T(i)))^−γ)
 *            Θ = (L0, c1, c2, c3, c4, s, gamma).
 *   mpl      the multi-power law (Luo et al., ICLR 2025):
 *            L(t) = L0 + A·T(t)^−α − B Σ_{k=1..t} (η_{k−1} − η_k)·G(η_k^−γ S_k(t)),
 *            S_k(t) = Σ_{τ=k..t} η_τ = T(t) − T(k−1),  G(x) = 1 − (C x + 1)^−β
 *            (T(t) = S1(t) + S_W: the warmup area is part of the sum, as in the
 *            authors' code).  Θ = (L0, A, alpha, B, C, beta, gamma).
 *            A step with η_k = 0 (k ≥ 1) counts as a full drop, G = 1.
 *
 * Two evaluations of the same formulas:
 *   fast    (default) O(K·J): (1 + y)^−p = Γ(p)^−1 ∫ e^{pv − e^v} e^{−e^v y} dv is
 *           replaced by a trapezoid sum over v with J nodes (a sum of
 *           exponentials in intrinsic time), so the double sum becomes J
 *           first-order recursions; J is chosen per call for a relative
 *           accuracy `tol` of the kernel on the run's range (default 1e-9).
 *   direct  the O(K·n) double sum with pow() (the reference).
 * Both give ∂L/∂Θ exactly (of the formula they evaluate).
 */
#ifndef SCHEDOPT_SURROGATE_H
#define SCHEDOPT_SURROGATE_H

#include <stddef.h>
#include "schedopt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCHEDOPT_SURROGATE_MAXP 8

/* One parameter of a surrogate. */
typedef struct schedopt_surrogate_param {
  const char *name;
  double def;              /* default value */
  double lo, hi;           /* valid range (closed unless infinite) */
  double fit_lo, fit_hi;   /* default search box of a fit */
  int log_scale;           /* 1: a positive scale, searched on a log scale */
  const char *doc;
  /* For a scale that enters as θ·η^−p (mpl's C with p = gamma): the name of
   * p.  Fits then search ln(θ·η_ref^−p) at the peak η_ref instead of ln θ,
   * which the data pin down when η stays near its peak.  NULL: none. */
  const char *lr_exponent;
} schedopt_surrogate_param;

/* What to evaluate: the schedule and the output steps. */
typedef struct schedopt_surrogate_input {
  const double *lr;   /* η_k ≥ 0, k = 0 … nsteps−1 */
  size_t nsteps;
  const size_t *out;  /* output steps, strictly increasing, < nsteps */
  size_t nout;
  const double *T;    /* optional: T(k) = Σ_{j≤k} η_j for k < nsteps (a cache
                         for repeated calls on one schedule), or NULL */
} schedopt_surrogate_input;

typedef enum schedopt_surrogate_method {
  SCHEDOPT_SURROGATE_FAST = 0,  /* exponential sums, O(K·J) */
  SCHEDOPT_SURROGATE_DIRECT = 1 /* double sum, O(K·n) */
} schedopt_surrogate_method;

typedef struct schedopt_surrogate_type {
  const char *name;
  const char *formula;  /* one line, for help and outputs */
  size_t nparams;
  const schedopt_surrogate_param *params;
  /* loss[m] = L(out[m]); dtheta (nout × nparams, row-major) = ∂L/∂Θ or NULL.
   * tol: relative accuracy of the exponential sums (fast only). */
  schedopt_status (*predict)(const double *theta, const schedopt_surrogate_input *in,
                             schedopt_surrogate_method method, double tol, double *loss,
                             double *dtheta, schedopt_error *err);
  /* geta[k] = ∂(Σ_m g[m]·L(out[m]))/∂η_k for k < nsteps (exact, O(K·n)). */
  schedopt_status (*grad_lr)(const double *theta, const schedopt_surrogate_input *in,
                             const double *g, double *geta, schedopt_error *err);
  /* Data-driven start: Θ from n observed points (intrinsic time T > 0,
   * loss), e.g. L0 below the smallest loss and a power law through the rest;
   * parameters it cannot infer are left at theta's incoming values. */
  void (*guess)(const double *T, const double *loss, size_t n, double *theta);
} schedopt_surrogate_type;

extern const schedopt_surrogate_type *const schedopt_surrogate_fsl_llm;
extern const schedopt_surrogate_type *const schedopt_surrogate_mpl;
extern const schedopt_surrogate_type *const schedopt_surrogate_types[]; /* NULL-terminated */
const schedopt_surrogate_type *schedopt_surrogate_type_find(const char *name);

/* ---- a surrogate with its parameters ------------------------------------ */
typedef struct schedopt_surrogate schedopt_surrogate;

/* Parameters at their defaults, fast method, tol 1e-9. */
schedopt_status schedopt_surrogate_alloc(schedopt_surrogate **out,
                                         const schedopt_surrogate_type *T,
                                         schedopt_error *err);
void schedopt_surrogate_free(schedopt_surrogate *s);
const schedopt_surrogate_type *schedopt_surrogate_get_type(const schedopt_surrogate *s);

/* By name, checked against the valid range (the message names both). */
schedopt_status schedopt_surrogate_set(schedopt_surrogate *s, const char *name, double value,
                                       schedopt_error *err);
schedopt_status schedopt_surrogate_get(const schedopt_surrogate *s, const char *name,
                                       double *value, schedopt_error *err);
/* All nparams values at once (checked). */
schedopt_status schedopt_surrogate_set_params(schedopt_surrogate *s, const double *theta,
                                              schedopt_error *err);
const double *schedopt_surrogate_params(const schedopt_surrogate *s);

void schedopt_surrogate_set_method(schedopt_surrogate *s, schedopt_surrogate_method m);
/* Relative accuracy of the exponential sums, in [1e-14, 1e-3]. */
schedopt_status schedopt_surrogate_set_tol(schedopt_surrogate *s, double tol,
                                           schedopt_error *err);

/* Validate the input (η ≥ 0 and finite, output steps increasing and in
 * range) and evaluate; see schedopt_surrogate_type.predict. */
schedopt_status schedopt_surrogate_predict(const schedopt_surrogate *s,
                                           const schedopt_surrogate_input *in, double *loss,
                                           double *dtheta, schedopt_error *err);
/* The gradient of Σ_m g[m]·L(out[m]) with respect to every step's η (for
 * schedule design), and the losses by the direct sum, of which it is the
 * exact gradient (loss may be NULL). */
schedopt_status schedopt_surrogate_grad_lr(const schedopt_surrogate *s,
                                           const schedopt_surrogate_input *in,
                                           const double *g, double *loss, double *geta,
                                           schedopt_error *err);

/* Exponential-sum kernel used by the fast method, exposed for tests and
 * tools: nodes (rate q_j = e^{jh}) and weights w_j with
 *   (1 + ρ x)^−p ≈ w_0 + Σ_j w_j e^{−q_j x}   for 0 ≤ x ≤ xmax,
 * relative error ≤ tol; w_0 is the sum of the lumped low-rate nodes.  Returns
 * J (≤ cap; 0 on bad input); q and w receive J values, *w0 the constant.
 * (The models use w_0 = 1 − Σ_j w_j instead, exact at x = 0: they need the
 * kernel to absolute accuracy, since it multiplies learning-rate drops.) */
size_t schedopt_expsum_kernel(double p, double rho, double xmax, double tol, double *q,
                              double *w, double *w0, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
