#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include "dynamics/nvector_fast.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
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

/* A vector of a fast set: the serial vector's content first (NV_DATA_S and
 * the N_V*_Serial functions read it through a pointer to the whole) and the
 * set's queue of deferred sums. */
typedef struct fast_content {
  struct _N_VectorContent_Serial s;
  schedopt_nvector_queue *q;
} fast_content;

static void run_queue(schedopt_nvector_queue *q);
static void destroy(N_Vector v);

/* The set's queue, or NULL for a vector that is not of a fast set (a plain
 * serial one passed along with fast ones: it has no queue to run). */
static inline schedopt_nvector_queue *queue_of(N_Vector v) {
  return v->ops->nvdestroy == destroy ? ((fast_content *)v->content)->q : NULL;
}

/* Every operation but a deferred sum runs the queue first: the sums may
 * write into, or read, any vector of the set. */
static inline void settle(N_Vector v) {
  schedopt_nvector_queue *q = queue_of(v);
  if (q && q->n) run_queue(q);
}

NV_CLONES
static void lin_sum_now(realtype a, const double *xd, realtype b, const double *yd, double *zd,
                        size_t n) {
  for (size_t i = 0; i < n; i++) zd[i] = a * xd[i] + b * yd[i];
}

/* ---- deferred sums: CVODES's predictor in one pass -------------------------
 * Each step begins by multiplying the Nordsieck array z_0 … z_q by the Pascal
 * matrix: for k = 1 … q, for j = q … k, z_{j−1} ← z_{j−1} + z_j, q(q + 1)/2
 * separate passes over vectors that together exceed the L1 cache (the
 * largest item of a forward solve's profile).  The set's vectors record such
 * sums (z = x + y with z = x) instead of running them; the next other
 * operation on any vector of the set runs the queue.  A queue that is exactly that
 * triangle runs as one pass that keeps an element's q + 1 entries in
 * registers; every element goes through the same additions in the same
 * order, so the numbers are those of the separate passes.  Any other queue
 * runs sum by sum. */

/* One pass of the triangle for q = 2 … 5 (z_q is read only). */
#define ZR(i) double *restrict z##i
NV_CLONES
static void pascal5(ZR(0), ZR(1), ZR(2), ZR(3), ZR(4), const double *restrict z5, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double v0 = z0[i], v1 = z1[i], v2 = z2[i], v3 = z3[i], v4 = z4[i];
    const double v5 = z5[i];
    v4 += v5, v3 += v4, v2 += v3, v1 += v2, v0 += v1;
    v4 += v5, v3 += v4, v2 += v3, v1 += v2;
    v4 += v5, v3 += v4, v2 += v3;
    v4 += v5, v3 += v4;
    v4 += v5;
    z0[i] = v0, z1[i] = v1, z2[i] = v2, z3[i] = v3, z4[i] = v4;
  }
}
NV_CLONES
static void pascal4(ZR(0), ZR(1), ZR(2), ZR(3), const double *restrict z4, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double v0 = z0[i], v1 = z1[i], v2 = z2[i], v3 = z3[i];
    const double v4 = z4[i];
    v3 += v4, v2 += v3, v1 += v2, v0 += v1;
    v3 += v4, v2 += v3, v1 += v2;
    v3 += v4, v2 += v3;
    v3 += v4;
    z0[i] = v0, z1[i] = v1, z2[i] = v2, z3[i] = v3;
  }
}
NV_CLONES
static void pascal3(ZR(0), ZR(1), ZR(2), const double *restrict z3, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double v0 = z0[i], v1 = z1[i], v2 = z2[i];
    const double v3 = z3[i];
    v2 += v3, v1 += v2, v0 += v1;
    v2 += v3, v1 += v2;
    v2 += v3;
    z0[i] = v0, z1[i] = v1, z2[i] = v2;
  }
}
NV_CLONES
static void pascal2(ZR(0), ZR(1), const double *restrict z2, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double v0 = z0[i], v1 = z1[i];
    const double v2 = z2[i];
    v1 += v2, v0 += v1;
    v1 += v2;
    z0[i] = v0, z1[i] = v1;
  }
}
#undef ZR

/* The queue's Nordsieck columns z_0 … z_q if it is exactly the triangle of
 * order q on disjoint arrays, else 0. */
static int pascal_match(const schedopt_nvector_queue *q, double *zn[6]) {
  int order = 0;
  while (order < 5 && (order + 1) * (order + 2) / 2 <= q->n) order++;
  if (order < 2 || order * (order + 1) / 2 != q->n) return 0;
  zn[order] = (double *)q->y[0];
  for (int j = order; j >= 1; j--) zn[j - 1] = q->z[order - j];
  int e = 0;
  for (int k = 1; k <= order; k++)
    for (int j = order; j >= k; j--, e++)
      if (q->z[e] != zn[j - 1] || q->y[e] != zn[j]) return 0;
  const uintptr_t bytes = q->len * sizeof(double); /* addresses: the arrays are unrelated */
  for (int i = 0; i <= order; i++) /* the register pass needs disjoint columns */
    for (int j = i + 1; j <= order; j++) {
      const uintptr_t a = (uintptr_t)zn[i], b = (uintptr_t)zn[j];
      if (a < b + bytes && b < a + bytes) return 0;
    }
  return order;
}

static void run_queue(schedopt_nvector_queue *q) {
  double *zn[6];
  const size_t n = q->len;
  switch (pascal_match(q, zn)) {
  case 5: pascal5(zn[0], zn[1], zn[2], zn[3], zn[4], zn[5], n); break;
  case 4: pascal4(zn[0], zn[1], zn[2], zn[3], zn[4], n); break;
  case 3: pascal3(zn[0], zn[1], zn[2], zn[3], n); break;
  case 2: pascal2(zn[0], zn[1], zn[2], n); break;
  default:
    for (int e = 0; e < q->n; e++) lin_sum_now(1.0, q->z[e], 1.0, q->y[e], q->z[e], n);
  }
  q->n = 0;
}

/* z = a x + b y; z = x + y into x is deferred. */
static void lin_sum(realtype a, N_Vector x, realtype b, N_Vector y, N_Vector z) {
  schedopt_nvector_queue *q = queue_of(x);
  const size_t n = LEN(x);
  if (q && a == 1.0 && b == 1.0 && z == x && y != x && queue_of(y) == q) {
    if (q->n && (q->n == SCHEDOPT_NVQ_MAX || q->len != n)) run_queue(q);
    q->z[q->n] = DATA(x);
    q->y[q->n] = DATA(y);
    q->len = n;
    q->n++;
    return;
  }
  settle(x), settle(y), settle(z);
  lin_sum_now(a, DATA(x), b, DATA(y), DATA(z), n);
}

NV_CLONES
static void vconst(realtype c, N_Vector z) {
  settle(z);
  const size_t n = LEN(z);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c;
}

NV_CLONES
static void scale(realtype c, N_Vector x, N_Vector z) {
  settle(x), settle(z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c * xd[i];
}

NV_CLONES
static void prod(N_Vector x, N_Vector y, N_Vector z) {
  settle(x), settle(y), settle(z);
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] * yd[i];
}

NV_CLONES
static void vabs(N_Vector x, N_Vector z) {
  settle(x), settle(z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = fabs(xd[i]);
}

NV_CLONES
static void inv(N_Vector x, N_Vector z) {
  settle(x), settle(z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = 1.0 / xd[i];
}

NV_CLONES
static void add_const(N_Vector x, realtype b, N_Vector z) {
  settle(x), settle(z);
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
  settle(x), settle(w);
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
static realtype vmin(N_Vector x) {
  settle(x);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double m = n ? xd[0] : 0.0;
  for (size_t i = 1; i < n; i++) m = xd[i] < m ? xd[i] : m;
  return m;
}

static realtype max_norm(N_Vector x) {
  settle(x);
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
  settle(z);
  for (int k = 0; k < nv; k++) settle(X[k]);
  const size_t n = LEN(z);
  const int in_place = X[0] == z;
  for (size_t lo = 0; lo < n; lo += LC_BLOCK)
    lin_comb_block(nv, c, X, DATA(z), lo, lo + LC_BLOCK < n ? lo + LC_BLOCK : n, in_place);
  return 0;
}

/* Z_k = a_k x + Y_k */
NV_CLONES
static int scale_add_multi(int nv, realtype *a, N_Vector x, N_Vector *Y, N_Vector *Z) {
  settle(x);
  for (int k = 0; k < nv; k++) settle(Y[k]), settle(Z[k]);
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

/* ---- the rest of the serial vector's operations: the queue, then the
 * serial code (which reads the content through its first member) ---------- */
static realtype *get_data(N_Vector v) {
  settle(v);
  return DATA(v);
}
static void set_data(realtype *d, N_Vector v) {
  settle(v);
  NV_DATA_S(v) = d;
}
static void vdiv(N_Vector x, N_Vector y, N_Vector z) {
  settle(x), settle(y), settle(z);
  N_VDiv_Serial(x, y, z);
}
static realtype dot(N_Vector x, N_Vector y) {
  settle(x), settle(y);
  return N_VDotProd_Serial(x, y);
}
static realtype wrms_mask(N_Vector x, N_Vector w, N_Vector id) {
  settle(x), settle(w), settle(id);
  return N_VWrmsNormMask_Serial(x, w, id);
}
static realtype wsqr_mask(N_Vector x, N_Vector w, N_Vector id) {
  settle(x), settle(w), settle(id);
  return N_VWSqrSumMaskLocal_Serial(x, w, id);
}
static realtype wl2(N_Vector x, N_Vector w) {
  settle(x), settle(w);
  return N_VWL2Norm_Serial(x, w);
}
static realtype l1(N_Vector x) {
  settle(x);
  return N_VL1Norm_Serial(x);
}
static void compare(realtype c, N_Vector x, N_Vector z) {
  settle(x), settle(z);
  N_VCompare_Serial(c, x, z);
}
static booleantype inv_test(N_Vector x, N_Vector z) {
  settle(x), settle(z);
  return N_VInvTest_Serial(x, z);
}
static booleantype constr_mask(N_Vector c, N_Vector x, N_Vector m) {
  settle(c), settle(x), settle(m);
  return N_VConstrMask_Serial(c, x, m);
}
static realtype min_quotient(N_Vector num, N_Vector den) {
  settle(num), settle(den);
  return N_VMinQuotient_Serial(num, den);
}
static int buf_pack(N_Vector x, void *buf) {
  settle(x);
  return N_VBufPack_Serial(x, buf);
}
static int buf_unpack(N_Vector x, void *buf) {
  settle(x);
  return N_VBufUnpack_Serial(x, buf);
}
static void print(N_Vector x) {
  settle(x);
  N_VPrint_Serial(x);
}
static void print_file(N_Vector x, FILE *f) {
  settle(x);
  N_VPrintFile_Serial(x, f);
}

/* Clones join the template's set (CVODES makes its Nordsieck array, the
 * adjoint's and the quadratures' vectors this way).  Their data start on a
 * page: placed by malloc (n = 1000: 8016 bytes apart) the same forward solve
 * took 2.8–3.3 ms at T = 1e6 depending on the size of one earlier allocation
 * (`bench_forward placement`), on pages 2.6 ms at every size. */
#define NV_ALIGN 4096
static N_Vector clone_empty(N_Vector w) {
  N_Vector v = N_VNewEmpty(w->sunctx);
  fast_content *c = v ? calloc(1, sizeof *c) : NULL;
  if (!c || N_VCopyOps(w, v)) {
    free(c);
    N_VFreeEmpty(v);
    return NULL;
  }
  c->s.length = NV_LENGTH_S(w);
  c->s.own_data = SUNFALSE;
  c->q = queue_of(w);
  v->content = c;
  return v;
}

static void destroy(N_Vector v) {
  if (!v) return;
  if (v->content) {
    settle(v); /* no pending sum may outlive its vector */
    if (NV_OWN_DATA_S(v)) free(NV_DATA_S(v));
    free(v->content);
    v->content = NULL;
  }
  N_VFreeEmpty(v);
}

static N_Vector clone(N_Vector w) {
  N_Vector v = clone_empty(w);
  if (!v) return NULL;
  const size_t n = LEN(w);
  void *pv = NULL;
  double *d = posix_memalign(&pv, NV_ALIGN, (n ? n : 1) * sizeof(double)) ? NULL : pv;
  if (!d) {
    destroy(v);
    return NULL;
  }
  NV_DATA_S(v) = d;
  NV_OWN_DATA_S(v) = SUNTRUE;
  return v;
}

void schedopt_nvector_queue_init(schedopt_nvector_queue *q) {
  q->n = 0;
  q->len = 0;
}

int schedopt_nvector_use_fast_ops(N_Vector v, schedopt_nvector_queue *q) {
  if (N_VGetVectorID(v) != SUNDIALS_NVEC_SERIAL) return -1;
  fast_content *c = calloc(1, sizeof *c);
  if (!c) return -1;
  c->s = *(N_VectorContent_Serial)v->content;
  c->q = q;
  free(v->content);
  v->content = c;
  N_Vector_Ops o = v->ops;
  o->nvclone = clone;
  o->nvcloneempty = clone_empty;
  o->nvdestroy = destroy;
  o->nvgetarraypointer = get_data;
  o->nvsetarraypointer = set_data;
  o->nvlinearsum = lin_sum;
  o->nvconst = vconst;
  o->nvprod = prod;
  o->nvdiv = vdiv;
  o->nvscale = scale;
  o->nvabs = vabs;
  o->nvinv = inv;
  o->nvaddconst = add_const;
  o->nvdotprod = dot;
  o->nvmaxnorm = max_norm;
  o->nvwrmsnorm = wrms_norm;
  o->nvwrmsnormmask = wrms_mask;
  o->nvmin = vmin;
  o->nvwl2norm = wl2;
  o->nvl1norm = l1;
  o->nvcompare = compare;
  o->nvinvtest = inv_test;
  o->nvconstrmask = constr_mask;
  o->nvminquotient = min_quotient;
  o->nvlinearcombination = lin_comb;
  o->nvscaleaddmulti = scale_add_multi;
  /* fused and array operations the serial vector leaves off: SUNDIALS falls
   * back to the operations above */
  o->nvdotprodmulti = NULL;
  o->nvlinearsumvectorarray = NULL;
  o->nvscalevectorarray = NULL;
  o->nvconstvectorarray = NULL;
  o->nvwrmsnormvectorarray = NULL;
  o->nvwrmsnormmaskvectorarray = NULL;
  o->nvscaleaddmultivectorarray = NULL;
  o->nvlinearcombinationvectorarray = NULL;
  o->nvdotprodmultilocal = NULL;
  o->nvdotprodmultiallreduce = NULL;
  /* local reductions: the same as the global ones on one process */
  o->nvdotprodlocal = dot;
  o->nvmaxnormlocal = max_norm;
  o->nvminlocal = vmin;
  o->nvl1normlocal = l1;
  o->nvinvtestlocal = inv_test;
  o->nvconstrmasklocal = constr_mask;
  o->nvminquotientlocal = min_quotient;
  o->nvwsqrsumlocal = wsqr_sum;
  o->nvwsqrsummasklocal = wsqr_mask;
  o->nvbufpack = buf_pack;
  o->nvbufunpack = buf_unpack;
  o->nvprint = print;
  o->nvprintfile = print_file;
  return 0;
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
  settle(y), settle(w);
  return ewt_pass(DATA(y), DATA(w), LEN(y), rtol, atol);
}
