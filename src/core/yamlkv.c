/* yamlkv.c — YAML text → flat list of dotted-path entries (see yamlkv.h). */
#include "core/yamlkv.h"

#include "core/infile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- small helpers ------------------------------------------------------ */

char *schedopt_ykv_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
#define xstrdup schedopt_ykv_strdup

char *schedopt_ykv_dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return NULL;
  size_t k = (size_t)(slash - path);
  if (k == 0) k = 1; /* "/x.yaml" → "/" */
  char *d = malloc(k + 1);
  if (d) {
    memcpy(d, path, k);
    d[k] = '\0';
  }
  return d;
}

char *schedopt_ykv_stem_of(const char *path) {
  const char *b = strrchr(path, '/');
  char *s = xstrdup(b ? b + 1 : path);
  if (!s) return NULL;
  size_t k = strlen(s);
  if (k > 5 && !strcmp(s + k - 5, ".yaml")) s[k - 5] = '\0';
  else if (k > 4 && !strcmp(s + k - 4, ".yml")) s[k - 4] = '\0';
  return s;
}

char *schedopt_ykv_resolve(const char *base, const ykv_entry *e) {
  const char *f = e->value;
  if (e->from_set || !base || f[0] == '/') return xstrdup(f);
  size_t a = strlen(base), b = strlen(f);
  char *s = malloc(a + b + 2);
  if (!s) return NULL;
  memcpy(s, base, a);
  s[a] = '/';
  memcpy(s + a + 1, f, b + 1);
  return s;
}

static char *join_path(const char *prefix, const char *key) {
  size_t a = strlen(prefix), b = strlen(key);
  char *d = malloc(a + b + 2);
  if (!d) return NULL;
  if (a) {
    memcpy(d, prefix, a);
    d[a] = '.';
    memcpy(d + a + 1, key, b + 1);
  } else {
    memcpy(d, key, b + 1);
  }
  return d;
}

static int text_is_null(const char *s) {
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
         !strcmp(s, "NULL");
}

static void entry_free(ykv_entry *e) {
  free(e->path);
  free(e->value);
  for (size_t i = 0; i < e->n; i++) free(e->items[i]);
  free(e->items);
  free(e->item_line);
  free(e->item_col);
  free(e->source);
  memset(e, 0, sizeof *e);
}

void schedopt_ykv_init(ykv_list *l) { memset(l, 0, sizeof *l); }

void schedopt_ykv_free(ykv_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) entry_free(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* A zeroed entry at the end of l, or NULL. */
static ykv_entry *push_entry(ykv_list *l) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 32;
    ykv_entry *v = realloc(l->v, cap * sizeof *v);
    if (!v) return NULL;
    l->v = v;
    l->cap = cap;
  }
  ykv_entry *e = &l->v[l->n++];
  memset(e, 0, sizeof *e);
  return e;
}

size_t schedopt_ykv_find(const ykv_list *l, const char *path) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->v[i].path, path)) return i;
  return (size_t)-1;
}

ykv_entry *schedopt_ykv_get(const ykv_list *l, const char *path) {
  size_t i = schedopt_ykv_find(l, path);
  return i == (size_t)-1 ? NULL : &l->v[i];
}

void schedopt_ykv_remove(ykv_list *l, size_t i) {
  if (i >= l->n) return;
  entry_free(&l->v[i]);
  memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
  l->n--;
}

int schedopt_ykv_is_under(const char *path, const char *prefix) {
  size_t k = strlen(prefix);
  return strncmp(path, prefix, k) == 0 && path[k] == '.';
}

void schedopt_ykv_remove_tree(ykv_list *l, const char *path, int self) {
  size_t j = 0;
  for (size_t i = 0; i < l->n; i++) {
    ykv_entry *e = &l->v[i];
    if ((self && !strcmp(e->path, path)) || schedopt_ykv_is_under(e->path, path)) {
      entry_free(e);
      continue;
    }
    if (j != i) l->v[j] = *e;
    j++;
  }
  l->n = j;
}

schedopt_status schedopt_ykv_move(ykv_list *dst, ykv_list *src, schedopt_error *err) {
  if (dst->n + src->n > dst->cap) {
    size_t cap = dst->cap ? dst->cap : 32;
    while (cap < dst->n + src->n) cap *= 2;
    ykv_entry *v = realloc(dst->v, cap * sizeof *v);
    if (!v) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    dst->v = v;
    dst->cap = cap;
  }
  if (src->n) memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
  dst->n += src->n;
  free(src->v);
  schedopt_ykv_init(src);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_ykv_add_map(ykv_list *l, const char *path, const char *source,
                            schedopt_error *err) {
  ykv_entry *e = push_entry(l);
  if (!e) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  e->kind = YKV_MAP;
  e->path = xstrdup(path);
  e->source = xstrdup(source);
  if (!e->path || !e->source) {
    entry_free(e);
    l->n--;
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  return SCHEDOPT_OK;
}

int schedopt_ykv_depth(const char *path) {
  int d = 1;
  for (; *path; path++) d += *path == '.';
  return d;
}

const char *schedopt_ykv_leaf(const char *path) {
  const char *dot = strrchr(path, '.');
  return dot ? dot + 1 : path;
}

void schedopt_ykv_loc(const ykv_entry *e, int key, char *buf, size_t cap) {
  int line = key ? e->key_line : e->line, col = key ? e->key_col : e->col;
  if (line > 0)
    snprintf(buf, cap, "%s:%d:%d", e->source, line, col);
  else
    snprintf(buf, cap, "%s", e->source);
}

schedopt_status schedopt_ykv_verror(schedopt_error *err, schedopt_status code, const ykv_entry *e,
                           int key, const char *nowhere, const char *fmt, va_list ap) {
  char loc[512], msg[SCHEDOPT_ERRMSG_LEN];
  if (e)
    schedopt_ykv_loc(e, key, loc, sizeof loc);
  else
    snprintf(loc, sizeof loc, "%s", nowhere ? nowhere : "input");
  vsnprintf(msg, sizeof msg, fmt, ap);
  return schedopt_error_set(err, code, "%s: error: %s", loc, msg);
}

schedopt_status schedopt_ykv_error(schedopt_error *err, schedopt_status code, const ykv_entry *e, int key,
                          const char *nowhere, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  schedopt_status st = schedopt_ykv_verror(err, code, e, key, nowhere, fmt, ap);
  va_end(ap);
  return st;
}

schedopt_status schedopt_ykv_read_file(const char *path, char **text, size_t *len, schedopt_error *err) {
  return schedopt_infile_read(path, YKV_MAX_BYTES, NULL, text, len, err);
}

schedopt_status schedopt_ykv_set_key(const char *assignment, const char *example, char *key, size_t cap,
                            schedopt_error *err) {
  const char *eq = assignment ? strchr(assignment, '=') : NULL;
  if (!eq)
    return schedopt_error_set(err, SCHEDOPT_EINVAL, "--set %s: error: expected KEY=VALUE (like %s)",
                              assignment ? assignment : "", example);
  const char *k0 = assignment, *k1 = eq;
  while (k0 < k1 && isspace((unsigned char)*k0)) k0++;
  while (k1 > k0 && isspace((unsigned char)k1[-1])) k1--;
  size_t klen = (size_t)(k1 - k0);
  if (klen == 0 || klen >= cap)
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "--set %s: error: expected KEY=VALUE with a dotted key (like %s)",
                              assignment, example);
  memcpy(key, k0, klen);
  key[klen] = '\0';
  for (size_t i = 0; i < klen; i++)
    if (isspace((unsigned char)key[i]) ||
        (key[i] == '.' && (i == 0 || i + 1 == klen || key[i + 1] == '.')))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "--set %s: error: bad key '%s' (expected dotted names like %s)",
                                assignment, key, example);
  return SCHEDOPT_OK;
}

schedopt_status schedopt_ykv_set(ykv_list *l, const char *assignment, const char *example,
                        ykv_set_rules rules, void *ctx, schedopt_error *err) {
  char key[512], source[SCHEDOPT_ERRMSG_LEN / 2];
  schedopt_status st = schedopt_ykv_set_key(assignment, example, key, sizeof key, err);
  if (st) return st;
  snprintf(source, sizeof source, "--set %s", assignment);
  const char *value = strchr(assignment, '=') + 1;
  ykv_list tmp;
  schedopt_ykv_init(&tmp);
  if ((st = schedopt_ykv_parse(&tmp, value, strlen(value), source, key, 0, err))) return st;
  for (size_t i = 0; i < tmp.n; i++) tmp.v[i].from_set = 1;
  /* a scalar or sequence at an ancestor gives way to the new keys */
  const size_t klen = strlen(key);
  char anc[512];
  for (size_t i = 0; i < klen; i++) {
    if (key[i] != '.') continue;
    memcpy(anc, key, i);
    anc[i] = '\0';
    size_t j = schedopt_ykv_find(l, anc);
    if (j != (size_t)-1 && l->v[j].kind != YKV_MAP && l->v[j].kind != YKV_LIST) schedopt_ykv_remove(l, j);
  }
  schedopt_ykv_remove_tree(l, key, 1);
  if (rules) rules(l, key, tmp.n == 1 && tmp.v[0].kind == YKV_SCALAR ? tmp.v[0].value : NULL, ctx);
  /* missing ancestors become mappings */
  for (size_t i = 0; i < klen && !st; i++) {
    if (key[i] != '.') continue;
    memcpy(anc, key, i);
    anc[i] = '\0';
    if (schedopt_ykv_find(l, anc) == (size_t)-1 && !(st = schedopt_ykv_add_map(l, anc, source, err)))
      l->v[l->n - 1].from_set = 1;
  }
  if (!st) st = schedopt_ykv_move(l, &tmp, err);
  schedopt_ykv_free(&tmp);
  return st;
}

void schedopt_ykv_describe(const ykv_entry *e, char *buf, size_t cap) {
  switch (e->kind) {
  case YKV_SCALAR:
    if (e->is_null)
      snprintf(buf, cap, "an empty value");
    else
      snprintf(buf, cap, "'%.200s'", e->value);
    break;
  case YKV_SEQ: snprintf(buf, cap, "a sequence"); break;
  case YKV_LIST: snprintf(buf, cap, "a sequence of mappings or sequences"); break;
  case YKV_MAP: snprintf(buf, cap, "a mapping"); break;
  }
}

/* ---- the parser ---------------------------------------------------------- */

typedef struct frame {
  int is_map;
  char *path;        /* container path ("" for the document root mapping) */
  /* mapping: the pending key */
  char *key;
  int key_line, key_col;
  /* sequence */
  size_t entry;      /* index of the container entry */
  size_t index;      /* next item index */
  size_t icap;       /* capacity of the entry's item arrays */
} frame;

typedef struct parse_state {
  ykv_list out;
  const char *source;
  const char *root;  /* NULL: document root must be a mapping */
  int positions;
  schedopt_error *err;
  frame stack[YKV_MAX_DEPTH + 1];
  int depth;
  int root_seen;
  size_t nvalues;
  /* path hash: slots hold entry index + 1 (0 = empty) */
  size_t *hash;
  size_t hcap, hn;
} parse_state;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Entry index with this path, or (size_t)-1. */
static size_t hash_lookup(const parse_state *st, const char *path) {
  if (!st->hcap) return (size_t)-1;
  size_t m = st->hcap - 1;
  for (size_t i = hash_str(path) & m;; i = (i + 1) & m) {
    size_t s = st->hash[i];
    if (!s) return (size_t)-1;
    if (!strcmp(st->out.v[s - 1].path, path)) return s - 1;
  }
}

static int hash_insert(parse_state *st, size_t idx) {
  if (2 * (st->hn + 1) > st->hcap) {
    size_t cap = st->hcap ? 2 * st->hcap : 64;
    size_t *h = calloc(cap, sizeof *h);
    if (!h) return 0;
    for (size_t i = 0; i < st->hcap; i++) {
      size_t s = st->hash[i];
      if (!s) continue;
      size_t j = hash_str(st->out.v[s - 1].path) & (cap - 1);
      while (h[j]) j = (j + 1) & (cap - 1);
      h[j] = s;
    }
    free(st->hash);
    st->hash = h;
    st->hcap = cap;
  }
  size_t j = hash_str(st->out.v[idx].path) & (st->hcap - 1);
  while (st->hash[j]) j = (j + 1) & (st->hcap - 1);
  st->hash[j] = idx + 1;
  st->hn++;
  return 1;
}

static schedopt_status fail_at(parse_state *st, schedopt_status code,
                               yaml_mark_t mark, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static schedopt_status fail_at(parse_state *st, schedopt_status code,
                               yaml_mark_t mark, const char *fmt, ...) {
  char msg[SCHEDOPT_ERRMSG_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (st->positions)
    return schedopt_error_set(st->err, code, "%s:%d:%d: error: %s", st->source,
                              (int)mark.line + 1, (int)mark.column + 1, msg);
  return schedopt_error_set(st->err, code, "%s: error: %s", st->source, msg);
}

static schedopt_status nomem(parse_state *st) {
  return schedopt_error_set(st->err, SCHEDOPT_ENOMEM, "%s: error: out of memory",
                            st->source);
}

/* Create an entry for a node at `path` (takes ownership of path). */
static schedopt_status new_entry(parse_state *st, char *path, ykv_kind kind,
                                 yaml_mark_t mark, int key_line, int key_col,
                                 size_t *idx) {
  ykv_entry *e = push_entry(&st->out);
  if (!e) {
    free(path);
    return nomem(st);
  }
  e->path = path;
  e->kind = kind;
  e->source = xstrdup(st->source);
  if (!e->source) return nomem(st);
  if (st->positions) {
    e->line = (int)mark.line + 1;
    e->col = (int)mark.column + 1;
    e->key_line = key_line ? key_line : e->line;
    e->key_col = key_line ? key_col : e->col;
  }
  *idx = st->out.n - 1;
  if (!hash_insert(st, *idx)) return nomem(st);
  return SCHEDOPT_OK;
}

/* A scalar entry holding `text` (plain: not quoted). */
static schedopt_status scalar_entry(parse_state *st, char *path, const yaml_event_t *ev,
                                    int key_line, int key_col, const char *text, int plain) {
  size_t idx;
  schedopt_status rc = new_entry(st, path, YKV_SCALAR, ev->start_mark, key_line, key_col, &idx);
  if (rc) return rc;
  ykv_entry *e = &st->out.v[idx];
  e->value = xstrdup(text);
  if (!e->value) return nomem(st);
  e->is_null = plain && text_is_null(text);
  e->quoted = !plain;
  return SCHEDOPT_OK;
}

/* A sequence that receives a non-scalar item turns into a YKV_LIST: its
 * scalar items so far become entries "path.<i>". */
static schedopt_status seq_to_list(parse_state *st, frame *f) {
  ykv_entry *c = &st->out.v[f->entry];
  if (c->kind == YKV_LIST) return SCHEDOPT_OK;
  c->kind = YKV_LIST;
  size_t n = c->n;
  char **items = c->items;
  int *il = c->item_line, *ic = c->item_col;
  c->items = NULL;
  c->item_line = c->item_col = NULL;
  c->n = 0;
  schedopt_status rc = SCHEDOPT_OK;
  for (size_t i = 0; i < n; i++) {
    if (rc) {
      free(items[i]);
      continue;
    }
    char num[32];
    snprintf(num, sizeof num, "%zu", i);
    char *path = join_path(f->path, num);
    if (!path) {
      free(items[i]);
      rc = nomem(st);
      continue;
    }
    yaml_mark_t m = {0, (size_t)(il[i] > 0 ? il[i] - 1 : 0),
                     (size_t)(ic[i] > 0 ? ic[i] - 1 : 0)};
    size_t idx;
    rc = new_entry(st, path, YKV_SCALAR, m, 0, 0, &idx);
    if (rc) {
      free(items[i]);
      continue;
    }
    ykv_entry *e = &st->out.v[idx];
    e->value = items[i];
    e->is_null = text_is_null(items[i]);
  }
  free(items);
  free(il);
  free(ic);
  return rc;
}

/* Where the next node goes: its path (malloc'ed) and key position.  Returns
 * an error for a non-scalar key. */
static schedopt_status place(parse_state *st, const yaml_event_t *ev, int scalar,
                             char **path, int *kl, int *kc) {
  *path = NULL;
  *kl = *kc = 0;
  frame *f = &st->stack[st->depth - 1];
  if (f->is_map) {
    if (!f->key) {
      if (!scalar)
        return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                       "mapping keys must be plain scalars (like 'name:'), "
                       "not a %s",
                       ev->type == YAML_MAPPING_START_EVENT ? "mapping"
                                                            : "sequence");
      return SCHEDOPT_OK; /* caller handles the key */
    }
    *path = f->key;
    *kl = f->key_line;
    *kc = f->key_col;
    f->key = NULL;
    return SCHEDOPT_OK;
  }
  if (!scalar) {
    schedopt_status rc = seq_to_list(st, f);
    if (rc) return rc;
  }
  ykv_entry *c = &st->out.v[f->entry];
  if (c->kind == YKV_LIST) {
    char num[32];
    snprintf(num, sizeof num, "%zu", f->index);
    *path = join_path(f->path, num);
    if (!*path) return nomem(st);
  }
  f->index++;
  return SCHEDOPT_OK;
}

static schedopt_status push_frame(parse_state *st, int is_map, const char *path,
                                  size_t entry, yaml_mark_t mark) {
  if (st->depth >= YKV_MAX_DEPTH)
    return fail_at(st, SCHEDOPT_ENOMEM, mark,
                   "nesting is deeper than %d levels", YKV_MAX_DEPTH);
  frame *f = &st->stack[st->depth];
  memset(f, 0, sizeof *f);
  f->is_map = is_map;
  f->entry = entry;
  f->path = xstrdup(path);
  if (!f->path) return nomem(st);
  st->depth++;
  return SCHEDOPT_OK;
}

static void pop_frame(parse_state *st) {
  frame *f = &st->stack[--st->depth];
  free(f->path);
  free(f->key);
  f->path = f->key = NULL;
}

static schedopt_status on_scalar(parse_state *st, const yaml_event_t *ev) {
  const char *text = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
              ev->data.scalar.style == YAML_ANY_SCALAR_STYLE;
  if (++st->nvalues > YKV_MAX_VALUES)
    return fail_at(st, SCHEDOPT_ENOMEM, ev->start_mark,
                   "more than %d values; put long tables in a CSV file",
                   YKV_MAX_VALUES);
  if (strlen(text) != len)
    return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                   "value contains a NUL character");

  if (st->depth == 0) { /* the document root */
    st->root_seen = 1;
    if (!st->root) {
      if (plain && text_is_null(text))
        return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                       "empty document: expected a mapping of keys "
                       "(like 'model:', 'budget:', 'controls:')");
      return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                     "the top level must be a mapping of keys (like "
                     "'model:'), not a scalar ('%.60s')", text);
    }
    char *path = xstrdup(st->root);
    if (!path) return nomem(st);
    return scalar_entry(st, path, ev, 0, 0, text, plain);
  }

  frame *f = &st->stack[st->depth - 1];
  if (f->is_map && !f->key) { /* a key */
    if (!*text || (plain && text_is_null(text)))
      return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark, "empty key");
    if (strchr(text, '.'))
      return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                     "key '%.100s' contains '.', which separates nested keys; "
                     "write a nested mapping instead", text);
    char *path = join_path(f->path, text);
    if (!path) return nomem(st);
    size_t first = hash_lookup(st, path);
    if (first != (size_t)-1) {
      schedopt_status rc;
      if (st->positions)
        rc = fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                     "duplicate key '%s' (first at line %d)", path,
                     st->out.v[first].key_line);
      else
        rc = fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                     "duplicate key '%s'", path);
      free(path);
      return rc;
    }
    f->key = path;
    f->key_line = (int)ev->start_mark.line + 1;
    f->key_col = (int)ev->start_mark.column + 1;
    return SCHEDOPT_OK;
  }

  char *path;
  int kl, kc;
  schedopt_status rc = place(st, ev, 1, &path, &kl, &kc);
  if (rc) return rc;
  if (!path) { /* an item of a sequence of scalars */
    ykv_entry *c = &st->out.v[f->entry];
    if (c->n == f->icap) {
      size_t cap = f->icap ? 2 * f->icap : 8;
      char **it = realloc(c->items, cap * sizeof *it);
      if (!it) return nomem(st);
      c->items = it;
      int *il = realloc(c->item_line, cap * sizeof *il);
      if (!il) return nomem(st);
      c->item_line = il;
      int *ic = realloc(c->item_col, cap * sizeof *ic);
      if (!ic) return nomem(st);
      c->item_col = ic;
      f->icap = cap;
    }
    char *v = xstrdup(text);
    if (!v) return nomem(st);
    c->items[c->n] = v;
    c->item_line[c->n] = st->positions ? (int)ev->start_mark.line + 1 : 0;
    c->item_col[c->n] = st->positions ? (int)ev->start_mark.column + 1 : 0;
    c->n++;
    return SCHEDOPT_OK;
  }
  return scalar_entry(st, path, ev, kl, kc, text, plain);
}

static schedopt_status on_start(parse_state *st, const yaml_event_t *ev) {
  int is_map = ev->type == YAML_MAPPING_START_EVENT;
  if (st->depth == 0) {
    st->root_seen = 1;
    if (!st->root) {
      if (!is_map)
        return fail_at(st, SCHEDOPT_EPARSE, ev->start_mark,
                       "the top level must be a mapping of keys (like "
                       "'model:'), not a sequence");
      return push_frame(st, 1, "", (size_t)-1, ev->start_mark);
    }
    char *path = xstrdup(st->root);
    if (!path) return nomem(st);
    size_t idx;
    schedopt_status rc = new_entry(st, path, is_map ? YKV_MAP : YKV_SEQ,
                                   ev->start_mark, 0, 0, &idx);
    if (rc) return rc;
    return push_frame(st, is_map, st->root, idx, ev->start_mark);
  }
  char *path;
  int kl, kc;
  schedopt_status rc = place(st, ev, 0, &path, &kl, &kc);
  if (rc) return rc;
  size_t idx;
  rc = new_entry(st, path, is_map ? YKV_MAP : YKV_SEQ, ev->start_mark, kl, kc,
                 &idx);
  if (rc) return rc;
  return push_frame(st, is_map, st->out.v[idx].path, idx, ev->start_mark);
}

/* Line and column (1-based) of byte offset off in text. */
static void offset_pos(const char *text, size_t len, size_t off, int *line,
                       int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    if (text[i] == '\n') {
      l++;
      c = 1;
    } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static schedopt_status libyaml_error(parse_state *st, const yaml_parser_t *P,
                                     const char *text, size_t len) {
  if (P->error == YAML_MEMORY_ERROR) return nomem(st);
  const char *problem = P->problem ? P->problem : "malformed YAML";
  char ctx[256] = "";
  if (P->context && st->positions)
    snprintf(ctx, sizeof ctx, " (%s at line %d)", P->context,
             (int)P->context_mark.line + 1);
  else if (P->context)
    snprintf(ctx, sizeof ctx, " (%s)", P->context);
  int line, col;
  if (P->error == YAML_READER_ERROR) {
    offset_pos(text, len, P->problem_offset, &line, &col);
    char extra[64] = "";
    if (P->problem_value != -1)
      snprintf(extra, sizeof extra, " (byte 0x%02X)", (unsigned)P->problem_value);
    if (st->positions)
      return schedopt_error_set(st->err, SCHEDOPT_EPARSE,
                                "%s:%d:%d: error: %s%s", st->source, line, col,
                                problem, extra);
    return schedopt_error_set(st->err, SCHEDOPT_EPARSE, "%s: error: %s%s",
                              st->source, problem, extra);
  }
  line = (int)P->problem_mark.line + 1;
  col = (int)P->problem_mark.column + 1;
  if (st->positions)
    return schedopt_error_set(st->err, SCHEDOPT_EPARSE, "%s:%d:%d: error: %s%s",
                              st->source, line, col, problem, ctx);
  return schedopt_error_set(st->err, SCHEDOPT_EPARSE, "%s: error: %s%s",
                            st->source, problem, ctx);
}

schedopt_status schedopt_ykv_parse(ykv_list *l, const char *text, size_t len,
                          const char *source, const char *root, int positions,
                          schedopt_error *err) {
  parse_state st;
  memset(&st, 0, sizeof st);
  schedopt_ykv_init(&st.out);
  st.source = source ? source : "<input>";
  st.root = root;
  st.positions = positions;
  st.err = err;
  if (len > YKV_MAX_BYTES)
    return schedopt_error_set(err, SCHEDOPT_ENOMEM,
                              "%s: error: the file is larger than %zu MiB",
                              st.source, YKV_MAX_BYTES >> 20);

  yaml_parser_t P;
  if (!yaml_parser_initialize(&P)) return nomem(&st);
  yaml_parser_set_input_string(&P, (const unsigned char *)text, len);

  schedopt_status rc = SCHEDOPT_OK;
  int ndocs = 0, done = 0;
  while (!rc && !done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&P, &ev)) {
      rc = libyaml_error(&st, &P, text, len);
      break;
    }
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: done = 1; break;
    case YAML_DOCUMENT_START_EVENT:
      if (++ndocs > 1)
        rc = fail_at(&st, SCHEDOPT_EPARSE, ev.start_mark,
                     "only one YAML document is allowed (found a second '---')");
      break;
    case YAML_ALIAS_EVENT:
      rc = fail_at(&st, SCHEDOPT_EPARSE, ev.start_mark,
                   "aliases (*%s) are not supported; write the value out",
                   (const char *)ev.data.alias.anchor);
      break;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      const yaml_char_t *anchor, *tag;
      if (ev.type == YAML_SCALAR_EVENT) {
        anchor = ev.data.scalar.anchor;
        tag = ev.data.scalar.tag;
      } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
        anchor = ev.data.sequence_start.anchor;
        tag = ev.data.sequence_start.tag;
      } else {
        anchor = ev.data.mapping_start.anchor;
        tag = ev.data.mapping_start.tag;
      }
      if (anchor)
        rc = fail_at(&st, SCHEDOPT_EPARSE, ev.start_mark,
                     "anchors (&%s) are not supported", (const char *)anchor);
      else if (tag)
        rc = fail_at(&st, SCHEDOPT_EPARSE, ev.start_mark,
                     "tags (%s) are not supported", (const char *)tag);
      else if (ev.type == YAML_SCALAR_EVENT)
        rc = on_scalar(&st, &ev);
      else
        rc = on_start(&st, &ev);
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (st.depth > 0) pop_frame(&st);
      break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&P);

  if (!rc && !st.root_seen && root) { /* an empty value: null */
    char *path = xstrdup(root);
    yaml_mark_t m = {0, 0, 0};
    size_t idx;
    if (!path) rc = nomem(&st);
    if (!rc) rc = new_entry(&st, path, YKV_SCALAR, m, 0, 0, &idx);
    if (!rc) {
      st.out.v[idx].value = xstrdup("");
      st.out.v[idx].is_null = 1;
      if (!st.out.v[idx].value) rc = nomem(&st);
    }
  } else if (!rc && !st.root_seen)
    rc = schedopt_error_set(err, SCHEDOPT_EPARSE,
                            "%s: error: empty document: expected a mapping of "
                            "keys (like 'model:', 'budget:', 'controls:')",
                            st.source);
  else if (!rc && !root && st.out.n == 0)
    rc = schedopt_error_set(err, SCHEDOPT_EPARSE,
                            "%s: error: empty document: the top-level mapping "
                            "has no keys", st.source);

  while (st.depth > 0) pop_frame(&st);
  free(st.hash);
  if (!rc) rc = schedopt_ykv_move(l, &st.out, err);
  schedopt_ykv_free(&st.out);
  return rc;
}

/* The integer part of a number starts with 0 and another digit ("010",
 * "-07", "00.5"): YAML 1.1 reads 010 as octal 8, YAML 1.2 as 10. */
static int has_leading_zero(const char *s) {
  if (*s == '+' || *s == '-') s++;
  return s[0] == '0' && isdigit((unsigned char)s[1]);
}

/* "'010' has a leading zero (octal in YAML 1.1): write 10 or 8" for a
 * number s with has_leading_zero(s). */
static const char *leading_zero_text(const char *s, char *buf, size_t cap) {
  const char *q = s, *sign = "";
  if (*q == '+' || *q == '-') sign = *q++ == '-' ? "-" : "";
  const char *d = q; /* without the leading zeros (one before a non-digit) */
  while (d[0] == '0' && isdigit((unsigned char)d[1])) d++;
  size_t nd = strspn(q, "0123456789"), no = strspn(q, "01234567");
  unsigned long long oct = 0;
  int octal = !q[nd] && no == nd && nd <= 21; /* an integer YAML 1.1 reads as octal */
  for (size_t i = 0; octal && i < nd; i++) oct = 8 * oct + (unsigned long long)(q[i] - '0');
  char dec[32];
  if (octal && snprintf(dec, sizeof dec, "%llu", oct) > 0 && strcmp(dec, d))
    snprintf(buf, cap, "'%.200s' has a leading zero (octal in YAML 1.1): write %s%.200s or %s%s",
             s, sign, d, sign, dec);
  else
    snprintf(buf, cap, "'%.200s' has a leading zero: write %s%.200s", s, sign, d);
  return buf;
}

int schedopt_ykv_leading_zero(const char *s, char *buf, size_t cap) {
  if (!has_leading_zero(s)) return 0;
  if (buf && cap) leading_zero_text(s, buf, cap);
  return 1;
}
