/* control_impl.h — the layout of a control, shared by the library modules. */
#ifndef SCHEDOPT_CONTROL_IMPL_H
#define SCHEDOPT_CONTROL_IMPL_H

#include "schedopt/control.h"

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

#endif
