/* Scaling exponents and shapes of the optimal learning-rate schedule
 * (ctest -L validation; results in docs/validation.md).
 *
 * Bordelon–Mori Fig. 2 setting: PLRF N = 1000, a = 3.5, σ² = 0.25, batch 5,
 * η ≤ 1, hard phase b = 5 and easy phase b = 2, horizons T = 10³ … 10⁵ (5,
 * log-spaced) for the slopes, and 3.16·10⁵, 10⁶ for the shapes; matched ODE
 * (cvodes, adjoint gradients), LD_LBFGS on a free-form schedule
 * (non-increasing in the easy phase) started from the best of the problem's
 * schedule, the tuned constant and the tuned WSD (every decay shape).  For
 * every case the optimum and the tuned constant; least-squares slopes of
 * log(L_T − σ²) on log T over 10³ … 10⁵ against docs/theory.md §3:
 *   optimal  ≥ 0.47 (hard; theory (a−1)/b = 1/2), ≥ 0.68 (easy; (a−1)/a = 5/7)
 *   constant within 0.04 of (a−1)/(a+b−1) = 1/3 (hard), 5/9 (easy)
 * Hard-phase shape: within 5 % of η_max for ≥ 70 % of the steps at T = 10⁵,
 * and an anneal fraction that shrinks as T grows, measured three ways (steps
 * after the last one within 5 % of η_max, after the last one above η_max/2,
 * and the lost area 1 − ∫η/(η_max T)), with the tuned WSD's decay fraction
 * beside them.  A balance argument gives the rate: bias (η_max(T − cS))^−(a−1)/b
 * against the variance left by an anneal of S steps, ∝ S^−(1−1/b) (modes with
 * λS > 1 annealed, each leaving ~1/S; the rest at η_max λ), is optimal at
 * S ∝ T^((a+b−1)/(2b−1)), i.e. S/T ∝ T^((a−b)/(2b−1)) = T^−1/6 here.
 * Easy-phase shape (Bordelon–Mori: η*(t) ≃ T^−ξ (1 − t/T)^δ): the level
 * exponent of η*(cT) against T (−ξ, docs/theory.md §3: b/a − 1), the exponent δ
 * from log η* on log(1 − t/T) over t/T ∈ [0.3, 0.9], and η*(0.99 T) ≈ 0.
 * Convergence: the T = 10⁵ cases again with twice the knots, and the hard
 * case with N = 4000.
 *
 *   validate_sweep [knots (64)]      (OMP_NUM_THREADS threads) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "schedopt/schedopt.h"
#include "schedopt/sweep.h"
#include "testutil.h"

#define NT 5 /* horizons of the slopes; then 2 more for the shapes */
#define NX 7
static const double horizons[NX] = {1000, 3162, 10000, 31623, 100000, 316228, 1000000};
#define NS 201 /* schedule samples kept per case (t/T = 0 … 1) */

typedef struct job {
  double b, T;
  size_t knots;
  long N;
  /* results */
  test_opt_run r;
  double Jc;
  double frac_cap, anneal_frac; /* hard-phase shape: at the cap; after the last ≥ 0.95 */
  double half_frac, area_frac;  /* after the last ≥ 0.5 η_max; 1 − ∫η/(η_max T) */
  double wsd_frac;              /* decay fraction of the tuned WSD */
  char wsd_label[48];
  double eta[NS];               /* η*(i T/(NS−1)) */
} job;

static void run(job *j) {
  char y[1024];
  const int easy = j->b < 3.5;
  snprintf(y, sizeof y,
           "name: validate_sweep\n"
           "model: {type: plrf, a: 3.5, b: %g, N: %ld, sigma2: 0.25, split: false, "
           "dynamics: matched}\n"
           "budget: {steps: %.0f}\n"
           "controls: {lr: %s, batch: 5}\n"
           "optimize:\n"
           "  controls: {lr: {param: freeform, knots: %zu, max: 1.0%s}}\n"
           "  baselines: [constant, wsd]\n",
           j->b, j->N, j->T,
           easy ? "{type: polynomial, peak: 1.0, delta: 2}"
                : "{type: wsd, peak: 1.0, decay_frac: 0.2, shape: linear}",
           j->knots, easy ? ", monotone: true" : "");
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  test_optimize_run(y, "validate_sweep", &j->r, &p, &o);
  if (j->r.ok) {
    j->Jc = NAN;
    j->wsd_frac = NAN;
    for (size_t i = 0; i < schedopt_optimization_nbaselines(o); i++) {
      const schedopt_baseline *b = schedopt_optimization_baseline(o, i, NULL, NULL);
      if (!strcmp(b->type->name, "constant")) j->Jc = b->J;
      if (!strcmp(b->type->name, "wsd")) {
        snprintf(j->wsd_label, sizeof j->wsd_label, "%s", b->label);
        for (size_t k = 0; k < b->np; k++)
          if (!strcmp(b->pname[k], "decay_frac")) j->wsd_frac = b->pval[k];
      }
    }
    const schedopt_schedule *s = schedopt_optimization_schedule(o);
    /* shape measures on a grid of at most 10⁵ points (every step up to 10⁵) */
    const long M = j->T < 1e5 ? (long)j->T : 100000;
    const double dt = j->T / (double)M;
    long near = 0, last95 = -1, last50 = -1;
    double area = 0, emax = 0;
    for (long k = 0; k < M; k++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, (double)k * dt, &u);
      emax = fmax(emax, u.lr);
      area += u.lr;
      if (u.lr >= 0.95) {
        near++;
        last95 = k;
      }
      if (u.lr >= 0.5) last50 = k;
    }
    j->frac_cap = (double)near / (double)M;
    j->anneal_frac = (double)(M - 1 - last95) / (double)M;
    j->half_frac = (double)(M - 1 - last50) / (double)M;
    j->area_frac = 1 - area / ((double)M * fmax(emax, 1e-300));
    for (int i = 0; i < NS; i++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, j->T * i / (NS - 1), &u);
      j->eta[i] = u.lr;
    }
  }
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
}

int main(int argc, char **argv) {
  const size_t K = argc > 1 ? (size_t)atol(argv[1]) : 64;
  const double bs[2] = {5, 2};
  /* jobs[ph·NX + i]: phase ph, horizon i; then hard and easy with 2K knots and
   * hard with N = 4000, at T = 10⁵ */
  enum { NJ = 2 * NX + 3 };
  job *jobs = calloc(NJ, sizeof *jobs);
  for (int ph = 0; ph < 2; ph++)
    for (int i = 0; i < NX; i++)
      jobs[ph * NX + i] = (job){.b = bs[ph], .T = horizons[i], .knots = K, .N = 1000};
  jobs[2 * NX] = (job){.b = 5, .T = horizons[NT - 1], .knots = 2 * K, .N = 1000};
  jobs[2 * NX + 1] = (job){.b = 2, .T = horizons[NT - 1], .knots = 2 * K, .N = 1000};
  jobs[2 * NX + 2] = (job){.b = 5, .T = horizons[NT - 1], .knots = K, .N = 4000};
  /* the largest first (cost ~ N·K·log T): better load balance */
  int order[NJ];
  for (int k = 0; k < NJ; k++) order[k] = k;
  for (int a = 1; a < NJ; a++)
    for (int b = a; b > 0; b--) {
      const job *x = &jobs[order[b - 1]], *y = &jobs[order[b]];
      if ((double)x->N * (double)x->knots * log(x->T) >= (double)y->N * (double)y->knots * log(y->T))
        break;
      int t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  const double t0 = test_seconds();
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 0; k < NJ; k++) run(&jobs[order[k]]);
  const double total = test_seconds() - t0;
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  for (int k = 0; k < NJ; k++)
    if (!jobs[k].r.ok) {
      fprintf(stderr, "case b=%g T=%g N=%ld failed: %s\n", jobs[k].b, jobs[k].T, jobs[k].N,
              jobs[k].r.msg);
      return 1;
    }

  printf("validate_sweep: N=1000 a=3.5 sigma2=0.25 batch 5 eta<=1, matched ODE, free-form "
         "%zu knots, the default optimizer (NEWTON; LD_LBFGS for the monotone easy "
         "phase) from the best of the problem's schedule, the tuned constant and "
         "the tuned WSD; %.0f s on %d threads\n\n",
         K, total, threads);
  const char *names[2] = {"hard (b=5)", "easy (b=2)"};
  double zeta_opt[2], zeta_c[2];
  for (int ph = 0; ph < 2; ph++) {
    double x[NX], yo[NX], yc[NX];
    printf("%s\n  %8s %12s %12s %8s %6s %s\n", names[ph], "T", "opt excess", "const excess",
           "ratio", "evals", "optimizer");
    for (int i = 0; i < NX; i++) {
      const job *j = &jobs[ph * NX + i];
      x[i] = j->T;
      yo[i] = j->r.J - j->r.sigma2;
      yc[i] = j->Jc - j->r.sigma2;
      printf("  %8.0f %12.5e %12.5e %8.3f %6ld %s (%.0f s)\n", j->T, yo[i], yc[i], yc[i] / yo[i],
             j->r.evals, j->r.code, j->r.seconds);
    }
    zeta_opt[ph] = schedopt_loglog_slope(x, yo, NT, NULL, NULL);
    zeta_c[ph] = schedopt_loglog_slope(x, yc, NT, NULL, NULL);
    printf("  local slopes (optimum):");
    for (int i = 0; i + 1 < NX; i++)
      printf(" %.3f", -log(yo[i + 1] / yo[i]) / log(x[i + 1] / x[i]));
    printf("\n  local slopes (constant):");
    for (int i = 0; i + 1 < NX; i++)
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

  printf("\nconvergence (T = 1e5): relative change of the excess\n");
  for (int ph = 0; ph < 2; ph++) {
    const job *a = &jobs[ph * NX + NT - 1], *b = &jobs[2 * NX + ph];
    double ea = a->r.J - a->r.sigma2, eb = b->r.J - b->r.sigma2;
    printf("  %s: %zu knots %.6e, %zu knots %.6e: %.2e\n", names[ph], a->knots, ea, b->knots, eb,
           (ea - eb) / eb);
  }
  {
    const job *a = &jobs[NT - 1], *b = &jobs[2 * NX + 2];
    double ea = a->r.J - a->r.sigma2, eb = b->r.J - b->r.sigma2;
    printf("  %s: N = 1000 %.6e, N = 4000 %.6e: %.2e; anneal fraction %.4f vs %.4f\n",
           names[0], ea, eb, (ea - eb) / eb, a->anneal_frac, b->anneal_frac);
  }

  printf("\nhard-phase shape: steps within 5 %% of eta_max; anneal fraction = steps after the "
         "last one >= 0.95 eta_max, after the last one >= 0.5 eta_max, lost area "
         "1 - int eta / (eta_max T); decay fraction of the tuned WSD:\n");
  printf("  %8s %8s %8s %8s %8s %10s  %s\n", "T", "at cap", "f(0.95)", "f(0.5)", "area",
         "WSD decay", "WSD shape");
  double xa[NX], fa[NX], fh[NX], fr[NX], fw[NX];
  for (int i = 0; i < NX; i++) {
    const job *j = &jobs[i];
    xa[i] = j->T;
    fa[i] = j->anneal_frac;
    fh[i] = j->half_frac;
    fr[i] = j->area_frac;
    fw[i] = j->wsd_frac;
    printf("  %8.0f %7.1f%% %8.4f %8.4f %8.4f %10.4f  %s\n", j->T, 100 * j->frac_cap,
           j->anneal_frac, j->half_frac, j->area_frac, j->wsd_frac, j->wsd_label);
  }
  const double th_f = (3.5 - 5) / (2 * 5 - 1);
  /* schedopt_loglog_slope returns −d log y / d log x */
#define EXPO(x, y, n) (-schedopt_loglog_slope((x), (y), (n), NULL, NULL))
  printf("  exponents of the anneal fraction in T (least squares, 1e3 ... 1e6 | 1e4 ... 1e6): "
         "f(0.95) %.3f | %.3f, f(0.5) %.3f | %.3f, area %.3f | %.3f, WSD %.3f | %.3f; "
         "balance argument (a-b)/(2b-1) = %.3f\n",
         EXPO(xa, fa, NX), EXPO(xa + 2, fa + 2, NX - 2), EXPO(xa, fh, NX),
         EXPO(xa + 2, fh + 2, NX - 2), EXPO(xa, fr, NX), EXPO(xa + 2, fr + 2, NX - 2),
         EXPO(xa, fw, NX), EXPO(xa + 2, fw + 2, NX - 2), th_f);
  const job *h5 = &jobs[NT - 1];
  CHECK_MSG(h5->frac_cap >= 0.70, "T = 1e5: only %.1f %% of steps at the cap", 100 * h5->frac_cap);
  CHECK_MSG(jobs[NT - 1].anneal_frac < jobs[0].anneal_frac &&
                jobs[NX - 1].anneal_frac < jobs[2].anneal_frac,
            "the anneal fraction does not shrink with T (1e3 %.4f, 1e4 %.4f, 1e5 %.4f, 1e6 %.4f)",
            jobs[0].anneal_frac, jobs[2].anneal_frac, jobs[NT - 1].anneal_frac,
            jobs[NX - 1].anneal_frac);
  CHECK_MSG(EXPO(xa, fa, NX) < 0 && EXPO(xa, fr, NX) < 0,
            "the anneal fraction does not shrink with T on average");

  /* easy phase: eta*(t) ≈ T^(−ξ) (1 − t/T)^δ, ξ = 1 − b/a */
  printf("\neasy-phase shape: eta*(t) ~ T^-xi (1-t/T)^delta, -xi = b/a - 1 = %.4f\n", 2 / 3.5 - 1);
  const int probes[4] = {20, 50, 100, 150}; /* t/T = 0.1, 0.25, 0.5, 0.75 */
  printf("  %8s", "T");
  for (int q = 0; q < 4; q++) printf("  eta(%.2fT)", (double)probes[q] / (NS - 1));
  printf("  eta(0.99T)  delta on t/T in [0.3, 0.9]\n");
  double lev[4][NX], xT[NX], dl[NX]; /* dl: δ */
  for (int i = 0; i < NX; i++) {
    const job *j = &jobs[NX + i];
    xT[i] = j->T;
    printf("  %8.0f", j->T);
    for (int q = 0; q < 4; q++) {
      lev[q][i] = j->eta[probes[q]];
      printf("  %10.4g", lev[q][i]);
    }
    /* δ: slope of log η on log(1 − t/T) over t/T ∈ [0.3, 0.9] */
    double lt[NS], le[NS];
    size_t m = 0;
    for (int s = 60; s <= 180; s++) {
      lt[m] = 1 - (double)s / (NS - 1);
      le[m++] = j->eta[s];
    }
    dl[i] = EXPO(lt, le, m); /* δ */
    printf("  %10.4g  %.3f\n", j->eta[NS - 3], dl[i]);
  }
  printf("  level exponents d log eta(cT) / d log T over 1e3 ... 1e6:");
  double lvl_mid = 0;
  for (int q = 0; q < 4; q++) {
    double z = EXPO(xT, lev[q], NX);
    if (q == 2) lvl_mid = z;
    printf(" %.3f (c=%.2f)", z, (double)probes[q] / (NS - 1));
  }
  printf("  theory %.3f\n", 2 / 3.5 - 1);
  const job *e5 = &jobs[NX + NT - 1];
  double emax = 0;
  for (int s = 0; s < NS; s++) emax = fmax(emax, e5->eta[s]);
  CHECK_MSG(e5->eta[NS - 3] <= 0.05 * emax, "T = 1e5: eta(0.99 T) = %.3g not near zero",
            e5->eta[NS - 3]);
  CHECK_MSG(lvl_mid < 0, "eta*(T/2) does not shrink with T (exponent %.3f)", lvl_mid);
  CHECK_MSG(dl[NT - 1] > 1, "T = 1e5: the decay toward T is not polynomial of degree > 1 "
            "(delta %.3f)", dl[NT - 1]);
  free(jobs);
  return test_finish();
}
