/* export_python.c — the table as Python: a PyTorch module (LambdaLR), a
 * nanoGPT get_lr and a Hugging Face Trainer module.  The generated code
 * needs only the standard library; torch is imported inside the functions
 * that build optimizers and schedulers. */
#include <math.h>
#include <string.h>

#include "export/export_impl.h"
#include "schedopt/version.h"

/* A Python string literal. */
static void py_str(FILE *fp, const char *s) {
  fputc('"', fp);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(fp, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", fp);
    else if (c < 0x20 || c == 0x7f)
      fprintf(fp, "\\x%02x", c);
    else
      fputc(c, fp);
  }
  fputc('"', fp);
}

/* Text inside a """docstring""" or after '# ': no backslashes or quotes that
 * could end it, newlines continue with `cont`. */
static void py_text(FILE *fp, const char *s, const char *cont) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\n')
      fputs(cont, fp);
    else if (c == '"')
      fputc('\'', fp);
    else if (c == '\\')
      fputc('/', fp);
    else if (c >= 0x20 && c != 0x7f)
      fputc(c, fp);
  }
}

enum { COL_STEP, COL_SAMPLES, COL_LR, COL_BATCH, COL_MOMENTUM, COL_LOSS, COL_MULT };

static double col(const schedopt_row *r, int c, double sc, double peak) {
  switch (c) {
  case COL_STEP: return r->step;
  case COL_SAMPLES: return r->samples;
  case COL_LR: return r->u.lr * sc;
  case COL_BATCH: return r->u.batch;
  case COL_MOMENTUM: return r->u.momentum;
  case COL_LOSS: return r->r.loss;
  default: return r->u.lr * sc / peak;
  }
}

static void py_tuple(FILE *fp, const char *name, const schedopt_export_table *t, int c, double sc,
                     double peak) {
  fprintf(fp, "%s = (", name);
  for (size_t i = 0; i < t->n; i++) {
    if (i % 8 == 0) fputs("\n   ", fp);
    fprintf(fp, " %.15g,", col(&t->rows[i], c, sc, peak));
  }
  fputs("\n)\n\n", fp);
}

/* Linear interpolation in a sorted tuple, clamped at the ends. */
static const char *py_interp =
    "def _interp(xs, ys, x):\n"
    "    \"\"\"ys at x, linear between the table's rows, clamped outside them.\"\"\"\n"
    "    if x <= xs[0]:\n"
    "        return ys[0]\n"
    "    if x >= xs[-1]:\n"
    "        return ys[-1]\n"
    "    i = _bisect_right(xs, x)  # xs[i - 1] <= x < xs[i]\n"
    "    x0, x1 = xs[i - 1], xs[i]\n"
    "    if x1 <= x0:\n"
    "        return ys[i]\n"
    "    w = (x - x0) / (x1 - x0)\n"
    "    return ys[i - 1] + w * (ys[i] - ys[i - 1])\n\n\n";

static void table_summary(FILE *fp, const schedopt_export_table *t, const char *cont) {
  const schedopt_row *last = &t->rows[t->n - 1];
  fprintf(fp, "%zu rows over %.15g optimizer steps, %.15g samples", t->n, last->step,
          last->samples);
  if (t->seq_len > 1) fprintf(fp, ", %.15g tokens (%.15g per sample)", last->samples * t->seq_len,
                              t->seq_len);
  if (schedopt_export_batch_constant(t))
    fprintf(fp, ";%sbatch %.15g samples per step", cont, t->rows[0].u.batch);
  else
    fprintf(fp, ";%sthe batch size varies (BATCH, batch_at)", cont);
}

/* The module shared by the pytorch and hf formats. */
static void py_module(FILE *fp, schedopt_export_format f, const schedopt_export_table *t,
                      double sc, double peak) {
  const int hf = f == SCHEDOPT_EXPORT_HF;
  const int mom = schedopt_export_has_momentum(t);
  const schedopt_row *last = &t->rows[t->n - 1];
  fputs("\"\"\"Learning-rate schedule '", fp);
  py_text(fp, schedopt_export_name(t), " ");
  fputs("' (", fp);
  py_text(fp, schedopt_export_label(t), " ");
  fprintf(fp, ") from schedopt %s, for %s.\n\n", SCHEDOPT_VERSION,
          hf ? "the Hugging Face Trainer" : "PyTorch");
  if (t->description) {
    py_text(fp, t->description, "\n");
    fputs("\n\n", fp);
  }
  table_summary(fp, t, "\n");
  fprintf(fp, ".\nPeak learning rate in the table: PEAK_LR = %.15g.\n\n", peak);
  if (hf)
    fputs("Usage (save this file as schedopt_schedule.py):\n\n"
          "    import schedopt_schedule as sched\n"
          "    args = TrainingArguments(..., max_steps=sched.TOTAL_STEPS)\n"
          "    trainer = Trainer(model=model, args=args, train_dataset=...,\n"
          "                      optimizers=sched.make_optimizers(model, lr=3e-4))\n\n"
          "make_optimizers returns (optimizer, LambdaLR(optimizer, lr_lambda)); the\n"
          "Trainer steps the scheduler once per optimizer step (after gradient\n"
          "accumulation), and ignores its own warmup and lr_scheduler_type settings\n"
          "when optimizers= is given.  The table's batch size is the global batch:\n"
          "per_device_train_batch_size x gradient_accumulation_steps x devices.\n",
          fp);
  else
    fputs("Usage (save this file as schedopt_schedule.py):\n\n"
          "    import schedopt_schedule as sched\n"
          "    optimizer = torch.optim.SGD(model.parameters(), lr=sched.PEAK_LR)\n"
          "    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, sched.lr_lambda)\n"
          "    for step in range(sched.TOTAL_STEPS):\n"
          "        ...  # forward, backward\n"
          "        optimizer.step()\n"
          "        scheduler.step()\n\n"
          "or scheduler = sched.make_scheduler(optimizer).\n",
          fp);
  fputs("\nlr_lambda(step) = lr_at(step) / PEAK_LR multiplies the optimizer's own\n"
        "learning rate, so another peak (lr=3e-4) keeps the shape.  Optimizer step k\n"
        "(k = 0, 1, ...) uses lr_at(k); between rows values are linear in steps,\n"
        "outside the table they are clamped to its first and last rows.\n",
        fp);
  if (mom)
    fputs("The table also schedules heavy-ball momentum: momentum_at(step), and\n"
          "set_momentum(optimizer, step) for optimizers with a 'momentum' setting.\n",
          fp);
  fputs("\"\"\"\n\nfrom bisect import bisect_right as _bisect_right\n\n", fp);
  fputs("PROBLEM = ", fp);
  py_str(fp, schedopt_export_name(t));
  fputs("\nLABEL = ", fp);
  py_str(fp, schedopt_export_label(t));
  fprintf(fp, "\nGENERATOR = \"schedopt %s\"\n", SCHEDOPT_VERSION);
  fprintf(fp, "SEQ_LEN = %.15g  # tokens per sample\n", t->seq_len);
  fprintf(fp, "PEAK_LR = %.15g\n", peak);
  fprintf(fp, "TOTAL_STEPS = %.0f  # optimizer steps in the table (rounded)\n",
          floor(last->step + 0.5));
  fprintf(fp, "TOTAL_SAMPLES = %.15g\n", last->samples);
  fprintf(fp, "TOTAL_TOKENS = %.15g\n\n", last->samples * t->seq_len);
  fputs("# Columns; STEP and SAMPLES are the optimizer steps taken and samples consumed.\n", fp);
  py_tuple(fp, "STEP", t, COL_STEP, sc, peak);
  py_tuple(fp, "SAMPLES", t, COL_SAMPLES, sc, peak);
  py_tuple(fp, "LR", t, COL_LR, sc, peak);
  py_tuple(fp, "BATCH", t, COL_BATCH, sc, peak);
  py_tuple(fp, "MOMENTUM", t, COL_MOMENTUM, sc, peak);
  if (t->has_loss) {
    fputs("# Predicted loss (full mean-squared error, L = E + tail + sigma^2, no 1/2).\n", fp);
    py_tuple(fp, "LOSS", t, COL_LOSS, sc, peak);
  } else {
    fputs("LOSS = None  # no predicted loss in this table\n\n", fp);
  }
  fputs("\n", fp);
  fputs(py_interp, fp);
  fputs("def lr_at(step):\n"
        "    \"\"\"Learning rate for optimizer step `step` (0-based).\"\"\"\n"
        "    return _interp(STEP, LR, step)\n\n\n"
        "def lr_lambda(step):\n"
        "    \"\"\"LambdaLR multiplier: lr_at(step) / PEAK_LR.\"\"\"\n"
        "    return _interp(STEP, LR, step) / PEAK_LR\n\n\n"
        "def batch_at(step):\n"
        "    \"\"\"Batch size (samples per step) at step `step`.\"\"\"\n"
        "    return _interp(STEP, BATCH, step)\n\n\n"
        "def momentum_at(step):\n"
        "    \"\"\"Heavy-ball momentum at step `step`.\"\"\"\n"
        "    return _interp(STEP, MOMENTUM, step)\n\n\n"
        "def loss_at(step):\n"
        "    \"\"\"Predicted loss after `step` steps (None without a prediction).\"\"\"\n"
        "    return None if LOSS is None else _interp(STEP, LOSS, step)\n\n\n"
        "def samples_at(step):\n"
        "    \"\"\"Samples consumed after `step` steps.\"\"\"\n"
        "    return _interp(STEP, SAMPLES, step)\n\n\n"
        "def tokens_at(step):\n"
        "    \"\"\"Tokens consumed after `step` steps.\"\"\"\n"
        "    return SEQ_LEN * _interp(STEP, SAMPLES, step)\n\n\n"
        "def step_at_samples(samples):\n"
        "    \"\"\"Steps taken when `samples` samples are consumed.\"\"\"\n"
        "    return _interp(SAMPLES, STEP, samples)\n\n\n"
        "def step_at_tokens(tokens):\n"
        "    \"\"\"Steps taken when `tokens` tokens are consumed.\"\"\"\n"
        "    return _interp(SAMPLES, STEP, tokens / SEQ_LEN)\n\n\n"
        "def make_scheduler(optimizer, last_epoch=-1):\n"
        "    \"\"\"torch.optim.lr_scheduler.LambdaLR driven by this table.\"\"\"\n"
        "    from torch.optim.lr_scheduler import LambdaLR\n"
        "    return LambdaLR(optimizer, lr_lambda, last_epoch=last_epoch)\n\n\n"
        "def set_momentum(optimizer, step):\n"
        "    \"\"\"Set momentum_at(step) in every parameter group that has 'momentum'.\"\"\"\n"
        "    for group in optimizer.param_groups:\n"
        "        if \"momentum\" in group:\n"
        "            group[\"momentum\"] = momentum_at(step)\n",
        fp);
  if (hf)
    fputs("\n\n"
          "def make_optimizers(model, lr=PEAK_LR, optimizer_cls=None, **kwargs):\n"
          "    \"\"\"(optimizer, scheduler) for Trainer(optimizers=...): optimizer_cls\n"
          "    (default torch.optim.AdamW) at peak learning rate `lr` over the model's\n"
          "    trainable parameters, and a LambdaLR following this table.\"\"\"\n"
          "    import torch\n"
          "    from torch.optim.lr_scheduler import LambdaLR\n"
          "    if optimizer_cls is None:\n"
          "        optimizer_cls = torch.optim.AdamW\n"
          "    params = [p for p in model.parameters() if p.requires_grad]\n"
          "    optimizer = optimizer_cls(params, lr=lr, **kwargs)\n"
          "    return optimizer, LambdaLR(optimizer, lr_lambda)\n",
          fp);
}

/* nanoGPT: a get_lr(it) that replaces the one in train.py. */
static void py_nanogpt(FILE *fp, const schedopt_export_table *t, double sc, double peak) {
  fputs("# Learning-rate schedule '", fp);
  py_text(fp, schedopt_export_name(t), " ");
  fputs("' (", fp);
  py_text(fp, schedopt_export_label(t), " ");
  fprintf(fp, ") from schedopt %s, as nanoGPT's get_lr.\n# ", SCHEDOPT_VERSION);
  if (t->description) {
    py_text(fp, t->description, "\n# ");
    fputs("\n# ", fp);
  }
  table_summary(fp, t, "\n# ");
  fprintf(fp,
          ".\n#\n"
          "# Paste this in place of get_lr in train.py (keep decay_lr = True) and set\n"
          "# max_iters = %.0f.  get_lr(it) = learning_rate * multiplier(it): inside\n"
          "# train.py `learning_rate` is nanoGPT's setting and plays the peak; run on its\n"
          "# own (no global learning_rate) it is this table's peak, %.15g.  Iteration it\n"
          "# (0-based) uses get_lr(it); between rows values are linear in it, outside the\n"
          "# table they are clamped.\n",
          floor(t->rows[t->n - 1].step + 0.5), peak);
  if (!schedopt_export_batch_constant(t))
    fputs("# The batch size varies: nanoGPT keeps it fixed, so this table applies only if\n"
          "# you also change batch_size / gradient_accumulation_steps per iteration\n"
          "# (schedopt export --format pytorch gives batch_at(step)).\n",
          fp);
  fputs("from bisect import bisect_right as _schedopt_bisect\n\n", fp);
  fprintf(fp, "_SCHEDOPT_PEAK_LR = %.15g\n", peak);
  py_tuple(fp, "_SCHEDOPT_STEP", t, COL_STEP, sc, peak);
  fputs("# learning rate / peak\n", fp);
  py_tuple(fp, "_SCHEDOPT_MULT", t, COL_MULT, sc, peak);
  fputs("\ndef get_lr(it):\n"
        "    peak = globals().get(\"learning_rate\", _SCHEDOPT_PEAK_LR)\n"
        "    xs, ys = _SCHEDOPT_STEP, _SCHEDOPT_MULT\n"
        "    if it <= xs[0]:\n"
        "        return peak * ys[0]\n"
        "    if it >= xs[-1]:\n"
        "        return peak * ys[-1]\n"
        "    i = _schedopt_bisect(xs, it)  # xs[i - 1] <= it < xs[i]\n"
        "    x0, x1 = xs[i - 1], xs[i]\n"
        "    if x1 <= x0:\n"
        "        return peak * ys[i]\n"
        "    w = (it - x0) / (x1 - x0)\n"
        "    return peak * (ys[i - 1] + w * (ys[i] - ys[i - 1]))\n",
        fp);
}

schedopt_status schedopt_export_write_python(FILE *fp, schedopt_export_format f,
                                    const schedopt_export_table *t,
                                    const schedopt_export_options *o, schedopt_error *err) {
  (void)err;
  const double sc = schedopt_export_lr_scale(t, o);
  const double peak = schedopt_export_lr_max(t) * sc;
  if (f == SCHEDOPT_EXPORT_NANOGPT)
    py_nanogpt(fp, t, sc, peak);
  else
    py_module(fp, f, t, sc, peak);
  return SCHEDOPT_OK;
}
