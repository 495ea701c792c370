/* Longer optimization checks (ctest -L validation):
 *  - the chain rule of a free-form schedule on a stiff problem (b = 2, B = 5,
 *    a learning rate that reaches a flat floor, knots one step apart at both
 *    ends) against central differences, cvodes at tight tolerances: the
 *    adjoint quadrature must resolve the table's kinks;
 *  - the hard-phase optimum (Bordelon–Mori setting, N = 1000, T = 10^4) stays
 *    within 5 % of η_max for at least 70 % of the steps and anneals at the end;
 *  - the easy-phase optimum (b = 2) decays toward zero and beats every tuned
 *    baseline. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;

static void stiff_chain_rule(void) {
  const char *yaml = "model: {a: 3.5, b: 2, N: 40, sigma2: 0.25, split: false}\n"
                     "budget: {steps: 300}\n"
                     "controls: {lr: {type: polynomial, peak: 1, delta: 2}, batch: 5}\n";
  schedopt_problem *p = NULL;
  OK(test_make_problem(&p, yaml, "stiff.yaml", NULL, 0, &err));
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, s, &err));
  schedopt_channel_param cp;
  schedopt_channel_param_default(&cp);
  cp.type = schedopt_parametrization_freeform;
  cp.knots = 16;
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &cp, &err));
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, schedopt_problem_model(p), &err));
  OK(schedopt_integrator_set_tolerances(it, 1e-10, 1e-14, &err));
  size_t n = schedopt_design_size(d);
  double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *f = malloc(n * sizeof *f);
  OK(schedopt_design_project(d, s, x, &err));
  for (size_t i = 0; i < n; i++) x[i] = fmin(0.99, fmax(0.01, x[i])); /* a flat floor at 0.01 */
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  double J, Jf, emax = 0, gmax = 0;
  OK(schedopt_design_eval(d, it, &obj, x, &J, g, &err));
  OK(schedopt_design_eval_fd(d, it, &obj, x, 1e-4, &Jf, f, &err));
  for (size_t i = 0; i < n; i++) {
    gmax = fmax(gmax, fabs(f[i]));
    emax = fmax(emax, fabs(g[i] - f[i]));
  }
  printf("stiff free-form chain rule (cvodes, rtol 1e-10): relative error %.3g\n", emax / gmax);
  CHECK_MSG(emax <= 1e-4 * gmax, "relative gradient error %.3g > 1e-4", emax / gmax);
  free(x), free(g), free(f);
  schedopt_integrator_free(it);
  schedopt_design_free(d);
  schedopt_problem_free(p);
}

static void shapes(void) {
  static const char *const files[] = {"optimize_hard_phase", "optimize_easy_phase"};
  for (int k = 0; k < 2; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/problems/%s.yaml", SCHEDOPT_SOURCE_DIR, files[k]);
    schedopt_problem *p = NULL;
    OK(schedopt_problem_alloc(&p, &err));
    OK(schedopt_problem_load_file(p, path, &err));
    OK(schedopt_problem_build(p, &err));
    schedopt_optimize_spec spec;
    OK(schedopt_problem_optimize_spec(p, &spec, &err));
    schedopt_optimization *o = NULL;
    OK(schedopt_optimization_run(&o, p, &spec, &err));
    schedopt_optimization_write_text(o, stdout, &err);
    size_t beaten, cbeaten;
    schedopt_optimization_violations(o, &beaten, &cbeaten);
    CHECK(beaten == 0 && cbeaten == 0);
    const schedopt_control *lr =
        schedopt_schedule_get(schedopt_optimization_schedule(o), SCHEDOPT_LR);
    const double H = 10000;
    size_t near = 0;
    double vmax = 0;
    for (int t = 0; t < 10000; t++) {
      double v = schedopt_control_eval(lr, H, t, NULL);
      near += v >= 0.95;
      vmax = fmax(vmax, v);
    }
    double end = schedopt_control_eval(lr, H, H - 1, NULL);
    printf("%s: %.1f %% of steps within 5 %% of the cap, lr(H-1) = %.4g\n", files[k],
           100.0 * near / 10000, end);
    if (k == 0) {
      CHECK(near >= 7000);
      CHECK(end <= 0.05);
    } else {
      CHECK(vmax < 0.9 && end <= 0.05 * vmax);
    }
    schedopt_optimization_free(o);
    schedopt_problem_free(p);
  }
}

int main(void) {
  stiff_chain_rule();
  shapes();
  return test_finish();
}
