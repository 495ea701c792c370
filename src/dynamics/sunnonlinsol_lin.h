/* A SUNNonlinearSolver for ODEs linear in the state with an exact Newton
 * matrix: one Newton iteration per corrector.
 *
 * For y' = A(t) y + c(t) the BDF corrector equation y − γ f(t_n, y) = r is
 * linear, and the matrix-embedded solver (sunlinsol_blr.c) solves
 * (I − γA(t_n)) x = b exactly at the step's t_n and γ, so the first Newton
 * iterate is the corrector's solution to rounding.  SUNDIALS' Newton solver
 * cannot know that: after a linear-solver setup its convergence test has no
 * rate estimate and asks for a second iteration (a right-hand side, a
 * residual and three norms) that changes nothing.  This solver makes the one
 * iteration and returns; CVODES's convergence test still runs once, so its
 * bookkeeping (the correction's norm) is as before. */
#ifndef SCHEDOPT_SUNNONLINSOL_LIN_H
#define SCHEDOPT_SUNNONLINSOL_LIN_H

#include <sundials/sundials_context.h>
#include <sundials/sundials_nonlinearsolver.h>

/* tmpl: a state vector (its size and operations); NULL if out of memory. */
SUNNonlinearSolver schedopt_nls_linear_create(N_Vector tmpl, SUNContext ctx);

#endif
