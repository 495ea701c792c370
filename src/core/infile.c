/* infile.c — see infile.h. */
#define _POSIX_C_SOURCE 200809L
#include "core/infile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif

/* What a file that is not regular is ("is a FIFO, not a regular file"). */
static const char *kind_of(mode_t m) {
  if (S_ISDIR(m)) return "is a directory, not a regular file";
  if (S_ISFIFO(m)) return "is a FIFO, not a regular file";
  if (S_ISCHR(m)) return "is a character device, not a regular file";
  if (S_ISBLK(m)) return "is a block device, not a regular file";
  if (S_ISSOCK(m)) return "is a socket, not a regular file";
  return "is not a regular file";
}

static schedopt_status not_regular(schedopt_error *err, const char *path, const char *note,
                                   mode_t m) {
  if (note) return schedopt_error_set(err, SCHEDOPT_EIO, "'%s' %s", path, kind_of(m));
  return schedopt_error_set(err, SCHEDOPT_EIO, "%s: error: '%s' %s", path, path, kind_of(m));
}

/* "cannot open PATH: reason", or "PATH: error: cannot open: reason". */
static schedopt_status cannot(schedopt_error *err, const char *path, const char *note,
                              const char *verb, int e) {
  if (note)
    return schedopt_error_set(err, SCHEDOPT_EIO, "cannot %s %s: %s", verb, path, strerror(e));
  return schedopt_error_set(err, SCHEDOPT_EIO, "%s: error: cannot %s: %s", path, verb,
                            strerror(e));
}

static schedopt_status too_large(schedopt_error *err, const char *path, size_t max_bytes,
                                 const char *note) {
  if (note)
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "%s: the file is larger than %zu MiB (%s)",
                              path, max_bytes >> 20, note);
  return schedopt_error_set(err, SCHEDOPT_ENOMEM, "%s: error: the file is larger than %zu MiB",
                            path, max_bytes >> 20);
}

schedopt_status schedopt_infile_open(const char *path, size_t max_bytes, const char *note,
                                     int *fd, size_t *size, schedopt_error *err) {
  *fd = -1;
  if (size) *size = 0;
  if (!path) return schedopt_error_set(err, SCHEDOPT_EINVAL, "infile_open: NULL path");
  /* stat first: a device is refused without being opened (opening one can
   * act: rewind a tape, arm a watchdog); fstat below confirms the file that
   * was opened is the regular file seen here */
  struct stat pre;
  if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode))
    return not_regular(err, path, note, pre.st_mode);
  int d;
  do d = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  while (d < 0 && errno == EINTR);
  if (d < 0) {
    int e = errno;
    struct stat sb; /* a socket cannot be opened: say what it is */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
      return not_regular(err, path, note, sb.st_mode);
    return cannot(err, path, note, "open", e);
  }
  struct stat sb;
  if (fstat(d, &sb) != 0) {
    int e = errno;
    close(d);
    return cannot(err, path, note, "read", e);
  }
  if (!S_ISREG(sb.st_mode)) {
    close(d);
    return not_regular(err, path, note, sb.st_mode);
  }
  if (sb.st_size < 0 || (unsigned long long)sb.st_size > (unsigned long long)max_bytes) {
    close(d);
    return too_large(err, path, max_bytes, note);
  }
  int fl = fcntl(d, F_GETFL);
  if (fl == -1 || fcntl(d, F_SETFL, fl & ~O_NONBLOCK) == -1) {
    int e = errno;
    close(d);
    return cannot(err, path, note, "read", e);
  }
  *fd = d;
  if (size) *size = (size_t)sb.st_size;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_infile_fopen(const char *path, size_t max_bytes, const char *note,
                                      FILE **f, schedopt_error *err) {
  *f = NULL;
  int fd;
  schedopt_status st = schedopt_infile_open(path, max_bytes, note, &fd, NULL, err);
  if (st) return st;
  if (!(*f = fdopen(fd, "rb"))) {
    int e = errno;
    close(fd);
    return cannot(err, path, note, "read", e);
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_infile_read(const char *path, size_t max_bytes, const char *note,
                                     char **text, size_t *len, schedopt_error *err) {
  *text = NULL;
  *len = 0;
  int fd;
  size_t size;
  schedopt_status st = schedopt_infile_open(path, max_bytes, note, &fd, &size, err);
  if (st) return st;
  /* room for one byte more than the size, so a file that grew is noticed;
   * files of /proc report size 0 and grow the buffer */
  size_t cap = size + 1, n = 0;
  if (cap < 4096) cap = 4096;
  if (cap > max_bytes + 1) cap = max_bytes + 1;
  char *buf = malloc(cap + 1);
  if (!buf) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory reading %s", path);
  while (!st) {
    if (n == cap) {
      if (cap > max_bytes) {
        st = too_large(err, path, max_bytes, note);
        break;
      }
      size_t nc = cap > max_bytes / 2 ? max_bytes + 1 : 2 * cap;
      char *nb = realloc(buf, nc + 1);
      if (!nb) {
        st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory reading %s", path);
        break;
      }
      buf = nb;
      cap = nc;
    }
    ssize_t k = read(fd, buf + n, cap - n);
    if (k < 0) {
      if (errno == EINTR) continue;
      st = cannot(err, path, note, "read", errno);
      break;
    }
    if (k == 0) break;
    n += (size_t)k;
  }
  close(fd);
  if (st) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return SCHEDOPT_OK;
}
