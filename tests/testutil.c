#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

int test_failures = 0;
int test_checks = 0;

int test_check_close(const char *file, int line, const char *expr, double got,
                     double want, double rel, double abs_) {
  test_checks++;
  double tol = rel * fabs(want) + abs_;
  if (!(fabs(got - want) <= tol)) {
    test_failures++;
    fprintf(stderr, "%s:%d: %s = %.12g, want %.12g (|diff| %.3g > tol %.3g)\n",
            file, line, expr, got, want, fabs(got - want), tol);
    return 0;
  }
  return 1;
}

int test_err_has(const schedopt_error *err, const char *a, const char *b) {
  int ok = strstr(err->msg, a) != NULL && (!b || strstr(err->msg, b) != NULL);
  if (!ok) fprintf(stderr, "  message was: %s\n", err->msg);
  return ok;
}

int test_run_cmd(const char *cmd, char *out, size_t cap) {
  FILE *f = popen(cmd, "r");
  if (!f) return -1;
  size_t n = 0;
  if (out && cap) {
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
  }
  char sink[4096];
  while (fread(sink, 1, sizeof sink, f) > 0) {
  }
  int st = pclose(f);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

int test_run_cli(const char *args, char *out, size_t cap) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", SCHEDOPT_CLI, args);
  return test_run_cmd(cmd, out, cap);
}

const char *test_path_in(const char *dir, const char *name) {
  static char p[8][4096];
  static int k;
  k = (k + 1) % 8;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

void test_write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  fwrite(data, 1, n, f);
  fclose(f);
}

void test_write_text(const char *path, const char *text) {
  test_write_bytes(path, text, strlen(text));
}

const char *test_write_tmp_in(const char *dir, const char *name, const char *text) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  test_write_text(path, text);
  return path;
}

char *test_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0, k;
  char *b = malloc(cap + 1);
  while (b && (k = fread(b + len, 1, cap - len, f)) > 0) {
    len += k;
    if (len == cap) {
      char *nb = realloc(b, 2 * cap + 1);
      if (!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!b) return NULL;
  b[len] = '\0';
  if (n) *n = len;
  return b;
}

int test_top_key(const char *text, const char *key) {
  size_t k = strlen(key);
  for (const char *p = text; p; p = strchr(p, '\n')) {
    if (*p == '\n') p++;
    if (!strncmp(p, key, k) && p[k] == ':') return 1;
  }
  return 0;
}

const char *test_slurp_static(const char *path) {
  static char *last;
  char *s = test_slurp(path, NULL);
  if (s) {
    free(last);
    last = s;
  }
  return s;
}

size_t test_count_lines(const char *path, char *line, size_t cap, int last) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[8192];
  size_t n = 0;
  while (fgets(buf, sizeof buf, f)) {
    if (line && (last || n == 0)) snprintf(line, cap, "%s", buf);
    n++;
  }
  fclose(f);
  return n;
}

double test_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

schedopt_control *test_ctl(const schedopt_control_type *T, const char *spec) {
  schedopt_control *c = NULL;
  schedopt_error err = {0};
  if (!T || schedopt_control_alloc(&c, T, &err)) {
    fprintf(stderr, "cannot make a %s control: %s\n", T ? T->name : "(unknown)", err.msg);
    exit(1);
  }
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    if (!eq) {
      fprintf(stderr, "test bug: '%s' is not name=value\n", tok);
      exit(1);
    }
    *eq = '\0';
    char *end;
    double v = strtod(eq + 1, &end);
    schedopt_status st = *end ? schedopt_control_set_choice(c, tok, eq + 1, &err)
                              : schedopt_control_set(c, tok, v, &err);
    if (st) {
      fprintf(stderr, "cannot set %s: %s\n", tok, err.msg);
      exit(1);
    }
  }
  return c;
}

schedopt_status test_make_problem(schedopt_problem **out, const char *yaml, const char *name,
                                  const char *const *sets, size_t nsets, schedopt_error *err) {
  schedopt_problem *p = NULL;
  schedopt_status st = schedopt_problem_alloc(&p, err);
  if (!st) st = schedopt_problem_load_string(p, yaml, strlen(yaml), name, err);
  for (size_t i = 0; !st && i < nsets; i++) st = schedopt_problem_set(p, sets[i], err);
  if (!st) st = schedopt_problem_build(p, err);
  /* the whole file checked, as the CLI does: the optimize: section is read
   * by the optimizer's layer */
  schedopt_optimize_spec *spec = st ? NULL : malloc(sizeof *spec);
  if (!st && !spec) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  if (!st) st = schedopt_problem_optimize_spec(p, spec, err);
  free(spec);
  if (out)
    *out = p;
  else
    schedopt_problem_free(p);
  return st;
}

schedopt_status test_optimize_yaml(const char *yaml, const char *name, schedopt_problem **pp,
                                   schedopt_optimization **po, schedopt_error *err) {
  *po = NULL;
  schedopt_status st = test_make_problem(pp, yaml, name, NULL, 0, err);
  if (st) return st;
  /* on the heap: a validation runs this on OpenMP threads' small stacks */
  schedopt_optimize_spec *spec = malloc(sizeof *spec);
  if (!spec) {
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return SCHEDOPT_ENOMEM;
  }
  st = schedopt_problem_optimize_spec(*pp, spec, err);
  if (!st) st = schedopt_optimization_run(po, *pp, spec, err);
  free(spec);
  return st;
}

void test_optimize_run(const char *yaml, const char *name, test_opt_run *r,
                       schedopt_problem **pp, schedopt_optimization **po) {
  schedopt_error e = {0};
  const double t0 = test_seconds();
  r->ok = !test_optimize_yaml(yaml, name, pp, po, &e);
  r->seconds = test_seconds() - t0;
  if (!r->ok) {
    snprintf(r->msg, sizeof r->msg, "%s", e.msg);
    return;
  }
  const schedopt_opt_result *res = schedopt_optimization_result(*po);
  r->J = res->J;
  r->evals = res->evals;
  snprintf(r->code, sizeof r->code, "%s", res->code_name);
  r->sigma2 = schedopt_problem_sigma2(*pp);
}

int test_finish(void) {
  printf("%d checks, %d failed\n", test_checks, test_failures);
  return test_failures ? 1 : 0;
}
