/* schedopt/plot.h — SVG figures of schedules and loss curves.
 *
 * A figure is a title, a legend and a grid of panels (two per row); a panel
 * has axis labels, a linear or logarithmic scale per axis, and any number of
 * line series.  Series with the same label share their colour and one
 * legend entry across panels.  The writer is self-contained SVG 1.1 (text
 * in the SVG's sans-serif font, no scripts, no external references).
 *
 * schedopt_plot_tables draws the standard figure of one or more schedule
 * tables: learning rate against the clock (linear axes), the excess loss
 * L − σ² (log–log), and batch size and momentum when they vary.
 */
#ifndef SCHEDOPT_PLOT_H
#define SCHEDOPT_PLOT_H

#include <stddef.h>
#include <stdio.h>
#include "schedopt/error.h"
#include "schedopt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum schedopt_plot_scale {
  SCHEDOPT_PLOT_LINEAR = 0,
  SCHEDOPT_PLOT_LOG = 1
} schedopt_plot_scale;

typedef struct schedopt_plot_axes {
  const char *title;  /* panel title (NULL: none) */
  const char *xlabel; /* NULL: none */
  const char *ylabel;
  schedopt_plot_scale xscale, yscale;
} schedopt_plot_axes;

typedef struct schedopt_plot schedopt_plot;

/* An empty figure; title may be NULL. */
schedopt_status schedopt_plot_alloc(schedopt_plot **out, const char *title,
                                    schedopt_error *err);
void schedopt_plot_free(schedopt_plot *p);

/* Append a panel (strings are copied); *panel receives its index. */
schedopt_status schedopt_plot_add_panel(schedopt_plot *p, const schedopt_plot_axes *axes,
                                        size_t *panel, schedopt_error *err);
/* Append a line series to a panel (data copied).  Points with a non-finite
 * coordinate, or a coordinate ≤ 0 on a log axis, are left out and break the
 * line there. */
schedopt_status schedopt_plot_add_series(schedopt_plot *p, size_t panel, const char *label,
                                         const double *x, const double *y, size_t n,
                                         schedopt_error *err);

size_t schedopt_plot_npanels(const schedopt_plot *p);
/* Series in a panel (0 for an unknown panel). */
size_t schedopt_plot_nseries(const schedopt_plot *p, size_t panel);

/* The standard panels for tables (schedopt_export_check applies to each):
 * each table is one series, labelled by its label (or name).  Adds the
 * panels; call on a figure without panels. */
schedopt_status schedopt_plot_tables(schedopt_plot *p, const schedopt_export_table *tables,
                                     size_t n, schedopt_error *err);

schedopt_status schedopt_plot_write_svg(const schedopt_plot *p, FILE *fp, schedopt_error *err);
/* Atomically, like schedopt_export_save; "-" is stdout. */
schedopt_status schedopt_plot_save_svg(const schedopt_plot *p, const char *path,
                                       schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
