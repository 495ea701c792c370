/* Optimizer benchmark: the free-form learning-rate optimum of the hard phase
 * (Bordelon–Mori setting: a = 3.5, b = 5, N = 1000, σ² = 0.25, batch 5,
 * η ≤ 1), LD_LBFGS with adjoint gradients on the matched ODE (cvodes), from
 * the WSD schedule (peak 1, 20 % linear anneal) to convergence (the default
 * tolerances: curvature-preconditioned runs of 25 evaluations until one
 * improves L_T by less than rtol·L_T; first a 32-knot stage and the loose
 * tolerance 1e-5, see optimize.h).  Prints the optimizer's evaluations,
 * gradient calls, final loss
 * and time, and the optimum's final loss under the exact per-step recursion
 * (the target for bench_paper_gd, which optimizes the recursion directly).
 *
 *   bench_optimize [--trace] [--reference] [--lbfgs | --newton] [T (1e6)] [knots (256)] [N (1000)] [b (5)]
 *   bench_optimize --baselines [--recursion] [--trace] [T (1e4)] [N (1000)] [b (5)]
 *
 * --lbfgs, --newton choose the algorithm (optimize.algorithm LD_LBFGS or
 * NEWTON; default: the library's default).  The cost is also given in
 * forward-solve equivalents: the optimizer's CPU time over the CPU time of
 * one forward solve of the start schedule, measured in the same run (as are a
 * gradient and a model Hessian, for the per-call counts).
 *
 * --trace prints every evaluation: count, process CPU seconds, best L_T.
 * --reference also runs the long reference for the convergence check: from
 * the same start, LD_LBFGS with the integrator at rtol 1e-8, one stage (no coarse knots,
 * no loose tolerance), runs of 100 evaluations, until a run gains less than
 * 1e-8·L_T; it prints how far the default run's L_T lies above it.
 *
 * --baselines tunes every baseline of `schedopt optimize` (the trainers' too)
 * on the same problem, lr cap 1, on the matched ODE (or with --recursion the
 * exact recursion, as problems/optimize_hard_phase.yaml): per baseline its
 * tuned L_T, evaluations and CPU seconds, and the totals. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/schedopt.h"
#include "bench_util.h"

static schedopt_error err;

#define OK(call)                                                  \
  do {                                                            \
    if ((call)) {                                                 \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, err.msg); \
      exit(1);                                                    \
    }                                                             \
  } while (0)

static schedopt_problem *problem(double T, long N, double b, const char *dyn) {
  char y[512];
  snprintf(y, sizeof y,
           "model: {type: plrf, a: 3.5, b: %g, N: %ld, sigma2: 0.25, split: false, "
           "dynamics: %s}\n"
           "budget: {steps: %.0f}\n"
           "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2, shape: linear}, batch: 5}\n",
           b, N, dyn, T);
  schedopt_problem *p = NULL;
  OK(schedopt_problem_alloc(&p, &err));
  OK(schedopt_problem_load_string(p, y, strlen(y), "bench", &err));
  OK(schedopt_problem_build(p, &err));
  return p;
}

static int trace(void *ctx, const char *stage, long evals, double best_J, double seconds) {
  (void)seconds;
  printf("  trace %s %ld %.3f %.10f\n", stage, evals, bench_cpu() - *(const double *)ctx, best_J);
  return 0;
}

/* Every baseline type tuned as `schedopt optimize` does (lr in [0, 1], the
 * trainers on the step clock; J∞ from one solve per variant, where the run
 * computes it once). */
static int bench_baselines(double T, long N, double b, int recursion, int tr) {
  schedopt_problem *p = problem(T, N, b, recursion ? "recursion" : "matched");
  const schedopt_schedule *base = schedopt_problem_schedule(p);
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, recursion ? schedopt_integrator_recursion
                                              : schedopt_integrator_cvodes,
                               schedopt_problem_model(p), &err));
  if (!recursion) {
    OK(schedopt_integrator_set_tolerances(it, rtol, atol, &err));
    OK(schedopt_integrator_set_max_steps(it, max_steps, &err));
  }
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  double cpu0 = bench_cpu();
  if (tr) set.progress = trace, set.progress_ctx = &cpu0;
  printf("bench_optimize --baselines: hard phase a=3.5 b=%g N=%ld, T=%.0f, lr <= 1, %s\n", b,
         N, T, recursion ? "exact recursion" : "matched ODE (cvodes)");
  long evals = 0;
  const double c0 = bench_cpu();
  for (size_t i = 0; schedopt_baseline_types[i]; i++) {
    /* the learning-rate baselines of an SGD problem: not the momentum family
     * (it would switch heavy ball on) nor FSL's exponential decay (asked for
     * by name only), which came after this bench's numbers */
    if (schedopt_baseline_types[i] == schedopt_baseline_momentum ||
        schedopt_baseline_types[i] == schedopt_baseline_exponential)
      continue;
    schedopt_baseline bl;
    const double c1 = bench_cpu();
    OK(schedopt_baseline_tune(schedopt_baseline_types[i], base, SCHEDOPT_LR, 0, 1, it, &obj,
                              &set, &bl, &err));
    printf("  %-24s L_T = %.10f  %4ld evaluations  %6.2f s CPU\n", bl.label, bl.J, bl.evals,
           bench_cpu() - c1);
    evals += bl.evals;
    schedopt_baseline_clear(&bl);
  }
  printf("  all baselines            %ld evaluations, %.2f s CPU\n", evals, bench_cpu() - c0);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  return 0;
}

int main(int argc, char **argv) {
  int tr = 0, ref = 0, bl = 0, rec = 0;
  const char *method = NULL;
  for (; argc > 1 && !strncmp(argv[1], "--", 2); argc--, argv++) {
    if (!strcmp(argv[1], "--trace"))
      tr = 1;
    else if (!strcmp(argv[1], "--baselines"))
      bl = 1;
    else if (!strcmp(argv[1], "--recursion"))
      rec = 1;
    else if (!strcmp(argv[1], "--reference"))
      ref = 1;
    else if (!strcmp(argv[1], "--lbfgs"))
      method = "LD_LBFGS";
    else if (!strcmp(argv[1], "--newton"))
      method = "NEWTON";
    else {
      fprintf(stderr, "bench_optimize: unknown option %s\n", argv[1]);
      return 2;
    }
  }
  if (bl)
    return bench_baselines(argc > 1 ? atof(argv[1]) : 1e4, argc > 2 ? atol(argv[2]) : 1000,
                           argc > 3 ? atof(argv[3]) : 5, rec, tr);
  const double T = argc > 1 ? atof(argv[1]) : 1e6;
  const size_t K = argc > 2 ? (size_t)atol(argv[2]) : 256;
  const long N = argc > 3 ? atol(argv[3]) : 1000;
  const double b = argc > 4 ? atof(argv[4]) : 5;
  schedopt_problem *p = problem(T, N, b, "matched");
  const schedopt_schedule *base = schedopt_problem_schedule(p);
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  schedopt_integrator *it = NULL;
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, schedopt_problem_model(p), &err));
  OK(schedopt_integrator_set_tolerances(it, rtol, atol, &err));
  OK(schedopt_integrator_set_max_steps(it, max_steps, &err));
  schedopt_design *d = NULL;
  OK(schedopt_design_alloc(&d, base, &err));
  schedopt_channel_param cp;
  schedopt_channel_param_default(&cp);
  cp.type = schedopt_parametrization_freeform;
  cp.knots = K;
  cp.hi = 1.0;
  OK(schedopt_design_set_channel(d, SCHEDOPT_LR, &cp, &err));
  const size_t n = schedopt_design_size(d);
  double *x0 = malloc(n * sizeof *x0);
  OK(schedopt_design_project(d, base, x0, &err));
  schedopt_objective obj = {SCHEDOPT_OBJ_FINAL, 0, 0, 0, NULL, NULL};
  schedopt_optimizer_settings set;
  schedopt_optimizer_settings_default(&set);
  if (method) set.algorithm = schedopt_algorithm_find(method);
  /* unit costs at the start schedule: forward solve, J + gradient, model
   * Hessian (CPU, the median of 5) */
  double c_fwd, c_grad, c_hess;
  {
    const schedopt_schedule *s0;
    double *g0 = malloc(n * sizeof *g0), ts[3][5], J0;
    OK(schedopt_design_apply(d, x0, &s0, &err));
    const size_t P = schedopt_control_nparams(schedopt_schedule_get(s0, SCHEDOPT_LR));
    double *H0 = malloc(P * P * sizeof *H0);
    for (int r = 0; r < 5; r++) {
      double c1 = bench_cpu();
      OK(schedopt_integrator_objective(it, s0, &obj, &J0, &err));
      ts[0][r] = bench_cpu() - c1;
      c1 = bench_cpu();
      OK(schedopt_design_eval(d, it, &obj, x0, &J0, g0, &err));
      ts[1][r] = bench_cpu() - c1;
      OK(schedopt_design_apply(d, x0, &s0, &err));
      c1 = bench_cpu();
      if (schedopt_integrator_hessian_model(it, s0, &obj, H0, &err)) ts[2][r] = NAN;
      else ts[2][r] = bench_cpu() - c1;
    }
    for (int k = 0; k < 3; k++) /* median of 5 */
      for (int a = 0; a < 5; a++)
        for (int b = a + 1; b < 5; b++)
          if (ts[k][b] < ts[k][a]) {
            double t = ts[k][a];
            ts[k][a] = ts[k][b];
            ts[k][b] = t;
          }
    c_fwd = ts[0][2], c_grad = ts[1][2], c_hess = ts[2][2];
    free(g0);
    free(H0);
  }
  schedopt_opt_result res;
  double cpu0 = bench_cpu();
  if (tr) set.progress = trace, set.progress_ctx = &cpu0;
  const double t0 = bench_wall();
  const clock_t c0 = clock();
  OK(schedopt_design_optimize(d, it, &obj, &set, x0, &res, &err));
  const double secs = bench_wall() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
  schedopt_integrator_stats st;
  schedopt_integrator_get_stats(it, &st);
  printf("bench_optimize: hard phase a=3.5 b=%g N=%ld, T=%.0f, free-form %zu knots, %s "
         "(adjoint), matched ODE (cvodes, rtol %g)\n",
         b, N, T, K, res.algorithm->name, rtol);
  printf("  start      L_T = %.10f (WSD, peak 1, 20 %% linear anneal)\n", res.J_start);
  printf("  optimum    L_T = %.10f, L_T - sigma^2 = %.6g  (%s)\n", res.J, res.J - 0.25,
         res.code_name);
  printf("  work       %ld evaluations, %ld gradient calls, %ld model Hessians, %.2f s wall, "
         "%.2f s CPU (one thread)\n",
         res.evals, res.grad_evals, res.hess_evals, secs, cpu);
  printf("  unit cost  forward solve %.2f ms, J + gradient %.2f ms (%.2f forward solves), model "
         "Hessian %.2f ms (%.2f) CPU\n",
         1e3 * c_fwd, 1e3 * c_grad, c_grad / c_fwd, 1e3 * c_hess, c_hess / c_fwd);
  printf("  cost       %.0f forward-solve equivalents (optimizer CPU / forward solve); calls "
         "alone: %.0f\n",
         cpu / c_fwd,
         ((double)(res.evals - res.grad_evals) * c_fwd + (double)res.grad_evals * c_grad +
          (double)res.hess_evals * (isnan(c_hess) ? 0 : c_hess)) / c_fwd);
  if (ref) {
    schedopt_optimizer_settings rs = set;
    rs.continuation = 0;
    rs.loose_rtol = 0;
    rs.rescale_every = 100;
    rs.progress = NULL;
    rs.algorithm = schedopt_algorithm_find("LD_LBFGS"); /* the reference method, whatever was chosen */
    schedopt_opt_result rr;
    OK(schedopt_integrator_set_tolerances(it, 1e-8, atol, &err));
    const clock_t r0 = clock();
    OK(schedopt_design_optimize(d, it, &obj, &rs, x0, &rr, &err));
    printf("  reference  L_T = %.10f (rtol 1e-8, one stage, runs of 100: %ld evaluations, "
           "%.1f s CPU); optimum - reference = %.3g (%.2g relative)\n",
           rr.J, rr.evals, (double)(clock() - r0) / CLOCKS_PER_SEC, res.J - rr.J,
           (res.J - rr.J) / rr.J);
    schedopt_opt_result_free(&rr);
    OK(schedopt_integrator_set_tolerances(it, rtol, atol, &err));
  }
  /* the optimum under the exact recursion: the target for bench_paper_gd */
  const schedopt_schedule *sopt;
  OK(schedopt_design_apply(d, res.x, &sopt, &err));
  schedopt_problem *pr = problem(T, N, b, "recursion");
  schedopt_integrator *ir = NULL;
  OK(schedopt_integrator_alloc(&ir, schedopt_integrator_recursion, schedopt_problem_model(pr),
                               &err));
  double Jr;
  const double t1 = bench_wall();
  OK(schedopt_integrator_objective(ir, sopt, &obj, &Jr, &err));
  printf("  recursion  L_T = %.10f for the same schedule (one exact forward pass, %.2f s): "
         "the target for bench_paper_gd\n",
         Jr, bench_wall() - t1);
  schedopt_integrator_free(ir);
  schedopt_problem_free(pr);
  schedopt_opt_result_free(&res);
  free(x0);
  schedopt_design_free(d);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  return 0;
}
