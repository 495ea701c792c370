/* sweep.c — a problem's optimization over a list of horizons or budgets:
 * reading the sweep: section, one problem per case, the runs, the log-log
 * fits.  Reports and shard files: sweep_io.c. */
#define _POSIX_C_SOURCE 200809L
#include "sweep_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "schedopt/optimize.h"
#include "schedopt/problem.h"
#include "yamlkv.h"

static const char *const sweep_keys[] = {"key", "values", "from", "to", "points", "spacing",
                                         "round", NULL};

double schedopt_loglog_slope(const double *x, const double *y, size_t n, double *intercept,
                             size_t *used) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(x[i] > 0) || !(y[i] > 0) || !isfinite(x[i]) || !isfinite(y[i])) continue;
    double lx = log(x[i]), ly = log(y[i]);
    sx += lx;
    sy += ly;
    m++;
  }
  if (used) *used = m;
  if (intercept) *intercept = NAN;
  if (m < 2) return NAN;
  const double mx = sx / (double)m, my = sy / (double)m;
  for (size_t i = 0; i < n; i++) {
    if (!(x[i] > 0) || !(y[i] > 0) || !isfinite(x[i]) || !isfinite(y[i])) continue;
    double dx = log(x[i]) - mx, dy = log(y[i]) - my;
    sxx += dx * dx;
    sxy += dx * dy;
  }
  if (!(sxx > 0)) return NAN;
  const double slope = sxy / sxx;
  if (intercept) *intercept = my - slope * mx;
  return -slope;
}

/* ---- fingerprints ------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= 1099511628211ull;
  }
  return h;
}

static void fingerprints(schedopt_sweep *s) {
  uint64_t h = 1469598103934665603ull;
  h = fnv(h, s->text, s->len);
  for (size_t i = 0; i < s->nsets; i++) h = fnv(h, s->sets[i], strlen(s->sets[i]) + 1);
  snprintf(s->fp_problem, sizeof s->fp_problem, "%016llx", (unsigned long long)h);
  h = 1469598103934665603ull;
  h = fnv(h, s->key, strlen(s->key) + 1);
  for (size_t i = 0; i < s->n; i++) h = fnv(h, s->cases[i].value, strlen(s->cases[i].value) + 1);
  snprintf(s->fp_sweep, sizeof s->fp_sweep, "%016llx", (unsigned long long)h);
}

/* ---- life cycle ------------------------------------------------------------------ */

schedopt_status sweep_alloc(schedopt_sweep **out, size_t n, schedopt_error *err) {
  schedopt_sweep *s = calloc(1, sizeof *s);
  if (s) s->cases = calloc(n ? n : 1, sizeof *s->cases);
  if (!s || !s->cases) {
    free(s);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  s->n = n;
  s->shard_k = s->shard_n = 1;
  for (size_t i = 0; i < n; i++) s->cases[i].index = i;
  *out = s;
  return SCHEDOPT_OK;
}

void schedopt_sweep_free(schedopt_sweep *s) {
  if (!s) return;
  free(s->text);
  free(s->source);
  for (size_t i = 0; i < s->nsets; i++) free(s->sets[i]);
  free(s->sets);
  free(s->cases);
  free(s);
}

size_t schedopt_sweep_ncases(const schedopt_sweep *s) { return s ? s->n : 0; }
const char *schedopt_sweep_key(const schedopt_sweep *s) { return s ? s->key : NULL; }
const char *schedopt_sweep_problem_name(const schedopt_sweep *s) { return s ? s->name : NULL; }
const schedopt_sweep_case *schedopt_sweep_get_case(const schedopt_sweep *s, size_t i) {
  return s && i < s->n ? &s->cases[i] : NULL;
}

schedopt_status schedopt_sweep_set_shard(schedopt_sweep *s, size_t k, size_t n,
                                         schedopt_error *err) {
  if (!s || n < 1 || k < 1 || k > n)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "shard %zu/%zu: need 1 <= K <= N (K/N: slice K of N)", k, n);
  s->shard_k = k;
  s->shard_n = n;
  return SCHEDOPT_OK;
}

int schedopt_sweep_in_shard(const schedopt_sweep *s, size_t i) {
  return s && i < s->n && i % s->shard_n == s->shard_k - 1;
}

/* ---- reading the sweep: section ---------------------------------------------- */

static schedopt_status read_file(const char *path, char **text, size_t *len,
                                 schedopt_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return schedopt_error_set(err, SCHEDOPT_EIO, "%s: error: cannot open: %s", path,
                              strerror(errno));
  size_t cap = 1 << 14, n = 0;
  char *buf = malloc(cap + 1);
  schedopt_status st = buf ? SCHEDOPT_OK : schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  while (!st) {
    if (n == cap) {
      if (cap > YKV_MAX_BYTES) {
        st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "%s: error: the file is larger than %zu MiB",
                                path, YKV_MAX_BYTES >> 20);
        break;
      }
      char *nb = realloc(buf, 2 * cap + 1);
      if (!nb) {
        st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0) {
      if (ferror(f))
        st = schedopt_error_set(err, SCHEDOPT_EIO, "%s: error: cannot read: %s", path,
                                strerror(errno));
      break;
    }
  }
  fclose(f);
  if (st) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return SCHEDOPT_OK;
}

static schedopt_status loc_fail(schedopt_error *err, const ykv_entry *e, int key,
                                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static schedopt_status loc_fail(schedopt_error *err, const ykv_entry *e, int key,
                                const char *fmt, ...) {
  char loc[512], msg[SCHEDOPT_ERRMSG_LEN];
  ykv_loc(e, key, loc, sizeof loc);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: %s", loc, msg);
}

static int parse_number(const char *t, double *v) {
  char *end;
  errno = 0;
  double x = strtod(t, &end);
  if (end == t || *end || errno == ERANGE || !isfinite(x)) return 0;
  /* strict: no hex, inf, nan (strtod accepts them) */
  for (const char *c = t; *c; c++)
    if (!strchr("0123456789+-.eE", *c)) return 0;
  *v = x;
  return 1;
}

static schedopt_status scalar_number(const ykv_entry *e, double lo, double *v,
                                     schedopt_error *err) {
  char d[128];
  if (e->kind != YKV_SCALAR || e->is_null) {
    ykv_describe(e, d, sizeof d);
    return loc_fail(err, e, 0, "%s: expected a number, got %s", e->path, d);
  }
  if (!parse_number(e->value, v) || !(*v >= lo))
    return loc_fail(err, e, 0, "%s: expected a finite number >= %g, got '%s'", e->path, lo,
                    e->value);
  return SCHEDOPT_OK;
}

/* Blank (spaces, newlines kept) the lines of the top-level `sweep:` block of
 * the file, so problem.c reads the rest with the same line numbers. */
static schedopt_status blank_sweep_block(char *text, size_t len, const ykv_list *l,
                                         const ykv_entry *sw, schedopt_error *err) {
  int from = sw->key_line, to = 0;
  if (from <= 0) return SCHEDOPT_OK;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *e = &l->v[i];
    if (e == sw || e->from_set || ykv_depth(e->path) != 1 || e->key_line <= 0) continue;
    if (e->key_line == from)
      return loc_fail(err, sw, 1, "write the sweep: section on lines of its own (block style "
                                  "at the top level)");
    if (e->key_line > from && (to == 0 || e->key_line < to)) to = e->key_line;
  }
  int line = 1;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n') {
      line++;
      continue;
    }
    if (line >= from && (to == 0 || line < to) && text[i] != '\r') text[i] = ' ';
  }
  return SCHEDOPT_OK;
}

static schedopt_status apply_sweep_set(ykv_list *l, const char *set, schedopt_error *err) {
  const char *eq = strchr(set, '=');
  char path[256], src[600];
  size_t k = (size_t)(eq - set);
  if (k >= sizeof path)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "--set %.200s: error: key too long", set);
  memcpy(path, set, k);
  path[k] = '\0';
  snprintf(src, sizeof src, "--set %.500s", set);
  ykv_list tmp;
  ykv_init(&tmp);
  schedopt_status st = ykv_parse(&tmp, eq + 1, strlen(eq + 1), src, path, 0, err);
  if (st) return st;
  ykv_remove_tree(l, path, 1);
  /* values and from/to/points are alternatives: setting one drops the other */
  static const char *const range[] = {"sweep.from", "sweep.to", "sweep.points", "sweep.spacing",
                                      NULL};
  if (!strcmp(path, "sweep.values"))
    for (size_t k = 0; range[k]; k++) ykv_remove_tree(l, range[k], 1);
  for (size_t k = 0; range[k]; k++)
    if (!strcmp(path, range[k])) ykv_remove_tree(l, "sweep.values", 1);
  if (!ykv_get(l, "sweep") && strcmp(path, "sweep")) st = ykv_add_map(l, "sweep", src, err);
  for (size_t i = 0; i < tmp.n; i++) tmp.v[i].from_set = 1;
  if (!st) st = ykv_move(l, &tmp, err);
  ykv_free(&tmp);
  return st;
}

static schedopt_status read_spec(schedopt_sweep **out, const ykv_list *l, const char *source,
                                 schedopt_error *err) {
  const ykv_entry *sw = ykv_get(l, "sweep");
  char d[128];
  if (!sw)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: error: no sweep: section (e.g. sweep: {key: budget.steps, "
                              "values: [1e3, 1e4, 1e5]}; docs/yaml.md)",
                              source);
  if (sw->kind != YKV_MAP) {
    ykv_describe(sw, d, sizeof d);
    return loc_fail(err, sw, 0, "sweep: expected a mapping (key, values or from/to/points), "
                                "got %s", d);
  }
  const ykv_entry *key = NULL, *values = NULL, *from = NULL, *to = NULL, *points = NULL,
                  *spacing = NULL, *round_e = NULL;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *e = &l->v[i];
    if (!ykv_is_under(e->path, "sweep")) continue;
    if (ykv_depth(e->path) != 2) continue; /* below a key: caught as a type error */
    const char *leaf = ykv_leaf(e->path);
    size_t k = 0;
    while (sweep_keys[k] && strcmp(sweep_keys[k], leaf)) k++;
    if (!sweep_keys[k])
      return loc_fail(err, e, 1, "unknown key '%s' in sweep (allowed: key, values, from, to, "
                                 "points, spacing, round)",
                      leaf);
    const ykv_entry **slot[] = {&key, &values, &from, &to, &points, &spacing, &round_e};
    *slot[k] = e;
  }
  if (!key) return loc_fail(err, sw, 1, "sweep: missing 'key' (the problem key to vary, e.g. "
                                        "budget.steps)");
  if (key->kind != YKV_SCALAR || key->is_null || !key->value[0]) {
    ykv_describe(key, d, sizeof d);
    return loc_fail(err, key, 0, "sweep.key: expected a dotted problem key, got %s", d);
  }
  if (!strncmp(key->value, "sweep", 5) && (!key->value[5] || key->value[5] == '.'))
    return loc_fail(err, key, 0, "sweep.key: cannot sweep the sweep: section itself");
  if (strlen(key->value) >= sizeof((schedopt_sweep *)0)->key)
    return loc_fail(err, key, 0, "sweep.key: too long");
  if (values && (from || to || points || spacing))
    return loc_fail(err, values, 1, "sweep: give either 'values' or 'from', 'to' and 'points', "
                                    "not both");
  if (!values && !(from && to && points))
    return loc_fail(err, sw, 1, "sweep: missing 'values' (a list) or 'from', 'to' and "
                                "'points'");
  int do_round = !strcmp(key->value, "budget.steps") || !strcmp(key->value, "model.N") ||
                 !strcmp(key->value, "model.M");
  if (round_e) {
    if (round_e->kind == YKV_SCALAR && !strcmp(round_e->value, "true"))
      do_round = 1;
    else if (round_e->kind == YKV_SCALAR && !strcmp(round_e->value, "false"))
      do_round = 0;
    else {
      ykv_describe(round_e, d, sizeof d);
      return loc_fail(err, round_e, 0, "sweep.round: expected true or false, got %s", d);
    }
  }
  schedopt_status st;
  schedopt_sweep *s = NULL;
  if (values) {
    if (values->kind != YKV_SEQ || values->n == 0) {
      ykv_describe(values, d, sizeof d);
      return loc_fail(err, values, 0, "sweep.values: expected a non-empty list of numbers, got %s",
                      d);
    }
    if (values->n > SCHEDOPT_SWEEP_MAXCASES)
      return loc_fail(err, values, 0, "sweep.values: %zu values (at most %d)", values->n,
                      SCHEDOPT_SWEEP_MAXCASES);
    if ((st = sweep_alloc(&s, values->n, err))) return st;
    for (size_t i = 0; i < values->n; i++) {
      ykv_entry it = *values;
      it.line = values->item_line ? values->item_line[i] : 0;
      it.col = values->item_col ? values->item_col[i] : 0;
      double x;
      if (!parse_number(values->items[i], &x) || !(x > 0) ||
          strlen(values->items[i]) >= sizeof s->cases[i].value) {
        schedopt_sweep_free(s);
        return loc_fail(err, &it, 0, "sweep.values[%zu]: expected a positive number, got '%s'",
                        i, values->items[i]);
      }
      s->cases[i].x = x;
      if (do_round && x != floor(x)) {
        x = floor(x + 0.5);
        s->cases[i].x = x;
        snprintf(s->cases[i].value, sizeof s->cases[i].value, "%.0f", x);
      } else {
        snprintf(s->cases[i].value, sizeof s->cases[i].value, "%s", values->items[i]);
      }
    }
  } else {
    double a, b, np;
    if ((st = scalar_number(from, 0, &a, err)) || (st = scalar_number(to, 0, &b, err)) ||
        (st = scalar_number(points, 1, &np, err)))
      return st;
    if (np != floor(np) || np > SCHEDOPT_SWEEP_MAXCASES)
      return loc_fail(err, points, 0, "sweep.points: expected an integer in 1 .. %d, got '%s'",
                      SCHEDOPT_SWEEP_MAXCASES, points->value);
    int logsp = 1;
    if (spacing) {
      if (spacing->kind == YKV_SCALAR && !strcmp(spacing->value, "log"))
        logsp = 1;
      else if (spacing->kind == YKV_SCALAR && !strcmp(spacing->value, "linear"))
        logsp = 0;
      else {
        ykv_describe(spacing, d, sizeof d);
        return loc_fail(err, spacing, 0, "sweep.spacing: expected log or linear, got %s", d);
      }
    }
    if (!(a > 0) || !(b > a) || (np < 2 && a != b))
      return loc_fail(err, from, 0, "sweep: need 0 < from < to (got from = %g, to = %g) and "
                                    "points >= 2",
                      a, b);
    size_t n = (size_t)np;
    if ((st = sweep_alloc(&s, n, err))) return st;
    for (size_t i = 0; i < n; i++) {
      double f = n > 1 ? (double)i / (double)(n - 1) : 0;
      double x = logsp ? exp(log(a) + f * (log(b) - log(a))) : a + f * (b - a);
      if (i == 0) x = a;
      if (i == n - 1) x = b;
      if (do_round) x = floor(x + 0.5);
      s->cases[i].x = x;
      snprintf(s->cases[i].value, sizeof s->cases[i].value, do_round ? "%.0f" : "%.15g", x);
    }
  }
  for (size_t i = 1; i < s->n; i++)
    for (size_t j = 0; j < i; j++)
      if (s->cases[i].x == s->cases[j].x) {
        const ykv_entry *e = values ? values : points;
        const double v = s->cases[i].x;
        schedopt_sweep_free(s);
        return loc_fail(err, e, 0, "sweep: the value %g appears twice (cases %zu and %zu)", v,
                        j, i);
      }
  snprintf(s->key, sizeof s->key, "%s", key->value);
  *out = s;
  return SCHEDOPT_OK;
}

/* The problem of case i, built, and its optimize: section. */
schedopt_status sweep_build_case(const schedopt_sweep *s, size_t i, schedopt_problem **out,
                                 schedopt_optimize_spec *spec, schedopt_error *err) {
  schedopt_problem *p = NULL;
  schedopt_status st = schedopt_problem_alloc(&p, err);
  if (st) return st;
  char set[256];
  snprintf(set, sizeof set, "%s=%s", s->key, s->cases[i].value);
  if ((st = schedopt_problem_load_string(p, s->text, s->len, s->source, err))) goto done;
  if (!s->has_name) {
    char nm[300];
    snprintf(nm, sizeof nm, "name=%s", s->stem);
    if ((st = schedopt_problem_set(p, nm, err))) goto done;
  }
  for (size_t k = 0; k < s->nsets; k++)
    if ((st = schedopt_problem_set(p, s->sets[k], err))) goto done;
  if ((st = schedopt_problem_set(p, set, err)) || (st = schedopt_problem_build(p, err))) {
    if (st == SCHEDOPT_EINVAL || st == SCHEDOPT_EPARSE)
      schedopt_error_prefix(err, "sweep case %zu (%s): ", i, set);
    goto done;
  }
  if (spec && (st = schedopt_problem_optimize_spec(p, spec, err))) goto done;
done:
  if (st) {
    schedopt_problem_free(p);
    return st;
  }
  *out = p;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_sweep_load_file(schedopt_sweep **out, const char *path,
                                         const char *const *sets, size_t nsets,
                                         schedopt_error *err) {
  if (!out || !path || (nsets && !sets))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_load_file: NULL");
  *out = NULL;
  char *text = NULL;
  size_t len = 0;
  schedopt_status st = read_file(path, &text, &len, err);
  if (st) return st;
  ykv_list l;
  ykv_init(&l);
  schedopt_sweep *s = NULL;
  schedopt_problem *p = NULL;
  schedopt_optimize_spec *spec = NULL;
  if ((st = ykv_parse(&l, text, len, path, NULL, 1, err))) goto done;
  /* the file's own sweep: block, before overrides move it */
  const ykv_entry *fsw = ykv_get(&l, "sweep");
  if (fsw && (st = blank_sweep_block(text, len, &l, fsw, err))) goto done;
  int has_name = ykv_get(&l, "name") != NULL;
  size_t nother = 0;
  for (size_t k = 0; k < nsets; k++) {
    const char *eq = sets[k] ? strchr(sets[k], '=') : NULL;
    if (!eq || eq == sets[k]) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "--set %s: error: expected KEY=VALUE",
                              sets[k] ? sets[k] : "");
      goto done;
    }
    if (!strncmp(sets[k], "sweep", 5) && (sets[k][5] == '=' || sets[k][5] == '.')) {
      if ((st = apply_sweep_set(&l, sets[k], err))) goto done;
    } else {
      nother++;
      if (!strncmp(sets[k], "name=", 5)) has_name = 1;
    }
  }
  if ((st = read_spec(&s, &l, path, err))) goto done;
  s->text = text;
  s->len = len;
  text = NULL;
  s->has_name = has_name;
  s->source = malloc(strlen(path) + 1);
  s->sets = calloc(nother ? nother : 1, sizeof *s->sets);
  if (!s->source || !s->sets) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  strcpy(s->source, path);
  {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(s->stem, sizeof s->stem, "%s", base);
    size_t k = strlen(s->stem);
    if (k > 5 && !strcmp(s->stem + k - 5, ".yaml"))
      s->stem[k - 5] = '\0';
    else if (k > 4 && !strcmp(s->stem + k - 4, ".yml"))
      s->stem[k - 4] = '\0';
  }
  for (size_t k = 0; k < nsets; k++) {
    if (!strncmp(sets[k], "sweep", 5) && (sets[k][5] == '=' || sets[k][5] == '.')) continue;
    if (!(s->sets[s->nsets] = malloc(strlen(sets[k]) + 1))) {
      st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      goto done;
    }
    strcpy(s->sets[s->nsets++], sets[k]);
  }
  fingerprints(s);
  /* every case's problem builds, and its optimize: section reads */
  if (!(spec = malloc(sizeof *spec))) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < s->n; i++) {
    if ((st = sweep_build_case(s, i, &p, spec, err))) goto done;
    if (i == 0) snprintf(s->name, sizeof s->name, "%s", schedopt_problem_name(p));
    schedopt_problem_exponents(p, &s->cases[i].a, &s->cases[i].b, NULL, NULL);
    s->cases[i].sigma2 = schedopt_problem_sigma2(p);
    schedopt_problem_free(p);
    p = NULL;
  }
done:
  free(spec);
  free(text);
  ykv_free(&l);
  if (st) {
    schedopt_sweep_free(s);
    return st;
  }
  *out = s;
  return SCHEDOPT_OK;
}

/* ---- running ----------------------------------------------------------------------- */

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

schedopt_status schedopt_sweep_run_case(schedopt_sweep *s, size_t i, schedopt_error *err) {
  if (!s || i >= s->n || !s->text)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_run_case: no such case");
  schedopt_sweep_case *c = &s->cases[i];
  const double t0 = now();
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  schedopt_optimize_spec *spec = malloc(sizeof *spec);
  schedopt_status st = spec ? SCHEDOPT_OK : schedopt_error_set(err, SCHEDOPT_ENOMEM,
                                                                "out of memory");
  c->nres = 0;
  c->code[0] = '\0';
  c->message[0] = '\0';
  c->evals = c->grad_evals = 0;
  c->contained_beaten = 0;
  if (!st) st = sweep_build_case(s, i, &p, spec, err);
  if (!st) {
    schedopt_problem_exponents(p, &c->a, &c->b, NULL, NULL);
    c->sigma2 = schedopt_problem_sigma2(p);
    spec->settings.progress = NULL;
    spec->output[0] = '\0';
    st = schedopt_optimization_run(&o, p, spec, err);
  }
  if (!st) {
    double W = 1;
    if (spec->objective == SCHEDOPT_OBJ_HORIZONS) {
      W = 0;
      for (size_t k = 0; k < spec->nh; k++) W += spec->w[k];
    }
    const double floor_ = c->sigma2 * W;
    const schedopt_opt_result *r = schedopt_optimization_result(o);
    schedopt_sweep_result *q = &c->res[c->nres++];
    snprintf(q->name, sizeof q->name, "optimum");
    snprintf(q->label, sizeof q->label, "optimum");
    q->J = r->J;
    q->excess = r->J - floor_;
    c->evals = r->evals;
    c->grad_evals = r->grad_evals;
    snprintf(c->code, sizeof c->code, "%s", r->code_name);
    const size_t nb = schedopt_optimization_nbaselines(o);
    for (size_t k = 0; k < nb && c->nres < SCHEDOPT_SWEEP_MAXSCHED; k++) {
      const schedopt_baseline *b = schedopt_optimization_baseline(o, k, NULL, NULL);
      q = &c->res[c->nres++];
      snprintf(q->name, sizeof q->name, "%s", b->type->name);
      snprintf(q->label, sizeof q->label, "%s", b->label);
      q->J = b->J;
      q->excess = b->J - floor_;
    }
    schedopt_optimization_violations(o, NULL, &c->contained_beaten);
  }
  c->status = st;
  if (st) snprintf(c->message, sizeof c->message, "%s", err ? err->msg : "failed");
  c->done = 1;
  c->seconds = now() - t0;
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  free(spec);
  return st;
}

/* ---- slopes ---------------------------------------------------------------------- */

void sweep_theory(double a, double b, double *zc, double *zo, const char **phase,
                  const char **rule_o) {
  *zc = (a - 1) / (a + b - 1);
  *zo = b < a ? (a - 1) / a : (a - 1) / b;
  *phase = b < a ? "easy" : b > a ? "hard" : "boundary";
  *rule_o = b < a ? "(a-1)/a, optimal schedule, easy phase"
                  : "(a-1)/b, optimal schedule, hard phase";
}

void schedopt_sweep_slopes(const schedopt_sweep *s, schedopt_sweep_slope *out, size_t *n) {
  *n = 0;
  if (!s) return;
  const schedopt_sweep_case *ref = NULL;
  for (size_t i = 0; i < s->n && !ref; i++)
    if (s->cases[i].done && !s->cases[i].status) ref = &s->cases[i];
  if (!ref) return;
  double zc, zo;
  const char *ph, *ro;
  sweep_theory(ref->a, ref->b, &zc, &zo, &ph, &ro);
  /* schedule names in order of first appearance */
  double *x = malloc((s->n ? s->n : 1) * sizeof *x), *y = malloc((s->n ? s->n : 1) * sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return;
  }
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done || c->status) continue;
    for (size_t j = 0; j < c->nres; j++) {
      size_t k = 0;
      while (k < *n && strcmp(out[k].name, c->res[j].name)) k++;
      if (k < *n || *n == SCHEDOPT_SWEEP_MAXSCHED) continue;
      schedopt_sweep_slope *sl = &out[(*n)++];
      memset(sl, 0, sizeof *sl);
      snprintf(sl->name, sizeof sl->name, "%s", c->res[j].name);
    }
  }
  for (size_t k = 0; k < *n; k++) {
    schedopt_sweep_slope *sl = &out[k];
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
      const schedopt_sweep_case *c = &s->cases[i];
      if (!c->done || c->status) continue;
      for (size_t j = 0; j < c->nres; j++)
        if (!strcmp(c->res[j].name, sl->name)) {
          x[m] = c->x;
          y[m++] = c->res[j].excess;
        }
    }
    sl->slope = schedopt_loglog_slope(x, y, m, &sl->intercept, &sl->points);
    sl->theory = NAN;
    sl->theory_rule = NULL;
    if (!strcmp(sl->name, "optimum")) {
      sl->theory = zo;
      sl->theory_rule = ro;
    } else if (!strcmp(sl->name, "constant")) {
      sl->theory = zc;
      sl->theory_rule = "(a-1)/(a+b-1), best constant";
    }
  }
  free(x);
  free(y);
}
