/* schema.c — the keys of a problem file as data (one block per section) and
 * the checks every key gets before its section is read (docs/yaml.md). */
#include "problem/schema.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem/problem_impl.h"

/* "<loc>: error: <msg>" for entry e (key position if key). */
#define fail(err, code, e, key, ...) \
  schedopt_ykv_error((err), (code), (e), (key), "problem", __VA_ARGS__)

static const char *const model_types[] = {"plrf", "fsl", NULL};
static const char *const dynamics_choices[] = {"matched", "sde", "recursion", NULL};
static const char *const spacing_choices[] = {"log", "linear", NULL};
static const char *const gradient_choices[] = {"adjoint", "fd", NULL};

#define INF INFINITY
/* Order matters only for messages that list a section's keys. */
const keyspec schedopt_schema[] = {
    {"name", K_STR, 0, 0, 0, 0, NULL, "problem name"},
    {"description", K_STR, 0, 0, 0, 0, NULL, "description"},
    {"model", K_SECTION, 0, 0, 0, 0, NULL, "model section"},
    {"budget", K_SECTION, 0, 0, 0, 0, NULL, "budget section"},
    {"controls", K_SECTION, 0, 0, 0, 0, NULL, "controls section"},
    {"solver", K_SECTION, 0, 0, 0, 0, NULL, "solver section"},
    {"output", K_SECTION, 0, 0, 0, 0, NULL, "output section"},

    {"model.type", K_ENUM, 0, 0, 0, 0, model_types, "model family"},
    {"model.a", K_NUM, 1, 1000, 1, 0, NULL, "signal decay exponent"},
    {"model.b", K_NUM, 1, 1000, 1, 0, NULL, "spectral decay exponent"},
    {"model.s", K_NUM, 0, 1000, 1, 0, NULL, "source exponent, a = 1 + s*b"},
    {"model.beta", K_NUM, 1, 1000, 1, 0, NULL, "capacity exponent, same as b"},
    {"model.N", K_INT, 1, 1e6, 0, 0, NULL, "learned modes"},
    {"model.M", K_INT, 1, 1e6, 0, 0, NULL, "learned modes, alias of N"},
    {"model.sigma2", K_NUM, 0, INF, 0, 0, NULL, "label-noise variance"},
    {"model.sigma", K_NUM, 0, INF, 0, 0, NULL, "label-noise standard deviation"},
    {"model.lambda_scale", K_NUM, 0, INF, 1, 0, NULL, "top eigenvalue lambda_1"},
    {"model.signal_scale", K_NUM, 0, INF, 1, 0, NULL, "signal power of mode 1"},
    {"model.tail", K_AUTONUM, 0, INF, 0, 0, NULL, "approximation error"},
    {"model.dynamics", K_ENUM, 0, 0, 0, 0, dynamics_choices, "dynamics"},
    {"model.split", K_BOOL, 0, 0, 0, 0, NULL, "track bias and variance"},
    {"model.momentum_modes", K_AUTONUM, 1, 1e6, 0, 0, NULL,
     "modes with full momentum states in the ODE (auto: the underdamped ones)"},
    {"model.c_approx", K_NUM, 0, INF, 0, 0, NULL, "FSL approximation constant"},
    {"model.c_signal", K_NUM, 0, INF, 0, 0, NULL, "FSL signal constant"},
    {"model.c_noise", K_NUM, 0, INF, 0, 0, NULL, "FSL noise constant"},

    {"budget.steps", K_INT, 1, 1e15, 0, 0, NULL, "optimizer steps"},
    {"budget.samples", K_NUM, 0, INF, 1, 0, NULL, "samples"},
    {"budget.tokens", K_NUM, 0, INF, 1, 0, NULL, "tokens"},
    {"budget.seq_len", K_INT, 1, 1e9, 0, 0, NULL, "tokens per sample"},
    {"budget.compute", K_NUM, 0, INF, 1, 0, NULL, "compute C = N*D"},

    {"solver.rtol", K_NUM, 0, 0.1, 1, 0, NULL, "relative tolerance"},
    {"solver.atol", K_NUM, 0, 1, 1, 0, NULL, "absolute tolerance relative to the initial loss"},
    {"solver.max_steps", K_INT, 1, 1e12, 0, 0, NULL, "solver step limit"},

    {"output.points", K_INT, 2, 1e6, 0, 0, NULL, "number of output points"},
    {"output.spacing", K_ENUM, 0, 0, 0, 0, spacing_choices, "output spacing"},
    {"output.times", K_NUMSEQ, 0, INF, 1, 0, NULL, "output times"},
    {"output.file", K_STR, 0, 0, 0, 0, NULL, "output file"},
    {"output.export", K_SECTION, 0, 0, 0, 0, NULL, "trainer exports"},
    {"output.plot", K_SECTION, 0, 0, 0, 0, NULL, "SVG figure"},

    /* ---- optimize: (schedule optimization; see the block at the end) ---- */
    {"optimize", K_SECTION, 0, 0, 0, 0, NULL, "optimize section"},
    {"optimize.objective", K_SECTION, 0, 0, 0, 0, NULL, "objective"},
    {"optimize.controls", K_SECTION, 0, 0, 0, 0, NULL, "optimized controls"},
    {"optimize.algorithm", K_STR, 0, 0, 0, 0, NULL, "NLopt algorithm"},
    {"optimize.gradient", K_ENUM, 0, 0, 0, 0, gradient_choices, "gradient method"},
    {"optimize.ftol_rel", K_NUM, 0, 1, 0, 1, NULL, "relative objective tolerance"},
    {"optimize.xtol_rel", K_NUM, 0, 1, 0, 1, NULL, "relative step tolerance"},
    {"optimize.maxeval", K_INT, 0, 1e9, 0, 0, NULL, "evaluations per start (0: no limit)"},
    {"optimize.maxtime", K_NUM, 0, INF, 0, 0, NULL, "seconds (0: no limit)"},
    {"optimize.starts", K_INT, 1, 1000, 0, 0, NULL, "number of starts"},
    {"optimize.seed", K_INT, 0, 9007199254740992.0, 0, 0, NULL, "seed of the extra starts"},
    {"optimize.precondition", K_FLAG, 0, 1, 0, 0, NULL, "curvature preconditioning"},
    {"optimize.rescale_every", K_INT, 2, 1e9, 0, 0, NULL,
     "evaluations per preconditioned run; a run needs its start and one step"},
    {"optimize.continuation", K_INT, 0, 1024, 0, 0, NULL,
     "knots of the coarse stage of a free-form design (0: off)"},
    {"optimize.loose_rtol", K_NUM, 0, 1e-2, 0, 0, NULL,
     "integrator tolerance of the first runs (0: off)"},
    {"optimize.baselines", K_SECTION, 0, 0, 0, 0, NULL, "baselines"},
    {"optimize.momentum_continuation", K_SECTION, 0, 0, 0, 0, NULL,
     "momentum caps of the continuation start (free-form momentum)"},
    {"optimize.output", K_STR, 0, 0, 0, 0, NULL, "output folder"},
    {"optimize.max_steps", K_NUM, 0, INF, 1, 0, NULL, "cap on optimizer steps (data clock)"},
    {"optimize.model_size", K_SECTION, 0, 0, 0, 0, NULL, "model sizes searched (compute budget)"},

    /* ---- sweep: (schedopt sweep; read by schedopt_sweep_spec_read) ---- */
    {"sweep", K_SECTION, 0, 0, 0, 0, NULL, "sweep section"},
    {"sweep.key", K_STR, 0, 0, 0, 0, NULL, "the problem key each case sets"},
    {"sweep.values", K_NUMSEQ, 0, INF, 1, 0, NULL, "swept values"},
    {"sweep.from", K_NUM, 0, INF, 1, 0, NULL, "first swept value"},
    {"sweep.to", K_NUM, 0, INF, 1, 0, NULL, "last swept value"},
    {"sweep.points", K_INT, 2, SCHEDOPT_SCHEMA_SWEEP_MAXPOINTS, 0, 0, NULL, "number of swept values"},
    {"sweep.spacing", K_ENUM, 0, 0, 0, 0, spacing_choices, "spacing of the swept values"},
    {"sweep.round", K_BOOL, 0, 0, 0, 0, NULL, "round the swept values to integers"},
};
_Static_assert(sizeof schedopt_schema / sizeof schedopt_schema[0] == SCHEDOPT_SCHEMA_NKEYS,
               "SCHEDOPT_SCHEMA_NKEYS (problem/schema.h) is the number of keys above");

int schedopt_schema_index(const char *key) {
  for (size_t i = 0; i < SCHEDOPT_SCHEMA_NKEYS; i++)
    if (!strcmp(schedopt_schema[i].key, key)) return (int)i;
  return -1;
}

const channel_info schedopt_schema_channels[] = {
    {"lr", SCHEDOPT_LR, 0, INF, 0, "learning rate"},
    {"batch", SCHEDOPT_BATCH, 1, INF, 0, "batch size"},
    {"momentum", SCHEDOPT_MOMENTUM, 0, 1, 1, "momentum"},
};
_Static_assert(sizeof schedopt_schema_channels / sizeof schedopt_schema_channels[0] ==
                   SCHEDOPT_SCHEMA_NCHANNELS, "one entry per channel");

/* Per-budget-kind keys, in schedopt_budget_kind order. */
const char *const schedopt_schema_budget_keys[] = {"budget.steps", "budget.samples",
                                          "budget.tokens", "budget.compute"};

/* Keys of the other notation (a --set of one removes the other). */
const char *const schedopt_schema_alias_pairs[][2] = {{"model.a", "model.s"},
                                             {"model.b", "model.beta"},
                                             {"model.N", "model.M"},
                                             {"model.sigma2", "model.sigma"}};

const char *const schedopt_schema_plrf_only[] = {"model.tail", "model.dynamics", "model.split",
                                                 "model.momentum_modes", NULL};
const char *const schedopt_schema_fsl_only[] = {"model.c_approx", "model.c_signal", "model.c_noise",
                                       NULL};

/* output.export.formats, in schedopt_export_format order: the export layer
 * names its formats with this list (export.c). */
const char *const schedopt_schema_export_formats[SCHEDOPT_SCHEMA_NFORMATS + 1] = {
    "csv", "json", "pytorch", "megatron", "nanogpt", "hf", "torchtitan", "olmo_core",
    "deepspeed", NULL};

const char *const schedopt_schema_opt_obj_types[] = {"final", "mean", "horizons", "steps_to_target",
                                            NULL};
const char *const schedopt_schema_opt_obj_mean[] = {"from", "to", "from_frac", "to_frac", NULL};
const char *const schedopt_schema_opt_obj_horizons[] = {"at", "at_frac", "weights", NULL};
const char *const schedopt_schema_opt_obj_target[] = {"target", NULL};
const char *const schedopt_schema_opt_ch_common[] = {"param", "min", "max", NULL};
const char *const schedopt_schema_opt_ch_family[] = {"vary", "bounds", "log", NULL};
const char *const schedopt_schema_opt_ch_freeform[] = {"knots", "interp", "monotone", "monotone_after",
                                              "refine_at", NULL};

/* ======================================================================
 * Small helpers
 * ====================================================================== */

schedopt_status schedopt_schema_fail_src(schedopt_error *err, const schedopt_problem *p,
                                const char *fmt, ...) {
  char msg[SCHEDOPT_ERRMSG_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: %s",
                            p->source ? p->source : "problem", msg);
}

/* Prefix an existing message (from control/schedule/model code) with a
 * location: "<loc>: error: <context>: <msg>". */
void schedopt_schema_prefix_at(schedopt_error *err, const ykv_entry *e, int key, const char *ctx) {
  char loc[512];
  schedopt_ykv_loc(e, key, loc, sizeof loc);
  schedopt_error_prefix(err, "%s: error: %s: ", loc, ctx);
}

/* "must be > 1", "must be in (0, 0.1]", ... */
const char *schedopt_schema_range_text(char *buf, size_t cap, double lo, double hi, int lo_open,
                              int hi_open) {
  int has_lo = isfinite(lo), has_hi = isfinite(hi);
  if (has_lo && has_hi)
    snprintf(buf, cap, "must be in %c%.15g, %.15g%c", lo_open ? '(' : '[', lo, hi,
             hi_open ? ')' : ']');
  else if (has_lo)
    snprintf(buf, cap, "must be %s %.15g", lo_open ? ">" : ">=", lo);
  else if (has_hi)
    snprintf(buf, cap, "must be %s %.15g", hi_open ? "<" : "<=", hi);
  else
    snprintf(buf, cap, "any number");
  return buf;
}

static int in_range(double v, double lo, double hi, int lo_open, int hi_open) {
  if (lo_open ? !(v > lo) : !(v >= lo)) return 0;
  if (hi_open ? !(v < hi) : !(v <= hi)) return 0;
  return 1;
}

static int ci_eq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

/* Parse a YAML number.  0: ok; 1: not a number (also a leading zero, like
 * 010: octal in YAML 1.1); 2: not finite. */
int schedopt_schema_parse_number(const char *s, double *out) {
  const char *q = s;
  if (*q == '+' || *q == '-') q++;
  {
    const char *r = *q == '.' ? q + 1 : q;
    if (ci_eq(r, "inf") || ci_eq(r, "infinity") || ci_eq(r, "nan"))
      return 2;
  }
  int digits = 0;
  while (isdigit((unsigned char)*q)) q++, digits++;
  if (*q == '.') {
    q++;
    while (isdigit((unsigned char)*q)) q++, digits++;
  }
  if (!digits) return 1;
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '+' || *q == '-') q++;
    if (!isdigit((unsigned char)*q)) return 1;
    while (isdigit((unsigned char)*q)) q++;
  }
  if (*q || schedopt_ykv_leading_zero(s, NULL, 0)) return 1;
  errno = 0;
  double v = strtod(s, NULL);
  if (!isfinite(v)) return 2;
  *out = v;
  return 0;
}

int schedopt_schema_parse_bool(const char *s, int *out) {
  static const char *const yes[] = {"true", "yes", "on", NULL};
  static const char *const no[] = {"false", "no", "off", NULL};
  for (int i = 0; yes[i]; i++)
    if (ci_eq(s, yes[i])) return *out = 1, 1;
  for (int i = 0; no[i]; i++)
    if (ci_eq(s, no[i])) return *out = 0, 1;
  return 0;
}

/* Levenshtein distance (short strings only; large when too long). */
static int edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 63 || m > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) !=
                                 tolower((unsigned char)b[j - 1]));
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      d[i][j] = c;
    }
  return d[n][m];
}

void schedopt_names_add(strbuf *b, const char *name) {
  if (b->n + 1 >= sizeof b->s) return;
  int k = snprintf(b->s + b->n, sizeof b->s - b->n, "%s%s", b->n ? ", " : "", name);
  if (k > 0) b->n += (size_t)k;
  if (b->n >= sizeof b->s) b->n = sizeof b->s - 1;
}

void schedopt_suggest_add(suggest *g, const char *cand) {
  int d = edit_distance(g->word, cand);
  int lim = strlen(g->word) <= 3 ? 1 : 2;
  if (d <= lim && (!g->best || d < g->dist)) {
    g->best = cand;
    g->dist = d;
  }
}

const char *schedopt_suggest_text(const suggest *g, char *buf, size_t cap) {
  if (g->best)
    snprintf(buf, cap, "; did you mean '%s'?", g->best);
  else
    buf[0] = '\0';
  return buf;
}

/* ======================================================================
 * Validation of the generic keys
 * ====================================================================== */

const ykv_entry *schedopt_schema_given(const schedopt_settings *S, const char *key) {
  int i = schedopt_schema_index(key);
  return i < 0 ? NULL : S->e[i];
}

double schedopt_schema_val_or(const schedopt_settings *S, const char *key, double def) {
  int i = schedopt_schema_index(key);
  return (i >= 0 && S->e[i]) ? S->v[i] : def;
}

/* Check a number against a range and integrality; `name` and `text` for
 * messages.  loc_e/key select the location. */
schedopt_status schedopt_schema_check_number(schedopt_error *err, const ykv_entry *e, const char *name,
                                    const char *text, double v, double lo, double hi,
                                    int lo_open, int hi_open, int integer, const char *what) {
  char r[128];
  if (!in_range(v, lo, hi, lo_open, hi_open))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s = %s is out of range: %s (%s)", name, text,
                schedopt_schema_range_text(r, sizeof r, lo, hi, lo_open, hi_open), what);
  if (integer && !schedopt_is_integral(v))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s = %s must be an integer (%s)", name, text,
                what);
  return SCHEDOPT_OK;
}

/* A scalar number for `name` from entry e. */
schedopt_status schedopt_schema_get_number(schedopt_error *err, const ykv_entry *e, const char *name,
                                  double *out) {
  char d[256];
  if (e->kind != YKV_SCALAR || e->is_null) {
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected a number, got %s", name, d);
  }
  int rc = schedopt_schema_parse_number(e->value, out);
  char lz[512];
  if (rc == 1 && schedopt_ykv_leading_zero(e->value, lz, sizeof lz))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: %s", name, lz);
  if (rc == 1)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a number, got '%.200s'", name,
                e->value);
  if (rc == 2)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a finite number, got '%.200s'",
                name, e->value);
  return SCHEDOPT_OK;
}

/* Sequence of finite numbers → malloc'ed array. */
schedopt_status schedopt_schema_get_numseq(schedopt_error *err, const ykv_entry *e, const char *name,
                                  double **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (e->kind != YKV_SEQ) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected a sequence of numbers like [1, 2, 3], got %s", name, d);
  }
  double *v = malloc((e->n ? e->n : 1) * sizeof *v);
  if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t i = 0; i < e->n; i++) {
    int rc = schedopt_schema_parse_number(e->items[i], &v[i]);
    if (rc) {
      char loc[512];
      ykv_entry item = *e;
      item.line = e->item_line[i];
      item.col = e->item_col[i];
      schedopt_ykv_loc(&item, 0, loc, sizeof loc);
      free(v);
      char lz[512];
      if (rc == 1 && schedopt_ykv_leading_zero(e->items[i], lz, sizeof lz))
        return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: error: %s[%zu]: %s", loc, name, i,
                                  lz);
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: error: %s[%zu]: expected a %snumber, got '%.200s'", loc,
                                name, i, rc == 2 ? "finite " : "", e->items[i]);
    }
  }
  *out = v;
  *n = e->n;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_schema_check_leaf(schedopt_error *err, const keyspec *k, const ykv_entry *e,
                                  double *out) {
  char d[256];
  if (k->type != K_NUMSEQ && (e->kind != YKV_SCALAR || e->is_null)) {
    schedopt_ykv_describe(e, d, sizeof d);
    const char *expect = k->type == K_STR    ? "a string"
                         : k->type == K_BOOL ? "true or false"
                         : k->type == K_FLAG ? "true, false, 0 or 1"
                         : k->type == K_ENUM ? "a name"
                                             : "a number";
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected %s, got %s", k->key, expect, d);
  }
  switch (k->type) {
  case K_SECTION: return SCHEDOPT_OK;
  case K_STR:
    if (strcmp(k->key, "description")) { /* names: one non-empty line */
      if (!e->value[0])
        return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a non-empty string", k->key);
      for (const char *c = e->value; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F)
          return fail(err, SCHEDOPT_EINVAL, e, 0,
                      "%s: expected a single line without control characters", k->key);
    }
    return SCHEDOPT_OK;
  case K_BOOL: {
    int b;
    if (!schedopt_schema_parse_bool(e->value, &b))
      return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected true or false, got '%.200s'",
                  k->key, e->value);
    *out = b;
    return SCHEDOPT_OK;
  }
  case K_FLAG: {
    int b;
    double v;
    if (schedopt_schema_parse_bool(e->value, &b)) {
      *out = b;
      return SCHEDOPT_OK;
    }
    if (schedopt_schema_parse_number(e->value, &v) == 0 && (v == 0 || v == 1)) {
      *out = v;
      return SCHEDOPT_OK;
    }
    return fail(err, SCHEDOPT_EINVAL, e, 0,
                "%s = %.200s is out of range: must be true, false, 0 or 1 (%s)", k->key,
                e->value, k->what);
  }
  case K_ENUM: {
    strbuf b = {{0}, 0};
    for (int i = 0; k->choices[i]; i++) {
      if (!strcmp(e->value, k->choices[i])) {
        *out = i;
        return SCHEDOPT_OK;
      }
      schedopt_names_add(&b, k->choices[i]);
    }
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: unknown value '%.200s' (allowed: %s)", k->key,
                e->value, b.s);
  }
  case K_AUTONUM:
    if (!strcmp(e->value, "auto")) {
      *out = NAN;
      return SCHEDOPT_OK;
    }
    /* fall through */
  case K_NUM:
  case K_INT: {
    schedopt_status st = schedopt_schema_get_number(err, e, k->key, out);
    if (st) {
      if (k->type == K_AUTONUM && schedopt_schema_parse_number(e->value, out) == 1 &&
          !schedopt_ykv_leading_zero(e->value, NULL, 0))
        return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected 'auto' or a number, got '%.200s'",
                    k->key, e->value);
      return st;
    }
    return schedopt_schema_check_number(err, e, k->key, e->value, *out, k->lo, k->hi, k->lo_open, k->hi_open,
                        k->type == K_INT, k->what);
  }
  case K_NUMSEQ: {
    double *v;
    size_t n;
    schedopt_status st = schedopt_schema_get_numseq(err, e, k->key, &v, &n);
    free(v);
    return st;
  }
  }
  return SCHEDOPT_OK;
}

static void section_keys_text(const char *section, strbuf *b) {
  size_t k = strlen(section);
  for (size_t i = 0; i < SCHEDOPT_SCHEMA_NKEYS; i++)
    if (!strncmp(schedopt_schema[i].key, section, k) && schedopt_schema[i].key[k] == '.')
      schedopt_names_add(b, schedopt_schema[i].key + k + 1);
}

schedopt_status schedopt_schema_unknown_key(schedopt_error *err, const ykv_entry *e, const char *section) {
  strbuf b = {{0}, 0};
  const char *leaf = schedopt_ykv_leaf(e->path);
  suggest g = {leaf, NULL, 0};
  char sg[128];
  if (!section) {
    for (size_t i = 0; i < SCHEDOPT_SCHEMA_NKEYS; i++)
      if (!strchr(schedopt_schema[i].key, '.')) {
        schedopt_names_add(&b, schedopt_schema[i].key);
        schedopt_suggest_add(&g, schedopt_schema[i].key);
      }
    return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' at the top level (allowed: %s)%s",
                leaf, b.s, schedopt_suggest_text(&g, sg, sizeof sg));
  }
  size_t k = strlen(section);
  for (size_t i = 0; i < SCHEDOPT_SCHEMA_NKEYS; i++)
    if (!strncmp(schedopt_schema[i].key, section, k) && schedopt_schema[i].key[k] == '.') {
      schedopt_names_add(&b, schedopt_schema[i].key + k + 1);
      schedopt_suggest_add(&g, schedopt_schema[i].key + k + 1);
    }
  if (!strcmp(section, "controls"))
    for (size_t i = 0; i < SCHEDOPT_SCHEMA_NCHANNELS; i++) {
      schedopt_names_add(&b, schedopt_schema_channels[i].key);
      schedopt_suggest_add(&g, schedopt_schema_channels[i].key);
    }
  return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' in %s (allowed: %s)%s", leaf,
              section, b.s, schedopt_suggest_text(&g, sg, sizeof sg));
}

/* Check every entry's key and type; fill S. */
schedopt_status schedopt_schema_validate(const schedopt_problem *p, schedopt_settings *S,
                                        schedopt_error *err) {
  memset(S, 0, sizeof *S);
  const ykv_list *l = &p->entries;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *e = &l->v[i];
    int depth = schedopt_ykv_depth(e->path);
    char top[128];
    size_t m = strcspn(e->path, ".");
    snprintf(top, sizeof top, "%.*s", (int)(m < 127 ? m : 127), e->path);
    int ti = schedopt_schema_index(top);
    if (depth == 1) {
      if (ti < 0) return schedopt_schema_unknown_key(err, e, NULL);
      const keyspec *k = &schedopt_schema[ti];
      if (k->type == K_SECTION) {
        if (e->kind == YKV_MAP || (e->kind == YKV_SCALAR && e->is_null)) continue;
        char d[256];
        schedopt_ykv_describe(e, d, sizeof d);
        strbuf b = {{0}, 0};
        if (!strcmp(top, "controls")) {
          for (size_t c = 0; c < SCHEDOPT_SCHEMA_NCHANNELS; c++) schedopt_names_add(&b, schedopt_schema_channels[c].key);
        } else {
          section_keys_text(top, &b);
        }
        return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                    "%s: expected a mapping of keys (%s), got %s", top, b.s, d);
      }
      schedopt_status st = schedopt_schema_check_leaf(err, k, e, &S->v[ti]);
      if (st) return st;
      S->e[ti] = e;
      continue;
    }
    /* depth >= 2: the top-level entry came first and was checked. */
    if (ti < 0 || schedopt_schema[ti].type != K_SECTION) continue;
    if (!strcmp(top, "controls")) {
      if (depth != 2) continue; /* checked when the control is built */
      const char *ch = e->path + m + 1;
      size_t c;
      for (c = 0; c < SCHEDOPT_SCHEMA_NCHANNELS; c++)
        if (!strcmp(ch, schedopt_schema_channels[c].key)) break;
      if (c == SCHEDOPT_SCHEMA_NCHANNELS) return schedopt_schema_unknown_key(err, e, "controls");
      if (e->kind == YKV_MAP) continue;
      if (e->kind != YKV_SCALAR || e->is_null) {
        char d[256];
        schedopt_ykv_describe(e, d, sizeof d);
        return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                    "%s: expected a number (a constant %s) or a mapping with a 'type', got %s",
                    e->path, schedopt_schema_channels[c].what, d);
      }
      continue; /* the number is checked when the control is built */
    }
    if (depth != 2) continue; /* below a leaf: the leaf was reported */
    int ki = schedopt_schema_index(e->path);
    if (ki >= 0 && schedopt_schema[ki].type == K_SECTION) continue; /* nested: checked when built */
    if (ki < 0) return schedopt_schema_unknown_key(err, e, top);
    schedopt_status st = schedopt_schema_check_leaf(err, &schedopt_schema[ki], e, &S->v[ki]);
    if (st) return st;
    S->e[ki] = e;
  }
  return SCHEDOPT_OK;
}

int schedopt_schema_in(const char *const *list, const char *k) {
  for (int i = 0; list && list[i]; i++)
    if (!strcmp(list[i], k)) return 1;
  return 0;
}

void schedopt_schema_list_text(strbuf *b, suggest *g, const char *const *list) {
  for (int i = 0; list && list[i]; i++) {
    schedopt_names_add(b, list[i]);
    if (g) schedopt_suggest_add(g, list[i]);
  }
}

ykv_entry schedopt_schema_item(const ykv_entry *e, size_t i) {
  ykv_entry it = *e;
  it.kind = YKV_SCALAR;
  it.value = e->items[i];
  it.is_null = 0;
  it.line = e->item_line[i];
  it.col = e->item_col[i];
  return it;
}

schedopt_status schedopt_schema_unknown_in(schedopt_error *err, const ykv_entry *e, const char *parent,
                                   const char *const *a1, const char *const *a2,
                                   const char *extra) {
  strbuf b = {{0}, 0};
  const char *leaf = schedopt_ykv_leaf(e->path);
  suggest g = {leaf, NULL, 0};
  char sg[128];
  schedopt_schema_list_text(&b, &g, a1);
  schedopt_schema_list_text(&b, &g, a2);
  return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' in %s (allowed: %s)%s%s", leaf,
              parent, b.s, extra ? extra : "", schedopt_suggest_text(&g, sg, sizeof sg));
}

schedopt_status schedopt_schema_choice(schedopt_error *err, const ykv_entry *e, const char *what,
                                       const char *const *choices, int *out) {
  strbuf b = {{0}, 0};
  if (e->kind != YKV_SCALAR || e->is_null) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    schedopt_schema_list_text(&b, NULL, choices);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected one of %s, got %s", what, b.s, d);
  }
  for (int i = 0; choices[i]; i++)
    if (!strcmp(choices[i], e->value)) return *out = i, SCHEDOPT_OK;
  suggest g = {e->value, NULL, 0};
  char sg[128];
  schedopt_schema_list_text(&b, &g, choices);
  return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: unknown value '%.200s' (allowed: %s)%s", what,
              e->value, b.s, schedopt_suggest_text(&g, sg, sizeof sg));
}

schedopt_status schedopt_schema_conflict(schedopt_error *err, const ykv_entry *first,
                                         const ykv_entry *second, const char *why) {
  char loc[512];
  schedopt_ykv_loc(first, 1, loc, sizeof loc);
  return fail(err, SCHEDOPT_EINVAL, second, 1,
              "%s = %s conflicts with %s = %s (at %s)%s%s; give only one of them", second->path,
              second->value, first->path, first->value, loc, why ? ": " : "", why ? why : "");
}
