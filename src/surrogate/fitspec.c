/* fitspec.c — the YAML files of `schedopt fit` and `schedopt predict`
 * (schema in docs/surrogates.md), read through yamlkv with located errors,
 * and the fit result (fit.json, jansson) that predict reads back. */
#define _POSIX_C_SOURCE 200809L
#include "surrogate/fitspec.h"

#include "core/infile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXP SCHEDOPT_SURROGATE_MAXP
#define MAX_STEPS 10000000.0

/* ------------------------------------------------------------ helpers */

#define xstrdup schedopt_ykv_strdup

/* "<loc>: error: <msg>" for entry e (key position if key). */
#define fail(err, code, e, key, ...) schedopt_ykv_error((err), (code), (e), (key), "spec", __VA_ARGS__)

static void prefix_at(schedopt_error *err, const ykv_entry *e) {
  char loc[512];
  schedopt_ykv_loc(e, 0, loc, sizeof loc);
  if (!strstr(err->msg, ": error: ")) schedopt_error_prefix(err, "%s: error: %s: ", loc, e->path);
}

/* Load the YAML text and apply the --set overrides (KEY=VALUE, YAML value). */
static schedopt_status load_entries(ykv_list *l, const char *path, const char *const *sets,
                                    size_t nsets, schedopt_error *err) {
  char *text = NULL;
  size_t len = 0;
  schedopt_status st = schedopt_ykv_read_file(path, &text, &len, err);
  if (st) return st;
  st = schedopt_ykv_parse(l, text, len, path, NULL, 1, err);
  free(text);
  for (size_t i = 0; i < nsets && !st; i++) st = schedopt_ykv_set(l, sets[i], "fit.starts=4", NULL, NULL, err);
  return st;
}

/* The start of every spec: its entries (file, then overrides), its source
 * and folder. */
static schedopt_status spec_open(ykv_list *l, const char *path, const char *const *sets,
                                 size_t nsets, char **source, char **base_dir,
                                 schedopt_error *err) {
  schedopt_status st = load_entries(l, path, sets, nsets, err);
  if (st) return st;
  *source = xstrdup(path);
  *base_dir = schedopt_ykv_dir_of(path);
  if (!*source) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  return SCHEDOPT_OK;
}

static schedopt_status get_str(const ykv_entry *e, const char **out, schedopt_error *err);
static schedopt_status get_bool(const ykv_entry *e, int *out, schedopt_error *err);
static schedopt_status get_auto_or(const ykv_entry *e, double hi, const char *what, double *out,
                                   schedopt_error *err);

/* `name:`, else the file name without .yaml/.yml. */
static schedopt_status spec_name(const ykv_list *l, const char *path, char **name,
                                 schedopt_error *err) {
  const ykv_entry *e = schedopt_ykv_get(l, "name");
  const char *str = NULL;
  schedopt_status st = e ? get_str(e, &str, err) : SCHEDOPT_OK;
  if (st) return st;
  *name = e ? xstrdup(str) : schedopt_ykv_stem_of(path);
  if (!*name) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  return SCHEDOPT_OK;
}

/* A finite decimal number. */
static schedopt_status get_num(const ykv_entry *e, double *out, schedopt_error *err) {
  if (e->kind != YKV_SCALAR || e->is_null || e->quoted) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a number, got %s", e->path, d);
  }
  const char *s = e->value;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  int ok = end != s && isfinite(v);
  while (ok && *end && isspace((unsigned char)*end)) end++;
  ok = ok && !*end;
  for (const char *q = s; ok && *q; q++)
    ok = strchr("0123456789+-.eE \t", *q) != NULL;
  char lz[512];
  if (ok && schedopt_ykv_leading_zero(s, lz, sizeof lz)) /* as in problem files */
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: %s", e->path, lz);
  if (!ok)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: '%.100s' is not a finite number", e->path, s);
  *out = v;
  return SCHEDOPT_OK;
}

static schedopt_status get_range(const ykv_entry *e, double lo, double hi, int integer, double *out,
                                 schedopt_error *err) {
  schedopt_status st = get_num(e, out, err);
  if (st) return st;
  if (*out < lo || *out > hi || (integer && *out != floor(*out)))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s = %.10g is out of range: must be %s in [%g, %g]",
                e->path, *out, integer ? "an integer" : "a number", lo, hi);
  return SCHEDOPT_OK;
}

static schedopt_status get_str(const ykv_entry *e, const char **out, schedopt_error *err) {
  if (e->kind != YKV_SCALAR || e->is_null) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a name, got %s", e->path, d);
  }
  *out = e->value;
  return SCHEDOPT_OK;
}

/* Numbers of a sequence of scalars. */
static schedopt_status get_seq(const ykv_entry *e, double **out, size_t *n, schedopt_error *err) {
  if (e->kind != YKV_SEQ) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a sequence of numbers, got %s", e->path, d);
  }
  double *v = malloc((e->n ? e->n : 1) * sizeof *v);
  if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t i = 0; i < e->n; i++) {
    ykv_entry it = *e;
    it.kind = YKV_SCALAR;
    it.value = e->items[i];
    it.is_null = 0;
    it.quoted = 0;
    it.line = e->item_line ? e->item_line[i] : e->line;
    it.col = e->item_col ? e->item_col[i] : e->col;
    schedopt_status st = get_num(&it, &v[i], err);
    if (st) {
      free(v);
      return st;
    }
  }
  *out = v;
  *n = e->n;
  return SCHEDOPT_OK;
}

/* Entry `prefix.key` or NULL. */
static const ykv_entry *at(const ykv_list *l, const char *prefix, const char *key) {
  char p[600];
  snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", key);
  return schedopt_ykv_get(l, p);
}

/* Every key directly under `prefix` must be in `allowed` (NULL-terminated). */
static schedopt_status check_keys(const ykv_list *l, const char *prefix,
                                  const char *const *allowed, schedopt_error *err) {
  int depth = *prefix ? schedopt_ykv_depth(prefix) + 1 : 1;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *e = &l->v[i];
    if ((*prefix && !schedopt_ykv_is_under(e->path, prefix)) || schedopt_ykv_depth(e->path) != depth) continue;
    const char *k = schedopt_ykv_leaf(e->path);
    int ok = 0;
    for (size_t j = 0; allowed[j] && !ok; j++) ok = !strcmp(allowed[j], k);
    if (!ok) {
      char list[512] = "";
      size_t len = 0;
      for (size_t j = 0; allowed[j] && len < sizeof list; j++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", allowed[j]);
      return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' in %s (allowed: %s)", k,
                  *prefix ? prefix : "the top level", list);
    }
  }
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------- schedule control */

/* A learning-rate control from the mapping at `prefix` (as in problem files'
 * controls.lr, plus `horizon`): *H receives the horizon if given (else NAN). */
static schedopt_status build_control(const ykv_list *l, const char *prefix, const char *base,
                                     schedopt_control **out, double *H, schedopt_error *err) {
  const ykv_entry *me = schedopt_ykv_get(l, prefix), *te = at(l, prefix, "type");
  *H = NAN;
  if (me && me->kind != YKV_MAP)
    return fail(err, SCHEDOPT_EINVAL, me, 0, "%s: expected a mapping with 'type' and the "
                "control's parameters", prefix);
  char types[512] = "";
  size_t len = 0;
  for (int i = 0; schedopt_control_types[i]; i++)
    len += (size_t)snprintf(types + len, sizeof types - len, "%s%s", i ? ", " : "",
                            schedopt_control_types[i]->name);
  if (!te) return fail(err, SCHEDOPT_EINVAL, me, 1, "%s: missing 'type' (one of: %s)", prefix, types);
  const char *tn = NULL;
  schedopt_status st = get_str(te, &tn, err);
  if (st) return st;
  const schedopt_control_type *T = schedopt_control_type_find(tn);
  if (!T) return fail(err, SCHEDOPT_EINVAL, te, 0, "%s: unknown control type '%.100s' (allowed: %s)",
                      te->path, tn, types);
  schedopt_control *c = NULL;
  if ((st = schedopt_control_alloc(&c, T, err))) return st;
  const ykv_entry *t_e = NULL, *v_e = NULL, *file_e = NULL, *tc_e = NULL, *vc_e = NULL, *ms_e = NULL,
                  *fa_e = NULL;
  int depth = schedopt_ykv_depth(prefix) + 1;
  for (size_t i = 0; i < l->n && !st; i++) {
    const ykv_entry *e = &l->v[i];
    if (!schedopt_ykv_is_under(e->path, prefix) || schedopt_ykv_depth(e->path) != depth) continue;
    const char *k = schedopt_ykv_leaf(e->path);
    const schedopt_param_info *pi = NULL;
    for (size_t j = 0; j < T->nparams; j++)
      if (!strcmp(T->params[j].name, k)) pi = &T->params[j];
    if (!strcmp(k, "type")) continue;
    if (!strcmp(k, "horizon")) {
      st = get_range(e, 1, MAX_STEPS, 0, H, err);
    } else if (pi && pi->choices) {
      const char *v = NULL;
      if (!(st = get_str(e, &v, err)) && (st = schedopt_control_set_choice(c, k, v, err)))
        prefix_at(err, e);
    } else if (pi || !strcmp(k, "warmup") || !strcmp(k, "warmup_init")) {
      double x;
      if (!(st = get_num(e, &x, err)) && (st = schedopt_control_set(c, k, x, err))) prefix_at(err, e);
    } else if (T->needs_table == 1 && !strcmp(k, "t")) t_e = e;
    else if (T->needs_table == 1 && !strcmp(k, "v")) v_e = e;
    else if (T->needs_table == 1 && !strcmp(k, "file")) file_e = e;
    else if (T->needs_table == 1 && !strcmp(k, "t_column")) tc_e = e;
    else if (T->needs_table == 1 && !strcmp(k, "v_column")) vc_e = e;
    else if (T->needs_table == 2 && !strcmp(k, "milestones")) ms_e = e;
    else if (T->needs_table == 2 && !strcmp(k, "factors")) fa_e = e;
    else {
      char keys[512] = "";
      size_t kl = 0;
      for (size_t j = 0; j < T->nparams; j++)
        kl += (size_t)snprintf(keys + kl, sizeof keys - kl, "%s, ", T->params[j].name);
      snprintf(keys + kl, sizeof keys - kl, "warmup, warmup_init, horizon%s",
               T->needs_table == 1 ? ", t, v, file, t_column, v_column"
                                   : T->needs_table == 2 ? ", milestones, factors" : "");
      st = fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' in %s (a %s control; allowed: %s)", k,
                prefix, T->name, keys);
    }
  }
  double *tv = NULL, *vv = NULL;
  size_t tn_ = 0, vn = 0;
  if (!st && T->needs_table == 1) {
    if (file_e) {
      const char *tc = "step", *vc = "lr";
      char *path = NULL;
      if ((tc_e && (st = get_str(tc_e, &tc, err))) || (vc_e && (st = get_str(vc_e, &vc, err)))) {
      } else if (file_e->kind != YKV_SCALAR || file_e->is_null) {
        st = fail(err, SCHEDOPT_EINVAL, file_e, 0, "%s: expected a file name", file_e->path);
      } else if (!(path = schedopt_ykv_resolve(base, file_e))) {
        st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      } else if ((st = schedopt_control_load_csv(c, path, tc, vc, err))) {
        prefix_at(err, file_e);
      }
      free(path);
    } else if (!t_e || !v_e) {
      st = fail(err, SCHEDOPT_EINVAL, te, 1, "%s: a table needs 't' and 'v' or 'file'", prefix);
    } else if (!(st = get_seq(t_e, &tv, &tn_, err)) && !(st = get_seq(v_e, &vv, &vn, err))) {
      if (tn_ != vn || !tn_)
        st = fail(err, SCHEDOPT_EINVAL, v_e, 1, "%s: 't' and 'v' must be non-empty and of the "
                  "same length (got %zu and %zu)", prefix, tn_, vn);
      else if ((st = schedopt_control_set_table(c, tn_, tv, vv, err)))
        prefix_at(err, t_e);
    }
  }
  if (!st && T->needs_table == 2) {
    if (!ms_e || !fa_e)
      st = fail(err, SCHEDOPT_EINVAL, te, 1, "%s: a multistep control needs 'milestones' and "
                "'factors'", prefix);
    else if (!(st = get_seq(ms_e, &tv, &tn_, err)) && !(st = get_seq(fa_e, &vv, &vn, err))) {
      if (vn != tn_ + 1)
        st = fail(err, SCHEDOPT_EINVAL, fa_e, 1, "%s: 'factors' must have one more value than "
                  "'milestones' (got %zu and %zu)", prefix, vn, tn_);
      else if ((st = schedopt_control_set_steps(c, tn_, tv, vv, err)))
        prefix_at(err, ms_e);
    }
  }
  free(tv);
  free(vv);
  if (st) {
    schedopt_control_free(c);
    return st;
  }
  *out = c;
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------------- fit spec */

static const char *const top_keys[] = {"name", "model", "curves", "fit", "params", "uncertainty",
                                       "size", "output", NULL};
static const char *const curve_keys[] = {"file", "name", "role", "smooth", "start_step", "end_step",
                                         "steps", "schedule", "warmup", "model_size",
                                         "tokens_per_step", "run", NULL};
static const char *const fit_keys[] = {"starts", "seed", "algorithm", "huber_delta", "max_points",
                                       "maxeval", "smooth", "tol", "method", "prior", "offsets",
                                       "tokens_exponent", "tokens_offset", NULL};
static const char *const size_keys[] = {"law", "shift", NULL};
static const char *const param_keys[] = {"start", "lo", "hi", "fixed", NULL};
static const char *const unc_keys[] = {"bootstrap", "segments", "level", NULL};
static const char *const out_keys[] = {"dir", "plot", NULL};

static schedopt_status get_model(const ykv_list *l, const char *source,
                                 const schedopt_surrogate_type **type, schedopt_error *err) {
  const ykv_entry *e = schedopt_ykv_get(l, "model");
  char names[128] = "";
  size_t len = 0;
  for (int i = 0; schedopt_surrogate_types[i]; i++)
    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                            schedopt_surrogate_types[i]->name);
  if (!e)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: missing 'model' (one of: %s)",
                              source, names);
  const char *v = NULL;
  schedopt_status st = get_str(e, &v, err);
  if (st) return st;
  if (!(*type = schedopt_surrogate_type_find(v)))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "model: unknown surrogate '%.100s' (allowed: %s)", v, names);
  return SCHEDOPT_OK;
}

/* One curve from `curves.<i>`. */
static schedopt_status load_curve(fitspec *s, size_t i, size_t smooth_def, schedopt_error *err) {
  ykv_list *l = &s->l;
  char pre[64];
  snprintf(pre, sizeof pre, "curves.%zu", i);
  const ykv_entry *me = schedopt_ykv_get(l, pre);
  if (!me || me->kind != YKV_MAP)
    return fail(err, SCHEDOPT_EINVAL, me, 0, "%s: expected a mapping with 'file'", pre);
  schedopt_status st = check_keys(l, pre, curve_keys, err);
  if (st) return st;
  fitspec_curve *c = &s->cv[i];
  c->start = c->end = NAN;
  c->size = c->tokens = NAN;
  snprintf(c->kind, sizeof c->kind, "logged");
  c->role = SCHEDOPT_CURVE_FIT;
  const ykv_entry *e;
  if (!(e = at(l, pre, "file")))
    return fail(err, SCHEDOPT_EINVAL, me, 1, "%s: missing 'file' (a CSV loss log: step,lr,loss)", pre);
  if (e->kind != YKV_SCALAR || e->is_null)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a file name", e->path);
  if (!(c->file = schedopt_ykv_resolve(s->base_dir, e))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  const char *name = NULL;
  const ykv_entry *ne = at(l, pre, "name");
  if (ne && (st = get_str(ne, &name, err))) return st;
  if ((st = schedopt_losscurve_load_csv(&c->curve, c->file, name, err))) {
    prefix_at(err, e);
    return st;
  }
  if ((e = at(l, pre, "role"))) {
    const char *r = NULL;
    if ((st = get_str(e, &r, err))) return st;
    if (!strcmp(r, "fit")) c->role = SCHEDOPT_CURVE_FIT;
    else if (!strcmp(r, "test")) c->role = SCHEDOPT_CURVE_TEST;
    else return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected fit or test, got '%.100s'", e->path, r);
  }
  double smooth = (double)smooth_def, steps = 0;
  if ((e = at(l, pre, "smooth")) && (st = get_range(e, 1, 1e6, 1, &smooth, err))) return st;
  if (((size_t)smooth) % 2 == 0)
    return fail(err, SCHEDOPT_EINVAL, e ? e : schedopt_ykv_get(l, "fit.smooth"), 0,
                "smooth = %g must be an odd number of rows (a centered window)", smooth);
  if ((e = at(l, pre, "start_step")) && (st = get_range(e, 0, MAX_STEPS, 0, &c->start, err))) return st;
  if ((e = at(l, pre, "end_step")) && (st = get_range(e, 0, MAX_STEPS, 0, &c->end, err))) return st;
  if ((e = at(l, pre, "steps")) && (st = get_range(e, 1, MAX_STEPS, 1, &steps, err))) return st;
  if ((e = at(l, pre, "model_size")) && (st = get_range(e, 1, 1e15, 0, &c->size, err))) return st;
  if ((e = at(l, pre, "tokens_per_step")) && (st = get_range(e, 1, 1e12, 0, &c->tokens, err)))
    return st;
  if ((e = at(l, pre, "run"))) {
    const char *r = NULL;
    if ((st = get_str(e, &r, err))) return st;
    if (!(c->run = strdup(r))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  char sp[80];
  snprintf(sp, sizeof sp, "%s.schedule", pre);
  if (schedopt_ykv_get(l, sp)) {
    schedopt_control *ctl = NULL;
    double H;
    if ((st = build_control(l, sp, s->base_dir, &ctl, &H, err))) return st;
    char tk[96];
    snprintf(tk, sizeof tk, "%s.type", sp);
    const ykv_entry *te = schedopt_ykv_get(l, tk);
    const char *tn = NULL;
    if (te && !get_str(te, &tn, NULL)) snprintf(c->kind, sizeof c->kind, "%.40s", tn);
    size_t K = (size_t)schedopt_losscurve_steps(c->curve)[schedopt_losscurve_npoints(c->curve) - 1] + 1;
    if (steps > 0 && (size_t)steps > K) K = (size_t)steps;
    if (isnan(H)) {
      /* a schedule that depends on its horizon needs it given: the log's
       * last step + 1 would be a guess (it moves a two-stage drop) */
      int depends = 0;
      for (int i = 0; i <= 16 && !depends; i++) {
        const double t = (double)K * i / 16;
        const double a = schedopt_control_eval(ctl, (double)K, t, NULL),
                     b = schedopt_control_eval(ctl, 2.0 * (double)K, t, NULL);
        depends = fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b));
      }
      if (depends) {
        st = fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, sp), 1,
                  "%s: the schedule depends on its horizon: give 'horizon' (the run's planned "
                  "length in steps; the log ends at step %zu)", sp, K - 1);
        schedopt_control_free(ctl);
        return st;
      }
      H = (double)K;
    }
    if ((st = schedopt_losscurve_set_schedule(c->curve, ctl, H, K, err)))
      prefix_at(err, schedopt_ykv_get(l, sp));
    schedopt_control_free(ctl);
    if (st) return st;
  } else if (!schedopt_losscurve_has_schedule(c->curve)) {
    return fail(err, SCHEDOPT_EINVAL, me, 1,
                "%s: %s is a sparse log (its steps are not 0, 1, 2, ... with an lr column): "
                "give its learning-rate schedule under 'schedule'", pre, c->file);
  }
  if ((e = at(l, pre, "warmup"))) {
    double w;
    if ((st = get_range(e, 0, MAX_STEPS, 0, &w, err))) return st;
    schedopt_losscurve_set_warmup(c->curve, w);
  }
  if (smooth > 1 && (st = schedopt_losscurve_smooth(c->curve, (size_t)smooth, err))) return st;
  return SCHEDOPT_OK;
}

static const char *const dtop_keys[] = {"name", "model", "curves", "fit", "params", "uncertainty",
                                        "size", "model_size", "tokens_per_step", "budget", "lr",
                                        "design", "output", NULL};

/* embedded: the fit part of a design spec (its top-level and output keys are
 * the design's) */
static schedopt_status fitspec_load_ext(fitspec *s, const char *path, const char *const *sets,
                                        size_t nsets, int embedded, schedopt_error *err);

schedopt_status schedopt_fitspec_load(fitspec *s, const char *path, const char *const *sets, size_t nsets,
                             schedopt_error *err) {
  return fitspec_load_ext(s, path, sets, nsets, 0, err);
}

static schedopt_status fitspec_load_ext(fitspec *s, const char *path, const char *const *sets,
                                        size_t nsets, int embedded, schedopt_error *err) {
  memset(s, 0, sizeof *s);
  schedopt_ykv_init(&s->l);
  schedopt_fit_options_default(&s->opts);
  /* a design reports its prediction band by default: 20 bootstrap refits
   * of the fit it makes (uncertainty.bootstrap: 0 turns them off) */
  if (embedded) s->opts.bootstrap = 20;
  schedopt_status st = spec_open(&s->l, path, sets, nsets, &s->source, &s->base_dir, err);
  if (st) return st;
  ykv_list *l = &s->l;
  if ((st = check_keys(l, "", embedded ? dtop_keys : top_keys, err)) ||
      (st = check_keys(l, "fit", fit_keys, err)) ||
      (st = check_keys(l, "uncertainty", unc_keys, err)) ||
      (!embedded && (st = check_keys(l, "output", out_keys, err))) ||
      (st = get_model(l, path, &s->type, err)))
    return st;
  const ykv_entry *e;
  const char *str = NULL;
  if ((st = spec_name(l, path, &s->name, err))) return st;
  /* fit: */
  schedopt_fit_options *o = &s->opts;
  double x, smooth = 1;
  if ((e = schedopt_ykv_get(l, "fit.starts"))) {
    if ((st = get_range(e, 1, 10000, 1, &x, err))) return st;
    o->starts = (int)x;
  }
  if ((e = schedopt_ykv_get(l, "fit.seed"))) {
    if ((st = get_range(e, 0, 4294967295.0, 1, &x, err))) return st;
    o->seed = (unsigned long)x;
  }
  if ((e = schedopt_ykv_get(l, "fit.algorithm"))) {
    if ((st = get_str(e, &str, err))) return st;
    int a = schedopt_fit_algorithm_find(str);
    if (a < 0)
      return fail(err, SCHEDOPT_EINVAL, e, 0, "fit.algorithm: unknown '%.100s' (allowed: lbfgs, "
                  "mma, bobyqa, neldermead)", str);
    o->algorithm = (schedopt_fit_algorithm)a;
  }
  if ((e = schedopt_ykv_get(l, "fit.huber_delta")) && (st = get_range(e, 1e-12, 10, 0, &o->huber_delta, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "fit.max_points"))) {
    if ((st = get_range(e, 0, 1e8, 1, &x, err))) return st;
    o->max_points = (size_t)x;
  }
  if ((e = schedopt_ykv_get(l, "fit.maxeval"))) {
    if ((st = get_range(e, 1, 1e8, 1, &x, err))) return st;
    o->maxeval = (int)x;
  }
  if ((e = schedopt_ykv_get(l, "fit.smooth")) && (st = get_range(e, 1, 1e6, 1, &smooth, err))) return st;
  if ((e = schedopt_ykv_get(l, "fit.tol")) && (st = get_range(e, 1e-14, 1e-3, 0, &o->tol, err))) return st;
  if ((e = schedopt_ykv_get(l, "fit.method"))) {
    if ((st = get_str(e, &str, err))) return st;
    if (!strcmp(str, "fast")) o->method = SCHEDOPT_SURROGATE_FAST;
    else if (!strcmp(str, "direct")) o->method = SCHEDOPT_SURROGATE_DIRECT;
    else return fail(err, SCHEDOPT_EINVAL, e, 0, "fit.method: expected fast or direct, got '%.100s'", str);
  }
  if ((e = schedopt_ykv_get(l, "fit.prior")) &&
      (st = get_auto_or(e, 1e6, "auto (chosen by cross-validation) or a strength", &o->prior, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "fit.offsets"))) {
    int b = 0;
    if ((st = get_bool(e, &b, err))) return st;
    o->offsets = b;
  }
  if ((e = schedopt_ykv_get(l, "fit.tokens_offset")) &&
      (st = get_auto_or(e, 1e12, "auto (fitted with two or more batch sizes) or a number of tokens",
                        &o->tokens_offset, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "fit.tokens_exponent")) &&
      (st = get_range(e, 0, 4, 0, &o->tokens_exp, err)))
    return st;
  /* size: {PARAM: law | {law: LAW, shift: E}} */
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *pe = &l->v[i];
    if (!schedopt_ykv_is_under(pe->path, "size") || schedopt_ykv_depth(pe->path) != 2) continue;
    const char *pn = schedopt_ykv_leaf(pe->path);
    int k = -1;
    for (size_t j = 0; j < s->type->nparams; j++)
      if (!strcmp(s->type->params[j].name, pn)) k = (int)j;
    if (k < 0)
      return fail(err, SCHEDOPT_EINVAL, pe, 1, "size: unknown parameter '%s' of %s", pn,
                  s->type->name);
    const ykv_entry *le = pe;
    if (pe->kind != YKV_SCALAR) {
      if ((st = check_keys(l, pe->path, size_keys, err))) return st;
      if (!(le = at(l, pe->path, "law")))
        return fail(err, SCHEDOPT_EINVAL, pe, 1, "%s: missing 'law' (power, log or shifted)",
                    pe->path);
    }
    const char *ln = NULL;
    if ((st = get_str(le, &ln, err))) return st;
    int law = schedopt_size_law_find(ln);
    if (law < 0)
      return fail(err, SCHEDOPT_EINVAL, le, 0, "%s: unknown size law '%.60s' (allowed: none, "
                  "power, log, shifted)", le->path, ln);
    s->size_law[k] = law;
    const ykv_entry *se = pe->kind != YKV_SCALAR ? at(l, pe->path, "shift") : NULL;
    if (law == SCHEDOPT_SIZE_SHIFTED && !se)
      return fail(err, SCHEDOPT_EINVAL, pe, 1, "%s: a shifted law needs 'shift' (the value at "
                  "infinite size, e.g. the irreducible loss)", pe->path);
    if (se && (st = get_range(se, -1e6, 1e6, 0, &s->size_shift[k], err))) return st;
  }
  if ((e = schedopt_ykv_get(l, "uncertainty.bootstrap"))) {
    if ((st = get_range(e, 0, 100000, 1, &x, err))) return st;
    o->bootstrap = (int)x;
  }
  if ((e = schedopt_ykv_get(l, "uncertainty.segments"))) {
    if ((st = get_range(e, 2, 100000, 1, &x, err))) return st;
    o->segments = (int)x;
  }
  if ((e = schedopt_ykv_get(l, "uncertainty.level")) && (st = get_range(e, 0.01, 0.999, 0, &o->level, err)))
    return st;
  if (!embedded && (e = schedopt_ykv_get(l, "output.dir"))) {
    if ((st = get_str(e, &str, err))) return st;
    if (!(s->outdir = schedopt_ykv_resolve(s->base_dir, e))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  /* output.plot: DIR/fit.svg, the fit against the observed curves */
  if (!embedded && (e = schedopt_ykv_get(l, "output.plot")) && (st = get_bool(e, &s->plot, err)))
    return st;
  /* params: */
  const schedopt_surrogate_type *T = s->type;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *pe = &l->v[i];
    if (!schedopt_ykv_is_under(pe->path, "params") || schedopt_ykv_depth(pe->path) != 2) continue;
    const char *pn = schedopt_ykv_leaf(pe->path);
    int k = -1;
    for (size_t j = 0; j < T->nparams; j++)
      if (!strcmp(T->params[j].name, pn)) k = (int)j;
    if (k < 0) {
      char names[256] = "";
      size_t len = 0;
      for (size_t j = 0; j < T->nparams; j++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", j ? ", " : "", T->params[j].name);
      return fail(err, SCHEDOPT_EINVAL, pe, 1, "unknown parameter '%s' of %s (allowed: %s)", pn,
                  T->name, names);
    }
    const schedopt_surrogate_param *p = &T->params[k];
    if (pe->kind == YKV_SCALAR) { /* params.X: value  ==  fixed */
      if ((st = get_range(pe, p->lo, p->hi, 0, &s->fixed[k], err))) return st;
      s->has_fixed[k] = 1;
      continue;
    }
    if ((st = check_keys(l, pe->path, param_keys, err))) return st;
    const ykv_entry *a = at(l, pe->path, "start"), *lo = at(l, pe->path, "lo"),
                    *hi = at(l, pe->path, "hi"), *fx = at(l, pe->path, "fixed");
    if (a && (st = get_range(a, p->lo, p->hi, 0, &s->start[k], err))) return st;
    s->has_start[k] = a != NULL;
    if (fx && (st = get_range(fx, p->lo, p->hi, 0, &s->fixed[k], err))) return st;
    s->has_fixed[k] = fx != NULL;
    s->lo[k] = p->fit_lo;
    s->hi[k] = p->fit_hi;
    if (lo && (st = get_range(lo, p->lo, p->hi, 0, &s->lo[k], err))) return st;
    if (hi && (st = get_range(hi, p->lo, p->hi, 0, &s->hi[k], err))) return st;
    if ((lo || hi) && !(s->lo[k] < s->hi[k]))
      return fail(err, SCHEDOPT_EINVAL, lo ? lo : hi, 0, "params.%s: lo = %g must be below hi = %g",
                  pn, s->lo[k], s->hi[k]);
    if (p->log_scale && (lo || hi) && !(s->lo[k] > 0))
      return fail(err, SCHEDOPT_EINVAL, lo ? lo : hi, 0,
                  "params.%s: lo must be > 0 (searched on a log scale)", pn);
    s->has_box[k] = lo || hi;
  }
  /* curves: */
  e = schedopt_ykv_get(l, "curves");
  if (!e)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: missing 'curves' (a list of loss logs)",
                              path);
  size_t nitems = 0;
  for (;; nitems++) {
    char key[64];
    snprintf(key, sizeof key, "curves.%zu", nitems);
    if (!schedopt_ykv_get(l, key)) break;
  }
  if (e->kind != YKV_LIST || nitems == 0)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "curves: expected a non-empty list of mappings "
                "(- file: ...)");
  if (!(s->cv = calloc(nitems, sizeof *s->cv))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  s->ncv = nitems;
  int nfit = 0;
  for (size_t i = 0; i < s->ncv; i++) {
    if ((st = load_curve(s, i, (size_t)smooth, err))) return st;
    nfit += s->cv[i].role == SCHEDOPT_CURVE_FIT;
  }
  if (!nfit && !schedopt_fitspec_all_fixed(s))
    return fail(err, SCHEDOPT_EINVAL, e, 1, "curves: no curve with role 'fit' (and not every "
                "parameter is fixed)");
  return SCHEDOPT_OK;
}

int schedopt_fitspec_all_fixed(const fitspec *s) {
  for (size_t k = 0; k < s->type->nparams; k++)
    if (!s->has_fixed[k]) return 0;
  return 1;
}

void schedopt_fitspec_free(fitspec *s) {
  if (!s) return;
  for (size_t i = 0; i < s->ncv; i++) {
    schedopt_losscurve_free(s->cv[i].curve);
    free(s->cv[i].file);
    free(s->cv[i].run);
  }
  free(s->cv);
  free(s->source);
  free(s->base_dir);
  free(s->name);
  free(s->outdir);
  schedopt_ykv_free(&s->l);
  memset(s, 0, sizeof *s);
}

schedopt_status schedopt_fitspec_make_fit(const fitspec *s, schedopt_fit **out, schedopt_error *err) {
  schedopt_fit *f = NULL;
  schedopt_status st = schedopt_fit_alloc(&f, s->type, err);
  for (size_t i = 0; i < s->ncv && !st; i++) {
    const fitspec_curve *c = &s->cv[i];
    if ((st = schedopt_fit_add_curve(f, c->curve, c->role, c->start, c->end, err)) ||
        (st = schedopt_fit_set_curve_info(f, i, c->size, c->tokens, c->run, err))) {
      char pre[64];
      snprintf(pre, sizeof pre, "curves.%zu", i);
      const ykv_entry *e = schedopt_ykv_get(&s->l, pre);
      if (e) prefix_at(err, e);
    }
  }
  for (size_t k = 0; k < s->type->nparams && !st; k++) {
    const char *n = s->type->params[k].name;
    if (s->has_box[k]) st = schedopt_fit_set_bounds(f, n, s->lo[k], s->hi[k], err);
    if (!st && s->has_start[k]) st = schedopt_fit_set_start(f, n, s->start[k], err);
    if (!st && s->has_fixed[k]) st = schedopt_fit_fix(f, n, s->fixed[k], err);
    if (!st && s->size_law[k])
      st = schedopt_fit_set_size_law(f, n, (schedopt_size_law)s->size_law[k], s->size_shift[k], err);
  }
  if (st) {
    schedopt_fit_free(f);
    return st;
  }
  *out = f;
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------------ fit.json */

/* The covariate laws stored in a fit result (none: references NAN). */
static schedopt_status read_laws(const char *path, json_t *root, const schedopt_surrogate_type *T,
                                 schedopt_fit_laws *lw, schedopt_error *err) {
  memset(lw, 0, sizeof *lw);
  lw->size_ref = lw->tokens_ref = NAN;
  lw->noise_param = -1;
  lw->tokens_exp = 1;
  json_t *cov = json_object_get(root, "covariates");
  json_t *ms = cov ? json_object_get(cov, "model_size") : NULL;
  json_t *tk = cov ? json_object_get(cov, "tokens_per_step") : NULL;
  if (json_is_object(ms)) {
    json_t *ref = json_object_get(ms, "reference"), *laws = json_object_get(ms, "laws");
    if (!json_is_number(ref) || !(json_number_value(ref) > 0) || !json_is_object(laws))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: covariates.model_size needs a "
                                "positive reference and laws", path);
    lw->size_ref = json_number_value(ref);
    for (size_t k = 0; k < T->nparams; k++) {
      json_t *e = json_object_get(laws, T->params[k].name);
      if (!e) continue;
      int law = schedopt_size_law_find(json_string_value(json_object_get(e, "law")));
      json_t *ex = json_object_get(e, "exponent"), *sh = json_object_get(e, "shift");
      if (law < 0 || !json_is_number(ex) || (law == SCHEDOPT_SIZE_SHIFTED && !json_is_number(sh)))
        return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: covariates.model_size.laws.%s: "
                                  "needs law (power, log, shifted), exponent (and shift)",
                                  path, T->params[k].name);
      lw->size_law[k] = law;
      lw->size_exp[k] = json_number_value(ex);
      lw->size_shift[k] = sh ? json_number_value(sh) : 0;
    }
  }
  if (json_is_object(tk)) {
    json_t *ref = json_object_get(tk, "reference"), *ex = json_object_get(tk, "exponent");
    const char *sc = json_string_value(json_object_get(tk, "scales"));
    for (size_t k = 0; sc && k < T->nparams; k++)
      if (!strcmp(T->params[k].name, sc)) lw->noise_param = (int)k;
    if (!json_is_number(ref) || !(json_number_value(ref) > 0) || lw->noise_param < 0 ||
        !json_is_number(ex))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: covariates.tokens_per_step needs a "
                                "positive reference, the parameter it scales and an exponent", path);
    lw->tokens_ref = json_number_value(ref);
    lw->tokens_exp = json_number_value(ex);
    json_t *of = json_object_get(tk, "offset");
    lw->tokens_offset = json_is_number(of) ? json_number_value(of) : 0;
    if (!(lw->tokens_offset >= 0 && lw->tokens_offset < lw->tokens_ref))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: covariates.tokens_per_step.offset = "
                                "%g must be in [0, reference)", path, lw->tokens_offset);
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_fitspec_read_result(const char *path, const schedopt_surrogate_type **type,
                                    double *theta, double **boot, size_t *nboot, double *level,
                                    schedopt_error *err) {
  return schedopt_fitspec_read_result_at(path, NAN, NAN, type, theta, boot, nboot, level, err);
}

schedopt_status schedopt_fitspec_read_result_at(const char *path, double N, double bt,
                                    const schedopt_surrogate_type **type,
                                    double *theta, double **boot, size_t *nboot, double *level,
                                    schedopt_error *err) {
  json_error_t je;
  *boot = NULL;
  *nboot = 0;
  *level = 0.9;
  char *text = NULL;
  size_t len = 0;
  schedopt_status rst = schedopt_infile_read(path, (size_t)256 << 20,
                                             "the limit for a fit result", &text, &len, err);
  if (rst) return rst;
  json_t *root = json_loadb(text, len, 0, &je);
  free(text);
  if (!root)
    return schedopt_error_set(err, je.line > 0 ? SCHEDOPT_EPARSE : SCHEDOPT_EIO,
                              "%s:%d:%d: %s", path, je.line, je.column, je.text);
  schedopt_status st = SCHEDOPT_OK;
  const char *mn = json_string_value(json_object_get(root, "model"));
  json_t *params = json_object_get(root, "params");
  if (!mn || !(*type = schedopt_surrogate_type_find(mn)) || !json_is_object(params)) {
    st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "%s: not a fit result of schedopt fit (needs \"model\" = a known "
                            "surrogate and \"params\")", path);
    goto done;
  }
  for (size_t k = 0; k < (*type)->nparams && !st; k++) {
    json_t *v = json_object_get(params, (*type)->params[k].name);
    if (!json_is_number(v))
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: params.%s is missing or not a number",
                              path, (*type)->params[k].name);
    else
      theta[k] = json_number_value(v);
  }
  json_t *b = json_object_get(root, "bootstrap");
  json_t *bp = b ? json_object_get(b, "params") : NULL;
  if (!st && json_is_array(bp) && json_array_size(bp) > 0) {
    size_t n = json_array_size(bp), np = (*type)->nparams;
    double *v = malloc(n * np * sizeof *v);
    if (!v) {
      st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n && !st; i++) {
      json_t *row = json_array_get(bp, i);
      for (size_t k = 0; k < np && !st; k++) {
        json_t *x = json_array_get(row, k);
        if (!json_is_number(x))
          st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: bootstrap.params[%zu] is not a "
                                  "list of %zu numbers", path, i, np);
        else
          v[i * np + k] = json_number_value(x);
      }
    }
    if (st) free(v);
    else {
      *boot = v;
      *nboot = n;
      json_t *lv = json_object_get(b, "level");
      if (json_is_number(lv)) *level = json_number_value(lv);
    }
  }
  if (!st) { /* θ at the requested model size and tokens per step */
    schedopt_fit_laws lw;
    if ((st = read_laws(path, root, *type, &lw, err))) goto done;
    if (!isnan(N) && !isfinite(lw.size_ref)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: model_size = %g: this fit has no size "
                              "laws (its curves had one model size; fit curves of two or more "
                              "sizes with model_size and size laws)", path, N);
      goto done;
    }
    if (!isnan(bt) && !isfinite(lw.tokens_ref)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: tokens_per_step = %g: this fit has no "
                              "tokens-per-step reference (give tokens_per_step for its curves)",
                              path, bt);
      goto done;
    }
    double th[MAXP];
    if ((st = schedopt_fit_laws_apply(*type, &lw, theta, N, bt, th, err))) goto done;
    memcpy(theta, th, (*type)->nparams * sizeof *th);
    /* every refit with its own exponents, when stored */
    json_t *xn = json_object_get(json_object_get(root, "bootstrap"), "extra_names");
    json_t *xr = json_object_get(json_object_get(root, "bootstrap"), "extras");
    size_t np = (*type)->nparams;
    for (size_t i = 0; i < *nboot && !st; i++) {
      schedopt_fit_laws li = lw;
      json_t *row = json_is_array(xr) ? json_array_get(xr, i) : NULL;
      for (size_t k = 0; row && k < np; k++) {
        char nm[80];
        snprintf(nm, sizeof nm, "size_exponent[%s]", (*type)->params[k].name);
        for (size_t j = 0; j < json_array_size(xn); j++)
          if (!strcmp(json_string_value(json_array_get(xn, j)) ? json_string_value(json_array_get(xn, j)) : "", nm) &&
              json_is_number(json_array_get(row, j)))
            li.size_exp[k] = json_number_value(json_array_get(row, j));
      }
      st = schedopt_fit_laws_apply(*type, &li, *boot + i * np, N, bt, th, err);
      if (!st) memcpy(*boot + i * np, th, np * sizeof *th);
    }
  }
done:
  json_decref(root);
  return st;
}

schedopt_status schedopt_fit_load_result(const char *path, schedopt_surrogate **out,
                                         size_t *nboot, schedopt_error *err) {
  if (!path || !out) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_load_result: NULL argument");
  const schedopt_surrogate_type *T = NULL;
  double th[MAXP], *boot = NULL, level;
  size_t nb = 0;
  schedopt_status st = schedopt_fitspec_read_result(path, &T, th, &boot, &nb, &level, err);
  free(boot);
  if (st) return st;
  schedopt_surrogate *s = NULL;
  if ((st = schedopt_surrogate_alloc(&s, T, err))) return st;
  if ((st = schedopt_surrogate_set_params(s, th, err))) {
    schedopt_error_prefix(err, "%s: ", path);
    schedopt_surrogate_free(s);
    return st;
  }
  if (nboot) *nboot = nb;
  *out = s;
  return SCHEDOPT_OK;
}

/* ---------------------------------------------------------- predict spec */

/* model: a fit.json (resolved into *model_file), or {type: ..., params: {...}} */
static schedopt_status read_model(const ykv_list *l, const char *base_dir, const char *path,
                                  char **model_file, const schedopt_surrogate_type **type,
                                  double *theta, double **boot, size_t *nboot, double *level,
                                  schedopt_error *err) {
  const ykv_entry *e;
  const char *str = NULL;
  schedopt_status st;
  /* where to predict: a model size and tokens per step the fit may not have seen */
  double N = NAN, b = NAN;
  const ykv_entry *ne = schedopt_ykv_get(l, "model_size"), *be = schedopt_ykv_get(l, "tokens_per_step");
  if (ne && (st = get_range(ne, 1, 1e15, 0, &N, err))) return st;
  if (be && (st = get_range(be, 1, 1e12, 0, &b, err))) return st;
  e = schedopt_ykv_get(l, "model");
  if (!e)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: missing 'model' (a fit result "
                              "fit.json, or type: and params:)", path);
  if (e->kind == YKV_SCALAR && !e->is_null) {
    if (!(*model_file = schedopt_ykv_resolve(base_dir, e))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    if ((st = schedopt_fitspec_read_result_at(*model_file, N, b, type, theta, boot, nboot, level,
                                              err))) {
      prefix_at(err, ne && strstr(err->msg, "model_size") ? ne : be && strstr(err->msg, "tokens_per_step") ? be : e);
      return st;
    }
  } else if (e->kind == YKV_MAP) {
    if (ne || be)
      return fail(err, SCHEDOPT_EINVAL, ne ? ne : be, 0, "%s: only a fit result (model: "
                  "fit.json) fitted with that covariate can be moved to another %s",
                  ne ? "model_size" : "tokens_per_step", ne ? "model size" : "batch");
    static const char *const mk[] = {"type", "params", NULL};
    if ((st = check_keys(l, "model", mk, err))) return st;
    const ykv_entry *te = schedopt_ykv_get(l, "model.type");
    if (!te) return fail(err, SCHEDOPT_EINVAL, e, 1, "model: missing 'type' (fsl-llm or mpl)");
    if ((st = get_str(te, &str, err))) return st;
    if (!((*type) = schedopt_surrogate_type_find(str)))
      return fail(err, SCHEDOPT_EINVAL, te, 0, "model.type: unknown surrogate '%.100s' (allowed: "
                  "fsl-llm, mpl)", str);
    const char *names[MAXP + 1] = {0};
    for (size_t k = 0; k < (*type)->nparams; k++) names[k] = (*type)->params[k].name;
    if ((st = check_keys(l, "model.params", names, err))) return st;
    for (size_t k = 0; k < (*type)->nparams; k++) {
      const schedopt_surrogate_param *p = &(*type)->params[k];
      char key[64];
      snprintf(key, sizeof key, "model.params.%s", p->name);
      const ykv_entry *pe = schedopt_ykv_get(l, key);
      if (!pe) return fail(err, SCHEDOPT_EINVAL, e, 1, "model.params: missing %s", p->name);
      if ((st = get_range(pe, p->lo, p->hi, 0, &theta[k], err))) return st;
    }
  } else {
    return fail(err, SCHEDOPT_EINVAL, e, 0, "model: expected a fit result file or a mapping "
                "with type and params");
  }
  return SCHEDOPT_OK;
}

static const char *const ptop_keys[] = {"name", "model", "model_size", "tokens_per_step",
                                        "schedule", "output", "compare", NULL};
static const char *const psched_keys[] = {"steps", "lr", NULL};
static const char *const pout_keys[] = {"file", "every", "steps", "start", NULL};
static const char *const pcmp_keys[] = {"file", "smooth", "start_step", NULL};

schedopt_status schedopt_predspec_load(predspec *s, const char *path, const char *const *sets, size_t nsets,
                              schedopt_error *err) {
  memset(s, 0, sizeof *s);
  schedopt_ykv_init(&s->l);
  s->level = 0.9;
  s->compare_start = NAN;
  schedopt_status st = spec_open(&s->l, path, sets, nsets, &s->source, &s->base_dir, err);
  if (st) return st;
  ykv_list *l = &s->l;
  if ((st = check_keys(l, "", ptop_keys, err)) || (st = check_keys(l, "schedule", psched_keys, err)) ||
      (st = check_keys(l, "output", pout_keys, err)) || (st = check_keys(l, "compare", pcmp_keys, err)))
    return st;
  const ykv_entry *e;
  const char *str = NULL;
  if ((st = spec_name(l, path, &s->name, err))) return st;
  /* model: a fit.json, or {type: ..., params: {...}} */
  if ((st = read_model(l, s->base_dir, path, &s->model_file, &s->type, s->theta, &s->boot,
                       &s->nboot, &s->level, err)))
    return st;
  /* schedule */
  if (!schedopt_ykv_get(l, "schedule.lr"))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: missing 'schedule.lr' (the "
                              "learning-rate control)", path);
  double steps = 0, H;
  if (!(e = schedopt_ykv_get(l, "schedule.steps")))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: missing 'schedule.steps' (the "
                              "number of steps)", path);
  if ((st = get_range(e, 1, MAX_STEPS, 1, &steps, err))) return st;
  schedopt_control *ctl = NULL;
  if ((st = build_control(l, "schedule.lr", s->base_dir, &ctl, &H, err))) return st;
  s->K = (size_t)steps;
  if (isnan(H)) H = steps;
  if (!(s->eta = malloc(s->K * sizeof *s->eta))) {
    schedopt_control_free(ctl);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu steps", s->K);
  }
  for (size_t k = 0; k < s->K && !st; k++) {
    double t = (double)k;
    s->eta[k] = schedopt_control_eval(ctl, H, t > H ? H : t, NULL);
    if (!(s->eta[k] >= 0) || !isfinite(s->eta[k]))
      st = fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, "schedule.lr"), 0,
                "schedule.lr gives lr = %g at step %zu (must be >= 0)", s->eta[k], k);
  }
  schedopt_control_free(ctl);
  if (st) return st;
  /* output steps: explicit list, or every N steps from `start` (default:
   * the first step with a nonzero learning rate before it) and the last */
  double every = 1, start = -1;
  if ((e = schedopt_ykv_get(l, "output.file"))) {
    if ((st = get_str(e, &str, err))) return st;
    if (!(s->outfile = schedopt_ykv_resolve(s->base_dir, e))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if ((e = schedopt_ykv_get(l, "output.every")) && (st = get_range(e, 1, MAX_STEPS, 1, &every, err))) return st;
  if ((e = schedopt_ykv_get(l, "output.start")) && (st = get_range(e, 0, steps - 1, 1, &start, err))) return st;
  size_t first = 0;
  double T = 0;
  while (first < s->K && !((T += s->eta[first]) > 0)) first++;
  if (first == s->K)
    return fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, "schedule.lr"), 0,
                "schedule.lr is zero at every step: the loss is undefined");
  if ((e = schedopt_ykv_get(l, "output.steps"))) {
    double *v;
    size_t n;
    if ((st = get_seq(e, &v, &n, err))) return st;
    s->out = malloc((n ? n : 1) * sizeof *s->out);
    if (!s->out) {
      free(v);
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && !st; i++) {
      if (!(v[i] >= (double)first && v[i] < steps && v[i] == floor(v[i])) ||
          (i && !(v[i] > v[i - 1])))
        st = fail(err, SCHEDOPT_EINVAL, e, 0, "output.steps[%zu] = %g must be an integer step in "
                  "[%zu, %.0f) (the loss is undefined before the first nonzero lr), increasing",
                  i, v[i], first, steps);
      else
        s->out[s->nout++] = (size_t)v[i];
    }
    free(v);
    if (st) return st;
  } else {
    size_t a = start >= 0 ? (size_t)start : first;
    if (a < first) a = first;
    size_t n = (s->K - 1 - a) / (size_t)every + 2;
    if (!(s->out = malloc(n * sizeof *s->out))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    for (size_t k = a; k < s->K; k += (size_t)every) s->out[s->nout++] = k;
    if (s->out[s->nout - 1] != s->K - 1) s->out[s->nout++] = s->K - 1;
  }
  /* compare: an observed curve scored at the output steps it logs */
  if ((e = schedopt_ykv_get(l, "compare.file"))) {
    char *file = schedopt_ykv_resolve(s->base_dir, e);
    if (!file) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    st = schedopt_losscurve_load_csv(&s->compare, file, NULL, err);
    free(file);
    if (st) {
      prefix_at(err, e);
      return st;
    }
    double w = 1;
    const ykv_entry *we = schedopt_ykv_get(l, "compare.smooth");
    if (we && (st = get_range(we, 1, 1e6, 1, &w, err))) return st;
    if (((size_t)w) % 2 == 0)
      return fail(err, SCHEDOPT_EINVAL, we, 0, "compare.smooth = %g must be odd", w);
    if (w > 1 && (st = schedopt_losscurve_smooth(s->compare, (size_t)w, err))) return st;
    if ((we = schedopt_ykv_get(l, "compare.start_step")) &&
        (st = get_range(we, 0, MAX_STEPS, 0, &s->compare_start, err)))
      return st;
    /* every logged step inside the prediction is an output row too, so the
     * observed column is filled wherever the run logged a loss */
    const size_t cn = schedopt_losscurve_npoints(s->compare);
    const double *cs = schedopt_losscurve_steps(s->compare);
    size_t *m = malloc((s->nout + cn + 1) * sizeof *m), nm = 0, i = 0, j = 0;
    if (!m) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    while (i < s->nout || j < cn) {
      const int logged_ok = j < cn && cs[j] >= (double)first && cs[j] < (double)s->K;
      if (j < cn && !logged_ok) {
        j++;
        continue;
      }
      size_t next;
      if (j >= cn || (i < s->nout && (double)s->out[i] <= cs[j]))
        next = s->out[i++];
      else
        next = (size_t)cs[j++];
      if (!nm || m[nm - 1] != next) m[nm++] = next;
    }
    free(s->out);
    s->out = m;
    s->nout = nm;
  } else if (schedopt_ykv_get(l, "compare")) {
    return fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, "compare"), 1, "compare: missing 'file'");
  }
  return SCHEDOPT_OK;
}

void schedopt_predspec_free(predspec *s) {
  if (!s) return;
  free(s->source);
  free(s->base_dir);
  free(s->name);
  free(s->model_file);
  free(s->boot);
  free(s->eta);
  free(s->out);
  free(s->outfile);
  schedopt_losscurve_free(s->compare);
  schedopt_ykv_free(&s->l);
  memset(s, 0, sizeof *s);
}

/* ----------------------------------------------------------- design spec */

static const char *const dbudget_keys[] = {"steps", "tokens", "batch", "seq_len", NULL};
static const char *const dlr_keys[] = {"peak", "floor", "warmup", "warmup_shape", "tune_peak", NULL};
static const char *const ddesign_keys[] = {"parametrization", "knots", "monotone", "algorithm",
                                           "ftol_rel", "maxeval", "baselines", "trainers", NULL};
static const char *const dout_keys[] = {"dir", "every", "export", "format", "plot", NULL};
static const char *const dexport_keys[] = {"formats", NULL};

static schedopt_status get_bool(const ykv_entry *e, int *out, schedopt_error *err) {
  const char *v = NULL;
  schedopt_status st = get_str(e, &v, err);
  if (st) return st;
  if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) *out = 1;
  else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) *out = 0;
  else return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected true or false, got '%.100s'", e->path, v);
  return SCHEDOPT_OK;
}

/* "auto" (→ NAN: the library chooses) or a number in [0, hi]. */
static schedopt_status get_auto_or(const ykv_entry *e, double hi, const char *what, double *out,
                                   schedopt_error *err) {
  if (e->kind == YKV_SCALAR && !e->is_null && !strcmp(e->value, "auto")) {
    *out = NAN;
    return SCHEDOPT_OK;
  }
  if (!get_range(e, 0, hi, 0, out, NULL)) return SCHEDOPT_OK;
  return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected %s in [0, %g], got '%.60s'", e->path,
              what, hi, e->kind == YKV_SCALAR ? e->value : "a collection");
}

/* A name among `names` (n of them): its index. */
static schedopt_status get_choice(const ykv_entry *e, const char *const *names, int n, int *out,
                                  schedopt_error *err) {
  const char *v = NULL;
  schedopt_status st = get_str(e, &v, err);
  if (st) return st;
  char list[256] = "";
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    if (!strcmp(v, names[i])) {
      *out = i;
      return SCHEDOPT_OK;
    }
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
  }
  return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: unknown '%.100s' (allowed: %s)", e->path, v, list);
}

/* design.trainers: a list of trainers ("megatron", …: every type of it)
 * and trainer schedule types ("megatron-wsd-minus_sqrt", …), or one of
 * them, or "none" / [] for none. */
static schedopt_status get_trainers(const ykv_entry *e, designspec *s, schedopt_error *err) {
  size_t n = e->kind == YKV_SEQ ? e->n : 1;
  if (e->kind != YKV_SEQ && e->kind != YKV_SCALAR)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a list of trainers or schedule types",
                e->path);
  s->ntrainers = 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = e->kind == YKV_SEQ ? e->items[i] : e->value;
    if (e->kind == YKV_SCALAR && (e->is_null || !strcmp(v, "none"))) return SCHEDOPT_OK;
    if (n == 1 && !strcmp(v, "none")) return SCHEDOPT_OK; /* [none] */
    const schedopt_trainer_type *T = schedopt_trainer_type_find(v);
    int any = 0;
    for (size_t j = 0; schedopt_trainer_types[j]; j++) {
      const schedopt_trainer_type *U = schedopt_trainer_types[j];
      if (U != T && strcmp(U->trainer, v)) continue;
      any = 1;
      int dup = 0;
      for (size_t k = 0; k < s->ntrainers; k++) dup |= s->trainers[k] == U;
      if (!dup && s->ntrainers < 32) s->trainers[s->ntrainers++] = U;
    }
    if (!any) {
      char list[1024] = "";
      size_t len = 0;
      for (size_t j = 0; schedopt_trainer_names[j]; j++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "",
                                schedopt_trainer_names[j]);
      for (size_t j = 0; schedopt_trainer_types[j] && len < sizeof list; j++)
        len += (size_t)snprintf(list + len, sizeof list - len, ", %s",
                                schedopt_trainer_types[j]->name);
      ykv_entry item = *e;
      if (e->kind == YKV_SEQ && e->item_line) item.line = e->item_line[i], item.col = e->item_col[i];
      return fail(err, SCHEDOPT_EINVAL, &item, 0, "%s: unknown trainer '%.100s' (allowed: none, %s)",
                  e->path, v, list);
    }
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_designspec_load(designspec *s, const char *path, const char *const *sets,
                                size_t nsets, schedopt_error *err) {
  memset(s, 0, sizeof *s);
  schedopt_ykv_init(&s->l);
  s->level = 0.9;
  s->floor = 0;
  s->monotone = 1;
  s->baselines = 1;
  for (size_t i = 0; schedopt_trainer_types[i] && i < 32; i++)
    s->trainers[s->ntrainers++] = schedopt_trainer_types[i]; /* all, by default */
  s->knots = 64;
  s->ftol_rel = 1e-10;
  s->maxeval = 3000;
  s->every = 1;
  s->format = -1;
  schedopt_status st = spec_open(&s->l, path, sets, nsets, &s->source, &s->base_dir, err);
  if (st) return st;
  const ykv_list *l = &s->l;
  if ((st = check_keys(l, "", dtop_keys, err)) || (st = check_keys(l, "budget", dbudget_keys, err)) ||
      (st = check_keys(l, "lr", dlr_keys, err)) || (st = check_keys(l, "design", ddesign_keys, err)) ||
      (st = check_keys(l, "output", dout_keys, err)))
    return st;
  const ykv_entry *e;
  const char *str = NULL;
  if ((st = spec_name(l, path, &s->name, err))) return st;
  /* the surrogate: fitted here (curves:), or given (model: FILE or a mapping) */
  /* model: FILE beside curves (e.g. --set model=out/fit.json on a spec that
   * fits): the result is used as is and the curves are not refitted */
  const ykv_entry *me = schedopt_ykv_get(l, "model");
  s->refit_skipped = schedopt_ykv_get(l, "curves") && me && me->kind == YKV_SCALAR && !me->is_null &&
                     !schedopt_surrogate_type_find(me->value);
  if (schedopt_ykv_get(l, "curves") && !s->refit_skipped) {
    if ((st = fitspec_load_ext(&s->fit, path, sets, nsets, 1, err))) return st;
    s->has_fit = 1;
    s->type = s->fit.type;
    s->level = s->fit.opts.level;
  } else {
    static const char *const no_fit[] = {"fit", "params", "uncertainty", NULL};
    for (int i = 0; no_fit[i] && !s->refit_skipped; i++)
      if ((e = schedopt_ykv_get(l, no_fit[i])))
        return fail(err, SCHEDOPT_EINVAL, e, 1, "'%s' belongs to a fit: give 'curves' (loss logs "
                    "to fit) or drop it", no_fit[i]);
    if ((st = read_model(l, s->base_dir, path, &s->model_file, &s->type, s->theta, &s->boot,
                         &s->nboot, &s->level, err)))
      return st;
  }
  /* budget */
  const ykv_entry *se = schedopt_ykv_get(l, "budget.steps"), *te = schedopt_ykv_get(l, "budget.tokens");
  if (!schedopt_ykv_get(l, "budget") || (!se && !te) || (se && te))
    return fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, "budget"), 1,
                "budget: give exactly one of 'steps' or 'tokens' (with batch and seq_len)");
  if (se && (st = get_range(se, 2, MAX_STEPS, 1, &s->steps, err))) return st;
  if (te) {
    const ykv_entry *be = schedopt_ykv_get(l, "budget.batch"), *qe = schedopt_ykv_get(l, "budget.seq_len");
    if (!be || !qe)
      return fail(err, SCHEDOPT_EINVAL, te, 1, "budget.tokens needs budget.batch (sequences per "
                  "step) and budget.seq_len (tokens per sequence)");
    if ((st = get_range(te, 1, 1e18, 0, &s->tokens, err)) ||
        (st = get_range(be, 1, 1e9, 0, &s->batch, err)) ||
        (st = get_range(qe, 1, 1e9, 0, &s->seq_len, err)))
      return st;
    double K = floor(s->tokens / (s->batch * s->seq_len) * (1 + 1e-12));
    if (K < 2 || K > MAX_STEPS)
      return fail(err, SCHEDOPT_EINVAL, te, 0, "budget.tokens = %g at %g tokens per step is %.0f "
                  "steps: must be in [2, %.0f]", s->tokens, s->batch * s->seq_len, K, MAX_STEPS);
  } else {
    const ykv_entry *be = schedopt_ykv_get(l, "budget.batch"), *qe = schedopt_ykv_get(l, "budget.seq_len");
    if (be && (st = get_range(be, 1, 1e9, 0, &s->batch, err))) return st;
    if (qe && (st = get_range(qe, 1, 1e9, 0, &s->seq_len, err))) return st;
  }
  double K = se ? s->steps : floor(s->tokens / (s->batch * s->seq_len) * (1 + 1e-12));
  /* lr */
  if (!(e = schedopt_ykv_get(l, "lr.peak")))
    return fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, "lr"), 1, "lr: missing 'peak' (the largest "
                "learning rate allowed)");
  if ((st = get_range(e, 1e-12, 1e3, 0, &s->peak, err))) return st;
  if ((e = schedopt_ykv_get(l, "lr.floor"))) {
    if ((st = get_range(e, 0, 1e3, 0, &s->floor, err))) return st;
    if (!(s->floor < s->peak))
      return fail(err, SCHEDOPT_EINVAL, e, 0, "lr.floor = %g must be below lr.peak = %g", s->floor,
                  s->peak);
  }
  if ((e = schedopt_ykv_get(l, "lr.warmup")) && (st = get_range(e, 0, K - 2, 1, &s->warmup, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "lr.warmup_shape")) &&
      (st = get_choice(e, (const char *const[]){"linear", "cosine"}, 2, &s->warmup_shape, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "lr.tune_peak")) && (st = get_bool(e, &s->tune_peak, err))) return st;
  /* design */
  if ((e = schedopt_ykv_get(l, "design.parametrization")) &&
      (st = get_choice(e, (const char *const[]){"knots", "steps", "wsd"}, 3, &s->param, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "design.knots")) && (st = get_range(e, 2, 4096, 1, &s->knots, err))) return st;
  if ((e = schedopt_ykv_get(l, "design.monotone")) && (st = get_bool(e, &s->monotone, err))) return st;
  if ((e = schedopt_ykv_get(l, "design.algorithm")) &&
      (st = get_choice(e, (const char *const[]){"lbfgs", "mma", "ccsaq"}, 3, &s->algorithm, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "design.ftol_rel")) && (st = get_range(e, 0, 1e-2, 0, &s->ftol_rel, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "design.maxeval")) && (st = get_range(e, 1, 1e7, 1, &s->maxeval, err)))
    return st;
  if ((e = schedopt_ykv_get(l, "design.baselines")) && (st = get_bool(e, &s->baselines, err))) return st;
  if ((e = schedopt_ykv_get(l, "design.trainers")) && (st = get_trainers(e, s, err))) return st;
  if (K < 3) { /* DeepSpeed runs its first two steps at 0: out of the default, refused by name */
    size_t n = 0;
    for (size_t i = 0; i < s->ntrainers; i++) {
      if (strcmp(s->trainers[i]->trainer, "deepspeed")) s->trainers[n++] = s->trainers[i];
      else if (e)
        return fail(err, SCHEDOPT_EINVAL, e, 0, "design.trainers: %s needs steps >= 3 (DeepSpeed "
                    "runs its first two steps at learning rate 0); the budget is %.0f steps",
                    s->trainers[i]->name, K);
    }
    s->ntrainers = n;
  }
  if (!s->monotone && s->type == schedopt_surrogate_mpl && s->param != 2)
    return fail(err, SCHEDOPT_EINVAL, schedopt_ykv_get(l, "design.monotone"), 0,
                "design.monotone = false with mpl: the multi-power law rewards raising the "
                "learning rate after a drop without bound (it models non-increasing schedules)");
  /* output */
  if ((e = schedopt_ykv_get(l, "output.dir"))) {
    if ((st = get_str(e, &str, err))) return st;
    if (!(s->outdir = schedopt_ykv_resolve(s->base_dir, e))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if ((e = schedopt_ykv_get(l, "output.every")) && (st = get_range(e, 1, MAX_STEPS, 1, &s->every, err)))
    return st;
  /* output.plot: DIR/design.svg, the design beside its baselines */
  if ((e = schedopt_ykv_get(l, "output.plot")) && (st = get_bool(e, &s->plot, err))) return st;
  /* output.export, as in problem files: a format, a list, or {formats: …};
   * output.format is its older spelling (one format) */
  static const char *const fnames[] = {"csv", "json", "pytorch", "megatron", "nanogpt", "hf",
                                       "torchtitan", "olmo_core", "deepspeed"};
  const ykv_entry *xe = schedopt_ykv_get(l, "output.export"), *fe = schedopt_ykv_get(l, "output.format");
  if (xe && fe)
    return fail(err, SCHEDOPT_EINVAL, fe, 1, "output.format and output.export both given: "
                "output.format is the older spelling of output.export; keep one");
  if (xe && xe->kind == YKV_MAP) {
    if ((st = check_keys(l, "output.export", dexport_keys, err))) return st;
    if (!(fe = schedopt_ykv_get(l, "output.export.formats")))
      return fail(err, SCHEDOPT_EINVAL, xe, 0, "output.export: 'formats' is required in the mapping");
  } else if (xe) {
    fe = xe;
  }
  s->formats = 0;
  if (fe && fe->kind == YKV_SEQ) {
    for (size_t i = 0; i < fe->n; i++) {
      ykv_entry item = *fe;
      item.kind = YKV_SCALAR, item.value = fe->items[i], item.is_null = 0, item.quoted = 1;
      if (fe->item_line) item.line = fe->item_line[i], item.col = fe->item_col[i];
      int f;
      if ((st = get_choice(&item, fnames, 9, &f, err))) return st;
      s->formats |= 1u << f;
    }
  } else if (fe) {
    int f;
    if ((st = get_choice(fe, fnames, 9, &f, err))) return st;
    s->formats = 1u << f;
  }
  s->format = -1;
  for (int f = 0; f < 9 && s->format < 0; f++)
    if (s->formats & (1u << f)) s->format = f;
  return SCHEDOPT_OK;
}

void schedopt_designspec_free(designspec *s) {
  if (!s) return;
  if (s->has_fit) schedopt_fitspec_free(&s->fit);
  free(s->source);
  free(s->base_dir);
  free(s->name);
  free(s->model_file);
  free(s->boot);
  free(s->outdir);
  schedopt_ykv_free(&s->l);
  memset(s, 0, sizeof *s);
}

schedopt_status schedopt_designspec_covariates(const designspec *s, double *N, double *b,
                                               const ykv_entry **ne, const ykv_entry **be,
                                               schedopt_error *err) {
  const ykv_list *l = s->has_fit ? &s->fit.l : &s->l;
  const ykv_entry *n = schedopt_ykv_get(l, "model_size"), *t = schedopt_ykv_get(l, "tokens_per_step");
  schedopt_status st;
  *N = *b = NAN;
  if (ne) *ne = n;
  if (be) *be = t;
  if (n && (st = get_range(n, 1, 1e15, 0, N, err))) return st;
  if (t && (st = get_range(t, 1, 1e12, 0, b, err))) return st;
  return SCHEDOPT_OK;
}
