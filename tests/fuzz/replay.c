/* Replays fuzz inputs through a fuzz target without libFuzzer: every file
 * named on the command line, or found (not recursively) in a folder named
 * there, is read whole and passed to LLVMFuzzerTestOneInput.  The target
 * aborts on a finding, so a clean exit means every input passes. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  size_t k;
  while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      unsigned char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "replay: out of memory reading %s\n", path);
    return 1;
  }
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  int bad = 0;
  size_t count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "replay: no such file or folder: %s\n", argv[i]);
      bad = 1;
      continue;
    }
    if (!S_ISDIR(sb.st_mode)) {
      bad |= run_file(argv[i]);
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) {
      bad = 1;
      continue;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue; /* ., .., .gitkeep */
      if (nn == cap) {
        char **nb = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *nb);
        if (!nb) break;
        names = nb;
      }
      size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
      if (!(names[nn] = malloc(len))) break;
      snprintf(names[nn++], len, "%s/%s", argv[i], e->d_name);
    }
    closedir(d);
    if (nn) qsort(names, nn, sizeof *names, by_name);
    for (size_t j = 0; j < nn; j++) {
      bad |= run_file(names[j]);
      count++;
      free(names[j]);
    }
    free(names);
  }
  printf("replay: %zu inputs passed\n", count);
  return bad;
}
