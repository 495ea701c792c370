/* Fuzz target: output sets (core/outfile.h) on random paths.
 *
 * Every input runs in a fresh sandbox folder holding a regular file `old`, a
 * folder `d` with a file `d/keep`, a symlink `lnk` -> old, a dangling symlink
 * `dang` -> gone, and a symlink `dlnk` -> d.  The input is a list of
 * operations: open a member on one of a set of awkward names (links, the
 * folder, `..` escapes that stay inside, names at the length limits, the same
 * file under two names, a device that fails every write), write bytes into
 * it, and finally commit or abort the set.  The promises checked:
 *   - an open that fails says why, and leaves nothing behind;
 *   - a commit that succeeds leaves every member holding exactly its bytes
 *     (read back through the name it was opened under), symlinks still
 *     symlinks, and nothing else changed;
 *   - an abort, or a commit that fails, leaves the sandbox exactly as it was;
 *   - no temporary file is ever left, and nothing outside the sandbox is
 *     touched (every name resolves inside it).
 * A broken promise aborts (a finding). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/outfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_outset: broken promise: %s (%s)\n", what, detail ? detail : "");
  abort();
}

static char root[PATH_MAX / 2];

/* ---- the sandbox ---- */

static void rm_tree(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return;
  if (S_ISDIR(sb.st_mode)) {
    DIR *d = opendir(path);
    if (d) {
      for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_tree(p);
      }
      closedir(d);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void remove_sandbox(void) {
  if (chdir("/") == 0) rm_tree(root);
}

static void put_file(const char *name, const char *text) {
  FILE *f = fopen(name, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) broken("sandbox setup", name);
}

static void make_sandbox(void) {
  if (!root[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/fuzz_outset.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) broken("mkdtemp", strerror(errno));
    atexit(remove_sandbox);
  }
  if (chdir("/") != 0) broken("chdir /", NULL);
  rm_tree(root);
  if (mkdir(root, 0700) != 0 || chdir(root) != 0) broken("sandbox", strerror(errno));
  put_file("old", "OLD\n");
  if (mkdir("d", 0700) != 0) broken("mkdir d", NULL);
  put_file("d/keep", "KEEP\n");
  if (symlink("old", "lnk") != 0 || symlink("gone", "dang") != 0 || symlink("d", "dlnk") != 0)
    broken("symlinks", strerror(errno));
}

/* A snapshot of the sandbox: "name|kind|content" lines, sorted by name. */
typedef struct snap {
  char *text;
  size_t n, cap;
} snap;

static void snap_add(snap *s, const char *line) {
  size_t k = strlen(line);
  if (s->n + k + 1 > s->cap) {
    s->cap = 2 * (s->n + k + 1) + 256;
    s->text = realloc(s->text, s->cap);
    if (!s->text) broken("out of memory", NULL);
  }
  memcpy(s->text + s->n, line, k + 1);
  s->n += k;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void snap_dir(snap *s, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  char *names[256];
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d)) && n < 256;)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    char p[PATH_MAX], line[3 * PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    if (strstr(names[i], ".tmp") || !strncmp(names[i], ".schedopt", 9))
      broken("a temporary file was left", p);
    struct stat sb;
    if (lstat(p, &sb) != 0) broken("lstat", p);
    if (S_ISLNK(sb.st_mode)) {
      char to[PATH_MAX];
      ssize_t k = readlink(p, to, sizeof to - 1);
      to[k < 0 ? 0 : k] = '\0';
      snprintf(line, sizeof line, "%s|link|%s\n", p, to);
      snap_add(s, line);
    } else if (S_ISDIR(sb.st_mode)) {
      snprintf(line, sizeof line, "%s|dir\n", p);
      snap_add(s, line);
      snap_dir(s, p);
    } else {
      char body[200] = "";
      FILE *f = fopen(p, "r");
      size_t k = f ? fread(body, 1, sizeof body - 1, f) : 0;
      if (f) fclose(f);
      body[k] = '\0';
      for (char *c = body; *c; c++)
        if (*c == '\n') *c = '~';
      snprintf(line, sizeof line, "%s|file|%04o|%s\n", p, (unsigned)(sb.st_mode & 07777), body);
      snap_add(s, line);
    }
    free(names[i]);
  }
}

static snap take(void) {
  snap s = {NULL, 0, 0};
  snap_add(&s, "");
  snap_dir(&s, ".");
  return s;
}

/* ---- the names tried ---- */

static const char *name_of(unsigned k, char *buf, size_t cap) {
  static const char *const fixed[] = {
      "old",  "new1", "new2",   "d/new", "lnk",       "dang",   "dlnk/new", "d",
      "dlnk", "d/../new1", "./new2", "",   "d/keep",  "new1/", "/dev/full", "lnk/x"};
  const unsigned nf = sizeof fixed / sizeof fixed[0];
  k %= nf + 2;
  if (k < nf) return fixed[k];
  /* names at the length limits: a last component of 250 bytes (the
   * temporary name must still fit), and one over NAME_MAX */
  size_t len = k == nf ? 250 : 300;
  if (len + 1 > cap) len = cap - 1;
  memset(buf, 'n', len);
  buf[len] = '\0';
  return buf;
}

/* Where name ends up (the file a symlink names); "" for a device or none. */
static void target_of(const char *name, char *out, size_t cap) {
  char rp[PATH_MAX];
  if (!strcmp(name, "/dev/full") || !realpath(name, rp)) {
    /* a dangling link names a file to be created */
    char to[PATH_MAX / 2];
    ssize_t k = readlink(name, to, sizeof to - 1);
    if (k > 0) {
      to[k] = '\0';
      snprintf(out, cap, "%s/%s", root, to);
    } else {
      out[0] = '\0';
    }
    return;
  }
  snprintf(out, cap, "%s", rp);
}

/* ---- the target ---- */

#define MAXM 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char cwd[PATH_MAX]; /* the caller's, restored: it may name further inputs relative to it */
  if (!getcwd(cwd, sizeof cwd)) broken("getcwd", strerror(errno));
  make_sandbox();
  snap before = take();
  schedopt_outset *set = NULL;
  schedopt_error err = {0};
  if (schedopt_outset_alloc(&set, &err)) broken("alloc", err.msg);
  char names[MAXM][400], bodies[MAXM][64];
  FILE *fps[MAXM];
  size_t nm = 0, i = 0;
  int failing = 0; /* a member whose writes fail (/dev/full) */
  while (i + 1 < size && nm < MAXM) {
    const uint8_t op = data[i++], arg = data[i++];
    char buf[400];
    const char *name = name_of(op, buf, sizeof buf);
    FILE *fp = NULL;
    schedopt_error e = {0};
    schedopt_status st = schedopt_outset_open(set, name, &fp, &e);
    if (st) {
      if (!e.msg[0]) broken("an open failed without a message", name);
      continue;
    }
    if (!fp) broken("open succeeded without a stream", name);
    snprintf(names[nm], sizeof names[nm], "%s", name);
    snprintf(bodies[nm], sizeof bodies[nm], "member %zu: %u\n", nm, (unsigned)arg);
    fputs(bodies[nm], fp);
    failing |= !strcmp(name, "/dev/full");
    fps[nm++] = fp;
  }
  (void)fps;
  const int commit = size > 0 && (data[size - 1] & 1);
  schedopt_status st = SCHEDOPT_OK;
  if (commit)
    st = schedopt_outset_commit(set, &err);
  else
    schedopt_outset_abort(set);
  schedopt_outset_free(set);
  if (commit && !st && failing) broken("a commit with a failing member succeeded", NULL);
  if (commit && st && !err.msg[0]) broken("a failed commit without a message", NULL);
  snap after = take();
  if (!commit || st || nm == 0) {
    if (strcmp(before.text, after.text)) {
      fprintf(stderr, "before:\n%s\nafter:\n%s\n", before.text, after.text);
      broken(commit ? "a failed commit changed the sandbox" : "an abort changed the sandbox",
             NULL);
    }
  } else {
    for (size_t m = 0; m < nm; m++) {
      char t[PATH_MAX];
      target_of(names[m], t, sizeof t);
      if (!t[0]) continue; /* a device */
      if (strncmp(t, root, strlen(root))) broken("a member resolved outside the sandbox", t);
      char got[128] = "";
      FILE *f = fopen(names[m], "r");
      size_t k = f ? fread(got, 1, sizeof got - 1, f) : 0;
      if (f) fclose(f);
      got[k] = '\0';
      if (strcmp(got, bodies[m])) broken("a committed member does not hold its bytes", names[m]);
    }
    struct stat sb;
    if (lstat("lnk", &sb) != 0 || !S_ISLNK(sb.st_mode)) broken("lnk is no longer a link", NULL);
    if (lstat("dlnk", &sb) != 0 || !S_ISLNK(sb.st_mode)) broken("dlnk is no longer a link", NULL);
    if (lstat("d/keep", &sb) != 0) broken("d/keep is gone", NULL);
  }
  free(before.text);
  free(after.text);
  if (chdir(cwd) != 0) broken("chdir back", cwd);
  return 0;
}
