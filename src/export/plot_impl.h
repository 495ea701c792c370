/* plot_impl.h — the layout of a figure, shared by plot.c and plot_svg.c. */
#ifndef SCHEDOPT_PLOT_IMPL_H
#define SCHEDOPT_PLOT_IMPL_H

#include "schedopt/plot.h"

typedef struct plot_series {
  char *label;
  size_t color; /* index of the label in the figure's legend */
  size_t n;
  double *x, *y;
} plot_series;

typedef struct plot_panel {
  char *title, *xlabel, *ylabel;
  schedopt_plot_scale xscale, yscale;
  size_t ns, cap;
  plot_series *s;
} plot_panel;

struct schedopt_plot {
  char *title;
  size_t np, cap;
  plot_panel *p;
  size_t nlabels, labcap;
  char **labels; /* distinct series labels, in order of first appearance */
};

#endif
