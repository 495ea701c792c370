/* optimize_impl.h — layouts and helpers shared by optimize_*.c (private). */
#ifndef SCHEDOPT_OPTIMIZE_IMPL_H
#define SCHEDOPT_OPTIMIZE_IMPL_H

#include "core/outfile.h"
#include "schedopt/optimize.h"

/* One parametrized channel: x[off .. off + nx) → the channel's control. */
typedef struct opt_chan {
  schedopt_channel_param p; /* resolved (bounds filled in) */
  size_t off, nx;
  schedopt_control *base;   /* the given control */
  schedopt_control *work;   /* the control for the current x */
  /* family: θ index of each variable (nparams order), −1 = gain */
  int idx[SCHEDOPT_DESIGN_MAXVARY];
  int logv[SCHEDOPT_DESIGN_MAXVARY];
  size_t ngain;                      /* value parameters scaled by gain */
  int gidx[SCHEDOPT_CONTROL_MAXP];
  double gbase[SCHEDOPT_CONTROL_MAXP];
  /* freeform */
  double *t;    /* K knot times */
  double *v;    /* K values for the current x */
  size_t m;     /* first monotone knot (K if none) */
} opt_chan;

struct schedopt_design {
  schedopt_schedule *base; /* the given schedule */
  schedopt_schedule *work; /* the schedule for the current x */
  double H;
  size_t n;
  opt_chan *ch[SCHEDOPT_NCHANNELS]; /* NULL: fixed */
  double *lo, *hi;
  double *scale; /* the optimizer works on z = scale ⊙ x (L² metric for knot values) */
  char (*names)[2 * SCHEDOPT_DESIGN_NAMELEN];
  double *gth[SCHEDOPT_NCHANNELS];   /* ∂J/∂θ workspace */
  size_t gth_n[SCHEDOPT_NCHANNELS];
  double *hth[SCHEDOPT_NCHANNELS];   /* curvature diagonal in θ (lazily allocated) */
  schedopt_channel_param fixed[SCHEDOPT_NCHANNELS]; /* type NULL */
};

/* A copy of s (momentum only if s has it). */
schedopt_status schedopt_opt_schedule_copy(schedopt_schedule **out, const schedopt_schedule *s,
                                  schedopt_error *err);
/* Largest value of c on [0, H] (knots and a dense grid). */
double schedopt_opt_control_max(const schedopt_control *c, double H);
/* One optimizer step (step clock) or one batch (data clock) at t = 0. */
double schedopt_opt_time_unit(const schedopt_schedule *s);
/* Seconds on a monotonic clock. */
double schedopt_opt_now(void);
/* A piece of an optimization's work, for a caller that schedules
 * optimizations on threads (the sweep): the OpenMP thread that ran it (its
 * number in the team), its start (schedopt_opt_now) and its CPU seconds on
 * that thread (CLOCK_THREAD_CPUTIME_ID, apart from other processes' load). */
typedef struct schedopt_opt_task {
  int thread;
  double start, cpu;
} schedopt_opt_task;
/* The baseline tunings of o's last run as tasks (*n, in the order of the
 * types), and the calling thread's CPU clock when it created them (*cpu0)
 * and when the last had ended (*cpu1), with the wall clock then (*wall1). */
const schedopt_opt_task *schedopt_optimization_tasks(const schedopt_optimization *o, size_t *n,
                                                     double *cpu0, double *cpu1, double *wall1);
/* J∞ = (σ² + approximation error)·Σw for obj, from one forward solve of s. */
schedopt_status schedopt_opt_floor(schedopt_integrator *it, const schedopt_schedule *s,
                          const schedopt_objective *obj, double *floor, schedopt_error *err);
/* Whether name is a value parameter of a family (scaled by "gain"). */
int schedopt_opt_is_value_param(const schedopt_control_type *T, const char *name);

/* The name of an NLopt result code ("FTOL_REACHED", …; "UNKNOWN"). */
const char *schedopt_nlopt_result_name(int code);

/* The report's file names (NULL-terminated), for callers that check them
 * before the run. */
extern const char *const schedopt_optimization_files[5];
/* schedopt_optimization_write's four files (schedule.csv, baselines.csv,
 * summary.txt, summary.json) opened and filled in set, for a caller that
 * commits them together with its own outputs. */
schedopt_status schedopt_optimization_write_set(const schedopt_optimization *o,
                                                schedopt_outset *set, const char *dir,
                                                schedopt_error *err);

#endif
