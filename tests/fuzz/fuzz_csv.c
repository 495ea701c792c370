/* Fuzz target: CSV table loading (schedopt_control_load_csv's parser, fed
 * from memory).
 *
 * The input is the CSV text; the table reads columns 'step' and 'lr'.  A
 * loaded table must have finite, strictly increasing times; it is then
 * validated on its own horizon, evaluated and its knots listed (the paths a
 * loaded table takes in a problem).  Failures must carry a message that
 * names the file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamics/control_impl.h"
#include "schedopt/schedopt.h"

#define NAME "fuzz.csv"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_csv: broken promise: %s (%s)\n", what, detail ? detail : "");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char empty[1];
  FILE *f = fmemopen(size ? (void *)data : empty, size, "r");
  if (!f) return 0;
  schedopt_control *c = NULL;
  schedopt_error err = {0};
  if (schedopt_control_alloc(&c, schedopt_control_table, &err)) {
    fclose(f);
    return 0;
  }
  schedopt_status st = schedopt_control_load_csv_stream(c, f, NAME, "step", "lr", &err);
  fclose(f);
  if (st) {
    if (err.code != st || !err.msg[0]) broken("bad error record", err.msg);
    if (st != SCHEDOPT_ENOMEM && strncmp(err.msg, NAME, strlen(NAME)))
      broken("error without the file name", err.msg);
    if (st == SCHEDOPT_EINTERNAL) broken("internal error", err.msg);
    schedopt_control_free(c);
    return 0;
  }
  if (c->n == 0) broken("loaded an empty table", NULL);
  for (size_t i = 0; i < c->n; i++) {
    if (!isfinite(c->t[i]) || !isfinite(c->v[i])) broken("non-finite point", NULL);
    if (i && !(c->t[i] > c->t[i - 1])) broken("times not increasing", NULL);
  }
  /* step interpolation for odd sizes: both code paths */
  if (size & 1) schedopt_control_set_choice(c, "interp", "step", &err);
  double H = c->t[c->n - 1];
  if (!(H > 0)) H = 1;
  memset(&err, 0, sizeof err);
  st = schedopt_control_validate(c, H, -INFINITY, INFINITY, 0, "fuzz", &err);
  if (st && st != SCHEDOPT_EINVAL) broken("validate failed oddly", err.msg);
  if (!st) {
    size_t np = schedopt_control_nparams(c);
    double *dp = np < 100000 ? malloc(np * sizeof *dp) : NULL;
    for (int k = 0; k <= 16; k++) {
      double t = H * k / 16.0;
      double v = schedopt_control_eval(c, H, t, dp);
      double vl = schedopt_control_eval_left(c, H, t);
      if (!isfinite(v) || !isfinite(vl)) broken("non-finite value", NULL);
    }
    free(dp);
    size_t nk = schedopt_control_knots(c, H, NULL, NULL, 0);
    double *kt = malloc((nk ? nk : 1) * sizeof *kt);
    int *kj = malloc((nk ? nk : 1) * sizeof *kj);
    if (kt && kj && schedopt_control_knots(c, H, kt, kj, nk) != nk) broken("knots count", NULL);
    for (size_t i = 1; kt && kj && i < nk; i++)
      if (!(kt[i] > kt[i - 1])) broken("knots not increasing", NULL);
    free(kt);
    free(kj);
  }
  schedopt_control_free(c);
  return 0;
}
