/* plot.c — figures: panels, series, and the standard figure of tables. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export_impl.h"
#include "export/plot_impl.h"

static char *dup_or_null(const char *s, int *bad) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *bad = 1;
  return d;
}

schedopt_status schedopt_plot_alloc(schedopt_plot **out, const char *title,
                                    schedopt_error *err) {
  if (!out) return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_alloc: NULL argument");
  int bad = 0;
  schedopt_plot *p = calloc(1, sizeof *p);
  if (p) p->title = dup_or_null(title, &bad);
  if (!p || bad) {
    free(p);
    *out = NULL;
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  *out = p;
  return SCHEDOPT_OK;
}

void schedopt_plot_free(schedopt_plot *p) {
  if (!p) return;
  for (size_t i = 0; i < p->np; i++) {
    plot_panel *q = &p->p[i];
    for (size_t j = 0; j < q->ns; j++) {
      free(q->s[j].label);
      free(q->s[j].x);
    }
    free(q->s);
    free(q->title);
    free(q->xlabel);
    free(q->ylabel);
  }
  for (size_t i = 0; i < p->nlabels; i++) free(p->labels[i]);
  free(p->labels);
  free(p->p);
  free(p->title);
  free(p);
}

size_t schedopt_plot_npanels(const schedopt_plot *p) { return p ? p->np : 0; }

size_t schedopt_plot_nseries(const schedopt_plot *p, size_t panel) {
  return p && panel < p->np ? p->p[panel].ns : 0;
}

schedopt_status schedopt_plot_add_panel(schedopt_plot *p, const schedopt_plot_axes *a,
                                        size_t *panel, schedopt_error *err) {
  if (!p || !a) return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_panel: NULL argument");
  if ((a->xscale != SCHEDOPT_PLOT_LINEAR && a->xscale != SCHEDOPT_PLOT_LOG) ||
      (a->yscale != SCHEDOPT_PLOT_LINEAR && a->yscale != SCHEDOPT_PLOT_LOG))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_panel: unknown axis scale");
  if (p->np == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 4;
    plot_panel *q = realloc(p->p, cap * sizeof *q);
    if (!q) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    p->p = q;
    p->cap = cap;
  }
  plot_panel *q = &p->p[p->np];
  memset(q, 0, sizeof *q);
  int bad = 0;
  q->title = dup_or_null(a->title, &bad);
  q->xlabel = dup_or_null(a->xlabel, &bad);
  q->ylabel = dup_or_null(a->ylabel, &bad);
  q->xscale = a->xscale;
  q->yscale = a->yscale;
  if (bad) {
    free(q->title), free(q->xlabel), free(q->ylabel);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if (panel) *panel = p->np;
  p->np++;
  return SCHEDOPT_OK;
}

/* Index of label in the legend, adding it if new; SIZE_MAX on failure. */
static size_t legend_index(schedopt_plot *p, const char *label) {
  for (size_t i = 0; i < p->nlabels; i++)
    if (!strcmp(p->labels[i], label)) return i;
  if (p->nlabels == p->labcap) {
    size_t cap = p->labcap ? 2 * p->labcap : 8;
    char **l = realloc(p->labels, cap * sizeof *l);
    if (!l) return (size_t)-1;
    p->labels = l;
    p->labcap = cap;
  }
  if (!(p->labels[p->nlabels] = strdup(label))) return (size_t)-1;
  return p->nlabels++;
}

schedopt_status schedopt_plot_add_series(schedopt_plot *p, size_t panel, const char *label,
                                         const double *x, const double *y, size_t n,
                                         schedopt_error *err) {
  if (!p || (n && (!x || !y)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_series: NULL argument");
  if (panel >= p->np)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plot_add_series: panel %zu does not exist (%zu panels)", panel,
                              p->np);
  if (!label) label = "";
  plot_panel *q = &p->p[panel];
  if (q->ns == q->cap) {
    size_t cap = q->cap ? 2 * q->cap : 4;
    plot_series *s = realloc(q->s, cap * sizeof *s);
    if (!s) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    q->s = s;
    q->cap = cap;
  }
  plot_series *s = &q->s[q->ns];
  memset(s, 0, sizeof *s);
  s->color = legend_index(p, label);
  s->label = strdup(label);
  s->x = malloc((2 * n + 1) * sizeof *s->x);
  if (s->color == (size_t)-1 || !s->label || !s->x) {
    free(s->label);
    free(s->x);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu points", n);
  }
  s->y = s->x + n;
  memcpy(s->x, x, n * sizeof *x);
  memcpy(s->y, y, n * sizeof *y);
  s->n = n;
  q->ns++;
  return SCHEDOPT_OK;
}

/* ---- the standard figure of tables ------------------------------------------ */

enum { F_LR, F_EXCESS, F_BATCH, F_MOMENTUM };

static double field(const schedopt_row *r, int f) {
  switch (f) {
  case F_LR: return r->u.lr;
  case F_EXCESS: return r->r.excess;
  case F_BATCH: return r->u.batch;
  default: return r->u.momentum;
  }
}

static schedopt_status add_table_series(schedopt_plot *p, size_t panel,
                                        const schedopt_export_table *t, int f,
                                        schedopt_error *err) {
  double *x = malloc(2 * t->n * sizeof *x);
  if (!x) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double *y = x + t->n;
  for (size_t i = 0; i < t->n; i++) {
    x[i] = t->rows[i].t;
    y[i] = field(&t->rows[i], f);
  }
  const char *label = t->label && *t->label ? t->label : schedopt_export_name(t);
  schedopt_status st = schedopt_plot_add_series(p, panel, label, x, y, t->n, err);
  free(x);
  return st;
}

schedopt_status schedopt_plot_tables(schedopt_plot *p, const schedopt_export_table *tabs,
                                     size_t n, schedopt_error *err) {
  if (!p || (n && !tabs))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_tables: NULL argument");
  if (p->np)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_tables: the figure has panels already");
  int loss = 0, batch = 0, mom = 0;
  schedopt_status st;
  for (size_t i = 0; i < n; i++) {
    if ((st = schedopt_export_check(&tabs[i], err))) {
      schedopt_error_prefix(err, "plot: table %zu: ", i);
      return st;
    }
    loss |= tabs[i].has_loss;
    batch |= !schedopt_export_batch_constant(&tabs[i]);
    mom |= schedopt_export_has_momentum(&tabs[i]);
  }
  /* the x axis counts the clock of the first table */
  const char *clock = n ? schedopt_export_clock_name(&tabs[0]) : "steps";
  char xlab[64];
  snprintf(xlab, sizeof xlab, "%s", clock);
  const struct {
    int on, field;
    schedopt_plot_axes ax;
  } panels[] = {
      {1, F_LR, {"learning rate", xlab, "\xce\xb7 (learning rate)", SCHEDOPT_PLOT_LINEAR,
                 SCHEDOPT_PLOT_LINEAR}},
      {loss, F_EXCESS, {"excess loss", xlab, "L \xe2\x88\x92 \xcf\x83\xc2\xb2", SCHEDOPT_PLOT_LOG,
                        SCHEDOPT_PLOT_LOG}},
      {batch, F_BATCH, {"batch size", xlab, "B (samples per step)", SCHEDOPT_PLOT_LINEAR,
                        SCHEDOPT_PLOT_LINEAR}},
      {mom, F_MOMENTUM, {"momentum", xlab, "\xce\xbc", SCHEDOPT_PLOT_LINEAR,
                         SCHEDOPT_PLOT_LINEAR}},
  };
  for (size_t k = 0; k < sizeof panels / sizeof *panels; k++) {
    if (!panels[k].on) continue;
    size_t id;
    if ((st = schedopt_plot_add_panel(p, &panels[k].ax, &id, err))) return st;
    for (size_t i = 0; i < n; i++) {
      if (panels[k].field == F_EXCESS && !tabs[i].has_loss) continue;
      if ((st = add_table_series(p, id, &tabs[i], panels[k].field, err))) return st;
    }
  }
  return SCHEDOPT_OK;
}
