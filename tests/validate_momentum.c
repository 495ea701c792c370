/* Momentum in the hard phase (ctest -L validation; docs/validation.md).
 *
 * Bordelon–Mori setting (N = 1000, a = 3.5, b = 5, σ² = 0.25, batch 5,
 * η ≤ 1), matched ODE.  At each horizon: the SGD optimum (free-form lr) and
 * the joint optimum of free-form lr and heavy-ball momentum μ ≤ 0.99 (the
 * momentum dynamics: controls.momentum present).  Model notes §6: in the hard
 * phase an optimal momentum schedule beats SGD's optimum; the check is at
 * T = 10⁵.  Both optimizations start from the better of the tuned constant
 * and the tuned WSD (every decay shape), tuned at μ = 0.5 in the momentum
 * case at μ₀ (the second argument): started at μ₀ = 0 (its bound) LD_LBFGS
 * stopped after 20 evaluations at T = 10⁵ without moving μ off zero.  The
 * joint optimization is now the best of three starts (that one, the tuned
 * momentum family and a continuation in the momentum cap; optimize.h,
 * schedopt_optimize_spec.cont): problems/papers/bm_fig5_momentum.yaml and
 * docs/validation.md, "Momentum", report each start.
 *
 *   validate_momentum [knots (48)] [mu0 (0.5)]      (OMP_NUM_THREADS threads) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "schedopt/sweep.h"
#include "testutil.h"

#define NT 3
static const double horizons[NT] = {1000, 10000, 100000};

typedef struct job {
  double T, mu0;
  int momentum;
  size_t knots;
  test_opt_run r;
  double mu_max, mu_mean, eff_max;
} job;

static void run(job *j) {
  char y[1024], mu[48];
  snprintf(mu, sizeof mu, ", momentum: %g", j->mu0);
  snprintf(y, sizeof y,
           "name: validate_momentum\n"
           "model: {type: plrf, a: 3.5, b: 5, N: 1000, sigma2: 0.25, split: false, "
           "dynamics: matched}\n"
           "budget: {steps: %.0f}\n"
           "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2, shape: linear}, batch: 5%s}\n"
           "optimize:\n"
           "  controls:\n"
           "    lr: {param: freeform, knots: %zu, max: 1.0}\n"
           "%s"
           "  baselines: [constant, wsd]\n",
           j->T, j->momentum ? mu : "", j->knots,
           j->momentum ? "    momentum: {param: freeform, knots: 48, max: 0.99}\n" : "");
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  test_optimize_run(y, "validate_momentum", &j->r, &p, &o);
  if (j->r.ok) {
    const schedopt_schedule *s = schedopt_optimization_schedule(o);
    double sum = 0;
    const int M = 2000;
    for (int i = 0; i < M; i++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, j->T * i / M, &u);
      j->mu_max = fmax(j->mu_max, u.momentum);
      j->eff_max = fmax(j->eff_max, u.lr / (1 - u.momentum));
      sum += u.momentum;
    }
    j->mu_mean = sum / M;
  }
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
}

int main(int argc, char **argv) {
  const size_t K = argc > 1 ? (size_t)atol(argv[1]) : 48;
  const double mu0 = argc > 2 ? atof(argv[2]) : 0.5;
  job jobs[2 * NT];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < NT; i++) {
    jobs[2 * i] = (job){.T = horizons[i], .momentum = 0, .knots = K};
    jobs[2 * i + 1] = (job){.T = horizons[i], .mu0 = mu0, .momentum = 1, .knots = K};
  }
  const double t0 = test_seconds();
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 2 * NT - 1; k >= 0; k--) run(&jobs[k]);
  printf("validate_momentum: hard phase N=1000 a=3.5 b=5 sigma2=0.25 batch 5 eta<=1, matched "
         "ODE, free-form lr (%zu knots) and momentum (48 knots, mu <= 0.99, baselines at mu = %g); "
         "%.0f s\n\n",
         K, mu0, test_seconds() - t0);
  for (int k = 0; k < 2 * NT; k++)
    if (!jobs[k].r.ok) {
      fprintf(stderr, "T=%g momentum=%d failed: %s\n", jobs[k].T, jobs[k].momentum,
              jobs[k].r.msg);
      return 1;
    }
  printf("  %8s %14s %14s %8s %9s %9s %12s\n", "T", "SGD opt excess", "lr+mu excess", "ratio",
         "max mu", "mean mu", "max eta/(1-mu)");
  double x[NT], ys[NT], ym[NT];
  for (int i = 0; i < NT; i++) {
    const job *s = &jobs[2 * i], *m = &jobs[2 * i + 1];
    x[i] = s->T;
    ys[i] = s->r.J - s->r.sigma2;
    ym[i] = m->r.J - m->r.sigma2;
    printf("  %8.0f %14.6e %14.6e %8.4f %9.4f %9.4f %12.4g   (%ld / %ld evals, %s / %s)\n", s->T,
           ys[i], ym[i], ys[i] / ym[i], m->mu_max, m->mu_mean, m->eff_max, s->r.evals,
           m->r.evals, s->r.code, m->r.code);
  }
  printf("  slopes: SGD optimum %.4f, lr+momentum optimum %.4f (SGD theory (a-1)/b = 0.5)\n",
         schedopt_loglog_slope(x, ys, NT, NULL, NULL), schedopt_loglog_slope(x, ym, NT, NULL, NULL));
  CHECK_MSG(ym[NT - 1] < ys[NT - 1], "T = 1e5: momentum optimum %.6e does not beat SGD %.6e",
            ym[NT - 1], ys[NT - 1]);
  return test_finish();
}
