/* optimize.c — design a learning-rate schedule with the C API.
 *
 * The hard phase of the power-law random-feature model (a = 3.5, b = 5,
 * N = 200, σ² = 0.25, batch 5, η ≤ 1) over 2000 steps.  Two designs of the
 * learning rate are optimized for the final loss L_T:
 *   1. family:   WSD with its peak, decay fraction and decay exponent free;
 *   2. freeform: 32 knots, piecewise linear, started from the tuned WSD.
 * Each evaluation is one forward solve plus one CVODES adjoint solve.
 *
 * Usage: optimize */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <schedopt/schedopt.h>

static void check(schedopt_status st, const schedopt_error *err) {
  if (st != SCHEDOPT_OK) {
    fprintf(stderr, "optimize: %s: %s\n", schedopt_status_name(st), err->msg);
    exit(st == SCHEDOPT_EINVAL || st == SCHEDOPT_EPARSE || st == SCHEDOPT_EIO ? 2 : 1);
  }
}

int main(void) {
  schedopt_error err = {0};
  const char *yaml = "model: {a: 3.5, b: 5, N: 200, sigma2: 0.25, split: false}\n"
                     "budget: {steps: 2000}\n"
                     "controls:\n"
                     "  lr: {type: wsd, peak: 1, decay_frac: 0.2, shape: power, delta: 1}\n"
                     "  batch: 5\n";
  schedopt_problem *p = NULL;
  check(schedopt_problem_alloc(&p, &err), &err);
  check(schedopt_problem_load_string(p, yaml, strlen(yaml), "hard", &err), &err);
  check(schedopt_problem_build(p, &err), &err);
  const schedopt_schedule *base = schedopt_problem_schedule(p);
  schedopt_integrator *it = NULL;
  check(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, schedopt_problem_model(p), &err),
        &err);
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);

  /* 1. WSD family: peak in [0.05, 1], decay fraction in [0.01, 0.9], exponent in [0.3, 4] */
  schedopt_design *fam = NULL;
  check(schedopt_design_alloc(&fam, base, &err), &err);
  schedopt_channel_param cp;
  schedopt_channel_param_default(&cp);
  cp.type = schedopt_parametrization_family;
  cp.hi = 1.0;
  const char *names[] = {"peak", "decay_frac", "delta"};
  const double lo[] = {0.05, 0.01, 0.3}, hi[] = {1.0, 0.9, 4.0};
  cp.nvary = 3;
  for (size_t i = 0; i < 3; i++) {
    snprintf(cp.vary[i], sizeof cp.vary[i], "%s", names[i]);
    cp.vary_lo[i] = lo[i];
    cp.vary_hi[i] = hi[i];
    cp.vary_log[i] = 0;
  }
  check(schedopt_design_set_channel(fam, SCHEDOPT_LR, &cp, &err), &err);
  schedopt_opt_result rf = {0};
  check(schedopt_design_optimize(fam, it, &obj, &set, NULL, &rf, &err), &err);
  printf("WSD family: L_T = %.6f (from %.6f), %ld evaluations, %s, %.2f s\n", rf.J, rf.J_start,
         rf.evals, rf.code_name, rf.seconds);
  for (size_t i = 0; i < rf.n; i++)
    printf("  %-16s %.4f\n", schedopt_design_var_name(fam, i), rf.x[i]);

  /* 2. free-form knots started from the tuned WSD */
  const schedopt_schedule *wsd = NULL;
  check(schedopt_design_apply(fam, rf.x, &wsd, &err), &err);
  schedopt_design *ff = NULL;
  check(schedopt_design_alloc(&ff, wsd, &err), &err);
  schedopt_channel_param_default(&cp);
  cp.type = schedopt_parametrization_freeform;
  cp.knots = 32;
  cp.hi = 1.0;
  check(schedopt_design_set_channel(ff, SCHEDOPT_LR, &cp, &err), &err);
  double *x0 = malloc(schedopt_design_size(ff) * sizeof *x0);
  check(schedopt_design_project(ff, wsd, x0, &err), &err);
  schedopt_opt_result rr = {0};
  check(schedopt_design_optimize(ff, it, &obj, &set, x0, &rr, &err), &err);
  printf("free-form, 32 knots: L_T = %.6f (from %.6f), %ld evaluations, %s, %.2f s\n", rr.J,
         rr.J_start, rr.evals, rr.code_name, rr.seconds);
  size_t nk = 0;
  const double *kt = schedopt_design_knots(ff, SCHEDOPT_LR, &nk);
  const schedopt_schedule *opt = NULL;
  check(schedopt_design_apply(ff, rr.x, &opt, &err), &err);
  printf("  %8s %8s\n", "step", "lr");
  for (size_t i = 0; i < nk; i += 4) {
    schedopt_uval u;
    schedopt_schedule_eval(opt, kt[i], &u);
    printf("  %8.0f %8.4f\n", kt[i], u.lr);
  }
  printf("optimum %s the tuned WSD\n", rr.J <= rf.J ? "matches or beats" : "is WORSE than");

  free(x0);
  schedopt_opt_result_free(&rf);
  schedopt_opt_result_free(&rr);
  schedopt_design_free(ff);
  schedopt_design_free(fam);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  return rr.J <= rf.J ? 0 : 1;
}
