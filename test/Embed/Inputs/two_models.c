/* two_models.c - loads two kiln model libraries into one process with dlopen
 * (as Python's ctypes does) and runs both (a lit helper).
 *
 *   two_models LIB1.so LIB2.so
 *
 * Each library has its own copy of the runtime; their symbols stay apart. */
#include "kiln.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*model_fn)(kiln_model_info *);
typedef void (*init_fn)(kiln_options *);
typedef kiln_status (*open_fn)(const kiln_options *, kiln_session **);
typedef kiln_status (*run_fn)(kiln_session *, const float *, int64_t, float *);
typedef void (*close_fn)(kiln_session *);
typedef const char *(*error_fn)(void);

static void run(const char *path) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "FAILED: %s\n", dlerror());
    exit(1);
  }
  model_fn model = (model_fn)dlsym(lib, "kiln_model");
  init_fn init = (init_fn)dlsym(lib, "kiln_options_init");
  open_fn open = (open_fn)dlsym(lib, "kiln_open");
  run_fn runfn = (run_fn)dlsym(lib, "kiln_run");
  close_fn close = (close_fn)dlsym(lib, "kiln_close");
  error_fn error = (error_fn)dlsym(lib, "kiln_last_error");
  kiln_model_info info;
  model(&info);
  size_t in = 1, out = 1;
  for (int i = 1; i < info.input_rank; ++i)
    in *= (size_t)info.input_shape[i];
  for (int i = 1; i < info.output_rank; ++i)
    out *= (size_t)info.output_shape[i];
  printf("%s: batch %lld, embedded weights %d, %zu outputs\n", info.name,
         (long long)info.input_shape[0], info.embedded_weights, out);
  kiln_options o;
  init(&o);
  o.device = "cpu";
  kiln_session *s;
  if (open(&o, &s) != KILN_OK) {
    fprintf(stderr, "FAILED: %s\n", error());
    exit(1);
  }
  float *x = calloc(in, sizeof(float)), *y = calloc(out, sizeof(float));
  if (runfn(s, x, 1, y) != KILN_OK) {
    fprintf(stderr, "FAILED: %s\n", error());
    exit(1);
  }
  close(s);
  free(x);
  free(y);
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  run(argv[1]);
  run(argv[2]);
  printf("both ran\n");
  return 0;
}
