/* optimize_design.c — parametrizations: decision vector x ↦ schedule, the
 * chain rule ∇ₓJ = (∂θ/∂x)ᵀ ∇_θJ, projection of a schedule onto x, and
 * central-difference gradients (the math is stated in schedopt/optimize.h). */
#define _POSIX_C_SOURCE 200809L
#include "optimize/optimize_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynamics/control_impl.h"

static const schedopt_parametrization_type family_type = {
    "family", "chosen parameters of the channel's control family"};
static const schedopt_parametrization_type freeform_type = {
    "freeform", "a table of values at K knots (piecewise linear or constant)"};
const schedopt_parametrization_type *const schedopt_parametrization_family = &family_type;
const schedopt_parametrization_type *const schedopt_parametrization_freeform = &freeform_type;
const schedopt_parametrization_type *const schedopt_parametrization_types[] = {
    &family_type, &freeform_type, NULL};

const schedopt_parametrization_type *schedopt_parametrization_type_find(const char *name) {
  for (size_t i = 0; name && schedopt_parametrization_types[i]; i++)
    if (!strcmp(name, schedopt_parametrization_types[i]->name))
      return schedopt_parametrization_types[i];
  return NULL;
}

static const char *const channel_name[SCHEDOPT_NCHANNELS] = {"lr", "batch", "momentum"};
/* v(t) ranges of the channels: η ≥ 0, B ≥ 1, μ ∈ [0, 1). */
static const double channel_lo[SCHEDOPT_NCHANNELS] = {0, 1, 0};

void schedopt_channel_param_default(schedopt_channel_param *p) {
  memset(p, 0, sizeof *p);
  p->lo = p->hi = NAN;
  for (size_t i = 0; i < SCHEDOPT_DESIGN_MAXVARY; i++) {
    p->vary_lo[i] = p->vary_hi[i] = NAN;
    p->vary_log[i] = -1;
  }
  p->knots = 64;
  p->monotone_after = NAN;
}

/* ---- helpers shared with the other optimize_*.c ---------------------------- */

double schedopt_opt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

schedopt_status schedopt_opt_schedule_copy(schedopt_schedule **out, const schedopt_schedule *s,
                                  schedopt_error *err) {
  schedopt_schedule *c = NULL;
  schedopt_status st = schedopt_schedule_alloc(&c, schedopt_schedule_clock(s),
                                               schedopt_schedule_horizon(s),
                                               schedopt_schedule_units_per_sample(s), err);
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS && !st; ch++)
    if (ch != SCHEDOPT_MOMENTUM || schedopt_schedule_has_momentum(s))
      st = schedopt_schedule_set(c, (schedopt_channel)ch, schedopt_schedule_get(s, ch), err);
  if (st) {
    schedopt_schedule_free(c);
    return st;
  }
  *out = c;
  return SCHEDOPT_OK;
}

double schedopt_opt_control_max(const schedopt_control *c, double H) {
  double m = -INFINITY;
  size_t nk = schedopt_control_knots(c, H, NULL, NULL, 0);
  double *k = nk ? malloc(nk * sizeof *k) : NULL;
  if (k) {
    schedopt_control_knots(c, H, k, NULL, nk);
    for (size_t i = 0; i < nk; i++) {
      m = fmax(m, schedopt_control_eval(c, H, k[i], NULL));
      m = fmax(m, schedopt_control_eval_left(c, H, k[i]));
    }
    free(k);
  }
  const int n = 2000;
  for (int i = 0; i <= n; i++) {
    m = fmax(m, schedopt_control_eval(c, H, H * i / n, NULL));
    m = fmax(m, schedopt_control_eval(c, H, fmin(H, pow(H + 1, (double)i / n) - 1), NULL));
  }
  return m;
}

double schedopt_opt_time_unit(const schedopt_schedule *s) {
  if (schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_STEPS) return 1;
  schedopt_uval u;
  schedopt_schedule_eval(s, 0, &u);
  return u.batch * schedopt_schedule_units_per_sample(s);
}

schedopt_status schedopt_opt_floor(schedopt_integrator *it, const schedopt_schedule *s,
                          const schedopt_objective *obj, double *floor, schedopt_error *err) {
  double H = schedopt_schedule_horizon(s);
  schedopt_row r;
  schedopt_status st = schedopt_integrator_run(it, s, &H, 1, &r, err);
  if (st) return st;
  double W = 1;
  if (obj->kind == SCHEDOPT_OBJ_HORIZONS) {
    W = 0;
    for (size_t i = 0; i < obj->nh; i++) W += obj->w[i];
  }
  /* loss − excess = σ²; + approx = the part no schedule can remove */
  *floor = (r.r.loss - r.r.excess + r.r.approx) * W;
  return SCHEDOPT_OK;
}

int schedopt_opt_is_value_param(const schedopt_control_type *T, const char *name) {
  static const char *const values[] = {"peak", "floor", "value", "start", "end", NULL};
  if (T->needs_table == 1) return !strcmp(name, "scale");
  for (int i = 0; values[i]; i++)
    if (!strcmp(name, values[i])) return schedopt_control_param_index(T, name) >= 0;
  return 0;
}

/* ---- knots ----------------------------------------------------------------- */

/* p_1 = τ, p_{i+1} = p_i + max(τ, (r − 1)p_i), i < n: the last point for r. */
static double ramp_last(double tau, double r, size_t n, double *p) {
  double x = tau;
  if (p) p[0] = x;
  for (size_t i = 1; i < n; i++) {
    x += fmax(tau, (r - 1) * x);
    if (p) p[i] = x;
  }
  return x;
}

/* n points rising from τ to exactly `end` (n·τ ≤ end). */
static void ramp(double tau, double end, size_t n, double *p) {
  if (n == 1) {
    p[0] = end;
    return;
  }
  double lo = 1, hi = 2;
  while (ramp_last(tau, hi, n, NULL) < end) hi *= 2;
  for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
    double mid = 0.5 * (lo + hi);
    if (ramp_last(tau, mid, n, NULL) < end)
      lo = mid;
    else
      hi = mid;
  }
  ramp_last(tau, hi, n, p);
  /* exact end; keep the points below it increasing */
  p[n - 1] = end;
  for (size_t i = n - 1; i-- > 0;)
    if (!(p[i] < p[i + 1])) p[i] = 0.5 * ((i ? p[i - 1] : 0) + p[i + 1]);
}

/* The rule on one segment [0, H] (no refinement points). */
static schedopt_status knots_segment(double H, double tau, size_t n, double *t,
                                     schedopt_error *err) {
  if (!t || n < 4 || !(H > 0) || !isfinite(H) || !(tau > 0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "freeform knots: need n >= 4, H > 0, tau > 0 (got n = %zu, "
                              "H = %g, tau = %g)", n, H, tau);
  size_t na = n / 2, nb = n - na; /* left: 0 + (na − 1) points; right: (nb − 1) + H */
  double mid = 0.5 * H;
  if ((double)n * tau > H) {
    for (size_t i = 0; i < n; i++) t[i] = H * (double)i / (double)(n - 1);
    return SCHEDOPT_OK;
  }
  double *q = malloc(nb * sizeof *q);
  if (!q) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  t[0] = 0;
  ramp(tau, mid, na - 1, t + 1);
  ramp(tau, mid, nb, q); /* q[nb − 1] = mid, already a knot */
  for (size_t j = 0; j + 1 < nb; j++) t[na + j] = H - q[nb - 2 - j];
  t[n - 1] = H;
  free(q);
  for (size_t i = 1; i < n; i++)
    if (!(t[i] > t[i - 1]))
      return schedopt_error_set(err, SCHEDOPT_EINTERNAL,
                                "freeform knots not increasing at %zu (H = %g, n = %zu)", i,
                                H, n);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_freeform_knots(double H, double tau, size_t n, const double *refine,
                                        size_t nrefine, double *t, schedopt_error *err) {
  if (nrefine == 0) return knots_segment(H, tau, n, t, err);
  if (!refine || !t)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "freeform knots: NULL refinement points");
  for (size_t j = 0; j < nrefine; j++)
    if (!(refine[j] > (j ? refine[j - 1] : 0)) || !(refine[j] < H))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "freeform knots: refinement points must increase within (0, H "
                                "= %g) (got %g at %zu)", H, refine[j], j);
  const size_t m = nrefine + 1;
  if (n < 1 + 3 * m)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "freeform knots: %zu knots are too few for %zu segments (at least "
                              "%zu)", n, m, 1 + 3 * m);
  double *seg = malloc(n * sizeof *seg);
  if (!seg) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  t[0] = 0;
  size_t k = 1;
  for (size_t j = 0; j < m; j++) {
    const double a = j ? refine[j - 1] : 0, b = j < nrefine ? refine[j] : H;
    size_t ns = (n - 1) / m + (j >= m - (n - 1) % m); /* knots in (a, b] */
    schedopt_status st = knots_segment(b - a, tau, ns + 1, seg, err);
    if (st) {
      free(seg);
      return st;
    }
    for (size_t i = 1; i <= ns; i++) t[k++] = j < nrefine && i == ns ? b : a + seg[i];
  }
  free(seg);
  t[n - 1] = H;
  return SCHEDOPT_OK;
}

/* ---- life cycle ------------------------------------------------------------- */

static void chan_free(opt_chan *c) {
  if (!c) return;
  schedopt_control_free(c->base);
  schedopt_control_free(c->work);
  free(c->t);
  free(c->v);
  free(c);
}

schedopt_status schedopt_design_alloc(schedopt_design **out, const schedopt_schedule *base,
                                      schedopt_error *err) {
  if (!out || !base) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_alloc: NULL");
  *out = NULL;
  schedopt_design *d = calloc(1, sizeof *d);
  if (!d) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_status st = schedopt_opt_schedule_copy(&d->base, base, err);
  if (!st) st = schedopt_opt_schedule_copy(&d->work, base, err);
  if (st) {
    schedopt_design_free(d);
    return st;
  }
  d->H = schedopt_schedule_horizon(base);
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) schedopt_channel_param_default(&d->fixed[ch]);
  *out = d;
  return SCHEDOPT_OK;
}

void schedopt_design_free(schedopt_design *d) {
  if (!d) return;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    chan_free(d->ch[ch]);
    free(d->gth[ch]);
    free(d->hth[ch]);
  }
  schedopt_schedule_free(d->base);
  schedopt_schedule_free(d->work);
  free(d->lo);
  free(d->hi);
  free(d->scale);
  free(d->names);
  free(d);
}

/* Offsets, box and names of all channels. */
static schedopt_status relayout(schedopt_design *d, schedopt_error *err) {
  size_t n = 0;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
    if (d->ch[ch]) {
      d->ch[ch]->off = n;
      n += d->ch[ch]->nx;
    }
  double *lo = realloc(d->lo, (n ? n : 1) * sizeof *lo);
  if (lo) d->lo = lo;
  double *hi = realloc(d->hi, (n ? n : 1) * sizeof *hi);
  if (hi) d->hi = hi;
  void *nm = realloc(d->names, (n ? n : 1) * sizeof *d->names);
  if (nm) d->names = nm;
  double *sc = realloc(d->scale, (n ? n : 1) * sizeof *sc);
  if (sc) d->scale = sc;
  if (!lo || !hi || !nm || !sc) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  d->n = n;
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    opt_chan *c = d->ch[ch];
    if (!c) continue;
    const char *cn = channel_name[ch];
    for (size_t k = 0; k < c->nx; k++) {
      size_t i = c->off + k;
      d->scale[i] = 1;
      if (c->p.type == &family_type) {
        double a = c->p.vary_lo[k], b = c->p.vary_hi[k];
        d->lo[i] = c->logv[k] ? log(a) : a;
        d->hi[i] = c->logv[k] ? log(b) : b;
        snprintf(d->names[i], sizeof d->names[i], c->logv[k] ? "%s.log(%s)" : "%s.%s", cn,
                 c->p.vary[k]);
      } else {
        int mono = k >= c->m;
        /* hat-function width w_k = (t_{k+1} − t_{k−1})/2; Σ w_k = H; scale √(K w_k / H) */
        const size_t K = c->p.knots;
        double w = 0.5 * (c->t[k + 1 < K ? k + 1 : k] - c->t[k ? k - 1 : 0]);
        if (!mono) d->scale[i] = sqrt((double)K * w / d->H);
        d->lo[i] = mono ? 0 : c->p.lo;
        d->hi[i] = mono ? 1 : c->p.hi;
        snprintf(d->names[i], sizeof d->names[i], mono ? "%s.x[%zu]" : "%s[%zu]", cn, k);
      }
    }
  }
  return SCHEDOPT_OK;
}

/* Storage of θ index k of control c (family parameter, warmup, warmup_init). */
static double *theta_slot(schedopt_control *c, int k) {
  int np = (int)c->type->nparams;
  if (k < np) return &c->p[k];
  if (k == np) return &c->warmup;
  return &c->warmup_init;
}

static schedopt_status bad(schedopt_error *err, schedopt_channel ch, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static schedopt_status bad(schedopt_error *err, schedopt_channel ch, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return schedopt_error_set(err, SCHEDOPT_EINVAL, "optimize.controls.%s: %s",
                            channel_name[ch], msg);
}

/* Family: resolve names, θ indices and bounds. */
static schedopt_status setup_family(schedopt_design *d, schedopt_channel ch, opt_chan *c,
                                    schedopt_error *err) {
  const schedopt_control_type *T = c->base->type;
  const size_t np = T->nparams;
  schedopt_channel_param *p = &c->p;
  if (p->nvary == 0 || p->nvary > SCHEDOPT_DESIGN_MAXVARY)
    return bad(err, ch, "family: give 1 to %d parameters to vary ('vary')",
               SCHEDOPT_DESIGN_MAXVARY);
  double tau = schedopt_opt_time_unit(d->base), vmax = schedopt_opt_control_max(c->base, d->H);
  int has_gain = 0, has_value = 0;
  for (size_t j = 0; j < np; j++)
    if (schedopt_opt_is_value_param(T, T->params[j].name)) {
      c->gidx[c->ngain] = (int)j;
      c->gbase[c->ngain++] = c->base->p[j];
    }
  for (size_t k = 0; k < p->nvary; k++) {
    const char *nm = p->vary[k];
    for (size_t j = 0; j < k; j++)
      if (!strcmp(nm, p->vary[j])) return bad(err, ch, "'%s' is listed twice in vary", nm);
    double lo = NAN, hi = NAN, plo = -INFINITY, phi = INFINITY;
    int plo_open = 0, log_default = 0;
    if (!strcmp(nm, "gain")) {
      if (!c->ngain)
        return bad(err, ch, "gain: a %s control has no value parameter to scale", T->name);
      if (!(vmax > 0))
        return bad(err, ch, "gain: the given control is zero everywhere (nothing to scale)");
      c->idx[k] = -1;
      has_gain = 1;
      hi = p->hi / vmax;
      lo = 1e-4 * hi;
      plo = 0, plo_open = 1;
      log_default = 1;
    } else if (!strcmp(nm, "warmup")) {
      c->idx[k] = (int)np;
      lo = 0, hi = 0.5 * d->H, plo = 0, phi = d->H;
    } else if (!strcmp(nm, "warmup_init")) {
      c->idx[k] = (int)np + 1;
      lo = 0, hi = 1, plo = 0, phi = 1;
    } else {
      int j = schedopt_control_param_index(T, nm);
      if (j < 0) {
        char list[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < np && len < sizeof list; i++)
          if (!T->params[i].choices)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s, ", T->params[i].name);
        return bad(err, ch, "'%s' is not a parameter of a %s control (can vary: %sgain, "
                   "warmup, warmup_init)", nm, T->name, list);
      }
      const schedopt_param_info *pi = &T->params[j];
      if (pi->choices)
        return bad(err, ch, "'%s' is a choice, not a number: it cannot be optimized (the "
                   "baselines try each choice)", nm);
      c->idx[k] = j;
      plo = pi->lo, phi = pi->hi, plo_open = pi->lo_open;
      if (schedopt_opt_is_value_param(T, nm)) {
        has_value = 1;
        lo = fmax(p->lo, plo), hi = fmin(p->hi, phi);
      } else if (!strcmp(nm, "decay_frac")) {
        lo = 0, hi = 1 - c->base->warmup / d->H;
      } else if (!strcmp(nm, "delta")) {
        lo = 0.1, hi = 10;
      } else if (!strcmp(nm, "chi")) {
        lo = 0, hi = 3;
      } else if (!strcmp(nm, "t0")) {
        lo = tau, hi = d->H;
        log_default = 1;
      } else {
        lo = plo, hi = phi;
      }
    }
    if (!isnan(p->vary_lo[k])) lo = p->vary_lo[k];
    if (!isnan(p->vary_hi[k])) hi = p->vary_hi[k];
    if (plo_open && lo <= plo) lo = plo + 1e-9 * fmax(1, fabs(hi));
    if (!isfinite(lo) || !isfinite(hi))
      return bad(err, ch, "%s: give finite bounds (bounds: {%s: [lo, hi]})", nm, nm);
    if (!(lo <= hi)) return bad(err, ch, "%s: bounds [%g, %g] are empty", nm, lo, hi);
    if (lo < plo || hi > phi)
      return bad(err, ch, "%s: bounds [%g, %g] leave the parameter's range [%g, %g]", nm, lo,
                 hi, plo, phi);
    if (c->idx[k] >= 0 && schedopt_opt_is_value_param(T, nm) && (lo < p->lo || hi > p->hi))
      return bad(err, ch, "%s: bounds [%g, %g] leave the channel's value range [min, max] = "
                 "[%g, %g] (set min / max to widen it)", nm, lo, hi, p->lo, p->hi);
    int lg = p->vary_log[k] < 0 ? log_default : p->vary_log[k] != 0;
    if (lg && !(lo > 0))
      return bad(err, ch, "%s: a log scale needs a positive lower bound (got %g)", nm, lo);
    p->vary_lo[k] = lo;
    p->vary_hi[k] = hi;
    p->vary_log[k] = lg;
    c->logv[k] = lg;
  }
  if (has_gain && has_value)
    return bad(err, ch, "'gain' scales the value parameters: do not vary it together with "
               "them");
  c->nx = p->nvary;
  return SCHEDOPT_OK;
}

/* Freeform: v from x (values, then the monotone products). */
static void ff_values(const opt_chan *c, const double *x, double *v) {
  const size_t K = c->p.knots;
  const double lo = c->p.lo, hi = c->p.hi;
  for (size_t i = 0; i < c->m && i < K; i++) v[i] = x[i];
  double prev = c->p.monotone == SCHEDOPT_MONOTONE_INCREASING ? lo : hi;
  for (size_t i = c->m; i < K; i++) {
    if (c->p.monotone == SCHEDOPT_MONOTONE_DECREASING)
      v[i] = lo + (prev - lo) * x[i];
    else
      v[i] = hi - (hi - prev) * x[i];
    prev = v[i];
  }
}

/* Freeform: x from values v (clamped into [lo, hi] and onto the monotone set). */
static void ff_invert(const opt_chan *c, const double *v, double *x) {
  const size_t K = c->p.knots;
  const double lo = c->p.lo, hi = c->p.hi;
  for (size_t i = 0; i < c->m && i < K; i++) x[i] = fmin(hi, fmax(lo, v[i]));
  double prev = c->p.monotone == SCHEDOPT_MONOTONE_INCREASING ? lo : hi;
  for (size_t i = c->m; i < K; i++) {
    double vi = fmin(hi, fmax(lo, v[i]));
    if (c->p.monotone == SCHEDOPT_MONOTONE_DECREASING) {
      vi = fmin(vi, prev);
      x[i] = prev > lo ? (vi - lo) / (prev - lo) : 1;
    } else {
      vi = fmax(vi, prev);
      x[i] = prev < hi ? (hi - vi) / (hi - prev) : 1;
    }
    x[i] = fmin(1, fmax(0, x[i]));
    prev = c->p.monotone == SCHEDOPT_MONOTONE_DECREASING ? lo + (prev - lo) * x[i]
                                                          : hi - (hi - prev) * x[i];
  }
}

static schedopt_status setup_freeform(schedopt_design *d, schedopt_channel ch, opt_chan *c,
                                      schedopt_error *err) {
  schedopt_channel_param *p = &c->p;
  const size_t K = p->knots;
  if (K < SCHEDOPT_FREEFORM_MINKNOTS || K > SCHEDOPT_FREEFORM_MAXKNOTS)
    return bad(err, ch, "knots = %zu is out of range: must be in [%d, %d]", K,
               SCHEDOPT_FREEFORM_MINKNOTS, SCHEDOPT_FREEFORM_MAXKNOTS);
  if (!(p->hi > p->lo))
    return bad(err, ch, "freeform: the value range [%g, %g] is a single point: nothing to "
               "optimize (set max)", p->lo, p->hi);
  c->t = malloc(K * sizeof *c->t);
  c->v = malloc(K * sizeof *c->v);
  if (!c->t || !c->v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  if (p->nrefine > SCHEDOPT_DESIGN_MAXREFINE)
    return bad(err, ch, "at most %d refinement points", SCHEDOPT_DESIGN_MAXREFINE);
  schedopt_status st = schedopt_freeform_knots(d->H, schedopt_opt_time_unit(d->base), K, p->refine,
                                               p->nrefine, c->t, err);
  if (st == SCHEDOPT_EINVAL) schedopt_error_prefix(err, "optimize.controls.%s: ", channel_name[ch]);
  if (st) return st;
  if (isnan(p->monotone_after)) p->monotone_after = c->base->warmup;
  c->m = K;
  if (p->monotone != SCHEDOPT_MONOTONE_NONE) {
    c->m = 0;
    while (c->m < K && c->t[c->m] < p->monotone_after) c->m++;
  }
  for (size_t i = 0; i < K; i++)
    c->v[i] = fmin(p->hi, fmax(p->lo, schedopt_control_eval(c->base, d->H, c->t[i], NULL)));
  if ((st = schedopt_control_alloc(&c->work, schedopt_control_table, err)) ||
      (st = schedopt_control_set_choice(c->work, "interp", p->step ? "step" : "linear", err)) ||
      (st = schedopt_control_set_table(c->work, K, c->t, c->v, err)))
    return st;
  c->nx = K;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_design_set_channel(schedopt_design *d, schedopt_channel ch,
                                            const schedopt_channel_param *p,
                                            schedopt_error *err) {
  if (!d || !p || (int)ch < 0 || (int)ch >= SCHEDOPT_NCHANNELS)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_set_channel: bad argument");
  chan_free(d->ch[ch]);
  d->ch[ch] = NULL;
  free(d->gth[ch]);
  free(d->hth[ch]);
  d->gth[ch] = d->hth[ch] = NULL;
  d->gth_n[ch] = 0;
  /* back to the given control */
  schedopt_status st;
  if (ch != SCHEDOPT_MOMENTUM || schedopt_schedule_has_momentum(d->base))
    if ((st = schedopt_schedule_set(d->work, ch, schedopt_schedule_get(d->base, ch), err)))
      return st;
  if (!p->type) return relayout(d, err);
  if (p->type != &family_type && p->type != &freeform_type)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design: unknown parametrization");
  if (ch == SCHEDOPT_MOMENTUM && !schedopt_schedule_has_momentum(d->base))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "optimize.controls.momentum: the problem has no momentum "
                              "(add controls.momentum to use the momentum dynamics)");
  opt_chan *c = calloc(1, sizeof *c);
  if (!c) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  c->p = *p;
  st = schedopt_control_clone(&c->base, schedopt_schedule_get(d->base, ch), err);
  if (!st) {
    /* value bounds */
    /* default max: the given control's largest value, or a larger explicit
     * upper bound of a varied value parameter */
    double vmax = schedopt_opt_control_max(c->base, d->H);
    if (p->type == &family_type)
      for (size_t k = 0; k < p->nvary && k < SCHEDOPT_DESIGN_MAXVARY; k++)
        if (schedopt_opt_is_value_param(c->base->type, p->vary[k]) && !isnan(p->vary_hi[k]))
          vmax = fmax(vmax, p->vary_hi[k]);
    if (isnan(c->p.lo)) c->p.lo = channel_lo[ch];
    if (isnan(c->p.hi)) c->p.hi = vmax;
    if (!isfinite(c->p.lo) || !isfinite(c->p.hi) || c->p.lo < channel_lo[ch] ||
        !(c->p.hi >= c->p.lo) || (ch == SCHEDOPT_MOMENTUM && !(c->p.hi < 1)))
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                         "optimize.controls.%s: min = %g, max = %g must satisfy %g <= min <= "
                         "max%s", channel_name[ch], c->p.lo, c->p.hi, channel_lo[ch],
                         ch == SCHEDOPT_MOMENTUM ? " < 1" : "");
  }
  if (!st) {
    if (p->type == &family_type) {
      st = setup_family(d, ch, c, err);
      if (!st) st = schedopt_control_clone(&c->work, c->base, err);
    } else {
      st = setup_freeform(d, ch, c, err);
    }
  }
  if (!st) {
    d->gth_n[ch] = schedopt_control_nparams(c->work);
    d->gth[ch] = malloc(d->gth_n[ch] * sizeof(double));
    if (!d->gth[ch]) st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  if (st) {
    chan_free(c);
    relayout(d, NULL);
    return st;
  }
  d->ch[ch] = c;
  return relayout(d, err);
}

/* ---- accessors -------------------------------------------------------------- */

size_t schedopt_design_size(const schedopt_design *d) { return d ? d->n : 0; }

const schedopt_channel_param *schedopt_design_channel(const schedopt_design *d,
                                                      schedopt_channel ch) {
  if (!d || (int)ch < 0 || (int)ch >= SCHEDOPT_NCHANNELS) return NULL;
  return d->ch[ch] ? &d->ch[ch]->p : &d->fixed[ch];
}

void schedopt_design_bounds(const schedopt_design *d, double *lo, double *hi) {
  if (lo) memcpy(lo, d->lo, d->n * sizeof *lo);
  if (hi) memcpy(hi, d->hi, d->n * sizeof *hi);
}

const char *schedopt_design_var_name(const schedopt_design *d, size_t i) {
  return d && i < d->n ? d->names[i] : NULL;
}

const double *schedopt_design_knots(const schedopt_design *d, schedopt_channel ch, size_t *n) {
  if (n) *n = 0;
  if (!d || (int)ch < 0 || (int)ch >= SCHEDOPT_NCHANNELS || !d->ch[ch] || !d->ch[ch]->t)
    return NULL;
  if (n) *n = d->ch[ch]->p.knots;
  return d->ch[ch]->t;
}

/* ---- x ↦ schedule ----------------------------------------------------------- */

static void family_apply(opt_chan *c, const double *x) {
  for (size_t k = 0; k < c->nx; k++) {
    double val = c->logv[k] ? exp(x[k]) : x[k];
    if (c->idx[k] < 0)
      for (size_t j = 0; j < c->ngain; j++) c->work->p[c->gidx[j]] = c->gbase[j] * val;
    else
      *theta_slot(c->work, c->idx[k]) = val;
  }
}

schedopt_status schedopt_design_apply(schedopt_design *d, const double *x,
                                      const schedopt_schedule **s, schedopt_error *err) {
  if (!d || (!x && d->n)) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_apply: NULL");
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    opt_chan *c = d->ch[ch];
    if (!c) continue;
    const double *xc = x + c->off;
    if (c->p.type == &family_type) {
      family_apply(c, xc);
    } else {
      ff_values(c, xc, c->v);
      memcpy(c->work->v, c->v, c->p.knots * sizeof *c->v);
    }
    schedopt_status st = schedopt_schedule_set(d->work, (schedopt_channel)ch, c->work, err);
    if (st) return st;
  }
  if (s) *s = d->work;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_design_project(const schedopt_design *d, const schedopt_schedule *s,
                                        double *x, schedopt_error *err) {
  if (!d || !s || (!x && d->n))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_project: NULL");
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    const opt_chan *c = d->ch[ch];
    if (!c) continue;
    const schedopt_control *sc = schedopt_schedule_get(s, ch);
    double *xc = x + c->off;
    if (c->p.type == &family_type) {
      if (sc->type != c->base->type)
        return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                  "a %s control is not representable by the %s family of "
                                  "optimize.controls.%s", sc->type->name, c->base->type->name,
                                  channel_name[ch]);
      for (size_t k = 0; k < c->nx; k++) {
        double val = 1;
        if (c->idx[k] < 0) {
          for (size_t j = 0; j < c->ngain; j++)
            if (c->gbase[j] != 0) {
              val = sc->p[c->gidx[j]] / c->gbase[j];
              break;
            }
        } else {
          val = *theta_slot((schedopt_control *)sc, c->idx[k]);
        }
        double xi = c->logv[k] ? log(fmax(val, 1e-300)) : val;
        xc[k] = fmin(d->hi[c->off + k], fmax(d->lo[c->off + k], xi));
      }
    } else {
      double *v = malloc(c->p.knots * sizeof *v);
      if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
      for (size_t i = 0; i < c->p.knots; i++) v[i] = schedopt_control_eval(sc, d->H, c->t[i], NULL);
      ff_invert(c, v, xc);
      free(v);
    }
  }
  return SCHEDOPT_OK;
}

/* ---- chain rule -------------------------------------------------------------- */

schedopt_status schedopt_design_chain(const schedopt_design *d, const double *x,
                                      double *const gtheta[SCHEDOPT_NCHANNELS], double *gx,
                                      schedopt_error *err) {
  if (!d || (!x && d->n) || (!gx && d->n))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_chain: NULL");
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    const opt_chan *c = d->ch[ch];
    if (!c) continue;
    const double *g = gtheta[ch], *xc = x + c->off;
    double *gc = gx + c->off;
    if (!g) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_chain: no gradient for "
                                      "channel %s", channel_name[ch]);
    if (c->p.type == &family_type) {
      for (size_t k = 0; k < c->nx; k++) {
        /* p = e^x (log scale): ∂p/∂x = p */
        double jac = c->logv[k] ? exp(xc[k]) : 1, s = 0;
        if (c->idx[k] < 0)
          for (size_t j = 0; j < c->ngain; j++) s += g[c->gidx[j]] * c->gbase[j];
        else
          s = g[c->idx[k]];
        gc[k] = s * jac;
      }
      continue;
    }
    /* freeform: table values follow the family parameters, warmup, warmup_init */
    const double *gv = g + c->work->type->nparams + 2;
    const size_t K = c->p.knots;
    for (size_t i = 0; i < c->m && i < K; i++) gc[i] = gv[i];
    if (c->m >= K) continue;
    double *v = malloc(K * sizeof *v);
    if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    ff_values(c, xc, v);
    /* reverse sweep: acc = dJ/dv_i (total), v_i = f(v_{i−1}, x_i) */
    const int dec = c->p.monotone == SCHEDOPT_MONOTONE_DECREASING;
    double acc = 0;
    for (size_t i = K; i-- > c->m;) {
      acc += gv[i];
      double prev = i > c->m ? v[i - 1] : (dec ? c->p.hi : c->p.lo);
      gc[i] = acc * (dec ? prev - c->p.lo : -(c->p.hi - prev));
      acc *= xc[i];
    }
    free(v);
  }
  return SCHEDOPT_OK;
}

/* ---- evaluation -------------------------------------------------------------- */

schedopt_status schedopt_design_eval(schedopt_design *d, schedopt_integrator *it,
                                     const schedopt_objective *obj, const double *x, double *J,
                                     double *gx, schedopt_error *err) {
  if (!d || !it || !obj || !J) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_eval: NULL");
  const schedopt_schedule *s;
  schedopt_status st = schedopt_design_apply(d, x, &s, err);
  if (st) return st;
  if (!gx) return schedopt_integrator_objective(it, s, obj, J, err);
  double *g[SCHEDOPT_NCHANNELS] = {NULL, NULL, NULL};
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
    if (d->ch[ch]) g[ch] = d->gth[ch];
  if ((st = schedopt_integrator_gradient(it, s, obj, J, g, err))) return st;
  return schedopt_design_chain(d, x, g, gx, err);
}

/* hx_i = Σ_j (∂θ_j/∂x_i)² hθ_j: the curvature diagonal carried through the
 * parametrization like a Gauss–Newton diagonal (exact for linear maps). */
static void design_chain_h(const schedopt_design *d, const double *x,
                           double *const hth[SCHEDOPT_NCHANNELS], double *hx) {
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    const opt_chan *c = d->ch[ch];
    if (!c) continue;
    const double *h = hth[ch], *xc = x + c->off;
    double *hc = hx + c->off;
    if (c->p.type == &family_type) {
      for (size_t k = 0; k < c->nx; k++) {
        double jac = c->logv[k] ? exp(xc[k]) : 1, s = 0;
        if (c->idx[k] < 0)
          for (size_t j = 0; j < c->ngain; j++) s += h[c->gidx[j]] * c->gbase[j] * c->gbase[j];
        else
          s = h[c->idx[k]];
        hc[k] = s * jac * jac;
      }
      continue;
    }
    const double *hv = h + c->work->type->nparams + 2;
    const size_t K = c->p.knots;
    for (size_t i = 0; i < c->m && i < K; i++) hc[i] = hv[i];
    /* monotone: ∂v_j/∂x_i = (v_{i−1} − lo)·Π_{i<k≤j} x_k (decreasing; mirrored
     * for increasing), so Σ_j (∂v_j/∂x_i)² h_j accumulates in reverse */
    const int dec = c->p.monotone == SCHEDOPT_MONOTONE_DECREASING;
    double acc = 0;
    for (size_t i = K; i-- > c->m;) {
      acc += hv[i];
      double prev = i > c->m ? c->v[i - 1] : (dec ? c->p.hi : c->p.lo);
      double dv = dec ? prev - c->p.lo : c->p.hi - prev;
      hc[i] = acc * dv * dv;
      acc *= xc[i] * xc[i];
    }
  }
}

schedopt_status schedopt_design_eval_hdiag(schedopt_design *d, schedopt_integrator *it,
                                           const schedopt_objective *obj, const double *x,
                                           double *J, double *gx, double *hx,
                                           schedopt_error *err) {
  if (!d || !it || !obj || !J || !gx || !hx)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_eval_hdiag: NULL");
  const schedopt_schedule *s;
  schedopt_status st = schedopt_design_apply(d, x, &s, err);
  if (st) return st;
  double *g[SCHEDOPT_NCHANNELS] = {NULL, NULL, NULL}, *h[SCHEDOPT_NCHANNELS] = {NULL, NULL, NULL};
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++) {
    if (!d->ch[ch]) continue;
    if (!d->hth[ch] && !(d->hth[ch] = malloc(d->gth_n[ch] * sizeof(double))))
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    g[ch] = d->gth[ch];
    h[ch] = d->hth[ch];
  }
  if ((st = schedopt_integrator_gradient_hdiag(it, s, obj, J, g, h, err))) return st;
  if ((st = schedopt_design_chain(d, x, g, gx, err))) return st;
  design_chain_h(d, x, h, hx);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_design_eval_fd(schedopt_design *d, schedopt_integrator *it,
                                        const schedopt_objective *obj, const double *x,
                                        double h, double *J, double *gx, schedopt_error *err) {
  if (!d || !it || !obj || !J || (!x && d->n))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_eval_fd: NULL");
  if (!(h > 0)) h = 1e-6;
  schedopt_status st = schedopt_design_eval(d, it, obj, x, J, NULL, err);
  if (st || !gx) return st;
  double *y = malloc((d->n ? d->n : 1) * sizeof *y);
  if (!y) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  memcpy(y, x, d->n * sizeof *y);
  for (size_t i = 0; i < d->n && !st; i++) {
    double hi_ = h * (d->hi[i] - d->lo[i]);
    if (!(hi_ > 0)) hi_ = h * fmax(1, fabs(x[i]));
    double f1 = 0, f2 = 0;
    /* central; at a bound one-sided second order: (±3f₀ ∓ 4f₁ ± f₂)/(2h) */
    if (x[i] - hi_ >= d->lo[i] && x[i] + hi_ <= d->hi[i]) {
      y[i] = x[i] + hi_;
      if (!(st = schedopt_design_eval(d, it, obj, y, &f1, NULL, err))) {
        y[i] = x[i] - hi_;
        st = schedopt_design_eval(d, it, obj, y, &f2, NULL, err);
      }
      gx[i] = (f1 - f2) / (2 * hi_);
    } else {
      double sg = x[i] + hi_ <= d->hi[i] ? 1 : -1;
      y[i] = x[i] + sg * hi_;
      if (!(st = schedopt_design_eval(d, it, obj, y, &f1, NULL, err))) {
        y[i] = x[i] + 2 * sg * hi_;
        st = schedopt_design_eval(d, it, obj, y, &f2, NULL, err);
      }
      gx[i] = sg * (-3 * *J + 4 * f1 - f2) / (2 * hi_);
    }
    y[i] = x[i];
  }
  free(y);
  if (!st) st = schedopt_design_apply(d, x, NULL, err);
  return st;
}

/* ---- optimizer steps on a data clock ----------------------------------------- */

/* 8-point Gauss–Legendre on [a, b]: ∫ dτ / B and, if g, −∫ ∂B/∂θ / B² dτ added
 * to g (np entries; dp a workspace of np). */
static double steps_gl(const schedopt_control *c, double H, double a, double b, double *g,
                       double *dp, size_t np) {
  static const double x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                              0.9602898564975363};
  static const double w[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                              0.1012285362903763};
  const double m = 0.5 * (a + b), h = 0.5 * (b - a);
  double s = 0;
  for (int i = 0; i < 8; i++) {
    double t = m + (i & 1 ? -1 : 1) * h * x[i / 2], wt = h * w[i / 2];
    double B = schedopt_control_eval(c, H, t, g ? dp : NULL);
    s += wt / B;
    if (g)
      for (size_t k = 0; k < np; k++) g[k] -= wt * dp[k] / (B * B);
  }
  return s;
}

/* Adaptive: halves [a, b] until the 8-point rule agrees with the two halves to
 * tol (relative to the whole), then adds the halves' value and gradient. */
static double steps_adapt(const schedopt_control *c, double H, double a, double b,
                          double whole, int depth, double *g, double *dp, size_t np) {
  const double m = 0.5 * (a + b);
  double l = steps_gl(c, H, a, m, NULL, NULL, 0), r = steps_gl(c, H, m, b, NULL, NULL, 0);
  if (depth >= 40 || fabs(l + r - whole) <= 1e-13 * fabs(l + r) || !(m > a && m < b)) {
    if (g) {
      steps_gl(c, H, a, m, g, dp, np);
      steps_gl(c, H, m, b, g, dp, np);
    }
    return l + r;
  }
  return steps_adapt(c, H, a, m, l, depth + 1, g, dp, np) +
         steps_adapt(c, H, m, b, r, depth + 1, g, dp, np);
}

schedopt_status schedopt_design_steps(schedopt_design *d, const double *x, double *steps,
                                      double *gx, schedopt_error *err) {
  if (!d || !steps || (!x && d->n)) return schedopt_error_set(err, SCHEDOPT_EINVAL, "design_steps: NULL");
  const schedopt_schedule *s;
  schedopt_status st = schedopt_design_apply(d, x, &s, err);
  if (st) return st;
  if (gx) memset(gx, 0, d->n * sizeof *gx);
  const double H = d->H;
  if (schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_STEPS) {
    *steps = H;
    return SCHEDOPT_OK;
  }
  const double units = schedopt_schedule_units_per_sample(s);
  const schedopt_control *c = schedopt_schedule_get(s, SCHEDOPT_BATCH);
  const int grad = gx && d->ch[SCHEDOPT_BATCH];
  const size_t np = schedopt_control_nparams(c);
  size_t nk = schedopt_control_knots(c, H, NULL, NULL, 0);
  double *kt = malloc((nk + 3) * sizeof *kt), *dp = grad ? malloc(np * sizeof *dp) : NULL;
  double *g = grad ? calloc(np, sizeof *g) : NULL;
  if (!kt || (grad && (!dp || !g))) {
    free(kt), free(dp), free(g);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  /* segments between the control's knots (and its warmup end) */
  size_t n = 0;
  kt[n++] = 0;
  if (c->warmup > 0 && c->warmup < H) kt[n++] = c->warmup;
  n += schedopt_control_knots(c, H, kt + n, NULL, nk);
  kt[n++] = H;
  for (size_t i = 1; i < n; i++) /* insertion sort: the warmup end in place */
    for (size_t j = i; j > 0 && kt[j] < kt[j - 1]; j--) {
      double tmp = kt[j];
      kt[j] = kt[j - 1];
      kt[j - 1] = tmp;
    }
  double sum = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (!(kt[i + 1] > kt[i])) continue;
    double whole = steps_gl(c, H, kt[i], kt[i + 1], NULL, NULL, 0);
    sum += steps_adapt(c, H, kt[i], kt[i + 1], whole, 0, g, dp, np);
  }
  *steps = sum / units;
  if (grad) {
    for (size_t k = 0; k < np; k++) g[k] /= units;
    /* chain rule with zero sensitivities for the other channels */
    double *gt[SCHEDOPT_NCHANNELS] = {NULL, NULL, NULL};
    for (int ch = 0; ch < SCHEDOPT_NCHANNELS; ch++)
      if (d->ch[ch]) {
        gt[ch] = ch == SCHEDOPT_BATCH ? g : d->gth[ch];
        if (ch != SCHEDOPT_BATCH) memset(d->gth[ch], 0, d->gth_n[ch] * sizeof(double));
      }
    st = schedopt_design_chain(d, x, gt, gx, err);
  }
  free(kt);
  free(dp);
  free(g);
  return st;
}
