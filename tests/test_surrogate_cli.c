/* schedopt fit / schedopt predict: the bundled specs, a fit → predict round
 * trip through fit.json, and bad input (exit 2, file:line:col messages, no
 * output left behind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/fit.h"
#include "testutil.h"

static char out[1 << 16];

static int has(const char *s) {
  int ok = strstr(out, s) != NULL;
  if (!ok) fprintf(stderr, "  expected '%s' in:\n%s\n", s, out);
  return ok;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void test_bundled(void) {
  char args[4096], dir[2048], f[2100];
  snprintf(dir, sizeof dir, "%s/cli_fit_pub", SCHEDOPT_TMP_DIR);
  snprintf(args, sizeof args, "fit '%s/problems/fit_mpl_published_100m.yaml' -o '%s'",
           SCHEDOPT_SOURCE_DIR, dir);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK(has("parameters fixed (no fit)") && has("wsd_20000_24000") && has("0.00374"));
  snprintf(f, sizeof f, "%s/fit.json", dir);
  CHECK(exists(f));
  snprintf(f, sizeof f, "%s/predictions.csv", dir);
  CHECK(exists(f));

  /* a real fit (one start, few points: seconds) and a prediction from it */
  snprintf(dir, sizeof dir, "%s/cli_fit_fsl", SCHEDOPT_TMP_DIR);
  snprintf(args, sizeof args,
           "fit '%s/problems/fit_fsl_llm_100m.yaml' -o '%s' --set fit.starts=1 "
           "--set fit.max_points=60 --set uncertainty.bootstrap=4",
           SCHEDOPT_SOURCE_DIR, dir);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK(has("fsl-llm, fitted on 3 curves") && has("band: central 90% of 4"));
  const char *spec = test_write_tmp(
      "pred.yaml",
      "model: cli_fit_fsl/fit.json\n"
      "schedule:\n"
      "  steps: 24000\n"
      "  lr: {type: cosine, peak: 3.0e-4, floor: 3.0e-5, warmup: 2160}\n"
      "output: {every: 1000, start: 2000}\n");
  /* the library reads the same result */
  {
    char fj[2100];
    snprintf(fj, sizeof fj, "%s/fit.json", dir);
    schedopt_surrogate *s = NULL;
    schedopt_error err = {0};
    size_t nb = 0;
    CHECK(schedopt_fit_load_result(fj, &s, &nb, &err) == SCHEDOPT_OK);
    CHECK(nb == 4 && s && schedopt_surrogate_get_type(s) == schedopt_surrogate_fsl_llm);
    schedopt_surrogate_free(s);
    CHECK(schedopt_fit_load_result(SCHEDOPT_TMP_DIR "/nope.json", &s, NULL, &err) == SCHEDOPT_EIO);
  }
  snprintf(args, sizeof args, "predict '%s' -o -", spec);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK(has("step,lr,intrinsic_time,loss,loss_lo,loss_hi") && has("\n23999,"));
  snprintf(args, sizeof args, "predict '%s/problems/fit_predict_wsd_100m.yaml' -o -",
           SCHEDOPT_SOURCE_DIR);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  CHECK(has("MAE 0.00374") && has("\n2176,0.0003,"));
}

typedef struct {
  const char *yaml;
  const char *want1, *want2;
} badcase;

static void test_bad_fit(void) {
  char csvp[2048], args[4096];
  snprintf(csvp, sizeof csvp, "%s", test_write_tmp("sparse.csv", "step,lr,loss\n10,1e-3,3\n20,1e-3,2.9\n"));
  test_write_tmp("badrow.csv", "step,lr,loss\n0,1e-3,3\n1,1e-3,x\n");
  test_write_tmp("dense.csv", "step,lr,loss\n0,1e-3,3\n1,1e-3,2.9\n2,1e-3,2.8\n3,1e-3,2.75\n");
  badcase bad[] = {
      {"modle: mpl\n", "bad.yaml:1:1: error: unknown key 'modle'", "allowed: name, model"},
      {"model: mlp\ncurves:\n  - file: dense.csv\n", "bad.yaml:1:8: error: model: unknown surrogate 'mlp'",
       "fsl-llm, mpl"},
      {"model: mpl\n", "bad.yaml: error: missing 'curves'", NULL},
      {"model: mpl\ncurves:\n  - file: dense.csv\nfit:\n  starts: abc\n", "bad.yaml:5:11: error: fit.starts",
       "not a finite number"},
      {"model: mpl\ncurves:\n  - file: dense.csv\nfit:\n  starts: 0\n", "bad.yaml:5:11: error",
       "out of range"},
      {"model: mpl\ncurves:\n  - file: sparse.csv\n", "bad.yaml:3:5: error: curves.0", "sparse log"},
      {"model: mpl\ncurves:\n  - file: nope.csv\n", "bad.yaml:3:11: error", "cannot open"},
      {"model: mpl\ncurves:\n  - file: badrow.csv\n", "bad.yaml:3:11: error",
       "badrow.csv:3: column 'loss': 'x' is not a finite number"},
      {"model: mpl\ncurves:\n  - file: dense.csv\n    smooth: 4\n", "bad.yaml:4:13: error", "odd"},
      {"model: mpl\ncurves:\n  - file: dense.csv\n    rolle: test\n", "bad.yaml:4:5: error: unknown key 'rolle'",
       NULL},
      {"model: mpl\ncurves:\n  - file: dense.csv\nparams:\n  delta: 1\n",
       "bad.yaml:5:3: error: unknown parameter 'delta' of mpl", "L0, A, alpha"},
      {"model: mpl\ncurves:\n  - file: dense.csv\nparams:\n  beta: {lo: 2, hi: 1}\n", "bad.yaml:5:14: error",
       "lo = 2 must be below hi = 1"},
      {"model: mpl\ncurves:\n  - file: sparse.csv\n    schedule: {type: cosin, peak: 1e-3}\n",
       "bad.yaml:4:22: error", "unknown control type 'cosin'"},
      {"model: mpl\ncurves:\n  - file: sparse.csv\n    schedule: {type: cosine, peek: 1e-3}\n",
       "bad.yaml:4:30: error: unknown key 'peek'", "a cosine control"},
      {"model: mpl\ncurves:\n  - file: sparse.csv\n    schedule: {type: constant, value: -1}\n",
       "bad.yaml:4:39: error", "constant.value = -1 is out of range"},
      {"model: mpl\ncurves:\n  - file: dense.csv\n    role: test\n", "error: curves: no curve with role 'fit'",
       NULL},
      {"model: mpl\ncurves: [1, 2]\n", "bad.yaml:2:9: error: curves: expected a non-empty list", NULL},
      {"model: mpl\ncurves:\n  - file: dense.csv\n    start_step: 100\n", "no logged point between step 100",
       NULL},
  };
  char dir[2048], f[2100];
  snprintf(dir, sizeof dir, "%s/cli_fit_bad", SCHEDOPT_TMP_DIR);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *p = test_write_tmp("bad.yaml", bad[i].yaml);
    snprintf(args, sizeof args, "fit '%s' -o '%s' -q", p, dir);
    int rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 2, "case %zu: exit %d\n%s", i, rc, out);
    CHECK_MSG(has(bad[i].want1), "case %zu", i);
    if (bad[i].want2) CHECK_MSG(has(bad[i].want2), "case %zu", i);
    snprintf(f, sizeof f, "%s/fit.json", dir);
    CHECK_MSG(!exists(f), "case %zu left %s", i, f);
  }
  (void)csvp;
  /* --set errors and usage */
  const char *ok = test_write_tmp("ok.yaml", "model: mpl\ncurves:\n  - file: dense.csv\n");
  snprintf(args, sizeof args, "fit '%s' --set fit.starts", ok);
  CHECK(test_run_cli(args, out, sizeof out) == 2 && has("expected KEY=VALUE"));
  snprintf(args, sizeof args, "fit '%s' --set fit.strats=2", ok);
  CHECK(test_run_cli(args, out, sizeof out) == 2 && has("--set fit.strats=2: error: unknown key 'strats'"));
  CHECK(test_run_cli("fit", out, sizeof out) == 2 && has("missing"));
  CHECK(test_run_cli("fit --help", out, sizeof out) == 0 && has("Usage: schedopt fit"));
  CHECK(test_run_cli("predict --help", out, sizeof out) == 0 && has("Usage: schedopt predict"));
}

static void test_bad_predict(void) {
  char args[4096];
  test_write_tmp("notfit.json", "{\"model\": \"mpl\"}\n");
  test_write_tmp("broken.json", "{\"model\": \n");
  badcase bad[] = {
      {"schedule:\n  steps: 10\n  lr: 0.1\n", "bad.yaml: error: missing 'model'", NULL},
      {"model: notfit.json\nschedule:\n  steps: 10\n  lr: {type: constant, value: 1e-3}\n",
       "bad.yaml:1:8: error", "not a fit result"},
      {"model: broken.json\nschedule:\n  steps: 10\n  lr: {type: constant, value: 1e-3}\n",
       "bad.yaml:1:8: error: model: ", "broken.json:2"},
      {"model: {type: mpl, params: {L0: 2}}\nschedule:\n  steps: 10\n  lr: {type: constant, value: 1e-3}\n",
       "error: model.params: missing A", NULL},
      {"model: {type: fsl-llm, params: {L0: 2, c1: 1, c2: 1, c3: 1, c4: 1, s: 0.5, gamma: 0.5}}\n"
       "schedule:\n  lr: {type: constant, value: 1e-3}\n",
       "error: missing 'schedule.steps'", NULL},
      {"model: {type: fsl-llm, params: {L0: 2, c1: 1, c2: 1, c3: 1, c4: 1, s: 0.5, gamma: 0.5}}\n"
       "schedule:\n  steps: 100\n  lr: {type: constant, value: 1e-3}\noutput:\n  steps: [5, 3]\n",
       "bad.yaml:6:10: error: output.steps[1] = 3", NULL},
      {"model: {type: fsl-llm, params: {L0: 2, c1: 1, c2: 1, c3: 1, c4: 1, s: -0.5, gamma: 0.5}}\n"
       "schedule:\n  steps: 100\n  lr: {type: constant, value: 1e-3}\n",
       "bad.yaml:1:71: error: model.params.s = -0.5 is out of range", NULL},
  };
  char f[2100];
  snprintf(f, sizeof f, "%s/pred_bad.csv", SCHEDOPT_TMP_DIR);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *p = test_write_tmp("bad.yaml", bad[i].yaml);
    snprintf(args, sizeof args, "predict '%s' -o '%s' -q", p, f);
    int rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 2, "case %zu: exit %d\n%s", i, rc, out);
    CHECK_MSG(has(bad[i].want1), "case %zu", i);
    if (bad[i].want2) CHECK_MSG(has(bad[i].want2), "case %zu", i);
    CHECK_MSG(!exists(f), "case %zu left %s", i, f);
  }
}

int main(void) {
  test_bundled();
  test_bad_fit();
  test_bad_predict();
  return test_finish();
}
