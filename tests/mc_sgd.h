/* mc_sgd.h — an independent Monte-Carlo simulator of SGD on power-law
 * random-feature regression, for tests.
 *
 * It simulates the optimizer itself (not moment equations), in the eigenbasis
 * of the feature covariance:
 *
 *   features   x ∈ R^N, independent coordinates x_k ~ N(0, λ_k), λ_k = k^-b
 *   target     y = Σ_k w*_k x_k + ζ,  ζ ~ N(0, tail + σ²)
 *              (w*_k = +sqrt(k^-a / λ_k), so λ_k w*_k² = k^-a; the
 *              unrepresentable modes k > N act as extra independent Gaussian
 *              noise of variance `tail`, label noise has variance σ²)
 *   gradient   g = (1/B) Σ_{i≤B} x_i (x_iᵀ w − y_i)   (½ squared error)
 *   SGD        w ← w − η_t g
 *   heavy ball v ← μ_t v − η_t g,  w ← w + v          (when mom != NULL)
 *   start      w = 0, v = 0
 *
 * "Step k" means after k updates; update k (k = 0, 1, …) uses η_k = lr(k),
 * μ_k = mom(k) and B_k = batch_fn(k) (or the constant batch).  The recorded
 * quantity is the learned-mode excess risk E = Σ_{k≤N} λ_k (w_k − w*_k)²,
 * evaluated exactly from the weights (the loss is E + tail + σ²), so E at
 * step 0 is Σ_{k≤N} k^-a.
 *
 * Every run draws from its own xoshiro256** stream, seeded from (seed, run
 * index) through splitmix64; normals come from an exact ziggurat (Marsaglia &
 * Tsang, in Doornik's arrangement).
 * No global state: results depend only on the configuration.
 * Cost: O(N·B) per step and run, plus O(N) per recorded step.
 */
#ifndef SCHEDOPT_TESTS_MC_SGD_H
#define SCHEDOPT_TESTS_MC_SGD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_sgd_config {
  long N;             /* learned modes, ≥ 1 */
  double a, b;        /* signal and spectral decay exponents */
  double sigma2;      /* label-noise variance, ≥ 0 */
  double tail;        /* variance of the unrepresentable part, ≥ 0 */
  long batch;         /* samples per step, ≥ 1 (used when batch_fn is NULL) */
  long T;             /* updates per run, ≥ 0 */
  long runs;          /* independent runs, ≥ 2 (for the standard error) */
  unsigned long long seed;
  double (*lr)(long step, void *ctx);  /* η_k, required */
  double (*mom)(long step, void *ctx); /* μ_k; NULL: plain SGD */
  long (*batch_fn)(long step, void *ctx); /* B_k ≥ 1; NULL: constant batch */
  void *ctx;
} mc_sgd_config;

/* Status codes. */
enum {
  MC_SGD_OK = 0,
  MC_SGD_EINVAL = 1,  /* bad configuration or requested steps outside [0, T] */
  MC_SGD_ENOMEM = 2,
  MC_SGD_EDIVERGE = 3 /* a run produced a non-finite risk */
};

/* Mean of E over the runs at steps[i] (0 ≤ steps[i] ≤ T, any order) and its
 * standard error (sample standard deviation / sqrt(runs)). */
int mc_sgd_run(const mc_sgd_config *cfg, const long *steps, size_t n,
               double *mean_E, double *sem_E);

/* Window averages: for window i, each run's E averaged over the steps
 * lo[i] … hi[i] (inclusive, 0 ≤ lo ≤ hi ≤ T); mean over runs and its standard
 * error, computed from the per-run window averages (so correlations between
 * steps within a run are accounted for).  Windows may overlap. */
int mc_sgd_run_windows(const mc_sgd_config *cfg, const long *lo, const long *hi,
                       size_t n, double *mean_E, double *sem_E);

/* ---- the generator, exposed for tests of the simulator itself ---------- */
#define MC_ZIG_C 128 /* ziggurat layers (a power of two) */
typedef struct mc_rng {
  uint64_t s[4];               /* xoshiro256** state */
  double zx[MC_ZIG_C + 1];     /* ziggurat abscissae */
  double zr[MC_ZIG_C];         /* zx[i+1] / zx[i] */
} mc_rng;

/* Stream `stream` of generator `seed` (also builds the ziggurat tables). */
void mc_rng_seed(mc_rng *r, uint64_t seed, uint64_t stream);
uint64_t mc_rng_next(mc_rng *r);       /* xoshiro256** */
double mc_rng_uniform(mc_rng *r);      /* in [0, 1), 53 bits */
double mc_rng_normal(mc_rng *r);       /* N(0, 1) */
/* n independent N(0, 1) draws into z. */
void mc_rng_normals(mc_rng *r, double *z, size_t n);

#ifdef __cplusplus
}
#endif
#endif
