/* Atomic output files: write to a temporary file in the target's folder and
 * rename it into place on commit, so a failed run never leaves a partial
 * table and never clobbers an existing file.  NULL or "-" is stdout.
 *
 * What the name is decides how it is written (the file system, not the
 * caller, knows what it is):
 *   missing, or a regular file      temporary NAME.tmpXXXXXX in its folder
 *                                   (.schedopt-XXXXXX there when NAME is too
 *                                   long for the suffix: over NAME_MAX or
 *                                   PATH_MAX), fsync'ed, renamed onto NAME (a
 *                                   crash leaves the old file or the new one).
 *                                   The temporary is 0600 until its data are
 *                                   written and synced; then it gets the
 *                                   existing file's permission bits (0600
 *                                   stays 0600) and owner and group (see
 *                                   below), or for a new file 0666 & ~umask
 *                                   (the umask read from /proc/self/status,
 *                                   never set; where it is unknown or the
 *                                   folder has a default ACL, the mode an
 *                                   empty probe file gets there).  Refused
 *                                   at open, before anything is written:
 *                                   a file we may not write (as the shell's
 *                                   > does); in a sticky folder (/tmp) a file
 *                                   of another user when we are not root
 *                                   ("the folder is sticky and the file
 *                                   belongs to another user": its rename
 *                                   would fail); a folder where no temporary
 *                                   file can be created ("the folder is not
 *                                   writable": a writable file there cannot
 *                                   be replaced by a rename); a file that is
 *                                   append-only or immutable (chattr +a, +i:
 *                                   inode flags read with FS_IOC_GETFLAGS;
 *                                   a file system without flags has none)
 *   extended attributes             of a replaced file are copied onto the
 *                                   new one (user.*, the access ACL
 *                                   system.posix_acl_access, security.* and
 *                                   trusted.* where allowed; never
 *                                   security.capability).  One that cannot be
 *                                   copied is skipped; an ACL that cannot be
 *                                   copied leaves the old plain mode bits
 *                                   (st_mode & 07777), never wider ones
 *   owner and group                 kept where they differ from the new
 *                                   file's: root gives both; an owner gives
 *                                   a group they belong to (a setgid folder
 *                                   would give its own).  A group that cannot
 *                                   be kept gets no more access than others
 *                                   (0640 becomes 0600): the new group is not
 *                                   the one the file was shared with.  An
 *                                   owner that cannot be kept (not root):
 *                                   the file becomes the writer's, as cp
 *   a symbolic link                 written THROUGH: the chain is followed
 *                                   and the file it ends at is replaced as
 *                                   above (the link stays a link); a dangling
 *                                   link creates the file it names, as > does.
 *                                   As the kernel's fs.protected_symlinks: a
 *                                   link in a sticky world-writable folder
 *                                   that belongs neither to us (euid) nor to
 *                                   the folder's owner is not followed, at
 *                                   any link of the chain ("'st/l.csv' is a
 *                                   symbolic link in a sticky world-writable
 *                                   folder owned by another user")
 *   a character device or a FIFO    written directly, no temporary and no
 *                                   rename (a device cannot be replaced, and
 *                                   -o /dev/null must stay /dev/null); a FIFO
 *                                   without a reader is refused (no reader:
 *                                   the open would block forever)
 *   this process's descriptors      by the canonical folder (realpath of the
 *                                   folder part, every name on a link chain):
 *                                   /dev/fd/N, /proc/self/fd/N, /proc/PID/fd/N
 *                                   and /dev/stdin, /dev/stdout, /dev/stderr
 *                                   (also /dev/./stdout, //dev/stdout, a link
 *                                   to them) are descriptor N, 0, 1, 2: 1 is
 *                                   standard output itself (its stream, so
 *                                   nothing printed to stdout interleaves),
 *                                   another is written through a dup() of it
 *                                   (`3>>log` appends); never renamed over the
 *                                   file it is open on.  A descriptor not
 *                                   open, or open only for reading, is
 *                                   refused; so is a closed stdout ("standard
 *                                   output is closed": the CLI keeps a closed
 *                                   0, 1, 2 taken by /dev/null read-only)
 *   any other name in /dev          written in place, never renamed over
 *   a name under /proc (not fd),    refused, naming what the path is
 *   a directory, a block device,
 *   a socket
 * Every write, flush, fsync and close is checked: a full disk, a file over
 * `ulimit -f` (the CLI ignores SIGXFSZ so that is EFBIG) or a closed pipe
 * (the CLI ignores SIGPIPE so that is EPIPE) is "cannot write 'NAME':
 * <reason>" and the temporary file is removed.  A path over 300 bytes is
 * shown in messages as "…" and its last 300 bytes, so the reason fits. */
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
/* Examine path exactly as schedopt_outfile_open would (what kind of name it
 * is, its symlink chain, the folder writable, the sticky, append-only and
 * immutable rules, name length) and report the same error, but create
 * nothing, open nothing for writing and leave no trace: for a caller about
 * to start a long computation.  Not checked (it would need an open for
 * writing): whether a FIFO has a reader.  What it found may change before
 * the open, which checks again. */
schedopt_status schedopt_outfile_check(const char *path, schedopt_error *err);
/* Flush, check, fsync, close and rename; on failure the temporary file is
 * removed and an existing file is left as it was.  For stdout: flush and
 * check ("cannot write to standard output: <reason>"). */
schedopt_status schedopt_outfile_commit(schedopt_outfile *of, schedopt_error *err);
/* Drop the temporary file (what went to a device, a FIFO or stdout stays). */
void schedopt_outfile_abort(schedopt_outfile *of);

/* 1 if path is written as a stream, not replaced by a file: standard output
 * (NULL, "-", an alias of it), a descriptor of ours, a device, a FIFO, a name
 * in /dev.  Callers that put more files next to an output (STEM.svg) use
 * it: /dev/null_schedule.csv is no place for them. */
int schedopt_outfile_is_stream(const char *path);

/* Unlink every temporary file that is open right now (not yet committed or
 * aborted).  Async-signal-safe: the CLI's handler of SIGINT, SIGTERM and the
 * other signals that end a process calls it so that an interrupted run
 * leaves no temporary file behind. */
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
 * file), and by identity (device and inode): a stream or descriptor member
 * open on a regular file (`-o - > o_schedule.csv`, `-o /dev/fd/3 3> o.svg`)
 * and a file member replacing that same existing file are refused ("two
 * outputs to one file 'o_schedule.csv' (standard output is that file)").
 * Devices, FIFOs and stdout may repeat: they take both in turn, and so may
 * two stream members on one regular file (nothing is renamed over it).
 * Order: opening a member first flushes every earlier member written
 * directly (stdout, a descriptor, a device, a FIFO), so members that share a
 * descriptor or device come out one after the other when each is filled
 * before the next is opened (as in the pattern above), not interleaved at
 * buffer boundaries.  A failure of that early flush is reported by the
 * commit, with its reason. */
schedopt_status schedopt_outset_open(schedopt_outset *set, const char *path, FILE **fp,
                                     schedopt_error *err);

/* Two phases.  1: flush, check, fsync and close every member; 2: only if all
 * of them succeeded, rename them in the order they were opened (open the
 * file that marks a complete result, e.g. summary.json, last).  A failure in
 * phase 1 unlinks every temporary file and leaves every existing file as it
 * was.  Phase 2 fails only if the folder changes under us (renames in one
 * folder do not fail for lack of space; what would refuse a rename, a
 * sticky folder's file of another user, is refused at open): a name became
 * a folder, the folder was made read-only or removed, its owner or a file's
 * changed meanwhile.  Then the members renamed stay, the rest are removed.  Members written directly (device, FIFO, stdout) got their
 * bytes as they were written: only files are all-or-nothing.  After commit,
 * success or not, the set is empty and may be reused. */
schedopt_status schedopt_outset_commit(schedopt_outset *set, schedopt_error *err);

/* Drop every member's temporary file; the set is empty afterwards. */
void schedopt_outset_abort(schedopt_outset *set);

#endif
