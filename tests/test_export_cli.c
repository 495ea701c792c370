/* `schedopt export` end to end: every format from a bundled problem, --points,
 * --peak-lr, --set, and bad input (no or unknown format, bad option values,
 * a schedule Megatron cannot express): exit 2 and no output file. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 20];

static void expect_fail(const char *extra, const char *fragment) {
  char args[8192], file[4096];
  snprintf(file, sizeof file, "%s/fail.out", SCHEDOPT_TMP_DIR);
  unlink(file);
  snprintf(args, sizeof args, "export '%s/problems/hard_phase.yaml' -o '%s' %s",
           SCHEDOPT_SOURCE_DIR, file, extra);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2, "%s: exit %d, want 2: %s", extra, rc, out);
  CHECK_MSG(strstr(out, fragment) != NULL, "%s: '%s' not in: %s", extra, fragment, out);
  CHECK_MSG(access(file, F_OK) != 0, "%s: output written", extra);
}

int main(void) {
  const char *formats[] = {"csv", "json", "pytorch", "megatron", "nanogpt", "hf"};
  const char *marks[] = {"step,samples,tokens,lr,batch,momentum,loss,excess,bias,variance\n",
                         "\"format\": \"schedopt-schedule\"",
                         "def lr_lambda(step):",
                         "--lr-decay-style WSD",
                         "def get_lr(it):",
                         "def make_optimizers(model"};
  char args[8192], file[4096];
  for (int k = 0; k < 6; k++) {
    snprintf(file, sizeof file, "%s/hard.%s", SCHEDOPT_TMP_DIR, formats[k]);
    snprintf(args, sizeof args,
             "export '%s/problems/hard_phase.yaml' --format %s -o '%s' --set model.N=200",
             SCHEDOPT_SOURCE_DIR, formats[k], file);
    int rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 0 && strstr(out, "10001 rows"), "%s: exit %d: %s", formats[k], rc, out);
    const char *s = test_slurp_static(file);
    CHECK_MSG(s && strstr(s, marks[k]), "%s: '%s' missing", formats[k], marks[k]);
  }
  /* the WSD flags of hard_phase: plateau to 8000, 2000-step linear anneal */
  snprintf(file, sizeof file, "%s/hard.megatron", SCHEDOPT_TMP_DIR);
  const char *s = test_slurp_static(file);
  CHECK(s && strstr(s, "--lr-wsd-decay-style linear\n") && strstr(s, "--lr-wsd-decay-iters 2000\n") &&
        strstr(s, "--train-iters 10000\n") && strstr(s, "--lr-decay-iters 10000\n") &&
        strstr(s, "--global-batch-size 5\n") && strstr(s, "reproduces the table"));

  /* standard output, a grid, a peak, samples units */
  snprintf(args, sizeof args,
           "export '%s/problems/hard_phase.yaml' -f csv --points 101 -q --peak-lr 3e-4 "
           "--set model.N=200",
           SCHEDOPT_SOURCE_DIR);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  size_t lines = 0;
  for (const char *q = out; (q = strchr(q, '\n')); q++) lines++;
  CHECK_MSG(lines == 103, "%zu lines", lines); /* header, 101 points, step 7999 before the knot */
  CHECK(strstr(out, "\n0,0,0,0.0003,5,0,") && strstr(out, "\n10000,50000,50000,0,5,0,"));
  snprintf(args, sizeof args,
           "export '%s/problems/hard_phase.yaml' -f megatron -q --megatron-units=samples "
           "--set model.N=200",
           SCHEDOPT_SOURCE_DIR);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && strstr(out, "--lr-wsd-decay-samples 10000\n") &&
                strstr(out, "--train-samples 50000\n"),
            "exit %d: %s", rc, out);

  /* Megatron parses its integer flags with int(): plain digits, never 1e+15;
   * a batch beyond 2^53 has no exact integer and is refused, before anything
   * is written */
  snprintf(args, sizeof args,
           "export '%s/problems/hard_phase.yaml' -f megatron -q --set model.N=20 "
           "--set model.dynamics=matched --set budget.steps=1e15",
           SCHEDOPT_SOURCE_DIR);
  rc = test_run_cli(args, out, sizeof out);
  const char *flags = strstr(out, "SCHEDOPT_LR_ARGS=(");
  CHECK_MSG(rc == 0 && flags && strstr(flags, "--train-iters 1000000000000000\n") &&
                strstr(flags, "--lr-wsd-decay-iters 200000000000000\n") && !strstr(flags, "e+"),
            "exit %d: %s", rc, out);
  snprintf(args, sizeof args,
           "export '%s/problems/hard_phase.yaml' -f megatron --set model.N=20 "
           "--set controls.batch=1e300",
           SCHEDOPT_SOURCE_DIR);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "--global-batch-size = 1e+300 is not an integer") &&
                !strstr(out, "SCHEDOPT_LR_ARGS") && !strstr(out, "# Megatron"),
            "exit %d: %s", rc, out);

  rc = test_run_cli("export --help", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "--megatron-units"));
  expect_fail("", "missing --format");
  expect_fail("-f tensorflow", "unknown export format 'tensorflow'");
  expect_fail("-f csv --points 1", "--points 1");
  expect_fail("-f csv --points 2.5", "--points 2.5");
  expect_fail("-f csv --peak-lr -1", "--peak-lr -1");
  expect_fail("-f megatron --tolerance 2", "--tolerance 2");
  expect_fail("-f megatron --megatron-units epochs", "--megatron-units epochs");
  expect_fail("-f csv --set model.a=0.5", "model.a");
  expect_fail("-f megatron --set controls.lr.type=811",
              "Megatron-LM has no learning-rate schedule equivalent");
  expect_fail("-f megatron --set controls.lr.shape=exponential --set controls.lr.floor=0.01",
              "tolerance of 2 %");
  /* the nearest is accepted at a looser tolerance */
  snprintf(args, sizeof args,
           "export '%s/problems/hard_phase.yaml' -f megatron -q --tolerance 0.5 "
           "--set controls.lr.shape=exponential --set controls.lr.floor=0.01 --set model.N=200",
           SCHEDOPT_SOURCE_DIR);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && strstr(out, "Not exact"), "exit %d: %s", rc, out);
  /* a diverging schedule: exit 1 */
  snprintf(args, sizeof args, "export '%s/problems/hard_phase.yaml' -f csv -q -o '%s/div.csv' "
                              "--set controls.lr.peak=5",
           SCHEDOPT_SOURCE_DIR, SCHEDOPT_TMP_DIR);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 1 && strstr(out, "diverged"), "exit %d: %s", rc, out);
  return test_finish();
}
