/* schedopt sweep: a problem's optimization over a list of horizons or
 * budgets, cases in parallel (OpenMP), with the fitted scaling exponents. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli/cli.h"
#include "sweep/sweep_impl.h"
#include "schedopt/sweep.h"

static const char *help =
    "Usage: schedopt sweep PROBLEM.yaml [options]\n"
    "\n"
    "Run the problem's 'optimize:' section once per value of its 'sweep:' section\n"
    "(e.g. sweep: {key: budget.steps, values: [1e3, 1e4, 1e5]}, or from/to/points for\n"
    "log-spaced values): the optimum and every tuned baseline for each case.  Then\n"
    "fit log(L - sigma^2) against log(value) by least squares for the optimum and\n"
    "each baseline and print the slopes beside the law the swept key follows:\n"
    "budget.steps, the horizon law (docs/theory.md, section 3: best constant\n"
    "(a-1)/(a+b-1); optimal (a-1)/a in the easy phase, (a-1)/b in the hard);\n"
    "budget.samples, budget.tokens, and budget.compute at a fixed model size, the\n"
    "same exponents in D at a fixed batch; budget.compute with optimize.model_size,\n"
    "the compute-optimal law (section 3a: L* - sigma^2 ~ C^-(a-1)/(a+1) easy,\n"
    "C^-(a-1)/(b+1) hard), with the compute-optimal N* of every case and its fitted\n"
    "growth N* ~ C^nu beside 1/(a+1) (easy) or 1/(b+1) (hard); any other key, no\n"
    "theory line but the reason.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR      write DIR/sweep.csv (one row per case and schedule; a\n"
    "                        model_size column with N* when the cases searched it),\n"
    "                        DIR/sweep.json and DIR/summary.txt (created if missing);\n"
    "                        without it the summary goes to standard output\n"
    "  --set KEY=VALUE       override a problem key for every case (repeatable);\n"
    "                        sweep.* keys override the sweep itself, e.g.\n"
    "                        --set 'sweep.values=[1e3, 1e4]'\n"
    "  -j, --threads N       cases run in parallel on N threads (default: OpenMP's\n"
    "                        default, OMP_NUM_THREADS), the largest budget first;\n"
    "                        a thread with no case left tunes baselines of the\n"
    "                        others; files do not depend on N\n"
    "  --shard K/N           run only the cases i with i mod N = K-1 and write\n"
    "                        DIR/sweep-shard-K-of-N.json (needs -o); join the shards\n"
    "                        with 'schedopt merge' (docs/slurm.md)\n"
    "  -q, --quiet           no progress lines and no summary (files only); without\n"
    "                        it, on a terminal, a live line shows the cases done,\n"
    "                        the stage, evaluations, best objective and time\n"
    "  --progress MODE       auto (default: unless -q), always, never; in a log (no\n"
    "                        terminal) the live line is a line of its own every 10 s\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 success; 2 bad input (reported before anything runs); 1 a case\n"
    "that failed (its row says so; the other cases are still written) or a baseline\n"
    "the design contains beating the optimum.\n";

typedef struct opts {
  long threads;
  size_t shard_k, shard_n;
} opts;

static int parse_count(const char *t, long *v) {
  char *end;
  long x = strtol(t, &end, 10);
  if (end == t || *end || x < 1 || x > 4096) return 0;
  *v = x;
  return 1;
}

static int extra(int argc, char **argv, int i, void *ctx) {
  opts *o = ctx;
  const char *a = argv[i], *v = NULL;
  int used = 0;
  if (!strcmp(a, "-j") || !strcmp(a, "--threads") || !strcmp(a, "--shard")) {
    if (i + 1 >= argc) {
      cli_usage_error("sweep", "%s needs a value", a);
      return -1;
    }
    v = argv[i + 1];
    used = 2;
  } else if (!strncmp(a, "-j", 2) && a[2]) {
    v = a + 2;
    used = 1;
  } else if (!strncmp(a, "--threads=", 10)) {
    v = a + 10;
    used = 1;
  } else if (!strncmp(a, "--shard=", 8)) {
    v = a + 8;
    used = 1;
  } else {
    return 0;
  }
  if (!strncmp(a, "--shard", 7)) {
    unsigned long k, n;
    char c;
    if (sscanf(v, "%lu/%lu%c", &k, &n, &c) != 2 || n < 1 || k < 1 || k > n || n > 100000) {
      cli_usage_error("sweep", "--shard %s: expected K/N with 1 <= K <= N (slice K of N)", v);
      return -1;
    }
    o->shard_k = k;
    o->shard_n = n;
  } else if (!parse_count(v, &o->threads)) {
    cli_usage_error("sweep", "%s %s: expected a thread count in 1 .. 4096", a, v);
    return -1;
  }
  return used;
}

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

/* The live line on a terminal: cases finished, the stage of the case that
 * reported last, its evaluations and best objective, the elapsed time. */
typedef struct progress {
  double t0, last;
  size_t finished, total;
  int shown, show; /* show: CLI_SHOW_* */
} progress;

static void progress_line(progress *pg, const char *stage, long evals, double best) {
  const double t = now();
  char line[192];
  snprintf(line, sizeof line, "schedopt sweep: [%zu/%zu] %-40.40s eval %6ld  best %-12.7g %7.1f s",
           pg->finished, pg->total, stage, evals, best, t - pg->t0);
  cli_progress_print(pg->show, line);
  pg->last = t;
  pg->shown = 1;
}

static void progress_clear(progress *pg) {
  if (pg->shown && pg->show == CLI_SHOW_TERMINAL) fprintf(stderr, "\r%100s\r", "");
  pg->shown = 0;
}

static int on_progress(void *ctx, const char *stage, long evals, double best, double seconds) {
  progress *pg = ctx;
  (void)seconds;
#pragma omp critical(sweep_progress)
  {
    if (now() - pg->last >= cli_progress_interval(pg->show)) progress_line(pg, stage, evals, best);
  }
  return 0;
}

/* A finished case: its line, and the count on the live line. */
typedef struct case_done {
  const schedopt_sweep *s;
  progress *pg;
  int quiet;
} case_done;

static void on_done(void *ctx, size_t i, schedopt_status st, const schedopt_error *e) {
  case_done *cd = ctx;
  progress *pg = cd->pg;
  const schedopt_sweep_case *c = schedopt_sweep_get_case(cd->s, i);
#pragma omp critical(sweep_progress)
  {
    pg->finished++;
    progress_clear(pg);
    if (!cd->quiet) {
      if (st)
        fprintf(stderr, "schedopt sweep: [%zu/%zu] case %zu %s=%s failed (%.1f s): %s\n",
                pg->finished, pg->total, i, schedopt_sweep_key(cd->s), c->value, c->seconds,
                e->msg);
      else
        fprintf(stderr, "schedopt sweep: [%zu/%zu] case %zu %s=%s: optimum L - sigma^2 = "
                        "%.6g, %ld evaluations, %.1f s\n",
                pg->finished, pg->total, i, schedopt_sweep_key(cd->s), c->value,
                c->res[0].excess, c->evals, c->seconds);
      fflush(stderr);
    }
  }
}

/* STEM_lr.csv: the optimum's eta*(t) of every case at t/T = k/100, the
 * data of the figure's overlay (unscaled; the scaling is in its label). */
static schedopt_status write_profiles(const schedopt_sweep *s, cli_extras *x, const char *stem,
                                      schedopt_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s_lr.csv", stem);
  FILE *fp;
  schedopt_status st = cli_extras_open(x, path, 1, &fp, err);
  if (st) return st;
  const size_t n = schedopt_sweep_ncases(s);
  fputs("t_over_T", fp);
  for (size_t i = 0; i < n; i++) {
    const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i);
    if (c->done && !c->status) fprintf(fp, ",%s", c->value);
  }
  fputc('\n', fp);
  for (size_t k = 0; k < SCHEDOPT_SWEEP_PROFILE; k++) {
    fprintf(fp, "%.4g", (double)k / (SCHEDOPT_SWEEP_PROFILE - 1));
    for (size_t i = 0; i < n; i++) {
      const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i);
      if (c->done && !c->status) fprintf(fp, ",%.10g", c->lr_profile[k]);
    }
    fputc('\n', fp);
  }
  return SCHEDOPT_OK; /* write errors: the set's commit */
}

static int run(int argc, char **argv) {
  cli_problem_opts o;
  opts x = {0, 1, 1};
  int rc = cli_parse_problem_opts("sweep", argc, argv, &o, extra, &x);
  if (rc || o.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&o);
    return rc;
  }
  const char *dir = o.output && strcmp(o.output, "-") ? o.output : NULL;
  if (x.shard_n > 1 && !dir) {
    cli_problem_opts_free(&o);
    return cli_usage_error("sweep", "--shard needs -o DIR (the shard file goes there)");
  }
  schedopt_error err = {0};
  schedopt_sweep *s = NULL;
  cli_extras extras;
  memset(&extras, 0, sizeof extras);
  int made_dir = 0;
  schedopt_status st = schedopt_sweep_load_file(&s, o.path, o.sets, o.nsets, &err);
  if (!st) st = schedopt_sweep_set_shard(s, x.shard_k, x.shard_n, &err);
  if (st) {
    rc = cli_fail(&err);
    goto cleanup;
  }
  if ((!dir || !o.quiet) && !cli_stdout_ok(&err)) { /* the summary, found before the cases */
    rc = cli_fail(&err);
    goto cleanup;
  }
  /* the folder, before the run: an unwritable place is reported at once */
  if (dir && (st = cli_prepare_dir(dir, &made_dir, &err))) {
    rc = cli_fail(&err);
    goto cleanup;
  }
  { /* every file of the result, checked before the cases run */
    schedopt_problem_extras ex0;
    schedopt_sweep_get_extras(s, &ex0);
    char stem[4096], shard[96];
    const int plot = ex0.plot && x.shard_n == 1;
    if (dir) cli_extras_stem(dir, 1, NULL, "sweep", stem, sizeof stem);
    else snprintf(stem, sizeof stem, "%s_sweep", schedopt_sweep_problem_name(s));
    schedopt_sweep_shard_name(x.shard_k, x.shard_n, shard, sizeof shard);
    const char *part[] = {shard, NULL};
    char lrcsv[4200]; /* the figure's eta*(t/T) data beside it */
    snprintf(lrcsv, sizeof lrcsv, "%s_lr.csv", stem);
    const char *lrf[] = {lrcsv, NULL};
    if ((st = cli_outputs_check(NULL, plot ? stem : NULL, plot, dir,
                                dir ? (x.shard_n > 1 ? part : schedopt_sweep_files) : NULL,
                                &err)) ||
        (plot && (st = cli_outputs_check(NULL, NULL, 0, NULL, lrf, &err)))) {
      rc = cli_fail(&err);
      goto cleanup;
    }
  }
  const size_t n = schedopt_sweep_ncases(s);
  size_t nm = 0;
  for (size_t i = 0; i < n; i++) nm += schedopt_sweep_in_shard(s, i) != 0;
#ifndef _OPENMP
  if (x.threads > 1 && !o.quiet)
    fprintf(stderr, "schedopt sweep: built without OpenMP: running on one thread\n");
#endif
  const double t0 = now();
  size_t failed = 0;
  int threads = 1;
  progress pg = {t0, 0, 0, nm, 0, 0};
  pg.show = cli_progress_show(&o);
  if (pg.show == CLI_SHOW_LOG) pg.last = t0; /* a log's first line after 10 s */
  if (pg.show != CLI_SHOW_NONE)
    schedopt_sweep_set_progress(s, on_progress, &pg);
  case_done cd = {s, &pg, o.quiet};
  if ((st = schedopt_sweep_run(s, (int)x.threads, on_done, &cd, &threads, &failed, &err))) {
    rc = cli_fail(&err);
    goto cleanup;
  }
  progress_clear(&pg);
  const double secs = now() - t0;
  /* output.plot: the scaling figure (a whole sweep only: a shard has no fits) */
  schedopt_problem_extras ex;
  schedopt_sweep_get_extras(s, &ex);
  if (ex.export_formats && !o.quiet)
    fprintf(stderr, "schedopt sweep: output.export is not used by sweep (one schedule per case): "
                    "export a case with 'schedopt optimize ... --set %s=VALUE'\n",
            schedopt_sweep_key(s));
  if (ex.plot && x.shard_n == 1 && n > failed) {
    char stem[4096], title[512];
    if (dir) cli_extras_stem(dir, 1, NULL, "sweep", stem, sizeof stem);
    else snprintf(stem, sizeof stem, "%s_sweep", schedopt_sweep_problem_name(s));
    snprintf(title, sizeof title, "%s (sweep)", schedopt_sweep_problem_name(s));
    schedopt_plot *fig = NULL;
    if ((st = schedopt_plot_alloc(&fig, ex.plot_title ? ex.plot_title : title, &err)) ||
        (st = schedopt_sweep_plot(s, fig, &err)) ||
        (st = cli_extras_write_plot(&extras, stem, fig, &err)) ||
        (st = write_profiles(s, &extras, stem, &err))) {
      schedopt_plot_free(fig);
      rc = cli_fail(&err);
      goto cleanup;
    }
    schedopt_plot_free(fig);
  }
  schedopt_outset *set; /* the files and the figure, committed together */
  if ((dir && ((st = cli_extras_set(&extras, &set, &err)) ||
               (st = schedopt_sweep_write_set(s, set, dir, &err)))) ||
      (st = cli_extras_commit(&extras, &err))) {
    rc = cli_fail(&err);
    goto cleanup;
  }
  if (!dir || !o.quiet) {
    if ((st = schedopt_sweep_write_text(s, stdout, &err))) {
      rc = cli_fail(&err);
      goto cleanup;
    }
    printf("  time       %.1f s on %d thread%s\n", secs, threads, threads == 1 ? "" : "s");
    if (dir) {
      if (x.shard_n > 1)
        printf("  wrote      %s/sweep-shard-%zu-of-%zu.json\n", dir, x.shard_k, x.shard_n);
      else
        printf("  wrote      %s/{sweep.csv, sweep.json, summary.txt}\n", dir);
    }
    cli_extras_report(&extras, stdout, "  wrote      ");
  }
  size_t bugs = 0;
  for (size_t i = 0; i < n; i++) {
    const schedopt_sweep_case *c = schedopt_sweep_get_case(s, i);
    bugs += c->done && !c->status && c->contained_beaten;
  }
  if (failed)
    fprintf(stderr, "schedopt sweep: error: %zu case%s failed (left out of the fits)\n", failed,
            failed == 1 ? "" : "s");
  if (bugs)
    fprintf(stderr, "schedopt sweep: error: in %zu case%s a tuned baseline the design contains "
                    "beats the optimum: this is a bug\n",
            bugs, bugs == 1 ? "" : "s");
  rc = failed || bugs ? 1 : 0;
cleanup:
  cli_extras_free(&extras);
  if (rc) cli_unprepare_dir(dir, made_dir); /* a failed sweep leaves no empty folder */
  schedopt_sweep_free(s);
  cli_problem_opts_free(&o);
  return rc;
}

const cli_command cli_sweep = {"sweep", "optimize over a list of horizons/budgets; fit exponents",
                               run};
