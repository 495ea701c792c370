#include "dynamics/nvector_fast.h"

#include <math.h>
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

/* ---- the predictor's passes, fused ----------------------------------------
 * CVODES predicts by the Pascal triangle on the Nordsieck array: for k = 1..q
 * and j = q..k, zn[j−1] += zn[j] — q(q+1)/2 separate passes over the state
 * (15 at order 5, a sixth of a forward solve), each streaming two vectors
 * that together with the other four columns exceed the L1 cache.  lin_sum
 * queues such x += y passes instead of running them; the next other
 * operation on any vector of the family (a vector and its clones: one
 * CVODES problem) first runs the queue in blocks of NVQ_BLOCK elements,
 * every queued pass on a block before the next block.  Each element gets
 * the same additions in the same order: the same numbers, with every column
 * read once per block.
 *
 * The queue hangs off the family's ops tables (fast_ops: the ops first, so
 * v->ops stays a valid table), and every operation of the table that reads
 * or writes data runs the queue first: ours below, the serial vector's
 * through wrappers (nvq_wrap).  A table with an operation this file does not
 * know gets no queue. */
#define NVQ_MAX 32
#define NVQ_BLOCK 256
typedef struct nvq {
  int refs; /* vectors of the family */
  int n;    /* queued passes */
  size_t len;
  double *x[NVQ_MAX];
  const double *y[NVQ_MAX];
} nvq;

typedef struct fast_ops {
  struct _generic_N_Vector_Ops o; /* first: v->ops points here */
  struct _generic_N_Vector_Ops orig; /* the serial vector's operations */
  nvq *q; /* NULL: no queue */
} fast_ops;

#define FO(v) ((fast_ops *)(v)->ops)

NV_CLONES
static void nvq_run_blocks(nvq *q) {
  for (size_t lo = 0; lo < q->len; lo += NVQ_BLOCK) {
    const size_t hi = lo + NVQ_BLOCK < q->len ? lo + NVQ_BLOCK : q->len;
    for (int k = 0; k < q->n; k++) {
      double *x = q->x[k];
      const double *y = q->y[k];
      for (size_t i = lo; i < hi; i++) x[i] = x[i] + y[i];
    }
  }
  q->n = 0;
}

static N_Vector w_clone(N_Vector v);

/* v's queue: NULL unless v's table is a fast_ops block (marked by w_clone). */
static inline nvq *qof(N_Vector v) {
  return v && v->ops && v->ops->nvclone == w_clone ? FO(v)->q : NULL;
}

/* Run what v's family has queued. */
static inline void nvq_flush(N_Vector v) {
  nvq *q = qof(v);
  if (q && q->n) nvq_run_blocks(q);
}
static inline void nvq_flush2(N_Vector a, N_Vector b) {
  nvq_flush(a);
  nvq_flush(b);
}
static inline void nvq_flush3(N_Vector a, N_Vector b, N_Vector c) {
  nvq_flush(a);
  nvq_flush(b);
  nvq_flush(c);
}
static inline void nvq_flush_array(int n, N_Vector *X) {
  for (int k = 0; k < n; k++) nvq_flush(X[k]);
}

NV_CLONES
static void lin_sum(realtype a, N_Vector x, realtype b, N_Vector y, N_Vector z) {
  nvq *q = qof(x);
  if (q && a == 1.0 && b == 1.0 && z == x && qof(y) == q) { /* x += y: queued */
    if (q->n == NVQ_MAX || (q->n && q->len != LEN(x))) nvq_run_blocks(q);
    q->len = LEN(x);
    q->x[q->n] = DATA(x);
    q->y[q->n] = DATA(y);
    q->n++;
    return;
  }
  nvq_flush3(x, y, z);
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = a * xd[i] + b * yd[i];
}

NV_CLONES
static void vconst(realtype c, N_Vector z) {
  nvq_flush(z);
  const size_t n = LEN(z);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c;
}

NV_CLONES
static void scale(realtype c, N_Vector x, N_Vector z) {
  nvq_flush2(x, z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = c * xd[i];
}

NV_CLONES
static void prod(N_Vector x, N_Vector y, N_Vector z) {
  nvq_flush3(x, y, z);
  const size_t n = LEN(x);
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] * yd[i];
}

NV_CLONES
static void vabs(N_Vector x, N_Vector z) {
  nvq_flush2(x, z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = fabs(xd[i]);
}

NV_CLONES
static void inv(N_Vector x, N_Vector z) {
  nvq_flush2(x, z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = 1.0 / xd[i];
}

NV_CLONES
static void add_const(N_Vector x, realtype b, N_Vector z) {
  nvq_flush2(x, z);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double *zd = DATA(z);
  for (size_t i = 0; i < n; i++) zd[i] = xd[i] + b;
}

/* Σ (x_i w_i)² with four partial sums (independent add chains; their order
 * sets the norm's rounding, and with it every step size). */
NV_CLONES
static realtype wsqr_sum(N_Vector x, N_Vector w) {
  nvq_flush2(x, w);
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

NV_CLONES
NV_CLONES
static realtype vmin(N_Vector x) {
  nvq_flush(x);
  const size_t n = LEN(x);
  const double *xd = DATA(x);
  double m = n ? xd[0] : 0.0;
  for (size_t i = 1; i < n; i++) m = xd[i] < m ? xd[i] : m;
  return m;
}

static realtype max_norm(N_Vector x) {
  nvq_flush(x);
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
  nvq_flush(z);
  nvq_flush_array(nv, X);
  const size_t n = LEN(z);
  const int in_place = X[0] == z;
  for (size_t lo = 0; lo < n; lo += LC_BLOCK)
    lin_comb_block(nv, c, X, DATA(z), lo, lo + LC_BLOCK < n ? lo + LC_BLOCK : n, in_place);
  return 0;
}

/* Z_k = a_k x + Y_k */
NV_CLONES
static int scale_add_multi(int nv, realtype *a, N_Vector x, N_Vector *Y, N_Vector *Z) {
  nvq_flush(x);
  nvq_flush_array(nv, Y);
  nvq_flush_array(nv, Z);
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

/* ---- the serial vector's other operations, after the queue (nvq_wrap) ---- */
#define ORIG(v) (FO(v)->orig)
static realtype *w_getarraypointer(N_Vector v) {
  nvq_flush(v);
  return ORIG(v).nvgetarraypointer(v);
}
static void w_setarraypointer(realtype *d, N_Vector v) {
  nvq_flush(v);
  ORIG(v).nvsetarraypointer(d, v);
}
static void w_div(N_Vector x, N_Vector y, N_Vector z) {
  nvq_flush3(x, y, z);
  ORIG(x).nvdiv(x, y, z);
}
static realtype w_dotprod(N_Vector x, N_Vector y) {
  nvq_flush2(x, y);
  return ORIG(x).nvdotprod(x, y);
}
static realtype w_wrmsnormmask(N_Vector x, N_Vector w, N_Vector id) {
  nvq_flush3(x, w, id);
  return ORIG(x).nvwrmsnormmask(x, w, id);
}
static realtype w_wl2norm(N_Vector x, N_Vector w) {
  nvq_flush2(x, w);
  return ORIG(x).nvwl2norm(x, w);
}
static realtype w_l1norm(N_Vector x) {
  nvq_flush(x);
  return ORIG(x).nvl1norm(x);
}
static void w_compare(realtype c, N_Vector x, N_Vector z) {
  nvq_flush2(x, z);
  ORIG(x).nvcompare(c, x, z);
}
static booleantype w_invtest(N_Vector x, N_Vector z) {
  nvq_flush2(x, z);
  return ORIG(x).nvinvtest(x, z);
}
static booleantype w_constrmask(N_Vector c, N_Vector x, N_Vector m) {
  nvq_flush3(c, x, m);
  return ORIG(x).nvconstrmask(c, x, m);
}
static realtype w_minquotient(N_Vector n, N_Vector d) {
  nvq_flush2(n, d);
  return ORIG(n).nvminquotient(n, d);
}
static realtype w_dotprodlocal(N_Vector x, N_Vector y) {
  nvq_flush2(x, y);
  return ORIG(x).nvdotprodlocal(x, y);
}
static realtype w_maxnormlocal(N_Vector x) {
  nvq_flush(x);
  return ORIG(x).nvmaxnormlocal(x);
}
static realtype w_minlocal(N_Vector x) {
  nvq_flush(x);
  return ORIG(x).nvminlocal(x);
}
static realtype w_l1normlocal(N_Vector x) {
  nvq_flush(x);
  return ORIG(x).nvl1normlocal(x);
}
static booleantype w_invtestlocal(N_Vector x, N_Vector z) {
  nvq_flush2(x, z);
  return ORIG(x).nvinvtestlocal(x, z);
}
static booleantype w_constrmasklocal(N_Vector c, N_Vector x, N_Vector m) {
  nvq_flush3(c, x, m);
  return ORIG(x).nvconstrmasklocal(c, x, m);
}
static realtype w_minquotientlocal(N_Vector n, N_Vector d) {
  nvq_flush2(n, d);
  return ORIG(n).nvminquotientlocal(n, d);
}
static realtype w_wsqrsummasklocal(N_Vector x, N_Vector w, N_Vector id) {
  nvq_flush3(x, w, id);
  return ORIG(x).nvwsqrsummasklocal(x, w, id);
}
static int w_dotprodmultilocal(int nv, N_Vector x, N_Vector *Y, realtype *d) {
  nvq_flush(x);
  nvq_flush_array(nv, Y);
  return ORIG(x).nvdotprodmultilocal(nv, x, Y, d);
}
static int w_bufpack(N_Vector x, void *buf) {
  nvq_flush(x);
  return ORIG(x).nvbufpack(x, buf);
}
static int w_bufunpack(N_Vector x, void *buf) {
  nvq_flush(x);
  return ORIG(x).nvbufunpack(x, buf);
}
static void w_print(N_Vector x) {
  nvq_flush(x);
  ORIG(x).nvprint(x);
}
static void w_printfile(N_Vector x, FILE *f) {
  nvq_flush(x);
  ORIG(x).nvprintfile(x, f);
}

static int upgrade(N_Vector v, const struct _generic_N_Vector_Ops *orig, nvq *q);

/* Clones join the family: their own copy of the table (as SUNDIALS makes
 * one per vector), the same queue. */
static N_Vector join(N_Vector v, N_Vector c) {
  if (c && upgrade(c, &ORIG(v), FO(v)->q)) {
    *c->ops = ORIG(v); /* its table is a plain copy of ours: the serial one again */
    N_VDestroy(c);
    return NULL;
  }
  return c;
}
static N_Vector w_clone(N_Vector v) { return join(v, ORIG(v).nvclone(v)); }
static N_Vector w_cloneempty(N_Vector v) { return join(v, ORIG(v).nvcloneempty(v)); }
/* The serial destroy frees v->ops, i.e. the fast_ops block that starts there. */
static void w_destroy(N_Vector v) {
  nvq *q = FO(v)->q;
  void (*destroy)(N_Vector) = ORIG(v).nvdestroy;
  nvq_flush(v);
  if (q && --q->refs == 0) free(q);
  destroy(v);
}

/* v's table (a copy of the serial one, or of a family member's) → a fast_ops
 * block: orig the serial operations, o ours and the wrappers; q shared. */
static int upgrade(N_Vector v, const struct _generic_N_Vector_Ops *orig, nvq *q) {
  fast_ops *f = malloc(sizeof *f);
  if (!f) return -1;
  f->orig = *orig;
  f->o = *orig;
  f->q = q;
  if (q) q->refs++;
  N_Vector_Ops o = &f->o;
  o->nvclone = w_clone;
  o->nvcloneempty = w_cloneempty;
  o->nvdestroy = w_destroy;
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
#define WRAP(op, fn) \
  if (orig->op) o->op = fn
  WRAP(nvgetarraypointer, w_getarraypointer);
  WRAP(nvsetarraypointer, w_setarraypointer);
  WRAP(nvdiv, w_div);
  WRAP(nvdotprod, w_dotprod);
  WRAP(nvwrmsnormmask, w_wrmsnormmask);
  WRAP(nvwl2norm, w_wl2norm);
  WRAP(nvl1norm, w_l1norm);
  WRAP(nvcompare, w_compare);
  WRAP(nvinvtest, w_invtest);
  WRAP(nvconstrmask, w_constrmask);
  WRAP(nvminquotient, w_minquotient);
  WRAP(nvdotprodlocal, w_dotprodlocal);
  WRAP(nvmaxnormlocal, w_maxnormlocal);
  WRAP(nvminlocal, w_minlocal);
  WRAP(nvl1normlocal, w_l1normlocal);
  WRAP(nvinvtestlocal, w_invtestlocal);
  WRAP(nvconstrmasklocal, w_constrmasklocal);
  WRAP(nvminquotientlocal, w_minquotientlocal);
  WRAP(nvwsqrsummasklocal, w_wsqrsummasklocal);
  WRAP(nvdotprodmultilocal, w_dotprodmultilocal);
  WRAP(nvbufpack, w_bufpack);
  WRAP(nvbufunpack, w_bufunpack);
  WRAP(nvprint, w_print);
  WRAP(nvprintfile, w_printfile);
#undef WRAP
  free(v->ops);
  v->ops = o;
  return 0;
}

/* Operations that touch data and that neither this file implements nor wraps:
 * with any of them the family runs without a queue. */
static int unknown_ops(const struct _generic_N_Vector_Ops *o) {
  return o->nvgetdevicearraypointer || o->nvdotprodmulti || o->nvlinearsumvectorarray ||
         o->nvscalevectorarray || o->nvconstvectorarray || o->nvwrmsnormvectorarray ||
         o->nvwrmsnormmaskvectorarray || o->nvscaleaddmultivectorarray ||
         o->nvlinearcombinationvectorarray || o->nvdotprodmultiallreduce;
}

int schedopt_nvector_use_fast_ops(N_Vector v) {
  if (!v || !v->ops || N_VGetVectorID(v) != SUNDIALS_NVEC_SERIAL) return -1;
  if (v->ops->nvclone == w_clone) return 0; /* already */
  nvq *q = unknown_ops(v->ops) ? NULL : calloc(1, sizeof *q);
  const struct _generic_N_Vector_Ops orig = *v->ops;
  if (upgrade(v, &orig, q)) {
    free(q);
    return -1;
  }
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
  nvq_flush(y);
  return ewt_pass(DATA(y), DATA(w), LEN(y), rtol, atol);
}
