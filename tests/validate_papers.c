/* The papers' figures at reduced size (ctest -L validation).
 *
 * Every problem in problems/papers/ reproduces a figure or table of
 * Bordelon & Mori or of the functional-scaling-law paper with one command
 * (problems/papers/README.md).  This program runs each of them through that
 * command with the overrides of its line
 *   # reduced: --set KEY=VALUE ...
 * (fewer horizons, fewer knots: minutes, not the full run) and checks every
 * fitted exponent that has a theory value — each object of the sweep's
 * sweep.json with numbers "slope" and "theory", the optimum's and the
 * baselines' slopes, the model size's — to within the file's
 *   # reduced tolerance: X[, NAME Y ...]
 * (default 0.03; Y for the slope called NAME: finite horizons bend some
 * slopes more than others, docs/validation.md gives the full-size numbers).  A sweep must have at least one such slope.  An
 * `optimize` file must end with exit 0 and a schedule.csv whose
 * bias + variance + approx + σ² columns add up to the loss.
 *
 *   validate_papers [FILE-STEM ...]     (default: every file) */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char out[1 << 16];

/* the rest of the comment line that starts with tag, or "" */
static void comment_line(const char *text, const char *tag, char *dst, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\n%s", tag);
  const char *l = strstr(text, pat);
  dst[0] = 0;
  if (!l) return;
  l += strlen(pat);
  snprintf(dst, cap, "%.*s", (int)strcspn(l, "\n"), l);
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the tolerance for the slope `name`: "X, NAME Y, ..." */
static double tolerance(const char *spec, const char *name) {
  /* the default: the leading number, else 0.03 */
  const char *v0 = spec + strspn(spec, " ");
  double tol = (*v0 >= '0' && *v0 <= '9') || *v0 == '.' ? atof(v0) : 0.03;
  for (const char *p = strchr(spec, ','); p; p = strchr(p + 1, ',')) {
    const char *q = p + 1 + strspn(p + 1, " ");
    const size_t k = strlen(name);
    if (strncmp(q, name, k) || q[k] != ' ') continue;
    const char *v = q + k + strspn(q + k, " "); /* a number, not the rest of a longer name */
    if ((*v >= '0' && *v <= '9') || *v == '.') tol = atof(v);
  }
  return tol;
}

/* every object with numbers "slope" and "theory", anywhere under v */
static void check_slopes(const json_t *v, const char *key, const char *file, const char *tolspec,
                         int *n) {
  if (json_is_object(v)) {
    const json_t *s = json_object_get(v, "slope"), *t = json_object_get(v, "theory");
    if (json_is_number(s) && json_is_number(t)) {
      const double d = json_number_value(s) - json_number_value(t);
      /* the slope's name: its schedule, else the key it sits under ("model_size_slope") */
      json_t *nm = json_object_get(v, "schedule");
      if (!nm) nm = json_object_get(v, "name");
      if (nm)
        json_incref(nm);
      else if (key)
        nm = json_string(key);
      const double tol = tolerance(tolspec, json_is_string(nm) ? json_string_value(nm) : "");
      const json_t *rule = json_object_get(v, "theory_rule");
      printf("  %-14s slope %8.4f  theory %8.4f  (%+.4f)  %s\n",
             json_is_string(nm) ? json_string_value(nm) : "?", json_number_value(s),
             json_number_value(t), d, json_is_string(rule) ? json_string_value(rule) : "");
      CHECK_MSG(fabs(d) <= tol, "%s: %s slope %.4f is %.4f from its theory %.4f (tolerance %.3f)",
                file, json_is_string(nm) ? json_string_value(nm) : "?", json_number_value(s),
                fabs(d), json_number_value(t), tol);
      ++*n;
      json_decref(nm);
    }
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)v, k, c) check_slopes(c, k, file, tolspec, n);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c) check_slopes(c, NULL, file, tolspec, n);
  }
}

/* schedule.csv: loss = bias + variance + approx + σ² on every row */
static void check_split(const char *path, double sigma2, const char *file) {
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, "%s: no %s", file, path);
  if (!f) return;
  char line[4096];
  int col[5] = {-1, -1, -1, -1, -1}; /* loss, bias, variance, approx */
  const char *names[4] = {"loss", "bias", "variance", "approx"};
  if (fgets(line, sizeof line, f)) {
    int c = 0;
    for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), c++)
      for (int k = 0; k < 4; k++)
        if (!strcmp(tok, names[k])) col[k] = c;
  }
  CHECK_MSG(col[0] >= 0 && col[1] >= 0 && col[2] >= 0 && col[3] >= 0,
            "%s: schedule.csv lacks loss, bias, variance or approx", file);
  double worst = 0;
  long rows = 0;
  while (col[3] >= 0 && fgets(line, sizeof line, f)) {
    double v[4] = {NAN, NAN, NAN, NAN};
    int c = 0;
    for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), c++)
      for (int k = 0; k < 4; k++)
        if (c == col[k]) v[k] = atof(tok);
    worst = fmax(worst, fabs(v[1] + v[2] + v[3] + sigma2 - v[0]) / v[0]);
    rows++;
  }
  fclose(f);
  printf("  schedule.csv: %ld rows, |bias + variance + approx + sigma^2 - loss| / loss <= %.1e\n",
         rows, worst);
  CHECK_MSG(rows > 2 && worst < 1e-9, "%s: the split does not add up (%.2e)", file, worst);
}

static void run_one(const char *dir, const char *file) {
  char path[2048], stem[256], reduced[2048], tolline[256], args[8192], o[2048], f[2200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  snprintf(stem, sizeof stem, "%.*s", (int)(strlen(file) - 5) & 255, file);
  char *text = test_slurp(path, NULL);
  CHECK_MSG(text != NULL, "%s: unreadable", path);
  if (!text) return;
  comment_line(text, "# reduced:", reduced, sizeof reduced);
  comment_line(text, "# reduced tolerance:", tolline, sizeof tolline);
  const char *cmd = test_top_key(text, "sweep")      ? "sweep"
                    : test_top_key(text, "optimize") ? "optimize"
                                                     : NULL;
  CHECK_MSG(cmd != NULL, "%s: neither a sweep nor an optimize problem", file);
  if (!cmd) {
    free(text);
    return;
  }
  snprintf(o, sizeof o, "%s/%s", SCHEDOPT_TMP_DIR, stem);
  snprintf(args, sizeof args, "rm -rf '%s'", o);
  if (system(args) != 0) fprintf(stderr, "cannot remove %s\n", o);
  snprintf(args, sizeof args, "%s '%s' -q -o '%s' %s", cmd, path, o, reduced);
  const double t0 = test_seconds();
  const int rc = test_run_cli(args, out, sizeof out);
  printf("%s: schedopt %s ... %s  (%.0f s)\n", file, cmd, reduced, test_seconds() - t0);
  CHECK_MSG(rc == 0, "schedopt %s: exit %d:\n%s", args, rc, out);
  if (rc == 0 && !strcmp(cmd, "sweep")) {
    snprintf(f, sizeof f, "%s/sweep.json", o);
    json_error_t je;
    json_t *root = json_load_file(f, 0, &je);
    CHECK_MSG(root != NULL, "%s: %s: %s", file, f, je.text);
    int n = 0;
    if (root) check_slopes(root, NULL, file, tolline, &n);
    CHECK_MSG(n > 0, "%s: no fitted exponent with a theory value in %s", file, f);
    json_decref(root);
  } else if (rc == 0) {
    snprintf(f, sizeof f, "%s/summary.json", o);
    json_error_t je;
    json_t *root = json_load_file(f, 0, &je);
    CHECK_MSG(root != NULL, "%s: %s: %s", file, f, je.text);
    const json_t *m = root ? json_object_get(root, "model") : NULL;
    const json_t *s2 = m ? json_object_get(m, "sigma2") : NULL;
    snprintf(f, sizeof f, "%s/schedule.csv", o);
    if (json_is_number(s2)) check_split(f, json_number_value(s2), file);
    json_decref(root);
  }
  free(text);
}

int main(int argc, char **argv) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/problems/papers", SCHEDOPT_SOURCE_DIR);
  DIR *d = opendir(dir);
  CHECK_MSG(d != NULL, "cannot open %s", dir);
  if (!d) return test_finish();
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t k = strlen(e->d_name);
    if (k <= 5 || strcmp(e->d_name + k - 5, ".yaml")) continue;
    int want = argc < 2;
    for (int a = 1; a < argc; a++)
      if (!strncmp(e->d_name, argv[a], strlen(argv[a])) && strlen(argv[a]) + 5 == k) want = 1;
    if (want) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  CHECK_MSG(n >= 1, "no paper problem to run");
  const double t0 = test_seconds();
  for (size_t i = 0; i < n; i++) {
    run_one(dir, names[i]);
    free(names[i]);
  }
  printf("%zu paper problems in %.0f s\n", n, test_seconds() - t0);
  return test_finish();
}
