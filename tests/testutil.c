#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

int test_run_cli(const char *args, char *out, size_t cap) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", SCHEDOPT_CLI, args);
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

const char *test_write_tmp_in(const char *dir, const char *name, const char *text) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
  return path;
}

int test_finish(void) {
  printf("%d checks, %d failed\n", test_checks, test_failures);
  return test_failures ? 1 : 0;
}
