/* control.c — scalar control families v(t) on [0, H], their parameter
 * derivatives, knots, validation and CSV tables.  The math of every family is
 * stated in schedopt/control.h. */
#include "dynamics/control_impl.h"
#include "core/csvcell.h"
#include "core/infile.h"
#include "schedopt/trainer.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* ---------------------------------------------------------------- helpers */

static void put(double *p, double v) {
  if (p) *p = v;
}

/* fu·dx, taking 0 where dx = 0 or fu is an infinite one-sided derivative
 * (√z at z = 0, (1−z)^δ with δ < 1 at z = 1): measure-zero points only. */
static double chain(double fu, double dx) {
  return (dx == 0 || !isfinite(fu)) ? 0 : fu * dx;
}

/* Post-warmup progress u = (t − w)/(H − w), clamped to [0, 1]. */
static double progress(double w, double H, double t, double *du_dt, double *du_dw) {
  *du_dt = *du_dw = 0;
  if (!(H > w)) return 0;
  double L = H - w, u = (t - w) / L;
  if (u < 0) return 0;
  if (u > 1) return 1;
  *du_dt = 1 / L;
  *du_dw = (t - H) / (L * L);
  return u;
}

/* s = (1 − x)^d with ∂s/∂d and ∂s/∂x (d > 0, x ∈ [0, 1]). */
static double pow1m(double x, double d, double *sd, double *sx) {
  double y = 1 - x;
  if (y > 0) {
    double s = pow(y, d);
    *sd = s * log(y);
    *sx = -d * pow(y, d - 1);
    return s;
  }
  *sd = 0;
  *sx = d == 1 ? -1 : (d > 1 ? 0 : -INFINITY);
  return 0;
}

/* Number of x_i ≤ t (left = 0) or x_i < t (left = 1) in sorted x[0..n). */
static size_t count_le(const double *x, size_t n, double scale, double t, int left) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    double xm = scale * x[mid];
    if (left ? xm < t : xm <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const char *schedopt_range_text(char *buf, size_t cap, double lo, double hi,
                                int lo_open, int hi_open) {
  if (isinf(lo) && isinf(hi))
    snprintf(buf, cap, "must be a finite number");
  else if (isinf(hi))
    snprintf(buf, cap, "must be %s %g", lo_open ? ">" : ">=", lo);
  else if (isinf(lo))
    snprintf(buf, cap, "must be %s %g", hi_open ? "<" : "<=", hi);
  else
    snprintf(buf, cap, "must be in %c%g, %g%c", lo_open ? '(' : '[', lo, hi,
             hi_open ? ')' : ']');
  return buf;
}

/* ------------------------------------------------------------- parameters */

static const char *const shape_choices[] = {"linear", "cosine", "exponential",
                                            "sqrt", "power", NULL};
enum { SHAPE_LINEAR, SHAPE_COSINE, SHAPE_EXP, SHAPE_SQRT, SHAPE_POWER };
static const char *const interp_choices[] = {"linear", "step", NULL};
enum { INTERP_LINEAR, INTERP_STEP };

#define P_REQ(nm, doc) {nm, NAN, 0, INFINITY, 0, 0, NULL, doc}
#define P_FLOOR {"floor", 0, 0, INFINITY, 0, 0, NULL, "final value"}

static const schedopt_param_info constant_params[] = {P_REQ("value", "the value")};
static const schedopt_param_info cosine_params[] = {
    P_REQ("peak", "value after warmup"), P_FLOOR};
static const schedopt_param_info linear_params[] = {
    P_REQ("start", "value after warmup"), P_REQ("end", "value at H")};
static const schedopt_param_info exponential_params[] = {
    P_REQ("start", "value after warmup (> 0)"), P_REQ("end", "value at H (> 0)")};
static const schedopt_param_info wsd_params[] = {
    P_REQ("peak", "stable value"),
    P_FLOOR,
    {"decay_frac", 0.2, 0, 1, 0, 0, NULL, "fraction of H spent decaying"},
    {"shape", SHAPE_LINEAR, 0, 4, 0, 0, shape_choices, "decay shape"},
    {"delta", 1, 0, INFINITY, 1, 0, NULL, "exponent of shape = power"}};
static const schedopt_param_info multistep_params[] = {
    P_REQ("peak", "value before the first milestone (times factors[0])")};
static const schedopt_param_info s811_params[] = {
    P_REQ("peak", "value before 0.8 H")};
static const schedopt_param_info power_params[] = {
    P_REQ("peak", "value after warmup"),
    {"t0", 1, 0, INFINITY, 1, 0, NULL, "time scale of the decay"},
    {"chi", 0.5, 0, INFINITY, 0, 0, NULL, "decay exponent"}};
static const schedopt_param_info polynomial_params[] = {
    P_REQ("peak", "value after warmup"),
    {"delta", 1, 0, INFINITY, 1, 0, NULL, "exponent"},
    P_FLOOR};
static const schedopt_param_info table_params[] = {
    {"interp", INTERP_LINEAR, 0, 1, 0, 0, interp_choices, "interpolation"},
    {"scale", 1, 0, INFINITY, 1, 0, NULL, "factor applied to the values"}};

static const schedopt_param_info warmup_info = {
    "warmup", 0, 0, INFINITY, 0, 0, NULL, "end of the linear warmup"};
static const schedopt_param_info warmup_init_info = {
    "warmup_init", 0, 0, 1, 0, 0, NULL, "value at t = 0 as a fraction of v(warmup)"};

/* --------------------------------------------------------------- families */

/* f(t) for t ≥ w with ∂f/∂p (family parameters), ∂f/∂v_i (table values,
 * accumulated into dpay, which the caller zeroed), ∂f/∂w and ∂f/∂t.  Any
 * output may be NULL.  left = 1 asks for the left limit at a jump. */
typedef double (*full_fn)(const schedopt_control *c, double w, double H, double t,
                          int left, double *dp, double *dpay, double *dw, double *dt);

typedef struct family {
  schedopt_control_type pub; /* first: the exported pointer points here */
  full_fn full;
} family;

static double constant_full(const schedopt_control *c, double w, double H, double t,
                            int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)w, (void)H, (void)t, (void)left, (void)dpay;
  if (dp) dp[0] = 1;
  put(dw, 0);
  put(dt, 0);
  return c->p[0];
}

/* floor + (peak − floor)(1 + cos πu)/2 */
static double cosine_full(const schedopt_control *c, double w, double H, double t,
                          int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)left, (void)dpay;
  double ut, uw, u = progress(w, H, t, &ut, &uw);
  double pk = c->p[0], fl = c->p[1], s = (1 + cos(PI * u)) / 2;
  double fu = -(pk - fl) * PI * sin(PI * u) / 2;
  if (dp) {
    dp[0] = s;
    dp[1] = 1 - s;
  }
  put(dw, chain(fu, uw));
  put(dt, chain(fu, ut));
  return fl + (pk - fl) * s;
}

/* start + (end − start) u */
static double linear_full(const schedopt_control *c, double w, double H, double t,
                          int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)left, (void)dpay;
  double ut, uw, u = progress(w, H, t, &ut, &uw);
  double a = c->p[0], b = c->p[1];
  if (dp) {
    dp[0] = 1 - u;
    dp[1] = u;
  }
  put(dw, chain(b - a, uw));
  put(dt, chain(b - a, ut));
  return a + (b - a) * u;
}

/* start^(1−u) end^u */
static double exponential_full(const schedopt_control *c, double w, double H,
                               double t, int left, double *dp, double *dpay,
                               double *dw, double *dt) {
  (void)left, (void)dpay;
  double ut, uw, u = progress(w, H, t, &ut, &uw);
  double a = c->p[0], b = c->p[1];
  double f = pow(a, 1 - u) * pow(b, u);
  int ok = a > 0 && b > 0;
  double fu = ok ? f * log(b / a) : 0;
  if (dp) {
    dp[0] = ok ? (1 - u) * f / a : 0;
    dp[1] = ok ? u * f / b : 0;
  }
  put(dw, chain(fu, uw));
  put(dt, chain(fu, ut));
  return f;
}

/* peak until t_d = H(1 − decay_frac), then the shape in z = (t − t_d)/(H − t_d). */
static double wsd_full(const schedopt_control *c, double w, double H, double t,
                       int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)w, (void)left, (void)dpay;
  double pk = c->p[0], fl = c->p[1], df = c->p[2], delta = c->p[4];
  int shape = (int)c->p[3];
  double td = H * (1 - df), L = H - td;
  put(dw, 0);
  if (dp)
    for (int i = 0; i < 5; i++) dp[i] = i == 0;
  if (t < td || !(L > 0)) {
    put(dt, 0);
    return pk;
  }
  double z = (t - td) / L, zt = 1 / L, zdf = (1 - z) / df;
  if (z >= 1) {
    z = 1;
    zt = zdf = 0;
  }
  double f, fpk, ffl, fz, fdelta = 0;
  if (shape == SHAPE_EXP) {
    f = pow(pk, 1 - z) * pow(fl, z);
    int ok = pk > 0 && fl > 0;
    fpk = ok ? (1 - z) * f / pk : 0;
    ffl = ok ? z * f / fl : 0;
    fz = ok ? f * log(fl / pk) : 0;
  } else {
    double s, sz, sd = 0;
    switch (shape) {
    case SHAPE_COSINE:
      s = (1 + cos(PI * z)) / 2;
      sz = -PI * sin(PI * z) / 2;
      break;
    case SHAPE_SQRT:
      s = 1 - sqrt(z);
      sz = z > 0 ? -0.5 / sqrt(z) : -INFINITY;
      break;
    case SHAPE_POWER:
      s = pow1m(z, delta, &sd, &sz);
      break;
    default:
      s = 1 - z;
      sz = -1;
      break;
    }
    f = fl + (pk - fl) * s;
    fpk = s;
    ffl = 1 - s;
    fz = (pk - fl) * sz;
    fdelta = (pk - fl) * sd;
  }
  if (dp) {
    dp[0] = fpk;
    dp[1] = ffl;
    dp[2] = chain(fz, zdf);
    dp[4] = fdelta;
  }
  put(dt, chain(fz, zt));
  return f;
}

/* peak·factors[k], k = number of milestones H·m_i ≤ t (< t for the left limit). */
static double steps_eval(double peak, size_t n, const double *m, const double *fac,
                         double H, double t, int left, double *dp, double *dw,
                         double *dt) {
  size_t k = count_le(m, n, H, t, left);
  double g = fac ? fac[k] : 1;
  if (dp) dp[0] = g;
  put(dw, 0);
  put(dt, 0);
  return peak * g;
}

static double multistep_full(const schedopt_control *c, double w, double H, double t,
                             int left, double *dp, double *dpay, double *dw,
                             double *dt) {
  (void)w, (void)dpay;
  return steps_eval(c->p[0], c->v ? c->n : 0, c->t, c->v, H, t, left, dp, dw, dt);
}

static const double m811[2] = {0.8, 0.9};
static const double f811[3] = {1, 0.31622776601683794 /* 1/√10 */, 0.1};

static double s811_full(const schedopt_control *c, double w, double H, double t,
                        int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)w, (void)dpay;
  return steps_eval(c->p[0], 2, m811, f811, H, t, left, dp, dw, dt);
}

/* peak·(1 + (t − w)/t0)^(−chi) */
static double power_full(const schedopt_control *c, double w, double H, double t,
                         int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)H, (void)left, (void)dpay;
  double pk = c->p[0], t0 = c->p[1], chi = c->p[2];
  double x = t - w, xt = 1;
  if (x < 0) x = 0, xt = 0;
  double a = 1 + x / t0, g = pow(a, -chi), f = pk * g;
  double fx = -chi * f / (a * t0);
  if (dp) {
    dp[0] = g;
    dp[1] = -fx * x / t0; /* ∂a/∂t0 = −x/t0² */
    dp[2] = -f * log(a);
  }
  put(dw, -fx * xt);
  put(dt, fx * xt);
  return f;
}

/* floor + (peak − floor)(1 − u)^delta */
static double polynomial_full(const schedopt_control *c, double w, double H, double t,
                              int left, double *dp, double *dpay, double *dw,
                              double *dt) {
  (void)left, (void)dpay;
  double ut, uw, u = progress(w, H, t, &ut, &uw);
  double pk = c->p[0], delta = c->p[1], fl = c->p[2];
  double sd, su, s = pow1m(u, delta, &sd, &su);
  double fu = (pk - fl) * su;
  if (dp) {
    dp[0] = s;
    dp[1] = (pk - fl) * sd;
    dp[2] = 1 - s;
  }
  put(dw, chain(fu, uw));
  put(dt, chain(fu, ut));
  return fl + (pk - fl) * s;
}

/* scale·g(t), g interpolating (t_i, v_i), clamped outside [t_0, t_last]. */
static double table_full(const schedopt_control *c, double w, double H, double t,
                         int left, double *dp, double *dpay, double *dw, double *dt) {
  (void)w, (void)H;
  double scale = c->p[1];
  size_t n = c->n;
  put(dw, 0);
  put(dt, 0);
  if (dp) dp[0] = dp[1] = 0;
  if (n == 0) return NAN;
  size_t k = count_le(c->t, n, 1, t, left);
  double g;
  if ((int)c->p[0] == INTERP_STEP || k == 0 || k == n) {
    size_t j = k ? k - 1 : 0;
    g = c->v[j];
    if (dpay) dpay[j] += scale;
  } else {
    size_t j = k - 1;
    double h = c->t[j + 1] - c->t[j], th = (t - c->t[j]) / h;
    g = (1 - th) * c->v[j] + th * c->v[j + 1];
    if (dpay) {
      dpay[j] += scale * (1 - th);
      dpay[j + 1] += scale * th;
    }
    put(dt, scale * (c->v[j + 1] - c->v[j]) / h);
  }
  if (dp) dp[1] = g;
  return scale * g;
}

/* The public eval of a family: f and ∂f/∂p only. */
#define WRAP(name)                                                             \
  static double name##_eval(const schedopt_control *c, double w, double H,     \
                            double t, double *dp) {                            \
    return name##_full(c, w, H, t, 0, dp, NULL, NULL, NULL);                   \
  }
WRAP(constant)
WRAP(cosine)
WRAP(linear)
WRAP(exponential)
WRAP(wsd)
WRAP(multistep)
WRAP(s811)
WRAP(power)
WRAP(polynomial)
WRAP(table)

#define NP(a) (sizeof(a) / sizeof((a)[0]))
#define FAMILY(var, nm, formula, params, tab)                                  \
  static const family var = {                                                  \
      {nm, formula, NP(params##_params), params##_params, tab, params##_eval}, \
      params##_full}

FAMILY(fam_constant, "constant", "v = value", constant, 0);
FAMILY(fam_cosine, "cosine", "v = floor + (peak - floor)(1 + cos(pi u))/2", cosine, 0);
FAMILY(fam_linear, "linear", "v = start + (end - start) u", linear, 0);
FAMILY(fam_exponential, "exponential", "v = start^(1-u) end^u", exponential, 0);
FAMILY(fam_wsd, "wsd",
       "v = peak until t_d = H(1 - decay_frac), then shape(z) from peak to floor, "
       "z = (t - t_d)/(H - t_d)",
       wsd, 0);
FAMILY(fam_multistep, "multistep",
       "v = peak factors[i] on [H m_(i-1), H m_i)", multistep, 2);
FAMILY(fam_811, "811", "v = peak (1, 1/sqrt(10), 1/10) on [0, 0.8H), [0.8H, 0.9H), [0.9H, H]",
       s811, 0);
FAMILY(fam_power, "power", "v = peak (1 + (t - w)/t0)^(-chi)", power, 0);
FAMILY(fam_polynomial, "polynomial", "v = floor + (peak - floor)(1 - u)^delta",
       polynomial, 0);
FAMILY(fam_table, "table", "v = scale * interp((t_i, v_i), t)", table, 1);

const schedopt_control_type *const schedopt_control_constant = &fam_constant.pub;
const schedopt_control_type *const schedopt_control_cosine = &fam_cosine.pub;
const schedopt_control_type *const schedopt_control_linear = &fam_linear.pub;
const schedopt_control_type *const schedopt_control_exponential = &fam_exponential.pub;
const schedopt_control_type *const schedopt_control_wsd = &fam_wsd.pub;
const schedopt_control_type *const schedopt_control_multistep = &fam_multistep.pub;
const schedopt_control_type *const schedopt_control_811 = &fam_811.pub;
const schedopt_control_type *const schedopt_control_power = &fam_power.pub;
const schedopt_control_type *const schedopt_control_polynomial = &fam_polynomial.pub;
const schedopt_control_type *const schedopt_control_table = &fam_table.pub;

const schedopt_control_type *const schedopt_control_types[] = {
    &fam_constant.pub, &fam_cosine.pub,     &fam_linear.pub, &fam_exponential.pub,
    &fam_wsd.pub,      &fam_multistep.pub,  &fam_811.pub,    &fam_power.pub,
    &fam_polynomial.pub, &fam_table.pub,    NULL};

/* ---- trainer: a trainer's built-in schedule (trainer.h) in steps ----
 * Not in schedopt_control_types: problem files name the families of this
 * file; the optimizer's trainer baselines build it.  The trainer's warmup is
 * its own parameter warmup_steps (its own ramp; the generic warmup stays 0);
 * decay 0 means H − warmup_steps. */
static const schedopt_param_info trainer_params[] = {
    {"style", 3, 0, SCHEDOPT_TRAINER_NTYPES - 1, 0, 0, schedopt_trainer_type_names,
     "the trainer's schedule type"},
    {"peak", NAN, 0, INFINITY, 1, 0, NULL, "the trainer's learning rate"},
    P_FLOOR,
    {"decay", 0, 0, INFINITY, 0, 0, NULL, "decay length in steps (0: H - warmup_steps)"},
    {"warmup_steps", 0, 0, INFINITY, 0, 0, NULL, "the trainer's warmup W in steps"}};
enum { TR_STYLE, TR_PEAK, TR_FLOOR, TR_DECAY, TR_WARMUP, TR_NP };

static const schedopt_trainer_type *trainer_type_of(const schedopt_control *c) {
  int i = (int)c->p[TR_STYLE];
  return i >= 0 && i < SCHEDOPT_TRAINER_NTYPES ? schedopt_trainer_types[i] : schedopt_trainer_types[3];
}

static double trainer_decay(const double *p, double H) {
  return p[TR_DECAY] > 0 ? p[TR_DECAY] : H - p[TR_WARMUP];
}

static double trainer_f(const schedopt_control *c, double H, double t, const double *p) {
  /* an end rate above the peak (a search may try one) means no decay */
  const double f = schedopt_trainer_lr_at(trainer_type_of(c), H, p[TR_WARMUP], trainer_decay(p, H),
                                          p[TR_PEAK], fmin(p[TR_FLOOR], p[TR_PEAK]), t);
  return f > 0 ? f : 0; /* 1 − z one rounding below 0 at the end of a real-valued decay */
}

static double trainer_eval(const schedopt_control *c, double w, double H, double t, double *dp) {
  (void)w; /* the generic warmup is 0 (validated) */
  const double f = trainer_f(c, H, t, c->p);
  if (dp) { /* peak and floor enter affinely; the lengths by differences */
    double q[TR_NP];
    memcpy(q, c->p, sizeof q);
    dp[TR_STYLE] = 0;
    for (int i = TR_PEAK; i < TR_NP; i++) {
      if (i == TR_DECAY && !(c->p[TR_DECAY] > 0)) {
        dp[i] = 0;
        continue;
      }
      const double h = 1e-7 * fmax(fabs(c->p[i]), i >= TR_DECAY ? 1 : 1e-3 * c->p[TR_PEAK]);
      q[i] = c->p[i] + h;
      const double fp = trainer_f(c, H, t, q);
      q[i] = c->p[i] - h;
      const double fm = trainer_f(c, H, t, q);
      q[i] = c->p[i];
      dp[i] = (fp - fm) / (2 * h);
    }
  }
  return f;
}

static const schedopt_control_type trainer_family = {
    "trainer",
    "v = the trainer's own rate at step t (trainer.h: Megatron-LM, torchtitan, OLMo-core, nanoGPT)",
    NP(trainer_params), trainer_params, 0, trainer_eval};
const schedopt_control_type *const schedopt_control_trainer = &trainer_family;

const schedopt_control_type *schedopt_control_type_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; schedopt_control_types[i]; i++)
    if (strcmp(schedopt_control_types[i]->name, name) == 0)
      return schedopt_control_types[i];
  return NULL;
}

static const family *builtin(const schedopt_control_type *T) {
  for (size_t i = 0; schedopt_control_types[i]; i++)
    if (schedopt_control_types[i] == T) return (const family *)T;
  return NULL;
}

/* f with all derivatives; a user-defined type gets ∂f/∂w and ∂f/∂t by
 * central differences. */
static double fam_eval(const schedopt_control *c, double w, double H, double t,
                       int left, double *dp, double *dpay, double *dw, double *dt) {
  const family *F = builtin(c->type);
  if (F) return F->full(c, w, H, t, left, dp, dpay, dw, dt);
  const schedopt_control_type *T = c->type;
  double f = T->eval(c, w, H, t, dp);
  double h = 1e-6 * (fabs(H) > 1 ? fabs(H) : 1);
  if (dw) *dw = (T->eval(c, w + h, H, t, NULL) - T->eval(c, w - h, H, t, NULL)) / (2 * h);
  if (dt) *dt = (T->eval(c, w, H, t + h, NULL) - T->eval(c, w, H, t - h, NULL)) / (2 * h);
  return f;
}

/* ------------------------------------------------------ alloc, set, get */

schedopt_status schedopt_control_alloc(schedopt_control **out,
                                       const schedopt_control_type *T,
                                       schedopt_error *err) {
  if (!out || !T)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_alloc: NULL argument");
  *out = NULL;
  if (T->nparams > SCHEDOPT_CONTROL_MAXP || !T->eval)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "control family '%s' has %zu parameters (at most %d) "
                              "or no eval function",
                              T->name ? T->name : "?", T->nparams, SCHEDOPT_CONTROL_MAXP);
  schedopt_control *c = calloc(1, sizeof *c);
  if (!c) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  c->type = T;
  for (size_t i = 0; i < T->nparams; i++) c->p[i] = T->params[i].def;
  c->warmup = warmup_info.def;
  c->warmup_init = warmup_init_info.def;
  *out = c;
  return SCHEDOPT_OK;
}

static double *dup_array(const double *a, size_t n) {
  double *b = malloc((n ? n : 1) * sizeof *b);
  if (b && n) memcpy(b, a, n * sizeof *b);
  return b;
}

schedopt_status schedopt_control_clone(schedopt_control **out,
                                       const schedopt_control *c,
                                       schedopt_error *err) {
  if (!out || !c)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_clone: NULL argument");
  *out = NULL;
  schedopt_control *d = malloc(sizeof *d);
  if (!d) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  *d = *c;
  d->t = d->v = NULL;
  if (c->t || c->v) {
    size_t nv = c->type->needs_table == 2 ? c->n + 1 : c->n;
    d->t = c->t ? dup_array(c->t, c->n) : NULL;
    d->v = c->v ? dup_array(c->v, nv) : NULL;
    if ((c->t && !d->t) || (c->v && !d->v)) {
      schedopt_control_free(d);
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    }
  }
  *out = d;
  return SCHEDOPT_OK;
}

void schedopt_control_free(schedopt_control *c) {
  if (!c) return;
  free(c->t);
  free(c->v);
  free(c);
}

const schedopt_control_type *schedopt_control_get_type(const schedopt_control *c) {
  return c ? c->type : NULL;
}

int schedopt_control_param_index(const schedopt_control_type *T, const char *name) {
  if (!T || !name) return -1;
  for (size_t i = 0; i < T->nparams; i++)
    if (strcmp(T->params[i].name, name) == 0) return (int)i;
  return -1;
}

/* The info and storage of parameter `name` (family, warmup or warmup_init). */
static const schedopt_param_info *lookup(const schedopt_control *c, const char *name,
                                         double **slot) {
  int i = schedopt_control_param_index(c->type, name);
  if (i >= 0) {
    *slot = (double *)&c->p[i];
    return &c->type->params[i];
  }
  if (strcmp(name, "warmup") == 0) {
    *slot = (double *)&c->warmup;
    return &warmup_info;
  }
  if (strcmp(name, "warmup_init") == 0) {
    *slot = (double *)&c->warmup_init;
    return &warmup_init_info;
  }
  return NULL;
}

static schedopt_status unknown_param(const schedopt_control *c, const char *name,
                                     schedopt_error *err) {
  char list[512] = "";
  size_t len = 0;
  for (size_t i = 0; i < c->type->nparams && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s, ",
                            c->type->params[i].name);
  return schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "%s: unknown parameter '%s' (parameters: %swarmup, "
                            "warmup_init)",
                            c->type->name, name ? name : "(null)", list);
}

static void choice_list(const schedopt_param_info *P, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; P->choices[i] && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                            P->choices[i]);
}

static size_t nchoices(const schedopt_param_info *P) {
  size_t k = 0;
  while (P->choices[k]) k++;
  return k;
}

/* Range (or choice) check of one parameter value; the message names
 * family.param, the value and the allowed range. */
static schedopt_status check_param(const schedopt_control_type *T,
                                   const schedopt_param_info *P, double x,
                                   schedopt_error *err) {
  char rng[128];
  if (P->choices) {
    size_t k = nchoices(P);
    if (!(isfinite(x) && x == floor(x) && x >= 0 && x < (double)k)) {
      char list[256];
      choice_list(P, list, sizeof list);
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s.%s = %g is not a valid choice: must be the index "
                                "(0 to %zu) of one of %s",
                                T->name, P->name, x, k - 1, list);
    }
    return SCHEDOPT_OK;
  }
  schedopt_range_text(rng, sizeof rng, P->lo, P->hi, P->lo_open, P->hi_open);
  if (!isfinite(x))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s.%s = %g is not a finite number: %s", T->name,
                              P->name, x, rng);
  if ((P->lo_open ? x <= P->lo : x < P->lo) || (P->hi_open ? x >= P->hi : x > P->hi))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s.%s = %g is out of range: %s",
                              T->name, P->name, x, rng);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_control_set(schedopt_control *c, const char *name,
                                     double value, schedopt_error *err) {
  if (!c || !name)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_set: NULL argument");
  double *slot;
  const schedopt_param_info *P = lookup(c, name, &slot);
  if (!P) return unknown_param(c, name, err);
  schedopt_status st = check_param(c->type, P, value, err);
  if (st) return st;
  *slot = value;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_control_set_choice(schedopt_control *c, const char *name,
                                            const char *choice, schedopt_error *err) {
  if (!c || !name || !choice)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_set_choice: NULL argument");
  double *slot;
  const schedopt_param_info *P = lookup(c, name, &slot);
  if (!P) return unknown_param(c, name, err);
  if (!P->choices)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s.%s = '%s': parameter '%s' takes a number, not a "
                              "choice name",
                              c->type->name, name, choice, name);
  for (size_t i = 0; P->choices[i]; i++)
    if (strcmp(P->choices[i], choice) == 0) {
      *slot = (double)i;
      return SCHEDOPT_OK;
    }
  char list[256];
  choice_list(P, list, sizeof list);
  return schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "%s.%s = '%s' is not a valid choice: must be one of %s",
                            c->type->name, name, choice, list);
}

schedopt_status schedopt_control_get(const schedopt_control *c, const char *name,
                                     double *value, schedopt_error *err) {
  if (!c || !name || !value)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_get: NULL argument");
  double *slot;
  const schedopt_param_info *P = lookup(c, name, &slot);
  if (!P) return unknown_param(c, name, err);
  *value = *slot;
  return SCHEDOPT_OK;
}

/* ---------------------------------------------------------------- payload */

static void set_payload(schedopt_control *c, size_t n, double *t, double *v) {
  free(c->t);
  free(c->v);
  c->n = n;
  c->t = t;
  c->v = v;
}

schedopt_status schedopt_control_set_table(schedopt_control *c, size_t n,
                                           const double *t, const double *v,
                                           schedopt_error *err) {
  if (!c || (n && (!t || !v)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_set_table: NULL argument");
  if (c->type->needs_table != 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: only a table control takes points", c->type->name);
  if (n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: a table needs at least one point",
                              c->type->name);
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(t[i]) || !isfinite(v[i]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: point %zu = (%g, %g) is not finite", c->type->name,
                                i, t[i], v[i]);
    if (i && !(t[i] > t[i - 1]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: t[%zu] = %.10g is not greater than t[%zu] = %.10g "
                                "(times must be strictly increasing)",
                                c->type->name, i, t[i], i - 1, t[i - 1]);
  }
  double *tt = dup_array(t, n), *vv = dup_array(v, n);
  if (!tt || !vv) {
    free(tt);
    free(vv);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  set_payload(c, n, tt, vv);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_control_set_steps(schedopt_control *c, size_t n,
                                           const double *milestones,
                                           const double *factors,
                                           schedopt_error *err) {
  if (!c || !factors || (n && !milestones))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_set_steps: NULL argument");
  if (c->type->needs_table != 2)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: only a multistep control takes milestones",
                              c->type->name);
  for (size_t i = 0; i < n; i++) {
    double m = milestones[i];
    if (!(m > 0 && m < 1))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: milestone[%zu] = %g is out of range: must be in "
                                "(0, 1) (a fraction of the horizon)",
                                c->type->name, i, m);
    if (i && !(m > milestones[i - 1]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: milestone[%zu] = %g is not greater than "
                                "milestone[%zu] = %g (milestones must increase)",
                                c->type->name, i, m, i - 1, milestones[i - 1]);
  }
  for (size_t i = 0; i <= n; i++)
    if (!(isfinite(factors[i]) && factors[i] >= 0))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: factor[%zu] = %g is out of range: must be >= 0",
                                c->type->name, i, factors[i]);
  double *m = dup_array(milestones, n), *f = dup_array(factors, n + 1);
  if (!m || !f) {
    free(m);
    free(f);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  set_payload(c, n, m, f);
  return SCHEDOPT_OK;
}

/* -------------------------------------------------------------------- CSV */

typedef struct csv_ctx {
  const char *path, *tcol, *vcol;
  schedopt_error *err;
  schedopt_status st;
  size_t line;     /* line of the row being read */
  int prev_cr;     /* the previous row ended with '\r' */
  size_t field;    /* index of the current field */
  int nonblank;    /* the current row has a non-empty field */
  int have_header;
  schedopt_csv_header hdr;
  size_t row;      /* data rows so far (1 = the first after the header) */
  size_t ti, vi;   /* column indices */
  double tv, vv;
  int got_t, got_v;
  size_t n, cap;
  double *t, *v;
} csv_ctx;

/* A cell that is not a finite plain number stops the read. */
static void csv_parse_cell(csv_ctx *x, const char *s, size_t len, const char *col,
                           double *out) {
  char shown[64];
  if (!schedopt_csv_number(s, len, out))
    x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                               "%s:%zu: column '%s': '%s' is not a finite number", x->path,
                               x->line, col,
                               schedopt_csv_printable(shown, sizeof shown, s, len));
}

static void csv_on_field(void *s, size_t len, void *data) {
  csv_ctx *x = data;
  const char *str = s ? s : "";
  if (x->st) return;
  if (len) x->nonblank = 1;
  if (!x->have_header) {
    x->st = schedopt_csv_header_add(&x->hdr, str, len, x->path, x->line, x->err);
  } else {
    if (x->field == x->ti) {
      csv_parse_cell(x, str, len, x->tcol, &x->tv);
      x->got_t = 1;
    }
    if (x->field == x->vi && !x->st) {
      csv_parse_cell(x, str, len, x->vcol, &x->vv);
      x->got_v = 1;
    }
  }
  x->field++;
}

static void csv_header(csv_ctx *x) {
  x->have_header = 1;
  if ((x->st = schedopt_csv_header_check(&x->hdr, x->path, x->line, x->err))) return;
  x->ti = schedopt_csv_header_find(&x->hdr, x->tcol);
  x->vi = schedopt_csv_header_find(&x->hdr, x->vcol);
  if (x->ti != (size_t)-1 && x->vi != (size_t)-1) return;
  char list[512];
  x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                             "%s:%zu: no column '%s' in the header (columns found: %s)",
                             x->path, x->line,
                             x->ti == (size_t)-1 ? x->tcol : x->vcol,
                             schedopt_csv_header_list(&x->hdr, list, sizeof list));
}

static void csv_on_row(int c, void *data) {
  csv_ctx *x = data;
  int empty = !x->nonblank;
  if (!x->st && !empty) {
    if (!x->have_header) {
      csv_header(x);
    } else if ((x->st = schedopt_csv_row_width(&x->hdr, x->field, ++x->row, x->path, x->line,
                                               x->err))) {
    } else if (!x->got_t || !x->got_v) {
      x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                                 "%s:%zu: row has %zu fields; column '%s' is missing",
                                 x->path, x->line, x->field,
                                 x->got_t ? x->vcol : x->tcol);
    } else if (x->n && !(x->tv > x->t[x->n - 1])) {
      x->st = schedopt_error_set(x->err, SCHEDOPT_EPARSE,
                                 "%s:%zu: %s = %.10g is not greater than the previous "
                                 "%s = %.10g (times must be strictly increasing)",
                                 x->path, x->line, x->tcol, x->tv, x->tcol,
                                 x->t[x->n - 1]);
    } else if (x->n >= SCHEDOPT_CSV_MAX_ROWS) {
      x->st = schedopt_error_set(x->err, SCHEDOPT_ENOMEM,
                                 "%s:%zu: more than %d data rows (the limit for a table; "
                                 "thin the log)",
                                 x->path, x->line, SCHEDOPT_CSV_MAX_ROWS);
    } else {
      if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 1024;
        double *nt = realloc(x->t, cap * sizeof *nt);
        if (nt) x->t = nt;
        double *nv = nt ? realloc(x->v, cap * sizeof *nv) : NULL;
        if (nv) x->v = nv;
        if (!nt || !nv) {
          x->st = schedopt_error_set(x->err, SCHEDOPT_ENOMEM, "out of memory");
          goto next;
        }
        x->cap = cap;
      }
      x->t[x->n] = x->tv;
      x->v[x->n] = x->vv;
      x->n++;
    }
  }
next:
  /* CRLF ends a row at '\r' and then reports an empty row at '\n'. */
  if (!(c == '\n' && x->prev_cr && empty && x->field == 0) && (c == '\n' || c == '\r'))
    x->line++;
  x->prev_cr = c == '\r';
  x->field = 0;
  x->nonblank = 0;
  x->got_t = x->got_v = 0;
}

schedopt_status schedopt_control_load_csv_stream(schedopt_control *c, FILE *f,
                                                 const char *path, const char *tcol,
                                                 const char *vcol, schedopt_error *err) {
  if (!c || !f || !path || !tcol || !vcol)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_load_csv: NULL argument");
  if (c->type->needs_table != 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: only a table control can be loaded from %s",
                              c->type->name, path);
  csv_ctx x = {0};
  x.path = path;
  x.tcol = tcol;
  x.vcol = vcol;
  x.err = err;
  x.line = 1;
  struct csv_parser p;
  if (schedopt_csv_parser_init(&p) != 0)
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  char buf[1 << 16];
  size_t got, total = 0;
  while (!x.st && (got = fread(buf, 1, sizeof buf, f)) > 0) {
    total += got;
    if (total > SCHEDOPT_CSV_MAX_BYTES) {
      x.st = schedopt_error_set(err, SCHEDOPT_ENOMEM,
                                "%s: the file is larger than %d MiB (the limit for a "
                                "table; thin the log)",
                                path, (int)(SCHEDOPT_CSV_MAX_BYTES >> 20));
      break;
    }
    if (csv_parse(&p, buf, got, csv_on_field, csv_on_row, &x) != got && !x.st)
      x.st = schedopt_csv_parse_error(&p, path, x.line, err);
  }
  if (!x.st && ferror(f))
    x.st = schedopt_error_set(err, SCHEDOPT_EIO, "error reading %s", path);
  if (!x.st) csv_fini(&p, csv_on_field, csv_on_row, &x);
  csv_free(&p);
  if (!x.st && !x.have_header)
    x.st = schedopt_error_set(err, SCHEDOPT_EPARSE,
                              "%s: empty file (expected a header row with columns "
                              "'%s' and '%s')",
                              path, tcol, vcol);
  if (!x.st && x.n == 0)
    x.st = schedopt_error_set(err, SCHEDOPT_EPARSE, "%s: no data rows after the header",
                              path);
  schedopt_csv_header_free(&x.hdr);
  if (x.st) {
    free(x.t);
    free(x.v);
    return x.st;
  }
  set_payload(c, x.n, x.t, x.v);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_control_load_csv(schedopt_control *c, const char *path,
                                          const char *tcol, const char *vcol,
                                          schedopt_error *err) {
  if (!c || !path || !tcol || !vcol)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "control_load_csv: NULL argument");
  if (c->type->needs_table != 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: only a table control can be loaded from %s",
                              c->type->name, path);
  /* a regular file only; over the limit it is refused before reading it */
  FILE *f;
  schedopt_status st = schedopt_infile_fopen(path, SCHEDOPT_CSV_MAX_BYTES,
                                             "the limit for a table; thin the log", &f, err);
  if (st) return st;
  st = schedopt_control_load_csv_stream(c, f, path, tcol, vcol, err);
  fclose(f);
  return st;
}

/* ------------------------------------------------------------ evaluation */

size_t schedopt_control_nparams(const schedopt_control *c) {
  return c->type->nparams + 2 + (c->type->needs_table == 1 ? c->n : 0);
}

/* On [0, w): v = f(w)·r, r = wi + (1 − wi) t/w.  Elsewhere v = f(t). */
static double control_eval(const schedopt_control *c, double H, double t, int left,
                           double *dp) {
  size_t np = c->type->nparams, npay = c->type->needs_table == 1 ? c->n : 0;
  double *dpay = dp ? dp + np + 2 : NULL;
  double w = c->warmup, wi = c->warmup_init, fw_w = 0, ft = 0;
  if (dp) memset(dp, 0, (np + 2 + npay) * sizeof *dp);
  if (w > 0 && t < w) {
    double fw = fam_eval(c, w, H, w, 0, dp, dpay, dp ? &fw_w : NULL, dp ? &ft : NULL);
    double r = wi + (1 - wi) * t / w;
    if (dp) {
      for (size_t i = 0; i < np; i++) dp[i] *= r;
      for (size_t i = 0; i < npay; i++) dpay[i] *= r;
      /* d f(w)/dw = ∂f/∂w + ∂f/∂t at t = w */
      dp[np] = (fw_w + ft) * r - fw * (1 - wi) * t / (w * w);
      dp[np + 1] = fw * (1 - t / w);
    }
    return fw * r;
  }
  double f = fam_eval(c, w, H, t, left, dp, dpay, dp ? &fw_w : NULL, NULL);
  if (dp) dp[np] = fw_w;
  return f;
}

double schedopt_control_eval(const schedopt_control *c, double H, double t,
                             double *dp) {
  return control_eval(c, H, t, 0, dp);
}

double schedopt_control_eval_left(const schedopt_control *c, double H, double t) {
  return control_eval(c, H, t, 1, NULL);
}

/* ------------------------------------------------------------------ knots */

typedef struct knot_out {
  double *t;
  int *jump;
  size_t max, n;
  double H, tol, last;
} knot_out;

/* Append x (nondecreasing order) if it lies in (0, H); a knot within tol of
 * the previous one merges into it (jump = OR). */
static void knot_add(knot_out *o, double x, int jump) {
  if (!(x > 0 && x < o->H)) return;
  if (o->n && x - o->last <= o->tol) {
    if (jump && o->jump && o->n - 1 < o->max) o->jump[o->n - 1] = 1;
    return;
  }
  if (o->n < o->max) {
    if (o->t) o->t[o->n] = x;
    if (o->jump) o->jump[o->n] = jump;
  }
  o->last = x;
  o->n++;
}

size_t schedopt_control_knots(const schedopt_control *c, double H, double *t,
                              int *jump, size_t max) {
  knot_out o = {t, jump, max, 0, H, 1e-12 * fabs(H), 0};
  const schedopt_control_type *T = c->type;
  /* isolated kinks: end of warmup, wsd decay start */
  double s[2];
  size_t ns = 0;
  if (c->warmup > 0) s[ns++] = c->warmup;
  double td = NAN;
  if (T == schedopt_control_wsd) td = H * (1 - c->p[2]);
  if (T == schedopt_control_trainer) { /* the trainer's warmup end, where its decay starts or ends */
    const schedopt_trainer_type *tt = trainer_type_of(c);
    const double w = c->p[TR_WARMUP], D = trainer_decay(c->p, H);
    if (w > 0 && w < H) s[ns++] = w;
    const char *tr = tt->trainer;
    const int wsd = !strncmp(tt->style, "WSD", 3);
    td = !strcmp(tr, "megatron")     ? (wsd ? H - D : w + D)
         : !strcmp(tr, "torchtitan") ? H + 1 - D
         : !strcmp(tr, "olmo_core")  ? (tt->has_decay ? H - D - 1 : H - 1)
                                     : w + D;
  }
  if (isfinite(td) && td > 0 && td < H) {
    if (ns && td < s[0])
      s[1] = s[0], s[0] = td, ns++;
    else
      s[ns++] = td;
  }
  /* sorted lists: table points, milestones */
  size_t n = 0;
  const double *x = NULL;
  double scale = 1;
  int jumps = 0, first_jumps = 0;
  if (T->needs_table == 1) {
    n = c->n, x = c->t;
    jumps = builtin(T) && (int)c->p[0] == INTERP_STEP;
    first_jumps = 0; /* a step table is clamped to v_0 before t_0 */
  } else if (T->needs_table == 2) {
    n = c->v ? c->n : 0, x = c->t, scale = H, jumps = first_jumps = 1;
  } else if (T == schedopt_control_811) {
    n = 2, x = m811, scale = H, jumps = first_jumps = 1;
  }
  size_t si = 0;
  for (size_t i = 0; i < n; i++) {
    double xi = scale * x[i];
    while (si < ns && s[si] <= xi) knot_add(&o, s[si++], 0);
    knot_add(&o, xi, i ? jumps : first_jumps);
  }
  while (si < ns) knot_add(&o, s[si++], 0);
  return o.n;
}

/* ------------------------------------------------------------- validation */

static schedopt_status check_value(const char *what, double v, double t, double lo,
                                   double hi, int hi_open, schedopt_error *err) {
  if (isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi)) return SCHEDOPT_OK;
  char rng[128];
  schedopt_range_text(rng, sizeof rng, lo, hi, 0, hi_open);
  if (!isfinite(v))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s = %g at t = %.10g is not a finite number: %s", what,
                              v, t, rng);
  return schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "%s = %g at t = %.10g is out of range: %s", what, v, t, rng);
}

schedopt_status schedopt_control_validate(const schedopt_control *c, double H,
                                          double lo, double hi, int hi_open,
                                          const char *what, schedopt_error *err) {
  if (!what) what = "control";
  if (!c) return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: no control", what);
  const schedopt_control_type *T = c->type;
  const char *nm = T->name;
  schedopt_status st;
  if (!(isfinite(H) && H > 0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: horizon H = %g is out of range: must be > 0", what, H);
  for (size_t i = 0; i < T->nparams; i++) {
    if (isnan(c->p[i]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: %s: parameter '%s' is required", what, nm,
                                T->params[i].name);
    if ((st = check_param(T, &T->params[i], c->p[i], err))) {
      schedopt_error_prefix(err, "%s: ", what);
      return st;
    }
  }
  if ((st = check_param(T, &warmup_info, c->warmup, err)) ||
      (st = check_param(T, &warmup_init_info, c->warmup_init, err))) {
    schedopt_error_prefix(err, "%s: ", what);
    return st;
  }
  double w = c->warmup;
  if (!(w < H))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: %s.warmup = %.10g is out of range: must be < the "
                              "horizon H = %.10g",
                              what, nm, w, H);
  if (T == schedopt_control_wsd) {
    double df = c->p[2], td = H * (1 - df);
    if (td < w)
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: wsd: the decay starts at t = H(1 - decay_frac) = "
                                "%.10g, before the end of warmup at t = %.10g: "
                                "decay_frac = %g must be <= 1 - warmup/H = %g",
                                what, td, w, df, 1 - w / H);
    if ((int)c->p[3] == SHAPE_EXP && !(c->p[0] > 0 && c->p[1] > 0))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: wsd: shape = exponential needs peak > 0 and floor "
                                "> 0 (got peak = %g, floor = %g); use a positive floor "
                                "or another shape",
                                what, c->p[0], c->p[1]);
  }
  if (T == schedopt_control_trainer) {
    const double W = c->p[TR_WARMUP];
    if (w > 0)
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: trainer: warmup = %.10g: the trainer's warmup is "
                                "warmup_steps (its own ramp), the generic warmup must be 0",
                                what, w);
    if (!(W < H))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: trainer: warmup_steps = %.10g is out of range: must be < "
                                "the horizon H = %.10g",
                                what, W, H);
    if (c->p[TR_DECAY] > H - W)
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "%s: trainer: decay = %.10g steps is out of range: must be <= "
                                "H - warmup_steps = %.10g",
                                what, c->p[TR_DECAY], H - W);
  }
  if (T == schedopt_control_exponential)
    for (int i = 0; i < 2; i++)
      if (!(c->p[i] > 0))
        return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                  "%s: exponential.%s = %g is out of range: must be > 0 "
                                  "(start^(1-u) end^u needs positive endpoints)",
                                  what, T->params[i].name, c->p[i]);
  if (T->needs_table == 1 && c->n == 0)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: %s: no points (load a CSV file or give points)", what,
                              nm);
  if (T->needs_table == 2 && !c->v)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: %s: milestones and factors are required (n "
                              "milestones need n + 1 factors)",
                              what, nm);

  /* v(t) ∈ [lo, hi] on a grid of 2001 points (0 and H included) and on both
   * sides of every knot, in time order so the first violation is reported. */
  size_t nk = schedopt_control_knots(c, H, NULL, NULL, 0);
  double *kt = NULL;
  if (nk) {
    if (!(kt = malloc(nk * sizeof *kt)))
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    schedopt_control_knots(c, H, kt, NULL, nk);
  }
  enum { NGRID = 2000 };
  size_t ki = 0;
  for (int k = 0; k <= NGRID && !st; k++) {
    double tk = k == NGRID ? H : H * k / NGRID;
    for (; ki < nk && kt[ki] <= tk && !st; ki++) {
      st = check_value(what, schedopt_control_eval_left(c, H, kt[ki]), kt[ki], lo, hi,
                       hi_open, err);
      if (!st)
        st = check_value(what, schedopt_control_eval(c, H, kt[ki], NULL), kt[ki], lo,
                         hi, hi_open, err);
    }
    if (!st)
      st = check_value(what, schedopt_control_eval(c, H, tk, NULL), tk, lo, hi, hi_open,
                       err);
  }
  free(kt);
  return st;
}
