/* The opt-in baseline 'exponential' (FSL's exponential decay, start and end
 * tuned in log scale): a positive channel minimum (optimize.controls.lr.min,
 * here 1e-4 of the maximum, where every standard baseline runs) bounds its
 * end from below instead of refusing the run, and changes nothing where the
 * tuned end lies above it; 'baselines: all' leaves it out. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char out[1 << 16];

static const char *yaml =
    "name: test_baseline_exponential\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 50, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: 1000}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
    "  baselines: [exponential, constant]\n"
    "  maxeval: 30\n";

/* the number after "key": in the baseline object named name (NAN if absent) */
static double field(const char *js, const char *name, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"name\": \"%s\"", name);
  const char *b = js ? strstr(js, pat) : NULL;
  if (!b) return NAN;
  snprintf(pat, sizeof pat, "\"%s\": ", key);
  const char *k = strstr(b, pat);
  return k ? atof(k + strlen(pat)) : NAN;
}

static const char *run(const char *prob, const char *dir, const char *sets) {
  static char args[16384];
  snprintf(args, sizeof args, "optimize '%s' -q -o '%s' %s", prob, dir, sets);
  const int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "%s: exit %d: %s", sets, rc, out);
  return rc == 0 ? test_slurp_static(test_path_in(dir, "summary.json")) : NULL;
}

int main(void) {
  char prob[4096], d1[4096], d2[4096], d3[4096];
  snprintf(prob, sizeof prob, "%s", test_write_tmp("baseline_exponential.yaml", yaml));
  snprintf(d1, sizeof d1, "%s", test_tmp_path("exp_default"));
  snprintf(d2, sizeof d2, "%s", test_tmp_path("exp_min"));
  snprintf(d3, sizeof d3, "%s", test_tmp_path("exp_all"));

  const char *js = run(prob, d1, "");
  const double J0 = field(js, "exponential", "objective"), end0 = field(js, "exponential", "end");
  /* a decay to a few per cent beats the best constant on the hard phase */
  CHECK_MSG(J0 < field(js, "constant", "objective"), "exponential %.9g, constant %.9g", J0,
            field(js, "constant", "objective"));
  CHECK_MSG(end0 > 1e-4 && end0 < 1, "end = %g", end0);

  /* min = 1e-4: the end's range was [1e-8, 1], outside [min, max], and the
   * run stopped with an error; now [1e-4, 1], the same tuned schedule */
  js = run(prob, d2, "--set optimize.controls.lr.min=1e-4");
  const double J1 = field(js, "exponential", "objective"), end1 = field(js, "exponential", "end");
  CHECK_MSG(end1 >= 1e-4 && end1 <= 1, "end = %g", end1);
  CHECK_CLOSE(J1, J0, 1e-7, 0);

  js = run(prob, d3, "--set optimize.baselines=all");
  CHECK(js && strstr(js, "\"name\": \"constant\"") && !strstr(js, "\"name\": \"exponential\""));
  return test_finish();
}
