/* Plots: the SVG is well-formed XML (xmllint --noout when it is installed,
 * and always a balanced-tag check here), has one series group per series,
 * finite coordinates inside the canvas, log axes that drop non-positive
 * points, and the standard figure of tables has its panels.  Then the CLI:
 * `schedopt plot` writes a figure, and bad input exits 2 without one. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/export.h"
#include "schedopt/plot.h"
#include "schedopt/schedopt.h"
#include "testutil.h"

/* Balanced tags: every <name ...> closed by </name> in order, <.../> and
 * <?...?> and <!--...--> skipped; quotes in attributes respected. */
static int xml_balanced(const char *s, char *why, size_t cap) {
  char stack[64][64];
  int depth = 0, roots = 0;
  for (const char *p = s; (p = strchr(p, '<'));) {
    if (!strncmp(p, "<?", 2)) {
      p = strstr(p, "?>");
      if (!p) return snprintf(why, cap, "unterminated <?"), 0;
      continue;
    }
    if (!strncmp(p, "<!--", 4)) {
      p = strstr(p, "-->");
      if (!p) return snprintf(why, cap, "unterminated comment"), 0;
      continue;
    }
    int closing = p[1] == '/';
    const char *n = p + 1 + closing;
    size_t len = strcspn(n, " \t\n/>");
    if (len == 0 || len >= 64) return snprintf(why, cap, "bad tag name"), 0;
    const char *q = n + len;
    char quote = 0;
    for (; *q && (quote || *q != '>'); q++)
      if (quote ? *q == quote : (*q == '"' || *q == '\''))
        quote = quote ? 0 : *q;
    if (!*q) return snprintf(why, cap, "unterminated tag <%.*s", (int)len, n), 0;
    int empty = q[-1] == '/';
    if (closing) {
      if (!depth || strncmp(stack[depth - 1], n, len) || stack[depth - 1][len])
        return snprintf(why, cap, "</%.*s> does not close <%s>", (int)len, n,
                        depth ? stack[depth - 1] : "(nothing)"),
               0;
      depth--;
    } else if (!empty) {
      if (depth == 64) return snprintf(why, cap, "too deep"), 0;
      if (!depth) roots++;
      memcpy(stack[depth], n, len);
      stack[depth++][len] = '\0';
    }
    p = q;
  }
  if (depth) return snprintf(why, cap, "<%s> not closed", stack[depth - 1]), 0;
  if (roots != 1) return snprintf(why, cap, "%d root elements", roots), 0;
  return 1;
}

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* Every coordinate of every polyline is finite and inside [0, W] × [0, H]. */
static int coords_ok(const char *s, size_t *npts) {
  double W = 0, H = 0;
  const char *v = strstr(s, "viewBox=\"");
  if (!v || sscanf(v, "viewBox=\"0 0 %lf %lf\"", &W, &H) != 2) return 0;
  *npts = 0;
  for (const char *p = s; (p = strstr(p, "<polyline points=\""));) {
    p += strlen("<polyline points=\"");
    while (*p && *p != '"') {
      char *end;
      double x = strtod(p, &end);
      if (end == p || *end != ',') return 0;
      p = end + 1;
      double y = strtod(p, &end);
      if (end == p) return 0;
      p = end;
      if (!isfinite(x) || !isfinite(y) || x < 0 || x > W || y < 0 || y > H) return 0;
      ++*npts;
      while (*p == ' ') p++;
    }
  }
  return 1;
}

static int have_xmllint = -1;

static void check_svg(const char *path, size_t want_series, size_t want_panels) {
  char *s = test_slurp(path, NULL);
  CHECK_MSG(s != NULL, "cannot read %s", path);
  if (!s) return;
  char why[256] = "";
  CHECK_MSG(xml_balanced(s, why, sizeof why), "%s: %s", path, why);
  if (have_xmllint < 0) {
    have_xmllint = system("xmllint --version >/dev/null 2>&1") == 0;
    if (!have_xmllint) printf("SKIP: xmllint not found: balanced-tag check only\n");
  }
  if (have_xmllint) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    CHECK_MSG(system(cmd) == 0, "xmllint rejects %s", path);
  }
  CHECK_MSG(count(s, "<g class=\"series\"") == want_series, "%zu series, want %zu",
            count(s, "<g class=\"series\""), want_series);
  CHECK_MSG(count(s, "<g class=\"panel\"") == want_panels, "%zu panels",
            count(s, "<g class=\"panel\""));
  size_t npts = 0;
  CHECK_MSG(coords_ok(s, &npts) && npts > 0, "%s: bad or no coordinates", path);
  CHECK(!strstr(s, "nan") && !strstr(s, "inf"));
  free(s);
}

static void test_figure(void) {
  schedopt_error err = {0};
  schedopt_plot *p = NULL;
  CHECK(schedopt_plot_alloc(&p, "three <series> & a \"title\"", &err) == SCHEDOPT_OK);
  schedopt_plot_axes lin = {"linear", "step", "value", SCHEDOPT_PLOT_LINEAR, SCHEDOPT_PLOT_LINEAR};
  schedopt_plot_axes log = {"log-log", "step", "loss", SCHEDOPT_PLOT_LOG, SCHEDOPT_PLOT_LOG};
  size_t a, b;
  CHECK(schedopt_plot_add_panel(p, &lin, &a, &err) == SCHEDOPT_OK && a == 0);
  CHECK(schedopt_plot_add_panel(p, &log, &b, &err) == SCHEDOPT_OK && b == 1);
  enum { N = 5000 };
  static double x[N], y1[N], y2[N], y3[N];
  for (int i = 0; i < N; i++) {
    x[i] = i;
    y1[i] = 3e-4 * (1 + cos(3.14159265358979323846 * i / N)) / 2;
    y2[i] = 2 * pow(1 + i, -0.5) + 0.01;
    y3[i] = i == 2000 ? NAN : i > 4000 ? -1 : 0.5 * pow(1 + i, -0.3); /* gaps */
  }
  CHECK(schedopt_plot_add_series(p, a, "cosine", x, y1, N, &err) == SCHEDOPT_OK);
  CHECK(schedopt_plot_add_series(p, b, "cosine", x, y2, N, &err) == SCHEDOPT_OK);
  CHECK(schedopt_plot_add_series(p, b, "baseline: <const>", x, y3, N, &err) == SCHEDOPT_OK);
  CHECK(schedopt_plot_add_series(p, 7, "nope", x, y3, N, &err) == SCHEDOPT_EINVAL);
  CHECK(schedopt_plot_npanels(p) == 2 && schedopt_plot_nseries(p, 1) == 2);
  char path[4096];
  snprintf(path, sizeof path, "%s/figure.svg", SCHEDOPT_TMP_DIR);
  CHECK_MSG(schedopt_plot_save_svg(p, path, &err) == SCHEDOPT_OK, "%s", err.msg);
  check_svg(path, 3, 2);
  char *s = test_slurp(path, NULL);
  if (s) {
    /* two legend entries (labels are shared), escaped text, log ticks */
    CHECK(count(s, "<g class=\"legend\"") == 1);
    CHECK(strstr(s, "baseline: &lt;const&gt;") && strstr(s, "&quot;title&quot;"));
    CHECK(strstr(s, "10<tspan") != NULL || strstr(s, ">100<") != NULL);
    /* the lr axis (3e-4 peak) factors out its power of ten */
    CHECK(strstr(s, "\xc3\x97" "10<tspan") != NULL);
    /* the gapped series is drawn as separate lines */
    const char *g = strstr(s, "data-label=\"baseline: &lt;const&gt;\"");
    const char *end = g ? strstr(g, "</g>") : NULL;
    size_t lines = 0;
    for (const char *q = g; q && q < end && (q = strstr(q, "<polyline")) && q < end; q++) lines++;
    CHECK_MSG(lines == 2, "%zu polylines", lines);
    free(s);
  }
  schedopt_plot_free(p);

  /* an empty panel says so and stays valid */
  CHECK(schedopt_plot_alloc(&p, NULL, &err) == SCHEDOPT_OK);
  CHECK(schedopt_plot_add_panel(p, &log, &a, &err) == SCHEDOPT_OK);
  double neg[3] = {-1, 0, -2};
  CHECK(schedopt_plot_add_series(p, a, "all dropped", neg, neg, 3, &err) == SCHEDOPT_OK);
  CHECK(schedopt_plot_save_svg(p, path, &err) == SCHEDOPT_OK);
  s = test_slurp(path, NULL);
  CHECK(s && strstr(s, "no data") && xml_balanced(s, (char[256]){0}, 256));
  free(s);
  schedopt_plot_free(p);
}

static void test_tables(void) {
  const char *yaml =
      "name: ramp\n"
      "model: {type: plrf, a: 2.5, b: 1.5, N: 100, sigma2: 0.1}\n"
      "budget: {tokens: 4e6, seq_len: 512}\n"
      "controls:\n"
      "  lr: {type: wsd, peak: 0.3, decay_frac: 0.3, shape: cosine, warmup: 2e5}\n"
      "  batch: {type: linear, start: 4, end: 16}\n"
      "  momentum: 0.5\n";
  schedopt_error err = {0};
  schedopt_problem *pb = NULL;
  double *t = NULL;
  size_t n = 0, nr = 0;
  schedopt_row *rows = NULL;
  int ok = !test_make_problem(&pb, yaml, "ramp", NULL, 0, &err) &&
           !schedopt_export_times(schedopt_problem_schedule(pb), 400, &t, &n, &err) &&
           (rows = calloc(n, sizeof *rows)) &&
           !schedopt_export_simulate(pb, NULL, t, n, rows, &nr, &err);
  CHECK_MSG(ok, "%s", err.msg);
  if (ok) {
    schedopt_export_table tabs[2] = {
        {rows, nr, 1, SCHEDOPT_CLOCK_DATA, 512, "ramp", "optimum", NULL, pb},
        {rows, nr / 2, 0, SCHEDOPT_CLOCK_DATA, 512, "ramp", "baseline: half, no loss", NULL, pb},
    };
    schedopt_plot *p = NULL;
    CHECK(schedopt_plot_alloc(&p, "ramp", &err) == SCHEDOPT_OK);
    CHECK_MSG(schedopt_plot_tables(p, tabs, 2, &err) == SCHEDOPT_OK, "%s", err.msg);
    /* lr, excess loss (log-log), excess loss zoomed on the anneal, batch,
     * momentum; the table without loss has 3 series */
    CHECK(schedopt_plot_npanels(p) == 5);
    CHECK(schedopt_plot_nseries(p, 0) == 2 && schedopt_plot_nseries(p, 1) == 1 &&
          schedopt_plot_nseries(p, 2) == 1);
    CHECK(schedopt_plot_tables(p, tabs, 1, &err) == SCHEDOPT_EINVAL);
    char path[4096];
    snprintf(path, sizeof path, "%s/tables.svg", SCHEDOPT_TMP_DIR);
    CHECK(schedopt_plot_save_svg(p, path, &err) == SCHEDOPT_OK);
    check_svg(path, 8, 5);
    char *s = test_slurp(path, NULL);
    CHECK(s && strstr(s, ">tokens<")); /* the x axis counts the clock */
    free(s);
    schedopt_plot_free(p);
  }
  free(rows);
  free(t);
  schedopt_problem_free(pb);
}

static void test_cli(void) {
  static char out[1 << 16];
  char args[8192], svg[4096];
  snprintf(svg, sizeof svg, "%s/hard_cli.svg", SCHEDOPT_TMP_DIR);
  unlink(svg);
  snprintf(args, sizeof args, "plot '%s/problems/hard_phase.yaml' -o '%s' --set model.N=200",
           SCHEDOPT_SOURCE_DIR, svg);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0 && strstr(out, "wrote"), "rc %d: %s", rc, out);
  check_svg(svg, 3, 3); /* lr, excess loss and its anneal, one series each */

  rc = test_run_cli("plot --help", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "--points N"));
  rc = test_run_cli("--help", out, sizeof out);
  CHECK(rc == 0 && strstr(out, "plot") && strstr(out, "export"));
  /* bad input: exit 2, nothing written */
  unlink(svg);
  snprintf(args, sizeof args, "plot '%s/problems/hard_phase.yaml' -o '%s' --set model.b=0.5",
           SCHEDOPT_SOURCE_DIR, svg);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "model.b"), "rc %d: %s", rc, out);
  CHECK(access(svg, F_OK) != 0);
  snprintf(args, sizeof args, "plot '%s/problems/hard_phase.yaml' --points 1", SCHEDOPT_SOURCE_DIR);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "--points"), "rc %d: %s", rc, out);
  rc = test_run_cli("plot", out, sizeof out);
  CHECK(rc == 2 && strstr(out, "missing PROBLEM.yaml"));
  /* a diverging schedule: exit 1 */
  snprintf(args, sizeof args, "plot '%s/problems/hard_phase.yaml' -o '%s' --set controls.lr.peak=5",
           SCHEDOPT_SOURCE_DIR, svg);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 1 && access(svg, F_OK) != 0, "rc %d: %s", rc, out);
}

int main(void) {
  test_figure();
  test_tables();
  test_cli();
  return test_finish();
}
