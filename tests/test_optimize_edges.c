/* The optimizer's effective-rate variables on the edges of η's box
 * (src/optimize/optimize_nlopt.c, grad_u).  With free-form learning rate and
 * momentum on the same knots the optimizer's variables are u = η/(1 − μ)
 * and μ, and η = u(1 − μ) is clamped into [lo, hi].  On an edge the two
 * one-sided slopes of each variable differ; the gradient handed to NLopt
 * must be a descent direction, variable by variable and for the pair: a step
 * along −g must not raise the objective.  Checked against the objective
 * itself (the exact recursion, N = 30, 16 + 16 knots) at η = hi, at
 * η = hi(1 − 1e-13), at η = lo reached through lo/(1 − μ) (rounding), at
 * u = 0 and, with a bound hi of 1e12, at η = 0.9, inside, where the
 * derivative must pass (a tolerance scaled by hi took it for the lower
 * edge).  The file compiles optimize_nlopt.c into the test to reach its
 * objective (nl_objective) with unit scaling.
 *
 * Before the fix the chain rule passed ∂J/∂μ unchanged on both edges (84 of
 * the cases at lr ≤ 0.05 rose), and a first version passed any η-derivative
 * at η = hi (a step into the clamped region). */
#include "optimize/optimize_nlopt.c"

#include "testutil.h"

static schedopt_error err;
static run_ctx c;
static size_t n;
static double *zz;

/* log(J − J∞) and its gradient in the optimizer's variables (scaling 1) */
static double F(const double *u, double *g) {
  memcpy(zz, u, n * sizeof *u);
  return nl_objective((unsigned)n, zz, g, &c);
}

static schedopt_control *ctl(const schedopt_control_type *T, const char *k1, double v1) {
  schedopt_control *k = NULL;
  OK(schedopt_control_alloc(&k, T, &err));
  if (k1) OK(schedopt_control_set(k, k1, v1, &err));
  return k;
}

/* Knot j on an edge (mode) at momentum mu: 0 η = hi, 1 η = hi(1 − 1e-13),
 * 2 η = lo via lo/(1 − μ), 3 u = 0, 4 η = 0.9 (inside, far from both edges
 * of a box [0, 1e12], where J mostly rises with η). */
static double place(int mode, double lo, double hi, double mu) {
  switch (mode) {
    case 0: return hi / (1 - mu);
    case 1: return hi * (1 - 1e-13) / (1 - mu);
    case 2: return lo / (1 - mu);
    case 3: return 0;
    default: return 0.9 / (1 - mu);
  }
}

static void check_edges(double lo, double hi, double peak, int m0, int m1) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = 3.5, p.b = 2.5, p.N = 30, p.sigma2 = 0.25, p.momentum = 1, p.split = 0;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err));
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 300, 1, &err));
  schedopt_control *k[3] = {ctl(schedopt_control_wsd, "peak", peak),
                            ctl(schedopt_control_constant, "value", 4),
                            ctl(schedopt_control_constant, "value", 0.5)};
  OK(schedopt_control_set(k[0], "decay_frac", 0.2, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, k[0], &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, k[1], &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, k[2], &err));
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, s, &err));
  schedopt_channel_param pl, pm;
  schedopt_channel_param_default(&pl);
  pl.type = schedopt_parametrization_freeform, pl.knots = 16, pl.lo = lo, pl.hi = hi;
  pm = pl;
  pm.lo = 0, pm.hi = 0.9;
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &pl, &err));
  OK(schedopt_design_set_channel(d, SCHEDOPT_MOMENTUM, &pm, &err));
  n = schedopt_design_size(d);
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_recursion, m, &err));
  schedopt_objective obj = {0};
  obj.kind = SCHEDOPT_OBJ_FINAL;
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  double *x = malloc(n * sizeof *x), *u0 = malloc(n * sizeof *x), *u = malloc(n * sizeof *x),
         *g = malloc(n * sizeof *x), *up = malloc(n * sizeof *x);
  zz = malloc(n * sizeof *x);
  memset(&c, 0, sizeof c);
  c.d = d, c.it = it, c.obj = &obj, c.set = &set, c.err = &err;
  c.best_J = c.gain_ref = HUGE_VAL;
  c.eff = heavy_ball_pairs(d, &c.elr, &c.emu);
  c.best_x = malloc(n * sizeof *x), c.xs = malloc(n * sizeof *x), c.us = malloc(n * sizeof *x);
  c.sc = malloc(n * sizeof *x);
  CHECK(c.eff == 16);
  OK(schedopt_design_project(d, s, x, &err));
  for (size_t i = 0; i < n; i++) {
    x[i] = fmin(d->hi[i], fmax(d->lo[i], x[i]));
    c.sc[i] = 1;
  }
  to_u(&c, x, u0);
  static const double mus[] = {0, 0.2, 0.5, 0.7, 0.85};
  int tests = 0, rises = 0, passed = 0;
  for (int mode = m0; mode <= m1; mode++)
    for (int im = 0; im < 5; im++)
      for (size_t j = 0; j < 16; j++) {
        const size_t a = c.elr + j, b = c.emu + j;
        memcpy(u, u0, n * sizeof *u);
        u[b] = mus[im];
        u[a] = place(mode, lo, hi, mus[im]);
        const double f0 = F(u, g), ga = g[a], gb = g[b];
        if (mode == 4) passed += ga != 0 || j == 15; /* the knot at H moves nothing */
        for (int w = 0; w < 3; w++) { /* u alone, μ alone, the pair */
          double da = w != 1 ? -ga : 0, db = w != 0 ? -gb : 0;
          if ((db > 0 && u[b] >= pm.hi) || (db < 0 && u[b] <= pm.lo)) db = 0; /* the box in μ */
          if (da < 0 && u[a] <= 0) da = 0;                                  /* and u ≥ 0 */
          const double nrm = sqrt(da * da + db * db);
          if (nrm == 0) continue;
          int up_ = 0; /* F rises along −g at step t */
          for (double t = 1e-4; t >= 1e-8 * 0.99; t /= 10) {
            memcpy(up, u, n * sizeof *u);
            up[a] += t * da / nrm, up[b] += t * db / nrm;
            up_ += F(up, NULL) > f0;
          }
          tests++;
          if (up_ >= 3) {
            rises++;
            if (rises <= 5)
              printf("  rises: lo %g hi %g mode %d mu %.2f knot %zu (%s): g_u %.4e g_mu %.4e\n", lo,
                     hi, mode, mus[im], j, w == 0 ? "u" : w == 1 ? "mu" : "pair", ga, gb);
          }
        }
      }
  printf("lr in [%g, %g], modes %d..%d: %d of %d steps along -g rise\n", lo, hi, m0, m1, rises,
         tests);
  CHECK(tests >= 60);
  CHECK_MSG(rises == 0, "%d steps along -g raise the objective", rises);
  if (m1 == 4)
    CHECK_MSG(passed == 80, "%d of 80 knots inside the box kept their derivative", passed);
  free(x), free(u0), free(u), free(g), free(up), free(zz);
  free(c.best_x), free(c.xs), free(c.us), free(c.sc);
  schedopt_integrator_free(it);
  schedopt_design_free(d);
  for (int i = 0; i < 3; i++) schedopt_control_free(k[i]);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

int main(void) {
  check_edges(0, 0.05, 0.3, 0, 3);     /* most knots at the cap */
  check_edges(0.05, 1, 0.05, 0, 3);    /* lr floor > 0: the lower edge by rounding */
  check_edges(0.01, 0.2, 0.3, 0, 3);
  check_edges(0, 1e12, 0.3, 4, 4);     /* a huge cap must not widen the lower edge */
  return test_finish();
}
