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
#define MAXX SCHEDOPT_FIT_MAXX /* base parameters + run offsets + size exponents */

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
  char *hold;        /* 1: held out in the current cross-validation fold */
  double *T;         /* intrinsic time of every step (cache) */
  double *pred, *lo, *hi;
  schedopt_fit_metrics m, mraw;
  /* covariates */
  double size, tokens; /* model size N, tokens per step (NAN: not given) */
  char *run;           /* run label (NULL: the curve's name) */
  int runi;            /* index of its run's offset, −1: none (mean level) */
} fcurve;

struct schedopt_fit {
  const schedopt_surrogate_type *type;
  fcurve *cv;
  size_t ncv, cap;
  double lo[MAXP], hi[MAXP], start[MAXP], fixval[MAXP];
  int has_start[MAXP], fixed[MAXP];
  /* extended parameters: θ (nparams) at the reference covariates, then the
   * run offsets (noff) and the size exponents (nsz, of the parameters szp) */
  double theta[MAXX], sd[MAXX];
  size_t next;                 /* nparams + noff + nsz + ntok */
  int noff, nsz, szp[MAXP];
  int ntok;                    /* 1: the tokens offset c is fitted (last extended parameter) */
  double tokmin;               /* smallest fitted tokens per step */
  char ename[MAXX][64];
  const char *names_ptr[MAXX + 1]; /* → ename, NULL-terminated */
  char *runs[MAXX];            /* the fitted runs' labels (noff + 1 when offsets are on) */
  schedopt_fit_laws laws;      /* size laws (set_size_law) and the references of the run */
  double *boot;  /* bootstrap parameter sets, nboot × nparams (at the references) */
  double *bootx; /* their extras, nboot × (next − nparams) */
  int have_sd, scored;
  int at_bound[MAXX]; /* −1 / +1: the best point on the lower / upper bound of its box */
  /* regularization and its cross-validation */
  double prior_used;
  size_t ngrid;
  double grid[SCHEDOPT_FIT_MAXGRID], cverr[SCHEDOPT_FIT_MAXGRID];
  int nfolds;
  /* identifiability at the optimum */
  double cond;
  double weak[MAXX];
  double ranges[4][2]; /* seen by the fit: peak lr, horizon, tokens per step, model size */
  double objective, seconds, cpu, spread;
  size_t npoints;
  int starts, best_start, nboot;
  long evals;
  schedopt_fit_progress_fn progress;
  void *progress_ctx;
};

static int noise_param(const schedopt_surrogate_type *T);

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
  o->prior = NAN;
  o->offsets = 0;
  o->tokens_exp = 1;
  o->tokens_offset = NAN;
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
  if (!isnan(o->prior) && !(o->prior >= 0 && o->prior <= 1e6))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: prior = %g must be in [0, 1e6] (or "
                              "auto: chosen by cross-validation)", o->prior);
  if (!isnan(o->tokens_offset) && !(o->tokens_offset >= 0 && o->tokens_offset <= 1e12))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: tokens_offset = %g must be in "
                              "[0, 1e12] (or auto: fitted)", o->tokens_offset);
  if (!(o->tokens_exp >= 0 && o->tokens_exp <= 4))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: tokens_exponent = %g must be in "
                              "[0, 4]", o->tokens_exp);
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
  f->next = T->nparams;
  f->laws.size_ref = f->laws.tokens_ref = NAN;
  f->laws.tokens_exp = 1;
  f->laws.tokens_offset = 0;
  f->laws.noise_param = noise_param(T);
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
  free(c->hold);
  free(c->run);
  free(c->pred);
  free(c->lo);
  free(c->hi);
}

void schedopt_fit_free(schedopt_fit *f) {
  if (!f) return;
  for (size_t i = 0; i < f->ncv; i++) fcurve_free(&f->cv[i]);
  free(f->cv);
  free(f->boot);
  free(f->bootx);
  for (int r = 0; r < MAXX; r++) free(f->runs[r]);
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
  fc->size = fc->tokens = NAN;
  fc->runi = -1;
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

schedopt_status schedopt_fit_set_curve_info(schedopt_fit *f, size_t i, double model_size,
                                            double tokens_per_step, const char *run,
                                            schedopt_error *err) {
  if (!f || i >= f->ncv)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_set_curve_info: no curve %zu", i);
  const char *name = schedopt_losscurve_name(f->cv[i].c);
  if (!isnan(model_size) && !(model_size >= 1 && model_size <= 1e15))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: model_size = %g must be in [1, 1e15] "
                              "(parameters)", name, model_size);
  if (!isnan(tokens_per_step) && !(tokens_per_step >= 1 && tokens_per_step <= 1e12))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: tokens_per_step = %g must be in "
                              "[1, 1e12]", name, tokens_per_step);
  char *r = NULL;
  if (run && !(r = strdup(run))) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  fcurve *c = &f->cv[i];
  free(c->run);
  c->run = r;
  c->size = model_size;
  c->tokens = tokens_per_step;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_fit_set_size_law(schedopt_fit *f, const char *name,
                                          schedopt_size_law law, double shift,
                                          schedopt_error *err) {
  int i;
  schedopt_status st;
  if ((st = find_param(f, name, &i, err))) return st;
  if ((unsigned)law > SCHEDOPT_SIZE_SHIFTED)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "size law of %s: unknown law %d", name, law);
  if (law == SCHEDOPT_SIZE_SHIFTED && !isfinite(shift))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "size law of %s: shift = %g must be finite",
                              name, shift);
  f->laws.size_law[i] = (int)law;
  f->laws.size_shift[i] = law == SCHEDOPT_SIZE_SHIFTED ? shift : 0;
  return SCHEDOPT_OK;
}

/* Thin the scored points of every fit curve to at most max_points. */
static schedopt_status select_points(schedopt_fit *f, size_t max_points, schedopt_error *err) {
  f->npoints = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    free(c->fout), free(c->flog), free(c->wt), free(c->hold);
    c->fout = NULL, c->flog = NULL, c->wt = NULL, c->hold = NULL, c->nf = 0;
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
    c->hold = calloc(take ? take : 1, 1);
    if (!c->fout || !c->flog || !c->wt || !c->hold) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
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

/* --------------------------------------------------------- covariate laws */

static const char *const law_names[] = {"none", "power", "log", "shifted"};

const char *schedopt_size_law_name(schedopt_size_law l) {
  return (unsigned)l < 4 ? law_names[l] : "unknown";
}

int schedopt_size_law_find(const char *name) {
  for (int i = 0; name && i < 4; i++)
    if (!strcmp(law_names[i], name)) return i;
  return -1;
}

/* The noise amplitude of a type: the loss that the learning rate's noise
 * adds and a decay removes (∝ 1/b for SGD noise). */
static int noise_param(const schedopt_surrogate_type *T) {
  const char *n = !strcmp(T->name, "mpl") ? "B" : !strcmp(T->name, "fsl-llm") ? "c2" : NULL;
  for (size_t i = 0; n && i < T->nparams; i++)
    if (!strcmp(T->params[i].name, n)) return (int)i;
  return -1;
}

/* θ_c at (N, b) from θ_ref and the exponents κ (kappa[k] for parameter k);
 * jt[k] = ∂θ_c[k]/∂θ_ref[k], jk[k] = ∂θ_c[k]/∂κ_k (either may be NULL).
 * Values are clamped into the valid range (derivatives 0 there). */
static void laws_eval(const schedopt_surrogate_type *T, const schedopt_fit_laws *lw,
                      const double *th, const double *kappa, double tc, double N, double b,
                      double *out, double *jt, double *jk, double *jc) {
  double l = (isfinite(N) && isfinite(lw->size_ref)) ? log(N / lw->size_ref) : 0;
  /* noise amplitude ((b_ref − c)/(b − c))^ω; ∂/∂c = ω s (1/(b − c) − 1/(b_ref − c)) */
  double sb = 1, dsb = 0;
  if (isfinite(b) && isfinite(lw->tokens_ref)) {
    double bc = fmax(b - tc, 1e-12 * b), rc = fmax(lw->tokens_ref - tc, 1e-12 * lw->tokens_ref);
    sb = pow(rc / bc, lw->tokens_exp);
    dsb = lw->tokens_exp * sb * (1 / bc - 1 / rc);
  }
  if (jc) *jc = 0;
  for (size_t k = 0; k < T->nparams; k++) {
    double v = th[k], d = 1, dk = 0, kp = kappa ? kappa[k] : 0;
    switch (l != 0 ? lw->size_law[k] : SCHEDOPT_SIZE_NONE) {
    case SCHEDOPT_SIZE_POWER: {
      double g = exp(kp * l);
      v = th[k] * g, d = g, dk = v * l;
      break;
    }
    case SCHEDOPT_SIZE_LOG: v = th[k] + kp * l, dk = l; break;
    case SCHEDOPT_SIZE_SHIFTED: {
      double g = exp(kp * l), E = lw->size_shift[k];
      v = E + (th[k] - E) * g, d = g, dk = (th[k] - E) * g * l;
      break;
    }
    default: break;
    }
    if ((int)k == lw->noise_param) {
      if (jc) *jc = v * dsb;
      v *= sb, d *= sb, dk *= sb;
    }
    const schedopt_surrogate_param *p = &T->params[k];
    double lo = p->log_scale ? fmax(p->lo, 1e-300) : p->lo;
    if (!(v >= lo) || !(v <= p->hi)) {
      v = !(v >= lo) ? lo : p->hi, d = dk = 0;
      if (jc && (int)k == lw->noise_param) *jc = 0;
    }
    out[k] = v;
    if (jt) jt[k] = d;
    if (jk) jk[k] = dk;
  }
}

schedopt_status schedopt_fit_laws_apply(const schedopt_surrogate_type *T,
                                        const schedopt_fit_laws *laws, const double *theta_ref,
                                        double N, double b, double *theta, schedopt_error *err) {
  if (!T || !laws || !theta_ref || !theta)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_laws_apply: NULL argument");
  if ((!isnan(N) && !(N > 0 && isfinite(N))) || (!isnan(b) && !(b > 0 && isfinite(b))))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "model size %g and tokens per step %g must be > 0", N, b);
  laws_eval(T, laws, theta_ref, laws->size_exp, laws->tokens_offset, N, b, theta, NULL, NULL,
            NULL);
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------------------ prior */

/* Centres and widths (log scale for scales: width in e-folds) of the prior
 * on the parameters the curves pin only in combination.  mpl: the
 * multi-power-law paper's fits of 25M–400M LLaMA models (C ≈ 2.1, β ≈ 0.59,
 * γ ≈ 0.64, B 360–520); fsl-llm: the type's defaults. */
typedef struct prior_entry {
  const char *type, *param;
  double centre, width;
} prior_entry;
static const prior_entry priors[] = {
    {"mpl", "B", 450, 1.0},       {"mpl", "C", 2.0, 1.0},
    {"mpl", "beta", 0.6, 0.15},   {"mpl", "gamma", 0.6, 0.15},
    {"fsl-llm", "c3", 0.5, 2.3},  {"fsl-llm", "c4", 300, 2.3},
    {"fsl-llm", "gamma", 0.6, 0.3},
};

/* ------------------------------------------------------------- objective */

typedef struct objctx {
  schedopt_fit *f;
  const schedopt_fit_options *o;
  int nx, map[MAXX];  /* search variable → extended parameter */
  int cpl[MAXX];      /* per x: θ index of its lr exponent (coupled scale), or −1 */
  double xs[MAXX];    /* per x: unit of a linear variable (θ = x·xs; the tokens offset in
                         units of the smallest batch, so that its gradient is not tiny) */
  double lnref;       /* ln of the peak lr of the fitted curves */
  double base[MAXX];  /* extended parameters (the fixed ones stay) */
  double rho;         /* prior strength */
  double ftol, xtol;  /* NLopt stopping tolerances of the next local fit */
  int maxeval;
  int has_prior[MAXP];
  double pc[MAXP], pw[MAXP]; /* prior centre (log for scales) and width */
  double *L, *dL;
  size_t *steps;
  double *H;          /* if set: Gauss–Newton Σ w ∇r∇rᵀ over the extended parameters */
  long evals;
  double wsum;
  schedopt_status st;
  schedopt_error *err;
  nlopt_opt opt;
  schedopt_fit_progress pg; /* reported after every evaluation */
  double t0;
} objctx;

static int ext_log_scale(const schedopt_fit *f, int k) {
  return k < (int)f->type->nparams && f->type->params[k].log_scale;
}

/* Search variables x: θ, ln θ for scales, and ln(θ·η_ref^−p) for a scale
 * coupled to an lr exponent p (θ = e^{x + p ln η_ref}, kept in its valid
 * range); offsets and exponents as they are. */
static void x_to_theta(const objctx *c, const double *x, double *th) {
  memcpy(th, c->base, c->f->next * sizeof *th);
  for (int i = 0; i < c->nx; i++) {
    int k = c->map[i];
    th[k] = ext_log_scale(c->f, k) ? exp(x[i]) : x[i] * c->xs[i];
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
    x[i] = ext_log_scale(c->f, k) ? log(th[k]) : th[k] / c->xs[i];
    if (c->cpl[i] >= 0) x[i] -= th[c->cpl[i]] * c->lnref;
  }
}

/* ∂θ/∂x as a matrix (next × nx, row-major). */
static void dtheta_dx(const objctx *c, const double *th, double *J) {
  size_t n = c->f->next;
  memset(J, 0, n * (size_t)c->nx * sizeof *J);
  for (int i = 0; i < c->nx; i++) {
    int k = c->map[i];
    J[(size_t)k * c->nx + i] = ext_log_scale(c->f, k) ? th[k] : c->xs[i];
  }
  for (int i = 0; i < c->nx; i++) /* θ_k = e^{x + θ_p ln η_ref} */
    if (c->cpl[i] >= 0)
      for (int j = 0; j < c->nx; j++)
        if (c->map[j] == c->cpl[i]) J[(size_t)c->map[i] * c->nx + j] += th[c->map[i]] * c->lnref;
}

/* ∂f/∂x from ∂f/∂θ. */
static void grad_to_x(const objctx *c, const double *th, const double *gth, double *gx) {
  double g[MAXX];
  memcpy(g, gth, c->f->next * sizeof *g);
  for (int i = 0; i < c->nx; i++) /* θ_k = e^{x + θ_p ln η_ref}: ∂θ_k/∂θ_p = θ_k ln η_ref */
    if (c->cpl[i] >= 0) g[c->cpl[i]] += gth[c->map[i]] * th[c->map[i]] * c->lnref;
  for (int i = 0; i < c->nx; i++) {
    int k = c->map[i];
    gx[i] = g[k] * (ext_log_scale(c->f, k) ? th[k] : c->xs[i]);
  }
}

/* θ of curve fc from the extended parameters: the laws at its covariates
 * and its run's offset; jt, jk as in laws_eval. */
static void curve_theta(const schedopt_fit *f, const fcurve *fc, const double *ext, double *th,
                        double *jt, double *jk, double *jc) {
  size_t np = f->type->nparams;
  double kappa[MAXP] = {0};
  for (int j = 0; j < f->nsz; j++) kappa[f->szp[j]] = ext[np + (size_t)f->noff + (size_t)j];
  double tc = f->ntok ? ext[f->next - 1] : f->laws.tokens_offset;
  laws_eval(f->type, &f->laws, ext, kappa, tc, fc->size, fc->tokens, th, jt, jk, jc);
  if (fc->runi >= 0 && f->noff > 0) {
    double d = 0;
    if (fc->runi < f->noff) d = ext[np + (size_t)fc->runi];
    else
      for (int r = 0; r < f->noff; r++) d -= ext[np + (size_t)r];
    th[0] += d; /* L0 is every type's first parameter */
  }
}

/* Add ∂/∂ext of a quantity with ∂/∂θ_c = g into gext. */
static void curve_grad(const schedopt_fit *f, const fcurve *fc, const double *g, const double *jt,
                       const double *jk, double jc, double *gext) {
  size_t np = f->type->nparams;
  if (f->ntok && f->laws.noise_param >= 0) gext[f->next - 1] += g[f->laws.noise_param] * jc;
  for (size_t k = 0; k < np; k++) gext[k] += g[k] * jt[k];
  for (int j = 0; j < f->nsz; j++) gext[np + (size_t)f->noff + (size_t)j] += g[f->szp[j]] * jk[f->szp[j]];
  if (fc->runi >= 0 && f->noff > 0) {
    if (fc->runi < f->noff) gext[np + (size_t)fc->runi] += g[0];
    else
      for (int r = 0; r < f->noff; r++) gext[np + (size_t)r] -= g[0];
  }
}

static double now_seconds(void);

/* Mean weighted Huber loss at the extended parameters th (+ the prior), and
 * its gradient with respect to them. */
static double objective_theta(objctx *c, const double *th, double *gth) {
  schedopt_fit *f = c->f;
  size_t np = f->type->nparams, ne = f->next;
  double d = c->o->huber_delta, sum = 0;
  if (gth) memset(gth, 0, ne * sizeof *gth);
  if (c->st) return HUGE_VAL; /* stopped: NLopt may still finish a line search */
  int need = gth || c->H;
  for (size_t ci = 0; ci < f->ncv && !c->st; ci++) {
    fcurve *fc = &f->cv[ci];
    if (!fc->nf) continue;
    size_t K;
    const double *eta = schedopt_losscurve_lr(fc->c, &K);
    double thc[MAXP], jt[MAXP], jk[MAXP], jc = 0, g[MAXP] = {0};
    curve_theta(f, fc, th, thc, jt, jk, &jc);
    for (size_t m = 0; m < fc->nf; m++) c->steps[m] = fc->pout[fc->fout[m]];
    schedopt_surrogate_input in = {eta, K, c->steps, fc->nf, fc->T};
    schedopt_status st = f->type->predict(thc, &in, c->o->method, c->o->tol, c->L,
                                          need ? c->dL : NULL, c->err);
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
        for (size_t k = 0; k < np; k++) g[k] += dr * c->dL[m * np + k];
      }
      if (c->H) { /* ∇r over the extended parameters, then w ∇r∇rᵀ */
        double gr[MAXP], ge[MAXX] = {0};
        for (size_t k = 0; k < np; k++) gr[k] = c->dL[m * np + k] / Lp;
        curve_grad(f, fc, gr, jt, jk, jc, ge);
        for (size_t a = 0; a < ne; a++)
          for (size_t b = 0; b < ne; b++) c->H[a * ne + b] += w * ge[a] * ge[b];
      }
    }
    if (gth) curve_grad(f, fc, g, jt, jk, jc, gth);
  }
  c->evals++;
  if (gth)
    for (size_t k = 0; k < ne; k++) gth[k] /= c->wsum;
  double v = sum / c->wsum;
  if (c->rho > 0) { /* prior: ρ δ²/2 Σ z², z = (u(θ) − centre)/width */
    double s2 = c->rho * d * d, pen = 0;
    for (size_t k = 0; k < np; k++) {
      if (!c->has_prior[k] || f->fixed[k]) continue;
      int lg = f->type->params[k].log_scale;
      double u = lg ? log(th[k]) : th[k], z = (u - c->pc[k]) / c->pw[k];
      pen += z * z;
      if (gth) gth[k] += s2 * z / c->pw[k] * (lg ? 1 / th[k] : 1);
    }
    v += 0.5 * s2 * pen;
  }
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
  double th[MAXX], gth[MAXX];
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
    double th[MAXX];
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
  nlopt_set_ftol_rel(opt, c->ftol);
  nlopt_set_xtol_rel(opt, c->xtol);
  nlopt_set_maxeval(opt, c->maxeval);
  if (c->o->algorithm == SCHEDOPT_FIT_LBFGS) nlopt_set_vector_storage(opt, 10);
  double x0[MAXX];
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
    nlopt_set_ftol_rel(opt, c->ftol);
    nlopt_set_maxeval(opt, c->maxeval);
    if (!isfinite(fval)) memcpy(x, x0, (size_t)c->nx * sizeof *x);
    nlopt_optimize(opt, x, &fval);
  }
  nlopt_destroy(opt);
  c->opt = NULL;
  if (!isfinite(fval)) {
    double th[MAXX];
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

/* Predictions of every curve at its predicted points (NaN elsewhere), from
 * the extended parameters th. */
static schedopt_status predict_all(schedopt_fit *f, const double *th,
                                   const schedopt_fit_options *o, double **dst,
                                   schedopt_error *err) {
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    size_t K;
    const double *eta = schedopt_losscurve_lr(c->c, &K);
    double *L = malloc((c->np ? c->np : 1) * sizeof *L), thc[MAXP];
    if (!L) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    curve_theta(f, c, th, thc, NULL, NULL, NULL);
    schedopt_surrogate_input in = {eta, K, c->pout, c->np, c->T};
    schedopt_status st =
        c->np ? f->type->predict(thc, &in, o->method, o->tol, L, NULL, err) : SCHEDOPT_OK;
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

/* The extended parameters of this run: run offsets (with options.offsets),
 * size exponents (laws set and fit curves of two or more sizes), the
 * references, and what the fit curves span. */
static schedopt_status prepare_ext(schedopt_fit *f, const schedopt_fit_options *o,
                                   schedopt_error *err) {
  size_t np = f->type->nparams;
  for (int r = 0; r < MAXX; r++) free(f->runs[r]), f->runs[r] = NULL;
  f->noff = f->nsz = f->ntok = 0;
  schedopt_fit_laws *lw = &f->laws;
  lw->size_ref = lw->tokens_ref = NAN;
  lw->tokens_exp = o->tokens_exp;
  lw->tokens_offset = isnan(o->tokens_offset) ? 0 : o->tokens_offset;
  lw->noise_param = noise_param(f->type);
  for (int a = 0; a < 4; a++) f->ranges[a][0] = f->ranges[a][1] = NAN;
  int nsize = 0, ntok = 0, nfit = 0;
  double smin = INFINITY, smax = -INFINITY, bref = NAN, bmin = INFINITY, bmax = -INFINITY;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    if (c->role != SCHEDOPT_CURVE_FIT) continue;
    nfit++;
    if (isfinite(c->size)) nsize++, smin = fmin(smin, c->size), smax = fmax(smax, c->size);
    if (isfinite(c->tokens)) {
      if (!ntok) bref = c->tokens;
      ntok++;
      bmin = fmin(bmin, c->tokens), bmax = fmax(bmax, c->tokens);
    }
    size_t K;
    const double *eta = schedopt_losscurve_lr(c->c, &K);
    double pk = 0;
    for (size_t k = 0; k < K; k++) pk = fmax(pk, eta[k]);
    double v[4] = {pk, (double)K, c->tokens, c->size};
    for (int a = 0; a < 4; a++) {
      if (isnan(v[a])) continue;
      f->ranges[a][0] = isnan(f->ranges[a][0]) ? v[a] : fmin(f->ranges[a][0], v[a]);
      f->ranges[a][1] = isnan(f->ranges[a][1]) ? v[a] : fmax(f->ranges[a][1], v[a]);
    }
  }
  if ((nsize && nsize < nfit) || (ntok && ntok < nfit))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fit: %s is given for %d of the %d fit curves: give it for every "
                              "fit curve or for none",
                              nsize && nsize < nfit ? "model_size" : "tokens_per_step",
                              nsize && nsize < nfit ? nsize : ntok, nfit);
  int anylaw = 0;
  for (size_t k = 0; k < np; k++) anylaw |= lw->size_law[k] != SCHEDOPT_SIZE_NONE;
  if (nsize) lw->size_ref = smax; /* θ is reported at the largest fitted size */
  if (nsize && smax > smin && !anylaw)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fit: the fit curves have models of %g to %g parameters: give "
                              "size laws (e.g. size: {L0: {law: shifted, shift: 1.7}, A: power})",
                              smin, smax);
  if (anylaw && !(nsize && smax > smin))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fit: size laws need fit curves of at least two model sizes "
                              "(model_size per curve)");
  if (ntok) lw->tokens_ref = bref;
  if (ntok && lw->noise_param < 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fit: %s has no noise amplitude for tokens_per_step", f->type->name);
  for (size_t ci = 0; ci < f->ncv && ntok; ci++) /* every curve above c */
    if (isfinite(f->cv[ci].tokens)) bmin = fmin(bmin, f->cv[ci].tokens);
  if (!isnan(o->tokens_offset) && ntok && !(o->tokens_offset < bmin))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fit: tokens_offset = %g must be below the smallest tokens per "
                              "step of the curves (%g)", o->tokens_offset, bmin);
  f->tokmin = bmin;
  /* c is fitted (auto) when two or more batch sizes are fitted */
  f->ntok = isnan(o->tokens_offset) && ntok && bmax > bmin;
  /* runs: labels of the fit curves, in order of appearance */
  int nrun = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) f->cv[ci].runi = -1;
  if (o->offsets) {
    for (size_t ci = 0; ci < f->ncv; ci++) {
      fcurve *c = &f->cv[ci];
      const char *lab = c->run ? c->run : schedopt_losscurve_name(c->c);
      int r = 0;
      while (r < nrun && strcmp(f->runs[r], lab)) r++;
      if (r == nrun) {
        if (c->role != SCHEDOPT_CURVE_FIT) continue; /* an unseen run: the mean level */
        if (nrun == MAXX / 2)
          return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit: more than %d runs", MAXX / 2);
        if (!(f->runs[nrun++] = strdup(lab)))
          return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      }
      c->runi = r;
    }
    f->noff = nrun > 1 ? nrun - 1 : 0;
    if (nrun < 2)
      for (size_t ci = 0; ci < f->ncv; ci++) f->cv[ci].runi = -1;
  }
  for (size_t k = 0; k < np; k++)
    if (lw->size_law[k] != SCHEDOPT_SIZE_NONE) f->szp[f->nsz++] = (int)k;
  f->next = np + (size_t)f->noff + (size_t)f->nsz + (size_t)f->ntok;
  for (size_t k = 0; k < np; k++) snprintf(f->ename[k], sizeof f->ename[k], "%s", f->type->params[k].name);
  for (int r = 0; r < f->noff; r++)
    snprintf(f->ename[np + (size_t)r], sizeof f->ename[0], "offset[%.50s]", f->runs[r]);
  for (int j = 0; j < f->nsz; j++)
    snprintf(f->ename[np + (size_t)f->noff + (size_t)j], sizeof f->ename[0], "size_exponent[%s]",
             f->type->params[f->szp[j]].name);
  if (f->ntok) snprintf(f->ename[f->next - 1], sizeof f->ename[0], "tokens_offset");
  for (size_t k = np; k < f->next; k++) f->theta[k] = 0;
  for (size_t k = 0; k <= MAXX; k++) f->names_ptr[k] = k < f->next ? f->ename[k] : NULL;
  return SCHEDOPT_OK;
}

static schedopt_status setup_ctx(schedopt_fit *f, const schedopt_fit_options *o, objctx *c,
                                 double *xl, double *xu, schedopt_error *err) {
  memset(c, 0, sizeof *c);
  c->f = f;
  c->o = o;
  c->err = err;
  c->ftol = o->ftol_rel;
  c->xtol = o->xtol_rel;
  c->maxeval = o->maxeval;
  size_t maxnf = 1;
  for (size_t ci = 0; ci < f->ncv; ci++)
    if (f->cv[ci].nf > maxnf) maxnf = f->cv[ci].nf;
  size_t np = f->type->nparams;
  c->L = malloc(maxnf * sizeof *c->L);
  c->dL = malloc(maxnf * np * sizeof *c->dL);
  c->steps = malloc(maxnf * sizeof *c->steps);
  if (!c->L || !c->dL || !c->steps) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t k = 0; k < np; k++)
    for (size_t e = 0; e < sizeof priors / sizeof *priors; e++)
      if (!strcmp(priors[e].type, f->type->name) && !strcmp(priors[e].param, f->type->params[k].name)) {
        c->has_prior[k] = 1;
        c->pc[k] = f->type->params[k].log_scale ? log(priors[e].centre) : priors[e].centre;
        c->pw[k] = priors[e].width;
      }
  /* the peak lr over the fitted curves (the reference of coupled scales) */
  double emax = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    if (!f->cv[ci].nf) continue;
    size_t K;
    const double *eta = schedopt_losscurve_lr(f->cv[ci].c, &K);
    for (size_t k = 0; k < K; k++) emax = fmax(emax, eta[k]);
  }
  c->lnref = emax > 0 ? log(emax) : 0;
  for (size_t k = 0; k < f->next; k++) {
    if (k < np && f->fixed[k]) continue;
    c->cpl[c->nx] = -1;
    c->xs[c->nx] = 1;
    if (f->ntok && k == f->next - 1) { /* c of ((b_ref − c)/(b − c))^ω, below every b */
      c->xs[c->nx] = f->tokmin;
      xl[c->nx] = 0;
      xu[c->nx] = 0.9;
      c->map[c->nx++] = (int)k;
      continue;
    }
    if (k >= np) { /* offsets (loss units) and size exponents */
      int sz = k >= np + (size_t)f->noff;
      xl[c->nx] = sz ? -3 : -1;
      xu[c->nx] = sz ? 3 : 1;
      if (sz && f->laws.size_law[f->szp[k - np - (size_t)f->noff]] == SCHEDOPT_SIZE_LOG)
        xl[c->nx] = -10, xu[c->nx] = 10;
      c->map[c->nx++] = (int)k;
      continue;
    }
    const schedopt_surrogate_param *p = &f->type->params[k];
    double lo = f->lo[k], hi = f->hi[k];
    if (p->log_scale) {
      lo = log(lo > 0 ? lo : 1e-300);
      hi = log(hi);
    }
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

/* ------------------------------------------------------- cross-validation */

/* Fold k of the prior's cross-validation: weights 1 on its training points,
 * 0 on the rest; hold[] marks the held-out points.  Folds: one per fit curve
 * left out (with ≥ 2 fit curves, no offsets, and the remaining curves still
 * spanning the fitted sizes), then the horizon fold (the last third of the
 * fitted steps).  Returns 0 when fold k does not exist or is unusable. */
static int set_fold(schedopt_fit *f, int k, size_t nfree, const schedopt_fit_options *o) {
  size_t nfit = 0, maxstep = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    if (!c->nf) continue;
    nfit++;
    size_t s = c->pout[c->fout[c->nf - 1]];
    if (s > maxstep) maxstep = s;
  }
  int loco = nfit >= 2 && !o->offsets;
  size_t cut = maxstep * 2 / 3;
  size_t train = 0, held = 0, idx = 0;
  int found = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    fcurve *c = &f->cv[ci];
    if (!c->nf) continue;
    int out = loco && (int)idx == k;
    if (out) found = 1;
    for (size_t m = 0; m < c->nf; m++) {
      int h = out || (k == (loco ? (int)nfit : 0) && c->pout[c->fout[m]] > cut);
      c->hold[m] = (char)h;
      c->wt[m] = h ? 0 : 1;
      train += !h;
      held += (size_t)h;
    }
    idx++;
  }
  if (k == (loco ? (int)nfit : 0)) found = 1;
  if (!found || !held || train < nfree) return 0;
  /* sizes: the training curves must still span two sizes if laws are fitted */
  if (f->nsz) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t ci = 0; ci < f->ncv; ci++) {
      fcurve *c = &f->cv[ci];
      int any = 0;
      for (size_t m = 0; m < c->nf; m++) any |= c->wt[m] > 0;
      if (any) lo = fmin(lo, c->size), hi = fmax(hi, c->size);
    }
    if (!(hi > lo)) return 0;
  }
  return 1;
}

static int nfolds_max(const schedopt_fit *f) {
  int n = 1;
  for (size_t ci = 0; ci < f->ncv; ci++) n += f->cv[ci].nf > 0;
  return n;
}

/* MAE (observed scale) over the held-out points at the extended θ. */
static double held_mae(objctx *c, const double *th) {
  schedopt_fit *f = c->f;
  double s = 0;
  size_t n = 0;
  for (size_t ci = 0; ci < f->ncv && !c->st; ci++) {
    fcurve *fc = &f->cv[ci];
    size_t nh = 0;
    for (size_t m = 0; m < fc->nf; m++) nh += (size_t)fc->hold[m];
    if (!nh) continue;
    size_t K;
    const double *eta = schedopt_losscurve_lr(fc->c, &K);
    double thc[MAXP];
    curve_theta(f, fc, th, thc, NULL, NULL, NULL);
    for (size_t m = 0; m < fc->nf; m++) c->steps[m] = fc->pout[fc->fout[m]];
    schedopt_surrogate_input in = {eta, K, c->steps, fc->nf, fc->T};
    if ((c->st = f->type->predict(thc, &in, c->o->method, c->o->tol, c->L, NULL, c->err)))
      return HUGE_VAL;
    for (size_t m = 0; m < fc->nf; m++)
      if (fc->hold[m]) s += fabs(c->L[m] - exp(fc->flog[m])), n++;
  }
  return n ? s / (double)n : HUGE_VAL;
}

/* ------------------------------------------------------- identifiability */

/* Eigenvalues (ascending into ev) and vectors (columns of V) of the
 * symmetric n × n matrix A (destroyed), by cyclic Jacobi rotations. */
static void sym_eigen(double *A, int n, double *ev, double *V) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) V[i * n + j] = i == j;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off < 1e-30) break;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) {
        double apq = A[p * n + q];
        if (fabs(apq) < 1e-300) continue;
        double th = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
        double cs = 1 / sqrt(t * t + 1), sn = t * cs;
        for (int k = 0; k < n; k++) { /* A ← Jᵀ A J */
          double akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = cs * akp - sn * akq;
          A[k * n + q] = sn * akp + cs * akq;
        }
        for (int k = 0; k < n; k++) {
          double apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = cs * apk - sn * aqk;
          A[q * n + k] = sn * apk + cs * aqk;
        }
        for (int k = 0; k < n; k++) {
          double vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = cs * vkp - sn * vkq;
          V[k * n + q] = sn * vkp + cs * vkq;
        }
      }
  }
  for (int i = 0; i < n; i++) ev[i] = A[i * n + i];
  for (int i = 0; i < n; i++) /* selection sort, ascending, with the vectors */
    for (int j = i + 1; j < n; j++)
      if (ev[j] < ev[i]) {
        double t = ev[i];
        ev[i] = ev[j], ev[j] = t;
        for (int k = 0; k < n; k++) t = V[k * n + i], V[k * n + i] = V[k * n + j], V[k * n + j] = t;
      }
}

/* Condition of the Gauss–Newton Hessian of the objective in the search
 * variables at th (data part + prior), and its flattest direction. */
static schedopt_status identifiability(objctx *c, const double *th, schedopt_error *err) {
  schedopt_fit *f = c->f;
  size_t ne = f->next;
  int nx = c->nx;
  f->cond = NAN;
  memset(f->weak, 0, sizeof f->weak);
  if (!nx) return SCHEDOPT_OK;
  double *He = calloc(ne * ne, sizeof *He), *J = malloc(ne * (size_t)nx * sizeof *J),
         *Hx = calloc((size_t)nx * (size_t)nx, sizeof *Hx), *V = malloc((size_t)nx * (size_t)nx * sizeof *V),
         ev[MAXX] = {0};
  if (!He || !J || !Hx || !V) {
    free(He), free(J), free(Hx), free(V);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  c->H = He;
  objective_theta(c, th, NULL);
  c->H = NULL;
  if (c->st) {
    free(He), free(J), free(Hx), free(V);
    return c->st;
  }
  for (size_t a = 0; a < ne * ne; a++) He[a] /= c->wsum;
  double d2 = c->rho * c->o->huber_delta * c->o->huber_delta;
  for (size_t k = 0; k < f->type->nparams; k++) /* the prior's curvature, in u = ln θ or θ */
    if (c->rho > 0 && c->has_prior[k] && !f->fixed[k]) {
      double du = f->type->params[k].log_scale ? 1 / th[k] : 1;
      He[k * ne + k] += d2 / (c->pw[k] * c->pw[k]) * du * du;
    }
  dtheta_dx(c, th, J);
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < nx; j++) {
      double s = 0;
      for (size_t a = 0; a < ne; a++) {
        double Ja = J[a * (size_t)nx + (size_t)i];
        if (Ja == 0) continue;
        for (size_t b = 0; b < ne; b++) s += Ja * He[a * ne + b] * J[b * (size_t)nx + (size_t)j];
      }
      Hx[i * nx + j] = s;
    }
  sym_eigen(Hx, nx, ev, V);
  f->cond = ev[0] > 0 ? ev[nx - 1] / ev[0] : INFINITY;
  for (int i = 0; i < nx; i++) f->weak[c->map[i]] = V[i * nx + 0];
  free(He), free(J), free(Hx), free(V);
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------------------- run */

schedopt_status schedopt_fit_run(schedopt_fit *f, const schedopt_fit_options *opts,
                                 schedopt_error *err) {
  if (!f) return schedopt_error_set(err, SCHEDOPT_EINVAL, "fit_run: NULL argument");
  schedopt_fit_options def;
  if (!opts) {
    schedopt_fit_options_default(&def);
    opts = &def;
  }
  schedopt_status st;
  if ((st = check_options(opts, err)) || (st = select_points(f, opts->max_points, err)) ||
      (st = prepare_ext(f, opts, err)))
    return st;
  size_t np = f->type->nparams, nfree = 0, ne = f->next;
  for (size_t i = 0; i < np; i++) nfree += !f->fixed[i];
  nfree += ne - np;
  if (f->npoints < nfree) /* the parameters are not determined: refused, not "fitted" */
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%zu data point%s for %zu free parameters (%s): give more "
                              "logged steps or fix parameters",
                              f->npoints, f->npoints == 1 ? "" : "s", nfree, f->type->name);
  double t0 = now_seconds(), u0 = cpu_seconds();
  double th0[MAXX] = {0};
  if ((st = data_start(f, th0, err))) return st;
  objctx c;
  double xl[MAXX], xu[MAXX];
  if ((st = setup_ctx(f, opts, &c, xl, xu, err))) {
    free_ctx(&c);
    return st;
  }
  memcpy(c.base, th0, sizeof c.base);
  c.t0 = t0;
  c.pg.best = HUGE_VAL;
  uint64_t rng = (uint64_t)opts->seed * 0x2545F4914F6CDD1Dull + 1;
  double x0[MAXX], best_x[MAXX], best_f = HUGE_VAL;
  theta_to_x(&c, th0, x0);
  double (*sx)[MAXX] = calloc((size_t)opts->starts, sizeof *sx);
  double *sf = calloc((size_t)opts->starts, sizeof *sf);
  if (!sx || !sf) {
    free(sx), free(sf), free_ctx(&c);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }

  /* the prior's strength: given, or chosen by cross-validation — for each
   * fold, fits along the grid from strong to weak (each from the previous
   * one), scored on the fold's held-out points */
  static const double grid[] = {1, 0.1, 0.01, 0.001, 0};
  const size_t ng = sizeof grid / sizeof *grid;
  f->ngrid = 0;
  f->nfolds = 0;
  f->prior_used = isnan(opts->prior) ? 0 : opts->prior;
  int any_prior = 0;
  for (size_t k = 0; k < np; k++) any_prior |= c.has_prior[k] && !f->fixed[k];
  if (isnan(opts->prior) && any_prior) {
    int nfm = nfolds_max(f);
    double cvs[SCHEDOPT_FIT_MAXGRID] = {0};
    c.pg.stage = "cross-validation";
    c.pg.n = nfm;
    /* the folds rank ρ by held-out MAE: fits to 1e-7 of the objective are
     * enough for that (the final fit uses the full tolerances) */
    c.ftol = fmax(opts->ftol_rel, 1e-7);
    c.xtol = fmax(opts->xtol_rel, 1e-5);
    c.maxeval = opts->maxeval < 200 ? opts->maxeval : 200;
    for (int k = 0; k < nfm && !c.st; k++) {
      if (!set_fold(f, k, nfree, opts)) continue;
      c.pg.k = k + 1;
      c.wsum = weight_sum(f);
      double x[MAXX];
      memcpy(x, x0, sizeof x);
      for (size_t g = 0; g < ng && !c.st; g++) {
        c.rho = grid[g];
        local_opt(&c, x, xl, xu);
        double th[MAXX];
        x_to_theta(&c, x, th);
        cvs[g] += held_mae(&c, th);
      }
      f->nfolds++;
    }
    for (size_t ci = 0; ci < f->ncv; ci++)
      for (size_t m = 0; m < f->cv[ci].nf; m++) f->cv[ci].wt[m] = 1, f->cv[ci].hold[m] = 0;
    if (c.st) {
      st = c.st;
      goto done;
    }
    if (f->nfolds) {
      size_t gb = 0;
      f->ngrid = ng;
      for (size_t g = 0; g < ng; g++) {
        f->grid[g] = grid[g];
        f->cverr[g] = cvs[g] / f->nfolds;
        if (f->cverr[g] < f->cverr[gb]) gb = g;
      }
      /* the strongest prior within 2 % of the best held-out error */
      size_t gs = gb;
      for (size_t g = 0; g < gb; g++)
        if (f->cverr[g] <= 1.02 * f->cverr[gb]) {
          gs = g;
          break;
        }
      f->prior_used = grid[gs];
    }
  }
  c.rho = f->prior_used;
  c.wsum = weight_sum(f);

  /* multi-start fit at the chosen strength: every start to a loose
   * tolerance and at most 200 evaluations, then the ones within 10 % of the
   * best polished to the full tolerance (a start that ends far above the
   * best is not worth the evaluations; on the mpl-llama and gpt-100m fits
   * this reaches the same objectives with half the evaluations) */
  c.pg.stage = "start";
  c.pg.n = opts->starts;
  c.pg.best = HUGE_VAL;
  f->best_start = 0;
  c.ftol = opts->starts > 1 ? fmax(opts->ftol_rel, 1e-8) : opts->ftol_rel;
  c.xtol = opts->starts > 1 ? fmax(opts->xtol_rel, 1e-6) : opts->xtol_rel;
  c.maxeval = opts->starts > 1 && opts->maxeval > 800 ? 200 : opts->maxeval;
  for (int s = 0; s < opts->starts && !c.st; s++) {
    double x[MAXX];
    c.pg.k = s + 1;
    memcpy(x, x0, sizeof x);
    if (s > 0)
      for (int i = 0; i < c.nx; i++) {
        double u = 2 * rng_unif(&rng) - 1;
        x[i] += ext_log_scale(f, c.map[i]) ? u * log(10.0) : 0.25 * u * (xu[i] - xl[i]);
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
  if (!c.st && opts->starts > 1) { /* polish: the starts within 10 % of the best */
    c.ftol = opts->ftol_rel;
    c.xtol = opts->xtol_rel;
    c.maxeval = opts->maxeval;
    double cut = best_f + 0.1 * fabs(best_f);
    int npol = 0, kp = 0;
    for (int s = 0; s < opts->starts; s++) npol += sf[s] <= cut;
    c.pg.stage = "polish";
    c.pg.n = npol;
    c.pg.best = HUGE_VAL;
    for (int s = 0; s < opts->starts && !c.st; s++) {
      if (!(sf[s] <= cut)) continue;
      c.pg.k = ++kp;
      sf[s] = local_opt(&c, sx[s], xl, xu);
    }
    best_f = HUGE_VAL;
    for (int s = 0; s < opts->starts; s++)
      if (sf[s] < best_f) {
        best_f = sf[s];
        memcpy(best_x, sx[s], sizeof best_x);
        f->best_start = s;
      }
  }
  c.ftol = opts->ftol_rel;
  c.xtol = opts->xtol_rel;
  c.maxeval = opts->maxeval;
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
  for (int j = 0; j < f->nsz; j++) f->laws.size_exp[f->szp[j]] = f->theta[np + (size_t)f->noff + (size_t)j];
  if (f->ntok) f->laws.tokens_offset = f->theta[ne - 1];
  /* a parameter the optimum leaves on a bound of its search box is pinned
   * by the box, not by the data: reported, never silent */
  memset(f->at_bound, 0, sizeof f->at_bound);
  for (int i = 0; i < c.nx; i++) {
    const double tol = 1e-6 * (xu[i] - xl[i]);
    f->at_bound[c.map[i]] = best_x[i] <= xl[i] + tol ? -1 : best_x[i] >= xu[i] - tol ? 1 : 0;
  }
  f->objective = best_f;
  f->starts = opts->starts;
  if ((st = identifiability(&c, f->theta, err))) goto done;
  /* spread of the starts that reach (nearly) the best objective: the final
   * loss they predict on every curve */
  f->spread = 0;
  for (size_t ci = 0; ci < f->ncv && !st; ci++) {
    fcurve *fc = &f->cv[ci];
    size_t K, last = fc->pout[fc->np - 1];
    const double *eta = schedopt_losscurve_lr(fc->c, &K);
    schedopt_surrogate_input in = {eta, K, &last, 1, fc->T};
    double ref, lo = HUGE_VAL, hi = -HUGE_VAL, thc[MAXP];
    curve_theta(f, fc, f->theta, thc, NULL, NULL, NULL);
    if ((st = f->type->predict(thc, &in, opts->method, opts->tol, &ref, NULL, err))) break;
    for (int s = 0; s < opts->starts; s++) {
      if (!(sf[s] <= best_f + 1e-3 * fabs(best_f) + 1e-15)) continue;
      double th[MAXX], v;
      x_to_theta(&c, sx[s], th);
      curve_theta(f, fc, th, thc, NULL, NULL, NULL);
      if ((st = f->type->predict(thc, &in, opts->method, opts->tol, &v, NULL, err))) break;
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
  free(f->boot), free(f->bootx);
  f->boot = f->bootx = NULL;
  for (size_t ci = 0; ci < f->ncv; ci++) {
    free(f->cv[ci].lo), free(f->cv[ci].hi);
    f->cv[ci].lo = f->cv[ci].hi = NULL;
  }
  if (opts->bootstrap > 0) {
    int B = opts->bootstrap;
    size_t nxe = ne - np;
    double **preds = calloc(f->ncv * (size_t)B, sizeof *preds);
    double *thb = calloc((size_t)B * ne, sizeof *thb);
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
      double x[MAXX];
      memcpy(x, best_x, sizeof x);
      local_opt(&c, x, xl, xu);
      if (c.st) {
        st = c.st;
        break;
      }
      x_to_theta(&c, x, thb + (size_t)b * ne);
      double **row = preds + (size_t)b * f->ncv;
      for (size_t ci = 0; ci < f->ncv; ci++)
        if (!(row[ci] = malloc((f->cv[ci].n ? f->cv[ci].n : 1) * sizeof **row))) {
          st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
          break;
        }
      if (!st) st = predict_all(f, thb + (size_t)b * ne, opts, row, err);
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
      for (size_t k = 0; k < ne && !st; k++) {
        double mean = 0, ss = 0;
        for (int b = 0; b < B; b++) mean += thb[(size_t)b * ne + k];
        mean /= B;
        for (int b = 0; b < B; b++) {
          double d = thb[(size_t)b * ne + k] - mean;
          ss += d * d;
        }
        f->sd[k] = B > 1 ? sqrt(ss / (B - 1)) : 0;
      }
      f->have_sd = !st;
    }
    for (size_t i = 0; i < f->ncv * (size_t)B; i++) free(preds[i]);
    free(preds);
    /* split into θ at the references and the extras */
    f->boot = malloc((size_t)B * np * sizeof *f->boot);
    f->bootx = nxe ? malloc((size_t)B * nxe * sizeof *f->bootx) : NULL;
    if (!f->boot || (nxe && !f->bootx)) {
      if (!st) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    } else
      for (int b = 0; b < B; b++) {
        memcpy(f->boot + (size_t)b * np, thb + (size_t)b * ne, np * sizeof *thb);
        if (nxe) memcpy(f->bootx + (size_t)b * nxe, thb + (size_t)b * ne + np, nxe * sizeof *thb);
      }
    free(thb);
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
  schedopt_fit_options o2 = *opts;
  o2.offsets = 0; /* given parameters: no offsets, exponents 0 */
  if ((st = prepare_ext(f, &o2, err))) return st; /* the extras are 0: θ as given */
  memcpy(f->theta, theta, f->type->nparams * sizeof *theta);
  f->have_sd = 0;
  f->nboot = 0;
  free(f->boot), free(f->bootx);
  f->boot = f->bootx = NULL;
  f->starts = 0;
  f->evals = 0;
  f->seconds = 0;
  f->cpu = 0;
  f->spread = 0;
  f->objective = NAN;
  f->ngrid = 0;
  f->prior_used = 0;
  f->cond = NAN;
  int any_fit = 0;
  for (size_t ci = 0; ci < f->ncv; ci++) any_fit |= f->cv[ci].role == SCHEDOPT_CURVE_FIT;
  if (any_fit) {
    if ((st = select_points(f, opts->max_points, err))) return st;
    objctx c;
    double xl[MAXX], xu[MAXX];
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
  static const char *const none[1] = {NULL};
  s->theta = f->theta;
  s->theta_sd = f->have_sd ? f->sd : NULL;
  s->boot_theta = f->have_sd ? f->boot : NULL;
  s->boot_extra = f->have_sd ? f->bootx : NULL;
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
  s->nextra = f->next > f->type->nparams ? f->next - f->type->nparams : 0;
  s->names = f->names_ptr[0] ? (const char *const *)f->names_ptr : none;
  s->laws = &f->laws;
  s->runs = f->noff ? (const char *const *)f->runs : NULL;
  s->noffsets = f->noff;
  s->prior = f->prior_used;
  s->ngrid = f->ngrid;
  s->grid = f->grid;
  s->cv_error = f->cverr;
  s->folds = f->nfolds;
  s->condition = f->cond;
  s->weakest = f->weak;
  s->range = (const double(*)[2])f->ranges;
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

