/* Gradients: CVODES adjoint (the stored forward pass, with and without λ's
 * decoupled part, and the check-pointed CVodeF/CVodeB that a pass past the
 * memory bound takes) and the recursion's reverse sweep against central
 * finite differences of the objective, for every control family, all three
 * channels, the three objectives, momentum, the data clock, the fsl model
 * and learning rates that are 0 over stretches of the run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testgrad.h"
#include "testutil.h"

static schedopt_error err;
static int ckpt;  /* 1: force the check-pointed CVODES adjoint (adjoint memory 0) */
static int plain; /* 1: the stored-pass adjoint in λ itself (no decoupled part) */

typedef struct setup {
  const schedopt_model *m;
  const schedopt_integrator_type *T;
  schedopt_clock clock;
  double H, units;
  schedopt_control *ch[3]; /* NULL: default */
  schedopt_objective obj;
  double rtol, atol;
} setup;

static schedopt_schedule *build(const setup *su) {
  schedopt_schedule *s = NULL;
  if (schedopt_schedule_alloc(&s, su->clock, su->H, su->units, &err)) goto bad;
  for (int c = 0; c < 3; c++)
    if (su->ch[c] && schedopt_schedule_set(s, (schedopt_channel)c, su->ch[c], &err)) goto bad;
  return s;
bad:
  fprintf(stderr, "schedule: %s\n", err.msg);
  exit(1);
}

static double objective(const setup *su, schedopt_integrator *it) {
  schedopt_schedule *s = build(su);
  double J = NAN;
  if (schedopt_integrator_objective(it, s, &su->obj, &J, &err)) fprintf(stderr, "objective: %s\n", err.msg);
  schedopt_schedule_free(s);
  return J;
}

/* Compare the gradient with central differences (relative step h) for every
 * parameter.  A central difference of an objective computed to relative
 * accuracy ε carries an error up to ~ε|J|/d besides O(d²): components below
 * that noise floor are checked against it instead of relatively. */
static void check(const char *name, setup *su, double tol, double h) {
  schedopt_integrator *it = NULL;
  CHECK(schedopt_integrator_alloc(&it, su->T, su->m, &err) == SCHEDOPT_OK);
  CHECK(schedopt_integrator_set_tolerances(it, su->rtol, su->atol, &err) == SCHEDOPT_OK);
  if (ckpt) CHECK(schedopt_integrator_set_adjoint_memory(it, 0, &err) == SCHEDOPT_OK);
  CHECK(schedopt_integrator_set_decoupled(it, !plain, &err) == SCHEDOPT_OK);
  schedopt_schedule *s = build(su);
  double *g[3] = {NULL, NULL, NULL};
  size_t np[3];
  for (int c = 0; c < 3; c++) {
    np[c] = schedopt_control_nparams(schedopt_schedule_get(s, (schedopt_channel)c));
    g[c] = calloc(np[c] + 1, sizeof(double));
  }
  double J = NAN;
  schedopt_status st = schedopt_integrator_gradient(it, s, &su->obj, &J, g, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "%s: %s", name, err.msg);
  if (su->T == schedopt_integrator_cvodes) { /* which adjoint ran */
    schedopt_integrator_stats stats;
    schedopt_integrator_get_stats(it, &stats);
    CHECK_MSG(stats.ckpt_gradients == ckpt, "%s: %ld check-pointed gradients", name,
              stats.ckpt_gradients);
    /* SGD models (diagonal blocks) carry λ less its decoupled part, which
     * starts from λ(H) (0 for the mean loss) */
    const schedopt_model_type *mt = schedopt_model_get_type(su->m);
    const int dc = !ckpt && !plain && mt->block(schedopt_model_self(su->m)) == 1 &&
                   su->obj.kind != SCHEDOPT_OBJ_MEAN;
    CHECK_MSG(stats.decoupled_gradients == dc, "%s: %ld decoupled gradients, expected %d", name,
              stats.decoupled_gradients, dc);
  }
  double J0 = objective(su, it);
  CHECK_MSG(fabs(J - J0) <= 1e-6 * fabs(J0), "%s: J from the gradient pass %.12g vs %.12g", name, J, J0);
  /* the largest FD component sets the scale below which components are noise */
  double *fd[3], *noise[3];
  const double eps = su->T == schedopt_integrator_recursion ? 1e-14 : 10 * su->rtol;
  for (int c = 0; c < 3; c++) {
    fd[c] = calloc(np[c] + 1, sizeof(double));
    noise[c] = calloc(np[c] + 1, sizeof(double));
    if (!su->ch[c]) continue;
    for (size_t i = 0; i < np[c]; i++) {
      double *p = param_ptr(su->ch[c], i), p0 = *p, d = h * fmax(fabs(p0), 1e-2);
      if (su->ch[c]->type->params && i < su->ch[c]->type->nparams &&
          su->ch[c]->type->params[i].choices) continue; /* enum */
      if (p0 == 0.0) continue; /* parameters at their lower bound 0 (floor, warmup): one-sided */
      *p = p0 + d;
      double Jp = objective(su, it);
      *p = p0 - d;
      double Jm = objective(su, it);
      *p = p0;
      fd[c][i] = (Jp - Jm) / (2 * d);
      noise[c][i] = eps * fabs(J0) / d;
    }
  }
  int shown = 0;
  for (int c = 0; c < 3; c++) {
    if (!su->ch[c]) continue;
    for (size_t i = 0; i < np[c]; i++) {
      if (fd[c][i] == 0.0) continue;
      int ok = fabs(g[c][i] - fd[c][i]) <= tol * fabs(fd[c][i]) + noise[c][i];
      test_checks++;
      if (!ok) {
        test_failures++;
        fprintf(stderr, "%s: channel %d param %zu: gradient %.10g, finite difference %.10g (noise %.2g)\n",
                name, c, i, g[c][i], fd[c][i], noise[c][i]);
      } else if (shown < 3) {
        printf("%s: ch%d p%zu  grad %.8g  fd %.8g\n", name, c, i, g[c][i], fd[c][i]);
        shown++;
      }
    }
  }
  for (int c = 0; c < 3; c++) {
    free(fd[c]);
    free(noise[c]);
    free(g[c]);
  }
  schedopt_schedule_free(s);
  schedopt_integrator_free(it);
}

/* dJ/dfloor of a WSD with a linear anneal, hard phase (N = 1000, b = 5) at T = 10^8.
 * Inside (floor 0.01) the adjoint at rtol 1e-6 matches a central difference at rtol
 * 1e-11.  At the bound floor = 0, J(floor) has a layer of width ~1/(λ₁ d H) where the
 * annealed rate meets 1/(λ₁ · time left): the derivative there is the adjoint's limit
 * (rtol 1e-10 and 1e-11 agree), which rtol 1e-6 does not resolve (printed, for
 * docs/performance.md). */
static double wsd_floor_grad(double floor_, double rtol, double *J, int decoupled, long *bsteps) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 3.5, p.b = 5, p.N = 1000, p.sigma2 = 0.25, p.split = 0;
  schedopt_model *m = NULL;
  CHECK(schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err) == SCHEDOPT_OK);
  schedopt_control *lr = ctl(schedopt_control_wsd), *bt = ctl(schedopt_control_constant);
  set(lr, "peak", 1.0);
  set(lr, "decay_frac", 0.2);
  set(lr, "floor", floor_);
  set(bt, "value", 5);
  setup su = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_STEPS, 1e8, 1, {lr, bt, NULL},
              {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, rtol, rtol * 1e-4};
  schedopt_integrator *it = NULL;
  CHECK(schedopt_integrator_alloc(&it, su.T, m, &err) == SCHEDOPT_OK);
  CHECK(schedopt_integrator_set_tolerances(it, su.rtol, su.atol, &err) == SCHEDOPT_OK);
  CHECK(schedopt_integrator_set_decoupled(it, decoupled, &err) == SCHEDOPT_OK);
  schedopt_schedule *s = build(&su);
  double g0[8] = {0}, g1[8], g2[8], *g[3] = {g0, g1, g2};
  CHECK(schedopt_integrator_gradient(it, s, &su.obj, J, g, &err) == SCHEDOPT_OK);
  schedopt_integrator_stats st;
  schedopt_integrator_get_stats(it, &st);
  if (bsteps) *bsteps = st.adjoint_steps;
  schedopt_schedule_free(s);
  schedopt_integrator_free(it);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  schedopt_model_free(m);
  return g0[1]; /* peak, floor, decay_frac, … */
}

static void wsd_floor_layer(void) {
  double J, Jp, Jm, d = 1e-4;
  long sd, sp; /* backward steps with and without the decoupled part */
  const double g = wsd_floor_grad(0.01, 1e-6, &J, 1, &sd), gp = wsd_floor_grad(0.01, 1e-6, &J, 0, &sp);
  wsd_floor_grad(0.01 + d, 1e-11, &Jp, 1, NULL);
  wsd_floor_grad(0.01 - d, 1e-11, &Jm, 1, NULL);
  const double fd = (Jp - Jm) / (2 * d);
  printf("WSD T = 1e8, floor 0.01: dJ/dfloor %.6e (rtol 1e-6; %ld backward steps), λ itself "
         "%.6e (%ld steps), central difference %.6e\n", g, sd, gp, sp, fd);
  CHECK_MSG(fabs(g - fd) <= 1e-3 * fabs(fd), "dJ/dfloor %.6e vs %.6e", g, fd);
  CHECK_MSG(fabs(gp - fd) <= 1e-3 * fabs(fd), "dJ/dfloor, λ itself: %.6e vs %.6e", gp, fd);
  /* the anneal's Gaussians are what the pass in λ resolves step by step */
  CHECK_MSG(10 * sd < 6 * sp, "backward steps: %ld with the decoupled part, %ld without", sd, sp);
  const double g6 = wsd_floor_grad(0.0, 1e-6, &J, 1, NULL), g10 = wsd_floor_grad(0.0, 1e-10, &J, 1, NULL),
               g11 = wsd_floor_grad(0.0, 1e-11, &J, 1, NULL);
  printf("WSD T = 1e8, floor 0: dJ/dfloor %.4e (rtol 1e-6), %.4e (1e-10), %.4e (1e-11)\n", g6,
         g10, g11);
  CHECK_MSG(fabs(g10 - g11) <= 0.02 * fabs(g11), "floor 0: %.4e vs %.4e", g10, g11);
}

/* A table whose learning rate is 0 over stretches (where the optimizer puts
 * knots at their bound): λ does not move there, and a backward step that
 * starts in such a stretch sees λ' = 0 at both ends however far it reaches.
 * Before the pass stopped at the knots of such stretches it crossed the ramp
 * between two of them in one step, and the gradient was off by 170-4000×
 * its largest component (H = 3e3 … 1e5).  Knots 0-20 against central (or,
 * at 0, one-sided second-order) differences; the last stretch's knots are
 * left out (J is strongly curved there: differences need steps below 1e-7). */
static double zl_run(schedopt_integrator *it, double H, const double *t, const double *v, size_t K,
                     double rtol, double *g) {
  schedopt_control *lr = ctl(schedopt_control_table), *bt = ctl(schedopt_control_constant);
  CHECK(schedopt_control_set_table(lr, K, t, v, &err) == SCHEDOPT_OK);
  set(bt, "value", 5);
  setup su = {NULL, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_STEPS, H, 1, {lr, bt, NULL},
              {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, rtol, rtol * 1e-4};
  schedopt_schedule *s = build(&su);
  CHECK(schedopt_integrator_set_tolerances(it, rtol, rtol * 1e-4, &err) == SCHEDOPT_OK);
  double J = NAN, b1[4], b2[4], *gg[3] = {g, b1, b2};
  schedopt_status st = g ? schedopt_integrator_gradient(it, s, &su.obj, &J, gg, &err)
                         : schedopt_integrator_objective(it, s, &su.obj, &J, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "zero stretches: %s", err.msg);
  schedopt_schedule_free(s);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  return J;
}

static void zero_lr_stretches(void) {
  enum { K = 24 };
  const double H = 3000;
  double t[K], v[K];
  for (int i = 0; i < K; i++) {
    t[i] = H * i / (K - 1);
    const double z = t[i] / H;
    v[i] = z < 0.6 ? 1.0 : z < 0.75 ? 0.0 : z < 0.9 ? 0.05 * (0.9 - z) / 0.15 : 0.0;
  }
  schedopt_model *m = plrf(40, 0, SCHEDOPT_DYN_MATCHED, 0);
  schedopt_integrator *it = NULL;
  CHECK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err) == SCHEDOPT_OK);
  schedopt_control *probe = ctl(schedopt_control_table);
  CHECK(schedopt_control_set_table(probe, K, t, v, &err) == SCHEDOPT_OK);
  const size_t off = schedopt_control_nparams(probe) - K; /* the values come last */
  schedopt_control_free(probe);
  double fd[K], mx = 0;
  for (int i = 0; i <= 20; i++) {
    const double d = 1e-5, v0 = v[i];
    if (v0 > d) {
      v[i] = v0 + d;
      const double Jp = zl_run(it, H, t, v, K, 1e-11, NULL);
      v[i] = v0 - d;
      fd[i] = (Jp - zl_run(it, H, t, v, K, 1e-11, NULL)) / (2 * d);
    } else {
      const double J0 = zl_run(it, H, t, v, K, 1e-11, NULL);
      v[i] = v0 + d;
      const double J1 = zl_run(it, H, t, v, K, 1e-11, NULL);
      v[i] = v0 + 2 * d;
      fd[i] = (-3 * J0 + 4 * J1 - zl_run(it, H, t, v, K, 1e-11, NULL)) / (2 * d);
    }
    v[i] = v0;
    mx = fmax(mx, fabs(fd[i]));
  }
  for (int dc = 0; dc < 2; dc++) {
    double g[K + 8] = {0}, worst = 0;
    CHECK(schedopt_integrator_set_decoupled(it, dc, &err) == SCHEDOPT_OK);
    zl_run(it, H, t, v, K, 1e-6, g);
    for (int i = 0; i <= 20; i++) worst = fmax(worst, fabs(g[off + i] - fd[i]));
    printf("zero stretches (%s): max |gradient - difference| = %.3g of the largest component\n",
           dc ? "decoupled part" : "λ itself", worst / mx);
    CHECK_MSG(worst <= 2e-3 * mx, "zero stretches: gradient off by %.3g of its largest component",
              worst / mx);
  }
  schedopt_integrator_free(it);
  schedopt_model_free(m);
}

/* The decoupled part where it is hardest to get right:
 *  - a rate with an infinite slope at a knot (polynomial with delta < 1; WSD's
 *    sqrt shape too, whose decay_frac component the 2-point quadrature of
 *    any pass misses by 2e-4 at its singular end): one Gauss–Legendre rule
 *    per piece left h off by ~1e-4, and the gradient with it (3.4e-4 of it
 *    here), at any rtol;
 *  - a batch ramp 1.2 → 64 under the data clock: 1/B has a pole just beyond
 *    the piece, which a linear ramp's piece was taken to be free of (1e-2);
 *  - a rate that does not anneal, at rtol 1e-10 and H = 1e7: r(H) = 0 gave
 *    CVODES a first step below the clock's resolution (the pass stalled);
 *  - a constant small rate at rtol 1e-10: 2-point Gauss–Legendre on steps
 *    chosen for r missed h's variation (4.7e-7 of the largest component
 *    against 1.2e-9 in λ itself). */
static void decoupled_edges(void) {
  schedopt_model *m = plrf(40, 0, SCHEDOPT_DYN_MATCHED, 0);
  {
    schedopt_control *lr = ctl(schedopt_control_polynomial), *bt = ctl(schedopt_control_constant);
    set(lr, "peak", 0.8);
    set(lr, "floor", 0.008);
    set(lr, "delta", 0.5);
    set(bt, "value", 3);
    setup su = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_STEPS, 2000, 1, {lr, bt, NULL},
                {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, 1e-11, 1e-15};
    check("cvodes polynomial delta 0.5", &su, 2e-5, 1e-4);
    schedopt_control_free(lr);
    schedopt_control_free(bt);
  }
  {
    schedopt_control *lr = ctl(schedopt_control_constant), *bt = ctl(schedopt_control_linear);
    set(lr, "value", 0.5);
    set(bt, "start", 1.2);
    set(bt, "end", 64);
    setup su = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_DATA, 20000, 1, {lr, bt, NULL},
                {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, 1e-11, 1e-15};
    check("cvodes data clock, batch 1.2 -> 64", &su, 1e-5, 1e-4);
    schedopt_control_free(lr);
    schedopt_control_free(bt);
  }
  const double Hs[2] = {1e7, 1e4}, rates[2] = {0.3, 0.01};
  for (int v = 0; v < 2; v++) {
    schedopt_control *lr = ctl(schedopt_control_constant), *bt = ctl(schedopt_control_constant);
    set(lr, "value", rates[v]);
    set(bt, "value", 2);
    setup su = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_STEPS, Hs[v], 1, {lr, bt, NULL},
                {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, 1e-10, 1e-14};
    schedopt_schedule *s = build(&su);
    /* the value, warmup and warmup_init of each channel's constant */
    const size_t np = schedopt_control_nparams(lr);
    double g[2][2][8] = {{{0}}}, J;
    CHECK(np <= 8 && schedopt_control_nparams(bt) <= 8);
    for (int dc = 0; dc < 2; dc++) {
      schedopt_integrator *it = NULL;
      CHECK(schedopt_integrator_alloc(&it, su.T, m, &err) == SCHEDOPT_OK);
      CHECK(schedopt_integrator_set_tolerances(it, su.rtol, su.atol, &err) == SCHEDOPT_OK);
      CHECK(schedopt_integrator_set_decoupled(it, dc, &err) == SCHEDOPT_OK);
      double *gg[3] = {g[dc][0], g[dc][1], NULL};
      const schedopt_status st = schedopt_integrator_gradient(it, s, &su.obj, &J, gg, &err);
      CHECK_MSG(st == SCHEDOPT_OK, "constant rate %g, H = %g: %s", rates[v], Hs[v], err.msg);
      schedopt_integrator_free(it);
    }
    double big = 0.0, d = 0.0;
    for (int c = 0; c < 2; c++)
      for (size_t i = 0; i < np; i++) {
        big = fmax(big, fabs(g[0][c][i]));
        d = fmax(d, fabs(g[1][c][i] - g[0][c][i]));
      }
    d /= big;
    printf("constant rate %g, H = %g, rtol 1e-10: decoupled part − λ itself = %.2g of the largest "
           "component\n", rates[v], Hs[v], d);
    CHECK_MSG(d <= 5e-8, "constant rate %g: %.2g", rates[v], d);
    schedopt_schedule_free(s);
    schedopt_control_free(lr);
    schedopt_control_free(bt);
  }
  schedopt_model_free(m);
}

int main(void) {
  zero_lr_stretches();
  decoupled_edges();
  wsd_floor_layer();
  const schedopt_integrator_type *Ts[3] = {schedopt_integrator_recursion, schedopt_integrator_cvodes,
                                           schedopt_integrator_cvodes};
  const double tols[3] = {1e-5, 1e-4, 1e-4};
  const double rt[3] = {1e-10, 1e-11, 1e-11}, hs[3] = {1e-5, 1e-4, 1e-4};
  const char *tn[3] = {"recursion", "cvodes", "cvodes-ckpt"};
  for (int b = 0; b < 3; b++) {
    char name[128];
    ckpt = b == 2;
    /* SGD, WSD with a power decay and warmup; batch constant; final loss */
    schedopt_model *m = plrf(40, 0, SCHEDOPT_DYN_MATCHED, 1);
    schedopt_control *lr = ctl(schedopt_control_wsd), *bt = ctl(schedopt_control_constant);
    set(lr, "peak", 0.7);
    set(lr, "floor", 0.02);
    set(lr, "decay_frac", 0.2987); /* kinks between steps: FD needs a differentiable point */
    schedopt_control_set_choice(lr, "shape", "power", &err);
    set(lr, "delta", 1.5);
    set(lr, "warmup", 20.5);
    set(lr, "warmup_init", 0.1);
    set(bt, "value", 3);
    setup su = {m, Ts[b], SCHEDOPT_CLOCK_STEPS, 300, 1, {lr, bt, NULL}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, rt[b], rt[b] * 1e-4};
    /* same with the mean loss over a window and with horizons; the stored
     * pass also in λ itself */
    double h[] = {120, 250, 300}, w[] = {0.5, 0.25, 1.0};
    const schedopt_objective objs[3] = {{SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL},
                                        {SCHEDOPT_OBJ_MEAN, 100, 300, 0, NULL, NULL},
                                        {SCHEDOPT_OBJ_HORIZONS, 0, 0, 3, h, w}};
    const char *on[3] = {"final", "mean", "horizons"};
    for (int o = 0; o < 3; o++)
      for (plain = 0; plain <= (b == 1); plain++) {
        su.obj = objs[o];
        snprintf(name, sizeof name, "%s wsd/%s%s", tn[b], on[o], plain ? ", λ itself" : "");
        check(name, &su, tols[b], hs[b]);
      }
    plain = 0;
    schedopt_control_free(lr);
    schedopt_control_free(bt);

    /* other families on lr, a batch ramp */
    const schedopt_control_type *fam[] = {schedopt_control_cosine, schedopt_control_linear,
                                          schedopt_control_exponential, schedopt_control_power,
                                          schedopt_control_polynomial, schedopt_control_811};
    for (size_t f = 0; f < sizeof fam / sizeof *fam; f++) {
      schedopt_control *c = ctl(fam[f]), *ramp = ctl(schedopt_control_linear);
      if (fam[f] == schedopt_control_linear || fam[f] == schedopt_control_exponential) {
        set(c, "start", 0.6);
        set(c, "end", 0.05);
      } else {
        set(c, "peak", 0.6);
      }
      if (fam[f] == schedopt_control_power) set(c, "t0", 10);
      if (fam[f] == schedopt_control_polynomial) set(c, "delta", 1.7);
      set(ramp, "start", 2);
      set(ramp, "end", 8);
      setup s2 = {m, Ts[b], SCHEDOPT_CLOCK_STEPS, 300, 1, {c, ramp, NULL}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, rt[b], rt[b] * 1e-4};
      snprintf(name, sizeof name, "%s %s + batch ramp", tn[b], fam[f]->name);
      check(name, &s2, tols[b], hs[b]);
      schedopt_control_free(c);
      schedopt_control_free(ramp);
    }
    /* free-form table (the optimizer's knots) */
    double tt[9], vv[9];
    for (int i = 0; i < 9; i++) {
      tt[i] = 300.0 * i / 8;
      vv[i] = 0.6 * (1 - 0.1 * i);
    }
    schedopt_control *tab = ctl(schedopt_control_table);
    schedopt_control_set_table(tab, 9, tt, vv, &err);
    setup s3 = {m, Ts[b], SCHEDOPT_CLOCK_STEPS, 300, 1, {tab, NULL, NULL}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, rt[b], rt[b] * 1e-4};
    for (plain = 0; plain <= (b == 1); plain++) {
      snprintf(name, sizeof name, "%s table%s", tn[b], plain ? ", λ itself" : "");
      check(name, &s3, tols[b], hs[b]);
    }
    plain = 0;
    schedopt_control_free(tab);
    schedopt_model_free(m);

    /* heavy-ball momentum: lr cosine, momentum linear, batch constant */
    m = plrf(30, 1, SCHEDOPT_DYN_MATCHED, 1);
    lr = ctl(schedopt_control_cosine);
    set(lr, "peak", 0.3);
    set(lr, "floor", 0.01);
    schedopt_control *mu = ctl(schedopt_control_linear);
    set(mu, "start", 0.5);
    set(mu, "end", 0.85);
    bt = ctl(schedopt_control_constant);
    set(bt, "value", 4);
    setup s4 = {m, Ts[b], SCHEDOPT_CLOCK_STEPS, 250, 1, {lr, bt, mu}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, rt[b], rt[b] * 1e-4};
    snprintf(name, sizeof name, "%s momentum", tn[b]);
    check(name, &s4, tols[b], hs[b]);
    schedopt_control_free(lr);
    schedopt_control_free(mu);
    schedopt_control_free(bt);
    schedopt_model_free(m);
  }

  /* cvodes only: sde dynamics, the data clock with a batch ramp, fsl */
  {
    schedopt_model *m = plrf(60, 0, SCHEDOPT_DYN_SDE, 0);
    schedopt_control *lr = ctl(schedopt_control_cosine), *bt = ctl(schedopt_control_exponential);
    set(lr, "peak", 0.5);
    set(lr, "warmup", 2000);
    set(bt, "start", 4);
    set(bt, "end", 32);
    setup su = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_DATA, 40000, 2, {lr, bt, NULL}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, 1e-11, 1e-15};
    check("cvodes sde data clock", &su, 1e-4, 1e-4);
    schedopt_control_free(lr);
    schedopt_control_free(bt);
    schedopt_model_free(m);

    /* the data clock with heavy-ball momentum and the bias/variance copies:
     * the batch derivative of the clock factor needs λᵀ f of the 3×3 blocks */
    m = plrf(30, 1, SCHEDOPT_DYN_MATCHED, 1);
    lr = ctl(schedopt_control_cosine);
    set(lr, "peak", 0.2);
    set(lr, "floor", 0.01);
    bt = ctl(schedopt_control_exponential);
    set(bt, "start", 3);
    set(bt, "end", 12);
    schedopt_control *mu = ctl(schedopt_control_linear);
    set(mu, "start", 0.6);
    set(mu, "end", 0.8);
    for (int k = 0; k < 2; k++) {
      ckpt = k; /* both adjoints */
      setup s3 = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_DATA, 1500, 1, {lr, bt, mu}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, 1e-11, 1e-15};
      check(k ? "cvodes-ckpt momentum data clock" : "cvodes momentum data clock", &s3, 1e-4, 1e-4);
    }
    ckpt = 0;
    schedopt_control_free(lr);
    schedopt_control_free(bt);
    schedopt_control_free(mu);
    schedopt_model_free(m);

    /* overdamped momentum modes reduced to one state (momentum_modes): the
     * derivatives of their coefficients c1, c2 in η, μ and B, under both
     * clocks and both ODE forms, bias/variance copies, both adjoints */
    for (int v = 0; v < 4; v++) {
      const int split = v & 1;
      /* K = 3 → 4 triples (N − K a multiple of 3), 27 single states */
      m = plrf_k(31, 1, v & 2 ? SCHEDOPT_DYN_SDE : SCHEDOPT_DYN_MATCHED, split, 3);
      CHECK(schedopt_model_size(m) == (size_t)(3 * 4 + 27) * (split ? 2 : 1));
      lr = ctl(schedopt_control_cosine);
      set(lr, "peak", 0.25);
      set(lr, "floor", 0.01);
      bt = ctl(v & 2 ? schedopt_control_exponential : schedopt_control_constant);
      if (v & 2) {
        set(bt, "start", 3);
        set(bt, "end", 12);
      } else {
        set(bt, "value", 4);
      }
      mu = ctl(schedopt_control_linear);
      set(mu, "start", 0.5);
      set(mu, "end", 0.9);
      for (int k = 0; k < 2; k++) {
        char name[128];
        ckpt = k;
        setup s5 = {m, schedopt_integrator_cvodes, v & 2 ? SCHEDOPT_CLOCK_DATA : SCHEDOPT_CLOCK_STEPS,
                    v & 2 ? 1200 : 300, 1, {lr, bt, mu}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL},
                    1e-11, 1e-15};
        snprintf(name, sizeof name, "%s reduced momentum, %s%s", k ? "cvodes-ckpt" : "cvodes",
                 v & 2 ? "sde, data clock" : "matched", split ? ", split" : "");
        check(name, &s5, 1e-4, 1e-4);
      }
      ckpt = 0;
      /* the recursion needs every triple */
      schedopt_integrator *ri = NULL;
      CHECK(schedopt_integrator_alloc(&ri, schedopt_integrator_recursion, m, &err) == SCHEDOPT_EINVAL);
      CHECK(test_err_has(&err, "overdamped momentum modes", "momentum_modes"));
      schedopt_control_free(lr);
      schedopt_control_free(bt);
      schedopt_control_free(mu);
      schedopt_model_free(m);
    }

    schedopt_fsl_params fp;
    schedopt_fsl_params_default(&fp);
    fp.a = 2.2;
    fp.b = 1.6;
    fp.M = 50;
    fp.sigma2 = 0.1;
    CHECK(schedopt_model_alloc(&m, schedopt_model_fsl, &fp, &err) == SCHEDOPT_OK);
    lr = ctl(schedopt_control_wsd);
    set(lr, "peak", 0.8);
    set(lr, "decay_frac", 0.25);
    schedopt_control_set_choice(lr, "shape", "cosine", &err);
    bt = ctl(schedopt_control_constant);
    set(bt, "value", 2);
    setup s2 = {m, schedopt_integrator_cvodes, SCHEDOPT_CLOCK_STEPS, 2000, 1, {lr, bt, NULL}, {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL}, 1e-11, 1e-15};
    check("cvodes fsl", &s2, 1e-4, 1e-4);
    plain = 1;
    check("cvodes fsl, λ itself", &s2, 1e-4, 1e-4);
    plain = 0;
    schedopt_control_free(lr);
    schedopt_control_free(bt);
    schedopt_model_free(m);
  }
  return test_finish();
}
