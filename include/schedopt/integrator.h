/* schedopt/integrator.h — solve a model under a schedule.
 *
 * Two integrator types behind one API:
 *   cvodes     CVODES BDF with a matrix-embedded SUNLinearSolver that solves
 *              (I − γA) x = b for A = blockdiag(D) + U Vᵀ in O(n·rank) by the
 *              Woodbury identity; the integrator stops at every schedule knot
 *              (tstop) and restarts at jumps.  In the data clock the system is
 *              integrated in data time: dy/dτ = (A y + c) / (B · units).
 *   recursion  the model's exact one-step map applied T times (O(n) memory,
 *              O(n·T) time); step k uses u(t_k) with t_k the clock value
 *              before the step.  The reference for short horizons.
 */
#ifndef SCHEDOPT_INTEGRATOR_H
#define SCHEDOPT_INTEGRATOR_H

#include <stddef.h>
#include "schedopt/error.h"
#include "schedopt/model.h"
#include "schedopt/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct schedopt_integrator_type {
  const char *name;
  const char *doc;
} schedopt_integrator_type;

extern const schedopt_integrator_type *const schedopt_integrator_cvodes;
extern const schedopt_integrator_type *const schedopt_integrator_recursion;
const schedopt_integrator_type *schedopt_integrator_type_find(const char *name);

/* One output row.  step and samples are cumulative at time t. */
typedef struct schedopt_row {
  double t;        /* clock value (steps or data units) */
  double step;     /* optimizer steps taken */
  double samples;  /* samples consumed */
  schedopt_uval u; /* controls at t */
  schedopt_readout r;
} schedopt_row;

typedef struct schedopt_integrator_stats {
  long steps;        /* CVODES steps (or recursion steps) */
  long rhs_evals;
  long lin_setups;   /* factorizations of I − γA */
  long lin_solves;
  long err_fails;
  long restarts;     /* reinitializations at jumps */
  long ckpt_gradients; /* CVODES gradients that took the check-pointed adjoint */
  long adjoint_steps;  /* CVODES steps of the stored-pass gradients' backward passes */
  long decoupled_gradients; /* of those, the passes that carried λ less its decoupled part */
} schedopt_integrator_stats;

typedef struct schedopt_integrator schedopt_integrator;

/* The integrator keeps its workspace (CVODES memory, vectors) across runs:
 * allocate once, run many schedules. */
schedopt_status schedopt_integrator_alloc(schedopt_integrator **out,
                                          const schedopt_integrator_type *T,
                                          const schedopt_model *m,
                                          schedopt_error *err);
void schedopt_integrator_free(schedopt_integrator *it);

/* Relative tolerance and absolute tolerance, the latter relative to the
 * model's initial loss (scale-free).  Defaults 1e-6 and 1e-10. */
schedopt_status schedopt_integrator_set_tolerances(schedopt_integrator *it,
                                                   double rtol, double atol,
                                                   schedopt_error *err);
/* The tolerances in effect (either pointer may be NULL). */
void schedopt_integrator_get_tolerances(const schedopt_integrator *it, double *rtol,
                                        double *atol);
/* Bound in bytes on the stored forward pass of a CVODES gradient (2 n-vectors
 * per step; default 256 MiB).  A longer pass is redone with CVODES's
 * check-pointed adjoint, which needs less memory and more time. */
schedopt_status schedopt_integrator_set_adjoint_memory(schedopt_integrator *it, size_t bytes,
                                                       schedopt_error *err);
/* cvodes, models with a decoupled decay (plrf without momentum, fsl): the
 * backward pass carries λ less its decoupled part λ_i(H) exp(∫_t^H s D_i),
 * which is exact (on by default; off: λ itself, the earlier pass). */
schedopt_status schedopt_integrator_set_decoupled(schedopt_integrator *it, int on,
                                                  schedopt_error *err);

schedopt_status schedopt_integrator_set_max_steps(schedopt_integrator *it,
                                                  long max_steps,
                                                  schedopt_error *err);

/* Integrate over [0, H] and record rows at the n clock times `times`
 * (non-decreasing, within [0, H]).  Returns SCHEDOPT_EDIVERGE (with the time,
 * the learning rate and the loss in the message) if the loss blows up. */
schedopt_status schedopt_integrator_run(schedopt_integrator *it,
                                        const schedopt_schedule *s,
                                        const double *times, size_t n,
                                        schedopt_row *rows, schedopt_error *err);

/* ---- objectives and gradients ------------------------------------------
 *
 * An objective J of a run, in the loss convention of schedopt_readout.loss:
 *   FINAL     J = L(H)
 *   MEAN      J = (1/(t1 − t0)) ∫_{t0}^{t1} L(t) dt      (clock time; the
 *             recursion averages L over the steps in the window)
 *   HORIZONS  J = Σ_i w_i L(h_i)                           (anytime schedules)
 *
 * Gradients are with respect to every differentiable parameter of each
 * channel's control (schedopt_control_nparams order: family parameters,
 * warmup, warmup_init, table values).  cvodes: the adjoint system
 *   λ' = −(∂f/∂y)ᵀ λ − (∂g/∂y)ᵀ,   dJ/dθ = ∫ λᵀ ∂f/∂u · ∂u/∂θ dt,
 * which for these linear models does not depend on y: the objective's own
 * forward pass stores y and ẏ at every step (J is the objective's exactly),
 * λ runs backwards as a plain CVODES problem (same O(n) linear solver on the
 * transposed structure; for SGD models less its decoupled part, which is
 * exact: schedopt_integrator_set_decoupled), and dJ/dθ is summed by 2-point
 * Gauss–Legendre over every piece between backward steps and control knots,
 * y by cubic Hermite interpolation, λ by cubic Hermite interpolation or, with
 * the decoupled part, CVODES's own interpolant plus that part.  Where the
 * learning rate is 0 (λ does not move) a backward step ends at the next knot.
 * A pass whose store would exceed the adjoint memory
 * bound (schedopt_integrator_set_adjoint_memory) takes CVODES's check-pointed
 * adjoint instead (CVodeF/CVodeB, bounded memory; its steps still cross
 * stretches of learning rate 0 unseen); recursion: a reverse sweep through
 * the exact step map with √T check-points (memory O(n √T)). */
typedef enum schedopt_objective_kind {
  SCHEDOPT_OBJ_FINAL = 0,
  SCHEDOPT_OBJ_MEAN = 1,
  SCHEDOPT_OBJ_HORIZONS = 2
} schedopt_objective_kind;

typedef struct schedopt_objective {
  schedopt_objective_kind kind;
  double t0, t1;       /* MEAN: window in clock units, 0 ≤ t0 < t1 ≤ H */
  size_t nh;           /* HORIZONS: count, clock times (increasing), weights */
  const double *h;
  const double *w;
} schedopt_objective;

/* J alone (one forward solve). */
schedopt_status schedopt_integrator_objective(schedopt_integrator *it,
                                              const schedopt_schedule *s,
                                              const schedopt_objective *obj, double *J,
                                              schedopt_error *err);
/* J and dJ/dθ: grad[ch] (length schedopt_control_nparams of that channel's
 * control) receives the gradient; a NULL grad[ch] skips that channel. */
schedopt_status schedopt_integrator_gradient(schedopt_integrator *it,
                                             const schedopt_schedule *s,
                                             const schedopt_objective *obj, double *J,
                                             double *grad[SCHEDOPT_NCHANNELS],
                                             schedopt_error *err);

/* J, dJ/dθ, and in hdiag (laid out like grad; NULL entries skipped) the
 * local curvature of J in every parameter,
 *   hdiag_i = ∫ λᵀ (∂²f/∂u²) (∂u/∂θ_i)² dt   (recursion: Σ_k λ_{k+1}ᵀ ∂²F/∂u_k² (∂u_k/∂θ_i)²),
 * the Hamiltonian's H_uu on the parameter's basis function: the part of
 * ∂²J/∂θ_i² at a fixed state trajectory.  It is a diagonal preconditioner for
 * optimizers (midpoint rule per quadrature piece, not error-controlled);
 * ∂²/∂u² by a difference of λᵀ ∂f/∂u (exact in the learning rate, on which
 * the dynamics are quadratic). */
schedopt_status schedopt_integrator_gradient_hdiag(schedopt_integrator *it,
                                                   const schedopt_schedule *s,
                                                   const schedopt_objective *obj, double *J,
                                                   double *grad[SCHEDOPT_NCHANNELS],
                                                   double *hdiag[SCHEDOPT_NCHANNELS],
                                                   schedopt_error *err);

/* A model Hessian of the final loss in the learning-rate control's parameters
 * (hess: P×P row-major, P = schedopt_control_nparams of the lr control): the
 * exact Hessian of J with the coupling between the model's states frozen
 * along the run (for plrf, the loss Q(t) that drives every mode), where each
 * state is an explicit functional of η:
 *   ∂²J/∂η(t)∂η(t') = Σ_k D_k'(η(t)) G_k(t')  (t' < t; symmetric)
 *                     + δ(t − t') Σ_k ℓ_k Φ_k(t) ∂²f_k/∂η²(t),
 * D_k the diagonal Jacobian, Φ_k(t) = exp ∫_t^H D_k, ℓ = ∂L/∂y and G_k(t) =
 * ℓ_k Φ_k(t) ∂f_k/∂η(t).  It omits the feedback of the loss on the modes (it
 * is exact as that vanishes, B → ∞) and ∂²η/∂θ² (zero for tables).  One
 * forward solve plus O(N) per quadrature node (4 Gauss–Legendre nodes between
 * every pair of the schedule's knots).  Needs the final-loss objective, a
 * step budget, a diagonal Jacobian quadratic in η (SGD) and a constant batch
 * size and momentum (SCHEDOPT_EINVAL otherwise).  The recursion is treated as
 * its continuous-time limit (a node sees the state after round(t) steps). */
schedopt_status schedopt_integrator_hessian_model(schedopt_integrator *it,
                                                  const schedopt_schedule *s,
                                                  const schedopt_objective *obj, double *hess,
                                                  schedopt_error *err);

const schedopt_integrator_type *schedopt_integrator_get_type(const schedopt_integrator *it);
void schedopt_integrator_get_stats(const schedopt_integrator *it,
                                   schedopt_integrator_stats *st);

#ifdef __cplusplus
}
#endif
#endif
