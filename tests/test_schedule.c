/* Schedules: defaults, copies of the controls, merged knots, validation. */
#include "schedopt/schedule.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static schedopt_control *mk(const schedopt_control_type *T, const char *name,
                            double value) {
  schedopt_control *c = NULL;
  if (schedopt_control_alloc(&c, T, NULL)) exit(1);
  if (name && schedopt_control_set(c, name, value, NULL)) exit(1);
  return c;
}

static void test_defaults(void) {
  schedopt_error err = {0};
  schedopt_schedule *s = NULL;
  CHECK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_DATA, 1e6, 512, &err) == SCHEDOPT_OK);
  CHECK(schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_DATA);
  CHECK(schedopt_schedule_horizon(s) == 1e6);
  CHECK(schedopt_schedule_units_per_sample(s) == 512);
  CHECK(!schedopt_schedule_has_momentum(s));
  schedopt_uval u;
  schedopt_schedule_eval(s, 3e5, &u);
  CHECK(u.lr == 0.1 && u.batch == 1 && u.momentum == 0);
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
    CHECK(schedopt_control_get_type(schedopt_schedule_get(s, (schedopt_channel)ch)) ==
          schedopt_control_constant);
  CHECK(schedopt_schedule_get(s, (schedopt_channel)3) == NULL);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_OK);
  double *t = NULL;
  int *j = NULL;
  size_t n = 99;
  CHECK(schedopt_schedule_knots(s, &t, &j, &n, &err) == SCHEDOPT_OK);
  CHECK(n == 0);
  free(t);
  free(j);
  schedopt_schedule_free(s);

  CHECK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 0, 1, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "horizon = 0", "must be > 0"));
  CHECK(s == NULL);
  CHECK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_DATA, 10, -1, &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "units_per_sample = -1", NULL));
}

static void test_set_get(void) {
  schedopt_error err = {0};
  schedopt_schedule *s = NULL;
  CHECK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 1000, 1, &err) == SCHEDOPT_OK);
  schedopt_control *c = mk(schedopt_control_cosine, "peak", 0.5);
  CHECK(schedopt_schedule_set(s, SCHEDOPT_LR, c, &err) == SCHEDOPT_OK);
  const schedopt_control *g = schedopt_schedule_get(s, SCHEDOPT_LR);
  CHECK(g != c);
  CHECK(schedopt_control_get_type(g) == schedopt_control_cosine);
  /* the schedule holds a copy: later changes to c do not reach it */
  schedopt_control_set(c, "peak", 0.9, NULL);
  schedopt_uval u;
  schedopt_schedule_eval(s, 0, &u);
  CHECK_CLOSE(u.lr, 0.5, 1e-15, 0);
  schedopt_schedule_eval(s, 500, &u);
  CHECK_CLOSE(u.lr, 0.25, 1e-14, 0);
  schedopt_control_free(c);
  CHECK(!schedopt_schedule_has_momentum(s));

  c = mk(schedopt_control_constant, "value", 0.9);
  CHECK(schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, c, &err) == SCHEDOPT_OK);
  CHECK(schedopt_schedule_has_momentum(s));
  schedopt_control_free(c);

  /* a multistep batch copies its milestones */
  c = mk(schedopt_control_multistep, "peak", 64);
  double m[1] = {0.5}, f[2] = {1, 2};
  schedopt_control_set_steps(c, 1, m, f, NULL);
  CHECK(schedopt_schedule_set(s, SCHEDOPT_BATCH, c, &err) == SCHEDOPT_OK);
  schedopt_control_free(c);
  schedopt_schedule_eval(s, 600, &u);
  CHECK(u.batch == 128 && u.momentum == 0.9);
  schedopt_schedule_eval_left(s, 500, &u);
  CHECK(u.batch == 64);
  schedopt_schedule_eval(s, 500, &u);
  CHECK(u.batch == 128);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_OK);
  CHECK(schedopt_schedule_set(s, SCHEDOPT_LR, NULL, &err) == SCHEDOPT_EINVAL);
  schedopt_schedule_free(s);
}

static void test_knots(void) {
  schedopt_error err = {0};
  schedopt_schedule *s = NULL;
  schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 1000, 1, &err);
  /* lr: wsd, kinks at 100 and 800; batch: jump at 800; momentum: 811 jumps at
   * 800 and 900 */
  schedopt_control *c = mk(schedopt_control_wsd, "peak", 0.1);
  schedopt_control_set(c, "warmup", 100, NULL);
  schedopt_schedule_set(s, SCHEDOPT_LR, c, NULL);
  schedopt_control_free(c);
  c = mk(schedopt_control_multistep, "peak", 32);
  double m[1] = {0.8}, f[2] = {1, 4};
  schedopt_control_set_steps(c, 1, m, f, NULL);
  schedopt_schedule_set(s, SCHEDOPT_BATCH, c, NULL);
  schedopt_control_free(c);
  c = mk(schedopt_control_811, "peak", 0.9);
  schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, c, NULL);
  schedopt_control_free(c);

  double *t = NULL;
  int *j = NULL;
  size_t n = 0;
  CHECK(schedopt_schedule_knots(s, &t, &j, &n, &err) == SCHEDOPT_OK);
  CHECK(n == 3);
  if (n == 3) {
    CHECK(t[0] == 100 && j[0] == 0);
    CHECK_CLOSE(t[1], 800, 1e-12, 0);
    CHECK(j[1] == 1);
    CHECK_CLOSE(t[2], 900, 1e-12, 0);
    CHECK(j[2] == 1);
  }
  free(t);
  free(j);
  /* jump flags are optional */
  CHECK(schedopt_schedule_knots(s, &t, NULL, &n, &err) == SCHEDOPT_OK && n == 3);
  free(t);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_OK);
  schedopt_schedule_free(s);
}

static void test_validate(void) {
  schedopt_error err = {0};
  schedopt_schedule *s = NULL;
  schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 1000, 1, &err);
  schedopt_control *c = mk(schedopt_control_linear, "start", 4);
  schedopt_control_set(c, "end", 0.5, NULL);
  schedopt_schedule_set(s, SCHEDOPT_BATCH, c, NULL);
  schedopt_control_free(c);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "controls.batch = ", "must be >= 1"));

  c = mk(schedopt_control_constant, "value", 8);
  schedopt_schedule_set(s, SCHEDOPT_BATCH, c, NULL);
  schedopt_control_free(c);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_OK);

  c = mk(schedopt_control_constant, "value", 1);
  schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, c, NULL);
  schedopt_control_free(c);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "controls.momentum = 1 at t = 0", "must be in [0, 1)"));

  c = mk(schedopt_control_cosine, NULL, 0);
  schedopt_schedule_set(s, SCHEDOPT_LR, c, NULL);
  schedopt_control_free(c);
  CHECK(schedopt_schedule_validate(s, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "controls.lr", "parameter 'peak' is required"));
  schedopt_schedule_free(s);
}

int main(void) {
  test_defaults();
  test_set_get();
  test_knots();
  test_validate();
  return test_finish();
}
