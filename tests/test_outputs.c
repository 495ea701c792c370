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
 *                  file twice is refused; signal clean-up sees members */
#define _XOPEN_SOURCE 700 /* mknod */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/outfile.h"
#include "testutil.h"

static char out[1 << 16];
static char dir[2048];
static const char *yaml; /* the problem file */
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

/* Files in the scratch folder whose name contains ".tmp". */
static int count_temps(void) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));)
    if (strstr(e->d_name, ".tmp")) n++;
  closedir(d);
  return n;
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

  /* design: an export the trainer cannot express fails the whole design
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
  snprintf(args, sizeof args, "design -q '%s' -o '%s' --set output.format=megatron", spec, dd);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "Megatron-LM has no learning-rate schedule"), "exit %d: %s",
            rc, out);
  CHECK(holds(old_json, "old\n") && count_files(dd) == 1);
  /* a folder the failed design made is removed again */
  const char *dd2 = P("design2");
  snprintf(args, sizeof args, "design -q '%s' -o '%s' --set output.format=megatron", spec, dd2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && access(dd2, F_OK) != 0, "exit %d: %s", rc, out);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s", SCHEDOPT_TMP_DIR);
  yaml = test_write_tmp("p.yaml", problem);
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
  free(want);
  return test_finish();
}
