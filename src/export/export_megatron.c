/* export_megatron.c — the nearest Megatron-LM learning-rate schedule and its
 * flags.
 *
 * Megatron's OptimizerParamScheduler knows one family: a linear warmup, then
 * constant, linear, cosine, inverse-square-root or WSD (a plateau, then a
 * linear, cosine, "exponential" 2·0.5^z − 1 or 1 − √z anneal to min_lr at
 * the decay end).  We fit that family to the table — peak, floor and warmup
 * read off the table, the anneal start searched — and measure the largest
 * difference over the table's rows.  A table outside the family (a multistep
 * drop, a geometric anneal, a schedule that rises again) has no equivalent:
 * the export then fails and names the nearest schedule and how far it is. */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/export_impl.h"
#include "schedopt/version.h"

#define PI 3.14159265358979323846

static const char *const wsd_styles[] = {"linear", "cosine", "exponential", "minus_sqrt"};

double schedopt_megatron_lr(const schedopt_megatron_fit *f, double x) {
  if (f->warmup > 0 && x <= f->warmup)
    return f->init_lr + (f->lr - f->init_lr) * x / f->warmup;
  const char *s = f->decay_style;
  if (!strcmp(s, "constant")) return f->lr;
  if (x > f->decay) return f->min_lr;
  if (!strcmp(s, "inverse-square-root"))
    return fmax(f->min_lr, f->lr * sqrt(fmax(f->warmup, 1)) / sqrt(fmax(x, 1)));
  const double r = (x - f->warmup) / (f->decay - f->warmup);
  double c = 1;
  if (!strcmp(s, "linear")) {
    c = 1 - r;
  } else if (!strcmp(s, "cosine")) {
    c = 0.5 * (cos(PI * r) + 1);
  } else { /* WSD */
    const double a = f->decay - f->wsd_decay;
    if (x > a) {
      const double z = (x - a) / f->wsd_decay;
      const char *w = f->wsd_style;
      if (!strcmp(w, "linear"))
        c = 1 - z;
      else if (!strcmp(w, "cosine"))
        c = 0.5 * (cos(PI * z) + 1);
      else if (!strcmp(w, "exponential"))
        c = 2 * pow(0.5, z) - 1;
      else
        c = 1 - sqrt(z);
    }
  }
  return f->min_lr + c * (f->lr - f->min_lr);
}

typedef struct pts {
  const double *x, *y;
  size_t n, stride; /* rows used: every stride-th and the last */
  double peak;
} pts;

/* max |megatron − table| / peak over the rows; *at receives where. */
static double deviation(const schedopt_megatron_fit *f, const pts *p, double *at) {
  double worst = -1, where = 0;
  for (size_t i = 0;; i += p->stride) {
    if (i >= p->n) i = p->n - 1; /* always include the last row */
    double d = fabs(schedopt_megatron_lr(f, p->x[i]) - p->y[i]);
    if (d > worst) worst = d, where = p->x[i];
    if (i == p->n - 1) break;
  }
  if (at) *at = where;
  return worst / p->peak;
}

/* Best anneal start a ∈ [lo, hi] (integers) for one WSD style: a coarse grid
 * plus the table's own plateau end, then a local integer search. */
static double fit_wsd(schedopt_megatron_fit *f, const pts *p, double lo, double hi, double a0) {
  double best_a = a0, best = INFINITY;
  const int G = 128;
  for (int j = -1; j <= G; j++) {
    double a = j < 0 ? a0 : round(lo + (hi - lo) * j / G);
    if (a < lo || a > hi) continue;
    f->wsd_decay = f->decay - a;
    double d = deviation(f, p, NULL);
    if (d < best) best = d, best_a = a;
  }
  double l = fmax(lo, best_a - ceil((hi - lo) / G)), r = fmin(hi, best_a + ceil((hi - lo) / G));
  while (r - l > 2) { /* ternary search on integers */
    double m1 = floor(l + (r - l) / 3), m2 = ceil(r - (r - l) / 3);
    f->wsd_decay = f->decay - m1;
    double d1 = deviation(f, p, NULL);
    f->wsd_decay = f->decay - m2;
    double d2 = deviation(f, p, NULL);
    if (d1 <= d2)
      r = m2 - 1 >= l ? m2 - 1 : l;
    else
      l = m1 + 1 <= r ? m1 + 1 : r;
    if (d1 < best) best = d1, best_a = m1;
    if (d2 < best) best = d2, best_a = m2;
  }
  for (double a = l; a <= r; a++) {
    f->wsd_decay = f->decay - a;
    double d = deviation(f, p, NULL);
    if (d < best) best = d, best_a = a;
  }
  f->wsd_decay = f->decay - best_a;
  return best;
}

schedopt_status schedopt_export_megatron_fit(const schedopt_export_table *t,
                                             const schedopt_export_options *o,
                                             schedopt_megatron_fit *fit, schedopt_error *err) {
  schedopt_status st = schedopt_export_check(t, err);
  if (st) return st;
  if (!fit) return schedopt_error_set(err, SCHEDOPT_EINVAL, "megatron_fit: NULL argument");
  schedopt_export_options def;
  if (!o) {
    schedopt_export_options_default(&def);
    o = &def;
  }
  const int bconst = schedopt_export_batch_constant(t);
  int samples = o->megatron_units == SCHEDOPT_MEGATRON_SAMPLES ||
                (o->megatron_units == SCHEDOPT_MEGATRON_AUTO && !bconst);
  if (!samples && !bconst)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "megatron: the batch size varies, and Megatron-LM advances an "
                              "iteration-based schedule by the samples of each iteration; use "
                              "sample units (--lr-*-samples) instead");
  const double sc = schedopt_export_lr_scale(t, o);
  double *x = malloc(2 * t->n * sizeof *x);
  if (!x) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double *y = x + t->n;
  double peak = 0;
  for (size_t i = 0; i < t->n; i++) {
    x[i] = samples ? t->rows[i].samples : t->rows[i].step;
    y[i] = t->rows[i].u.lr * sc;
    peak = fmax(peak, y[i]);
  }
  pts p = {x, y, t->n, t->n > 20000 ? t->n / 10000 : 1, peak};
  const double train = round(x[t->n - 1]);
  if (train < 2) {
    free(x);
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "megatron: the table covers %g %s; Megatron needs at least 2",
                              train, samples ? "samples" : "iterations");
  }
  /* plateau: from the first to the last row at the peak */
  size_t first = 0, lastp = 0;
  const double top = peak * (1 - 1e-9);
  while (y[first] < top) first++;
  for (size_t i = 0; i < t->n; i++)
    if (y[i] >= top) lastp = i;

  schedopt_megatron_fit f = {0};
  f.samples = samples;
  f.batch = bconst ? t->rows[0].u.batch : 0;
  f.lr = peak;
  f.min_lr = fmin(y[t->n - 1], peak);
  f.train = f.decay = train;
  f.warmup = fmin(round(x[first]), train - 1);
  f.init_lr = f.warmup > 0 ? y[0] : peak;
  const double a0 = fmin(fmax(round(x[lastp]), f.warmup), train - 1);

  schedopt_megatron_fit best = f;
  best.decay_style = "constant";
  best.max_dev = deviation(&best, &p, NULL);
  /* candidates in order of simplicity; a later one must be strictly better */
  const char *plain[] = {"linear", "cosine"};
  for (int k = 0; k < 2; k++) {
    schedopt_megatron_fit c = f;
    c.decay_style = plain[k];
    c.max_dev = deviation(&c, &p, NULL);
    if (c.max_dev < best.max_dev - 1e-12) best = c;
  }
  for (int k = 0; k < 4; k++) {
    schedopt_megatron_fit c = f;
    c.decay_style = "WSD";
    c.wsd_style = wsd_styles[k];
    c.max_dev = fit_wsd(&c, &p, f.warmup, train - 1, a0);
    if (c.max_dev < best.max_dev - 1e-12) best = c;
  }
  if (f.warmup >= 1) {
    schedopt_megatron_fit c = f;
    c.decay_style = "inverse-square-root";
    c.min_lr = 0;
    c.max_dev = deviation(&c, &p, NULL);
    if (c.max_dev < best.max_dev - 1e-12) best = c;
  }
  /* the WSD anneal over the whole post-warmup range is the plain style */
  if (best.wsd_style && best.decay - best.wsd_decay <= best.warmup &&
      (!strcmp(best.wsd_style, "linear") || !strcmp(best.wsd_style, "cosine"))) {
    best.decay_style = best.wsd_style;
    best.wsd_style = NULL;
  }
  if (!best.wsd_style) best.wsd_decay = 0;
  p.stride = 1;
  best.max_dev = deviation(&best, &p, &best.max_dev_at);
  free(x);
  *fit = best;
  return SCHEDOPT_OK;
}

/* "constant 1 until iteration 8000, then a linear anneal to 0 at 10000" */
static void describe(FILE *fp, const schedopt_megatron_fit *f) {
  const char *u = f->samples ? "sample" : "iteration";
  if (f->warmup > 0)
    fprintf(fp, "linear warmup from %.6g to %.6g over %.15g %ss, then ", f->init_lr, f->lr,
            f->warmup, u);
  const char *s = f->decay_style;
  if (!strcmp(s, "constant"))
    fprintf(fp, "constant %.6g", f->lr);
  else if (!strcmp(s, "inverse-square-root"))
    fprintf(fp, "%.6g * sqrt(%.15g / %s), floored at %.6g", f->lr, fmax(f->warmup, 1), u,
            f->min_lr);
  else if (!strcmp(s, "WSD"))
    fprintf(fp, "constant %.6g until %s %.15g, then a %s anneal to %.6g at %.15g", f->lr, u,
            f->decay - f->wsd_decay, f->wsd_style, f->min_lr, f->decay);
  else
    fprintf(fp, "a %s decay from %.6g to %.6g at %s %.15g", s, f->lr, f->min_lr, u, f->decay);
}

schedopt_status schedopt_export_write_megatron(FILE *fp, const schedopt_export_table *t,
                                      const schedopt_export_options *o, schedopt_error *err) {
  schedopt_megatron_fit f;
  schedopt_status st = schedopt_export_megatron_fit(t, o, &f, err);
  if (st) return st;
  const double tol = o->tolerance > 0 ? o->tolerance : 0.02;
  const char *u = f.samples ? "sample" : "iteration";
  if (f.max_dev > tol) {
    char what[512];
    FILE *m = fmemopen(what, sizeof what, "w");
    if (m) {
      describe(m, &f);
      fclose(m);
    } else {
      snprintf(what, sizeof what, "%s", f.decay_style);
    }
    return schedopt_error_set(
        err, SCHEDOPT_EINVAL,
        "megatron: Megatron-LM has no learning-rate schedule equivalent to '%s': the nearest "
        "(--lr-decay-style %s%s%s: %s) differs from the table by up to %.3g %% of the peak (at "
        "%s %.15g), more than the tolerance of %.3g %%.  Megatron offers a linear warmup, then "
        "constant, linear, cosine, inverse-square-root or WSD (linear, cosine, exponential = "
        "2*0.5^z - 1, minus_sqrt) decays; export the table instead (--format pytorch), or "
        "accept the nearest with a larger tolerance (--tolerance)",
        schedopt_export_name(t), f.decay_style, f.wsd_style ? " --lr-wsd-decay-style " : "",
        f.wsd_style ? f.wsd_style : "", what, 100 * f.max_dev, u, f.max_dev_at, 100 * tol);
  }
  const schedopt_row *last = &t->rows[t->n - 1];
  /* Megatron parses these flags with type=int: plain digits, exact */
  const char *us = f.samples ? "samples" : "iters";
  const struct {
    const char *flag;
    double v;
    int on;
  } ints[] = {{"train", f.train, 1},
              {"lr-decay", f.decay, 1},
              {"lr-warmup", f.warmup, 1},
              {"lr-wsd-decay", f.wsd_decay, f.wsd_style != NULL},
              {"global-batch-size", f.batch, f.batch > 0 && f.batch == floor(f.batch)}};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (ints[i].on && !(ints[i].v >= 0 && ints[i].v <= 9007199254740992.0 &&
                        ints[i].v == floor(ints[i].v)))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "megatron: --%s%s%s = %.15g is not an integer Megatron can take "
                                "exactly (0 ... 2^53)", ints[i].flag, i < 4 ? "-" : "",
                                i < 4 ? us : "", ints[i].v);
  fputs("# Megatron-LM learning-rate flags for '", fp);
  for (const char *c = schedopt_export_name(t); *c; c++) fputc(*c == '\n' ? ' ' : *c, fp);
  fprintf(fp, "' (%s), from schedopt %s.\n", schedopt_export_label(t), SCHEDOPT_VERSION);
  fprintf(fp, "# Table: %zu rows over %.15g optimizer steps, %.15g samples", t->n, last->step,
          last->samples);
  if (t->seq_len > 1)
    fprintf(fp, ", %.15g tokens (%.15g per sample)", last->samples * t->seq_len, t->seq_len);
  if (f.batch > 0)
    fprintf(fp, "; %.15g samples per iteration.\n", f.batch);
  else
    fputs("; the batch size varies.\n", fp);
  fputs("# Megatron schedule: ", fp);
  describe(fp, &f);
  fputs(".\n", fp);
  if (f.max_dev <= 1e-9)
    fputs("# It reproduces the table at every row.\n", fp);
  else
    fprintf(fp,
            "# Not exact: it differs from the table by up to %.3g %% of the peak (at %s "
            "%.15g).\n",
            100 * f.max_dev, u, f.max_dev_at);
  fprintf(fp, "# Both count %ss taken: %s k uses the rate after k %ss.\n", u, u, u);
  if (!f.samples && f.batch > 0) {
    fprintf(fp, "# In samples: train %.15g, decay %.15g, warmup %.15g", f.train * f.batch,
            f.decay * f.batch, f.warmup * f.batch);
    if (f.wsd_style) fprintf(fp, ", WSD anneal %.15g", f.wsd_decay * f.batch);
    if (t->seq_len > 1) fprintf(fp, " (x %.15g tokens per sample)", t->seq_len);
    fputs(".\n", fp);
  }
  if (f.batch <= 0)
    fputs("# Set the batch schedule yourself (--global-batch-size, --rampup-batch-size): the\n"
          "# sample-based flags below hold for any batch schedule.\n",
          fp);
  if (t->seq_len > 1)
    fprintf(fp, "# Sequence length of the table: --seq-length %.15g.\n", t->seq_len);
  fputs("# Use: source this file, then pass \"${SCHEDOPT_LR_ARGS[@]}\" to pretrain_gpt.py.\n", fp);
  fputs("SCHEDOPT_LR_ARGS=(\n", fp);
  fprintf(fp, "  --lr %.15g\n  --min-lr %.15g\n", f.lr, f.min_lr);
  if (f.warmup > 0 && f.init_lr != 0) fprintf(fp, "  --lr-warmup-init %.15g\n", f.init_lr);
  fprintf(fp, "  --lr-decay-style %s\n", f.decay_style);
  if (f.wsd_style) fprintf(fp, "  --lr-wsd-decay-style %s\n", f.wsd_style);
  fprintf(fp, "  --train-%s %.0f\n", us, f.train);
  fprintf(fp, "  --lr-decay-%s %.0f\n", us, f.decay);
  fprintf(fp, "  --lr-warmup-%s %.0f\n", us, f.warmup);
  if (f.wsd_style) fprintf(fp, "  --lr-wsd-decay-%s %.0f\n", us, f.wsd_decay);
  if (f.batch > 0 && f.batch == floor(f.batch))
    fprintf(fp, "  --global-batch-size %.0f\n", f.batch);
  fputs(")\n", fp);
  return SCHEDOPT_OK;
}
