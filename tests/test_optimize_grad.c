/* Chain rule of every parametrization: ∇ₓJ from the adjoint (cvodes) or the
 * reverse sweep (recursion) through the design, against central differences
 * of the objective (schedopt_design_eval_fd).  Error measure: the largest
 * component error relative to the largest component, ‖g − g_fd‖∞ / ‖g_fd‖∞:
 * ≤ 1e-5 with the recursion, ≤ 1e-4 with cvodes.  Also: knot placement,
 * projection round trips, the monotone map, and the optimizer's effective-rate
 * variables at the learning rate's bound 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;

static schedopt_control *ctl(const schedopt_control_type *T, const char *k1, double v1,
                             const char *k2, double v2) {
  schedopt_control *c = NULL;
  OK(schedopt_control_alloc(&c, T, &err));
  if (k1) OK(schedopt_control_set(c, k1, v1, &err));
  if (k2) OK(schedopt_control_set(c, k2, v2, &err));
  return c;
}

static schedopt_model *plrf(long N, int mom, double b) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 3.5;
  p.b = b;
  p.N = N;
  p.sigma2 = 0.25;
  p.momentum = mom;
  p.split = 0;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err));
  return m;
}

/* schedule: lr, batch (constant unless given), momentum (if mom ≥ 0 or given) */
static schedopt_schedule *sched(schedopt_clock clk, double H, schedopt_control *lr,
                                schedopt_control *batch, schedopt_control *mom) {
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, clk, H, 1, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err));
  schedopt_control *b = batch ? batch : ctl(schedopt_control_constant, "value", 4, NULL, 0);
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, b, &err));
  if (mom) OK(schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, mom, &err));
  schedopt_control_free(lr);
  schedopt_control_free(b);
  schedopt_control_free(mom);
  return s;
}

static schedopt_channel_param family(const char *const *vary, const double *lo, const double *hi,
                                     const int *lg) {
  schedopt_channel_param p;
  schedopt_channel_param_default(&p);
  p.type = schedopt_parametrization_family;
  for (size_t k = 0; vary[k]; k++) {
    snprintf(p.vary[k], sizeof p.vary[k], "%s", vary[k]);
    if (lo) p.vary_lo[k] = lo[k];
    if (hi) p.vary_hi[k] = hi[k];
    if (lg) p.vary_log[k] = lg[k];
    p.nvary++;
  }
  return p;
}

static schedopt_channel_param freeform(size_t K, double lo, double hi, int step,
                                       schedopt_monotone mono) {
  schedopt_channel_param p;
  schedopt_channel_param_default(&p);
  p.type = schedopt_parametrization_freeform;
  p.knots = K;
  p.lo = lo;
  p.hi = hi;
  p.step = step;
  p.monotone = mono;
  return p;
}

static const schedopt_objective final_obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};

/* Compare adjoint and FD gradients of design d at the projection of its base
 * schedule (moved inside the box).  Returns the relative error. */
static double check(const char *name, schedopt_design *d, const schedopt_model *m,
                    const schedopt_integrator_type *T, const schedopt_objective *obj,
                    const schedopt_schedule *base) {
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, T, m, &err));
  int rec = T == schedopt_integrator_recursion;
  if (!rec) OK(schedopt_integrator_set_tolerances(it, 1e-11, 1e-15, &err));
  size_t n = schedopt_design_size(d);
  double *x = malloc(n * sizeof *x), *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
  double *g = malloc(n * sizeof *g), *f = malloc(n * sizeof *f);
  schedopt_design_bounds(d, lo, hi);
  OK(schedopt_design_project(d, base, x, &err));
  /* keep central differences possible: stay 1 % inside the box */
  for (size_t i = 0; i < n; i++) {
    double w = hi[i] - lo[i];
    x[i] = fmin(hi[i] - 0.01 * w, fmax(lo[i] + 0.01 * w, x[i]));
  }
  double J, Jf;
  OK(schedopt_design_eval(d, it, obj, x, &J, g, &err));
  OK(schedopt_design_eval_fd(d, it, obj, x, rec ? 1e-5 : 1e-4, &Jf, f, &err));
  CHECK_MSG(fabs(J - Jf) <= 1e-9 * fabs(Jf), "%s: J %.15g vs %.15g", name, J, Jf);
  double emax = 0, gmax = 0;
  size_t worst = 0;
  for (size_t i = 0; i < n; i++) {
    gmax = fmax(gmax, fabs(f[i]));
    if (fabs(g[i] - f[i]) > emax) emax = fabs(g[i] - f[i]), worst = i;
  }
  double rel = emax / gmax;
  double tol = rec ? 1e-5 : 1e-4;
  printf("%-44s %-9s n=%4zu  J=%.10f  |g|=%.3e  rel err %.2e (worst %s: %.6e vs fd %.6e)\n",
         name, T->name, n, J, gmax, rel, schedopt_design_var_name(d, worst), g[worst],
         f[worst]);
  CHECK_MSG(gmax > 0 && rel <= tol, "%s (%s): relative gradient error %.3g > %.1g", name,
            T->name, rel, tol);
  free(x), free(lo), free(hi), free(g), free(f);
  schedopt_integrator_free(it);
  return rel;
}

static void both(const char *name, schedopt_design *d, const schedopt_model *m,
                 const schedopt_objective *obj, const schedopt_schedule *base) {
  check(name, d, m, schedopt_integrator_recursion, obj, base);
  check(name, d, m, schedopt_integrator_cvodes, obj, base);
}

/* Knots: 0 and H included, increasing, at least one step apart where the
 * horizon allows, dense at both ends, symmetric in spacing. */
static void test_knots(void) {
  double t[64];
  CHECK(schedopt_freeform_knots(10000, 1, 64, NULL, 0, t, &err) == SCHEDOPT_OK);
  CHECK(t[0] == 0 && t[63] == 10000);
  for (int i = 1; i < 64; i++) CHECK(t[i] - t[i - 1] >= 1 - 1e-9);
  CHECK_CLOSE(t[1], 1, 0, 1e-12);
  CHECK_CLOSE(t[31], 5000, 1e-12, 0);
  CHECK_CLOSE(t[62], 9999, 1e-12, 0); /* one step before H */
  /* refined at both ends: one step apart there, coarsest around H/2 */
  CHECK_CLOSE(t[2] - t[1], 1, 0, 1e-9);
  CHECK_CLOSE(t[63] - t[62], 1, 0, 1e-9);
  CHECK(t[32] - t[31] < 0.15 * 10000 && t[32] - t[31] > t[20] - t[19]);
  for (int i = 2; i < 31; i++) CHECK(t[i + 1] - t[i] >= t[i] - t[i - 1] - 1e-9);
  /* too many knots for the horizon: uniform */
  double u[64];
  CHECK(schedopt_freeform_knots(50, 1, 64, NULL, 0, u, &err) == SCHEDOPT_OK);
  CHECK_CLOSE(u[1], 50.0 / 63, 1e-12, 0);
  CHECK(schedopt_freeform_knots(100, 1, 3, NULL, 0, u, &err) == SCHEDOPT_EINVAL);
  /* refined toward interior points too (anytime horizons): each is a knot with
   * knots one step away on both sides */
  const double r[2] = {2500, 5000};
  double v[97];
  CHECK(schedopt_freeform_knots(10000, 1, 97, r, 2, v, &err) == SCHEDOPT_OK);
  CHECK(v[0] == 0 && v[96] == 10000);
  int seen = 0;
  for (int i = 1; i < 97; i++) {
    CHECK(v[i] > v[i - 1]);
    for (int j = 0; j < 2; j++)
      if (v[i] == r[j] && i + 1 < 97) {
        seen++;
        CHECK_CLOSE(v[i] - v[i - 1], 1, 0, 1e-9);
        CHECK_CLOSE(v[i + 1] - v[i], 1, 0, 1e-9);
      }
  }
  CHECK(seen == 2);
  CHECK(schedopt_freeform_knots(10000, 1, 9, r, 2, v, &err) == SCHEDOPT_EINVAL); /* too few */
  const double bad_r[2] = {5000, 2500};
  CHECK(schedopt_freeform_knots(10000, 1, 97, bad_r, 2, v, &err) == SCHEDOPT_EINVAL);
}

/* Projection round trip and the monotone map. */
static void test_projection(void) {
  schedopt_control *pw = ctl(schedopt_control_polynomial, "peak", 0.8, "delta", 2);
  OK(schedopt_control_set(pw, "floor", 0.05, &err));
  OK(schedopt_control_set(pw, "warmup", 50, &err));
  schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, 1000, pw, NULL, NULL);
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, s, &err));
  schedopt_channel_param p = freeform(32, 0, 1, 0, SCHEDOPT_MONOTONE_DECREASING);
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
  CHECK(schedopt_design_channel(d, SCHEDOPT_LR)->monotone_after == 50); /* the warmup */
  size_t n = schedopt_design_size(d), K;
  const double *t = schedopt_design_knots(d, SCHEDOPT_LR, &K);
  CHECK(n == 32 && K == 32);
  double *x = malloc(n * sizeof *x);
  OK(schedopt_design_project(d, s, x, &err));
  const schedopt_schedule *a;
  OK(schedopt_design_apply(d, x, &a, &err));
  double worst = 0;
  for (size_t i = 0; i < K; i++) {
    double want = schedopt_control_eval(schedopt_schedule_get(s, SCHEDOPT_LR), 1000, t[i], NULL);
    double got = schedopt_control_eval(schedopt_schedule_get(a, SCHEDOPT_LR), 1000, t[i], NULL);
    worst = fmax(worst, fabs(got - want));
    if (t[i] >= 50 && i + 1 < K) {
      CHECK(x[i] >= 0 && x[i] <= 1);
      double next = schedopt_control_eval(schedopt_schedule_get(a, SCHEDOPT_LR), 1000, t[i + 1], NULL);
      CHECK(next <= got + 1e-15);
    }
  }
  CHECK_MSG(worst <= 1e-14, "projection round trip error %.3g", worst);
  /* a random x maps to a non-increasing schedule after the warmup, within bounds */
  for (size_t i = 0; i < n; i++) x[i] = 0.5 + 0.5 * sin(3.0 * (double)i);
  OK(schedopt_design_apply(d, x, &a, &err));
  double prev = 1;
  for (size_t i = 0; i < K; i++) {
    double v = schedopt_control_eval(schedopt_schedule_get(a, SCHEDOPT_LR), 1000, t[i], NULL);
    CHECK(v >= 0 && v <= 1);
    if (t[i] >= 50) {
      CHECK(v <= prev + 1e-15);
      prev = v;
    }
  }
  /* names and bounds */
  CHECK(!strcmp(schedopt_design_var_name(d, 0), "lr[0]"));
  CHECK(!strcmp(schedopt_design_var_name(d, 31), "lr.x[31]"));
  /* a family design rejects a schedule of another family */
  schedopt_channel_param fp = family((const char *const[]){"peak", NULL}, NULL, NULL, NULL);
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &fp, &err));
  CHECK(schedopt_design_size(d) == 1);
  schedopt_schedule *c = sched(SCHEDOPT_CLOCK_STEPS, 1000, ctl(schedopt_control_cosine, "peak", 1, NULL, 0),
                               NULL, NULL);
  CHECK(schedopt_design_project(d, c, x, &err) == SCHEDOPT_EINVAL);
  /* bad settings */
  schedopt_channel_param bad = family((const char *const[]){"shape", NULL}, NULL, NULL, NULL);
  CHECK(schedopt_design_set_channel(d, SCHEDOPT_LR, &bad, &err) == SCHEDOPT_EINVAL);
  bad = family((const char *const[]){"nope", NULL}, NULL, NULL, NULL);
  CHECK(schedopt_design_set_channel(d, SCHEDOPT_LR, &bad, &err) == SCHEDOPT_EINVAL);
  CHECK(strstr(err.msg, "can vary") != NULL);
  bad = freeform(8, 0, 1, 0, 0);
  CHECK(schedopt_design_set_channel(d, SCHEDOPT_LR, &bad, &err) == SCHEDOPT_EINVAL);
  bad = freeform(16, 0, 1, 0, 0);
  CHECK(schedopt_design_set_channel(d, SCHEDOPT_MOMENTUM, &bad, &err) == SCHEDOPT_EINVAL);
  free(x);
  schedopt_design_free(d);
  schedopt_schedule_free(s);
  schedopt_schedule_free(c);
}

/* The optimizer's effective-rate variables (optimize_nlopt.c): with free-form
 * learning rate and momentum on the same knots it descends in η/(1 − μ) and
 * μ, and η = u(1 − μ) is clamped into its box.  On the box's edge a knot must
 * see the derivative that points into the box, and only that one.  From a
 * WSD start (16 + 16 knots) with two knots of the stable phase at η = 0:
 * 1. lr ≤ 1: the optimum must raise them (when the chain rule gave 0 on η's
 *    bounds both ended at exactly 0);
 * 2. lr ≤ 0.05, most knots at the cap: the run must reach below 0.25478
 *    (0.2547693 now; passing the derivative at η = hi whatever its sign led
 *    L-BFGS into the clamped region and it stopped at 0.2547944; the rule
 *    of 1. stopped at 0.2554135). */
static double effective_rate_run(double lr_hi, long maxeval, double *x45, char code[32]) {
  schedopt_model *mm = plrf(30, 1, 2.5);
  schedopt_control *w = ctl(schedopt_control_wsd, "peak", 0.3, "decay_frac", 0.2);
  schedopt_schedule *s =
      sched(SCHEDOPT_CLOCK_STEPS, 300, w, NULL, ctl(schedopt_control_constant, "value", 0.5, NULL, 0));
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, s, &err));
  schedopt_channel_param pl = freeform(16, 0, lr_hi, 0, SCHEDOPT_MONOTONE_NONE);
  schedopt_channel_param pm = freeform(16, 0, 0.9, 0, SCHEDOPT_MONOTONE_NONE);
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &pl, &err));
  OK(schedopt_design_set_channel(d, SCHEDOPT_MOMENTUM, &pm, &err));
  CHECK(schedopt_design_size(d) == 32);
  double x0[32];
  OK(schedopt_design_project(d, s, x0, &err));
  x0[4] = x0[5] = 0.0; /* lr knots 4 and 5, inside the stable phase */
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_recursion, mm, &err));
  schedopt_objective obj = {0};
  obj.kind = SCHEDOPT_OBJ_FINAL;
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  set.algorithm = schedopt_algorithm_find("LD_LBFGS");
  set.maxeval = maxeval;
  schedopt_opt_result r = {0};
  OK(schedopt_design_optimize(d, it, &obj, &set, x0, &r, &err));
  int at_hi = 0;
  for (int k = 0; k < 16; k++) at_hi += r.x[k] >= lr_hi;
  printf("effective-rate variables, lr <= %g, from lr knots 4, 5 at 0: J %.10g -> %.10g, lr knots "
         "4, 5 -> %.4g, %.4g, %d knots at the cap (%ld evaluations of %ld, %s)\n",
         lr_hi, r.J_start, r.J, r.x[4], r.x[5], at_hi, r.evals, maxeval, r.code_name);
  CHECK(r.J < r.J_start);
  x45[0] = r.x[4], x45[1] = r.x[5];
  snprintf(code, 32, "%s", r.code_name);
  const double J = r.J;
  schedopt_opt_result_free(&r);
  schedopt_integrator_free(it);
  schedopt_design_free(d);
  schedopt_schedule_free(s);
  schedopt_model_free(mm);
  return J;
}

static void test_effective_rate_bound(void) {
  double x45[2];
  char code[32];
  effective_rate_run(1.0, 400, x45, code);
  CHECK_MSG(x45[0] > 0.05 && x45[1] > 0.05, "lr knots 4, 5 stayed at %g, %g", x45[0], x45[1]);
  const double J = effective_rate_run(0.05, 400, x45, code);
  CHECK_MSG(J < 0.25478, "lr <= 0.05: the run stopped at %.10g", J);
  CHECK(!strcmp(code, "FTOL_REACHED"));
  /* 3. a start the budget ends reports it: at these budgets the rescaling's
   * evaluation left the last run one, answered from the stored best point
   * (no gain), and the start was reported as converged (FTOL_REACHED) */
  for (long me = 26; me <= 104; me += 78) {
    effective_rate_run(0.05, me, x45, code);
    CHECK_MSG(!strcmp(code, "MAXEVAL_REACHED"), "maxeval %ld: %s", me, code);
  }
}

int main(void) {
  test_knots();
  test_projection();
  test_effective_rate_bound();
  const double H = 300;
  schedopt_model *m = plrf(40, 0, 2.5), *mm = plrf(30, 1, 2.5);

  /* 1. wsd family, power shape: peak (log), decay_frac, delta, floor; warmup fixed */
  {
    /* kinks (warmup end, decay start) off the integer steps the recursion samples */
    schedopt_control *w = ctl(schedopt_control_wsd, "peak", 0.7, "decay_frac", 0.4037);
    OK(schedopt_control_set_choice(w, "shape", "power", &err));
    OK(schedopt_control_set(w, "delta", 1.7, &err));
    OK(schedopt_control_set(w, "floor", 0.05, &err));
    OK(schedopt_control_set(w, "warmup", 20.4, &err));
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, w, NULL, NULL);
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param p = family((const char *const[]){"peak", "decay_frac", "delta", "floor", NULL},
                                      (const double[]){0.01, 0.05, 0.5, 0},
                                      (const double[]){1, 0.9, 4, 0.3}, (const int[]){1, 0, 0, 0});
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
    both("wsd family: log peak, decay_frac, delta, floor", d, m, &final_obj, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  /* 2. cosine family: gain, warmup, warmup_init */
  {
    schedopt_control *c = ctl(schedopt_control_cosine, "peak", 0.6, "floor", 0.1);
    OK(schedopt_control_set(c, "warmup", 30.3, &err));
    OK(schedopt_control_set(c, "warmup_init", 0.2, &err));
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, c, NULL, NULL);
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param p = family((const char *const[]){"gain", "warmup", "warmup_init", NULL},
                                      NULL, (const double[]){NAN, 100, 1}, NULL);
    p.hi = 1;
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
    both("cosine family: gain (log), warmup, warmup_init", d, m, &final_obj, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  /* 3. freeform lr, piecewise linear, 16 knots; three objectives */
  {
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, ctl(schedopt_control_cosine, "peak", 0.8, "floor", 0.1),
                                 NULL, NULL);
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param p = freeform(16, 0, 1, 0, SCHEDOPT_MONOTONE_NONE);
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
    both("freeform lr, linear, 16 knots, final", d, m, &final_obj, s);
    schedopt_objective mean = {SCHEDOPT_OBJ_MEAN, 150, 300, 0, NULL, NULL};
    both("freeform lr, linear, 16 knots, mean", d, m, &mean, s);
    const double h[] = {75, 150, 300}, w[] = {0.2, 0.3, 0.5};
    schedopt_objective hz = {SCHEDOPT_OBJ_HORIZONS, 0, 0, 3, h, w};
    both("freeform lr, linear, 16 knots, horizons", d, m, &hz, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  /* 4. freeform lr, monotone after a warmup, 24 knots; linear and step */
  for (int step = 0; step < 2; step++) {
    schedopt_control *pw = ctl(schedopt_control_polynomial, "peak", 0.8, "delta", 1.5);
    OK(schedopt_control_set(pw, "floor", 0.05, &err));
    OK(schedopt_control_set(pw, "warmup", 25, &err));
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, pw, NULL, NULL);
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param p = freeform(24, 0, 1, step, SCHEDOPT_MONOTONE_DECREASING);
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
    both(step ? "freeform lr, step, monotone after warmup" : "freeform lr, linear, monotone after warmup",
         d, m, &final_obj, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  /* 5. batch ramp (non-decreasing) jointly with the lr level */
  {
    schedopt_control *bt = ctl(schedopt_control_linear, "start", 2, "end", 12);
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, ctl(schedopt_control_constant, "value", 0.5, NULL, 0),
                                 bt, NULL);
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param pb = freeform(16, 1, 16, 0, SCHEDOPT_MONOTONE_INCREASING);
    schedopt_channel_param pl = family((const char *const[]){"value", NULL}, (const double[]){0.05},
                                       (const double[]){1}, NULL);
    OK(schedopt_design_set_channel(d, SCHEDOPT_BATCH, &pb, &err));
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &pl, &err));
    CHECK(schedopt_design_size(d) == 17);
    CHECK(!strcmp(schedopt_design_var_name(d, 0), "lr.value"));
    both("batch ramp (non-decreasing) + lr value", d, m, &final_obj, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  /* 6. momentum schedule (freeform) + lr wsd peak, heavy-ball dynamics */
  {
    schedopt_control *w = ctl(schedopt_control_wsd, "peak", 0.3, "decay_frac", 0.3011);
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, 250, w, NULL,
                                 ctl(schedopt_control_linear, "start", 0.5, "end", 0.8));
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param pm = freeform(16, 0, 0.95, 0, SCHEDOPT_MONOTONE_NONE);
    schedopt_channel_param pl = family((const char *const[]){"peak", "decay_frac", NULL},
                                       (const double[]){0.05, 0.05}, (const double[]){0.5, 0.9},
                                       NULL);
    OK(schedopt_design_set_channel(d, SCHEDOPT_MOMENTUM, &pm, &err));
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &pl, &err));
    both("momentum freeform + lr wsd (peak, decay_frac)", d, mm, &final_obj, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  /* 7. data clock: lr freeform and batch ramp family (start, end) */
  {
    schedopt_schedule *s = NULL;
    OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_DATA, 2000, 1, &err));
    schedopt_control *lr = ctl(schedopt_control_cosine, "peak", 0.6, "floor", 0.05);
    schedopt_control *bt = ctl(schedopt_control_linear, "start", 3, "end", 10);
    OK(schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err));
    OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err));
    schedopt_control_free(lr);
    schedopt_control_free(bt);
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    schedopt_channel_param pl = freeform(16, 0, 1, 0, SCHEDOPT_MONOTONE_NONE);
    schedopt_channel_param pb = family((const char *const[]){"start", "end", NULL},
                                       (const double[]){1, 1}, (const double[]){20, 20}, NULL);
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &pl, &err));
    OK(schedopt_design_set_channel(d, SCHEDOPT_BATCH, &pb, &err));
    check("data clock: lr freeform + batch (start, end)", d, m, schedopt_integrator_cvodes,
          &final_obj, s);
    schedopt_design_free(d);
    schedopt_schedule_free(s);
  }
  schedopt_model_free(m);
  schedopt_model_free(mm);
  return test_finish();
}
