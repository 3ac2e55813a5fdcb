//===- types.h - shapes and options of the CUDA kernel templates -*- C++
//-*-===//
//
// This file declares the compile-time descriptions the CUDA kernel templates
// (kernels.cuh) are instantiated with: the precision, the fused epilogue, the
// layer shapes (those of kiln/kernel_types.h, shared with the CPU kernels),
// the squeeze-and-excitation gate and the GEMM tile schedule. It needs no CUDA
// header, so the compiler can include it (with schedule.h and pack.h) to
// choose schedules, size buffers and pack weights ahead of time.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_TYPES_H
#define KILN_RUNTIME_CUDA_TYPES_H

#include "kiln/kernel_types.h" // and KILN_HOST_DEVICE

#include <cstddef>
#include <cstdint>

namespace kiln::cuda {

/// Arithmetic of a kernel. Activations are float for F32 and TF32, __half for
/// F16 and __nv_bfloat16 for BF16 (Act<P> in kernels.cuh); weights are packed
/// in the same type; every sum is accumulated in fp32. F32 runs on the FMA
/// units, the others on tensor cores (TF32 rounds both operands to tf32).
enum class Precision { F32, TF32, F16, BF16 };

/// Bytes of one activation or weight element of precision |p|.
KILN_HOST_DEVICE constexpr int element_bytes(Precision p) {
  return p == Precision::F16 || p == Precision::BF16 ? 2 : 4;
}

// The activation and the layer shapes are shared with the CPU kernels
// (kiln/kernel_types.h); strides and steps count elements of the layer's
// precision, not bytes, and a Conv2d with out_step > 1 (one group of a channel
// shuffle) is stored one element at a time. The CPU header also calls the
// activation kiln::cpu::Act; here Act<P> (numeric.cuh) is the element type.
using kiln::kernel::Activation;
using kiln::kernel::AdaptivePool2d;
using kiln::kernel::Conv2d;
using kiln::kernel::Linear;
using kiln::kernel::Pool2d;

/// What a convolution or linear layer fuses around its sum. Every output is
///   y[p][o] = act(sum_k a[p][k] * w[o][k] + bias[o] + residual[p][o])
/// computed in fp32 and rounded once to the output precision, where the input
/// a is first multiplied, when |scale| is set, by the per-image channel scale
/// s[n][c] (a squeeze-and-excitation gate, applied as the operand is loaded).
/// Not shared with kiln::cpu::Epilogue because of |scale|: the CPU kernels
/// apply the gate to the packed weights (conv2d_scale_packed) instead.
struct Epilogue {
  bool bias = false;
  /// Adds a tensor of the output's shape (ResNet's identity); its pixel stride
  /// is residual_stride elements.
  bool residual = false;
  int residual_stride = 0;
  Activation act = Activation::None;
  /// Prologue, not epilogue, but chosen at compile time with it: the kernel
  /// reads an N x C fp32 input-channel scale. Kept here so that generated code
  /// names one fusion descriptor per layer (and kernels without a gate carry
  /// no code for it).
  bool scale = false;
};

/// A squeeze-and-excitation gate (GhostNet's SqueezeExcite):
///   gate[n][c] = gate_act(W2 . act(W1 . mean_hw(x[n]) + b1) + b2)[c]
/// with W1 [r][c] (conv_reduce) and W2 [c][r] (conv_expand), both with bias.
/// x is NHWC with pixel stride in_stride; the gate is N x C fp32 and feeds the
/// |scale| operand of the next convolution (or an elementwise multiply).
/// CUDA only: the CPU code runs the gate as two Linear layers.
struct SqueezeExcite {
  int n, h, w, c, r;
  int in_stride;
  Activation act = Activation::Relu;
  Activation gate = Activation::HardSigmoid;
};

/// The tile of an implicit-GEMM kernel (M = output pixels, N = output
/// channels of a group, K = kh * kw * input channels of a group): a block
/// computes bm x bn outputs with warps_m x warps_n warps, reading K in steps
/// of bk elements through a |stages|-deep cp.async pipeline; split_k > 1
/// splits K over that many blocks, which write fp32 partial sums to a
/// workspace; the last of a tile's blocks to finish reduces them (in slice
/// order) and runs the epilogue. The compiler chooses it (default_schedule in
/// schedule.h) and records it in its IR; schedule_ok says which are valid.
/// Ignored by convolutions that do not run as a GEMM (depthwise, narrow
/// groups): use Schedule{} for them so that instances deduplicate.
///
/// warpgroups > 0 selects the sm_90a kernel (wgmma.cuh): a producer
/// warpgroup feeds |warpgroups| consumer warpgroups (bm = 64 * warpgroups
/// rows, warps_m = 4 * warpgroups consumer warps, warps_n = 1) through a
/// |stages|-deep TMA/mbarrier pipeline of bk elements (128 bytes) a step.
struct Schedule {
  int bm = 0, bn = 0, bk = 0;
  int warps_m = 0, warps_n = 0;
  int stages = 0;
  int split_k = 1;
  int warpgroups = 0;
};

/// Which device images of an executable (kiln/cuda/arch.h) hold a GEMM
/// kernel's code; the others hold an empty kernel that traps. In an
/// executable with an sm_90a variant, a layer that variant runs on wgmma
/// also has a mma.sync kernel, which only the variant of the other GPUs
/// launches: NotSm90a leaves it out of the sm_90a image.
enum class Images { All, NotSm90a };

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_TYPES_H
