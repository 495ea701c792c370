/* Scaling exponents and shapes of the optimal learning-rate schedule
 * (ctest -L validation; results in docs/validation.md).
 *
 * Bordelon–Mori Fig. 2 setting: PLRF N = 1000, a = 3.5, σ² = 0.25, batch 5,
 * η ≤ 1, hard phase b = 5 and easy phase b = 2, horizons T = 10³ … 10⁵ (5,
 * log-spaced), matched ODE (cvodes, adjoint gradients), LD_LBFGS on a
 * free-form schedule (non-increasing in the easy phase).  For every case the
 * optimum and the tuned constant; least-squares slopes of log(L_T − σ²) on
 * log T against model notes §6:
 *   optimal  ≥ 0.47 (hard; theory (a−1)/b = 1/2), ≥ 0.68 (easy; (a−1)/a = 5/7)
 *   constant within 0.04 of (a−1)/(a+b−1) = 1/3 (hard), 5/9 (easy)
 * Shapes: the hard optimum within 5 % of η_max for ≥ 70 % of the steps at
 * T = 10⁵, anneal fraction shrinking with T; the easy optimum decays toward
 * zero — level exponent of η*(T/2) against b/a − 1, local decay exponent.
 * Convergence: the T = 10⁵ cases again with twice the knots.
 *
 *   validate_sweep [knots (64)]      (OMP_NUM_THREADS threads) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "schedopt/schedopt.h"
#include "schedopt/sweep.h"
#include "testutil.h"

#define NT 5
static const double horizons[NT] = {1000, 3162, 10000, 31623, 100000};
#define NS 201 /* schedule samples kept per case (t/T = 0 … 1) */

typedef struct job {
  double b, T;
  size_t knots;
  /* results */
  int ok;
  char msg[SCHEDOPT_ERRMSG_LEN];
  double J, Jc, sigma2, seconds;
  long evals;
  char code[32];
  double frac_cap, anneal_frac; /* hard-phase shape */
  double eta[NS];               /* η*(i T/(NS−1)) */
} job;

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run(job *j) {
  char y[1024];
  const int easy = j->b < 3.5;
  snprintf(y, sizeof y,
           "name: validate_sweep\n"
           "model: {type: plrf, a: 3.5, b: %g, N: 1000, sigma2: 0.25, split: false, "
           "dynamics: matched}\n"
           "budget: {steps: %.0f}\n"
           "controls: {lr: %s, batch: 5}\n"
           "optimize:\n"
           "  controls: {lr: {param: freeform, knots: %zu, max: 1.0%s}}\n"
           "  baselines: [constant]\n",
           j->b, j->T,
           easy ? "{type: polynomial, peak: 1.0, delta: 2}"
                : "{type: wsd, peak: 1.0, decay_frac: 0.2, shape: linear}",
           j->knots, easy ? ", monotone: true" : "");
  schedopt_error e = {0};
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  schedopt_optimize_spec *spec = malloc(sizeof *spec);
  const double t0 = wall();
  j->ok = spec && !schedopt_problem_alloc(&p, &e) &&
          !schedopt_problem_load_string(p, y, strlen(y), "validate_sweep", &e) &&
          !schedopt_problem_build(p, &e) && !schedopt_problem_optimize_spec(p, spec, &e) &&
          !schedopt_optimization_run(&o, p, spec, &e);
  j->seconds = wall() - t0;
  if (!j->ok) {
    snprintf(j->msg, sizeof j->msg, "%s", e.msg);
  } else {
    const schedopt_opt_result *r = schedopt_optimization_result(o);
    j->J = r->J;
    j->evals = r->evals;
    snprintf(j->code, sizeof j->code, "%s", r->code_name);
    j->sigma2 = schedopt_problem_sigma2(p);
    j->Jc = NAN;
    for (size_t i = 0; i < schedopt_optimization_nbaselines(o); i++) {
      const schedopt_baseline *b = schedopt_optimization_baseline(o, i, NULL, NULL);
      if (!strcmp(b->type->name, "constant")) j->Jc = b->J;
    }
    const schedopt_schedule *s = schedopt_optimization_schedule(o);
    const long T = (long)j->T;
    long near = 0, last = -1;
    for (long k = 0; k < T; k++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, (double)k, &u);
      if (u.lr >= 0.95) {
        near++;
        last = k;
      }
    }
    j->frac_cap = (double)near / (double)T;
    j->anneal_frac = (double)(T - 1 - last) / (double)T;
    for (int i = 0; i < NS; i++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, j->T * i / (NS - 1), &u);
      j->eta[i] = u.lr;
    }
  }
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  free(spec);
}

int main(int argc, char **argv) {
  const size_t K = argc > 1 ? (size_t)atol(argv[1]) : 64;
  const double bs[2] = {5, 2};
  enum { NJ = 2 * NT + 2 };
  job *jobs = calloc(NJ, sizeof *jobs);
  for (int ph = 0; ph < 2; ph++)
    for (int i = 0; i < NT; i++) jobs[ph * NT + i] = (job){.b = bs[ph], .T = horizons[i], .knots = K};
  jobs[2 * NT] = (job){.b = 5, .T = horizons[NT - 1], .knots = 2 * K};
  jobs[2 * NT + 1] = (job){.b = 2, .T = horizons[NT - 1], .knots = 2 * K};
  const double t0 = wall();
  /* the largest first: better load balance */
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 0; k < NJ; k++) {
    static const int order[NJ] = {10, 11, 4, 9, 3, 8, 2, 7, 1, 6, 0, 5};
    run(&jobs[order[k]]);
  }
  const double total = wall() - t0;
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  for (int k = 0; k < NJ; k++)
    if (!jobs[k].ok) {
      fprintf(stderr, "case b=%g T=%g failed: %s\n", jobs[k].b, jobs[k].T, jobs[k].msg);
      return 1;
    }

  printf("validate_sweep: N=1000 a=3.5 sigma2=0.25 batch 5 eta<=1, matched ODE, free-form "
         "%zu knots, LD_LBFGS; %.0f s on %d threads\n\n",
         K, total, threads);
  const char *names[2] = {"hard (b=5)", "easy (b=2)"};
  double zeta_opt[2], zeta_c[2];
  for (int ph = 0; ph < 2; ph++) {
    double x[NT], yo[NT], yc[NT];
    printf("%s\n  %8s %12s %12s %8s %6s %s\n", names[ph], "T", "opt excess", "const excess",
           "ratio", "evals", "optimizer");
    for (int i = 0; i < NT; i++) {
      const job *j = &jobs[ph * NT + i];
      x[i] = j->T;
      yo[i] = j->J - j->sigma2;
      yc[i] = j->Jc - j->sigma2;
      printf("  %8.0f %12.5e %12.5e %8.3f %6ld %s (%.0f s)\n", j->T, yo[i], yc[i], yc[i] / yo[i],
             j->evals, j->code, j->seconds);
    }
    zeta_opt[ph] = schedopt_loglog_slope(x, yo, NT, NULL, NULL);
    zeta_c[ph] = schedopt_loglog_slope(x, yc, NT, NULL, NULL);
    /* local slopes between neighbours */
    printf("  local slopes (optimum):");
    for (int i = 0; i + 1 < NT; i++)
      printf(" %.3f", -log(yo[i + 1] / yo[i]) / log(x[i + 1] / x[i]));
    printf("\n  local slopes (constant):");
    for (int i = 0; i + 1 < NT; i++)
      printf(" %.3f", -log(yc[i + 1] / yc[i]) / log(x[i + 1] / x[i]));
    printf("\n");
  }
  const double th_opt[2] = {2.5 / 5, 2.5 / 3.5}, th_c[2] = {2.5 / 7.5, 2.5 / 4.5};
  const double min_opt[2] = {0.47, 0.68};
  printf("\nslopes of L_T - sigma^2 (least squares over T = 1e3 ... 1e5):\n");
  printf("  %-11s %10s %8s %8s  %10s %8s %8s\n", "phase", "optimum", "theory", "target",
         "constant", "theory", "target");
  for (int ph = 0; ph < 2; ph++)
    printf("  %-11s %10.4f %8.4f %8s  %10.4f %8.4f %8s\n", names[ph], zeta_opt[ph], th_opt[ph],
           ph ? ">= 0.68" : ">= 0.47", zeta_c[ph], th_c[ph], "+-0.04");
  for (int ph = 0; ph < 2; ph++) {
    CHECK_MSG(zeta_opt[ph] >= min_opt[ph], "%s: optimal slope %.4f < %.2f", names[ph],
              zeta_opt[ph], min_opt[ph]);
    CHECK_MSG(fabs(zeta_c[ph] - th_c[ph]) <= 0.04, "%s: constant slope %.4f not within 0.04 of "
              "%.4f", names[ph], zeta_c[ph], th_c[ph]);
  }

  printf("\nconvergence in the knots (T = 1e5):\n");
  for (int ph = 0; ph < 2; ph++) {
    const job *a = &jobs[ph * NT + NT - 1], *b = &jobs[2 * NT + ph];
    double ea = a->J - a->sigma2, eb = b->J - b->sigma2;
    printf("  %s: %zu knots %.6e, %zu knots %.6e: relative change of the excess %.2e\n",
           names[ph], a->knots, ea, b->knots, eb, (ea - eb) / eb);
  }

  printf("\nhard-phase shape: steps within 5 %% of eta_max, anneal fraction (steps after the "
         "last one within 5 %%):\n");
  for (int i = 0; i < NT; i++) {
    const job *j = &jobs[i];
    printf("  T = %6.0f: %.1f %% at the cap, anneal fraction %.4f\n", j->T, 100 * j->frac_cap,
           j->anneal_frac);
  }
  const job *h5 = &jobs[NT - 1];
  CHECK_MSG(h5->frac_cap >= 0.70, "T = 1e5: only %.1f %% of steps at the cap", 100 * h5->frac_cap);
  CHECK_MSG(jobs[NT - 1].anneal_frac < jobs[0].anneal_frac &&
                jobs[NT - 2].anneal_frac < jobs[1].anneal_frac,
            "the anneal fraction does not shrink with T");

  /* easy phase: eta*(t) ≈ T^(b/a − 1) f(t/T) */
  printf("\neasy-phase shape: eta*(t) ~ T^(b/a-1) f(t/T), b/a - 1 = %.4f\n", 2 / 3.5 - 1);
  const int probes[4] = {20, 50, 100, 150}; /* t/T = 0.1, 0.25, 0.5, 0.75 */
  printf("  %8s", "T");
  for (int q = 0; q < 4; q++) printf("  eta(%.2fT)", (double)probes[q] / (NS - 1));
  printf("  eta(0.99T)  decay exponent on [0.05T, 0.5T]\n");
  double lev[4][NT], xT[NT];
  for (int i = 0; i < NT; i++) {
    const job *j = &jobs[NT + i];
    xT[i] = j->T;
    printf("  %8.0f", j->T);
    for (int q = 0; q < 4; q++) {
      lev[q][i] = j->eta[probes[q]];
      printf("  %10.4g", lev[q][i]);
    }
    /* local polynomial decay: slope of log eta on log t over t/T in [0.05, 0.5] */
    double lt[NS], le[NS];
    size_t m = 0;
    for (int s = 10; s <= 100; s++) {
      lt[m] = j->T * s / (NS - 1);
      le[m++] = j->eta[s];
    }
    printf("  %10.4g  %.3f\n", j->eta[NS - 3], schedopt_loglog_slope(lt, le, m, NULL, NULL));
  }
  printf("  level exponents d log eta(cT) / d log T:");
  double lvl_mid = 0;
  for (int q = 0; q < 4; q++) {
    double z = -schedopt_loglog_slope(xT, lev[q], NT, NULL, NULL);
    if (q == 2) lvl_mid = z;
    printf(" %.3f (c=%.2f)", z, (double)probes[q] / (NS - 1));
  }
  printf("  theory %.3f\n", 2 / 3.5 - 1);
  const job *e5 = &jobs[2 * NT - 1];
  double emax = 0;
  for (int s = 0; s < NS; s++) emax = fmax(emax, e5->eta[s]);
  CHECK_MSG(e5->eta[NS - 3] <= 0.05 * emax, "T = 1e5: eta(0.99 T) = %.3g not near zero",
            e5->eta[NS - 3]);
  CHECK_MSG(lvl_mid < 0, "eta*(T/2) does not shrink with T (exponent %.3f)", lvl_mid);
  free(jobs);
  return test_finish();
}
