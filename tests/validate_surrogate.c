/* Validation of the loss-curve surrogates on the real runs in
 * ../shared/data (docs/validation.md, "Loss-curve surrogates"):
 *
 *   A. mpl with the published parameters on mpl-llama/{25M,100M,400M}: the
 *      held-out curves we have, against the published averages;
 *   B. mpl and fsl-llm fitted on cosine_24000 + constant_24000 + wsdcon_9,
 *      scored on wsd_20000_24000 and constant_72000 (target MAE ≤ 0.006);
 *   C. fsl-llm fitted on gpt-100m/811.csv, scored on gpt-100m/wsd.csv, both
 *      smoothed by a centered 201-step rolling mean (target MAE ≤ 0.006).
 *
 * Prints the markdown tables of docs/validation.md.  Run:
 *   ctest -L validation -R validate_surrogate -V   (or the binary itself) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"
#include "testutil.h"

/* The five mpl-llama runs and their schedules (../shared/data/README.md). */
enum { COS, CON24, WSDCON, WSD, CON72, NRUN };
static const char *const run_name[NRUN] = {"cosine_24000", "constant_24000", "wsdcon_9",
                                           "wsd_20000_24000", "constant_72000"};

static schedopt_losscurve *mpl_run(const char *size, int r) {
  char path[1024];
  snprintf(path, sizeof path, "%s/data/mpl-llama/%s/%s.csv", SCHEDOPT_SHARED_DIR, size, run_name[r]);
  schedopt_losscurve *lc = NULL;
  schedopt_error err = {0};
  if (schedopt_losscurve_load_csv(&lc, path, NULL, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return NULL;
  }
  schedopt_control *c;
  double H = 24000;
  switch (r) {
  case COS: c = test_ctl(schedopt_control_cosine, "peak=3e-4 floor=3e-5 warmup=2160"); break;
  case CON24: c = test_ctl(schedopt_control_constant, "value=3e-4 warmup=2160"); break;
  case WSDCON: {
    c = test_ctl(schedopt_control_multistep, "peak=3e-4 warmup=2160");
    double ms[] = {0.5}, fa[] = {1, 0.3};
    schedopt_control_set_steps(c, 1, ms, fa, NULL);
    H = 16000;
    break;
  }
  case WSD:
    c = test_ctl(schedopt_control_wsd, "peak=3e-4 floor=3e-5 decay_frac=0.16666666666666666 "
                                       "shape=exponential warmup=2160");
    break;
  default: c = test_ctl(schedopt_control_constant, "value=3e-4 warmup=2160"); H = 72000;
  }
  if (schedopt_losscurve_set_schedule(lc, c, H, 0, &err)) fprintf(stderr, "%s\n", err.msg);
  schedopt_control_free(c);
  return lc;
}

static const char *const sizes[3] = {"25M", "100M", "400M"};
static const double published_theta[3][7] = {
    {3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257},
    {2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644},
    {2.37474466, 0.65421216, 0.42878731, 523.42464371, 2.02462735, 0.59350493, 0.63472457}};
/* R², MAE, RMSE, PredE, WorstE averaged over their six unseen schedules
 * (MPL repository README). */
static const double published_metrics[3][5] = {{0.9988, 0.00376, 0.00465, 0.00110, 0.00409},
                                               {0.9983, 0.00435, 0.00592, 0.00142, 0.00583},
                                               {0.9978, 0.00484, 0.00730, 0.00168, 0.00995}};

static void row(const char *a, const char *b, const char *c, const schedopt_fit_metrics *m) {
  printf("| %s | %s | %s | %zu | %.5f | %.5f | %.5f | %.5f | %.5f |\n", a, b, c, m->n, m->r2,
         m->mae, m->rmse, m->prede, m->worste);
}

static void part_a(void) {
  printf("\n### A. Published MPL parameters on the held-out runs\n\n");
  printf("| model | curve | | points | R² | MAE | RMSE | PredE | WorstE |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  for (int z = 0; z < 3; z++) {
    schedopt_losscurve *w = mpl_run(sizes[z], WSD), *c = mpl_run(sizes[z], CON72);
    schedopt_fit *f = NULL;
    schedopt_error err = {0};
    schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err);
    CHECK(schedopt_fit_add_curve(f, w, SCHEDOPT_CURVE_TEST, NAN, NAN, &err) == SCHEDOPT_OK);
    CHECK(schedopt_fit_add_curve(f, c, SCHEDOPT_CURVE_TEST, NAN, NAN, &err) == SCHEDOPT_OK);
    CHECK(schedopt_fit_evaluate(f, published_theta[z], NULL, &err) == SCHEDOPT_OK);
    schedopt_fit_metrics avg = {0};
    for (size_t i = 0; i < 2; i++) {
      schedopt_fit_curve fc;
      schedopt_fit_get_curve(f, i, &fc, &err);
      row(sizes[z], run_name[i ? CON72 : WSD], "ours", &fc.metrics);
      avg.n += fc.metrics.n;
      avg.r2 += fc.metrics.r2 / 2, avg.mae += fc.metrics.mae / 2, avg.rmse += fc.metrics.rmse / 2;
      avg.prede += fc.metrics.prede / 2, avg.worste += fc.metrics.worste / 2;
    }
    row(sizes[z], "mean of the two", "ours", &avg);
    const double *p = published_metrics[z];
    schedopt_fit_metrics pub = {0, p[0], p[1], p[2], p[3], p[4]};
    printf("| %s | mean of their six unseen | published | | %.4f | %.5f | %.5f | %.5f | %.5f |\n",
           sizes[z], pub.r2, pub.mae, pub.rmse, pub.prede, pub.worste);
    printf("| %s | ours / published − 1 | | | %+.1f%% | %+.1f%% | %+.1f%% | %+.1f%% | %+.1f%% |\n",
           sizes[z], 100 * (avg.r2 / pub.r2 - 1), 100 * (avg.mae / pub.mae - 1),
           100 * (avg.rmse / pub.rmse - 1), 100 * (avg.prede / pub.prede - 1),
           100 * (avg.worste / pub.worste - 1));
    if (z == 1) { /* the 100M numbers quoted in model.md §4 */
      CHECK_CLOSE(avg.mae, pub.mae, 0.05, 0);
      CHECK_CLOSE(avg.rmse, pub.rmse, 0.05, 0);
      CHECK_CLOSE(avg.prede, pub.prede, 0.05, 0);
      CHECK_CLOSE(avg.worste, pub.worste, 0.05, 0);
    }
    schedopt_fit_free(f);
    schedopt_losscurve_free(w);
    schedopt_losscurve_free(c);
  }
}

static void part_b(void) {
  printf("\n### B. Fitted on cosine_24000 + constant_24000 + wsdcon_9, held out: wsd_20000_24000, "
         "constant_72000\n\n");
  printf("| model | surrogate | curve (role) | points | R² | MAE | RMSE | PredE | WorstE |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  char fits[6][512];
  int nf = 0;
  for (int z = 0; z < 3; z++)
    for (int m = 0; m < 2; m++) {
      const schedopt_surrogate_type *T = m ? schedopt_surrogate_fsl_llm : schedopt_surrogate_mpl;
      schedopt_losscurve *cv[NRUN];
      schedopt_fit *f = NULL;
      schedopt_error err = {0};
      schedopt_fit_alloc(&f, T, &err);
      for (int r = 0; r < NRUN; r++) {
        cv[r] = mpl_run(sizes[z], r);
        CHECK(schedopt_fit_add_curve(f, cv[r], r <= WSDCON ? SCHEDOPT_CURVE_FIT : SCHEDOPT_CURVE_TEST,
                                     NAN, NAN, &err) == SCHEDOPT_OK);
      }
      schedopt_fit_options o;
      schedopt_fit_options_default(&o);
      schedopt_status st = schedopt_fit_run(f, &o, &err);
      CHECK_MSG(st == SCHEDOPT_OK, "%s", err.msg);
      if (st) continue;
      schedopt_fit_summary sm;
      schedopt_fit_get_summary(f, &sm);
      for (int r = 0; r < NRUN; r++) {
        schedopt_fit_curve fc;
        schedopt_fit_get_curve(f, (size_t)r, &fc, &err);
        char c[64];
        snprintf(c, sizeof c, "%s (%s)", run_name[r], r <= WSDCON ? "fit" : "test");
        row(sizes[z], T->name, c, &fc.metrics);
        if (r > WSDCON)
          CHECK_MSG(fc.metrics.mae <= 0.006, "%s %s %s: MAE %.5f > 0.006", sizes[z], T->name,
                    run_name[r], fc.metrics.mae);
      }
      int k = snprintf(fits[nf], sizeof fits[nf], "| %s | %s | %.3g | %d | %ld | %.1f | %.1f |",
                       sizes[z], T->name, sm.objective, sm.best_start, sm.evals, sm.seconds,
                       sm.cpu_seconds);
      for (size_t p = 0; p < T->nparams && k < (int)sizeof fits[nf]; p++)
        k += snprintf(fits[nf] + k, sizeof fits[nf] - (size_t)k, "%s%s=%.4g", p ? ", " : " ",
                      T->params[p].name, sm.theta[p]);
      snprintf(fits[nf] + k, sizeof fits[nf] - (size_t)k, " |");
      nf++;
      schedopt_fit_free(f);
      for (int r = 0; r < NRUN; r++) schedopt_losscurve_free(cv[r]);
    }
  printf("\nThe fits (8 starts each; wall and CPU seconds on the machine that ran this):\n\n");
  printf("| model | surrogate | objective | best start | evaluations | wall s | CPU s | parameters |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < nf; i++) printf("%s\n", fits[i]);
}

static void part_c(void) {
  printf("\n### C. fsl-llm fitted on gpt-100m/811.csv, scored on gpt-100m/wsd.csv\n\n");
  printf("Both curves smoothed by a centered 201-step rolling mean (truncated at the ends); fitted "
         "and scored from the start step on; \"decay\" = steps ≥ 27,126, where the two schedules "
         "differ.\n\n");
  printf("| start step | curve | scored steps | points | R² | MAE | RMSE | PredE | WorstE | MAE vs "
         "raw loss |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  char p811[1024], pwsd[1024];
  snprintf(p811, sizeof p811, "%s/data/gpt-100m/811.csv", SCHEDOPT_SHARED_DIR);
  snprintf(pwsd, sizeof pwsd, "%s/data/gpt-100m/wsd.csv", SCHEDOPT_SHARED_DIR);
  const double starts[] = {1000, 2000, 4000};
  for (size_t s = 0; s < sizeof starts / sizeof *starts; s++) {
    schedopt_losscurve *a = NULL, *b = NULL, *b2 = NULL;
    schedopt_error err = {0};
    CHECK(schedopt_losscurve_load_csv(&a, p811, "811", &err) == SCHEDOPT_OK);
    CHECK(schedopt_losscurve_load_csv(&b, pwsd, "wsd", &err) == SCHEDOPT_OK);
    CHECK(schedopt_losscurve_load_csv(&b2, pwsd, "wsd (decay)", &err) == SCHEDOPT_OK);
    schedopt_losscurve_smooth(a, 201, &err);
    schedopt_losscurve_smooth(b, 201, &err);
    schedopt_losscurve_smooth(b2, 201, &err);
    schedopt_fit *f = NULL;
    schedopt_fit_alloc(&f, schedopt_surrogate_fsl_llm, &err);
    CHECK(schedopt_fit_add_curve(f, a, SCHEDOPT_CURVE_FIT, starts[s], NAN, &err) == SCHEDOPT_OK);
    CHECK(schedopt_fit_add_curve(f, b, SCHEDOPT_CURVE_TEST, starts[s], NAN, &err) == SCHEDOPT_OK);
    CHECK(schedopt_fit_add_curve(f, b2, SCHEDOPT_CURVE_TEST, 27126, NAN, &err) == SCHEDOPT_OK);
    schedopt_fit_options o;
    schedopt_fit_options_default(&o);
    CHECK(schedopt_fit_run(f, &o, &err) == SCHEDOPT_OK);
    schedopt_fit_summary sm;
    schedopt_fit_get_summary(f, &sm);
    const char *range[3] = {"≥ start", "≥ start", "≥ 27126"};
    for (size_t i = 0; i < 3; i++) {
      schedopt_fit_curve fc;
      schedopt_fit_get_curve(f, i, &fc, &err);
      const schedopt_fit_metrics *m = &fc.metrics;
      printf("| %.0f | %s (%s) | %s | %zu | %.5f | %.5f | %.5f | %.5f | %.5f | %.4f |\n", starts[s],
             schedopt_losscurve_name(fc.curve), i ? "test" : "fit", range[i], m->n, m->r2, m->mae,
             m->rmse, m->prede, m->worste, fc.metrics_raw.mae);
      if (s == 0 && i > 0)
        CHECK_MSG(m->mae <= 0.006, "gpt-100m %s: MAE %.5f > 0.006", schedopt_losscurve_name(fc.curve),
                  m->mae);
    }
    printf("| %.0f | fit: %.3f s wall, %.3f s CPU, %ld evaluations, %d starts | | | | | | | | |\n",
           starts[s], sm.seconds, sm.cpu_seconds, sm.evals, sm.starts);
    if (s == 0) CHECK_MSG(sm.cpu_seconds <= 0.5, "811 fit took %.3f s of CPU", sm.cpu_seconds);
    if (s == 0) {
      /* the two runs differ before their schedules do: the offset on the
       * shared part of the schedule */
      const double *la = schedopt_losscurve_loss(a), *lb = schedopt_losscurve_loss(b),
                   *st = schedopt_losscurve_steps(a);
      double d = 0;
      size_t n = 0;
      for (size_t i = 0; i < schedopt_losscurve_npoints(a) && st[i] < 27126; i++)
        if (st[i] >= starts[s]) d += la[i] - lb[i], n++;
      printf("\nOn steps %.0f…27125, where both runs use lr = 1e-3, the smoothed wsd loss is "
             "below the smoothed 811 loss by %.5f on average (a different run).\n\n",
             starts[s], d / (double)n);
      printf("| start step | curve | scored steps | points | R² | MAE | RMSE | PredE | WorstE | MAE vs "
             "raw loss |\n");
      printf("|---|---|---|---|---|---|---|---|---|---|\n");
    }
    schedopt_fit_free(f);
    schedopt_losscurve_free(a);
    schedopt_losscurve_free(b);
    schedopt_losscurve_free(b2);
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* tables appear as they are computed */
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/data/README.md", SCHEDOPT_SHARED_DIR);
  FILE *f = fopen(probe, "r");
  if (!f) {
    printf("%s/data not found: nothing to validate\n", SCHEDOPT_SHARED_DIR);
    return 0;
  }
  fclose(f);
  printf("## Loss-curve surrogates (generated by tests/validate_surrogate.c)\n");
  part_a();
  part_c();
  part_b();
  return test_finish();
}
