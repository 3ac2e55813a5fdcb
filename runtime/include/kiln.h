/*===- kiln.h - the C interface of a kiln-compiled model -------------------===*
 *
 * `kiln compile MODEL.yaml --emit=lib -o libMODEL.so` (or libMODEL.a) builds
 * a model into a library with this interface; kiln's executables are thin
 * users of the same functions. One library holds one model; a process may
 * load several (each library's internals are private to it).
 *
 *   kiln_options o;
 *   kiln_options_init(&o);
 *   o.device = "cpu";
 *   kiln_session *s;
 *   if (kiln_open(&o, &s) != KILN_OK) {
 *     fprintf(stderr, "%s\n", kiln_last_error());
 *     return 1;
 *   }
 *   int64_t in[KILN_MAX_RANK], out[KILN_MAX_RANK];
 *   kiln_input_shape(s, in);     // e.g. {N, 3, 224, 224}; N: compiled batch
 *   kiln_output_shape(s, out);   // e.g. {N, 1000}
 *   // input: batch x 3 x 224 x 224 floats, output: batch x 1000 floats
 *   if (kiln_run(s, input, batch, output) != KILN_OK) ...
 *   kiln_close(s);
 *
 * Errors: every function that can fail returns a kiln_status; on failure
 * kiln_last_error() is a message for this thread (until its next failing
 * call). Nothing here exits, aborts or throws, whatever the input.
 *
 * Threads: sessions are independent. Calls on different sessions may run
 * concurrently from different threads; calls on one session must not (each
 * session owns its buffers, CPU threads and, on a GPU, its stream and CUDA
 * graphs). kiln_run may itself use several CPU threads (kiln_options.threads).
 *
 * Tensors are float32, C order, in PyTorch's layout (NCHW images). The
 * first dimension is the batch: the model is compiled for a batch of N
 * (`kiln compile --batch N`), and kiln_run takes any batch. Up to N samples
 * run as one pass (smaller batches without work for the missing samples
 * when the model allows it, see kiln_model_info.flexible_batch); more run as
 * passes of N.
 *
 *===-----------------------------------------------------------------------===*/

#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this interface; kiln_api_version() returns the library's. */
#define KILN_API_VERSION 1
/** The most dimensions of a model's input or output. */
#define KILN_MAX_RANK 8

typedef enum kiln_status {
  KILN_OK = 0,
  /** A bad argument: a null pointer, a batch below 1, an unknown device. */
  KILN_ERROR_ARGUMENT = 1,
  /** A file cannot be read, or is not what it should be (weights, image). */
  KILN_ERROR_FILE = 2,
  /** The weights do not fit the model (names, shapes, dtypes). */
  KILN_ERROR_WEIGHTS = 3,
  /** The device asked for is not there, or the library has no code for it. */
  KILN_ERROR_DEVICE = 4,
  /** Memory (host or device) ran out. */
  KILN_ERROR_MEMORY = 5,
  /** A failure while running: a CUDA call, a thread that cannot start. */
  KILN_ERROR_RUNTIME = 6
} kiln_status;

/** "KILN_ERROR_FILE" etc. */
const char *kiln_status_name(kiln_status status);
/** The message of this thread's last failing call ("" if none). */
const char *kiln_last_error(void);
/** KILN_API_VERSION of the library. */
int kiln_api_version(void);

/*===-----------------------------------------------------------------------===*
 * The model
 *===-----------------------------------------------------------------------===*/

typedef struct kiln_model_info {
  /** The model's name (its YAML file's `name`). */
  const char *name;
  /** Input and output shapes; dimension 0 is the compiled batch N. */
  int input_rank;
  int64_t input_shape[KILN_MAX_RANK];
  int output_rank;
  int64_t output_shape[KILN_MAX_RANK];
  /** 1 when a batch below N runs without work for the missing samples
   *  (every kernel takes the batch at run time); 0 when it is padded to N. */
  int flexible_batch;
  /** 1 when the output is ImageNet's 1000 classes (kiln_imagenet_label). */
  int imagenet_classes;
  /** 1 when weights were embedded at compile time (kiln compile --weights). */
  int embedded_weights;
  /** The CPU kernel sets the library holds, best first ("avx512, avx2,
   *  portable"), or "" without CPU code. */
  const char *cpu_kernels;
  /** The set this CPU runs with its model name ("avx2 (AMD EPYC 7763 ...)"),
   *  or "" when it runs none of them or there is no CPU code. */
  const char *cpu_selected;
  /** The CUDA code's precision ("fp32", "tf32", "fp16", "bf16"), or "" for
   *  a library without CUDA code. */
  const char *cuda_precision;
} kiln_model_info;

/** Describes the library's model (no session needed). */
void kiln_model(kiln_model_info *info);

/** The name of ImageNet class |index| (0..999) in torchvision's order, or
 *  NULL outside that range. */
const char *kiln_imagenet_label(int index);

/*===-----------------------------------------------------------------------===*
 * Sessions
 *===-----------------------------------------------------------------------===*/

typedef struct kiln_session kiln_session;

/** Receives a session's notes (seeded weights, a GPU fallback to the CPU). */
typedef void (*kiln_log_fn)(void *user, const char *message);

typedef struct kiln_options {
  /** sizeof(kiln_options), set by kiln_options_init. */
  size_t size;
  /** "auto" (default: the first GPU when there is a usable one, else the
   *  CPU), "cpu", "cuda" (GPU 0), "cuda:1", "cuda:0,1" or "cuda:all"
   *  (several GPUs: each runs an even share of every batch). */
  const char *device;
  /** CPU threads; 0 (default) is one per available core. */
  int threads;
  /** A safetensors state_dict to run with; NULL (default) uses the weights
   *  embedded at compile time, else seeded weights (PyTorch's default
   *  initialization; the log says so). */
  const char *weights;
  /** 1 (default): the weights must match the model exactly; 0 loads what
   *  matches by name and shape and keeps seeded values for the rest. */
  int strict;
  /** Notes for a person (NULL: none). */
  kiln_log_fn log;
  void *log_user;
} kiln_options;

void kiln_options_init(kiln_options *options);

/** Opens a session: loads and prepares the weights, allocates its buffers
 *  (on a GPU: uploads the weights and captures the forward pass). On
 *  failure *session is NULL. */
kiln_status kiln_open(const kiln_options *options, kiln_session **session);
/** Frees everything the session holds; NULL is allowed. */
void kiln_close(kiln_session *session);

/** Writes the input / output shape (dimension 0: the compiled batch N) to
 *  |shape| (KILN_MAX_RANK entries) and returns the rank. */
int kiln_input_shape(const kiln_session *session, int64_t *shape);
int kiln_output_shape(const kiln_session *session, int64_t *shape);
/** Where the session runs: "16 threads, cpu avx2 (AMD EPYC ...)" or
 *  "NVIDIA H100 80GB HBM3 (sm_90, fp16)"; several GPUs are joined by " + ".*/
const char *kiln_device(const kiln_session *session);
/** 1 when the session runs on GPUs. */
int kiln_on_gpu(const kiln_session *session);

/** Runs the model on |batch| samples (batch >= 1): |input| holds batch
 *  times the input's per-sample floats, |output| receives batch times the
 *  output's. Both are the caller's; they must not overlap. */
kiln_status kiln_run(kiln_session *session, const float *input, int64_t batch,
                     float *output);

/** Times |runs| passes of |batch| samples (1 to N) after |warmup| untimed
 *  ones, on an input of zeros (on one GPU: the input last run, zeros at
 *  first); |milliseconds| receives each pass's time: device time from CUDA
 *  events on one GPU, wall time on the CPU and on several GPUs. */
kiln_status kiln_bench(kiln_session *session, int64_t batch, int warmup,
                       int runs, double *milliseconds);

/** Writes the weights the session runs with (before preparation) as a
 *  safetensors file of the model's state_dict. */
kiln_status kiln_dump_weights(kiln_session *session, const char *path);

/*===-----------------------------------------------------------------------===*
 * Images
 *===-----------------------------------------------------------------------===*/

/** torchvision's test transform: Resize, CenterCrop, ToTensor, Normalize. */
typedef struct kiln_transform {
  /** Resize(resize_h) when resize_w is 0: the short side becomes resize_h,
   *  the long side int(resize_h * long / short); else Resize((resize_h,
   *  resize_w)). PIL's bilinear filter with antialiasing. */
  int resize_h, resize_w;
  /** CenterCrop((crop_h, crop_w)), zero-padded when the image is smaller. */
  int crop_h, crop_w;
  /** Normalize(mean, std) after scaling to [0, 1]. */
  float mean[3], std[3];
} kiln_transform;

/** ImageNet's usual transform for a crop of crop_h x crop_w: the short side
 *  resized to round(crop_h * 256 / 224), ImageNet's mean and std. */
void kiln_transform_init(kiln_transform *transform, int crop_h, int crop_w);

/** Decodes a JPEG, PNG or binary PPM/PGM file as PIL's
 *  Image.open(path).convert('RGB') does and applies |transform|, bit for bit
 *  as torchvision does, writing 3 x crop_h x crop_w floats to |chw|. */
kiln_status kiln_load_image(const char *path, const kiln_transform *transform,
                            float *chw);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KILN_H */
