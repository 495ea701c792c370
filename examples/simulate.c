/* simulate.c — the schedopt C API in one page.
 *
 * 1. A problem from a YAML file (with a --set style override): its model,
 *    schedule and output times come from the file; simulate and print a few
 *    rows of the loss curve.
 * 2. The same kind of scenario from C structs: a power-law random-feature
 *    model (a = 3.5, b = 5: the hard phase), a warmup-stable-decay learning
 *    rate and a constant batch on a budget of 10^4 steps.
 *
 * Usage: simulate [PROBLEM.yaml]      (without a file only part 2 runs)
 *
 * Every call returns a status and fills a schedopt_error; there is no global
 * state.  Link with the installed package (find_package(schedopt) →
 * schedopt::schedopt, or pkg-config schedopt). */
#include <stdio.h>
#include <stdlib.h>

#include <schedopt/schedopt.h>

/* Print err and leave (a real program would clean up first). */
static void check(schedopt_status st, const schedopt_error *err) {
  if (st != SCHEDOPT_OK) {
    fprintf(stderr, "simulate: %s: %s\n", schedopt_status_name(st), err->msg);
    exit(st == SCHEDOPT_EINVAL || st == SCHEDOPT_EPARSE || st == SCHEDOPT_EIO ? 2 : 1);
  }
}

static void print_rows(const schedopt_row *rows, size_t n, size_t every) {
  printf("%10s %12s %10s %6s %12s %12s\n", "step", "samples", "lr", "batch", "loss",
         "excess");
  for (size_t i = 0; i < n; i++)
    if (i % every == 0 || i == n - 1)
      printf("%10.0f %12.0f %10.4g %6.3g %12.6g %12.6g\n", rows[i].step, rows[i].samples,
             rows[i].u.lr, rows[i].u.batch, rows[i].r.loss, rows[i].r.excess);
}

/* Part 1: a YAML problem file. */
static void from_yaml(const char *path) {
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  check(schedopt_problem_alloc(&p, &err), &err);
  check(schedopt_problem_load_file(p, path, &err), &err);
  check(schedopt_problem_set(p, "output.points=9", &err), &err); /* like --set */
  check(schedopt_problem_build(p, &err), &err);

  double *times = NULL;
  size_t n = 0;
  check(schedopt_problem_output_times(p, &times, &n, &err), &err);
  schedopt_row *rows = calloc(n, sizeof *rows);
  if (!rows) exit(1);
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  schedopt_integrator *it = NULL;
  check(schedopt_integrator_alloc(&it, schedopt_problem_integrator(p), schedopt_problem_model(p),
                                  &err),
        &err);
  check(schedopt_integrator_set_tolerances(it, rtol, atol, &err), &err);
  check(schedopt_integrator_run(it, schedopt_problem_schedule(p), times, n, rows, &err), &err);

  double a, b, s, beta;
  schedopt_problem_exponents(p, &a, &b, &s, &beta);
  printf("%s: a = %g, b = %g (s = %g, beta = %g), %s phase\n", schedopt_problem_name(p), a, b, s,
         beta, b < a ? "easy" : "hard");
  print_rows(rows, n, 1);
  schedopt_integrator_free(it);
  free(rows);
  free(times);
  schedopt_problem_free(p);
}

/* Part 2: the same objects built by hand. */
static void from_structs(void) {
  schedopt_error err = {0};
  schedopt_plrf_params mp;
  schedopt_plrf_params_default(&mp);
  mp.a = 3.5;     /* signal decay   */
  mp.b = 5.0;     /* spectral decay: b > a, the hard phase */
  mp.N = 1000;    /* learned modes  */
  mp.sigma2 = 0.25;
  schedopt_model *m = NULL;
  check(schedopt_model_alloc(&m, schedopt_model_plrf, &mp, &err), &err);

  /* η: WSD at 1 with a 20 % linear anneal to 0; B = 5; 10^4 steps */
  schedopt_control *lr = NULL, *batch = NULL;
  check(schedopt_control_alloc(&lr, schedopt_control_wsd, &err), &err);
  check(schedopt_control_set(lr, "peak", 1.0, &err), &err);
  check(schedopt_control_set(lr, "decay_frac", 0.2, &err), &err);
  check(schedopt_control_set_choice(lr, "shape", "linear", &err), &err);
  check(schedopt_control_alloc(&batch, schedopt_control_constant, &err), &err);
  check(schedopt_control_set(batch, "value", 5, &err), &err);
  schedopt_schedule *s = NULL;
  check(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, 1e4, 1, &err), &err);
  check(schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err), &err);
  check(schedopt_schedule_set(s, SCHEDOPT_BATCH, batch, &err), &err);
  check(schedopt_schedule_validate(s, &err), &err);

  const double times[] = {1, 10, 100, 1000, 8000, 9000, 10000};
  const size_t n = sizeof times / sizeof *times;
  schedopt_row rows[sizeof times / sizeof *times];
  schedopt_integrator *it = NULL;
  check(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err), &err);
  check(schedopt_integrator_run(it, s, times, n, rows, &err), &err);
  printf("from C structs: plrf a = 3.5, b = 5, N = 1000, sigma^2 = 0.25, WSD, B = 5\n");
  print_rows(rows, n, 1);

  /* the exact per-step recursion agrees with the ODE at the end of the run */
  schedopt_integrator *rec = NULL;
  schedopt_row last;
  check(schedopt_integrator_alloc(&rec, schedopt_integrator_recursion, m, &err), &err);
  check(schedopt_integrator_run(rec, s, &times[n - 1], 1, &last, &err), &err);
  printf("final excess loss: ODE %.6g, recursion %.6g\n", rows[n - 1].r.excess, last.r.excess);

  schedopt_integrator_free(rec);
  schedopt_integrator_free(it);
  schedopt_schedule_free(s);
  schedopt_control_free(batch);
  schedopt_control_free(lr);
  schedopt_model_free(m);
}

int main(int argc, char **argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: simulate [PROBLEM.yaml]\n");
    return 2;
  }
  if (argc == 2) {
    from_yaml(argv[1]);
    printf("\n");
  }
  from_structs();
  return 0;
}
