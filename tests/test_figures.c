/* Figures a reader can use: every figure type — a theory problem (with its
 * anneal zoomed), a sweep (markers, fitted and theory T^-zeta, eta*(t/T)
 * of each horizon), a fit against the observed curves of real runs (held
 * out marked, residuals), a design beside its baselines (band, anneal,
 * gaps) — is checked as SVG (series, markers, labels, the legend inside the
 * canvas and clear of every panel's plot area) and, where rsvg-convert and
 * python3 are installed, rendered to PNG and decoded (zlib of python3's
 * standard library): the plot areas hold drawn pixels and the image more
 * than a handful of colours.  Missing tools: a SKIP line. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedopt/plot.h"
#include "testutil.h"

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* The PNG's pixels: prints "W H colours" and, per plot-area rectangle given
 * as x,y,w,h, the fraction of pixels that are not white. */
static const char *png_py =
    "import sys, zlib, struct\n"
    "d = open(sys.argv[1], 'rb').read()\n"
    "assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
    "i, idat = 8, b''\n"
    "while i < len(d):\n"
    "    n, t = struct.unpack('>I4s', d[i:i+8]); c = d[i+8:i+8+n]; i += 12 + n\n"
    "    if t == b'IHDR': W, H, bd, ct = struct.unpack('>IIBB', c[:10])\n"
    "    if t == b'IDAT': idat += c\n"
    "assert bd == 8 and ct in (2, 6)\n"
    "bpp = 4 if ct == 6 else 3\n"
    "raw, st, rows, prev = zlib.decompress(idat), W * bpp, [], bytearray(W * bpp)\n"
    "for y in range(H):\n"
    "    f, r = raw[y*(st+1)], bytearray(raw[y*(st+1)+1:(y+1)*(st+1)])\n"
    "    for x in range(st):\n"
    "        a = r[x-bpp] if x >= bpp else 0; b = prev[x]; c = prev[x-bpp] if x >= bpp else 0\n"
    "        if f == 1: r[x] = (r[x] + a) & 255\n"
    "        elif f == 2: r[x] = (r[x] + b) & 255\n"
    "        elif f == 3: r[x] = (r[x] + (a + b) // 2) & 255\n"
    "        elif f == 4:\n"
    "            p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)\n"
    "            r[x] = (r[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255\n"
    "    rows.append(bytes(r)); prev = r\n"
    "px = lambda x, y: rows[y][x*bpp:x*bpp+3] if bpp == 3 or rows[y][x*bpp+3] else b'\\xff\\xff\\xff'\n"
    "cols = set(px(x, y) for y in range(0, H, 2) for x in range(0, W, 2))\n"
    "out = ['%d %d %d' % (W, H, len(cols))]\n"
    "for a in sys.argv[2:]:\n"
    "    x0, y0, w, h = [int(float(v)) for v in a.split(',')]\n"
    "    ink = sum(px(x, y) != b'\\xff\\xff\\xff' for y in range(y0+2, y0+h-2) for x in range(x0+2, x0+w-2))\n"
    "    out.append('%.4f' % (ink / max(1, (w-4)*(h-4))))\n"
    "print(' '.join(out))\n";

static int have_png = -1; /* rsvg-convert and python3 */

/* The plot areas of an SVG: the panels' frames (the second rect of each
 * panel group is its white background: x, y, width, height). */
static size_t plot_areas(const char *s, double (*a)[4], size_t max) {
  size_t n = 0;
  for (const char *p = s; n < max && (p = strstr(p, "<g class=\"panel\""));) {
    p = strstr(p, "<rect x=\"");
    if (!p || sscanf(p, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &a[n][0],
                     &a[n][1], &a[n][2], &a[n][3]) != 4)
      break;
    n++;
  }
  return n;
}

/* Structure every figure has, then the PNG. want_panels panels, at least
 * min_series series groups; every needle in need[] present. */
static void check_figure(const char *svg, size_t want_panels, size_t min_series,
                         const char *const *need) {
  char *s = test_slurp(svg, NULL);
  CHECK_MSG(s != NULL, "no figure %s", svg);
  if (!s) return;
  CHECK_MSG(count(s, "<g class=\"panel\"") == want_panels, "%s: %zu panels, want %zu", svg,
            count(s, "<g class=\"panel\""), want_panels);
  CHECK_MSG(count(s, "<g class=\"series\"") >= min_series, "%s: %zu series, want >= %zu", svg,
            count(s, "<g class=\"series\""), min_series);
  for (size_t i = 0; need && need[i]; i++)
    CHECK_MSG(strstr(s, need[i]) != NULL, "%s: no '%s'", svg, need[i]);
  CHECK(!strstr(s, "nan") && !strstr(s, "inf"));
  /* the legend: inside the canvas, clear of every plot area, every entry */
  double W = 0, H = 0, lx, ly, lw, lh;
  const char *v = strstr(s, "viewBox=\"");
  const char *lg = strstr(s, "<g class=\"legend\" data-box=\"");
  CHECK(v && sscanf(v, "viewBox=\"0 0 %lf %lf\"", &W, &H) == 2);
  CHECK_MSG(lg && sscanf(lg, "<g class=\"legend\" data-box=\"%lf %lf %lf %lf\"", &lx, &ly, &lw,
                         &lh) == 4,
            "%s: no legend box", svg);
  double a[16][4];
  size_t na = plot_areas(s, a, 16);
  CHECK_MSG(na == want_panels, "%s: %zu plot areas", svg, na);
  if (lg) {
    CHECK_MSG(lx >= 0 && ly >= 0 && lx + lw <= W + 0.5 && ly + lh <= H + 0.5,
              "%s: legend %g %g %g %g outside %g x %g", svg, lx, ly, lw, lh, W, H);
    for (size_t k = 0; k < na; k++)
      CHECK_MSG(lx >= a[k][0] + a[k][2] || lx + lw <= a[k][0] || ly >= a[k][1] + a[k][3] ||
                    ly + lh <= a[k][1],
                "%s: the legend overlaps panel %zu", svg, k);
    /* entries: one text per legend entry, each with a sample before it */
    const char *end = strstr(lg, "</g>");
    size_t texts = 0;
    for (const char *p = lg; (p = strstr(p, "<text")) && p < end; p++) texts++;
    CHECK_MSG(texts >= 1, "%s: empty legend", svg);
  }
  /* every panel has both axis labels (rotated y label, x label below) */
  CHECK_MSG(count(s, "transform=\"rotate(-90") == want_panels, "%s: y labels", svg);
  if (have_png < 0) {
    have_png = system("rsvg-convert --version >/dev/null 2>&1") == 0 &&
               system("python3 -c 'import zlib' >/dev/null 2>&1") == 0;
    if (!have_png) printf("SKIP: rsvg-convert or python3 not found: no PNG checks\n");
  }
  if (have_png) {
    char png[4200], py[4200], cmd[16384], out[4096];
    snprintf(png, sizeof png, "%s.png", svg);
    snprintf(py, sizeof py, "%s/png_check.py", SCHEDOPT_TMP_DIR);
    test_write_text(py, png_py);
    snprintf(cmd, sizeof cmd, "rsvg-convert '%s' -o '%s' 2>&1", svg, png);
    CHECK_MSG(test_run_cmd(cmd, out, sizeof out) == 0, "rsvg-convert %s: %s", svg, out);
    size_t len = (size_t)snprintf(cmd, sizeof cmd, "python3 '%s' '%s'", py, png);
    for (size_t k = 0; k < na && len < sizeof cmd - 100; k++)
      len += (size_t)snprintf(cmd + len, sizeof cmd - len, " %.0f,%.0f,%.0f,%.0f", a[k][0],
                              a[k][1], a[k][2], a[k][3]);
    snprintf(cmd + len, sizeof cmd - len, " 2>&1");
    int rc = test_run_cmd(cmd, out, sizeof out);
    int w = 0, h = 0, colours = 0, off = 0;
    CHECK_MSG(rc == 0 && sscanf(out, "%d %d %d%n", &w, &h, &colours, &off) == 3,
              "decoding %s: %s", png, out);
    CHECK_MSG(fabs(w - W) <= 1 && fabs(h - H) <= 1, "%s: %d x %d, the SVG %g x %g", png, w, h,
              W, H);
    CHECK_MSG(colours > 8, "%s: %d colours: blank?", png, colours);
    const char *p = out + off;
    for (size_t k = 0; k < na; k++) {
      double ink = 0;
      int used = 0;
      CHECK_MSG(sscanf(p, "%lf%n", &ink, &used) == 1 && ink > 0.005,
                "%s: panel %zu has %.4f of its pixels drawn", png, k, ink);
      p += used;
    }
  }
  free(s);
}

/* The library: markers, bands, a zoom and a ramp, drawn inside the canvas. */
static void test_styles(void) {
  schedopt_error err = {0};
  schedopt_plot *p = NULL;
  OK(schedopt_plot_alloc(&p, "styles", &err));
  const schedopt_plot_axes ax = {"a", "step", "loss", SCHEDOPT_PLOT_LINEAR,
                                 SCHEDOPT_PLOT_LINEAR};
  size_t a, b;
  OK(schedopt_plot_add_panel(p, &ax, &a, &err));
  OK(schedopt_plot_add_panel(p, &ax, &b, &err));
  double x[50], y[50], lo[50], hi[50];
  for (int i = 0; i < 50; i++)
    x[i] = i * 10, y[i] = 3 + exp(-i / 10.0), lo[i] = y[i] - 0.05, hi[i] = y[i] + 0.05;
  const schedopt_plot_style pts = {SCHEDOPT_PLOT_NOLINE, SCHEDOPT_PLOT_RING, NULL, 0, 0, 0};
  const schedopt_plot_style dash = {SCHEDOPT_PLOT_DASHED, SCHEDOPT_PLOT_NOMARK, "obs", 0, 0, 0};
  const schedopt_plot_style zero = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 1, 0, 0};
  const schedopt_plot_style r0 = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 1, 0.0};
  const schedopt_plot_style r1 = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 1, 1.0};
  const schedopt_plot_style bad = {SCHEDOPT_PLOT_SOLID, SCHEDOPT_PLOT_NOMARK, NULL, 0, 1, 2.0};
  OK(schedopt_plot_add_series_styled(p, a, "obs", x, y, 50, &pts, &err));
  OK(schedopt_plot_add_series_styled(p, a, "fit of obs", x, y, 50, &dash, &err));
  OK(schedopt_plot_add_band(p, a, "band", x, lo, hi, 50, NULL, &err));
  OK(schedopt_plot_add_series_styled(p, a, "", x, lo, 50, &zero, &err));
  OK(schedopt_plot_add_series_styled(p, b, "short", x, y, 50, &r0, &err));
  OK(schedopt_plot_add_series_styled(p, b, "long", x, hi, 50, &r1, &err));
  CHECK(schedopt_plot_add_series_styled(p, b, "x", x, y, 50, &bad, &err) == SCHEDOPT_EINVAL &&
        strstr(err.msg, "ramp_at = 2"));
  CHECK(schedopt_plot_set_xrange(p, b, 300, 200, &err) == SCHEDOPT_EINVAL &&
        strstr(err.msg, "[300, 200]"));
  OK(schedopt_plot_set_xrange(p, b, 250, 490, &err));
  const char *svg = test_tmp_path("styles.svg");
  OK(schedopt_plot_save_svg(p, svg, &err));
  schedopt_plot_free(p);
  char *s = test_slurp(svg, NULL);
  CHECK(s != NULL);
  if (!s) return;
  /* markers thinned to one per 3 px but all 50 well apart here, in the
   * legend too; the band is a polygon; the neutral line has no entry; the
   * fit line shares the colour of obs */
  CHECK_MSG(count(s, "<circle") == 51, "%zu circles", count(s, "<circle"));
  CHECK(count(s, "<g class=\"band\"") == 1 && strstr(s, "fill-opacity=\"0.22\""));
  CHECK(count(s, "stroke=\"#888888\"") == 1);
  const char *o = strstr(s, "data-label=\"obs\""), *f = strstr(s, "data-label=\"fit of obs\"");
  CHECK(o && f && !strncmp(strstr(o, "stroke=\"#"), strstr(f, "stroke=\"#"), 16));
  /* the ramp's ends: light green and dark purple */
  CHECK(strstr(s, "#7ad151") && strstr(s, "#440154"));
  /* the zoomed panel's lines start at x = 250 (interpolated), inside the frame */
  free(s);
  const char *need[] = {"legend", NULL};
  check_figure(svg, 2, 4, need);
}

static void test_theory(void) {
  char args[8192], out[1 << 14];
  const char *svg = test_tmp_path("hard.svg");
  unlink(svg);
  snprintf(args, sizeof args, "plot '%s/problems/hard_phase.yaml' -o '%s' --set model.N=200 -q",
           SCHEDOPT_SOURCE_DIR, svg);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  /* WSD decaying over the last 20 %: the anneal panel from 75 % */
  const char *need[] = {"the anneal (last 25 %)", ">steps<", "log\xe2\x80\x93log", NULL};
  check_figure(svg, 3, 3, need);
}

static void test_sweep(void) {
  char args[8192], out[1 << 14];
  const char *dir = test_tmp_path("sweep");
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  CHECK(system(args) == 0);
  snprintf(args, sizeof args,
           "sweep '%s/problems/sweep_easy_phase.yaml' -o '%s' -q --set model.N=200 "
           "--set sweep.to=4000 --set sweep.points=3 --set optimize.controls.lr.knots=16 "
           "--set optimize.baselines=[constant,wsd] --set output.plot=true",
           SCHEDOPT_SOURCE_DIR, dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  const char *svg = test_path_in(dir, "sweep.svg");
  /* markers (dots, squares), fitted and theory lines, words on the x axis,
   * the easy phase's rescaling and one eta* per horizon */
  const char *need[] = {"horizon T (steps)", "optimum: fit \xce\xb6 = ", "optimum: theory \xce\xb6 = 0.714",
                        "constant: theory \xce\xb6 = 0.556", "<circle", "<rect x=",
                        "fraction of the run t/T", "rescaled by T^(1\xe2\x88\x92" "b/a)",
                        "\xce\xb7* at T = 1000", "\xce\xb7* at T = 4000", "stroke-dasharray=\"7 4\"",
                        NULL};
  /* scaling: 2 schedules × (markers + fit) + 2 theory lines; 3 horizons */
  check_figure(svg, 2, 9, need);
  /* the profiles are in sweep.json and their data beside the figure */
  char *j = test_slurp(test_path_in(dir, "sweep.json"), NULL);
  CHECK(j && count(j, "\"lr_profile\"") == 3);
  free(j);
  char *c = test_slurp(test_path_in(dir, "sweep_lr.csv"), NULL);
  CHECK_MSG(c && !strncmp(c, "t_over_T,1000,2000,4000\n", 24), "sweep_lr.csv: %.60s",
            c ? c : "(none)");
  CHECK(c && count(c, "\n") == 102);
  free(c);
  /* plot DIR redraws the figure from sweep.json; a sharded sweep, merged,
   * draws the same figure (the profiles travel in the shard files) */
  const char *re = test_tmp_path("sweep_re.svg");
  snprintf(args, sizeof args, "plot '%s' -o '%s' -q", dir, re);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  char *a = test_slurp(svg, NULL), *b = test_slurp(re, NULL);
  CHECK_MSG(a && b && !strcmp(a, b), "plot DIR differs from the sweep's own figure");
  free(b);
  const char *sh = test_tmp_path("shards"), *mg = test_tmp_path("merged");
  snprintf(args, sizeof args, "rm -rf '%s' '%s'", sh, mg);
  CHECK(system(args) == 0);
  for (int k = 1; k <= 2; k++) {
    snprintf(args, sizeof args,
             "sweep '%s/problems/sweep_easy_phase.yaml' -o '%s' -q --set model.N=200 "
             "--set sweep.to=4000 --set sweep.points=3 --set optimize.controls.lr.knots=16 "
             "--set optimize.baselines=[constant,wsd] --set output.plot=true --shard %d/2",
             SCHEDOPT_SOURCE_DIR, sh, k);
    rc = test_run_cli(args, out, sizeof out);
    CHECK_MSG(rc == 0, "shard %d: exit %d: %s", k, rc, out);
  }
  snprintf(args, sizeof args, "merge '%s' -o '%s' -q", sh, mg);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "merge: exit %d: %s", rc, out);
  snprintf(args, sizeof args, "plot '%s' -o '%s' -q", mg, re);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  b = test_slurp(re, NULL);
  CHECK_MSG(a && b && !strcmp(a, b), "the merged sweep's figure differs");
  free(a);
  free(b);
}

/* A fit of the 100M multi-power-law runs (real data): one start, no prior
 * search, to stay fast. */
static void test_fit(void) {
  char args[8192], out[1 << 14];
  const char *svg = test_tmp_path("fit_spec.svg");
  unlink(svg);
  snprintf(args, sizeof args,
           "plot '%s/problems/fit_mpl_100m.yaml' -o '%s' -q --set fit.starts=1 --set fit.prior=0",
           SCHEDOPT_SOURCE_DIR, svg);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  const char *need[] = {"cosine_24000 (fit)", "wsd_20000_24000 (held out)",
                        "residual: observed \xe2\x88\x92 predicted", "loss residual",
                        "stroke-dasharray=\"7 4\"", "<circle", "fill=\"#ffffff\" stroke=\"#", NULL};
  /* 5 curves: lr, observed, predicted, residual each; and y = 0 */
  check_figure(svg, 3, 21, need);
  /* the same from the fit's output folder */
  const char *dir = test_tmp_path("fitdir");
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  CHECK(system(args) == 0);
  snprintf(args, sizeof args,
           "fit '%s/problems/fit_mpl_100m.yaml' -o '%s' -q --set fit.starts=1 --set fit.prior=0 "
           "--set uncertainty.bootstrap=4 --set output.plot=true",
           SCHEDOPT_SOURCE_DIR, dir);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  /* output.plot: the figure beside its data, with the refits' band */
  check_figure(test_path_in(dir, "fit.svg"), 3, 21, need);
  char *f = test_slurp(test_path_in(dir, "fit.svg"), NULL);
  CHECK(f && count(f, "<g class=\"band\"") == 5);
  free(f);
  const char *svg2 = test_tmp_path("fit_dir.svg");
  snprintf(args, sizeof args, "plot '%s' -o '%s' -q", dir, svg2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  check_figure(svg2, 3, 21, need);
  /* a folder that is neither: exit 2, nothing written */
  unlink(svg2);
  snprintf(args, sizeof args, "plot '%s/problems' -o '%s'", SCHEDOPT_SOURCE_DIR, svg2);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc != 0 && access(svg2, F_OK) != 0, "exit %d: %s", rc, out);
}

/* A design under the fit above (its refits give the band), with output.plot;
 * then plot on the folder. */
static void test_design(void) {
  char args[8192], out[1 << 14];
  const char *dir = test_tmp_path("design");
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  CHECK(system(args) == 0);
  char spec[8192];
  snprintf(spec, sizeof spec,
           "name: design-band\nmodel: %s\nbudget: {steps: 24000}\n"
           "lr: {peak: 3.0e-4, floor: 3.0e-5, warmup: 2160}\ndesign: {knots: 16}\n"
           "output: {every: 100, plot: true}\n",
           test_tmp_path("fitdir/fit.json"));
  const char *sp = test_write_tmp("design.yaml", spec);
  snprintf(args, sizeof args, "design '%s' -o '%s' -q 2>&1", sp, dir);
  int rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  const char *need[] = {"design: prediction band", "predicted loss, the anneal (last ",
                        "baseline minus design", "data-label=\"wsd-sqrt\"",
                        "stroke-dasharray=\"7 4\"", "<g class=\"band\"", NULL};
  /* lr, loss and anneal: design + 6 baselines; gaps: 6 and y = 0 */
  check_figure(test_path_in(dir, "design.svg"), 4, 28, need);
  /* the baselines' predicted losses are written beside their lr */
  char *b = test_slurp(test_path_in(dir, "baselines.csv"), NULL);
  CHECK_MSG(b && strstr(b, ",loss_constant,loss_cosine,") && count(b, "\n") == 242,
            "baselines.csv: %.200s", b ? b : "(none)");
  free(b);
  const char *svg = test_tmp_path("design_dir.svg");
  snprintf(args, sizeof args, "plot '%s' -o '%s' -q", dir, svg);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
  check_figure(svg, 4, 28, need);
  /* output.plot needs a folder; a design spec given to plot says what to do */
  snprintf(args, sizeof args, "design '%s' -q", sp);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "output.plot: the figure goes into the output folder"),
            "exit %d: %s", rc, out);
  snprintf(args, sizeof args, "plot '%s' -o '%s'", sp, svg);
  rc = test_run_cli(args, out, sizeof out);
  CHECK_MSG(rc == 2 && strstr(out, "is a design spec"), "exit %d: %s", rc, out);
}

int main(void) {
  test_styles();
  test_theory();
  test_sweep();
  test_fit();
  test_design();
  return test_finish();
}
