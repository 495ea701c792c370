/* sweep_spec.c — the sweep: section → the cases of `schedopt sweep` (schema:
 * docs/yaml.md, "sweep"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem/problem_impl.h"
#include "problem/schema.h"
#include "sweep/sweep_impl.h"

/* "<loc>: error: <msg>" for entry e (key position if key). */
#define fail(err, code, e, key, ...) \
  schedopt_ykv_error((err), (code), (e), (key), "problem", __VA_ARGS__)

_Static_assert(SCHEDOPT_SWEEP_MAXCASES == SCHEDOPT_SCHEMA_SWEEP_MAXPOINTS,
               "the schema's limit on sweep.points is the sweep's");

/* ======================================================================
 * sweep: — the cases of `schedopt sweep` (schema: docs/yaml.md, "sweep")
 * ====================================================================== */

void schedopt_sweep_spec_free(sweep_spec *sw) {
  if (!sw) return;
  free(sw->x);
  free(sw->text);
  memset(sw, 0, sizeof *sw);
}

static schedopt_status sweep_alloc_values(sweep_spec *sw, size_t n, schedopt_error *err) {
  sw->x = calloc(n, sizeof *sw->x);
  sw->text = calloc(n, sizeof *sw->text);
  if (!sw->x || !sw->text) {
    schedopt_sweep_spec_free(sw);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  sw->n = n;
  return SCHEDOPT_OK;
}

schedopt_status schedopt_sweep_spec_read(const schedopt_problem *p, sweep_spec *sw, int *present,
                                   schedopt_error *err) {
  memset(sw, 0, sizeof *sw);
  *present = 0;
  const ykv_entry *se = schedopt_ykv_get(&p->entries, "sweep");
  if (!se) return SCHEDOPT_OK;
  *present = 1;
  schedopt_settings S;
  schedopt_status st = schedopt_schema_validate(p, &S, err);
  if (st) return st;
  const ykv_entry *key = schedopt_schema_given(&S, "sweep.key"), *values = schedopt_schema_given(&S, "sweep.values"),
                  *from = schedopt_schema_given(&S, "sweep.from"), *to = schedopt_schema_given(&S, "sweep.to"),
                  *points = schedopt_schema_given(&S, "sweep.points"), *spacing = schedopt_schema_given(&S, "sweep.spacing");
  if (!key)
    return fail(err, SCHEDOPT_EINVAL, se, 1, "sweep: missing 'key' (the problem key to vary, "
                "e.g. budget.steps)");
  const char *k = key->value;
  if (!strncmp(k, "sweep", 5) && (!k[5] || k[5] == '.'))
    return fail(err, SCHEDOPT_EINVAL, key, 0, "sweep.key: cannot sweep the sweep: section "
                "itself");
  if (strlen(k) >= sizeof sw->key)
    return fail(err, SCHEDOPT_EINVAL, key, 0, "sweep.key: longer than %zu characters",
                sizeof sw->key - 1);
  if (values && (from || to || points || spacing))
    return fail(err, SCHEDOPT_EINVAL, values, 1, "sweep: give either 'values' or 'from', 'to' "
                "and 'points', not both");
  if (!values && !(from && to && points))
    return fail(err, SCHEDOPT_EINVAL, se, 1, "sweep: missing 'values' (a list) or 'from', 'to' "
                "and 'points'");
  const int round_it = schedopt_schema_given(&S, "sweep.round")
                           ? (int)schedopt_schema_val_or(&S, "sweep.round", 0)
                           : !strcmp(k, "budget.steps") || !strcmp(k, "model.N") ||
                                 !strcmp(k, "model.M");
  if (values) {
    if (values->n == 0)
      return fail(err, SCHEDOPT_EINVAL, values, 0, "sweep.values: expected a non-empty list of "
                  "numbers");
    if (values->n > SCHEDOPT_SWEEP_MAXCASES)
      return fail(err, SCHEDOPT_EINVAL, values, 0, "sweep.values: %zu values (at most %d)",
                  values->n, SCHEDOPT_SWEEP_MAXCASES);
    if ((st = sweep_alloc_values(sw, values->n, err))) return st;
    for (size_t i = 0; i < values->n; i++) {
      double x = 0;
      if (schedopt_schema_parse_number(values->items[i], &x) || !(x > 0) ||
          strlen(values->items[i]) >= sizeof sw->text[i]) {
        ykv_entry it = schedopt_schema_item(values, i);
        schedopt_sweep_spec_free(sw);
        return fail(err, SCHEDOPT_EINVAL, &it, 0, "sweep.values[%zu]: expected a positive "
                    "number, got '%.60s'", i, values->items[i]);
      }
      if (round_it && x != floor(x)) {
        x = floor(x + 0.5);
        snprintf(sw->text[i], sizeof sw->text[i], "%.0f", x);
      } else {
        snprintf(sw->text[i], sizeof sw->text[i], "%s", values->items[i]);
      }
      sw->x[i] = x;
    }
  } else {
    const double a = schedopt_schema_val_or(&S, "sweep.from", 0), b = schedopt_schema_val_or(&S, "sweep.to", 0);
    const int logsp = schedopt_schema_val_or(&S, "sweep.spacing", 0) == 0;
    const size_t n = (size_t)schedopt_schema_val_or(&S, "sweep.points", 2);
    if (!(b > a))
      return fail(err, SCHEDOPT_EINVAL, from, 0, "sweep: need 0 < from < to (got from = %g, "
                  "to = %g)", a, b);
    if ((st = sweep_alloc_values(sw, n, err))) return st;
    for (size_t i = 0; i < n; i++) {
      const double f = (double)i / (double)(n - 1);
      double x = i == 0 ? a : i == n - 1 ? b
                 : logsp ? exp(log(a) + f * (log(b) - log(a))) : a + f * (b - a);
      if (round_it) x = floor(x + 0.5);
      sw->x[i] = x;
      snprintf(sw->text[i], sizeof sw->text[i], round_it ? "%.0f" : "%.15g", x);
    }
  }
  for (size_t i = 1; i < sw->n; i++)
    for (size_t j = 0; j < i; j++)
      if (sw->x[i] == sw->x[j]) {
        const double v = sw->x[i];
        schedopt_sweep_spec_free(sw);
        return fail(err, SCHEDOPT_EINVAL, values ? values : points, 0, "sweep: the value %g "
                    "appears twice (cases %zu and %zu)", v, j, i);
      }
  snprintf(sw->key, sizeof sw->key, "%s", k);
  return SCHEDOPT_OK;
}

