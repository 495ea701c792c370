/* plrf — power-law random-feature regression under SGD (docs/theory.md §1).
 *
 * States are per-mode risk contributions, scaled by λ_k so that E = Σ a_k:
 *   SGD       y_k = λ_k C_k                              (block 1)
 *   momentum  (a, v, x)_k = λ_k (E[e²], E[v²], E[e·v])    (block 3)
 * With split, the state holds two copies: bias (starts at p_k, driven by its
 * own E only) and variance (starts at 0, driven by its E + tail + σ²); by
 * linearity their sum is the full dynamics.
 *
 * One exact step (Gaussian features, batch B, Q = E + tail + σ²):
 *   SGD:  a ← (1 − ηλ)² a + (η²λ²/B)(a + Q)
 *   HB:   g = η²λ²[(1 + 1/B) a + Q/B]
 *         v ← μ² v − 2μηλ x + g
 *         x ← μ x − ηλ a + v_new
 *         a ← a + 2μ x − 2ηλ a + v_new
 * The step is always exact (the dynamics option shapes only the ODE).  The
 * matched ODE is dy/dt = (map − I) y; the sde form drops the η²λ² a drift
 * term (the full-batch part of g).
 *
 * Overdamped modes (momentum_modes = K < N): modes k > K keep a only, with
 * (v, x) at the values where their ODE rows vanish (they relax at rate
 * ~ 1 − μ, a moves at ~ 2ηλ/(1 − μ); the error is O(ηλ/(1 − μ)²) of a's
 * change).  Solving those two rows for (v, x) given a and g = ga a + gq Q:
 *   da/dt = c1 a + c2 Q,   Δ = (1 − μ)²(1 + μ) + 2μ el,
 *   c1 = [(1 + μ) ga − 2el (1 − μ² + μ el)] / Δ,   c2 = (1 + μ) gq / Δ
 * (μ = 0 gives SGD; el → 0 gives rate 2el/(1 − μ) and noise gq/(1 − μ)²;
 * the fixed points are the full blocks').  A copy is laid out as the K
 * triples, then the N − K single states (N − K a multiple of 3, so that
 * they form diagonal 3×3 blocks of the Jacobian).  The exact step needs the
 * full triples: such an instance has no recursion (plrf_exact). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dynamics/model_impl.h"

/* ---- vector helpers (the ODE's kernels and the recursion) ---------------
 * Sums run in LANES independent partial sums: a single running sum is a
 * chain of dependent additions (4 cycles each) that costs more than the
 * pass itself, and the lanes let the compiler vectorize the loop. */
#define LANES 8

/* Two modes at a time in GCC/Clang vector types (SSE2 registers on x86-64)
 * where the compilers do not vectorize the plain loop: the (a, v, x) triples
 * of momentum, and the several sums of the reverse step. */
typedef double v2d __attribute__((vector_size(16)));
/* Four at a time (one AVX2 register in the avx2 clone, two SSE2 ones otherwise). */
typedef double v4d __attribute__((vector_size(32)));
typedef double v4d_u __attribute__((vector_size(32), aligned(8), may_alias)); /* unaligned */
#define v4_load(p) (*(const v4d_u *)(p)) /* a macro: no function returns a v4d (psABI) */

static inline v2d v2_load(const double *p) {
  v2d v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline v2d v2_set(double a, double b) {
  const v2d v = {a, b};
  return v;
}

/* On x86-64 the passes are also compiled for AVX2, picked at load time (the
 * lanes and their order are the source's, so both give the same numbers).
 * GCC only: clang 14 exports the clones' resolvers as global symbols. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define PLRF_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef PLRF_CLONES
#define PLRF_CLONES
#endif

/* Four (a, v, x) triples are three 4-lane registers,
 *   s0 = a0 v0 x0 a1,  s1 = v1 x1 a2 v2,  s2 = x2 a3 v3 x3.
 * HB4_SPLIT gathers a, v, x lane by lane. */
typedef double hb4 __attribute__((vector_size(32)));
typedef double hb4u __attribute__((vector_size(32), aligned(8), may_alias));
#define HB4_LOAD(p) (*(const hb4u *)(p))
#define HB4_STORE(p, v) (*(hb4u *)(p) = (v))
#define HB4_SPLIT(s0, s1, s2, a, v, x)                  \
  const hb4 a = {s0[0], s0[3], s1[2], s2[1]};           \
  const hb4 v = {s0[1], s1[0], s1[3], s2[2]};           \
  const hb4 x = {s0[2], s1[1], s2[0], s2[3]}

/* With AVX the split and its inverse take two-register shuffles (hb4_get,
 * hb4_put): the 128-bit halves first (two blends and one cross-half move),
 * then one in-half shuffle per result, about a third of the shuffles GCC
 * makes of the lane-by-lane gathers.  Without AVX, GCC lowers such 256-bit
 * shuffles through memory (13× slower), so the heavy-ball recursion takes
 * them only where PLRF_WIDE() holds, in the AVX2 clone; elsewhere it keeps
 * its two-modes-at-a-time kernels.  Both compute every mode alike and sum
 * in the same two lanes in the same order (HB4_LO, HB4_HI): the same
 * numbers either way. */
#if defined(__clang__)
#define HB4_SHUF(p, q, i0, i1, i2, i3) __builtin_shufflevector((p), (q), i0, i1, i2, i3)
#elif defined(__GNUC__)
typedef long long hb4i __attribute__((vector_size(32)));
#define HB4_SHUF(p, q, i0, i1, i2, i3) __builtin_shuffle((p), (q), (hb4i){i0, i1, i2, i3})
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define PLRF_WIDE() __builtin_cpu_supports("avx2") /* 1 in the avx2 clone, 0 in the other */
#endif
#endif
#endif
#ifndef PLRF_WIDE
#define PLRF_WIDE() 0
#endif

/* The four triples at p into a, v, x. */
static inline __attribute__((always_inline)) void hb4_get(const double *p, hb4 *a, hb4 *v,
                                                          hb4 *x) {
  const hb4 s0 = HB4_LOAD(p), s1 = HB4_LOAD(p + 4), s2 = HB4_LOAD(p + 8);
  const hb4 h0 = HB4_SHUF(s0, s1, 0, 1, 6, 7), /* a0 v0 a2 v2 */
      h1 = HB4_SHUF(s0, s2, 2, 3, 4, 5),       /* x0 a1 x2 a3 */
      h2 = HB4_SHUF(s1, s2, 0, 1, 6, 7);       /* v1 x1 v3 x3 */
  *a = HB4_SHUF(h0, h1, 0, 5, 2, 7);
  *v = HB4_SHUF(h0, h2, 1, 4, 3, 6);
  *x = HB4_SHUF(h1, h2, 0, 5, 2, 7);
}

/* a, v, x back into four triples at p. */
static inline __attribute__((always_inline)) void hb4_put(double *p, const hb4 *a,
                                                          const hb4 *v, const hb4 *x) {
  const hb4 h0 = HB4_SHUF(*a, *v, 0, 4, 2, 6), /* a0 v0 a2 v2 */
      h1 = HB4_SHUF(*x, *a, 0, 5, 2, 7),       /* x0 a1 x2 a3 */
      h2 = HB4_SHUF(*v, *x, 1, 5, 3, 7);       /* v1 x1 v3 x3 */
  HB4_STORE(p, HB4_SHUF(h0, h1, 0, 1, 4, 5));
  HB4_STORE(p + 4, HB4_SHUF(h2, h0, 0, 1, 6, 7));
  HB4_STORE(p + 8, HB4_SHUF(h1, h2, 2, 3, 6, 7));
}

static double lanes_total(const double *s) {
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Σ_k y[k·stride]; a contiguous copy (stride 1) in vector registers, with
 * the same lanes */
PLRF_CLONES
static double strided_sum(const double *y, size_t N, size_t stride) {
  double s[LANES] = {0}, rest = 0.0;
  size_t k = 0;
  if (stride == 1)
    for (; k + LANES <= N; k += LANES)
      for (size_t j = 0; j < LANES; j++) s[j] += y[k + j];
  else
    for (; k + LANES <= N; k += LANES)
      for (size_t j = 0; j < LANES; j++) s[j] += y[(k + j) * stride];
  for (; k < N; k++) rest += y[k * stride];
  return lanes_total(s) + rest;
}

typedef struct plrf {
  schedopt_plrf_params p;
  size_t N;      /* modes */
  size_t bs;     /* 1 or 3 */
  size_t ncopy;  /* 1 or 2 */
  size_t nf;     /* modes with all their states (momentum: the triples) */
  size_t ns;     /* overdamped momentum modes, a only: N − nf */
  size_t nc;     /* states per copy: bs·nf + ns */
  size_t n;      /* states */
  double tail, R; /* R = tail + σ² */
  double *lam;   /* λ_k */
  double *pw;    /* p_k = λ_k C_k(0) */
} plrf;

static schedopt_status plrf_alloc(const void *params, void **self, schedopt_error *err) {
  const schedopt_plrf_params *p = params;
  if (!(p->a > 1.0) || !isfinite(p->a))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: a = %g is out of range: must be > 1", p->a);
  if (!(p->b > 1.0) || !isfinite(p->b))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: b = %g is out of range: must be > 1", p->b);
  if (p->N < 1 || p->N > 1000000)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: N = %ld is out of range: must be in [1, 1000000]", p->N);
  if (!(p->sigma2 >= 0.0) || !isfinite(p->sigma2))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: sigma2 = %g is out of range: must be >= 0", p->sigma2);
  if (!(p->lambda_scale > 0.0) || !isfinite(p->lambda_scale) || !(p->signal_scale > 0.0) ||
      !isfinite(p->signal_scale))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: lambda_scale and signal_scale must be finite and > 0");
  if (!isnan(p->tail) && !(p->tail >= 0.0 && isfinite(p->tail)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: tail = %g is out of range: must be >= 0", p->tail);
  if (p->momentum_modes < 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "plrf: momentum_modes = %ld is out of range: must be >= 0 (0: all)",
                              p->momentum_modes);
  plrf *m = calloc(1, sizeof *m);
  if (!m) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  m->p = *p;
  m->N = (size_t)p->N;
  m->bs = p->momentum ? 3 : 1;
  m->ncopy = p->split ? 2 : 1;
  m->nf = m->N;
  if (p->momentum && p->momentum_modes > 0 && (size_t)p->momentum_modes < m->N) {
    m->nf = (size_t)p->momentum_modes;
    while ((m->N - m->nf) % 3) m->nf++; /* whole diagonal 3×3 blocks */
  }
  m->ns = m->N - m->nf;
  m->nc = m->bs * m->nf + m->ns;
  m->n = m->nc * m->ncopy;
  m->lam = malloc(m->N * sizeof *m->lam);
  m->pw = malloc(m->N * sizeof *m->pw);
  if (!m->lam || !m->pw) {
    free(m->lam);
    free(m->pw);
    free(m);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %ld modes", p->N);
  }
  for (size_t k = 0; k < m->N; k++) {
    double kk = (double)(k + 1);
    m->lam[k] = p->lambda_scale * pow(kk, -p->b);
    m->pw[k] = p->signal_scale * pow(kk, -p->a);
  }
  m->tail = isnan(p->tail) ? p->signal_scale * schedopt_powerlaw_tail(p->N, p->a) : p->tail;
  m->R = m->tail + p->sigma2;
  *self = m;
  return SCHEDOPT_OK;
}

static void plrf_free(void *self) {
  plrf *m = self;
  if (!m) return;
  free(m->lam);
  free(m->pw);
  free(m);
}

static size_t plrf_size(const void *self) { return ((const plrf *)self)->n; }
static size_t plrf_block(const void *self) { return ((const plrf *)self)->bs; }
static size_t plrf_rank(const void *self) { return ((const plrf *)self)->ncopy; }

static void plrf_initial(const void *self, double *y) {
  const plrf *m = self;
  memset(y, 0, m->n * sizeof *y);
  for (size_t k = 0; k < m->nf; k++) y[k * m->bs] = m->pw[k]; /* copy 0, component a */
  for (size_t k = m->nf; k < m->N; k++) y[m->bs * m->nf + (k - m->nf)] = m->pw[k];
}

/* Σ a over copy c */
static double copy_E(const plrf *m, const double *y, size_t c) {
  const double *yc = y + c * m->nc;
  return strided_sum(yc, m->nf, m->bs) + (m->ns ? strided_sum(yc + 3 * m->nf, m->ns, 1) : 0.0);
}

/* 1 when step is the exact map (not with overdamped modes reduced). */
static int plrf_exact(const void *self) { return ((const plrf *)self)->ns == 0; }

/* The overdamped modes' blocks are diagonal (od_jac). */
static void plrf_block_diag(const void *self, unsigned char *diag) {
  const plrf *m = self;
  const size_t nb = m->n / m->bs, per = m->nc / m->bs;
  for (size_t k = 0; k < nb; k++) diag[k] = m->bs == 3 && k % per >= m->nf;
}

/* da_k/dt = c1 a_k + c2 Q over the overdamped modes (λ from mode nf). */
PLRF_CLONES
static void od_rhs_pass(const double *restrict lam, const double *restrict y,
                        double *restrict yd, size_t ns, double eta, double mu, double kappa,
                        double iB, double Q) {
  const double mp = 1.0 + mu, om = 1.0 - mu, d0 = om * om * mp, q = 1.0 - mu * mu;
  for (size_t k = 0; k < ns; k++) {
    const double el = eta * lam[k], e2 = el * el;
    const double id = 1.0 / (d0 + 2.0 * mu * el);
    yd[k] = ((mp * kappa * e2 - 2.0 * el * (q + mu * el)) * y[k] + mp * e2 * iB * Q) * id;
  }
}

/* Additive driving of copy c: Q = E_c + (tail + σ² on the copy that carries noise). */
static double copy_R(const plrf *m, size_t c) { return (m->ncopy == 1 || c == 1) ? m->R : 0.0; }

/* The 3×3 momentum block of (map − I) (or its 1×1 SGD case), rows/cols (a,v,x). */
static void hb_block(const plrf *m, const schedopt_uval *u, double lam, double *D, double *g_q) {
  double eta = u->lr, B = u->batch, mu = u->momentum;
  double el = eta * lam, e2 = el * el;
  double ga = (m->p.dynamics == SCHEDOPT_DYN_SDE) ? e2 / B : e2 * (1.0 + 1.0 / B);
  *g_q = e2 / B;
  if (m->bs == 1) {
    D[0] = -2.0 * el + ga;
    return;
  }
  D[0] = -2.0 * el + ga;        D[1] = mu * mu;       D[2] = 2.0 * mu - 2.0 * mu * el;
  D[3] = ga;                    D[4] = mu * mu - 1.0; D[5] = -2.0 * mu * el;
  D[6] = ga - el;               D[7] = mu * mu;       D[8] = mu - 2.0 * mu * el - 1.0;
}

/* SGD: d a_k/dt = (−2ηλ_k + η²λ_k² κ) a_k + (η²λ_k²/B) Q, κ = 1 + 1/B
 * (matched) or 1/B (sde); one pass after the sum Q. */
PLRF_CLONES
static void sgd_rhs_pass(const double *restrict lam, const double *restrict y,
                         double *restrict yd, size_t N, double eta, double kappa, double iB,
                         double Q) {
  for (size_t k = 0; k < N; k++) {
    const double el = eta * lam[k], e2 = el * el;
    yd[k] = (e2 * kappa - 2.0 * el) * y[k] + e2 * iB * Q;
  }
}

/* Heavy ball: the 3×3 block of hb_block times (a, v, x)_k plus gq Q, one pass
 * (the block's entries formed in registers, not stored). */
PLRF_CLONES
static void hb_rhs_pass(const double *restrict lam, const double *restrict y,
                        double *restrict yd, size_t N, double eta, double mu, double ka,
                        double iB, double Q) {
  const double mu2 = mu * mu, d4 = mu2 - 1.0;
  for (size_t k = 0; k < N; k++) {
    const double el = eta * lam[k], e2 = el * el, ga = e2 * ka, gQ = e2 * iB * Q;
    const double mel = 2.0 * mu * el;
    const double a = y[3 * k], v = y[3 * k + 1], x = y[3 * k + 2];
    yd[3 * k] = (ga - 2.0 * el) * a + mu2 * v + (2.0 * mu - mel) * x + gQ;
    yd[3 * k + 1] = ga * a + d4 * v - mel * x + gQ;
    yd[3 * k + 2] = (ga - el) * a + mu2 * v + (mu - mel - 1.0) * x + gQ;
  }
}

static void plrf_rhs(const void *self, const schedopt_uval *u, const double *y, double *ydot) {
  const plrf *m = self;
  const size_t bs = m->bs, N = m->N;
  const double eta = u->lr, iB = 1.0 / u->batch;
  const int sde = m->p.dynamics == SCHEDOPT_DYN_SDE;
  const double kappa = sde ? iB : 1.0 + iB; /* ga = e2 κ */
  for (size_t c = 0; c < m->ncopy; c++) {
    const double Q = copy_E(m, y, c) + copy_R(m, c);
    const double *yc = y + c * m->nc;
    double *dc = ydot + c * m->nc;
    if (bs == 1) {
      sgd_rhs_pass(m->lam, yc, dc, N, eta, kappa, iB, Q);
      continue;
    }
    hb_rhs_pass(m->lam, yc, dc, m->nf, eta, u->momentum, kappa, iB, Q);
    if (m->ns)
      od_rhs_pass(m->lam + m->nf, yc + 3 * m->nf, dc + 3 * m->nf, m->ns, eta, u->momentum,
                  kappa, iB, Q);
  }
}

/* The overdamped modes' part of jac for one copy: diagonal 3×3 blocks of c1
 * (D from their first block), U = c2 and V = 1 (each state is an a).  The
 * coefficients in one vector pass (c1 parked in V), then the blocks. */
PLRF_CLONES
static void od_jac_pass(const double *restrict lam, size_t ns, double eta, double mu,
                        double kappa, double iB, double *restrict D, double *restrict U,
                        double *restrict V) {
  const double mp = 1.0 + mu, om = 1.0 - mu, d0 = om * om * mp, q = 1.0 - mu * mu;
  for (size_t k = 0; k < ns; k++) {
    const double el = eta * lam[k], e2 = el * el, id = 1.0 / (d0 + 2.0 * mu * el);
    V[k] = (mp * kappa * e2 - 2.0 * el * (q + mu * el)) * id;
    U[k] = mp * e2 * iB * id;
  }
  for (size_t j = 0; j < ns / 3; j++) {
    double *Dj = D + 9 * j;
    const double *c = V + 3 * j;
    Dj[0] = c[0], Dj[1] = 0.0, Dj[2] = 0.0;
    Dj[3] = 0.0, Dj[4] = c[1], Dj[5] = 0.0;
    Dj[6] = 0.0, Dj[7] = 0.0, Dj[8] = c[2];
  }
  for (size_t k = 0; k < ns; k++) V[k] = 1.0;
}

static void od_jac(const plrf *m, const schedopt_uval *u, double *D, double *U, double *V) {
  const double iB = 1.0 / u->batch;
  const double kappa = (m->p.dynamics == SCHEDOPT_DYN_SDE) ? iB : 1.0 + iB;
  od_jac_pass(m->lam + m->nf, m->ns, u->lr, u->momentum, kappa, iB, D, U, V);
}

static void plrf_jac(const void *self, const schedopt_uval *u, double *D, double *U, double *V) {
  const plrf *m = self;
  const size_t bs = m->bs, N = m->N, nb = bs * bs, n = m->n;
  if (bs == 1) { /* copies: D and U repeat, V_c = 1 on copy c */
    const double eta = u->lr, iB = 1.0 / u->batch;
    const double kappa = (m->p.dynamics == SCHEDOPT_DYN_SDE) ? iB : 1.0 + iB;
    for (size_t k = 0; k < N; k++) {
      double el = eta * m->lam[k], e2 = el * el;
      D[k] = e2 * kappa - 2.0 * el;
      U[k] = e2 * iB;
    }
    for (size_t c = 1; c < m->ncopy; c++) memcpy(D + c * N, D, N * sizeof *D);
    for (size_t c = 0; c < m->ncopy; c++)
      for (size_t j = 0; j < m->ncopy; j++) {
        double *Uc = U + c * n + j * N, *Vc = V + c * n + j * N;
        if (c == j) {
          if (c) memcpy(Uc, U, N * sizeof *U);
          for (size_t k = 0; k < N; k++) Vc[k] = 1.0;
        } else {
          memset(Uc, 0, N * sizeof *U);
          memset(Vc, 0, N * sizeof *V);
        }
      }
    return;
  }
  if (m->ncopy == 1) { /* one pass, every entry written (no clearing) */
    const double eta = u->lr, mu = u->momentum, B = u->batch, kappa = 1.0 + 1.0 / B;
    const int sde = m->p.dynamics == SCHEDOPT_DYN_SDE;
    const double mu2 = mu * mu, d4 = mu2 - 1.0;
    for (size_t k = 0; k < m->nf; k++) { /* hb_block's entries, the same roundings */
      const double el = eta * m->lam[k], e2 = el * el, gq = e2 / B;
      const double ga = sde ? gq : e2 * kappa;
      const double mel = 2.0 * mu * el;
      double *Dk = D + 9 * k, *Uk = U + 3 * k, *Vk = V + 3 * k;
      Dk[0] = ga - 2.0 * el; Dk[1] = mu2; Dk[2] = 2.0 * mu - mel;
      Dk[3] = ga;            Dk[4] = d4;  Dk[5] = -mel;
      Dk[6] = ga - el;       Dk[7] = mu2; Dk[8] = mu - mel - 1.0;
      Uk[0] = Uk[1] = Uk[2] = gq;
      Vk[0] = 1.0; /* E = Σ a */
      Vk[1] = Vk[2] = 0.0;
    }
    od_jac(m, u, D + 9 * m->nf, U + 3 * m->nf, V + 3 * m->nf);
    return;
  }
  memset(U, 0, m->ncopy * n * sizeof *U);
  memset(V, 0, m->ncopy * n * sizeof *V);
  for (size_t k = 0; k < m->nf; k++) {
    double gq;
    hb_block(m, u, m->lam[k], D + k * nb, &gq);
    for (size_t c = 0; c < m->ncopy; c++) {
      size_t off = c * m->nc + k * bs;
      if (c > 0) memcpy(D + (c * m->nc / 3 + k) * nb, D + k * nb, nb * sizeof *D);
      for (size_t i = 0; i < bs; i++) U[c * n + off + i] = gq;
      V[c * n + off] = 1.0; /* E_c = Σ a over copy c */
    }
  }
  for (size_t c = 0; c < m->ncopy && m->ns; c++) {
    const size_t off = c * m->nc + 3 * m->nf;
    od_jac(m, u, D + 3 * off, U + c * n + off, V + c * n + off);
  }
}

static void plrf_readout(const void *self, const double *y, schedopt_readout *out) {
  const plrf *m = self;
  double Eb = copy_E(m, y, 0);
  double Ev = m->ncopy > 1 ? copy_E(m, y, 1) : NAN;
  double E = m->ncopy > 1 ? Eb + Ev : Eb;
  out->approx = m->tail;
  out->excess = E + m->tail;
  out->loss = out->excess + m->p.sigma2;
  out->bias = m->ncopy > 1 ? Eb : NAN;
  out->variance = m->ncopy > 1 ? Ev : NAN;
}

/* ---- the recursion: one fused pass per copy ------------------------------
 * Each pass steps every mode and sums the new a's for the next step's Q and
 * the divergence check.  The sum runs in LANES independent partial sums: a
 * single running sum is a chain of dependent additions that costs more than
 * the step itself, and the lanes let the compiler vectorize the loop. */
/* SGD: a ← (1 − ηλ)² a + (η²λ²/B)(a + Q); returns Σ a_new. */
PLRF_CLONES
static double sgd_pass(const double *restrict lam, double *restrict y, size_t N, double eta,
                       double iB, double Q) {
  double s[LANES] = {0}, rest = 0.0;
  size_t k = 0;
  for (; k + LANES <= N; k += LANES)
    for (size_t j = 0; j < LANES; j++) {
      const double el = eta * lam[k + j], om = 1.0 - el, a = y[k + j];
      const double an = om * om * a + (el * el * iB) * (a + Q);
      y[k + j] = an;
      s[j] += an;
    }
  for (; k < N; k++) {
    const double el = eta * lam[k], om = 1.0 - el, a = y[k];
    y[k] = om * om * a + (el * el * iB) * (a + Q);
    rest += y[k];
  }
  return lanes_total(s) + rest;
}

/* Heavy ball on the (a, v, x) triples (see the top of the file); returns Σ a_new. */
static inline double hb_mode(double *restrict yk, double el, double mu, double kB, double QB) {
  const double a = yk[0], v = yk[1], x = yk[2], e2 = el * el;
  const double g = e2 * (kB * a + QB);
  const double vn = mu * mu * v - 2.0 * mu * el * x + g;
  const double xn = mu * x - el * a + vn;
  const double an = a + 2.0 * mu * x - 2.0 * el * a + vn;
  yk[0] = an;
  yk[1] = vn;
  yk[2] = xn;
  return an;
}

/* The two 128-bit halves of a 4-lane register: a sum over modes takes the
 * modes in pairs, lo then hi, so that its two lanes add exactly what the
 * two-at-a-time kernels add, in their order (the same numbers on every CPU). */
#define HB4_LO(r) ((v2d){(r)[0], (r)[1]})
#define HB4_HI(r) ((v2d){(r)[2], (r)[3]})

/* Modes 0 … 4⌊N/4⌋ − 1 of hb_pass four at a time (AVX2 only, see hb4_get),
 * their a_new summed into s; returns the modes done. */
static inline __attribute__((always_inline)) size_t
hb_pass4(const double *restrict lam, double *restrict y, size_t N, double eta, double kB,
         double mu, double QB, v2d *s) {
  size_t k = 0;
  for (; k + 4 <= N; k += 4) {
    hb4 a, v, x;
    hb4_get(y + 3 * k, &a, &v, &x);
    const hb4 el = eta * HB4_LOAD(lam + k), e2 = el * el;
    const hb4 g = e2 * (kB * a + QB), mx = mu * x, ea = el * a; /* as below */
    const hb4 vn = mu * mu * v - 2.0 * mu * el * x + g;
    const hb4 xn = mx - ea + vn;
    const hb4 an = a + 2.0 * mx - 2.0 * ea + vn;
    hb4_put(y + 3 * k, &an, &vn, &xn);
    *s += HB4_LO(an);
    *s += HB4_HI(an);
  }
  return k;
}

PLRF_CLONES
static double hb_pass(const double *restrict lam, double *restrict y, size_t N, double eta,
                      double B, double mu, double Q) {
  const double kB = 1.0 + 1.0 / B, QB = Q / B;
  v2d s = {0, 0};
  size_t k = PLRF_WIDE() ? hb_pass4(lam, y, N, eta, kB, mu, QB, &s) : 0;
  for (; k + 2 <= N; k += 2) { /* modes k, k + 1: a0 v0 x0 a1 v1 x1 */
    double *yk = y + 3 * k;
    const v2d el = eta * v2_load(lam + k), e2 = el * el;
    const v2d p0 = v2_load(yk), p1 = v2_load(yk + 2), p2 = v2_load(yk + 4);
    const v2d a = v2_set(p0[0], p1[1]), v = v2_set(p0[1], p2[0]), x = v2_set(p1[0], p2[1]);
    const v2d g = e2 * (kB * a + QB), mx = mu * x, ea = el * a; /* 2·(p·q) = (2p)·q exactly */
    const v2d vn = mu * mu * v - 2.0 * mu * el * x + g;
    const v2d xn = mx - ea + vn;
    const v2d an = a + 2.0 * mx - 2.0 * ea + vn;
    const v2d o0 = v2_set(an[0], vn[0]), o1 = v2_set(xn[0], an[1]), o2 = v2_set(vn[1], xn[1]);
    memcpy(yk, &o0, sizeof o0);
    memcpy(yk + 2, &o1, sizeof o1);
    memcpy(yk + 4, &o2, sizeof o2);
    s += an;
  }
  double rest = 0.0;
  for (; k < N; k++) rest += hb_mode(y + 3 * k, eta * lam[k], mu, kB, QB);
  return (s[0] + s[1]) + rest;
}

/* acc[c] = E_c = Σ a over copy c (V_c of jac).  The step, step_acc and
 * step_vjp below need the full triples (plrf_exact): a copy is N·bs states. */
static void plrf_project(const void *self, const double *y, double *acc) {
  const plrf *m = self;
  for (size_t c = 0; c < m->ncopy; c++) acc[c] = copy_E(m, y, c);
}

static double plrf_step_acc(const void *self, const schedopt_uval *u, double *y, double *acc) {
  const plrf *m = self;
  const size_t N = m->N, bs = m->bs;
  for (size_t c = 0; c < m->ncopy; c++) {
    const double Q = acc[c] + copy_R(m, c); /* E before the step */
    double *yc = y + c * N * bs;
    acc[c] = bs == 1 ? sgd_pass(m->lam, yc, N, u->lr, 1.0 / u->batch, Q)
                     : hb_pass(m->lam, yc, N, u->lr, u->batch, u->momentum, Q);
  }
  const double E = m->ncopy > 1 ? acc[0] + acc[1] : acc[0];
  return E + m->tail + m->p.sigma2; /* as plrf_readout */
}

static void plrf_step(const void *self, const schedopt_uval *u, double *y) {
  double acc[2];
  plrf_project(self, y, acc);
  plrf_step_acc(self, u, y, acc);
}

static double plrf_scale(const void *self) {
  const plrf *m = self;
  double s = 0.0;
  for (size_t k = 0; k < m->N; k++) s += m->pw[k];
  return s + m->R;
}


/* ---- gradients ----------------------------------------------------------- */

static void plrf_dloss(const void *self, double *g) {
  const plrf *m = self;
  memset(g, 0, m->n * sizeof *g);
  for (size_t c = 0; c < m->ncopy; c++) {
    double *gc = g + c * m->nc;
    for (size_t k = 0; k < m->nf; k++) gc[k * m->bs] = 1.0;
    for (size_t k = 0; k < m->ns; k++) gc[m->bs * m->nf + k] = 1.0;
  }
}

/* out[ch] = λᵀ ∂(A(u) y + c(u))/∂u_ch for the matched (sde = 0) or sde form.
 * Per mode, with el = ηλ, e2 = el², κ = 1 + 1/B (matched) or 1/B (sde):
 *   ∂ga/∂η = 2ηλ²κ, ∂ga/∂B = ∂gq/∂B = −e2/B², ∂gq/∂η = 2ηλ²/B, and the
 *   η- and μ-derivatives of the 3×3 block entries (see hb_block). */
static void form_vjp_u(const plrf *m, const schedopt_uval *u, const double *y,
                       const double *lam, double out[3], int sde) {
  const size_t bs = m->bs, N = m->N;
  const double eta = u->lr, B = u->batch, mu = u->momentum, iB = 1.0 / B;
  const double kappa = sde ? iB : 1.0 + iB;
  double oe = 0.0, ob = 0.0, om = 0.0;
  for (size_t c = 0; c < m->ncopy; c++) {
    const double Q = copy_E(m, y, c) + copy_R(m, c);
    const double *yc = y + c * N * bs, *lc = lam + c * N * bs;
    for (size_t k = 0; k < N; k++) {
      const double l = m->lam[k], el = eta * l, e2 = el * el;
      const double ga_e = 2.0 * eta * l * l * kappa, g_B = -e2 * iB * iB;
      const double gq_e = 2.0 * eta * l * l * iB;
      const double *yk = yc + k * bs, *lk = lc + k * bs;
      if (bs == 1) {
        oe += lk[0] * ((ga_e - 2.0 * l) * yk[0] + gq_e * Q);
        ob += lk[0] * g_B * (yk[0] + Q);
        continue;
      }
      const double a = yk[0], v = yk[1], x = yk[2];
      const double la = lk[0], lv = lk[1], lx = lk[2];
      /* ∂/∂η: rows a,v,x = [−2λ + ga_e, 0, −2μλ], [ga_e, 0, −2μλ], [ga_e − λ, 0, −2μλ] */
      oe += la * ((-2.0 * l + ga_e) * a - 2.0 * mu * l * x) +
            lv * (ga_e * a - 2.0 * mu * l * x) + lx * ((ga_e - l) * a - 2.0 * mu * l * x) +
            (la + lv + lx) * gq_e * Q;
      /* ∂/∂μ: [0, 2μ, 2 − 2el], [0, 2μ, −2el], [0, 2μ, 1 − 2el] */
      om += la * (2.0 * mu * v + (2.0 - 2.0 * el) * x) + lv * (2.0 * mu * v - 2.0 * el * x) +
            lx * (2.0 * mu * v + (1.0 - 2.0 * el) * x);
      /* ∂/∂B: ga_B on the a-column of every row, gq_B on Q */
      ob += (la + lv + lx) * g_B * (a + Q);
    }
  }
  out[0] = oe;
  out[1] = ob;
  out[2] = om;
}

/* The exact step is y ← y + A_m(u) y + c(u) with A_m the matched form, so
 * its reverse is out = vjp_u(matched) and λ ← λ + A_mᵀ λ,
 * A_mᵀ λ = blockdiag(Dᵀ) λ + V (Uᵀ λ) per copy.
 *
 * Two passes per copy.  The first reads y and λ once and forms the sums below
 * (per mode: l = λ_k the eigenvalue, L = Σ_i λ_{k,i} over the block, and for
 * momentum M = 2λ_a + λ_x); every term of out is a combination of them, since
 * gq = η²l²/B (so Uᵀλ = η²P/B), ∂gq/∂η = 2ηl²/B, ∂g/∂B = −η²l²/B², and the
 * η- and μ-derivatives of the block entries (hb_block) are linear in l:
 *   E = Σ a,  P = Σ l² L,  A = Σ l² L a,
 *   F = Σ l (a M + 2μ x L)  (SGD: Σ l a L),  G = Σ 2μ v L + x M,  H = Σ l x L;
 *   out_η = 2ηκ A − F' + 2η Q P/B,   F' = F (momentum) or 2F (SGD),
 *   out_B = −η²(A + Q P)/B²,   out_μ = G − 2η H.
 * The second applies λ ← λ + Dᵀλ + e_a Uᵀλ. */
typedef struct vsums {
  double E, P, A, F, G, H;
} vsums;

static void sgd_vjp_sums(const double *restrict lam, const double *restrict y,
                         const double *restrict lc, size_t N, vsums *S) {
  v2d E = {0, 0}, P = {0, 0}, A = {0, 0}, F = {0, 0}, E1 = E, P1 = P, A1 = A, F1 = F;
  size_t k = 0;
  for (; k + 4 <= N; k += 4) {
    const v2d l = v2_load(lam + k), a = v2_load(y + k), L = v2_load(lc + k), La = L * a,
              l2 = l * l;
    const v2d m = v2_load(lam + k + 2), b = v2_load(y + k + 2), M = v2_load(lc + k + 2),
              Mb = M * b, m2 = m * m;
    E += a, P += l2 * L, A += l2 * La, F += l * La;
    E1 += b, P1 += m2 * M, A1 += m2 * Mb, F1 += m * Mb;
  }
  E += E1, P += P1, A += A1, F += F1;
  double e = E[0] + E[1], p = P[0] + P[1], a2 = A[0] + A[1], f = F[0] + F[1];
  for (; k < N; k++) {
    const double l = lam[k], a = y[k], La = lc[k] * a, l2 = l * l;
    e += a, p += l2 * lc[k], a2 += l2 * La, f += l * La;
  }
  S->E = e, S->P = p, S->A = a2, S->F = f;
  S->G = S->H = 0.0;
}

/* The terms of hb_vjp_sums's six sums for one group of modes, in vector
 * lanes of any width: from λ_k (lk), the states a, v, x and the multipliers
 * la, lv, lx (with mu2 = 2μ), in order E, P, A, F, G, H. */
#define HB_VJP_TERMS(t, lk, a, v, x, la, lv, lx)                              \
  const __typeof__(a) l_ = (lk), l2_ = l_ * l_, L_ = (la) + (lv) + (lx),    \
                      M_ = 2.0 * (la) + (lx), xL_ = (x) * L_;                \
  const __typeof__(a) t[6] = {(a),                  l2_ * L_,                \
                              l2_ * L_ * (a),       l_ * ((a) * M_ + mu2 * xL_), \
                              mu2 * (v) * L_ + (x) * M_, l_ * xL_}

/* Modes 0 … 4⌊N/4⌋ − 1 of hb_vjp_sums four at a time (AVX2 only, see
 * hb4_get), summed into its two-lane sums s in its order; returns the modes
 * done. */
static inline __attribute__((always_inline)) size_t
hb_vjp_sums4(const double *restrict lam, const double *restrict y, const double *restrict lc,
             size_t N, double mu, v2d s[6]) {
  const double mu2 = 2.0 * mu;
  size_t k = 0;
  for (; k + 4 <= N; k += 4) {
    hb4 a, v, x, la, lv, lx;
    hb4_get(y + 3 * k, &a, &v, &x);
    hb4_get(lc + 3 * k, &la, &lv, &lx);
    HB_VJP_TERMS(t, HB4_LOAD(lam + k), a, v, x, la, lv, lx);
    for (int i = 0; i < 6; i++) {
      s[i] += HB4_LO(t[i]);
      s[i] += HB4_HI(t[i]);
    }
  }
  return k;
}

/* Modes k, k + 1 of the (a, v, x) triples: y + 3k holds a0 v0 x0 a1 v1 x1
 * (the first four at a time with AVX2, hb_vjp_sums4), then one at a time. */
PLRF_CLONES
static void hb_vjp_sums(const double *restrict lam, const double *restrict y,
                        const double *restrict lc, size_t N, double mu, vsums *S) {
  const double mu2 = 2.0 * mu;
  v2d s[6] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}};
  size_t k = PLRF_WIDE() ? hb_vjp_sums4(lam, y, lc, N, mu, s) : 0;
  for (; k + 2 <= N; k += 2) {
    const double *yk = y + 3 * k, *lk = lc + 3 * k;
    const v2d a = v2_set(yk[0], yk[3]), v = v2_set(yk[1], yk[4]), x = v2_set(yk[2], yk[5]);
    const v2d la = v2_set(lk[0], lk[3]), lv = v2_set(lk[1], lk[4]), lx = v2_set(lk[2], lk[5]);
    HB_VJP_TERMS(t, v2_load(lam + k), a, v, x, la, lv, lx);
    for (int i = 0; i < 6; i++) s[i] += t[i];
  }
  double e = s[0][0] + s[0][1], p = s[1][0] + s[1][1], a2 = s[2][0] + s[2][1],
         f = s[3][0] + s[3][1], g = s[4][0] + s[4][1], h = s[5][0] + s[5][1];
  for (; k < N; k++) {
    const double l = lam[k], l2 = l * l;
    const double a = y[3 * k], v = y[3 * k + 1], x = y[3 * k + 2];
    const double la = lc[3 * k], lv = lc[3 * k + 1], lx = lc[3 * k + 2];
    const double L = la + lv + lx, M = 2.0 * la + lx, xL = x * L;
    e += a, p += l2 * L, a2 += l2 * L * a, f += l * (a * M + mu2 * xL);
    g += mu2 * v * L + x * M, h += l * xL;
  }
  S->E = e, S->P = p, S->A = a2, S->F = f, S->G = g, S->H = h;
}

/* The overdamped modes' part of λᵀ ∂f/∂u and λᵀ f at a Hermite combination
 * y = Σ cy_j Y_j, r = Σ cl_j L_j (the multipliers), from columns off:
 *   E = Σ y,  Se = Σ r ∂c1/∂η y,  Qe = Σ r ∂c2/∂η,  Sm, Qm likewise in μ,
 *   Sf = Σ r c1 y,  Qf = Σ r c2,  Sc = Σ r c2 y;
 * then out_η = Se + Q Qe, out_μ = Sm + Q Qm, out_B = −(Sc + Q Qf)/B (∂c1/∂B =
 * −c2/B for either κ, ∂c2/∂B = −c2/B), λᵀ f = Sf + Q Qf.  With
 * Δ_μ = 2el − (1 − μ)(1 + 3μ) and c1, c2 of the top of the file (ga = e2 κ, gq = e2/B):
 *   ∂c1/∂η = λ [2(1 + μ)κ el − 2(1 − μ²) − 4μ el − 2μ c1]/Δ,
 *   ∂c1/∂μ = [(κ − 2) e2 + 4μ el − c1 Δ_μ]/Δ,
 *   ∂c2/∂η = λ [2(1 + μ) el/B − 2μ c2]/Δ,   ∂c2/∂μ = [e2/B − c2 Δ_μ]/Δ. */
typedef struct odsums {
  double E, Se, Qe, Sm, Qm, Sf, Qf, Sc;
} odsums;

PLRF_CLONES
static void od_comb_sums(const double *restrict lam, const double *const Y[4],
                         const double cy[4], const double *const L[4], const double cl[4],
                         size_t off, size_t ns, double eta, double mu, double kappa, double iB,
                         odsums *S) {
  const double *restrict Y0 = Y[0] + off, *restrict Y1 = Y[1] + off, *restrict Y2 = Y[2] + off,
                         *restrict Y3 = Y[3] + off;
  const double *restrict L0 = L[0] + off, *restrict L1 = L[1] + off, *restrict L2 = L[2] + off,
                         *restrict L3 = L[3] + off;
  const double mp = 1.0 + mu, om = 1.0 - mu, d0 = om * om * mp, q = 1.0 - mu * mu;
  const double dmu0 = -om * (1.0 + 3.0 * mu), m2 = 2.0 * mu, pk2 = 2.0 * mp * kappa;
  const v4d zero = {0, 0, 0, 0}, one = zero + 1.0;
  const v4d c0 = zero + cy[0], c1v = zero + cy[1], c2v = zero + cy[2], c3 = zero + cy[3];
  const v4d d0v = zero + cl[0], d1 = zero + cl[1], d2 = zero + cl[2], d3 = zero + cl[3];
  v4d E = zero, Se = zero, Qe = zero, Sm = zero, Qm = zero, Sf = zero, Qf = zero, Sc = zero;
  for (size_t k = 0; k < ns; k += 4) {
    v4d y, r, l;
    if (k + 4 <= ns) {
      y = (c0 * v4_load(Y0 + k) + c1v * v4_load(Y1 + k)) +
          (c2v * v4_load(Y2 + k) + c3 * v4_load(Y3 + k));
      r = (d0v * v4_load(L0 + k) + d1 * v4_load(L1 + k)) +
          (d2 * v4_load(L2 + k) + d3 * v4_load(L3 + k));
      l = v4_load(lam + k);
    } else { /* the last 1–3 modes, zero-padded: y = r = 0 add nothing */
      y = r = l = zero;
      for (size_t i = 0; k + i < ns; i++) {
        y[i] = (cy[0] * Y0[k + i] + cy[1] * Y1[k + i]) + (cy[2] * Y2[k + i] + cy[3] * Y3[k + i]);
        r[i] = (cl[0] * L0[k + i] + cl[1] * L1[k + i]) + (cl[2] * L2[k + i] + cl[3] * L3[k + i]);
        l[i] = lam[k + i];
      }
    }
    const v4d el = eta * l, e2 = el * el;
    const v4d id = one / (d0 + m2 * el), dmu = dmu0 + 2.0 * el;
    const v4d a1 = (mp * kappa * e2 - 2.0 * el * (q + mu * el)) * id, a2 = mp * e2 * iB * id;
    const v4d a1e = l * (pk2 * el - 2.0 * q - 2.0 * m2 * el - m2 * a1) * id;
    const v4d a1m = ((kappa - 2.0) * e2 + 2.0 * m2 * el - a1 * dmu) * id;
    const v4d a2e = l * (2.0 * mp * el * iB - m2 * a2) * id;
    const v4d a2m = (e2 * iB - a2 * dmu) * id;
    const v4d ry = r * y;
    E += y, Se += a1e * ry, Qe += a2e * r, Sm += a1m * ry, Qm += a2m * r;
    Sf += a1 * ry, Qf += a2 * r, Sc += a2 * ry;
  }
#define OD_SUM4(w) ((w[0] + w[1]) + (w[2] + w[3]))
  S->E = OD_SUM4(E), S->Se = OD_SUM4(Se), S->Qe = OD_SUM4(Qe), S->Sm = OD_SUM4(Sm);
  S->Qm = OD_SUM4(Qm), S->Sf = OD_SUM4(Sf), S->Qf = OD_SUM4(Qf), S->Sc = OD_SUM4(Sc);
#undef OD_SUM4
}

/* Adds the overdamped modes' terms to out (and λᵀ f to *lf) at total Q. */
static void od_finish(const odsums *S, double Q, double iB, double out[3], double *lf) {
  out[0] += S->Se + Q * S->Qe;
  out[1] += -iB * (S->Sc + Q * S->Qf);
  out[2] += S->Sm + Q * S->Qm;
  if (lf) *lf += S->Sf + Q * S->Qf;
}

/* λᵀ ∂f/∂u for the ODE (the adjoint's quadrature, several calls per backward
 * step).  Momentum: from the reverse step's sums in one pass (see
 * plrf_step_vjp; the sde form has κ = 1/B), SGD: form_vjp_u. */
static void plrf_vjp_u(const void *self, const schedopt_uval *u, const double *y,
                       const double *lam, double out[3]) {
  const plrf *m = self;
  const int sde = m->p.dynamics == SCHEDOPT_DYN_SDE;
  if (m->bs == 1) {
    form_vjp_u(m, u, y, lam, out, sde);
    return;
  }
  const double eta = u->lr, iB = 1.0 / u->batch, kappa = sde ? iB : 1.0 + iB;
  out[0] = out[1] = out[2] = 0.0;
  for (size_t c = 0; c < m->ncopy; c++) {
    vsums S;
    odsums O = {0};
    hb_vjp_sums(m->lam, y + c * m->nc, lam + c * m->nc, m->nf, u->momentum, &S);
    if (m->ns) {
      const double *Y[4] = {y, y, y, y}, *L[4] = {lam, lam, lam, lam}, e0[4] = {1, 0, 0, 0};
      od_comb_sums(m->lam + m->nf, Y, e0, L, e0, c * m->nc + 3 * m->nf, m->ns, eta,
                   u->momentum, kappa, iB, &O);
    }
    const double Q = S.E + O.E + copy_R(m, c), P = S.P;
    out[0] += 2.0 * eta * kappa * S.A - S.F + 2.0 * eta * iB * Q * P;
    out[1] += -eta * eta * iB * iB * (S.A + Q * P);
    out[2] += S.G - 2.0 * eta * S.H;
    if (m->ns) od_finish(&O, Q, iB, out, NULL);
  }
}

/* The adjoint's right-hand side o = −s Aᵀλ per copy: Aᵀ = blockdiag(Dᵀ) +
 * V Uᵀ with V = e_a (E = Σ a) and U = gq on every state of the block, so
 * o_k = −s (D_kᵀ λ_k + e_a z), z = Σ_k gq_k Σ_i λ_{k,i}.  SGD: z in lanes,
 * then one pass. */
PLRF_CLONES
static void sgd_adj_pass(const double *restrict lam, const double *restrict l,
                         double *restrict o, size_t N, double eta, double kappa, double iB,
                         double s) {
  double zs[LANES] = {0}, rest = 0.0;
  size_t k = 0;
  for (; k + LANES <= N; k += LANES)
    for (size_t j = 0; j < LANES; j++) zs[j] += lam[k + j] * lam[k + j] * l[k + j];
  for (; k < N; k++) rest += lam[k] * lam[k] * l[k];
  const double z = eta * eta * iB * (lanes_total(zs) + rest);
  for (k = 0; k < N; k++) {
    const double el = eta * lam[k], e2 = el * el;
    o[k] = -s * ((e2 * kappa - 2.0 * el) * l[k] + z);
  }
}

/* Heavy ball's o = −s (blockdiag(D)ᵀ λ + e_a z), z = Σ_k gq_k Σ_i λ_{k,i}
 * (hb_block's entries, transposed; ga = η²λ² cga), four modes at a time: the
 * triples loaded as three contiguous registers, split into a, v, x and
 * joined back (one mode at a time it was 9 % of the joint lr + momentum
 * optimization of issue 14's problem: perf). */
PLRF_CLONES
static double hb_adj_pass(const double *restrict lam, const double *restrict l,
                          double *restrict o, size_t N, double eta, double mu, double cga,
                          double iB, double s, double zx) {
  const hb4 zero = {0, 0, 0, 0};
  hb4 Z = zero;
  size_t k = 0;
  for (; k + 4 <= N; k += 4) {
    const hb4 w0 = HB4_LOAD(l + 3 * k), w1 = HB4_LOAD(l + 3 * k + 4),
              w2 = HB4_LOAD(l + 3 * k + 8);
    HB4_SPLIT(w0, w1, w2, la, lv, lx);
    const hb4 el = eta * HB4_LOAD(lam + k);
    Z += el * el * ((la + lv) + lx);
  }
  double zs = (Z[0] + Z[1]) + (Z[2] + Z[3]);
  for (size_t i = k; i < N; i++) {
    const double el = eta * lam[i];
    zs += el * el * ((l[3 * i] + l[3 * i + 1]) + l[3 * i + 2]);
  }
  const double z = zs * iB + zx, mu2 = mu * mu, d4 = mu2 - 1.0;
  for (k = 0; k + 4 <= N; k += 4) {
    const hb4 w0 = HB4_LOAD(l + 3 * k), w1 = HB4_LOAD(l + 3 * k + 4),
              w2 = HB4_LOAD(l + 3 * k + 8);
    HB4_SPLIT(w0, w1, w2, la, lv, lx);
    const hb4 el = eta * HB4_LOAD(lam + k), ga = el * el * cga, mel = 2.0 * mu * el;
    const hb4 oa = -s * ((ga - 2.0 * el) * la + ga * lv + (ga - el) * lx + z);
    const hb4 ov = -s * (mu2 * la + d4 * lv + mu2 * lx);
    const hb4 ox = -s * ((2.0 * mu - mel) * la - mel * lv + (mu - mel - 1.0) * lx);
    HB4_STORE(o + 3 * k, ((hb4){oa[0], ov[0], ox[0], oa[1]}));
    HB4_STORE(o + 3 * k + 4, ((hb4){ov[1], ox[1], oa[2], ov[2]}));
    HB4_STORE(o + 3 * k + 8, ((hb4){ox[2], oa[3], ov[3], ox[3]}));
  }
  for (; k < N; k++) {
    const double el = eta * lam[k], ga = el * el * cga, mel = 2.0 * mu * el;
    const double la = l[3 * k], lv = l[3 * k + 1], lx = l[3 * k + 2];
    o[3 * k] = -s * ((ga - 2.0 * el) * la + ga * lv + (ga - el) * lx + z);
    o[3 * k + 1] = -s * (mu2 * la + d4 * lv + mu2 * lx);
    o[3 * k + 2] = -s * ((2.0 * mu - mel) * la - mel * lv + (mu - mel - 1.0) * lx);
  }
  return z;
}
#undef HB4_SPLIT

/* The overdamped modes' o_k = −s (c1 λ_k + z): first o_k = c1 λ_k and their
 * part Σ c2 λ_k of z, then (od_adj_finish) the total z. */
PLRF_CLONES
static double od_adj_first(const double *restrict lam, const double *restrict l,
                           double *restrict o, size_t ns, double eta, double mu, double kappa,
                           double iB) {
  const double mp = 1.0 + mu, om = 1.0 - mu, d0 = om * om * mp, q = 1.0 - mu * mu;
  double zs[LANES] = {0}, rest = 0.0;
  size_t k = 0;
  for (; k + LANES <= ns; k += LANES)
    for (size_t j = 0; j < LANES; j++) {
      const double el = eta * lam[k + j], e2 = el * el, id = 1.0 / (d0 + 2.0 * mu * el);
      o[k + j] = (mp * kappa * e2 - 2.0 * el * (q + mu * el)) * id * l[k + j];
      zs[j] += mp * e2 * iB * id * l[k + j];
    }
  for (; k < ns; k++) {
    const double el = eta * lam[k], e2 = el * el, id = 1.0 / (d0 + 2.0 * mu * el);
    o[k] = (mp * kappa * e2 - 2.0 * el * (q + mu * el)) * id * l[k];
    rest += mp * e2 * iB * id * l[k];
  }
  return lanes_total(zs) + rest;
}

static void od_adj_finish(double *restrict o, size_t ns, double s, double z) {
  for (size_t k = 0; k < ns; k++) o[k] = -s * (o[k] + z);
}

static void plrf_rhs_adj(const void *self, const schedopt_uval *u, double s, const double *lam,
                         double *o) {
  const plrf *m = self;
  const size_t bs = m->bs, N = m->N;
  const double eta = u->lr, mu = u->momentum, iB = 1.0 / u->batch;
  const int sde = m->p.dynamics == SCHEDOPT_DYN_SDE;
  const double kappa = sde ? iB : 1.0 + iB;
  for (size_t c = 0; c < m->ncopy; c++) {
    const double *lc = lam + c * m->nc;
    double *oc = o + c * m->nc;
    if (bs == 1) {
      sgd_adj_pass(m->lam, lc, oc, N, eta, kappa, iB, s);
      continue;
    }
    const size_t f3 = 3 * m->nf;
    const double zs =
        m->ns ? od_adj_first(m->lam + m->nf, lc + f3, oc + f3, m->ns, eta, mu, kappa, iB) : 0.0;
    const double z = hb_adj_pass(m->lam, lc, oc, m->nf, eta, mu, sde ? iB : kappa, iB, s, zs);
    if (m->ns) od_adj_finish(oc + f3, m->ns, s, z);
  }
}

/* The sums of sgd_vjp_sums at m ≤ 3 nodes (plrf_vjp_u_comb), the states and
 * multipliers formed mode by mode in registers; columns from offset off.
 * Four modes at a time (one AVX2 register in the avx2 clone, two SSE2 ones
 * otherwise): the pass is bound by its arithmetic, ~22 operations per mode
 * and node. */
#define CMAX 3
/* M nodes at once (M a constant where inlined: the accumulators stay in
 * registers). */
static inline __attribute__((always_inline)) void
sgd_comb_m(const double *restrict lam, const size_t M, const double *const Y[][4],
           const double cy[][4], const double *const L[4], const double cl[][4], size_t off,
           size_t N, vsums *S) {
  const double *restrict L0 = L[0] + off, *restrict L1 = L[1] + off, *restrict L2 = L[2] + off,
                         *restrict L3 = L[3] + off;
  const double *Yg[CMAX][4];
  v4d a[CMAX][4], b[CMAX][4], E[CMAX], P[CMAX], A[CMAX], F[CMAX];
  const v4d zero = {0, 0, 0, 0};
  for (size_t g = 0; g < M; g++) {
    for (int j = 0; j < 4; j++) {
      Yg[g][j] = Y[g][j] + off;
      a[g][j] = zero + cy[g][j];
      b[g][j] = zero + cl[g][j];
    }
    E[g] = P[g] = A[g] = F[g] = zero;
  }
  size_t k = 0;
  for (; k + 4 <= N; k += 4) {
    const v4d l = v4_load(lam + k), l2 = l * l;
    const v4d x0 = v4_load(L0 + k), x1 = v4_load(L1 + k), x2 = v4_load(L2 + k),
              x3 = v4_load(L3 + k);
    for (size_t g = 0; g < M; g++) {
      const v4d y = (a[g][0] * v4_load(Yg[g][0] + k) + a[g][1] * v4_load(Yg[g][1] + k)) +
                    (a[g][2] * v4_load(Yg[g][2] + k) + a[g][3] * v4_load(Yg[g][3] + k));
      const v4d La = (b[g][0] * x0 + b[g][1] * x1) + (b[g][2] * x2 + b[g][3] * x3);
      const v4d Ly = La * y;
      E[g] += y, P[g] += l2 * La, A[g] += l2 * Ly, F[g] += l * Ly;
    }
  }
  for (size_t g = 0; g < M; g++) {
    double e = (E[g][0] + E[g][1]) + (E[g][2] + E[g][3]), p = (P[g][0] + P[g][1]) + (P[g][2] + P[g][3]),
           s = (A[g][0] + A[g][1]) + (A[g][2] + A[g][3]), f = (F[g][0] + F[g][1]) + (F[g][2] + F[g][3]);
    for (size_t i = k; i < N; i++) {
      const double l = lam[i], l2 = l * l;
      const double y = (cy[g][0] * Yg[g][0][i] + cy[g][1] * Yg[g][1][i]) +
                       (cy[g][2] * Yg[g][2][i] + cy[g][3] * Yg[g][3][i]);
      const double La = (cl[g][0] * L0[i] + cl[g][1] * L1[i]) + (cl[g][2] * L2[i] + cl[g][3] * L3[i]);
      e += y, p += l2 * La, s += l2 * La * y, f += l * La * y;
    }
    S[g].E = e, S[g].P = p, S[g].A = s, S[g].F = f;
    S[g].G = S[g].H = 0.0;
  }
}

PLRF_CLONES
static void sgd_comb_sums(const double *restrict lam, size_t m, const double *const Y[][4],
                          const double cy[][4], const double *const L[4], const double cl[][4],
                          size_t off, size_t N, vsums *S) {
  if (m == 3)
    sgd_comb_m(lam, 3, Y, cy, L, cl, off, N, S);
  else if (m == 2)
    sgd_comb_m(lam, 2, Y, cy, L, cl, off, N, S);
  else
    for (size_t g = 0; g < m; g++) sgd_comb_m(lam, 1, Y + g, cy + g, L, cl + g, off, N, S + g);
}

/* Momentum: one node at a time, four modes at a time: the combinations of
 * the (a, v, x) triples formed on 12 contiguous numbers (three registers per
 * vector), then split into a, v, x of the four modes (as in hb_vjp_sums);
 * ex = (Σ l a M, Σ v L, Σ v λ_v, Σ x λ_a, Σ x λ_x) for λᵀ f.  (One mode at a
 * time it was 27 % of a momentum gradient at the joint optimum of the
 * issue's problem: perf of the stored-pass gradient.) */
#define HB_SPLIT(s0, s1, s2, a, v, x)                   \
  const v4d a = {s0[0], s0[3], s1[2], s2[1]};           \
  const v4d v = {s0[1], s1[0], s1[3], s2[2]};           \
  const v4d x = {s0[2], s1[1], s2[0], s2[3]}
PLRF_CLONES
static void hb_comb_sums(const double *restrict lam, const double *const Y[4],
                         const double cy[4], const double *const L[4], const double cl[4],
                         size_t off, size_t N, double mu, vsums *S, double ex[5]) {
  const double mu2 = 2.0 * mu;
  const v4d zero = {0, 0, 0, 0};
  const v4d c0 = zero + cy[0], c1 = zero + cy[1], c2 = zero + cy[2], c3 = zero + cy[3];
  const v4d d0 = zero + cl[0], d1 = zero + cl[1], d2 = zero + cl[2], d3 = zero + cl[3];
  const double *restrict Y0 = Y[0] + off, *restrict Y1 = Y[1] + off, *restrict Y2 = Y[2] + off,
                         *restrict Y3 = Y[3] + off;
  const double *restrict L0 = L[0] + off, *restrict L1 = L[1] + off, *restrict L2 = L[2] + off,
                         *restrict L3 = L[3] + off;
  v4d E = zero, P = zero, A = zero, F = zero, G = zero, H = zero, AM = zero, V1 = zero,
      V2 = zero, X1 = zero, X2 = zero;
  size_t k = 0;
  for (; k + 4 <= N; k += 4) {
    v4d sy[3], sl[3];
    for (int q = 0; q < 3; q++) {
      const size_t j = 3 * k + 4 * (size_t)q;
      sy[q] = (c0 * v4_load(Y0 + j) + c1 * v4_load(Y1 + j)) +
              (c2 * v4_load(Y2 + j) + c3 * v4_load(Y3 + j));
      sl[q] = (d0 * v4_load(L0 + j) + d1 * v4_load(L1 + j)) +
              (d2 * v4_load(L2 + j) + d3 * v4_load(L3 + j));
    }
    HB_SPLIT(sy[0], sy[1], sy[2], a, v, x);
    HB_SPLIT(sl[0], sl[1], sl[2], ra, rv, rx);
    const v4d l = v4_load(lam + k), l2 = l * l;
    const v4d Ls = (ra + rv) + rx, M = 2.0 * ra + rx, xL = x * Ls, aM = a * M;
    E += a, P += l2 * Ls, A += l2 * Ls * a, F += l * (aM + mu2 * xL);
    G += mu2 * v * Ls + x * M, H += l * xL;
    AM += l * aM, V1 += v * Ls, V2 += v * rv, X1 += x * ra, X2 += x * rx;
  }
#define HB_SUM4(w) ((w[0] + w[1]) + (w[2] + w[3]))
  double e = HB_SUM4(E), p = HB_SUM4(P), a2 = HB_SUM4(A), f = HB_SUM4(F), g = HB_SUM4(G),
         h = HB_SUM4(H), am = HB_SUM4(AM), v1 = HB_SUM4(V1), v2 = HB_SUM4(V2),
         x1 = HB_SUM4(X1), x2 = HB_SUM4(X2);
#undef HB_SUM4
  for (; k < N; k++) {
    double s[3], r[3];
    for (int i = 0; i < 3; i++) {
      const size_t j = 3 * k + i;
      s[i] = (cy[0] * Y0[j] + cy[1] * Y1[j]) + (cy[2] * Y2[j] + cy[3] * Y3[j]);
      r[i] = (cl[0] * L0[j] + cl[1] * L1[j]) + (cl[2] * L2[j] + cl[3] * L3[j]);
    }
    const double l = lam[k], l2 = l * l, a = s[0], v = s[1], x = s[2];
    const double Ls = r[0] + r[1] + r[2], M = 2.0 * r[0] + r[2], xL = x * Ls;
    e += a, p += l2 * Ls, a2 += l2 * Ls * a, f += l * (a * M + mu2 * xL);
    g += mu2 * v * Ls + x * M, h += l * xL;
    am += l * a * M, v1 += v * Ls, v2 += v * r[1], x1 += x * r[0], x2 += x * r[2];
  }
  S->E = e, S->P = p, S->A = a2, S->F = f, S->G = g, S->H = h;
  ex[0] = am, ex[1] = v1, ex[2] = v2, ex[3] = x1, ex[4] = x2;
}
#undef HB_SPLIT

/* vjp_u at Hermite combinations (model.h): the sums above, then the formulas
 * of plrf_step_vjp (F' = 2F for SGD).  λᵀ f = λᵀ D y + η² Q P / B, with
 *   SGD:       λᵀ D y = η²κ A − 2η F,
 *   momentum:  λᵀ D y = η²κ A − η Σ l a M + μ² Σ v L − Σ v λ_v + 2μ Σ x λ_a
 *                       + (μ − 1) Σ x λ_x − 2μη H   (hb_block's rows). */
static void plrf_vjp_u_comb(const void *self, size_t m, const schedopt_uval *u,
                            const double *const Y[][4], const double cy[][4],
                            const double *const L[4], const double cl[][4], double out[][3],
                            double *lf) {
  const plrf *md = self;
  const size_t N = md->N, bs = md->bs;
  const int sde = md->p.dynamics == SCHEDOPT_DYN_SDE;
  if (m > CMAX) m = CMAX;
  for (size_t g = 0; g < m; g++) {
    out[g][0] = out[g][1] = out[g][2] = 0.0;
    if (lf) lf[g] = 0.0;
  }
  for (size_t c = 0; c < md->ncopy; c++) {
    vsums S[CMAX];
    odsums O[CMAX] = {{0}};
    double ex[CMAX][5] = {{0}};
    if (bs == 1)
      sgd_comb_sums(md->lam, m, Y, cy, L, cl, c * N, N, S);
    else
      for (size_t g = 0; g < m; g++) {
        hb_comb_sums(md->lam, Y[g], cy[g], L, cl[g], c * md->nc, md->nf, u[g].momentum, &S[g],
                     ex[g]);
        if (md->ns) {
          const double iB = 1.0 / u[g].batch;
          od_comb_sums(md->lam + md->nf, Y[g], cy[g], L, cl[g], c * md->nc + 3 * md->nf,
                       md->ns, u[g].lr, u[g].momentum, sde ? iB : 1.0 + iB, iB, &O[g]);
        }
      }
    for (size_t g = 0; g < m; g++) {
      const double eta = u[g].lr, mu = u[g].momentum, iB = 1.0 / u[g].batch;
      const double kappa = sde ? iB : 1.0 + iB;
      const double Q = S[g].E + O[g].E + copy_R(md, c), P = S[g].P;
      if (md->ns) od_finish(&O[g], Q, iB, out[g], lf ? &lf[g] : NULL);
      out[g][0] += 2.0 * eta * kappa * S[g].A - (bs == 1 ? 2.0 : 1.0) * S[g].F +
                   2.0 * eta * iB * Q * P;
      out[g][1] += -eta * eta * iB * iB * (S[g].A + Q * P);
      out[g][2] += S[g].G - 2.0 * eta * S[g].H;
      if (!lf) continue;
      const double ldy = bs == 1 ? eta * eta * kappa * S[g].A - 2.0 * eta * S[g].F
                                 : eta * eta * kappa * S[g].A - eta * ex[g][0] +
                                       mu * mu * ex[g][1] - ex[g][2] + 2.0 * mu * ex[g][3] +
                                       (mu - 1.0) * ex[g][4] - 2.0 * mu * eta * S[g].H;
      lf[g] += ldy + eta * eta * iB * Q * P;
    }
  }
}

/* The reverse step's update of the multipliers, λ ← Mᵀλ + s e_a per mode
 * (Uᵀλ = s): with wide (AVX2 only, see hb4_get) four modes at a time, the
 * rest one at a time. */
static inline __attribute__((always_inline)) void
hb_step_adj(const double *restrict ev, double *restrict lc, size_t N, double eta, double mu,
            double ga_c, double s, int wide) {
  const double mu2 = mu * mu;
  size_t k = 0;
  for (; wide && k + 4 <= N; k += 4) {
    hb4 l0, l1, l2;
    hb4_get(lc + 3 * k, &l0, &l1, &l2);
    const hb4 ek = HB4_LOAD(ev + k), el = eta * ek, ga = ga_c * ek * ek;
    const hb4 n0 = l0 + ((-2.0 * el + ga) * l0 + ga * l1 + (ga - el) * l2 + s);
    const hb4 n1 = l1 + (mu2 * l0 + (mu2 - 1.0) * l1 + mu2 * l2);
    const hb4 n2 = l2 + ((2.0 * mu - 2.0 * mu * el) * l0 + (-2.0 * mu * el) * l1 +
                         (mu - 2.0 * mu * el - 1.0) * l2);
    hb4_put(lc + 3 * k, &n0, &n1, &n2);
  }
  for (; k < N; k++) {
    const double el = eta * ev[k], ga = ga_c * ev[k] * ev[k];
    double *lk = lc + 3 * k;
    const double l0 = lk[0], l1 = lk[1], l2 = lk[2];
    lk[0] += (-2.0 * el + ga) * l0 + ga * l1 + (ga - el) * l2 + s;
    lk[1] += mu2 * l0 + (mu2 - 1.0) * l1 + mu2 * l2;
    lk[2] += (2.0 * mu - 2.0 * mu * el) * l0 + (-2.0 * mu * el) * l1 +
             (mu - 2.0 * mu * el - 1.0) * l2;
  }
}

PLRF_CLONES
static void plrf_step_vjp(const void *self, const schedopt_uval *u, const double *y,
                          double *lam, double out[3]) {
  const plrf *m = self;
  const size_t bs = m->bs, N = m->N;
  const double eta = u->lr, B = u->batch, mu = u->momentum, iB = 1.0 / B;
  const double kappa = 1.0 + iB, ga_c = eta * eta * kappa; /* matched: ga = η² l² κ */
  out[0] = out[1] = out[2] = 0.0;
  for (size_t c = 0; c < m->ncopy; c++) {
    const double *yc = y + c * N * bs;
    double *lc = lam + c * N * bs;
    vsums S;
    if (bs == 1)
      sgd_vjp_sums(m->lam, yc, lc, N, &S);
    else
      hb_vjp_sums(m->lam, yc, lc, N, mu, &S);
    const double Q = S.E + copy_R(m, c), P = S.P;
    out[0] += 2.0 * eta * kappa * S.A - (bs == 1 ? 2.0 * S.F : S.F) + 2.0 * eta * iB * Q * P;
    out[1] += -eta * eta * iB * iB * (S.A + Q * P);
    out[2] += S.G - 2.0 * eta * S.H;
    const double s = eta * eta * iB * P; /* Uᵀλ */
    const double *restrict ev = m->lam;
    if (bs == 1) {
      for (size_t k = 0; k < N; k++) {
        const double el = eta * ev[k], D0 = -2.0 * el + ga_c * ev[k] * ev[k];
        lc[k] += D0 * lc[k] + s;
      }
    } else {
      hb_step_adj(ev, lc, N, eta, mu, ga_c, s, PLRF_WIDE());
    }
  }
}

/* SGD's diagonal −2ηλ_k + η²κλ_k² (sgd_rhs_pass), every copy alike. */
static void plrf_decay(const void *self, const schedopt_uval *u, double *rho, double c[2]) {
  const plrf *m = self;
  const double iB = 1.0 / u->batch;
  c[0] = -2.0 * u->lr;
  c[1] = u->lr * u->lr * (m->p.dynamics == SCHEDOPT_DYN_SDE ? iB : 1.0 + iB);
  if (rho)
    for (size_t c0 = 0; c0 < m->ncopy; c0++) memcpy(rho + c0 * m->N, m->lam, m->N * sizeof *rho);
}

const schedopt_model_type schedopt_model_plrf_type = {
    .name = "plrf",
    .alloc = plrf_alloc,
    .free = plrf_free,
    .size = plrf_size,
    .block = plrf_block,
    .rank = plrf_rank,
    .initial = plrf_initial,
    .rhs = plrf_rhs,
    .jac = plrf_jac,
    .readout = plrf_readout,
    .step = plrf_step,
    .scale = plrf_scale,
    .dloss = plrf_dloss,
    .vjp_u = plrf_vjp_u,
    .step_vjp = plrf_step_vjp,
    .project = plrf_project,
    .step_acc = plrf_step_acc,
    .rhs_adj = plrf_rhs_adj,
    .vjp_u_comb = plrf_vjp_u_comb,
    .exact = plrf_exact,
    .block_diag = plrf_block_diag,
    .decay = plrf_decay,
};
const schedopt_model_type *const schedopt_model_plrf = &schedopt_model_plrf_type;
