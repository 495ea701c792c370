/* Exact exports (issue 13, item 2): the trainer performs exactly the
 * schedule's steps and uses, at every step, the rate schedopt uses.
 *
 * Every control family (with warmups), a 100,000-step 1−sqrt anneal (the
 * case a 2,001-point grid put 1.25 % of the peak off) and a 64-knot
 * per-step design are exported as Python and loaded by python: lr_at(k)
 * and the real torch.optim.lr_scheduler.LambdaLR (stepped K times after
 * optimizer.step(), and rebuilt with last_epoch = k to resume) are compared
 * with schedopt_control_eval at every step to 1e-12 of the peak; nanoGPT's
 * get_lr runs inside a transcription of train.py's loop (which performs
 * max_iters + 1 iterations); torchtitan, OLMo-core and DeepSpeed through
 * transcriptions of the code that calls their hooks; HF's make_optimizers
 * builds the Trainer's weight-decay groups. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedopt/export.h"
#include "schedopt/schedopt.h"
#include "testutil.h"

static char pyout[1 << 16];
static const char *python;    /* an interpreter that runs the modules */
static int have_torch;

/* python3, else Debian's python3 if it has torch, else NULL. */
static void find_python(void) {
  const char *cands[] = {"python3", "/usr/bin/python3"};
  for (int i = 0; i < 2; i++) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", cands[i]);
    if (system(cmd) == 0) {
      python = cands[i];
      have_torch = 1;
      return;
    }
  }
  for (int i = 0; i < 2 && !python; i++) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s -c 'import bisect' >/dev/null 2>&1", cands[i]);
    if (system(cmd) == 0) python = cands[i];
  }
  if (!python) printf("SKIP: no python: the Python exports are written but not run\n");
  else printf("SKIP: python %s has no torch: LambdaLR, HF, torchtitan, OLMo-core and DeepSpeed "
              "checks skipped\n", python);
}

static int run_py(const char *script, const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s 2>&1", SCHEDOPT_TMP_DIR, python, script, args);
  int rc = test_run_cmd(cmd, pyout, sizeof pyout);
  CHECK_MSG(rc == 0, "python exit %d: %s", rc, pyout);
  return rc;
}

/* argv: module, file of the K expected rates (one per line), format.
 * Prints what the C side checks. */
static const char *py_check =
    "import importlib.util, sys, types, dataclasses\n"
    "path, want_file, fmt, use_torch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]\n"
    "want = [float(x) for x in open(want_file)]\n"
    "K = len(want)\n"
    "def load(name):\n"
    "    spec = importlib.util.spec_from_file_location(name, path)\n"
    "    m = importlib.util.module_from_spec(spec)\n"
    "    spec.loader.exec_module(m)\n"
    "    return m\n"
    "if fmt == 'nanogpt':\n"
    "    import re\n"
    "    src = open(path).read()\n"
    "    max_iters = int(re.search(r'max_iters = (\\d+)', src).group(1))\n"
    "    ns = {}\n"
    "    exec(src, ns)\n"
    "    ns['learning_rate'] = 6e-4\n"
    "    peak = ns['_schedopt_PEAK_LR']\n"
    "    # train.py (decay_lr = True): lr = get_lr(iter_num), one optimizer step,\n"
    "    # iter_num += 1, then 'if iter_num > max_iters: break'\n"
    "    iter_num, lrs = 0, []\n"
    "    while True:\n"
    "        lrs.append(ns['get_lr'](iter_num))\n"
    "        iter_num += 1\n"
    "        if iter_num > max_iters:\n"
    "            break\n"
    "    worst = max(abs(lrs[k] / 6e-4 - want[k] / peak) for k in range(min(K, len(lrs))))\n"
    "    print('steps', len(lrs), K)\n"
    "    print('worst', repr(worst))\n"
    "    sys.exit(0)\n"
    "m = load('sched')\n"
    "peak = m.PEAK_LR\n"
    "print('steps', m.TOTAL_STEPS, K)\n"
    "print('worst', repr(max(abs(m.lr_at(k) - want[k]) for k in range(K)) / peak))\n"
    "if use_torch != 'torch':\n"
    "    sys.exit(0)\n"
    "import torch\n"
    "p = torch.nn.Parameter(torch.zeros(1))\n"
    "def sgd():\n"
    "    return torch.optim.SGD([p], lr=peak)\n"
    "lrs = []\n"
    "if fmt == 'torchtitan':\n"
    "    # torchtitan/components/lr_scheduler.py: one LambdaLR per optimizer;\n"
    "    # the train loop steps the container after each optimizer step\n"
    "    tt = types.ModuleType('torchtitan.components.lr_scheduler')\n"
    "    class LRSchedulersContainer:\n"
    "        def __init__(self, optimizers, lr_lambda):\n"
    "            self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lr_lambda) for o in optimizers]\n"
    "        def step(self):\n"
    "            for s in self.schedulers:\n"
    "                s.step()\n"
    "    tt.LRSchedulersContainer = LRSchedulersContainer\n"
    "    for name in ('torchtitan', 'torchtitan.components'):\n"
    "        sys.modules[name] = types.ModuleType(name)\n"
    "    sys.modules['torchtitan.components.lr_scheduler'] = tt\n"
    "    opts = [sgd(), sgd()]\n"
    "    c = m.build_lr_schedulers(opts, None)\n"
    "    step = 0\n"
    "    while step < m.TOTAL_STEPS:  # while self.step < training.steps: self.step += 1; ...\n"
    "        step += 1\n"
    "        lrs.append(opts[1].param_groups[0]['lr'])\n"
    "        for o in opts:\n"
    "            o.step()\n"
    "        c.step()\n"
    "elif fmt == 'olmo_core':\n"
    "    # olmo_core/optim/scheduler.py: an abstract dataclass Scheduler;\n"
    "    # SchedulerCallback.pre_optim_step sets lr = get_lr(initial_lr, trainer.global_step,\n"
    "    # max_steps), and Trainer._fit_epoch increments global_step before each batch\n"
    "    import abc\n"
    "    sm = types.ModuleType('olmo_core.optim.scheduler')\n"
    "    @dataclasses.dataclass\n"
    "    class Scheduler(metaclass=abc.ABCMeta):\n"
    "        lr_field: str = 'lr'\n"
    "        initial_lr_field: str = 'initial_lr'\n"
    "        @abc.abstractmethod\n"
    "        def get_lr(self, initial_lr, current, t_max):\n"
    "            raise NotImplementedError\n"
    "    sm.Scheduler = Scheduler\n"
    "    for name in ('olmo_core', 'olmo_core.optim'):\n"
    "        sys.modules[name] = types.ModuleType(name)\n"
    "    sys.modules['olmo_core.optim.scheduler'] = sm\n"
    "    sched = m.make_olmo_core_scheduler()\n"
    "    opt = sgd()\n"
    "    global_step = 0\n"
    "    while global_step < m.TOTAL_STEPS:  # training_complete: global_step >= max_steps\n"
    "        global_step += 1\n"
    "        for g in opt.param_groups:\n"
    "            if g.get('initial_lr') is None:\n"
    "                g['initial_lr'] = g['lr']\n"
    "            g['lr'] = sched.get_lr(g['initial_lr'], global_step, m.TOTAL_STEPS)\n"
    "        lrs.append(opt.param_groups[0]['lr'])\n"
    "        opt.step()\n"
    "elif fmt == 'deepspeed':\n"
    "    # deepspeed.initialize(lr_scheduler=callable) calls it with the optimizer;\n"
    "    # the engine steps it after each optimizer step\n"
    "    opt = sgd()\n"
    "    s = m.deepspeed_lr_scheduler(opt)\n"
    "    for k in range(m.TOTAL_STEPS):\n"
    "        lrs.append(opt.param_groups[0]['lr'])\n"
    "        opt.step()\n"
    "        s.step()\n"
    "else:\n"
    "    opt = sgd()\n"
    "    s = torch.optim.lr_scheduler.LambdaLR(opt, m.lr_lambda)\n"
    "    for k in range(m.TOTAL_STEPS):\n"
    "        lrs.append(opt.param_groups[0]['lr'])\n"
    "        opt.step()\n"
    "        s.step()\n"
    "worst = max(abs(lrs[k] - want[k]) for k in range(min(K, len(lrs)))) / peak\n"
    "if fmt in ('pytorch', 'hf'):  # resume: a new LambdaLR after k steps taken\n"
    "    for k in sorted({0, 1, K // 3, K // 2, K - 2}):\n"
    "        if 0 <= k and k + 1 < K:\n"
    "            o2 = sgd()\n"
    "            o2.param_groups[0]['initial_lr'] = peak\n"
    "            m.make_scheduler(o2, last_epoch=k)\n"
    "            worst = max(worst, abs(o2.param_groups[0]['lr'] - want[k + 1]) / peak)\n"
    "print('trainer', len(lrs), repr(worst))\n";

/* Export t in format f with options o to name, run py_check against the K
 * rates want[0..K), and check the step count and every step's rate. */
static void check_export(const char *name, schedopt_export_format f,
                         const schedopt_export_table *t, const schedopt_export_options *o,
                         const double *want, size_t K, size_t *bytes, int torch) {
  schedopt_error err = {0};
  char py[4096], wf[4096];
  snprintf(py, sizeof py, "%s", test_tmp_path(name));
  CHECK_MSG(schedopt_export_save(py, f, t, o, &err) == SCHEDOPT_OK, "%s: %s", name, err.msg);
  if (bytes) {
    char *text = test_slurp(py, bytes);
    free(text);
  }
  if (!python) return;
  snprintf(wf, sizeof wf, "%s", test_tmp_path("want.txt"));
  FILE *fp = fopen(wf, "w");
  CHECK(fp != NULL);
  if (!fp) return;
  for (size_t k = 0; k < K; k++) fprintf(fp, "%.17g\n", want[k]);
  fclose(fp);
  char script[4096], args[8300];
  snprintf(script, sizeof script, "%s", test_write_tmp("check_exact.py", py_check));
  torch = torch && have_torch;
  snprintf(args, sizeof args, "'%s' '%s' %s %s", py, wf, schedopt_export_format_name(f),
           torch ? "torch" : "-");
  if (run_py(script, args)) return;
  long steps = -1, k = -1, n = -1;
  double worst = 1, tw = 1;
  char *line = strstr(pyout, "steps ");
  CHECK_MSG(line && sscanf(line, "steps %ld %ld", &steps, &k) == 2, "%s: %s", name, pyout);
  CHECK_MSG(steps == (long)K && k == (long)K, "%s: the trainer performs %ld steps, the schedule "
            "has %zu", name, steps, K);
  line = strstr(pyout, "worst ");
  CHECK_MSG(line && sscanf(line, "worst %lf", &worst) == 1 && worst <= 1e-12,
            "%s: lr_at off by %g of the peak", name, worst);
  if (torch && f != SCHEDOPT_EXPORT_NANOGPT) {
    line = strstr(pyout, "trainer ");
    CHECK_MSG(line && sscanf(line, "trainer %ld %lf", &n, &tw) == 2 && n == (long)K &&
                  tw <= 1e-12,
              "%s: the trainer ran %ld steps, off by %g of the peak: %s", name, n, tw, pyout);
  }
}

/* A table of the problem's schedule at every step 0 … K (row K: the end),
 * the rates of the steps in want[0..K); no prediction (only the rates are
 * checked). */
typedef struct steptab {
  schedopt_problem *p;
  schedopt_row *rows;
  double *want;
  size_t K;
  schedopt_export_table t;
} steptab;

static int steptab_make(steptab *S, const char *yaml) {
  schedopt_error err = {0};
  memset(S, 0, sizeof *S);
  if (test_make_problem(&S->p, yaml, "exact", NULL, 0, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return 1;
  }
  const schedopt_schedule *s = schedopt_problem_schedule(S->p);
  const double H = schedopt_schedule_horizon(s);
  const schedopt_control *bc = schedopt_schedule_get(s, SCHEDOPT_BATCH);
  const double B = schedopt_control_eval(bc, H, 0, NULL);
  const double dt = schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_STEPS
                        ? 1
                        : B * schedopt_schedule_units_per_sample(s);
  S->K = (size_t)floor(H / dt * (1 + 1e-12));
  S->rows = calloc(S->K + 1, sizeof *S->rows);
  S->want = calloc(S->K + 1, sizeof *S->want);
  for (size_t k = 0; k <= S->K; k++) {
    schedopt_row *r = &S->rows[k];
    r->t = fmin((double)k * dt, H);
    r->step = (double)k;
    r->samples = (double)k * B;
    schedopt_uval u;
    schedopt_schedule_eval(s, r->t, &u);
    r->u = u;
    S->want[k] = u.lr;
  }
  S->t = (schedopt_export_table){.rows = S->rows,
                                 .n = S->K + 1,
                                 .clock = schedopt_schedule_clock(s),
                                 .seq_len = schedopt_problem_seq_len(S->p),
                                 .name = "exact",
                                 .label = "schedule"};
  return 0;
}

static void steptab_free(steptab *S) {
  free(S->rows);
  free(S->want);
  schedopt_problem_free(S->p);
}

#define HEAD "model: {type: plrf, a: 2.5, b: 1.5, N: 50, sigma2: 0.1}\n"

/* Every family, closed form through options.schedule; and the same tables
 * without it (breakpoints of every step). */
static void families(void) {
  static const char *const lr[] = {
      "{type: constant, value: 0.3, warmup: 37, warmup_init: 0.05}",
      "{type: cosine, peak: 0.3, floor: 0.03, warmup: 60, warmup_init: 0.1}",
      "{type: linear, start: 0.3, end: 0.01, warmup: 10}",
      "{type: exponential, start: 0.3, end: 0.003}",
      "{type: wsd, peak: 0.4, floor: 0.004, decay_frac: 0.25, shape: linear, warmup: 100}",
      "{type: wsd, peak: 0.4, floor: 0.004, decay_frac: 0.3, shape: cosine}",
      "{type: wsd, peak: 0.4, floor: 0.004, decay_frac: 0.3, shape: exponential}",
      "{type: wsd, peak: 0.4, decay_frac: 0.2137, shape: sqrt, warmup: 33}",
      "{type: wsd, peak: 0.4, floor: 0.01, decay_frac: 0.3, shape: power, delta: 2.5}",
      "{type: multistep, peak: 0.3, milestones: [0.3, 0.61], factors: [1, 0.5, 0.07]}",
      "{type: '811', peak: 0.3, warmup: 20}",
      "{type: power, peak: 0.3, t0: 17, chi: 0.7, warmup: 5}",
      "{type: polynomial, peak: 0.3, delta: 1.7, floor: 0.02, warmup: 40, warmup_init: 0.2}",
      "{type: table, t: [0, 100, 700.5, 1500], v: [0.1, 0.3, 0.2, 0.001]}",
      "{type: table, interp: step, t: [0, 250.25, 999], v: [0.3, 0.1, 0.05]}",
  };
  for (size_t i = 0; i < sizeof lr / sizeof *lr; i++) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml, HEAD "budget: {steps: %d}\ncontrols: {lr: %s, batch: 4}\n",
             1733 + (int)i, lr[i]);
    steptab S;
    if (steptab_make(&S, yaml)) continue;
    schedopt_export_options o;
    schedopt_export_options_default(&o);
    o.schedule = schedopt_problem_schedule(S.p);
    char name[64];
    snprintf(name, sizeof name, "family%zu.py", i);
    check_export(name, SCHEDOPT_EXPORT_PYTORCH, &S.t, &o, S.want, S.K, NULL, i == 1);
    snprintf(name, sizeof name, "family%zu_table.py", i);
    check_export(name, SCHEDOPT_EXPORT_PYTORCH, &S.t, NULL, S.want, S.K, NULL, 0);
    if (i == 4) { /* every trainer's hook, on WSD with a warmup */
      check_export("family_nano.py", SCHEDOPT_EXPORT_NANOGPT, &S.t, &o, S.want, S.K, NULL, 0);
      check_export("family_hf.py", SCHEDOPT_EXPORT_HF, &S.t, &o, S.want, S.K, NULL, 1);
      check_export("family_titan.py", SCHEDOPT_EXPORT_TORCHTITAN, &S.t, &o, S.want, S.K, NULL, 1);
      check_export("family_olmo.py", SCHEDOPT_EXPORT_OLMO_CORE, &S.t, &o, S.want, S.K, NULL, 1);
      check_export("family_ds.py", SCHEDOPT_EXPORT_DEEPSPEED, &S.t, &o, S.want, S.K, NULL, 1);
    }
    steptab_free(&S);
  }
  /* a token budget with a constant batch: step k is at k·B·seq_len tokens */
  steptab S;
  if (!steptab_make(&S, HEAD "budget: {tokens: 3.3e6, seq_len: 512}\n"
                             "controls: {lr: {type: wsd, peak: 0.3, decay_frac: 0.3, shape: sqrt, "
                             "warmup: 40960}, batch: 8}\n")) {
    schedopt_export_options o;
    schedopt_export_options_default(&o);
    o.schedule = schedopt_problem_schedule(S.p);
    o.peak_lr = 3e-4;
    for (size_t k = 0; k < S.K; k++) S.want[k] *= 3e-4 / 0.3;
    check_export("tokens.py", SCHEDOPT_EXPORT_PYTORCH, &S.t, &o, S.want, S.K, NULL, 0);
    steptab_free(&S);
  }
}

/* 100,000 steps of WSD with a 1−sqrt anneal: exact at every step (the grid
 * of 2,001 points was 1.25 % of the peak off at step 80,013). */
static void long_horizon(void) {
  steptab S;
  if (steptab_make(&S, HEAD "budget: {steps: 100000}\n"
                            "controls: {lr: {type: wsd, peak: 1, decay_frac: 0.2, shape: sqrt, "
                            "warmup: 1000}, batch: 4}\n"))
    return;
  schedopt_export_options o;
  schedopt_export_options_default(&o);
  o.schedule = schedopt_problem_schedule(S.p);
  size_t bytes = 0;
  check_export("long.py", SCHEDOPT_EXPORT_PYTORCH, &S.t, &o, S.want, S.K, &bytes, 1);
  CHECK_MSG(bytes < 16384, "a 3-parameter WSD module is %zu bytes", bytes);
  check_export("long_nano.py", SCHEDOPT_EXPORT_NANOGPT, &S.t, &o, S.want, S.K, NULL, 0);
  steptab_free(&S);
}

/* A design as `schedopt design` exports it: η_0 … η_{K−1} per step (here
 * 64 knots at (n−1)(1 − (1 − j/63)²) after a 2,160-step warmup, values of
 * a power-law decay, as the knots parametrization places them), then the
 * end row.  Breakpoints at every step to 1e-12, in ≤ 64 KB. */
static void design_table(void) {
  const size_t K = 38146, W = 2160, nk = 64;
  double kt[64], kv[64];
  for (size_t j = 0; j < nk; j++) {
    double x = (double)j / (double)(nk - 1);
    kt[j] = (double)W + (double)(K - 1 - W) * (1 - (1 - x) * (1 - x));
    kv[j] = 3e-4 * pow(1 + 40 * x, -0.8) + 1e-7 * sin(7.0 * (double)j);
  }
  schedopt_row *rows = calloc(K + 1, sizeof *rows);
  double *want = calloc(K + 1, sizeof *want);
  for (size_t k = 0; k <= K; k++) {
    double x = (double)(k < K ? k : K - 1), v;
    if (x < (double)W) {
      v = kv[0] * (x + 1) / (double)W;
    } else {
      size_t j = 0;
      while (j + 2 < nk && kt[j + 1] <= x) j++;
      double th = (x - kt[j]) / (kt[j + 1] - kt[j]);
      v = (1 - th) * kv[j] + th * kv[j + 1];
    }
    rows[k].t = rows[k].step = (double)k;
    rows[k].samples = 256.0 * (double)k;
    rows[k].u.lr = want[k] = v;
    rows[k].u.batch = 256;
  }
  schedopt_export_table t = {.rows = rows, .n = K + 1, .clock = SCHEDOPT_CLOCK_STEPS,
                             .seq_len = 2048, .name = "design", .label = "design"};
  size_t bytes = 0;
  check_export("design.py", SCHEDOPT_EXPORT_PYTORCH, &t, NULL, want, K, &bytes, 1);
  CHECK_MSG(bytes <= 65536, "a 64-knot design module is %zu bytes (> 64 KB)", bytes);
  check_export("design_nano.py", SCHEDOPT_EXPORT_NANOGPT, &t, NULL, want, K, NULL, 0);
  free(rows);
  free(want);
}

/* HF: the groups Trainer.create_optimizer builds (get_decay_parameter_names:
 * no decay on biases, LayerNorm weights, names with norm) and the
 * TrainingArguments' AdamW settings. */
static const char *py_hf =
    "import importlib.util, sys, types\n"
    "import torch\n"
    "spec = importlib.util.spec_from_file_location('sched', sys.argv[1])\n"
    "m = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(m)\n"
    "class Block(torch.nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.attn = torch.nn.Linear(4, 4)\n"
    "        self.ln_1 = torch.nn.LayerNorm(4)\n"
    "        self.q_norm = torch.nn.Linear(4, 4, bias=False)  # a 'norm' by name\n"
    "        self.embed = torch.nn.Embedding(10, 4)\n"
    "        self.scale = torch.nn.Parameter(torch.ones(4))\n"
    "model = torch.nn.Sequential(Block(), torch.nn.Linear(4, 2))\n"
    "model[1].weight.requires_grad_(False)\n"
    "args = types.SimpleNamespace(learning_rate=3e-4, weight_decay=0.1, adam_beta1=0.9,\n"
    "                             adam_beta2=0.95, adam_epsilon=1e-8)\n"
    "opt, sched = m.make_optimizers(model, args=args)\n"
    "names = {id(p): n for n, p in model.named_parameters()}\n"
    "for g in opt.param_groups:\n"
    "    print('group', g['weight_decay'], g['lr'], g['betas'][0], g['betas'][1], g['eps'],\n"
    "          ' '.join(sorted(names[id(p)] for p in g['params'])))\n"
    "opt2, _ = m.make_optimizers(model)\n"
    "print('default', opt2.param_groups[0]['weight_decay'], opt2.param_groups[0]['lr'] == m.PEAK_LR)\n";

static void hf_groups(void) {
  if (!have_torch) return;
  steptab S;
  if (steptab_make(&S, HEAD "budget: {steps: 100}\ncontrols: {lr: {type: cosine, peak: 0.3}, "
                            "batch: 4}\n"))
    return;
  schedopt_error err = {0};
  char py[4096], script[4096], args[8192];
  snprintf(py, sizeof py, "%s", test_tmp_path("hf_groups.py"));
  CHECK_MSG(schedopt_export_save(py, SCHEDOPT_EXPORT_HF, &S.t, NULL, &err) == SCHEDOPT_OK, "%s",
            err.msg);
  snprintf(script, sizeof script, "%s", test_write_tmp("check_hf.py", py_hf));
  snprintf(args, sizeof args, "'%s'", py);
  if (!run_py(script, args)) {
    CHECK_MSG(strstr(pyout, "group 0.1 0.0003 0.9 0.95 1e-08 0.attn.weight 0.embed.weight "
                            "0.scale\n"),
              "%s", pyout);
    CHECK_MSG(strstr(pyout, "group 0.0 0.0003 0.9 0.95 1e-08 0.attn.bias 0.ln_1.bias "
                            "0.ln_1.weight 0.q_norm.weight 1.bias\n"),
              "%s", pyout);
    CHECK_MSG(strstr(pyout, "default 0.0 True"), "%s", pyout);
  }
  steptab_free(&S);
}

int main(void) {
  find_python();
  families();
  long_horizon();
  design_table();
  hf_groups();
  return test_finish();
}
