/* The momentum family, the multi-start joint optimum and the stability cap
 * of heavy-ball (issue 15, item 1; docs/theory.md §7), at a reduced size.
 *
 * 1. The cap: with λ_k = k^-b, batch B, q = 1 + 1/B, heavy-ball at constant
 *    η and μ is stable while the loop gain through the risk E,
 *      φ = Σ_k (ηλ_k/B) / (2(1 − μ) − ηλ_k(q − 2μ/(1 + μ))),
 *    is below one (the per-mode 3×3 blocks stay stable far beyond it on this
 *    spectrum).  The library's exact recursion must stay bounded for 10⁴
 *    steps at 0.97× the cap and diverge at 1.1×.
 * 2. The tuned momentum family (baseline "momentum") beats the best
 *    learning-rate baseline at the problem's μ = 0.5, at a high μ.
 * 3. A free-form lr + momentum optimization runs three starts (default,
 *    momentum family, continuation in the momentum cap) as a race (the lower
 *    start to convergence, the others screened), reports each, and keeps the
 *    best; summary.txt and summary.json list them; bad caps are
 *    rejected with their value and range (exit 2, nothing written). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

#define NM 100
#define BEXP 5.0
#define BATCH 5.0

static double gain(double eta, double mu) {
  const double q = 1 + 1 / BATCH;
  double g = 0;
  for (int k = 1; k <= NM; k++) {
    const double lam = pow(k, -BEXP);
    const double den = 2 * (1 - mu) - eta * lam * (q - 2 * mu / (1 + mu));
    if (!(den > 0)) return HUGE_VAL;
    g += eta * lam / BATCH / den;
  }
  return g;
}

/* The library's recursion at constant η, μ for T steps: 1 if it diverged. */
static int diverges(double eta, double mu, double T) {
  char y[512];
  snprintf(y, sizeof y,
           "name: cap\nmodel: {type: plrf, a: 3.5, b: %g, N: %d, sigma2: 0.25, split: false, "
           "dynamics: recursion}\nbudget: {steps: %.0f}\n"
           "controls: {lr: %.17g, batch: %g, momentum: %g}\n",
           BEXP, NM, T, eta, BATCH, mu);
  schedopt_problem *p = NULL;
  schedopt_integrator *it = NULL;
  schedopt_error err = {0};
  schedopt_objective obj = {0};
  obj.kind = SCHEDOPT_OBJ_FINAL;
  double J = NAN;
  schedopt_status st = test_make_problem(&p, y, "cap", NULL, 0, &err);
  if (!st)
    st = schedopt_integrator_alloc(&it, schedopt_integrator_recursion, schedopt_problem_model(p),
                                   &err);
  if (!st) st = schedopt_integrator_objective(it, schedopt_problem_schedule(p), &obj, &J, &err);
  CHECK_MSG(!st || st == SCHEDOPT_EDIVERGE, "eta %g mu %g: %s", eta, mu, err.msg);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  return st == SCHEDOPT_EDIVERGE || !(J < 1e3);
}

static void test_cap(void) {
  const double mu = 0.9;
  double a = 0, b = 2; /* φ rises in η from 0 */
  for (int i = 0; i < 100; i++) {
    const double c = 0.5 * (a + b);
    if (gain(c, mu) < 1)
      a = c;
    else
      b = c;
  }
  const double cap = a;
  printf("mu = %g: stable while eta < %.6g (eta/(1-mu) < %.6g)\n", mu, cap, cap / (1 - mu));
  CHECK_MSG(!diverges(0.97 * cap, mu, 1e4), "0.97 x the cap (eta %g) diverged", 0.97 * cap);
  CHECK_MSG(diverges(1.1 * cap, mu, 1e4), "1.1 x the cap (eta %g) did not diverge", 1.1 * cap);
  /* μ = 0 is SGD's known condition Σ (η/B) λ_k / (2 − qηλ_k) < 1 */
  double g0 = 0;
  for (int k = 1; k <= NM; k++)
    g0 += 0.7 / BATCH * pow(k, -BEXP) / (2 - (1 + 1 / BATCH) * 0.7 * pow(k, -BEXP));
  CHECK_CLOSE(gain(0.7, 0), g0, 1e-14, 0);
}

static const char *yaml =
    "name: multistart\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 100, sigma2: 0.25, split: false, "
    "dynamics: recursion}\n"
    "budget: {steps: 600}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2, shape: linear}, batch: 5, "
    "momentum: 0.5}\n"
    "optimize:\n"
    "  controls:\n"
    "    lr: {param: freeform, knots: 16, max: 1.0}\n"
    "    momentum: {param: freeform, knots: 16, max: 0.99}\n"
    "  baselines: [constant, wsd]\n"
    "  maxeval: 80\n";

static void test_multistart(void) {
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  schedopt_error err = {0};
  schedopt_status st = test_optimize_yaml(yaml, "multistart", &p, &o, &err);
  CHECK_MSG(!st, "optimize: %s", err.msg);
  if (st) {
    schedopt_optimization_free(o);
    schedopt_problem_free(p);
    return;
  }
  const schedopt_baseline *fam = NULL, *wsd = NULL;
  for (size_t i = 0; i < schedopt_optimization_nbaselines(o); i++) {
    const schedopt_baseline *b = schedopt_optimization_baseline(o, i, NULL, NULL);
    if (b->type == schedopt_baseline_momentum) fam = b;
    if (b->type == schedopt_baseline_wsd) wsd = b;
  }
  CHECK_MSG(fam != NULL, "no momentum baseline with a free-form momentum");
  CHECK(wsd != NULL);
  if (fam && wsd) {
    printf("momentum family: J %.9g (mu %.4g, peak %.4g, eta/(1-mu) %.4g); wsd at mu 0.5: %.9g\n",
           fam->J, fam->pval[1], fam->pval[0], fam->pval[0] / (1 - fam->pval[1]), wsd->J);
    CHECK_MSG(fam->J < wsd->J, "the momentum family %.9g does not beat wsd at mu = 0.5 %.9g",
              fam->J, wsd->J);
    CHECK_MSG(fam->pval[1] > 0.5, "the momentum family's mu %.4g is not above 0.5",
              fam->pval[1]);
    CHECK(fam->momentum != NULL && fam->np == 4 && !strcmp(fam->pname[1], "mu"));
  }
  const size_t ns = schedopt_optimization_nstarts(o);
  CHECK_MSG(ns == 3, "%zu starts, expected 3 (default, family, continuation)", ns);
  const schedopt_opt_result *r = schedopt_optimization_result(o);
  double lo = HUGE_VAL;
  for (size_t i = 0; i < ns; i++) {
    const schedopt_opt_start *s = schedopt_optimization_start(o, i);
    printf("start %zu: %-60s %.9g -> %.9g (%ld evaluations)\n", i, s->label, s->J_start, s->J,
           s->evals);
    CHECK(s->J <= s->J_start * (1 + 1e-12));
    lo = fmin(lo, s->J);
  }
  CHECK(schedopt_optimization_start(o, ns) == NULL);
  if (ns == 3) {
    CHECK(strstr(schedopt_optimization_start(o, 1)->label, "baseline momentum") != NULL);
    CHECK(strstr(schedopt_optimization_start(o, 2)->label, "0.9 -> 0.95 -> 0.99") != NULL);
    /* The race (issue 14): the family starts lower (0.25903 against 0.26028) and
     * leads; a start behind it after 12 evaluations stops there ("screened": 12,
     * plus the exact recursion's curvature at a restart and the tightened best).
     * No start passes maxeval = 80 (the leader: 81 with its start point); before
     * the fix, a continuation stage whose curvature evaluations spent its budget
     * ran on without limit (588 evaluations in three stages). */
    const schedopt_opt_start *d0 = schedopt_optimization_start(o, 0),
                            *f1 = schedopt_optimization_start(o, 1);
    CHECK_MSG(f1->J_start < d0->J_start && !strstr(f1->label, "screened"),
              "the family (start %.9g) does not lead the default (start %.9g)", f1->J_start,
              d0->J_start);
    /* the leader's descent in η/(1 − μ) and μ (optimize_nlopt.c): its excess
     * falls 18 % (0.00903 -> 0.00742; 16 % in (η, μ) at 0e2a7ef), 4 % with a
     * wrong chain rule (the sign of ∂J/∂μ's η term flipped) */
    CHECK_MSG(f1->J_start - f1->J > 0.1 * (f1->J_start - 0.25),
              "the family start's excess fell from %.6g to %.6g only", f1->J_start - 0.25,
              f1->J - 0.25);
    for (size_t i = 0; i < ns; i++) {
      const schedopt_opt_start *s = schedopt_optimization_start(o, i);
      CHECK_MSG(s->evals <= (i == 2 ? 3 * 82 : 82), "start %zu: %ld evaluations with maxeval 80",
                i, s->evals);
      if (strstr(s->label, "screened"))
        CHECK_MSG(s->evals <= 12 + 4, "screened start %zu: %ld evaluations", i, s->evals);
    }
  }
  CHECK_MSG(r->J == lo, "the result %.12g is not the best start %.12g", r->J, lo);
  if (fam) CHECK_MSG(r->J <= fam->J, "optimum %.9g above the momentum family %.9g", r->J, fam->J);
  size_t beaten, cbeaten;
  schedopt_optimization_violations(o, &beaten, &cbeaten);
  CHECK(cbeaten == 0);
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
}

static void test_cli(void) {
  static char out[1 << 16];
  const char *f = test_write_tmp_in(SCHEDOPT_TMP_DIR, "ms.yaml", yaml);
  char args[4096];
  const char *dir = test_path_in(SCHEDOPT_TMP_DIR, "ms_out");
  snprintf(args, sizeof args,
           "optimize %s -o %s -q --set optimize.maxeval=20 --set 'optimize.momentum_continuation=[0.95]'",
           f, dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.txt", dir);
  char *txt = test_slurp(path, NULL);
  CHECK(txt && strstr(txt, "starts     3;") && strstr(txt, "continuation in the momentum cap 0.95 -> 0.99") &&
        strstr(txt, "<- best"));
  free(txt);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *js = test_slurp(path, NULL);
  CHECK(js && strstr(js, "\"multistart\"") && strstr(js, "\"multistart_spread\""));
  free(js);
  /* bad caps: the value and the allowed range, exit 2, nothing written */
  const char *dir2 = test_path_in(SCHEDOPT_TMP_DIR, "ms_bad");
  snprintf(args, sizeof args, "optimize %s -o %s -q --set 'optimize.momentum_continuation=[0.95, 0.9]'",
           f, dir2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "momentum_continuation[1] = 0.9") &&
                strstr(out, "greater than the previous cap"),
            "rc %d: %s", rc, out);
  snprintf(args, sizeof args, "optimize %s -o %s -q --set optimize.momentum_continuation=1.5", f,
           dir2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "1.5") && strstr(out, "(0, 1)"), "rc %d: %s", rc, out);
  snprintf(path, sizeof path, "%s/summary.json", dir2);
  CHECK(test_slurp_static(path) == NULL);
}

int main(void) {
  test_cap();
  test_multistart();
  test_cli();
  return test_finish();
}
