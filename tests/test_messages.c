/* test_messages: a bad value is reported as what it is, where it is — the
 * misleading messages an attack on the CLI found, each with the message it
 * must give now (exit status 2, or the solver's status with its cause). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 16];

static const char *problem =
    "name: o\n"
    "model: {a: 3.5, b: 2, N: 20, sigma2: 0.25, split: false}\n"
    "budget: {steps: 1000}\n"
    "controls: {lr: {type: cosine, peak: 0.5}, batch: 5}\n"
    "optimize: {maxeval: 3, baselines: [constant], controls: {lr: {knots: 16}}}\n";

/* Run `schedopt CMD 'p.yaml' REST`; expect exit code want_rc, the fragment
 * want in the output and, if not NULL, never the fragment bad. */
static void expect(const char *what, const char *cmd, const char *p, const char *rest,
                   int want_rc, const char *want, const char *bad) {
  char args[8192];
  snprintf(args, sizeof args, "%s '%s' %s", cmd, p, rest);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == want_rc, "%s: exit %d, want %d: %s", what, rc, want_rc, out);
  CHECK_MSG(strstr(out, want) != NULL, "%s: '%s' not in: %s", what, want, out);
  if (bad) CHECK_MSG(strstr(out, bad) == NULL, "%s: '%s' in: %s", what, bad, out);
}

int main(void) {
  char p[4096]; /* a copy: test_write_tmp's buffers are reused */
  snprintf(p, sizeof p, "%s", test_write_tmp("p.yaml", problem));
  /* located at the value, not at the section */
  expect("sigma 1e200", "simulate", p, "-q -o - --set model.sigma=1e200", 2,
         "--set model.sigma=1e200: error: model.sigma = 1e200 is out of range: its square", NULL);
  /* an exponent beyond what the model computes: a range, not a solver failure */
  expect("a 1e200", "simulate", p, "-q -o - --set model.a=1e200", 2,
         "model.a = 1e200 is out of range: must be in (1, 1000]", "lower learning rate");
  expect("s 900", "simulate", p, "-q -o - --set model.s=900", 2,
         "model.s = 900 gives a = 1 + s*b = 1801", NULL);
  /* a peak that overflows the table, and one that is not a normal number */
  expect("peak 1e308", "export", p, "-f json --peak-lr 1e308", 2,
         "peak_lr = 1e+308 scales the table's largest rate", "JSON encoding");
  expect("peak 1e-320", "export", p, "-f json --peak-lr 1e-320", 2,
         "--peak-lr 1e-320: must be a number in [", "must be a number > 0");
  /* a missing model file: its name and the reason, located at the key */
  char d[4096];
  snprintf(d, sizeof d, "%s",
           test_write_tmp("nomodel.yaml", "model: nothere.json\nbudget: {steps: 100}\n"));
  expect("missing model file", "design", d, "-q", 2,
         "nomodel.yaml:1:8: error: model: cannot open ", "-1:-1");
  /* the recursion past its stability limit: divergence, never "-nan" */
  expect("recursion lr 1e300", "simulate", p,
         "-q -o - --set model.dynamics=recursion --set controls.lr=1e300", 1,
         "the dynamics diverged at step 1", "nan");
  /* the longest horizon: under SUNDIALS' Newton solver the backward pass
   * stalled there (its steps below a double's resolution at 1e15); with one
   * exact Newton iteration per step (src/dynamics/sunnonlinsol_lin.h) it passes */
  expect("steps 1e15", "optimize", p, "-q -o - --set budget.steps=1e15", 0, "optimum", NULL);
  expect("steps 1e15, rtol 1e-4", "optimize", p,
         "-q -o - --set budget.steps=1e15 --set solver.rtol=1e-4", 0, "optimum", NULL);
  /* output folders are checked before the work: a file is not a folder */
  const char *afile = test_write_tmp("afile", "x\n");
  char rest[8600];
  snprintf(rest, sizeof rest, "-q -o '%s'", afile);
  const char *ds = test_write_tmp(
      "d.yaml", "model: {type: mpl, params: {L0: 2.65, A: 0.6, alpha: 0.45, B: 438, C: 2.13, "
                "beta: 0.6, gamma: 0.66}}\nbudget: {steps: 300}\nlr: {peak: 3.0e-4}\n");
  expect("design -o FILE", "design", ds, rest, 2, "not a folder (an output folder is needed)", NULL);
  /* every output of a command is checked before the work: an obstacle to
   * the figure, a report file or a fit result is reported at once — here the
   * work itself would fail otherwise (a diverging schedule, an unmeetable
   * step cap, a one-row log), so the message tells which came first */
  {
    char pe[4096], o[4200], dirp[4200];
    snprintf(pe, sizeof pe, "%s",
             test_write_tmp("pe.yaml", "name: pe\n"
                                       "model: {a: 3.5, b: 2, N: 20, sigma2: 0.25}\n"
                                       "budget: {samples: 5000}\n"
                                       "controls: {lr: {type: cosine, peak: 0.5}, batch: 5}\n"
                                       "optimize: {maxeval: 20, max_steps: 1, baselines: [constant],\n"
                                       "  controls: {batch: {param: freeform, knots: 16, min: 1, "
                                       "max: 100}}}\n"
                                       "output: {export: [csv], plot: true}\n"));
    snprintf(o, sizeof o, "%s", test_tmp_path("x.csv"));
    snprintf(dirp, sizeof dirp, "%s", test_tmp_path("x.svg"));
    mkdir(dirp, 0777);
    snprintf(rest, sizeof rest, "-q -o '%s' --set controls.lr.peak=1e4", o);
    expect("figure is a folder", "simulate", pe, rest, 2, "x.svg': is a directory", "diverged");
    char od[4200], obst[4300];
    snprintf(od, sizeof od, "%s", test_tmp_path("optdir"));
    snprintf(obst, sizeof obst, "%s/summary.json", od);
    mkdir(od, 0777);
    mkdir(obst, 0777);
    snprintf(rest, sizeof rest, "-q -o '%s'", od);
    expect("report file is a folder", "optimize", pe, rest, 2, "summary.json': is a directory",
           "step cap");
    snprintf(obst, sizeof obst, "%s/fit.json", od);
    mkdir(obst, 0777);
    char one[4200], fs[4200];
    snprintf(one, sizeof one, "%s", test_write_tmp("one.csv", "step,lr,loss\n0,0.0003,3.1\n"));
    char spec[8600];
    snprintf(spec, sizeof spec, "model: mpl\ncurves:\n  - file: '%s'\n", one);
    snprintf(fs, sizeof fs, "%s", test_write_tmp("f.yaml", spec));
    expect("fit result is a folder", "fit", fs, rest, 2, "fit.json': is a directory",
           "data point");
  }
  /* a closed standard output is found before the work when the command
   * prints its summary there (it was found after the files were replaced) */
  {
    char cmd[12000], od2[4200];
    snprintf(od2, sizeof od2, "%s", test_tmp_path("closed_stdout"));
    rmdir(od2);
    snprintf(cmd, sizeof cmd, "'%s' optimize '%s' -o '%s' 2>&1 >&-", SCHEDOPT_CLI, p, od2);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 2 && strstr(out, "standard output is closed"), "exit %d: %s", rc, out);
    struct stat sb;
    CHECK_MSG(stat(od2, &sb) != 0, "the folder was made: the run went ahead");
  }
  return test_finish();
}
