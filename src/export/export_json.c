/* export_json.c — the table as JSON (schema: docs/exports.md).
 *
 * Every value is encoded by jansson; the top level is laid out by hand, one
 * key per line and one column per line, so that a 10^4-row table stays
 * readable without holding a tree of every number in memory at once. */
#include <jansson.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "export/export_impl.h"
#include "schedopt/version.h"

#define JFLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)

typedef struct jwriter {
  FILE *fp;
  int n;      /* keys written at this level */
  int failed; /* allocation or encoding failure */
} jwriter;

/* Write "key": value (steals value). */
static void jput(jwriter *w, const char *indent, const char *key, json_t *value) {
  if (!value) {
    w->failed = 1;
    return;
  }
  json_t *k = json_string(key);
  if (!k) {
    json_decref(value);
    w->failed = 1;
    return;
  }
  fprintf(w->fp, "%s%s", w->n++ ? ",\n" : "", indent);
  if (json_dumpf(k, w->fp, JFLAGS) || fputs(": ", w->fp) == EOF ||
      json_dumpf(value, w->fp, JFLAGS))
    w->failed = 1;
  json_decref(k);
  json_decref(value);
}

static json_t *jnum(double x) { return json_real(x); }

enum { C_STEP, C_SAMPLES, C_TOKENS, C_LR, C_BATCH, C_MOM, C_LOSS, C_EXCESS, C_BIAS, C_VAR };
static const char *const col_names[] = {"step",     "samples", "tokens", "lr",   "batch",
                                        "momentum", "loss",    "excess", "bias", "variance"};

static double colval(const schedopt_export_table *t, const schedopt_row *r, int c, double sc) {
  switch (c) {
  case C_STEP: return r->step;
  case C_SAMPLES: return r->samples;
  case C_TOKENS: return r->samples * t->seq_len;
  case C_LR: return r->u.lr * sc;
  case C_BATCH: return r->u.batch;
  case C_MOM: return r->u.momentum;
  case C_LOSS: return r->r.loss;
  case C_EXCESS: return r->r.excess;
  case C_BIAS: return r->r.bias;
  default: return r->r.variance;
  }
}

static const char *budget_name(schedopt_budget_kind k) {
  switch (k) {
  case SCHEDOPT_BUDGET_STEPS: return "steps";
  case SCHEDOPT_BUDGET_SAMPLES: return "samples";
  case SCHEDOPT_BUDGET_TOKENS: return "tokens";
  default: return "compute";
  }
}

static json_t *model_json(const schedopt_problem *p) {
  double a, b, s, beta;
  schedopt_problem_exponents(p, &a, &b, &s, &beta);
  const schedopt_model *m = schedopt_problem_model(p);
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "type", json_string(m ? schedopt_model_get_type(m)->name : "unknown"));
  json_object_set_new(o, "a", jnum(a));
  json_object_set_new(o, "b", jnum(b));
  json_object_set_new(o, "s", jnum(s));
  json_object_set_new(o, "beta", jnum(beta));
  json_object_set_new(o, "N", json_integer(schedopt_problem_modes(p)));
  json_object_set_new(o, "sigma2", jnum(schedopt_problem_sigma2(p)));
  json_object_set_new(o, "phase", json_string(b < a ? "easy" : "hard"));
  return o;
}

static json_t *budget_json(const schedopt_problem *p) {
  double amount;
  schedopt_budget_kind k = schedopt_problem_budget(p, &amount);
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "kind", json_string(budget_name(k)));
  json_object_set_new(o, "amount", jnum(amount));
  json_object_set_new(o, "horizon", jnum(s ? schedopt_schedule_horizon(s) : amount));
  json_object_set_new(o, "seq_len", jnum(schedopt_problem_seq_len(p)));
  return o;
}

schedopt_status schedopt_export_write_json(FILE *fp, const schedopt_export_table *t,
                                  const schedopt_export_options *o, schedopt_error *err) {
  const double sc = schedopt_export_lr_scale(t, o);
  const schedopt_row *last = &t->rows[t->n - 1];
  jwriter w = {fp, 0, 0};
  fputs("{\n", fp);
  jput(&w, "", "format", json_string("schedopt-schedule"));
  jput(&w, "", "version", json_integer(1));
  jput(&w, "", "generator", json_string("schedopt " SCHEDOPT_VERSION));
  jput(&w, "", "problem", json_string(schedopt_export_name(t)));
  jput(&w, "", "label", json_string(schedopt_export_label(t)));
  if (t->description) jput(&w, "", "description", json_string(t->description));
  jput(&w, "", "clock", json_string(schedopt_export_clock_name(t)));
  jput(&w, "", "seq_len", jnum(t->seq_len));
  jput(&w, "", "peak_lr", jnum(schedopt_export_lr_max(t) * sc));
  jput(&w, "", "lr_scale", jnum(sc));
  jput(&w, "", "rows", json_integer((json_int_t)t->n));
  json_t *tot = json_object();
  if (tot) {
    json_object_set_new(tot, "steps", jnum(last->step));
    json_object_set_new(tot, "samples", jnum(last->samples));
    json_object_set_new(tot, "tokens", jnum(last->samples * t->seq_len));
  }
  jput(&w, "", "totals", tot);
  if (t->has_loss)
    jput(&w, "", "loss_convention",
         json_string("full mean-squared error: loss = E + tail + sigma^2 (no 1/2); "
                     "excess = loss - sigma^2 = bias + variance + approximation error"));
  if (t->problem) {
    jput(&w, "", "model", model_json(t->problem));
    jput(&w, "", "budget", budget_json(t->problem));
  }
  fprintf(fp, ",\n");
  json_t *k = json_string("columns");
  if (!k || json_dumpf(k, fp, JFLAGS)) w.failed = 1;
  json_decref(k);
  fputs(": {\n", fp);
  jwriter wc = {fp, 0, 0};
  /* bias and variance only where the model tracks them (model.split) */
  const int ncol = !t->has_loss ? 6 : isnan(t->rows[0].r.bias) ? 8 : 10;
  for (int c = 0; c < ncol && !wc.failed; c++) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < t->n; i++)
      if (json_array_append_new(a, jnum(colval(t, &t->rows[i], c, sc)))) {
        json_decref(a);
        a = NULL;
      }
    jput(&wc, "  ", col_names[c], a);
  }
  fputs("\n}\n}\n", fp);
  if (ferror(fp)) /* a failed write also fails json_dumpf: say which it was */
    return schedopt_error_set(err, SCHEDOPT_EIO, "export: write error: %s", strerror(errno));
  if (w.failed || wc.failed)
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "export: JSON encoding failed");
  return SCHEDOPT_OK;
}
