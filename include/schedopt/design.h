/* schedopt/design.h — learning-rate schedule design under a fitted loss-curve
 * surrogate (surrogate.h): the schedule η_0 … η_{K−1} that minimizes the
 * predicted final loss L(K−1) for a step or token budget.
 *
 * Constraints: a fixed warmup of W steps from 0 to the peak (linear,
 * η_k = peak·k/W as the controls of control.h define it, or cosine,
 * η_k = peak·(1 − cos(πk/W))/2), then floor ≤ η_k ≤ peak for k ≥ W, and
 * (by default) non-increasing after the warmup.
 *
 * Parametrizations of the post-warmup steps (n = K − W of them):
 *   knots  piecewise-linear through `knots` values at post-warmup positions
 *          (n−1)(1 − (1 − j/(knots−1))²), j = 0 … knots−1 (spacing refined
 *          toward the end, where decays happen); the default
 *   steps  every post-warmup step's η (the multi-power-law authors' setting)
 *   wsd    the WSD family: peak until step K(1 − f), then
 *          η = e + (peak − e)(1 − z)^p over the decay, z = (k − K(1−f))/(K f);
 *          f, p and the final value e ∈ [floor, peak] are tuned (and the peak,
 *          when tune_peak is set)
 * Monotone free forms are searched as η = floor + (peak − floor)·Π_{i≤j} r_i
 * with r_i ∈ [0, 1] (bounds only, so L-BFGS applies); others as η ∈ [floor, peak].
 * Gradients: schedopt_surrogate_grad_lr (exact, O(K) for the final loss),
 * then the chain rule.
 *
 * Baselines, tuned on the same surrogate, budget and constraints: constant
 * (the peak), cosine to the floor, and WSD with linear, cosine, 1−sqrt
 * (and, with a floor > 0, exponential) decays to the floor, each with its
 * decay fraction tuned (and its peak, with tune_peak).  The free form starts
 * from the best of them; `steps` contains every baseline exactly and so never
 * ends worse than one.
 *
 * Trainer families (set_trainers; trainer.h): each trainer's built-in
 * schedules, step by step as the trainer computes them (its own warmup
 * convention with the design's W), tuned on the same surrogate and budget:
 * the decay length D (integer steps: a grid, then golden section), the end
 * rate in [floor, peak) and, with tune_peak, the peak in [peak/10, peak].
 * The best of each trainer is the in-family optimum; its cost is its final
 * loss minus the free-form design's (the price of the restriction), with
 * the refits' paired costs when a band is set.
 */
#ifndef SCHEDOPT_LRDESIGN_H
#define SCHEDOPT_LRDESIGN_H

#include <stddef.h>
#include "schedopt/error.h"
#include "schedopt/surrogate.h"
#include "schedopt/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum schedopt_lrdesign_param {
  SCHEDOPT_LRDESIGN_KNOTS = 0,
  SCHEDOPT_LRDESIGN_STEPS = 1,
  SCHEDOPT_LRDESIGN_WSD = 2
} schedopt_lrdesign_param;

typedef enum schedopt_lrdesign_algorithm {
  SCHEDOPT_LRDESIGN_LBFGS = 0, /* NLopt LD_LBFGS (default) */
  SCHEDOPT_LRDESIGN_MMA = 1,   /* NLopt LD_MMA */
  SCHEDOPT_LRDESIGN_CCSAQ = 2  /* NLopt LD_CCSAQ */
} schedopt_lrdesign_algorithm;

typedef enum schedopt_warmup_shape {
  SCHEDOPT_WARMUP_LINEAR = 0,
  SCHEDOPT_WARMUP_COSINE = 1
} schedopt_warmup_shape;

/* Names ("knots", "steps", "wsd"; "lbfgs", "mma", "ccsaq"; "linear",
 * "cosine") and lookups (−1 if unknown). */
const char *schedopt_lrdesign_param_name(schedopt_lrdesign_param p);
int schedopt_lrdesign_param_find(const char *name);
const char *schedopt_lrdesign_algorithm_name(schedopt_lrdesign_algorithm a);
int schedopt_lrdesign_algorithm_find(const char *name);
const char *schedopt_warmup_shape_name(schedopt_warmup_shape s);
int schedopt_warmup_shape_find(const char *name);

#define SCHEDOPT_LRDESIGN_MAX_STEPS 10000000

typedef struct schedopt_lrdesign schedopt_lrdesign;

/* A design for surrogate s (borrowed: it must outlive the design).
 * Defaults: no budget (set one), peak 0 (set it), floor 0, no warmup,
 * knots (64), monotone, LBFGS, ftol_rel 1e-10, maxeval 3000, baselines on. */
schedopt_status schedopt_lrdesign_alloc(schedopt_lrdesign **out, const schedopt_surrogate *s,
                                      schedopt_error *err);
void schedopt_lrdesign_free(schedopt_lrdesign *d);

/* Budget: K steps (2 … 10^7), or a token budget: K = ⌊tokens/(batch·seq_len)⌋
 * (batch in sequences per step, seq_len in tokens per sequence). */
schedopt_status schedopt_lrdesign_set_steps(schedopt_lrdesign *d, size_t K, schedopt_error *err);
schedopt_status schedopt_lrdesign_set_tokens(schedopt_lrdesign *d, double tokens, double batch,
                                           double seq_len, schedopt_error *err);
/* peak > 0 (the largest η allowed; with tune_peak the peak of the schedule
 * is tuned in [peak/10, peak]); 0 ≤ floor < peak. */
schedopt_status schedopt_lrdesign_set_lr(schedopt_lrdesign *d, double peak, double floor,
                                       int tune_peak, schedopt_error *err);
/* W warmup steps (0 ≤ W < K − 1, checked at run). */
schedopt_status schedopt_lrdesign_set_warmup(schedopt_lrdesign *d, size_t W,
                                           schedopt_warmup_shape shape, schedopt_error *err);
/* knots: 2 … 4096 (knots only; capped at the post-warmup steps). */
schedopt_status schedopt_lrdesign_set_param(schedopt_lrdesign *d, schedopt_lrdesign_param p,
                                          size_t knots, int monotone, schedopt_error *err);
/* ftol_rel in [0, 1e-2]; maxeval ≥ 1 (evaluations of the design stage). */
schedopt_status schedopt_lrdesign_set_algorithm(schedopt_lrdesign *d, schedopt_lrdesign_algorithm a,
                                              double ftol_rel, int maxeval,
                                              schedopt_error *err);
void schedopt_lrdesign_set_baselines(schedopt_lrdesign *d, int on);
/* Tune the trainer types types[0..n) too (n ≤ 32; NULL/0: none, the
 * default).  The types are borrowed (the const tables of trainer.h). */
schedopt_status schedopt_lrdesign_set_trainers(schedopt_lrdesign *d,
                                             const schedopt_trainer_type *const *types, size_t n,
                                             schedopt_error *err);
/* Surrogate parameter sets (nboot × nparams, copied) whose final losses on
 * the designed schedule give the band: its central `level` interval. */
schedopt_status schedopt_lrdesign_set_band(schedopt_lrdesign *d, const double *boot, size_t nboot,
                                         double level, schedopt_error *err);

schedopt_status schedopt_lrdesign_run(schedopt_lrdesign *d, schedopt_error *err);

typedef struct schedopt_lrdesign_baseline {
  const char *name;  /* "constant", "cosine", "wsd-linear", "wsd-cosine", "wsd-sqrt",
                        "wsd-exponential" */
  double final_loss;
  double peak;       /* its peak (tuned with tune_peak) */
  double decay_frac; /* WSD: decay fraction of the K steps (tuned); else NAN */
  long evals;        /* evaluations spent tuning it */
  int contained;     /* the design's parametrization represents it exactly */
  const double *lr;  /* its K per-step values */
} schedopt_lrdesign_baseline;

typedef struct schedopt_lrdesign_trainer {
  schedopt_trainer_sched sched; /* the tuned schedule */
  double final_loss;
  double cost;             /* final_loss − the design's final loss */
  double cost_lo, cost_hi; /* central `level` interval of the refits' paired
                              costs (NAN without a band) */
  int best;                /* 1: the lowest final loss of its trainer */
  long evals;              /* evaluations spent tuning it */
  const double *lr;        /* its K per-step values */
} schedopt_lrdesign_trainer;

typedef struct schedopt_lrdesign_result {
  size_t steps;           /* K */
  size_t warmup;          /* W */
  double tokens_per_step; /* batch·seq_len, 0 for a step budget */
  const double *lr;       /* K per-step values of the design */
  const double *loss;     /* predicted loss after each step (NAN while T = 0) */
  double final_loss;      /* L(K−1) (the direct sum) */
  double band_lo, band_hi;/* band of the final loss, NAN without set_band */
  size_t nbaselines;
  const schedopt_lrdesign_baseline *baselines;
  int best_baseline;      /* index of the lowest baseline, −1 if none */
  double gain, gain_pct;  /* best baseline's final loss − final_loss, and in % of it */
  /* the gain against the band (set_band with nboot ≥ 2 and a best baseline;
   * else NAN, and gain_within_band −1): */
  double gain_band_half_width; /* (band_hi − band_lo)/2 */
  int gain_within_band;   /* 1: gain < the half-width, or the best baseline's
                             final loss inside [band_lo, band_hi]: the
                             refits' spread is as large as the gain; 0: not */
  double gain_lo, gain_hi;/* central `level` interval of the refits' own gains
                             (each parameter set's loss of the best baseline
                             minus its loss of the design: paired, so a shift
                             common to both cancels) */
  size_t ntrainers;       /* tuned trainer types (set_trainers), in its order */
  const schedopt_lrdesign_trainer *trainers;
  size_t beaten;          /* baselines below the design */
  size_t beaten_contained;/* … of which the design contains (a bug if > 0) */
  /* the wsd parametrization's values (NAN otherwise) */
  double wsd_decay_frac, wsd_power, wsd_end, wsd_peak;
  long evals;             /* objective evaluations, all stages */
  long design_evals;      /* … of the design stage */
  double cpu_seconds;     /* CPU time of the run */
  double seconds;         /* wall time of the run */
  const char *nlopt_result; /* NLopt's status of the design stage, e.g. "FTOL_REACHED" */
} schedopt_lrdesign_result;

/* After a successful run. */
schedopt_status schedopt_lrdesign_get_result(const schedopt_lrdesign *d, schedopt_lrdesign_result *r,
                                           schedopt_error *err);

/* After a successful run with a band (set_band with nboot ≥ 2): the band of
 * the predicted loss after each of steps[0..n−1] (strictly increasing, each
 * below K) of the designed schedule — the central `level` interval of the
 * parameter sets' predictions, by the fast evaluation, as `schedopt predict`
 * draws it — into lo and hi; NAN at steps where the intrinsic time is still
 * 0.  Costs one prediction per parameter set and nboot·n doubles. */
schedopt_status schedopt_lrdesign_band_at(const schedopt_lrdesign *d, const size_t *steps,
                                        size_t n, double *lo, double *hi, schedopt_error *err);

/* The final loss as the multi-power-law authors' schedule-optimization code
 * defines it (their published optimum for 100M, 24,000 steps, peak 3e-4,
 * warmup 2160 is 2.79414 in this convention): the warmup enters only through
 * its area S_W = peak·W/2, and the loss-drop sum runs over the post-warmup
 * steps η_0 … η_{n−1}:
 *   L = L0 + A·(S_W + Σ_i η_i)^−α − B Σ_i δ_i (1 − (1 + C η_i^−γ S_i)^−β),
 *   δ_0 = peak − η_0, δ_i = η_{i−1} − η_i, S_i = Σ_{j≥i} η_j (S_0 + S_W).
 * Its fitted counterpart (schedopt_surrogate_mpl on the whole schedule) also
 * sums the warmup's rises, about B·peak higher.  theta: the 7 mpl
 * parameters; geta (n, may be NULL) receives ∂L/∂η_i. */
schedopt_status schedopt_lrdesign_mpl_reference(const double *theta, const double *eta, size_t n,
                                              double peak, double warmup, double *loss,
                                              double *geta, schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
