/* schedopt optimize: outputs exist and parse (summary.json with jansson,
 * schedule.csv, baselines.csv, summary.txt), the folder is created, the
 * summary goes to stdout without -o, and bad optimize: input gives exit 2
 * with a located message. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static char out[1 << 16];

static const char *problem =
    "# small hard-phase problem\n"
    "name: tiny\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 50, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: 400}\n"
    "controls:\n"
    "  lr: {type: wsd, peak: 1.0, decay_frac: 0.2}\n"
    "  batch: 5\n"
    "optimize:\n"
    "  controls:\n"
    "    lr: {param: freeform, knots: 24, monotone: true}\n"
    "  baselines: [constant, cosine, linear]\n";

static int exists(const char *dir, const char *name) {
  char p[8192];
  snprintf(p, sizeof p, "%.4000s/%.100s", dir, name);
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

static void test_outputs(void) {
  const char *yaml = test_write_tmp("opt_tiny.yaml", problem);
  char dir[4096], args[16384], path[4200];
  snprintf(dir, sizeof dir, "%.3000s/opt_out/nested/deeper", SCHEDOPT_TMP_DIR);
  snprintf(args, sizeof args, "optimize '%s' -o '%s' -q", yaml, dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
  CHECK_MSG(out[0] == '\0', "-q with -o prints nothing, got: %s", out);
  CHECK(exists(dir, "schedule.csv"));
  CHECK(exists(dir, "baselines.csv"));
  CHECK(exists(dir, "summary.json"));
  CHECK(exists(dir, "summary.txt"));
  /* no temporary files left behind */
  DIR *dd = opendir(dir);
  size_t files = 0;
  for (struct dirent *e; dd && (e = readdir(dd));)
    if (e->d_name[0] != '.') files++;
  if (dd) closedir(dd);
  CHECK_MSG(files == 4, "%zu files in the output folder", files);

  char header[1024];
  snprintf(path, sizeof path, "%.4000s/schedule.csv", dir);
  size_t rows = test_count_lines(path, header, sizeof header, 0);
  CHECK(!strcmp(header, "step,tokens,lr,batch,momentum,loss,excess,bias,variance,approx\n"));
  CHECK_MSG(rows > 24, "schedule.csv has %zu lines", rows);
  snprintf(path, sizeof path, "%.4000s/baselines.csv", dir);
  CHECK(test_count_lines(path, header, sizeof header, 0) == rows);
  CHECK(!strncmp(header, "step,tokens,lr_optimum,loss_optimum,lr_constant,loss_constant,", 62));

  snprintf(path, sizeof path, "%.4000s/summary.json", dir);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  CHECK_MSG(root != NULL, "summary.json: %s (line %d)", je.text, je.line);
  if (!root) return;
  CHECK(!strcmp(json_string_value(json_object_get(json_object_get(root, "problem"), "name")), "tiny"));
  json_t *model = json_object_get(root, "model");
  CHECK(json_real_value(json_object_get(model, "a")) == 3.5);
  CHECK(json_real_value(json_object_get(model, "beta")) == 5);
  CHECK_CLOSE(json_real_value(json_object_get(model, "s")), 0.5, 1e-15, 0);
  json_t *phase = json_object_get(root, "phase");
  CHECK(!strcmp(json_string_value(json_object_get(phase, "name")), "hard"));
  CHECK_CLOSE(json_real_value(json_object_get(json_object_get(phase, "theory_exponents"), "optimal")),
              0.5, 1e-15, 0);
  json_t *budget = json_object_get(root, "budget");
  CHECK(!strcmp(json_string_value(json_object_get(budget, "kind")), "steps"));
  CHECK(json_real_value(json_object_get(budget, "amount")) == 400);
  CHECK(!strcmp(json_string_value(json_object_get(json_object_get(root, "objective"), "kind")), "final"));
  json_t *opt = json_object_get(root, "optimizer");
  CHECK(!strcmp(json_string_value(json_object_get(opt, "algorithm")), "LD_LBFGS"));
  const char *res = json_string_value(json_object_get(opt, "result"));
  CHECK(res && strlen(res) > 3);
  CHECK(json_integer_value(json_object_get(opt, "evaluations")) > 0);
  CHECK(json_real_value(json_object_get(opt, "seconds")) >= 0);
  json_t *best = json_object_get(root, "optimum");
  double J = json_real_value(json_object_get(best, "objective"));
  CHECK(J > 0.25 && J < 0.3);
  CHECK(json_array_size(json_object_get(best, "decision")) == 24);
  CHECK(json_array_size(json_object_get(best, "decision_names")) == 24);
  json_t *ch = json_array_get(json_object_get(json_object_get(root, "design"), "channels"), 0);
  CHECK(!strcmp(json_string_value(json_object_get(ch, "param")), "freeform"));
  CHECK(!strcmp(json_string_value(json_object_get(ch, "monotone")), "decreasing"));
  CHECK(json_array_size(json_object_get(ch, "knot_times")) == 24);
  json_t *vals = json_object_get(ch, "values");
  CHECK(json_array_size(vals) == 24);
  for (size_t i = 1; i < json_array_size(vals); i++) /* non-increasing (no warmup) */
    CHECK(json_real_value(json_array_get(vals, i)) <= json_real_value(json_array_get(vals, i - 1)) + 1e-15);
  json_t *bl = json_object_get(root, "baselines");
  CHECK(json_array_size(bl) == 3);
  for (size_t i = 0; i < json_array_size(bl); i++) {
    json_t *b = json_array_get(bl, i);
    double Jb = json_real_value(json_object_get(b, "objective"));
    CHECK(Jb >= J);
    CHECK_CLOSE(json_real_value(json_object_get(b, "ratio")), Jb / J, 1e-12, 0);
    CHECK(json_real_value(json_object_get(b, "excess_ratio")) >= 1);
    CHECK(json_is_object(json_object_get(b, "tuned")));
  }
  CHECK(!strcmp(json_string_value(json_object_get(json_array_get(bl, 0), "name")), "constant"));
  CHECK(json_is_true(json_object_get(json_array_get(bl, 0), "contained")));
  CHECK(json_is_true(json_object_get(json_object_get(root, "checks"), "ok")));
  json_decref(root);

  snprintf(path, sizeof path, "%.4000s/summary.txt", dir);
  FILE *f = fopen(path, "r");
  size_t k = f ? fread(out, 1, sizeof out - 1, f) : 0;
  out[k] = '\0';
  if (f) fclose(f);
  CHECK(strstr(out, "optimum") && strstr(out, "cosine") && strstr(out, "excess/opt"));
  CHECK(strstr(out, "hard phase"));

  /* without -o: the summary on stdout, nothing written */
  snprintf(args, sizeof args, "optimize '%s' --set optimize.baselines=none "
           "--set optimize.objective.type=mean --set optimize.objective.from_frac=0.5", yaml);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
  CHECK(strstr(out, "objective  mean loss over [200, 400]") != NULL);
  CHECK(strstr(out, "optimum") != NULL);
}

static void test_help(void) {
  CHECK(test_run_cli("optimize --help", out, sizeof out) == 0);
  CHECK(strstr(out, "Usage: schedopt optimize PROBLEM.yaml") != NULL);
  CHECK(test_run_cli("--help", out, sizeof out) == 0);
  CHECK(strstr(out, "optimize") != NULL);
  CHECK(test_run_cli("optimize", out, sizeof out) == 2);
  CHECK(test_run_cli("optimize x.yaml --bogus", out, sizeof out) == 2);
}

/* Bad optimize: input → exit 2, a located message naming the key. */
static void bad(const char *name, const char *section, const char *want) {
  char text[4096], args[4096];
  snprintf(text, sizeof text,
           "model: {a: 3.5, b: 5, N: 20, dynamics: recursion}\n"
           "budget: {steps: 100}\n"
           "controls: {lr: 0.5, batch: 5}\n"
           "%s", section);
  const char *yaml = test_write_tmp(name, text);
  snprintf(args, sizeof args, "optimize '%s' -q", yaml);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2, "%s: rc %d: %s", name, rc, out);
  CHECK_MSG(strstr(out, name) && strstr(out, ": error: ") && strstr(out, want),
            "%s: want a located message with '%s', got: %s", name, want, out);
  char loc[256];
  snprintf(loc, sizeof loc, "%s:", name);
  const char *at = strstr(out, loc);
  int line = 0, col = 0;
  CHECK_MSG(at && sscanf(strstr(at, ".yaml:") + 6, "%d:%d", &line, &col) == 2 && line >= 4,
            "%s: no line:column in %s", name, out);
}

static void test_bad_input(void) {
  bad("ob1.yaml", "optimize:\n  controls:\n    lr: {param: freeform, knotz: 32}\n",
      "unknown key 'knotz' in optimize.controls.lr");
  bad("ob2.yaml", "optimize:\n  algorithm: LD_LBFGZ\n", "did you mean 'LD_LBFGS'");
  bad("ob3.yaml", "optimize:\n  objective: {type: horizons}\n", "needs 'at'");
  bad("ob4.yaml", "optimize:\n  controls:\n    lr: {param: freeform, knots: 8}\n",
      "optimize.controls.lr.knots = 8 is out of range");
  bad("ob5.yaml", "optimize:\n  controls:\n    lr: {param: family, vary: [valeu]}\n",
      "did you mean 'value'");
  bad("ob6.yaml", "optimize:\n  controls:\n    momentum: freeform\n", "has no momentum");
  bad("ob7.yaml", "optimize:\n  baselines: [cosin, wsd]\n", "did you mean 'cosine'");
  bad("ob8.yaml", "optimize:\n  objective: {type: horizons, at: [50, 200]}\n",
      "optimize.objective.at[1] = 200");
  bad("ob9.yaml", "optimize:\n  controls: {lrr: freeform}\n", "did you mean 'lr'");
  bad("ob10.yaml", "optimize:\n  controls:\n    lr: {param: family, vary: [value], knots: 16}\n",
      "applies to param: freeform only");
  bad("ob11.yaml", "optimize:\n  starts: 0\n", "optimize.starts = 0 is out of range");
  bad("ob12.yaml", "optimize:\n  objective: {type: mean, from: 80, to: 20}\n", "is empty");
  bad("ob13.yaml", "optimize: [1, 2]\n", "expected a mapping");
  bad("ob14.yaml", "optimize:\n  algorithm: GOLDEN\n", "exactly 1 decision variable");
  /* --set: the message names the override */
  const char *yaml = test_write_tmp("ob_set.yaml", "model: {a: 3.5, b: 5, N: 20}\n"
                                                   "budget: {steps: 100}\n");
  char args[4096];
  snprintf(args, sizeof args, "optimize '%s' --set optimize.controls.lr.knots=2000", yaml);
  CHECK(test_run_cli(args, out, sizeof out) == 2);
  CHECK(strstr(out, "--set optimize.controls.lr.knots=2000: error:") != NULL);
}

int main(void) {
  test_help();
  test_outputs();
  test_bad_input();
  return test_finish();
}
