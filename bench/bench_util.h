/* Shared by the benchmarks: the clocks, qsort's comparison of doubles, and
 * the hard phase every speed figure uses (Bordelon–Mori's Fig. 2 setting:
 * a = 3.5, b = 5, N = 1000, σ² = 0.25, loss only; each bench sets its batch
 * and schedule). */
#ifndef SCHEDOPT_BENCH_UTIL_H
#define SCHEDOPT_BENCH_UTIL_H

#include <time.h>

#include "schedopt/schedopt.h"

/* Process CPU seconds: robust to other load on the machine. */
static inline double bench_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wall seconds (monotonic). */
static inline double bench_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline void bench_hard_phase(schedopt_plrf_params *p) {
  schedopt_plrf_params_default(p);
  p->a = 3.5;
  p->b = 5;
  p->N = 1000;
  p->sigma2 = 0.25;
  p->split = 0;
}

#endif
