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

static void divergence_stop(const char *lr, double mu, const char *what) {
  char y[512];
  snprintf(y, sizeof y,
           "model: {type: plrf, a: 3.5, b: 5, N: 1000, sigma2: 0.25, split: false, "
           "dynamics: matched}\n"
           "budget: {steps: 10000}\n"
           "controls: {lr: %s, batch: 5, momentum: %g}\n",
           lr, mu);
  schedopt_problem *p = NULL;
  OK(schedopt_problem_alloc(&p, &err));
  OK(schedopt_problem_load_string(p, y, strlen(y), "test", &err));
  OK(schedopt_problem_build(p, &err));
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, schedopt_problem_model(p), &err));
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

int main(void) {
  divergence_stop("1.0", 0.99, "constant lr 1, mu 0.99");
  divergence_stop("{type: wsd, peak: 0.3, decay_frac: 0.2}", 0.95, "wsd peak 0.3, mu 0.95");
  return test_finish();
}
