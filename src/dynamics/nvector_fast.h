/* Faster kernels for the serial N_Vector's hottest operations.
 *
 * For our systems (n ~ 10^3, a few hundred BDF steps) CVODES time is
 * dominated by its own vector kernels (weighted RMS norms, linear sums), and
 * the packaged serial kernels run at several ns per element.  These
 * replacements keep the semantics of the SUNDIALS ops (aliasing allowed as
 * documented) and are written so the compiler vectorizes them; they are
 * installed into a vector's ops table, which clones inherit.
 *
 * The vectors of one integrator form a set that shares a queue: sums
 * z ← z + y (CVODES's predictor, q(q + 1)/2 of them per step) are recorded
 * rather than run, and the next other operation on any vector of the set runs
 * them, the predictor's triangle as one pass over the elements.  Every
 * operation, N_VGetArrayPointer included, sees the data as if each sum had
 * run when it was called.  A set's vectors are for use with each other: a
 * plain serial vector passed to their operations is read and written as it
 * is, but the plain vector's own operations do not run a set's queue, so
 * they must not be given a set's vectors. */
#ifndef SCHEDOPT_NVECTOR_FAST_H
#define SCHEDOPT_NVECTOR_FAST_H

#include <stddef.h>
#include <sundials/sundials_nvector.h>

#define SCHEDOPT_NVQ_MAX 32

/* Pending sums z[e] ← z[e] + y[e] over len elements, in order. */
typedef struct schedopt_nvector_queue {
  int n;
  size_t len;
  double *z[SCHEDOPT_NVQ_MAX];
  const double *y[SCHEDOPT_NVQ_MAX];
} schedopt_nvector_queue;

void schedopt_nvector_queue_init(schedopt_nvector_queue *q);

/* Makes the serial vector v (from N_VNew_Serial or N_VMake_Serial) a member
 * of q's set with the fast operations; −1 (v unchanged) if v is not serial or
 * memory runs out.  q must outlive every vector of the set, clones included. */
int schedopt_nvector_use_fast_ops(N_Vector v, schedopt_nvector_queue *q);

/* Error weights w = 1/(rtol |y| + atol) in one pass (a CVEwtFn's work, the
 * same numbers as CVODES's scalar tolerances); −1 if a denominator is ≤ 0. */
int schedopt_nvector_ewt(N_Vector y, N_Vector w, double rtol, double atol);

#endif
