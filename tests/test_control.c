/* Controls: closed-form values, knots, analytic derivatives against central
 * differences, validation messages and CSV tables. */
#include "dynamics/control_impl.h"
#include "schedopt/control.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H 1000.0

/* A control of family `type` with "name=value" settings separated by spaces;
 * a non-numeric value selects an enum choice. */
static schedopt_control *mk(const char *type, const char *spec) {
  return test_ctl(schedopt_control_type_find(type), spec);
}

static double ev(const schedopt_control *c, double t) {
  return schedopt_control_eval(c, H, t, NULL);
}

static void test_values(void) {
  schedopt_control *c;
  double s10 = sqrt(10.0);

  c = mk("constant", "value=0.5 warmup=100");
  CHECK_CLOSE(ev(c, 0), 0, 0, 1e-15);
  CHECK_CLOSE(ev(c, 50), 0.25, 1e-14, 0);
  CHECK_CLOSE(ev(c, 300), 0.5, 1e-14, 0);
  CHECK(schedopt_control_nparams(c) == 3);
  schedopt_control_free(c);

  c = mk("cosine", "peak=1 floor=0.1 warmup=100 warmup_init=0.1");
  CHECK_CLOSE(ev(c, 0), 0.1, 1e-14, 0);
  CHECK_CLOSE(ev(c, 50), 0.55, 1e-14, 0);
  CHECK_CLOSE(ev(c, 100), 1, 1e-14, 0);
  CHECK_CLOSE(ev(c, 325), 0.1 + 0.9 * (1 + cos(3.14159265358979323846 / 4)) / 2, 1e-14, 0);
  CHECK_CLOSE(ev(c, 550), 0.55, 1e-14, 0);
  CHECK_CLOSE(ev(c, H), 0.1, 1e-14, 0);
  schedopt_control_free(c);

  c = mk("linear", "start=1 end=0.2");
  CHECK_CLOSE(ev(c, 0), 1, 1e-14, 0);
  CHECK_CLOSE(ev(c, 250), 0.8, 1e-14, 0);
  CHECK_CLOSE(ev(c, H), 0.2, 1e-14, 0);
  schedopt_control_free(c);

  c = mk("exponential", "start=1 end=0.01 warmup=200");
  CHECK_CLOSE(ev(c, 100), 0.5, 1e-14, 0);
  CHECK_CLOSE(ev(c, 600), 0.1, 1e-14, 0);
  CHECK_CLOSE(ev(c, H), 0.01, 1e-13, 0);
  schedopt_control_free(c);

  c = mk("wsd", "peak=1 warmup=100");
  CHECK_CLOSE(ev(c, 50), 0.5, 1e-14, 0);
  CHECK_CLOSE(ev(c, 500), 1, 1e-14, 0);
  CHECK_CLOSE(ev(c, 800), 1, 1e-14, 0);
  CHECK_CLOSE(ev(c, 900), 0.5, 1e-14, 0);
  CHECK_CLOSE(ev(c, H), 0, 0, 1e-15);
  schedopt_control_free(c);
  c = mk("wsd", "peak=1 floor=0.1 decay_frac=0.4 shape=cosine");
  CHECK_CLOSE(ev(c, 800), 0.55, 1e-14, 0);
  schedopt_control_free(c);
  c = mk("wsd", "peak=1 floor=0.1 decay_frac=0.2 shape=sqrt");
  CHECK_CLOSE(ev(c, 850), 0.55, 1e-14, 0);
  schedopt_control_free(c);
  c = mk("wsd", "peak=1 decay_frac=0.2 shape=power delta=2");
  CHECK_CLOSE(ev(c, 900), 0.25, 1e-14, 0);
  schedopt_control_free(c);
  c = mk("wsd", "peak=1 floor=0.01 decay_frac=0.2 shape=exponential");
  CHECK_CLOSE(ev(c, 900), 0.1, 1e-14, 0);
  CHECK_CLOSE(ev(c, H), 0.01, 1e-13, 0);
  schedopt_control_free(c);

  c = mk("multistep", "peak=2");
  double m[2] = {0.5, 0.75}, f[3] = {1, 0.5, 0.1};
  CHECK(schedopt_control_set_steps(c, 2, m, f, NULL) == SCHEDOPT_OK);
  CHECK_CLOSE(ev(c, 499), 2, 1e-15, 0);
  CHECK_CLOSE(ev(c, 500), 1, 1e-15, 0);
  CHECK_CLOSE(schedopt_control_eval_left(c, H, 500), 2, 1e-15, 0);
  CHECK_CLOSE(ev(c, 800), 0.2, 1e-15, 0);
  CHECK_CLOSE(ev(c, H), 0.2, 1e-15, 0);
  schedopt_control_free(c);

  c = mk("811", "peak=1e-3");
  CHECK_CLOSE(ev(c, 0), 1e-3, 1e-15, 0);
  CHECK_CLOSE(ev(c, 799), 1e-3, 1e-15, 0);
  CHECK_CLOSE(ev(c, 800), 1e-3 / s10, 1e-15, 0);
  CHECK_CLOSE(schedopt_control_eval_left(c, H, 800), 1e-3, 1e-15, 0);
  CHECK_CLOSE(ev(c, 899), 1e-3 / s10, 1e-15, 0);
  CHECK_CLOSE(ev(c, 950), 1e-4, 1e-15, 0);
  CHECK_CLOSE(schedopt_control_eval_left(c, H, 900), 1e-3 / s10, 1e-15, 0);
  schedopt_control_free(c);

  c = mk("power", "peak=1 t0=10 chi=0.5 warmup=100");
  CHECK_CLOSE(ev(c, 50), 0.5, 1e-14, 0);
  CHECK_CLOSE(ev(c, 100), 1, 1e-14, 0);
  CHECK_CLOSE(ev(c, 190), 1 / s10, 1e-14, 0);
  schedopt_control_free(c);

  c = mk("polynomial", "peak=1 delta=2");
  CHECK_CLOSE(ev(c, 500), 0.25, 1e-14, 0);
  CHECK_CLOSE(ev(c, H), 0, 0, 1e-15);
  schedopt_control_free(c);

  double tt[3] = {100, 200, 400}, tv[3] = {1, 3, 1};
  c = mk("table", "scale=2");
  CHECK(schedopt_control_set_table(c, 3, tt, tv, NULL) == SCHEDOPT_OK);
  CHECK(schedopt_control_nparams(c) == 2 + 2 + 3);
  CHECK_CLOSE(ev(c, 50), 2, 1e-15, 0);
  CHECK_CLOSE(ev(c, 150), 4, 1e-14, 0);
  CHECK_CLOSE(ev(c, 300), 4, 1e-14, 0);
  CHECK_CLOSE(ev(c, 500), 2, 1e-15, 0);
  CHECK(schedopt_control_set_choice(c, "interp", "step", NULL) == SCHEDOPT_OK);
  CHECK_CLOSE(ev(c, 150), 2, 1e-15, 0);
  CHECK_CLOSE(ev(c, 200), 6, 1e-15, 0);
  CHECK_CLOSE(schedopt_control_eval_left(c, H, 200), 2, 1e-15, 0);
  CHECK_CLOSE(ev(c, 399), 6, 1e-15, 0);
  CHECK_CLOSE(ev(c, 400), 2, 1e-15, 0);
  double x;
  CHECK(schedopt_control_get(c, "interp", &x, NULL) == SCHEDOPT_OK && x == 1);
  schedopt_control_free(c);

  /* defaults and lookups */
  c = mk("wsd", "peak=1");
  CHECK(schedopt_control_get(c, "decay_frac", &x, NULL) == SCHEDOPT_OK && x == 0.2);
  CHECK(schedopt_control_get(c, "warmup_init", &x, NULL) == SCHEDOPT_OK && x == 0);
  CHECK(schedopt_control_get_type(c) == schedopt_control_wsd);
  schedopt_control_free(c);
  size_t nt = 0;
  while (schedopt_control_types[nt]) nt++;
  CHECK(nt == 10);
  CHECK(schedopt_control_type_find("811") == schedopt_control_811);
  CHECK(schedopt_control_type_find("nope") == NULL);
}

static void test_knots(void) {
  double t[8];
  int j[8];
  schedopt_control *c = mk("wsd", "peak=1 warmup=100");
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 2);
  CHECK(t[0] == 100 && j[0] == 0);
  CHECK_CLOSE(t[1], 800, 1e-14, 0);
  CHECK(j[1] == 0);
  schedopt_control_free(c);

  c = mk("811", "peak=1");
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 2);
  CHECK_CLOSE(t[0], 800, 1e-14, 0);
  CHECK_CLOSE(t[1], 900, 1e-14, 0);
  CHECK(j[0] == 1 && j[1] == 1);
  schedopt_control_free(c);

  /* warmup end on a milestone: one knot, a jump */
  c = mk("811", "peak=1 warmup=800");
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 2);
  CHECK(t[0] == 800 && j[0] == 1);
  schedopt_control_free(c);

  double pt[5] = {0, 100, 200, 400, 1200}, pv[5] = {1, 2, 3, 4, 5};
  c = mk("table", "");
  CHECK(schedopt_control_set_table(c, 5, pt, pv, NULL) == SCHEDOPT_OK);
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 3);
  CHECK(t[0] == 100 && t[1] == 200 && t[2] == 400);
  CHECK(j[0] == 0 && j[1] == 0 && j[2] == 0);
  CHECK(schedopt_control_set_choice(c, "interp", "step", NULL) == SCHEDOPT_OK);
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 3);
  CHECK(j[0] == 1 && j[1] == 1 && j[2] == 1);
  /* a short buffer still gets the total count */
  t[1] = -1;
  CHECK(schedopt_control_knots(c, H, t, j, 1) == 3);
  CHECK(t[0] == 100 && t[1] == -1);
  CHECK(schedopt_control_knots(c, H, NULL, NULL, 0) == 3);
  schedopt_control_free(c);

  c = mk("power", "peak=1 warmup=50");
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 1);
  CHECK(t[0] == 50 && j[0] == 0);
  schedopt_control_free(c);
  c = mk("cosine", "peak=1");
  CHECK(schedopt_control_knots(c, H, t, j, 8) == 0);
  schedopt_control_free(c);
}

/* ∂v/∂p of every parameter against central differences at the times ts. */
static void check_derivs(schedopt_control *c, const double *ts, size_t nts,
                         const char *label) {
  size_t np = schedopt_control_nparams(c), nf = c->type->nparams;
  double *dp = malloc(np * sizeof *dp);
  for (size_t k = 0; k < nts; k++) {
    double t = ts[k];
    schedopt_control_eval(c, H, t, dp);
    for (size_t i = 0; i < np; i++) {
      double *slot;
      if (i < nf)
        slot = &c->p[i];
      else if (i == nf)
        slot = &c->warmup;
      else if (i == nf + 1)
        slot = &c->warmup_init;
      else
        slot = &c->v[i - nf - 2];
      if (i < nf && c->type->params[i].choices) {
        CHECK_MSG(dp[i] == 0, "%s: enum parameter %zu has derivative %g", label, i,
                  dp[i]);
        continue;
      }
      double p0 = *slot, h = 1e-6 * (fabs(p0) > 1 ? fabs(p0) : 1);
      *slot = p0 + h;
      double fp = ev(c, t);
      *slot = p0 - h;
      double fm = ev(c, t);
      *slot = p0;
      double fd = (fp - fm) / (2 * h);
      if (!CHECK_CLOSE(dp[i], fd, 1e-6, 1e-11))
        fprintf(stderr, "  (%s, parameter %zu, t = %g)\n", label, i, t);
    }
  }
  free(dp);
}

static void test_derivatives(void) {
  schedopt_control *c;
  double t2[] = {30, 500}, t4[] = {30, 150, 600, 950};
  c = mk("constant", "value=0.7 warmup=100 warmup_init=0.2");
  check_derivs(c, t2, 2, "constant");
  schedopt_control_free(c);
  c = mk("cosine", "peak=1 floor=0.1 warmup=100 warmup_init=0.1");
  check_derivs(c, t4, 4, "cosine");
  schedopt_control_free(c);
  c = mk("linear", "start=0.9 end=0.2 warmup=100 warmup_init=0.3");
  check_derivs(c, t4, 4, "linear");
  schedopt_control_free(c);
  c = mk("exponential", "start=1 end=0.05 warmup=100 warmup_init=0.2");
  check_derivs(c, t4, 4, "exponential");
  schedopt_control_free(c);

  const char *shapes[] = {"linear", "cosine", "exponential", "sqrt", "power"};
  double tw[] = {30, 500, 750, 950};
  for (int s = 0; s < 5; s++) {
    char spec[256];
    snprintf(spec, sizeof spec,
             "peak=1 floor=0.05 decay_frac=0.3 shape=%s delta=1.7 warmup=100 "
             "warmup_init=0.1",
             shapes[s]);
    c = mk("wsd", spec);
    check_derivs(c, tw, 4, shapes[s]);
    schedopt_control_free(c);
  }

  c = mk("multistep", "peak=1 warmup=100 warmup_init=0.2");
  double m[2] = {0.5, 0.8}, f[3] = {1, 0.3, 0.1};
  schedopt_control_set_steps(c, 2, m, f, NULL);
  double tm[] = {30, 300, 600, 900};
  check_derivs(c, tm, 4, "multistep");
  schedopt_control_free(c);
  c = mk("811", "peak=1e-3 warmup=50");
  double t811[] = {20, 500, 850, 950};
  check_derivs(c, t811, 4, "811");
  schedopt_control_free(c);
  c = mk("power", "peak=1 t0=20 chi=0.6 warmup=100 warmup_init=0.1");
  double tp[] = {30, 120, 500};
  check_derivs(c, tp, 3, "power");
  schedopt_control_free(c);
  c = mk("polynomial", "peak=1 delta=1.5 floor=0.05 warmup=100 warmup_init=0.1");
  check_derivs(c, t4, 4, "polynomial");
  schedopt_control_free(c);

  double pt[4] = {0, 200, 500, 1000}, pv[4] = {1, 0.8, 0.5, 0.1};
  c = mk("table", "scale=1.3 warmup=100 warmup_init=0.2");
  schedopt_control_set_table(c, 4, pt, pv, NULL);
  double tt[] = {30, 150, 300, 700};
  check_derivs(c, tt, 4, "table linear");
  schedopt_control_set_choice(c, "interp", "step", NULL);
  check_derivs(c, tt, 4, "table step");
  schedopt_control_free(c);
}

static void test_validation(void) {
  schedopt_error err = {0};
  schedopt_control *c = mk("cosine", "");
  CHECK(schedopt_control_set(c, "floor", -1, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "cosine.floor = -1 is out of range: must be >= 0", NULL));
  CHECK(schedopt_control_set(c, "peak", NAN, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "cosine.peak = nan", "not a finite number"));
  CHECK(schedopt_control_set(c, "peak", INFINITY, &err) == SCHEDOPT_EINVAL);
  CHECK(schedopt_control_set(c, "warmup_init", 1.5, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "warmup_init = 1.5", "must be in [0, 1]"));
  CHECK(schedopt_control_set(c, "peek", 1, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "unknown parameter 'peek'", "peak, floor"));
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "cosine: parameter 'peak' is required", "controls.lr"));
  CHECK(schedopt_control_set(c, "peak", 0.1, &err) == SCHEDOPT_OK);
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_OK);
  CHECK(schedopt_control_set(c, "warmup", 1000, &err) == SCHEDOPT_OK);
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "warmup = 1000", "must be < the horizon"));
  schedopt_control_free(c);

  c = mk("polynomial", "peak=1");
  CHECK(schedopt_control_set(c, "delta", 0, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "polynomial.delta = 0 is out of range: must be > 0", NULL));
  schedopt_control_free(c);

  c = mk("wsd", "peak=1 warmup=900 decay_frac=0.2");
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "decay starts at t = H(1 - decay_frac) = 800", "warmup"));
  CHECK(schedopt_control_set(c, "decay_frac", 1.2, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "wsd.decay_frac = 1.2 is out of range: must be in [0, 1]", NULL));
  CHECK(schedopt_control_set_choice(c, "shape", "cubic", &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "wsd.shape = 'cubic' is not a valid choice", "linear, cosine"));
  CHECK(schedopt_control_set(c, "shape", 7, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "wsd.shape = 7", "not a valid choice"));
  schedopt_control_free(c);

  c = mk("wsd", "peak=1 shape=exponential");
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "shape = exponential needs", "floor = 0"));
  CHECK(schedopt_control_set(c, "floor", 0.01, &err) == SCHEDOPT_OK);
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_OK);
  schedopt_control_free(c);

  c = mk("exponential", "start=1 end=0");
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "exponential.end = 0 is out of range: must be > 0", NULL));
  schedopt_control_free(c);

  /* value range over the horizon */
  double pt[3] = {0, 500, 1000}, pv[3] = {0.1, -0.1, 0.1};
  c = mk("table", "");
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "no points", NULL));
  schedopt_control_set_table(c, 3, pt, pv, NULL);
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "controls.lr = -0.0002 at t = 250.5 is out of range: must be >= 0",
                     NULL));
  pv[1] = 0.05;
  CHECK(schedopt_control_set_table(c, 3, pt, pv, NULL) == SCHEDOPT_OK);
  CHECK(schedopt_control_validate(c, H, 0, INFINITY, 0, "controls.lr", &err) ==
        SCHEDOPT_OK);
  pt[2] = 500;
  CHECK(schedopt_control_set_table(c, 3, pt, pv, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "strictly increasing", NULL));
  schedopt_control_free(c);

  /* a jump that leaves the range only on one side of a knot */
  c = mk("multistep", "peak=0.5");
  double m[1] = {0.3}, f[2] = {1, 2.5};
  CHECK(schedopt_control_validate(c, H, 0, 1, 1, "controls.momentum", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "milestones and factors", NULL));
  schedopt_control_set_steps(c, 1, m, f, NULL);
  CHECK(schedopt_control_validate(c, H, 0, 1, 1, "controls.momentum", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "controls.momentum = 1.25 at t = 300", "must be in [0, 1)"));
  f[1] = 1.9;
  schedopt_control_set_steps(c, 1, m, f, NULL);
  CHECK(schedopt_control_validate(c, H, 0, 1, 1, "controls.momentum", &err) ==
        SCHEDOPT_OK);
  m[0] = 1.0;
  CHECK(schedopt_control_set_steps(c, 1, m, f, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "milestone[0] = 1", "(0, 1)"));
  schedopt_control_free(c);

  c = mk("constant", "value=0.5");
  CHECK(schedopt_control_validate(c, H, 1, INFINITY, 0, "controls.batch", &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "controls.batch = 0.5 at t = 0", "must be >= 1"));
  CHECK(schedopt_control_set_table(c, 3, pt, pv, &err) == SCHEDOPT_EINVAL);
  schedopt_control_free(c);
}

static void test_csv(void) {
  schedopt_error err = {0};
  schedopt_control *c = mk("table", "");
  const char *p = test_write_tmp("ctl_good.csv",
                                 "step,loss,lr\r\n0,3.0,0.1\r\n10,2.5,0.2\r\n\r\n"
                                 "20, 2.0 ,0.3\r\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_OK);
  CHECK(c->n == 3);
  CHECK_CLOSE(schedopt_control_eval(c, 100, 5, NULL), 0.15, 1e-14, 0);
  CHECK_CLOSE(schedopt_control_eval(c, 100, 50, NULL), 0.3, 1e-14, 0);
  CHECK(schedopt_control_load_csv(c, p, "step", "loss", &err) == SCHEDOPT_OK);
  CHECK_CLOSE(schedopt_control_eval(c, 100, 20, NULL), 2.0, 1e-14, 0);

  p = test_write_tmp("ctl_lf.csv", "t,v\n1,5\n2,6");
  CHECK(schedopt_control_load_csv(c, p, "t", "v", &err) == SCHEDOPT_OK);
  CHECK(c->n == 2 && c->t[1] == 2 && c->v[1] == 6);

  p = test_write_tmp("ctl_nocol.csv", "step,loss\n0,1\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "no column 'lr'", "columns found: 'step', 'loss'"));
  CHECK(test_err_has(&err, "ctl_nocol.csv", NULL));
  CHECK(c->n == 2); /* unchanged on failure */

  p = test_write_tmp("ctl_bad.csv", "step,lr\n0,0.1\n\n1,abc\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "ctl_bad.csv:4:", "'abc' is not a finite number"));

  p = test_write_tmp("ctl_inf.csv", "step,lr\r\n0,0.1\r\n1,inf\r\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "ctl_inf.csv:3:", "'inf'"));

  p = test_write_tmp("ctl_order.csv", "step,lr\n0,0.1\n5,0.2\n5,0.3\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "ctl_order.csv:4:", "strictly increasing"));

  p = test_write_tmp("ctl_short.csv", "step,x,lr\n0,1,0.1\n1,2\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "ctl_short.csv:3:", "'lr' is missing"));

  p = test_write_tmp("ctl_empty.csv", "");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "ctl_empty.csv", "empty file"));

  p = test_write_tmp("ctl_hdr.csv", "step,lr\n");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "no data rows", NULL));

  CHECK(schedopt_control_load_csv(c, SCHEDOPT_TMP_DIR "/no/such.csv", "step", "lr",
                                  &err) == SCHEDOPT_EIO);
  CHECK(test_err_has(&err, "no/such.csv", NULL));
  schedopt_control_free(c);

  c = mk("cosine", "peak=1");
  CHECK(schedopt_control_load_csv(c, p, "step", "lr", &err) == SCHEDOPT_EINVAL);
  schedopt_control_free(c);
}

/* The 8-1-1 family against the learning rate logged by a GPT-100M run. */
static void test_811_reference(void) {
  schedopt_error err = {0};
  schedopt_control *tab = mk("table", "interp=step");
  const char *path = SCHEDOPT_SHARED_DIR "/data/gpt-100m/811.csv";
  if (schedopt_control_load_csv(tab, path, "step", "lr", &err)) {
    CHECK_MSG(0, "%s", err.msg);
    schedopt_control_free(tab);
    return;
  }
  const double Hs = 33908;
  schedopt_control *c = mk("811", "peak=1e-3");
  double steps[] = {0, 1000, 20000, 27000, 27200, 30000, 30600, 33907};
  double want[] = {1e-3, 1e-3, 1e-3, 1e-3, 1e-3 / sqrt(10), 1e-3 / sqrt(10), 1e-4, 1e-4};
  for (int i = 0; i < 8; i++) {
    CHECK_CLOSE(schedopt_control_eval(c, Hs, steps[i], NULL), want[i], 1e-6, 0);
    CHECK_CLOSE(schedopt_control_eval(c, Hs, steps[i], NULL),
                schedopt_control_eval(tab, Hs, steps[i], NULL), 1e-6, 0);
  }
  /* every logged step farther than one step from a milestone */
  size_t bad = 0, used = 0;
  for (size_t i = 0; i < tab->n; i++) {
    double s = tab->t[i];
    if (fabs(s - 0.8 * Hs) <= 1 || fabs(s - 0.9 * Hs) <= 1) continue;
    used++;
    double a = schedopt_control_eval(c, Hs, s, NULL), b = tab->v[i];
    if (fabs(a - b) > 1e-6 * b) bad++;
  }
  CHECK(used > 33000);
  CHECK_MSG(bad == 0, "%zu of %zu steps differ", bad, used);
  schedopt_control_free(c);
  schedopt_control_free(tab);
}

int main(void) {
  test_values();
  test_knots();
  test_derivatives();
  test_validation();
  test_csv();
  test_811_reference();
  return test_finish();
}
