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

#include "dynamics/control_impl.h"
#include "dynamics/nvector_fast.h"
#include "dynamics/sunlinsol_blr.h"
#include "dynamics/sunnonlinsol_lin.h"

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
  schedopt_nvector_queue nvq; /* the deferred sums of every vector below */
  void *cv;
  N_Vector y, q;
  SUNLinearSolver LS;
  SUNNonlinearSolver NLS; /* one Newton iteration: the models are linear in y */
  double fkey[4], fkeyB[4]; /* (u, clock factor) of the solvers' last fills */
  double wkey[4];           /* and of the backward right-hand side's Dw, Uw, Vw */
  int wkey_ok;
  int cv_ready;
  char cvmsg[512];
  /* the run in progress */
  const schedopt_schedule *sched;
  schedopt_clock clock;
  double units;
  double seg_lo, seg_hi;
  double *work;
  /* Recording for the adjoint: the forward pass runs without restarts (CVodeF
   * cannot restart) and CVodeB recomputes forward pieces at any time, so the
   * forward right-hand side must not depend on segment state: it uses the
   * left-continuous controls, which is what a step ending on a knot needs. */
  int adj;
  /* The recorded forward has no root finding: its quadrature right-hand side
   * stops it (an unrecoverable error) where the loss passes the divergence
   * limit, and records where. */
  int div_hit;
  double div_t, div_loss;
  /* MEAN objective: ∫ w L dt over (win_lo, win_hi), w = 1/(win_hi − win_lo) */
  double win_lo, win_hi, win_w;
  /* adjoint workspace (kept across gradient calls with the same sizes) */
  int adj_init, b_ready, which;
  void *cvB;
  N_Vector yB;
  SUNLinearSolver LSB;
  SUNNonlinearSolver NLSB;
  size_t np[SCHEDOPT_NCHANNELS], off[SCHEDOPT_NCHANNELS], P;
  /* the gradient (and, with want_h, the curvature diagonal after it), 2P */
  int want_h;
  double *gacc;
  size_t gacc_n;
  double *tk;     /* all knots of the run (the quadrature's pieces) */
  size_t ntk;
  N_Vector lt, yt; /* λ(t) and y(t) at quadrature nodes */
  double *Dw, *Uw, *Vw, *fw, *gl, *dp;
  /* The stored forward pass of the gradient (see st_forward): points t_i
   * with y_i, ẏ(t_i⁻) and ẏ(t_i⁺) (offsets into the pool sp; the two
   * derivatives share one vector except at jumps). */
  double *sp;
  struct st_point {
    double t;
    size_t y, dl, dr;
  } *st;
  size_t sp_n, sp_cap, st_n, st_cap, st_cur;
  size_t store_limit; /* bytes; a longer pass takes the check-pointed adjoint */
  /* the content of the schedule whose pass is stored (st_mark), or none */
  unsigned char *st_fp;
  size_t st_fp_n, st_fp_cap;
  int st_fp_ok;
  /* λ by a plain CVODE run backwards in time */
  void *cvL;
  N_Vector lv;
  SUNLinearSolver LSL;
  SUNNonlinearSolver NLSL;
  double *lnode;            /* 7n: ldA, ldB, lB, then y and λ at a node, dc_v's data */
  double *ldA, *ldB, *lB;   /* λ' at the backward step's ends lh0 < lh1, λ(lh1) */
  double lh0, lh1;
  /* λ's decoupled part (see dc_prepare): states dc_i[k], k < dc_n, carry
   * r = λ − h, h_k(t) = dc_l0[k] exp(ρ_k I_0(t) + ρ_k² I_1(t)) (in dc_h at
   * time dc_t); piece bounds dc_pb (0, knots, H) with I_0, I_1 from each to
   * H in dc_I; dc_v: λ at a piece's two nodes. */
  int dc_off;
  size_t dc_n, dc_np, dc_cap;
  size_t *dc_i;
  size_t *dc_off_j, *dc_ncell; /* graded pieces: 1 + offset into dc_cell, cells */
  size_t dc_nc, dc_ccap;
  double *dc_cell;
  double *dc_rho, *dc_l0, *dc_h, *dc_w, *dc_pb, *dc_I;
  double dc_t, dc_tI[2]; /* and I_0, I_1 there */
  N_Vector dc_v[2];
};

/* ---- shared ------------------------------------------------------------- */

/* Controls inside the current segment: the left limit at its right end. */
static void seg_eval(const schedopt_integrator *it, double t, schedopt_uval *u) {
  if (t >= it->seg_hi)
    schedopt_schedule_eval_left(it->sched, it->seg_hi, u);
  else
    schedopt_schedule_eval(it->sched, t < it->seg_lo ? it->seg_lo : t, u);
}

/* Controls for the forward right-hand side (see `adj`). */
static void fwd_eval(const schedopt_integrator *it, double t, schedopt_uval *u) {
  if (it->adj) /* CVodeF may step past H and interpolate: hold the end value */
    schedopt_schedule_eval_left(it->sched, fmin(t, schedopt_schedule_horizon(it->sched)), u);
  else
    seg_eval(it, t, u);
}

/* Weight of the MEAN objective's running cost.  The recorded forward pass
 * integrates ∫ L over everything (a smooth integrand, read off at t0 and t1)
 * and must not depend on segment state (CVodeB replays it); plain and
 * backward passes run segment by segment with t0, t1 among the knots. */
static double seg_weight(const schedopt_integrator *it) {
  if (it->win_w == 0.0) return 0.0;
  /* t0 and t1 are knots up to the 1e-12 H within which knots_build merges
   * them into a schedule knot, 0 or H */
  const double eps = 1e-12 * schedopt_schedule_horizon(it->sched);
  return (it->seg_lo >= it->win_lo - eps && it->seg_hi <= it->win_hi + eps) ? it->win_w : 0.0;
}

static double fwd_weight(const schedopt_integrator *it) {
  if (it->win_w == 0.0) return 0.0;
  if (it->adj) return 1.0;
  return seg_weight(it);
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

/* ---- knots: schedule breakpoints plus the objective's times ------------ */

enum { KNOT_JUMP = 1, KNOT_HORIZON = 2 };

typedef struct knots {
  double *t;
  int *flag;
  size_t n;
} knots;

static int dcmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Merge the schedule's knots with t0, t1 (MEAN) or the horizons (HORIZONS),
 * all inside (0, H); equal times (to 1e-12 H) become one knot. */
static schedopt_status knots_build(const schedopt_integrator *it, const schedopt_objective *obj,
                                   knots *k, schedopt_error *err) {
  const double H = schedopt_schedule_horizon(it->sched);
  double *st = NULL;
  int *sj = NULL;
  size_t ns = 0;
  memset(k, 0, sizeof *k);
  schedopt_status s = schedopt_schedule_knots(it->sched, &st, &sj, &ns, err);
  if (s) return s;
  size_t extra = !obj ? 0 : obj->kind == SCHEDOPT_OBJ_MEAN ? 2 : obj->kind == SCHEDOPT_OBJ_HORIZONS ? obj->nh : 0;
  size_t cap = ns + extra;
  double *all = malloc((cap ? cap : 1) * 2 * sizeof *all); /* pairs (t, flag) */
  k->t = malloc((cap ? cap : 1) * sizeof *k->t);
  k->flag = malloc((cap ? cap : 1) * sizeof *k->flag);
  if (!all || !k->t || !k->flag) {
    free(all);
    free(st);
    free(sj);
    free(k->t);
    free(k->flag);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu knots", cap);
  }
  size_t m = 0;
  for (size_t i = 0; i < ns; i++) {
    all[2 * m] = st[i];
    all[2 * m++ + 1] = sj[i] ? KNOT_JUMP : 0;
  }
  if (obj && obj->kind == SCHEDOPT_OBJ_MEAN) { /* the ∫ w L integrand jumps: restart */
    all[2 * m] = obj->t0;
    all[2 * m++ + 1] = KNOT_JUMP;
    all[2 * m] = obj->t1;
    all[2 * m++ + 1] = KNOT_JUMP;
  } else if (obj && obj->kind == SCHEDOPT_OBJ_HORIZONS) {
    for (size_t i = 0; i < obj->nh; i++) {
      all[2 * m] = obj->h[i];
      all[2 * m++ + 1] = KNOT_HORIZON;
    }
  }
  qsort(all, m, 2 * sizeof *all, dcmp);
  const double eps = 1e-12 * H;
  for (size_t i = 0; i < m; i++) {
    double t = all[2 * i];
    int f = (int)all[2 * i + 1];
    if (!(t > eps && t < H - eps)) continue;
    if (k->n && t - k->t[k->n - 1] <= eps) {
      k->flag[k->n - 1] |= f;
      continue;
    }
    k->t[k->n] = t;
    k->flag[k->n++] = f;
  }
  free(all);
  free(st);
  free(sj);
  return SCHEDOPT_OK;
}

static void knots_free(knots *k) {
  free(k->t);
  free(k->flag);
  memset(k, 0, sizeof *k);
}

static schedopt_status check_objective(const schedopt_objective *obj, double H,
                                       schedopt_error *err) {
  if (!obj) return schedopt_error_set(err, SCHEDOPT_EINVAL, "objective: NULL");
  switch (obj->kind) {
  case SCHEDOPT_OBJ_FINAL: return SCHEDOPT_OK;
  case SCHEDOPT_OBJ_MEAN:
    if (!(obj->t0 >= 0.0 && obj->t1 > obj->t0 && obj->t1 <= H * (1 + 1e-12)))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "objective window [%g, %g] must satisfy 0 <= t0 < t1 <= %g",
                                obj->t0, obj->t1, H);
    return SCHEDOPT_OK;
  case SCHEDOPT_OBJ_HORIZONS:
    if (obj->nh < 1 || !obj->h || !obj->w)
      return schedopt_error_set(err, SCHEDOPT_EINVAL, "objective: horizons need times and weights");
    for (size_t i = 0; i < obj->nh; i++) {
      if (!(obj->h[i] > 0.0 && obj->h[i] <= H * (1 + 1e-12)) || (i && obj->h[i] <= obj->h[i - 1]))
        return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                  "objective horizon %g: horizons must increase within (0, %g]",
                                  obj->h[i], H);
      if (!isfinite(obj->w[i]))
        return schedopt_error_set(err, SCHEDOPT_EINVAL, "objective weight %g is not finite",
                                  obj->w[i]);
    }
    return SCHEDOPT_OK;
  }
  return schedopt_error_set(err, SCHEDOPT_EINVAL, "objective: unknown kind %d", (int)obj->kind);
}

/* ---- CVODES callbacks ---------------------------------------------------- */

/* ẏ = s (A(u) y + c(u)) at controls u (s the clock factor). */
static void rhs_at(const schedopt_integrator *it, const schedopt_uval *u, const double *y,
                   double *yd) {
  it->mt->rhs(it->self, u, y, yd);
  double f = time_factor(it, u);
  if (f != 1.0)
    for (size_t i = 0; i < it->n; i++) yd[i] *= f;
}

static int cv_rhs(realtype t, N_Vector y, N_Vector ydot, void *user) {
  schedopt_integrator *it = user;
  schedopt_uval u;
  fwd_eval(it, t, &u);
  rhs_at(it, &u, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
  return 0;
}

/* q = (steps, samples, ∫ w L): d/dt (steps, samples) = (1, B) on the step
 * clock, (1/(B·units), 1/units) on data. */
static int cv_quad(realtype t, N_Vector y, N_Vector qdot, void *user) {
  schedopt_integrator *it = user;
  schedopt_uval u;
  fwd_eval(it, t, &u);
  double *qd = N_VGetArrayPointer(qdot);
  if (it->clock == SCHEDOPT_CLOCK_STEPS) {
    qd[0] = 1.0;
    qd[1] = u.batch;
  } else {
    qd[0] = 1.0 / (u.batch * it->units);
    qd[1] = 1.0 / it->units;
  }
  double w = fwd_weight(it);
  qd[2] = 0.0;
  if (w != 0.0 || it->adj) {
    schedopt_readout r;
    it->mt->readout(it->self, N_VGetArrayPointer(y), &r);
    qd[2] = w * r.loss;
    /* called on each step's corrected state: a diverging schedule stops here
     * rather than growing until the corrector fails (up to max_steps tiny
     * steps, minutes for one optimizer probe past the stability edge) */
    if (it->adj && !(r.loss <= DIVERGE_FACTOR * it->scale)) {
      it->div_hit = 1;
      it->div_t = t;
      it->div_loss = r.loss;
      return -1;
    }
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

/* The Jacobian depends on t only through the controls and the clock factor:
 * where they equal the last fill's (a constant stretch of the schedule), the
 * solver keeps its D, U, V and refactors for the new γ only. */
static int same_key(double *key, int have, const schedopt_uval *u, double f) {
  const double k[4] = {u->lr, u->batch, u->momentum, f};
  if (have && k[0] == key[0] && k[1] == key[1] && k[2] == key[2] && k[3] == key[3]) return 1;
  memcpy(key, k, sizeof k);
  return 0;
}

/* Tell a new block solver which blocks the model always fills diagonal;
 * returns 0, or −1 out of memory. */
static int ls_diag(const schedopt_integrator *it, SUNLinearSolver LS) {
  const size_t bs = it->mt->block(it->self);
  if (!LS || !it->mt->block_diag || bs != 3) return 0;
  unsigned char *d = calloc(it->n / bs + 1, 1);
  if (!d) return -1;
  it->mt->block_diag(it->self, d);
  const int f = schedopt_blr_linsol_set_diag(LS, d);
  free(d);
  return f;
}

static int blr_fill(double t, int have, double *D, double *U, double *V, void *user) {
  schedopt_integrator *it = user;
  schedopt_uval u;
  fwd_eval(it, t, &u);
  double f = time_factor(it, &u);
  if (same_key(it->fkey, have, &u, f)) return 1;
  it->mt->jac(it->self, &u, D, U, V);
  if (f != 1.0) {
    size_t bs = it->mt->block(it->self), r = it->mt->rank(it->self);
    for (size_t i = 0; i < it->n * bs; i++) D[i] *= f;
    for (size_t i = 0; i < it->n * r; i++) U[i] *= f;
  }
  return 0;
}

/* Error weights of the states: CVODES's scalar tolerances (rtol, atol·scale)
 * in one pass (its own takes five). */
static int cv_ewt(N_Vector y, N_Vector w, void *user) {
  const schedopt_integrator *it = user;
  return schedopt_nvector_ewt(y, w, it->rtol, it->atol * it->scale);
}

/* The backward problem's: λ is O(1), absolute tolerance rtol·10⁻³.  CVODES
 * hands a backward problem's callbacks the forward memory as user data
 * (CVodeCreateB), whose user data is the integrator. */
static int cv_ewtB(N_Vector l, N_Vector w, void *cv_fwd) {
  void *user = NULL;
  if (CVodeGetUserData(cv_fwd, &user) != CV_SUCCESS || !user) return -1;
  const schedopt_integrator *it = user;
  return schedopt_nvector_ewt(l, w, it->rtol, it->rtol * 1e-3);
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

static schedopt_status cv_setup_(schedopt_integrator *it, schedopt_error *err) {
  const size_t n = it->n;
  if (SUNContext_Create(NULL, &it->ctx) != 0)
    return schedopt_error_set(err, SCHEDOPT_ESOLVER, "SUNContext_Create failed");
  it->y = N_VNew_Serial((sunindextype)n, it->ctx);
  it->q = N_VNew_Serial(3, it->ctx);
  it->cv = CVodeCreate(CV_BDF, it->ctx);
  schedopt_nvector_queue_init(&it->nvq);
  /* CVODES clones inherit the table and the queue */
  if (!it->y || !it->q || !it->cv || schedopt_nvector_use_fast_ops(it->y, &it->nvq) ||
      schedopt_nvector_use_fast_ops(it->q, &it->nvq))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "cannot allocate CVODES memory (n = %zu)", n);
  CVodeSetErrHandlerFn(it->cv, cv_errh, it);
  it->mt->initial(it->self, N_VGetArrayPointer(it->y));
  N_VConst(0.0, it->q);
  int f;
  if ((f = CVodeInit(it->cv, cv_rhs, 0.0, it->y)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeInit", 0.0, err);
  CVodeSetUserData(it->cv, it);
  if ((f = CVodeQuadInit(it->cv, cv_quad, it->q)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeQuadInit", 0.0, err);
  it->LS = schedopt_blr_linsol_create(n, it->mt->block(it->self), it->mt->rank(it->self), blr_fill, it,
                             blr_state, it->cv, it->ctx);
  if (!it->LS || ls_diag(it, it->LS))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "cannot create the linear solver");
  if ((f = CVodeSetLinearSolver(it->cv, it->LS, NULL)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeSetLinearSolver", 0.0, err);
  /* f = A(t) y + c(t) and the block solver's matrix is I − γA(t_n) exactly:
   * one Newton iteration solves the corrector (sunnonlinsol_lin.h) */
  it->NLS = schedopt_nls_linear_create(it->y, it->ctx);
  if (!it->NLS) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "cannot create the Newton solver");
  if ((f = CVodeSetNonlinearSolver(it->cv, it->NLS)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeSetNonlinearSolver", 0.0, err);
  it->cv_ready = 1;
  return SCHEDOPT_OK;
}

/* The forward solver's memory, as cv_setup_ leaves it (also half made). */
static void cv_teardown(schedopt_integrator *it) {
  if (it->cv) CVodeFree(&it->cv);
  if (it->LS) SUNLinSolFree(it->LS);
  if (it->NLS) SUNNonlinSolFree(it->NLS);
  if (it->y) N_VDestroy(it->y);
  if (it->q) N_VDestroy(it->q);
  if (it->ctx) SUNContext_Free(&it->ctx);
  it->LS = NULL;
  it->NLS = NULL;
  it->y = it->q = NULL;
  it->cv_ready = 0;
}

/* A failed set-up leaves nothing behind: the next run starts it again. */
static schedopt_status cv_setup(schedopt_integrator *it, schedopt_error *err) {
  schedopt_status st = cv_setup_(it, err);
  if (st != SCHEDOPT_OK) cv_teardown(it);
  return st;
}

/* Fold CVODES's counters (reset by every ReInit) into the run's stats. */
static void cv_collect(schedopt_integrator *it) {
  long v;
  if (CVodeGetNumSteps(it->cv, &v) == CV_SUCCESS) it->stats.steps += v;
  if (CVodeGetNumRhsEvals(it->cv, &v) == CV_SUCCESS) it->stats.rhs_evals += v;
  if (CVodeGetNumErrTestFails(it->cv, &v) == CV_SUCCESS) it->stats.err_fails += v;
}

/* Restart CVODES at (t, y, q): the history must not span a jump. */
static schedopt_status cv_restart(schedopt_integrator *it, double t, schedopt_error *err) {
  int f;
  if (t > 0.0) cv_collect(it); /* a run's first ReInit follows its own final collect */
  if ((f = CVodeReInit(it->cv, t, it->y)) != CV_SUCCESS) return cv_fail(it, f, "CVodeReInit", t, err);
  if ((f = CVodeQuadReInit(it->cv, it->q)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeQuadReInit", t, err);
  if (t > 0.0) it->stats.restarts++;
  schedopt_blr_linsol_invalidate(it->LS);
  return SCHEDOPT_OK;
}

/* Set up a forward pass from t = 0 (roots on for plain runs). */
static schedopt_status cv_begin(schedopt_integrator *it, int roots, schedopt_error *err) {
  schedopt_status st;
  if (!it->cv_ready && (st = cv_setup(it, err)) != SCHEDOPT_OK) return st;
  it->cvmsg[0] = '\0';
  it->mt->initial(it->self, N_VGetArrayPointer(it->y));
  N_VConst(0.0, it->q);
  if ((st = cv_restart(it, 0.0, err)) != SCHEDOPT_OK) return st;
  int f;
  if ((f = CVodeRootInit(it->cv, roots ? 1 : 0, roots ? cv_root : NULL)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeRootInit", 0.0, err);
  if ((f = CVodeWFtolerances(it->cv, cv_ewt)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeWFtolerances", 0.0, err);
  /* steps, samples: counters (unit scale); ∫ w L: like the states */
  N_Vector aq = N_VClone(it->q);
  if (aq) {
    double *a = N_VGetArrayPointer(aq);
    a[0] = a[1] = 1e-6;
    a[2] = it->atol * it->scale;
    CVodeQuadSVtolerances(it->cv, it->rtol, aq);
    N_VDestroy(aq);
  }
  CVodeSetQuadErrCon(it->cv, SUNTRUE);
  CVodeSetMaxNumSteps(it->cv, it->max_steps);
  CVodeSetMaxHnilWarns(it->cv, -1);
  /* A step that reaches a knot where the schedule's slope is infinite (the
   * start of a 1−sqrt anneal) must shrink by up to ~10⁶ before the error test
   * passes; CVODES's default of 7 failures stops at ~10⁻⁴ of the step. */
  CVodeSetMaxErrTestFails(it->cv, 20);
  /* CVodeReInit keeps the stop time and SUNDIALS 6.4 cannot clear it: a plain
   * run's last one (H, reached as its tout, so never cleared) cut the next
   * recorded forward pass's last step, whose J then differed from the same
   * schedule's next evaluation by 5e-7 relative at rtol 1e-6.  A stop time
   * beyond the horizon is none. */
  CVodeSetStopTime(it->cv, 2.0 * schedopt_schedule_horizon(it->sched) + 1.0);
  /* Momentum blocks have complex eigenvalues (Im/Re up to 1/√(2(1−μ)), 7
   * at μ = 0.99); BDF orders 3–5 are unstable near the imaginary axis, so once an
   * oscillation has decayed below the tolerance a high-order step grows it
   * back and the error test cuts h.  Stability-limit detection lowers the
   * order there instead (docs/performance.md, momentum). */
  CVodeSetStabLimDet(it->cv, it->mt->block(it->self) > 1 ? SUNTRUE : SUNFALSE);
  return SCHEDOPT_OK;
}

/* Plain forward pass: rows at `times`, restarts at jumps, divergence by a
 * root of L − 10⁶ L(0).  *Jmean (if non-NULL) receives ∫ w L. */
static schedopt_status cv_run(schedopt_integrator *it, const double *times, size_t n,
                              schedopt_row *rows, const schedopt_objective *obj,
                              double *Jmean, schedopt_error *err) {
  schedopt_status st = SCHEDOPT_OK;
  const double H = schedopt_schedule_horizon(it->sched);
  knots k;
  if ((st = knots_build(it, obj, &k, err)) != SCHEDOPT_OK) return st;
  it->adj = 0;
  it->seg_lo = 0.0;
  it->seg_hi = k.n ? k.t[0] : H;
  if ((st = cv_begin(it, 1, err)) != SCHEDOPT_OK) goto done;

  size_t i = 0;
  double tcur = 0.0;
  int f;
  const double *y = N_VGetArrayPointer(it->y);
  const double *q = N_VGetArrayPointer(it->q);
  for (size_t seg = 0; seg <= k.n; seg++) {
    const double lo = seg ? k.t[seg - 1] : 0.0, hi = seg < k.n ? k.t[seg] : H;
    it->seg_lo = lo;
    it->seg_hi = hi;
    if (hi > tcur) CVodeSetStopTime(it->cv, hi);
    /* rows at the segment's start (t = 0 or a knot we already stand on) */
    while (i < n && times[i] <= tcur) fill_row(it, tcur, q[0], q[1], y, &rows[i++]);
    while (tcur < hi) {
      double tout = (i < n && times[i] < hi) ? times[i] : hi;
      realtype tret, tq;
      f = CVode(it->cv, tout, it->y, &tret, CV_NORMAL);
      if (f == CV_ROOT_RETURN) {
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
      CVodeGetQuad(it->cv, &tq, it->q);
      tcur = (f == CV_TSTOP_RETURN) ? hi : tret;
      for (; i < n && times[i] <= tcur; i++) fill_row(it, times[i], q[0], q[1], y, &rows[i]);
    }
    if (seg < k.n && (k.flag[seg] & KNOT_JUMP) && (st = cv_restart(it, hi, err)) != SCHEDOPT_OK)
      goto done;
  }
  while (i < n) fill_row(it, H, q[0], q[1], y, &rows[i++]); /* times == H within rounding */
  if (Jmean) *Jmean = q[2];
  cv_collect(it);
done:
  knots_free(&k);
  return st;
}

/* ---- CVODES adjoint ------------------------------------------------------ */

/* Σ a_i b_i in eight partial sums (a single running sum is a chain of
 * dependent additions, 4 cycles per element). */
static double dot8(const double *restrict a, const double *restrict b, size_t n) {
  double s[8] = {0}, rest = 0.0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
  for (; i < n; i++) rest += a[i] * b[i];
  return (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))) + rest;
}

/* ---- λ's decoupled part ----------------------------------------------------
 * For a model with the decay op, λ_i' = −s D_i λ_i − s (V Uᵀλ)_i with
 * D_i = c_0(u) ρ_i + c_1(u) ρ_i².  Without the coupling λ_i(t) = λ_i(H) Φ_i(t),
 *   Φ_i(t) = exp(ρ_i I_0(t) + ρ_i² I_1(t)),   I_j(t) = ∫_t^H s c_j(u) dτ:
 * in an anneal to zero these are Gaussians in H − t, each mode's at its own
 * time (H − t ≈ (d H/ρ_i)^½), which a backward pass in λ resolves one by one
 * (80–140 steps per decade of H − t at T = 1e8).  The pass integrates instead
 *   r = λ − h,  h_i = λ_i(H) Φ_i,  r' = −s Aᵀ(r + h) + s D h,  r(H) = 0
 * on the modes that decay over the run: r is driven by the coupling alone.
 * The gradient's nodes take λ = r + h with r from CVODES's own interpolant of
 * the step (a cubic Hermite on r's longer steps is not accurate enough).
 * I_j: 8-point Gauss–Legendre on every piece between the run's knots, where
 * the controls are smooth, summed from H; a piece where the rule on its two
 * halves disagrees with it (an end where u has an infinite slope: sqrt or
 * power shapes with exponent < 1) on cells refined geometrically toward both
 * ends (dc_cells).  h must solve h' = −s D h to the rounding: r takes up
 * whatever it does not. */
static const double gl8_x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                                0.9602898564975363};
static const double gl8_w[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                                0.1012285362903763};

/* The modes kept in r alone: Φ changes by less than this over the run. */
#define DC_MIN_EXPONENT 1e-3

/* s c(u) at t (the decay needs the learning rate and the batch). */
static void dc_rate(const schedopt_integrator *it, double t, double w, double *s0, double *s1) {
  const double H = schedopt_schedule_horizon(it->sched);
  schedopt_uval u = {0};
  double c[2];
  u.lr = schedopt_control_eval(schedopt_schedule_get(it->sched, SCHEDOPT_LR), H, t, NULL);
  u.batch = schedopt_control_eval(schedopt_schedule_get(it->sched, SCHEDOPT_BATCH), H, t, NULL);
  it->mt->decay(it->self, &u, NULL, c);
  w *= time_factor(it, &u);
  *s0 += w * c[0];
  *s1 += w * c[1];
}

/* I += ∫_a^b s c(u) dτ, 8-point Gauss–Legendre. */
static void dc_int(const schedopt_integrator *it, double a, double b, double I[2]) {
  const double m = 0.5 * (a + b), r = 0.5 * (b - a);
  double s0 = 0.0, s1 = 0.0;
  for (int g = 0; g < 4; g++) {
    dc_rate(it, m - r * gl8_x[g], gl8_w[g], &s0, &s1);
    dc_rate(it, m + r * gl8_x[g], gl8_w[g], &s0, &s1);
  }
  I[0] += r * s0;
  I[1] += r * s1;
}

/* Cells of a non-smooth piece [a, b]: bounds a + (b − a) 2^−k and b − (b − a) 2^−k,
 * k = 1 … DC_GRADE (a singular end's last cell holds 2^−DC_GRADE of the piece). */
#define DC_GRADE 40
#define DC_CELLS (2 * DC_GRADE + 1)

/* Grade piece j: its cell bounds and I from each to the piece's end, into
 * the cell store; I gets the piece's integral.  −1: out of memory. */
static int dc_cells(schedopt_integrator *it, size_t j, double I[2]) {
  const double a = it->dc_pb[j], b = it->dc_pb[j + 1], L = b - a;
  if (it->dc_nc + DC_CELLS + 1 > it->dc_ccap) {
    const size_t c = 2 * (it->dc_ccap + DC_CELLS + 1);
    double *p = realloc(it->dc_cell, 3 * c * sizeof *p);
    if (!p) return -1;
    it->dc_cell = p;
    it->dc_ccap = c;
  }
  double *t = it->dc_cell + 3 * it->dc_nc; /* (t, I_0, I_1) per bound, increasing t */
  size_t m = 0;
  t[3 * m++] = a;
  for (int k = DC_GRADE; k >= 1; k--) t[3 * m++] = a + L * ldexp(1.0, -k);
  for (int k = 2; k <= DC_GRADE; k++) t[3 * m++] = b - L * ldexp(1.0, -k);
  t[3 * m++] = b;
  t[3 * (m - 1) + 1] = t[3 * (m - 1) + 2] = 0.0;
  for (size_t c = m - 1; c-- > 0;) {
    double J[2] = {t[3 * (c + 1) + 1], t[3 * (c + 1) + 2]};
    dc_int(it, t[3 * c], t[3 * (c + 1)], J);
    t[3 * c + 1] = J[0];
    t[3 * c + 2] = J[1];
  }
  it->dc_off_j[j] = it->dc_nc + 1; /* 0: not graded */
  it->dc_ncell[j] = m;
  it->dc_nc += m;
  I[0] += t[1];
  I[1] += t[2];
  return 0;
}

/* I_0, I_1 at t. */
static void dc_Iat(const schedopt_integrator *it, double t, double I[2]) {
  size_t lo = 0, hi = it->dc_np - 1; /* the piece [pb[lo], pb[lo + 1]] that holds t */
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (it->dc_pb[mid] <= t) lo = mid; else hi = mid;
  }
  I[0] = it->dc_I[2 * (lo + 1)];
  I[1] = it->dc_I[2 * (lo + 1) + 1];
  if (it->dc_off_j[lo]) { /* graded: the cell that holds t */
    const double *c = it->dc_cell + 3 * (it->dc_off_j[lo] - 1);
    size_t a = 0, z = it->dc_ncell[lo] - 1;
    while (z - a > 1) {
      const size_t mid = (a + z) / 2;
      if (c[3 * mid] <= t) a = mid; else z = mid;
    }
    I[0] += c[3 * z + 1];
    I[1] += c[3 * z + 2];
    dc_int(it, t, c[3 * z], I);
  } else
    dc_int(it, t, it->dc_pb[lo + 1], I);
}

/* h at t (into dc_h). */
static void dc_phi(schedopt_integrator *it, double t) {
  if (t == it->dc_t) return;
  it->dc_t = t;
  double *I = it->dc_tI;
  dc_Iat(it, t, I);
  for (size_t k = 0; k < it->dc_n; k++) {
    const double rho = it->dc_rho[it->dc_i[k]], x = rho * (I[0] + rho * I[1]);
    it->dc_h[k] = x < -745.0 ? 0.0 : it->dc_l0[k] * exp(x);
  }
}

/* The quadrature's pieces for the backward step that ends at a: h varies
 * within a step that r does not need to resolve, so the step is cut where
 * some mode's exponent moves by more than DC_STEP_EXPONENT (rtol/1e-6)^½
 * over it.  At rtol 1e-6 this cuts next to nothing (bench_gradient: the same
 * gradients, no cost); at 1e-8 … 1e-10 uncut steps left the gradient up to
 * 400× less accurate than the pass in λ.  Ip: I at the step's other end on
 * entry, I at a on return. */
#define DC_STEP_EXPONENT 10.0
static int dc_subpieces(schedopt_integrator *it, double a, double Ip[2]) {
  double Ia[2] = {it->dc_tI[0], it->dc_tI[1]}; /* the corrector's right-hand side was at a */
  if (a != it->dc_t) dc_Iat(it, a, Ia);
  const double d0 = Ip[0] - Ia[0], d1 = Ip[1] - Ia[1];
  double dx = 0.0;
  for (size_t k = 0; k < it->dc_n; k++) {
    const double rho = it->dc_rho[it->dc_i[k]];
    if (rho * (Ip[0] + rho * Ip[1]) < -40.0) continue; /* h ≤ e⁻⁴⁰ λ(H) on the step */
    dx = fmax(dx, fabs(rho * (d0 + rho * d1)));
  }
  Ip[0] = Ia[0];
  Ip[1] = Ia[1];
  const double tol = DC_STEP_EXPONENT * sqrt(it->rtol / 1e-6);
  return dx > tol ? (int)fmin(ceil(dx / tol), 64.0) : 1;
}

/* 1 if c is a polynomial between knots (constants, linear ramps, tables,
 * multisteps; a warmup is a linear ramp) or, with recip, piecewise constant:
 * the batch enters as 1/B (κ, and the data clock's factor), and a ramp in B
 * puts a pole just beyond the piece. */
static int dc_poly(const schedopt_control *c, int recip) {
  const schedopt_control_type *T = c->type;
  if (recip) return (T == schedopt_control_constant || T->needs_table == 2) && c->warmup == 0.0;
  return T == schedopt_control_constant || T == schedopt_control_linear || T->needs_table;
}

/* Split λ(H) = l into r + h (dc_n = 0 if the model has no decay op or the
 * split is off).  A mode joins if its Φ changes by more than
 * DC_MIN_EXPONENT over the run and never grows past e at a piece bound (a
 * decoupled part that grows is a diverging run's, left to the pass). */
static int dc_prepare(schedopt_integrator *it, double H, double *l) {
  it->dc_n = 0;
  if (it->dc_off || !it->mt->decay || it->mt->block(it->self) != 1) return 0;
  const size_t n = it->n, np = it->ntk + 2;
  if (np > it->dc_cap) {
    double *pb = realloc(it->dc_pb, 3 * np * sizeof *pb);
    size_t *oj = realloc(it->dc_off_j, 2 * np * sizeof *oj);
    if (pb) it->dc_pb = pb;
    if (oj) it->dc_off_j = oj;
    if (!pb || !oj) return -1;
    it->dc_cap = np;
  }
  it->dc_ncell = it->dc_off_j + np;
  it->dc_nc = 0;
  it->dc_I = it->dc_pb + np;
  it->dc_np = np;
  it->dc_pb[0] = 0.0;
  memcpy(it->dc_pb + 1, it->tk, it->ntk * sizeof *it->tk);
  it->dc_pb[np - 1] = H;
  double *I = it->dc_I;
  I[2 * (np - 1)] = I[2 * (np - 1) + 1] = 0.0;
  /* polynomial integrands between knots need no halves' test */
  const int poly = dc_poly(schedopt_schedule_get(it->sched, SCHEDOPT_LR), 0) &&
                   dc_poly(schedopt_schedule_get(it->sched, SCHEDOPT_BATCH), 1);
  for (size_t j = np - 1; j-- > 0;) {
    const double a = it->dc_pb[j], b = it->dc_pb[j + 1], m = 0.5 * (a + b);
    double I8[2] = {0, 0}, Ih[2] = {0, 0};
    dc_int(it, a, b, I8);
    I[2 * j] = I[2 * (j + 1)] + I8[0];
    I[2 * j + 1] = I[2 * (j + 1) + 1] + I8[1];
    it->dc_off_j[j] = 0;
    if (poly) continue;
    dc_int(it, a, m, Ih);
    dc_int(it, m, b, Ih);
    /* the rule is off by ~1e-4 at a singular end, by rounding elsewhere */
    if (fabs(Ih[0] - I8[0]) <= 1e-12 * fabs(Ih[0]) && fabs(Ih[1] - I8[1]) <= 1e-12 * fabs(Ih[1]))
      continue;
    I[2 * j] -= I8[0];
    I[2 * j + 1] -= I8[1];
    if (dc_cells(it, j, I + 2 * j)) return -1;
  }
  schedopt_uval u;
  double c[2];
  schedopt_schedule_eval(it->sched, 0.0, &u);
  it->mt->decay(it->self, &u, it->dc_rho, c);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const double rho = it->dc_rho[i];
    if (l[i] == 0.0 || !(fabs(rho * (I[0] + rho * I[1])) > DC_MIN_EXPONENT)) continue;
    int grows = 0;
    for (size_t j = 0; j < np && !grows; j++) grows = rho * (I[2 * j] + rho * I[2 * j + 1]) > 1.0;
    if (grows) continue;
    it->dc_i[m] = i;
    it->dc_l0[m++] = l[i];
    l[i] = 0.0;
  }
  it->dc_n = m;
  it->dc_t = NAN;
  return 0;
}

/* λ' = −s (Dᵀ + V Uᵀ) λ − w ∂L/∂y  (s = clock factor; segment controls): the
 * rank sums z = Uᵀλ, then one pass; the Jacobian is formed again only where
 * the controls changed (see blr_fill). */
static void adj_rhs_core(schedopt_integrator *it, const schedopt_uval *up, const double *restrict l,
                         double *restrict o) {
  const schedopt_uval u = *up;
  const size_t n = it->n, bs = it->mt->block(it->self), r = it->mt->rank(it->self);
  const double s = time_factor(it, &u);
  if (it->mt->rhs_adj) {
    it->mt->rhs_adj(it->self, &u, s, l, o);
    const double w = seg_weight(it);
    if (w != 0.0)
      for (size_t i = 0; i < n; i++) o[i] -= w * it->gl[i];
    return;
  }
  if (!same_key(it->wkey, it->wkey_ok, &u, s)) it->mt->jac(it->self, &u, it->Dw, it->Uw, it->Vw);
  it->wkey_ok = 1;
  const double *restrict gl = it->gl;
  double z[8];
  for (size_t j = 0; j < r; j++) z[j] = dot8(it->Uw + j * n, l, n);
  const double w = seg_weight(it);
  const double *restrict Dw = it->Dw, *restrict Vw = it->Vw;
  if (bs == 1 && r == 1) {
    for (size_t i = 0; i < n; i++) o[i] = -s * (Dw[i] * l[i] + Vw[i] * z[0]) - w * gl[i];
    return;
  }
  if (bs == 1) {
    for (size_t i = 0; i < n; i++) o[i] = Dw[i] * l[i];
  } else {
    for (size_t k = 0; k < n / 3; k++) {
      const double *D = Dw + 9 * k, *lk = l + 3 * k;
      double *ok = o + 3 * k;
      ok[0] = D[0] * lk[0] + D[3] * lk[1] + D[6] * lk[2];
      ok[1] = D[1] * lk[0] + D[4] * lk[1] + D[7] * lk[2];
      ok[2] = D[2] * lk[0] + D[5] * lk[1] + D[8] * lk[2];
    }
  }
  for (size_t j = 0; j < r; j++) {
    const double *Vj = Vw + j * n;
    for (size_t i = 0; i < n; i++) o[i] += Vj[i] * z[j];
  }
  for (size_t i = 0; i < n; i++) o[i] = -s * o[i] - w * gl[i];
}

/* adj_rhs_core at t; with the decoupled part, r' = λ'(r + h) + s D h. */
static void adj_rhs(schedopt_integrator *it, double t, const double *restrict l,
                    double *restrict o) {
  schedopt_uval u;
  seg_eval(it, t, &u);
  if (!it->dc_n) {
    adj_rhs_core(it, &u, l, o);
    return;
  }
  dc_phi(it, t);
  double *restrict w = it->dc_w;
  memcpy(w, l, it->n * sizeof *w);
  for (size_t k = 0; k < it->dc_n; k++) w[it->dc_i[k]] += it->dc_h[k];
  adj_rhs_core(it, &u, w, o);
  double c[2];
  it->mt->decay(it->self, &u, NULL, c);
  const double s = time_factor(it, &u);
  for (size_t k = 0; k < it->dc_n; k++) {
    const double rho = it->dc_rho[it->dc_i[k]];
    o[it->dc_i[k]] += s * rho * (c[0] + rho * c[1]) * it->dc_h[k];
  }
}

static int cv_rhsB(realtype t, N_Vector y, N_Vector yB, N_Vector yBdot, void *user) {
  (void)y; /* the adjoint of a linear model does not depend on y */
  adj_rhs(user, t, N_VGetArrayPointer(yB), N_VGetArrayPointer(yBdot));
  return 0;
}

static int cv_rhsL(realtype t, N_Vector l, N_Vector ldot, void *user) {
  adj_rhs(user, t, N_VGetArrayPointer(l), N_VGetArrayPointer(ldot));
  return 0;
}

/* out[ch] = λᵀ ∂f_clock/∂u_ch at controls u. */
static void clock_vjp_u(schedopt_integrator *it, const schedopt_uval *u, const double *yd,
                        const double *l, double out[3]) {
  it->mt->vjp_u(it->self, u, yd, l, out);
  const double s = time_factor(it, u);
  if (s != 1.0) { /* f_clock = s f with s = 1/(B·units): ∂s/∂B = −s/B */
    it->mt->rhs(it->self, u, yd, it->fw);
    double lf = 0.0;
    for (size_t i = 0; i < it->n; i++) lf += l[i] * it->fw[i];
    for (int c = 0; c < 3; c++) out[c] *= s;
    out[1] -= s / u->batch * lf;
  }
}

/* Difference step for ∂²/∂u² in a channel at value v.  λᵀ ∂f/∂u is linear in
 * the learning rate (f is quadratic in it), so a one-sided difference is exact
 * there; for batch and momentum it is first-order accurate, enough for a
 * preconditioner. */
static double curv_delta(double v) { return 1e-3 * fmax(fabs(v), 1e-2); }

static double *uval_slot(schedopt_uval *u, int c) {
  return c == SCHEDOPT_LR ? &u->lr : c == SCHEDOPT_BATCH ? &u->batch : &u->momentum;
}

/* dJ/dθ = ∫ λᵀ ∂f/∂θ dt = Σ_ch ∫ (λᵀ ∂f/∂u_ch) ∂u_ch/∂θ dt over [a, b], a piece
 * inside one backward step and between two control knots, where λ (the step's
 * interpolant), y (the check-pointed forward interpolant) and u are smooth:
 * 3-point Gauss–Legendre (exact to degree 5).  Integrating piece by piece
 * resolves every knot's basis function, however narrow against the steps
 * (a quadrature carried by CVODES only samples where it steps, and missed
 * knots one step wide entirely).  With the curvature diagonal also
 * ∫ (λᵀ ∂²f/∂u_ch²)(∂u_ch/∂θ_i)² dt by the midpoint rule (a preconditioner). */
/* out = λᵀ ∂(s f)/∂u from o = λᵀ ∂f/∂u and lf = λᵀ f at controls u, s the
 * clock factor (see clock_vjp_u). */
static void clock_comb(const schedopt_uval *u, double s, const double o[3], double lf,
                       double out[3]) {
  for (int c = 0; c < 3; c++) out[c] = s * o[c];
  if (s != 1.0) out[1] -= s / u->batch * lf;
}

/* A node's data for λᵀ ∂f/∂u: formed vectors (l, y), or node g of the
 * Hermite combinations of grad_piece_st (the model's vjp_u_comb). */
typedef struct node_data {
  const double *l, *y;
  const double *const (*Yc)[4];
  const double (*cy)[4];
  const double *const *Lc;
  const double (*cl)[4];
  size_t g;
} node_data;

static void node_vjp(schedopt_integrator *it, const schedopt_uval *u, const node_data *nd,
                     double out[3]) {
  if (nd->l) {
    clock_vjp_u(it, u, nd->y, nd->l, out);
    return;
  }
  double o[1][3], lf = 0.0;
  const double s = time_factor(it, u);
  it->mt->vjp_u_comb(it->self, 1, u, nd->Yc + nd->g, nd->cy + nd->g, nd->Lc, nd->cl + nd->g, o,
                     s != 1.0 ? &lf : NULL);
  clock_comb(u, s, o[0], lf, out);
}

/* Node t's share of the gradient, weight w, given out = λᵀ ∂f/∂u there, and
 * of the curvature diagonal with weight wc (none if 0). */
static void grad_accum(schedopt_integrator *it, double t, double w, double wc,
                       const schedopt_uval *u, const double out[3], const node_data *nd) {
  const double H = schedopt_schedule_horizon(it->sched);
  const int curv = it->want_h && wc != 0.0;
  double huu[3] = {0, 0, 0};
  for (int c = 0; c < SCHEDOPT_NCHANNELS; c++) {
    if (!it->np[c]) continue;
    if (curv) {
      schedopt_uval up = *u;
      const double h = curv_delta(*uval_slot(&up, c));
      double op[3];
      *uval_slot(&up, c) += h;
      node_vjp(it, &up, nd, op);
      huu[c] = (op[c] - out[c]) / h;
    }
    const schedopt_control *ctl = schedopt_schedule_get(it->sched, (schedopt_channel)c);
    schedopt_control_eval(ctl, H, t, it->dp);
    double *gc = it->gacc + it->off[c], *hc = it->gacc + it->P + it->off[c];
    const double wo = w * out[c], wh = wc * huu[c];
    for (size_t i = 0; i < it->np[c]; i++) {
      const double d = it->dp[i];
      if (d == 0.0) continue;
      gc[i] += wo * d;
      if (curv) hc[i] += wh * d * d;
    }
  }
}

/* One node with λ and y formed. */
static void grad_node(schedopt_integrator *it, double t, double w, double wc, const double *l,
                      const double *y) {
  const node_data nd = {l, y, NULL, NULL, NULL, NULL, 0};
  schedopt_uval u;
  double out[3];
  seg_eval(it, t, &u);
  node_vjp(it, &u, &nd, out);
  grad_accum(it, t, w, wc, &u, out, &nd);
}

static const double gl3_x[3] = {-0.7745966692414834, 0.0, 0.7745966692414834};
static const double gl3_w[3] = {5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0};

/* The check-pointed adjoint's piece: λ from the backward step's interpolant,
 * y from CVODES's Hermite store. */
static int grad_piece(schedopt_integrator *it, double a, double b) {
  const double m = 0.5 * (a + b), r = 0.5 * (b - a);
  const double *l = N_VGetArrayPointer(it->lt), *yd = N_VGetArrayPointer(it->yt);
  for (int g = 0; g < 3; g++) {
    const double t = m + r * gl3_x[g];
    if (CVodeGetDky(it->cvB, t, 0, it->lt) != CV_SUCCESS) return -1;
    if (CVodeGetAdjY(it->cv, t, it->yt) != CV_SUCCESS) return -1;
    grad_node(it, t, r * gl3_w[g], g == 1 ? 2.0 * r : 0.0, l, yd); /* curvature: midpoint */
  }
  return 0;
}

typedef int (*piece_fn)(schedopt_integrator *it, double a, double b);

/* The last knot of the run before t (−∞ if none). */
static double knot_before(const schedopt_integrator *it, double t) {
  size_t lo = 0, hi = it->ntk; /* first knot ≥ t */
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (it->tk[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo ? it->tk[lo - 1] : -INFINITY;
}

/* The pieces of [a, b] between the run's knots. */
static int grad_span(schedopt_integrator *it, double a, double b, piece_fn piece) {
  if (!(b > a)) return 0;
  /* first knot > a */
  size_t lo = 0, hi = it->ntk;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (it->tk[mid] <= a) lo = mid + 1; else hi = mid;
  }
  double s = a;
  for (size_t j = lo; j < it->ntk && it->tk[j] < b; j++) {
    if (it->tk[j] > s && piece(it, s, it->tk[j])) return -1;
    s = it->tk[j];
  }
  return piece(it, s, b);
}

static int blr_fillB(double t, int have, double *D, double *U, double *V, void *user) {
  /* A_B = −s (blockdiag(Dᵀ) + V Uᵀ): transpose blocks, swap U and V */
  schedopt_integrator *it = user;
  schedopt_uval u;
  seg_eval(it, t, &u);
  const size_t n = it->n, bs = it->mt->block(it->self), r = it->mt->rank(it->self);
  const double s = -time_factor(it, &u);
  if (same_key(it->fkeyB, have, &u, s)) return 1;
  it->mt->jac(it->self, &u, D, V, U); /* U_B ∝ V, V_B = U */
  if (bs == 1) {
    for (size_t i = 0; i < n; i++) D[i] *= s;
  } else {
    for (size_t k = 0; k < n / 3; k++) {
      double *Dk = D + 9 * k, tmp;
      tmp = Dk[1]; Dk[1] = Dk[3]; Dk[3] = tmp;
      tmp = Dk[2]; Dk[2] = Dk[6]; Dk[6] = tmp;
      tmp = Dk[5]; Dk[5] = Dk[7]; Dk[7] = tmp;
      for (int i = 0; i < 9; i++) Dk[i] *= s;
    }
  }
  for (size_t i = 0; i < n * r; i++) U[i] *= s;
  return 0;
}

static void st_teardown(schedopt_integrator *it);

static void adj_free(schedopt_integrator *it) {
  if (it->LSB) SUNLinSolFree(it->LSB);
  if (it->NLSB) SUNNonlinSolFree(it->NLSB);
  if (it->yB) N_VDestroy(it->yB);
  if (it->lt) N_VDestroy(it->lt);
  if (it->yt) N_VDestroy(it->yt);
  free(it->Dw);
  free(it->Uw);
  free(it->Vw);
  free(it->fw);
  free(it->gl);
  free(it->dp);
  free(it->gacc);
  free(it->tk);
  it->LSB = NULL;
  it->NLSB = NULL;
  it->yB = it->lt = it->yt = NULL;
  it->Dw = it->Uw = it->Vw = it->fw = it->gl = it->dp = it->gacc = it->tk = NULL;
  st_teardown(it);
  free(it->dc_pb);
  free(it->dc_off_j);
  free(it->dc_cell);
  it->dc_off_j = it->dc_ncell = NULL;
  it->dc_cell = NULL;
  it->dc_nc = it->dc_ccap = 0;
  it->dc_v[0] = it->dc_v[1] = NULL;
  it->dc_i = NULL;
  it->dc_rho = it->dc_l0 = it->dc_h = it->dc_w = it->dc_pb = it->dc_I = NULL;
  it->dc_n = it->dc_np = it->dc_cap = 0;
  free(it->sp);
  free(it->st);
  free(it->st_fp);
  it->st_fp = NULL;
  it->st_fp_n = it->st_fp_cap = 0;
  it->st_fp_ok = 0;
  it->cvL = NULL;
  it->LSL = NULL;
  it->NLSL = NULL;
  it->lv = NULL;
  it->lnode = it->ldA = it->ldB = it->lB = it->sp = NULL;
  it->st = NULL;
  it->sp_n = it->sp_cap = it->st_n = it->st_cap = 0;
  it->gacc_n = it->ntk = 0;
  it->b_ready = 0;
  it->P = 0;
}

/* Parameter layout of the schedule's three controls. */
static size_t param_layout(schedopt_integrator *it, size_t *maxp) {
  size_t P = 0;
  *maxp = 1;
  for (int c = 0; c < SCHEDOPT_NCHANNELS; c++) {
    it->np[c] = schedopt_control_nparams(schedopt_schedule_get(it->sched, (schedopt_channel)c));
    it->off[c] = P;
    P += it->np[c];
    if (it->np[c] > *maxp) *maxp = it->np[c];
  }
  return P;
}

/* The adjoint's workspace and the run's knots (every knot bounds the
 * gradient's quadrature pieces: it->tk). */
static schedopt_status adj_prepare(schedopt_integrator *it, const schedopt_objective *obj,
                                   knots *k, schedopt_error *err) {
  schedopt_status st;
  const size_t n = it->n, bs = it->mt->block(it->self), r = it->mt->rank(it->self);
  size_t maxp;
  size_t P = param_layout(it, &maxp);
  if (!it->mt->vjp_u || !it->mt->dloss)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "model '%s' provides no gradients",
                              it->mt->name);
  if (!it->Dw) {
    it->wkey_ok = 0;
    it->Dw = malloc(n * bs * sizeof(double));
    it->Uw = malloc(n * r * sizeof(double));
    it->Vw = malloc(n * r * sizeof(double));
    it->fw = malloc(n * sizeof(double));
    it->gl = malloc(n * sizeof(double));
  }
  free(it->dp);
  it->dp = malloc(maxp * sizeof(double));
  it->P = P;
  if (2 * P > it->gacc_n) {
    free(it->gacc);
    it->gacc = malloc(2 * P * sizeof(double));
    it->gacc_n = it->gacc ? 2 * P : 0;
  }
  if (!it->Dw || !it->Uw || !it->Vw || !it->fw || !it->gl || !it->dp || (P && !it->gacc))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for the adjoint (n = %zu)", n);
  it->mt->dloss(it->self, it->gl);
  if ((st = knots_build(it, obj, k, err)) != SCHEDOPT_OK) return st;
  free(it->tk);
  it->tk = malloc((k->n ? k->n : 1) * sizeof *it->tk);
  if (!it->tk) {
    knots_free(k);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu knots", k->n);
  }
  memcpy(it->tk, k->t, k->n * sizeof *it->tk);
  it->ntk = k->n;
  return SCHEDOPT_OK;
}

/* Keep the knots where λ or its right-hand side jumps. */
static void knots_hard(knots *k) {
  size_t h = 0;
  for (size_t i = 0; i < k->n; i++)
    if (k->flag[i] & (KNOT_JUMP | KNOT_HORIZON)) {
      k->t[h] = k->t[i];
      k->flag[h++] = k->flag[i];
    }
  k->n = h;
}

/* λ(H) into l: ∂L/∂y for the final loss, w ∂L/∂y for a horizon at H. */
static void adj_final(const schedopt_integrator *it, const schedopt_objective *obj, double H,
                      double *l) {
  memset(l, 0, it->n * sizeof *l);
  if (obj->kind == SCHEDOPT_OBJ_FINAL)
    memcpy(l, it->gl, it->n * sizeof *l);
  else if (obj->kind == SCHEDOPT_OBJ_HORIZONS && fabs(obj->h[obj->nh - 1] - H) <= 1e-12 * H)
    for (size_t i = 0; i < it->n; i++) l[i] = obj->w[obj->nh - 1] * it->gl[i];
}

/* λ jumps by w ∂L/∂y at a horizon lo (backwards). */
static void adj_jump(const schedopt_integrator *it, const schedopt_objective *obj, double lo,
                     double H, double *l) {
  for (size_t j = 0; j < obj->nh; j++)
    if (fabs(obj->h[j] - lo) <= 1e-12 * H)
      for (size_t i = 0; i < it->n; i++) l[i] += obj->w[j] * it->gl[i];
}

static void adj_out(const schedopt_integrator *it, double *grad[SCHEDOPT_NCHANNELS],
                    double *hdiag[SCHEDOPT_NCHANNELS]) {
  for (int c = 0; c < SCHEDOPT_NCHANNELS; c++) {
    if (grad[c])
      for (size_t i = 0; i < it->np[c]; i++) grad[c][i] = it->gacc[it->off[c] + i];
    if (it->want_h && hdiag && hdiag[c])
      for (size_t i = 0; i < it->np[c]; i++) hdiag[c][i] = it->gacc[it->P + it->off[c] + i];
  }
}

/* The check-pointed CVODES adjoint (CVodeF/CVodeB): memory bounded whatever
 * the number of steps; taken when the stored pass would exceed its bound. */
static schedopt_status cv_gradient_ckpt(schedopt_integrator *it, const schedopt_objective *obj,
                                        double *J, double *grad[SCHEDOPT_NCHANNELS],
                                        double *hdiag[SCHEDOPT_NCHANNELS], schedopt_error *err) {
  schedopt_status st = SCHEDOPT_OK;
  const double H = schedopt_schedule_horizon(it->sched);
  const size_t n = it->n, bs = it->mt->block(it->self), r = it->mt->rank(it->self);
  knots k;
  if ((st = adj_prepare(it, obj, &k, err)) != SCHEDOPT_OK) return st;
  /* The backward pass restarts only where λ or its right-hand side jumps
   * (control jumps, horizons, window ends); kinks are crossed under error
   * control, so segments are delimited by these hard knots only. */
  knots_hard(&k);
  /* ---- forward, recorded ---- */
  it->adj = 1;
  it->div_hit = 0;
  if ((st = cv_begin(it, 0, err)) != SCHEDOPT_OK) goto done;
  int f;
  if (!it->adj_init) {
    /* Steps between check-points: CVODES keeps Hermite data (2 n-vectors)
     * for one interval and recomputes the others during the backward pass;
     * ~2^23 doubles (64 MiB) bound that store, and typical runs (a few
     * hundred steps) fit one interval, so nothing is recomputed. */
    long nd = (long)((8u << 20) / (2 * n));
    nd = nd < 50 ? 50 : nd > 2000 ? 2000 : nd;
    if ((f = CVodeAdjInit(it->cv, nd, CV_HERMITE)) != CV_SUCCESS) {
      st = cv_fail(it, f, "CVodeAdjInit", 0.0, err);
      goto done;
    }
    it->adj_init = 1;
  } else if ((f = CVodeAdjReInit(it->cv)) != CV_SUCCESS) {
    st = cv_fail(it, f, "CVodeAdjReInit", 0.0, err);
    goto done;
  }
  const double *y = N_VGetArrayPointer(it->y);
  const double *q = N_VGetArrayPointer(it->q);
  const double limit = DIVERGE_FACTOR * it->scale;
  double Jh = 0.0;
  schedopt_readout rd;
  /* No stop times here: CVodeB recomputes forward pieces from check-points
   * without them, and the replay must take the same steps; the knots are
   * crossed under error control (left-continuous controls, see `adj`). */
  double outs[3], Jm = 0.0;
  const double *tout_list = outs;
  size_t nout = 0;
  if (obj->kind == SCHEDOPT_OBJ_HORIZONS) {
    tout_list = obj->h;
    nout = obj->nh;
  } else if (obj->kind == SCHEDOPT_OBJ_MEAN) {
    if (obj->t0 > 0.0) outs[nout++] = obj->t0;
    outs[nout++] = fmin(obj->t1, H);
  }
  for (size_t j = 0; j <= nout; j++) {
    const double tout = j < nout ? fmin(tout_list[j], H) : H;
    realtype tret;
    int nck;
    if (j == nout && nout && tout_list[nout - 1] >= H * (1 - 1e-12)) break; /* already at H */
    f = CVodeF(it->cv, tout, it->y, &tret, CV_NORMAL, &nck);
    if (f < 0) {
      /* no root finding here: cv_quad stops a diverging run (div_hit); else
       * y holds the last step, so say what happened */
      it->mt->readout(it->self, y, &rd);
      CVodeGetQuadDky(it->cv, tret, 0, it->q);
      if (it->div_hit)
        st = diverged(it, it->div_t, q[0], it->div_loss, err);
      else
        st = rd.loss <= limit ? cv_fail(it, f, "CVodeF", tret, err)
                              : diverged(it, tret, q[0], rd.loss, err);
      goto done;
    }
    CVodeGetQuadDky(it->cv, tout, 0, it->q); /* the last internal step may lie past tout */
    it->mt->readout(it->self, y, &rd);
    if (!(rd.loss <= limit)) {
      st = diverged(it, tout, q[0], rd.loss, err);
      goto done;
    }
    if (j < nout && obj->kind == SCHEDOPT_OBJ_HORIZONS) Jh += obj->w[j] * rd.loss;
    if (j < nout && obj->kind == SCHEDOPT_OBJ_MEAN)
      Jm += (j == nout - 1 ? 1.0 : -1.0) * q[2] / (obj->t1 - obj->t0); /* ∫_0^t1 − ∫_0^t0 */
  }
  it->mt->readout(it->self, y, &rd); /* at H */
  *J = obj->kind == SCHEDOPT_OBJ_FINAL ? rd.loss : obj->kind == SCHEDOPT_OBJ_MEAN ? Jm : Jh;
  cv_collect(it);

  /* ---- backward: λ by CVodeB one step at a time; the gradient by
   * quadrature over each step's pieces (grad_span) ---- */
  if (!it->b_ready) {
    it->yB = N_VNew_Serial((sunindextype)n, it->ctx);
    it->lt = N_VNew_Serial((sunindextype)n, it->ctx);
    it->yt = N_VNew_Serial((sunindextype)n, it->ctx);
    if (!it->yB || !it->lt || !it->yt || schedopt_nvector_use_fast_ops(it->yB, &it->nvq) ||
        schedopt_nvector_use_fast_ops(it->lt, &it->nvq) ||
        schedopt_nvector_use_fast_ops(it->yt, &it->nvq)) {
      N_Vector *v[3] = {&it->yB, &it->lt, &it->yt};
      for (int i = 0; i < 3; i++)
        if (*v[i]) N_VDestroy(*v[i]), *v[i] = NULL;
      st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for the adjoint");
      goto done;
    }
  }
  double *lB = N_VGetArrayPointer(it->yB);
  memset(it->gacc, 0, 2 * it->P * sizeof *it->gacc);
  adj_final(it, obj, H, lB);
  it->seg_lo = k.n ? k.t[k.n - 1] : 0.0;
  it->seg_hi = H;
  if (!it->b_ready) {
    if ((f = CVodeCreateB(it->cv, CV_BDF, &it->which)) != CV_SUCCESS ||
        (f = CVodeInitB(it->cv, it->which, cv_rhsB, H, it->yB)) != CV_SUCCESS ||
        (f = CVodeSetUserDataB(it->cv, it->which, it)) != CV_SUCCESS) {
      st = cv_fail(it, f, "CVodeInitB", H, err);
      goto done;
    }
    it->cvB = CVodeGetAdjCVodeBmem(it->cv, it->which);
    it->LSB = schedopt_blr_linsol_create(n, bs, r, blr_fillB, it, blr_state, it->cvB, it->ctx);
    if (!it->LSB || ls_diag(it, it->LSB) ||
        (f = CVodeSetLinearSolverB(it->cv, it->which, it->LSB, NULL)) != CV_SUCCESS) {
      st = schedopt_error_set(err, SCHEDOPT_ESOLVER, "cannot attach the backward linear solver");
      goto done;
    }
    it->NLSB = schedopt_nls_linear_create(it->yB, it->ctx); /* λ' is linear in λ too */
    if (!it->NLSB || CVodeSetNonlinearSolverB(it->cv, it->which, it->NLSB) != CV_SUCCESS) {
      st = schedopt_error_set(err, SCHEDOPT_ESOLVER, "cannot attach the backward Newton solver");
      goto done;
    }
    it->b_ready = 1;
  } else if ((f = CVodeReInitB(it->cv, it->which, H, it->yB)) != CV_SUCCESS) {
    st = cv_fail(it, f, "CVodeReInitB", H, err);
    goto done;
  }
  /* λ is O(1) (∂L/∂y has unit entries): absolute tolerance on that scale,
   * the weights in one pass (cv_ewtB; CVODES's scalar tolerances take five) */
  if ((f = CVodeWFtolerances(it->cvB, cv_ewtB)) != CV_SUCCESS) {
    st = cv_fail(it, f, "CVodeWFtolerances (backward)", H, err);
    goto done;
  }
  CVodeSetMaxNumStepsB(it->cv, it->which, it->max_steps);
  CVodeSetStabLimDetB(it->cv, it->which, bs > 1 ? SUNTRUE : SUNFALSE); /* see cv_begin */
  schedopt_blr_linsol_invalidate(it->LSB);
  for (size_t seg = k.n + 1; seg-- > 0;) {
    const double lo = seg ? k.t[seg - 1] : 0.0, hi = seg < k.n ? k.t[seg] : H;
    it->seg_lo = lo;
    it->seg_hi = hi;
    /* one backward step at a time (it may pass lo: the segment's controls
     * extend smoothly beyond it, and λ(lo) is interpolated) */
    double tprev = hi;
    long stuck = 0;
    while (tprev > lo) {
      realtype tB;
      if ((f = CVodeB(it->cv, lo, CV_ONE_STEP)) < 0) {
        st = cv_fail(it, f, "CVodeB", lo, err);
        goto done;
      }
      if ((f = CVodeGetCurrentTime(it->cvB, &tB)) != CV_SUCCESS) {
        st = cv_fail(it, f, "CVodeGetCurrentTime", lo, err);
        goto done;
      }
      if (!(tB < tprev)) { /* a call that only moved to another check-point interval */
        if (++stuck > 3) {
          /* the step CVODES asks for is below the clock's resolution there
           * (one ulp of 1e15 is 0.125): the tolerance asks for more than a
           * double can resolve at this horizon */
          st = schedopt_error_set(err, SCHEDOPT_ESOLVER,
                                  "CVODES backward pass stalled at clock %g: its steps there are "
                                  "below the resolution of a double at that time (%g); loosen "
                                  "solver.rtol (now %g; 1e-4 passes at a 1e15-step horizon) or "
                                  "shorten the horizon", tprev, nextafter(tprev, INFINITY) - tprev,
                                  it->rtol);
          goto done;
        }
        continue;
      }
      stuck = 0;
      if (grad_span(it, fmax((double)tB, lo), tprev, grad_piece)) {
        st = schedopt_error_set(err, SCHEDOPT_ESOLVER,
                                "CVODES interpolation failed in the gradient quadrature at "
                                "clock %g", tprev);
        goto done;
      }
      tprev = tB;
    }
    if ((f = CVodeGetDky(it->cvB, lo, 0, it->yB)) != CV_SUCCESS) {
      st = cv_fail(it, f, "CVodeGetDky", lo, err);
      goto done;
    }
    if (seg == 0) break;
    /* at the knot lo: λ jumps by w ∂L/∂y at a horizon; restart either way so
     * no backward step spans the knot */
    if (k.flag[seg - 1] & KNOT_HORIZON) adj_jump(it, obj, lo, H, lB);
    if ((f = CVodeReInitB(it->cv, it->which, lo, it->yB)) != CV_SUCCESS) {
      st = cv_fail(it, f, "CVodeReInitB", lo, err);
      goto done;
    }
    schedopt_blr_linsol_invalidate(it->LSB);
  }
  adj_out(it, grad, hdiag);
done:
  it->adj = 0;
  knots_free(&k);
  return st;
}

/* ---- the gradient by a stored forward pass -----------------------------------
 * The models are linear, f = A(u) y + c(u), and so is the adjoint
 *   λ' = −s A(u)ᵀ λ − w ∂L/∂y,
 * which does not depend on y.  So the forward pass is the objective's own (the
 * same steps: knots as stop times, root finding for divergence, J exactly the
 * objective's), storing y and ẏ at every step; λ is a plain CVODE run backwards
 * in time, whose right-hand side needs no forward interpolation (CVodeB
 * interpolates y at every one of its right-hand sides); and
 * dJ/dθ = ∫ λᵀ ∂f/∂u ∂u/∂θ dt is summed over every piece between λ's steps
 * and the knots by 3-point Gauss–Legendre, with y and λ at a node by cubic
 * Hermite interpolation on their steps (for y, as CVODES's adjoint does).
 * Memory: 2 n-vectors per forward step, bounded by store_limit; beyond it the
 * check-pointed adjoint above. */

#define STORE_LIMIT_DEFAULT ((size_t)256 << 20)

/* Room for one more point with `vecs` more n-vectors; nonzero past the bound
 * (or out of memory). */
static int st_reserve(schedopt_integrator *it, size_t vecs) {
  const size_t n = it->n;
  /* the pass so far plus this point: vectors and the per-point index */
  const size_t need = it->sp_n + vecs * n;
  const size_t per_point = sizeof *it->st;
  if (need > it->store_limit / sizeof(double) ||
      need * sizeof(double) + (it->st_n + 1) * per_point > it->store_limit)
    return 1;
  if (it->st_n == it->st_cap) {
    const size_t c = it->st_cap ? 2 * it->st_cap : 256;
    struct st_point *s = realloc(it->st, c * sizeof *s);
    if (!s) return -1;
    it->st = s;
    it->st_cap = c;
  }
  if (need > it->sp_cap) {
    size_t c = it->sp_cap ? 2 * it->sp_cap : 64 * n;
    while (c < need) c *= 2;
    const size_t lim = it->store_limit / sizeof(double);
    if (c > lim) c = lim;
    double *p = realloc(it->sp, c * sizeof *p);
    if (!p) return -1;
    it->sp = p;
    it->sp_cap = c;
  }
  return 0;
}

/* Store the point (t, y) with ẏ from the current segment's controls. */
static int st_add(schedopt_integrator *it, double t, const double *y) {
  if (st_reserve(it, 2)) return 1;
  const size_t n = it->n, i = it->st_n++, oy = it->sp_n, od = oy + n;
  it->sp_n += 2 * n;
  memcpy(it->sp + oy, y, n * sizeof *y);
  schedopt_uval u;
  seg_eval(it, t, &u);
  rhs_at(it, &u, y, it->sp + od);
  it->st[i] = (struct st_point){t, oy, od, od};
  return 0;
}

/* At a jump: the last point's ẏ(t⁺) from the segment that starts there. */
static int st_right(schedopt_integrator *it) {
  if (st_reserve(it, 1)) return 1;
  const size_t i = it->st_n - 1, od = it->sp_n;
  it->sp_n += it->n;
  schedopt_uval u;
  seg_eval(it, it->st[i].t, &u);
  rhs_at(it, &u, it->sp + it->st[i].y, it->sp + od);
  it->st[i].dr = od;
  return 0;
}

/* The objective's forward pass (cv_run's steps, one at a time), storing every
 * step.  *over: the store passed its bound (nothing else done). */
static schedopt_status st_forward(schedopt_integrator *it, const schedopt_objective *obj,
                                  const knots *k, double *J, int *over, schedopt_error *err) {
  schedopt_status st = SCHEDOPT_OK;
  const double H = schedopt_schedule_horizon(it->sched);
  it->adj = 0;
  it->seg_lo = 0.0;
  it->seg_hi = k->n ? k->t[0] : H;
  if ((st = cv_begin(it, 1, err)) != SCHEDOPT_OK) return st;
  const double *y = N_VGetArrayPointer(it->y), *q = N_VGetArrayPointer(it->q);
  it->st_n = it->sp_n = 0;
  *over = 0;
  if (st_add(it, 0.0, y)) goto full;
  const size_t nh = obj->kind == SCHEDOPT_OBJ_HORIZONS ? obj->nh : 0;
  const double eps = 1e-12 * H; /* a horizon within it of a knot is that knot (knots_build) */
  size_t ih = 0;
  double tcur = 0.0, Jh = 0.0;
  schedopt_readout rd;
  realtype tq;
  for (size_t seg = 0; seg <= k->n; seg++) {
    const double lo = seg ? k->t[seg - 1] : 0.0, hi = seg < k->n ? k->t[seg] : H;
    it->seg_lo = lo;
    it->seg_hi = hi;
    if (seg && (k->flag[seg - 1] & KNOT_JUMP)) {
      /* the quadratures (steps, samples, ∫ w L) restart from their values */
      CVodeGetQuad(it->cv, &tq, it->q);
      if ((st = cv_restart(it, lo, err)) != SCHEDOPT_OK) return st;
      if (st_right(it)) goto full;
    }
    if (hi > tcur) CVodeSetStopTime(it->cv, hi);
    long steps = 0; /* CVODES counts max_steps per call, which is one step here */
    while (tcur < hi) {
      realtype tret;
      int f = ++steps > it->max_steps ? CV_TOO_MUCH_WORK
                                       : CVode(it->cv, hi, it->y, &tret, CV_ONE_STEP);
      if (f == CV_TOO_MUCH_WORK && steps > it->max_steps) tret = tcur;
      if (f == CV_ROOT_RETURN) {
        CVodeGetQuad(it->cv, &tq, it->q);
        it->mt->readout(it->self, y, &rd);
        return diverged(it, tret, q[0], rd.loss, err);
      }
      if (f < 0) return cv_fail(it, f, "CVode", tret, err);
      tcur = (f == CV_TSTOP_RETURN) ? hi : tret;
      if (st_add(it, tcur, y)) goto full;
      for (; ih < nh && obj->h[ih] <= tcur + eps; ih++) { /* as cv_run's rows */
        it->mt->readout(it->self, y, &rd);
        Jh += obj->w[ih] * rd.loss;
      }
    }
  }
  it->mt->readout(it->self, y, &rd); /* at H */
  for (; ih < nh; ih++) Jh += obj->w[ih] * rd.loss;
  CVodeGetQuad(it->cv, &tq, it->q);
  *J = obj->kind == SCHEDOPT_OBJ_FINAL ? rd.loss : obj->kind == SCHEDOPT_OBJ_MEAN ? q[2] : Jh;
  cv_collect(it);
  return SCHEDOPT_OK;
full:
  *over = 1;
  return SCHEDOPT_OK;
}

/* Cubic Hermite weights at t on [t0, t0 + h]: p = c0 p0 + c1 ṗ0 + c2 p1 + c3 ṗ1. */
static void hermite(double t0, double h, double t, double c[4]) {
  const double s = (t - t0) / h, u = 1.0 - s;
  c[0] = (1.0 + 2.0 * s) * u * u;
  c[1] = h * s * u * u;
  c[2] = s * s * (3.0 - 2.0 * s);
  c[3] = -h * s * s * u;
}

/* The stored step [t_{i−1}, t_i] that holds t (nodes come in decreasing t). */
static size_t st_find(schedopt_integrator *it, double t) {
  size_t i = it->st_cur;
  while (i > 1 && it->st[i - 1].t > t) i--;
  while (i + 1 < it->st_n && it->st[i].t < t) i++;
  return it->st_cur = i;
}

/* y(t) on the stored step [t_{i−1}, t_i]: Σ c_j Y_j with Y = (y_{i−1},
 * ẏ(t_{i−1}⁺), y_i, ẏ(t_i⁻)). */
static void st_hermite(const schedopt_integrator *it, size_t i, double t, double c[4],
                       const double *Y[4]) {
  const struct st_point *a = &it->st[i - 1], *b = &it->st[i];
  hermite(a->t, b->t - a->t, t, c);
  Y[0] = it->sp + a->y;
  Y[1] = it->sp + a->dr;
  Y[2] = it->sp + b->y;
  Y[3] = it->sp + b->dl;
}

/* A piece inside the backward step [lh0, lh1]: λ by Hermite on that step
 * (λ(lh0) = lv, λ(lh1) = lB, slopes ldA, ldB), y by Hermite on the stored
 * forward step of each node; 2-point Gauss–Legendre (exact to degree 3: the
 * gradient's error is the solves' — 3 points changed no digit the
 * tolerances resolve), the curvature with the same nodes. */
static int grad_piece_st(schedopt_integrator *it, double a, double b) {
  static const double gx[2] = {-0.5773502691896257, 0.5773502691896257};
  const size_t n = it->n;
  const double m = 0.5 * (a + b), r = 0.5 * (b - a);
  const double *Lc[4] = {N_VGetArrayPointer(it->lv), it->ldA, it->lB, it->ldB};
  const double *Yc[2][4];
  double tg[2], cy[2][4], cl[2][4];
  schedopt_uval u[2];
  for (int g = 0; g < 2; g++) {
    const double t = tg[g] = m + r * gx[g];
    st_hermite(it, st_find(it, t), t, cy[g], Yc[g]);
    seg_eval(it, t, &u[g]);
    if (!it->dc_n) {
      hermite(it->lh0, it->lh1 - it->lh0, t, cl[g]);
      continue;
    }
    /* λ = r + h, r from the step's own interpolant (dc_prepare) */
    if (CVodeGetDky(it->cvL, t, 0, it->dc_v[g]) != CV_SUCCESS) return -1;
    double *v = N_VGetArrayPointer(it->dc_v[g]);
    dc_phi(it, t);
    for (size_t k = 0; k < it->dc_n; k++) v[it->dc_i[k]] += it->dc_h[k];
    Lc[g] = Lc[g + 2] = v;
    for (int j = 0; j < 4; j++) cl[g][j] = j == g;
  }
  if (it->mt->vjp_u_comb) {
    double o[2][3], lf[2] = {0, 0};
    const int clocked = it->clock != SCHEDOPT_CLOCK_STEPS;
    it->mt->vjp_u_comb(it->self, 2, u, (const double *const(*)[4])Yc, (const double(*)[4])cy,
                       Lc, (const double(*)[4])cl, o, clocked ? lf : NULL);
    for (int g = 0; g < 2; g++) {
      const node_data nd = {NULL, NULL, (const double *const(*)[4])Yc, (const double(*)[4])cy,
                            Lc, (const double(*)[4])cl, (size_t)g};
      double out[3];
      clock_comb(&u[g], time_factor(it, &u[g]), o[g], lf[g], out);
      grad_accum(it, tg[g], r, r, &u[g], out, &nd);
    }
    return 0;
  }
  double *restrict yg = it->lnode + 3 * n, *restrict lg = it->lnode + 4 * n;
  for (int g = 0; g < 2; g++) {
    for (size_t j = 0; j < n; j++) {
      yg[j] = (cy[g][0] * Yc[g][0][j] + cy[g][1] * Yc[g][1][j]) +
              (cy[g][2] * Yc[g][2][j] + cy[g][3] * Yc[g][3][j]);
      lg[j] = (cl[g][0] * Lc[0][j] + cl[g][1] * Lc[1][j]) + (cl[g][2] * Lc[2][j] + cl[g][3] * Lc[3][j]);
    }
    grad_node(it, tg[g], r, r, lg, yg);
  }
  return 0;
}

/* λ's error weights: like the check-pointed backward pass's (cv_ewtB). */
static int cv_ewtL(N_Vector l, N_Vector w, void *user) {
  const schedopt_integrator *it = user;
  return schedopt_nvector_ewt(l, w, it->rtol, it->rtol * 1e-3);
}

static schedopt_status st_setup_(schedopt_integrator *it, double H, schedopt_error *err) {
  const size_t n = it->n, bs = it->mt->block(it->self), r = it->mt->rank(it->self);
  int f;
  it->lv = N_VNew_Serial((sunindextype)n, it->ctx);
  it->lnode = malloc(7 * n * sizeof *it->lnode);
  it->dc_i = malloc(n * sizeof *it->dc_i);
  it->dc_rho = malloc(5 * n * sizeof *it->dc_rho);
  if (it->lnode) {
    it->ldA = it->lnode;
    it->ldB = it->lnode + n;
    it->lB = it->lnode + 2 * n;
  }
  if (it->dc_rho) {
    it->dc_l0 = it->dc_rho + n;
    it->dc_h = it->dc_rho + 2 * n;
    it->dc_w = it->dc_rho + 3 * n;
  }
  if (it->lnode)
    for (int g = 0; g < 2; g++)
      if ((it->dc_v[g] = N_VMake_Serial((sunindextype)n, it->lnode + (5 + g) * n, it->ctx)) &&
          schedopt_nvector_use_fast_ops(it->dc_v[g], &it->nvq)) {
        N_VDestroy(it->dc_v[g]);
        it->dc_v[g] = NULL;
      }
  if (it->lv && schedopt_nvector_use_fast_ops(it->lv, &it->nvq)) {
    N_VDestroy(it->lv);
    it->lv = NULL;
  }
  it->cvL = CVodeCreate(CV_BDF, it->ctx);
  if (!it->lv || !it->lnode || !it->cvL || !it->dc_i || !it->dc_rho || !it->dc_v[0] || !it->dc_v[1])
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for the adjoint");
  N_VConst(0.0, it->lv);
  CVodeSetErrHandlerFn(it->cvL, cv_errh, it);
  if ((f = CVodeInit(it->cvL, cv_rhsL, H, it->lv)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeInit (adjoint)", H, err);
  CVodeSetUserData(it->cvL, it);
  it->LSL = schedopt_blr_linsol_create(n, bs, r, blr_fillB, it, blr_state, it->cvL, it->ctx);
  if (!it->LSL || ls_diag(it, it->LSL) || (f = CVodeSetLinearSolver(it->cvL, it->LSL, NULL)) != CV_SUCCESS)
    return schedopt_error_set(err, SCHEDOPT_ESOLVER, "cannot attach the adjoint's linear solver");
  it->NLSL = schedopt_nls_linear_create(it->lv, it->ctx); /* λ' is linear in λ */
  if (!it->NLSL || CVodeSetNonlinearSolver(it->cvL, it->NLSL) != CV_SUCCESS)
    return schedopt_error_set(err, SCHEDOPT_ESOLVER, "cannot attach the adjoint's Newton solver");
  if ((f = CVodeWFtolerances(it->cvL, cv_ewtL)) != CV_SUCCESS)
    return cv_fail(it, f, "CVodeWFtolerances (adjoint)", H, err);
  CVodeSetMaxHnilWarns(it->cvL, -1);
  return SCHEDOPT_OK;
}

/* What st_setup_ makes (also half made); the vectors before the array
 * that two of them wrap. */
static void st_teardown(schedopt_integrator *it) {
  if (it->cvL) CVodeFree(&it->cvL);
  if (it->LSL) SUNLinSolFree(it->LSL);
  if (it->NLSL) SUNNonlinSolFree(it->NLSL);
  if (it->lv) N_VDestroy(it->lv);
  for (int g = 0; g < 2; g++)
    if (it->dc_v[g]) N_VDestroy(it->dc_v[g]);
  free(it->lnode);
  free(it->dc_i);
  free(it->dc_rho);
  it->LSL = NULL;
  it->NLSL = NULL;
  it->lv = it->dc_v[0] = it->dc_v[1] = NULL;
  it->lnode = it->ldA = it->ldB = it->lB = NULL;
  it->dc_i = NULL;
  it->dc_rho = it->dc_l0 = it->dc_h = it->dc_w = NULL;
}

/* A failed set-up leaves nothing behind (the pass tests cvL to set up). */
static schedopt_status st_setup(schedopt_integrator *it, double H, schedopt_error *err) {
  schedopt_status st = st_setup_(it, H, err);
  if (st != SCHEDOPT_OK) st_teardown(it);
  return st;
}

/* λ from H back to 0, segment by segment between the hard knots (λ or its
 * right-hand side jumps there), the gradient over each step's pieces. */
static schedopt_status st_backward_pass(schedopt_integrator *it, const schedopt_objective *obj,
                                        const knots *k, schedopt_error *err) {
  schedopt_status st;
  const double H = schedopt_schedule_horizon(it->sched);
  const size_t n = it->n;
  int f;
  if (!it->cvL && (st = st_setup(it, H, err)) != SCHEDOPT_OK) return st;
  CVodeSetMaxNumSteps(it->cvL, it->max_steps);
  CVodeSetStabLimDet(it->cvL, it->mt->block(it->self) > 1 ? SUNTRUE : SUNFALSE); /* cv_begin */
  /* no step below the clock's resolution: r(H) = 0 with the decoupled part
   * gives CVODES's first-step estimate nothing to scale by but rtol·10⁻³ */
  CVodeSetMinStep(it->cvL, 4.0 * (nextafter(H, INFINITY) - H));
  double *lv = N_VGetArrayPointer(it->lv);
  memset(it->gacc, 0, 2 * it->P * sizeof *it->gacc);
  adj_final(it, obj, H, lv);
  if (dc_prepare(it, H, lv))
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for %zu knots", it->ntk);
  if (it->dc_n) it->stats.decoupled_gradients++;
  it->st_cur = it->st_n - 1;
  for (size_t seg = k->n + 1; seg-- > 0;) {
    const double lo = seg ? k->t[seg - 1] : 0.0, hi = seg < k->n ? k->t[seg] : H;
    it->seg_lo = lo;
    it->seg_hi = hi;
    if ((f = CVodeReInit(it->cvL, hi, it->lv)) != CV_SUCCESS)
      return cv_fail(it, f, "CVodeReInit (adjoint)", hi, err);
    CVodeSetStopTime(it->cvL, lo);
    schedopt_blr_linsol_invalidate(it->LSL);
    double tprev = hi;
    if (!it->dc_n) { /* Hermite data of λ on the steps (none with the decoupled part) */
      memcpy(it->lB, lv, n * sizeof *lv);
      adj_rhs(it, hi, it->lB, it->ldB);
    }
    long steps = 0; /* max_steps per segment, as forward */
    double stop = lo, Ip[2] = {0, 0};
    if (it->dc_n) dc_Iat(it, hi, Ip);
    while (tprev > lo) {
      realtype tB;
      /* Where the learning rate is 0 nothing moves (λ' = 0): a step from
       * there would see λ' = 0 at both ends and cross a stretch where it
       * moves unseen, so it ends at the next knot (the forward pass stops at
       * every knot). */
      schedopt_uval u;
      seg_eval(it, tprev, &u);
      const double want = u.lr == 0.0 ? fmax(knot_before(it, tprev), lo) : lo;
      if (want != stop) CVodeSetStopTime(it->cvL, stop = want);
      f = ++steps > it->max_steps ? CV_TOO_MUCH_WORK : CVode(it->cvL, lo, it->lv, &tB, CV_ONE_STEP);
      if (f < 0) return cv_fail(it, f, "CVode (adjoint)", tprev, err);
      if (f == CV_TSTOP_RETURN) tB = stop;
      if (!(tB < tprev))
        return schedopt_error_set(err, SCHEDOPT_ESOLVER,
                                  "CVODES adjoint pass stalled at clock %g: its steps there are "
                                  "below the resolution of a double at that time (%g); loosen "
                                  "solver.rtol (now %g) or shorten the horizon",
                                  tprev, nextafter(tprev, INFINITY) - tprev, it->rtol);
      if (!it->dc_n) adj_rhs(it, tB, lv, it->ldA);
      it->lh0 = tB;
      it->lh1 = tprev;
      const double a0 = fmax((double)tB, lo);
      const int nsub = it->dc_n ? dc_subpieces(it, a0, Ip) : 1;
      for (int q = 0; q < nsub; q++)
        if (grad_span(it, q ? a0 + (tprev - a0) * q / nsub : a0,
                      q + 1 < nsub ? a0 + (tprev - a0) * (q + 1) / nsub : tprev, grad_piece_st))
          return cv_fail(it, CV_BAD_T, "CVodeGetDky (adjoint)", tB, err);
      if (!it->dc_n) { /* the step's start is the next one's end */
        memcpy(it->lB, lv, n * sizeof *lv);
        double *tmp = it->ldA;
        it->ldA = it->ldB;
        it->ldB = tmp;
      }
      tprev = tB;
    }
    long ns;
    if (CVodeGetNumSteps(it->cvL, &ns) == CV_SUCCESS) it->stats.adjoint_steps += ns;
    if (seg == 0) break;
    if (k->flag[seg - 1] & KNOT_HORIZON) adj_jump(it, obj, lo, H, lv);
  }
  return SCHEDOPT_OK;
}

static schedopt_status st_backward(schedopt_integrator *it, const schedopt_objective *obj,
                                   const knots *k, schedopt_error *err) {
  const schedopt_status st = st_backward_pass(it, obj, k, err);
  it->dc_n = 0; /* the check-pointed adjoint shares adj_rhs */
  return st;
}

/* The schedule's content, byte for byte: clock, horizon, units, the
 * tolerances and every channel's control (type, parameters, warmup, table).  Equal content, equal
 * pass: the model Hessian at the schedule of the last gradient reads the
 * stored pass instead of solving again (hm_st_pass). */
static int fp_put(schedopt_integrator *it, const void *p, size_t bytes) {
  if (it->st_fp_n + bytes > it->st_fp_cap) {
    size_t c = it->st_fp_cap ? 2 * it->st_fp_cap : 1024;
    while (c < it->st_fp_n + bytes) c *= 2;
    unsigned char *b = realloc(it->st_fp, c);
    if (!b) return -1;
    it->st_fp = b;
    it->st_fp_cap = c;
  }
  memcpy(it->st_fp + it->st_fp_n, p, bytes);
  it->st_fp_n += bytes;
  return 0;
}

static int fp_build(schedopt_integrator *it, const schedopt_schedule *s) {
  it->st_fp_n = 0;
  const int clock = (int)schedopt_schedule_clock(s);
  const double hu[4] = {schedopt_schedule_horizon(s), schedopt_schedule_units_per_sample(s),
                        it->rtol, it->atol}; /* and the tolerances the pass was solved to */
  int bad = fp_put(it, &clock, sizeof clock) || fp_put(it, hu, sizeof hu);
  for (int ch = 0; ch < SCHEDOPT_NCHANNELS && !bad; ch++) {
    const schedopt_control *c = schedopt_schedule_get(s, (schedopt_channel)ch);
    const size_t nv = c->v ? (c->type->needs_table == 2 ? c->n + 1 : c->n) : 0;
    bad = fp_put(it, &c->type, sizeof c->type) || fp_put(it, c->p, sizeof c->p) ||
          fp_put(it, &c->warmup, sizeof c->warmup) ||
          fp_put(it, &c->warmup_init, sizeof c->warmup_init) || fp_put(it, &c->n, sizeof c->n) ||
          (c->t && fp_put(it, c->t, c->n * sizeof *c->t)) ||
          (nv && fp_put(it, c->v, nv * sizeof *c->v));
  }
  return bad;
}

/* 1 if the stored pass is s's (same content as at st_mark). */
static int st_holds(schedopt_integrator *it, const schedopt_schedule *s) {
  if (!it->st_fp_ok) return 0;
  unsigned char *keep = it->st_fp;
  const size_t n = it->st_fp_n;
  it->st_fp = NULL; /* build s's content in a fresh buffer */
  it->st_fp_n = it->st_fp_cap = 0;
  const int same = !fp_build(it, s) && it->st_fp_n == n && !memcmp(it->st_fp, keep, n);
  free(it->st_fp);
  it->st_fp = keep;
  it->st_fp_n = it->st_fp_cap = n;
  return same;
}

static schedopt_status cv_gradient(schedopt_integrator *it, const schedopt_objective *obj,
                                   double *J, double *grad[SCHEDOPT_NCHANNELS],
                                   double *hdiag[SCHEDOPT_NCHANNELS], schedopt_error *err) {
  knots k;
  schedopt_status st = adj_prepare(it, obj, &k, err);
  if (st != SCHEDOPT_OK) return st;
  int over = 0;
  it->st_fp_ok = 0;
  st = st_forward(it, obj, &k, J, &over, err);
  if (st == SCHEDOPT_OK && !over) {
    it->st_fp_ok = !fp_build(it, it->sched);
    knots_hard(&k);
    st = st_backward(it, obj, &k, err);
    if (st == SCHEDOPT_OK) adj_out(it, grad, hdiag);
  }
  knots_free(&k);
  if (st == SCHEDOPT_OK && over) {
    it->stats.ckpt_gradients++;
    return cv_gradient_ckpt(it, obj, J, grad, hdiag, err);
  }
  return st;
}

/* ---- recursion ------------------------------------------------------------- */

/* The fused step (model step_acc) carries Vᵀy between steps, so neither the
 * step's driving sum nor the divergence check re-reads the state. */
#define REC_ACC_MAX 8

static int rec_fused(const schedopt_integrator *it) {
  return it->mt->step_acc && it->mt->project && it->mt->rank(it->self) <= REC_ACC_MAX;
}

/* One step; returns the loss after it. */
static double rec_step(const schedopt_integrator *it, int fused, const schedopt_uval *u, double *y,
                       double *acc) {
  if (fused) return it->mt->step_acc(it->self, u, y, acc);
  schedopt_readout r;
  it->mt->step(it->self, u, y);
  it->mt->readout(it->self, y, &r);
  return r.loss;
}

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
  const int fused = rec_fused(it);
  double acc[REC_ACC_MAX];
  if (fused) it->mt->project(it->self, y, acc);
  double t = 0.0, samples = 0.0;
  long k = 0;
  size_t i = 0;
  for (;;) {
    /* rows: on the step clock at integer steps, on data the first clock ≥ time */
    while (i < n && (it->clock == SCHEDOPT_CLOCK_STEPS ? floor(times[i] + 0.5) <= t
                                                       : times[i] <= t * (1 + 1e-12)))
      fill_row(it, t, (double)k, samples, y, &rows[i++]);
    if (i == n || t >= H * (1 - 1e-12)) break;
    schedopt_uval u;
    schedopt_schedule_eval(it->sched, t, &u);
    const double loss = rec_step(it, fused, &u, y, acc);
    k++;
    samples += u.batch;
    t = it->clock == SCHEDOPT_CLOCK_STEPS ? (double)k : t + u.batch * it->units;
    if (!(loss <= limit)) return diverged(it, t, (double)k, loss, err);
  }
  while (i < n) fill_row(it, t, (double)k, samples, y, &rows[i++]);
  it->stats.steps += k;
  return SCHEDOPT_OK;
}

/* Direct objective terms at step k (state after k steps): MEAN averages L over
 * the steps k in (t0, t1]; HORIZONS weighs L at k = round(h_i). */
static double rec_weight(const schedopt_objective *obj, long k, long T) {
  switch (obj->kind) {
  case SCHEDOPT_OBJ_FINAL: return k == T ? 1.0 : 0.0;
  case SCHEDOPT_OBJ_MEAN: {
    long a = (long)floor(obj->t0 + 1e-9), b = (long)floor(obj->t1 + 1e-9);
    return (k > a && k <= b) ? 1.0 / (double)(b - a) : 0.0;
  }
  case SCHEDOPT_OBJ_HORIZONS: {
    double w = 0.0;
    for (size_t i = 0; i < obj->nh; i++)
      if ((long)floor(obj->h[i] + 0.5) == k) w += obj->w[i];
    return w;
  }
  }
  return 0.0;
}

/* Forward with √T check-points (grad != NULL) and the reverse sweep:
 * λ_T = w_T ∂L/∂y;  for k = T−1 … 0: dJ/du_k = λ_{k+1}ᵀ ∂F/∂u_k,
 * λ_k = (∂F/∂y_k)ᵀ λ_{k+1} + w_k ∂L/∂y. */
static schedopt_status rec_gradient(schedopt_integrator *it, const schedopt_objective *obj,
                                    double *J, double *grad[SCHEDOPT_NCHANNELS],
                                    double *hdiag[SCHEDOPT_NCHANNELS], schedopt_error *err) {
  if (it->clock != SCHEDOPT_CLOCK_STEPS)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "recursion objectives and gradients need a step budget (the data "
                              "clock makes the step count depend on the batch size); use the "
                              "cvodes integrator");
  const double H = schedopt_schedule_horizon(it->sched);
  const long T = (long)floor(H + 0.5);
  const size_t n = it->n;
  const int want = grad != NULL;
  if (want && (!it->mt->step_vjp || !it->mt->dloss))
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "model '%s' provides no recursion gradients",
                              it->mt->name);
  size_t maxp = 1;
  if (want) param_layout(it, &maxp);
  const long K = want ? (long)ceil(sqrt((double)(T > 1 ? T : 1))) : 1;
  const long nck = want ? T / K + 1 : 0;
  double *ck = want ? malloc((size_t)nck * n * sizeof *ck) : NULL;
  double *buf = want ? malloc((size_t)K * n * sizeof *buf) : NULL;
  double *y = malloc(n * sizeof *y), *lam = want ? malloc(n * sizeof *lam) : NULL;
  double *gl = want ? malloc(n * sizeof *gl) : NULL, *dp = want ? malloc(maxp * sizeof *dp) : NULL;
  const int wh = want && it->want_h && hdiag;
  double *lt = wh ? malloc(n * sizeof *lt) : NULL;
  schedopt_status st = SCHEDOPT_OK;
  if (!y || (want && (!ck || !buf || !lam || !gl || !dp)) || (wh && !lt)) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM,
                            "out of memory for the recursion sweep (n = %zu, T = %ld)", n, T);
    goto done;
  }
  const double limit = DIVERGE_FACTOR * it->scale;
  const int fused = rec_fused(it);
  double acc[REC_ACC_MAX];
  schedopt_uval u;
  it->mt->initial(it->self, y);
  if (fused) it->mt->project(it->self, y, acc);
  double Jv = 0.0;
  for (long k = 0; k < T; k++) {
    if (want && k % K == 0) memcpy(ck + (size_t)(k / K) * n, y, n * sizeof *y);
    schedopt_schedule_eval(it->sched, (double)k, &u);
    const double loss = rec_step(it, fused, &u, y, acc);
    if (!(loss <= limit)) {
      it->seg_lo = 0.0;
      it->seg_hi = INFINITY;
      st = diverged(it, (double)(k + 1), (double)(k + 1), loss, err);
      goto done;
    }
    double w = rec_weight(obj, k + 1, T);
    if (w != 0.0) Jv += w * loss;
  }
  it->stats.steps += T;
  *J = Jv;
  if (!want) goto done;

  it->mt->dloss(it->self, gl);
  for (size_t i = 0; i < n; i++) lam[i] = rec_weight(obj, T, T) * gl[i];
  for (int c = 0; c < SCHEDOPT_NCHANNELS; c++)
    if (grad[c]) memset(grad[c], 0, it->np[c] * sizeof(double));
  if (wh)
    for (int c = 0; c < SCHEDOPT_NCHANNELS; c++)
      if (hdiag[c]) memset(hdiag[c], 0, it->np[c] * sizeof(double));
  long have = -1; /* block held in buf */
  for (long k = T - 1; k >= 0; k--) {
    long b = k / K;
    if (b != have) { /* recompute the block's states from its check-point */
      memcpy(buf, ck + (size_t)b * n, n * sizeof *buf);
      if (fused) it->mt->project(it->self, buf, acc);
      for (long j = b * K; j < k; j++) {
        double *dst = buf + (size_t)(j - b * K + 1) * n;
        memcpy(dst, dst - n, n * sizeof *dst);
        schedopt_schedule_eval(it->sched, (double)j, &u);
        if (fused)
          it->mt->step_acc(it->self, &u, dst, acc);
        else
          it->mt->step(it->self, &u, dst);
      }
      have = b;
    }
    const double *yk = buf + (size_t)(k - b * K) * n;
    schedopt_schedule_eval(it->sched, (double)k, &u);
    double out[3], huu[3] = {0, 0, 0};
    if (wh) /* λᵀ ∂²F/∂u_c² by a central difference of λᵀ ∂F/∂u_c */
      for (int c = 0; c < SCHEDOPT_NCHANNELS; c++) {
        if (!hdiag[c] || !it->np[c]) continue;
        schedopt_uval up = u, um = u;
        const double h = curv_delta(*uval_slot(&u, c));
        double op[3], om[3];
        *uval_slot(&up, c) += h;
        *uval_slot(&um, c) -= h;
        memcpy(lt, lam, n * sizeof *lt);
        it->mt->step_vjp(it->self, &up, yk, lt, op);
        memcpy(lt, lam, n * sizeof *lt);
        it->mt->step_vjp(it->self, &um, yk, lt, om);
        huu[c] = (op[c] - om[c]) / (2 * h);
      }
    it->mt->step_vjp(it->self, &u, yk, lam, out);
    for (int c = 0; c < SCHEDOPT_NCHANNELS; c++) {
      if (!grad[c] || !it->np[c]) continue;
      schedopt_control_eval(schedopt_schedule_get(it->sched, (schedopt_channel)c), H, (double)k, dp);
      for (size_t i = 0; i < it->np[c]; i++) grad[c][i] += out[c] * dp[i];
      if (wh && hdiag[c])
        for (size_t i = 0; i < it->np[c]; i++) hdiag[c][i] += huu[c] * dp[i] * dp[i];
    }
    double w = rec_weight(obj, k, T);
    if (w != 0.0)
      for (size_t i = 0; i < n; i++) lam[i] += w * gl[i];
  }
done:
  free(ck);
  free(buf);
  free(y);
  free(lam);
  free(gl);
  free(dp);
  free(lt);
  return st;
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
  if (T == &recursion_type && mt->exact && !mt->exact(schedopt_model_self(m)))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "model '%s' has overdamped momentum modes reduced for the ODE "
                              "(momentum_modes); the exact recursion needs them all",
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
  it->store_limit = STORE_LIMIT_DEFAULT;
  *out = it;
  return SCHEDOPT_OK;
}

void schedopt_integrator_free(schedopt_integrator *it) {
  if (!it) return;
  adj_free(it);
  cv_teardown(it);
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

void schedopt_integrator_get_tolerances(const schedopt_integrator *it, double *rtol,
                                        double *atol) {
  if (rtol) *rtol = it->rtol;
  if (atol) *atol = it->atol;
}

schedopt_status schedopt_integrator_set_adjoint_memory(schedopt_integrator *it, size_t bytes,
                                                       schedopt_error *err) {
  if (!it) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_integrator_set_adjoint_memory: NULL");
  it->store_limit = bytes;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_integrator_set_decoupled(schedopt_integrator *it, int on,
                                                  schedopt_error *err) {
  if (!it) return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_integrator_set_decoupled: NULL");
  it->dc_off = !on;
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
                                   : cv_run(it, times, n, rows, NULL, NULL, err);
  if (it->LS) {
    it->stats.lin_setups = schedopt_blr_linsol_nsetups(it->LS);
    it->stats.lin_solves = schedopt_blr_linsol_nsolves(it->LS);
  }
  it->sched = NULL;
  return st;
}

static schedopt_status objective_common(schedopt_integrator *it, const schedopt_schedule *s,
                                        const schedopt_objective *obj, double *J,
                                        double *grad[SCHEDOPT_NCHANNELS],
                                        double *hdiag[SCHEDOPT_NCHANNELS], schedopt_error *err) {
  if (!it || !s || !J)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_integrator_objective: NULL argument");
  schedopt_status st = schedopt_schedule_validate(s, err);
  if (st != SCHEDOPT_OK) return st;
  const double H = schedopt_schedule_horizon(s);
  if ((st = check_objective(obj, H, err)) != SCHEDOPT_OK) return st;
  it->sched = s;
  it->clock = schedopt_schedule_clock(s);
  it->units = schedopt_schedule_units_per_sample(s);
  it->win_w = 0.0;
  if (obj->kind == SCHEDOPT_OBJ_MEAN) {
    it->win_lo = obj->t0;
    it->win_hi = obj->t1;
    it->win_w = 1.0 / (obj->t1 - obj->t0);
  }
  it->want_h = hdiag != NULL;
  if (it->type == &recursion_type) {
    st = rec_gradient(it, obj, J, grad, hdiag, err);
  } else if (grad) {
    st = cv_gradient(it, obj, J, grad, hdiag, err);
  } else {
    /* plain forward run: rows at the horizons (or H), ∫ w L for MEAN */
    size_t n = obj->kind == SCHEDOPT_OBJ_HORIZONS ? obj->nh : 1;
    double tH = H, Jm = 0.0;
    schedopt_row *rows = malloc(n * sizeof *rows);
    if (!rows) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    st = cv_run(it, obj->kind == SCHEDOPT_OBJ_HORIZONS ? obj->h : &tH, n, rows, obj, &Jm, err);
    if (st == SCHEDOPT_OK) {
      if (obj->kind == SCHEDOPT_OBJ_FINAL) *J = rows[0].r.loss;
      else if (obj->kind == SCHEDOPT_OBJ_MEAN) *J = Jm;
      else {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) acc += obj->w[i] * rows[i].r.loss;
        *J = acc;
      }
    }
    free(rows);
  }
  if (it->LS) {
    it->stats.lin_setups = schedopt_blr_linsol_nsetups(it->LS);
    it->stats.lin_solves = schedopt_blr_linsol_nsolves(it->LS);
  }
  it->win_w = 0.0;
  it->sched = NULL;
  return st;
}

schedopt_status schedopt_integrator_objective(schedopt_integrator *it, const schedopt_schedule *s,
                                              const schedopt_objective *obj, double *J,
                                              schedopt_error *err) {
  return objective_common(it, s, obj, J, NULL, NULL, err);
}

schedopt_status schedopt_integrator_gradient(schedopt_integrator *it, const schedopt_schedule *s,
                                             const schedopt_objective *obj, double *J,
                                             double *grad[SCHEDOPT_NCHANNELS],
                                             schedopt_error *err) {
  if (!grad)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "schedopt_integrator_gradient: NULL grad");
  return objective_common(it, s, obj, J, grad, NULL, err);
}

schedopt_status schedopt_integrator_gradient_hdiag(schedopt_integrator *it,
                                                   const schedopt_schedule *s,
                                                   const schedopt_objective *obj, double *J,
                                                   double *grad[SCHEDOPT_NCHANNELS],
                                                   double *hdiag[SCHEDOPT_NCHANNELS],
                                                   schedopt_error *err) {
  if (!grad || !hdiag)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "schedopt_integrator_gradient_hdiag: NULL grad or hdiag");
  return objective_common(it, s, obj, J, grad, hdiag, err);
}

const schedopt_integrator_type *schedopt_integrator_get_type(const schedopt_integrator *it) {
  return it->type;
}

void schedopt_integrator_get_stats(const schedopt_integrator *it, schedopt_integrator_stats *st) {
  *st = it->stats;
}

/* ---- model Hessian (issue 14: second-order optimizer) -----------------------
 *
 * With the coupling between states frozen along the run (each state's drive
 * b_k = Σ_r U_rk (V_rᵀy) + c_k held at its value on the trajectory), every
 * state obeys ẏ_k = D_k(η) y_k + b_k(η, t) and J = Σ_k ℓ_k y_k(H) + const
 * (ℓ = ∂L/∂y) is an explicit functional of η(·).  Its exact Hessian is
 *   ∂²J/∂η(t)∂η(t') = Σ_k D_k'(η(t)) G_k(t')     for t' < t (symmetric),
 *                     + δ(t − t') Σ_k ℓ_k Φ_k(t) ∂²f_k/∂η²(t),
 * with Φ_k(t) = exp ∫_t^H D_k(η) ds and G_k(t) = ℓ_k Φ_k(t) ∂f_k/∂η(t), the
 * mode's gradient density.  With D_k quadratic in η, D_k'(η) = α_k + β_k η,
 * so the kernel is GA(t') + η(t) GB(t') with two mode sums per time, and the
 * Hessian in the control's parameters costs one forward solve and O(N) per
 * quadrature node. */

#define HM_G 4 /* Gauss–Legendre nodes per piece between knots */

static const double hm_gx[HM_G] = {-0.8611363115940526, -0.3399810435848563,
                                   0.3399810435848563, 0.8611363115940526};
static const double hm_gw[HM_G] = {0.3478548451374538, 0.6521451548625461,
                                   0.6521451548625461, 0.3478548451374538};

typedef struct hm_node {
  double t, w, eta;  /* time, quadrature weight, η(t) */
  double I1, I2;     /* ∫_t^H η, ∫_t^H η² */
  double GA, GB, h2; /* Σ α_k G_k, Σ β_k G_k, Σ ℓ_k Φ_k ∂²f_k/∂η² */
} hm_node;

typedef struct hm_ctx {
  schedopt_integrator *it;
  hm_node *nd;
  double *d0, *d1, *d2, *ell; /* D_k(η) = d0 + d1 η + d2 η²; ℓ */
  double *fp, *fm, *f0;      /* rhs at η ± h, η */
} hm_ctx;

/* ∫_a^b η and ∫_a^b η² by Gauss–Legendre (exact for a linear piece). */
static void hm_piece_int(const schedopt_control *c, double H, double a, double b, double *i1,
                         double *i2) {
  const double m = 0.5 * (a + b), r = 0.5 * (b - a);
  double s1 = 0.0, s2 = 0.0;
  for (int g = 0; g < HM_G; g++) {
    const double e = schedopt_control_eval(c, H, m + r * hm_gx[g], NULL);
    s1 += hm_gw[g] * e;
    s2 += hm_gw[g] * e * e;
  }
  *i1 = r * s1;
  *i2 = r * s2;
}

/* One node on the trajectory: the two kernel sums and the local curvature. */
static void hm_visit(hm_ctx *c, size_t m, const double *y) {
  schedopt_integrator *it = c->it;
  hm_node *nd = &c->nd[m];
  const size_t n = it->n;
  const double H = schedopt_schedule_horizon(it->sched);
  schedopt_uval u, up, um;
  schedopt_schedule_eval(it->sched, nd->t, &u);
  up = um = u;
  const double h = fmax(fabs(u.lr), 0.1); /* f is quadratic in η: central differences are exact */
  up.lr += h;
  um.lr -= h;
  it->mt->rhs(it->self, &up, y, c->fp);
  it->mt->rhs(it->self, &um, y, c->fm);
  it->mt->rhs(it->self, &u, y, c->f0);
  const double tau = H - nd->t;
  double GA = 0.0, GB = 0.0, h2 = 0.0;
  for (size_t k = 0; k < n; k++) {
    if (c->ell[k] == 0.0) continue;
    const double ex = c->d0[k] * tau + c->d1[k] * nd->I1 + c->d2[k] * nd->I2;
    if (ex < -700.0) continue;
    const double lp = c->ell[k] * exp(ex);
    const double e1 = (c->fp[k] - c->fm[k]) / (2.0 * h);
    const double e2 = (c->fp[k] - 2.0 * c->f0[k] + c->fm[k]) / (h * h);
    const double G = lp * e1;
    GA += c->d1[k] * G;
    GB += 2.0 * c->d2[k] * G;
    h2 += lp * e2;
  }
  nd->GA = GA;
  nd->GB = GB;
  nd->h2 = h2;
}

/* CVODES forward pass visiting the nodes (increasing times) with the state
 * there; a plain run's segments, restarts and divergence check. */
static schedopt_status hm_cv_pass(schedopt_integrator *it, hm_ctx *c, size_t M,
                                  schedopt_error *err) {
  schedopt_status st = SCHEDOPT_OK;
  const double H = schedopt_schedule_horizon(it->sched);
  knots k;
  if ((st = knots_build(it, NULL, &k, err)) != SCHEDOPT_OK) return st;
  it->adj = 0;
  it->seg_lo = 0.0;
  it->seg_hi = k.n ? k.t[0] : H;
  if ((st = cv_begin(it, 1, err)) != SCHEDOPT_OK) goto done;
  const double *y = N_VGetArrayPointer(it->y);
  size_t i = 0;
  double tcur = 0.0;
  for (size_t seg = 0; seg <= k.n; seg++) {
    const double lo = seg ? k.t[seg - 1] : 0.0, hi = seg < k.n ? k.t[seg] : H;
    it->seg_lo = lo;
    it->seg_hi = hi;
    if (hi > tcur) CVodeSetStopTime(it->cv, hi);
    while (tcur < hi) {
      const double tout = (i < M && c->nd[i].t < hi) ? c->nd[i].t : hi;
      realtype tret;
      const int f = CVode(it->cv, tout, it->y, &tret, CV_NORMAL);
      if (f == CV_ROOT_RETURN) {
        schedopt_readout r;
        it->mt->readout(it->self, y, &r);
        st = diverged(it, tret, tret, r.loss, err);
        goto done;
      }
      if (f < 0) {
        st = cv_fail(it, f, "CVode", tret, err);
        goto done;
      }
      tcur = (f == CV_TSTOP_RETURN) ? hi : tret;
      for (; i < M && c->nd[i].t <= tcur; i++) hm_visit(c, i, y);
    }
    if (seg < k.n && (k.flag[seg] & KNOT_JUMP) && (st = cv_restart(it, hi, err)) != SCHEDOPT_OK)
      goto done;
  }
  for (; i < M; i++) hm_visit(c, i, y);
  cv_collect(it);
done:
  knots_free(&k);
  return st;
}

/* The nodes' states from the last gradient's stored pass (st_holds): cubic
 * Hermite on the stored step holding each node, no second solve. */
static schedopt_status hm_st_pass(schedopt_integrator *it, hm_ctx *c, size_t M,
                                  schedopt_error *err) {
  const size_t n = it->n;
  double *y = malloc(n * sizeof *y);
  if (!y) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory (n = %zu)", n);
  size_t i = 1;
  for (size_t m = 0; m < M; m++) {
    const double t = c->nd[m].t;
    while (i + 1 < it->st_n && it->st[i].t < t) i++;
    double cy[4];
    const double *Y[4];
    st_hermite(it, i, t, cy, Y);
    for (size_t j = 0; j < n; j++)
      y[j] = (cy[0] * Y[0][j] + cy[1] * Y[1][j]) + (cy[2] * Y[2][j] + cy[3] * Y[3][j]);
    hm_visit(c, m, y);
  }
  free(y);
  return SCHEDOPT_OK;
}

/* The recursion: a node at clock t sees the state after round(t) steps. */
static schedopt_status hm_rec_pass(schedopt_integrator *it, hm_ctx *c, size_t M,
                                   schedopt_error *err) {
  const double H = schedopt_schedule_horizon(it->sched);
  const long T = (long)floor(H + 0.5);
  double *y = malloc(it->n * sizeof *y);
  if (!y) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory (n = %zu)", it->n);
  it->seg_lo = 0.0;
  it->seg_hi = INFINITY;
  it->mt->initial(it->self, y);
  const double limit = DIVERGE_FACTOR * it->scale;
  size_t i = 0;
  for (long k = 0;; k++) {
    for (; i < M && floor(c->nd[i].t + 0.5) <= (double)k; i++) hm_visit(c, i, y);
    if (i == M || k >= T) break;
    schedopt_uval u;
    schedopt_readout r;
    schedopt_schedule_eval(it->sched, (double)k, &u);
    it->mt->step(it->self, &u, y);
    it->mt->readout(it->self, y, &r);
    if (!(r.loss <= limit)) {
      free(y);
      return diverged(it, (double)(k + 1), (double)(k + 1), r.loss, err);
    }
  }
  for (; i < M; i++) hm_visit(c, i, y);
  free(y);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_integrator_hessian_model(schedopt_integrator *it,
                                                  const schedopt_schedule *s,
                                                  const schedopt_objective *obj, double *hess,
                                                  schedopt_error *err) {
  if (!it || !s || !obj || !hess)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "integrator_hessian_model: NULL argument");
  schedopt_status st = schedopt_schedule_validate(s, err);
  if (st) return st;
  const double H = schedopt_schedule_horizon(s);
  if ((st = check_objective(obj, H, err))) return st;
  if (obj->kind != SCHEDOPT_OBJ_FINAL)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "the model Hessian needs the final-loss objective");
  if (schedopt_schedule_clock(s) != SCHEDOPT_CLOCK_STEPS)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "the model Hessian needs a step budget");
  const size_t n = it->n, r = it->mt->rank(it->self);
  if (it->mt->block(it->self) != 1 || !it->mt->dloss || !it->mt->jac)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "the model Hessian needs a model with a diagonal Jacobian "
                              "(SGD; model '%s' has blocks of %zu)", it->mt->name,
                              it->mt->block(it->self));
  const schedopt_control *lr = schedopt_schedule_get(s, SCHEDOPT_LR);
  const size_t P = schedopt_control_nparams(lr);
  /* pieces between every knot of the schedule */
  double *kt = NULL;
  int *kj = NULL;
  size_t nk = 0;
  if ((st = schedopt_schedule_knots(s, &kt, &kj, &nk, err))) return st;
  const size_t M = (nk + 1) * HM_G;
  hm_ctx c = {0};
  c.it = it;
  c.nd = calloc(M, sizeof *c.nd);
  double *buf = malloc((7 * n + 2 * n * r) * sizeof *buf);
  double *dp = malloc((M * P + 3 * P) * sizeof *dp);
  if (!c.nd || !buf || !dp) {
    st = schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory for the model Hessian");
    goto done;
  }
  c.d0 = buf, c.d1 = buf + n, c.d2 = buf + 2 * n, c.ell = buf + 3 * n;
  c.fp = buf + 4 * n, c.fm = buf + 5 * n, c.f0 = buf + 6 * n;
  double *Ub = buf + 7 * n, *Vb = Ub + n * r;
  /* D_k(η) = d0 + d1 η + d2 η² from three Jacobians at t = 0's batch and
   * momentum, checked at a fourth η and against the batch along the run */
  schedopt_uval u0, uu;
  schedopt_schedule_eval(s, 0.0, &u0);
  uu = u0;
  uu.lr = 0.0;
  it->mt->jac(it->self, &uu, c.d0, Ub, Vb);
  uu.lr = 1.0;
  it->mt->jac(it->self, &uu, c.d1, Ub, Vb);
  uu.lr = -1.0;
  it->mt->jac(it->self, &uu, c.d2, Ub, Vb);
  uu.lr = 2.0;
  it->mt->jac(it->self, &uu, c.fp, Ub, Vb);
  for (size_t k = 0; k < n; k++) {
    const double dp1 = c.d1[k], dm1 = c.d2[k];
    c.d1[k] = 0.5 * (dp1 - dm1);
    c.d2[k] = 0.5 * (dp1 + dm1) - c.d0[k];
    const double q = c.d0[k] + 2.0 * c.d1[k] + 4.0 * c.d2[k];
    if (!(fabs(q - c.fp[k]) <= 1e-9 * (fabs(c.fp[k]) + fabs(c.d0[k]) + 1e-300))) {
      st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "the model Hessian needs a Jacobian quadratic in the learning "
                              "rate (model '%s')", it->mt->name);
      goto done;
    }
  }
  it->mt->dloss(it->self, c.ell);
  /* nodes: Gauss–Legendre on every piece; ∫_t^H η and η² by suffix sums */
  {
    size_t m = 0;
    double a = 0.0;
    for (size_t j = 0; j <= nk; j++) {
      const double b = j < nk ? kt[j] : H;
      for (int g = 0; g < HM_G; g++, m++) {
        c.nd[m].t = 0.5 * (a + b) + 0.5 * (b - a) * hm_gx[g];
        c.nd[m].w = 0.5 * (b - a) * hm_gw[g];
        double *dpm = dp + m * P;
        c.nd[m].eta = schedopt_control_eval(lr, H, c.nd[m].t, dpm);
        double i1, i2; /* node to the piece's end */
        hm_piece_int(lr, H, c.nd[m].t, b, &i1, &i2);
        c.nd[m].I1 = i1;
        c.nd[m].I2 = i2;
        schedopt_uval un;
        schedopt_schedule_eval(s, c.nd[m].t, &un);
        if (un.batch != u0.batch || un.momentum != u0.momentum) {
          st = schedopt_error_set(err, SCHEDOPT_EINVAL,
                                  "the model Hessian needs a constant batch size and momentum "
                                  "(the batch is %g at clock %g, %g at 0)", un.batch,
                                  c.nd[m].t, u0.batch);
          goto done;
        }
      }
      a = b;
    }
    double s1 = 0.0, s2 = 0.0; /* over the pieces after the current one */
    a = H;
    for (size_t j = nk + 1; j-- > 0;) {
      const double lo = j ? kt[j - 1] : 0.0;
      for (int g = 0; g < HM_G; g++) {
        c.nd[j * HM_G + g].I1 += s1;
        c.nd[j * HM_G + g].I2 += s2;
      }
      double i1, i2;
      hm_piece_int(lr, H, lo, a, &i1, &i2);
      s1 += i1;
      s2 += i2;
      a = lo;
    }
  }
  it->sched = s;
  it->clock = SCHEDOPT_CLOCK_STEPS;
  it->units = schedopt_schedule_units_per_sample(s);
  it->win_w = 0.0;
  st = it->type == &recursion_type ? hm_rec_pass(it, &c, M, err)
       : st_holds(it, s)              ? hm_st_pass(it, &c, M, err)
                                      : hm_cv_pass(it, &c, M, err);
  it->sched = NULL;
  if (st) goto done;
  /* H = L + Lᵀ + Σ_m w_m h2_m dp dpᵀ, L_ij = Σ_m w_m dp_i(m) [SA_j + η_m SB_j] with
   * SA_j = Σ_{m' < m} w dp_j GA (+ half of node m: the kernel's diagonal) */
  {
    double *SA = dp + M * P, *SB = SA + P;
    memset(hess, 0, P * P * sizeof *hess);
    memset(SA, 0, 2 * P * sizeof *SA);
    for (size_t m = 0; m < M; m++) {
      const hm_node *nd = &c.nd[m];
      const double *dpm = dp + m * P;
      for (size_t j = 0; j < P; j++)
        if (dpm[j] != 0.0) {
          SA[j] += 0.5 * nd->w * dpm[j] * nd->GA;
          SB[j] += 0.5 * nd->w * dpm[j] * nd->GB;
        }
      for (size_t i = 0; i < P; i++) {
        if (dpm[i] == 0.0) continue;
        const double wi = nd->w * dpm[i];
        double *row = hess + i * P;
        for (size_t j = 0; j < P; j++) row[j] += wi * (SA[j] + nd->eta * SB[j]);
        for (size_t j = 0; j < P; j++)
          if (dpm[j] != 0.0) row[j] += 0.5 * wi * nd->h2 * dpm[j]; /* halved: symmetrized below */
      }
      for (size_t j = 0; j < P; j++)
        if (dpm[j] != 0.0) {
          SA[j] += 0.5 * nd->w * dpm[j] * nd->GA;
          SB[j] += 0.5 * nd->w * dpm[j] * nd->GB;
        }
    }
    for (size_t i = 0; i < P; i++)
      for (size_t j = 0; j < i; j++) {
        const double v = hess[i * P + j] + hess[j * P + i];
        hess[i * P + j] = hess[j * P + i] = v;
      }
    for (size_t i = 0; i < P; i++) hess[i * P + i] *= 2.0;
  }
done:
  free(kt);
  free(kj);
  free(c.nd);
  free(buf);
  free(dp);
  return st;
}
