/* schedopt optimize: the optimal schedule for a budget, beside every standard
 * schedule tuned on the same problem. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "optimize/optimize_impl.h"
#include "schedopt/optimize.h"

static const char *help =
    "Usage: schedopt optimize PROBLEM.yaml [options]\n"
    "\n"
    "Optimize the schedule(s) named in the problem's 'optimize:' section (by default\n"
    "the learning rate as a free-form 64-knot schedule, capped at the largest value of\n"
    "the problem's own learning rate) for the problem's model and budget, with\n"
    "adjoint gradients and NLopt.  Every standard schedule (constant, cosine,\n"
    "linear-to-zero, WSD with each decay shape, power law, and the problem's own\n"
    "shape) is tuned on the same problem and reported beside the optimum, which is\n"
    "started from the best of them and so never ends worse than one it contains.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR      write DIR/schedule.csv (step,tokens,lr,batch,momentum,\n"
    "                        loss,excess,bias,variance,approx of the optimum: loss =\n"
    "                        bias + variance + approx + sigma^2; bias is what is left\n"
    "                        of the initial error, variance what label noise and the\n"
    "                        unlearned modes put back, approx the unlearned modes'\n"
    "                        power; plrf's curve is simulated with model.split on),\n"
    "                        DIR/baselines.csv (lr and\n"
    "                        loss of the optimum and of every tuned baseline),\n"
    "                        DIR/summary.json and DIR/summary.txt; DIR is created if\n"
    "                        missing.  Default: optimize.output from the problem;\n"
    "                        without either (or with '-o -') nothing is written and\n"
    "                        the summary goes to standard output\n"
    "  --set KEY=VALUE       override a problem key (repeatable), e.g.\n"
    "                        --set budget.steps=1e5 --set optimize.controls.lr.knots=128\n"
    "  -q, --quiet           no progress line, and no summary when files are written\n"
    "  --progress MODE       auto (default: unless -q), always, never: the progress\n"
    "                        line on a terminal, a line every 10 s in a log\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 success; 2 bad input; 1 a failed run (solver failure, or a\n"
    "baseline the design contains beating the optimum, which is reported loudly).\n"
    "The 'optimize:' section is described in docs/yaml.md.\n";

typedef struct progress {
  double last;
  int shown, show; /* show: CLI_SHOW_* */
} progress;

static int on_progress(void *ctx, const char *stage, long evals, double best, double seconds) {
  progress *pg = ctx;
  /* a terminal shows the first evaluation at once; a log waits 10 s */
  if (seconds - pg->last < cli_progress_interval(pg->show) &&
      (evals > 1 || pg->show == CLI_SHOW_LOG))
    return 0;
  pg->last = seconds;
  pg->shown = 1;
  char line[160];
  snprintf(line, sizeof line, "schedopt: %-26.26s eval %6ld  best %-14.9g %7.1f s", stage, evals,
           best, seconds);
  cli_progress_print(pg->show, line);
  return 0;
}

/* The problem's schedule with the learning rate replaced by lr. */
static schedopt_status with_lr(const schedopt_schedule *base, const schedopt_control *lr,
                               schedopt_schedule **out, schedopt_error *err) {
  schedopt_status st = schedopt_schedule_alloc(out, schedopt_schedule_clock(base),
                                               schedopt_schedule_horizon(base),
                                               schedopt_schedule_units_per_sample(base), err);
  for (int c = 0; c < SCHEDOPT_NCHANNELS && !st; c++)
    if (c != SCHEDOPT_MOMENTUM || schedopt_schedule_has_momentum(base))
      st = schedopt_schedule_set(*out, (schedopt_channel)c,
                                 c == SCHEDOPT_LR ? lr : schedopt_schedule_get(base, c), err);
  if (st) {
    schedopt_schedule_free(*out);
    *out = NULL;
  }
  return st;
}

/* output.export (the optimum) and output.plot (the optimum and every tuned
 * baseline), to temporary files in dir. */
static schedopt_status write_extras(const schedopt_optimization *opt, const char *dir,
                                    cli_extras *x, schedopt_error *err) {
  const schedopt_problem *q = schedopt_optimization_problem(opt);
  schedopt_problem_extras ex;
  schedopt_problem_get_extras(q, &ex);
  if (!ex.export_formats && !ex.plot) return SCHEDOPT_OK;
  const schedopt_schedule *so = schedopt_optimization_schedule(opt);
  const size_t nb = ex.plot ? schedopt_optimization_nbaselines(opt) : 0;
  schedopt_row *erows = NULL, **prows = calloc(nb + 1, sizeof *prows);
  size_t ne = 0, *np = calloc(nb + 1, sizeof *np);
  schedopt_export_table *tabs = calloc(nb + 1, sizeof *tabs);
  schedopt_schedule *sb = NULL;
  schedopt_status st = prows && np && tabs ? SCHEDOPT_OK
                                           : schedopt_error_set(err, SCHEDOPT_ENOMEM,
                                                                "out of memory");
  if (!st && ex.export_formats) st = cli_tabulate(q, so, ex.export_points, 0, &erows, &ne, err);
  if (!st && ex.plot && !(st = cli_tabulate(q, so, ex.plot_points, 1, &prows[0], &np[0], err)))
    tabs[0] = cli_table(q, so, prows[0], np[0], "optimum");
  for (size_t i = 0; i < nb && !st; i++) {
    const schedopt_baseline *b = schedopt_optimization_baseline(opt, i, NULL, NULL);
    if (!(st = with_lr(schedopt_problem_schedule(q), b->control, &sb, err)) &&
        !(st = cli_tabulate(q, sb, ex.plot_points, 1, &prows[i + 1], &np[i + 1], err)))
      tabs[i + 1] = cli_table(q, sb, prows[i + 1], np[i + 1], b->label);
    schedopt_schedule_free(sb);
    sb = NULL;
  }
  if (!st) {
    char stem[4096], title[512];
    cli_extras_stem(dir, 1, q, "optimum", stem, sizeof stem);
    cli_plot_title(q, "optimum and tuned baselines", title, sizeof title);
    schedopt_export_table te = cli_table(q, so, erows, ne, "optimum");
    x->schedule = so; /* the optimum, written exactly by the Python exports */
    st = cli_extras_write(x, q, stem, erows ? &te : NULL, tabs, ex.plot ? nb + 1 : 0, title,
                          err);
  }
  for (size_t i = 0; prows && i <= nb; i++) free(prows[i]);
  free(prows);
  free(np);
  free(tabs);
  free(erows);
  return st;
}

static int run(int argc, char **argv) {
  cli_problem_opts o;
  int rc = cli_parse_problem_opts("optimize", argc, argv, &o, NULL, NULL);
  if (rc || o.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&o);
    return rc;
  }
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_optimization *opt = NULL;
  schedopt_optimize_spec *spec = malloc(sizeof *spec);
  schedopt_status st;
  progress pg = {0, 0, 0};
  cli_extras extras;
  memset(&extras, 0, sizeof extras);
  int made_dir = 0;
  const char *dir = NULL;
  if (!spec) {
    fprintf(stderr, "schedopt: error: out of memory\n");
    rc = 1;
    goto cleanup;
  }
  if ((rc = cli_load_problem(&o, &p))) goto cleanup;
  if ((st = schedopt_problem_optimize_spec(p, spec, &err))) goto failed;
  if ((pg.show = cli_progress_show(&o)) != CLI_SHOW_NONE) {
    spec->settings.progress = on_progress;
    spec->settings.progress_ctx = &pg;
  }
  dir = o.output ? o.output : spec->output[0] ? spec->output : NULL;
  if (dir && !strcmp(dir, "-")) dir = NULL;
  if ((!dir || !o.quiet) && !cli_stdout_ok(&err)) { /* the summary, found before the run */
    st = SCHEDOPT_EIO;
    goto failed;
  }
  if (dir && (st = cli_prepare_dir(dir, &made_dir, &err))) goto failed;
  if (dir) { /* every file of the report, checked before the run */
    char stem[4096];
    cli_extras_stem(dir, 1, p, "optimum", stem, sizeof stem);
    /* the report, and the config of each trainer baseline asked for */
    const char *files[16];
    size_t nf = 0;
    for (size_t i = 0; schedopt_optimization_files[i]; i++) files[nf++] = schedopt_optimization_files[i];
    for (unsigned i = 0; schedopt_baseline_types[i] && nf + 1 < 16; i++)
      if (schedopt_baseline_types[i]->opt_in && (spec->baselines & (1u << i)))
        files[nf++] = schedopt_trainer_file_name(schedopt_baseline_types[i]->name);
    files[nf] = NULL;
    if ((st = cli_outputs_check(p, stem, 0, dir, files, &err))) goto failed;
  }
  st = schedopt_optimization_run(&opt, p, spec, &err);
  if (pg.shown && pg.show == CLI_SHOW_TERMINAL) fprintf(stderr, "\r%79s\r", "");
  if (st) goto failed;
  /* the report files, exports and figure: one set, committed together */
  if ((st = write_extras(opt, dir, &extras, &err))) goto failed;
  schedopt_outset *set;
  if (dir && ((st = cli_extras_set(&extras, &set, &err)) ||
              (st = schedopt_optimization_write_set(opt, set, dir, &err))))
    goto failed;
  if ((st = cli_extras_commit(&extras, &err))) goto failed;
  if (!dir || !o.quiet) {
    if ((st = schedopt_optimization_write_text(opt, stdout, &err))) goto failed;
    if (dir) {
      printf("  wrote      %s/{schedule.csv, baselines.csv, summary.json, summary.txt", dir);
      for (size_t i = 0; i < schedopt_optimization_nbaselines(opt); i++) {
        const schedopt_baseline *b = schedopt_optimization_baseline(opt, i, NULL, NULL);
        if (b->type->opt_in) printf(", %s", schedopt_trainer_file_name(b->type->name));
      }
      printf("}\n");
    }
    cli_extras_report(&extras, stdout, "  wrote      ");
  }
  size_t beaten, cbeaten;
  schedopt_optimization_violations(opt, &beaten, &cbeaten);
  if (cbeaten) {
    fprintf(stderr, "schedopt: error: %zu tuned baseline%s that the design contains beat%s the "
                    "optimum: this is a bug; see the summary%s\n",
            cbeaten, cbeaten == 1 ? "" : "s", cbeaten == 1 ? "s" : "", dir ? " files" : "");
    rc = 1;
  } else if (beaten) {
    fprintf(stderr, "schedopt: warning: %zu tuned baseline%s beat%s the optimum; the design "
                    "cannot represent %s: use more knots or another parametrization\n",
            beaten, beaten == 1 ? "" : "s", beaten == 1 ? "s" : "", beaten == 1 ? "it" : "them");
  }
  goto cleanup;
failed:
  rc = cli_fail(&err);
  cli_extras_abort(&extras);
  cli_unprepare_dir(dir, made_dir);
cleanup:
  cli_extras_free(&extras);
  schedopt_optimization_free(opt);
  schedopt_problem_free(p);
  free(spec);
  cli_problem_opts_free(&o);
  return rc;
}

const cli_command cli_optimize = {"optimize", "optimal schedule for a budget, with tuned baselines",
                                  run};
