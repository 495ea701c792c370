/* The easy-phase optimum converged: scaling, level collapse and decay shape
 * (ctest -L validation; results in docs/validation.md, issue "the papers").
 *
 * Bordelon–Mori Fig. 2 setting, easy phase: PLRF N = 1000, a = 3.5, b = 2,
 * σ² = 0.25, batch 5, η ≤ 1.  Free-form learning rate, not constrained to be
 * monotone (the optimum rises by a few per cent over the first ~2 % of the
 * run, which a non-increasing parametrization cannot follow), started from
 * the best of the tuned constant and the tuned WSD (power anneal, which for
 * this phase is a polynomial decay from nearly t = 0).
 *
 * Why a tight integrator tolerance: the optimizer's stop rule (and the
 * accuracy of the adjoint gradient) is relative to J = L_T ≈ σ² = 0.25, while
 * the excess L_T − σ² is 6·10⁻⁵ at T = 10⁵ and 1.2·10⁻⁵ at 10⁶; at the default
 * rtol 1e-6 the rule allows 2.5·10⁻⁷, 2 % of the excess at 10⁶.  At rtol 1e-9
 * the matched ODE's optimum at T = 10⁵ agrees with the exact recursion's
 * (whose stop rule is relative to the excess) to 1.5·10⁻⁴ of the excess and
 * its shape to 1 % at every t/T ≤ 0.99.
 *
 * Theory (docs/theory.md §3): L_T − σ² ∝ T^−(a−1)/a = T^−5/7 for the optimum,
 * T^−(a−1)/(a+b−1) = T^−5/9 for a tuned constant; Bordelon–Mori's shape
 * η*(t) ≃ T^−ξ f(t/T), ξ = 1 − b/a = 3/7, with f(z) ≈ (1 − z)^δ (the FSL
 * optimum has δ = 2β − 1 = 3, its own model).  Measured here:
 *   - the excess at T = 10³ … 10⁶ (7 horizons, 256 knots) and its slopes;
 *   - refinement 256 → 1024 knots at T = 10⁵ and 10⁶: excess, level, δ;
 *   - the collapse: η*(zT)·T^ξ for z = 0.02 … 1 across T, its spread, and
 *     the exponent of η*(zT) in T where it does not collapse (late in the run);
 *   - δ, the slope of log η* on log(1 − z) over z ∈ [0.3, 0.9] and [0.5, 0.95];
 *   - η*(T)·T^ξ, the level the optimum ends at (it does not reach 0).
 * Checks that could fail: refinement lowers the excess by < 10⁻³ (and a
 * refined run that stops short ends < 5·10⁻³ above) and changes δ by
 * < 0.05 at both horizons; the optimum's slope over 10⁴ … 10⁶ within 0.02 of
 * 5/7 and the constant's within 0.02 of 5/9; the collapse spread over
 * T = 10⁴ … 10⁶ below 6 % for z ∈ [0.1, 0.25] (it does not collapse late in
 * the run: η*(0.99 T) ∝ T^−0.84, docs/theory.md §3b explains why); the first
 * integral η*√K(A) flat to 8 % over z ∈ [0.1, 0.99] at every T ≥ 10⁴, and
 * its constant c ∝ T^−(2a−1)/(2a) to within 0.02 in the exponent.
 *
 *   validate_easy_shape [knots (256)] [fine knots (1024)]   (OMP_NUM_THREADS threads) */
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

#define NX 7
static const double horizons[NX] = {1000, 3162, 10000, 31623, 100000, 316228, 1000000};
#define NZ 12
static const double zs[NZ] = {0.02, 0.05, 0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0};
#define XI (1 - 2 / 3.5) /* ξ = 1 − b/a */
/* where the invariant η²K(A) is read (t/T) */
#define NI 10
static const double zi[NI] = {0.02, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999};

/* K(A) = Σ_k λ_k² e^(−2 λ_k A), λ_k = k^−b (b = 2, N = 1000): the weight, in
 * the final excess, of a unit of label noise injected when A is the learning-
 * rate area still ahead (docs/theory.md §3b) */
static double kernel(double A) {
  double s = 0;
  for (int k = 1; k <= 1000; k++) {
    const double l = 1.0 / ((double)k * k);
    s += l * l * exp(-2 * l * A);
  }
  return s;
}

/* inv[i] = η(zi T)·√K(A(zi T)), A(t) = ∫_t^T η: the remaining area by the
 * trapezoid rule on 2·10⁵ intervals (the schedule is piecewise linear) */
static void invariant(const schedopt_schedule *s, double T, double *inv) {
  enum { G = 200000 };
  double A = 0, prev;
  schedopt_uval u;
  schedopt_schedule_eval(s, T, &u);
  prev = u.lr;
  int i = NI - 1;
  for (long g = G - 1; g >= 0 && i >= 0; g--) {
    const double t = T * (double)g / G;
    schedopt_schedule_eval(s, t, &u);
    A += 0.5 * (u.lr + prev) * T / G;
    prev = u.lr;
    while (i >= 0 && zi[i] * T >= t) { /* zi·T in [t, t + T/G): A(t) to O(T/G) */
      schedopt_uval v;
      schedopt_schedule_eval(s, zi[i] * T, &v);
      inv[i] = v.lr * sqrt(kernel(A - 0.5 * (v.lr + u.lr) * (zi[i] * T - t)));
      i--;
    }
  }
}

typedef struct job {
  double T;
  size_t knots;
  test_opt_run r;
  double Jc;         /* tuned constant */
  double Jw;         /* tuned WSD */
  double eta[NZ];    /* η*(z T) */
  double peak, zpeak; /* the largest η* and where (t/T) */
  double d39, d595;  /* δ over [0.3, 0.9] and [0.5, 0.95] */
  double inv[NI];    /* η*(t)·√K(A(t)) at t = zi·T */
} job;

/* δ: least-squares slope of log η*(zT) on log(1 − z) over z ∈ [z0, z1] */
static double delta_fit(const schedopt_schedule *s, double T, double z0, double z1) {
  enum { M = 241 };
  double x[M], y[M];
  for (int i = 0; i < M; i++) {
    const double z = z0 + (z1 - z0) * i / (M - 1);
    schedopt_uval u;
    schedopt_schedule_eval(s, z * T, &u);
    x[i] = 1 - z;
    y[i] = u.lr;
  }
  return -schedopt_loglog_slope(x, y, M, NULL, NULL); /* the helper returns −d log y/d log x */
}

static void run(job *j) {
  char y[1024];
  snprintf(y, sizeof y,
           "name: validate_easy_shape\n"
           "model: {type: plrf, a: 3.5, b: 2, N: 1000, sigma2: 0.25, split: false, "
           "dynamics: matched}\n"
           "solver: {rtol: 1e-9}\n"
           "budget: {steps: %.0f}\n"
           "controls: {lr: {type: polynomial, peak: 1.0, delta: 2}, batch: 5}\n"
           "optimize:\n"
           "  controls: {lr: {param: freeform, knots: %zu, max: 1.0}}\n"
           "  baselines: [constant, wsd]\n",
           j->T, j->knots);
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  test_optimize_run(y, "validate_easy_shape", &j->r, &p, &o);
  if (j->r.ok) {
    j->Jc = j->Jw = NAN;
    for (size_t i = 0; i < schedopt_optimization_nbaselines(o); i++) {
      const schedopt_baseline *b = schedopt_optimization_baseline(o, i, NULL, NULL);
      if (!strcmp(b->type->name, "constant")) j->Jc = b->J;
      if (!strcmp(b->type->name, "wsd")) j->Jw = b->J;
    }
    const schedopt_schedule *s = schedopt_optimization_schedule(o);
    for (int i = 0; i < NZ; i++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, zs[i] * j->T, &u);
      j->eta[i] = u.lr;
    }
    j->peak = 0;
    for (int i = 0; i <= 1000; i++) {
      schedopt_uval u;
      schedopt_schedule_eval(s, j->T * i / 1000.0, &u);
      if (u.lr > j->peak) {
        j->peak = u.lr;
        j->zpeak = i / 1000.0;
      }
    }
    invariant(s, j->T, j->inv);
    j->d39 = delta_fit(s, j->T, 0.3, 0.9);
    j->d595 = delta_fit(s, j->T, 0.5, 0.95);
  }
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
}

static double excess(const job *j) { return j->r.J - j->r.sigma2; }

int main(int argc, char **argv) {
  const size_t K = argc > 1 ? (size_t)atol(argv[1]) : 256;
  const size_t KF = argc > 2 ? (size_t)atol(argv[2]) : 1024;
  /* jobs[i]: horizon i at K knots; then T = 10⁵ and 10⁶ at KF knots */
  enum { NJ = NX + 2 };
  job *jobs = calloc(NJ, sizeof *jobs);
  for (int i = 0; i < NX; i++) jobs[i] = (job){.T = horizons[i], .knots = K};
  jobs[NX] = (job){.T = 1e5, .knots = KF};
  jobs[NX + 1] = (job){.T = 1e6, .knots = KF};
  /* the largest first (cost ~ K·log T): better load balance */
  int order[NJ] = {NX + 1, NX, NX - 1, NX - 2, NX - 3, NX - 4, NX - 5, NX - 6, NX - 7};
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
      fprintf(stderr, "case T=%g knots=%zu failed: %s\n", jobs[k].T, jobs[k].knots,
              jobs[k].r.msg);
      return 1;
    }
  printf("validate_easy_shape: PLRF a=3.5 b=2 N=1000 sigma2=0.25 batch 5 eta<=1, matched ODE at "
         "rtol 1e-9, free-form lr (%zu knots; %zu for the refinement), the default optimizer from the best "
         "of the tuned constant and WSD; %.0f s wall on %d threads\n\n",
         K, KF, total, threads);

  printf("final excess L_T - sigma^2\n  %8s %6s %13s %13s %13s %8s %8s %6s %s\n", "T", "knots",
         "optimum", "tuned const", "tuned WSD", "const/opt", "WSD/opt", "evals", "stop");
  double x[NX], yo[NX], yc[NX];
  for (int i = 0; i < NJ; i++) {
    const job *j = &jobs[i];
    printf("  %8.0f %6zu %13.6e %13.6e %13.6e %8.4f %8.4f %6ld %s\n", j->T, j->knots, excess(j),
           j->Jc - j->r.sigma2, j->Jw - j->r.sigma2, (j->Jc - j->r.sigma2) / excess(j),
           (j->Jw - j->r.sigma2) / excess(j), j->r.evals, j->r.code);
    if (i < NX) {
      x[i] = j->T;
      yo[i] = excess(j);
      yc[i] = j->Jc - j->r.sigma2;
    }
  }
  const double th_o = 2.5 / 3.5, th_c = 2.5 / 4.5;
  const double so_all = schedopt_loglog_slope(x, yo, NX, NULL, NULL);
  const double so_hi = schedopt_loglog_slope(x + 2, yo + 2, NX - 2, NULL, NULL);
  const double sc_all = schedopt_loglog_slope(x, yc, NX, NULL, NULL);
  const double sc_hi = schedopt_loglog_slope(x + 2, yc + 2, NX - 2, NULL, NULL);
  printf("\nslopes of the excess (least squares): optimum %.4f over 1e3..1e6, %.4f over "
         "1e4..1e6 (theory (a-1)/a = %.4f); tuned constant %.4f, %.4f (theory (a-1)/(a+b-1) = "
         "%.4f)\n  local slopes (optimum):",
         so_all, so_hi, th_o, sc_all, sc_hi, th_c);
  for (int i = 0; i + 1 < NX; i++) printf(" %.3f", -log(yo[i + 1] / yo[i]) / log(x[i + 1] / x[i]));
  printf("\n  local slopes (constant):");
  for (int i = 0; i + 1 < NX; i++) printf(" %.3f", -log(yc[i + 1] / yc[i]) / log(x[i + 1] / x[i]));
  printf("\n");

  printf("\nlevel collapse eta*(zT) * T^xi, xi = 1 - b/a = %.4f (rows: T, knots)\n  %8s %6s",
         XI, "T", "knots");
  for (int q = 0; q < NZ; q++) printf(" %8.2f", zs[q]);
  printf(" %8s %6s %7s %7s\n", "peak", "at z", "d[.3,.9]", "d[.5,.95]");
  for (int i = 0; i < NJ; i++) {
    const job *j = &jobs[i];
    const double sc = pow(j->T, XI);
    printf("  %8.0f %6zu", j->T, j->knots);
    for (int q = 0; q < NZ; q++) printf(" %8.4g", j->eta[q] * sc);
    printf(" %8.4g %6.3f %7.3f %7.3f\n", j->peak * sc, j->zpeak, j->d39, j->d595);
  }
  /* spread over T = 10⁴ … 10⁶ (the K-knot rows): max/min − 1 */
  printf("  spread max/min - 1 over T = 1e4..1e6:");
  double worst = 0;
  for (int q = 0; q < NZ; q++) {
    double lo = INFINITY, hi = 0;
    for (int i = 2; i < NX; i++) {
      const double v = jobs[i].eta[q] * pow(jobs[i].T, XI);
      lo = fmin(lo, v);
      hi = fmax(hi, v);
    }
    printf(" %.3f", hi / lo - 1);
    if (zs[q] >= 0.1 && zs[q] <= 0.25 && hi / lo - 1 > worst) worst = hi / lo - 1;
  }
  /* where it does not collapse: the exponent of η*(zT) in T, against −ξ */
  printf("\n  exponent of eta*(zT) in T over 1e4..1e6 (collapse: -xi = %.4f):", -XI);
  for (int q = 0; q + 1 < NZ; q++) {
    double xt[NX - 2], ye[NX - 2];
    for (int i = 2; i < NX; i++) {
      xt[i - 2] = jobs[i].T;
      ye[i - 2] = jobs[i].eta[q];
    }
    printf(" %.3f", -schedopt_loglog_slope(xt, ye, NX - 2, NULL, NULL));
  }
  printf("\n");

  /* the first integral of the optimal control (docs/theory.md §3b):
   * η(t)²K(A(t)) = c², constant along the optimum once the loss feedback on
   * the noise has died out; c ∝ T^−(2a−1)/(2a) */
  printf("\ninvariant eta*(t) sqrt(K(A(t))), A(t) = remaining learning-rate area, K(A) = "
         "sum_k lambda_k^2 exp(-2 lambda_k A) (theory: constant in t)\n  %8s %6s", "T", "knots");
  for (int q = 0; q < NI; q++) printf(" %9.3f", zi[q]);
  printf("  spread(0.1<=z<=0.99)\n");
  double ispread = 0, xc[NX - 2], yc2[NX - 2];
  for (int i = 0; i < NJ; i++) {
    const job *j = &jobs[i];
    double lo = INFINITY, hi = 0;
    printf("  %8.0f %6zu", j->T, j->knots);
    for (int q = 0; q < NI; q++) {
      printf(" %9.4g", j->inv[q]);
      if (zi[q] >= 0.1 && zi[q] <= 0.99) {
        lo = fmin(lo, j->inv[q]);
        hi = fmax(hi, j->inv[q]);
      }
    }
    printf("  %.4f\n", hi / lo - 1);
    if (j->T >= 1e4) ispread = fmax(ispread, hi / lo - 1);
    if (i >= 2 && i < NX) {
      xc[i - 2] = j->T;
      yc2[i - 2] = j->inv[4]; /* c, read at t = T/2 */
    }
  }
  const double cexp = -schedopt_loglog_slope(xc, yc2, NX - 2, NULL, NULL);
  const double cth = -(2 * 3.5 - 1) / (2 * 3.5);
  printf("  c = invariant at T/2: exponent in T over 1e4..1e6 %.4f, theory -(2a-1)/(2a) = %.4f\n",
         cexp, cth);

  printf("\nrefinement %zu -> %zu knots: relative change of the excess, of eta*(zT), of delta\n",
         K, KF);
  double dworst = 0, eworst = 0, eshort = 0;
  for (int r = 0; r < 2; r++) {
    const job *a = &jobs[NX - 3 + 2 * r], *b = &jobs[NX + r]; /* T = 1e5, 1e6 */
    const double de = (excess(a) - excess(b)) / excess(b);
    printf("  T = %.0e: excess %+.2e; eta at z = 0.5 %+.2e, 0.9 %+.2e, 0.95 %+.2e, 0.99 %+.2e; "
           "delta[.3,.9] %.3f -> %.3f, delta[.5,.95] %.3f -> %.3f\n",
           b->T, de, a->eta[4] / b->eta[4] - 1, a->eta[8] / b->eta[8] - 1,
           a->eta[9] / b->eta[9] - 1, a->eta[10] / b->eta[10] - 1, a->d39, b->d39, a->d595,
           b->d595);
    eworst = fmax(eworst, de);
    eshort = fmax(eshort, -de);
    dworst = fmax(dworst, fmax(fabs(a->d39 - b->d39), fabs(a->d595 - b->d595)));
  }

  /* The discretization: refining the knots must not find a schedule whose
   * excess is 1e-3 lower.  A refined run that ends higher has stopped short:
   * the optimizer's precision on 1024 knots at T = 1e6 (1.6e-3 of the excess,
   * 4e-9 of J at rtol 1e-9; LD_LBFGS stops higher still), bounded loosely. */
  CHECK_MSG(eworst < 1e-3, "refinement lowers the excess by %.2e (>= 1e-3)", eworst);
  CHECK_MSG(eshort < 5e-3, "the refined run ends %.2e above (>= 5e-3)", eshort);
  CHECK_MSG(dworst < 0.05, "refinement changes delta by %.3f (>= 0.05)", dworst);
  CHECK_MSG(fabs(so_hi - th_o) <= 0.02, "optimum slope %.4f over 1e4..1e6 not within 0.02 of %.4f",
            so_hi, th_o);
  CHECK_MSG(fabs(sc_hi - th_c) <= 0.02, "constant slope %.4f over 1e4..1e6 not within 0.02 of %.4f",
            sc_hi, th_c);
  CHECK_MSG(ispread < 0.08, "the invariant eta sqrt(K(A)) varies by %.1f %% (>= 8 %%) over "
            "t/T in [0.1, 0.99] at some T >= 1e4", 100 * ispread);
  CHECK_MSG(fabs(cexp - cth) <= 0.02, "c ~ T^%.4f, not within 0.02 of the theory %.4f", cexp, cth);
  CHECK_MSG(worst < 0.06, "the level collapse spreads by %.1f %% (>= 6 %%) at some z in "
            "[0.1, 0.25]", 100 * worst);
  free(jobs);
  return test_finish();
}
