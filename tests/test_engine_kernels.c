/* CVODES engine kernels (issue 14, item 3): the block solver's vector paths
 * against its generic path, and one Newton iteration per step.
 *
 * - The rank-1 solver (loss only) runs diagonal blocks eight elements and
 *   3×3 blocks four blocks at a time, with scalar tails; the bias/variance
 *   split (rank 2) solves the same dynamics through the generic path.  Their
 *   sum of bias and variance must equal the loss-only excess at tight
 *   tolerances for mode counts that leave every tail length.
 * - The models are linear in y and the solver's matrix is exact, so the
 *   Newton solver makes one iteration per corrector: right-hand sides per
 *   step stay near 1 (SUNDIALS' Newton solver took 1.65). */
#include <math.h>
#include <stdlib.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;

static schedopt_control *constant(double v) {
  schedopt_control *c = NULL;
  OK(schedopt_control_alloc(&c, schedopt_control_constant, &err));
  OK(schedopt_control_set(c, "value", v, &err));
  return c;
}

/* Final excess of plrf (hard phase) under a WSD learning rate, cvodes at
 * rtol (atol 1e-14) or at the integrator's defaults if rtol is 0; or the
 * exact recursion. */
static double excess(long N, int momentum, int split, double T, double rtol,
                     schedopt_integrator_stats *st, int recursion) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 3.5;
  p.b = 5;
  p.N = N;
  p.sigma2 = 0.25;
  p.momentum = momentum;
  p.split = split;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err));
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, T, 1, &err));
  schedopt_control *lr = NULL, *b = constant(5), *mu = momentum ? constant(0.9) : NULL;
  OK(schedopt_control_alloc(&lr, schedopt_control_wsd, &err));
  OK(schedopt_control_set(lr, "peak", momentum ? 0.1 : 1.0, &err));
  OK(schedopt_control_set(lr, "decay_frac", 0.2, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, b, &err));
  if (mu) OK(schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, mu, &err));
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(
      &it, recursion ? schedopt_integrator_recursion : schedopt_integrator_cvodes, m, &err));
  if (rtol > 0) OK(schedopt_integrator_set_tolerances(it, rtol, 1e-14, &err));
  const double t = T;
  schedopt_row row;
  OK(schedopt_integrator_run(it, s, &t, 1, &row, &err));
  if (st) schedopt_integrator_get_stats(it, st);
  const double e = split ? row.r.bias + row.r.variance + row.r.approx : row.r.excess;
  schedopt_integrator_free(it);
  schedopt_control_free(lr);
  schedopt_control_free(b);
  schedopt_control_free(mu);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
  return e;
}

static void test_block_paths(void) {
  /* 3×3 groups of four with tails 0..3; diagonal runs of eight with tails */
  static const long Ns[] = {1, 3, 4, 5, 7, 8, 13, 17};
  for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
    for (int mom = 0; mom <= 1; mom++) {
      const double e1 = excess(Ns[i], mom, 0, 2000, 1e-10, NULL, 0);
      const double e2 = excess(Ns[i], mom, 1, 2000, 1e-10, NULL, 0);
      printf("N = %ld, %s: excess rank 1 %.12g, split (rank 2) %.12g, rel. diff %.2e\n", Ns[i],
             mom ? "momentum 0.9" : "SGD", e1, e2, fabs(e1 - e2) / e2);
      CHECK(isfinite(e1) && e1 > 0);
      CHECK_CLOSE(e1, e2, 1e-7, 0);
    }
}

static void test_one_newton_iteration(void) {
  schedopt_integrator_stats st;
  const double e = excess(1000, 0, 0, 1e6, 0, &st, 0);
  const double er = excess(1000, 0, 0, 1e6, 0, NULL, 1);
  const double per_step = (double)st.rhs_evals / (double)st.steps;
  printf("T = 1e6, N = 1000: %ld steps, %ld right-hand sides (%.3f per step), excess %.9g "
         "(exact recursion %.9g)\n", st.steps, st.rhs_evals, per_step, e, er);
  CHECK(st.steps > 100);
  CHECK(per_step < 1.2); /* one per corrector, plus error-test retries and the start */
  CHECK_CLOSE(e, er, 1e-2, 0); /* the matched ODE's accuracy target (docs/performance.md) */
}

int main(void) {
  test_block_paths();
  test_one_newton_iteration();
  return test_finish();
}
