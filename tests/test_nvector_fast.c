/* The fast serial vectors' deferred sums (src/dynamics/nvector_fast.c):
 * sums z ← z + y are recorded and run when anything next touches the set,
 * CVODES's predictor triangle as one pass.  Every sequence below runs on a
 * set of fast vectors and on plain serial vectors, and the data must be the
 * same to the bit: the predictor of every order 1 … 7 (2 … 5 take the
 * one-pass path, the rest the sum-by-sum one), incomplete triangles followed
 * by other operations, columns that share an array (the one-pass path must
 * refuse them), more sums than the queue holds, sums of two lengths in one
 * set, clones, N_VSetArrayPointer, vectors destroyed with sums pending
 * (under ASan a sum that outlived its vector would be a use after free) and
 * plain vectors passed to a fast vector's operations.
 * The CVODES solutions themselves are the rest of the suite's business; the
 * suite's losses do not move with this code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#include "dynamics/nvector_fast.h"
#include "testutil.h"

static SUNContext ctx;
static schedopt_nvector_queue queue;
static unsigned seed = 2024u;

static double rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return ((seed >> 8) & 0xffffff) / (double)0x1000000 - 0.5;
}

/* m vectors of length n with the same random data: fast (in the queue's
 * set) and plain. */
typedef struct pair {
  int m;
  N_Vector f[10], p[10];
} pair;

static void pair_alloc(pair *s, int m, size_t n) {
  s->m = m;
  for (int j = 0; j < m; j++) {
    s->f[j] = N_VNew_Serial((sunindextype)n, ctx);
    s->p[j] = N_VNew_Serial((sunindextype)n, ctx);
    CHECK(s->f[j] && s->p[j]);
    CHECK(schedopt_nvector_use_fast_ops(s->f[j], &queue) == 0);
    double *a = N_VGetArrayPointer(s->f[j]), *b = N_VGetArrayPointer(s->p[j]);
    for (size_t i = 0; i < n; i++) a[i] = b[i] = rnd() * (1 + j);
  }
}

static void pair_free(pair *s) {
  for (int j = 0; j < s->m; j++) {
    N_VDestroy(s->f[j]);
    N_VDestroy(s->p[j]);
  }
}

/* z_j ← z_j + y on both sides */
static void sum(pair *s, int z, int y) {
  N_VLinearSum(1.0, s->f[z], 1.0, s->f[y], s->f[z]);
  N_VLinearSum(1.0, s->p[z], 1.0, s->p[y], s->p[z]);
}

static void predict(pair *s, int q) {
  for (int k = 1; k <= q; k++)
    for (int j = q; j >= k; j--) sum(s, j - 1, j);
}

/* every vector bitwise equal (read through N_VGetArrayPointer, which runs
 * the queue) */
static int same(pair *s, size_t n, const char *what) {
  int bad = 0;
  for (int j = 0; j < s->m; j++)
    if (memcmp(N_VGetArrayPointer(s->f[j]), N_VGetArrayPointer(s->p[j]), n * sizeof(double)))
      bad++;
  CHECK_MSG(bad == 0, "%s: %d of %d vectors differ", what, bad, s->m);
  CHECK_MSG(queue.n == 0, "%s: %d sums left in the queue", what, queue.n);
  return bad;
}

int main(void) {
  if (SUNContext_Create(NULL, &ctx)) return 1;
  schedopt_nvector_queue_init(&queue);
  char what[96];
  static const size_t lens[] = {1, 3, 7, 1000, 1001};

  /* 1. the predictor, every order, then several steps in a row */
  for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
    for (int q = 1; q <= 7; q++) {
      pair s;
      pair_alloc(&s, q + 1, lens[l]);
      predict(&s, q);
      CHECK(q == 1 || queue.n == q * (q + 1) / 2); /* recorded, not run */
      snprintf(what, sizeof what, "predictor q = %d, n = %zu", q, lens[l]);
      same(&s, lens[l], what);
      for (int step = 0; step < 3; step++) {
        predict(&s, q);
        N_VScale(0.5, s.f[0], s.f[0]); /* another operation runs the queue */
        N_VScale(0.5, s.p[0], s.p[0]);
      }
      snprintf(what, sizeof what, "three steps, q = %d, n = %zu", q, lens[l]);
      same(&s, lens[l], what);
      pair_free(&s);
    }

  /* 2. an incomplete triangle, then operations that read or write its vectors */
  {
    const size_t n = 1000;
    pair s;
    pair_alloc(&s, 6, n);
    sum(&s, 4, 5), sum(&s, 3, 4), sum(&s, 2, 3);
    { /* the fast norm sums in another order than the plain one: the
       * reference is the fast norm of copies of the plain vectors */
      N_Vector a = N_VClone(s.f[0]), b = N_VClone(s.f[0]);
      memcpy(N_VGetArrayPointer(a), N_VGetArrayPointer(s.p[3]), n * sizeof(double));
      memcpy(N_VGetArrayPointer(b), N_VGetArrayPointer(s.p[5]), n * sizeof(double));
      CHECK(N_VWrmsNorm(s.f[3], s.f[5]) == N_VWrmsNorm(a, b));
      N_VDestroy(a), N_VDestroy(b);
    }
    sum(&s, 1, 2), sum(&s, 0, 1);
    CHECK(N_VDotProd(s.f[0], s.f[1]) == N_VDotProd(s.p[0], s.p[1]));
    sum(&s, 4, 5), sum(&s, 3, 4);
    N_VConst(2.0, s.f[5]), N_VConst(2.0, s.p[5]); /* overwrites a pending sum's input */
    sum(&s, 2, 3);
    N_VLinearSum(2.0, s.f[2], -1.0, s.f[0], s.f[1]); /* not deferred */
    N_VLinearSum(2.0, s.p[2], -1.0, s.p[0], s.p[1]);
    same(&s, n, "incomplete triangle");
    /* z = x + y with z ≠ x, and z = y + y: run at once */
    N_VLinearSum(1.0, s.f[0], 1.0, s.f[1], s.f[2]);
    N_VLinearSum(1.0, s.p[0], 1.0, s.p[1], s.p[2]);
    N_VLinearSum(1.0, s.f[3], 1.0, s.f[3], s.f[3]);
    N_VLinearSum(1.0, s.p[3], 1.0, s.p[3], s.p[3]);
    same(&s, n, "sums that are not deferred");
    pair_free(&s);
  }

  /* 3. columns that share an array: the triangle's one pass must not run */
  {
    const size_t n = 64;
    double *buf = calloc(5 * n, sizeof *buf), *ref = calloc(5 * n, sizeof *ref);
    N_Vector f[6], p[6];
    for (size_t i = 0; i < 5 * n; i++) buf[i] = ref[i] = rnd();
    /* columns 0 and 3 are one array; 4 overlaps 1 by half */
    const size_t off[6] = {0, n, 2 * n, 0, n + n / 2, 3 * n};
    for (int j = 0; j < 6; j++) {
      f[j] = N_VMake_Serial((sunindextype)n, buf + off[j], ctx);
      p[j] = N_VMake_Serial((sunindextype)n, ref + off[j], ctx);
      CHECK(f[j] && p[j] && schedopt_nvector_use_fast_ops(f[j], &queue) == 0);
    }
    for (int k = 1; k <= 5; k++)
      for (int j = 5; j >= k; j--) {
        N_VLinearSum(1.0, f[j - 1], 1.0, f[j], f[j - 1]);
        N_VLinearSum(1.0, p[j - 1], 1.0, p[j], p[j - 1]);
      }
    N_VGetArrayPointer(f[0]);
    CHECK_MSG(!memcmp(buf, ref, 5 * n * sizeof *buf), "shared columns differ");
    for (int j = 0; j < 6; j++) N_VDestroy(f[j]), N_VDestroy(p[j]);
    free(buf);
    free(ref);
  }

  /* 4. more sums than the queue holds; 5. two lengths in one set */
  {
    pair s, t;
    pair_alloc(&s, 2, 100);
    pair_alloc(&t, 2, 3);
    for (int i = 0; i < 3 * SCHEDOPT_NVQ_MAX + 5; i++) sum(&s, i & 1, !(i & 1));
    same(&s, 100, "a long chain of sums");
    predict(&s, 1), predict(&t, 1), predict(&s, 1), predict(&t, 1);
    same(&s, 100, "two lengths (long)");
    same(&t, 3, "two lengths (short)");
    pair_free(&s);
    pair_free(&t);
  }

  /* 6. clones join the set; set the array pointer with sums pending */
  {
    pair s;
    pair_alloc(&s, 2, 50);
    N_Vector c = N_VClone(s.f[0]), e = N_VCloneEmpty(s.f[0]);
    CHECK(c && e);
    N_VScale(1.0, s.f[1], c); /* c = f1 */
    N_VLinearSum(1.0, c, 1.0, s.f[0], c);
    CHECK(queue.n == 1);
    sum(&s, 1, 0); /* p1 = f1 + f0, as c */
    CHECK(queue.n == 2);
    CHECK(!memcmp(N_VGetArrayPointer(c), N_VGetArrayPointer(s.p[1]), 50 * sizeof(double)));
    double *other = malloc(50 * sizeof *other);
    for (int i = 0; i < 50; i++) other[i] = 1.0;
    N_VSetArrayPointer(N_VGetArrayPointer(s.f[1]), e); /* e shares f1's data */
    N_VLinearSum(1.0, e, 1.0, s.f[0], e); /* f1 += f0, through e */
    N_VLinearSum(1.0, s.p[1], 1.0, s.p[0], s.p[1]);
    sum(&s, 0, 1); /* and f0 += f1 */
    N_VSetArrayPointer(other, e); /* runs the queue first */
    CHECK(queue.n == 0);
    same(&s, 50, "clones and a set array pointer");
    N_VDestroy(c);
    N_VDestroy(e);
    free(other);
    pair_free(&s);
  }

  /* 7. destroyed with sums pending: into it, and from it */
  {
    pair s;
    pair_alloc(&s, 3, 200);
    sum(&s, 1, 2); /* reads 2 */
    sum(&s, 2, 0); /* writes 2 */
    N_VDestroy(s.f[2]);
    N_VDestroy(s.p[2]);
    s.m = 2;
    CHECK(queue.n == 0);
    same(&s, 200, "destroyed with sums pending");
    pair_free(&s);
  }

  /* 8. a plain vector passed to a fast vector's operations: read as it is
   * (no queue of its own to look up: ASan would see a read past its content) */
  {
    pair s;
    pair_alloc(&s, 2, 40);
    sum(&s, 0, 1); /* pending in the fast set */
    N_VLinearSum(1.0, s.f[0], 1.0, s.p[1], s.f[0]); /* f0 += p1, now */
    N_VLinearSum(1.0, s.p[0], 1.0, s.p[1], s.p[0]);
    CHECK(queue.n == 0);
    N_VScale(2.0, s.p[1], s.f[1]); /* z = 2·p1 into the fast set */
    N_VScale(2.0, s.p[1], s.p[1]);
    same(&s, 40, "plain vectors passed along");
    pair_free(&s);
  }

  SUNContext_Free(&ctx);
  return test_finish();
}
