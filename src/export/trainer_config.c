/* trainer_config.c — what a trainer reads to run a built-in schedule
 * (schedopt/trainer.h): Megatron-LM flags, a torchtitan TOML fragment, an
 * OLMo-core Python fragment, a nanoGPT config file.  Rates are printed with
 * 17 significant digits, so the trainer parses the very doubles schedopt
 * evaluated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/trainer.h"
#include "schedopt/version.h"

const char *schedopt_trainer_file_name(const char *trainer) {
  if (!trainer) return NULL;
  if (!strcmp(trainer, "megatron")) return "megatron_flags.sh";
  if (!strcmp(trainer, "torchtitan")) return "torchtitan.toml";
  if (!strcmp(trainer, "olmo_core")) return "olmo_core_scheduler.py";
  if (!strcmp(trainer, "nanogpt")) return "nanogpt_config.py";
  if (!strcmp(trainer, "deepspeed")) return "deepspeed_config.json";
  return NULL;
}

/* A control character (a carriage return ends a line for Python and TOML;
 * JSON strings take none) prints as a space. */
static int printable(char ch) { return (unsigned char)ch >= 0x20 && ch != 0x7f; }

static void comment_lines(FILE *fp, const char *c, const char *text) {
  fprintf(fp, "%s ", c);
  for (const char *p = text; *p; p++) {
    if (*p == '\n') fprintf(fp, "\n%s ", c);
    else fputc(printable(*p) ? *p : ' ', fp);
  }
  fputc('\n', fp);
}

/* text inside a JSON string: no quote, backslash or control character */
static void json_text(FILE *fp, const char *text) {
  for (const char *q = text; *q; q++)
    if (*q != '"' && *q != '\\') fputc(printable(*q) ? *q : ' ', fp);
}

/* x in the fewest significant digits (≥ 1, ≤ 17) that read back as x:
 * 3e-4 prints as 0.0003, not 0.00029999999999999997. */
typedef struct numbuf {
  char s[40];
} numbuf;
static numbuf num(double x) {
  numbuf b;
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b.s, sizeof b.s, "%.*g", prec, x);
    if (strtod(b.s, NULL) == x) break;
  }
  return b;
}

/* The smallest decay_ratio with ≤ 17 digits for which Python's
 * round(K·ratio) gives D (round half to even: stay away from halves). */
static double decay_ratio(size_t K, size_t D) {
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)D / (double)K);
    double r = strtod(buf, NULL), x = (double)K * r;
    if (fabs(x - (double)D) < 0.25) return r;
  }
  return (double)D / (double)K;
}

schedopt_status schedopt_trainer_write(FILE *fp, const schedopt_trainer_sched *s,
                                       const char *title, double global_batch,
                                       schedopt_error *err) {
  schedopt_status st = schedopt_trainer_check(s, err);
  if (st) return st;
  const schedopt_trainer_type *T = s->type;
  char desc[512];
  schedopt_trainer_describe(s, desc, sizeof desc);
  const size_t K = s->steps, W = s->warmup, D = s->decay;
  const char *tr = T->trainer;
  if (!strcmp(tr, "deepspeed")) { /* JSON: no comments; the blocks to merge into ds_config */
    const char *cls = T->style;
    fputs("{\n", fp);
    fputs("  \"_schedopt\": \"", fp);
    json_text(fp, title ? title : "learning-rate schedule");
    fputs("; ", fp);
    json_text(fp, desc);
    fprintf(fp, ". The engine steps the scheduler after each optimizer step: run %zu "
                "steps; merge 'scheduler' (and the optimizer's lr) into the DeepSpeed "
                "config. From schedopt %s.\",\n",
            K, SCHEDOPT_VERSION);
    fprintf(fp, "  \"optimizer\": {\"params\": {\"lr\": %s}},\n", num(s->peak).s);
    fprintf(fp, "  \"scheduler\": {\n    \"type\": \"%s\",\n    \"params\": {\n", cls);
    if (!strcmp(cls, "WarmupCosineLR")) {
      fprintf(fp, "      \"total_num_steps\": %zu,\n      \"warmup_min_ratio\": 0.0,\n"
                  "      \"warmup_num_steps\": %zu,\n      \"cos_min_ratio\": %s,\n",
              W + D, W, num(s->floor / s->peak).s);
    } else {
      if (T->has_decay) fprintf(fp, "      \"total_num_steps\": %zu,\n", W + D);
      fprintf(fp, "      \"warmup_min_lr\": 0.0,\n      \"warmup_max_lr\": %s,\n"
                  "      \"warmup_num_steps\": %zu,\n",
              num(s->peak).s, W);
    }
    fputs("      \"warmup_type\": \"linear\"\n    }\n  }\n}\n", fp);
    return ferror(fp) ? schedopt_error_set(err, SCHEDOPT_EIO, "writing the trainer config failed")
                      : SCHEDOPT_OK;
  }
  char head[1024];
  snprintf(head, sizeof head, "%s, from schedopt %s.", title ? title : "learning-rate schedule",
           SCHEDOPT_VERSION);
  comment_lines(fp, "#", head); /* bash, TOML and Python alike */
  comment_lines(fp, "#", desc);
  if (!strcmp(tr, "megatron")) {
    const int wsd = !strncmp(T->style, "WSD", 3);
    const char *style = wsd ? "WSD" : T->style;
    fprintf(fp,
            "# Megatron performs %zu iterations; iteration k (0-based) uses the rate of\n"
            "# OptimizerParamScheduler.get_lr after k iterations, as schedopt evaluated it.\n"
            "# Use: source this file, then pass \"${SCHEDOPT_LR_ARGS[@]}\" to pretrain_gpt.py.\n",
            K);
    fputs("SCHEDOPT_LR_ARGS=(\n", fp);
    fprintf(fp, "  --lr %s\n  --min-lr %s\n", num(s->peak).s, num(T->has_floor ? s->floor : 0.0).s);
    fprintf(fp, "  --lr-decay-style %s\n", style);
    if (wsd) fprintf(fp, "  --lr-wsd-decay-style %s\n", T->style + 4);
    fprintf(fp, "  --train-iters %zu\n", K);
    fprintf(fp, "  --lr-decay-iters %zu\n", wsd || !T->has_decay ? K : W + D);
    fprintf(fp, "  --lr-warmup-iters %zu\n", W);
    fputs("  --lr-warmup-init 0\n", fp);
    if (wsd) fprintf(fp, "  --lr-wsd-decay-iters %zu\n", D);
    if (global_batch > 0 && global_batch == floor(global_batch) && global_batch < 9.007e15)
      fprintf(fp, "  --global-batch-size %.0f\n", global_batch);
    fputs(")\n", fp);
  } else if (!strcmp(tr, "torchtitan")) {
    const double r = decay_ratio(K, D), m = s->floor / s->peak;
    fprintf(fp,
            "# torchtitan performs training.steps = %zu steps; step k (0-based) uses\n"
            "# lr x linear_warmup_stable_decay(k) (components/lr_scheduler.py, LambdaLR).\n"
            "# Merge into the job's TOML file.  round(steps * decay_ratio) = %zu decay steps.\n",
            K, D);
    fprintf(fp, "[training]\nsteps = %zu\n\n[optimizer]\nlr = %s\n\n", K, num(s->peak).s);
    fprintf(fp, "[lr_scheduler]\nwarmup_steps = %zu\ndecay_ratio = %s\ndecay_type = \"%s\"\n"
                "min_lr_factor = %s\n",
            W, num(r).s, T->style, num(m).s);
  } else if (!strcmp(tr, "olmo_core")) {
    fprintf(fp,
            "# OLMo-core performs max_duration = %zu steps; step k (0-based) uses\n"
            "# Scheduler.get_lr(lr, k + 1, %zu) (the Trainer counts global_step up first).\n"
            "# Pass `scheduler` to the train module config and set the optimizer's lr.\n",
            K, K);
    fputs("from olmo_core.optim.scheduler import ", fp);
    if (!strcmp(T->style, "WSD")) {
      fputs("WSD\nfrom olmo_core.train import Duration\n\n", fp);
      fprintf(fp, "lr = %s\n", num(s->peak).s);
      fprintf(fp, "scheduler = WSD(warmup=%zu, decay=%zu, decay_fraction=None, "
                  "warmup_min_lr=0.0, decay_min_lr=%s)\n",
              W, D, num(s->floor).s);
    } else {
      fprintf(fp, "%s\nfrom olmo_core.train import Duration\n\n", T->style);
      fprintf(fp, "lr = %s\n", num(s->peak).s);
      fprintf(fp, "scheduler = %s(warmup=%zu, alpha_f=%s, warmup_min_lr=0.0)\n", T->style, W,
              num(s->floor / s->peak).s);
    }
    fprintf(fp, "max_duration = Duration.steps(%zu)\n", K);
  } else { /* nanogpt */
    fprintf(fp,
            "# nanoGPT's train.py performs iterations 0 ... max_iters, i.e. max_iters + 1 = %zu\n"
            "# optimizer steps; iteration k uses get_lr(k).  Use: python train.py THIS_FILE\n",
            K);
    fprintf(fp, "learning_rate = %s\nmin_lr = %s\ndecay_lr = True\nwarmup_iters = %zu\n"
                "lr_decay_iters = %zu\nmax_iters = %zu\n",
            num(s->peak).s, num(s->floor).s, W, W + D, K - 1);
  }
  if (ferror(fp)) return schedopt_error_set(err, SCHEDOPT_EIO, "writing the trainer config failed");
  return SCHEDOPT_OK;
}
