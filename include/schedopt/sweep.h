/* schedopt/sweep.h — a problem's optimization over a list of horizons or
 * budgets, and the scaling exponents it shows.
 *
 * A sweep problem is an ordinary problem file with a `sweep:` section
 * (docs/yaml.md, "sweep"):
 *
 *   sweep: {key: budget.steps, values: [1e3, 3e3, 1e4, 3e4, 1e5]}
 *   sweep: {key: budget.steps, from: 1e3, to: 1e5, points: 5}   # log-spaced
 *
 * Case i is the problem with `key = values[i]` applied last (after the
 * file and any overrides), and runs its `optimize:` section
 * (schedopt_optimization_run): the optimum and every tuned baseline.  The
 * final excess loss L − σ² of each schedule is fitted against the swept value
 * x in log-log scale by least squares, L − σ² ≈ C·x^(−ζ), and ζ is reported
 * beside the law the swept key follows (schedopt_sweep_law_get): the horizon
 * law of docs/theory.md §3 for budget.steps (best constant (a−1)/(a+b−1),
 * optimal schedule (a−1)/a easy, (a−1)/b hard), the same exponents in D for
 * a data budget at a fixed batch, the compute-optimal law of §3a for
 * budget.compute with optimize.model_size (L* − σ² ∝ C^−(a−1)/(a+1) easy,
 * C^−(a−1)/(b+1) hard; N* ∝ C^(1/(a+1)), C^(1/(b+1))), and none, with the
 * reason, for any other key.
 *
 * Cases are independent: schedopt_sweep_run_case may be called for different
 * cases from different threads at once (schedopt_sweep_run runs them on an OpenMP team).
 * Reports depend only on the results, never on timing or thread count.
 * A sharded run (K of N: cases i with i mod N = K − 1) writes a shard file;
 * schedopt_sweep_merge joins shard files into the full sweep.
 */
#ifndef SCHEDOPT_SWEEP_H
#define SCHEDOPT_SWEEP_H

#include <stddef.h>
#include <stdio.h>
#include "schedopt/error.h"
#include "schedopt/optimize.h"
#include "schedopt/plot.h"
#include "schedopt/problem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCHEDOPT_SWEEP_MAXCASES 10000
/* the optimum and up to 15 baselines: every baseline type (13) has its column */
#define SCHEDOPT_SWEEP_MAXSCHED 16
/* fitted slopes: every schedule, and the optimum's bias and variance parts */
#define SCHEDOPT_SWEEP_MAXSLOPES (SCHEDOPT_SWEEP_MAXSCHED + 2)
#define SCHEDOPT_SWEEP_NAMELEN 48
/* η* of a case's optimum at t/T = k/(SCHEDOPT_SWEEP_PROFILE − 1) */
#define SCHEDOPT_SWEEP_PROFILE 101

/* One schedule's result in one case. */
typedef struct schedopt_sweep_result {
  char name[SCHEDOPT_SWEEP_NAMELEN];  /* "optimum" or the baseline type ("wsd") */
  char label[SCHEDOPT_SWEEP_NAMELEN]; /* "optimum", "wsd (sqrt)", ... */
  double J;      /* objective (the final loss by default) */
  double excess; /* J − σ²·Σw */
} schedopt_sweep_result;

/* Where a case's time went (schedopt_sweep_run_case): its pieces of work,
 * each run by one thread — the case up to its baselines, each baseline's
 * tuning (an OpenMP task that any idle thread of the sweep's team may take),
 * the case after them (the optimum, the curves) — with that thread's CPU
 * seconds (CLOCK_THREAD_CPUTIME_ID: the work, apart from other processes'
 * load).  bench/bench_sweep replays them to measure a schedule's speed-up. */
#define SCHEDOPT_SWEEP_MAXTASKS 16
typedef enum schedopt_sweep_task_kind {
  SCHEDOPT_SWEEP_TASK_CASE = 0, /* until the baselines start (problem, floor) */
  SCHEDOPT_SWEEP_TASK_BASELINE, /* one baseline's tuning: after CASE */
  SCHEDOPT_SWEEP_TASK_OPTIMUM   /* after every BASELINE: the optimum, the curves */
} schedopt_sweep_task_kind;

typedef struct schedopt_sweep_task {
  schedopt_sweep_task_kind kind;
  int thread;   /* OpenMP thread number in the sweep's team (0 without) */
  double start; /* monotonic wall clock, seconds (any origin): the order */
  double cpu;   /* CPU seconds of that thread */
} schedopt_sweep_task;

typedef struct schedopt_sweep_case {
  size_t index;
  char value[64]; /* as applied: "key=value" */
  double x;       /* the value as a number (the abscissa of the fits) */
  int done;       /* 1 once run (successfully or not) */
  schedopt_status status;
  char message[SCHEDOPT_ERRMSG_LEN]; /* if status != OK */
  double a, b, sigma2;                /* model exponents (notes' notation), noise */
  long evals, grad_evals;             /* the optimum's optimizer */
  char code[32];                      /* NLopt's result by name */
  size_t contained_beaten;            /* contained baselines better than the optimum (bug) */
  size_t nres;
  schedopt_sweep_result res[SCHEDOPT_SWEEP_MAXSCHED]; /* [0] is the optimum */
  double horizon;                     /* T of the optimum, in its clock's units */
  double model_size;                  /* N* of a compute budget's model-size search
                                         (optimize.model_size), NAN otherwise */
  double lr_profile[SCHEDOPT_SWEEP_PROFILE]; /* η*(t) at t/T = k/100 (NAN: not known) */
  double bias, variance;              /* the optimum's final excess split (NAN: no split) */
  double seconds;                     /* wall time of the case (never written) */
  size_t ntasks;                      /* pieces of work (never written) */
  schedopt_sweep_task tasks[SCHEDOPT_SWEEP_MAXTASKS];
} schedopt_sweep_case;

/* A fitted exponent: L − σ² ≈ exp(intercept)·x^(−slope); for the model size
 * (schedopt_sweep_size_slope) N* ≈ exp(intercept)·x^(+slope). */
typedef struct schedopt_sweep_slope {
  char name[SCHEDOPT_SWEEP_NAMELEN];
  double slope, intercept;
  size_t points;  /* cases used (finite, positive excess) */
  double theory;  /* the law's prediction (schedopt_sweep_law), NAN if none */
  const char *theory_rule; /* "(a-1)/b, optimal schedule, hard phase", or NULL */
} schedopt_sweep_slope;

/* The scaling law a swept key follows (docs/theory.md §3 and §3a). */
typedef enum schedopt_sweep_law_kind {
  SCHEDOPT_SWEEP_LAW_NONE = 0, /* none derived for the key (why says so) */
  SCHEDOPT_SWEEP_LAW_HORIZON,  /* budget.steps: L_T − σ² ∝ T^−ζ */
  SCHEDOPT_SWEEP_LAW_DATA,     /* budget.samples, budget.tokens, budget.compute at a fixed
                                  N: D = B·T at a fixed batch, so the horizon's ζ in D */
  SCHEDOPT_SWEEP_LAW_COMPUTE   /* budget.compute with N searched: L* − σ² ∝ C^−ζ, N* ∝ C^ν */
} schedopt_sweep_law_kind;

typedef struct schedopt_sweep_law {
  schedopt_sweep_law_kind kind;
  const char *name;          /* "horizon", "data", "compute", "none" */
  const char *variable;      /* "T", "D", "C" (NULL for none) */
  const char *phase;         /* "easy" (b < a), "hard" (b > a), "boundary" */
  double optimum;            /* ζ of the optimal schedule, NAN if none */
  const char *optimum_rule;
  double constant;           /* ζ of the tuned constant baseline, NAN if none */
  const char *constant_rule;
  /* ζ of the tuned WSD and exponential-decay baselines (FSL Table 1, data
   * columns: the optimum's ζ, up to a power of log D for exponential decay and
   * for WSD in the easy phase — see log_wsd, log_exponential), NAN if none */
  double wsd, exponential;
  const char *wsd_rule, *exponential_rule;
  double log_wsd, log_exponential; /* κ of the factor (log x)^κ beside x^−ζ */
  /* ζ of the optimum's bias and variance parts: both (a−1)/a in the easy
   * phase (docs/theory.md §3b); (a−1)/b and (b−1)(a+b−1)/(b(2b−1)) in the
   * hard phase, where the shrinking anneal leaves a variance falling faster
   * than the bias (docs/validation.md, the balance argument); NAN if none */
  double bias, variance;
  const char *bias_rule, *variance_rule;
  double size;               /* ν of N* ∝ C^ν (compute), NAN otherwise */
  const char *size_rule;
  const char *why;           /* NONE: why there is no law; else what it leaves out, or NULL */
} schedopt_sweep_law;

/* The law of a sweep over `key` for exponents a, b (Bordelon–Mori
 * notation); size_searched: 1 if each case searched the model size
 * (optimize.model_size under a compute budget).  SCHEDOPT_EINVAL for NULL
 * arguments or a, b not > 1 (law->kind is then NONE). */
schedopt_status schedopt_sweep_law_get(const char *key, int size_searched, double a, double b,
                                       schedopt_sweep_law *law, schedopt_error *err);

/* Least-squares slope of log y against log x over the points with x > 0 and
 * y > 0 finite: returns −d log y / d log x (the decay exponent ζ), NAN with
 * fewer than two usable points or a single x.  *used and *intercept
 * (log y at x = 1) if non-NULL. */
double schedopt_loglog_slope(const double *x, const double *y, size_t n, double *intercept,
                             size_t *used);

typedef struct schedopt_sweep schedopt_sweep;

/* Read a sweep problem: the `sweep:` section is read here (unknown keys,
 * wrong types, bad values: located errors, SCHEDOPT_EINVAL), overrides
 * `sweep.*=…` apply to it and all others to every case, and every case's
 * problem is built and its optimize: section read (so bad input is reported
 * before anything runs). */
schedopt_status schedopt_sweep_load_file(schedopt_sweep **out, const char *path,
                                         const char *const *sets, size_t nsets,
                                         schedopt_error *err);
void schedopt_sweep_free(schedopt_sweep *s);

size_t schedopt_sweep_ncases(const schedopt_sweep *s);
const char *schedopt_sweep_key(const schedopt_sweep *s);
const char *schedopt_sweep_problem_name(const schedopt_sweep *s);
/* output.export / output.plot of the problem (of case 0; all zero after a
 * merge). */
void schedopt_sweep_get_extras(const schedopt_sweep *s, schedopt_problem_extras *x);
const schedopt_sweep_case *schedopt_sweep_get_case(const schedopt_sweep *s, size_t i);

/* Restrict to shard k of n (1 ≤ k ≤ n): cases i with i mod n = k − 1.  The
 * reports become a shard file.  n = 1 is the whole sweep. */
schedopt_status schedopt_sweep_set_shard(schedopt_sweep *s, size_t k, size_t n,
                                         schedopt_error *err);
/* 1 if case i belongs to this (shard of the) sweep. */
int schedopt_sweep_in_shard(const schedopt_sweep *s, size_t i);

/* A progress callback for the optimizations of the cases (NULL: none),
 * called from the thread running a case, with stages like "case 2
 * budget.steps=1000: baseline wsd"; it must be thread-safe when cases run
 * in parallel.  A nonzero return stops that case. */
void schedopt_sweep_set_progress(schedopt_sweep *s, schedopt_progress_fn fn, void *ctx);

/* Run case i (thread-safe for distinct i).  A failed run (divergence,
 * solver failure) is recorded in the case and returned. */
schedopt_status schedopt_sweep_run_case(schedopt_sweep *s, size_t i, schedopt_error *err);

/* Called by schedopt_sweep_run after each case, one call at a time, with
 * the case's status and message. */
typedef void (*schedopt_sweep_done_fn)(void *ctx, size_t i, schedopt_status st,
                                       const schedopt_error *err);

/* Run the cases of the shard (every case unsharded) on a team of `threads`
 * OpenMP threads (0: OpenMP's default; at most one per case; one without
 * OpenMP): the costliest first (the largest value of a budget key or
 * model.N), each case's baselines as tasks that threads done with their
 * cases take.  Results do not depend on the threads or the order.  *used:
 * the team's size; *failed: cases that failed (each records why).  done
 * may be NULL. */
schedopt_status schedopt_sweep_run(schedopt_sweep *s, int threads, schedopt_sweep_done_fn done,
                                   void *ctx, int *used, size_t *failed, schedopt_error *err);

/* The final excess of the schedule `name` in a case ("optimum" or a
 * baseline type), or of the optimum's bias or variance part ("optimum
 * bias", "optimum variance"); 1 if the case has it. */
int schedopt_sweep_case_value(const schedopt_sweep_case *c, const char *name, double *excess);

/* Fitted slopes of the optimum and of every baseline over the done cases,
 * then of the optimum's bias and variance parts where the model splits the
 * loss (*n of them, at most SCHEDOPT_SWEEP_MAXSLOPES). */
void schedopt_sweep_slopes(const schedopt_sweep *s, schedopt_sweep_slope *out, size_t *n);

/* The compute-optimal model size's growth N* ≈ exp(intercept)·x^slope over
 * the done cases that searched it, named "N*", with the law's ν as theory.
 * Returns 0 (and out->points = 0) when no case searched the model size. */
int schedopt_sweep_size_slope(const schedopt_sweep *s, schedopt_sweep_slope *out);

/* The law of this sweep (from its key and its first successful case; kind
 * NONE before any case has run). */
void schedopt_sweep_get_law(const schedopt_sweep *s, schedopt_sweep_law *law);

/* Reports.  A whole sweep writes DIR/sweep.csv (case,key,value,schedule,
 * label,objective,excess), DIR/sweep.json and DIR/summary.txt; a shard
 * writes DIR/sweep-shard-K-of-N.json only.  Committed together (a failure
 * leaves none of the new files); DIR created if missing. */
schedopt_status schedopt_sweep_write(const schedopt_sweep *s, const char *dir,
                                     schedopt_error *err);
schedopt_status schedopt_sweep_write_text(const schedopt_sweep *s, FILE *f,
                                          schedopt_error *err);

/* The scaling figure: L − σ² of the optimum and of every baseline against
 * the swept value on log–log axes, markers at the computed cases and the
 * fitted power law C·x^(−ζ) as a line, ζ in the legend, and the theory's
 * law (schedopt_sweep_law, where there is one) as a dashed line through the
 * optimum's middle case; for a compute sweep that searched the model size a
 * panel of N*(C) the same way; then a panel with the optimum's η*(t/T) of every
 * case overlaid, one colour per case, rescaled as the theory does: by
 * T^(1−b/a) in the easy phase (b < a), as is in the hard phase.  Adds two
 * or three panels to fig (one fewer when no case has a profile). */
schedopt_status schedopt_sweep_plot(const schedopt_sweep *s, schedopt_plot *fig,
                                    schedopt_error *err);

/* Join shard files (or folders holding them: every sweep-shard-*-of-*.json
 * inside) into the whole sweep.  They must come from the same problem (file
 * and overrides) and sweep, with the same shard count, and cover every case
 * exactly once (SCHEDOPT_EINVAL otherwise, naming the files). */
schedopt_status schedopt_sweep_merge(schedopt_sweep **out, const char *const *paths, size_t n,
                                     schedopt_error *err);

/* A whole sweep's DIR/sweep.json (written by schedopt sweep or merge) read
 * back: its cases, for the reports and the figure (schedopt_sweep_plot);
 * it cannot run cases.  SCHEDOPT_EINVAL naming the file when it is not one. */
schedopt_status schedopt_sweep_read(schedopt_sweep **out, const char *path, schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
