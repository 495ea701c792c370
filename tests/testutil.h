/* Minimal test harness: CHECK macros that count failures, a relative-error
 * check that prints both numbers, and a CLI runner capturing exit code and
 * output.  A test's main returns test_finish(). */
#ifndef SCHEDOPT_TESTUTIL_H
#define SCHEDOPT_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>

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

/* Run the schedopt CLI with a shell argument string; captures stdout+stderr
 * (truncated to cap) and returns the exit code (−1 if it did not exit). */
int test_run_cli(const char *args, char *out, size_t cap);

/* Write text to a fresh file under SCHEDOPT_TMP_DIR (each test program has
 * its own folder: ctest runs tests in parallel); returns its path
 * (static storage, valid until the next call). */
const char *test_write_tmp_in(const char *dir, const char *name, const char *text);
#define test_write_tmp(name, text) test_write_tmp_in(SCHEDOPT_TMP_DIR, (name), (text))

int test_finish(void);

#endif
