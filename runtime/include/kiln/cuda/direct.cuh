//===- direct.cuh - depthwise and narrow grouped convolution ----*- CUDA
//-*-===//
//
// This file implements the convolutions whose groups are too narrow for a
// GEMM tile (conv_uses_gemm is false): depthwise with any channel multiplier
// (MobileNetV2, GhostNet's cheap operations, ShuffleNetV2) and grouped with a
// few channels per group (ResNeXt's 4 and 8). They are memory-bound, so the
// kernel is direct, NHWC, and vectorized over channels:
//
// A thread computes kVec consecutive output channels (16 bytes of outputs
// when the shape allows) of kPx consecutive output pixels of one row. Those
// channels are whole groups, or a slice of one group, so the input channels
// they read are contiguous too: for each tap and pixel the thread loads them
// as vectors, and for each tap the packed weights [kh][kw][cg][o] of its kVec
// outputs, one vector per input channel of the group, reused by its kPx
// pixels. Every multiply-add is useful (no zero padding of the groups) and
// sums are fp32. Consecutive threads take consecutive channel vectors of the
// same pixels, so a warp's loads and stores are contiguous. The epilogue is
// the GEMM's (bias, residual, activation, vector store); the optional SE
// scale multiplies the input as it is loaded.
//
// Part of kernels.cuh; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_DIRECT_CUH
#define KILN_RUNTIME_CUDA_DIRECT_CUH

#include "kiln/cuda/gemm.cuh"

namespace kiln::cuda::detail {

/// Geometry of a direct convolution.
template <Conv2d S, Epilogue E, Precision P> struct DirectConfig {
  static constexpr Conv2d kS = S;
  static constexpr Epilogue kE = E;
  static constexpr Precision kP = P;
  static constexpr int kEs = element_bytes(P);
  static constexpr int kCg = S.c / S.groups, kOg = S.o / S.groups;
  static constexpr int kOutAlign = [] {
    int a = gcd(S.out_step == 1 ? activation_alignment(S.o, S.out_stride, P)
                                : 16,
                16);
    if (E.residual)
      a = gcd(a, activation_alignment(S.o, E.residual_stride, P));
    return a;
  }();
  /// Output channels per thread: the widest that the output alignment
  /// allows, is whole groups or divides a group, and keeps the input
  /// channels of a tap (whole groups) within 32 registers.
  static constexpr int kVec = [] {
    for (int v = 16 / kEs; v > 1; v /= 2) {
      bool aligned = v * kEs <= kOutAlign && S.o % v == 0;
      bool groups = v % kOg == 0 ? (v / kOg) * kCg <= 32 : kOg % v == 0;
      if (aligned && groups)
        return v;
    }
    return 1;
  }();
  /// Groups a thread's outputs span (1 when they are a slice of one group).
  static constexpr int kGroups = kVec >= kOg ? kVec / kOg : 1;
  /// Input channels of one group processed at a time (all of them when a
  /// thread spans several groups), and loaded at once per tap and pixel.
  static constexpr int kChunk = kGroups > 1 ? kCg : gcd(kCg, 8);
  static constexpr int kLoad = kGroups * kChunk;
  /// Alignment (bytes) of those loads: input pixel stride, the first channel
  /// of a thread's groups and the chunk offsets all are multiples of it.
  static constexpr int kInAlign =
      gcd(gcd(activation_alignment(S.c, S.in_stride, P),
              (kGroups > 1 ? kLoad : kCg) * kEs),
          kChunk *kEs);
  /// Output pixels per thread along a row.
  static constexpr int kPx = S.wo >= 4 && kVec * 4 <= 32   ? 4
                             : S.wo >= 2 && kVec * 2 <= 32 ? 2
                                                           : 1;
  static constexpr int kVectors = S.o / kVec;
  static constexpr int kXGroups = int(ceil_div(S.wo, kPx));
  static constexpr long kThreadsTotal = long(S.n) * S.ho * kXGroups * kVectors;
  static constexpr int kBlock = 256;
};

template <class C>
__global__ void __launch_bounds__(256)
    direct_conv_kernel(ConvArgs<C::kP> args) {
  constexpr Conv2d S = C::kS;
  constexpr Epilogue E = C::kE;
  constexpr Precision P = C::kP;
  constexpr int kVec = C::kVec, kPx = C::kPx, kCg = C::kCg, kOg = C::kOg;
  long id = long(blockIdx.x) * C::kBlock + threadIdx.x;
  if (id >= C::kThreadsTotal)
    return;
  int vec = int(id % C::kVectors);
  long rest = id / C::kVectors;
  int ox0 = int(rest % C::kXGroups) * kPx;
  rest /= C::kXGroups;
  int oy = int(rest % S.ho), img = int(rest / S.ho);
  int o0 = vec * kVec;
  int c0 = (o0 / kOg) * kCg; // first input channel of the thread's groups
  const Act<P> *image = args.in + long(img) * S.h * S.w * S.in_stride;

  float acc[kPx][kVec];
#pragma unroll
  for (int p = 0; p < kPx; ++p)
#pragma unroll
    for (int v = 0; v < kVec; ++v)
      acc[p][v] = 0.f;

#pragma unroll
  for (int ky = 0; ky < S.kh; ++ky) {
    int iy = oy * S.sh - S.ph + ky * S.dh;
    if (unsigned(iy) >= unsigned(S.h))
      continue;
#pragma unroll
    for (int kx = 0; kx < S.kw; ++kx) {
#pragma unroll
      for (int ci0 = 0; ci0 < kCg; ci0 += C::kChunk) {
        float w[C::kChunk][kVec];
#pragma unroll
        for (int ci = 0; ci < C::kChunk; ++ci)
          load_vec<P, kVec>(args.weights +
                                ((ky * S.kw + kx) * kCg + ci0 + ci) * S.o + o0,
                            w[ci]);
#pragma unroll
        for (int p = 0; p < kPx; ++p) {
          int ix = (ox0 + p) * S.sw - S.pw + kx * S.dw;
          if (ox0 + p >= S.wo || unsigned(ix) >= unsigned(S.w))
            continue;
          float x[C::kLoad];
          int c = c0 + ci0;
          load_vec<P, C::kLoad, C::kInAlign>(
              image + (iy * S.w + ix) * S.in_stride + c, x);
          if constexpr (E.scale) {
            const float *s = args.scale + img * S.c + c;
#pragma unroll
            for (int j = 0; j < C::kLoad; ++j)
              x[j] *= s[j];
          }
          // Channel (g, ci) of the load feeds the outputs of group g.
#pragma unroll
          for (int g = 0; g < C::kGroups; ++g)
#pragma unroll
            for (int ci = 0; ci < C::kChunk; ++ci)
#pragma unroll
              for (int v = (C::kGroups > 1 ? g * kOg : 0);
                   v < (C::kGroups > 1 ? (g + 1) * kOg : kVec); ++v)
                acc[p][v] = fmaf(x[g * C::kChunk + ci], w[ci][v], acc[p][v]);
        }
      }
    }
  }
#pragma unroll
  for (int p = 0; p < kPx; ++p) {
    if (ox0 + p >= S.wo)
      break;
    long pixel = (long(img) * S.ho + oy) * S.wo + ox0 + p;
    finish<E, P, kVec, S.out_stride, S.out_step>(acc[p], pixel, o0, args.bias,
                                     args.residual, args.out);
  }
}

} // namespace kiln::cuda::detail

#endif // KILN_RUNTIME_CUDA_DIRECT_CUH
