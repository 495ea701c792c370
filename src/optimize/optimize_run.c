/* optimize_run.c — a problem's optimize: section end to end: tuned
 * baselines, the optimum started from the best baseline projected onto the
 * design, the check that no contained baseline beats it, forward simulation,
 * and the reports (schedule.csv, baselines.csv, summary.json, summary.txt). */
#define _POSIX_C_SOURCE 200809L
#include "optimize/optimize_impl.h"
#include "problem/problem_impl.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dynamics/control_impl.h"
#include "core/outfile.h"
#include "schedopt/version.h"

#define NBT 16 /* room for every entry of schedopt_baseline_types (13) */
#define NST (2 + SCHEDOPT_OPT_MAXCONT) /* starts */

struct schedopt_optimization {
  const schedopt_problem *p;
  schedopt_optimize_spec spec;
  schedopt_objective obj;
  schedopt_design *d;
  schedopt_opt_result res;
  schedopt_schedule *best; /* the optimal schedule (a copy) */
  double J;                /* objective at the optimum, re-evaluated */
  double floor, sig;       /* J∞ = (σ² + approx)·Σw and σ²·Σw */
  double lr_lo, lr_hi;     /* baseline range (the lr cap) */
  size_t nb;
  schedopt_baseline b[NBT];
  double bproj[NBT];
  int bcont[NBT];
  size_t beaten, cbeaten;
  char start_from[96];
  double J_start;
  size_t nst;              /* starts (free-form momentum: default, family, continuation) */
  schedopt_opt_start st[NST];
  /* curves at `times`: optimum and baselines */
  size_t nt;
  double *times;
  schedopt_row *rows;
  schedopt_row *brows[NBT];
  double seconds, seconds_baselines;
  /* where the time went, for a caller that schedules optimizations */
  schedopt_opt_task btask[NBT];
  size_t nbtask;
  double cpu_bl0, cpu_bl1, wall_bl1; /* the caller's thread CPU clock around the baselines */
  double steps;            /* optimizer steps of the optimum (schedopt_design_steps) */
  double start_steps;      /* of the start point */
  /* outer searches: the problem of the chosen case (owned), and the table */
  schedopt_problem *own;
  int outer;               /* 0 none, 1 model size (compute budget), 2 steps to target */
  size_t nouter;
  double *ox, *oJ, *oloss, *osteps; /* N or H tried; objective, final loss, steps there */
  double oseconds;
};

static const char *const ch_key[SCHEDOPT_NCHANNELS] = {"lr", "batch", "momentum"};

void schedopt_optimize_spec_default(schedopt_optimize_spec *s) {
  memset(s, 0, sizeof *s);
  s->objective = SCHEDOPT_OBJ_FINAL;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) schedopt_channel_param_default(&s->channel[ch]);
  s->channel[SCHEDOPT_LR].type = schedopt_parametrization_freeform;
  schedopt_optimizer_settings_default(&s->settings);
  for (unsigned i = 0; schedopt_baseline_types[i]; i++)
    if (!schedopt_baseline_types[i]->opt_in) s->baselines |= 1u << i; /* trainers: when asked */
  s->target = NAN;
  s->model_size_points = 5;
  s->ncont = 2;
  s->cont[0] = 0.9, s->cont[1] = 0.95;
}

void schedopt_optimization_free(schedopt_optimization *o) {
  if (!o) return;
  schedopt_design_free(o->d);
  schedopt_opt_result_free(&o->res);
  schedopt_schedule_free(o->best);
  for (size_t i = 0; i < o->nb; i++) {
    schedopt_baseline_clear(&o->b[i]);
    free(o->brows[i]);
  }
  free(o->times);
  free(o->rows);
  free(o->ox);
  free(o->oJ);
  free(o->oloss);
  free(o->osteps);
  schedopt_problem_free(o->own);
  free(o);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Output times: 0, the problem's output times, every freeform knot, H. */
static schedopt_status make_times(schedopt_optimization *o, schedopt_error *err) {
  double *t = NULL;
  size_t n = 0;
  schedopt_status st = schedopt_problem_output_times(o->p, &t, &n, err);
  if (st) return st;
  size_t extra = 2;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    size_t k;
    schedopt_design_knots(o->d, (schedopt_channel)ch, &k);
    extra += k;
  }
  double *all = realloc(t, (n + extra) * sizeof *all);
  if (!all) {
    free(t);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  const double H = schedopt_schedule_horizon(schedopt_problem_schedule(o->p));
  all[n++] = 0;
  all[n++] = H;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    size_t k;
    const double *kt = schedopt_design_knots(o->d, (schedopt_channel)ch, &k);
    for (size_t i = 0; i < k; i++) all[n++] = kt[i];
  }
  qsort(all, n, sizeof *all, cmp_double);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    double x = fmin(H, fmax(0, all[i]));
    if (m && x - all[m - 1] <= 1e-12 * H) continue;
    all[m++] = x;
  }
  o->times = all;
  o->nt = m;
  return SCHEDOPT_OK;
}

/* How far a projection's objective may exceed a baseline's and still count
 * as the same schedule: 10⁻⁶ of the removable loss, plus the integrator's
 * accuracy on cvodes (a table's knots change where CVODES steps). */
static double contain_tol(const schedopt_optimization *o, double Jb, double rtol) {
  double t = 1e-6 * (Jb - o->floor);
  if (schedopt_problem_integrator(o->p) != schedopt_integrator_recursion) t += 10 * rtol * Jb;
  return t;
}

/* The problem's schedule with channel ch replaced by c. */
static schedopt_status with_control(const schedopt_schedule *s, schedopt_channel ch,
                                    const schedopt_control *c, schedopt_schedule **out,
                                    schedopt_error *err) {
  schedopt_status st = schedopt_opt_schedule_copy(out, s, err);
  if (!st) st = schedopt_schedule_set(*out, ch, c, err);
  if (st) {
    schedopt_schedule_free(*out);
    *out = NULL;
  }
  return st;
}

/* The problem's schedule with baseline b's controls (lr, and momentum if b tunes it). */
static schedopt_status with_baseline(const schedopt_schedule *s, const schedopt_baseline *b,
                                     schedopt_schedule **out, schedopt_error *err) {
  schedopt_status st = with_control(s, SCHEDOPT_LR, b->control, out, err);
  if (!st && b->momentum && (st = schedopt_schedule_set(*out, SCHEDOPT_MOMENTUM, b->momentum, err))) {
    schedopt_schedule_free(*out);
    *out = NULL;
  }
  return st;
}

static schedopt_status simulate(schedopt_integrator *it, const schedopt_schedule *s,
                                const double *t, size_t n, schedopt_row **rows,
                                schedopt_error *err) {
  *rows = calloc(n ? n : 1, sizeof **rows);
  if (!*rows) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  return schedopt_integrator_run(it, s, t, n, *rows, err);
}

/* The optimum's curve with the excess split into bias (what is left of the
 * initial error) and variance (what noise and the tail put back): a plrf
 * model built without the split (model.split: false, half the states, what
 * the optimizer integrates) is simulated once more with it, and that curve —
 * the same dynamics, linear in the two copies — replaces the rows, so that
 * bias + variance + approx = excess in every row to rounding.  FSL models
 * always carry the split; other models keep NaN (empty cells). */
static schedopt_status split_rows(schedopt_optimization *o, schedopt_error *err) {
  if (!o->nt || !isnan(o->rows[0].r.bias) ||
      schedopt_model_get_type(schedopt_problem_model(o->p)) != schedopt_model_plrf)
    return SCHEDOPT_OK;
  const char *sets[1] = {"model.split=true"};
  schedopt_problem *q = NULL;
  schedopt_integrator *it = NULL;
  schedopt_row *rows = NULL;
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(o->p, &rtol, &atol, &max_steps);
  schedopt_status st = schedopt_problem_variant(o->p, sets, 1, &q, err);
  if (!st) st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(q),
                                          schedopt_problem_model(q), err);
  if (!st) st = schedopt_integrator_set_tolerances(it, rtol, atol, err);
  if (!st) st = schedopt_integrator_set_max_steps(it, 2 * max_steps, err);
  if (!st) st = simulate(it, o->best, o->times, o->nt, &rows, err);
  if (!st) {
    free(o->rows);
    o->rows = rows;
    rows = NULL;
  }
  free(rows);
  schedopt_integrator_free(it);
  schedopt_problem_free(q);
  return st;
}

/* The batch channel's freeform values scaled by f (clamped to the box): the
 * steps of a constant-ratio change scale by 1/f. */
static void scale_batch(schedopt_design *d, double *x, double f) {
  const schedopt_channel_param *c = schedopt_design_channel(d, SCHEDOPT_BATCH);
  if (c->type != schedopt_parametrization_freeform || c->monotone) return;
  size_t n = schedopt_design_size(d);
  double *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
  if (lo && hi) {
    schedopt_design_bounds(d, lo, hi);
    for (size_t i = 0; i < n; i++) {
      const char *nm = schedopt_design_var_name(d, i);
      if (!strncmp(nm, "batch[", 6)) x[i] = fmin(hi[i], fmax(lo[i], x[i] * f));
    }
  }
  free(lo);
  free(hi);
}

/* The baselines as OpenMP tasks, each on its own integrator (the library has
 * no shared mutable state; the model is read only): alone they run on the
 * team of `schedopt optimize`, and inside a sweep's parallel loop the threads
 * done with their cases take the tasks of the cases still running.  Results
 * do not depend on the threads. */
typedef struct bl_job {
  const schedopt_schedule *base;
  const schedopt_model *model;
  const schedopt_problem *p;
  const schedopt_objective *obj;
  const schedopt_optimizer_settings *set;
  double lo, hi;
  double mu_hi;            /* the momentum cap of the momentum family */
  size_t n;
  const schedopt_baseline_type *type[NBT];
  schedopt_baseline b[NBT];
  schedopt_status st[NBT];
  schedopt_error err[NBT];
  int (*progress)(void *, const char *, long, double, double);
  void *progress_ctx;
  schedopt_opt_task task[NBT]; /* which thread tuned each, and its CPU */
#ifdef _OPENMP
  omp_lock_t lock; /* the job's own: no global lock */
#endif
} bl_job;

/* This thread's CPU seconds (CLOCK_THREAD_CPUTIME_ID): a task's cost apart
 * from other processes' load. */
static double thread_cpu(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)) return NAN;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The caller's progress callback, one thread at a time. */
static int bl_progress(void *ctx, const char *stage, long evals, double best_J, double secs) {
  bl_job *j = ctx;
#ifdef _OPENMP
  omp_set_lock(&j->lock);
#endif
  const int r = j->progress(j->progress_ctx, stage, evals, best_J, secs);
#ifdef _OPENMP
  omp_unset_lock(&j->lock);
#endif
  return r;
}

static void bl_one(bl_job *j, size_t k) {
  const double c0 = thread_cpu();
  j->task[k].start = schedopt_opt_now();
#ifdef _OPENMP
  j->task[k].thread = omp_get_thread_num();
#endif
  double rtol, atol;
  long max_steps;
  schedopt_integrator *it = NULL;
  schedopt_problem_tolerances(j->p, &rtol, &atol, &max_steps);
  schedopt_status st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(j->p), j->model,
                                                 &j->err[k]);
  if (!st) st = schedopt_integrator_set_tolerances(it, rtol, atol, &j->err[k]);
  if (!st) st = schedopt_integrator_set_max_steps(it, max_steps, &j->err[k]);
  if (!st && j->type[k] == schedopt_baseline_momentum)
    st = schedopt_baseline_tune_momentum(j->base, j->lo, j->hi, j->mu_hi, it, j->obj, j->set,
                                         &j->b[k], &j->err[k]);
  else if (!st)
    st = schedopt_baseline_tune(j->type[k], j->base, SCHEDOPT_LR, j->lo, j->hi, it, j->obj,
                                j->set, &j->b[k], &j->err[k]);
  j->st[k] = st;
  schedopt_integrator_free(it);
  j->task[k].cpu = thread_cpu() - c0;
}

static void bl_tasks(bl_job *j) {
#ifdef _OPENMP
#pragma omp taskloop grainsize(1)
#endif
  for (size_t k = 0; k < j->n; k++) bl_one(j, k);
}

/* Record start r in slot i of the report (label, objective at its start
 * point) and keep it as the result if it is the best so far. */
static void add_start(schedopt_optimization *o, size_t i, schedopt_opt_result *r,
                      const char *label, double J_start, long evals, double seconds) {
  if (i < NST) {
    schedopt_opt_start *s = &o->st[i];
    snprintf(s->label, sizeof s->label, "%s", label);
    s->J_start = J_start, s->J = r->J, s->evals = evals, s->seconds = seconds;
    if (o->nst < i + 1) o->nst = i + 1;
  }
  if (!o->res.x || r->J < o->res.J) {
    schedopt_opt_result t = o->res;
    o->res = *r;
    *r = t;
    snprintf(o->start_from, sizeof o->start_from, "%s", label);
    o->J_start = J_start;
  }
  schedopt_opt_result_free(r);
}

/* A race between starts: the leader's best J after `at` evaluations, its
 * progress passed on to the caller's callback. */
typedef struct race {
  schedopt_progress_fn fn;
  void *ctx;
  long at;
  double J_at;
} race;

static int race_progress(void *ctx, const char *stage, long evals, double best_J, double secs) {
  race *r = ctx;
  if (evals <= r->at) r->J_at = best_J;
  return r->fn ? r->fn(r->ctx, stage, evals, best_J, secs) : 0;
}

/* The continuation in the momentum cap from x0 (see momentum_starts): each
 * stage with at most `per_stage` evaluations (0: the settings' own);
 * the last stage's result in *r, its label, J at x0, evaluations and seconds
 * of all stages. */
static schedopt_status continuation(schedopt_optimization *o, schedopt_integrator *it,
                                    const schedopt_optimizer_settings *set, const double *x0,
                                    const double *caps, size_t nc, long per_stage,
                                    schedopt_opt_result *r, char *label, size_t lsize,
                                    double *J0, long *evals, double *secs, schedopt_error *err) {
  const schedopt_channel_param *mp = schedopt_design_channel(o->d, SCHEDOPT_MOMENTUM);
  const schedopt_schedule *base = schedopt_problem_schedule(o->p), *sa;
  const size_t n = schedopt_design_size(o->d);
  schedopt_optimizer_settings s = *set;
  if (per_stage > 0 && (s.maxeval <= 0 || s.maxeval > per_stage)) s.maxeval = per_stage;
  schedopt_schedule *cur = NULL;
  schedopt_design *dc = NULL;
  schedopt_status st;
  double *xc = malloc(n * sizeof *xc);
  char stage[96];
  size_t len = (size_t)snprintf(label, lsize, "continuation in the momentum cap");
  *J0 = NAN, *evals = 0, *secs = 0;
  if (!xc) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  if ((st = schedopt_design_apply(o->d, x0, &sa, err)) ||
      (st = schedopt_opt_schedule_copy(&cur, sa, err)))
    goto done;
  for (size_t k = 0; k <= nc; k++) {
    schedopt_design *d = o->d;
    if (k < nc) { /* the design with μ ≤ caps[k] */
      if ((st = schedopt_design_alloc(&dc, base, err))) goto done;
      for (int ch = 0; ch < SCHEDOPT_NCHANNELS && !st; ch++) {
        schedopt_channel_param cp = *schedopt_design_channel(o->d, (schedopt_channel)ch);
        if (!cp.type) continue;
        if (ch == SCHEDOPT_MOMENTUM) cp.hi = caps[k];
        st = schedopt_design_set_channel(dc, (schedopt_channel)ch, &cp, err);
      }
      if (st) goto done;
      d = dc;
    }
    snprintf(stage, sizeof stage, "optimum, continuation mu <= %g", k < nc ? caps[k] : mp->hi);
    s.stage = stage;
    if (len < lsize)
      len += (size_t)snprintf(label + len, lsize - len, "%s%g", k ? " -> " : " ",
                              k < nc ? caps[k] : mp->hi);
    if ((st = schedopt_design_project(d, cur, xc, err)) ||
        (st = schedopt_design_optimize(d, it, &o->obj, &s, xc, r, err)))
      goto done;
    if (k == 0) *J0 = r->J_start;
    *evals += r->evals, *secs += r->seconds;
    if (k == nc) break;
    schedopt_schedule_free(cur);
    cur = NULL;
    if ((st = schedopt_design_apply(d, r->x, &sa, err)) ||
        (st = schedopt_opt_schedule_copy(&cur, sa, err)))
      goto done;
    schedopt_opt_result_free(r);
    schedopt_design_free(dc);
    dc = NULL;
  }
done:
  if (st) schedopt_opt_result_free(r);
  schedopt_design_free(dc);
  schedopt_schedule_free(cur);
  free(xc);
  return st;
}

/* Evaluations of a start that does not lead, before it must be ahead of the
 * leader at the same count to go on (half a preconditioned run). */
#define MS_SCREEN 12

/* The joint landscape of a free-form learning rate and momentum has several
 * local optima (issue 15: three starts at T = 1e3 gave three optima).  The
 * starts: the default x0 (the best learning-rate baseline at the problem's
 * momentum, objective J0), the tuned momentum family (x_fam, objective
 * J_fam; NULL if not tuned), and a continuation in the momentum cap from x0:
 * optimized with μ ≤ c_1, its optimum with μ ≤ c_2, …, then with the
 * channel's own cap, so that μ is raised in steps from where the default
 * optimum puts it.
 *
 * They race (issue 14): the start of lower objective (the family: 0.2518
 * against the default's 0.2533 at T = 1e4) runs to convergence and records
 * its best J after MS_SCREEN evaluations; each other start runs MS_SCREEN
 * evaluations (the continuation split over its stages) and goes on to
 * convergence only if it is then below that.  A start run to convergence
 * took 127-661 evaluations there (docs/performance.md, Momentum under
 * CVODES), and at T = 1e3, 1e4 and 1e5 the family's optimum was the best
 * (docs/validation.md, momentum). */
static schedopt_status momentum_starts(schedopt_optimization *o, schedopt_integrator *it,
                                       const schedopt_optimizer_settings *set, const double *x0,
                                       double J0, const double *xfam, double Jfam,
                                       schedopt_error *err) {
  schedopt_status st = SCHEDOPT_OK;
  const schedopt_channel_param *mp = schedopt_design_channel(o->d, SCHEDOPT_MOMENTUM);
  double caps[SCHEDOPT_OPT_MAXCONT];
  size_t nc = 0;
  for (size_t i = 0; i < o->spec.ncont && i < SCHEDOPT_OPT_MAXCONT; i++)
    if (o->spec.cont[i] > mp->lo && o->spec.cont[i] < mp->hi &&
        (!nc || o->spec.cont[i] > caps[nc - 1]))
      caps[nc++] = o->spec.cont[i];
  /* slots of the report: default, family (if tuned), continuation (if any) */
  const size_t ifam = xfam ? 1 : 0, icont = 1 + ifam, nslot = icont + (nc ? 1 : 0);
  const int fam_leads = xfam && Jfam < J0;
  char def_label[96], label[96];
  snprintf(def_label, sizeof def_label, "%s", o->start_from);
  const schedopt_baseline *b = NULL;
  for (size_t i = 0; i < o->nb; i++)
    if (o->b[i].type == schedopt_baseline_momentum) b = &o->b[i];
  char fam_label[96];
  snprintf(fam_label, sizeof fam_label, "baseline momentum (mu %.4g, eta/(1-mu) %.4g)",
           b ? b->pval[1] : NAN, b ? b->pval[0] / (1 - b->pval[1]) : NAN);
  o->res.J = HUGE_VAL;

  /* the leader, to convergence */
  race rc = {set->progress, set->progress_ctx, MS_SCREEN, HUGE_VAL};
  schedopt_optimizer_settings s = *set;
  s.progress = race_progress, s.progress_ctx = &rc;
  s.stage = fam_leads ? "optimum from the momentum family" : "optimum";
  schedopt_opt_result r = {0};
  if ((st = schedopt_design_optimize(o->d, it, &o->obj, &s, fam_leads ? xfam : x0, &r, err)))
    return st;
  add_start(o, fam_leads ? ifam : 0, &r, fam_leads ? fam_label : def_label,
            fam_leads ? Jfam : J0, r.evals, r.seconds);

  /* the others: screened, polished if ahead */
  for (size_t i = 0; i < nslot; i++) {
    if (i == (fam_leads ? ifam : 0)) continue;
    const int is_cont = i == icont, is_fam = xfam && i == ifam;
    double Js = NAN, secs = 0;
    long evals = 0;
    s = *set;
    if (is_cont) {
      const long per = (MS_SCREEN + (long)nc) / (long)(nc + 1);
      if ((st = continuation(o, it, set, x0, caps, nc, per, &r, label, sizeof label, &Js, &evals,
                             &secs, err)))
        return st;
    } else {
      snprintf(label, sizeof label, "%s", is_fam ? fam_label : def_label);
      s.stage = is_fam ? "screening the momentum family" : "screening the default start";
      if (s.maxeval <= 0 || s.maxeval > MS_SCREEN) s.maxeval = MS_SCREEN;
      if ((st = schedopt_design_optimize(o->d, it, &o->obj, &s, is_fam ? xfam : x0, &r, err)))
        return st;
      Js = is_fam ? Jfam : J0, evals = r.evals, secs = r.seconds;
    }
    if (r.J < rc.J_at) { /* ahead of the leader: to convergence */
      schedopt_opt_result r2 = {0};
      s = *set;
      s.stage = "optimum, polishing a start ahead of the leader";
      if ((st = schedopt_design_optimize(o->d, it, &o->obj, &s, r.x, &r2, err))) {
        schedopt_opt_result_free(&r);
        return st;
      }
      evals += r2.evals, secs += r2.seconds;
      schedopt_opt_result_free(&r);
      r = r2;
    } else {
      const size_t len = strlen(label);
      snprintf(label + len, sizeof label - len, ", screened");
    }
    add_start(o, i, &r, label, Js, evals, secs);
  }
  return SCHEDOPT_OK;
}

static schedopt_status run_one(schedopt_optimization **out, const schedopt_problem *p,
                               const schedopt_optimize_spec *spec, schedopt_error *err) {
  if (!out || !p || !spec)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimization_run: NULL");
  *out = NULL;
  const schedopt_schedule *base = schedopt_problem_schedule(p);
  const schedopt_model *model = schedopt_problem_model(p);
  if (!base || !model)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimization_run: the problem is not built");
  schedopt_optimization *o = calloc(1, sizeof *o);
  if (!o) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  const double t_start = schedopt_opt_now();
  o->p = p;
  o->spec = *spec;
  const double H = schedopt_schedule_horizon(base);
  schedopt_integrator *it = NULL;
  schedopt_schedule *cand = NULL;
  double *x = NULL, *xfam = NULL;
  schedopt_status st;

  /* objective */
  o->obj.kind = spec->objective;
  o->obj.t0 = spec->t0;
  o->obj.t1 = spec->objective == SCHEDOPT_OBJ_MEAN && !(spec->t1 > spec->t0) ? H : spec->t1;
  o->obj.nh = spec->nh;
  o->obj.h = o->spec.h;
  o->obj.w = o->spec.w;

  /* integrator, design */
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  if ((st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(p), model, err)) ||
      (st = schedopt_integrator_set_tolerances(it, rtol, atol, err)) ||
      (st = schedopt_integrator_set_max_steps(it, max_steps, err)) ||
      (st = schedopt_design_alloc(&o->d, base, err)))
    goto done;
  int any = 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) any |= spec->channel[ch].type != NULL;
  if (!any) {
    schedopt_channel_param_default(&o->spec.channel[SCHEDOPT_LR]);
    o->spec.channel[SCHEDOPT_LR].type = schedopt_parametrization_freeform;
  }
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    schedopt_channel_param *cp = &o->spec.channel[ch];
    if (!cp->type) continue;
    /* anytime objectives: knots refined toward every horizon, as toward H */
    if (cp->type == schedopt_parametrization_freeform && cp->nrefine == 0 &&
        o->obj.kind == SCHEDOPT_OBJ_HORIZONS)
      for (size_t i = 0; i < o->obj.nh && cp->nrefine < SCHEDOPT_DESIGN_MAXREFINE; i++)
        if (o->obj.h[i] < H) cp->refine[cp->nrefine++] = o->obj.h[i];
    if ((st = schedopt_design_set_channel(o->d, (schedopt_channel)ch, cp, err))) goto done;
  }
  const size_t n = schedopt_design_size(o->d);
  if (!(x = malloc(n * sizeof *x))) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }

  /* J∞ and σ² from one forward solve */
  {
    schedopt_row r;
    double tH = H;
    if ((st = schedopt_integrator_run(it, base, &tH, 1, &r, err)) ||
        (st = schedopt_opt_floor(it, base, &o->obj, &o->floor, err)))
      goto done;
    double W = o->floor / (r.r.loss - r.r.excess + r.r.approx);
    o->sig = (r.r.loss - r.r.excess) * (isfinite(W) ? W : 1);
  }
  schedopt_optimizer_settings set = spec->settings;
  set.floor = o->floor;

  /* baselines, tuned on the lr channel up to its cap */
  const schedopt_channel_param *lrp = schedopt_design_channel(o->d, SCHEDOPT_LR);
  o->lr_lo = lrp->type ? lrp->lo : 0;
  o->lr_hi = lrp->type ? lrp->hi : schedopt_opt_control_max(schedopt_schedule_get(base, SCHEDOPT_LR), H);
  const double tb = schedopt_opt_now();
  schedopt_optimizer_settings bset = set; /* the lr alone: the step cap cannot bind */
  bset.max_steps = 0;
  {
    bl_job job = {0};
    job.base = base, job.model = model, job.p = p, job.obj = &o->obj, job.set = &bset;
    job.lo = o->lr_lo, job.hi = o->lr_hi;
    job.progress = bset.progress, job.progress_ctx = bset.progress_ctx;
    if (bset.progress) bset.progress = bl_progress, bset.progress_ctx = &job;
    /* the momentum family: when the momentum channel is optimized (and then
     * always with a free-form momentum, whose starts include it) */
    const schedopt_channel_param *mp = schedopt_design_channel(o->d, SCHEDOPT_MOMENTUM);
    const int mom = mp->type && schedopt_schedule_has_momentum(base) && mp->hi > 0 && mp->hi < 1;
    job.mu_hi = mp->hi;
    for (unsigned i = 0; schedopt_baseline_types[i] && i < NBT; i++) {
      const int want = schedopt_baseline_types[i] == schedopt_baseline_momentum
                           ? mom && ((spec->baselines & (1u << i)) ||
                                     mp->type == schedopt_parametrization_freeform)
                           : (spec->baselines & (1u << i)) != 0;
      if (want && o->lr_hi > 0) job.type[job.n++] = schedopt_baseline_types[i];
    }
    o->cpu_bl0 = thread_cpu();
#ifdef _OPENMP
    omp_init_lock(&job.lock);
    if (job.n > 1 && omp_get_level() == 0) { /* not inside a caller's team, even of 1 */
#pragma omp parallel
#pragma omp single
      bl_tasks(&job);
    } else
#endif
      bl_tasks(&job);
#ifdef _OPENMP
    omp_destroy_lock(&job.lock);
#endif
    o->cpu_bl1 = thread_cpu();
    o->wall_bl1 = schedopt_opt_now();
    o->nbtask = job.n;
    memcpy(o->btask, job.task, sizeof o->btask);
    /* in the order of the types, whichever thread tuned them */
    for (size_t k = 0; k < job.n; k++) {
      if (job.st[k] == SCHEDOPT_EDIVERGE) continue; /* every tuning point diverged */
      if (job.st[k] && !st) {
        st = job.st[k];
        if (err) *err = job.err[k];
      }
      if (st) {
        schedopt_baseline_clear(&job.b[k]);
        continue;
      }
      o->b[o->nb++] = job.b[k];
    }
    if (st) goto done;
  }
  o->seconds_baselines = schedopt_opt_now() - tb;

  /* start: the best of the problem's schedule and the learning-rate
   * baselines, projected (under a step cap the best feasible one, else the
   * best); the momentum family is a start of its own (below) */
  const double cap = set.max_steps;
  double bestJ = HUGE_VAL, best_inf = HUGE_VAL, Jfam = HUGE_VAL;
  int have_feasible = 0;
  char own_inval[SCHEDOPT_ERRMSG_LEN] = ""; /* the problem's schedule refused as input */
  double *xb = malloc(n * sizeof *xb);
  if (!xb || !(xfam = malloc(n * sizeof *xfam))) {
    free(xb);
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i <= o->nb; i++) {
    const schedopt_schedule *s = base;
    if (i < o->nb) {
      if ((st = with_baseline(base, &o->b[i], &cand, err))) break;
      s = cand;
      o->bproj[i] = NAN;
    }
    schedopt_error e2 = {0};
    double J;
    schedopt_status s2 = schedopt_design_project(o->d, s, xb, &e2);
    if (!s2) s2 = schedopt_design_eval(o->d, it, &o->obj, xb, &J, NULL, &e2);
    schedopt_schedule_free(cand);
    cand = NULL;
    if (s2 == SCHEDOPT_EINVAL && i == o->nb && !own_inval[0]) /* the problem's own: why */
      snprintf(own_inval, sizeof own_inval, "%s", e2.msg);
    if (s2 == SCHEDOPT_EINVAL || s2 == SCHEDOPT_EDIVERGE) continue; /* not representable */
    if ((st = s2)) {
      *err = e2;
      break;
    }
    int feasible = 1;
    if (cap > 0) {
      double stp;
      if ((st = schedopt_design_steps(o->d, xb, &stp, NULL, err))) break;
      feasible = stp <= cap * (1 + 1e-6);
    }
    if (i < o->nb) {
      o->bproj[i] = J;
      /* a baseline over the step cap is not a point of the constrained design */
      o->bcont[i] = feasible && J <= o->b[i].J + contain_tol(o, o->b[i].J, rtol);
      if (o->b[i].type == schedopt_baseline_momentum) {
        if (feasible) Jfam = J, memcpy(xfam, xb, n * sizeof *xfam);
        continue;
      }
    }
    if (!feasible) {
      if (!have_feasible && J < best_inf) {
        best_inf = J;
        memcpy(x, xb, n * sizeof *x);
        snprintf(o->start_from, sizeof o->start_from, "%s%s, batch scaled to the step cap",
                 i < o->nb ? "baseline " : "", i < o->nb ? o->b[i].label : "the problem's schedule");
      }
      continue;
    }
    if (!have_feasible) {
      have_feasible = 1;
      bestJ = HUGE_VAL;
    }
    if (J < bestJ) {
      bestJ = J;
      memcpy(x, xb, n * sizeof *x);
      snprintf(o->start_from, sizeof o->start_from, "%s%s", i < o->nb ? "baseline " : "",
               i < o->nb ? o->b[i].label : "the problem's schedule");
    }
  }
  free(xb);
  if (st) goto done;
  if (cap > 0 && !have_feasible && isfinite(best_inf)) {
    /* repair: raise the batch until the start meets the cap */
    double stp = 0;
    for (int k = 0; k < 50; k++) {
      if ((st = schedopt_design_steps(o->d, x, &stp, NULL, err))) goto done;
      if (stp <= cap) break;
      scale_batch(o->d, x, stp / cap * (1 + 1e-9));
    }
    if ((st = schedopt_design_eval(o->d, it, &o->obj, x, &bestJ, NULL, err))) goto done;
  }
  if (!isfinite(bestJ) && own_inval[0]) { /* bad input (e.g. the recursion under a data
                                            * clock), not a divergence: exit 2 */
    st = schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize: %s", own_inval);
    goto done;
  }
  if (!isfinite(bestJ)) {
    st = schedopt_error_set(err, SCHEDOPT_EDIVERGE,
                            "optimize: neither the problem's schedule nor any baseline can be "
                            "represented by the design without diverging");
    goto done;
  }
  o->J_start = bestJ;
  if ((st = schedopt_design_steps(o->d, x, &o->start_steps, NULL, err))) goto done;

  /* the optimum: from the start above, and with a free-form momentum from
   * the momentum family and by continuation in the momentum cap */
  set.stage = "optimum";
  if (schedopt_design_channel(o->d, SCHEDOPT_MOMENTUM)->type == schedopt_parametrization_freeform) {
    if ((st = momentum_starts(o, it, &set, x, bestJ, isfinite(Jfam) ? xfam : NULL, Jfam, err)))
      goto done;
  } else {
    if ((st = schedopt_design_optimize(o->d, it, &o->obj, &set, x, &o->res, err))) goto done;
    o->nst = 1;
    snprintf(o->st[0].label, sizeof o->st[0].label, "%s", o->start_from);
    o->st[0].J_start = o->J_start, o->st[0].J = o->res.J;
    o->st[0].evals = o->res.evals, o->st[0].seconds = o->res.seconds;
  }
  if ((st = schedopt_design_eval(o->d, it, &o->obj, o->res.x, &o->J, NULL, err))) goto done;
  const schedopt_schedule *sopt;
  if ((st = schedopt_design_steps(o->d, o->res.x, &o->steps, NULL, err)) ||
      (st = schedopt_design_apply(o->d, o->res.x, &sopt, err)) ||
      (st = schedopt_opt_schedule_copy(&o->best, sopt, err)))
    goto done;
  for (size_t i = 0; i < o->nb; i++) {
    if (o->b[i].J < o->J) o->beaten++;
    if (o->bcont[i] && o->b[i].J < o->J - contain_tol(o, o->b[i].J, rtol)) o->cbeaten++;
  }

  /* curves */
  if ((st = make_times(o, err)) || (st = simulate(it, o->best, o->times, o->nt, &o->rows, err)) ||
      (st = split_rows(o, err)))
    goto done;
  for (size_t i = 0; i < o->nb; i++) {
    if ((st = with_baseline(base, &o->b[i], &cand, err))) goto done;
    st = simulate(it, cand, o->times, o->nt, &o->brows[i], err);
    schedopt_schedule_free(cand);
    cand = NULL;
    if (st) goto done;
  }
done:
  free(x);
  free(xfam);
  schedopt_schedule_free(cand);
  schedopt_integrator_free(it);
  o->seconds = schedopt_opt_now() - t_start;
  if (st) {
    schedopt_optimization_free(o);
    return st;
  }
  *out = o;
  return SCHEDOPT_OK;
}

/* ---- outer searches ------------------------------------------------------------- */

typedef struct outer {
  const schedopt_problem *p;
  const schedopt_optimize_spec *spec;
  schedopt_optimization *best; /* the chosen case (owns its problem) */
  double best_x;
  size_t n, cap;
  double *x, *J, *loss, *steps;
  const char *key;             /* model.N, budget.steps, ... */
  int integer;
  char stage[256];
} outer;

static void outer_free(outer *s) {
  schedopt_optimization_free(s->best);
  free(s->x);
  free(s->J);
  free(s->loss);
  free(s->steps);
}

/* A case already run at x (its index), or −1. */
static long outer_find(const outer *s, double x) {
  for (size_t i = 0; i < s->n; i++)
    if (s->x[i] == x) return (long)i;
  return -1;
}

/* Run the case key = x (cached); J and the final loss out.  keep: 1 keeps the
 * case if it is the best so far by `better`. */
static schedopt_status outer_case(outer *s, double x, int (*better)(const outer *, double, double),
                                  double *J, double *loss, schedopt_error *err) {
  long k = outer_find(s, x);
  if (k >= 0) {
    *J = s->J[k];
    *loss = s->loss[k];
    return SCHEDOPT_OK;
  }
  char set[128];
  if (s->integer)
    snprintf(set, sizeof set, "%s=%.0f", s->key, x);
  else
    snprintf(set, sizeof set, "%s=%.17g", s->key, x);
  const char *sets[1] = {set};
  schedopt_problem *q = NULL;
  schedopt_status st = schedopt_problem_variant(s->p, sets, 1, &q, err);
  if (st) {
    schedopt_error_prefix(err, "optimize (%s): ", set);
    return st;
  }
  schedopt_optimize_spec *in = malloc(sizeof *in), *qs = malloc(sizeof *qs);
  if (!in || !qs) {
    free(in), free(qs);
    schedopt_problem_free(q);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  *in = *s->spec;
  /* the case's objective (its times follow its horizon) */
  if (!schedopt_problem_optimize_spec(q, qs, NULL)) {
    in->objective = qs->objective;
    in->t0 = qs->t0, in->t1 = qs->t1, in->nh = qs->nh;
    memcpy(in->h, qs->h, sizeof in->h);
    memcpy(in->w, qs->w, sizeof in->w);
  }
  if (s->spec->target == s->spec->target) in->objective = SCHEDOPT_OBJ_FINAL;
  in->target = NAN;
  in->model_size_min = in->model_size_max = 0;
  snprintf(s->stage, sizeof s->stage, "%s %s", set, s->spec->settings.stage ? s->spec->settings.stage : "");
  in->settings.stage = s->stage;
  schedopt_optimization *o = NULL;
  st = run_one(&o, q, in, err);
  free(in);
  free(qs);
  if (st) {
    schedopt_problem_free(q);
    if (st == SCHEDOPT_EINVAL || st == SCHEDOPT_EDIVERGE) schedopt_error_prefix(err, "optimize (%s): ", set);
    return st;
  }
  o->own = q;
  if (s->n == s->cap) {
    size_t c = s->cap ? 2 * s->cap : 16;
    double *a = realloc(s->x, c * sizeof *a);
    if (a) s->x = a;
    double *b = realloc(s->J, c * sizeof *b);
    if (b) s->J = b;
    double *cc = realloc(s->loss, c * sizeof *cc);
    if (cc) s->loss = cc;
    double *d = realloc(s->steps, c * sizeof *d);
    if (d) s->steps = d;
    if (!a || !b || !cc || !d) {
      schedopt_optimization_free(o);
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    }
    s->cap = c;
  }
  *J = o->J;
  *loss = o->nt ? o->rows[o->nt - 1].r.loss : NAN;
  s->x[s->n] = x;
  s->J[s->n] = *J;
  s->loss[s->n] = *loss;
  s->steps[s->n] = o->steps;
  s->n++;
  if (!s->best || better(s, x, *J)) {
    schedopt_optimization_free(s->best);
    s->best = o;
    s->best_x = x;
  } else {
    schedopt_optimization_free(o);
  }
  return SCHEDOPT_OK;
}

static int lower_J(const outer *s, double x, double J) {
  (void)x;
  return J < s->best->J;
}

/* Hand the chosen case and the table (sorted by x) to the result. */
static schedopt_optimization *outer_finish(outer *s, int kind, double t0) {
  schedopt_optimization *o = s->best;
  s->best = NULL;
  /* sort the table by x */
  for (size_t i = 1; i < s->n; i++)
    for (size_t j = i; j > 0 && s->x[j] < s->x[j - 1]; j--) {
      double *arr[4] = {s->x, s->J, s->loss, s->steps};
      for (int a = 0; a < 4; a++) {
        double t = arr[a][j];
        arr[a][j] = arr[a][j - 1];
        arr[a][j - 1] = t;
      }
    }
  o->outer = kind;
  o->nouter = s->n;
  o->ox = s->x, o->oJ = s->J, o->oloss = s->loss, o->osteps = s->steps;
  s->x = s->J = s->loss = s->steps = NULL;
  o->oseconds = schedopt_opt_now() - t0;
  o->spec.target = s->spec->target;
  o->spec.model_size_min = s->spec->model_size_min;
  o->spec.model_size_max = s->spec->model_size_max;
  o->spec.model_size_points = s->spec->model_size_points;
  return o;
}

/* Compute budget: N over [min, max], a grid in log N, then golden section on
 * log N in the best cell, N rounded to integers (cached). */
static schedopt_status search_model_size(schedopt_optimization **out, const schedopt_problem *p,
                                         const schedopt_optimize_spec *spec,
                                         schedopt_error *err) {
  const double t0 = schedopt_opt_now();
  outer s = {0};
  s.p = p;
  s.spec = spec;
  s.key = schedopt_model_get_type(schedopt_problem_model(p)) == schedopt_model_fsl ? "model.M"
                                                                                   : "model.N";
  s.integer = 1;
  const double lo = (double)spec->model_size_min, hi = (double)spec->model_size_max;
  size_t G = spec->model_size_points < 3 ? 3 : spec->model_size_points;
  double J, L;
  schedopt_status st = SCHEDOPT_OK;
  double *g = malloc(G * sizeof *g);
  if (!g) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  size_t ib = 0;
  double bJ = HUGE_VAL;
  for (size_t i = 0; i < G && !st; i++) {
    g[i] = nearbyint(exp(log(lo) + (log(hi) - log(lo)) * (double)i / (double)(G - 1)));
    if ((st = outer_case(&s, g[i], lower_J, &J, &L, err))) break;
    if (J < bJ) bJ = J, ib = i;
  }
  if (!st) {
    /* golden section on u = log N in [g[ib−1], g[ib+1]] */
    double a = log(g[ib ? ib - 1 : 0]), b = log(g[ib + 1 < G ? ib + 1 : G - 1]);
    const double r = 0.5 * (sqrt(5.0) - 1);
    double u1 = b - r * (b - a), u2 = a + r * (b - a), f1, f2;
    if (!(st = outer_case(&s, nearbyint(exp(u1)), lower_J, &f1, &L, err)))
      st = outer_case(&s, nearbyint(exp(u2)), lower_J, &f2, &L, err);
    for (int it = 0; it < 60 && !st; it++) {
      if (exp(b) - exp(a) <= 2 || b - a <= log(1.03)) break;
      if (f1 <= f2) {
        b = u2, u2 = u1, f2 = f1;
        u1 = b - r * (b - a);
        st = outer_case(&s, nearbyint(exp(u1)), lower_J, &f1, &L, err);
      } else {
        a = u1, u1 = u2, f1 = f2;
        u2 = a + r * (b - a);
        st = outer_case(&s, nearbyint(exp(u2)), lower_J, &f2, &L, err);
      }
    }
  }
  free(g);
  if (st) {
    outer_free(&s);
    return st;
  }
  *out = outer_finish(&s, 1, t0);
  outer_free(&s);
  return SCHEDOPT_OK;
}

/* Steps to a target loss: the smallest budget amount A ≤ the problem's whose
 * optimum reaches L(H) ≤ target: halve A until it misses, then bisect on
 * log A (steps: to one step; data: to 1e-3 of A). */
static int reached_shorter(const outer *s, double x, double J) {
  return J <= s->spec->target && (s->best->J > s->spec->target || x < s->best_x);
}

static schedopt_status search_target(schedopt_optimization **out, const schedopt_problem *p,
                                     const schedopt_optimize_spec *spec, schedopt_error *err) {
  const double t0 = schedopt_opt_now();
  static const char *const keys[] = {"budget.steps", "budget.samples", "budget.tokens",
                                     "budget.compute"};
  double A;
  schedopt_budget_kind bk = schedopt_problem_budget(p, &A);
  outer s = {0};
  s.p = p;
  s.spec = spec;
  s.key = keys[bk];
  s.integer = bk == SCHEDOPT_BUDGET_STEPS;
  const double target = spec->target;
  /* the smallest amount: one step, or one batch at t = 0 */
  double amin = 1;
  if (bk != SCHEDOPT_BUDGET_STEPS) {
    schedopt_uval u;
    schedopt_schedule_eval(schedopt_problem_schedule(p), 0, &u);
    amin = u.batch * schedopt_problem_seq_len(p);
    if (bk == SCHEDOPT_BUDGET_COMPUTE) amin *= (double)schedopt_problem_modes(p);
  }
  double J, L;
  schedopt_status st = outer_case(&s, A, reached_shorter, &J, &L, err);
  if (!st && !(J <= target)) {
    st = schedopt_error_set(err, SCHEDOPT_ESOLVER,
                            "optimize.objective: steps_to_target: the optimized schedule "
                            "reaches L = %.10g at the full budget (%s = %.10g), above the target "
                            "%.10g: raise the budget (the upper end of the search)",
                            J, s.key, A, target);
  }
  double hi = A, lo = A;
  while (!st) { /* find a miss below */
    double x = s.integer ? floor(lo / 2) : lo / 2;
    if (x < amin) x = amin;
    if (x >= lo) { /* the smallest amount reaches it */
      lo = 0;
      break;
    }
    if ((st = outer_case(&s, x, reached_shorter, &J, &L, err))) break;
    if (J <= target) {
      hi = x;
      lo = x;
    } else {
      lo = x;
      break;
    }
  }
  while (!st && lo > 0) {
    if (s.integer ? hi - lo <= 1 : hi - lo <= 1e-3 * hi) break;
    double m = sqrt(lo * hi);
    if (s.integer) {
      m = nearbyint(m);
      if (m <= lo || m >= hi) m = floor(0.5 * (lo + hi));
      if (m <= lo || m >= hi) break;
    }
    if ((st = outer_case(&s, m, reached_shorter, &J, &L, err))) break;
    if (J <= target)
      hi = m;
    else
      lo = m;
  }
  if (st) {
    outer_free(&s);
    return st;
  }
  *out = outer_finish(&s, 2, t0);
  outer_free(&s);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_optimization_run(schedopt_optimization **out,
                                          const schedopt_problem *p,
                                          const schedopt_optimize_spec *spec,
                                          schedopt_error *err) {
  if (!out || !p || !spec)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimization_run: NULL");
  *out = NULL;
  if (!schedopt_problem_schedule(p) || !schedopt_problem_model(p))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimization_run: the problem is not built");
  double amount;
  schedopt_budget_kind bk = schedopt_problem_budget(p, &amount);
  if (spec->model_size_max > 0) {
    if (bk != SCHEDOPT_BUDGET_COMPUTE)
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize.model_size: searching the model "
                                "size needs a compute budget");
    if (!(spec->model_size_min >= 1 && spec->model_size_max > spec->model_size_min))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize.model_size: need 1 <= min < max "
                                "(got %ld, %ld)", spec->model_size_min, spec->model_size_max);
    if (!isnan(spec->target))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize: steps_to_target cannot be "
                                "combined with optimize.model_size");
    return search_model_size(out, p, spec, err);
  }
  if (!isnan(spec->target)) {
    if (!(spec->target > 0))
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize.objective.target: must be > 0");
    return search_target(out, p, spec, err);
  }
  return run_one(out, p, spec, err);
}

/* ---- accessors ---------------------------------------------------------------- */

const schedopt_opt_task *schedopt_optimization_tasks(const schedopt_optimization *o, size_t *n,
                                                     double *cpu0, double *cpu1, double *wall1) {
  *n = o ? o->nbtask : 0;
  *cpu0 = o ? o->cpu_bl0 : NAN;
  *cpu1 = o ? o->cpu_bl1 : NAN;
  *wall1 = o ? o->wall_bl1 : NAN;
  return o ? o->btask : NULL;
}

const schedopt_opt_result *schedopt_optimization_result(const schedopt_optimization *o) {
  return o ? &o->res : NULL;
}
const schedopt_design *schedopt_optimization_design(const schedopt_optimization *o) {
  return o ? o->d : NULL;
}
int schedopt_optimization_final_split(const schedopt_optimization *o, double *bias,
                                      double *variance, double *approx) {
  const schedopt_row *r = o && o->nt ? &o->rows[o->nt - 1] : NULL;
  const int ok = r && isfinite(r->r.bias) && isfinite(r->r.variance);
  if (bias) *bias = ok ? r->r.bias : NAN;
  if (variance) *variance = ok ? r->r.variance : NAN;
  if (approx) *approx = ok ? r->r.approx : NAN;
  return ok;
}

const schedopt_schedule *schedopt_optimization_schedule(const schedopt_optimization *o) {
  return o ? o->best : NULL;
}
size_t schedopt_optimization_nbaselines(const schedopt_optimization *o) { return o ? o->nb : 0; }

double schedopt_optimization_steps(const schedopt_optimization *o) { return o ? o->steps : NAN; }

int schedopt_optimization_outer(const schedopt_optimization *o, size_t *n, const double **x,
                                const double **J, const double **loss, const double **steps) {
  if (n) *n = o ? o->nouter : 0;
  if (x) *x = o ? o->ox : NULL;
  if (J) *J = o ? o->oJ : NULL;
  if (loss) *loss = o ? o->oloss : NULL;
  if (steps) *steps = o ? o->osteps : NULL;
  return o ? o->outer : 0;
}

const schedopt_problem *schedopt_optimization_problem(const schedopt_optimization *o) {
  return o ? o->p : NULL;
}

const schedopt_baseline *schedopt_optimization_baseline(const schedopt_optimization *o,
                                                        size_t i, double *J_projected,
                                                        int *contained) {
  if (!o || i >= o->nb) return NULL;
  if (J_projected) *J_projected = o->bproj[i];
  if (contained) *contained = o->bcont[i];
  return &o->b[i];
}

size_t schedopt_optimization_nstarts(const schedopt_optimization *o) { return o ? o->nst : 0; }

const schedopt_opt_start *schedopt_optimization_start(const schedopt_optimization *o, size_t i) {
  return o && i < o->nst ? &o->st[i] : NULL;
}

void schedopt_optimization_violations(const schedopt_optimization *o, size_t *beaten,
                                      size_t *contained_beaten) {
  if (beaten) *beaten = o ? o->beaten : 0;
  if (contained_beaten) *contained_beaten = o ? o->cbeaten : 0;
}

/* ---- reports ------------------------------------------------------------------- */

static const char *obj_name(schedopt_objective_kind k) {
  return k == SCHEDOPT_OBJ_MEAN ? "mean" : k == SCHEDOPT_OBJ_HORIZONS ? "horizons" : "final";
}

static const char *budget_name(schedopt_budget_kind k) {
  static const char *const names[] = {"steps", "samples", "tokens", "compute"};
  return (int)k >= 0 && (int)k < 4 ? names[k] : "?";
}

static void phase(const schedopt_problem *p, const char **name, const char **rule,
                  double *zc, double *zo) {
  double a, b;
  schedopt_problem_exponents(p, &a, &b, NULL, NULL);
  *name = b < a ? "easy" : b > a ? "hard" : "boundary";
  *rule = b < a ? "b < a" : b > a ? "b > a" : "b = a";
  /* docs/theory.md §3: L_T − σ² ∝ T^−ζ */
  *zc = (a - 1) / (a + b - 1);
  *zo = b < a ? (a - 1) / a : (a - 1) / b;
}

/* "lr: freeform, 64 knots, linear, non-increasing after t = 0, in [0, 1]" */
static void channel_text(const schedopt_optimization *o, int ch, char *buf, size_t cap) {
  const schedopt_channel_param *c = schedopt_design_channel(o->d, (schedopt_channel)ch);
  const schedopt_control *given = schedopt_schedule_get(schedopt_problem_schedule(o->p), ch);
  size_t len = 0;
#define APP(...)                                                                  \
  do {                                                                            \
    int k_ = snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__);         \
    if (k_ > 0) len += (size_t)k_;                                                \
  } while (0)
  if (c->type == schedopt_parametrization_freeform) {
    APP("%s: freeform, %zu knots, %s", ch_key[ch], c->knots, c->step ? "step" : "linear");
    if (c->nrefine) {
      APP(", refined toward");
      for (size_t i = 0; i < c->nrefine; i++) APP(" %g", c->refine[i]);
    }
    if (c->monotone)
      APP(", %s after t = %g",
          c->monotone == SCHEDOPT_MONOTONE_DECREASING ? "non-increasing" : "non-decreasing",
          c->monotone_after);
    APP(", values in [%g, %g]", c->lo, c->hi);
  } else {
    APP("%s: %s family, varying", ch_key[ch], given->type->name);
    for (size_t k = 0; k < c->nvary; k++)
      APP("%s %s%s in [%g, %g]", k ? "," : "", c->vary_log[k] ? "log " : "", c->vary[k],
          c->vary_lo[k], c->vary_hi[k]);
  }
#undef APP
  if (len >= cap && cap) buf[cap - 1] = '\0';
}

schedopt_status schedopt_optimization_write_text(const schedopt_optimization *o, FILE *f,
                                                 schedopt_error *err) {
  if (!o || !f) return schedopt_error_set(err, SCHEDOPT_EINVAL, "write_text: NULL");
  const schedopt_problem *p = o->p;
  double a, b, s, beta, amount, zc, zo;
  schedopt_problem_exponents(p, &a, &b, &s, &beta);
  const char *ph, *rule;
  phase(p, &ph, &rule, &zc, &zo);
  schedopt_budget_kind bk = schedopt_problem_budget(p, &amount);
  const double H = schedopt_schedule_horizon(schedopt_problem_schedule(p));
  fprintf(f, "schedopt optimize: %s\n", schedopt_problem_name(p));
  fprintf(f, "  model      %s  a=%g b=%g | s=%g beta=%g  N=%ld sigma2=%g  %s phase (%s)\n",
          schedopt_model_get_type(schedopt_problem_model(p))->name, a, b, s, beta,
          schedopt_problem_modes(p), schedopt_problem_sigma2(p), ph, rule);
  if (o->outer == 1) /* docs/theory.md §3a: N^-(a-1) = D^-zo under C = N*D gives N* ~ C^nu */
    fprintf(f, "  theory     compute-optimal: L* - sigma^2 ~ C^-%.4g, N* ~ C^%.4g (docs/theory.md, "
               "section 3a)\n",
            (a - 1) * zo / (zo + a - 1), zo / (zo + a - 1));
  else
    fprintf(f, "  theory     L - sigma^2 ~ T^-%.4g (tuned constant), T^-%.4g (optimal schedule)\n",
            zc, zo);
  fprintf(f, "  budget     %s %.10g (horizon H = %.10g clock units), %s integrator\n",
          budget_name(bk), amount, H, schedopt_problem_integrator(p)->name);
  const long mK = schedopt_problem_momentum_modes(p), mN = schedopt_problem_modes(p);
  if (mK > 0 && mK < mN)
    fprintf(f, "  momentum   %ld of %ld modes keep E[e^2], E[v^2], E[e v]; the other %ld are "
               "overdamped and keep E[e^2] (model.momentum_modes; docs/theory.md section 7)\n",
            mK, mN, mN - mK);
  if (o->spec.settings.max_steps > 0)
    fprintf(f, "  steps      %.10g optimizer steps (cap max_steps = %.10g; the start took %.10g)\n",
            o->steps, o->spec.settings.max_steps, o->start_steps);
  else
    fprintf(f, "  steps      %.10g optimizer steps\n", o->steps);
  if (o->outer == 1) {
    fprintf(f, "  compute    C = N*D = %.10g: N searched over [%ld, %ld] (%zu sizes, %.3g s)\n",
            amount, o->spec.model_size_min, o->spec.model_size_max, o->nouter, o->oseconds);
    fprintf(f, "             compute-optimal N* = %ld, D* = C/N* = %.10g samples, L* = %.10g "
               "(objective %.10g)\n", schedopt_problem_modes(p), H * 1.0, 
            o->nt ? o->rows[o->nt - 1].r.loss : NAN, o->J);
    fprintf(f, "\n  %10s %16s %16s %16s %14s\n", "N", "D = C/N", "objective", "final loss",
            "steps");
    for (size_t i = 0; i < o->nouter; i++)
      fprintf(f, "  %10.0f %16.10g %16.10g %16.10g %14.10g%s\n", o->ox[i], amount / o->ox[i],
              o->oJ[i], o->oloss[i], o->osteps[i],
              o->ox[i] == (double)schedopt_problem_modes(p) ? "  <- N*" : "");
    fputc('\n', f);
  } else if (o->outer == 2) {
    fprintf(f, "  target     steps_to_target: L <= %.10g first reached at %s = %.10g (%.10g "
               "optimizer steps), L = %.10g; %zu horizons tried, %.3g s\n",
            o->spec.target, budget_name(bk), amount, o->steps, o->J, o->nouter, o->oseconds);
    fprintf(f, "\n  %16s %16s %14s %8s\n", budget_name(bk), "final loss", "steps", "reached");
    for (size_t i = 0; i < o->nouter; i++)
      fprintf(f, "  %16.10g %16.10g %14.10g %8s%s\n", o->ox[i], o->oJ[i], o->osteps[i],
              o->oJ[i] <= o->spec.target ? "yes" : "no", o->ox[i] == amount ? "  <- H*" : "");
    fputc('\n', f);
  }
  if (o->obj.kind == SCHEDOPT_OBJ_FINAL)
    fprintf(f, "  objective  final loss L(H)\n");
  else if (o->obj.kind == SCHEDOPT_OBJ_MEAN)
    fprintf(f, "  objective  mean loss over [%.10g, %.10g]\n", o->obj.t0, o->obj.t1);
  else {
    fprintf(f, "  objective  sum_i w_i L(h_i):");
    for (size_t i = 0; i < o->obj.nh; i++) fprintf(f, " %g*L(%.10g)", o->obj.w[i], o->obj.h[i]);
    fputc('\n', f);
  }
  fprintf(f, "  loss       full mean-squared error L = E + tail + sigma^2 (no 1/2); "
             "excess = L - sigma^2\n");
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    if (!schedopt_design_channel(o->d, (schedopt_channel)ch)->type) continue;
    char buf[512];
    channel_text(o, ch, buf, sizeof buf);
    fprintf(f, "  design     %s\n", buf);
  }
  const schedopt_opt_result *r = &o->res;
  const int grad = r->algorithm && r->algorithm->gradient;
  fprintf(f, "  optimizer  %s%s: %s after %ld evaluations, %.3g s; %zu start%s, the first from "
             "%s (projected onto the design: objective %.9g)\n",
          r->algorithm ? r->algorithm->name : "?",
          grad ? (o->spec.settings.fd_gradient ? " (finite-difference gradients)"
                                               : " (adjoint gradients)") : "",
          r->code_name, r->evals, r->seconds, r->starts, r->starts == 1 ? "" : "s",
          o->start_from, o->J_start);
  if (grad && (r->code == -1 || r->code == -4))
    fprintf(f, "  note       the line search stopped (%s) and a restart from the best point made "
               "no progress:\n             converged to the accuracy of the gradient (with cvodes "
               "a smaller solver.rtol, or model.dynamics: recursion, goes further)\n",
            r->code_name);
  fprintf(f, "  time       %.3g s in all: baselines %.3g s, optimum %.3g s\n", o->seconds,
          o->seconds_baselines, r->seconds);
  if (o->nst > 1) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    int screened = 0;
    for (size_t i = 0; i < o->nst; i++) {
      lo = fmin(lo, o->st[i].J), hi = fmax(hi, o->st[i].J);
      screened |= strstr(o->st[i].label, ", screened") != NULL;
    }
    fprintf(f, "  starts     %zu; %s excess from best to worst start: %.4g x (spread of the "
               "objective %.3g relative)\n", o->nst,
            screened ? "final (screened: where they stopped)" : "final",
            (hi - o->sig) / (lo - o->sig), (hi - lo) / lo);
    for (size_t i = 0; i < o->nst; i++)
      fprintf(f, "             %-62s start %.9g -> %.9g (excess %.6g), %ld evaluations, "
                 "%.3g s%s\n", o->st[i].label, o->st[i].J_start, o->st[i].J,
              o->st[i].J - o->sig, o->st[i].evals, o->st[i].seconds,
              o->st[i].J == lo ? "  <- best" : "");
  }
  const double ex = o->J - o->sig;
  fprintf(f, "\n  %-26s %14s %12s %10s %11s  %s\n", "schedule", "objective", "excess",
          "excess/opt", "loss/opt", "tuned");
  fprintf(f, "  %-26s %14.9g %12.5g %10.4f %11.7f\n", "optimum", o->J, ex, 1.0, 1.0);
  for (size_t i = 0; i < o->nb; i++) {
    const schedopt_baseline *bl = &o->b[i];
    char tuned[256];
    size_t len = 0;
    tuned[0] = '\0';
    for (size_t k = 0; k < bl->np && len < sizeof tuned; k++)
      len += (size_t)snprintf(tuned + len, sizeof tuned - len, "%s%s=%.4g", k ? " " : "",
                              bl->pname[k], bl->pval[k]);
    fprintf(f, "  %-26s %14.9g %12.5g %10.4f %11.7f  %s%s\n", bl->label, bl->J, bl->J - o->sig,
            (bl->J - o->sig) / ex, bl->J / o->J, tuned, o->bcont[i] ? "" : "  (not contained)");
  }
  if (o->cbeaten)
    fprintf(f, "\n  FAILED CHECK: %zu baseline%s contained in the design beat%s the optimum\n",
            o->cbeaten, o->cbeaten == 1 ? "" : "s", o->cbeaten == 1 ? "s" : "");
  else if (o->beaten)
    fprintf(f, "\n  WARNING: %zu baseline%s beat%s the optimum; the design cannot represent "
               "%s (use more knots or another parametrization)\n",
            o->beaten, o->beaten == 1 ? "" : "s", o->beaten == 1 ? "s" : "",
            o->beaten == 1 ? "it" : "them");
  if (ferror(f)) return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write the summary");
  return SCHEDOPT_OK;
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *jarr(const double *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, jnum(v[i]));
  return a;
}

static json_t *summary_json(const schedopt_optimization *o) {
  const schedopt_problem *p = o->p;
  json_t *root = json_object();
  double a, b, s, beta, amount, zc, zo;
  schedopt_problem_exponents(p, &a, &b, &s, &beta);
  const char *ph, *rule;
  phase(p, &ph, &rule, &zc, &zo);
  json_object_set_new(root, "schedopt_version", json_string(SCHEDOPT_VERSION));
  json_t *pr = json_object();
  json_object_set_new(pr, "name", json_string(schedopt_problem_name(p)));
  const char *desc = schedopt_problem_description(p);
  json_object_set_new(pr, "description", desc ? json_string(desc) : json_null());
  json_object_set_new(root, "problem", pr);

  json_t *m = json_object();
  json_object_set_new(m, "type", json_string(schedopt_model_get_type(schedopt_problem_model(p))->name));
  json_object_set_new(m, "a", jnum(a));
  json_object_set_new(m, "b", jnum(b));
  json_object_set_new(m, "s", jnum(s));
  json_object_set_new(m, "beta", jnum(beta));
  json_object_set_new(m, "N", json_integer(schedopt_problem_modes(p)));
  json_object_set_new(m, "sigma2", jnum(schedopt_problem_sigma2(p)));
  json_object_set_new(m, "integrator", json_string(schedopt_problem_integrator(p)->name));
  json_object_set_new(root, "model", m);

  json_t *phj = json_object();
  json_object_set_new(phj, "name", json_string(ph));
  json_object_set_new(phj, "rule", json_string(rule));
  json_t *th = json_object();
  json_object_set_new(th, "constant", jnum(zc));
  json_object_set_new(th, "optimal", jnum(zo));
  json_object_set_new(phj, "theory_exponents", th);
  json_object_set_new(root, "phase", phj);

  schedopt_budget_kind bk = schedopt_problem_budget(p, &amount);
  const schedopt_schedule *base = schedopt_problem_schedule(p);
  json_t *bj = json_object();
  json_object_set_new(bj, "kind", json_string(budget_name(bk)));
  json_object_set_new(bj, "amount", jnum(amount));
  json_object_set_new(bj, "horizon", jnum(schedopt_schedule_horizon(base)));
  json_object_set_new(bj, "clock", json_string(schedopt_schedule_clock(base) ==
                                                       SCHEDOPT_CLOCK_STEPS ? "steps" : "data"));
  json_object_set_new(bj, "seq_len", jnum(schedopt_problem_seq_len(p)));
  json_object_set_new(bj, "max_steps", o->spec.settings.max_steps > 0
                                           ? jnum(o->spec.settings.max_steps) : json_null());
  json_object_set_new(bj, "steps", jnum(o->steps));
  json_object_set_new(root, "budget", bj);
  json_object_set_new(root, "loss_convention",
                      json_string("full mean-squared error L = E + tail + sigma^2 (no 1/2); "
                                  "excess = L - sigma^2"));

  json_t *oj = json_object();
  json_object_set_new(oj, "kind", json_string(obj_name(o->obj.kind)));
  if (o->obj.kind == SCHEDOPT_OBJ_MEAN) {
    json_object_set_new(oj, "from", jnum(o->obj.t0));
    json_object_set_new(oj, "to", jnum(o->obj.t1));
  } else if (o->obj.kind == SCHEDOPT_OBJ_HORIZONS) {
    json_object_set_new(oj, "horizons", jarr(o->obj.h, o->obj.nh));
    json_object_set_new(oj, "weights", jarr(o->obj.w, o->obj.nh));
  }
  json_object_set_new(oj, "floor", jnum(o->floor));
  json_object_set_new(oj, "sigma2_part", jnum(o->sig));
  json_object_set_new(root, "objective", oj);

  json_t *dj = json_object(), *chs = json_array();
  size_t n = schedopt_design_size(o->d);
  json_object_set_new(dj, "size", json_integer((json_int_t)n));
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    const schedopt_channel_param *c = schedopt_design_channel(o->d, (schedopt_channel)ch);
    if (!c->type) continue;
    json_t *cj = json_object();
    json_object_set_new(cj, "channel", json_string(ch_key[ch]));
    json_object_set_new(cj, "param", json_string(c->type->name));
    json_object_set_new(cj, "min", jnum(c->lo));
    json_object_set_new(cj, "max", jnum(c->hi));
    if (c->type == schedopt_parametrization_freeform) {
      size_t K;
      const double *kt = schedopt_design_knots(o->d, (schedopt_channel)ch, &K);
      json_object_set_new(cj, "knots", json_integer((json_int_t)K));
      json_object_set_new(cj, "interp", json_string(c->step ? "step" : "linear"));
      json_object_set_new(cj, "monotone",
                          json_string(c->monotone == SCHEDOPT_MONOTONE_DECREASING ? "decreasing"
                                      : c->monotone == SCHEDOPT_MONOTONE_INCREASING
                                          ? "increasing"
                                          : "none"));
      if (c->monotone) json_object_set_new(cj, "monotone_after", jnum(c->monotone_after));
      json_object_set_new(cj, "refine_at", jarr(c->refine, c->nrefine));
      json_object_set_new(cj, "knot_times", jarr(kt, K));
      const schedopt_control *bc = schedopt_schedule_get(o->best, ch);
      json_object_set_new(cj, "values", jarr(bc->v, bc->n));
    } else {
      const schedopt_control *given = schedopt_schedule_get(base, ch);
      json_object_set_new(cj, "family", json_string(given->type->name));
      json_t *vs = json_array();
      for (size_t k = 0; k < c->nvary; k++) {
        json_t *v = json_object();
        json_object_set_new(v, "name", json_string(c->vary[k]));
        json_object_set_new(v, "min", jnum(c->vary_lo[k]));
        json_object_set_new(v, "max", jnum(c->vary_hi[k]));
        json_object_set_new(v, "log", json_boolean(c->vary_log[k]));
        json_array_append_new(vs, v);
      }
      json_object_set_new(cj, "vary", vs);
    }
    json_array_append_new(chs, cj);
  }
  json_object_set_new(dj, "channels", chs);
  json_object_set_new(root, "design", dj);

  const schedopt_opt_result *r = &o->res;
  json_t *opj = json_object();
  json_object_set_new(opj, "algorithm", json_string(r->algorithm ? r->algorithm->name : "?"));
  json_object_set_new(opj, "gradient", json_string(!r->algorithm || !r->algorithm->gradient
                                                       ? "none"
                                                   : o->spec.settings.fd_gradient ? "fd"
                                                                                  : "adjoint"));
  json_object_set_new(opj, "result", json_string(r->code_name));
  json_object_set_new(opj, "result_code", json_integer(r->code));
  json_object_set_new(opj, "evaluations", json_integer(r->evals));
  json_object_set_new(opj, "gradient_evaluations", json_integer(r->grad_evals));
  json_object_set_new(opj, "seconds", jnum(r->seconds));
  json_object_set_new(opj, "starts", json_integer((json_int_t)r->starts));
  json_object_set_new(opj, "best_start", json_integer((json_int_t)r->best_start));
  json_object_set_new(opj, "ftol_rel", jnum(o->spec.settings.ftol_rel));
  json_object_set_new(opj, "xtol_rel", jnum(o->spec.settings.xtol_rel));
  json_object_set_new(opj, "maxeval", json_integer(o->spec.settings.maxeval));
  json_object_set_new(opj, "maxtime", jnum(o->spec.settings.maxtime));
  json_object_set_new(opj, "seed", json_integer((json_int_t)o->spec.settings.seed));
  json_object_set_new(opj, "start_from", json_string(o->start_from));
  json_object_set_new(opj, "start_objective", jnum(o->J_start));
  {
    json_t *sa = json_array();
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t i = 0; i < o->nst; i++) {
      json_t *e = json_object();
      json_object_set_new(e, "start_from", json_string(o->st[i].label));
      json_object_set_new(e, "start_objective", jnum(o->st[i].J_start));
      json_object_set_new(e, "objective", jnum(o->st[i].J));
      json_object_set_new(e, "excess", jnum(o->st[i].J - o->sig));
      json_object_set_new(e, "evaluations", json_integer(o->st[i].evals));
      json_object_set_new(e, "seconds", jnum(o->st[i].seconds));
      json_array_append_new(sa, e);
      lo = fmin(lo, o->st[i].J), hi = fmax(hi, o->st[i].J);
    }
    json_object_set_new(opj, "multistart", sa);
    /* (worst − best)/best of the objective, and the same ratio of the excesses */
    json_object_set_new(opj, "multistart_spread", jnum(o->nst ? (hi - lo) / lo : NAN));
    json_object_set_new(opj, "multistart_excess_ratio",
                        jnum(o->nst ? (hi - o->sig) / (lo - o->sig) : NAN));
  }
  json_object_set_new(root, "optimizer", opj);

  json_t *best = json_object();
  json_object_set_new(best, "objective", jnum(o->J));
  json_object_set_new(best, "excess", jnum(o->J - o->sig));
  if (o->nt) {
    json_object_set_new(best, "final_loss", jnum(o->rows[o->nt - 1].r.loss));
    json_object_set_new(best, "final_excess", jnum(o->rows[o->nt - 1].r.excess));
    json_object_set_new(best, "steps", jnum(o->rows[o->nt - 1].step));
  }
  json_t *names = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(names, json_string(schedopt_design_var_name(o->d, i)));
  json_object_set_new(best, "decision_names", names);
  json_object_set_new(best, "decision", jarr(r->x, r->n));
  json_object_set_new(root, "optimum", best);

  json_t *bl = json_array();
  for (size_t i = 0; i < o->nb; i++) {
    const schedopt_baseline *x = &o->b[i];
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(x->type->name));
    json_object_set_new(e, "label", json_string(x->label));
    json_object_set_new(e, "family", json_string(x->control->type->name));
    json_t *pp = json_object();
    for (size_t k = 0; k < x->np; k++) json_object_set_new(pp, x->pname[k], jnum(x->pval[k]));
    json_object_set_new(e, "tuned", pp);
    json_object_set_new(e, "objective", jnum(x->J));
    json_object_set_new(e, "excess", jnum(x->J - o->sig));
    json_object_set_new(e, "ratio", jnum(x->J / o->J));
    json_object_set_new(e, "excess_ratio", jnum((x->J - o->sig) / (o->J - o->sig)));
    json_object_set_new(e, "projected_objective", jnum(o->bproj[i]));
    json_object_set_new(e, "contained", json_boolean(o->bcont[i]));
    json_object_set_new(e, "evaluations", json_integer(x->evals));
    json_object_set_new(e, "seconds", jnum(x->seconds));
    json_array_append_new(bl, e);
  }
  json_object_set_new(root, "baselines", bl);

  json_t *ck = json_object();
  json_object_set_new(ck, "baselines_beating_optimum", json_integer((json_int_t)o->beaten));
  json_object_set_new(ck, "contained_baselines_beating_optimum",
                      json_integer((json_int_t)o->cbeaten));
  json_object_set_new(ck, "ok", json_boolean(o->cbeaten == 0));
  json_object_set_new(root, "checks", ck);
  if (o->outer) {
    json_t *os = json_object(), *tb = json_array();
    json_object_set_new(os, "kind", json_string(o->outer == 1 ? "model_size" : "steps_to_target"));
    if (o->outer == 1) {
      json_object_set_new(os, "min", json_integer(o->spec.model_size_min));
      json_object_set_new(os, "max", json_integer(o->spec.model_size_max));
      json_object_set_new(os, "N_star", json_integer(schedopt_problem_modes(p)));
      json_object_set_new(os, "D_star", jnum(schedopt_schedule_horizon(base)));
      json_object_set_new(os, "L_star", jnum(o->nt ? o->rows[o->nt - 1].r.loss : NAN));
      json_object_set_new(os, "objective_star", jnum(o->J));
    } else {
      json_object_set_new(os, "target", jnum(o->spec.target));
      json_object_set_new(os, "budget_star", jnum(amount));
      json_object_set_new(os, "horizon_star", jnum(schedopt_schedule_horizon(base)));
      json_object_set_new(os, "steps_star", jnum(o->steps));
      json_object_set_new(os, "loss_star", jnum(o->J));
    }
    for (size_t i = 0; i < o->nouter; i++) {
      json_t *r = json_object();
      if (o->outer == 1) {
        json_object_set_new(r, "N", jnum(o->ox[i]));
        json_object_set_new(r, "D", jnum(amount / o->ox[i]));
      } else {
        json_object_set_new(r, "budget", jnum(o->ox[i]));
      }
      json_object_set_new(r, "objective", jnum(o->oJ[i]));
      json_object_set_new(r, "final_loss", jnum(o->oloss[i]));
      json_object_set_new(r, "steps", jnum(o->osteps[i]));
      json_array_append_new(tb, r);
    }
    json_object_set_new(os, "table", tb);
    json_object_set_new(os, "seconds", jnum(o->oseconds));
    json_object_set_new(root, "outer_search", os);
  }
  json_object_set_new(root, "seconds", jnum(o->seconds));
  json_object_set_new(root, "seconds_baselines", jnum(o->seconds_baselines));
  return root;
}

/* ---- files --------------------------------------------------------------------- */

schedopt_status schedopt_optimization_prepare_dir(const char *dir, schedopt_error *err) {
  if (!dir || !*dir) return schedopt_error_set(err, SCHEDOPT_EINVAL, "no output folder");
  schedopt_status st = schedopt_outfile_mkdirs(dir, err);
  if (!st && access(dir, W_OK | X_OK) != 0)
    st = schedopt_error_set(err, SCHEDOPT_EIO, "%s: cannot write into the folder: %s", dir,
                            strerror(errno));
  return st;
}

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *s = malloc(a + b + 2);
  if (!s) return NULL;
  memcpy(s, dir, a);
  size_t k = a;
  if (a && dir[a - 1] != '/') s[k++] = '/';
  memcpy(s + k, name, b + 1);
  return s;
}

/* Open dir/name in set and fill it (the set commits). */
static schedopt_status write_member(schedopt_outset *set, const char *dir, const char *name,
                                    schedopt_status (*fill)(const schedopt_optimization *,
                                                            FILE *, schedopt_error *),
                                    const schedopt_optimization *o, schedopt_error *err) {
  char *path = join(dir, name);
  if (!path) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  FILE *fp;
  schedopt_status st = schedopt_outset_open(set, path, &fp, err);
  if (!st) st = fill(o, fp, err);
  free(path);
  return st;
}

static schedopt_status fill_schedule(const schedopt_optimization *o, FILE *f,
                                     schedopt_error *err) {
  const double seq = schedopt_problem_seq_len(o->p);
  /* loss = bias + variance + approx + sigma^2 (split_rows); 12 digits keep
   * the identity to 1e-11 in the file; a part the model does not track is an
   * empty cell */
  fprintf(f, "step,tokens,lr,batch,momentum,loss,excess,bias,variance,approx\n");
  for (size_t i = 0; i < o->nt; i++) {
    const schedopt_row *r = &o->rows[i];
    fprintf(f, "%.10g,%.10g,%.10g,%.10g,%.10g,%.12g,%.12g", r->step, r->samples * seq,
            r->u.lr, r->u.batch, r->u.momentum, r->r.loss, r->r.excess);
    const double part[3] = {r->r.bias, r->r.variance, r->r.approx};
    for (int k = 0; k < 3; k++)
      if (isfinite(part[k]))
        fprintf(f, ",%.12g", part[k]);
      else
        fputc(',', f);
    fputc('\n', f);
  }
  (void)err; /* a write error is reported, with its reason, when the set commits */
  return SCHEDOPT_OK;
}

static schedopt_status fill_baselines(const schedopt_optimization *o, FILE *f,
                                      schedopt_error *err) {
  const double seq = schedopt_problem_seq_len(o->p);
  fprintf(f, "step,tokens,lr_optimum,loss_optimum");
  for (size_t k = 0; k < o->nb; k++)
    fprintf(f, ",lr_%s,loss_%s", o->b[k].type->name, o->b[k].type->name);
  fputc('\n', f);
  for (size_t i = 0; i < o->nt; i++) {
    const schedopt_row *r = &o->rows[i];
    fprintf(f, "%.10g,%.10g,%.10g,%.10g", r->step, r->samples * seq, r->u.lr, r->r.loss);
    for (size_t k = 0; k < o->nb; k++)
      fprintf(f, ",%.10g,%.10g", o->brows[k][i].u.lr, o->brows[k][i].r.loss);
    fputc('\n', f);
  }
  (void)err; /* a write error is reported, with its reason, when the set commits */
  return SCHEDOPT_OK;
}

static schedopt_status fill_json(const schedopt_optimization *o, FILE *f, schedopt_error *err) {
  json_t *root = summary_json(o);
  if (!root) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory (JSON)");
  int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER);
  json_decref(root);
  fputc('\n', f);
  return rc && !ferror(f) ? schedopt_error_set(err, SCHEDOPT_EINTERNAL, "summary.json: JSON "
                                               "encoding failed")
                          : SCHEDOPT_OK; /* write errors: the set's commit */
}

/* In commit order: summary.json last, so that it marks a complete result. */
const char *const schedopt_optimization_files[5] = {"schedule.csv", "baselines.csv",
                                                    "summary.txt", "summary.json", NULL};

schedopt_status schedopt_optimization_write_set(const schedopt_optimization *o,
                                                schedopt_outset *set, const char *dir,
                                                schedopt_error *err) {
  if (!o || !set || !dir || !*dir)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimization_write: no folder");
  schedopt_status (*const fill[])(const schedopt_optimization *, FILE *, schedopt_error *) = {
      fill_schedule, fill_baselines, schedopt_optimization_write_text, fill_json};
  schedopt_status st = schedopt_outfile_mkdirs(dir, err);
  /* the trainers' tuned built-in schedules, as each trainer reads them */
  for (size_t k = 0; k < o->nb && !st; k++) {
    schedopt_trainer_sched ts;
    schedopt_error e2 = {0};
    if (!o->b[k].type->opt_in ||
        schedopt_baseline_trainer_sched(&o->b[k], schedopt_schedule_horizon(
                                                      schedopt_problem_schedule(o->p)),
                                        &ts, &e2))
      continue;
    char *path = join(dir, schedopt_trainer_file_name(ts.type->trainer)), title[512];
    if (!path) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    snprintf(title, sizeof title, "Problem '%s': the best built-in %s schedule under the model "
             "(objective %.6g; its excess is %.4g x the free-form optimum's)",
             schedopt_problem_name(o->p), ts.type->trainer, o->b[k].J,
             (o->b[k].J - o->sig) / (o->J - o->sig));
    /* no --global-batch-size: the theory's batch is not the trainer's */
    FILE *fp;
    st = schedopt_outset_open(set, path, &fp, err);
    if (!st) st = schedopt_trainer_write(fp, &ts, title, 0, err);
    free(path);
  }
  for (int i = 0; i < 4 && !st; i++)
    st = write_member(set, dir, schedopt_optimization_files[i], fill[i], o, err);
  return st;
}

schedopt_status schedopt_optimization_write(const schedopt_optimization *o, const char *dir,
                                            schedopt_error *err) {
  schedopt_outset *set = NULL;
  schedopt_status st = schedopt_outset_alloc(&set, err);
  if (!st) st = schedopt_optimization_write_set(o, set, dir, err);
  if (!st) st = schedopt_outset_commit(set, err);
  schedopt_outset_free(set);
  return st;
}
