/* Momentum under CVODES (issue 14): a diverging schedule stops the adjoint's
 * recorded forward pass where the loss passes 1e6 × its initial value, as the
 * plain forward's root finding does, rather than integrating on until the
 * state overflows (heavy ball μ = 0.99 at lr 1 diverges near step 49; before,
 * the gradient ran to step 2445 and a loss of 1.8e308, minutes of CPU for one
 * optimizer probe past the stability edge). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;

/* "… (clock X) …" of a divergence message; NAN if absent. */
static double msg_clock(const char *msg) {
  const char *c = strstr(msg, "(clock ");
  return c ? atof(c + 7) : NAN;
}

/* "loss X exceeds" of a divergence message; NAN if absent. */
static double msg_loss(const char *msg) {
  const char *c = strstr(msg, ": loss ");
  return c ? atof(c + 7) : NAN;
}

/* A built problem from a YAML string and a cvodes integrator for its model. */
static schedopt_problem *load(const char *y, schedopt_integrator **it) {
  schedopt_problem *p = NULL;
  OK(schedopt_problem_alloc(&p, &err));
  OK(schedopt_problem_load_string(p, y, strlen(y), "test", &err));
  OK(schedopt_problem_build(p, &err));
  *it = NULL;
  OK(schedopt_integrator_alloc(it, schedopt_integrator_cvodes, schedopt_problem_model(p), &err));
  return p;
}

static void divergence_stop(const char *lr, double mu, const char *what) {
  char y[512];
  snprintf(y, sizeof y,
           "model: {type: plrf, a: 3.5, b: 5, N: 1000, sigma2: 0.25, split: false, "
           "dynamics: matched}\n"
           "budget: {steps: 10000}\n"
           "controls: {lr: %s, batch: 5, momentum: %g}\n",
           lr, mu);
  schedopt_integrator *it;
  schedopt_problem *p = load(y, &it);
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  double J = 0.0;
  /* the plain forward: root finding on L = 1e6 L(0) */
  schedopt_status st = schedopt_integrator_objective(it, s, &obj, &J, &err);
  CHECK_MSG(st == SCHEDOPT_EDIVERGE, "%s forward: status %d: %s", what, (int)st, err.msg);
  const double t_root = msg_clock(err.msg);
  /* the gradient: its recorded forward has no roots */
  const size_t np = schedopt_control_nparams(schedopt_schedule_get(s, SCHEDOPT_LR));
  double *g = malloc((np ? np : 1) * sizeof *g);
  double *grad[SCHEDOPT_NCHANNELS] = {NULL};
  grad[SCHEDOPT_LR] = g;
  st = schedopt_integrator_gradient(it, s, &obj, &J, grad, &err);
  CHECK_MSG(st == SCHEDOPT_EDIVERGE, "%s gradient: status %d: %s", what, (int)st, err.msg);
  const double t_grad = msg_clock(err.msg), loss = msg_loss(err.msg);
  printf("%s: forward stops at clock %g, gradient at clock %g (loss %g)\n", what, t_root, t_grad,
         loss);
  /* the same crossing, to within a step or two of the adaptive grid */
  CHECK_MSG(fabs(t_grad - t_root) <= 0.05 * t_root + 2.0, "%s: clock %g vs the root's %g", what,
            t_grad, t_root);
  /* stopped at the limit: a loss of order 1e6 L(0), not an overflow */
  CHECK_MSG(loss >= 1e6 * 1.3 && loss <= 1e8, "%s: loss %g at the stop", what, loss);
  free(g);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
}

/* J (final loss, or mean over the run) of a problem string's schedule. */
static double problem_J(const char *y, int mean, size_t *n, double rtol) {
  schedopt_integrator *it;
  schedopt_problem *p = load(y, &it);
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  *n = schedopt_model_size(schedopt_problem_model(p));
  OK(schedopt_integrator_set_tolerances(it, rtol, rtol * 1e-4, &err));
  const double H = schedopt_schedule_horizon(s);
  schedopt_objective obj = {mean ? SCHEDOPT_OBJ_MEAN : SCHEDOPT_OBJ_FINAL, 0, H, 0, NULL, NULL};
  double J = NAN;
  OK(schedopt_integrator_objective(it, s, &obj, &J, &err));
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  return J;
}

/* The ODE's overdamped modes with (v, x) slaved to a (model.momentum_modes:
 * auto) against every mode's full triple, at a tolerance far below the
 * difference: the hard phase's N = 1000 modes keep 85 triples, and the final
 * and mean excess agree to 1e-7 of the excess from μ = 0.5 to 0.99 and up
 * to the stability edge of the top mode, through jumps of μ and η, under the
 * sde form, with the bias/variance copies and a batch ramp. */
static void reduced_vs_full_in(const char *lr, const char *mu, double T, const char *batch,
                               int split, const char *dyn) {
  static const char *const mm[2] = {"auto", "1000000"};
  double J[2][2];
  size_t n[2];
  for (int r = 0; r < 2; r++)
    for (int mean = 0; mean < 2; mean++) {
      char y[768];
      snprintf(y, sizeof y,
               "model: {type: plrf, a: 3.5, b: 5, N: 1000, sigma2: 0.25, split: %s, "
               "dynamics: %s, momentum_modes: %s}\n"
               "budget: {steps: %.0f}\n"
               "controls: {lr: %s, batch: %s, momentum: %s}\n",
               split ? "true" : "false", dyn, mm[r], T, lr, batch, mu);
      J[r][mean] = problem_J(y, mean, &n[r], 1e-10);
    }
  const size_t c = split ? 2 : 1;
  CHECK_MSG(n[0] == c * (3 * 85 + 915) && n[1] == c * 3000, "states %zu and %zu", n[0], n[1]);
  const double R = 0.25 + schedopt_powerlaw_tail(1000, 3.5); /* L − excess */
  for (int mean = 0; mean < 2; mean++) {
    const double e = fabs(J[0][mean] - J[1][mean]) / (J[1][mean] - R);
    printf("lr %s, momentum %s, batch %s%s, %s, T = %g: %s excess reduced %.12g, full %.12g "
           "(%.1e relative)\n", lr, mu, batch, split ? ", split" : "", dyn, T,
           mean ? "mean" : "final", J[0][mean] - R, J[1][mean] - R, e);
    CHECK_MSG(e < 1e-7, "lr %s, momentum %s: %.2e of the excess", lr, mu, e);
  }
}

static void reduced_vs_full(const char *lr, const char *mu, double T) {
  reduced_vs_full_in(lr, mu, T, "5", 0, "matched");
}

int main(void) {
  /* μ jumps 0.5 → 0.99 at a third of the run, η halves at two thirds */
  reduced_vs_full("{type: table, t: [0, 6667, 10000], v: [0.04, 0.02, 0.02], interp: step}",
                  "{type: table, t: [0, 3333, 10000], v: [0.5, 0.99, 0.99], interp: step}", 1e4);
  reduced_vs_full_in("{type: wsd, peak: 0.05, decay_frac: 0.2}", "0.95", 1e4,
                     "{type: linear, start: 2, end: 20}", 1, "sde");
  reduced_vs_full("{type: wsd, peak: 0.25, decay_frac: 0.2}", "0.5", 1e4);
  reduced_vs_full("{type: wsd, peak: 0.1, decay_frac: 0.2}", "0.9", 1e4);
  reduced_vs_full("{type: wsd, peak: 0.01, decay_frac: 0.2}", "0.99", 1e4);
  reduced_vs_full("{type: wsd, peak: 0.01, decay_frac: 0.2}", "0.99", 1e6);
  reduced_vs_full("{type: wsd, peak: 0.4, decay_frac: 0.2}", "0.9", 1e4);
  reduced_vs_full("{type: wsd, peak: 0.045, decay_frac: 0.2}", "0.99", 1e4);
  reduced_vs_full("{type: cosine, peak: 0.02}", "{type: linear, start: 0.5, end: 0.99}", 1e5);
  divergence_stop("1.0", 0.99, "constant lr 1, mu 0.99");
  divergence_stop("{type: wsd, peak: 0.3, decay_frac: 0.2}", 0.95, "wsd peak 0.3, mu 0.95");
  return test_finish();
}
