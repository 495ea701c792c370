#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "problem/schema.h" /* "did you mean" */
#include "sweep/sweep_impl.h"

int cli_exit_code(schedopt_status st) {
  switch (st) {
  case SCHEDOPT_OK: return 0;
  case SCHEDOPT_EINVAL:
  case SCHEDOPT_EPARSE:
  case SCHEDOPT_EIO:
  case SCHEDOPT_ENOMEM: /* mostly an input over a size limit (docs/yaml.md, "Limits") */
    return CLI_EXIT_INPUT;
  default: return 1;
  }
}

int cli_fail(const schedopt_error *err) {
  /* located messages ("file:line:col: error: ...") stand as they are */
  if (strstr(err->msg, ": error: "))
    fprintf(stderr, "%s\n", err->msg);
  else
    fprintf(stderr, "schedopt: error: %s\n", err->msg);
  return cli_exit_code(err->code);
}

void cli_solver_hint(const schedopt_problem *p, const schedopt_error *err) {
  if (!p || err->code != SCHEDOPT_ESOLVER) return;
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  if (strstr(err->msg, "TOO_MUCH_WORK"))
    fprintf(stderr,
            "schedopt: the solver stopped after solver.max_steps = %ld steps without reaching "
            "the horizon; raise solver.max_steps (or loosen solver.rtol = %g)\n",
            max_steps, rtol);
  else if (strstr(err->msg, "TOO_MUCH_ACC"))
    fprintf(stderr, "schedopt: solver.rtol = %g / solver.atol = %g are tighter than the "
                    "arithmetic allows; loosen them\n", rtol, atol);
  else
    fprintf(stderr,
            "schedopt: the solver failed (solver.rtol = %g, solver.atol = %g); the schedule "
            "may be past the stability limit: try a lower learning rate or tighter "
            "tolerances\n", rtol, atol);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "schedopt %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'schedopt %s --help'.\n", cmd);
  return CLI_EXIT_INPUT;
}

int cli_parse_problem_opts(const char *cmd, int argc, char **argv, cli_problem_opts *o,
                           int (*extra)(int argc, char **argv, int i, void *ctx), void *ctx) {
  memset(o, 0, sizeof *o);
  o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
  if (!o->sets) return 1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      o->help = 1;
      return 0;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (i + 1 >= argc) return cli_usage_error(cmd, "%s needs a file name", a);
      o->output = argv[++i];
    } else if (!strncmp(a, "--output=", 9)) {
      o->output = a + 9;
    } else if (!strcmp(a, "--set")) {
      if (i + 1 >= argc) return cli_usage_error(cmd, "%s needs KEY=VALUE", a);
      o->sets[o->nsets++] = argv[++i];
    } else if (!strncmp(a, "--set=", 6)) {
      o->sets[o->nsets++] = a + 6;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      o->quiet = 1;
    } else if (!strcmp(a, "--progress") || !strncmp(a, "--progress=", 11)) {
      const char *v = a[10] == '=' ? a + 11 : i + 1 < argc ? argv[++i] : NULL;
      if (!v) return cli_usage_error(cmd, "--progress needs auto, always or never");
      if (!strcmp(v, "auto")) o->progress = CLI_PROGRESS_AUTO;
      else if (!strcmp(v, "always")) o->progress = CLI_PROGRESS_ALWAYS;
      else if (!strcmp(v, "never")) o->progress = CLI_PROGRESS_NEVER;
      else
        return cli_usage_error(cmd, "--progress %s: expected auto, always or never", v);
    } else if (a[0] == '-' && a[1]) {
      int used = extra ? extra(argc, argv, i, ctx) : 0;
      if (used < 0) return CLI_EXIT_INPUT;
      if (used == 0) {
        static const char *const common[] = {"--output", "--set", "--quiet", "--help",
                                             "--progress", NULL};
        suggest g = {a, NULL, 0};
        char sg[128];
        for (int k = 0; common[k]; k++) schedopt_suggest_add(&g, common[k]);
        return cli_usage_error(cmd, "unknown option '%s'%s", a,
                               schedopt_suggest_text(&g, sg, sizeof sg));
      }
      i += used - 1;
    } else if (!o->path) {
      o->path = a;
    } else {
      return cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
  }
  if (!o->path) return cli_usage_error(cmd, "missing PROBLEM.yaml");
  return 0;
}

void cli_problem_opts_free(cli_problem_opts *o) {
  free(o->sets);
  memset(o, 0, sizeof *o);
}

int cli_load_problem(const cli_problem_opts *o, schedopt_problem **out) {
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_status st;
  *out = NULL;
  if ((st = schedopt_problem_alloc(&p, &err)) || (st = schedopt_problem_load_file(p, o->path, &err)))
    goto failed;
  for (size_t k = 0; k < o->nsets; k++)
    if ((st = schedopt_problem_set(p, o->sets[k], &err))) goto failed;
  if ((st = schedopt_problem_build(p, &err))) goto failed;
  /* Every command checks the whole file: the optimize: and sweep: sections
   * are read by their own layers, so read them once here too. */
  schedopt_optimize_spec *spec = malloc(sizeof *spec);
  if (!spec) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory");
    goto failed;
  }
  st = schedopt_problem_optimize_spec(p, spec, &err);
  free(spec);
  if (st) goto failed;
  sweep_spec sw;
  int present;
  if ((st = schedopt_sweep_spec_read(p, &sw, &present, &err))) goto failed;
  schedopt_sweep_spec_free(&sw);
  *out = p;
  return 0;
failed:
  schedopt_problem_free(p);
  return cli_fail(&err);
}

int cli_progress_show(const cli_problem_opts *o) {
  if (o->progress == CLI_PROGRESS_NEVER || (o->quiet && o->progress != CLI_PROGRESS_ALWAYS))
    return CLI_SHOW_NONE;
  return isatty(STDERR_FILENO) ? CLI_SHOW_TERMINAL : CLI_SHOW_LOG;
}

double cli_progress_interval(int show) {
  if (show != CLI_SHOW_LOG) return 0.1;
  /* SCHEDOPT_PROGRESS_SECONDS: another cadence for logs (0.01 to 3600 s) */
  const char *e = getenv("SCHEDOPT_PROGRESS_SECONDS");
  char *end = NULL;
  double v = e ? strtod(e, &end) : 0;
  return e && end != e && !*end && v >= 0.01 && v <= 3600 ? v : 10.0;
}

void cli_progress_print(int show, const char *text) {
  if (show == CLI_SHOW_TERMINAL) fprintf(stderr, "\r%s ", text);
  else if (show == CLI_SHOW_LOG) fprintf(stderr, "%s\n", text);
  fflush(stderr);
}

static int fit_progress(void *ctx, const schedopt_fit_progress *p) {
  cli_fit_progress *pg = ctx;
  /* on a terminal every new stage or count is shown; in a log, time decides */
  const int moved = pg->show == CLI_SHOW_TERMINAL &&
                    (!pg->shown || p->stage != pg->stage || p->k != pg->k);
  if (!moved && p->seconds - pg->last < cli_progress_interval(pg->show)) return 0;
  pg->last = p->seconds;
  pg->shown = 1;
  pg->stage = p->stage;
  pg->k = p->k;
  char what[64], line[256];
  snprintf(what, sizeof what, "%s %d/%d", p->stage, p->k, p->n);
  snprintf(line, sizeof line, "schedopt %s: %-16s eval %7ld  best %-13.7g %7.1f s", pg->cmd, what,
           p->evals, p->best, p->seconds);
  cli_progress_print(pg->show, line);
  return 0;
}

void cli_fit_progress_start(cli_fit_progress *pg, const char *cmd, schedopt_fit *f, int show) {
  pg->cmd = cmd;
  pg->show = show;
  pg->last = 0;
  pg->shown = 0;
  pg->stage = NULL;
  pg->k = 0;
  if (show != CLI_SHOW_NONE) schedopt_fit_set_progress(f, fit_progress, pg);
}

void cli_fit_progress_clear(cli_fit_progress *pg) {
  if (pg->shown && pg->show == CLI_SHOW_TERMINAL) fprintf(stderr, "\r%90s\r", "");
  pg->shown = 0;
}

schedopt_status cli_prepare_dir(const char *dir, int *made, schedopt_error *err) {
  struct stat sb;
  const int exists = dir && stat(dir, &sb) == 0;
  *made = 0;
  if (exists && !S_ISDIR(sb.st_mode))
    return schedopt_error_set(err, SCHEDOPT_EIO, "%s: not a folder (an output folder is needed)",
                              dir);
  *made = dir && *dir && !exists;
  schedopt_status st = schedopt_optimization_prepare_dir(dir, err); /* mkdir -p, writable */
  if (st) {
    cli_unprepare_dir(dir, *made);
    *made = 0;
  }
  return st;
}

void cli_unprepare_dir(const char *dir, int made) {
  if (made && dir) rmdir(dir); /* fails, harmlessly, unless empty */
}

int cli_stdout_ok(schedopt_error *err) {
  const int fl = fcntl(STDOUT_FILENO, F_GETFL);
  if (fl != -1 && (fl & O_ACCMODE) != O_RDONLY) return 1;
  schedopt_error_set(err, SCHEDOPT_EIO, "standard output is closed: the summary goes there "
                     "(use -q with an output folder, or give the command a standard output)");
  return 0;
}
