/* A matrix-embedded SUNLinearSolver for  (I − γA) x = b  with
 *     A = blockdiag(D_1 … D_K) + U Vᵀ   (blocks bs×bs, U, V of rank r).
 * With P = I − γ blockdiag(D) and W = P⁻¹U, the Woodbury identity gives
 *     x = y + γ W z,   y = P⁻¹ b,   (I_r − γ Vᵀ W) z = Vᵀ y,
 * so a factorization costs O(n·bs² + n·r) and a solve O(n·r).
 *
 * CVODES calls only solve() for a matrix-embedded solver; the solver asks the
 * integrator for the current t and γ and refactors when either changed.  The
 * fill callback supplies D, U, V at time t. */
#ifndef SCHEDOPT_SUNLINSOL_BLR_H
#define SCHEDOPT_SUNLINSOL_BLR_H

#include <sundials/sundials_context.h>
#include <sundials/sundials_linearsolver.h>

/* D, U, V at time t: returns 0 (filled), 1 (kept: allowed only when `have`,
 * i.e. D, U, V still hold this solver's previous fill, and the matrix at t
 * equals it) or < 0 (failure). */
typedef int (*blr_fill_fn)(double t, int have, double *D, double *U, double *V, void *user);
/* Current t and γ of the integrator the solver serves. */
typedef int (*blr_state_fn)(void *mem, double *t, double *gamma);

SUNLinearSolver schedopt_blr_linsol_create(size_t n, size_t bs, size_t rank, blr_fill_fn fill,
                                  void *user, blr_state_fn state, void *mem,
                                  SUNContext ctx);
/* Blocks known to be diagonal in every fill (diag[k] = 1 for block k of
 * n/bs): their factorization inverts the diagonal only.  3×3 blocks; 0 on
 * success, −1 out of memory. */
int schedopt_blr_linsol_set_diag(SUNLinearSolver LS, const unsigned char *diag);
/* Point the solver at another integrator memory (e.g. a backward problem). */
void schedopt_blr_linsol_set_mem(SUNLinearSolver LS, void *mem);
/* Forget the cached factorization (after the schedule changed). */
void schedopt_blr_linsol_invalidate(SUNLinearSolver LS);
long schedopt_blr_linsol_nsetups(SUNLinearSolver LS);
long schedopt_blr_linsol_nsolves(SUNLinearSolver LS);

#endif
