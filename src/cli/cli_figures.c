/* cli_figures.c — the fit and design figures (cli_figures.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_figures.h"
#include "core/infile.h"
#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/sweep.h"

#define MAX_MARKS 60 /* markers per curve: enough to see, few enough to read */

static const char *const Y_LR = "\xce\xb7 (learning rate)";

static schedopt_status oom(schedopt_error *err) {
  return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
}

/* Every ⌈n/m⌉-th point (and the last) of x, y into xs, ys; returns the count. */
static size_t thin(const double *x, const double *y, size_t n, size_t m, double *xs, double *ys) {
  size_t every = n > m ? (n + m - 1) / m : 1, k = 0;
  for (size_t i = 0; i < n; i++)
    if (i % every == 0 || i + 1 == n) xs[k] = x[i], ys[k++] = y[i];
  return k;
}

/* ---- fit against observed --------------------------------------------------------- */

schedopt_status cli_fig_fit(schedopt_plot *fig, const cli_fig_curve *c, size_t n,
                            schedopt_error *err) {
  if (!fig || (n && !c)) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit figure: NULL");
  size_t maxn = 1;
  int lr = 0;
  for (size_t i = 0; i < n; i++) maxn = c[i].n > maxn ? c[i].n : maxn, lr |= c[i].lr != NULL;
  double *xs = malloc(2 * maxn * sizeof *xs);
  if (!xs) return oom(err);
  double *ys = xs + maxn;
  const schedopt_plot_axes alr = {"learning rate of each run", "step", Y_LR,
                                  SCHEDOPT_PLOT_LINEAR, SCHEDOPT_PLOT_LINEAR};
  const schedopt_plot_axes aloss = {"loss: observed (markers), predicted (lines)", "step",
                                    "loss", SCHEDOPT_PLOT_LINEAR, SCHEDOPT_PLOT_LINEAR};
  const schedopt_plot_axes ares = {"residual: observed \xe2\x88\x92 predicted", "step",
                                   "loss residual", SCHEDOPT_PLOT_LINEAR, SCHEDOPT_PLOT_LINEAR};
  size_t plr = 0, ploss, pres;
  schedopt_status st = SCHEDOPT_OK;
  if ((lr && (st = schedopt_plot_add_panel(fig, &alr, &plr, err))) ||
      (st = schedopt_plot_add_panel(fig, &aloss, &ploss, err)) ||
      (st = schedopt_plot_add_panel(fig, &ares, &pres, err)))
    goto done;
  double x0 = INFINITY, x1 = -INFINITY;
  for (size_t i = 0; i < n && !st; i++) {
    const cli_fig_curve *q = &c[i];
    char label[256];
    snprintf(label, sizeof label, "%.200s (%s)", q->name, q->held_out ? "held out" : "fit");
    const schedopt_plot_line ln = q->held_out ? SCHEDOPT_PLOT_DASHED : SCHEDOPT_PLOT_SOLID;
    const schedopt_plot_marker mk = q->held_out ? SCHEDOPT_PLOT_RING : SCHEDOPT_PLOT_DOT;
    const schedopt_plot_style line = {ln, SCHEDOPT_PLOT_NOMARK, NULL, 0, 0, 0};
    const schedopt_plot_style pts = {SCHEDOPT_PLOT_NOLINE, mk, NULL, 0, 0, 0};
    if (q->n) x0 = fmin(x0, q->step[0]), x1 = fmax(x1, q->step[q->n - 1]);
    if (lr && q->lr && (st = schedopt_plot_add_series_styled(fig, plr, label, q->step, q->lr, q->n,
                                                             &line, err)))
      break;
    if (q->lo && q->hi &&
        (st = schedopt_plot_add_band(fig, ploss, label, q->step, q->lo, q->hi, q->n, NULL, err)))
      break;
    size_t m = thin(q->step, q->obs, q->n, MAX_MARKS, xs, ys);
    if ((st = schedopt_plot_add_series_styled(fig, ploss, label, xs, ys, m, &pts, err)) ||
        (st = schedopt_plot_add_series_styled(fig, ploss, label, q->step, q->pred, q->n, &line,
                                              err)))
      break;
    for (size_t k = 0; k < q->n; k++) ys[k] = q->obs[k] - q->pred[k];
    memcpy(xs, q->step, q->n * sizeof *xs);
    /* the residual's line is thin in meaning: markers at a subsample only */
    double *rx = malloc(2 * (q->n + 1) * sizeof *rx);
    if (!rx) {
      st = oom(err);
      break;
    }
    m = thin(xs, ys, q->n, 2 * MAX_MARKS, rx, rx + q->n + 1);
    st = schedopt_plot_add_series_styled(fig, pres, label, rx, rx + q->n + 1, m, &pts, err);
    free(rx);
  }
  if (!st && x1 > x0) { /* y = 0, the perfect prediction */
    const double zx[2] = {x0, x1}, zy[2] = {0, 0};
    const schedopt_plot_style z = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 1, 0, 0};
    st = schedopt_plot_add_series_styled(fig, pres, "", zx, zy, 2, &z, err);
  }
done:
  free(xs);
  return st;
}

schedopt_status cli_fig_fit_of(schedopt_plot *fig, const schedopt_fit *f, schedopt_error *err) {
  const size_t n = schedopt_fit_ncurves(f);
  cli_fig_curve *c = calloc(n + 1, sizeof *c);
  double **lr = calloc(n + 1, sizeof *lr);
  schedopt_status st = c && lr ? SCHEDOPT_OK : oom(err);
  for (size_t i = 0; i < n && !st; i++) {
    schedopt_fit_curve fc;
    if ((st = schedopt_fit_get_curve(f, i, &fc, err))) break;
    size_t m = schedopt_losscurve_npoints(fc.curve), K = 0;
    const double *step = schedopt_losscurve_steps(fc.curve);
    const double *eta = schedopt_losscurve_lr(fc.curve, &K);
    if (eta && (lr[i] = malloc((m + 1) * sizeof **lr)))
      for (size_t k = 0; k < m; k++) lr[i][k] = (size_t)step[k] < K ? eta[(size_t)step[k]] : NAN;
    c[i] = (cli_fig_curve){schedopt_losscurve_name(fc.curve), fc.role != SCHEDOPT_CURVE_FIT, m,
                           step, lr[i], schedopt_losscurve_loss(fc.curve), fc.pred, fc.lo, fc.hi};
  }
  if (!st) st = cli_fig_fit(fig, c, n, err);
  for (size_t i = 0; lr && i < n; i++) free(lr[i]);
  free(lr);
  free(c);
  return st;
}

/* ---- design beside the baselines --------------------------------------------------- */

/* The first row from which lr stays below 95 % of its peak; n if never. */
static size_t leaves_peak(const double *lr, size_t n) {
  double peak = 0;
  for (size_t k = 0; k < n; k++) peak = fmax(peak, lr[k]);
  size_t k = n;
  while (k > 0 && lr[k - 1] < 0.95 * peak) k--;
  return k;
}

schedopt_status cli_fig_design_build(schedopt_plot *fig, const cli_fig_design *d,
                                     schedopt_error *err) {
  if (!fig || !d || d->n < 2 || !d->step || !d->design.lr || !d->design.loss || (d->nb && !d->b))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design figure: no table");
  const size_t n = d->n;
  const double end = d->step[n - 1];
  /* the loss panels start after warmup (before it the loss says little) */
  const double from = fmin(fmax((double)d->warmup, 0.05 * end), 0.5 * end);
  /* the anneal: from where the first schedule leaves its peak for good,
   * within the last 10–50 % of the run */
  double a0 = INFINITY;
  for (size_t i = 0; i <= d->nb; i++) {
    const double *lr = i ? d->b[i - 1].lr : d->design.lr;
    size_t k = leaves_peak(lr, n);
    if (k < n && d->step[k] >= 0.5 * end) a0 = fmin(a0, d->step[k]);
  }
  a0 = isfinite(a0) ? fmin(fmax(a0 - 0.02 * end, 0.5 * end), 0.9 * end) : 0.75 * end;
  char zt[96];
  snprintf(zt, sizeof zt, "predicted loss, the anneal (last %.0f %%)", 100 * (end - a0) / end);
  const schedopt_plot_axes alr = {"learning rate", "step", Y_LR, SCHEDOPT_PLOT_LINEAR,
                                  SCHEDOPT_PLOT_LINEAR};
  const schedopt_plot_axes aloss = {"predicted loss (after warmup)", "step", "loss",
                                    SCHEDOPT_PLOT_LINEAR, SCHEDOPT_PLOT_LINEAR};
  const schedopt_plot_axes azoom = {zt, "step", "loss", SCHEDOPT_PLOT_LINEAR,
                                    SCHEDOPT_PLOT_LINEAR};
  const schedopt_plot_axes agap = {"baseline minus design", "step",
                                   "predicted loss \xe2\x88\x92 design's", SCHEDOPT_PLOT_LINEAR,
                                   SCHEDOPT_PLOT_LINEAR};
  size_t plr, ploss, pzoom, pgap;
  schedopt_status st;
  if ((st = schedopt_plot_add_panel(fig, &alr, &plr, err)) ||
      (st = schedopt_plot_add_panel(fig, &aloss, &ploss, err)) ||
      (st = schedopt_plot_set_xrange(fig, ploss, from, end, err)) ||
      (st = schedopt_plot_add_panel(fig, &azoom, &pzoom, err)) ||
      (st = schedopt_plot_set_xrange(fig, pzoom, a0, end, err)) ||
      (d->nb && (st = schedopt_plot_add_panel(fig, &agap, &pgap, err))))
    return st;
  const char *dn = d->design.name ? d->design.name : "design";
  char band[160];
  snprintf(band, sizeof band, "%.100s: prediction band", dn);
  const schedopt_plot_style bs = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, dn, 0, 0, 0};
  for (int z = 0; z < 2 && d->lo && d->hi; z++)
    if ((st = schedopt_plot_add_band(fig, z ? pzoom : ploss, band, d->step, d->lo, d->hi, n, &bs,
                                     err)))
      return st;
  double *gap = malloc(n * sizeof *gap);
  if (!gap) return oom(err);
  /* the design first in the legend (an empty series) but drawn last, on top */
  const schedopt_plot_style first = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 0, 0};
  if ((st = schedopt_plot_add_series_styled(fig, plr, dn, NULL, NULL, 0, &first, err))) {
    free(gap);
    return st;
  }
  for (size_t j = 0; j <= d->nb && !st; j++) {
    const size_t i = (j + 1) % (d->nb + 1); /* baselines 1 … nb, then the design (0) */
    const cli_fig_sched *s = i ? &d->b[i - 1] : &d->design;
    const char *name = i ? (s->name ? s->name : "baseline") : dn;
    /* the design solid and on top; baselines dashed */
    const schedopt_plot_style ls = {i ? SCHEDOPT_PLOT_DASHED : SCHEDOPT_PLOT_SOLID,
                                    SCHEDOPT_PLOT_NOMARK, NULL, 0, 0, 0};
    if ((st = schedopt_plot_add_series_styled(fig, plr, name, d->step, s->lr, n, &ls, err)))
      break;
    if (!s->loss) continue;
    if ((st = schedopt_plot_add_series_styled(fig, ploss, name, d->step, s->loss, n, &ls, err)) ||
        (st = schedopt_plot_add_series_styled(fig, pzoom, name, d->step, s->loss, n, &ls, err)))
      break;
    if (!i) continue;
    for (size_t k = 0; k < n; k++)
      gap[k] = d->step[k] >= from ? s->loss[k] - d->design.loss[k] : NAN;
    st = schedopt_plot_add_series_styled(fig, pgap, name, d->step, gap, n, &ls, err);
  }
  free(gap);
  if (!st && d->nb) {
    const double zx[2] = {from, end}, zy[2] = {0, 0};
    const schedopt_plot_style zs = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 1, 0, 0};
    st = schedopt_plot_add_series_styled(fig, pgap, "", zx, zy, 2, &zs, err);
  }
  return st;
}

schedopt_status cli_fig_predict(const schedopt_surrogate *s, const double *lr, size_t K,
                                const size_t *rows, size_t n, double *loss, schedopt_error *err) {
  size_t first = 0; /* the first step with T = Σ η > 0 */
  double T = 0;
  while (first < K && !((T += lr[first]) > 0)) first++;
  size_t m = 0;
  while (m < n && rows[m] < first) loss[m++] = NAN;
  if (m == n) return SCHEDOPT_OK;
  schedopt_surrogate_input in = {lr, K, rows + m, n - m, NULL};
  return schedopt_surrogate_predict(s, &in, loss + m, NULL, err);
}

/* ---- output folders ---------------------------------------------------------------- */

/* A CSV file as written by fit and design (no quoting): a header and rows
 * of cells, split in place. */
typedef struct table {
  char *text;
  size_t ncol, nrow;
  char **cell; /* nrow × ncol */
  char **name; /* ncol */
  const char *path;
} table;

static void table_free(table *t) {
  free(t->text);
  free(t->cell);
  free(t->name);
  memset(t, 0, sizeof *t);
}

static size_t split(char *line, char **out, size_t max) {
  size_t n = 0;
  for (char *p = line;; p++) {
    if (n < max) out[n] = p;
    n++;
    p = strchr(p, ',');
    if (!p) break;
    *p = '\0';
  }
  return n;
}

static schedopt_status table_read(table *t, const char *path, schedopt_error *err) {
  memset(t, 0, sizeof *t);
  t->path = path;
  size_t len;
  schedopt_status st = schedopt_infile_read(path, (size_t)512 << 20, NULL, &t->text, &len, err);
  if (st) return st;
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) lines += t->text[i] == '\n';
  char *save = NULL, *line = strtok_r(t->text, "\r\n", &save);
  if (!line) return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: empty file", path);
  char *tmp[1];
  t->ncol = split(line, tmp, 0);
  t->name = malloc(t->ncol * sizeof *t->name);
  t->cell = malloc((lines + 1) * t->ncol * sizeof *t->cell);
  if (!t->name || !t->cell) return oom(err);
  /* the header again, into the names (split wrote NULs already) */
  for (size_t k = 0, off = 0; k < t->ncol; k++) {
    t->name[k] = line + off;
    off += strlen(line + off) + 1;
  }
  while ((line = strtok_r(NULL, "\r\n", &save))) {
    if (!*line) continue;
    size_t m = split(line, t->cell + t->nrow * t->ncol, t->ncol);
    if (m != t->ncol)
      return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: row %zu has %zu cells, the header %zu",
                                path, t->nrow + 1, m, t->ncol);
    t->nrow++;
  }
  if (!t->nrow) return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: no rows", path);
  return SCHEDOPT_OK;
}

static size_t col(const table *t, const char *name) {
  for (size_t k = 0; k < t->ncol; k++)
    if (!strcmp(t->name[k], name)) return k;
  return (size_t)-1;
}

/* Column k as numbers (an empty cell is NAN; anything else not a number is
 * an error naming the file, row and column). */
static schedopt_status numbers(const table *t, size_t k, double *out, schedopt_error *err) {
  for (size_t i = 0; i < t->nrow; i++) {
    const char *s = t->cell[i * t->ncol + k];
    char *end;
    if (!*s) {
      out[i] = NAN;
      continue;
    }
    errno = 0;
    out[i] = strtod(s, &end);
    if (end == s || *end || errno)
      return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: row %zu, column '%s': '%.40s' is not a "
                                "number", t->path, i + 1, t->name[k], s);
  }
  return SCHEDOPT_OK;
}

static schedopt_status need(const table *t, const char *const *names, size_t *idx,
                            schedopt_error *err) {
  for (size_t i = 0; names[i]; i++)
    if ((idx[i] = col(t, names[i])) == (size_t)-1)
      return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: no column '%s' (is this a file "
                                "schedopt wrote?)", t->path, names[i]);
  return SCHEDOPT_OK;
}

static int is_file(const char *dir, const char *name) {
  char p[4200];
  struct stat sb;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int cli_fig_folder_kind(const char *path) {
  struct stat sb;
  if (!path || stat(path, &sb) || !S_ISDIR(sb.st_mode)) return 0;
  if (is_file(path, "schedule.csv") && is_file(path, "baselines.csv")) return 2;
  if (is_file(path, "predictions.csv")) return 1;
  if (is_file(path, "sweep.json")) return 3;
  return 0;
}

/* predictions.csv: curve,role,step,lr,loss,raw_loss,pred,pred_lo,pred_hi,scored */
static schedopt_status fit_folder(const char *dir, schedopt_plot *fig, schedopt_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/predictions.csv", dir);
  table t;
  schedopt_status st = table_read(&t, path, err);
  static const char *const cols[] = {"curve", "role", "step", "lr", "loss", "pred", "pred_lo",
                                     "pred_hi", NULL};
  size_t ix[8];
  double *v = NULL;
  cli_fig_curve *c = NULL;
  const size_t R = t.nrow;
  if (!st) st = need(&t, cols, ix, err);
  if (!st && (!(v = malloc(6 * R * sizeof *v)) || !(c = calloc(R, sizeof *c)))) st = oom(err);
  for (int k = 0; k < 6 && !st; k++) st = numbers(&t, ix[2 + k], v + (size_t)k * R, err);
  size_t nc = 0;
  for (size_t i = 0; i < R && !st;) { /* a curve: consecutive rows with one name */
    const char *name = t.cell[i * t.ncol + ix[0]];
    size_t j = i;
    while (j < R && !strcmp(t.cell[j * t.ncol + ix[0]], name)) j++;
    int band = !isnan(v[4 * R + i]);
    c[nc++] = (cli_fig_curve){name, !strcmp(t.cell[i * t.ncol + ix[1]], "test"), j - i,
                              v + i, v + R + i, v + 2 * R + i, v + 3 * R + i,
                              band ? v + 4 * R + i : NULL, band ? v + 5 * R + i : NULL};
    i = j;
  }
  if (!st) st = cli_fig_fit(fig, c, nc, err);
  free(c);
  free(v);
  table_free(&t);
  return st;
}

/* schedule.csv: step,tokens,lr,batch,loss[,loss_lo,loss_hi]; baselines.csv:
 * step,tokens,design,<baseline>…,loss_<baseline>… (same rows) */
static schedopt_status design_folder(const char *dir, schedopt_plot *fig, schedopt_error *err) {
  char p1[4200], p2[4200];
  snprintf(p1, sizeof p1, "%s/schedule.csv", dir);
  snprintf(p2, sizeof p2, "%s/baselines.csv", dir);
  table s, b;
  memset(&b, 0, sizeof b);
  schedopt_status st = table_read(&s, p1, err);
  if (!st) st = table_read(&b, p2, err);
  static const char *const scols[] = {"step", "lr", "loss", NULL};
  size_t ix[3];
  if (!st) st = need(&s, scols, ix, err);
  if (!st && b.nrow != s.nrow)
    st = schedopt_error_set(err, SCHEDOPT_EPARSE, "%s has %zu rows, %s %zu: not one design's",
                            p1, s.nrow, p2, b.nrow);
  const size_t R = s.nrow, nb = b.ncol > 3 ? b.ncol - 3 : 0;
  double *v = NULL;
  cli_fig_sched *bs = NULL;
  if (!st && (!(v = malloc((5 + 2 * nb) * R * sizeof *v)) ||
              !(bs = calloc(nb + 1, sizeof *bs))))
    st = oom(err);
  size_t lo = col(&s, "loss_lo"), hi = col(&s, "loss_hi"), nbl = 0;
  for (int k = 0; k < 3 && !st; k++) st = numbers(&s, ix[k], v + (size_t)k * R, err);
  if (!st && lo != (size_t)-1 && hi != (size_t)-1 &&
      !(st = numbers(&s, lo, v + 3 * R, err)))
    st = numbers(&s, hi, v + 4 * R, err);
  else
    lo = (size_t)-1;
  /* the baselines: lr columns after "design" with a loss_<name> column */
  for (size_t k = 3; k < b.ncol && !st; k++) {
    if (!strncmp(b.name[k], "loss_", 5)) continue;
    char ln[256];
    snprintf(ln, sizeof ln, "loss_%.240s", b.name[k]);
    size_t kl = col(&b, ln);
    double *lr = v + (5 + 2 * nbl) * R, *loss = lr + R;
    if ((st = numbers(&b, k, lr, err)) || (kl != (size_t)-1 && (st = numbers(&b, kl, loss, err))))
      break;
    bs[nbl++] = (cli_fig_sched){b.name[k], lr, kl != (size_t)-1 ? loss : NULL};
  }
  /* warmup: the steps before the design's lr first reaches its peak */
  size_t warm = 0;
  if (!st) {
    double peak = 0;
    for (size_t i = 0; i < R; i++) peak = fmax(peak, v[R + i]);
    while (warm < R && v[R + warm] < 0.999 * peak) warm++;
  }
  cli_fig_design d = {R, v, {"design", v + R, v + 2 * R}, lo != (size_t)-1 ? v + 3 * R : NULL,
                      lo != (size_t)-1 ? v + 4 * R : NULL, nbl, bs,
                      warm < R ? (size_t)v[warm] : 0};
  if (!st) st = cli_fig_design_build(fig, &d, err);
  free(bs);
  free(v);
  table_free(&s);
  table_free(&b);
  return st;
}

schedopt_status cli_fig_from_folder(const char *dir, const char *title, schedopt_plot **fig,
                                    schedopt_error *err) {
  int kind = cli_fig_folder_kind(dir);
  *fig = NULL;
  if (!kind)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: not an output folder of fit "
                              "(predictions.csv), design (schedule.csv and baselines.csv) or "
                              "sweep (sweep.json)", dir);
  if (kind == 3) { /* a sweep (or a merged one): its figure from sweep.json */
    char path[4200], t[512];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    schedopt_sweep *s = NULL;
    schedopt_status st = schedopt_sweep_read(&s, path, err);
    if (!st) {
      snprintf(t, sizeof t, "%.200s (sweep)", schedopt_sweep_problem_name(s));
      st = schedopt_plot_alloc(fig, title ? title : t, err);
    }
    if (!st) st = schedopt_sweep_plot(s, *fig, err);
    schedopt_sweep_free(s);
    if (st) {
      schedopt_plot_free(*fig);
      *fig = NULL;
    }
    return st;
  }
  char t[512];
  if (!title) {
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    snprintf(t, sizeof t, "%.200s: %s", base,
             kind == 1 ? "fit against the observed loss" : "design beside the tuned baselines");
    title = t;
  }
  schedopt_status st = schedopt_plot_alloc(fig, title, err);
  if (!st) st = kind == 1 ? fit_folder(dir, *fig, err) : design_folder(dir, *fig, err);
  if (st) {
    schedopt_plot_free(*fig);
    *fig = NULL;
  }
  return st;
}
