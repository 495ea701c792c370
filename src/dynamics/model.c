/* Model handles and the shared power-law helpers. */
#include "dynamics/model_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct schedopt_model {
  const schedopt_model_type *type;
  void *self;
};

const schedopt_model_type *const schedopt_model_types[] = {
    &schedopt_model_plrf_type, &schedopt_model_fsl_type, NULL};

const schedopt_model_type *schedopt_model_type_find(const char *name) {
  for (size_t i = 0; name && schedopt_model_types[i]; i++)
    if (strcmp(schedopt_model_types[i]->name, name) == 0) return schedopt_model_types[i];
  return NULL;
}

void schedopt_plrf_params_default(schedopt_plrf_params *p) {
  memset(p, 0, sizeof *p);
  p->a = 2.0;
  p->b = 1.5;
  p->N = 1000;
  p->sigma2 = 0.0;
  p->lambda_scale = 1.0;
  p->signal_scale = 1.0;
  p->tail = NAN;
  p->dynamics = SCHEDOPT_DYN_MATCHED;
  p->momentum = 0;
  p->split = 1;
}

long schedopt_plrf_momentum_modes(const schedopt_plrf_params *p, double mu_max, double tol) {
  if (!p->momentum || !(tol > 0.0) || !(mu_max < 1.0) || !(p->b > 0.0)) return 0;
  const double om = 1.0 - (mu_max > 0.0 ? mu_max : 0.0);
  const double k = ceil(pow(4.0 / (tol * om * om), 1.0 / p->b)) - 1.0; /* last full mode */
  return k >= (double)p->N - 1.0 ? 0 : (long)(k < 1.0 ? 1.0 : k);
}

void schedopt_fsl_params_default(schedopt_fsl_params *p) {
  memset(p, 0, sizeof *p);
  p->a = 2.0;
  p->b = 1.5;
  p->M = 1000;
  p->sigma2 = 0.0;
  p->lambda_scale = 1.0;
  p->signal_scale = 1.0;
  p->c_approx = 1.0;
  p->c_signal = 1.0;
  p->c_noise = 1.0;
}

/* Σ_{k>N} k^-a: 32 terms summed directly, the rest by Euler–Maclaurin at
 * m = N + 33 with corrections through B_8 (error ~ (a/m)^9 relative). */
double schedopt_powerlaw_tail(long N, double a) {
  if (!(a > 1.0) || N < 0) return NAN;
  double s = 0.0;
  long m = N + 1;
  for (int i = 0; i < 32; i++, m++) s += pow((double)m, -a);
  double x = (double)m, f = pow(x, -a);
  double integral = x * f / (a - 1.0);
  /* f^(2j-1)(x) = -a(a+1)…(a+2j-2) x^{-a-2j+1} */
  double d1 = -a * f / x;
  double d3 = -a * (a + 1) * (a + 2) * f / (x * x * x);
  double d5 = d3 * (a + 3) * (a + 4) / (x * x);
  double d7 = d5 * (a + 5) * (a + 6) / (x * x);
  double em = integral + 0.5 * f - (1.0 / 12.0) * d1 + (1.0 / 720.0) * d3 -
              (1.0 / 30240.0) * d5 + (1.0 / 1209600.0) * d7;
  return s + em;
}

schedopt_status schedopt_model_alloc(schedopt_model **out, const schedopt_model_type *T,
                                     const void *params, schedopt_error *err) {
  if (!out || !T || !params)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_model_alloc: NULL argument");
  *out = NULL;
  schedopt_model *m = calloc(1, sizeof *m);
  if (!m) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory allocating a model");
  m->type = T;
  schedopt_status st = T->alloc(params, &m->self, err);
  if (st != SCHEDOPT_OK) {
    free(m);
    return st;
  }
  *out = m;
  return SCHEDOPT_OK;
}

void schedopt_model_free(schedopt_model *m) {
  if (!m) return;
  if (m->type && m->type->free) m->type->free(m->self);
  free(m);
}

const schedopt_model_type *schedopt_model_get_type(const schedopt_model *m) { return m->type; }
const void *schedopt_model_self(const schedopt_model *m) { return m->self; }
size_t schedopt_model_size(const schedopt_model *m) { return m->type->size(m->self); }
