/* Engine tests: recursion and ODE against closed forms, the ODE against the
 * recursion (matched and sde), FSL against direct quadrature, data clock,
 * knots, divergence. */
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static schedopt_error err;
/* 1: tight tolerances (closed-form checks); 0: the integrator's defaults,
 * which must meet the accuracy targets on their own. */
static int tight = 1;

static schedopt_control *ctl(const schedopt_control_type *T, const char *k1, double v1,
                             const char *k2, double v2, const char *k3, double v3) {
  schedopt_control *c = NULL;
  if (schedopt_control_alloc(&c, T, &err)) goto bad;
  if (k1 && schedopt_control_set(c, k1, v1, &err)) goto bad;
  if (k2 && schedopt_control_set(c, k2, v2, &err)) goto bad;
  if (k3 && schedopt_control_set(c, k3, v3, &err)) goto bad;
  return c;
bad:
  fprintf(stderr, "control: %s\n", err.msg);
  exit(1);
}

static schedopt_schedule *sched(schedopt_clock clk, double H, double units, schedopt_control *lr,
                                double batch, double mom) {
  schedopt_schedule *s = NULL;
  if (schedopt_schedule_alloc(&s, clk, H, units, &err)) goto bad;
  if (schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err)) goto bad;
  schedopt_control *b = ctl(schedopt_control_constant, "value", batch, NULL, 0, NULL, 0);
  if (schedopt_schedule_set(s, SCHEDOPT_BATCH, b, &err)) goto bad;
  schedopt_control_free(b);
  if (mom >= 0) {
    schedopt_control *m = ctl(schedopt_control_constant, "value", mom, NULL, 0, NULL, 0);
    if (schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, m, &err)) goto bad;
    schedopt_control_free(m);
  }
  schedopt_control_free(lr);
  return s;
bad:
  fprintf(stderr, "schedule: %s\n", err.msg);
  exit(1);
}

static schedopt_model *plrf(double a, double b, long N, double sigma2, double tail, int mom,
                            schedopt_dynamics dyn) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = a;
  p.b = b;
  p.N = N;
  p.sigma2 = sigma2;
  p.tail = tail;
  p.momentum = mom;
  p.dynamics = dyn;
  schedopt_model *m = NULL;
  if (schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err)) {
    fprintf(stderr, "model: %s\n", err.msg);
    exit(1);
  }
  return m;
}

/* Run model m under s with integrator T at times; returns rows (malloc'ed). */
static schedopt_row *run(const schedopt_integrator_type *T, const schedopt_model *m,
                         const schedopt_schedule *s, const double *t, size_t n,
                         schedopt_status *st_out) {
  schedopt_integrator *it = NULL;
  schedopt_row *rows = calloc(n, sizeof *rows);
  schedopt_status st = schedopt_integrator_alloc(&it, T, m, &err);
  if (!st && tight) st = schedopt_integrator_set_tolerances(it, 1e-8, 1e-12, &err);
  if (!st) st = schedopt_integrator_run(it, s, t, n, rows, &err);
  if (st_out)
    *st_out = st;
  else if (st)
    fprintf(stderr, "run: %s\n", err.msg);
  schedopt_integrator_free(it);
  return rows;
}

static double *logtimes(double t0, double H, size_t n) {
  double *t = malloc(n * sizeof *t);
  for (size_t i = 0; i < n; i++) t[i] = floor(t0 * pow(H / t0, (double)i / (double)(n - 1)) + 0.5);
  t[n - 1] = H;
  return t;
}

/* One mode, σ² = tail = 0: a_k = ((1 − ηλ)² + 2η²λ²/B)^k a_0 exactly; the
 * matched ODE gives a_0 exp(((1 − ηλ)² + 2η²λ²/B − 1) t). */
static void test_one_mode(void) {
  const double eta = 0.7, B = 3, H = 60;
  schedopt_model *m = plrf(2.0, 2.0, 1, 0.0, 0.0, 0, SCHEDOPT_DYN_MATCHED);
  schedopt_schedule *s =
      sched(SCHEDOPT_CLOCK_STEPS, H, 1, ctl(schedopt_control_constant, "value", eta, NULL, 0, NULL, 0), B, -1);
  double t[] = {0, 1, 2, 10, 30, 60};
  schedopt_row *r = run(schedopt_integrator_recursion, m, s, t, 6, NULL);
  schedopt_row *o = run(schedopt_integrator_cvodes, m, s, t, 6, NULL);
  double rho = (1 - eta) * (1 - eta) + 2 * eta * eta / B;
  for (int i = 0; i < 6; i++) {
    CHECK_CLOSE(r[i].r.excess, pow(rho, t[i]), 1e-12, 0);
    CHECK_CLOSE(o[i].r.excess, exp((rho - 1) * t[i]), 2e-6, 1e-11);
    CHECK_CLOSE(r[i].step, t[i], 0, 0);
    CHECK_CLOSE(o[i].samples, B * t[i], 1e-8, 1e-9);
  }
  free(r);
  free(o);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

/* Constant-LR steady state: a_k = u_k Q / (−D_k), Q = R / (1 − S), S = Σ u_k / (−D_k). */
static void test_steady_state(void) {
  const double a = 2.5, b = 1.5, eta = 0.8, B = 4, sigma2 = 0.3;
  const long N = 20;
  schedopt_model *m = plrf(a, b, N, sigma2, NAN, 0, SCHEDOPT_DYN_MATCHED);
  double tail = schedopt_powerlaw_tail(N, a), R = tail + sigma2, S = 0;
  for (long k = 1; k <= N; k++) {
    double el = eta * pow((double)k, -b);
    double D = (1 - el) * (1 - el) - 1 + el * el / B, u = el * el / B;
    S += u / -D;
  }
  double Estar = R * S / (1 - S);
  schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, 2e5, 1,
                               ctl(schedopt_control_constant, "value", eta, NULL, 0, NULL, 0), B, -1);
  double t[] = {2e5};
  schedopt_row *r = run(schedopt_integrator_recursion, m, s, t, 1, NULL);
  schedopt_row *o = run(schedopt_integrator_cvodes, m, s, t, 1, NULL);
  CHECK_CLOSE(r[0].r.excess - tail, Estar, 1e-9, 0);
  CHECK_CLOSE(o[0].r.excess - tail, Estar, 1e-6, 0);
  CHECK_CLOSE(o[0].r.bias, 0.0, 0, 1e-9 * Estar); /* the initial error is forgotten */
  CHECK_CLOSE(o[0].r.variance, Estar, 1e-6, 0);
  /* the tail sum itself: Σ_{k>20} k^-2.5 against a long direct sum + integral tail */
  double direct = 0;
  for (long k = 21; k <= 2000000; k++) direct += pow((double)k, -a);
  direct += pow(2000000.5, 1 - a) / (a - 1);
  CHECK_CLOSE(tail, direct, 1e-10, 0);
  free(r);
  free(o);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

/* max over t ≥ 50 of |excess_ode/excess_rec − 1| */
static double ode_vs_rec(const schedopt_model *mo, const schedopt_model *mr,
                         const schedopt_schedule *s, double H, int print) {
  size_t n = 120;
  double *t = logtimes(50, H, n);
  schedopt_row *r = run(schedopt_integrator_recursion, mr, s, t, n, NULL);
  schedopt_row *o = run(schedopt_integrator_cvodes, mo, s, t, n, NULL);
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs(o[i].r.excess / r[i].r.excess - 1);
    if (d > worst) worst = d;
    if (print && (i % 20 == 0 || i == n - 1))
      printf("  t=%8.0f  rec %.6e  ode %.6e  rel %.2e\n", t[i], r[i].r.excess, o[i].r.excess, d);
  }
  free(t);
  free(r);
  free(o);
  return worst;
}

static void test_matched_vs_recursion(void) {
  const double bs[] = {2.0, 5.0};
  tight = 0;
  for (int ph = 0; ph < 2; ph++) {
    for (int mom = 0; mom < 2; mom++) {
      schedopt_model *m = plrf(3.5, bs[ph], 1000, 0.25, NAN, mom, SCHEDOPT_DYN_MATCHED);
      const double H = 5000;
      /* constant η = 1 (ηλ₁ = 1), then WSD with peak 1 and a cosine anneal */
      schedopt_schedule *s1 = sched(SCHEDOPT_CLOCK_STEPS, H, 1,
                                    ctl(schedopt_control_constant, "value", mom ? 0.3 : 1.0, NULL, 0, NULL, 0),
                                    5, mom ? 0.6 : -1);
      schedopt_control *w = ctl(schedopt_control_wsd, "peak", mom ? 0.3 : 1.0, "decay_frac", 0.3, "warmup", 100);
      schedopt_control_set_choice(w, "shape", "cosine", &err);
      schedopt_schedule *s2 = sched(SCHEDOPT_CLOCK_STEPS, H, 1, w, 5, mom ? 0.6 : -1);
      printf("b=%g momentum=%d constant:\n", bs[ph], mom);
      double d1 = ode_vs_rec(m, m, s1, H, 1);
      printf("b=%g momentum=%d wsd:\n", bs[ph], mom);
      double d2 = ode_vs_rec(m, m, s2, H, 1);
      CHECK_MSG(d1 <= 0.01, "b=%g mom=%d constant: max rel diff %.3g", bs[ph], mom, d1);
      CHECK_MSG(d2 <= 0.01, "b=%g mom=%d wsd: max rel diff %.3g", bs[ph], mom, d2);
      schedopt_schedule_free(s1);
      schedopt_schedule_free(s2);
      schedopt_model_free(m);
    }
  }
  tight = 1;
}

/* sde → recursion as η → 0 at fixed intrinsic time ηT. */
static void test_sde_limit(void) {
  double prev = INFINITY;
  schedopt_model *ms = plrf(3.5, 2.0, 200, 0.25, NAN, 0, SCHEDOPT_DYN_SDE);
  schedopt_model *mr = plrf(3.5, 2.0, 200, 0.25, NAN, 0, SCHEDOPT_DYN_MATCHED);
  for (double eta = 0.4; eta > 0.02; eta /= 4) {
    double H = floor(400 / eta);
    schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, 1,
                                 ctl(schedopt_control_constant, "value", eta, NULL, 0, NULL, 0), 5, -1);
    size_t n = 40;
    double *t = logtimes(H / 100, H, n);
    schedopt_row *r = run(schedopt_integrator_recursion, mr, s, t, n, NULL);
    schedopt_row *o = run(schedopt_integrator_cvodes, ms, s, t, n, NULL);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(o[i].r.excess / r[i].r.excess - 1));
    printf("sde vs recursion, eta=%g: max rel diff %.3e\n", eta, worst);
    CHECK_MSG(worst < prev / 2.5, "sde error did not shrink with eta: %g after %g", worst, prev);
    prev = worst;
    free(t);
    free(r);
    free(o);
    schedopt_schedule_free(s);
  }
  CHECK(prev < 0.01);
  schedopt_model_free(ms);
  schedopt_model_free(mr);
}

/* FSL ODE vs direct quadrature of the FSL integral (spectral form). */
static void test_fsl_quadrature(void) {
  const long M = 40;
  const double a = 2.2, b = 1.6, sigma2 = 0.1, B = 2, H = 3000, peak = 0.6, floor_ = 0.01;
  schedopt_fsl_params p;
  schedopt_fsl_params_default(&p);
  p.a = a;
  p.b = b;
  p.M = M;
  p.sigma2 = sigma2;
  p.c_approx = 0.5;
  p.c_signal = 1.0;
  p.c_noise = 1.0;
  schedopt_model *m = NULL;
  CHECK(schedopt_model_alloc(&m, schedopt_model_fsl, &p, &err) == SCHEDOPT_OK);
  schedopt_control *c = ctl(schedopt_control_cosine, "peak", peak, "floor", floor_, NULL, 0);
  schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, 1, c, B, -1);
  double t[] = {10, 100, 1000, 2000, 3000};
  schedopt_row *o = run(schedopt_integrator_cvodes, m, s, t, 5, NULL);
  /* quadrature: composite Simpson on a uniform grid of 2K intervals */
  const long K = 300000;
  const double h = H / (2.0 * K);
  double *T = malloc((2 * K + 1) * sizeof *T), *eta = malloc((2 * K + 1) * sizeof *eta);
  for (long i = 0; i <= 2 * K; i++) {
    double u = i * h;
    eta[i] = floor_ + (peak - floor_) * 0.5 * (1 + cos(M_PI * u / H));
  }
  T[0] = 0; /* T(u) = ∫ η exactly: cosine integrates in closed form */
  for (long i = 1; i <= 2 * K; i++) {
    double u = i * h;
    T[i] = floor_ * u + (peak - floor_) * 0.5 * (u + H / M_PI * sin(M_PI * u / H));
  }
  for (int q = 0; q < 5; q++) {
    long iend = (long)llround(t[q] / h);
    double Tt = T[iend];
    double e_t = 0, noise = 0;
    for (long j = 1; j <= M; j++) {
      double lam = pow((double)j, -b), pj = pow((double)j, -a);
      e_t += pj * exp(-2 * lam * Tt);
    }
    /* ∫_0^t K(T(t) − T(u)) [e(T(u)) + σ²] η(u)²/B du */
    for (long i = 0; i <= iend; i++) {
      double eu = 0, Ku = 0;
      for (long j = 1; j <= M; j++) {
        double lam = pow((double)j, -b), pj = pow((double)j, -a);
        eu += pj * exp(-2 * lam * T[i]);
        Ku += lam * lam * exp(-2 * lam * (Tt - T[i]));
      }
      double f = Ku * (eu + sigma2) * eta[i] * eta[i] / B;
      double w = (i == 0 || i == iend) ? 1 : (i % 2 ? 4 : 2);
      noise += w * f;
    }
    noise *= h / 3;
    double want = sigma2 + 0.5 * pow((double)M, -(a - 1)) + e_t + noise;
    printf("fsl t=%g: ode %.10g  quadrature %.10g\n", t[q], o[q].r.loss, want);
    CHECK_CLOSE(o[q].r.loss, want, 2e-6, 0);
    CHECK_CLOSE(o[q].r.variance, noise, 2e-5, 0);
    if (q == 2) break; /* the quadrature is O(M·K) per point: three points suffice */
  }
  free(T);
  free(eta);
  free(o);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

/* Data clock: D = T·B samples (or tokens with units) reproduces the step run;
 * a batch ramp agrees with the recursion. */
static void test_data_clock(void) {
  schedopt_model *m = plrf(3.5, 2.0, 300, 0.25, NAN, 0, SCHEDOPT_DYN_MATCHED);
  const double B = 8, T = 2000, seq = 16;
  schedopt_schedule *ss = sched(SCHEDOPT_CLOCK_STEPS, T, 1,
                                ctl(schedopt_control_cosine, "peak", 0.8, NULL, 0, NULL, 0), B, -1);
  schedopt_schedule *sd = sched(SCHEDOPT_CLOCK_DATA, T * B * seq, seq,
                                ctl(schedopt_control_cosine, "peak", 0.8, NULL, 0, NULL, 0), B, -1);
  double ts[] = {100, 500, 2000}, td[] = {100 * B * seq, 500 * B * seq, 2000 * B * seq};
  schedopt_row *a = run(schedopt_integrator_cvodes, m, ss, ts, 3, NULL);
  schedopt_row *d = run(schedopt_integrator_cvodes, m, sd, td, 3, NULL);
  schedopt_row *r = run(schedopt_integrator_recursion, m, sd, td, 3, NULL);
  for (int i = 0; i < 3; i++) {
    CHECK_CLOSE(d[i].r.loss, a[i].r.loss, 1e-6, 0);
    CHECK_CLOSE(d[i].step, ts[i], 1e-7, 0);
    CHECK_CLOSE(d[i].samples, ts[i] * B, 1e-7, 0);
    CHECK_CLOSE(r[i].step, ts[i], 0, 0.5);
    CHECK_CLOSE(r[i].r.excess, d[i].r.excess, 0.01, 0);
  }
  free(a);
  free(d);
  free(r);
  schedopt_schedule_free(ss);
  schedopt_schedule_free(sd);
  /* batch ramp 4 → 64 (linear in data), samples budget */
  schedopt_schedule *sr = NULL;
  CHECK(schedopt_schedule_alloc(&sr, SCHEDOPT_CLOCK_DATA, 50000, 1, &err) == SCHEDOPT_OK);
  schedopt_control *lr = ctl(schedopt_control_constant, "value", 0.5, NULL, 0, NULL, 0);
  schedopt_control *bt = ctl(schedopt_control_linear, "start", 4, "end", 64, NULL, 0);
  schedopt_schedule_set(sr, SCHEDOPT_LR, lr, &err);
  schedopt_schedule_set(sr, SCHEDOPT_BATCH, bt, &err);
  double tr[] = {1000, 10000, 50000};
  schedopt_row *o2 = run(schedopt_integrator_cvodes, m, sr, tr, 3, NULL);
  schedopt_row *r2 = run(schedopt_integrator_recursion, m, sr, tr, 3, NULL);
  /* steps = ∫ dτ / B(τ) = D/(64 − 4) · ln(64/4) in closed form */
  CHECK_CLOSE(o2[2].step, 50000.0 / 60.0 * log(16.0), 1e-6, 0);
  for (int i = 0; i < 3; i++) {
    printf("batch ramp: samples %g: ode excess %.6g (step %.1f), recursion %.6g (step %.0f)\n",
           tr[i], o2[i].r.excess, o2[i].step, r2[i].r.excess, r2[i].step);
    CHECK_CLOSE(o2[i].r.excess, r2[i].r.excess, 0.01, 0);
  }
  free(o2);
  free(r2);
  schedopt_control_free(lr);
  schedopt_control_free(bt);
  schedopt_schedule_free(sr);
  schedopt_model_free(m);
}

/* Jumps (8-1-1) are honoured: the ODE restarts at the knots and tracks the recursion. */
static void test_jumps(void) {
  tight = 0;
  schedopt_model *m = plrf(3.5, 5.0, 1000, 0.25, NAN, 0, SCHEDOPT_DYN_MATCHED);
  const double H = 20000;
  schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, H, 1,
                               ctl(schedopt_control_811, "peak", 1.0, NULL, 0, NULL, 0), 5, -1);
  double d = ode_vs_rec(m, m, s, H, 0);
  printf("8-1-1: max rel diff ode vs recursion %.3e\n", d);
  CHECK(d <= 0.01);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
  tight = 1;
}

/* A 1−sqrt anneal starts with an infinite slope: CVODES must be allowed to
 * cut its step by ~10⁵ there.  With its default of 7 error-test failures this
 * momentum case (the CLI's output times) stopped with CV_ERR_FAILURE at
 * t = 97000, where the anneal starts. */
static void test_sqrt_anneal(void) {
  double ex[2] = {NAN, NAN};
  for (int k = 0; k < 2; k++) {
    char y[512];
    snprintf(y, sizeof y,
             "name: sqrt_anneal\n"
             "model: {type: plrf, a: 3.5, b: 5, N: 1000, sigma2: 0.25, split: false, "
             "dynamics: %s}\n"
             "budget: {steps: 100000}\n"
             "controls: {lr: {type: wsd, peak: 0.3, decay_frac: 0.03, shape: sqrt, floor: 0}, "
             "batch: 5, momentum: 0}\n",
             k ? "recursion" : "matched");
    schedopt_problem *p = NULL;
    schedopt_integrator *it = NULL;
    double *t = NULL, rtol, atol;
    long ms;
    size_t n = 0;
    schedopt_status st = test_make_problem(&p, y, "sqrt_anneal", NULL, 0, &err);
    if (!st) st = schedopt_problem_output_times(p, &t, &n, &err);
    schedopt_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!st)
      st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(p),
                                     schedopt_problem_model(p), &err);
    schedopt_problem_tolerances(p, &rtol, &atol, &ms);
    if (!st) st = schedopt_integrator_set_tolerances(it, rtol, atol, &err);
    if (!st) st = schedopt_integrator_run(it, schedopt_problem_schedule(p), t, n, rows, &err);
    CHECK_MSG(!st, "%s: %s", k ? "recursion" : "cvodes", err.msg);
    if (!st) ex[k] = rows[n - 1].r.excess;
    schedopt_integrator_free(it);
    free(rows);
    free(t);
    schedopt_problem_free(p);
  }
  printf("wsd sqrt anneal (momentum dynamics): final excess ode %.6e, recursion %.6e\n", ex[0],
         ex[1]);
  CHECK(fabs(ex[0] / ex[1] - 1) <= 0.01);
}

static void test_divergence(void) {
  schedopt_model *m = plrf(3.5, 2.0, 100, 0.25, NAN, 0, SCHEDOPT_DYN_MATCHED);
  schedopt_schedule *s = sched(SCHEDOPT_CLOCK_STEPS, 1000, 1,
                               ctl(schedopt_control_constant, "value", 2.5, NULL, 0, NULL, 0), 5, -1);
  double t[] = {10, 1000};
  for (int k = 0; k < 2; k++) {
    schedopt_status st;
    schedopt_row *r = run(k ? schedopt_integrator_cvodes : schedopt_integrator_recursion, m, s, t, 2, &st);
    CHECK(st == SCHEDOPT_EDIVERGE);
    CHECK_MSG(strstr(err.msg, "diverged at step") != NULL, "%s", err.msg);
    printf("divergence (%s): %s\n", k ? "cvodes" : "recursion", err.msg);
    free(r);
  }
  schedopt_schedule_free(s);
  schedopt_model_free(m);
  /* the adjoint's forward pass (no root finding): heavy-ball momentum 0.99 at
   * lr 1 diverges at step 49; it must say so, not report a solver failure */
  m = plrf(3.5, 5.0, 1000, 0.25, NAN, 1, SCHEDOPT_DYN_MATCHED);
  s = sched(SCHEDOPT_CLOCK_STEPS, 10000, 1,
            ctl(schedopt_control_constant, "value", 1.0, NULL, 0, NULL, 0), 5, 0.99);
  schedopt_integrator *it = NULL;
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  double J = 0, *grad[SCHEDOPT_NCHANNELS] = {NULL};
  schedopt_status st = schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err);
  if (!st) st = schedopt_integrator_gradient(it, s, &obj, &J, grad, &err);
  CHECK_MSG(st == SCHEDOPT_EDIVERGE, "momentum 0.99 gradient: status %d: %s", (int)st, err.msg);
  printf("divergence (cvodes adjoint, momentum): %s\n", err.msg);
  schedopt_integrator_free(it);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
}

int main(void) {
  test_one_mode();
  test_steady_state();
  test_matched_vs_recursion();
  test_sde_limit();
  test_fsl_quadrature();
  test_data_clock();
  test_jumps();
  test_sqrt_anneal();
  test_divergence();
  return test_finish();
}
