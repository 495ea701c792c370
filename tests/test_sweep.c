/* schedopt sweep / merge: log-log slopes (direct and from a synthetic table
 * through merge), deterministic output (1 vs 2 threads), shard + merge equals
 * the unsharded run byte for byte, bad input (exit 2, located messages). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schedopt/sweep.h"
#include "testutil.h"

static char out[1 << 16];

/* a small, fast sweep: N = 60, recursion, horizons 200 … 1600 */
static const char *sweep_yaml =
    "name: test_sweep\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 60, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: 100}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
    "  baselines: [constant, linear]\n"
    "sweep:\n"
    "  key: budget.steps\n"
    "  values: [200, 400, 800, 1600, 3200]\n"
    "# a trailing comment\n";

static int same_file(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  char *x = test_slurp(a, &na), *y = test_slurp(b, &nb);
  int same = x && y && na == nb && !memcmp(x, y, na);
  if (!same) fprintf(stderr, "files differ: %s %s\n", a, b);
  free(x);
  free(y);
  return same;
}

static void same_outputs(const char *d1, const char *d2) {
  static const char *const files[] = {"sweep.csv", "sweep.json", "summary.txt"};
  for (int i = 0; i < 3; i++) {
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/%s", d1, files[i]);
    snprintf(b, sizeof b, "%s/%s", d2, files[i]);
    CHECK(same_file(a, b));
  }
}

static void slopes_direct(void) {
  double x[6] = {1e3, 3e3, 1e4, 3e4, 1e5, 2e5}, y[6];
  for (int i = 0; i < 6; i++) y[i] = 2.0 * pow(x[i], -0.5);
  double c;
  size_t m;
  CHECK_CLOSE(schedopt_loglog_slope(x, y, 6, &c, &m), 0.5, 1e-12, 0);
  CHECK_CLOSE(c, log(2.0), 1e-12, 0);
  CHECK(m == 6);
  y[5] = -1; /* unusable points are skipped */
  y[4] = NAN;
  CHECK_CLOSE(schedopt_loglog_slope(x, y, 6, NULL, &m), 0.5, 1e-12, 0);
  CHECK(m == 4);
  CHECK(isnan(schedopt_loglog_slope(x, y, 1, NULL, NULL)));
  double xs[3] = {5, 5, 5}, ys[3] = {1, 2, 3};
  CHECK(isnan(schedopt_loglog_slope(xs, ys, 3, NULL, NULL)));
  /* least squares, not end points: y = x^-1 with a kink */
  double xk[3] = {1, 10, 100}, yk[3] = {1, 0.1, 0.001};
  CHECK_CLOSE(schedopt_loglog_slope(xk, yk, 3, NULL, NULL), 1.5, 1e-12, 0);
}

/* Shard files written by hand: excess = C x^-zeta, merged, slopes read back
 * from the summary. */
static void write_shard(const char *dir, int k, const char *fp_problem, int dup_case) {
  char path[4096];
  snprintf(path, sizeof path, "%s/sweep-shard-%d-of-2.json", dir, k);
  FILE *f = fopen(path, "w");
  fprintf(f, "{\"format\": \"schedopt-sweep-shard\", \"version\": 1, \"problem\": \"synthetic\",\n"
             " \"fingerprint\": {\"problem\": \"%s\", \"sweep\": \"00000000000000aa\"},\n"
             " \"sweep\": {\"key\": \"budget.steps\", \"values\": [\"1000\", \"10000\", \"100000\", "
             "\"1000000\"], \"x\": [1000, 10000, 100000, 1000000]},\n"
             " \"shard\": {\"k\": %d, \"n\": 2}, \"cases\": [",
          fp_problem, k);
  int first = 1;
  for (int i = 0; i < 4; i++) {
    if (i % 2 != k - 1 && i != dup_case) continue;
    double x = pow(10, 3 + i);
    fprintf(f, "%s\n  {\"case\": %d, \"value\": \"%.0f\", \"x\": %.0f, \"status\": \"ok\", "
               "\"a\": 3.5, \"b\": 5, \"sigma2\": 0.25, \"optimizer_result\": \"FTOL_REACHED\", "
               "\"evaluations\": 10, \"gradient_evaluations\": 10, "
               "\"contained_baselines_beating_optimum\": 0, \"schedules\": ["
               "{\"schedule\": \"optimum\", \"label\": \"optimum\", \"objective\": %.17g, "
               "\"excess\": %.17g},"
               "{\"schedule\": \"constant\", \"label\": \"constant\", \"objective\": %.17g, "
               "\"excess\": %.17g}]}",
            first ? "" : ",", i, x, x, 0.25 + 3 * pow(x, -0.5), 3 * pow(x, -0.5),
            0.25 + 2 * pow(x, -1.0 / 3), 2 * pow(x, -1.0 / 3));
    first = 0;
  }
  fprintf(f, "]}\n");
  fclose(f);
}

static void synthetic_merge(void) {
  char d[4096], o[4096];
  static char args[32768];
  snprintf(d, sizeof d, "%s/sweep_syn", SCHEDOPT_TMP_DIR);
  snprintf(o, sizeof o, "%s/sweep_syn_out", SCHEDOPT_TMP_DIR);
  mkdir(d, 0777);
  write_shard(d, 1, "0123456789abcdef", -1);
  write_shard(d, 2, "0123456789abcdef", -1);
  snprintf(args, sizeof args, "merge '%s' -o '%s'", d, o);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK_MSG(strstr(out, "optimum            0.5000") != NULL, "%s", out);
  CHECK_MSG(strstr(out, "constant           0.3333") != NULL, "%s", out);
  CHECK(strstr(out, "(a-1)/b, optimal schedule, hard phase") != NULL);
  char csv[8192];
  snprintf(csv, sizeof csv, "%s/sweep.csv", o);
  size_t n;
  char *t = test_slurp(csv, &n);
  CHECK(t && n > 0 && !strncmp(t, "case,budget.steps,schedule,label,objective,excess,status\n",
                                 57));
  free(t);
  /* missing shard, duplicate case, another problem */
  char one[8192];
  snprintf(one, sizeof one, "%s/sweep-shard-1-of-2.json", d);
  snprintf(args, sizeof args, "merge '%s' -o '%s'", one, o);
  CHECK(test_run_cli(args, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "shard 2 of 2 is missing (cases 1, 3)") != NULL, "%s", out);
  snprintf(args, sizeof args, "merge '%s' '%s' -o '%s'", one, one, o);
  CHECK(test_run_cli(args, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "given twice") != NULL, "%s", out);
  char d2[4096];
  snprintf(d2, sizeof d2, "%s/sweep_syn2", SCHEDOPT_TMP_DIR);
  mkdir(d2, 0777);
  write_shard(d2, 2, "fedcba9876543210", -1);
  snprintf(args, sizeof args, "merge '%s' '%s/sweep-shard-2-of-2.json' -o '%s'", one, d2, o);
  CHECK(test_run_cli(args, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "from another problem") != NULL, "%s", out);
  write_shard(d2, 2, "0123456789abcdef", 0); /* shard 2 also claims case 0 */
  snprintf(args, sizeof args, "merge '%s' '%s/sweep-shard-2-of-2.json' -o '%s'", one, d2, o);
  CHECK(test_run_cli(args, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "outside its shard") != NULL, "%s", out);
  snprintf(args, sizeof args, "merge '%s/nonexistent' -o '%s'", d2, o);
  CHECK(test_run_cli(args, out, sizeof out) == 2);
}

static void determinism_and_shards(void) {
  const char *p = test_write_tmp("sweep_small.yaml", sweep_yaml);
  char prob[4096], args[16384], d1[4096], d2[4096], ds[4096], dm[4096];
  snprintf(prob, sizeof prob, "%s", p);
  snprintf(d1, sizeof d1, "%s/sweep_j1", SCHEDOPT_TMP_DIR);
  snprintf(d2, sizeof d2, "%s/sweep_j2", SCHEDOPT_TMP_DIR);
  snprintf(ds, sizeof ds, "%s/sweep_shards", SCHEDOPT_TMP_DIR);
  snprintf(dm, sizeof dm, "%s/sweep_merged", SCHEDOPT_TMP_DIR);
  snprintf(args, sizeof args, "sweep '%s' -j 1 -q -o '%s'", prob, d1);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  snprintf(args, sizeof args, "sweep '%s' -j 2 -o '%s'", prob, d2);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK_MSG(strstr(out, "optimum ") && strstr(out, "constant ") && strstr(out, "linear "),
            "%s", out);
  same_outputs(d1, d2);
  for (int k = 1; k <= 3; k++) {
    snprintf(args, sizeof args, "sweep '%s' --shard %d/3 -j 2 -q -o '%s'", prob, k, ds);
    CHECK(test_run_cli(args, out, sizeof out) == 0);
  }
  snprintf(args, sizeof args, "merge '%s' -q -o '%s'", ds, dm);
  CHECK_MSG(test_run_cli(args, out, sizeof out) == 0, "%s", out);
  same_outputs(d1, dm);
  /* shards from another problem (an override) do not merge */
  char dx[4096];
  static char args2[32768];
  snprintf(dx, sizeof dx, "%s/sweep_shards_x", SCHEDOPT_TMP_DIR);
  snprintf(args, sizeof args, "sweep '%s' --shard 2/3 -q -o '%s' --set model.sigma2=0.3", prob,
           dx);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  snprintf(args2, sizeof args2, "merge '%s/sweep-shard-1-of-3.json' '%s/sweep-shard-2-of-3.json' "
                                "'%s/sweep-shard-3-of-3.json' -o '%s'",
           ds, dx, ds, dm);
  CHECK(test_run_cli(args2, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "from another problem") != NULL, "%s", out);
  /* sweep.* overrides */
  snprintf(args, sizeof args, "sweep '%s' --set 'sweep.values=[300, 600]' -j 2", prob);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK_MSG(strstr(out, "budget.steps over 2 values: 300 600") != NULL, "%s", out);
  snprintf(args, sizeof args, "sweep '%s' --set sweep.from=100 --set sweep.to=1000 "
                              "--set sweep.points=3 -j 2",
           prob);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK_MSG(strstr(out, "budget.steps over 3 values: 100 316 1000") != NULL, "%s", out);
}

static void bad_input(void) {
  static const struct {
    const char *yaml, *extra, *want;
  } cases[] = {
      {"sweep: {key: budget.steps, valuez: [1, 2]}\n", "", "bad.yaml:9:28: error: unknown key 'valuez' in sweep"},
      {"", "", "no sweep: section"},
      {"sweep: {key: budget.steps}\n", "", "missing 'values'"},
      {"sweep: {values: [1, 2]}\n", "", "missing 'key'"},
      {"sweep: {key: budget.steps, values: [100, -3]}\n", "", "bad.yaml:9:42: error: sweep.values[1]"},
      {"sweep: {key: budget.steps, values: [100, 100]}\n", "", "appears twice"},
      {"sweep: {key: budget.steps, values: [100], from: 1}\n", "", "not both"},
      {"sweep: {key: budget.steps, from: 10, to: 1, points: 3}\n", "", "0 < from < to"},
      {"sweep: {key: model.bogus, values: [1, 2]}\n", "", "sweep case 0 (model.bogus=1)"},
      {"sweep: {key: budget.steps, values: [100, 200]}\n", "--shard 3/2 -o x", "--shard 3/2"},
      {"sweep: {key: budget.steps, values: [100, 200]}\n", "--shard 1/2", "--shard needs -o"},
      {"sweep: {key: budget.steps, values: [100, 200]}\n", "-j 0", "thread count"},
      {"sweep: [1, 2]\n", "", "expected a mapping"},
  };
  const char *head = "name: bad\n"
                     "model: {type: plrf, a: 3.5, b: 5, N: 20, sigma2: 0.25, split: false, "
                     "dynamics: recursion}\n"
                     "budget: {steps: 100}\n"
                     "controls: {lr: 0.5, batch: 5}\n"
                     "optimize:\n"
                     "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
                     "  baselines: [constant]\n"
                     "# sweep below\n";
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[2048], args[8192];
    snprintf(text, sizeof text, "%s%s", head, cases[i].yaml);
    const char *p = test_write_tmp("bad.yaml", text);
    snprintf(args, sizeof args, "sweep '%s' %s", p, cases[i].extra);
    int rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 2, "case %zu: exit %d: %s", i, rc, out);
    CHECK_MSG(strstr(out, cases[i].want) != NULL, "case %zu: want '%s' in: %s", i,
              cases[i].want, out);
  }
  /* a value the problem rejects: located in the problem's terms */
  CHECK(test_run_cli("sweep", out, sizeof out) == 2);
  CHECK(test_run_cli("merge", out, sizeof out) == 2);
}

int main(void) {
  slopes_direct();
  synthetic_merge();
  bad_input();
  determinism_and_shards();
  return test_finish();
}
