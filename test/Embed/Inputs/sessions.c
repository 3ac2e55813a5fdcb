/* sessions.c - a C program using a kiln model library (a lit helper).
 *
 *   sessions OUTDIR [WEIGHTS] [--image FILE] [--race]
 *
 * Checks the C interface of kiln.h as a program linking the library sees it:
 *  1. the model's description (kiln_model), and that every misuse is a status
 *     and a message, never an exit: a wrong options.size, an unknown device,
 *     a missing weights file, a batch of 0, null buffers, a missing image;
 *  2. one session runs a batch of 2N + 1 samples (passes of N) on the CPU;
 *     the input and the output are written to OUTDIR/input.npy and
 *     OUTDIR/output.npy (for comparison with the executable);
 *  3. four threads, each with its own session of two CPU threads, run the
 *     same batch and a batch of one, three times, concurrently: every
 *     output must equal the first session's, bit for bit; with --image they
 *     also decode FILE (kiln_load_image) and must get the first decode.
 * With --race two threads share one session (which kiln.h forbids), so that
 * ThreadSanitizer has a race to report: the test that it would see one.
 * Prints "OK" at the end; exits 1 on the first failure.
 */
#include "kiln.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_THREAD__)
#define KILN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KILN_TSAN 1
#endif
#endif

enum { kThreads = 4, kIterations = 3 };

static kiln_model_info info;
static int64_t batch;
static size_t inSample, outSample;
static float *input, *reference;
static const char *weights, *imagePath;
static float *imageRef;
enum { kImagePixels = 3 * 224 * 224 };

static void fail(const char *what) {
  fprintf(stderr, "FAILED: %s: %s\n", what, kiln_last_error());
  exit(1);
}

static size_t product(const int64_t *shape, int rank) {
  size_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= (size_t)shape[i];
  return n;
}

/* A float32 C-order .npy file (version 1.0, header padded to 64 bytes). */
static void writeNpy(const char *path, const float *data, int64_t rows,
                     const int64_t *shape, int rank) {
  char header[160], dims[112] = "";
  /* As numpy writes it: "(7,)", "(7, 10)". */
  int n = snprintf(dims, sizeof dims, "%lld%s", (long long)rows,
                   rank == 1 ? "," : "");
  for (int i = 1; i < rank; ++i)
    n += snprintf(dims + n, sizeof dims - n, ", %lld", (long long)shape[i]);
  int len = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                     dims);
  int total = (10 + len + 1 + 63) / 64 * 64;
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  unsigned short hlen = (unsigned short)(total - 10);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fwrite(&hlen, 2, 1, f);
  fwrite(header, 1, (size_t)len, f);
  for (int i = 10 + len; i < total - 1; ++i)
    fputc(' ', f);
  fputc('\n', f);
  fwrite(data, sizeof(float), product(shape + 1, rank - 1) * (size_t)rows, f);
  fclose(f);
}

static kiln_session *openCpu(int threads) {
  kiln_options o;
  kiln_options_init(&o);
  o.device = "cpu";
  o.threads = threads;
  o.weights = weights;
  kiln_session *s = NULL;
  if (kiln_open(&o, &s) != KILN_OK)
    fail("kiln_open");
  return s;
}

static void expect(kiln_status got, kiln_status want, const char *what) {
  if (got != want) {
    fprintf(stderr, "FAILED: %s: %s, not %s (%s)\n", what, kiln_status_name(got),
            kiln_status_name(want), kiln_last_error());
    exit(1);
  }
  printf("%s: %s: %s\n", what, kiln_status_name(got), kiln_last_error());
}

static void *worker(void *arg) {
  kiln_session *shared = (kiln_session *)arg;
  kiln_session *s = shared ? shared : openCpu(2);
  int64_t rows = 2 * batch + 1;
  float *out = malloc(sizeof(float) * outSample * (size_t)rows);
  for (int i = 0; i < kIterations; ++i) {
    if (kiln_run(s, input, rows, out) != KILN_OK)
      fail("kiln_run in a thread");
    if (memcmp(out, reference, sizeof(float) * outSample * (size_t)rows) != 0) {
      fprintf(stderr, "FAILED: a thread's output differs from the reference\n");
      exit(1);
    }
    if (kiln_run(s, input + inSample, 1, out) != KILN_OK)
      fail("kiln_run of one sample in a thread");
    if (memcmp(out, reference + outSample, sizeof(float) * outSample) != 0) {
      fprintf(stderr, "FAILED: a thread's one-sample output differs\n");
      exit(1);
    }
    if (imagePath) {
      kiln_transform t;
      kiln_transform_init(&t, 224, 224);
      float *image = malloc(sizeof(float) * kImagePixels);
      if (kiln_load_image(imagePath, &t, image) != KILN_OK)
        fail("kiln_load_image in a thread");
      if (memcmp(image, imageRef, sizeof(float) * kImagePixels) != 0) {
        fprintf(stderr, "FAILED: a thread decoded the image differently\n");
        exit(1);
      }
      free(image);
    }
  }
  free(out);
  if (!shared)
    kiln_close(s);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sessions OUTDIR [WEIGHTS] [--race]\n");
    return 2;
  }
  const char *outdir = argv[1];
  int race = 0;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--race") == 0)
      race = 1;
    else if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
      imagePath = argv[++i];
    else
      weights = argv[i];
  }
#ifdef KILN_TSAN
  printf("ThreadSanitizer: on\n");
#endif
  if (kiln_api_version() != KILN_API_VERSION) {
    fprintf(stderr, "FAILED: API version %d, header %d\n", kiln_api_version(),
            KILN_API_VERSION);
    return 1;
  }
  kiln_model(&info);
  batch = info.input_shape[0];
  inSample = product(info.input_shape + 1, info.input_rank - 1);
  outSample = product(info.output_shape + 1, info.output_rank - 1);
  printf("model %s: input rank %d, batch %lld, output rank %d, flexible %d, "
         "cpu kernels '%s'\n",
         info.name, info.input_rank, (long long)batch, info.output_rank,
         info.flexible_batch, info.cpu_kernels);

  /* Misuse: statuses and messages. */
  kiln_options o;
  kiln_options_init(&o);
  kiln_session *s = (kiln_session *)&o;
  o.size = 3;
  expect(kiln_open(&o, &s), KILN_ERROR_ARGUMENT, "options.size 3");
  if (s != NULL) {
    fprintf(stderr, "FAILED: a failed kiln_open left a session\n");
    return 1;
  }
  kiln_options_init(&o);
  o.device = "tpu";
  expect(kiln_open(&o, &s), KILN_ERROR_ARGUMENT, "device tpu");
  kiln_options_init(&o);
  o.device = "cpu";
  o.weights = "/nonexistent/w.safetensors";
  expect(kiln_open(&o, &s), KILN_ERROR_FILE, "missing weights");
  expect(kiln_open(NULL, &s), KILN_ERROR_ARGUMENT, "no options");
  kiln_transform t;
  kiln_transform_init(&t, 32, 32);
  float image[3 * 32 * 32];
  expect(kiln_load_image("/nonexistent.png", &t, image), KILN_ERROR_FILE,
         "missing image");
  t.crop_h = 0;
  expect(kiln_load_image("/nonexistent.png", &t, image), KILN_ERROR_ARGUMENT,
         "crop 0");

  kiln_session *first = openCpu(0);
  printf("device: %s\n", kiln_device(first));
  int64_t shape[KILN_MAX_RANK];
  if (kiln_input_shape(first, shape) != info.input_rank || shape[0] != batch)
    fail("kiln_input_shape");
  int64_t rows = 2 * batch + 1;
  input = malloc(sizeof(float) * inSample * (size_t)rows);
  reference = malloc(sizeof(float) * outSample * (size_t)rows);
  unsigned state = 12345;
  for (size_t i = 0; i < inSample * (size_t)rows; ++i) {
    state = state * 1103515245u + 12345u;
    input[i] = (float)((state >> 9) & 0xffff) / 32768.0f - 1.0f;
  }
  expect(kiln_run(first, input, 0, reference), KILN_ERROR_ARGUMENT, "batch 0");
  expect(kiln_run(first, NULL, 1, reference), KILN_ERROR_ARGUMENT, "null input");
  expect(kiln_run(NULL, input, 1, reference), KILN_ERROR_ARGUMENT, "null session");
  if (kiln_run(first, input, rows, reference) != KILN_OK)
    fail("kiln_run");
  char path[4096];
  snprintf(path, sizeof path, "%s/input.npy", outdir);
  writeNpy(path, input, rows, info.input_shape, info.input_rank);
  snprintf(path, sizeof path, "%s/output.npy", outdir);
  writeNpy(path, reference, rows, info.output_shape, info.output_rank);

  if (imagePath) {
    kiln_transform t;
    kiln_transform_init(&t, 224, 224);
    imageRef = malloc(sizeof(float) * kImagePixels);
    if (kiln_load_image(imagePath, &t, imageRef) != KILN_OK)
      fail("kiln_load_image");
  }

  /* Sessions on threads, concurrently (or, with --race, one shared). */
  pthread_t threads[kThreads];
  kiln_session *shared = race ? openCpu(1) : NULL;
  for (int i = 0; i < kThreads; ++i)
    if (pthread_create(&threads[i], NULL, worker, shared) != 0) {
      fprintf(stderr, "FAILED: pthread_create\n");
      return 1;
    }
  for (int i = 0; i < kThreads; ++i)
    pthread_join(threads[i], NULL);
  kiln_close(shared);
  kiln_close(first);
  kiln_close(NULL);
  free(input);
  free(reference);
  free(imageRef);
  printf("OK\n");
  return 0;
}
