/* schedopt fit / schedopt predict: the bundled specs, a fit → predict round
 * trip through fit.json, bad input (exit 2, file:line:col messages, no
 * output left behind), and the fit's progress reports (library callback,
 * the progress line on a terminal). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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
      /* the rebuilt schedule against the logged lr: a milestone typo */
      {"model: mpl\ncurves:\n  - file: sparse.csv\n    schedule: {type: multistep, peak: 1.0e-3, "
       "milestones: [0.5], factors: [1, 0.3], horizon: 30}\n",
       "bad.yaml:4:15: error: curves.0.schedule: sparse: the schedule gives lr = 0.0003 at step 20, "
       "the log 0.001", "agree within 1e-3 relative"},
      /* a schedule that depends on its horizon, without one */
      {"model: mpl\ncurves:\n  - file: sparse.csv\n    schedule: {type: cosine, peak: 1.0e-3}\n",
       "bad.yaml:4:5: error: curves.0.schedule: the schedule depends on its horizon",
       "give 'horizon'"},
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
      /* the fit's regularization and covariates */
      {"model: mpl\ncurves:\n  - file: dense.csv\nfit:\n  prior: sometimes\n",
       "bad.yaml:5:10: error: fit.prior: expected auto (chosen by cross-validation) or a strength",
       "got 'sometimes'"},
      {"model: mpl\ncurves:\n  - file: dense.csv\nfit:\n  tokens_offset: -5\n",
       "bad.yaml:5:18: error: fit.tokens_offset: expected auto", "got '-5'"},
      {"model: mpl\ncurves:\n  - file: dense.csv\nsize:\n  L0: {law: shifted}\n",
       "bad.yaml:5:3: error: size.L0: a shifted law needs 'shift'", NULL},
      {"model: mpl\ncurves:\n  - file: dense.csv\nsize:\n  A: cubic\n",
       "bad.yaml:5:6: error: size.A: unknown size law 'cubic'", "power, log, shifted"},
      {"model: mpl\ncurves:\n  - file: dense.csv\n    model_size: 0\n", "bad.yaml:4:17: error",
       "out of range"},
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

typedef struct {
  long calls, last_evals, stop_at;
  int bad_order, starts_seen, boots_seen, best_up;
  double last_best, last_seconds;
  char last_stage[24];
  int last_k;
} pgcount;

static int stage_index(const char *s) {
  static const char *const order[] = {"cross-validation", "start", "polish", "bootstrap"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, order[i])) return i;
  return -1;
}

static int count_progress(void *ctx, const schedopt_fit_progress *p) {
  pgcount *c = ctx;
  const int start = !strcmp(p->stage, "start"), boot = !strcmp(p->stage, "bootstrap");
  const int same_stage = c->calls && !strcmp(p->stage, c->last_stage);
  /* stages in their order; k counts 1..n and never falls within a stage */
  c->bad_order += p->evals != c->last_evals + 1 || p->seconds < c->last_seconds || p->k < 1 ||
                  p->k > p->n || stage_index(p->stage) < 0 ||
                  p->k < (same_stage ? c->last_k : 1) ||
                  (c->calls && stage_index(p->stage) < stage_index(c->last_stage));
  if (start && p->k > c->starts_seen) c->starts_seen = p->k;
  if (boot && p->k > c->boots_seen) c->boots_seen = p->k;
  /* the best never rises over the starts, nor within a refit */
  if (same_stage && (!boot || p->k == c->last_k)) c->best_up += p->best > c->last_best;
  c->calls++;
  c->last_evals = p->evals;
  c->last_seconds = p->seconds;
  c->last_best = p->best;
  c->last_k = p->k;
  snprintf(c->last_stage, sizeof c->last_stage, "%s", p->stage);
  return c->stop_at && c->calls >= c->stop_at;
}

/* The progress callback through the library: every evaluation, starts and
 * refits counted 1..n, a best that only falls within a stage, and a stop. */
static void test_progress_lib(void) {
  enum { N = 400 };
  double step[N], lr[N], loss[N];
  for (int k = 0; k < N; k++) {
    step[k] = k;
    lr[k] = k < 200 ? 1e-3 : 1e-3 * (1 - (k - 200) / 200.0);
    loss[k] = 2.5 + 2.0 * pow(1 + 1e-3 * k, -0.5) - (k > 200 ? 0.05 * (k - 200) / 200.0 : 0);
  }
  schedopt_losscurve *lc = NULL;
  schedopt_fit *f = NULL;
  schedopt_error err = {0};
  CHECK(schedopt_losscurve_from_arrays(&lc, "synthetic", N, step, lr, loss, &err) == SCHEDOPT_OK);
  CHECK(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err) == SCHEDOPT_OK);
  CHECK(schedopt_fit_add_curve(f, lc, SCHEDOPT_CURVE_FIT, NAN, NAN, &err) == SCHEDOPT_OK);
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  o.starts = 3;
  o.maxeval = 60;
  o.bootstrap = 2;
  pgcount c = {0};
  schedopt_fit_set_progress(f, count_progress, &c);
  CHECK_MSG(schedopt_fit_run(f, &o, &err) == SCHEDOPT_OK, "%s", err.msg);
  schedopt_fit_summary sm;
  schedopt_fit_get_summary(f, &sm);
  CHECK_MSG(c.calls == sm.evals && c.calls > 3, "%ld calls, %ld evaluations", c.calls, sm.evals);
  CHECK(c.starts_seen == 3 && c.boots_seen == 2 && !strcmp(c.last_stage, "bootstrap"));
  CHECK_MSG(c.bad_order == 0 && c.best_up == 0, "%d out of order, %d rises", c.bad_order, c.best_up);
  /* a nonzero return stops the fit */
  pgcount stop = {0};
  stop.stop_at = 5;
  schedopt_fit_set_progress(f, count_progress, &stop);
  schedopt_status sst = schedopt_fit_run(f, &o, &err);
  CHECK_MSG(sst == SCHEDOPT_ESOLVER && stop.calls == 5, "%s, %ld calls: %s", schedopt_status_name(sst), stop.calls, err.msg);
  CHECK_MSG(strstr(err.msg, "stopped by the caller (") && strstr(err.msg, " 1 of ") &&
            strstr(err.msg, ", 5 evaluations)"), "%s", err.msg);
  schedopt_fit_set_progress(f, NULL, NULL);
  CHECK(schedopt_fit_run(f, &o, &err) == SCHEDOPT_OK);
  schedopt_fit_free(f);
  schedopt_losscurve_free(lc);
}

/* On a terminal (script(1) gives the command one) fit shows its progress
 * line on standard error; -q silences it; through a pipe there is none. */
static void test_progress_tty(void) {
  if (system("script -qec true /dev/null >/dev/null 2>&1") != 0) {
    printf("  (skipped: no script(1) to give the command a terminal)\n");
    return;
  }
  char cmd[8192], dir[2048];
  snprintf(dir, sizeof dir, "%s/cli_fit_tty", SCHEDOPT_TMP_DIR);
  const char *fit = "fit '" SCHEDOPT_SOURCE_DIR "/problems/fit_fsl_llm_100m.yaml' --set "
                    "fit.starts=2 --set fit.max_points=40 --set fit.maxeval=100";
  for (int quiet = 0; quiet < 2; quiet++) {
    snprintf(cmd, sizeof cmd, "script -qec \"'%s' %s -o '%s'%s\" /dev/null", SCHEDOPT_CLI, fit,
             dir, quiet ? " -q" : "");
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    CHECK(pclose(p) == 0);
    /* the stages in order (a short stage may pass between two updates) */
    const char *cv = strstr(out, "\rschedopt fit: cross-validation 1/"),
               *s1 = strstr(out, "\rschedopt fit: start 1/2 ");
    int line = cv && s1 && cv < s1 && strstr(out, " eval ") != NULL;
    CHECK_MSG(quiet ? !line && !strstr(out, "fitted on") : line && has("fitted on 3 curves"),
              "quiet %d:\n%s", quiet, out);
  }
  snprintf(cmd, sizeof cmd, "%s -o '%s'", fit, dir);
  CHECK(test_run_cli(cmd, out, sizeof out) == 0 && !strstr(out, "\r"));
}

/* predict's observed column: filled at every logged step, also off the
 * output grid (here a grid of every 1000 steps against a log of every 128) */
static void test_observed(void) {
  char args[4096], out[1 << 14];
  const char *o = test_tmp_path("observed.csv");
  snprintf(args, sizeof args,
           "predict '%s/problems/fit_predict_wsd_100m.yaml' -q -o '%s' --set output.every=1000",
           SCHEDOPT_SOURCE_DIR, o);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  char log[2048];
  snprintf(log, sizeof log, "%s/examples/data/mpl-llama-100M/wsd_20000_24000.csv",
           SCHEDOPT_SOURCE_DIR);
  size_t nlog = 0, nobs = 0;
  FILE *f = fopen(log, "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (atof(line) >= 2176) nlog++; /* logged steps inside the prediction */
  if (f) fclose(f);
  f = fopen(o, "r");
  while (f && fgets(line, sizeof line, f)) {
    size_t k = strlen(line);
    if (k > 1 && line[k - 2] != ',' && strchr(line, ',') && line[0] != 's') nobs++;
  }
  if (f) fclose(f);
  CHECK_MSG(nlog > 100 && nobs == nlog, "%zu logged steps, %zu rows with an observed loss", nlog,
            nobs);
}

/* a parameter left on a bound of its box is reported, on stderr and in
 * fit.json (here L0's box is moved above the fitted level) */
static void test_bound_warning(void) {
  char args[4096], out[1 << 15];
  const char *dir = test_tmp_path("bound_fit");
  snprintf(args, sizeof args,
           "fit '%s/problems/fit_mpl_100m.yaml' -o '%s' --set fit.starts=1 "
           "--set 'params.L0={lo: 2.7, hi: 3.0}'",
           SCHEDOPT_SOURCE_DIR, dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && strstr(out, "warning: L0 = 2.7 is on the lower bound of its search box"),
            "exit %d: %s", rc, out);
  char fj[4200];
  snprintf(fj, sizeof fj, "%s/fit.json", dir);
  const char *j = test_slurp_static(fj);
  CHECK_MSG(j && strstr(j, "\"warnings\": [") && strstr(j, "L0 = 2.7 is on the lower bound"),
            "%s", j ? j : "(no fit.json)");
}

/* The number of "schedopt: warning: " lines in out. */
static int nwarn(void) {
  int n = 0;
  for (const char *p = out; (p = strstr(p, "schedopt: warning: ")); p++) n++;
  return n;
}

/* predict against what the fit saw (fit.json's fit.range, as design checks
 * it): a horizon, peak, tokens per step or schedule family outside it is a
 * warning on standard error (also with -q) and the CSV is still written;
 * inside it, or with an inline model, none. */
static void test_predict_range(void) {
  static const char *params = "\"L0\": 2.6514477, \"A\": 0.60115152, \"alpha\": 0.45295811, "
                              "\"B\": 437.9464276, \"C\": 2.13245612, \"beta\": 0.59785199, "
                              "\"gamma\": 0.65523644";
  char json[2048], args[4096];
  snprintf(json, sizeof json,
           "{\"model\": \"mpl\", \"params\": {%s}, \"fit\": {\"range\": {\"peak_lr\": [3.0e-4, "
           "3.0e-4], \"steps\": [1000, 2000], \"tokens_per_step\": [5.0e5, 5.0e5], "
           "\"model_size\": null, \"schedules\": [\"cosine\", \"wsd\"]}}, \"covariates\": "
           "{\"tokens_per_step\": {\"reference\": 5.0e5, \"scales\": \"B\", \"exponent\": 1}}}\n",
           params);
  test_write_tmp("range_fit.json", json);
  snprintf(json, sizeof json, "{\"model\": \"mpl\", \"params\": {%s}}\n", params);
  char old[2200]; /* --set names a file from the current folder */
  snprintf(old, sizeof old, "--set 'model=%s' --set schedule.steps=4000",
           test_write_tmp("range_fit_old.json", json));
  const char *spec = test_write_tmp("range_pred.yaml",
                                    "model: range_fit.json\n"
                                    "schedule:\n  steps: 1500\n"
                                    "  lr: {type: wsd, peak: 3.0e-4, decay_frac: 0.2, warmup: 100}\n"
                                    "output: {every: 100}\n");
  const char *csv = test_tmp_path("range_pred.csv");
  struct {
    const char *sets, *want; /* want NULL: no warning */
  } cases[] = {
      {"", NULL},
      {"--set schedule.steps=4000",
       "schedopt: warning: horizon 4000 steps is 2× the longest fitted run (2000): the "
       "prediction extrapolates in horizon"},
      {"--set tokens_per_step=1e6",
       "schedopt: warning: tokens per step 1000000 (tokens_per_step) is 2× the largest of the "
       "fitted runs (500000): the prediction extrapolates in batch size"},
      {"--set tokens_per_step=5e5", NULL},
      {"--set schedule.lr.peak=9e-4",
       "schedopt: warning: peak lr 0.0009 is 3× the largest fitted peak (0.0003): the "
       "prediction extrapolates in learning rate"},
      {"--set 'schedule.lr={type: constant, value: 3.0e-4}'",
       "schedopt: warning: schedule family constant (the schedule) is not among the fitted "
       "runs' (cosine, wsd): its prediction extrapolates in schedule shape"},
      {old,
       "schedopt: warning: the fit result does not record what it saw (no fit.range: written by "
       "an older schedopt fit): whether the prediction extrapolates is unknown"},
      {"--set 'model={type: mpl, params: {L0: 2.6514477, A: 0.60115152, alpha: 0.45295811, "
       "B: 437.9464276, C: 2.13245612, beta: 0.59785199, gamma: 0.65523644}}' "
       "--set schedule.steps=4000",
       NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    remove(csv);
    snprintf(args, sizeof args, "predict '%s' -q -o '%s' %s", spec, csv, cases[i].sets);
    int rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 0, "case %zu: exit %d: %s", i, rc, out);
    CHECK_MSG(test_count_lines(csv, NULL, 0, 0) > 10, "case %zu: no table in %s", i, csv);
    if (cases[i].want) CHECK_MSG(has(cases[i].want) && nwarn() == 1, "case %zu", i);
    else CHECK_MSG(nwarn() == 0 && !strstr(out, "warning"), "case %zu: %s", i, out);
  }
  /* without -q: the summary, then the warning */
  snprintf(args, sizeof args, "predict '%s' -o '%s' --set schedule.steps=4000", spec, csv);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && has("schedopt predict: range_pred: mpl over 4000 steps") &&
                has("warning: horizon 4000 steps is 2×") && nwarn() == 1,
            "exit %d", rc);
}

int main(void) {
  test_predict_range();
  test_observed();
  test_bound_warning();
  test_progress_lib();
  test_progress_tty();
  test_bundled();
  test_bad_fit();
  test_bad_predict();
  return test_finish();
}
