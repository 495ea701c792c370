/* fsl — the functional scaling law in its finite-M spectral form (docs/theory.md §2).
 *
 * With intrinsic time T(t) = ∫ η, the FSL risk
 *   E(t) = c_approx M^{−sβ} + c_signal e(T(t))
 *        + c_noise ∫ K(T(t) − T(u)) [e(T(u)) + σ²] η(u)²/B(u) du,
 *   e(x) = Σ_j p_j e^{−2λ_j x},  K(x) = Σ_j λ_j² e^{−2λ_j x},
 * is the output of the linear system (states m_j = p_j e^{−2λ_j T}, n_j)
 *   m_j' = −2λ_j η m_j,
 *   n_j' = −2λ_j η n_j + λ_j² (η²/B)(e + σ²),   e = Σ m_j,
 * i.e. the PLRF SDE dynamics without the noise-on-noise feedback.  Here
 * p_j = p0 j^{−a}, λ_j = λ0 j^{−b}, sβ = a − 1.  Full-MSE convention. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dynamics/model_impl.h"

typedef struct fsl {
  schedopt_fsl_params p;
  size_t M;
  double approx; /* c_approx M^{−sβ} */
  double *lam, *pw;
} fsl;

static schedopt_status fsl_alloc(const void *params, void **self, schedopt_error *err) {
  const schedopt_fsl_params *p = params;
  if (!(p->a > 1.0) || !isfinite(p->a))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl: a = %g is out of range: must be > 1 (s > 0)", p->a);
  if (!(p->b > 1.0) || !isfinite(p->b))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl: beta = %g is out of range: must be > 1", p->b);
  if (p->M < 1 || p->M > 1000000)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl: M = %ld is out of range: must be in [1, 1000000]", p->M);
  if (!(p->sigma2 >= 0.0) || !isfinite(p->sigma2))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl: sigma2 = %g is out of range: must be >= 0", p->sigma2);
  if (!(p->lambda_scale > 0.0) || !(p->signal_scale > 0.0) || !isfinite(p->lambda_scale) ||
      !isfinite(p->signal_scale))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl: lambda_scale and signal_scale must be finite and > 0");
  if (!(p->c_approx >= 0.0) || !(p->c_signal >= 0.0) || !(p->c_noise >= 0.0) ||
      !isfinite(p->c_approx) || !isfinite(p->c_signal) || !isfinite(p->c_noise))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl: c_approx, c_signal, c_noise must be finite and >= 0");
  fsl *m = calloc(1, sizeof *m);
  if (!m) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  m->p = *p;
  m->M = (size_t)p->M;
  m->lam = malloc(m->M * sizeof *m->lam);
  m->pw = malloc(m->M * sizeof *m->pw);
  if (!m->lam || !m->pw) {
    free(m->lam);
    free(m->pw);
    free(m);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %ld modes", p->M);
  }
  for (size_t j = 0; j < m->M; j++) {
    double jj = (double)(j + 1);
    m->lam[j] = p->lambda_scale * pow(jj, -p->b);
    m->pw[j] = p->signal_scale * pow(jj, -p->a);
  }
  m->approx = p->c_approx * pow((double)p->M, -(p->a - 1.0));
  *self = m;
  return SCHEDOPT_OK;
}

static void fsl_free(void *self) {
  fsl *m = self;
  if (!m) return;
  free(m->lam);
  free(m->pw);
  free(m);
}

static size_t fsl_size(const void *self) { return 2 * ((const fsl *)self)->M; }
static size_t fsl_block(const void *self) { (void)self; return 1; }
static size_t fsl_rank(const void *self) { (void)self; return 1; }

static void fsl_initial(const void *self, double *y) {
  const fsl *m = self;
  memcpy(y, m->pw, m->M * sizeof *y);
  memset(y + m->M, 0, m->M * sizeof *y);
}

static double sum(const double *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s;
}

static void fsl_rhs(const void *self, const schedopt_uval *u, const double *y, double *ydot) {
  const fsl *m = self;
  const size_t M = m->M;
  const double drive = (u->lr * u->lr / u->batch) * (sum(y, M) + m->p.sigma2);
  for (size_t j = 0; j < M; j++) {
    double r = -2.0 * m->lam[j] * u->lr;
    ydot[j] = r * y[j];
    ydot[M + j] = r * y[M + j] + m->lam[j] * m->lam[j] * drive;
  }
}

/* A = diag(−2λη, −2λη) + U Vᵀ, U = λ²η²/B on the n-block, V = 1 on the m-block. */
static void fsl_jac(const void *self, const schedopt_uval *u, double *D, double *U, double *V) {
  const fsl *m = self;
  const size_t M = m->M;
  const double g = u->lr * u->lr / u->batch;
  for (size_t j = 0; j < M; j++) {
    D[j] = D[M + j] = -2.0 * m->lam[j] * u->lr;
    U[j] = 0.0;
    U[M + j] = m->lam[j] * m->lam[j] * g;
    V[j] = 1.0;
    V[M + j] = 0.0;
  }
}

static void fsl_readout(const void *self, const double *y, schedopt_readout *out) {
  const fsl *m = self;
  out->bias = m->p.c_signal * sum(y, m->M);
  out->variance = m->p.c_noise * sum(y + m->M, m->M);
  out->approx = m->approx;
  out->excess = out->bias + out->variance + out->approx;
  out->loss = out->excess + m->p.sigma2;
}

static double fsl_scale(const void *self) {
  const fsl *m = self;
  return m->p.c_signal * sum(m->pw, m->M) + m->approx + m->p.sigma2;
}


static void fsl_dloss(const void *self, double *g) {
  const fsl *m = self;
  for (size_t j = 0; j < m->M; j++) {
    g[j] = m->p.c_signal;
    g[m->M + j] = m->p.c_noise;
  }
}

/* ∂f/∂η: m-part −2λ m, n-part −2λ n + λ² (2η/B)(e + σ²); ∂f/∂B: n-part
 * −λ² (η²/B²)(e + σ²); no momentum. */
static void fsl_vjp_u(const void *self, const schedopt_uval *u, const double *y,
                      const double *lam, double out[3]) {
  const fsl *m = self;
  const size_t M = m->M;
  const double drive = sum(y, M) + m->p.sigma2, eta = u->lr, B = u->batch;
  double oe = 0.0, ob = 0.0;
  for (size_t j = 0; j < M; j++) {
    const double l = m->lam[j], l2 = l * l;
    oe += lam[j] * (-2.0 * l * y[j]) + lam[M + j] * (-2.0 * l * y[M + j] + l2 * 2.0 * eta / B * drive);
    ob += lam[M + j] * (-l2 * eta * eta / (B * B) * drive);
  }
  out[0] = oe;
  out[1] = ob;
  out[2] = 0.0;
}

/* Both halves decay at −2λ_j η (fsl_jac). */
static void fsl_decay(const void *self, const schedopt_uval *u, double *rho, double c[2]) {
  const fsl *m = self;
  c[0] = -2.0 * u->lr;
  c[1] = 0.0;
  if (rho) {
    memcpy(rho, m->lam, m->M * sizeof *rho);
    memcpy(rho + m->M, m->lam, m->M * sizeof *rho);
  }
}

const schedopt_model_type schedopt_model_fsl_type = {
    .name = "fsl",
    .alloc = fsl_alloc,
    .free = fsl_free,
    .size = fsl_size,
    .block = fsl_block,
    .rank = fsl_rank,
    .initial = fsl_initial,
    .rhs = fsl_rhs,
    .jac = fsl_jac,
    .readout = fsl_readout,
    .step = NULL,
    .scale = fsl_scale,
    .dloss = fsl_dloss,
    .vjp_u = fsl_vjp_u,
    .step_vjp = NULL,
    .decay = fsl_decay,
};
const schedopt_model_type *const schedopt_model_fsl = &schedopt_model_fsl_type;
