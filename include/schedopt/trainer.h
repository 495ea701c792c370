/* schedopt/trainer.h — the learning-rate schedules trainers build in, as
 * their own code computes them at every optimizer step.
 *
 * A trainer schedule is a type (one trainer and one of its schedule styles,
 * a const table like control.h's families) and five numbers:
 *
 *   steps  K   optimizer steps the trainer performs
 *   warmup W   warmup length, in the trainer's own convention (below)
 *   decay  D   length of the decay: the WSD anneal, or the linear/cosine
 *              decay after the warmup (types with has_decay; else K − W)
 *   peak       the trainer's learning rate
 *   floor      where the decay ends (0 ≤ floor < peak)
 *
 * schedopt_trainer_lr(s, k) is the rate of optimizer step k = 0 … K−1
 * (0-based), transcribed from each trainer's source, including when its
 * counter is read (u = position of the counter, z = decay progress):
 *
 *   megatron   OptimizerParamScheduler.get_lr at num_steps = k (it is stepped
 *              after each optimizer step; in samples both sides carry the
 *              batch size B, which cancels: the ratios exactly, the warmup's
 *              peak·kB/(WB) to an ulp unless B is a power of 2).  k ≤ W: peak·k/W.
 *              constant: peak.  linear / cosine: z = (k − W)/D, floor after
 *              W + D (--lr-decay-iters W + D).  WSD: peak until K − D, then
 *              z = (k − K + D)/D with linear 1 − z, cosine (1 + cos πz)/2,
 *              exponential 2·0.5^z − 1, minus_sqrt 1 − √z
 *              (--lr-decay-iters K, --lr-wsd-decay-iters D).
 *              lr = floor + (peak − floor)·c.
 *   torchtitan LambdaLR(linear_warmup_stable_decay) of
 *              components/lr_scheduler.py at k: k < W: (k + 1)/W; stable
 *              while k < K + 1 − D (the "virtual last step"); then
 *              z = (k − K + D)/D and linear / sqrt / cosine as above;
 *              factor = m + (1 − m)·c, m = min_lr_factor = floor/peak.
 *              decay_ratio is written so that round(K·decay_ratio) = D.
 *   olmo_core  Scheduler.get_lr(peak, current = k + 1, t_max = K): the
 *              Trainer counts global_step up before each batch.  WSD:
 *              current ≤ W: peak·current/W; current ≥ K − D: floor +
 *              (peak − floor)·min(K − current, D)/D.  CosWithWarmup /
 *              LinearWithWarmup: current < W: warmup; then cosine / linear
 *              from peak at W to eta_min = alpha_f·peak at K.
 *   nanogpt    get_lr(it) of train.py at it = k: k < W: peak·(k + 1)/(W + 1);
 *              k > W + D: floor; else cosine with z = (k − W)/D
 *              (lr_decay_iters = W + D); train.py performs iterations
 *              0 … max_iters, so max_iters = K − 1.
 *   deepspeed  runtime/lr_schedules.py with warmup_type linear, stepped by the
 *              engine after each optimizer step from last_batch_iteration
 *              = −1: step k uses iteration x = k − 1 (x < 0: 0).  Warmup
 *              W' = max(2, W): x/W'·peak.  WarmupLR: peak after it;
 *              WarmupDecayLR: peak·max(0, (T − x)/max(1, T − W')),
 *              T = total_num_steps = W + D; WarmupCosineLR: ratio m + (1 − m)
 *              (1 + cos π min(1, (x − W' + 1)/max(1, T − W')))/2,
 *              m = cos_min_ratio = floor/peak.  DeepSpeed needs W ≥ 1, and
 *              K ≥ 3 (its first two steps run at 0).
 *
 * The config writers print what the trainer reads (flags, TOML, Python) so
 * that it performs exactly K steps at these rates.
 */
#ifndef SCHEDOPT_TRAINER_H
#define SCHEDOPT_TRAINER_H

#include <stddef.h>
#include <stdio.h>
#include "schedopt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct schedopt_trainer_sched schedopt_trainer_sched;

typedef struct schedopt_trainer_type {
  const char *name;    /* "megatron-wsd-minus_sqrt", "torchtitan-sqrt", … */
  const char *trainer; /* "megatron", "torchtitan", "olmo_core", "nanogpt", "deepspeed" */
  const char *style;   /* the trainer's own name: "WSD minus_sqrt", "sqrt", "WSD", … */
  int has_decay;       /* 1: D is a free parameter; 0: the decay spans K − W */
  int has_floor;       /* 1: floor is a free parameter; 0: no decay, floor unused */
  /* the rate of optimizer step k (0 ≤ k < K) */
  double (*lr)(const schedopt_trainer_sched *s, size_t k);
} schedopt_trainer_type;

struct schedopt_trainer_sched {
  const schedopt_trainer_type *type;
  size_t steps, warmup, decay;
  double peak, floor;
};

extern const schedopt_trainer_type *const schedopt_trainer_types[]; /* NULL-terminated */
#define SCHEDOPT_TRAINER_NTYPES 17
/* By name (NULL if none). */
const schedopt_trainer_type *schedopt_trainer_type_find(const char *name);
/* The trainers, in the order of schedopt_trainer_types ("megatron",
 * "torchtitan", "olmo_core", "nanogpt", "deepspeed"; NULL-terminated), and
 * whether name is one. */
extern const char *const schedopt_trainer_names[];
int schedopt_trainer_known(const char *trainer);

/* Check s: K ≥ 2, W < K, 1 ≤ D ≤ K − W (has_decay), 0 ≤ floor < peak,
 * finite, W ≥ 1 and K ≥ 3 for DeepSpeed; the message names the value and
 * the range. */
schedopt_status schedopt_trainer_check(const schedopt_trainer_sched *s, schedopt_error *err);

/* The rate of optimizer step k (s checked). */
double schedopt_trainer_lr(const schedopt_trainer_sched *s, size_t k);
/* All K rates into lr. */
void schedopt_trainer_fill(const schedopt_trainer_sched *s, double *lr);
/* The same formula with real K, W, D and counter x (type T of
 * schedopt_trainer_types; NAN otherwise): at integers the trainer's rates,
 * between them what a continuous-time model integrates (the control family
 * "trainer" of control.h). */
double schedopt_trainer_lr_at(const schedopt_trainer_type *T, double K, double W, double D,
                              double peak, double floor, double x);
/* The type names, in the order of schedopt_trainer_types (NULL-terminated). */
extern const char *const schedopt_trainer_type_names[];

/* One line: "Megatron-LM WSD minus_sqrt: warmup 2160, peak 0.0003 until
 * step 30000, then a minus_sqrt anneal over 8146 steps to 3e-05". */
void schedopt_trainer_describe(const schedopt_trainer_sched *s, char *buf, size_t cap);

/* What the trainer reads, with comments that say how it was checked:
 *   megatron    a bash array SCHEDOPT_LR_ARGS of pretrain_gpt.py flags
 *   torchtitan  a TOML fragment ([training] steps, [lr_scheduler], lr)
 *   olmo_core   a Python fragment building the scheduler and the duration
 *   nanogpt     a config file for train.py (python train.py config/...)
 *   deepspeed   the JSON blocks of the DeepSpeed config ("scheduler", and the
 *               optimizer's lr that the scheduler scales)
 * global_batch > 0 adds the trainer's batch setting where it has one
 * (Megatron --global-batch-size). */
schedopt_status schedopt_trainer_write(FILE *fp, const schedopt_trainer_sched *s,
                                       const char *title, double global_batch,
                                       schedopt_error *err);
/* The file name a writer's output usually gets ("megatron_flags.sh",
 * "torchtitan.toml", "olmo_core_scheduler.py", "nanogpt_config.py",
 * "deepspeed_config.json"). */
const char *schedopt_trainer_file_name(const char *trainer);

#ifdef __cplusplus
}
#endif
#endif
