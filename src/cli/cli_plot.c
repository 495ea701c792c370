/* schedopt plot: an SVG figure of the schedule and its loss curve. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "schedopt/export.h"
#include "schedopt/plot.h"

static const char *help =
    "Usage: schedopt plot PROBLEM.yaml [options]\n"
    "\n"
    "Simulate the problem and draw an SVG figure: the learning rate against the\n"
    "problem's clock (steps, samples or tokens), the excess loss L - sigma^2 on\n"
    "log-log axes, and batch size and momentum when they are scheduled.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write the SVG to FILE ('-' or no -o: standard output)\n"
    "  --points N            schedule resolution: N evenly spaced times plus the\n"
    "                        schedule's knots (default 2001); the loss is also\n"
    "                        sampled at the problem's output times\n"
    "  --title TEXT          figure title (default: problem and model)\n"
    "  --set KEY=VALUE       override a problem key (repeatable)\n"
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

static int run(int argc, char **argv) {
  cli_problem_opts po;
  opts o = {SCHEDOPT_EXPORT_GRID, NULL};
  int rc = cli_parse_problem_opts("plot", argc, argv, &po, extra, &o);
  if (rc || po.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&po);
    return rc;
  }
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
