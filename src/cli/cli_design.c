/* schedopt design: the learning-rate schedule that minimizes a fitted
 * surrogate's predicted final loss for a step or token budget, beside tuned
 * constant, cosine and WSD baselines. */
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
#include "schedopt/design.h"
#include "schedopt/export.h"
#include "schedopt/fit.h"

static const char *help =
    "Usage: schedopt design SPEC.yaml [options]\n"
    "\n"
    "Design the learning-rate schedule that minimizes the final loss predicted by a\n"
    "loss-curve surrogate (fitted first from the spec's curves, or given as\n"
    "model: fit.json / type and params) for a step or token budget, under peak,\n"
    "warmup and floor constraints; tuned constant, cosine and WSD schedules are\n"
    "reported beside it with the predicted gain, and the best built-in schedule of\n"
    "each trainer (design.trainers: Megatron-LM, torchtitan, OLMo-core, nanoGPT,\n"
    "DeepSpeed) with what the restriction costs (docs/trainers.md).\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR      write DIR/schedule.csv (step,tokens,lr,batch,loss, and\n"
    "                        loss_lo,loss_hi with a bootstrap band),\n"
    "                        DIR/baselines.csv (lr and predicted loss of each\n"
    "                        baseline), DIR/summary.json, DIR/summary.txt,\n"
    "                        DIR/design.svg (with output.plot: true),\n"
    "                        each trainer's flags or config (megatron_flags.sh,\n"
    "                        torchtitan.toml, olmo_core_scheduler.py,\n"
    "                        nanogpt_config.py, deepspeed_config.json),\n"
    "                        DIR/lr_exact.json (the exact rates, for export DIR)\n"
    "                        and, with output.export (a format or a list),\n"
    "                        DIR/schedule.<ext> (schedule_<format>.<ext> for\n"
    "                        several) for a trainer; default: output.dir from\n"
    "                        the spec, else only\n"
    "                        the summary on standard output\n"
    "  --set KEY=VALUE       override a spec key (repeatable), e.g.\n"
    "                        --set budget.tokens=2e10 --set lr.peak=1e-3\n"
    "  -q, --quiet           no progress line (the surrogate's fit, on a terminal)\n"
    "  --progress MODE       auto (default: unless -q), always, never: the progress\n"
    "                        line on a terminal, a line every 10 s in a log\n"
    "                        and no summary on standard output when files are written\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 success; 2 bad input; 1 a failed run (or a baseline the design\n"
    "contains beating it).  The spec format is described in docs/surrogates.md.\n";

typedef struct ctx {
  designspec s;
  const schedopt_surrogate_type *T;
  const double *theta;
  schedopt_fit *fit;
  schedopt_lrdesign_result r;
  double batch; /* sequences per step (1 if not given) */
  double *band_lo, *band_hi; /* band of the loss at the table rows, or NULL */
  double N, b;  /* top-level model_size and tokens_per_step (NAN: not given) */
  double theta_at[SCHEDOPT_SURROGATE_MAXP]; /* a fit here, moved to N and b */
  double *boot_at; /* its refits moved likewise (owned), or NULL */
  json_t *warn; /* warnings (strings): standard error, summary.json, summary.txt */
  const char *dir; /* the output folder, or NULL */
} ctx;

/* The schedule family of a baseline ("wsd-linear" → "wsd"). */
static const char *baseline_family(const char *name) {
  return !strncmp(name, "wsd-", 4) ? "wsd" : name;
}

/* Warnings for a design outside what the fit saw (res: the fit result,
 * as schedopt fit writes it; NULL: an inline model), then the band's. */
static void range_warnings(ctx *c, const json_t *res) {
  const designspec *s = &c->s;
  const schedopt_lrdesign_result *r = &c->r;
  cli_range_baseline bl[16]; /* six at most */
  size_t nb = r->nbaselines < sizeof bl / sizeof *bl ? r->nbaselines : sizeof bl / sizeof *bl;
  for (size_t i = 0; i < nb; i++)
    bl[i] = (cli_range_baseline){r->baselines[i].name, baseline_family(r->baselines[i].name),
                                 r->baselines[i].peak};
  const int wsd = s->param == SCHEDOPT_LRDESIGN_WSD;
  cli_range_query q = {
      .subject = "the design",
      .self = "the design",
      .steps = r->steps,
      /* the design's peak: the wsd family's when tuned */
      .peak = wsd && isfinite(r->wsd_peak) ? r->wsd_peak : s->peak,
      .peak_note = s->tune_peak && wsd ? " (tuned)" : "",
      .tokens_per_step = c->b,
      .budget_tokens = r->tokens_per_step > 0 ? r->tokens_per_step
                       : s->batch > 0 && s->seq_len > 0 ? s->batch * s->seq_len : NAN,
      .model_size = c->N,
      .family = wsd ? "wsd" : NULL,
      .free_form = wsd ? NULL : schedopt_lrdesign_param_name(s->param),
      .baselines = bl,
      .nbaselines = nb,
  };
  cli_range_warnings(res, &q, c->warn);
  if (!isfinite(r->band_lo))
    json_array_append_new(c->warn,
                          json_string("no prediction band: refit with uncertainty.bootstrap: N "
                                      "(N >= 2); without bootstrap refits neither the final loss "
                                      "nor the gain over the baselines has an uncertainty"));
}

static double tokens_at(const ctx *c, size_t k) {
  return c->r.tokens_per_step > 0 ? (double)k * c->r.tokens_per_step
                                  : (double)k * c->batch * (c->s.seq_len > 0 ? c->s.seq_len : 1);
}

static void cell(FILE *fp, double v, int last) {
  if (isfinite(v)) fprintf(fp, "%.10g", v);
  fputc(last ? '\n' : ',', fp);
}

/* Rows: every `every` steps from 0, and the last step. */
static int is_row(const ctx *c, size_t k) {
  return k % (size_t)c->s.every == 0 || k + 1 == c->r.steps;
}

/* The band of the loss at the table rows (the design has bootstrap refits). */
static schedopt_status table_band(ctx *c, const schedopt_lrdesign *d, schedopt_error *err) {
  size_t n = 0;
  for (size_t k = 0; k < c->r.steps; k++) n += is_row(c, k);
  size_t *rows = malloc(n * sizeof *rows);
  c->band_lo = malloc(n * sizeof *c->band_lo);
  c->band_hi = malloc(n * sizeof *c->band_hi);
  if (!rows || !c->band_lo || !c->band_hi) {
    free(rows);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  for (size_t k = 0, m = 0; k < c->r.steps; k++)
    if (is_row(c, k)) rows[m++] = k;
  schedopt_status st = schedopt_lrdesign_band_at(d, rows, n, c->band_lo, c->band_hi, err);
  free(rows);
  return st;
}

static schedopt_status write_schedule(const ctx *c, cli_extras *x, const char *path,
                                     schedopt_error *err) {
  FILE *fp;
  schedopt_status st = cli_extras_open(x, path, 0, &fp, err);
  if (st) return st;
  const int band = c->band_lo != NULL;
  fprintf(fp, "step,tokens,lr,batch,loss%s\n", band ? ",loss_lo,loss_hi" : "");
  for (size_t k = 0, row = 0; k < c->r.steps; k++) {
    if (!is_row(c, k)) continue;
    fprintf(fp, "%zu,", k);
    cell(fp, tokens_at(c, k), 0);
    cell(fp, c->r.lr[k], 0);
    cell(fp, c->batch, 0);
    cell(fp, c->r.loss[k], !band);
    if (band) {
      cell(fp, c->band_lo[row], 0);
      cell(fp, c->band_hi[row], 1);
    }
    row++;
  }
  return SCHEDOPT_OK; /* write errors: the set's commit */
}

/* The table rows (*rows) and every baseline's predicted loss at them
 * (*loss, nbaselines × n, by the design's surrogate). */
static schedopt_status baseline_losses(const ctx *c, size_t **rows, size_t *n, double **loss,
                                       schedopt_error *err) {
  size_t m = 0, nb = c->r.nbaselines;
  for (size_t k = 0; k < c->r.steps; k++) m += is_row(c, k);
  *rows = malloc((m + 1) * sizeof **rows);
  *loss = malloc((nb * m + 1) * sizeof **loss);
  *n = m;
  if (!*rows || !*loss) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t k = 0, i = 0; k < c->r.steps; k++)
    if (is_row(c, k)) (*rows)[i++] = k;
  schedopt_surrogate *sur = NULL;
  schedopt_status st = schedopt_surrogate_alloc(&sur, c->T, err);
  if (!st) st = schedopt_surrogate_set_params(sur, c->theta, err);
  for (size_t i = 0; i < nb && !st; i++)
    st = cli_fig_predict(sur, c->r.baselines[i].lr, c->r.steps, *rows, m, *loss + i * m, err);
  schedopt_surrogate_free(sur);
  return st;
}

/* The lr of the design and of every baseline at the table rows, then each
 * baseline's predicted loss (loss_NAME; the design's is in schedule.csv). */
static schedopt_status write_baselines(const ctx *c, cli_extras *x, const char *path,
                                      schedopt_error *err) {
  size_t *rows = NULL, n = 0;
  double *bl = NULL;
  FILE *fp;
  schedopt_status st = baseline_losses(c, &rows, &n, &bl, err);
  if (!st) st = cli_extras_open(x, path, 0, &fp, err);
  if (st) goto done;
  const size_t nb = c->r.nbaselines;
  fprintf(fp, "step,tokens,design");
  for (size_t i = 0; i < nb; i++) fprintf(fp, ",%s", c->r.baselines[i].name);
  for (size_t i = 0; i < nb; i++) fprintf(fp, ",loss_%s", c->r.baselines[i].name);
  fputc('\n', fp);
  for (size_t m = 0; m < n; m++) {
    size_t k = rows[m];
    fprintf(fp, "%zu,", k);
    cell(fp, tokens_at(c, k), 0);
    cell(fp, c->r.lr[k], nb == 0);
    for (size_t i = 0; i < nb; i++) cell(fp, c->r.baselines[i].lr[k], 0);
    for (size_t i = 0; i < nb; i++) cell(fp, bl[i * n + m], i + 1 == nb);
  }
done: /* write errors: the set's commit */
  free(rows);
  free(bl);
  return st;
}

/* output.plot: DIR/design.svg, the design beside its baselines (its data:
 * schedule.csv and baselines.csv). */
static schedopt_status write_plot(const ctx *c, cli_extras *x, const char *dir,
                                  schedopt_error *err) {
  size_t *rows = NULL, n = 0, nb = c->r.nbaselines;
  double *bl = NULL, *v = NULL;
  cli_fig_sched *bs = calloc(nb + 1, sizeof *bs);
  schedopt_plot *fig = NULL;
  schedopt_status st = bs ? baseline_losses(c, &rows, &n, &bl, err)
                          : schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  /* the table rows: step, the design's lr and loss, each baseline's lr */
  if (!st && !(v = malloc((3 + nb) * n * sizeof *v)))
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t m = 0; !st && m < n; m++) {
    v[m] = (double)rows[m];
    v[n + m] = c->r.lr[rows[m]];
    v[2 * n + m] = c->r.loss[rows[m]];
    for (size_t i = 0; i < nb; i++) v[(3 + i) * n + m] = c->r.baselines[i].lr[rows[m]];
  }
  for (size_t i = 0; !st && i < nb; i++)
    bs[i] = (cli_fig_sched){c->r.baselines[i].name, v + (3 + i) * n, bl + i * n};
  char title[512], path[4200];
  snprintf(title, sizeof title, "%.200s: design beside the tuned baselines", c->s.name);
  snprintf(path, sizeof path, "%s/design", dir);
  cli_fig_design d = {n, v, {"design", v ? v + n : NULL, v ? v + 2 * n : NULL}, c->band_lo,
                      c->band_hi, nb, bs, c->r.warmup};
  if (!st && !(st = schedopt_plot_alloc(&fig, title, err)) &&
      !(st = cli_fig_design_build(fig, &d, err)))
    st = cli_extras_write_plot(x, path, fig, err);
  schedopt_plot_free(fig);
  free(rows);
  free(bl);
  free(v);
  free(bs);
  return st;
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* The cost of a trainer's restriction, judged like the gain: within the
 * band when it is below the band's half-width. */
static int cost_within_band(const ctx *c, const schedopt_lrdesign_trainer *t) {
  const schedopt_lrdesign_result *r = &c->r;
  if (!isfinite(r->band_lo)) return -1;
  return t->cost < (r->band_hi - r->band_lo) / 2;
}

static json_t *trainers_json(const ctx *c) {
  const schedopt_lrdesign_result *r = &c->r;
  json_t *a = json_array();
  for (size_t i = 0; i < r->ntrainers; i++) {
    const schedopt_lrdesign_trainer *t = &r->trainers[i];
    const schedopt_trainer_type *T = t->sched.type;
    json_t *e = json_object();
    char desc[512];
    schedopt_trainer_describe(&t->sched, desc, sizeof desc);
    json_object_set_new(e, "name", json_string(T->name));
    json_object_set_new(e, "trainer", json_string(T->trainer));
    json_object_set_new(e, "style", json_string(T->style));
    json_object_set_new(e, "best_of_trainer", json_boolean(t->best));
    json_object_set_new(e, "schedule", json_string(desc));
    json_object_set_new(e, "steps", json_integer((json_int_t)t->sched.steps));
    json_object_set_new(e, "warmup", json_integer((json_int_t)t->sched.warmup));
    if (T->has_decay) json_object_set_new(e, "decay", json_integer((json_int_t)t->sched.decay));
    json_object_set_new(e, "peak", json_real(t->sched.peak));
    if (T->has_floor) json_object_set_new(e, "floor", json_real(t->sched.floor));
    json_object_set_new(e, "final_loss", json_real(t->final_loss));
    json_object_set_new(e, "cost", json_real(t->cost));
    json_object_set_new(e, "cost_percent", json_real(100 * t->cost / r->final_loss));
    int wb = cost_within_band(c, t);
    json_object_set_new(e, "cost_within_band", wb < 0 ? json_null() : json_boolean(wb));
    if (isfinite(t->cost_lo)) {
      json_t *rg = json_object();
      json_object_set_new(rg, "lo", json_real(t->cost_lo));
      json_object_set_new(rg, "hi", json_real(t->cost_hi));
      json_object_set_new(rg, "level", json_real(c->s.level));
      json_object_set_new(e, "cost_refits", rg);
    }
    if (t->best && c->dir)
      json_object_set_new(e, "config", json_string(schedopt_trainer_file_name(T->trainer)));
    json_object_set_new(e, "evaluations", json_integer(t->evals));
    json_array_append_new(a, e);
  }
  return a;
}

static json_t *summary_json(const ctx *c) {
  const designspec *s = &c->s;
  const schedopt_lrdesign_result *r = &c->r;
  json_t *o = json_object(), *p = json_object(), *b = json_object(), *lr = json_object(),
         *d = json_object(), *res = json_object(), *bl = json_array();
  json_object_set_new(o, "schedopt_design", json_integer(1));
  json_object_set_new(o, "name", json_string(s->name));
  json_t *sur = json_object();
  json_object_set_new(sur, "model", json_string(c->T->name));
  json_object_set_new(sur, "formula", json_string(c->T->formula));
  for (size_t k = 0; k < c->T->nparams; k++)
    json_object_set_new(p, c->T->params[k].name, json_real(c->theta[k]));
  json_object_set_new(sur, "params", p);
  json_object_set_new(sur, "source", json_string(s->has_fit ? "fitted from the spec's curves"
                                                 : s->model_file ? s->model_file : "given params"));
  if (!isnan(c->N)) json_object_set_new(sur, "model_size", json_real(c->N));
  if (!isnan(c->b)) json_object_set_new(sur, "tokens_per_step", json_real(c->b));
  if (c->fit) {
    json_t *cv = json_array();
    for (size_t i = 0; i < schedopt_fit_ncurves(c->fit); i++) {
      schedopt_fit_curve fc;
      if (schedopt_fit_get_curve(c->fit, i, &fc, NULL)) continue;
      json_t *m = json_object();
      json_object_set_new(m, "name", json_string(schedopt_losscurve_name(fc.curve)));
      json_object_set_new(m, "role", json_string(fc.role == SCHEDOPT_CURVE_FIT ? "fit" : "test"));
      json_object_set_new(m, "mae", json_real(fc.metrics.mae));
      json_object_set_new(m, "r2", jnum(fc.metrics.r2));
      json_object_set_new(m, "worste", json_real(fc.metrics.worste));
      json_array_append_new(cv, m);
    }
    json_object_set_new(sur, "curves", cv);
    schedopt_fit_summary fs;
    schedopt_fit_get_summary(c->fit, &fs);
    json_object_set_new(sur, "fit_cpu_seconds", json_real(fs.cpu_seconds));
    json_object_set_new(sur, "bootstrap_refits", json_integer(fs.bootstrap));
  } else {
    json_object_set_new(sur, "bootstrap_refits", json_integer((json_int_t)s->nboot));
  }
  json_object_set_new(o, "surrogate", sur);
  json_object_set_new(b, "steps", json_integer((json_int_t)r->steps));
  if (r->tokens_per_step > 0) {
    json_object_set_new(b, "tokens", json_real(s->tokens));
    json_object_set_new(b, "tokens_per_step", json_real(r->tokens_per_step));
    json_object_set_new(b, "tokens_used", json_real((double)r->steps * r->tokens_per_step));
  }
  json_object_set_new(o, "budget", b);
  json_object_set_new(lr, "peak", json_real(s->peak));
  json_object_set_new(lr, "floor", json_real(s->floor));
  json_object_set_new(lr, "warmup", json_integer((json_int_t)r->warmup));
  json_object_set_new(lr, "warmup_shape", json_string(schedopt_warmup_shape_name(s->warmup_shape)));
  json_object_set_new(lr, "tune_peak", json_boolean(s->tune_peak));
  json_object_set_new(o, "lr", lr);
  json_object_set_new(d, "parametrization", json_string(schedopt_lrdesign_param_name(s->param)));
  if (s->param == SCHEDOPT_LRDESIGN_KNOTS) json_object_set_new(d, "knots", json_integer((json_int_t)s->knots));
  json_object_set_new(d, "monotone", json_boolean(s->monotone));
  json_object_set_new(d, "algorithm", json_string(s->param == SCHEDOPT_LRDESIGN_WSD ? "bobyqa"
                                                  : schedopt_lrdesign_algorithm_name(s->algorithm)));
  json_object_set_new(d, "ftol_rel", json_real(s->ftol_rel));
  json_object_set_new(d, "maxeval", json_integer((json_int_t)s->maxeval));
  json_object_set_new(o, "design", d);
  json_object_set_new(res, "final_loss", json_real(r->final_loss));
  json_object_set_new(res, "final_loss_is", json_string("predicted loss after the last step "
                                                        "(the surrogate's direct sum)"));
  if (isfinite(r->band_lo)) {
    json_t *band = json_object();
    json_object_set_new(band, "lo", json_real(r->band_lo));
    json_object_set_new(band, "hi", json_real(r->band_hi));
    json_object_set_new(band, "level", json_real(s->level));
    json_object_set_new(res, "final_loss_band", band);
  }
  if (r->best_baseline >= 0) {
    json_object_set_new(res, "best_baseline", json_string(r->baselines[r->best_baseline].name));
    json_object_set_new(res, "gain", json_real(r->gain));
    json_object_set_new(res, "gain_percent", json_real(r->gain_pct));
    /* the gain judged against the band of the design's final loss */
    json_t *g = json_object();
    json_object_set_new(g, "value", json_real(r->gain));
    json_object_set_new(g, "band_half_width", jnum(r->gain_band_half_width));
    json_object_set_new(g, "within_band", r->gain_within_band < 0 ? json_null()
                                          : json_boolean(r->gain_within_band));
    if (isfinite(r->gain_lo)) {
      json_t *rg = json_object();
      json_object_set_new(rg, "lo", json_real(r->gain_lo));
      json_object_set_new(rg, "hi", json_real(r->gain_hi));
      json_object_set_new(rg, "level", json_real(s->level));
      json_object_set_new(g, "refits", rg);
    } else {
      json_object_set_new(g, "refits", json_null());
    }
    json_object_set_new(res, "gain_vs_best_baseline", g);
  }
  if (s->param == SCHEDOPT_LRDESIGN_WSD) {
    json_t *w = json_object();
    json_object_set_new(w, "decay_frac", json_real(r->wsd_decay_frac));
    json_object_set_new(w, "power", json_real(r->wsd_power));
    json_object_set_new(w, "end", json_real(r->wsd_end));
    json_object_set_new(w, "peak", json_real(r->wsd_peak));
    json_object_set_new(res, "wsd", w);
  }
  json_object_set_new(res, "evaluations", json_integer(r->evals));
  json_object_set_new(res, "design_evaluations", json_integer(r->design_evals));
  json_object_set_new(res, "cpu_seconds", json_real(r->cpu_seconds));
  json_object_set_new(res, "seconds", json_real(r->seconds));
  json_object_set_new(res, "nlopt_result", json_string(r->nlopt_result));
  json_object_set_new(o, "result", res);
  for (size_t i = 0; i < r->nbaselines; i++) {
    const schedopt_lrdesign_baseline *x = &r->baselines[i];
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(x->name));
    json_object_set_new(e, "final_loss", json_real(x->final_loss));
    json_object_set_new(e, "peak", json_real(x->peak));
    json_object_set_new(e, "decay_frac", jnum(x->decay_frac));
    json_object_set_new(e, "evaluations", json_integer(x->evals));
    json_object_set_new(e, "contained", json_boolean(x->contained));
    json_array_append_new(bl, e);
  }
  json_object_set_new(o, "baselines", bl);
  json_object_set_new(o, "trainers", trainers_json(c));
  json_object_set_new(o, "warnings", json_copy(c->warn));
  return o;
}

/* with_warnings: also the warnings (summary.txt; on standard output they
 * are on standard error already). */
static void summary_text(const ctx *c, FILE *fp, int with_warnings) {
  const designspec *s = &c->s;
  const schedopt_lrdesign_result *r = &c->r;
  fprintf(fp, "schedopt design: %s\n", s->name);
  fprintf(fp, "  surrogate  %s (%s):", c->T->name, s->has_fit ? "fitted here" : "given");
  for (size_t k = 0; k < c->T->nparams; k++) fprintf(fp, " %s=%.6g", c->T->params[k].name, c->theta[k]);
  fputc('\n', fp);
  if (c->fit)
    for (size_t i = 0; i < schedopt_fit_ncurves(c->fit); i++) {
      schedopt_fit_curve fc;
      if (!schedopt_fit_get_curve(c->fit, i, &fc, NULL))
        fprintf(fp, "             %-20s %-4s MAE %.5f WorstE %.5f\n",
                schedopt_losscurve_name(fc.curve), fc.role == SCHEDOPT_CURVE_FIT ? "fit" : "test",
                fc.metrics.mae, fc.metrics.worste);
    }
  fprintf(fp, "  budget     %zu steps", r->steps);
  if (r->tokens_per_step > 0)
    fprintf(fp, " (%.6g tokens at %.6g tokens per step)", (double)r->steps * r->tokens_per_step,
            r->tokens_per_step);
  fprintf(fp, "\n  lr         peak %g%s, floor %g, %s warmup of %zu steps\n", s->peak,
          s->tune_peak ? " (at most; tuned)" : "", s->floor,
          schedopt_warmup_shape_name(s->warmup_shape), r->warmup);
  fprintf(fp, "  design     %s", schedopt_lrdesign_param_name(s->param));
  if (s->param == SCHEDOPT_LRDESIGN_KNOTS) fprintf(fp, " (%.0f knots)", s->knots);
  if (s->param == SCHEDOPT_LRDESIGN_WSD)
    fprintf(fp, ": decay over the last %.4g of the steps, (1 - z)^%.4g to %.4g, peak %.4g",
            r->wsd_decay_frac, r->wsd_power, r->wsd_end, r->wsd_peak);
  fprintf(fp, ", %s; NLopt %s after %ld evaluations (%ld in all), %.3f s CPU\n",
          s->monotone ? "non-increasing" : "free", r->nlopt_result, r->design_evals, r->evals,
          r->cpu_seconds);
  fprintf(fp, "  final loss %.6f", r->final_loss);
  if (isfinite(r->band_lo))
    fprintf(fp, " (band [%.6f, %.6f], central %.0f%% of the bootstrap refits)", r->band_lo,
            r->band_hi, 100 * s->level);
  fputc('\n', fp);
  if (r->nbaselines) {
    fprintf(fp, "  %-16s %12s %10s %10s %8s\n", "baseline", "final loss", "peak", "decay_frac",
            "evals");
    for (size_t i = 0; i < r->nbaselines; i++) {
      const schedopt_lrdesign_baseline *x = &r->baselines[i];
      fprintf(fp, "  %-16s %12.6f %10.4g ", x->name, x->final_loss, x->peak);
      if (isfinite(x->decay_frac)) fprintf(fp, "%10.4f", x->decay_frac);
      else fprintf(fp, "%10s", "-");
      fprintf(fp, " %8ld%s\n", x->evals, x->contained ? "  (contained)" : "");
    }
    fprintf(fp, "  gain       %.6f (%.3f%%) below the best baseline, %s", r->gain, r->gain_pct,
            r->baselines[r->best_baseline].name);
    if (r->gain_within_band >= 0)
      fprintf(fp, ": %s the prediction band (half-width %.6f)",
              r->gain_within_band ? "within" : "beyond", r->gain_band_half_width);
    fputc('\n', fp);
    if (isfinite(r->gain_lo))
      fprintf(fp, "             the refits' own gains (same parameters for both schedules): "
                  "[%.6f, %.6f]\n", r->gain_lo, r->gain_hi);
  }
  if (r->ntrainers) {
    fprintf(fp, "  %-11s %-44s %12s %s\n", "trainer", "its best built-in schedule", "final loss",
            "cost of the restriction");
    for (size_t i = 0; i < r->ntrainers; i++) {
      const schedopt_lrdesign_trainer *t = &r->trainers[i];
      if (!t->best) continue;
      char desc[512];
      schedopt_trainer_describe(&t->sched, desc, sizeof desc);
      const char *colon = strchr(desc, ':');
      fprintf(fp, "  %-11s %-44.*s %12.6f %+.6f (%.3f%%)", t->sched.type->trainer,
              colon ? (int)(colon - desc) : 44, desc, t->final_loss, t->cost,
              100 * t->cost / r->final_loss);
      int wb = cost_within_band(c, t);
      if (wb >= 0) fprintf(fp, ", %s the band", wb ? "within" : "beyond");
      if (isfinite(t->cost_lo)) fprintf(fp, "; refits [%.6f, %.6f]", t->cost_lo, t->cost_hi);
      fputc('\n', fp);
      if (colon) fprintf(fp, "  %-11s %s\n", "", colon + 2);
      if (c->dir)
        fprintf(fp, "  %-11s -> %s/%s\n", "", c->dir, schedopt_trainer_file_name(t->sched.type->trainer));
    }
  }
  for (size_t i = 0; with_warnings && i < json_array_size(c->warn); i++)
    fprintf(fp, "  warning    %s\n", json_string_value(json_array_get(c->warn, i)));
}

/* The fit made here at the spec's model_size and tokens_per_step (c->N,
 * c->b), through its covariate laws, as a fit result moves (every refit with
 * its own size exponents); *boot becomes the moved refits. */
static schedopt_status move_fit(ctx *c, const schedopt_fit_summary *fs, const ykv_entry *ne,
                                const ykv_entry *be, const double **boot, size_t nboot,
                                schedopt_error *err) {
  const schedopt_fit_laws *lw = fs->laws;
  if (!isnan(c->N) && (!lw || !isfinite(lw->size_ref)))
    return schedopt_ykv_error(err, SCHEDOPT_EINVAL, ne, 0, "spec", "model_size = %g: this fit has "
                              "no size laws (its curves had one model size; fit curves of two or "
                              "more sizes with model_size and size laws)", c->N);
  if (!isnan(c->b) && (!lw || !isfinite(lw->tokens_ref)))
    return schedopt_ykv_error(err, SCHEDOPT_EINVAL, be, 0, "spec", "tokens_per_step = %g: this "
                              "fit has no tokens-per-step reference", c->b);
  schedopt_status st = schedopt_fit_laws_apply(c->T, lw, fs->theta, c->N, c->b, c->theta_at, err);
  if (st) return st;
  c->theta = c->theta_at;
  if (!*boot || !nboot) return SCHEDOPT_OK;
  size_t np = c->T->nparams;
  if (!(c->boot_at = malloc(nboot * np * sizeof *c->boot_at)))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t i = 0; i < nboot && !st; i++) {
    schedopt_fit_laws li = *lw;
    for (size_t j = 0; fs->boot_extra && j < fs->nextra; j++)
      for (size_t k = 0; k < np; k++) {
        char nm[80];
        snprintf(nm, sizeof nm, "size_exponent[%s]", c->T->params[k].name);
        if (fs->names && fs->names[np + j] && !strcmp(fs->names[np + j], nm))
          li.size_exp[k] = fs->boot_extra[i * fs->nextra + j];
      }
    st = schedopt_fit_laws_apply(c->T, &li, *boot + i * np, c->N, c->b, c->boot_at + i * np, err);
  }
  *boot = c->boot_at;
  return st;
}

static schedopt_status write_json(cli_extras *x, const char *path, json_t *j,
                                  schedopt_error *err) {
  FILE *fp;
  schedopt_status st = cli_extras_open(x, path, 0, &fp, err);
  if (st) return st;
  if (json_dumpf(j, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) && !ferror(fp))
    return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: JSON encoding failed", path);
  fputc('\n', fp); /* write errors: the set's commit */
  return SCHEDOPT_OK;
}

static const char *export_ext(int f);

/* The file of export format f: schedule.<ext> when the spec asks for one
 * format, schedule_<format>.<ext> when for several. */
static void export_file(const designspec *s, int f, char *buf, size_t cap) {
  static const char *const names[] = {"csv", "json", "pytorch", "megatron", "nanogpt", "hf",
                                      "torchtitan", "olmo_core", "deepspeed"};
  if (!(s->formats & (s->formats - 1)))
    snprintf(buf, cap, "schedule.%s", export_ext(f));
  else
    snprintf(buf, cap, "schedule_%s.%s", f >= 0 && f < 9 ? names[f] : "x",
             f == SCHEDOPT_EXPORT_CSV ? "csv" : export_ext(f));
}

static const char *export_ext(int f) {
  switch (f) {
  case SCHEDOPT_EXPORT_CSV: return "trainer.csv";
  case SCHEDOPT_EXPORT_JSON: return "json";
  case SCHEDOPT_EXPORT_MEGATRON: return "sh";
  default: return "py";
  }
}

/* The design as a schedule table for the export module: the rates of the
 * K steps η_0 … η_{K−1}, then the end of the horizon (step K, the last rate
 * again), so that a table's last row counts the steps the trainer performs;
 * steps clock, batch in sequences and seq_len in tokens.  A design of the
 * wsd parametrization with a linear warmup is schedopt's wsd family (shape
 * power: η = e + (pk − e)(1 − z)^p after t_d = K(1 − f), ramp pk·k/W), so
 * the Python exports write its closed form; it is checked against every
 * step first.  Beside the export, lr_exact.json: that family, else the
 * breakpoints that reproduce every step, for `schedopt export DIR`. */
static schedopt_status write_export(const ctx *c, cli_extras *x, const char *dir,
                                   const char *path, int format, int with_exact,
                                   schedopt_error *err) {
  size_t K = c->r.steps;
  if (K == 0) return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: a design of 0 steps", path);
  schedopt_row *rows = calloc(K + 1, sizeof *rows);
  if (!rows) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double peak = 0;
  for (size_t k = 0; k <= K; k++) {
    rows[k].t = rows[k].step = (double)k;
    rows[k].samples = (double)k * c->batch;
    rows[k].u.lr = c->r.lr[k < K ? k : K - 1];
    rows[k].u.batch = c->batch;
    peak = fmax(peak, rows[k].u.lr);
  }
  schedopt_export_table t = {.rows = rows,
                             .n = K + 1,
                             .has_loss = 0,
                             .clock = SCHEDOPT_CLOCK_STEPS,
                             .seq_len = c->s.seq_len > 0 ? c->s.seq_len : 1,
                             .name = c->s.name,
                             .label = "design under a surrogate"};
  /* the wsd parametrization as the control family */
  schedopt_control *wc = NULL;
  schedopt_schedule *ws = NULL;
  const schedopt_lrdesign_result *r = &c->r;
  if (isfinite(r->wsd_decay_frac) && c->s.warmup_shape == SCHEDOPT_WARMUP_LINEAR &&
      !schedopt_control_alloc(&wc, schedopt_control_wsd, NULL) &&
      !schedopt_control_set(wc, "peak", r->wsd_peak, NULL) &&
      !schedopt_control_set(wc, "floor", r->wsd_end, NULL) &&
      !schedopt_control_set(wc, "decay_frac", r->wsd_decay_frac, NULL) &&
      !schedopt_control_set_choice(wc, "shape", "power", NULL) &&
      !schedopt_control_set(wc, "delta", r->wsd_power, NULL) &&
      !schedopt_control_set(wc, "warmup", (double)r->warmup, NULL) &&
      !schedopt_schedule_alloc(&ws, SCHEDOPT_CLOCK_STEPS, (double)K, 1, NULL) &&
      !schedopt_schedule_set(ws, SCHEDOPT_LR, wc, NULL)) {
    for (size_t k = 0; k < K && ws; k++)
      if (!(fabs(schedopt_control_eval(wc, (double)K, (double)k, NULL) - r->lr[k]) <=
            1e-13 * peak)) {
        schedopt_schedule_free(ws);
        ws = NULL;
      }
  } else {
    schedopt_schedule_free(ws);
    ws = NULL;
  }
  schedopt_export_options eo;
  schedopt_export_options_default(&eo);
  eo.schedule = ws;
  schedopt_status st = SCHEDOPT_OK;
  if (path) { /* output.format; lr_exact.json always */
    FILE *fp;
    st = cli_extras_open(x, path, 0, &fp, err);
    if (!st && (st = schedopt_export_write(fp, (schedopt_export_format)format, &t, &eo, err)))
      schedopt_error_prefix(err, "%s: ", path);
  }
  double *bs = NULL, *bl = NULL;
  size_t nb = 0;
  json_t *j = NULL;
  /* (the family when there is one: its breakpoints would be every step of the anneal) */
  if (!st && with_exact &&
      (ws || !(st = schedopt_export_lr_breakpoints(&t, NULL, &bs, &bl, &nb, err)))) {
    j = json_object();
    json_t *js = json_array(), *jl = json_array();
    for (size_t i = 0; i < nb; i++) {
      json_array_append_new(js, json_real(bs[i]));
      json_array_append_new(jl, json_real(bl[i]));
    }
    json_object_set_new(j, "format", json_string("schedopt-lr-breakpoints"));
    json_object_set_new(j, "version", json_integer(1));
    json_object_set_new(j, "name", json_string(c->s.name ? c->s.name : "design"));
    json_object_set_new(j, "label", json_string("design under a surrogate"));
    json_object_set_new(j, "steps", json_integer((json_int_t)K));
    json_object_set_new(j, "batch", json_real(c->batch));
    json_object_set_new(j, "seq_len", json_real(t.seq_len));
    if (ws) { /* the family (control.h's wsd), exact at every step */
      json_t *f = json_object();
      json_object_set_new(f, "type", json_string("wsd"));
      json_object_set_new(f, "peak", json_real(r->wsd_peak));
      json_object_set_new(f, "floor", json_real(r->wsd_end));
      json_object_set_new(f, "decay_frac", json_real(r->wsd_decay_frac));
      json_object_set_new(f, "shape", json_string("power"));
      json_object_set_new(f, "delta", json_real(r->wsd_power));
      json_object_set_new(f, "warmup", json_real((double)r->warmup));
      json_object_set_new(j, "control", f);
    }
    if (ws) {
      json_decref(js);
      json_decref(jl);
    } else {
      json_object_set_new(j, "step", js);
      json_object_set_new(j, "lr", jl);
    }
    char ep[4200];
    snprintf(ep, sizeof ep, "%s/lr_exact.json", dir);
    st = write_json(x, ep, j, err);
  }
  json_decref(j);
  free(bs);
  free(bl);
  free(rows);
  schedopt_schedule_free(ws);
  schedopt_control_free(wc);
  return st;
}

/* Trainer schedule t as its trainer reads it (trainer.h) at path;
 * --global-batch-size only when the spec gives it (budget.batch). */
static schedopt_status write_trainer_file(const ctx *c, cli_extras *x, const char *path,
                                          const schedopt_lrdesign_trainer *t, const char *title,
                                          schedopt_error *err) {
  FILE *fp;
  schedopt_status st = cli_extras_open(x, path, 0, &fp, err);
  return st ? st : schedopt_trainer_write(fp, &t->sched, title, c->s.batch > 0 ? c->s.batch : 0, err);
}

/* The best built-in schedule of each tuned trainer, beside the design. */
static schedopt_status write_trainers(const ctx *c, cli_extras *x, const char *dir,
                                      schedopt_error *err) {
  for (size_t i = 0; i < c->r.ntrainers; i++) {
    const schedopt_lrdesign_trainer *t = &c->r.trainers[i];
    if (!t->best) continue;
    char path[4096], title[512];
    snprintf(path, sizeof path, "%s/%s", dir, schedopt_trainer_file_name(t->sched.type->trainer));
    snprintf(title, sizeof title, "Design '%s': the best built-in %s schedule under the surrogate "
             "(final loss %.6f, %+.6f vs the free-form design)", c->s.name,
             t->sched.type->trainer, t->final_loss, t->cost);
    schedopt_status st = write_trainer_file(c, x, path, t, title, err);
    if (st) return st;
  }
  return SCHEDOPT_OK;
}

/* output.export megatron: the flags of the best Megatron schedule. */
static schedopt_status write_megatron(const ctx *c, cli_extras *x, const char *path,
                                      schedopt_error *err) {
  for (size_t i = 0; i < c->r.ntrainers; i++) {
    const schedopt_lrdesign_trainer *t = &c->r.trainers[i];
    if (!t->best || strcmp(t->sched.type->trainer, "megatron")) continue;
    char title[512];
    snprintf(title, sizeof title, "Design '%s' for Megatron-LM: the free-form design has no "
             "Megatron equivalent; this is the best schedule Megatron has (final loss %.6f, "
             "%+.6f vs the free-form design)", c->s.name, t->final_loss, t->cost);
    return write_trainer_file(c, x, path, t, title, err);
  }
  return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: no Megatron schedule was tuned", path);
}

static int run(int argc, char **argv) {
  cli_problem_opts o;
  int rc = cli_parse_problem_opts("design", argc, argv, &o, NULL, NULL);
  if (rc || o.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&o);
    return rc;
  }
  schedopt_error err = {0};
  ctx c;
  memset(&c, 0, sizeof c);
  schedopt_surrogate *sur = NULL;
  schedopt_lrdesign *d = NULL;
  json_t *j = NULL, *jfit = NULL, *jres = NULL; /* jres: the fit result given as model */
  cli_extras out; /* every file of the design, committed together */
  memset(&out, 0, sizeof out);
  int made_dir = 0;
  c.N = c.b = NAN;
  const ykv_entry *ne = NULL, *be = NULL;
  schedopt_status st = schedopt_designspec_load(&c.s, o.path, o.sets, o.nsets, &err);
  const char *dir = o.output ? o.output : c.s.outdir;
  if (dir && !strcmp(dir, "-")) dir = NULL;
  c.dir = dir;
  if (st || (st = schedopt_designspec_covariates(&c.s, &c.N, &c.b, &ne, &be, &err))) goto failed;
  if (c.s.formats & (1u << SCHEDOPT_EXPORT_MEGATRON)) { /* flags from Megatron's own family */
    int have = 0;
    for (size_t i = 0; i < c.s.ntrainers; i++)
      have |= !strcmp(c.s.trainers[i]->trainer, "megatron");
    for (size_t i = 0; !have && schedopt_trainer_types[i]; i++)
      if (!strcmp(schedopt_trainer_types[i]->trainer, "megatron") && c.s.ntrainers < 32)
        c.s.trainers[c.s.ntrainers++] = schedopt_trainer_types[i];
  }
  if (!(c.warn = json_array())) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
    goto failed;
  }
  if (c.s.has_fit) { /* a covariate the spec's fit curves do not carry cannot move the fit */
    int size = 0, tok = 0;
    for (size_t i = 0; i < c.s.fit.ncv; i++)
      if (c.s.fit.cv[i].role == SCHEDOPT_CURVE_FIT)
        size |= isfinite(c.s.fit.cv[i].size), tok |= isfinite(c.s.fit.cv[i].tokens);
    if ((ne && !size) || (be && !tok)) {
      st = schedopt_ykv_error(&err, SCHEDOPT_EINVAL, ne && !size ? ne : be, 0, "spec",
                              "%s = %g: the fit curves give no %s, so the fit cannot be moved "
                              "there (give %s for the fit curves%s)",
                              ne && !size ? "model_size" : "tokens_per_step",
                              ne && !size ? c.N : c.b, ne && !size ? "model_size" : "tokens_per_step",
                              ne && !size ? "model_size" : "tokens_per_step",
                              ne && !size ? ", of two or more sizes, with size laws" : "");
      goto failed;
    }
  }
  if ((!dir || !o.quiet) && !cli_stdout_ok(&err)) { /* the summary, found before the work */
    st = SCHEDOPT_EIO;
    goto failed;
  }
  if (c.s.plot && !dir) {
    st = schedopt_error_set(&err, SCHEDOPT_EINVAL, "output.plot: the figure goes into the output "
                            "folder: give -o DIR (or output.dir)");
    goto failed;
  }
  /* the folder before the fit and the design: a bad place is reported at once */
  if (dir && (st = cli_prepare_dir(dir, &made_dir, &err))) goto failed;
  if (dir) { /* every file of the design, checked before the fit and the design */
    char ext[9][64];
    for (int f = 0; f < 9; f++) export_file(&c.s, f, ext[f], sizeof ext[f]);
    const char *files[24] = {"schedule.csv", "baselines.csv", "summary.txt", "summary.json"};
    size_t nf = 4;
    if (c.s.has_fit) files[nf++] = "fit.json";
    for (int f = 0; f < 9 && nf + 1 < 24; f++)
      if (c.s.formats & (1u << f)) files[nf++] = ext[f];
    files[nf++] = "lr_exact.json"; /* the exact rates (write_export) */
    if (c.s.plot) files[nf++] = "design.svg";
    for (size_t i = 0; schedopt_trainer_names[i] && nf + 1 < 24; i++) {
      int on = 0;
      for (size_t j = 0; j < c.s.ntrainers; j++)
        on |= !strcmp(c.s.trainers[j]->trainer, schedopt_trainer_names[i]);
      if (on) files[nf++] = schedopt_trainer_file_name(schedopt_trainer_names[i]);
    }
    files[nf] = NULL;
    if ((st = cli_outputs_check(NULL, NULL, 0, dir, files, &err))) goto failed;
  }
  c.T = c.s.type;
  if (c.s.refit_skipped && !o.quiet)
    fprintf(stderr, "schedopt design: model is the fit result %s: the spec's curves are not "
            "refitted\n", c.s.model_file);
  c.batch = c.s.batch > 0 ? c.s.batch : 1;
  /* the surrogate */
  const double *boot = c.s.boot;
  size_t nboot = c.s.nboot;
  if (c.s.has_fit) {
    if ((st = schedopt_fitspec_make_fit(&c.s.fit, &c.fit, &err))) goto failed;
    if (schedopt_fitspec_all_fixed(&c.s.fit)) {
      st = schedopt_fit_evaluate(c.fit, c.s.fit.fixed, &c.s.fit.opts, &err);
    } else {
      cli_fit_progress pg;
      cli_fit_progress_start(&pg, "design", c.fit, cli_progress_show(&o));
      st = schedopt_fit_run(c.fit, &c.s.fit.opts, &err);
      cli_fit_progress_clear(&pg);
    }
    if (st) goto failed;
    schedopt_fit_summary fs;
    schedopt_fit_get_summary(c.fit, &fs);
    c.theta = fs.theta;
    if (!(jfit = cli_fit_result_json(&c.s.fit, c.fit, &c.s.fit.opts,
                                     !schedopt_fitspec_all_fixed(&c.s.fit)))) {
      st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
      goto failed;
    }
    boot = fs.boot_theta;
    nboot = fs.boot_theta ? (size_t)fs.bootstrap : 0;
    if ((!isnan(c.N) || !isnan(c.b)) &&
        (st = move_fit(&c, &fs, ne, be, &boot, nboot, &err)))
      goto failed;
  } else {
    c.theta = c.s.theta;
  }
  if ((st = schedopt_surrogate_alloc(&sur, c.T, &err)) ||
      (st = schedopt_surrogate_set_params(sur, c.theta, &err)) ||
      (st = schedopt_lrdesign_alloc(&d, sur, &err)))
    goto failed;
  if (c.s.tokens > 0) st = schedopt_lrdesign_set_tokens(d, c.s.tokens, c.s.batch, c.s.seq_len, &err);
  else st = schedopt_lrdesign_set_steps(d, (size_t)c.s.steps, &err);
  if (st || (st = schedopt_lrdesign_set_lr(d, c.s.peak, c.s.floor, c.s.tune_peak, &err)) ||
      (st = schedopt_lrdesign_set_warmup(d, (size_t)c.s.warmup,
                                         (schedopt_warmup_shape)c.s.warmup_shape, &err)) ||
      (st = schedopt_lrdesign_set_param(d, (schedopt_lrdesign_param)c.s.param, (size_t)c.s.knots,
                                        c.s.monotone, &err)) ||
      (st = schedopt_lrdesign_set_algorithm(d, (schedopt_lrdesign_algorithm)c.s.algorithm,
                                            c.s.ftol_rel, (int)c.s.maxeval, &err)) ||
      (nboot > 1 && (st = schedopt_lrdesign_set_band(d, boot, nboot, c.s.level, &err))))
    goto failed;
  schedopt_lrdesign_set_baselines(d, c.s.baselines);
  if ((st = schedopt_lrdesign_set_trainers(d, c.s.trainers, c.s.ntrainers, &err))) goto failed;
  if ((st = schedopt_lrdesign_run(d, &err)) || (st = schedopt_lrdesign_get_result(d, &c.r, &err)))
    goto failed;
  /* what the fit saw: the fit here, or the fit result given as the model */
  if (c.s.model_file && !(jres = json_load_file(c.s.model_file, 0, NULL))) jres = json_object();
  range_warnings(&c, c.s.has_fit ? jfit : jres);
  if (!(j = summary_json(&c))) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
    goto failed;
  }
  if (dir && isfinite(c.r.band_lo) && (st = table_band(&c, d, &err))) goto failed;
  if (dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/schedule.csv", dir);
    if ((st = write_schedule(&c, &out, path, &err))) goto failed;
    snprintf(path, sizeof path, "%s/baselines.csv", dir);
    if ((st = write_baselines(&c, &out, path, &err))) goto failed;
    /* the fitted surrogate, for the next design (model: DIR/fit.json) or predict */
    snprintf(path, sizeof path, "%s/fit.json", dir);
    if (jfit && (st = write_json(&out, path, jfit, &err))) goto failed;
    if ((st = write_trainers(&c, &out, dir, &err))) goto failed;
    /* the design's exact rates (lr_exact.json: `schedopt export DIR`), then
     * the exports of output.export */
    if ((st = write_export(&c, &out, dir, NULL, -1, 1, &err))) goto failed;
    for (int f = 0; f < 9; f++) {
      if (!(c.s.formats & (1u << f))) continue;
      char name[64];
      export_file(&c.s, f, name, sizeof name);
      snprintf(path, sizeof path, "%s/%s", dir, name);
      /* Megatron cannot run the free-form design: its flags are those of
       * the best schedule Megatron has (megatron_flags.sh, the same) */
      st = f == SCHEDOPT_EXPORT_MEGATRON ? write_megatron(&c, &out, path, &err)
                                         : write_export(&c, &out, dir, path, f, 0, &err);
      if (st) goto failed;
    }
    if (c.s.plot && (st = write_plot(&c, &out, dir, &err))) goto failed;
    snprintf(path, sizeof path, "%s/summary.txt", dir);
    FILE *fp;
    if ((st = cli_extras_open(&out, path, 0, &fp, &err))) goto failed;
    summary_text(&c, fp, 1);
    /* last: a summary.json beside the others marks a complete result */
    snprintf(path, sizeof path, "%s/summary.json", dir);
    if ((st = write_json(&out, path, j, &err))) goto failed;
    if ((st = cli_extras_commit(&out, &err))) goto failed;
  }
  if (!dir || !o.quiet) {
    summary_text(&c, stdout, 0);
    if (dir)
    {
      printf("  wrote      %s/{schedule.csv, baselines.csv, summary.json, summary.txt, "
             "lr_exact.json%s%s", dir, jfit ? ", fit.json" : "", c.s.plot ? ", design.svg" : "");
      for (size_t i = 0; i < c.r.ntrainers; i++)
        if (c.r.trainers[i].best)
          printf(", %s", schedopt_trainer_file_name(c.r.trainers[i].sched.type->trainer));
      for (int f = 0; f < 9; f++)
        if (c.s.formats & (1u << f)) {
          char name[64];
          export_file(&c.s, f, name, sizeof name);
          printf(", %s", name);
        }
      printf("}\n");
    }
  }
  rc = 0;
  cli_warnings_print(c.warn);
  if (c.r.beaten_contained) {
    fprintf(stderr, "schedopt: error: %zu tuned baseline%s that the design contains beat%s it: "
                    "this is a bug\n", c.r.beaten_contained, c.r.beaten_contained == 1 ? "" : "s",
            c.r.beaten_contained == 1 ? "s" : "");
    rc = 1;
  } else if (c.r.beaten) {
    fprintf(stderr, "schedopt: warning: %zu tuned baseline%s beat%s the design; use more knots "
                    "or design.parametrization: steps\n", c.r.beaten, c.r.beaten == 1 ? "" : "s",
            c.r.beaten == 1 ? "s" : "");
  }
  goto cleanup;
failed:
  rc = cli_fail(&err);
  cli_extras_abort(&out);
  cli_unprepare_dir(dir, made_dir);
cleanup:
  cli_extras_free(&out);
  json_decref(j);
  json_decref(jfit);
  json_decref(jres);
  json_decref(c.warn);
  free(c.boot_at);
  free(c.band_lo), free(c.band_hi);
  schedopt_lrdesign_free(d);
  schedopt_surrogate_free(sur);
  schedopt_fit_free(c.fit);
  schedopt_designspec_free(&c.s);
  cli_problem_opts_free(&o);
  return rc;
}

const cli_command cli_design = {"design", "design a learning-rate schedule under a fitted surrogate",
                                run};
