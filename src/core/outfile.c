#define _POSIX_C_SOURCE 200809L
#include "core/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* Temporary files that exist right now, for schedopt_outfile_unlink_pending.
 *
 * This is the one piece of process-global state in schedopt, and it exists
 * only for the CLI's SIGINT/SIGTERM handler: a signal handler receives no
 * context pointer, so the names of the temporary files it must remove have
 * to be reachable from a global.  Names are copied into fixed slots (no
 * allocation, nothing the handler could see half-freed); a slot is claimed
 * with a compare-and-swap (state FREE → CLAIMED), filled, then published
 * (LIVE); the handler only reads LIVE slots, using lock-free atomic loads and
 * unlink(), both async-signal-safe.  A run with more open outputs than slots,
 * or a longer name, still works; only the clean-up on a signal is lost. */
enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_LIVE = 2 };
#define PENDING_SLOTS 32
#define PENDING_PATH 4096
static atomic_int pending_state[PENDING_SLOTS];
static char pending_path[PENDING_SLOTS][PENDING_PATH];

static int pending_add(const char *tmp) {
  size_t len = strlen(tmp);
  if (len >= PENDING_PATH) return -1;
  for (int i = 0; i < PENDING_SLOTS; i++) {
    int expect = SLOT_FREE;
    if (atomic_compare_exchange_strong(&pending_state[i], &expect, SLOT_CLAIMED)) {
      memcpy(pending_path[i], tmp, len + 1);
      atomic_store(&pending_state[i], SLOT_LIVE);
      return i;
    }
  }
  return -1;
}

static void pending_drop(int slot) {
  if (slot >= 0 && slot < PENDING_SLOTS) atomic_store(&pending_state[slot], SLOT_FREE);
}

void schedopt_outfile_unlink_pending(void) {
  for (int i = 0; i < PENDING_SLOTS; i++)
    if (atomic_load(&pending_state[i]) == SLOT_LIVE) unlink(pending_path[i]);
}

/* ---- what the name is -------------------------------------------------------------------- */

/* Hops before a chain of symbolic links is a loop (the kernel's own limit). */
#define MAX_LINKS 40

/* Names that are this process's standard output: its stream is used, so
 * that nothing else printed to stdout interleaves with a second stream and
 * `-o /dev/stdout >> log` appends as the shell asked. */
static int is_stdout(const char *path) {
  return !path || !strcmp(path, "-") || !strcmp(path, "/dev/stdout") ||
         !strcmp(path, "/dev/fd/1") || !strcmp(path, "/proc/self/fd/1");
}

/* The name a chain of symbolic links ends at (path itself when it is not a
 * link), malloc'ed in *out; a relative link is read from the link's folder,
 * as the kernel does.  The end need not exist: a dangling link names the
 * file to create.  0 or an errno. */
static int resolve_links(const char *path, char **out) {
  char *cur = strdup(path);
  if (!cur) return ENOMEM;
  for (int hop = 0;; hop++) {
    struct stat sb;
    if (lstat(cur, &sb) != 0) {
      if (errno == ENOENT) break;
      int e = errno;
      free(cur);
      return e;
    }
    if (!S_ISLNK(sb.st_mode)) break;
    char to[PENDING_PATH];
    ssize_t n = hop < MAX_LINKS ? readlink(cur, to, sizeof to) : -1;
    if (n < 0 || (size_t)n >= sizeof to) {
      int e = hop >= MAX_LINKS ? ELOOP : n < 0 ? errno : ENAMETOOLONG;
      free(cur);
      return e;
    }
    to[n] = '\0';
    const char *slash = strrchr(cur, '/');
    size_t d = to[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
    char *next = malloc(d + (size_t)n + 1);
    if (next) {
      memcpy(next, cur, d);
      memcpy(next + d, to, (size_t)n + 1);
    }
    free(cur);
    if (!(cur = next)) return ENOMEM;
  }
  *out = cur;
  return 0;
}

static const char *kind_name(mode_t m) {
  if (S_ISDIR(m)) return "is a directory";
  if (S_ISBLK(m)) return "is a block device";
  if (S_ISSOCK(m)) return "is a socket";
  return "is not a regular file, a character device or a FIFO";
}

/* The name as given (for messages): it follows the final name's NUL. */
static const char *given(const schedopt_outfile *of) {
  return of->path + strlen(of->path) + 1;
}

static void release(schedopt_outfile *of) {
  free(of->path);
  free(of->tmp);
  memset(of, 0, sizeof *of);
  of->slot = -1;
}

/* Close without checking (the output is being discarded), remove the
 * temporary file if it was not renamed, forget it. */
static void discard(schedopt_outfile *of) {
  if (of->path && of->fp) fclose(of->fp);
  if (of->tmp) { /* a slot is ours only while there is a temporary (a zeroed struct has 0) */
    unlink(of->tmp);
    pending_drop(of->slot);
  }
  release(of);
}

static schedopt_status open_failed(schedopt_outfile *of, schedopt_error *err, const char *why) {
  schedopt_status st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", given(of),
                                          why);
  discard(of);
  return st;
}

/* A device or a FIFO: opened for writing in place.  A FIFO is opened
 * non-blocking first because with no reader a blocking open waits forever;
 * ENXIO then means "no reader". */
static schedopt_status open_direct(schedopt_outfile *of, const struct stat *sb,
                                   schedopt_error *err) {
  const int fifo = S_ISFIFO(sb->st_mode);
  int fd = open(given(of), O_WRONLY | O_NOCTTY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0) |
                               (S_ISREG(sb->st_mode) ? O_TRUNC : 0));
  if (fd < 0)
    return open_failed(of, err, fifo && errno == ENXIO ? "a FIFO with no reader"
                                                       : strerror(errno));
  int fl = fifo ? fcntl(fd, F_GETFL) : 0;
  if (fl < 0 || (fifo && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) ||
      !(of->fp = fdopen(fd, "w"))) {
    int e = errno;
    close(fd);
    return open_failed(of, err, strerror(e));
  }
  return SCHEDOPT_OK;
}

/* NAME.tmpXXXXXX: created with O_EXCL and mode 0666, so the kernel applies
 * the umask (mkstemp's 0600 would need umask(), which is process-wide and
 * racy between threads).  The suffix mixes pid, clock and a counter; a name
 * taken by someone else is retried. */
static int create_temp(char *tmp, size_t len) {
  static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static atomic_uint counter;
  for (int attempt = 0; attempt < 100; attempt++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long v = ((unsigned long long)getpid() << 32) ^ (unsigned long long)ts.tv_nsec ^
                           (unsigned long long)ts.tv_sec * 0x100000001b3ull ^
                           (unsigned long long)atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull;
    v ^= v >> 31; /* splitmix64's finaliser: every input bit reaches the six digits */
    v *= 0xbf58476d1ce4e5b9ull;
    v ^= v >> 29;
    for (size_t i = len - 6; i < len; i++, v /= 62) tmp[i] = digits[v % 62];
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

/* A new or regular file: a temporary beside the final name.  An existing
 * file keeps its permission bits and, when we may give them (root), its
 * owner: replacing a 0600 file must not publish it, and root rewriting a
 * user's file must not take it from them. */
static schedopt_status open_temp(schedopt_outfile *of, const struct stat *old,
                                 schedopt_error *err) {
  /* the shell's > refuses a file we may not write: so do we (a rename
   * would replace it, which only the folder's permission guards) */
  if (old && faccessat(AT_FDCWD, of->path, W_OK, AT_EACCESS) != 0)
    return open_failed(of, err, strerror(errno));
  size_t len = strlen(of->path) + 10;
  if (!(of->tmp = malloc(len + 1))) return open_failed(of, err, strerror(ENOMEM));
  snprintf(of->tmp, len + 1, "%s.tmpXXXXXX", of->path);
  int fd = create_temp(of->tmp, len);
  if (fd < 0) {
    int e = errno;
    free(of->tmp);
    of->tmp = NULL; /* not created: nothing to unlink */
    return open_failed(of, err, strerror(e));
  }
  of->slot = pending_add(of->tmp);
  if (old && (old->st_uid != geteuid() || old->st_gid != getegid()) &&
      fchown(fd, old->st_uid, old->st_gid) != 0) {
    /* not ours to give (not root): the new file is the writer's, as after cp */
  }
  if ((old && fchmod(fd, old->st_mode & 07777) != 0) || !(of->fp = fdopen(fd, "w"))) {
    int e = errno;
    close(fd);
    return open_failed(of, err, strerror(e));
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_outfile_open(schedopt_outfile *of, const char *path,
                                      schedopt_error *err) {
  memset(of, 0, sizeof *of);
  of->slot = -1;
  if (is_stdout(path)) {
    of->fp = stdout;
    return SCHEDOPT_OK;
  }
  if (!*path)
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '': %s", strerror(ENOENT));
  struct stat sb;
  const int exists = stat(path, &sb) == 0;
  if (!exists && errno != ENOENT)
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", path, strerror(errno));
  if (exists && !S_ISREG(sb.st_mode) && !S_ISCHR(sb.st_mode) && !S_ISFIFO(sb.st_mode))
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", path,
                              kind_name(sb.st_mode));
  int direct = exists && !S_ISREG(sb.st_mode);
  char *final = NULL;
  if (!direct) {
    int e = resolve_links(path, &final);
    if (e) return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", path, strerror(e));
    /* The chain must end at the file stat() reached; a link the kernel
     * resolves otherwise (/proc/self/fd/N: an open, maybe deleted file) is
     * written in place rather than renamed onto a name that is not it. */
    struct stat fb;
    if (exists && (lstat(final, &fb) != 0 || !S_ISREG(fb.st_mode) || fb.st_dev != sb.st_dev ||
                   fb.st_ino != sb.st_ino))
      direct = 1;
  }
  const char *target = direct ? path : final;
  size_t lt = strlen(target), lg = strlen(path);
  if (!(of->path = malloc(lt + lg + 2))) {
    free(final);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  memcpy(of->path, target, lt + 1);
  memcpy(of->path + lt + 1, path, lg + 1);
  free(final);
  return direct ? open_direct(of, &sb, err) : open_temp(of, exists ? &sb : NULL, err);
}

/* ---- commit ------------------------------------------------------------------------------ */

/* Why a stream has its error flag set although the last flush succeeded
 * (stdio does not keep the errno of the write that failed): a temporary is
 * about to be removed anyway, so one more byte written to it asks the
 * kernel again (EFBIG, ENOSPC, EDQUOT); otherwise EIO. */
static int stream_errno(const schedopt_outfile *of) {
  if (of->tmp && write(fileno(of->fp), "\n", 1) < 0) return errno;
  return EIO;
}

/* Phase 1: flush, check, fsync (the data are on disk before the rename
 * makes them the file: a crash leaves the old file or the new one, never an
 * empty one), close. */
static schedopt_status finish(schedopt_outfile *of, schedopt_error *err) {
  if (!of->fp) return SCHEDOPT_OK;
  int e = 0;
  if (fflush(of->fp) != 0)
    e = errno ? errno : EIO;
  else if (ferror(of->fp))
    e = stream_errno(of);
  if (!of->path) /* stdout: stays open; main() checks it once more at exit */
    return e ? schedopt_error_set(err, SCHEDOPT_EIO, "cannot write to standard output: %s",
                                  strerror(e))
             : SCHEDOPT_OK;
  if (!e && of->tmp && fsync(fileno(of->fp)) != 0) e = errno;
  if (fclose(of->fp) != 0 && !e) e = errno;
  of->fp = NULL;
  return e ? schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", given(of),
                                strerror(e))
           : SCHEDOPT_OK;
}

/* Phase 2: rename the temporary onto the final name. */
static schedopt_status place(schedopt_outfile *of, schedopt_error *err) {
  if (!of->tmp) return SCHEDOPT_OK;
  if (rename(of->tmp, of->path) != 0)
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", given(of),
                              strerror(errno));
  pending_drop(of->slot); /* after the rename: a signal before it still removes tmp */
  of->slot = -1;
  free(of->tmp);
  of->tmp = NULL;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_outfile_commit(schedopt_outfile *of, schedopt_error *err) {
  schedopt_status st = finish(of, err);
  if (!st) st = place(of, err);
  discard(of); /* what is left: the temporary of a failure */
  return st;
}

void schedopt_outfile_abort(schedopt_outfile *of) { discard(of); }

/* ---- output sets ------------------------------------------------------------------------- */

typedef struct outset_member {
  schedopt_outfile of;
  int keyed;            /* a file renamed onto: compared for duplicates */
  dev_t dev;            /* its folder, as the file system names it */
  ino_t ino;
  const char *base;     /* its last component (in of.path) */
} outset_member;

struct schedopt_outset {
  outset_member *m;
  size_t n, cap;
};

schedopt_status schedopt_outset_alloc(schedopt_outset **out, schedopt_error *err) {
  if (!out) return schedopt_error_set(err, SCHEDOPT_EINVAL, "outset_alloc: NULL");
  if (!(*out = calloc(1, sizeof **out)))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  return SCHEDOPT_OK;
}

void schedopt_outset_free(schedopt_outset *set) {
  if (!set) return;
  schedopt_outset_abort(set);
  free(set->m);
  free(set);
}

/* A file's identity for "the same file twice": its folder's device and inode
 * and its last component.  Names differ (./a, dir/../a, a link) where the
 * folder does not. */
static int member_key(outset_member *m) {
  const char *p = m->of.path, *slash = strrchr(p, '/');
  m->base = slash ? slash + 1 : p;
  size_t d = !slash ? 0 : slash == p ? 1 : (size_t)(slash - p);
  char *dir = malloc(d + 2);
  if (!dir) return ENOMEM;
  if (d) memcpy(dir, p, d);
  else dir[d++] = '.';
  dir[d] = '\0';
  struct stat sb;
  int e = stat(dir, &sb) == 0 ? 0 : errno;
  free(dir);
  if (e) return e;
  m->dev = sb.st_dev;
  m->ino = sb.st_ino;
  m->keyed = 1;
  return 0;
}

schedopt_status schedopt_outset_open(schedopt_outset *set, const char *path, FILE **fp,
                                     schedopt_error *err) {
  if (!set || !fp) return schedopt_error_set(err, SCHEDOPT_EINVAL, "outset_open: NULL");
  *fp = NULL;
  if (set->n == set->cap) {
    size_t cap = set->cap ? 2 * set->cap : 4;
    outset_member *m = realloc(set->m, cap * sizeof *m);
    if (!m) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    set->m = m;
    set->cap = cap;
  }
  outset_member *m = &set->m[set->n];
  memset(m, 0, sizeof *m);
  schedopt_status st = schedopt_outfile_open(&m->of, path, err);
  if (st) return st;
  if (m->of.tmp) {
    int e = member_key(m);
    if (e) return open_failed(&m->of, err, strerror(e));
    for (size_t i = 0; i < set->n; i++)
      if (set->m[i].keyed && set->m[i].dev == m->dev && set->m[i].ino == m->ino &&
          !strcmp(set->m[i].base, m->base)) {
        st = schedopt_error_set(err, SCHEDOPT_EINVAL, "two outputs to one file '%s'", path);
        discard(&m->of);
        return st;
      }
  }
  *fp = m->of.fp;
  set->n++;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_outset_commit(schedopt_outset *set, schedopt_error *err) {
  if (!set) return schedopt_error_set(err, SCHEDOPT_EINVAL, "outset_commit: NULL");
  schedopt_status st = SCHEDOPT_OK;
  for (size_t i = 0; i < set->n && !st; i++) st = finish(&set->m[i].of, err);
  for (size_t i = 0; i < set->n; i++) { /* renames only when every member is on disk */
    if (!st) st = place(&set->m[i].of, err);
    discard(&set->m[i].of);
  }
  set->n = 0;
  return st;
}

void schedopt_outset_abort(schedopt_outset *set) {
  if (!set) return;
  for (size_t i = 0; i < set->n; i++) discard(&set->m[i].of);
  set->n = 0;
}

/* ---- folders ----------------------------------------------------------------------------- */

schedopt_status schedopt_outfile_mkdirs(const char *dir, schedopt_error *err) {
  size_t len = strlen(dir);
  char *d = malloc(len + 1);
  if (!d) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  memcpy(d, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (d[i] != '/' && d[i] != '\0') continue;
    char c = d[i];
    d[i] = '\0';
    if (mkdir(d, 0777) != 0 && errno != EEXIST) {
      schedopt_status st = schedopt_error_set(err, SCHEDOPT_EIO, "%s: cannot create the folder: "
                                              "%s", d, strerror(errno));
      free(d);
      return st;
    }
    d[i] = c;
  }
  free(d);
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return schedopt_error_set(err, SCHEDOPT_EIO, "%s: not a folder", dir);
  return SCHEDOPT_OK;
}
