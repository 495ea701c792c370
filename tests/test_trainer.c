/* Trainers' built-in schedules (trainer.h): every type's rates at every step
 * against the trainer's own logic, transcribed from its source in
 * tests/trainers/trainer_check.py and driven by the config schedopt writes
 * (torchtitan under torch's real LambdaLR when python3-torch is installed);
 * closed-form points; the in-family tuning of a design (a local optimum of
 * the integer decay length and the end rate, and no worse than the matching
 * tuned baseline); and `schedopt design` writing the flags Megatron's
 * scheduler turns into the tuned schedule at every step. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/schedopt.h"
#include "testutil.h"

static char python[64];

/* A python3 with tomllib (3.11+), preferring one that has torch. */
static void find_python(void) {
  const char *cands[] = {"python3", "/usr/bin/python3"};
  char out[256];
  for (int want_torch = 1; want_torch >= 0 && !python[0]; want_torch--)
    for (size_t i = 0; i < 2 && !python[0]; i++) {
      char cmd[256];
      snprintf(cmd, sizeof cmd, "%s -c 'import tomllib%s' >/dev/null 2>&1", cands[i],
               want_torch ? ", torch" : "");
      if (test_run_cmd(cmd, out, sizeof out) == 0) snprintf(python, sizeof python, "%s", cands[i]);
    }
}

/* Replays batched into one python run (starting python with torch costs a
 * second): write s's config and rates, remember the triple. */
#define MAXREPLAY 128
static char *replay_args; /* "TRAINER 'CONFIG' 'RATES' ..." */
static size_t nreplay;
static char replay_tag[MAXREPLAY][128];
static size_t replay_steps[MAXREPLAY];

/* given: the config a command wrote (NULL: write s's here) */
static void replay_add(const schedopt_trainer_sched *s, const char *tag, const char *given) {
  schedopt_error err = {0};
  char cfg[600], rates[640];
  if (nreplay >= MAXREPLAY) return;
  snprintf(cfg, sizeof cfg, "%.590s", given ? given : test_tmp_path(tag));
  snprintf(rates, sizeof rates, "%.590s.r", test_tmp_path(tag));
  FILE *fp;
  if (!given) {
    fp = fopen(cfg, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    CHECK(schedopt_trainer_write(fp, s, "test", 8, &err) == SCHEDOPT_OK);
    fclose(fp);
  }
  fp = fopen(rates, "w");
  for (size_t k = 0; k < s->steps; k++) fprintf(fp, "%.17g\n", schedopt_trainer_lr(s, k));
  fclose(fp);
  if (!replay_args) replay_args = calloc(1, 1 << 18);
  size_t len = strlen(replay_args);
  snprintf(replay_args + len, (1 << 18) - len, " %s '%s' '%s'", s->type->trainer, cfg, rates);
  snprintf(replay_tag[nreplay], sizeof replay_tag[0], "%.120s", tag);
  replay_steps[nreplay++] = s->steps;
}

/* Run them: every trainer performs the designed steps at schedopt's rates. */
static void replay_run(void) {
  if (!python[0] || !nreplay) return;
  size_t cap = strlen(replay_args) + 512;
  char *cmd = malloc(cap), *out = malloc(1 << 16);
  snprintf(cmd, cap, "%s '%s/tests/trainers/trainer_check.py'%s 2>&1", python,
           SCHEDOPT_SOURCE_DIR, replay_args);
  int rc = test_run_cmd(cmd, out, 1 << 16);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  const char *p = out;
  for (size_t i = 0; i < nreplay && !rc; i++) {
    size_t steps = 0;
    double worst = INFINITY;
    const char *line = strstr(p, "steps ");
    CHECK_MSG(line && sscanf(line, "steps %zu worst %lg", &steps, &worst) == 2, "%s: %s",
              replay_tag[i], p);
    if (!line) break;
    p = line + 6;
    CHECK_MSG(steps == replay_steps[i], "%s: the trainer performs %zu steps, designed %zu",
              replay_tag[i], steps, replay_steps[i]);
    CHECK_MSG(worst <= 1e-12, "%s: differs by %g of the peak", replay_tag[i], worst);
  }
  if (!rc && !strstr(out, "torch yes"))
    printf("SKIP: no torch: torchtitan's lambda replayed without LambdaLR\n");
  free(cmd), free(out);
  free(replay_args);
  replay_args = NULL;
  nreplay = 0;
}

static void test_replay(void) {
  find_python();
  if (!python[0]) printf("SKIP: no python3 with tomllib: the trainers' own logic is not replayed\n");
  /* (K, W, D, floor/peak): with and without warmup, short and long decays,
   * a floor and none, a longer run */
  const struct {
    size_t K, W, D;
    double fr;
  } cases[] = {{1000, 0, 200, 0.0}, {1000, 50, 1, 0.1}, {1000, 50, 950, 0.01},
               {2001, 7, 333, 0.0371}, {30011, 2000, 5123, 0.05}};
  for (size_t t = 0; schedopt_trainer_types[t]; t++)
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
      const schedopt_trainer_type *T = schedopt_trainer_types[t];
      schedopt_trainer_sched s = {T, cases[c].K, cases[c].W, cases[c].D, 3e-4, 3e-4 * cases[c].fr};
      schedopt_error err = {0};
      if (!strcmp(T->trainer, "deepspeed") && cases[c].W == 0) { /* warmup_num_steps >= 1 */
        CHECK(schedopt_trainer_check(&s, &err) == SCHEDOPT_EINVAL &&
              test_err_has(&err, "warmup_num_steps >= 1", NULL));
        continue;
      }
      CHECK_MSG(schedopt_trainer_check(&s, &err) == SCHEDOPT_OK, "%s: %s", T->name, err.msg);
      if (cases[c].W > 0) /* warmup: the first step is a small fraction of the peak */
        CHECK(schedopt_trainer_lr(&s, 0) <= s.peak * 2.0 / (double)cases[c].W);
      double mx = 0;
      for (size_t k = 0; k < s.steps; k++) mx = fmax(mx, schedopt_trainer_lr(&s, k));
      CHECK_MSG(mx <= s.peak * (1 + 1e-15), "%s: max %g above the peak", T->name, mx);
      char tag[128];
      snprintf(tag, sizeof tag, "%s_%zu", T->name, c);
      replay_add(&s, tag, NULL);
    }
  replay_run();
  /* closed forms */
  schedopt_trainer_sched m = {schedopt_trainer_type_find("megatron-wsd-linear"), 100, 10, 20, 1.0,
                              0.1};
  CHECK_CLOSE(schedopt_trainer_lr(&m, 5), 0.5, 1e-15, 0);     /* warmup k/W */
  CHECK_CLOSE(schedopt_trainer_lr(&m, 80), 1.0, 1e-15, 0);    /* anneal starts after K − D */
  CHECK_CLOSE(schedopt_trainer_lr(&m, 90), 0.55, 1e-15, 0);   /* half way */
  schedopt_trainer_sched tt = {schedopt_trainer_type_find("torchtitan-linear"), 100, 10, 20, 1.0,
                               0.0};
  CHECK_CLOSE(schedopt_trainer_lr(&tt, 0), 0.1, 1e-15, 0);    /* (k + 1)/W */
  CHECK_CLOSE(schedopt_trainer_lr(&tt, 80), 1.0, 1e-15, 0);   /* stable through K − D */
  CHECK_CLOSE(schedopt_trainer_lr(&tt, 81), 0.95, 1e-15, 0);  /* p = (k − K + D)/D */
  schedopt_trainer_sched ng = {schedopt_trainer_type_find("nanogpt-cosine"), 100, 9, 50, 1.0, 0.2};
  CHECK_CLOSE(schedopt_trainer_lr(&ng, 0), 0.1, 1e-15, 0);    /* (k + 1)/(W + 1) */
  CHECK_CLOSE(schedopt_trainer_lr(&ng, 59), 0.2, 1e-15, 0);   /* the end of the cosine */
  CHECK_CLOSE(schedopt_trainer_lr(&ng, 99), 0.2, 1e-15, 0);
  /* bad schedules are refused with the value and the range */
  schedopt_error err = {0};
  schedopt_trainer_sched bad = m;
  bad.decay = 95;
  CHECK(schedopt_trainer_check(&bad, &err) == SCHEDOPT_EINVAL &&
        test_err_has(&err, "decay = 95", "[1, steps - warmup = 90]"));
  bad = m, bad.floor = 2;
  CHECK(schedopt_trainer_check(&bad, &err) == SCHEDOPT_EINVAL && test_err_has(&err, "floor = 2", NULL));
  CHECK(schedopt_trainer_type_find("megatron-wsd-minus_sqrt") != NULL);
  CHECK(schedopt_trainer_type_find("megatron") == NULL && schedopt_trainer_known("megatron"));
}

/* ---- in-family tuning under a surrogate ---- */

static const double mpl100m[7] = {2.6514477, 0.60115152, 0.45295811, 437.9464276,
                                  2.13245612, 0.59785199, 0.65523644};

static double final_loss(const schedopt_surrogate *s, const schedopt_trainer_sched *t, double *lr) {
  schedopt_error err = {0};
  schedopt_trainer_fill(t, lr);
  size_t out = t->steps - 1;
  schedopt_surrogate_input in = {lr, t->steps, &out, 1, NULL};
  double L = NAN;
  OK(schedopt_surrogate_predict(s, &in, &L, NULL, &err));
  return L;
}

static void test_design(void) {
  schedopt_error err = {0};
  schedopt_surrogate *s = NULL;
  schedopt_lrdesign *d = NULL;
  OK(schedopt_surrogate_alloc(&s, schedopt_surrogate_mpl, &err));
  OK(schedopt_surrogate_set_params(s, mpl100m, &err));
  OK(schedopt_lrdesign_alloc(&d, s, &err));
  const size_t K = 6000, W = 300;
  OK(schedopt_lrdesign_set_steps(d, K, &err));
  OK(schedopt_lrdesign_set_lr(d, 3e-4, 0, 0, &err));
  OK(schedopt_lrdesign_set_warmup(d, W, SCHEDOPT_WARMUP_LINEAR, &err));
  OK(schedopt_lrdesign_set_param(d, SCHEDOPT_LRDESIGN_KNOTS, 16, 1, &err));
  OK(schedopt_lrdesign_set_trainers(d, schedopt_trainer_types, SCHEDOPT_TRAINER_NTYPES, &err));
  OK(schedopt_lrdesign_run(d, &err));
  schedopt_lrdesign_result r;
  OK(schedopt_lrdesign_get_result(d, &r, &err));
  CHECK(r.ntrainers == SCHEDOPT_TRAINER_NTYPES);
  double *lr = malloc(K * sizeof *lr);
  size_t nbest = 0;
  for (size_t i = 0; i < r.ntrainers; i++) {
    const schedopt_lrdesign_trainer *t = &r.trainers[i];
    const schedopt_trainer_type *T = t->sched.type;
    nbest += t->best;
    CHECK(t->sched.steps == K && t->sched.warmup == W && t->sched.peak == 3e-4);
    CHECK_CLOSE(t->cost, t->final_loss - r.final_loss, 1e-12, 1e-15);
    /* the reported loss is the loss of the reported schedule */
    CHECK_CLOSE(final_loss(s, &t->sched, lr), t->final_loss, 1e-8, 0);
    /* a local optimum: no neighbour in D or in the end rate is better */
    const double L0 = t->final_loss, tol = 1e-9 * L0;
    if (T->has_decay) {
      for (int sgn = -1; sgn <= 1; sgn += 2)
        for (double step = 0.02; step <= 0.08; step *= 2) {
          schedopt_trainer_sched n = t->sched;
          double D = (double)n.decay * (1 + sgn * step);
          if (D < 1 || D > (double)(K - W)) continue;
          n.decay = (size_t)floor(D + 0.5);
          CHECK_MSG(final_loss(s, &n, lr) >= L0 - tol, "%s: D = %zu beats the tuned %zu", T->name,
                    n.decay, t->sched.decay);
        }
    }
    if (T->has_floor)
      for (int j = 0; j < 2; j++) {
        schedopt_trainer_sched n = t->sched;
        n.floor = j ? fmin(n.floor * 1.3 + 1e-7, 0.99 * n.peak) : n.floor * 0.7;
        CHECK_MSG(final_loss(s, &n, lr) >= L0 - tol, "%s: end rate %g beats the tuned %g",
                  T->name, n.floor, t->sched.floor);
      }
  }
  CHECK(nbest == 5);
  /* Megatron's WSD with a linear anneal holds the tuned wsd-linear baseline
   * (same warmup k/W; its end rate is tuned too, its decay start an integer) */
  const schedopt_lrdesign_trainer *mw = NULL;
  for (size_t i = 0; i < r.ntrainers; i++)
    if (!strcmp(r.trainers[i].sched.type->name, "megatron-wsd-linear")) mw = &r.trainers[i];
  for (size_t i = 0; mw && i < r.nbaselines; i++)
    if (!strcmp(r.baselines[i].name, "wsd-linear"))
      CHECK_MSG(mw->final_loss <= r.baselines[i].final_loss + 1e-6 * r.final_loss,
                "megatron WSD linear %.9f above the wsd-linear baseline %.9f", mw->final_loss,
                r.baselines[i].final_loss);
  free(lr);
  schedopt_lrdesign_free(d);
  schedopt_surrogate_free(s);
}

/* ---- in-family optimum under a theory model (optimize) ---- */

static void test_optimize(void) {
  schedopt_error err = {0};
  schedopt_problem *p = NULL;
  schedopt_optimization *o = NULL;
  const char *yaml = "name: tr\nmodel: {type: plrf, a: 3.5, b: 5, N: 100, sigma2: 0.25, "
                     "dynamics: recursion, split: false}\nbudget: {steps: 600}\n"
                     "controls:\n  lr: {type: wsd, peak: 1.0, decay_frac: 0.2, warmup: 20}\n"
                     "  batch: 5\noptimize:\n  controls: {lr: {param: freeform, knots: 16, max: 1}}\n"
                     "  baselines: [wsd, megatron, torchtitan, olmo_core, nanogpt, deepspeed]\n";
  OK(test_optimize_yaml(yaml, "tr.yaml", &p, &o, &err));
  const double H = 600;
  size_t ntr = 0;
  double wsd_J = NAN, mg_J = NAN;
  for (size_t i = 0; i < schedopt_optimization_nbaselines(o); i++) {
    const schedopt_baseline *b = schedopt_optimization_baseline(o, i, NULL, NULL);
    if (!strcmp(b->type->name, "wsd")) wsd_J = b->J;
    schedopt_trainer_sched ts;
    if (schedopt_baseline_trainer_sched(b, H, &ts, &err)) continue;
    ntr++;
    if (!strcmp(b->type->name, "megatron")) mg_J = b->J;
    CHECK(!strcmp(ts.type->trainer, b->type->name) && ts.steps == 600 && ts.warmup == 20);
    CHECK_MSG(ts.decay == floor((double)ts.decay) && (ts.decay >= 1 || !ts.type->has_decay),
              "%s: decay %zu", b->label, ts.decay);
    /* the tuned control at every step is the trainer's rate of that step */
    double worst = 0;
    for (size_t k = 0; k < ts.steps; k++)
      worst = fmax(worst, fabs(schedopt_control_eval(b->control, H, (double)k, NULL) -
                               schedopt_trainer_lr(&ts, k)));
    CHECK_MSG(worst <= 1e-15 * ts.peak, "%s: control and trainer differ by %g", b->label, worst);
    /* the reported objective is the final loss of those per-step rates */
    double *t = malloc(601 * sizeof *t), *v = malloc(601 * sizeof *v);
    for (size_t k = 0; k <= 600; k++)
      t[k] = (double)k, v[k] = k < 600 ? schedopt_trainer_lr(&ts, k) : schedopt_trainer_lr(&ts, 599);
    schedopt_control *tab = NULL;
    schedopt_schedule *s = NULL;
    OK(schedopt_control_alloc(&tab, schedopt_control_table, &err));
    OK(schedopt_control_set_choice(tab, "interp", "step", &err));
    OK(schedopt_control_set_table(tab, 601, t, v, &err));
    const schedopt_schedule *ps = schedopt_problem_schedule(p);
    OK(schedopt_schedule_alloc(&s, SCHEDOPT_CLOCK_STEPS, H, 1, &err));
    OK(schedopt_schedule_set(s, SCHEDOPT_LR, tab, &err));
    OK(schedopt_schedule_set(s, SCHEDOPT_BATCH, schedopt_schedule_get(ps, SCHEDOPT_BATCH), &err));
    double tf = H;
    schedopt_row row;
    size_t nr = 0;
    OK(schedopt_export_simulate(p, s, &tf, 1, &row, &nr, &err));
    CHECK_CLOSE(row.r.loss, b->J, 1e-9, 0);
    schedopt_schedule_free(s);
    schedopt_control_free(tab);
    free(t), free(v);
  }
  CHECK(ntr == 5);
  /* Megatron's WSD styles include linear, cosine and 1 - sqrt anneals with a
   * tuned end rate: within 1 % of the tuned continuous-time WSD baseline */
  CHECK_MSG(mg_J <= wsd_J * 1.01, "megatron %g vs wsd %g", mg_J, wsd_J);
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  /* a data clock: refused with the reason */
  const char *ytok = "name: tk\nmodel: {type: plrf, a: 3.5, b: 5, N: 50, sigma2: 0.25}\n"
                     "budget: {samples: 3000}\ncontrols: {lr: {type: constant, value: 0.5}, batch: 5}\n"
                     "optimize:\n  controls: {lr: {param: freeform, knots: 16, max: 1}}\n"
                     "  baselines: [megatron]\n";
  schedopt_status st = test_optimize_yaml(ytok, "tk.yaml", &p, &o, &err);
  CHECK(st == SCHEDOPT_EINVAL && test_err_has(&err, "counts optimizer steps", NULL));
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
  /* two steps: DeepSpeed runs both at 0; refused, not reported as a baseline
   * without its config */
  const char *y2 = "name: k2\nmodel: {type: plrf, a: 3.5, b: 5, N: 50, sigma2: 0.25, "
                   "dynamics: recursion, split: false}\nbudget: {steps: 2}\n"
                   "controls: {lr: {type: constant, value: 0.5}, batch: 5}\n"
                   "optimize:\n  controls: {lr: {param: freeform, knots: 16, max: 1}}\n"
                   "  baselines: [deepspeed]\n";
  p = NULL, o = NULL;
  st = test_optimize_yaml(y2, "k2.yaml", &p, &o, &err);
  CHECK_MSG(st == SCHEDOPT_EINVAL && test_err_has(&err, "baseline deepspeed", "first two steps"),
            "status %d: %s", st, err.msg);
  schedopt_optimization_free(o);
  schedopt_problem_free(p);
}

/* ---- the CLI: a design writes each trainer's config, Megatron's replays ---- */

#define MPL_INLINE                                                                          \
  "model: {type: mpl, params: {L0: 2.6514477, A: 0.60115152, alpha: 0.45295811, B: "         \
  "437.9464276, C: 2.13245612, beta: 0.59785199, gamma: 0.65523644}}\n"

static void test_cli(void) {
  char args[4096], out[16384], path[1024];
  const char *dir = test_tmp_path("design");
  char d[512];
  snprintf(d, sizeof d, "%s", dir);
  const char *spec = test_write_tmp("tr.yaml", MPL_INLINE "budget: {steps: 3000}\n"
                                    "lr: {peak: 3.0e-4, warmup: 150}\n"
                                    "design: {knots: 8, trainers: [megatron, nanogpt-cosine]}\n");
  snprintf(args, sizeof args, "design '%s' -o '%s' -q", spec, d);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(path, sizeof path, "%s/megatron_flags.sh", d);
  CHECK(access(path, F_OK) == 0);
  snprintf(path, sizeof path, "%s/nanogpt_config.py", d);
  CHECK(access(path, F_OK) == 0);
  snprintf(path, sizeof path, "%s/torchtitan.toml", d);
  CHECK(access(path, F_OK) != 0);
  /* summary.json: every tuned type; the best Megatron one replayed by
   * Megatron's own scheduler from the flags the design wrote */
  snprintf(path, sizeof path, "%s/summary.json", d);
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  CHECK(j != NULL);
  json_t *tr = json_object_get(j, "trainers");
  CHECK(json_array_size(tr) == 8);
  for (size_t i = 0; i < json_array_size(tr); i++) {
    json_t *e = json_array_get(tr, i);
    if (!json_is_true(json_object_get(e, "best_of_trainer"))) continue;
    const char *name = json_string_value(json_object_get(e, "name"));
    const schedopt_trainer_type *T = schedopt_trainer_type_find(name);
    CHECK(T != NULL);
    if (!T) continue;
    schedopt_trainer_sched s = {T, (size_t)json_integer_value(json_object_get(e, "steps")),
                                (size_t)json_integer_value(json_object_get(e, "warmup")),
                                (size_t)json_integer_value(json_object_get(e, "decay")),
                                json_real_value(json_object_get(e, "peak")),
                                json_real_value(json_object_get(e, "floor"))};
    CHECK(s.steps == 3000 && s.warmup == 150);
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%.500s/%s", d, schedopt_trainer_file_name(T->trainer));
    replay_add(&s, name, cfg);
  }
  replay_run();
  json_decref(j);
  /* the flagship (the README's first command): output.format megatron gives
   * the flags of the tuned Megatron schedule, which Megatron's own scheduler
   * turns into that schedule at every one of the 38,146 iterations; the
   * free-form optimum and the band beside it in summary.json */
  snprintf(d, sizeof d, "%s", test_tmp_path("flagship"));
  snprintf(args, sizeof args,
           "design '%s/problems/llm_wsd_token_budget.yaml' -o '%s' -q --set output.format=megatron "
           "--set uncertainty.bootstrap=4 --set 'design.trainers=[nanogpt]'",
           SCHEDOPT_SOURCE_DIR, d);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(path, sizeof path, "%s/summary.json", d);
  j = json_load_file(path, 0, &je);
  CHECK(j != NULL);
  json_t *res = json_object_get(j, "result");
  CHECK(json_is_real(json_object_get(res, "final_loss")) &&
        json_is_object(json_object_get(res, "final_loss_band")));
  tr = json_object_get(j, "trainers");
  int seen = 0;
  for (size_t i = 0; i < json_array_size(tr); i++) {
    json_t *e = json_array_get(tr, i);
    const schedopt_trainer_type *T =
        schedopt_trainer_type_find(json_string_value(json_object_get(e, "name")));
    if (!T || strcmp(T->trainer, "megatron") || !json_is_true(json_object_get(e, "best_of_trainer")))
      continue;
    seen = 1;
    CHECK(json_is_real(json_object_get(e, "cost")) && json_is_object(json_object_get(e, "cost_refits")));
    schedopt_trainer_sched s = {T, (size_t)json_integer_value(json_object_get(e, "steps")),
                                (size_t)json_integer_value(json_object_get(e, "warmup")),
                                (size_t)json_integer_value(json_object_get(e, "decay")),
                                json_real_value(json_object_get(e, "peak")),
                                json_real_value(json_object_get(e, "floor"))};
    CHECK(s.steps == 38146 && s.warmup == 2160);
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%.500s/schedule.sh", d);
    replay_add(&s, "flagship_megatron", cfg);
  }
  CHECK(seen);
  replay_run();
  json_decref(j);
  /* a trainer that does not exist: the key's place, the allowed names, exit 2 */
  spec = test_write_tmp("badtr.yaml", MPL_INLINE "budget: {steps: 300}\nlr: {peak: 3.0e-4}\n"
                                      "design:\n  trainers: [megatron, megatronn]\n");
  snprintf(args, sizeof args, "design '%s'", spec);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "badtr.yaml:5:") && strstr(out, "unknown trainer 'megatronn'") &&
                strstr(out, "torchtitan-sqrt"),
            "exit %d: %s", rc, out);
  /* output.export as in problem files: several formats, one file each; the
   * older spelling output.format beside it is refused */
  snprintf(d, sizeof d, "%s", test_tmp_path("exports"));
  spec = test_write_tmp("ex.yaml", MPL_INLINE "budget: {steps: 300}\nlr: {peak: 3.0e-4, warmup: 10}\n"
                                   "design: {knots: 4, trainers: none}\n"
                                   "output: {export: [pytorch, megatron]}\n");
  snprintf(args, sizeof args, "design '%s' -o '%s' -q", spec, d);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  const char *want[] = {"schedule_pytorch.py", "schedule_megatron.sh", "lr_exact.json"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", d, want[i]);
    CHECK_MSG(access(path, F_OK) == 0, "%s missing", want[i]);
  }
  snprintf(args, sizeof args, "design '%s' --set output.format=hf", spec);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "older spelling of output.export"), "exit %d: %s", rc, out);
  /* none: no trainer configs */
  snprintf(d, sizeof d, "%s", test_tmp_path("none"));
  spec = test_write_tmp("none.yaml", MPL_INLINE "budget: {steps: 300}\nlr: {peak: 3.0e-4}\n"
                                     "design: {knots: 4, trainers: none}\n");
  snprintf(args, sizeof args, "design '%s' -o '%s' -q", spec, d);
  CHECK(test_run_cli(args, out, sizeof out) == 0);
  snprintf(path, sizeof path, "%s/megatron_flags.sh", d);
  CHECK(access(path, F_OK) != 0);
}

/* ---- edge cases of the design's trainers ---- */

static void test_edges(void) {
  schedopt_error err = {0};
  /* DeepSpeed runs its first two steps at 0 (last_batch_iteration -1, 0):
   * two steps train nothing, refused with the reason */
  schedopt_trainer_sched ds = {schedopt_trainer_type_find("deepspeed-warmup"), 2, 1, 1, 3e-4, 0};
  CHECK(schedopt_trainer_check(&ds, &err) == SCHEDOPT_EINVAL &&
        test_err_has(&err, "first two steps", NULL));
  ds.steps = 3;
  OK(schedopt_trainer_check(&ds, &err));
  /* between steps (what a continuous-time model integrates) no type rises
   * above its peak: torchtitan's warmup (x + 1)/W would reach (W + 1)/W */
  for (size_t t = 0; schedopt_trainer_types[t]; t++)
    for (double x = 0; x < 40; x += 0.125) {
      const double v = schedopt_trainer_lr_at(schedopt_trainer_types[t], 40, 4, 10, 1.0, 0.1, x);
      CHECK_MSG(v <= 1.0, "%s at x = %g: %.17g above the peak", schedopt_trainer_types[t]->name, x,
                v);
      if (!(v <= 1.0)) break;
    }
  /* a title with control characters: the JSON stays JSON, a carriage return
   * does not end a comment line (Python and TOML take it as a line end) */
  for (size_t t = 0; schedopt_trainer_names[t]; t++) {
    const schedopt_trainer_type *T = NULL;
    for (size_t i = 0; schedopt_trainer_types[i] && !T; i++)
      if (!strcmp(schedopt_trainer_types[i]->trainer, schedopt_trainer_names[t]))
        T = schedopt_trainer_types[i];
    schedopt_trainer_sched ts = {T, 100, 5, 20, 3e-4, 3e-5};
    char buf[8192] = "";
    FILE *fp = tmpfile();
    CHECK(fp != NULL);
    if (!fp) break;
    OK(schedopt_trainer_write(fp, &ts, "a\tb\rimport os\x01\"c\\", 0, &err));
    rewind(fp);
    buf[fread(buf, 1, sizeof buf - 1, fp)] = '\0';
    fclose(fp);
    CHECK_MSG(!strchr(buf, '\r') && !strchr(buf, '\x01'), "%s: a control character written",
              T->trainer);
    if (!strcmp(T->trainer, "deepspeed")) {
      json_error_t je;
      json_t *j = json_loads(buf, 0, &je);
      CHECK_MSG(j != NULL, "deepspeed config is not JSON: %s", je.text);
      json_decref(j);
    }
  }
  /* lr.tune_peak: a tuned peak never exceeds lr.peak (not even by a rounding) */
  schedopt_surrogate *s = NULL;
  schedopt_lrdesign *d = NULL;
  OK(schedopt_surrogate_alloc(&s, schedopt_surrogate_mpl, &err));
  OK(schedopt_surrogate_set_params(s, mpl100m, &err));
  OK(schedopt_lrdesign_alloc(&d, s, &err));
  OK(schedopt_lrdesign_set_steps(d, 400, &err));
  OK(schedopt_lrdesign_set_lr(d, 3e-4, 0, 1, &err));
  OK(schedopt_lrdesign_set_warmup(d, 20, SCHEDOPT_WARMUP_LINEAR, &err));
  OK(schedopt_lrdesign_set_param(d, SCHEDOPT_LRDESIGN_KNOTS, 4, 1, &err));
  const schedopt_trainer_type *tt[] = {schedopt_trainer_type_find("megatron-wsd-linear"),
                                       schedopt_trainer_type_find("megatron-constant")};
  OK(schedopt_lrdesign_set_trainers(d, tt, 2, &err));
  OK(schedopt_lrdesign_run(d, &err));
  schedopt_lrdesign_result r;
  OK(schedopt_lrdesign_get_result(d, &r, &err));
  for (size_t i = 0; i < r.ntrainers; i++)
    CHECK_MSG(r.trainers[i].sched.peak <= 3e-4, "%s: peak %.17g above lr.peak",
              r.trainers[i].sched.type->name, r.trainers[i].sched.peak);
  schedopt_lrdesign_free(d);
  /* two steps: DeepSpeed cannot train; asked for, refused before the work */
  OK(schedopt_lrdesign_alloc(&d, s, &err));
  OK(schedopt_lrdesign_set_steps(d, 2, &err));
  OK(schedopt_lrdesign_set_lr(d, 3e-4, 0, 0, &err));
  const schedopt_trainer_type *dst[] = {schedopt_trainer_type_find("deepspeed-warmup-cosine")};
  OK(schedopt_lrdesign_set_trainers(d, dst, 1, &err));
  CHECK(schedopt_lrdesign_run(d, &err) == SCHEDOPT_EINVAL && test_err_has(&err, "deepspeed", NULL));
  schedopt_lrdesign_free(d);
  schedopt_surrogate_free(s);

  char args[4096], out[16384], path[1024], d2[512];
  /* no warmup (the default) with every trainer: DeepSpeed's warmup_num_steps
   * is 1 (its first two steps run at 0 either way); without budget.batch the
   * flags leave Megatron's --global-batch-size alone */
  snprintf(d2, sizeof d2, "%s", test_tmp_path("w0"));
  const char *spec = test_write_tmp("w0.yaml", MPL_INLINE "budget: {steps: 300}\n"
                                    "lr: {peak: 3.0e-4}\ndesign: {knots: 4}\n");
  snprintf(args, sizeof args, "design '%s' -o '%s' -q", spec, d2);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(path, sizeof path, "%s/deepspeed_config.json", d2);
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  CHECK(j != NULL);
  CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(j, "scheduler"),
                                                           "params"), "warmup_num_steps")) == 1);
  json_decref(j);
  snprintf(path, sizeof path, "%s/megatron_flags.sh", d2);
  char *flags = test_slurp(path, NULL);
  CHECK(flags && !strstr(flags, "--global-batch-size"));
  free(flags);
  /* two steps: DeepSpeed is left out of the default, refused when named */
  snprintf(d2, sizeof d2, "%s", test_tmp_path("k2"));
  spec = test_write_tmp("k2.yaml", MPL_INLINE "budget: {steps: 2}\nlr: {peak: 3.0e-4}\n"
                        "design: {knots: 2}\n");
  snprintf(args, sizeof args, "design '%s' -o '%s' -q", spec, d2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(path, sizeof path, "%s/deepspeed_config.json", d2);
  CHECK(access(path, F_OK) != 0);
  spec = test_write_tmp("k2ds.yaml", MPL_INLINE "budget: {steps: 2}\nlr: {peak: 3.0e-4}\n"
                        "design:\n  knots: 2\n  trainers: [nanogpt, deepspeed]\n");
  snprintf(args, sizeof args, "design '%s'", spec);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "k2ds.yaml:6:") && strstr(out, "deepspeed"), "exit %d: %s", rc,
            out);
  /* [none], as the error's list of allowed names offers it; none beside a
   * trainer is refused */
  snprintf(d2, sizeof d2, "%s", test_tmp_path("lnone"));
  spec = test_write_tmp("lnone.yaml", MPL_INLINE "budget: {steps: 200}\nlr: {peak: 3.0e-4}\n"
                        "design: {knots: 4, trainers: [none]}\n");
  snprintf(args, sizeof args, "design '%s' -o '%s' -q", spec, d2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  snprintf(path, sizeof path, "%s/megatron_flags.sh", d2);
  CHECK(access(path, F_OK) != 0);
  spec = test_write_tmp("lnone2.yaml", MPL_INLINE "budget: {steps: 200}\nlr: {peak: 3.0e-4}\n"
                        "design: {knots: 4, trainers: [megatron, none]}\n");
  snprintf(args, sizeof args, "design '%s'", spec);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "lnone2.yaml:4:") && strstr(out, "'none'"), "exit %d: %s", rc,
            out);
}

int main(void) {
  test_replay();
  test_design();
  test_optimize();
  test_cli();
  test_edges();
  return test_finish();
}
