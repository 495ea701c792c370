/* schedule.c — three controls (η, B, μ) on one clock and horizon. */
#include "dynamics/schedule_impl.h"

#include "dynamics/control_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const channel_what[SCHEDOPT_NCHANNELS] = {
    "controls.lr", "controls.batch", "controls.momentum"};

static schedopt_status make_constant(schedopt_control **out, double value,
                                     schedopt_error *err) {
  schedopt_status st = schedopt_control_alloc(out, schedopt_control_constant, err);
  if (!st) st = schedopt_control_set(*out, "value", value, err);
  return st;
}

schedopt_status schedopt_schedule_alloc(schedopt_schedule **out, schedopt_clock clock,
                                        double horizon, double units_per_sample,
                                        schedopt_error *err) {
  if (!out) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedule_alloc: NULL argument");
  *out = NULL;
  if (clock != SCHEDOPT_CLOCK_STEPS && clock != SCHEDOPT_CLOCK_DATA)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedule: unknown clock %d",
                              (int)clock);
  if (!(isfinite(horizon) && horizon > 0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "schedule: horizon = %g is out of range: must be > 0",
                              horizon);
  if (!(isfinite(units_per_sample) && units_per_sample > 0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "schedule: units_per_sample = %g is out of range: must be "
                              "> 0",
                              units_per_sample);
  schedopt_schedule *s = calloc(1, sizeof *s);
  if (!s) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  s->clock = clock;
  s->horizon = horizon;
  s->units_per_sample = units_per_sample;
  static const double defaults[SCHEDOPT_NCHANNELS] = {0.1, 1, 0};
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    schedopt_status st = make_constant(&s->ctl[ch], defaults[ch], err);
    if (st) {
      schedopt_schedule_free(s);
      return st;
    }
  }
  *out = s;
  return SCHEDOPT_OK;
}

void schedopt_schedule_free(schedopt_schedule *s) {
  if (!s) return;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) schedopt_control_free(s->ctl[ch]);
  free(s);
}

static int valid_channel(schedopt_channel ch) {
  return (int)ch >= 0 && (int)ch < SCHEDOPT_NCHANNELS;
}

schedopt_status schedopt_schedule_set(schedopt_schedule *s, schedopt_channel ch,
                                      const schedopt_control *c, schedopt_error *err) {
  if (!s || !c)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedule_set: NULL argument");
  if (!valid_channel(ch))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedule: unknown channel %d",
                              (int)ch);
  schedopt_control *copy;
  schedopt_status st = schedopt_control_clone(&copy, c, err);
  if (st) return st;
  schedopt_control_free(s->ctl[ch]);
  s->ctl[ch] = copy;
  if (ch == SCHEDOPT_MOMENTUM) s->has_momentum = 1;
  return SCHEDOPT_OK;
}

const schedopt_control *schedopt_schedule_get(const schedopt_schedule *s,
                                              schedopt_channel ch) {
  return s && valid_channel(ch) ? s->ctl[ch] : NULL;
}

int schedopt_schedule_has_momentum(const schedopt_schedule *s) {
  return s->has_momentum;
}

schedopt_clock schedopt_schedule_clock(const schedopt_schedule *s) { return s->clock; }
double schedopt_schedule_horizon(const schedopt_schedule *s) { return s->horizon; }
double schedopt_schedule_units_per_sample(const schedopt_schedule *s) {
  return s->units_per_sample;
}

void schedopt_schedule_eval(const schedopt_schedule *s, double t, schedopt_uval *u) {
  double H = s->horizon;
  u->lr = schedopt_control_eval(s->ctl[SCHEDOPT_LR], H, t, NULL);
  u->batch = schedopt_control_eval(s->ctl[SCHEDOPT_BATCH], H, t, NULL);
  u->momentum = schedopt_control_eval(s->ctl[SCHEDOPT_MOMENTUM], H, t, NULL);
}

void schedopt_schedule_eval_left(const schedopt_schedule *s, double t,
                                 schedopt_uval *u) {
  double H = s->horizon;
  u->lr = schedopt_control_eval_left(s->ctl[SCHEDOPT_LR], H, t);
  u->batch = schedopt_control_eval_left(s->ctl[SCHEDOPT_BATCH], H, t);
  u->momentum = schedopt_control_eval_left(s->ctl[SCHEDOPT_MOMENTUM], H, t);
}

schedopt_status schedopt_schedule_validate(const schedopt_schedule *s,
                                           schedopt_error *err) {
  if (!s) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedule_validate: NULL");
  /* η ≥ 0, B ≥ 1, μ ∈ [0, 1) */
  static const double lo[SCHEDOPT_NCHANNELS] = {0, 1, 0};
  static const double hi[SCHEDOPT_NCHANNELS] = {INFINITY, INFINITY, 1};
  static const int hi_open[SCHEDOPT_NCHANNELS] = {0, 0, 1};
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    schedopt_status st = schedopt_control_validate(s->ctl[ch], s->horizon, lo[ch],
                                                   hi[ch], hi_open[ch],
                                                   channel_what[ch], err);
    if (st) return st;
  }
  return SCHEDOPT_OK;
}

typedef struct knot {
  double t;
  int jump;
} knot;

static int knot_cmp(const void *a, const void *b) {
  double x = ((const knot *)a)->t, y = ((const knot *)b)->t;
  return (x > y) - (x < y);
}

schedopt_status schedopt_schedule_knots(const schedopt_schedule *s, double **t,
                                        int **jump, size_t *n, schedopt_error *err) {
  if (!s || !t || !n)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedule_knots: NULL argument");
  *t = NULL;
  if (jump) *jump = NULL;
  *n = 0;
  double H = s->horizon;
  size_t cnt[SCHEDOPT_NCHANNELS], total = 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    cnt[ch] = schedopt_control_knots(s->ctl[ch], H, NULL, NULL, 0);
    total += cnt[ch];
  }
  knot *k = malloc((total ? total : 1) * sizeof *k);
  double *tt = malloc((total ? total : 1) * sizeof *tt);
  int *jj = malloc((total ? total : 1) * sizeof *jj);
  if (!k || !tt || !jj) {
    free(k), free(tt), free(jj);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  size_t m = 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    schedopt_control_knots(s->ctl[ch], H, tt + m, jj + m, cnt[ch]);
    m += cnt[ch];
  }
  for (size_t i = 0; i < m; i++) k[i] = (knot){tt[i], jj[i]};
  qsort(k, m, sizeof *k, knot_cmp);
  /* merge knots closer than 1e-12 H (jump = OR) */
  double tol = 1e-12 * H;
  size_t out = 0;
  for (size_t i = 0; i < m; i++) {
    if (out && k[i].t - tt[out - 1] <= tol) {
      jj[out - 1] |= k[i].jump;
      continue;
    }
    tt[out] = k[i].t;
    jj[out] = k[i].jump;
    out++;
  }
  free(k);
  *t = tt;
  *n = out;
  if (jump)
    *jump = jj;
  else
    free(jj);
  return SCHEDOPT_OK;
}
