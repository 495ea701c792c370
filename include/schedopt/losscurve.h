/* schedopt/losscurve.h — an observed training-loss curve and the per-step
 * learning rate that produced it.
 *
 * A loss log is a CSV file with a header row and the columns step, lr, loss
 * (more columns, e.g. tokens or batch, are allowed; tokens and batch are kept
 * when present).  Steps are integers, strictly increasing.
 *
 *   dense log   steps 0, 1, …, K−1 without gaps: the lr column is the
 *               per-step schedule η_0 … η_{K−1}.
 *   sparse log  any other step set (e.g. one row every 128 steps): the
 *               schedule must be given as a control (control.h), sampled at
 *               integer steps, η_k = v(k) for k = 0 … K−1 with K = last
 *               logged step + 1.
 *
 * Smoothing (for raw per-step logs): a centered rolling mean over `window`
 * consecutive rows (odd), truncated at both ends (the mean of the rows that
 * exist).  The smoothed curve is what a fit sees and what metrics score; the
 * raw losses stay available.
 */
#ifndef SCHEDOPT_LOSSCURVE_H
#define SCHEDOPT_LOSSCURVE_H

#include <stddef.h>
#include "schedopt/control.h"
#include "schedopt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct schedopt_losscurve schedopt_losscurve;

/* Read a loss log.  `name` labels the curve in outputs (NULL: the file name
 * without folder and extension).  Errors name file:line and the column. */
schedopt_status schedopt_losscurve_load_csv(schedopt_losscurve **out, const char *path,
                                            const char *name, schedopt_error *err);
/* A curve from arrays (n points; steps strictly increasing, ≥ 0; loss > 0).
 * lr may be NULL (then a schedule must be set). */
schedopt_status schedopt_losscurve_from_arrays(schedopt_losscurve **out, const char *name,
                                               size_t n, const double *step,
                                               const double *lr, const double *loss,
                                               schedopt_error *err);
void schedopt_losscurve_free(schedopt_losscurve *c);

/* Per-step schedule from a control on horizon H: η_k = v(k), k = 0 … K−1,
 * K = max(last logged step + 1, nsteps) (nsteps = 0: the log's length).
 * Replaces the lr column.  v must stay ≥ 0. */
schedopt_status schedopt_losscurve_set_schedule(schedopt_losscurve *c,
                                                const schedopt_control *lr, double H,
                                                size_t nsteps, schedopt_error *err);
/* Centered rolling mean over `window` rows (odd, ≥ 1; 1 = none). */
schedopt_status schedopt_losscurve_smooth(schedopt_losscurve *c, size_t window,
                                          schedopt_error *err);
/* Last step of the warmup (first step at which the schedule reaches its
 * first local maximum), set by set_schedule from the control's warmup, or
 * by hand: points with step < warmup are excluded from fits by default. */
void schedopt_losscurve_set_warmup(schedopt_losscurve *c, double warmup_steps);
double schedopt_losscurve_warmup(const schedopt_losscurve *c);

const char *schedopt_losscurve_name(const schedopt_losscurve *c);
/* 1 if the log itself is dense (its lr column is a per-step schedule). */
int schedopt_losscurve_dense(const schedopt_losscurve *c);
/* 1 once the per-step schedule is known (dense log or set_schedule). */
int schedopt_losscurve_has_schedule(const schedopt_losscurve *c);
size_t schedopt_losscurve_smoothing(const schedopt_losscurve *c); /* window, 1 = none */

/* Logged points: n of them; step, loss (smoothed if smoothing is on), raw
 * loss, the logged lr column; tokens and batch are NULL when absent. */
size_t schedopt_losscurve_npoints(const schedopt_losscurve *c);
const double *schedopt_losscurve_steps(const schedopt_losscurve *c);
const double *schedopt_losscurve_loss(const schedopt_losscurve *c);
const double *schedopt_losscurve_raw_loss(const schedopt_losscurve *c);
const double *schedopt_losscurve_logged_lr(const schedopt_losscurve *c);
const double *schedopt_losscurve_tokens(const schedopt_losscurve *c);
const double *schedopt_losscurve_batch(const schedopt_losscurve *c);

/* Per-step schedule η_0 … η_{K−1} (NULL before one is known). */
const double *schedopt_losscurve_lr(const schedopt_losscurve *c, size_t *K);

#ifdef __cplusplus
}
#endif
#endif
