/* Problem files: YAML parsing (yamlkv), the schema, --set overrides and the
 * built model, schedule and output times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem/problem_impl.h"
#include "schedopt/schedopt.h"
#include "testutil.h"
#include "core/yamlkv.h"

/* Line numbers below refer to this text. */
static const char *const BASE =
    "name: hard\n"                                                           /* 1 */
    "model:\n"                                                               /* 2 */
    "  a: 3.5\n"                                                             /* 3 */
    "  b: 5\n"                                                               /* 4 */
    "  N: 1000\n"                                                            /* 5 */
    "  sigma2: 0.25\n"                                                       /* 6 */
    "budget:\n"                                                              /* 7 */
    "  steps: 10000\n"                                                       /* 8 */
    "controls:\n"                                                            /* 9 */
    "  lr: {type: wsd, peak: 1, decay_frac: 0.2, shape: linear, floor: 0}\n" /* 10 */
    "  batch: 5\n"                                                           /* 11 */
    "output:\n"                                                              /* 12 */
    "  points: 50\n";                                                        /* 13 */

/* BASE with the first occurrence of `from` replaced by `to` (static buffer). */
static const char *edit(const char *from, const char *to) {
  static char buf[8192];
  const char *p = strstr(BASE, from);
  if (!p) {
    fprintf(stderr, "test bug: '%s' not in BASE\n", from);
    exit(1);
  }
  snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - BASE), BASE, to, p + strlen(from));
  return buf;
}

/* Load text as "t.yaml", apply the --set assignments (NULL-terminated), build. */
static schedopt_status run(const char *text, const char *const *sets, schedopt_problem **out,
                           schedopt_error *err) {
  size_t n = 0;
  while (sets && sets[n]) n++;
  return test_make_problem(out, text, "t.yaml", sets, n, err);
}

static schedopt_problem *good(const char *text, const char *const *sets, int line) {
  schedopt_problem *p = NULL;
  schedopt_error err = {0};
  schedopt_status st = run(text, sets, &p, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "line %d: %s", line, err.msg);
  if (st) {
    schedopt_problem_free(p);
    return NULL;
  }
  return p;
}
#define GOOD(text, ...) good(text, (const char *const[]){__VA_ARGS__}, __LINE__)

/* Expect code and every fragment (NULL-terminated) in the message. */
static void bad(const char *text, const char *const *sets, schedopt_status code,
                const char *const *frags, int line) {
  schedopt_error err = {0};
  schedopt_status st = run(text, sets, NULL, &err);
  CHECK_MSG(st == code, "line %d: status %s, want %s (%s)", line, schedopt_status_name(st),
            schedopt_status_name(code), err.msg);
  for (int i = 0; frags[i]; i++)
    CHECK_MSG(strstr(err.msg, frags[i]) != NULL, "line %d: '%s' not in: %s", line, frags[i],
              err.msg);
}
#define SETS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define BAD(text, sets, code, ...) \
  bad(text, sets, code, (const char *const[]){__VA_ARGS__, NULL}, __LINE__)

static double lr_at(const schedopt_problem *p, double t) {
  schedopt_uval u;
  schedopt_schedule_eval(schedopt_problem_schedule(p), t, &u);
  return u.lr;
}

static void check_times_sorted(const double *t, size_t n, double H, int integer) {
  CHECK(n >= 1);
  CHECK(t[0] > 0);
  CHECK(t[n - 1] == H);
  int ok = 1;
  for (size_t i = 1; i < n; i++) ok &= t[i] > t[i - 1];
  for (size_t i = 0; i < n && integer; i++) ok &= t[i] == floor(t[i]);
  CHECK(ok);
}

static void test_yamlkv(void) {
  ykv_list l;
  schedopt_ykv_init(&l);
  schedopt_error err = {0};
  const char *y = "a:\n  b: 1\n  c: [1, 2, 3]\nd:\n  - {f: x}\n  - 7\ne:\nq: '1'\n";
  CHECK(schedopt_ykv_parse(&l, y, strlen(y), "k.yaml", NULL, 1, &err) == SCHEDOPT_OK);
  ykv_entry *e = schedopt_ykv_get(&l, "a.b");
  CHECK(e && e->kind == YKV_SCALAR && !strcmp(e->value, "1") && e->line == 2 && e->col == 6 &&
        e->key_line == 2 && e->key_col == 3);
  e = schedopt_ykv_get(&l, "a.c");
  CHECK(e && e->kind == YKV_SEQ && e->n == 3 && !strcmp(e->items[2], "3") &&
        e->item_col[2] == 13);
  CHECK(schedopt_ykv_get(&l, "a") && schedopt_ykv_get(&l, "a")->kind == YKV_MAP);
  CHECK(schedopt_ykv_get(&l, "d") && schedopt_ykv_get(&l, "d")->kind == YKV_LIST);
  e = schedopt_ykv_get(&l, "d.0.f");
  CHECK(e && !strcmp(e->value, "x"));
  e = schedopt_ykv_get(&l, "d.1");
  CHECK(e && !strcmp(e->value, "7"));
  e = schedopt_ykv_get(&l, "e");
  CHECK(e && e->is_null);
  e = schedopt_ykv_get(&l, "q");
  CHECK(e && e->quoted && !e->is_null);
  schedopt_ykv_free(&l);

  /* Values placed at a root path, without positions (--set). */
  CHECK(schedopt_ykv_parse(&l, "[1, 2]", 6, "--set x.y=[1, 2]", "x.y", 0, &err) == SCHEDOPT_OK);
  CHECK(l.n == 1 && l.v[0].kind == YKV_SEQ && l.v[0].n == 2 && l.v[0].line == 0);
  CHECK(schedopt_ykv_parse(&l, "", 0, "--set z=", "z", 0, &err) == SCHEDOPT_OK);
  CHECK(l.n == 2 && l.v[1].is_null);
  schedopt_ykv_free(&l);

  /* Limits and unsupported features. */
  char deep[400];
  strcpy(deep, "a: ");
  for (int i = 0; i < 70; i++) strcat(deep, "[");
  for (int i = 0; i < 70; i++) strcat(deep, "]");
  CHECK(schedopt_ykv_parse(&l, deep, strlen(deep), "d.yaml", NULL, 1, &err) == SCHEDOPT_ENOMEM);
  CHECK(strstr(err.msg, "nesting is deeper than 64") != NULL);
  CHECK(schedopt_ykv_parse(&l, "a: &x 1\nb: *x\n", 14, "d.yaml", NULL, 1, &err) == SCHEDOPT_EPARSE);
  CHECK(strstr(err.msg, "d.yaml:1:4: error: anchors") != NULL);
  CHECK(schedopt_ykv_parse(&l, "a: !!str 1\n", 11, "d.yaml", NULL, 1, &err) == SCHEDOPT_EPARSE);
  CHECK(strstr(err.msg, "d.yaml:1:4: error: tags") != NULL);
  CHECK(schedopt_ykv_parse(&l, "? [1]\n: 2\n", 10, "d.yaml", NULL, 1, &err) == SCHEDOPT_EPARSE);
  CHECK(strstr(err.msg, "mapping keys must be plain scalars") != NULL);
  CHECK(schedopt_ykv_parse(&l, "- 1\n", 4, "d.yaml", NULL, 1, &err) == SCHEDOPT_EPARSE);
  CHECK(strstr(err.msg, "d.yaml:1:1: error: the top level must be a mapping") != NULL);
  CHECK(schedopt_ykv_parse(&l, "a: 1\n---\nb: 2\n", 14, "d.yaml", NULL, 1, &err) == SCHEDOPT_EPARSE);
  CHECK(strstr(err.msg, "only one YAML document") != NULL);
  CHECK(schedopt_ykv_parse(&l, "a.b: 1\n", 7, "d.yaml", NULL, 1, &err) == SCHEDOPT_EPARSE);
  CHECK(strstr(err.msg, "contains '.'") != NULL);
  CHECK(l.n == 0);
}

static void test_good(void) {
  /* Bordelon–Mori notation, step budget. */
  schedopt_problem *p = GOOD(BASE, NULL);
  if (p) {
    double a, b, s, beta, amount;
    schedopt_problem_exponents(p, &a, &b, &s, &beta);
    CHECK_CLOSE(a, 3.5, 0, 0);
    CHECK_CLOSE(b, 5, 0, 0);
    CHECK_CLOSE(s, 0.5, 1e-15, 0);
    CHECK_CLOSE(beta, 5, 0, 0);
    CHECK(schedopt_problem_modes(p) == 1000);
    CHECK_CLOSE(schedopt_problem_sigma2(p), 0.25, 0, 0);
    CHECK(schedopt_problem_budget(p, &amount) == SCHEDOPT_BUDGET_STEPS);
    CHECK_CLOSE(amount, 10000, 0, 0);
    CHECK_CLOSE(schedopt_problem_seq_len(p), 1, 0, 0);
    CHECK(!strcmp(schedopt_problem_name(p), "hard"));
    CHECK(schedopt_problem_output_file(p) == NULL);
    CHECK(schedopt_problem_integrator(p) == schedopt_integrator_cvodes);
    CHECK(schedopt_model_get_type(schedopt_problem_model(p)) == schedopt_model_plrf);
    const schedopt_schedule *sc = schedopt_problem_schedule(p);
    CHECK(schedopt_schedule_clock(sc) == SCHEDOPT_CLOCK_STEPS);
    CHECK_CLOSE(schedopt_schedule_horizon(sc), 10000, 0, 0);
    CHECK(!schedopt_schedule_has_momentum(sc));
    CHECK_CLOSE(lr_at(p, 0), 1, 0, 1e-15);
    CHECK_CLOSE(lr_at(p, 8000), 1, 0, 1e-12);
    CHECK_CLOSE(lr_at(p, 9000), 0.5, 1e-12, 1e-12);
    CHECK_CLOSE(lr_at(p, 10000), 0, 0, 1e-12);
    schedopt_uval u;
    schedopt_schedule_eval(sc, 123, &u);
    CHECK_CLOSE(u.batch, 5, 0, 0);
    double rtol, atol;
    long max_steps;
    schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
    CHECK(rtol == 1e-6 && atol == 1e-10 && max_steps == 1000000);
    double *t;
    size_t n;
    CHECK(schedopt_problem_output_times(p, &t, &n, NULL) == SCHEDOPT_OK);
    CHECK(n == 50);
    check_times_sorted(t, n, 10000, 1);
    CHECK(t[0] == 1);
    if (n == 50) CHECK(t[25] > 100 && t[25] < 200); /* log spacing: ~ sqrt(10^4)·1.2 */
    free(t);
    schedopt_problem_free(p);
  }

  /* FSL notation, token budget, cosine with warmup, explicit solver. */
  p = GOOD("model:\n  type: fsl\n  beta: 5\n  s: 0.5\n  M: 200\n  sigma: 0.5\n"
           "budget:\n  tokens: 2e7\n  seq_len: 2048\n"
           "controls:\n  lr: {type: cosine, peak: 1, floor: 0.1, warmup: 1e5}\n  batch: 4\n"
           "solver: {rtol: 1e-5, atol: 1e-9, max_steps: 5000}\n"
           "output: {points: 30, file: out.csv}\n",
           NULL);
  if (p) {
    double a, b, s, beta, amount;
    schedopt_problem_exponents(p, &a, &b, &s, &beta);
    CHECK_CLOSE(a, 3.5, 1e-15, 0);
    CHECK_CLOSE(b, 5, 0, 0);
    CHECK_CLOSE(s, 0.5, 1e-15, 0);
    CHECK_CLOSE(beta, 5, 0, 0);
    CHECK(schedopt_problem_modes(p) == 200);
    CHECK_CLOSE(schedopt_problem_sigma2(p), 0.25, 1e-15, 0);
    CHECK(schedopt_problem_budget(p, &amount) == SCHEDOPT_BUDGET_TOKENS);
    CHECK_CLOSE(amount, 2e7, 0, 0);
    CHECK_CLOSE(schedopt_problem_seq_len(p), 2048, 0, 0);
    CHECK(schedopt_model_get_type(schedopt_problem_model(p)) == schedopt_model_fsl);
    const schedopt_schedule *sc = schedopt_problem_schedule(p);
    CHECK(schedopt_schedule_clock(sc) == SCHEDOPT_CLOCK_DATA);
    CHECK_CLOSE(schedopt_schedule_horizon(sc), 2e7, 0, 0);
    CHECK_CLOSE(schedopt_schedule_units_per_sample(sc), 2048, 0, 0);
    CHECK_CLOSE(lr_at(p, 1e5), 1, 1e-12, 0);
    CHECK_CLOSE(lr_at(p, 2e7), 0.1, 1e-12, 0);
    double rtol, atol;
    long max_steps;
    schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
    CHECK(rtol == 1e-5 && atol == 1e-9 && max_steps == 5000);
    CHECK(schedopt_problem_output_file(p) && !strcmp(schedopt_problem_output_file(p), "out.csv"));
    double *t;
    size_t n;
    CHECK(schedopt_problem_output_times(p, &t, &n, NULL) == SCHEDOPT_OK);
    CHECK(n == 30);
    check_times_sorted(t, n, 2e7, 0);
    CHECK_CLOSE(t[0], 4 * 2048, 1e-12, 0); /* one batch worth of tokens */
    free(t);
    schedopt_problem_free(p);
  }

  /* Samples and compute budgets; linear spacing; explicit times. */
  p = GOOD(edit("  steps: 10000\n", "  samples: 1e6\n"), "output.spacing=linear", NULL);
  if (p) {
    double amount, *t;
    size_t n;
    CHECK(schedopt_problem_budget(p, &amount) == SCHEDOPT_BUDGET_SAMPLES && amount == 1e6);
    CHECK(schedopt_schedule_clock(schedopt_problem_schedule(p)) == SCHEDOPT_CLOCK_DATA);
    CHECK(schedopt_problem_output_times(p, &t, &n, NULL) == SCHEDOPT_OK);
    CHECK(n == 50);
    check_times_sorted(t, n, 1e6, 0);
    CHECK_CLOSE(t[0], 2e4, 1e-12, 0);
    free(t);
    schedopt_problem_free(p);
  }
  p = GOOD(edit("  steps: 10000\n", "  compute: 1e9\n"), NULL);
  if (p) {
    double amount;
    CHECK(schedopt_problem_budget(p, &amount) == SCHEDOPT_BUDGET_COMPUTE && amount == 1e9);
    CHECK_CLOSE(schedopt_schedule_horizon(schedopt_problem_schedule(p)), 1e6, 1e-15, 0);
    schedopt_problem_free(p);
  }
  p = GOOD(edit("  points: 50\n", "  times: [10, 100, 1e4]\n"), NULL);
  if (p) {
    double *t;
    size_t n;
    CHECK(schedopt_problem_output_times(p, &t, &n, NULL) == SCHEDOPT_OK);
    CHECK(n == 3 && t[0] == 10 && t[1] == 100 && t[2] == 1e4);
    free(t);
    schedopt_problem_free(p);
  }
  /* More points than steps: every step once. */
  p = GOOD(edit("  steps: 10000\n", "  steps: 20\n"), NULL);
  if (p) {
    double *t;
    size_t n;
    CHECK(schedopt_problem_output_times(p, &t, &n, NULL) == SCHEDOPT_OK);
    CHECK(n == 20);
    check_times_sorted(t, n, 20, 1);
    free(t);
    schedopt_problem_free(p);
  }

  /* Other control forms; momentum; recursion; defaults. */
  p = GOOD(edit("  lr: {type: wsd, peak: 1, decay_frac: 0.2, shape: linear, floor: 0}\n",
                "  lr:\n    type: table\n    t: [0, 1000, 10000]\n    v: [0, 1, 0.1]\n"
                "  momentum: 0.9\n"),
           "model.dynamics=recursion", NULL);
  if (p) {
    CHECK_CLOSE(lr_at(p, 500), 0.5, 1e-12, 0);
    CHECK_CLOSE(lr_at(p, 5500), 0.55, 1e-12, 0);
    schedopt_uval u;
    schedopt_schedule_eval(schedopt_problem_schedule(p), 10, &u);
    CHECK_CLOSE(u.momentum, 0.9, 0, 0);
    CHECK(schedopt_schedule_has_momentum(schedopt_problem_schedule(p)));
    CHECK(schedopt_problem_integrator(p) == schedopt_integrator_recursion);
    schedopt_problem_free(p);
  }
  p = GOOD(edit("{type: wsd, peak: 1, decay_frac: 0.2, shape: linear, floor: 0}",
                "{type: multistep, peak: 2, milestones: [0.5, 0.75], factors: [1, 0.1, 0.01]}"),
           NULL);
  if (p) {
    CHECK_CLOSE(lr_at(p, 4999), 2, 1e-12, 0);
    CHECK_CLOSE(lr_at(p, 6000), 0.2, 1e-12, 0);
    CHECK_CLOSE(lr_at(p, 9000), 0.02, 1e-12, 0);
    schedopt_problem_free(p);
  }
  /* lr and batch default to constants 0.1 and 1; N to 1000; name to the file. */
  p = GOOD("model: {a: 2, b: 1.5}\nbudget: {steps: 100}\n", NULL);
  if (p) {
    schedopt_uval u;
    schedopt_schedule_eval(schedopt_problem_schedule(p), 50, &u);
    CHECK_CLOSE(u.lr, 0.1, 0, 0);
    CHECK_CLOSE(u.batch, 1, 0, 0);
    CHECK(schedopt_problem_modes(p) == 1000);
    CHECK_CLOSE(schedopt_problem_sigma2(p), 0, 0, 0);
    schedopt_problem_free(p);
  }
}

static void test_files(void) {
  /* A table file next to the YAML file, referred to by a relative path. */
  test_write_tmp("problem_sched.csv", "step,lr,other\n0,1,9\n5000,0.5,9\n10000,0.25,9\n");
  const char *path = test_write_tmp(
      "problem_table.yaml",
      "model: {a: 3.5, b: 5}\nbudget: {steps: 10000}\n"
      "controls:\n  lr: {type: table, file: problem_sched.csv, interp: linear, scale: 2}\n");
  schedopt_problem *p = NULL;
  schedopt_error err = {0};
  CHECK(schedopt_problem_alloc(&p, &err) == SCHEDOPT_OK);
  schedopt_status st = schedopt_problem_load_file(p, path, &err);
  if (!st) st = schedopt_problem_build(p, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "%s", err.msg);
  if (!st) {
    CHECK_CLOSE(lr_at(p, 2500), 1.5, 1e-12, 0);
    CHECK(!strcmp(schedopt_problem_name(p), "problem_table"));
  }
  /* The bundled problems build. */
  static const char *const bundled[] = {"hard_phase", "easy_phase", "fsl_notation"};
  for (int i = 0; i < 3; i++) {
    char f[4096];
    snprintf(f, sizeof f, "%s/problems/%s.yaml", SCHEDOPT_SOURCE_DIR, bundled[i]);
    st = schedopt_problem_load_file(p, f, &err);
    if (!st) st = schedopt_problem_build(p, &err);
    CHECK_MSG(st == SCHEDOPT_OK, "%s: %s", bundled[i], err.msg);
    if (!st) CHECK(!strcmp(schedopt_problem_name(p), bundled[i]));
  }
  st = schedopt_problem_load_file(p, SCHEDOPT_TMP_DIR "/does_not_exist.yaml", &err);
  CHECK(st == SCHEDOPT_EIO && strstr(err.msg, "does_not_exist.yaml: error: cannot open"));
  schedopt_problem_free(p);
}

static void test_errors(void) {
  const schedopt_status E = SCHEDOPT_EINVAL;
  BAD("model:\n  a: [1, 2\n  b: 3\n", NULL, SCHEDOPT_EPARSE, "t.yaml:3:", "error: ");
  BAD("model:\n  a: 3.5\n a: 2\n", NULL, SCHEDOPT_EPARSE, "t.yaml:3:2: error: ");
  BAD(edit("  b: 5\n", "  b: 5\n  a: 4\n"), NULL, SCHEDOPT_EPARSE,
      "t.yaml:5:3: error: duplicate key 'model.a' (first at line 3)");
  BAD(edit("output:", "outptu:"), NULL, E,
      "t.yaml:12:1: error: unknown key 'outptu' at the top level (allowed: name, description, "
      "model, budget, controls, solver, output, optimize, sweep); did you mean 'output'?");
  BAD(edit("  N: 1000", "  NN: 1000"), NULL, E, "t.yaml:5:3: error: unknown key 'NN' in model");
  /* a name is a name, not a path: exports and figures are named after it */
  BAD(BASE, SETS("name=../escaped"), E,
      "--set name=../escaped: error: name = '../escaped' is used in file names");
  BAD(BASE, SETS("name=/tmp/x"), E, "name = '/tmp/x' is used in file names");
  BAD(BASE, SETS("name=.."), E, "name = '..' is used in file names");
  BAD(edit("a: 3.5", "a: 1"), NULL, E,
      "t.yaml:3:6: error: model.a = 1 is out of range: must be in (1, 1000] (signal decay exponent)");
  BAD(edit("b: 5", "b: 0.5"), NULL, E, "t.yaml:4:6: error: model.b = 0.5 is out of range: must be in (1, 1000]");
  BAD(edit("N: 1000", "N: 0"), NULL, E, "t.yaml:5:6: error: model.N = 0 is out of range");
  BAD(edit("N: 1000", "N: 10.5"), NULL, E, "t.yaml:5:6: error: model.N = 10.5 must be an integer");
  BAD(edit("sigma2: 0.25", "sigma2: -1"), NULL, E,
      "t.yaml:6:11: error: model.sigma2 = -1 is out of range: must be >= 0");
  BAD(edit("peak: 1", "peak: -1"), NULL, E, "t.yaml:10:", "controls.lr.peak = -1 is out of range");
  BAD(edit("  lr: {type: wsd, peak: 1, decay_frac: 0.2, shape: linear, floor: 0}",
           "  lr: -0.1"),
      NULL, E, "t.yaml:10:7: error: controls.lr = -0.1 is out of range: must be >= 0");
  BAD(edit("batch: 5", "batch: 0.5"), NULL, E,
      "t.yaml:11:10: error: controls.batch = 0.5 is out of range: must be >= 1");
  BAD(edit("  batch: 5\n", "  batch: 5\n  momentum: 1\n"), NULL, E,
      "t.yaml:12:13: error: controls.momentum = 1 is out of range: must be in [0, 1)");
  BAD(edit("type: wsd", "type: wsdd"), NULL, E,
      "t.yaml:10:14: error: controls.lr.type: unknown control type 'wsdd' (allowed: ",
      "did you mean 'wsd'?");
  BAD(edit("peak: 1", "peek: 1"), NULL, E,
      "t.yaml:10:19: error: unknown key 'peek' in controls.lr", "warmup, warmup_init",
      "did you mean 'peak'?");
  BAD(edit("a: 3.5", "a: abc"), NULL, E, "t.yaml:3:6: error: model.a: expected a number, got 'abc'");
  BAD(edit("a: 3.5", "a: [3.5]"), NULL, E, "t.yaml:3:3: error: model.a: expected a number, got a sequence");
  BAD(edit("  b: 5\n", "  b: 5\n  s: 0.4\n"), NULL, E,
      "t.yaml:5:3: error: model.s = 0.4 conflicts with model.a = 3.5 (at t.yaml:3:3)");
  BAD(edit("  b: 5\n", "  b: 5\n  beta: 4\n"), NULL, E, "model.beta = 4 conflicts with model.b = 5");
  BAD(edit("  steps: 10000\n", "  steps: 10000\n  samples: 1e6\n"), NULL, E,
      "t.yaml:9:3: error: budget.samples: give exactly one budget kind");
  BAD(edit("budget:\n  steps: 10000\n", ""), NULL, E, "t.yaml: error: no budget");
  BAD(edit("  steps: 10000\n", "  seq_len: 10\n"), NULL, E,
      "t.yaml:7:1: error: budget: give one of steps, samples, tokens or compute");
  BAD("", NULL, SCHEDOPT_EPARSE, "t.yaml: error: empty document");
  BAD("# only a comment\n", NULL, SCHEDOPT_EPARSE, "t.yaml: error: empty document");
  BAD("just text\n", NULL, SCHEDOPT_EPARSE, "t.yaml:1:1: error: the top level must be a mapping");
  BAD(edit("a: 3.5", "a: .nan"), NULL, E, "t.yaml:3:6: error: model.a: expected a finite number, got '.nan'");
  BAD(edit("sigma2: 0.25", "sigma2: .inf"), NULL, E, "expected a finite number, got '.inf'");
  BAD(edit("a: 3.5", "a:"), NULL, E, "t.yaml:3:", "model.a: expected a number, got an empty value");
  BAD(edit("model:\n  a: 3.5\n  b: 5\n  N: 1000\n  sigma2: 0.25\n", "model: 3\n"), NULL, E, "t.yaml:2:8: error: model: expected a mapping");
  BAD(edit("  a: 3.5\n", ""), NULL, E, "t.yaml:2:1: error: model: missing 'a'");
  BAD(edit("  steps: 10000\n", "  steps: 1e4.5\n"), NULL, E, "expected a number, got '1e4.5'");
  BAD(edit("  steps: 10000\n", "  steps: 100.5\n"), NULL, E, "budget.steps = 100.5 must be an integer");
  BAD(edit("  points: 50\n", "  times: [10, 5]\n"), NULL, E,
      "t.yaml:13:15: error: output.times[1] = 5 must be greater than output.times[0] = 10");
  BAD(edit("  points: 50\n", "  times: [10, 2e4]\n"), NULL, E,
      "t.yaml:13:15: error: output.times[1] = 2e4 must be in (0, H]");
  BAD(edit("  points: 50\n", "  spacing: logg\n"), NULL, E,
      "output.spacing: unknown value 'logg' (allowed: log, linear)");
  BAD(edit("  N: 1000\n", "  N: 1000\n  c_noise: 2\n"), NULL, E,
      "t.yaml:6:3: error: model.c_noise applies to model type fsl only");
  BAD(edit("shape: linear", "shape: cubic"), NULL, E,
      "controls.lr.shape: expected one of linear, cosine");
  BAD(edit("decay_frac: 0.2", "warmup: 20000"), NULL, E, "t.yaml:10:3: error: ", "warmup");
  BAD(edit("{type: wsd, peak: 1, decay_frac: 0.2, shape: linear, floor: 0}",
           "{type: table, t: [0, 10], v: [1]}"),
      NULL, E, "'t' and 'v' must be non-empty and of the same length (got 2 and 1)");
  BAD(edit("  lr: {type: wsd, peak: 1, decay_frac: 0.2, shape: linear, floor: 0}",
           "  lr: {type: table, file: no_such_table.csv}"),
      NULL, SCHEDOPT_EIO, "t.yaml:10:27: error: controls.lr.file: ");
  BAD(edit("  steps: 10000\n", "  samples: 3\n"), NULL, E,
      "budget.samples = 3 is less than one batch");
}

static void test_set(void) {
  /* Overrides. */
  schedopt_problem *p = GOOD(BASE, "model.b=2", "controls.lr.peak=0.5", "name=other", NULL);
  if (p) {
    double a, b, s, beta;
    schedopt_problem_exponents(p, &a, &b, &s, &beta);
    CHECK(a == 3.5 && b == 2 && beta == 2);
    CHECK_CLOSE(s, 1.25, 1e-15, 0);
    CHECK_CLOSE(lr_at(p, 100), 0.5, 0, 0);
    CHECK(!strcmp(schedopt_problem_name(p), "other"));
    schedopt_problem_free(p);
  }
  BAD(BASE, SETS("model.a=0.5"), SCHEDOPT_EINVAL,
      "--set model.a=0.5: error: model.a = 0.5 is out of range: must be in (1, 1000]");
  BAD(BASE, SETS("controls.lr.peak=abc"), SCHEDOPT_EINVAL,
      "--set controls.lr.peak=abc: error: controls.lr.peak: expected a number, got 'abc'");
  BAD(BASE, SETS("model.lrr=1"), SCHEDOPT_EINVAL, "--set model.lrr=1: error: unknown key 'lrr' in model");
  BAD(BASE, SETS("model.b"), SCHEDOPT_EINVAL, "expected KEY=VALUE");
  BAD(BASE, SETS("model..b=1"), SCHEDOPT_EINVAL, "bad key");
  BAD(BASE, SETS("output.times=[1, 2"), SCHEDOPT_EPARSE, "--set output.times=[1, 2: error: ");

  /* Switching the budget kind removes the file's kind. */
  p = GOOD(BASE, "budget.samples=1e6", NULL);
  if (p) {
    double amount;
    CHECK(schedopt_problem_budget(p, &amount) == SCHEDOPT_BUDGET_SAMPLES && amount == 1e6);
    schedopt_problem_free(p);
  }
  p = GOOD(BASE, "budget.tokens=1e8", "budget.seq_len=512", NULL);
  if (p) {
    double amount;
    CHECK(schedopt_problem_budget(p, &amount) == SCHEDOPT_BUDGET_TOKENS && amount == 1e8);
    CHECK(schedopt_problem_seq_len(p) == 512);
    schedopt_problem_free(p);
  }
  /* Switching notation: s replaces the file's a. */
  p = GOOD(BASE, "model.s=0.4", NULL);
  if (p) {
    double a;
    schedopt_problem_exponents(p, &a, NULL, NULL, NULL);
    CHECK_CLOSE(a, 3, 1e-15, 0);
    schedopt_problem_free(p);
  }
  /* Switching the control type drops the file's parameters the new type lacks. */
  p = GOOD(BASE, "controls.lr.type=cosine", NULL);
  if (p) {
    CHECK(schedopt_control_get_type(schedopt_schedule_get(schedopt_problem_schedule(p),
                                                          SCHEDOPT_LR)) == schedopt_control_cosine);
    CHECK_CLOSE(lr_at(p, 5000), 0.5, 1e-12, 0);
    schedopt_problem_free(p);
  }
  /* ... but keeps what was given on the command line. */
  BAD(BASE, SETS("controls.lr.decay_frac=0.3", "controls.lr.type=cosine"), SCHEDOPT_EINVAL,
      "unknown key 'decay_frac' in controls.lr (a cosine control");
  /* A number replaces a mapping and vice versa; a mapping value. */
  p = GOOD(BASE, "controls.lr=0.3", NULL);
  if (p) {
    CHECK_CLOSE(lr_at(p, 9999), 0.3, 0, 0);
    schedopt_problem_free(p);
  }
  p = GOOD(BASE, "controls.batch.type=linear", "controls.batch.start=1",
           "controls.batch.end=9", NULL);
  if (p) {
    schedopt_uval u;
    schedopt_schedule_eval(schedopt_problem_schedule(p), 5000, &u);
    CHECK_CLOSE(u.batch, 5, 1e-12, 0);
    schedopt_problem_free(p);
  }
  p = GOOD(BASE, "controls.lr={type: constant, value: 0.7}", "output.points=10", NULL);
  if (p) {
    double *t;
    size_t n;
    CHECK_CLOSE(lr_at(p, 1), 0.7, 0, 0);
    CHECK(schedopt_problem_output_times(p, &t, &n, NULL) == SCHEDOPT_OK && n == 10);
    free(t);
    schedopt_problem_free(p);
  }
  /* Switching model type drops the other type's keys from the file. */
  p = GOOD(edit("  N: 1000\n", "  N: 100\n  tail: 0.1\n  split: false\n"), "model.type=fsl",
           NULL);
  if (p) {
    CHECK(schedopt_model_get_type(schedopt_problem_model(p)) == schedopt_model_fsl);
    schedopt_problem_free(p);
  }
  /* Only --set, no file. */
  schedopt_problem *q = NULL;
  schedopt_error err = {0};
  CHECK(schedopt_problem_alloc(&q, &err) == SCHEDOPT_OK);
  schedopt_status st = schedopt_problem_set(q, "model.a=2", &err);
  if (!st) st = schedopt_problem_set(q, "model.b=1.5", &err);
  if (!st) st = schedopt_problem_set(q, "budget.steps=100", &err);
  if (!st) st = schedopt_problem_build(q, &err);
  CHECK_MSG(st == SCHEDOPT_OK, "%s", err.msg);
  schedopt_problem_free(q);
}

/* optimize.precondition and optimize.rescale_every reach the optimizer's
 * settings; bad values are located. */
static schedopt_optimizer_settings opt_settings(const char *text, const char *const *sets,
                                                int line) {
  schedopt_optimizer_settings set;
  memset(&set, 0xff, sizeof set);
  schedopt_problem *p = good(text, sets, line);
  if (!p) return set;
  schedopt_optimize_spec spec;
  schedopt_error err = {0};
  CHECK_MSG(schedopt_problem_optimize_spec(p, &spec, &err) == SCHEDOPT_OK, "line %d: %s", line,
            err.msg);
  set = spec.settings;
  schedopt_problem_free(p);
  return set;
}

static void test_optimize_settings(void) {
  char text[8192];
  schedopt_optimizer_settings d;
  schedopt_optimizer_settings_default(&d);
  schedopt_optimizer_settings s = opt_settings(BASE, NULL, __LINE__);
  CHECK(s.precondition == 1 && d.precondition == 1);
  CHECK(s.rescale_every == 25 && d.rescale_every == 25);
  snprintf(text, sizeof text, "%soptimize:\n  precondition: false\n  rescale_every: 10\n", BASE);
  s = opt_settings(text, NULL, __LINE__);
  CHECK(s.precondition == 0 && s.rescale_every == 10);
  CHECK(s.starts == d.starts && s.ftol_rel == d.ftol_rel); /* the others keep their defaults */
  s = opt_settings(text, SETS("optimize.precondition=1", "optimize.rescale_every=1e3"), __LINE__);
  CHECK(s.precondition == 1 && s.rescale_every == 1000);
  s = opt_settings(BASE, SETS("optimize.precondition=0"), __LINE__);
  CHECK(s.precondition == 0 && s.rescale_every == 25);
  s = opt_settings(BASE, SETS("optimize={precondition: on, rescale_every: 2}"), __LINE__);
  CHECK(s.precondition == 1 && s.rescale_every == 2);
  CHECK(s.continuation == 32 && d.continuation == 32 && s.loose_rtol == d.loose_rtol);
  s = opt_settings(BASE, SETS("optimize.continuation=0", "optimize.loose_rtol=0"), __LINE__);
  CHECK(s.continuation == 0 && s.loose_rtol == 0);
  snprintf(text, sizeof text, "%soptimize:\n  continuation: 64\n  loose_rtol: 1e-4\n", BASE);
  s = opt_settings(text, NULL, __LINE__);
  CHECK(s.continuation == 64 && s.loose_rtol == 1e-4);

  const schedopt_status E = SCHEDOPT_EINVAL;
  snprintf(text, sizeof text, "%soptimize:\n  precondition: 2\n", BASE);
  BAD(text, NULL, E,
      "t.yaml:15:17: error: optimize.precondition = 2 is out of range: must be true, false, 0 "
      "or 1 (curvature preconditioning)");
  snprintf(text, sizeof text, "%soptimize:\n  precondition: maybe\n", BASE);
  BAD(text, NULL, E, "t.yaml:15:17: error: optimize.precondition = maybe is out of range");
  snprintf(text, sizeof text, "%soptimize:\n  precondition: [1]\n", BASE);
  BAD(text, NULL, E, "t.yaml:15:3: error: optimize.precondition: expected true, false, 0 or 1, "
      "got a sequence");
  snprintf(text, sizeof text, "%soptimize:\n  rescale_every: 1\n", BASE);
  BAD(text, NULL, E,
      "t.yaml:15:18: error: optimize.rescale_every = 1 is out of range: must be in [2, 1000000000]");
  snprintf(text, sizeof text, "%soptimize:\n  rescale_every: 12.5\n", BASE);
  BAD(text, NULL, E, "t.yaml:15:18: error: optimize.rescale_every = 12.5 must be an integer");
  BAD(BASE, SETS("optimize.rescale_every=-3"), E,
      "--set optimize.rescale_every=-3: error: optimize.rescale_every = -3 is out of range");
  snprintf(text, sizeof text, "%soptimize:\n  continuation: 8\n", BASE);
  BAD(text, NULL, E,
      "t.yaml:15:17: error: optimize.continuation = 8 is out of range: must be 0 (off) or in "
      "[16, 1024]");
  BAD(BASE, SETS("optimize.continuation=2000"), E,
      "--set optimize.continuation=2000: error: optimize.continuation = 2000 is out of range");
  BAD(BASE, SETS("optimize.loose_rtol=0.5"), E,
      "--set optimize.loose_rtol=0.5: error: optimize.loose_rtol = 0.5 is out of range");
  snprintf(text, sizeof text, "%soptimize:\n  rescale_evry: 5\n", BASE);
  BAD(text, NULL, E, "t.yaml:15:3: error: unknown key 'rescale_evry' in optimize",
      "precondition, rescale_every", "did you mean 'rescale_every'?");
}

int main(void) {
  test_yamlkv();
  test_good();
  test_files();
  test_errors();
  test_set();
  test_optimize_settings();
  return test_finish();
}
