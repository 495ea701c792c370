#include "dynamics/nvector_fast.h"

#include <math.h>
#include <nvector/nvector_serial.h>

#define LEN(v) ((size_t)NV_LENGTH_S(v))
#define DATA(v) NV_DATA_S(v)

static void lin_sum(realtype a, N_Vector x, realtype b, N_Vector y, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = a * xd[i] + b * yd[i];
}

static void vconst(realtype c, N_Vector z) {
  const size_t n = LEN(z);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c;
}

static void scale(realtype c, N_Vector x, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c * xd[i];
}

static void prod(N_Vector x, N_Vector y, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] * yd[i];
}

static void vabs(N_Vector x, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = fabs(xd[i]);
}

static void inv(N_Vector x, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = 1.0 / xd[i];
}

static void add_const(N_Vector x, realtype b, N_Vector z) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] + b;
}

/* Σ (x_i w_i)² with four partial sums (independent add chains). */
static realtype wsqr_sum(N_Vector x, N_Vector w) {
  const size_t n = LEN(x);
  const double *xd = DATA(x), *wd = DATA(w);
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    double p0 = xd[i] * wd[i], p1 = xd[i + 1] * wd[i + 1];
    double p2 = xd[i + 2] * wd[i + 2], p3 = xd[i + 3] * wd[i + 3];
    s0 += p0 * p0;
    s1 += p1 * p1;
    s2 += p2 * p2;
    s3 += p3 * p3;
  }
  for (; i < n; i++) {
    double p = xd[i] * wd[i];
    s0 += p * p;
  }
  return (s0 + s1) + (s2 + s3);
}

static realtype wrms_norm(N_Vector x, N_Vector w) {
  return sqrt(wsqr_sum(x, w) / (double)LEN(x));
}

static realtype max_norm(N_Vector x) {
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(xd[i]));
  return m;
}

/* z = Σ c_k X_k; z may be X[0]. */
static int lin_comb(int nv, realtype *c, N_Vector *X, N_Vector z) {
  const size_t n = LEN(z);
  double *zd = DATA(z);
  int k0 = 0;
  if (X[0] == z) {
    if (c[0] != 1.0)
      for (size_t i = 0; i < n; i++) zd[i] *= c[0];
    k0 = 1;
  } else if (nv >= 2) {
    const double *a = DATA(X[0]), *b = DATA(X[1]);
    const double ca = c[0], cb = c[1];
    for (size_t i = 0; i < n; i++) zd[i] = ca * a[i] + cb * b[i];
    k0 = 2;
  } else {
    const double *a = DATA(X[0]);
    for (size_t i = 0; i < n; i++) zd[i] = c[0] * a[i];
    return 0;
  }
  for (int k = k0; k < nv; k++) {
    const double *xk = DATA(X[k]);
    const double ck = c[k];
    for (size_t i = 0; i < n; i++) zd[i] += ck * xk[i];
  }
  return 0;
}

/* Z_k = a_k x + Y_k */
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
  o->nvlinearcombination = lin_comb;
  o->nvscaleaddmulti = scale_add_multi;
}
