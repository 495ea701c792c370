/* schedopt fit: fit a loss-curve surrogate to logged runs and score it on
 * held-out ones. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_figures.h"
#include "surrogate/fitspec.h"
#include "core/outfile.h"
#include "schedopt/fit.h"

static const char *help =
    "Usage: schedopt fit SPEC.yaml [options]\n"
    "\n"
    "Fit a loss-curve surrogate (fsl-llm or mpl) to the curves with role 'fit'\n"
    "and score it on every curve (R2, MAE, RMSE, PredE, WorstE on the observed\n"
    "loss scale; against the smoothed loss when a curve is smoothed).  With every\n"
    "parameter fixed in the spec, the curves are only scored.  On a terminal, a\n"
    "progress line on standard error shows the start (or bootstrap refit) k/N,\n"
    "the evaluations, the best objective and the elapsed time.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR      write DIR/fit.json (parameters, metrics) and\n"
    "                        DIR/predictions.csv (and DIR/fit.svg with\n"
    "                        output.plot: true); default: output.dir from the\n"
    "                        spec, else fit.json on standard output\n"
    "  --set KEY=VALUE       override a spec key (repeatable), e.g. --set fit.starts=4\n"
    "  -q, --quiet           no progress line and no summary on standard error\n"
    "  --progress MODE       auto (default: unless -q), always, never: the progress\n"
    "                        line on a terminal, a line every 10 s in a log\n"
    "  -h, --help            this help\n"
    "\n"
    "The spec format is described in docs/surrogates.md.\n";

static json_t *metrics_json(const schedopt_fit_metrics *m) {
  json_t *o = json_object();
  json_object_set_new(o, "n", json_integer((json_int_t)m->n));
  json_object_set_new(o, "r2", isfinite(m->r2) ? json_real(m->r2) : json_null());
  json_object_set_new(o, "mae", json_real(m->mae));
  json_object_set_new(o, "rmse", json_real(m->rmse));
  json_object_set_new(o, "prede", json_real(m->prede));
  json_object_set_new(o, "worste", json_real(m->worste));
  return o;
}

static void smoothing_text(const schedopt_losscurve *c, char *buf, size_t cap) {
  size_t w = schedopt_losscurve_smoothing(c);
  if (w > 1)
    snprintf(buf, cap, "centered rolling mean over %zu rows (truncated at the ends)", w);
  else
    snprintf(buf, cap, "none (the logged loss)");
}

/* "c3 = 10000 is on the upper bound of its search box: …" for parameter k,
 * or NULL when it is inside. */
static const char *bound_warning(const schedopt_surrogate_type *T, const schedopt_fit_summary *sm,
                                 size_t k, char *buf, size_t cap) {
  if (!sm->at_bound || !sm->at_bound[k]) return NULL;
  snprintf(buf, cap, "%s = %.6g is on the %s bound of its search box: the box, not the data, "
           "pins it (fix it under params, or widen its box with params.NAME.lo/hi, and check held-out curves)",
           k < T->nparams ? T->params[k].name : sm->names[k], sm->theta[k],
           sm->at_bound[k] < 0 ? "lower" : "upper");
  return buf;
}

/* The fit's flattest direction, when the Hessian is badly conditioned:
 * "Hessian condition 2.1e+07: the fit barely changes along +0.98 ln(C) (…)". */
static const char *ident_warning(const schedopt_surrogate_type *T, const schedopt_fit_summary *sm,
                                 char *buf, size_t cap) {
  if (!(sm->condition > 1e6) || !sm->weakest) return NULL;
  size_t len = (size_t)snprintf(buf, cap, "Hessian condition %.2g: the fit barely changes "
                                "along", sm->condition);
  for (size_t k = 0; k < T->nparams + sm->nextra && len < cap; k++) {
    double v = sm->weakest[k];
    if (fabs(v) < 0.2) continue;
    int lg = k < T->nparams && T->params[k].log_scale;
    len += (size_t)snprintf(buf + len, cap - len, " %s%.2f %s%s%s", v < 0 ? "-" : "+", fabs(v),
                            lg ? "ln(" : "", sm->names[k], lg ? ")" : "");
  }
  if (len < cap)
    snprintf(buf + len, cap - len, " (the curves do not pin this direction: predictions that "
             "depend on it are guesses; fix a parameter in it, or add curves that separate them)");
  return buf;
}

json_t *cli_fit_result_json(const fitspec *s, const schedopt_fit *f,
                            const schedopt_fit_options *o, int fitted) {
  const schedopt_surrogate_type *T = schedopt_fit_type(f);
  schedopt_fit_summary sm;
  schedopt_fit_get_summary(f, &sm);
  json_t *r = json_object(), *p = json_object(), *cv = json_array();
  json_object_set_new(r, "schedopt_fit", json_integer(1));
  json_object_set_new(r, "name", json_string(s->name ? s->name : "fit"));
  json_object_set_new(r, "model", json_string(T->name));
  json_object_set_new(r, "formula", json_string(T->formula));
  json_object_set_new(r, "intrinsic_time", json_string("T(k) = sum of lr over steps 0..k"));
  for (size_t k = 0; k < T->nparams; k++) json_object_set_new(p, T->params[k].name, json_real(sm.theta[k]));
  json_object_set_new(r, "params", p);
  json_t *fx = json_array();
  for (size_t k = 0; k < T->nparams; k++)
    if (s->has_fixed[k]) json_array_append_new(fx, json_string(T->params[k].name));
  json_object_set_new(r, "fixed", fx);
  json_t *fit = json_object();
  json_object_set_new(fit, "fitted", json_boolean(fitted));
  json_object_set_new(fit, "objective", isfinite(sm.objective) ? json_real(sm.objective) : json_null());
  json_object_set_new(fit, "objective_is", json_string("mean Huber loss of log(pred) - log(obs) over "
                                                       "the fitted points"));
  json_object_set_new(fit, "huber_delta", json_real(o->huber_delta));
  json_object_set_new(fit, "fitted_points", json_integer((json_int_t)sm.npoints));
  json_object_set_new(fit, "max_points_per_curve", json_integer((json_int_t)o->max_points));
  json_object_set_new(fit, "algorithm", json_string(schedopt_fit_algorithm_name(o->algorithm)));
  json_object_set_new(fit, "starts", json_integer(sm.starts));
  json_object_set_new(fit, "best_start", json_integer(sm.best_start));
  json_object_set_new(fit, "evaluations", json_integer(sm.evals));
  json_object_set_new(fit, "seconds", json_real(sm.seconds));
  json_object_set_new(fit, "cpu_seconds", json_real(sm.cpu_seconds));
  json_object_set_new(fit, "start_spread", json_real(sm.start_spread));
  json_t *warn = json_array();
  char wb[1024];
  for (size_t k = 0; k < T->nparams + sm.nextra; k++)
    if (bound_warning(T, &sm, k, wb, sizeof wb)) json_array_append_new(warn, json_string(wb));
  if (fitted && ident_warning(T, &sm, wb, sizeof wb)) json_array_append_new(warn, json_string(wb));
  json_object_set_new(fit, "warnings", warn);
  if (fitted) {
    json_t *reg = json_object(), *g = json_array();
    json_object_set_new(reg, "prior_strength", json_real(sm.prior));
    json_object_set_new(reg, "chosen_by", json_string(sm.ngrid ? "cross-validation" : "given"));
    json_object_set_new(reg, "folds", json_integer(sm.folds));
    for (size_t i = 0; i < sm.ngrid; i++) {
      json_t *e = json_object();
      json_object_set_new(e, "prior_strength", json_real(sm.grid[i]));
      json_object_set_new(e, "held_out_mae", json_real(sm.cv_error[i]));
      json_array_append_new(g, e);
    }
    json_object_set_new(reg, "grid", g);
    json_object_set_new(fit, "regularization", reg);
    json_t *id = json_object(), *w = json_object();
    json_object_set_new(id, "hessian_condition", isfinite(sm.condition) ? json_real(sm.condition) : json_null());
    for (size_t k = 0; k < T->nparams + sm.nextra; k++)
      if (fabs(sm.weakest[k]) >= 0.05) json_object_set_new(w, sm.names[k], json_real(sm.weakest[k]));
    json_object_set_new(id, "flattest_direction", w);
    json_object_set_new(id, "variables", json_string("search variables: ln of scales, ln(C*peak_lr^-gamma) for mpl's C, others as they are"));
    json_object_set_new(fit, "identifiability", id);
  }
  /* what the fit saw (design and predict warn outside it) */
  static const char *const rn[4] = {"peak_lr", "steps", "tokens_per_step", "model_size"};
  json_t *rg = json_object(), *kinds = json_array();
  for (int a = 0; a < 4; a++) {
    json_t *pr = json_null();
    if (isfinite(sm.range[a][0])) {
      pr = json_array();
      json_array_append_new(pr, json_real(sm.range[a][0]));
      json_array_append_new(pr, json_real(sm.range[a][1]));
    }
    json_object_set_new(rg, rn[a], pr);
  }
  for (size_t i = 0; i < s->ncv; i++) {
    if (s->cv[i].role != SCHEDOPT_CURVE_FIT) continue;
    int seen = 0;
    for (size_t j = 0; j < json_array_size(kinds); j++)
      seen |= !strcmp(json_string_value(json_array_get(kinds, j)), s->cv[i].kind);
    if (!seen) json_array_append_new(kinds, json_string(s->cv[i].kind));
  }
  json_object_set_new(rg, "schedules", kinds);
  json_object_set_new(fit, "range", rg);
  /* covariates: how θ depends on model size, tokens per step and run */
  json_t *cov = json_object();
  const schedopt_fit_laws *lw = sm.laws;
  if (lw && isfinite(lw->size_ref)) {
    json_t *ms = json_object(), *laws = json_object();
    json_object_set_new(ms, "reference", json_real(lw->size_ref));
    for (size_t k = 0; k < T->nparams; k++) {
      if (!lw->size_law[k]) continue;
      json_t *e = json_object();
      json_object_set_new(e, "law", json_string(schedopt_size_law_name((schedopt_size_law)lw->size_law[k])));
      if (lw->size_law[k] == SCHEDOPT_SIZE_SHIFTED) json_object_set_new(e, "shift", json_real(lw->size_shift[k]));
      json_object_set_new(e, "exponent", json_real(lw->size_exp[k]));
      json_object_set_new(laws, T->params[k].name, e);
    }
    json_object_set_new(ms, "laws", laws);
    json_object_set_new(cov, "model_size", ms);
  }
  if (lw && isfinite(lw->tokens_ref) && lw->noise_param >= 0) {
    json_t *tk = json_object();
    json_object_set_new(tk, "reference", json_real(lw->tokens_ref));
    json_object_set_new(tk, "scales", json_string(T->params[lw->noise_param].name));
    json_object_set_new(tk, "exponent", json_real(lw->tokens_exp));
    json_object_set_new(tk, "offset", json_real(lw->tokens_offset));
    json_object_set_new(tk, "law", json_string("noise amplitude x ((reference - offset)/(tokens_per_step - offset))^exponent"));
    json_object_set_new(cov, "tokens_per_step", tk);
  }
  if (sm.noffsets > 0) {
    json_t *of = json_object();
    double sum = 0;
    for (int r = 0; r < sm.noffsets; r++) {
      json_object_set_new(of, sm.runs[r], json_real(sm.theta[T->nparams + (size_t)r]));
      sum += sm.theta[T->nparams + (size_t)r];
    }
    json_object_set_new(of, sm.runs[sm.noffsets], json_real(-sum));
    json_object_set_new(cov, "run_offsets", of);
  }
  json_object_set_new(r, "covariates", cov);
  json_object_set_new(fit, "method", json_string(o->method == SCHEDOPT_SURROGATE_DIRECT ? "direct" : "fast"));
  json_object_set_new(fit, "tol", json_real(o->tol));
  json_object_set_new(r, "fit", fit);
  for (size_t i = 0; i < schedopt_fit_ncurves(f); i++) {
    schedopt_fit_curve c;
    if (schedopt_fit_get_curve(f, i, &c, NULL)) continue;
    json_t *o2 = json_object();
    char sm_text[128];
    smoothing_text(c.curve, sm_text, sizeof sm_text);
    json_object_set_new(o2, "name", json_string(schedopt_losscurve_name(c.curve)));
    json_object_set_new(o2, "file", json_string(s->cv[i].file));
    json_object_set_new(o2, "role", json_string(c.role == SCHEDOPT_CURVE_FIT ? "fit" : "test"));
    json_object_set_new(o2, "smoothing", json_string(sm_text));
    json_object_set_new(o2, "start_step", json_real(c.start_step));
    json_object_set_new(o2, "end_step", isfinite(c.end_step) ? json_real(c.end_step) : json_null());
    json_object_set_new(o2, "metrics", metrics_json(&c.metrics));
    if (schedopt_losscurve_smoothing(c.curve) > 1)
      json_object_set_new(o2, "metrics_vs_raw_loss", metrics_json(&c.metrics_raw));
    json_array_append_new(cv, o2);
  }
  json_object_set_new(r, "curves", cv);
  if (sm.bootstrap > 0 && sm.boot_theta) {
    json_t *b = json_object(), *rows = json_array(), *sd = json_object();
    json_object_set_new(b, "refits", json_integer(sm.bootstrap));
    json_object_set_new(b, "segments", json_integer(o->segments));
    json_object_set_new(b, "level", json_real(o->level));
    for (size_t k = 0; k < T->nparams; k++)
      json_object_set_new(sd, T->params[k].name, json_real(sm.theta_sd[k]));
    json_object_set_new(b, "params_sd", sd);
    for (int i = 0; i < sm.bootstrap; i++) {
      json_t *row = json_array();
      for (size_t k = 0; k < T->nparams; k++)
        json_array_append_new(row, json_real(sm.boot_theta[(size_t)i * T->nparams + k]));
      json_array_append_new(rows, row);
    }
    json_object_set_new(b, "params", rows);
    if (sm.nextra && sm.boot_extra) {
      json_t *xn = json_array(), *xr = json_array();
      for (size_t k = 0; k < sm.nextra; k++) json_array_append_new(xn, json_string(sm.names[T->nparams + k]));
      for (int i = 0; i < sm.bootstrap; i++) {
        json_t *row = json_array();
        for (size_t k = 0; k < sm.nextra; k++)
          json_array_append_new(row, json_real(sm.boot_extra[(size_t)i * sm.nextra + k]));
        json_array_append_new(xr, row);
      }
      json_object_set_new(b, "extra_names", xn);
      json_object_set_new(b, "extras", xr);
    }
    json_object_set_new(r, "bootstrap", b);
  }
  return r;
}

static void cell(FILE *fp, double v, int last) {
  if (isfinite(v)) fprintf(fp, "%.10g", v);
  fputc(last ? '\n' : ',', fp);
}

static schedopt_status write_predictions(FILE *fp, const schedopt_fit *f, schedopt_error *err) {
  fprintf(fp, "curve,role,step,lr,loss,raw_loss,pred,pred_lo,pred_hi,scored\n");
  for (size_t i = 0; i < schedopt_fit_ncurves(f); i++) {
    schedopt_fit_curve c;
    schedopt_status st = schedopt_fit_get_curve(f, i, &c, err);
    if (st) return st;
    size_t n = schedopt_losscurve_npoints(c.curve), K;
    const double *step = schedopt_losscurve_steps(c.curve), *loss = schedopt_losscurve_loss(c.curve),
                 *raw = schedopt_losscurve_raw_loss(c.curve), *eta = schedopt_losscurve_lr(c.curve, &K);
    const char *name = schedopt_losscurve_name(c.curve);
    for (size_t k = 0; k < n; k++) {
      fprintf(fp, "%s,%s,%.0f,", name, c.role == SCHEDOPT_CURVE_FIT ? "fit" : "test", step[k]);
      cell(fp, eta[(size_t)step[k]], 0);
      cell(fp, loss[k], 0);
      cell(fp, raw[k], 0);
      cell(fp, c.pred[k], 0);
      cell(fp, c.lo ? c.lo[k] : NAN, 0);
      cell(fp, c.hi ? c.hi[k] : NAN, 0);
      fprintf(fp, "%d\n", c.scored[k]);
    }
  }
  (void)err; /* write errors: the set's commit reports them */
  return SCHEDOPT_OK;
}

/* 17 digits: a fit.json read back (model: FILE) gives the same parameters, bit for bit */
static schedopt_status write_json(cli_extras *x, const char *path, json_t *j,
                                  schedopt_error *err) {
  FILE *fp;
  schedopt_status st = cli_extras_open(x, path ? path : "-", 0, &fp, err);
  if (st) return st;
  if (json_dumpf(j, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) && !ferror(fp))
    return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: JSON encoding failed",
                              path ? path : "fit.json");
  fputc('\n', fp); /* write errors: the set's commit */
  return SCHEDOPT_OK;
}

static void print_summary(const fitspec *s, const schedopt_fit *f, int fitted, const char *dir) {
  const schedopt_surrogate_type *T = schedopt_fit_type(f);
  schedopt_fit_summary sm;
  schedopt_fit_get_summary(f, &sm);
  size_t nfit = 0;
  for (size_t i = 0; i < s->ncv; i++) nfit += s->cv[i].role == SCHEDOPT_CURVE_FIT;
  fprintf(stderr, "schedopt fit: %s: %s, %s on %zu curve%s, scored on %zu\n", s->name, T->name,
          fitted ? "fitted" : "parameters fixed (no fit)", nfit, nfit == 1 ? "" : "s", s->ncv);
  fprintf(stderr, "  params:");
  for (size_t k = 0; k < T->nparams; k++) {
    fprintf(stderr, " %s=%.6g", T->params[k].name, sm.theta[k]);
    if (sm.theta_sd) fprintf(stderr, "(±%.2g)", sm.theta_sd[k]);
  }
  fputc('\n', stderr);
  if (fitted)
    fprintf(stderr, "  objective %.6g over %zu fitted points; %d starts (best: %d), %ld "
            "evaluations, %.3f s (cpu %.3f s); final-loss spread over near-best starts %.2g\n",
            sm.objective, sm.npoints, sm.starts, sm.best_start, sm.evals, sm.seconds,
            sm.cpu_seconds, sm.start_spread);
  if (fitted && sm.nextra) {
    fprintf(stderr, "  covariates:");
    for (size_t k = T->nparams; k < T->nparams + sm.nextra; k++)
      fprintf(stderr, " %s=%.6g", sm.names[k], sm.theta[k]);
    fputc('\n', stderr);
  }
  if (fitted && sm.ngrid) {
    fprintf(stderr, "  prior strength %g, chosen by %d-fold cross-validation (held-out MAE:", sm.prior,
            sm.folds);
    for (size_t i = 0; i < sm.ngrid; i++) fprintf(stderr, " %g: %.5f", sm.grid[i], sm.cv_error[i]);
    fprintf(stderr, ")\n");
  }
  char wb[1024];
  for (size_t k = 0; k < T->nparams + sm.nextra; k++)
    if (fitted && bound_warning(T, &sm, k, wb, sizeof wb))
      fprintf(stderr, "  warning: %s\n", wb);
  if (fitted && ident_warning(T, &sm, wb, sizeof wb)) fprintf(stderr, "  warning: %s\n", wb);
  fprintf(stderr, "  %-22s %-4s %7s %8s %9s %9s %9s %9s%s\n", "curve", "role", "points", "R2", "MAE",
          "RMSE", "PredE", "WorstE", sm.bootstrap ? "  band@end" : "");
  for (size_t i = 0; i < schedopt_fit_ncurves(f); i++) {
    schedopt_fit_curve c;
    if (schedopt_fit_get_curve(f, i, &c, NULL)) continue;
    const schedopt_fit_metrics *m = &c.metrics;
    fprintf(stderr, "  %-22s %-4s %7zu %8.5f %9.5f %9.5f %9.5f %9.5f", schedopt_losscurve_name(c.curve),
            c.role == SCHEDOPT_CURVE_FIT ? "fit" : "test", m->n, m->r2, m->mae, m->rmse, m->prede, m->worste);
    if (c.lo) {
      size_t n = schedopt_losscurve_npoints(c.curve);
      fprintf(stderr, "  [%.4f, %.4f]", c.lo[n - 1], c.hi[n - 1]);
    }
    fputc('\n', stderr);
  }
  for (size_t i = 0; i < s->ncv; i++) {
    size_t w = schedopt_losscurve_smoothing(s->cv[i].curve);
    schedopt_fit_curve c;
    if (w > 1 && !schedopt_fit_get_curve(f, i, &c, NULL))
      fprintf(stderr, "  note: %s is scored against its centered %zu-row rolling mean (MAE "
              "against the raw loss: %.5f)\n",
              schedopt_losscurve_name(s->cv[i].curve), w, c.metrics_raw.mae);
  }
  if (sm.bootstrap)
    fprintf(stderr, "  band: central %.0f%% of %d block-bootstrap refits\n", 100 * s->opts.level,
            sm.bootstrap);
  if (dir) fprintf(stderr, "schedopt: wrote %s/fit.json and %s/predictions.csv%s%s%s\n", dir, dir,
                   s->plot ? " and " : "", s->plot ? dir : "", s->plot ? "/fit.svg" : "");
}

static int run(int argc, char **argv) {
  cli_problem_opts o;
  int rc = cli_parse_problem_opts("fit", argc, argv, &o, NULL, NULL);
  if (rc || o.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&o);
    return rc;
  }
  if (!o.path) {
    cli_problem_opts_free(&o);
    return cli_usage_error("fit", "missing SPEC.yaml");
  }
  schedopt_error err = {0};
  fitspec s;
  schedopt_fit *f = NULL;
  json_t *j = NULL;
  cli_extras out; /* predictions.csv and fit.json, committed together */
  memset(&out, 0, sizeof out);
  int made_dir = 0;
  schedopt_status st = schedopt_fitspec_load(&s, o.path, o.sets, o.nsets, &err);
  const char *dir = o.output ? o.output : s.outdir;
  int fitted = 0;
  if (st) goto failed;
  if (dir && !strcmp(dir, "-")) dir = NULL; /* "-": fit.json to standard output */
  /* the folder before the fit: a bad place is reported at once */
  if (dir && (st = cli_prepare_dir(dir, &made_dir, &err))) goto failed;
  if (s.plot && !dir) {
    st = schedopt_error_set(&err, SCHEDOPT_EINVAL, "output.plot: the figure goes into the output "
                            "folder: give -o DIR (or output.dir)");
    goto failed;
  }
  const char *const fit_files[] = {"predictions.csv", "fit.json", s.plot ? "fit.svg" : NULL, NULL};
  if (dir && (st = cli_outputs_check(NULL, NULL, 0, dir, fit_files, &err))) goto failed;
  if ((st = schedopt_fitspec_make_fit(&s, &f, &err))) goto failed;
  fitted = !schedopt_fitspec_all_fixed(&s);
  if (fitted) {
    cli_fit_progress pg;
    cli_fit_progress_start(&pg, "fit", f, cli_progress_show(&o));
    st = schedopt_fit_run(f, &s.opts, &err);
    cli_fit_progress_clear(&pg);
  } else {
    st = schedopt_fit_evaluate(f, s.fixed, &s.opts, &err);
  }
  if (st) goto failed;
  if (!(j = cli_fit_result_json(&s, f, &s.opts, fitted))) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
    goto failed;
  }
  if (dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    FILE *fp;
    if ((st = cli_extras_open(&out, path, 0, &fp, &err)) ||
        (st = write_predictions(fp, f, &err)))
      goto failed;
    snprintf(path, sizeof path, "%s/fit.json", dir);
    if ((st = write_json(&out, path, j, &err))) goto failed;
    if (s.plot) { /* the fit against the observed curves; its data: predictions.csv */
      schedopt_plot *fig = NULL;
      char title[512];
      snprintf(title, sizeof title, "%.200s: fit against the observed loss", s.name);
      snprintf(path, sizeof path, "%s/fit", dir);
      if (!(st = schedopt_plot_alloc(&fig, title, &err)) && !(st = cli_fig_fit_of(fig, f, &err)))
        st = cli_extras_write_plot(&out, path, fig, &err);
      schedopt_plot_free(fig);
      if (st) goto failed;
    }
  } else if ((st = write_json(&out, NULL, j, &err))) {
    goto failed;
  }
  if ((st = cli_extras_commit(&out, &err))) goto failed;
  if (!o.quiet) print_summary(&s, f, fitted, dir);
  rc = 0;
  goto cleanup;
failed:
  rc = cli_fail(&err);
  cli_extras_abort(&out);
  cli_unprepare_dir(dir, made_dir);
cleanup:
  cli_extras_free(&out);
  json_decref(j);
  schedopt_fit_free(f);
  schedopt_fitspec_free(&s);
  cli_problem_opts_free(&o);
  return rc;
}

const cli_command cli_fit = {"fit", "fit a loss-curve surrogate (fsl-llm, mpl) to logged runs", run};
