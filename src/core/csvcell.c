/* csvcell.c — see csvcell.h. */
#include "core/csvcell.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
