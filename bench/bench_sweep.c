/* Sweep scheduling benchmark: how well `schedopt sweep -j N` keeps N threads
 * busy, measured apart from the machine's load.  It runs the sweep as the
 * CLI does (schedopt_sweep_run) and reads each case's tasks (sweep.h,
 * schedopt_sweep_task): the case up to its baselines, every baseline's
 * tuning (an OpenMP task, on whichever thread took it), the optimum after
 * them, each with its thread's CPU seconds (CLOCK_THREAD_CPUTIME_ID).
 *
 *   bench_sweep PROBLEM.yaml [-j N (2)] [--set KEY=VALUE ...] [--tasks]
 *
 * Prints, with W the CPU of all tasks:
 *   threads   each thread's CPU in tasks; W / the largest is the speed-up
 *             if no thread ever waited;
 *   replay    the run's own schedule (each thread's tasks in the order it
 *             ran them) replayed at full speed: a task starts when its
 *             thread is free and what it needs has ended (baselines after
 *             their case's start, the optimum after every baseline of its
 *             case); the makespan M is the busiest thread's CPU plus the
 *             idle time the schedule forces on it, and W / M the speed-up
 *             this schedule reaches on an unloaded machine;
 *   critical  the longest chain (case start + longest baseline + optimum):
 *             no schedule on N threads beats W / max(W/N, chain);
 *   policy    the scheduler's rules (a free thread takes the next case; a
 *             case's thread tunes its own baselines, last created first,
 *             then waits; a thread with no case left takes the oldest
 *             baseline of any case) simulated on the measured CPU times
 *             for the case orders "file" and "costliest first" (the largest
 *             value first, what schedopt_sweep_run does for budget keys)
 *             and the best of every order (up to 8 cases), on the team's
 *             threads (on 2 after a run on one);
 * and the wall time, the process CPU (W plus the threads' spinning and the
 * serial set-up) and the load average before and after (the machine is
 * shared: wall-clock speed-ups there depend on the load, these do not);
 * last a fingerprint of the results (every schedule's objective, bit for
 * bit, and the optimizer's evaluations), equal for any -j.
 * --tasks lists every task. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/schedopt.h"
#include "bench_util.h"

#define MAXT 64 /* threads */

/* FNV-1a over the results: objectives as bits, evaluations. */
static unsigned long long fingerprint(const schedopt_sweep *s) {
  unsigned long long h = 1469598103934665603ull;
  for (size_t i = 0; i < schedopt_sweep_ncases(s); i++) {
    const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i);
    unsigned char b[sizeof(double) + 2 * sizeof(long)];
    for (size_t k = 0; k < c->nres; k++) {
      memcpy(b, &c->res[k].J, sizeof(double));
      memcpy(b + sizeof(double), &c->evals, sizeof(long));
      memcpy(b + sizeof(double) + sizeof(long), &c->grad_evals, sizeof(long));
      for (size_t j = 0; j < sizeof b; j++) h = (h ^ b[j]) * 1099511628211ull;
    }
  }
  return h;
}

static double load1(void) {
  double l[1];
  return getloadavg(l, 1) == 1 ? l[0] : NAN;
}

/* A task of the run, flattened. */
typedef struct task {
  size_t c; /* case */
  const schedopt_sweep_task *t;
} task;

static int by_start(const void *a, const void *b) {
  const double x = ((const task *)a)->t->start, y = ((const task *)b)->t->start;
  return (x > y) - (x < y);
}

/* ---- the scheduler's rules, simulated on measured costs ----------------- */

typedef struct sim_case {
  double pre, opt;
  size_t nb;
  double b[SCHEDOPT_SWEEP_MAXTASKS];
  double bend[SCHEDOPT_SWEEP_MAXTASKS]; /* end time of baseline k, once taken */
  int taken[SCHEDOPT_SWEEP_MAXTASKS];
  double created; /* when its baselines exist (end of pre); HUGE_VAL before */
} sim_case;

/* Makespan of the rules above on P threads with the cases in `order`. */
static double simulate(sim_case *cs, const size_t *order, size_t n, int P) {
  enum { START, PRE_DONE, WAIT, BARRIER, DONE };
  int state[MAXT];
  double tnext[MAXT];
  long cur[MAXT];
  size_t next = 0;
  for (size_t i = 0; i < n; i++) {
    cs[i].created = HUGE_VAL;
    for (size_t k = 0; k < cs[i].nb; k++) cs[i].taken[k] = 0, cs[i].bend[k] = HUGE_VAL;
  }
  for (int p = 0; p < P; p++) state[p] = START, tnext[p] = 0, cur[p] = -1;
  double makespan = 0;
  for (;;) {
    int p = -1;
    for (int q = 0; q < P; q++)
      if (state[q] != DONE && (p < 0 || tnext[q] < tnext[p])) p = q;
    if (p < 0) break;
    const double t = tnext[p];
    if (state[p] == START) { /* take the next case, or go to the barrier */
      if (next < n) {
        cur[p] = (long)order[next++];
        tnext[p] = t + cs[cur[p]].pre;
        state[p] = PRE_DONE;
      } else {
        state[p] = BARRIER;
      }
      continue;
    }
    if (state[p] == PRE_DONE) {
      cs[cur[p]].created = t;
      state[p] = WAIT;
      continue;
    }
    if (state[p] == WAIT) { /* own baselines, last created first, then the optimum */
      sim_case *c = &cs[cur[p]];
      long k = -1;
      for (long j = (long)c->nb - 1; j >= 0 && k < 0; j--)
        if (!c->taken[j]) k = j;
      if (k >= 0) {
        c->taken[k] = 1;
        c->bend[k] = t + c->b[k];
        tnext[p] = c->bend[k];
        continue;
      }
      double all = t;
      for (size_t j = 0; j < c->nb; j++) all = fmax(all, c->bend[j]);
      tnext[p] = all + c->opt;
      makespan = fmax(makespan, tnext[p]);
      state[p] = START;
      continue;
    }
    /* BARRIER: the oldest untaken baseline that exists */
    long bc = -1, bk = -1;
    double oldest = HUGE_VAL;
    for (size_t i = 0; i < n; i++)
      if (cs[i].created <= t && cs[i].created < oldest)
        for (size_t j = 0; j < cs[i].nb; j++)
          if (!cs[i].taken[j]) {
            bc = (long)i, bk = (long)j, oldest = cs[i].created;
            break;
          }
    if (bc >= 0) {
      cs[bc].taken[bk] = 1;
      cs[bc].bend[bk] = t + cs[bc].b[bk];
      tnext[p] = cs[bc].bend[bk];
      makespan = fmax(makespan, tnext[p]);
      continue;
    }
    /* nothing now: wait for the next thread's event, or stop */
    double w = HUGE_VAL;
    for (int q = 0; q < P; q++)
      if (q != p && state[q] != DONE && state[q] != BARRIER && tnext[q] >= t) w = fmin(w, tnext[q]);
    if (w == HUGE_VAL) state[p] = DONE;
    else tnext[p] = w > t ? w : nextafter(t, HUGE_VAL);
  }
  return makespan;
}

/* The next permutation in lexicographic order; 0 after the last. */
static int next_perm(size_t *a, size_t n) {
  if (n < 2) return 0;
  size_t i = n - 1;
  while (i > 0 && a[i - 1] >= a[i]) i--;
  if (i == 0) return 0;
  size_t j = n - 1;
  while (a[j] <= a[i - 1]) j--;
  size_t t = a[i - 1];
  a[i - 1] = a[j], a[j] = t;
  for (size_t l = i, r = n - 1; l < r; l++, r--) t = a[l], a[l] = a[r], a[r] = t;
  return 1;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  int threads = 2, list = 0;
  const char *sets[64];
  size_t nsets = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-j") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 64) sets[nsets++] = argv[++i];
    else if (!strcmp(argv[i], "--tasks")) list = 1;
    else if (argv[i][0] != '-' && !path) path = argv[i];
    else {
      fprintf(stderr, "usage: bench_sweep PROBLEM.yaml [-j N] [--set KEY=VALUE ...] [--tasks]\n");
      return 2;
    }
  }
  if (!path || threads < 1 || threads > MAXT) {
    fprintf(stderr, "usage: bench_sweep PROBLEM.yaml [-j N (1 .. %d)] [--set KEY=VALUE ...]\n",
            MAXT);
    return 2;
  }
  schedopt_error err = {0};
  schedopt_sweep *s = NULL;
  if (schedopt_sweep_load_file(&s, path, sets, nsets, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 2;
  }
  const double l0 = load1(), c0 = bench_cpu(), w0 = bench_wall();
  int used = 0;
  size_t failed = 0;
  if (schedopt_sweep_run(s, threads, NULL, NULL, &used, &failed, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const double wall = bench_wall() - w0, pcpu = bench_cpu() - c0, l1 = load1();
  const size_t n = schedopt_sweep_ncases(s);
  printf("bench_sweep %s -j %d: %zu cases on %d thread%s%s\n", path, threads, n, used,
         used == 1 ? "" : "s", failed ? " (some failed)" : "");

  /* the tasks, in the order they started */
  size_t nt = 0;
  for (size_t i = 0; i < n; i++) nt += schedopt_sweep_get_case(s, i)->ntasks;
  task *ts = malloc((nt ? nt : 1) * sizeof *ts);
  sim_case *cs = calloc(n ? n : 1, sizeof *cs);
  if (!ts || !cs) return 1;
  nt = 0;
  for (size_t i = 0; i < n; i++) {
    const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i);
    for (size_t k = 0; k < c->ntasks; k++) {
      const schedopt_sweep_task *t = &c->tasks[k];
      ts[nt++] = (task){i, t};
      if (t->kind == SCHEDOPT_SWEEP_TASK_CASE) cs[i].pre += t->cpu;
      else if (t->kind == SCHEDOPT_SWEEP_TASK_OPTIMUM) cs[i].opt += t->cpu;
      else if (cs[i].nb < SCHEDOPT_SWEEP_MAXTASKS) cs[i].b[cs[i].nb++] = t->cpu;
    }
  }
  qsort(ts, nt, sizeof *ts, by_start);
  static const char *const kind[] = {"case", "baseline", "optimum"};
  if (list) {
    printf("  %-8s %-6s %-9s %6s %9s %9s\n", "case", "value", "task", "thread", "start s",
           "CPU s");
    for (size_t k = 0; k < nt; k++)
      printf("  %-8zu %-6s %-9s %6d %9.3f %9.3f\n", ts[k].c,
             schedopt_sweep_get_case(s, ts[k].c)->value, kind[ts[k].t->kind], ts[k].t->thread,
             ts[k].t->start - w0, ts[k].t->cpu);
  }

  /* per case */
  double W = 0, chain = 0;
  printf("  case  %-10s %8s %8s %8s %8s %8s\n", "value", "start", "baselines", "longest",
         "optimum", "CPU s");
  for (size_t i = 0; i < n; i++) {
    double sb = 0, mb = 0;
    for (size_t k = 0; k < cs[i].nb; k++) sb += cs[i].b[k], mb = fmax(mb, cs[i].b[k]);
    const double all = cs[i].pre + sb + cs[i].opt;
    W += all;
    chain = fmax(chain, cs[i].pre + mb + cs[i].opt);
    printf("  %4zu  %-10s %8.3f %8.3f %8.3f %8.3f %8.3f\n", i,
           schedopt_sweep_get_case(s, i)->value, cs[i].pre, sb, mb, cs[i].opt, all);
  }

  /* per thread, and the replay of this schedule at full speed */
  double busy[MAXT] = {0}, freeat[MAXT] = {0}, maxbusy = 0, M = 0;
  double *cend = calloc(n ? n : 1, sizeof *cend), *bend = calloc(n ? n : 1, sizeof *bend);
  if (!cend || !bend) return 1;
  for (size_t k = 0; k < nt; k++) {
    const schedopt_sweep_task *t = ts[k].t;
    const int p = t->thread >= 0 && t->thread < MAXT ? t->thread : 0;
    const size_t i = ts[k].c;
    double ready = 0;
    if (t->kind == SCHEDOPT_SWEEP_TASK_BASELINE) ready = cend[i];
    else if (t->kind == SCHEDOPT_SWEEP_TASK_OPTIMUM) ready = fmax(cend[i], bend[i]);
    const double st = fmax(freeat[p], ready), en = st + t->cpu;
    freeat[p] = en;
    busy[p] += t->cpu;
    if (t->kind == SCHEDOPT_SWEEP_TASK_CASE) cend[i] = en;
    else if (t->kind == SCHEDOPT_SWEEP_TASK_BASELINE) bend[i] = fmax(bend[i], en);
    M = fmax(M, en);
  }
  for (int p = 0; p < used && p < MAXT; p++) {
    maxbusy = fmax(maxbusy, busy[p]);
    printf("  thread %d  CPU in tasks %8.3f s, idle in the replay %7.3f s\n", p, busy[p],
           M - busy[p]);
  }
  printf("  W (CPU of all tasks)        %8.3f s\n", W);
  printf("  threads   W / busiest        %6.3fx\n", W / maxbusy);
  printf("  replay    W / makespan       %6.3fx  (makespan %.3f s)\n", W / M, M);
  printf("  critical  W / max(W/%d, chain) %5.3fx  (chain %.3f s)\n", used,
         W / fmax(W / used, chain), chain);
  /* the rules on the measured costs: file order, costliest first */
  size_t *order = calloc(n ? n : 1, sizeof *order);
  if (!order) return 1;
  for (size_t i = 0; i < n; i++) order[i] = i;
  const int P = used > 1 ? used : 2; /* what -j 2 would do with these costs */
  const double mf = simulate(cs, order, n, P);
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 &&
                       schedopt_sweep_get_case(s, order[b])->x >
                           schedopt_sweep_get_case(s, order[b - 1])->x;
         b--) {
      const size_t t = order[b];
      order[b] = order[b - 1], order[b - 1] = t;
    }
  const double ml = simulate(cs, order, n, P);
  printf("  policy    W / makespan on %d %6.3fx  file order, %6.3fx  costliest first", P,
         W / mf, W / ml);
  if (n <= 8) { /* every order: the best these rules can do with whole cases */
    double mb = HUGE_VAL;
    for (size_t i = 0; i < n; i++) order[i] = i;
    do mb = fmin(mb, simulate(cs, order, n, P));
    while (next_perm(order, n));
    printf(", %6.3fx  best order", W / mb);
  }
  putchar('\n');
  printf("  wall %.2f s, process CPU %.2f s, load average %.2f before, %.2f after\n", wall, pcpu,
         l0, l1);
  printf("  results fingerprint %016llx (objectives and evaluations of every case)\n",
         fingerprint(s));
  free(order);
  free(cend);
  free(bend);
  free(ts);
  free(cs);
  schedopt_sweep_free(s);
  return failed ? 1 : 0;
}
