#define _POSIX_C_SOURCE 200809L
#include "core/outfile.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#define PENDING_SLOTS 16
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

schedopt_status schedopt_outfile_open(schedopt_outfile *of, const char *path,
                                      schedopt_error *err) {
  memset(of, 0, sizeof *of);
  of->slot = -1;
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
  of->slot = pending_add(of->tmp);
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
  pending_drop(of->slot); /* after the rename: a signal before it still removes tmp */
  free(of->path);
  free(of->tmp);
  memset(of, 0, sizeof *of);
  return st;
}

void schedopt_outfile_abort(schedopt_outfile *of) {
  if (of->path) {
    if (of->fp) fclose(of->fp);
    unlink(of->tmp);
    pending_drop(of->slot);
  }
  free(of->path);
  free(of->tmp);
  memset(of, 0, sizeof *of);
}

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
