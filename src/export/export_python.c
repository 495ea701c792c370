/* export_python.c — the table as Python: a PyTorch module (LambdaLR), a
 * nanoGPT get_lr, and the module with the hook of the Hugging Face Trainer,
 * torchtitan, OLMo-core or DeepSpeed.  The generated code needs only the
 * standard library; torch and the trainers are imported inside the functions
 * that build optimizers and schedulers.
 *
 * Exact at every step: the learning rate is either the closed form of the
 * schedule's family (a transcription of src/dynamics/control.c, evaluated at
 * the step's clock time as schedopt evaluates it) or the fewest of the
 * table's rows through which linear interpolation reproduces every row to
 * 1e-12 of the peak (a per-step table: every step). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dynamics/control_impl.h"
#include "export/export_impl.h"
#include "schedopt/version.h"

/* Interpolation error allowed at a row, relative to the column's largest
 * magnitude: below the 1e-12 promised, leaving room for the rounding of the
 * interpolation itself. */
#define BREAK_TOL 2e-13
/* The predicted loss: to 1e-7 of its largest value. */
#define LOSS_TOL 1e-7

/* Text with '@' standing for the prefix of module-level names ("" in a
 * module, "_schedopt_" in nanoGPT's train.py, whose globals it joins). */
static void emit(FILE *fp, const char *pre, const char *text) {
  for (; *text; text++)
    if (*text == '@')
      fputs(pre, fp);
    else
      fputc(*text, fp);
}

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

/* A double that reads back to the same double. */
static void py_num(FILE *fp, double x) {
  char buf[40];
  for (int prec = 15; prec <= 17; prec++) { /* the shortest that reads back */
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  fputs(buf, fp);
  if (!strpbrk(buf, ".eEn")) fputs(".0", fp); /* a float, not an int */
}

static void py_nums(FILE *fp, const double *v, size_t n, size_t stride) {
  fputc('(', fp);
  for (size_t i = 0; i < n; i++) {
    if (i % 6 == 0) fputs("\n   ", fp);
    fputc(' ', fp);
    py_num(fp, v[i * stride]);
    fputc(',', fp);
  }
  fputs("\n)", fp);
}

/* ---- what the module knows -------------------------------------------------- */

enum { COL_STEP, COL_SAMPLES, COL_LR, COL_BATCH, COL_MOMENTUM, COL_LOSS, NCOL };

typedef struct pyctx {
  FILE *fp;
  schedopt_export_format f;
  const schedopt_export_table *t;
  double sc, peak;       /* lr scale, largest scaled lr */
  const char *pre;       /* names' prefix */
  /* the closed form (ctl != NULL): lr(step) = sc·ctl(min(step·dt, H)) */
  const schedopt_control *ctl;
  double dt, H;
  double *col[NCOL];     /* the columns (lr scaled) */
  size_t *keep;          /* room for n */
} pyctx;

static int builtin_family(const schedopt_control *c) {
  for (size_t i = 0; schedopt_control_types[i]; i++)
    if (schedopt_control_types[i] == c->type) return 1;
  return 0;
}

/* The lr control of o->schedule, when its closed form can be written: a
 * built-in family and a fixed clock per step. */
static const schedopt_control *closed_form(const schedopt_export_table *t,
                                           const schedopt_export_options *o, double *dt,
                                           double *H) {
  const schedopt_schedule *s = o ? o->schedule : NULL;
  if (!s || schedopt_schedule_clock(s) != t->clock) return NULL;
  const schedopt_control *lr = schedopt_schedule_get(s, SCHEDOPT_LR);
  if (!lr || !builtin_family(lr)) return NULL;
  *H = schedopt_schedule_horizon(s);
  if (t->clock == SCHEDOPT_CLOCK_STEPS) {
    *dt = 1;
  } else {
    const schedopt_control *bc = schedopt_schedule_get(s, SCHEDOPT_BATCH);
    if (!bc || schedopt_control_get_type(bc) != schedopt_control_constant) return NULL;
    *dt = schedopt_control_eval(bc, *H, 0, NULL) * schedopt_schedule_units_per_sample(s);
  }
  return *dt > 0 && isfinite(*dt) ? lr : NULL;
}

static double colmax(const pyctx *P, int c) {
  double m = 0;
  for (size_t i = 0; i < P->t->n; i++) m = fmax(m, fabs(P->col[c][i]));
  return m;
}

/* NAME_X / NAME_Y (or the names given) as the breakpoints of columns cs[0..nc)
 * against the step column. */
static void py_breaks(pyctx *P, const int *cs, size_t nc, const char *const *names) {
  const double *ys[4];
  double tol[4];
  for (size_t k = 0; k < nc; k++) {
    ys[k] = P->col[cs[k]];
    /* the predicted loss is a model's, far from 1e-12: 1e-7 keeps it small */
    tol[k] = (cs[k] == COL_LOSS ? LOSS_TOL : BREAK_TOL) * colmax(P, cs[k]);
  }
  /* rows at the same step (a jump's left limit on a data clock) keep the first */
  size_t n = P->t->n;
  size_t m = schedopt_export_breakpoints(P->col[COL_STEP], ys, nc, n, tol, P->keep);
  double *v = malloc((m ? m : 1) * sizeof *v);
  for (size_t k = 0; k <= nc; k++) {
    const double *src = k == 0 ? P->col[COL_STEP] : ys[k - 1];
    for (size_t i = 0; v && i < m; i++) v[i] = src[P->keep[i]];
    emit(P->fp, P->pre, names[k]);
    fputs(" = ", P->fp);
    if (v) py_nums(P->fp, v, m, 1);
    fputs("\n", P->fp);
  }
  fputs("\n", P->fp);
  free(v);
}

/* ---- the learning rate in closed form ----------------------------------------- */

/* The family as a dict of its parameters (by the names of control.c). */
static void py_control(pyctx *P) {
  FILE *fp = P->fp;
  const schedopt_control *c = P->ctl;
  const schedopt_control_type *T = c->type;
  emit(fp, P->pre, "_@LR_CONTROL = {\n    \"family\": ");
  py_str(fp, T->name);
  for (size_t i = 0; i < T->nparams; i++) {
    fputs(",\n    ", fp);
    py_str(fp, T->params[i].name);
    fputs(": ", fp);
    if (T->params[i].choices)
      py_str(fp, T->params[i].choices[(int)c->p[i]]);
    else
      py_num(fp, c->p[i]);
  }
  fputs(",\n    \"warmup\": ", fp);
  py_num(fp, c->warmup);
  fputs(",\n    \"warmup_init\": ", fp);
  py_num(fp, c->warmup_init);
  if (T->needs_table == 1) {
    fputs(",\n    \"t\": ", fp);
    py_nums(fp, c->t, c->n, 1);
    fputs(",\n    \"v\": ", fp);
    py_nums(fp, c->v, c->n, 1);
  } else if (T->needs_table == 2) {
    fputs(",\n    \"milestones\": ", fp);
    py_nums(fp, c->t, c->v ? c->n : 0, 1);
    fputs(",\n    \"factors\": ", fp);
    if (c->v)
      py_nums(fp, c->v, c->n + 1, 1);
    else
      fputs("(1.0,)", fp);
  }
  fputs(",\n}\n", fp);
  emit(fp, P->pre, "_@H = ");
  py_num(fp, P->H);
  fputs("  # the horizon, in clock units\n", fp);
  emit(fp, P->pre, "_@CLOCK_PER_STEP = ");
  py_num(fp, P->dt);
  fputs("  # clock units per optimizer step\n", fp);
  emit(fp, P->pre, "_@LR_SCALE = ");
  py_num(fp, P->sc);
  fputs("  # peak_lr / the schedule's largest rate (1: as designed)\n\n", fp);
}

/* The families of src/dynamics/control.c, term by term in the same order
 * (IEEE doubles and the same libm: the same numbers). */
static const char *py_families =
    "def _@progress(w, H, t):\n"
    "    \"\"\"Post-warmup progress u = (t - w) / (H - w), clamped to [0, 1].\"\"\"\n"
    "    if not H > w:\n"
    "        return 0.0\n"
    "    u = (t - w) / (H - w)\n"
    "    return 0.0 if u < 0 else (1.0 if u > 1 else u)\n\n\n"
    "def _@pow1m(x, d):\n"
    "    y = 1 - x\n"
    "    return _@math.pow(y, d) if y > 0 else 0.0\n\n\n"
    "def _@count_le(xs, scale, t):\n"
    "    \"\"\"Number of scale * x_i <= t in the sorted xs.\"\"\"\n"
    "    lo, hi = 0, len(xs)\n"
    "    while lo < hi:\n"
    "        mid = (lo + hi) // 2\n"
    "        if scale * xs[mid] <= t:\n"
    "            lo = mid + 1\n"
    "        else:\n"
    "            hi = mid\n"
    "    return lo\n\n\n"
    "def _@family(c, w, H, t):\n"
    "    \"\"\"The family's value at clock time t >= w (w: end of the warmup).\"\"\"\n"
    "    f = c[\"family\"]\n"
    "    if f == \"constant\":\n"
    "        return c[\"value\"]\n"
    "    if f == \"cosine\":  # floor + (peak - floor)(1 + cos(pi u))/2\n"
    "        u = _@progress(w, H, t)\n"
    "        return c[\"floor\"] + (c[\"peak\"] - c[\"floor\"]) * ((1 + _@math.cos(_@math.pi * u)) / 2)\n"
    "    if f == \"linear\":  # start + (end - start) u\n"
    "        u = _@progress(w, H, t)\n"
    "        return c[\"start\"] + (c[\"end\"] - c[\"start\"]) * u\n"
    "    if f == \"exponential\":  # start^(1-u) end^u\n"
    "        u = _@progress(w, H, t)\n"
    "        return _@math.pow(c[\"start\"], 1 - u) * _@math.pow(c[\"end\"], u)\n"
    "    if f == \"wsd\":  # peak until t_d = H(1 - decay_frac), then shape(z)\n"
    "        pk, fl = c[\"peak\"], c[\"floor\"]\n"
    "        td = H * (1 - c[\"decay_frac\"])\n"
    "        L = H - td\n"
    "        if t < td or not L > 0:\n"
    "            return pk\n"
    "        z = (t - td) / L\n"
    "        if z >= 1:\n"
    "            z = 1.0\n"
    "        shape = c[\"shape\"]\n"
    "        if shape == \"exponential\":\n"
    "            return _@math.pow(pk, 1 - z) * _@math.pow(fl, z)\n"
    "        if shape == \"cosine\":\n"
    "            s = (1 + _@math.cos(_@math.pi * z)) / 2\n"
    "        elif shape == \"sqrt\":\n"
    "            s = 1 - _@math.sqrt(z)\n"
    "        elif shape == \"power\":\n"
    "            s = _@pow1m(z, c[\"delta\"])\n"
    "        else:\n"
    "            s = 1 - z\n"
    "        return fl + (pk - fl) * s\n"
    "    if f == \"multistep\":  # peak factors[i] on [H m_(i-1), H m_i)\n"
    "        return c[\"peak\"] * c[\"factors\"][_@count_le(c[\"milestones\"], H, t)]\n"
    "    if f == \"811\":\n"
    "        return c[\"peak\"] * (1.0, 0.31622776601683794, 0.1)[_@count_le((0.8, 0.9), H, t)]\n"
    "    if f == \"power\":  # peak (1 + (t - w)/t0)^(-chi)\n"
    "        x = t - w\n"
    "        if x < 0:\n"
    "            x = 0.0\n"
    "        return c[\"peak\"] * _@math.pow(1 + x / c[\"t0\"], -c[\"chi\"])\n"
    "    if f == \"polynomial\":  # floor + (peak - floor)(1 - u)^delta\n"
    "        u = _@progress(w, H, t)\n"
    "        return c[\"floor\"] + (c[\"peak\"] - c[\"floor\"]) * _@pow1m(u, c[\"delta\"])\n"
    "    if f == \"table\":  # scale * the points (t_i, v_i) interpolated, clamped\n"
    "        ts, vs = c[\"t\"], c[\"v\"]\n"
    "        k = _@count_le(ts, 1.0, t)\n"
    "        if c[\"interp\"] == \"step\" or k == 0 or k == len(ts):\n"
    "            g = vs[k - 1 if k else 0]\n"
    "        else:\n"
    "            j = k - 1\n"
    "            th = (t - ts[j]) / (ts[j + 1] - ts[j])\n"
    "            g = (1 - th) * vs[j] + th * vs[j + 1]\n"
    "        return c[\"scale\"] * g\n"
    "    raise ValueError(\"unknown family \" + repr(f))\n\n\n"
    "def _@control(c, H, t):\n"
    "    \"\"\"The control at clock time t: on [0, w) the linear warmup from\n"
    "    warmup_init * f(w) to f(w), then the family.\"\"\"\n"
    "    w, wi = c[\"warmup\"], c[\"warmup_init\"]\n"
    "    if w > 0 and t < w:\n"
    "        return _@family(c, w, H, w) * (wi + (1 - wi) * t / w)\n"
    "    return _@family(c, w, H, t)\n\n\n";

/* Linear interpolation in a sorted tuple, clamped at the ends. */
static const char *py_interp =
    "def _@interp(xs, ys, x):\n"
    "    \"\"\"ys at x, linear between breakpoints, clamped outside them.\"\"\"\n"
    "    if x <= xs[0]:\n"
    "        return ys[0]\n"
    "    if x >= xs[-1]:\n"
    "        return ys[-1]\n"
    "    i = _@bisect(xs, x)  # xs[i - 1] <= x < xs[i]\n"
    "    x0, x1 = xs[i - 1], xs[i]\n"
    "    if x1 <= x0:\n"
    "        return ys[i]\n"
    "    w = (x - x0) / (x1 - x0)\n"
    "    return ys[i - 1] + w * (ys[i] - ys[i - 1])\n\n\n";

/* The learning rate: lr_at(step), exact at every step. */
static void py_lr(pyctx *P) {
  FILE *fp = P->fp;
  emit(fp, P->pre, py_interp);
  if (P->ctl) {
    emit(fp, P->pre, "# The learning rate in closed form: the schedule's family with its parameters.\n");
    py_control(P);
    emit(fp, P->pre, py_families);
    emit(fp, P->pre,
         "def @lr_at(step):\n"
         "    \"\"\"Learning rate of optimizer step `step` (0-based): the schedule at\n"
         "    clock time step * _@CLOCK_PER_STEP, clamped to [0, horizon].\"\"\"\n"
         "    t = step * _@CLOCK_PER_STEP\n"
         "    if t > _@H:\n"
         "        t = _@H\n"
         "    if t < 0:\n"
         "        t = 0.0\n"
         "    return _@LR_SCALE * _@control(_@LR_CONTROL, _@H, t)\n\n\n");
  } else {
    emit(fp, P->pre,
         "# The learning rate at breakpoints (steps): linear between them, it is\n"
         "# every row of the table to 1e-12 of the peak.\n");
    const int cs[] = {COL_LR};
    const char *names[] = {"_@LR_STEP", "_@LR"};
    py_breaks(P, cs, 1, names);
    emit(fp, P->pre,
         "def @lr_at(step):\n"
         "    \"\"\"Learning rate of optimizer step `step` (0-based).\"\"\"\n"
         "    return _@interp(_@LR_STEP, _@LR, step)\n\n\n");
  }
}

/* ---- the module ------------------------------------------------------------------ */

static const char *trainer_name(schedopt_export_format f) {
  switch (f) {
  case SCHEDOPT_EXPORT_HF: return "the Hugging Face Trainer";
  case SCHEDOPT_EXPORT_TORCHTITAN: return "torchtitan";
  case SCHEDOPT_EXPORT_OLMO_CORE: return "OLMo-core";
  case SCHEDOPT_EXPORT_DEEPSPEED: return "DeepSpeed";
  default: return "PyTorch";
  }
}

static double total_steps(const schedopt_export_table *t) {
  return floor(t->rows[t->n - 1].step + 0.5);
}

static void table_summary(FILE *fp, const schedopt_export_table *t, const char *cont) {
  const schedopt_row *last = &t->rows[t->n - 1];
  fprintf(fp, "%.15g optimizer steps (steps 0 ... %.15g), %.15g samples", total_steps(t),
          total_steps(t) - 1, last->samples);
  if (t->seq_len > 1) fprintf(fp, ", %.15g tokens (%.15g per sample)", last->samples * t->seq_len,
                              t->seq_len);
  if (schedopt_export_batch_constant(t))
    fprintf(fp, ";%sbatch %.15g samples per step", cont, t->rows[0].u.batch);
  else
    fprintf(fp, ";%sthe batch size varies (BATCH, batch_at)", cont);
}

/* 1 if the rows are the steps 0, 1, …, then the end. */
static int every_step(const schedopt_export_table *t) {
  for (size_t i = 0; i + 1 < t->n; i++)
    if (t->rows[i].step != (double)i) return 0;
  return 1;
}

static void exactness(const pyctx *P, const char *cont) {
  FILE *fp = P->fp;
  if (P->ctl) {
    fprintf(fp, "The learning rate is the schedule's closed form (family '%s'): the%s",
            P->ctl->type->name, cont);
    fputs("rate schedopt uses at every step, for any number of steps.", fp);
  } else if (every_step(P->t)) {
    fprintf(fp, "The learning rate is piecewise linear through breakpoints that reproduce%s", cont);
    fputs("the rate of every step to 1e-12 of the peak.", fp);
  } else {
    fprintf(fp, "The learning rate interpolates a grid of the schedule (the batch size%s", cont);
    fputs("varies): exact at the grid's rows, linear between them.", fp);
  }
}

/* The units of the schedule's clock and of its warmup, in steps. */
static void clock_note(const pyctx *P, const char *cont) {
  if (!P->ctl) return;
  FILE *fp = P->fp;
  const char *unit = schedopt_export_clock_name(P->t);
  if (P->t->clock == SCHEDOPT_CLOCK_STEPS)
    fputs(" The schedule counts optimizer steps", fp);
  else
    fprintf(fp, " The schedule counts %s:%sstep k is at k x %.15g %s", unit, cont, P->dt, unit);
  if (P->ctl->warmup > 0)
    fprintf(fp, ";%sits warmup of %.15g %s ends at step %.15g", cont, P->ctl->warmup,
            P->t->clock == SCHEDOPT_CLOCK_STEPS ? "steps" : unit, P->ctl->warmup / P->dt);
  fputs(".", fp);
}

static void usage(const pyctx *P) {
  FILE *fp = P->fp;
  switch (P->f) {
  case SCHEDOPT_EXPORT_HF:
    fputs("Usage (save this file as schedopt_schedule.py):\n\n"
          "    import schedopt_schedule as sched\n"
          "    args = TrainingArguments(..., max_steps=sched.TOTAL_STEPS, learning_rate=3e-4,\n"
          "                             weight_decay=0.1)\n"
          "    trainer = Trainer(model=model, args=args, train_dataset=...,\n"
          "                      optimizers=sched.make_optimizers(model, args=args))\n\n"
          "make_optimizers returns (AdamW, LambdaLR(optimizer, lr_lambda)) with the\n"
          "parameter groups the Trainer builds itself: weight decay on every weight but\n"
          "biases and norm weights (LayerNorm, RMSNorm), and the learning rate, weight\n"
          "decay, betas and epsilon of `args` when given.  The Trainer steps the\n"
          "scheduler once per optimizer step (after gradient accumulation) and ignores\n"
          "its own warmup and lr_scheduler_type when optimizers= is given; it performs\n"
          "max_steps optimizer steps, 0 ... max_steps - 1.  The batch size is the\n"
          "global batch: per_device_train_batch_size x gradient_accumulation_steps x\n"
          "devices.\n",
          fp);
    break;
  case SCHEDOPT_EXPORT_TORCHTITAN:
    fputs("Usage (save this file as schedopt_schedule.py where the training script\n"
          "imports it): build the schedulers with this module instead of torchtitan's\n"
          "components.lr_scheduler.build_lr_schedulers, and set training.steps:\n\n"
          "    import schedopt_schedule as sched\n"
          "    lr_schedulers = sched.build_lr_schedulers(optimizers)\n"
          "    # job config: [training] steps = sched.TOTAL_STEPS, [optimizer] lr = peak\n\n"
          "build_lr_schedulers returns torchtitan's LRSchedulersContainer with one\n"
          "LambdaLR(optimizer, lr_lambda) per optimizer (what torchtitan builds, with\n"
          "this schedule as the lambda; checkpoints save and resume it as usual).  The\n"
          "trainer runs training.steps steps and steps the schedulers after each\n"
          "optimizer step, so step k (0-based) uses lr_lambda(k).\n",
          fp);
    break;
  case SCHEDOPT_EXPORT_OLMO_CORE:
    fputs("Usage (save this file as schedopt_schedule.py):\n\n"
          "    import schedopt_schedule as sched\n"
          "    scheduler = sched.make_olmo_core_scheduler()\n"
          "    trainer_config = TrainerConfig(..., max_duration=Duration.steps(sched.TOTAL_STEPS))\n"
          "    # SchedulerCallback(scheduler=scheduler), or TrainModule(scheduler=...)\n\n"
          "The scheduler is an olmo_core.optim.scheduler.Scheduler whose\n"
          "get_lr(initial_lr, current, t_max) is initial_lr * lr_lambda(current - 1):\n"
          "OLMo-core's trainer counts global_step from 1 (incremented before the batch),\n"
          "so its step `current` is optimizer step current - 1 here.  t_max is not used:\n"
          "the horizon is this schedule's.\n",
          fp);
    break;
  case SCHEDOPT_EXPORT_DEEPSPEED:
    fputs("Usage (save this file as schedopt_schedule.py):\n\n"
          "    import schedopt_schedule as sched\n"
          "    engine, optimizer, _, lr_scheduler = deepspeed.initialize(\n"
          "        model=model, optimizer=optimizer, config=ds_config,\n"
          "        lr_scheduler=sched.deepspeed_lr_scheduler)\n"
          "    for step in range(sched.TOTAL_STEPS): ...  # engine.backward, engine.step\n\n"
          "deepspeed.initialize calls lr_scheduler(optimizer) and steps the scheduler\n"
          "after every optimizer step (at the gradient-accumulation boundary), so step k\n"
          "uses lr_lambda(k); leave \"scheduler\" out of the DeepSpeed config.  Set the\n"
          "optimizer's lr to the peak (PEAK_LR, or your own: the shape is kept).\n",
          fp);
    break;
  default:
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
  }
}

static const char *py_common =
    "def lr_lambda(step):\n"
    "    \"\"\"LambdaLR multiplier: lr_at(step) / PEAK_LR.\"\"\"\n"
    "    return lr_at(step) / PEAK_LR\n\n\n"
    "def batch_at(step):\n"
    "    \"\"\"Batch size (samples per step) at step `step`.\"\"\"\n"
    "    return _interp(BATCH_STEP, BATCH, step)\n\n\n"
    "def momentum_at(step):\n"
    "    \"\"\"Heavy-ball momentum at step `step`.\"\"\"\n"
    "    return _interp(MOMENTUM_STEP, MOMENTUM, step)\n\n\n"
    "def loss_at(step):\n"
    "    \"\"\"Predicted loss after `step` steps (None without a prediction).\"\"\"\n"
    "    return None if LOSS is None else _interp(LOSS_STEP, LOSS, step)\n\n\n"
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
    "    \"\"\"torch.optim.lr_scheduler.LambdaLR following this schedule (last_epoch:\n"
    "    the last step taken, to resume; the optimizer's groups need 'initial_lr').\"\"\"\n"
    "    from torch.optim.lr_scheduler import LambdaLR\n"
    "    return LambdaLR(optimizer, lr_lambda, last_epoch=last_epoch)\n\n\n"
    "def set_momentum(optimizer, step):\n"
    "    \"\"\"Set momentum_at(step) in every parameter group that has 'momentum'.\"\"\"\n"
    "    for group in optimizer.param_groups:\n"
    "        if \"momentum\" in group:\n"
    "            group[\"momentum\"] = momentum_at(step)\n";

/* Hugging Face: the groups of Trainer.create_optimizer (get_decay_parameter_names:
 * no decay on biases, on the parameters of LayerNorm modules and on names that
 * say norm) and the AdamW settings of TrainingArguments. */
static const char *py_hf =
    "\n\n"
    "_NO_DECAY_PATTERNS = (r\"bias\", r\"layernorm\", r\"rmsnorm\", r\"(?:^|\\.)norm(?:$|\\.)\",\n"
    "                      r\"_norm(?:$|\\.)\")\n\n\n"
    "def decay_parameter_names(model):\n"
    "    \"\"\"Names of the parameters the HF Trainer decays: all but biases, the\n"
    "    weights of LayerNorm / RMSNorm modules and names with 'norm' in them (as\n"
    "    Trainer.get_decay_parameter_names).\"\"\"\n"
    "    import re\n"
    "    import torch\n"
    "    norm_types = tuple(t for t in (torch.nn.LayerNorm, getattr(torch.nn, \"RMSNorm\", None))\n"
    "                       if t is not None)\n"
    "    names = []\n"
    "\n"
    "    def walk(module, prefix):\n"
    "        for child_name, child in module.named_children():\n"
    "            if isinstance(child, norm_types) or type(child).__name__.endswith(\"RMSNorm\"):\n"
    "                continue\n"
    "            walk(child, prefix + child_name + \".\")\n"
    "        for name in module._parameters:\n"
    "            if module._parameters[name] is None:\n"
    "                continue\n"
    "            full = prefix + name\n"
    "            if not any(re.search(p, full.lower()) for p in _NO_DECAY_PATTERNS):\n"
    "                names.append(full)\n"
    "\n"
    "    walk(model, \"\")\n"
    "    return names\n\n\n"
    "def make_optimizers(model, lr=None, optimizer_cls=None, args=None, weight_decay=None,\n"
    "                    **kwargs):\n"
    "    \"\"\"(optimizer, scheduler) for Trainer(optimizers=...): optimizer_cls\n"
    "    (default torch.optim.AdamW) over the trainable parameters in two groups,\n"
    "    weight decay on decay_parameter_names(model) and none on the others,\n"
    "    and a LambdaLR following this schedule.  lr (the peak), weight_decay,\n"
    "    betas and eps come from TrainingArguments `args` when given (learning_rate,\n"
    "    weight_decay, adam_beta1, adam_beta2, adam_epsilon); explicit arguments\n"
    "    win; without either, lr = PEAK_LR and weight_decay = 0.0 (the Trainer's\n"
    "    default).\"\"\"\n"
    "    import torch\n"
    "    from torch.optim.lr_scheduler import LambdaLR\n"
    "    if optimizer_cls is None:\n"
    "        optimizer_cls = torch.optim.AdamW\n"
    "    if args is not None:\n"
    "        if lr is None:\n"
    "            lr = args.learning_rate\n"
    "        if weight_decay is None:\n"
    "            weight_decay = args.weight_decay\n"
    "        if optimizer_cls is torch.optim.AdamW:\n"
    "            kwargs.setdefault(\"betas\", (args.adam_beta1, args.adam_beta2))\n"
    "            kwargs.setdefault(\"eps\", args.adam_epsilon)\n"
    "    if lr is None:\n"
    "        lr = PEAK_LR\n"
    "    if weight_decay is None:\n"
    "        weight_decay = 0.0\n"
    "    decay = set(decay_parameter_names(model))\n"
    "    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]\n"
    "    groups = [\n"
    "        {\"params\": [p for n, p in named if n in decay], \"weight_decay\": weight_decay},\n"
    "        {\"params\": [p for n, p in named if n not in decay], \"weight_decay\": 0.0},\n"
    "    ]\n"
    "    optimizer = optimizer_cls(groups, lr=lr, **kwargs)\n"
    "    return optimizer, LambdaLR(optimizer, lr_lambda)\n";

static const char *py_torchtitan =
    "\n\n"
    "def build_lr_schedulers(optimizers, *args, **kwargs):\n"
    "    \"\"\"torchtitan: an LRSchedulersContainer whose LambdaLR (one per optimizer)\n"
    "    follows this schedule; in place of\n"
    "    torchtitan.components.lr_scheduler.build_lr_schedulers (its other\n"
    "    arguments, the job config's lr_scheduler section, are not used).\"\"\"\n"
    "    from torchtitan.components.lr_scheduler import LRSchedulersContainer\n"
    "    return LRSchedulersContainer(optimizers, lr_lambda)\n";

static const char *py_olmo =
    "\n\n"
    "OLMO_CORE_STEP_OFFSET = 1  # OLMo-core's global_step of the first optimizer step\n\n\n"
    "def make_olmo_core_scheduler(step_offset=OLMO_CORE_STEP_OFFSET):\n"
    "    \"\"\"An olmo_core.optim.scheduler.Scheduler following this schedule:\n"
    "    get_lr(initial_lr, current, t_max) = initial_lr * lr_lambda(current - step_offset).\"\"\"\n"
    "    from dataclasses import dataclass\n"
    "    from olmo_core.optim.scheduler import Scheduler\n"
    "\n"
    "    @dataclass\n"
    "    class SchedoptScheduler(Scheduler):\n"
    "        offset: int = step_offset\n"
    "\n"
    "        def get_lr(self, initial_lr, current, t_max):\n"
    "            return initial_lr * lr_lambda(current - self.offset)\n"
    "\n"
    "    return SchedoptScheduler()\n";

static const char *py_deepspeed =
    "\n\n"
    "def deepspeed_lr_scheduler(optimizer):\n"
    "    \"\"\"For deepspeed.initialize(lr_scheduler=deepspeed_lr_scheduler): a LambdaLR\n"
    "    following this schedule over the optimizer DeepSpeed passes.\"\"\"\n"
    "    from torch.optim.lr_scheduler import LambdaLR\n"
    "    return LambdaLR(optimizer, lr_lambda)\n";

static void py_module(pyctx *P) {
  FILE *fp = P->fp;
  const schedopt_export_table *t = P->t;
  const int mom = schedopt_export_has_momentum(t);
  const schedopt_row *last = &t->rows[t->n - 1];
  fputs("\"\"\"Learning-rate schedule '", fp);
  py_text(fp, schedopt_export_name(t), " ");
  fputs("' (", fp);
  py_text(fp, schedopt_export_label(t), " ");
  fprintf(fp, ") from schedopt %s, for %s.\n\n", SCHEDOPT_VERSION, trainer_name(P->f));
  if (t->description) {
    py_text(fp, t->description, "\n");
    fputs("\n\n", fp);
  }
  table_summary(fp, t, "\n");
  fprintf(fp, ".\nPeak learning rate: PEAK_LR = %.15g.\n\n", P->peak);
  usage(P);
  fputs("\nSteps: the trainer performs TOTAL_STEPS optimizer steps, k = 0 ... TOTAL_STEPS - 1;\n"
        "step k uses lr_at(k) (after k steps taken), as LambdaLR counts when it is\n"
        "stepped after each optimizer.step().  lr_lambda(step) = lr_at(step) / PEAK_LR\n"
        "multiplies the optimizer's own learning rate, so another peak keeps the shape.\n",
        fp);
  exactness(P, "\n");
  clock_note(P, "\n");
  fputs("\nThe other columns are breakpoints of the table, linear between them and\n"
        "clamped outside.\n",
        fp);
  if (mom)
    fputs("The schedule also sets heavy-ball momentum: momentum_at(step), and\n"
          "set_momentum(optimizer, step) for optimizers with a 'momentum' setting.\n",
          fp);
  fputs("\"\"\"\n\n", fp);
  emit(fp, P->pre, "import math as _@math\nfrom bisect import bisect_right as _@bisect\n\n");
  fputs("PROBLEM = ", fp);
  py_str(fp, schedopt_export_name(t));
  fputs("\nLABEL = ", fp);
  py_str(fp, schedopt_export_label(t));
  fprintf(fp, "\nGENERATOR = \"schedopt %s\"\n", SCHEDOPT_VERSION);
  fprintf(fp, "EXACT = \"%s\"\n", P->ctl ? "closed form" : every_step(t) ? "every step" : "grid");
  fprintf(fp, "SEQ_LEN = %.17g  # tokens per sample\n", t->seq_len);
  fputs("PEAK_LR = ", fp);
  py_num(fp, P->peak);
  fprintf(fp, "\nTOTAL_STEPS = %.0f  # optimizer steps the trainer performs\n", total_steps(t));
  fprintf(fp, "TOTAL_SAMPLES = %.17g\n", last->samples);
  fprintf(fp, "TOTAL_TOKENS = %.17g\n\n", last->samples * t->seq_len);
  py_lr(P);
  fputs("# STEP and SAMPLES: optimizer steps taken and samples consumed.\n", fp);
  {
    const int cs[] = {COL_SAMPLES};
    const char *names[] = {"STEP", "SAMPLES"};
    py_breaks(P, cs, 1, names);
  }
  {
    const int cs[] = {COL_BATCH};
    const char *names[] = {"BATCH_STEP", "BATCH"};
    py_breaks(P, cs, 1, names);
  }
  {
    const int cs[] = {COL_MOMENTUM};
    const char *names[] = {"MOMENTUM_STEP", "MOMENTUM"};
    py_breaks(P, cs, 1, names);
  }
  if (t->has_loss) {
    fputs("# Predicted loss (full mean-squared error, L = E + tail + sigma^2, no 1/2).\n", fp);
    const int cs[] = {COL_LOSS};
    const char *names[] = {"LOSS_STEP", "LOSS"};
    py_breaks(P, cs, 1, names);
  } else {
    fputs("LOSS_STEP = LOSS = None  # no predicted loss in this table\n\n", fp);
  }
  fputs("\n", fp);
  fputs(py_common, fp);
  switch (P->f) {
  case SCHEDOPT_EXPORT_HF: fputs(py_hf, fp); break;
  case SCHEDOPT_EXPORT_TORCHTITAN: fputs(py_torchtitan, fp); break;
  case SCHEDOPT_EXPORT_OLMO_CORE: fputs(py_olmo, fp); break;
  case SCHEDOPT_EXPORT_DEEPSPEED: fputs(py_deepspeed, fp); break;
  default: break;
  }
}

/* nanoGPT: a get_lr(it) that replaces the one in train.py; its names start
 * with _schedopt_ so as not to touch train.py's globals. */
static void py_nanogpt(pyctx *P) {
  FILE *fp = P->fp;
  const schedopt_export_table *t = P->t;
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
          "# max_iters = %.0f: train.py's loop runs iter_num = 0 ... max_iters and stops\n"
          "# after the step with iter_num == max_iters, so it performs max_iters + 1 = %.0f\n"
          "# optimizer steps, the schedule's.  get_lr(it) = learning_rate * lr(it) / peak:\n"
          "# inside train.py `learning_rate` is nanoGPT's setting and plays the peak; run\n"
          "# on its own (no global learning_rate) it is this schedule's peak, %.15g.\n"
          "# Iteration it (0-based) uses get_lr(it).\n# ",
          total_steps(t) - 1, total_steps(t), P->peak);
  exactness(P, "\n# ");
  clock_note(P, "\n# ");
  fputs("\n", fp);
  if (!schedopt_export_batch_constant(t))
    fputs("# The batch size varies: nanoGPT keeps it fixed, so this schedule applies only if\n"
          "# you also change batch_size / gradient_accumulation_steps per iteration\n"
          "# (schedopt export --format pytorch gives batch_at(step)).\n",
          fp);
  emit(fp, P->pre, "import math as _@math\nfrom bisect import bisect_right as _@bisect\n\n");
  fputs("_schedopt_PEAK_LR = ", fp);
  py_num(fp, P->peak);
  fprintf(fp, "\n_schedopt_TOTAL_STEPS = %.0f\n\n", total_steps(t));
  py_lr(P);
  fputs("def get_lr(it):\n"
        "    peak = globals().get(\"learning_rate\", _schedopt_PEAK_LR)\n"
        "    return peak * (_schedopt_lr_at(it) / _schedopt_PEAK_LR)\n",
        fp);
}

schedopt_status schedopt_export_write_python(FILE *fp, schedopt_export_format f,
                                    const schedopt_export_table *t,
                                    const schedopt_export_options *o, schedopt_error *err) {
  pyctx P;
  memset(&P, 0, sizeof P);
  P.fp = fp;
  P.f = f;
  P.t = t;
  P.sc = schedopt_export_lr_scale(t, o);
  P.peak = schedopt_export_lr_max(t) * P.sc;
  P.pre = f == SCHEDOPT_EXPORT_NANOGPT ? "_schedopt_" : "";
  P.ctl = closed_form(t, o, &P.dt, &P.H);
  schedopt_status st = SCHEDOPT_OK;
  double *cols = malloc(NCOL * t->n * sizeof *cols);
  if (!cols || !(P.keep = malloc(t->n * sizeof *P.keep))) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", t->n);
    goto done;
  }
  for (int c = 0; c < NCOL; c++) P.col[c] = cols + (size_t)c * t->n;
  for (size_t i = 0; i < t->n; i++) {
    const schedopt_row *r = &t->rows[i];
    P.col[COL_STEP][i] = r->step;
    P.col[COL_SAMPLES][i] = r->samples;
    P.col[COL_LR][i] = r->u.lr * P.sc;
    P.col[COL_BATCH][i] = r->u.batch;
    P.col[COL_MOMENTUM][i] = r->u.momentum;
    P.col[COL_LOSS][i] = t->has_loss ? r->r.loss : 0;
  }
  if (f == SCHEDOPT_EXPORT_NANOGPT)
    py_nanogpt(&P);
  else
    py_module(&P);
done:
  free(cols);
  free(P.keep);
  return st;
}

schedopt_status schedopt_export_lr_breakpoints(const schedopt_export_table *t,
                                               const schedopt_export_options *o, double **step,
                                               double **lr, size_t *n, schedopt_error *err) {
  if (!step || !lr || !n) return schedopt_error_set(err, SCHEDOPT_EINVAL, "NULL argument");
  *step = *lr = NULL;
  *n = 0;
  schedopt_status st = schedopt_export_check(t, err);
  if (st) return st;
  const double sc = schedopt_export_lr_scale(t, o);
  double *x = malloc(t->n * sizeof *x), *y = malloc(t->n * sizeof *y);
  size_t *keep = malloc(t->n * sizeof *keep);
  if (!x || !y || !keep) {
    free(x), free(y), free(keep);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", t->n);
  }
  double peak = 0;
  for (size_t i = 0; i < t->n; i++) {
    x[i] = t->rows[i].step;
    y[i] = t->rows[i].u.lr * sc;
    peak = fmax(peak, y[i]);
  }
  const double *ys[1] = {y};
  const double tol = BREAK_TOL * peak;
  size_t m = schedopt_export_breakpoints(x, ys, 1, t->n, &tol, keep);
  for (size_t i = 0; i < m; i++) {
    x[i] = x[keep[i]];
    y[i] = y[keep[i]];
  }
  free(keep);
  *step = x;
  *lr = y;
  *n = m;
  return SCHEDOPT_OK;
}
