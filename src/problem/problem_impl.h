/* problem_impl.h — the layout of a problem (private). */
#ifndef SCHEDOPT_PROBLEM_IMPL_H
#define SCHEDOPT_PROBLEM_IMPL_H

#include "schedopt/optimize.h"
#include "schedopt/problem.h"
#include "core/yamlkv.h"

struct schedopt_problem {
  /* ---- input: the YAML entries, then the --set overrides ---- */
  ykv_list entries;
  char *source;   /* name of the loaded file or string; NULL if none */
  char *base_dir; /* folder of the loaded file (relative table paths); NULL */
  char *stem;     /* file name without folder and .yaml/.yml; NULL */

  /* ---- after build ---- */
  int built;
  char *name;        /* never NULL after build */
  char *output_file; /* NULL if none */
  schedopt_model *model;
  schedopt_schedule *schedule;
  const schedopt_integrator_type *integrator;
  double rtol, atol;
  long max_steps;
  schedopt_budget_kind budget;
  double amount;     /* the budget as given (steps, samples, tokens, compute) */
  double horizon;    /* H in clock units */
  double seq_len;    /* tokens per sample (1 unless a token budget) */
  double a, b, s, beta, sigma2;
  long modes;        /* N (plrf) or M (fsl) */
  double *times;     /* output clock times */
  size_t ntimes;

  /* ---- optimize: section (after build; NULL if absent) ---- */
  schedopt_optimize_spec *opt;

  /* ---- output.export, output.plot (after build) ---- */
  schedopt_problem_extras extras;
  char *plot_title; /* NULL: the default */
  char *export_loc; /* where output.export is */
};

/* Like schedopt_problem_load_string, but the text is the file `path` (its
 * name in messages, its folder for relative table files, its stem as the
 * default name). */
schedopt_status schedopt_problem_load_text(schedopt_problem *p, const char *text, size_t len,
                                  const char *path, schedopt_error *err);

/* The sweep: section, read from the entries (file and overrides) before the
 * problem is built: every key checked, located errors.  *present = 0 and
 * nothing allocated when there is no section. */
typedef struct problem_sweep {
  char key[128];   /* the dotted problem key each case sets */
  size_t n;        /* cases */
  double *x;       /* the values (rounded if asked) */
  char (*text)[64];/* the values as applied ("1000", "3162", "0.25") */
} problem_sweep;
schedopt_status schedopt_problem_sweep_read(const schedopt_problem *p, problem_sweep *sw, int *present,
                                   schedopt_error *err);
void schedopt_problem_sweep_free(problem_sweep *sw);

#endif
