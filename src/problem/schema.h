/* schema.h — the keys of a problem file, as data, and the checks they get
 * (private; docs/yaml.md is the user's view).
 *
 * Every key of every section is a row of schedopt_schema: its dotted path,
 * its type and range.  schedopt_schema_validate checks every entry of a
 * file against the table (unknown keys with a "did you mean", types,
 * ranges) and records the values; the layer that owns a section then reads
 * its meaning from those values: problem.c the model, budget, controls,
 * solver and output sections, the optimizer the optimize: section
 * (optimize/optimize_spec.c), the sweep driver the sweep: section (sweep/sweep_spec.c). */
#ifndef SCHEDOPT_PROBLEM_SCHEMA_H
#define SCHEDOPT_PROBLEM_SCHEMA_H

#include <math.h>
#include <stddef.h>

#include "core/yamlkv.h"
#include "schedopt/control.h"
#include "schedopt/problem.h"

typedef enum ktype {
  K_SECTION, /* a mapping of further keys */
  K_NUM,     /* finite number in [lo, hi] */
  K_INT,     /* integral number in [lo, hi] */
  K_AUTONUM, /* "auto" or a number */
  K_STR,
  K_BOOL,
  K_FLAG,    /* a boolean, or the number 0 or 1 */
  K_ENUM,    /* one of choices; value = index */
  K_NUMSEQ   /* sequence of finite numbers */
} ktype;

typedef struct keyspec {
  const char *key; /* full dotted path */
  ktype type;
  double lo, hi;
  int lo_open, hi_open;
  const char *const *choices;
  const char *what; /* meaning, for messages */
} keyspec;

/* The table (schema.c); order matters only for messages that list keys. */
#define SCHEDOPT_SCHEMA_NKEYS 67
extern const keyspec schedopt_schema[]; /* SCHEDOPT_SCHEMA_NKEYS rows */
/* Index of a full dotted key in the table, −1 if none. */
int schedopt_schema_index(const char *key);

/* sweep.points ≤ this (= SCHEDOPT_SWEEP_MAXCASES, checked in sweep/sweep_spec.c). */
#define SCHEDOPT_SCHEMA_SWEEP_MAXPOINTS 10000

/* The three control channels of controls: (lr, batch, momentum). */
typedef struct channel_info {
  const char *key;
  schedopt_channel ch;
  double lo, hi;
  int hi_open;
  const char *what;
} channel_info;
#define SCHEDOPT_SCHEMA_NCHANNELS 3
extern const channel_info schedopt_schema_channels[];

/* Per-budget-kind keys, in schedopt_budget_kind order. */
extern const char *const schedopt_schema_budget_keys[4];
/* Keys of the other notation (a --set of one removes the other). */
extern const char *const schedopt_schema_alias_pairs[4][2];
/* Model keys of one model type only (NULL-terminated). */
extern const char *const schedopt_schema_plrf_only[];
extern const char *const schedopt_schema_fsl_only[];
/* The export formats' names, in schedopt_export_format order (NULL-terminated). */
#define SCHEDOPT_SCHEMA_NFORMATS 9
extern const char *const schedopt_schema_export_formats[SCHEDOPT_SCHEMA_NFORMATS + 1];
/* Keys below optimize.objective and optimize.controls.<ch> (NULL-terminated),
 * by objective type and by parametrization. */
extern const char *const schedopt_schema_opt_obj_types[];
extern const char *const schedopt_schema_opt_obj_mean[];
extern const char *const schedopt_schema_opt_obj_horizons[];
extern const char *const schedopt_schema_opt_obj_target[];
extern const char *const schedopt_schema_opt_ch_common[];
extern const char *const schedopt_schema_opt_ch_family[];
extern const char *const schedopt_schema_opt_ch_freeform[];

/* ---- values after validation ---- */

typedef struct schedopt_settings {
  const ykv_entry *e[SCHEDOPT_SCHEMA_NKEYS]; /* NULL = not given */
  double v[SCHEDOPT_SCHEMA_NKEYS];           /* number, enum index or bool */
} schedopt_settings;

/* Check every entry's key and type (sections' own nested parts are checked
 * by their readers); fill S. */
schedopt_status schedopt_schema_validate(const schedopt_problem *p, schedopt_settings *S,
                                         schedopt_error *err);
/* The entry of key if given, else NULL. */
const ykv_entry *schedopt_schema_given(const schedopt_settings *S, const char *key);
/* The value of key if given, else def. */
double schedopt_schema_val_or(const schedopt_settings *S, const char *key, double def);

/* ---- checks and messages shared by the section readers ---- */

/* Parse a YAML number.  0: ok; 1: not a number; 2: not finite. */
int schedopt_schema_parse_number(const char *s, double *out);
/* Parse true/yes/on or false/no/off (any case) → 1 and *out; else 0. */
int schedopt_schema_parse_bool(const char *s, int *out);
/* An integer that a double holds exactly. */
static inline int schedopt_is_integral(double v) {
  return fabs(v) <= 9007199254740992.0 && v == floor(v);
}
/* A name (a non-empty scalar) out of `choices` → its index. */
schedopt_status schedopt_schema_choice(schedopt_error *err, const ykv_entry *e, const char *what,
                                       const char *const *choices, int *out);
/* "must be > 1", "must be in (0, 0.1]", … → buf. */
const char *schedopt_schema_range_text(char *buf, size_t cap, double lo, double hi,
                                       int lo_open, int hi_open);
/* Both given with different values → error at the second (why: the rule). */
schedopt_status schedopt_schema_conflict(schedopt_error *err, const ykv_entry *first,
                                         const ykv_entry *second, const char *why);
/* Check a number against a range and integrality; `name` and `text` for
 * messages, located at e. */
schedopt_status schedopt_schema_check_number(schedopt_error *err, const ykv_entry *e,
                                             const char *name, const char *text, double v,
                                             double lo, double hi, int lo_open, int hi_open,
                                             int integer, const char *what);
/* A scalar number for `name` from entry e. */
schedopt_status schedopt_schema_get_number(schedopt_error *err, const ykv_entry *e,
                                           const char *name, double *out);
/* A sequence of finite numbers → malloc'ed array. */
schedopt_status schedopt_schema_get_numseq(schedopt_error *err, const ykv_entry *e,
                                           const char *name, double **out, size_t *n);
/* Check entry e against row k; numbers, enum indices and booleans → *out. */
schedopt_status schedopt_schema_check_leaf(schedopt_error *err, const keyspec *k,
                                           const ykv_entry *e, double *out);
/* "unknown key … (allowed: …); did you mean …" for e in section (NULL: top). */
schedopt_status schedopt_schema_unknown_key(schedopt_error *err, const ykv_entry *e,
                                            const char *section);
/* The same for a nested key below `parent`, allowed a1 ∪ a2 (+ extra text). */
schedopt_status schedopt_schema_unknown_in(schedopt_error *err, const ykv_entry *e,
                                           const char *parent, const char *const *a1,
                                           const char *const *a2, const char *extra);
/* Whether k is in the NULL-terminated list. */
int schedopt_schema_in(const char *const *list, const char *k);
/* A sequence item as an entry of its own (for its position). */
ykv_entry schedopt_schema_item(const ykv_entry *e, size_t i);
/* Error without an entry: "<source>: error: <msg>". */
schedopt_status schedopt_schema_fail_src(schedopt_error *err, const schedopt_problem *p,
                                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Prefix an existing message (from control/schedule/model code) with a
 * location: "<loc>: error: <context>: <msg>". */
void schedopt_schema_prefix_at(schedopt_error *err, const ykv_entry *e, int key,
                               const char *ctx);

/* A list of names for messages: "a, b, c". */
typedef struct strbuf {
  char s[768];
  size_t n;
} strbuf;
void schedopt_names_add(strbuf *b, const char *name);
/* Append list (NULL-terminated) to b, and to g's candidates if g. */
typedef struct suggest suggest;
void schedopt_schema_list_text(strbuf *b, suggest *g, const char *const *list);

/* "did you mean": the closest candidate within a small edit distance. */
struct suggest {
  const char *word;
  const char *best;
  int dist;
};
void schedopt_suggest_add(suggest *g, const char *cand);
/* "; did you mean 'x'?" or "". */
const char *schedopt_suggest_text(const suggest *g, char *buf, size_t cap);

#endif
