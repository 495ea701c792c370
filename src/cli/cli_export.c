/* schedopt export: the problem's schedule, or the result in an optimize or
 * design output folder, in a format a trainer reads. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "schedopt/export.h"

static const char *help =
    "Usage: schedopt export PROBLEM.yaml --format FORMAT [options]\n"
    "       schedopt export DIR --format FORMAT [options]\n"
    "\n"
    "DIR: the output folder of `schedopt optimize` (its free-form optimum, from\n"
    "summary.json's knots) or of `schedopt design` with output.format set (its\n"
    "lr_exact.json): the schedule at every step, exactly, without a prediction.\n"
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


/* ---- an output folder ------------------------------------------------------------ */

static int is_dir(const char *path) {
  struct stat sb;
  return path && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Numbers of a JSON array into a fresh array (NULL if not all numbers). */
static double *json_nums(const json_t *a, size_t *n) {
  *n = json_is_array(a) ? json_array_size(a) : 0;
  double *v = *n ? malloc(*n * sizeof *v) : NULL;
  for (size_t i = 0; v && i < *n; i++) {
    const json_t *e = json_array_get(a, i);
    if (!json_is_number(e)) {
      free(v);
      return NULL;
    }
    v[i] = json_number_value(e);
  }
  return v;
}

/* The first data row's column `col` of a CSV with a header (NAN if none). */
static double csv_first(const char *path, const char *col) {
  FILE *f = fopen(path, "r");
  char head[4096], row[4096];
  double v = NAN;
  if (f && fgets(head, sizeof head, f) && fgets(row, sizeof row, f)) {
    int k = 0, want = -1;
    for (char *tok = strtok(head, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), k++)
      if (!strcmp(tok, col)) want = k;
    char *p = row;
    for (k = 0; want >= 0 && k < want && p; k++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    if (want >= 0 && p) v = strtod(p, NULL);
  }
  if (f) fclose(f);
  return v;
}

/* What a folder holds, as a schedule whose lr is a table control: the
 * design's breakpoints (lr_exact.json) or the optimum's knots
 * (summary.json).  Steps, batch, seq_len and names for the table. */
typedef struct folder {
  schedopt_schedule *s;
  double K, batch, seq_len, dt;
  schedopt_clock clock;
  char name[256], label[64];
} folder;

static schedopt_status folder_read(const char *dir, folder *F, schedopt_error *err) {
  char path[4200];
  json_error_t je;
  json_t *sum = NULL, *ex = NULL;
  double *kt = NULL, *kv = NULL;
  size_t nt = 0, nv = 0;
  schedopt_control *lr = NULL, *bc = NULL;
  schedopt_status st = SCHEDOPT_OK;
  memset(F, 0, sizeof *F);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  if (!(sum = json_load_file(path, 0, &je))) {
    st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: not an optimize or design output folder "
                            "(%s: %s)", dir, path, je.text);
    goto done;
  }
  if (json_object_get(sum, "schedopt_design")) { /* design */
    snprintf(path, sizeof path, "%s/lr_exact.json", dir);
    if (!(ex = json_load_file(path, 0, &je))) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "%s: a design folder without lr_exact.json, the design's exact "
                              "rates: rerun the design with output.format set (e.g. --set "
                              "output.format=pytorch), which writes it", dir);
      goto done;
    }
    const char *fmt = json_string_value(json_object_get(ex, "format"));
    const int has_control = json_is_object(json_object_get(ex, "control"));
    kt = json_nums(json_object_get(ex, "step"), &nt);
    kv = json_nums(json_object_get(ex, "lr"), &nv);
    F->K = json_number_value(json_object_get(ex, "steps"));
    F->batch = json_number_value(json_object_get(ex, "batch"));
    F->seq_len = json_number_value(json_object_get(ex, "seq_len"));
    if (!fmt || strcmp(fmt, "schedopt-lr-breakpoints") ||
        (!has_control && (!kt || !kv || nt != nv || nt < 1)) ||
        !(F->K >= 1) || !(F->batch > 0) || !(F->seq_len >= 1)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: not a schedopt-lr-breakpoints file "
                              "(format, steps >= 1, batch > 0, seq_len >= 1, and a control or "
                              "step and lr of equal length)", path);
      goto done;
    }
    snprintf(F->name, sizeof F->name, "%s",
             json_string_value(json_object_get(ex, "name")) ? json_string_value(json_object_get(ex, "name")) : "design");
    snprintf(F->label, sizeof F->label, "design under a surrogate");
    F->clock = SCHEDOPT_CLOCK_STEPS;
    F->dt = 1;
    const json_t *fam = json_object_get(ex, "control"); /* the family, when it is one */
    if (json_is_object(fam)) {
      const schedopt_control_type *T =
          schedopt_control_type_find(json_string_value(json_object_get(fam, "type")));
      const char *key;
      const json_t *v;
      st = T ? schedopt_control_alloc(&lr, T, err)
             : schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: control: unknown type", path);
      json_object_foreach((json_t *)fam, key, v) {
        if (st || !strcmp(key, "type")) continue;
        if (json_is_string(v))
          st = schedopt_control_set_choice(lr, key, json_string_value(v), err);
        else
          st = schedopt_control_set(lr, key, json_number_value(v), err);
      }
      if (st) schedopt_error_prefix(err, "%s: control: ", path);
      goto schedule;
    }
  } else { /* optimize: the optimum's free-form lr */
    const json_t *chs = json_object_get(json_object_get(sum, "design"), "channels"),
                 *bud = json_object_get(sum, "budget"), *ch = NULL;
    for (size_t i = 0; i < json_array_size(chs); i++) {
      const json_t *c = json_array_get(chs, i);
      const char *name = json_string_value(json_object_get(c, "channel"));
      if (name && !strcmp(name, "lr")) {
        ch = c;
      } else if (name) {
        st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: the optimum also sets %s: export it "
                                "with output.export in the problem (--set "
                                "output.export=FORMAT), which writes every channel", dir, name);
        goto done;
      }
    }
    const char *param = json_string_value(json_object_get(ch, "param"));
    const char *interp = json_string_value(json_object_get(ch, "interp"));
    if (!ch || !param || strcmp(param, "freeform")) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: the optimum's learning rate is %s%s: "
                              "export DIR reads free-form optima; export a family's with "
                              "output.export in the problem (--set output.export=FORMAT)", dir,
                              param ? "the family parametrization " : "not in summary.json",
                              param ? param : "");
      goto done;
    }
    kt = json_nums(json_object_get(ch, "knot_times"), &nt);
    kv = json_nums(json_object_get(ch, "values"), &nv);
    const char *clock = json_string_value(json_object_get(bud, "clock"));
    double H = json_number_value(json_object_get(bud, "horizon"));
    F->seq_len = json_number_value(json_object_get(bud, "seq_len"));
    snprintf(path, sizeof path, "%s/schedule.csv", dir);
    F->batch = csv_first(path, "batch");
    double mom = csv_first(path, "momentum");
    if (!kt || !kv || nt != nv || nt < 1 || !clock || !(H > 0) || !(F->seq_len >= 1) ||
        !(F->batch > 0)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: summary.json lacks the optimum's knots "
                              "(knot_times, values), the budget's clock, horizon and seq_len, "
                              "or schedule.csv its batch", dir);
      goto done;
    }
    if (mom != 0 && !isnan(mom)) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL, "%s: the problem schedules momentum: export "
                              "it with output.export in the problem", dir);
      goto done;
    }
    F->clock = strcmp(clock, "steps") ? SCHEDOPT_CLOCK_DATA : SCHEDOPT_CLOCK_STEPS;
    const double units = strcmp(clock, "tokens") ? 1 : F->seq_len;
    F->dt = F->clock == SCHEDOPT_CLOCK_STEPS ? 1 : F->batch * units;
    F->K = floor(H / F->dt * (1 + 1e-12));
    snprintf(F->name, sizeof F->name, "%s",
             json_string_value(json_object_get(json_object_get(sum, "problem"), "name"))
                 ? json_string_value(json_object_get(json_object_get(sum, "problem"), "name"))
                 : "optimum");
    snprintf(F->label, sizeof F->label, "optimum");
    if (interp && !strcmp(interp, "step")) {
      st = schedopt_control_alloc(&lr, schedopt_control_table, err);
      if (!st) st = schedopt_control_set_choice(lr, "interp", "step", err);
      goto table;
    }
  }
  st = schedopt_control_alloc(&lr, schedopt_control_table, err);
table:
  if (!st) st = schedopt_control_set_table(lr, nt, kt, kv, err);
schedule:
  if (!st) st = schedopt_control_alloc(&bc, schedopt_control_constant, err);
  if (!st) st = schedopt_control_set(bc, "value", F->batch, err);
  if (!st) {
    const double H = F->K * F->dt;
    const double ups = F->clock == SCHEDOPT_CLOCK_STEPS ? 1 : F->dt / F->batch;
    st = schedopt_schedule_alloc(&F->s, F->clock, H, ups, err);
    if (!st) st = schedopt_schedule_set(F->s, SCHEDOPT_LR, lr, err);
    if (!st) st = schedopt_schedule_set(F->s, SCHEDOPT_BATCH, bc, err);
  }
  if (st) schedopt_error_prefix(err, "%s: ", dir);
done:
  schedopt_control_free(lr);
  schedopt_control_free(bc);
  free(kt);
  free(kv);
  json_decref(sum);
  json_decref(ex);
  return st;
}


/* export DIR: every step 0 … K of the folder's schedule (no prediction). */
static int export_folder(const cli_problem_opts *po, const opts *o, schedopt_export_format fmt) {
  schedopt_error err = {0};
  folder F;
  schedopt_row *rows = NULL;
  schedopt_status st = folder_read(po->path, &F, &err);
  size_t K = st ? 0 : (size_t)F.K;
  if (!st && (F.K > 1e8 || !(rows = calloc(K + 1, sizeof *rows))))
    st = schedopt_error_set(&err, SCHEDOPT_ENOMEM, "%s: no memory for %.15g steps", po->path, F.K);
  if (!st) {
    const double H = schedopt_schedule_horizon(F.s);
    for (size_t k = 0; k <= K; k++) {
      rows[k].t = fmin((double)k * F.dt, H);
      rows[k].step = (double)k;
      rows[k].samples = (double)k * F.batch;
      schedopt_schedule_eval(F.s, rows[k].t, &rows[k].u);
    }
    schedopt_export_table t = {.rows = rows, .n = K + 1, .has_loss = 0, .clock = F.clock,
                               .seq_len = F.seq_len, .name = F.name, .label = F.label};
    schedopt_export_options eo;
    schedopt_export_options_default(&eo);
    eo.peak_lr = o->peak_lr;
    eo.batch = o->batch;
    eo.seq_len = o->seq_len;
    if (o->tolerance > 0) eo.tolerance = o->tolerance;
    if (o->units)
      eo.megatron_units = !strcmp(o->units, "iters") ? SCHEDOPT_MEGATRON_ITERS
                                                     : SCHEDOPT_MEGATRON_SAMPLES;
    eo.schedule = F.s;
    st = schedopt_export_save(po->output, fmt, &t, &eo, &err);
    if (!st && !po->quiet) {
      fprintf(stderr, "schedopt: %s (%s): %zu steps", F.name, F.label, K);
      if (po->output && strcmp(po->output, "-"))
        fprintf(stderr, "; wrote %s to %s", schedopt_export_format_name(fmt), po->output);
      fputc('\n', stderr);
    }
  }
  free(rows);
  schedopt_schedule_free(F.s);
  return st ? cli_fail(&err) : 0;
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
  if (is_dir(po.path)) {
    if (po.nsets) {
      cli_problem_opts_free(&po);
      return cli_usage_error("export", "--set applies to a problem file, not to an output "
                                       "folder");
    }
    rc = export_folder(&po, &o, fmt);
    cli_problem_opts_free(&po);
    return rc;
  }
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
