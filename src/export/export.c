/* export.c — schedule tables: formats by name, sampling a problem, CSV, and
 * the dispatch to the writers (export_python.c, export_megatron.c,
 * export_json.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/export_impl.h"
#include "problem/schema.h"
#include "core/outfile.h"
#include "schedopt/control.h"

/* The formats' names are the problem file's (output.export.formats). */
_Static_assert(SCHEDOPT_SCHEMA_NFORMATS == SCHEDOPT_EXPORT_NFORMATS,
               "problem/schema.c names every export format");

const char *schedopt_export_format_name(schedopt_export_format f) {
  return (unsigned)f < SCHEDOPT_EXPORT_NFORMATS ? schedopt_schema_export_formats[f] : "unknown";
}

schedopt_status schedopt_export_format_find(const char *name, schedopt_export_format *f,
                                            schedopt_error *err) {
  for (int i = 0; name && i < SCHEDOPT_EXPORT_NFORMATS; i++)
    if (!strcmp(name, schedopt_schema_export_formats[i])) {
      *f = (schedopt_export_format)i;
      return SCHEDOPT_OK;
    }
  return schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "unknown export format '%s' (allowed: csv, json, pytorch, megatron, "
                            "nanogpt, hf, torchtitan, olmo_core, deepspeed)",
                            name ? name : "(null)");
}

/* ---- CSV ---------------------------------------------------------------------- */

static schedopt_status write_csv(FILE *fp, const schedopt_export_table *t,
                                 const schedopt_export_options *o) {
  const double sc = schedopt_export_lr_scale(t, o);
  fputs("step,samples,tokens,lr,batch,momentum", fp);
  if (t->has_loss) fputs(",loss,excess,bias,variance", fp);
  fputc('\n', fp);
  for (size_t i = 0; i < t->n; i++) {
    const schedopt_row *r = &t->rows[i];
    fprintf(fp, "%.15g,%.15g,%.15g,%.15g,%.15g,%.15g", r->step, r->samples,
            r->samples * t->seq_len, r->u.lr * sc, r->u.batch, r->u.momentum);
    if (t->has_loss) { /* bias and variance: empty where the model does not track them */
      fprintf(fp, ",%.15g,%.15g,", r->r.loss, r->r.excess);
      if (!isnan(r->r.bias)) fprintf(fp, "%.15g", r->r.bias);
      fputc(',', fp);
      if (!isnan(r->r.variance)) fprintf(fp, "%.15g", r->r.variance);
    }
    fputc('\n', fp);
  }
  return SCHEDOPT_OK;
}

/* A trainer's warmup counts steps; a problem's counts the budget's clock.  A
 * warmup that ends within the first step of a data clock (e.g. warmup: 2000
 * on a token budget of 524,288 tokens per step) warms up no step at all: a
 * warmup given in steps where the clock counts tokens or samples.  Refused
 * for the trainer formats, with the numbers (CSV and JSON are tables). */
static schedopt_status check_warmup(schedopt_export_format f, const schedopt_export_options *o,
                                    schedopt_error *err) {
  const schedopt_schedule *s = o->schedule;
  if (f == SCHEDOPT_EXPORT_CSV || f == SCHEDOPT_EXPORT_JSON || !s ||
      schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_STEPS)
    return SCHEDOPT_OK;
  const schedopt_control *lr = schedopt_schedule_get(s, SCHEDOPT_LR);
  double w = 0;
  if (!lr || schedopt_control_get(lr, "warmup", &w, NULL) || !(w > 0)) return SCHEDOPT_OK;
  const double H = schedopt_schedule_horizon(s), ups = schedopt_schedule_units_per_sample(s);
  const double step = schedopt_control_eval(schedopt_schedule_get(s, SCHEDOPT_BATCH), H, 0, NULL) *
                      ups; /* clock units of the first step */
  if (!(w <= step)) return SCHEDOPT_OK;
  const char *unit = ups > 1 ? "tokens" : "samples";
  return schedopt_error_set(err, SCHEDOPT_EINVAL,
                            "controls.lr.warmup = %g is in %s, the budget's clock, and ends within "
                            "the first optimizer step (%.15g %s per step): no step of the "
                            "trainer warms up.  A warmup of N steps is warmup: N x %.15g (%.15g "
                            "for %g steps); give the warmup in %s",
                            w, unit, step, unit, step, w * step, w, unit);
}

schedopt_status schedopt_export_write(FILE *fp, schedopt_export_format f,
                                      const schedopt_export_table *t,
                                      const schedopt_export_options *o, schedopt_error *err) {
  schedopt_export_options def;
  if (!o) {
    schedopt_export_options_default(&def);
    o = &def;
  }
  if (!fp) return schedopt_error_set(err, SCHEDOPT_EINVAL, "export: NULL stream");
  if (!(o->peak_lr >= 0) || !isfinite(o->peak_lr) || !(o->tolerance >= 0) ||
      !isfinite(o->tolerance))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "export: peak_lr = %g and tolerance = %g must be finite and >= 0",
                              o->peak_lr, o->tolerance);
  if (!(o->batch >= 0) || !isfinite(o->batch) || (o->batch > 0 && o->batch < 1) ||
      !(o->seq_len >= 0) || !isfinite(o->seq_len) || (o->seq_len > 0 && o->seq_len < 1))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "export: batch = %g and seq_len = %g must be 0 (the table's) or "
                              "finite and >= 1", o->batch, o->seq_len);
  schedopt_status st = schedopt_export_check(t, err);
  if (st || (st = check_warmup(f, o, err))) return st;
  /* checked before the first byte is written: a stream cannot be taken back */
  if (!isfinite(schedopt_export_lr_scale(t, o) * schedopt_export_lr_max(t)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "export: peak_lr = %g scales the table's largest rate %g beyond "
                              "the range of a double", o->peak_lr, schedopt_export_lr_max(t));
  schedopt_export_table tt;
  schedopt_row *rows = NULL;
  if (o->batch > 0 || o->seq_len > 0) { /* a trainer's batch and sequence length */
    tt = *t;
    if (o->seq_len > 0) tt.seq_len = o->seq_len;
    if (o->batch > 0) {
      double bmax = 0;
      for (size_t i = 0; i < t->n; i++) bmax = fmax(bmax, t->rows[i].u.batch);
      const double c = o->batch / bmax;
      if (!(rows = malloc(t->n * sizeof *rows)))
        return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu rows", t->n);
      for (size_t i = 0; i < t->n; i++) {
        rows[i] = t->rows[i];
        rows[i].u.batch *= c;
        rows[i].samples *= c;
      }
      tt.rows = rows;
    }
    t = &tt;
  }
  switch (f) {
  case SCHEDOPT_EXPORT_CSV: st = write_csv(fp, t, o); break;
  case SCHEDOPT_EXPORT_JSON: st = schedopt_export_write_json(fp, t, o, err); break;
  case SCHEDOPT_EXPORT_PYTORCH:
  case SCHEDOPT_EXPORT_NANOGPT:
  case SCHEDOPT_EXPORT_HF:
  case SCHEDOPT_EXPORT_TORCHTITAN:
  case SCHEDOPT_EXPORT_OLMO_CORE:
  case SCHEDOPT_EXPORT_DEEPSPEED: st = schedopt_export_write_python(fp, f, t, o, err); break;
  case SCHEDOPT_EXPORT_MEGATRON: st = schedopt_export_write_megatron(fp, t, o, err); break;
  default: st = schedopt_error_set(err, SCHEDOPT_EINVAL, "export: unknown format %d", (int)f);
  }
  free(rows);
  if (!st && ferror(fp)) /* errno: the failed write's (EFBIG, ENOSPC, EPIPE, …) */
    st = schedopt_error_set(err, SCHEDOPT_EIO, "export: write error: %s", strerror(errno));
  return st;
}

schedopt_status schedopt_export_save(const char *path, schedopt_export_format f,
                                     const schedopt_export_table *t,
                                     const schedopt_export_options *o, schedopt_error *err) {
  /* refuse before creating anything */
  schedopt_status st = schedopt_export_check(t, err);
  if (st) return st;
  schedopt_outfile of;
  if ((st = schedopt_outfile_open(&of, path, err))) return st;
  if ((st = schedopt_export_write(of.fp, f, t, o, err))) {
    schedopt_outfile_abort(&of);
    return st;
  }
  return schedopt_outfile_commit(&of, err);
}

/* ---- sampling a schedule ---------------------------------------------------- */

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

schedopt_status schedopt_export_times(const schedopt_schedule *s, size_t points, double **out,
                                      size_t *nout, schedopt_error *err) {
  if (!s || !out || !nout)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "export_times: NULL argument");
  *out = NULL;
  *nout = 0;
  if (points == 1 || points > SCHEDOPT_EXPORT_MAX_POINTS)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "points = %zu is out of range: must be 0 (every step) or in 2 ... %d",
                              points, SCHEDOPT_EXPORT_MAX_POINTS);
  const double H = schedopt_schedule_horizon(s);
  const int steps = schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_STEPS;
  const schedopt_control *bc = schedopt_schedule_get(s, SCHEDOPT_BATCH);
  /* clock units per optimizer step, when that is a constant */
  double dt = 0;
  if (steps)
    dt = 1;
  else if (schedopt_control_get_type(bc) == schedopt_control_constant)
    dt = schedopt_control_eval(bc, H, 0, NULL) * schedopt_schedule_units_per_sample(s);

  double *kt = NULL;
  int *kj = NULL;
  size_t nk = 0;
  schedopt_status st;
  if (points == 0) {
    double K = dt > 0 ? floor(H / dt * (1 + 1e-12)) : INFINITY;
    if (K + 2 <= SCHEDOPT_EXPORT_MAX_EVERY_STEP) {
      size_t n = (size_t)K + 1;
      double *t = malloc((n + 1) * sizeof *t);
      if (!t) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu times", n);
      for (size_t k = 0; k < n; k++) t[k] = fmin((double)k * dt, H);
      if (t[n - 1] < H * (1 - 1e-12))
        t[n++] = H; /* a last partial step */
      else
        t[n - 1] = H;
      *out = t;
      *nout = n;
      return SCHEDOPT_OK;
    }
    points = SCHEDOPT_EXPORT_GRID;
  }
  if ((st = schedopt_schedule_knots(s, &kt, &kj, &nk, err))) return st;
  double *t = malloc((points + 3 * nk) * sizeof *t);
  if (!t) {
    free(kt);
    free(kj);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu times", points);
  }
  /* With a constant step size dt the grid and the knots snap to step
   * boundaries (the times the recursion and trainers use): a knot adds the
   * boundaries on either side.  Otherwise a jump adds its left limit. */
  size_t n = 0;
  for (size_t i = 0; i < points; i++) {
    double x = H * (double)i / (double)(points - 1);
    t[n++] = dt > 0 ? fmin(round(x / dt) * dt, H) : x;
  }
  t[points - 1] = H;
  for (size_t j = 0; j < nk; j++) {
    if (dt > 0) { /* (a jump on a boundary needs the one before it) */
      double c = ceil(kt[j] / dt);
      t[n++] = floor(kt[j] / dt) * dt;
      t[n++] = fmin(c * dt, H);
      t[n++] = fmax(0, (c - 1) * dt);
    } else {
      t[n++] = kt[j];
      if (kj[j]) t[n++] = fmax(0, kt[j] - 1e-9 * H);
    }
  }
  free(kt);
  free(kj);
  qsort(t, n, sizeof *t, dbl_cmp);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!m || t[i] - t[m - 1] > 1e-12 * H) t[m++] = t[i];
  t[m - 1] = H;
  *out = t;
  *nout = m;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_export_simulate(const schedopt_problem *p, const schedopt_schedule *s,
                                         const double *t, size_t n, schedopt_row *rows,
                                         size_t *nrows, schedopt_error *err) {
  if (!p || !nrows || (n && (!t || !rows)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "export_simulate: NULL argument");
  *nrows = 0;
  if (!s) s = schedopt_problem_schedule(p);
  if (!s || !schedopt_problem_model(p))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "export_simulate: the problem is not built");
  double rtol, atol;
  long max_steps;
  schedopt_problem_tolerances(p, &rtol, &atol, &max_steps);
  schedopt_integrator *it = NULL;
  schedopt_status st;
  if ((st = schedopt_integrator_alloc(&it, schedopt_problem_integrator(p),
                                      schedopt_problem_model(p), err)) ||
      (st = schedopt_integrator_set_tolerances(it, rtol, atol, err)) ||
      (st = schedopt_integrator_set_max_steps(it, max_steps, err)) ||
      (st = schedopt_integrator_run(it, s, t, n, rows, err))) {
    schedopt_integrator_free(it);
    return st;
  }
  schedopt_integrator_free(it);
  /* exact steps and samples where they are closed forms of t */
  const schedopt_control *bc = schedopt_schedule_get(s, SCHEDOPT_BATCH);
  const int bconst = schedopt_control_get_type(bc) == schedopt_control_constant;
  const double H = schedopt_schedule_horizon(s);
  const double B = schedopt_control_eval(bc, H, 0, NULL);
  const double units = schedopt_schedule_units_per_sample(s);
  const int steps = schedopt_schedule_clock(s) == SCHEDOPT_CLOCK_STEPS;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    schedopt_row r = rows[i];
    if (steps) {
      r.step = r.t;
      if (bconst) r.samples = B * r.t;
    } else {
      r.samples = r.t / units;
      if (bconst) r.step = r.t / (B * units);
    }
    /* the recursion reports the first step boundary at or after each time:
     * neighbouring times may share a row */
    if (m && !(r.t > rows[m - 1].t)) continue;
    rows[m++] = r;
  }
  *nrows = m;
  return SCHEDOPT_OK;
}
