/* sweep_run.c — a sweep's cases on threads: the order (costliest first), the
 * team (OpenMP), and where each case's time went (its tasks' thread CPU).
 * A case's baselines are OpenMP tasks of the optimization
 * (optimize_run.c): the threads done with their cases take those of the
 * cases still running, and no team is nested in the sweep's. */
#define _POSIX_C_SOURCE 200809L
#include "sweep/sweep_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "optimize/optimize_impl.h"

/* This thread's CPU seconds: a task's cost apart from other processes' load. */
static double thread_cpu(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)) return NAN;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int thread_num(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

void schedopt_sweep_clock_start(sweep_clock *k) {
  k->cpu = thread_cpu();
  k->wall = schedopt_opt_now();
  k->thread = thread_num();
}

/* CASE (until the baselines start), each BASELINE where it ran, OPTIMUM
 * (after the last baseline ended: the optimum, the curves); one CASE
 * record for a case without an optimization (it failed early). */
void schedopt_sweep_clock_stop(schedopt_sweep_case *c, const schedopt_optimization *o,
                               const sweep_clock *k) {
  const double cpu = thread_cpu();
  size_t nb = 0;
  double c0 = NAN, c1 = NAN, w1 = NAN;
  const schedopt_opt_task *b = o ? schedopt_optimization_tasks(o, &nb, &c0, &c1, &w1) : NULL;
  schedopt_sweep_task *t = c->tasks;
  c->ntasks = 0;
  if (!b || !(c0 >= k->cpu) || !(cpu >= c1)) {
    t[c->ntasks++] = (schedopt_sweep_task){SCHEDOPT_SWEEP_TASK_CASE, k->thread, k->wall,
                                           cpu - k->cpu};
    return;
  }
  t[c->ntasks++] = (schedopt_sweep_task){SCHEDOPT_SWEEP_TASK_CASE, k->thread, k->wall, c0 - k->cpu};
  for (size_t j = 0; j < nb && c->ntasks < SCHEDOPT_SWEEP_MAXTASKS - 1; j++)
    t[c->ntasks++] = (schedopt_sweep_task){SCHEDOPT_SWEEP_TASK_BASELINE, b[j].thread, b[j].start,
                                           b[j].cpu};
  t[c->ntasks++] = (schedopt_sweep_task){SCHEDOPT_SWEEP_TASK_OPTIMUM, k->thread, w1, cpu - c1};
}

/* Keys whose value scales a case's work: horizons and budgets (steps to
 * integrate; the exact recursion is linear in them) and the model size. */
static int costs_grow(const char *key) {
  return !strncmp(key, "budget.", 7) || !strcmp(key, "model.N");
}

schedopt_status schedopt_sweep_run(schedopt_sweep *s, int threads, schedopt_sweep_done_fn done,
                                   void *ctx, int *used, size_t *failed, schedopt_error *err) {
  if (!s || !s->text || threads < 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_sweep_run: no sweep or threads < 0");
  size_t *order = malloc((s->n ? s->n : 1) * sizeof *order), nm = 0;
  if (!order) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t i = 0; i < s->n; i++)
    if (schedopt_sweep_in_shard(s, i)) order[nm++] = i;
  /* Longest first (LPT): a costly case started last would run alone at the
   * end.  Insertion sort on x, descending, stable. */
  if (costs_grow(s->key))
    for (size_t a = 1; a < nm; a++)
      for (size_t b = a; b > 0 && s->cases[order[b]].x > s->cases[order[b - 1]].x; b--) {
        const size_t t = order[b];
        order[b] = order[b - 1];
        order[b - 1] = t;
      }
  int team = 1;
#ifdef _OPENMP
  team = threads ? threads : omp_get_max_threads();
  omp_lock_t lock; /* done, one call at a time: the run's own lock */
  omp_init_lock(&lock);
#endif
  if (team > (int)nm) team = nm ? (int)nm : 1;
  size_t nfail = 0;
  /* dynamic, one case at a time: a thread takes the next case when it is
   * done with one; at the loop's end it takes baseline tasks of the cases
   * still running */
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
  for (long j = 0; j < (long)nm; j++) {
    schedopt_error e = {0};
    const schedopt_status st = schedopt_sweep_run_case(s, order[j], &e);
#ifdef _OPENMP
    omp_set_lock(&lock);
#endif
    nfail += st != SCHEDOPT_OK;
    if (done) done(ctx, order[j], st, &e);
#ifdef _OPENMP
    omp_unset_lock(&lock);
#endif
  }
#ifdef _OPENMP
  omp_destroy_lock(&lock);
#endif
  free(order);
  if (used) *used = team;
  if (failed) *failed = nfail;
  return SCHEDOPT_OK;
}
