/* optimize_spec.c — a problem's optimize: section → schedopt_optimize_spec
 * (schema: docs/yaml.md, "optimize").  Plain keys were checked with the
 * rest of the file (problem/schema.c); the nested parts (objective,
 * controls, baselines, model sizes) and the combinations are checked here,
 * when the optimizer reads the section. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optimize/optimize_impl.h"
#include "problem/problem_impl.h"
#include "problem/schema.h"

/* "<loc>: error: <msg>" for entry e (key position if key). */
#define fail(err, code, e, key, ...) \
  schedopt_ykv_error((err), (code), (e), (key), "problem", __VA_ARGS__)

static const char *const opt_ms_keys[] = {"min", "max", "points", NULL};
static const char *const opt_interp[] = {"linear", "step", NULL};
static const char *const opt_monotone[] = {"none", "decreasing", "increasing", NULL};

static int opt_param_index(const schedopt_control_type *T, const char *name) {
  for (size_t i = 0; i < T->nparams; i++)
    if (!strcmp(T->params[i].name, name)) return (int)i;
  return -1;
}

/* A sequence item as an entry of its own (for its position). */

/* Names: a scalar or a sequence of scalars → items (pointers into e). */
static schedopt_status opt_names(schedopt_error *err, const ykv_entry *e, const char *what,
                                 size_t max, const char **names, ykv_entry *where, size_t *n) {
  *n = 0;
  if (e->kind == YKV_SCALAR && !e->is_null) {
    names[0] = e->value;
    where[0] = *e;
    *n = 1;
    return SCHEDOPT_OK;
  }
  if (e->kind != YKV_SEQ || e->n == 0) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected a name or a list of names like [peak, decay_frac], got %s", what,
                d);
  }
  if (e->n > max)
    return fail(err, SCHEDOPT_EINVAL, e, 1, "%s: at most %zu names (got %zu)", what, max, e->n);
  for (size_t i = 0; i < e->n; i++) {
    names[i] = e->items[i];
    where[i] = schedopt_schema_item(e, i);
  }
  *n = e->n;
  return SCHEDOPT_OK;
}

/* A number from e checked against [lo, hi]. */
static schedopt_status opt_number(schedopt_error *err, const ykv_entry *e, double lo, double hi,
                                  int lo_open, int hi_open, const char *what, double *x) {
  schedopt_status st = schedopt_schema_get_number(err, e, e->path, x);
  if (!st) st = schedopt_schema_check_number(err, e, e->path, e->value, *x, lo, hi, lo_open, hi_open, 0, what);
  return st;
}

/* Unknown key at depth > 2 under `parent`: lists `allowed`. */

static schedopt_status opt_objective(const schedopt_problem *p, schedopt_optimize_spec *o,
                                     schedopt_error *err) {
  const ykv_list *l = &p->entries;
  const ykv_entry *e = schedopt_ykv_get(l, "optimize.objective");
  if (!e) return SCHEDOPT_OK;
  const double H = p->horizon;
  const int steps = schedopt_schedule_clock(p->schedule) == SCHEDOPT_CLOCK_STEPS;
  const ykv_entry *te = NULL;
  schedopt_status st;
  if (e->kind == YKV_SCALAR && !e->is_null) {
    te = e;
  } else if (e->kind == YKV_MAP) {
    te = schedopt_ykv_get(l, "optimize.objective.type");
    if (!te)
      return fail(err, SCHEDOPT_EINVAL, e, 1,
                  "optimize.objective: missing 'type' (final, mean, horizons or "
                  "steps_to_target)");
  } else {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 1,
                "optimize.objective: expected final, mean, horizons or a mapping with a "
                "'type', got %s", d);
  }
  int kind;
  if ((st = schedopt_schema_choice(err, te, "optimize.objective", schedopt_schema_opt_obj_types, &kind))) return st;
  o->objective = kind == 3 ? SCHEDOPT_OBJ_FINAL : (schedopt_objective_kind)kind;
  const char *const *mine = kind == 1   ? schedopt_schema_opt_obj_mean
                            : kind == 2 ? schedopt_schema_opt_obj_horizons
                            : kind == 3 ? schedopt_schema_opt_obj_target
                                        : NULL;
  const ykv_entry *ke[8] = {0};
  for (size_t i = 0; i < l->n && e->kind == YKV_MAP; i++) {
    const ykv_entry *c = &l->v[i];
    if (!schedopt_ykv_is_under(c->path, "optimize.objective") || schedopt_ykv_depth(c->path) != 3) continue;
    const char *k = schedopt_ykv_leaf(c->path);
    if (!strcmp(k, "type")) continue;
    if (schedopt_schema_in(mine, k)) {
      for (int j = 0; mine[j]; j++)
        if (!strcmp(mine[j], k)) ke[j] = c;
      continue;
    }
    if (schedopt_schema_in(schedopt_schema_opt_obj_mean, k) || schedopt_schema_in(schedopt_schema_opt_obj_horizons, k) || schedopt_schema_in(schedopt_schema_opt_obj_target, k))
      return fail(err, SCHEDOPT_EINVAL, c, 1, "optimize.objective.%s applies to type %s only "
                  "(this objective is %s)", k, schedopt_schema_in(schedopt_schema_opt_obj_mean, k) ? "mean"
                  : schedopt_schema_in(schedopt_schema_opt_obj_horizons, k) ? "horizons" : "steps_to_target",
                  schedopt_schema_opt_obj_types[kind]);
    static const char *const type_key[] = {"type", NULL};
    return schedopt_schema_unknown_in(err, c, "optimize.objective", type_key, mine, NULL);
  }
  if (kind == 3) { /* the shortest horizon whose optimum reaches L <= target */
    if (!ke[0])
      return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_MAP ? 1 : 0,
                  "optimize.objective: steps_to_target needs 'target' (the loss to reach), "
                  "e.g. objective: {type: steps_to_target, target: 0.3}");
    double x;
    if ((st = opt_number(err, ke[0], 0, INFINITY, 1, 0, "loss to reach", &x))) return st;
    o->target = x;
  } else if (kind == 1) { /* mean over [t0, t1] */
    double t0 = 0, t1 = H, x;
    for (int j = 0; j < 2; j++) /* from / from_frac, to / to_frac */
      if (ke[j] && ke[j + 2])
        return schedopt_schema_conflict(err, ke[j], ke[j + 2], "one is in clock units, the other a fraction of H");
    if (ke[0]) {
      if ((st = opt_number(err, ke[0], 0, H, 0, 1, "start of the window in clock units", &x)))
        return st;
      t0 = x;
    }
    if (ke[2]) {
      if ((st = opt_number(err, ke[2], 0, 1, 0, 1, "start of the window as a fraction of H", &x)))
        return st;
      t0 = x * H;
    }
    if (ke[1]) {
      if ((st = opt_number(err, ke[1], 0, H, 1, 0, "end of the window in clock units", &x)))
        return st;
      t1 = x;
    }
    if (ke[3]) {
      if ((st = opt_number(err, ke[3], 0, 1, 1, 0, "end of the window as a fraction of H", &x)))
        return st;
      t1 = x * H;
    }
    if (!(t0 < t1)) {
      const ykv_entry *w = ke[1] ? ke[1] : ke[3] ? ke[3] : e;
      return fail(err, SCHEDOPT_EINVAL, w, 0, "optimize.objective: the window [%.15g, %.15g] "
                  "is empty (need from < to)", t0, t1);
    }
    o->t0 = t0;
    o->t1 = t1;
  } else if (kind == 2) { /* Σ w_i L(h_i) */
    const ykv_entry *at = ke[0], *af = ke[1], *we = ke[2];
    if (at && af) return schedopt_schema_conflict(err, at, af, "one is in clock units, the other a fraction of H");
    if (!at && !af)
      return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.objective: horizons needs 'at' (clock "
                  "times) or 'at_frac' (fractions of H), e.g. at_frac: [0.25, 0.5, 1]");
    const ykv_entry *ae = at ? at : af;
    double *v = NULL, *w = NULL;
    size_t n = 0, nw = 0;
    if ((st = schedopt_schema_get_numseq(err, ae, ae->path, &v, &n))) return st;
    if (n == 0 || n > SCHEDOPT_OPT_MAXH) {
      free(v);
      return fail(err, SCHEDOPT_EINVAL, ae, 1, "%s: give 1 to %d horizons (got %zu)", ae->path,
                  SCHEDOPT_OPT_MAXH, n);
    }
    for (size_t i = 0; i < n; i++) {
      ykv_entry item = schedopt_schema_item(ae, i);
      double t = at ? v[i] : v[i] * H;
      const char *why = NULL;
      char buf[200];
      if (at ? !(v[i] > 0 && v[i] <= H) : !(v[i] > 0 && v[i] <= 1)) {
        snprintf(buf, sizeof buf, "must be in (0, %.15g]", at ? H : 1.0);
        why = buf;
      } else if (steps && at && !schedopt_is_integral(t)) {
        why = "must be an integer on the step clock";
      }
      if (steps && !at) t = fmax(1, nearbyint(t));
      if (!why && i > 0 && !(t > o->h[i - 1])) {
        snprintf(buf, sizeof buf, "must be greater than the previous horizon %.15g (horizons "
                 "must increase%s)", o->h[i - 1], steps && !at ? " after rounding to steps" : "");
        why = buf;
      }
      if (why) {
        st = fail(err, SCHEDOPT_EINVAL, &item, 0, "%s[%zu] = %s %s", ae->path, i, ae->items[i],
                  why);
        free(v);
        return st;
      }
      o->h[i] = t;
    }
    free(v);
    o->nh = n;
    for (size_t i = 0; i < n; i++) o->w[i] = 1.0 / (double)n;
    if (we) {
      if ((st = schedopt_schema_get_numseq(err, we, we->path, &w, &nw))) return st;
      double sum = 0;
      st = SCHEDOPT_OK;
      if (nw != n)
        st = fail(err, SCHEDOPT_EINVAL, we, 1, "%s: give one weight per horizon (%zu, got %zu)",
                  we->path, n, nw);
      for (size_t i = 0; i < nw && !st; i++) {
        ykv_entry item = schedopt_schema_item(we, i);
        if (!(w[i] >= 0))
          st = fail(err, SCHEDOPT_EINVAL, &item, 0, "%s[%zu] = %s must be >= 0", we->path, i,
                    we->items[i]);
        sum += w[i];
        o->w[i] = w[i];
      }
      if (!st && !(sum > 0))
        st = fail(err, SCHEDOPT_EINVAL, we, 1, "%s: the weights must not all be 0", we->path);
      free(w);
      if (st) return st;
    }
  }
  return SCHEDOPT_OK;
}

/* optimize.controls.<ch> */
static schedopt_status opt_channel(const schedopt_problem *p, const ykv_entry *ce,
                                   const channel_info *ci, schedopt_channel_param *cp,
                                   schedopt_error *err) {
  const ykv_list *l = &p->entries;
  const char *path = ce->path; /* optimize.controls.lr */
  char key[300];
  schedopt_status st;
  schedopt_channel_param_default(cp);
  if (ci->ch == SCHEDOPT_MOMENTUM && !schedopt_schedule_has_momentum(p->schedule))
    return fail(err, SCHEDOPT_EINVAL, ce, 1, "%s: the problem has no momentum; add "
                "controls.momentum (e.g. momentum: 0.9) to use the momentum dynamics", path);
  if (ci->ch == SCHEDOPT_MOMENTUM && p->model &&
      schedopt_model_get_type(p->model) == schedopt_model_fsl)
    return fail(err, SCHEDOPT_EINVAL, ce, 1, "%s: the fsl model has no momentum", path);
  const ykv_entry *pe = NULL;
  int inferred = -1;
  if (ce->kind == YKV_SCALAR && !ce->is_null) {
    pe = ce;
  } else if (ce->kind == YKV_MAP) {
    snprintf(key, sizeof key, "%s.param", path);
    pe = schedopt_ykv_get(l, key);
    if (!pe) { /* inferred from the keys given: knots… → freeform, vary… → family */
      int ff = 0, fam = 0;
      for (size_t i = 0; i < l->n; i++)
        if (schedopt_ykv_is_under(l->v[i].path, path) && schedopt_ykv_depth(l->v[i].path) == 4) {
          ff |= schedopt_schema_in(schedopt_schema_opt_ch_freeform, schedopt_ykv_leaf(l->v[i].path));
          fam |= schedopt_schema_in(schedopt_schema_opt_ch_family, schedopt_ykv_leaf(l->v[i].path));
        }
      if (ff == fam)
        return fail(err, SCHEDOPT_EINVAL, ce, 1, "%s: missing 'param' (family or freeform)",
                    path);
      inferred = ff ? 1 : 0;
    }
  } else {
    char d[256];
    schedopt_ykv_describe(ce, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, ce, 1, "%s: expected family, freeform or a mapping with "
                "a 'param', got %s", path, d);
  }
  static const char *const ptypes[] = {"family", "freeform", NULL};
  int pt = inferred;
  snprintf(key, sizeof key, "%s.param", path);
  if (pe && (st = schedopt_schema_choice(err, pe, key, ptypes, &pt))) return st;
  cp->type = pt == 0 ? schedopt_parametrization_family : schedopt_parametrization_freeform;
  const char *const *mine = pt == 0 ? schedopt_schema_opt_ch_family : schedopt_schema_opt_ch_freeform;
  const char *const *other = pt == 0 ? schedopt_schema_opt_ch_freeform : schedopt_schema_opt_ch_family;
  const schedopt_control *given = schedopt_schedule_get(p->schedule, ci->ch);
  const schedopt_control_type *T = schedopt_control_get_type(given);
  const ykv_entry *min_e = NULL, *max_e = NULL, *vary_e = NULL, *bounds_e = NULL, *log_e = NULL;
  for (size_t i = 0; i < l->n && ce->kind == YKV_MAP; i++) {
    const ykv_entry *e = &l->v[i];
    if (!schedopt_ykv_is_under(e->path, path) || schedopt_ykv_depth(e->path) != 4) continue;
    const char *k = schedopt_ykv_leaf(e->path);
    if (!strcmp(k, "param")) continue;
    if (!schedopt_schema_in(schedopt_schema_opt_ch_common, k) && !schedopt_schema_in(mine, k)) {
      if (schedopt_schema_in(other, k))
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s.%s applies to param: %s only (this is "
                    "param: %s)", path, k, pt == 0 ? "freeform" : "family", ptypes[pt]);
      return schedopt_schema_unknown_in(err, e, path, schedopt_schema_opt_ch_common, mine, NULL);
    }
    double x;
    int c;
    if (!strcmp(k, "min")) min_e = e;
    else if (!strcmp(k, "max")) max_e = e;
    else if (!strcmp(k, "vary")) vary_e = e;
    else if (!strcmp(k, "bounds")) bounds_e = e;
    else if (!strcmp(k, "log")) log_e = e;
    else if (!strcmp(k, "knots")) {
      if ((st = schedopt_schema_get_number(err, e, e->path, &x)) ||
          (st = schedopt_schema_check_number(err, e, e->path, e->value, x, SCHEDOPT_FREEFORM_MINKNOTS,
                             SCHEDOPT_FREEFORM_MAXKNOTS, 0, 0, 1, "number of knots")))
        return st;
      cp->knots = (size_t)x;
    } else if (!strcmp(k, "interp")) {
      if ((st = schedopt_schema_choice(err, e, e->path, opt_interp, &c))) return st;
      cp->step = c == 1;
    } else if (!strcmp(k, "monotone")) {
      int b;
      if (e->kind == YKV_SCALAR && !e->is_null && schedopt_schema_parse_bool(e->value, &b))
        c = b ? 1 : 0;
      else if ((st = schedopt_schema_choice(err, e, e->path, opt_monotone, &c)))
        return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected true (non-increasing), false, "
                    "decreasing or increasing, got '%.200s'", e->path,
                    e->kind == YKV_SCALAR ? e->value : "a collection");
      cp->monotone = (schedopt_monotone)c;
    } else if (!strcmp(k, "monotone_after")) {
      if ((st = opt_number(err, e, 0, p->horizon, 0, 1, "clock time where monotonicity starts",
                           &x)))
        return st;
      cp->monotone_after = x;
    } else if (!strcmp(k, "refine_at")) {
      double *v = NULL;
      size_t n = 0;
      if ((st = schedopt_schema_get_numseq(err, e, e->path, &v, &n))) return st;
      if (n > SCHEDOPT_DESIGN_MAXREFINE) {
        free(v);
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s: at most %d times (got %zu)", e->path,
                    SCHEDOPT_DESIGN_MAXREFINE, n);
      }
      for (size_t i = 0; i < n; i++) {
        ykv_entry item = schedopt_schema_item(e, i);
        if (!(v[i] > 0 && v[i] < p->horizon) || (i && !(v[i] > v[i - 1]))) {
          st = fail(err, SCHEDOPT_EINVAL, &item, 0, "%s[%zu] = %s must be in (0, %.15g) and "
                    "greater than the previous time", e->path, i, e->items[i], p->horizon);
          free(v);
          return st;
        }
        cp->refine[i] = v[i];
      }
      cp->nrefine = n;
      free(v);
    }
  }
  /* value bounds */
  double lo = NAN, hi = NAN;
  if (min_e && (st = opt_number(err, min_e, ci->lo, ci->hi, 0, ci->hi_open, ci->what, &lo)))
    return st;
  if (max_e && (st = opt_number(err, max_e, ci->lo, ci->hi, 0, ci->hi_open, ci->what, &hi)))
    return st;
  if (min_e && max_e && !(lo < hi) && !(pt == 0 && lo == hi))
    return fail(err, SCHEDOPT_EINVAL, max_e, 0, "%s.max = %s must be greater than min = %s",
                path, max_e->value, min_e->value);
  cp->lo = lo;
  cp->hi = hi;
  if (pt == 1) {
    /* the default max is the given control's largest value: it must exceed min */
    double vmax = isnan(hi) ? schedopt_opt_control_max(given, p->horizon) : hi;
    double vmin = isnan(lo) ? ci->lo : lo;
    if (!(vmax > vmin))
      return fail(err, SCHEDOPT_EINVAL, max_e ? max_e : ce, max_e ? 0 : 1,
                  "%s: the value range [%.15g, %.15g] is empty; set 'max' (the default is the "
                  "largest value of controls.%s)", path, vmin, vmax, ci->key);
    return SCHEDOPT_OK;
  }
  /* family: vary, bounds, log */
  if (!vary_e)
    return fail(err, SCHEDOPT_EINVAL, ce, 1, "%s: param: family needs 'vary' (the %s "
                "parameters to optimize, e.g. vary: [peak, decay_frac])", path, T->name);
  const char *names[SCHEDOPT_DESIGN_MAXVARY];
  ykv_entry where[SCHEDOPT_DESIGN_MAXVARY];
  size_t nv;
  snprintf(key, sizeof key, "%s.vary", path);
  if ((st = opt_names(err, vary_e, key, SCHEDOPT_DESIGN_MAXVARY, names, where, &nv))) return st;
  for (size_t i = 0; i < nv; i++) {
    const char *nm = names[i];
    int j = opt_param_index(T, nm);
    int ok = !strcmp(nm, "gain") || !strcmp(nm, "warmup") || !strcmp(nm, "warmup_init") ||
             (j >= 0 && !T->params[j].choices);
    if (!ok) {
      strbuf b = {{0}, 0};
      suggest g = {nm, NULL, 0};
      char sg[128];
      for (size_t q = 0; q < T->nparams; q++)
        if (!T->params[q].choices) {
          schedopt_names_add(&b, T->params[q].name);
          schedopt_suggest_add(&g, T->params[q].name);
        }
      static const char *const always[] = {"gain", "warmup", "warmup_init", NULL};
      schedopt_schema_list_text(&b, &g, always);
      if (j >= 0)
        return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "%s: '%s' is a choice, not a number; "
                    "it cannot be optimized (the wsd baseline tries every shape)", key, nm);
      return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "%s: '%s' is not a parameter of "
                  "controls.%s (a %s control; can vary: %s)%s", key, nm, ci->key, T->name, b.s,
                  schedopt_suggest_text(&g, sg, sizeof sg));
    }
    for (size_t q = 0; q < i; q++)
      if (!strcmp(names[q], nm))
        return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "%s: '%s' is listed twice", key, nm);
    snprintf(cp->vary[i], sizeof cp->vary[i], "%s", nm);
  }
  cp->nvary = nv;
  if (log_e) {
    const char *ln[SCHEDOPT_DESIGN_MAXVARY];
    ykv_entry lw[SCHEDOPT_DESIGN_MAXVARY];
    size_t nl;
    snprintf(key, sizeof key, "%s.log", path);
    if ((st = opt_names(err, log_e, key, SCHEDOPT_DESIGN_MAXVARY, ln, lw, &nl))) return st;
    for (size_t i = 0; i < nv; i++) cp->vary_log[i] = 0;
    for (size_t i = 0; i < nl; i++) {
      size_t q = 0;
      while (q < nv && strcmp(cp->vary[q], ln[i])) q++;
      if (q == nv)
        return fail(err, SCHEDOPT_EINVAL, &lw[i], 0, "%s: '%s' is not in vary", key, ln[i]);
      cp->vary_log[q] = 1;
    }
  }
  if (bounds_e) {
    if (bounds_e->kind != YKV_MAP) {
      char d[256];
      schedopt_ykv_describe(bounds_e, d, sizeof d);
      return fail(err, SCHEDOPT_EINVAL, bounds_e, 1, "%s.bounds: expected a mapping like "
                  "{peak: [0.1, 1]}, got %s", path, d);
    }
    for (size_t i = 0; i < l->n; i++) {
      const ykv_entry *e = &l->v[i];
      if (!schedopt_ykv_is_under(e->path, bounds_e->path) || schedopt_ykv_depth(e->path) != 5) continue;
      const char *k = schedopt_ykv_leaf(e->path);
      size_t q = 0;
      while (q < nv && strcmp(cp->vary[q], k)) q++;
      if (q == nv)
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s: '%s' is not in vary", bounds_e->path, k);
      double *v = NULL;
      size_t n = 0;
      if ((st = schedopt_schema_get_numseq(err, e, e->path, &v, &n))) return st;
      if (n != 2 || !(v[0] <= v[1])) {
        free(v);
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s: expected [lo, hi] with lo <= hi", e->path);
      }
      int j = opt_param_index(T, k);
      double plo = -INFINITY, phi = INFINITY;
      if (j >= 0) plo = T->params[j].lo, phi = T->params[j].hi;
      if (!strcmp(k, "warmup_init")) plo = 0, phi = 1;
      if (!strcmp(k, "warmup")) plo = 0, phi = p->horizon;
      if (!strcmp(k, "gain")) plo = 0;
      if (v[0] < plo || v[1] > phi) {
        char r[128];
        fail(err, SCHEDOPT_EINVAL, e, 1, "%s = [%.15g, %.15g] leaves the parameter's range: %s",
             e->path, v[0], v[1], schedopt_schema_range_text(r, sizeof r, plo, phi, 0, 0));
        free(v);
        return SCHEDOPT_EINVAL;
      }
      cp->vary_lo[q] = v[0];
      cp->vary_hi[q] = v[1];
      free(v);
    }
  }
  return SCHEDOPT_OK;
}

static schedopt_status opt_controls(const schedopt_problem *p, schedopt_optimize_spec *o,
                                    schedopt_error *err) {
  const ykv_list *l = &p->entries;
  const ykv_entry *e = schedopt_ykv_get(l, "optimize.controls");
  if (!e || (e->kind == YKV_SCALAR && e->is_null)) return SCHEDOPT_OK;
  if (e->kind != YKV_MAP) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.controls: expected a mapping of "
                "channels (lr, batch, momentum), got %s", d);
  }
  schedopt_channel_param cp[SCHEDOPT_SCHEMA_NCHANNELS];
  int any = 0;
  for (size_t c = 0; c < SCHEDOPT_SCHEMA_NCHANNELS; c++) schedopt_channel_param_default(&cp[c]);
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *ce = &l->v[i];
    if (!schedopt_ykv_is_under(ce->path, "optimize.controls") || schedopt_ykv_depth(ce->path) != 3) continue;
    const char *k = schedopt_ykv_leaf(ce->path);
    size_t c = 0;
    while (c < SCHEDOPT_SCHEMA_NCHANNELS && strcmp(schedopt_schema_channels[c].key, k)) c++;
    if (c == SCHEDOPT_SCHEMA_NCHANNELS) {
      static const char *const chs[] = {"lr", "batch", "momentum", NULL};
      return schedopt_schema_unknown_in(err, ce, "optimize.controls", chs, NULL, NULL);
    }
    schedopt_status st = opt_channel(p, ce, &schedopt_schema_channels[c], &cp[c], err);
    if (st) return st;
    any = 1;
  }
  if (any)
    for (size_t c = 0; c < SCHEDOPT_SCHEMA_NCHANNELS; c++) o->channel[schedopt_schema_channels[c].ch] = cp[c];
  return SCHEDOPT_OK;
}

static schedopt_status opt_baselines(const schedopt_problem *p, schedopt_optimize_spec *o,
                                     schedopt_error *err) {
  const ykv_entry *e = schedopt_ykv_get(&p->entries, "optimize.baselines");
  if (!e) return SCHEDOPT_OK;
  int b;
  if (e->kind == YKV_SCALAR && !e->is_null &&
      (!strcmp(e->value, "all") || !strcmp(e->value, "none") || schedopt_schema_parse_bool(e->value, &b))) {
    int all = !strcmp(e->value, "all") || (strcmp(e->value, "none") && b);
    o->baselines = 0;
    if (all) /* the standard ones; a trainer's schedules are asked for by name */
      for (unsigned i = 0; schedopt_baseline_types[i]; i++)
        if (!schedopt_baseline_types[i]->opt_in) o->baselines |= 1u << i;
    return SCHEDOPT_OK;
  }
  const char *names[16];
  ykv_entry where[16];
  size_t n;
  schedopt_status st = opt_names(err, e, "optimize.baselines", 16, names, where, &n);
  if (st) return st;
  o->baselines = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned j = 0;
    while (schedopt_baseline_types[j] && strcmp(schedopt_baseline_types[j]->name, names[i])) j++;
    if (!schedopt_baseline_types[j]) {
      strbuf bl = {{0}, 0};
      suggest g = {names[i], NULL, 0};
      char sg[128];
      for (j = 0; schedopt_baseline_types[j]; j++) {
        schedopt_names_add(&bl, schedopt_baseline_types[j]->name);
        schedopt_suggest_add(&g, schedopt_baseline_types[j]->name);
      }
      return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "optimize.baselines: unknown baseline "
                  "'%.100s' (allowed: %s, or all / none)%s", names[i], bl.s,
                  schedopt_suggest_text(&g, sg, sizeof sg));
    }
    o->baselines |= 1u << j;
  }
  return SCHEDOPT_OK;
}

/* optimize.model_size: {min, max, points} (compute budget only). */
static schedopt_status opt_model_size(const schedopt_problem *p, schedopt_optimize_spec *o,
                                      schedopt_error *err) {
  const ykv_list *l = &p->entries;
  const ykv_entry *e = schedopt_ykv_get(l, "optimize.model_size");
  if (!e || (e->kind == YKV_SCALAR && e->is_null)) return SCHEDOPT_OK;
  if (e->kind != YKV_MAP) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "optimize.model_size: expected a mapping like {min: 100, max: 10000}, got %s",
                d);
  }
  const ykv_entry *ke[3] = {0};
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *c = &l->v[i];
    if (!schedopt_ykv_is_under(c->path, "optimize.model_size")) continue;
    if (schedopt_ykv_depth(c->path) != 3) continue;
    const char *k = schedopt_ykv_leaf(c->path);
    int j = 0;
    while (opt_ms_keys[j] && strcmp(opt_ms_keys[j], k)) j++;
    if (!opt_ms_keys[j]) return schedopt_schema_unknown_in(err, c, "optimize.model_size", opt_ms_keys,
                                               NULL, NULL);
    ke[j] = c;
  }
  if (p->budget != SCHEDOPT_BUDGET_COMPUTE)
    return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.model_size: searching the model size "
                "needs a compute budget (budget: {compute: C}, D = C/N samples), this problem "
                "has a %s budget", p->budget == SCHEDOPT_BUDGET_STEPS ? "steps"
                : p->budget == SCHEDOPT_BUDGET_TOKENS ? "tokens" : "samples");
  if (!ke[0] || !ke[1])
    return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.model_size: give both 'min' and 'max' "
                "(learned modes N)");
  double lo, hi, pts = 5;
  schedopt_status st;
  if ((st = opt_number(err, ke[0], 1, 1e6, 0, 0, "smallest model size N", &lo)) ||
      (st = opt_number(err, ke[1], 1, 1e6, 0, 0, "largest model size N", &hi)) ||
      (ke[2] && (st = opt_number(err, ke[2], 3, 101, 0, 0, "initial grid points", &pts))))
    return st;
  if (!schedopt_is_integral(lo) || !schedopt_is_integral(hi) || !schedopt_is_integral(pts))
    return fail(err, SCHEDOPT_EINVAL, !schedopt_is_integral(lo) ? ke[0] : !schedopt_is_integral(hi) ? ke[1] : ke[2],
                0, "optimize.model_size: min, max and points must be integers");
  if (!(hi > lo))
    return fail(err, SCHEDOPT_EINVAL, ke[1], 0, "optimize.model_size: max = %.15g must be "
                "greater than min = %.15g", hi, lo);
  if (p->amount / hi < 1)
    return fail(err, SCHEDOPT_EINVAL, ke[1], 0, "optimize.model_size: max = %.15g leaves less "
                "than one sample (D = C/N = %.15g)", hi, p->amount / hi);
  o->model_size_min = (long)lo;
  o->model_size_max = (long)hi;
  o->model_size_points = (size_t)pts;
  return SCHEDOPT_OK;
}

/* optimize.momentum_continuation: the momentum caps c_1 < c_2 < … in (0, 1)
 * of the continuation start (a number or a list; none, false or [] for no
 * continuation). */
static schedopt_status opt_momentum_cont(const schedopt_problem *p, schedopt_optimize_spec *o,
                                         schedopt_error *err) {
  const ykv_entry *e = schedopt_ykv_get(&p->entries, "optimize.momentum_continuation");
  if (!e) return SCHEDOPT_OK;
  int b;
  if ((e->kind == YKV_SCALAR && (e->is_null || !strcmp(e->value, "none") ||
                                 (schedopt_schema_parse_bool(e->value, &b) && !b))) ||
      (e->kind == YKV_SEQ && e->n == 0)) {
    o->ncont = 0;
    return SCHEDOPT_OK;
  }
  double *v = NULL;
  size_t n = 0;
  schedopt_status st;
  if (e->kind == YKV_SCALAR) {
    double x;
    if ((st = opt_number(err, e, 0, 1, 1, 1, "momentum cap of the continuation", &x))) return st;
    o->ncont = 1;
    o->cont[0] = x;
    return SCHEDOPT_OK;
  }
  if (e->kind != YKV_SEQ) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.momentum_continuation: expected a list of "
                "momentum caps like [0.9, 0.95] (or none), got %s", d);
  }
  if ((st = schedopt_schema_get_numseq(err, e, e->path, &v, &n))) return st;
  if (n > SCHEDOPT_OPT_MAXCONT) {
    free(v);
    return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.momentum_continuation: at most %d caps "
                "(got %zu)", SCHEDOPT_OPT_MAXCONT, n);
  }
  for (size_t i = 0; i < n; i++) {
    ykv_entry item = schedopt_schema_item(e, i);
    const char *why = !(v[i] > 0 && v[i] < 1) ? "must be in (0, 1)"
                      : i > 0 && !(v[i] > v[i - 1]) ? "must be greater than the previous cap "
                                                      "(the caps rise)"
                                                    : NULL;
    if (why) {
      st = fail(err, SCHEDOPT_EINVAL, &item, 0, "optimize.momentum_continuation[%zu] = %s %s",
                i, e->items[i], why);
      free(v);
      return st;
    }
    o->cont[i] = v[i];
  }
  o->ncont = n;
  free(v);
  return SCHEDOPT_OK;
}

/* The section → *o (o holds the defaults on entry). */
static schedopt_status read_section(const schedopt_problem *p, const schedopt_settings *S,
                                    schedopt_optimize_spec *o, schedopt_error *err) {
  schedopt_status st;
  if ((st = opt_objective(p, o, err)) || (st = opt_controls(p, o, err)) ||
      (st = opt_baselines(p, o, err)) || (st = opt_model_size(p, o, err)) ||
      (st = opt_momentum_cont(p, o, err)))
    return st;
  const ykv_entry *mse = schedopt_schema_given(S, "optimize.max_steps");
  if (mse) {
    const char *why = NULL;
    if (schedopt_schedule_clock(p->schedule) == SCHEDOPT_CLOCK_STEPS)
      why = "the budget is already in steps (a cap on steps needs a samples, tokens or compute "
            "budget)";
    else if (!o->channel[SCHEDOPT_BATCH].type)
      why = "the batch size is fixed, so the steps are too: optimize it as well "
            "(optimize.controls.batch)";
    if (why) {
      st = fail(err, SCHEDOPT_EINVAL, mse, 0, "optimize.max_steps: %s", why);
      return st;
    }
    o->settings.max_steps = schedopt_schema_val_or(S, "optimize.max_steps", 0);
  }
  const ykv_entry *te = schedopt_ykv_get(&p->entries, "optimize.objective");
  if (!isnan(o->target) && o->model_size_max > 0) {
    st = fail(err, SCHEDOPT_EINVAL, te, 1, "optimize.objective: steps_to_target cannot be "
              "combined with optimize.model_size (one outer search at a time)");
    return st;
  }
  schedopt_optimizer_settings *set = &o->settings;
  const ykv_entry *ae = schedopt_schema_given(S, "optimize.algorithm"), *oe = schedopt_schema_given(S, "optimize.output");
  if (ae) {
    set->algorithm = schedopt_algorithm_find(ae->value);
    if (!set->algorithm) {
      strbuf b = {{0}, 0};
      suggest g = {ae->value, NULL, 0};
      char sg[128];
      for (size_t i = 0; schedopt_algorithms[i].name; i++) {
        schedopt_names_add(&b, schedopt_algorithms[i].name);
        schedopt_suggest_add(&g, schedopt_algorithms[i].name);
      }
      st = fail(err, SCHEDOPT_EINVAL, ae, 0, "optimize.algorithm: unknown algorithm '%.100s' "
                "(allowed: %s)%s", ae->value, b.s, schedopt_suggest_text(&g, sg, sizeof sg));
      return st;
    }
    size_t n = 0;
    for (int c = 0; c < SCHEDOPT_NCHANNELS; c++) {
      const schedopt_channel_param *cp = &o->channel[c];
      if (cp->type == schedopt_parametrization_family) n += cp->nvary;
      if (cp->type == schedopt_parametrization_freeform) n += cp->knots;
    }
    const schedopt_algorithm *A = set->algorithm;
    if (mse && !A->constraints) {
      st = fail(err, SCHEDOPT_EINVAL, ae, 0, "optimize.algorithm: %s cannot take the step cap "
                "(optimize.max_steps is an inequality constraint): use LD_MMA, LD_CCSAQ, "
                "LD_SLSQP or LN_COBYLA", A->name);
      return st;
    }
    if (n < A->min_dim || (A->max_dim && n > A->max_dim)) {
      st = fail(err, SCHEDOPT_EINVAL, ae, 0, "optimize.algorithm: %s needs %s%zu decision "
                "variable%s, this problem has %zu", A->name, A->max_dim ? "exactly " : "at least ",
                A->max_dim ? A->max_dim : A->min_dim,
                (A->max_dim ? A->max_dim : A->min_dim) == 1 ? "" : "s", n);
      return st;
    }
  }
  set->fd_gradient = schedopt_schema_val_or(S, "optimize.gradient", 0) == 1;
  set->ftol_rel = schedopt_schema_val_or(S, "optimize.ftol_rel", set->ftol_rel);
  set->xtol_rel = schedopt_schema_val_or(S, "optimize.xtol_rel", set->xtol_rel);
  set->maxeval = (long)schedopt_schema_val_or(S, "optimize.maxeval", (double)set->maxeval);
  set->maxtime = schedopt_schema_val_or(S, "optimize.maxtime", set->maxtime);
  set->starts = (size_t)schedopt_schema_val_or(S, "optimize.starts", (double)set->starts);
  set->seed = (unsigned long)schedopt_schema_val_or(S, "optimize.seed", (double)set->seed);
  set->precondition = (int)schedopt_schema_val_or(S, "optimize.precondition", (double)set->precondition);
  set->rescale_every = (long)schedopt_schema_val_or(S, "optimize.rescale_every", (double)set->rescale_every);
  set->continuation = (size_t)schedopt_schema_val_or(S, "optimize.continuation", (double)set->continuation);
  set->loose_rtol = schedopt_schema_val_or(S, "optimize.loose_rtol", set->loose_rtol);
  const ykv_entry *ce = schedopt_schema_given(S, "optimize.continuation");
  if (ce && set->continuation > 0 && set->continuation < SCHEDOPT_FREEFORM_MINKNOTS) {
    st = fail(err, SCHEDOPT_EINVAL, ce, 0,
              "optimize.continuation = %zu is out of range: must be 0 (off) or in [%d, 1024] "
              "(a free-form channel has at least %d knots)",
              set->continuation, SCHEDOPT_FREEFORM_MINKNOTS, SCHEDOPT_FREEFORM_MINKNOTS);
    return st;
  }
  if (oe) snprintf(o->output, sizeof o->output, "%s", oe->value);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_problem_optimize_spec(const schedopt_problem *p,
                                               schedopt_optimize_spec *spec,
                                               schedopt_error *err) {
  if (!p || !spec)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_optimize_spec: NULL");
  if (!p->built)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "schedopt_problem_optimize_spec: the problem is not built");
  schedopt_optimize_spec *o = malloc(sizeof *o); /* *spec untouched on error */
  if (!o) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_optimize_spec_default(o);
  schedopt_status st = read_section(p, &p->S, o, err);
  if (!st) *spec = *o;
  free(o);
  return st;
}
