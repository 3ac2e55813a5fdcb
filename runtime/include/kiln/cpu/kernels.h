//===- kernels.h - the CPU kernels generated code calls --------*- C++ -*-===//
//
// The kernels generated CPU code calls. Activations are float32 NHWC: pixel
// (n, y, x) starts at ((n * H + y) * W + x) * stride, where the stride (in
// floats) may exceed the channel count, so a kernel can read or write a
// channel slice of a wider buffer (concat without copies).
//
// The kernels are compiled into the runtime once per instruction set
// (KernelTable: avx512, avx2, portable on x86-64; neon on AArch64), and an
// executable picks the best one its CPU runs at start-up (select_kernels,
// docs/cpu-kernels.md). Generated code calls the templates below with the
// shapes as compile-time constants (C++20 class-type template parameters):
// they check each shape with static_assert and forward it to the selected
// kernel set, so a model compiles in a second and never for one ISA only.
//
// Weights are transformed once, by the model's prepare step, from PyTorch's
// layout into the selected kernel set's packed layout (`*_pack`), which
// depends on its vector width (kiln/cpu/layout.h); prepared weights are
// sized for the largest layout of the architecture, so the sizes are
// compile-time constants.
//
// Calling conventions, for all kernels:
//  * select_kernels (or use_kernels) has run; packing and running must use
//    the same kernel set.
//  * Pointers need only float alignment (64 bytes is not required; it saves
//    split cache-line loads). Kernels need no scratch buffer from the
//    caller.
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
//  * The batch: each entry point takes the samples (rows for linear) to
//    compute at run time, from 1 to the shape's n (m), defaulting to all of
//    them; samples are outermost, so the first ones are a prefix of every
//    tensor. Packed weights must not depend on n (m): one packing serves
//    every batch.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_KERNELS_H
#define KILN_RUNTIME_CPU_KERNELS_H

#include "kiln/cpu/cpu_features.h"
#include "kiln/cpu/layout.h"
#include "kiln/kernel_types.h"
#include "kiln/threads.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::cpu {

using rt::ThreadPool;

// The activation and the layer shapes are shared with the CUDA kernels
// (kiln/kernel_types.h); strides and steps count floats here.
using kiln::kernel::Activation;
using kiln::kernel::AdaptivePool2d;
using kiln::kernel::Conv2d;
using kiln::kernel::Copy2d;
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
  /// The output is one group of a two-group channel shuffle (out_step 2)
  /// and the kernel also writes the other group, copied from a pass-through
  /// tensor of the output's shape (ShuffleNetV2's untouched half) whose
  /// pixels are pass_stride floats apart: its channel k lands at
  /// out[2 k + pass_offset], pass_offset -1 or +1. Both groups go out in
  /// whole vectors (conv2d_shuffled), instead of every other float of each.
  /// 0: no pass-through.
  int pass_stride = 0;
  int pass_offset = 0;
};

//===----------------------------------------------------------------------===//
// Kernel sets
//===----------------------------------------------------------------------===//

/// The kernels of one instruction set, compiled for it (src/cpu/).
struct KernelTable {
  const char *name;        ///< "avx512", "avx2", "portable", "neon"
  const char *description; ///< "AVX-512 (x86-64-v4)"
  VectorShape shape;       ///< decides the packed layout
  /// |pass|: Epilogue::pass_stride's tensor, or null.
  void (*conv2d)(const Conv2d &s, const Epilogue &e, const float *in,
                 const float *packed, const float *bias,
                 const float *residual, const float *pass, float *out,
                 ThreadPool &pool);
  void (*max_pool2d)(const Pool2d &s, const float *in, float *out,
                     ThreadPool &pool);
  void (*avg_pool2d)(const Pool2d &s, const float *in, float *out,
                     ThreadPool &pool);
  void (*adaptive_avg_pool2d)(const AdaptivePool2d &s, const float *in,
                              float *out, ThreadPool &pool);
  void (*winograd)(const Winograd &w, const Epilogue &e, const float *in,
                   const float *packed, const float *bias,
                   const float *residual, float *out, ThreadPool &pool);
  /// e[i], packed[i], bias[i]: of expand, depthwise, project.
  void (*conv_chain)(const ConvChain &c, const Epilogue *e, const float *in,
                     const float *const *packed, const float *const *bias,
                     const float *residual, float *out, ThreadPool &pool);
  void (*copy2d)(const Copy2d &s, const float *src, float *dst,
                 ThreadPool &pool);
};

/// The kernel sets, each in its own library (libkiln_cpu_<name>.a); an
/// executable holds those its generated code names.
#if defined(__aarch64__)
extern const KernelTable kernels_neon;
#else
extern const KernelTable kernels_avx512;
extern const KernelTable kernels_avx2;
extern const KernelTable kernels_portable;
#endif

/// Whether this CPU (and its OS) runs the instructions of |t|.
bool cpu_supports(const KernelTable &t);

/// The kernel set for this process: the first of |tables| (best first) this
/// CPU supports, or the one named |forced| (e.g. $KILN_CPU), which must be
/// among them and supported. Returns null and sets |error| otherwise.
const KernelTable *choose_kernels(const KernelTable *const *tables, int count,
                                  const char *forced, std::string &error);

/// Makes |t| the kernel set every kernel below runs (before prepare).
void use_kernels(const KernelTable &t);
/// The kernel set in use; aborts with a message if none was chosen.
const KernelTable &kernels();

//===----------------------------------------------------------------------===//
// Packing (src/cpu/pack.cpp: scalar code, for the kernel set in use)
//===----------------------------------------------------------------------===//

/// Packs OIHW weights [o][c / groups][kh][kw] of |s| into |packed|, which
/// holds conv2d_packed_floats(s) floats, for the kernel set in use.
void conv2d_pack(const Conv2d &s, const float *oihw, float *packed);

/// For a dense convolution (groups == 1): writes to |scaled| the packed
/// weights of conv(x · scale[c]), i.e. |packed| with every input channel c
/// multiplied by scale[c] (a squeeze-and-excitation gate applied as a
/// prologue).
void conv2d_scale_packed(const Conv2d &s, const float *packed,
                         const float *scale, float *scaled, ThreadPool &pool);

/// Transforms OIHW 3x3 weights [o][c][3][3] of |w| into the Winograd domain
/// (G g G^T, in double) and packs them, winograd_packed_floats(w) floats,
/// for the kernel set in use.
void conv2d_winograd_pack(const Winograd &w, const float *oihw,
                          float *packed);

//===----------------------------------------------------------------------===//
// Shape checks
//===----------------------------------------------------------------------===//

namespace detail {

/// Rejects, at compile time, a convolution shape PyTorch would not accept
/// or whose output size or strides are inconsistent.
template <Conv2d S> constexpr void check_conv() {
  static_assert(S.n > 0 && S.h > 0 && S.w > 0 && S.c > 0 && S.o > 0 &&
                    S.kh > 0 && S.kw > 0 && S.sh > 0 && S.sw > 0 &&
                    S.ph >= 0 && S.pw >= 0 && S.dh > 0 && S.dw > 0 &&
                    S.groups > 0,
                "Conv2d: sizes must be positive, padding non-negative");
  static_assert(S.c % S.groups == 0 && S.o % S.groups == 0,
                "Conv2d: groups must divide c and o");
  static_assert(
      S.ho == (S.h + 2 * S.ph - S.dh * (S.kh - 1) - 1) / S.sh + 1 &&
          S.wo == (S.w + 2 * S.pw - S.dw * (S.kw - 1) - 1) / S.sw + 1 &&
          S.ho > 0 && S.wo > 0,
      "Conv2d: ho/wo disagree with PyTorch's output size");
  static_assert(S.in_stride >= S.c && S.out_step >= 1 &&
                    S.out_stride >= S.o * S.out_step,
                "Conv2d: a pixel stride is smaller than the channel count");
}

/// Rejects, at compile time, a pooling shape whose output size is neither
/// PyTorch's floor nor its ceil_mode size, or whose strides are too small.
template <Pool2d S> constexpr void check_pool() {
  static_assert(S.ho == (S.h + 2 * S.ph - S.dh * (S.kh - 1) - 1 + S.sh - 1) /
                                S.sh + 1 ||
                    S.ho == (S.h + 2 * S.ph - S.dh * (S.kh - 1) - 1) / S.sh + 1,
                "Pool2d: ho is neither the floor nor the ceil_mode size");
  static_assert(S.wo == (S.w + 2 * S.pw - S.dw * (S.kw - 1) - 1 + S.sw - 1) /
                                S.sw + 1 ||
                    S.wo == (S.w + 2 * S.pw - S.dw * (S.kw - 1) - 1) / S.sw + 1,
                "Pool2d: wo is neither the floor nor the ceil_mode size");
  static_assert(S.in_stride >= S.c && S.out_stride >= S.c,
                "Pool2d: a pixel stride is smaller than the channel count");
}

/// A Linear layer is the 1x1 convolution of m pixels.
constexpr Conv2d as_conv(Linear s) {
  return {s.m, 1, 1, s.k, s.n, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, s.k, s.n};
}

} // namespace detail

//===----------------------------------------------------------------------===//
// The entry points of generated code
//===----------------------------------------------------------------------===//

// Conv2d (kiln/kernel_types.h): a 2-D convolution, NHWC; its weights are
// PyTorch OIHW before packing.

/// Floats of packed weights conv2d_pack writes for |S|.
template <Conv2d S> constexpr size_t conv2d_packed_size() {
  detail::check_conv<S>();
  return conv2d_packed_floats(S);
}
/// Packs OIHW weights [o][c / groups][kh][kw] into |packed|.
template <Conv2d S> void conv2d_pack(const float *oihw, float *packed) {
  detail::check_conv<S>();
  conv2d_pack(S, oihw, packed);
}
/// out = epilogue(conv(in, weights)); bias has o floats, residual is NHWC.
/// Computes the first |n| samples (1 to S.n).
template <Conv2d S, Epilogue E>
void conv2d(const float *in, const float *packed, const float *bias,
            const float *residual, float *out, ThreadPool &pool, int n = S.n) {
  detail::check_conv<S>();
  static_assert(!E.residual || E.residual_stride >= S.o,
                "Epilogue: residual_stride is smaller than o");
  static_assert(E.pass_stride == 0,
                "Epilogue: a pass-through needs conv2d_shuffled");
  Conv2d s = S;
  s.n = n;
  kernels().conv2d(s, E, in, packed, bias, residual, nullptr, out, pool);
}
/// conv2d<S, E> into one group of a two-group channel shuffle that also
/// writes the other group, copied from |pass| (Epilogue::pass_stride): a
/// dense convolution (implicit GEMM) whose |out| is its first channel, every
/// other float. |pass| must not overlap |out|'s pixels.
template <Conv2d S, Epilogue E>
void conv2d_shuffled(const float *in, const float *packed, const float *bias,
                     const float *residual, const float *pass, float *out,
                     ThreadPool &pool, int n = S.n) {
  detail::check_conv<S>();
  static_assert(!E.residual || E.residual_stride >= S.o,
                "Epilogue: residual_stride is smaller than o");
  static_assert(S.groups == 1 && S.out_step == 2,
                "conv2d_shuffled: a dense convolution into every other channel");
  static_assert(E.pass_stride >= S.o && (E.pass_offset == -1 || E.pass_offset == 1),
                "Epilogue: pass_stride below o, or pass_offset not -1 or 1");
  Conv2d s = S;
  s.n = n;
  kernels().conv2d(s, E, in, packed, bias, residual, pass, out, pool);
}
/// For a dense convolution of batch 1: the packed weights of
/// conv(x · scale[c]) into |scaled| (conv2d_packed_size<S>() floats).
template <Conv2d S>
void conv2d_scale_packed(const float *packed, const float *scale,
                         float *scaled, ThreadPool &pool) {
  detail::check_conv<S>();
  static_assert(S.groups == 1, "conv2d_scale_packed: dense convolutions only");
  conv2d_scale_packed(S, packed, scale, scaled, pool);
}

/// Winograd F(m x m, 3 x 3) (kiln/cpu/layout.h): the same convolution as
/// conv2d<W.conv, E>, with fewer multiplies and its own packed weights
/// (conv2d_winograd_pack). The output transform applies the epilogue.
/// Computes the first |n| samples (1 to W.conv.n), as do conv_chain's.
template <Winograd W> constexpr size_t conv2d_winograd_packed_size() {
  detail::check_conv<W.conv>();
  static_assert(winograd_ok(W.conv, W.m),
                "Winograd: a dense 3x3 convolution, stride 1, no dilation, "
                "and m = 2 or 4");
  return winograd_packed_floats(W);
}
template <Winograd W>
void conv2d_winograd_pack(const float *oihw, float *packed) {
  static_assert(conv2d_winograd_packed_size<W>() > 0);
  conv2d_winograd_pack(W, oihw, packed);
}
template <Winograd W, Epilogue E>
void conv2d_winograd(const float *in, const float *packed, const float *bias,
                     const float *residual, float *out, ThreadPool &pool,
                     int n = W.conv.n) {
  static_assert(conv2d_winograd_packed_size<W>() > 0);
  static_assert(!E.residual || E.residual_stride >= W.conv.o,
                "Epilogue: residual_stride is smaller than o");
  Winograd w = W;
  w.conv.n = n;
  kernels().winograd(w, E, in, packed, bias, residual, out, pool);
}

/// A chain of convolutions as one kernel (ConvChain, kiln/cpu/layout.h):
/// out = project(depthwise(expand(in))), each with its epilogue (only the
/// project's may add a residual), the same results as the three conv2d
/// calls, bit for bit. Each layer's weights are packed by conv2d_pack of its
/// shape.
template <ConvChain C, Epilogue E0, Epilogue E1, Epilogue E2>
void conv_chain(const float *in, const float *packed0, const float *bias0,
                const float *packed1, const float *bias1,
                const float *packed2, const float *bias2,
                const float *residual, float *out, ThreadPool &pool,
                int n = C.expand.n) {
  detail::check_conv<C.expand>();
  detail::check_conv<C.depthwise>();
  detail::check_conv<C.project>();
  static_assert(conv_chain_ok(C),
                "ConvChain: a 1x1 expand, a 3x3 or 5x5 depthwise convolution "
                "with stride 1 or 2 and a multiple of 16 channels, a 1x1 "
                "project, connected, with dense intermediate tensors");
  static_assert(!E0.residual && !E1.residual,
                "ConvChain: only the project adds a residual");
  static_assert(!E2.residual || E2.residual_stride >= C.project.o,
                "Epilogue: residual_stride is smaller than o");
  const Epilogue e[3] = {E0, E1, E2};
  const float *const packed[3] = {packed0, packed1, packed2};
  const float *const bias[3] = {bias0, bias1, bias2};
  ConvChain c = C;
  c.expand.n = c.depthwise.n = c.project.n = n;
  kernels().conv_chain(c, e, in, packed, bias, residual, out, pool);
}

/// Linear (kiln/kernel_types.h): y[m][n] = x[m][:] · W[n][:]; runs as the
/// 1x1 convolution of m pixels; m == 1 streams the weights once.
template <Linear S> constexpr size_t linear_packed_size() {
  return conv2d_packed_size<detail::as_conv(S)>();
}
/// A Linear weight [n][k] is an OIHW weight [n][k][1][1].
template <Linear S> void linear_pack(const float *weight, float *packed) {
  conv2d_pack<detail::as_conv(S)>(weight, packed);
}
/// Computes the first |m| rows (1 to S.m).
template <Linear S, Epilogue E>
void linear(const float *x, const float *packed, const float *bias,
            const float *residual, float *y, ThreadPool &pool, int m = S.m) {
  static_assert(!E.residual || E.residual_stride == S.n,
                "linear: the residual's rows are contiguous (stride n)");
  conv2d<detail::as_conv(S), E>(x, packed, bias, residual, y, pool, m);
}

/// Max or average pooling, NHWC, of Pool2d (kiln/kernel_types.h), of the
/// first |n| samples.
template <Pool2d S>
void max_pool2d(const float *in, float *out, ThreadPool &pool, int n = S.n) {
  detail::check_pool<S>();
  Pool2d s = S;
  s.n = n;
  kernels().max_pool2d(s, in, out, pool);
}
template <Pool2d S>
void avg_pool2d(const float *in, float *out, ThreadPool &pool, int n = S.n) {
  detail::check_pool<S>();
  static_assert(S.dh == 1 && S.dw == 1, "avg_pool2d has no dilation");
  Pool2d s = S;
  s.n = n;
  kernels().avg_pool2d(s, in, out, pool);
}

/// PyTorch's adaptive average pooling, NHWC, of AdaptivePool2d
/// (kiln/kernel_types.h).
template <AdaptivePool2d S>
void adaptive_avg_pool2d(const float *in, float *out, ThreadPool &pool,
                         int n = S.n) {
  static_assert(S.in_stride >= S.c && S.out_stride >= S.c,
                "AdaptivePool2d: a pixel stride is smaller than c");
  AdaptivePool2d s = S;
  s.n = n;
  kernels().adaptive_avg_pool2d(s, in, out, pool);
}

/// The strided copy of Copy2d (kiln/kernel_types.h): n 2-D copies; |src|
/// and |dst| do not overlap.
inline void copy2d(const Copy2d &s, const float *src, float *dst,
                   ThreadPool &pool) {
  kernels().copy2d(s, src, dst, pool);
}

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_KERNELS_H
