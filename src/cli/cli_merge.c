/* schedopt merge: join the shard files of a sweep run with --shard K/N. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "schedopt/sweep.h"

static const char *help =
    "Usage: schedopt merge SHARD... -o DIR [-q]\n"
    "\n"
    "Join the shards of a sweep ('schedopt sweep --shard K/N -o D' writes\n"
    "D/sweep-shard-K-of-N.json).  Each SHARD is a shard file or a folder holding\n"
    "them.  The shards must come from the same problem file, overrides and sweep,\n"
    "and cover every case exactly once; the result is what the unsharded sweep\n"
    "writes (byte for byte): DIR/sweep.csv, DIR/sweep.json, DIR/summary.txt, with\n"
    "the fitted slopes.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR      output folder (created if missing); '-' or none: the\n"
    "                        summary on standard output only\n"
    "  -q, --quiet           no summary on standard output\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 success; 2 bad input (missing, duplicate or mismatched shards).\n";

static int run(int argc, char **argv) {
  const char **paths = calloc((size_t)argc + 1, sizeof *paths);
  size_t np = 0;
  const char *out = NULL;
  int quiet = 0, rc = 0;
  if (!paths) return 1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(help, stdout);
      free(paths);
      return 0;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (i + 1 >= argc) {
        free(paths);
        return cli_usage_error("merge", "%s needs a folder", a);
      }
      out = argv[++i];
    } else if (!strncmp(a, "--output=", 9)) {
      out = a + 9;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (a[0] == '-' && a[1]) {
      free(paths);
      return cli_usage_error("merge", "unknown option '%s'", a);
    } else {
      paths[np++] = a;
    }
  }
  if (!np) {
    free(paths);
    return cli_usage_error("merge", "missing shard files or folders");
  }
  if (out && !strcmp(out, "-")) out = NULL;
  schedopt_error err = {0};
  if ((!out || !quiet) && !cli_stdout_ok(&err)) { /* the summary, found before the merge */
    free(paths);
    return cli_fail(&err);
  }
  schedopt_sweep *s = NULL;
  schedopt_status st = schedopt_sweep_merge(&s, paths, np, &err);
  if (!st && out) st = schedopt_sweep_write(s, out, &err);
  if (!st && (!out || !quiet)) {
    st = schedopt_sweep_write_text(s, stdout, &err);
    if (!st && out) printf("  wrote      %s/{sweep.csv, sweep.json, summary.txt}\n", out);
  }
  if (st) rc = cli_fail(&err);
  schedopt_sweep_free(s);
  free(paths);
  return rc;
}

const cli_command cli_merge = {"merge", "join the shard files of a sweep (--shard K/N)", run};
