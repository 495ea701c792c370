/* export_table.c — what every writer asks of a table: options, checks, the
 * peak and scale of its learning rate, its names and clock.  The dispatch
 * (export.c) calls the writers, and the writers call only this file, so
 * the calls go one way. */
#include <math.h>
#include <string.h>

#include "export/export_impl.h"

void schedopt_export_options_default(schedopt_export_options *o) {
  memset(o, 0, sizeof *o);
  o->tolerance = 0.02;
  o->megatron_units = SCHEDOPT_MEGATRON_AUTO;
}

double schedopt_export_lr_max(const schedopt_export_table *t) {
  double m = 0;
  for (size_t i = 0; i < t->n; i++) m = fmax(m, t->rows[i].u.lr);
  return m;
}

double schedopt_export_lr_scale(const schedopt_export_table *t, const schedopt_export_options *o) {
  double m = schedopt_export_lr_max(t);
  return (o && o->peak_lr > 0 && m > 0) ? o->peak_lr / m : 1.0;
}

int schedopt_export_batch_constant(const schedopt_export_table *t) {
  for (size_t i = 1; i < t->n; i++)
    if (t->rows[i].u.batch != t->rows[0].u.batch) return 0;
  return 1;
}

int schedopt_export_has_momentum(const schedopt_export_table *t) {
  for (size_t i = 0; i < t->n; i++)
    if (t->rows[i].u.momentum != 0) return 1;
  return 0;
}

const char *schedopt_export_name(const schedopt_export_table *t) {
  return t->name && *t->name ? t->name : "schedule";
}

const char *schedopt_export_label(const schedopt_export_table *t) {
  return t->label && *t->label ? t->label : "schedule";
}

const char *schedopt_export_clock_name(const schedopt_export_table *t) {
  if (t->clock == SCHEDOPT_CLOCK_STEPS) return "steps";
  if (t->problem) /* (seq_len may be a trainer's, not the budget's) */
    return schedopt_problem_budget(t->problem, NULL) == SCHEDOPT_BUDGET_TOKENS ? "tokens"
                                                                               : "samples";
  return t->seq_len > 1 ? "tokens" : "samples";
}

/* ---- checks ----------------------------------------------------------------- */

schedopt_status schedopt_export_check(const schedopt_export_table *t, schedopt_error *err) {
  if (!t || !t->rows || t->n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "export: empty table");
  if (!(t->seq_len >= 1) || !isfinite(t->seq_len))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "export: seq_len = %g must be >= 1",
                              t->seq_len);
  if (t->clock != SCHEDOPT_CLOCK_STEPS && t->clock != SCHEDOPT_CLOCK_DATA)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "export: unknown clock %d", (int)t->clock);
  for (size_t i = 0; i < t->n; i++) {
    const schedopt_row *r = &t->rows[i];
    double v[] = {r->t, r->step, r->samples, r->u.lr, r->u.batch, r->u.momentum,
                  t->has_loss ? r->r.loss : 0, t->has_loss ? r->r.excess : 0};
    for (size_t k = 0; k < sizeof v / sizeof *v; k++)
      if (!isfinite(v[k]))
        return schedopt_error_set(err, SCHEDOPT_EINVAL, "export: row %zu has a non-finite value",
                                  i);
    if (r->u.lr < 0 || !(r->u.batch > 0) || r->step < 0 || r->samples < 0)
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "export: row %zu: lr = %g, batch = %g, step = %g, samples = %g "
                                "(need lr >= 0, batch > 0, step and samples >= 0)",
                                i, r->u.lr, r->u.batch, r->step, r->samples);
    if (i && !(r->t > t->rows[i - 1].t))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "export: row %zu: t = %.15g is not after row %zu's t = %.15g", i,
                                r->t, i - 1, t->rows[i - 1].t);
    if (i && (r->step < t->rows[i - 1].step || r->samples < t->rows[i - 1].samples))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "export: row %zu: steps and samples must not decrease", i);
  }
  if (!(schedopt_export_lr_max(t) > 0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "export: the learning rate is zero in every row");
  return SCHEDOPT_OK;
}

/* ---- breakpoints ------------------------------------------------------------ */

/* Greedy longest segments: from anchor a, the segment to row j keeps every
 * row k in (a, j) of column c within tol[c] iff its slope
 * s = (y_j − y_a)/(x_j − x_a) lies in ∩_k [(y_k − tol − y_a)/(x_k − x_a),
 * (y_k + tol − y_a)/(x_k − x_a)]; the interval is updated as j advances, so
 * a row is examined O(1) times per anchor.  Breakpoints are rows, so the
 * values there are the rows' own. */
size_t schedopt_export_breakpoints(const double *x, const double *const *y, size_t ncol, size_t n,
                                   const double *tol, size_t *keep) {
  if (n == 0) return 0;
  size_t m = 0, a = 0;
  keep[m++] = 0;
  while (a + 1 < n) {
    size_t last = a + 1;
    double lo[8], hi[8];
    for (size_t c = 0; c < ncol && c < 8; c++) lo[c] = -INFINITY, hi[c] = INFINITY;
    for (size_t j = a + 1; j < n; j++) {
      const double dx = x[j] - x[a];
      int ok = dx > 0;
      for (size_t c = 0; c < ncol && c < 8 && ok; c++) {
        const double s = (y[c][j] - y[c][a]) / dx;
        ok = s >= lo[c] && s <= hi[c];
      }
      if (!ok) break;
      last = j;
      int open = 1; /* the rows up to j constrain the slopes of longer segments */
      for (size_t c = 0; c < ncol && c < 8; c++) {
        lo[c] = fmax(lo[c], (y[c][j] - tol[c] - y[c][a]) / dx);
        hi[c] = fmin(hi[c], (y[c][j] + tol[c] - y[c][a]) / dx);
        open &= lo[c] <= hi[c];
      }
      if (!open) break;
    }
    keep[m++] = a = last;
  }
  return m;
}
