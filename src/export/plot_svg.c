/* plot_svg.c — a small SVG writer for figures.
 *
 * Why our own: the figures are line plots with ticks, log axes and a legend,
 * and SVG is text; cairo or plplot would add a rendering stack (fonts,
 * pixman, X libraries) as a dependency of a numerical library for what is a
 * few hundred lines of printf. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outfile.h"
#include "export/plot_impl.h"

/* Geometry (pixels): panel cells in a grid of NCOL columns. */
#define CELL_W 480.0
#define CELL_H 320.0
#define M_LEFT 74.0
#define M_RIGHT 20.0
#define M_TOP 30.0
#define M_BOTTOM 46.0
#define NCOL 2
#define PAD 16.0
#define TITLE_H 34.0
#define CHAR_W 6.8 /* mean advance of a 12 px sans-serif character */

/* Okabe–Ito colours (distinguishable with colour-blindness); after them the
 * cycle repeats with dashes. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000"};
#define NPAL (sizeof palette / sizeof *palette)
static const char *const dashes[] = {NULL, "6 3", "2 2", "8 3 2 3"};

static void xml_text(FILE *fp, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", fp); break;
    case '<': fputs("&lt;", fp); break;
    case '>': fputs("&gt;", fp); break;
    case '"': fputs("&quot;", fp); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, fp);
    }
  }
}

/* Display width of UTF-8 text in characters. */
static size_t text_len(const char *s) {
  size_t n = 0;
  for (; s && *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* ---- axes --------------------------------------------------------------------- */

typedef struct axis {
  int log;
  double lo, hi; /* in data units, log10 of them on a log axis */
  double p0, p1; /* pixels of lo and hi */
} axis;

static double ax_pos(const axis *a, double v) {
  double u = a->log ? log10(v) : v;
  return a->p0 + (u - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static int valid(const plot_panel *q, double x, double y) {
  return isfinite(x) && isfinite(y) && (q->xscale != SCHEDOPT_PLOT_LOG || x > 0) &&
         (q->yscale != SCHEDOPT_PLOT_LOG || y > 0);
}

/* Data range of a panel (x fixed by a zoom: y over the points inside it;
 * bands count both edges); 0 if it has no valid point. */
static int panel_range(const plot_panel *q, double *x0, double *x1, double *y0, double *y1) {
  int any = 0, zoom = isfinite(q->xlo);
  *x0 = *y0 = INFINITY;
  *x1 = *y1 = -INFINITY;
  for (size_t j = 0; j < q->ns; j++)
    for (int e = 0; e < (q->s[j].y2 ? 2 : 1); e++)
      for (size_t i = 0; i < q->s[j].n; i++) {
        double x = q->s[j].x[i], y = e ? q->s[j].y2[i] : q->s[j].y[i];
        if (!valid(q, x, y) || (zoom && (x < q->xlo || x > q->xhi))) continue;
        any = 1;
        *x0 = fmin(*x0, x), *x1 = fmax(*x1, x);
        *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
      }
  if (zoom) *x0 = q->xlo, *x1 = q->xhi;
  return any;
}

/* Axis limits from a data range: linear axes start at 0 when the data are
 * non-negative and reach below half their maximum; the y axis gets 5 %
 * padding so that lines on the limits stay visible. */
static void ax_limits(axis *a, double lo, double hi, int pad, int from0) {
  if (a->log) {
    lo = log10(lo), hi = log10(hi);
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  } else {
    if (from0 && lo >= 0 && lo < 0.5 * hi) lo = 0;
    if (hi - lo <= 1e-12 * fmax(fabs(lo), fabs(hi))) {
      double d = lo != 0 ? 0.1 * fabs(lo) : 1;
      lo -= d, hi += d;
    }
  }
  if (pad) {
    double d = 0.05 * (hi - lo);
    lo -= d, hi += d;
  }
  a->lo = lo, a->hi = hi;
}

typedef struct tick {
  double v;       /* data value (not log10) */
  int major;      /* major ticks carry grid lines */
  int labelled;
} tick;

#define MAXTICKS 128

static double nice_step(double span) {
  double raw = span / 5, e = pow(10, floor(log10(raw))), f = raw / e;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * e;
}

/* Ticks of an axis and how to print them: scientific labels (fexp: a
 * common ×10^fexp on linear axes; 10^k on log axes) or plain decimals. */
typedef struct ticks {
  tick t[MAXTICKS];
  int n;
  int decimals;  /* linear: digits after the point */
  int fexp;      /* linear: common factor 10^fexp (0: none) */
  int sci;       /* log: labels as 10^k */
  int log;
} ticks;

static void make_ticks(const axis *a, ticks *T) {
  memset(T, 0, sizeof *T);
  if (!a->log) {
    double step = nice_step(a->hi - a->lo);
    double mag = fmax(fabs(a->lo), fabs(a->hi));
    int e = (int)floor(log10(mag));
    if (e >= 5 || e <= -3) T->fexp = e;
    double rel = step / pow(10, T->fexp);
    T->decimals = rel >= 1 ? 0 : (int)ceil(-log10(rel) - 1e-9);
    for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + 1e-9 * step && T->n < MAXTICKS;
         v += step) {
      double w = fabs(v) < 1e-9 * step ? 0 : v;
      T->t[T->n++] = (tick){w, 1, 1};
    }
    return;
  }
  T->log = 1;
  const double span = a->hi - a->lo;
  const int every = span > 10 ? 2 : 1; /* label every other decade on wide axes */
  int lo = (int)floor(a->lo), hi = (int)ceil(a->hi);
  double vmin = INFINITY, vmax = 0;
  for (int k = lo; k <= hi; k++)
    for (int m = 1; m <= 9; m++) {
      double u = k + log10((double)m);
      if (u < a->lo - 1e-9 || u > a->hi + 1e-9 || T->n >= MAXTICKS) continue;
      int lab = m == 1 ? (k % every == 0) : span < 1 ? 1 : span < 2.2 ? (m == 2 || m == 5) : 0;
      T->t[T->n++] = (tick){m * pow(10, k), m == 1, lab};
      if (lab) vmin = fmin(vmin, m * pow(10, k)), vmax = fmax(vmax, m * pow(10, k));
    }
  T->sci = !(vmin >= 1e-3 && vmax <= 1e4);
}

/* The label of a tick, as SVG text content (tspans for exponents). */
static void tick_label(FILE *fp, const ticks *T, double v) {
  if (T->sci) {
    int k = (int)floor(log10(v) + 1e-9);
    double m = v / pow(10, k);
    if (fabs(m - 1) > 1e-9) fprintf(fp, "%.0f\xc3\x97", m); /* "2×" */
    fprintf(fp, "10<tspan dy=\"-0.5em\" font-size=\"0.75em\">%s%d</tspan>",
            k < 0 ? "\xe2\x88\x92" : "", abs(k));
    return;
  }
  char buf[64];
  if (T->log)
    snprintf(buf, sizeof buf, "%g", v);
  else
    snprintf(buf, sizeof buf, "%.*f", T->decimals, v / pow(10, T->fexp));
  if (buf[0] == '-') { /* a typographic minus */
    fputs("\xe2\x88\x92", fp);
    fputs(buf + 1, fp);
  } else {
    fputs(buf, fp);
  }
}

/* ---- drawing ------------------------------------------------------------------ */

typedef struct canvas {
  FILE *fp;
  double w, h;
} canvas;

/* A sequential ramp (viridis, light yellow-green to dark purple, without
 * its palest end), interpolated in RGB; buf holds "#rrggbb". */
static const char *ramp_color(double u, char *buf) {
  static const unsigned char v[][3] = {{122, 209, 81}, {34, 168, 132}, {42, 120, 142},
                                       {65, 68, 135},  {68, 1, 84}};
  const int n = sizeof v / sizeof *v;
  double f = fmin(fmax(u, 0), 1) * (n - 1);
  int i = (int)floor(f);
  if (i >= n - 1) i = n - 2;
  f -= i;
  snprintf(buf, 8, "#%02x%02x%02x", (unsigned)lround(v[i][0] + f * (v[i + 1][0] - v[i][0])),
           (unsigned)lround(v[i][1] + f * (v[i + 1][1] - v[i][1])),
           (unsigned)lround(v[i][2] + f * (v[i + 1][2] - v[i][2])));
  return buf;
}

static const char *color_at(size_t color, double ramp, char *buf) {
  if (ramp >= 0) return ramp_color(ramp, buf);
  return color == PLOT_NEUTRAL ? "#888888" : palette[color % NPAL];
}

/* stroke colour and dashes: the series' own line style, else (solid) the
 * dash cycle once the palette has been used up */
static void series_style(FILE *fp, size_t color, double ramp, int line) {
  char buf[8];
  fprintf(fp, "stroke=\"%s\"", color_at(color, ramp, buf));
  const char *d = line == SCHEDOPT_PLOT_DASHED   ? "7 4"
                  : line == SCHEDOPT_PLOT_DOTTED ? "2 3"
                  : color == PLOT_NEUTRAL        ? "4 3"
                  : ramp >= 0                    ? NULL
                  : dashes[(color / NPAL) % (sizeof dashes / sizeof *dashes)];
  if (d) fprintf(fp, " stroke-dasharray=\"%s\"", d);
}

/* A marker centred at (x, y): filled (dot, square) or open (ring,
 * triangle) in the series' colour. */
static void marker(FILE *fp, int m, double x, double y, const char *col) {
  switch (m) {
  case SCHEDOPT_PLOT_DOT:
    fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.2\" fill=\"%s\" stroke=\"none\"/>\n", x, y,
            col);
    break;
  case SCHEDOPT_PLOT_RING:
    fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.4\" fill=\"#ffffff\" stroke=\"%s\" "
                "stroke-width=\"1.4\" stroke-dasharray=\"none\"/>\n", x, y, col);
    break;
  case SCHEDOPT_PLOT_SQUARE:
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"6\" height=\"6\" fill=\"%s\" "
                "stroke=\"none\"/>\n", x - 3, y - 3, col);
    break;
  case SCHEDOPT_PLOT_TRIANGLE:
    fprintf(fp, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"#ffffff\" "
                "stroke=\"%s\" stroke-width=\"1.4\" stroke-dasharray=\"none\"/>\n",
            x, y - 4, x - 3.8, y + 3, x + 3.8, y + 3, col);
    break;
  default: break;
  }
}

/* A band: one translucent polygon per run of valid points (lower edge
 * forward, upper edge back). */
static void draw_band(FILE *fp, const plot_panel *q, const plot_series *s, const axis *ax,
                      const axis *ay) {
  fputs("<g class=\"band\" data-label=\"", fp);
  xml_text(fp, s->label);
  char buf[8];
  fprintf(fp, "\" fill=\"%s\" fill-opacity=\"0.22\" stroke=\"none\">\n",
          color_at(s->color, s->ramp, buf));
  size_t i = 0;
  const int zoom = isfinite(q->xlo);
#define BAND_OK(k) (valid(q, s->x[k], s->y[k]) && valid(q, s->x[k], s->y2[k]) && \
                    (!zoom || (s->x[k] >= q->xlo && s->x[k] <= q->xhi)))
  while (i < s->n) {
    while (i < s->n && !BAND_OK(i)) i++;
    size_t j = i;
    while (j < s->n && BAND_OK(j)) j++;
    if (j > i + 1) {
      fputs("<polygon points=\"", fp);
      for (size_t k = i; k < j; k++)
        fprintf(fp, "%s%.2f,%.2f", k > i ? " " : "", ax_pos(ax, s->x[k]), ax_pos(ay, s->y[k]));
      for (size_t k = j; k-- > i;)
        fprintf(fp, " %.2f,%.2f", ax_pos(ax, s->x[k]), ax_pos(ay, s->y2[k]));
      fputs("\"/>\n", fp);
    }
    i = j;
  }
#undef BAND_OK
  fputs("</g>\n", fp);
}

/* One series as polylines, thinned to what the pixels can show: a point
 * closer than 0.25 px (in x and y) to the last one drawn is skipped; then
 * its markers, one per 3 px. */
static void draw_series(FILE *fp, const plot_panel *q, const plot_series *s, const axis *ax,
                        const axis *ay) {
  if (s->y2) {
    draw_band(fp, q, s, ax, ay);
    return;
  }
  fputs("<g class=\"series\" data-label=\"", fp);
  xml_text(fp, s->label);
  fputs("\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\" ", fp);
  series_style(fp, s->color, s->ramp, s->line);
  fputs(">\n", fp);
  size_t i = 0;
  const int zoom = isfinite(q->xlo);
  while (s->line != SCHEDOPT_PLOT_NOLINE && i < s->n) {
    while (i < s->n && !valid(q, s->x[i], s->y[i])) i++;
    size_t j = i;
    while (j < s->n && valid(q, s->x[j], s->y[j])) j++;
    /* a zoom: the run cut to [xlo, xhi], its ends interpolated there */
    size_t a = i, b = j;
    double xa = NAN, ya = NAN, xb = NAN, yb = NAN;
    if (zoom && j > i) {
      while (a < j && s->x[a] < q->xlo) a++;
      while (b > a && s->x[b - 1] > q->xhi) b--;
      if (a > i && a < j && s->x[a] > q->xlo) {
        double t = (q->xlo - s->x[a - 1]) / (s->x[a] - s->x[a - 1]);
        xa = q->xlo, ya = s->y[a - 1] + t * (s->y[a] - s->y[a - 1]);
      }
      if (b < j && b > i) {
        double t = (q->xhi - s->x[b - 1]) / (s->x[b] - s->x[b - 1]);
        xb = q->xhi, yb = s->y[b - 1] + t * (s->y[b] - s->y[b - 1]);
      }
      if (ay->log && !(ya > 0)) xa = NAN;
      if (ay->log && !(yb > 0)) xb = NAN;
    }
    if (b > a) {
      fputs("<polyline points=\"", fp);
      double lx = NAN, ly = NAN;
      if (!isnan(xa)) {
        lx = ax_pos(ax, xa), ly = ax_pos(ay, ya);
        fprintf(fp, "%.2f,%.2f ", lx, ly);
      }
      for (size_t k = a; k < b; k++) {
        double px = ax_pos(ax, s->x[k]), py = ax_pos(ay, s->y[k]);
        if (k > a && k + 1 < b && fabs(px - lx) < 0.25 && fabs(py - ly) < 0.25) continue;
        fprintf(fp, "%s%.2f,%.2f", k > a ? " " : "", px, py);
        lx = px, ly = py;
      }
      if (!isnan(xb)) fprintf(fp, " %.2f,%.2f", ax_pos(ax, xb), ax_pos(ay, yb));
      if (b == a + 1 && isnan(xa) && isnan(xb)) /* a lone point: a dot with round caps */
        fprintf(fp, " %.2f,%.2f\" stroke-linecap=\"round", lx, ly);
      fputs("\"/>\n", fp);
    }
    i = j;
  }
  if (s->marker) {
    double lx = -1e9, ly = -1e9;
    char buf[8];
    const char *col = color_at(s->color, s->ramp, buf);
    for (size_t k = 0; k < s->n; k++) {
      if (!valid(q, s->x[k], s->y[k]) || (zoom && (s->x[k] < q->xlo || s->x[k] > q->xhi)))
        continue;
      double px = ax_pos(ax, s->x[k]), py = ax_pos(ay, s->y[k]);
      if (hypot(px - lx, py - ly) < 3 && k + 1 < s->n) continue;
      marker(fp, s->marker, px, py, col);
      lx = px, ly = py;
    }
  }
  fputs("</g>\n", fp);
}

static void draw_panel(FILE *fp, const plot_panel *q, size_t idx, double cx, double cy) {
  const double L = cx + M_LEFT, R = cx + CELL_W - M_RIGHT, T = cy + M_TOP,
               B = cy + CELL_H - M_BOTTOM;
  fprintf(fp, "<g class=\"panel\" id=\"panel%zu\">\n", idx);
  if (q->title) {
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
                "font-weight=\"bold\">",
            (L + R) / 2, cy + 19);
    xml_text(fp, q->title);
    fputs("</text>\n", fp);
  }
  double x0, x1, y0, y1;
  axis ax = {q->xscale == SCHEDOPT_PLOT_LOG, 0, 1, L, R};
  axis ay = {q->yscale == SCHEDOPT_PLOT_LOG, 0, 1, B, T};
  int any = panel_range(q, &x0, &x1, &y0, &y1);
  if (any) {
    const int zoom = isfinite(q->xlo);
    ax_limits(&ax, x0, x1, 0, !zoom);
    ax_limits(&ay, y0, y1, 1, !zoom);
  }
  fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\"/>\n",
          L, T, R - L, B - T);
  if (any) {
    ticks tx, ty;
    make_ticks(&ax, &tx);
    make_ticks(&ay, &ty);
    /* grid at major ticks */
    fputs("<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n", fp);
    for (int k = 0; k < tx.n; k++)
      if (tx.t[k].major) {
        double p = ax_pos(&ax, tx.t[k].v);
        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>\n", p, T, p, B);
      }
    for (int k = 0; k < ty.n; k++)
      if (ty.t[k].major) {
        double p = ax_pos(&ay, ty.t[k].v);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\"/>\n", L, p, R, p);
      }
    fputs("</g>\n", fp);
    /* series, clipped to the plot area */
    fprintf(fp,
            "<clipPath id=\"clip%zu\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/></clipPath>\n<g clip-path=\"url(#clip%zu)\">\n",
            idx, L, T, R - L, B - T, idx);
    for (int pass = 0; pass < 2; pass++) /* bands under the lines */
      for (size_t j = 0; j < q->ns; j++)
        if (q->s[j].n && (q->s[j].y2 == NULL) == pass) draw_series(fp, q, &q->s[j], &ax, &ay);
    fputs("</g>\n", fp);
    /* ticks and labels */
    fputs("<g stroke=\"#444444\" stroke-width=\"1\">\n", fp);
    for (int k = 0; k < tx.n; k++) {
      double p = ax_pos(&ax, tx.t[k].v), len = tx.t[k].major ? 5 : 3;
      fprintf(fp, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>\n", p, B, p, B + len);
    }
    for (int k = 0; k < ty.n; k++) {
      double p = ax_pos(&ay, ty.t[k].v), len = ty.t[k].major ? 5 : 3;
      fprintf(fp, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\"/>\n", L - len, p, L, p);
    }
    fputs("</g>\n<g font-size=\"11\" fill=\"#222222\">\n", fp);
    for (int k = 0; k < tx.n; k++) {
      if (!tx.t[k].labelled) continue;
      fprintf(fp, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">", ax_pos(&ax, tx.t[k].v),
              B + 18);
      tick_label(fp, &tx, tx.t[k].v);
      fputs("</text>\n", fp);
    }
    for (int k = 0; k < ty.n; k++) {
      if (!ty.t[k].labelled) continue;
      fprintf(fp, "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">", L - 8,
              ax_pos(&ay, ty.t[k].v) + 4);
      tick_label(fp, &ty, ty.t[k].v);
      fputs("</text>\n", fp);
    }
    /* common factors of linear axes */
    if (tx.fexp)
      fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">\xc3\x97" "10<tspan "
                  "dy=\"-0.5em\" font-size=\"0.75em\">%s%d</tspan></text>\n",
              R, B + 32, tx.fexp < 0 ? "\xe2\x88\x92" : "", abs(tx.fexp));
    if (ty.fexp)
      fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\">\xc3\x97" "10<tspan "
                  "dy=\"-0.5em\" font-size=\"0.75em\">%s%d</tspan></text>\n",
              L + 2, T - 4, ty.fexp < 0 ? "\xe2\x88\x92" : "", abs(ty.fexp));
    fputs("</g>\n", fp);
  } else {
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                "fill=\"#888888\">no data</text>\n",
            (L + R) / 2, (T + B) / 2);
  }
  fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
              "stroke=\"#444444\" stroke-width=\"1\"/>\n",
          L, T, R - L, B - T);
  if (q->xlabel) {
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">",
            (L + R) / 2, B + 36);
    xml_text(fp, q->xlabel);
    fputs("</text>\n", fp);
  }
  if (q->ylabel) {
    double yc = (T + B) / 2, xc = cx + 16;
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                "transform=\"rotate(-90 %.1f %.1f)\">",
            xc, yc, xc, yc);
    xml_text(fp, q->ylabel);
    fputs("</text>\n", fp);
  }
  fputs("</g>\n", fp);
}

/* ---- legend: a column right of the panels ----------------------------------- */

#define LEG_CHARS 34 /* a label longer than this wraps at spaces */
#define LEG_LINE 15.0

/* The label's lines: break at the last space before LEG_CHARS characters
 * (or at LEG_CHARS within a word); returns the number of lines and, via
 * cut, the byte offset of each line's end. */
static int wrap(const char *s, size_t *cut, int maxlines) {
  int n = 0;
  size_t pos = 0, len = strlen(s);
  while (pos < len && n < maxlines) {
    size_t chars = 0, i = pos, brk = 0;
    while (i < len && chars < LEG_CHARS) {
      if (s[i] == ' ') brk = i;
      i++;
      while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
      chars++;
    }
    if (i < len && brk > pos) i = brk;
    cut[n++] = i;
    pos = i;
    while (pos < len && s[pos] == ' ') pos++;
  }
  return n ? n : (cut[0] = 0, 1);
}

/* The width of the legend column. */
static double legend_width(const schedopt_plot *p) {
  double w = 0;
  for (size_t i = 0; i < p->nentries; i++) {
    size_t cut[16];
    const char *l = p->e[i].label;
    int n = wrap(l, cut, 16);
    for (int k = 0, from = 0; k < n; k++) {
      char buf[256];
      size_t m = cut[k] - (size_t)from < sizeof buf - 1 ? cut[k] - (size_t)from : sizeof buf - 1;
      memcpy(buf, l + from, m);
      buf[m] = 0;
      w = fmax(w, CHAR_W * (double)text_len(buf));
      from = (int)cut[k];
      while (l[from] == ' ') from++;
    }
  }
  return p->nentries ? 40 + w + PAD : 0;
}

/* Entries top to bottom from (x0, y0): a sample of the line, marker or band,
 * then the (wrapped) label; returns the height (draws when fp is not NULL). */
static double legend(FILE *fp, const schedopt_plot *p, double x0, double y0) {
  double y = y0;
  for (size_t i = 0; i < p->nentries; i++) {
    const plot_entry *e = &p->e[i];
    size_t cut[16];
    int n = wrap(e->label, cut, 16);
    if (fp) {
      double yc = y + LEG_LINE / 2;
      char buf[8];
      const char *col = color_at(e->color, e->ramp, buf);
      if (e->band)
        fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"26\" height=\"10\" fill=\"%s\" "
                    "fill-opacity=\"0.22\"/>\n", x0, yc - 5, col);
      if (e->line) {
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.2\" ",
                x0, yc, x0 + 26, yc);
        series_style(fp, e->color, e->ramp, e->line - 1);
        fputs("/>\n", fp);
      }
      if (e->marker) marker(fp, e->marker, x0 + 13, yc, col);
      fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", x0 + 34, yc + 4);
      const char *l = e->label;
      size_t from = 0;
      for (int k = 0; k < n; k++) {
        if (k) fprintf(fp, "<tspan x=\"%.1f\" dy=\"%.0f\">", x0 + 34, LEG_LINE);
        char buf[256];
        size_t m = cut[k] - from < sizeof buf - 1 ? cut[k] - from : sizeof buf - 1;
        memcpy(buf, l + from, m);
        buf[m] = 0;
        xml_text(fp, buf);
        if (k) fputs("</tspan>", fp);
        from = cut[k];
        while (l[from] == ' ') from++;
      }
      fputs("</text>\n", fp);
    }
    y += LEG_LINE * n + 7;
  }
  return y - y0;
}

schedopt_status schedopt_plot_write_svg(const schedopt_plot *p, FILE *fp, schedopt_error *err) {
  if (!p || !fp) return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_write_svg: NULL argument");
  const size_t ncol = p->np < NCOL ? (p->np ? p->np : 1) : NCOL;
  const size_t nrow = p->np ? (p->np + ncol - 1) / ncol : 1;
  const double head = p->title ? TITLE_H : 8;
  const double lh = legend(NULL, p, 0, 0);
  double LW = legend_width(p), LX = CELL_W * (double)ncol + 4, LY = head + M_TOP;
  /* a vacant cell of the last row takes the legend if it fits there */
  const size_t vac = p->np % ncol ? ncol - p->np % ncol : 0;
  const int in_cell = p->np > ncol && vac && LW <= CELL_W * (double)vac - PAD &&
                      lh <= CELL_H - M_TOP - PAD;
  if (in_cell) {
    LX = CELL_W * (double)(ncol - vac) + M_LEFT;
    LY = head + CELL_H * (double)(nrow - 1) + M_TOP;
  }
  const double W = CELL_W * (double)ncol + (in_cell ? 0 : LW + (LW > 0 ? 4 : 0));
  const double H = fmax(head + CELL_H * (double)nrow, LY + lh + PAD);
  fprintf(fp,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, "
          "Arial, sans-serif\">\n",
          ceil(W), ceil(H), ceil(W), ceil(H));
  fputs("<title>", fp);
  xml_text(fp, p->title ? p->title : "schedopt figure");
  fputs("</title>\n", fp);
  fprintf(fp, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", ceil(W), ceil(H));
  if (p->title) {
    fprintf(fp, "<text x=\"%.1f\" y=\"23\" text-anchor=\"middle\" font-size=\"15\" "
                "font-weight=\"bold\">",
            W / 2);
    xml_text(fp, p->title);
    fputs("</text>\n", fp);
  }
  /* data-box: where the legend is (x y width height), for checks */
  fprintf(fp, "<g class=\"legend\" data-box=\"%.1f %.1f %.1f %.1f\">\n", LX, LY, LW, lh);
  legend(fp, p, LX, LY);
  fputs("</g>\n", fp);
  for (size_t i = 0; i < p->np; i++)
    draw_panel(fp, &p->p[i], i, CELL_W * (double)(i % ncol), head + CELL_H * (double)(i / ncol));
  fputs("</svg>\n", fp);
  if (ferror(fp)) /* errno: the failed write's */
    return schedopt_error_set(err, SCHEDOPT_EIO, "plot: write error: %s", strerror(errno));
  return SCHEDOPT_OK;
}

schedopt_status schedopt_plot_save_svg(const schedopt_plot *p, const char *path,
                                       schedopt_error *err) {
  if (!p) return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_save_svg: NULL argument");
  schedopt_outfile of;
  schedopt_status st = schedopt_outfile_open(&of, path, err);
  if (st) return st;
  if ((st = schedopt_plot_write_svg(p, of.fp, err))) {
    schedopt_outfile_abort(&of);
    return st;
  }
  return schedopt_outfile_commit(&of, err);
}
