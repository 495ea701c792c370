/* The stability region of heavy-ball momentum on the PLRF spectrum
 * (ctest -L validation; docs/theory.md §7).
 *
 * Per mode k (λ = λ_k, p = ηλ, q = 1 + 1/B) the second moments y = (V, X, A)
 * of heavy-ball SGD (model notes §1a) obey y' = M_k y + u_k E, E = Σ λ_k A_k:
 *
 *         | μ²   −2μp       q p²         |          η²λ | 1 |
 *   M_k = | μ²   μ(1 − 2p)  −p + q p²    |,   u_k = ——— | 1 |
 *         | μ²   2μ(1 − p)  1 − 2p + q p²|           B  | 1 |
 *
 * (μ = 0: A' = ((1 − p)² + p²/B) A + η²λE/B, the SGD recursion).  The whole map
 * is block diagonal plus rank one, M + u vᵀ with v_k = λ_k e_A, so it is stable
 * when every block is (ρ(M_k) < 1) and the loop gain through E is below one,
 *   φ(1) = Σ_k λ_k [(I − M_k)⁻¹ u_k]_A < 1
 * (a real eigenvalue crosses 1 when φ(1) = 1; the simulations below check that
 * no complex pair crosses first).  Part 1 bisects the largest stable η for
 * each μ and reports η/(1 − μ), the rate heavy-ball moves the slow modes at.
 * Part 2 settles the dependence on the horizon with the library itself: the
 * largest constant η/(1 − μ) whose run (exact recursion, constant η and μ)
 * does not diverge within T steps, for T = 10³ … 10⁶.
 *
 *   validate_momentum_stability [N (1000)] [largest T (1e6)] */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static double A_ = 3.5, B_ = 5, BATCH = 5;

/* Spectral radius of a 3×3 real matrix: the roots of its characteristic
 * polynomial z³ + c2 z² + c1 z + c0 by Durand–Kerner (distinct starts, 200
 * sweeps: far below the bisection's resolution). */
static double rho3(const double m[3][3]) {
  const double tr = m[0][0] + m[1][1] + m[2][2];
  const double c1 = m[0][0] * m[1][1] - m[0][1] * m[1][0] + m[0][0] * m[2][2] -
                    m[0][2] * m[2][0] + m[1][1] * m[2][2] - m[1][2] * m[2][1];
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  double complex z[3] = {0.4 + 0.9 * I, cpow(0.4 + 0.9 * I, 2), cpow(0.4 + 0.9 * I, 3)};
  for (int it = 0; it < 200; it++)
    for (int i = 0; i < 3; i++) {
      double complex f = ((z[i] - tr) * z[i] + c1) * z[i] - det, d = 1;
      for (int j = 0; j < 3; j++)
        if (j != i) d *= z[i] - z[j];
      if (cabs(d) > 0) z[i] -= f / d;
    }
  return fmax(cabs(z[0]), fmax(cabs(z[1]), cabs(z[2])));
}

static void block(double eta, double mu, double lam, double m[3][3]) {
  const double p = eta * lam, q = 1 + 1 / BATCH;
  const double r[3][3] = {{mu * mu, -2 * mu * p, q * p * p},
                          {mu * mu, mu * (1 - 2 * p), -p + q * p * p},
                          {mu * mu, 2 * mu * (1 - p), 1 - 2 * p + q * p * p}};
  memcpy(m, r, sizeof r);
}

/* λ_k [(I − M_k)⁻¹ u_k]_A in closed form: eliminating V and X (rows 2 − 3
 * give (1 + μ)X = pA) leaves A·D = η²λ/B with
 *   D = 2p(1 − μ) − p²(q − 2μ/(1 + μ)),
 * so the term is (ηλ/B) / (2(1 − μ) − ηλ(q − 2μ/(1 + μ))) — Cramer's rule on
 * I − M would lose the O(p) determinant of the slow modes to rounding. */
static double gain_term(double eta, double mu, double lam) {
  const double q = 1 + 1 / BATCH;
  return eta * lam / BATCH / (2 * (1 - mu) - eta * lam * (q - 2 * mu / (1 + mu)));
}

/* 0 stable; 1 a block is unstable (mode 1 first: the largest p); 2 the loop
 * gain φ(1) ≥ 1.  *gain receives φ(1) (NAN when a block is unstable). */
static int unstable(double eta, double mu, long N, double *gain) {
  double m[3][3], phi = 0;
  *gain = NAN;
  for (long k = 1; k <= N; k++) {
    const double lam = pow((double)k, -B_);
    block(eta, mu, lam, m);
    /* a block with p = ηλ → 0 tends to the triangular M(0), eigenvalues μ², μ
     * and 1, the last moving inward by O(p): only the fast modes can leave
     * the disk (and the roots of the slow ones cluster at 1, below the
     * resolution of the root finder) */
    if (eta * lam > 1e-6 && rho3(m) > 1 + 1e-10) return 1;
    const double g = gain_term(eta, mu, lam);
    if (!(g > 0)) return 2; /* past the pole: a real eigenvalue crossed 1 */
    phi += g;
  }
  *gain = phi;
  return phi >= 1 ? 2 : 0;
}

/* The largest η with stable(η) true: a log grid up, then bisection. */
static double largest(int (*bad)(double, void *), void *ctx, double lo, double hi,
                      double rtol) {
  double a = lo, b = hi;
  if (bad(a, ctx)) return 0;
  for (double e = lo; e <= hi; e *= 1.25)
    if (bad(e, ctx)) {
      b = e;
      break;
    } else {
      a = e;
    }
  for (int i = 0; i < 60 && b - a > rtol * a; i++) {
    const double c = 0.5 * (a + b);
    if (bad(c, ctx))
      b = c;
    else
      a = c;
  }
  return a;
}

typedef struct actx {
  double mu;
  long N;
  int why;
} actx;

static int bad_analytic(double eta, void *c) {
  actx *a = c;
  double g;
  a->why = unstable(eta, a->mu, a->N, &g);
  return a->why != 0;
}

/* Part 2: one run at constant η, μ for T steps (the library's recursion). */
typedef struct sctx {
  double mu, T;
  long N;
  schedopt_integrator *it;
  schedopt_schedule *s;
  schedopt_control *lr;
} sctx;

static int bad_sim(double eta, void *c) {
  sctx *x = c;
  schedopt_error err = {0};
  schedopt_objective obj = {0};
  obj.kind = SCHEDOPT_OBJ_FINAL;
  double J;
  if (schedopt_control_set(x->lr, "value", eta, &err) ||
      schedopt_schedule_set(x->s, SCHEDOPT_LR, x->lr, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  schedopt_status st = schedopt_integrator_objective(x->it, x->s, &obj, &J, &err);
  if (st && st != SCHEDOPT_EDIVERGE) {
    fprintf(stderr, "eta %g mu %g T %g: %s\n", eta, x->mu, x->T, err.msg);
    exit(1);
  }
  return st == SCHEDOPT_EDIVERGE || !(J < 1e6);
}

int main(int argc, char **argv) {
  const long N = argc > 1 ? atol(argv[1]) : 1000;
  setvbuf(stdout, NULL, _IOLBF, 0);
  const double Tmax = argc > 2 ? atof(argv[2]) : 1e6;
  const double t0 = test_seconds();
  printf("validate_momentum_stability: PLRF N=%ld a=%g b=%g batch %g, heavy-ball second "
         "moments\n\n", N, A_, B_, BATCH);
  printf("Part 1: largest stable constant eta for each mu (blocks and loop gain, exact)\n");
  printf("  %8s %14s %14s %10s  %s\n", "mu", "eta_max", "eta/(1-mu)", "eta*lam1", "binds");
  static const double mus[] = {0,     0.5,   0.8,    0.9,    0.95,  0.97,
                               0.98,  0.99,  0.995,  0.999,  0.9999};
  const int nm = (int)(sizeof mus / sizeof *mus);
  double eff[16], emax[16];
  for (int i = 0; i < nm; i++) {
    actx a = {mus[i], N, 0};
    const double e = largest(bad_analytic, &a, 1e-6, 10, 1e-7);
    bad_analytic(e * (1 + 1e-5), &a);
    eff[i] = e / (1 - mus[i]);
    emax[i] = e;
    printf("  %8.4f %14.6g %14.6g %10.5g  %s\n", mus[i], e, eff[i], e,
           a.why == 1 ? "a block (mode 1)" : "loop gain phi(1) = 1");
  }
  /* μ = 0 in closed form: the SGD loop gain Σ (η/B) λ_k / (2 − qηλ_k) = 1 */
  {
    actx a = {0, N, 0};
    const double e = largest(bad_analytic, &a, 1e-6, 10, 1e-7);
    double g = 0;
    for (long k = 1; k <= N; k++) {
      const double lam = pow((double)k, -B_);
      g += e / BATCH * lam / (2 - (1 + 1 / BATCH) * e * lam);
    }
    CHECK_MSG(fabs(g - 1) < 1e-4, "mu = 0: SGD's loop gain at eta_max is %.6f, not 1", g);
  }
  /* μ → 1 at fixed η/(1 − μ) = Bx: q − 2μ/(1 + μ) → 1/B and the loop gain
   * tends to Σ xλ_k/(2 − xλ_k); the cap on η/(1 − μ) tends to B·x* where that
   * sum is 1 — finite: momentum raises the cap by a bounded factor only */
  {
    double a = 0, b = 2; /* the sum rises from 0 to ∞ on (0, 2/λ_1) */
    for (int it = 0; it < 200; it++) {
      const double x = 0.5 * (a + b);
      double g = 0;
      for (long k = 1; k <= N; k++) {
        const double lam = pow((double)k, -B_);
        g += x * lam / (2 - x * lam);
      }
      if (g < 1)
        a = x;
      else
        b = x;
    }
    printf("  %8s %14s %14.6g %10s  the limit mu -> 1: B x*, sum_k x* lam_k/(2 - x* lam_k) = 1\n",
           "1", "0", BATCH * a, "");
    CHECK_MSG(fabs(eff[nm - 1] / (BATCH * a) - 1) < 1e-3,
              "eta/(1-mu) at mu = 0.9999 (%.6g) is not the limit B x* = %.6g", eff[nm - 1],
              BATCH * a);
  }

  printf("\nPart 2: largest constant eta/(1-mu) not diverging within T steps (exact recursion, "
         "the library's divergence stop: loss > 1e6 x its start)\n");
  static const double smu[] = {0, 0.9, 0.99, 0.999};
  static const int sidx[] = {0, 3, 7, 9}; /* their rows of part 1 */
  printf("  %10s", "T");
  for (int i = 0; i < 4; i++) printf("   mu=%-8g", smu[i]);
  printf("\n");
  for (double T = 1e3; T <= Tmax * 1.0001; T *= 10) {
    printf("  %10.0f", T);
    for (int i = 0; i < 4; i++) {
      char y[512];
      snprintf(y, sizeof y,
               "name: stability\nmodel: {type: plrf, a: %g, b: %g, N: %ld, sigma2: 0.25, "
               "split: false, dynamics: recursion}\nbudget: {steps: %.0f}\n"
               "controls: {lr: 0.1, batch: %g, momentum: %g}\n",
               A_, B_, N, T, BATCH, smu[i]);
      schedopt_problem *p = NULL;
      schedopt_error err = {0};
      sctx x = {smu[i], T, N, NULL, NULL, NULL};
      if (test_make_problem(&p, y, "stability", NULL, 0, &err) ||
          schedopt_integrator_alloc(&x.it, schedopt_integrator_recursion,
                                    schedopt_problem_model(p), &err) ||
          schedopt_control_alloc(&x.lr, schedopt_control_constant, &err) ||
          schedopt_schedule_alloc(&x.s, SCHEDOPT_CLOCK_STEPS, T, 1, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
      }
      const schedopt_schedule *ps = schedopt_problem_schedule(p);
      for (int ch = 1; ch < SCHEDOPT_NCHANNELS; ch++)
        if (schedopt_schedule_set(x.s, (schedopt_channel)ch, schedopt_schedule_get(ps, ch), &err)) {
          fprintf(stderr, "%s\n", err.msg);
          return 1;
        }
      /* from a quarter of the asymptotic cap up, then bisection to 1e-3 */
      const double e =
          largest(bad_sim, &x, 0.25 * emax[sidx[i]], 10, 1e-3) / (1 - smu[i]);
      printf("   %12.5g", e);
      schedopt_schedule_free(x.s);
      schedopt_control_free(x.lr);
      schedopt_integrator_free(x.it);
      schedopt_problem_free(p);
    }
    printf("\n");
  }
  printf("\n%.0f s\n", test_seconds() - t0);
  return test_finish();
}
