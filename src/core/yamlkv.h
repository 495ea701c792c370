/* yamlkv.h — a YAML document as a flat list of dotted-path entries (private).
 *
 * libyaml parses the text; nested mappings become dotted paths
 * ("controls.lr.peak"), a sequence of scalars becomes one YKV_SEQ entry, and a
 * sequence containing mappings or sequences becomes a YKV_LIST entry whose
 * items are indexed paths ("curves.0.file").  Every mapping also gets a
 * YKV_MAP entry (so empty mappings and the position of a section's key are
 * known).  Entries keep document order: a container precedes its children.
 *
 * Rejected with a located message: syntax errors (SCHEDOPT_EPARSE), duplicate
 * keys, anchors, aliases, tags, non-scalar keys, keys containing '.', several
 * documents, an empty document and a top level that is not a mapping
 * (SCHEDOPT_EPARSE); more than YKV_MAX_BYTES of text, nesting deeper than
 * YKV_MAX_DEPTH or more than YKV_MAX_VALUES scalars (SCHEDOPT_ENOMEM). */
#ifndef SCHEDOPT_YAMLKV_H
#define SCHEDOPT_YAMLKV_H

#include <stdarg.h>
#include <stddef.h>
#include "schedopt/error.h"

#define YKV_MAX_BYTES ((size_t)16 << 20) /* 16 MiB */
#define YKV_MAX_DEPTH 64
#define YKV_MAX_VALUES 1000000

typedef enum ykv_kind {
  YKV_SCALAR = 0, /* value */
  YKV_SEQ = 1,    /* a sequence of scalars: items[0..n) */
  YKV_MAP = 2,    /* a mapping; its keys are entries "path.key" */
  YKV_LIST = 3    /* a sequence holding non-scalars; items are "path.<i>" */
} ykv_kind;

typedef struct ykv_entry {
  char *path;
  ykv_kind kind;
  char *value;          /* SCALAR: the text (never NULL) */
  int is_null;          /* SCALAR: plain "", "~", "null", "Null", "NULL" */
  int quoted;           /* SCALAR: quoted or block style (a string for sure) */
  char **items;         /* SEQ: n item texts */
  int *item_line, *item_col;
  size_t n;
  int line, col;        /* position of the value (1-based; 0 = not known) */
  int key_line, key_col;/* position of the key (the value's for seq items) */
  char *source;         /* file name, or e.g. "--set a.b=1" */
  int from_set;         /* set by the caller (problem.c: a --set override) */
} ykv_entry;

typedef struct ykv_list {
  ykv_entry *v;
  size_t n, cap;
} ykv_list;

void schedopt_ykv_init(ykv_list *l);
void schedopt_ykv_free(ykv_list *l);

/* Parse `len` bytes of `text` and append the entries to l (nothing is appended
 * on error).  root == NULL: the document must be a non-empty mapping; its keys
 * are top-level paths.  root != NULL: any node (scalar, sequence, mapping) is
 * accepted and placed at path `root`, and positions = 0 drops line/column
 * information (used for command-line values: messages name just `source`). */
schedopt_status schedopt_ykv_parse(ykv_list *l, const char *text, size_t len,
                          const char *source, const char *root, int positions,
                          schedopt_error *err);

/* Index of the entry with this exact path, or (size_t)-1. */
size_t schedopt_ykv_find(const ykv_list *l, const char *path);
ykv_entry *schedopt_ykv_get(const ykv_list *l, const char *path);

/* Remove entry i (keeps order). */
void schedopt_ykv_remove(ykv_list *l, size_t i);
/* Remove `path` itself (if self) and every entry below it ("path.*"). */
void schedopt_ykv_remove_tree(ykv_list *l, const char *path, int self);
/* Move all entries of src to the end of dst (src is left empty). */
schedopt_status schedopt_ykv_move(ykv_list *dst, ykv_list *src, schedopt_error *err);
/* Append a YKV_MAP entry (no position) for `path`, owned source copied. */
schedopt_status schedopt_ykv_add_map(ykv_list *l, const char *path, const char *source,
                            schedopt_error *err);

/* 1 if path is strictly below prefix ("a.b.c" under "a.b"). */
int schedopt_ykv_is_under(const char *path, const char *prefix);
/* Number of components ("a" → 1, "a.b" → 2). */
int schedopt_ykv_depth(const char *path);
/* Last component. */
const char *schedopt_ykv_leaf(const char *path);

/* "source:line:col" (value position), or "source" when the line is unknown.
 * key != 0 uses the key position. */
void schedopt_ykv_loc(const ykv_entry *e, int key, char *buf, size_t cap);

/* "<loc>: error: <msg>" into err, the location of e (its key's with key != 0)
 * or `nowhere` when e is NULL; returns code. */
schedopt_status schedopt_ykv_error(schedopt_error *err, schedopt_status code, const ykv_entry *e, int key,
                          const char *nowhere, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
schedopt_status schedopt_ykv_verror(schedopt_error *err, schedopt_status code, const ykv_entry *e,
                           int key, const char *nowhere, const char *fmt, va_list ap);

/* strdup (NULL for NULL or out of memory). */
char *schedopt_ykv_strdup(const char *s);
/* The folder of a file name ("a/b.yaml" → "a", "/b.yaml" → "/"), NULL without
 * a '/' (or out of memory); its name without folder and .yaml/.yml. */
char *schedopt_ykv_dir_of(const char *path);
char *schedopt_ykv_stem_of(const char *path);
/* A file name given by entry e joined to `base` (the YAML file's folder):
 * as written when absolute, from a --set override (relative to the current
 * folder) or base is NULL.  malloc'ed; NULL when out of memory. */
char *schedopt_ykv_resolve(const char *base, const ykv_entry *e);

/* A whole text file (malloc'ed, NUL-terminated) of at most YKV_MAX_BYTES (a
 * larger file is refused unread: SCHEDOPT_ENOMEM); a regular file only (a
 * FIFO, directory or device is refused: SCHEDOPT_EIO); "path: error: ..."
 * messages.  schedopt_infile_read (core/infile.h) with the YAML limit. */
schedopt_status schedopt_ykv_read_file(const char *path, char **text, size_t *len, schedopt_error *err);

/* --set overrides "KEY=VALUE" (VALUE a YAML scalar or flow collection).
 * schedopt_ykv_set_key checks the assignment and copies its key (spaces around it
 * trimmed; dotted names, no empty component) into key[cap]; `example` (like
 * "model.b=2") is quoted in the messages.  schedopt_ykv_set applies it to l: the value
 * is parsed at `key` (entries marked from_set, source "--set KEY=VALUE",
 * no positions) and replaces the key and everything below it; a scalar or
 * sequence at an ancestor gives way; rules (may be NULL) may then remove
 * more (the new value passed when it is one scalar, else NULL); missing
 * ancestors become mappings; the new entries go last. */
typedef void (*ykv_set_rules)(ykv_list *l, const char *key, const char *scalar, void *ctx);
schedopt_status schedopt_ykv_set_key(const char *assignment, const char *example, char *key, size_t cap,
                            schedopt_error *err);
schedopt_status schedopt_ykv_set(ykv_list *l, const char *assignment, const char *example,
                        ykv_set_rules rules, void *ctx, schedopt_error *err);

/* Short description of what an entry holds, for type errors:
 * "'abc'", "an empty value", "a sequence", "a mapping". */
void schedopt_ykv_describe(const ykv_entry *e, char *buf, size_t cap);

/* Whether number text s has a leading zero before a digit ("010", "-07",
 * "00.5": YAML 1.1 reads 010 as octal 8, YAML 1.2 as 10, so both readers of
 * a file must never disagree: refused).  With buf, the message
 * "'010' has a leading zero (octal in YAML 1.1): write 10 or 8". */
int schedopt_ykv_leading_zero(const char *s, char *buf, size_t cap);

#endif
