/* What a surrogate's fit saw: a prediction or a design against the
 * fit.range of its fit result (docs/surrogates.md, "Design outside what the
 * fit saw"), one warning per departure. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define RANGE_RTOL 1e-9 /* relative tolerance of "outside" */
#define MAX_FAMILIES 8  /* unseen families said (the main schedule's and the baselines') */

static void warnf(json_t *warn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void warnf(json_t *warn, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  json_array_append_new(warn, json_string(buf));
}

/* [lo, hi] of fit.range.<key>: 1 when recorded (a pair of numbers) */
static int range_of(const json_t *rg, const char *key, double *lo, double *hi) {
  json_t *a = json_object_get(rg, key);
  if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_number(json_array_get(a, 0)) ||
      !json_is_number(json_array_get(a, 1)))
    return 0;
  *lo = json_number_value(json_array_get(a, 0));
  *hi = json_number_value(json_array_get(a, 1));
  return 1;
}

/* −1 below lo, +1 above hi, 0 inside (relative tolerance RANGE_RTOL) */
static int outside(double v, double lo, double hi) {
  return v < lo - RANGE_RTOL * fabs(lo) ? -1 : v > hi + RANGE_RTOL * fabs(hi) ? 1 : 0;
}

/* How far v is from ref: "1.96×", or "0.26% above" when within 10 %. */
static const char *how_far(char *buf, size_t cap, double v, double ref) {
  double q = v / ref;
  if (q >= 1.095 || q <= 0.905) snprintf(buf, cap, "%.3g×", q);
  else snprintf(buf, cap, "%.2g%% %s", 100 * fabs(q - 1), q > 1 ? "above" : "below");
  return buf;
}

/* One axis of fit.range: what (e.g. "horizon 47000 steps") against the
 * fitted [lo, hi]; hi_ref/lo_ref name the ends ("the longest fitted run"),
 * axis what the prediction extrapolates in.  Returns 0 when the fit did not
 * record the axis. */
static int check_axis(json_t *warn, const json_t *rg, const char *key, double v,
                      const char *what, const char *lo_ref, const char *hi_ref,
                      const char *axis) {
  double lo, hi;
  if (!range_of(rg, key, &lo, &hi)) return 0;
  int o = outside(v, lo, hi);
  char f[64];
  if (o)
    warnf(warn, "%s is %s %s (%.10g): the prediction extrapolates in %s", what,
          how_far(f, sizeof f, v, o > 0 ? hi : lo), o > 0 ? hi_ref : lo_ref, o > 0 ? hi : lo,
          axis);
  return 1;
}

static int seen_family(const json_t *kinds, const char *fam) {
  for (size_t i = 0; i < json_array_size(kinds); i++) {
    const char *k = json_string_value(json_array_get(kinds, i));
    if (k && !strcmp(k, fam)) return 1;
  }
  return 0;
}

void cli_range_warnings(const json_t *res, const cli_range_query *q, json_t *warn) {
  if (!res) return; /* an inline model: no record */
  const json_t *rg = json_object_get(json_object_get(res, "fit"), "range");
  char what[256];
  if (!json_is_object(rg)) {
    warnf(warn, "the fit result does not record what it saw (no fit.range: written by an older "
                "schedopt fit): whether %s extrapolates is unknown", q->subject);
    return;
  }
  /* horizon */
  snprintf(what, sizeof what, "horizon %zu steps", q->steps);
  check_axis(warn, rg, "steps", (double)q->steps, what, "the shortest fitted run",
             "the longest fitted run", "horizon");
  /* peak lr: the schedule's, and the baselines' where tuned to another */
  double pk = q->peak, lo, hi;
  if (!isnan(pk)) {
    snprintf(what, sizeof what, "peak lr %.10g%s", pk, q->peak_note ? q->peak_note : "");
    check_axis(warn, rg, "peak_lr", pk, what, "the smallest fitted peak",
               "the largest fitted peak", "learning rate");
  }
  if (range_of(rg, "peak_lr", &lo, &hi)) {
    char list[1024] = "";
    size_t n = 0, len = 0;
    for (size_t i = 0; i < q->nbaselines; i++) {
      const cli_range_baseline *x = &q->baselines[i];
      if (!outside(x->peak, pk, pk) || !outside(x->peak, lo, hi)) continue; /* said */
      int w = snprintf(list + len, sizeof list - len, "%s%s %.4g", n ? ", " : "", x->name,
                       x->peak);
      if (w > 0 && (size_t)w < sizeof list - len) len += (size_t)w;
      n++;
    }
    if (n)
      warnf(warn, "the tuned peak lr of baseline%s %s %s outside the fitted peaks [%.10g, "
                  "%.10g]: %s extrapolate%s in learning rate", n == 1 ? "" : "s", list,
            n == 1 ? "is" : "are", lo, hi, n == 1 ? "its prediction" : "their predictions",
            n == 1 ? "s" : "");
  }
  /* tokens per step: tokens_per_step, else the budget's batch × seq_len */
  double b = q->tokens_per_step, bt = q->budget_tokens;
  double tv = !isnan(b) ? b : bt;
  const char *tsrc = !isnan(b) ? "tokens_per_step" : "budget batch × seq_len";
  if (!isnan(tv)) {
    snprintf(what, sizeof what, "tokens per step %.10g (%s)", tv, tsrc);
    if (!check_axis(warn, rg, "tokens_per_step", tv, what, "the smallest of the fitted runs",
                    "the largest of the fitted runs", "batch size"))
      warnf(warn, "%s: the fit's curves recorded none, so the prediction is for the fitted "
                  "runs' batch size, whatever it was", what);
  }
  /* the budget's batch against where the surrogate is */
  json_t *tref = json_object_get(json_object_get(json_object_get(res, "covariates"),
                                                 "tokens_per_step"), "reference");
  double sb = !isnan(b) ? b : json_is_number(tref) ? json_number_value(tref) : NAN;
  if (!isnan(bt) && !isnan(sb) && outside(bt, sb, sb))
    warnf(warn, "the budget runs %.10g tokens per step (batch × seq_len), but the surrogate is "
                "at %.10g (%s): give tokens_per_step: %.10g to move it there", bt, sb,
          !isnan(b) ? "tokens_per_step" : "the fit's reference", bt);
  /* model size */
  if (!isnan(q->model_size)) {
    snprintf(what, sizeof what, "model size %.10g", q->model_size);
    if (!check_axis(warn, rg, "model_size", q->model_size, what, "the smallest fitted model",
                    "the largest fitted model", "model size (through the size laws)"))
      warnf(warn, "%s: the fit's curves recorded no model_size", what);
  }
  /* schedule families: the schedule's (or its free form) and the baselines' */
  const json_t *kinds = json_object_get(rg, "schedules");
  if (!json_is_array(kinds)) return;
  char saw[512] = "";
  for (size_t i = 0, len = 0; i < json_array_size(kinds); i++) {
    const char *k = json_string_value(json_array_get(kinds, i));
    int w = snprintf(saw + len, sizeof saw - len, "%s%s", i ? ", " : "", k ? k : "?");
    if (w > 0 && (size_t)w < sizeof saw - len) len += (size_t)w;
  }
  if (q->free_form)
    warnf(warn, "the designed schedule is free-form (%s), outside the schedule families the fit "
                "saw (%s): its predicted loss assumes the surrogate carries over to new shapes",
          q->free_form, saw);
  /* each unseen family once, with its members */
  const char *fams[MAX_FAMILIES];
  size_t nf = 0;
  if (q->family && !seen_family(kinds, q->family)) fams[nf++] = q->family;
  for (size_t i = 0; i < q->nbaselines; i++) {
    const char *fm = q->baselines[i].family;
    int dup = 0;
    for (size_t j = 0; j < nf; j++) dup |= !strcmp(fams[j], fm);
    if (!dup && !seen_family(kinds, fm) && nf < MAX_FAMILIES) fams[nf++] = fm;
  }
  for (size_t j = 0; j < nf; j++) {
    int self = q->family && !strcmp(fams[j], q->family);
    char who[512], names[400] = "";
    size_t nb = 0, len = 0;
    for (size_t i = 0; i < q->nbaselines; i++) {
      if (strcmp(q->baselines[i].family, fams[j])) continue;
      int w = snprintf(names + len, sizeof names - len, "%s%s", nb ? ", " : "",
                       q->baselines[i].name);
      if (w > 0 && (size_t)w < sizeof names - len) len += (size_t)w;
      nb++;
    }
    snprintf(who, sizeof who, "%s%s%s%s", self ? q->self : "", self && nb ? "; " : "",
             nb ? (nb > 1 ? "baselines " : "baseline ") : "", names);
    warnf(warn, "schedule family %s (%s) is not among the fitted runs' (%s): %s in schedule "
                "shape", fams[j], who, saw, (size_t)self + nb > 1 ? "their predictions extrapolate"
                                                                  : "its prediction extrapolates");
  }
}

void cli_warnings_print(const json_t *warn) {
  for (size_t i = 0; i < json_array_size(warn); i++)
    fprintf(stderr, "schedopt: warning: %s\n", json_string_value(json_array_get(warn, i)));
}
