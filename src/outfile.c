#define _POSIX_C_SOURCE 200809L
#include "outfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

schedopt_status schedopt_outfile_open(schedopt_outfile *of, const char *path,
                                      schedopt_error *err) {
  memset(of, 0, sizeof *of);
  if (!path || !strcmp(path, "-")) {
    of->fp = stdout;
    return SCHEDOPT_OK;
  }
  size_t len = strlen(path);
  of->path = strdup(path);
  of->tmp = malloc(len + 16);
  if (!of->path || !of->tmp) {
    free(of->path);
    free(of->tmp);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  snprintf(of->tmp, len + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(of->tmp);
  if (fd >= 0) { /* mkstemp creates 0600: give the file the usual 0666 & ~umask */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
  }
  if (fd < 0 || !(of->fp = fdopen(fd, "w"))) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlink(of->tmp);
    }
    schedopt_status st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", path,
                                            strerror(e));
    free(of->path);
    free(of->tmp);
    memset(of, 0, sizeof *of);
    return st;
  }
  return SCHEDOPT_OK;
}

schedopt_status schedopt_outfile_commit(schedopt_outfile *of, schedopt_error *err) {
  if (!of->path) {
    fflush(of->fp);
    return SCHEDOPT_OK;
  }
  int bad = ferror(of->fp);
  int e = errno;
  if (fclose(of->fp) != 0 && !bad) {
    bad = 1;
    e = errno;
  }
  of->fp = NULL;
  if (!bad && rename(of->tmp, of->path) != 0) {
    bad = 1;
    e = errno;
  }
  schedopt_status st = SCHEDOPT_OK;
  if (bad) {
    unlink(of->tmp);
    st = schedopt_error_set(err, SCHEDOPT_EIO, "cannot write '%s': %s", of->path, strerror(e));
  }
  free(of->path);
  free(of->tmp);
  memset(of, 0, sizeof *of);
  return st;
}

void schedopt_outfile_abort(schedopt_outfile *of) {
  if (of->path) {
    if (of->fp) fclose(of->fp);
    unlink(of->tmp);
  }
  free(of->path);
  free(of->tmp);
  memset(of, 0, sizeof *of);
}
