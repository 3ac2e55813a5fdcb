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

#include "kiln/threads.h"

#include <cstddef>
#include <cstdint>

namespace kiln::cpu {

using rt::ThreadPool;

/// Activation applied by a kernel epilogue.
enum class Act { None, Relu, Relu6, Sigmoid, HardSigmoid, HardSwish };

/// What a convolution or linear layer does to each accumulated output value
/// y[p][o] before storing it:  y = act(y + bias[o] + residual[p][o]).
/// Activations: relu max(x,0); relu6 min(max(x,0),6); sigmoid 1/(1+e^-x);
/// hard_sigmoid relu6(x+3)/6; hard_swish x*relu6(x+3)/6.
struct Epilogue {
  bool bias = false;
  /// Adds a tensor of the output's shape (ResNet's identity); its pixel
  /// stride is residual_stride floats.
  bool residual = false;
  int residual_stride = 0;
  Act act = Act::None;
};

/// A 2-D convolution, NHWC, weights in PyTorch OIHW order before packing.
/// groups == 1 (dense), groups == c == o / m (depthwise, channel multiplier
/// m) or any other divisor (grouped, e.g. ResNeXt).
struct Conv2d {
  int n, h, w, c;           ///< input
  int o, kh, kw;            ///< output channels, kernel
  int sh, sw, ph, pw, dh, dw;
  int groups;
  int ho, wo;               ///< output size (PyTorch's formula)
  int in_stride, out_stride; ///< floats between consecutive pixels
  /// Floats between consecutive output channels: 1, or g when the output
  /// is one group of a channel shuffle over g groups (channel k of the
  /// result lands at k * out_step of the output pointer).
  int out_step = 1;
};

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

/// y[m][n] = x[m][:] · W[n][:] for a PyTorch Linear weight W[n][k]; rows of
/// x and y are contiguous (stride k and n, so a residual's stride is n).
/// Runs as the 1x1 convolution of m pixels; m == 1 streams the weights once.
struct Linear {
  int m, k, n;
};
template <Linear S> constexpr size_t linear_packed_size();
template <Linear S> void linear_pack(const float *weight, float *packed);
template <Linear S, Epilogue E>
void linear(const float *x, const float *packed, const float *bias,
            const float *residual, float *y, ThreadPool &pool);

/// Max or average pooling, NHWC. ho/wo follow PyTorch (ceil_mode is already
/// applied to them). Average pooling divides by the window clipped to the
/// padded input, or, with exclude_pad, by the in-bounds elements; it has no
/// dilation (dh == dw == 1).
struct Pool2d {
  int n, h, w, c;
  int kh, kw, sh, sw, ph, pw, dh, dw;
  int ho, wo;
  bool exclude_pad;
  int in_stride, out_stride;
};
template <Pool2d S> void max_pool2d(const float *in, float *out, ThreadPool &pool);
template <Pool2d S> void avg_pool2d(const float *in, float *out, ThreadPool &pool);

/// PyTorch's adaptive average pooling, NHWC: output cell (i, j) averages
/// rows floor(i*h/ho) .. ceil((i+1)*h/ho) and the same for columns.
struct AdaptivePool2d {
  int n, h, w, c, ho, wo;
  int in_stride, out_stride;
};
template <AdaptivePool2d S>
void adaptive_avg_pool2d(const float *in, float *out, ThreadPool &pool);

} // namespace kiln::cpu

#include "kiln/cpu/kernels_impl.h"

#endif // KILN_RUNTIME_CPU_KERNELS_H
