/* output.export and output.plot in problem files: simulate, optimize and
 * sweep write trainer exports and SVG figures next to their main output,
 * with the trainer's batch size and sequence length converting steps to
 * samples and tokens; bad values are located errors (exit 2) that leave no
 * file at all, and a schedule Megatron cannot express fails the whole run. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 18];

static int exists(const char *dir, const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

/* A fresh empty folder under the scratch folder. */
static const char *fresh_dir(const char *name) {
  static char d[4096];
  char cmd[8300];
  snprintf(d, sizeof d, "%s/%s", SCHEDOPT_TMP_DIR, name);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
  if (system(cmd) != 0) fprintf(stderr, "cannot make %s\n", d);
  return d;
}

/* Number of entries in a folder (ls -A | wc -l). */
static int nfiles(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p) {
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

/* WSD at the cap, 20 % linear anneal: Megatron's WSD reproduces it. */
static const char *head =
    "name: wsd\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 60, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: 1000}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
    "  baselines: [constant, linear]\n";

static void simulate_exports(void) {
  const char *d = fresh_dir("sim");
  char text[4096], args[8192], file[4200];
  snprintf(text, sizeof text,
           "%soutput:\n"
           "  points: 20\n"
           "  export:\n"
           "    formats: [csv, json, pytorch, megatron, nanogpt, hf]\n"
           "    batch: 256\n"
           "    seq_len: 1024\n"
           "    peak_lr: 3e-4\n"
           "  plot: {title: a figure of the WSD run}\n",
           head);
  const char *p = test_write_tmp("sim.yaml", text);
  snprintf(args, sizeof args, "simulate '%s' -o '%s/curve.csv'", p, d);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  static const char *const files[] = {"curve.csv",         "curve_schedule.csv",
                                      "curve_schedule.json", "curve_pytorch.py",
                                      "curve_megatron.sh",  "curve_nanogpt.py",
                                      "curve_hf.py",        "curve.svg"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    CHECK_MSG(exists(d, files[i]), "%s missing", files[i]);
  CHECK_MSG(nfiles(d) == 8, "%d files (temporary files left?)", nfiles(d));
  CHECK_MSG(strstr(out, "wrote ") && strstr(out, "curve_megatron.sh"), "%s", out);
  /* steps -> samples -> tokens with the trainer's batch and sequence length:
   * after 1000 steps 256 000 samples and 262 144 000 tokens, at the peak 3e-4 */
  snprintf(file, sizeof file, "%s/curve_schedule.csv", d);
  const char *s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, "\n0,0,0,0.0003,256,0,"), "first row");
  CHECK_MSG(s && strstr(s, "\n1,256,262144,0.0003,256,0,"), "step 1");
  CHECK_MSG(s && strstr(s, "\n1000,256000,262144000,0,256,0,"), "last row");
  snprintf(file, sizeof file, "%s/curve_megatron.sh", d);
  s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, "--lr-decay-style WSD\n") && strstr(s, "--lr-wsd-decay-iters 200\n") &&
                strstr(s, "--global-batch-size 256\n") && strstr(s, "--lr 0.0003\n") &&
                strstr(s, "--seq-length 1024"),
            "megatron: %s", s ? s : "(none)");
  snprintf(file, sizeof file, "%s/curve_schedule.json", d);
  s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, "\"clock\": \"steps\"") && strstr(s, "\"seq_len\": 1024"), "json");
  snprintf(file, sizeof file, "%s/curve.svg", d);
  s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, "<svg") && strstr(s, "a figure of the WSD run") && strstr(s, "</svg>"),
            "svg");
  /* the simulate table itself is unchanged: 20 rows + header */
  snprintf(file, sizeof file, "%s/curve.csv", d);
  s = test_slurp_static(file);
  size_t lines = 0;
  for (const char *q = s; q && (q = strchr(q, '\n')); q++) lines++;
  CHECK_MSG(lines == 21, "%zu lines", lines);

  /* short forms; without -o the files are named after the problem, here */
  d = fresh_dir("sim_short");
  snprintf(text, sizeof text, "%soutput: {export: pytorch, plot: true}\n", head);
  p = test_write_tmp("short.yaml", text);
  snprintf(args, sizeof args, "cd '%s' && '%s' simulate '%s' -q -o curve.csv", d, SCHEDOPT_CLI, p);
  CHECK_MSG(system(args) == 0, "%s", args);
  CHECK(exists(d, "curve_pytorch.py") && exists(d, "curve.svg") && nfiles(d) == 3);
  snprintf(args, sizeof args, "cd '%s' && '%s' simulate '%s' -q > stdout.csv", d, SCHEDOPT_CLI, p);
  CHECK_MSG(system(args) == 0, "%s", args);
  CHECK(exists(d, "wsd_pytorch.py") && exists(d, "wsd.svg") && nfiles(d) == 6);
}

static void optimize_and_sweep(void) {
  const char *d = fresh_dir("opt");
  char text[4096], args[8192], file[4200];
  snprintf(text, sizeof text, "%soutput: {export: [pytorch, json], plot: {points: 301}}\n", head);
  const char *p = test_write_tmp("opt.yaml", text);
  snprintf(args, sizeof args, "optimize '%s' -o '%s'", p, d);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  static const char *const files[] = {"schedule.csv", "baselines.csv", "summary.json",
                                      "summary.txt",  "optimum_pytorch.py",
                                      "optimum_schedule.json", "optimum.svg"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    CHECK_MSG(exists(d, files[i]), "%s missing", files[i]);
  CHECK_MSG(nfiles(d) == 7, "%d files", nfiles(d));
  snprintf(file, sizeof file, "%s/optimum_schedule.json", d);
  const char *s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, "\"label\": \"optimum\"") && strstr(s, "\"rows\": 1001"), "json");
  /* the figure holds the optimum and the two tuned baselines */
  snprintf(file, sizeof file, "%s/optimum.svg", d);
  s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, ">optimum<") && strstr(s, ">constant<") && strstr(s, ">linear<"),
            "svg legend");

  /* sweep: the scaling figure, with the fitted slopes in the legend */
  d = fresh_dir("sweep");
  snprintf(text, sizeof text, "%soutput: {plot: true}\nsweep: {key: budget.steps, values: [200, 400, 800]}\n",
           head);
  p = test_write_tmp("sweep.yaml", text);
  snprintf(args, sizeof args, "sweep '%s' -o '%s' -j 2 -q", p, d);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(file, sizeof file, "%s/sweep.svg", d);
  s = test_slurp_static(file);
  CHECK_MSG(s && strstr(s, "optimum: fit \xce\xb6 = ") && strstr(s, "constant: fit \xce\xb6 = ") &&
                strstr(s, "optimum: theory \xce\xb6 = 0.500"),
            "sweep svg");
  /* summary.txt, sweep.csv, sweep.json, sweep.svg and sweep_lr.csv (the
   * figure's η*(t/T) data) */
  CHECK_MSG(nfiles(d) == 5, "%d files", nfiles(d));
}

/* Bad input: exit 2, the message, and not a single file written. */
static void bad_set(const char *cmd, const char *yaml, const char *sets, const char *want) {
  const char *d = fresh_dir("bad");
  char text[4096], args[8192];
  snprintf(text, sizeof text, "%s%s", head, yaml);
  const char *p = test_write_tmp("bad.yaml", text);
  if (!strcmp(cmd, "simulate"))
    snprintf(args, sizeof args, "simulate '%s' -o '%s/curve.csv' %s", p, d, sets);
  else
    snprintf(args, sizeof args, "%s '%s' -o '%s/out' %s", cmd, p, d, sets);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2, "%s: exit %d, want 2: %s", yaml, rc, out);
  CHECK_MSG(strstr(out, want) != NULL, "'%s' not in: %s", want, out);
  int n = nfiles(d);
  if (strcmp(cmd, "simulate")) { /* optimize creates its folder before the run */
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/out", d);
    CHECK_MSG(n == 0 || (n == 1 && nfiles(sub) == 0), "%s: files written", yaml);
  } else {
    CHECK_MSG(n == 0, "%s: %d files written", yaml, n);
  }
}

static void bad(const char *cmd, const char *yaml, const char *want) {
  bad_set(cmd, yaml, "", want);
}

static void bad_input(void) {
  bad("simulate", "output: {export: [pytorch, torch]}\n",
      "bad.yaml:8:28: error: output.export: unknown value 'torch' (allowed: csv, json, "
      "pytorch, megatron, nanogpt, hf, torchtitan, olmo_core, deepspeed); did you mean "
      "'pytorch'?");
  bad("simulate", "output: {export: {formats: [hf], points: 1}}\n",
      "bad.yaml:8:42: error: output.export.points = 1 is out of range: must be in [2, 1000000]");
  bad("simulate", "output: {export: {formats: csv, peak_lr: -3}}\n",
      "bad.yaml:8:42: error: output.export.peak_lr = -3 is out of range: must be > 0");
  bad("simulate", "output: {export: {formats: csv, batch: 0.5}}\n", "output.export.batch = 0.5");
  bad("simulate", "output: {export: {formats: csv, seq_len: 2.5}}\n",
      "output.export.seq_len = 2.5 must be an integer");
  bad("simulate", "output: {export: {formats: megatron, megatron_units: epochs}}\n",
      "bad.yaml:8:54: error: output.export.megatron_units: unknown value 'epochs'");
  bad("simulate", "output: {export: {formats: csv, tolerance: 0}}\n",
      "output.export.tolerance = 0 is out of range: must be in (0, 1]");
  bad("simulate", "output: {export: {format: csv}}\n",
      "bad.yaml:8:19: error: unknown key 'format' in output.export (allowed: formats, points, "
      "peak_lr, batch, seq_len, tolerance, megatron_units); did you mean 'formats'?");
  bad("simulate", "output: {export: {points: 10}}\n",
      "bad.yaml:8:10: error: output.export: missing 'formats'");
  bad("simulate", "output: {export: 3}\n", "bad.yaml:8:18: error: output.export: unknown value '3'");
  bad("simulate", "output: {plot: maybe}\n",
      "bad.yaml:8:16: error: output.plot: expected true, false or a mapping (points, title), "
      "got 'maybe'");
  bad("simulate", "output: {plot: {colour: red}}\n",
      "unknown key 'colour' in output.plot (allowed: points, title)");
  bad("simulate", "output: {plot: {points: 1e7}}\n", "output.plot.points = 1e7 is out of range");
  /* a schedule Megatron-LM cannot express: located at output.export, nothing written */
  bad_set("simulate", "output: {export: [pytorch, megatron]}\n",
          "--set 'controls.lr={type: 811, peak: 1}'",
          "bad.yaml:8:10: error: output.export: megatron: Megatron-LM has no learning-rate "
          "schedule equivalent");
  bad_set("simulate", "output: {export: [pytorch, megatron], plot: true}\n",
          "--set controls.lr.type=polynomial --set controls.lr.delta=2",
          "bad.yaml:8:10: error: output.export: megatron: Megatron-LM has no learning-rate "
          "schedule equivalent");
  bad("optimize", "output: {export: {formats: json, seq_len: 0}}\n",
      "output.export.seq_len = 0 is out of range");
  bad("sweep", "output: {export: {formats: [csv, xls]}}\nsweep: {key: budget.steps, values: [200, 400]}\n",
      "output.export.formats: unknown value 'xls'");
  /* a token budget fixes the tokens per sample */
  bad_set("simulate", "output: {export: {formats: csv, seq_len: 512}}\n",
          "--set budget.tokens=1e6 --set budget.seq_len=1024",
          "bad.yaml:8:42: error: output.export.seq_len = 512 differs from budget.seq_len = 1024");
}

/* A sweep: section is part of the schema: simulate and optimize ignore a
 * valid one and report a bad one. */
static void sweep_section(void) {
  char text[4096], args[8192];
  snprintf(text, sizeof text, "%ssweep: {key: budget.steps, from: 100, to: 1000, points: 3}\n",
           head);
  const char *p = test_write_tmp("with_sweep.yaml", text);
  snprintf(args, sizeof args, "simulate '%s' -q -o - --set output.points=3", p);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && strstr(out, "\n1000,"), "exit %d: %s", rc, out);
  snprintf(args, sizeof args, "simulate '%s' -q -o - --set sweep.points=1", p);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "--set sweep.points=1: error: sweep.points = 1 is out of "
                                   "range: must be in [2, 10000]"),
            "exit %d: %s", rc, out);
  snprintf(args, sizeof args, "simulate '%s' -q -o - --set 'sweep.values=[10, 20]'", p);
  rc = test_run_cli(args, out, sizeof out); /* values replace from/to/points */
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(text, sizeof text, "%ssweep:\n  key: budget.steps\n  values: [100, 0]\n", head);
  p = test_write_tmp("bad_sweep.yaml", text);
  snprintf(args, sizeof args, "optimize '%s' -q", p);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "bad_sweep.yaml:10:17: error: sweep.values[1]: expected a "
                                   "positive number, got '0'"),
            "exit %d: %s", rc, out);
}

int main(void) {
  simulate_exports();
  optimize_and_sweep();
  bad_input();
  sweep_section();
  return test_finish();
}
