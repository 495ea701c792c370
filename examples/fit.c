/* fit.c — fit a loss-curve surrogate to real training runs with the C API.
 *
 * The multi-power law (mpl) is fitted to two logged runs of a 100M-parameter
 * LLaMA-style model (examples/data/mpl-llama-100M: a cosine schedule and a
 * constant one, 24 000 steps each, warmup 2160 steps to 3e-4) and scored on
 * a run it has not seen: a WSD schedule whose exponential anneal over the last
 * 4000 steps neither training run contains.  The logs are sparse (one row
 * every 128 steps), so each curve gets its per-step schedule from a control.
 *
 * Usage: fit [DATA_DIR]   (default: the examples/data/mpl-llama-100M folder
 *                          next to this file, as built by CMake) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <schedopt/schedopt.h>
#include <schedopt/fit.h>
#include <schedopt/losscurve.h>
#include <schedopt/surrogate.h>

#ifndef EXAMPLE_DATA_DIR
#define EXAMPLE_DATA_DIR "data/mpl-llama-100M"
#endif

static void check(schedopt_status st, const schedopt_error *err) {
  if (st != SCHEDOPT_OK) {
    fprintf(stderr, "fit: %s: %s\n", schedopt_status_name(st), err->msg);
    exit(st == SCHEDOPT_EINVAL || st == SCHEDOPT_EPARSE || st == SCHEDOPT_EIO ? 2 : 1);
  }
}

/* A learning rate of family `type`: peak 3e-4 after a 2160-step linear
 * warmup from 0. */
static schedopt_control *lr_of(const char *type, schedopt_error *err) {
  schedopt_control *lr = NULL;
  check(schedopt_control_alloc(&lr, schedopt_control_type_find(type), err), err);
  check(schedopt_control_set(lr, strcmp(type, "constant") ? "peak" : "value", 3e-4, err), err);
  check(schedopt_control_set(lr, "warmup", 2160, err), err);
  return lr;
}

/* A sparse loss log and its per-step schedule (lr over `steps` steps). */
static schedopt_losscurve *load(const char *dir, const char *file, schedopt_control *lr,
                                double steps, schedopt_error *err) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  schedopt_losscurve *c = NULL;
  check(schedopt_losscurve_load_csv(&c, path, NULL, err), err);
  check(schedopt_losscurve_set_schedule(c, lr, steps, (size_t)steps, err), err);
  schedopt_control_free(lr);
  return c;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : EXAMPLE_DATA_DIR;
  schedopt_error err = {0};
  schedopt_control *lr = lr_of("cosine", &err); /* cosine to 3e-5 at step 24000 */
  check(schedopt_control_set(lr, "floor", 3e-5, &err), &err);
  schedopt_losscurve *cosine = load(dir, "cosine_24000.csv", lr, 24000, &err);
  schedopt_losscurve *constant = load(dir, "constant_24000.csv", lr_of("constant", &err), 24000,
                                      &err);
  /* WSD: stable until step 20000 = 24000·(1 − 1/6), then an exponential
   * (geometric) interpolation to 3e-5 at 24000 */
  lr = lr_of("wsd", &err);
  check(schedopt_control_set(lr, "floor", 3e-5, &err), &err);
  check(schedopt_control_set(lr, "decay_frac", 4000.0 / 24000.0, &err), &err);
  check(schedopt_control_set_choice(lr, "shape", "exponential", &err), &err);
  schedopt_losscurve *wsd = load(dir, "wsd_20000_24000.csv", lr, 24000, &err);

  schedopt_fit *f = NULL;
  check(schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err), &err);
  /* fitted from the end of the warmup on (NAN: the curve's own warmup) */
  check(schedopt_fit_add_curve(f, cosine, SCHEDOPT_CURVE_FIT, NAN, NAN, &err), &err);
  check(schedopt_fit_add_curve(f, constant, SCHEDOPT_CURVE_FIT, NAN, NAN, &err), &err);
  check(schedopt_fit_add_curve(f, wsd, SCHEDOPT_CURVE_TEST, NAN, NAN, &err), &err);
  schedopt_fit_options opt;
  schedopt_fit_options_default(&opt);
  opt.starts = 1; /* one start from the data-driven guess */
  opt.maxeval = 400;
  check(schedopt_fit_run(f, &opt, &err), &err);

  schedopt_fit_summary sum;
  schedopt_fit_get_summary(f, &sum);
  const schedopt_surrogate_type *T = schedopt_fit_type(f);
  printf("%s: %s\n", T->name, T->formula);
  printf("fitted on %zu points, mean Huber loss %.3g, %ld evaluations\n", sum.npoints,
         sum.objective, sum.evals);
  for (size_t i = 0; i < T->nparams; i++)
    printf("  %-6s = %.6g\n", T->params[i].name, sum.theta[i]);
  printf("%-18s %-5s %8s %10s %10s %10s\n", "curve", "role", "R2", "MAE", "PredE", "WorstE");
  int ok = 1;
  for (size_t i = 0; i < schedopt_fit_ncurves(f); i++) {
    schedopt_fit_curve c;
    check(schedopt_fit_get_curve(f, i, &c, &err), &err);
    const schedopt_fit_metrics *m = &c.metrics;
    printf("%-18s %-5s %8.4f %10.3g %10.3g %10.3g\n", schedopt_losscurve_name(c.curve),
           c.role == SCHEDOPT_CURVE_FIT ? "fit" : "test", m->r2, m->mae, m->prede, m->worste);
    if (c.role == SCHEDOPT_CURVE_TEST) ok = m->prede < 0.01;
  }
  /* the held-out anneal is predicted to within 1 % of the loss on average */
  printf("held-out WSD run: %s\n", ok ? "predicted within 1 %" : "NOT predicted within 1 %");
  schedopt_fit_free(f);
  schedopt_losscurve_free(cosine);
  schedopt_losscurve_free(constant);
  schedopt_losscurve_free(wsd);
  return ok ? 0 : 1;
}
