/* schedopt/fit.h — fitting a surrogate (surrogate.h) to observed loss
 * curves (losscurve.h) and scoring it on held-out ones.
 *
 * Objective: the mean over the fitted points of the Huber loss
 *   ρ_δ(r) = r²/2 (|r| ≤ δ),  δ(|r| − δ/2) otherwise,  r = log L_pred − log L_obs,
 * δ = 1e-3 by default.  Fitted points: the logged points of the curves with
 * role "fit" from their start step on (default: the end of the warmup),
 * evenly thinned to at most max_points per curve.  Parameters are searched
 * in a box (log scale for positive scales) with NLopt, from a data-driven
 * start and `starts − 1` random perturbations of it; the best optimum wins.
 *
 * Metrics (observed scale, over the scored points of one curve; the same
 * definitions as the multi-power-law paper):
 *   MAE   = mean |pred − obs|          RMSE  = sqrt(mean (pred − obs)²)
 *   PredE = mean |pred − obs|/obs      WorstE = max |pred − obs|/obs
 *   R²    = 1 − Σ(pred − obs)²/Σ(obs − mean obs)²
 *
 * Uncertainty (optional): `bootstrap` refits, each on the fitted points
 * re-weighted by a block bootstrap (each fit curve cut into `segments`
 * contiguous segments, drawn with replacement), started from the best fit;
 * the band at a step is the central `level` interval of the refits'
 * predictions.
 */
#ifndef SCHEDOPT_FIT_H
#define SCHEDOPT_FIT_H

#include <stddef.h>
#include "schedopt/error.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct schedopt_fit_metrics {
  size_t n;
  double r2, mae, rmse, prede, worste;
} schedopt_fit_metrics;

/* Metrics of pred against obs (n ≥ 1 points; R² is NaN when obs is flat). */
void schedopt_fit_metrics_compute(const double *obs, const double *pred, size_t n,
                                  schedopt_fit_metrics *m);

typedef enum schedopt_fit_algorithm {
  SCHEDOPT_FIT_LBFGS = 0,     /* NLopt LD_LBFGS with the exact gradient (default) */
  SCHEDOPT_FIT_MMA = 1,       /* NLopt LD_MMA with the exact gradient */
  SCHEDOPT_FIT_BOBYQA = 2,    /* NLopt LN_BOBYQA, derivative-free */
  SCHEDOPT_FIT_NELDERMEAD = 3 /* NLopt LN_NELDERMEAD, derivative-free */
} schedopt_fit_algorithm;

/* Name ("lbfgs", "mma", "bobyqa", "neldermead") and lookup (−1 if unknown). */
const char *schedopt_fit_algorithm_name(schedopt_fit_algorithm a);
int schedopt_fit_algorithm_find(const char *name);

typedef struct schedopt_fit_options {
  double huber_delta;     /* δ (default 1e-3) */
  int starts;             /* multi-start count ≥ 1 (default 8) */
  unsigned long seed;     /* random perturbations and bootstrap (default 1) */
  schedopt_fit_algorithm algorithm;
  int maxeval;            /* objective evaluations per start (default 3000) */
  double ftol_rel;        /* NLopt stopping tolerances (default 1e-10, 1e-8) */
  double xtol_rel;
  size_t max_points;      /* fitted points per curve (default 1000; 0 = all) */
  int bootstrap;          /* refits for the band (default 0 = none) */
  int segments;           /* bootstrap segments per fit curve (default 10) */
  double level;           /* band coverage (default 0.9) */
  schedopt_surrogate_method method; /* evaluation (default fast) */
  double tol;             /* exponential-sum accuracy (default 1e-9) */
} schedopt_fit_options;

void schedopt_fit_options_default(schedopt_fit_options *o);

typedef enum schedopt_curve_role {
  SCHEDOPT_CURVE_FIT = 0, /* fitted and scored */
  SCHEDOPT_CURVE_TEST = 1 /* held out: scored only */
} schedopt_curve_role;

typedef struct schedopt_fit schedopt_fit;

schedopt_status schedopt_fit_alloc(schedopt_fit **out, const schedopt_surrogate_type *T,
                                   schedopt_error *err);
void schedopt_fit_free(schedopt_fit *f);
const schedopt_surrogate_type *schedopt_fit_type(const schedopt_fit *f);

/* Add a curve (borrowed: it must outlive the fit; its schedule must be
 * known).  Points with step ≥ start_step are fitted/scored (NAN: the
 * curve's warmup); end_step bounds them above (NAN: no bound). */
schedopt_status schedopt_fit_add_curve(schedopt_fit *f, const schedopt_losscurve *c,
                                       schedopt_curve_role role, double start_step,
                                       double end_step, schedopt_error *err);

/* Per parameter: search box (inside the valid range), a start value that
 * replaces the data-driven one, or a fixed value (not fitted). */
schedopt_status schedopt_fit_set_bounds(schedopt_fit *f, const char *name, double lo,
                                        double hi, schedopt_error *err);
schedopt_status schedopt_fit_set_start(schedopt_fit *f, const char *name, double value,
                                       schedopt_error *err);
schedopt_status schedopt_fit_fix(schedopt_fit *f, const char *name, double value,
                                 schedopt_error *err);

/* Progress of schedopt_fit_run, reported after every objective evaluation
 * (e.g. for a progress line; the callback should be cheap or throttle
 * itself).  A nonzero return stops the fit: schedopt_fit_run then fails with
 * SCHEDOPT_ESOLVER ("stopped by the caller"). */
typedef struct schedopt_fit_progress {
  const char *stage; /* "start" (the multi-start fit) or "bootstrap" (the refits) */
  int k, n;          /* start (refit) k of n, 1-based */
  long evals;        /* objective evaluations so far, all stages */
  double best;       /* lowest objective of the stage so far: over the starts
                        run, or of the current refit (HUGE_VAL before one) */
  double seconds;    /* wall time since schedopt_fit_run began */
} schedopt_fit_progress;

typedef int (*schedopt_fit_progress_fn)(void *ctx, const schedopt_fit_progress *p);

/* fn (NULL: none) and its ctx, kept for later runs. */
void schedopt_fit_set_progress(schedopt_fit *f, schedopt_fit_progress_fn fn, void *ctx);

/* Fit (with opts; NULL = defaults), then score every curve. */
schedopt_status schedopt_fit_run(schedopt_fit *f, const schedopt_fit_options *opts,
                                 schedopt_error *err);
/* Score with given parameters instead of fitting (e.g. published values). */
schedopt_status schedopt_fit_evaluate(schedopt_fit *f, const double *theta,
                                      const schedopt_fit_options *opts, schedopt_error *err);

typedef struct schedopt_fit_summary {
  const double *theta;       /* best parameters (nparams) */
  const double *theta_sd;    /* bootstrap standard deviation, or NULL */
  double objective;          /* mean Huber loss at theta over the fitted points */
  size_t npoints;            /* fitted points */
  int starts;                /* starts run */
  int best_start;            /* which start won (0 = the data-driven one) */
  long evals;                /* objective evaluations, all starts and refits */
  double seconds;            /* wall time of the fit (without scoring) */
  double cpu_seconds;        /* CPU time of the process during the fit */
  double start_spread;       /* max relative spread of the final loss predicted by
                                the starts within 1e-3 of the best objective */
  int bootstrap;             /* refits done */
  const double *boot_theta;  /* their parameters (bootstrap × nparams), or NULL */
  const int *at_bound;       /* per parameter: −1 / +1 when the best point lies on the
                                lower / upper bound of its search box (the box, not the
                                data, pins it), 0 inside or fixed */
} schedopt_fit_summary;

void schedopt_fit_get_summary(const schedopt_fit *f, schedopt_fit_summary *s);

typedef struct schedopt_fit_curve {
  const schedopt_losscurve *curve;
  schedopt_curve_role role;
  double start_step, end_step;
  schedopt_fit_metrics metrics;     /* scored points, against the (smoothed) loss */
  schedopt_fit_metrics metrics_raw; /* the same points against the raw loss */
  const double *pred;               /* every logged point (NaN where T = 0) */
  const double *lo, *hi;            /* band, or NULL */
  const int *scored;                /* 1 for the scored points */
} schedopt_fit_curve;

/* A surrogate with the parameters of a fit result written by `schedopt fit`
 * (fit.json); *nboot receives the number of bootstrap refits stored with it
 * (may be NULL). */
schedopt_status schedopt_fit_load_result(const char *path, schedopt_surrogate **out,
                                         size_t *nboot, schedopt_error *err);

size_t schedopt_fit_ncurves(const schedopt_fit *f);
/* After run or evaluate. */
schedopt_status schedopt_fit_get_curve(const schedopt_fit *f, size_t i, schedopt_fit_curve *c,
                                       schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
