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

/* Every formula takes real K, W, D and a real counter x: at integers they
 * are the trainer's rates (its own order of operations); between them the
 * same formula, which is what a continuous-time model integrates. */
typedef struct targs {
  double K, W, D, peak, floor;
} targs;

/* ---- Megatron-LM: OptimizerParamScheduler.get_lr at num_steps = x ---- */

static double megatron(const targs *a, double x, int style, int wsd) {
  const double W = a->W, mx = a->peak, mn = a->floor;
  if (W > 0 && x <= W) return 0.0 + ((mx - 0.0) * x / W); /* --lr-warmup-init 0 */
  if (style == S_CONSTANT) return mx;
  /* lr_decay_steps: K for WSD, W + D for linear and cosine */
  const double dec = wsd ? a->K : W + a->D;
  if (x > dec) return mn;
  double c;
  if (!wsd) {
    c = shape(style, (x - W) / (dec - W));
  } else {
    const double st = dec - a->D; /* wsd_anneal_start_ */
    c = x <= st ? 1.0 : shape(style, (x - st) / a->D);
  }
  return mn + c * (mx - mn);
}

#define MEGATRON(fn, style, wsd) \
  static double fn(const targs *a, double x) { return megatron(a, x, style, wsd); }
MEGATRON(mg_constant, S_CONSTANT, 0)
MEGATRON(mg_linear, S_LINEAR, 0)
MEGATRON(mg_cosine, S_COSINE, 0)
MEGATRON(mg_wsd_linear, S_LINEAR, 1)
MEGATRON(mg_wsd_cosine, S_COSINE, 1)
MEGATRON(mg_wsd_exponential, S_EXPONENTIAL, 1)
MEGATRON(mg_wsd_sqrt, S_SQRT, 1)

/* ---- torchtitan: lr × linear_warmup_stable_decay(x) ---- */

static double torchtitan(const targs *a, double x, int style) {
  const double W = a->W, D = a->D, S = a->K + 1 - W - D; /* stable steps */
  const double m = a->floor / a->peak;                   /* min_lr_factor */
  double f;
  if (x < W) {
    f = fmin((x + 1) / W, 1.0); /* at steps k < W exact; between W − 1 and W not above 1 */
  } else if (x < W + S) {
    f = 1.0;
  } else {
    const double p = (x + 1 - (W + S)) / D;
    f = m + (1 - m) * shape(style, p);
  }
  return a->peak * f;
}

static double tt_linear(const targs *a, double x) { return torchtitan(a, x, S_LINEAR); }
static double tt_sqrt(const targs *a, double x) { return torchtitan(a, x, S_SQRT); }
static double tt_cosine(const targs *a, double x) { return torchtitan(a, x, S_COSINE); }

/* ---- OLMo-core: Scheduler.get_lr(peak, current = x + 1, t_max = K) ---- */

static double olmo_warmup(double lr, double cur, double W) {
  return 0.0 + (lr - 0.0) * fmin(cur, W) / W; /* _linear_warmup, warmup_min_lr 0 */
}

static double olmo_wsd(const targs *a, double x) {
  const double cur = x + 1, W = a->W, T = a->K, D = a->D;
  if (W > 0 && cur <= W) return olmo_warmup(a->peak, cur, W);
  if (cur >= T - D) /* _linear_decay(peak, T − cur, D, floor) */
    return a->floor + (a->peak - a->floor) * fmin(T - cur, D) / D;
  return a->peak;
}

static double olmo_decay(const targs *a, double x, int cosine) {
  const double cur = x + 1, W = a->W, T = a->K;
  const double alpha = a->floor / a->peak, eta_min = a->peak * alpha;
  if (cur < W) return olmo_warmup(a->peak, cur, W);
  if (cur >= T) return eta_min;
  const double c = cur - W, t = T - W;
  if (cosine) return eta_min + (a->peak - eta_min) * (1 + cos(PI * c / t)) / 2;
  return a->peak - (a->peak - eta_min) * (c / t);
}

static double olmo_cosine(const targs *a, double x) { return olmo_decay(a, x, 1); }
static double olmo_linear(const targs *a, double x) { return olmo_decay(a, x, 0); }

/* ---- nanoGPT: get_lr(it = x) ---- */

static double nanogpt(const targs *a, double it) {
  const double W = a->W, dec = W + a->D;
  if (it < W) return a->peak * (it + 1) / (W + 1);
  if (it > dec) return a->floor;
  const double r = (it - W) / (dec - W);
  const double coeff = 0.5 * (1.0 + cos(PI * r));
  return a->floor + coeff * (a->peak - a->floor);
}

/* ---- DeepSpeed: runtime/lr_schedules.py, warmup_type linear; step k runs
 * at last_batch_iteration x = k − 1 (the engine steps the scheduler after
 * the optimizer; at −1 the schedulers return their start, 0 here) ---- */

enum { DS_WARMUP, DS_DECAY, DS_COSINE };

static double deepspeed(const targs *a, double k, int kind) {
  const double x = k - 1, Wd = fmax(2, a->W), T = a->W + a->D, mx = a->peak;
  if (x < 0) return 0.0;
  if (kind == DS_COSINE) {
    const double m = a->floor / a->peak; /* cos_min_ratio */
    double ratio;
    if (x < Wd) {
      ratio = x / Wd;
      ratio = 0.0 + ratio * (1. - 0.0); /* warmup_min_ratio 0 */
    } else {
      const double real_last_step = x - Wd + 1, real_total_steps = fmax(1, T - Wd);
      const double cosine_progress = fmin(1.0, real_last_step / real_total_steps);
      const double ratio_delta = 1. - m;
      ratio = (1 + cos(PI * cosine_progress)) / 2;
      ratio = fmax(0.0, m + ratio_delta * ratio);
    }
    return mx * ratio;
  }
  double gamma;
  if (x < Wd)
    gamma = x / Wd;
  else if (kind == DS_WARMUP)
    gamma = 1.0;
  else
    gamma = fmax(0.0, (T - x) / fmax(1.0, T - Wd));
  return 0.0 + ((mx - 0.0) * gamma); /* min_lr + delta_lr·gamma, warmup_min_lr 0 */
}

static double ds_warmup(const targs *a, double x) { return deepspeed(a, x, DS_WARMUP); }
static double ds_decay(const targs *a, double x) { return deepspeed(a, x, DS_DECAY); }
static double ds_cosine(const targs *a, double x) { return deepspeed(a, x, DS_COSINE); }

typedef double (*tfn)(const targs *a, double x);

typedef struct ttype {
  schedopt_trainer_type pub; /* first: the exported pointer points here */
  tfn f;
} ttype;

static double pub_lr(const schedopt_trainer_sched *s, size_t k);

#define T(name, tr, style, dec, fl, fn) {{name, tr, style, dec, fl, pub_lr}, fn}
static const ttype types[] = {
    T("megatron-constant", "megatron", "constant", 0, 0, mg_constant),
    T("megatron-linear", "megatron", "linear", 1, 1, mg_linear),
    T("megatron-cosine", "megatron", "cosine", 1, 1, mg_cosine),
    T("megatron-wsd-linear", "megatron", "WSD linear", 1, 1, mg_wsd_linear),
    T("megatron-wsd-cosine", "megatron", "WSD cosine", 1, 1, mg_wsd_cosine),
    T("megatron-wsd-exponential", "megatron", "WSD exponential", 1, 1, mg_wsd_exponential),
    T("megatron-wsd-minus_sqrt", "megatron", "WSD minus_sqrt", 1, 1, mg_wsd_sqrt),
    T("torchtitan-linear", "torchtitan", "linear", 1, 1, tt_linear),
    T("torchtitan-sqrt", "torchtitan", "sqrt", 1, 1, tt_sqrt),
    T("torchtitan-cosine", "torchtitan", "cosine", 1, 1, tt_cosine),
    T("olmo_core-wsd", "olmo_core", "WSD", 1, 1, olmo_wsd),
    T("olmo_core-cosine", "olmo_core", "CosWithWarmup", 0, 1, olmo_cosine),
    T("olmo_core-linear", "olmo_core", "LinearWithWarmup", 0, 1, olmo_linear),
    T("nanogpt-cosine", "nanogpt", "cosine", 1, 1, nanogpt),
    T("deepspeed-warmup", "deepspeed", "WarmupLR", 0, 0, ds_warmup),
    T("deepspeed-warmup-decay", "deepspeed", "WarmupDecayLR", 1, 0, ds_decay),
    T("deepspeed-warmup-cosine", "deepspeed", "WarmupCosineLR", 1, 1, ds_cosine),
};
#undef T
#define NTYPES (sizeof types / sizeof *types)

const schedopt_trainer_type *const schedopt_trainer_types[] = {
    &types[0].pub, &types[1].pub, &types[2].pub,  &types[3].pub,  &types[4].pub,
    &types[5].pub, &types[6].pub, &types[7].pub,  &types[8].pub,  &types[9].pub,
    &types[10].pub, &types[11].pub, &types[12].pub, &types[13].pub, &types[14].pub,
    &types[15].pub, &types[16].pub, NULL};

const char *const schedopt_trainer_type_names[] = {
    "megatron-constant",   "megatron-linear",          "megatron-cosine",
    "megatron-wsd-linear", "megatron-wsd-cosine",      "megatron-wsd-exponential",
    "megatron-wsd-minus_sqrt", "torchtitan-linear",    "torchtitan-sqrt",
    "torchtitan-cosine",   "olmo_core-wsd",            "olmo_core-cosine",
    "olmo_core-linear",    "nanogpt-cosine",           "deepspeed-warmup",
    "deepspeed-warmup-decay", "deepspeed-warmup-cosine", NULL};

static const ttype *impl(const schedopt_trainer_type *T) {
  for (size_t i = 0; i < NTYPES; i++)
    if (&types[i].pub == T) return &types[i];
  return NULL;
}

double schedopt_trainer_lr_at(const schedopt_trainer_type *T, double K, double W, double D,
                              double peak, double floor, double x) {
  const ttype *t = impl(T);
  if (!t) return NAN;
  const targs a = {K, W, T->has_decay ? D : K - W, peak, T->has_floor ? floor : 0};
  return t->f(&a, x);
}

static double pub_lr(const schedopt_trainer_sched *s, size_t k) {
  return schedopt_trainer_lr_at(s->type, (double)s->steps, (double)s->warmup, (double)s->decay,
                                s->peak, s->floor, (double)k);
}

const char *const schedopt_trainer_names[] = {"megatron", "torchtitan", "olmo_core", "nanogpt",
                                              "deepspeed", NULL};

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
  if (!strcmp(s->type->trainer, "deepspeed") && s->warmup < 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: warmup = 0 steps: DeepSpeed's schedulers need "
                              "warmup_num_steps >= 1", n);
  if (!strcmp(s->type->trainer, "deepspeed") && s->steps < 3) /* x = −1, 0: both at 0 */
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: steps = %zu: DeepSpeed runs its first two steps at learning "
                              "rate 0 (last_batch_iteration -1 and 0): steps must be >= 3", n,
                              s->steps);
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
  const ttype *t = impl(s->type);
  if (!t) { /* a type of the caller's own */
    for (size_t k = 0; k < s->steps; k++) lr[k] = s->type->lr(s, k);
    return;
  }
  const schedopt_trainer_type *T = s->type;
  const targs a = {(double)s->steps, (double)s->warmup,
                   T->has_decay ? (double)s->decay : (double)(s->steps - s->warmup), s->peak,
                   T->has_floor ? s->floor : 0};
  for (size_t k = 0; k < s->steps; k++) lr[k] = t->f(&a, (double)k);
}

static const char *trainer_title(const char *t) {
  return !strcmp(t, "megatron")     ? "Megatron-LM"
         : !strcmp(t, "torchtitan") ? "torchtitan"
         : !strcmp(t, "olmo_core")  ? "OLMo-core"
         : !strcmp(t, "deepspeed")  ? "DeepSpeed"
                                    : "nanoGPT";
}

void schedopt_trainer_describe(const schedopt_trainer_sched *s, char *buf, size_t cap) {
  const schedopt_trainer_type *T = s->type;
  int n = snprintf(buf, cap, "%s %s: ", trainer_title(T->trainer), T->style);
  if (n < 0 || (size_t)n >= cap) return;
  char *p = buf + n;
  size_t left = cap - (size_t)n;
  char w[96] = "";
  if (s->warmup) snprintf(w, sizeof w, "warmup %zu step%s, ", s->warmup, s->warmup == 1 ? "" : "s");
  if (!strcmp(T->trainer, "deepspeed"))
    snprintf(p, left, "%speak %.6g, then %s", w, s->peak,
             !T->has_decay ? "constant to the end"
             : T->has_floor ? "a cosine decay" : "a linear decay to 0");
  if (!strcmp(T->trainer, "deepspeed") && T->has_decay) {
    size_t n2 = strlen(buf);
    snprintf(buf + n2, cap - n2, " ending at step %zu%s", s->warmup + s->decay, "");
    if (T->has_floor) {
      n2 = strlen(buf);
      snprintf(buf + n2, cap - n2, " at %.6g", s->floor);
    }
  }
  if (!strcmp(T->trainer, "deepspeed"))
    ;
  else if (!T->has_floor)
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
