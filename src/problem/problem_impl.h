/* problem_impl.h — the layout of a problem (private). */
#ifndef SCHEDOPT_PROBLEM_IMPL_H
#define SCHEDOPT_PROBLEM_IMPL_H

#include "core/yamlkv.h"
#include "problem/schema.h"
#include "schedopt/problem.h"

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
  long mom_modes;    /* schedopt_problem_momentum_modes */
  double *times;     /* output clock times */
  size_t ntimes;

  /* ---- every key's value, validated (after build): the optimize:
   * section's reader takes its values from here ---- */
  schedopt_settings S;

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

/* A copy of built problem p with the --set overrides `sets` applied, built
 * (the optimizer's outer searches vary model.N or the budget this way). */
schedopt_status schedopt_problem_variant(const schedopt_problem *p, const char *const *sets,
                                         size_t nsets, schedopt_problem **out,
                                         schedopt_error *err);

#endif
