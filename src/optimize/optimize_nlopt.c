/* optimize_nlopt.c — minimize J over a design's box: NLopt by algorithm name,
 * or GOLDEN (grid + golden section) in one dimension; multi-start from
 * seeded uniform points; the best evaluated point is the result.
 *
 * NLopt sees f(x) = log(J(x) − J∞) with ∇f = ∇J / (J − J∞): the minimizer of
 * J, with tolerances relative to the excess loss. */
#define _POSIX_C_SOURCE 200809L
#include "optimize/optimize_impl.h"

#include <ctype.h>
#include <math.h>
#include <nlopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NEWTON is no NLopt algorithm: schedopt_design_optimize runs it itself. */
#define NEWTON_ID (-2)

#define ALG(n, g, lo, hi, doc, con) {#n, NLOPT_##n, g, lo, hi, doc, con}
const schedopt_algorithm schedopt_algorithms[] = {
    ALG(LD_LBFGS, 1, 1, 0, "limited-memory BFGS with bounds (the default where NEWTON does not apply)", 0),
    ALG(LD_MMA, 1, 1, 0, "method of moving asymptotes (constraints; the default with a step cap)", 1),
    ALG(LD_CCSAQ, 1, 1, 0, "conservative convex separable quadratic approximations (constraints)", 1),
    ALG(LD_SLSQP, 1, 1, 0, "sequential quadratic programming (constraints; dense, n up to a few hundred)", 1),
    ALG(LD_TNEWTON_PRECOND_RESTART, 1, 1, 0, "preconditioned truncated Newton", 0),
    ALG(LD_VAR2, 1, 1, 0, "shifted limited-memory variable metric, rank 2", 0),
    ALG(LN_BOBYQA, 0, 2, 0, "derivative-free, quadratic models (small families)", 0),
    ALG(LN_COBYLA, 0, 1, 0, "derivative-free, linear approximations (constraints)", 1),
    ALG(LN_SBPLX, 0, 1, 0, "derivative-free, subplex (Nelder-Mead on subspaces)", 0),
    ALG(LN_NELDERMEAD, 0, 1, 0, "derivative-free simplex", 0),
    {"GOLDEN", -1, 0, 1, 1, "derivative-free, one variable: 11-point grid, then golden section", 0},
    {"NEWTON", NEWTON_ID, 1, 1, 0, "projected Newton on the model Hessian (the default for a "
     "free-form learning rate under SGD, final loss, one start; LD_LBFGS otherwise)", 0},
    {NULL, 0, 0, 0, 0, NULL, 0}};

const schedopt_algorithm *schedopt_algorithm_find(const char *name) {
  if (!name) return NULL;
  if (!strncmp(name, "NLOPT_", 6) || !strncmp(name, "nlopt_", 6)) name += 6;
  for (size_t i = 0; schedopt_algorithms[i].name; i++) {
    const char *a = schedopt_algorithms[i].name, *b = name;
    while (*a && *b && toupper((unsigned char)*a) == toupper((unsigned char)*b)) a++, b++;
    if (!*a && !*b) return &schedopt_algorithms[i];
  }
  return NULL;
}

void schedopt_optimizer_settings_default(schedopt_optimizer_settings *s) {
  memset(s, 0, sizeof *s);
  s->ftol_rel = 1e-9;
  s->xtol_rel = 1e-8;
  s->maxeval = 2000;
  s->starts = 1;
  s->seed = 1;
  s->floor = NAN;
  s->precondition = 1;
  s->rescale_every = 25;
  s->continuation = 32;
  s->loose_rtol = 1e-5;
}

void schedopt_opt_result_free(schedopt_opt_result *r) {
  if (!r) return;
  free(r->x);
  r->x = NULL;
  r->n = 0;
}

/* NLopt result names (nlopt_result_to_string where it exists). */
const char *schedopt_nlopt_result_name(int code) {
  const char *s = nlopt_result_to_string((nlopt_result)code);
  if (s) return s;
  switch (code) {
  case NLOPT_FAILURE: return "FAILURE";
  case NLOPT_INVALID_ARGS: return "INVALID_ARGS";
  case NLOPT_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
  case NLOPT_ROUNDOFF_LIMITED: return "ROUNDOFF_LIMITED";
  case NLOPT_FORCED_STOP: return "FORCED_STOP";
  case NLOPT_SUCCESS: return "SUCCESS";
  case NLOPT_STOPVAL_REACHED: return "STOPVAL_REACHED";
  case NLOPT_FTOL_REACHED: return "FTOL_REACHED";
  case NLOPT_XTOL_REACHED: return "XTOL_REACHED";
  case NLOPT_MAXEVAL_REACHED: return "MAXEVAL_REACHED";
  case NLOPT_MAXTIME_REACHED: return "MAXTIME_REACHED";
  default: return "UNKNOWN";
  }
}

/* splitmix64: deterministic starts from the seed. */
static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Preconditioned runs: a run ends after PATIENCE evaluations without a gain
 * above 1 % of the stop threshold (a line search failing in the objective's
 * noise would otherwise spend a dozen more); the loose tolerance gives way
 * to rtol when a run gains less than LOOSE_SWITCH stop thresholds; the
 * coarse stage of the continuation runs at most COARSE_RUNS runs. */
#define PATIENCE 12
#define LOOSE_SWITCH 4.0
/* The joint lr + momentum landscape has plateaus along the stability edge
 * where one run gains nothing and the next, restarted with new scaling and
 * memory, goes on (problems/papers/bm_fig5_momentum.yaml at T = 1e5: a run
 * without gain at 0.25049373, then 0.25048581 after 130 more evaluations):
 * heavy-ball designs stop after two runs without gain in a row. */
#define STALLS_HB 2
#define COARSE_RUNS 3

typedef struct run_ctx {
  schedopt_design *d;
  schedopt_integrator *it;
  const schedopt_objective *obj;
  const schedopt_optimizer_settings *set;
  const schedopt_algorithm *alg;
  nlopt_opt opt;
  double floor;
  double t0;
  long evals, gevals;
  double best_J, *best_x;
  double cap;            /* max_steps (0: none) */
  double *gs;            /* ∂steps/∂x workspace */
  long infeasible;       /* evaluations over the cap */
  double *xs;            /* x for the current z */
  double *sc;            /* z = sc ⊙ u */
  /* Heavy ball (free-form learning rate and momentum on the same knots): the
   * optimizer's variables u are the effective rate η/(1 − μ) and μ at each
   * knot, not (η, μ).  Slow modes move with η/(1 − μ) alone (docs/theory.md
   * §7), so along a knot's (η, μ) the objective has a long curved valley of
   * near-constant η/(1 − μ) that a diagonal scaling cannot straighten.
   * eff: the number of pairs; lr and mu offsets of pair j are elr + j, emu + j;
   * u = x elsewhere.  ulo, uhi: the box in u. */
  size_t eff, elr, emu;
  double *ulo, *uhi, *us, *hu;
  int precond;           /* evaluations return the curvature diagonal */
  double *hx, *best_h;   /* its workspace, and its value at best_x */
  int have_h;            /* best_h belongs to best_x */
  int lazy_h;            /* the curvature only where a run starts (see set_scaling) */
  double *best_g;        /* ∇J at best_x, from the evaluation that found it */
  int have_g;            /* best_g belongs to best_x (at the current tolerances) */
  int reuse;             /* the run's first call: answered from best_J, best_g at best_x */
  int stalled;           /* preconditioned runs stopped gaining (converged to accuracy) */
  long start_evals;      /* evaluations at the start of the current start */
  int improved;          /* the current start improved best_J */
  int tol_changed;       /* the integrator runs at loose_rtol (restored on exit) */
  long patience;         /* a run ends after this many evaluations without a gain (0: off) */
  long last_gain;        /* evaluation count at the last gain */
  double gain_ref, gain_eps; /* best J then, and the least gain that counts */
  double rtol0, atol0;   /* its own tolerances */
  double *tight_x, tight_J; /* the best point before the loose runs (J at rtol) */
  schedopt_status st;    /* a fatal error inside the objective */
  schedopt_error *err;
} run_ctx;

/* The result of a run: its best point (moved out of the context), J, the
 * stop code and the counts. */
static void fill_result(schedopt_opt_result *res, run_ctx *c, size_t n, int code,
                        const schedopt_algorithm *alg, size_t starts, size_t best_start) {
  res->x = c->best_x;
  c->best_x = NULL;
  res->n = n;
  res->J = c->best_J;
  res->code = code;
  snprintf(res->code_name, sizeof res->code_name, "%s", schedopt_nlopt_result_name(code));
  res->algorithm = alg;
  res->evals = c->evals;
  res->grad_evals = c->gevals;
  res->starts = starts;
  res->best_start = best_start;
}

/* The box [lo, hi] and the start x in it: x_in, or the design's own
 * schedule projected onto it (NULL x_in), clamped into the box. */
static schedopt_status start_point(const schedopt_design *d, const double *x_in, size_t n,
                                   double *lo, double *hi, double *x, schedopt_error *err) {
  schedopt_design_bounds(d, lo, hi);
  if (x_in)
    memcpy(x, x_in, n * sizeof *x);
  else {
    schedopt_status st = schedopt_design_project(d, d->base, x, err);
    if (st) return st;
  }
  for (size_t i = 0; i < n; i++) x[i] = fmin(hi[i], fmax(lo[i], x[i]));
  return SCHEDOPT_OK;
}

/* u from x (see run_ctx.eff): η/(1 − μ) in place of η at each pair. */
static void to_u(const run_ctx *c, const double *x, double *u) {
  const size_t n = schedopt_design_size(c->d);
  if (u != x) memcpy(u, x, n * sizeof *u);
  for (size_t j = 0; j < c->eff; j++) u[c->elr + j] = x[c->elr + j] / (1 - x[c->emu + j]);
}

/* x from u, clamped into the design's box. */
static void from_u(const run_ctx *c, const double *u, double *x) {
  const size_t n = schedopt_design_size(c->d);
  for (size_t i = 0; i < n; i++) x[i] = fmin(c->d->hi[i], fmax(c->d->lo[i], u[i]));
  for (size_t j = 0; j < c->eff; j++) {
    const size_t a = c->elr + j;
    x[a] = fmin(c->d->hi[a], fmax(c->d->lo[a], u[a] * (1 - x[c->emu + j])));
  }
}

/* ∇J in x → in u: the chain rule through η = u_η (1 − μ),
 *   ∂J/∂u_η = (1 − μ) ∂J/∂η,   ∂J/∂μ|u = ∂J/∂μ − u_η ∂J/∂η,
 * where η is free.  Where η is clamped (u_η (1 − μ) outside η's box) J does
 * not move with u_η, and μ moves J only through ∂J/∂μ.  On the box's edge
 * (within rounding: u_η = lo/(1 − μ) times (1 − μ) need not give lo back) the
 * two sides differ; each variable gets the one-sided slope along which J
 * descends, 0 if neither does.  For u_η the side into the box is its only
 * descent side: a knot at η = 0 must see that J falls as η rises, or it
 * stays there for the rest of the run; at η = hi a derivative that asks for
 * more η would lead into the clamped region (L-BFGS stopped early on that
 * direction).  For μ one side moves η into the box (μ up at hi, down at lo)
 * and the other into the clamp. */
static void grad_u(const run_ctx *c, const double *u, const double *x, double *g) {
  for (size_t j = 0; j < c->eff; j++) {
    const size_t a = c->elr + j, b = c->emu + j;
    const double lo = c->d->lo[a], hi = c->d->hi[a], eta = u[a] * (1 - x[b]);
    const double tlo = 1e-12 * fabs(lo), thi = 1e-12 * fabs(hi);
    const double ge = g[a], gm = g[b], free_mu = gm - u[a] * ge;
    if (eta < lo - tlo || eta > hi + thi) { /* clamped */
      g[a] = 0;
      continue;
    }
    const int at_lo = eta <= lo + tlo, at_hi = !at_lo && eta >= hi - thi;
    if (!at_lo && !at_hi) { /* free */
      g[a] = ge * (1 - x[b]);
      g[b] = free_mu;
      continue;
    }
    /* u_η: into the box is up at lo, down at hi */
    g[a] = (at_lo ? fmin(ge, 0) : fmax(ge, 0)) * (1 - x[b]);
    /* μ: slopes to the right (μ up) and to the left (μ down) */
    const double sr = at_hi ? free_mu : gm, sl = at_hi ? gm : free_mu;
    const double down_r = sr < 0 ? -sr : 0, down_l = sl > 0 ? sl : 0;
    g[b] = down_r >= down_l ? (down_r > 0 ? sr : 0) : sl;
  }
}

/* J(x) (+∞ if the dynamics diverge), tracked best, progress. */
static double evaluate(run_ctx *c, const double *x, double *gJ) {
  double J;
  schedopt_error e = {0};
  /* FD steps: 1e-6 of the box for the exact recursion, 1e-4 for an ODE
   * (whose objective carries noise of order rtol·J) */
  const double h = schedopt_integrator_get_type(c->it) == schedopt_integrator_recursion ? 1e-6
                                                                                        : 1e-4;
  schedopt_status st = c->set->fd_gradient && gJ
                           ? schedopt_design_eval_fd(c->d, c->it, c->obj, x, h, &J, gJ, &e)
                       : c->precond && gJ && !c->lazy_h
                           ? schedopt_design_eval_hdiag(c->d, c->it, c->obj, x, &J, gJ, c->hx, &e)
                           : schedopt_design_eval(c->d, c->it, c->obj, x, &J, gJ, &e);
  c->evals++;
  if (gJ) c->gevals++;
  if (st == SCHEDOPT_EDIVERGE || (!st && !isfinite(J))) {
    J = HUGE_VAL;
    if (gJ) memset(gJ, 0, schedopt_design_size(c->d) * sizeof *gJ);
  } else if (st) {
    if (!c->st) {
      c->st = st;
      if (c->err) *c->err = e;
    }
    return HUGE_VAL;
  }
  int feasible = 1;
  if (c->cap > 0 && isfinite(J)) {
    double steps;
    schedopt_status s2 = schedopt_design_steps(c->d, x, &steps, NULL, &e);
    if (s2) {
      if (!c->st) {
        c->st = s2;
        if (c->err) *c->err = e;
      }
      return HUGE_VAL;
    }
    feasible = steps <= c->cap * (1 + 1e-6);
    if (!feasible) c->infeasible++;
  }
  if (feasible && J < c->best_J) {
    c->best_J = J;
    memcpy(c->best_x, x, schedopt_design_size(c->d) * sizeof *x);
    c->improved = 1;
    if (J < c->gain_ref - c->gain_eps) { /* a gain beyond the objective's noise */
      c->last_gain = c->evals;
      c->gain_ref = J;
    }
    c->have_h = c->precond && gJ && !c->lazy_h;
    c->have_g = gJ && c->best_g;
    if (c->have_g) memcpy(c->best_g, gJ, schedopt_design_size(c->d) * sizeof *x);
    if (c->have_h) memcpy(c->best_h, c->hx, schedopt_design_size(c->d) * sizeof *x);
  }
  if (c->set->progress &&
      c->set->progress(c->set->progress_ctx, c->set->stage ? c->set->stage : "optimize",
                       c->evals, c->best_J, schedopt_opt_now() - c->t0)) {
    if (!c->st) {
      c->st = SCHEDOPT_ESOLVER;
      schedopt_error_set(c->err, SCHEDOPT_ESOLVER, "optimization stopped by the caller");
    }
  }
  return J;
}

/* NLopt works on z = s ⊙ x: x = z / s, ∂f/∂z = (∂f/∂x) / s. */
static double nl_objective(unsigned n, const double *z, double *grad, void *data) {
  run_ctx *c = data;
  const double *s = c->sc;
  double *x = c->xs;
  if (c->patience > 0 && (c->evals - c->last_gain >= c->patience ||
                          (c->set->maxeval > 0 && c->evals - c->start_evals >= c->set->maxeval))) {
    /* End the run: LD_LBFGS checks the stop flag only between iterations and
     * keeps evaluating inside a failing line search, so answer without
     * evaluating with a point it accepts (f below the best, ∇f = 0).  The
     * best point is tracked by `evaluate`, not taken from NLopt.  So also at
     * maxeval, which LD_LBFGS checks there too (a run of 12 took 21). */
    nlopt_force_stop(c->opt);
    if (grad) memset(grad, 0, n * sizeof *grad);
    const double ex = c->best_J - c->floor;
    return (ex > 1e-300 ? log(ex) : log(1e-300)) - 1;
  }
  double *u = c->us;
  for (unsigned i = 0; i < n; i++) u[i] = z[i] / s[i];
  from_u(c, u, x);
  /* A run starts at the best point, whose J and ∇J are known: answered
   * without evaluating it again.  The start comes back as z/s within
   * rounding, or moved off a bound by 1e-9 of the box (NLopt's L-BFGS).  On
   * the exact recursion only: an ODE's J there differs by its
   * noise, and the runs it steers ended higher (the easy phase's optimum
   * 5.5e-7 relative, in 75 evaluations against 116). */
  int same = c->reuse && schedopt_integrator_get_type(c->it) == schedopt_integrator_recursion &&
             grad && c->have_g && isfinite(c->best_J);
  for (unsigned i = 0; same && i < n; i++)
    same = fabs(x[i] - c->best_x[i]) <= 1e-8 * (c->d->hi[i] - c->d->lo[i]);
  c->reuse = 0;
  if (same) memcpy(grad, c->best_g, n * sizeof *grad);
  double J = same ? c->best_J : evaluate(c, x, grad);
  if (c->st) {
    nlopt_force_stop(c->opt);
    return HUGE_VAL;
  }
  if (!isfinite(J)) return HUGE_VAL;
  double ex = J - c->floor;
  if (!(ex > 1e-300)) ex = 1e-300;
  if (grad) {
    grad_u(c, u, x, grad);
    for (unsigned i = 0; i < n; i++) grad[i] /= ex * s[i];
  }
  return log(ex);
}

/* The step cap in z: steps(x)/cap − 1 ≤ 0. */
static double nl_steps(unsigned n, const double *z, double *grad, void *data) {
  run_ctx *c = data;
  const double *s = c->sc;
  double *x = c->xs;
  for (unsigned i = 0; i < n; i++) x[i] = fmin(c->d->hi[i], fmax(c->d->lo[i], z[i] / s[i]));
  double steps;
  schedopt_error e = {0};
  schedopt_status st = schedopt_design_steps(c->d, x, &steps, grad ? c->gs : NULL, &e);
  if (st) {
    if (!c->st) {
      c->st = st;
      if (c->err) *c->err = e;
    }
    nlopt_force_stop(c->opt);
    return HUGE_VAL;
  }
  if (grad)
    for (unsigned i = 0; i < n; i++) grad[i] = c->gs[i] / (c->cap * s[i]);
  return steps / c->cap - 1;
}

/* Variable scaling z = sc ⊙ x: the design's L² scaling, or with the
 * preconditioner sc_i = √(h_i / (J − J∞)) for free-form variables, the
 * curvature of f = log(J − J∞) at fixed state.  That local curvature
 * underestimates wide knots far from H, whose effect runs through the state
 * (measured against finite differences of the gradient): floored at 1e-4 of
 * the largest, so those variables, mostly at a bound, do not dominate the
 * scaled gradient. */
static void set_scaling(run_ctx *c) {
  const schedopt_design *d = c->d;
  const size_t n = schedopt_design_size(d);
  memcpy(c->sc, d->scale, n * sizeof *c->sc);
  if (c->precond && c->lazy_h && !c->have_h && isfinite(c->best_J)) {
    /* the curvature at the best point, evaluated again (an evaluation with
     * its gradient): cheaper than carrying it through every evaluation */
    double J;
    schedopt_error e = {0};
    schedopt_status st =
        schedopt_design_eval_hdiag(c->d, c->it, c->obj, c->best_x, &J, c->gs, c->hx, &e);
    c->evals++;
    c->gevals++;
    if (st && st != SCHEDOPT_EDIVERGE) {
      if (!c->st) {
        c->st = st;
        if (c->err) *c->err = e;
      }
      return;
    }
    if (!st) {
      memcpy(c->best_h, c->hx, n * sizeof *c->best_h);
      c->have_h = 1;
      memcpy(c->best_g, c->gs, n * sizeof *c->best_g);
      c->have_g = 1;
    }
  }
  if (!c->precond || !c->have_h) return;
  const double ex = c->best_J - c->floor;
  if (!(ex > 0) || !isfinite(ex)) return;
  /* the curvature in u: h_u = (1 − μ)² h_η, h_μ + u_η² h_η (cross term dropped) */
  const double *h = c->best_h;
  if (c->eff) {
    memcpy(c->hu, c->best_h, n * sizeof *c->hu);
    to_u(c, c->best_x, c->us);
    for (size_t j = 0; j < c->eff; j++) {
      const size_t a = c->elr + j, b = c->emu + j;
      c->hu[a] = c->best_h[a] * (1 - c->best_x[b]) * (1 - c->best_x[b]);
      c->hu[b] = c->best_h[b] + c->us[a] * c->us[a] * c->best_h[a];
    }
    h = c->hu;
  }
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    const opt_chan *oc = d->ch[ch];
    if (!oc || oc->p.type != schedopt_parametrization_freeform) continue;
    double hmax = 0;
    for (size_t k = 0; k < oc->nx; k++) hmax = fmax(hmax, h[oc->off + k]);
    if (!(hmax > 0) || !isfinite(hmax)) continue;
    for (size_t k = 0; k < oc->nx; k++)
      c->sc[oc->off + k] = sqrt(fmax(h[oc->off + k], 1e-4 * hmax) / ex);
  }
}

/* Back from loose_rtol to the integrator's own tolerances: the best point's
 * J (and curvature, with `grad`) at rtol replaces its loose value; if that
 * is worse than the best before the loose runs (evaluated at rtol), that
 * point is the best again.  Nonzero on a fatal error. */
static int tighten(run_ctx *c, double rtol, double atol, int grad) {
  const size_t n = schedopt_design_size(c->d);
  schedopt_integrator_set_tolerances(c->it, rtol, atol, NULL);
  c->tol_changed = 0;
  if (!isfinite(c->best_J)) return 0; /* no feasible point yet: nothing to evaluate again */
  memcpy(c->xs, c->best_x, n * sizeof *c->xs);
  c->best_J = HUGE_VAL;
  evaluate(c, c->xs, grad ? c->gs : NULL);
  if (c->st) return 1;
  if (c->tight_J < c->best_J) {
    c->best_J = c->tight_J;
    memcpy(c->best_x, c->tight_x, n * sizeof *c->best_x);
    c->have_h = 0; /* the next scaling is the design's (rare: the loose runs gained nothing) */
    c->have_g = 0;
  }
  return 0;
}

/* Golden section in 1-D: 11-point grid over [lo, hi], then the best cell. */
static int golden(run_ctx *c, double lo, double hi, double x0, long maxeval, double xtol) {
  const int G = 11;
  double xs[11], fs[11];
  long budget = maxeval > 0 ? maxeval : 1000000;
  if (!(hi > lo)) {
    evaluate(c, &lo, NULL);
    return NLOPT_XTOL_REACHED;
  }
  evaluate(c, &x0, NULL);
  if (c->st) return NLOPT_FORCED_STOP;
  int ib = 0;
  for (int i = 0; i < G; i++) {
    xs[i] = lo + (hi - lo) * i / (G - 1);
    fs[i] = evaluate(c, &xs[i], NULL);
    if (c->st) return NLOPT_FORCED_STOP;
    if (fs[i] < fs[ib]) ib = i;
  }
  double a = xs[ib > 0 ? ib - 1 : 0], b = xs[ib < G - 1 ? ib + 1 : G - 1];
  const double r = 0.5 * (sqrt(5.0) - 1);
  double x1 = b - r * (b - a), x2 = a + r * (b - a);
  double f1 = evaluate(c, &x1, NULL), f2 = evaluate(c, &x2, NULL);
  double tol = (xtol > 0 ? xtol : 1e-8) * (hi - lo);
  while (b - a > tol) {
    if (c->st) return NLOPT_FORCED_STOP;
    if (c->evals >= budget) return NLOPT_MAXEVAL_REACHED;
    if (c->set->maxtime > 0 && schedopt_opt_now() - c->t0 > c->set->maxtime) return NLOPT_MAXTIME_REACHED;
    if (f1 <= f2) {
      b = x2, x2 = x1, f2 = f1;
      x1 = b - r * (b - a);
      f1 = evaluate(c, &x1, NULL);
    } else {
      a = x1, x1 = x2, f1 = f2;
      x2 = a + r * (b - a);
      f2 = evaluate(c, &x2, NULL);
    }
  }
  return NLOPT_XTOL_REACHED;
}

/* Continuation in the knots: the design with every free-form channel of more
 * than 2·Kc knots cut to Kc knots (same placement rule and settings), or
 * NULL when no channel qualifies or the coarse design cannot be built. */
static schedopt_design *coarse_design(const schedopt_design *d, size_t Kc) {
  int any = 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
    any |= d->ch[ch] && d->ch[ch]->p.type == schedopt_parametrization_freeform &&
           d->ch[ch]->p.knots > 2 * Kc;
  if (!any || Kc < SCHEDOPT_FREEFORM_MINKNOTS) return NULL;
  schedopt_design *dc = NULL;
  if (schedopt_design_alloc(&dc, d->base, NULL)) return NULL;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    if (!d->ch[ch]) continue;
    schedopt_channel_param p = d->ch[ch]->p;
    if (p.type == schedopt_parametrization_freeform && p.knots > 2 * Kc) p.knots = Kc;
    if (schedopt_design_set_channel(dc, (schedopt_channel)ch, &p, NULL)) {
      schedopt_design_free(dc);
      return NULL;
    }
  }
  return dc;
}

/* The coarse stage: optimize dc from x0 (a point of d) for at most `budget`
 * evaluations and write its optimum, sampled at d's knots, to x1.  Returns
 * the evaluations spent (0: nothing to report in x1); a solver error is
 * fatal (st). */
static long coarse_stage(schedopt_design *d, schedopt_design *dc, schedopt_integrator *it,
                         const schedopt_objective *obj, const schedopt_optimizer_settings *set,
                         double floor, long budget, const double *x0, double *x1,
                         long *gevals, schedopt_status *st, schedopt_error *err) {
  const schedopt_schedule *s;
  const size_t nc = schedopt_design_size(dc);
  double *xc = malloc(nc * sizeof *xc);
  long evals = 0;
  *st = SCHEDOPT_OK;
  if (!xc) {
    *st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    return 0;
  }
  schedopt_optimizer_settings sc = *set;
  sc.continuation = 0;
  sc.loose_rtol = 0; /* the caller set the integrator's tolerance */
  sc.starts = 1;
  sc.floor = floor;
  sc.maxeval = set->maxeval > 0 && set->maxeval < budget ? set->maxeval : budget;
  schedopt_opt_result rc;
  if (!(*st = schedopt_design_apply(d, x0, &s, err)) &&
      !(*st = schedopt_design_project(dc, s, xc, err)) &&
      !(*st = schedopt_design_optimize(dc, it, obj, &sc, xc, &rc, err))) {
    evals = rc.evals;
    *gevals = rc.grad_evals;
    if (!(*st = schedopt_design_apply(dc, rc.x, &s, err)))
      *st = schedopt_design_project(d, s, x1, err);
    schedopt_opt_result_free(&rc);
  }
  free(xc);
  return *st ? 0 : evals;
}

/* ---- NEWTON: projected Newton on the model Hessian ------------------------
 *
 * For a free-form learning rate under SGD (final loss, step budget), the
 * model Hessian of schedopt_integrator_hessian_model (the exact Hessian with
 * the loss feedback on the modes frozen; a few per cent from the true one on
 * the hard phase) costs one forward solve and O(N) per quadrature node, 3-4
 * forward solves of CPU on the hard phase.  Each iteration takes the
 * adjoint gradient g and that Hessian Ĥ at x and minimizes the quadratic
 * model gᵀd + ½ dᵀĤd over the box intersected with an ℓ∞ trust region
 * |d_i| ≤ Δ (hi_i − lo_i) and with d_i ≥ −¾ (x_i − lo_i) (NEWTON_TO_LO)
 * (projected Newton steps on the free variables).
 * The step is taken if J decreases; Δ doubles (to at least 1/32) after a good
 * prediction at its edge (ρ = gain / predicted gain > 3/4), shrinks to half
 * the step after a poor one (ρ < 1/4) and to a quarter after a failure, or
 * before any evaluation where the model predicts more gain than the excess
 * over the loss floor (the model Hessian can be indefinite far out: at
 * T = 1e6 it promised 0.35 at an excess of 2.7e-4, and six evaluations went
 * to learn that; `bench_optimize` at T = 1e4 … 4e6: 238 → 177 evaluations).  The
 * run stops (FTOL_REACHED) when the predicted gain without the trust region
 * falls below a tenth of the objective's accuracy (rtol·J with cvodes;
 * ftol_rel of the excess with the recursion), when a step predicted to gain
 * less than twice that fails, or when two steps in a row gain less than it
 * (where the model is poor, e.g. the recursion's first and last steps, its
 * prediction does not fall).  Tried and dropped: Levenberg damping μ diag Ĥ
 * in place of the trust region (as μ fell the model predicted gains of 10⁻²
 * along directions of small curvature: 36 evaluations at T = 1e5 against
 * 16-18); BFGS or symmetric rank-one secant corrections of Ĥ, and reusing Ĥ
 * for a few iterations (no fewer evaluations, or many more). */

/* A step closes at most this fraction of a variable's distance to its lower
 * bound: near η = 0 the loss is not quadratic on the scale of η itself (a
 * top mode decays by exp(−2λη Δt) over a knot's Δt), and steps that set
 * many small rates to 0 at once failed where the model promised gains
 * (bench_optimize, 13 horizons 1e4 … 1e8: see docs/performance.md). */
#define NEWTON_TO_LO 0.75

/* Cholesky A = L Lᵀ in place (lower triangle, n×n row-major); 1 if A is not
 * positive definite. */
static int chol(double *A, size_t n) {
  for (size_t j = 0; j < n; j++) {
    double *aj = A + j * n;
    double s = aj[j];
    for (size_t k = 0; k < j; k++) s -= aj[k] * aj[k];
    if (!(s > 0)) return 1;
    const double l = sqrt(s);
    aj[j] = l;
    for (size_t i = j + 1; i < n; i++) {
      double *ai = A + i * n;
      double t = ai[j];
      for (size_t k = 0; k < j; k++) t -= ai[k] * aj[k];
      ai[j] = t / l;
    }
  }
  return 0;
}

static void chol_solve(const double *L, size_t n, double *b) {
  for (size_t i = 0; i < n; i++) {
    double t = b[i];
    for (size_t k = 0; k < i; k++) t -= L[i * n + k] * b[k];
    b[i] = t / L[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {
    double t = b[i];
    for (size_t k = i + 1; k < n; k++) t -= L[k * n + i] * b[k];
    b[i] = t / L[i * n + i];
  }
}

/* q(d) = gᵀd + ½ dᵀ A d */
static double qmodel(const double *A, const double *g, const double *d, size_t n) {
  double q = 0;
  for (size_t i = 0; i < n; i++) {
    if (d[i] == 0) continue;
    double ad = 0;
    for (size_t j = 0; j < n; j++) ad += A[i * n + j] * d[j];
    q += d[i] * (g[i] + 0.5 * ad);
  }
  return q;
}

/* min q(d) over l ≤ d ≤ u (l ≤ 0 ≤ u), A symmetric: projected Newton
 * (Bertsekas 1982).  Variables at a bound whose model gradient points out
 * of the box are held; the others take the Newton step of the reduced system
 * (shifted until positive definite), projected onto the box and halved until
 * q decreases.  w: n² + 3n doubles, idx: n. */
static void boxqp(const double *A, const double *g, const double *l, const double *u, size_t n,
                  double *d, double *w, size_t *idx) {
  double *R = w, *r = w + n * n, *p = r + n, *dn = p + n;
  memset(d, 0, n * sizeof *d);
  double q = 0, dmax = 0;
  for (size_t i = 0; i < n; i++) dmax = fmax(dmax, fabs(A[i * n + i]));
  for (int iter = 0; iter < 60; iter++) {
    size_t nf = 0;
    for (size_t i = 0; i < n; i++) {
      double ri = g[i];
      for (size_t j = 0; j < n; j++) ri += A[i * n + j] * d[j];
      r[i] = ri;
      const int at_l = d[i] <= l[i], at_u = d[i] >= u[i];
      if (!((at_l && ri > 0) || (at_u && ri < 0))) idx[nf++] = i;
    }
    if (!nf) break;
    for (double shift = 0;; shift = shift > 0 ? 10 * shift : 1e-12 * dmax) {
      for (size_t a = 0; a < nf; a++)
        for (size_t b = 0; b <= a; b++)
          R[a * nf + b] = A[idx[a] * n + idx[b]] + (a == b ? shift : 0);
      if (!chol(R, nf) || !(shift < 1e6 * dmax)) break;
    }
    for (size_t a = 0; a < nf; a++) dn[a] = -r[idx[a]];
    chol_solve(R, nf, dn);
    memset(p, 0, n * sizeof *p);
    for (size_t a = 0; a < nf; a++) p[idx[a]] = dn[a];
    int moved = 0;
    for (double al = 1; al > 1e-6; al *= 0.5) {
      for (size_t i = 0; i < n; i++) dn[i] = fmin(u[i], fmax(l[i], d[i] + al * p[i]));
      const double qn = qmodel(A, g, dn, n);
      if (qn < q) {
        double ch = 0, sz = 0;
        for (size_t i = 0; i < n; i++) {
          ch = fmax(ch, fabs(dn[i] - d[i]));
          sz = fmax(sz, fabs(dn[i]));
        }
        memcpy(d, dn, n * sizeof *d);
        moved = ch > 1e-13 * (1 + sz) && q - qn > 1e-15 * fabs(qn);
        q = qn;
        break;
      }
    }
    if (!moved) break;
  }
}

/* A design NEWTON handles: the learning rate alone, free-form, not monotone. */
static int newton_design(const schedopt_design *d) {
  const opt_chan *oc = d->ch[SCHEDOPT_LR];
  if (!oc || oc->p.type != schedopt_parametrization_freeform || oc->m < oc->p.knots) return 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
    if (ch != SCHEDOPT_LR && d->ch[ch]) return 0;
  return 1;
}

/* Runs NEWTON (one start; the LD_LBFGS settings precondition, rescale_every,
 * continuation and loose_rtol do not apply); *fallback = 1 (nothing done)
 * where it does not apply. */
static schedopt_status newton_optimize(schedopt_design *d, schedopt_integrator *it,
                                       const schedopt_objective *obj,
                                       const schedopt_optimizer_settings *set, const double *x0,
                                       const schedopt_algorithm *alg, schedopt_opt_result *res,
                                       int *fallback, schedopt_error *err) {
  *fallback = 0;
  if (!newton_design(d) || obj->kind != SCHEDOPT_OBJ_FINAL || set->fd_gradient ||
      set->max_steps > 0 || set->starts > 1 ||
      schedopt_schedule_clock(d->base) != SCHEDOPT_CLOCK_STEPS) {
    *fallback = 1;
    return SCHEDOPT_OK;
  }
  const size_t n = schedopt_design_size(d);
  schedopt_status st = SCHEDOPT_OK;
  run_ctx c = {0};
  double *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
  double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *xt = malloc(n * sizeof *xt);
  double *gt = malloc(n * sizeof *gt), *dv = malloc(n * sizeof *dv);
  double *bl = malloc(n * sizeof *bl), *bu = malloc(n * sizeof *bu);
  double *Hx = malloc(n * n * sizeof *Hx), *A = malloc(n * n * sizeof *A);
  double *w = malloc((n * n + 3 * n) * sizeof *w);
  size_t *idx = malloc(n * sizeof *idx);
  double *Hth = NULL;
  c.best_x = malloc(n * sizeof *c.best_x);
  if (!lo || !hi || !x || !g || !xt || !gt || !dv || !bl || !bu || !Hx || !A || !w || !idx ||
      !c.best_x) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  if ((st = start_point(d, x0, n, lo, hi, x, err))) goto done;
  memcpy(c.best_x, x, n * sizeof *x);
  c.d = d, c.it = it, c.obj = obj, c.set = set, c.alg = alg, c.err = err;
  c.best_J = HUGE_VAL;
  c.t0 = schedopt_opt_now();
  double J = evaluate(&c, x, g);
  if (c.st) {
    st = c.st;
    goto done;
  }
  if (!isfinite(J)) { /* a diverging start: the line searches of LD_LBFGS handle it */
    *fallback = 1;
    goto done;
  }
  res->J_start = J;
  /* the stop threshold: a tenth of the objective's accuracy */
  double rtol = 0, floor_ = set->floor;
  if (schedopt_integrator_get_type(it) == schedopt_integrator_cvodes)
    schedopt_integrator_get_tolerances(it, &rtol, NULL);
  if (isnan(floor_)) {
    const schedopt_schedule *s0;
    if ((st = schedopt_design_apply(d, x, &s0, err)) ||
        (st = schedopt_opt_floor(it, s0, obj, &floor_, err)))
      goto done;
  }
  const double ftol = fmax(set->ftol_rel, 1e-12);
  long hevals = 0;
  int code = NLOPT_SUCCESS;
  double delta = 0.5; /* trust region, in units of the box */
  int small = 0;      /* accepted steps in a row that gained less than the threshold */
  for (;;) {
    const double thr = 0.1 * fmax(rtol * fabs(J), ftol * (J - floor_));
    /* the model Hessian at x, its table-value block */
    const schedopt_schedule *s;
    if ((st = schedopt_design_apply(d, x, &s, err))) goto done;
    const size_t P = schedopt_control_nparams(schedopt_schedule_get(s, SCHEDOPT_LR));
    if (!Hth && !(Hth = malloc(P * P * sizeof *Hth))) {
      st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      goto done;
    }
    schedopt_error e = {0};
    schedopt_status hs = schedopt_integrator_hessian_model(it, s, obj, Hth, &e);
    if (hs == SCHEDOPT_EINVAL && hevals == 0) { /* the model has no such Hessian */
      *fallback = 1;
      goto done;
    }
    if (hs == SCHEDOPT_EDIVERGE) hs = SCHEDOPT_ESOLVER;
    if (hs) {
      if (err) *err = e;
      st = hs;
      goto done;
    }
    hevals++;
    const size_t off = P - n;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) Hx[i * n + j] = Hth[(off + i) * P + off + j];
    int accepted = 0, rejects = 0;
    while (!accepted) {
      if (set->maxeval > 0 && c.evals >= set->maxeval) {
        code = NLOPT_MAXEVAL_REACHED;
        goto out;
      }
      if (set->maxtime > 0 && schedopt_opt_now() - c.t0 >= set->maxtime) {
        code = NLOPT_MAXTIME_REACHED;
        goto out;
      }
      /* the box ∩ the trust region */
      for (size_t i = 0; i < n; i++) {
        bl[i] = fmax(-NEWTON_TO_LO * (x[i] - lo[i]), -delta * (hi[i] - lo[i]));
        bu[i] = fmin(hi[i] - x[i], delta * (hi[i] - lo[i]));
      }
      boxqp(Hx, g, bl, bu, n, dv, w, idx);
      const double pred = -qmodel(Hx, g, dv, n);
      double dm = 0; /* the step in units of the box */
      for (size_t i = 0; i < n; i++) dm = fmax(dm, fabs(dv[i]) / (hi[i] - lo[i]));
      if (pred > J - floor_ && delta > 1e-6) {
        /* a gain beyond the excess over the loss floor is impossible: the
         * model is off at this distance, so shrink as after a failure,
         * without spending an evaluation on the step */
        delta = fmax(0.25 * dm, 1e-6);
        continue;
      }
      const int edge = dm >= 0.99 * delta;
      /* the gain the model sees without the trust region (for the stop rule) */
      double pfull = pred;
      if (edge && !(pred > 2 * thr)) {
        for (size_t i = 0; i < n; i++) {
          bl[i] = lo[i] - x[i];
          bu[i] = hi[i] - x[i];
        }
        boxqp(Hx, g, bl, bu, n, A, w, idx);
        pfull = -qmodel(Hx, g, A, n);
      }
      if (!(pfull > thr)) { /* no gain left beyond the objective's accuracy */
        code = NLOPT_FTOL_REACHED;
        goto out;
      }
      for (size_t i = 0; i < n; i++) xt[i] = fmin(hi[i], fmax(lo[i], x[i] + dv[i]));
      const double Jt = evaluate(&c, xt, gt);
      if (c.st) {
        st = c.st;
        goto done;
      }
      if (Jt < J) {
        const double rho = (J - Jt) / pred;
        small = J - Jt < thr ? small + 1 : 0;
        memcpy(x, xt, n * sizeof *x);
        memcpy(g, gt, n * sizeof *g);
        J = Jt;
        accepted = 1;
        if (rho > 0.75 && edge) /* at least 1/32: failures may have shrunk it by far */
          delta = fmin(fmax(2 * delta, 1.0 / 32), 1.0);
        else if (rho < 0.25)
          delta = fmax(0.5 * dm, 1e-6);
        if (small >= 2) { /* two steps in a row gained less than the threshold */
          code = NLOPT_FTOL_REACHED;
          goto out;
        }
      } else {
        /* the model promised more than J can show: a gain below 2
         * thresholds ends the run, a larger one is tried on a smaller region */
        if (!(pfull > 2 * thr) || ++rejects > 8) {
          code = NLOPT_FTOL_REACHED;
          goto out;
        }
        delta = fmax(0.25 * dm, 1e-6);
      }
    }
  }
out:
  fill_result(res, &c, n, code, alg, 1, 0);
  res->hess_evals = hevals;
  st = schedopt_design_apply(d, res->x, NULL, err);
done:
  res->seconds = schedopt_opt_now() - c.t0;
  free(lo);
  free(hi);
  free(x);
  free(g);
  free(xt);
  free(gt);
  free(dv);
  free(bl);
  free(bu);
  free(Hx);
  free(A);
  free(w);
  free(idx);
  free(Hth);
  free(c.best_x);
  if (st || *fallback) schedopt_opt_result_free(res);
  return st;
}

/* Pairs of a free-form learning rate and momentum on the same knots (both
 * not monotone): their count, and the offsets of the first of each (see
 * run_ctx.eff); 0 where there are none. */
static size_t heavy_ball_pairs(const schedopt_design *d, size_t *elr, size_t *emu) {
  const opt_chan *a = d->ch[SCHEDOPT_LR], *b = d->ch[SCHEDOPT_MOMENTUM];
  if (!a || !b || a->p.type != schedopt_parametrization_freeform ||
      b->p.type != schedopt_parametrization_freeform || a->nx != b->nx || a->m < a->p.knots ||
      b->m < b->p.knots || a->nx != a->p.knots || !(b->p.hi < 1))
    return 0;
  for (size_t k = 0; k < a->nx; k++)
    if (a->t[k] != b->t[k]) return 0;
  *elr = a->off, *emu = b->off;
  return a->nx;
}

schedopt_status schedopt_design_optimize(schedopt_design *d, schedopt_integrator *it,
                                         const schedopt_objective *obj,
                                         const schedopt_optimizer_settings *set_in,
                                         const double *x0_in, schedopt_opt_result *res,
                                         schedopt_error *err) {
  if (!d || !it || !obj || !res)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_optimize: NULL");
  memset(res, 0, sizeof *res);
  schedopt_optimizer_settings set;
  if (set_in)
    set = *set_in;
  else
    schedopt_optimizer_settings_default(&set);
  const size_t n = schedopt_design_size(d);
  if (n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "optimize: nothing to optimize (no channel is parametrized)");
  const schedopt_algorithm *alg = set.algorithm;
  const int capped = set.max_steps > 0;
  /* NEWTON where it applies: 5-10x fewer evaluations than LD_LBFGS on the
   * hard phase (docs/performance.md, Optimizer).  Not by default on the exact
   * recursion, whose model Hessian is only the continuous limit (NEWTON
   * stalled there: 2000 evaluations where LD_LBFGS took 728 with lr <= 2), nor
   * with heavy ball on (no model Hessian; it would cost a gradient to find out) */
  const int newton_default = newton_design(d) &&
                             schedopt_integrator_get_type(it) != schedopt_integrator_recursion &&
                             !schedopt_schedule_has_momentum(d->base);
  if (!alg)
    alg = schedopt_algorithm_find(capped ? "LD_MMA" : n == 1 ? "GOLDEN"
                                  : newton_default     ? "NEWTON"
                                                       : "LD_LBFGS");
  if (alg->nlopt == NEWTON_ID) {
    int fallback;
    schedopt_status st = newton_optimize(d, it, obj, &set, x0_in, alg, res, &fallback, err);
    if (st || !fallback) return st;
    memset(res, 0, sizeof *res);
    alg = schedopt_algorithm_find(capped ? "LD_MMA" : "LD_LBFGS"); /* where it does not apply */
  }
  if (capped && !alg->constraints)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "optimize.algorithm: %s cannot take the step cap (max_steps is an "
                              "inequality constraint): use LD_MMA, LD_CCSAQ, LD_SLSQP or "
                              "LN_COBYLA", alg->name);
  if (capped && !isfinite(set.max_steps))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize.max_steps: must be finite");
  if (n < alg->min_dim || (alg->max_dim && n > alg->max_dim))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "optimize.algorithm: %s needs %s%zu decision variable%s, this "
                              "design has %zu", alg->name, alg->max_dim ? "exactly " : "at least ",
                              alg->max_dim ? alg->max_dim : alg->min_dim,
                              (alg->max_dim ? alg->max_dim : alg->min_dim) == 1 ? "" : "s", n);
  double *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
  double *x0 = malloc(n * sizeof *x0), *x = malloc(n * sizeof *x);
  run_ctx c = {0};
  c.best_x = malloc(n * sizeof *c.best_x);
  c.xs = malloc(n * sizeof *c.xs);
  c.gs = malloc(n * sizeof *c.gs);
  c.sc = malloc(n * sizeof *c.sc);
  c.ulo = malloc(n * sizeof *c.ulo);
  c.uhi = malloc(n * sizeof *c.uhi);
  c.us = malloc(n * sizeof *c.us);
  c.hu = malloc(n * sizeof *c.hu);
  c.hx = malloc(n * sizeof *c.hx);
  c.best_h = malloc(n * sizeof *c.best_h);
  c.best_g = malloc(n * sizeof *c.best_g);
  c.tight_x = malloc(n * sizeof *c.tight_x);
  c.cap = capped ? set.max_steps : 0;
  schedopt_status st = SCHEDOPT_OK;
  if (!lo || !hi || !x0 || !x || !c.best_x || !c.xs || !c.gs || !c.sc || !c.ulo || !c.uhi ||
      !c.us || !c.hu || !c.hx || !c.best_h || !c.best_g || !c.tight_x) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    goto done;
  }
  if ((st = start_point(d, x0_in, n, lo, hi, x0, err))) goto done;
  c.d = d;
  c.eff = alg->gradient && alg->nlopt >= 0 && !capped ? heavy_ball_pairs(d, &c.elr, &c.emu) : 0;
  memcpy(c.ulo, lo, n * sizeof *c.ulo);
  memcpy(c.uhi, hi, n * sizeof *c.uhi);
  for (size_t j = 0; j < c.eff; j++) { /* η/(1 − μ) over the box */
    c.ulo[c.elr + j] = lo[c.elr + j] / (1 - lo[c.emu + j]);
    c.uhi[c.elr + j] = hi[c.elr + j] / (1 - hi[c.emu + j]);
  }
  /* best_x is read (restarts, tighten) before a feasible point may exist:
   * the start until one does */
  memcpy(c.best_x, x0, n * sizeof *c.best_x);
  c.d = d, c.it = it, c.obj = obj, c.set = &set, c.alg = alg, c.err = err;
  schedopt_integrator_get_tolerances(it, &c.rtol0, &c.atol0);
  c.best_J = HUGE_VAL;
  c.t0 = schedopt_opt_now();
  c.floor = set.floor;
  if (isnan(c.floor)) {
    const schedopt_schedule *s;
    if ((st = schedopt_design_apply(d, x0, &s, err)) || (st = schedopt_opt_floor(it, s, obj, &c.floor, err)))
      goto done;
  }
  int freeform = 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
    freeform |= d->ch[ch] && d->ch[ch]->p.type == schedopt_parametrization_freeform;
  c.precond = set.precondition && alg->gradient && alg->nlopt >= 0 && !set.fd_gradient && freeform;
  /* with the preconditioner the start is evaluated with its gradient: the
   * curvature there scales the first run */
  res->J_start = evaluate(&c, x0, c.precond ? c.gs : NULL);
  if (c.st) {
    st = c.st;
    goto done;
  }
  /* The curvature is needed only at the best point where a run starts: from
   * here on it is computed there (set_scaling), not at every evaluation.  The
   * recursion's is a central difference of its reverse step (three reverse
   * steps in place of one: 29 ms against 15 per evaluation of
   * problems/optimize_hard_phase.yaml); the ODE's costs 1.2x a gradient
   * without momentum and 1.5x with it (bench_momentum 1e4 0.9), one more
   * gradient per run of rescale_every. */
  c.lazy_h = 1;
  /* Continuation: fine knots resolve the schedule's detail, but the optimizer
   * converges slowly on its long-wavelength shape (where the anneal starts,
   * its overall curvature), whose modes couple many knots through the state.
   * A few runs on Kc knots find that shape at a fraction of the evaluations;
   * their optimum sampled at the fine knots starts the fine stage (kept only
   * if it beats x0). */
  if (c.precond && !capped && set.continuation > 0) {
    schedopt_design *dc = coarse_design(d, set.continuation);
    if (dc) {
      const long seg = set.rescale_every > 0 ? set.rescale_every : 25;
      long ge = 0;
      /* the coarse stage runs at loose_rtol throughout (its stop rule too):
       * it only finds a start */
      if (schedopt_integrator_get_type(it) == schedopt_integrator_cvodes &&
          set.loose_rtol > c.rtol0)
        schedopt_integrator_set_tolerances(it, set.loose_rtol, c.atol0, NULL);
      long ev = coarse_stage(d, dc, it, obj, &set, c.floor, COARSE_RUNS * seg, x0, x, &ge, &st, err);
      schedopt_integrator_set_tolerances(it, c.rtol0, c.atol0, NULL);
      schedopt_design_free(dc);
      if (st) goto done;
      if (ev > 0) {
        c.evals += ev;
        c.gevals += ge;
        for (size_t i = 0; i < n; i++) x[i] = fmin(hi[i], fmax(lo[i], x[i]));
        const double J1 = evaluate(&c, x, c.gs);
        if (c.st) {
          st = c.st;
          goto done;
        }
        if (J1 < res->J_start) memcpy(x0, x, n * sizeof *x0);
      }
    }
  }
  size_t starts = set.starts ? set.starts : 1;
  uint64_t seed = (uint64_t)set.seed;
  int best_code = NLOPT_SUCCESS;
  size_t best_start = 0;
  for (size_t k = 0; k < starts; k++) {
    if (k == 0) {
      memcpy(x, x0, n * sizeof *x);
    } else {
      for (size_t i = 0; i < n; i++) {
        double u = (double)(splitmix(&seed) >> 11) * 0x1.0p-53;
        x[i] = lo[i] + u * (hi[i] - lo[i]);
      }
    }
    double left = set.maxtime > 0 ? set.maxtime - (schedopt_opt_now() - c.t0) : 0;
    if (set.maxtime > 0 && left <= 0) break;
    c.improved = 0;
    c.start_evals = c.evals;
    int code;
    if (alg->nlopt < 0) {
      long budget = set.maxeval > 0 ? c.evals + set.maxeval : 0;
      code = golden(&c, lo[0], hi[0], x[0], budget, set.xtol_rel);
    } else {
      c.opt = nlopt_create((nlopt_algorithm)alg->nlopt, (unsigned)n);
      if (!c.opt) {
        st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "nlopt_create(%s) failed", alg->name);
        goto done;
      }
      set_scaling(&c);
      const double *sc = c.sc;
      to_u(&c, x, x);
      for (size_t i = 0; i < n; i++) {
        c.xs[i] = c.ulo[i] * sc[i];
        x[i] *= sc[i];
      }
      nlopt_set_lower_bounds(c.opt, c.xs);
      for (size_t i = 0; i < n; i++) c.xs[i] = c.uhi[i] * sc[i];
      nlopt_set_upper_bounds(c.opt, c.xs);
      nlopt_set_min_objective(c.opt, nl_objective, &c);
      if (capped) nlopt_add_inequality_constraint(c.opt, nl_steps, &c, 1e-9);
      if (set.ftol_rel > 0) nlopt_set_ftol_rel(c.opt, set.ftol_rel);
      if (set.xtol_rel > 0) nlopt_set_xtol_rel(c.opt, set.xtol_rel);
      if (set.maxeval > 0) nlopt_set_maxeval(c.opt, (int)(set.maxeval > 2000000000 ? 2000000000 : set.maxeval));
      if (left > 0) nlopt_set_maxtime(c.opt, left);
      if (alg->nlopt == NLOPT_LD_LBFGS || alg->nlopt == NLOPT_LD_VAR2 ||
          alg->nlopt == NLOPT_LD_TNEWTON_PRECOND_RESTART)
        nlopt_set_vector_storage(c.opt, n < 20 ? (unsigned)n : 20);
      /* A gradient method that stops on FAILURE or ROUNDOFF_LIMITED (an
       * inexact gradient or a noisy objective breaks its line search) is
       * restarted from the best point while that still improves the excess
       * by more than ftol_rel. */
      /* Preconditioned: runs of at most rescale_every evaluations, each
       * restarted from the best point with the curvature there, until a run
       * improves J by less than the objective's accuracy (the integrator's
       * rtol·J; ftol_rel of the excess for the exact recursion) or the
       * budget ends. */
      const long seg = c.precond ? (set.rescale_every > 0 ? set.rescale_every : 25) : 0;
      double rtol = 0, atol_ = 0;
      if (schedopt_integrator_get_type(it) == schedopt_integrator_cvodes)
        schedopt_integrator_get_tolerances(it, &rtol, &atol_);
      /* Loose tolerance first (the first start only): runs far from the
       * optimum need neither J nor ∇J to rtol.  Once a run gains less than
       * LOOSE_SWITCH times the stop threshold, the integrator returns to rtol
       * and the best point is evaluated again (`tighten`); the stop rule
       * applies from there. */
      int loose = k == 0 && seg && rtol > 0 && set.loose_rtol > rtol;
      if (loose) {
        memcpy(c.tight_x, c.best_x, n * sizeof *c.tight_x);
        c.tight_J = c.best_J;
        schedopt_integrator_set_tolerances(it, set.loose_rtol, atol_, NULL);
        c.tol_changed = 1;
        c.have_g = 0; /* the start's ∇J was at rtol */
      }
      int stalls = 0;
      for (int restart = 0;;) {
        double f, before = c.best_J;
        long left_ev = set.maxeval > 0 ? set.maxeval - (c.evals - c.start_evals) : LONG_MAX;
        if (left_ev <= 0) { /* spent (the curvature's evaluations count): NLopt's 0 is no limit */
          code = NLOPT_MAXEVAL_REACHED;
          break;
        }
        /* the run's limit is the rest of the budget: its MAXEVAL ends the start */
        const int last_budget = seg && seg >= left_ev;
        if (seg) nlopt_set_maxeval(c.opt, (int)(seg < left_ev ? seg : left_ev));
        c.patience = seg ? PATIENCE : 0;
        c.last_gain = c.evals;
        c.gain_ref = c.best_J;
        c.gain_eps = 1e-2 * rtol * fabs(c.best_J);
        nlopt_set_force_stop(c.opt, 0);
        c.reuse = 1;
        code = nlopt_optimize(c.opt, x, &f);
        c.patience = 0;
        if (c.st || !alg->gradient) break;
        const double gain = before - c.best_J;
        if (seg) {
          left_ev = set.maxeval > 0 ? set.maxeval - (c.evals - c.start_evals) : LONG_MAX;
          if (code == NLOPT_MAXEVAL_REACHED && (left_ev <= 0 || last_budget)) break;
          const double thr =
              fmax(rtol * fabs(c.best_J), fmax(set.ftol_rel, 1e-12) * (before - c.floor));
          if (loose && !(gain > LOOSE_SWITCH * thr)) {
            loose = 0;
            if (tighten(&c, rtol, atol_, 1)) break;
          } else if (!(gain > thr)) {
            /* the last run gained less than the objective's accuracy: stop
             * (heavy ball: after STALLS_HB such runs in a row; a run that
             * gained nothing would be replayed exactly, from the same point
             * with the same scaling) */
            if (++stalls >= (c.eff ? STALLS_HB : 1) || gain == 0) {
              c.stalled = 1;
              break;
            }
          } else {
            stalls = 0;
          }
        } else if (restart++ >= 8 || (code != NLOPT_FAILURE && code != NLOPT_ROUNDOFF_LIMITED) ||
                   !(gain > fmax(set.ftol_rel, 1e-12) * (before - c.floor))) {
          break;
        }
        /* the budget ends a start that still gains (or stalled once): that,
         * not the last run's own stop, is its result */
        if (set.maxtime > 0 && schedopt_opt_now() - c.t0 >= set.maxtime) {
          code = NLOPT_MAXTIME_REACHED;
          break;
        }
        if (set.maxeval > 0 && c.evals - c.start_evals >= set.maxeval) {
          code = NLOPT_MAXEVAL_REACHED;
          break;
        }
        if (set.maxeval > 0) nlopt_set_maxeval(c.opt, (int)(set.maxeval - (c.evals - c.start_evals)));
        if (set.maxtime > 0) nlopt_set_maxtime(c.opt, set.maxtime - (schedopt_opt_now() - c.t0));
        if (c.precond) { /* rescale at the best point: new bounds in z */
          set_scaling(&c);
          if (c.st) break;
          for (size_t i = 0; i < n; i++) c.xs[i] = c.ulo[i] * c.sc[i];
          nlopt_set_lower_bounds(c.opt, c.xs);
          for (size_t i = 0; i < n; i++) c.xs[i] = c.uhi[i] * c.sc[i];
          nlopt_set_upper_bounds(c.opt, c.xs);
        }
        to_u(&c, c.best_x, x);
        for (size_t i = 0; i < n; i++) x[i] *= c.sc[i];
      }
      nlopt_destroy(c.opt);
      c.opt = NULL;
      if (c.tol_changed && !c.st) tighten(&c, rtol, atol_, 0); /* stopped while loose */
    }
    if (c.st) {
      st = c.st;
      goto done;
    }
    if (c.stalled) code = NLOPT_FTOL_REACHED; /* J stopped changing at its accuracy */
    c.stalled = 0;
    if (k == 0 || c.improved) {
      best_code = code;
      best_start = k;
    }
    if (code < 0 && code != NLOPT_ROUNDOFF_LIMITED && code != NLOPT_FORCED_STOP &&
        !isfinite(c.best_J)) {
      st = schedopt_error_set(err, SCHEDOPT_ESOLVER, "NLopt %s failed: %s", alg->name,
                              schedopt_nlopt_result_name(code));
      goto done;
    }
  }
  if (!isfinite(c.best_J) && capped && c.infeasible) {
    st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "optimize.max_steps: no schedule tried met the step cap of %.10g "
                            "(%ld evaluation%s over it): raise max_steps or the batch size's "
                            "upper bound", set.max_steps, c.infeasible,
                            c.infeasible == 1 ? "" : "s");
    goto done;
  }
  if (!isfinite(c.best_J)) {
    st = schedopt_error_set(err, SCHEDOPT_EDIVERGE,
                            "optimize: every schedule tried diverged (lower the bounds)");
    goto done;
  }
  fill_result(res, &c, n, best_code, alg, starts, best_start);
  /* leave the design at the optimum */
  st = schedopt_design_apply(d, res->x, NULL, err);
done:
  if (c.tol_changed) schedopt_integrator_set_tolerances(it, c.rtol0, c.atol0, NULL);
  res->seconds = schedopt_opt_now() - c.t0;
  if (c.opt) nlopt_destroy(c.opt);
  free(lo);
  free(hi);
  free(x0);
  free(x);
  free(c.best_x);
  free(c.xs);
  free(c.gs);
  free(c.sc);
  free(c.ulo);
  free(c.uhi);
  free(c.us);
  free(c.hu);
  free(c.hx);
  free(c.best_h);
  free(c.best_g);
  free(c.tight_x);
  if (st) schedopt_opt_result_free(res);
  return st;
}
