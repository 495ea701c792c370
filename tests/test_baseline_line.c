/* Baselines under the exact recursion (optimize_baseline.c, tune_variant):
 * the level held at the cap where J rises just below it, Brent's line search
 * for the one parameter left, LN_BOBYQA for two.  Every tuned baseline of the
 * hard phase (N = 200, T = 2000) must be a minimum of J to its tolerance:
 * J rises when any tuned parameter moves by 1e-3 (relative for a level or
 * another log-scale parameter, of the range otherwise) inside its range; the
 * constant also beats a fine grid of 61 levels.  With the cap at 1 the
 * levels sit at the cap (the fast path: cosine in 2 solves); with the cap at
 * 2, at the edge of the stable rates, the one-parameter levels do not (the
 * whole grid, then Brent's search in the best cell).  (The shape's gain
 * scales the whole schedule, no parameter of the control: not probed.) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_model *model;
static schedopt_schedule *base;
static schedopt_integrator *it;
static const schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};

/* J of the base schedule with learning rate c, parameter `name` set to v
 * (name NULL: as it is); +inf where it diverges. */
static double J_of(const schedopt_control *c, const char *name, double v) {
  schedopt_error err = {0};
  schedopt_control *cc = NULL;
  schedopt_schedule *s = NULL;
  double J = NAN;
  CHECK(schedopt_control_clone(&cc, c, &err) == SCHEDOPT_OK);
  if (name) CHECK(schedopt_control_set(cc, name, v, &err) == SCHEDOPT_OK);
  CHECK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, schedopt_schedule_horizon(base), 1,
                                &err) == SCHEDOPT_OK);
  CHECK(schedopt_schedule_set(s, SCHEDOPT_LR, cc, &err) == SCHEDOPT_OK);
  CHECK(schedopt_schedule_set(s, SCHEDOPT_BATCH, schedopt_schedule_get(base, SCHEDOPT_BATCH),
                              &err) == SCHEDOPT_OK);
  schedopt_status st = schedopt_integrator_objective(it, s, &obj, &J, &err);
  if (st == SCHEDOPT_EDIVERGE) J = HUGE_VAL;
  else CHECK_MSG(st == SCHEDOPT_OK, "%s", err.msg);
  schedopt_schedule_free(s);
  schedopt_control_free(cc);
  return J;
}

/* Tunes baseline T under cap hi and checks that it is a minimum to 1e-3. */
static void check_tuned(const schedopt_baseline_type *T, double hi, long max_evals) {
  schedopt_error err = {0};
  schedopt_baseline b = {0};
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  schedopt_status st = schedopt_baseline_tune(T, base, SCHEDOPT_LR, 0, hi, it, &obj, &set, &b, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "%s: %s", T->name, err.msg);
  if (st) return;
  const double J = J_of(b.control, NULL, 0);
  CHECK_CLOSE(J, b.J, 1e-13, 0); /* the reported J is the tuned control's */
  CHECK_MSG(b.evals <= max_evals, "%s (cap %g): %ld evaluations (at most %ld expected)", b.label,
            hi, b.evals, max_evals);
  for (size_t k = 0; k < b.np; k++) {
    const char *name = b.pname[k];
    double v = b.pval[k];
    if (!strcmp(name, "gain")) continue;
    CHECK(schedopt_control_get(b.control, name, &v, NULL) == SCHEDOPT_OK);
    /* the level and the exponents are searched in log scale */
    const int lg = !strcmp(name, "value") || !strcmp(name, "peak") || !strcmp(name, "start") ||
                   !strcmp(name, "gain") || !strcmp(name, "delta") || !strcmp(name, "t0");
    double lo_k = 0, hi_k = 1;
    if (!strcmp(name, "chi")) hi_k = 3;
    if (lg) lo_k = 0, hi_k = INFINITY;
    const int level = !strcmp(name, "value") || !strcmp(name, "peak") || !strcmp(name, "start");
    if (level) hi_k = hi;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
      const double w = lg ? v * exp(sgn * 1e-3) : v + sgn * 1e-3 * (hi_k - lo_k);
      if (w > hi_k * (1 + 1e-12) || w < lo_k) continue; /* outside its range */
      const double Jw = J_of(b.control, name, w);
      CHECK_MSG(Jw >= J * (1 - 1e-12), "%s (cap %g): %s = %.10g -> %.10g lowers J %.12g -> %.12g",
                b.label, hi, name, v, w, J, Jw);
    }
  }
  if (T == schedopt_baseline_constant) { /* against a fine grid of levels */
    for (int i = 0; i <= 60; i++) {
      const double v = hi * pow(10, -4.0 * i / 60);
      const double Jv = J_of(b.control, "value", v);
      CHECK_MSG(Jv >= J * (1 - 1e-12), "constant (cap %g): %.6g gives %.12g below the tuned %.12g",
                hi, v, Jv, J);
    }
  }
  printf("%-14s cap %g: %-12s J = %.10f, %3ld evaluations", T->name, hi, b.label, b.J, b.evals);
  for (size_t k = 0; k < b.np; k++) printf("  %s = %.6g", b.pname[k], b.pval[k]);
  printf("\n");
  schedopt_baseline_clear(&b);
}

int main(void) {
  schedopt_error err = {0};
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 3.5;
  p.b = 5;
  p.N = 200;
  p.sigma2 = 0.25;
  p.split = 0;
  schedopt_control *lr = NULL, *bt = NULL;
  if (schedopt_model_alloc(&model, schedopt_model_plrf, &p, &err) ||
      schedopt_schedule_alloc(&base, SCHEDOPT_CLOCK_STEPS, 2000, 1, &err) ||
      schedopt_control_alloc(&lr, schedopt_control_wsd, &err) ||
      schedopt_control_set(lr, "peak", 1.0, &err) ||
      schedopt_control_set(lr, "decay_frac", 0.2, &err) ||
      schedopt_control_alloc(&bt, schedopt_control_constant, &err) ||
      schedopt_control_set(bt, "value", 5, &err) ||
      schedopt_schedule_set(base, SCHEDOPT_LR, lr, &err) ||
      schedopt_schedule_set(base, SCHEDOPT_BATCH, bt, &err) ||
      schedopt_integrator_alloc(&it, schedopt_integrator_recursion, model, &err)) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return 1;
  }
  /* cap 1: the levels at the cap (cosine, linear, shape: the cap and one probe) */
  check_tuned(schedopt_baseline_constant, 1.0, 20);
  check_tuned(schedopt_baseline_cosine, 1.0, 2);
  check_tuned(schedopt_baseline_linear, 1.0, 2);
  check_tuned(schedopt_baseline_shape, 1.0, 2);
  check_tuned(schedopt_baseline_wsd, 1.0, 200);
  check_tuned(schedopt_baseline_power, 1.0, 100);
  /* cap 2: the levels come down (several parameters below the cap run
   * LN_BOBYQA on all, as before this path: not checked here) */
  check_tuned(schedopt_baseline_constant, 2.0, 20);
  check_tuned(schedopt_baseline_cosine, 2.0, 30);
  check_tuned(schedopt_baseline_linear, 2.0, 30);
  schedopt_integrator_free(it);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  schedopt_schedule_free(base);
  schedopt_model_free(model);
  return test_finish();
}
