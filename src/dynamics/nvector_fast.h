/* Faster kernels for the serial N_Vector's hottest operations.
 *
 * For our systems (n ~ 10^3, a few hundred BDF steps) CVODES time is
 * dominated by its own vector kernels (weighted RMS norms, linear sums), and
 * the packaged serial kernels run at several ns per element.  These
 * replacements keep the semantics of the SUNDIALS ops (aliasing allowed as
 * documented) and are written so the compiler vectorizes them; they are
 * installed into a vector's ops table, which clones inherit. */
#ifndef SCHEDOPT_NVECTOR_FAST_H
#define SCHEDOPT_NVECTOR_FAST_H

#include <sundials/sundials_nvector.h>

void schedopt_nvector_use_fast_ops(N_Vector v);

/* Error weights w = 1/(rtol |y| + atol) in one pass (a CVEwtFn's work, the
 * same numbers as CVODES's scalar tolerances); −1 if a denominator is ≤ 0. */
int schedopt_nvector_ewt(N_Vector y, N_Vector w, double rtol, double atol);

#endif
