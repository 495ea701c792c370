/* Validation of the loss-curve surrogates on the real runs in
 * ../shared/data (docs/validation.md, "Loss-curve surrogates"):
 *
 *   A. mpl with the published parameters on mpl-llama/{25M,100M,400M}: the
 *      held-out curves we have, against the published averages;
 *   C. fsl-llm fitted on gpt-100m/811.csv, scored on gpt-100m/wsd.csv, both
 *      smoothed by a centered 201-step rolling mean (target MAE ≤ 0.006);
 *   B. the published split: mpl and fsl-llm fitted on cosine_24000 +
 *      constant_24000 + wsdcon_9, all five curves scored, next to the MPL
 *      authors' published parameters on the same curves (target: held-out
 *      MAE ≤ 0.006);
 *   D. leave one curve out: each of the five curves of a size held out, the
 *      other four fitted; mean held-out MAE against the published parameters'
 *      (the target of the surrogate work: below theirs for every size);
 *   E. leave the horizon out: the published training curves fitted on their
 *      steps before 16000, scored from 16000 on;
 *   G. cross-size: mpl fitted jointly on the five 25M and the five 100M runs
 *      with model-size laws (A power, alpha log; L0 shifted towards E, for
 *      several E, or power), scored on the five 400M runs (target: mean MAE
 *      ≤ 0.01 with the law of problems/fit_mpl_size_400m.yaml, E = 1.69; and
 *      with E = 1.5, the law that file had before the 400M curves were
 *      scored);
 *   F. the CPU time, objective evaluations and prior strength of every fit
 *      above.
 *
 * Every fit but G's chooses its prior strength ρ by cross-validation (the
 * library's default); B, D and E report the ρ chosen.
 *
 * The published parameters were fitted by their authors on the published
 * split, so on the folds of D that hold out cosine_24000, constant_24000 or
 * wsdcon_9 they have seen the held-out curve.
 *
 * Prints the markdown of docs/validation.md.  Run:
 *   validate_surrogate [--fold-starts N] [SECTIONS]
 * SECTIONS: letters of A–E and G (default all; F always); --fold-starts: multi-start count
 * of the fits of D and E (default 4; 0 = the library's default).  Or:
 *   ctest -L validation -R validate_surrogate -V */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"
#include "testutil.h"

/* ---- data ---------------------------------------------------------------- */

/* The five mpl-llama runs and their schedules (../shared/data/README.md). */
enum { COS, CON24, WSDCON, WSD, CON72, NRUN };
static const char *const run_name[NRUN] = {"cosine_24000", "constant_24000", "wsdcon_9",
                                           "wsd_20000_24000", "constant_72000"};
/* The published split: COS, CON24, WSDCON fitted, WSD and CON72 held out. */
#define PUBLISHED_FIT(r) ((r) <= WSDCON)

enum { NSIZE = 3 };
static const char *const sizes[NSIZE] = {"25M", "100M", "400M"};

/* Every run of every size, loaded once (fits borrow them).  Sections that
 * fit across sizes can use all of them together. */
static schedopt_losscurve *runs[NSIZE][NRUN];

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

/* The MPL authors' parameters (docs/theory.md §5; their repository README),
 * fitted on the published split. */
static const double published_theta[NSIZE][7] = {
    {3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257},
    {2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644},
    {2.37474466, 0.65421216, 0.42878731, 523.42464371, 2.02462735, 0.59350493, 0.63472457}};
/* R², MAE, RMSE, PredE, WorstE averaged over their six unseen schedules
 * (MPL repository README). */
static const double published_metrics[NSIZE][5] = {{0.9988, 0.00376, 0.00465, 0.00110, 0.00409},
                                                   {0.9983, 0.00435, 0.00592, 0.00142, 0.00583},
                                                   {0.9978, 0.00484, 0.00730, 0.00168, 0.00995}};

static const schedopt_surrogate_type *surrogate(int m) {
  return m ? schedopt_surrogate_fsl_llm : schedopt_surrogate_mpl;
}

/* ---- fits ---------------------------------------------------------------- */

/* One curve of a fit: which run, its role and its fitted/scored steps. */
typedef struct {
  int run;
  schedopt_curve_role role;
  double start, end; /* NAN: the warmup's end / no bound */
} curve_use;

/* Every fit, for section F. */
typedef struct {
  char section, label[96];
  const char *size, *surrogate;
  int starts;
  long evals;
  double cpu, wall, prior;
  int cv; /* 1: ρ chosen by cross-validation */
} fit_record;
static fit_record fit_log[128];
static int nfit_log;
static int fold_starts = 4;   /* D and E; 0 = the library's default */
static char command_line[512]; /* printed at the top of every section */

static void section(const char *title) {
  printf("\n### %s\n\nCommand: `%s`\n\n", title, command_line);
}

static void log_fit(char sec, const char *size, const char *sur, const char *label,
                    const schedopt_fit_summary *s) {
  if (nfit_log >= (int)(sizeof fit_log / sizeof *fit_log)) return;
  fit_record *r = &fit_log[nfit_log++];
  r->section = sec;
  snprintf(r->label, sizeof r->label, "%s", label);
  r->size = size;
  r->surrogate = sur;
  r->starts = s->starts;
  r->evals = s->evals;
  r->cpu = s->cpu_seconds;
  r->wall = s->seconds;
  r->prior = s->prior;
  r->cv = s->ngrid > 0;
}

/* The prior strength of a fit, for a table cell: ρ, marked "(given)" when
 * it was not chosen by cross-validation. */
static const char *prior_text(const schedopt_fit *f) {
  static char b[4][32];
  static int k;
  char *t = b[k++ % 4];
  if (!f) return "—";
  schedopt_fit_summary s;
  schedopt_fit_get_summary(f, &s);
  snprintf(t, sizeof b[0], "%g%s", s.prior, s.ngrid ? "" : " (given)");
  return t;
}

/* The curves of size z as listed in u, fitted with surrogate T (starts ≤ 0:
 * the library's default), logged for section F under (sec, label).  NULL
 * (and a failed check) if the fit fails. */
static schedopt_fit *fit_curves(const schedopt_surrogate_type *T, int z, const curve_use *u,
                                int n, int starts, char sec, const char *label) {
  schedopt_fit *f = NULL;
  schedopt_error err = {0};
  schedopt_status st = schedopt_fit_alloc(&f, T, &err);
  for (int i = 0; i < n && !st; i++)
    st = schedopt_fit_add_curve(f, runs[z][u[i].run], u[i].role, u[i].start, u[i].end, &err);
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  if (starts > 0) o.starts = starts;
  if (!st) st = schedopt_fit_run(f, &o, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "%s %s %s: %s", sizes[z], T->name, label, err.msg);
  if (st) {
    schedopt_fit_free(f);
    return NULL;
  }
  schedopt_fit_summary s;
  schedopt_fit_get_summary(f, &s);
  log_fit(sec, sizes[z], T->name, label, &s);
  return f;
}

/* The same curves scored with the published mpl parameters of size z. */
static schedopt_fit *published_curves(int z, const curve_use *u, int n) {
  schedopt_fit *f = NULL;
  schedopt_error err = {0};
  schedopt_status st = schedopt_fit_alloc(&f, schedopt_surrogate_mpl, &err);
  for (int i = 0; i < n && !st; i++)
    st = schedopt_fit_add_curve(f, runs[z][u[i].run], u[i].role, u[i].start, u[i].end, &err);
  if (!st) st = schedopt_fit_evaluate(f, published_theta[z], NULL, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "%s published: %s", sizes[z], err.msg);
  if (st) {
    schedopt_fit_free(f);
    return NULL;
  }
  return f;
}

static schedopt_fit_metrics curve_metrics(const schedopt_fit *f, size_t i) {
  schedopt_fit_curve fc;
  schedopt_error err = {0};
  schedopt_fit_metrics none = {0, NAN, NAN, NAN, NAN, NAN};
  if (!f || schedopt_fit_get_curve(f, i, &fc, &err)) return none;
  return fc.metrics;
}

/* a += m/k (n summed) */
static void metrics_add(schedopt_fit_metrics *a, const schedopt_fit_metrics *m, double k) {
  a->n += m->n;
  a->r2 += m->r2 / k, a->mae += m->mae / k, a->rmse += m->rmse / k;
  a->prede += m->prede / k, a->worste += m->worste / k;
}

static void row(const char *a, const char *b, const char *c, const schedopt_fit_metrics *m) {
  printf("| %s | %s | %s | %zu | %.5f | %.5f | %.5f | %.5f | %.5f |\n", a, b, c, m->n, m->r2,
         m->mae, m->rmse, m->prede, m->worste);
}

/* ---- A. published parameters ---------------------------------------------- */

static void part_a(void) {
  section("A. Published MPL parameters on the held-out runs");
  printf("| model | curve | | points | R² | MAE | RMSE | PredE | WorstE |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  for (int z = 0; z < NSIZE; z++) {
    const curve_use u[2] = {{WSD, SCHEDOPT_CURVE_TEST, NAN, NAN},
                            {CON72, SCHEDOPT_CURVE_TEST, NAN, NAN}};
    schedopt_fit *f = published_curves(z, u, 2);
    if (!f) continue;
    schedopt_fit_metrics avg = {0};
    for (size_t i = 0; i < 2; i++) {
      schedopt_fit_metrics m = curve_metrics(f, i);
      row(sizes[z], run_name[u[i].run], "ours", &m);
      metrics_add(&avg, &m, 2);
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
    if (z == 1) { /* the 100M numbers quoted in docs/theory.md §5 */
      CHECK_CLOSE(avg.mae, pub.mae, 0.05, 0);
      CHECK_CLOSE(avg.rmse, pub.rmse, 0.05, 0);
      CHECK_CLOSE(avg.prede, pub.prede, 0.05, 0);
      CHECK_CLOSE(avg.worste, pub.worste, 0.05, 0);
    }
    schedopt_fit_free(f);
  }
}

/* ---- B. the published split ------------------------------------------------ */

/* B's 400M mpl fit on the published split, per curve (G's reference row). */
static double b400_mae[NRUN], b400_cpu;
static int b400_done;

static void metrics_cells(const schedopt_fit_metrics *m) {
  printf(" %.5f | %.5f | %.5f | %.5f | %.5f |", m->r2, m->mae, m->rmse, m->prede, m->worste);
}

static void part_b(void) {
  section("B. Fitted on cosine_24000 + constant_24000 + wsdcon_9, held out: wsd_20000_24000, "
          "constant_72000");
  printf("Every curve scored from the end of its warmup, by our fit and by the MPL authors' "
         "published parameters (fitted by them on the same three curves); 8 starts per fit.\n\n");
  printf("| model | surrogate | curve (role) | points | R² | MAE | RMSE | PredE | WorstE | "
         "published: R² | MAE | RMSE | PredE | WorstE | MAE ours/published − 1 |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  curve_use u[NRUN];
  for (int r = 0; r < NRUN; r++)
    u[r] = (curve_use){r, PUBLISHED_FIT(r) ? SCHEDOPT_CURVE_FIT : SCHEDOPT_CURVE_TEST, NAN, NAN};
  char fits[2 * NSIZE][512];
  int nf = 0;
  for (int z = 0; z < NSIZE; z++) {
    schedopt_fit *pub = published_curves(z, u, NRUN);
    for (int m = 0; m < 2; m++) {
      const schedopt_surrogate_type *T = surrogate(m);
      schedopt_fit *f = fit_curves(T, z, u, NRUN, 8, 'B', "published split");
      if (!f) continue;
      schedopt_fit_metrics avg = {0}, avgp = {0};
      for (int r = 0; r < NRUN; r++) {
        schedopt_fit_metrics mo = curve_metrics(f, (size_t)r), mp = curve_metrics(pub, (size_t)r);
        printf("| %s | %s | %s (%s) | %zu |", sizes[z], T->name, run_name[r],
               PUBLISHED_FIT(r) ? "fit" : "test", mo.n);
        metrics_cells(&mo);
        metrics_cells(&mp);
        printf(" %+.1f%% |\n", 100 * (mo.mae / mp.mae - 1));
        if (z == NSIZE - 1 && m == 0) b400_mae[r] = mo.mae;
        if (!PUBLISHED_FIT(r)) {
          metrics_add(&avg, &mo, 2);
          metrics_add(&avgp, &mp, 2);
          CHECK_MSG(mo.mae <= 0.006, "%s %s %s: MAE %.5f > 0.006", sizes[z], T->name, run_name[r],
                    mo.mae);
        }
      }
      printf("| %s | %s | **mean of the two held out** | %zu |", sizes[z], T->name, avg.n);
      metrics_cells(&avg);
      metrics_cells(&avgp);
      printf(" **%+.1f%%** |\n", 100 * (avg.mae / avgp.mae - 1));
      schedopt_fit_summary sm;
      schedopt_fit_get_summary(f, &sm);
      if (z == NSIZE - 1 && m == 0) b400_done = 1, b400_cpu = sm.cpu_seconds;
      int k = snprintf(fits[nf], sizeof fits[nf], "| %s | %s | %s | %.3g | %d | %ld | %.1f | %.1f |",
                       sizes[z], T->name, prior_text(f), sm.objective, sm.best_start, sm.evals,
                       sm.seconds, sm.cpu_seconds);
      for (size_t p = 0; p < T->nparams && k < (int)sizeof fits[nf]; p++)
        k += snprintf(fits[nf] + k, sizeof fits[nf] - (size_t)k, "%s%s=%.4g", p ? ", " : " ",
                      T->params[p].name, sm.theta[p]);
      if (k < (int)sizeof fits[nf]) snprintf(fits[nf] + k, sizeof fits[nf] - (size_t)k, " |");
      nf++;
      schedopt_fit_free(f);
    }
    schedopt_fit_free(pub);
  }
  printf("\nThe fits (8 starts each; prior ρ: the prior strength chosen by cross-validation "
         "from {1, 0.1, 0.01, 0.001, 0}; wall and CPU seconds, cross-validation included, on the "
         "machine that ran this):\n\n");
  printf("| model | surrogate | prior ρ | objective | best start | evaluations | wall s | CPU s | "
         "parameters |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < nf; i++) printf("%s\n", fits[i]);
}

/* ---- C. gpt-100m ------------------------------------------------------------ */

static void part_c(void) {
  section("C. fsl-llm fitted on gpt-100m/811.csv, scored on gpt-100m/wsd.csv");
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
    char label[64];
    snprintf(label, sizeof label, "gpt-100m 811, from step %.0f", starts[s]);
    log_fit('C', "100M", schedopt_surrogate_fsl_llm->name, label, &sm);
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

/* ---- D. leave one curve out -------------------------------------------------- */

/* The caption's note on the starts of the folds. */
static const char *starts_text(void) {
  static char s[160];
  if (fold_starts > 0)
    snprintf(s, sizeof s, "%d starts per fit; B uses 8", fold_starts);
  else
    snprintf(s, sizeof s, "the library's default starts per fit");
  return s;
}

static void part_d(void) {
  section("D. Leave one curve out");
  printf("For each of the five curves of a size: fitted on the other four, the held-out curve "
         "scored from the end of its warmup (%s). \"published\": "
         "the MPL authors' parameters on the same curve — fitted by them on cosine_24000 + "
         "constant_24000 + wsdcon_9, so on those three folds they have seen the held-out "
         "curve.\n\n",
         starts_text());
  printf("| model | surrogate | held-out curve | points | MAE ours | MAE published | ours / "
         "published | RMSE ours | WorstE ours | prior ρ |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  double mean[NSIZE][2], meanp[NSIZE];
  int ok[NSIZE][2];
  for (int z = 0; z < NSIZE; z++) {
    curve_use all[NRUN];
    for (int r = 0; r < NRUN; r++) all[r] = (curve_use){r, SCHEDOPT_CURVE_TEST, NAN, NAN};
    schedopt_fit *pub = published_curves(z, all, NRUN);
    meanp[z] = 0;
    for (int r = 0; r < NRUN; r++) meanp[z] += curve_metrics(pub, (size_t)r).mae / NRUN;
    for (int m = 0; m < 2; m++) {
      const schedopt_surrogate_type *T = surrogate(m);
      mean[z][m] = 0;
      ok[z][m] = 1;
      for (int h = 0; h < NRUN; h++) {
        curve_use u[NRUN];
        for (int r = 0; r < NRUN; r++)
          u[r] = (curve_use){r, r == h ? SCHEDOPT_CURVE_TEST : SCHEDOPT_CURVE_FIT, NAN, NAN};
        char label[64];
        snprintf(label, sizeof label, "all but %s", run_name[h]);
        schedopt_fit *f = fit_curves(T, z, u, NRUN, fold_starts, 'D', label);
        schedopt_fit_metrics mo = curve_metrics(f, (size_t)h), mp = curve_metrics(pub, (size_t)h);
        if (!f) ok[z][m] = 0;
        printf("| %s | %s | %s | %zu | %.5f | %.5f | %.3f | %.5f | %.5f | %s |\n", sizes[z],
               T->name, run_name[h], mo.n, mo.mae, mp.mae, mo.mae / mp.mae, mo.rmse, mo.worste,
               prior_text(f));
        mean[z][m] += mo.mae / NRUN;
        schedopt_fit_free(f);
      }
      printf("| %s | %s | **mean of the five folds** | | **%.5f** | **%.5f** | **%.3f** | | | |\n",
             sizes[z], T->name, mean[z][m], meanp[z], mean[z][m] / meanp[z]);
    }
    schedopt_fit_free(pub);
  }
  printf("\nLeave-one-curve-out, mean held-out MAE over the five folds:\n\n");
  for (int z = 0; z < NSIZE; z++) {
    printf("- %s:", sizes[z]);
    for (int m = 0; m < 2; m++)
      printf("%s %s LOO mean MAE ours %.5f vs published %.5f: %s", m ? ";" : "", surrogate(m)->name,
             mean[z][m], meanp[z],
             !ok[z][m] ? "a fit failed" : mean[z][m] < meanp[z] ? "beats" : "does not beat");
    printf("\n");
  }
}

/* ---- E. leave the horizon out ------------------------------------------------- */

#define HORIZON_CUT 16000.0

static void part_e(void) {
  section("E. Leave the horizon out");
  printf("The curves of the published split fitted on their steps before %.0f only, and scored "
         "from step %.0f on (%s). wsdcon_9 ends before step %.0f: it is fitted whole and not "
         "scored; the mean is over the curves scored.\n\n",
         HORIZON_CUT, HORIZON_CUT, starts_text(), HORIZON_CUT);
  printf("| model | surrogate | curve | scored points | MAE ours | MAE published | ours / published | "
         "RMSE ours | WorstE ours | prior ρ |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int z = 0; z < NSIZE; z++) {
    curve_use u[2 * NRUN], t[NRUN];
    int n = 0, nt = 0;
    for (int r = 0; r < NRUN; r++)
      if (PUBLISHED_FIT(r)) u[n++] = (curve_use){r, SCHEDOPT_CURVE_FIT, NAN, HORIZON_CUT - 1};
    const int nfitted = n;
    for (int r = 0; r < NRUN; r++) {
      if (!PUBLISHED_FIT(r)) continue;
      const double *st = schedopt_losscurve_steps(runs[z][r]);
      size_t np = schedopt_losscurve_npoints(runs[z][r]);
      if (!np || st[np - 1] < HORIZON_CUT) continue; /* nothing after the cut */
      u[n++] = t[nt++] = (curve_use){r, SCHEDOPT_CURVE_TEST, HORIZON_CUT, NAN};
    }
    schedopt_fit *pub = published_curves(z, t, nt);
    for (int m = 0; m < 2; m++) {
      const schedopt_surrogate_type *T = surrogate(m);
      schedopt_fit *f = fit_curves(T, z, u, n, fold_starts, 'E', "steps < 16000");
      double mo_mean = 0, mp_mean = 0;
      for (int i = 0; i < nt; i++) {
        schedopt_fit_metrics mo = curve_metrics(f, (size_t)(nfitted + i)),
                             mp = curve_metrics(pub, (size_t)i);
        printf("| %s | %s | %s | %zu | %.5f | %.5f | %.3f | %.5f | %.5f | %s |\n", sizes[z],
               T->name, run_name[t[i].run], mo.n, mo.mae, mp.mae, mo.mae / mp.mae, mo.rmse,
               mo.worste, prior_text(f));
        mo_mean += mo.mae / nt;
        mp_mean += mp.mae / nt;
      }
      printf("| %s | %s | **mean** | | **%.5f** | **%.5f** | **%.3f** | | | |\n", sizes[z], T->name,
             mo_mean, mp_mean, mo_mean / mp_mean);
      schedopt_fit_free(f);
    }
    schedopt_fit_free(pub);
  }
}

/* ---- F. fit times ---------------------------------------------------------------- */

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void part_f(double cpu0, double wall0) {
  section("F. Fit times");
  printf("Every fit above: CPU seconds of the process during the fit and objective evaluations "
         "(all starts, and the prior's cross-validation where ρ was chosen), as the fit reports "
         "them; wall seconds on the machine that ran this; prior ρ as chosen by cross-validation, "
         "or \"(given)\".\n\n");
  printf("| section | model | surrogate | fitted on | starts | prior ρ | evaluations | CPU s | "
         "wall s |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  double cpu = 0, wall = 0;
  long evals = 0;
  for (int i = 0; i < nfit_log; i++) {
    const fit_record *r = &fit_log[i];
    printf("| %c | %s | %s | %s | %d | %g%s | %ld | %.2f | %.2f |\n", r->section, r->size,
           r->surrogate, r->label, r->starts, r->prior, r->cv ? "" : " (given)", r->evals, r->cpu,
           r->wall);
    cpu += r->cpu, wall += r->wall, evals += r->evals;
  }
  printf("| **total** | | | %d fits | | | **%ld** | **%.1f** | **%.1f** |\n", nfit_log, evals, cpu,
         wall);
  printf("\nThe whole program: %.1f s CPU, %.1f s wall.\n", cpu_now() - cpu0,
         test_seconds() - wall0);
}

/* ---- G. cross-size ----------------------------------------------------------------- */

/* Model sizes in parameters, as the directories name them (and as
 * problems/fit_mpl_size_400m.yaml gives them). */
static const double model_size[NSIZE] = {25e6, 100e6, 400e6};

typedef struct {
  schedopt_size_law law;
  double shift;
  const char *label;
} l0_law;

static const l0_law l0_laws[] = {{SCHEDOPT_SIZE_POWER, 0, "power"},
                                 {SCHEDOPT_SIZE_SHIFTED, 1.0, "shifted, E = 1.0"},
                                 {SCHEDOPT_SIZE_SHIFTED, 1.5, "shifted, E = 1.5 (set first)"},
                                 {SCHEDOPT_SIZE_SHIFTED, 1.69, "shifted, E = 1.69 (the problem file)"},
                                 {SCHEDOPT_SIZE_SHIFTED, 2.0, "shifted, E = 2.0"}};
/* The problem file's law, and the one it had before the 400M curves were
 * scored. */
enum { NLAW = sizeof l0_laws / sizeof *l0_laws, PROBLEM_LAW = 3, FIRST_LAW = 2 };

/* Index of parameter name of T (−1: none). */
static int param_index(const schedopt_surrogate_type *T, const char *name) {
  for (size_t p = 0; p < T->nparams; p++)
    if (!strcmp(T->params[p].name, name)) return (int)p;
  return -1;
}

/* mpl fitted on the five runs of 25M and of 100M (model sizes N[]), the five
 * 400M runs scored (curves 2·NRUN + r); A power, alpha log, L0 by law; one
 * start, no prior.  NULL if the fit fails. */
static schedopt_fit *fit_cross_size(const double *N, const l0_law *law) {
  const schedopt_surrogate_type *T = schedopt_surrogate_mpl;
  schedopt_fit *f = NULL;
  schedopt_error err = {0};
  schedopt_status st = schedopt_fit_alloc(&f, T, &err);
  size_t i = 0;
  for (int z = 0; z < NSIZE && !st; z++)
    for (int r = 0; r < NRUN && !st; r++, i++) {
      st = schedopt_fit_add_curve(f, runs[z][r], z < NSIZE - 1 ? SCHEDOPT_CURVE_FIT
                                                                 : SCHEDOPT_CURVE_TEST,
                                  NAN, NAN, &err);
      if (!st) st = schedopt_fit_set_curve_info(f, i, N[z], NAN, NULL, &err);
    }
  if (!st) st = schedopt_fit_set_size_law(f, "L0", law->law, law->shift, &err);
  if (!st) st = schedopt_fit_set_size_law(f, "A", SCHEDOPT_SIZE_POWER, 0, &err);
  if (!st) st = schedopt_fit_set_size_law(f, "alpha", SCHEDOPT_SIZE_LOG, 0, &err);
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  o.starts = 1;
  o.prior = 0;
  if (!st) st = schedopt_fit_run(f, &o, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "cross-size %s: %s", law->label, err.msg);
  if (st) {
    schedopt_fit_free(f);
    return NULL;
  }
  schedopt_fit_summary s;
  schedopt_fit_get_summary(f, &s);
  char label[96];
  snprintf(label, sizeof label, "all ten runs, L0 %s", law->label);
  log_fit('G', "25M + 100M", T->name, label, &s);
  return f;
}

/* One table of the L0 laws with sizes N[]; returns the mean 400M MAE of each
 * law in mean[]. */
static void cross_size_table(const double *N, double *mean) {
  const schedopt_surrogate_type *T = schedopt_surrogate_mpl;
  const int iL0 = param_index(T, "L0"), iA = param_index(T, "A"), ial = param_index(T, "alpha");
  printf("| L0 law |");
  for (int r = 0; r < NRUN; r++) printf(" 400M %s |", run_name[r]);
  printf(" mean | κ L0 | κ A | κ alpha | CPU s |\n|---|");
  for (int r = 0; r < NRUN; r++) printf("---|");
  printf("---|---|---|---|---|\n");
  for (int l = 0; l < NLAW; l++) {
    schedopt_fit *f = fit_cross_size(N, &l0_laws[l]);
    mean[l] = NAN;
    printf("| %s |", l0_laws[l].label);
    if (!f) {
      printf(" fit failed | | | | | | | | | |\n");
      continue;
    }
    mean[l] = 0;
    for (int r = 0; r < NRUN; r++) {
      double mae = curve_metrics(f, (size_t)((NSIZE - 1) * NRUN + r)).mae;
      printf(" %.5f |", mae);
      mean[l] += mae / NRUN;
    }
    schedopt_fit_summary s;
    schedopt_fit_get_summary(f, &s);
    printf(" **%.5f** | %.4f | %.4f | %.5f | %.2f |\n", mean[l], s.laws->size_exp[iL0],
           s.laws->size_exp[iA], s.laws->size_exp[ial], s.cpu_seconds);
    schedopt_fit_free(f);
  }
}

static void part_g(void) {
  section("G. Cross-size: fitted on 25M + 100M, scored on 400M");
  printf("mpl fitted jointly on all five 25M and all five 100M curves (model size 25e6 and 100e6), "
         "with size laws θ(N) at the reference N_ref = 100e6: A power, alpha log, and L0 one of "
         "power or shifted towards E (L0(N) = E + (L0 − E)(N/N_ref)^κ, E given); one fit per L0 "
         "law, with 1 start and no prior (options.prior = 0, not cross-validated) to keep it "
         "cheap. Scored on all five 400M curves (model size 400e6), from the end of their "
         "warmup; MAE per curve, κ the fitted size exponents. Below the laws, for reference, "
         "the per-size fit: the 400M mpl fit of B (fitted on 400M cosine_24000 + constant_24000 "
         "+ wsdcon_9, so three of the five curves were seen; CPU: its fit), and the MPL authors' "
         "published 400M parameters (fitted by them on the same three). E: "
         "problems/fit_mpl_size_400m.yaml first had E = 1.5, set before the 400M curves were "
         "scored; it now has E = 1.69, the irreducible loss of the Chinchilla fit, set after "
         "this table was first made — so the 1.69 row is not a clean out-of-sample number.\n\n");
  double mean[NLAW];
  cross_size_table(model_size, mean);
  /* the per-size references */
  curve_use all[NRUN];
  for (int r = 0; r < NRUN; r++) all[r] = (curve_use){r, SCHEDOPT_CURVE_TEST, NAN, NAN};
  if (!b400_done) { /* B not run: the same fit here */
    curve_use u[NRUN];
    for (int r = 0; r < NRUN; r++)
      u[r] = (curve_use){r, PUBLISHED_FIT(r) ? SCHEDOPT_CURVE_FIT : SCHEDOPT_CURVE_TEST, NAN, NAN};
    schedopt_fit *f = fit_curves(schedopt_surrogate_mpl, NSIZE - 1, u, NRUN, 8, 'G',
                                 "published split (as B)");
    if (f) {
      schedopt_fit_summary s;
      schedopt_fit_get_summary(f, &s);
      for (int r = 0; r < NRUN; r++) b400_mae[r] = curve_metrics(f, (size_t)r).mae;
      b400_cpu = s.cpu_seconds;
      b400_done = 1;
      schedopt_fit_free(f);
    }
  }
  if (b400_done) {
    double m = 0;
    printf("| per-size fit: 400M, published split (B) |");
    for (int r = 0; r < NRUN; r++) printf(" %.5f |", b400_mae[r]), m += b400_mae[r] / NRUN;
    printf(" **%.5f** | | | | %.2f |\n", m, b400_cpu);
  }
  schedopt_fit *pub = published_curves(NSIZE - 1, all, NRUN);
  if (pub) {
    double m = 0;
    printf("| published 400M parameters |");
    for (int r = 0; r < NRUN; r++) {
      double mae = curve_metrics(pub, (size_t)r).mae;
      printf(" %.5f |", mae);
      m += mae / NRUN;
    }
    printf(" **%.5f** | | | | |\n", m);
    schedopt_fit_free(pub);
  }
  printf("\n- cross-size (25M + 100M → 400M): mean MAE %.5f with the problem file's law (L0 "
         "shifted E = 1.69, A power, alpha log), target ≤ 0.01: %s\n",
         mean[PROBLEM_LAW], !(mean[PROBLEM_LAW] <= 0.01) ? "not met" : "met");
  printf("- cross-size (25M + 100M → 400M): mean MAE %.5f with the law set before the 400M curves "
         "were scored (L0 shifted E = 1.5, A power, alpha log), target ≤ 0.01: %s\n",
         mean[FIRST_LAW], !(mean[FIRST_LAW] <= 0.01) ? "not met" : "met");
}

/* ---- main ----------------------------------------------------------------------- */

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* tables appear as they are computed */
  const double cpu0 = cpu_now(), wall0 = test_seconds();
  const char *want = "ABCDEG";
  const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  int k = snprintf(command_line, sizeof command_line, "%s", prog);
  for (int i = 1; i < argc; i++) {
    if (k < (int)sizeof command_line)
      k += snprintf(command_line + k, sizeof command_line - (size_t)k, " %s", argv[i]);
    if (!strcmp(argv[i], "--fold-starts") && i + 1 < argc) {
      fold_starts = atoi(argv[++i]);
      if (k < (int)sizeof command_line)
        k += snprintf(command_line + k, sizeof command_line - (size_t)k, " %s", argv[i]);
    } else if (argv[i][0] != '-' && argv[i][strspn(argv[i], "ABCDEG")] == '\0') {
      want = argv[i];
    } else {
      fprintf(stderr, "usage: %s [--fold-starts N] [SECTIONS: letters of ABCDEG]\n", prog);
      return 2;
    }
  }
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/data/README.md", SCHEDOPT_SHARED_DIR);
  FILE *f = fopen(probe, "r");
  if (!f) {
    printf("%s/data not found: nothing to validate\n", SCHEDOPT_SHARED_DIR);
    return 0;
  }
  fclose(f);
  for (int z = 0; z < NSIZE; z++)
    for (int r = 0; r < NRUN; r++) {
      runs[z][r] = mpl_run(sizes[z], r);
      CHECK_MSG(runs[z][r] != NULL, "%s %s not loaded", sizes[z], run_name[r]);
      if (!runs[z][r]) return test_finish();
    }
  printf("## Loss-curve surrogates (generated by tests/validate_surrogate.c)\n");
  if (strchr(want, 'A')) part_a();
  if (strchr(want, 'C')) part_c();
  if (strchr(want, 'B')) part_b();
  if (strchr(want, 'D')) part_d();
  if (strchr(want, 'E')) part_e();
  if (strchr(want, 'G')) part_g();
  part_f(cpu0, wall0);
  for (int z = 0; z < NSIZE; z++)
    for (int r = 0; r < NRUN; r++) schedopt_losscurve_free(runs[z][r]);
  return test_finish();
}
