/* bench_fit: CPU time of surrogate fits and of one objective evaluation
 * (docs/performance.md, "Surrogate fits").
 *
 *   bench_fit [LOG.csv] [REPEATS] [--sparse DIR] [--sparse-repeats N] [--only dense|sparse]
 *
 * Two cases:
 *   dense   fsl-llm fit of a dense log (default ../shared/data/gpt-100m/811.csv),
 *           smoothed by a centered 201-step rolling mean, fitted from step 1000 on;
 *   sparse  mpl and fsl-llm fits of three sparse 100M mpl-llama runs (in DIR,
 *           default ../shared/data/mpl-llama/100M): cosine_24000, constant_24000
 *           and wsdcon_9, their per-step schedules rebuilt as in
 *           problems/fit_mpl_100m.yaml (warmup 2160 linear; cosine to 3e-5 over
 *           24,000 steps / constant 3e-4 / 3e-4 then 9e-5 from step 8000), fitted
 *           from the warmup's end.
 * Every fit uses the default options (8 starts, at most 1000 fitted points per
 * curve, LBFGS with the exact gradient, kernel accuracy 1e-9).  Reported:
 * the median over the repeats of the process CPU time (and the wall time) of
 * the fit, its evaluations and CPU per evaluation, its objective; then the
 * CPU time of one objective evaluation, measured alone: the loss and its
 * gradient at the fitted points of every fit curve (what the fit's
 * objective asks for), with the fast method, the fast method without the
 * gradient, and the direct double sum, at the fitted parameters and, for
 * the sparse cases, at fixed ones (comparable across versions, whose fits
 * may end at different points).  REPEATS (default 5) applies to the dense
 * fit, N (default 1) to the slower sparse fits. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedopt/control.h"
#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"

static double wall(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define MAXC 3

/* A fit case: its curves (borrowed), the first fitted step of each (NAN: the
 * warmup's end). */
typedef struct fitcase {
  const char *name;
  const schedopt_surrogate_type *type;
  size_t n;
  const schedopt_losscurve *c[MAXC];
  double start[MAXC];
  const double *ref; /* fixed parameters for evaluations comparable across versions, or NULL */
  const char *refname;
} fitcase;

/* One fit; returns 0 and fills wall/cpu seconds, evaluations, the best θ and
 * its objective. */
static int one_fit(const fitcase *fc, int starts, double prior, double *w, double *u,
                   long *evals, double *theta, double *obj) {
  schedopt_fit *f = NULL;
  schedopt_error err = {0};
  schedopt_fit_options o;
  schedopt_fit_options_default(&o);
  o.starts = starts;
  o.prior = prior; /* NAN: the default, chosen by cross-validation */
  if (schedopt_fit_alloc(&f, fc->type, &err)) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    return 1;
  }
  for (size_t i = 0; i < fc->n; i++)
    if (schedopt_fit_add_curve(f, fc->c[i], SCHEDOPT_CURVE_FIT, fc->start[i], NAN, &err)) {
      fprintf(stderr, "bench_fit: %s\n", err.msg);
      schedopt_fit_free(f);
      return 1;
    }
  double w0 = wall(), u0 = cpu();
  schedopt_status st = schedopt_fit_run(f, &o, &err);
  *w = wall() - w0;
  *u = cpu() - u0;
  if (st) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    schedopt_fit_free(f);
    return 1;
  }
  schedopt_fit_summary sm;
  schedopt_fit_get_summary(f, &sm);
  *evals = sm.evals;
  *obj = sm.objective;
  memcpy(theta, sm.theta, fc->type->nparams * sizeof *theta);
  schedopt_fit_free(f);
  return 0;
}

/* The fitted points of a curve as the fit selects them: logged steps from the
 * start on with T > 0, every stride-th of them so that at most 1000 remain. */
static size_t fitted_steps(const schedopt_losscurve *c, double start, const double *T,
                           size_t *out) {
  size_t n = schedopt_losscurve_npoints(c), ns = 0, K;
  const double *st = schedopt_losscurve_steps(c);
  schedopt_losscurve_lr(c, &K);
  if (isnan(start)) start = schedopt_losscurve_warmup(c);
  for (size_t i = 0; i < n; i++) ns += st[i] >= start && T[(size_t)st[i]] > 0;
  size_t stride = ns > 1000 ? (ns + 999) / 1000 : 1, r = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(st[i] >= start && T[(size_t)st[i]] > 0)) continue;
    if (r++ % stride) continue;
    out[m++] = (size_t)st[i];
  }
  return m;
}

/* CPU seconds of one objective evaluation (every fit curve once), the mean
 * over as many evaluations as fit in about `budget` seconds (at least 3). */
static int eval_cpu(const fitcase *fc, const double *theta, schedopt_surrogate_method method,
                    int grad, double budget, double *sec, size_t *npts) {
  schedopt_error err = {0};
  schedopt_surrogate *m = NULL;
  if (schedopt_surrogate_alloc(&m, fc->type, &err) ||
      schedopt_surrogate_set_params(m, theta, &err)) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    schedopt_surrogate_free(m);
    return 1;
  }
  schedopt_surrogate_set_method(m, method);
  schedopt_surrogate_input in[MAXC];
  double *T[MAXC] = {0};
  size_t *out[MAXC] = {0}, nmax = 0;
  *npts = 0;
  int rc = 1;
  for (size_t i = 0; i < fc->n; i++) {
    size_t K;
    const double *eta = schedopt_losscurve_lr(fc->c[i], &K);
    T[i] = malloc(K * sizeof *T[i]);
    out[i] = malloc(schedopt_losscurve_npoints(fc->c[i]) * sizeof *out[i]);
    if (!T[i] || !out[i]) goto done;
    double s = 0, comp = 0;
    for (size_t k = 0; k < K; k++) {
      double y = eta[k] - comp, t = s + y;
      comp = (t - s) - y;
      s = t;
      T[i][k] = s;
    }
    size_t n = fitted_steps(fc->c[i], fc->start[i], T[i], out[i]);
    in[i] = (schedopt_surrogate_input){eta, K, out[i], n, T[i]};
    if (n > nmax) nmax = n;
    *npts += n;
  }
  double *L = malloc((nmax ? nmax : 1) * sizeof *L),
         *G = malloc((nmax ? nmax : 1) * SCHEDOPT_SURROGATE_MAXP * sizeof *G);
  if (!L || !G) {
    free(L), free(G);
    goto done;
  }
  long reps = 0;
  double u0 = cpu(), u = 0;
  do {
    for (size_t i = 0; i < fc->n; i++)
      if (schedopt_surrogate_predict(m, &in[i], L, grad ? G : NULL, &err)) {
        fprintf(stderr, "bench_fit: %s\n", err.msg);
        free(L), free(G);
        goto done;
      }
    reps++;
    u = cpu() - u0;
  } while (reps < 3 || u < budget);
  *sec = u / (double)reps;
  free(L), free(G);
  rc = 0;
done:
  for (size_t i = 0; i < fc->n; i++) free(T[i]), free(out[i]);
  schedopt_surrogate_free(m);
  return rc;
}

static int run_case(const fitcase *fc, int reps) {
  double *w = malloc((size_t)reps * sizeof *w), *u = malloc((size_t)reps * sizeof *u);
  double theta[SCHEDOPT_SURROGATE_MAXP], obj = NAN;
  long evals = 0;
  if (!w || !u) return 1;
  /* the fit as it runs by default (the prior's strength chosen by
   * cross-validation), then without the prior (the fit alone) */
  for (int pass = 0; pass < 2; pass++) {
    for (int r = 0; r < reps; r++)
      if (one_fit(fc, 8, pass ? NAN : 0, &w[r], &u[r], &evals, theta, &obj)) {
        free(w), free(u);
        return 1;
      }
    double mw = median(w, reps), mu = median(u, reps);
    printf("%s: fit, 8 starts, %s: cpu %.3f s, wall %.3f s (median of %d), %ld evaluations, "
           "%.3f ms cpu per evaluation\n",
           fc->name, pass ? "default (prior: auto)" : "prior: 0", mu, mw, reps, evals,
           1e3 * mu / (double)evals);
  }
  printf("%s: objective %.6g at", fc->name, obj);
  for (size_t k = 0; k < fc->type->nparams; k++)
    printf(" %s=%.6g", fc->type->params[k].name, theta[k]);
  printf("\n");
  const char *what[3] = {"fast, loss + gradient", "fast, loss", "direct, loss + gradient"};
  for (int p = 0; p < (fc->ref ? 2 : 1); p++)
    for (int v = 0; v < 3; v++) {
      double sec;
      size_t npts;
      if (eval_cpu(fc, p ? fc->ref : theta,
                   v == 2 ? SCHEDOPT_SURROGATE_DIRECT : SCHEDOPT_SURROGATE_FAST, v != 1,
                   v == 2 ? 1.0 : 0.5, &sec, &npts)) {
        free(w), free(u);
        return 1;
      }
      printf("%s: one evaluation at the %s parameters, %s at %zu points: %.4f ms cpu\n",
             fc->name, p ? fc->refname : "fitted", what[v], npts, 1e3 * sec);
    }
  free(w), free(u);
  return 0;
}

/* The dense case, with the loss at every step too (as before). */
static int dense_case(const char *path, int reps) {
  schedopt_error err = {0};
  schedopt_losscurve *c = NULL;
  double t0 = wall();
  if (schedopt_losscurve_load_csv(&c, path, NULL, &err) ||
      schedopt_losscurve_smooth(c, 201, &err)) {
    fprintf(stderr, "bench_fit: %s\n", err.msg);
    schedopt_losscurve_free(c);
    return 1;
  }
  double tload = wall() - t0;
  size_t K;
  if (!schedopt_losscurve_lr(c, &K) || !schedopt_losscurve_dense(c)) {
    fprintf(stderr, "bench_fit: %s is not a dense log\n", path);
    schedopt_losscurve_free(c);
    return 1;
  }
  printf("dense: %s: %zu steps, read + smoothed in %.3f s\n", path, K, tload);
  fitcase fc = {"dense fsl-llm", schedopt_surrogate_fsl_llm, 1, {c}, {1000}, NULL, NULL};
  int rc = run_case(&fc, reps);
  schedopt_losscurve_free(c);
  return rc;
}

/* A sparse log with its schedule rebuilt: control family, its settings
 * ("name=value ..."), horizon; two-stage factors when milestone > 0. */
static schedopt_losscurve *sparse_curve(const char *dir, const char *file,
                                        const schedopt_control_type *T, const char *spec, double H,
                                        double milestone, double factor) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.csv", dir, file);
  schedopt_error err = {0};
  schedopt_losscurve *lc = NULL;
  schedopt_control *c = NULL;
  if (schedopt_losscurve_load_csv(&lc, path, NULL, &err) || schedopt_control_alloc(&c, T, &err))
    goto fail;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    if (!eq) continue;
    *eq = '\0';
    if (schedopt_control_set(c, tok, strtod(eq + 1, NULL), &err)) goto fail;
  }
  if (milestone > 0) {
    double ms[1] = {milestone}, fa[2] = {1, factor};
    if (schedopt_control_set_steps(c, 1, ms, fa, &err)) goto fail;
  }
  if (schedopt_losscurve_set_schedule(lc, c, H, 0, &err)) goto fail;
  /* the rebuilt schedule must match the logged rates */
  size_t n = schedopt_losscurve_npoints(lc), K;
  const double *st = schedopt_losscurve_steps(lc), *lg = schedopt_losscurve_logged_lr(lc),
               *eta = schedopt_losscurve_lr(lc, &K);
  for (size_t i = 0; lg && i < n; i++)
    if (fabs(eta[(size_t)st[i]] - lg[i]) > 1e-3 * fabs(lg[i])) {
      fprintf(stderr, "bench_fit: %s: rebuilt lr %g at step %g, logged %g\n", path,
              eta[(size_t)st[i]], st[i], lg[i]);
      schedopt_control_free(c);
      schedopt_losscurve_free(lc);
      return NULL;
    }
  schedopt_control_free(c);
  return lc;
fail:
  fprintf(stderr, "bench_fit: %s: %s\n", path, err.msg);
  schedopt_control_free(c);
  schedopt_losscurve_free(lc);
  return NULL;
}

static int sparse_cases(const char *dir, int reps) {
  schedopt_losscurve *c[3];
  c[0] = sparse_curve(dir, "cosine_24000", schedopt_control_cosine,
                      "peak=3e-4 floor=3e-5 warmup=2160", 24000, 0, 0);
  c[1] = sparse_curve(dir, "constant_24000", schedopt_control_constant, "value=3e-4 warmup=2160",
                      24000, 0, 0);
  c[2] = sparse_curve(dir, "wsdcon_9", schedopt_control_multistep, "peak=3e-4 warmup=2160",
                      16000, 0.5, 0.3);
  int rc = !c[0] || !c[1] || !c[2];
  if (!rc) {
    size_t K[3];
    for (int i = 0; i < 3; i++) schedopt_losscurve_lr(c[i], &K[i]);
    printf("sparse: %s: cosine_24000, constant_24000, wsdcon_9 (%zu, %zu, %zu steps)\n", dir,
           K[0], K[1], K[2]);
    /* fixed parameters: the authors' published 100M MPL fit, and the 100M
     * fsl-llm fit of docs/validation.md (table B) */
    static const double mref[7] = {2.6514477, 0.60115152, 0.45295811, 437.9464276,
                                   2.13245612, 0.59785199, 0.65523644};
    static const double fref[7] = {2.642, 0.5981, 0.04869, 1e4, 62.53, 0.4564, 0.9457};
    fitcase mpl = {"sparse mpl", schedopt_surrogate_mpl, 3, {c[0], c[1], c[2]},
                   {NAN, NAN, NAN}, mref, "published 100M"};
    fitcase fsl = {"sparse fsl-llm", schedopt_surrogate_fsl_llm, 3, {c[0], c[1], c[2]},
                   {NAN, NAN, NAN}, fref, "validation.md 100M"};
    rc = run_case(&mpl, reps) || run_case(&fsl, reps);
  }
  for (int i = 0; i < 3; i++) schedopt_losscurve_free(c[i]);
  return rc;
}

int main(int argc, char **argv) {
  const char *path = "../shared/data/gpt-100m/811.csv",
             *dir = "../shared/data/mpl-llama/100M", *only = NULL;
  int reps = 5, sreps = 1, npos = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--sparse") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--sparse-repeats") && i + 1 < argc)
      sreps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: bench_fit [LOG.csv] [REPEATS] [--sparse DIR] "
                      "[--sparse-repeats N] [--only dense|sparse]\n");
      return 2;
    } else if (npos++ == 0)
      path = argv[i];
    else
      reps = atoi(argv[i]);
  }
  if (reps < 1) reps = 1;
  if (sreps < 1) sreps = 1;
  if ((!only || !strcmp(only, "dense")) && dense_case(path, reps)) return 1;
  if ((!only || !strcmp(only, "sparse")) && sparse_cases(dir, sreps)) return 1;
  return 0;
}
