//===- kiln/cuda/profile.h - timing a forward pass step by step -*- C++ -*-===//
//
// The CUDA code kiln generates brackets each step of the forward pass (one
// layer's kernels: a convolution and its split-K reduction, an SE gate's two
// kernels, one elementwise kernel) with KILN_STEP_BEGIN / KILN_STEP_END. They
// cost one load and a branch on the host when profiling is off, and nothing
// on the device. With KILN_CUDA_PROFILE=N in the environment the session
// (runtime/src/cuda/session.cpp) sets step_hooks and runs the pass N more
// times eagerly: the hooks record a CUDA event around every step (and open an
// NVTX range named after it, for `ncu --nvtx --nvtx-include`), and the
// session prints one line per step to stderr:
//
//   kiln-profile: step 17 k017_layer3.0.conv2 median 0.0412 ms min 0.0398 ms (20 runs)
//
// Plain C++ (no CUDA types), so that the runtime and generated code share it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_PROFILE_H
#define KILN_CUDA_PROFILE_H

namespace kiln::cuda {

/// Called before and after each step of a forward pass, with the step's
/// index, its name (kStepNames[index] of the generated code) and the stream
/// (a cudaStream_t) the step's kernels go to.
struct StepHooks {
  void (*begin)(int step, const char *name, void *stream);
  void (*end)(int step, void *stream);
};

/// Non-null only while the session profiles (KILN_CUDA_PROFILE).
extern StepHooks *step_hooks;

} // namespace kiln::cuda

#define KILN_STEP_BEGIN(index, name)                                           \
  do {                                                                         \
    if (::kiln::cuda::step_hooks)                                              \
      ::kiln::cuda::step_hooks->begin(index, name, stream);                    \
  } while (0)
#define KILN_STEP_END(index)                                                   \
  do {                                                                         \
    if (::kiln::cuda::step_hooks)                                              \
      ::kiln::cuda::step_hooks->end(index, stream);                            \
  } while (0)

#endif // KILN_CUDA_PROFILE_H
