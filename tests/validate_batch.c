/* Learning rate and batch size under a data budget (ctest -L validation;
 * docs/validation.md).
 *
 * Model notes §6: with a fixed amount of data D = Σ B the LR/batch optimum is
 * degenerate — only the noise scale η/B is pinned.  Hard phase (N = 1000,
 * a = 3.5, b = 5, σ² = 0.25), D = 5·10⁴ samples: the optimal free-form lr at
 * B = 5, then the objective along the direction (c·η*(τ), c·B) against the
 * directions (c·η*, B) and (η*, c·B), through a design over the optimum
 * (lr: the gain of its table, batch: the constant) and schedopt_design_eval.
 * Under the SDE dynamics (drops the η²λ² drift) the direction is exactly
 * flat; under the matched dynamics nearly so while η stays small.
 *
 * Batch ramp (Bordelon–Mori: batch ramps cut the wall-clock time): the same
 * data budget with a cap of 2500 steps (mean B = 20), optimize.max_steps.
 * Reference: the free-form lr optimum at the constant B = 20 (exactly 2500
 * steps).  Joint: free-form lr and batch (24 knots each, B ∈ [1, 200]) under
 * the cap (LD_MMA), started from that reference's best baseline.  Under the
 * SDE only η/B matters, so with η capped a small early B is what a large early
 * step size would be, and a large late B is the anneal: the joint optimum
 * should keep η high and ramp B up.  Checked in both phases: the joint
 * optimum meets the cap, is no worse than the reference, and its mean batch
 * over the last quarter of the data exceeds 1.5× that over the first.
 *
 *   validate_batch */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;

#define NC 7
static const double cs[NC] = {0.25, 0.5, 0.75, 1, 1.5, 2, 4};

static double spread(const double *J, double sig) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < NC; i++)
    if (isfinite(J[i])) {
      lo = fmin(lo, J[i] - sig);
      hi = fmax(hi, J[i] - sig);
    }
  return hi / lo - 1;
}

static double one(const char *dyn) {
  char y[1024];
  snprintf(y, sizeof y,
           "name: validate_batch\n"
           "model: {type: plrf, a: 3.5, b: 5, N: 1000, sigma2: 0.25, split: false, "
           "dynamics: %s}\n"
           "budget: {samples: 50000}\n"
           "controls: {lr: {type: wsd, peak: 0.5, decay_frac: 0.2, shape: linear}, batch: 5}\n"
           "optimize:\n"
           "  controls: {lr: {param: freeform, knots: 48, max: 1.0}}\n"
           "  baselines: [constant]\n",
           dyn);
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  OK(test_optimize_yaml(y, "validate_batch", &p, &o, &err));
  const double sig = schedopt_problem_sigma2(p);
  const schedopt_schedule *sopt = schedopt_optimization_schedule(o);
  const double Jopt = schedopt_optimization_result(o)->J;

  /* a design over the optimum: lr gain (linear), batch value */
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, sopt, &err));
  schedopt_channel_param lr, bt;
  schedopt_channel_param_default(&lr);
  lr.type = schedopt_parametrization_family;
  lr.hi = 8;
  lr.nvary = 1;
  strcpy(lr.vary[0], "gain");
  lr.vary_lo[0] = 0.1;
  lr.vary_hi[0] = 8;
  lr.vary_log[0] = 0;
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &lr, &err));
  schedopt_channel_param_default(&bt);
  bt.type = schedopt_parametrization_family;
  bt.lo = 1;
  bt.hi = 100;
  bt.nvary = 1;
  strcpy(bt.vary[0], "value");
  bt.vary_lo[0] = 1;
  bt.vary_hi[0] = 100;
  bt.vary_log[0] = 0;
  OK(schedopt_design_set_channel(d, SCHEDOPT_BATCH, &bt, &err));
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_problem_integrator(p), schedopt_problem_model(p),
                               &err));
  double rtol, atol;
  long ms;
  schedopt_problem_tolerances(p, &rtol, &atol, &ms);
  OK(schedopt_integrator_set_tolerances(it, rtol, atol, &err));
  OK(schedopt_integrator_set_max_steps(it, ms, &err));
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  double Jd[NC], Je[NC], Jb[NC];
  for (int i = 0; i < NC; i++) {
    double xs[3][2] = {{cs[i], 5 * cs[i]}, {cs[i], 5}, {1, 5 * cs[i]}};
    double *out[3] = {&Jd[i], &Je[i], &Jb[i]};
    for (int k = 0; k < 3; k++) {
      schedopt_error e2 = {0};
      if (schedopt_design_eval(d, it, &obj, xs[k], out[k], NULL, &e2)) *out[k] = NAN;
    }
  }
  printf("%s dynamics: data budget D = 5e4, optimum at B = 5: L - sigma^2 = %.6e\n", dyn,
         Jopt - sig);
  printf("  %6s %18s %18s %18s\n", "c", "(c eta*, c B)", "(c eta*, B)", "(eta*, c B)");
  for (int i = 0; i < NC; i++) {
    printf("  %6.2f", cs[i]);
    const double v[3] = {Jd[i], Je[i], Jb[i]};
    for (int k = 0; k < 3; k++)
      if (isfinite(v[k]))
        printf(" %18.6e", v[k] - sig);
      else
        printf(" %18s", "diverged");
    printf("\n");
  }
  const double sd = spread(Jd, sig);
  printf("  spread of the excess max/min - 1: along eta ~ B %.3g; eta alone %.3g; B alone %.3g\n\n",
         sd, spread(Je, sig), spread(Jb, sig));
  schedopt_integrator_free(it);
  schedopt_design_free(d);
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  return sd / fmin(spread(Je, sig), spread(Jb, sig));
}

/* Mean of the channel over data τ ∈ [f0 D, f1 D] (midpoint rule). */
static double mean_over(const schedopt_schedule *s, double D, double f0, double f1, int batch) {
  const int M = 2000;
  double sum = 0;
  for (int i = 0; i < M; i++) {
    schedopt_uval u;
    schedopt_schedule_eval(s, D * (f0 + (f1 - f0) * (i + 0.5) / M), &u);
    sum += batch ? u.batch : u.lr;
  }
  return sum / M;
}

/* Data budget 5·10⁴ with a cap of 2500 steps: lr at B = 20, then lr + batch. */
static void ramp(double b) {
  const double D = 50000, cap = 2500;
  char y[1024];
  double J[2], steps[2], bq[2][4], lq[2][4], sig = 0;
  for (int joint = 0; joint < 2; joint++) {
    snprintf(y, sizeof y,
             "name: validate_batch_ramp\n"
             "model: {type: plrf, a: 3.5, b: %g, N: 1000, sigma2: 0.25, split: false, "
             "dynamics: matched}\n"
             "budget: {samples: %.0f}\n"
             "controls: {lr: {type: wsd, peak: 0.5, decay_frac: 0.2, shape: linear}, batch: 20}\n"
             "optimize:\n"
             "%s"
             "  controls:\n"
             "    lr: {param: freeform, knots: 24, max: 1.0}\n"
             "%s"
             "  baselines: [constant, wsd]\n",
             b, D, joint ? "  max_steps: 2500\n" : "",
             joint ? "    batch: {param: freeform, knots: 24, min: 1, max: 200}\n" : "");
    schedopt_problem *p = NULL;
    schedopt_optimization *o = NULL;
    OK(test_optimize_yaml(y, "validate_batch", &p, &o, &err));
    sig = schedopt_problem_sigma2(p);
    const schedopt_schedule *s = schedopt_optimization_schedule(o);
    J[joint] = schedopt_optimization_result(o)->J;
    steps[joint] = schedopt_optimization_steps(o);
    for (int q = 0; q < 4; q++) {
      bq[joint][q] = mean_over(s, D, 0.25 * q, 0.25 * (q + 1), 1);
      lq[joint][q] = mean_over(s, D, 0.25 * q, 0.25 * (q + 1), 0);
    }
    printf("b = %g, %s: excess %.6e, %.1f steps (%s, %ld evaluations)\n", b,
           joint ? "lr + batch under the cap" : "lr at B = 20", J[joint] - sig, steps[joint],
           schedopt_optimization_result(o)->code_name, schedopt_optimization_result(o)->evals);
    printf("  mean batch by quarter of the data: %.2f %.2f %.2f %.2f; mean lr: %.3f %.3f %.3f %.3f\n",
           bq[joint][0], bq[joint][1], bq[joint][2], bq[joint][3], lq[joint][0], lq[joint][1],
           lq[joint][2], lq[joint][3]);
    schedopt_optimization_free(o);
    schedopt_problem_free(p);
  }
  printf("  joint / reference excess %.4f; batch last / first quarter %.2f\n\n",
         (J[1] - sig) / (J[0] - sig), bq[1][3] / bq[1][0]);
  CHECK_MSG(steps[1] <= cap * (1 + 1e-6), "b = %g: %.3f steps over the cap", b, steps[1]);
  CHECK_MSG(J[1] <= J[0] * (1 + 1e-9), "b = %g: the joint optimum %.9g is worse than B = 20 "
            "(%.9g)", b, J[1], J[0]);
  CHECK_MSG(bq[1][3] > 1.5 * bq[1][0], "b = %g: no batch ramp (mean B %.2f first quarter, %.2f "
            "last)", b, bq[1][0], bq[1][3]);
}

int main(void) {
  double rs = one("sde");
  double rm = one("matched");
  printf("flatness: spread along eta ~ B / smallest spread across it: sde %.3g, matched %.3g\n\n",
         rs, rm);
  CHECK_MSG(rs < 1e-3, "sde: not flat along eta ~ B (%.3g)", rs);
  CHECK_MSG(rm < 0.1, "matched: not nearly flat along eta ~ B (%.3g)", rm);
  printf("batch ramp: data budget 5e4 samples, at most 2500 steps (mean B = 20)\n");
  ramp(2);
  ramp(5);
  return test_finish();
}
