/* Where outputs go (src/core/outfile.c), through the CLI and the library:
 *   special files  a character device stays a device (-o /dev/null must not
 *                  replace it), a FIFO is written to its reader and stays a
 *                  FIFO (no reader: refused), a symlink is written through
 *                  (a dangling one creates its target), a directory is
 *                  refused by name
 *   permissions    an existing 0600 file stays 0600; a new one is 0666 & ~umask
 *   write errors   `ulimit -f` is "File too large", not SIGXFSZ; stdout on
 *                  /dev/full is "No space left on device"; both non-zero,
 *                  no temporary left, the old file untouched
 *   output sets    members are renamed together or not at all; the same
 *                  file twice is refused; signal clean-up sees members
 *   signals        a closed pipe is "Broken pipe" (exit 2), not SIGPIPE; the
 *                  signals that end a process remove the temporaries first
 *   attributes     a temporary is 0600 until it is complete; a rewritten
 *                  file keeps its group (setgid folders), or its group
 *                  loses what others may not do
 *   descriptors    /dev/stderr, /dev/fd/3, /dev/./stdout, /proc/self/fd/3:
 *                  written through the descriptor (2>>log appends), never
 *                  renamed over; a closed stdout is refused; /proc refused
 *   refusals       at open, before anything is renamed: a sticky folder's
 *                  file of another user, a read-only folder (with why)
 *   names          a 255-byte name, a path near PATH_MAX; a reason that
 *                  fits after a very long path
 * Tests that need an unprivileged user run the CLI as 65534 through setpriv
 * when this runs as root (else they are skipped with a note). */
#define _GNU_SOURCE /* mknod, setresuid, setgroups */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/xattr.h>
#endif
#include <time.h>
#include <unistd.h>

#include "core/outfile.h"
#include "testutil.h"

static char out[1 << 16];
static char dir[2048];
static const char *yaml; /* the problem file */
static char yaml_buf[4200], pe_yaml[4200], csv_yaml[4200]; /* p.yaml; + exports and plot; + csv */
static char *want;       /* the table the problem gives, written to a plain file */
static size_t nwant;

static const char *problem =
    "name: o\n"
    "model: {a: 3.5, b: 2, N: 20, sigma2: 0.25, split: false}\n"
    "budget: {steps: 1000}\n"
    "controls: {lr: {type: cosine, peak: 0.5}, batch: 5}\n"
    "optimize: {maxeval: 20, baselines: [constant], controls: {lr: {knots: 16}}}\n";

static const char *P(const char *name) { return test_path_in(dir, name); }

/* The file holds exactly text. */
static int holds(const char *path, const char *text) {
  const char *b = test_slurp_static(path);
  return b && !strcmp(b, text);
}

/* Temporary files in folder d: names with ".tmp" or ".schedopt-". */
static int count_temps_in(const char *d) {
  DIR *dd = opendir(d);
  int n = 0;
  if (!dd) return -1;
  for (struct dirent *e; (e = readdir(dd));)
    if (strstr(e->d_name, ".tmp") || strstr(e->d_name, ".schedopt-")) n++;
  closedir(dd);
  return n;
}

static int count_temps(void) { return count_temps_in(dir); }

/* Remove the temporary files a failed earlier run left in the scratch
 * folder (it persists between runs). */
static void remove_stale_temps(void) {
  DIR *dd = opendir(dir);
  if (!dd) return;
  char p[4400];
  for (struct dirent *e; (e = readdir(dd));)
    if (strstr(e->d_name, ".tmp") || strstr(e->d_name, ".schedopt-")) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  closedir(dd);
}

static int simulate_to(const char *target) {
  char args[6000];
  snprintf(args, sizeof args, "simulate -q '%s' -o '%s'", yaml, target);
  return test_run_cli(args, out, sizeof out);
}

/* The file holds what a plain -o run wrote. */
static int same_as_want(const char *path) {
  size_t n = 0;
  char *got = test_slurp(path, &n);
  int same = got && n == nwant && !memcmp(got, want, n);
  free(got);
  return same;
}

static void test_char_device(void) {
  const char *nul = P("nul");
  struct stat sb;
  unlink(nul);
  if (stat("/dev/null", &sb) != 0 || mknod(nul, S_IFCHR | 0666, sb.st_rdev) != 0) {
    fprintf(stderr, "test_outputs: mknod: %s: character device test skipped\n", strerror(errno));
    return;
  }
  CHECK_MSG(simulate_to(nul) == 0, "%s", out);
  CHECK(lstat(nul, &sb) == 0 && S_ISCHR(sb.st_mode));
  CHECK(count_temps() == 0);
  unlink(nul);
}

static void test_fifo(void) {
  const char *fifo = P("fifo"), *got = P("from_fifo.csv");
  unlink(fifo);
  unlink(got);
  if (mkfifo(fifo, 0600) != 0) {
    fprintf(stderr, "test_outputs: mkfifo: %s: FIFO test skipped\n", strerror(errno));
    return;
  }
  /* no reader: refused at once, not a hang */
  CHECK(simulate_to(fifo) != 0);
  CHECK_MSG(strstr(out, "no reader") != NULL, "%s", out);
  /* A reader, there before the CLI opens the FIFO (opened here, non-blocking,
   * so there is no race): the child copies what arrives into a file. */
  int rd = open(fifo, O_RDONLY | O_NONBLOCK);
  CHECK(rd >= 0);
  if (rd < 0) return;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int fl = fcntl(rd, F_GETFL);
    fcntl(rd, F_SETFL, fl & ~O_NONBLOCK);
    int fd = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char buf[4096];
    int seen = 0;
    for (int idle = 0; fd >= 0 && idle < 6000;) {
      ssize_t n = read(rd, buf, sizeof buf);
      if (n > 0) {
        seen = 1;
        if (write(fd, buf, (size_t)n) != n) _exit(1);
      } else if (n == 0 && seen) { /* the writer closed */
        break;
      } else { /* no writer yet: 0 at once; wait for it (≤ 60 s) */
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
        idle++;
      }
    }
    _exit(fd >= 0 && close(fd) == 0 && seen ? 0 : 1);
  }
  close(rd);
  CHECK(pid > 0);
  if (pid <= 0) return;
  CHECK_MSG(simulate_to(fifo) == 0, "%s", out);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_MSG(same_as_want(got), "the FIFO's reader did not get the table");
  struct stat sb;
  CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
  CHECK(count_temps() == 0);
  unlink(fifo);
  unlink(got);
}

static void test_symlink(void) {
  const char *sub = P("linked"), *link = P("link.csv"), *target = P("linked/real.csv");
  mkdir(sub, 0777);
  unlink(link);
  unlink(target);
  /* dangling: the file it names is created (as the shell's > does) */
  CHECK(symlink("linked/real.csv", link) == 0);
  CHECK_MSG(simulate_to(link) == 0, "%s", out);
  struct stat sb;
  CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
  CHECK(same_as_want(target));
  /* existing: replaced through the link, which stays a link */
  test_write_text(target, "old\n");
  CHECK_MSG(simulate_to(link) == 0, "%s", out);
  CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
  CHECK(lstat(target, &sb) == 0 && S_ISREG(sb.st_mode));
  CHECK(same_as_want(target));
  CHECK(count_temps() == 0);
  /* a directory is refused by name, and stays */
  CHECK(simulate_to(sub) != 0);
  CHECK_MSG(strstr(out, "is a directory") != NULL, "%s", out);
  CHECK(lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode));
  unlink(link);
  unlink(target);
  rmdir(sub);
}

static void test_permissions(void) {
  const char *priv = P("private.csv"), *fresh = P("fresh.csv");
  test_write_text(priv, "old\n");
  CHECK(chmod(priv, 0600) == 0);
  CHECK_MSG(simulate_to(priv) == 0, "%s", out);
  struct stat sb;
  CHECK(stat(priv, &sb) == 0 && (sb.st_mode & 07777) == 0600);
  CHECK(same_as_want(priv));
  unlink(fresh);
  mode_t mask = umask(022);
  umask(mask); /* the CLI inherits it */
  CHECK_MSG(simulate_to(fresh) == 0, "%s", out);
  CHECK(stat(fresh, &sb) == 0 && (sb.st_mode & 07777) == (0666 & ~mask));
  unlink(priv);
  unlink(fresh);
}

static void test_write_errors(void) {
  const char *old = P("old.csv");
  test_write_text(old, "old\n");
  char cmd[8192];
  /* the table is about 10 kB: over 10 blocks of 512 (sh) or 1024 bytes (bash) */
  snprintf(cmd, sizeof cmd, "sh -c \"ulimit -f 10; exec '%s' simulate -q '%s' -o '%s'\" 2>&1",
           SCHEDOPT_CLI, yaml, old);
  int rc = test_run_cmd(cmd, out, sizeof out);
  CHECK_MSG(rc > 0 && rc < 128, "exit %d (a signal is > 128)", rc);
  CHECK_MSG(strstr(out, "File too large") != NULL, "%s", out);
  CHECK(holds(old, "old\n"));
  CHECK(count_temps() == 0);
  unlink(old);

  if (access("/dev/full", W_OK) != 0) {
    fprintf(stderr, "test_outputs: no /dev/full: standard output test skipped\n");
    return;
  }
  snprintf(cmd, sizeof cmd, "'%s' simulate -q '%s' -o - 2>&1 >/dev/full", SCHEDOPT_CLI, yaml);
  rc = test_run_cmd(cmd, out, sizeof out);
  CHECK_MSG(rc > 0, "exit %d", rc);
  CHECK_MSG(strstr(out, "cannot write to standard output: No space left on device") != NULL,
            "%s", out);
  snprintf(cmd, sizeof cmd, "'%s' --help 2>&1 >/dev/full", SCHEDOPT_CLI);
  CHECK(test_run_cmd(cmd, out, sizeof out) > 0);
  CHECK_MSG(strstr(out, "standard output") != NULL, "%s", out);
}

/* ---- output sets (library) ---------------------------------------------------------- */

static void put(FILE *f, const char *text) { CHECK(fputs(text, f) >= 0); }

static void test_set_together(void) {
  schedopt_error err = {0};
  const char *a = P("a.csv"), *b = P("b.json");
  test_write_text(a, "old a\n");
  unlink(b);
  schedopt_outset *set = NULL;
  FILE *fa = NULL, *fb = NULL;
  OK(schedopt_outset_alloc(&set, &err));
  OK(schedopt_outset_open(set, a, &fa, &err));
  OK(schedopt_outset_open(set, b, &fb, &err));
  put(fa, "new a\n");
  put(fb, "new b\n");
  CHECK(count_temps() == 2);
  CHECK(holds(a, "old a\n")); /* nothing renamed before commit */
  CHECK(access(b, F_OK) != 0);
  OK(schedopt_outset_commit(set, &err));
  CHECK(holds(a, "new a\n"));
  CHECK(holds(b, "new b\n"));
  CHECK(count_temps() == 0);
  /* the set is empty again and can be reused; abort renames nothing */
  OK(schedopt_outset_open(set, a, &fa, &err));
  put(fa, "aborted\n");
  schedopt_outset_abort(set);
  CHECK(holds(a, "new a\n"));
  CHECK(count_temps() == 0);
  /* free aborts what is open */
  OK(schedopt_outset_open(set, b, &fb, &err));
  schedopt_outset_free(set);
  CHECK(holds(b, "new b\n"));
  CHECK(count_temps() == 0);
  unlink(a);
  unlink(b);
}

/* A member that cannot be written: nothing is renamed, nothing left over. */
static void test_set_failure(void) {
  schedopt_error err = {0};
  const char *a = P("a.csv"), *b = P("b.csv"), *big = P("big.csv");
  test_write_text(a, "old a\n");
  test_write_text(b, "old b\n");
  test_write_text(big, "old big\n");
  schedopt_outset *set = NULL;
  FILE *f = NULL;
  OK(schedopt_outset_alloc(&set, &err));

  /* one member over RLIMIT_FSIZE (SIGXFSZ ignored, as in the CLI): EFBIG */
  struct rlimit was;
  CHECK(getrlimit(RLIMIT_FSIZE, &was) == 0);
  void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
  OK(schedopt_outset_open(set, a, &f, &err));
  put(f, "new a\n");
  OK(schedopt_outset_open(set, big, &f, &err));
  for (int i = 0; i < 2000; i++) fputs("0123456789\n", f); /* 22 kB: fails */
  OK(schedopt_outset_open(set, b, &f, &err));
  put(f, "new b\n");
  struct rlimit lim = was;
  lim.rlim_cur = 4096;
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  schedopt_status st = schedopt_outset_commit(set, &err);
  CHECK(setrlimit(RLIMIT_FSIZE, &was) == 0);
  signal(SIGXFSZ, old_xfsz);
  CHECK(st == SCHEDOPT_EIO);
  CHECK(test_err_has(&err, "big.csv", "File too large"));
  CHECK(holds(a, "old a\n"));
  CHECK(holds(b, "old b\n"));
  CHECK(holds(big, "old big\n"));
  CHECK(count_temps() == 0);

  /* a device whose writes fail (/dev/full), between two files */
  if (access("/dev/full", W_OK) == 0) {
    OK(schedopt_outset_open(set, a, &f, &err));
    put(f, "new a\n");
    OK(schedopt_outset_open(set, "/dev/full", &f, &err));
    put(f, "lost\n");
    OK(schedopt_outset_open(set, b, &f, &err));
    put(f, "new b\n");
    st = schedopt_outset_commit(set, &err);
    CHECK(st == SCHEDOPT_EIO);
    CHECK(test_err_has(&err, "/dev/full", "No space left on device"));
    CHECK(holds(a, "old a\n"));
    CHECK(holds(b, "old b\n"));
    CHECK(count_temps() == 0);
  }

  /* a member that cannot be opened (no such folder): the caller aborts */
  OK(schedopt_outset_open(set, a, &f, &err));
  put(f, "new a\n");
  st = schedopt_outset_open(set, P("no/such/folder/c.csv"), &f, &err);
  CHECK(st == SCHEDOPT_EIO);
  CHECK(test_err_has(&err, "c.csv", "No such file or directory"));
  schedopt_outset_abort(set);
  CHECK(holds(a, "old a\n"));
  CHECK(count_temps() == 0);

  /* phase 2: a rename that fails (the name became a folder meanwhile): the
   * members before it are in place, the rest removed, no temporary left */
  const char *late = P("late"), *inside = P("late/x");
  OK(schedopt_outset_open(set, a, &f, &err));
  put(f, "new a\n");
  OK(schedopt_outset_open(set, late, &f, &err));
  put(f, "late\n");
  OK(schedopt_outset_open(set, b, &f, &err));
  put(f, "new b\n");
  CHECK(mkdir(late, 0777) == 0);
  test_write_text(inside, "x\n");
  CHECK(schedopt_outset_commit(set, &err) == SCHEDOPT_EIO);
  CHECK(test_err_has(&err, "late", NULL));
  CHECK(holds(a, "new a\n"));
  CHECK(holds(b, "old b\n"));
  CHECK(holds(inside, "x\n"));
  CHECK(count_temps() == 0);
  unlink(inside);
  rmdir(late);
  schedopt_outset_free(set);
  unlink(a);
  unlink(b);
  unlink(big);
}

static void test_set_same_file(void) {
  schedopt_error err = {0};
  const char *x = P("fig.svg"), *sub = P("sub"), *link = P("fig_link.svg");
  char dotted[4200];
  snprintf(dotted, sizeof dotted, "%s/sub/../fig.svg", dir);
  mkdir(sub, 0777);
  unlink(x);
  unlink(link);
  CHECK(symlink("fig.svg", link) == 0);
  schedopt_outset *set = NULL;
  FILE *f = NULL, *g = NULL;
  OK(schedopt_outset_alloc(&set, &err));
  OK(schedopt_outset_open(set, x, &f, &err));
  const char *again[] = {x, dotted, link};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    g = (FILE *)1;
    CHECK(schedopt_outset_open(set, again[i], &g, &err) == SCHEDOPT_EINVAL);
    CHECK(g == NULL);
    CHECK(test_err_has(&err, "two outputs to one file", again[i]));
  }
  CHECK(count_temps() == 1); /* the refused ones made none */
  /* devices and stdout may repeat */
  OK(schedopt_outset_open(set, "/dev/null", &g, &err));
  OK(schedopt_outset_open(set, "/dev/null", &g, &err));
  OK(schedopt_outset_open(set, "-", &g, &err));
  OK(schedopt_outset_open(set, "-", &g, &err));
  CHECK(g == stdout);
  put(f, "<svg/>\n");
  OK(schedopt_outset_commit(set, &err));
  CHECK(holds(x, "<svg/>\n"));
  struct stat sb;
  CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
  CHECK(count_temps() == 0);
  schedopt_outset_free(set);
  unlink(x);
  unlink(link);
  rmdir(sub);
}

/* The SIGINT/SIGTERM clean-up removes the temporary files of set members. */
static void test_set_signal_cleanup(void) {
  schedopt_error err = {0};
  const char *a = P("a.csv"), *b = P("b.csv");
  unlink(a);
  unlink(b);
  schedopt_outset *set = NULL;
  FILE *f = NULL;
  OK(schedopt_outset_alloc(&set, &err));
  OK(schedopt_outset_open(set, a, &f, &err));
  OK(schedopt_outset_open(set, b, &f, &err));
  CHECK(count_temps() == 2);
  schedopt_outfile_unlink_pending();
  CHECK(count_temps() == 0);
  schedopt_outset_free(set);
  CHECK(access(a, F_OK) != 0 && access(b, F_OK) != 0);
}

/* ---- a command's outputs, committed together (the CLI) ------------------------------ */

/* Files in folder d (not . and ..). */
static int count_files(const char *d) {
  DIR *dd = opendir(d);
  int n = 0;
  if (!dd) return -1;
  for (struct dirent *e; (e = readdir(dd));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(dd);
  return n;
}

/* Empty folder d (files only), left by an earlier run. */
static void clear_dir(const char *d) {
  DIR *dd = opendir(d);
  if (!dd) return;
  char p[4600];
  for (struct dirent *e; (e = readdir(dd));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", d, e->d_name);
      unlink(p);
    }
  closedir(dd);
}

static void test_commands_together(void) {
  char args[8192], cmd[8192];
  /* the table and its figure on one path: refused, nothing written */
  const char *fig = P("fig.svg");
  snprintf(args, sizeof args, "simulate -q '%s' -o '%s' --set output.plot=true", yaml, fig);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "two outputs to one file"), "exit %d: %s", rc, out);
  CHECK(access(fig, F_OK) != 0);

  /* optimize: a write that fails half-way (ulimit -f) leaves the previous
   * run's files as they were and adds none */
  const char *od = P("opt");
  mkdir(od, 0777);
  clear_dir(od);
  char old_json[4200], old_csv[4200];
  snprintf(old_json, sizeof old_json, "%s/summary.json", od);
  snprintf(old_csv, sizeof old_csv, "%s/schedule.csv", od);
  test_write_text(old_json, "old\n");
  test_write_text(old_csv, "old\n");
  snprintf(cmd, sizeof cmd,
           "sh -c \"ulimit -f 4; exec '%s' optimize -q '%s' -o '%s' --set output.plot=true\" 2>&1",
           SCHEDOPT_CLI, yaml, od);
  rc = test_run_cmd(cmd, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "File too large"), "exit %d: %s", rc, out);
  CHECK(holds(old_json, "old\n") && holds(old_csv, "old\n"));
  CHECK_MSG(count_files(od) == 2, "%d files in %s", count_files(od), od);
  /* and without the limit, all of them */
  snprintf(args, sizeof args, "optimize -q '%s' -o '%s' --set output.plot=true", yaml, od);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && count_files(od) == 5 && !holds(old_json, "old\n"), "exit %d: %s", rc,
            out);

  /* design: a write that fails (the file-size limit) fails the whole design
   * before any file is renamed (an existing summary.json stays) */
  const char *spec = test_write_tmp(
      "d.yaml",
      "model: {type: mpl, params: {L0: 2.6514477, A: 0.60115152, alpha: 0.45295811, "
      "B: 437.9464276, C: 2.13245612, beta: 0.59785199, gamma: 0.65523644}}\n"
      "budget: {steps: 2000}\n"
      "lr: {peak: 3.0e-4, floor: 1.0e-10, warmup: 200}\n");
  const char *dd = P("design");
  mkdir(dd, 0777);
  clear_dir(dd);
  snprintf(old_json, sizeof old_json, "%s/summary.json", dd);
  test_write_text(old_json, "old\n");
  snprintf(cmd, sizeof cmd,
           "sh -c \"ulimit -f 4; exec '%s' design -q '%s' -o '%s' --set output.format=megatron\" "
           "2>&1", SCHEDOPT_CLI, spec, dd);
  rc = test_run_cmd(cmd, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "File too large"), "exit %d: %s", rc, out);
  CHECK(holds(old_json, "old\n") && count_files(dd) == 1);
  /* a folder the failed design made is removed again */
  const char *dd2 = P("design2");
  snprintf(cmd, sizeof cmd,
           "sh -c \"ulimit -f 4; exec '%s' design -q '%s' -o '%s' --set output.format=megatron\" "
           "2>&1", SCHEDOPT_CLI, spec, dd2);
  rc = test_run_cmd(cmd, out, sizeof out);
  CHECK_MSG(rc == 2 && access(dd2, F_OK) != 0, "exit %d: %s", rc, out);
  /* and without the limit, the Megatron flags are those of Megatron's best
   * schedule (the free-form design has no Megatron equivalent) */
  snprintf(args, sizeof args, "design -q '%s' -o '%s' --set output.format=megatron", spec, dd);
  rc = test_run_cli(args, out, sizeof out);
  char sh[4200];
  snprintf(sh, sizeof sh, "%s/schedule.sh", dd);
  CHECK_MSG(rc == 0 && !holds(old_json, "old\n") && access(sh, F_OK) == 0, "exit %d: %s", rc,
            out);
}

/* ---- signals, attributes, descriptors, refusals, names ------------------------------ */

/* The exports and figure of pe.yaml when the stem is the problem's name
 * ("o") in the scratch folder. */
static const char *const o_extras[] = {"o_schedule.csv", "o_schedule.json", "o.svg"};

static void remove_o_extras(void) {
  for (size_t i = 0; i < 3; i++) unlink(P(o_extras[i]));
}

static int o_extras_present(void) {
  int n = 0;
  for (size_t i = 0; i < 3; i++) n += access(P(o_extras[i]), F_OK) == 0;
  return n;
}

/* Run `sh -c cmd` with its standard output on a pipe whose reader is gone
 * (closed before the fork: no race) and SIGPIPE at its default; the wait
 * status, or -1. */
static int run_on_broken_pipe(const char *cmd) {
  int p[2];
  if (pipe(p) != 0) return -1;
  close(p[0]);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    dup2(p[1], STDOUT_FILENO);
    close(p[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

/* `-o - | true`: the write fails with EPIPE (SIGPIPE ignored), the commit
 * says so, exit 2, no temporary of the exports left. */
static void test_broken_pipe(void) {
  const char *errf = P("pipe_err.txt");
  char cmd[12000];
  remove_o_extras();
  snprintf(cmd, sizeof cmd,
           "cd '%s' && exec '%s' simulate '%s' -o - -q --set output.points=20 2>'%s'", dir,
           SCHEDOPT_CLI, pe_yaml, errf);
  int status = run_on_broken_pipe(cmd);
  CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 2,
            "status %#x (signal %d)", (unsigned)status,
            status != -1 && WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  const char *msg = test_slurp_static(errf);
  CHECK_MSG(msg && strstr(msg, "cannot write to standard output: Broken pipe"), "%s",
            msg ? msg : "(no stderr)");
  CHECK(count_temps() == 0);
  CHECK(o_extras_present() == 0);
  unlink(errf);
  remove_o_extras();
}

/* Whether folder d holds a name starting with prefix; its path in found. */
static int find_prefixed(const char *d, const char *prefix, char *found, size_t cap) {
  DIR *dd = opendir(d);
  int hit = 0;
  if (!dd) return 0;
  for (struct dirent *e; !hit && (e = readdir(dd));)
    if (!strncmp(e->d_name, prefix, strlen(prefix))) {
      hit = 1;
      if (found) snprintf(found, cap, "%s/%s", d, e->d_name);
    }
  closedir(dd);
  return hit;
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* `simulate -q csv.yaml -o DIR/NAME.csv` in the background (after the shell
 * commands `pre`), with its export DIR/NAME_schedule.csv a FIFO that nobody
 * reads: the run blocks writing it (the export is over 64 kB, more than a
 * pipe holds) with its main output's temporary file open.  Returns once
 * that temporary exists (its path in tmp): the pid, or -1; the FIFO's read
 * end in *rd. */
static pid_t start_blocked(const char *name, const char *pre, int *rd, char *tmp, size_t cap) {
  char fifo[4200], prefix[300], cmd[12000];
  snprintf(fifo, sizeof fifo, "%s/%s_schedule.csv", dir, name);
  snprintf(prefix, sizeof prefix, "%s.csv.tmp", name);
  unlink(fifo);
  *rd = -1;
  if (mkfifo(fifo, 0600) != 0 || (*rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
    return -1;
  snprintf(cmd, sizeof cmd, "%s exec '%s' simulate -q '%s' -o '%s/%s.csv' >/dev/null 2>&1", pre,
           SCHEDOPT_CLI, csv_yaml, dir, name);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* SIGQUIT, SIGXCPU dump core by default */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < 32; sig++)
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  if (pid < 0) return -1;
  for (int i = 0; i < 3000 && !find_prefixed(dir, prefix, tmp, cap); i++) pause_ms(10);
  return pid;
}

/* Read the FIFO until its writer closes it; the wait status of pid. */
static int drain_and_wait(int rd, pid_t pid) {
  char buf[8192];
  int seen = 0, fl = fcntl(rd, F_GETFL);
  fcntl(rd, F_SETFL, fl & ~O_NONBLOCK);
  for (int idle = 0; idle < 3000;) {
    ssize_t n = read(rd, buf, sizeof buf);
    if (n > 0) seen = 1;
    else if (n == 0 && seen) break;
    else { /* no writer yet */
      pause_ms(10);
      idle++;
    }
  }
  close(rd);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

/* Each signal that ends a process, sent while an output is being written:
 * the CLI removes its temporary file and dies of that signal. */
static void test_fatal_signals(void) {
  const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,    SIGQUIT, SIGUSR1, SIGUSR2,
                      SIGALRM, SIGXCPU, SIGVTALRM, SIGPROF, SIGSYS,  SIGTRAP,
#ifdef SIGPWR
                      SIGPWR,
#endif
                      SIGRTMIN, SIGRTMAX};
  const char *fifo = P("sig_schedule.csv"), *main_out = P("sig.csv");
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    int rd;
    char tmp[4400] = "";
    unlink(main_out);
    pid_t pid = start_blocked("sig", "", &rd, tmp, sizeof tmp);
    CHECK_MSG(pid > 0 && *tmp, "signal %d: the run did not start", sigs[i]);
    if (pid <= 0) {
      if (rd >= 0) close(rd);
      continue;
    }
    kill(pid, sigs[i]);
    int status = 0;
    waitpid(pid, &status, 0);
    close(rd);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "signal %d: status %#x",
              sigs[i], (unsigned)status);
    CHECK_MSG(count_temps() == 0, "signal %d left %s", sigs[i], tmp);
    CHECK(access(main_out, F_OK) != 0);
    unlink(tmp);
  }
  unlink(fifo);
  unlink(main_out);
}

/* A signal after the kernel made the temporary, before open() returned it:
 * its name was in the handler's list before the file existed, so the
 * handler still removes it.  open() is held for 400 ms right after the file
 * appears (tests/open_delay.c, preloaded); when its name was listed only
 * after open() returned, the temporary stayed every time. */
static void test_signal_at_creation(void) {
#ifdef SCHEDOPT_OPEN_DELAY
  const char *main_out = P("born.csv");
  char pre[6000], tmp[4400] = "";
  snprintf(pre, sizeof pre,
           "export LD_PRELOAD='%s'; "
           "export ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\";",
           SCHEDOPT_OPEN_DELAY);
  unlink(main_out);
  int rd;
  pid_t pid = start_blocked("born", pre, &rd, tmp, sizeof tmp);
  CHECK_MSG(pid > 0 && *tmp, "the run did not start");
  if (pid <= 0) {
    if (rd >= 0) close(rd);
    return;
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(rd);
  CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", (unsigned)status);
  CHECK_MSG(count_temps() == 0, "SIGTERM at creation left %s", tmp);
  CHECK(access(main_out, F_OK) != 0);
  unlink(tmp);
  unlink(P("born_schedule.csv"));
  unlink(main_out);
#endif
}

/* A temporary file is 0600 while it is written, whatever the final mode;
 * the final mode is given after the data: 0666 & ~umask for a new file
 * (the umask set by the shell), the old mode for an existing one. */
static void test_temp_mode(void) {
  const char *fresh = P("fresh3.csv"), *kept = P("kept3.csv");
  unlink(fresh);
  test_write_text(kept, "old\n");
  CHECK(chmod(kept, 0640) == 0);
  const char *names[] = {"fresh3", "kept3"};
  const mode_t final[] = {0664, 0640};
  for (int k = 0; k < 2; k++) {
    int rd;
    char tmp[4400] = "";
    pid_t pid = start_blocked(names[k], "umask 002;", &rd, tmp, sizeof tmp);
    CHECK_MSG(pid > 0 && *tmp, "%s: the run did not start", names[k]);
    if (pid <= 0) {
      if (rd >= 0) close(rd);
      continue;
    }
    struct stat sb;
    CHECK_MSG(stat(tmp, &sb) == 0 && (sb.st_mode & 07777) == 0600, "%s: %o while written",
              tmp, (unsigned)(sb.st_mode & 07777));
    int status = drain_and_wait(rd, pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", (unsigned)status);
    const char *f = k ? kept : fresh;
    CHECK_MSG(stat(f, &sb) == 0 && (sb.st_mode & 07777) == final[k], "%s: %o", f,
              (unsigned)(sb.st_mode & 07777));
    CHECK(same_as_want(f));
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/%s_schedule.csv", dir, names[k]);
    unlink(fifo);
  }
  CHECK(count_temps() == 0);
  unlink(fresh);
  unlink(kept);
}

/* A folder with a default ACL (user and group rw, others nothing): a new
 * file gets the ACL's mode, as `touch` would, not 0666 & ~umask. */
static void test_default_acl(void) {
#ifdef __linux__
  const char *d = P("acl"), *f = P("acl/n.csv");
  unsigned char blob[4 + 3 * 8];
  const unsigned short tags[3] = {0x01, 0x04, 0x20}, perms[3] = {6, 6, 0}; /* user, group, other */
  memset(blob, 0, sizeof blob);
  blob[0] = 2; /* version, little-endian */
  for (int i = 0; i < 3; i++) {
    unsigned char *e = blob + 4 + 8 * i;
    e[0] = (unsigned char)tags[i];
    e[2] = (unsigned char)perms[i];
    memset(e + 4, 0xff, 4); /* no id */
  }
  mkdir(d, 0777);
  unlink(f);
  if (setxattr(d, "system.posix_acl_default", blob, sizeof blob, 0) != 0) {
    fprintf(stderr, "test_outputs: default ACL: %s: skipped\n", strerror(errno));
    rmdir(d);
    return;
  }
  CHECK_MSG(simulate_to(f) == 0, "%s", out);
  struct stat sb;
  CHECK_MSG(stat(f, &sb) == 0 && (sb.st_mode & 07777) == 0660, "%o",
            (unsigned)(sb.st_mode & 07777));
  CHECK(count_temps_in(d) == 0);
  unlink(f);
  rmdir(d);
#endif
}

/* ---- an unprivileged user ------------------------------------------------------------ */

static const char *setpriv_bin; /* NULL: no unprivileged runs */
static char nbdir[4200];        /* a folder everyone may write, for them */

/* Root with setpriv: set up nbdir and return 1; else say what is skipped. */
static int nb_ready(const char *what) {
  static int state; /* 0 unknown, 1 ready, -1 not */
  if (!state) {
    state = -1;
    if (geteuid() == 0)
      for (const char *const *b = (const char *const[]){"/usr/bin/setpriv", "/bin/setpriv", NULL};
           *b && !setpriv_bin; b++)
        if (access(*b, X_OK) == 0) setpriv_bin = *b;
    snprintf(nbdir, sizeof nbdir, "%s/nb", dir);
    if (setpriv_bin && (mkdir(nbdir, 0777) == 0 || errno == EEXIST) && chmod(nbdir, 0777) == 0 &&
        chmod(yaml, 0644) == 0 && chmod(pe_yaml, 0644) == 0) {
      char cmd[12000];
      snprintf(cmd, sizeof cmd,
               "'%s' --reuid=65534 --regid=65534 --clear-groups sh -c \"test -r '%s' && test -w "
               "'%s' && test -x '%s'\" 2>&1",
               setpriv_bin, yaml, nbdir, SCHEDOPT_CLI);
      if (test_run_cmd(cmd, out, sizeof out) == 0) state = 1;
    }
  }
  if (state < 0)
    fprintf(stderr, "test_outputs: %s: needs root and setpriv (an unprivileged user): skipped\n",
            what);
  return state > 0;
}

/* The CLI as user and group 65534 (no other groups) in nbdir; stdout and
 * stderr in out, the exit code. */
static int nb_cli(const char *args) {
  char cmd[16384];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && '%s' --reuid=65534 --regid=65534 --clear-groups '%s' %s 2>&1", nbdir,
           setpriv_bin, SCHEDOPT_CLI, args);
  return test_run_cmd(cmd, out, sizeof out);
}

static ino_t inode_of(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* A sticky folder, files of the user's earlier run, one of them root's
 * now (mode 666: writable): its rename would fail (EPERM) after the others
 * were renamed.  Refused at open: every file stays as it was. */
static void test_sticky_folder(void) {
  if (!nb_ready("sticky folder")) return;
  char st[4300], args[12000], f[4][4400];
  snprintf(st, sizeof st, "%s/sticky", nbdir);
  mkdir(st, 0777);
  clear_dir(st);
  CHECK(chmod(st, 01777) == 0);
  const char *names[] = {"x.csv", "x_schedule.csv", "x_schedule.json", "x.svg"};
  for (int i = 0; i < 4; i++) snprintf(f[i], sizeof f[i], "%s/%s", st, names[i]);
  snprintf(args, sizeof args, "simulate '%s' -q -o sticky/x.csv", pe_yaml);
  int rc = nb_cli(args);
  CHECK_MSG(rc == 0 && count_files(st) == 4, "exit %d: %s", rc, out);
  CHECK(chown(f[3], 0, 0) == 0 && chmod(f[3], 0666) == 0);
  ino_t ino[4];
  for (int i = 0; i < 4; i++) ino[i] = inode_of(f[i]);
  rc = nb_cli(args);
  CHECK_MSG(rc == 2 && strstr(out, "cannot replace 'sticky/x.svg': the folder is sticky and the "
                                   "file belongs to another user"),
            "exit %d: %s", rc, out);
  for (int i = 0; i < 4; i++) CHECK_MSG(inode_of(f[i]) == ino[i], "%s was replaced", f[i]);
  CHECK(count_temps_in(st) == 0);
  clear_dir(st);
  rmdir(st);
}

/* A writable file in a folder the user may not write: the message says
 * that the folder is the reason. */
static void test_readonly_folder(void) {
  if (!nb_ready("read-only folder")) return;
  char ro[4300], x[4400], args[12000];
  snprintf(ro, sizeof ro, "%s/ro2", nbdir);
  snprintf(x, sizeof x, "%s/x.csv", ro);
  mkdir(ro, 0777);
  chmod(ro, 0755);
  test_write_text(x, "old\n");
  CHECK(chown(x, 65534, 65534) == 0 && chmod(x, 0644) == 0 && chmod(ro, 0555) == 0);
  snprintf(args, sizeof args, "simulate '%s' -q -o ro2/x.csv", yaml);
  int rc = nb_cli(args);
  CHECK_MSG(rc == 2 && strstr(out, "cannot create a temporary file in 'ro2' (the folder is not "
                                   "writable): Permission denied"),
            "exit %d: %s", rc, out);
  CHECK(holds(x, "old\n"));
  chmod(ro, 0755);
  unlink(x);
  rmdir(ro);
}

/* A setgid folder gives new files its group: a rewritten file keeps its
 * own.  Root keeps any group; a user keeps a group of theirs, and where a
 * group cannot be kept it gets no more than others. */
static void test_setgid_folder(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "test_outputs: setgid folder: needs root (chown): skipped\n");
    return;
  }
  const char *sg = P("sg"), *x = P("sg/x.csv");
  mkdir(sg, 0777);
  test_write_text(x, "s\n");
  CHECK(chown(sg, (uid_t)-1, 65534) == 0 && chmod(sg, 02775) == 0);
  CHECK(chown(x, (uid_t)-1, 0) == 0 && chmod(x, 0640) == 0);
  CHECK_MSG(simulate_to(x) == 0, "%s", out);
  struct stat sb;
  CHECK_MSG(stat(x, &sb) == 0 && sb.st_gid == 0 && (sb.st_mode & 07777) == 0640,
            "group %ld, mode %o", (long)sb.st_gid, (unsigned)(sb.st_mode & 07777));
  CHECK(same_as_want(x));
  unlink(x);
  rmdir(sg);

  if (!nb_ready("setgid folder, unprivileged")) return;
  char sgn[4300], a[4400], b[4400], args[12000];
  snprintf(sgn, sizeof sgn, "%s/sgn", nbdir);
  snprintf(a, sizeof a, "%s/a.csv", sgn);
  snprintf(b, sizeof b, "%s/b.csv", sgn);
  mkdir(sgn, 0777);
  CHECK(chown(sgn, 0, 0) == 0 && chmod(sgn, 02777) == 0);
  test_write_text(a, "a\n");
  test_write_text(b, "b\n");
  /* a: the user's own group (kept); b: group 1, which the user is not in */
  CHECK(chown(a, 65534, 65534) == 0 && chmod(a, 0660) == 0);
  CHECK(chown(b, 65534, 1) == 0 && chmod(b, 0664) == 0);
  for (int k = 0; k < 2; k++) {
    snprintf(args, sizeof args, "simulate '%s' -q -o sgn/%s", yaml, k ? "b.csv" : "a.csv");
    int rc = nb_cli(args);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  }
  CHECK_MSG(stat(a, &sb) == 0 && sb.st_gid == 65534 && (sb.st_mode & 07777) == 0660,
            "a.csv: group %ld, mode %o", (long)sb.st_gid, (unsigned)(sb.st_mode & 07777));
  CHECK_MSG(stat(b, &sb) == 0 && sb.st_gid == 0 && (sb.st_mode & 07777) == 0644,
            "b.csv: group %ld, mode %o", (long)sb.st_gid, (unsigned)(sb.st_mode & 07777));
  CHECK(same_as_want(a) && same_as_want(b));
  CHECK(count_temps_in(sgn) == 0);
  unlink(a);
  unlink(b);
  rmdir(sgn);
}

/* ---- descriptors and stream outputs -------------------------------------------------- */

/* The file holds "prev\n" and then the table. */
static int appended(const char *path) {
  size_t n = 0;
  char *got = test_slurp(path, &n);
  int ok = got && n == 5 + nwant && !memcmp(got, "prev\n", 5) && !memcmp(got + 5, want, nwant);
  free(got);
  return ok;
}

static void test_descriptor_aliases(void) {
  static const struct {
    const char *target, *redirect;
  } cases[] = {
      {"/dev/stderr", "2>>alias.log"},       {"/dev/fd/3", "3>>alias.log"},
      {"/dev/./stdout", ">>alias.log"},      {"//dev/stdout", ">>alias.log"},
      {"/proc/self/fd/3", "3>>alias.log"},   {"/proc/$$/fd/4", "4>>alias.log"},
      {"stderr_link", "2>>alias.log"},       {"/dev/fd/../fd/3", "3>>alias.log"},
  };
  const char *log = P("alias.log"), *link = P("stderr_link");
  unlink(link);
  CHECK(symlink("/dev/stderr", link) == 0);
  char cmd[12000];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_write_text(log, "prev\n");
    ino_t ino = inode_of(log);
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' simulate -q '%s' -o '%s' %s", dir,
             SCHEDOPT_CLI, yaml, cases[i].target, cases[i].redirect);
    /* '$$' in single quotes: the shell's own pid, which exec gives the CLI */
    if (strstr(cases[i].target, "$$"))
      snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' simulate -q '%s' -o /proc/$$/fd/4 %s", dir,
               SCHEDOPT_CLI, yaml, cases[i].redirect);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "%s: exit %d", cases[i].target, rc);
    CHECK_MSG(appended(log), "%s %s: the file was not appended to", cases[i].target,
              cases[i].redirect);
    CHECK_MSG(inode_of(log) == ino, "%s: the file was replaced", cases[i].target);
  }
  CHECK(count_temps() == 0);
  /* a descriptor open only for reading, one not open, a name under /proc */
  test_write_text(log, "prev\n");
  snprintf(cmd, sizeof cmd, "'%s' simulate -q '%s' -o /dev/stdin <'%s' 2>&1", SCHEDOPT_CLI, yaml,
           log);
  CHECK(test_run_cmd(cmd, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "descriptor 0 is open only for reading"), "%s", out);
  CHECK(holds(log, "prev\n"));
  snprintf(cmd, sizeof cmd, "'%s' simulate -q '%s' -o /dev/fd/7 7<&- 2>&1", SCHEDOPT_CLI, yaml);
  CHECK(test_run_cmd(cmd, out, sizeof out) == 2);
  CHECK_MSG(strstr(out, "descriptor 7 is not open"), "%s", out);
  CHECK(simulate_to("/proc/self/status") == 2);
  CHECK_MSG(strstr(out, "not an output file"), "%s", out);
  unlink(log);
  unlink(link);
}

/* A closed stdout (`>&-`): `-o -` is refused before anything is written;
 * no export takes descriptor 1 and gets the table. */
static void test_closed_stdout(void) {
  char cmd[12000];
  remove_o_extras();
  snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' simulate -q '%s' -o - 2>&1 >&-", dir,
           SCHEDOPT_CLI, pe_yaml);
  int rc = test_run_cmd(cmd, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "standard output is closed"), "exit %d: %s", rc, out);
  CHECK(o_extras_present() == 0);
  CHECK(count_temps() == 0);
  remove_o_extras();
}

/* Exports and figure of a run whose table goes to a device, a FIFO or
 * stdout: named after the problem in the current folder. */
static void test_stream_stem(void) {
  static const char *const targets[] = {"/dev/null", "/dev/stdout", "/dev/fd/1"};
  static const char *const strays[] = {
      "/dev/null_schedule.csv",   "/dev/null_schedule.json",   "/dev/null.svg",
      "/dev/stdout_schedule.csv", "/dev/stdout_schedule.json", "/dev/stdout.svg"};
  char cmd[12000];
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    remove_o_extras();
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' simulate -q '%s' -o %s 2>&1 >/dev/null", dir,
             SCHEDOPT_CLI, pe_yaml, targets[i]);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0 && o_extras_present() == 3, "-o %s: exit %d, %d extras: %s", targets[i], rc,
              o_extras_present(), out);
  }
  for (size_t i = 0; i < sizeof strays / sizeof strays[0]; i++) {
    struct stat sb;
    CHECK_MSG(lstat(strays[i], &sb) != 0, "%s was made", strays[i]);
    if (lstat(strays[i], &sb) == 0 && S_ISREG(sb.st_mode)) unlink(strays[i]);
  }
  remove_o_extras();
  CHECK(count_temps() == 0);
}

/* ---- second attack: identities, order, flags, signals, links, xattrs, check ---------- */

/* A. stdout (or a descriptor) on the file an export replaces: refused, not
 * renamed over the table. */
static void test_stream_aliases_member(void) {
  char cmd[12000];
  const char *cases[] = {"-o - -q > o_schedule.csv", "-o /dev/fd/3 -q 3> o.svg"};
  for (int k = 0; k < 2; k++) {
    remove_o_extras();
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' simulate '%s' 2>&1 %s", dir, SCHEDOPT_CLI,
             pe_yaml, cases[k]);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 2 && strstr(out, "two outputs to one file") && strstr(out, "is that file"),
              "%s: exit %d: %s", cases[k], rc, out);
    CHECK_MSG(access(P("o_schedule.json"), F_OK) != 0, "%s: an export was renamed", cases[k]);
    CHECK(count_temps() == 0);
  }
  remove_o_extras();
}

/* B. Two members on one descriptor: the first's bytes all come before the
 * second's (not interleaved at buffer boundaries). */
static void test_set_same_descriptor_order(void) {
  const char *f = P("order.txt");
  int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd < 0) return;
  char name[64], big[20000];
  snprintf(name, sizeof name, "/dev/fd/%d", fd);
  schedopt_error err = {0};
  schedopt_outset *set = NULL;
  FILE *a = NULL, *b = NULL;
  OK(schedopt_outset_alloc(&set, &err));
  OK(schedopt_outset_open(set, name, &a, &err));
  memset(big, 'A', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  put(a, big);
  OK(schedopt_outset_open(set, name, &b, &err));
  memset(big, 'B', sizeof big - 1);
  put(b, big);
  OK(schedopt_outset_commit(set, &err));
  schedopt_outset_free(set);
  close(fd);
  size_t n = 0;
  char *got = test_slurp(f, &n);
  int ordered = got && n == 2 * (sizeof big - 1);
  for (size_t i = 0; ordered && i < n; i++) ordered = got[i] == (i < n / 2 ? 'A' : 'B');
  CHECK_MSG(ordered, "the two members' bytes are interleaved");
  free(got);
  unlink(f);
}

/* C. An append-only (or immutable) file: refused at open, by name. */
static void test_append_only(void) {
  const char *x = P("ao.svg");
  char cmd[4400];
  test_write_text(x, "old\n");
  snprintf(cmd, sizeof cmd, "chattr +a '%s' 2>&1", x);
  if (test_run_cmd(cmd, out, sizeof out) != 0) {
    fprintf(stderr, "test_outputs: chattr +a: %s: append-only test skipped\n", out);
    unlink(x);
    return;
  }
  int rc = simulate_to(x);
  CHECK_MSG(rc == 2 && strstr(out, "ao.svg': it is append-only (chattr +a)"), "exit %d: %s", rc,
            out);
  schedopt_error err = {0};
  CHECK(schedopt_outfile_check(x, &err) != SCHEDOPT_OK);
  CHECK(test_err_has(&err, "append-only", NULL));
  CHECK(holds(x, "old\n"));
  CHECK(count_temps() == 0);
  snprintf(cmd, sizeof cmd, "chattr -a '%s' 2>&1", x);
  CHECK(test_run_cmd(cmd, out, sizeof out) == 0);
  unlink(x);
}

/* E. A link of another user in a sticky world-writable folder (root's) is
 * not followed, as the kernel's fs.protected_symlinks would not; root's own
 * link there is. */
static void test_protected_symlinks(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "test_outputs: protected symlinks: needs root (lchown): skipped\n");
    return;
  }
  const char *st = P("stk"), *link = P("stk/link.csv"), *mine = P("stk/mine.csv"),
             *real = P("stk/real.csv");
  mkdir(st, 0777);
  clear_dir(st);
  CHECK(chown(st, 0, 0) == 0 && chmod(st, 01777) == 0);
  CHECK(symlink("real.csv", link) == 0 && lchown(link, 65534, 65534) == 0);
  int rc = simulate_to(link);
  CHECK_MSG(rc == 2 && strstr(out, "stk/link.csv' is a symbolic link in a sticky world-writable "
                                   "folder owned by another user: not followed"),
            "exit %d: %s", rc, out);
  CHECK(access(real, F_OK) != 0);
  schedopt_error err = {0};
  CHECK(schedopt_outfile_check(link, &err) != SCHEDOPT_OK);
  CHECK(test_err_has(&err, "not followed", NULL));
  CHECK(symlink("real.csv", mine) == 0);
  CHECK_MSG(simulate_to(mine) == 0, "%s", out);
  CHECK(same_as_want(real));
  CHECK(count_temps_in(st) == 0);
  clear_dir(st);
  rmdir(st);
}

#ifdef __linux__
/* An access ACL: user rw, user 65534 rw, group r, mask rw, other none. */
static size_t acl_blob(unsigned char *blob) {
  static const unsigned short tags[5] = {0x01, 0x02, 0x04, 0x10, 0x20}, perms[5] = {6, 6, 4, 6, 0};
  memset(blob, 0, 4 + 5 * 8);
  blob[0] = 2;
  for (int i = 0; i < 5; i++) {
    unsigned char *e = blob + 4 + 8 * i;
    e[0] = (unsigned char)tags[i];
    e[2] = (unsigned char)perms[i];
    if (tags[i] == 0x02) {
      unsigned id = 65534;
      e[4] = (unsigned char)id;
      e[5] = (unsigned char)(id >> 8);
    } else {
      memset(e + 4, 0xff, 4);
    }
  }
  return 4 + 5 * 8;
}
#endif

/* F. A rewritten file keeps its extended attributes and its access ACL. */
static void test_xattrs_kept(void) {
#ifdef __linux__
  const char *x = P("xa.csv"), *y = P("acl2.csv");
  char v[64];
  test_write_text(x, "old\n");
  if (setxattr(x, "user.note", "kept", 4, 0) != 0) {
    fprintf(stderr, "test_outputs: user xattr: %s: skipped\n", strerror(errno));
  } else {
    CHECK_MSG(simulate_to(x) == 0, "%s", out);
    ssize_t n = getxattr(x, "user.note", v, sizeof v);
    CHECK_MSG(n == 4 && !memcmp(v, "kept", 4), "user.note lost");
    CHECK(same_as_want(x));
  }
  unlink(x);
  unsigned char blob[64], got[64];
  size_t nb = acl_blob(blob);
  test_write_text(y, "old\n");
  CHECK(chmod(y, 0640) == 0);
  if (setxattr(y, "system.posix_acl_access", blob, nb, 0) != 0) {
    fprintf(stderr, "test_outputs: access ACL: %s: skipped\n", strerror(errno));
  } else {
    CHECK_MSG(simulate_to(y) == 0, "%s", out);
    ssize_t n = getxattr(y, "system.posix_acl_access", got, sizeof got);
    CHECK_MSG(n == (ssize_t)nb && !memcmp(got, blob, nb), "the access ACL was lost (%zd)", n);
    struct stat sb;
    CHECK_MSG(stat(y, &sb) == 0 && (sb.st_mode & 07777) == 0660, "mode %o",
              (unsigned)(sb.st_mode & 07777));
  }
  CHECK(count_temps() == 0);
  unlink(y);
#endif
}

/* G. schedopt_outfile_check: the open's verdict, nothing created. */
static void test_outfile_check(void) {
  schedopt_error err = {0};
  const char *sub = P("chk"), *fresh = P("chk/new.csv");
  mkdir(sub, 0777);
  clear_dir(sub);
  CHECK(schedopt_outfile_check(sub, &err) != SCHEDOPT_OK);
  CHECK(test_err_has(&err, "is a directory", NULL));
  OK(schedopt_outfile_check(fresh, &err));
  OK(schedopt_outfile_check("-", &err));
  OK(schedopt_outfile_check("/dev/null", &err));
  CHECK(count_files(sub) == 0);
  CHECK(schedopt_outfile_check(P("nope/x.csv"), &err) != SCHEDOPT_OK);
  CHECK(test_err_has(&err, "No such file or directory", NULL));
  /* as user 65534: a writable file in a read-only folder, the open's message */
  if (geteuid() == 0) {
    char x[4400];
    snprintf(x, sizeof x, "%s/x.csv", sub);
    test_write_text(x, "old\n");
    CHECK(chown(x, 65534, 65534) == 0 && chmod(x, 0644) == 0 && chmod(sub, 0555) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      schedopt_error e1 = {0}, e2 = {0};
      schedopt_outfile of;
      if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
          setresuid(65534, 65534, 65534) != 0)
        _exit(3);
      int c = schedopt_outfile_check(x, &e1) != SCHEDOPT_OK;
      int o = schedopt_outfile_open(&of, x, &e2) != SCHEDOPT_OK;
      if (!o) schedopt_outfile_abort(&of);
      dprintf(p[1], "%s\n%s", e1.msg, e2.msg);
      _exit(c && o && !strcmp(e1.msg, e2.msg) ? 0 : 1);
    }
    close(p[1]);
    ssize_t n = read(p[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                  strstr(out, "(the folder is not writable)"),
              "status %#x: %s", (unsigned)status, out);
    CHECK(holds(x, "old\n"));
    chmod(sub, 0755);
    unlink(x);
  }
  CHECK(count_temps_in(sub) == 0);
  rmdir(sub);
}

/* ---- names ----------------------------------------------------------------------------- */

/* A last component of 255 bytes (NAME.tmpXXXXXX would be too long) and a
 * path 6 bytes under PATH_MAX (4096): both written, through a short
 * temporary name in the same folder. */
static void test_long_names(void) {
  char name[300], path[4400];
  memset(name, 'n', 251);
  memcpy(name + 251, ".csv", 5);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
  CHECK_MSG(simulate_to(path) == 0, "%s", out);
  CHECK(same_as_want(path));
  CHECK(count_temps() == 0);
  unlink(path);

  /* dir/deep/ddd…/ddd…/…/nnn….csv, 4090 bytes in all, each part < NAME_MAX */
  char deep[4200];
  int levels = 0;
  snprintf(deep, sizeof deep, "%s/deep", dir);
  mkdir(deep, 0777);
  while (strlen(deep) + 101 + 1 + 150 <= 4090) {
    size_t k = strlen(deep);
    deep[k] = '/';
    memset(deep + k + 1, 'd', 100);
    deep[k + 101] = '\0';
    if (mkdir(deep, 0777) != 0 && errno != EEXIST) break;
    levels++;
  }
  size_t k = strlen(deep), nl = 4090 - k - 1;
  CHECK(nl >= 150 && nl + 10 <= 255);
  memcpy(path, deep, k);
  path[k] = '/';
  memset(path + k + 1, 'n', nl - 4);
  memcpy(path + k + 1 + nl - 4, ".csv", 5);
  CHECK(strlen(path) == 4090);
  char *cmd = malloc(12000);
  if (cmd) {
    snprintf(cmd, 12000, "'%s' simulate -q '%s' -o '%s' 2>&1", SCHEDOPT_CLI, yaml, path);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %.300s", rc, out);
    CHECK(same_as_want(path));
    CHECK(count_temps_in(deep) == 0);
    free(cmd);
  }
  unlink(path);
  for (; levels >= 0; levels--) {
    rmdir(deep);
    char *slash = strrchr(deep, '/');
    if (slash) *slash = '\0';
  }
}

/* A path of 1500 bytes: the message shows its end after "…" and the reason
 * still fits (the message holds 1024 bytes). */
static void test_long_messages(void) {
  char path[1600], part[101];
  memset(part, 'm', 100);
  part[100] = '\0';
  int k = snprintf(path, sizeof path, "%s/missing", dir);
  while (k < 1480) k += snprintf(path + k, sizeof path - (size_t)k, "/%s", part);
  snprintf(path + k, sizeof path - (size_t)k, "/x.csv");
  schedopt_error err = {0};
  schedopt_outfile of;
  CHECK(schedopt_outfile_open(&of, path, &err) == SCHEDOPT_EIO);
  CHECK(test_err_has(&err, "No such file or directory", "'\xe2\x80\xa6"));
  CHECK(test_err_has(&err, "/x.csv': ", NULL));
  CHECK(strlen(err.msg) < SCHEDOPT_ERRMSG_LEN - 1);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s", SCHEDOPT_TMP_DIR);
  remove_stale_temps();
  snprintf(yaml_buf, sizeof yaml_buf, "%s", test_write_tmp("p.yaml", problem));
  yaml = yaml_buf;
  char text[2048];
  snprintf(text, sizeof text, "%soutput: {export: [csv, json], plot: true}\n", problem);
  snprintf(pe_yaml, sizeof pe_yaml, "%s", test_write_tmp("pe.yaml", text));
  snprintf(text, sizeof text, "%soutput: {export: [csv]}\n", problem);
  snprintf(csv_yaml, sizeof csv_yaml, "%s", test_write_tmp("csv.yaml", text));
  char ref[4200];
  snprintf(ref, sizeof ref, "%s", P("reference.csv"));
  int rc = simulate_to(ref);
  CHECK_MSG(rc == 0, "%s", out);
  if (rc != 0 || !(want = test_slurp(ref, &nwant))) return test_finish();
  CHECK(nwant > 10240); /* the ulimit test needs a table over 10 kB */
  unlink(ref);

  test_char_device();
  test_fifo();
  test_symlink();
  test_permissions();
  test_write_errors();
  test_set_together();
  test_set_failure();
  test_set_same_file();
  test_set_signal_cleanup();
  test_commands_together();
  test_broken_pipe();
  test_fatal_signals();
  test_signal_at_creation();
  test_temp_mode();
  test_default_acl();
  test_sticky_folder();
  test_readonly_folder();
  test_setgid_folder();
  test_descriptor_aliases();
  test_closed_stdout();
  test_stream_stem();
  test_long_names();
  test_long_messages();
  test_stream_aliases_member();
  test_set_same_descriptor_order();
  test_append_only();
  test_protected_symlinks();
  test_xattrs_kept();
  test_outfile_check();
  if (nbdir[0]) rmdir(nbdir);
  free(want);
  return test_finish();
}
