/* surrogate_impl.h — shared pieces of the loss-curve surrogates (private):
 * the exponential-sum kernel and small numerics. */
#ifndef SCHEDOPT_SURROGATE_IMPL_H
#define SCHEDOPT_SURROGATE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "schedopt/surrogate.h"

/* The types (surrogate_fsl.c, surrogate_mpl.c). */
extern const schedopt_surrogate_type schedopt_sx_fsl_llm_type, schedopt_sx_mpl_type;

/* Most nodes a kernel may have (a bigger need is refused). */
#define SX_MAX_NODES 4096

/* Trapezoid rule in v for (1 + ρx)^−p = Γ(p)^−1 ∫ e^{pv − e^v} e^{−e^v ρ x} dv
 * on the fixed grid of rates q_j = e^{jh}, j = jlo … jhi (so v = jh − ln ρ):
 *   w_j(ρ) = h·e^{p v − e^v}/Γ(p),  (1 + ρx)^−p ≈ w_0 + Σ_j w_j e^{−q_j x},
 * with the nodes below jlo lumped into w_0 = 1 − Σ_j w_j.  Errors (relative
 * to (1 + ρx)^−p, for ρ in [ρ_min, ρ_max] and 0 ≤ x ≤ xmax), each ≤ tol/4:
 *   spacing   2|Γ(p + 2πi/h)|/Γ(p)                          (Poisson summation)
 *   top       Γ(p, U)/Γ(p), nodes with e^v > U dropped
 *   lumping   ρx·e^{(p+1)v_lo}/((p+1)Γ(p)) ≤ tol/128·(1 + ρx)^−p at x = xmax
 *             (the extra 1/32 for the θ-derivatives). */
typedef struct sx_plan {
  double p, h, lgp; /* exponent, spacing, ln Γ(p) */
  double lnU;       /* log of the top cut U */
  int jlo, jhi;
  size_t J;         /* jhi − jlo + 1 */
  /* tables (schedopt_sx_tables): q_j = e^{jh}, b_j = h e^{p jh}/Γ(p) (tab = 0 when
   * that would overflow: the weights then take one exp each), ψ(p) */
  const double *q, *b;
  int tab;
  double psi;
} sx_plan;

/* 0 on success; −1 if the inputs are not finite/positive or J would exceed
 * SX_MAX_NODES. */
int schedopt_sx_make(sx_plan *pl, double p, double tol, double lnrho_min, double lnrho_max,
            double xmax);
/* Fill the tables into mem (2·J doubles, owned by the caller). */
void schedopt_sx_tables(sx_plan *pl, double *mem);
/* Weights of a source with scale ln ρ: w[0..J); dlr = ∂w/∂ln ρ and dp = ∂w/∂p
 * (either may be NULL).  Returns Σ_j w_j (= 1 − w_0); *sdlr, *sdp receive
 * the sums of the derivatives when their arrays are given.  Nodes with
 * e^v ≤ 1e-3 use a Taylor series for e^{−e^v}, nodes with e^v > U get 0. */
double schedopt_sx_weights(const sx_plan *pl, double lnrho, double *w, double *dlr, double *dp,
                  double *sdlr, double *sdp);

/* ---- fast sums over many sources (surrogate.c) -------------------------

   The fast evaluations keep, for every node j and measure μ, a state
     Φ^μ_j = Σ_k F_jk m^μ_k e^{−q_j d_k}
   over the sources k seen so far, d_k ≥ 0 being the distance (in intrinsic
   time) from source k to the current reference point (the next output step).
   Sources come in blocks: sx_engine_add adds one block, sx_engine_decay moves
   the reference forward by dt (Φ_j ← e^{−q_j dt} Φ_j).  Within a block of
   distances [dmin, dmax], half-width r = (dmax − dmin)/2:
     low nodes   (q_j r ≤ SX_ZMAX) take the block at once through its Taylor
                 moments about the middle: e^{−q d} = e^{−q dmid} Σ_n (−q r ŷ)^n/n!,
                 ŷ = (d − dmid)/r, to the degree that bounds the remainder by
                 eps relative to every term (z^{n+1} e^{2z}/(n+1)! ≤ eps, z = q_j r);
     high nodes  take every source, but only those with q_j d_k ≤ X[j] (the
                 others are below e^{−X[j]}: the caller sets X so that this
                 is negligible, at this output and every later one); on a
                 smooth run of sources (d decreasing) by the recursion
                 ψ ← ψ G_k + m_k, whose factors G_k = e^{−q_j (d_{k−1} − d_k)}
                 follow from the previous step's: by the second differences
                 of d (H ← H (1 − q δ²d), G ← G H, when |q δ²d| ≤ 1e-8) or a
                 short series in q δd, otherwise one exponential each.
   The block factor F_j = exp(fb ln q_j + fc) is the same for all sources of a
   block (1 when fb = fc = 0); per-source factors go into the masses.  When
   a block lies inside the step dt it is added with (a block between two
   output steps), the Taylor centre is dt/2 and e^{−q_j dt} = (e^{−q_j dt/2})²
   for the low nodes.  Decay factors below e^{−80} are taken as 0. */
#define SX_MAXM 4      /* measures */
#define SX_ZMAX 1.0    /* low nodes: q_j r ≤ SX_ZMAX */
#define SX_TMAX 24     /* highest Taylor degree */
#define SX_BLOCK 128   /* sources per block */
#define SX_CUT 1e-3    /* dropped shares and Taylor remainders: SX_CUT·tol */

typedef struct sx_engine {
  const sx_plan *pl;
  size_t J, M, cap;  /* nodes, measures, largest block */
  double eps;        /* relative truncation bound of the Taylor tier */
  const double *X;   /* per node: pairs with q_j d > X[j] are dropped */
  double *phi[SX_MAXM];
  double sum[SX_MAXM]; /* Σ_k m_ik of the last block */
  int any;           /* a source has been added */
  double dec_dt;     /* the dt of the cached decay factors (−1: none) */
  double zl[SX_TMAX + 1]; /* degree n suffices for q_j r ≤ zl[n] */
  double *dec, *lnq, *z, *g, *y[SX_MAXM], *pw, *yh, *w, *dl, *mem;
} sx_engine;

/* 0 on success, −1 when out of memory; X (J values) is borrowed. */
int schedopt_sx_engine_init(sx_engine *e, const sx_plan *pl, size_t M, const double *X,
                            double eps, size_t cap);
void schedopt_sx_engine_free(sx_engine *e);
void schedopt_sx_engine_decay(sx_engine *e, double dt);
/* Move the reference forward by dt ≥ 0 (as sx_engine_decay), then add
 * n ≤ cap sources at distances d[k] ≥ 0 from the new reference, masses
 * m[μ][k], μ < M. */
void schedopt_sx_engine_add(sx_engine *e, double dt, size_t n, const double *d,
                            const double *const *m, double fb, double fc);

/* e^x for |x| ≤ 708, branch-free so that loops over it vectorize:
 * x = k ln2 + r, |r| ≤ ln2/2, e^r by its Taylor polynomial of degree 13
 * (relative error < 1e-17) in Estrin's scheme, 2^k assembled in the
 * exponent bits.  Outside that range the result is wrong: see sx_exp_c. */
static inline double sx_exp(double x) {
  const double shift = 0x1.8p52, log2e = 1.4426950408889634;
  const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
  double kd = x * log2e + shift;
  uint64_t kb;
  memcpy(&kb, &kd, sizeof kb);
  kd -= shift;
  double r = (x - kd * ln2hi) - kd * ln2lo, r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  double a0 = 1 + r, a1 = 1.0 / 2 + r * (1.0 / 6), a2 = 1.0 / 24 + r * (1.0 / 120),
         a3 = 1.0 / 720 + r * (1.0 / 5040), a4 = 1.0 / 40320 + r * (1.0 / 362880),
         a5 = 1.0 / 3628800 + r * (1.0 / 39916800),
         a6 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
  double p = (a0 + r2 * a1) + r4 * (a2 + r2 * a3) + r8 * ((a4 + r2 * a5) + r4 * a6);
  uint64_t sb = (kb + 1023) << 52; /* the low bits of kb hold k */
  double sc;
  memcpy(&sc, &sb, sizeof sc);
  return p * sc;
}

/* sx_exp for any finite x: clamped to [−708, 708] first (a blend: a
 * conditional would stop the vectorizer). */
static inline double sx_exp_c(double x) {
  double lo = x < -708.0, hi = x > 708.0;
  x += lo * (-708.0 - x) + hi * (708.0 - x);
  return sx_exp(x);
}

/* ln x for a positive normal x, branch-free: x = 2^k z with z in [√½, √2)
 * (integer arithmetic on the bits), ln z = 2 atanh f, f = (z − 1)/(z + 1),
 * |f| ≤ 0.172, by its series to f^21. */
static inline double sx_log(double x) {
  const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
  const uint64_t off = 0x3fe6a09e667f3bcdULL; /* √½ */
  uint64_t ix, tmp, kb, iz;
  memcpy(&ix, &x, sizeof ix);
  tmp = ix - off;
  kb = ((tmp + (1023ULL << 52)) >> 52) | 0x4330000000000000ULL; /* 2^52 + k + 1023 */
  iz = ix - (tmp & (0xfffULL << 52));
  double z, k;
  memcpy(&z, &iz, sizeof z);
  memcpy(&k, &kb, sizeof k);
  k -= 0x1p52 + 1023.0;
  double f = (z - 1.0) / (z + 1.0), f2 = f * f, f4 = f2 * f2, f8 = f4 * f4;
  /* 1/3 + f2/5 + … + f2^9/21, in Estrin's scheme */
  double a0 = 1.0 / 3 + f2 * (1.0 / 5), a1 = 1.0 / 7 + f2 * (1.0 / 9),
         a2 = 1.0 / 11 + f2 * (1.0 / 13), a3 = 1.0 / 15 + f2 * (1.0 / 17),
         a4 = 1.0 / 19 + f2 * (1.0 / 21);
  double p = (a0 + f4 * a1) + f8 * ((a2 + f4 * a3) + f8 * a4);
  return k * ln2hi + (2 * f + (2 * f * f2 * p + k * ln2lo));
}

#if defined(__GNUC__) && !defined(SCHEDOPT_NO_VECTOR_EXT)
/* Two lanes of doubles (GCC/Clang vector extension: SSE2 on x86-64, NEON on
 * AArch64); loops with carried states over a few nodes are not
 * vectorized by the compilers on their own (SCHEDOPT_NO_VECTOR_EXT: the
 * plain loops). */
#define SX_VEC 1
typedef double sx_v2 __attribute__((vector_size(16)));
static inline sx_v2 v2_set(double a, double b) {
  sx_v2 v = {a, b};
  return v;
}
static inline sx_v2 v2_load(const double *p) {
  sx_v2 v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void v2_store(double *p, sx_v2 v) { memcpy(p, &v, sizeof v); }
#endif

/* Σ_k a_k b_k (four interleaved partial sums). */
static inline double sx_dot(const double *a, const double *b, size_t n) {
  size_t k = 0;
#ifdef SX_VEC
  sx_v2 s0 = v2_set(0, 0), s1 = s0;
  for (; k + 4 <= n; k += 4) {
    s0 += v2_load(a + k) * v2_load(b + k);
    s1 += v2_load(a + k + 2) * v2_load(b + k + 2);
  }
  s0 += s1;
  double r = s0[0] + s0[1];
#else
  double r0 = 0, r1 = 0, r2 = 0, r3 = 0;
  for (; k + 4 <= n; k += 4) {
    r0 += a[k] * b[k], r1 += a[k + 1] * b[k + 1];
    r2 += a[k + 2] * b[k + 2], r3 += a[k + 3] * b[k + 3];
  }
  double r = (r0 + r1) + (r2 + r3);
#endif
  for (; k < n; k++) r += a[k] * b[k];
  return r;
}

/* ψ(x) = Γ'(x)/Γ(x), x > 0. */
double schedopt_sx_digamma(double x);

/* Prefix sums T[k] = Σ_{j≤k} η_j for k ≤ kmax (compensated). */
void schedopt_sx_prefix(const double *eta, size_t kmax, double *T);

/* Power-law start for L ≈ L0 + c·T^−e on n points: tries L0 below the
 * smallest loss and fits log(L − L0) = log c − e log T by least squares
 * (points with the smallest T first: the first `frac` of them). */
void schedopt_sx_powerlaw_guess(const double *T, const double *loss, size_t n, double frac,
                       double *L0, double *c, double *e);

#endif
