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
      free(q->s[j].y2);
    }
    free(q->s);
    free(q->title);
    free(q->xlabel);
    free(q->ylabel);
  }
  for (size_t i = 0; i < p->nentries; i++) free(p->e[i].label);
  free(p->e);
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
  q->xlo = q->xhi = NAN;
  if (bad) {
    free(q->title), free(q->xlabel), free(q->ylabel);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if (panel) *panel = p->np;
  p->np++;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_plot_set_xrange(schedopt_plot *p, size_t panel, double lo, double hi,
                                         schedopt_error *err) {
  if (!p || panel >= p->np)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_set_xrange: no panel %zu", panel);
  plot_panel *q = &p->p[panel];
  if (!(isfinite(lo) && isfinite(hi) && lo < hi) || (q->xscale == SCHEDOPT_PLOT_LOG && !(lo > 0)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plot_set_xrange: [%g, %g] must be finite with lo < hi%s", lo, hi,
                              q->xscale == SCHEDOPT_PLOT_LOG ? " and lo > 0 (log axis)" : "");
  q->xlo = lo, q->xhi = hi;
  return SCHEDOPT_OK;
}

/* Index of label's legend entry, adding it (with a new colour) if new;
 * SIZE_MAX on failure. */
static size_t entry_index(schedopt_plot *p, const char *label) {
  for (size_t i = 0; i < p->nentries; i++)
    if (!strcmp(p->e[i].label, label)) return i;
  if (p->nentries == p->entcap) {
    size_t cap = p->entcap ? 2 * p->entcap : 8;
    plot_entry *e = realloc(p->e, cap * sizeof *e);
    if (!e) return (size_t)-1;
    p->e = e;
    p->entcap = cap;
  }
  plot_entry *e = &p->e[p->nentries];
  memset(e, 0, sizeof *e);
  if (!(e->label = strdup(label))) return (size_t)-1;
  e->color = p->ncolors++;
  e->ramp = -1;
  return p->nentries++;
}

/* Append a series (x, y and, for a band, y2 copied). */
static schedopt_status add_series(schedopt_plot *p, size_t panel, const char *label,
                                  const double *x, const double *y, const double *y2, size_t n,
                                  const schedopt_plot_style *style, schedopt_error *err) {
  if (!p || (n && (!x || !y)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_series: NULL argument");
  if (panel >= p->np)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plot_add_series: panel %zu does not exist (%zu panels)", panel,
                              p->np);
  const schedopt_plot_style def = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 0, 0};
  if (!style) style = &def;
  if ((unsigned)style->line > SCHEDOPT_PLOT_NOLINE ||
      (unsigned)style->marker > SCHEDOPT_PLOT_TRIANGLE)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_series: unknown line or marker");
  if (style->ramp && !(style->ramp_at >= 0 && style->ramp_at <= 1))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_series: ramp_at = %g is outside "
                              "[0, 1]", style->ramp_at);
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
  /* the colour: the label's own, or color_of's (a line beside its points) */
  size_t ent = 0, col = PLOT_NEUTRAL;
  if (!style->neutral) {
    size_t o = style->color_of ? entry_index(p, style->color_of) : 0;
    ent = o == (size_t)-1 ? o : entry_index(p, label);
    if (ent != (size_t)-1) {
      if (style->color_of && o != ent && p->e[ent].color + 1 == p->ncolors &&
          !p->e[ent].line && !p->e[ent].marker && !p->e[ent].band)
        p->ncolors--; /* a new entry: give back the colour it took */
      if (style->color_of && o != ent) p->e[ent].color = p->e[o].color;
      col = p->e[ent].color;
    }
  }
  s->color = col;
  s->ramp = style->ramp ? style->ramp_at : -1;
  s->line = style->line;
  s->marker = style->marker;
  s->label = strdup(label);
  s->x = malloc((2 * n + 1) * sizeof *s->x);
  if (y2) s->y2 = malloc((n + 1) * sizeof *s->y2);
  if (ent == (size_t)-1 || !s->label || !s->x || (y2 && !s->y2)) {
    free(s->label);
    free(s->x);
    free(s->y2);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu points", n);
  }
  s->y = s->x + n;
  if (n) {
    memcpy(s->x, x, n * sizeof *x);
    memcpy(s->y, y, n * sizeof *y);
    if (y2) memcpy(s->y2, y2, n * sizeof *y2);
  }
  s->n = n;
  q->ns++;
  if (!style->neutral) { /* what the legend entry shows: the union of its series */
    plot_entry *e = &p->e[ent];
    if (style->ramp && e->color + 1 == p->ncolors && !e->line && !e->marker && !e->band)
      p->ncolors--; /* a ramp colour: the palette's stays free */
    if (style->ramp) e->ramp = style->ramp_at;
    if (y2) e->band = 1;
    else if (style->line != SCHEDOPT_PLOT_NOLINE && !e->line) e->line = 1 + (int)style->line;
    if (!y2 && style->marker && !e->marker) e->marker = style->marker;
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_plot_add_series(schedopt_plot *p, size_t panel, const char *label,
                                         const double *x, const double *y, size_t n,
                                         schedopt_error *err) {
  return add_series(p, panel, label, x, y, NULL, n, NULL, err);
}

schedopt_status schedopt_plot_add_series_styled(schedopt_plot *p, size_t panel, const char *label,
                                                const double *x, const double *y, size_t n,
                                                const schedopt_plot_style *style,
                                                schedopt_error *err) {
  return add_series(p, panel, label, x, y, NULL, n, style, err);
}

schedopt_status schedopt_plot_add_band(schedopt_plot *p, size_t panel, const char *label,
                                       const double *x, const double *lo, const double *hi,
                                       size_t n, const schedopt_plot_style *style,
                                       schedopt_error *err) {
  if (n && !hi) return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_add_band: NULL argument");
  return add_series(p, panel, label, x, lo, hi, n, style, err);
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

/* The x range of the anneal panel: from where the first learning rate
 * leaves its plateau for good (below 95 % of its peak from there on),
 * limited to the last 25–50 % of the run, to the end (the last 25 % when no
 * schedule has a late anneal: *found = 0).  0 without losses. */
static int anneal_range(const schedopt_export_table *tabs, size_t n, double *lo, double *hi,
                        int *found) {
  double end = 0, start = INFINITY;
  for (size_t i = 0; i < n; i++)
    if (tabs[i].has_loss && tabs[i].n > 1) end = fmax(end, tabs[i].rows[tabs[i].n - 1].t);
  if (!(end > 0)) return 0;
  for (size_t i = 0; i < n; i++) {
    const schedopt_export_table *t = &tabs[i];
    double peak = 0;
    for (size_t k = 0; k < t->n; k++) peak = fmax(peak, t->rows[k].u.lr);
    size_t k = t->n;
    while (k > 0 && t->rows[k - 1].u.lr < 0.95 * peak) k--;
    double d = k < t->n ? t->rows[k].t : end;
    if (d >= 0.5 * end) start = fmin(start, d); /* a decay from the start is no anneal */
  }
  *found = isfinite(start);
  *lo = fmin(fmax(*found ? start : 0.75 * end, 0.5 * end), 0.75 * end);
  *hi = end;
  return *lo < *hi;
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
      {loss, F_EXCESS, {"excess loss (log\xe2\x80\x93log)", xlab, "L \xe2\x88\x92 \xcf\x83\xc2\xb2", SCHEDOPT_PLOT_LOG,
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
    if (panels[k].field != F_EXCESS) continue;
    /* the anneal on linear axes: on log axes it is the last few pixels */
    double lo, hi;
    int found;
    if (!anneal_range(tabs, n, &lo, &hi, &found)) continue;
    char zt[96];
    snprintf(zt, sizeof zt, found ? "excess loss, the anneal (last %.0f %%)"
                                  : "excess loss, the last %.0f %% (linear axes)",
             100 * (hi - lo) / hi);
    const schedopt_plot_axes za = {zt, xlab, "L \xe2\x88\x92 \xcf\x83\xc2\xb2", SCHEDOPT_PLOT_LINEAR,
                                   SCHEDOPT_PLOT_LINEAR};
    if ((st = schedopt_plot_add_panel(p, &za, &id, err)) ||
        (st = schedopt_plot_set_xrange(p, id, lo, hi, err)))
      return st;
    for (size_t i = 0; i < n; i++)
      if (tabs[i].has_loss && (st = add_table_series(p, id, &tabs[i], F_EXCESS, err))) return st;
  }
  return SCHEDOPT_OK;
}
