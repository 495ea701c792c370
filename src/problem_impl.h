/* problem_impl.h — the layout of a problem (private). */
#ifndef SCHEDOPT_PROBLEM_IMPL_H
#define SCHEDOPT_PROBLEM_IMPL_H

#include "schedopt/optimize.h"
#include "schedopt/problem.h"
#include "yamlkv.h"

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
};

#endif
