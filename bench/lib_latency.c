/* lib_latency.c - the latency of kiln_run through a model library.
 *
 *   cc -O2 -I runtime/include bench/lib_latency.c -ldl -o /tmp/lib_latency
 *   /tmp/lib_latency LIB.so [--runs N] [--batch B] [--threads T] [--device D]
 *
 * Loads the library with dlopen, opens a session, and times --runs calls of
 * kiln_run on a batch of B (default 1) after a warm-up of runs/10 (3 to 100),
 * with the wall clock around each call (what a program embedding the model
 * sees, copies in and out included). Prints the median, p10 and p90 in the
 * format of the executables' --bench, for bench/lib_vs_exe.sh to compare.
 */
#include "kiln.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lib_latency LIB.so [--runs N] [--batch B] "
                    "[--threads T] [--device D]\n");
    return 2;
  }
  int runs = 100, threads = 0;
  long long batch = 1;
  const char *device = "auto";
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--runs"))
      runs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch"))
      batch = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--device"))
      device = argv[i + 1];
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  void (*model)(kiln_model_info *) = (void (*)(kiln_model_info *))dlsym(lib, "kiln_model");
  void (*init)(kiln_options *) = (void (*)(kiln_options *))dlsym(lib, "kiln_options_init");
  kiln_status (*open)(const kiln_options *, kiln_session **) =
      (kiln_status(*)(const kiln_options *, kiln_session **))dlsym(lib, "kiln_open");
  kiln_status (*run)(kiln_session *, const float *, int64_t, float *) =
      (kiln_status(*)(kiln_session *, const float *, int64_t, float *))dlsym(lib, "kiln_run");
  const char *(*last)(void) = (const char *(*)(void))dlsym(lib, "kiln_last_error");
  const char *(*where)(const kiln_session *) =
      (const char *(*)(const kiln_session *))dlsym(lib, "kiln_device");
  kiln_model_info info;
  model(&info);
  size_t in = 1, out = 1;
  for (int i = 1; i < info.input_rank; ++i)
    in *= (size_t)info.input_shape[i];
  for (int i = 1; i < info.output_rank; ++i)
    out *= (size_t)info.output_shape[i];
  kiln_options o;
  init(&o);
  o.device = device;
  o.threads = threads;
  kiln_session *s;
  if (open(&o, &s) != KILN_OK) {
    fprintf(stderr, "%s\n", last());
    return 1;
  }
  float *x = calloc(in * (size_t)batch, sizeof(float));
  float *y = calloc(out * (size_t)batch, sizeof(float));
  double *ms = calloc((size_t)runs, sizeof(double));
  int warmup = runs / 10 < 3 ? 3 : runs / 10 > 100 ? 100 : runs / 10;
  for (int i = 0; i < warmup + runs; ++i) {
    double start = now();
    if (run(s, x, batch, y) != KILN_OK) {
      fprintf(stderr, "%s\n", last());
      return 1;
    }
    if (i >= warmup)
      ms[i - warmup] = now() - start;
  }
  qsort(ms, (size_t)runs, sizeof(double), compare);
#define AT(q) ms[(size_t)((q) * runs) < (size_t)runs ? (size_t)((q) * runs) : (size_t)runs - 1]
  printf("%s: batch %lld, %s, %d runs: median %.3f ms, p10 %.3f ms, p90 %.3f ms, "
         "%.1f images/s (library, kiln_run)\n",
         info.name, batch, where(s), runs, AT(0.5), AT(0.1), AT(0.9),
         (double)batch * 1000.0 / AT(0.5));
  return 0;
}
