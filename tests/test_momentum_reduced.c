/* plrf momentum with the overdamped modes reduced to one state
 * (momentum_modes, model_plrf.c): every kernel against an independent
 * reference built here from the heavy-ball rows, for N = 1 … 12 and larger,
 * every K, both copies' layouts and both ODE forms; the CVODES solution
 * (block solver with diagonal groups next to full ones) against RK4 on the
 * same ODE; gradients against central differences, both adjoints; the
 * reduction exact at μ = 0 (so reduced = full for any K, any clock); and the
 * CLI's choice and report of K.  The block solver's diagonal groups are
 * checked directly (its residual): through CVODES a wrong solve hides, since
 * the one Newton step's error is a fraction of the step's own correction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#include "dynamics/sunlinsol_blr.h"
#include "schedopt/schedopt.h"
#include "testgrad.h"
#include "testutil.h"

static schedopt_error err;
static SUNContext sunctx;

/* The block solver's callbacks: the model's Jacobian at fixed controls, and
 * a (t, γ) that the test sets. */
typedef struct ls_user {
  const schedopt_model_type *T;
  const void *self;
  schedopt_uval u;
  double t, gamma;
} ls_user;

static int ls_fill(double t, int have, double *D, double *U, double *V, void *user) {
  (void)t, (void)have;
  const ls_user *q = user;
  q->T->jac(q->self, &q->u, D, U, V);
  return 0;
}

static int ls_state(void *mem, double *t, double *gamma) {
  const ls_user *q = mem;
  *t = q->t, *gamma = q->gamma;
  return 0;
}

/* ---- the reference: the matched (or sde) rows of map − I per mode --------
 *   da = −2el a + μ² v + (2μ − 2μ el) x + g
 *   dv = (μ² − 1) v − 2μ el x + g
 *   dx = −el a + μ² v + (μ − 2μ el − 1) x + g,   g = ga a + gq Q
 * and, for a reduced mode, (v, x) solving dv = dx = 0 given (a, Q). */
typedef struct ref {
  size_t N, nf, ns, nc, n, ncopy;
  int sde;
  double R; /* tail + σ² */
  double lam[64], pw[64];
} ref;

static void ref_g(const ref *r, schedopt_uval u, double l, double *ga, double *gq) {
  const double el = u.lr * l, e2 = el * el;
  *gq = e2 / u.batch;
  *ga = r->sde ? e2 / u.batch : e2 * (1.0 + 1.0 / u.batch);
}

/* da/dt of a reduced mode = c1 a + c2 Q, by solving the 2×2 system. */
static void ref_coef(const ref *r, schedopt_uval u, double l, double *c1, double *c2) {
  const double el = u.lr * l, mu = u.momentum;
  double ga, gq;
  ref_g(r, u, l, &ga, &gq);
  const double m11 = mu * mu - 1.0, m12 = -2.0 * mu * el, m21 = mu * mu,
               m22 = mu - 2.0 * mu * el - 1.0, det = m11 * m22 - m12 * m21;
  for (int w = 0; w < 2; w++) {
    const double a = w == 0, Q = w == 1, g = ga * a + gq * Q;
    const double r1 = -g, r2 = el * a - g; /* m11 v + m12 x = r1, m21 v + m22 x = r2 */
    const double v = (r1 * m22 - m12 * r2) / det, x = (m11 * r2 - m21 * r1) / det;
    const double da = -2.0 * el * a + mu * mu * v + (2.0 * mu - 2.0 * mu * el) * x + g;
    *(w == 0 ? c1 : c2) = da;
  }
}

static double ref_E(const ref *r, const double *y, size_t c) {
  double E = 0.0;
  for (size_t k = 0; k < r->nf; k++) E += y[c * r->nc + 3 * k];
  for (size_t k = 0; k < r->ns; k++) E += y[c * r->nc + 3 * r->nf + k];
  return E;
}

static void ref_rhs(const ref *r, schedopt_uval u, const double *y, double *yd) {
  const double mu = u.momentum;
  for (size_t c = 0; c < r->ncopy; c++) {
    const double Q = ref_E(r, y, c) + ((r->ncopy == 1 || c == 1) ? r->R : 0.0);
    for (size_t k = 0; k < r->nf; k++) {
      const size_t i = c * r->nc + 3 * k;
      const double el = u.lr * r->lam[k], a = y[i], v = y[i + 1], x = y[i + 2];
      double ga, gq;
      ref_g(r, u, r->lam[k], &ga, &gq);
      const double g = ga * a + gq * Q;
      yd[i] = -2.0 * el * a + mu * mu * v + (2.0 * mu - 2.0 * mu * el) * x + g;
      yd[i + 1] = (mu * mu - 1.0) * v - 2.0 * mu * el * x + g;
      yd[i + 2] = -el * a + mu * mu * v + (mu - 2.0 * mu * el - 1.0) * x + g;
    }
    for (size_t k = r->nf; k < r->N; k++) {
      const size_t i = c * r->nc + 3 * r->nf + (k - r->nf);
      double c1, c2;
      ref_coef(r, u, r->lam[k], &c1, &c2);
      yd[i] = c1 * y[i] + c2 * Q;
    }
  }
}

static double frand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (double)((*s >> 8) & 0xffffff) / (double)0x1000000;
}

static schedopt_model *mk(long N, long K, int split, int sde, double a, double b,
                          ref *r) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = a, p.b = b, p.N = N, p.sigma2 = 0.2, p.tail = 0.01;
  p.momentum = 1, p.momentum_modes = K, p.split = split;
  p.dynamics = sde ? SCHEDOPT_DYN_SDE : SCHEDOPT_DYN_MATCHED;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err));
  if (r) {
    memset(r, 0, sizeof *r);
    r->N = (size_t)N;
    /* K triples, raised until N − K is a multiple of 3; K = 0 or ≥ N: all */
    r->nf = (K == 0 || K >= N) ? (size_t)N : (size_t)K;
    while ((r->N - r->nf) % 3) r->nf++;
    r->ns = r->N - r->nf;
    r->nc = 3 * r->nf + r->ns;
    r->ncopy = split ? 2 : 1;
    r->n = r->ncopy * r->nc;
    r->sde = sde;
    r->R = 0.01 + 0.2;
    for (size_t k = 0; k < r->N && k < 64; k++) {
      r->lam[k] = pow((double)(k + 1), -b);
      r->pw[k] = pow((double)(k + 1), -a);
    }
  }
  return m;
}

/* ---- 1. kernels against the reference ------------------------------------ */
static const schedopt_uval U[] = {
    {0.3, 4.0, 0.7}, {0.0, 2.0, 0.5}, {0.05, 1.0, 0.0}, {1e-3, 7.0, 0.9999}, {2.0, 3.0, 0.95},
    {0.8, 1.0, 0.3}};
#define NU (sizeof U / sizeof U[0])

static double maxabs(const double *x, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
  return m;
}

static int kernels(long N, long K, int split, int sde, unsigned seed) {
  ref r;
  schedopt_model *m = mk(N, K, split, sde, 2.5, 1.5, &r);
  const schedopt_model_type *T = schedopt_model_get_type(m);
  const void *self = schedopt_model_self(m);
  const size_t n = r.n, nr = r.ncopy;
  int bad = 0;
#define KCHECK(cond, ...)                                                  \
  do {                                                                     \
    CHECK_MSG(cond, __VA_ARGS__);                                          \
    if (!(cond)) bad++;                                                    \
  } while (0)
  KCHECK(schedopt_model_size(m) == n && T->block(self) == 3 && T->rank(self) == nr,
         "N %ld K %ld split %d: size %zu (want %zu), rank %zu", N, K, split,
         schedopt_model_size(m), n, T->rank(self));
  if (schedopt_model_size(m) != n) {
    schedopt_model_free(m);
    return 1;
  }
  KCHECK(T->exact(self) == (r.ns == 0), "N %ld K %ld: exact %d with %zu reduced", N, K,
         T->exact(self), r.ns);
  double *y = malloc(n * sizeof *y), *l = malloc(n * sizeof *l), *f = malloc(n * sizeof *f),
         *fr = malloc(n * sizeof *fr), *D = malloc(3 * n * sizeof *D),
         *Uj = malloc(nr * n * sizeof *Uj), *Vj = malloc(nr * n * sizeof *Vj),
         *J = malloc(n * n * sizeof *J), *o = malloc(n * sizeof *o), *g = malloc(n * sizeof *g);
  unsigned char *dg = calloc(n / 3 + 1, 1);

  /* initial state: a = p_k on copy 0, everything else 0; the loss as all triples' */
  T->initial(self, y);
  schedopt_readout ro;
  T->readout(self, y, &ro);
  double E0 = 0.0;
  for (size_t k = 0; k < r.N; k++) E0 += r.pw[k];
  KCHECK(fabs(ro.loss - (E0 + r.R)) <= 1e-14 * (E0 + r.R), "N %ld K %ld: L(0) %.17g vs %.17g", N,
         K, ro.loss, E0 + r.R);
  KCHECK(fabs(ref_E(&r, y, 0) - E0) <= 1e-14 * E0, "N %ld K %ld: initial a's", N, K);
  if (split) KCHECK(maxabs(y + r.nc, r.nc) == 0.0, "N %ld K %ld: variance copy starts at 0", N, K);
  for (size_t k = 0; k < r.nf; k++)
    KCHECK(y[3 * k + 1] == 0.0 && y[3 * k + 2] == 0.0, "N %ld K %ld: v, x start at 0", N, K);

  /* dloss: the loss is affine, ∂L/∂y_i = L(e_i) − L(0) */
  T->dloss(self, g);
  memset(y, 0, n * sizeof *y);
  T->readout(self, y, &ro);
  const double L0 = ro.loss;
  for (size_t i = 0; i < n; i++) {
    y[i] = 1.0;
    T->readout(self, y, &ro);
    y[i] = 0.0;
    KCHECK(fabs(g[i] - (ro.loss - L0)) <= 1e-12, "N %ld K %ld: dloss[%zu] %g vs %g", N, K, i,
           g[i], ro.loss - L0);
  }

  T->block_diag(self, dg);
  size_t ndiag = 0;
  for (size_t b = 0; b < n / 3; b++) ndiag += dg[b];
  KCHECK(ndiag == nr * r.ns / 3, "N %ld K %ld: %zu diagonal blocks, want %zu", N, K, ndiag,
         nr * r.ns / 3);

  for (size_t iu = 0; iu < NU; iu++) {
    const schedopt_uval u = U[iu];
    for (size_t i = 0; i < n; i++) y[i] = frand(&seed), l[i] = 2.0 * frand(&seed) - 1.0;
    /* rhs */
    T->rhs(self, &u, y, f);
    ref_rhs(&r, u, y, fr);
    const double sc = maxabs(fr, n) + 1e-300;
    for (size_t i = 0; i < n; i++)
      KCHECK(fabs(f[i] - fr[i]) <= 1e-11 * sc, "N %ld K %ld split %d sde %d u#%zu: rhs[%zu] %.15g, "
             "reference %.15g", N, K, split, sde, iu, i, f[i], fr[i]);
    /* jac: blockdiag(D) + U Vᵀ equals the reference's columns (it is linear) */
    T->jac(self, &u, D, Uj, Vj);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double s = (i / 3 == j / 3) ? D[(i / 3) * 9 + (i % 3) * 3 + j % 3] : 0.0;
        for (size_t q = 0; q < nr; q++) s += Uj[q * n + i] * Vj[q * n + j];
        J[i * n + j] = s;
      }
    double *z = calloc(n, sizeof *z), *c0 = malloc(n * sizeof *c0), *cj = malloc(n * sizeof *cj);
    ref_rhs(&r, u, z, c0);
    for (size_t j = 0; j < n && !bad; j++) {
      z[j] = 1.0;
      ref_rhs(&r, u, z, cj);
      z[j] = 0.0;
      const double s2 = maxabs(cj, n) + maxabs(c0, n) + 1e-300;
      for (size_t i = 0; i < n; i++)
        KCHECK(fabs(J[i * n + j] - (cj[i] - c0[i])) <= 1e-11 * s2,
               "N %ld K %ld split %d u#%zu: J[%zu][%zu] %.15g, reference %.15g", N, K, split, iu,
               i, j, J[i * n + j], cj[i] - c0[i]);
    }
    /* the blocks flagged diagonal are diagonal */
    for (size_t b = 0; b < n / 3; b++)
      if (dg[b])
        for (int e = 0; e < 9; e++)
          if (e % 4) KCHECK(D[9 * b + e] == 0.0, "N %ld K %ld: block %zu flagged diagonal has "
                            "D[%d] = %g", N, K, b, e, D[9 * b + e]);
    /* the block solver (diagonal groups as the integrator flags them):
     * (I − γJ) x = b to rounding, at a small and a large γ */
    {
      ls_user q = {T, self, u, 0.0, 0.0};
      SUNLinearSolver LS = schedopt_blr_linsol_create(n, 3, nr, ls_fill, &q, ls_state, &q, sunctx);
      KCHECK(LS && schedopt_blr_linsol_set_diag(LS, dg) == 0, "N %ld K %ld: block solver", N, K);
      N_Vector xv = N_VNew_Serial((sunindextype)n, sunctx), bv = N_VNew_Serial((sunindextype)n, sunctx);
      double *xd = N_VGetArrayPointer(xv), *bd = N_VGetArrayPointer(bv);
      SUNLinSolInitialize(LS);
      static const double gam[] = {0.37, 6.0};
      for (int ig = 0; ig < 2; ig++) {
        q.t = (double)iu, q.gamma = gam[ig];
        for (size_t i = 0; i < n; i++) bd[i] = 2.0 * frand(&seed) - 1.0;
        const int fl = SUNLinSolSolve(LS, NULL, xv, bv, 0.0);
        if (fl) continue; /* I − γJ singular: refused */
        double rmax = 0.0, sc = 0.0;
        for (size_t i = 0; i < n; i++) {
          double ri = xd[i] - bd[i], si = fabs(xd[i]) + fabs(bd[i]);
          for (size_t j = 0; j < n; j++)
            ri -= q.gamma * J[i * n + j] * xd[j], si += q.gamma * fabs(J[i * n + j] * xd[j]);
          rmax = fmax(rmax, fabs(ri)), sc = fmax(sc, si);
        }
        KCHECK(rmax <= 1e-12 * sc, "N %ld K %ld split %d u#%zu γ %g: block solver residual %.3g "
               "(scale %.3g)", N, K, split, iu, q.gamma, rmax, sc);
      }
      N_VDestroy(xv);
      N_VDestroy(bv);
      SUNLinSolFree(LS);
    }
    /* rhs_adj = −s Jᵀλ */
    const double s = 1.7;
    T->rhs_adj(self, &u, s, l, o);
    double so = 0.0;
    for (size_t j = 0; j < n; j++) {
      double t = 0.0;
      for (size_t i = 0; i < n; i++) t += J[i * n + j] * l[i];
      cj[j] = -s * t;
      so = fmax(so, fabs(cj[j]));
    }
    for (size_t j = 0; j < n; j++)
      KCHECK(fabs(o[j] - cj[j]) <= 1e-11 * (so + 1e-300), "N %ld K %ld split %d u#%zu: rhs_adj[%zu] "
             "%.15g, −sJᵀλ %.15g", N, K, split, iu, j, o[j], cj[j]);
    /* vjp_u against central differences of λᵀ f(u) (f rational in u) */
    double out[3];
    T->vjp_u(self, &u, y, l, out);
    for (int ch = 0; ch < 3; ch++) {
      double fd = 0.0, lfa = 0.0; /* lfa: Σ|λ_i f_i|, the rounding of the difference */
      const double base = ch == 0 ? u.lr : ch == 1 ? u.batch : u.momentum;
      const double h = 1e-5 * (ch == 2 ? fmin(1.0 - u.momentum, fmax(base, 1e-2)) : fmax(base, 1e-2));
      for (int sg = -1; sg <= 1; sg += 2) {
        schedopt_uval w = u;
        if (ch == 0) w.lr += sg * h;
        if (ch == 1) w.batch += sg * h;
        if (ch == 2) w.momentum += sg * h;
        ref_rhs(&r, w, y, cj);
        double lf = 0.0;
        for (size_t i = 0; i < n; i++) lf += l[i] * cj[i], lfa += fabs(l[i] * cj[i]);
        fd += sg * lf / (2.0 * h);
      }
      KCHECK(fabs(out[ch] - fd) <= 1e-5 * fabs(fd) + 1e-14 * lfa / h + 1e-12,
             "N %ld K %ld split %d sde %d u#%zu: vjp_u[%d] %.12g, central difference %.12g", N, K,
             split, sde, iu, ch, out[ch], fd);
    }
    free(z);
    free(c0);
    free(cj);
  }

  /* vjp_u_comb at m = 1, 2, 3 nodes: vjp_u at the formed combinations, and λᵀ f */
  for (size_t mm = 1; mm <= 3; mm++) {
    double *Yb[3][4], *Lb[4];
    const double *Yc[3][4], *Lc[4];
    double cy[3][4], cl[3][4], outc[3][3], lf[3];
    schedopt_uval uu[3];
    for (int j = 0; j < 4; j++) {
      Lb[j] = malloc(n * sizeof(double));
      for (size_t i = 0; i < n; i++) Lb[j][i] = 2.0 * frand(&seed) - 1.0;
      Lc[j] = Lb[j];
    }
    for (size_t q = 0; q < mm; q++) {
      uu[q] = U[(q + mm) % NU];
      for (int j = 0; j < 4; j++) {
        Yb[q][j] = malloc(n * sizeof(double));
        for (size_t i = 0; i < n; i++) Yb[q][j][i] = frand(&seed);
        Yc[q][j] = Yb[q][j];
        cy[q][j] = 2.0 * frand(&seed) - 0.5;
        cl[q][j] = 2.0 * frand(&seed) - 0.5;
      }
    }
    T->vjp_u_comb(self, mm, uu, Yc, cy, Lc, cl, outc, lf);
    for (size_t q = 0; q < mm; q++) {
      for (size_t i = 0; i < n; i++) {
        y[i] = l[i] = 0.0;
        for (int j = 0; j < 4; j++) y[i] += cy[q][j] * Yb[q][j][i], l[i] += cl[q][j] * Lb[j][i];
      }
      double out[3];
      T->vjp_u(self, &uu[q], y, l, out);
      const double so = maxabs(out, 3) + 1e-300;
      for (int ch = 0; ch < 3; ch++)
        KCHECK(fabs(outc[q][ch] - out[ch]) <= 1e-11 * so, "N %ld K %ld split %d: vjp_u_comb m=%zu "
               "node %zu ch %d: %.15g vs vjp_u %.15g", N, K, split, mm, q, ch, outc[q][ch], out[ch]);
      ref_rhs(&r, uu[q], y, f);
      double want = 0.0, sc = 0.0;
      for (size_t i = 0; i < n; i++) want += l[i] * f[i], sc += fabs(l[i] * f[i]);
      KCHECK(fabs(lf[q] - want) <= 1e-11 * (sc + 1e-300), "N %ld K %ld split %d: λᵀf m=%zu node "
             "%zu: %.15g vs %.15g", N, K, split, mm, q, lf[q], want);
      for (int j = 0; j < 4; j++) free(Yb[q][j]);
    }
    for (int j = 0; j < 4; j++) free(Lb[j]);
  }
#undef KCHECK
  free(y), free(l), free(f), free(fr), free(D), free(Uj), free(Vj), free(J), free(o), free(g);
  free(dg);
  schedopt_model_free(m);
  return bad;
}

/* ---- 2. CVODES (block solver, diagonal groups) against RK4 on the same ODE - */
static schedopt_schedule *sched(double H, schedopt_control **lr, schedopt_control **bt,
                                schedopt_control **mu, schedopt_clock clock) {
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, clock, H, 1.0, &err));
  if (lr) OK(schedopt_schedule_set(s, SCHEDOPT_LR, *lr, &err));
  if (bt) OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, *bt, &err));
  if (mu) OK(schedopt_schedule_set(s, SCHEDOPT_MOMENTUM, *mu, &err));
  return s;
}

static void vs_rk4(long N, long K, int split, double b, double peak, double mu0, double mu1) {
  ref r;
  schedopt_model *m = mk(N, K, split, 0, 2.5, b, &r);
  const schedopt_model_type *T = schedopt_model_get_type(m);
  const void *self = schedopt_model_self(m);
  const double H = 300.0;
  schedopt_control *lr = ctl(schedopt_control_cosine), *bt = ctl(schedopt_control_constant),
                   *mu = ctl(schedopt_control_linear);
  set(lr, "peak", peak);
  set(lr, "floor", 0.05 * peak);
  set(bt, "value", 3);
  set(mu, "start", mu0);
  set(mu, "end", mu1);
  schedopt_schedule *s = sched(H, &lr, &bt, &mu, SCHEDOPT_CLOCK_STEPS);
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err));
  OK(schedopt_integrator_set_tolerances(it, 1e-11, 1e-15, &err));
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  double J = NAN;
  OK(schedopt_integrator_objective(it, s, &obj, &J, &err));
  /* RK4, dt = 1/256 (the fastest rate here is a few per step) */
  const size_t n = r.n;
  double *y = malloc(n * sizeof *y), *k1 = malloc(n * sizeof *y), *k2 = malloc(n * sizeof *y),
         *k3 = malloc(n * sizeof *y), *k4 = malloc(n * sizeof *y), *t1 = malloc(n * sizeof *y);
  T->initial(self, y);
  const double dt = 1.0 / 256.0;
  const long steps = (long)(H / dt);
  for (long q = 0; q < steps; q++) {
    const double t = q * dt;
    schedopt_uval ua, ub, uc;
    schedopt_schedule_eval(s, t, &ua);
    schedopt_schedule_eval(s, t + 0.5 * dt, &ub);
    schedopt_schedule_eval(s, t + dt, &uc);
    T->rhs(self, &ua, y, k1);
    for (size_t i = 0; i < n; i++) t1[i] = y[i] + 0.5 * dt * k1[i];
    T->rhs(self, &ub, t1, k2);
    for (size_t i = 0; i < n; i++) t1[i] = y[i] + 0.5 * dt * k2[i];
    T->rhs(self, &ub, t1, k3);
    for (size_t i = 0; i < n; i++) t1[i] = y[i] + dt * k3[i];
    T->rhs(self, &uc, t1, k4);
    for (size_t i = 0; i < n; i++) y[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
  }
  schedopt_readout ro;
  T->readout(self, y, &ro);
  const double e = fabs(J - ro.loss) / (ro.loss - 0.2);
  printf("N %ld K %ld (%zu triples)%s b %g peak %g: CVODES %.12g, RK4 %.12g (%.1e of the "
         "excess)\n", N, K, r.nf, split ? " split" : "", b, peak, J, ro.loss, e);
  CHECK_MSG(e < 1e-8, "N %ld K %ld split %d: CVODES %.12g vs RK4 %.12g", N, K, split, J, ro.loss);
  free(y), free(k1), free(k2), free(k3), free(k4), free(t1);
  schedopt_integrator_free(it);
  schedopt_schedule_free(s);
  schedopt_control_free(lr), schedopt_control_free(bt), schedopt_control_free(mu);
  schedopt_model_free(m);
}

/* ---- 3. gradients of the reduced model against central differences ------- */
static double objective(schedopt_integrator *it, double H, schedopt_control **c,
                        schedopt_clock clock) {
  schedopt_schedule *s = sched(H, &c[0], &c[1], &c[2], clock);
  schedopt_objective obj = {SCHEDOPT_OBJ_MEAN, 0, H, 0, NULL, NULL};
  double J = NAN;
  OK(schedopt_integrator_objective(it, s, &obj, &J, &err));
  schedopt_schedule_free(s);
  return J;
}

static void grad_fd(long N, long K, int split, int sde, int data, int ckpt) {
  schedopt_model *m = mk(N, K, split, sde, 2.5, 1.8, NULL);
  schedopt_control *c[3] = {ctl(schedopt_control_cosine),
                            ctl(data ? schedopt_control_exponential : schedopt_control_constant),
                            ctl(schedopt_control_linear)};
  set(c[0], "peak", 0.3);
  set(c[0], "floor", 0.02);
  if (data)
    set(c[1], "start", 2), set(c[1], "end", 10);
  else
    set(c[1], "value", 4);
  set(c[2], "start", 0.4);
  set(c[2], "end", 0.9);
  const schedopt_clock clock = data ? SCHEDOPT_CLOCK_DATA : SCHEDOPT_CLOCK_STEPS;
  const double H = data ? 1500 : 300;
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err));
  OK(schedopt_integrator_set_tolerances(it, 1e-11, 1e-15, &err));
  if (ckpt) OK(schedopt_integrator_set_adjoint_memory(it, 0, &err));
  schedopt_schedule *s = sched(H, &c[0], &c[1], &c[2], clock);
  double *g[3];
  size_t np[3];
  for (int ch = 0; ch < 3; ch++) {
    np[ch] = schedopt_control_nparams(c[ch]);
    g[ch] = calloc(np[ch] + 1, sizeof(double));
  }
  schedopt_objective obj = {SCHEDOPT_OBJ_MEAN, 0, H, 0, NULL, NULL};
  double J = NAN;
  schedopt_status st = schedopt_integrator_gradient(it, s, &obj, &J, g, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "gradient N %ld K %ld: %s", N, K, err.msg);
  schedopt_integrator_stats stt;
  schedopt_integrator_get_stats(it, &stt);
  CHECK_MSG(stt.ckpt_gradients == ckpt, "N %ld K %ld: %ld check-pointed gradients", N, K,
            stt.ckpt_gradients);
  schedopt_schedule_free(s);
  int shown = 0;
  for (int ch = 0; ch < 3; ch++)
    for (size_t i = 0; i < np[ch]; i++) {
      if (c[ch]->type->params && i < c[ch]->type->nparams && c[ch]->type->params[i].choices)
        continue;
      double *p = param_ptr(c[ch], i), p0 = *p;
      if (p0 == 0.0) continue;
      const double d = 1e-4 * fabs(p0);
      *p = p0 + d;
      const double Jp = objective(it, H, c, clock);
      *p = p0 - d;
      const double Jm = objective(it, H, c, clock);
      *p = p0;
      const double fd = (Jp - Jm) / (2.0 * d), noise = 1e-10 * fabs(J) / d;
      CHECK_MSG(fabs(g[ch][i] - fd) <= 1e-4 * fabs(fd) + noise,
                "N %ld K %ld split %d sde %d data %d ckpt %d: ch %d p%zu gradient %.10g, "
                "central difference %.10g", N, K, split, sde, data, ckpt, ch, i, g[ch][i], fd);
      if (shown++ < 2)
        printf("grad N %ld K %ld split %d sde %d data %d ckpt %d: ch %d p%zu %.8g vs fd %.8g\n", N,
               K, split, sde, data, ckpt, ch, i, g[ch][i], fd);
    }
  for (int ch = 0; ch < 3; ch++) free(g[ch]), schedopt_control_free(c[ch]);
  schedopt_integrator_free(it);
  schedopt_model_free(m);
}

/* ---- 4. problems: at μ = 0 the reduction is exact ------------------------ */
static double problem_J(const char *y, size_t *n, long *K, int final) {
  schedopt_problem *p = NULL;
  OK(test_make_problem(&p, y, "reduced", NULL, 0, &err));
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, schedopt_problem_model(p), &err));
  OK(schedopt_integrator_set_tolerances(it, 1e-11, 1e-16, &err));
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  schedopt_objective obj = {final ? SCHEDOPT_OBJ_FINAL : SCHEDOPT_OBJ_MEAN, 0,
                            schedopt_schedule_horizon(s), 0, NULL, NULL};
  double J = NAN;
  OK(schedopt_integrator_objective(it, s, &obj, &J, &err));
  *n = schedopt_model_size(schedopt_problem_model(p));
  *K = schedopt_problem_momentum_modes(p);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  return J;
}

static void reduced_vs_full(const char *model, const char *budget, const char *controls,
                            const char *mm, double tol, int final) {
  char y[2][1024];
  double J[2];
  size_t n[2];
  long K[2];
  for (int f = 0; f < 2; f++) {
    snprintf(y[f], sizeof y[f], "model: {%s, momentum_modes: %s}\nbudget: {%s}\ncontrols: {%s}\n",
             model, f ? "1000000" : mm, budget, controls);
    J[f] = problem_J(y[f], &n[f], &K[f], final);
  }
  const double e = fabs(J[0] - J[1]) / J[1];
  printf("%s | %s | momentum_modes %s: %zu states (K = %ld) vs %zu: %s loss %.14g vs %.14g "
         "(%.1e)\n", model, controls, mm, n[0], K[0], n[1], final ? "final" : "mean", J[0], J[1], e);
  CHECK_MSG(n[0] < n[1], "%s, momentum_modes %s: nothing reduced (%zu states)", model, mm, n[0]);
  CHECK_MSG(e < tol, "%s | %s | momentum_modes %s: mean loss %.14g vs %.14g (%.2e)", model,
            controls, mm, J[0], J[1], e);
}

/* A problem built again after new text or keys reports its own K: 0 once
 * momentum is gone (it kept the previous build's), N under the recursion. */
static void rebuild(void) {
  static const char *const y[2] = {
      "model: {type: plrf, a: 3.5, b: 5, N: 300, sigma2: 0.25}\nbudget: {steps: 100}\n"
      "controls: {lr: 0.1, batch: 5, momentum: 0.9}\n",
      "model: {type: plrf, a: 3.5, b: 5, N: 300, sigma2: 0.25}\nbudget: {steps: 100}\n"
      "controls: {lr: 0.1, batch: 5}\n"};
  schedopt_problem *p = NULL;
  OK(schedopt_problem_alloc(&p, &err));
  OK(schedopt_problem_load_string(p, y[0], strlen(y[0]), "momentum", &err));
  OK(schedopt_problem_build(p, &err));
  CHECK_MSG(schedopt_problem_momentum_modes(p) == 84, "auto: K = %ld",
            schedopt_problem_momentum_modes(p));
  OK(schedopt_problem_set(p, "model.dynamics=recursion", &err));
  OK(schedopt_problem_build(p, &err));
  CHECK_MSG(schedopt_problem_momentum_modes(p) == 300, "recursion: K = %ld",
            schedopt_problem_momentum_modes(p));
  OK(schedopt_problem_load_string(p, y[1], strlen(y[1]), "sgd", &err));
  OK(schedopt_problem_build(p, &err));
  CHECK_MSG(schedopt_model_size(schedopt_problem_model(p)) == 600 &&
                schedopt_problem_momentum_modes(p) == 0,
            "SGD after momentum: %zu states, K = %ld", schedopt_model_size(schedopt_problem_model(p)),
            schedopt_problem_momentum_modes(p));
  schedopt_problem_free(p);
}

/* ---- 5. the CLI ---------------------------------------------------------- */
static void cli(void) {
  static char out[16384];
  const char *f = test_write_tmp(
      "mom.yaml", "model: {type: plrf, a: 3.5, b: 5, N: 300, sigma2: 0.25, split: true}\n"
                  "budget: {steps: 2000}\n"
                  "controls: {lr: {type: wsd, peak: 0.05, decay_frac: 0.2}, batch: 5, "
                  "momentum: 0.9}\n");
  char cmd[1024];
  static const struct {
    const char *mm;
    const char *want; /* NULL: no momentum bracket in the summary */
  } cases[] = {{"auto", "[momentum: 84 of 300 modes with all three states, 216 overdamped]"},
               {"1", "[momentum: 3 of 300 modes with all three states, 297 overdamped]"},
               {"4", "[momentum: 6 of 300 modes"},
               {"297", "[momentum: 297 of 300 modes with all three states, 3 overdamped]"},
               {"298", NULL}, {"299", NULL}, {"300", NULL}, {"5000", NULL}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(cmd, sizeof cmd, "simulate %s -o - --set model.momentum_modes=%s", f, cases[i].mm);
    const int rc = test_run_cli(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "simulate momentum_modes %s: exit %d: %s", cases[i].mm, rc, out);
    if (cases[i].want)
      CHECK_MSG(strstr(out, cases[i].want) != NULL, "momentum_modes %s: no '%s' in the summary",
                cases[i].mm, cases[i].want);
    else
      CHECK_MSG(strstr(out, "[momentum:") == NULL, "momentum_modes %s: all triples, yet '%s'",
                cases[i].mm, strstr(out, "[momentum:"));
  }
  /* the recursion keeps every triple and runs */
  snprintf(cmd, sizeof cmd,
           "simulate %s -o - --set model.momentum_modes=3 --set model.dynamics=recursion", f);
  int rc = test_run_cli(cmd, out, sizeof out);
  CHECK_MSG(rc == 0 && !strstr(out, "[momentum:"), "recursion with momentum_modes: exit %d: %s",
            rc, out);
  /* fsl has no momentum states */
  snprintf(cmd, sizeof cmd, "simulate %s -o - --set model.type=fsl --set model.momentum_modes=3",
           f);
  rc = test_run_cli(cmd, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "momentum_modes") && strstr(out, "plrf only"),
            "fsl with momentum_modes: exit %d: %s", rc, out);
  /* optimize's summary says it too */
  snprintf(cmd, sizeof cmd,
           "optimize %s -o %s -q --set model.split=false --set model.momentum_modes=4 "
           "--set 'optimize={controls: {lr: {param: family, vary: [peak]}}, maxeval: 5, baselines: [shape]}'",
           f, test_tmp_path("opt"));
  rc = test_run_cli(cmd, out, sizeof out);
  const char *sum = rc == 0 ? test_slurp_static(test_path_in(test_tmp_path("opt"), "summary.txt"))
                            : NULL;
  CHECK_MSG(sum && strstr(sum, "momentum   6 of 300 modes keep") &&
                strstr(sum, "the other 294 are overdamped"),
            "optimize with momentum_modes 4: exit %d: %s / %s", rc, out, sum ? sum : "");
  /* bad values */
  static const char *const badv[] = {"0", "-3", "2.5", "1e7", "many"};
  for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
    snprintf(cmd, sizeof cmd, "simulate %s -o - --set model.momentum_modes=%s", f, badv[i]);
    rc = test_run_cli(cmd, out, sizeof out);
    CHECK_MSG(rc == 2 && strstr(out, "momentum_modes"), "momentum_modes %s: exit %d: %s",
              badv[i], rc, out);
  }
}

int main(void) {
  const double t0 = test_seconds();
  if (SUNContext_Create(NULL, &sunctx)) return 1;
  /* 1. every N ≤ 12 and every K, then sizes with groups of four diagonal blocks */
  int bad = 0;
  unsigned seed = 12345u;
  for (long N = 1; N <= 12; N++)
    for (long K = 0; K <= N + 1; K++)
      for (int v = 0; v < 4; v++) bad += kernels(N, K, v & 1, v >> 1, seed++);
  static const long big[][2] = {{31, 1}, {31, 4}, {40, 1}, {40, 13}, {25, 3}};
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
    for (int v = 0; v < 4; v++) bad += kernels(big[i][0], big[i][1], v & 1, v >> 1, seed++);
  printf("kernels: %d failures (%.2f s)\n", bad, test_seconds() - t0);

  /* 2. CVODES against RK4: the blocks (full | diag) in groups of four, mixed
   * groups, scalar leftovers; one copy (rank 1: diagonal groups) and two */
  static const long rk[][2] = {{1, 0}, {4, 1}, {5, 1}, {7, 2}, {12, 1}, {13, 1},
                               {16, 4}, {31, 1}, {40, 13}, {40, 1}};
  for (size_t i = 0; i < sizeof rk / sizeof rk[0]; i++)
    for (int split = 0; split < 2; split++)
      vs_rk4(rk[i][0], rk[i][1], split, 2.0, 0.6, 0.5, 0.9);
  vs_rk4(31, 1, 0, 3.0, 0.45, 0.9, 0.3); /* near the edge at μ = 0.9, μ falling */
  printf("RK4 comparisons done (%.2f s)\n", test_seconds() - t0);

  /* 3. gradients: odd sizes, the stored pass and the check-pointed adjoint */
  grad_fd(7, 2, 0, 0, 0, 0);
  grad_fd(7, 2, 1, 0, 0, 1);
  grad_fd(5, 1, 1, 1, 1, 0);
  grad_fd(13, 1, 0, 1, 1, 1);
  grad_fd(17, 4, 1, 0, 0, 1);
  grad_fd(31, 1, 0, 0, 0, 0); /* one copy: a group of four diagonal blocks, forward and back */
  grad_fd(31, 1, 0, 1, 1, 1);
  printf("gradients done (%.2f s)\n", test_seconds() - t0);

  /* 4. μ = 0: the overdamped mode is SGD's exactly, for any K */
  reduced_vs_full("type: plrf, a: 2.2, b: 1.6, N: 11, sigma2: 0.1, split: false", "steps: 3000",
                  "lr: {type: wsd, peak: 0.5, decay_frac: 0.3}, batch: 3, momentum: 0", "1", 1e-9, 0);
  reduced_vs_full("type: plrf, a: 2.2, b: 1.6, N: 50, sigma2: 0.1, split: true, dynamics: sde",
                  "samples: 20000",
                  "lr: {type: cosine, peak: 0.6}, batch: {type: linear, start: 2, end: 20}, "
                  "momentum: 0", "2", 1e-9, 0);
  /* lr 0 over the middle third, μ 0.9: (v, x) relax, the reduced a stays */
  reduced_vs_full("type: plrf, a: 3.5, b: 5, N: 120, sigma2: 0.25, split: true",
                  "steps: 30000",
                  "lr: {type: table, t: [0, 10000, 20000, 30000], v: [0.05, 0, 0.02, 0.02], "
                  "interp: step}, batch: 5, momentum: 0.9", "auto", 1e-7, 0);
  /* μ = 0.9999 (past auto's 0.999) at a stable rate */
  reduced_vs_full("type: plrf, a: 3.5, b: 5, N: 200, sigma2: 0.25, split: false",
                  "steps: 100000",
                  "lr: {type: wsd, peak: 0.0004, decay_frac: 0.2}, batch: 5, momentum: 0.9999",
                  "auto", 1e-7, 0);
  /* constant controls: the reduced modes' fixed point is the full triples', for
   * any K and any rate (here the reduced modes are far from overdamped) */
  reduced_vs_full("type: plrf, a: 2.2, b: 1.6, N: 12, sigma2: 0.1, split: false", "steps: 30000",
                  "lr: 0.05, batch: 4, momentum: 0.9", "1", 1e-8, 1);
  reduced_vs_full("type: plrf, a: 2.2, b: 1.6, N: 12, sigma2: 0.1, split: true, dynamics: sde",
                  "steps: 30000", "lr: 0.1, batch: 2, momentum: 0.7", "2", 1e-8, 1);
  printf("problems done (%.2f s)\n", test_seconds() - t0);

  rebuild();
  cli();
  SUNContext_Free(&sunctx);
  printf("total %.2f s\n", test_seconds() - t0);
  return test_finish();
}
