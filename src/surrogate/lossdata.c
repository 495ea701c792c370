/* lossdata.c — loss logs (CSV via libcsv), their per-step schedule and
 * smoothing.  The conventions are stated in schedopt/losscurve.h. */
#include "schedopt/losscurve.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamics/control_impl.h"
#include "core/csvcell.h"
#include "core/infile.h"

/* Largest step a log may reach (the schedule is stored per step). */
#define LC_MAX_STEPS 10000000.0

struct schedopt_losscurve {
  char *name;
  size_t n;
  double *step, *loss, *raw, *lrlog, *tokens, *batch;
  int dense;       /* steps are 0 … n−1 and the lr column is complete */
  size_t K;        /* per-step schedule length (0: none) */
  double *eta;
  size_t window;   /* smoothing window (1 = none) */
  double warmup;   /* warmup steps (fits exclude step < warmup) */
};

/* ------------------------------------------------------------------ CSV */

enum { COL_STEP, COL_LR, COL_LOSS, COL_TOKENS, COL_BATCH, NCOL };
static const char *const col_name[NCOL] = {"step", "lr", "loss", "tokens", "batch"};

typedef struct lc_csv {
  const char *path;
  schedopt_error *err;
  schedopt_status st;
  size_t line;
  int prev_cr, nonblank, have_header;
  size_t field;
  schedopt_csv_header hdr;
  size_t row;          /* data rows so far (1 = the first after the header) */
  size_t col[NCOL];    /* field index of each column, or (size_t)-1 */
  double val[NCOL];
  int got[NCOL];
  size_t n, cap;
  double *v[NCOL];
} lc_csv;

static void on_field(void *s, size_t len, void *data) {
  lc_csv *x = data;
  const char *str = s ? s : "";
  if (x->st) return;
  if (len) x->nonblank = 1;
  if (!x->have_header) {
    x->st = schedopt_csv_header_add(&x->hdr, str, len, x->path, x->line, x->err);
  } else {
    for (int c = 0; c < NCOL; c++) {
      if (x->col[c] != x->field) continue;
      if (!schedopt_csv_number(str, len, &x->val[c])) {
        char shown[64];
        x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                                   "%s:%zu: column '%s': '%s' is not a finite number",
                                   x->path, x->line, col_name[c],
                                   schedopt_csv_printable(shown, sizeof shown, str, len));
        return;
      }
      x->got[c] = 1;
    }
  }
  x->field++;
}

static void check_row(lc_csv *x) {
  if ((x->st = schedopt_csv_row_width(&x->hdr, x->field, ++x->row, x->path, x->line, x->err)))
    return;
  for (int c = 0; c < NCOL; c++)
    if (x->col[c] != (size_t)-1 && !x->got[c]) {
      x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                                 "%s:%zu: row has %zu fields; column '%s' is missing",
                                 x->path, x->line, x->field, col_name[c]);
      return;
    }
  double step = x->val[COL_STEP], loss = x->val[COL_LOSS];
  if (!(step >= 0 && step <= LC_MAX_STEPS && step == floor(step))) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_EINVAL,
                               "%s:%zu: step = %.10g must be an integer in [0, %.0f]", x->path,
                               x->line, step, LC_MAX_STEPS);
    return;
  }
  if (x->n && !(step > x->v[COL_STEP][x->n - 1])) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_EINVAL,
                               "%s:%zu: step = %.0f is not greater than the previous step "
                               "%.0f (steps must be strictly increasing)",
                               x->path, x->line, step, x->v[COL_STEP][x->n - 1]);
    return;
  }
  if (!(loss > 0)) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_EINVAL, "%s:%zu: loss = %.10g must be > 0",
                               x->path, x->line, loss);
    return;
  }
  if (x->col[COL_LR] != (size_t)-1 && !(x->val[COL_LR] >= 0)) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_EINVAL, "%s:%zu: lr = %.10g must be >= 0",
                               x->path, x->line, x->val[COL_LR]);
    return;
  }
  if (x->col[COL_TOKENS] != (size_t)-1 && !(x->val[COL_TOKENS] >= 0)) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_EINVAL,
                               "%s:%zu: tokens = %.10g at row %zu must be >= 0", x->path,
                               x->line, x->val[COL_TOKENS], x->row);
    return;
  }
  if (x->col[COL_BATCH] != (size_t)-1 && !(x->val[COL_BATCH] > 0)) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_EINVAL,
                               "%s:%zu: batch = %.10g at row %zu must be > 0", x->path,
                               x->line, x->val[COL_BATCH], x->row);
    return;
  }
  if (x->n >= SCHEDOPT_CSV_MAX_ROWS) {
    x->st = schedopt_error_set(x->err, SCHEDOPT_ENOMEM,
                               "%s:%zu: more than %d data rows (the limit for a log; thin it)",
                               x->path, x->line, SCHEDOPT_CSV_MAX_ROWS);
    return;
  }
  if (x->n == x->cap) {
    size_t cap = x->cap ? 2 * x->cap : 1024;
    for (int c = 0; c < NCOL; c++) {
      if (x->col[c] == (size_t)-1) continue;
      double *nv = realloc(x->v[c], cap * sizeof *nv);
      if (!nv) {
        x->st = schedopt_error_set(x->err, SCHEDOPT_ENOMEM, "out of memory");
        return;
      }
      x->v[c] = nv;
    }
    x->cap = cap;
  }
  for (int c = 0; c < NCOL; c++)
    if (x->col[c] != (size_t)-1) x->v[c][x->n] = x->val[c];
  x->n++;
}

static void on_row(int ch, void *data) {
  lc_csv *x = data;
  int empty = !x->nonblank;
  if (!x->st && !empty) {
    if (!x->have_header) {
      x->have_header = 1;
      x->st = schedopt_csv_header_check(&x->hdr, x->path, x->line, x->err);
      for (int c = 0; c < NCOL; c++) x->col[c] = schedopt_csv_header_find(&x->hdr, col_name[c]);
      for (int c = 0; c <= COL_LOSS && !x->st; c++)
        if (c != COL_LR && x->col[c] == (size_t)-1)
          x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                                     "%s:%zu: no column '%s' in the header (a loss log needs "
                                     "step and loss; lr, tokens and batch are optional)",
                                     x->path, x->line, col_name[c]);
    } else {
      check_row(x);
    }
  }
  if (!(ch == '\n' && x->prev_cr && empty && x->field == 0) && (ch == '\n' || ch == '\r'))
    x->line++;
  x->prev_cr = ch == '\r';
  x->field = 0;
  x->nonblank = 0;
  memset(x->got, 0, sizeof x->got);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* File name without folder and extension. */
static char *stem_of(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  char *s = dup_str(b);
  if (!s) return NULL;
  char *dot = strrchr(s, '.');
  if (dot && dot != s) *dot = '\0';
  return s;
}

static void set_dense(schedopt_losscurve *c) {
  c->dense = c->lrlog != NULL && c->n > 0;
  for (size_t i = 0; i < c->n && c->dense; i++) c->dense = c->step[i] == (double)i;
  if (c->dense) {
    c->K = c->n;
    c->eta = malloc(c->n * sizeof *c->eta);
    if (!c->eta) {
      c->K = 0;
      c->dense = 0;
      return;
    }
    memcpy(c->eta, c->lrlog, c->n * sizeof *c->eta);
  }
}

schedopt_status schedopt_losscurve_load_csv(schedopt_losscurve **out, const char *path,
                                            const char *name, schedopt_error *err) {
  if (!out || !path)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "losscurve_load_csv: NULL argument");
  *out = NULL;
  FILE *f;
  schedopt_status st = schedopt_infile_fopen(path, SCHEDOPT_CSV_MAX_BYTES,
                                             "the limit for a log; thin it", &f, err);
  if (st) return st;
  lc_csv x;
  memset(&x, 0, sizeof x);
  x.path = path;
  x.err = err;
  x.line = 1;
  for (int c = 0; c < NCOL; c++) x.col[c] = (size_t)-1;
  struct csv_parser p;
  if (schedopt_csv_parser_init(&p) != 0) {
    fclose(f);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  char buf[1 << 16];
  size_t got, total = 0;
  while (!x.st && (got = fread(buf, 1, sizeof buf, f)) > 0) {
    total += got;
    if (total > SCHEDOPT_CSV_MAX_BYTES) {
      x.st = schedopt_error_set(err, SCHEDOPT_ENOMEM,
                                "%s: the file is larger than %d MiB (the limit for a log; "
                                "thin it)",
                                path, (int)(SCHEDOPT_CSV_MAX_BYTES >> 20));
      break;
    }
    if (csv_parse(&p, buf, got, on_field, on_row, &x) != got && !x.st)
      x.st = schedopt_csv_parse_error(&p, path, x.line, err);
  }
  if (!x.st && ferror(f)) x.st = schedopt_error_set(err, SCHEDOPT_EIO, "error reading %s", path);
  if (!x.st) csv_fini(&p, on_field, on_row, &x);
  csv_free(&p);
  fclose(f);
  schedopt_csv_header_free(&x.hdr);
  if (!x.st && !x.have_header)
    x.st = schedopt_error_set(err, SCHEDOPT_EPARSE,
                              "%s: empty file (expected a header row: step,lr,loss)", path);
  if (!x.st && x.n == 0)
    x.st = schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: no data rows after the header", path);
  schedopt_losscurve *c = NULL;
  if (!x.st && !(c = calloc(1, sizeof *c)))
    x.st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  if (x.st) {
    for (int k = 0; k < NCOL; k++) free(x.v[k]);
    return x.st;
  }
  c->n = x.n;
  c->step = x.v[COL_STEP];
  c->raw = x.v[COL_LOSS];
  c->lrlog = x.v[COL_LR];
  c->tokens = x.v[COL_TOKENS];
  c->batch = x.v[COL_BATCH];
  c->window = 1;
  c->loss = malloc(x.n * sizeof *c->loss);
  c->name = name ? dup_str(name) : stem_of(path);
  if (!c->loss || !c->name) {
    schedopt_losscurve_free(c);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  memcpy(c->loss, c->raw, x.n * sizeof *c->loss);
  set_dense(c);
  *out = c;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_losscurve_from_arrays(schedopt_losscurve **out, const char *name,
                                               size_t n, const double *step,
                                               const double *lr, const double *loss,
                                               schedopt_error *err) {
  if (!out || !step || !loss || n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "losscurve_from_arrays: NULL argument or no points");
  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!(step[i] >= 0 && step[i] <= LC_MAX_STEPS && step[i] == floor(step[i])) ||
        (i && !(step[i] > step[i - 1])))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "point %zu: step %.10g must be an integer in [0, %.0f], "
                                "greater than the previous one",
                                i, step[i], LC_MAX_STEPS);
    if (!(loss[i] > 0) || !isfinite(loss[i]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "point %zu: loss = %g must be > 0", i,
                                loss[i]);
    if (lr && !(lr[i] >= 0 && isfinite(lr[i])))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "point %zu: lr = %g must be >= 0", i,
                                lr[i]);
  }
  schedopt_losscurve *c = calloc(1, sizeof *c);
  if (!c) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  c->n = n;
  c->window = 1;
  c->name = dup_str(name ? name : "curve");
  c->step = malloc(n * sizeof *c->step);
  c->loss = malloc(n * sizeof *c->loss);
  c->raw = malloc(n * sizeof *c->raw);
  if (lr) c->lrlog = malloc(n * sizeof *c->lrlog);
  if (!c->name || !c->step || !c->loss || !c->raw || (lr && !c->lrlog)) {
    schedopt_losscurve_free(c);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  memcpy(c->step, step, n * sizeof *step);
  memcpy(c->loss, loss, n * sizeof *loss);
  memcpy(c->raw, loss, n * sizeof *loss);
  if (lr) memcpy(c->lrlog, lr, n * sizeof *lr);
  set_dense(c);
  *out = c;
  return SCHEDOPT_OK;
}

void schedopt_losscurve_free(schedopt_losscurve *c) {
  if (!c) return;
  free(c->name);
  free(c->step);
  free(c->loss);
  free(c->raw);
  free(c->lrlog);
  free(c->tokens);
  free(c->batch);
  free(c->eta);
  free(c);
}

schedopt_status schedopt_losscurve_set_schedule(schedopt_losscurve *c,
                                                const schedopt_control *lr, double H,
                                                size_t nsteps, schedopt_error *err) {
  if (!c || !lr) return schedopt_error_set(err, SCHEDOPT_EINVAL, "set_schedule: NULL argument");
  size_t K = (size_t)c->step[c->n - 1] + 1;
  if (nsteps > K) K = nsteps;
  if (!(H > 0) || !isfinite(H))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: the schedule's horizon %g must be > 0", c->name, H);
  if (K > (size_t)LC_MAX_STEPS)
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "%s: %zu steps is over the limit of %.0f",
                              c->name, K, LC_MAX_STEPS);
  double *eta = malloc(K * sizeof *eta);
  if (!eta) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu steps", K);
  for (size_t k = 0; k < K; k++) {
    double t = (double)k;
    eta[k] = schedopt_control_eval(lr, H, t > H ? H : t, NULL);
    if (!(eta[k] >= 0) || !isfinite(eta[k])) {
      const double bad = eta[k];
      free(eta);
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: the schedule gives lr = %g at step %zu (must be >= 0)",
                                c->name, bad, k);
    }
  }
  /* the rebuilt schedule must be the one the run logged: a milestone typo
   * would otherwise fit a different run (seen: MAE 0.058 instead of 0.004) */
  if (c->lrlog) {
    double peak = 0;
    for (size_t i = 0; i < c->n; i++)
      if (isfinite(c->lrlog[i])) peak = fmax(peak, fabs(c->lrlog[i]));
    for (size_t i = 0; i < c->n; i++) {
      const double logged = c->lrlog[i];
      const size_t k = (size_t)c->step[i];
      if (!isfinite(logged) || k >= K) continue;
      if (fabs(eta[k] - logged) > 1e-3 * fmax(fabs(logged), fabs(eta[k])) + 1e-9 * peak) {
        const double rebuilt = eta[k];
        free(eta);
        return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                  "%s: the schedule gives lr = %.10g at step %zu, the log %.10g "
                                  "(they must agree within 1e-3 relative): check the schedule's "
                                  "milestones, warmup and horizon", c->name, rebuilt, k, logged);
      }
    }
  }
  free(c->eta);
  c->eta = eta;
  c->K = K;
  double w = 0;
  if (schedopt_control_get(lr, "warmup", &w, NULL) == SCHEDOPT_OK) c->warmup = w;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_losscurve_smooth(schedopt_losscurve *c, size_t window,
                                          schedopt_error *err) {
  if (!c) return schedopt_error_set(err, SCHEDOPT_EINVAL, "smooth: NULL argument");
  if (window == 0 || window % 2 == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: smoothing window %zu must be an odd number >= 1", c->name,
                              window);
  size_t h = window / 2, n = c->n;
  if (n == 0) {
    c->window = window;
    return SCHEDOPT_OK;
  }
  /* O(n) without subtraction: cut the curve into blocks of `window` points;
   * a window then spans at most two blocks, and its sum is a suffix sum of
   * the first plus a prefix sum of the second.  (Global prefix sums would
   * subtract, which cancels every digit next to a huge loss.) */
  double *ps = malloc(2 * n * sizeof *ps);
  if (!ps) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double *pre = ps, *suf = ps + n;
  for (size_t i = 0; i < n; i++) pre[i] = (i % window ? pre[i - 1] : 0) + c->raw[i];
  for (size_t i = n; i-- > 0;)
    suf[i] = ((i + 1) % window && i + 1 < n ? suf[i + 1] : 0) + c->raw[i];
  for (size_t i = 0; i < n; i++) {
    size_t lo = i >= h ? i - h : 0, last = i + h < n ? i + h : n - 1;
    double sum;
    if (lo / window != last / window)
      sum = suf[lo] + pre[last];
    else if (lo % window == 0)
      sum = pre[last];
    else
      sum = suf[lo]; /* then `last` ends its block or the curve */
    c->loss[i] = sum / (double)(last - lo + 1);
  }
  free(ps);
  c->window = window;
  return SCHEDOPT_OK;
}

void schedopt_losscurve_set_warmup(schedopt_losscurve *c, double w) {
  if (c && w >= 0) c->warmup = w;
}
double schedopt_losscurve_warmup(const schedopt_losscurve *c) { return c ? c->warmup : 0; }
const char *schedopt_losscurve_name(const schedopt_losscurve *c) { return c ? c->name : NULL; }
int schedopt_losscurve_dense(const schedopt_losscurve *c) { return c ? c->dense : 0; }
int schedopt_losscurve_has_schedule(const schedopt_losscurve *c) { return c && c->K > 0; }
size_t schedopt_losscurve_smoothing(const schedopt_losscurve *c) { return c ? c->window : 1; }
size_t schedopt_losscurve_npoints(const schedopt_losscurve *c) { return c ? c->n : 0; }
const double *schedopt_losscurve_steps(const schedopt_losscurve *c) { return c->step; }
const double *schedopt_losscurve_loss(const schedopt_losscurve *c) { return c->loss; }
const double *schedopt_losscurve_raw_loss(const schedopt_losscurve *c) { return c->raw; }
const double *schedopt_losscurve_logged_lr(const schedopt_losscurve *c) { return c->lrlog; }
const double *schedopt_losscurve_tokens(const schedopt_losscurve *c) { return c->tokens; }
const double *schedopt_losscurve_batch(const schedopt_losscurve *c) { return c->batch; }
const double *schedopt_losscurve_lr(const schedopt_losscurve *c, size_t *K) {
  if (K) *K = c ? c->K : 0;
  return c ? c->eta : NULL;
}
