/* schedopt/control.h — one scalar control v(t) (learning rate, batch size or
 * momentum) on a horizon [0, H].
 *
 * t is measured in the schedule's clock unit: steps for a step budget, samples
 * or tokens for a data budget (see schedule.h).  A control is a family (a const
 * schedopt_control_type with named parameters, GSL-stepper style) plus two
 * parameters every family has:
 *
 *   warmup      w ≥ 0: on [0, w] the value ramps linearly from
 *               warmup_init·f(w) to f(w); decaying families start at w,
 *               i.e. they use the post-warmup progress u = (t − w)/(H − w).
 *   warmup_init fraction of f(w) at t = 0 (default 0).
 *
 * Families (u = post-warmup progress in [0, 1]):
 *   constant     v = value
 *   cosine       v = floor + (peak − floor)·(1 + cos πu)/2
 *   linear       v = start + (end − start)·u
 *   exponential  v = start^(1−u) · end^u
 *   wsd          peak on [w, t_d], t_d = H(1 − decay_frac); on [t_d, H] with
 *                z = (t − t_d)/(H − t_d) the decay shape is
 *                linear  peak + (floor − peak) z
 *                cosine  floor + (peak − floor)(1 + cos πz)/2
 *                exponential  peak^(1−z) floor^z
 *                sqrt    floor + (peak − floor)(1 − √z)
 *                power   floor + (peak − floor)(1 − z)^delta
 *   multistep    peak·factors[i] on [H·m_{i−1}, H·m_i) (milestones m_i ∈ (0,1))
 *   811          multistep with milestones (0.8, 0.9), factors (1, 1/√10, 1/10)
 *   power        v = peak·(1 + (t − w)/t0)^(−chi)
 *   polynomial   v = floor + (peak − floor)(1 − u)^delta
 *   table        piecewise-linear (interp = linear) or piecewise-constant
 *                (interp = step) through points (t_i, scale·v_i), clamped
 *                outside [t_0, t_last]
 */
#ifndef SCHEDOPT_CONTROL_H
#define SCHEDOPT_CONTROL_H

#include <stddef.h>
#include "schedopt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCHEDOPT_CONTROL_MAXP 8

/* One named family parameter.  An enum-valued parameter has choices != NULL
 * (NULL-terminated); its double value is the index of the choice. */
typedef struct schedopt_param_info {
  const char *name;
  double def;          /* default; NAN means required */
  double lo, hi;       /* allowed range */
  int lo_open, hi_open;/* 1: bound excluded */
  const char *const *choices;
  const char *doc;
} schedopt_param_info;

typedef struct schedopt_control schedopt_control;

typedef struct schedopt_control_type {
  const char *name;
  const char *formula;   /* the math, one line, for help and docs */
  size_t nparams;
  const schedopt_param_info *params;
  int needs_table;       /* 1: table; 2: multistep (milestones + factors) */
  /* f(t) on the post-warmup range and ∂f/∂p for the family parameters
   * (dp may be NULL).  w = warmup end, H = horizon. */
  double (*eval)(const schedopt_control *c, double w, double H, double t,
                 double *dp);
} schedopt_control_type;

extern const schedopt_control_type *const schedopt_control_constant;
extern const schedopt_control_type *const schedopt_control_cosine;
extern const schedopt_control_type *const schedopt_control_linear;
extern const schedopt_control_type *const schedopt_control_exponential;
extern const schedopt_control_type *const schedopt_control_wsd;
extern const schedopt_control_type *const schedopt_control_multistep;
extern const schedopt_control_type *const schedopt_control_811;
extern const schedopt_control_type *const schedopt_control_power;
extern const schedopt_control_type *const schedopt_control_polynomial;
extern const schedopt_control_type *const schedopt_control_table;
/* trainer  a trainer's built-in schedule on the step clock (trainer.h):
 *          style (one of schedopt_trainer_type_names), peak, floor, decay
 *          (steps; 0: H − warmup_steps), warmup_steps (the trainer's W, its
 *          own ramp; the generic warmup must be 0).  At integer t the
 *          trainer's rate of step t.  Built by the optimizer's trainer
 *          baselines; not in schedopt_control_types (not a problem-file
 *          family). */
extern const schedopt_control_type *const schedopt_control_trainer;

/* NULL-terminated list of all families, and lookup by name (NULL if none). */
extern const schedopt_control_type *const schedopt_control_types[];
const schedopt_control_type *schedopt_control_type_find(const char *name);

/* A control of family T with every parameter at its default. */
schedopt_status schedopt_control_alloc(schedopt_control **out,
                                       const schedopt_control_type *T,
                                       schedopt_error *err);
schedopt_status schedopt_control_clone(schedopt_control **out,
                                       const schedopt_control *c,
                                       schedopt_error *err);
void schedopt_control_free(schedopt_control *c);

const schedopt_control_type *schedopt_control_get_type(const schedopt_control *c);

/* Set a parameter by name ("peak", "warmup", "warmup_init", ...).  The value is
 * checked against the parameter's range; the message names the parameter, the
 * value and the allowed range. */
schedopt_status schedopt_control_set(schedopt_control *c, const char *name,
                                     double value, schedopt_error *err);
/* Set an enum parameter by choice name ("shape" = "cosine"). */
schedopt_status schedopt_control_set_choice(schedopt_control *c, const char *name,
                                            const char *choice, schedopt_error *err);
schedopt_status schedopt_control_get(const schedopt_control *c, const char *name,
                                     double *value, schedopt_error *err);

/* Payload of table (t strictly increasing, n ≥ 1) and multistep
 * (t = milestones in (0,1) increasing, n of them; v = n + 1 factors). */
schedopt_status schedopt_control_set_table(schedopt_control *c, size_t n,
                                           const double *t, const double *v,
                                           schedopt_error *err);
schedopt_status schedopt_control_set_steps(schedopt_control *c, size_t n,
                                           const double *milestones,
                                           const double *factors,
                                           schedopt_error *err);
/* Load a table from a CSV file with a header row: columns tcol and vcol
 * (names).  Dense logs of 10^5+ rows are fine. */
schedopt_status schedopt_control_load_csv(schedopt_control *c, const char *path,
                                          const char *tcol, const char *vcol,
                                          schedopt_error *err);

/* Check that the parameters fit together on horizon H (warmup < H, decay start
 * after warmup, positive floor for exponential shapes, ...) and that v(t)
 * stays in [lo, hi] on [0, H].  `what` names the control in messages. */
schedopt_status schedopt_control_validate(const schedopt_control *c, double H,
                                          double lo, double hi, int hi_open,
                                          const char *what, schedopt_error *err);

/* Number of differentiable parameters: family parameters, then warmup and
 * warmup_init, then (table) the n values. */
size_t schedopt_control_nparams(const schedopt_control *c);

/* v(t) for t in [0, H]; at a jump, the value of the segment that starts at t.
 * dp (length schedopt_control_nparams, may be NULL) receives ∂v/∂p. */
double schedopt_control_eval(const schedopt_control *c, double H, double t,
                             double *dp);
/* Left limit v(t⁻) (differs from eval only at jumps). */
double schedopt_control_eval_left(const schedopt_control *c, double H, double t);

/* Breakpoints in (0, H) where v is not smooth, sorted: writes up to max of
 * them to t (jump[i] = 1 where v is discontinuous) and returns how many there
 * are in total (so a call with max = 0 sizes the arrays). */
size_t schedopt_control_knots(const schedopt_control *c, double H, double *t,
                              int *jump, size_t max);

#ifdef __cplusplus
}
#endif
#endif
