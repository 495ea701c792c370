/* csvcell.c — see csvcell.h. */
#include "core/csvcell.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

int schedopt_csv_number(const char *s, size_t len, double *out) {
  char buf[128];
  if (len == 0 || len >= sizeof buf || memchr(s, '\0', len)) return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  const char *q = buf;
  while (*q == ' ' || *q == '\t') q++;
  for (const char *r = q; *r; r++)
    if (!strchr("0123456789+-.eE \t", *r)) return 0;
  char *end;
  double d = strtod(q, &end);
  while (*end == ' ' || *end == '\t') end++;
  if (end == q || *end || !isfinite(d)) return 0;
  *out = d;
  return 1;
}

const char *schedopt_csv_printable(char *buf, size_t cap, const char *s, size_t len) {
  size_t k = 0;
  for (size_t i = 0; i < len && k + 4 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    buf[k++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
  }
  if (k + 4 >= cap && k < len) {
    memcpy(buf + k, "...", 3);
    k += 3;
  }
  buf[k] = '\0';
  return buf;
}

/* ---------------------------------------------------------------- header */

schedopt_status schedopt_csv_header_add(schedopt_csv_header *h, const char *s, size_t len,
                                        const char *path, size_t line, schedopt_error *err) {
  if (h->n >= SCHEDOPT_CSV_MAX_COLUMNS)
    return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s:%zu: the header has more than %d columns",
                              path, line, SCHEDOPT_CSV_MAX_COLUMNS);
  if (h->n == 0 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    s += 3, len -= 3; /* UTF-8 byte-order mark */
  if (h->n == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 8;
    char **nn = realloc(h->names, cap * sizeof *nn);
    if (!nn) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    h->names = nn;
    h->cap = cap;
  }
  char *name = malloc(len + 1);
  if (!name) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  memcpy(name, s, len);
  name[len] = '\0';
  h->names[h->n++] = name;
  return SCHEDOPT_OK;
}

size_t schedopt_csv_header_find(const schedopt_csv_header *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (!strcmp(h->names[i], name)) return i;
  return (size_t)-1;
}

typedef struct named_col {
  const char *name;
  size_t i;
} named_col;

static int by_name(const void *a, const void *b) {
  const named_col *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

schedopt_status schedopt_csv_header_check(const schedopt_csv_header *h, const char *path,
                                          size_t line, schedopt_error *err) {
  if (h->n < 2) return SCHEDOPT_OK;
  named_col *v = malloc(h->n * sizeof *v);
  if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  for (size_t i = 0; i < h->n; i++) v[i].name = h->names[i], v[i].i = i;
  qsort(v, h->n, sizeof *v, by_name);
  /* equal names are adjacent, in column order: of every run take its first
   * two columns; report the run whose second column comes first */
  size_t first = 0, second = (size_t)-1;
  for (size_t k = 1; k < h->n; k++)
    if (v[k].name[0] && !strcmp(v[k].name, v[k - 1].name) &&
        (k < 2 || strcmp(v[k - 1].name, v[k - 2].name)) && v[k].i < second)
      first = v[k - 1].i, second = v[k].i;
  free(v);
  if (second == (size_t)-1) return SCHEDOPT_OK;
  char shown[64];
  return schedopt_error_set(err, SCHEDOPT_EPARSE,
                            "%s:%zu: column '%s' appears twice (columns %zu and %zu)", path,
                            line,
                            schedopt_csv_printable(shown, sizeof shown, h->names[first],
                                                   strlen(h->names[first])),
                            first + 1, second + 1);
}

const char *schedopt_csv_header_list(const schedopt_csv_header *h, char *buf, size_t cap) {
  size_t len = 0;
  if (cap) buf[0] = '\0';
  for (size_t i = 0; i < h->n && len + 1 < cap; i++) {
    char shown[48];
    int k = snprintf(buf + len, cap - len, "%s'%s'", i ? ", " : "",
                     schedopt_csv_printable(shown, sizeof shown, h->names[i],
                                            strlen(h->names[i])));
    if (k < 0) break;
    len += (size_t)k;
  }
  return buf;
}

void schedopt_csv_header_free(schedopt_csv_header *h) {
  for (size_t i = 0; i < h->n; i++) free(h->names[i]);
  free(h->names);
  h->names = NULL;
  h->n = h->cap = 0;
}

schedopt_status schedopt_csv_row_width(const schedopt_csv_header *h, size_t nfields,
                                       size_t row, const char *path, size_t line,
                                       schedopt_error *err) {
  if (nfields <= h->n) return SCHEDOPT_OK;
  return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s:%zu: row %zu has %zu fields, the header %zu",
                            path, line, row, nfields, h->n);
}

/* libcsv's realloc for its field buffer: refuses past the bound (libcsv then
 * stops with CSV_ENOMEM). */
static void *capped_realloc(void *p, size_t n) {
  return n > SCHEDOPT_CSV_MAX_CELL_BYTES + 1024 ? NULL : realloc(p, n);
}

int schedopt_csv_parser_init(struct csv_parser *p) {
  if (csv_init(p, CSV_REPALL_NL | CSV_APPEND_NULL) != 0) return -1;
  csv_set_realloc_func(p, capped_realloc);
  return 0;
}

schedopt_status schedopt_csv_parse_error(struct csv_parser *p, const char *path, size_t line,
                                         schedopt_error *err) {
  if (csv_error(p) == CSV_ENOMEM)
    return schedopt_error_set(err, SCHEDOPT_EPARSE,
                              "%s:%zu: a cell longer than %d bytes (cells are numbers of at "
                              "most 127 characters, or column names)",
                              path, line, SCHEDOPT_CSV_MAX_CELL_BYTES);
  return schedopt_error_set(err, SCHEDOPT_EPARSE, "%s:%zu: %s", path, line,
                            csv_strerror(csv_error(p)));
}
