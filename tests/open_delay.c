/* Preloaded into the CLI by test_outputs: open() with O_EXCL of a name
 * holding ".tmp" (the CLI's temporaries) sleeps 400 ms after the kernel made
 * the file, so that a signal can be sent in the instant between the file's
 * creation and open()'s return. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

typedef int (*open_fn)(const char *, int, ...);

static int delayed(open_fn real, const char *path, int flags, mode_t mode) {
  const int fd = real(path, flags, mode);
  if (fd >= 0 && (flags & O_EXCL) && strstr(path, ".tmp")) {
    struct timespec ts = {0, 400000000L};
    nanosleep(&ts, NULL);
  }
  return fd;
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return delayed((open_fn)dlsym(RTLD_NEXT, "open"), path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return delayed((open_fn)dlsym(RTLD_NEXT, "open64"), path, flags, mode);
}
