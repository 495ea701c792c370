/* Fuzz target: YAML problem loading.
 *
 * The input is a problem file.  Lines that start with "#@set " (YAML comments,
 * so the parser ignores them) are also applied as --set assignments, in
 * order, after loading.  Then the problem is built and, when that succeeds,
 * its optimize: and sweep: sections are read (a failure must be located),
 * every accessor is read and the promises of problem.h are checked: output
 * times increasing in (0, H] and ending at H, finite exponents in range,
 * controls finite and within their channel's range.  Small problems are also
 * simulated (recursion and CVODES) and their rows must be finite.
 *
 * A broken promise or an unlocated error message aborts (a finding). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/schedopt.h"
#include "sweep/sweep_impl.h"

#define MAX_SETS 8
#define NAME "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_problem: broken promise: %s (%s)\n", what, detail ? detail : "");
  abort();
}

/* A failed call must leave a message naming its source. */
static void check_error(schedopt_status st, const schedopt_error *err) {
  if (err->code != st) broken("status differs from err.code", err->msg);
  if (!err->msg[0]) broken("empty error message", NULL);
  if (!memchr(err->msg, '\0', sizeof err->msg)) broken("message not terminated", NULL);
  if (st == SCHEDOPT_EINVAL || st == SCHEDOPT_EPARSE) {
    if (strncmp(err->msg, NAME, strlen(NAME)) && strncmp(err->msg, "--set ", 6))
      broken("input error without a location", err->msg);
  }
  if (st == SCHEDOPT_EINTERNAL) broken("internal error", err->msg);
}

static void check_channel(const schedopt_schedule *s, double H) {
  for (int k = 0; k <= 64; k++) {
    double t = H * k / 64.0;
    schedopt_uval u, ul;
    schedopt_schedule_eval(s, t, &u);
    schedopt_schedule_eval_left(s, t, &ul);
    if (!(isfinite(u.lr) && u.lr >= 0) || !(isfinite(ul.lr) && ul.lr >= 0))
      broken("lr outside [0, inf)", NULL);
    if (!(isfinite(u.batch) && u.batch >= 1) || !(isfinite(ul.batch) && ul.batch >= 1))
      broken("batch outside [1, inf)", NULL);
    if (!(u.momentum >= 0 && u.momentum < 1) || !(ul.momentum >= 0 && ul.momentum < 1))
      broken("momentum outside [0, 1)", NULL);
  }
  double *kt = NULL;
  int *kj = NULL;
  size_t nk = 0;
  schedopt_error err = {0};
  schedopt_status st = schedopt_schedule_knots(s, &kt, &kj, &nk, &err);
  if (st && st != SCHEDOPT_ENOMEM) broken("knots failed", err.msg);
  for (size_t i = 0; i < nk; i++) {
    if (!(kt[i] > 0 && kt[i] < H)) broken("knot outside (0, H)", NULL);
    if (i && !(kt[i] > kt[i - 1])) broken("knots not increasing", NULL);
  }
  free(kt);
  free(kj);
}

/* Simulate small problems; rows must be finite, failures well formed. */
static void simulate(const schedopt_problem *p, const double *times, size_t n) {
  long modes = schedopt_problem_modes(p);
  double amount;
  schedopt_budget_kind kind = schedopt_problem_budget(p, &amount);
  const schedopt_integrator_type *T = schedopt_problem_integrator(p);
  if (modes > 16 || n > 64) return;
  if (T == schedopt_integrator_recursion && !(kind == SCHEDOPT_BUDGET_STEPS && amount <= 2000))
    return;
  schedopt_error err = {0};
  schedopt_integrator *it = NULL;
  schedopt_row *rows = calloc(n ? n : 1, sizeof *rows);
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  if (max_steps > 3000) max_steps = 3000;
  schedopt_status st = rows ? SCHEDOPT_OK : SCHEDOPT_ENOMEM;
  if (!st) st = schedopt_integrator_alloc(&it, T, schedopt_problem_model(p), &err);
  if (!st) st = schedopt_integrator_set_tolerances(it, rtol, atol, &err);
  if (!st) st = schedopt_integrator_set_max_steps(it, max_steps, &err);
  if (!st) st = schedopt_integrator_run(it, schedopt_problem_schedule(p), times, n, rows, &err);
  if (!st) {
    for (size_t i = 0; i < n; i++) {
      const schedopt_row *r = &rows[i];
      double v[] = {r->t, r->step, r->samples, r->u.lr, r->u.batch, r->u.momentum,
                    r->r.loss, r->r.excess};
      for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
        if (!isfinite(v[j])) broken("non-finite row", NULL);
      /* bias and variance are NaN when not tracked (model.split = false) */
      if (isnan(r->r.bias) != isnan(r->r.variance) || isinf(r->r.bias) ||
          isinf(r->r.variance))
        broken("non-finite bias or variance", NULL);
    }
  } else if (st == SCHEDOPT_EINVAL || st == SCHEDOPT_EINTERNAL || !err.msg[0]) {
    broken("simulate of a built problem failed", err.msg);
  }
  schedopt_integrator_free(it);
  free(rows);
}

static void check_built(const schedopt_problem *p) {
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  if (!s || !schedopt_problem_model(p)) broken("built problem without model or schedule", NULL);
  if (!schedopt_problem_name(p)[0]) broken("empty name", NULL);
  (void)schedopt_problem_description(p);
  (void)schedopt_problem_output_file(p);
  double a, b, sx, beta;
  schedopt_problem_exponents(p, &a, &b, &sx, &beta);
  if (!(a > 1 && b > 1 && isfinite(a) && isfinite(b) && isfinite(sx) && beta == b))
    broken("exponents out of range", NULL);
  if (!(schedopt_problem_sigma2(p) >= 0 && isfinite(schedopt_problem_sigma2(p))))
    broken("sigma2", NULL);
  long modes = schedopt_problem_modes(p);
  if (modes < 1 || modes > 1000000) broken("modes out of range", NULL);
  double rtol, atol, amount;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  if (!(rtol > 0 && rtol <= 0.1 && atol > 0 && atol <= 1 && max_steps >= 1))
    broken("tolerances", NULL);
  schedopt_problem_budget(p, &amount);
  if (!(amount > 0 && isfinite(amount))) broken("budget", NULL);
  if (!(schedopt_problem_seq_len(p) >= 1)) broken("seq_len", NULL);
  double H = schedopt_schedule_horizon(s);
  if (!(H > 0 && isfinite(H))) broken("horizon", NULL);
  check_channel(s, H);

  double *t = NULL;
  size_t n = 0;
  schedopt_error err = {0};
  schedopt_status st = schedopt_problem_output_times(p, &t, &n, &err);
  if (st) broken("output_times failed", err.msg);
  if (n == 0) broken("no output times", NULL);
  for (size_t i = 0; i < n; i++) {
    if (!(t[i] > 0 && t[i] <= H)) broken("output time outside (0, H]", NULL);
    if (i && !(t[i] > t[i - 1])) broken("output times not increasing", NULL);
  }
  simulate(p, t, n);
  free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  if (schedopt_problem_alloc(&p, &err)) return 0;
  schedopt_status st = schedopt_problem_load_string(p, text, size, NAME, &err);
  if (st) {
    check_error(st, &err);
    schedopt_problem_free(p);
    return 0;
  }
  /* "#@set KEY=VALUE" lines */
  int nsets = 0;
  for (size_t i = 0; i + 6 <= size && nsets < MAX_SETS; i++) {
    if ((i == 0 || data[i - 1] == '\n') && !memcmp(data + i, "#@set ", 6)) {
      size_t j = i + 6, k = j;
      while (k < size && data[k] != '\n' && data[k] != '\0') k++;
      char *a = malloc(k - j + 1);
      if (!a) break;
      memcpy(a, data + j, k - j);
      a[k - j] = '\0';
      memset(&err, 0, sizeof err);
      st = schedopt_problem_set(p, a, &err);
      free(a);
      nsets++;
      if (st) {
        check_error(st, &err);
        schedopt_problem_free(p);
        return 0;
      }
      i = k;
    }
  }
  memset(&err, 0, sizeof err);
  st = schedopt_problem_build(p, &err);
  if (st)
    check_error(st, &err);
  else
    check_built(p);
  /* the sections read by the optimizer and the sweep: located errors too */
  if (!st) {
    schedopt_optimize_spec *spec = malloc(sizeof *spec);
    schedopt_error e2 = {0};
    schedopt_status s2 = spec ? schedopt_problem_optimize_spec(p, spec, &e2) : SCHEDOPT_OK;
    if (s2) check_error(s2, &e2);
    free(spec);
    sweep_spec sw;
    int present;
    schedopt_error e3 = {0};
    schedopt_status s3 = schedopt_sweep_spec_read(p, &sw, &present, &e3);
    if (s3)
      check_error(s3, &e3);
    else
      schedopt_sweep_spec_free(&sw);
  }
  /* building twice gives the same result (build clears the previous one) */
  if (!st) {
    schedopt_error err2 = {0};
    if (schedopt_problem_build(p, &err2)) broken("second build failed", err2.msg);
  }
  schedopt_problem_free(p);
  return 0;
}
