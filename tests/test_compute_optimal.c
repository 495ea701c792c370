/* Compute-optimal laws and the bias/variance columns of optimize (issue 15,
 * items 3 and 4):
 *  - the sweep's law for every budget kind: the horizon law for budget.steps,
 *    the same exponents in D for data budgets, the compute law for
 *    budget.compute with a model-size search, none (with a reason) for other
 *    keys; the compute exponents against their formulas, and against the
 *    balance they come from (ν = ζ/(ζ + a − 1), ζ_C = (a − 1)ν with ζ the
 *    horizon law's), which applied to the tuned constant also gives FSL
 *    Table 1's compute column sβ/(1 + sβ + β);
 *  - a small compute sweep (easy phase of Bordelon & Mori's Fig. 4: a = 2,
 *    b = 1.5, σ² = 0.25, batch 5; C = 10⁴ … 10⁶): the fitted L* exponent near
 *    (a − 1)/(a + 1) = 1/3, N* growing with C, the summary's theory line the
 *    compute law's and no horizon law in it;
 *  - optimize's schedule.csv: bias + variance + approx + σ² = loss in every
 *    row within 1e-10 relative, under the recursion, the ODE (compute budget)
 *    and the FSL model; the variance starts at 0 and both parts stay >= 0. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/sweep.h"
#include "testutil.h"

static char out[1 << 16];

/* ---- the laws ---------------------------------------------------------------------- */

static void test_laws(void) {
  schedopt_error err = {0};
  schedopt_sweep_law L, H;
  const double ab[][2] = {{2, 1.5}, {1.5, 2}, {3.5, 2}, {3.5, 5}, {2.5, 2}, {1.2, 4}};
  for (size_t i = 0; i < sizeof ab / sizeof *ab; i++) {
    const double a = ab[i][0], b = ab[i][1], s = (a - 1) / b, beta = b;
    CHECK(schedopt_sweep_law_get("budget.compute", 1, a, b, &L, &err) == SCHEDOPT_OK);
    CHECK(schedopt_sweep_law_get("budget.steps", 0, a, b, &H, &err) == SCHEDOPT_OK);
    CHECK(L.kind == SCHEDOPT_SWEEP_LAW_COMPUTE && H.kind == SCHEDOPT_SWEEP_LAW_HORIZON);
    const int easy = b < a;
    /* the formulas of docs/theory.md §3a */
    CHECK_CLOSE(L.optimum, easy ? (a - 1) / (a + 1) : (a - 1) / (b + 1), 1e-15, 0);
    CHECK_CLOSE(L.size, easy ? 1 / (a + 1) : 1 / (b + 1), 1e-15, 0);
    /* FSL Table 1's compute columns (s, β notation) */
    CHECK_CLOSE(L.optimum, easy ? s * beta / (2 + s * beta) : s * beta / (1 + beta), 1e-14, 0);
    /* the balance N^−(a−1) = D^−ζ with C = N·D, from the horizon law */
    const double z = H.optimum, nu = z / (z + a - 1);
    CHECK_CLOSE(L.size, nu, 1e-14, 0);
    CHECK_CLOSE(L.optimum, (a - 1) * nu, 1e-14, 0);
    /* ... and for the tuned constant FSL's constant column sβ/(1 + sβ + β) */
    const double zc = H.constant;
    CHECK_CLOSE((a - 1) * zc / (zc + a - 1), s * beta / (1 + s * beta + beta), 1e-14, 0);
    CHECK(isnan(L.constant) && L.why && strstr(L.why, "N*"));
    CHECK(strstr(L.optimum_rule, easy ? "(a-1)/(a+1)" : "(a-1)/(b+1)") != NULL);
    /* the horizon law: docs/theory.md §3 */
    CHECK_CLOSE(H.optimum, easy ? (a - 1) / a : (a - 1) / b, 1e-15, 0);
    CHECK_CLOSE(H.constant, (a - 1) / (a + b - 1), 1e-15, 0);
    CHECK(isnan(H.size) && !strcmp(H.variable, "T"));
  }
  /* data budgets, and a compute budget at a fixed N: the horizon's ζ in D */
  const char *data[] = {"budget.samples", "budget.tokens", "budget.compute"};
  for (int k = 0; k < 3; k++) {
    CHECK(schedopt_sweep_law_get(data[k], 0, 3.5, 5, &L, &err) == SCHEDOPT_OK);
    CHECK_MSG(L.kind == SCHEDOPT_SWEEP_LAW_DATA && !strcmp(L.variable, "D") && L.why,
              "%s: %s", data[k], L.name);
    CHECK_CLOSE(L.optimum, 0.5, 1e-15, 0);
    CHECK_CLOSE(L.constant, 2.5 / 7.5, 1e-15, 0);
  }
  /* any other key: no law, and why */
  CHECK(schedopt_sweep_law_get("model.sigma2", 1, 3.5, 5, &L, &err) == SCHEDOPT_OK);
  CHECK(L.kind == SCHEDOPT_SWEEP_LAW_NONE && isnan(L.optimum) && isnan(L.constant) && L.why &&
        strstr(L.why, "no scaling law"));
  CHECK(schedopt_sweep_law_get("budget.steps", 0, 0.5, 5, &L, &err) == SCHEDOPT_EINVAL);
  CHECK(L.kind == SCHEDOPT_SWEEP_LAW_NONE && strstr(err.msg, "a = 0.5"));
}

/* ---- a small compute sweep ------------------------------------------------------------- */

static const char *fig4_easy =
    "name: fig4_easy_small\n"
    "model: {type: plrf, a: 2, b: 1.5, sigma2: 0.25, split: false}\n"
    "budget: {compute: 1e6}\n"
    "controls: {lr: {type: constant, value: 0.5}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, monotone: true, max: 1.0}}\n"
    "  model_size: {min: 4, max: 1000, points: 4}\n"
    "  baselines: [constant]\n"
    "  maxeval: 40\n"
    "sweep: {key: budget.compute, values: [1e4, 1e5, 1e6]}\n";

static void test_compute_sweep(void) {
  const char *yaml = test_write_tmp("fig4_easy_small.yaml", fig4_easy);
  const char *dir = test_tmp_path("fig4_easy_small");
  char args[4096];
  snprintf(args, sizeof args, "sweep '%s' -q -j 1 -o '%s'", yaml, dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  schedopt_error err = {0};
  schedopt_sweep *s = NULL;
  char path[4200];
  snprintf(path, sizeof path, "%s/sweep.json", dir);
  if (schedopt_sweep_read(&s, path, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return;
  }
  schedopt_sweep_slope sl[SCHEDOPT_SWEEP_MAXSLOPES], ns;
  size_t n = 0;
  schedopt_sweep_slopes(s, sl, &n);
  CHECK(n >= 1 && !strcmp(sl[0].name, "optimum"));
  CHECK(schedopt_sweep_size_slope(s, &ns) && ns.points == 3);
  printf("compute sweep C = 1e4..1e6 (easy, a = 2, b = 1.5): L* slope %.4f (theory %.4f), "
         "N* slope %.4f (theory %.4f)\n",
         sl[0].slope, sl[0].theory, ns.slope, ns.theory);
  CHECK_CLOSE(sl[0].theory, 1.0 / 3, 1e-15, 0);
  CHECK_CLOSE(ns.theory, 1.0 / 3, 1e-15, 0);
  /* measured 0.348: finite-size bends allow a few hundredths */
  CHECK_MSG(fabs(sl[0].slope - 1.0 / 3) < 0.05, "L* slope %g", sl[0].slope);
  CHECK_MSG(ns.slope > 0.2 && ns.slope < 0.5, "N* slope %g", ns.slope);
  for (size_t i = 0; i + 1 < schedopt_sweep_ncases(s); i++) {
    const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i),
                              *d = schedopt_sweep_get_case(s, i + 1);
    CHECK(c->model_size >= 4 && c->model_size < d->model_size);
  }
  schedopt_sweep_free(s);
  /* the summary: the compute law, not the horizon's */
  snprintf(path, sizeof path, "%s/summary.txt", dir);
  char *t = test_slurp(path, NULL);
  CHECK(t && strstr(t, "compute-optimal: L* - sigma^2 ~ C^-0.3333, N* ~ C^0.3333"));
  CHECK(t && !strstr(t, "T^-"));
  CHECK(t && strstr(t, "N*             "));
  free(t);
  snprintf(path, sizeof path, "%s/sweep.csv", dir);
  t = test_slurp(path, NULL);
  CHECK(t && !strncmp(t, "case,budget.compute,schedule,label,objective,excess,status,model_size\n",
                      70));
  free(t);
}

/* ---- bias/variance columns -------------------------------------------------------------- */

/* Every row of DIR/schedule.csv: bias + variance + approx + σ² = loss within
 * 1e-10 relative, and excess = loss − σ²; returns the rows read. */
static size_t check_split(const char *dir, double sigma2, double *bias_end, double *var_end) {
  char path[4200];
  snprintf(path, sizeof path, "%s/schedule.csv", dir);
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, "%s", path);
  if (!f) return 0;
  char line[1024];
  CHECK(fgets(line, sizeof line, f) &&
        !strcmp(line, "step,tokens,lr,batch,momentum,loss,excess,bias,variance,approx\n"));
  size_t n = 0, bad = 0;
  while (fgets(line, sizeof line, f)) {
    double v[10];
    int k = sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    if (k != 10) {
      bad++;
      continue;
    }
    const double sum = v[7] + v[8] + v[9] + sigma2;
    if (!(fabs(sum - v[5]) <= 1e-10 * v[5]) || !(fabs(v[6] + sigma2 - v[5]) <= 1e-10 * v[5]) ||
        !(v[7] >= 0) || !(v[8] >= 0)) {
      if (bad++ < 3)
        fprintf(stderr, "%s: row %zu: bias %.12g + variance %.12g + approx %.12g + sigma2 %g = "
                        "%.12g, loss %.12g\n",
                path, n, v[7], v[8], v[9], sigma2, sum, v[5]);
    }
    if (n == 0) CHECK_MSG(v[0] == 0 && v[8] == 0, "%s: first row: step %g, variance %g", path,
                          v[0], v[8]);
    *bias_end = v[7];
    *var_end = v[8];
    n++;
  }
  fclose(f);
  CHECK_MSG(bad == 0 && n >= 10, "%s: %zu rows, %zu bad", path, n, bad);
  return n;
}

static void test_split_columns(void) {
  /* hard phase, exact recursion, steps budget */
  const char *rec = test_write_tmp(
      "split_rec.yaml",
      "name: split_rec\n"
      "model: {type: plrf, a: 3.5, b: 5, N: 60, sigma2: 0.25, split: false, dynamics: recursion}\n"
      "budget: {steps: 400}\n"
      "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
      "optimize: {controls: {lr: {param: freeform, knots: 16, max: 1.0}}, baselines: [constant], "
      "maxeval: 30}\n");
  const char *d1 = test_tmp_path("split_rec");
  char args[4096];
  snprintf(args, sizeof args, "optimize '%s' -q -o '%s'", rec, d1);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  double b1 = NAN, v1 = NAN;
  check_split(d1, 0.25, &b1, &v1);
  /* the FSL model carries the split itself */
  const char *fsl = test_write_tmp(
      "split_fsl.yaml",
      "name: split_fsl\n"
      "model: {type: fsl, a: 2, b: 1.5, M: 100, sigma2: 0.25}\n"
      "budget: {steps: 1000}\n"
      "controls: {lr: {type: constant, value: 0.5}, batch: 5}\n"
      "optimize: {controls: {lr: {param: freeform, knots: 16, max: 1.0}}, baselines: [constant], "
      "maxeval: 20}\n");
  const char *d2 = test_tmp_path("split_fsl");
  snprintf(args, sizeof args, "optimize '%s' -q -o '%s'", fsl, d2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  double b2 = NAN, v2 = NAN;
  check_split(d2, 0.25, &b2, &v2);
  /* the ODE under a compute budget with the model-size search: the chosen
   * case's curve is split */
  const char *cmp = test_write_tmp("split_compute.yaml", fig4_easy);
  const char *d3 = test_tmp_path("split_compute");
  snprintf(args, sizeof args,
           "optimize '%s' -q -o '%s' --set budget.compute=1e5 --set optimize.maxeval=20", cmp, d3);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  double b3 = NAN, v3 = NAN;
  check_split(d3, 0.25, &b3, &v3);
  printf("final bias / variance: recursion %.4g / %.4g, fsl %.4g / %.4g, compute %.4g / %.4g\n",
         b1, v1, b2, v2, b3, v3);
}

int main(void) {
  test_laws();
  test_split_columns();
  test_compute_sweep();
  return test_finish();
}
