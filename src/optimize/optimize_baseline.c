/* optimize_baseline.c — standard schedules, each tuned on the same model,
 * budget and objective as the optimum.  Every baseline is a family design
 * (optimize_design.c): a coarse grid of starts, then from the best of them
 * a line search or LN_BOBYQA, with the level held at the cap where it sits
 * there (see tune_variant).  Levels are searched in log scale over
 * [hi·1e-4, hi]. */
#include "optimize/optimize_impl.h"

#include <math.h>
#include <nlopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamics/control_impl.h"

static const schedopt_baseline_type b_constant = {"constant", "constant, value tuned", 0};
static const schedopt_baseline_type b_cosine = {"cosine", "cosine to 0, peak tuned", 0};
static const schedopt_baseline_type b_linear = {"linear", "linear to 0, peak tuned", 0};
static const schedopt_baseline_type b_wsd = {
    "wsd", "warmup-stable-decay to 0: peak and decay fraction tuned for each shape (linear, "
           "cosine, sqrt; power with its exponent tuned), best shape kept", 0};
static const schedopt_baseline_type b_power = {
    "power", "power law peak (1 + t/t0)^-chi: peak, chi and t0 tuned", 0};
static const schedopt_baseline_type b_shape = {
    "shape", "the problem's own schedule with its level (gain) tuned", 0};
#define TRAINER_DOC(t)                                                                      \
  "the built-in schedules of " t " (every style; the problem's warmup as its own): peak, "   \
  "end rate and integer decay length tuned, best style kept; flags or config in the output"
static const schedopt_baseline_type b_megatron = {"megatron", TRAINER_DOC("Megatron-LM"), 1};
static const schedopt_baseline_type b_torchtitan = {"torchtitan", TRAINER_DOC("torchtitan"), 1};
static const schedopt_baseline_type b_olmo_core = {"olmo_core", TRAINER_DOC("OLMo-core"), 1};
static const schedopt_baseline_type b_nanogpt = {"nanogpt", TRAINER_DOC("nanoGPT"), 1};
static const schedopt_baseline_type b_deepspeed = {"deepspeed", TRAINER_DOC("DeepSpeed"), 1};
static const schedopt_baseline_type b_momentum = {
    "momentum", "WSD learning rate (power anneal) with a constant heavy-ball momentum mu, "
                "tuned jointly: eta/(1 - mu), 1 - mu (both in log scale), decay fraction and "
                "exponent, from a grid over mu and eta/(1 - mu) (momentum problems only)", 0};
/* FSL's exponential decay (Table 1's "exp-decay" row): opt-in, since it is
 * the standard six's business only when a study asks for that row */
static const schedopt_baseline_type b_exponential = {
    "exponential", "exponential decay start^(1-t/H) end^(t/H): start and end tuned (log scale)",
    1};

const schedopt_baseline_type *const schedopt_baseline_constant = &b_constant;
const schedopt_baseline_type *const schedopt_baseline_cosine = &b_cosine;
const schedopt_baseline_type *const schedopt_baseline_linear = &b_linear;
const schedopt_baseline_type *const schedopt_baseline_wsd = &b_wsd;
const schedopt_baseline_type *const schedopt_baseline_power = &b_power;
const schedopt_baseline_type *const schedopt_baseline_shape = &b_shape;
const schedopt_baseline_type *const schedopt_baseline_megatron = &b_megatron;
const schedopt_baseline_type *const schedopt_baseline_torchtitan = &b_torchtitan;
const schedopt_baseline_type *const schedopt_baseline_olmo_core = &b_olmo_core;
const schedopt_baseline_type *const schedopt_baseline_nanogpt = &b_nanogpt;
const schedopt_baseline_type *const schedopt_baseline_deepspeed = &b_deepspeed;
const schedopt_baseline_type *const schedopt_baseline_momentum = &b_momentum;
const schedopt_baseline_type *const schedopt_baseline_exponential = &b_exponential;
const schedopt_baseline_type *const schedopt_baseline_types[] = {
    &b_constant, &b_cosine,     &b_linear,      &b_wsd,        &b_power,
    &b_shape,    &b_megatron,   &b_torchtitan,  &b_olmo_core,  &b_nanogpt,
    &b_deepspeed, &b_momentum,  &b_exponential, NULL};

static int is_trainer(const schedopt_baseline_type *T) {
  return T == &b_megatron || T == &b_torchtitan || T == &b_olmo_core || T == &b_nanogpt ||
         T == &b_deepspeed;
}

schedopt_status schedopt_baseline_trainer_sched(const schedopt_baseline *b, double H,
                                               schedopt_trainer_sched *s, schedopt_error *err) {
  if (!b || !s || !b->control || schedopt_control_get_type(b->control) != schedopt_control_trainer)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "baseline %s: not a trainer's schedule",
                              b && b->type ? b->type->name : "?");
  const schedopt_control *c = b->control;
  const int i = (int)c->p[0];
  memset(s, 0, sizeof *s);
  s->type = schedopt_trainer_types[i >= 0 && i < SCHEDOPT_TRAINER_NTYPES ? i : 3];
  s->steps = (size_t)floor(H + 0.5);
  double W;
  schedopt_control_get(c, "warmup_steps", &W, NULL);
  s->warmup = (size_t)floor(W + 0.5);
  s->decay = (size_t)floor((c->p[3] > 0 ? c->p[3] : H - W) + 0.5);
  s->peak = c->p[1];
  s->floor = fmin(c->p[2], c->p[1]);
  if (!(s->floor < s->peak)) s->floor = 0.999 * s->peak; /* the trainers need floor < peak */
  return schedopt_trainer_check(s, err);
}

const schedopt_baseline_type *schedopt_baseline_type_find(const char *name) {
  for (size_t i = 0; name && schedopt_baseline_types[i]; i++)
    if (!strcmp(name, schedopt_baseline_types[i]->name)) return schedopt_baseline_types[i];
  return NULL;
}

void schedopt_baseline_clear(schedopt_baseline *b) {
  if (!b) return;
  schedopt_control_free(b->control);
  schedopt_control_free(b->momentum);
  memset(b, 0, sizeof *b);
}

/* One tuning problem: a family control, the varied parameters with bounds,
 * and a grid of starting points (values of the varied parameters). */
#define MAXGRID 32
typedef struct variant {
  schedopt_control *c;
  char label[48];
  size_t nv;
  const char *vary[3];
  double lo[3], hi[3];
  int lg[3];
  size_t ng;
  double grid[MAXGRID][3];
  int round_var; /* ≥ 0: this varied parameter is rounded to an integer after tuning */
  int skipped;   /* not tuned: its grid cannot reach a sibling's optimum (tune_variant) */
} variant;

static schedopt_status new_control(variant *v, const schedopt_control_type *T,
                                   const schedopt_control *given, schedopt_error *err) {
  schedopt_status st = schedopt_control_alloc(&v->c, T, err);
  if (st) return st;
  v->c->warmup = given->warmup;
  v->c->warmup_init = given->warmup_init;
  return SCHEDOPT_OK;
}

static void add_var(variant *v, const char *name, double lo, double hi, int lg) {
  v->vary[v->nv] = name;
  v->lo[v->nv] = lo;
  v->hi[v->nv] = hi;
  v->lg[v->nv] = lg;
  v->nv++;
}

/* One evaluation of a tuning: J at the design's x (+∞ where the dynamics
 * diverge), counted and reported to the caller's progress. */
typedef struct tune_ctx {
  schedopt_design *d;
  schedopt_integrator *it;
  const schedopt_objective *obj;
  const schedopt_optimizer_settings *set;
  long ev;
  double best, t0;
  schedopt_error *err;
} tune_ctx;

static schedopt_status tune_eval(tune_ctx *t, const double *x, double *J) {
  schedopt_status st = schedopt_design_eval(t->d, t->it, t->obj, x, J, NULL, t->err);
  t->ev++;
  if (st == SCHEDOPT_EDIVERGE) {
    *J = HUGE_VAL;
    st = SCHEDOPT_OK;
  }
  if (st) return st;
  if (*J < t->best) t->best = *J;
  if (t->set->progress &&
      t->set->progress(t->set->progress_ctx, t->set->stage ? t->set->stage : "baseline", t->ev,
                       t->best, schedopt_opt_now() - t->t0))
    return schedopt_error_set(t->err, SCHEDOPT_ESOLVER, "optimization stopped by the caller");
  return SCHEDOPT_OK;
}

/* Brent's minimization of J along x[k] over [a, b], from x[k] (J there in
 * *fx): parabolic steps through the three best points, golden sections where
 * those fail, until the bracket is within 4·tol; x and *fx become the best. */
static schedopt_status brent_line(tune_ctx *t, double *x, size_t k, double a, double b,
                                  double *fx, double tol, long maxev) {
  const double cg = 0.3819660112501051; /* (3 − √5)/2 */
  double y[3];
  memcpy(y, x, sizeof y);
  double xv = x[k], w = xv, v = xv, fw = *fx, fv = *fx, d = 0, e = 0;
  const long n0 = t->ev;
  schedopt_status st = SCHEDOPT_OK;
  while (t->ev - n0 < maxev) {
    const double m = 0.5 * (a + b), tol2 = 2 * tol;
    if (fabs(xv - m) <= tol2 - 0.5 * (b - a)) break;
    double p = 0, q = 0, r = 0;
    if (fabs(e) > tol) { /* the parabola through x, w, v */
      r = (xv - w) * (*fx - fv);
      q = (xv - v) * (*fx - fw);
      p = (xv - v) * q - (xv - w) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      q = fabs(q);
      r = e;
      e = d;
    }
    if (fabs(p) < fabs(0.5 * q * r) && p > q * (a - xv) && p < q * (b - xv)) {
      d = p / q;
      if (xv + d - a < tol2 || b - xv - d < tol2) d = xv < m ? tol : -tol;
    } else {
      e = (xv < m ? b : a) - xv;
      d = cg * e;
    }
    const double u = xv + (fabs(d) >= tol ? d : d > 0 ? tol : -tol);
    double fu;
    y[k] = u;
    if ((st = tune_eval(t, y, &fu))) break;
    if (fu <= *fx) {
      if (u < xv) b = xv; else a = xv;
      v = w, fv = fw, w = xv, fw = *fx, xv = u, *fx = fu;
    } else {
      if (u < xv) a = u; else b = u;
      if (fu <= fw || w == xv) {
        v = w, fv = fw, w = u, fw = fu;
      } else if (fu <= fv || v == xv || v == w) {
        v = u, fv = fu;
      }
    }
  }
  x[k] = xv;
  return st;
}

/* The design of variant v varying its parameters from `first` on (the
 * earlier ones stay at the control's values). */
static schedopt_status variant_design(const variant *v, size_t first,
                                      const schedopt_schedule *base, schedopt_channel ch,
                                      double lo, double hi, schedopt_schedule **b,
                                      schedopt_design **d, schedopt_error *err) {
  schedopt_status st = schedopt_opt_schedule_copy(b, base, err);
  if (!st) st = schedopt_schedule_set(*b, ch, v->c, err);
  if (!st) st = schedopt_design_alloc(d, *b, err);
  if (st) return st;
  schedopt_channel_param p;
  schedopt_channel_param_default(&p);
  p.type = schedopt_parametrization_family;
  p.lo = lo;
  p.hi = hi;
  p.nvary = v->nv - first;
  for (size_t k = first; k < v->nv; k++) {
    snprintf(p.vary[k - first], sizeof p.vary[k - first], "%s", v->vary[k]);
    p.vary_lo[k - first] = v->lo[k];
    p.vary_hi[k - first] = v->hi[k];
    p.vary_log[k - first] = v->lg[k];
  }
  return schedopt_design_set_channel(*d, ch, &p, err);
}

/* Variable k of variant v in the design's units (log for a level). */
static double var_x(const variant *v, size_t k, double val) {
  val = fmin(v->hi[k], fmax(v->lo[k], val));
  return v->lg[k] ? log(val) : val;
}

/* The bracket of x0[k] along the grid: the nearest grid points on either side
 * that share x0's other coordinates, or the bounds. */
static void grid_bracket(const variant *v, const double *x0, size_t k, double *a, double *b) {
  *a = var_x(v, k, v->lo[k]);
  *b = var_x(v, k, v->hi[k]);
  for (size_t g = 0; g < v->ng; g++) {
    int line = 1;
    for (size_t j = 0; j < v->nv; j++)
      if (j != k && var_x(v, j, v->grid[g][j]) != x0[j]) line = 0;
    const double y = var_x(v, k, v->grid[g][k]);
    if (!line) continue;
    if (y < x0[k] && y > *a) *a = y;
    if (y > x0[k] && y < *b) *b = y;
  }
}

/* The first parameter k ≥ 1 of x (k = only if nonzero) at a bound of its
 * range where J (Jx at x) rises one probe (1e-4 of the range; in log units
 * for a level) inside it; 0 if none, −1 on an error (*st). */
static int bound_held(tune_ctx *t, const variant *v, const double *x, double Jx, size_t only,
                      schedopt_status *st) {
  for (size_t k = only ? only : 1; k < (only ? only + 1 : v->nv); k++) {
    const double a = var_x(v, k, v->lo[k]), b = var_x(v, k, v->hi[k]);
    const double dk = v->lg[k] ? 1e-4 : 1e-4 * (b - a);
    if (x[k] != a && x[k] != b) continue;
    double y[3], Jp;
    memcpy(y, x, sizeof y);
    y[k] += x[k] == a ? dk : -dk;
    if ((*st = tune_eval(t, y, &Jp))) return -1;
    if (Jp >= Jx) return (int)k;
  }
  return 0;
}

/* What a line search along x0[k] can gain in x0's grid cell, by the parabola
 * through x0 (J there: best) and its grid neighbours on either side (J of
 * grid point g: gj[g], NAN if not evaluated): +∞ where a neighbour is a bound
 * or not evaluated, or the parabola is not convex. */
static double cell_gain(const variant *v, const double *x0, double best, size_t k,
                        const double *gj) {
  double a, c, fa = NAN, fc = NAN;
  grid_bracket(v, x0, k, &a, &c);
  for (size_t g = 0; g < v->ng; g++) {
    int line = 1;
    for (size_t j = 0; j < v->nv; j++)
      if (j != k && var_x(v, j, v->grid[g][j]) != x0[j]) line = 0;
    const double y = var_x(v, k, v->grid[g][k]);
    if (line && y == a) fa = gj[g];
    if (line && y == c) fc = gj[g];
  }
  if (!isfinite(fa) || !isfinite(fc)) return HUGE_VAL;
  /* J = best + s·u + κu²/2 through u = a − x0, 0, c − x0 */
  const double da = a - x0[k], dc = c - x0[k], qa = (fa - best) / da, qc = (fc - best) / dc;
  const double kappa = 2 * (qa - qc) / (da - dc), slope = qa - 0.5 * kappa * da;
  return kappa > 0 ? slope * slope / (2 * kappa) : HUGE_VAL;
}

/* Tune one variant; on success fills J, x (parameter values) and the control.
 *  - Under the exact recursion (no trainer's integer) the grid points with
 *    the level (the first parameter) at the cap come first, and the best of
 *    them is probed 1e-4 (log) below the cap: where J rises there, the level
 *    stays at the cap, the other grid points are skipped and the rest is
 *    tuned — Brent's line search for one parameter, LN_BOBYQA for two — and
 *    the probe is repeated at the end (should the level then want to come
 *    down, LN_BOBYQA tunes every parameter from there).  A level alone below
 *    the cap: the whole grid, then Brent in the best point's cell.  In the
 *    hard phase every level sits at the cap: a one-parameter variant takes 2
 *    solves (it took 5 and 2 gradients of 4–5 solves each by L-BFGS), the
 *    four WSD shapes 61 (171 by LN_BOBYQA on all parameters; 86 before
 *    shapes out of reach were skipped, see cell_gain).
 *  - Otherwise the whole grid, then LN_BOBYQA, or GOLDEN for one parameter:
 *    under an ODE J carries noise of order rtol·J that a line search (or the
 *    adjoint gradient) would follow, and a trainer's rate, a step function of
 *    time, has derivatives in the parameters that move its jumps that the
 *    adjoint misses. */
static schedopt_status tune_variant(variant *v, const schedopt_schedule *base,
                                    schedopt_channel ch, double lo, double hi,
                                    schedopt_integrator *it, const schedopt_objective *obj,
                                    const schedopt_optimizer_settings *set_in, double beat,
                                    double *J, double *vals, schedopt_control **tuned,
                                    long *evals, schedopt_error *err) {
  schedopt_schedule *b = NULL, *br = NULL;
  schedopt_design *d = NULL, *dr = NULL;
  schedopt_opt_result r = {0};
  schedopt_status st = variant_design(v, 0, base, ch, lo, hi, &b, &d, err);
  tune_ctx t = {d, it, obj, set_in, 0, HUGE_VAL, schedopt_opt_now(), err};
  double x[3], x0[3], best = HUGE_VAL;
  if (st) goto done;
  const int line = v->round_var < 0 && v->lg[0] &&
                 schedopt_integrator_get_type(it) == schedopt_integrator_recursion;
  const double top = var_x(v, 0, v->hi[0]), dlv = 1e-4; /* the level's probe, log units */
  /* The best grid point is the start.  With `line`, the points with the
   * level at the cap first: where J rises one probe below the best of them,
   * the level stays at the cap and the other points are not evaluated. */
  double Jp = HUGE_VAL, gj[MAXGRID];
  int capped = 0;
  for (size_t g = 0; g < MAXGRID; g++) gj[g] = NAN;
  for (size_t k = 0; k < v->nv; k++) x0[k] = var_x(v, k, v->grid[0][k]);
  for (int pass = line ? 0 : 1; pass < 2 && !capped; pass++) {
    for (size_t g = 0; g < v->ng; g++) {
      if (line && (var_x(v, 0, v->grid[g][0]) == top) != (pass == 0)) continue;
      for (size_t k = 0; k < v->nv; k++) x[k] = var_x(v, k, v->grid[g][k]);
      double Jg;
      if ((st = tune_eval(&t, x, &Jg))) goto done;
      gj[g] = Jg;
      if (Jg < best) {
        best = Jg;
        memcpy(x0, x, sizeof x);
      }
    }
    if (pass == 0 && isfinite(best)) {
      memcpy(x, x0, sizeof x);
      x[0] = top - dlv;
      if ((st = tune_eval(&t, x, &Jp))) goto done;
      capped = Jp >= best;
    }
  }
  schedopt_optimizer_settings set = *set_in;
  set.starts = 1;
  set.fd_gradient = 0;
  set.precondition = 0; /* the curvature diagonal is for free-form knots */
  set.continuation = 0;
  if (!(set.ftol_rel > 0) || set.ftol_rel > 1e-9) set.ftol_rel = 1e-9;
  set.algorithm = schedopt_algorithm_find(v->nv == 1 ? "GOLDEN" : "LN_BOBYQA");
  set.xtol_rel = v->nv == 1 ? 1e-5 : 1e-7;
  if (!(set.maxeval > 0) || set.maxeval > 600) set.maxeval = 600;
  double Jx = best;
  memcpy(x, x0, sizeof x);
  int full = !line || !isfinite(best); /* LN_BOBYQA (or GOLDEN) over every parameter from x */
  int fixk = 0;
  if (!full) {
    if (capped) { /* the level stays at the cap */
      if (v->nv == 2 && best - 4 * cell_gain(v, x0, best, 1, gj) > beat) {
        /* out of reach of a sibling variant (another WSD shape) already
         * tuned, even at four times the gain the grid's parabola predicts */
        v->skipped = 1;
      } else if (v->nv == 2) {
        double a, c;
        grid_bracket(v, x0, 1, &a, &c);
        if ((st = brent_line(&t, x, 1, a, c, &Jx, 1e-4, 100))) goto done;
      } else if (v->nv == 3 && (fixk = bound_held(&t, v, x0, best, 0, &st)) > 0) {
        /* a second parameter also held at its bound: a line search in the third */
        double a, c;
        grid_bracket(v, x0, 3 - (size_t)fixk, &a, &c);
        if ((st = brent_line(&t, x, 3 - (size_t)fixk, a, c, &Jx, 1e-4, 100))) goto done;
        if (bound_held(&t, v, x, Jx, (size_t)fixk, &st) <= 0) full = 1;
      } else if (v->nv == 3) {
        if (st) goto done;
        if ((st = schedopt_control_set(v->c, v->vary[0], v->hi[0], err)) ||
            (st = variant_design(v, 1, base, ch, lo, hi, &br, &dr, err)) ||
            (st = schedopt_design_optimize(dr, it, obj, &set, x0 + 1, &r, err)))
          goto done;
        t.ev += r.evals;
        if (r.J < t.best) t.best = r.J; /* for the progress of the evaluations after it */
        if (r.J < Jx) {
          Jx = r.J;
          x[1] = r.x[0], x[2] = r.x[1];
        }
        schedopt_opt_result_free(&r);
      }
      if (st) goto done;
      if (v->nv > 1 && !full && !v->skipped) { /* still at the cap? */
        x[0] = top - dlv;
        if ((st = tune_eval(&t, x, &Jp))) goto done;
        x[0] = top;
        full = Jp < Jx;
      }
    } else if (v->nv == 1) {
      double a, c;
      if (x0[0] == top && Jp < best) Jx = Jp, x[0] = top - dlv;
      grid_bracket(v, x0, 0, &a, &c);
      if ((st = brent_line(&t, x, 0, a, c, &Jx, 1e-4, 100))) goto done;
    } else {
      full = 1;
    }
  }
  if (full) {
    if ((st = schedopt_design_optimize(d, it, obj, &set, x, &r, err))) goto done;
    t.ev += r.evals;
    if (r.J < t.best) t.best = r.J; /* for the progress of the evaluations after it */
    if (r.J < Jx) {
      Jx = r.J;
      memcpy(x, r.x, v->nv * sizeof *x);
    }
  }
  if (v->round_var >= 0) { /* an integer the trainer takes: J at the rounded value */
    const size_t k = (size_t)v->round_var;
    double val = v->lg[k] ? exp(x[k]) : x[k];
    val = fmin(floor(v->hi[k]), fmax(ceil(v->lo[k]), floor(val + 0.5)));
    x[k] = v->lg[k] ? log(val) : val;
    if ((st = schedopt_design_eval(d, it, obj, x, &Jx, NULL, err))) goto done;
    t.ev++;
  }
  *J = Jx;
  for (size_t k = 0; k < v->nv; k++) vals[k] = v->lg[k] ? exp(x[k]) : x[k];
  const schedopt_schedule *s;
  if ((st = schedopt_design_apply(d, x, &s, err))) goto done;
  st = schedopt_control_clone(tuned, schedopt_schedule_get(s, ch), err);
  *evals += t.ev;
done:
  schedopt_opt_result_free(&r);
  schedopt_design_free(dr);
  schedopt_schedule_free(br);
  schedopt_design_free(d);
  schedopt_schedule_free(b);
  return st;
}

schedopt_status schedopt_baseline_tune(const schedopt_baseline_type *T,
                                       const schedopt_schedule *base, schedopt_channel ch,
                                       double lo, double hi, schedopt_integrator *it,
                                       const schedopt_objective *obj,
                                       const schedopt_optimizer_settings *set_in,
                                       schedopt_baseline *out, schedopt_error *err) {
  if (!T || !base || !it || !obj || !out)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "baseline_tune: NULL");
  if (T == &b_momentum) /* the learning rate channel, with μ ≤ 0.99 */
    return ch == SCHEDOPT_LR
               ? schedopt_baseline_tune_momentum(base, lo, hi, 0.99, it, obj, set_in, out, err)
               : schedopt_error_set(err, SCHEDOPT_EINVAL, "baseline momentum: tunes the "
                                    "learning rate and momentum channels together (channel lr)");
  memset(out, 0, sizeof *out);
  if (!(hi > 0) || !isfinite(hi) || !(lo <= hi))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "baseline %s: the cap must be positive and finite (got [%g, %g])",
                              T->name, lo, hi);
  schedopt_optimizer_settings set;
  if (set_in)
    set = *set_in;
  else
    schedopt_optimizer_settings_default(&set);
  const double t_start = schedopt_opt_now();
  const double H = schedopt_schedule_horizon(base), tau = schedopt_opt_time_unit(base);
  const schedopt_control *given = schedopt_schedule_get(base, ch);
  const double lvl = 1e-4 * hi; /* lowest level searched */
  variant vs[8];
  size_t nvs = 0;
  memset(vs, 0, sizeof vs);
  for (size_t k = 0; k < sizeof vs / sizeof *vs; k++) vs[k].round_var = -1;
  schedopt_status st = SCHEDOPT_OK;
  /* decay_frac ≤ 1 − w/H, a rounding inside (H(1 − f) ≥ w is checked exactly) */
  const double wfrac = (1 - given->warmup / H) * (1 - 1e-12);
  /* one-parameter variants are tuned by a line search under the recursion */
  const int line1 = schedopt_integrator_get_type(it) == schedopt_integrator_recursion;

  if (T == &b_constant || T == &b_cosine || T == &b_linear) {
    variant *v = &vs[nvs++];
    const schedopt_control_type *F = T == &b_constant ? schedopt_control_constant
                                     : T == &b_cosine ? schedopt_control_cosine
                                                      : schedopt_control_linear;
    if ((st = new_control(v, F, given, err))) goto done;
    const char *lv = T == &b_constant ? "value" : T == &b_cosine ? "peak" : "start";
    if ((st = schedopt_control_set(v->c, lv, hi, err))) goto done;
    if (T == &b_linear && (st = schedopt_control_set(v->c, "end", 0, err))) goto done;
    snprintf(v->label, sizeof v->label, "%s", T->name);
    add_var(v, lv, lvl, hi, 1);
    /* for the line search (tune_variant) levels a factor √10 apart; GOLDEN
     * makes its own grid */
    for (int i = 0; i < (line1 ? 5 : 1); i++) v->grid[v->ng++][0] = hi * pow(10, -0.5 * i);
  } else if (T == &b_wsd) {
    static const char *const shapes[] = {"power", "linear", "cosine", "sqrt"};
    static const double fr[] = {0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0};
    for (int k = 0; k < 4; k++) {
      variant *v = &vs[nvs++];
      if ((st = new_control(v, schedopt_control_wsd, given, err)) ||
          (st = schedopt_control_set(v->c, "peak", hi, err)) ||
          (st = schedopt_control_set(v->c, "floor", 0, err)) ||
          (st = schedopt_control_set_choice(v->c, "shape", shapes[k], err)) ||
          (st = schedopt_control_set(v->c, "decay_frac", 0.2 * wfrac, err)))
        goto done;
      snprintf(v->label, sizeof v->label, "wsd (%s)", shapes[k]);
      add_var(v, "peak", lvl, hi, 1);
      add_var(v, "decay_frac", 0, wfrac, 0);
      if (k == 0) add_var(v, "delta", 0.25, 8, 1);
      for (int i = 0; i < 7; i++)
        for (int j = 0; j < 2; j++) {
          double *g = v->grid[v->ng++];
          g[0] = j ? 0.5 * hi : hi;
          g[1] = fr[i] * wfrac;
          g[2] = 2;
        }
    }
  } else if (is_trainer(T)) {
    if (schedopt_schedule_clock(base) != SCHEDOPT_CLOCK_STEPS || !(H == floor(H)) ||
        !(given->warmup == floor(given->warmup))) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "baseline %s: a trainer's schedule counts optimizer steps: it "
                              "needs a step budget with an integer horizon and warmup (got "
                              "%s clock, H = %g, warmup = %g)",
                              T->name,
                              schedopt_schedule_clock(base) == SCHEDOPT_CLOCK_STEPS ? "a step"
                                                                                   : "a data",
                              H, given->warmup);
      goto done;
    }
    const double room = H - (strcmp(T->name, "deepspeed") ? given->warmup : fmax(1, given->warmup));
    static const double fr[] = {0.1, 0.2, 0.35, 0.6};
    /* before the tuning: every type of the trainer can run this budget (a
     * type that cannot would be reported without its config) */
    for (size_t i = 0; schedopt_trainer_types[i]; i++) {
      const schedopt_trainer_type *tt = schedopt_trainer_types[i];
      if (strcmp(tt->trainer, T->name)) continue;
      const double w = strcmp(tt->trainer, "deepspeed") ? given->warmup : fmax(1, given->warmup);
      schedopt_trainer_sched s0 = {tt, (size_t)H, w < H ? (size_t)w : (size_t)H,
                                   room >= 1 ? (size_t)room : 0, hi, 0};
      if ((st = schedopt_trainer_check(&s0, err))) {
        schedopt_error_prefix(err, "baseline %s: ", T->name);
        goto done;
      }
    }
    for (size_t i = 0; schedopt_trainer_types[i] && nvs < 8; i++) {
      const schedopt_trainer_type *tt = schedopt_trainer_types[i];
      if (strcmp(tt->trainer, T->name)) continue;
      variant *v = &vs[nvs++];
      v->round_var = -1;
      if ((st = schedopt_control_alloc(&v->c, schedopt_control_trainer, err)) ||
          (st = schedopt_control_set(v->c, "style", (double)i, err)) ||
          (st = schedopt_control_set(v->c, "peak", hi, err)) ||
          (st = schedopt_control_set(v->c, "decay", tt->has_decay ? 0.2 * room : 0, err)) ||
          /* DeepSpeed's schedulers need warmup_num_steps >= 1 */
          (st = schedopt_control_set(v->c, "warmup_steps",
                                     strcmp(tt->trainer, "deepspeed") ? given->warmup
                                                                      : fmax(1, given->warmup),
                                     err)))
        goto done;
      snprintf(v->label, sizeof v->label, "%s (%s)", tt->trainer, tt->style);
      add_var(v, "peak", lvl, hi, 1);
      if (tt->has_decay) {
        v->round_var = (int)v->nv;
        add_var(v, "decay", 1, room, 0);
      }
      if (tt->has_floor) add_var(v, "floor", 0, 0.5 * hi, 0);
      for (int a = 0; a < (tt->has_decay ? 4 : 1); a++)
        for (int j = 0; j < 2; j++) {
          double *g = v->grid[v->ng++];
          size_t k = 0;
          g[k++] = j ? 0.5 * hi : hi;
          if (tt->has_decay) g[k++] = fr[a] * room;
          if (tt->has_floor) g[k++] = 0;
        }
    }
  } else if (T == &b_exponential) {
    variant *v = &vs[nvs++];
    if ((st = new_control(v, schedopt_control_exponential, given, err)) ||
        (st = schedopt_control_set(v->c, "start", hi, err)) ||
        (st = schedopt_control_set(v->c, "end", 1e-2 * hi, err)))
      goto done;
    snprintf(v->label, sizeof v->label, "exponential");
    add_var(v, "start", lvl, hi, 1);
    /* end > 0 (the family's own range) and within the channel's [min, max] */
    add_var(v, "end", fmax(1e-8 * hi, lo), hi, 1);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 4; j++) {
        double *g = v->grid[v->ng++];
        g[0] = i ? 0.3 * hi : hi;
        g[1] = hi * pow(10, -1 - j);
      }
  } else if (T == &b_power) {
    variant *v = &vs[nvs++];
    if ((st = new_control(v, schedopt_control_power, given, err)) ||
        (st = schedopt_control_set(v->c, "peak", hi, err)))
      goto done;
    snprintf(v->label, sizeof v->label, "power");
    add_var(v, "peak", lvl, hi, 1);
    add_var(v, "chi", 0, 3, 0);
    add_var(v, "t0", tau, H, 1);
    /* up to χ = 3 and t0 = H/2, where the hard and easy phases' tuned laws
     * lie (a start near them saves LN_BOBYQA 10-16 solves) */
    static const double chis[] = {0.5, 1.0, 3.0};
    const double t0s[] = {10 * tau, H / 10, H / 2};
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) {
        double *g = v->grid[v->ng++];
        g[0] = hi;
        g[1] = chis[i];
        g[2] = t0s[j];
      }
  } else if (T == &b_shape) {
    variant *v = &vs[nvs++];
    double vmax = schedopt_opt_control_max(given, H);
    if (!(vmax > 0)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "baseline shape: the problem's schedule is zero everywhere");
      goto done;
    }
    if ((st = schedopt_control_clone(&v->c, given, err))) goto done;
    snprintf(v->label, sizeof v->label, "shape (%s)", given->type->name);
    add_var(v, "gain", hi / vmax * 1e-4, hi / vmax, 1);
    if (hi / vmax > 1) v->grid[v->ng++][0] = 1; /* the problem's own schedule */
    for (int i = 0; i < (line1 ? 5 : 1); i++)
      v->grid[v->ng++][0] = hi / vmax * pow(10, -0.5 * i);
  } else {
    st = schedopt_error_set(err, SCHEDOPT_EINVAL, "unknown baseline type");
    goto done;
  }

  double bestJ = HUGE_VAL;
  for (size_t k = 0; k < nvs; k++) {
    variant *v = &vs[k];
    double J = HUGE_VAL, vals[3] = {0, 0, 0};
    schedopt_control *tuned = NULL;
    char stage[96];
    snprintf(stage, sizeof stage, "baseline %s", v->label);
    set.stage = stage;
    /* the WSD shapes, power first: a shape whose grid cannot come near the
     * best tuned so far is not tuned (tune_variant) */
    const double beat = T == &b_wsd ? bestJ : HUGE_VAL;
    if ((st = tune_variant(v, base, ch, lo, hi, it, obj, &set, beat, &J, vals, &tuned,
                           &out->evals, err))) {
      schedopt_error_prefix(err, "baseline %s: ", v->label);
      goto done;
    }
    if (J < bestJ) {
      bestJ = J;
      schedopt_control_free(out->control);
      out->control = tuned;
      snprintf(out->label, sizeof out->label, "%s", v->label);
      out->np = v->nv;
      for (size_t i = 0; i < v->nv; i++) {
        snprintf(out->pname[i], sizeof out->pname[i], "%s", v->vary[i]);
        out->pval[i] = vals[i];
      }
    } else {
      schedopt_control_free(tuned);
    }
  }
  out->type = T;
  out->J = bestJ;
done:
  for (size_t k = 0; k < nvs; k++) schedopt_control_free(vs[k].c);
  out->seconds = schedopt_opt_now() - t_start;
  if (st) schedopt_baseline_clear(out);
  return st;
}

/* ---- the tuned momentum family ----------------------------------------------------
 *
 * A WSD learning rate (power anneal: peak η, decay fraction f, exponent δ) with a
 * constant heavy-ball momentum μ.  Heavy-ball at constant μ moves like SGD at
 * the effective rate η/(1 − μ) on the slow modes, and stays stable only below
 * a cap on η/(1 − μ) (docs/theory.md §7), so the loss is a ridge along
 * η/(1 − μ) = const and the family is searched in
 *   u = (log η/(1 − μ), log(1 − μ), f, log δ)
 * (LN_BOBYQA, which builds a quadratic model and so follows a straight ridge),
 * from the best point of a grid over μ and η/(1 − μ): the high-μ / small-η
 * region, where the free-form joint optimum lives, is reached from there and
 * not from μ = 0.  Peaks above the cap are clamped to it. */

typedef struct mom_ctx {
  schedopt_design *d;
  schedopt_integrator *it;
  const schedopt_objective *obj;
  double floor, hi;
  double best, bestu[4], worst;
  long evals;
  schedopt_status st;
  schedopt_error *err;
  const schedopt_optimizer_settings *set;
  double t0;
} mom_ctx;

/* u → the design's x = (log peak, decay_frac, log delta, mu). */
static void mom_x(const mom_ctx *c, const double *u, double *x) {
  const double d = exp(u[1]);
  x[0] = fmin(log(c->hi), u[0] + u[1]);
  x[1] = u[2];
  x[2] = u[3];
  x[3] = 1 - d;
}

/* log(J − J∞), as the optimizer minimizes; divergence lies above every value seen. */
static double mom_f(unsigned n, const double *u, double *grad, void *ctx) {
  mom_ctx *c = ctx;
  (void)n, (void)grad;
  if (c->st) return HUGE_VAL;
  double x[4], J;
  mom_x(c, u, x);
  schedopt_status s = schedopt_design_eval(c->d, c->it, c->obj, x, &J, NULL, c->err);
  c->evals++;
  if (s == SCHEDOPT_EDIVERGE || (!s && !isfinite(J))) return (c->worst > -HUGE_VAL ? c->worst : 0) + 10;
  if (s) {
    c->st = s;
    return HUGE_VAL;
  }
  double f = log(fmax(J - c->floor, 1e-300));
  if (f > c->worst) c->worst = f;
  if (J < c->best) {
    c->best = J;
    memcpy(c->bestu, u, sizeof c->bestu);
  }
  if (c->set->progress &&
      c->set->progress(c->set->progress_ctx, c->set->stage, c->evals, c->best,
                       schedopt_opt_now() - c->t0))
    c->st = schedopt_error_set(c->err, SCHEDOPT_ESOLVER, "stopped by the caller");
  return f;
}

schedopt_status schedopt_baseline_tune_momentum(const schedopt_schedule *base, double lo,
                                                double hi, double mu_hi,
                                                schedopt_integrator *it,
                                                const schedopt_objective *obj,
                                                const schedopt_optimizer_settings *set_in,
                                                schedopt_baseline *out, schedopt_error *err) {
  if (!base || !it || !obj || !out)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "baseline_tune_momentum: NULL");
  memset(out, 0, sizeof *out);
  if (!(hi > 0) || !isfinite(hi) || !(lo <= hi))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "baseline momentum: the lr cap must be positive and finite (got "
                              "[%g, %g])", lo, hi);
  if (!(mu_hi > 0 && mu_hi < 1))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "baseline momentum: the momentum cap must be in (0, 1) (got %g)",
                              mu_hi);
  schedopt_optimizer_settings set;
  if (set_in)
    set = *set_in;
  else
    schedopt_optimizer_settings_default(&set);
  if (!set.stage) set.stage = "baseline momentum";
  const double t_start = schedopt_opt_now();
  const double H = schedopt_schedule_horizon(base);
  const schedopt_control *given = schedopt_schedule_get(base, SCHEDOPT_LR);
  const double wfrac = (1 - given->warmup / H) * (1 - 1e-12);
  schedopt_control *lr = NULL, *mu = NULL;
  schedopt_schedule *b = NULL;
  schedopt_design *d = NULL;
  nlopt_opt opt = NULL;
  mom_ctx c = {0};
  schedopt_status st;
  if ((st = schedopt_control_alloc(&lr, schedopt_control_wsd, err)) ||
      (st = schedopt_control_alloc(&mu, schedopt_control_constant, err)))
    goto done;
  lr->warmup = given->warmup;
  lr->warmup_init = given->warmup_init;
  if ((st = schedopt_control_set(lr, "peak", hi, err)) ||
      (st = schedopt_control_set(lr, "floor", 0, err)) ||
      (st = schedopt_control_set_choice(lr, "shape", "power", err)) ||
      (st = schedopt_control_set(lr, "decay_frac", 0.3 * wfrac, err)) ||
      (st = schedopt_control_set(mu, "value", 0.5 * mu_hi, err)) ||
      (st = schedopt_opt_schedule_copy(&b, base, err)) ||
      (st = schedopt_schedule_set(b, SCHEDOPT_LR, lr, err)) ||
      (st = schedopt_schedule_set(b, SCHEDOPT_MOMENTUM, mu, err)) ||
      (st = schedopt_design_alloc(&d, b, err)))
    goto done;
  {
    schedopt_channel_param p;
    schedopt_channel_param_default(&p);
    p.type = schedopt_parametrization_family;
    p.lo = lo, p.hi = hi, p.nvary = 3;
    static const char *const vn[3] = {"peak", "decay_frac", "delta"};
    const double vl[3] = {1e-6 * hi, 0, 0.25}, vh[3] = {hi, wfrac, 8};
    const int lg[3] = {1, 0, 1};
    for (size_t k = 0; k < 3; k++) {
      snprintf(p.vary[k], sizeof p.vary[k], "%s", vn[k]);
      p.vary_lo[k] = vl[k], p.vary_hi[k] = vh[k], p.vary_log[k] = lg[k];
    }
    if ((st = schedopt_design_set_channel(d, SCHEDOPT_LR, &p, err))) goto done;
    schedopt_channel_param_default(&p);
    p.type = schedopt_parametrization_family;
    p.lo = 0, p.hi = mu_hi, p.nvary = 1;
    snprintf(p.vary[0], sizeof p.vary[0], "value");
    p.vary_lo[0] = 0, p.vary_hi[0] = mu_hi, p.vary_log[0] = 0;
    if ((st = schedopt_design_set_channel(d, SCHEDOPT_MOMENTUM, &p, err))) goto done;
  }
  c.d = d, c.it = it, c.obj = obj, c.hi = hi, c.err = err, c.set = &set, c.t0 = t_start;
  c.best = HUGE_VAL, c.worst = -HUGE_VAL;
  if (isfinite(set.floor))
    c.floor = set.floor;
  else if ((st = schedopt_opt_floor(it, b, obj, &c.floor, err)))
    goto done;
  /* bounds of u: η/(1 − μ) from 1e-4·cap to 20·cap (the stability cap on it is
   * a few times the lr cap), 1 − μ from 1 − μ_max to 1 */
  const double ulo[4] = {log(1e-4 * hi), log(1 - mu_hi), 0, log(0.25)},
               uhi[4] = {log(20 * hi), 0, wfrac, log(8)};
  /* the grid: μ from 0 to μ_max, η/(1 − μ) from cap/2 to 8·cap (peak ≤ cap) */
  static const double mus[] = {0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99};
  static const double effs[] = {0.5, 1, 2, 3, 4, 6, 8};
  double u[4], f0 = HUGE_VAL, u0[4] = {log(hi), 0, 0.3 * wfrac, log(1.5)};
  for (size_t i = 0; i < sizeof mus / sizeof *mus && !c.st; i++) {
    const double m = fmin(mus[i], mu_hi);
    if (i && m <= fmin(mus[i - 1], mu_hi)) break;
    for (size_t j = 0; j < sizeof effs / sizeof *effs && !c.st; j++) {
      if (effs[j] * (1 - m) > 1 + 1e-12) continue; /* peak over the cap */
      u[0] = log(effs[j] * hi), u[1] = log(1 - m), u[2] = 0.3 * wfrac, u[3] = log(1.5);
      const double f = mom_f(4, u, NULL, &c);
      if (f < f0) f0 = f, memcpy(u0, u, sizeof u0);
    }
  }
  if ((st = c.st)) goto done;
  if (!isfinite(c.best)) {
    st = schedopt_error_set(err, SCHEDOPT_EDIVERGE,
                            "baseline momentum: every grid point diverged");
    goto done;
  }
  /* the decay fraction at the best grid point */
  static const double fr[] = {0.1, 0.2, 0.45, 0.6};
  for (size_t i = 0; i < sizeof fr / sizeof *fr && !c.st; i++) {
    memcpy(u, u0, sizeof u);
    u[2] = fr[i] * wfrac;
    const double f = mom_f(4, u, NULL, &c);
    if (f < f0) f0 = f, memcpy(u0, u, sizeof u0);
  }
  if ((st = c.st)) goto done;
  opt = nlopt_create(NLOPT_LN_BOBYQA, 4);
  if (!opt) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "nlopt_create(LN_BOBYQA) failed");
    goto done;
  }
  const double step[4] = {0.5, 0.5, 0.1 * wfrac, 0.4};
  nlopt_set_lower_bounds(opt, ulo);
  nlopt_set_upper_bounds(opt, uhi);
  nlopt_set_initial_step(opt, step);
  nlopt_set_min_objective(opt, mom_f, &c);
  nlopt_set_xtol_abs1(opt, 1e-5);
  nlopt_set_ftol_abs(opt, 1e-7); /* of log(J − J∞): 1e-7 relative in the excess */
  nlopt_set_maxeval(opt, set.maxeval > 0 && set.maxeval < 400 ? (int)set.maxeval : 400);
  if (set.maxtime > 0) nlopt_set_maxtime(opt, set.maxtime);
  double fmin_;
  memcpy(u, u0, sizeof u);
  for (int k = 0; k < 4; k++) u[k] = fmin(uhi[k], fmax(ulo[k], u[k]));
  nlopt_optimize(opt, u, &fmin_); /* the best point evaluated is kept in c */
  if ((st = c.st)) goto done;
  {
    double x[4];
    const schedopt_schedule *s;
    mom_x(&c, c.bestu, x);
    if ((st = schedopt_design_apply(d, x, &s, err)) ||
        (st = schedopt_control_clone(&out->control, schedopt_schedule_get(s, SCHEDOPT_LR), err)) ||
        (st = schedopt_control_clone(&out->momentum, schedopt_schedule_get(s, SCHEDOPT_MOMENTUM),
                                     err)))
      goto done;
    out->type = &b_momentum;
    snprintf(out->label, sizeof out->label, "momentum (wsd, mu const)");
    out->np = 4;
    static const char *const pn[4] = {"peak", "mu", "decay_frac", "delta"};
    const double pv[4] = {exp(x[0]), x[3], x[1], exp(x[2])};
    for (size_t k = 0; k < 4; k++) {
      snprintf(out->pname[k], sizeof out->pname[k], "%s", pn[k]);
      out->pval[k] = pv[k];
    }
    out->J = c.best;
    out->evals = c.evals;
  }
done:
  if (opt) nlopt_destroy(opt);
  schedopt_design_free(d);
  schedopt_schedule_free(b);
  schedopt_control_free(lr);
  schedopt_control_free(mu);
  out->seconds = schedopt_opt_now() - t_start;
  if (st) schedopt_baseline_clear(out);
  return st;
}
