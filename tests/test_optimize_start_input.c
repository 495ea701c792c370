/* optimize's start when the problem's own schedule is refused as input: the
 * exact recursion under a data budget (docs/yaml.md: the recursion needs a
 * step budget) with no baselines was reported as "neither the problem's
 * schedule nor any baseline can be represented by the design without
 * diverging", exit 1; it is bad input: the reason, exit 2, nothing written.
 * A schedule that diverges is still a divergence (exit 1). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static char out[1 << 16];

static const char *yaml =
    "name: test_optimize_start_input\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 50, sigma2: 0.25, split: false}\n"
    "budget: {samples: 5000}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
    "  baselines: none\n"
    "  maxeval: 20\n";

int main(void) {
  char prob[4096], dir[4096];
  static char args[16384];
  snprintf(prob, sizeof prob, "%s", test_write_tmp("optimize_start_input.yaml", yaml));
  snprintf(dir, sizeof dir, "%s", test_tmp_path("start_input_out"));

  snprintf(args, sizeof args, "optimize '%s' -q -o '%s' --set model.dynamics=recursion", prob,
           dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2, "exit %d: %s", rc, out);
  CHECK_MSG(strstr(out, "step budget") && !strstr(out, "diverging"), "%s", out);
  struct stat sb;
  CHECK_MSG(stat(dir, &sb) != 0, "%s was written", dir);

  /* the same problem under the ODE runs */
  snprintf(args, sizeof args, "optimize '%s' -q -o -", prob);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  return test_finish();
}
