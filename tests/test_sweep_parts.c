/* schedopt sweep / merge at the edges of a case's record: every named
 * baseline (up to every type) keeps its column, and a shard whose case has
 * half of the optimum's bias/variance split (one field null) merges into
 * files that agree with each other: the case has no split in sweep.json,
 * and the fitted slopes count only the cases that do. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char out[1 << 16];

/* small and fast: N = 50, recursion, two or three horizons */
static const char *yaml =
    "name: test_sweep_parts\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 50, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: 100}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
    "  baselines: [constant, linear]\n"
    "  maxeval: 30\n"
    "sweep: {key: budget.steps, values: [300, 1000, 3000]}\n";

static size_t count(const char *text, const char *what) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) n++;
  return n;
}

/* nine baselines asked for by name (more than the 7 a case had room for):
 * each is in every case's results, the opt-in exponential decay included */
static void many_baselines(const char *prob) {
  static const char *const names[] = {"constant", "cosine",   "linear",  "wsd",        "power",
                                      "shape",    "megatron", "nanogpt", "exponential"};
  char dir[4096];
  static char args[16384];
  snprintf(dir, sizeof dir, "%s/sweep_parts_many", SCHEDOPT_TMP_DIR);
  snprintf(args, sizeof args,
           "sweep '%s' -q -j 1 -o '%s' --set 'sweep.values=[300, 1000]' --set "
           "'optimize.baselines=[constant, cosine, linear, wsd, power, shape, megatron, nanogpt, "
           "exponential]'",
           prob, dir);
  CHECK_MSG(test_run_cli(args, out, sizeof out) == 0, "%s", out);
  const char *js = test_slurp_static(test_path_in(dir, "sweep.json"));
  CHECK(js != NULL);
  if (!js) return;
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"schedule\": \"%s\"", names[k]);
    /* two cases, and one slope */
    CHECK_MSG(count(js, pat) == 3, "%s appears %zu times in sweep.json (want 3)", names[k],
              count(js, pat));
  }
}

/* a hand-edited shard: case 0's optimum_bias null, its variance kept */
static void half_split(const char *prob) {
  char ds[4096], dm[4096];
  static char args[16384];
  snprintf(ds, sizeof ds, "%s/sweep_parts_shards", SCHEDOPT_TMP_DIR);
  snprintf(dm, sizeof dm, "%s/sweep_parts_merged", SCHEDOPT_TMP_DIR);
  for (int k = 1; k <= 2; k++) {
    snprintf(args, sizeof args, "sweep '%s' -q -j 1 --shard %d/2 -o '%s'", prob, k, ds);
    CHECK_MSG(test_run_cli(args, out, sizeof out) == 0, "%s", out);
  }
  const char *path = test_path_in(ds, "sweep-shard-1-of-2.json");
  size_t n = 0;
  char *text = test_slurp(path, &n);
  CHECK(text != NULL);
  if (!text) return;
  /* shard 1 holds cases 0 and 2; the first optimum_bias is case 0's */
  const char *key = "\"optimum_bias\": ";
  char *p = strstr(text, key);
  CHECK(p != NULL && count(text, "\"optimum_variance\"") == 2);
  if (p) {
    p += strlen(key);
    const size_t len = strcspn(p, ",\n}");
    char *ed = malloc(n + 8);
    if (ed) {
      snprintf(ed, n + 8, "%.*snull%s", (int)(p - text), text, p + len);
      test_write_text(path, ed);
      free(ed);
    }
  }
  free(text);
  snprintf(args, sizeof args, "merge '%s' -q -o '%s'", ds, dm);
  CHECK_MSG(test_run_cli(args, out, sizeof out) == 0, "%s", out);
  const char *js = test_slurp_static(test_path_in(dm, "sweep.json"));
  CHECK(js != NULL);
  if (!js) return;
  /* the case without its bias has no split at all: two cases carry one */
  CHECK_MSG(count(js, "\"optimum_variance\"") == 2 && count(js, "\"optimum_bias\"") == 2,
            "%zu cases with a variance, %zu with a bias", count(js, "\"optimum_variance\""),
            count(js, "\"optimum_bias\""));
  /* and both slopes are fitted on those two */
  const char *sl = strstr(js, "\"schedule\": \"optimum variance\"");
  CHECK(sl != NULL);
  if (sl) CHECK_MSG(strstr(sl, "\"cases\": 2") != NULL, "%.300s", sl);
  sl = strstr(js, "\"schedule\": \"optimum bias\"");
  CHECK(sl != NULL);
  if (sl) CHECK_MSG(strstr(sl, "\"cases\": 2") != NULL, "%.300s", sl);
}

int main(void) {
  char prob[4096];
  snprintf(prob, sizeof prob, "%s", test_write_tmp("sweep_parts.yaml", yaml));
  many_baselines(prob);
  half_split(prob);
  return test_finish();
}
