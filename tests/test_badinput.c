/* Bad-input corpus, end to end through the CLI: every malformed problem file,
 * CSV table or impossible setting stops `schedopt simulate` with exit code 2,
 * a message containing the expected fragment (the place and the rule), no
 * output file and no temporary file left next to it.
 *
 * YAML cases are inline below ("@D@" stands for tests/badinput, where the
 * CSV tables live); binary, deeply nested and oversized inputs are generated. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char out[1 << 16];
static char dir[2048];

typedef struct bad_case {
  const char *name;
  const char *yaml;     /* "@D@" → the tests/badinput folder */
  const char *args;     /* extra arguments, or NULL */
  const char *fragment; /* expected in the message */
} bad_case;

#define M "model: {a: 2.5, b: 1.5, N: 20}\n"
#define S "budget: {steps: 1000}\n"

static const bad_case cases[] = {
    /* ---- YAML syntax ---- */
    {"syntax_flow", "model: {a: 2.5\nbudget: {steps: 10}\n", NULL, "syntax_flow.yaml:2:"},
    {"syntax_tab", "model:\n\ta: 2.5\n", NULL, "syntax_tab.yaml:2:1: error:"},
    {"syntax_quote", M "name: \"abc\n" S, NULL, "while scanning a quoted scalar at line 2"},
    {"syntax_indent", "model:\n  a: 2.5\n b: 1.5\n" S, NULL, "syntax_indent.yaml:3:"},
    {"top_sequence", "- 1\n- 2\n", NULL, "the top level must be a mapping"},
    {"top_scalar", "hello\n", NULL, "the top level must be a mapping"},
    {"two_docs", M S "---\n" M, NULL, "only one YAML document"},
    {"anchor", "model: &m {a: 2.5, b: 1.5}\n" S, NULL, "anchors (&m) are not supported"},
    {"alias", M "budget: {steps: 1000}\nname: *x\n", NULL, "alias.yaml:3:7: error: aliases (*x) are not supported"},
    {"tag", M S "name: !!str x\n", NULL, "tags (tag:yaml.org,2002:str) are not supported"},
    {"dotted_key", "model.a: 2.5\n" S, NULL, "contains '.'"},
    {"complex_key", M S "? [1, 2]\n: 3\n", NULL, "mapping keys must be plain scalars"},
    {"nul_in_string", M S "name: \"a\\0b\"\n", NULL, "NUL character"},
    /* ---- wrong types ---- */
    {"type_number", "model: {a: two, b: 1.5}\n" S, NULL,
     "type_number.yaml:1:12: error: model.a: expected a number, got 'two'"},
    {"type_section", "model: [2.5, 1.5]\n" S, NULL, "model: expected a mapping of keys"},
    {"type_integer", M "budget: {steps: 10.5}\n", NULL, "budget.steps = 10.5 must be an integer"},
    {"type_bool", "model: {a: 2.5, b: 1.5, split: maybe}\n" S, NULL,
     "model.split: expected true or false, got 'maybe'"},
    {"type_param_seq", M S "controls: {lr: {type: cosine, peak: [1]}}\n", NULL,
     "controls.lr.peak: expected a number, got a sequence"},
    {"type_times", M S "output: {times: 100}\n", NULL, "output.times: expected a sequence"},
    {"type_null", "model: {a: , b: 1.5}\n" S, NULL, "model.a: expected a number, got an empty"},
    {"type_enum", "model: {type: gpt, a: 2.5, b: 1.5}\n" S, NULL,
     "model.type: unknown value 'gpt' (allowed: plrf, fsl)"},
    {"type_control", M S "controls: {lr: {type: cosin, peak: 1}}\n", NULL,
     "unknown control type 'cosin'"},
    {"type_control_missing", M S "controls: {lr: {peak: 1}}\n", NULL, "missing 'type'"},
    /* ---- unknown and duplicate keys ---- */
    {"unknown_top", M S "lr: 0.1\n", NULL, "unknown_top.yaml:3:1: error: unknown key 'lr'"},
    {"unknown_model", "model: {a: 2.5, b: 1.5, bb: 2}\n" S, NULL, "unknown key 'bb' in model"},
    {"unknown_param", M S "controls: {lr: {type: cosine, peak: 1, peek: 1}}\n", NULL,
     "unknown key 'peek' in controls.lr"},
    {"unknown_channel", M S "controls: {lrr: 0.1}\n", NULL, "did you mean 'lr'?"},
    {"duplicate_top", M S "budget: {steps: 10}\n", NULL,
     "duplicate_top.yaml:3:1: error: duplicate key 'budget' (first at line 2)"},
    {"duplicate_nested", "model: {a: 2.5, b: 1.5, a: 3}\n" S, NULL, "duplicate key 'model.a'"},
    /* ---- huge numbers, NaN and Inf ---- */
    {"huge_a", "model: {a: 1e400, b: 1.5}\n" S, NULL,
     "model.a: expected a finite number, got '1e400'"},
    {"nan_b", "model: {a: 2.5, b: .nan}\n" S, NULL, "model.b: expected a finite number"},
    {"inf_sigma", "model: {a: 2.5, b: 1.5, sigma2: -.inf}\n" S, NULL,
     "model.sigma2: expected a finite number"},
    {"nan_peak", M S "controls: {lr: {type: cosine, peak: NaN}}\n", NULL,
     "controls.lr.peak: expected a finite number"},
    {"nan_table", M S "controls: {lr: {type: table, t: [0, 10], v: [0.1, .NaN]}}\n", NULL,
     "controls.lr.v[1]: expected a finite number"},
    {"huge_steps", M "budget: {steps: 1e300}\n", NULL, "budget.steps = 1e300 is out of range"},
    {"huge_modes", "model: {a: 2.5, b: 1.5, N: 1e12}\n" S, NULL, "model.N = 1e12 is out of range"},
    {"huge_points", M S "output: {points: 1e9}\n", NULL, "output.points = 1e9 is out of range"},
    {"huge_times", M S "output: {times: [1, 1e400]}\n", NULL,
     "output.times[1]: expected a finite number"},
    {"set_nan", M S, "--set model.a=nan", "--set model.a=nan: error: model.a: expected a finite"},
    {"set_inf", M S, "--set controls.lr.peak=inf", "--set controls.lr.peak=inf: error:"},
    {"set_huge", M S, "--set budget.steps=1e300", "--set budget.steps=1e300: error:"},
    {"set_nokey", M S, "--set =3", "expected KEY=VALUE"},
    {"set_syntax", M S, "--set 'model.a=[1, 2'", "--set model.a=[1, 2: error:"},
    /* ---- empty ---- */
    {"empty", "", NULL, "empty.yaml: error: empty document"},
    {"only_comment", "# nothing here\n", NULL, "empty document"},
    {"empty_mapping", "{}\n", NULL, "empty document"},
    {"no_model", S, NULL, "missing 'model:' section"},
    {"no_budget", M, NULL, "no budget"},
    /* ---- malformed CSV tables ---- */
    {"csv_missing_column", M S "controls: {lr: {type: table, file: @D@/missing_column.csv}}\n",
     NULL, "missing_column.csv:1: no column 'lr' in the header (columns found: 'step', 'loss')"},
    {"csv_non_numeric", M S "controls: {lr: {type: table, file: @D@/non_numeric.csv}}\n", NULL,
     "non_numeric.csv:3: column 'lr': 'abc' is not a finite number"},
    {"csv_non_increasing", M S "controls: {lr: {type: table, file: @D@/non_increasing.csv}}\n",
     NULL, "non_increasing.csv:4: step = 100 is not greater than the previous step = 100"},
    {"csv_empty", M S "controls: {lr: {type: table, file: @D@/empty.csv}}\n", NULL,
     "empty.csv: empty file"},
    {"csv_header_only", M S "controls: {lr: {type: table, file: @D@/header_only.csv}}\n", NULL,
     "header_only.csv: no data rows"},
    {"csv_nan", M S "controls: {lr: {type: table, file: @D@/nan.csv}}\n", NULL,
     "nan.csv:3: column 'lr': 'nan' is not a finite number"},
    {"csv_inf", M S "controls: {lr: {type: table, file: @D@/inf.csv}}\n", NULL,
     "inf.csv:3: column 'lr': 'inf' is not a finite number"},
    {"csv_huge", M S "controls: {lr: {type: table, file: @D@/huge.csv}}\n", NULL,
     "huge.csv:3: column 'lr': '1e400' is not a finite number"},
    {"csv_hex", M S "controls: {lr: {type: table, file: @D@/hex.csv}}\n", NULL,
     "hex.csv:2: column 'lr': '0x10' is not a finite number"},
    {"csv_short_row", M S "controls: {lr: {type: table, file: @D@/short_row.csv}}\n", NULL,
     "short_row.csv:3: row has 1 fields; column 'lr' is missing"},
    {"csv_missing_file", M S "controls: {lr: {type: table, file: @D@/no_such.csv}}\n", NULL,
     "no_such.csv"},
    {"csv_negative", M S "controls: {lr: {type: table, file: @D@/negative_lr.csv}}\n", NULL,
     "csv_negative.yaml:3:12: error: controls.lr = -0.002 at t = 17 is out of range: must be >= 0"},
    {"csv_small_batch",
     M S "controls: {batch: {type: table, file: @D@/small_batch.csv}}\n", NULL,
     "controls.batch = 0.99 at t = 43 is out of range: must be >= 1"},
    {"csv_columns", M S "controls: {lr: {type: table, file: @D@/nan.csv, v_column: loss}}\n",
     NULL, "no column 'loss'"},
    /* ---- impossible budgets and bounds ---- */
    {"batch_over_budget", M "budget: {samples: 100}\ncontrols: {batch: 1000}\n", NULL,
     "budget.samples = 100 is less than one batch (1000 samples at t = 0)"},
    {"tokens_over_budget", M "budget: {tokens: 1000, seq_len: 2048}\n", NULL,
     "budget.tokens = 1000 is less than one batch (2048 tokens at t = 0)"},
    {"compute_over_budget", M "budget: {compute: 10}\n", NULL, "less than one batch"},
    {"two_budgets", M "budget: {steps: 1000, samples: 1e5}\n", NULL,
     "give exactly one budget kind"},
    {"warmup_past_horizon", M S "controls: {lr: {type: cosine, peak: 1, warmup: 1000}}\n", NULL,
     "warmup = 1000 is out of range: must be < the horizon H = 1000"},
    {"wsd_decay_before_warmup",
     M S "controls: {lr: {type: wsd, peak: 1, decay_frac: 0.2, warmup: 900}}\n", NULL,
     "before the end of warmup"},
    {"wsd_exp_zero_floor", M S "controls: {lr: {type: wsd, peak: 1, shape: exponential}}\n",
     NULL, "shape = exponential needs peak > 0 and floor > 0"},
    {"multistep_order",
     M S "controls: {lr: {type: multistep, peak: 1, milestones: [0.5, 0.3], factors: [1, 0.5, "
         "0.1]}}\n",
     NULL, "milestones must increase"},
    {"multistep_count",
     M S "controls: {lr: {type: multistep, peak: 1, milestones: [0.5], factors: [1]}}\n", NULL,
     "'factors' must have one more value than 'milestones'"},
    {"table_lengths", M S "controls: {lr: {type: table, t: [0, 1, 2], v: [1, 2]}}\n", NULL,
     "must be non-empty and of the same length (got 3 and 2)"},
    {"table_and_file", M S "controls: {lr: {type: table, t: [0], v: [1], file: x.csv}}\n", NULL,
     "give either 'file' or 't' and 'v'"},
    {"momentum_one", M S "controls: {momentum: 1}\n", NULL, "controls.momentum = 1 is out of range"},
    {"momentum_modes_fraction",
     "model: {a: 2.5, b: 1.5, N: 20, momentum_modes: 2.5}\n" S "controls: {momentum: 0.5}\n", NULL,
     "model.momentum_modes = 2.5 must be a whole number of modes (or auto)"},
    {"momentum_modes_zero",
     "model: {a: 2.5, b: 1.5, N: 20, momentum_modes: 0}\n" S "controls: {momentum: 0.5}\n", NULL,
     "model.momentum_modes = 0 is out of range: must be in [1, 1000000]"},
    {"fsl_momentum", "model: {type: fsl, a: 2.5, b: 1.5}\n" S "controls: {momentum: 0.5}\n", NULL,
     "the fsl model has no momentum dynamics"},
    {"conflict_a_s", "model: {a: 2.5, s: 0.5, b: 1.5}\n" S, NULL,
     "model.s = 0.5 conflicts with model.a = 2.5"},
    {"times_past_horizon", M S "output: {times: [10, 2000]}\n", NULL,
     "output.times[1] = 2000 must be in (0, H] with H = 1000"},
    {"times_order", M S "output: {times: [10, 5]}\n", NULL, "times must be increasing"},
    {"rtol_range", M S "solver: {rtol: 0.5}\n", NULL, "solver.rtol = 0.5 is out of range"},
    {"name_empty", M S "name: \"\"\n", NULL, "name: expected a non-empty string"},
    {"file_newline", M S "output: {file: \"a\\nb.csv\"}\n", NULL,
     "output.file: expected a single line"},
    {"recursion_too_long", "model: {a: 2.5, b: 1.5, N: 1000, dynamics: recursion}\n"
                           "budget: {steps: 1e15}\n", NULL, "recursion"},
};

/* No file named `base` and no temporary file of it (base.tmpXXXXXX) in dir. */
static void check_no_output(const char *name, const char *base) {
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  if (!d) return;
  struct dirent *e;
  size_t k = strlen(base);
  while ((e = readdir(d))) {
    CHECK_MSG(strncmp(e->d_name, base, k) != 0, "%s: left %s behind", name, e->d_name);
  }
  closedir(d);
}

/* Run simulate on `path` with -o into dir; expect exit 2 and the fragment. */
static void expect_bad(const char *name, const char *path, const char *args,
                       const char *fragment) {
  char outbase[256], cmd[16384];
  snprintf(outbase, sizeof outbase, "%s.out.csv", name);
  snprintf(cmd, sizeof cmd, "simulate '%s' -o '%s/%s' %s", path, dir, outbase,
           args ? args : "");
  int rc = test_run_cli(cmd, out, sizeof out);
  CHECK_MSG(rc == 2, "%s: exit %d, want 2; output: %s", name, rc, out);
  CHECK_MSG(strstr(out, fragment) != NULL, "%s: '%s' not in: %s", name, fragment, out);
  CHECK_MSG(!strstr(out, "= nan") && !strstr(out, "= -nan") && !strstr(out, "= inf"),
            "%s: a non-finite value in the message: %s", name, out);
  check_no_output(name, outbase);
}

static void run_case(const bad_case *c) {
  char text[8192], path[4096];
  const char *src = c->yaml;
  size_t k = 0;
  for (const char *p = src; *p && k + 1 < sizeof text;) {
    if (!strncmp(p, "@D@", 3)) {
      k += (size_t)snprintf(text + k, sizeof text - k, "%s/tests/badinput", SCHEDOPT_SOURCE_DIR);
      p += 3;
    } else {
      text[k++] = *p++;
    }
  }
  text[k < sizeof text ? k : sizeof text - 1] = '\0';
  snprintf(path, sizeof path, "%s/%s.yaml", dir, c->name);
  test_write_bytes(path, text, strlen(text));
  expect_bad(c->name, path, c->args, c->fragment);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/badinput", SCHEDOPT_TMP_DIR);
  mkdir(dir, 0777);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);

  char path[4096];
  /* binary garbage: every byte value, NULs included */
  unsigned char bin[1024];
  unsigned s = 12345;
  for (size_t i = 0; i < sizeof bin; i++) {
    s = s * 1103515245u + 12345u;
    bin[i] = (unsigned char)(s >> 16);
  }
  snprintf(path, sizeof path, "%s/binary.yaml", dir);
  test_write_bytes(path, bin, sizeof bin);
  expect_bad("binary", path, NULL, "binary.yaml:");
  /* valid UTF-8 with control characters */
  snprintf(path, sizeof path, "%s/control.yaml", dir);
  test_write_bytes(path, M S "name: a\x01" "b\n", strlen(M S "name: a\x01" "b\n"));
  expect_bad("control", path, NULL, "control.yaml:3:");
  /* deep nesting, flow and block */
  static char deep[32768];
  size_t k = (size_t)snprintf(deep, sizeof deep, M S "name: ");
  for (int i = 0; i < 200; i++) deep[k++] = '[';
  for (int i = 0; i < 200; i++) deep[k++] = ']';
  deep[k++] = '\n';
  snprintf(path, sizeof path, "%s/deep_flow.yaml", dir);
  test_write_bytes(path, deep, k);
  expect_bad("deep_flow", path, NULL, "nesting is deeper than 64 levels");
  k = (size_t)snprintf(deep, sizeof deep, M S);
  for (int i = 0; i < 100; i++)
    k += (size_t)snprintf(deep + k, sizeof deep - k, "%*sk%d:\n", i, "", i);
  snprintf(path, sizeof path, "%s/deep_block.yaml", dir);
  test_write_bytes(path, deep, k);
  expect_bad("deep_block", path, NULL, "nesting is deeper than 64 levels");

  /* oversized files: a 2 GiB problem file and a 2 GiB table (sparse: no
   * disk is used); both are refused at once, without reading them */
  snprintf(path, sizeof path, "%s/big.yaml", dir);
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0666);
  CHECK(fd >= 0 && ftruncate(fd, (off_t)2 << 30) == 0);
  if (fd >= 0) close(fd);
  expect_bad("big", path, NULL, "big.yaml: error: the file is larger than 16 MiB");
  unlink(path);
  char csv[4096], yaml[8192];
  snprintf(csv, sizeof csv, "%s/big.csv", dir);
  fd = open(csv, O_CREAT | O_TRUNC | O_WRONLY, 0666);
  CHECK(fd >= 0 && ftruncate(fd, (off_t)2 << 30) == 0);
  if (fd >= 0) close(fd);
  snprintf(yaml, sizeof yaml, M S "controls: {lr: {type: table, file: '%s'}}\n", csv);
  snprintf(path, sizeof path, "%s/bigcsv.yaml", dir);
  test_write_bytes(path, yaml, strlen(yaml));
  expect_bad("bigcsv", path, NULL, "big.csv: the file is larger than 256 MiB");
  unlink(csv);
  /* an over-long YAML file (17 MiB of comments): refused */
  snprintf(path, sizeof path, "%s/long.yaml", dir);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    static char line[1024];
    memset(line, '#', sizeof line - 1);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\0';
    for (int i = 0; i < 17 * 1024; i++) fputs(line, f);
    fclose(f);
  }
  expect_bad("long", path, NULL, "long.yaml: error: the file is larger than 16 MiB");
  unlink(path);
  return test_finish();
}
