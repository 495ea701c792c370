/* schedopt — command-line front end.
 *
 * Exit codes: 0 success; 2 bad input (usage, YAML, values, files); 1 a run
 * that failed (solver failure, divergence). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/schedopt.h"
#include "outfile.h"

#define EXIT_INPUT 2

static int exit_code(schedopt_status st) {
  switch (st) {
  case SCHEDOPT_OK: return 0;
  case SCHEDOPT_EINVAL:
  case SCHEDOPT_EPARSE:
  case SCHEDOPT_EIO: return EXIT_INPUT;
  default: return 1;
  }
}

static int fail(const schedopt_error *err) {
  /* located messages ("file:line:col: error: ...") stand as they are */
  if (strstr(err->msg, ": error: "))
    fprintf(stderr, "%s\n", err->msg);
  else
    fprintf(stderr, "schedopt: error: %s\n", err->msg);
  return exit_code(err->code);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "schedopt%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'schedopt %s--help'.\n", cmd ? "simulate " : "");
  return EXIT_INPUT;
}

static const char *main_help =
    "Usage: schedopt <command> [options]\n"
    "\n"
    "Design training schedules (learning rate, batch size, momentum) from the\n"
    "theory of SGD on power-law random-feature models.\n"
    "\n"
    "Commands:\n"
    "  simulate PROBLEM.yaml   predict the loss curve of a schedule\n"
    "\n"
    "Options:\n"
    "  -h, --help      this help; 'schedopt <command> --help' for a command\n"
    "  -V, --version   print the version\n"
    "\n"
    "Exit status: 0 success, 2 bad input, 1 a run that failed.\n";

static const char *simulate_help =
    "Usage: schedopt simulate PROBLEM.yaml [options]\n"
    "\n"
    "Integrate the problem's model under its schedules and write the loss curve\n"
    "as CSV: step,tokens,lr,batch,momentum,loss,excess,bias,variance.\n"
    "Loss is the full mean-squared error L = E + tail + sigma^2; excess = L - sigma^2\n"
    "= bias + variance + approximation error (the unlearned tail).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write the table to FILE ('-' for standard output);\n"
    "                        default: output.file from the problem, else stdout\n"
    "  --set KEY=VALUE       override a problem key (repeatable), e.g.\n"
    "                        --set model.b=2 --set controls.lr.peak=0.5\n"
    "  -q, --quiet           no summary on standard error\n"
    "  -h, --help            this help\n"
    "\n"
    "The problem file format is described in docs/yaml.md.\n";

static int cmd_simulate(int argc, char **argv) {
  const char *path = NULL, *out = NULL;
  int quiet = 0;
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  size_t nsets = 0;
  if (!sets) return 1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(simulate_help, stdout);
      free(sets);
      return 0;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (i + 1 >= argc) {
        free(sets);
        return usage_error("simulate", "%s needs a file name", a);
      }
      out = argv[++i];
    } else if (!strncmp(a, "--output=", 9)) {
      out = a + 9;
    } else if (!strcmp(a, "--set")) {
      if (i + 1 >= argc) {
        free(sets);
        return usage_error("simulate", "%s needs KEY=VALUE", a);
      }
      sets[nsets++] = argv[++i];
    } else if (!strncmp(a, "--set=", 6)) {
      sets[nsets++] = a + 6;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (a[0] == '-' && a[1]) {
      free(sets);
      return usage_error("simulate", "unknown option '%s'", a);
    } else if (!path) {
      path = a;
    } else {
      free(sets);
      return usage_error("simulate", "unexpected argument '%s'", a);
    }
  }
  if (!path) {
    free(sets);
    return usage_error("simulate", "%s", "missing PROBLEM.yaml");
  }

  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_integrator *it = NULL;
  double *times = NULL;
  schedopt_row *rows = NULL;
  size_t n = 0;
  int rc = 0;
  schedopt_status st;
  if ((st = schedopt_problem_alloc(&p, &err)) || (st = schedopt_problem_load_file(p, path, &err)))
    goto failed;
  for (size_t k = 0; k < nsets; k++)
    if ((st = schedopt_problem_set(p, sets[k], &err))) goto failed;
  if ((st = schedopt_problem_build(p, &err))) goto failed;
  if ((st = schedopt_problem_output_times(p, &times, &n, &err))) goto failed;
  if (!(rows = calloc(n ? n : 1, sizeof *rows))) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", n);
    goto failed;
  }
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  if ((st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(p),
                                      schedopt_problem_model(p), &err)) ||
      (st = schedopt_integrator_set_tolerances(it, rtol, atol, &err)) ||
      (st = schedopt_integrator_set_max_steps(it, max_steps, &err)))
    goto failed;
  if ((st = schedopt_integrator_run(it, schedopt_problem_schedule(p), times, n, rows, &err)))
    goto failed;

  if (!out) out = schedopt_problem_output_file(p);
  const double seq = schedopt_problem_seq_len(p);
  schedopt_outfile of;
  if ((st = schedopt_outfile_open(&of, out, &err))) goto failed;
  fprintf(of.fp, "step,tokens,lr,batch,momentum,loss,excess,bias,variance\n");
  for (size_t i = 0; i < n; i++) {
    const schedopt_row *r = &rows[i];
    fprintf(of.fp, "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n", r->step,
            r->samples * seq, r->u.lr, r->u.batch, r->u.momentum, r->r.loss, r->r.excess,
            r->r.bias, r->r.variance);
  }
  if ((st = schedopt_outfile_commit(&of, &err))) goto failed;
  if (!quiet && n) {
    double a, b, s, beta;
    schedopt_problem_exponents(p, &a, &b, &s, &beta);
    schedopt_integrator_stats stt;
    schedopt_integrator_get_stats(it, &stt);
    const schedopt_row *last = &rows[n - 1];
    fprintf(stderr,
            "schedopt: %s: %s (a=%g b=%g | s=%g beta=%g, %s phase), %s integrator\n"
            "schedopt: final step %.0f: loss %.6g, excess %.6g (bias %.4g, variance %.4g); "
            "%ld solver steps\n",
            schedopt_problem_name(p), schedopt_model_get_type(schedopt_problem_model(p))->name,
            a, b, s, beta, b < a ? "easy" : "hard",
            schedopt_integrator_get_type(it)->name, last->step, last->r.loss, last->r.excess,
            last->r.bias, last->r.variance, stt.steps);
    if (out && strcmp(out, "-")) fprintf(stderr, "schedopt: wrote %zu rows to %s\n", n, out);
  }
  goto cleanup;
failed:
  rc = fail(&err);
cleanup:
  free(rows);
  free(times);
  schedopt_integrator_free(it);
  schedopt_problem_free(p);
  free(sets);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_help, stderr);
    return EXIT_INPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(main_help, stdout);
    return 0;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
    printf("schedopt %s\n", SCHEDOPT_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "simulate")) return cmd_simulate(argc - 2, argv + 2);
  fprintf(stderr, "schedopt: unknown command '%s'\nTry 'schedopt --help'.\n", cmd);
  return EXIT_INPUT;
}
