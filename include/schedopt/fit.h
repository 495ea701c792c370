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
 *
 * Regularization (prior): a Gaussian prior on the parameters that the
 * curves pin only in combination (mpl: B, C, beta, gamma; fsl-llm: c3, c4,
 * gamma), centred on physically scaled values (the MPL paper's typical fit;
 * docs/surrogates.md), adds ρ·δ²/2·Σ_i z_i² to the objective (z_i: the
 * parameter's distance from the centre in prior widths, on a log scale for
 * scales).  ρ is chosen by cross-validation (default): leave one fit curve
 * out (with two or more fit curves), and leave the last third of the
 * horizon out (fit the first two thirds of every fit curve, score the
 * rest); the ρ of the grid with the smallest mean held-out MAE wins (the
 * largest within 2 % of it: the simplest model the data allow).
 *
 * Covariates (extrapolation): a curve may carry its model size N, its
 * tokens per step b and a run label.
 *   size laws      θ_i(N) = θ_i (N/N_ref)^κ_i           (power)
 *                  θ_i(N) = θ_i + κ_i ln(N/N_ref)         (log)
 *                  θ_i(N) = E + (θ_i − E)(N/N_ref)^κ_i    (shifted, E given)
 *                  with θ at the largest fitted size N_ref and κ_i fitted;
 *   tokens         the noise amplitude (mpl B, fsl-llm c2: the loss that the
 *                  learning rate's noise adds and a decay removes) scales as
 *                  ((b_ref − c)/(b − c))^ω, ω = 1 by default (SGD noise ∝ η/b),
 *                  c fitted when two or more batch sizes are fitted (SGD's
 *                  constant-lr noise floor is ∝ s/(b − s), s a sum over the
 *                  spectrum: the noise feeds back through the loss), else 0;
 *   run offsets    L0 + δ_r per run, Σ_r δ_r = 0 over the fitted runs (so an
 *                  unseen run is predicted at the mean level).
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

/* Most extended parameters (θ + run offsets + size exponents) and grid
 * points of the prior's cross-validation. */
#define SCHEDOPT_FIT_MAXX 64
#define SCHEDOPT_FIT_MAXGRID 8

typedef enum schedopt_size_law {
  SCHEDOPT_SIZE_NONE = 0,   /* the same at every size */
  SCHEDOPT_SIZE_POWER = 1,  /* θ (N/N_ref)^κ */
  SCHEDOPT_SIZE_LOG = 2,    /* θ + κ ln(N/N_ref) */
  SCHEDOPT_SIZE_SHIFTED = 3 /* E + (θ − E)(N/N_ref)^κ */
} schedopt_size_law;

/* Name ("none", "power", "log", "shifted") and lookup (−1 if unknown). */
const char *schedopt_size_law_name(schedopt_size_law l);
int schedopt_size_law_find(const char *name);

/* How θ depends on the covariates (stored with a fit result). */
typedef struct schedopt_fit_laws {
  int size_law[SCHEDOPT_SURROGATE_MAXP];      /* schedopt_size_law per parameter */
  double size_shift[SCHEDOPT_SURROGATE_MAXP]; /* E of a shifted law */
  double size_exp[SCHEDOPT_SURROGATE_MAXP];   /* κ (fitted) */
  double size_ref;                            /* N_ref (NAN: no size) */
  int noise_param;                            /* index of the noise amplitude, −1: none */
  double tokens_ref, tokens_exp;              /* b_ref (NAN: no tokens), ω */
  double tokens_offset;                       /* c (fitted or given; 0: none) */
} schedopt_fit_laws;

/* θ at model size N and tokens per step b (NAN: the reference) from θ_ref,
 * clamped into the parameters' valid ranges. */
schedopt_status schedopt_fit_laws_apply(const schedopt_surrogate_type *T,
                                        const schedopt_fit_laws *laws, const double *theta_ref,
                                        double N, double b, double *theta, schedopt_error *err);

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
  double prior;           /* prior strength ρ ≥ 0; NAN (default): chosen by cross-validation */
  int offsets;            /* 1: a level offset per run (default 0) */
  double tokens_exp;      /* ω of the tokens-per-step law (default 1) */
  double tokens_offset;   /* c of the tokens-per-step law; NAN (default): fitted when the fit
                             curves have two or more batch sizes, else 0 */
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

/* Covariates of curve i (in the order added): model size N > 0, tokens per
 * step > 0 (NAN: not given) and a run label (NULL: the curve's name; used
 * with options.offsets).  Fit curves must all give N (or none), and the same
 * for tokens. */
schedopt_status schedopt_fit_set_curve_info(schedopt_fit *f, size_t i, double model_size,
                                            double tokens_per_step, const char *run,
                                            schedopt_error *err);
/* The law of a parameter's dependence on model size (default: none). */
schedopt_status schedopt_fit_set_size_law(schedopt_fit *f, const char *name,
                                          schedopt_size_law law, double shift,
                                          schedopt_error *err);

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
  const char *stage; /* in this order: "cross-validation" (the prior's folds, k of
                        at most n), "start" (the multi-start fit to a loose
                        tolerance), "polish" (the best starts to the full
                        tolerance), "bootstrap" (the refits) */
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
  const int *at_bound;       /* per extended parameter: −1 / +1 when the best point lies
                                on the lower / upper bound of its search box (the box, not
                                the data, pins it), 0 inside or fixed */
  /* extended parameters: theta[nparams .. nparams + nextra) are the run
   * offsets and the size exponents, named by names[] (all nparams + nextra) */
  size_t nextra;
  const char *const *names;
  const double *boot_extra;  /* the refits' extras (bootstrap × nextra), or NULL */
  const schedopt_fit_laws *laws; /* covariate laws with the fitted exponents */
  const char *const *runs;   /* labels of the offsets' runs (noffsets + 1), or NULL */
  int noffsets;
  /* regularization */
  double prior;              /* ρ used */
  size_t ngrid;              /* cross-validation grid (0: ρ was given) */
  const double *grid, *cv_error; /* ρ values, mean held-out MAE of each */
  int folds;
  /* identifiability (Gauss–Newton Hessian of the objective in the search
   * variables at the optimum): condition number, and the direction it is
   * flattest along (unit vector over the free extended parameters, 0 for
   * fixed ones) */
  double condition;
  const double *weakest;
  /* what the fit saw, over its fit curves: [min, max] of the peak lr, the
   * schedule length, tokens per step, model size (NAN when not given) */
  const double (*range)[2];
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
