#include "dynamics/nvector_fast.h"

#include <math.h>
#include <nvector/nvector_serial.h>

#define LEN(v) ((size_t)NV_LENGTH_S(v))
#define DATA(v) NV_DATA_S(v)

/* On x86-64 Linux with GCC the kernels are also compiled for AVX2 and picked
 * at load time (as the recursion in model_plrf.c): the vectors of a CVODES
 * step exceed the L1 cache, and twice the lanes per load halve the passes'
 * instruction count.  AVX2 without FMA: every variant rounds alike.  Not with
 * clang (its resolvers would be global symbols). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define NV_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef NV_CLONES
#define NV_CLONES
#endif

NV_CLONES
static void lin_sum(realtype a, N_Vector x, realtype b, N_Vector y, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = a * xd[i] + b * yd[i];
}

NV_CLONES
static void vconst(realtype c, N_Vector z) {
  const size_t n = LEN(z);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c;
}

NV_CLONES
static void scale(realtype c, N_Vector x, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c * xd[i];
}

NV_CLONES
static void prod(N_Vector x, N_Vector y, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] * yd[i];
}

NV_CLONES
static void vabs(N_Vector x, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = fabs(xd[i]);
}

NV_CLONES
static void inv(N_Vector x, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = 1.0 / xd[i];
}

NV_CLONES
static void add_const(N_Vector x, realtype b, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] + b;
}

/* Σ (x_i w_i)² in sixteen partial sums (element i into sum i mod 16, then a
 * fixed tree): four independent vector add chains, where one chain would
 * wait on the adder's latency every four elements.  The order sets the
 * norm's rounding, and with it every step size; every variant sums alike. */
#define WSQR_LANES 16
NV_CLONES
static realtype wsqr_sum(N_Vector x, N_Vector w) {
  const size_t n = LEN(x);
  const double *xd = DATA(x), *wd = DATA(w);
  double s[WSQR_LANES] = {0}, rest = 0;
  size_t i = 0;
  for (; i + WSQR_LANES <= n; i += WSQR_LANES)
    for (int j = 0; j < WSQR_LANES; j++) {
      const double p = xd[i + j] * wd[i + j];
      s[j] += p * p;
    }
  for (; i < n; i++) {
    const double p = xd[i] * wd[i];
    rest += p * p;
  }
  for (int j = 0; j < 8; j++) s[j] += s[j + 8];
  for (int j = 0; j < 4; j++) s[j] += s[j + 4];
  return ((s[0] + s[1]) + (s[2] + s[3])) + rest;
}

static realtype wrms_norm(N_Vector x, N_Vector w) {
  return sqrt(wsqr_sum(x, w) / (double)LEN(x));
}

NV_CLONES
NV_CLONES
static realtype vmin(N_Vector x) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double m = n ? xd[0] : 0.0;
  for (size_t i = 1; i < n; i++) m = xd[i] < m ? xd[i] : m;
  return m;
}

static realtype max_norm(N_Vector x) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(xd[i]));
  return m;
}

/* z = Σ c_k X_k; z may be X[0].  In blocks of LC_BLOCK elements, vector by
 * vector: the block of z stays in the L1 cache while every X_k passes (the
 * interpolation and corrector combine q + 1 ≤ 6 Nordsieck columns); each
 * element is summed in the order of one pass per vector. */
#define LC_BLOCK 512
NV_CLONES
static void lin_comb_block(int nv, const realtype *c, N_Vector *X, double *restrict zd,
                           size_t lo, size_t hi, int in_place) {
  int k0;
  if (in_place) { /* z ← c0 z (unless c0 = 1) */
    if (c[0] != 1.0)
      for (size_t i = lo; i < hi; i++) zd[i] *= c[0];
    k0 = 1;
  } else if (nv >= 2) {
    const double *restrict a = DATA(X[0]), *restrict b = DATA(X[1]);
    const double ca = c[0], cb = c[1];
    for (size_t i = lo; i < hi; i++) zd[i] = ca * a[i] + cb * b[i];
    k0 = 2;
  } else {
    const double *restrict a = DATA(X[0]);
    for (size_t i = lo; i < hi; i++) zd[i] = c[0] * a[i];
    return;
  }
  for (int k = k0; k < nv; k++) {
    const double *restrict xk = DATA(X[k]);
    const double ck = c[k];
    for (size_t i = lo; i < hi; i++) zd[i] += ck * xk[i];
  }
}

static int lin_comb(int nv, realtype *c, N_Vector *X, N_Vector z) {
  const size_t n = LEN(z);
  const int in_place = X[0] == z;
  for (size_t lo = 0; lo < n; lo += LC_BLOCK)
    lin_comb_block(nv, c, X, DATA(z), lo, lo + LC_BLOCK < n ? lo + LC_BLOCK : n, in_place);
  return 0;
}

/* Z_k = a_k x + Y_k */
NV_CLONES
static int scale_add_multi(int nv, realtype *a, N_Vector x, N_Vector *Y, N_Vector *Z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  for (int k = 0; k < nv; k++) {
    const double *yd = DATA(Y[k]);
    double *zd = DATA(Z[k]);
    const double ak = a[k];
    for (size_t i = 0; i < n; i++) zd[i] = ak * xd[i] + yd[i];
  }
  return 0;
}

void schedopt_nvector_use_fast_ops(N_Vector v) {
  N_Vector_Ops o = v->ops;
  o->nvlinearsum = lin_sum;
  o->nvconst = vconst;
  o->nvscale = scale;
  o->nvprod = prod;
  o->nvabs = vabs;
  o->nvinv = inv;
  o->nvaddconst = add_const;
  o->nvwrmsnorm = wrms_norm;
  o->nvwsqrsumlocal = wsqr_sum;
  o->nvmaxnorm = max_norm;
  o->nvmin = vmin;
  o->nvlinearcombination = lin_comb;
  o->nvscaleaddmulti = scale_add_multi;
}

/* w_i = 1 / (rtol |y_i| + atol): the roundings of CVODES's scalar-tolerance
 * weights (N_VAbs, N_VScale, N_VAddConst, N_VInv) in one pass instead of five. */
NV_CLONES
static int ewt_pass(const double *restrict y, double *restrict w, size_t n, double rtol,
                    double atol) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = rtol * fabs(y[i]) + atol;
    bad |= d <= 0.0; /* as CVODES's N_VMin test: NaN passes */
    w[i] = 1.0 / d;
  }
  return bad ? -1 : 0;
}

int schedopt_nvector_ewt(N_Vector y, N_Vector w, double rtol, double atol) {
  return ewt_pass(DATA(y), DATA(w), LEN(y), rtol, atol);
}
