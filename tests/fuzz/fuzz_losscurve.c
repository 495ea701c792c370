/* Fuzz target: loss logs (schedopt_losscurve_load_csv, the loader of `fit`).
 *
 * The input is the CSV text (columns step, lr, loss; tokens and batch
 * optional).  It is written to a scratch file, which the loader reads.  A
 * loaded curve must have integral, strictly increasing steps, finite positive
 * losses and, when dense, a per-step schedule; smoothing keeps the losses
 * finite and positive; a sparse log of a moderate length takes a schedule
 * from a control.  Failures must name the file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/schedopt.h"
#include "schedopt/losscurve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_losscurve: broken promise: %s (%s)\n", what, detail ? detail : "");
  abort();
}

static char scratch[64];

static const char *write_scratch(const uint8_t *data, size_t size) {
  if (!scratch[0]) {
    snprintf(scratch, sizeof scratch, "/tmp/schedopt-fuzz-XXXXXX");
    int fd = mkstemp(scratch);
    if (fd < 0) abort();
    close(fd);
  }
  FILE *f = fopen(scratch, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  return scratch;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = write_scratch(data, size);
  schedopt_losscurve *c = NULL;
  schedopt_error err = {0};
  schedopt_status st = schedopt_losscurve_load_csv(&c, path, "fuzz", &err);
  if (st) {
    if (err.code != st || !err.msg[0]) broken("bad error record", err.msg);
    if (st != SCHEDOPT_ENOMEM && !strstr(err.msg, path)) broken("error without the file name", err.msg);
    if (st == SCHEDOPT_EINTERNAL) broken("internal error", err.msg);
    if (c) broken("a curve returned with an error", err.msg);
    return 0;
  }
  size_t n = schedopt_losscurve_npoints(c);
  const double *s = schedopt_losscurve_steps(c), *l = schedopt_losscurve_loss(c);
  if (n == 0 || !s || !l) broken("empty curve", NULL);
  for (size_t i = 0; i < n; i++) {
    if (!(s[i] >= 0 && s[i] == floor(s[i]))) broken("step not a non-negative integer", NULL);
    if (i && !(s[i] > s[i - 1])) broken("steps not increasing", NULL);
    if (!(l[i] > 0 && isfinite(l[i]))) broken("loss not finite and positive", NULL);
  }
  size_t K = 0;
  const double *eta = schedopt_losscurve_lr(c, &K);
  if (schedopt_losscurve_dense(c)) {
    if (!eta || K < n) broken("dense log without its schedule", NULL);
    for (size_t k = 0; k < K; k++)
      if (!(eta[k] >= 0 && isfinite(eta[k]))) broken("negative or non-finite lr", NULL);
  }
  size_t window = 2 * (size % 7) + 1;
  if (schedopt_losscurve_smooth(c, window, &err)) broken("smoothing failed", err.msg);
  l = schedopt_losscurve_loss(c);
  for (size_t i = 0; i < n; i++)
    if (!(l[i] > 0 && isfinite(l[i]))) broken("smoothed loss not finite and positive", NULL);
  if (s[n - 1] <= 100000) {
    schedopt_control *ctl = NULL;
    if (!schedopt_control_alloc(&ctl, schedopt_control_cosine, &err) &&
        !schedopt_control_set(ctl, "peak", 1e-3, &err)) {
      double H = s[n - 1] + 1;
      st = schedopt_losscurve_set_schedule(c, ctl, H, 0, &err);
      /* a log whose lr column the cosine does not reproduce is refused, by
       * name; anything else must take the schedule */
      if (st && !(st == SCHEDOPT_EINVAL && strstr(err.msg, "must agree within 1e-3 relative") &&
                  strstr(err.msg, "fuzz: the schedule gives lr = ")))
        broken("set_schedule failed", err.msg);
      if (!st) {
        eta = schedopt_losscurve_lr(c, &K);
        if (!eta || K < (size_t)s[n - 1] + 1) broken("schedule too short", NULL);
      }
    }
    schedopt_control_free(ctl);
  }
  schedopt_losscurve_free(c);
  return 0;
}
