/* The CLI end to end: help and version, simulate on every bundled problem,
 * -o - and --set, and bad input: message fragment, exit code 2, no output
 * file (and an existing file left as it was). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 16];

static void expect_fail(const char *yaml_name, const char *yaml, const char *extra,
                        const char *fragment) {
  const char *path = test_write_tmp(yaml_name, yaml);
  char outcsv[4096], args[8192];
  snprintf(outcsv, sizeof outcsv, "%s/%s.csv", SCHEDOPT_TMP_DIR, yaml_name);
  unlink(outcsv);
  snprintf(args, sizeof args, "simulate '%s' -o '%s' %s", path, outcsv, extra ? extra : "");
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2, "%s: exit %d, want 2; output: %s", yaml_name, rc, out);
  CHECK_MSG(strstr(out, fragment) != NULL, "%s: '%s' not in: %s", yaml_name, fragment, out);
  CHECK_MSG(access(outcsv, F_OK) != 0, "%s: output file was written", yaml_name);
}

static const char *good =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {steps: 1000}\n"
    "controls:\n"
    "  lr: {type: cosine, peak: 0.5}\n"
    "  batch: 4\n"
    "output: {points: 50}\n";

/* --progress: in a log (not a terminal) a line of its own at the log
 * cadence (SCHEDOPT_PROGRESS_SECONDS, 10 s by default), never a carriage
 * return; -q silences it unless --progress always; never silences it. */
static void progress_modes(void) {
  char args[4096];
  const char *fit = SCHEDOPT_SOURCE_DIR "/problems/fit_fsl_llm_100m.yaml";
  const char *dir = SCHEDOPT_TMP_DIR "/progress";
  const char *modes[4] = {"--progress always -q", "", "-q", "--progress never"};
  for (int m = 0; m < 4; m++) {
    snprintf(args, sizeof args, "fit '%s' -o '%s' --set fit.starts=2 --set fit.max_points=60 %s",
             fit, dir, modes[m]);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'; SCHEDOPT_PROGRESS_SECONDS=0.02 '%s' %s 2>&1 >/dev/null",
             dir, SCHEDOPT_CLI, args);
    int rc = test_run_cmd(cmd, out, sizeof out);
    int lines = 0;
    for (const char *q = out; (q = strstr(q, "schedopt fit: ")) != NULL; q++)
      lines += strstr(q, " eval ") && strchr(q, '\n') && strstr(q, " eval ") < strchr(q, '\n');
    CHECK_MSG(rc == 0, "%s: exit %d\n%s", modes[m], rc, out);
    CHECK_MSG(!strchr(out, '\r'), "%s: a carriage return in a log", modes[m]);
    if (m < 2) CHECK_MSG(lines >= 2, "%s: %d progress lines\n%s", modes[m], lines, out);
    else CHECK_MSG(lines == 0, "%s: %d progress lines\n%s", modes[m], lines, out);
  }
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  CHECK(system(args) == 0);
  int rc = test_run_cli("fit x.yaml --progress sometimes", out, sizeof out);
  CHECK(rc == 2 && strstr(out, "--progress sometimes: expected auto, always or never"));
  rc = test_run_cli("fit x.yaml --progres", out, sizeof out);
  CHECK(rc == 2 && strstr(out, "did you mean '--progress'"));
}

int main(void) {
  int rc = test_run_cli("--help", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "simulate"));
  rc = test_run_cli("simulate --help", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "--set KEY=VALUE"));
  rc = test_run_cli("--version", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "schedopt 0."));
  rc = test_run_cli("frobnicate", out, sizeof out);
  CHECK(rc == 2 && strstr(out, "unknown command"));
  rc = test_run_cli("simulate", out, sizeof out);
  CHECK(rc == 2 && strstr(out, "missing PROBLEM.yaml"));
  rc = test_run_cli("simulate x.yaml --bogus", out, sizeof out);
  CHECK(rc == 2 && strstr(out, "unknown option '--bogus'"));
  /* schedopt help CMD, and "did you mean" for commands and options */
  rc = test_run_cli("help optimize", out, sizeof out);
  CHECK_MSG(rc == 0 && strstr(out, "Usage: schedopt optimize"), "exit %d: %s", rc, out);
  rc = test_run_cli("help", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "Commands:"));
  rc = test_run_cli("optimse x.yaml", out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "unknown command 'optimse'; did you mean 'optimize'?"), "%s",
            out);
  rc = test_run_cli("help simulat", out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "did you mean 'simulate'?"), "%s", out);
  rc = test_run_cli("simulate x.yaml --qiet", out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "unknown option '--qiet'; did you mean '--quiet'?"), "%s",
            out);
  rc = test_run_cli("simulate /nonexistent/p.yaml", out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "/nonexistent/p.yaml"), "rc %d: %s", rc, out);

  /* every bundled problem runs and ends at its horizon */
  const char *problems[] = {"easy_phase", "hard_phase", "fsl_notation"};
  for (int i = 0; i < 3; i++) {
    char args[12288], csv[4096], last[4096] = "";
    snprintf(csv, sizeof csv, "%s/%s.csv", SCHEDOPT_TMP_DIR, problems[i]);
    snprintf(args, sizeof args, "simulate '%s/problems/%s.yaml' -o '%s'", SCHEDOPT_SOURCE_DIR,
             problems[i], csv);
    rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 0, "%s: exit %d: %s", problems[i], rc, out);
    size_t n = test_count_lines(csv, last, sizeof last, 1);
    CHECK_MSG(n >= 100, "%s: %zu lines", problems[i], n);
    CHECK_MSG(strncmp(last, "10000,", 6) == 0, "%s: last row %s", problems[i], last);
  }

  /* -o - writes the table to stdout; --set overrides; header and row count */
  const char *p = test_write_tmp("good.yaml", good);
  char args[8192];
  snprintf(args, sizeof args, "simulate '%s' -q -o - --set budget.steps=2000 --set output.points=20", p);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  const char *hdr = "step,tokens,lr,batch,momentum,loss,excess,bias,variance\n";
  CHECK(strncmp(out, hdr, strlen(hdr)) == 0);
  size_t rows = 0;
  for (const char *q = out; (q = strchr(q, '\n')); q++) rows++;
  CHECK_MSG(rows == 21, "%zu lines", rows);
  CHECK(strstr(out, "\n2000,8000,") != NULL); /* last step 2000, 4 samples per step */

  /* a failing run leaves an existing output file as it was */
  char keep[4096];
  snprintf(keep, sizeof keep, "%s/keep.csv", SCHEDOPT_TMP_DIR);
  FILE *f = fopen(keep, "w");
  fputs("precious\n", f);
  fclose(f);
  snprintf(args, sizeof args, "simulate '%s' -o '%s' --set model.a=0.5", p, keep);
  rc = test_run_cli(args, out, sizeof out);
  CHECK(rc == 2);
  char line[64] = "";
  f = fopen(keep, "r");
  CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "precious\n") == 0);
  if (f) fclose(f);

  /* a diverging schedule: exit 1, a divergence message, no table */
  snprintf(args, sizeof args, "simulate '%s' -o '%s/div.csv' --set controls.lr.peak=3", p,
           SCHEDOPT_TMP_DIR);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 1 && strstr(out, "diverged at step"), "rc %d: %s", rc, out);

  /* bad input: located messages, exit 2, no output */
  expect_fail("syntax.yaml", "model: {a: 2.5\nbudget: {steps: 10}\n", NULL, "syntax.yaml:");
  expect_fail("dup.yaml", "model: {a: 2.5, b: 1.5}\nmodel: {a: 3}\nbudget: {steps: 10}\n", NULL,
              "duplicate key");
  expect_fail("unknown.yaml", "model: {a: 2.5, b: 1.5}\nbudget: {steps: 10}\nlr: 0.1\n", NULL,
              "unknown.yaml:3:1: error: unknown key 'lr'");
  expect_fail("a_low.yaml", "model: {a: 0.9, b: 1.5}\nbudget: {steps: 10}\n", NULL,
              "a_low.yaml:1:12: error: model.a = 0.9 is out of range: must be in (1, 1000]");
  expect_fail("b_low.yaml", "model: {a: 2.5, b: 1}\nbudget: {steps: 10}\n", NULL,
              "model.b = 1 is out of range: must be in (1, 1000]");
  expect_fail("n_low.yaml", "model: {a: 2.5, b: 1.5, N: 0}\nbudget: {steps: 10}\n", NULL,
              "model.N = 0 is out of range");
  expect_fail("sigma.yaml", "model: {a: 2.5, b: 1.5, sigma2: -1}\nbudget: {steps: 10}\n", NULL,
              "model.sigma2 = -1 is out of range: must be >= 0");
  expect_fail("lr_neg.yaml",
              "model: {a: 2.5, b: 1.5}\nbudget: {steps: 10}\ncontrols: {lr: -0.1}\n", NULL,
              "controls.lr");
  expect_fail("batch.yaml",
              "model: {a: 2.5, b: 1.5}\nbudget: {steps: 10}\ncontrols: {batch: 0.5}\n", NULL,
              "controls.batch");
  expect_fail("mom.yaml",
              "model: {a: 2.5, b: 1.5}\nbudget: {steps: 10}\ncontrols: {momentum: 1}\n", NULL,
              "controls.momentum");
  expect_fail("type.yaml", "model: {a: two, b: 1.5}\nbudget: {steps: 10}\n", NULL,
              "type.yaml:1:12: error:");
  expect_fail("empty.yaml", "", NULL, "empty.yaml");
  expect_fail("nobudget.yaml", "model: {a: 2.5, b: 1.5}\n", NULL, "budget");
  expect_fail("set.yaml", good, "--set controls.lr.peak=-1", "--set controls.lr.peak=-1");
  expect_fail("setkey.yaml", good, "--set model.zzz=1", "unknown key 'zzz'");
  progress_modes();
  return test_finish();
}
