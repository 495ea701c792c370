/* Tables of a schedule for exports and figures, and the extra files a
 * problem's output.export and output.plot ask for (docs/yaml.md, "output"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

schedopt_status cli_tabulate(const schedopt_problem *p, const schedopt_schedule *s,
                             size_t points, int loss_times, schedopt_row **rows_out,
                             size_t *nrows, schedopt_error *err) {
  double *grid = NULL, *out = NULL, *times = NULL;
  schedopt_row *rows = NULL;
  size_t ng = 0, no = 0, n = 0;
  *rows_out = NULL;
  *nrows = 0;
  if (!s) s = schedopt_problem_schedule(p);
  schedopt_status st = schedopt_export_times(s, points, &grid, &ng, err);
  if (!st && loss_times) st = schedopt_problem_output_times(p, &out, &no, err);
  if (!st && (!(times = malloc((ng + no) * sizeof *times)) ||
              !(rows = calloc(ng + no, sizeof *rows))))
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", ng + no);
  if (!st) {
    /* the grid and knots, and the problem's (log-spaced) output times so that
     * early training is resolved on a log axis */
    memcpy(times, grid, ng * sizeof *times);
    if (no) memcpy(times + ng, out, no * sizeof *times);
    qsort(times, ng + no, sizeof *times, dbl_cmp);
    const double H = schedopt_schedule_horizon(s);
    for (size_t i = 0; i < ng + no; i++)
      if (!n || times[i] - times[n - 1] > 1e-12 * H) times[n++] = times[i];
    st = schedopt_export_simulate(p, s, times, n, rows, nrows, err);
  }
  free(grid);
  free(out);
  free(times);
  if (st) {
    free(rows);
    *nrows = 0;
    return st;
  }
  *rows_out = rows;
  return SCHEDOPT_OK;
}

schedopt_export_table cli_table(const schedopt_problem *p, const schedopt_schedule *s,
                                const schedopt_row *rows, size_t n, const char *label) {
  if (!s) s = schedopt_problem_schedule(p);
  schedopt_export_table t = {
      .rows = rows,
      .n = n,
      .has_loss = 1,
      .clock = schedopt_schedule_clock(s),
      .seq_len = schedopt_problem_seq_len(p),
      .name = schedopt_problem_name(p),
      .label = label,
      .description = schedopt_problem_description(p),
      .problem = p,
  };
  return t;
}

void cli_plot_title(const schedopt_problem *p, const char *what, char *buf, size_t cap) {
  double a, b, s, beta;
  schedopt_problem_exponents(p, &a, &b, &s, &beta);
  const char *model = schedopt_model_get_type(schedopt_problem_model(p))->name;
  const char *phase = b < a ? "easy" : "hard";
  /* U+2014 em dash, β, σ² */
  if (what)
    snprintf(buf, cap, "%s: %s \xe2\x80\x94 %s, a = %g, b = %g (%s phase), N = %ld",
             schedopt_problem_name(p), what, model, a, b, phase, schedopt_problem_modes(p));
  else
    snprintf(buf, cap,
             "%s \xe2\x80\x94 %s, a = %g, b = %g (s = %g, \xce\xb2 = %g; %s phase), N = %ld, "
             "\xcf\x83\xc2\xb2 = %g",
             schedopt_problem_name(p), model, a, b, s, beta, phase, schedopt_problem_modes(p),
             schedopt_problem_sigma2(p));
}

/* ---- output.export, output.plot ---------------------------------------------------------- */

/* File name suffixes, in schedopt_export_format order. */
static const char *const suffix[SCHEDOPT_EXPORT_NFORMATS] = {
    "_schedule.csv", "_schedule.json", "_pytorch.py", "_megatron.sh", "_nanogpt.py", "_hf.py",
    "_torchtitan.py", "_olmo_core.py", "_deepspeed.py"};

void cli_extras_stem(const char *out, int is_dir, const schedopt_problem *p, const char *leaf,
                     char *stem, size_t cap) {
  if (!out || !strcmp(out, "-") || (!is_dir && schedopt_outfile_is_stream(out))) {
    /* standard output, a device, a FIFO: /dev/null_schedule.csv is no place */
    snprintf(stem, cap, "%s", schedopt_problem_name(p));
  } else if (is_dir) {
    size_t k = strlen(out);
    while (k > 1 && out[k - 1] == '/') k--;
    snprintf(stem, cap, "%.*s/%s", (int)k, out, leaf);
  } else { /* the main file without its extension */
    snprintf(stem, cap, "%s", out);
    char *slash = strrchr(stem, '/'), *dot = strrchr(stem, '.');
    if (dot && dot > (slash ? slash + 1 : stem)) *dot = '\0';
  }
}

schedopt_status cli_extras_set(cli_extras *x, schedopt_outset **set, schedopt_error *err) {
  schedopt_status st = x->set ? SCHEDOPT_OK : schedopt_outset_alloc(&x->set, err);
  *set = x->set;
  return st;
}

schedopt_status cli_extras_open(cli_extras *x, const char *path, int report, FILE **fp,
                                schedopt_error *err) {
  schedopt_outset *set;
  schedopt_status st = cli_extras_set(x, &set, err);
  if (st) return st;
  if (report && x->n == CLI_MAXOUT)
    return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "more than %d outputs", CLI_MAXOUT);
  char *copy = NULL;
  if (report && !(copy = malloc(strlen(path) + 1)))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  if ((st = schedopt_outset_open(set, path, fp, err))) {
    free(copy);
    return st;
  }
  if (report) x->path[x->n++] = strcpy(copy, path);
  return SCHEDOPT_OK;
}

static schedopt_status open_one(cli_extras *x, const char *stem, const char *sfx, FILE **fp,
                                schedopt_error *err) {
  char path[4200];
  if ((size_t)snprintf(path, sizeof path, "%s%s", stem, sfx) >= sizeof path)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s%s: file name too long", stem, sfx);
  return cli_extras_open(x, path, 1, fp, err);
}

schedopt_status cli_outputs_check(const schedopt_problem *p, const char *stem, int plot,
                                  const char *dir, const char *const *files,
                                  schedopt_error *err) {
  char path[4200];
  schedopt_status st = SCHEDOPT_OK;
  if (p && stem) {
    schedopt_problem_extras ex;
    schedopt_problem_get_extras(p, &ex);
    for (int f = 0; f < SCHEDOPT_EXPORT_NFORMATS && !st; f++)
      if (ex.export_formats & (1u << f)) {
        snprintf(path, sizeof path, "%s%s", stem, suffix[f]);
        st = schedopt_outfile_check(path, err);
      }
    plot = plot || ex.plot;
  }
  if (!st && stem && plot) {
    snprintf(path, sizeof path, "%s.svg", stem);
    st = schedopt_outfile_check(path, err);
  }
  for (size_t i = 0; files && files[i] && !st; i++) {
    if (dir) {
      size_t k = strlen(dir);
      while (k > 1 && dir[k - 1] == '/') k--;
      snprintf(path, sizeof path, "%.*s/%s", (int)k, dir, files[i]);
    } else {
      snprintf(path, sizeof path, "%s", files[i]);
    }
    st = schedopt_outfile_check(path, err);
  }
  return st;
}

schedopt_status cli_extras_write(cli_extras *x, const schedopt_problem *p, const char *stem,
                                 const schedopt_export_table *table,
                                 const schedopt_export_table *figs, size_t nfigs,
                                 const char *title, schedopt_error *err) {
  schedopt_problem_extras ex;
  schedopt_problem_get_extras(p, &ex);
  schedopt_export_options eo;
  schedopt_export_options_default(&eo);
  eo.peak_lr = ex.peak_lr;
  eo.batch = ex.batch;
  eo.seq_len = ex.seq_len;
  if (ex.tolerance > 0) eo.tolerance = ex.tolerance;
  eo.megatron_units = (schedopt_megatron_units)ex.megatron_units;
  /* the schedule the table tabulates: the Python exports write it exactly */
  eo.schedule = x->schedule ? x->schedule : schedopt_problem_schedule(p);
  schedopt_status st = SCHEDOPT_OK;
  for (int f = 0; f < SCHEDOPT_EXPORT_NFORMATS && !st && table; f++) {
    if (!(ex.export_formats & (1u << f))) continue;
    FILE *fp;
    if (!(st = open_one(x, stem, suffix[f], &fp, err)))
      st = schedopt_export_write(fp, (schedopt_export_format)f, table, &eo, err);
    if (st && ex.export_loc && !strstr(err->msg, ": error: "))
      schedopt_error_prefix(err, "%s: error: output.export: ", ex.export_loc);
  }
  if (!st && ex.plot && nfigs) {
    schedopt_plot *fig = NULL;
    FILE *fp;
    if (!(st = schedopt_plot_alloc(&fig, ex.plot_title ? ex.plot_title : title, err)) &&
        !(st = schedopt_plot_tables(fig, figs, nfigs, err)) &&
        !(st = open_one(x, stem, ".svg", &fp, err)))
      st = schedopt_plot_write_svg(fig, fp, err);
    schedopt_plot_free(fig);
  }
  if (st) cli_extras_abort(x);
  return st;
}

schedopt_status cli_extras_write_plot(cli_extras *x, const char *stem, const schedopt_plot *fig,
                                      schedopt_error *err) {
  FILE *fp;
  schedopt_status st = open_one(x, stem, ".svg", &fp, err);
  if (!st) st = schedopt_plot_write_svg(fig, fp, err);
  if (st) cli_extras_abort(x);
  return st;
}

schedopt_status cli_extras_commit(cli_extras *x, schedopt_error *err) {
  schedopt_status st = x->set ? schedopt_outset_commit(x->set, err) : SCHEDOPT_OK;
  x->committed = st ? 0 : x->n;
  return st;
}

void cli_extras_abort(cli_extras *x) {
  if (x->set) schedopt_outset_abort(x->set);
  for (size_t i = 0; i < x->n; i++) {
    free(x->path[i]);
    x->path[i] = NULL;
  }
  x->n = x->committed = 0;
}

void cli_extras_free(cli_extras *x) {
  cli_extras_abort(x);
  schedopt_outset_free(x->set);
  memset(x, 0, sizeof *x);
}

void cli_extras_report(const cli_extras *x, FILE *f, const char *prefix) {
  for (size_t i = 0; i < x->committed; i++)
    fprintf(f, "%s%s\n", prefix, x->path[i]);
}
