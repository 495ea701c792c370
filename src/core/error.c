#include "schedopt/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *schedopt_status_name(schedopt_status s) {
  switch (s) {
  case SCHEDOPT_OK: return "ok";
  case SCHEDOPT_EINVAL: return "invalid-input";
  case SCHEDOPT_EPARSE: return "parse-error";
  case SCHEDOPT_EIO: return "io-error";
  case SCHEDOPT_ENOMEM: return "out-of-memory";
  case SCHEDOPT_ESOLVER: return "solver-failure";
  case SCHEDOPT_EDIVERGE: return "diverged";
  case SCHEDOPT_EINTERNAL: return "internal-error";
  }
  return "unknown";
}

schedopt_status schedopt_error_set(schedopt_error *err, schedopt_status code,
                                   const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void schedopt_error_prefix(schedopt_error *err, const char *fmt, ...) {
  if (!err) return;
  char old[SCHEDOPT_ERRMSG_LEN];
  memcpy(old, err->msg, sizeof old);
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  if (k < 0) k = 0;
  size_t used = (size_t)k < sizeof err->msg ? (size_t)k : sizeof err->msg - 1;
  size_t room = sizeof err->msg - 1 - used, len = strlen(old);
  if (len > room) len = room;
  memcpy(err->msg + used, old, len);
  err->msg[used + len] = '\0';
}

void schedopt_error_clear(schedopt_error *err) {
  if (!err) return;
  err->code = SCHEDOPT_OK;
  err->msg[0] = '\0';
}
