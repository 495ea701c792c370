/* schedopt/optimize.h — optimal control of a training schedule.
 *
 * A *design* maps a decision vector x ∈ [lo, hi] ⊂ Rⁿ to a schedule: each
 * channel (lr, batch, momentum) is either fixed (the problem's control) or
 * parametrized (a const schedopt_parametrization_type, GSL-stepper style):
 *
 *   family    chosen parameters of the channel's control family are the
 *             decision variables (e.g. WSD: peak, decay_frac, delta, floor),
 *             the others stay as given.  The pseudo-parameter "gain"
 *             multiplies every value parameter (peak, floor, value, start,
 *             end; a table's scale): the shape is kept, the level varies.
 *             A variable may be optimized in log scale, x = log p.
 *   freeform  a table control through K knots (16 … 1024) whose values are
 *             the decision variables, piecewise linear (or constant).  Knot
 *             times (freeform_knots below) resolve both the start and the
 *             final anneal.  Optionally monotone after t_m (the warmup) by
 *             reparametrization, with x_i ∈ [0, 1] so bounds stay bounds:
 *               non-increasing  v_i = lo + (v_{i−1} − lo)·x_i,  v_{m−1} := hi
 *               non-decreasing  v_i = hi − (hi − v_{i−1})·x_i,  v_{m−1} := lo
 *
 * The objective J (integrator.h) and its gradient with respect to the control
 * parameters θ (schedopt_integrator_gradient) give ∇ₓJ = (∂θ/∂x)ᵀ ∇_θJ.
 *
 * The *optimizer* minimizes J over the box with NLopt (an algorithm by name;
 * LD_LBFGS by default) or, in one dimension, a grid scan refined by golden
 * section; a free-form learning rate under SGD with the final loss on an ODE
 * backend goes by default to NEWTON, a projected Newton method on a model
 * Hessian (schedopt_integrator_hessian_model).  Internally NLopt minimizes
 * log(J − J∞), J∞ = (σ² + approximation error)·Σw the schedule-independent
 * floor of the loss: the same minimizer, with tolerances relative to the
 * excess loss.  The best point evaluated is
 * returned, so the result is never worse than the start.
 *
 * *Baselines* are the standard schedules, each tuned on the same model,
 * budget and objective (constant, cosine, linear-to-zero, WSD with every
 * decay shape, power law, and the problem's own shape with its level tuned).
 *
 * An *optimization* runs a problem's `optimize:` section: baselines, the
 * optimum started from the best baseline projected onto the design (so it can
 * never be worse than a baseline the design contains: checked, reported), a
 * forward simulation of the result, and reports (CSV, JSON, text).
 */
#ifndef SCHEDOPT_OPTIMIZE_H
#define SCHEDOPT_OPTIMIZE_H

#include <stddef.h>
#include <stdio.h>
#include "schedopt/control.h"
#include "schedopt/error.h"
#include "schedopt/integrator.h"
#include "schedopt/problem.h"
#include "schedopt/schedule.h"
#include "schedopt/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- parametrizations ---------------------------------------------------- */

typedef struct schedopt_parametrization_type {
  const char *name; /* "family", "freeform" */
  const char *doc;
} schedopt_parametrization_type;

extern const schedopt_parametrization_type *const schedopt_parametrization_family;
extern const schedopt_parametrization_type *const schedopt_parametrization_freeform;
/* NULL-terminated list, and lookup by name (NULL if none). */
extern const schedopt_parametrization_type *const schedopt_parametrization_types[];
const schedopt_parametrization_type *schedopt_parametrization_type_find(const char *name);

typedef enum schedopt_monotone {
  SCHEDOPT_MONOTONE_NONE = 0,
  SCHEDOPT_MONOTONE_DECREASING = 1, /* non-increasing */
  SCHEDOPT_MONOTONE_INCREASING = 2  /* non-decreasing */
} schedopt_monotone;

#define SCHEDOPT_DESIGN_MAXVARY 12
#define SCHEDOPT_DESIGN_NAMELEN 32
#define SCHEDOPT_FREEFORM_MINKNOTS 16
#define SCHEDOPT_FREEFORM_MAXKNOTS 1024
#define SCHEDOPT_DESIGN_MAXREFINE 64

/* How one channel is optimized.  NAN means "default" wherever allowed. */
typedef struct schedopt_channel_param {
  const schedopt_parametrization_type *type; /* NULL: the channel stays fixed */
  /* Bounds on the value v(t).  Defaults: lo = 0 (lr, momentum) or 1 (batch);
   * hi = the largest value of the given control on [0, H]. */
  double lo, hi;
  /* family */
  size_t nvary;
  char vary[SCHEDOPT_DESIGN_MAXVARY][SCHEDOPT_DESIGN_NAMELEN]; /* names, "gain" */
  double vary_lo[SCHEDOPT_DESIGN_MAXVARY], vary_hi[SCHEDOPT_DESIGN_MAXVARY];
  int vary_log[SCHEDOPT_DESIGN_MAXVARY]; /* 1: x = log p; −1: default (gain only) */
  /* freeform */
  size_t knots;              /* default 64 */
  int step;                  /* 0: piecewise linear, 1: piecewise constant */
  schedopt_monotone monotone;
  double monotone_after;     /* clock time t_m; NAN: the given control's warmup */
  /* interior times in (0, H) toward which knots are refined as toward 0 and
   * H (e.g. the horizons of an anytime objective); increasing */
  size_t nrefine;
  double refine[SCHEDOPT_DESIGN_MAXREFINE];
} schedopt_channel_param;

void schedopt_channel_param_default(schedopt_channel_param *p);

/* Knot times of a freeform control on [0, H] (n ≥ 4 of them): 0, then ⌊n/2⌋−1
 * points p_1 = τ, p_{i+1} = p_i + max(τ, (r − 1) p_i) rising to H/2 (geometric
 * with ratio r, but at least τ apart; r solved so the last is H/2), then the
 * mirror image refined toward H: H − q_j for the ⌈n/2⌉−1 distances q_j < H/2
 * of the same construction, and H.  τ is one step (step clock) or one batch
 * (data clock).  If the horizon is too short for that (n·τ > H) the knots are
 * uniform.  With interior refinement points r_1 < … < r_m in (0, H) the rule
 * is applied to each of the m + 1 segments [0, r_1], …, [r_m, H] (the n − 1
 * knots after 0 shared out equally, at least 3 per segment). */
schedopt_status schedopt_freeform_knots(double H, double tau, size_t n, const double *refine,
                                        size_t nrefine, double *t, schedopt_error *err);

/* ---- designs -------------------------------------------------------------- */

typedef struct schedopt_design schedopt_design;

/* A design around `base` (copied; every channel fixed until set). */
schedopt_status schedopt_design_alloc(schedopt_design **out, const schedopt_schedule *base,
                                      schedopt_error *err);
void schedopt_design_free(schedopt_design *d);

/* Parametrize channel ch (replaces an earlier setting; p->type NULL fixes it
 * again).  Checks names, bounds and sizes. */
schedopt_status schedopt_design_set_channel(schedopt_design *d, schedopt_channel ch,
                                            const schedopt_channel_param *p,
                                            schedopt_error *err);

size_t schedopt_design_size(const schedopt_design *d);
/* Resolved settings of channel ch (bounds with defaults filled in); NULL type
 * if the channel is fixed. */
const schedopt_channel_param *schedopt_design_channel(const schedopt_design *d,
                                                      schedopt_channel ch);
/* Box of x (arrays of schedopt_design_size). */
void schedopt_design_bounds(const schedopt_design *d, double *lo, double *hi);
/* "lr.peak", "lr.log(peak)", "lr[12]" (freeform value), "lr.x[12]" (monotone
 * factor).  NULL out of range. */
const char *schedopt_design_var_name(const schedopt_design *d, size_t i);
/* Knot times of a freeform channel (NULL and n = 0 otherwise). */
const double *schedopt_design_knots(const schedopt_design *d, schedopt_channel ch, size_t *n);

/* The schedule for x: owned by d, valid until the next apply or eval. */
schedopt_status schedopt_design_apply(schedopt_design *d, const double *x,
                                      const schedopt_schedule **s, schedopt_error *err);
/* Nearest x to schedule s: family channels take s's parameters (s's control
 * must be of the same family, else SCHEDOPT_EINVAL), freeform channels sample
 * s at the knots; values are clamped into the box (and onto the monotone
 * set).  Fixed channels are ignored. */
schedopt_status schedopt_design_project(const schedopt_design *d, const schedopt_schedule *s,
                                        double *x, schedopt_error *err);
/* Chain rule: gx = (∂θ/∂x)ᵀ gθ, where gθ[ch] is ∂J/∂θ for channel ch's control
 * at x (schedopt_control_nparams order; unused for fixed channels). */
schedopt_status schedopt_design_chain(const schedopt_design *d, const double *x,
                                      double *const gtheta[SCHEDOPT_NCHANNELS], double *gx,
                                      schedopt_error *err);
/* J(x), and ∇J(x) in gx unless gx is NULL (schedopt_integrator_gradient +
 * chain rule). */
schedopt_status schedopt_design_eval(schedopt_design *d, schedopt_integrator *it,
                                     const schedopt_objective *obj, const double *x, double *J,
                                     double *gx, schedopt_error *err);
/* J(x), ∇J(x) and a positive-semidefinite-in-practice curvature diagonal hx
 * (schedopt_integrator_gradient_hdiag carried through the parametrization:
 * hx_i = Σ_j (∂θ_j/∂x_i)² hθ_j), the optimizer's diagonal preconditioner. */
schedopt_status schedopt_design_eval_hdiag(schedopt_design *d, schedopt_integrator *it,
                                           const schedopt_objective *obj, const double *x,
                                           double *J, double *gx, double *hx,
                                           schedopt_error *err);
/* J(x) and ∇J(x) by central differences of schedopt_integrator_objective with
 * steps h·(hi_i − lo_i) (one-sided, second order, at a bound): 2n + 1 solves.
 * For tests and for models without gradients. */
schedopt_status schedopt_design_eval_fd(schedopt_design *d, schedopt_integrator *it,
                                        const schedopt_objective *obj, const double *x,
                                        double h, double *J, double *gx, schedopt_error *err);

/* Optimizer steps of the schedule for x: the horizon on a step clock;
 * ∫₀ᴴ dτ / (B(τ)·units) on a data clock (adaptive 8-point Gauss–Legendre
 * between the batch control's knots, to 1e-13 relative), and ∂steps/∂x in gx unless gx
 * is NULL: −∫ (∂B/∂θ)/(B²·units) dτ through the chain rule (zero for every
 * variable but the batch channel's). */
schedopt_status schedopt_design_steps(schedopt_design *d, const double *x, double *steps,
                                      double *gx, schedopt_error *err);

/* ---- the optimizer -------------------------------------------------------- */

typedef struct schedopt_algorithm {
  const char *name;  /* NLopt's name ("LD_LBFGS") or "GOLDEN" */
  int nlopt;         /* the nlopt_algorithm value; −1 for GOLDEN */
  int gradient;      /* 1: uses ∇J */
  size_t min_dim, max_dim; /* max_dim 0: unlimited */
  const char *doc;
  int constraints;   /* 1: takes inequality constraints (the step cap) */
} schedopt_algorithm;

/* Supported algorithms, terminated by an entry with name NULL; lookup by name
 * (case-insensitive, the "NLOPT_" prefix optional).  GOLDEN: an 11-point grid
 * over the interval, then golden-section search in the best cell (1-D). */
extern const schedopt_algorithm schedopt_algorithms[];
const schedopt_algorithm *schedopt_algorithm_find(const char *name);

/* Called after every evaluation; a nonzero return stops the run
 * (SCHEDOPT_ESOLVER, "stopped by the caller"). */
typedef int (*schedopt_progress_fn)(void *ctx, const char *stage, long evals, double best_J,
                                    double seconds);

typedef struct schedopt_optimizer_settings {
  const schedopt_algorithm *algorithm; /* NULL: NEWTON where it applies, else LD_LBFGS
                                          (GOLDEN if n = 1, LD_MMA with a step cap) */
  double ftol_rel;   /* relative change of log(J − J∞) per iteration; 0 off */
  double xtol_rel;   /* relative change of x; 0 off */
  long maxeval;      /* per start; 0: no limit */
  double maxtime;    /* seconds for all starts together; 0: no limit */
  size_t starts;     /* ≥ 1: x0, then uniform points of the box (seeded) */
  unsigned long seed;
  int fd_gradient;   /* 1: central differences instead of the adjoint */
  double floor;      /* J∞; NAN: computed from one forward solve */
  schedopt_progress_fn progress;
  void *progress_ctx;
  const char *stage; /* label passed to progress */
  /* Wall-clock cap on a data clock: steps(x) = ∫₀ᴴ dτ / (B(τ)·units) ≤
   * max_steps, an NLopt inequality constraint with its analytic gradient
   * (schedopt_design_steps); needs an algorithm with constraints (LD_MMA,
   * LD_CCSAQ, LD_SLSQP, LN_COBYLA).  0: no cap.  The best *feasible* point
   * (steps ≤ max_steps·(1 + 1e-6)) is the result. */
  double max_steps;
  /* Diagonal preconditioning of gradient algorithms (1, the default): free-form
   * variables are scaled by the square root of their curvature,
   * schedopt_design_eval_hdiag divided by J − J∞, refreshed from the best point
   * at every restart of the algorithm; 0: the L² scaling √(K·w_k/H).  The
   * algorithm runs rescale_every evaluations at a time (default 25), each run
   * restarted from the best point with its curvature (a run also ends after
   * 12 evaluations without a gain), and stops when a run
   * improves J by less than the objective's accuracy (rtol·J with cvodes,
   * ftol_rel of the excess with the recursion): result FTOL_REACHED. */
  int precondition;
  long rescale_every;
  /* Continuation in the knots (preconditioned runs without a step cap): a
   * design whose free-form channels have more than 2·continuation knots is
   * first optimized with `continuation` knots (same placement rule) for at
   * most three runs (3·rescale_every evaluations, at loose_rtol), and the
   * fine stage starts from that optimum sampled at its knots if it beats x0.
   * Default 32; 0: off.  The evaluations of both stages count in the result. */
  size_t continuation;
  /* cvodes, preconditioned runs: the first start runs the integrator at
   * loose_rtol (if larger than its own rtol) until a run gains less than 4×
   * the stop threshold, then at rtol: the best point is evaluated again and
   * the stop rule applies from there (the result's J is always at rtol).
   * Default 1e-5; 0: off. */
  double loose_rtol;
} schedopt_optimizer_settings;

/* ftol_rel 1e-9, xtol_rel 1e-8, maxeval 2000, maxtime 0, starts 1, seed 1,
 * precondition 1, rescale_every 25, continuation 32, loose_rtol 1e-5. */
void schedopt_optimizer_settings_default(schedopt_optimizer_settings *s);

typedef struct schedopt_opt_result {
  double J;          /* best objective evaluated */
  double J_start;    /* objective at x0 */
  double *x;         /* best x (malloc'ed, n values) */
  size_t n;
  int code;          /* NLopt result of the start that found the best x */
  char code_name[32];/* "FTOL_REACHED", ...; GOLDEN: "XTOL_REACHED"/"MAXEVAL_REACHED" */
  const schedopt_algorithm *algorithm;
  long evals, grad_evals; /* objective evaluations (each with a gradient if an LD_ algorithm) */
  long hess_evals;   /* NEWTON: model Hessians (schedopt_integrator_hessian_model) */
  double seconds;
  size_t starts, best_start;
} schedopt_opt_result;

void schedopt_opt_result_free(schedopt_opt_result *r);

/* Minimize J over the design's box from x0 (NULL: the design's base schedule
 * projected).  Divergent schedules count as J = +∞. */
schedopt_status schedopt_design_optimize(schedopt_design *d, schedopt_integrator *it,
                                         const schedopt_objective *obj,
                                         const schedopt_optimizer_settings *set,
                                         const double *x0, schedopt_opt_result *res,
                                         schedopt_error *err);

/* ---- baselines ------------------------------------------------------------ */

typedef struct schedopt_baseline_type {
  const char *name; /* constant, cosine, linear, wsd, power, shape; megatron,
                       torchtitan, olmo_core, nanogpt, deepspeed; momentum;
                       exponential */
  const char *doc;  /* what is tuned */
  int opt_in;       /* 1: tuned only when asked for (optimize.baselines lists
                       it, or all): the trainers' built-in schedules */
} schedopt_baseline_type;

extern const schedopt_baseline_type *const schedopt_baseline_constant;
extern const schedopt_baseline_type *const schedopt_baseline_cosine;
extern const schedopt_baseline_type *const schedopt_baseline_linear;
extern const schedopt_baseline_type *const schedopt_baseline_wsd;
extern const schedopt_baseline_type *const schedopt_baseline_power;
extern const schedopt_baseline_type *const schedopt_baseline_shape;
/* A trainer's built-in schedules (trainer.h, the control family "trainer"):
 * every style of the trainer with the problem's warmup as its W, peak, end
 * rate and (integer) decay length tuned; the best style kept.  Step clock
 * and an integer horizon only. */
extern const schedopt_baseline_type *const schedopt_baseline_megatron;
extern const schedopt_baseline_type *const schedopt_baseline_torchtitan;
extern const schedopt_baseline_type *const schedopt_baseline_olmo_core;
extern const schedopt_baseline_type *const schedopt_baseline_nanogpt;
extern const schedopt_baseline_type *const schedopt_baseline_deepspeed;
/* A WSD learning rate (power anneal) with a constant heavy-ball momentum μ,
 * tuned jointly (schedopt_baseline_tune_momentum); run by an optimization
 * only when it optimizes the momentum channel. */
extern const schedopt_baseline_type *const schedopt_baseline_momentum;
extern const schedopt_baseline_type *const schedopt_baseline_exponential;
extern const schedopt_baseline_type *const schedopt_baseline_types[]; /* NULL-terminated */
const schedopt_baseline_type *schedopt_baseline_type_find(const char *name);

#define SCHEDOPT_BASELINE_MAXP 4

typedef struct schedopt_baseline {
  const schedopt_baseline_type *type;
  schedopt_control *control; /* the tuned control (owned) */
  schedopt_control *momentum; /* the tuned momentum (owned; NULL: the problem's) */
  char label[48];            /* "wsd (sqrt)", "shape (wsd)" */
  size_t np;                 /* tuned parameters */
  char pname[SCHEDOPT_BASELINE_MAXP][SCHEDOPT_DESIGN_NAMELEN];
  double pval[SCHEDOPT_BASELINE_MAXP];
  double J;
  long evals;
  double seconds;
} schedopt_baseline;

void schedopt_baseline_clear(schedopt_baseline *b);
/* The trainer schedule of a tuned trainer baseline (type, steps = H,
 * warmup, decay, peak, floor); SCHEDOPT_EINVAL for other baselines. */
schedopt_status schedopt_baseline_trainer_sched(const schedopt_baseline *b, double H,
                                               schedopt_trainer_sched *s, schedopt_error *err);

/* Tune baseline T for channel ch of `base` with values in [lo, hi] (hi is
 * the cap, e.g. η_max; the level is searched in log scale over [hi·1e-4, hi]).
 * Warmup and warmup_init of base's control are kept.  set supplies the
 * tolerances, time limit, progress and floor (its algorithm is ignored: under
 * the exact recursion the level is held at the cap where J rises just below
 * it and the rest tuned by Brent's line search or LN_BOBYQA; otherwise GOLDEN
 * for one parameter, LN_BOBYQA for more: optimize_baseline.c). */
schedopt_status schedopt_baseline_tune(const schedopt_baseline_type *T,
                                       const schedopt_schedule *base, schedopt_channel ch,
                                       double lo, double hi, schedopt_integrator *it,
                                       const schedopt_objective *obj,
                                       const schedopt_optimizer_settings *set,
                                       schedopt_baseline *out, schedopt_error *err);

/* The momentum family: a WSD learning rate with power anneal (peak in
 * [lo, hi], decay fraction, exponent δ ∈ [0.25, 8]) and a constant momentum
 * μ ∈ [0, mu_hi], tuned jointly in (log η/(1 − μ), log(1 − μ), decay
 * fraction, log δ) by LN_BOBYQA from the best of a grid over μ ∈ {0, 0.5,
 * 0.8, 0.9, 0.95, 0.97, 0.98, 0.99} (≤ mu_hi) and η/(1 − μ) ∈ {0.5 … 8}·hi.
 * out->control is the learning rate, out->momentum the momentum; pname/pval
 * are peak, mu, decay_frac, delta.  schedopt_baseline_tune with
 * schedopt_baseline_momentum calls this with mu_hi = 0.99. */
schedopt_status schedopt_baseline_tune_momentum(const schedopt_schedule *base, double lo,
                                                double hi, double mu_hi,
                                                schedopt_integrator *it,
                                                const schedopt_objective *obj,
                                                const schedopt_optimizer_settings *set,
                                                schedopt_baseline *out, schedopt_error *err);

/* ---- a problem's optimize: section ---------------------------------------- */

#define SCHEDOPT_OPT_MAXH 64
#define SCHEDOPT_OPT_MAXCONT 8

typedef struct schedopt_optimize_spec {
  /* objective (times in clock units) */
  schedopt_objective_kind objective;
  double t0, t1;     /* MEAN window */
  size_t nh;         /* HORIZONS */
  double h[SCHEDOPT_OPT_MAXH], w[SCHEDOPT_OPT_MAXH];
  /* what is optimized; no channel set means lr freeform with defaults */
  schedopt_channel_param channel[SCHEDOPT_NCHANNELS];
  schedopt_optimizer_settings settings;
  unsigned baselines; /* bit i: schedopt_baseline_types[i] */
  char output[4096];  /* output folder; "" none */
  /* Objective steps_to_target (objective FINAL): the shortest horizon H* ≤
   * the problem's budget whose optimized schedule reaches L(H*) ≤ target,
   * by bisection on log H with a full optimization at every H tried.  NAN:
   * off. */
  double target;
  /* Compute budget C = N·D: the model size N searched over [min, max] (a
   * grid of `points` in log N, then golden section on log N, each N a full
   * optimization with D = C/N) → N*, D*, L*.  max 0: off. */
  long model_size_min, model_size_max;
  size_t model_size_points;
  /* Starts of a joint optimization with a free-form momentum channel (the
   * joint landscape has several local optima): besides the default start
   * (the best of the problem's schedule and the learning-rate baselines) and
   * the tuned momentum family (baseline "momentum"), a continuation in the
   * momentum cap: the default start optimized with μ ≤ c_1, its optimum with
   * μ ≤ c_2, …, then with the channel's own cap.  Caps at or above it are
   * skipped; ncont 0: no continuation.  Default {0.9, 0.95}.  The best start
   * is the result; every start is reported. */
  size_t ncont;
  double cont[SCHEDOPT_OPT_MAXCONT];
} schedopt_optimize_spec;

/* One start of an optimization: what it started from, its objective there
 * and at its end, evaluations and seconds (all stages of a continuation). */
typedef struct schedopt_opt_start {
  char label[96];
  double J_start, J;
  long evals;
  double seconds;
} schedopt_opt_start;

/* Final loss, lr freeform (64 knots, linear, not monotone), the default
 * algorithm (NEWTON where it applies, else LD_LBFGS) and settings, all
 * baselines, no output folder, no outer search. */
void schedopt_optimize_spec_default(schedopt_optimize_spec *s);

/* The problem's `optimize:` section (defaults if absent), read from built
 * problem p.  schedopt_problem_build checked each plain key's type and
 * range; the nested parts (objective, controls, baselines, model sizes) and
 * their combinations are checked here, with located errors (file:line:col).
 * *spec is unchanged on error. */
schedopt_status schedopt_problem_optimize_spec(const schedopt_problem *p,
                                               schedopt_optimize_spec *spec,
                                               schedopt_error *err);

typedef struct schedopt_optimization schedopt_optimization;

/* Run spec on problem p (which must outlive the result). */
schedopt_status schedopt_optimization_run(schedopt_optimization **out,
                                          const schedopt_problem *p,
                                          const schedopt_optimize_spec *spec,
                                          schedopt_error *err);
void schedopt_optimization_free(schedopt_optimization *o);

const schedopt_opt_result *schedopt_optimization_result(const schedopt_optimization *o);
const schedopt_design *schedopt_optimization_design(const schedopt_optimization *o);
/* The optimal schedule. */
const schedopt_schedule *schedopt_optimization_schedule(const schedopt_optimization *o);
/* The optimum's final loss split as in schedule.csv — bias (what is left of
 * the initial error), variance (what noise puts back), approx (the unlearned
 * modes): loss = bias + variance + approx + σ².  0 (and NAN) when the model
 * has no split. */
int schedopt_optimization_final_split(const schedopt_optimization *o, double *bias,
                                      double *variance, double *approx);
size_t schedopt_optimization_nbaselines(const schedopt_optimization *o);
/* Baseline i, its objective projected onto the design (J of the nearest
 * design point; NAN if not representable) and whether the design contains it
 * (projection within 1e-6 of its removable loss J − J∞, plus 10·rtol·J with
 * the cvodes integrator: its accuracy). */
const schedopt_baseline *schedopt_optimization_baseline(const schedopt_optimization *o,
                                                        size_t i, double *J_projected,
                                                        int *contained);
/* The starts (one unless the momentum channel is free-form; see
 * schedopt_optimize_spec.cont) and start i (NULL out of range); the result
 * is the one with the lowest J. */
size_t schedopt_optimization_nstarts(const schedopt_optimization *o);
const schedopt_opt_start *schedopt_optimization_start(const schedopt_optimization *o, size_t i);
/* Baselines better than the optimum: all of them, and those the design
 * contains (the second must be 0: a nonzero count is reported as a failure). */
void schedopt_optimization_violations(const schedopt_optimization *o, size_t *beaten,
                                      size_t *contained_beaten);

/* Optimizer steps of the optimum (schedopt_design_steps). */
double schedopt_optimization_steps(const schedopt_optimization *o);
/* The outer search (spec.model_size or a steps_to_target objective): its kind
 * (0 none, 1 model size, 2 steps to target) and table in ascending x (model
 * sizes N, or budget amounts), with the objective, final loss and optimizer
 * steps of each case's optimum.  The result describes the chosen case: N*, or
 * the shortest budget reaching the target. */
int schedopt_optimization_outer(const schedopt_optimization *o, size_t *n, const double **x,
                                const double **J, const double **loss, const double **steps);
/* The problem of the chosen case (p itself without an outer search). */
const schedopt_problem *schedopt_optimization_problem(const schedopt_optimization *o);

/* Create the report folder `dir` if missing and check that it is writable
 * (so a bad place is reported before a long run). */
schedopt_status schedopt_optimization_prepare_dir(const char *dir, schedopt_error *err);
/* Reports: `dir` (created if missing) receives schedule.csv, baselines.csv,
 * summary.txt and summary.json, committed together: a failure leaves none
 * of the new files and every existing one as it was. */
schedopt_status schedopt_optimization_write(const schedopt_optimization *o, const char *dir,
                                            schedopt_error *err);
schedopt_status schedopt_optimization_write_text(const schedopt_optimization *o, FILE *f,
                                                 schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
