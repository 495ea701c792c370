/* Command-line front end: one file per command (cli_<name>.c), shared
 * helpers here.  Exit codes: 0 success, 2 bad input (usage, YAML, values,
 * files, sizes over a limit or too big for memory), 1 a run that failed
 * (solver failure, divergence). */
#ifndef SCHEDOPT_CLI_H
#define SCHEDOPT_CLI_H

#include <stddef.h>
#include "schedopt/schedopt.h"

#define CLI_EXIT_INPUT 2

typedef struct cli_command {
  const char *name;
  const char *summary; /* one line for 'schedopt --help' */
  int (*run)(int argc, char **argv); /* argv[0] is the first argument after the command */
} cli_command;

/* Exit code for a status. */
int cli_exit_code(schedopt_status st);
/* Print err (located messages as they are) and return its exit code. */
int cli_fail(const schedopt_error *err);
/* "schedopt CMD: <msg>\nTry 'schedopt CMD --help'." and CLI_EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Options every problem-driven command takes. */
typedef struct cli_problem_opts {
  const char *path;   /* PROBLEM.yaml */
  const char *output; /* -o */
  int quiet;          /* -q */
  const char **sets;  /* --set KEY=VALUE, in order */
  size_t nsets;
  int help;           /* -h given */
} cli_problem_opts;

/* Parse argv into o.  Options a command handles itself are passed to `extra`
 * (returns the number of arguments it consumed, 0 if it does not know the
 * option, −1 on a usage error it already reported).  Returns 0 or an exit
 * code. */
int cli_parse_problem_opts(const char *cmd, int argc, char **argv, cli_problem_opts *o,
                           int (*extra)(int argc, char **argv, int i, void *ctx), void *ctx);
void cli_problem_opts_free(cli_problem_opts *o);

/* After a solver failure (SCHEDOPT_ESOLVER) of problem p: print which
 * solver.* setting to change ("raise solver.max_steps = N", ...). */
void cli_solver_hint(const schedopt_problem *p, const schedopt_error *err);

/* alloc + load + --set + build; on failure prints and returns the exit code. */
int cli_load_problem(const cli_problem_opts *o, schedopt_problem **p);

extern const cli_command cli_simulate;
extern const cli_command cli_export;
extern const cli_command cli_plot;
extern const cli_command cli_optimize;
extern const cli_command cli_sweep;
extern const cli_command cli_merge;

#endif
