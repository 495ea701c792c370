/* export_impl.h — the export layer's internals: the table helpers every
 * writer uses (export_table.c) and the writers that export.c dispatches to. */
#ifndef SCHEDOPT_EXPORT_IMPL_H
#define SCHEDOPT_EXPORT_IMPL_H

#include <stdio.h>
#include "schedopt/export.h"

/* ---- export_table.c ---- */

/* Factor applied to every lr of the table (peak_lr / max lr, or 1). */
double schedopt_export_lr_scale(const schedopt_export_table *t, const schedopt_export_options *o);
/* Largest lr of the table (unscaled). */
double schedopt_export_lr_max(const schedopt_export_table *t);
/* 1 if batch is the same in every row. */
int schedopt_export_batch_constant(const schedopt_export_table *t);
/* 1 if some row has a nonzero momentum. */
int schedopt_export_has_momentum(const schedopt_export_table *t);
const char *schedopt_export_name(const schedopt_export_table *t);
const char *schedopt_export_label(const schedopt_export_table *t);
/* "steps", "samples" or "tokens": what rows[i].t counts. */
const char *schedopt_export_clock_name(const schedopt_export_table *t);

/* The fewest rows (indices into keep, which has room for n; the first and
 * last always) such that linear interpolation in x between them reproduces
 * every row of the ncol (≤ 8) columns y[c] to within tol[c].  x strictly
 * increasing.  Returns the number of rows kept. */
size_t schedopt_export_breakpoints(const double *x, const double *const *y, size_t ncol, size_t n,
                                   const double *tol, size_t *keep);

/* ---- the writers (export.c dispatches to them) ---- */

schedopt_status schedopt_export_write_python(FILE *fp, schedopt_export_format f,
                                    const schedopt_export_table *t,
                                    const schedopt_export_options *o, schedopt_error *err);
schedopt_status schedopt_export_write_megatron(FILE *fp, const schedopt_export_table *t,
                                      const schedopt_export_options *o, schedopt_error *err);
schedopt_status schedopt_export_write_json(FILE *fp, const schedopt_export_table *t,
                                  const schedopt_export_options *o, schedopt_error *err);

#endif
