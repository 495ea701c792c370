/* trainer.c — trainers' built-in learning-rate schedules, step by step as
 * their code computes them (schedopt/trainer.h states each formula and
 * where it comes from).  The arithmetic follows the trainers' own order of
 * operations so that the rates agree to the last bit or two. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schedopt/trainer.h"

#define PI 3.14159265358979323846

/* decay shapes c(z), z ∈ [0, 1] */
enum { S_LINEAR, S_COSINE, S_EXPONENTIAL, S_SQRT, S_CONSTANT };

static double shape(int s, double z) {
  switch (s) {
  case S_LINEAR: return 1.0 - z;
  case S_COSINE: return 0.5 * (cos(PI * z) + 1.0);
  case S_EXPONENTIAL: return 2.0 * pow(0.5, z) - 1.0;
  case S_SQRT: return 1.0 - sqrt(z);
  default: return 1.0;
  }
}

/* ---- Megatron-LM: OptimizerParamScheduler.get_lr at num_steps = k ---- */

static double megatron(const schedopt_trainer_sched *s, size_t k, int style, int wsd) {
  const double x = (double)k, W = (double)s->warmup, mx = s->peak, mn = s->floor;
  if (s->warmup > 0 && x <= W) return 0.0 + ((mx - 0.0) * x / W); /* --lr-warmup-init 0 */
  if (style == S_CONSTANT) return mx;
  /* lr_decay_steps: K for WSD, W + D for linear and cosine */
  const double dec = wsd ? (double)s->steps : W + (double)s->decay;
  if (x > dec) return mn;
  double c;
  if (!wsd) {
    c = shape(style, (x - W) / (dec - W));
  } else {
    const double a = dec - (double)s->decay; /* wsd_anneal_start_ */
    c = x <= a ? 1.0 : shape(style, (x - a) / (double)s->decay);
  }
  return mn + c * (mx - mn);
}

#define MEGATRON(fn, style, wsd) \
  static double fn(const schedopt_trainer_sched *s, size_t k) { return megatron(s, k, style, wsd); }
MEGATRON(mg_constant, S_CONSTANT, 0)
MEGATRON(mg_linear, S_LINEAR, 0)
MEGATRON(mg_cosine, S_COSINE, 0)
MEGATRON(mg_wsd_linear, S_LINEAR, 1)
MEGATRON(mg_wsd_cosine, S_COSINE, 1)
MEGATRON(mg_wsd_exponential, S_EXPONENTIAL, 1)
MEGATRON(mg_wsd_sqrt, S_SQRT, 1)

/* ---- torchtitan: linear_warmup_stable_decay(k) × lr ---- */

static double torchtitan(const schedopt_trainer_sched *s, size_t k, int style) {
  const size_t W = s->warmup, D = s->decay, S = s->steps + 1 - W - D; /* stable steps */
  const double m = s->floor / s->peak;                                 /* min_lr_factor */
  double f;
  if (k < W) {
    f = (double)(k + 1) / (double)W;
  } else if (k < W + S) {
    f = 1.0;
  } else {
    const double p = (double)(k + 1 - (W + S)) / (double)D;
    f = m + (1 - m) * shape(style, p);
  }
  return s->peak * f;
}

static double tt_linear(const schedopt_trainer_sched *s, size_t k) { return torchtitan(s, k, S_LINEAR); }
static double tt_sqrt(const schedopt_trainer_sched *s, size_t k) { return torchtitan(s, k, S_SQRT); }
static double tt_cosine(const schedopt_trainer_sched *s, size_t k) { return torchtitan(s, k, S_COSINE); }

/* ---- OLMo-core: Scheduler.get_lr(peak, current = k + 1, t_max = K) ---- */

static double olmo_warmup(double lr, double cur, double W) {
  return 0.0 + (lr - 0.0) * fmin(cur, W) / W; /* _linear_warmup, warmup_min_lr 0 */
}

static double olmo_wsd(const schedopt_trainer_sched *s, size_t k) {
  const double cur = (double)(k + 1), W = (double)s->warmup, T = (double)s->steps,
               D = (double)s->decay;
  if (s->warmup > 0 && cur <= W) return olmo_warmup(s->peak, cur, W);
  if (cur >= T - D) /* _linear_decay(peak, T − cur, D, floor) */
    return s->floor + (s->peak - s->floor) * fmin(T - cur, D) / D;
  return s->peak;
}

static double olmo_decay(const schedopt_trainer_sched *s, size_t k, int cosine) {
  const double cur = (double)(k + 1), W = (double)s->warmup, T = (double)s->steps;
  const double alpha = s->floor / s->peak, eta_min = s->peak * alpha;
  if (cur < W) return olmo_warmup(s->peak, cur, W);
  if (cur >= T) return eta_min;
  const double c = cur - W, t = T - W;
  if (cosine) return eta_min + (s->peak - eta_min) * (1 + cos(PI * c / t)) / 2;
  return s->peak - (s->peak - eta_min) * (c / t);
}

static double olmo_cosine(const schedopt_trainer_sched *s, size_t k) { return olmo_decay(s, k, 1); }
static double olmo_linear(const schedopt_trainer_sched *s, size_t k) { return olmo_decay(s, k, 0); }

/* ---- nanoGPT: get_lr(it = k) ---- */

static double nanogpt(const schedopt_trainer_sched *s, size_t k) {
  const double it = (double)k, W = (double)s->warmup, dec = W + (double)s->decay;
  if (it < W) return s->peak * (it + 1) / (W + 1);
  if (it > dec) return s->floor;
  const double r = (it - W) / (dec - W);
  const double coeff = 0.5 * (1.0 + cos(PI * r));
  return s->floor + coeff * (s->peak - s->floor);
}

static const schedopt_trainer_type types[] = {
    {"megatron-constant", "megatron", "constant", 0, 0, mg_constant},
    {"megatron-linear", "megatron", "linear", 1, 1, mg_linear},
    {"megatron-cosine", "megatron", "cosine", 1, 1, mg_cosine},
    {"megatron-wsd-linear", "megatron", "WSD linear", 1, 1, mg_wsd_linear},
    {"megatron-wsd-cosine", "megatron", "WSD cosine", 1, 1, mg_wsd_cosine},
    {"megatron-wsd-exponential", "megatron", "WSD exponential", 1, 1, mg_wsd_exponential},
    {"megatron-wsd-minus_sqrt", "megatron", "WSD minus_sqrt", 1, 1, mg_wsd_sqrt},
    {"torchtitan-linear", "torchtitan", "linear", 1, 1, tt_linear},
    {"torchtitan-sqrt", "torchtitan", "sqrt", 1, 1, tt_sqrt},
    {"torchtitan-cosine", "torchtitan", "cosine", 1, 1, tt_cosine},
    {"olmo_core-wsd", "olmo_core", "WSD", 1, 1, olmo_wsd},
    {"olmo_core-cosine", "olmo_core", "CosWithWarmup", 0, 1, olmo_cosine},
    {"olmo_core-linear", "olmo_core", "LinearWithWarmup", 0, 1, olmo_linear},
    {"nanogpt-cosine", "nanogpt", "cosine", 1, 1, nanogpt},
};

const schedopt_trainer_type *const schedopt_trainer_types[] = {
    &types[0], &types[1], &types[2],  &types[3],  &types[4],  &types[5],  &types[6],
    &types[7], &types[8], &types[9], &types[10], &types[11], &types[12], &types[13], NULL};

const char *const schedopt_trainer_names[] = {"megatron", "torchtitan", "olmo_core", "nanogpt",
                                              NULL};

const schedopt_trainer_type *schedopt_trainer_type_find(const char *name) {
  for (size_t i = 0; name && schedopt_trainer_types[i]; i++)
    if (!strcmp(schedopt_trainer_types[i]->name, name)) return schedopt_trainer_types[i];
  return NULL;
}

int schedopt_trainer_known(const char *trainer) {
  for (size_t i = 0; trainer && schedopt_trainer_names[i]; i++)
    if (!strcmp(schedopt_trainer_names[i], trainer)) return 1;
  return 0;
}

schedopt_status schedopt_trainer_check(const schedopt_trainer_sched *s, schedopt_error *err) {
  if (!s || !s->type) return schedopt_error_set(err, SCHEDOPT_EINVAL, "trainer schedule: no type");
  const char *n = s->type->name;
  if (s->steps < 2 || s->steps > (size_t)1 << 50)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: steps = %zu, must be in [2, 2^50]", n,
                              s->steps);
  if (s->warmup >= s->steps)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: warmup = %zu, must be below steps = %zu",
                              n, s->warmup, s->steps);
  if (s->type->has_decay && (s->decay < 1 || s->decay > s->steps - s->warmup))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: decay = %zu steps, must be in [1, steps - warmup = %zu]", n,
                              s->decay, s->steps - s->warmup);
  if (!(s->peak > 0) || !isfinite(s->peak))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: peak = %g, must be > 0 and finite", n,
                              s->peak);
  if (!(s->floor >= 0 && s->floor < s->peak))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: floor = %g, must be in [0, peak = %g)",
                              n, s->floor, s->peak);
  return SCHEDOPT_OK;
}

double schedopt_trainer_lr(const schedopt_trainer_sched *s, size_t k) { return s->type->lr(s, k); }

void schedopt_trainer_fill(const schedopt_trainer_sched *s, double *lr) {
  for (size_t k = 0; k < s->steps; k++) lr[k] = s->type->lr(s, k);
}

static const char *trainer_title(const char *t) {
  return !strcmp(t, "megatron")     ? "Megatron-LM"
         : !strcmp(t, "torchtitan") ? "torchtitan"
         : !strcmp(t, "olmo_core")  ? "OLMo-core"
                                    : "nanoGPT";
}

void schedopt_trainer_describe(const schedopt_trainer_sched *s, char *buf, size_t cap) {
  const schedopt_trainer_type *T = s->type;
  int n = snprintf(buf, cap, "%s %s: ", trainer_title(T->trainer), T->style);
  if (n < 0 || (size_t)n >= cap) return;
  char *p = buf + n;
  size_t left = cap - (size_t)n;
  char w[96] = "";
  if (s->warmup) snprintf(w, sizeof w, "warmup %zu steps, ", s->warmup);
  if (!T->has_floor)
    snprintf(p, left, "%speak %.6g for all %zu steps", w, s->peak, s->steps);
  else if (!T->has_decay)
    snprintf(p, left, "%s%s decay from %.6g to %.6g over the %zu steps after it", w,
             strstr(T->style, "Cos") ? "cosine" : "linear", s->peak, s->floor,
             s->steps - s->warmup);
  else if (!strncmp(T->style, "WSD", 3) || !strcmp(T->trainer, "torchtitan"))
    snprintf(p, left, "%speak %.6g, then from step %zu a %s anneal over %zu steps to %.6g", w,
             s->peak, s->steps - s->decay,
             !strcmp(T->trainer, "olmo_core") ? "linear"
             : !strncmp(T->style, "WSD ", 4)  ? T->style + 4
                                              : T->style,
             s->decay, s->floor);
  else
    snprintf(p, left, "%s%s decay from %.6g over %zu steps to %.6g, then %.6g to step %zu", w,
             strstr(T->style, "cos") ? "cosine" : "linear", s->peak, s->decay, s->floor,
             s->floor, s->steps);
}
