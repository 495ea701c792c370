/* sweep_impl.h — the sweep object shared by sweep.c and sweep_io.c
 * (private). */
#ifndef SCHEDOPT_SWEEP_IMPL_H
#define SCHEDOPT_SWEEP_IMPL_H

#include "core/outfile.h"
#include "schedopt/optimize.h"
#include "schedopt/problem.h"
#include "schedopt/sweep.h"

struct schedopt_sweep {
  char *text;   /* the problem file (NULL after a merge) */
  size_t len;
  char *source; /* its name: messages, relative table files, the default name */
  char **sets;  /* the overrides, in order (sweep.* ones included) */
  size_t nsets;
  char name[256]; /* problem name */
  char key[128];
  size_t n;
  schedopt_sweep_case *cases;
  char fp_problem[17], fp_sweep[17];
  schedopt_problem_extras extras; /* of case 0; plot_title points at title */
  char title[512];
  schedopt_progress_fn progress; /* NULL: none */
  void *progress_ctx;
  size_t shard_k, shard_n;
};

schedopt_status schedopt_sweep_alloc(schedopt_sweep **out, size_t n, schedopt_error *err);
schedopt_status schedopt_sweep_build_case(const schedopt_sweep *s, size_t i, schedopt_problem **out,
                                 schedopt_optimize_spec *spec, schedopt_error *err);

/* The sweep: section, read from the entries (file and overrides) before the
 * problem is built (sweep/sweep_spec.c): every key checked, located errors.  *present = 0 and
 * nothing allocated when there is no section. */
typedef struct sweep_spec {
  char key[128];   /* the dotted problem key each case sets */
  size_t n;        /* cases */
  double *x;       /* the values (rounded if asked) */
  char (*text)[64];/* the values as applied ("1000", "3162", "0.25") */
} sweep_spec;
schedopt_status schedopt_sweep_spec_read(const schedopt_problem *p, sweep_spec *sw, int *present,
                                   schedopt_error *err);
void schedopt_sweep_spec_free(sweep_spec *sw);

/* A whole sweep's file names (NULL-terminated) and a shard's file name, for
 * callers that check them before the run. */
extern const char *const schedopt_sweep_files[4];
void schedopt_sweep_shard_name(size_t k, size_t n, char *buf, size_t cap);
/* schedopt_sweep_write's files opened and filled in set, for a caller that
 * commits them together with its own outputs (the figure). */
schedopt_status schedopt_sweep_write_set(const schedopt_sweep *s, schedopt_outset *set,
                                         const char *dir, schedopt_error *err);

/* A case's start on its thread (thread CPU, wall clock, thread number),
 * and at its end the case's task records from it and the optimization's
 * baseline tasks (sweep_run.c). */
typedef struct sweep_clock {
  double cpu, wall;
  int thread;
} sweep_clock;
void schedopt_sweep_clock_start(sweep_clock *k);
void schedopt_sweep_clock_stop(schedopt_sweep_case *c, const schedopt_optimization *o,
                               const sweep_clock *k);

#endif
