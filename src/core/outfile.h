/* Atomic output files: write to a temporary file in the target's folder and
 * rename it into place on commit, so a failed run never leaves a partial
 * table and never clobbers an existing file.  NULL or "-" is stdout. */
#ifndef SCHEDOPT_OUTFILE_H
#define SCHEDOPT_OUTFILE_H

#include <stdio.h>
#include "schedopt/error.h"

typedef struct schedopt_outfile {
  FILE *fp;
  char *path; /* final name, NULL for stdout */
  char *tmp;  /* temporary name */
  int slot;   /* its entry in the list of pending temporary files, or -1 */
} schedopt_outfile;

schedopt_status schedopt_outfile_open(schedopt_outfile *of, const char *path,
                                      schedopt_error *err);
/* Flush, close and rename; on failure the temporary file is removed. */
schedopt_status schedopt_outfile_commit(schedopt_outfile *of, schedopt_error *err);
/* Drop the temporary file. */
void schedopt_outfile_abort(schedopt_outfile *of);

/* Unlink every temporary file that is open right now (not yet committed or
 * aborted).  Async-signal-safe: the CLI's SIGINT/SIGTERM handler calls it so
 * that an interrupted run leaves no temporary file behind. */
void schedopt_outfile_unlink_pending(void);

/* mkdir -p: dir and its missing parents; an existing non-folder is an error. */
schedopt_status schedopt_outfile_mkdirs(const char *dir, schedopt_error *err);

#endif
