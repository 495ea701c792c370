/* The CVODES gradient by the stored forward pass (issue 14) on the cases
 * test_gradient does not reach: against central differences of the
 * objective at rtol 1e-10 and against the check-pointed adjoint (adjoint
 * memory 0) with J of both passes compared to the objective's — jumps
 * (multistep, 811, step tables, a jump in momentum), knots closer than a
 * CVODES step, horizons at jumps, at knots and at H, MEAN windows that start
 * at a knot and end at H, horizons H = 1, 2, 3, N = 1, a learning rate at 0
 * over a stretch, momentum with and without the bias/variance split on the
 * data clock, sde, fsl; a diverging schedule (the objective's message);
 * the memory bound at exactly the size of the pass; and the model Hessian's
 * reuse of the stored pass against a fresh integrator while objectives,
 * gradients and Hessians of changing schedules alternate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testgrad.h"
#include "testutil.h"

static schedopt_error err;

typedef struct setup {
  const schedopt_model *m;
  schedopt_clock clock;
  double H, units;
  schedopt_control *ch[3]; /* NULL: default */
  schedopt_objective obj;
  double rtol;
} setup;

#define NO_BOUND ((size_t)-1)
#define FINAL ((schedopt_objective){SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL})
#define MEAN(a, b) ((schedopt_objective){SCHEDOPT_OBJ_MEAN, (a), (b), 0, NULL, NULL})
#define HOR(n, h, w) ((schedopt_objective){SCHEDOPT_OBJ_HORIZONS, 0, 0, (n), (h), (w)})

static schedopt_schedule *build(const setup *su) {
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, su->clock, su->H, su->units, &err));
  for (int c = 0; c < 3; c++)
    if (su->ch[c]) OK(schedopt_schedule_set(s, (schedopt_channel)c, su->ch[c], &err));
  return s;
}

/* A CVODES integrator at su's tolerance; bound: adjoint memory (NO_BOUND: default). */
static schedopt_integrator *mkit(const setup *su, size_t bound) {
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, su->m, &err));
  OK(schedopt_integrator_set_tolerances(it, su->rtol, su->rtol * 1e-4, &err));
  if (bound != NO_BOUND) OK(schedopt_integrator_set_adjoint_memory(it, bound, &err));
  return it;
}

static double objective(const setup *su, schedopt_integrator *it) {
  schedopt_schedule *s = build(su);
  double J = NAN;
  OK(schedopt_integrator_objective(it, s, &su->obj, &J, &err));
  schedopt_schedule_free(s);
  return J;
}

static long ckpt_count(const schedopt_integrator *it) {
  schedopt_integrator_stats st;
  schedopt_integrator_get_stats(it, &st);
  return st.ckpt_gradients;
}

static long steps_of(const schedopt_integrator *it) {
  schedopt_integrator_stats st;
  schedopt_integrator_get_stats(it, &st);
  return st.steps;
}

static void gradient(const setup *su, schedopt_integrator *it, double *J, double *g[3]) {
  schedopt_schedule *s = build(su);
  OK(schedopt_integrator_gradient(it, s, &su->obj, J, g, &err));
  schedopt_schedule_free(s);
}

/* Both adjoints against central differences (relative step h; components
 * below the objective's noise floor eps|J|/d, eps = 10 rtol, are held to that
 * floor), against each other, and their J against the objective's.  A table
 * value at 0 (a learning rate at 0) takes a one-sided difference; a warmup at
 * 0 is a kink (skipped, as in test_gradient). */
static void attack(const char *name, setup *su, double tol, double h) {
  size_t np[3];
  double *gs[3], *gc[3];
  schedopt_schedule *s = build(su);
  for (int c = 0; c < 3; c++) {
    np[c] = schedopt_control_nparams(schedopt_schedule_get(s, (schedopt_channel)c));
    gs[c] = calloc(np[c] + 1, sizeof(double));
    gc[c] = calloc(np[c] + 1, sizeof(double));
  }
  schedopt_schedule_free(s);
  schedopt_integrator *it = mkit(su, NO_BOUND), *ic = mkit(su, 0), *io = mkit(su, NO_BOUND);
  double Js = NAN, Jc = NAN;
  gradient(su, it, &Js, gs);
  gradient(su, ic, &Jc, gc);
  CHECK_MSG(ckpt_count(it) == 0 && ckpt_count(ic) == 1, "%s: check-pointed gradients %ld, %ld",
            name, ckpt_count(it), ckpt_count(ic));
  const double Jo = objective(su, io);
  CHECK_MSG(fabs(Js - Jo) <= 1e-9 * fabs(Jo), "%s: J of the stored pass %.15g, objective %.15g",
            name, Js, Jo);
  CHECK_MSG(fabs(Jc - Jo) <= 1e-6 * fabs(Jo), "%s: J of the check-pointed pass %.15g, objective %.15g",
            name, Jc, Jo);
  double gscale = 0;
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < np[c]; i++) gscale = fmax(gscale, fabs(gc[c][i]));
  const double eps = 10 * su->rtol;
  double worst = 0;
  for (int c = 0; c < 3; c++) {
    if (!su->ch[c]) continue;
    const schedopt_control_type *T = su->ch[c]->type;
    for (size_t i = 0; i < np[c]; i++) {
      CHECK_MSG(fabs(gs[c][i] - gc[c][i]) <= 1e-4 * fabs(gc[c][i]) + 1e-6 * gscale,
                "%s: channel %d param %zu: stored pass %.10g, check-pointed %.10g", name, c, i,
                gs[c][i], gc[c][i]);
      if (T->params && i < T->nparams && T->params[i].choices) continue; /* enum */
      double *p = param_ptr(su->ch[c], i), p0 = *p, d = h * fmax(fabs(p0), 1e-2), fd, noise;
      if (p0 == 0.0 && i == T->nparams) continue; /* warmup at 0 */
      if (p0 == 0.0) {
        *p = d;
        const double Jp = objective(su, io);
        *p = p0;
        fd = (Jp - Jo) / d;
        noise = 2 * eps * fabs(Jo) / d + 1e-3 * fabs(fd); /* and O(d) */
      } else {
        *p = p0 + d;
        const double Jp = objective(su, io);
        *p = p0 - d;
        const double Jm = objective(su, io);
        *p = p0;
        fd = (Jp - Jm) / (2 * d);
        noise = eps * fabs(Jo) / d;
      }
      const double bound = tol * fabs(fd) + noise;
      worst = fmax(worst, fabs(gs[c][i] - fd) / bound);
      CHECK_MSG(fabs(gs[c][i] - fd) <= bound,
                "%s: channel %d param %zu: gradient %.10g, finite difference %.10g (noise %.2g)",
                name, c, i, gs[c][i], fd, noise);
    }
  }
  printf("%-48s J %.10g  |J_grad - J|/J %.1e  worst |g - fd|/bound %.2g\n", name, Jo,
         fabs(Js - Jo) / fabs(Jo), worst);
  for (int c = 0; c < 3; c++) {
    free(gs[c]);
    free(gc[c]);
  }
  schedopt_integrator_free(it);
  schedopt_integrator_free(ic);
  schedopt_integrator_free(io);
}

static const double RT = 1e-10, TOL = 1e-4, FDH = 1e-4;

/* Jumps: multistep (with and without warmup), a step table; horizons at the
 * jumps and at H. */
static void test_jumps(const schedopt_model *m, schedopt_control *bt) {
  schedopt_control *ms = ctl(schedopt_control_multistep);
  const double mil[2] = {0.5, 0.75}, fac[3] = {1, 0.3, 0.1};
  set(ms, "peak", 0.6);
  OK(schedopt_control_set_steps(ms, 2, mil, fac, &err));
  setup su = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {ms, bt, NULL}, FINAL, RT};
  attack("multistep/final", &su, TOL, FDH);
  double h1[3] = {150, 225, 300}, w1[3] = {0.5, 0.3, 1.0};
  su.obj = HOR(3, h1, w1);
  attack("multistep/horizons at both jumps and H", &su, TOL, FDH);
  double h2[2] = {100, 150}, w2[2] = {0.7, 0.4};
  su.obj = HOR(2, h2, w2);
  attack("multistep/horizons 100 and the jump 150", &su, TOL, FDH);
  double h3[2] = {150 + 1e-11, 300}, w3[2] = {1, 1};
  su.obj = HOR(2, h3, w3);
  attack("multistep/horizon 1e-11 after a jump", &su, TOL, FDH);
  su.obj = FINAL;
  set(ms, "warmup", 30.5);
  set(ms, "warmup_init", 0.2);
  attack("multistep + warmup/final", &su, TOL, FDH);
  schedopt_control_free(ms);

  const double tt[5] = {0, 60, 120, 180, 240}, vv[5] = {0.5, 0.6, 0.4, 0.3, 0.1};
  schedopt_control *tb = ctl(schedopt_control_table);
  OK(schedopt_control_set_choice(tb, "interp", "step", &err));
  OK(schedopt_control_set_table(tb, 5, tt, vv, &err));
  setup s3 = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {tb, bt, NULL}, FINAL, RT};
  attack("step table/final", &s3, TOL, FDH);
  double h4[3] = {60, 180, 300}, w4[3] = {0.2, 0.3, 1.0};
  s3.obj = HOR(3, h4, w4);
  attack("step table/horizons at jumps and H", &s3, TOL, FDH);
  schedopt_control_free(tb);
}

/* Table knots 1e-6 and 1e-9 apart (far below a CVODES step, above the
 * 1e-12 H at which knots merge), linear and step. */
static void test_close_knots(const schedopt_model *m, schedopt_control *bt) {
  for (int e = 0; e < 2; e++) {
    const double gap = e ? 1e-9 : 1e-6;
    const double tt[6] = {0, 100, 100 + gap, 100 + 2 * gap, 200, 300};
    const double vv[6] = {0.5, 0.6, 0.55, 0.45, 0.3, 0.05};
    schedopt_control *tb = ctl(schedopt_control_table);
    OK(schedopt_control_set_table(tb, 6, tt, vv, &err));
    setup s = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {tb, bt, NULL}, FINAL, RT};
    char nm[96];
    snprintf(nm, sizeof nm, "table, knots %g apart/final", gap);
    attack(nm, &s, TOL, FDH);
    s.obj = MEAN(0, 300);
    snprintf(nm, sizeof nm, "table, knots %g apart/mean [0, H]", gap);
    attack(nm, &s, TOL, FDH);
    double hh[2] = {100 + gap, 300}, ww[2] = {0.5, 1};
    s.obj = HOR(2, hh, ww);
    snprintf(nm, sizeof nm, "table, knots %g apart/horizon at a knot", gap);
    attack(nm, &s, TOL, FDH);
    OK(schedopt_control_set_choice(tb, "interp", "step", &err));
    s.obj = FINAL;
    snprintf(nm, sizeof nm, "step table, jumps %g apart/final", gap);
    attack(nm, &s, TOL, FDH);
    schedopt_control_free(tb);
  }
}

/* Objective times on smooth knots and at H; a learning rate at 0. */
static void test_objective_times(const schedopt_model *m, schedopt_control *bt) {
  const double tt[5] = {0, 75, 150, 225, 300}, vv[5] = {0.5, 0.6, 0.4, 0.3, 0.05};
  schedopt_control *tb = ctl(schedopt_control_table);
  OK(schedopt_control_set_table(tb, 5, tt, vv, &err));
  setup s = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {tb, bt, NULL}, MEAN(150, 300), RT};
  attack("table/mean [150, H] from a knot", &s, TOL, FDH);
  double h1[3] = {75, 150, 300}, w1[3] = {1, -0.5, 2};
  s.obj = HOR(3, h1, w1);
  attack("table/horizons at knots, a negative weight", &s, TOL, FDH);
  double h2[1] = {300 * (1 + 5e-13)}, w2[1] = {1};
  s.obj = HOR(1, h2, w2);
  attack("table/one horizon at H(1 + 5e-13)", &s, TOL, FDH);
  s.obj = MEAN(0, 300 * (1 + 5e-13));
  attack("table/mean [0, H(1 + 5e-13)]", &s, TOL, FDH);
  const double z1[5] = {0.5, 0, 0, 0.4, 0.1}, z2[5] = {0.5, 0.3, 0.2, 0, 0};
  OK(schedopt_control_set_table(tb, 5, tt, z1, &err));
  s.obj = FINAL;
  attack("table, lr 0 on [75, 150]/final", &s, TOL, FDH);
  OK(schedopt_control_set_table(tb, 5, tt, z2, &err));
  attack("table, lr 0 on [225, H]/final", &s, TOL, FDH);
  schedopt_control_free(tb);
}

/* H = 1, 2, 3 steps (with a warmup over half of it: rtol 1e-12, at 1e-10
 * the objective's noise at T = 3 exceeds the floor the check assumes); N = 1. */
static void test_short(const schedopt_model *m, schedopt_control *bt) {
  for (int T = 1; T <= 3; T++) {
    schedopt_control *c = ctl(schedopt_control_cosine);
    set(c, "peak", 0.6);
    set(c, "floor", 0.05);
    setup s = {m, SCHEDOPT_CLOCK_STEPS, T, 1, {c, bt, NULL}, FINAL, RT};
    char nm[96];
    snprintf(nm, sizeof nm, "cosine, H = %d/final", T);
    attack(nm, &s, TOL, FDH);
    s.obj = MEAN(0, T);
    snprintf(nm, sizeof nm, "cosine, H = %d/mean [0, H]", T);
    attack(nm, &s, TOL, FDH);
    set(c, "warmup", 0.5 * T);
    set(c, "warmup_init", 0.1);
    s.obj = FINAL;
    s.rtol = 1e-12;
    snprintf(nm, sizeof nm, "cosine + warmup, H = %d/final", T);
    attack(nm, &s, TOL, 1e-3);
    schedopt_control_free(c);
  }
  schedopt_model *m1 = plrf(1, 0, SCHEDOPT_DYN_MATCHED, 1);
  schedopt_control *c = ctl(schedopt_control_wsd);
  set(c, "peak", 0.7);
  set(c, "decay_frac", 0.3);
  set(c, "floor", 0.01);
  setup s = {m1, SCHEDOPT_CLOCK_STEPS, 200, 1, {c, bt, NULL}, FINAL, RT};
  attack("N = 1, wsd/final", &s, TOL, FDH);
  schedopt_control_free(c);
  schedopt_model_free(m1);
}

/* Momentum with and without the split, on the data clock with a batch ramp;
 * a jump in momentum on the step clock; sde; fsl. */
static void test_models(void) {
  char nm[96];
  for (int split = 0; split <= 1; split++) {
    schedopt_model *m = plrf(20, 1, SCHEDOPT_DYN_MATCHED, split);
    schedopt_control *lr = ctl(schedopt_control_wsd), *mu = ctl(schedopt_control_linear),
                     *bt = ctl(schedopt_control_exponential);
    set(lr, "peak", 0.25);
    set(lr, "floor", 0.01);
    set(lr, "decay_frac", 0.3);
    set(lr, "warmup", 1500);
    set(mu, "start", 0.5);
    set(mu, "end", 0.8);
    set(bt, "start", 4);
    set(bt, "end", 16);
    setup s = {m, SCHEDOPT_CLOCK_DATA, 40000, 2, {lr, bt, mu}, FINAL, 1e-11};
    snprintf(nm, sizeof nm, "momentum, split %d, data clock/final", split);
    attack(nm, &s, TOL, FDH);
    double hh[2] = {20000, 40000}, ww[2] = {0.5, 1};
    s.obj = HOR(2, hh, ww);
    snprintf(nm, sizeof nm, "momentum, split %d, data clock/horizons", split);
    attack(nm, &s, TOL, FDH);
    schedopt_control *mm = ctl(schedopt_control_multistep);
    const double mil[1] = {0.5}, fac[2] = {1, 0.5};
    set(mm, "peak", 0.9);
    OK(schedopt_control_set_steps(mm, 1, mil, fac, &err));
    set(lr, "warmup", 40);
    set(lr, "peak", 0.1);
    setup s2 = {m, SCHEDOPT_CLOCK_STEPS, 400, 1, {lr, NULL, mm}, FINAL, 1e-11};
    snprintf(nm, sizeof nm, "momentum, split %d, jump in mu/final", split);
    attack(nm, &s2, TOL, FDH);
    schedopt_control_free(mm);
    schedopt_control_free(lr);
    schedopt_control_free(mu);
    schedopt_control_free(bt);
    schedopt_model_free(m);
  }
  {
    schedopt_model *m = plrf(30, 0, SCHEDOPT_DYN_SDE, 0);
    const double tt[4] = {0, 100, 200, 300}, vv[4] = {0.5, 0.3, 0.15, 0.05};
    schedopt_control *tb = ctl(schedopt_control_table), *bt = ctl(schedopt_control_constant);
    OK(schedopt_control_set_choice(tb, "interp", "step", &err));
    OK(schedopt_control_set_table(tb, 4, tt, vv, &err));
    set(bt, "value", 2);
    double hh[2] = {200, 400}, ww[2] = {0.5, 1};
    setup s = {m, SCHEDOPT_CLOCK_STEPS, 400, 1, {tb, bt, NULL}, HOR(2, hh, ww), 1e-11};
    attack("sde, step table/horizons at a jump and H", &s, TOL, FDH);
    schedopt_control_free(tb);
    schedopt_control_free(bt);
    schedopt_model_free(m);
  }
  {
    schedopt_fsl_params fp;
    schedopt_fsl_params_default(&fp);
    fp.a = 2.2;
    fp.b = 1.6;
    fp.M = 40;
    fp.sigma2 = 0.1;
    schedopt_model *m = NULL;
    OK(schedopt_model_alloc(&m, schedopt_model_fsl, &fp, &err));
    schedopt_control *e = ctl(schedopt_control_811), *bt = ctl(schedopt_control_constant);
    set(e, "peak", 0.8);
    set(e, "warmup", 100);
    set(bt, "value", 2);
    double hh[3] = {1000, 1600, 2000}, ww[3] = {0.2, 0.5, 1};
    setup s = {m, SCHEDOPT_CLOCK_STEPS, 2000, 1, {e, bt, NULL}, HOR(3, hh, ww), 1e-11};
    attack("fsl, 811 + warmup/horizons at the jump 1600, H", &s, TOL, FDH);
    schedopt_control_free(e);
    schedopt_control_free(bt);
    schedopt_model_free(m);
  }
}

/* The text from "(clock" on: where the divergence was found, and what then. */
static const char *from_clock(const char *msg) {
  const char *p = strstr(msg, "(clock");
  return p ? p : msg;
}

/* A diverging schedule: the gradient fails like the objective (the same
 * clock and loss in the message), and the integrator then gives a fresh
 * integrator's gradient of the next schedule. */
static void test_diverge(const schedopt_model *m, schedopt_control *bt) {
  schedopt_control *c = ctl(schedopt_control_constant), *ms = ctl(schedopt_control_multistep);
  set(c, "value", 5);
  const double mil[2] = {0.3, 0.5}, fac[3] = {1, 0.5, 12};
  set(ms, "peak", 0.5);
  OK(schedopt_control_set_steps(ms, 2, mil, fac, &err));
  for (int k = 0; k < 2; k++) {
    setup s = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {k ? ms : c, bt, NULL}, FINAL, 1e-8};
    schedopt_integrator *it = mkit(&s, NO_BOUND), *io = mkit(&s, NO_BOUND);
    schedopt_schedule *sc = build(&s);
    double J = 7, g0[16], g1[16], g2[16], *g[3] = {g0, g1, g2};
    char mo[sizeof err.msg];
    const schedopt_status so = schedopt_integrator_objective(io, sc, &s.obj, &J, &err);
    snprintf(mo, sizeof mo, "%s", err.msg);
    const schedopt_status sg = schedopt_integrator_gradient(it, sc, &s.obj, &J, g, &err);
    CHECK(so == SCHEDOPT_EDIVERGE && sg == SCHEDOPT_EDIVERGE);
    CHECK_MSG(!strcmp(from_clock(mo), from_clock(err.msg)), "objective: %s\ngradient: %s", mo,
              err.msg);
    if (!k) CHECK_MSG(!strcmp(mo, err.msg), "objective: %s\ngradient: %s", mo, err.msg);
    schedopt_schedule_free(sc);
    /* then a stable schedule on the same integrator */
    set(c, "value", 0.5);
    setup s2 = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {c, bt, NULL}, FINAL, 1e-8};
    double Ja, Jb, ga0[16], ga1[16], ga2[16], gb0[16], gb1[16], gb2[16];
    double *ga[3] = {ga0, ga1, ga2}, *gb[3] = {gb0, gb1, gb2};
    schedopt_integrator *fresh = mkit(&s2, NO_BOUND);
    gradient(&s2, it, &Ja, ga);
    gradient(&s2, fresh, &Jb, gb);
    CHECK(Ja == Jb && ga0[0] == gb0[0] && ga1[0] == gb1[0]);
    set(c, "value", 5);
    schedopt_integrator_free(fresh);
    schedopt_integrator_free(it);
    schedopt_integrator_free(io);
  }
  schedopt_control_free(c);
  schedopt_control_free(ms);
}

/* The memory bound at the size of the pass: the smallest bound that keeps the
 * stored pass (found by bisection) stores it, one byte or one double less
 * takes the check-pointed adjoint; both give the same gradient. */
static void test_bound(const schedopt_model *m, schedopt_control *bt) {
  schedopt_control *ms = ctl(schedopt_control_multistep);
  const double mil[2] = {0.5, 0.75}, fac[3] = {1, 0.3, 0.1};
  set(ms, "peak", 0.6);
  set(ms, "warmup", 20);
  OK(schedopt_control_set_steps(ms, 2, mil, fac, &err));
  setup su = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {ms, bt, NULL}, FINAL, 1e-8};
  enum { NP = 16 };
  double J, g0[NP], g1[NP], g2[NP], *g[3] = {g0, g1, g2};
  size_t lo = 0, hi = (size_t)1 << 26; /* lo: check-pointed, hi: stored */
  schedopt_integrator *it = mkit(&su, hi);
  gradient(&su, it, &J, g);
  CHECK(ckpt_count(it) == 0);
  schedopt_integrator_free(it);
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    it = mkit(&su, mid);
    gradient(&su, it, &J, g);
    if (ckpt_count(it)) lo = mid; else hi = mid;
    schedopt_integrator_free(it);
  }
  printf("the pass takes %zu bytes\n", hi);
  const size_t np = schedopt_control_nparams(ms);
  double Jr, r0[NP], r1[NP], r2[NP], *gr[3] = {r0, r1, r2};
  it = mkit(&su, NO_BOUND);
  gradient(&su, it, &Jr, gr);
  schedopt_integrator_free(it);
  const size_t probes[] = {hi - sizeof(double), hi - 1, hi, hi + 1, 0, 1, sizeof(double)};
  for (size_t k = 0; k < sizeof probes / sizeof *probes; k++) {
    it = mkit(&su, probes[k]);
    gradient(&su, it, &J, g);
    const long want = probes[k] >= hi ? 0 : 1;
    CHECK_MSG(ckpt_count(it) == want, "bound %zu: %ld check-pointed gradients", probes[k],
              ckpt_count(it));
    CHECK_CLOSE(J, Jr, 1e-6, 0);
    for (size_t i = 0; i < np; i++) CHECK_CLOSE(g0[i], r0[i], 1e-5, 1e-9);
    schedopt_integrator_free(it);
  }
  schedopt_control_free(ms);
}

/* The model Hessian of su on it; *dsteps: CVODES steps it took. */
static void hess(const setup *su, schedopt_integrator *it, double *Hm, long *dsteps) {
  schedopt_schedule *s = build(su);
  const long a = steps_of(it);
  OK(schedopt_integrator_hessian_model(it, s, &su->obj, Hm, &err));
  *dsteps = steps_of(it) - a;
  schedopt_schedule_free(s);
}

static void fresh_hess(const setup *su, double *Hm) {
  schedopt_integrator *f = mkit(su, NO_BOUND);
  long d;
  hess(su, f, Hm, &d);
  schedopt_integrator_free(f);
}

/* The model Hessian reads the stored pass only for the schedule of the last
 * gradient, whatever came between. */
static void test_hessian_reuse(void) {
  schedopt_model *m = plrf(40, 0, SCHEDOPT_DYN_MATCHED, 1);
  enum { K = 12, P = K + 4 };
  double tt[K], va[K], vb[K];
  for (int i = 0; i < K; i++) {
    tt[i] = 1000.0 * i / (K - 1);
    va[i] = vb[i] = 0.8 - 0.06 * i;
  }
  vb[5] += 0.1;
  schedopt_control *A = ctl(schedopt_control_table), *B = ctl(schedopt_control_table),
                   *D = ctl(schedopt_control_table), *bt = ctl(schedopt_control_constant);
  OK(schedopt_control_set_table(A, K, tt, va, &err));
  OK(schedopt_control_set_table(B, K, tt, vb, &err));
  double vd[K];
  memcpy(vd, va, sizeof vd);
  vd[8] = 6; /* diverges */
  OK(schedopt_control_set_table(D, K, tt, vd, &err));
  set(bt, "value", 4);
  setup sa = {m, SCHEDOPT_CLOCK_STEPS, 1000, 1, {A, bt, NULL}, FINAL, 1e-10};
  setup sb = sa, sd = sa;
  sb.ch[0] = B;
  sd.ch[0] = D;
  double HA[P * P], HB[P * P], H1[P * P];
  fresh_hess(&sa, HA);
  fresh_hess(&sb, HB);
  CHECK(rel_diff(HA, HB, P * P) > 1e-4); /* a stale pass would show */
  double J, g0[P], g1[P], g2[P], *g[3] = {g0, g1, g2};
  long d;
  schedopt_integrator *it = mkit(&sa, NO_BOUND);
  gradient(&sa, it, &J, g);
  hess(&sa, it, H1, &d);
  CHECK(d == 0 && rel_diff(H1, HA, P * P) <= 1e-8);
  objective(&sb, it); /* a plain solve of another schedule keeps the pass */
  hess(&sa, it, H1, &d);
  CHECK(d == 0 && rel_diff(H1, HA, P * P) <= 1e-8);
  hess(&sb, it, H1, &d);
  CHECK(d > 0 && rel_diff(H1, HB, P * P) == 0);
  gradient(&sb, it, &J, g);
  hess(&sa, it, H1, &d);
  CHECK(d > 0 && rel_diff(H1, HA, P * P) == 0);
  hess(&sb, it, H1, &d);
  CHECK(d == 0 && rel_diff(H1, HB, P * P) <= 1e-8);
  /* a failed gradient forgets the pass */
  gradient(&sa, it, &J, g);
  schedopt_schedule *s = build(&sd);
  CHECK(schedopt_integrator_gradient(it, s, &sd.obj, &J, g, &err) == SCHEDOPT_EDIVERGE);
  CHECK(schedopt_integrator_hessian_model(it, s, &sd.obj, H1, &err) == SCHEDOPT_EDIVERGE);
  schedopt_schedule_free(s);
  hess(&sa, it, H1, &d);
  CHECK(d > 0 && rel_diff(H1, HA, P * P) == 0);
  /* the pass of a MEAN or HORIZONS gradient is the same trajectory */
  setup sm = sa;
  sm.obj = MEAN(200, 1000);
  gradient(&sm, it, &J, g);
  hess(&sa, it, H1, &d);
  CHECK(d == 0 && rel_diff(H1, HA, P * P) <= 1e-8);
  double hh[2] = {333.3, 1000}, ww[2] = {1, 1};
  sm.obj = HOR(2, hh, ww);
  gradient(&sm, it, &J, g);
  hess(&sa, it, H1, &d);
  CHECK(d == 0 && rel_diff(H1, HA, P * P) <= 1e-8);
  schedopt_integrator_free(it);
  /* a check-pointed gradient stores no pass */
  it = mkit(&sa, 0);
  gradient(&sa, it, &J, g);
  hess(&sa, it, H1, &d);
  CHECK(d > 0 && rel_diff(H1, HA, P * P) == 0);
  schedopt_integrator_free(it);
  /* objectives, gradients and Hessians of changing schedules (one control
   * object edited in place), against fresh integrators */
  it = mkit(&sa, NO_BOUND);
  double worstH = 0, worstJ = 0, worstG = 0;
  for (int r = 0; r < 8; r++) {
    double vr[K];
    for (int i = 0; i < K; i++) vr[i] = va[i] * (1 + 0.05 * sin(r * 1.3 + i));
    OK(schedopt_control_set_table(B, K, tt, vr, &err));
    if (r % 3 == 0) objective(&sb, it);
    if (r % 2 == 0) gradient(&sb, it, &J, g);
    double Hf[P * P];
    hess(&sb, it, H1, &d);
    fresh_hess(&sb, Hf);
    worstH = fmax(worstH, rel_diff(H1, Hf, P * P));
    double Jf, f0[P], f1[P], f2[P], *gf[3] = {f0, f1, f2};
    gradient(&sb, it, &J, g);
    schedopt_integrator *f = mkit(&sb, NO_BOUND);
    gradient(&sb, f, &Jf, gf);
    schedopt_integrator_free(f);
    worstJ = fmax(worstJ, fabs(J - Jf) / Jf);
    worstG = fmax(worstG, rel_diff(g0, f0, P));
  }
  printf("alternating calls: model Hessian vs fresh %.2g, J %.2g, gradient %.2g\n", worstH,
         worstJ, worstG);
  CHECK(worstH <= 1e-8 && worstJ == 0 && worstG == 0);
  schedopt_integrator_free(it);
  schedopt_control_free(A);
  schedopt_control_free(B);
  schedopt_control_free(D);
  schedopt_control_free(bt);
  schedopt_model_free(m);
}

/* The cases this attack found failing, after their fixes: a MEAN window with
 * a restart inside it (the ∫ w L quadrature restarted from 0), max_steps in
 * the one-step passes, a memory bound lowered after a stored pass, horizons
 * merged with a knot within 1e-12 H, the Hessian's reuse across a change of
 * tolerances, and MEAN windows whose ends lie within 1e-12 H of a knot, 0 or
 * H (their segments had weight 0, in the objective too). */
static void test_fixed(const schedopt_model *m, schedopt_control *bt) {
  schedopt_control *ms = ctl(schedopt_control_multistep);
  const double mil[2] = {0.5, 0.75}, fac[3] = {1, 0.3, 0.1};
  set(ms, "peak", 0.6);
  OK(schedopt_control_set_steps(ms, 2, mil, fac, &err));
  setup su = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {ms, bt, NULL}, MEAN(0, 300), RT};
  attack("multistep/mean [0, H] across both jumps", &su, TOL, FDH);
  su.obj = MEAN(100, 200);
  attack("multistep/mean [100, 200] ending at a jump", &su, TOL, FDH);

  /* max_steps: the gradient fails where the objective does */
  su.obj = FINAL;
  schedopt_integrator *it = mkit(&su, NO_BOUND);
  OK(schedopt_integrator_set_max_steps(it, 5, &err));
  schedopt_schedule *s = build(&su);
  double J, g0[16], g1[16], g2[16], *g[3] = {g0, g1, g2};
  CHECK(schedopt_integrator_objective(it, s, &su.obj, &J, &err) == SCHEDOPT_ESOLVER);
  const schedopt_status st = schedopt_integrator_gradient(it, s, &su.obj, &J, g, &err);
  CHECK_MSG(st == SCHEDOPT_ESOLVER && strstr(err.msg, "TOO_MUCH_WORK"), "max_steps 5: %d %s",
            (int)st, err.msg);
  schedopt_schedule_free(s);
  schedopt_integrator_free(it);

  /* a bound lowered after a stored pass holds for the next gradient */
  it = mkit(&su, NO_BOUND);
  gradient(&su, it, &J, g);
  CHECK(ckpt_count(it) == 0);
  OK(schedopt_integrator_set_adjoint_memory(it, 0, &err));
  gradient(&su, it, &J, g);
  CHECK_MSG(ckpt_count(it) == 1, "after the bound fell to 0: %ld check-pointed", ckpt_count(it));
  schedopt_integrator_free(it);

  /* horizons merged with a smooth knot: J at the knot, as the objective */
  const double tt[5] = {0, 75, 150, 225, 300}, vv[5] = {0.5, 0.6, 0.4, 0.3, 0.05};
  schedopt_control *tb = ctl(schedopt_control_table);
  OK(schedopt_control_set_table(tb, 5, tt, vv, &err));
  setup s2 = {m, SCHEDOPT_CLOCK_STEPS, 300, 1, {tb, bt, NULL}, FINAL, RT};
  double h1[2] = {150 + 1e-13, 300}, w1[2] = {1, 1}, h2[3] = {100, 100 + 1e-11, 300},
         w2[3] = {0.5, 0.5, 1};
  s2.obj = HOR(2, h1, w1);
  attack("table/horizon 1e-13 after a knot", &s2, TOL, FDH);
  s2.obj = HOR(3, h2, w2);
  attack("table/two horizons 1e-11 apart", &s2, TOL, FDH);

  /* the Hessian does not read a pass solved at other tolerances */
  s2.obj = FINAL;
  it = mkit(&s2, NO_BOUND);
  OK(schedopt_integrator_set_tolerances(it, 1e-5, 1e-9, &err));
  gradient(&s2, it, &J, g);
  OK(schedopt_integrator_set_tolerances(it, 1e-10, 1e-14, &err));
  s = build(&s2);
  const size_t P = schedopt_control_nparams(tb);
  double *Hm = malloc(P * P * sizeof *Hm);
  const long before = steps_of(it);
  OK(schedopt_integrator_hessian_model(it, s, &s2.obj, Hm, &err));
  CHECK_MSG(steps_of(it) > before, "the Hessian at rtol 1e-10 read the pass solved at 1e-5");
  free(Hm);
  schedopt_schedule_free(s);
  schedopt_integrator_free(it);

  /* window ends within 1e-12 H of a knot, of 0 and of H keep their weight */
  it = mkit(&s2, NO_BOUND);
  const double cases[4][2] = {{1e-11, 300}, {0, 300 - 1e-11}, {150 + 1e-11, 300}, {75, 225 - 1e-11}};
  const double refs[4][2] = {{0, 300}, {0, 300}, {150, 300}, {75, 225}};
  for (int c = 0; c < 4; c++) {
    s2.obj = MEAN(cases[c][0], cases[c][1]);
    const double Jc = objective(&s2, it);
    s2.obj = MEAN(refs[c][0], refs[c][1]);
    const double Jr = objective(&s2, it);
    CHECK_MSG(fabs(Jc - Jr) <= 1e-9 * Jr, "mean [%.12g, %.12g]: %.12g against %.12g",
              cases[c][0], cases[c][1], Jc, Jr);
    s2.obj = MEAN(cases[c][0], cases[c][1]);
    gradient(&s2, it, &J, g);
    CHECK_CLOSE(J, Jr, 1e-9, 0);
  }
  schedopt_integrator_free(it);
  schedopt_control_free(tb);
  schedopt_control_free(ms);
}

int main(void) {
  schedopt_model *m = plrf(30, 0, SCHEDOPT_DYN_MATCHED, 1);
  schedopt_control *bt = ctl(schedopt_control_constant);
  set(bt, "value", 3);
  test_jumps(m, bt);
  test_close_knots(m, bt);
  test_objective_times(m, bt);
  test_short(m, bt);
  test_diverge(m, bt);
  test_bound(m, bt);
  test_fixed(m, bt);
  schedopt_control_free(bt);
  schedopt_model_free(m);
  test_models();
  test_hessian_reuse();
  return test_finish();
}
