/* Momentum benchmark: the CPU time of one optimizer evaluation (forward
 * solve, and forward + adjoint gradient) with heavy-ball momentum against the
 * same evaluation without it, on the matched ODE (cvodes) of the hard phase
 * (a = 3.5, b = 5, N = 1000, σ² = 0.25, batch 5).  The design is the one of a
 * joint lr + momentum optimization: free-form learning rate and momentum,
 * K knots each (SGD: the learning rate only), started from a WSD learning
 * rate (20 % linear anneal) and a constant momentum μ.  The SGD case runs at
 * the peak η, the momentum case at peak η(1 − μ): the same effective rate
 * η/(1 − μ) as SGD's, so both make the same progress per step.
 *
 *   bench_momentum [T (1e4)] [mu (0.9)] [K (48)] [N (1000)] [peak (1)] [modes (auto)]
 *
 * modes: model.momentum_modes of the momentum case (the modes that keep all
 * three heavy-ball states).
 *
 * Prints, per case: CPU ms per forward solve, per gradient and per gradient
 * with the curvature diagonal (schedopt_design_eval_hdiag, the optimizer's
 * preconditioner), CVODES steps,
 * right-hand sides, error-test failures and linear-solver setups of one
 * forward solve, and the ratio momentum / SGD. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/schedopt.h"
#include "bench_util.h"

static schedopt_error err;

#define OK(call)                                                  \
  do {                                                            \
    if ((call)) {                                                 \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, err.msg); \
      exit(1);                                                    \
    }                                                             \
  } while (0)

typedef struct bcase {
  schedopt_problem *p;
  schedopt_integrator *it;
  schedopt_design *d;
  double *x, *g, *h;
  double J;
} bcase;

static void setup(bcase *c, double T, long N, double peak, double mu, size_t K, long modes) {
  char y[768], mom[64] = "", mm[48] = "";
  if (mu > 0) snprintf(mom, sizeof mom, ", momentum: %.17g", mu);
  if (mu > 0 && modes > 0) snprintf(mm, sizeof mm, ", momentum_modes: %ld", modes);
  snprintf(y, sizeof y,
           "model: {type: plrf, a: 3.5, b: 5, N: %ld, sigma2: 0.25, split: false, "
           "dynamics: matched%s}\n"
           "budget: {steps: %.0f}\n"
           "controls: {lr: {type: wsd, peak: %.17g, decay_frac: 0.2, shape: linear}, batch: 5%s}\n",
           N, mm, T, peak, mom);
  c->p = NULL;
  OK(schedopt_problem_alloc(&c->p, &err));
  OK(schedopt_problem_load_string(c->p, y, strlen(y), "bench", &err));
  OK(schedopt_problem_build(c->p, &err));
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(c->p, &rtol, &atol, &max_steps);
  c->it = NULL;
  OK(schedopt_integrator_alloc(&c->it, schedopt_integrator_cvodes, schedopt_problem_model(c->p),
                               &err));
  OK(schedopt_integrator_set_tolerances(c->it, rtol, atol, &err));
  OK(schedopt_integrator_set_max_steps(c->it, max_steps, &err));
  const schedopt_schedule *base = schedopt_problem_schedule(c->p);
  c->d = NULL;
  OK(schedopt_design_alloc(&c->d, base, &err));
  schedopt_channel_param cp;
  schedopt_channel_param_default(&cp);
  cp.type = schedopt_parametrization_freeform;
  cp.knots = K;
  cp.hi = 1.0;
  OK(schedopt_design_set_channel(c->d, SCHEDOPT_LR, &cp, &err));
  if (mu > 0) {
    cp.hi = 0.99;
    OK(schedopt_design_set_channel(c->d, SCHEDOPT_MOMENTUM, &cp, &err));
  }
  size_t n = schedopt_design_size(c->d);
  c->x = malloc(n * sizeof *c->x);
  c->g = malloc(n * sizeof *c->g);
  c->h = malloc(n * sizeof *c->h);
  OK(schedopt_design_project(c->d, base, c->x, &err));
}

static void teardown(bcase *c) {
  free(c->x);
  free(c->g);
  free(c->h);
  schedopt_design_free(c->d);
  schedopt_integrator_free(c->it);
  schedopt_problem_free(c->p);
}

/* CPU seconds per call (grad: 0 forward, 1 gradient, 2 gradient and
 * curvature), repeated until ≥ 0.3 s. */
static double timed(bcase *c, const schedopt_objective *obj, int grad) {
  long reps = 0;
  double t0 = bench_cpu(), t;
  do {
    if (grad == 2)
      OK(schedopt_design_eval_hdiag(c->d, c->it, obj, c->x, &c->J, c->g, c->h, &err));
    else
      OK(schedopt_design_eval(c->d, c->it, obj, c->x, &c->J, grad ? c->g : NULL, &err));
    reps++;
    t = bench_cpu() - t0;
  } while (t < 0.3);
  return t / (double)reps;
}

int main(int argc, char **argv) {
  const double T = argc > 1 ? atof(argv[1]) : 1e4;
  const double mu = argc > 2 ? atof(argv[2]) : 0.9;
  const size_t K = argc > 3 ? (size_t)atol(argv[3]) : 48;
  const long N = argc > 4 ? atol(argv[4]) : 1000;
  const double peak = argc > 5 ? atof(argv[5]) : 1.0;
  const long modes = argc > 6 ? atol(argv[6]) : 0;
  if (!(T >= 10) || !(mu > 0 && mu < 1) || K < 4 || N < 1 || !(peak > 0) || modes < 0) {
    fprintf(stderr,
            "bench_momentum: T >= 10, 0 < mu < 1, K >= 4, N >= 1, peak > 0, modes >= 0\n");
    return 2;
  }
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  bcase s, m;
  setup(&s, T, N, peak, 0.0, K, 0);
  setup(&m, T, N, peak * (1.0 - mu), mu, K, modes);
  printf("bench_momentum: hard phase a=3.5 b=5 N=%ld, T=%.0f, free-form %zu knots per channel, "
         "matched ODE (cvodes), CPU per call\n", N, T, K);
  double tf[2] = {0, 0}, tg[2] = {0, 0}, th[2] = {0, 0};
  for (int rep = 0; rep < 2; rep++) /* interleaved A/B */
    for (int w = 0; w < 2; w++) {
      bcase *c = w ? &m : &s;
      double f = timed(c, &obj, 0), g = timed(c, &obj, 1), h = timed(c, &obj, 2);
      if (!rep || f < tf[w]) tf[w] = f;
      if (!rep || g < tg[w]) tg[w] = g;
      if (!rep || h < th[w]) th[w] = h;
    }
  for (int w = 0; w < 2; w++) {
    bcase *c = w ? &m : &s;
    schedopt_integrator_stats a, b;
    schedopt_integrator_get_stats(c->it, &a);
    OK(schedopt_design_eval(c->d, c->it, &obj, c->x, &c->J, NULL, &err));
    schedopt_integrator_get_stats(c->it, &b);
    schedopt_integrator_stats g0, g1;
    schedopt_integrator_get_stats(c->it, &g0);
    OK(schedopt_design_eval(c->d, c->it, &obj, c->x, &c->J, c->g, &err));
    schedopt_integrator_get_stats(c->it, &g1);
    printf("  %-22s L_T = %.10f  forward %8.2f ms  gradient %8.2f ms  with curvature %8.2f ms"
           "  | one forward: %ld steps, %ld rhs, %ld err-test fails, %ld restarts;"
           " the gradient's backward pass: %ld steps\n",
           w ? "momentum" : "sgd", c->J, 1e3 * tf[w], 1e3 * tg[w], 1e3 * th[w], b.steps - a.steps,
           b.rhs_evals - a.rhs_evals, b.err_fails - a.err_fails, b.restarts - a.restarts,
           g1.adjoint_steps - g0.adjoint_steps);
  }
  printf("  (momentum: mu = %g, peak lr %g; sgd: peak lr %g)\n", mu, peak * (1.0 - mu), peak);
  printf("  ratio momentum/sgd: forward %.2fx, gradient %.2fx, with curvature %.2fx\n",
         tf[1] / tf[0], tg[1] / tg[0], th[1] / th[0]);
  printf("  curvature / gradient: sgd %.2fx, momentum %.2fx\n", th[0] / tg[0], th[1] / tg[1]);
  teardown(&s);
  teardown(&m);
  return 0;
}
