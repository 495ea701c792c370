/* FSL Table 1's data columns (docs/theory.md §3) in the sweep's law: the
 * exponents of the tuned WSD and exponential-decay baselines, written here in
 * the FSL notation (s, β) and compared with what schedopt_sweep_law_get gives
 * in the Bordelon–Mori notation (a = 1 + sβ, b = β); and the laws of the
 * optimum's bias and variance parts. */
#include <math.h>
#include <string.h>

#include "schedopt/sweep.h"
#include "testutil.h"

int main(void) {
  /* easy (s ≥ 1 − 1/β) and hard settings, among them both papers' */
  const double sb[][2] = {{1.25, 2}, {0.5, 5}, {2, 1.5}, {0.25, 2}, {0.8, 3}, {3, 1.2}};
  for (size_t i = 0; i < sizeof sb / sizeof *sb; i++) {
    const double s = sb[i][0], beta = sb[i][1], a = 1 + s * beta, b = beta;
    const int easy = s >= 1 - 1 / beta;
    const char *keys[] = {"budget.steps", "budget.samples", "budget.tokens"};
    for (int k = 0; k < 3; k++) {
      schedopt_sweep_law L;
      schedopt_error err = {0};
      CHECK(schedopt_sweep_law_get(keys[k], 0, a, b, &L, &err) == SCHEDOPT_OK);
      CHECK_MSG(!strcmp(L.phase, easy ? "easy" : "hard"), "s=%g beta=%g: %s", s, beta, L.phase);
      /* WSD: D^−sβ/(1+sβ) (log D)^((sβ−s)/(1+sβ)) easy, D^−s hard */
      CHECK_CLOSE(L.wsd, easy ? s * beta / (1 + s * beta) : s, 1e-14, 0);
      CHECK_CLOSE(L.log_wsd, easy ? (s * beta - s) / (1 + s * beta) : 0, 1e-14, 1e-15);
      /* exponential decay: the same power, (log D)^(sβ/(1+sβ)) easy, (log D)^s hard */
      CHECK_CLOSE(L.exponential, easy ? s * beta / (1 + s * beta) : s, 1e-14, 0);
      CHECK_CLOSE(L.log_exponential, easy ? s * beta / (1 + s * beta) : s, 1e-14, 0);
      /* constant D^−s/(s+1) */
      CHECK_CLOSE(L.constant, s / (s + 1), 1e-14, 0);
      CHECK(L.wsd_rule && strstr(L.wsd_rule, "FSL") && L.exponential_rule);
    }
    /* the optimum's bias and variance parts (Bordelon & Mori Fig. 3): easy,
     * both (a−1)/a; hard, the bias (a−1)/b and the variance left by an anneal
     * of S ∝ T^((a+b−1)/(2b−1)) steps, S^−(1−1/b) */
    schedopt_sweep_law H;
    CHECK(schedopt_sweep_law_get("budget.steps", 0, a, b, &H, NULL) == SCHEDOPT_OK);
    CHECK_CLOSE(H.bias, easy ? (a - 1) / a : (a - 1) / b, 1e-14, 0);
    CHECK_CLOSE(H.variance,
                easy ? (a - 1) / a : (1 - 1 / b) * (a + b - 1) / (2 * b - 1), 1e-14, 0);
    if (!easy) CHECK(H.variance > H.bias); /* bias-dominated, more so with T */
    /* a compute sweep with the size searched: baselines are tuned at the
     * optimum's N*, so no law for them */
    schedopt_sweep_law C;
    CHECK(schedopt_sweep_law_get("budget.compute", 1, a, b, &C, NULL) == SCHEDOPT_OK);
    CHECK(isnan(C.wsd) && isnan(C.exponential) && isnan(C.constant));
  }
  return test_finish();
}
