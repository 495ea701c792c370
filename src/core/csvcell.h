/* csvcell.h — the cell rules shared by the CSV readers (schedule tables,
 * loss logs). */
#ifndef SCHEDOPT_CSVCELL_H
#define SCHEDOPT_CSVCELL_H

#include <stddef.h>

#include "schedopt/error.h"

struct csv_parser;

/* The longest cell the readers keep (bytes): a cell is a number of at most
 * 127 characters or a column name, so this only bounds the parser's buffer. */
#define SCHEDOPT_CSV_MAX_CELL_BYTES 65536

/* csv_init with the readers' options (CSV_REPALL_NL | CSV_APPEND_NULL) and a
 * buffer that stops growing at SCHEDOPT_CSV_MAX_CELL_BYTES: libcsv grows its
 * field buffer by a fixed block, so an unbounded cell costs quadratic
 * copying (minutes under AddressSanitizer for a 50 MiB cell).  0 on success. */
int schedopt_csv_parser_init(struct csv_parser *p);
/* The message for csv_parse stopping early: "path:line: a cell longer than
 * 65536 bytes (…)" when the buffer hit its bound, else libcsv's reason. */
schedopt_status schedopt_csv_parse_error(struct csv_parser *p, const char *path, size_t line,
                                         schedopt_error *err);

/* Most columns a header may have. */
#define SCHEDOPT_CSV_MAX_COLUMNS 10000

/* A cell is a plain decimal number (like 1, -2.5, 3e-4), with optional blanks
 * around it: no hexadecimal, inf or nan (as in problem files).  Returns 1 and
 * sets *out, or 0. */
int schedopt_csv_number(const char *s, size_t len, double *out);

/* Copy at most len bytes of s into buf (cap ≥ 8) for a message: control and
 * other non-ASCII bytes become '?', a cut is marked with "...". */
const char *schedopt_csv_printable(char *buf, size_t cap, const char *s, size_t len);

/* The header row of a CSV file: its cell texts in order. */
typedef struct schedopt_csv_header {
  char **names;
  size_t n, cap;
} schedopt_csv_header;

/* Append the next header cell (a UTF-8 byte-order mark before the first is
 * dropped); more than SCHEDOPT_CSV_MAX_COLUMNS is an error
 * ("path:line: the header has more than 10000 columns", SCHEDOPT_EPARSE). */
schedopt_status schedopt_csv_header_add(schedopt_csv_header *h, const char *s, size_t len,
                                        const char *path, size_t line, schedopt_error *err);
/* Index of the first column named `name`, or (size_t)-1. */
size_t schedopt_csv_header_find(const schedopt_csv_header *h, const char *name);
/* A (non-empty) name given twice is an error: "path:line: column 'lr'
 * appears twice (columns 2 and 3)" (1-based; the earliest repeat). */
schedopt_status schedopt_csv_header_check(const schedopt_csv_header *h, const char *path,
                                          size_t line, schedopt_error *err);
/* "'step', 'lr', 'loss'" into buf (for messages). */
const char *schedopt_csv_header_list(const schedopt_csv_header *h, char *buf, size_t cap);
void schedopt_csv_header_free(schedopt_csv_header *h);

/* Data row `row` (1 = the first row after the header) has nfields fields:
 * more than the header's is an error (its values belong to no column):
 * "path:line: row 3 has 4 fields, the header 3" (SCHEDOPT_EPARSE).  Fewer
 * are left to the reader (a column it needs is missing, or not). */
schedopt_status schedopt_csv_row_width(const schedopt_csv_header *h, size_t nfields,
                                       size_t row, const char *path, size_t line,
                                       schedopt_error *err);

#endif
