/* schedopt/plot.h — SVG figures of schedules and loss curves.
 *
 * A figure is a title, a grid of panels (two per row) and a legend in a
 * column to the right of the panels (never over the data); a panel has axis
 * labels, a linear or logarithmic scale per axis, an optional fixed x range
 * (a zoom) and any number of series: lines, markers, or shaded bands.
 * Series with the same label share their colour and one legend entry across
 * panels; a series may borrow another label's colour (a fitted line beside
 * its points).  The writer is self-contained SVG 1.1 (text in the SVG's
 * sans-serif font, no scripts, no external references).
 *
 * schedopt_plot_tables draws the standard figure of one or more schedule
 * tables: learning rate against the clock (linear axes), the excess loss
 * L − σ² (log–log overview), the loss on linear axes zoomed on the anneal
 * (where schedules differ), and batch size and momentum when they vary.
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

typedef enum schedopt_plot_line {
  SCHEDOPT_PLOT_SOLID = 0,
  SCHEDOPT_PLOT_DASHED = 1,
  SCHEDOPT_PLOT_DOTTED = 2,
  SCHEDOPT_PLOT_NOLINE = 3 /* markers only */
} schedopt_plot_line;

typedef enum schedopt_plot_marker {
  SCHEDOPT_PLOT_NOMARK = 0,
  SCHEDOPT_PLOT_DOT = 1,      /* filled circle */
  SCHEDOPT_PLOT_RING = 2,     /* open circle */
  SCHEDOPT_PLOT_SQUARE = 3,   /* filled square */
  SCHEDOPT_PLOT_TRIANGLE = 4  /* open triangle */
} schedopt_plot_marker;

/* How a series is drawn.  color_of: take the colour of that label (added to
 * the legend first if new) instead of a colour of the series' own; the
 * series keeps its own legend entry.  neutral: grey, no legend entry (a
 * reference line such as y = 0).  ramp: the colour at ramp_at in [0, 1] of
 * a sequential ramp (light to dark: an ordered family such as the horizons
 * of a sweep) instead of the palette. */
typedef struct schedopt_plot_style {
  schedopt_plot_line line;
  schedopt_plot_marker marker;
  const char *color_of;
  int neutral;
  int ramp;
  double ramp_at;
} schedopt_plot_style;

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

/* The same with a style (NULL: a solid line, as schedopt_plot_add_series).
 * Markers are drawn at the points, thinned to one per 3 px. */
schedopt_status schedopt_plot_add_series_styled(schedopt_plot *p, size_t panel, const char *label,
                                                const double *x, const double *y, size_t n,
                                                const schedopt_plot_style *style,
                                                schedopt_error *err);
/* A shaded band between lo and hi (a prediction band) in the colour of
 * label, with a legend entry "label" drawn as a patch. */
schedopt_status schedopt_plot_add_band(schedopt_plot *p, size_t panel, const char *label,
                                       const double *x, const double *lo, const double *hi,
                                       size_t n, const schedopt_plot_style *style,
                                       schedopt_error *err);
/* Fix the x range of a panel to [lo, hi] (a zoom: the y range then covers
 * the points inside it).  lo < hi, finite, and > 0 on a log axis. */
schedopt_status schedopt_plot_set_xrange(schedopt_plot *p, size_t panel, double lo, double hi,
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
