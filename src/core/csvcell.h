/* csvcell.h — the cell rules shared by the CSV readers (schedule tables,
 * loss logs). */
#ifndef SCHEDOPT_CSVCELL_H
#define SCHEDOPT_CSVCELL_H

#include <stddef.h>

/* A cell is a plain decimal number (like 1, -2.5, 3e-4), with optional blanks
 * around it: no hexadecimal, inf or nan (as in problem files).  Returns 1 and
 * sets *out, or 0. */
int schedopt_csv_number(const char *s, size_t len, double *out);

/* Copy at most len bytes of s into buf (cap ≥ 8) for a message: control and
 * other non-ASCII bytes become '?', a cut is marked with "...". */
const char *schedopt_csv_printable(char *buf, size_t cap, const char *s, size_t len);

#endif
