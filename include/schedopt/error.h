/* schedopt/error.h — status codes and the error record every call fills.
 *
 * Every fallible schedopt function returns a schedopt_status and, when it is
 * not SCHEDOPT_OK, leaves a human-readable message in the schedopt_error the
 * caller passed (which may be NULL when the caller does not want it).
 * There is no global error state. */
#ifndef SCHEDOPT_ERROR_H
#define SCHEDOPT_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum schedopt_status {
  SCHEDOPT_OK = 0,
  SCHEDOPT_EINVAL = 1,   /* a value out of range, unknown key, wrong type: user input */
  SCHEDOPT_EPARSE = 2,   /* malformed file (YAML/CSV syntax) */
  SCHEDOPT_EIO = 3,      /* cannot open, read or write a file */
  SCHEDOPT_ENOMEM = 4,   /* allocation failed or a size limit was exceeded */
  SCHEDOPT_ESOLVER = 5,  /* CVODES or NLopt reported a failure */
  SCHEDOPT_EDIVERGE = 6, /* the dynamics diverged (schedule past the stability limit) */
  SCHEDOPT_EINTERNAL = 7 /* a broken invariant: a bug */
} schedopt_status;

#define SCHEDOPT_ERRMSG_LEN 1024

typedef struct schedopt_error {
  schedopt_status code;
  char msg[SCHEDOPT_ERRMSG_LEN];
} schedopt_error;

/* Stable lower-case name of a status ("ok", "invalid-input", ...). */
const char *schedopt_status_name(schedopt_status s);

/* Record code and a printf-style message in err (if non-NULL); returns code so
 * callers can write `return schedopt_error_set(err, SCHEDOPT_EINVAL, ...)`. */
schedopt_status schedopt_error_set(schedopt_error *err, schedopt_status code,
                                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prepend context ("while reading x.csv: ") to an existing message. */
void schedopt_error_prefix(schedopt_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void schedopt_error_clear(schedopt_error *err);

#ifdef __cplusplus
}
#endif
#endif
