/* fit.c — surrogate fits with NLopt: Huber loss on log residuals, box
 * bounds (log scale for positive scales), data-driven and perturbed starts,
 * metrics and a block-bootstrap band.  The definitions are in
 * schedopt/fit.h. */
#define _POSIX_C_SOURCE 200809L
#include "schedopt/fit.h"

#include <math.h>
#include <nlopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#define MAXP SCHEDOPT_SURROGATE_MAXP

typedef struct fcurve {
  const schedopt_losscurve *c;
  schedopt_curve_role role;
  double start, end;
  size_t n;          /* logged points */
  int *scored;       /* n flags */
  size_t *pout;      /* steps of the points with T > 0 (predicted) */
  size_t *pidx;      /* their point indices */
  size_t np;
  size_t *fout;      /* fitted points (thinned): steps, and positions in pout */
  size_t nf;
  double *flog;      /* log observed loss at the fitted points */
  double *wt;        /* their weights (1, or bootstrap counts) */
  double *T;         /* intrinsic time of every step (cache) */
  double *pred, *lo, *hi;
  schedopt_fit_metrics m, mraw;
} fcurve;

struct schedopt_fit {
  const schedopt_surrogate_type *type;
  fcurve *cv;
  size_t ncv, cap;
  double lo[MAXP], hi[MAXP], start[MAXP], fixval[MAXP];
  int has_start[MAXP], fixed[MAXP];
  double theta[MAXP], sd[MAXP];
  double *boot; /* bootstrap parameter sets, nboot × nparams */
  int have_sd, scored;
  int at_bound[MAXP]; /* −1 / +1: the best point on the lower / upper bound of its box */
  double objective, seconds, cpu, spread;
  size_t npoints;
  int starts, best_start, nboot;
  long evals;
  schedopt_fit_progress_fn progress;
  void *progress_ctx;
};

/* ---------------------------------------------------------------- metrics */

void schedopt_fit_metrics_compute(const double *obs, const double *pred, size_t n,
                                  schedopt_fit_metrics *m) {
  memset(m, 0, sizeof *m);
  m->n = n;
  if (!n) {
    m->r2 = m->mae = m->rmse = m->prede = m->worste = NAN;
    return;
  }
  double sa = 0, s2 = 0, sp = 0, wp = 0, mean = 0, ss = 0;
  for (size_t i = 0; i < n; i++) mean += obs[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++) {
    double r = pred[i] - obs[i], rel = fabs(r) / obs[i];
    sa += fabs(r);
    s2 += r * r;
    sp += rel;
    if (rel > wp) wp = rel;
    ss += (obs[i] - mean) * (obs[i] - mean);
  }
  m->mae = sa / (double)n;
  m->rmse = sqrt(s2 / (double)n);
  m->prede = sp / (double)n;
  m->worste = wp;
  m->r2 = ss > 0 ? 1 - s2 / ss : NAN;
}

/* ---------------------------------------------------------------- options */

static const char *const alg_names[] = {"lbfgs", "mma", "bobyqa", "neldermead"};

const char *schedopt_fit_algorithm_name(schedopt_fit_algorithm a) {
  return (unsigned)a < 4 ? alg_names[a] : "unknown";
}

int schedopt_fit_algorithm_find(const char *name) {
  for (int i = 0; name && i < 4; i++)
    if (!strcmp(alg_names[i], name)) return i;
  return -1;
}

void schedopt_fit_options_default(schedopt_fit_options *o) {
  memset(o, 0, sizeof *o);
  o->huber_delta = 1e-3;
  o->starts = 8;
  o->seed = 1;
  o->algorithm = SCHEDOPT_FIT_LBFGS;
  o->maxeval = 3000;
  o->ftol_rel = 1e-10;
  o->xtol_rel = 1e-8;
  o->max_points = 1000;
  o->bootstrap = 0;
  o->segments = 10;
  o->level = 0.9;
  o->method = SCHEDOPT_SURROGATE_FAST;
  o->tol = 1e-9;
}

static schedopt_status check_options(const schedopt_fit_options *o, schedopt_error *err) {
  if (!(o->huber_delta > 0) || !isfinite(o->huber_delta))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: huber_delta = %g must be > 0",
                              o->huber_delta);
  if (o->starts < 1 || o->starts > 10000)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: starts = %d must be in [1, 10000]",
                              o->starts);
  if ((unsigned)o->algorithm > 3)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: unknown algorithm %d", o->algorithm);
  if (o->maxeval < 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: maxeval = %d must be >= 1", o->maxeval);
  if (o->bootstrap < 0 || o->bootstrap > 100000 || (o->bootstrap && o->segments < 2))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fit: bootstrap = %d must be in [0, 100000] with segments >= 2",
                              o->bootstrap);
  if (!(o->level > 0 && o->level < 1))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: level = %g must be in (0, 1)",
                              o->level);
  if (!(o->tol >= 1e-14 && o->tol <= 1e-3))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: tol = %g must be in [1e-14, 1e-3]",
                              o->tol);
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------------------ setup */

schedopt_status schedopt_fit_alloc(schedopt_fit **out, const schedopt_surrogate_type *T,
                                   schedopt_error *err) {
  if (!out || !T) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_alloc: NULL argument");
  if (T->nparams > MAXP)
    return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: too many parameters", T->name);
  schedopt_fit *f = calloc(1, sizeof *f);
  if (!f) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  f->type = T;
  for (size_t i = 0; i < T->nparams; i++) {
    f->lo[i] = T->params[i].fit_lo;
    f->hi[i] = T->params[i].fit_hi;
    f->theta[i] = T->params[i].def;
  }
  *out = f;
  return SCHEDOPT_OK;
}

static void fcurve_free(fcurve *c) {
  free(c->T);
  free(c->scored);
  free(c->pout);
  free(c->pidx);
  free(c->fout);
  free(c->flog);
  free(c->wt);
  free(c->pred);
  free(c->lo);
  free(c->hi);
}

void schedopt_fit_free(schedopt_fit *f) {
  if (!f) return;
  for (size_t i = 0; i < f->ncv; i++) fcurve_free(&f->cv[i]);
  free(f->cv);
  free(f->boot);
  free(f);
}

const schedopt_surrogate_type *schedopt_fit_type(const schedopt_fit *f) {
  return f ? f->type : NULL;
}

schedopt_status schedopt_fit_add_curve(schedopt_fit *f, const schedopt_losscurve *c,
                                       schedopt_curve_role role, double start_step,
                                       double end_step, schedopt_error *err) {
  if (!f || !c) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_add_curve: NULL argument");
  const char *name = schedopt_losscurve_name(c);
  size_t K;
  const double *eta = schedopt_losscurve_lr(c, &K);
  if (!eta)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: no per-step schedule (a sparse log needs a schedule)", name);
  if (f->ncv == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 8;
    fcurve *nc = realloc(f->cv, cap * sizeof *nc);
    if (!nc) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    f->cv = nc;
    f->cap = cap;
  }
  fcurve *fc = &f->cv[f->ncv];
  memset(fc, 0, sizeof *fc);
  fc->c = c;
  fc->role = role;
  fc->start = isnan(start_step) ? schedopt_losscurve_warmup(c) : start_step;
  fc->end = isnan(end_step) ? INFINITY : end_step;
  size_t n = schedopt_losscurve_npoints(c);
  const double *st = schedopt_losscurve_steps(c);
  fc->n = n;
  fc->scored = calloc(n, sizeof *fc->scored);
  fc->pout = malloc(n * sizeof *fc->pout);
  fc->pidx = malloc(n * sizeof *fc->pidx);
  fc->pred = malloc(n * sizeof *fc->pred);
  fc->T = malloc(K * sizeof *fc->T);
  if (!fc->scored || !fc->pout || !fc->pidx || !fc->pred || !fc->T) {
    fcurve_free(fc);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  double s0 = 0, comp = 0; /* compensated prefix sums, as the surrogates do */
  for (size_t k = 0; k < K; k++) {
    double y = eta[k] - comp, t = s0 + y;
    comp = (t - s0) - y;
    s0 = t;
    fc->T[k] = s0;
  }
  size_t nscored = 0;
  for (size_t i = 0; i < n; i++) {
    size_t s = (size_t)st[i];
    if (s >= K) {
      fcurve_free(fc);
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: step %zu is past the end of its schedule (%zu steps)",
                                name, s, K);
    }
    fc->pred[i] = NAN;
    if (!(fc->T[s] > 0)) continue;
    fc->pout[fc->np] = s;
    fc->pidx[fc->np++] = i;
    if (st[i] >= fc->start && st[i] <= fc->end) {
      fc->scored[i] = 1;
      nscored++;
    }
  }
  if (!nscored) {
    fcurve_free(fc);
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: no logged point between step %g and %g (with a nonzero "
                              "learning rate before it) to %s",
                              name, start_step, end_step,
                              role == SCHEDOPT_CURVE_FIT ? "fit" : "score");
  }
  f->ncv++;
  return SCHEDOPT_OK;
}

static int pindex(const schedopt_fit *f, const char *name) {
  for (size_t i = 0; i < f->type->nparams; i++)
    if (!strcmp(f->type->params[i].name, name)) return (int)i;
  return -1;
}

static schedopt_status find_param(const schedopt_fit *f, const char *name, int *i,
                                  schedopt_error *err) {
  if (!f || !name) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: NULL argument");
  *i = pindex(f, name);
  if (*i < 0) {
    char list[256] = "";
    size_t len = 0;
    for (size_t k = 0; k < f->type->nparams && len < sizeof list; k++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                              f->type->params[k].name);
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: unknown parameter '%s' (allowed: %s)",
                              f->type->name, name, list);
  }
  return SCHEDOPT_OK;
}

static schedopt_status in_valid(const schedopt_fit *f, int i, double v, const char *what,
                                schedopt_error *err) {
  const schedopt_surrogate_param *p = &f->type->params[i];
  if (!isfinite(v) || v < p->lo || v > p->hi || (p->log_scale && !(v > 0)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: %s of %s = %g is out of range: must be in [%g, %g]%s",
                              f->type->name, what, p->name, v, p->lo, p->hi,
                              p->log_scale ? " and > 0" : "");
  return SCHEDOPT_OK;
}

schedopt_status schedopt_fit_set_bounds(schedopt_fit *f, const char *name, double lo,
                                        double hi, schedopt_error *err) {
  int i;
  schedopt_status st;
  if ((st = find_param(f, name, &i, err)) || (st = in_valid(f, i, lo, "lower bound", err)) ||
      (st = in_valid(f, i, hi, "upper bound", err)))
    return st;
  if (!(lo < hi))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: bounds of %s: lower %g must be below upper %g",
                              f->type->name, name, lo, hi);
  f->lo[i] = lo;
  f->hi[i] = hi;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_fit_set_start(schedopt_fit *f, const char *name, double value,
                                       schedopt_error *err) {
  int i;
  schedopt_status st;
  if ((st = find_param(f, name, &i, err)) || (st = in_valid(f, i, value, "start", err)))
    return st;
  f->start[i] = value;
  f->has_start[i] = 1;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_fit_fix(schedopt_fit *f, const char *name, double value,
                                 schedopt_error *err) {
  int i;
  schedopt_status st;
  if ((st = find_param(f, name, &i, err)) || (st = in_valid(f, i, value, "fixed value", err)))
    return st;
  f->fixed[i] = 1;
  f->fixval[i] = value;
  return SCHEDOPT_OK;
}

/* Thin the scored points of every fit curve to at most max_points. */
static schedopt_status select_points(schedopt_fit *f, size_t max_points, schedopt_error *err) {
  f->npoints = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    free(c->fout), free(c->flog), free(c->wt);
    c->fout = NULL, c->flog = NULL, c->wt = NULL, c->nf = 0;
    if (c->role != SCHEDOPT_CURVE_FIT) continue;
    size_t ns = 0;
    for (size_t p = 0; p < c->np; p++) ns += c->scored[c->pidx[p]];
    /* every stride-th scored point: equal gaps where the log is regular (so
     * the fast evaluation reuses its decay factors) */
    size_t stride = max_points && ns > max_points ? (ns + max_points - 1) / max_points : 1;
    size_t take = (ns + stride - 1) / stride;
    c->fout = malloc(take * sizeof *c->fout);
    c->flog = malloc(take * sizeof *c->flog);
    c->wt = malloc(take * sizeof *c->wt);
    if (!c->fout || !c->flog || !c->wt) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    const double *loss = schedopt_losscurve_loss(c->c);
    size_t r = 0;
    for (size_t p = 0; p < c->np && c->nf < take; p++) {
      if (!c->scored[c->pidx[p]]) continue;
      if (r++ % stride) continue;
      c->fout[c->nf] = p;
      c->flog[c->nf] = log(loss[c->pidx[p]]);
      c->wt[c->nf] = 1;
      c->nf++;
    }
    f->npoints += c->nf;
  }
  if (!f->npoints)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: no curve with role 'fit'");
  return SCHEDOPT_OK;
}

/* -------------------------------------------------------------- objective */

typedef struct objctx {
  schedopt_fit *f;
  const schedopt_fit_options *o;
  int nx, map[MAXP];
  int cpl[MAXP];      /* per x: θ index of its lr exponent (coupled scale), or −1 */
  double lnref;       /* ln of the peak lr of the fitted curves */
  double base[MAXP];
  double *L, *dL;
  size_t *steps;
  long evals;
  double wsum;
  schedopt_status st;
  schedopt_error *err;
  nlopt_opt opt;
  schedopt_fit_progress pg; /* reported after every evaluation */
  double t0;
} objctx;

/* Search variables x: θ, ln θ for scales, and ln(θ·η_ref^−p) for a scale
 * coupled to an lr exponent p (θ = e^{x + p ln η_ref}, kept in its valid
 * range). */
static void x_to_theta(const objctx *c, const double *x, double *th) {
  memcpy(th, c->base, c->f->type->nparams * sizeof *th);
  for (int i = 0; i < c->nx; i++) {
    int k = c->map[i];
    th[k] = c->f->type->params[k].log_scale ? exp(x[i]) : x[i];
  }
  for (int i = 0; i < c->nx; i++) {
    if (c->cpl[i] < 0) continue;
    const schedopt_surrogate_param *p = &c->f->type->params[c->map[i]];
    th[c->map[i]] = fmin(fmax(exp(x[i] + th[c->cpl[i]] * c->lnref), p->lo), p->hi);
  }
}

static void theta_to_x(const objctx *c, const double *th, double *x) {
  for (int i = 0; i < c->nx; i++) {
    int k = c->map[i];
    x[i] = c->f->type->params[k].log_scale ? log(th[k]) : th[k];
    if (c->cpl[i] >= 0) x[i] -= th[c->cpl[i]] * c->lnref;
  }
}

/* ∂f/∂x from ∂f/∂θ. */
static void grad_to_x(const objctx *c, const double *th, const double *gth, double *gx) {
  double g[MAXP];
  memcpy(g, gth, c->f->type->nparams * sizeof *g);
  for (int i = 0; i < c->nx; i++) /* θ_k = e^{x + θ_p ln η_ref}: ∂θ_k/∂θ_p = θ_k ln η_ref */
    if (c->cpl[i] >= 0) g[c->cpl[i]] += gth[c->map[i]] * th[c->map[i]] * c->lnref;
  for (int i = 0; i < c->nx; i++) {
    int k = c->map[i];
    gx[i] = g[k] * (c->f->type->params[k].log_scale ? th[k] : 1);
  }
}

static double now_seconds(void);

/* Mean weighted Huber loss at θ, and its gradient with respect to θ. */
static double objective_theta(objctx *c, const double *th, double *gth) {
  schedopt_fit *f = c->f;
  size_t np = f->type->nparams;
  double d = c->o->huber_delta, sum = 0;
  if (gth) memset(gth, 0, np * sizeof *gth);
  if (c->st) return HUGE_VAL; /* stopped: NLopt may still finish a line search */
  for (size_t ci = 0; ci < f->ncv && !c->st; ci++) {
    fcurve *fc = &f->cv[ci];
    if (!fc->nf) continue;
    size_t K;
    const double *eta = schedopt_losscurve_lr(fc->c, &K);
    for (size_t m = 0; m < fc->nf; m++) c->steps[m] = fc->pout[fc->fout[m]];
    schedopt_surrogate_input in = {eta, K, c->steps, fc->nf, fc->T};
    schedopt_status st = f->type->predict(th, &in, c->o->method, c->o->tol, c->L,
                                          gth ? c->dL : NULL, c->err);
    if (st) {
      c->st = st;
      return HUGE_VAL;
    }
    for (size_t m = 0; m < fc->nf; m++) {
      double w = fc->wt[m];
      if (w == 0) continue;
      double Lp = c->L[m];
      if (!(Lp > 0) || !isfinite(Lp)) { /* outside the model's domain */
        sum += w * d * 50;
        continue;
      }
      double r = log(Lp) - fc->flog[m], ar = fabs(r);
      sum += w * (ar <= d ? 0.5 * r * r : d * (ar - 0.5 * d));
      if (gth) {
        double dr = (ar <= d ? r : (r > 0 ? d : -d)) * w / Lp;
        for (size_t k = 0; k < np; k++) gth[k] += dr * c->dL[m * np + k];
      }
    }
  }
  c->evals++;
  if (gth)
    for (size_t k = 0; k < np; k++) gth[k] /= c->wsum;
  const double v = sum / c->wsum;
  if (f->progress) {
    if (v < c->pg.best) c->pg.best = v;
    c->pg.evals = c->evals;
    c->pg.seconds = now_seconds() - c->t0;
    if (f->progress(f->progress_ctx, &c->pg)) {
      c->st = schedopt_error_set(c->err, SCHEDOPT_ESOLVER, "fit: stopped by the caller (%s %d "
                                 "of %d, %ld evaluations)", c->pg.stage, c->pg.k, c->pg.n,
                                 c->evals);
      return HUGE_VAL;
    }
  }
  return v;
}

static double nl_objective(unsigned n, const double *x, double *grad, void *data) {
  objctx *c = data;
  double th[MAXP], gth[MAXP];
  x_to_theta(c, x, th);
  double v = objective_theta(c, th, grad ? gth : NULL);
  if (c->st) {
    nlopt_force_stop(c->opt);
    if (grad) memset(grad, 0, n * sizeof *grad);
    return HUGE_VAL;
  }
  if (grad) grad_to_x(c, th, gth, grad);
  (void)n;
  return v;
}

/* One local optimization from x (in place); returns the objective. */
static double local_opt(objctx *c, double *x, const double *xl, const double *xu) {
  static const nlopt_algorithm algs[] = {NLOPT_LD_LBFGS, NLOPT_LD_MMA, NLOPT_LN_BOBYQA,
                                         NLOPT_LN_NELDERMEAD};
  double fval = HUGE_VAL;
  if (c->nx == 0) {
    double th[MAXP];
    x_to_theta(c, x, th);
    return objective_theta(c, th, NULL);
  }
  nlopt_opt opt = nlopt_create(algs[c->o->algorithm], (unsigned)c->nx);
  if (!opt) {
    c->st = schedopt_error_set(c->err, SCHEDOPT_ENOMEM, "nlopt_create failed");
    return HUGE_VAL;
  }
  c->opt = opt;
  nlopt_set_lower_bounds(opt, xl);
  nlopt_set_upper_bounds(opt, xu);
  nlopt_set_min_objective(opt, nl_objective, c);
  nlopt_set_ftol_rel(opt, c->o->ftol_rel);
  nlopt_set_xtol_rel(opt, c->o->xtol_rel);
  nlopt_set_maxeval(opt, c->o->maxeval);
  if (c->o->algorithm == SCHEDOPT_FIT_LBFGS) nlopt_set_vector_storage(opt, 10);
  double x0[MAXP];
  memcpy(x0, x, (size_t)c->nx * sizeof *x);
  nlopt_result r = nlopt_optimize(opt, x, &fval);
  /* a gradient method that stops on round-off keeps its best point; one that
   * fails outright hands over to the derivative-free fallback */
  if (!c->st && (r < 0 && r != NLOPT_ROUNDOFF_LIMITED && r != NLOPT_FORCED_STOP) &&
      c->o->algorithm <= SCHEDOPT_FIT_MMA) {
    nlopt_destroy(opt);
    opt = nlopt_create(NLOPT_LN_BOBYQA, (unsigned)c->nx);
    if (!opt) {
      c->st = schedopt_error_set(c->err, SCHEDOPT_ENOMEM, "nlopt_create failed");
      return HUGE_VAL;
    }
    c->opt = opt;
    nlopt_set_lower_bounds(opt, xl);
    nlopt_set_upper_bounds(opt, xu);
    nlopt_set_min_objective(opt, nl_objective, c);
    nlopt_set_ftol_rel(opt, c->o->ftol_rel);
    nlopt_set_maxeval(opt, c->o->maxeval);
    if (!isfinite(fval)) memcpy(x, x0, (size_t)c->nx * sizeof *x);
    nlopt_optimize(opt, x, &fval);
  }
  nlopt_destroy(opt);
  c->opt = NULL;
  if (!isfinite(fval)) {
    double th[MAXP];
    x_to_theta(c, x, th);
    fval = objective_theta(c, th, NULL);
  }
  return fval;
}

/* splitmix64: the generator of the starts and the bootstrap draws. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_unif(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Data-driven start: the type's guess on the pooled fitted points sorted by
 * intrinsic time, L0 kept below every fitted loss. */
static schedopt_status data_start(schedopt_fit *f, double *th, schedopt_error *err) {
  size_t np = f->type->nparams, n = 0;
  for (size_t i = 0; i < np; i++) th[i] = f->type->params[i].def;
  double *T = malloc(f->npoints * sizeof *T), *L = malloc(f->npoints * sizeof *L);
  size_t *ord = malloc(f->npoints * sizeof *ord);
  if (!T || !L || !ord) {
    free(T), free(L), free(ord);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  double lmin = INFINITY;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    size_t K;
    const double *eta = schedopt_losscurve_lr(c->c, &K);
    double acc = 0;
    size_t k = 0;
    for (size_t m = 0; m < c->nf; m++) {
      size_t s = c->pout[c->fout[m]];
      while (k <= s) acc += eta[k++];
      T[n] = acc;
      L[n] = exp(c->flog[m]);
      if (L[n] < lmin) lmin = L[n];
      n++;
    }
  }
  /* sort by T (insertion into an index list is fine for a few 10^4 points:
   * use a simple merge sort instead to stay O(n log n)) */
  for (size_t i = 0; i < n; i++) ord[i] = i;
  size_t *tmp = malloc(n * sizeof *tmp);
  if (tmp) {
    for (size_t w = 1; w < n; w *= 2)
      for (size_t lo = 0; lo < n; lo += 2 * w) {
        size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
        size_t a = lo, b = mid, o = lo;
        while (a < mid || b < hi)
          tmp[o++] = (b >= hi || (a < mid && T[ord[a]] <= T[ord[b]])) ? ord[a++] : ord[b++];
        memcpy(ord + lo, tmp + lo, (hi - lo) * sizeof *ord);
      }
    free(tmp);
  }
  double *Ts = malloc(n * sizeof *Ts), *Ls = malloc(n * sizeof *Ls);
  if (Ts && Ls) {
    for (size_t i = 0; i < n; i++) Ts[i] = T[ord[i]], Ls[i] = L[ord[i]];
    if (f->type->guess) f->type->guess(Ts, Ls, n, th);
  }
  free(Ts), free(Ls), free(T), free(L), free(ord);
  for (size_t i = 0; i < np; i++) {
    if (f->has_start[i]) th[i] = f->start[i];
    if (f->fixed[i]) th[i] = f->fixval[i];
    /* into the box (L0 also strictly below the smallest fitted loss) */
    double lo = f->lo[i], hi = f->hi[i];
    if (!strcmp(f->type->params[i].name, "L0") && hi > 0.999 * lmin) hi = 0.999 * lmin;
    if (!f->fixed[i]) th[i] = fmin(fmax(th[i], lo), hi > lo ? hi : lo);
  }
  return SCHEDOPT_OK;
}

/* Predictions of every curve at its predicted points (NaN elsewhere). */
static schedopt_status predict_all(schedopt_fit *f, const double *th,
                                   const schedopt_fit_options *o, double **dst,
                                   schedopt_error *err) {
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    size_t K;
    const double *eta = schedopt_losscurve_lr(c->c, &K);
    double *L = malloc((c->np ? c->np : 1) * sizeof *L);
    if (!L) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    schedopt_surrogate_input in = {eta, K, c->pout, c->np, c->T};
    schedopt_status st =
        c->np ? f->type->predict(th, &in, o->method, o->tol, L, NULL, err) : SCHEDOPT_OK;
    if (st) {
      free(L);
      schedopt_error_prefix(err, "%s: ", schedopt_losscurve_name(c->c));
      return st;
    }
    double *out = dst ? dst[ci] : c->pred;
    for (size_t i = 0; i < c->n; i++) out[i] = NAN;
    for (size_t p = 0; p < c->np; p++) out[c->pidx[p]] = L[p];
    free(L);
  }
  return SCHEDOPT_OK;
}

static schedopt_status score(schedopt_fit *f, schedopt_error *err) {
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    const double *loss = schedopt_losscurve_loss(c->c), *raw = schedopt_losscurve_raw_loss(c->c);
    double *o = malloc(c->n * sizeof *o), *r = malloc(c->n * sizeof *r),
           *p = malloc(c->n * sizeof *p);
    if (!o || !r || !p) {
      free(o), free(r), free(p);
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
      if (c->scored[i]) o[k] = loss[i], r[k] = raw[i], p[k] = c->pred[i], k++;
    schedopt_fit_metrics_compute(o, p, k, &c->m);
    schedopt_fit_metrics_compute(r, p, k, &c->mraw);
    free(o), free(r), free(p);
  }
  f->scored = 1;
  return SCHEDOPT_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Value at quantile q of sorted v[0..n) (linear interpolation). */
static double quantile(const double *v, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)floor(pos);
  if (i + 1 >= n) return v[n - 1];
  return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

static schedopt_status setup_ctx(schedopt_fit *f, const schedopt_fit_options *o, objctx *c,
                                 double *xl, double *xu, schedopt_error *err) {
  memset(c, 0, sizeof *c);
  c->f = f;
  c->o = o;
  c->err = err;
  size_t maxnf = 1;
  for (size_t ci = 0; ci < f->ncv; ci++)
    if (f->cv[ci].nf > maxnf) maxnf = f->cv[ci].nf;
  size_t np = f->type->nparams;
  c->L = malloc(maxnf * sizeof *c->L);
  c->dL = malloc(maxnf * np * sizeof *c->dL);
  c->steps = malloc(maxnf * sizeof *c->steps);
  if (!c->L || !c->dL || !c->steps) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  /* the peak lr over the fitted curves (the reference of coupled scales) */
  double emax = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    if (!f->cv[ci].nf) continue;
    size_t K;
    const double *eta = schedopt_losscurve_lr(f->cv[ci].c, &K);
    for (size_t k = 0; k < K; k++) emax = fmax(emax, eta[k]);
  }
  c->lnref = emax > 0 ? log(emax) : 0;
  for (size_t k = 0; k < np; k++) {
    if (f->fixed[k]) continue;
    const schedopt_surrogate_param *p = &f->type->params[k];
    double lo = f->lo[k], hi = f->hi[k];
    if (p->log_scale) {
      lo = log(lo > 0 ? lo : 1e-300);
      hi = log(hi);
    }
    c->cpl[c->nx] = -1;
    if (p->log_scale && p->lr_exponent) {
      for (size_t g = 0; g < np; g++)
        if (!strcmp(f->type->params[g].name, p->lr_exponent)) c->cpl[c->nx] = (int)g;
      int g = c->cpl[c->nx];
      if (g >= 0) { /* x = ln θ − θ_p ln η_ref over the boxes of θ and θ_p */
        double plo = f->fixed[g] ? f->fixval[g] : f->lo[g], phi = f->fixed[g] ? f->fixval[g] : f->hi[g];
        lo -= (c->lnref < 0 ? plo : phi) * c->lnref;
        hi -= (c->lnref < 0 ? phi : plo) * c->lnref;
      }
    }
    xl[c->nx] = lo;
    xu[c->nx] = hi;
    c->map[c->nx++] = (int)k;
  }
  return SCHEDOPT_OK;
}

static void free_ctx(objctx *c) {
  free(c->L);
  free(c->dL);
  free(c->steps);
}

static double weight_sum(const schedopt_fit *f) {
  double w = 0;
  for (size_t ci = 0; ci < f->ncv; ci++)
    for (size_t m = 0; m < f->cv[ci].nf; m++) w += f->cv[ci].wt[m];
  return w;
}

schedopt_status schedopt_fit_run(schedopt_fit *f, const schedopt_fit_options *opts,
                                 schedopt_error *err) {
  if (!f) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_run: NULL argument");
  schedopt_fit_options def;
  if (!opts) {
    schedopt_fit_options_default(&def);
    opts = &def;
  }
  schedopt_status st;
  if ((st = check_options(opts, err)) || (st = select_points(f, opts->max_points, err)))
    return st;
  size_t np = f->type->nparams, nfree = 0;
  for (size_t i = 0; i < np; i++) nfree += !f->fixed[i];
  if (f->npoints < nfree) /* the parameters are not determined: refused, not "fitted" */
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%zu data point%s for %zu free parameters (%s): give more "
                              "logged steps or fix parameters",
                              f->npoints, f->npoints == 1 ? "" : "s", nfree, f->type->name);
  double t0 = now_seconds(), u0 = cpu_seconds();
  double th0[MAXP];
  if ((st = data_start(f, th0, err))) return st;
  objctx c;
  double xl[MAXP], xu[MAXP];
  if ((st = setup_ctx(f, opts, &c, xl, xu, err))) {
    free_ctx(&c);
    return st;
  }
  memcpy(c.base, th0, sizeof c.base);
  c.wsum = weight_sum(f);
  c.t0 = t0;
  c.pg.stage = "start";
  c.pg.n = opts->starts;
  c.pg.best = HUGE_VAL;
  uint64_t rng = (uint64_t)opts->seed * 0x2545F4914F6CDD1Dull + 1;
  double x0[MAXP], best_x[MAXP], best_f = HUGE_VAL;
  theta_to_x(&c, th0, x0);
  double (*sx)[MAXP] = calloc((size_t)opts->starts, sizeof *sx);
  double *sf = calloc((size_t)opts->starts, sizeof *sf);
  if (!sx || !sf) {
    free(sx), free(sf), free_ctx(&c);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  f->best_start = 0;
  for (int s = 0; s < opts->starts && !c.st; s++) {
    double x[MAXP];
    c.pg.k = s + 1;
    memcpy(x, x0, sizeof x);
    if (s > 0)
      for (int i = 0; i < c.nx; i++) {
        const schedopt_surrogate_param *p = &f->type->params[c.map[i]];
        double u = 2 * rng_unif(&rng) - 1;
        x[i] += p->log_scale ? u * log(10.0) : 0.25 * u * (xu[i] - xl[i]);
        x[i] = fmin(fmax(x[i], xl[i]), xu[i]);
      }
    double fv = local_opt(&c, x, xl, xu);
    memcpy(sx[s], x, sizeof x);
    sf[s] = fv;
    if (fv < best_f) {
      best_f = fv;
      memcpy(best_x, x, sizeof x);
      f->best_start = s;
    }
  }
  if (c.st) {
    st = c.st;
    goto done;
  }
  if (!isfinite(best_f)) {
    st = schedopt_error_set(err, SCHEDOPT_ESOLVER,
                            "fit: no start reached a finite objective (the model cannot "
                            "describe these curves inside the parameter box)");
    goto done;
  }
  x_to_theta(&c, best_x, f->theta);
  /* a parameter the optimum leaves on a bound of its search box is pinned
   * by the box, not by the data: reported, never silent */
  memset(f->at_bound, 0, sizeof f->at_bound);
  for (int i = 0; i < c.nx; i++) {
    const double tol = 1e-6 * (xu[i] - xl[i]);
    f->at_bound[c.map[i]] = best_x[i] <= xl[i] + tol ? -1 : best_x[i] >= xu[i] - tol ? 1 : 0;
  }
  f->objective = best_f;
  f->starts = opts->starts;
  /* spread of the starts that reach (nearly) the best objective: the final
   * loss they predict on every curve */
  f->spread = 0;
  for (size_t ci = 0; ci < f->ncv && !st; ci++) {
    fcurve *fc = &f->cv[ci];
    size_t K, last = fc->pout[fc->np - 1];
    const double *eta = schedopt_losscurve_lr(fc->c, &K);
    schedopt_surrogate_input in = {eta, K, &last, 1, fc->T};
    double ref, lo = HUGE_VAL, hi = -HUGE_VAL;
    if ((st = f->type->predict(f->theta, &in, opts->method, opts->tol, &ref, NULL, err))) break;
    for (int s = 0; s < opts->starts; s++) {
      if (!(sf[s] <= best_f + 1e-3 * fabs(best_f) + 1e-15)) continue;
      double th[MAXP], v;
      x_to_theta(&c, sx[s], th);
      if ((st = f->type->predict(th, &in, opts->method, opts->tol, &v, NULL, err))) break;
      lo = fmin(lo, v), hi = fmax(hi, v);
    }
    if (!st && hi >= lo) f->spread = fmax(f->spread, (hi - lo) / fabs(ref));
  }
  if (st) goto done;
  f->seconds = now_seconds() - t0;
  f->cpu = cpu_seconds() - u0;

  /* bootstrap refits */
  f->have_sd = 0;
  f->nboot = 0;
  free(f->boot);
  f->boot = NULL;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    free(f->cv[ci].lo), free(f->cv[ci].hi);
    f->cv[ci].lo = f->cv[ci].hi = NULL;
  }
  if (opts->bootstrap > 0) {
    int B = opts->bootstrap;
    double **preds = calloc(f->ncv * (size_t)B, sizeof *preds);
    double *thb = calloc((size_t)B * np, sizeof *thb);
    if (!preds || !thb) {
      free(preds), free(thb);
      st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      goto done;
    }
    c.pg.stage = "bootstrap";
    c.pg.n = B;
    for (int b = 0; b < B && !st; b++) {
      c.pg.k = b + 1;
      c.pg.best = HUGE_VAL;
      for (size_t ci = 0; ci < f->ncv; ci++) {
        fcurve *fc = &f->cv[ci];
        if (!fc->nf) continue;
        size_t S = (size_t)opts->segments;
        if (S > fc->nf) S = fc->nf;
        for (size_t m = 0; m < fc->nf; m++) fc->wt[m] = 0;
        for (size_t k = 0; k < S; k++) {
          size_t seg = (size_t)(rng_unif(&rng) * (double)S);
          if (seg >= S) seg = S - 1;
          size_t a = seg * fc->nf / S, e = (seg + 1) * fc->nf / S;
          for (size_t m = a; m < e; m++) fc->wt[m] += 1;
        }
      }
      c.wsum = weight_sum(f);
      double x[MAXP];
      memcpy(x, best_x, sizeof x);
      local_opt(&c, x, xl, xu);
      if (c.st) {
        st = c.st;
        break;
      }
      x_to_theta(&c, x, thb + (size_t)b * np);
      double **row = preds + (size_t)b * f->ncv;
      for (size_t ci = 0; ci < f->ncv; ci++)
        if (!(row[ci] = malloc((f->cv[ci].n ? f->cv[ci].n : 1) * sizeof **row))) {
          st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
          break;
        }
      if (!st) st = predict_all(f, thb + (size_t)b * np, opts, row, err);
      f->nboot++;
    }
    for (size_t ci = 0; ci < f->ncv; ci++)
      for (size_t m = 0; m < f->cv[ci].nf; m++) f->cv[ci].wt[m] = 1;
    if (!st) {
      double *v = malloc((size_t)B * sizeof *v);
      for (size_t ci = 0; ci < f->ncv && v && !st; ci++) {
        fcurve *fc = &f->cv[ci];
        fc->lo = malloc(fc->n * sizeof *fc->lo);
        fc->hi = malloc(fc->n * sizeof *fc->hi);
        if (!fc->lo || !fc->hi) {
          st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
          break;
        }
        for (size_t i = 0; i < fc->n; i++) {
          for (int b = 0; b < B; b++) v[b] = preds[(size_t)b * f->ncv + ci][i];
          if (isnan(v[0])) {
            fc->lo[i] = fc->hi[i] = NAN;
            continue;
          }
          qsort(v, (size_t)B, sizeof *v, cmp_double);
          fc->lo[i] = quantile(v, (size_t)B, (1 - opts->level) / 2);
          fc->hi[i] = quantile(v, (size_t)B, (1 + opts->level) / 2);
        }
      }
      if (!v && !st) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      free(v);
      for (size_t k = 0; k < np && !st; k++) {
        double mean = 0, ss = 0;
        for (int b = 0; b < B; b++) mean += thb[(size_t)b * np + k];
        mean /= B;
        for (int b = 0; b < B; b++) {
          double d = thb[(size_t)b * np + k] - mean;
          ss += d * d;
        }
        f->sd[k] = B > 1 ? sqrt(ss / (B - 1)) : 0;
      }
      f->have_sd = !st;
    }
    for (size_t i = 0; i < f->ncv * (size_t)B; i++) free(preds[i]);
    free(preds);
    f->boot = thb;
  }
  if (!st) st = predict_all(f, f->theta, opts, NULL, err);
  if (!st) st = score(f, err);
done:
  f->evals = c.evals;
  free(sx), free(sf);
  free_ctx(&c);
  return st;
}

void schedopt_fit_set_progress(schedopt_fit *f, schedopt_fit_progress_fn fn, void *ctx) {
  if (!f) return;
  f->progress = fn;
  f->progress_ctx = ctx;
}

schedopt_status schedopt_fit_evaluate(schedopt_fit *f, const double *theta,
                                      const schedopt_fit_options *opts, schedopt_error *err) {
  if (!f || !theta) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_evaluate: NULL argument");
  schedopt_fit_options def;
  if (!opts) {
    schedopt_fit_options_default(&def);
    opts = &def;
  }
  schedopt_status st;
  if ((st = check_options(opts, err))) return st;
  for (size_t i = 0; i < f->type->nparams; i++)
    if ((st = in_valid(f, (int)i, theta[i], "value", err))) return st;
  memcpy(f->theta, theta, f->type->nparams * sizeof *theta);
  f->have_sd = 0;
  f->nboot = 0;
  free(f->boot);
  f->boot = NULL;
  f->starts = 0;
  f->evals = 0;
  f->seconds = 0;
  f->cpu = 0;
  f->spread = 0;
  f->objective = NAN;
  int any_fit = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) any_fit |= f->cv[ci].role == SCHEDOPT_CURVE_FIT;
  if (any_fit) {
    if ((st = select_points(f, opts->max_points, err))) return st;
    objctx c;
    double xl[MAXP], xu[MAXP];
    if (!(st = setup_ctx(f, opts, &c, xl, xu, err))) {
      c.wsum = weight_sum(f);
      f->objective = objective_theta(&c, f->theta, NULL);
      st = c.st;
    }
    free_ctx(&c);
    if (st) return st;
  }
  if ((st = predict_all(f, f->theta, opts, NULL, err))) return st;
  return score(f, err);
}

void schedopt_fit_get_summary(const schedopt_fit *f, schedopt_fit_summary *s) {
  memset(s, 0, sizeof *s);
  if (!f) return;
  s->theta = f->theta;
  s->theta_sd = f->have_sd ? f->sd : NULL;
  s->boot_theta = f->have_sd ? f->boot : NULL;
  s->objective = f->objective;
  s->npoints = f->npoints;
  s->starts = f->starts;
  s->best_start = f->best_start;
  s->evals = f->evals;
  s->seconds = f->seconds;
  s->cpu_seconds = f->cpu;
  s->start_spread = f->spread;
  s->at_bound = f->at_bound;
  s->bootstrap = f->nboot;
}

size_t schedopt_fit_ncurves(const schedopt_fit *f) { return f ? f->ncv : 0; }

schedopt_status schedopt_fit_get_curve(const schedopt_fit *f, size_t i, schedopt_fit_curve *c,
                                       schedopt_error *err) {
  if (!f || !c || i >= f->ncv)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_get_curve: no curve %zu", i);
  if (!f->scored)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_get_curve: run or evaluate first");
  const fcurve *fc = &f->cv[i];
  c->curve = fc->c;
  c->role = fc->role;
  c->start_step = fc->start;
  c->end_step = fc->end;
  c->metrics = fc->m;
  c->metrics_raw = fc->mraw;
  c->pred = fc->pred;
  c->lo = fc->lo;
  c->hi = fc->hi;
  c->scored = fc->scored;
  return SCHEDOPT_OK;
}
