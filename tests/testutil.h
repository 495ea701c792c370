/* Minimal test harness: CHECK macros that count failures, a relative-error
 * check that prints both numbers, and a CLI runner capturing exit code and
 * output; then the helpers the tests share (OK(), problems from YAML text,
 * files, timing).  A test's main returns test_finish(). */
#ifndef SCHEDOPT_TESTUTIL_H
#define SCHEDOPT_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "schedopt/schedopt.h"

extern int test_failures;
extern int test_checks;

#define CHECK(cond)                                                            \
  do {                                                                         \
    test_checks++;                                                             \
    if (!(cond)) {                                                             \
      test_failures++;                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    test_checks++;                                                             \
    if (!(cond)) {                                                             \
      test_failures++;                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

/* |got − want| ≤ rel·|want| + abs */
#define CHECK_CLOSE(got, want, rel, abs_)                                      \
  test_check_close(__FILE__, __LINE__, #got, (got), (want), (rel), (abs_))

int test_check_close(const char *file, int line, const char *expr, double got,
                     double want, double rel, double abs_);

/* A library call that must succeed: on failure print the call and the
 * message of the schedopt_error named `err` where OK is used (the test's
 * own), and exit(1). */
#define OK(call)                                                                \
  do {                                                                          \
    schedopt_status st_ = (call);                                               \
    if (st_) {                                                                  \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, err.msg);   \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

/* err->msg contains a and, unless b is NULL, b (else the message is printed). */
int test_err_has(const schedopt_error *err, const char *a, const char *b);

/* Run a shell command; captures its standard output (truncated to cap; the
 * command redirects stderr itself) and returns the exit code (−1 if it did
 * not exit). */
int test_run_cmd(const char *cmd, char *out, size_t cap);

/* Run the schedopt CLI with a shell argument string; captures stdout+stderr
 * (truncated to cap) and returns the exit code (−1 if it did not exit). */
int test_run_cli(const char *args, char *out, size_t cap);

/* dir/name; the result is valid for the next 7 calls (a ring of buffers). */
const char *test_path_in(const char *dir, const char *name);
#define test_tmp_path(name) test_path_in(SCHEDOPT_TMP_DIR, (name))

/* Write n bytes, or a string, to a file (exit(1) if it cannot be written). */
void test_write_bytes(const char *path, const void *data, size_t n);
void test_write_text(const char *path, const char *text);

/* Write text to a fresh file under SCHEDOPT_TMP_DIR (each test program has
 * its own folder: ctest runs tests in parallel); returns its path
 * (static storage, valid until the next call). */
const char *test_write_tmp_in(const char *dir, const char *name, const char *text);
#define test_write_tmp(name, text) test_write_tmp_in(SCHEDOPT_TMP_DIR, (name), (text))

/* 1 if a YAML text has the top-level key `key:` (at the start of a line). */
int test_top_key(const char *text, const char *key);

/* A whole file, NUL-terminated (malloc'ed: free it); its length in *n when n
 * is not NULL.  NULL if it cannot be read. */
char *test_slurp(const char *path, size_t *n);
/* The same in storage of its own, valid until the next call (no free). */
const char *test_slurp_static(const char *path);

/* Lines of a text file (0 if it cannot be read); copies its first line
 * (last = 0) or its last line (last = 1) into line[cap] unless line is NULL. */
size_t test_count_lines(const char *path, char *line, size_t cap, int last);

/* Monotonic clock, seconds. */
double test_seconds(void);

/* A control of type T (NULL: exit) with "name=value" settings separated by
 * spaces; a non-numeric value selects an enum choice.  exit(1) on error. */
schedopt_control *test_ctl(const schedopt_control_type *T, const char *spec);

/* A problem: YAML text (named `name` in messages, as a file would be), the
 * --set assignments sets[0..nsets), built, its optimize: section read (the
 * whole file checked, as by the CLI).  *out (when out is not NULL) is
 * the problem as far as it got, also on failure (free it); with out NULL it
 * is freed.  Returns the status, the message in err. */
schedopt_status test_make_problem(schedopt_problem **out, const char *yaml, const char *name,
                                  const char *const *sets, size_t nsets, schedopt_error *err);

/* test_make_problem, then its optimize: section run: the problem in *pp and
 * the optimization in *po (NULL if it did not run; free both). */
schedopt_status test_optimize_yaml(const char *yaml, const char *name, schedopt_problem **pp,
                                   schedopt_optimization **po, schedopt_error *err);

/* One optimization of a table of them (validations; thread-safe). */
typedef struct test_opt_run {
  int ok;
  char msg[SCHEDOPT_ERRMSG_LEN]; /* when not ok */
  double J, sigma2, seconds;     /* objective, σ², wall-clock time */
  long evals;
  char code[32];                 /* the optimizer's stop code */
} test_opt_run;

/* test_optimize_yaml, timed, into r; the problem and the optimization stay
 * in *pp and *po to read more from (free both). */
void test_optimize_run(const char *yaml, const char *name, test_opt_run *r,
                       schedopt_problem **pp, schedopt_optimization **po);

int test_finish(void);

#endif
