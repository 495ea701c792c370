/* schedopt predict: the loss curve a fitted surrogate predicts for a
 * schedule. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "surrogate/fitspec.h"
#include "core/outfile.h"
#include "schedopt/fit.h"

static const char *help =
    "Usage: schedopt predict SPEC.yaml [options]\n"
    "\n"
    "Predict the loss curve of a learning-rate schedule with a fitted surrogate\n"
    "(model: a fit.json written by 'schedopt fit', or type and params).  Writes\n"
    "CSV: step,lr,intrinsic_time,loss[,loss_lo,loss_hi][,observed]; the band\n"
    "columns come from the fit's bootstrap refits, 'observed' from compare.file.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write the table to FILE ('-' for standard output);\n"
    "                        default: output.file from the spec, else stdout\n"
    "  --set KEY=VALUE       override a spec key (repeatable), e.g.\n"
    "                        --set schedule.lr.decay_frac=0.2\n"
    "  -q, --quiet           no summary on standard error\n"
    "  -h, --help            this help\n"
    "\n"
    "A schedule outside what the fit saw (its horizon, peak lr, tokens per step,\n"
    "model size or schedule family against the fit.json's record) is a warning on\n"
    "standard error, also with -q.  The spec format is described in\n"
    "docs/surrogates.md.\n";

/* A top-level number of the spec (already checked by the spec's loader),
 * NAN when not given. */
static double spec_number(const predspec *s, const char *key) {
  const ykv_entry *e = schedopt_ykv_get(&s->l, key);
  return e && e->kind == YKV_SCALAR && !e->is_null ? strtod(e->value, NULL) : NAN;
}

/* Warnings for a schedule outside what the fit result saw (none for an
 * inline model); NULL when out of memory. */
static json_t *range_warnings(const predspec *s) {
  json_t *warn = json_array();
  if (!warn || !s->model_file) return warn;
  json_t *res = json_load_file(s->model_file, 0, NULL);
  if (!res) res = json_object(); /* read by the loader: not expected */
  double peak = 0;
  for (size_t k = 0; k < s->K; k++)
    if (s->eta[k] > peak) peak = s->eta[k];
  const ykv_entry *te = schedopt_ykv_get(&s->l, "schedule.lr.type");
  cli_range_query q = {
      .subject = "the prediction",
      .self = "the schedule",
      .steps = s->K,
      .peak = peak,
      .tokens_per_step = spec_number(s, "tokens_per_step"),
      .budget_tokens = NAN,
      .model_size = spec_number(s, "model_size"),
      .family = te && te->kind == YKV_SCALAR ? te->value : NULL,
  };
  if (res) cli_range_warnings(res, &q, warn);
  json_decref(res);
  return warn;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void cell(FILE *fp, double v, int last) {
  if (isfinite(v)) fprintf(fp, "%.10g", v);
  fputc(last ? '\n' : ',', fp);
}

static int run(int argc, char **argv) {
  cli_problem_opts o;
  int rc = cli_parse_problem_opts("predict", argc, argv, &o, NULL, NULL);
  if (rc || o.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&o);
    return rc;
  }
  if (!o.path) {
    cli_problem_opts_free(&o);
    return cli_usage_error("predict", "missing SPEC.yaml");
  }
  schedopt_error err = {0};
  predspec s;
  schedopt_surrogate *sur = NULL;
  double *L = NULL, *band = NULL, *lo = NULL, *hi = NULL, *obs = NULL, *cpred = NULL, *cobs = NULL;
  size_t *cout_ = NULL, nc = 0;
  schedopt_outfile of = {NULL, NULL, NULL, -1};
  int opened = 0;
  schedopt_fit_metrics cm;
  json_t *warn = NULL; /* what the fit did not see */
  schedopt_status st = schedopt_predspec_load(&s, o.path, o.sets, o.nsets, &err);
  if (st) goto failed;
  if (!(warn = range_warnings(&s))) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
    goto failed;
  }
  if ((st = schedopt_surrogate_alloc(&sur, s.type, &err)) ||
      (st = schedopt_surrogate_set_params(sur, s.theta, &err)))
    goto failed;
  size_t n = s.nout, np = s.type->nparams;
  L = malloc(n * sizeof *L);
  obs = malloc(n * sizeof *obs);
  if (!L || !obs) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
    goto failed;
  }
  schedopt_surrogate_input in = {s.eta, s.K, s.out, n, NULL};
  if ((st = schedopt_surrogate_predict(sur, &in, L, NULL, &err))) goto failed;
  /* band: the central `level` interval of the bootstrap refits' predictions */
  if (s.nboot > 1) {
    band = malloc(s.nboot * n * sizeof *band);
    lo = malloc(n * sizeof *lo);
    hi = malloc(n * sizeof *hi);
    double *v = malloc(s.nboot * sizeof *v);
    if (!band || !lo || !hi || !v) {
      free(v);
      st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
      goto failed;
    }
    for (size_t b = 0; b < s.nboot && !st; b++)
      if (!(st = schedopt_surrogate_set_params(sur, s.boot + b * np, &err)))
        st = schedopt_surrogate_predict(sur, &in, band + b * n, NULL, &err);
    for (size_t m = 0; m < n && !st; m++) {
      for (size_t b = 0; b < s.nboot; b++) v[b] = band[b * n + m];
      qsort(v, s.nboot, sizeof *v, cmp_double);
      double ql = (1 - s.level) / 2 * (double)(s.nboot - 1), qh = (1 + s.level) / 2 * (double)(s.nboot - 1);
      size_t a = (size_t)ql, c = (size_t)qh;
      lo[m] = v[a] + (ql - (double)a) * (a + 1 < s.nboot ? v[a + 1] - v[a] : 0);
      hi[m] = v[c] + (qh - (double)c) * (c + 1 < s.nboot ? v[c + 1] - v[c] : 0);
    }
    free(v);
    if (st) goto failed;
    schedopt_surrogate_set_params(sur, s.theta, NULL);
  }
  /* compare: metrics on the logged steps of the observed curve */
  for (size_t m = 0; m < n; m++) obs[m] = NAN;
  if (s.compare) {
    size_t cn = schedopt_losscurve_npoints(s.compare);
    const double *cs = schedopt_losscurve_steps(s.compare), *cl = schedopt_losscurve_loss(s.compare);
    cout_ = malloc(cn * sizeof *cout_);
    cobs = malloc(cn * sizeof *cobs);
    cpred = malloc(cn * sizeof *cpred);
    if (!cout_ || !cobs || !cpred) {
      st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
      goto failed;
    }
    size_t m = 0;
    for (size_t i = 0; i < cn; i++) {
      while (m < n && (double)s.out[m] < cs[i]) m++;
      if (m < n && (double)s.out[m] == cs[i]) obs[m] = cl[i];
      if (cs[i] >= (double)s.K || cs[i] < (double)s.out[0] ||
          (!isnan(s.compare_start) && cs[i] < s.compare_start))
        continue;
      cout_[nc] = (size_t)cs[i];
      cobs[nc++] = cl[i];
    }
    if (!nc) {
      st = schedopt_error_set(&err, SCHEDOPT_EINVAL, "%s: error: compare.file has no logged step "
                              "inside the predicted range", s.source);
      goto failed;
    }
    schedopt_surrogate_input ci = {s.eta, s.K, cout_, nc, NULL};
    if ((st = schedopt_surrogate_predict(sur, &ci, cpred, NULL, &err))) goto failed;
    schedopt_fit_metrics_compute(cobs, cpred, nc, &cm);
  }
  const char *out = o.output ? o.output : s.outfile;
  if ((st = schedopt_outfile_open(&of, out, &err))) goto failed;
  opened = 1;
  fprintf(of.fp, "step,lr,intrinsic_time,loss%s%s\n", lo ? ",loss_lo,loss_hi" : "",
          s.compare ? ",observed" : "");
  double T = 0;
  size_t k = 0;
  for (size_t m = 0; m < n; m++) {
    while (k <= s.out[m]) T += s.eta[k++];
    fprintf(of.fp, "%zu,", s.out[m]);
    cell(of.fp, s.eta[s.out[m]], 0);
    cell(of.fp, T, 0);
    cell(of.fp, L[m], !lo && !s.compare);
    if (lo) {
      cell(of.fp, lo[m], 0);
      cell(of.fp, hi[m], !s.compare);
    }
    if (s.compare) cell(of.fp, obs[m], 1);
  }
  opened = 0;
  if ((st = schedopt_outfile_commit(&of, &err))) goto failed;
  if (!o.quiet) {
    fprintf(stderr, "schedopt predict: %s: %s over %zu steps; final step %zu: loss %.6g", s.name,
            s.type->name, s.K, s.out[n - 1], L[n - 1]);
    if (lo) fprintf(stderr, " (band [%.6g, %.6g], %.0f%% of %zu refits)", lo[n - 1], hi[n - 1],
                    100 * s.level, s.nboot);
    fputc('\n', stderr);
    if (s.compare)
      fprintf(stderr, "  against %s (%zu logged steps%s): R2 %.5f MAE %.5f RMSE %.5f PredE %.5f "
              "WorstE %.5f\n", schedopt_losscurve_name(s.compare), nc,
              schedopt_losscurve_smoothing(s.compare) > 1 ? ", smoothed" : "", cm.r2, cm.mae,
              cm.rmse, cm.prede, cm.worste);
    if (out && strcmp(out, "-")) fprintf(stderr, "schedopt: wrote %zu rows to %s\n", n, out);
  }
  cli_warnings_print(warn);
  rc = 0;
  goto cleanup;
failed:
  rc = cli_fail(&err);
cleanup:
  if (opened) schedopt_outfile_abort(&of);
  free(L), free(band), free(lo), free(hi), free(obs), free(cpred), free(cobs), free(cout_);
  json_decref(warn);
  schedopt_surrogate_free(sur);
  schedopt_predspec_free(&s);
  cli_problem_opts_free(&o);
  return rc;
}

const cli_command cli_predict = {"predict", "predict a loss curve with a fitted surrogate", run};
