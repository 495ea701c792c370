/* surrogate_impl.h — shared pieces of the loss-curve surrogates (private):
 * the exponential-sum kernel and small numerics. */
#ifndef SCHEDOPT_SURROGATE_IMPL_H
#define SCHEDOPT_SURROGATE_IMPL_H

#include <stddef.h>
#include "schedopt/surrogate.h"

/* The types (surrogate_fsl.c, surrogate_mpl.c). */
extern const schedopt_surrogate_type schedopt_sx_fsl_llm_type, schedopt_sx_mpl_type;

/* Most nodes a kernel may have (a bigger need is refused). */
#define SX_MAX_NODES 4096

/* Trapezoid rule in v for (1 + ρx)^−p = Γ(p)^−1 ∫ e^{pv − e^v} e^{−e^v ρ x} dv
 * on the fixed grid of rates q_j = e^{jh}, j = jlo … jhi (so v = jh − ln ρ):
 *   w_j(ρ) = h·e^{p v − e^v}/Γ(p),  (1 + ρx)^−p ≈ w_0 + Σ_j w_j e^{−q_j x},
 * with the nodes below jlo lumped into w_0 = 1 − Σ_j w_j.  Errors (relative
 * to (1 + ρx)^−p, for ρ in [ρ_min, ρ_max] and 0 ≤ x ≤ xmax), each ≤ tol/4:
 *   spacing   2|Γ(p + 2πi/h)|/Γ(p)                          (Poisson summation)
 *   top       Γ(p, U)/Γ(p), nodes with e^v > U dropped
 *   lumping   ρx·e^{(p+1)v_lo}/((p+1)Γ(p)) ≤ tol/128·(1 + ρx)^−p at x = xmax
 *             (the extra 1/32 for the θ-derivatives). */
typedef struct sx_plan {
  double p, h, lgp; /* exponent, spacing, ln Γ(p) */
  double lnU;       /* log of the top cut U */
  int jlo, jhi;
  size_t J;         /* jhi − jlo + 1 */
  /* tables (schedopt_sx_tables): q_j = e^{jh}, b_j = h e^{p jh}/Γ(p) (tab = 0 when
   * that would overflow: the weights then take one exp each), ψ(p) */
  const double *q, *b;
  int tab;
  double psi;
} sx_plan;

/* 0 on success; −1 if the inputs are not finite/positive or J would exceed
 * SX_MAX_NODES. */
int schedopt_sx_make(sx_plan *pl, double p, double tol, double lnrho_min, double lnrho_max,
            double xmax);
/* Fill the tables into mem (2·J doubles, owned by the caller). */
void schedopt_sx_tables(sx_plan *pl, double *mem);
/* Weights of a source with scale ln ρ: w[0..J); dlr = ∂w/∂ln ρ and dp = ∂w/∂p
 * (either may be NULL).  Returns Σ_j w_j (= 1 − w_0); *sdlr, *sdp receive
 * the sums of the derivatives when their arrays are given.  Nodes with
 * e^v ≤ 1e-3 use a Taylor series for e^{−e^v}, nodes with e^v > U get 0. */
double schedopt_sx_weights(const sx_plan *pl, double lnrho, double *w, double *dlr, double *dp,
                  double *sdlr, double *sdp);
/* dec[j] = e^{−q_j dt} (Taylor series below 1e-3, 0 above 40). */
void schedopt_sx_decay(const sx_plan *pl, double dt, double *dec);

/* ψ(x) = Γ'(x)/Γ(x), x > 0. */
double schedopt_sx_digamma(double x);

/* Prefix sums T[k] = Σ_{j≤k} η_j for k ≤ kmax (compensated). */
void schedopt_sx_prefix(const double *eta, size_t kmax, double *T);

/* Power-law start for L ≈ L0 + c·T^−e on n points: tries L0 below the
 * smallest loss and fits log(L − L0) = log c − e log T by least squares
 * (points with the smallest T first: the first `frac` of them). */
void schedopt_sx_powerlaw_guess(const double *T, const double *loss, size_t n, double frac,
                       double *L0, double *c, double *e);

#endif
