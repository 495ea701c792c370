/* problem.c — YAML problem files and --set overrides → model, schedule,
 * solver settings, output times and the output extras (schema: schema.c,
 * docs/yaml.md).  The optimize: and sweep: sections are read by their own
 * layers (optimize/optimize_spec.c, sweep/sweep_spec.c) from the validated settings. */
#include "problem/problem_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem/schema.h"
#include "schedopt/control.h"

#define xstrdup schedopt_ykv_strdup
/* "<loc>: error: <msg>" for entry e (key position if key). */
#define fail(err, code, e, key, ...) \
  schedopt_ykv_error((err), (code), (e), (key), "problem", __VA_ARGS__)

/* ======================================================================
 * Life cycle and loading
 * ====================================================================== */

static void clear_built(schedopt_problem *p) {
  free(p->plot_title);
  free(p->export_loc);
  p->plot_title = p->export_loc = NULL;
  memset(&p->extras, 0, sizeof p->extras);
  free(p->name);
  free(p->output_file);
  schedopt_model_free(p->model);
  schedopt_schedule_free(p->schedule);
  free(p->times);
  p->name = p->output_file = NULL;
  p->model = NULL;
  p->schedule = NULL;
  p->times = NULL;
  p->ntimes = 0;
  p->integrator = NULL;
  p->mom_modes = 0; /* set again only by a build with momentum */
  p->built = 0;
}

schedopt_status schedopt_problem_alloc(schedopt_problem **out, schedopt_error *err) {
  if (!out) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_alloc: NULL");
  *out = calloc(1, sizeof **out);
  if (!*out) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_ykv_init(&(*out)->entries);
  (*out)->seq_len = 1;
  return SCHEDOPT_OK;
}

void schedopt_problem_free(schedopt_problem *p) {
  if (!p) return;
  clear_built(p);
  schedopt_ykv_free(&p->entries);
  free(p->source);
  free(p->base_dir);
  free(p->stem);
  free(p);
}

/* Replace the problem's entries with a parse of text. */
static schedopt_status load_text(schedopt_problem *p, const char *text, size_t len,
                                 const char *name, const char *path, schedopt_error *err) {
  ykv_list l;
  schedopt_ykv_init(&l);
  schedopt_status st = schedopt_ykv_parse(&l, text, len, name, NULL, 1, err);
  if (st) return st;
  char *src = xstrdup(name), *dir = path ? schedopt_ykv_dir_of(path) : NULL,
       *stem = path ? schedopt_ykv_stem_of(path) : NULL;
  if (!src || (path && (!stem || (strrchr(path, '/') && !dir)))) {
    free(src);
    free(dir);
    free(stem);
    schedopt_ykv_free(&l);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  clear_built(p);
  schedopt_ykv_free(&p->entries);
  p->entries = l;
  free(p->source);
  free(p->base_dir);
  free(p->stem);
  p->source = src;
  p->base_dir = dir;
  p->stem = stem;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_problem_load_string(schedopt_problem *p, const char *text,
                                             size_t len, const char *name,
                                             schedopt_error *err) {
  if (!p || (!text && len))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_load_string: NULL");
  return load_text(p, text ? text : "", len, name ? name : "<string>", NULL, err);
}

schedopt_status schedopt_problem_load_text(schedopt_problem *p, const char *text, size_t len,
                                  const char *path, schedopt_error *err) {
  return load_text(p, text, len, path, path, err);
}

schedopt_status schedopt_problem_load_file(schedopt_problem *p, const char *path,
                                           schedopt_error *err) {
  if (!p || !path)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_load_file: NULL");
  char *buf;
  size_t n;
  schedopt_status st = schedopt_ykv_read_file(path, &buf, &n, err);
  if (!st) st = load_text(p, buf, n, path, path, err);
  free(buf);
  return st;
}

/* ======================================================================
 * --set
 * ====================================================================== */

/* Keys a control of family T accepts (besides nothing else). */
static int control_key_allowed(const schedopt_control_type *T, const char *k) {
  if (!strcmp(k, "type") || !strcmp(k, "warmup") || !strcmp(k, "warmup_init")) return 1;
  for (size_t i = 0; i < T->nparams; i++)
    if (!strcmp(T->params[i].name, k)) return 1;
  if (T->needs_table == 1)
    return !strcmp(k, "t") || !strcmp(k, "v") || !strcmp(k, "file") ||
           !strcmp(k, "t_column") || !strcmp(k, "v_column");
  if (T->needs_table == 2) return !strcmp(k, "milestones") || !strcmp(k, "factors");
  return 0;
}

static void control_keys_text(const schedopt_control_type *T, strbuf *b) {
  for (size_t i = 0; i < T->nparams; i++) schedopt_names_add(b, T->params[i].name);
  if (T->needs_table == 1) {
    schedopt_names_add(b, "t");
    schedopt_names_add(b, "v");
    schedopt_names_add(b, "file");
    schedopt_names_add(b, "t_column");
    schedopt_names_add(b, "v_column");
  } else if (T->needs_table == 2) {
    schedopt_names_add(b, "milestones");
    schedopt_names_add(b, "factors");
  }
  schedopt_names_add(b, "warmup");
  schedopt_names_add(b, "warmup_init");
}

/* Remove file entries (not from --set) below `prefix` whose component at
 * depth `depth` fails keep(). */
static void drop_file_keys(ykv_list *l, const char *prefix,
                           int (*keep)(const void *ctx, const char *k), const void *ctx) {
  size_t plen = strlen(prefix);
  for (size_t i = 0; i < l->n;) {
    ykv_entry *e = &l->v[i];
    if (!e->from_set && schedopt_ykv_is_under(e->path, prefix)) {
      char k[256];
      const char *rest = e->path + plen + 1;
      size_t m = strcspn(rest, ".");
      if (m >= sizeof k) m = sizeof k - 1;
      memcpy(k, rest, m);
      k[m] = '\0';
      if (!keep(ctx, k)) {
        char path[512];
        snprintf(path, sizeof path, "%.*s.%s", (int)plen, prefix, k);
        schedopt_ykv_remove_tree(l, path, 1);
        i = 0; /* restart: the list shifted */
        continue;
      }
    }
    i++;
  }
}

static int keep_control_key(const void *ctx, const char *k) {
  return control_key_allowed((const schedopt_control_type *)ctx, k);
}

static int keep_model_key(const void *ctx, const char *k) {
  const char *const *banned = ctx;
  char path[300];
  snprintf(path, sizeof path, "model.%s", k);
  for (int i = 0; banned[i]; i++)
    if (!strcmp(banned[i], path)) return 0;
  return 1;
}

/* --set rules of the section: a new param (or objective type) drops the file's
 * keys that only the old one has. */
static int opt_keep_key(const void *ctx, const char *k) {
  const char *const *const *lists = ctx;
  for (int i = 0; lists[i]; i++)
    if (schedopt_schema_in(lists[i], k)) return 1;
  return 0;
}

static void optimize_set_rules(ykv_list *l, const char *key, const char *scalar) {
  if (!scalar || strncmp(key, "optimize.", 9)) return;
  char parent[512];
  size_t klen = strlen(key);
  if (klen >= sizeof parent) return;
  static const char *const type_key[] = {"type", NULL};
  const char *const *keep[3] = {NULL, NULL, NULL};
  if (schedopt_ykv_depth(key) == 4 && !strncmp(key, "optimize.controls.", 18) &&
      !strcmp(schedopt_ykv_leaf(key), "param")) {
    snprintf(parent, sizeof parent, "%.*s", (int)(klen - 6), key);
    keep[0] = schedopt_schema_opt_ch_common;
    keep[1] = !strcmp(scalar, "family") ? schedopt_schema_opt_ch_family
              : !strcmp(scalar, "freeform") ? schedopt_schema_opt_ch_freeform : NULL;
    if (keep[1]) drop_file_keys(l, parent, opt_keep_key, keep);
  } else if (!strcmp(key, "optimize.objective.type")) {
    keep[0] = type_key;
    keep[1] = !strcmp(scalar, "mean") ? schedopt_schema_opt_obj_mean
              : !strcmp(scalar, "horizons") ? schedopt_schema_opt_obj_horizons
              : !strcmp(scalar, "steps_to_target") ? schedopt_schema_opt_obj_target : NULL;
    drop_file_keys(l, "optimize.objective", opt_keep_key, keep);
  }
}

/* The --set rules of problem files (docs/yaml.md, "--set overrides"): one
 * budget kind, one notation per model quantity, a new control or model type
 * keeps only the file's keys it understands. */
static void problem_set_rules(ykv_list *l, const char *key, const char *val, void *ctx) {
  (void)ctx;
  for (int i = 0; i < 4; i++)
    if (!strcmp(key, schedopt_schema_budget_keys[i]))
      for (int j = 0; j < 4; j++)
        if (j != i) schedopt_ykv_remove_tree(l, schedopt_schema_budget_keys[j], 1);
  for (size_t i = 0; i < sizeof schedopt_schema_alias_pairs / sizeof schedopt_schema_alias_pairs[0]; i++)
    for (int s = 0; s < 2; s++)
      if (!strcmp(key, schedopt_schema_alias_pairs[i][s])) schedopt_ykv_remove_tree(l, schedopt_schema_alias_pairs[i][1 - s], 1);
  if (!strcmp(key, "output.points") || !strcmp(key, "output.spacing"))
    schedopt_ykv_remove_tree(l, "output.times", 1);
  /* sweep: values and from/to/points/spacing are alternatives */
  static const char *const sweep_range[] = {"sweep.from", "sweep.to", "sweep.points",
                                            "sweep.spacing", NULL};
  for (int i = 0; sweep_range[i]; i++) {
    if (!strcmp(key, "sweep.values")) schedopt_ykv_remove_tree(l, sweep_range[i], 1);
    if (!strcmp(key, sweep_range[i])) schedopt_ykv_remove_tree(l, "sweep.values", 1);
  }
  optimize_set_rules(l, key, val);
  if (!val) return;
  if (schedopt_ykv_depth(key) == 3 && !strncmp(key, "controls.", 9) && !strcmp(schedopt_ykv_leaf(key), "type")) {
    const schedopt_control_type *T = schedopt_control_type_find(val);
    if (T) {
      char ctl[512];
      snprintf(ctl, sizeof ctl, "%.*s", (int)(strlen(key) - 5), key);
      drop_file_keys(l, ctl, keep_control_key, T);
    }
  }
  if (!strcmp(key, "model.type")) {
    if (!strcmp(val, "fsl")) drop_file_keys(l, "model", keep_model_key, schedopt_schema_plrf_only);
    if (!strcmp(val, "plrf")) drop_file_keys(l, "model", keep_model_key, schedopt_schema_fsl_only);
  }
}

schedopt_status schedopt_problem_set(schedopt_problem *p, const char *assignment,
                                     schedopt_error *err) {
  if (!p || !assignment)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_set: NULL");
  schedopt_status st = schedopt_ykv_set(&p->entries, assignment, "model.b=2", problem_set_rules, NULL, err);
  if (!st) clear_built(p);
  return st;
}

/* ======================================================================
 * Controls
 * ====================================================================== */

static schedopt_status build_control_map(const schedopt_problem *p, const channel_info *ci,
                                         const ykv_entry *me, schedopt_control **out,
                                         schedopt_error *err) {
  const ykv_list *l = &p->entries;
  const char *cp = me->path; /* "controls.lr" */
  char tk[256];
  snprintf(tk, sizeof tk, "%s.type", cp);
  const ykv_entry *te = schedopt_ykv_get(l, tk);
  strbuf types = {{0}, 0};
  for (int i = 0; schedopt_control_types[i]; i++) schedopt_names_add(&types, schedopt_control_types[i]->name);
  if (!te)
    return fail(err, SCHEDOPT_EINVAL, me, 1,
                "%s: missing 'type' (one of: %s); or write a number for a constant %s", cp,
                types.s, ci->what);
  if (te->kind != YKV_SCALAR || te->is_null) {
    char d[256];
    schedopt_ykv_describe(te, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, te, 0, "%s: expected a control type (one of: %s), got %s",
                tk, types.s, d);
  }
  const schedopt_control_type *T = schedopt_control_type_find(te->value);
  if (!T) {
    suggest g = {te->value, NULL, 0};
    char sg[128];
    for (int i = 0; schedopt_control_types[i]; i++) schedopt_suggest_add(&g, schedopt_control_types[i]->name);
    return fail(err, SCHEDOPT_EINVAL, te, 0, "%s: unknown control type '%.100s' (allowed: %s)%s",
                tk, te->value, types.s, schedopt_suggest_text(&g, sg, sizeof sg));
  }
  schedopt_control *c = NULL;
  schedopt_status st = schedopt_control_alloc(&c, T, err);
  if (st) {
    schedopt_schema_prefix_at(err, te, 0, cp);
    return st;
  }

  const ykv_entry *t_e = NULL, *v_e = NULL, *file_e = NULL, *tcol_e = NULL, *vcol_e = NULL,
                  *ms_e = NULL, *fa_e = NULL;
  double *tv = NULL, *vv = NULL;
  size_t tn = 0, vn = 0;
  char *path = NULL;
  for (size_t i = 0; i < l->n && !st; i++) {
    const ykv_entry *e = &l->v[i];
    if (!schedopt_ykv_is_under(e->path, cp) || schedopt_ykv_depth(e->path) != 3) continue;
    const char *k = schedopt_ykv_leaf(e->path);
    if (!strcmp(k, "type")) continue;
    if (!control_key_allowed(T, k)) {
      strbuf b = {{0}, 0};
      control_keys_text(T, &b);
      suggest g = {k, NULL, 0};
      char sg[128];
      for (size_t j = 0; j < T->nparams; j++) schedopt_suggest_add(&g, T->params[j].name);
      schedopt_suggest_add(&g, "warmup");
      schedopt_suggest_add(&g, "warmup_init");
      st = fail(err, SCHEDOPT_EINVAL, e, 1,
                "unknown key '%s' in %s (a %s control; allowed: %s)%s", k, cp, T->name, b.s,
                schedopt_suggest_text(&g, sg, sizeof sg));
      break;
    }
    const schedopt_param_info *pi = NULL;
    for (size_t j = 0; j < T->nparams; j++)
      if (!strcmp(T->params[j].name, k)) pi = &T->params[j];
    if (pi && pi->choices) {
      strbuf b = {{0}, 0};
      for (int j = 0; pi->choices[j]; j++) schedopt_names_add(&b, pi->choices[j]);
      int ok = e->kind == YKV_SCALAR && !e->is_null;
      if (ok) {
        ok = 0;
        for (int j = 0; pi->choices[j]; j++) ok |= !strcmp(pi->choices[j], e->value);
      }
      if (!ok) {
        char d[256];
        schedopt_ykv_describe(e, d, sizeof d);
        st = fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                  "%s: expected one of %s, got %s", e->path, b.s, d);
        break;
      }
      if ((st = schedopt_control_set_choice(c, k, e->value, err))) schedopt_schema_prefix_at(err, e, 0, e->path);
      continue;
    }
    if (pi || !strcmp(k, "warmup") || !strcmp(k, "warmup_init")) {
      double x;
      if ((st = schedopt_schema_get_number(err, e, e->path, &x))) break;
      if (pi && (st = schedopt_schema_check_number(err, e, e->path, e->value, x, pi->lo, pi->hi, pi->lo_open,
                                   pi->hi_open, 0, pi->doc ? pi->doc : pi->name)))
        break;
      if ((st = schedopt_control_set(c, k, x, err))) schedopt_schema_prefix_at(err, e, 0, e->path);
      continue;
    }
    if (!strcmp(k, "t")) t_e = e;
    else if (!strcmp(k, "v")) v_e = e;
    else if (!strcmp(k, "file")) file_e = e;
    else if (!strcmp(k, "t_column")) tcol_e = e;
    else if (!strcmp(k, "v_column")) vcol_e = e;
    else if (!strcmp(k, "milestones")) ms_e = e;
    else if (!strcmp(k, "factors")) fa_e = e;
    if ((e == file_e || e == tcol_e || e == vcol_e) && (e->kind != YKV_SCALAR || e->is_null)) {
      char d[256];
      schedopt_ykv_describe(e, d, sizeof d);
      st = fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected a %s, got %s", e->path, e == file_e ? "file name" : "column name",
                d);
    }
  }

  if (!st && T->needs_table == 1) {
    if (file_e && (t_e || v_e))
      st = fail(err, SCHEDOPT_EINVAL, t_e ? t_e : v_e, 1,
                "%s: give either 'file' or 't' and 'v', not both", cp);
    else if (!file_e && (tcol_e || vcol_e))
      st = fail(err, SCHEDOPT_EINVAL, tcol_e ? tcol_e : vcol_e, 1,
                "%s: 't_column' and 'v_column' need 'file'", cp);
    else if (file_e) {
      path = schedopt_ykv_resolve(p->base_dir, file_e);
      if (!path) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      else if ((st = schedopt_control_load_csv(c, path, tcol_e ? tcol_e->value : "step",
                                               vcol_e ? vcol_e->value : ci->key, err)))
        schedopt_schema_prefix_at(err, file_e, 0, file_e->path);
    } else if (!t_e || !v_e) {
      st = fail(err, SCHEDOPT_EINVAL, t_e ? t_e : v_e ? v_e : te, 1,
                "%s: a table needs 't' and 'v' (sequences of the same length) or 'file'", cp);
    } else {
      char tn_[300], vn_[300];
      snprintf(tn_, sizeof tn_, "%s.t", cp);
      snprintf(vn_, sizeof vn_, "%s.v", cp);
      if (!(st = schedopt_schema_get_numseq(err, t_e, tn_, &tv, &tn)) &&
          !(st = schedopt_schema_get_numseq(err, v_e, vn_, &vv, &vn))) {
        if (tn != vn || tn == 0)
          st = fail(err, SCHEDOPT_EINVAL, v_e, 1,
                    "%s: 't' and 'v' must be non-empty and of the same length (got %zu and %zu)",
                    cp, tn, vn);
        else if ((st = schedopt_control_set_table(c, tn, tv, vv, err)))
          schedopt_schema_prefix_at(err, t_e, 1, cp);
      }
    }
  }
  if (!st && T->needs_table == 2) {
    if (!ms_e || !fa_e) {
      st = fail(err, SCHEDOPT_EINVAL, ms_e ? ms_e : fa_e ? fa_e : te, 1,
                "%s: a multistep control needs 'milestones' (fractions of the horizon in "
                "(0, 1)) and 'factors' (one more than milestones)", cp);
    } else {
      char mn_[300], fn_[300];
      snprintf(mn_, sizeof mn_, "%s.milestones", cp);
      snprintf(fn_, sizeof fn_, "%s.factors", cp);
      if (!(st = schedopt_schema_get_numseq(err, ms_e, mn_, &tv, &tn)) &&
          !(st = schedopt_schema_get_numseq(err, fa_e, fn_, &vv, &vn))) {
        if (vn != tn + 1)
          st = fail(err, SCHEDOPT_EINVAL, fa_e, 1,
                    "%s: 'factors' must have one more value than 'milestones' (got %zu and %zu)",
                    cp, vn, tn);
        else if ((st = schedopt_control_set_steps(c, tn, tv, vv, err)))
          schedopt_schema_prefix_at(err, ms_e, 1, cp);
      }
    }
  }
  free(tv);
  free(vv);
  free(path);
  if (st) {
    schedopt_control_free(c);
    return st;
  }
  *out = c;
  return SCHEDOPT_OK;
}

/* Build channel ci from the entries (if given) and set it in s. */
static schedopt_status build_channel(const schedopt_problem *p, const channel_info *ci,
                                     schedopt_schedule *s, double H, int *present,
                                     const ykv_entry **where, schedopt_error *err) {
  char key[64];
  snprintf(key, sizeof key, "controls.%s", ci->key);
  const ykv_entry *e = schedopt_ykv_get(&p->entries, key);
  *present = e != NULL;
  *where = e;
  if (!e) return SCHEDOPT_OK;
  schedopt_control *c = NULL;
  schedopt_status st;
  if (e->kind == YKV_SCALAR) {
    double x;
    if ((st = schedopt_schema_get_number(err, e, key, &x)) ||
        (st = schedopt_schema_check_number(err, e, key, e->value, x, ci->lo, ci->hi, 0, ci->hi_open, 0,
                           ci->what)))
      return st;
    const schedopt_control_type *T = schedopt_control_constant;
    if ((st = schedopt_control_alloc(&c, T, err))) return st;
    if (T->nparams < 1)
      st = schedopt_error_set(err, SCHEDOPT_EINTERNAL, "constant control has no parameter");
    else if ((st = schedopt_control_set(c, T->params[0].name, x, err)))
      schedopt_schema_prefix_at(err, e, 0, key);
  } else {
    st = build_control_map(p, ci, e, &c, err);
  }
  if (!st && (st = schedopt_control_validate(c, H, ci->lo, ci->hi, ci->hi_open, key, err))) {
    char loc[512]; /* the message names the control already */
    schedopt_ykv_loc(e, 1, loc, sizeof loc);
    schedopt_error_prefix(err, "%s: error: ", loc);
  }
  if (!st && (st = schedopt_schedule_set(s, ci->ch, c, err))) schedopt_schema_prefix_at(err, e, 1, key);
  schedopt_control_free(c);
  return st;
}

/* ======================================================================
 * Output times
 * ====================================================================== */

/* n strictly increasing integers near x[i], the last = H (n ≤ H − lo + 1). */
static void integer_grid(double *x, size_t n, double lo, double H) {
  double prev = lo - 1;
  for (size_t i = 0; i < n; i++) {
    double r = nearbyint(x[i]);
    double lower = prev + 1, upper = H - (double)(n - 1 - i);
    if (r < lower) r = lower;
    if (r > upper) r = upper;
    x[i] = prev = r;
  }
}

static schedopt_status make_times(schedopt_problem *p, const schedopt_settings *S, schedopt_error *err) {
  const double H = p->horizon;
  const int steps = schedopt_schedule_clock(p->schedule) == SCHEDOPT_CLOCK_STEPS;
  const ykv_entry *te = schedopt_schema_given(S, "output.times");
  double *t = NULL;
  size_t n = 0;
  schedopt_status st;
  if (te) {
    if ((st = schedopt_schema_get_numseq(err, te, "output.times", &t, &n))) return st;
    if (n == 0) {
      free(t);
      return fail(err, SCHEDOPT_EINVAL, te, 0, "output.times: give at least one time");
    }
    for (size_t i = 0; i < n; i++) {
      ykv_entry item = *te;
      item.line = te->item_line[i];
      item.col = te->item_col[i];
      const char *why = NULL;
      char buf[200];
      if (!(t[i] > 0) || t[i] > H) {
        snprintf(buf, sizeof buf, "must be in (0, H] with H = %.15g, the horizon in %s", H,
                 steps ? "steps" : p->budget == SCHEDOPT_BUDGET_TOKENS ? "tokens" : "samples");
        why = buf;
      } else if (steps && !schedopt_is_integral(t[i])) {
        why = "must be an integer on the step clock";
      } else if (i > 0 && !(t[i] > t[i - 1])) {
        snprintf(buf, sizeof buf, "must be greater than output.times[%zu] = %s (times must be "
                 "increasing)", i - 1, te->items[i - 1]);
        why = buf;
      }
      if (why) {
        st = fail(err, SCHEDOPT_EINVAL, &item, 0, "output.times[%zu] = %s %s", i, te->items[i],
                  why);
        free(t);
        return st;
      }
    }
  } else {
    double points = schedopt_schema_val_or(S, "output.points", 200);
    int linear = schedopt_schema_val_or(S, "output.spacing", 0) == 1;
    double t0;
    if (steps) {
      t0 = 1;
    } else {
      schedopt_uval u;
      schedopt_schedule_eval(p->schedule, 0, &u);
      t0 = u.batch * p->seq_len;
    }
    if (!(t0 < H)) t0 = H;
    double lo = linear ? H / points : t0;
    n = (size_t)points;
    if (steps) {
      double avail = H - (linear ? 1 : t0) + 1;
      if ((double)n > avail) n = (size_t)avail;
      if (linear) lo = 1;
    }
    if (t0 >= H) n = 1;
    t = malloc(n * sizeof *t);
    if (!t) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for output times");
    for (size_t i = 0; i < n; i++) {
      if (n == 1)
        t[i] = H;
      else if (linear)
        t[i] = H * (double)(i + 1) / (double)n;
      else
        t[i] = t0 * pow(H / t0, (double)i / (double)(n - 1));
    }
    t[n - 1] = H;
    if (steps) integer_grid(t, n, lo, H);
  }
  p->times = t;
  p->ntimes = n;
  return SCHEDOPT_OK;
}

/* ======================================================================
 * Build
 * ====================================================================== */

static int differ(double x, double y) { return fabs(x - y) > 1e-12 * fmax(fabs(x), fabs(y)); }

static const ykv_entry *section_entry(const schedopt_problem *p, const char *sec) {
  return schedopt_ykv_get(&p->entries, sec);
}

static schedopt_status build_extras(schedopt_problem *p, schedopt_error *err);

/* Limits on the work of one run (docs/yaml.md, "Limits"), so that an absurd
 * size is refused at once instead of running for hours:
 *   recursion  optimizer steps × states ≤ WORK_RECURSION (one state update
 *              takes ~2 ns: the limit is a few minutes)
 *   cvodes     (schedule knots + 1) × states ≤ WORK_KNOTS (the integrator
 *              stops, and at jumps restarts, at every knot) */
#define WORK_RECURSION 1e11
#define WORK_KNOTS 1e10

static schedopt_status check_work(const schedopt_problem *p, const schedopt_settings *S,
                                  const ykv_entry *kind_e, int recursion, schedopt_error *err) {
  const double n = (double)schedopt_model_size(p->model), H = p->horizon;
  if (recursion) {
    double steps = H; /* data clock: Σ dt / (B·seq_len) on a grid, B at its smaller end */
    if (schedopt_schedule_clock(p->schedule) == SCHEDOPT_CLOCK_DATA) {
      steps = 0;
      schedopt_uval u0, u1;
      schedopt_schedule_eval(p->schedule, 0, &u0);
      for (int k = 1; k <= 1000; k++) {
        schedopt_schedule_eval(p->schedule, H * k / 1000, &u1);
        steps += H / 1000 / (fmin(u0.batch, u1.batch) * p->seq_len);
        u0 = u1;
      }
    }
    if (steps * n > WORK_RECURSION)
      return fail(err, SCHEDOPT_EINVAL, schedopt_schema_given(S, "model.dynamics"), 0,
                  "model.dynamics = recursion runs one optimizer step at a time: %s = %s "
                  "means about %.3g steps x %.0f states = %.3g state updates, over the limit "
                  "of %.0e (minutes of work); use dynamics: matched (the ODE, whose cost "
                  "hardly grows with the horizon) or a smaller budget or model",
                  kind_e->path, kind_e->value, steps, n, steps * n, WORK_RECURSION);
    return SCHEDOPT_OK;
  }
  size_t nk = 0, most = 0;
  const char *where = NULL; /* the channel with the most knots */
  for (size_t c = 0; c < SCHEDOPT_SCHEMA_NCHANNELS; c++) {
    size_t k = schedopt_control_knots(schedopt_schedule_get(p->schedule, schedopt_schema_channels[c].ch), H,
                                      NULL, NULL, 0);
    nk += k;
    if (k > most) most = k, where = schedopt_schema_channels[c].key;
  }
  if (((double)nk + 1) * n > WORK_KNOTS) {
    char key[64];
    snprintf(key, sizeof key, "controls.%s", where ? where : "lr");
    const ykv_entry *e = schedopt_ykv_get(&p->entries, key);
    const char *fmt = "%s: the schedule has %zu knots (table points, milestones, warmup ends) "
                      "and the model %.0f states; the integrator stops at every knot, and "
                      "(knots + 1) x states = %.3g is over the limit of %.0e (hours of work): "
                      "thin the table or use fewer modes";
    if (e) return fail(err, SCHEDOPT_EINVAL, e, 1, fmt, key, nk, n, ((double)nk + 1) * n,
                       WORK_KNOTS);
    return schedopt_schema_fail_src(err, p, fmt, key, nk, n, ((double)nk + 1) * n, WORK_KNOTS);
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_problem_build(schedopt_problem *p, schedopt_error *err) {
  if (!p) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_build: NULL");
  clear_built(p);
  schedopt_settings S;
  schedopt_status st = schedopt_schema_validate(p, &S, err);
  if (st) return st;

  /* ---- model ---- */
  const int fsl = schedopt_schema_val_or(&S, "model.type", 0) == 1;
  const char *tname = fsl ? "fsl" : "plrf";
  const char *const *wrong = fsl ? schedopt_schema_plrf_only : schedopt_schema_fsl_only;
  for (int i = 0; wrong[i]; i++) {
    const ykv_entry *e = schedopt_schema_given(&S, wrong[i]);
    if (e)
      return fail(err, SCHEDOPT_EINVAL, e, 1, "%s applies to model type %s only (this model is "
                  "%s)", wrong[i], fsl ? "plrf" : "fsl", tname);
  }
  const ykv_entry *ea = schedopt_schema_given(&S, "model.a"), *es = schedopt_schema_given(&S, "model.s"),
                  *eb = schedopt_schema_given(&S, "model.b"), *ebeta = schedopt_schema_given(&S, "model.beta");
  const ykv_entry *model_e = section_entry(p, "model");
  double a, b;
  if (eb && ebeta && differ(S.v[schedopt_schema_index("model.b")], S.v[schedopt_schema_index("model.beta")]))
    return schedopt_schema_conflict(err, eb, ebeta, "b and beta are the same exponent");
  if (!eb && !ebeta) {
    if (model_e)
      return fail(err, SCHEDOPT_EINVAL, model_e, 1,
                  "model: missing 'b' (spectral decay exponent, > 1; or 'beta')");
    return schedopt_schema_fail_src(err, p, "missing 'model:' section with the exponents 'a' and 'b' (or 's' "
                            "and 'beta')");
  }
  b = eb ? schedopt_schema_val_or(&S, "model.b", 0) : schedopt_schema_val_or(&S, "model.beta", 0);
  if (ea && es) {
    double implied = 1 + schedopt_schema_val_or(&S, "model.s", 0) * b;
    if (differ(schedopt_schema_val_or(&S, "model.a", 0), implied)) {
      char why[128];
      snprintf(why, sizeof why, "a = 1 + s*b = %.15g", implied);
      return schedopt_schema_conflict(err, ea, es, why);
    }
  }
  if (!ea && !es)
    return fail(err, SCHEDOPT_EINVAL, model_e, 1,
                "model: missing 'a' (signal decay exponent, > 1; or 's', with a = 1 + s*b)");
  a = ea ? schedopt_schema_val_or(&S, "model.a", 0) : 1 + schedopt_schema_val_or(&S, "model.s", 0) * b;
  if (!ea && !(a <= 1000))
    return fail(err, SCHEDOPT_EINVAL, es, 0, "model.s = %s gives a = 1 + s*b = %.15g, out of "
                "range: a must be in (1, 1000]", es->value, a);
  const ykv_entry *eN = schedopt_schema_given(&S, "model.N"), *eM = schedopt_schema_given(&S, "model.M");
  if (eN && eM && differ(schedopt_schema_val_or(&S, "model.N", 0), schedopt_schema_val_or(&S, "model.M", 0)))
    return schedopt_schema_conflict(err, eN, eM, "M is another name for N");
  long N = (long)(eN ? schedopt_schema_val_or(&S, "model.N", 1000) : schedopt_schema_val_or(&S, "model.M", 1000));
  const ykv_entry *es2 = schedopt_schema_given(&S, "model.sigma2"), *esg = schedopt_schema_given(&S, "model.sigma");
  double sigma2 = es2 ? schedopt_schema_val_or(&S, "model.sigma2", 0) : 0;
  if (esg) {
    double sg = schedopt_schema_val_or(&S, "model.sigma", 0);
    if (!isfinite(sg * sg))
      return fail(err, SCHEDOPT_EINVAL, esg, 0, "model.sigma = %s is out of range: its square "
                  "(the noise variance sigma2) overflows a double", esg->value);
    if (es2 && differ(sigma2, sg * sg)) return schedopt_schema_conflict(err, es2, esg, "sigma2 = sigma^2");
    sigma2 = sg * sg;
  }
  p->a = a;
  p->b = b;
  p->beta = b;
  p->s = (a - 1) / b;
  p->sigma2 = sigma2;
  p->modes = N;
  const int recursion = schedopt_schema_val_or(&S, "model.dynamics", 0) == 2;

  /* ---- budget ---- */
  const ykv_entry *kind_e = NULL;
  int kind = -1;
  for (int i = 0; i < 4; i++) {
    const ykv_entry *e = schedopt_schema_given(&S, schedopt_schema_budget_keys[i]);
    if (!e) continue;
    if (kind_e) {
      char loc[512];
      schedopt_ykv_loc(kind_e, 1, loc, sizeof loc);
      return fail(err, SCHEDOPT_EINVAL, e, 1,
                  "%s: give exactly one budget kind (steps, samples, tokens or compute), but "
                  "%s is also given (at %s)", e->path, kind_e->path, loc);
    }
    kind_e = e;
    kind = i;
  }
  if (!kind_e) {
    const ykv_entry *be = section_entry(p, "budget");
    if (be)
      return fail(err, SCHEDOPT_EINVAL, be, 1,
                  "budget: give one of steps, samples, tokens or compute");
    return schedopt_schema_fail_src(err, p, "no budget: add a 'budget:' section with one of steps, samples, "
                            "tokens or compute");
  }
  p->budget = (schedopt_budget_kind)kind;
  p->amount = S.v[schedopt_schema_index(schedopt_schema_budget_keys[kind])];
  p->seq_len = 1;
  schedopt_clock clock = SCHEDOPT_CLOCK_DATA;
  double H = p->amount;
  switch (p->budget) {
  case SCHEDOPT_BUDGET_STEPS: clock = SCHEDOPT_CLOCK_STEPS; break;
  case SCHEDOPT_BUDGET_SAMPLES: break;
  case SCHEDOPT_BUDGET_TOKENS: p->seq_len = schedopt_schema_val_or(&S, "budget.seq_len", 1); break;
  case SCHEDOPT_BUDGET_COMPUTE: H = p->amount / (double)N; break;
  }
  p->horizon = H;

  /* ---- schedule ---- */
  if ((st = schedopt_schedule_alloc(&p->schedule, clock, H, p->seq_len, err))) {
    schedopt_error_prefix(err, "%s: error: budget: ", p->source ? p->source : "problem");
    return st;
  }
  int has[SCHEDOPT_SCHEMA_NCHANNELS] = {0};
  const ykv_entry *where[SCHEDOPT_SCHEMA_NCHANNELS] = {0};
  for (size_t i = 0; i < SCHEDOPT_SCHEMA_NCHANNELS; i++)
    if ((st = build_channel(p, &schedopt_schema_channels[i], p->schedule, H, &has[i], &where[i], err)))
      return st;
  if (fsl && has[2])
    return fail(err, SCHEDOPT_EINVAL, where[2], 1,
                "controls.momentum: the fsl model has no momentum dynamics (use model type "
                "plrf)");
  if ((st = schedopt_schedule_validate(p->schedule, err))) {
    schedopt_error_prefix(err, "%s: error: controls: ", p->source ? p->source : "problem");
    return st;
  }
  if (clock == SCHEDOPT_CLOCK_DATA) {
    schedopt_uval u;
    schedopt_schedule_eval(p->schedule, 0, &u);
    if (H < u.batch * p->seq_len)
      return fail(err, SCHEDOPT_EINVAL, kind_e, 0,
                  "%s = %s is less than one batch (%.15g %s at t = 0)", kind_e->path,
                  kind_e->value, u.batch * p->seq_len,
                  p->budget == SCHEDOPT_BUDGET_TOKENS ? "tokens" : "samples");
  }

  /* ---- model ---- */
  const schedopt_model_type *MT = fsl ? schedopt_model_fsl : schedopt_model_plrf;
  if (fsl) {
    schedopt_fsl_params fp;
    schedopt_fsl_params_default(&fp);
    fp.a = a;
    fp.b = b;
    fp.M = N;
    fp.sigma2 = sigma2;
    fp.lambda_scale = schedopt_schema_val_or(&S, "model.lambda_scale", 1);
    fp.signal_scale = schedopt_schema_val_or(&S, "model.signal_scale", 1);
    fp.c_approx = schedopt_schema_val_or(&S, "model.c_approx", 1);
    fp.c_signal = schedopt_schema_val_or(&S, "model.c_signal", 1);
    fp.c_noise = schedopt_schema_val_or(&S, "model.c_noise", 1);
    st = schedopt_model_alloc(&p->model, MT, &fp, err);
  } else {
    schedopt_plrf_params pp;
    schedopt_plrf_params_default(&pp);
    pp.a = a;
    pp.b = b;
    pp.N = N;
    pp.sigma2 = sigma2;
    pp.lambda_scale = schedopt_schema_val_or(&S, "model.lambda_scale", 1);
    pp.signal_scale = schedopt_schema_val_or(&S, "model.signal_scale", 1);
    pp.tail = schedopt_schema_val_or(&S, "model.tail", NAN);
    pp.dynamics = schedopt_schema_val_or(&S, "model.dynamics", 0) == 1 ? SCHEDOPT_DYN_SDE : SCHEDOPT_DYN_MATCHED;
    pp.momentum = has[2];
    pp.split = (int)schedopt_schema_val_or(&S, "model.split", 1);
    /* The ODE keeps (A, V, X) only for modes that can oscillate: the others'
     * (V, X) are slaved to A to O(ηλ/(1 − μ)²) ≤ 1e-3 for any μ ≤ 0.999
     * (docs/theory.md §7).  The recursion needs every mode's triple. */
    const double mm = schedopt_schema_val_or(&S, "model.momentum_modes", NAN);
    const ykv_entry *mme = schedopt_schema_given(&S, "model.momentum_modes");
    if (!isnan(mm) && mm != floor(mm))
      return fail(err, SCHEDOPT_EINVAL, mme, 0,
                  "model.momentum_modes = %s must be a whole number of modes (or auto)",
                  mme->value);
    if (pp.momentum && !recursion)
      pp.momentum_modes = isnan(mm) ? schedopt_plrf_momentum_modes(&pp, SCHEDOPT_MOMENTUM_MU_MAX,
                                                                   SCHEDOPT_MOMENTUM_OD_TOL)
                                    : (mm >= (double)N ? 0 : (long)mm);
    st = schedopt_model_alloc(&p->model, MT, &pp, err);
    if (!st && pp.momentum) /* a copy holds N + 2K states (K triples, N − K singles) */
      p->mom_modes = ((long)schedopt_model_size(p->model) / (pp.split ? 2 : 1) - N) / 2;
  }
  if (st) {
    if (model_e)
      schedopt_schema_prefix_at(err, model_e, 1, "model");
    else
      schedopt_error_prefix(err, "%s: error: model: ", p->source ? p->source : "problem");
    return st;
  }
  p->integrator = recursion ? schedopt_integrator_recursion : schedopt_integrator_cvodes;
  if (recursion && !MT->step)
    return fail(err, SCHEDOPT_EINVAL, schedopt_schema_given(&S, "model.dynamics"), 0,
                "model.dynamics: recursion needs a model with an exact step map");
  if ((st = check_work(p, &S, kind_e, recursion, err))) return st;

  /* ---- solver, output ---- */
  p->rtol = schedopt_schema_val_or(&S, "solver.rtol", 1e-6);
  p->atol = schedopt_schema_val_or(&S, "solver.atol", 1e-10);
  p->max_steps = (long)schedopt_schema_val_or(&S, "solver.max_steps", 1e6);
  if ((st = make_times(p, &S, err))) return st;

  const ykv_entry *ne = schedopt_schema_given(&S, "name"), *fe = schedopt_schema_given(&S, "output.file");
  /* the name becomes part of file names (exports, figures, sweep cases):
   * one path component, so it can never point elsewhere */
  if (ne && (strchr(ne->value, '/') || strchr(ne->value, '\\') || !strcmp(ne->value, ".") ||
             !strcmp(ne->value, "..") || ne->value[0] == '-' || strlen(ne->value) > 200))
    return fail(err, SCHEDOPT_EINVAL, ne, 0,
                "name = '%.200s' is used in file names: it must be one name of at most 200 "
                "characters, without '/' or '\\', not '.' or '..', not starting with '-'",
                ne->value);
  p->name = xstrdup(ne ? ne->value : p->stem ? p->stem : "problem");
  if (!p->name || (fe && !(p->output_file = xstrdup(fe->value)))) {
    clear_built(p);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if ((st = build_extras(p, err))) return st;
  p->S = S; /* read by the optimize: section's reader (optimize/optimize_spec.c) */
  p->built = 1;
  return SCHEDOPT_OK;
}

/* ======================================================================
 * Accessors
 * ====================================================================== */

const char *schedopt_problem_name(const schedopt_problem *p) {
  if (!p) return "problem";
  if (p->name) return p->name;
  return p->stem ? p->stem : "problem";
}

const char *schedopt_problem_description(const schedopt_problem *p) {
  const char *d = NULL;
  for (size_t i = 0; p && i < p->entries.n; i++)
    if (p->entries.v[i].kind == YKV_SCALAR && !strcmp(p->entries.v[i].path, "description"))
      d = p->entries.v[i].value; /* a later --set wins */
  return d;
}

const schedopt_model *schedopt_problem_model(const schedopt_problem *p) {
  return p ? p->model : NULL;
}

const schedopt_schedule *schedopt_problem_schedule(const schedopt_problem *p) {
  return p ? p->schedule : NULL;
}

const schedopt_integrator_type *schedopt_problem_integrator(const schedopt_problem *p) {
  return p && p->integrator ? p->integrator : schedopt_integrator_cvodes;
}

void schedopt_problem_tolerances(const schedopt_problem *p, double *rtol, double *atol,
                                 long *max_steps) {
  int ok = p && p->built;
  if (rtol) *rtol = ok ? p->rtol : 1e-6;
  if (atol) *atol = ok ? p->atol : 1e-10;
  if (max_steps) *max_steps = ok ? p->max_steps : 1000000;
}

schedopt_budget_kind schedopt_problem_budget(const schedopt_problem *p, double *amount) {
  if (amount) *amount = p && p->built ? p->amount : 0;
  return p && p->built ? p->budget : SCHEDOPT_BUDGET_STEPS;
}

double schedopt_problem_seq_len(const schedopt_problem *p) {
  return p && p->built ? p->seq_len : 1;
}

void schedopt_problem_exponents(const schedopt_problem *p, double *a, double *b, double *s,
                                double *beta) {
  int ok = p && p->built;
  if (a) *a = ok ? p->a : NAN;
  if (b) *b = ok ? p->b : NAN;
  if (s) *s = ok ? p->s : NAN;
  if (beta) *beta = ok ? p->beta : NAN;
}

double schedopt_problem_sigma2(const schedopt_problem *p) {
  return p && p->built ? p->sigma2 : NAN;
}

long schedopt_problem_modes(const schedopt_problem *p) { return p && p->built ? p->modes : 0; }
long schedopt_problem_momentum_modes(const schedopt_problem *p) {
  return p && p->built ? p->mom_modes : 0;
}

schedopt_status schedopt_problem_output_times(const schedopt_problem *p, double **t, size_t *n,
                                              schedopt_error *err) {
  if (!p || !t || !n)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_output_times: NULL");
  *t = NULL;
  *n = 0;
  if (!p->built)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "schedopt_problem_output_times: the problem is not built");
  double *c = malloc((p->ntimes ? p->ntimes : 1) * sizeof *c);
  if (!c) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  memcpy(c, p->times, p->ntimes * sizeof *c);
  *t = c;
  *n = p->ntimes;
  return SCHEDOPT_OK;
}

const char *schedopt_problem_output_file(const schedopt_problem *p) {
  return p && p->built ? p->output_file : NULL;
}

/* A copy of built problem p with the --set overrides `sets` applied, built
 * (the outer searches of optimize: vary model.N or the budget this way). */
schedopt_status schedopt_problem_variant(const schedopt_problem *p, const char *const *sets,
                                    size_t nsets, schedopt_problem **out, schedopt_error *err) {
  *out = NULL;
  schedopt_problem *q = NULL;
  schedopt_status st = schedopt_problem_alloc(&q, err);
  if (st) return st;
  const ykv_list *l = &p->entries;
  q->entries.v = calloc(l->n ? l->n : 1, sizeof *q->entries.v);
  st = q->entries.v ? SCHEDOPT_OK : SCHEDOPT_ENOMEM;
  if (!st) q->entries.cap = l->n ? l->n : 1;
  for (size_t i = 0; i < l->n && !st; i++) {
    const ykv_entry *a = &l->v[i];
    ykv_entry *b = &q->entries.v[q->entries.n++];
    *b = *a;
    b->path = xstrdup(a->path);
    b->value = a->value ? xstrdup(a->value) : NULL;
    b->source = a->source ? xstrdup(a->source) : NULL;
    b->items = NULL, b->item_line = b->item_col = NULL;
    size_t n = a->n;
    b->n = 0;
    if (a->items) {
      b->items = calloc(n ? n : 1, sizeof *b->items);
      b->item_line = malloc((n ? n : 1) * sizeof *b->item_line);
      b->item_col = malloc((n ? n : 1) * sizeof *b->item_col);
      if (b->items && b->item_line && b->item_col) {
        b->n = n;
        for (size_t k = 0; k < n; k++) {
          b->items[k] = xstrdup(a->items[k]);
          if (!b->items[k]) st = SCHEDOPT_ENOMEM;
          b->item_line[k] = a->item_line ? a->item_line[k] : 0;
          b->item_col[k] = a->item_col ? a->item_col[k] : 0;
        }
      } else {
        st = SCHEDOPT_ENOMEM;
      }
    }
    if (!b->path || (a->value && !b->value) || (a->source && !b->source)) st = SCHEDOPT_ENOMEM;
  }
  if (!st && ((p->source && !(q->source = xstrdup(p->source))) ||
              (p->base_dir && !(q->base_dir = xstrdup(p->base_dir))) ||
              (p->stem && !(q->stem = xstrdup(p->stem)))))
    st = SCHEDOPT_ENOMEM;
  if (st) {
    schedopt_problem_free(q);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  for (size_t k = 0; k < nsets && !st; k++) st = schedopt_problem_set(q, sets[k], err);
  if (!st) st = schedopt_problem_build(q, err);
  if (st) {
    schedopt_problem_free(q);
    return st;
  }
  *out = q;
  return SCHEDOPT_OK;
}

/* ======================================================================
 * output.export, output.plot — files written next to the main output
 * (schema: docs/yaml.md, "output")
 * ====================================================================== */

static const char *const ex_keys[] = {"formats", "points", "peak_lr", "batch", "seq_len",
                                      "tolerance", "megatron_units", NULL};
static const char *const ex_units[] = {"auto", "iters", "samples", NULL};
static const char *const plot_keys[] = {"points", "title", NULL};

/* A number at e in the range, integral if asked. */
static schedopt_status ex_number(schedopt_error *err, const ykv_entry *e, double lo, double hi,
                                 int lo_open, int integer, const char *what, double *x) {
  schedopt_status st = schedopt_schema_get_number(err, e, e->path, x);
  if (!st) st = schedopt_schema_check_number(err, e, e->path, e->value, *x, lo, hi, lo_open, 0, integer, what);
  return st;
}

/* The keys of mapping `sec` must be in `allowed`. */
static schedopt_status ex_known_keys(const ykv_list *l, const char *sec,
                                     const char *const *allowed, schedopt_error *err) {
  const int depth = schedopt_ykv_depth(sec) + 1;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *c = &l->v[i];
    if (schedopt_ykv_is_under(c->path, sec) && schedopt_ykv_depth(c->path) == depth &&
        !schedopt_schema_in(allowed, schedopt_ykv_leaf(c->path)))
      return schedopt_schema_unknown_in(err, c, sec, allowed, NULL, NULL);
  }
  return SCHEDOPT_OK;
}

static schedopt_status build_export(schedopt_problem *p, schedopt_error *err) {
  schedopt_problem_extras *x = &p->extras;
  const ykv_list *l = &p->entries;
  const ykv_entry *e = schedopt_ykv_get(l, "output.export"), *fe = e, *c;
  schedopt_status st;
  if (!e) return SCHEDOPT_OK;
  char loc[512];
  schedopt_ykv_loc(e, 1, loc, sizeof loc);
  if (!(p->export_loc = xstrdup(loc)))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  x->export_loc = p->export_loc;
  strbuf names = {{0}, 0};
  schedopt_schema_list_text(&names, NULL, schedopt_schema_export_formats);
  if (e->kind == YKV_MAP || (e->kind == YKV_SCALAR && e->is_null)) {
    if ((st = ex_known_keys(l, "output.export", ex_keys, err))) return st;
    if (!(fe = schedopt_ykv_get(l, "output.export.formats")))
      return fail(err, SCHEDOPT_EINVAL, e, 1, "output.export: missing 'formats' (a list of %s)",
                  names.s);
  }
  if (fe->kind == YKV_SCALAR && !fe->is_null) {
    int f;
    if ((st = schedopt_schema_choice(err, fe, fe->path, schedopt_schema_export_formats, &f))) return st;
    x->export_formats |= 1u << f;
  } else if (fe->kind == YKV_SEQ && fe->n > 0) {
    for (size_t i = 0; i < fe->n; i++) {
      ykv_entry it = schedopt_schema_item(fe, i);
      int f;
      if ((st = schedopt_schema_choice(err, &it, fe->path, schedopt_schema_export_formats, &f))) return st;
      x->export_formats |= 1u << f;
    }
  } else {
    char d[256];
    schedopt_ykv_describe(fe, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, fe, fe->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected a format or a list of formats like [pytorch, megatron] (%s), "
                "got %s", fe->path, names.s, d);
  }
  if (fe == e) return SCHEDOPT_OK;
  double v;
  if ((c = schedopt_ykv_get(l, "output.export.points"))) {
    if ((st = ex_number(err, c, 2, SCHEDOPT_EXPORT_MAX_POINTS, 0, 1, "table rows", &v)))
      return st;
    x->export_points = (size_t)v;
  }
  if ((c = schedopt_ykv_get(l, "output.export.peak_lr"))) {
    if ((st = ex_number(err, c, 0, INFINITY, 1, 0, "the exported learning rate's maximum", &v)))
      return st;
    x->peak_lr = v;
  }
  if ((c = schedopt_ykv_get(l, "output.export.batch"))) {
    if ((st = ex_number(err, c, 1, INFINITY, 0, 0, "the trainer's batch size", &v))) return st;
    x->batch = v;
  }
  if ((c = schedopt_ykv_get(l, "output.export.seq_len"))) {
    if ((st = ex_number(err, c, 1, 1e9, 0, 1, "tokens per sample", &v))) return st;
    if (p->budget == SCHEDOPT_BUDGET_TOKENS && v != p->seq_len)
      return fail(err, SCHEDOPT_EINVAL, c, 0, "output.export.seq_len = %s differs from "
                  "budget.seq_len = %.15g: a token budget fixes the tokens per sample",
                  c->value, p->seq_len);
    x->seq_len = v;
  }
  if ((c = schedopt_ykv_get(l, "output.export.tolerance"))) {
    if ((st = ex_number(err, c, 0, 1, 1, 0, "Megatron-LM fit, a fraction of the peak", &v)))
      return st;
    x->tolerance = v;
  }
  if ((c = schedopt_ykv_get(l, "output.export.megatron_units")) &&
      (st = schedopt_schema_choice(err, c, c->path, ex_units, &x->megatron_units)))
    return st;
  return SCHEDOPT_OK;
}

static schedopt_status build_plot(schedopt_problem *p, schedopt_error *err) {
  schedopt_problem_extras *x = &p->extras;
  const ykv_list *l = &p->entries;
  const ykv_entry *e = schedopt_ykv_get(l, "output.plot"), *c;
  schedopt_status st;
  x->plot_points = SCHEDOPT_EXPORT_GRID;
  if (!e) return SCHEDOPT_OK;
  if (e->kind == YKV_SCALAR && !e->is_null) {
    if (!schedopt_schema_parse_bool(e->value, &x->plot))
      return fail(err, SCHEDOPT_EINVAL, e, 0, "output.plot: expected true, false or a mapping "
                  "(points, title), got '%.200s'", e->value);
    return SCHEDOPT_OK;
  }
  if (e->kind != YKV_MAP && !(e->kind == YKV_SCALAR && e->is_null)) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, 1, "output.plot: expected true, false or a mapping "
                "(points, title), got %s", d);
  }
  x->plot = 1;
  if ((st = ex_known_keys(l, "output.plot", plot_keys, err))) return st;
  if ((c = schedopt_ykv_get(l, "output.plot.points"))) {
    double v;
    if ((st = ex_number(err, c, 2, SCHEDOPT_EXPORT_MAX_POINTS, 0, 1, "schedule resolution",
                        &v)))
      return st;
    x->plot_points = (size_t)v;
  }
  if ((c = schedopt_ykv_get(l, "output.plot.title"))) {
    static const keyspec title = {"output.plot.title", K_STR, 0, 0, 0, 0, NULL, "title"};
    double unused;
    if ((st = schedopt_schema_check_leaf(err, &title, c, &unused))) return st;
    if (!(p->plot_title = xstrdup(c->value)))
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    x->plot_title = p->plot_title;
  }
  return SCHEDOPT_OK;
}

static schedopt_status build_extras(schedopt_problem *p, schedopt_error *err) {
  memset(&p->extras, 0, sizeof p->extras);
  schedopt_status st = build_export(p, err);
  if (!st) st = build_plot(p, err);
  return st;
}

void schedopt_problem_get_extras(const schedopt_problem *p, schedopt_problem_extras *x) {
  if (p && p->built)
    *x = p->extras;
  else
    memset(x, 0, sizeof *x);
}
