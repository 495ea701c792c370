#include "dynamics/sunlinsol_blr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nvector/nvector_serial.h>

#define BLR_MAXRANK 8

/* The O(n) passes are also compiled for AVX2 on x86-64 Linux with GCC and
 * picked at load time (see nvector_fast.c); sums run in eight partial sums in
 * a fixed order, so every variant rounds alike. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define BLR_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef BLR_CLONES
#define BLR_CLONES
#endif
#define BLR_LANES 8

static double lanes_total(const double *s) {
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Σ v_q w_q (a single running sum would be a chain of dependent additions,
 * 4 cycles per element). */
BLR_CLONES
static double dot(const double *restrict v, const double *restrict w, size_t n) {
  double s[BLR_LANES] = {0}, rest = 0.0;
  size_t q = 0;
  for (; q + BLR_LANES <= n; q += BLR_LANES)
    for (size_t j = 0; j < BLR_LANES; j++) s[j] += v[q + j] * w[q + j];
  for (; q < n; q++) rest += v[q] * w[q];
  return lanes_total(s) + rest;
}

/* Four lanes in GCC/Clang vector types (one AVX2 or two SSE2 registers): the
 * compilers keep lane arrays of a loop that also stores in memory.  Loads and
 * stores through an unaligned, aliasing vector type, as the intrinsics do (no
 * function takes or returns one: a 32-byte vector's ABI depends on AVX). */
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));
#define V4(p) (*(const v4du *)(p))
#define V4_STORE(p, v) (*(v4du *)(p) = (v))
#define V4_TOTAL(a, b) ((((a)[0] + (a)[1]) + ((a)[2] + (a)[3])) + (((b)[0] + (b)[1]) + ((b)[2] + (b)[3])))

/* Diagonal blocks, rank 1, one pass: P⁻¹ = 1/(1 − γD), W = P⁻¹U; returns VᵀW
 * (not finite where some 1 − γD is 0 or NaN). */
BLR_CLONES
static double factor_diag1(size_t n, double gamma, const double *restrict D,
                           const double *restrict U, const double *restrict V,
                           double *restrict Pinv, double *restrict W) {
  v4d s0 = {0, 0, 0, 0}, s1 = s0;
  const v4d one = {1, 1, 1, 1};
  size_t q = 0;
  for (; q + 8 <= n; q += 8) {
    const v4d p0 = one / (one - gamma * V4(D + q));
    const v4d p1 = one / (one - gamma * V4(D + q + 4));
    const v4d w0 = p0 * V4(U + q), w1 = p1 * V4(U + q + 4);
    V4_STORE(Pinv + q, p0);
    V4_STORE(Pinv + q + 4, p1);
    V4_STORE(W + q, w0);
    V4_STORE(W + q + 4, w1);
    s0 += V4(V + q) * w0;
    s1 += V4(V + q + 4) * w1;
  }
  double rest = 0.0;
  for (; q < n; q++) {
    const double pi = 1.0 / (1.0 - gamma * D[q]), w = pi * U[q];
    Pinv[q] = pi;
    W[q] = w;
    rest += V[q] * w;
  }
  return V4_TOTAL(s0, s1) + rest;
}

/* Diagonal blocks, rank 1: x = P⁻¹b and Vᵀx in one pass. */
BLR_CLONES
static double solve_diag1(size_t n, const double *restrict Pinv, const double *restrict V,
                          const double *restrict b, double *restrict x) {
  v4d s0 = {0, 0, 0, 0}, s1 = s0;
  size_t q = 0;
  for (; q + 8 <= n; q += 8) {
    const v4d x0 = V4(Pinv + q) * V4(b + q);
    const v4d x1 = V4(Pinv + q + 4) * V4(b + q + 4);
    V4_STORE(x + q, x0);
    V4_STORE(x + q + 4, x1);
    s0 += V4(V + q) * x0;
    s1 += V4(V + q + 4) * x1;
  }
  double rest = 0.0;
  for (; q < n; q++) {
    x[q] = Pinv[q] * b[q];
    rest += V[q] * x[q];
  }
  return V4_TOTAL(s0, s1) + rest;
}

/* 3×3 blocks, rank 1, four blocks at a time (lanes = blocks; the block
 * entries are gathered from the row-major blocks of the fill).  P⁻¹ is kept
 * grouped: entry i of blocks 4g … 4g+3 at Pinv[36g + 4i …]; W stays by block.
 * Every lane computes what inv3 and the scalar loop compute, and VᵀW is summed
 * block after block in their order: the same roundings.  A group of four
 * diagonal blocks (gd) runs on its twelve states in order instead, its P⁻¹
 * diagonal at Pinv[36g …] and its part of VᵀW in vector lanes.  Returns 0 where a
 * determinant is 0 or not finite. */
#define GATHER4(a, stride, i) ((v4d){(a)[i], (a)[(stride) + (i)], (a)[2 * (stride) + (i)], (a)[3 * (stride) + (i)]})
/* A diagonal group's twelve states in order: x = P⁻¹b (P⁻¹'s diagonal at P)
 * and *acc += the lanes of v·x. */
static inline __attribute__((always_inline)) void diag12(const double *P, const double *b,
                                                         double *x, const double *v,
                                                         v4d *acc) {
  const v4d xa = V4(P) * V4(b), xb = V4(P + 4) * V4(b + 4), xc = V4(P + 8) * V4(b + 8);
  V4_STORE(x, xa);
  V4_STORE(x + 4, xb);
  V4_STORE(x + 8, xc);
  *acc += V4(v) * xa + V4(v + 4) * xb + V4(v + 8) * xc;
}
/* every lane nonzero and finite (x·0 is NaN for ±∞ and NaN) */
#define V4_ALL_REGULAR(d)                                                   \
  __extension__({                                                           \
    const __typeof__((d) != (d)) ok_ = ((d) != 0.0) & ((d) * 0.0 == 0.0);   \
    (ok_[0] & ok_[1] & ok_[2] & ok_[3]) != 0;                               \
  })
BLR_CLONES
static int factor_block3(size_t G, double gamma, const double *restrict D,
                         const double *restrict U, const double *restrict V,
                         const unsigned char *restrict gd, double *restrict Pinv,
                         double *restrict W, double *vw) {
  const v4d one = {1, 1, 1, 1};
  const double ng = -gamma;
  double acc = *vw;
  v4d accd = {0, 0, 0, 0}; /* the diagonal groups' part */
  for (size_t g = 0; g < G; g++) {
    const double *Dg = D + 36 * g, *ug = U + 12 * g, *vg = V + 12 * g;
    double *Pg = Pinv + 36 * g;
    if (gd && gd[g]) {
      /* four diagonal blocks, lanes = twelve consecutive states (U, V, W
       * contiguous); P⁻¹ kept in state order at Pinv[36g …]; one division
       * for twelve: 1/(m_a m_b m_c) lane by lane */
      const v4d ma = ng * (v4d){Dg[0], Dg[4], Dg[8], Dg[9]} + one,
                mb = ng * (v4d){Dg[13], Dg[17], Dg[18], Dg[22]} + one,
                mc = ng * (v4d){Dg[26], Dg[27], Dg[31], Dg[35]} + one;
      const v4d mab = ma * mb, det = mab * mc;
      if (!V4_ALL_REGULAR(det)) return 0;
      const v4d id = one / det;
      const v4d pa = mb * mc * id, pb = ma * mc * id, pc = mab * id;
      V4_STORE(Pg, pa);
      V4_STORE(Pg + 4, pb);
      V4_STORE(Pg + 8, pc);
      diag12(Pg, ug, W + 12 * g, vg, &accd); /* W = P⁻¹U */
      continue;
    }
    const v4d u0 = GATHER4(ug, 3, 0), u1 = GATHER4(ug, 3, 1), u2 = GATHER4(ug, 3, 2);
    const v4d m0 = ng * GATHER4(Dg, 9, 0) + one, m1 = ng * GATHER4(Dg, 9, 1),
              m2 = ng * GATHER4(Dg, 9, 2), m3 = ng * GATHER4(Dg, 9, 3),
              m4 = ng * GATHER4(Dg, 9, 4) + one, m5 = ng * GATHER4(Dg, 9, 5),
              m6 = ng * GATHER4(Dg, 9, 6), m7 = ng * GATHER4(Dg, 9, 7),
              m8 = ng * GATHER4(Dg, 9, 8) + one;
    const v4d c00 = m4 * m8 - m5 * m7, c01 = m5 * m6 - m3 * m8, c02 = m3 * m7 - m4 * m6;
    const v4d det = m0 * c00 + m1 * c01 + m2 * c02;
    if (!V4_ALL_REGULAR(det)) return 0;
    const v4d id = one / det;
    const v4d p[9] = {c00 * id, (m2 * m7 - m1 * m8) * id, (m1 * m5 - m2 * m4) * id,
                      c01 * id, (m0 * m8 - m2 * m6) * id, (m2 * m3 - m0 * m5) * id,
                      c02 * id, (m1 * m6 - m0 * m7) * id, (m0 * m4 - m1 * m3) * id};
    for (int i = 0; i < 9; i++) V4_STORE(Pg + 4 * i, p[i]);
    const v4d w0 = p[0] * u0 + p[1] * u1 + p[2] * u2, w1 = p[3] * u0 + p[4] * u1 + p[5] * u2,
              w2 = p[6] * u0 + p[7] * u1 + p[8] * u2;
    const v4d t = GATHER4(vg, 3, 0) * w0 + GATHER4(vg, 3, 1) * w1 + GATHER4(vg, 3, 2) * w2;
    double *wg = W + 12 * g;
    for (int l = 0; l < 4; l++) {
      wg[3 * l] = w0[l];
      wg[3 * l + 1] = w1[l];
      wg[3 * l + 2] = w2[l];
      acc += t[l];
    }
  }
  *vw = acc + ((accd[0] + accd[1]) + (accd[2] + accd[3]));
  return 1;
}

/* x = P⁻¹b on groups of four 3×3 blocks (P⁻¹ grouped as factor_block3
 * leaves it); returns Σ v·x block after block. */
BLR_CLONES
static double solve_block3(size_t G, const double *restrict Pinv, const double *restrict V,
                           const unsigned char *restrict gd, const double *restrict b,
                           double *restrict x) {
  double s = 0.0;
  v4d sd = {0, 0, 0, 0}; /* the diagonal groups' part */
  for (size_t g = 0; g < G; g++) {
    const double *P = Pinv + 36 * g, *bg = b + 12 * g, *vg = V + 12 * g;
    if (gd && gd[g]) { /* state order, as factor_block3 keeps it */
      diag12(P, bg, x + 12 * g, vg, &sd);
      continue;
    }
    const v4d b0 = GATHER4(bg, 3, 0), b1 = GATHER4(bg, 3, 1), b2 = GATHER4(bg, 3, 2);
    const v4d x0 = V4(P) * b0 + V4(P + 4) * b1 + V4(P + 8) * b2;
    const v4d x1 = V4(P + 12) * b0 + V4(P + 16) * b1 + V4(P + 20) * b2;
    const v4d x2 = V4(P + 24) * b0 + V4(P + 28) * b1 + V4(P + 32) * b2;
    const v4d t = GATHER4(vg, 3, 0) * x0 + GATHER4(vg, 3, 1) * x1 + GATHER4(vg, 3, 2) * x2;
    double *xg = x + 12 * g;
    for (int l = 0; l < 4; l++) {
      xg[3 * l] = x0[l];
      xg[3 * l + 1] = x1[l];
      xg[3 * l + 2] = x2[l];
      s += t[l];
    }
  }
  return s + ((sd[0] + sd[1]) + (sd[2] + sd[3]));
}

/* x += c w */
BLR_CLONES
static void axpy(size_t n, double c, const double *restrict w, double *restrict x) {
  for (size_t q = 0; q < n; q++) x[q] += c * w[q];
}

typedef struct blr {
  size_t n, bs, r;
  blr_fill_fn fill;
  void *user;
  blr_state_fn state;
  void *mem;
  double *D, *U, *V; /* A's structure at t_cached */
  double *Pinv;      /* block inverses of I − γD */
  double *W;         /* P⁻¹U, r columns */
  double S[BLR_MAXRANK * BLR_MAXRANK]; /* LU of I − γVᵀW (no pivoting needed: r ≤ 2, diag-dominant) */
  int piv[BLR_MAXRANK];
  double t_cached, g_cached;
  int valid;
  int filled; /* D, U, V hold the last fill (the fill may keep them) */
  unsigned char *gdiag; /* 3×3 blocks: per group of four, 1 if all four are diagonal */
  long nsetups, nsolves;
  int last_flag;
} blr;

#define CONTENT(LS) ((blr *)(LS)->content)

static SUNLinearSolver_Type blr_gettype(SUNLinearSolver LS) {
  (void)LS;
  return SUNLINEARSOLVER_MATRIX_EMBEDDED;
}
static SUNLinearSolver_ID blr_getid(SUNLinearSolver LS) {
  (void)LS;
  return SUNLINEARSOLVER_CUSTOM;
}
static int blr_initialize(SUNLinearSolver LS) {
  CONTENT(LS)->valid = CONTENT(LS)->filled = 0;
  return SUNLS_SUCCESS;
}
static int blr_setup(SUNLinearSolver LS, SUNMatrix A) {
  (void)A; /* never called by CVODES for matrix-embedded solvers */
  (void)LS;
  return SUNLS_SUCCESS;
}
static sunindextype blr_lastflag(SUNLinearSolver LS) { return CONTENT(LS)->last_flag; }
static int blr_space(SUNLinearSolver LS, long *lrw, long *liw) {
  blr *c = CONTENT(LS);
  *lrw = (long)(c->n / c->bs * c->bs * c->bs * 2 + c->n * c->r * 3);
  *liw = 16;
  return SUNLS_SUCCESS;
}

/* Inverse of a 3×3 matrix by cofactors; returns 0 if singular. */
static int inv3(const double *m, double *o) {
  double c00 = m[4] * m[8] - m[5] * m[7];
  double c01 = m[5] * m[6] - m[3] * m[8];
  double c02 = m[3] * m[7] - m[4] * m[6];
  double det = m[0] * c00 + m[1] * c01 + m[2] * c02;
  if (!(fabs(det) > 0.0) || !isfinite(det)) return 0;
  double id = 1.0 / det;
  o[0] = c00 * id;
  o[1] = (m[2] * m[7] - m[1] * m[8]) * id;
  o[2] = (m[1] * m[5] - m[2] * m[4]) * id;
  o[3] = c01 * id;
  o[4] = (m[0] * m[8] - m[2] * m[6]) * id;
  o[5] = (m[2] * m[3] - m[0] * m[5]) * id;
  o[6] = c02 * id;
  o[7] = (m[1] * m[6] - m[0] * m[7]) * id;
  o[8] = (m[0] * m[4] - m[1] * m[3]) * id;
  return 1;
}

static void apply_pinv(const blr *c, const double *b, double *y) {
  const size_t bs = c->bs, K = c->n / bs;
  if (bs == 1) {
    for (size_t i = 0; i < c->n; i++) y[i] = c->Pinv[i] * b[i];
    return;
  }
  for (size_t k = 0; k < K; k++) {
    const double *P = c->Pinv + k * 9;
    const double *bk = b + 3 * k;
    double *yk = y + 3 * k;
    double b0 = bk[0], b1 = bk[1], b2 = bk[2];
    yk[0] = P[0] * b0 + P[1] * b1 + P[2] * b2;
    yk[1] = P[3] * b0 + P[4] * b1 + P[5] * b2;
    yk[2] = P[6] * b0 + P[7] * b1 + P[8] * b2;
  }
}

static int factor(blr *c, double t, double gamma) {
  const int fl = c->fill(t, c->filled, c->D, c->U, c->V, c->user);
  c->filled = fl == 0 || (fl == 1 && c->filled);
  if (!c->filled) return SUNLS_PACKAGE_FAIL_REC;
  const size_t bs = c->bs, K = c->n / bs, r = c->r, n = c->n;
  if (bs == 1 && r == 1) {
    const double vw = factor_diag1(n, gamma, c->D, c->U, c->V, c->Pinv, c->W);
    if (!isfinite(vw)) return SUNLS_LUFACT_FAIL;
    c->S[0] = 1.0 - gamma * vw;
  } else if (bs == 1) {
    for (size_t i = 0; i < n; i++) {
      double p = 1.0 - gamma * c->D[i];
      if (!(fabs(p) > 0.0)) return SUNLS_LUFACT_FAIL;
      c->Pinv[i] = 1.0 / p;
    }
    for (size_t j = 0; j < r; j++) apply_pinv(c, c->U + j * n, c->W + j * n);
    /* S = I − γ VᵀW */
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < r; j++)
        c->S[i * r + j] = (i == j ? 1.0 : 0.0) - gamma * dot(c->V + i * n, c->W + j * n, n);
  } else {
    /* one pass per block: P_k⁻¹ = (I − γD_k)⁻¹, W_k = P_k⁻¹U_k and its part of
     * VᵀW (3×3 blocks: 1/3 of the passes of factor-then-apply) */
    double vw[BLR_MAXRANK * BLR_MAXRANK] = {0}, vw0 = 0.0;
    size_t k0 = 0;
    if (r == 1) { /* groups of four blocks, then the rest one by one */
      k0 = 4 * (K / 4);
      if (!factor_block3(K / 4, gamma, c->D, c->U, c->V, c->gdiag, c->Pinv, c->W, &vw0))
        return SUNLS_LUFACT_FAIL;
    }
    for (size_t k = k0; k < K; k++) {
      double P[9];
      const double *Dk = c->D + k * 9;
      for (int i = 0; i < 9; i++) P[i] = -gamma * Dk[i];
      P[0] += 1.0;
      P[4] += 1.0;
      P[8] += 1.0;
      double *Pi = c->Pinv + k * 9;
      if (!inv3(P, Pi)) return SUNLS_LUFACT_FAIL;
      if (r == 1) { /* the common case: a register sum */
        const double *u = c->U + 3 * k, *v = c->V + 3 * k;
        double *w = c->W + 3 * k;
        w[0] = Pi[0] * u[0] + Pi[1] * u[1] + Pi[2] * u[2];
        w[1] = Pi[3] * u[0] + Pi[4] * u[1] + Pi[5] * u[2];
        w[2] = Pi[6] * u[0] + Pi[7] * u[1] + Pi[8] * u[2];
        vw0 += v[0] * w[0] + v[1] * w[1] + v[2] * w[2];
        continue;
      }
      for (size_t j = 0; j < r; j++) {
        const double *u = c->U + j * n + 3 * k;
        double *w = c->W + j * n + 3 * k;
        w[0] = Pi[0] * u[0] + Pi[1] * u[1] + Pi[2] * u[2];
        w[1] = Pi[3] * u[0] + Pi[4] * u[1] + Pi[5] * u[2];
        w[2] = Pi[6] * u[0] + Pi[7] * u[1] + Pi[8] * u[2];
        for (size_t i = 0; i < r; i++) {
          const double *v = c->V + i * n + 3 * k;
          vw[i * r + j] += v[0] * w[0] + v[1] * w[1] + v[2] * w[2];
        }
      }
    }
    if (r == 1) vw[0] = vw0;
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < r; j++) c->S[i * r + j] = (i == j ? 1.0 : 0.0) - gamma * vw[i * r + j];
  }
  /* LU of S with partial pivoting (r is tiny) */
  for (size_t k = 0; k < r; k++) {
    size_t p = k;
    for (size_t i = k + 1; i < r; i++)
      if (fabs(c->S[i * r + k]) > fabs(c->S[p * r + k])) p = i;
    if (!(fabs(c->S[p * r + k]) > 0.0)) return SUNLS_LUFACT_FAIL;
    c->piv[k] = (int)p;
    if (p != k)
      for (size_t j = 0; j < r; j++) {
        double tmp = c->S[k * r + j];
        c->S[k * r + j] = c->S[p * r + j];
        c->S[p * r + j] = tmp;
      }
    for (size_t i = k + 1; i < r; i++) {
      double l = c->S[i * r + k] /= c->S[k * r + k];
      for (size_t j = k + 1; j < r; j++) c->S[i * r + j] -= l * c->S[k * r + j];
    }
  }
  c->t_cached = t;
  c->g_cached = gamma;
  c->valid = 1;
  c->nsetups++;
  return SUNLS_SUCCESS;
}

static int blr_solve(SUNLinearSolver LS, SUNMatrix A, N_Vector x, N_Vector b, realtype tol) {
  (void)A;
  (void)tol; /* direct solve: exact to rounding */
  blr *c = CONTENT(LS);
  double t, gamma;
  if (c->state(c->mem, &t, &gamma) != 0) return c->last_flag = SUNLS_MEM_NULL;
  if (!c->valid || t != c->t_cached || gamma != c->g_cached) {
    int f = factor(c, t, gamma);
    if (f != SUNLS_SUCCESS) {
      c->valid = 0;
      return c->last_flag = f;
    }
  }
  const size_t n = c->n, r = c->r;
  double *xd = N_VGetArrayPointer(x);
  const double *bd = N_VGetArrayPointer(b);
  double z[BLR_MAXRANK];
  if (c->bs == 1 && r == 1) {
    z[0] = solve_diag1(n, c->Pinv, c->V, bd, xd);
  } else if (c->bs == 1) {
    apply_pinv(c, bd, xd);
    for (size_t i = 0; i < r; i++) z[i] = dot(c->V + i * n, xd, n);
  } else if (r == 1) { /* x = P⁻¹b and z = Vᵀx in one pass (grouped P⁻¹, then the rest) */
    const double *v = c->V;
    const size_t K = n / 3, k0 = 4 * (K / 4);
    double s = solve_block3(K / 4, c->Pinv, v, c->gdiag, bd, xd);
    for (size_t k = k0; k < K; k++) {
      const double *P = c->Pinv + k * 9, *bk = bd + 3 * k, *vk = v + 3 * k;
      double *xk = xd + 3 * k;
      const double b0 = bk[0], b1 = bk[1], b2 = bk[2];
      const double x0 = P[0] * b0 + P[1] * b1 + P[2] * b2;
      const double x1 = P[3] * b0 + P[4] * b1 + P[5] * b2;
      const double x2 = P[6] * b0 + P[7] * b1 + P[8] * b2;
      xk[0] = x0;
      xk[1] = x1;
      xk[2] = x2;
      s += vk[0] * x0 + vk[1] * x1 + vk[2] * x2;
    }
    z[0] = s;
  } else {
    for (size_t i = 0; i < r; i++) z[i] = 0.0;
    for (size_t k = 0; k < n / 3; k++) {
      const double *P = c->Pinv + k * 9, *bk = bd + 3 * k;
      double *xk = xd + 3 * k;
      const double b0 = bk[0], b1 = bk[1], b2 = bk[2];
      xk[0] = P[0] * b0 + P[1] * b1 + P[2] * b2;
      xk[1] = P[3] * b0 + P[4] * b1 + P[5] * b2;
      xk[2] = P[6] * b0 + P[7] * b1 + P[8] * b2;
      for (size_t i = 0; i < r; i++) {
        const double *v = c->V + i * n + 3 * k;
        z[i] += v[0] * xk[0] + v[1] * xk[1] + v[2] * xk[2];
      }
    }
  }
  for (size_t k = 0; k < r; k++) { /* forward with row swaps, then back */
    size_t p = (size_t)c->piv[k];
    if (p != k) {
      double tmp = z[k];
      z[k] = z[p];
      z[p] = tmp;
    }
    for (size_t i = k + 1; i < r; i++) z[i] -= c->S[i * r + k] * z[k];
  }
  for (size_t k = r; k-- > 0;) {
    for (size_t j = k + 1; j < r; j++) z[k] -= c->S[k * r + j] * z[j];
    z[k] /= c->S[k * r + k];
  }
  for (size_t j = 0; j < r; j++) axpy(n, gamma * z[j], c->W + j * n, xd);
  c->nsolves++;
  return c->last_flag = SUNLS_SUCCESS;
}

static int blr_free(SUNLinearSolver LS) {
  if (!LS) return SUNLS_SUCCESS;
  blr *c = CONTENT(LS);
  if (c) {
    free(c->D);
    free(c->U);
    free(c->V);
    free(c->Pinv);
    free(c->W);
    free(c->gdiag);
    free(c);
  }
  LS->content = NULL;
  SUNLinSolFreeEmpty(LS);
  return SUNLS_SUCCESS;
}

SUNLinearSolver schedopt_blr_linsol_create(size_t n, size_t bs, size_t rank, blr_fill_fn fill,
                                  void *user, blr_state_fn state, void *mem,
                                  SUNContext ctx) {
  if (bs != 1 && bs != 3) return NULL;
  if (rank < 1 || rank > BLR_MAXRANK || n % bs) return NULL;
  SUNLinearSolver LS = SUNLinSolNewEmpty(ctx);
  if (!LS) return NULL;
  LS->ops->gettype = blr_gettype;
  LS->ops->getid = blr_getid;
  LS->ops->initialize = blr_initialize;
  LS->ops->setup = blr_setup;
  LS->ops->solve = blr_solve;
  LS->ops->lastflag = blr_lastflag;
  LS->ops->space = blr_space;
  LS->ops->free = blr_free;
  blr *c = calloc(1, sizeof *c);
  if (!c) {
    SUNLinSolFreeEmpty(LS);
    return NULL;
  }
  LS->content = c;
  c->n = n;
  c->bs = bs;
  c->r = rank;
  c->fill = fill;
  c->user = user;
  c->state = state;
  c->mem = mem;
  c->D = malloc(n * bs * sizeof(double));
  c->U = malloc(n * rank * sizeof(double));
  c->V = malloc(n * rank * sizeof(double));
  c->Pinv = malloc(n * bs * sizeof(double));
  c->W = malloc(n * rank * sizeof(double));
  if (!c->D || !c->U || !c->V || !c->Pinv || !c->W) {
    blr_free(LS);
    return NULL;
  }
  return LS;
}

int schedopt_blr_linsol_set_diag(SUNLinearSolver LS, const unsigned char *diag) {
  blr *c = CONTENT(LS);
  if (c->bs != 3) return 0;
  const size_t G = c->n / 3 / 4;
  unsigned char *gd = calloc(G ? G : 1, 1);
  if (!gd) return -1;
  for (size_t g = 0; g < G; g++)
    gd[g] = diag[4 * g] && diag[4 * g + 1] && diag[4 * g + 2] && diag[4 * g + 3];
  free(c->gdiag);
  c->gdiag = gd;
  c->valid = 0;
  return 0;
}

void schedopt_blr_linsol_set_mem(SUNLinearSolver LS, void *mem) {
  CONTENT(LS)->mem = mem;
  CONTENT(LS)->valid = CONTENT(LS)->filled = 0;
}
void schedopt_blr_linsol_invalidate(SUNLinearSolver LS) {
  CONTENT(LS)->valid = CONTENT(LS)->filled = 0;
}
long schedopt_blr_linsol_nsetups(SUNLinearSolver LS) { return CONTENT(LS)->nsetups; }
long schedopt_blr_linsol_nsolves(SUNLinearSolver LS) { return CONTENT(LS)->nsolves; }
