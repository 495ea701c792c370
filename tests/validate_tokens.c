/* Tokens per step on PLRF curves (ctest -L validation; docs/validation.md,
 * "Tokens per step on PLRF curves").
 *
 * The surrogates' batch covariate (fit.h: the noise amplitude — mpl's B,
 * fsl-llm's c2 — scales as (b_ref/b)^ω) checked on curves whose truth is the
 * theory it comes from: the expected loss of SGD on the power-law
 * random-feature model (docs/theory.md §1), from the CVODES engine (matched
 * dynamics; deterministic, no sampling noise).
 *
 * One schedule family: warmup-stable-decay (linear warmup over W steps, peak
 * η, linear decay to 0 over the last 20 %), K steps, at batch sizes
 * b = 4, 8, 16, 32.  The log is dense: row k has η_k = v(k + ½) (so that
 * T(k) = Σ_{j≤k} η_j is the engine's ∫₀^{k+1} v) and the loss after k + 1
 * steps.  mpl and fsl-llm are fitted (prior 0) on b = 8 and b = 32 and score
 * b = 4 (extrapolation) and b = 16 (interpolation):
 *   - without tokens_per_step (the surrogate ignores the batch),
 *   - with tokens_per_step = b and ω = 0.5, 0.9, 1 (the theory), 1.1, 1.5,
 *   - with ω = 1 and in addition L0 = E + (L0_ref − E)(b/b_ref)^κ, E the
 *     engine's loss floor σ² + tail, L0_ref ≥ E, κ fitted (model_size = b
 *     with a shifted size law on L0): the constant-lr noise floor, ∝ η/b,
 *     as a part of L0;
 *   - with ω = 1 and tokens_per_step = (b − s_b)/s_b, i.e. a noise amplitude
 *     ∝ s_b/(b − s_b): SGD's noise is multiplicative (η²/b times the loss,
 *     which contains the noise itself) and 1/b also slows the drift, so the
 *     exact constant-lr noise floor of the recursion is (σ² + tail)·S/(1 − S)
 *     with S = s_b/b, s_b = Σ_k ηλ_k/(2 − ηλ_k(1 + 1/b)) at the peak η —
 *     a placement that follows from the model alone (no fitted constant).
 * Excess loss = L − (σ² + tail), the engine's floor (tail: the unlearned
 * modes' power, 1e-8 here).  Target (the issue): a held-out batch within 1 %
 * of its mean excess loss (MAE / mean excess over the scored points, from
 * the warmup's end); also the error at the last step over the excess there
 * ("final").  The program fails only when a fit fails or the ω = 1 law
 * misses a held-out batch by 10 % or more: the 1 % target is reported.
 *
 * Also printed: the engine's own departure from a 1/b noise term, from a
 * noise-free run (b = 1e12): n_b(t) = L_b(t) − L_∞(t), and how far b·n_b(t)
 * is from 32·n_32(t).
 *
 *   validate_tokens [--phase hard|easy|both] [--steps K] [--starts N] [--peak ETA]
 * (default: both phases, K = 10000, 8 starts, η = 0.25 and 0.5; stable at
 * b = 4 in both phases). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/schedopt.h"
#include "schedopt/surrogate.h"
#include "testutil.h"

static schedopt_error err;

enum { NB = 4, NVAR = 9, THEORY = 3, L0LAW = 6, FEEDBACK = 7, OFFSET = 8, W = 200 };
static const double BATCH[NB] = {4, 8, 16, 32};
static const int FIT[NB] = {0, 1, 0, 1}; /* fitted: b = 8, 32; held out: 4, 16 */
static const char *const VAR_NAME[NVAR] = {"no tokens_per_step", "omega = 0.5", "omega = 0.9",
                                           "omega = 1 (theory)", "omega = 1.1", "omega = 1.5",
                                           "omega = 1, L0 law", "omega = 1, s_b/(b - s_b)",
                                           "omega = 1, c fitted (default)"};
static const double VAR_OMEGA[NVAR] = {NAN, 0.5, 0.9, 1, 1.1, 1.5, 1, 1, 1};

typedef struct phase {
  const char *name;
  double a, b;
} phase;
static const phase PHASES[] = {{"hard", 3.5, 5}, {"easy", 3.5, 2}};

static long K = 10000;
static int starts = 8;
static double peak = NAN; /* NAN: both 0.25 and 0.5 */
static const double SIGMA2 = 0.25;
static const long NMODES = 1000;

/* s_b of the feedback variant, per batch (phase and peak of the run) */
static double feedback_s[NB];

/* s_b = Σ_k ηλ_k/(2 − ηλ_k(1 + 1/b)), λ_k = k^−b_spec, η the peak. */
static double steady_s(const phase *ph, double bsz) {
  double s = 0;
  for (long k = 1; k <= NMODES; k++) {
    double el = peak * pow((double)k, -ph->b);
    s += el / (2 - el * (1 + 1 / bsz));
  }
  return s;
}

/* ---- the engine ------------------------------------------------------------ */

/* L after k = 1 … K steps at batch bsz (loss[k − 1]), and η_k = v(k + ½). */
static void simulate(const phase *ph, double bsz, double *loss, double *eta, double *secs) {
  schedopt_plrf_params p;
  schedopt_plrf_params_default(&p);
  p.a = ph->a;
  p.b = ph->b;
  p.N = NMODES;
  p.sigma2 = SIGMA2;
  schedopt_model *m = NULL;
  OK(schedopt_model_alloc(&m, schedopt_model_plrf, &p, &err));
  schedopt_schedule *s = NULL;
  OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, (double)K, 1, &err));
  char spec[160];
  snprintf(spec, sizeof spec, "peak=%.17g floor=0 decay_frac=0.2 shape=linear warmup=%d", peak, W);
  schedopt_control *lr = test_ctl(schedopt_control_wsd, spec);
  snprintf(spec, sizeof spec, "value=%.17g", bsz);
  schedopt_control *bc = test_ctl(schedopt_control_constant, spec);
  OK(schedopt_schedule_set(s, SCHEDOPT_LR, lr, &err));
  OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, bc, &err));
  schedopt_control_free(lr);
  schedopt_control_free(bc);
  double *t = malloc((size_t)K * sizeof *t);
  schedopt_row *rows = malloc((size_t)K * sizeof *rows);
  for (long k = 0; k < K; k++) t[k] = (double)(k + 1);
  schedopt_integrator *it = NULL;
  const double t0 = test_seconds();
  OK(schedopt_integrator_alloc(&it, schedopt_integrator_cvodes, m, &err));
  OK(schedopt_integrator_set_tolerances(it, 1e-8, 1e-12, &err));
  OK(schedopt_integrator_set_max_steps(it, 1000000, &err));
  OK(schedopt_integrator_run(it, s, t, (size_t)K, rows, &err));
  if (secs) *secs = test_seconds() - t0;
  for (long k = 0; k < K; k++) {
    loss[k] = rows[k].r.loss;
    if (eta) {
      schedopt_uval u;
      schedopt_schedule_eval(s, (double)k + 0.5, &u);
      eta[k] = u.lr;
    }
  }
  schedopt_integrator_free(it);
  schedopt_schedule_free(s);
  schedopt_model_free(m);
  free(t);
  free(rows);
}

/* ---- fits ------------------------------------------------------------------ */

typedef struct result {
  int ok;
  double mae[NB], ex[NB], fin[NB]; /* MAE, mean excess, |error| / excess at the last step */
  double theta[SCHEDOPT_FIT_MAXX];
  size_t nth;
  char names[SCHEDOPT_FIT_MAXX][48];
  double secs;
} result;

static void fit_one(const schedopt_surrogate_type *T, schedopt_losscurve *const *c, double floor_,
                    int var, result *r) {
  memset(r, 0, sizeof *r);
  schedopt_fit *f = NULL;
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  o.prior = 0;
  o.starts = starts;
  if (isfinite(VAR_OMEGA[var])) o.tokens_exp = VAR_OMEGA[var];
  /* the library fits the offset c of ((b_ref − c)/(b − c))^ω by default;
   * every variant but the last keeps the law it names (c = 0) */
  o.tokens_offset = var == OFFSET ? NAN : 0;
  OK(schedopt_fit_alloc(&f, T, &err));
  /* fit curves first: b_ref is the first fit curve's (b = 8) */
  int order[NB], n = 0;
  for (int i = 0; i < NB; i++)
    if (FIT[i]) order[n++] = i;
  for (int i = 0; i < NB; i++)
    if (!FIT[i]) order[n++] = i;
  for (int j = 0; j < NB; j++) {
    int i = order[j];
    OK(schedopt_fit_add_curve(f, c[i], FIT[i] ? SCHEDOPT_CURVE_FIT : SCHEDOPT_CURVE_TEST, NAN, NAN,
                              &err));
    if (var > 0)
      OK(schedopt_fit_set_curve_info(f, (size_t)j, var == L0LAW ? BATCH[i] : NAN,
                                     var == FEEDBACK ? (BATCH[i] - feedback_s[i]) / feedback_s[i]
                                                     : BATCH[i],
                                     NULL,
                                     &err));
  }
  /* the noise floor L0 − E is positive */
  if (var == L0LAW) {
    OK(schedopt_fit_set_size_law(f, "L0", SCHEDOPT_SIZE_SHIFTED, floor_, &err));
    OK(schedopt_fit_set_bounds(f, "L0", floor_, 20, &err));
  }
  const double t0 = test_seconds();
  schedopt_error e2 = {0};
  if (schedopt_fit_run(f, &o, &e2)) {
    fprintf(stderr, "%s, %s: %s\n", T->name, VAR_NAME[var], e2.msg);
    schedopt_fit_free(f);
    return;
  }
  r->secs = test_seconds() - t0;
  r->ok = 1;
  schedopt_fit_summary sm;
  schedopt_fit_get_summary(f, &sm);
  r->nth = T->nparams + sm.nextra;
  for (size_t k = 0; k < r->nth && k < SCHEDOPT_FIT_MAXX; k++)
    r->theta[k] = sm.theta[k], snprintf(r->names[k], sizeof r->names[k], "%s", sm.names[k]);
  for (int j = 0; j < NB; j++) {
    int i = order[j];
    schedopt_fit_curve fc;
    OK(schedopt_fit_get_curve(f, (size_t)j, &fc, &err));
    const double *L = schedopt_losscurve_loss(fc.curve);
    const size_t np = schedopt_losscurve_npoints(fc.curve);
    double ex = 0;
    size_t m = 0;
    for (size_t q = 0; q < np; q++)
      if (fc.scored[q]) ex += L[q] - floor_, m++;
    r->mae[i] = fc.metrics.mae;
    r->ex[i] = ex / (double)m;
    r->fin[i] = fabs(fc.pred[np - 1] - L[np - 1]) / (L[np - 1] - floor_);
  }
  schedopt_fit_free(f);
}

/* ---- one phase -------------------------------------------------------------- */

static double worst_theory[2]; /* ω = 1, over the held-out batches: mpl, fsl-llm */

/* One line of the closing summary per (phase, peak, surrogate). */
typedef struct summary {
  const char *phase, *model;
  double peak, share16, dep16; /* n_16 / excess and b n_b/(32 n_32) − 1 at b = 16, decay start */
  double fit;                  /* ω = 1: mean MAE / excess of the two fit curves */
  double none16, th16, th4;    /* held-out b = 16 without tokens, ω = 1 (b = 16, b = 4) */
  double best16, best4, bestw; /* the best ω of the grid at b = 16, its b = 4 */
  double fb16, fb4;            /* ω = 1 with the steady-state feedback */
  double of16, of4;            /* ω = 1 with c fitted (the library's default) */
} summary;
static summary sums[16];
static int nsums;

static void run_phase(const phase *ph) {
  const double tail = schedopt_powerlaw_tail(NMODES, ph->a), floor_ = SIGMA2 + tail;
  double *loss[NB], *eta = malloc((size_t)K * sizeof *eta), *step = malloc((size_t)K * sizeof *step);
  double *clean = malloc((size_t)K * sizeof *clean), secs[NB];
  schedopt_losscurve *c[NB];
  for (long k = 0; k < K; k++) step[k] = (double)k;
  printf("### %s phase: a = %g, spectral b = %g, N = %ld, sigma^2 = %g, tail = %.3g\n\n", ph->name,
         ph->a, ph->b, NMODES, SIGMA2, tail);
  for (int i = 0; i < NB; i++) {
    loss[i] = malloc((size_t)K * sizeof *loss[i]);
    simulate(ph, BATCH[i], loss[i], eta, &secs[i]);
    char nm[32];
    snprintf(nm, sizeof nm, "b%g", BATCH[i]);
    OK(schedopt_losscurve_from_arrays(&c[i], nm, (size_t)K, step, eta, loss[i], &err));
    schedopt_losscurve_set_warmup(c[i], W);
  }
  simulate(ph, 1e12, clean, NULL, NULL);

  /* the engine's noise term against 1/b */
  const long td = (long)(0.8 * (double)K) - 1; /* the last step before the decay */
  const double share16 = (loss[2][td] - clean[td]) / (loss[2][td] - floor_);
  const double dep16 = 16 * (loss[2][td] - clean[td]) / (32 * (loss[3][td] - clean[td])) - 1;
  double ss[NB]; /* the steady state's b·(noise floor), relative to b = 32 */
  for (int i = 0; i < NB; i++) feedback_s[i] = steady_s(ph, BATCH[i]);
  for (int i = 0; i < NB; i++)
    ss[i] = BATCH[i] * feedback_s[i] / (BATCH[i] - feedback_s[i]) /
            (32 * feedback_s[3] / (32 - feedback_s[3]));
  printf("Engine curves (CVODES, rtol 1e-8): excess loss L - (sigma^2 + tail); noise part n_b = "
         "L_b - L(b = 1e12); b n_b relative to 32 n_32\n\n");
  printf("| b | simulation s | excess at decay start | final excess | n_b / excess at decay start | "
         "n_b / excess at the end | b n_b / (32 n_32) at decay start | at the end | max over t >= %d "
         "| s_b | steady state: b s_b/(b - s_b), relative |\n",
         W);
  printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < NB; i++) {
    double worst = 1;
    for (long k = W; k < K; k++) {
      double rr = BATCH[i] * (loss[i][k] - clean[k]) / (32 * (loss[3][k] - clean[k]));
      if (fabs(rr - 1) > fabs(worst - 1)) worst = rr;
    }
    printf("| %g | %.2f | %.5f | %.6f | %.3f | %.3f | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
           BATCH[i], secs[i],
           loss[i][td] - floor_, loss[i][K - 1] - floor_,
           (loss[i][td] - clean[td]) / (loss[i][td] - floor_),
           (loss[i][K - 1] - clean[K - 1]) / (loss[i][K - 1] - floor_),
           BATCH[i] * (loss[i][td] - clean[td]) / (32 * (loss[3][td] - clean[td])),
           BATCH[i] * (loss[i][K - 1] - clean[K - 1]) / (32 * (loss[3][K - 1] - clean[K - 1])),
           worst, feedback_s[i], ss[i]);
  }
  printf("\n");

  const schedopt_surrogate_type *TS[2] = {schedopt_surrogate_mpl, schedopt_surrogate_fsl_llm};
  for (int s = 0; s < 2; s++) {
    result r[NVAR];
    for (int v = 0; v < NVAR; v++) {
      fit_one(TS[s], c, floor_, v, &r[v]);
      CHECK_MSG(r[v].ok, "%s, %s phase, %s: the fit failed", TS[s]->name, ph->name, VAR_NAME[v]);
    }
    printf("%s (%s phase), fitted on b = 8, 32; MAE / mean excess (MAE); final: |error| / excess "
           "at the last step\n\n",
           TS[s]->name, ph->name);
    printf("| variant | fit b = 8 | final | fit b = 32 | final | held-out b = 4 | final | "
           "held-out b = 16 | final | fit s |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (int v = 0; v < NVAR; v++) {
      if (!r[v].ok) {
        printf("| %s | failed | | | | | | | | |\n", VAR_NAME[v]);
        continue;
      }
      printf("| %s", VAR_NAME[v]);
      const int cols[4] = {1, 3, 0, 2};
      for (int q = 0; q < 4; q++) {
        int i = cols[q];
        printf(" | %.2f %% (%.2e)", 100 * r[v].mae[i] / r[v].ex[i], r[v].mae[i]);
        printf(" | %.2f %%", 100 * r[v].fin[i]);
      }
      printf(" | %.1f |\n", r[v].secs);
    }
    printf("\n");
    for (int v = 0; v < NVAR; v++) {
      if (!r[v].ok) continue;
      printf("  %s, %s:", TS[s]->name, VAR_NAME[v]);
      for (size_t k = 0; k < r[v].nth; k++) printf(" %s %.5g", r[v].names[k], r[v].theta[k]);
      printf("\n");
    }
    printf("\n");
    for (int i = 0; i < NB; i++)
      if (!FIT[i] && r[THEORY].ok) {
        double pc = 100 * r[THEORY].mae[i] / r[THEORY].ex[i];
        printf("%s, %s phase, peak %g, omega = 1: held-out batch b=%g: MAE %.3g = %.2f %% of its "
               "excess loss (target <= 1 %%)%s\n",
               TS[s]->name, ph->name, peak, BATCH[i], r[THEORY].mae[i], pc,
               pc <= 1 ? "" : ": NOT MET");
        worst_theory[s] = fmax(worst_theory[s], pc);
      }
    printf("\n");
    if (nsums < (int)(sizeof sums / sizeof sums[0])) {
      summary *u = &sums[nsums++];
#define PCT(v, i) (r[v].ok ? 100 * r[v].mae[i] / r[v].ex[i] : NAN)
      u->phase = ph->name, u->model = TS[s]->name, u->peak = peak;
      u->share16 = share16, u->dep16 = dep16;
      u->fit = 0.5 * (PCT(THEORY, 1) + PCT(THEORY, 3));
      u->none16 = PCT(0, 2), u->th16 = PCT(THEORY, 2), u->th4 = PCT(THEORY, 0);
      u->fb16 = PCT(FEEDBACK, 2), u->fb4 = PCT(FEEDBACK, 0);
      u->of16 = PCT(OFFSET, 2), u->of4 = PCT(OFFSET, 0);
      u->best16 = INFINITY, u->best4 = NAN, u->bestw = NAN;
      for (int v = 1; v < L0LAW; v++)
        if (PCT(v, 2) < u->best16) u->best16 = PCT(v, 2), u->best4 = PCT(v, 0), u->bestw = VAR_OMEGA[v];
#undef PCT
    }
  }
  for (int i = 0; i < NB; i++) {
    schedopt_losscurve_free(c[i]);
    free(loss[i]);
  }
  free(eta);
  free(step);
  free(clean);
}

int main(int argc, char **argv) {
  const char *which = "both";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--phase") && i + 1 < argc)
      which = argv[++i];
    else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
      K = atol(argv[++i]);
    else if (!strcmp(argv[i], "--starts") && i + 1 < argc)
      starts = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--peak") && i + 1 < argc)
      peak = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: validate_tokens [--phase hard|easy|both] [--steps K] [--starts N] "
                      "[--peak ETA]\n");
      return 2;
    }
  }
  if (K < 10 * W || starts < 1 || !(peak > 0 || isnan(peak))) {
    fprintf(stderr, "validate_tokens: need --steps >= %d, --starts >= 1, --peak > 0\n", 10 * W);
    return 2;
  }
  const double peaks[2] = {0.25, 0.5};
  const int npeaks = isnan(peak) ? 2 : 1;
  const double given = peak;
  for (int q = 0; q < npeaks; q++) {
    peak = isnan(given) ? peaks[q] : given;
    printf("## Tokens per step on PLRF curves: K = %ld steps, WSD (warmup %d, peak %g, linear "
           "decay to 0 over the last 20 %%), fits: prior 0, %d starts\n\n",
           K, W, peak, starts);
    for (size_t p = 0; p < sizeof PHASES / sizeof PHASES[0]; p++)
      if (!strcmp(which, "both") || !strcmp(which, PHASES[p].name)) run_phase(&PHASES[p]);
  }
  printf("## Summary: held-out MAE / mean excess (fit on b = 8, 32)\n\n");
  printf("| phase | peak | surrogate | noise share of the excess at b = 16 | b n_b / 32 n_32 - 1 at "
         "b = 16 | fit curves, omega = 1 | b = 16, no tokens | b = 16, omega = 1 | b = 4, omega = 1 "
         "| best omega of the grid at b = 16 | its b = 16 | its b = 4 | s_b/(b - s_b): b = 16 | b = 4 "
         "| c fitted (default): b = 16 | b = 4 |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < nsums; i++) {
    const summary *u = &sums[i];
    printf("| %s | %g | %s | %.2f | %.2f %% | %.2f %% | %.2f %% | %.2f %% | %.2f %% | %g | %.2f %% | "
           "%.2f %% | %.2f %% | %.2f %% | %.2f %% | %.2f %% |\n",
           u->phase, u->peak, u->model, u->share16, 100 * u->dep16, u->fit, u->none16, u->th16,
           u->th4, u->bestw, u->best16, u->best4, u->fb16, u->fb4, u->of16, u->of4);
  }
  printf("\n");
  printf("worst held-out MAE / excess with omega = 1: mpl %.2f %%, fsl-llm %.2f %%\n",
         worst_theory[0], worst_theory[1]);
  /* The run is a measurement: it fails only when a fit breaks or the
   * theory's law is far off (the 1 % target is reported, not enforced). */
  CHECK_MSG(worst_theory[0] < 10 && worst_theory[1] < 10, "mpl %.2f %%, fsl-llm %.2f %%",
            worst_theory[0], worst_theory[1]);
  return test_finish();
}
