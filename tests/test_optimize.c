/* Optimizer, baselines and optimal shapes:
 *  - a known optimum: one mode, σ² = tail = 0, constant η: the recursion gives
 *    L_T = ρ(η)^T with ρ = (1 − ηλ)² + 2η²λ²/B (the matched ODE exp((ρ−1)T)),
 *    minimized by η* = 1/(λ(1 + 2/B)), found by every algorithm;
 *  - multi-start is deterministic;
 *  - staged runs (coarse knots, loose tolerance) report J at rtol and match
 *    the single-stage optimum;
 *  - the optimum is never worse than a baseline the design contains (easy and
 *    hard phase, N = 100, T = 1000; freeform and family designs);
 *  - shapes: hard phase (a = 3.5, b = 5, N = 200, T = 2000, B = 5, η ≤ 1)
 *    warmup-stable-decay at the cap; easy phase (b = 2) decays toward 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;

static schedopt_control *constant(double v) {
  schedopt_control *c = NULL;
  OK(schedopt_control_alloc(&c, schedopt_control_constant, &err));
  OK(schedopt_control_set(c, "value", v, &err));
  return c;
}

/* ---- known optimum ---------------------------------------------------------- */

static void test_one_mode(void) {
  schedopt_plrf_params pp;
  schedopt_plrf_params_default(&pp);
  pp.a = 2;
  pp.b = 2;
  pp.N = 1;
  pp.sigma2 = 0;
  pp.tail = 0;
  pp.split = 0;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &pp, &err));
  const double B = 5, eta_star = 1 / (1 + 2 / B);
  schedopt_schedule *s = NULL;
  const double H = 12;
  OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, H, 1, &err));
  schedopt_control *lr = constant(0.3), *bt = constant(B);
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err));
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  schedopt_channel_param p;
  schedopt_channel_param_default(&p);
  p.type = schedopt_parametrization_family;
  p.nvary = 1;
  strcpy(p.vary[0], "value");
  p.vary_lo[0] = 0.05;
  p.vary_hi[0] = 1.2;
  static const char *const algs[] = {"GOLDEN", "LD_LBFGS", "LD_MMA", "LD_CCSAQ", "LD_SLSQP",
                                     "LD_TNEWTON_PRECOND_RESTART", "LD_VAR2", "LN_COBYLA",
                                     "LN_SBPLX", "LN_NELDERMEAD", NULL};
  for (int T = 0; T < 2; T++) {
    schedopt_integrator *it = NULL;
    OK(schedopt_integrator_alloc(&it, T ? schedopt_integrator_cvodes : schedopt_integrator_recursion,
                                 m, &err));
    if (T) OK(schedopt_integrator_set_tolerances(it, 1e-10, 1e-14, &err));
    schedopt_design *d = NULL;
    OK(schedopt_design_alloc(&d, s, &err));
    OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
    for (int a = 0; algs[a]; a++) {
      if (T && a > 1) break; /* cvodes: the default algorithms */
      schedopt_optimizer_settings set;
      schedopt_optimizer_settings_default(&set);
      set.algorithm = schedopt_algorithm_find(algs[a]);
      CHECK(set.algorithm != NULL);
      set.xtol_rel = 1e-10;
      set.ftol_rel = 1e-14;
      schedopt_opt_result r;
      OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &r, &err));
      double rho = (1 - eta_star) * (1 - eta_star) + 2 * eta_star * eta_star / B;
      double Jstar = T ? exp((rho - 1) * H) : pow(rho, H);
      printf("one mode, %-9s %-27s eta %.8f (eta* %.8f) J %.10e (J* %.10e) %s, %ld evals\n",
             T ? "cvodes" : "recursion", algs[a], r.x[0], eta_star, r.J, Jstar, r.code_name,
             r.evals);
      CHECK_CLOSE(r.x[0], eta_star, T ? 3e-4 : 1e-5, 0);
      CHECK_CLOSE(r.J, Jstar, T ? 1e-7 : 1e-12, 0);
      CHECK(r.J <= r.J_start);
      /* ODE noise at the optimum can end a line search (FAILURE, ROUNDOFF_LIMITED) */
      CHECK(r.code > 0 || (T && (r.code == -1 || r.code == -4)));
      schedopt_opt_result_free(&r);
    }
    /* two variables: lr and batch (B* = its cap, η* = 1/(1 + 2/B*)); BOBYQA */
    schedopt_channel_param pb = p;
    strcpy(pb.vary[0], "value");
    pb.vary_lo[0] = 1;
    pb.vary_hi[0] = 10;
    OK(schedopt_design_set_channel(d, SCHEDOPT_BATCH, &pb, &err));
    static const char *const two[] = {"LN_BOBYQA", "LD_LBFGS", NULL};
    for (int a = 0; two[a]; a++) {
      schedopt_optimizer_settings set;
      schedopt_optimizer_settings_default(&set);
      set.algorithm = schedopt_algorithm_find(two[a]);
      set.xtol_rel = 1e-10;
      set.ftol_rel = 1e-14;
      schedopt_opt_result r;
      OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &r, &err));
      printf("lr + batch, %s: eta %.6f (want %.6f), B %.6f (want 10)\n", two[a], r.x[0],
             1 / (1 + 2 / 10.0), r.x[1]);
      CHECK_CLOSE(r.x[0], 1 / (1 + 2 / 10.0), T ? 3e-4 : 1e-5, 0);
      CHECK_CLOSE(r.x[1], 10, 1e-6, 0);
      schedopt_opt_result_free(&r);
    }
    schedopt_design_free(d);
    schedopt_integrator_free(it);
  }
  /* algorithm names: case-insensitive, NLOPT_ prefix optional; GOLDEN is 1-D */
  CHECK(schedopt_algorithm_find("nlopt_ld_mma") == schedopt_algorithm_find("LD_MMA"));
  CHECK(schedopt_algorithm_find("LD_NOPE") == NULL);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

/* ---- multi-start: deterministic, best start recorded ------------------------- */

static void test_multistart(void) {
  schedopt_plrf_params pp;
  schedopt_plrf_params_default(&pp);
  pp.a = 3.5;
  pp.b = 5;
  pp.N = 30;
  pp.sigma2 = 0.25;
  pp.split = 0;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &pp, &err));
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 300, 1, &err));
  schedopt_control *w = NULL, *bt = constant(5);
  OK(schedopt_control_alloc(&w, schedopt_control_wsd, &err));
  OK(schedopt_control_set(w, "peak", 0.5, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, w, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err));
  schedopt_channel_param p;
  schedopt_channel_param_default(&p);
  p.type = schedopt_parametrization_family;
  p.nvary = 2;
  strcpy(p.vary[0], "peak");
  strcpy(p.vary[1], "decay_frac");
  p.hi = 1;
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_recursion, m, &err));
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, s, &err));
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  set.algorithm = schedopt_algorithm_find("LN_BOBYQA");
  set.starts = 4;
  set.seed = 7;
  schedopt_opt_result r1, r2;
  OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &r1, &err));
  OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &r2, &err));
  CHECK(r1.starts == 4 && r1.best_start < 4);
  CHECK(r1.evals == r2.evals && r1.best_start == r2.best_start);
  CHECK(r1.x[0] == r2.x[0] && r1.x[1] == r2.x[1] && r1.J == r2.J);
  set.seed = 8;
  schedopt_opt_result r3;
  OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &r3, &err));
  CHECK(r3.evals != r1.evals || r3.J != r1.J); /* another seed, other starts */
  CHECK_CLOSE(r3.J, r1.J, 1e-6, 0);            /* same optimum */
  printf("multistart: peak %.6f decay_frac %.6f J %.10f (best of 4: start %zu)\n", r1.x[0],
         r1.x[1], r1.J, r1.best_start);
  schedopt_opt_result_free(&r1);
  schedopt_opt_result_free(&r2);
  schedopt_opt_result_free(&r3);
  schedopt_design_free(d);
  schedopt_integrator_free(it);
  schedopt_control_free(w);
  schedopt_control_free(bt);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

/* ---- staged runs: continuation in the knots, loose tolerance first --------------- */

/* Hard phase, N = 200, T = 2000, cvodes at rtol 1e-6, free-form 128 knots
 * (more than 2·32: the 32-knot coarse stage applies): the staged optimizer
 * returns J at the integrator's own tolerance (equal to a fresh evaluation of
 * its x), leaves those tolerances in place, and is as good as the single-
 * stage run to the objective's accuracy. */
static void test_stages(void) {
  schedopt_plrf_params pp;
  schedopt_plrf_params_default(&pp);
  pp.a = 3.5;
  pp.b = 5;
  pp.N = 200;
  pp.sigma2 = 0.25;
  pp.split = 0;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &pp, &err));
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 2000, 1, &err));
  schedopt_control *w = NULL, *bt = constant(5);
  OK(schedopt_control_alloc(&w, schedopt_control_wsd, &err));
  OK(schedopt_control_set(w, "peak", 1.0, &err));
  OK(schedopt_control_set(w, "decay_frac", 0.2, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, w, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, bt, &err));
  schedopt_channel_param p;
  schedopt_channel_param_default(&p);
  p.type = schedopt_parametrization_freeform;
  p.knots = 128;
  p.hi = 1;
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err));
  OK(schedopt_integrator_set_tolerances(it, 1e-6, 1e-10, &err));
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, s, &err));
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &p, &err));
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  set.algorithm = schedopt_algorithm_find("LD_LBFGS"); /* the stages are LD_LBFGS's */
  CHECK(set.continuation == 32 && set.loose_rtol == 1e-5);
  schedopt_opt_result staged, single;
  OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &staged, &err));
  double rtol, atol;
  schedopt_integrator_get_tolerances(it, &rtol, &atol);
  CHECK(rtol == 1e-6 && atol == 1e-10);
  const size_t n = schedopt_design_size(d);
  double J, *g = malloc(n * sizeof *g);
  OK(schedopt_design_eval(d, it, &obj, staged.x, &J, g, &err));
  CHECK_CLOSE(J, staged.J, 1e-13, 0); /* the reported J is at rtol, not the loose one */
  CHECK(staged.J < staged.J_start);
  CHECK(!strcmp(staged.code_name, "FTOL_REACHED"));
  set.continuation = 0;
  set.loose_rtol = 0;
  OK(schedopt_design_optimize(d, it, &obj, &set, NULL, &single, &err));
  printf("stages: J %.10f in %ld evaluations (single stage: %.10f in %ld)\n", staged.J,
         staged.evals, single.J, single.evals);
  CHECK(staged.J <= single.J + 1e-6 * single.J);
  schedopt_opt_result_free(&staged);
  schedopt_opt_result_free(&single);
  free(g);
  schedopt_design_free(d);
  schedopt_integrator_free(it);
  schedopt_control_free(w);
  schedopt_control_free(bt);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

/* ---- optimum vs baselines ------------------------------------------------------ */

static schedopt_optimization *run_yaml(const char *text, schedopt_problem **pp) {
  schedopt_optimization *o = NULL;
  OK(test_optimize_yaml(text, "test.yaml", pp, &o, &err));
  schedopt_optimization_write_text(o, stdout, &err);
  return o;
}

static void check_baselines(const schedopt_optimization *o, size_t want_nb, int want_contained) {
  const double J = schedopt_optimization_result(o)->J;
  size_t nb = schedopt_optimization_nbaselines(o), ncont = 0, beaten, cbeaten;
  CHECK_MSG(nb == want_nb, "%zu baselines, want %zu", nb, want_nb);
  for (size_t i = 0; i < nb; i++) {
    double Jp;
    int cont;
    const schedopt_baseline *b = schedopt_optimization_baseline(o, i, &Jp, &cont);
    CHECK(b && b->control && isfinite(b->J) && b->evals > 0);
    if (cont) {
      ncont++;
      CHECK_MSG(J <= b->J, "optimum %.12g is worse than the contained baseline %s %.12g", J,
                b->label, b->J);
      CHECK(Jp <= b->J * (1 + 1e-9));
    }
  }
  schedopt_optimization_violations(o, &beaten, &cbeaten);
  CHECK(cbeaten == 0);
  CHECK_MSG((int)ncont >= want_contained, "%zu contained baselines, want >= %d", ncont,
            want_contained);
}

static const char *yaml_base =
    "model: {type: plrf, a: 3.5, b: %s, N: %s, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: %s}\n"
    "controls:\n"
    "  lr: {type: wsd, peak: 1.0, decay_frac: 0.2, shape: linear}\n"
    "  batch: 5\n"
    "%s";

static void test_vs_baselines(void) {
  char y[2048];
  for (int ph = 0; ph < 2; ph++) {
    const char *b = ph ? "5" : "2";
    /* freeform (default): constant and linear-to-zero are exactly representable */
    snprintf(y, sizeof y, yaml_base, b, "100", "1000", "");
    schedopt_problem *p;
    schedopt_optimization *o = run_yaml(y, &p);
    check_baselines(o, 6, 2);
    schedopt_optimization_free(o);
    schedopt_problem_free(p);
    /* family design (wsd peak + decay_frac): contains the shape baseline */
    snprintf(y, sizeof y, yaml_base, b, "100", "1000",
             "optimize:\n  controls:\n    lr: {param: family, vary: [peak, decay_frac]}\n"
             "  algorithm: LN_BOBYQA\n  baselines: [shape, wsd, constant]\n");
    o = run_yaml(y, &p);
    check_baselines(o, 3, 1);
    schedopt_optimization_free(o);
    schedopt_problem_free(p);
  }
}

/* ---- shapes ---------------------------------------------------------------------- */

static void test_shapes(void) {
  char y[2048];
  for (int ph = 0; ph < 2; ph++) {
    snprintf(y, sizeof y, yaml_base, ph ? "5" : "2", "200", "2000",
             "optimize:\n  baselines: [wsd, cosine]\n");
    schedopt_problem *p;
    schedopt_optimization *o = run_yaml(y, &p);
    check_baselines(o, 2, 0);
    const schedopt_control *lr = schedopt_schedule_get(schedopt_optimization_schedule(o), SCHEDOPT_LR);
    const double H = 2000;
    size_t at_cap = 0, first_below = 0;
    double vmax = 0;
    for (int k = 0; k < 2000; k++) {
      double v = schedopt_control_eval(lr, H, k, NULL);
      vmax = fmax(vmax, v);
      if (v >= 0.95)
        at_cap++;
      else if (!first_below && k > 0)
        first_below = (size_t)k;
    }
    double end = schedopt_control_eval(lr, H, H - 1, NULL);
    double v10 = schedopt_control_eval(lr, H, 0.1 * H, NULL),
           v50 = schedopt_control_eval(lr, H, 0.5 * H, NULL),
           v90 = schedopt_control_eval(lr, H, 0.9 * H, NULL);
    printf("%s phase: max lr %.4f, %.1f %% of steps within 5 %% of the cap, first below at "
           "step %zu, lr(0.1H) %.4f lr(0.5H) %.4f lr(0.9H) %.4f lr(H-1) %.5f\n",
           ph ? "hard" : "easy", vmax, 100.0 * at_cap / 2000, first_below, v10, v50, v90, end);
    if (ph) { /* WSD-like: at the cap for most of the run, annealed at the end */
      CHECK_MSG(at_cap >= 0.6 * 2000, "hard phase: only %zu steps near the cap", at_cap);
      CHECK(first_below >= 0.6 * 2000);
      CHECK(end <= 0.1);
    } else { /* decays toward zero, from a peak below the cap */
      CHECK(vmax < 0.9);
      CHECK(v10 > v50 && v50 > v90 && v90 > end);
      CHECK(end <= 0.05 * vmax);
    }
    schedopt_optimization_free(o);
    schedopt_problem_free(p);
  }
}

int main(void) {
  test_one_mode();
  test_multistart();
  test_stages();
  test_vs_baselines();
  test_shapes();
  return test_finish();
}
