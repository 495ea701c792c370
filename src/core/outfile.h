/* Atomic output files: write to a temporary file in the target's folder and
 * rename it into place on commit, so a failed run never leaves a partial
 * table and never clobbers an existing file.  NULL or "-" is stdout.
 *
 * What the name is decides how it is written (the file system, not the
 * caller, knows what it is):
 *   missing, or a regular file      temporary NAME.tmpXXXXXX in its folder,
 *                                   fsync'ed, renamed onto NAME (a crash
 *                                   leaves the old file or the new one);
 *                                   an existing file's permission bits are
 *                                   kept (0600 stays 0600), a new one gets
 *                                   0666 & ~umask; a file we may not write
 *                                   is refused, as the shell's > would
 *   a symbolic link                 written THROUGH: the chain is followed
 *                                   and the file it ends at is replaced as
 *                                   above (the link stays a link); a dangling
 *                                   link creates the file it names, as > does
 *   a character device or a FIFO    written directly, no temporary and no
 *                                   rename (a device cannot be replaced, and
 *                                   -o /dev/null must stay /dev/null); a FIFO
 *                                   without a reader is refused (no reader:
 *                                   the open would block forever)
 *   /dev/stdout, /dev/fd/1          standard output itself (its stream, so
 *                                   nothing printed to stdout interleaves)
 *   a directory, a block device,    refused, naming what the path is
 *   a socket
 * Every write, flush, fsync and close is checked: a full disk, a file over
 * `ulimit -f` (the CLI ignores SIGXFSZ so that is EFBIG) or a closed pipe is
 * "cannot write 'NAME': <reason>" and the temporary file is removed. */
#ifndef SCHEDOPT_OUTFILE_H
#define SCHEDOPT_OUTFILE_H

#include <stdio.h>
#include "schedopt/error.h"

typedef struct schedopt_outfile {
  FILE *fp;
  /* The file renamed onto (a symlink's final target), NULL for stdout; the
   * name as given follows its terminating NUL (one allocation), for messages. */
  char *path;
  char *tmp;  /* temporary name; NULL when written directly (device, FIFO, stdout) */
  int slot;   /* its entry in the list of pending temporary files, or -1 */
} schedopt_outfile;

schedopt_status schedopt_outfile_open(schedopt_outfile *of, const char *path,
                                      schedopt_error *err);
/* Flush, check, fsync, close and rename; on failure the temporary file is
 * removed and an existing file is left as it was.  For stdout: flush and
 * check ("cannot write to standard output: <reason>"). */
schedopt_status schedopt_outfile_commit(schedopt_outfile *of, schedopt_error *err);
/* Drop the temporary file (what went to a device, a FIFO or stdout stays). */
void schedopt_outfile_abort(schedopt_outfile *of);

/* Unlink every temporary file that is open right now (not yet committed or
 * aborted).  Async-signal-safe: the CLI's SIGINT/SIGTERM handler calls it so
 * that an interrupted run leaves no temporary file behind. */
void schedopt_outfile_unlink_pending(void);

/* mkdir -p: dir and its missing parents; an existing non-folder is an error. */
schedopt_status schedopt_outfile_mkdirs(const char *dir, schedopt_error *err);

/* ---- output sets ------------------------------------------------------------
 * Several files of one result (optimize's schedule.csv, baselines.csv,
 * summary.json, summary.txt; a table and its figure) committed together or
 * not at all: a failure while writing any of them must not leave a new
 * schedule.csv beside the previous run's summary.json.
 *
 * Converting a caller that does open / fill / commit per file:
 *     schedopt_outset *set = NULL;
 *     st = schedopt_outset_alloc(&set, err);
 *     for each file:  if (!st) st = schedopt_outset_open(set, path, &fp, err);
 *                     if (!st) st = fill(fp, err);
 *     if (!st) st = schedopt_outset_commit(set, err);   (else: nothing renamed)
 *     schedopt_outset_free(set);                        (aborts what is left)
 * Each member is a schedopt_outfile (same rules for symlinks, devices, stdout;
 * its temporary file is in the signal clean-up list until it is renamed). */
typedef struct schedopt_outset schedopt_outset;

schedopt_status schedopt_outset_alloc(schedopt_outset **out, schedopt_error *err);
/* Aborts the members not committed; NULL is a no-op. */
void schedopt_outset_free(schedopt_outset *set);

/* Open a member: its stream in *fp.  The same file twice is refused ("two
 * outputs to one file 'fig.svg'": the second rename would silently replace
 * the first); names are compared as resolved (./a, a, a link to a: one
 * file).  Devices, FIFOs and stdout may repeat: they take both in turn. */
schedopt_status schedopt_outset_open(schedopt_outset *set, const char *path, FILE **fp,
                                     schedopt_error *err);

/* Two phases.  1: flush, check, fsync and close every member; 2: only if all
 * of them succeeded, rename them in the order they were opened (open the
 * file that marks a complete result, e.g. summary.json, last).  A failure in
 * phase 1 unlinks every temporary file and leaves every existing file as it
 * was.  Phase 2 fails only if the folder changes under us (renames in one
 * folder do not fail for lack of space); the members renamed stay, the rest
 * are removed.  Members written directly (device, FIFO, stdout) got their
 * bytes as they were written: only files are all-or-nothing.  After commit,
 * success or not, the set is empty and may be reused. */
schedopt_status schedopt_outset_commit(schedopt_outset *set, schedopt_error *err);

/* Drop every member's temporary file; the set is empty afterwards. */
void schedopt_outset_abort(schedopt_outset *set);

#endif
