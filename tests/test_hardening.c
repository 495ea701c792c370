/* Hardening, end to end through the CLI:
 *   numerics     divergence (SGD, momentum, data clock; ODE and recursion)
 *                is exit 1 with "diverged at step", never NaN rows; solver
 *                step exhaustion names solver.max_steps; untracked bias and
 *                variance are empty cells, not "nan"
 *   outputs      -o - is the same table on stdout; SIGINT/SIGTERM during a
 *                run remove the temporary file; a failing run of every
 *                command leaves an existing file as it was
 *   determinism  the same inputs give byte-identical tables
 *   limits       absurd sizes are refused at once with exit 2 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 18];
static char dir[2048];

static const char *small =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 50, sigma2: 0.1}\n"
    "budget: {steps: 2000}\n"
    "controls:\n"
    "  lr: {type: cosine, peak: 0.5, warmup: 100}\n"
    "  batch: 4\n"
    "output: {points: 40}\n";

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* dir/name; the result is valid for the next 7 calls (a ring of buffers). */
static const char *path_in(const char *name) { return test_path_in(dir, name); }

/* Files in dir whose name starts with prefix. */
static int count_prefixed(const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
  closedir(d);
  return n;
}

static int run(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static int run(const char *fmt, ...) {
  char args[16384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return test_run_cli(args, out, sizeof out);
}

/* ---- numerics ------------------------------------------------------------ */

static void expect_diverge(const char *name, const char *sets) {
  const char *p = path_in("small.yaml");
  char base[256];
  snprintf(base, sizeof base, "div_%s.csv", name);
  unlink(path_in(base));
  int rc = run("simulate '%s' -q -o '%s' %s", p, path_in(base), sets);
  CHECK_MSG(rc == 1, "%s: exit %d, want 1: %s", name, rc, out);
  CHECK_MSG(strstr(out, "diverged at step") != NULL, "%s: %s", name, out);
  CHECK_MSG(strstr(out, "lr = ") != NULL, "%s: the message names the learning rate: %s", name,
            out);
  CHECK_MSG(count_prefixed(base) == 0, "%s: an output or temporary file was left", name);
}

static void numerics(void) {
  test_write_text(path_in("small.yaml"), small);
  expect_diverge("sgd", "--set controls.lr.peak=3");
  expect_diverge("sgd_recursion", "--set controls.lr.peak=3 --set model.dynamics=recursion");
  expect_diverge("momentum", "--set controls.momentum=0.9 --set controls.lr.peak=1");
  expect_diverge("momentum_recursion",
                 "--set controls.momentum=0.9 --set controls.lr.peak=1 "
                 "--set model.dynamics=recursion");
  expect_diverge("samples", "--set budget.samples=1e5 --set controls.lr.peak=3");
  expect_diverge("samples_recursion",
                 "--set budget.samples=1e5 --set controls.lr.peak=3 "
                 "--set model.dynamics=recursion");
  expect_diverge("tokens_momentum",
                 "--set budget.tokens=1e6 --set budget.seq_len=64 --set controls.lr.peak=2 "
                 "--set controls.momentum=0.5");
  expect_diverge("late", "--set controls.lr='{type: linear, start: 0.1, end: 4}'");

  /* the solver's step limit: exit 1, a message naming solver.max_steps */
  int rc = run("simulate '%s' -q -o '%s' --set solver.max_steps=10", path_in("small.yaml"),
               path_in("maxsteps.csv"));
  CHECK_MSG(rc == 1 && strstr(out, "solver.max_steps = 10"), "max_steps: exit %d: %s", rc, out);
  CHECK(count_prefixed("maxsteps.csv") == 0);

  /* without split, bias and variance are empty cells, never "nan" */
  rc = run("simulate '%s' -q -o - --set model.split=false --set controls.momentum=0.3",
           path_in("small.yaml"));
  CHECK_MSG(rc == 0, "split=false: exit %d: %s", rc, out);
  CHECK_MSG(!strstr(out, "nan") && !strstr(out, "inf"), "nan in the table: %.300s", out);
  CHECK_MSG(strstr(out, ",,\n") != NULL || strstr(out, ",\n") != NULL, "%.300s", out);
}

/* ---- outputs ------------------------------------------------------------- */

/* Start the CLI with argv, output to /dev/null; returns the pid. */
static pid_t spawn(char *const argv[]) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(SCHEDOPT_CLI, argv);
    _exit(127);
  }
  return pid;
}

/* A long run interrupted by sig while its output is being prepared: the
 * process dies of sig and leaves neither the table nor its temporary file. */
static void interrupted(int sig, const char *base) {
  const char *yaml = path_in("long.yaml");
  test_write_text(yaml,
             "model: {a: 2.5, b: 1.5, N: 1000, dynamics: recursion}\n"
             "budget: {steps: 4e7}\n"
             "controls: {lr: 0.2}\n");
  char target[4096], tmpprefix[512];
  snprintf(target, sizeof target, "%s", path_in(base));
  snprintf(tmpprefix, sizeof tmpprefix, "%s.tmp", base);
  unlink(target);
  char *argv[] = {"schedopt", "simulate", (char *)yaml, "-q", "-o", target, NULL};
  pid_t pid = spawn(argv);
  CHECK(pid > 0);
  if (pid <= 0) return;
  /* wait (≤ 30 s) for the temporary file to appear */
  double t0 = test_seconds();
  while (count_prefixed(tmpprefix) == 0 && test_seconds() - t0 < 30) pause_ms(10);
  CHECK_MSG(count_prefixed(tmpprefix) == 1, "signal %d: no temporary file while running", sig);
  pause_ms(100);
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == sig, "signal %d: status %#x", sig, status);
  CHECK_MSG(count_prefixed(base) == 0, "signal %d: %s or its temporary file left behind", sig,
            base);
  CHECK_MSG(test_seconds() - t0 < 60, "signal %d: took %.1f s", sig, test_seconds() - t0);
}

/* Commands listed by `schedopt --help` (between "Commands:" and the next
 * blank line). */
static size_t list_commands(char names[][32], size_t max) {
  run("--help");
  const char *p = strstr(out, "Commands:\n");
  size_t n = 0;
  if (!p) return 0;
  p += strlen("Commands:\n");
  while (*p == ' ' && n < max) {
    while (*p == ' ') p++;
    size_t k = strcspn(p, " \n");
    if (k > 0 && k < 32) {
      memcpy(names[n], p, k);
      names[n++][k] = '\0';
    }
    p = strchr(p, '\n');
    if (!p) break;
    p++;
  }
  return n;
}

static void keep_untouched(const char *what, const char *keep) {
  size_t n = 0;
  char *buf = test_slurp(keep, &n);
  CHECK_MSG(buf && n == 9 && !strcmp(buf, "precious\n"), "%s: the existing file changed", what);
  free(buf);
  CHECK_MSG(count_prefixed("keep.csv.tmp") == 0, "%s: a temporary file was left", what);
}

static void outputs(void) {
  char p[4096], keep[4096];
  snprintf(p, sizeof p, "%s", path_in("small.yaml"));
  snprintf(keep, sizeof keep, "%s", path_in("keep.csv"));
  /* -o - and -o FILE give the same bytes */
  int rc = run("simulate '%s' -q -o -", p);
  CHECK_MSG(rc == 0, "-o -: exit %d: %s", rc, out);
  static char a[1 << 18];
  snprintf(a, sizeof a, "%s", out);
  rc = run("simulate '%s' -q -o '%s'", p, path_in("file.csv"));
  CHECK(rc == 0 && out[0] == '\0');
  size_t nb = 0;
  char *b = test_slurp(path_in("file.csv"), &nb);
  CHECK_MSG(b && nb > 100 && !strcmp(a, b), "-o - differs from -o FILE");
  free(b);
  const char *hdr = "step,tokens,lr,batch,momentum,loss,excess,bias,variance\n";
  CHECK(!strncmp(a, hdr, strlen(hdr)));

  interrupted(SIGINT, "sigint.csv");
  interrupted(SIGTERM, "sigterm.csv");

  /* a failing run leaves an existing file as it was: simulate failing at
   * load, at build and during the run (after the output was opened) */
  test_write_text(keep, "precious\n");
  rc = run("simulate '%s' -q -o '%s' --set model.a=0.5", p, keep);
  CHECK(rc == 2);
  keep_untouched("simulate, bad value", keep);
  rc = run("simulate '%s' -q -o '%s' --set controls.lr.peak=3", p, keep);
  CHECK(rc == 1);
  keep_untouched("simulate, divergence", keep);
  rc = run("simulate '%s' -q -o '%s' --set solver.max_steps=5", p, keep);
  CHECK(rc == 1);
  keep_untouched("simulate, solver failure", keep);
  /* ... and so does every command the CLI has, given a bad problem */
  test_write_text(path_in("bad.yaml"), "model: {a: 0.5, b: 1.5}\nbudget: {steps: 100}\n");
  char cmds[32][32];
  size_t nc = list_commands(cmds, 32);
  CHECK_MSG(nc >= 1, "no commands in --help: %s", out);
  for (size_t i = 0; i < nc; i++) {
    rc = run("%s '%s' -o '%s'", cmds[i], path_in("bad.yaml"), keep);
    CHECK_MSG(rc == 2, "%s with a bad problem: exit %d: %s", cmds[i], rc, out);
    keep_untouched(cmds[i], keep);
    rc = run("%s '%s' --output='%s'", cmds[i], path_in("bad.yaml"), keep);
    keep_untouched(cmds[i], keep);
  }
}

/* ---- determinism ----------------------------------------------------------- */

static void same_twice(const char *what, const char *args) {
  static char first[1 << 18];
  int rc = run("simulate %s -q -o -", args);
  CHECK_MSG(rc == 0, "%s: exit %d: %.300s", what, rc, out);
  snprintf(first, sizeof first, "%s", out);
  rc = run("simulate %s -q -o -", args);
  CHECK_MSG(rc == 0 && !strcmp(first, out), "%s: two runs differ", what);
}

static void determinism(void) {
  char args[8192];
  const char *problems[] = {"easy_phase", "hard_phase", "fsl_notation"};
  for (int i = 0; i < 3; i++) {
    snprintf(args, sizeof args, "'%s/problems/%s.yaml'", SCHEDOPT_SOURCE_DIR, problems[i]);
    same_twice(problems[i], args);
  }
  snprintf(args, sizeof args, "'%s' --set model.dynamics=recursion", path_in("small.yaml"));
  same_twice("recursion", args);
  snprintf(args, sizeof args, "'%s' --set controls.momentum=0.5 --set budget.samples=1e4",
           path_in("small.yaml"));
  same_twice("momentum, data clock", args);
}

/* ---- limits ---------------------------------------------------------------- */

static void refused(const char *what, const char *sets, const char *fragment) {
  double t0 = test_seconds();
  int rc = run("simulate '%s' -q -o '%s' %s", path_in("small.yaml"), path_in("limit.csv"), sets);
  double dt = test_seconds() - t0;
  CHECK_MSG(rc == 2, "%s: exit %d, want 2: %s", what, rc, out);
  CHECK_MSG(strstr(out, fragment) != NULL, "%s: '%s' not in: %s", what, fragment, out);
  CHECK_MSG(dt < 20, "%s: took %.1f s", what, dt);
  CHECK(count_prefixed("limit.csv") == 0);
}

static void limits(void) {
  refused("modes", "--set model.N=1e12", "model.N = 1e12 is out of range: must be in [1, 1000000]");
  refused("points", "--set output.points=1e9",
          "output.points = 1e9 is out of range: must be in [2, 1000000]");
  refused("steps", "--set budget.steps=1e300 --set model.dynamics=recursion",
          "budget.steps = 1e300 is out of range: must be in [1, 1e+15]");
  refused("recursion steps", "--set budget.steps=1e15 --set model.dynamics=recursion",
          "over the limit of 1e+11");
  refused("recursion samples", "--set budget.samples=1e300 --set model.dynamics=recursion",
          "over the limit of 1e+11");
  /* a table of 10^4 steps under a million modes: over the knot limit */
  const char *csv = path_in("dense.csv");
  FILE *f = fopen(csv, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("step,lr\n", f);
    for (int i = 0; i <= 10000; i++) fprintf(f, "%d,%g\n", i, i % 2 ? 0.5 : 0.4);
    fclose(f);
  }
  char sets[8192];
  snprintf(sets, sizeof sets,
           "--set model.N=1e6 --set budget.steps=20000 "
           "--set controls.lr='{type: table, file: %s, interp: step}'", csv);
  refused("knots", sets, "over the limit of 1e+10");
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/hardening", SCHEDOPT_TMP_DIR);
  mkdir(dir, 0777);
  numerics();
  outputs();
  determinism();
  limits();
  return test_finish();
}
