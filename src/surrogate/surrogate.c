/* surrogate.c — the surrogate handle, the registry of types and the
 * exponential-sum kernel shared by the fast evaluations. */
#include "surrogate/surrogate_impl.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI 6.28318530717958647692
#define LN_1EM3 (-6.90775527898213705205)

/* ------------------------------------------------------------- numerics */

double schedopt_sx_digamma(double x) {
  double r = 0;
  while (x < 8) {
    r -= 1 / x;
    x += 1;
  }
  double f = 1 / (x * x);
  /* ψ(x) ~ ln x − 1/(2x) − Σ B_2k/(2k x^2k) */
  return r + log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

/* ln|Γ(p + iy)| by Stirling's series (y ≥ 5 here). */
static double lgamma_abs_complex(double p, double y) {
  double re = p, im = y;
  double lnr = 0.5 * log(re * re + im * im), th = atan2(im, re);
  /* Re[(z − 1/2) ln z − z + ln(2π)/2 + 1/(12 z)] */
  double a = (re - 0.5) * lnr - im * th - re + 0.5 * log(TWO_PI);
  double m2 = re * re + im * im;
  return a + re / (12 * m2);
}

void schedopt_sx_prefix(const double *eta, size_t kmax, double *T) {
  double s = 0, comp = 0;
  for (size_t k = 0; k <= kmax; k++) {
    double y = eta[k] - comp, t = s + y;
    comp = (t - s) - y;
    s = t;
    T[k] = s;
  }
}

int schedopt_sx_make(sx_plan *pl, double p, double tol, double lnrho_min, double lnrho_max,
            double xmax) {
  if (!(p > 0) || !isfinite(p) || !(tol > 0) || !isfinite(lnrho_min) ||
      !isfinite(lnrho_max) || !(xmax >= 0) || !isfinite(xmax))
    return -1;
  double q = tol / 4, lgp = lgamma(p);
  /* spacing: the largest h on the ladder 0.6·0.92^m with a small enough
   * Poisson-summation error (the ladder keeps the grid fixed while p moves). */
  double h = 0.6;
  for (int m = 0; m < 200; m++, h *= 0.92) {
    /* (the factor 1 + 2π/h covers the θ-derivatives of the shifted grid) */
    double e = log(2.0 * (1 + TWO_PI / h)) + lgamma_abs_complex(p, TWO_PI / h) - lgp;
    if (e <= log(q)) break;
  }
  /* top: Γ(p, U)/Γ(p) ≈ U^{p−1} e^{−U}/Γ(p) ≤ q */
  double U = 30;
  for (int it = 0; it < 50; it++) {
    double Un = -log(q) - lgp + (p - 1) * log(U) + 1;
    if (Un < 1) Un = 1;
    if (fabs(Un - U) < 1e-6) break;
    U = Un;
  }
  /* lumping: v_lo = ln(q' (p+1) Γ(p))/(p+1) − ln(1 + ρ xmax), worst at ρ_min;
   * q' = q/32 leaves room for the θ-derivatives (∂/∂p brings a factor |v|) */
  double lnq_lo =
      (log(q / 32 * (p + 1)) + lgp) / (p + 1) - log1p(exp(lnrho_min) * xmax) + lnrho_min;
  double lnq_hi = log(U) + lnrho_max;
  double jl = floor(lnq_lo / h), jh = ceil(lnq_hi / h);
  if (!(jh >= jl) || jh - jl + 1 > SX_MAX_NODES) return -1;
  pl->p = p;
  pl->h = h;
  pl->lgp = lgp;
  pl->lnU = log(U);
  pl->jlo = (int)jl;
  pl->jhi = (int)jh;
  pl->J = (size_t)(jh - jl) + 1;
  return 0;
}

void schedopt_sx_tables(sx_plan *pl, double *mem) {
  double *q = mem, *b = mem + pl->J, c = log(pl->h) - pl->lgp;
  double top = pl->p * fmax(fabs(pl->jlo * pl->h), fabs(pl->jhi * pl->h)) + fabs(c);
  pl->tab = top < 600;
  for (size_t j = 0; j < pl->J; j++) {
    double v = (pl->jlo + (double)j) * pl->h;
    q[j] = exp(v);
    b[j] = pl->tab ? exp(pl->p * v + c) : 0;
  }
  pl->q = q;
  pl->b = b;
  pl->psi = schedopt_sx_digamma(pl->p);
}

/* First node index with q_j·s ≥ x (q_j = e^{(jlo + j) h}), clamped to [0, J];
 * lnxs = ln(x/s). */
static size_t first_at_least(const sx_plan *pl, double s, double x, double lnxs) {
  double j = ceil(lnxs / pl->h - pl->jlo);
  if (!(j > 0)) return 0;
  if (j >= (double)pl->J) return pl->J;
  size_t i = (size_t)j;
  /* rounding of the logarithm: settle on the exact boundary */
  while (i > 0 && pl->q[i - 1] * s >= x) i--;
  while (i < pl->J && pl->q[i] * s < x) i++;
  return i;
}

/* e^{−z} for 0 ≤ z < 1e-3 (error below z^5/120 < 1e-17). */
static inline double expm_small(double z) {
  return 1 - z * (1 - 0.5 * z * (1 - z / 3 * (1 - 0.25 * z)));
}

double schedopt_sx_weights(const sx_plan *pl, double lnrho, double *w, double *dlr, double *dp,
                  double *sdlr, double *sdp) {
  const double *q = pl->q, p = pl->p, psi = pl->psi;
  double irho = exp(-lnrho), rp = exp(-p * lnrho), c = log(pl->h) - pl->lgp;
  size_t J = pl->J, i1 = first_at_least(pl, irho, 1e-3, LN_1EM3 + lnrho),
         i2 = first_at_least(pl, irho, exp(pl->lnU), pl->lnU + lnrho);
  if (i2 < i1) i2 = i1;
  if (pl->tab) {
    for (size_t j = 0; j < i1; j++) w[j] = pl->b[j] * rp * expm_small(q[j] * irho);
    /* −q_j/ρ ≥ −60 on these nodes: inside sx_exp's range */
    for (size_t j = i1; j < i2; j++) w[j] = pl->b[j] * rp * sx_exp(-q[j] * irho);
  } else {
    for (size_t j = 0; j < i2; j++) {
      double v = (pl->jlo + (double)j) * pl->h - lnrho;
      w[j] = exp(p * v - q[j] * irho + c);
    }
  }
  for (size_t j = i2; j < J; j++) w[j] = 0;
  double sum = 0, s1 = 0, s2 = 0;
  for (size_t j = 0; j < i2; j++) sum += w[j];
  if (dlr) {
    for (size_t j = 0; j < J; j++) dlr[j] = w[j] * (q[j] * irho - p);
    for (size_t j = 0; j < i2; j++) s1 += dlr[j];
  }
  if (dp) {
    for (size_t j = 0; j < J; j++) dp[j] = w[j] * ((pl->jlo + (double)j) * pl->h - lnrho - psi);
    for (size_t j = 0; j < i2; j++) s2 += dp[j];
  }
  if (sdlr) *sdlr = s1;
  if (sdp) *sdp = s2;
  return sum;
}

/* --------------------------------------------------- sums over many sources */

int schedopt_sx_engine_init(sx_engine *e, const sx_plan *pl, size_t M, const double *X,
                            double eps, size_t cap) {
  memset(e, 0, sizeof *e);
  size_t J = pl->J ? pl->J : 1;
  if (!cap) cap = 1;
  e->pl = pl;
  e->J = pl->J;
  e->M = M;
  e->cap = cap;
  e->eps = eps;
  e->X = X;
  e->dec_dt = -1;
  /* phi: SX_MAXM·J; dec, lnq, z, g: J; y: SX_MAXM·J; pw, yh, w, dl: cap */
  size_t nd = 2 * SX_MAXM * J + 4 * J + 4 * cap;
  e->mem = calloc(nd, sizeof *e->mem);
  if (!e->mem) return -1;
  double *p = e->mem;
  for (size_t i = 0; i < SX_MAXM; i++, p += J) e->phi[i] = p;
  for (size_t i = 0; i < SX_MAXM; i++, p += J) e->y[i] = p;
  e->dec = p, p += J;
  e->lnq = p, p += J;
  e->z = p, p += J;
  e->g = p, p += J;
  e->pw = p, p += cap;
  e->yh = p, p += cap;
  e->w = p, p += cap;
  e->dl = p;
  for (size_t j = 0; j < pl->J; j++) e->lnq[j] = (pl->jlo + (double)j) * pl->h;
  /* zl[n]: a z ≤ SX_ZMAX whose remainder at degree n is ≤ eps: one step
   * of z ← ((n+1)! eps e^{−2z})^{1/(n+1)} from SX_ZMAX (below the root, so
   * the bound holds) */
  double lf = 0; /* ln (n+1)! */
  for (int n = 0; n <= SX_TMAX; n++) {
    lf += log(n + 1.0);
    double z = exp((log(eps) + lf - 2 * SX_ZMAX) / (n + 1));
    e->zl[n] = z < SX_ZMAX ? z : SX_ZMAX;
  }
  return 0;
}

void schedopt_sx_engine_free(sx_engine *e) {
  free(e->mem);
  e->mem = NULL;
}

void schedopt_sx_engine_decay(sx_engine *e, double dt) {
  if (!e->any || !(dt > 0)) return;
  const double *q = e->pl->q;
  double *dec = e->dec;
  size_t J = e->J;
  if (dt != e->dec_dt) {
    size_t jz = 0; /* (q_j dt > 80: the states drop below 1e-34 of themselves; taken
                      as 0, which also keeps them out of the slow denormal range) */
    while (jz < J && q[jz] * dt <= 80) jz++;
    for (size_t j = 0; j < jz; j++) dec[j] = sx_exp(-q[j] * dt);
    for (size_t j = jz; j < J; j++) dec[j] = 0;
    e->dec_dt = dt;
  }
  for (size_t i = 0; i < e->M; i++) {
    double *ph = e->phi[i];
    for (size_t j = 0; j < J; j++) ph[j] *= dec[j];
  }
}

#ifndef SX_VEC
/* e^{−y} for |y| ≤ 1e-2 (degree 6, error < 2e-18). */
static inline double expm_poly6(double y) {
  const double c2 = 1.0 / 2, c3 = 1.0 / 6, c4 = 1.0 / 24, c5 = 1.0 / 120, c6 = 1.0 / 720;
  return 1 - y * (1 - y * (c2 - y * (c3 - y * (c4 - y * (c5 - y * c6)))));
}
/* e^{−y} for |y| ≤ 1e-4 (degree 3, error < 5e-18). */
static inline double expm_poly3(double y) {
  const double c3 = 1.0 / 6;
  return 1 - y * (1 - y * (0.5 - y * c3));
}
#endif

/* One pass over a block's sources for DG Taylor moments: pw holds ŷ^a on
 * entry and ŷ^{a+DG} on return; out[b][i] = Σ_k m_ik ŷ_k^{a+b}. */
static inline void mom_pass(int M, int DG, size_t n, const double *yh, double *pw,
                            const double *const *m, double out[][SX_MAXM]) {
  double s[3][SX_MAXM] = {{0}};
  size_t k = 0;
#ifdef SX_VEC
  sx_v2 acc[3][SX_MAXM];
  for (int b = 0; b < DG; b++)
    for (int i = 0; i < M; i++) acc[b][i] = v2_set(0, 0);
  for (; k + 2 <= n; k += 2) {
    sx_v2 y = v2_load(yh + k), p = v2_load(pw + k), mv[SX_MAXM];
    for (int i = 0; i < M; i++) mv[i] = v2_load(m[i] + k);
    for (int b = 0; b < DG; b++) {
      for (int i = 0; i < M; i++) acc[b][i] += mv[i] * p;
      p *= y;
    }
    v2_store(pw + k, p);
  }
  for (int b = 0; b < DG; b++)
    for (int i = 0; i < M; i++) s[b][i] = acc[b][i][0] + acc[b][i][1];
#endif
  for (; k < n; k++) {
    double p = pw[k];
    for (int b = 0; b < DG; b++) {
      for (int i = 0; i < M; i++) s[b][i] += m[i][k] * p;
      p *= yh[k];
    }
    pw[k] = p;
  }
  for (int b = 0; b < DG; b++)
    for (int i = 0; i < M; i++) out[b][i] = s[b][i];
}

/* Low nodes j < jT: the block through its Taylor moments. */
static void add_low(sx_engine *e, size_t jT, size_t n, const double *d, const double *const *m,
                    double dmin, double dmid, double r, double fb, double fc, double dt) {
  const double *q = e->pl->q, *X = e->X, *lnq = e->lnq;
  double *z = e->z, *g = e->g;
  size_t M = e->M;
  /* nodes above the highest one with a share above its cut get nothing */
  size_t jt = jT;
  while (jt > 0 && !(q[jt - 1] * dmin <= X[jt - 1])) jt--;
  /* degrees: n_j is the first n with z_j ≤ zl[n]; js[a] = first node of
   * degree ≥ a (z grows with j) */
  size_t js[SX_TMAX + 2];
  int nt = 0;
  js[0] = 0;
  for (size_t j = 0; j < jt; j++) {
    double zj = q[j] * r;
    while (nt < SX_TMAX && zj > e->zl[nt]) js[++nt] = j;
  }
  /* the moments Σ_k m_ik ŷ_k^a/a!, a ≤ nt (a = 0: the block's sums, kept) */
  double mom[SX_MAXM][SX_TMAX + 1];
  double *yh = e->yh, *pw = e->pw, ir = r > 0 ? 1 / r : 0;
  for (size_t k = 0; k < n; k++) yh[k] = (d[k] - dmid) * ir, pw[k] = 1;
  for (int a = 0; a <= nt; a += 3) {
    double o[3][SX_MAXM];
    int dg = nt - a + 1 < 3 ? nt - a + 1 : 3;
#define MP(MM, DD) mom_pass(MM, DD, n, yh, pw, m, o)
    switch (M * 4 + (size_t)dg) {
    case 5: MP(1, 1); break;
    case 6: MP(1, 2); break;
    case 7: MP(1, 3); break;
    case 9: MP(2, 1); break;
    case 10: MP(2, 2); break;
    case 11: MP(2, 3); break;
    case 13: MP(3, 1); break;
    case 14: MP(3, 2); break;
    case 15: MP(3, 3); break;
    case 17: MP(4, 1); break;
    case 18: MP(4, 2); break;
    default: MP(4, 3); break;
    }
#undef MP
    for (int b = 0; b < dg; b++)
      for (size_t i = 0; i < M; i++) mom[i][a + b] = o[b][i];
  }
  for (size_t i = 0; i < M; i++) e->sum[i] = mom[i][0];
  for (size_t j = 0; j < jt; j++) {
    z[j] = -q[j] * r;
    g[j] = sx_exp_c(-q[j] * dmid + fb * lnq[j] + fc);
  }
  if (dt > 0) {
    /* the states move by dt = 2 dmid first: e^{−q_j dt} = g_j² for these
     * nodes (fb = fc = 0) */
    double *dec = e->dec;
    for (size_t j = 0; j < jt; j++) dec[j] = g[j] * g[j];
    for (size_t j = jt; j < e->J; j++) dec[j] = q[j] * dt <= 80 ? sx_exp(-q[j] * dt) : 0;
    e->dec_dt = -1;
    for (size_t i = 0; i < M; i++) {
      double *ph = e->phi[i];
      for (size_t j = 0; j < e->J; j++) ph[j] *= dec[j];
    }
  }
  if (!jt) return;
  double f = 1;
  for (int a = 2; a <= nt; a++) {
    f /= a;
    for (size_t i = 0; i < M; i++) mom[i][a] *= f;
  }
  /* Horner over all nodes at once: y_j ← y_j·(−z_j) + mom[a] for the nodes
   * of degree ≥ a */
  for (size_t i = 0; i < M; i++) {
    double *y = e->y[i], *ph = e->phi[i];
    for (size_t j = 0; j < jt; j++) y[j] = 0;
    for (int a = nt; a >= 0; a--) {
      double ma = mom[i][a];
      for (size_t j = js[a]; j < jt; j++) y[j] = y[j] * z[j] + ma;
    }
    for (size_t j = 0; j < jt; j++) ph[j] += g[j] * y[j];
  }
}

#define SX_NG 4 /* high nodes per pass at most */


/* One pass of the recursion over the sources k = ks … n−1 for SX_NG nodes
 * (rates qq; padding nodes have rate 0):
 *   ψ_j ← ψ_j G_j + m_k,   G_j = e^{−q_j Δ_k},  Δ_k = d_{k−1} − d_k (dl1),
 * where G_j follows from the previous step's: order 0 or 1, G ← G e^{−q δ_k}
 * with δ_k = Δ_k − Δ_{k−1} (dl2) by a series of degree 6 (|q δ| ≤ 1e-2) or
 * 3 (≤ 1e-4); order 2, H = e^{−q δ_k} itself by H ← H (1 − q (δ_k − δ_{k−1}))
 * (|q (δ_k − δ_{k−1})| ≤ 1e-8) and G ← G H.
 * On return ps[i][j] = Σ_k m_ik e^{−q_j (d_k − d_{n−1})}. */
static inline void high_run(int M, int order, int NV, const double *qq, size_t ks, size_t n,
                            const double *const *m, const double *dl1, const double *dl2,
                            double ps[][SX_NG]) {
#ifdef SX_VEC
  sx_v2 Q[SX_NG / 2], G[SX_NG / 2], H[SX_NG / 2], P[SX_MAXM][SX_NG / 2];
  for (int v = 0; v < NV; v++) {
    const double *qv = qq + 2 * v;
    Q[v] = v2_load(qv);
    G[v] = v2_set(sx_exp_c(-qv[0] * dl1[ks]), sx_exp_c(-qv[1] * dl1[ks]));
    H[v] = order == 2 ? v2_set(sx_exp_c(-qv[0] * dl2[ks]), sx_exp_c(-qv[1] * dl2[ks])) : G[v];
    for (int i = 0; i < M; i++) P[i][v] = v2_set(m[i][ks], m[i][ks]);
  }
  const sx_v2 one = v2_set(1, 1);
  for (size_t k = ks + 1; k < n; k++) {
    double xs = order == 2 ? dl2[k] - dl2[k - 1] : dl2[k];
    sx_v2 x = v2_set(xs, xs), a[SX_MAXM];
    for (int i = 0; i < M; i++) a[i] = v2_set(m[i][k], m[i][k]);
    for (int v = 0; v < NV; v++) {
      sx_v2 y = Q[v] * x, t;
      if (order == 2) {
        H[v] *= one - y;
        t = H[v];
      } else if (order == 1) {
        t = one - y * (one - y * (v2_set(0.5, 0.5) - y * v2_set(1.0 / 6, 1.0 / 6)));
      } else {
        t = v2_set(1.0 / 720, 1.0 / 720);
        t = v2_set(1.0 / 120, 1.0 / 120) - y * t;
        t = v2_set(1.0 / 24, 1.0 / 24) - y * t;
        t = v2_set(1.0 / 6, 1.0 / 6) - y * t;
        t = v2_set(0.5, 0.5) - y * t;
        t = one - y * t;
        t = one - y * t;
      }
      G[v] *= t;
      for (int i = 0; i < M; i++) P[i][v] = P[i][v] * G[v] + a[i];
    }
  }
  for (int v = 0; v < NV; v++)
    for (int i = 0; i < M; i++) v2_store(ps[i] + 2 * v, P[i][v]);
#else
  double G[SX_NG], H[SX_NG], P[SX_MAXM][SX_NG];
  for (int j = 0; j < 2 * NV; j++) {
    G[j] = sx_exp_c(-qq[j] * dl1[ks]);
    H[j] = order == 2 ? sx_exp_c(-qq[j] * dl2[ks]) : 1;
    for (int i = 0; i < M; i++) P[i][j] = m[i][ks];
  }
  for (size_t k = ks + 1; k < n; k++) {
    double x = order == 2 ? dl2[k] - dl2[k - 1] : dl2[k];
    for (int j = 0; j < 2 * NV; j++) {
      double y = qq[j] * x, t;
      if (order == 2) {
        H[j] *= 1 - y;
        t = H[j];
      } else {
        t = order == 1 ? expm_poly3(y) : expm_poly6(y);
      }
      G[j] *= t;
      for (int i = 0; i < M; i++) P[i][j] = P[i][j] * G[j] + m[i][k];
    }
  }
  for (int j = 0; j < 2 * NV; j++)
    for (int i = 0; i < M; i++) ps[i][j] = P[i][j];
#endif
}

/* High nodes j ≥ jT: every source within the node's reach. */
static void add_high(sx_engine *e, size_t jT, size_t n, const double *d, const double *const *m,
                     double fb, double fc) {
  const double *q = e->pl->q, *X = e->X, *lnq = e->lnq;
  size_t J = e->J, M = e->M;
  /* a smooth block: Δ_k = d_{k−1} − d_k ≥ 0 (dl1, Δ_0 extrapolated) with small
   * differences δ_k = Δ_k − Δ_{k−1} (dl2), or small second differences
   * (counted against the limits of the highest node that may take a source) */
  double *dl1 = e->pw, *dl2 = e->dl, *pm = e->yh;
  for (size_t k = 1; k < n; k++) dl1[k] = d[k - 1] - d[k];
  dl1[0] = n >= 3 ? 2 * dl1[1] - dl1[2] : dl1[1]; /* (extrapolated: smooth differences) */
  for (size_t k = 1; k < n; k++) dl2[k] = dl1[k] - dl1[k - 1];
  dl2[0] = n >= 3 ? dl2[1] : 0;
  long neg = 0;
  for (size_t k = 0; k < n; k++) neg += dl1[k] < 0;
  /* node j takes the sources from the first k with q_j min(d_0 … d_k) ≤ X[j]
   * (on a smooth block, d decreases) */
  if (neg) {
    pm[0] = d[0];
    for (size_t k = 1; k < n; k++) pm[k] = d[k] < pm[k - 1] ? d[k] : pm[k - 1];
  } else {
    pm = (double *)d;
  }
  size_t jE = jT;
  for (size_t j = jT; j < J; j++)
    if (X[j] >= 0 && q[j] * pm[n - 1] <= X[j]) jE = j + 1;
  if (jE == jT) return;
  double qt = q[jE - 1], l0 = 1e-2 / qt, l1 = 1e-4 / qt, l2 = 1e-8 / qt;
  long c0 = 0, c1 = 0, c2 = 0;
  for (size_t k = 0; k < n; k++) {
    double a1 = fabs(dl2[k]);
    c0 += a1 > l0;
    c1 += a1 > l1;
  }
  for (size_t k = 1; k < n; k++) c2 += fabs(dl2[k] - dl2[k - 1]) > l2;
  int order = neg || c0 ? -1 : !c2 ? 2 : !c1;
  for (size_t j0 = jT; j0 < jE;) {
    size_t left = jE - j0;
    /* passes of 4 nodes (2 when fewer are left: their states stay in
     * registers; they do not depend on M, so that the loss alone takes the
     * same sources) */
    int NV = left >= 3 ? 2 : 1;
    size_t ng = left < (size_t)(2 * NV) ? left : (size_t)(2 * NV);
    /* the pass starts where its lowest node's reach does (its higher
     * nodes take a few more sources: exact, only more work) */
    size_t ks = 0;
    {
      double lim = X[j0] >= 0 ? X[j0] / q[j0] : -1;
      size_t lo = 0, hi = n - 1;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pm[mid] <= lim) hi = mid;
        else lo = mid + 1;
      }
      ks = lo;
    }
    if (order >= 0 && n - ks >= 2) {
      double qq[SX_NG], ps[SX_MAXM][SX_NG];
      for (size_t j = 0; j < SX_NG; j++) qq[j] = j < ng ? q[j0 + j] : 0;
#define HR(MM, OO, NN) high_run(MM, OO, NN, qq, ks, n, m, dl1, dl2, ps)
#define HR3(MM, OO) (NV == 2 ? HR(MM, OO, 2) : HR(MM, OO, 1))
      switch (M * 3 + (size_t)order) {
      case 3: HR3(1, 0); break;
      case 4: HR3(1, 1); break;
      case 5: HR3(1, 2); break;
      case 6: HR3(2, 0); break;
      case 7: HR3(2, 1); break;
      case 8: HR3(2, 2); break;
      case 9: HR3(3, 0); break;
      case 10: HR3(3, 1); break;
      case 11: HR3(3, 2); break;
      case 12: HR3(4, 0); break;
      case 13: HR3(4, 1); break;
      default: HR3(4, 2); break;
      }
#undef HR3
#undef HR
      for (size_t j = 0; j < ng; j++) {
        double gj = sx_exp_c(-q[j0 + j] * d[n - 1] + fb * lnq[j0 + j] + fc);
        for (size_t i = 0; i < M; i++) e->phi[i][j0 + j] += gj * ps[i][j];
      }
    } else {
      /* otherwise one exponential per source and node */
      double *w = e->w;
      for (size_t j = j0; j < j0 + ng; j++) {
        double lf = fb * lnq[j] + fc;
        for (size_t k = ks; k < n; k++) w[k] = sx_exp_c(lf - q[j] * d[k]);
        for (size_t i = 0; i < M; i++) e->phi[i][j] += sx_dot(m[i] + ks, w + ks, n - ks);
      }
    }
    j0 += ng;
  }
}

void schedopt_sx_engine_add(sx_engine *e, double dt, size_t n, const double *d,
                            const double *const *m, double fb, double fc) {
  if (!e->J) return;
  if (!n || !e->any || !(dt > 0)) {
    schedopt_sx_engine_decay(e, dt);
    dt = 0;
  }
  if (!n) return;
  const double *q = e->pl->q;
  double dmin = d[0], dmax = d[0];
  for (size_t k = 1; k < n; k++) {
    dmin = d[k] < dmin ? d[k] : dmin;
    dmax = d[k] > dmax ? d[k] : dmax;
  }
  double r = 0.5 * (dmax - dmin), dmid = 0.5 * (dmax + dmin);
  /* a block inside the step dt (a smooth run between two output steps):
   * the Taylor centre at dt/2 serves the decay as well (with the block
   * factor 1) */
  if (dt > 0) {
    double c = 0.5 * dt, rc = fmax(dmax - c, c - dmin);
    if (fb == 0 && fc == 0 && dmin >= 0 && dmax <= dt && rc <= 1.1 * r) {
      dmid = c, r = rc;
    } else {
      schedopt_sx_engine_decay(e, dt);
      dt = 0;
    }
  }
  size_t jT = 0;
  while (jT < e->J && q[jT] * r <= SX_ZMAX) jT++;
  add_low(e, jT, n, d, m, dmin, dmid, r, fb, fc, dt);
  if (jT < e->J) add_high(e, jT, n, d, m, fb, fc);
  e->any = 1;
}

size_t schedopt_expsum_kernel(double p, double rho, double xmax, double tol, double *q,
                              double *w, double *w0, size_t cap) {
  sx_plan pl;
  if (!(rho > 0) || schedopt_sx_make(&pl, p, tol, log(rho), log(rho), xmax) || pl.J > cap) return 0;
  double *mem = malloc(2 * pl.J * sizeof *mem);
  if (!mem) return 0;
  schedopt_sx_tables(&pl, mem);
  memcpy(q, pl.q, pl.J * sizeof *q);
  schedopt_sx_weights(&pl, log(rho), w, NULL, NULL, NULL, NULL);
  free(mem);
  /* the lumped nodes j < jlo, summed as a geometric series (e^{−e^v} ≈ 1
   * there), so that w_0 keeps its relative accuracy where (1 + ρx)^−p is tiny */
  double v = (pl.jlo - 1) * pl.h - log(rho);
  if (w0) *w0 = exp(log(pl.h) + p * v - pl.lgp) / -expm1(-p * pl.h);
  return pl.J;
}

void schedopt_sx_powerlaw_guess(const double *T, const double *loss, size_t n, double frac,
                       double *L0, double *c, double *e) {
  double lmin = INFINITY;
  for (size_t i = 0; i < n; i++)
    if (loss[i] < lmin) lmin = loss[i];
  size_t m = (size_t)(frac * (double)n);
  if (m < 2) m = n;
  double best = INFINITY;
  *L0 = 0.9 * lmin;
  *c = 1;
  *e = 0.5;
  for (int f = 0; f <= 40; f++) {
    double l0 = lmin * (0.3 + 0.0174 * f); /* 0.3 … 0.996 of the smallest loss */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
      if (!(T[i] > 0) || !(loss[i] > l0)) continue;
      double x = log(T[i]), y = log(loss[i] - l0);
      sx += x, sy += y, sxx += x * x, sxy += x * y;
      k++;
    }
    if (k < 2) continue;
    double d = (double)k * sxx - sx * sx;
    if (!(fabs(d) > 0)) continue;
    double b = ((double)k * sxy - sx * sy) / d, a = (sy - b * sx) / (double)k;
    double sse = 0;
    for (size_t i = 0; i < m; i++) {
      if (!(T[i] > 0)) continue;
      double pred = l0 + exp(a + b * log(T[i]));
      double r = log(pred) - log(loss[i]);
      sse += r * r;
    }
    if (sse < best && b < 0) {
      best = sse;
      *L0 = l0;
      *c = exp(a);
      *e = -b;
    }
  }
}

/* --------------------------------------------------------------- registry */

const schedopt_surrogate_type *const schedopt_surrogate_types[] = {&schedopt_sx_fsl_llm_type,
                                                                   &schedopt_sx_mpl_type, NULL};

const schedopt_surrogate_type *schedopt_surrogate_type_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; schedopt_surrogate_types[i]; i++)
    if (!strcmp(schedopt_surrogate_types[i]->name, name)) return schedopt_surrogate_types[i];
  return NULL;
}

/* ------------------------------------------------------------------ handle */

struct schedopt_surrogate {
  const schedopt_surrogate_type *type;
  double theta[SCHEDOPT_SURROGATE_MAXP];
  schedopt_surrogate_method method;
  double tol;
};

schedopt_status schedopt_surrogate_alloc(schedopt_surrogate **out,
                                         const schedopt_surrogate_type *T,
                                         schedopt_error *err) {
  if (!out || !T) return schedopt_error_set(err, SCHEDOPT_EINVAL, "surrogate_alloc: NULL argument");
  if (T->nparams > SCHEDOPT_SURROGATE_MAXP)
    return schedopt_error_set(err, SCHEDOPT_EINTERNAL, "%s: too many parameters", T->name);
  schedopt_surrogate *s = calloc(1, sizeof *s);
  if (!s) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  s->type = T;
  for (size_t i = 0; i < T->nparams; i++) s->theta[i] = T->params[i].def;
  s->method = SCHEDOPT_SURROGATE_FAST;
  s->tol = 1e-9;
  *out = s;
  return SCHEDOPT_OK;
}

void schedopt_surrogate_free(schedopt_surrogate *s) { free(s); }

const schedopt_surrogate_type *schedopt_surrogate_get_type(const schedopt_surrogate *s) {
  return s ? s->type : NULL;
}

static int param_index(const schedopt_surrogate_type *T, const char *name) {
  for (size_t i = 0; i < T->nparams; i++)
    if (!strcmp(T->params[i].name, name)) return (int)i;
  return -1;
}

static schedopt_status check_param(const schedopt_surrogate_type *T, size_t i, double v,
                                   schedopt_error *err) {
  const schedopt_surrogate_param *p = &T->params[i];
  if (!isfinite(v) || v < p->lo || v > p->hi)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: parameter %s = %g is out of range: must be in [%g, %g]",
                              T->name, p->name, v, p->lo, p->hi);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_surrogate_set(schedopt_surrogate *s, const char *name, double value,
                                       schedopt_error *err) {
  if (!s || !name) return schedopt_error_set(err, SCHEDOPT_EINVAL, "surrogate_set: NULL argument");
  int i = param_index(s->type, name);
  if (i < 0) {
    char list[256] = "";
    size_t len = 0;
    for (size_t k = 0; k < s->type->nparams && len < sizeof list; k++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                              s->type->params[k].name);
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: unknown parameter '%s' (allowed: %s)",
                              s->type->name, name, list);
  }
  schedopt_status st = check_param(s->type, (size_t)i, value, err);
  if (!st) s->theta[i] = value;
  return st;
}

schedopt_status schedopt_surrogate_get(const schedopt_surrogate *s, const char *name,
                                       double *value, schedopt_error *err) {
  if (!s || !name || !value)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "surrogate_get: NULL argument");
  int i = param_index(s->type, name);
  if (i < 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: unknown parameter '%s'", s->type->name,
                              name);
  *value = s->theta[i];
  return SCHEDOPT_OK;
}

schedopt_status schedopt_surrogate_set_params(schedopt_surrogate *s, const double *theta,
                                              schedopt_error *err) {
  if (!s || !theta) return schedopt_error_set(err, SCHEDOPT_EINVAL, "set_params: NULL argument");
  for (size_t i = 0; i < s->type->nparams; i++) {
    schedopt_status st = check_param(s->type, i, theta[i], err);
    if (st) return st;
  }
  memcpy(s->theta, theta, s->type->nparams * sizeof *theta);
  return SCHEDOPT_OK;
}

const double *schedopt_surrogate_params(const schedopt_surrogate *s) {
  return s ? s->theta : NULL;
}

void schedopt_surrogate_set_method(schedopt_surrogate *s, schedopt_surrogate_method m) {
  if (s) s->method = m;
}

schedopt_status schedopt_surrogate_set_tol(schedopt_surrogate *s, double tol,
                                           schedopt_error *err) {
  if (!s) return schedopt_error_set(err, SCHEDOPT_EINVAL, "set_tol: NULL argument");
  if (!(tol >= 1e-14 && tol <= 1e-3))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "tolerance %g must be in [1e-14, 1e-3]",
                              tol);
  s->tol = tol;
  return SCHEDOPT_OK;
}

static schedopt_status check_input(const schedopt_surrogate *s,
                                   const schedopt_surrogate_input *in, schedopt_error *err) {
  if (!s || !in || (!in->lr && in->nsteps) || (!in->out && in->nout))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "surrogate: NULL argument");
  for (size_t k = 0; k < in->nsteps; k++)
    if (!(in->lr[k] >= 0 && in->lr[k] <= DBL_MAX)) /* (NaN, negative or infinite) */
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: lr = %g at step %zu must be finite and >= 0",
                                s->type->name, in->lr[k], k);
  for (size_t m = 0; m < in->nout; m++)
    if (in->out[m] >= in->nsteps || (m && in->out[m] <= in->out[m - 1]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: output step %zu must be below %zu steps and after the "
                                "previous one",
                                s->type->name, in->out[m], in->nsteps);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_surrogate_predict(const schedopt_surrogate *s,
                                           const schedopt_surrogate_input *in, double *loss,
                                           double *dtheta, schedopt_error *err) {
  schedopt_status st = check_input(s, in, err);
  if (st) return st;
  if (in->nout && !loss) return schedopt_error_set(err, SCHEDOPT_EINVAL, "predict: NULL loss");
  if (!in->nout) return SCHEDOPT_OK;
  return s->type->predict(s->theta, in, s->method, s->tol, loss, dtheta, err);
}

schedopt_status schedopt_surrogate_grad_lr(const schedopt_surrogate *s,
                                           const schedopt_surrogate_input *in,
                                           const double *g, double *loss, double *geta,
                                           schedopt_error *err) {
  schedopt_status st = check_input(s, in, err);
  if (st) return st;
  if (!geta || (in->nout && !g))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "grad_lr: NULL argument");
  /* the losses by the direct sum: geta is its exact gradient, and the direct
   * sum costs O(K·n) like the gradient itself */
  if (loss && in->nout &&
      (st = s->type->predict(s->theta, in, SCHEDOPT_SURROGATE_DIRECT, s->tol, loss, NULL, err)))
    return st;
  return s->type->grad_lr(s->theta, in, g, geta, err);
}
