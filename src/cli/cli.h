/* Command-line front end: one file per command (cli_<name>.c), shared
 * helpers here.  Exit codes: 0 success, 2 bad input (usage, YAML, values,
 * files, sizes over a limit or too big for memory), 1 a run that failed
 * (solver failure, divergence). */
#ifndef SCHEDOPT_CLI_H
#define SCHEDOPT_CLI_H

#include <stddef.h>
#include "core/outfile.h"
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
  int progress;       /* --progress: CLI_PROGRESS_AUTO (default), _ALWAYS, _NEVER */
} cli_problem_opts;

/* Progress of a long command on standard error.  On a terminal: one line
 * redrawn in place (at most every 0.1 s); otherwise (a log file, a pipe, a
 * batch job's output): a line of its own every 10 s, so that a log shows
 * the run is alive (SCHEDOPT_PROGRESS_SECONDS sets another cadence, 0.01 to
 * 3600 s).  auto: as said unless -q; always: also with -q; never: none. */
enum { CLI_PROGRESS_AUTO = 0, CLI_PROGRESS_ALWAYS = 1, CLI_PROGRESS_NEVER = 2 };
enum { CLI_SHOW_NONE = 0, CLI_SHOW_TERMINAL = 1, CLI_SHOW_LOG = 2 };
/* How progress shows for these options: CLI_SHOW_*. */
int cli_progress_show(const cli_problem_opts *o);
/* Seconds between two progress lines for a CLI_SHOW_* kind. */
double cli_progress_interval(int show);
/* Write one progress line (text without line end) the way `show` wants it:
 * redrawn in place on a terminal, a line of its own in a log. */
void cli_progress_print(int show, const char *text);

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

/* Progress line of a surrogate fit on standard error ("start 3/8  eval ...
 * best ...  12.3 s"), at every new stage or count and otherwise at most every
 * 0.1 s; cli_fit_progress_start installs it on f when standard error is a
 * terminal and quiet is off, and cli_fit_progress_clear erases the line once
 * the fit is over. */
typedef struct cli_fit_progress {
  const char *cmd; /* "fit", "design" */
  int show;        /* CLI_SHOW_* */
  double last;
  int shown;
  const char *stage; /* of the last line shown, and its k */
  int k;
} cli_fit_progress;
void cli_fit_progress_start(cli_fit_progress *pg, const char *cmd, schedopt_fit *f, int show);
void cli_fit_progress_clear(cli_fit_progress *pg);

/* fit.json of a fit (parameters, metrics per curve, bootstrap refits): what
 * `schedopt fit` writes and `model: FILE` reads back; NULL when out of memory. */
struct fitspec;
struct json_t;
struct json_t *cli_fit_result_json(const struct fitspec *s, const schedopt_fit *f,
                            const schedopt_fit_options *o, int fitted);

/* ---- what the surrogate's fit saw (cli_range.c) ---- */

/* A baseline tuned beside the schedule (design): its name, schedule family
 * ("wsd-linear" is "wsd") and peak lr. */
typedef struct cli_range_baseline {
  const char *name, *family;
  double peak;
} cli_range_baseline;

/* Where a prediction is made, to check against the fit's record. */
typedef struct cli_range_query {
  const char *subject;    /* what may extrapolate: "the design", "the prediction" */
  const char *self;       /* the schedule in a family warning: "the design", "the schedule" */
  size_t steps;           /* horizon K */
  double peak;            /* peak lr (NAN: not checked) */
  const char *peak_note;  /* after the peak, e.g. " (tuned)"; NULL: nothing */
  double tokens_per_step; /* top-level tokens_per_step (NAN: not given) */
  double budget_tokens;   /* a budget's batch × seq_len (NAN: none) */
  double model_size;      /* top-level model_size (NAN: not given) */
  const char *family;     /* the schedule's family (lr type), NULL when free-form */
  const char *free_form;  /* a free-form parametrization ("knots"), else NULL */
  const cli_range_baseline *baselines;
  size_t nbaselines;
} cli_range_query;

/* Append to warn (a JSON array) one string per way q lies outside what the
 * fit result res saw (its fit.range; docs/surrogates.md, "Design outside
 * what the fit saw"): horizon, peak lr (the baselines' too), tokens per
 * step (and a budget's against where the surrogate is), model size,
 * schedule families.  res NULL (an inline model): nothing; a result without
 * fit.range: the one warning that it does not record what it saw. */
void cli_range_warnings(const struct json_t *res, const cli_range_query *q, struct json_t *warn);
/* Each string of warn on standard error as "schedopt: warning: <text>". */
void cli_warnings_print(const struct json_t *warn);

/* ---- tables, figures and the extra files of output.export / output.plot
 * (cli_output.c) ---- */

/* Schedule s (NULL: the problem's) tabulated with schedopt_export_times
 * (points: 0 every step, else a grid) and simulated; loss_times adds the
 * problem's output times (for log axes).  *rows is malloc'ed. */
schedopt_status cli_tabulate(const schedopt_problem *p, const schedopt_schedule *s,
                             size_t points, int loss_times, schedopt_row **rows,
                             size_t *nrows, schedopt_error *err);
/* The export table of rows of schedule s (NULL: the problem's) of p. */
schedopt_export_table cli_table(const schedopt_problem *p, const schedopt_schedule *s,
                                const schedopt_row *rows, size_t n, const char *label);
/* "name[: what] — model, exponents in both notations, phase, N, sigma^2". */
void cli_plot_title(const schedopt_problem *p, const char *what, char *buf, size_t cap);

/* Whether standard output can take the summary a command prints: a closed
 * stdout is /dev/null opened read-only (main.c), and a summary would fail
 * only after the work.  0 and "standard output is closed" in err if not. */
int cli_stdout_ok(schedopt_error *err);

/* An output folder, prepared before the work so that a bad place is
 * reported at once: created (with its parents) if missing — *made = 1 then,
 * and the command removes it again if it fails before writing into it
 * (cli_unprepare_dir) — and checked to be a folder we may write into. */
schedopt_status cli_prepare_dir(const char *dir, int *made, schedopt_error *err);
/* After a failed command: the folder cli_prepare_dir made, if still empty. */
void cli_unprepare_dir(const char *dir, int made);

/* Every output file of one command — its main output, report files, exports
 * and figures — in one output set (core/outfile.h): written to temporary
 * files and renamed together by cli_extras_commit, so a failure leaves none
 * of them and two outputs to one file are refused.  The paths opened with
 * cli_extras_write/_write_plot (or _open with report) are listed by
 * cli_extras_report. */
#define CLI_MAXOUT 16
typedef struct cli_extras {
  schedopt_outset *set; /* allocated by the first open */
  char *path[CLI_MAXOUT];
  size_t n, committed;
  /* the schedule cli_extras_write's table tabulates (NULL: the problem's) */
  const schedopt_schedule *schedule;
} cli_extras;

/* The command's set (allocated on first use), for library writers that
 * open their files in a set (schedopt_optimization_write_set, …). */
schedopt_status cli_extras_set(cli_extras *x, schedopt_outset **set, schedopt_error *err);
/* Open one more output of the command; listed by cli_extras_report if
 * report. */
schedopt_status cli_extras_open(cli_extras *x, const char *path, int report, FILE **fp,
                                schedopt_error *err);
/* Where the extra files go: next to a main output file (its name without
 * the extension), inside a main output folder (DIR/leaf), or, with no file
 * or folder (NULL or "-") or a stream (a device, a FIFO, /dev/stdout and the
 * like: schedopt_outfile_is_stream), in the current folder under the
 * problem's name.
 * The files are STEM.svg and STEM_schedule.csv, STEM_schedule.json,
 * STEM_pytorch.py, STEM_megatron.sh, STEM_nanogpt.py, STEM_hf.py,
 * STEM_torchtitan.py, STEM_olmo_core.py, STEM_deepspeed.py. */
void cli_extras_stem(const char *out, int is_dir, const schedopt_problem *p, const char *leaf,
                     char *stem, size_t cap);
/* The exports of `table` that p's output.export lists and, if output.plot,
 * the figure of `figs` (title unless the problem gives one), to temporary
 * files.  On failure nothing is left. */
schedopt_status cli_extras_write(cli_extras *x, const schedopt_problem *p, const char *stem,
                                 const schedopt_export_table *table,
                                 const schedopt_export_table *figs, size_t nfigs,
                                 const char *title, schedopt_error *err);
/* Before the work: every file cli_extras_write would write for p under
 * stem (the exports output.export lists, and STEM.svg if output.plot, or
 * always with plot), then the names in files[0..n) (NULL-terminated if n
 * is 0), examined as an output would be (schedopt_outfile_check: a folder,
 * a read-only place, an append-only file … reported at once, not after a
 * long run); nothing is created. */
schedopt_status cli_outputs_check(const schedopt_problem *p, const char *stem, int plot,
                                  const char *dir, const char *const *files,
                                  schedopt_error *err);
/* A figure of one's own as STEM.svg. */
schedopt_status cli_extras_write_plot(cli_extras *x, const char *stem, const schedopt_plot *fig,
                                      schedopt_error *err);
/* Commit every output of the command together (or none). */
schedopt_status cli_extras_commit(cli_extras *x, schedopt_error *err);
/* Drop every output not yet committed. */
void cli_extras_abort(cli_extras *x);
void cli_extras_free(cli_extras *x);
/* One line per committed file: prefix + path. */
void cli_extras_report(const cli_extras *x, FILE *f, const char *prefix);

extern const cli_command cli_simulate;
extern const cli_command cli_export;
extern const cli_command cli_plot;
extern const cli_command cli_optimize;
extern const cli_command cli_sweep;
extern const cli_command cli_merge;

#endif
