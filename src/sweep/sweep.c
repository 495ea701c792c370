/* sweep.c — a problem's optimization over a list of horizons or budgets:
 * reading the sweep: section, one problem per case, the runs, the log-log
 * fits.  Reports and shard files: sweep_io.c. */
#define _POSIX_C_SOURCE 200809L
#include "sweep/sweep_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "schedopt/optimize.h"
#include "schedopt/problem.h"
#include "problem/problem_impl.h"

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

/* "sweep=..." or "sweep.<key>=...": an override of the sweep itself. */
static int is_sweep_set(const char *set) {
  return !strncmp(set, "sweep", 5) && (set[5] == '=' || set[5] == '.');
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
  for (size_t i = 0; i < s->nsets; i++) /* not the sweep's own: fp_sweep has the cases */
    if (!is_sweep_set(s->sets[i])) h = fnv(h, s->sets[i], strlen(s->sets[i]) + 1);
  snprintf(s->fp_problem, sizeof s->fp_problem, "%016llx", (unsigned long long)h);
  h = 1469598103934665603ull;
  h = fnv(h, s->key, strlen(s->key) + 1);
  for (size_t i = 0; i < s->n; i++) h = fnv(h, s->cases[i].value, strlen(s->cases[i].value) + 1);
  snprintf(s->fp_sweep, sizeof s->fp_sweep, "%016llx", (unsigned long long)h);
}

/* ---- life cycle ------------------------------------------------------------------ */

schedopt_status schedopt_sweep_alloc(schedopt_sweep **out, size_t n, schedopt_error *err) {
  schedopt_sweep *s = calloc(1, sizeof *s);
  if (s) s->cases = calloc(n ? n : 1, sizeof *s->cases);
  if (!s || !s->cases) {
    free(s);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  s->n = n;
  s->shard_k = s->shard_n = 1;
  for (size_t i = 0; i < n; i++) {
    s->cases[i].index = i;
    s->cases[i].model_size = NAN;
    s->cases[i].bias = s->cases[i].variance = NAN;
  }
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
void schedopt_sweep_get_extras(const schedopt_sweep *s, schedopt_problem_extras *x) {
  if (s)
    *x = s->extras;
  else
    memset(x, 0, sizeof *x);
}
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

/* ---- reading the sweep: section ------------------------------------------------ */

/* The problem of case i (the file, every override, then key = value),
 * built, and its optimize: section. */
schedopt_status schedopt_sweep_build_case(const schedopt_sweep *s, size_t i, schedopt_problem **out,
                                 schedopt_optimize_spec *spec, schedopt_error *err) {
  schedopt_problem *p = NULL;
  schedopt_status st = schedopt_problem_alloc(&p, err);
  if (st) return st;
  char set[256];
  snprintf(set, sizeof set, "%s=%s", s->key, s->cases[i].value);
  if ((st = schedopt_problem_load_text(p, s->text, s->len, s->source, err))) goto done;
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

/* The sweep: section of the file with the overrides applied (the problem
 * reader checks it, with locations). */
static schedopt_status read_spec(schedopt_sweep **out, const char *text, size_t len,
                                 const char *path, const char *const *sets, size_t nsets,
                                 schedopt_error *err) {
  schedopt_problem *p = NULL;
  sweep_spec sw;
  int present = 0;
  memset(&sw, 0, sizeof sw);
  schedopt_status st = schedopt_problem_alloc(&p, err);
  if (!st) st = schedopt_problem_load_text(p, text, len, path, err);
  for (size_t k = 0; k < nsets && !st; k++) st = schedopt_problem_set(p, sets[k], err);
  if (!st) st = schedopt_sweep_spec_read(p, &sw, &present, err);
  if (!st && !present)
    st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "%s: error: no sweep: section (e.g. sweep: {key: budget.steps, "
                            "values: [1e3, 1e4, 1e5]}; docs/yaml.md)",
                            path);
  schedopt_sweep *s = NULL;
  if (!st) st = schedopt_sweep_alloc(&s, sw.n, err);
  if (!st) {
    snprintf(s->key, sizeof s->key, "%s", sw.key);
    for (size_t i = 0; i < sw.n; i++) {
      s->cases[i].x = sw.x[i];
      snprintf(s->cases[i].value, sizeof s->cases[i].value, "%s", sw.text[i]);
    }
    *out = s;
  }
  schedopt_sweep_spec_free(&sw);
  schedopt_problem_free(p);
  return st;
}

schedopt_status schedopt_sweep_load_file(schedopt_sweep **out, const char *path,
                                         const char *const *sets, size_t nsets,
                                         schedopt_error *err) {
  if (!out || !path || (nsets && !sets))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_load_file: NULL");
  *out = NULL;
  char *text = NULL;
  size_t len = 0;
  schedopt_status st = schedopt_ykv_read_file(path, &text, &len, err);
  if (st) return st;
  schedopt_sweep *s = NULL;
  schedopt_problem *p = NULL;
  schedopt_optimize_spec *spec = NULL;
  for (size_t k = 0; k < nsets; k++) { /* is_sweep_set and the fingerprints need the keys */
    char key[512];
    if ((st = schedopt_ykv_set_key(sets[k], "model.b=2", key, sizeof key, err))) goto done;
  }
  if ((st = read_spec(&s, text, len, path, sets, nsets, err))) goto done;
  s->text = text;
  s->len = len;
  text = NULL;
  s->source = malloc(strlen(path) + 1);
  s->sets = calloc(nsets ? nsets : 1, sizeof *s->sets);
  if (!s->source || !s->sets) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  strcpy(s->source, path);
  for (size_t k = 0; k < nsets; k++) {
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
    if ((st = schedopt_sweep_build_case(s, i, &p, spec, err))) goto done;
    if (i == 0) {
      snprintf(s->name, sizeof s->name, "%s", schedopt_problem_name(p));
      schedopt_problem_get_extras(p, &s->extras);
      s->extras.export_loc = NULL;
      if (s->extras.plot_title) {
        snprintf(s->title, sizeof s->title, "%s", s->extras.plot_title);
        s->extras.plot_title = s->title;
      }
    }
    schedopt_problem_exponents(p, &s->cases[i].a, &s->cases[i].b, NULL, NULL);
    s->cases[i].sigma2 = schedopt_problem_sigma2(p);
    schedopt_problem_free(p);
    p = NULL;
  }
done:
  free(spec);
  free(text);
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

void schedopt_sweep_set_progress(schedopt_sweep *s, schedopt_progress_fn fn, void *ctx) {
  if (!s) return;
  s->progress = fn;
  s->progress_ctx = ctx;
}

/* The case's optimization reports to the sweep's callback, its stage
 * prefixed with the case. */
typedef struct case_progress {
  const schedopt_sweep *s;
  size_t i;
} case_progress;

static int on_case_progress(void *ctx, const char *stage, long evals, double best,
                            double seconds) {
  const case_progress *cp = ctx;
  char buf[256];
  snprintf(buf, sizeof buf, "case %zu %s=%s: %s", cp->i, cp->s->key, cp->s->cases[cp->i].value,
           stage ? stage : "");
  return cp->s->progress(cp->s->progress_ctx, buf, evals, best, seconds);
}

schedopt_status schedopt_sweep_run_case(schedopt_sweep *s, size_t i, schedopt_error *err) {
  if (!s || i >= s->n || !s->text)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_run_case: no such case");
  schedopt_sweep_case *c = &s->cases[i];
  case_progress cp = {s, i};
  const double t0 = now();
  sweep_clock clock0;
  schedopt_sweep_clock_start(&clock0);
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
  c->model_size = NAN;
  c->bias = c->variance = NAN;
  if (!st) st = schedopt_sweep_build_case(s, i, &p, spec, err);
  if (!st) {
    schedopt_problem_exponents(p, &c->a, &c->b, NULL, NULL);
    c->sigma2 = schedopt_problem_sigma2(p);
    spec->settings.progress = s->progress ? on_case_progress : NULL;
    spec->settings.progress_ctx = &cp;
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
    /* the optimum's final excess in its parts (a model with a split) */
    schedopt_optimization_final_split(o, &c->bias, &c->variance, NULL);
    /* a compute budget's model-size search: the chosen N* (the case's problem) */
    c->model_size = schedopt_optimization_outer(o, NULL, NULL, NULL, NULL, NULL) == 1
                        ? (double)schedopt_problem_modes(schedopt_optimization_problem(o))
                        : NAN;
    /* η*(t/T) of the optimum, for the figure that overlays the horizons */
    const schedopt_schedule *so = schedopt_optimization_schedule(o);
    const schedopt_control *lr = so ? schedopt_schedule_get(so, SCHEDOPT_LR) : NULL;
    c->horizon = so ? schedopt_schedule_horizon(so) : NAN;
    for (size_t k = 0; k < SCHEDOPT_SWEEP_PROFILE; k++)
      c->lr_profile[k] = lr ? schedopt_control_eval(lr, c->horizon,
                                                    c->horizon * (double)k /
                                                        (SCHEDOPT_SWEEP_PROFILE - 1), NULL)
                            : NAN;
  }
  c->status = st;
  if (st) snprintf(c->message, sizeof c->message, "%s", err ? err->msg : "failed");
  c->done = 1;
  c->seconds = now() - t0;
  schedopt_sweep_clock_stop(c, o, &clock0);
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  free(spec);
  return st;
}

/* ---- slopes ---------------------------------------------------------------------- */

/* docs/theory.md §3: L_T − σ² ∝ T^−ζ at a fixed batch, ζ = (a−1)/(a+b−1) for the
 * tuned constant and (a−1)/a (easy, b < a) or (a−1)/b (hard) for the optimum;
 * a data budget D = B·T has the same ζ in D (FSL Table 1, data columns).
 * §3a: with L(N, D) ≈ N^−(a−1) + D^−ζ and C = N·D, the two terms balance at
 * D ∝ N^((a−1)/ζ), so N* ∝ C^ν with ν = ζ/(ζ + a − 1) and L* − σ² ∝ C^−(a−1)ν:
 * for the optimum ν = 1/(a+1), (a−1)/(a+1) (easy) and ν = 1/(b+1), (a−1)/(b+1)
 * (hard) — FSL Table 1's compute columns sβ/(2+sβ), sβ/(1+β). */
/* No law: every exponent NAN, why says so. */
static void law_none(schedopt_sweep_law *law, const char *why) {
  memset(law, 0, sizeof *law);
  law->kind = SCHEDOPT_SWEEP_LAW_NONE;
  law->name = "none";
  law->optimum = law->constant = law->size = NAN;
  law->wsd = law->exponential = law->log_wsd = law->log_exponential = NAN;
  law->bias = law->variance = NAN;
  law->why = why;
}

schedopt_status schedopt_sweep_law_get(const char *key, int size_searched, double a, double b,
                                       schedopt_sweep_law *law, schedopt_error *err) {
  if (!law) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_law_get: NULL");
  law_none(law, NULL);
  if (!key)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_law_get: no key");
  if (!(a > 1) || !(b > 1) || !isfinite(a) || !isfinite(b)) {
    law->why = "the exponents a and b must be finite and > 1";
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "sweep law: a = %g, b = %g: both must be finite and > 1", a, b);
  }
  const int easy = b < a;
  law->phase = easy ? "easy" : b > a ? "hard" : "boundary";
  const double zc = (a - 1) / (a + b - 1), zo = easy ? (a - 1) / a : (a - 1) / b;
  const char *ro = easy ? "(a-1)/a, optimal schedule, easy phase"
                        : "(a-1)/b, optimal schedule, hard phase";
  const int steps = !strcmp(key, "budget.steps"), compute = !strcmp(key, "budget.compute");
  const int data = !strcmp(key, "budget.samples") || !strcmp(key, "budget.tokens");
  if (compute && size_searched) {
    law->kind = SCHEDOPT_SWEEP_LAW_COMPUTE;
    law->name = "compute";
    law->variable = "C";
    law->optimum = easy ? (a - 1) / (a + 1) : (a - 1) / (b + 1);
    law->optimum_rule = easy ? "(a-1)/(a+1) = s*beta/(2+s*beta), compute-optimal, easy phase"
                             : "(a-1)/(b+1) = s*beta/(1+beta), compute-optimal, hard phase";
    law->size = easy ? 1 / (a + 1) : 1 / (b + 1);
    law->size_rule = easy ? "1/(a+1), compute-optimal N*, easy phase"
                          : "1/(b+1), compute-optimal N*, hard phase";
    law->why = "baselines are tuned at the optimum's N*, not at their own compute-optimal "
               "size: no law for them";
    return SCHEDOPT_OK;
  }
  if (steps || data || compute) {
    law->kind = steps ? SCHEDOPT_SWEEP_LAW_HORIZON : SCHEDOPT_SWEEP_LAW_DATA;
    law->name = steps ? "horizon" : "data";
    law->variable = steps ? "T" : "D";
    law->optimum = zo;
    law->optimum_rule = ro;
    law->constant = zc;
    law->constant_rule = "(a-1)/(a+b-1), best constant";
    /* FSL Table 1, data columns, in s = (a−1)/b, β = b: WSD D^−sβ/(1+sβ)
     * (log D)^((sβ−s)/(1+sβ)) easy, D^−s hard; exponential decay the same
     * exponents with (log D)^(sβ/(1+sβ)) easy, (log D)^s hard */
    law->wsd = law->exponential = zo;
    law->bias = zo;
    law->variance = easy ? zo : (b - 1) * (a + b - 1) / (b * (2 * b - 1));
    law->bias_rule = easy ? "(a-1)/a, the optimum's bias, easy phase (as its variance)"
                          : "(a-1)/b, the optimum's bias, hard phase";
    law->variance_rule = easy ? "(a-1)/a, the optimum's variance, easy phase (as its bias)"
                              : "(b-1)(a+b-1)/(b(2b-1)), the optimum's variance, hard phase "
                                "(an anneal of S ~ T^((a+b-1)/(2b-1)) steps)";
    law->log_wsd = easy ? (a - 1) * (1 - 1 / b) / a : 0;
    law->log_exponential = easy ? (a - 1) / a : (a - 1) / b;
    law->wsd_rule = easy ? "(a-1)/a = s*beta/(1+s*beta), FSL Table 1 WSD, easy phase, "
                           "times (log x)^((s*beta-s)/(1+s*beta))"
                         : "(a-1)/b = s, FSL Table 1 WSD, hard phase";
    law->exponential_rule = easy ? "(a-1)/a = s*beta/(1+s*beta), FSL Table 1 exp-decay, easy "
                                   "phase, times (log x)^(s*beta/(1+s*beta))"
                                 : "(a-1)/b = s, FSL Table 1 exp-decay, hard phase, times "
                                   "(log x)^s";
    law->why = steps ? NULL
               : compute ? "the model size is fixed (no optimize.model_size): D = C/N, the "
                           "data law at a fixed batch, until the approximation error N^(1-a) "
                           "dominates"
                         : "at a fixed batch (D = B*T); a batch schedule is not covered";
    return SCHEDOPT_OK;
  }
  law->why = "no scaling law is derived for this key (docs/theory.md has them for "
             "budget.steps, budget.samples, budget.tokens and budget.compute)";
  return SCHEDOPT_OK;
}

void schedopt_sweep_get_law(const schedopt_sweep *s, schedopt_sweep_law *law) {
  const schedopt_sweep_case *ref = NULL;
  for (size_t i = 0; s && i < s->n && !ref; i++)
    if (s->cases[i].done && !s->cases[i].status) ref = &s->cases[i];
  if (!ref) {
    law_none(law, "no case has run successfully");
    return;
  }
  schedopt_sweep_law_get(s->key, isfinite(ref->model_size), ref->a, ref->b, law, NULL);
}

int schedopt_sweep_size_slope(const schedopt_sweep *s, schedopt_sweep_slope *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "N*");
  out->slope = out->intercept = out->theory = NAN;
  if (!s || !s->n) return 0;
  double *x = malloc(s->n * sizeof *x), *y = malloc(s->n * sizeof *y);
  size_t m = 0;
  for (size_t i = 0; x && y && i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done || c->status || !isfinite(c->model_size)) continue;
    x[m] = c->x;
    y[m++] = c->model_size;
  }
  if (m) {
    out->slope = -schedopt_loglog_slope(x, y, m, &out->intercept, &out->points);
    schedopt_sweep_law law;
    schedopt_sweep_get_law(s, &law);
    out->theory = law.size;
    out->theory_rule = law.size_rule;
  }
  free(x);
  free(y);
  return m > 0;
}

int schedopt_sweep_case_value(const schedopt_sweep_case *c, const char *name, double *excess) {
  if (!c || !name) return 0;
  double v = NAN;
  if (!strcmp(name, "optimum bias"))
    v = c->bias;
  else if (!strcmp(name, "optimum variance"))
    v = c->variance;
  else
    for (size_t j = 0; j < c->nres; j++)
      if (!strcmp(c->res[j].name, name)) {
        v = c->res[j].excess;
        break;
      }
  if (excess) *excess = v;
  return !isnan(v);
}

void schedopt_sweep_slopes(const schedopt_sweep *s, schedopt_sweep_slope *out, size_t *n) {
  *n = 0;
  if (!s) return;
  const schedopt_sweep_case *ref = NULL;
  for (size_t i = 0; i < s->n && !ref; i++)
    if (s->cases[i].done && !s->cases[i].status) ref = &s->cases[i];
  if (!ref) return;
  schedopt_sweep_law law;
  schedopt_sweep_get_law(s, &law);
  /* schedule names in order of first appearance, then the optimum's parts */
  double *x = malloc((s->n ? s->n : 1) * sizeof *x), *y = malloc((s->n ? s->n : 1) * sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return;
  }
  int split = 0;
  for (size_t i = 0; i < s->n; i++) {
    const schedopt_sweep_case *c = &s->cases[i];
    if (!c->done || c->status) continue;
    if (isfinite(c->bias)) split = 1;
    for (size_t j = 0; j < c->nres; j++) {
      size_t k = 0;
      while (k < *n && strcmp(out[k].name, c->res[j].name)) k++;
      if (k < *n || *n == SCHEDOPT_SWEEP_MAXSCHED) continue;
      schedopt_sweep_slope *sl = &out[(*n)++];
      memset(sl, 0, sizeof *sl);
      snprintf(sl->name, sizeof sl->name, "%s", c->res[j].name);
    }
  }
  if (split)
    for (int k = 0; k < 2; k++) {
      schedopt_sweep_slope *sl = &out[(*n)++];
      memset(sl, 0, sizeof *sl);
      snprintf(sl->name, sizeof sl->name, k ? "optimum variance" : "optimum bias");
    }
  /* each slope's law, by name */
  const struct {
    const char *name, *rule;
    double zeta;
  } th[] = {{"optimum", law.optimum_rule, law.optimum},
            {"constant", law.constant_rule, law.constant},
            {"wsd", law.wsd_rule, law.wsd},
            {"exponential", law.exponential_rule, law.exponential},
            {"optimum bias", law.bias_rule, law.bias},
            {"optimum variance", law.variance_rule, law.variance}};
  for (size_t k = 0; k < *n; k++) {
    schedopt_sweep_slope *sl = &out[k];
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
      const schedopt_sweep_case *c = &s->cases[i];
      if (c->done && !c->status && schedopt_sweep_case_value(c, sl->name, &y[m])) x[m++] = c->x;
    }
    sl->slope = schedopt_loglog_slope(x, y, m, &sl->intercept, &sl->points);
    sl->theory = NAN;
    sl->theory_rule = NULL;
    for (size_t t = 0; t < sizeof th / sizeof *th; t++)
      if (!strcmp(sl->name, th[t].name)) {
        sl->theory = th[t].zeta;
        sl->theory_rule = th[t].rule;
      }
  }
  free(x);
  free(y);
}
