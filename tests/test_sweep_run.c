/* schedopt_sweep_run: the same numbers on 1 and 2 threads (every schedule's
 * objective, bit for bit, and the optimizer's evaluations), the costliest
 * case first (one thread runs them in that order), the team clamped to the
 * cases, and every case's task records: the case's start first, one record
 * per baseline on a thread of the team, the optimum last, CPU seconds that
 * add up to no more than the process used. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "schedopt/sweep.h"
#include "testutil.h"

static schedopt_error err;

/* small and fast: N = 60, recursion, five horizons out of order in the file */
static const char *yaml =
    "name: test_sweep_run\n"
    "model: {type: plrf, a: 3.5, b: 5, N: 60, sigma2: 0.25, split: false, dynamics: recursion}\n"
    "budget: {steps: 100}\n"
    "controls: {lr: {type: wsd, peak: 1.0, decay_frac: 0.2}, batch: 5}\n"
    "optimize:\n"
    "  controls: {lr: {param: freeform, knots: 16, max: 1.0}}\n"
    "  baselines: [constant, linear, wsd]\n"
    "sweep: {key: budget.steps, values: [400, 3200, 200, 1600, 800]}\n";

static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static schedopt_sweep *run(const char *path, int threads, int *used, double *cpu) {
  schedopt_sweep *s = NULL;
  OK(schedopt_sweep_load_file(&s, path, NULL, 0, &err));
  size_t failed = 99;
  const double c0 = process_cpu();
  OK(schedopt_sweep_run(s, threads, NULL, NULL, used, &failed, &err));
  *cpu = process_cpu() - c0;
  CHECK(failed == 0);
  return s;
}

/* task records of every case: shape, threads, CPU */
static void check_tasks(const schedopt_sweep *s, int used, double cpu) {
  double W = 0;
  for (size_t i = 0; i < schedopt_sweep_ncases(s); i++) {
    const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i);
    CHECK_MSG(c->ntasks == 5, "case %zu: %zu tasks, want 5 (start, 3 baselines, optimum)", i,
              c->ntasks);
    if (c->ntasks < 2) continue;
    CHECK(c->tasks[0].kind == SCHEDOPT_SWEEP_TASK_CASE);
    CHECK(c->tasks[c->ntasks - 1].kind == SCHEDOPT_SWEEP_TASK_OPTIMUM);
    CHECK(c->tasks[0].thread == c->tasks[c->ntasks - 1].thread); /* the case's own thread */
    for (size_t k = 0; k < c->ntasks; k++) {
      const schedopt_sweep_task *t = &c->tasks[k];
      if (k > 0 && k + 1 < c->ntasks) {
        CHECK(t->kind == SCHEDOPT_SWEEP_TASK_BASELINE);
        /* a baseline starts after its case's start and before its optimum */
        CHECK(t->start >= c->tasks[0].start && t->start <= c->tasks[c->ntasks - 1].start);
      }
      CHECK_MSG(t->thread >= 0 && t->thread < used, "thread %d of a team of %d", t->thread,
                used);
      CHECK(t->cpu >= 0 && isfinite(t->cpu));
      W += t->cpu;
    }
  }
  /* the tasks are the process's work: their CPU cannot exceed its CPU */
  CHECK_MSG(W > 0 && W <= cpu * (1 + 1e-9) + 1e-3, "tasks %.6f s, process %.6f s", W, cpu);
}

int main(void) {
  const char *path = test_write_tmp("sweep_run.yaml", yaml);
  int u1 = 0, u2 = 0, u9 = 0;
  double cpu1, cpu2, cpu9;
  schedopt_sweep *s1 = run(path, 1, &u1, &cpu1);
  schedopt_sweep *s2 = run(path, 2, &u2, &cpu2);
  CHECK(u1 == 1);
  CHECK(u2 == 2 || u2 == 1); /* 1: a library built without OpenMP */
  const size_t n = schedopt_sweep_ncases(s1);
  CHECK(n == 5 && schedopt_sweep_ncases(s2) == n);
  for (size_t i = 0; i < n; i++) {
    const schedopt_sweep_case *a = schedopt_sweep_get_case(s1, i), *b = schedopt_sweep_get_case(s2, i);
    CHECK(a->done && b->done && !a->status && !b->status);
    CHECK(!strcmp(a->value, b->value));
    CHECK_MSG(a->nres == 4 && b->nres == a->nres, "case %zu: %zu and %zu schedules", i, a->nres,
              b->nres);
    for (size_t k = 0; k < a->nres && k < b->nres; k++) {
      CHECK(!strcmp(a->res[k].name, b->res[k].name));
      CHECK_MSG(a->res[k].J == b->res[k].J, "case %zu %s: J %.17g on 1 thread, %.17g on 2", i,
                a->res[k].name, a->res[k].J, b->res[k].J);
    }
    CHECK(a->evals == b->evals && a->grad_evals == b->grad_evals);
  }
  /* one thread: the largest horizon first, then down (the file's order is
   * 400, 3200, 200, 1600, 800) */
  static const double want[5] = {3200, 1600, 800, 400, 200};
  for (size_t r = 0; r + 1 < 5; r++) {
    const schedopt_sweep_case *a = NULL, *b = NULL;
    for (size_t i = 0; i < n; i++) {
      const schedopt_sweep_case *c = schedopt_sweep_get_case(s1, i);
      if (c->x == want[r]) a = c;
      if (c->x == want[r + 1]) b = c;
    }
    CHECK(a && b && a->ntasks && b->ntasks);
    if (a && b && a->ntasks && b->ntasks)
      CHECK_MSG(a->tasks[0].start < b->tasks[0].start, "%s ran after %s on one thread",
                a->value, b->value);
  }
  check_tasks(s1, u1, cpu1);
  check_tasks(s2, u2, cpu2);
  /* more threads than cases: one per case */
  schedopt_sweep *s9 = run(path, 9, &u9, &cpu9);
  CHECK_MSG(u9 == (u2 == 2 ? 5 : 1), "a team of %d for 5 cases (%d for 2 threads)", u9, u2);
  schedopt_sweep_free(s9);
  /* bad input */
  schedopt_status st = schedopt_sweep_run(s1, -1, NULL, NULL, NULL, NULL, &err);
  CHECK(st == SCHEDOPT_EINVAL && strstr(err.msg, "threads"));
  schedopt_sweep_free(s1);
  schedopt_sweep_free(s2);
  return test_finish();
}
