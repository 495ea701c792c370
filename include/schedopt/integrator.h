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

const schedopt_integrator_type *schedopt_integrator_get_type(const schedopt_integrator *it);
void schedopt_integrator_get_stats(const schedopt_integrator *it,
                                   schedopt_integrator_stats *st);

#ifdef __cplusplus
}
#endif
#endif
