/* cli_figures.h — the figures of the LLM path: a fit against the observed
 * curves, and a design beside its tuned baselines (cli_figures.c).  Built
 * from plain arrays, so the commands that compute the results (fit,
 * design) and `schedopt plot DIR` on their output folders draw the same
 * figure. */
#ifndef SCHEDOPT_CLI_FIGURES_H
#define SCHEDOPT_CLI_FIGURES_H

#include <stddef.h>

#include "schedopt/error.h"
#include "schedopt/plot.h"
#include "schedopt/surrogate.h"

/* One logged curve and the surrogate's prediction at its points. */
typedef struct cli_fig_curve {
  const char *name;
  int held_out;                 /* role test: scored, not fitted */
  size_t n;
  const double *step, *lr;      /* lr may be NULL */
  const double *obs, *pred;     /* the loss scored against, and the prediction */
  const double *lo, *hi;        /* the prediction band, or NULL */
} cli_fig_curve;

/* Panels: the learning rate of every curve, observed loss (markers: filled
 * for fit curves, open for held-out ones) with the prediction (solid,
 * dashed when held out), and the residual observed − predicted. */
schedopt_status cli_fig_fit(schedopt_plot *fig, const cli_fig_curve *c, size_t n,
                            schedopt_error *err);

/* The same for a fit that has run (or been evaluated): every curve. */
struct schedopt_fit;
schedopt_status cli_fig_fit_of(schedopt_plot *fig, const struct schedopt_fit *f,
                               schedopt_error *err);

/* A schedule at the table rows. */
typedef struct cli_fig_sched {
  const char *name;
  const double *lr, *loss;
} cli_fig_sched;

typedef struct cli_fig_design {
  size_t n;
  const double *step;       /* table rows (steps) */
  cli_fig_sched design;
  const double *lo, *hi;    /* the design's prediction band, or NULL */
  size_t nb;
  const cli_fig_sched *b;   /* tuned baselines */
  size_t warmup;            /* steps */
} cli_fig_design;

/* Panels: learning rate; predicted loss after warmup with the design's
 * band; the anneal on linear axes (from where the schedules leave their
 * peak, within the last 10–50 % of the run); each baseline's predicted loss
 * minus the design's. */
schedopt_status cli_fig_design_build(schedopt_plot *fig, const cli_fig_design *d,
                                     schedopt_error *err);

/* The predicted loss of schedule lr (K steps) after each of rows[0..n)
 * (increasing): NAN where nothing has been learnt yet (Σ η = 0). */
schedopt_status cli_fig_predict(const schedopt_surrogate *s, const double *lr, size_t K,
                                const size_t *rows, size_t n, double *loss, schedopt_error *err);

/* What `schedopt plot` finds at path: 1 a fit output folder
 * (predictions.csv), 2 a design output folder (schedule.csv and
 * baselines.csv), 3 a sweep output folder (sweep.json), 0 anything else. */
int cli_fig_folder_kind(const char *path);
/* The figure of such a folder, from its files (*fig allocated; title NULL:
 * the folder's name). */
schedopt_status cli_fig_from_folder(const char *dir, const char *title, schedopt_plot **fig,
                                    schedopt_error *err);

#endif
