/* schedopt/export.h — schedule tables and what trainers read.
 *
 * A schedule table is a list of rows (schedopt_row, as schedopt_integrator_run
 * fills them): clock time t, optimizer steps taken, samples consumed, the
 * controls (lr, batch, momentum) and, optionally, the predicted loss.  Tokens
 * are samples × seq_len.  The exports turn a table into
 *
 *   csv       one row per table row (docs/exports.md has the columns)
 *   json      metadata + one array per column (jansson)
 *   pytorch   a Python module: lr_at(step) and lr_lambda(step) (the
 *             LambdaLR multiplier lr/peak), interpolating the table
 *             linearly in steps and clamped at its ends
 *   nanogpt   a get_lr(it) function for nanoGPT's train.py
 *   hf        a module for the Hugging Face Trainer: make_optimizers(model)
 *             returns (optimizer, LambdaLR) for Trainer(optimizers=...)
 *   megatron  Megatron-LM learning-rate flags, when a Megatron schedule
 *             (warmup, then constant / linear / cosine / WSD decay) matches
 *             the table; otherwise an error that names the nearest one
 *   torchtitan, olmo_core, deepspeed
 *             the PyTorch module plus the trainer's hook for a custom
 *             schedule: build_lr_schedulers (torchtitan), a Scheduler
 *             subclass (OLMo-core), an lr_scheduler callable (DeepSpeed)
 *
 * Exactness: the Python exports write the learning rate in closed form when
 * options.schedule names the schedule the table tabulates (a transcription
 * of its family, src/dynamics/control.c), else as the fewest breakpoints
 * (rows of the table) whose linear interpolation reproduces every row to
 * 1e-12 of the peak; the other columns as such breakpoints too.  A table
 * ends at the end of the horizon: its last row's step is the number of
 * optimizer steps the trainer performs (TOTAL_STEPS), the steps 0 … K − 1
 * use the rates of the rows before it.
 *
 * Step convention (the same in all of them and in the recursion): the
 * optimizer step with index k (0, 1, …) uses the controls at "k steps taken",
 * i.e. lr_at(k).  Python's LambdaLR, nanoGPT and Megatron count alike.
 */
#ifndef SCHEDOPT_EXPORT_H
#define SCHEDOPT_EXPORT_H

#include <stddef.h>
#include <stdio.h>
#include "schedopt/error.h"
#include "schedopt/integrator.h"
#include "schedopt/problem.h"
#include "schedopt/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A table and what it describes.  Rows are ordered by t (strictly
 * increasing), steps and samples non-decreasing; row i's controls are the
 * values at rows[i].t. */
typedef struct schedopt_export_table {
  const schedopt_row *rows;
  size_t n;
  int has_loss;            /* 1: rows[i].r holds the predicted loss */
  schedopt_clock clock;    /* the clock of rows[i].t */
  double seq_len;          /* tokens per sample (≥ 1) */
  const char *name;        /* problem name (NULL: "schedule") */
  const char *label;       /* what the table is: "schedule", "optimum",
                            * "baseline: cosine", … (NULL: "schedule") */
  const char *description; /* NULL: none */
  const schedopt_problem *problem; /* optional: model and budget for the
                                    * JSON header (must be built) */
} schedopt_export_table;

typedef enum schedopt_export_format {
  SCHEDOPT_EXPORT_CSV = 0,
  SCHEDOPT_EXPORT_JSON = 1,
  SCHEDOPT_EXPORT_PYTORCH = 2,
  SCHEDOPT_EXPORT_MEGATRON = 3,
  SCHEDOPT_EXPORT_NANOGPT = 4,
  SCHEDOPT_EXPORT_HF = 5,
  SCHEDOPT_EXPORT_TORCHTITAN = 6,
  SCHEDOPT_EXPORT_OLMO_CORE = 7,
  SCHEDOPT_EXPORT_DEEPSPEED = 8
} schedopt_export_format;
#define SCHEDOPT_EXPORT_NFORMATS 9

/* "csv", "json", "pytorch", "megatron", "nanogpt", "hf", "torchtitan",
 * "olmo_core", "deepspeed". */
const char *schedopt_export_format_name(schedopt_export_format f);
/* By name; SCHEDOPT_EINVAL (listing the names) if unknown. */
schedopt_status schedopt_export_format_find(const char *name, schedopt_export_format *f,
                                            schedopt_error *err);

typedef enum schedopt_megatron_units {
  SCHEDOPT_MEGATRON_AUTO = 0,   /* iterations if the batch is constant, else samples */
  SCHEDOPT_MEGATRON_ITERS = 1,  /* --train-iters, --lr-*-iters */
  SCHEDOPT_MEGATRON_SAMPLES = 2 /* --train-samples, --lr-*-samples */
} schedopt_megatron_units;

typedef struct schedopt_export_options {
  /* > 0: scale the learning rate so that its maximum is peak_lr (the shape
   * is what transfers from the theory; the peak is the user's); 0: as is. */
  double peak_lr;
  /* megatron: largest |lr_megatron − lr_table| / peak accepted over the
   * table rows; 0 means the default 0.02. */
  double tolerance;
  schedopt_megatron_units megatron_units;
  /* > 0: the trainer's batch size: the batch column is scaled so that its
   * largest value is `batch`, and samples (Σ of the batch over the steps
   * taken) and tokens with it; the steps stay.  0: as is. */
  double batch;
  /* > 0: tokens per sample for the tokens column (and Megatron's
   * --seq-length); 0: the table's seq_len. */
  double seq_len;
  /* Optional: the schedule the table tabulates (rows[i] its controls at
   * rows[i].t).  The Python exports then write its learning rate in closed
   * form, exact at every step for any horizon, when its family is built in
   * and a step is a fixed amount of clock (step clock, or a constant batch);
   * otherwise (NULL, a scheduled batch) the table's breakpoints. */
  const schedopt_schedule *schedule;
} schedopt_export_options;

/* peak_lr 0, tolerance 0.02, units auto, batch and seq_len as in the table. */
void schedopt_export_options_default(schedopt_export_options *o);

/* Check a table: n ≥ 1, finite values, t strictly increasing, steps and
 * samples non-decreasing, lr ≥ 0 with a positive maximum, batch > 0. */
schedopt_status schedopt_export_check(const schedopt_export_table *t, schedopt_error *err);

/* Write table t in format f to fp (o may be NULL: defaults). */
schedopt_status schedopt_export_write(FILE *fp, schedopt_export_format f,
                                      const schedopt_export_table *t,
                                      const schedopt_export_options *o, schedopt_error *err);
/* The same to a file, atomically (a temporary file renamed into place; a
 * failure leaves no file and an existing one untouched).  "-": stdout. */
schedopt_status schedopt_export_save(const char *path, schedopt_export_format f,
                                     const schedopt_export_table *t,
                                     const schedopt_export_options *o, schedopt_error *err);

/* The table's learning rate (after peak_lr scaling; o may be NULL) as the
 * fewest of its rows through which linear interpolation in steps
 * reproduces every row to 1e-12 of the peak: *n breakpoints (*step, *lr;
 * the caller frees both), the first and last rows among them. */
schedopt_status schedopt_export_lr_breakpoints(const schedopt_export_table *t,
                                               const schedopt_export_options *o, double **step,
                                               double **lr, size_t *n, schedopt_error *err);

/* ---- building a table from a problem ------------------------------------ */

/* Clock times at which to tabulate schedule s (caller frees *t).
 *   points = 0  every optimizer step (t = k on the step clock, t = k·B·seq_len
 *               on a data clock with a constant batch B), plus H, when that is
 *               at most SCHEDOPT_EXPORT_MAX_EVERY_STEP rows; else as points =
 *               SCHEDOPT_EXPORT_GRID
 *   points ≥ 2  a uniform grid 0, H/(points−1), …, H
 * Grids keep the kinks and jumps of the schedule for linear interpolation:
 * with a constant step size (step clock, or a constant batch) grid points
 * snap to step boundaries and every knot adds the boundaries on either side
 * of it; with a varying batch every knot is added and a jump also adds its
 * left limit (1e-9·H earlier). */
#define SCHEDOPT_EXPORT_MAX_EVERY_STEP 20001
/* SCHEDOPT_EXPORT_GRID and SCHEDOPT_EXPORT_MAX_POINTS: schedopt/problem.h
 * (the limits of output.export.points, checked when a problem is built). */
schedopt_status schedopt_export_times(const schedopt_schedule *s, size_t points, double **t,
                                      size_t *n, schedopt_error *err);

/* Run problem p's model with schedule s (NULL: the problem's own) and its
 * solver settings, and fill rows (room for n) at the times t[0..n)
 * (non-decreasing).  *nrows receives the number of distinct rows: the
 * recursion reports the first step boundary at or after each time, so
 * neighbouring times may share one.  Where steps and samples are exact
 * functions of t (step clock; data clock with a constant batch) they are set
 * exactly rather than by quadrature. */
schedopt_status schedopt_export_simulate(const schedopt_problem *p, const schedopt_schedule *s,
                                         const double *t, size_t n, schedopt_row *rows,
                                         size_t *nrows, schedopt_error *err);

/* ---- Megatron-LM -------------------------------------------------------- */

/* A Megatron-LM learning-rate schedule (OptimizerParamScheduler.get_lr):
 * linear warmup from init_lr to lr over `warmup` units, then per decay_style
 *   constant             lr
 *   linear, cosine       from lr to min_lr over (warmup, decay]
 *   WSD                  lr until decay − wsd_decay, then wsd_style (linear,
 *                        cosine, exponential: 2·0.5^z − 1, minus_sqrt: 1 − √z)
 *                        to min_lr at `decay`
 *   inverse-square-root  max(min_lr, lr·√(warmup/x))
 * and min_lr after `decay`.  Units are iterations or samples. */
typedef struct schedopt_megatron_fit {
  const char *decay_style; /* "constant", "linear", "cosine", "WSD", "inverse-square-root" */
  const char *wsd_style;   /* WSD: "linear", "cosine", "exponential", "minus_sqrt"; else NULL */
  double lr, min_lr, init_lr;
  double warmup, decay, wsd_decay, train; /* integers, in units */
  int samples;             /* 1: units are samples, 0: iterations */
  double batch;            /* samples per iteration (0 if it varies) */
  double max_dev;          /* max |lr_megatron − lr_table| / peak over the rows */
  double max_dev_at;       /* where (in units) */
} schedopt_megatron_fit;

/* The Megatron schedule nearest to the table's lr (after peak_lr scaling):
 * fills fit even when max_dev exceeds the tolerance. */
schedopt_status schedopt_export_megatron_fit(const schedopt_export_table *t,
                                             const schedopt_export_options *o,
                                             schedopt_megatron_fit *fit, schedopt_error *err);
/* Megatron's learning rate after x units (iterations or samples taken). */
double schedopt_megatron_lr(const schedopt_megatron_fit *fit, double x);

#ifdef __cplusplus
}
#endif
#endif
