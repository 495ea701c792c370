/* Exports: tables from problems (every step, grids with knots, steps ↔
 * samples ↔ tokens), CSV read back through schedopt_control_load_csv, JSON
 * parsed back with jansson, the Python exports (PyTorch module, nanoGPT
 * get_lr, HF module) loaded and evaluated by python3 when it is present, and
 * the Megatron fit: exact for WSD and cosine tables, refused with an
 * explanation for schedules Megatron cannot express, and checked against an
 * independent Python transcription of Megatron's scheduler. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/export.h"
#include "schedopt/schedopt.h"
#include "testutil.h"

static const char *P_WSD =
    "name: wsd_test\n"
    "description: \"WSD with a warmup: \\\"quoted\\\" and a backslash \\\\ in the text\"\n"
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {steps: 2000}\n"
    "controls:\n"
    "  lr: {type: wsd, peak: 0.4, decay_frac: 0.25, shape: linear, floor: 0.004, warmup: 100,"
    " warmup_init: 0.1}\n"
    "  batch: 4\n";
static const char *P_COS =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {steps: 3000}\n"
    "controls: {lr: {type: cosine, peak: 0.3, floor: 0.03, warmup: 60}, batch: 2}\n";
static const char *P_STEP =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {steps: 1000}\n"
    "controls: {lr: {type: '811', peak: 0.3}, batch: 2}\n";
static const char *P_EXP =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {steps: 1000}\n"
    "controls: {lr: {type: wsd, peak: 0.3, floor: 0.003, shape: exponential}, batch: 2}\n";
static const char *P_TOK =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {tokens: 4e6, seq_len: 512}\n"
    "controls: {lr: {type: cosine, peak: 0.3}, batch: 8}\n";
static const char *P_RAMP =
    "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
    "budget: {tokens: 4e6, seq_len: 512}\n"
    "controls:\n"
    "  lr: {type: wsd, peak: 0.3, decay_frac: 0.3, shape: cosine}\n"
    "  batch: {type: linear, start: 4, end: 16}\n"
    "  momentum: {type: linear, start: 0.5, end: 0.9}\n";

typedef struct tab {
  schedopt_problem *p;
  schedopt_row *rows;
  schedopt_export_table t;
} tab;

static void tab_make(tab *T, const char *yaml, size_t points) {
  schedopt_error err = {0};
  memset(T, 0, sizeof *T);
  double *times = NULL;
  size_t n = 0, nr = 0;
  int ok = !test_make_problem(&T->p, yaml, "test", NULL, 0, &err) &&
           !schedopt_export_times(schedopt_problem_schedule(T->p), points, &times, &n, &err) &&
           (T->rows = calloc(n, sizeof *T->rows)) &&
           !schedopt_export_simulate(T->p, NULL, times, n, T->rows, &nr, &err);
  CHECK_MSG(ok, "%s", err.msg);
  free(times);
  if (!ok) exit(test_finish() | 1);
  const schedopt_schedule *s = schedopt_problem_schedule(T->p);
  T->t = (schedopt_export_table){T->rows,
                                 nr,
                                 1,
                                 schedopt_schedule_clock(s),
                                 schedopt_problem_seq_len(T->p),
                                 schedopt_problem_name(T->p),
                                 "schedule",
                                 schedopt_problem_description(T->p),
                                 T->p};
}

static void tab_free(tab *T) {
  free(T->rows);
  schedopt_problem_free(T->p);
}

/* The table's column at step x, linear in steps and clamped (what the
 * Python exports must reproduce). */
enum { V_LR, V_BATCH, V_LOSS, V_SAMPLES, V_MOM };
static double val(const schedopt_row *r, int c) {
  switch (c) {
  case V_LR: return r->u.lr;
  case V_BATCH: return r->u.batch;
  case V_LOSS: return r->r.loss;
  case V_SAMPLES: return r->samples;
  default: return r->u.momentum;
  }
}
static double interp(const schedopt_export_table *t, double x, int c) {
  const schedopt_row *r = t->rows;
  if (x <= r[0].step) return val(&r[0], c);
  if (x >= r[t->n - 1].step) return val(&r[t->n - 1], c);
  size_t lo = 0, hi = t->n - 1;
  while (hi - lo > 1) {
    size_t m = (lo + hi) / 2;
    if (r[m].step <= x)
      lo = m;
    else
      hi = m;
  }
  double w = (x - r[lo].step) / (r[hi].step - r[lo].step);
  return val(&r[lo], c) + w * (val(&r[hi], c) - val(&r[lo], c));
}

static int have_python = -1;

/* Run python3 on a script file with arguments; stdout into out. */
static int run_python(const char *script, const char *args, char *out, size_t cap) {
  char cmd[16384];
  snprintf(cmd, sizeof cmd, "python3 '%s' %s 2>&1", script, args);
  return test_run_cmd(cmd, out, cap);
}

static char pyout[1 << 20];

/* ---- table building ------------------------------------------------------ */

static void test_tables(void) {
  tab T;
  tab_make(&T, P_WSD, 0);
  CHECK_MSG(T.t.n == 2001, "%zu rows", T.t.n); /* every step 0 … 2000 */
  for (size_t i = 0; i < T.t.n; i++) {
    CHECK(T.rows[i].step == (double)i && T.rows[i].t == (double)i);
    CHECK(T.rows[i].samples == 4.0 * (double)i);
  }
  CHECK_CLOSE(T.rows[0].u.lr, 0.04, 1e-12, 0);   /* warmup_init · peak */
  CHECK_CLOSE(T.rows[100].u.lr, 0.4, 1e-12, 0);  /* end of warmup */
  CHECK_CLOSE(T.rows[1500].u.lr, 0.4, 1e-12, 0); /* decay starts at 0.75 H */
  CHECK_CLOSE(T.rows[2000].u.lr, 0.004, 1e-12, 0);
  CHECK(schedopt_export_check(&T.t, NULL) == SCHEDOPT_OK);
  tab_free(&T);

  /* a grid keeps the kinks: rows at the warmup end and the decay start */
  tab_make(&T, P_WSD, 11);
  int at100 = 0, at1500 = 0;
  for (size_t i = 0; i < T.t.n; i++) {
    at100 |= T.rows[i].step == 100;
    at1500 |= T.rows[i].step == 1500;
    CHECK(T.rows[i].step == floor(T.rows[i].step)); /* step boundaries */
  }
  CHECK_MSG(at100 && at1500 && T.t.n < 20, "%zu rows", T.t.n);
  tab_free(&T);

  /* 8-1-1 on a grid: the rows on both sides of each drop */
  tab_make(&T, P_STEP, 6);
  double want[][2] = {{799, 0.3}, {800, 0.3 / sqrt(10)}, {899, 0.3 / sqrt(10)}, {900, 0.03}};
  for (int k = 0; k < 4; k++) {
    int found = 0;
    for (size_t i = 0; i < T.t.n; i++)
      if (T.rows[i].step == want[k][0]) {
        found = 1;
        CHECK_CLOSE(T.rows[i].u.lr, want[k][1], 1e-12, 0);
      }
    CHECK_MSG(found, "no row at step %g", want[k][0]);
  }
  tab_free(&T);

  /* tokens with a constant batch: one row per step, exact conversions */
  tab_make(&T, P_TOK, 0);
  const double steps = 4e6 / (8 * 512.0); /* 976.5625 */
  CHECK_MSG(T.t.n == 978, "%zu rows", T.t.n);
  for (size_t i = 0; i + 1 < T.t.n; i++) {
    CHECK(T.rows[i].step == (double)i);
    CHECK(T.rows[i].samples == 8.0 * (double)i);
    CHECK(T.rows[i].t == 8.0 * 512 * (double)i); /* the clock counts tokens */
  }
  CHECK_CLOSE(T.rows[T.t.n - 1].step, steps, 1e-15, 0);
  CHECK_CLOSE(T.rows[T.t.n - 1].samples * T.t.seq_len, 4e6, 1e-15, 0);
  tab_free(&T);

  /* a batch ramp: steps by quadrature, ∫ dτ/B = (H/(512·12))·ln 4 for B = 4 → 16 */
  tab_make(&T, P_RAMP, 0);
  CHECK_MSG(T.t.n >= 2001 && T.t.n < 2010, "%zu rows", T.t.n);
  CHECK_CLOSE(T.rows[T.t.n - 1].step, 4e6 / 512 / 12 * log(4.0), 1e-5, 0);
  tab_free(&T);

  /* bad tables */
  schedopt_row r[2] = {0};
  r[0].u.lr = r[1].u.lr = 0.1;
  r[0].u.batch = r[1].u.batch = 1;
  r[1].t = r[1].step = r[1].samples = 1;
  schedopt_export_table bad = {r, 2, 0, SCHEDOPT_CLOCK_STEPS, 1, "x", NULL, NULL, NULL};
  schedopt_error err = {0};
  CHECK(schedopt_export_check(&bad, &err) == SCHEDOPT_OK);
  r[1].t = 0;
  CHECK(schedopt_export_check(&bad, &err) == SCHEDOPT_EINVAL && strstr(err.msg, "row 1"));
  r[1].t = 1;
  r[1].u.lr = NAN;
  CHECK(schedopt_export_check(&bad, &err) == SCHEDOPT_EINVAL && strstr(err.msg, "non-finite"));
  r[1].u.lr = r[0].u.lr = 0;
  CHECK(schedopt_export_check(&bad, &err) == SCHEDOPT_EINVAL && strstr(err.msg, "zero"));
  bad.n = 0;
  CHECK(schedopt_export_check(&bad, &err) == SCHEDOPT_EINVAL);
  schedopt_export_format f;
  CHECK(schedopt_export_format_find("hf", &f, NULL) == SCHEDOPT_OK && f == SCHEDOPT_EXPORT_HF);
  CHECK(schedopt_export_format_find("deepspeed", &f, NULL) == SCHEDOPT_OK &&
        f == SCHEDOPT_EXPORT_DEEPSPEED);
  CHECK(schedopt_export_format_find("keras", &f, &err) == SCHEDOPT_EINVAL &&
        strstr(err.msg, "megatron") && strstr(err.msg, "olmo_core"));
  double *tt = NULL;
  size_t nt;
  tab_make(&T, P_COS, 0);
  CHECK(schedopt_export_times(schedopt_problem_schedule(T.p), 1, &tt, &nt, &err) ==
        SCHEDOPT_EINVAL);
  tab_free(&T);
}

/* ---- CSV and JSON ----------------------------------------------------------- */

static void test_csv_json(void) {
  tab T;
  tab_make(&T, P_WSD, 0);
  schedopt_error err = {0};
  const char *csv = test_tmp_path("wsd.csv");
  CHECK_MSG(schedopt_export_save(csv, SCHEDOPT_EXPORT_CSV, &T.t, NULL, &err) == SCHEDOPT_OK,
            "%s", err.msg);
  /* round trip: the lr column as a table control */
  schedopt_control *c = NULL;
  CHECK(schedopt_control_alloc(&c, schedopt_control_table, &err) == SCHEDOPT_OK);
  CHECK_MSG(schedopt_control_load_csv(c, csv, "step", "lr", &err) == SCHEDOPT_OK, "%s", err.msg);
  for (size_t k = 0; k <= 2000; k += 37)
    CHECK_CLOSE(schedopt_control_eval(c, 2000, (double)k, NULL), T.rows[k].u.lr, 1e-14, 0);
  CHECK(schedopt_control_load_csv(c, csv, "step", "loss", &err) == SCHEDOPT_OK);
  CHECK_CLOSE(schedopt_control_eval(c, 2000, 1234, NULL), T.rows[1234].r.loss, 1e-14, 0);
  CHECK(schedopt_control_load_csv(c, csv, "tokens", "batch", &err) == SCHEDOPT_OK);
  CHECK_CLOSE(schedopt_control_eval(c, 8000, 400, NULL), 4, 0, 0);
  schedopt_control_free(c);

  /* JSON, with the lr scaled to a peak of 3e-4 */
  schedopt_export_options o;
  schedopt_export_options_default(&o);
  o.peak_lr = 3e-4;
  const char *js = test_tmp_path("wsd.json");
  CHECK_MSG(schedopt_export_save(js, SCHEDOPT_EXPORT_JSON, &T.t, &o, &err) == SCHEDOPT_OK, "%s",
            err.msg);
  json_error_t je;
  json_t *root = json_load_file(js, 0, &je);
  CHECK_MSG(root != NULL, "%s:%d: %s", js, je.line, je.text);
  if (root) {
    CHECK(!strcmp(json_string_value(json_object_get(root, "format")), "schedopt-schedule"));
    CHECK(json_integer_value(json_object_get(root, "version")) == 1);
    CHECK(!strcmp(json_string_value(json_object_get(root, "problem")), "wsd_test"));
    CHECK(strstr(json_string_value(json_object_get(root, "description")), "\"quoted\" and a "
                                                                           "backslash \\"));
    CHECK(!strcmp(json_string_value(json_object_get(root, "clock")), "steps"));
    CHECK(json_integer_value(json_object_get(root, "rows")) == 2001);
    CHECK_CLOSE(json_number_value(json_object_get(root, "peak_lr")), 3e-4, 1e-14, 0);
    CHECK_CLOSE(json_number_value(json_object_get(root, "lr_scale")), 3e-4 / 0.4, 1e-14, 0);
    json_t *model = json_object_get(root, "model");
    CHECK_CLOSE(json_number_value(json_object_get(model, "a")), 2.5, 0, 0);
    CHECK_CLOSE(json_number_value(json_object_get(model, "s")), 1, 1e-15, 0);
    CHECK(!strcmp(json_string_value(json_object_get(model, "phase")), "easy"));
    json_t *tot = json_object_get(root, "totals");
    CHECK_CLOSE(json_number_value(json_object_get(tot, "samples")), 8000, 0, 0);
    json_t *cols = json_object_get(root, "columns");
    CHECK(json_object_size(cols) == 10);
    const char *names[] = {"step", "samples", "tokens", "lr", "batch", "momentum",
                           "loss", "excess", "bias", "variance"};
    for (int k = 0; k < 10; k++)
      CHECK_MSG(json_array_size(json_object_get(cols, names[k])) == 2001, "%s", names[k]);
    json_t *lr = json_object_get(cols, "lr"), *loss = json_object_get(cols, "loss");
    for (size_t i = 0; i < 2001; i += 97) {
      CHECK_CLOSE(json_number_value(json_array_get(lr, i)), T.rows[i].u.lr * 3e-4 / 0.4, 1e-14,
                  0);
      CHECK_CLOSE(json_number_value(json_array_get(loss, i)), T.rows[i].r.loss, 1e-14, 0);
    }
    json_decref(root);
  }
  /* no loss: six columns */
  T.t.has_loss = 0;
  T.t.problem = NULL;
  CHECK(schedopt_export_save(js, SCHEDOPT_EXPORT_JSON, &T.t, NULL, &err) == SCHEDOPT_OK);
  root = json_load_file(js, 0, &je);
  CHECK(root && json_object_size(json_object_get(root, "columns")) == 6 &&
        !json_object_get(root, "model"));
  json_decref(root);
  tab_free(&T);
}

/* ---- Python exports ------------------------------------------------------------ */

static const char *py_module_check =
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('sched', sys.argv[1])\n"
    "m = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(m)\n"
    "print('meta', repr(m.PEAK_LR), m.TOTAL_STEPS, repr(m.SEQ_LEN), m.PROBLEM)\n"
    "for a in sys.argv[2:]:\n"
    "    x = float(a)\n"
    "    tok = m.tokens_at(x)\n"
    "    print('at', repr(m.lr_at(x)), repr(m.lr_lambda(x)), repr(m.batch_at(x)),\n"
    "          repr(m.loss_at(x)), repr(m.samples_at(x)), repr(tok),\n"
    "          repr(m.step_at_tokens(tok)), repr(m.momentum_at(x)))\n"
    "print('hf', int(hasattr(m, 'make_optimizers')))\n"
    "try:\n"
    "    import torch\n"
    "except ImportError:\n"
    "    torch = None\n"
    "if torch is not None:  # the scheduler really follows the table\n"
    "    p = torch.nn.Parameter(torch.zeros(1))\n"
    "    opt = torch.optim.SGD([p], lr=m.PEAK_LR)\n"
    "    s = m.make_scheduler(opt)\n"
    "    worst = 0.0\n"
    "    for k in range(min(m.TOTAL_STEPS, 3000)):\n"
    "        worst = max(worst, abs(opt.param_groups[0]['lr'] - m.lr_at(k)))\n"
    "        opt.step()\n"
    "        s.step()\n"
    "    print('torch', repr(worst))\n"
    "else:\n"
    "    print('torch none')\n";

static const char *py_nanogpt_check =
    "import sys\n"
    "src = open(sys.argv[1]).read()\n"
    "ns = {}\n"
    "exec(src, ns)\n"
    "xs = [float(a) for a in sys.argv[2:]]\n"
    "print('alone', *[repr(ns['get_lr'](x)) for x in xs])\n"
    "ns['learning_rate'] = 6e-4  # as inside nanoGPT's train.py\n"
    "print('in_train', *[repr(ns['get_lr'](x)) for x in xs])\n";

/* Megatron's OptimizerParamScheduler.get_lr, transcribed from its source,
 * driven by the flags the export wrote; compared with the CSV table. */
static const char *py_megatron_check =
    "import math, re, sys, csv\n"
    "text = open(sys.argv[1]).read()\n"
    "body = re.search(r'SCHEDOPT_LR_ARGS=\\((.*?)\\)', text, re.S).group(1).split()\n"
    "a = {}\n"
    "for i, w in enumerate(body):\n"
    "    if w.startswith('--'):\n"
    "        a[w[2:]] = body[i + 1] if i + 1 < len(body) and not body[i + 1].startswith('--') "
    "else True\n"
    "unit = 'samples' if 'train-samples' in a else 'iters'\n"
    "max_lr, min_lr = float(a['lr']), float(a['min-lr'])\n"
    "init_lr = float(a.get('lr-warmup-init', 0))\n"
    "warm = float(a['lr-warmup-' + unit]); decay = float(a['lr-decay-' + unit])\n"
    "wsd = float(a.get('lr-wsd-decay-' + unit, 0)); style = a['lr-decay-style']\n"
    "wstyle = a.get('lr-wsd-decay-style')\n"
    "def get_lr(n):\n"
    "    if warm > 0 and n <= warm:\n"
    "        return init_lr + (max_lr - init_lr) * n / warm\n"
    "    if style == 'constant':\n"
    "        return max_lr\n"
    "    if n > decay:\n"
    "        return min_lr\n"
    "    if style == 'inverse-square-root':\n"
    "        return max(min_lr, max_lr * max(warm, 1) ** 0.5 / max(n, 1) ** 0.5)\n"
    "    r = (n - warm) / (decay - warm)\n"
    "    if style == 'linear':\n"
    "        c = 1.0 - r\n"
    "    elif style == 'cosine':\n"
    "        c = 0.5 * (math.cos(math.pi * r) + 1.0)\n"
    "    elif style == 'WSD':\n"
    "        start = decay - wsd\n"
    "        if n <= start:\n"
    "            c = 1.0\n"
    "        else:\n"
    "            z = (n - start) / wsd\n"
    "            c = {'linear': 1.0 - z, 'cosine': 0.5 * (math.cos(math.pi * z) + 1.0),\n"
    "                 'exponential': 2.0 * 0.5 ** z - 1.0, 'minus_sqrt': 1.0 - z ** 0.5}[wstyle]\n"
    "    return min_lr + c * (max_lr - min_lr)\n"
    "worst = 0.0\n"
    "for row in csv.DictReader(open(sys.argv[2])):\n"
    "    n = float(row['samples' if unit == 'samples' else 'step'])\n"
    "    worst = max(worst, abs(get_lr(n) - float(row['lr'])))\n"
    "print('worst', repr(worst / max_lr), style, wstyle)\n";

static double table_peak(const tab *T) {
  double m = 0;
  for (size_t i = 0; i < T->t.n; i++) m = fmax(m, T->rows[i].u.lr);
  return m;
}

/* The PyTorch or HF module, loaded by python3: every function against the
 * table's own interpolation at in-between, boundary and out-of-range steps. */
static void check_python_module(tab *T, schedopt_export_format f, double peak_lr) {
  schedopt_error err = {0};
  schedopt_export_options o;
  schedopt_export_options_default(&o);
  o.peak_lr = peak_lr;
  char py[4096];
  snprintf(py, sizeof py, "%s",
           test_tmp_path(f == SCHEDOPT_EXPORT_HF ? "hf_sched.py" : "pt_sched.py"));
  CHECK_MSG(schedopt_export_save(py, f, &T->t, &o, &err) == SCHEDOPT_OK, "%s", err.msg);
  if (!have_python) return;
  char script[4096];
  snprintf(script, sizeof script, "%s", test_write_tmp("check_module.py", py_module_check));
  const double last = T->rows[T->t.n - 1].step;
  const double xs[] = {-5, 0, 1, 2.5, 99.5, 100, 101, last / 3, last / 2 + 0.25, last - 1,
                       last, last + 10};
  const size_t nx = sizeof xs / sizeof *xs;
  char args[8192];
  int len = snprintf(args, sizeof args, "'%s'", py);
  for (size_t k = 0; k < nx; k++) len += snprintf(args + len, sizeof args - len, " %.17g", xs[k]);
  int rc = run_python(script, args, pyout, sizeof pyout);
  CHECK_MSG(rc == 0, "python3 exit %d: %s", rc, pyout);
  if (rc) return;
  const double peak = table_peak(T), sc = peak_lr > 0 ? peak_lr / peak : 1;
  double lmax = 0; /* the predicted loss: breakpoints to 1e-7 of its largest value */
  for (size_t i = 0; i < T->t.n; i++) lmax = fmax(lmax, fabs(T->rows[i].r.loss));
  char *line = strtok(pyout, "\n");
  double mpeak = 0, total = 0, seq = 0;
  char name[256] = "";
  CHECK(line && sscanf(line, "meta %lf %lf %lf %255s", &mpeak, &total, &seq, name) == 4);
  CHECK_CLOSE(mpeak, peak * sc, 1e-14, 0);
  CHECK(total == floor(last + 0.5));
  CHECK(seq == T->t.seq_len);
  CHECK_MSG(!strcmp(name, T->t.name), "%s", name);
  for (size_t k = 0; k < nx; k++) {
    line = strtok(NULL, "\n");
    double v[8];
    int got = line ? sscanf(line, "at %lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7])
                   : 0;
    CHECK_MSG(got == 8, "line '%s'", line ? line : "(none)");
    if (got != 8) return;
    const double x = xs[k];
    CHECK_CLOSE(v[0], sc * interp(&T->t, x, V_LR), 1e-12, 1e-15);        /* lr_at */
    CHECK_CLOSE(v[1], interp(&T->t, x, V_LR) / peak, 1e-12, 1e-15);      /* lr_lambda */
    CHECK_CLOSE(v[2], interp(&T->t, x, V_BATCH), 1e-12, 0);              /* batch_at */
    CHECK_CLOSE(v[3], interp(&T->t, x, V_LOSS), 0, 1e-7 * lmax);         /* loss_at */
    CHECK_CLOSE(v[4], interp(&T->t, x, V_SAMPLES), 1e-12, 1e-12);        /* samples_at */
    CHECK_CLOSE(v[5], T->t.seq_len * interp(&T->t, x, V_SAMPLES), 1e-12, 1e-9);
    CHECK_CLOSE(v[6], fmin(fmax(x, 0), last), 1e-9, 1e-9);               /* step_at_tokens */
    CHECK_CLOSE(v[7], interp(&T->t, x, V_MOM), 1e-12, 0);                /* momentum_at */
  }
  line = strtok(NULL, "\n");
  CHECK_MSG(line && !strcmp(line, f == SCHEDOPT_EXPORT_HF ? "hf 1" : "hf 0"), "%s",
            line ? line : "(none)");
  line = strtok(NULL, "\n");
  double worst = 0;
  if (line && sscanf(line, "torch %lf", &worst) == 1)
    CHECK_CLOSE(worst, 0, 0, 1e-12 * peak * sc);
  else
    CHECK_MSG(line && !strcmp(line, "torch none"), "%s", line ? line : "(none)");
}

static void check_nanogpt(tab *T) {
  schedopt_error err = {0};
  char py[4096];
  snprintf(py, sizeof py, "%s", test_tmp_path("nano_get_lr.py"));
  CHECK_MSG(schedopt_export_save(py, SCHEDOPT_EXPORT_NANOGPT, &T->t, NULL, &err) == SCHEDOPT_OK,
            "%s", err.msg);
  if (!have_python) return;
  char script[4096];
  snprintf(script, sizeof script, "%s", test_write_tmp("check_nano.py", py_nanogpt_check));
  const double last = T->rows[T->t.n - 1].step;
  const double xs[] = {0, 1, 50, 99, 100, 777, last - 1, last, last + 1};
  const size_t nx = sizeof xs / sizeof *xs;
  char args[8192];
  int len = snprintf(args, sizeof args, "'%s'", py);
  for (size_t k = 0; k < nx; k++) len += snprintf(args + len, sizeof args - len, " %.17g", xs[k]);
  int rc = run_python(script, args, pyout, sizeof pyout);
  CHECK_MSG(rc == 0, "python3 exit %d: %s", rc, pyout);
  if (rc) return;
  const double peak = table_peak(T);
  char *save = NULL, *line = strtok_r(pyout, "\n", &save);
  for (int pass = 0; pass < 2; pass++, line = strtok_r(NULL, "\n", &save)) {
    const char *tag = pass ? "in_train" : "alone";
    CHECK_MSG(line && !strncmp(line, tag, strlen(tag)), "%s", line ? line : "(none)");
    if (!line) return;
    char *p = line + strlen(tag);
    for (size_t k = 0; k < nx; k++) {
      char *end;
      double v = strtod(p, &end);
      CHECK(end != p);
      p = end;
      double want = interp(&T->t, xs[k], V_LR) * (pass ? 6e-4 / peak : 1);
      CHECK_CLOSE(v, want, 1e-12, 1e-15);
    }
  }
}

static void test_python(void) {
  have_python = system("python3 -c 'import bisect' >/dev/null 2>&1") == 0;
  if (!have_python)
    printf("SKIP: python3 not found: the Python exports are written but not loaded\n");
  tab T;
  tab_make(&T, P_WSD, 0);
  check_python_module(&T, SCHEDOPT_EXPORT_PYTORCH, 0);
  check_python_module(&T, SCHEDOPT_EXPORT_HF, 3e-4);
  check_nanogpt(&T);
  tab_free(&T);
  /* a varying batch and momentum on a token clock */
  tab_make(&T, P_RAMP, 0);
  check_python_module(&T, SCHEDOPT_EXPORT_PYTORCH, 0);
  check_nanogpt(&T);
  tab_free(&T);
}

/* ---- Megatron ------------------------------------------------------------------- */

static void check_megatron_python(const char *flags, const char *csv, double tol) {
  if (!have_python) return;
  char script[4096];
  snprintf(script, sizeof script, "%s", test_write_tmp("check_megatron.py", py_megatron_check));
  char args[8192];
  snprintf(args, sizeof args, "'%s' '%s'", flags, csv);
  int rc = run_python(script, args, pyout, sizeof pyout);
  CHECK_MSG(rc == 0, "python3 exit %d: %s", rc, pyout);
  double worst = 1;
  CHECK_MSG(sscanf(pyout, "worst %lf", &worst) == 1 && worst <= tol, "%s", pyout);
}

static void test_megatron(void) {
  schedopt_error err = {0};
  schedopt_megatron_fit f;
  schedopt_export_options o;
  schedopt_export_options_default(&o);
  tab T;

  /* WSD with warmup: exact */
  tab_make(&T, P_WSD, 0);
  CHECK(schedopt_export_megatron_fit(&T.t, &o, &f, &err) == SCHEDOPT_OK);
  CHECK_MSG(!strcmp(f.decay_style, "WSD") && f.wsd_style && !strcmp(f.wsd_style, "linear"),
            "%s %s", f.decay_style, f.wsd_style ? f.wsd_style : "-");
  CHECK(f.warmup == 100 && f.wsd_decay == 500 && f.decay == 2000 && f.train == 2000);
  CHECK_CLOSE(f.lr, 0.4, 1e-15, 0);
  CHECK_CLOSE(f.min_lr, 0.004, 1e-12, 0);
  CHECK_CLOSE(f.init_lr, 0.04, 1e-12, 0);
  CHECK(f.samples == 0 && f.batch == 4);
  CHECK_MSG(f.max_dev < 1e-12, "max_dev %g", f.max_dev);
  for (size_t i = 0; i < T.t.n; i += 13)
    CHECK_CLOSE(schedopt_megatron_lr(&f, T.rows[i].step), T.rows[i].u.lr, 1e-12, 1e-15);
  char flags[4096], csv[4096];
  snprintf(flags, sizeof flags, "%s", test_tmp_path("wsd_megatron.sh"));
  snprintf(csv, sizeof csv, "%s", test_tmp_path("wsd_megatron.csv"));
  CHECK(schedopt_export_save(flags, SCHEDOPT_EXPORT_MEGATRON, &T.t, &o, &err) == SCHEDOPT_OK);
  CHECK(schedopt_export_save(csv, SCHEDOPT_EXPORT_CSV, &T.t, &o, &err) == SCHEDOPT_OK);
  check_megatron_python(flags, csv, 1e-12);
  /* the same in samples */
  o.megatron_units = SCHEDOPT_MEGATRON_SAMPLES;
  CHECK(schedopt_export_megatron_fit(&T.t, &o, &f, &err) == SCHEDOPT_OK);
  CHECK(f.samples && f.warmup == 400 && f.wsd_decay == 2000 && f.train == 8000);
  CHECK(schedopt_export_save(flags, SCHEDOPT_EXPORT_MEGATRON, &T.t, &o, &err) == SCHEDOPT_OK);
  check_megatron_python(flags, csv, 1e-12);
  o.megatron_units = SCHEDOPT_MEGATRON_AUTO;
  tab_free(&T);

  /* cosine with warmup: Megatron's own cosine */
  tab_make(&T, P_COS, 0);
  CHECK(schedopt_export_megatron_fit(&T.t, &o, &f, &err) == SCHEDOPT_OK);
  CHECK_MSG(!strcmp(f.decay_style, "cosine") && !f.wsd_style && f.warmup == 60, "%s",
            f.decay_style);
  CHECK_MSG(f.max_dev < 1e-12, "max_dev %g", f.max_dev);
  CHECK(schedopt_export_save(flags, SCHEDOPT_EXPORT_MEGATRON, &T.t, &o, &err) == SCHEDOPT_OK);
  CHECK(schedopt_export_save(csv, SCHEDOPT_EXPORT_CSV, &T.t, &o, &err) == SCHEDOPT_OK);
  check_megatron_python(flags, csv, 1e-12);
  tab_free(&T);

  /* 8-1-1 has no Megatron equivalent: refused, the file left as it was */
  tab_make(&T, P_STEP, 0);
  FILE *fp = fopen(flags, "w");
  fputs("precious\n", fp);
  fclose(fp);
  CHECK(schedopt_export_save(flags, SCHEDOPT_EXPORT_MEGATRON, &T.t, &o, &err) ==
        SCHEDOPT_EINVAL);
  CHECK_MSG(strstr(err.msg, "no learning-rate schedule equivalent") &&
                strstr(err.msg, "of the peak") && strstr(err.msg, "--format pytorch"),
            "%s", err.msg);
  char line[64] = "";
  fp = fopen(flags, "r");
  CHECK(fp && fgets(line, sizeof line, fp) && !strcmp(line, "precious\n"));
  if (fp) fclose(fp);
  tab_free(&T);

  /* a geometric anneal is not Megatron's "exponential": refused at 2 %, the
   * nearest accepted at a looser tolerance and marked as not exact */
  tab_make(&T, P_EXP, 0);
  CHECK(schedopt_export_megatron_fit(&T.t, &o, &f, &err) == SCHEDOPT_OK);
  CHECK_MSG(f.max_dev > 0.02 && f.max_dev < 0.5, "max_dev %g", f.max_dev);
  CHECK(schedopt_export_write(stdout, SCHEDOPT_EXPORT_MEGATRON, &T.t, &o, &err) ==
        SCHEDOPT_EINVAL);
  o.tolerance = 0.5;
  CHECK(schedopt_export_save(flags, SCHEDOPT_EXPORT_MEGATRON, &T.t, &o, &err) == SCHEDOPT_OK);
  fp = fopen(flags, "r");
  char text[8192] = "";
  size_t got = fp ? fread(text, 1, sizeof text - 1, fp) : 0;
  text[got] = '\0';
  if (fp) fclose(fp);
  CHECK_MSG(strstr(text, "Not exact"), "%s", text);
  CHECK(schedopt_export_save(csv, SCHEDOPT_EXPORT_CSV, &T.t, &o, &err) == SCHEDOPT_OK);
  check_megatron_python(flags, csv, f.max_dev * (1 + 1e-9));
  o.tolerance = 0.02;
  tab_free(&T);

  /* a batch ramp: sample units, and iterations refused */
  tab_make(&T, P_RAMP, 0);
  CHECK(schedopt_export_megatron_fit(&T.t, &o, &f, &err) == SCHEDOPT_OK);
  CHECK_MSG(f.samples && f.batch == 0 && !strcmp(f.decay_style, "WSD") &&
                !strcmp(f.wsd_style, "cosine") && f.max_dev < 1e-3,
            "%s %g", f.decay_style, f.max_dev);
  o.megatron_units = SCHEDOPT_MEGATRON_ITERS;
  CHECK(schedopt_export_megatron_fit(&T.t, &o, &f, &err) == SCHEDOPT_EINVAL &&
        strstr(err.msg, "batch size varies"));
  tab_free(&T);
}

int main(void) {
  test_tables();
  test_csv_json();
  test_python();
  test_megatron();
  return test_finish();
}
