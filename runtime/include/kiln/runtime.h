//===- runtime.h - what a generated model provides -------------*- C++ -*-===//
//
// The interface between kiln-generated code and the runtime. The generated
// translation units define `kiln::rt::kModel`; the runtime's main() (and the
// GPU check) drive a model only through it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_RUNTIME_H
#define KILN_RUNTIME_RUNTIME_H

#include "kiln/kernel_types.h"
#include "kiln/threads.h"
#include "kiln/weights.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::cpu {
struct KernelTable;
} // namespace kiln::cpu

namespace kiln::rt {

/// A model running on one device (the CUDA backend): weights uploaded
/// once, the forward pass of each batch size replayed as a CUDA graph.
/// Its calls return false with |error| set on failure; they never exit.
class DeviceSession {
public:
  virtual ~DeviceSession() = default;
  /// "NVIDIA H100 80GB HBM3 (sm_90, fp16)".
  virtual std::string description() const = 0;
  /// Starts one forward pass of |batch| samples (1 to the compiled batch N;
  /// exactly N unless the model's batch is flexible) on host memory: copies
  /// the input in and enqueues the pass and the copy back, and returns.
  virtual bool start(const float *input, int batch, std::string &error) = 0;
  /// Waits for the pass start() began and copies its output to |output|.
  virtual bool finish(float *output, std::string &error) = 0;
  /// Times |runs| replays of the pass of |batch| samples (on the input last
  /// started, or zeros) after |warmup| untimed ones, with device events (ms
  /// per run).
  virtual bool bench(int batch, long warmup, long runs, std::vector<double> &ms,
                     std::string &error) = 0;
};

/// A launch variant of a model's forward pass (kiln/cuda/arch.h).
struct CudaVariant {
  /// The sm_90a variant: its GEMM layers run the wgmma/TMA kernels, which
  /// exist in the sm_90a image only (compute capability 9.0).
  bool sm90a;
  /// Device memory of the split-K workspace and of the prepared weights.
  size_t workspace_bytes, prepared_bytes;
};

/// The CUDA code of a model (kiln compile --target cuda or all).
struct CudaModel {
  /// "fp32", "tf32", "fp16" or "bf16".
  const char *precision;
  /// The device code the executable holds, as nvcc names it, space
  /// separated ("sm_80 sm_90a compute_80"): the runtime picks the variant
  /// the device's image runs from it (kiln/cuda/arch.h).
  const char *images;
  /// Device memory of the activations (every variant's).
  size_t arena_bytes;
  int num_variants;
  const CudaVariant *variants;
  /// Host: converts and packs the loaded weights for |variant| into
  /// |prepared| (its prepared_bytes of host memory), which the session
  /// uploads.
  void (*prepare)(const float *const *params, void *prepared, int variant);
  /// Enqueues one forward pass of |variant| of |batch| samples on |stream|
  /// (a cudaStream_t); all pointers are device memory; input and output are
  /// float32 in PyTorch's order. |batch| is the compiled batch unless
  /// ModelInfo::flexible_batch. Returns the first failing launch's
  /// cudaError_t, or 0.
  int (*run)(const void *prepared, const float *input, float *output,
             void *arena, void *workspace, int batch, void *stream, int variant);
  /// Opens a session on CUDA device |device|. On failure returns null with
  /// |error| set; |unavailable| tells a missing or unsupported device (then
  /// --device auto falls back to the CPU) from a real error.
  std::unique_ptr<DeviceSession> (*open)(const struct ModelInfo &model,
                                         const std::vector<const float *> &params,
                                         int device, std::string &error,
                                         bool &unavailable);
  /// The number of CUDA devices, or -1 with |error| set (no driver, none).
  int (*device_count)(std::string &error);
};

struct ModelInfo {
  const char *name;
  /// Input and output shapes (NCHW / N×F), fixed at compile time.
  int input_rank;
  int64_t input_shape[kernel::kMaxRank];
  int output_rank;
  int64_t output_shape[kernel::kMaxRank];

  /// The model's state_dict, in a fixed order.
  const ParamSpec *params;
  int num_params;
  /// Weights given to `kiln compile --weights`, as a safetensors blob, or
  /// null.
  const uint8_t *embedded_weights;
  size_t embedded_weights_size;
  /// Whether the output is ImageNet's 1000 classes (for --image top-k).
  bool imagenet_classes;
  /// Whether run() (and the CUDA code's run) take any batch from 1 to
  /// input_shape[0] and compute only that many samples: every kernel takes
  /// the batch at run time. Otherwise a smaller batch is padded.
  bool flexible_batch;

  /// Floats of the prepared (kernel-layout) weights and bytes of the
  /// activation arena.
  size_t prepared_floats;
  size_t arena_bytes;

  /// Transforms the loaded weights (one pointer per param, in order) into
  /// |prepared|: folding, packing, layout changes.
  void (*prepare)(const float *const *params, float *prepared,
                  ThreadPool &pool);
  /// Runs one forward pass of |batch| samples (the compiled batch unless
  /// flexible_batch). |arena| is arena_bytes, 64-byte aligned.
  void (*run)(const float *prepared, const float *input, float *output,
              char *arena, ThreadPool &pool, int batch);

  /// The CUDA code, or null for a CPU-only executable.
  const CudaModel *cuda;

  /// The CPU kernel sets run() may use, best first (kiln/cpu/kernels.h);
  /// main() picks the first this CPU supports, or $KILN_CPU. Null (and 0)
  /// without CPU code.
  const cpu::KernelTable *const *cpu_kernels;
  int num_cpu_kernels;
};

/// Defined by the generated code.
extern const ModelInfo kModel;

} // namespace kiln::rt

#endif // KILN_RUNTIME_RUNTIME_H
