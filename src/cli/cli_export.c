/* schedopt export: the problem's schedule in a format a trainer reads. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "schedopt/export.h"

static const char *help =
    "Usage: schedopt export PROBLEM.yaml --format FORMAT [options]\n"
    "\n"
    "Tabulate the problem's schedule (its controls at every optimizer step, or on\n"
    "a grid for long runs), predict the loss along it with a simulate run, and\n"
    "write the table in a format a trainer reads:\n"
    "\n"
    "  csv       step,samples,tokens,lr,batch,momentum,loss,excess,bias,variance\n"
    "  json      metadata (problem, model, budget) and one array per column\n"
    "  pytorch   a Python module: lr_lambda(step) for torch.optim.lr_scheduler.LambdaLR\n"
    "            (relative to the peak), lr_at(step), batch_at, momentum_at, ...\n"
    "  nanogpt   a get_lr(it) function for nanoGPT's train.py\n"
    "  hf        a Python module: make_optimizers(model, args=training_args) for\n"
    "            the Hugging Face Trainer's optimizers= argument\n"
    "  torchtitan   the module with build_lr_schedulers(optimizers)\n"
    "  olmo_core    the module with make_olmo_core_scheduler()\n"
    "  deepspeed    the module with deepspeed_lr_scheduler(optimizer), for\n"
    "            deepspeed.initialize(lr_scheduler=...)\n"
    "  megatron  Megatron-LM flags (--lr-decay-style WSD, --lr-wsd-decay-style, ...)\n"
    "            when a Megatron schedule matches the table; otherwise an error\n"
    "            naming the nearest one\n"
    "\n"
    "Step k (k = 0, 1, ...) uses the controls after k steps, in every format; the\n"
    "trainer performs exactly the schedule's steps (TOTAL_STEPS).  The Python\n"
    "formats write the learning rate in closed form (the schedule's family), exact\n"
    "at every step for any length.\n"
    "docs/exports.md describes the formats.\n"
    "\n"
    "Options:\n"
    "  -f, --format FORMAT   one of the formats above (required)\n"
    "  -o, --output FILE     write to FILE ('-' or no -o: standard output)\n"
    "  --points N            tabulate at N evenly spaced times (plus the schedule's\n"
    "                        knots) instead of every step; default: every step when\n"
    "                        that is at most 20001 rows, else 2001 points\n"
    "  --peak-lr LR          scale the learning rate so that its peak is LR (the\n"
    "                        shape is what the theory gives; the peak is yours)\n"
    "  --tolerance F         megatron: accept the nearest Megatron schedule if it\n"
    "                        differs from the table by at most F x peak (default 0.02)\n"
    "  --megatron-units U    megatron: iters or samples (default: iters when the\n"
    "                        batch size is constant, else samples)\n"
    "  --batch B             the trainer's batch size in samples (the largest of a\n"
    "                        scheduled batch); samples and tokens follow, steps stay\n"
    "  --seq-len L           tokens per sample for the tokens column\n"
    "                        (--points, --peak-lr, --tolerance, --batch, --seq-len\n"
    "                        default to the problem's output.export settings)\n"
    "  --set KEY=VALUE       override a problem key (repeatable)\n"
    "  -q, --quiet           no summary on standard error\n"
    "  -h, --help            this help\n";

typedef struct opts {
  const char *format;
  size_t points;
  double peak_lr, tolerance, batch, seq_len;
  const char *units;
} opts;

/* A finite number ≥ 0 from text; -1 if it is not one. */
static double parse_nonneg(const char *s) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v) || v < 0) return -1;
  return v;
}

static int extra(int argc, char **argv, int i, void *ctx) {
  opts *o = ctx;
  const char *a = argv[i];
  const char *names[] = {"--format",         "--points", "--peak-lr", "--tolerance",
                         "--megatron-units", "--batch",  "--seq-len"};
  int which = -1;
  const char *val = NULL;
  int used = 0;
  if (!strcmp(a, "-f")) which = 0;
  for (int k = 0; k < 7 && which < 0; k++) {
    size_t L = strlen(names[k]);
    if (!strcmp(a, names[k]))
      which = k;
    else if (!strncmp(a, names[k], L) && a[L] == '=')
      which = k, val = a + L + 1, used = 1;
  }
  if (which < 0) return 0;
  if (!val) {
    if (i + 1 >= argc) {
      cli_usage_error("export", "%s needs a value", a);
      return -1;
    }
    val = argv[i + 1];
    used = 2;
  }
  double v;
  switch (which) {
  case 0: o->format = val; break;
  case 1:
    v = parse_nonneg(val);
    if (!(v >= 2 && v <= SCHEDOPT_EXPORT_MAX_POINTS && v == floor(v))) {
      cli_usage_error("export", "--points %s: must be an integer in 2 ... %d", val,
                      SCHEDOPT_EXPORT_MAX_POINTS);
      return -1;
    }
    o->points = (size_t)v;
    break;
  case 2:
    v = parse_nonneg(val);
    if (!(v >= DBL_MIN)) { /* 1e-320 is > 0 but subnormal: strtod reports ERANGE */
      cli_usage_error("export", "--peak-lr %s: must be a number in [%g, %g]", val, DBL_MIN,
                      DBL_MAX);
      return -1;
    }
    o->peak_lr = v;
    break;
  case 3:
    v = parse_nonneg(val);
    if (!(v > 0 && v <= 1)) {
      cli_usage_error("export", "--tolerance %s: must be a number in (0, 1]", val);
      return -1;
    }
    o->tolerance = v;
    break;
  case 5:
  case 6:
    v = parse_nonneg(val);
    if (!(v >= 1 && v <= 1e15)) {
      cli_usage_error("export", "%s %s: must be a number in [1, 1e15]", names[which], val);
      return -1;
    }
    *(which == 5 ? &o->batch : &o->seq_len) = v;
    break;
  default:
    if (strcmp(val, "iters") && strcmp(val, "samples")) {
      cli_usage_error("export", "--megatron-units %s: must be iters or samples", val);
      return -1;
    }
    o->units = val;
  }
  return used;
}

static int run(int argc, char **argv) {
  cli_problem_opts po;
  opts o = {0};
  int rc = cli_parse_problem_opts("export", argc, argv, &po, extra, &o);
  if (rc || po.help) {
    if (!rc) fputs(help, stdout);
    cli_problem_opts_free(&po);
    return rc;
  }
  schedopt_error err = {0};
  schedopt_export_format fmt;
  if (!o.format) {
    cli_problem_opts_free(&po);
    return cli_usage_error("export", "missing --format (csv, json, pytorch, megatron, nanogpt, "
                                     "hf, torchtitan, olmo_core, deepspeed)");
  }
  if (schedopt_export_format_find(o.format, &fmt, &err)) {
    cli_problem_opts_free(&po);
    return cli_usage_error("export", "%s", err.msg);
  }
  schedopt_problem *p = NULL;
  double *times = NULL;
  schedopt_row *rows = NULL;
  size_t n = 0, nrows = 0;
  schedopt_status st;
  if ((rc = cli_load_problem(&po, &p))) goto cleanup;
  const schedopt_schedule *s = schedopt_problem_schedule(p);
  schedopt_problem_extras ex; /* output.export: the command line's options win */
  schedopt_problem_get_extras(p, &ex);
  if ((st = schedopt_export_times(s, o.points ? o.points : ex.export_points, &times, &n, &err)))
    goto failed;
  if (!(rows = calloc(n, sizeof *rows))) {
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", n);
    goto failed;
  }
  if ((st = schedopt_export_simulate(p, NULL, times, n, rows, &nrows, &err))) goto failed;
  schedopt_export_table t = cli_table(p, s, rows, nrows, "schedule");
  schedopt_export_options eo;
  schedopt_export_options_default(&eo);
  eo.peak_lr = o.peak_lr > 0 ? o.peak_lr : ex.peak_lr;
  eo.batch = o.batch > 0 ? o.batch : ex.batch;
  eo.seq_len = o.seq_len > 0 ? o.seq_len : ex.seq_len;
  eo.tolerance = o.tolerance > 0 ? o.tolerance : ex.tolerance > 0 ? ex.tolerance : eo.tolerance;
  eo.megatron_units = (schedopt_megatron_units)ex.megatron_units;
  eo.schedule = s; /* the Python exports write its closed form */
  if (o.units)
    eo.megatron_units = !strcmp(o.units, "iters") ? SCHEDOPT_MEGATRON_ITERS
                                                  : SCHEDOPT_MEGATRON_SAMPLES;
  if ((st = schedopt_export_save(po.output, fmt, &t, &eo, &err))) goto failed;
  if (!po.quiet) {
    fprintf(stderr, "schedopt: %s: %zu rows, final loss %.6g", schedopt_problem_name(p), nrows,
            rows[nrows - 1].r.loss);
    if (fmt == SCHEDOPT_EXPORT_MEGATRON) {
      schedopt_megatron_fit f;
      if (!schedopt_export_megatron_fit(&t, &eo, &f, NULL))
        fprintf(stderr, "; Megatron %s%s%s within %.3g %% of the peak", f.decay_style,
                f.wsd_style ? "/" : "", f.wsd_style ? f.wsd_style : "", 100 * f.max_dev);
    }
    if (po.output && strcmp(po.output, "-"))
      fprintf(stderr, "; wrote %s to %s", schedopt_export_format_name(fmt), po.output);
    fputc('\n', stderr);
  }
  goto cleanup;
failed:
  rc = cli_fail(&err);
cleanup:
  free(rows);
  free(times);
  schedopt_problem_free(p);
  cli_problem_opts_free(&po);
  return rc;
}

const cli_command cli_export = {"export", "write the schedule for a trainer (csv, json, "
                                          "pytorch, megatron, nanogpt, hf, torchtitan, "
                                          "olmo_core, deepspeed)", run};
