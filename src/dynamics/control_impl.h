/* control_impl.h — the layout of a control, shared by the library modules. */
#ifndef SCHEDOPT_CONTROL_IMPL_H
#define SCHEDOPT_CONTROL_IMPL_H

#include <stdio.h>

#include "schedopt/control.h"

/* Limits of a CSV table (docs/yaml.md, "Limits"): bytes read and data rows. */
#define SCHEDOPT_CSV_MAX_BYTES ((size_t)256 << 20) /* 256 MiB */
#define SCHEDOPT_CSV_MAX_ROWS 10000000

struct schedopt_control {
  const schedopt_control_type *type;
  double p[SCHEDOPT_CONTROL_MAXP]; /* family parameters, in type->params order */
  double warmup, warmup_init;
  /* Payload: table points (t_i, v_i), i < n; or multistep milestones t[0..n)
   * (fractions of H) and factors v[0..n]. */
  size_t n;
  double *t, *v;
};

/* Index of the family parameter `name` in T->params, or -1. */
int schedopt_control_param_index(const schedopt_control_type *T, const char *name);

/* "must be >= 0", "must be in [0, 1)", ... for a range (written to buf). */
const char *schedopt_range_text(char *buf, size_t cap, double lo, double hi,
                                int lo_open, int hi_open);

/* schedopt_control_load_csv from an open stream; `path` names it in
 * messages.  The file variant opens the file and calls this one. */
schedopt_status schedopt_control_load_csv_stream(schedopt_control *c, FILE *f,
                                                 const char *path, const char *tcol,
                                                 const char *vcol, schedopt_error *err);

#endif
