/* schedopt plot: an SVG figure of the schedule and its loss curve. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_figures.h"
#include "core/infile.h"
#include "schedopt/export.h"
#include "schedopt/fit.h"
#include "schedopt/plot.h"
#include "surrogate/fitspec.h"

static const char *help =
    "Usage: schedopt plot PROBLEM.yaml [options]\n"
    "       schedopt plot FIT_SPEC.yaml | FIT_DIR | DESIGN_DIR | SWEEP_DIR [options]\n"
    "\n"
    "Simulate the problem and draw an SVG figure: the learning rate against the\n"
    "problem's clock (steps, samples or tokens), the excess loss L - sigma^2 on\n"
    "log-log axes and, on linear axes, zoomed on the anneal (where schedules\n"
    "differ), and batch size and momentum when they are scheduled.\n"
    "\n"
    "A fit spec is fitted (as schedopt fit does) and drawn against the observed\n"
    "curves: learning rates, observed (markers; open for held-out curves) and\n"
    "predicted loss, and the residuals.  An output folder of schedopt fit\n"
    "(predictions.csv) is drawn the same way from its files; one of schedopt\n"
    "design (schedule.csv, baselines.csv) as the design beside its tuned\n"
    "baselines: learning rates, predicted losses with the design's band, the\n"
    "anneal zoomed, and each baseline's loss minus the design's.  An output\n"
    "folder of schedopt sweep or merge (sweep.json) gives the sweep's figure.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write the SVG to FILE ('-' or no -o: standard output)\n"
    "  --points N            schedule resolution (problems): N evenly spaced times\n"
    "                        plus the schedule's knots (default 2001); the loss\n"
    "                        is also sampled at the problem's output times\n"
    "  --title TEXT          figure title (default: problem and model)\n"
    "  --set KEY=VALUE       override a problem or spec key (repeatable)\n"
    "  -q, --quiet           no summary on standard error\n"
    "  -h, --help            this help\n";

typedef struct opts {
  size_t points;
  const char *title;
} opts;

static int extra(int argc, char **argv, int i, void *ctx) {
  opts *o = ctx;
  const char *a = argv[i], *val = NULL;
  int which = -1, used = 0;
  if (!strcmp(a, "--points") || !strcmp(a, "--title")) {
    which = a[2] == 'p' ? 0 : 1;
    if (i + 1 >= argc) {
      cli_usage_error("plot", "%s needs a value", a);
      return -1;
    }
    val = argv[i + 1];
    used = 2;
  } else if (!strncmp(a, "--points=", 9)) {
    which = 0, val = a + 9, used = 1;
  } else if (!strncmp(a, "--title=", 8)) {
    which = 1, val = a + 8, used = 1;
  }
  if (which < 0) return 0;
  if (which == 1) {
    o->title = val;
    return used;
  }
  char *end;
  errno = 0;
  double v = strtod(val, &end);
  if (end == val || *end || errno || !(v >= 2 && v <= SCHEDOPT_EXPORT_MAX_POINTS) ||
      v != floor(v)) {
    cli_usage_error("plot", "--points %s: must be an integer in 2 ... %d", val,
                    SCHEDOPT_EXPORT_MAX_POINTS);
    return -1;
  }
  o->points = (size_t)v;
  return used;
}

/* A top-level key of a YAML file (a line "key:" at column 0). */
static int has_top_key(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *p = text; p; p = strchr(p, '\n')) {
    if (*p == '\n') p++;
    if (!strncmp(p, key, n) && p[n] == ':') return 1;
  }
  return 0;
}

/* 0 a problem, 1 a fit spec (curves: and no design keys), 2 a design spec. */
static int spec_kind(const char *path) {
  char *text = NULL;
  size_t len;
  schedopt_error e = {0};
  if (!path || schedopt_infile_read(path, (size_t)64 << 20, NULL, &text, &len, &e)) return 0;
  int kind = has_top_key(text, "design") || has_top_key(text, "lr") ? 2
             : has_top_key(text, "curves") && !has_top_key(text, "controls") ? 1 : 0;
  free(text);
  return kind;
}

/* The figure of a fit spec: fitted (or scored, every parameter fixed). */
static schedopt_status fit_figure(const cli_problem_opts *po, const char *title,
                                  schedopt_plot **fig, schedopt_error *err) {
  fitspec s;
  schedopt_fit *f = NULL;
  schedopt_status st = schedopt_fitspec_load(&s, po->path, po->sets, po->nsets, err);
  char t[512];
  if (!st) {
    snprintf(t, sizeof t, "%.200s: fit against the observed loss", s.name);
    st = schedopt_fitspec_make_fit(&s, &f, err);
  }
  if (!st) {
    if (schedopt_fitspec_all_fixed(&s)) {
      st = schedopt_fit_evaluate(f, s.fixed, &s.opts, err);
    } else {
      cli_fit_progress pg;
      cli_fit_progress_start(&pg, "plot", f, cli_progress_show(po));
      st = schedopt_fit_run(f, &s.opts, err);
      cli_fit_progress_clear(&pg);
    }
  }
  if (!st) st = schedopt_plot_alloc(fig, title ? title : t, err);
  if (!st) st = cli_fig_fit_of(*fig, f, err);
  schedopt_fit_free(f);
  schedopt_fitspec_free(&s);
  return st;
}

/* plot FIT_SPEC, FIT_DIR, DESIGN_DIR or SWEEP_DIR. */
static int run_llm(cli_problem_opts *po, const opts *o, int kind) {
  schedopt_error err = {0};
  schedopt_plot *fig = NULL;
  schedopt_status st;
  int rc = 0;
  if (kind == 2) {
    rc = cli_usage_error("plot", "%s is a design spec: run 'schedopt design %s -o DIR' with "
                         "--set output.plot=true, or plot its output folder: 'schedopt plot DIR'",
                         po->path, po->path);
    goto done;
  }
  if (kind == 1) {
    st = fit_figure(po, o->title, &fig, &err);
  } else {
    if (po->nsets) {
      rc = cli_usage_error("plot", "--set: %s is an output folder (nothing to override)",
                           po->path);
      goto done;
    }
    st = cli_fig_from_folder(po->path, o->title, &fig, &err);
  }
  if (!st) st = schedopt_plot_save_svg(fig, po->output, &err);
  if (st) {
    rc = cli_fail(&err);
    goto done;
  }
  if (!po->quiet && po->output && strcmp(po->output, "-"))
    fprintf(stderr, "schedopt: %s: wrote %s\n", po->path, po->output);
done:
  schedopt_plot_free(fig);
  cli_problem_opts_free(po);
  return rc;
}

static int run(int argc, char **argv) {
  cli_problem_opts po;
  opts o = {SCHEDOPT_EXPORT_GRID, NULL};
  int rc = cli_parse_problem_opts("plot", argc, argv, &po, extra, &o);
  if (rc || po.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&po);
    return rc;
  }
  int kind = cli_fig_folder_kind(po.path) ? 3 : spec_kind(po.path);
  if (kind) return run_llm(&po, &o, kind);
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_plot *fig = NULL;
  schedopt_row *rows = NULL;
  size_t nrows = 0;
  schedopt_status st;
  if ((rc = cli_load_problem(&po, &p))) goto cleanup;
  /* the schedule's grid and knots, and the problem's (log-spaced) output times */
  if ((st = cli_tabulate(p, NULL, o.points, 1, &rows, &nrows, &err))) goto failed;
  const schedopt_control *lr = schedopt_schedule_get(schedopt_problem_schedule(p), SCHEDOPT_LR);
  char label[128], title[512];
  snprintf(label, sizeof label, "%s (%s)", schedopt_problem_name(p),
           schedopt_control_get_type(lr)->name);
  cli_plot_title(p, NULL, title, sizeof title);
  schedopt_export_table t = cli_table(p, NULL, rows, nrows, label);
  if ((st = schedopt_plot_alloc(&fig, o.title ? o.title : title, &err)) ||
      (st = schedopt_plot_tables(fig, &t, 1, &err)) ||
      (st = schedopt_plot_save_svg(fig, po.output, &err)))
    goto failed;
  if (!po.quiet) {
    fprintf(stderr, "schedopt: %s: %zu points, final loss %.6g", schedopt_problem_name(p), nrows,
            rows[nrows - 1].r.loss);
    if (po.output && strcmp(po.output, "-")) fprintf(stderr, "; wrote %s", po.output);
    fputc('\n', stderr);
  }
  goto cleanup;
failed:
  rc = cli_fail(&err);
cleanup:
  schedopt_plot_free(fig);
  free(rows);
  schedopt_problem_free(p);
  cli_problem_opts_free(&po);
  return rc;
}

const cli_command cli_plot = {"plot", "draw the schedule and loss curve as SVG", run};
