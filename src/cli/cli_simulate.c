/* schedopt simulate: the loss curve of a schedule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/outfile.h"

static const char *help =
    "Usage: schedopt simulate PROBLEM.yaml [options]\n"
    "\n"
    "Integrate the problem's model under its schedules and write the loss curve\n"
    "as CSV: step,tokens,lr,batch,momentum,loss,excess,bias,variance.\n"
    "Loss is the full mean-squared error L = E + tail + sigma^2; excess = L - sigma^2\n"
    "= bias + variance + approximation error (the unlearned tail).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write the table to FILE ('-' for standard output);\n"
    "                        default: output.file from the problem, else stdout\n"
    "  --set KEY=VALUE       override a problem key (repeatable), e.g.\n"
    "                        --set model.b=2 --set controls.lr.peak=0.5\n"
    "  -q, --quiet           no summary on standard error\n"
    "  -h, --help            this help\n"
    "\n"
    "The problem file format is described in docs/yaml.md.\n";

/* A table cell: %.10g, or empty for a quantity the model does not track
 * (bias and variance are NaN without model.split). */
static void cell(FILE *f, double v, int last) {
  if (!isnan(v)) fprintf(f, "%.10g", v);
  fputc(last ? '\n' : ',', f);
}

/* Write the rows; a non-finite value (which the integrator's divergence check
 * should have caught) stops the run instead of reaching the table. */
static schedopt_status write_rows(FILE *f, const schedopt_row *rows, size_t n, double seq,
                                  schedopt_error *err) {
  fprintf(f, "step,tokens,lr,batch,momentum,loss,excess,bias,variance\n");
  for (size_t i = 0; i < n; i++) {
    const schedopt_row *r = &rows[i];
    const double v[] = {r->step, r->samples * seq, r->u.lr, r->u.batch, r->u.momentum,
                        r->r.loss, r->r.excess};
    for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
      if (!isfinite(v[j]))
        return schedopt_error_set(err, SCHEDOPT_EDIVERGE,
                                  "the dynamics diverged at step %.0f: a non-finite value "
                                  "(%g) in the loss curve; lower the learning rate",
                                  r->step, v[j]);
    if (isinf(r->r.bias) || isinf(r->r.variance))
      return schedopt_error_set(err, SCHEDOPT_EDIVERGE,
                                "the dynamics diverged at step %.0f: an infinite bias or "
                                "variance; lower the learning rate", r->step);
    for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) cell(f, v[j], 0);
    cell(f, r->r.bias, 0);
    cell(f, r->r.variance, 1);
  }
  return SCHEDOPT_OK;
}

/* output.export and output.plot: the schedule at every step (or on the
 * export grid) and the figure, to temporary files next to `out`. */
static schedopt_status write_extras(const schedopt_problem *p, const char *out, cli_extras *x,
                                    schedopt_error *err) {
  schedopt_problem_extras ex;
  schedopt_problem_get_extras(p, &ex);
  if (!ex.export_formats && !ex.plot) return SCHEDOPT_OK;
  char stem[4096], label[128], title[512];
  cli_extras_stem(out, 0, p, NULL, stem, sizeof stem);
  schedopt_row *erows = NULL, *prows = NULL;
  size_t ne = 0, np = 0;
  schedopt_status st = SCHEDOPT_OK;
  if (ex.export_formats) st = cli_tabulate(p, NULL, ex.export_points, 0, &erows, &ne, err);
  if (!st && ex.plot) st = cli_tabulate(p, NULL, ex.plot_points, 1, &prows, &np, err);
  if (!st) {
    const schedopt_control *lr = schedopt_schedule_get(schedopt_problem_schedule(p), SCHEDOPT_LR);
    snprintf(label, sizeof label, "%s (%s)", schedopt_problem_name(p),
             schedopt_control_get_type(lr)->name);
    cli_plot_title(p, NULL, title, sizeof title);
    schedopt_export_table te = cli_table(p, NULL, erows, ne, "schedule"),
                          tp = cli_table(p, NULL, prows, np, label);
    st = cli_extras_write(x, p, stem, erows ? &te : NULL, &tp, prows ? 1 : 0, title, err);
  }
  free(erows);
  free(prows);
  return st;
}

static int run(int argc, char **argv) {
  cli_problem_opts o;
  int rc = cli_parse_problem_opts("simulate", argc, argv, &o, NULL, NULL);
  if (rc || o.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&o);
    return rc;
  }
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_integrator *it = NULL;
  double *times = NULL;
  schedopt_row *rows = NULL;
  size_t n = 0;
  schedopt_status st;
  cli_extras extras; /* every output, the main one first */
  memset(&extras, 0, sizeof extras);
  FILE *fp = NULL;
  if ((rc = cli_load_problem(&o, &p))) goto cleanup;
  if ((st = schedopt_problem_output_times(p, &times, &n, &err))) goto failed;
  if (!(rows = calloc(n ? n : 1, sizeof *rows))) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", n);
    goto failed;
  }
  /* The output is opened (as a temporary file next to it) before the run, so
   * an unwritable place is reported at once, not after a long integration. */
  const char *out = o.output ? o.output : schedopt_problem_output_file(p);
  if ((st = cli_extras_open(&extras, out, 0, &fp, &err))) goto failed;
  {
    char stem[4096]; /* the exports and figure: checked now, written after the run */
    cli_extras_stem(out, 0, p, NULL, stem, sizeof stem);
    if ((st = cli_outputs_check(p, stem, 0, NULL, NULL, &err))) goto failed;
  }
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  if ((st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(p),
                                      schedopt_problem_model(p), &err)) ||
      (st = schedopt_integrator_set_tolerances(it, rtol, atol, &err)) ||
      (st = schedopt_integrator_set_max_steps(it, max_steps, &err)))
    goto failed;
  if ((st = schedopt_integrator_run(it, schedopt_problem_schedule(p), times, n, rows, &err)))
    goto failed;
  if ((st = write_rows(fp, rows, n, schedopt_problem_seq_len(p), &err))) goto failed;
  if ((st = write_extras(p, out, &extras, &err))) goto failed;
  if ((st = cli_extras_commit(&extras, &err))) goto failed;
  if (!o.quiet && n) {
    double a, b, s, beta;
    schedopt_problem_exponents(p, &a, &b, &s, &beta);
    schedopt_integrator_stats stt;
    schedopt_integrator_get_stats(it, &stt);
    const schedopt_row *last = &rows[n - 1];
    fprintf(stderr,
            "schedopt: %s: %s (a=%g b=%g | s=%g beta=%g, %s phase), %s integrator\n"
            "schedopt: final step %.0f: loss %.6g, excess %.6g",
            schedopt_problem_name(p), schedopt_model_get_type(schedopt_problem_model(p))->name,
            a, b, s, beta, b < a ? "easy" : "hard", schedopt_integrator_get_type(it)->name,
            last->step, last->r.loss, last->r.excess);
    const long K = schedopt_problem_momentum_modes(p), N = schedopt_problem_modes(p);
    if (K > 0 && K < N)
      fprintf(stderr, " [momentum: %ld of %ld modes with all three states, %ld overdamped]", K,
              N, N - K);
    if (!isnan(last->r.bias))
      fprintf(stderr, " (bias %.4g, variance %.4g)", last->r.bias, last->r.variance);
    fprintf(stderr, "; %ld solver steps\n", stt.steps);
    if (out && strcmp(out, "-")) fprintf(stderr, "schedopt: wrote %zu rows to %s\n", n, out);
    cli_extras_report(&extras, stderr, "schedopt: wrote ");
  }
  goto cleanup;
failed:
  rc = cli_fail(&err);
  cli_solver_hint(p, &err);
cleanup:
  cli_extras_free(&extras);
  free(rows);
  free(times);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  cli_problem_opts_free(&o);
  return rc;
}

const cli_command cli_simulate = {"simulate", "predict the loss curve of a schedule", run};
