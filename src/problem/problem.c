/* problem.c — YAML problem files and --set overrides → model, schedule,
 * solver settings and output times (schema: docs/yaml.md). */
#include "problem/problem_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/control.h"
#include "schedopt/export.h"
#include "schedopt/sweep.h"
#include "optimize/optimize_impl.h"

/* ======================================================================
 * Schema
 * ====================================================================== */

typedef enum ktype {
  K_SECTION, /* a mapping of further keys */
  K_NUM,     /* finite number in [lo, hi] */
  K_INT,     /* integral number in [lo, hi] */
  K_AUTONUM, /* "auto" or a number */
  K_STR,
  K_BOOL,
  K_FLAG,    /* a boolean, or the number 0 or 1 */
  K_ENUM,    /* one of choices; value = index */
  K_NUMSEQ   /* sequence of finite numbers */
} ktype;

typedef struct keyspec {
  const char *key; /* full dotted path */
  ktype type;
  double lo, hi;
  int lo_open, hi_open;
  const char *const *choices;
  const char *what; /* meaning, for messages */
} keyspec;

static const char *const model_types[] = {"plrf", "fsl", NULL};
static const char *const dynamics_choices[] = {"matched", "sde", "recursion", NULL};
static const char *const spacing_choices[] = {"log", "linear", NULL};
static const char *const gradient_choices[] = {"adjoint", "fd", NULL};

#define INF INFINITY
/* Order matters only for messages that list a section's keys. */
static const keyspec schema[] = {
    {"name", K_STR, 0, 0, 0, 0, NULL, "problem name"},
    {"description", K_STR, 0, 0, 0, 0, NULL, "description"},
    {"model", K_SECTION, 0, 0, 0, 0, NULL, "model section"},
    {"budget", K_SECTION, 0, 0, 0, 0, NULL, "budget section"},
    {"controls", K_SECTION, 0, 0, 0, 0, NULL, "controls section"},
    {"solver", K_SECTION, 0, 0, 0, 0, NULL, "solver section"},
    {"output", K_SECTION, 0, 0, 0, 0, NULL, "output section"},

    {"model.type", K_ENUM, 0, 0, 0, 0, model_types, "model family"},
    {"model.a", K_NUM, 1, INF, 1, 0, NULL, "signal decay exponent"},
    {"model.b", K_NUM, 1, INF, 1, 0, NULL, "spectral decay exponent"},
    {"model.s", K_NUM, 0, INF, 1, 0, NULL, "source exponent, a = 1 + s*b"},
    {"model.beta", K_NUM, 1, INF, 1, 0, NULL, "capacity exponent, same as b"},
    {"model.N", K_INT, 1, 1e6, 0, 0, NULL, "learned modes"},
    {"model.M", K_INT, 1, 1e6, 0, 0, NULL, "learned modes, alias of N"},
    {"model.sigma2", K_NUM, 0, INF, 0, 0, NULL, "label-noise variance"},
    {"model.sigma", K_NUM, 0, INF, 0, 0, NULL, "label-noise standard deviation"},
    {"model.lambda_scale", K_NUM, 0, INF, 1, 0, NULL, "top eigenvalue lambda_1"},
    {"model.signal_scale", K_NUM, 0, INF, 1, 0, NULL, "signal power of mode 1"},
    {"model.tail", K_AUTONUM, 0, INF, 0, 0, NULL, "approximation error"},
    {"model.dynamics", K_ENUM, 0, 0, 0, 0, dynamics_choices, "dynamics"},
    {"model.split", K_BOOL, 0, 0, 0, 0, NULL, "track bias and variance"},
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
    {"optimize.output", K_STR, 0, 0, 0, 0, NULL, "output folder"},
    {"optimize.max_steps", K_NUM, 0, INF, 1, 0, NULL, "cap on optimizer steps (data clock)"},
    {"optimize.model_size", K_SECTION, 0, 0, 0, 0, NULL, "model sizes searched (compute budget)"},

    /* ---- sweep: (schedopt sweep; read by schedopt_problem_sweep_read) ---- */
    {"sweep", K_SECTION, 0, 0, 0, 0, NULL, "sweep section"},
    {"sweep.key", K_STR, 0, 0, 0, 0, NULL, "the problem key each case sets"},
    {"sweep.values", K_NUMSEQ, 0, INF, 1, 0, NULL, "swept values"},
    {"sweep.from", K_NUM, 0, INF, 1, 0, NULL, "first swept value"},
    {"sweep.to", K_NUM, 0, INF, 1, 0, NULL, "last swept value"},
    {"sweep.points", K_INT, 2, SCHEDOPT_SWEEP_MAXCASES, 0, 0, NULL, "number of swept values"},
    {"sweep.spacing", K_ENUM, 0, 0, 0, 0, spacing_choices, "spacing of the swept values"},
    {"sweep.round", K_BOOL, 0, 0, 0, 0, NULL, "round the swept values to integers"},
};
#define NSCHEMA (sizeof schema / sizeof schema[0])

static int schema_index(const char *key) {
  for (size_t i = 0; i < NSCHEMA; i++)
    if (!strcmp(schema[i].key, key)) return (int)i;
  return -1;
}

/* The three control channels. */
typedef struct channel_info {
  const char *key;
  schedopt_channel ch;
  double lo, hi;
  int hi_open;
  const char *what;
} channel_info;

static const channel_info channels[] = {
    {"lr", SCHEDOPT_LR, 0, INF, 0, "learning rate"},
    {"batch", SCHEDOPT_BATCH, 1, INF, 0, "batch size"},
    {"momentum", SCHEDOPT_MOMENTUM, 0, 1, 1, "momentum"},
};
#define NCHANNELS (sizeof channels / sizeof channels[0])

/* Per-budget-kind keys, in schedopt_budget_kind order. */
static const char *const budget_keys[] = {"budget.steps", "budget.samples",
                                          "budget.tokens", "budget.compute"};

/* Keys of the other notation (a --set of one removes the other). */
static const char *const alias_pairs[][2] = {{"model.a", "model.s"},
                                             {"model.b", "model.beta"},
                                             {"model.N", "model.M"},
                                             {"model.sigma2", "model.sigma"}};

static const char *const plrf_only[] = {"model.tail", "model.dynamics", "model.split", NULL};
static const char *const fsl_only[] = {"model.c_approx", "model.c_signal", "model.c_noise",
                                       NULL};

/* ======================================================================
 * Small helpers
 * ====================================================================== */

#define xstrdup schedopt_ykv_strdup

/* "<loc>: error: <msg>" for entry e (key position if key). */
#define fail(err, code, e, key, ...) schedopt_ykv_error((err), (code), (e), (key), "problem", __VA_ARGS__)

/* Error without an entry: "<source>: error: <msg>". */
static schedopt_status fail_src(schedopt_error *err, const schedopt_problem *p,
                                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static schedopt_status fail_src(schedopt_error *err, const schedopt_problem *p,
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
static void prefix_at(schedopt_error *err, const ykv_entry *e, int key, const char *ctx) {
  char loc[512];
  schedopt_ykv_loc(e, key, loc, sizeof loc);
  schedopt_error_prefix(err, "%s: error: %s: ", loc, ctx);
}

/* "must be > 1", "must be in (0, 0.1]", ... */
static const char *range_text(char *buf, size_t cap, double lo, double hi, int lo_open,
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

/* Parse a YAML number.  0: ok; 1: not a number; 2: not finite. */
static int parse_number(const char *s, double *out) {
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
  if (*q) return 1;
  errno = 0;
  double v = strtod(s, NULL);
  if (!isfinite(v)) return 2;
  *out = v;
  return 0;
}

static int parse_bool(const char *s, int *out) {
  static const char *const yes[] = {"true", "yes", "on", NULL};
  static const char *const no[] = {"false", "no", "off", NULL};
  for (int i = 0; yes[i]; i++)
    if (ci_eq(s, yes[i])) return *out = 1, 1;
  for (int i = 0; no[i]; i++)
    if (ci_eq(s, no[i])) return *out = 0, 1;
  return 0;
}

static int is_integral(double v) { return fabs(v) <= 9007199254740992.0 && v == floor(v); }

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

/* A growing text buffer for lists of names. */
typedef struct strbuf {
  char s[768];
  size_t n;
} strbuf;

static void sb_add(strbuf *b, const char *name) {
  if (b->n + 1 >= sizeof b->s) return;
  int k = snprintf(b->s + b->n, sizeof b->s - b->n, "%s%s", b->n ? ", " : "", name);
  if (k > 0) b->n += (size_t)k;
  if (b->n >= sizeof b->s) b->n = sizeof b->s - 1;
}

/* Track the closest candidate for "did you mean". */
typedef struct suggest {
  const char *word;
  const char *best;
  int dist;
} suggest;

static void sg_add(suggest *g, const char *cand) {
  int d = edit_distance(g->word, cand);
  int lim = strlen(g->word) <= 3 ? 1 : 2;
  if (d <= lim && (!g->best || d < g->dist)) {
    g->best = cand;
    g->dist = d;
  }
}

static const char *sg_text(const suggest *g, char *buf, size_t cap) {
  if (g->best)
    snprintf(buf, cap, "; did you mean '%s'?", g->best);
  else
    buf[0] = '\0';
  return buf;
}

/* ======================================================================
 * Life cycle and loading
 * ====================================================================== */

static void clear_built(schedopt_problem *p) {
  free(p->opt);
  p->opt = NULL;
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
  for (size_t i = 0; i < T->nparams; i++) sb_add(b, T->params[i].name);
  if (T->needs_table == 1) {
    sb_add(b, "t");
    sb_add(b, "v");
    sb_add(b, "file");
    sb_add(b, "t_column");
    sb_add(b, "v_column");
  } else if (T->needs_table == 2) {
    sb_add(b, "milestones");
    sb_add(b, "factors");
  }
  sb_add(b, "warmup");
  sb_add(b, "warmup_init");
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

static void optimize_set_rules(ykv_list *l, const char *key, const char *scalar);

/* The --set rules of problem files (docs/yaml.md, "--set overrides"): one
 * budget kind, one notation per model quantity, a new control or model type
 * keeps only the file's keys it understands. */
static void problem_set_rules(ykv_list *l, const char *key, const char *val, void *ctx) {
  (void)ctx;
  for (int i = 0; i < 4; i++)
    if (!strcmp(key, budget_keys[i]))
      for (int j = 0; j < 4; j++)
        if (j != i) schedopt_ykv_remove_tree(l, budget_keys[j], 1);
  for (size_t i = 0; i < sizeof alias_pairs / sizeof alias_pairs[0]; i++)
    for (int s = 0; s < 2; s++)
      if (!strcmp(key, alias_pairs[i][s])) schedopt_ykv_remove_tree(l, alias_pairs[i][1 - s], 1);
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
    if (!strcmp(val, "fsl")) drop_file_keys(l, "model", keep_model_key, plrf_only);
    if (!strcmp(val, "plrf")) drop_file_keys(l, "model", keep_model_key, fsl_only);
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
 * Validation of the generic keys
 * ====================================================================== */

typedef struct settings {
  const ykv_entry *e[NSCHEMA]; /* NULL = not given */
  double v[NSCHEMA];           /* number, enum index or bool */
} settings;

static const ykv_entry *given(const settings *S, const char *key) {
  int i = schema_index(key);
  return i < 0 ? NULL : S->e[i];
}

static double val_or(const settings *S, const char *key, double def) {
  int i = schema_index(key);
  return (i >= 0 && S->e[i]) ? S->v[i] : def;
}

/* Check a number against a range and integrality; `name` and `text` for
 * messages.  loc_e/key select the location. */
static schedopt_status check_number(schedopt_error *err, const ykv_entry *e, const char *name,
                                    const char *text, double v, double lo, double hi,
                                    int lo_open, int hi_open, int integer, const char *what) {
  char r[128];
  if (!in_range(v, lo, hi, lo_open, hi_open))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s = %s is out of range: %s (%s)", name, text,
                range_text(r, sizeof r, lo, hi, lo_open, hi_open), what);
  if (integer && !is_integral(v))
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s = %s must be an integer (%s)", name, text,
                what);
  return SCHEDOPT_OK;
}

/* A scalar number for `name` from entry e. */
static schedopt_status get_number(schedopt_error *err, const ykv_entry *e, const char *name,
                                  double *out) {
  char d[256];
  if (e->kind != YKV_SCALAR || e->is_null) {
    schedopt_ykv_describe(e, d, sizeof d);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected a number, got %s", name, d);
  }
  int rc = parse_number(e->value, out);
  if (rc == 1)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a number, got '%.200s'", name,
                e->value);
  if (rc == 2)
    return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected a finite number, got '%.200s'",
                name, e->value);
  return SCHEDOPT_OK;
}

/* Sequence of finite numbers → malloc'ed array. */
static schedopt_status get_numseq(schedopt_error *err, const ykv_entry *e, const char *name,
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
    int rc = parse_number(e->items[i], &v[i]);
    if (rc) {
      char loc[512];
      ykv_entry item = *e;
      item.line = e->item_line[i];
      item.col = e->item_col[i];
      schedopt_ykv_loc(&item, 0, loc, sizeof loc);
      free(v);
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: error: %s[%zu]: expected a %snumber, got '%.200s'", loc,
                                name, i, rc == 2 ? "finite " : "", e->items[i]);
    }
  }
  *out = v;
  *n = e->n;
  return SCHEDOPT_OK;
}

static schedopt_status check_leaf(schedopt_error *err, const keyspec *k, const ykv_entry *e,
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
    if (!parse_bool(e->value, &b))
      return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected true or false, got '%.200s'",
                  k->key, e->value);
    *out = b;
    return SCHEDOPT_OK;
  }
  case K_FLAG: {
    int b;
    double v;
    if (parse_bool(e->value, &b)) {
      *out = b;
      return SCHEDOPT_OK;
    }
    if (parse_number(e->value, &v) == 0 && (v == 0 || v == 1)) {
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
      sb_add(&b, k->choices[i]);
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
    schedopt_status st = get_number(err, e, k->key, out);
    if (st) {
      if (k->type == K_AUTONUM && parse_number(e->value, out) == 1)
        return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: expected 'auto' or a number, got '%.200s'",
                    k->key, e->value);
      return st;
    }
    return check_number(err, e, k->key, e->value, *out, k->lo, k->hi, k->lo_open, k->hi_open,
                        k->type == K_INT, k->what);
  }
  case K_NUMSEQ: {
    double *v;
    size_t n;
    schedopt_status st = get_numseq(err, e, k->key, &v, &n);
    free(v);
    return st;
  }
  }
  return SCHEDOPT_OK;
}

static void section_keys_text(const char *section, strbuf *b) {
  size_t k = strlen(section);
  for (size_t i = 0; i < NSCHEMA; i++)
    if (!strncmp(schema[i].key, section, k) && schema[i].key[k] == '.')
      sb_add(b, schema[i].key + k + 1);
}

static schedopt_status unknown_key(schedopt_error *err, const ykv_entry *e, const char *section) {
  strbuf b = {{0}, 0};
  const char *leaf = schedopt_ykv_leaf(e->path);
  suggest g = {leaf, NULL, 0};
  char sg[128];
  if (!section) {
    for (size_t i = 0; i < NSCHEMA; i++)
      if (!strchr(schema[i].key, '.')) {
        sb_add(&b, schema[i].key);
        sg_add(&g, schema[i].key);
      }
    return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' at the top level (allowed: %s)%s",
                leaf, b.s, sg_text(&g, sg, sizeof sg));
  }
  size_t k = strlen(section);
  for (size_t i = 0; i < NSCHEMA; i++)
    if (!strncmp(schema[i].key, section, k) && schema[i].key[k] == '.') {
      sb_add(&b, schema[i].key + k + 1);
      sg_add(&g, schema[i].key + k + 1);
    }
  if (!strcmp(section, "controls"))
    for (size_t i = 0; i < NCHANNELS; i++) {
      sb_add(&b, channels[i].key);
      sg_add(&g, channels[i].key);
    }
  return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' in %s (allowed: %s)%s", leaf,
              section, b.s, sg_text(&g, sg, sizeof sg));
}

/* Check every entry's key and type; fill S. */
static schedopt_status validate_entries(const schedopt_problem *p, settings *S,
                                        schedopt_error *err) {
  memset(S, 0, sizeof *S);
  const ykv_list *l = &p->entries;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *e = &l->v[i];
    int depth = schedopt_ykv_depth(e->path);
    char top[128];
    size_t m = strcspn(e->path, ".");
    snprintf(top, sizeof top, "%.*s", (int)(m < 127 ? m : 127), e->path);
    int ti = schema_index(top);
    if (depth == 1) {
      if (ti < 0) return unknown_key(err, e, NULL);
      const keyspec *k = &schema[ti];
      if (k->type == K_SECTION) {
        if (e->kind == YKV_MAP || (e->kind == YKV_SCALAR && e->is_null)) continue;
        char d[256];
        schedopt_ykv_describe(e, d, sizeof d);
        strbuf b = {{0}, 0};
        if (!strcmp(top, "controls")) {
          for (size_t c = 0; c < NCHANNELS; c++) sb_add(&b, channels[c].key);
        } else {
          section_keys_text(top, &b);
        }
        return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                    "%s: expected a mapping of keys (%s), got %s", top, b.s, d);
      }
      schedopt_status st = check_leaf(err, k, e, &S->v[ti]);
      if (st) return st;
      S->e[ti] = e;
      continue;
    }
    /* depth >= 2: the top-level entry came first and was checked. */
    if (ti < 0 || schema[ti].type != K_SECTION) continue;
    if (!strcmp(top, "controls")) {
      if (depth != 2) continue; /* checked when the control is built */
      const char *ch = e->path + m + 1;
      size_t c;
      for (c = 0; c < NCHANNELS; c++)
        if (!strcmp(ch, channels[c].key)) break;
      if (c == NCHANNELS) return unknown_key(err, e, "controls");
      if (e->kind == YKV_MAP) continue;
      if (e->kind != YKV_SCALAR || e->is_null) {
        char d[256];
        schedopt_ykv_describe(e, d, sizeof d);
        return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                    "%s: expected a number (a constant %s) or a mapping with a 'type', got %s",
                    e->path, channels[c].what, d);
      }
      continue; /* the number is checked when the control is built */
    }
    if (depth != 2) continue; /* below a leaf: the leaf was reported */
    int ki = schema_index(e->path);
    if (ki >= 0 && schema[ki].type == K_SECTION) continue; /* nested: checked when built */
    if (ki < 0) return unknown_key(err, e, top);
    schedopt_status st = check_leaf(err, &schema[ki], e, &S->v[ki]);
    if (st) return st;
    S->e[ki] = e;
  }
  return SCHEDOPT_OK;
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
  for (int i = 0; schedopt_control_types[i]; i++) sb_add(&types, schedopt_control_types[i]->name);
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
    for (int i = 0; schedopt_control_types[i]; i++) sg_add(&g, schedopt_control_types[i]->name);
    return fail(err, SCHEDOPT_EINVAL, te, 0, "%s: unknown control type '%.100s' (allowed: %s)%s",
                tk, te->value, types.s, sg_text(&g, sg, sizeof sg));
  }
  schedopt_control *c = NULL;
  schedopt_status st = schedopt_control_alloc(&c, T, err);
  if (st) {
    prefix_at(err, te, 0, cp);
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
      for (size_t j = 0; j < T->nparams; j++) sg_add(&g, T->params[j].name);
      sg_add(&g, "warmup");
      sg_add(&g, "warmup_init");
      st = fail(err, SCHEDOPT_EINVAL, e, 1,
                "unknown key '%s' in %s (a %s control; allowed: %s)%s", k, cp, T->name, b.s,
                sg_text(&g, sg, sizeof sg));
      break;
    }
    const schedopt_param_info *pi = NULL;
    for (size_t j = 0; j < T->nparams; j++)
      if (!strcmp(T->params[j].name, k)) pi = &T->params[j];
    if (pi && pi->choices) {
      strbuf b = {{0}, 0};
      for (int j = 0; pi->choices[j]; j++) sb_add(&b, pi->choices[j]);
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
      if ((st = schedopt_control_set_choice(c, k, e->value, err))) prefix_at(err, e, 0, e->path);
      continue;
    }
    if (pi || !strcmp(k, "warmup") || !strcmp(k, "warmup_init")) {
      double x;
      if ((st = get_number(err, e, e->path, &x))) break;
      if (pi && (st = check_number(err, e, e->path, e->value, x, pi->lo, pi->hi, pi->lo_open,
                                   pi->hi_open, 0, pi->doc ? pi->doc : pi->name)))
        break;
      if ((st = schedopt_control_set(c, k, x, err))) prefix_at(err, e, 0, e->path);
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
        prefix_at(err, file_e, 0, file_e->path);
    } else if (!t_e || !v_e) {
      st = fail(err, SCHEDOPT_EINVAL, t_e ? t_e : v_e ? v_e : te, 1,
                "%s: a table needs 't' and 'v' (sequences of the same length) or 'file'", cp);
    } else {
      char tn_[300], vn_[300];
      snprintf(tn_, sizeof tn_, "%s.t", cp);
      snprintf(vn_, sizeof vn_, "%s.v", cp);
      if (!(st = get_numseq(err, t_e, tn_, &tv, &tn)) &&
          !(st = get_numseq(err, v_e, vn_, &vv, &vn))) {
        if (tn != vn || tn == 0)
          st = fail(err, SCHEDOPT_EINVAL, v_e, 1,
                    "%s: 't' and 'v' must be non-empty and of the same length (got %zu and %zu)",
                    cp, tn, vn);
        else if ((st = schedopt_control_set_table(c, tn, tv, vv, err)))
          prefix_at(err, t_e, 1, cp);
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
      if (!(st = get_numseq(err, ms_e, mn_, &tv, &tn)) &&
          !(st = get_numseq(err, fa_e, fn_, &vv, &vn))) {
        if (vn != tn + 1)
          st = fail(err, SCHEDOPT_EINVAL, fa_e, 1,
                    "%s: 'factors' must have one more value than 'milestones' (got %zu and %zu)",
                    cp, vn, tn);
        else if ((st = schedopt_control_set_steps(c, tn, tv, vv, err)))
          prefix_at(err, ms_e, 1, cp);
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
    if ((st = get_number(err, e, key, &x)) ||
        (st = check_number(err, e, key, e->value, x, ci->lo, ci->hi, 0, ci->hi_open, 0,
                           ci->what)))
      return st;
    const schedopt_control_type *T = schedopt_control_constant;
    if ((st = schedopt_control_alloc(&c, T, err))) return st;
    if (T->nparams < 1)
      st = schedopt_error_set(err, SCHEDOPT_EINTERNAL, "constant control has no parameter");
    else if ((st = schedopt_control_set(c, T->params[0].name, x, err)))
      prefix_at(err, e, 0, key);
  } else {
    st = build_control_map(p, ci, e, &c, err);
  }
  if (!st && (st = schedopt_control_validate(c, H, ci->lo, ci->hi, ci->hi_open, key, err))) {
    char loc[512]; /* the message names the control already */
    schedopt_ykv_loc(e, 1, loc, sizeof loc);
    schedopt_error_prefix(err, "%s: error: ", loc);
  }
  if (!st && (st = schedopt_schedule_set(s, ci->ch, c, err))) prefix_at(err, e, 1, key);
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

static schedopt_status make_times(schedopt_problem *p, const settings *S, schedopt_error *err) {
  const double H = p->horizon;
  const int steps = schedopt_schedule_clock(p->schedule) == SCHEDOPT_CLOCK_STEPS;
  const ykv_entry *te = given(S, "output.times");
  double *t = NULL;
  size_t n = 0;
  schedopt_status st;
  if (te) {
    if ((st = get_numseq(err, te, "output.times", &t, &n))) return st;
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
      } else if (steps && !is_integral(t[i])) {
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
    double points = val_or(S, "output.points", 200);
    int linear = val_or(S, "output.spacing", 0) == 1;
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

/* Both given with different values → error at the second. */
static schedopt_status conflict(schedopt_error *err, const ykv_entry *first,
                                const ykv_entry *second, const char *why) {
  char loc[512];
  schedopt_ykv_loc(first, 1, loc, sizeof loc);
  return fail(err, SCHEDOPT_EINVAL, second, 1,
              "%s = %s conflicts with %s = %s (at %s)%s%s; give only one of them", second->path,
              second->value, first->path, first->value, loc, why ? ": " : "", why ? why : "");
}

static int differ(double x, double y) { return fabs(x - y) > 1e-12 * fmax(fabs(x), fabs(y)); }

static const ykv_entry *section_entry(const schedopt_problem *p, const char *sec) {
  return schedopt_ykv_get(&p->entries, sec);
}

static schedopt_status build_optimize(schedopt_problem *p, const settings *S,
                                      schedopt_error *err);
static schedopt_status build_extras(schedopt_problem *p, schedopt_error *err);

/* Limits on the work of one run (docs/yaml.md, "Limits"), so that an absurd
 * size is refused at once instead of running for hours:
 *   recursion  optimizer steps × states ≤ WORK_RECURSION (one state update
 *              takes ~2 ns: the limit is a few minutes)
 *   cvodes     (schedule knots + 1) × states ≤ WORK_KNOTS (the integrator
 *              stops, and at jumps restarts, at every knot) */
#define WORK_RECURSION 1e11
#define WORK_KNOTS 1e10

static schedopt_status check_work(const schedopt_problem *p, const settings *S,
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
      return fail(err, SCHEDOPT_EINVAL, given(S, "model.dynamics"), 0,
                  "model.dynamics = recursion runs one optimizer step at a time: %s = %s "
                  "means about %.3g steps x %.0f states = %.3g state updates, over the limit "
                  "of %.0e (minutes of work); use dynamics: matched (the ODE, whose cost "
                  "hardly grows with the horizon) or a smaller budget or model",
                  kind_e->path, kind_e->value, steps, n, steps * n, WORK_RECURSION);
    return SCHEDOPT_OK;
  }
  size_t nk = 0, most = 0;
  const char *where = NULL; /* the channel with the most knots */
  for (size_t c = 0; c < NCHANNELS; c++) {
    size_t k = schedopt_control_knots(schedopt_schedule_get(p->schedule, channels[c].ch), H,
                                      NULL, NULL, 0);
    nk += k;
    if (k > most) most = k, where = channels[c].key;
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
    return fail_src(err, p, fmt, key, nk, n, ((double)nk + 1) * n, WORK_KNOTS);
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_problem_build(schedopt_problem *p, schedopt_error *err) {
  if (!p) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_build: NULL");
  clear_built(p);
  settings S;
  schedopt_status st = validate_entries(p, &S, err);
  if (st) return st;

  /* ---- model ---- */
  const int fsl = val_or(&S, "model.type", 0) == 1;
  const char *tname = fsl ? "fsl" : "plrf";
  const char *const *wrong = fsl ? plrf_only : fsl_only;
  for (int i = 0; wrong[i]; i++) {
    const ykv_entry *e = given(&S, wrong[i]);
    if (e)
      return fail(err, SCHEDOPT_EINVAL, e, 1, "%s applies to model type %s only (this model is "
                  "%s)", wrong[i], fsl ? "plrf" : "fsl", tname);
  }
  const ykv_entry *ea = given(&S, "model.a"), *es = given(&S, "model.s"),
                  *eb = given(&S, "model.b"), *ebeta = given(&S, "model.beta");
  const ykv_entry *model_e = section_entry(p, "model");
  double a, b;
  if (eb && ebeta && differ(S.v[schema_index("model.b")], S.v[schema_index("model.beta")]))
    return conflict(err, eb, ebeta, "b and beta are the same exponent");
  if (!eb && !ebeta) {
    if (model_e)
      return fail(err, SCHEDOPT_EINVAL, model_e, 1,
                  "model: missing 'b' (spectral decay exponent, > 1; or 'beta')");
    return fail_src(err, p, "missing 'model:' section with the exponents 'a' and 'b' (or 's' "
                            "and 'beta')");
  }
  b = eb ? val_or(&S, "model.b", 0) : val_or(&S, "model.beta", 0);
  if (ea && es) {
    double implied = 1 + val_or(&S, "model.s", 0) * b;
    if (differ(val_or(&S, "model.a", 0), implied)) {
      char why[128];
      snprintf(why, sizeof why, "a = 1 + s*b = %.15g", implied);
      return conflict(err, ea, es, why);
    }
  }
  if (!ea && !es)
    return fail(err, SCHEDOPT_EINVAL, model_e, 1,
                "model: missing 'a' (signal decay exponent, > 1; or 's', with a = 1 + s*b)");
  a = ea ? val_or(&S, "model.a", 0) : 1 + val_or(&S, "model.s", 0) * b;
  const ykv_entry *eN = given(&S, "model.N"), *eM = given(&S, "model.M");
  if (eN && eM && differ(val_or(&S, "model.N", 0), val_or(&S, "model.M", 0)))
    return conflict(err, eN, eM, "M is another name for N");
  long N = (long)(eN ? val_or(&S, "model.N", 1000) : val_or(&S, "model.M", 1000));
  const ykv_entry *es2 = given(&S, "model.sigma2"), *esg = given(&S, "model.sigma");
  double sigma2 = es2 ? val_or(&S, "model.sigma2", 0) : 0;
  if (esg) {
    double sg = val_or(&S, "model.sigma", 0);
    if (es2 && differ(sigma2, sg * sg)) return conflict(err, es2, esg, "sigma2 = sigma^2");
    sigma2 = sg * sg;
  }
  p->a = a;
  p->b = b;
  p->beta = b;
  p->s = (a - 1) / b;
  p->sigma2 = sigma2;
  p->modes = N;
  const int recursion = val_or(&S, "model.dynamics", 0) == 2;

  /* ---- budget ---- */
  const ykv_entry *kind_e = NULL;
  int kind = -1;
  for (int i = 0; i < 4; i++) {
    const ykv_entry *e = given(&S, budget_keys[i]);
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
    return fail_src(err, p, "no budget: add a 'budget:' section with one of steps, samples, "
                            "tokens or compute");
  }
  p->budget = (schedopt_budget_kind)kind;
  p->amount = S.v[schema_index(budget_keys[kind])];
  p->seq_len = 1;
  schedopt_clock clock = SCHEDOPT_CLOCK_DATA;
  double H = p->amount;
  switch (p->budget) {
  case SCHEDOPT_BUDGET_STEPS: clock = SCHEDOPT_CLOCK_STEPS; break;
  case SCHEDOPT_BUDGET_SAMPLES: break;
  case SCHEDOPT_BUDGET_TOKENS: p->seq_len = val_or(&S, "budget.seq_len", 1); break;
  case SCHEDOPT_BUDGET_COMPUTE: H = p->amount / (double)N; break;
  }
  p->horizon = H;

  /* ---- schedule ---- */
  if ((st = schedopt_schedule_alloc(&p->schedule, clock, H, p->seq_len, err))) {
    schedopt_error_prefix(err, "%s: error: budget: ", p->source ? p->source : "problem");
    return st;
  }
  int has[NCHANNELS] = {0};
  const ykv_entry *where[NCHANNELS] = {0};
  for (size_t i = 0; i < NCHANNELS; i++)
    if ((st = build_channel(p, &channels[i], p->schedule, H, &has[i], &where[i], err)))
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
    fp.lambda_scale = val_or(&S, "model.lambda_scale", 1);
    fp.signal_scale = val_or(&S, "model.signal_scale", 1);
    fp.c_approx = val_or(&S, "model.c_approx", 1);
    fp.c_signal = val_or(&S, "model.c_signal", 1);
    fp.c_noise = val_or(&S, "model.c_noise", 1);
    st = schedopt_model_alloc(&p->model, MT, &fp, err);
  } else {
    schedopt_plrf_params pp;
    schedopt_plrf_params_default(&pp);
    pp.a = a;
    pp.b = b;
    pp.N = N;
    pp.sigma2 = sigma2;
    pp.lambda_scale = val_or(&S, "model.lambda_scale", 1);
    pp.signal_scale = val_or(&S, "model.signal_scale", 1);
    pp.tail = val_or(&S, "model.tail", NAN);
    pp.dynamics = val_or(&S, "model.dynamics", 0) == 1 ? SCHEDOPT_DYN_SDE : SCHEDOPT_DYN_MATCHED;
    pp.momentum = has[2];
    pp.split = (int)val_or(&S, "model.split", 1);
    st = schedopt_model_alloc(&p->model, MT, &pp, err);
  }
  if (st) {
    if (model_e)
      prefix_at(err, model_e, 1, "model");
    else
      schedopt_error_prefix(err, "%s: error: model: ", p->source ? p->source : "problem");
    return st;
  }
  p->integrator = recursion ? schedopt_integrator_recursion : schedopt_integrator_cvodes;
  if (recursion && !MT->step)
    return fail(err, SCHEDOPT_EINVAL, given(&S, "model.dynamics"), 0,
                "model.dynamics: recursion needs a model with an exact step map");
  if ((st = check_work(p, &S, kind_e, recursion, err))) return st;

  /* ---- solver, output ---- */
  p->rtol = val_or(&S, "solver.rtol", 1e-6);
  p->atol = val_or(&S, "solver.atol", 1e-10);
  p->max_steps = (long)val_or(&S, "solver.max_steps", 1e6);
  if ((st = make_times(p, &S, err))) return st;

  const ykv_entry *ne = given(&S, "name"), *fe = given(&S, "output.file");
  p->name = xstrdup(ne ? ne->value : p->stem ? p->stem : "problem");
  if (!p->name || (fe && !(p->output_file = xstrdup(fe->value)))) {
    clear_built(p);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if ((st = build_optimize(p, &S, err)) || (st = build_extras(p, err))) return st;
  {
    /* read by schedopt sweep; validated here so that simulate and optimize
     * report a bad sweep: section too */
    problem_sweep sw;
    int present;
    if ((st = schedopt_problem_sweep_read(p, &sw, &present, err))) return st;
    schedopt_problem_sweep_free(&sw);
  }
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

/* ======================================================================
 * optimize: — schedule optimization (schema: docs/yaml.md, "optimize").
 * Plain keys are in the schema table; the nested parts (objective,
 * controls, baselines) are checked here.  The result is a
 * schedopt_optimize_spec (schedopt/optimize.h).
 * ====================================================================== */

static const char *const opt_obj_types[] = {"final", "mean", "horizons", "steps_to_target",
                                            NULL};
static const char *const opt_obj_mean[] = {"from", "to", "from_frac", "to_frac", NULL};
static const char *const opt_obj_horizons[] = {"at", "at_frac", "weights", NULL};
static const char *const opt_obj_target[] = {"target", NULL};
static const char *const opt_ms_keys[] = {"min", "max", "points", NULL};
static const char *const opt_ch_common[] = {"param", "min", "max", NULL};
static const char *const opt_ch_family[] = {"vary", "bounds", "log", NULL};
static const char *const opt_ch_freeform[] = {"knots", "interp", "monotone", "monotone_after",
                                              "refine_at", NULL};
static const char *const opt_interp[] = {"linear", "step", NULL};
static const char *const opt_monotone[] = {"none", "decreasing", "increasing", NULL};

static int opt_param_index(const schedopt_control_type *T, const char *name) {
  for (size_t i = 0; i < T->nparams; i++)
    if (!strcmp(T->params[i].name, name)) return (int)i;
  return -1;
}

static int opt_in(const char *const *list, const char *k) {
  for (int i = 0; list && list[i]; i++)
    if (!strcmp(list[i], k)) return 1;
  return 0;
}

static void opt_list_text(strbuf *b, suggest *g, const char *const *list) {
  for (int i = 0; list && list[i]; i++) {
    sb_add(b, list[i]);
    if (g) sg_add(g, list[i]);
  }
}

/* A sequence item as an entry of its own (for its position). */
static ykv_entry opt_item(const ykv_entry *e, size_t i) {
  ykv_entry it = *e;
  it.kind = YKV_SCALAR;
  it.value = e->items[i];
  it.is_null = 0;
  it.line = e->item_line[i];
  it.col = e->item_col[i];
  return it;
}

/* A name (a non-empty scalar) or a list of one out of `choices`. */
static schedopt_status opt_choice(schedopt_error *err, const ykv_entry *e, const char *what,
                                  const char *const *choices, int *out) {
  strbuf b = {{0}, 0};
  if (e->kind != YKV_SCALAR || e->is_null) {
    char d[256];
    schedopt_ykv_describe(e, d, sizeof d);
    opt_list_text(&b, NULL, choices);
    return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_SCALAR ? 0 : 1,
                "%s: expected one of %s, got %s", what, b.s, d);
  }
  for (int i = 0; choices[i]; i++)
    if (!strcmp(choices[i], e->value)) return *out = i, SCHEDOPT_OK;
  suggest g = {e->value, NULL, 0};
  char sg[128];
  opt_list_text(&b, &g, choices);
  return fail(err, SCHEDOPT_EINVAL, e, 0, "%s: unknown value '%.200s' (allowed: %s)%s", what,
              e->value, b.s, sg_text(&g, sg, sizeof sg));
}

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
    where[i] = opt_item(e, i);
  }
  *n = e->n;
  return SCHEDOPT_OK;
}

/* A number from e checked against [lo, hi]. */
static schedopt_status opt_number(schedopt_error *err, const ykv_entry *e, double lo, double hi,
                                  int lo_open, int hi_open, const char *what, double *x) {
  schedopt_status st = get_number(err, e, e->path, x);
  if (!st) st = check_number(err, e, e->path, e->value, *x, lo, hi, lo_open, hi_open, 0, what);
  return st;
}

/* Unknown key at depth > 2 under `parent`: lists `allowed`. */
static schedopt_status opt_unknown(schedopt_error *err, const ykv_entry *e, const char *parent,
                                   const char *const *a1, const char *const *a2,
                                   const char *extra) {
  strbuf b = {{0}, 0};
  const char *leaf = schedopt_ykv_leaf(e->path);
  suggest g = {leaf, NULL, 0};
  char sg[128];
  opt_list_text(&b, &g, a1);
  opt_list_text(&b, &g, a2);
  return fail(err, SCHEDOPT_EINVAL, e, 1, "unknown key '%s' in %s (allowed: %s)%s%s", leaf,
              parent, b.s, extra ? extra : "", sg_text(&g, sg, sizeof sg));
}

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
  if ((st = opt_choice(err, te, "optimize.objective", opt_obj_types, &kind))) return st;
  o->objective = kind == 3 ? SCHEDOPT_OBJ_FINAL : (schedopt_objective_kind)kind;
  const char *const *mine = kind == 1   ? opt_obj_mean
                            : kind == 2 ? opt_obj_horizons
                            : kind == 3 ? opt_obj_target
                                        : NULL;
  const ykv_entry *ke[8] = {0};
  for (size_t i = 0; i < l->n && e->kind == YKV_MAP; i++) {
    const ykv_entry *c = &l->v[i];
    if (!schedopt_ykv_is_under(c->path, "optimize.objective") || schedopt_ykv_depth(c->path) != 3) continue;
    const char *k = schedopt_ykv_leaf(c->path);
    if (!strcmp(k, "type")) continue;
    if (opt_in(mine, k)) {
      for (int j = 0; mine[j]; j++)
        if (!strcmp(mine[j], k)) ke[j] = c;
      continue;
    }
    if (opt_in(opt_obj_mean, k) || opt_in(opt_obj_horizons, k) || opt_in(opt_obj_target, k))
      return fail(err, SCHEDOPT_EINVAL, c, 1, "optimize.objective.%s applies to type %s only "
                  "(this objective is %s)", k, opt_in(opt_obj_mean, k) ? "mean"
                  : opt_in(opt_obj_horizons, k) ? "horizons" : "steps_to_target",
                  opt_obj_types[kind]);
    static const char *const type_key[] = {"type", NULL};
    return opt_unknown(err, c, "optimize.objective", type_key, mine, NULL);
  }
  if (kind == 3) { /* the shortest horizon whose optimum reaches L <= target */
    if (!ke[0])
      return fail(err, SCHEDOPT_EINVAL, e, e->kind == YKV_MAP ? 1 : 0,
                  "optimize.objective: steps_to_target needs 'target' (the loss to reach), "
                  "e.g. objective: {type: steps_to_target, target: 0.3}");
    double x;
    if ((st = opt_number(err, ke[0], 0, INF, 1, 0, "loss to reach", &x))) return st;
    o->target = x;
  } else if (kind == 1) { /* mean over [t0, t1] */
    double t0 = 0, t1 = H, x;
    for (int j = 0; j < 2; j++) /* from / from_frac, to / to_frac */
      if (ke[j] && ke[j + 2])
        return conflict(err, ke[j], ke[j + 2], "one is in clock units, the other a fraction of H");
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
    if (at && af) return conflict(err, at, af, "one is in clock units, the other a fraction of H");
    if (!at && !af)
      return fail(err, SCHEDOPT_EINVAL, e, 1, "optimize.objective: horizons needs 'at' (clock "
                  "times) or 'at_frac' (fractions of H), e.g. at_frac: [0.25, 0.5, 1]");
    const ykv_entry *ae = at ? at : af;
    double *v = NULL, *w = NULL;
    size_t n = 0, nw = 0;
    if ((st = get_numseq(err, ae, ae->path, &v, &n))) return st;
    if (n == 0 || n > SCHEDOPT_OPT_MAXH) {
      free(v);
      return fail(err, SCHEDOPT_EINVAL, ae, 1, "%s: give 1 to %d horizons (got %zu)", ae->path,
                  SCHEDOPT_OPT_MAXH, n);
    }
    for (size_t i = 0; i < n; i++) {
      ykv_entry item = opt_item(ae, i);
      double t = at ? v[i] : v[i] * H;
      const char *why = NULL;
      char buf[200];
      if (at ? !(v[i] > 0 && v[i] <= H) : !(v[i] > 0 && v[i] <= 1)) {
        snprintf(buf, sizeof buf, "must be in (0, %.15g]", at ? H : 1.0);
        why = buf;
      } else if (steps && at && !is_integral(t)) {
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
      if ((st = get_numseq(err, we, we->path, &w, &nw))) return st;
      double sum = 0;
      st = SCHEDOPT_OK;
      if (nw != n)
        st = fail(err, SCHEDOPT_EINVAL, we, 1, "%s: give one weight per horizon (%zu, got %zu)",
                  we->path, n, nw);
      for (size_t i = 0; i < nw && !st; i++) {
        ykv_entry item = opt_item(we, i);
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
          ff |= opt_in(opt_ch_freeform, schedopt_ykv_leaf(l->v[i].path));
          fam |= opt_in(opt_ch_family, schedopt_ykv_leaf(l->v[i].path));
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
  if (pe && (st = opt_choice(err, pe, key, ptypes, &pt))) return st;
  cp->type = pt == 0 ? schedopt_parametrization_family : schedopt_parametrization_freeform;
  const char *const *mine = pt == 0 ? opt_ch_family : opt_ch_freeform;
  const char *const *other = pt == 0 ? opt_ch_freeform : opt_ch_family;
  const schedopt_control *given = schedopt_schedule_get(p->schedule, ci->ch);
  const schedopt_control_type *T = schedopt_control_get_type(given);
  const ykv_entry *min_e = NULL, *max_e = NULL, *vary_e = NULL, *bounds_e = NULL, *log_e = NULL;
  for (size_t i = 0; i < l->n && ce->kind == YKV_MAP; i++) {
    const ykv_entry *e = &l->v[i];
    if (!schedopt_ykv_is_under(e->path, path) || schedopt_ykv_depth(e->path) != 4) continue;
    const char *k = schedopt_ykv_leaf(e->path);
    if (!strcmp(k, "param")) continue;
    if (!opt_in(opt_ch_common, k) && !opt_in(mine, k)) {
      if (opt_in(other, k))
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s.%s applies to param: %s only (this is "
                    "param: %s)", path, k, pt == 0 ? "freeform" : "family", ptypes[pt]);
      return opt_unknown(err, e, path, opt_ch_common, mine, NULL);
    }
    double x;
    int c;
    if (!strcmp(k, "min")) min_e = e;
    else if (!strcmp(k, "max")) max_e = e;
    else if (!strcmp(k, "vary")) vary_e = e;
    else if (!strcmp(k, "bounds")) bounds_e = e;
    else if (!strcmp(k, "log")) log_e = e;
    else if (!strcmp(k, "knots")) {
      if ((st = get_number(err, e, e->path, &x)) ||
          (st = check_number(err, e, e->path, e->value, x, SCHEDOPT_FREEFORM_MINKNOTS,
                             SCHEDOPT_FREEFORM_MAXKNOTS, 0, 0, 1, "number of knots")))
        return st;
      cp->knots = (size_t)x;
    } else if (!strcmp(k, "interp")) {
      if ((st = opt_choice(err, e, e->path, opt_interp, &c))) return st;
      cp->step = c == 1;
    } else if (!strcmp(k, "monotone")) {
      int b;
      if (e->kind == YKV_SCALAR && !e->is_null && parse_bool(e->value, &b))
        c = b ? 1 : 0;
      else if ((st = opt_choice(err, e, e->path, opt_monotone, &c)))
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
      if ((st = get_numseq(err, e, e->path, &v, &n))) return st;
      if (n > SCHEDOPT_DESIGN_MAXREFINE) {
        free(v);
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s: at most %d times (got %zu)", e->path,
                    SCHEDOPT_DESIGN_MAXREFINE, n);
      }
      for (size_t i = 0; i < n; i++) {
        ykv_entry item = opt_item(e, i);
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
          sb_add(&b, T->params[q].name);
          sg_add(&g, T->params[q].name);
        }
      static const char *const always[] = {"gain", "warmup", "warmup_init", NULL};
      opt_list_text(&b, &g, always);
      if (j >= 0)
        return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "%s: '%s' is a choice, not a number; "
                    "it cannot be optimized (the wsd baseline tries every shape)", key, nm);
      return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "%s: '%s' is not a parameter of "
                  "controls.%s (a %s control; can vary: %s)%s", key, nm, ci->key, T->name, b.s,
                  sg_text(&g, sg, sizeof sg));
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
      if ((st = get_numseq(err, e, e->path, &v, &n))) return st;
      if (n != 2 || !(v[0] <= v[1])) {
        free(v);
        return fail(err, SCHEDOPT_EINVAL, e, 1, "%s: expected [lo, hi] with lo <= hi", e->path);
      }
      int j = opt_param_index(T, k);
      double plo = -INF, phi = INF;
      if (j >= 0) plo = T->params[j].lo, phi = T->params[j].hi;
      if (!strcmp(k, "warmup_init")) plo = 0, phi = 1;
      if (!strcmp(k, "warmup")) plo = 0, phi = p->horizon;
      if (!strcmp(k, "gain")) plo = 0;
      if (v[0] < plo || v[1] > phi) {
        char r[128];
        fail(err, SCHEDOPT_EINVAL, e, 1, "%s = [%.15g, %.15g] leaves the parameter's range: %s",
             e->path, v[0], v[1], range_text(r, sizeof r, plo, phi, 0, 0));
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
  schedopt_channel_param cp[NCHANNELS];
  int any = 0;
  for (size_t c = 0; c < NCHANNELS; c++) schedopt_channel_param_default(&cp[c]);
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *ce = &l->v[i];
    if (!schedopt_ykv_is_under(ce->path, "optimize.controls") || schedopt_ykv_depth(ce->path) != 3) continue;
    const char *k = schedopt_ykv_leaf(ce->path);
    size_t c = 0;
    while (c < NCHANNELS && strcmp(channels[c].key, k)) c++;
    if (c == NCHANNELS) {
      static const char *const chs[] = {"lr", "batch", "momentum", NULL};
      return opt_unknown(err, ce, "optimize.controls", chs, NULL, NULL);
    }
    schedopt_status st = opt_channel(p, ce, &channels[c], &cp[c], err);
    if (st) return st;
    any = 1;
  }
  if (any)
    for (size_t c = 0; c < NCHANNELS; c++) o->channel[channels[c].ch] = cp[c];
  return SCHEDOPT_OK;
}

static schedopt_status opt_baselines(const schedopt_problem *p, schedopt_optimize_spec *o,
                                     schedopt_error *err) {
  const ykv_entry *e = schedopt_ykv_get(&p->entries, "optimize.baselines");
  if (!e) return SCHEDOPT_OK;
  int b;
  if (e->kind == YKV_SCALAR && !e->is_null &&
      (!strcmp(e->value, "all") || !strcmp(e->value, "none") || parse_bool(e->value, &b))) {
    int all = !strcmp(e->value, "all") || (strcmp(e->value, "none") && b);
    o->baselines = 0;
    if (all)
      for (unsigned i = 0; schedopt_baseline_types[i]; i++) o->baselines |= 1u << i;
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
        sb_add(&bl, schedopt_baseline_types[j]->name);
        sg_add(&g, schedopt_baseline_types[j]->name);
      }
      return fail(err, SCHEDOPT_EINVAL, &where[i], 0, "optimize.baselines: unknown baseline "
                  "'%.100s' (allowed: %s, or all / none)%s", names[i], bl.s,
                  sg_text(&g, sg, sizeof sg));
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
    if (!opt_ms_keys[j]) return opt_unknown(err, c, "optimize.model_size", opt_ms_keys,
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
  if (!is_integral(lo) || !is_integral(hi) || !is_integral(pts))
    return fail(err, SCHEDOPT_EINVAL, !is_integral(lo) ? ke[0] : !is_integral(hi) ? ke[1] : ke[2],
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

static schedopt_status build_optimize(schedopt_problem *p, const settings *S,
                                      schedopt_error *err) {
  schedopt_optimize_spec *o = malloc(sizeof *o);
  if (!o) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_optimize_spec_default(o);
  schedopt_status st;
  if ((st = opt_objective(p, o, err)) || (st = opt_controls(p, o, err)) ||
      (st = opt_baselines(p, o, err)) || (st = opt_model_size(p, o, err))) {
    free(o);
    return st;
  }
  const ykv_entry *mse = given(S, "optimize.max_steps");
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
      free(o);
      return st;
    }
    o->settings.max_steps = val_or(S, "optimize.max_steps", 0);
  }
  const ykv_entry *te = schedopt_ykv_get(&p->entries, "optimize.objective");
  if (!isnan(o->target) && o->model_size_max > 0) {
    st = fail(err, SCHEDOPT_EINVAL, te, 1, "optimize.objective: steps_to_target cannot be "
              "combined with optimize.model_size (one outer search at a time)");
    free(o);
    return st;
  }
  schedopt_optimizer_settings *set = &o->settings;
  const ykv_entry *ae = given(S, "optimize.algorithm"), *oe = given(S, "optimize.output");
  if (ae) {
    set->algorithm = schedopt_algorithm_find(ae->value);
    if (!set->algorithm) {
      strbuf b = {{0}, 0};
      suggest g = {ae->value, NULL, 0};
      char sg[128];
      for (size_t i = 0; schedopt_algorithms[i].name; i++) {
        sb_add(&b, schedopt_algorithms[i].name);
        sg_add(&g, schedopt_algorithms[i].name);
      }
      st = fail(err, SCHEDOPT_EINVAL, ae, 0, "optimize.algorithm: unknown algorithm '%.100s' "
                "(allowed: %s)%s", ae->value, b.s, sg_text(&g, sg, sizeof sg));
      free(o);
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
      free(o);
      return st;
    }
    if (n < A->min_dim || (A->max_dim && n > A->max_dim)) {
      st = fail(err, SCHEDOPT_EINVAL, ae, 0, "optimize.algorithm: %s needs %s%zu decision "
                "variable%s, this problem has %zu", A->name, A->max_dim ? "exactly " : "at least ",
                A->max_dim ? A->max_dim : A->min_dim,
                (A->max_dim ? A->max_dim : A->min_dim) == 1 ? "" : "s", n);
      free(o);
      return st;
    }
  }
  set->fd_gradient = val_or(S, "optimize.gradient", 0) == 1;
  set->ftol_rel = val_or(S, "optimize.ftol_rel", set->ftol_rel);
  set->xtol_rel = val_or(S, "optimize.xtol_rel", set->xtol_rel);
  set->maxeval = (long)val_or(S, "optimize.maxeval", (double)set->maxeval);
  set->maxtime = val_or(S, "optimize.maxtime", set->maxtime);
  set->starts = (size_t)val_or(S, "optimize.starts", (double)set->starts);
  set->seed = (unsigned long)val_or(S, "optimize.seed", (double)set->seed);
  set->precondition = (int)val_or(S, "optimize.precondition", (double)set->precondition);
  set->rescale_every = (long)val_or(S, "optimize.rescale_every", (double)set->rescale_every);
  set->continuation = (size_t)val_or(S, "optimize.continuation", (double)set->continuation);
  set->loose_rtol = val_or(S, "optimize.loose_rtol", set->loose_rtol);
  const ykv_entry *ce = given(S, "optimize.continuation");
  if (ce && set->continuation > 0 && set->continuation < SCHEDOPT_FREEFORM_MINKNOTS) {
    st = fail(err, SCHEDOPT_EINVAL, ce, 0,
              "optimize.continuation = %zu is out of range: must be 0 (off) or in [%d, 1024] "
              "(a free-form channel has at least %d knots)",
              set->continuation, SCHEDOPT_FREEFORM_MINKNOTS, SCHEDOPT_FREEFORM_MINKNOTS);
    free(o);
    return st;
  }
  if (oe) snprintf(o->output, sizeof o->output, "%s", oe->value);
  p->opt = o;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_problem_optimize_spec(const schedopt_problem *p,
                                               schedopt_optimize_spec *spec,
                                               schedopt_error *err) {
  if (!p || !spec)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_problem_optimize_spec: NULL");
  if (!p->built || !p->opt)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "schedopt_problem_optimize_spec: the problem is not built");
  *spec = *p->opt;
  return SCHEDOPT_OK;
}

/* --set rules of the section: a new param (or objective type) drops the file's
 * keys that only the old one has. */
static int opt_keep_key(const void *ctx, const char *k) {
  const char *const *const *lists = ctx;
  for (int i = 0; lists[i]; i++)
    if (opt_in(lists[i], k)) return 1;
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
    keep[0] = opt_ch_common;
    keep[1] = !strcmp(scalar, "family") ? opt_ch_family
              : !strcmp(scalar, "freeform") ? opt_ch_freeform : NULL;
    if (keep[1]) drop_file_keys(l, parent, opt_keep_key, keep);
  } else if (!strcmp(key, "optimize.objective.type")) {
    keep[0] = type_key;
    keep[1] = !strcmp(scalar, "mean") ? opt_obj_mean
              : !strcmp(scalar, "horizons") ? opt_obj_horizons
              : !strcmp(scalar, "steps_to_target") ? opt_obj_target : NULL;
    drop_file_keys(l, "optimize.objective", opt_keep_key, keep);
  }
}

/* A copy of built problem p with the --set overrides `sets` applied, built
 * (the outer searches of optimize: vary model.N or the budget this way). */
schedopt_status schedopt_opt_problem_variant(const schedopt_problem *p, const char *const *sets,
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

/* In schedopt_export_format order. */
static const char *const ex_formats[] = {"csv", "json", "pytorch", "megatron", "nanogpt", "hf",
                                         NULL};
static const char *const ex_keys[] = {"formats", "points", "peak_lr", "batch", "seq_len",
                                      "tolerance", "megatron_units", NULL};
static const char *const ex_units[] = {"auto", "iters", "samples", NULL};
static const char *const plot_keys[] = {"points", "title", NULL};

/* A number at e in the range, integral if asked. */
static schedopt_status ex_number(schedopt_error *err, const ykv_entry *e, double lo, double hi,
                                 int lo_open, int integer, const char *what, double *x) {
  schedopt_status st = get_number(err, e, e->path, x);
  if (!st) st = check_number(err, e, e->path, e->value, *x, lo, hi, lo_open, 0, integer, what);
  return st;
}

/* The keys of mapping `sec` must be in `allowed`. */
static schedopt_status ex_known_keys(const ykv_list *l, const char *sec,
                                     const char *const *allowed, schedopt_error *err) {
  const int depth = schedopt_ykv_depth(sec) + 1;
  for (size_t i = 0; i < l->n; i++) {
    const ykv_entry *c = &l->v[i];
    if (schedopt_ykv_is_under(c->path, sec) && schedopt_ykv_depth(c->path) == depth &&
        !opt_in(allowed, schedopt_ykv_leaf(c->path)))
      return opt_unknown(err, c, sec, allowed, NULL, NULL);
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
  opt_list_text(&names, NULL, ex_formats);
  if (e->kind == YKV_MAP || (e->kind == YKV_SCALAR && e->is_null)) {
    if ((st = ex_known_keys(l, "output.export", ex_keys, err))) return st;
    if (!(fe = schedopt_ykv_get(l, "output.export.formats")))
      return fail(err, SCHEDOPT_EINVAL, e, 1, "output.export: missing 'formats' (a list of %s)",
                  names.s);
  }
  if (fe->kind == YKV_SCALAR && !fe->is_null) {
    int f;
    if ((st = opt_choice(err, fe, fe->path, ex_formats, &f))) return st;
    x->export_formats |= 1u << f;
  } else if (fe->kind == YKV_SEQ && fe->n > 0) {
    for (size_t i = 0; i < fe->n; i++) {
      ykv_entry it = opt_item(fe, i);
      int f;
      if ((st = opt_choice(err, &it, fe->path, ex_formats, &f))) return st;
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
    if ((st = ex_number(err, c, 0, INF, 1, 0, "the exported learning rate's maximum", &v)))
      return st;
    x->peak_lr = v;
  }
  if ((c = schedopt_ykv_get(l, "output.export.batch"))) {
    if ((st = ex_number(err, c, 1, INF, 0, 0, "the trainer's batch size", &v))) return st;
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
      (st = opt_choice(err, c, c->path, ex_units, &x->megatron_units)))
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
    if (!parse_bool(e->value, &x->plot))
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
    if ((st = check_leaf(err, &title, c, &unused))) return st;
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

/* ======================================================================
 * sweep: — the cases of `schedopt sweep` (schema: docs/yaml.md, "sweep")
 * ====================================================================== */

void schedopt_problem_sweep_free(problem_sweep *sw) {
  if (!sw) return;
  free(sw->x);
  free(sw->text);
  memset(sw, 0, sizeof *sw);
}

static schedopt_status sweep_alloc_values(problem_sweep *sw, size_t n, schedopt_error *err) {
  sw->x = calloc(n, sizeof *sw->x);
  sw->text = calloc(n, sizeof *sw->text);
  if (!sw->x || !sw->text) {
    schedopt_problem_sweep_free(sw);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  sw->n = n;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_problem_sweep_read(const schedopt_problem *p, problem_sweep *sw, int *present,
                                   schedopt_error *err) {
  memset(sw, 0, sizeof *sw);
  *present = 0;
  const ykv_entry *se = schedopt_ykv_get(&p->entries, "sweep");
  if (!se) return SCHEDOPT_OK;
  *present = 1;
  settings S;
  schedopt_status st = validate_entries(p, &S, err);
  if (st) return st;
  const ykv_entry *key = given(&S, "sweep.key"), *values = given(&S, "sweep.values"),
                  *from = given(&S, "sweep.from"), *to = given(&S, "sweep.to"),
                  *points = given(&S, "sweep.points"), *spacing = given(&S, "sweep.spacing");
  if (!key)
    return fail(err, SCHEDOPT_EINVAL, se, 1, "sweep: missing 'key' (the problem key to vary, "
                "e.g. budget.steps)");
  const char *k = key->value;
  if (!strncmp(k, "sweep", 5) && (!k[5] || k[5] == '.'))
    return fail(err, SCHEDOPT_EINVAL, key, 0, "sweep.key: cannot sweep the sweep: section "
                "itself");
  if (strlen(k) >= sizeof sw->key)
    return fail(err, SCHEDOPT_EINVAL, key, 0, "sweep.key: longer than %zu characters",
                sizeof sw->key - 1);
  if (values && (from || to || points || spacing))
    return fail(err, SCHEDOPT_EINVAL, values, 1, "sweep: give either 'values' or 'from', 'to' "
                "and 'points', not both");
  if (!values && !(from && to && points))
    return fail(err, SCHEDOPT_EINVAL, se, 1, "sweep: missing 'values' (a list) or 'from', 'to' "
                "and 'points'");
  const int round_it = given(&S, "sweep.round")
                           ? (int)val_or(&S, "sweep.round", 0)
                           : !strcmp(k, "budget.steps") || !strcmp(k, "model.N") ||
                                 !strcmp(k, "model.M");
  if (values) {
    if (values->n == 0)
      return fail(err, SCHEDOPT_EINVAL, values, 0, "sweep.values: expected a non-empty list of "
                  "numbers");
    if (values->n > SCHEDOPT_SWEEP_MAXCASES)
      return fail(err, SCHEDOPT_EINVAL, values, 0, "sweep.values: %zu values (at most %d)",
                  values->n, SCHEDOPT_SWEEP_MAXCASES);
    if ((st = sweep_alloc_values(sw, values->n, err))) return st;
    for (size_t i = 0; i < values->n; i++) {
      double x = 0;
      if (parse_number(values->items[i], &x) || !(x > 0) ||
          strlen(values->items[i]) >= sizeof sw->text[i]) {
        ykv_entry it = opt_item(values, i);
        schedopt_problem_sweep_free(sw);
        return fail(err, SCHEDOPT_EINVAL, &it, 0, "sweep.values[%zu]: expected a positive "
                    "number, got '%.60s'", i, values->items[i]);
      }
      if (round_it && x != floor(x)) {
        x = floor(x + 0.5);
        snprintf(sw->text[i], sizeof sw->text[i], "%.0f", x);
      } else {
        snprintf(sw->text[i], sizeof sw->text[i], "%s", values->items[i]);
      }
      sw->x[i] = x;
    }
  } else {
    const double a = val_or(&S, "sweep.from", 0), b = val_or(&S, "sweep.to", 0);
    const int logsp = val_or(&S, "sweep.spacing", 0) == 0;
    const size_t n = (size_t)val_or(&S, "sweep.points", 2);
    if (!(b > a))
      return fail(err, SCHEDOPT_EINVAL, from, 0, "sweep: need 0 < from < to (got from = %g, "
                  "to = %g)", a, b);
    if ((st = sweep_alloc_values(sw, n, err))) return st;
    for (size_t i = 0; i < n; i++) {
      const double f = (double)i / (double)(n - 1);
      double x = i == 0 ? a : i == n - 1 ? b
                 : logsp ? exp(log(a) + f * (log(b) - log(a))) : a + f * (b - a);
      if (round_it) x = floor(x + 0.5);
      sw->x[i] = x;
      snprintf(sw->text[i], sizeof sw->text[i], round_it ? "%.0f" : "%.15g", x);
    }
  }
  for (size_t i = 1; i < sw->n; i++)
    for (size_t j = 0; j < i; j++)
      if (sw->x[i] == sw->x[j]) {
        const double v = sw->x[i];
        schedopt_problem_sweep_free(sw);
        return fail(err, SCHEDOPT_EINVAL, values ? values : points, 0, "sweep: the value %g "
                    "appears twice (cases %zu and %zu)", v, j, i);
      }
  snprintf(sw->key, sizeof sw->key, "%s", k);
  return SCHEDOPT_OK;
}
