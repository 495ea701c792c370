/* Integrators: CVODES (BDF + structured Newton solves) and the exact recursion.
 *
 * Both walk the horizon segment by segment between schedule knots, so the
 * controls are smooth inside every piece CVODES integrates; at a jump the
 * integrator is restarted from the state at the knot.  In the data clock the
 * right-hand side is divided by B·units (dt_step/dτ). */
#include "schedopt/integrator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cvodes/cvodes.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#include "nvector_fast.h"
#include "sunlinsol_blr.h"

/* Divergence: the loss exceeding this multiple of its initial value. */
#define DIVERGE_FACTOR 1e6

static const schedopt_integrator_type cvodes_type = {
    "cvodes", "CVODES BDF with an O(n) block + low-rank Newton solver"};
static const schedopt_integrator_type recursion_type = {
    "recursion", "exact expected-risk recursion, one optimizer step at a time"};
const schedopt_integrator_type *const schedopt_integrator_cvodes = &cvodes_type;
const schedopt_integrator_type *const schedopt_integrator_recursion = &recursion_type;

const schedopt_integrator_type *schedopt_integrator_type_find(const char *name) {
  if (!name) return NULL;
  if (strcmp(name, cvodes_type.name) == 0) return &cvodes_type;
  if (strcmp(name, recursion_type.name) == 0) return &recursion_type;
  return NULL;
}

struct schedopt_integrator {
  const schedopt_integrator_type *type;
  const schedopt_model_type *mt;
  const void *self;
  size_t n;
  double scale; /* initial loss */
  double rtol, atol;
  long max_steps;
  schedopt_integrator_stats stats;
  /* CVODES workspace, kept across runs */
  SUNContext ctx;
  void *cv;
  N_Vector y, q;
  SUNLinearSolver LS;
  int cv_ready;
  char cvmsg[512];
  /* the run in progress */
  const schedopt_schedule *sched;
  schedopt_clock clock;
  double units;
  double seg_lo, seg_hi;
  double *work;
};

/* ---- shared ------------------------------------------------------------- */

/* Controls inside the current segment: the left limit at its right end. */
static void seg_eval(const schedopt_integrator *it, double t, schedopt_uval *u) {
  if (t >= it->seg_hi)
    schedopt_schedule_eval_left(it->sched, it->seg_hi, u);
  else
    schedopt_schedule_eval(it->sched, t < it->seg_lo ? it->seg_lo : t, u);
}

/* Clock-time derivative factor: 1 for steps, 1/(B·units) for data. */
static double time_factor(const schedopt_integrator *it, const schedopt_uval *u) {
  return it->clock == SCHEDOPT_CLOCK_STEPS ? 1.0 : 1.0 / (u->batch * it->units);
}

static schedopt_status diverged(const schedopt_integrator *it, double t, double step,
                                double loss, schedopt_error *err) {
  schedopt_uval u;
  schedopt_schedule_eval_left(it->sched, t, &u);
  return schedopt_error_set(
      err, SCHEDOPT_EDIVERGE,
      "the dynamics diverged at step %.0f (clock %g): loss %.4g exceeds %.0e x its "
      "initial value %.4g; there lr = %g, batch = %g, momentum = %g — lower the learning "
      "rate (SGD is stable only while lr*lambda_1*(1 + 1/B) < 2 and the noise feedback "
      "stays below 1)",
      step, t, loss, DIVERGE_FACTOR, it->scale, u.lr, u.batch, u.momentum);
}

static void fill_row(const schedopt_integrator *it, double t, double step, double samples,
                     const double *y, schedopt_row *row) {
  row->t = t;
  row->step = step;
  row->samples = samples;
  schedopt_schedule_eval(it->sched, t, &row->u);
  it->mt->readout(it->self, y, &row->r);
}

static schedopt_status check_times(const double *times, size_t n, double H,
                                   schedopt_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (!(times[i] >= 0.0 && times[i] <= H * (1.0 + 1e-12)))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "output time %g is outside the horizon [0, %g]", times[i], H);
    if (i && times[i] < times[i - 1])
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "output times must be non-decreasing (%g after %g)", times[i],
                                times[i - 1]);
  }
  return SCHEDOPT_OK;
}

/* ---- CVODES callbacks ---------------------------------------------------- */

static int cv_rhs(realtype t, N_Vector y, N_Vector ydot, void *user) {
  schedopt_integrator *it = user;
  schedopt_uval u;
  seg_eval(it, t, &u);
  double *yd = N_VGetArrayPointer(ydot);
  it->mt->rhs(it->self, &u, N_VGetArrayPointer(y), yd);
  double f = time_factor(it, &u);
  if (f != 1.0)
    for (size_t i = 0; i < it->n; i++) yd[i] *= f;
  return 0;
}

/* q = (steps, samples): d/dt = (1, B) on the step clock, (1/(B·units), 1/units) on data. */
static int cv_quad(realtype t, N_Vector y, N_Vector qdot, void *user) {
  (void)y;
  schedopt_integrator *it = user;
  schedopt_uval u;
  seg_eval(it, t, &u);
  double *qd = N_VGetArrayPointer(qdot);
  if (it->clock == SCHEDOPT_CLOCK_STEPS) {
    qd[0] = 1.0;
    qd[1] = u.batch;
  } else {
    qd[0] = 1.0 / (u.batch * it->units);
    qd[1] = 1.0 / it->units;
  }
  return 0;
}

static int cv_root(realtype t, N_Vector y, realtype *g, void *user) {
  (void)t;
  schedopt_integrator *it = user;
  schedopt_readout r;
  it->mt->readout(it->self, N_VGetArrayPointer(y), &r);
  g[0] = isfinite(r.loss) ? DIVERGE_FACTOR * it->scale - r.loss : -1.0;
  return 0;
}

static int blr_fill(double t, double *D, double *U, double *V, void *user) {
  schedopt_integrator *it = user;
  schedopt_uval u;
  seg_eval(it, t, &u);
  it->mt->jac(it->self, &u, D, U, V);
  double f = time_factor(it, &u);
  if (f != 1.0) {
    size_t bs = it->mt->block(it->self), r = it->mt->rank(it->self);
    for (size_t i = 0; i < it->n * bs; i++) D[i] *= f;
    for (size_t i = 0; i < it->n * r; i++) U[i] *= f;
  }
  return 0;
}

static int blr_state(void *mem, double *t, double *gamma) {
  if (CVodeGetCurrentTime(mem, t) != CV_SUCCESS) return -1;
  if (CVodeGetCurrentGamma(mem, gamma) != CV_SUCCESS) return -1;
  return 0;
}

static void cv_errh(int code, const char *module, const char *function, char *msg,
                    void *user) {
  schedopt_integrator *it = user;
  if (code > 0) return; /* warnings */
  snprintf(it->cvmsg, sizeof it->cvmsg, "%s/%s: %s", module, function, msg);
}

static schedopt_status cv_fail(schedopt_integrator *it, int flag, const char *call,
                               double t, schedopt_error *err) {
  char *name = CVodeGetReturnFlagName(flag);
  schedopt_status st = schedopt_error_set(
      err, SCHEDOPT_ESOLVER, "CVODES %s failed with %s at clock %g%s%s", call,
      name ? name : "?", t, it->cvmsg[0] ? ": " : "", it->cvmsg);
  free(name);
  return st;
}

static schedopt_status cv_setup(schedopt_integrator *it, schedopt_error *err) {
  const size_t n = it->n;
  if (SUNContext_Create(NULL, &it->ctx) != 0)
    return schedopt_error_set(err, SCHEDOPT_ESOLVER, "SUNContext_Create failed");
  it->y = N_VNew_Serial((sunindextype)n, it->ctx);
  it->q = N_VNew_Serial(2, it->ctx);
  it->cv = CVodeCreate(CV_BDF, it->ctx);
  if (!it->y || !it->q || !it->cv)
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "cannot allocate CVODES memory (n = %zu)", n);
  schedopt_nvector_use_fast_ops(it->y); /* CVODES clones inherit the table */
  CVodeSetErrHandlerFn(it->cv, cv_errh, it);
  it->mt->initial(it->self, N_VGetArrayPointer(it->y));
  N_VConst(0.0, it->q);
  int f;
  if ((f = CVodeInit(it->cv, cv_rhs, 0.0, it->y)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeInit", 0.0, err);
  CVodeSetUserData(it->cv, it);
  if ((f = CVodeQuadInit(it->cv, cv_quad, it->q)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeQuadInit", 0.0, err);
  if ((f = CVodeRootInit(it->cv, 1, cv_root)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeRootInit", 0.0, err);
  it->LS = blr_linsol_create(n, it->mt->block(it->self), it->mt->rank(it->self), blr_fill, it,
                             blr_state, it->cv, it->ctx);
  if (!it->LS) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "cannot create the linear solver");
  if ((f = CVodeSetLinearSolver(it->cv, it->LS, NULL)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeSetLinearSolver", 0.0, err);
  it->cv_ready = 1;
  return SCHEDOPT_OK;
}

/* Restart CVODES at (t, y, q): the history must not span a jump. */
static schedopt_status cv_restart(schedopt_integrator *it, double t, schedopt_error *err) {
  int f;
  if ((f = CVodeReInit(it->cv, t, it->y)) != CV_SUCCESS) return cv_fail(it, f, "CVodeReInit", t, err);
  if ((f = CVodeQuadReInit(it->cv, it->q)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeQuadReInit", t, err);
  blr_linsol_invalidate(it->LS);
  return SCHEDOPT_OK;
}

static schedopt_status cv_run(schedopt_integrator *it, const double *times, size_t n,
                              schedopt_row *rows, schedopt_error *err) {
  schedopt_status st = SCHEDOPT_OK;
  const double H = schedopt_schedule_horizon(it->sched);
  double *kt = NULL;
  int *kj = NULL;
  size_t nk = 0;
  if ((st = schedopt_schedule_knots(it->sched, &kt, &kj, &nk, err)) != SCHEDOPT_OK) return st;
  if (!it->cv_ready && (st = cv_setup(it, err)) != SCHEDOPT_OK) goto done;
  it->cvmsg[0] = '\0';
  it->mt->initial(it->self, N_VGetArrayPointer(it->y));
  N_VConst(0.0, it->q);
  it->seg_lo = 0.0;
  it->seg_hi = nk ? kt[0] : H;
  if ((st = cv_restart(it, 0.0, err)) != SCHEDOPT_OK) goto done;
  int f;
  const double ascale = it->atol * it->scale;
  if ((f = CVodeSStolerances(it->cv, it->rtol, ascale)) != CV_SUCCESS) {
    st = cv_fail(it, f, "CVodeSStolerances", 0.0, err);
    goto done;
  }
  CVodeQuadSStolerances(it->cv, it->rtol, 1e-9);
  CVodeSetQuadErrCon(it->cv, SUNTRUE);
  CVodeSetMaxNumSteps(it->cv, it->max_steps);
  CVodeSetMaxHnilWarns(it->cv, -1);

  size_t i = 0;
  double tcur = 0.0;
  const double *y = N_VGetArrayPointer(it->y);
  const double *q = N_VGetArrayPointer(it->q);
  for (size_t seg = 0; seg <= nk; seg++) {
    const double lo = seg ? kt[seg - 1] : 0.0, hi = seg < nk ? kt[seg] : H;
    it->seg_lo = lo;
    it->seg_hi = hi;
    if (hi > tcur) CVodeSetStopTime(it->cv, hi);
    /* rows at the segment's start (t = 0 or a knot we already stand on) */
    while (i < n && times[i] <= tcur) fill_row(it, tcur, q[0], q[1], y, &rows[i++]);
    while (tcur < hi) {
      double tout = (i < n && times[i] < hi) ? times[i] : hi;
      realtype tret;
      f = CVode(it->cv, tout, it->y, &tret, CV_NORMAL);
      if (f == CV_ROOT_RETURN) {
        realtype tq;
        CVodeGetQuad(it->cv, &tq, it->q);
        schedopt_readout r;
        it->mt->readout(it->self, y, &r);
        st = diverged(it, tret, q[0], r.loss, err);
        goto done;
      }
      if (f < 0) {
        st = cv_fail(it, f, "CVode", tret, err);
        goto done;
      }
      realtype tq;
      CVodeGetQuad(it->cv, &tq, it->q);
      tcur = (f == CV_TSTOP_RETURN) ? hi : tret;
      for (; i < n && times[i] <= tcur; i++) fill_row(it, times[i], q[0], q[1], y, &rows[i]);
    }
    if (seg < nk && kj[seg] && (st = cv_restart(it, hi, err)) != SCHEDOPT_OK) goto done;
  }
  while (i < n) fill_row(it, H, q[0], q[1], y, &rows[i++]); /* times == H within rounding */

  long v;
  CVodeGetNumSteps(it->cv, &v);
  it->stats.steps += v;
  CVodeGetNumRhsEvals(it->cv, &v);
  it->stats.rhs_evals += v;
  CVodeGetNumErrTestFails(it->cv, &v);
  it->stats.err_fails += v;
done:
  free(kt);
  free(kj);
  return st;
}

/* ---- recursion ------------------------------------------------------------- */

static schedopt_status rec_run(schedopt_integrator *it, const double *times, size_t n,
                               schedopt_row *rows, schedopt_error *err) {
  const double H = schedopt_schedule_horizon(it->sched);
  if (!it->work && !(it->work = malloc(it->n * sizeof *it->work)))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory (n = %zu)", it->n);
  double *y = it->work;
  it->mt->initial(it->self, y);
  it->seg_lo = 0.0;
  it->seg_hi = INFINITY;
  const double limit = DIVERGE_FACTOR * it->scale;
  double t = 0.0, samples = 0.0;
  long k = 0;
  size_t i = 0;
  schedopt_readout r;
  for (;;) {
    /* rows: on the step clock at integer steps, on data the first clock ≥ time */
    while (i < n && (it->clock == SCHEDOPT_CLOCK_STEPS ? floor(times[i] + 0.5) <= t
                                                       : times[i] <= t * (1 + 1e-12)))
      fill_row(it, t, (double)k, samples, y, &rows[i++]);
    if (i == n || t >= H * (1 - 1e-12)) break;
    schedopt_uval u;
    schedopt_schedule_eval(it->sched, t, &u);
    it->mt->step(it->self, &u, y);
    k++;
    samples += u.batch;
    t = it->clock == SCHEDOPT_CLOCK_STEPS ? (double)k : t + u.batch * it->units;
    it->mt->readout(it->self, y, &r);
    if (!(r.loss <= limit)) return diverged(it, t, (double)k, r.loss, err);
  }
  while (i < n) fill_row(it, t, (double)k, samples, y, &rows[i++]);
  it->stats.steps += k;
  return SCHEDOPT_OK;
}

/* ---- API ------------------------------------------------------------------- */

schedopt_status schedopt_integrator_alloc(schedopt_integrator **out,
                                          const schedopt_integrator_type *T,
                                          const schedopt_model *m, schedopt_error *err) {
  if (!out || !T || !m)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_integrator_alloc: NULL argument");
  *out = NULL;
  const schedopt_model_type *mt = schedopt_model_get_type(m);
  if (T == &recursion_type && !mt->step)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "model '%s' has no discrete recursion; use the cvodes integrator",
                              mt->name);
  schedopt_integrator *it = calloc(1, sizeof *it);
  if (!it) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  it->type = T;
  it->mt = mt;
  it->self = schedopt_model_self(m);
  it->n = mt->size(it->self);
  it->scale = mt->scale(it->self);
  it->rtol = 1e-6;
  it->atol = 1e-10;
  it->max_steps = 1000000;
  *out = it;
  return SCHEDOPT_OK;
}

void schedopt_integrator_free(schedopt_integrator *it) {
  if (!it) return;
  if (it->cv) CVodeFree(&it->cv);
  if (it->LS) SUNLinSolFree(it->LS);
  if (it->y) N_VDestroy(it->y);
  if (it->q) N_VDestroy(it->q);
  if (it->ctx) SUNContext_Free(&it->ctx);
  free(it->work);
  free(it);
}

schedopt_status schedopt_integrator_set_tolerances(schedopt_integrator *it, double rtol,
                                                   double atol, schedopt_error *err) {
  if (!(rtol > 0.0 && rtol <= 0.1))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "rtol = %g is out of range: must be in (0, 0.1]", rtol);
  if (!(atol > 0.0 && atol <= 1.0))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "atol = %g is out of range: must be in (0, 1]", atol);
  it->rtol = rtol;
  it->atol = atol;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_integrator_set_max_steps(schedopt_integrator *it, long max_steps,
                                                  schedopt_error *err) {
  if (max_steps < 1)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "max_steps = %ld is out of range: must be >= 1", max_steps);
  it->max_steps = max_steps;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_integrator_run(schedopt_integrator *it, const schedopt_schedule *s,
                                        const double *times, size_t n, schedopt_row *rows,
                                        schedopt_error *err) {
  if (!it || !s || (n && (!times || !rows)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_integrator_run: NULL argument");
  schedopt_status st = schedopt_schedule_validate(s, err);
  if (st != SCHEDOPT_OK) return st;
  const double H = schedopt_schedule_horizon(s);
  if ((st = check_times(times, n, H, err)) != SCHEDOPT_OK) return st;
  it->sched = s;
  it->clock = schedopt_schedule_clock(s);
  it->units = schedopt_schedule_units_per_sample(s);
  st = it->type == &recursion_type ? rec_run(it, times, n, rows, err)
                                   : cv_run(it, times, n, rows, err);
  if (it->LS) {
    it->stats.lin_setups = blr_linsol_nsetups(it->LS);
    it->stats.lin_solves = blr_linsol_nsolves(it->LS);
  }
  it->sched = NULL;
  return st;
}

const schedopt_integrator_type *schedopt_integrator_get_type(const schedopt_integrator *it) {
  return it->type;
}

void schedopt_integrator_get_stats(const schedopt_integrator *it, schedopt_integrator_stats *st) {
  *st = it->stats;
}
