//===- kernels.h - CPU kernel templates ------------------------*- C++ -*-===//
//
// The kernels generated CPU code calls. Activations are float32 NHWC: pixel
// (n, y, x) starts at ((n * H + y) * W + x) * stride, where the stride (in
// floats) may exceed the channel count, so a kernel can read or write a
// channel slice of a wider buffer (concat without copies). Shapes are
// compile-time constants (C++20 class-type template parameters), so every
// layer gets a fully specialized kernel.
//
// Weights are transformed once, by the model's prepare step, from PyTorch's
// layout into each kernel's packed layout (`*_pack`).
//
// Calling conventions, for all kernels:
//  * Pointers need only float alignment (64 bytes is not required; it saves
//    split cache-line loads). Kernels allocate nothing and need no scratch
//    buffer; they use a few KiB of stack per thread.
//  * |out| must not overlap |in| or the packed weights. |residual| may be
//    exactly |out| (same pointer, residual_stride == out_stride): each
//    element is read before it is overwritten, by the same thread. Floats
//    between channel slices (stride > channels) are neither read nor
//    written.
//  * |bias| and |residual| are not read (may be null) unless the epilogue
//    asks for them.
//  * Results are deterministic and do not depend on the pool's size: every
//    output is reduced by one thread in a fixed order, in fp32.
//  * Kernels call pool.parallel_for, so they must not run inside a task of
//    the same pool.
//  * The packed layout depends only on the shape, not on the instruction
//    set the kernels are compiled for; packing may run at build time.
//  * Shapes are checked with static_assert (output size, strides, groups).
//
// The implementation is header-only (kernels_impl.h and the headers it
// includes): AVX-512 intrinsics when compiled with AVX-512F (use
// -march=native), portable code otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_KERNELS_H
#define KILN_RUNTIME_CPU_KERNELS_H

#include "kiln/kernel_types.h"
#include "kiln/threads.h"

#include <cstddef>
#include <cstdint>

namespace kiln::cpu {

using rt::ThreadPool;

// The activation and the layer shapes are shared with the CUDA kernels
// (kiln/kernel_types.h); strides and steps count floats here.
using kiln::kernel::Activation;
using kiln::kernel::AdaptivePool2d;
using kiln::kernel::Conv2d;
using kiln::kernel::Linear;
using kiln::kernel::Pool2d;

/// The name generated CPU code spells (kiln::cpu::Act::Relu), from before the
/// enum was shared; the same type as Activation. (kiln::cuda has no such
/// alias: there Act<P> is the element type of precision P.)
using Act = Activation;

/// What a convolution or linear layer does to each accumulated output value
/// y[p][o] before storing it:  y = act(y + bias[o] + residual[p][o])
/// (activations in kiln/kernel_types.h). Not shared with kiln::cuda::Epilogue,
/// which also has `scale` (a squeeze-and-excitation gate the CUDA kernels
/// apply as they load the input): the CPU kernels apply that gate to the
/// packed weights instead (conv2d_scale_packed), so a `scale` here would be a
/// flag they ignore.
struct Epilogue {
  bool bias = false;
  /// Adds a tensor of the output's shape (ResNet's identity); its pixel
  /// stride is residual_stride floats.
  bool residual = false;
  int residual_stride = 0;
  Activation act = Activation::None;
};

// Conv2d (kiln/kernel_types.h): a 2-D convolution, NHWC; its weights are
// PyTorch OIHW before packing.

/// Floats of packed weights conv2d_pack writes for |S|.
template <Conv2d S> constexpr size_t conv2d_packed_size();
/// Packs OIHW weights [o][c / groups][kh][kw] into |packed|.
template <Conv2d S> void conv2d_pack(const float *oihw, float *packed);
/// out = epilogue(conv(in, weights)); bias has o floats, residual is NHWC.
template <Conv2d S, Epilogue E>
void conv2d(const float *in, const float *packed, const float *bias,
            const float *residual, float *out, ThreadPool &pool);

/// For a dense convolution (groups == 1) of batch 1: writes to |scaled| the
/// packed weights of conv(x · scale[c]), i.e. |packed| with every input
/// channel c multiplied by scale[c] (a squeeze-and-excitation gate applied
/// as a prologue). |scaled| holds conv2d_packed_size<S>() floats.
template <Conv2d S>
void conv2d_scale_packed(const float *packed, const float *scale,
                         float *scaled);

/// Linear (kiln/kernel_types.h): y[m][n] = x[m][:] · W[n][:]; runs as the
/// 1x1 convolution of m pixels; m == 1 streams the weights once.
template <Linear S> constexpr size_t linear_packed_size();
template <Linear S> void linear_pack(const float *weight, float *packed);
template <Linear S, Epilogue E>
void linear(const float *x, const float *packed, const float *bias,
            const float *residual, float *y, ThreadPool &pool);

/// Max or average pooling, NHWC, of Pool2d (kiln/kernel_types.h).
template <Pool2d S> void max_pool2d(const float *in, float *out, ThreadPool &pool);
template <Pool2d S> void avg_pool2d(const float *in, float *out, ThreadPool &pool);

/// PyTorch's adaptive average pooling, NHWC, of AdaptivePool2d
/// (kiln/kernel_types.h).
template <AdaptivePool2d S>
void adaptive_avg_pool2d(const float *in, float *out, ThreadPool &pool);

} // namespace kiln::cpu

#include "kiln/cpu/kernels_impl.h"

#endif // KILN_RUNTIME_CPU_KERNELS_H
