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
#define LEGEND_ROW 22.0
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

/* Data range of a panel; 0 if it has no valid point. */
static int panel_range(const plot_panel *q, double *x0, double *x1, double *y0, double *y1) {
  int any = 0;
  *x0 = *y0 = INFINITY;
  *x1 = *y1 = -INFINITY;
  for (size_t j = 0; j < q->ns; j++)
    for (size_t i = 0; i < q->s[j].n; i++) {
      double x = q->s[j].x[i], y = q->s[j].y[i];
      if (!valid(q, x, y)) continue;
      any = 1;
      *x0 = fmin(*x0, x), *x1 = fmax(*x1, x);
      *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
    }
  return any;
}

/* Axis limits from a data range: linear axes start at 0 when the data are
 * non-negative and reach below half their maximum; the y axis gets 5 %
 * padding so that lines on the limits stay visible. */
static void ax_limits(axis *a, double lo, double hi, int pad) {
  if (a->log) {
    lo = log10(lo), hi = log10(hi);
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  } else {
    if (lo >= 0 && lo < 0.5 * hi) lo = 0;
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

static void series_style(FILE *fp, size_t color) {
  fprintf(fp, "stroke=\"%s\"", palette[color % NPAL]);
  const char *d = dashes[(color / NPAL) % (sizeof dashes / sizeof *dashes)];
  if (d) fprintf(fp, " stroke-dasharray=\"%s\"", d);
}

/* One series as polylines, thinned to what the pixels can show: a point
 * closer than 0.25 px (in x and y) to the last one drawn is skipped. */
static void draw_series(FILE *fp, const plot_panel *q, const plot_series *s, const axis *ax,
                        const axis *ay) {
  fputs("<g class=\"series\" data-label=\"", fp);
  xml_text(fp, s->label);
  fputs("\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\" ", fp);
  series_style(fp, s->color);
  fputs(">\n", fp);
  size_t i = 0;
  while (i < s->n) {
    while (i < s->n && !valid(q, s->x[i], s->y[i])) i++;
    size_t j = i;
    while (j < s->n && valid(q, s->x[j], s->y[j])) j++;
    if (j > i) {
      fputs("<polyline points=\"", fp);
      double lx = NAN, ly = NAN;
      for (size_t k = i; k < j; k++) {
        double px = ax_pos(ax, s->x[k]), py = ax_pos(ay, s->y[k]);
        if (k > i && k + 1 < j && fabs(px - lx) < 0.25 && fabs(py - ly) < 0.25) continue;
        fprintf(fp, "%s%.2f,%.2f", k > i ? " " : "", px, py);
        lx = px, ly = py;
      }
      if (j == i + 1) /* a lone point: a dot of zero length with round caps */
        fprintf(fp, " %.2f,%.2f\" stroke-linecap=\"round", lx, ly);
      fputs("\"/>\n", fp);
    }
    i = j;
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
    ax_limits(&ax, x0, x1, 0);
    ax_limits(&ay, y0, y1, 1);
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
    for (size_t j = 0; j < q->ns; j++) draw_series(fp, q, &q->s[j], &ax, &ay);
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

/* Legend entries flow left to right, wrapping at the figure width; returns
 * the number of rows (and draws them when fp is not NULL). */
static int legend(FILE *fp, const schedopt_plot *p, double width, double y0) {
  double x = PAD;
  int rows = p->nlabels ? 1 : 0;
  for (size_t i = 0; i < p->nlabels; i++) {
    double w = 34 + CHAR_W * (double)text_len(p->labels[i]) + 18;
    if (x > PAD && x + w > width - PAD) {
      x = PAD;
      rows++;
    }
    if (fp) {
      double y = y0 + (rows - 1) * LEGEND_ROW + LEGEND_ROW / 2;
      fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.2\" ",
              x, y, x + 26, y);
      series_style(fp, i);
      fprintf(fp, "/>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", x + 32, y + 4);
      xml_text(fp, p->labels[i]);
      fputs("</text>\n", fp);
    }
    x += w;
  }
  return rows;
}

schedopt_status schedopt_plot_write_svg(const schedopt_plot *p, FILE *fp, schedopt_error *err) {
  if (!p || !fp) return schedopt_error_set(err, SCHEDOPT_EINVAL, "plot_write_svg: NULL argument");
  const size_t ncol = p->np < NCOL ? (p->np ? p->np : 1) : NCOL;
  const size_t nrow = p->np ? (p->np + ncol - 1) / ncol : 1;
  const double W = CELL_W * (double)ncol;
  const double title_h = p->title ? TITLE_H : 8;
  const int lrows = legend(NULL, p, W, 0);
  const double head = title_h + lrows * LEGEND_ROW + (lrows ? 6 : 0);
  const double H = head + CELL_H * (double)nrow;
  fprintf(fp,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, "
          "Arial, sans-serif\">\n",
          W, H, W, H);
  fputs("<title>", fp);
  xml_text(fp, p->title ? p->title : "schedopt figure");
  fputs("</title>\n", fp);
  fprintf(fp, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", W, H);
  if (p->title) {
    fprintf(fp, "<text x=\"%.1f\" y=\"23\" text-anchor=\"middle\" font-size=\"15\" "
                "font-weight=\"bold\">",
            W / 2);
    xml_text(fp, p->title);
    fputs("</text>\n", fp);
  }
  fputs("<g class=\"legend\">\n", fp);
  legend(fp, p, W, title_h);
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
