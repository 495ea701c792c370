/* fitspec.h — the YAML files of `schedopt fit` and `schedopt predict`
 * (private; schema in docs/surrogates.md).  Parsed with yamlkv; every
 * error is located ("file:line:col: error: ..."). */
#ifndef SCHEDOPT_FITSPEC_H
#define SCHEDOPT_FITSPEC_H

#include <stddef.h>

#include "schedopt/control.h"
#include "schedopt/fit.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"
#include "schedopt/trainer.h"
#include "core/yamlkv.h"

typedef struct fitspec_curve {
  schedopt_losscurve *curve;
  char *file;           /* as resolved */
  schedopt_curve_role role;
  double start, end;    /* NAN: default */
  double size, tokens;  /* model_size, tokens_per_step (NAN: not given) */
  char *run;            /* run label, NULL if none */
  char kind[48];        /* schedule family (or "logged": a dense log's own lr) */
} fitspec_curve;

typedef struct fitspec {
  ykv_list l;
  char *source, *base_dir, *name;
  const schedopt_surrogate_type *type;
  fitspec_curve *cv;
  size_t ncv;
  schedopt_fit_options opts;
  /* per parameter: search box, start, fixed value (has_* flags) */
  double lo[SCHEDOPT_SURROGATE_MAXP], hi[SCHEDOPT_SURROGATE_MAXP];
  double start[SCHEDOPT_SURROGATE_MAXP], fixed[SCHEDOPT_SURROGATE_MAXP];
  int has_box[SCHEDOPT_SURROGATE_MAXP], has_start[SCHEDOPT_SURROGATE_MAXP];
  int has_fixed[SCHEDOPT_SURROGATE_MAXP];
  /* size: laws per parameter (SCHEDOPT_SIZE_NONE: none) */
  int size_law[SCHEDOPT_SURROGATE_MAXP];
  double size_shift[SCHEDOPT_SURROGATE_MAXP];
  char *outdir; /* output.dir, NULL if none */
  int plot;     /* output.plot: write DIR/fit.svg */
} fitspec;

typedef struct predspec {
  ykv_list l;
  char *source, *base_dir, *name;
  char *model_file;                 /* model: FILE (a fit.json), else NULL */
  const schedopt_surrogate_type *type;
  double theta[SCHEDOPT_SURROGATE_MAXP];
  double *boot;                     /* bootstrap parameter sets (nboot × nparams) */
  size_t nboot;
  double level;
  double *eta;                      /* per-step schedule */
  size_t K;
  size_t *out;                      /* output steps */
  size_t nout;
  schedopt_losscurve *compare;      /* optional observed curve */
  double compare_start;
  char *outfile;                    /* output.file, NULL if none */
} predspec;

/* Load (and --set KEY=VALUE overrides, in order) and build. */
schedopt_status schedopt_fitspec_load(fitspec *s, const char *path, const char *const *sets,
                             size_t nsets, schedopt_error *err);
void schedopt_fitspec_free(fitspec *s);
/* A fit of s->type with s's curves, boxes, starts and fixed values. */
schedopt_status schedopt_fitspec_make_fit(const fitspec *s, schedopt_fit **out, schedopt_error *err);
/* 1 if every parameter is fixed (then the fit only scores). */
int schedopt_fitspec_all_fixed(const fitspec *s);

schedopt_status schedopt_predspec_load(predspec *s, const char *path, const char *const *sets,
                              size_t nsets, schedopt_error *err);
void schedopt_predspec_free(predspec *s);

/* The spec of `schedopt design` (docs/surrogates.md): a surrogate (fitted
 * from curves with the keys of a fit spec, or `model:` as in a predict
 * spec), a budget, learning-rate constraints, design settings, outputs. */
typedef struct designspec {
  fitspec fit;           /* has_fit: the fit part (fit.l holds the whole spec) */
  int has_fit;
  int refit_skipped;      /* curves given, but model: names a fit result, used as is */
  ykv_list l;            /* !has_fit: the spec */
  char *source, *base_dir, *name;
  char *model_file;      /* model: FILE, else NULL */
  const schedopt_surrogate_type *type;
  double theta[SCHEDOPT_SURROGATE_MAXP];
  double *boot;          /* bootstrap parameter sets of a fit.json (nboot × nparams) */
  size_t nboot;
  double level;
  /* budget */
  double steps, tokens, batch, seq_len; /* steps > 0, or tokens > 0 with batch and seq_len */
  /* lr */
  double peak, floor, warmup;
  int tune_peak, warmup_shape;
  /* design */
  int param, algorithm, monotone, baselines;
  double knots, ftol_rel, maxeval;
  /* design.trainers: the trainer schedule types to tune (trainer.h) */
  const schedopt_trainer_type *trainers[32];
  size_t ntrainers;
  /* output */
  char *outdir;          /* output.dir, NULL if none */
  double every;          /* table rows every N steps (and the last) */
  int format;            /* the first export format, −1 if none */
  unsigned formats;      /* output.export (or its older spelling output.format):
                            bit f for export format f */
  int plot;              /* output.plot: write DIR/design.svg */
} designspec;

schedopt_status schedopt_designspec_load(designspec *s, const char *path, const char *const *sets,
                                size_t nsets, schedopt_error *err);
void schedopt_designspec_free(designspec *s);

/* Read a fit result written by `schedopt fit` (fit.json): model type,
 * parameters and bootstrap sets (may be none). */
schedopt_status schedopt_fitspec_read_result(const char *path, const schedopt_surrogate_type **type,
                                    double *theta, double **boot, size_t *nboot,
                                    double *level, schedopt_error *err);
/* The same at model size N and tokens per step b (NAN: the fit's reference),
 * through the covariate laws stored in the result; an error if the result
 * has no such law. */
schedopt_status schedopt_fitspec_read_result_at(const char *path, double N, double b,
                                       const schedopt_surrogate_type **type, double *theta,
                                       double **boot, size_t *nboot, double *level,
                                       schedopt_error *err);

/* The top-level model_size and tokens_per_step of a design spec (NAN when
 * not given; their entries in *ne and *be, NULL when not given; either may
 * be NULL), checked as a predict or design spec's model: fit.json checks
 * them.  A spec that fits its own curves gives them here only. */
schedopt_status schedopt_designspec_covariates(const designspec *s, double *N, double *b,
                                               const ykv_entry **ne, const ykv_entry **be,
                                               schedopt_error *err);

#endif
