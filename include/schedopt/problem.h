/* schedopt/problem.h — a scenario: model, budget, schedules, solver, outputs.
 *
 * Problems come from YAML files (docs/yaml.md has the schema) and from dotted
 * key overrides ("model.b=2", "controls.lr.peak=0.5"), validated alike: every
 * error names its source (file:line:column, or the --set argument), the
 * offending value and the allowed range.
 *
 * Life cycle: alloc → load_file / load_string → set (any number) → build →
 * accessors → free.
 */
#ifndef SCHEDOPT_PROBLEM_H
#define SCHEDOPT_PROBLEM_H

#include <stddef.h>
#include "schedopt/error.h"
#include "schedopt/integrator.h"
#include "schedopt/model.h"
#include "schedopt/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum schedopt_budget_kind {
  SCHEDOPT_BUDGET_STEPS = 0,
  SCHEDOPT_BUDGET_SAMPLES = 1,
  SCHEDOPT_BUDGET_TOKENS = 2,
  SCHEDOPT_BUDGET_COMPUTE = 3  /* C = N·D (PLRF) */
} schedopt_budget_kind;

typedef struct schedopt_problem schedopt_problem;

schedopt_status schedopt_problem_alloc(schedopt_problem **out, schedopt_error *err);
void schedopt_problem_free(schedopt_problem *p);

/* Read a YAML problem.  Relative paths inside it (table files) are resolved
 * against the file's folder. */
schedopt_status schedopt_problem_load_file(schedopt_problem *p, const char *path,
                                           schedopt_error *err);
/* Same from memory; `name` is used in messages. */
schedopt_status schedopt_problem_load_string(schedopt_problem *p, const char *text,
                                             size_t len, const char *name,
                                             schedopt_error *err);
/* Override one key: "dotted.key=value" where value is a YAML scalar or flow
 * sequence ("[1, 2, 3]"). */
schedopt_status schedopt_problem_set(schedopt_problem *p, const char *assignment,
                                     schedopt_error *err);

/* Validate everything and build the model and schedule. */
schedopt_status schedopt_problem_build(schedopt_problem *p, schedopt_error *err);

/* ---- after build -------------------------------------------------------- */
/* Never NULL: the `name` key, else the file name without extension. */
const char *schedopt_problem_name(const schedopt_problem *p);
const char *schedopt_problem_description(const schedopt_problem *p); /* NULL if none */
const schedopt_model *schedopt_problem_model(const schedopt_problem *p);
const schedopt_schedule *schedopt_problem_schedule(const schedopt_problem *p);
const schedopt_integrator_type *schedopt_problem_integrator(const schedopt_problem *p);
void schedopt_problem_tolerances(const schedopt_problem *p, double *rtol, double *atol,
                                 long *max_steps);
schedopt_budget_kind schedopt_problem_budget(const schedopt_problem *p, double *amount);
/* Tokens per sample (1 unless a token budget set seq_len). */
double schedopt_problem_seq_len(const schedopt_problem *p);
/* Learned modes N (plrf) or M (fsl). */
long schedopt_problem_modes(const schedopt_problem *p);
/* Momentum under an ODE: the modes that keep all three heavy-ball states
 * (model.momentum_modes); N when every mode does, 0 without momentum. */
long schedopt_problem_momentum_modes(const schedopt_problem *p);
/* Exponents in both notations. */
void schedopt_problem_exponents(const schedopt_problem *p, double *a, double *b,
                                double *s, double *beta);
double schedopt_problem_sigma2(const schedopt_problem *p);
/* Output clock times (malloc'ed, caller frees) and file (NULL if none). */
schedopt_status schedopt_problem_output_times(const schedopt_problem *p, double **t,
                                              size_t *n, schedopt_error *err);
const char *schedopt_problem_output_file(const schedopt_problem *p);

/* Export tables (schedopt/export.h): the default grid when a schedule has
 * too many steps to list each, and the most rows a table may have. */
#define SCHEDOPT_EXPORT_GRID 2001
#define SCHEDOPT_EXPORT_MAX_POINTS 1000000

/* What `simulate`, `optimize` and `sweep` write besides their main output
 * (output.export and output.plot in docs/yaml.md). */
typedef struct schedopt_problem_extras {
  unsigned export_formats; /* bit f: schedopt_export_format f (export.h); 0: none */
  size_t export_points;    /* table rows: 0 every optimizer step (long runs: a
                              2001-point grid), else N grid points */
  double peak_lr;          /* > 0: the learning rate scaled to this peak; 0: as is */
  double batch;            /* > 0: the trainer's batch size (largest value); 0: the problem's */
  double seq_len;          /* > 0: tokens per sample; 0: the problem's */
  double tolerance;        /* megatron: accepted difference / peak; 0: the default */
  int megatron_units;      /* a schedopt_megatron_units value (export.h) */
  int plot;                /* 1: an SVG figure */
  size_t plot_points;      /* schedule resolution of the figure */
  const char *plot_title;  /* NULL: the default title (owned by the problem) */
  const char *export_loc;  /* "file:line:col" of output.export, for messages about
                              a table a format cannot express (owned by the problem) */
} schedopt_problem_extras;
/* After build (all zero before). */
void schedopt_problem_get_extras(const schedopt_problem *p, schedopt_problem_extras *x);

#ifdef __cplusplus
}
#endif
#endif
