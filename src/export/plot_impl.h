/* plot_impl.h — the layout of a figure, shared by plot.c and plot_svg.c. */
#ifndef SCHEDOPT_PLOT_IMPL_H
#define SCHEDOPT_PLOT_IMPL_H

#include "schedopt/plot.h"

#define PLOT_NEUTRAL ((size_t)-2) /* colour of reference lines: grey, no legend entry */

typedef struct plot_series {
  char *label;
  size_t color; /* palette index (PLOT_NEUTRAL: grey) */
  double ramp;  /* ≥ 0: the ramp's colour there instead */
  schedopt_plot_line line;
  schedopt_plot_marker marker;
  size_t n;
  double *x, *y;
  double *y2; /* a band: the upper edge (y the lower), else NULL */
} plot_series;

typedef struct plot_panel {
  char *title, *xlabel, *ylabel;
  schedopt_plot_scale xscale, yscale;
  double xlo, xhi; /* fixed x range (NAN: from the data) */
  size_t ns, cap;
  plot_series *s;
} plot_panel;

/* One legend entry: a label, its colour and what its series draw. */
typedef struct plot_entry {
  char *label;
  size_t color;
  double ramp;
  int line;   /* 0 none, else 1 + schedopt_plot_line of the first line series */
  schedopt_plot_marker marker;
  int band;
} plot_entry;

struct schedopt_plot {
  char *title;
  size_t np, cap;
  plot_panel *p;
  size_t nentries, entcap, ncolors;
  plot_entry *e; /* distinct series labels, in order of first appearance */
};

#endif
