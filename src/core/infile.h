/* infile.h — the one way schedopt opens an input file (problem files, fit and
 * sweep specs, CSV tables, loss logs): regular files only.
 *
 * The file is opened with O_NONBLOCK (so opening a FIFO does not wait for a
 * writer), checked with fstat and refused unless it is a regular file, with a
 * message saying what it is ("'x' is a FIFO, not a regular file", "'x' is a
 * directory, not a regular file", ...); then O_NONBLOCK is cleared.  A file
 * larger than the caller's limit is refused unread (SCHEDOPT_ENOMEM).
 *
 * Messages: with note == NULL the file is itself the source of the input
 * (a problem or spec file) and every message starts "PATH: error: "; with a
 * note the file was named by a key and the caller prefixes that key's place
 * (messages are "cannot open PATH: ...", "PATH: the file is larger than N MiB
 * (NOTE)", "'PATH' is a FIFO, not a regular file"). */
#ifndef SCHEDOPT_INFILE_H
#define SCHEDOPT_INFILE_H

#include <stddef.h>
#include <stdio.h>

#include "schedopt/error.h"

/* The checked file as a descriptor (close it) and its size in *size (may be
 * NULL): SCHEDOPT_EIO when it cannot be opened or is not a regular file. */
schedopt_status schedopt_infile_open(const char *path, size_t max_bytes, const char *note,
                                     int *fd, size_t *size, schedopt_error *err);

/* The same as a stream "rb" (fclose it). */
schedopt_status schedopt_infile_fopen(const char *path, size_t max_bytes, const char *note,
                                      FILE **f, schedopt_error *err);

/* The whole file, malloc'ed and NUL-terminated, in *text (*len bytes); more
 * than max_bytes (also when it grows while read) is refused. */
schedopt_status schedopt_infile_read(const char *path, size_t max_bytes, const char *note,
                                     char **text, size_t *len, schedopt_error *err);

#endif
