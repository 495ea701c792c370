/* design.c — learning-rate schedule design under a loss-curve surrogate
 * (schedopt/design.h): baselines tuned by golden-section search, the WSD
 * family by BOBYQA, free forms by NLopt with the exact per-step gradient. */
#define _POSIX_C_SOURCE 200809L
#include "schedopt/design.h"
#include "optimize/optimize_impl.h"

#include <math.h>
#include <nlopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PI 3.14159265358979323846
#define NBASE_MAX 6
#define NTRAIN_MAX 32
#define MAX_KNOTS 4096

static const char *const param_names[] = {"knots", "steps", "wsd"};
static const char *const alg_names[] = {"lbfgs", "mma", "ccsaq"};
static const char *const warmup_names[] = {"linear", "cosine"};

static int find_name(const char *const *names, int n, const char *s) {
  for (int i = 0; s && i < n; i++)
    if (!strcmp(names[i], s)) return i;
  return -1;
}
const char *schedopt_lrdesign_param_name(schedopt_lrdesign_param p) {
  return (unsigned)p < 3 ? param_names[p] : "unknown";
}
int schedopt_lrdesign_param_find(const char *name) { return find_name(param_names, 3, name); }
const char *schedopt_lrdesign_algorithm_name(schedopt_lrdesign_algorithm a) {
  return (unsigned)a < 3 ? alg_names[a] : "unknown";
}
int schedopt_lrdesign_algorithm_find(const char *name) { return find_name(alg_names, 3, name); }
const char *schedopt_warmup_shape_name(schedopt_warmup_shape s) {
  return (unsigned)s < 2 ? warmup_names[s] : "unknown";
}
int schedopt_warmup_shape_find(const char *name) { return find_name(warmup_names, 2, name); }

/* ------------------------------------------------------------------ handle */

struct schedopt_lrdesign {
  const schedopt_surrogate *user;
  schedopt_surrogate *ds; /* a copy evaluated by the direct sum (what grad_lr differentiates) */
  size_t K, W;
  double tokens_per_step;
  double peak, floor;
  int tune_peak;
  schedopt_warmup_shape wshape;
  schedopt_lrdesign_param param;
  size_t knots;
  int monotone;
  schedopt_lrdesign_algorithm alg;
  double ftol;
  int maxeval;
  int baselines_on;
  double *boot, level;
  size_t nboot;
  /* work */
  double *g, *work;
  long evals;
  schedopt_status fail; /* first evaluation failure */
  schedopt_error ferr;
  /* results */
  int done;
  double *eta, *loss, final_loss, band_lo, band_hi;
  double gain_lo, gain_hi; /* the refits' paired gains over the best baseline */
  schedopt_lrdesign_baseline base[NBASE_MAX];
  double *blr[NBASE_MAX]; /* their schedules (owned) */
  size_t nbase;
  const schedopt_trainer_type *ttypes[NTRAIN_MAX];
  size_t nttypes;
  schedopt_lrdesign_trainer tr[NTRAIN_MAX];
  double *tlr[NTRAIN_MAX]; /* their schedules (owned) */
  size_t ntr;
  double wsd_f, wsd_p, wsd_e, wsd_peak;
  long design_evals;
  double cpu, wall;
  const char *nlopt_status;
};

schedopt_status schedopt_lrdesign_alloc(schedopt_lrdesign **out, const schedopt_surrogate *s,
                                      schedopt_error *err) {
  if (!out || !s) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_alloc: NULL argument");
  schedopt_lrdesign *d = calloc(1, sizeof *d);
  if (!d) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_status st = schedopt_surrogate_alloc(&d->ds, schedopt_surrogate_get_type(s), err);
  if (st) {
    free(d);
    return st;
  }
  d->user = s;
  d->knots = 64;
  d->monotone = 1;
  d->alg = SCHEDOPT_LRDESIGN_LBFGS;
  d->ftol = 1e-10;
  d->maxeval = 3000;
  d->baselines_on = 1;
  d->level = 0.9;
  *out = d;
  return SCHEDOPT_OK;
}

static void clear_results(schedopt_lrdesign *d) {
  for (size_t i = 0; i < d->nbase; i++) free(d->blr[i]);
  d->nbase = 0;
  for (size_t i = 0; i < d->ntr; i++) free(d->tlr[i]);
  d->ntr = 0;
  free(d->eta), free(d->loss), free(d->g), free(d->work);
  d->eta = d->loss = d->g = d->work = NULL;
  d->done = 0;
}

void schedopt_lrdesign_free(schedopt_lrdesign *d) {
  if (!d) return;
  clear_results(d);
  free(d->boot);
  schedopt_surrogate_free(d->ds);
  free(d);
}

schedopt_status schedopt_lrdesign_set_steps(schedopt_lrdesign *d, size_t K, schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: NULL argument");
  if (K < 2 || K > SCHEDOPT_LRDESIGN_MAX_STEPS)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "steps = %zu is out of range: must be in [2, %d]", K,
                              SCHEDOPT_LRDESIGN_MAX_STEPS);
  d->K = K;
  d->tokens_per_step = 0;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_set_tokens(schedopt_lrdesign *d, double tokens, double batch,
                                           double seq_len, schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: NULL argument");
  if (!(batch >= 1) || !isfinite(batch) || !(seq_len >= 1) || !isfinite(seq_len))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "batch = %g and seq_len = %g must be finite and >= 1", batch,
                              seq_len);
  double per = batch * seq_len, K = floor(tokens / per * (1 + 1e-12));
  if (!isfinite(tokens) || !(K >= 2) || K > SCHEDOPT_LRDESIGN_MAX_STEPS)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "tokens = %g with %g tokens per step gives %.0f steps: must be in "
                              "[2, %d]",
                              tokens, per, isfinite(K) ? K : -1.0, SCHEDOPT_LRDESIGN_MAX_STEPS);
  d->K = (size_t)K;
  d->tokens_per_step = per;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_set_lr(schedopt_lrdesign *d, double peak, double floor_,
                                       int tune_peak, schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: NULL argument");
  if (!(peak > 0) || !isfinite(peak))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "peak = %g must be a finite number > 0",
                              peak);
  if (!(floor_ >= 0) || !(floor_ < peak))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "floor = %g is out of range: must be in [0, peak = %g)", floor_,
                              peak);
  d->peak = peak;
  d->floor = floor_;
  d->tune_peak = tune_peak != 0;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_set_warmup(schedopt_lrdesign *d, size_t W,
                                           schedopt_warmup_shape shape, schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: NULL argument");
  if ((unsigned)shape > 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "warmup shape %d: must be linear or cosine",
                              (int)shape);
  d->W = W;
  d->wshape = shape;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_set_param(schedopt_lrdesign *d, schedopt_lrdesign_param p,
                                          size_t knots, int monotone, schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: NULL argument");
  if ((unsigned)p > 2)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "parametrization %d: must be knots, steps "
                              "or wsd", (int)p);
  if (p == SCHEDOPT_LRDESIGN_KNOTS && (knots < 2 || knots > MAX_KNOTS))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "knots = %zu is out of range: must be in [2, %d]", knots, MAX_KNOTS);
  d->param = p;
  if (p == SCHEDOPT_LRDESIGN_KNOTS) d->knots = knots;
  d->monotone = monotone != 0;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_set_algorithm(schedopt_lrdesign *d, schedopt_lrdesign_algorithm a,
                                              double ftol_rel, int maxeval,
                                              schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: NULL argument");
  if ((unsigned)a > 2)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "algorithm %d: must be lbfgs, mma or ccsaq",
                              (int)a);
  if (!(ftol_rel >= 0 && ftol_rel <= 1e-2))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "ftol_rel = %g is out of range: must be in [0, 0.01]", ftol_rel);
  if (maxeval < 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "maxeval = %d must be >= 1", maxeval);
  d->alg = a;
  d->ftol = ftol_rel;
  d->maxeval = maxeval;
  return SCHEDOPT_OK;
}

void schedopt_lrdesign_set_baselines(schedopt_lrdesign *d, int on) {
  if (d) d->baselines_on = on != 0;
}

schedopt_status schedopt_lrdesign_set_trainers(schedopt_lrdesign *d,
                                             const schedopt_trainer_type *const *types, size_t n,
                                             schedopt_error *err) {
  if (!d || (n && !types))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_set_trainers: NULL argument");
  if (n > NTRAIN_MAX)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%zu trainer schedule types: at most %d", n,
                              NTRAIN_MAX);
  for (size_t i = 0; i < n; i++)
    if (!types[i])
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_set_trainers: types[%zu] is NULL", i);
  for (size_t i = 0; i < n; i++) d->ttypes[i] = types[i];
  d->nttypes = n;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_set_band(schedopt_lrdesign *d, const double *boot, size_t nboot,
                                         double level, schedopt_error *err) {
  if (!d || (nboot && !boot))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_set_band: NULL argument");
  if (!(level > 0 && level < 1))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "level = %g must be in (0, 1)", level);
  size_t np = schedopt_surrogate_get_type(d->user)->nparams;
  double *b = NULL;
  if (nboot) {
    if (!(b = malloc(nboot * np * sizeof *b)))
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    memcpy(b, boot, nboot * np * sizeof *b);
  }
  free(d->boot);
  d->boot = b;
  d->nboot = nboot;
  d->level = level;
  return SCHEDOPT_OK;
}

/* ------------------------------------------------------------- evaluation */

/* Final loss of eta (all K steps) and, if g, its gradient over every step.
 * Returns nonzero after a failure (kept in d->fail/ferr). */
/* The final loss by surrogate s (and, if g, its gradient over every step). */
static int evaluate_with(schedopt_lrdesign *d, const schedopt_surrogate *s, const double *eta,
                         double *L, double *g) {
  size_t out = d->K - 1;
  double one = 1;
  schedopt_surrogate_input in = {eta, d->K, &out, 1, NULL};
  schedopt_status st;
  d->evals++;
  if (g) st = schedopt_surrogate_grad_lr(s, &in, &one, L, g, &d->ferr);
  else st = schedopt_surrogate_predict(s, &in, L, NULL, &d->ferr);
  if (!st && !isfinite(*L))
    st = schedopt_error_set(&d->ferr, SCHEDOPT_ESOLVER, "the surrogate's loss is not finite");
  if (st && !d->fail) d->fail = st;
  return st != SCHEDOPT_OK;
}

static int evaluate(schedopt_lrdesign *d, const double *eta, double *L, double *g) {
  return evaluate_with(d, d->ds, eta, L, g);
}

static void fill_warmup(const schedopt_lrdesign *d, double peak, double *eta) {
  for (size_t k = 0; k < d->W; k++) {
    double x = (double)k / (double)d->W;
    eta[k] = d->wshape == SCHEDOPT_WARMUP_COSINE ? peak * 0.5 * (1 - cos(PI * x)) : peak * x;
  }
}

/* ------------------------------------------------------------- baselines */

enum { B_CONSTANT, B_COSINE, B_WSD_LINEAR, B_WSD_COSINE, B_WSD_SQRT, B_WSD_EXP };
static const char *const base_names[NBASE_MAX] = {"constant",   "cosine",   "wsd-linear",
                                                  "wsd-cosine", "wsd-sqrt", "wsd-exponential"};

/* The control families of control.h on horizon H = K, sampled at k. */
static void fill_baseline(const schedopt_lrdesign *d, int kind, double pk, double f, double *eta) {
  size_t K = d->K, W = d->W;
  double fl = d->floor, H = (double)K, td = H * (1 - f);
  fill_warmup(d, pk, eta);
  for (size_t k = W; k < K; k++) {
    double t = (double)k, v = pk;
    if (kind == B_COSINE) {
      double u = (t - (double)W) / (H - (double)W);
      v = fl + (pk - fl) * 0.5 * (1 + cos(PI * u));
    } else if (kind >= B_WSD_LINEAR && t > td) {
      double z = (t - td) / (H - td);
      switch (kind) {
      case B_WSD_LINEAR: v = pk + (fl - pk) * z; break;
      case B_WSD_COSINE: v = fl + (pk - fl) * 0.5 * (1 + cos(PI * z)); break;
      case B_WSD_SQRT: v = fl + (pk - fl) * (1 - sqrt(z)); break;
      default: v = exp((1 - z) * log(pk) + z * log(fl)); break;
      }
    }
    eta[k] = v;
  }
}

typedef struct tune1 {
  schedopt_lrdesign *d;
  int kind;
  double pk, f;
  int which; /* 0: tune f, 1: tune ln peak */
} tune1;

static double tune1_eval(tune1 *t, double x) {
  double pk = t->which ? exp(x) : t->pk, f = t->which ? t->f : x, L;
  fill_baseline(t->d, t->kind, pk, f, t->d->work);
  if (evaluate(t->d, t->d->work, &L, NULL)) return INFINITY;
  return L;
}

/* Minimize over [a, b]: a grid of n points, then golden section in the
 * bracket around the best grid point.  Returns the minimizer, *fbest its value. */
static double grid_golden(tune1 *t, double a, double b, int n, double *fbest) {
  double best = INFINITY, xb = a;
  int ib = 0;
  for (int i = 0; i < n; i++) {
    double x = a + (b - a) * i / (n - 1), v = tune1_eval(t, x);
    if (v < best) best = v, xb = x, ib = i;
  }
  double lo = a + (b - a) * (ib > 0 ? ib - 1 : 0) / (n - 1);
  double hi = a + (b - a) * (ib < n - 1 ? ib + 1 : n - 1) / (n - 1);
  const double r = 0.6180339887498949;
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
  double f1 = tune1_eval(t, x1), f2 = tune1_eval(t, x2);
  for (int it = 0; it < 40 && hi - lo > 1e-7 * (fabs(b - a) + 1e-300); it++) {
    if (f1 < f2) {
      hi = x2, x2 = x1, f2 = f1;
      x1 = hi - r * (hi - lo);
      f1 = tune1_eval(t, x1);
    } else {
      lo = x1, x1 = x2, f1 = f2;
      x2 = lo + r * (hi - lo);
      f2 = tune1_eval(t, x2);
    }
  }
  if (f1 < best) best = f1, xb = x1;
  if (f2 < best) best = f2, xb = x2;
  *fbest = best;
  return xb;
}

static schedopt_status run_baselines(schedopt_lrdesign *d, schedopt_error *err) {
  double fmax_ = 1 - (double)d->W / (double)d->K;
  for (int kind = 0; kind < NBASE_MAX; kind++) {
    if (kind == B_WSD_EXP && !(d->floor > 0)) continue; /* needs a floor > 0 */
    schedopt_lrdesign_baseline *b = &d->base[d->nbase];
    memset(b, 0, sizeof *b);
    double *lr = malloc(d->K * sizeof *lr);
    if (!lr) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu steps", d->K);
    d->blr[d->nbase++] = lr;
    long e0 = d->evals;
    tune1 t = {d, kind, d->peak, NAN, 0};
    double L = INFINITY;
    int wsd = kind >= B_WSD_LINEAR;
    /* coordinate search: decay fraction, then the peak (with tune_peak), twice */
    for (int round = 0; round < (d->tune_peak ? 2 : 1); round++) {
      if (wsd) {
        t.which = 0;
        t.f = grid_golden(&t, 0, fmax_, 21, &L);
      }
      if (d->tune_peak) {
        t.which = 1;
        t.pk = exp(grid_golden(&t, log(d->peak / 10), log(d->peak), 11, &L));
      }
    }
    if (!wsd && !d->tune_peak) {
      t.which = 0;
      L = tune1_eval(&t, 0);
    }
    if (d->fail) return schedopt_error_set(err, d->fail, "baseline %s: %s", base_names[kind],
                                           d->ferr.msg);
    fill_baseline(d, kind, t.pk, wsd ? t.f : 0, lr);
    if (evaluate(d, lr, &L, NULL))
      return schedopt_error_set(err, d->fail, "baseline %s: %s", base_names[kind], d->ferr.msg);
    b->name = base_names[kind];
    b->final_loss = L;
    b->peak = t.pk;
    b->decay_frac = wsd ? t.f : NAN;
    b->evals = d->evals - e0;
    b->lr = lr;
  }
  return SCHEDOPT_OK;
}

/* -------------------------------------------------------- trainer families */

/* The final loss by the user's surrogate (fast by default): the searches
 * below make many evaluations; the reported loss is evaluate()'s. */
static int evaluate_user(schedopt_lrdesign *d, const double *eta, double *L) {
  return evaluate_with(d, d->user, eta, L, NULL);
}

typedef struct ttune {
  schedopt_lrdesign *d;
  schedopt_trainer_sched s, sbest;
  double rho;  /* end rate: floor + rho·(0.999·peak − floor) */
  double best;
} ttune;

static void ttune_set_floor(ttune *t) {
  const double top = 0.999 * t->s.peak, lo = fmin(t->d->floor, top);
  t->s.floor = lo + t->rho * (top - lo);
}

static double ttune_eval(ttune *t) {
  double L;
  ttune_set_floor(t);
  schedopt_trainer_fill(&t->s, t->d->work);
  if (evaluate_user(t->d, t->d->work, &L)) return INFINITY;
  if (L < t->best) t->best = L, t->sbest = t->s;
  return L;
}

/* which: 0 decay length (x = D), 1 end rate (x = rho), 2 peak (x = ln peak) */
static double ttune_at(ttune *t, int which, double x) {
  if (which == 0) {
    double D = floor(x + 0.5);
    t->s.decay = D < 1 ? 1 : (size_t)D;
  } else if (which == 1) {
    t->rho = x;
  } else {
    t->s.peak = fmin(exp(x), t->d->peak); /* exp(log(peak)) may round above lr.peak */
  }
  return ttune_eval(t);
}

/* Minimize over [a, b] from the points x[0..n): the best, then golden
 * section in its bracket down to width tol; leaves the best in t->sbest. */
static double ttune_search(ttune *t, int which, const double *x, size_t n, double tol) {
  size_t ib = 0;
  double fb = INFINITY;
  for (size_t i = 0; i < n; i++) {
    double v = ttune_at(t, which, x[i]);
    if (v < fb) fb = v, ib = i;
  }
  double lo = x[ib > 0 ? ib - 1 : 0], hi = x[ib + 1 < n ? ib + 1 : n - 1], xb = x[ib];
  const double r = 0.6180339887498949;
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
  double f1 = ttune_at(t, which, x1), f2 = ttune_at(t, which, x2);
  for (int it = 0; it < 60 && hi - lo > tol; it++) {
    if (f1 < f2) {
      hi = x2, x2 = x1, f2 = f1;
      x1 = hi - r * (hi - lo);
      f1 = ttune_at(t, which, x1);
    } else {
      lo = x1, x1 = x2, f1 = f2;
      x2 = lo + r * (hi - lo);
      f2 = ttune_at(t, which, x2);
    }
  }
  if (f1 < fb) fb = f1, xb = x1;
  if (f2 < fb) fb = f2, xb = x2;
  if (which == 0) /* the integers of the last bracket */
    for (double D = ceil(lo); D <= floor(hi) + 0.5; D++) {
      double v = ttune_at(t, 0, D);
      if (v < fb) fb = v, xb = D;
    }
  ttune_at(t, which, xb);
  return xb;
}

/* The trainer's warmup for the design's W: DeepSpeed's schedulers need
 * warmup_num_steps >= 1 (its first two steps run at 0 whatever it is, the
 * warmup being max(2, W) steps from last_batch_iteration = -1). */
static size_t trainer_warmup(const schedopt_lrdesign *d, const schedopt_trainer_type *T) {
  return !strcmp(T->trainer, "deepspeed") && d->W < 1 ? 1 : d->W;
}

/* Before the work: every type can run this budget (schedopt_trainer_check). */
static schedopt_status check_trainers(const schedopt_lrdesign *d, schedopt_error *err) {
  for (size_t i = 0; i < d->nttypes; i++) {
    const schedopt_trainer_type *T = d->ttypes[i];
    const size_t W = trainer_warmup(d, T);
    if (W >= d->K)
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "trainer schedule %s: warmup = %zu steps "
                                "needs steps > %zu (steps = %zu)", T->name, W, W, d->K);
    schedopt_trainer_sched s = {T, d->K, W, d->K - W, d->peak, d->floor};
    schedopt_status st = schedopt_trainer_check(&s, err);
    if (st) return st;
  }
  return SCHEDOPT_OK;
}

static schedopt_status run_trainers(schedopt_lrdesign *d, schedopt_error *err) {
  static const double fr[] = {0.01, 0.02, 0.04, 0.07, 0.1, 0.14, 0.18, 0.23,
                              0.3,  0.4,  0.5,  0.6,  0.7, 0.8,  0.9,  1.0};
  const size_t nf = sizeof fr / sizeof *fr;
  for (size_t i = 0; i < d->nttypes; i++) {
    const schedopt_trainer_type *T = d->ttypes[i];
    const size_t W = trainer_warmup(d, T), room = d->K - W;
    schedopt_lrdesign_trainer *r = &d->tr[d->ntr];
    memset(r, 0, sizeof *r);
    double *lr = malloc(d->K * sizeof *lr);
    if (!lr) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu steps", d->K);
    d->tlr[d->ntr++] = lr;
    long e0 = d->evals;
    ttune t = {d, {T, d->K, W, room, d->peak, d->floor}, {0}, 0, INFINITY};
    t.sbest = t.s;
    double xs[16];
    for (int round = 0; round < 2; round++) {
      if (T->has_decay) {
        size_t n = 0;
        if (round == 0) {
          for (size_t j = 0; j < nf; j++) {
            double D = fmax(1, floor(fr[j] * (double)room + 0.5));
            if (!n || D > xs[n - 1]) xs[n++] = D;
          }
        } else {
          const double D0 = (double)t.s.decay;
          for (int j = -2; j <= 2; j++) {
            double D = fmin((double)room, fmax(1, floor(D0 * pow(1.25, j) + 0.5)));
            if (!n || D > xs[n - 1]) xs[n++] = D;
          }
        }
        ttune_search(&t, 0, xs, n, 2);
      }
      if (T->has_floor) {
        for (int j = 0; j < 9; j++) xs[j] = j / 8.0;
        ttune_search(&t, 1, xs, 9, round ? 1e-5 : 1e-3);
      }
      if (d->tune_peak) {
        for (int j = 0; j < 11; j++) xs[j] = log(d->peak / 10) + j * log(10.0) / 10;
        ttune_search(&t, 2, xs, 11, 1e-4);
      }
      if (!T->has_decay && !T->has_floor && !d->tune_peak) {
        ttune_eval(&t);
        break;
      }
    }
    if (d->fail)
      return schedopt_error_set(err, d->fail, "trainer schedule %s: %s", T->name, d->ferr.msg);
    r->sched = t.sbest;
    schedopt_trainer_fill(&r->sched, lr);
    if (evaluate(d, lr, &r->final_loss, NULL))
      return schedopt_error_set(err, d->fail, "trainer schedule %s: %s", T->name, d->ferr.msg);
    r->evals = d->evals - e0;
    r->lr = lr;
  }
  /* the best type of each trainer */
  for (size_t i = 0; i < d->ntr; i++) {
    d->tr[i].best = 1;
    for (size_t j = 0; j < d->ntr; j++)
      if (j != i && !strcmp(d->tr[j].sched.type->trainer, d->tr[i].sched.type->trainer) &&
          (d->tr[j].final_loss < d->tr[i].final_loss ||
           (d->tr[j].final_loss == d->tr[i].final_loss && j < i)))
        d->tr[i].best = 0;
  }
  return SCHEDOPT_OK;
}

/* --------------------------------------------------------------- wsd family */

typedef struct famctx {
  schedopt_lrdesign *d;
  double best;
  double xbest[4];
  unsigned nx;
} famctx;

/* x = (f, ln p, e01, [ln peak]): η = e + (pk − e)(1 − z)^p after t_d = K(1 − f). */
static void fill_family(const schedopt_lrdesign *d, const double *x, unsigned nx, double *eta) {
  double f = x[0], p = exp(x[1]), pk = nx > 3 ? exp(x[3]) : d->peak;
  double e = d->floor + (pk - d->floor) * x[2], H = (double)d->K, td = H * (1 - f);
  fill_warmup(d, pk, eta);
  for (size_t k = d->W; k < d->K; k++) {
    double t = (double)k;
    eta[k] = t > td ? e + (pk - e) * exp(p * log1p(-(t - td) / (H - td))) : pk;
  }
}

static double fam_obj(unsigned n, const double *x, double *grad, void *data) {
  (void)grad;
  famctx *c = data;
  double L;
  fill_family(c->d, x, n, c->d->work);
  if (evaluate(c->d, c->d->work, &L, NULL)) return HUGE_VAL;
  if (L < c->best) {
    c->best = L;
    memcpy(c->xbest, x, n * sizeof *x);
  }
  return L;
}

static schedopt_status run_family(schedopt_lrdesign *d, schedopt_error *err) {
  double fmax_ = 1 - (double)d->W / (double)d->K;
  unsigned nx = d->tune_peak ? 4 : 3;
  double lb[4] = {0, log(0.05), 0, log(d->peak / 10)}, ub[4] = {fmax_, log(20), 1, log(d->peak)};
  /* start: the best of constant and the tuned linear WSD (both in the family) */
  double x[4] = {0.2 * fmax_, 0, 0, log(d->peak)}, bestL = INFINITY;
  for (size_t i = 0; i < d->nbase; i++) {
    const schedopt_lrdesign_baseline *b = &d->base[i];
    if ((!strcmp(b->name, "constant") || !strcmp(b->name, "wsd-linear")) &&
        b->final_loss < bestL) {
      bestL = b->final_loss;
      x[0] = strcmp(b->name, "constant") ? b->decay_frac : 0;
      x[3] = log(b->peak);
    }
  }
  famctx c = {d, INFINITY, {0}, nx};
  memcpy(c.xbest, x, sizeof x);
  nlopt_opt o = nlopt_create(NLOPT_LN_BOBYQA, nx);
  if (!o) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double step[4] = {0.05 * fmax_, 0.3, 0.1, 0.2};
  for (unsigned i = 0; i < nx; i++) {
    if (x[i] < lb[i]) x[i] = lb[i];
    if (x[i] > ub[i]) x[i] = ub[i];
  }
  nlopt_set_lower_bounds(o, lb);
  nlopt_set_upper_bounds(o, ub);
  nlopt_set_initial_step(o, step);
  nlopt_set_min_objective(o, fam_obj, &c);
  nlopt_set_ftol_rel(o, d->ftol > 0 ? d->ftol : 1e-12);
  nlopt_set_xtol_rel(o, 1e-8);
  nlopt_set_maxeval(o, d->maxeval);
  double fo;
  long e0 = d->evals;
  nlopt_result r = nlopt_optimize(o, x, &fo);
  nlopt_destroy(o);
  d->design_evals = d->evals - e0;
  d->nlopt_status = schedopt_nlopt_result_name(r);
  if (d->fail) return schedopt_error_set(err, d->fail, "wsd family: %s", d->ferr.msg);
  if (!isfinite(c.best))
    return schedopt_error_set(err, SCHEDOPT_ESOLVER, "wsd family: NLopt failed (%s)",
                              schedopt_nlopt_result_name(r));
  fill_family(d, c.xbest, nx, d->eta);
  d->wsd_f = c.xbest[0];
  d->wsd_p = exp(c.xbest[1]);
  d->wsd_peak = nx > 3 ? exp(c.xbest[3]) : d->peak;
  d->wsd_e = d->floor + (d->wsd_peak - d->floor) * c.xbest[2];
  return SCHEDOPT_OK;
}

/* --------------------------------------------------------------- free forms */

typedef struct ffctx {
  schedopt_lrdesign *d;
  size_t n, nv;      /* post-warmup steps, variables */
  size_t *seg;       /* knots: segment of post-warmup step i */
  double *wt;        /* … and the weight of its right knot */
  double *ku;        /* knot positions */
  double *v, *gv;    /* knot (or step) values and their gradient */
  double *eta;       /* full schedule under evaluation */
  double best, *xbest;
  nlopt_opt opt;
} ffctx;

/* x → values v (monotone: v_j = floor + span·Π_{i≤j} x_i) → η. */
static void ff_fill(ffctx *c, const double *x) {
  schedopt_lrdesign *d = c->d;
  double span = d->peak - d->floor, P = 1;
  for (size_t j = 0; j < c->nv; j++) {
    if (d->monotone) {
      P *= x[j];
      c->v[j] = d->floor + span * P;
    } else {
      c->v[j] = x[j];
    }
  }
  double *post = c->eta + d->W;
  if (!c->seg) memcpy(post, c->v, c->n * sizeof *post);
  else
    for (size_t i = 0; i < c->n; i++) {
      size_t j = c->seg[i];
      post[i] = c->v[j] + c->wt[i] * (c->v[j + 1] - c->v[j]);
      /* (rounding must not make a monotone schedule rise by an ulp) */
      if (d->monotone && i && post[i] > post[i - 1]) post[i] = post[i - 1];
    }
}

static double ff_obj(unsigned n, const double *x, double *grad, void *data) {
  ffctx *c = data;
  schedopt_lrdesign *d = c->d;
  double L;
  ff_fill(c, x);
  if (evaluate(d, c->eta, &L, grad ? d->g : NULL)) {
    nlopt_force_stop(c->opt);
    return HUGE_VAL;
  }
  if (L < c->best) {
    c->best = L;
    memcpy(c->xbest, x, n * sizeof *x);
  }
  if (!grad) return L;
  const double *g = d->g + d->W;
  double *gv = c->gv;
  if (!c->seg) memcpy(gv, g, c->n * sizeof *gv);
  else {
    memset(gv, 0, c->nv * sizeof *gv);
    for (size_t i = 0; i < c->n; i++) {
      size_t j = c->seg[i];
      gv[j] += (1 - c->wt[i]) * g[i];
      gv[j + 1] += c->wt[i] * g[i];
    }
  }
  if (!d->monotone) {
    memcpy(grad, gv, n * sizeof *grad);
    return L;
  }
  /* ∂J/∂x_j = span·Π_{i<j} x_i·U_j,  U_j = gv_j + x_{j+1} U_{j+1} */
  double U = 0, span = d->peak - d->floor;
  for (size_t j = n; j-- > 0;) {
    U = gv[j] + (j + 1 < n ? x[j + 1] * U : 0);
    grad[j] = U;
  }
  double P = 1;
  for (size_t j = 0; j < n; j++) {
    grad[j] *= span * P;
    P *= x[j];
  }
  return L;
}

/* Value of schedule eta at post-warmup position u (linear between steps). */
static double at_pos(const double *post, size_t n, double u) {
  if (u <= 0) return post[0];
  if (u >= (double)(n - 1)) return post[n - 1];
  size_t i = (size_t)u;
  double w = u - (double)i;
  return (1 - w) * post[i] + w * post[i + 1];
}

static schedopt_status run_freeform(schedopt_lrdesign *d, const double *start,
                                    schedopt_error *err) {
  size_t n = d->K - d->W;
  ffctx c;
  memset(&c, 0, sizeof c);
  c.d = d;
  c.n = n;
  c.best = INFINITY;
  c.nv = d->param == SCHEDOPT_LRDESIGN_KNOTS ? (d->knots < n ? d->knots : n) : n;
  int knots = d->param == SCHEDOPT_LRDESIGN_KNOTS && c.nv < n;
  schedopt_status st = SCHEDOPT_OK;
  c.v = malloc(c.nv * sizeof *c.v);
  c.gv = malloc(c.nv * sizeof *c.gv);
  c.xbest = malloc(c.nv * sizeof *c.xbest);
  c.eta = d->eta;
  double *x = malloc(c.nv * sizeof *x), *lb = malloc(c.nv * sizeof *lb),
         *ub = malloc(c.nv * sizeof *ub);
  if (knots) {
    c.seg = malloc(n * sizeof *c.seg);
    c.wt = malloc(n * sizeof *c.wt);
    c.ku = malloc(c.nv * sizeof *c.ku);
  }
  if (!c.v || !c.gv || !c.xbest || !x || !lb || !ub || (knots && (!c.seg || !c.wt || !c.ku))) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu variables", c.nv);
    goto done;
  }
  /* knot positions u_j = (n−1)(1 − (1 − j/(nv−1))²); step i sits in segment j */
  if (knots) {
    for (size_t j = 0; j < c.nv; j++) {
      double z = 1 - (double)j / (double)(c.nv - 1);
      c.ku[j] = (double)(n - 1) * (1 - z * z);
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
      while (j + 2 < c.nv && c.ku[j + 1] <= (double)i) j++;
      c.seg[i] = j;
      double w = ((double)i - c.ku[j]) / (c.ku[j + 1] - c.ku[j]);
      c.wt[i] = w < 0 ? 0 : w > 1 ? 1 : w;
    }
  }
  /* start: the given schedule at the knots (or steps), as variables */
  double span = d->peak - d->floor, prev = d->peak;
  const double *post = start + d->W;
  for (size_t j = 0; j < c.nv; j++) {
    double v = knots ? at_pos(post, n, c.ku[j]) : post[j];
    v = v < d->floor ? d->floor : v > d->peak ? d->peak : v;
    if (d->monotone) {
      if (v > prev) v = prev;
      double r = prev - d->floor > 0 ? (v - d->floor) / (prev - d->floor) : 1;
      x[j] = r < 0 ? 0 : r > 1 ? 1 : r;
      lb[j] = 0;
      ub[j] = 1;
      prev = v;
    } else {
      x[j] = v;
      lb[j] = d->floor;
      ub[j] = d->peak;
    }
  }
  (void)span;
  fill_warmup(d, d->peak, d->eta);
  nlopt_algorithm A = d->alg == SCHEDOPT_LRDESIGN_MMA     ? NLOPT_LD_MMA
                      : d->alg == SCHEDOPT_LRDESIGN_CCSAQ ? NLOPT_LD_CCSAQ
                                                        : NLOPT_LD_LBFGS;
  if (!(c.opt = nlopt_create(A, (unsigned)c.nv))) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  nlopt_set_lower_bounds(c.opt, lb);
  nlopt_set_upper_bounds(c.opt, ub);
  nlopt_set_min_objective(c.opt, ff_obj, &c);
  nlopt_set_ftol_rel(c.opt, d->ftol);
  nlopt_set_maxeval(c.opt, d->maxeval);
  memcpy(c.xbest, x, c.nv * sizeof *x);
  double fo;
  long e0 = d->evals;
  nlopt_result r = nlopt_optimize(c.opt, x, &fo);
  nlopt_destroy(c.opt);
  d->design_evals = d->evals - e0;
  d->nlopt_status = schedopt_nlopt_result_name(r);
  if (d->fail) {
    st = schedopt_error_set(err, d->fail, "design: %s", d->ferr.msg);
    goto done;
  }
  if (!isfinite(c.best)) {
    st = schedopt_error_set(err, SCHEDOPT_ESOLVER, "design: NLopt failed (%s)",
                            schedopt_nlopt_result_name(r));
    goto done;
  }
  ff_fill(&c, c.xbest);
done:
  free(c.v), free(c.gv), free(c.xbest), free(c.seg), free(c.wt), free(c.ku);
  free(x), free(lb), free(ub);
  return st;
}

/* ------------------------------------------------------------------- run */

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The central `level` interval of v[0..n) (n ≥ 2; sorted in place), by
 * linear interpolation between order statistics. */
static void central_interval(double *v, size_t n, double level, double *lo, double *hi) {
  qsort(v, n, sizeof *v, cmp_double);
  double ql = (1 - level) / 2 * (double)(n - 1), qh = (1 + level) / 2 * (double)(n - 1);
  size_t a = (size_t)ql, c = (size_t)qh;
  *lo = v[a] + (ql - (double)a) * (a + 1 < n ? v[a + 1] - v[a] : 0);
  *hi = v[c] + (qh - (double)c) * (c + 1 < n ? v[c + 1] - v[c] : 0);
}

static schedopt_status finish(schedopt_lrdesign *d, schedopt_error *err) {
  schedopt_status st;
  if (evaluate(d, d->eta, &d->final_loss, NULL))
    return schedopt_error_set(err, d->fail, "design: %s", d->ferr.msg);
  /* the curve, by the user's surrogate (fast by default), from the first
   * step with T > 0 */
  size_t first = 0;
  double T = 0;
  while (first < d->K && !((T += d->eta[first]) > 0)) first++;
  for (size_t k = 0; k < d->K; k++) d->loss[k] = NAN;
  if (first < d->K) {
    size_t nout = d->K - first;
    size_t *out = malloc(nout * sizeof *out);
    if (!out) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    for (size_t m = 0; m < nout; m++) out[m] = first + m;
    schedopt_surrogate_input in = {d->eta, d->K, out, nout, NULL};
    st = schedopt_surrogate_predict(d->user, &in, d->loss + first, NULL, err);
    free(out);
    if (st) return st;
  }
  /* band: the central `level` interval of the refits' final losses; and of
   * their own gains over the best baseline (each refit's loss of that
   * baseline minus its loss of the design) */
  d->band_lo = d->band_hi = d->gain_lo = d->gain_hi = NAN;
  for (size_t j = 0; j < d->ntr; j++) {
    d->tr[j].cost = d->tr[j].final_loss - d->final_loss;
    d->tr[j].cost_lo = d->tr[j].cost_hi = NAN;
  }
  if (d->nboot > 1) {
    size_t np = schedopt_surrogate_get_type(d->user)->nparams, ib = 0;
    for (size_t i = 1; i < d->nbase; i++)
      if (d->base[i].final_loss < d->base[ib].final_loss) ib = i;
    const int paired = d->baselines_on && d->nbase > 0;
    /* v: the design's losses, gv: the gains, tv: the trainers' paired costs
     * (the best type of each trainer only) */
    double *v = malloc((2 + d->ntr) * d->nboot * sizeof *v), *gv = v ? v + d->nboot : NULL;
    double *tv = v ? gv + d->nboot : NULL;
    if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    for (size_t b = 0; b < d->nboot; b++) {
      double lb = NAN;
      int bad = (st = schedopt_surrogate_set_params(d->ds, d->boot + b * np, err)) ||
                evaluate(d, d->eta, &v[b], NULL) ||
                (paired && evaluate(d, d->blr[ib], &lb, NULL));
      for (size_t j = 0; j < d->ntr && !bad; j++) {
        double lt = NAN;
        if (d->tr[j].best) bad = evaluate(d, d->tlr[j], &lt, NULL);
        tv[j * d->nboot + b] = lt - v[b];
      }
      if (bad) {
        free(v);
        schedopt_surrogate_set_params(d->ds, schedopt_surrogate_params(d->user), NULL);
        return st ? st : schedopt_error_set(err, d->fail, "band: %s", d->ferr.msg);
      }
      gv[b] = lb - v[b];
    }
    schedopt_surrogate_set_params(d->ds, schedopt_surrogate_params(d->user), NULL);
    central_interval(v, d->nboot, d->level, &d->band_lo, &d->band_hi);
    if (paired) central_interval(gv, d->nboot, d->level, &d->gain_lo, &d->gain_hi);
    for (size_t j = 0; j < d->ntr; j++)
      if (d->tr[j].best)
        central_interval(tv + j * d->nboot, d->nboot, d->level, &d->tr[j].cost_lo,
                         &d->tr[j].cost_hi);
    free(v);
  }
  /* which baselines the parametrization represents exactly */
  for (size_t i = 0; i < d->nbase; i++) {
    const char *nm = d->base[i].name;
    int peak_ok = d->base[i].peak == d->peak;
    d->base[i].contained =
        d->param == SCHEDOPT_LRDESIGN_STEPS ? peak_ok
        : d->param == SCHEDOPT_LRDESIGN_KNOTS
            ? peak_ok && !strcmp(nm, "constant")
            : (d->tune_peak || peak_ok) && (!strcmp(nm, "constant") || !strcmp(nm, "wsd-linear"));
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_run(schedopt_lrdesign *d, schedopt_error *err) {
  if (!d) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_run: NULL argument");
  if (!d->K) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: no budget (set steps or tokens)");
  if (!(d->peak > 0)) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: no peak learning rate");
  if (d->W + 2 > d->K)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "warmup = %zu steps is out of range: must be below steps - 1 = %zu",
                              d->W, d->K - 1);
  const schedopt_surrogate_type *T = schedopt_surrogate_get_type(d->user);
  if (!d->monotone && T == schedopt_surrogate_mpl && d->param != SCHEDOPT_LRDESIGN_WSD)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "monotone = false with mpl: the multi-power law rewards raising the "
                              "learning rate again after a drop without bound (it is a model of "
                              "non-increasing schedules); design non-increasing schedules");
  schedopt_status st;
  if ((st = check_trainers(d, err))) return st;
  clear_results(d);
  if ((st = schedopt_surrogate_set_params(d->ds, schedopt_surrogate_params(d->user), err)))
    return st;
  schedopt_surrogate_set_method(d->ds, SCHEDOPT_SURROGATE_DIRECT);
  d->evals = 0;
  d->design_evals = 0;
  d->fail = SCHEDOPT_OK;
  d->nlopt_status = "none";
  d->wsd_f = d->wsd_p = d->wsd_e = d->wsd_peak = NAN;
  clock_t c0 = clock();
  double w0 = wall_now();
  d->eta = malloc(d->K * sizeof *d->eta);
  d->loss = malloc(d->K * sizeof *d->loss);
  d->g = malloc(d->K * sizeof *d->g);
  d->work = malloc(d->K * sizeof *d->work);
  if (!d->eta || !d->loss || !d->g || !d->work) {
    clear_results(d);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu steps", d->K);
  }
  /* baselines (also the starts of the designs) */
  st = run_baselines(d, err);
  size_t ib = 0;
  for (size_t i = 1; i < d->nbase; i++)
    if (d->base[i].final_loss < d->base[ib].final_loss) ib = i;
  if (!st) {
    if (d->param == SCHEDOPT_LRDESIGN_WSD) st = run_family(d, err);
    else {
      /* free forms start from the best baseline with the full peak (the
       * free forms keep the warmup to the peak) */
      size_t is = 0;
      double best = INFINITY;
      for (size_t i = 0; i < d->nbase; i++)
        if (d->base[i].peak == d->peak && d->base[i].final_loss < best)
          best = d->base[i].final_loss, is = i;
      st = run_freeform(d, d->blr[is], err);
    }
  }
  if (!st && d->nttypes) st = run_trainers(d, err);
  if (!st) st = finish(d, err);
  if (st) {
    clear_results(d);
    return st;
  }
  if (!d->baselines_on) { /* they were the starts only */
    for (size_t i = 0; i < d->nbase; i++) free(d->blr[i]);
    d->nbase = 0;
  }
  d->cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
  d->wall = wall_now() - w0;
  d->done = 1;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_lrdesign_band_at(const schedopt_lrdesign *d, const size_t *steps,
                                        size_t n, double *lo, double *hi, schedopt_error *err) {
  if (!d || (n && (!steps || !lo || !hi)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_band_at: NULL argument");
  if (!d->done) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: not run yet");
  if (d->nboot < 2)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "design: no band (set_band with at least 2 parameter sets)");
  for (size_t m = 0; m < n; m++)
    if (steps[m] >= d->K || (m && steps[m] <= steps[m - 1]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "design_band_at: steps[%zu] = %zu: steps must increase and be "
                                "below %zu",
                                m, steps[m], d->K);
  /* rows before the first step with T > 0 have no loss */
  size_t first = 0, m0 = 0;
  double T = 0;
  while (first < d->K && !((T += d->eta[first]) > 0)) first++;
  while (m0 < n && steps[m0] < first) lo[m0] = hi[m0] = NAN, m0++;
  const size_t nm = n - m0, nb = d->nboot;
  if (!nm) return SCHEDOPT_OK;
  const schedopt_surrogate_type *Ty = schedopt_surrogate_get_type(d->user);
  schedopt_surrogate *s = NULL;
  double *pred = nm <= SIZE_MAX / sizeof(double) / nb ? malloc(nb * nm * sizeof *pred) : NULL;
  double *v = malloc(nb * sizeof *v);
  schedopt_status st = SCHEDOPT_OK;
  if (!pred || !v) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for the band at %zu steps of "
                            "%zu refits", nm, nb);
    goto done;
  }
  if ((st = schedopt_surrogate_alloc(&s, Ty, err))) goto done;
  schedopt_surrogate_input in = {d->eta, d->K, steps + m0, nm, NULL};
  for (size_t b = 0; b < nb && !st; b++)
    if (!(st = schedopt_surrogate_set_params(s, d->boot + b * Ty->nparams, err)))
      st = schedopt_surrogate_predict(s, &in, pred + b * nm, NULL, err);
  for (size_t m = 0; m < nm && !st; m++) {
    for (size_t b = 0; b < nb; b++) v[b] = pred[b * nm + m];
    central_interval(v, nb, d->level, &lo[m0 + m], &hi[m0 + m]);
  }
done:
  schedopt_surrogate_free(s);
  free(pred), free(v);
  return st;
}

schedopt_status schedopt_lrdesign_get_result(const schedopt_lrdesign *d, schedopt_lrdesign_result *r,
                                           schedopt_error *err) {
  if (!d || !r) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_get_result: NULL argument");
  if (!d->done) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: not run yet");
  memset(r, 0, sizeof *r);
  r->steps = d->K;
  r->warmup = d->W;
  r->tokens_per_step = d->tokens_per_step;
  r->lr = d->eta;
  r->loss = d->loss;
  r->final_loss = d->final_loss;
  r->band_lo = d->band_lo;
  r->band_hi = d->band_hi;
  r->nbaselines = d->nbase;
  r->baselines = d->nbase ? d->base : NULL;
  r->ntrainers = d->ntr;
  r->trainers = d->ntr ? d->tr : NULL;
  r->best_baseline = -1;
  for (size_t i = 0; i < d->nbase; i++) {
    const schedopt_lrdesign_baseline *b = &d->base[i];
    if (r->best_baseline < 0 || b->final_loss < d->base[r->best_baseline].final_loss)
      r->best_baseline = (int)i;
    if (b->final_loss < d->final_loss - 1e-12 * fabs(d->final_loss)) {
      r->beaten++;
      r->beaten_contained += b->contained != 0;
    }
  }
  r->gain_band_half_width = r->gain_lo = r->gain_hi = NAN;
  r->gain_within_band = -1;
  if (r->best_baseline >= 0) {
    double bl = d->base[r->best_baseline].final_loss;
    r->gain = bl - d->final_loss;
    r->gain_pct = 100 * r->gain / bl;
    if (isfinite(d->band_lo)) {
      r->gain_band_half_width = (d->band_hi - d->band_lo) / 2;
      r->gain_within_band = r->gain < r->gain_band_half_width ||
                            (bl >= d->band_lo && bl <= d->band_hi);
      r->gain_lo = d->gain_lo;
      r->gain_hi = d->gain_hi;
    }
  } else {
    r->gain = r->gain_pct = NAN;
  }
  r->wsd_decay_frac = d->wsd_f;
  r->wsd_power = d->wsd_p;
  r->wsd_end = d->wsd_e;
  r->wsd_peak = d->wsd_peak;
  r->evals = d->evals;
  r->design_evals = d->design_evals;
  r->cpu_seconds = d->cpu;
  r->seconds = d->wall;
  r->nlopt_result = d->nlopt_status;
  return SCHEDOPT_OK;
}

/* ------------------------------------------------- the MPL authors' objective */

schedopt_status schedopt_lrdesign_mpl_reference(const double *th, const double *eta, size_t n,
                                              double peak, double warmup, double *loss,
                                              double *geta, schedopt_error *err) {
  if (!th || !eta || !loss || n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "mpl_reference: NULL argument");
  if (!(peak > 0) || !(warmup >= 0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "mpl_reference: peak = %g must be > 0 and "
                              "warmup = %g >= 0", peak, warmup);
  for (size_t i = 0; i < n; i++)
    if (!(eta[i] > 0) || !isfinite(eta[i]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "mpl_reference: lr = %g at post-warmup step %zu must be > 0",
                                eta[i], i);
  double L0 = th[0], A = th[1], al = th[2], B = th[3], C = th[4], be = th[5], ga = th[6];
  double SW = 0.5 * peak * warmup, tot = 0, comp = 0;
  for (size_t i = 0; i < n; i++) { /* compensated Σ η */
    double y = eta[i] - comp, t = tot + y;
    comp = (t - tot) - y;
    tot = t;
  }
  double T = SW + tot, LD = 0, S = tot, pref = 0;
  /* forward: S_i = Σ_{j≥i} η_j; term i: δ_i (1 − F_i); reverse-mode pieces:
   * ∂/∂S'_i accumulates into every η_j with j ≥ i (a running prefix) */
  double dT = -al * A * exp((-al - 1) * log(T));
  for (size_t i = 0; i < n; i++) {
    double d = (i ? eta[i - 1] : peak) - eta[i], Sp = i ? S : S + SW;
    double rho = C * exp(-ga * log(eta[i])), y = 1 + rho * Sp, F = exp(-be * log(y));
    LD += d * (1 - F);
    if (geta) {
      double dS = d * be * rho * F / y;                   /* ∂(δ(1−F))/∂S' */
      double drho = d * be * Sp * F / y * (-ga * rho / eta[i]); /* through ρ_i */
      pref += dS;
      geta[i] = dT - B * (-(1 - F) + drho + pref);
      if (i) geta[i - 1] -= B * (1 - F); /* δ_i = η_{i−1} − η_i */
    }
    S -= eta[i];
  }
  *loss = L0 + A * exp(-al * log(T)) - B * LD;
  return SCHEDOPT_OK;
}
