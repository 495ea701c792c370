#define _XOPEN_SOURCE 700 /* realpath, S_ISVTX */
#include "core/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h> /* FS_IOC_GETFLAGS */
#include <sys/ioctl.h>
#include <sys/xattr.h>
#endif

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
#ifndef NAME_MAX
#define NAME_MAX 255
#endif
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

/* ---- messages ---------------------------------------------------------------------------- */

/* A message holds SCHEDOPT_ERRMSG_LEN bytes: a path longer than SHOWN_MAX is
 * shown as "…" and its last SHOWN_MAX bytes (from a character's first byte),
 * so that the reason after it always fits.  Use as "%s%s" with SHOW(p). */
#define SHOWN_MAX 300
static const char *tail_of(const char *p) {
  size_t n = strlen(p);
  if (n <= SHOWN_MAX) return p;
  const char *t = p + n - SHOWN_MAX;
  while ((*t & 0xC0) == 0x80) t++; /* a UTF-8 continuation byte */
  return t;
}
#define SHOW(p) (tail_of(p) == (p) ? "" : "\xe2\x80\xa6"), tail_of(p)

/* ---- what the name is -------------------------------------------------------------------- */

/* Hops before a chain of symbolic links is a loop (the kernel's own limit). */
#define MAX_LINKS 40

/* How a name is written. */
enum {
  OUT_FILE,    /* a temporary file renamed onto it */
  OUT_STDOUT,  /* this process's stdout stream */
  OUT_FD,      /* a descriptor of ours, through a dup() of it */
  OUT_DIRECT,  /* opened and written in place (a device, a FIFO, a name in /dev) */
  OUT_REFUSED  /* not an output (a folder, a socket, a name under /proc) */
};

/* The folder part of p, malloc'ed: "." when p has no slash, "/" for "/x". */
static char *folder_of(const char *p) {
  const char *slash = strrchr(p, '/');
  size_t d = !slash ? 0 : slash == p ? 1 : (size_t)(slash - p);
  char *dir = malloc(d + 2);
  if (!dir) return NULL;
  if (d) memcpy(dir, p, d);
  else dir[d++] = '.';
  dir[d] = '\0';
  return dir;
}

static const char *base_of(const char *p) {
  const char *slash = strrchr(p, '/');
  return slash ? slash + 1 : p;
}

/* A descriptor number: digits only, at most 9 of them; else -1. */
static int fd_number(const char *s) {
  if (!*s || strlen(s) > 9) return -1;
  int n = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    n = 10 * n + (*s - '0');
  }
  return n;
}

/* A canonical folder that lists this process's descriptors: /proc/PID/fd or
 * /proc/PID/task/TID/fd with our PID (what /dev/fd, /proc/self/fd and
 * /proc/thread-self/fd resolve to), or a real /dev/fd. */
static int own_fd_folder(const char *c) {
  if (!strcmp(c, "/dev/fd")) return 1;
  char own[64];
  int k = snprintf(own, sizeof own, "/proc/%ld", (long)getpid());
  if (k <= 0 || strncmp(c, own, (size_t)k)) return 0;
  c += k;
  if (!strncmp(c, "/task/", 6)) {
    c += 6;
    size_t t = strspn(c, "0123456789");
    if (!t) return 0;
    c += t;
  }
  return !strcmp(c, "/fd");
}

/* What a name is by the folder it is in, canonical (realpath: /dev/./stdout,
 * //dev/stdout, a link to /dev are /dev): this process's descriptor N
 * (/dev/fd/N, /proc/self/fd/N, /proc/PID/fd/N; /dev/stdin, stdout, stderr
 * are 0, 1, 2) in *fd, any other name in /dev (written in place, never
 * renamed over), a name under /proc (refused), or a plain name.  A folder
 * that cannot be resolved is plain: the open says why.  -1: no memory. */
static int kind_by_folder(const char *name, int *fd) {
  static const char *const std_names[] = {"stdin", "stdout", "stderr"};
  const char *base = base_of(name);
  char *dir = folder_of(name);
  if (!dir) return -1;
  char *canon = realpath(dir, NULL);
  free(dir);
  if (!canon) return errno == ENOMEM ? -1 : OUT_FILE;
  int kind = OUT_FILE;
  if (!strcmp(canon, "/dev")) {
    kind = OUT_DIRECT;
    for (int i = 0; i < 3; i++)
      if (!strcmp(base, std_names[i])) {
        kind = OUT_FD;
        *fd = i;
      }
  } else if (own_fd_folder(canon)) {
    kind = (*fd = fd_number(base)) >= 0 ? OUT_FD : OUT_REFUSED;
  } else if (!strcmp(canon, "/proc") || !strncmp(canon, "/proc/", 6)) {
    kind = OUT_REFUSED;
  }
  free(canon);
  return kind == OUT_FD && *fd == STDOUT_FILENO ? OUT_STDOUT : kind;
}

static const char *kind_name(mode_t m) {
  if (S_ISDIR(m)) return "is a directory";
  if (S_ISBLK(m)) return "is a block device";
  if (S_ISSOCK(m)) return "is a socket";
  return "is not a regular file, a character device or a FIFO";
}

/* What a path given as an output is, and how it is written. */
typedef struct examined {
  int kind;        /* OUT_* */
  int fd;          /* OUT_FD: the descriptor */
  int err;         /* an errno: the name cannot be examined */
  const char *why; /* OUT_REFUSED: what it is */
  int exists;      /* OUT_FILE, OUT_DIRECT: stat() reached a file ... */
  struct stat sb;  /* ... this one */
  char *final;     /* OUT_FILE: the name renamed onto (malloc'ed) */
  char *bad_link;  /* a link not followed (fs.protected_symlinks), malloc'ed; err is EACCES */
} examined;

/* The kernel's fs.protected_symlinks rule, which our own following of a
 * chain would bypass: in a sticky world-writable folder a link is followed
 * only if it belongs to us (the effective user) or to the folder's owner. */
static int link_followable(const char *link, const struct stat *lb) {
  if (lb->st_uid == geteuid()) return 1;
  char *dir = folder_of(link);
  struct stat ds;
  int ok = !dir || stat(dir, &ds) != 0 || !(ds.st_mode & S_ISVTX) || !(ds.st_mode & S_IWOTH) ||
           ds.st_uid == lb->st_uid;
  free(dir);
  return ok;
}

/* The chain of symbolic links from path is followed hop by hop (a relative
 * link is read from the link's folder, as the kernel does) and every name on
 * it is classified by its folder: the first that is a descriptor of ours or
 * under /proc decides; one in /dev makes the whole chain written in place.
 * Otherwise the chain's end (which need not exist: a dangling link names the
 * file to create) is the file renamed onto. */
static void examine(const char *path, examined *x) {
  memset(x, 0, sizeof *x);
  if (!path || !strcmp(path, "-")) {
    x->kind = OUT_STDOUT;
    return;
  }
  if (!*path) {
    x->err = ENOENT;
    return;
  }
  int direct = 0;
  char *cur = strdup(path);
  for (int hop = 0; cur; hop++) {
    int k = kind_by_folder(cur, &x->fd);
    if (k < 0) break; /* no memory */
    if (k == OUT_STDOUT || k == OUT_FD || k == OUT_REFUSED) {
      free(cur);
      x->kind = k;
      if (k == OUT_REFUSED) x->why = "not an output file (a name under /proc)";
      return;
    }
    direct |= k == OUT_DIRECT;
    struct stat sb;
    if (lstat(cur, &sb) != 0) {
      if (errno == ENOENT) break; /* the end: a file to create */
      x->err = errno;
      free(cur);
      return;
    }
    if (!S_ISLNK(sb.st_mode)) break;
    if (!link_followable(cur, &sb)) {
      x->err = EACCES;
      x->bad_link = cur;
      return;
    }
    char to[PENDING_PATH];
    ssize_t n = hop < MAX_LINKS ? readlink(cur, to, sizeof to) : -1;
    if (n < 0 || (size_t)n >= sizeof to) {
      x->err = hop >= MAX_LINKS ? ELOOP : n < 0 ? errno : ENAMETOOLONG;
      free(cur);
      return;
    }
    to[n] = '\0';
    size_t d = to[0] == '/' ? 0 : (size_t)(base_of(cur) - cur);
    char *next = malloc(d + (size_t)n + 1);
    if (next) {
      memcpy(next, cur, d);
      memcpy(next + d, to, (size_t)n + 1);
    }
    free(cur);
    cur = next;
  }
  if (!cur) {
    x->err = ENOMEM;
    return;
  }
  x->exists = stat(path, &x->sb) == 0;
  if (!x->exists && errno != ENOENT) {
    x->err = errno;
    free(cur);
    return;
  }
  if (x->exists && !S_ISREG(x->sb.st_mode) && !S_ISCHR(x->sb.st_mode) &&
      !S_ISFIFO(x->sb.st_mode)) {
    free(cur);
    x->kind = OUT_REFUSED;
    x->why = kind_name(x->sb.st_mode);
    return;
  }
  /* The chain must end at the file stat() reached; a name the kernel
   * resolves otherwise is written in place rather than renamed onto a name
   * that is not it. */
  struct stat fb;
  if (x->exists && (!S_ISREG(x->sb.st_mode) || lstat(cur, &fb) != 0 || !S_ISREG(fb.st_mode) ||
                    fb.st_dev != x->sb.st_dev || fb.st_ino != x->sb.st_ino))
    direct = 1;
  if (direct) {
    free(cur);
    x->kind = OUT_DIRECT;
  } else {
    x->kind = OUT_FILE;
    x->final = cur;
  }
}

int schedopt_outfile_is_stream(const char *path) {
  examined x;
  examine(path, &x);
  free(x.final);
  free(x.bad_link);
  return !x.err && (x.kind == OUT_STDOUT || x.kind == OUT_FD || x.kind == OUT_DIRECT);
}

/* ---- open -------------------------------------------------------------------------------- */

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
  schedopt_status st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s",
                                          SHOW(given(of)), why);
  discard(of);
  return st;
}

/* Standard output itself.  A closed one is refused before anything is
 * written ("standard output is closed"): closed, or /dev/null (or a folder)
 * open read-only, which is how the CLI keeps a closed descriptor 1 taken so
 * that no file it opens becomes its stdout. */
/* Standard output itself.  A closed one is refused before anything is
 * written ("standard output is closed"): closed, or /dev/null (or a folder)
 * open read-only, which is how the CLI keeps a closed descriptor 1 taken so
 * that no file it opens becomes its stdout. */
static schedopt_status check_stdout(schedopt_error *err) {
  int fl = fcntl(STDOUT_FILENO, F_GETFL);
  if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) return SCHEDOPT_OK;
  struct stat sb, nb;
  int closed = fl < 0 || (fstat(STDOUT_FILENO, &sb) == 0 &&
                          (S_ISDIR(sb.st_mode) || (S_ISCHR(sb.st_mode) &&
                                                   stat("/dev/null", &nb) == 0 &&
                                                   sb.st_rdev == nb.st_rdev)));
  return schedopt_error_set(err, SCHEDOPT_EIO, closed ? "standard output is closed"
                                                      : "standard output is open only for "
                                                        "reading");
}

static schedopt_status open_stdout(schedopt_outfile *of, schedopt_error *err) {
  schedopt_status st = check_stdout(err);
  if (!st) of->fp = stdout;
  return st;
}

/* A descriptor of ours open for writing; else why not. */
static schedopt_status check_fd(int n, const char *shown, schedopt_error *err) {
  char why[64];
  int fl = fcntl(n, F_GETFL);
  if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) return SCHEDOPT_OK;
  if (fl < 0 && errno != EBADF) snprintf(why, sizeof why, "%s", strerror(errno));
  else snprintf(why, sizeof why, "descriptor %d is %s", n,
                fl < 0 ? "not open" : "open only for reading");
  return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(shown), why);
}

/* A descriptor of ours other than stdout (/dev/fd/3, /dev/stderr): written
 * through a dup() of it, so the shell's `3>>log` appends and `2>log`
 * continues at its offset; never renamed over what it is open on. */
static schedopt_status open_fd(schedopt_outfile *of, int n, schedopt_error *err) {
  schedopt_status st = check_fd(n, given(of), err);
  if (st) {
    discard(of);
    return st;
  }
  int fd = fcntl(n, F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || !(of->fp = fdopen(fd, "w"))) {
    int e = errno;
    if (fd >= 0) close(fd);
    return open_failed(of, err, strerror(e));
  }
  return SCHEDOPT_OK;
}

/* A device, a FIFO, a name in /dev: opened for writing in place (created if
 * missing, as the shell's > does).  A FIFO is opened non-blocking first
 * because with no reader a blocking open waits forever; ENXIO then means
 * "no reader". */
static schedopt_status open_direct(schedopt_outfile *of, int exists, mode_t m,
                                   schedopt_error *err) {
  const int fifo = exists && S_ISFIFO(m);
  int fd = open(given(of), O_WRONLY | O_NOCTTY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0) |
                               (!exists ? O_CREAT : 0) | (!exists || S_ISREG(m) ? O_TRUNC : 0),
                0666);
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

/* Fills the last six bytes of tmp (a name of length len) and creates it
 * with O_EXCL and `mode` (0600 for a temporary: nobody else may open it
 * while it is written).  The suffix mixes pid, clock and a counter; a name
 * taken by someone else is retried.  The name is in the signal handler's
 * list (*slot, or −1 without a free slot) before the file exists: a signal
 * that arrives after the kernel made the file, before this function
 * returns, still removes it (the list is filled first, so the handler can
 * only remove a name of someone else's in the instant between a creation
 * that found that very name taken and the slot's release). */
static int create_temp(char *tmp, size_t len, mode_t mode, int *slot) {
  static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static atomic_uint counter;
  *slot = -1;
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
    *slot = pending_add(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    int e = errno;
    pending_drop(*slot);
    *slot = -1;
    if (e != EEXIST) {
      errno = e;
      return -1;
    }
  }
  errno = EEXIST;
  return -1;
}

/* The process's umask, read without umask() (which also sets it: racy
 * between threads) from /proc/self/status (Linux 4.7 and later); -1 if
 * unknown. */
static int read_umask(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int m = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "Umask:", 6)) {
      char *end;
      long v = strtol(line + 6, &end, 8);
      if (end != line + 6 && v >= 0 && v <= 0777) m = (int)v;
      break;
    }
  fclose(f);
  return m;
}

/* A folder with a default ACL gives new files the ACL's mode, not the
 * umask's. */
static int has_default_acl(const char *folder) {
#ifdef __linux__
  return getxattr(folder, "system.posix_acl_default", NULL, 0) > 0;
#else
  (void)folder;
  return 0;
#endif
}

/* The permission bits a new file gets in the folder of tmp: 0666 & ~umask;
 * where that cannot be computed (a default ACL, no /proc), those of an
 * empty probe file created there with 0666 and removed at once.  -1 and
 * errno if the probe fails. */
static int new_file_mode(const char *tmp, const char *folder) {
  int m = has_default_acl(folder) ? -1 : read_umask();
  if (m >= 0) return 0666 & ~m;
  size_t len = strlen(tmp);
  char *probe = strdup(tmp);
  if (!probe) return -1;
  int slot, fd = create_temp(probe, len, 0666, &slot), mode = -1;
  if (fd >= 0) {
    struct stat sb;
    if (fstat(fd, &sb) == 0) mode = (int)(sb.st_mode & 07777);
    int e = errno;
    close(fd);
    unlink(probe);
    pending_drop(slot);
    errno = e;
  }
  free(probe);
  return mode;
}

/* A new or regular file: a temporary beside the final name, mode 0600 until
 * it is complete (settle() gives it its mode and owner just before the
 * rename). */
/* The inode flags of an existing file (chattr): 0 where the file system
 * keeps none or they cannot be read. */
static int inode_flags(const char *path) {
#ifdef FS_IOC_GETFLAGS
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return 0;
  int flags = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) flags = 0; /* ENOTTY, EOPNOTSUPP: none */
  close(fd);
  return flags;
#else
  (void)path;
  return 0;
#endif
}

/* What refuses a new or regular file before anything is created: the same
 * checks for schedopt_outfile_open and schedopt_outfile_check.  final is the
 * name renamed onto, shown the name as given, old its stat (NULL: new). */
static schedopt_status file_checks(const char *final, const char *shown, const struct stat *old,
                                   schedopt_error *err) {
  /* an append-only or immutable file cannot be renamed over (EPERM), though
   * it may pass the W_OK check: refused now, not in phase 2 of a set */
  int fl = old ? inode_flags(final) : 0;
#ifdef FS_IOC_GETFLAGS
  if (fl & (FS_APPEND_FL | FS_IMMUTABLE_FL))
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot replace '%s%s': it is %s", SHOW(shown),
                              fl & FS_IMMUTABLE_FL ? "immutable (chattr +i)"
                                                   : "append-only (chattr +a)");
#else
  (void)fl;
#endif
  /* the shell's > refuses a file we may not write: so do we (a rename
   * would replace it, which only the folder's permission guards) */
  if (old && faccessat(AT_FDCWD, final, W_OK, AT_EACCESS) != 0)
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(shown),
                              strerror(errno));
  char *folder = folder_of(final);
  if (!folder) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  /* In a sticky folder (/tmp) only the file's owner, the folder's owner or
   * root (CAP_FOWNER) may rename onto a file, whatever the file's mode: a
   * rename that would fail is refused now, not in phase 2 of a set after
   * other members were renamed. */
  struct stat ds;
  const uid_t me = geteuid();
  if (old && me != 0 && old->st_uid != me && stat(folder, &ds) == 0 && (ds.st_mode & S_ISVTX) &&
      ds.st_uid != me) {
    free(folder);
    return schedopt_error_set(err, SCHEDOPT_EIO,
                              "cannot replace '%s%s': the folder is sticky and the file belongs "
                              "to another user", SHOW(shown));
  }
  free(folder);
  return SCHEDOPT_OK;
}

/* The message of a temporary that cannot be created in folder (errno e). */
static schedopt_status temp_failed(const char *folder, const char *shown, int replacing, int e,
                                   schedopt_error *err) {
  if (replacing && (e == EACCES || e == EPERM)) /* the file may be writable, but it is replaced by a rename */
    return schedopt_error_set(
        err, SCHEDOPT_EIO,
        "cannot create a temporary file in '%s%s' (the folder is not writable): %s; schedopt "
        "replaces a file by renaming a new one onto it", SHOW(folder), strerror(e));
  return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(shown),
                            strerror(e));
}

/* A new or regular file: a temporary beside the final name, mode 0600 until
 * it is complete (settle() gives it its mode and owner just before the
 * rename). */
static schedopt_status open_temp(schedopt_outfile *of, const struct stat *old,
                                 schedopt_error *err) {
  schedopt_status st = file_checks(of->path, given(of), old, err);
  if (st) {
    discard(of);
    return st;
  }
  char *folder = folder_of(of->path);
  if (!folder) return open_failed(of, err, strerror(ENOMEM));
  /* NAME.tmpXXXXXX, or .schedopt-XXXXXX in the same folder when that would
   * be a name or a path too long for the system (a NAME of 246 bytes) */
  const char *base = base_of(of->path);
  long name_max = pathconf(folder, _PC_NAME_MAX);
  if (name_max <= 0) name_max = NAME_MAX;
  const size_t lp = strlen(of->path);
  const int short_name = strlen(base) + 10 > (size_t)name_max || lp + 10 >= PATH_MAX;
  size_t d = (size_t)(base - of->path);
  size_t len = short_name ? d + 16 : lp + 10;
  if (!(of->tmp = malloc(len + 1))) {
    free(folder);
    return open_failed(of, err, strerror(ENOMEM));
  }
  if (short_name) {
    memcpy(of->tmp, of->path, d);
    memcpy(of->tmp + d, ".schedopt-XXXXXX", 17);
  } else {
    snprintf(of->tmp, len + 1, "%s.tmpXXXXXX", of->path);
  }
  int fd = create_temp(of->tmp, len, 0600, &of->slot);
  if (fd < 0) {
    int e = errno;
    free(of->tmp);
    of->tmp = NULL; /* not created: nothing to unlink */
    st = temp_failed(folder, given(of), old != NULL, e, err);
    free(folder);
    discard(of);
    return st;
  }
  free(folder);
  if (!(of->fp = fdopen(fd, "w"))) {
    int e = errno;
    close(fd);
    return open_failed(of, err, strerror(e));
  }
  return SCHEDOPT_OK;
}

/* The message of a name examine() refused; frees what x holds. */
static schedopt_status examine_failed(examined *x, const char *path, schedopt_error *err) {
  schedopt_status st;
  if (x->bad_link && strcmp(x->bad_link, path))
    st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': '%s%s' is a symbolic link in "
                            "a sticky world-writable folder owned by another user: not followed",
                            SHOW(path), SHOW(x->bad_link));
  else if (x->bad_link)
    st = schedopt_error_set(err, SCHEDOPT_EIO, "'%s%s' is a symbolic link in a sticky "
                            "world-writable folder owned by another user: not followed",
                            SHOW(path));
  else
    st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(path),
                            x->err ? strerror(x->err) : x->why);
  free(x->bad_link);
  free(x->final);
  x->bad_link = x->final = NULL;
  return st;
}

schedopt_status schedopt_outfile_check(const char *path, schedopt_error *err) {
  examined x;
  examine(path, &x);
  if (x.kind == OUT_STDOUT && !x.err) return check_stdout(err);
  if (x.err || x.kind == OUT_REFUSED) return examine_failed(&x, path, err);
  if (x.kind == OUT_FD) return check_fd(x.fd, path, err);
  schedopt_status st = SCHEDOPT_OK;
  const char *final = x.kind == OUT_FILE ? x.final : path;
  if (x.kind == OUT_FILE) st = file_checks(final, path, x.exists ? &x.sb : NULL, err);
  if (!st && x.kind == OUT_DIRECT && x.exists) {
    if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0)
      st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(path),
                              strerror(errno));
  } else if (!st) { /* a temporary, or a new name in /dev, is created in the folder */
    char *folder = folder_of(final);
    if (!folder) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    else if (faccessat(AT_FDCWD, folder, W_OK | X_OK, AT_EACCESS) != 0)
      st = x.kind == OUT_FILE ? temp_failed(folder, path, x.exists, errno, err)
                              : schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s",
                                                   SHOW(path), strerror(errno));
    free(folder);
  }
  free(x.final);
  return st;
}

schedopt_status schedopt_outfile_open(schedopt_outfile *of, const char *path,
                                      schedopt_error *err) {
  memset(of, 0, sizeof *of);
  of->slot = -1;
  examined x;
  examine(path, &x);
  if (x.kind == OUT_STDOUT && !x.err) return open_stdout(of, err);
  if (x.err || x.kind == OUT_REFUSED) return examine_failed(&x, path, err);
  const char *target = x.kind == OUT_FILE ? x.final : path;
  size_t lt = strlen(target), lg = strlen(path);
  if (!(of->path = malloc(lt + lg + 2))) {
    free(x.final);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  memcpy(of->path, target, lt + 1);
  memcpy(of->path + lt + 1, path, lg + 1);
  free(x.final);
  switch (x.kind) {
  case OUT_FD: return open_fd(of, x.fd, err);
  case OUT_DIRECT: return open_direct(of, x.exists, x.sb.st_mode, err);
  default: return open_temp(of, x.exists ? &x.sb : NULL, err);
  }
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

/* Every extended attribute of the file at from (the file being replaced)
 * onto the temporary fd: user.*, security.* and trusted.* where allowed,
 * and system.posix_acl_access (the access ACL; the mode's group bits then
 * show its mask); not security.capability (privileges of a program are not
 * given to new contents).  One that cannot be copied (a name the file system or our
 * privileges refuse) is skipped: the commit goes on.  An ACL that cannot be
 * copied leaves the plain mode bits of the old file (st_mode & 07777, which
 * settle() gives anyway), never more. */
static void copy_xattrs(const char *from, int fd) {
#ifdef __linux__
  ssize_t n = llistxattr(from, NULL, 0);
  if (n <= 0) return;
  char *names = malloc((size_t)n + 1);
  if (!names) return;
  n = llistxattr(from, names, (size_t)n);
  char *val = NULL;
  size_t cap = 0;
  for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
    const char *name = names + i;
    if (!strcmp(name, "security.capability")) continue; /* privileges are not data */
    ssize_t v = lgetxattr(from, name, NULL, 0);
    if (v < 0) continue;
    if ((size_t)v + 1 > cap) {
      char *bigger = realloc(val, (size_t)v + 1);
      if (!bigger) continue;
      val = bigger;
      cap = (size_t)v + 1;
    }
    v = lgetxattr(from, name, val, cap);
    if (v >= 0) (void)fsetxattr(fd, name, val, (size_t)v, 0); /* refused: skipped */
  }
  free(val);
  free(names);
#else
  (void)from;
  (void)fd;
#endif
}

/* A temporary's final attributes, given after its data are written and
 * synced (until then it is 0600 and only ours), from the file it replaces
 * as that is now: its owner and group where they differ (root may give
 * both; an owner may give a group they belong to; a setgid folder gives its
 * own), then its permission bits; a new file's are new_file_mode().  A
 * group that cannot be kept gets no more access than others have (0640
 * becomes 0600, 0664 becomes 0644): the new group is not the one the file
 * was shared with. */
static int settle(schedopt_outfile *of) {
  const int fd = fileno(of->fp);
  struct stat old, tb;
  if (stat(of->path, &old) != 0 || !S_ISREG(old.st_mode)) {
    char *folder = folder_of(of->path);
    int m = folder ? new_file_mode(of->tmp, folder) : -1;
    int e = folder ? errno : ENOMEM;
    free(folder);
    return m < 0 ? e : fchmod(fd, (mode_t)m) != 0 ? errno : 0;
  }
  mode_t mode = old.st_mode & 07777;
  if (fstat(fd, &tb) != 0) return errno;
  if (tb.st_uid != old.st_uid || tb.st_gid != old.st_gid) {
    if (fchown(fd, tb.st_uid != old.st_uid ? old.st_uid : (uid_t)-1,
               tb.st_gid != old.st_gid ? old.st_gid : (gid_t)-1) != 0 &&
        tb.st_gid != old.st_gid && fchown(fd, (uid_t)-1, old.st_gid) != 0) {
      /* not ours to give: the file stays the writer's, as after cp */
    }
    if (fstat(fd, &tb) != 0) return errno;
    if (tb.st_gid != old.st_gid) mode &= ~(mode_t)070 | (mode & 07) << 3;
  }
  copy_xattrs(of->path, fd);
  /* last: with an access ACL copied, chmod sets its mask to these group
   * bits (the old mask, or narrower): never wider than the old file */
  return fchmod(fd, mode) != 0 ? errno : 0;
}

/* Phase 1: flush, check, fsync (the data are on disk before the rename
 * makes them the file: a crash leaves the old file or the new one, never an
 * empty one), attributes, close. */
static schedopt_status finish(schedopt_outfile *of, int werr, schedopt_error *err) {
  if (!of->fp) return SCHEDOPT_OK;
  int e = 0;
  errno = 0;
  if (fflush(of->fp) != 0)
    e = errno ? errno : EIO;
  else if (ferror(of->fp))
    e = werr ? werr : stream_errno(of);
  if (!of->path) /* stdout: stays open; main() checks it once more at exit */
    return e ? schedopt_error_set(err, SCHEDOPT_EIO, "cannot write to standard output: %s",
                                  strerror(e))
             : SCHEDOPT_OK;
  if (!e && of->tmp && fsync(fileno(of->fp)) != 0) e = errno;
  if (!e && of->tmp) e = settle(of);
  if (fclose(of->fp) != 0 && !e) e = errno;
  of->fp = NULL;
  return e ? schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(given(of)),
                                strerror(e))
           : SCHEDOPT_OK;
}

/* Phase 2: rename the temporary onto the final name. */
static schedopt_status place(schedopt_outfile *of, schedopt_error *err) {
  if (!of->tmp) return SCHEDOPT_OK;
  if (rename(of->tmp, of->path) != 0)
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s%s': %s", SHOW(given(of)),
                              strerror(errno));
  pending_drop(of->slot); /* after the rename: a signal before it still removes tmp */
  of->slot = -1;
  free(of->tmp);
  of->tmp = NULL;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_outfile_commit(schedopt_outfile *of, schedopt_error *err) {
  schedopt_status st = finish(of, 0, err);
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
  int has_id;           /* the regular file it writes (a stream's, or the file replaced) */
  dev_t id_dev;
  ino_t id_ino;
  int werr;             /* errno of an early flush that failed (written directly), or 0 */
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
  m->base = base_of(m->of.path);
  char *dir = folder_of(m->of.path);
  if (!dir) return ENOMEM;
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
  /* What earlier members wrote directly goes out before this one starts:
   * two on one descriptor or device come out one after the other. */
  for (size_t i = 0; i < set->n; i++)
    if (set->m[i].of.fp && !set->m[i].of.tmp && !set->m[i].werr) {
      errno = 0;
      if (fflush(set->m[i].of.fp) != 0) set->m[i].werr = errno ? errno : EIO; /* for the commit */
    }
  schedopt_status st = schedopt_outfile_open(&m->of, path, err);
  if (st) return st;
  /* Its identity: the regular file a stream is open on, or the existing file
   * a temporary will replace.  One already written by an earlier member
   * (stdout redirected to o_schedule.csv, then the export o_schedule.csv)
   * would be renamed over, the earlier output silently lost. */
  struct stat ib;
  if (m->of.tmp ? stat(m->of.path, &ib) == 0 : fstat(fileno(m->of.fp), &ib) == 0) {
    if (S_ISREG(ib.st_mode)) {
      m->has_id = 1;
      m->id_dev = ib.st_dev;
      m->id_ino = ib.st_ino;
    }
  }
  for (size_t i = 0; m->has_id && i < set->n; i++) {
    const outset_member *o = &set->m[i];
    if (!o->has_id || o->id_dev != m->id_dev || o->id_ino != m->id_ino) continue;
    if (!o->of.tmp && !m->of.tmp) continue; /* streams on one file: in turn, nothing renamed */
    const char *name = path ? path : "-";
    if (!o->of.path) /* the earlier one is standard output */
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "two outputs to one file '%s%s' (standard "
                              "output is that file)", SHOW(name));
    else if (!m->of.path)
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "two outputs to one file '%s%s' (standard "
                              "output is that file)", SHOW(given(&o->of)));
    else
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "two outputs to one file '%s%s' ('%s%s' is "
                              "that file)", SHOW(name), SHOW(given(&o->of)));
    discard(&m->of);
    return st;
  }
  if (m->of.tmp) {
    int e = member_key(m);
    if (e) return open_failed(&m->of, err, strerror(e));
    for (size_t i = 0; i < set->n; i++)
      if (set->m[i].keyed && set->m[i].dev == m->dev && set->m[i].ino == m->ino &&
          !strcmp(set->m[i].base, m->base)) {
        st = schedopt_error_set(err, SCHEDOPT_EINVAL, "two outputs to one file '%s%s'",
                                SHOW(path));
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
  for (size_t i = 0; i < set->n && !st; i++) st = finish(&set->m[i].of, set->m[i].werr, err);
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
      schedopt_status st = schedopt_error_set(err, SCHEDOPT_EIO,
                                              "%s%s: cannot create the folder: %s", SHOW(d),
                                              strerror(errno));
      free(d);
      return st;
    }
    d[i] = c;
  }
  free(d);
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return schedopt_error_set(err, SCHEDOPT_EIO, "%s%s: not a folder", SHOW(dir));
  return SCHEDOPT_OK;
}
