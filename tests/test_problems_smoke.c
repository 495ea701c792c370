/* Every bundled problem (the .yaml files in problems/) runs through its command at a
 * small size and gives a sane result.
 *
 * The command comes from the file: a fit spec (`curves:`) → fit, a
 * prediction spec (`compare:` or a top-level `schedule:`) → predict, a
 * `sweep:` section → sweep, an `optimize:` section → optimize, a `design:`
 * section → design (before curves: a design may fit its surrogate), else
 * simulate.  The overrides that make it small are a line
 *   # smoke: --set KEY=VALUE ...
 * in the file, else the defaults below for the command.  A problem that
 * names the shared data folder (../shared) is skipped when that is absent.
 * New problem files are picked up automatically, in problems/ and
 * problems/papers/ (output folders are named by the file's stem, so a paper
 * file's name must differ from every problems/ file's). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 16];

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines of a CSV file, and 1 if a cell is nan or inf. */
static size_t csv_lines(const char *path, int *bad) {
  char *s = test_slurp(path, NULL);
  size_t n = 0;
  *bad = 0;
  for (const char *q = s; q && (q = strchr(q, '\n')); q++) n++;
  if (s && (strstr(s, "nan") || strstr(s, "inf"))) *bad = 1;
  free(s);
  return n;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void run_problem(const char *dir, const char *file) {
  char path[2048], args[8192], o[2048], f[2100];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  char *text = test_slurp(path, NULL);
  CHECK_MSG(text != NULL, "%s: unreadable", path);
  if (!text) return;
  char stem[300];
  snprintf(stem, sizeof stem, "%.*s", (int)(strlen(file) - 5) & 255, file);
  if (strstr(text, "../shared") && !exists(SCHEDOPT_SHARED_DIR)) {
    printf("skip %s: needs %s\n", file, SCHEDOPT_SHARED_DIR);
    free(text);
    return;
  }
  const char *cmd = test_top_key(text, "design")   ? "design"
                    : test_top_key(text, "curves") ? "fit"
                    : test_top_key(text, "compare") || test_top_key(text, "schedule")
                        ? "predict"
                    : test_top_key(text, "sweep")    ? "sweep"
                    : test_top_key(text, "optimize") ? "optimize"
                                                     : "simulate";
  const int to_dir = strcmp(cmd, "simulate") && strcmp(cmd, "predict");
  char smoke[1024] = "";
  const char *line = strstr(text, "\n# smoke:");
  if (line || !strncmp(text, "# smoke:", 8)) {
    line = line ? line + 9 : text + 8;
    size_t k = strcspn(line, "\n");
    snprintf(smoke, sizeof smoke, "%.*s", (int)k, line);
  } else if (!strcmp(cmd, "simulate")) {
    snprintf(smoke, sizeof smoke, "--set model.N=100 --set output.points=20");
  } else if (!strcmp(cmd, "optimize")) {
    snprintf(smoke, sizeof smoke, "--set model.N=50 --set optimize.maxeval=30");
  } else if (!strcmp(cmd, "sweep")) {
    snprintf(smoke, sizeof smoke, "--set model.N=50 --set optimize.maxeval=30");
  } else if (!strcmp(cmd, "fit")) {
    snprintf(smoke, sizeof smoke, "--set fit.starts=1 --set fit.maxeval=300 --set fit.prior=0");
  }
  snprintf(o, sizeof o, "%s/%s%s", SCHEDOPT_TMP_DIR, stem, to_dir ? "" : ".csv");
  snprintf(args, sizeof args, "rm -rf '%s'", o);
  if (system(args) != 0) fprintf(stderr, "cannot remove %s\n", o);
  /* relative paths inside fit/predict specs are resolved against the spec */
  snprintf(args, sizeof args, "%s '%s' -q -o '%s' %s", cmd, path, o, smoke);
  const double t0 = test_seconds();
  int rc = test_run_cli(args, out, sizeof out);
  const double secs = test_seconds() - t0;
  printf("%-34s %-8s %5.1f s  %s\n", file, cmd, secs, smoke);
  CHECK_MSG(rc == 0, "schedopt %s: exit %d:\n%s", args, rc, out);
  int bad = 0;
  if (!strcmp(cmd, "simulate") || !strcmp(cmd, "predict")) {
    size_t n = csv_lines(o, &bad);
    CHECK_MSG(n >= 3 && !bad, "%s: %zu lines%s", o, n, bad ? ", nan or inf" : "");
  } else if (!strcmp(cmd, "optimize")) {
    snprintf(f, sizeof f, "%s/summary.json", o);
    char *s = test_slurp(f, NULL);
    CHECK_MSG(s && strstr(s, "\"optimum\"") && !strstr(s, "NaN"), "%s", f);
    free(s);
    snprintf(f, sizeof f, "%s/schedule.csv", o);
    CHECK_MSG(csv_lines(f, &bad) >= 3 && !bad, "%s", f);
  } else if (!strcmp(cmd, "design")) {
    snprintf(f, sizeof f, "%s/summary.json", o);
    char *s = test_slurp(f, NULL);
    CHECK_MSG(s && strstr(s, "\"final_loss\"") && !strstr(s, "NaN"), "%s", f);
    free(s);
    snprintf(f, sizeof f, "%s/schedule.csv", o);
    CHECK_MSG(csv_lines(f, &bad) >= 3 && !bad, "%s", f);
  } else if (!strcmp(cmd, "sweep")) {
    snprintf(f, sizeof f, "%s/sweep.csv", o);
    size_t n = csv_lines(f, &bad);
    CHECK_MSG(n >= 3 && !bad, "%s: %zu lines", f, n);
  } else {
    snprintf(f, sizeof f, "%s/fit.json", o);
    char *s = test_slurp(f, NULL);
    CHECK_MSG(s && strstr(s, "\"params\"") && !strstr(s, "NaN"), "%s", f);
    free(s);
  }
  free(text);
}

/* The .yaml files of one folder, each run; returns how many. */
static size_t run_folder(const char *dir) {
  DIR *d = opendir(dir);
  CHECK_MSG(d != NULL, "cannot open %s", dir);
  if (!d) return 0;
  char *names[512];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    size_t k = strlen(e->d_name);
    if (k > 5 && !strcmp(e->d_name + k - 5, ".yaml")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  for (size_t i = 0; i < n; i++) {
    run_problem(dir, names[i]);
    free(names[i]);
  }
  return n;
}

int main(void) {
  char dir[1024];
  const double t0 = test_seconds();
  snprintf(dir, sizeof dir, "%s/problems", SCHEDOPT_SOURCE_DIR);
  size_t n = run_folder(dir);
  CHECK_MSG(n >= 10, "only %zu problems", n);
  /* the papers' figures (problems/papers/README.md) */
  snprintf(dir, sizeof dir, "%s/problems/papers", SCHEDOPT_SOURCE_DIR);
  size_t m = run_folder(dir);
  CHECK_MSG(m >= 2, "only %zu paper problems", m);
  printf("%zu problems and %zu paper problems in %.1f s\n", n, m, test_seconds() - t0);
  return test_finish();
}
