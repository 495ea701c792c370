/* Monte-Carlo SGD simulator for tests (see mc_sgd.h). */
#include "mc_sgd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- generator ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void zig_tables(mc_rng *r);

/* New stream, keeping the ziggurat tables. */
static void rng_reseed(mc_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed;
  uint64_t h = splitmix64(&x); /* decorrelate nearby seeds */
  x = h ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
  (void)splitmix64(&x);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* never all zero */
}

void mc_rng_seed(mc_rng *r, uint64_t seed, uint64_t stream) {
  zig_tables(r);
  rng_reseed(r, seed, stream);
}

/* One xoshiro256** step (Blackman & Vigna). */
static inline uint64_t xoshiro(uint64_t *s) {
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static inline double u01(uint64_t *s) { /* [0, 1), 53 bits */
  return (double)(xoshiro(s) >> 11) * 0x1.0p-53;
}

uint64_t mc_rng_next(mc_rng *r) { return xoshiro(r->s); }

double mc_rng_uniform(mc_rng *r) { return u01(r->s); }

/* Normals: the ziggurat of Marsaglia & Tsang in Doornik's ZIGNOR arrangement
 * (128 layers of equal area v; the base layer is the strip below f(r) plus the
 * tail beyond r), taking the layer index and the abscissa from disjoint bits
 * of one 64-bit draw.  Exact: accepted points are uniform under the density. */
#define ZIG_R 3.442619855899
#define ZIG_V 9.91256303526217e-3

static void zig_tables(mc_rng *r) {
  double f = exp(-0.5 * ZIG_R * ZIG_R);
  r->zx[0] = ZIG_V / f; /* base strip as a rectangle of the same area v */
  r->zx[1] = ZIG_R;
  r->zx[MC_ZIG_C] = 0.0;
  for (int i = 2; i < MC_ZIG_C; i++) {
    r->zx[i] = sqrt(-2.0 * log(ZIG_V / r->zx[i - 1] + f));
    f = exp(-0.5 * r->zx[i] * r->zx[i]);
  }
  for (int i = 0; i < MC_ZIG_C; i++) r->zr[i] = r->zx[i + 1] / r->zx[i];
}

/* The rare paths, out of line: the tail |z| > r (Marsaglia 1964) for layer 0,
 * else the wedge test.  Returns 1 and sets *out on acceptance. */
static int zig_slow(uint64_t *s, const double *zx, double u, int i, double *out) {
  if (i == 0) {
    double x, y;
    do {
      x = log(1.0 - u01(s)) / ZIG_R; /* log of (0, 1] */
      y = log(1.0 - u01(s));
    } while (-2.0 * y < x * x);
    *out = u < 0.0 ? x - ZIG_R : ZIG_R - x;
    return 1;
  }
  double x = u * zx[i];
  double f0 = exp(-0.5 * (zx[i] * zx[i] - x * x));
  double f1 = exp(-0.5 * (zx[i + 1] * zx[i + 1] - x * x));
  if (f1 + u01(s) * (f0 - f1) < 1.0) {
    *out = x;
    return 1;
  }
  return 0;
}

/* The state lives in locals (registers) for the loop; only the rare slow
 * path spills it. */
void mc_rng_normals(mc_rng *r, double *restrict z, size_t n) {
  const double *restrict zx = r->zx, *restrict zr = r->zr;
  uint64_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3];
  for (size_t i = 0; i < n; i++) {
    for (;;) {
      const uint64_t bits = rotl(s1 * 5, 7) * 9;
      const uint64_t t = s1 << 17;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 45);
      double u = (double)(bits >> 11) * 0x1.0p-52 - 1.0;
      int k = (int)(bits & (MC_ZIG_C - 1));
      if (fabs(u) < zr[k]) {
        z[i] = u * zx[k];
        break;
      }
      uint64_t tmp[4] = {s0, s1, s2, s3};
      double x;
      int ok = zig_slow(tmp, zx, u, k, &x);
      s0 = tmp[0], s1 = tmp[1], s2 = tmp[2], s3 = tmp[3];
      if (ok) {
        z[i] = x;
        break;
      }
    }
  }
  r->s[0] = s0, r->s[1] = s1, r->s[2] = s2, r->s[3] = s3;
}

double mc_rng_normal(mc_rng *r) {
  double z;
  mc_rng_normals(r, &z, 1);
  return z;
}

/* ---- simulator ---------------------------------------------------------- */

static int check_config(const mc_sgd_config *c) {
  if (!c || !c->lr) return MC_SGD_EINVAL;
  if (c->N < 1 || c->T < 0 || c->runs < 2) return MC_SGD_EINVAL;
  if (!c->batch_fn && c->batch < 1) return MC_SGD_EINVAL;
  if (!(c->sigma2 >= 0.0) || !(c->tail >= 0.0)) return MC_SGD_EINVAL;
  if (!isfinite(c->a) || !isfinite(c->b)) return MC_SGD_EINVAL;
  return MC_SGD_OK;
}

int mc_sgd_run_windows(const mc_sgd_config *cfg, const long *lo, const long *hi,
                       size_t n, double *mean_E, double *sem_E) {
  int st = check_config(cfg);
  if (st) return st;
  if (n && (!lo || !hi || !mean_E)) return MC_SGD_EINVAL;
  const long N = cfg->N, T = cfg->T;
  for (size_t i = 0; i < n; i++)
    if (lo[i] < 0 || hi[i] < lo[i] || hi[i] > T) return MC_SGD_EINVAL;

  size_t nN = (size_t)N;
  double *lam = malloc(nN * sizeof *lam);
  double *sl = malloc(nN * sizeof *sl);    /* sqrt(λ_k) */
  double *e0 = malloc(nN * sizeof *e0);    /* initial error −w* */
  double *e = malloc(nN * sizeof *e);      /* w − w* */
  double *v = malloc(nN * sizeof *v);      /* heavy-ball velocity */
  double *se = malloc(nN * sizeof *se);    /* sqrt(λ_k) e_k */
  double *g = malloc(nN * sizeof *g);
  double *Et = malloc((size_t)(T + 1) * sizeof *Et);
  char *need = calloc((size_t)(T + 1), 1);
  double *wmean = calloc(n ? n : 1, sizeof *wmean); /* Welford accumulators */
  double *wm2 = calloc(n ? n : 1, sizeof *wm2);
  mc_rng *rng = malloc(sizeof *rng);
  size_t zcap = (size_t)(N + 1) * (size_t)(cfg->batch_fn ? 1 : cfg->batch);
  double *z = malloc(zcap * sizeof *z);
  if (!lam || !sl || !e0 || !e || !v || !se || !g || !Et || !need || !wmean ||
      !wm2 || !rng || !z) {
    st = MC_SGD_ENOMEM;
    goto done;
  }

  for (long k = 0; k < N; k++) {
    double kk = (double)(k + 1);
    lam[k] = pow(kk, -cfg->b);
    sl[k] = sqrt(lam[k]);
    e0[k] = -sqrt(pow(kk, -cfg->a) / lam[k]);
  }
  for (size_t i = 0; i < n; i++)
    for (long k = lo[i]; k <= hi[i]; k++) need[k] = 1;
  const double snoise = sqrt(cfg->sigma2 + cfg->tail);

  for (long run = 0; run < cfg->runs; run++) {
    if (run == 0)
      mc_rng_seed(rng, (uint64_t)cfg->seed, 0);
    else
      rng_reseed(rng, (uint64_t)cfg->seed, (uint64_t)run);
    memcpy(e, e0, nN * sizeof *e);
    memset(v, 0, nN * sizeof *v);
    if (need[0]) {
      double E = 0.0;
      for (long k = 0; k < N; k++) E += lam[k] * e[k] * e[k];
      Et[0] = E;
    }
    for (long t = 0; t < T; t++) {
      const double eta = cfg->lr(t, cfg->ctx);
      const double mu = cfg->mom ? cfg->mom(t, cfg->ctx) : 0.0;
      long B = cfg->batch_fn ? cfg->batch_fn(t, cfg->ctx) : cfg->batch;
      if (B < 1 || !isfinite(eta) || !isfinite(mu)) {
        st = MC_SGD_EINVAL;
        goto done;
      }
      size_t need_z = (size_t)(N + 1) * (size_t)B;
      if (need_z > zcap) {
        double *nz = realloc(z, need_z * sizeof *z);
        if (!nz) {
          st = MC_SGD_ENOMEM;
          goto done;
        }
        z = nz;
        zcap = need_z;
      }
      mc_rng_normals(rng, z, need_z);
      /* x_ik = sqrt(λ_k) z_ik; residual r_i = x_iᵀe − ζ_i;
       * g_k = sqrt(λ_k)/B · Σ_i r_i z_ik. */
      for (long k = 0; k < N; k++) {
        se[k] = sl[k] * e[k];
        g[k] = 0.0;
      }
      for (long i = 0; i < B; i++) {
        const double *zi = z + (size_t)i * (size_t)(N + 1);
        double r = -snoise * zi[N];
        for (long k = 0; k < N; k++) r += se[k] * zi[k];
        for (long k = 0; k < N; k++) g[k] += r * zi[k];
      }
      const double c = eta / (double)B;
      if (cfg->mom) {
        for (long k = 0; k < N; k++) {
          v[k] = mu * v[k] - c * sl[k] * g[k];
          e[k] += v[k];
        }
      } else {
        for (long k = 0; k < N; k++) e[k] -= c * sl[k] * g[k];
      }
      if (need[t + 1]) {
        double E = 0.0;
        for (long k = 0; k < N; k++) E += lam[k] * e[k] * e[k];
        if (!isfinite(E)) {
          st = MC_SGD_EDIVERGE;
          goto done;
        }
        Et[t + 1] = E;
      }
    }
    {
      double E = 0.0;
      for (long k = 0; k < N; k++) E += lam[k] * e[k] * e[k];
      if (!isfinite(E)) {
        st = MC_SGD_EDIVERGE;
        goto done;
      }
    }
    for (size_t i = 0; i < n; i++) {
      double s = 0.0;
      for (long k = lo[i]; k <= hi[i]; k++) s += Et[k];
      double x = s / (double)(hi[i] - lo[i] + 1);
      double d = x - wmean[i];
      wmean[i] += d / (double)(run + 1);
      wm2[i] += d * (x - wmean[i]);
    }
  }
  for (size_t i = 0; i < n; i++) {
    mean_E[i] = wmean[i];
    if (sem_E)
      sem_E[i] = sqrt(wm2[i] / (double)(cfg->runs - 1) / (double)cfg->runs);
  }

done:
  free(lam);
  free(sl);
  free(e0);
  free(e);
  free(v);
  free(se);
  free(g);
  free(Et);
  free(need);
  free(wmean);
  free(wm2);
  free(z);
  free(rng);
  return st;
}

int mc_sgd_run(const mc_sgd_config *cfg, const long *steps, size_t n,
               double *mean_E, double *sem_E) {
  if (n && !steps) return MC_SGD_EINVAL;
  return mc_sgd_run_windows(cfg, steps, steps, n, mean_E, sem_E);
}
