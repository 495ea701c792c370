/* sweep_io.c — sweep reports (sweep.csv, sweep.json, summary.txt), shard
 * files and their merge.  Everything written depends only on the results
 * (no times, no thread counts), so reruns, thread counts and shard + merge
 * give byte-identical files. */
#define _POSIX_C_SOURCE 200809L
#include "sweep/sweep_impl.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/infile.h"
#include "core/outfile.h"

#define FORMAT_FULL "schedopt-sweep"
#define FORMAT_SHARD "schedopt-sweep-shard"
#define FORMAT_VERSION 1

static int is_shard(const schedopt_sweep *s) { return s->shard_n > 1; }

/* ---- text ---------------------------------------------------------------------- */

schedopt_status schedopt_sweep_write_text(const schedopt_sweep *s, FILE *f,
                                          schedopt_error *err) {
  if (!s || !f) return schedopt_error_set(err, SCHEDOPT_EINVAL, "sweep_write_text: NULL");
  fprintf(f, "schedopt sweep: %s\n", s->name);
  fprintf(f, "  sweep      %s over %zu value%s:", s->key, s->n, s->n == 1 ? "" : "s");
  for (size_t i = 0; i < s->n; i++) fprintf(f, " %s", s->cases[i].value);
  fputc('\n', f);
  if (is_shard(s))
    fprintf(f, "  shard      %zu of %zu (cases i with i mod %zu = %zu)\n", s->shard_k, s->shard_n,
            s->shard_n, s->shard_k - 1);
  const schedopt_sweep_case *ref = NULL;
  for (size_t i = 0; i < s->n && !ref; i++)
    if (s->cases[i].done && !s->cases[i].status) ref = &s->cases[i];
  schedopt_sweep_law law;
  schedopt_sweep_get_law(s, &law);
  if (ref) {
    fprintf(f, "  model      a=%g b=%g sigma2=%g: %s phase (%s)\n", ref->a, ref->b, ref->sigma2,
            law.phase ? law.phase : "?",
            ref->b < ref->a ? "b < a" : ref->b > ref->a ? "b > a" : "b = a");
    if (law.kind == SCHEDOPT_SWEEP_LAW_COMPUTE)
      fprintf(f, "  theory     compute-optimal: L* - sigma^2 ~ C^-%.4g, N* ~ C^%.4g, D* = C/N* ~ "
                 "C^%.4g (docs/theory.md, section 3a)\n",
              law.optimum, law.size, 1 - law.size);
    else if (law.kind != SCHEDOPT_SWEEP_LAW_NONE)
      fprintf(f, "  theory     %s law: L - sigma^2 ~ %s^-%.4g (best constant), %s^-%.4g (optimal "
                 "schedule) (docs/theory.md, section 3)\n",
              law.name, law.variable, law.constant, law.variable, law.optimum);
    else
      fprintf(f, "  theory     none for %s: %s\n", s->key, law.why);
    if (law.kind != SCHEDOPT_SWEEP_LAW_NONE && law.why)
      fprintf(f, "  note       %s\n", law.why);
  }
  schedopt_sweep_slope nsl;
  const int sized = schedopt_sweep_size_slope(s, &nsl);
  /* excess table: one column per schedule name */
  schedopt_sweep_slope sl[SCHEDOPT_SWEEP_MAXSLOPES];
  size_t ns;
  schedopt_sweep_slopes(s, sl, &ns);
  fprintf(f, "\n  final excess loss L - sigma^2\n  %4s %14s", "case", s->key);
  /* the optimum's parts as "bias", "variance" (their slopes keep the full names) */
  for (size_t k = 0; k < ns; k++)
    fprintf(f, " %12.12s", !strncmp(sl[k].name, "optimum ", 8) ? sl[k].name + 8 : sl[k].name);
  if (sized) fprintf(f, " %10s %14s", "N*", "D* = C/N*");
  fprintf(f, "  optimizer\n");
  size_t failed = 0, bugs = 0;
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done) continue;
    fprintf(f, "  %4zu %14s", i, c->value);
    if (c->status) {
      failed++;
      fprintf(f, "  failed: %s\n", c->message);
      continue;
    }
    for (size_t k = 0; k < ns; k++) {
      double v;
      if (schedopt_sweep_case_value(c, sl[k].name, &v))
        fprintf(f, " %12.5e", v);
      else
        fprintf(f, " %12s", "-");
    }
    if (sized) {
      if (isfinite(c->model_size))
        fprintf(f, " %10.0f %14.6g", c->model_size, c->x / c->model_size);
      else
        fprintf(f, " %10s %14s", "-", "-");
    }
    fprintf(f, "  %s, %ld evals%s\n", c->code, c->evals,
            c->contained_beaten ? ", A CONTAINED BASELINE BEATS THE OPTIMUM" : "");
    bugs += c->contained_beaten != 0;
  }
  if (is_shard(s)) {
    fprintf(f, "\n  slopes     after 'schedopt merge' of all %zu shards\n", s->shard_n);
  } else {
    fprintf(f, "\n  slopes     least squares of log(L - sigma^2) on log(%s): "
               "L - sigma^2 ~ x^-slope\n",
            s->key);
    fprintf(f, "  %-16s %8s %6s  %s\n", "schedule", "slope", "cases", "theory");
    for (size_t k = 0; k <= ns; k++) {
      const schedopt_sweep_slope *q = k < ns ? &sl[k] : &nsl;
      if (k == ns) {
        if (!sized) break;
        fprintf(f, "  model size: least squares of log N* on log(%s): N* ~ x^slope\n", s->key);
      }
      fprintf(f, "  %-16s ", q->name);
      if (isfinite(q->slope))
        fprintf(f, "%8.4f", q->slope);
      else
        fprintf(f, "%8s", "-");
      fprintf(f, " %6zu  ", q->points);
      if (isfinite(q->theory))
        fprintf(f, "%.4f  %s\n", q->theory, q->theory_rule);
      else
        fprintf(f, "-\n");
      /* x^−ζ (log x)^κ has the local slope ζ − κ/ln x: at the cases'
       * geometric mean, what a finite sweep can be expected to fit */
      const double kappa = !strcmp(q->name, "wsd")           ? law.log_wsd
                           : !strcmp(q->name, "exponential") ? law.log_exponential
                                                             : NAN;
      if (k < ns && isfinite(q->theory) && kappa > 0) {
        double lx = 0;
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
          if (s->cases[i].done && !s->cases[i].status && s->cases[i].x > 0) {
            lx += log(s->cases[i].x);
            m++;
          }
        if (m && lx / m > 1)
          fprintf(f, "  %-16s %8s %6s  %.4f  with the log factor: zeta - kappa/ln x at the "
                     "cases' geometric mean x = %.3g (kappa = %.4f)\n",
                  "", "", "", q->theory - kappa / (lx / m), exp(lx / m), kappa);
      }
    }
  }
  if (failed) fprintf(f, "  failed     %zu case%s (left out of the fits)\n", failed,
                      failed == 1 ? "" : "s");
  if (bugs) fprintf(f, "  CHECK      in %zu case%s a baseline the design contains beats the "
                       "optimum: a bug\n",
                    bugs, bugs == 1 ? "" : "s");
  if (ferror(f)) return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write the summary");
  return SCHEDOPT_OK;
}

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *to_json(const schedopt_sweep *s) {
  json_t *root = json_object();
  json_object_set_new(root, "format", json_string(is_shard(s) ? FORMAT_SHARD : FORMAT_FULL));
  json_object_set_new(root, "version", json_integer(FORMAT_VERSION));
  json_object_set_new(root, "problem", json_string(s->name));
  json_t *fp = json_object();
  json_object_set_new(fp, "problem", json_string(s->fp_problem));
  json_object_set_new(fp, "sweep", json_string(s->fp_sweep));
  json_object_set_new(root, "fingerprint", fp);
  json_t *sw = json_object(), *vals = json_array(), *xs = json_array();
  json_object_set_new(sw, "key", json_string(s->key));
  for (size_t i = 0; i < s->n; i++) {
    json_array_append_new(vals, json_string(s->cases[i].value));
    json_array_append_new(xs, num(s->cases[i].x));
  }
  json_object_set_new(sw, "values", vals);
  json_object_set_new(sw, "x", xs);
  json_object_set_new(root, "sweep", sw);
  if (is_shard(s)) {
    json_t *sh = json_object();
    json_object_set_new(sh, "k", json_integer((json_int_t)s->shard_k));
    json_object_set_new(sh, "n", json_integer((json_int_t)s->shard_n));
    json_object_set_new(root, "shard", sh);
  }
  json_t *cases = json_array();
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done) continue;
    json_t *jc = json_object();
    json_object_set_new(jc, "case", json_integer((json_int_t)i));
    json_object_set_new(jc, "value", json_string(c->value));
    json_object_set_new(jc, "x", num(c->x));
    json_object_set_new(jc, "status", json_string(schedopt_status_name(c->status)));
    if (c->status) json_object_set_new(jc, "message", json_string(c->message));
    json_object_set_new(jc, "a", num(c->a));
    json_object_set_new(jc, "b", num(c->b));
    json_object_set_new(jc, "sigma2", num(c->sigma2));
    if (!c->status) {
      json_object_set_new(jc, "optimizer_result", json_string(c->code));
      json_object_set_new(jc, "evaluations", json_integer(c->evals));
      json_object_set_new(jc, "gradient_evaluations", json_integer(c->grad_evals));
      json_object_set_new(jc, "contained_baselines_beating_optimum",
                          json_integer((json_int_t)c->contained_beaten));
      json_t *res = json_array();
      for (size_t j = 0; j < c->nres; j++) {
        json_t *r = json_object();
        json_object_set_new(r, "schedule", json_string(c->res[j].name));
        json_object_set_new(r, "label", json_string(c->res[j].label));
        json_object_set_new(r, "objective", num(c->res[j].J));
        json_object_set_new(r, "excess", num(c->res[j].excess));
        json_array_append_new(res, r);
      }
      json_object_set_new(jc, "schedules", res);
      /* the optimum's lr at t/T = k/100 (the horizons' overlay figure) */
      json_t *pr = json_array();
      for (size_t k = 0; k < SCHEDOPT_SWEEP_PROFILE; k++)
        json_array_append_new(pr, num(c->lr_profile[k]));
      json_object_set_new(jc, "horizon", num(c->horizon));
      json_object_set_new(jc, "lr_profile", pr);
      if (isfinite(c->model_size)) json_object_set_new(jc, "N_star", num(c->model_size));
      if (isfinite(c->bias)) {
        json_object_set_new(jc, "optimum_bias", num(c->bias));
        json_object_set_new(jc, "optimum_variance", num(c->variance));
      }
    }
    json_array_append_new(cases, jc);
  }
  json_object_set_new(root, "cases", cases);
  if (!is_shard(s)) {
    schedopt_sweep_slope sl[SCHEDOPT_SWEEP_MAXSLOPES];
    size_t ns;
    schedopt_sweep_slopes(s, sl, &ns);
    json_t *slopes = json_array();
    for (size_t k = 0; k < ns; k++) {
      json_t *o = json_object();
      json_object_set_new(o, "schedule", json_string(sl[k].name));
      json_object_set_new(o, "slope", num(sl[k].slope));
      json_object_set_new(o, "intercept", num(sl[k].intercept));
      json_object_set_new(o, "cases", json_integer((json_int_t)sl[k].points));
      json_object_set_new(o, "theory", num(sl[k].theory));
      json_object_set_new(o, "theory_rule",
                          sl[k].theory_rule ? json_string(sl[k].theory_rule) : json_null());
      json_array_append_new(slopes, o);
    }
    json_object_set_new(root, "slopes", slopes);
    schedopt_sweep_law law;
    schedopt_sweep_get_law(s, &law);
    json_t *lj = json_object();
    json_object_set_new(lj, "kind", json_string(law.name));
    json_object_set_new(lj, "optimum", num(law.optimum));
    json_object_set_new(lj, "constant", num(law.constant));
    json_object_set_new(lj, "wsd", num(law.wsd));
    json_object_set_new(lj, "wsd_log_power", num(law.log_wsd));
    json_object_set_new(lj, "exponential", num(law.exponential));
    json_object_set_new(lj, "exponential_log_power", num(law.log_exponential));
    json_object_set_new(lj, "model_size", num(law.size));
    json_object_set_new(lj, "note", law.why ? json_string(law.why) : json_null());
    json_object_set_new(root, "theory", lj);
    schedopt_sweep_slope nsl;
    if (schedopt_sweep_size_slope(s, &nsl)) {
      json_t *o = json_object();
      json_object_set_new(o, "slope", num(nsl.slope));
      json_object_set_new(o, "intercept", num(nsl.intercept));
      json_object_set_new(o, "cases", json_integer((json_int_t)nsl.points));
      json_object_set_new(o, "theory", num(nsl.theory));
      json_object_set_new(o, "theory_rule",
                          nsl.theory_rule ? json_string(nsl.theory_rule) : json_null());
      json_object_set_new(root, "model_size_slope", o);
    }
  }
  return root;
}

/* ---- files ---------------------------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static schedopt_status write_json(const schedopt_sweep *s, schedopt_outset *set,
                                  const char *path, schedopt_error *err) {
  json_t *root = to_json(s);
  if (!root) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  FILE *fp;
  schedopt_status st = schedopt_outset_open(set, path, &fp, err);
  if (!st && json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17) |
                                      JSON_PRESERVE_ORDER) != 0 && !ferror(fp))
    st = schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: JSON encoding failed", path);
  if (!st) fputc('\n', fp); /* write errors: the set's commit reports them */
  json_decref(root);
  return st;
}

static void csv_field(FILE *f, const char *t) {
  if (!strpbrk(t, ",\"\n\r")) {
    fputs(t, f);
    return;
  }
  fputc('"', f);
  for (; *t; t++) {
    if (*t == '"') fputc('"', f);
    fputc(*t, f);
  }
  fputc('"', f);
}

static schedopt_status write_csv(const schedopt_sweep *s, schedopt_outset *set,
                                 const char *path, schedopt_error *err) {
  FILE *f;
  schedopt_status st = schedopt_outset_open(set, path, &f, err);
  if (st) return st;
  fputs("case,", f);
  csv_field(f, s->key);
  /* a model-size search adds the case's N* (every schedule of the case ran at it) */
  schedopt_sweep_slope nsl;
  const int sized = schedopt_sweep_size_slope(s, &nsl);
  fputs(sized ? ",schedule,label,objective,excess,status,model_size\n"
              : ",schedule,label,objective,excess,status\n", f);
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done) continue;
    if (c->status) {
      fprintf(f, "%zu,%s,optimum,optimum,,,%s%s\n", i, c->value,
              schedopt_status_name(c->status), sized ? "," : "");
      continue;
    }
    for (size_t j = 0; j < c->nres; j++) {
      fprintf(f, "%zu,%s,%s,", i, c->value, c->res[j].name);
      csv_field(f, c->res[j].label);
      fprintf(f, ",%.12g,%.12g,ok", c->res[j].J, c->res[j].excess);
      if (sized && isfinite(c->model_size))
        fprintf(f, ",%.0f", c->model_size);
      else if (sized)
        fputc(',', f);
      fputc('\n', f);
    }
  }
  return SCHEDOPT_OK; /* write errors: the set's commit reports them */
}

/* In commit order: sweep.json last, so that it marks a complete result. */
const char *const schedopt_sweep_files[4] = {"sweep.csv", "summary.txt", "sweep.json", NULL};

void schedopt_sweep_shard_name(size_t k, size_t n, char *buf, size_t cap) {
  snprintf(buf, cap, "sweep-shard-%zu-of-%zu.json", k, n);
}

schedopt_status schedopt_sweep_write_set(const schedopt_sweep *s, schedopt_outset *set,
                                         const char *dir, schedopt_error *err) {
  if (!s || !set || !dir) return schedopt_error_set(err, SCHEDOPT_EINVAL, "sweep_write: NULL");
  schedopt_status st = schedopt_outfile_mkdirs(dir, err);
  if (st) return st;
  if (is_shard(s)) {
    char name[96];
    schedopt_sweep_shard_name(s->shard_k, s->shard_n, name, sizeof name);
    char *p = join(dir, name);
    if (!p) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    st = write_json(s, set, p, err);
    free(p);
    return st;
  }
  char *pc = join(dir, schedopt_sweep_files[0]), *pt = join(dir, schedopt_sweep_files[1]),
       *pj = join(dir, schedopt_sweep_files[2]);
  if (!pc || !pj || !pt) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  if (!st) st = write_csv(s, set, pc, err);
  FILE *fp;
  if (!st && !(st = schedopt_outset_open(set, pt, &fp, err)))
    st = schedopt_sweep_write_text(s, fp, err);
  if (!st) st = write_json(s, set, pj, err); /* last: marks a complete result */
  free(pc);
  free(pj);
  free(pt);
  return st;
}

schedopt_status schedopt_sweep_write(const schedopt_sweep *s, const char *dir,
                                     schedopt_error *err) {
  schedopt_outset *set = NULL;
  schedopt_status st = schedopt_outset_alloc(&set, err);
  if (!st) st = schedopt_sweep_write_set(s, set, dir, err);
  if (!st) st = schedopt_outset_commit(set, err);
  schedopt_outset_free(set);
  return st;
}

/* ---- figure ------------------------------------------------------------------------- */

/* The swept key in words, with its units. */
static const char *key_words(const char *key) {
  static const struct {
    const char *key, *words;
  } w[] = {{"budget.steps", "horizon T (steps)"},
           {"budget.samples", "budget D (samples)"},
           {"budget.tokens", "budget (tokens)"},
           {"budget.compute", "compute C = N\xc2\xb7" "D (feature\xc2\xb7samples)"},
           {"model.N", "model size N (learned modes)"},
           {"model.M", "model size M (modes)"},
           {"model.sigma2", "noise \xcf\x83\xc2\xb2"}};
  for (size_t i = 0; i < sizeof w / sizeof *w; i++)
    if (!strcmp(key, w[i].key)) return w[i].words;
  return key;
}

static const schedopt_plot_marker markers[] = {SCHEDOPT_PLOT_DOT, SCHEDOPT_PLOT_SQUARE,
                                                SCHEDOPT_PLOT_TRIANGLE, SCHEDOPT_PLOT_RING};

/* Panel 1: L − σ² of each schedule at the cases (markers), its fitted
 * C·x^(−ζ) and, where known, the theory's x^(−ζ_theory) through the fit's
 * geometric middle (dashed). */
static schedopt_status plot_scaling(const schedopt_sweep *s, schedopt_plot *fig,
                                    const schedopt_sweep_slope *sl, size_t ns, double *x,
                                    double *y, schedopt_error *err) {
  char xl[160];
  snprintf(xl, sizeof xl, "%s", key_words(s->key));
  const schedopt_plot_axes ax = {"final excess loss against the swept value", xl,
                                 "final excess loss L \xe2\x88\x92 \xcf\x83\xc2\xb2",
                                 SCHEDOPT_PLOT_LOG, SCHEDOPT_PLOT_LOG};
  size_t panel;
  schedopt_status st = schedopt_plot_add_panel(fig, &ax, &panel, err);
  for (size_t k = 0; k < ns && !st; k++) {
    size_t m = 0;
    double x0 = INFINITY, x1 = 0;
    for (size_t i = 0; i < s->n; i++) {
      const schedopt_sweep_case *c = &s->cases[i];
      if (!c->done || c->status) continue;
      if (schedopt_sweep_case_value(c, sl[k].name, &y[m])) {
        x[m++] = c->x;
        if (c->x > 0) x0 = fmin(x0, c->x), x1 = fmax(x1, c->x);
      }
    }
    char label[160]; /* ζ: U+03B6 */
    if (isnan(sl[k].slope))
      snprintf(label, sizeof label, "%.48s", sl[k].name);
    else
      snprintf(label, sizeof label, "%.48s: fit \xce\xb6 = %.3f", sl[k].name, sl[k].slope);
    const schedopt_plot_style pts = {SCHEDOPT_PLOT_NOLINE, markers[k % 4], NULL, 0, 0, 0};
    if ((st = schedopt_plot_add_series_styled(fig, panel, label, x, y, m, &pts, err))) break;
    if (isnan(sl[k].slope) || !(x1 > x0)) continue;
    /* the fitted law, and the theory's slope through the fit at √(x0·x1) */
    double lx[2] = {x0, x1}, ly[2], xm = sqrt(x0 * x1);
    for (int e = 0; e < 2; e++) ly[e] = exp(sl[k].intercept) * pow(lx[e], -sl[k].slope);
    const schedopt_plot_style line = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 0, 0};
    if ((st = schedopt_plot_add_series_styled(fig, panel, label, lx, ly, 2, &line, err))) break;
    if (isnan(sl[k].theory)) continue;
    double ym = exp(sl[k].intercept) * pow(xm, -sl[k].slope);
    for (int e = 0; e < 2; e++) ly[e] = ym * pow(lx[e] / xm, -sl[k].theory);
    char tl[160];
    snprintf(tl, sizeof tl, "%.48s: theory \xce\xb6 = %.3f", sl[k].name, sl[k].theory);
    const schedopt_plot_style th = {SCHEDOPT_PLOT_DASHED, SCHEDOPT_PLOT_NOMARK, label, 0, 0, 0};
    st = schedopt_plot_add_series_styled(fig, panel, tl, lx, ly, 2, &th, err);
  }
  return st;
}

/* Panel of a model-size search: N*(C) at the cases, the fitted C^ν and the
 * theory's ν (dashed) through the fit at √(x0·x1). */
static schedopt_status plot_size(const schedopt_sweep *s, schedopt_plot *fig,
                                 schedopt_error *err) {
  schedopt_sweep_slope nsl;
  if (!schedopt_sweep_size_slope(s, &nsl)) return SCHEDOPT_OK;
  double *x = malloc(s->n * sizeof *x), *y = malloc(s->n * sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  size_t m = 0;
  double x0 = INFINITY, x1 = 0;
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done || c->status || !isfinite(c->model_size)) continue;
    x[m] = c->x;
    y[m++] = c->model_size;
    if (c->x > 0) x0 = fmin(x0, c->x), x1 = fmax(x1, c->x);
  }
  const schedopt_plot_axes ax = {"compute-optimal model size", key_words(s->key),
                                 "N* (learned modes)", SCHEDOPT_PLOT_LOG, SCHEDOPT_PLOT_LOG};
  size_t panel;
  char label[96]; /* ν: U+03BD */
  if (isfinite(nsl.slope))
    snprintf(label, sizeof label, "N*: fit \xce\xbd = %.3f", nsl.slope);
  else
    snprintf(label, sizeof label, "N*");
  const schedopt_plot_style pts = {SCHEDOPT_PLOT_NOLINE, SCHEDOPT_PLOT_DOT, NULL, 0, 0, 0};
  schedopt_status st = schedopt_plot_add_panel(fig, &ax, &panel, err);
  if (!st) st = schedopt_plot_add_series_styled(fig, panel, label, x, y, m, &pts, err);
  if (!st && isfinite(nsl.slope) && x1 > x0) {
    double lx[2] = {x0, x1}, ly[2], xm = sqrt(x0 * x1);
    for (int e = 0; e < 2; e++) ly[e] = exp(nsl.intercept) * pow(lx[e], nsl.slope);
    const schedopt_plot_style line = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 0, 0};
    st = schedopt_plot_add_series_styled(fig, panel, label, lx, ly, 2, &line, err);
    if (!st && isfinite(nsl.theory)) {
      const double ym = exp(nsl.intercept) * pow(xm, nsl.slope);
      for (int e = 0; e < 2; e++) ly[e] = ym * pow(lx[e] / xm, nsl.theory);
      char tl[96];
      snprintf(tl, sizeof tl, "N*: theory \xce\xbd = %.3f", nsl.theory);
      const schedopt_plot_style th = {SCHEDOPT_PLOT_DASHED, SCHEDOPT_PLOT_NOMARK, label, 0, 0, 0};
      st = schedopt_plot_add_series_styled(fig, panel, tl, lx, ly, 2, &th, err);
    }
  }
  free(x);
  free(y);
  return st;
}

/* Panel 2: the optimum's η*(t/T) of every case, rescaled by
 * (T/T₀)^(1−b/a) in the easy phase (η*(t) ≈ T^(b/a−1) f(t/T),
 * docs/theory.md §3), as is in the hard phase; one colour per case. */
static schedopt_status plot_profiles(const schedopt_sweep *s, schedopt_plot *fig,
                                     schedopt_error *err) {
  double T0 = INFINITY, a = NAN, b = NAN;
  size_t have = 0;
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done || c->status || !(c->horizon > 0) || isnan(c->lr_profile[0])) continue;
    T0 = fmin(T0, c->horizon);
    a = c->a, b = c->b;
    have++;
  }
  if (!have) return SCHEDOPT_OK;
  /* rescaled only when the cases differ in horizon and the phase is easy */
  const int budget = !strncmp(s->key, "budget.", 7);
  const double e = budget && b < a && a > 0 ? 1 - b / a : 0;
  char yl[160], title[160];
  if (e > 0)
    snprintf(yl, sizeof yl, "\xce\xb7*(t) \xc2\xb7 (T/T\xe2\x82\x80)^%.3g, T\xe2\x82\x80 = %.6g",
             e, T0);
  else
    snprintf(yl, sizeof yl, "\xce\xb7*(t) (learning rate)");
  snprintf(title, sizeof title, "optimal schedules overlaid (%s)",
           e > 0 ? "easy phase: rescaled by T^(1\xe2\x88\x92" "b/a)"
                 : budget && b > a ? "hard phase: unscaled" : "unscaled");
  const schedopt_plot_axes ax = {title, "fraction of the run t/T", yl, SCHEDOPT_PLOT_LINEAR,
                                 SCHEDOPT_PLOT_LINEAR};
  size_t panel;
  schedopt_status st = schedopt_plot_add_panel(fig, &ax, &panel, err);
  double u[SCHEDOPT_SWEEP_PROFILE], v[SCHEDOPT_SWEEP_PROFILE];
  for (size_t k = 0; k < SCHEDOPT_SWEEP_PROFILE; k++)
    u[k] = (double)k / (SCHEDOPT_SWEEP_PROFILE - 1);
  const char *name = !strcmp(s->key, "budget.steps") ? "T" : s->key;
  for (size_t i = 0, j = 0; i < s->n && !st; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done || c->status || !(c->horizon > 0) || isnan(c->lr_profile[0])) continue;
    const double f = e > 0 ? pow(c->horizon / T0, e) : 1;
    for (size_t k = 0; k < SCHEDOPT_SWEEP_PROFILE; k++) v[k] = c->lr_profile[k] * f;
    char label[256];
    snprintf(label, sizeof label, "\xce\xb7* at %.128s = %.63s", name, c->value);
    /* light to dark in the order of the cases */
    const schedopt_plot_style rs = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 1,
                                    have > 1 ? (double)j / (double)(have - 1) : 1};
    st = schedopt_plot_add_series_styled(fig, panel, label, u, v, SCHEDOPT_SWEEP_PROFILE, &rs, err);
    j++;
  }
  return st;
}

schedopt_status schedopt_sweep_plot(const schedopt_sweep *s, schedopt_plot *fig,
                                    schedopt_error *err) {
  if (!s || !fig) return schedopt_error_set(err, SCHEDOPT_EINVAL, "sweep_plot: NULL");
  schedopt_sweep_slope sl[SCHEDOPT_SWEEP_MAXSLOPES];
  size_t ns;
  schedopt_sweep_slopes(s, sl, &ns);
  if (!ns)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "sweep_plot: no case has run successfully");
  double *x = malloc((s->n + 1) * sizeof *x), *y = malloc((s->n + 1) * sizeof *y);
  schedopt_status st = x && y ? plot_scaling(s, fig, sl, ns, x, y, err)
                              : schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  free(x);
  free(y);
  if (!st) st = plot_size(s, fig, err);
  if (!st) st = plot_profiles(s, fig, err);
  return st;
}

/* ---- merge ------------------------------------------------------------------------------ */

static schedopt_status bad(schedopt_error *err, const char *file, const char *what) {
  return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: not a sweep shard file: %s", file,
                            what);
}

static const char *jstr(json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static int jnum(json_t *o, const char *k, double *v) {
  json_t *j = json_object_get(o, k);
  if (json_is_null(j)) {
    *v = NAN;
    return 1;
  }
  if (!json_is_number(j)) return 0;
  *v = json_number_value(j);
  return 1;
}

static schedopt_status status_from_name(const char *t, schedopt_status *st) {
  for (int k = 0; k <= SCHEDOPT_EINTERNAL; k++)
    if (t && !strcmp(schedopt_status_name((schedopt_status)k), t)) {
      *st = (schedopt_status)k;
      return SCHEDOPT_OK;
    }
  return SCHEDOPT_EINVAL;
}

/* Read one shard file into s (allocated on the first file); whole: a whole
 * sweep's sweep.json instead (one "shard" holding every case). */
static schedopt_status read_shard(char **files, size_t fi, schedopt_sweep **ps, int **seen,
                                  const char **first, int whole, schedopt_error *err) {
  const char *file = files[fi];
  json_error_t je;
  char *text = NULL;
  size_t len = 0;
  schedopt_status rst = schedopt_infile_read(file, (size_t)256 << 20, NULL, &text, &len, err);
  if (rst) return rst;
  json_t *root = json_loadb(text, len, 0, &je);
  free(text);
  if (!root)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s:%d:%d: error: %s", file, je.line,
                              je.column, je.text);
  schedopt_status st = SCHEDOPT_OK;
  const char *fmt = jstr(root, "format");
  json_t *sw = json_object_get(root, "sweep"), *sh = json_object_get(root, "shard"),
         *fp = json_object_get(root, "fingerprint"), *cases = json_object_get(root, "cases");
  json_t *vals = json_object_get(sw, "values"), *xs = json_object_get(sw, "x");
  if (whole && (!fmt || strcmp(fmt, FORMAT_FULL))) {
    st = bad(err, file, "\"format\" is not \"" FORMAT_FULL "\" (a whole sweep's sweep.json)");
    goto done;
  }
  if (!whole && (!fmt || strcmp(fmt, FORMAT_SHARD))) {
    st = bad(err, file, fmt && !strcmp(fmt, FORMAT_FULL)
                            ? "this is a whole sweep's sweep.json (merge joins the "
                              "sweep-shard-K-of-N.json files of 'schedopt sweep --shard')"
                            : "\"format\" is not \"" FORMAT_SHARD "\"");
    goto done;
  }
  if (json_integer_value(json_object_get(root, "version")) != FORMAT_VERSION) {
    st = bad(err, file, "unsupported version");
    goto done;
  }
  const char *key = jstr(sw, "key"), *name = jstr(root, "problem"),
             *fpp = jstr(fp, "problem"), *fps = jstr(fp, "sweep");
  json_int_t k = whole ? 1 : json_integer_value(json_object_get(sh, "k")),
             n = whole ? 1 : json_integer_value(json_object_get(sh, "n"));
  size_t nv = json_array_size(vals);
  if (!key || !name || !fpp || !fps || !json_is_array(vals) || !json_is_array(xs) ||
      json_array_size(xs) != nv || nv == 0 || nv > SCHEDOPT_SWEEP_MAXCASES ||
      n < (whole ? 1 : 2) || k < 1 ||
      k > n || !json_is_array(cases) || strlen(key) >= sizeof((*ps)->key) ||
      strlen(fpp) != 16 || strlen(fps) != 16) {
    st = bad(err, file, "missing or malformed fields");
    goto done;
  }
  schedopt_sweep *s = *ps;
  if (!s) {
    if ((st = schedopt_sweep_alloc(ps, nv, err))) goto done;
    s = *ps;
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->fp_problem, sizeof s->fp_problem, "%s", fpp);
    snprintf(s->fp_sweep, sizeof s->fp_sweep, "%s", fps);
    s->shard_n = (size_t)n;
    for (size_t i = 0; i < nv; i++) {
      const char *v = json_string_value(json_array_get(vals, i));
      json_t *x = json_array_get(xs, i);
      if (!v || strlen(v) >= sizeof s->cases[i].value || !json_is_number(x)) {
        st = bad(err, file, "malformed sweep values");
        goto done;
      }
      snprintf(s->cases[i].value, sizeof s->cases[i].value, "%s", v);
      s->cases[i].x = json_number_value(x);
    }
    *first = file;
  } else {
    if (strcmp(fpp, s->fp_problem) || strcmp(name, s->name)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: error: from another problem than %s (problem fingerprint %s "
                              "vs %s: the problem file or its --set overrides differ)",
                              file, *first, fpp, s->fp_problem);
      goto done;
    }
    if (strcmp(fps, s->fp_sweep) || strcmp(key, s->key) || nv != s->n) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: error: from another sweep than %s (key or values differ)",
                              file, *first);
      goto done;
    }
    if ((size_t)n != s->shard_n) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: error: shard %lld of %lld, but %s is one of %zu shards", file,
                              (long long)k, (long long)n, *first, s->shard_n);
      goto done;
    }
  }
  if (!*seen && !(*seen = calloc(s->shard_n, sizeof **seen))) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  if ((*seen)[k - 1]) {
    st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: shard %lld of %lld given twice "
                                                  "(also %s)",
                            file, (long long)k, (long long)n, files[(*seen)[k - 1] - 1]);
    goto done;
  }
  (*seen)[k - 1] = (int)fi + 1;
  for (size_t j = 0; j < json_array_size(cases); j++) {
    json_t *jc = json_array_get(cases, j);
    json_int_t i = json_integer_value(json_object_get(jc, "case"));
    if (!json_is_integer(json_object_get(jc, "case")) || i < 0 || (size_t)i >= s->n ||
        (size_t)i % s->shard_n != (size_t)(k - 1)) {
      st = bad(err, file, "a case index outside its shard");
      goto done;
    }
    schedopt_sweep_case *c = &s->cases[i];
    if (c->done) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: case %lld appears twice", file,
                              (long long)i);
      goto done;
    }
    const char *v = jstr(jc, "value");
    double x;
    if (!v || strcmp(v, c->value) || !jnum(jc, "x", &x) || x != c->x ||
        status_from_name(jstr(jc, "status"), &c->status) || !jnum(jc, "a", &c->a) ||
        !jnum(jc, "b", &c->b) || !jnum(jc, "sigma2", &c->sigma2)) {
      st = bad(err, file, "a malformed case");
      goto done;
    }
    if (c->status) {
      snprintf(c->message, sizeof c->message, "%s", jstr(jc, "message") ? jstr(jc, "message")
                                                                         : "failed");
    } else {
      json_t *res = json_object_get(jc, "schedules");
      const char *code = jstr(jc, "optimizer_result");
      if (!code || !json_is_array(res) || json_array_size(res) < 1 ||
          json_array_size(res) > SCHEDOPT_SWEEP_MAXSCHED) {
        st = bad(err, file, "a malformed case");
        goto done;
      }
      snprintf(c->code, sizeof c->code, "%s", code);
      c->evals = (long)json_integer_value(json_object_get(jc, "evaluations"));
      c->grad_evals = (long)json_integer_value(json_object_get(jc, "gradient_evaluations"));
      c->contained_beaten = (size_t)json_integer_value(
          json_object_get(jc, "contained_baselines_beating_optimum"));
      c->nres = json_array_size(res);
      for (size_t r = 0; r < c->nres; r++) {
        json_t *jr = json_array_get(res, r);
        const char *nm = jstr(jr, "schedule"), *lb = jstr(jr, "label");
        if (!nm || !lb || !jnum(jr, "objective", &c->res[r].J) ||
            !jnum(jr, "excess", &c->res[r].excess)) {
          st = bad(err, file, "a malformed schedule result");
          goto done;
        }
        snprintf(c->res[r].name, sizeof c->res[r].name, "%s", nm);
        snprintf(c->res[r].label, sizeof c->res[r].label, "%s", lb);
      }
      /* the profile is for the figure: absent or malformed, it is not drawn */
      json_t *pr = json_object_get(jc, "lr_profile");
      if (!jnum(jc, "horizon", &c->horizon)) c->horizon = NAN;
      /* N* only in a model-size search; absent: NAN */
      if (!json_object_get(jc, "N_star") || !jnum(jc, "N_star", &c->model_size) ||
          !(c->model_size >= 1))
        c->model_size = NAN;
      /* the optimum's split only where the model has one, both parts or
       * neither (as schedopt_optimization_final_split gives it); else NAN */
      if (!jnum(jc, "optimum_bias", &c->bias) || !jnum(jc, "optimum_variance", &c->variance) ||
          !isfinite(c->bias) || !isfinite(c->variance))
        c->bias = c->variance = NAN;
      for (size_t k = 0; k < SCHEDOPT_SWEEP_PROFILE; k++) {
        json_t *v = json_array_size(pr) == SCHEDOPT_SWEEP_PROFILE ? json_array_get(pr, k) : NULL;
        c->lr_profile[k] = json_is_number(v) ? json_number_value(v) : NAN;
      }
    }
    c->done = 1;
  }
done:
  json_decref(root);
  return st;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Shard files named by paths: files as given, folders expanded (sorted). */
static schedopt_status expand(const char *const *paths, size_t n, char ***files, size_t *nf,
                              schedopt_error *err) {
  size_t cap = 16, m = 0;
  char **v = malloc(cap * sizeof *v);
  if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_status st = SCHEDOPT_OK;
  for (size_t i = 0; i < n && !st; i++) {
    struct stat sb;
    if (stat(paths[i], &sb) != 0) {
      st = schedopt_error_set(err, SCHEDOPT_EIO, "%s: error: %s", paths[i], strerror(errno));
      break;
    }
    size_t m0 = m;
    if (S_ISDIR(sb.st_mode)) {
      DIR *d = opendir(paths[i]);
      if (!d) {
        st = schedopt_error_set(err, SCHEDOPT_EIO, "%s: error: %s", paths[i], strerror(errno));
        break;
      }
      struct dirent *de;
      while ((de = readdir(d))) {
        unsigned long a, b;
        char tail[8];
        if (sscanf(de->d_name, "sweep-shard-%lu-of-%lu.jso%1s", &a, &b, tail) != 3 ||
            strcmp(de->d_name + strlen(de->d_name) - 5, ".json"))
          continue;
        if (m == cap) {
          char **nv = realloc(v, 2 * cap * sizeof *v);
          if (!nv) {
            st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
            break;
          }
          v = nv;
          cap *= 2;
        }
        if (!(v[m] = join(paths[i], de->d_name))) {
          st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
          break;
        }
        m++;
      }
      closedir(d);
      if (!st && m == m0)
        st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: error: no sweep-shard-K-of-N.json files in this folder",
                                paths[i]);
      if (!st) qsort(v + m0, m - m0, sizeof *v, cmp_str);
    } else {
      if (m == cap) {
        char **nv = realloc(v, 2 * cap * sizeof *v);
        if (!nv) {
          st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
          break;
        }
        v = nv;
        cap *= 2;
      }
      if (!(v[m] = malloc(strlen(paths[i]) + 1))) {
        st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
        break;
      }
      strcpy(v[m++], paths[i]);
    }
  }
  *files = v;
  *nf = m;
  return st;
}

schedopt_status schedopt_sweep_merge(schedopt_sweep **out, const char *const *paths, size_t n,
                                     schedopt_error *err) {
  if (!out || (n && !paths))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_merge: NULL");
  *out = NULL;
  if (n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "merge: no shard files or folders given");
  char **files = NULL;
  size_t nf = 0;
  schedopt_sweep *s = NULL;
  int *seen = NULL;
  const char *first = NULL;
  schedopt_status st = expand(paths, n, &files, &nf, err);
  for (size_t i = 0; i < nf && !st; i++) st = read_shard(files, i, &s, &seen, &first, 0, err);
  if (!st) {
    for (size_t k = 0; k < s->shard_n && !st; k++)
      if (!seen[k]) {
        char list[256];
        size_t len = 0;
        list[0] = '\0';
        for (size_t i = k; i < s->n && len < sizeof list - 16; i += s->shard_n)
          len += (size_t)snprintf(list + len, sizeof list - len, "%s%zu", len ? ", " : "", i);
        st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "merge: error: shard %zu of %zu is missing (cases %s)", k + 1,
                                s->shard_n, list);
      }
    for (size_t i = 0; i < s->n && !st; i++)
      if (!s->cases[i].done)
        st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "merge: error: case %zu (%s=%s) is missing from shard %zu",
                                i, s->key, s->cases[i].value, i % s->shard_n + 1);
  }
  for (size_t i = 0; i < nf; i++) free(files[i]);
  free(files);
  free(seen);
  if (st) {
    schedopt_sweep_free(s);
    return st;
  }
  s->shard_k = s->shard_n = 1;
  *out = s;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_sweep_read(schedopt_sweep **out, const char *path, schedopt_error *err) {
  if (!out || !path) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_read: NULL");
  *out = NULL;
  char *files[1] = {(char *)path};
  int *seen = NULL;
  const char *first = NULL;
  schedopt_sweep *s = NULL;
  schedopt_status st = read_shard(files, 0, &s, &seen, &first, 1, err);
  free(seen);
  if (st) {
    schedopt_sweep_free(s);
    return st;
  }
  *out = s;
  return SCHEDOPT_OK;
}
