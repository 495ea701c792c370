/* schedopt/schedule.h — the controls of one training run on one clock.
 *
 * A schedule holds three controls, learning rate η(t), batch size B(t)
 * (samples per step) and momentum μ(t), over a horizon H on a clock:
 *
 *   SCHEDOPT_CLOCK_STEPS  t counts optimizer steps; samples = ∫ B dt.
 *   SCHEDOPT_CLOCK_DATA   t counts data (samples × units_per_sample, e.g.
 *                         tokens with units_per_sample = sequence length);
 *                         steps = ∫ dt / (B · units_per_sample).  Dynamics are
 *                         integrated in this data time so a varying batch size
 *                         is handled exactly (docs/theory.md §1b).
 */
#ifndef SCHEDOPT_SCHEDULE_H
#define SCHEDOPT_SCHEDULE_H

#include "schedopt/control.h"
#include "schedopt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum schedopt_clock {
  SCHEDOPT_CLOCK_STEPS = 0,
  SCHEDOPT_CLOCK_DATA = 1
} schedopt_clock;

typedef enum schedopt_channel {
  SCHEDOPT_LR = 0,
  SCHEDOPT_BATCH = 1,
  SCHEDOPT_MOMENTUM = 2
} schedopt_channel;
#define SCHEDOPT_NCHANNELS 3

/* Control values at one instant. */
typedef struct schedopt_uval {
  double lr, batch, momentum;
} schedopt_uval;

typedef struct schedopt_schedule schedopt_schedule;

/* A schedule with η = 0.1, B = 1, μ = 0 (constants) until set otherwise.
 * units_per_sample is used by the data clock only (1 for samples). */
schedopt_status schedopt_schedule_alloc(schedopt_schedule **out, schedopt_clock clock,
                                        double horizon, double units_per_sample,
                                        schedopt_error *err);
void schedopt_schedule_free(schedopt_schedule *s);

/* Copies c into channel ch. */
schedopt_status schedopt_schedule_set(schedopt_schedule *s, schedopt_channel ch,
                                      const schedopt_control *c, schedopt_error *err);
const schedopt_control *schedopt_schedule_get(const schedopt_schedule *s,
                                              schedopt_channel ch);
/* Whether momentum was set explicitly (selects the momentum dynamics). */
int schedopt_schedule_has_momentum(const schedopt_schedule *s);

schedopt_clock schedopt_schedule_clock(const schedopt_schedule *s);
double schedopt_schedule_horizon(const schedopt_schedule *s);
double schedopt_schedule_units_per_sample(const schedopt_schedule *s);

/* Values at t (right-continuous) and left limits. */
void schedopt_schedule_eval(const schedopt_schedule *s, double t, schedopt_uval *u);
void schedopt_schedule_eval_left(const schedopt_schedule *s, double t,
                                 schedopt_uval *u);

/* Validate every channel: η ≥ 0, B ≥ 1, μ ∈ [0, 1). */
schedopt_status schedopt_schedule_validate(const schedopt_schedule *s,
                                           schedopt_error *err);

/* Union of all channels' knots in (0, H), sorted and deduplicated; *out is
 * malloc'ed (free with free()), jump flags likewise. */
schedopt_status schedopt_schedule_knots(const schedopt_schedule *s, double **t,
                                        int **jump, size_t *n, schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
