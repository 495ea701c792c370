/* schedopt/model.h — training dynamics as linear ODE systems (plug-ins).
 *
 * Every model is a linear system in step time
 *
 *     dy/dt = A(u) y + c(u),      A(u) = blockdiag(D_1 … D_K) + Σ_r U_r V_rᵀ,
 *
 * with u = (η, B, μ) the controls at t, square blocks D_k of size `block`
 * (1 for SGD, 3 for heavy-ball momentum) and a few rank-one terms (`rank`).
 * That structure is what makes a Newton solve O(n) (Sherman–Morrison /
 * Woodbury) inside CVODES.  A model may also provide its exact discrete
 * one-step map (the expected-risk recursion).
 *
 * Models shipped:
 *   plrf  power-law random features under SGD (docs/theory.md §1).  Modes k = 1..N,
 *         λ_k = λ0 k^-b, signal power p_k = p0 k^-a, tail = Σ_{k>N} p_k,
 *         noise σ².  States are risk contributions y_k = λ_k C_k, so that the
 *         excess risk is E = Σ y_k.  Matched ODE: dy/dt = (M − I) y + s (E +
 *         tail + σ²) with M the one-step map; sde: −2ηλ in place of
 *         (1 − ηλ)² − 1.  With split = 1 the state is doubled: y = y_bias +
 *         y_var, where the bias copy starts at p_k and sees no additive noise,
 *         the variance copy starts at 0 and is driven by tail + σ².
 *   fsl   functional scaling law, finite-M spectral form (docs/theory.md §2):
 *         m_j' = −2λ_j η m_j,  n_j' = −2λ_j η n_j + λ_j² η²/B (e + σ²),
 *         e = Σ m_j (signal states m_j = λ_j θ_j² e^{−2λ_j T} scaled as above),
 *         loss = σ² + c_approx M^{−sβ} + c_signal e + c_noise Σ n_j.
 *
 * Loss convention: full mean-squared error, L = E + tail + σ² (no ½).
 */
#ifndef SCHEDOPT_MODEL_H
#define SCHEDOPT_MODEL_H

#include <stddef.h>
#include "schedopt/error.h"
#include "schedopt/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a state means to a user. excess = loss − σ² = bias + variance + approx. */
typedef struct schedopt_readout {
  double loss;     /* L = E + tail + σ² */
  double excess;   /* L − σ² */
  double bias;     /* the part from the initial error (signal) */
  double variance; /* the part driven by label noise and the unlearned tail */
  double approx;   /* approximation error of the finite model (tail) */
} schedopt_readout;

typedef enum schedopt_dynamics {
  SCHEDOPT_DYN_MATCHED = 0, /* same fixed points as the recursion (default) */
  SCHEDOPT_DYN_SDE = 1      /* FSL/SDE limit: drops the η²λ² drift term */
} schedopt_dynamics;

/* ---- plug-in interface ------------------------------------------------- */
typedef struct schedopt_model_type {
  const char *name;
  /* Build an instance from the model's parameter struct. */
  schedopt_status (*alloc)(const void *params, void **self, schedopt_error *err);
  void (*free)(void *self);
  size_t (*size)(const void *self);  /* number of states n */
  size_t (*block)(const void *self); /* diagonal block size (n % block == 0) */
  size_t (*rank)(const void *self);  /* number of rank-one terms */
  void (*initial)(const void *self, double *y);
  /* ydot = A(u) y + c(u) in step time. */
  void (*rhs)(const void *self, const schedopt_uval *u, const double *y, double *ydot);
  /* D: n/block blocks of block×block, row-major; U, V: rank columns of n. */
  void (*jac)(const void *self, const schedopt_uval *u, double *D, double *U, double *V);
  void (*readout)(const void *self, const double *y, schedopt_readout *out);
  /* One exact optimizer step (the recursion), or NULL. */
  void (*step)(const void *self, const schedopt_uval *u, double *y);
  /* Reference loss for divergence checks (loss at t = 0). */
  double (*scale)(const void *self);
  /* ---- for gradients ---- */
  /* ∂loss/∂y (the loss is affine in y). */
  void (*dloss)(const void *self, double *g);
  /* out[ch] = λᵀ ∂(A(u) y + c(u))/∂u_ch, ch = lr, batch, momentum. */
  void (*vjp_u)(const void *self, const schedopt_uval *u, const double *y, const double *lam,
                double out[3]);
  /* Reverse of one exact step at (u, y = state before the step):
   * out[ch] = λᵀ ∂step/∂u_ch, then λ ← (∂step/∂y)ᵀ λ.  NULL if step is NULL. */
  void (*step_vjp)(const void *self, const schedopt_uval *u, const double *y, double *lam,
                   double out[3]);
  /* ---- optional fused recursion (NULL: step, then readout) ---- */
  /* acc = Vᵀ y, the rank sums of the low-rank terms (the V of jac, rank entries). */
  void (*project)(const void *self, const double *y, double *acc);
  /* step, given acc = Vᵀ y on entry, updating acc to Vᵀ y_new in the same pass;
   * returns the loss after the step. */
  double (*step_acc)(const void *self, const schedopt_uval *u, double *y, double *acc);
  /* ---- optional adjoint kernels ---- */
  /* o = −s A(u)ᵀ λ, A = ∂f/∂y (jac's blockdiag(D) + U Vᵀ), in one pass without
   * forming A (NULL: from jac). */
  void (*rhs_adj)(const void *self, const schedopt_uval *u, double s, const double *lam,
                  double *o);
  /* out[g] = vjp_u(u[g], y_g, λ_g) at m ≤ 3 nodes, y_g = Σ_{j<4} cy[g][j] Y[g][j]
   * and λ_g = Σ_{j<4} cl[g][j] L[j] (cubic Hermite interpolants on a forward
   * and a backward step), in one pass without forming y_g and λ_g; and, if
   * lf is not NULL, lf[g] = λ_gᵀ f(u[g], y_g) (the data clock's ∂/∂B of its
   * factor 1/(B·units)).  NULL: the integrator forms y, λ and calls vjp_u. */
  void (*vjp_u_comb)(const void *self, size_t m, const schedopt_uval *u,
                     const double *const Y[][4], const double cy[][4], const double *const L[4],
                     const double cl[][4], double out[][3], double *lf);
  /* 1 if this instance's step is its exact map (a reduced ODE state has
   * none).  NULL: step != NULL decides. */
  int (*exact)(const void *self);
  /* diag[k] = 1 for the blocks k (of n/block) that jac always fills
   * diagonal (the Newton solve then inverts their diagonal only).  NULL:
   * none known. */
  void (*block_diag)(const void *self, unsigned char *diag);
  /* The decoupled decay (block 1 only): A's diagonal is D_i(u) = c[0] ρ_i +
   * c[1] ρ_i² with ρ fixed per state.  Fills rho (n values) if not NULL and
   * c at u.  The adjoint then integrates λ_i − λ_i(H) exp(ρ_i I_0(t) +
   * ρ_i² I_1(t)), I_j(t) = ∫_t^H s c_j(u) dτ, whose decoupled part is exact
   * (integrator.c, "decoupled part").  NULL: none. */
  void (*decay)(const void *self, const schedopt_uval *u, double *rho, double c[2]);
} schedopt_model_type;

extern const schedopt_model_type *const schedopt_model_plrf;
extern const schedopt_model_type *const schedopt_model_fsl;
extern const schedopt_model_type *const schedopt_model_types[]; /* NULL-terminated */
const schedopt_model_type *schedopt_model_type_find(const char *name);

/* Parameters of plrf.  Exponents in Bordelon–Mori notation; convert from FSL
 * notation with b = β, a = 1 + sβ. */
typedef struct schedopt_plrf_params {
  double a;            /* signal decay, > 1 */
  double b;            /* spectral decay, > 1 */
  long N;              /* learned modes, 1 … 10^6 */
  double sigma2;       /* label-noise variance, ≥ 0 */
  double lambda_scale; /* λ0 > 0 (default 1) */
  double signal_scale; /* p0 > 0 (default 1) */
  double tail;         /* approximation error; NAN = Σ_{k>N} p0 k^-a */
  schedopt_dynamics dynamics;
  int momentum;        /* 1: heavy-ball states (A, V, X) per mode */
  long momentum_modes; /* ODE only: modes k > this keep A alone, (V, X) at their
                          quasi-static values (model_plrf.c); 0 = all modes full.
                          See schedopt_plrf_momentum_modes. */
  int split;           /* 1: track bias and variance separately */
} schedopt_plrf_params;

typedef struct schedopt_fsl_params {
  double a, b;         /* as plrf: β = b, s = (a − 1)/b */
  long M;              /* spectral modes */
  double sigma2;
  double lambda_scale, signal_scale;
  double c_approx, c_signal, c_noise; /* FSL's constants (default 1) */
} schedopt_fsl_params;

void schedopt_plrf_params_default(schedopt_plrf_params *p);
void schedopt_fsl_params_default(schedopt_fsl_params *p);

/* The momentum_modes at which every reduced mode k is overdamped to
 * ηλ_k/(1 − μ)² ≤ tol for all μ ≤ mu_max and ηλ_1 ≤ 4 (heavy ball's
 * stability edge 2(1 + μ)): the smallest K with 4 (K+1)^-b ≤ tol (1 − mu_max)²;
 * 0 (all full) when that is N or more. */
long schedopt_plrf_momentum_modes(const schedopt_plrf_params *p, double mu_max, double tol);
/* What problem files use (model.momentum_modes: auto). */
#define SCHEDOPT_MOMENTUM_MU_MAX 0.999
#define SCHEDOPT_MOMENTUM_OD_TOL 1e-3

/* Σ_{k>N} k^-a, accurate to ~1e-14 relative (Euler–Maclaurin). */
double schedopt_powerlaw_tail(long N, double a);

/* ---- handles ------------------------------------------------------------ */
typedef struct schedopt_model schedopt_model;

schedopt_status schedopt_model_alloc(schedopt_model **out, const schedopt_model_type *T,
                                     const void *params, schedopt_error *err);
void schedopt_model_free(schedopt_model *m);
const schedopt_model_type *schedopt_model_get_type(const schedopt_model *m);
const void *schedopt_model_self(const schedopt_model *m);
size_t schedopt_model_size(const schedopt_model *m);

#ifdef __cplusplus
}
#endif
#endif
