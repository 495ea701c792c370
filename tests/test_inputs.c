/* Input files that are not what they seem, end to end through the CLI:
 *
 *   - a FIFO, a directory or a device where a file is read (the problem
 *     file, a fit spec, controls.lr.file, a fit curve) is refused at once,
 *     saying what it is, instead of blocking forever or reading garbage;
 *   - numbers with a leading zero (010: octal in YAML 1.1, 10 in 1.2);
 *   - CSV rows wider than the header, duplicate columns, negative tokens
 *     and zero batches in loss logs;
 *   - fits with fewer data points than free parameters.
 *
 * Every CLI run has a time limit (timeout(1) when there is one, and an
 * alarm for the whole program), so a regression fails instead of hanging. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/csvcell.h"
#include "core/infile.h"
#include "testutil.h"

static char out[1 << 16];
static char dir[2048];
static int have_timeout;

/* The CLI with args (stdout and stderr in out); exit code, −1 if killed. */
static int cli(const char *args, double *seconds) {
  char cmd[16384];
  snprintf(cmd, sizeof cmd, "%s'%s' %s 2>&1", have_timeout ? "timeout 30 " : "", SCHEDOPT_CLI,
           args);
  double t0 = test_seconds();
  int rc = test_run_cmd(cmd, out, sizeof out);
  if (seconds) *seconds = test_seconds() - t0;
  return rc;
}

static const char *in_dir(const char *name) { return test_path_in(dir, name); }

static const char *write_in(const char *name, const char *text) {
  const char *p = in_dir(name);
  test_write_text(p, text);
  return p;
}

/* A run that must stop with exit code 2 and a message containing `want`
 * (and `want2` unless NULL), within a few seconds. */
static void expect_fail(const char *what, const char *args, const char *want, const char *want2) {
  double s;
  int rc = cli(args, &s);
  CHECK_MSG(rc == 2, "%s: exit %d, want 2 (%s): %s", what, rc, rc == 124 ? "timed out" : "", out);
  CHECK_MSG(s < 30, "%s: took %.1f s", what, s);
  CHECK_MSG(strstr(out, want) != NULL, "%s: '%s' not in: %s", what, want, out);
  if (want2) CHECK_MSG(strstr(out, want2) != NULL, "%s: '%s' not in: %s", what, want2, out);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "test_inputs: timed out (an input read blocks?)\n";
  ssize_t k = write(2, msg, sizeof msg - 1);
  (void)k;
  _exit(1);
}

#define MODEL "model: {a: 2.5, b: 1.5, N: 20}\nbudget: {steps: 100}\n"

/* ------------------------------------------------------------ not files */

static void special_files(void) {
  char args[8192], fifo[2048]; /* a copy: in_dir's buffers are reused */
  snprintf(fifo, sizeof fifo, "%s", in_dir("fifo"));
  unlink(fifo);
  CHECK(mkfifo(fifo, 0666) == 0);

  /* the problem file itself */
  snprintf(args, sizeof args, "simulate '%s' -o -", fifo);
  expect_fail("fifo problem", args, "is a FIFO, not a regular file", "fifo: error: ");
  /* a table named by controls.lr.file: located at the key */
  char yaml[8192];
  snprintf(yaml, sizeof yaml, MODEL "controls: {lr: {type: table, file: '%s'}}\n", fifo);
  const char *p = write_in("fifo_table.yaml", yaml);
  snprintf(args, sizeof args, "simulate '%s' -o -", p);
  expect_fail("fifo table", args, "fifo_table.yaml:3:", "controls.lr.file: '");
  CHECK_MSG(strstr(out, "is a FIFO") != NULL, "fifo table: %s", out);
  /* --set names it */
  const char *csv = write_in("ok.csv", "step,lr\n0,0.1\n50,0.05\n");
  snprintf(yaml, sizeof yaml, MODEL "controls: {lr: {type: table, file: '%s'}}\n", csv);
  p = write_in("table.yaml", yaml);
  snprintf(args, sizeof args, "simulate '%s' -o - --set controls.lr.file='%s'", p, fifo);
  int rc = cli(args, NULL);
  CHECK_MSG(rc == 2 && strstr(out, "FIFO"), "--set file fifo: exit %d: %s", rc, out);
  /* a fit curve, and the fit spec itself */
  snprintf(yaml, sizeof yaml, "model: mpl\ncurves:\n  - file: '%s'\n", fifo);
  p = write_in("fifo_fit.yaml", yaml);
  snprintf(args, sizeof args, "fit '%s' -q", p);
  expect_fail("fifo curve", args, "fifo_fit.yaml:3:11: error: curves.0.file: ", "is a FIFO");
  snprintf(args, sizeof args, "fit '%s' -q", fifo);
  expect_fail("fifo spec", args, "is a FIFO, not a regular file", NULL);
  /* a fit result given as model: FILE (predict, design), and a shard to merge */
  snprintf(yaml, sizeof yaml, "model: '%s'\nbudget: {steps: 100}\n", fifo);
  p = write_in("fifo_model.yaml", yaml);
  snprintf(args, sizeof args, "design '%s' -q", p);
  expect_fail("fifo model file", args, "is a FIFO", NULL);
  snprintf(args, sizeof args, "merge -o '%s' '%s'", in_dir("merged"), fifo);
  expect_fail("fifo shard", args, "is a FIFO", NULL);
  unlink(fifo);

  /* a directory: not "larger than 16 MiB" */
  const char *d = in_dir("a_folder");
  mkdir(d, 0777);
  snprintf(args, sizeof args, "simulate '%s' -o -", d);
  expect_fail("folder problem", args, "is a directory, not a regular file", NULL);
  CHECK_MSG(!strstr(out, "larger"), "folder problem: %s", out);
  snprintf(yaml, sizeof yaml, MODEL "controls: {lr: {type: table, file: '%s'}}\n", d);
  p = write_in("folder_table.yaml", yaml);
  snprintf(args, sizeof args, "simulate '%s' -o -", p);
  expect_fail("folder table", args, "controls.lr.file: '", "is a directory");
  snprintf(yaml, sizeof yaml, "model: mpl\ncurves:\n  - file: '%s'\n", d);
  p = write_in("folder_fit.yaml", yaml);
  snprintf(args, sizeof args, "fit '%s' -q", p);
  expect_fail("folder curve", args, "curves.0.file: '", "is a directory");

  /* a character device */
  expect_fail("device problem", "simulate /dev/null -o -",
              "'/dev/null' is a character device, not a regular file", NULL);
  /* a missing file still says so */
  snprintf(args, sizeof args, "simulate '%s' -o -", in_dir("no_such.yaml"));
  expect_fail("missing problem", args, "no_such.yaml: error: cannot open: ", NULL);

  /* the library routine: a FIFO with a writer waiting is refused too, and
   * a regular file is read whole */
  schedopt_error err = {0};
  char *text = NULL;
  size_t len = 0;
  CHECK(mkfifo(fifo, 0666) == 0);
  int fd = open(fifo, O_RDWR | O_NONBLOCK); /* a writer (Linux allows O_RDWR) */
  CHECK(schedopt_infile_read(fifo, 1 << 20, NULL, &text, &len, &err) == SCHEDOPT_EIO);
  CHECK(test_err_has(&err, "is a FIFO", NULL) && text == NULL);
  if (fd >= 0) close(fd);
  unlink(fifo);
  p = write_in("small.txt", "abc\n");
  CHECK(schedopt_infile_read(p, 1 << 20, NULL, &text, &len, &err) == SCHEDOPT_OK);
  CHECK(text && len == 4 && !strcmp(text, "abc\n"));
  free(text);
  CHECK(schedopt_infile_read(p, 3, "x", &text, &len, &err) == SCHEDOPT_ENOMEM);
  FILE *f = NULL;
  CHECK(schedopt_infile_fopen(d, 1 << 20, "x", &f, &err) == SCHEDOPT_EIO && f == NULL);
  CHECK(test_err_has(&err, "is a directory", NULL));
}

/* ------------------------------------------------------------ numbers */

static void leading_zeros(void) {
  char args[8192];
  const char *p = write_in("octal.yaml", "model: {a: 2.5, b: 1.5, N: 010}\nbudget: {steps: 100}\n");
  snprintf(args, sizeof args, "simulate '%s' -o -", p);
  expect_fail("N: 010", args,
              "octal.yaml:1:28: error: model.N: '010' has a leading zero (octal in YAML 1.1): "
              "write 10 or 8", NULL);
  p = write_in("ok.yaml", MODEL);
  snprintf(args, sizeof args, "simulate '%s' -o - --set model.N=010", p);
  expect_fail("--set N=010", args, "--set model.N=010: error: model.N: '010' has a leading zero",
              NULL);
  /* in a sequence, signed, with a fraction */
  schedopt_error err = {0};
  CHECK(test_make_problem(NULL, MODEL "output: {times: [1, 010]}\n", "seq.yaml", NULL, 0, &err) ==
        SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "output.times[1]: '010' has a leading zero", NULL));
  CHECK(test_make_problem(NULL, "model: {a: 2.5, b: 1.5, sigma2: 00.5}\nbudget: {steps: 100}\n",
                          "frac.yaml", NULL, 0, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "'00.5' has a leading zero: write 0.5", NULL));
  CHECK(test_make_problem(NULL, "model: {a: 2.5, b: 1.5, N: 09}\nbudget: {steps: 100}\n",
                          "nine.yaml", NULL, 0, &err) == SCHEDOPT_EINVAL);
  CHECK(test_err_has(&err, "'09' has a leading zero: write 9", NULL));
  /* fit, predict and design specs read numbers the same way */
  p = write_in("octal_design.yaml",
               "model: {type: mpl, params: {L0: 2.65, A: 0.6, alpha: 0.45, B: 438, C: 2.13, "
               "beta: 0.6, gamma: 0.66}}\nbudget: {steps: 02000}\n");
  snprintf(args, sizeof args, "design '%s' -q", p);
  expect_fail("design steps: 02000", args,
              "budget.steps: '02000' has a leading zero (octal in YAML 1.1): write 2000 or 1024",
              NULL);
  /* plain zeros are numbers */
  static const char *const fine[] = {"0", "-0", "0.5", "0e3", "+0.25", ".5"};
  for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
    char y[256];
    snprintf(y, sizeof y, "model: {a: 2.5, b: 1.5, sigma2: %s}\nbudget: {steps: 100}\n", fine[i]);
    schedopt_status st = test_make_problem(NULL, y, "fine.yaml", NULL, 0, &err);
    CHECK_MSG(st == SCHEDOPT_OK, "sigma2: %s: %s", fine[i], err.msg);
  }
}

/* ------------------------------------------------------------ CSV */

static void csv_rows(void) {
  char args[8192], yaml[4096];
  /* a huge cell is refused as such, at once: libcsv grew its buffer a block
   * at a time, minutes of copying under AddressSanitizer for 50 MiB */
  {
    const char *big = in_dir("bigcell.csv");
    FILE *f = fopen(big, "w");
    CHECK(f != NULL);
    if (f) {
      fputs("step,lr\n0,", f);
      for (int i = 0; i < (8 << 20) / 64; i++)
        fputs("1111111111111111111111111111111111111111111111111111111111111111", f);
      fputs("\n", f);
      fclose(f);
    }
    snprintf(yaml, sizeof yaml, MODEL "controls: {lr: {type: table, file: '%s'}}\n", big);
    const char *bp = write_in("bigcell.yaml", yaml);
    snprintf(args, sizeof args, "simulate '%s' -o -", bp);
    double t0 = test_seconds();
    expect_fail("table: 8 MiB cell", args, "bigcell.csv:2: a cell longer than 65536 bytes", NULL);
    CHECK_MSG(test_seconds() - t0 < 20, "8 MiB cell: %.1f s", test_seconds() - t0);
    unlink(big);
  }
  const char *wide = write_in("wide.csv", "step,lr,loss\n0,0.1,3\n10,0.1,2.9\n20,0.1,2.8,7\n");
  const char *dup = write_in("dup.csv", "step,lr,lr\n0,0.1,0.1\n");
  /* schedule tables */
  snprintf(yaml, sizeof yaml, MODEL "controls: {lr: {type: table, file: '%s'}}\n", wide);
  const char *p = write_in("wide_table.yaml", yaml);
  snprintf(args, sizeof args, "simulate '%s' -o -", p);
  expect_fail("table: wide row", args, "wide.csv:4: row 3 has 4 fields, the header 3", NULL);
  snprintf(yaml, sizeof yaml, MODEL "controls: {lr: {type: table, file: '%s'}}\n", dup);
  p = write_in("dup_table.yaml", yaml);
  snprintf(args, sizeof args, "simulate '%s' -o -", p);
  expect_fail("table: duplicate column", args,
              "dup.csv:1: column 'lr' appears twice (columns 2 and 3)", NULL);

  /* loss logs */
  const char *tok = write_in("tokens.csv", "step,lr,loss,tokens\n0,0.1,3,0\n1,0.1,2.9,10\n"
                                           "2,0.1,2.8,20\n3,0.1,2.7,-5\n");
  const char *bat = write_in("batch.csv", "step,lr,loss,batch\n0,0.1,3,8\n1,0.1,2.9,0\n");
  const struct {
    const char *name, *file, *want;
  } logs[] = {
      {"log: wide row", wide, "wide.csv:4: row 3 has 4 fields, the header 3"},
      {"log: duplicate column", dup, "dup.csv:1: column 'lr' appears twice (columns 2 and 3)"},
      {"log: negative tokens", tok, "tokens.csv:5: tokens = -5 at row 4 must be >= 0"},
      {"log: zero batch", bat, "batch.csv:3: batch = 0 at row 2 must be > 0"},
  };
  for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
    snprintf(yaml, sizeof yaml, "model: mpl\ncurves:\n  - file: '%s'\n", logs[i].file);
    p = write_in("log.yaml", yaml);
    snprintf(args, sizeof args, "fit '%s' -q", p);
    expect_fail(logs[i].name, args, "log.yaml:3:11: error: curves.0.file: ", logs[i].want);
  }

  /* the header rules themselves */
  schedopt_error err = {0};
  schedopt_csv_header h = {0};
  const char *names[] = {"\xEF\xBB\xBFstep", "a", "", "b", "", "b", "a"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    CHECK(schedopt_csv_header_add(&h, names[i], strlen(names[i]), "h.csv", 1, &err) == 0);
  CHECK(schedopt_csv_header_find(&h, "step") == 0); /* the byte-order mark is dropped */
  CHECK(schedopt_csv_header_check(&h, "h.csv", 1, &err) == SCHEDOPT_EPARSE);
  /* the earliest repeat; empty names may repeat */
  CHECK(test_err_has(&err, "h.csv:1: column 'b' appears twice (columns 4 and 6)", NULL));
  CHECK(schedopt_csv_row_width(&h, 7, 1, "h.csv", 2, &err) == SCHEDOPT_OK);
  CHECK(schedopt_csv_row_width(&h, 3, 1, "h.csv", 2, &err) == SCHEDOPT_OK);
  CHECK(schedopt_csv_row_width(&h, 8, 5, "h.csv", 9, &err) == SCHEDOPT_EPARSE);
  CHECK(test_err_has(&err, "h.csv:9: row 5 has 8 fields, the header 7", NULL));
  schedopt_csv_header_free(&h);
}

/* ------------------------------------------------------------ fits */

/* Files left in folder d (0 if it does not exist). */
static int files_in(const char *d) {
  DIR *dp = opendir(d);
  if (!dp) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(dp);
  return n;
}

static void short_fits(void) {
  char args[8192], yaml[4096];
  const char *one = write_in("one.csv", "step,lr,loss\n0,0.0003,3.1\n");
  snprintf(yaml, sizeof yaml, "model: mpl\ncurves:\n  - file: '%s'\n", one);
  const char *p = write_in("one.yaml", yaml);
  const char *o = in_dir("one_out");
  rmdir(o); /* left by an earlier run */
  snprintf(args, sizeof args, "fit '%s' -q -o '%s'", p, o);
  expect_fail("one-row fit", args,
              "1 data point for 7 free parameters (mpl): give more logged steps or fix "
              "parameters", NULL);
  CHECK_MSG(files_in(o) == 0, "one-row fit: %d files left in %s", files_in(o), o);
  struct stat sb;
  CHECK_MSG(stat(o, &sb) != 0, "the failed fit left the output folder %s behind", o);

  const char *three = write_in("three.csv", "step,lr,loss\n0,0.0003,3.1\n1,0.0003,3.0\n"
                                            "2,0.0003,2.95\n");
  snprintf(yaml, sizeof yaml, "model: mpl\ncurves:\n  - file: '%s'\n", three);
  p = write_in("three.yaml", yaml);
  snprintf(args, sizeof args, "fit '%s' -q", p);
  expect_fail("three-row fit", args, "3 data points for 7 free parameters (mpl)", NULL);
  /* fixed parameters do not count: 3 points for 3 free ones is a fit */
  snprintf(args, sizeof args, "fit '%s' -q --set params.B=438 --set params.C=2.13 "
           "--set params.beta=0.6 --set params.gamma=0.66", p);
  int rc = cli(args, NULL);
  CHECK_MSG(rc == 0, "three-row fit, 3 free: exit %d: %.2000s", rc, out);
  snprintf(args, sizeof args, "fit '%s' -q --set params.B=438 --set params.C=2.13 "
           "--set params.beta=0.6", p);
  expect_fail("three-row fit, 4 free", args, "3 data points for 4 free parameters (mpl)", NULL);
}

int main(void) {
  signal(SIGALRM, on_alarm);
  alarm(240);
  have_timeout = test_run_cmd("timeout 5 true", NULL, 0) == 0;
  snprintf(dir, sizeof dir, "%s/inputs", SCHEDOPT_TMP_DIR);
  mkdir(dir, 0777);
  special_files();
  leading_zeros();
  csv_rows();
  short_fits();
  return test_finish();
}
