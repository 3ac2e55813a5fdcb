//===- runtime.h - what a generated model provides -------------*- C++ -*-===//
//
// The interface between kiln-generated code and the runtime. The generated
// translation units define `kiln::rt::kModel`; the runtime's main() (and the
// GPU check) drive a model only through it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_RUNTIME_H
#define KILN_RUNTIME_RUNTIME_H

#include "kiln/threads.h"
#include "kiln/weights.h"

#include <cstddef>
#include <cstdint>

namespace kiln::rt {

struct ModelInfo {
  const char *name;
  /// Input and output shapes (NCHW / N×F), fixed at compile time.
  int input_rank;
  int64_t input_shape[8];
  int output_rank;
  int64_t output_shape[8];

  /// The model's state_dict, in a fixed order.
  const ParamSpec *params;
  int num_params;
  /// Weights given to `kiln compile --weights`, as a safetensors blob, or
  /// null.
  const uint8_t *embedded_weights;
  size_t embedded_weights_size;
  /// Whether the output is ImageNet's 1000 classes (for --image top-k).
  bool imagenet_classes;

  /// Floats of the prepared (kernel-layout) weights and bytes of the
  /// activation arena.
  size_t prepared_floats;
  size_t arena_bytes;

  /// Transforms the loaded weights (one pointer per param, in order) into
  /// |prepared|: folding, packing, layout changes.
  void (*prepare)(const float *const *params, float *prepared,
                  ThreadPool &pool);
  /// Runs one forward pass. |arena| is arena_bytes, 64-byte aligned.
  void (*run)(const float *prepared, const float *input, float *output,
              char *arena, ThreadPool &pool);
};

/// Defined by the generated code.
extern const ModelInfo kModel;

} // namespace kiln::rt

#endif // KILN_RUNTIME_RUNTIME_H
