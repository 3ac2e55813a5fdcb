//===- kernels_impl.h - the CPU kernel templates' definitions ---*- C++ -*-===//
//
// This file defines the templates declared in kernels.h: it checks each
// shape at compile time and dispatches it, with `if constexpr`, to one of the
// kernel families:
//  * gemm.h     implicit-GEMM convolution: dense, wide grouped (one GEMM per
//               group on channel slices), and linear layers (a 1x1 conv);
//  * grouped.h  depthwise and narrow grouped convolution (groups share the
//               lanes of a vector);
//  * pool.h     max, average and adaptive average pooling.
// Included at the end of kernels.h; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_KERNELS_IMPL_H
#define KILN_RUNTIME_CPU_KERNELS_IMPL_H

#include "kiln/cpu/gemm.h"
#include "kiln/cpu/grouped.h"
#include "kiln/cpu/pool.h"

namespace kiln::cpu {

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

/// A Linear layer is the 1x1 convolution of m pixels.
constexpr Conv2d as_conv(Linear s) {
  return {s.m, 1, 1, s.k, s.n, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, s.k, s.n};
}

} // namespace detail

//===----------------------------------------------------------------------===//
// conv2d
//===----------------------------------------------------------------------===//

template <Conv2d S> constexpr size_t conv2d_packed_size() {
  detail::check_conv<S>();
  if constexpr (detail::lane_shared(S))
    return detail::LaneConv<S>::packed_size;
  else
    return detail::ConvGemm<S>::packed_size;
}

template <Conv2d S> void conv2d_pack(const float *oihw, float *packed) {
  detail::check_conv<S>();
  if constexpr (detail::lane_shared(S))
    detail::pack_lanes<S>(oihw, packed);
  else
    detail::pack_gemm<S>(oihw, packed);
}

template <Conv2d S, Epilogue E>
void conv2d(const float *in, const float *packed, const float *bias,
            const float *residual, float *out, ThreadPool &pool) {
  detail::check_conv<S>();
  static_assert(!E.residual || E.residual_stride >= S.o,
                "Epilogue: residual_stride is smaller than o");
  if constexpr (detail::lane_shared(S))
    detail::conv_lanes<S, E>(in, packed, bias, residual, out, pool);
  else
    detail::conv_gemm<S, E>(in, packed, bias, residual, out, pool);
}

template <Conv2d S>
void conv2d_scale_packed(const float *packed, const float *scale,
                         float *scaled) {
  detail::check_conv<S>();
  static_assert(S.groups == 1 && !detail::lane_shared(S),
                "conv2d_scale_packed: dense convolutions only");
  // Packed as [panel][kh][kw][c][NR]: scale each run of NR by its channel.
  using P = detail::ConvGemm<S>;
  size_t runs = size_t(P::panels) * S.kh * S.kw * S.c;
  for (size_t run = 0; run < runs; ++run) {
    float s = scale[run % S.c];
    for (int lane = 0; lane < P::nr; ++lane)
      scaled[run * P::nr + lane] = packed[run * P::nr + lane] * s;
  }
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

template <Linear S> constexpr size_t linear_packed_size() {
  return conv2d_packed_size<detail::as_conv(S)>();
}

/// A Linear weight [n][k] is an OIHW weight [n][k][1][1].
template <Linear S> void linear_pack(const float *weight, float *packed) {
  conv2d_pack<detail::as_conv(S)>(weight, packed);
}

template <Linear S, Epilogue E>
void linear(const float *x, const float *packed, const float *bias,
            const float *residual, float *y, ThreadPool &pool) {
  static_assert(!E.residual || E.residual_stride == S.n,
                "linear: the residual's rows are contiguous (stride n)");
  conv2d<detail::as_conv(S), E>(x, packed, bias, residual, y, pool);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

template <Pool2d S>
void max_pool2d(const float *in, float *out, ThreadPool &pool) {
  detail::check_pool<S>();
  detail::pool_driver<detail::Reduce::Max>(
      in, out, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
      [](int oy, int ox) {
        detail::Window win{0, 0, S.dh, 0, 0, S.dw, 1.f};
        detail::clip_taps(oy * S.sh - S.ph, S.kh, S.dh, S.h, win.y0, win.ny);
        detail::clip_taps(ox * S.sw - S.pw, S.kw, S.dw, S.w, win.x0, win.nx);
        return win;
      },
      pool);
}

template <Pool2d S>
void avg_pool2d(const float *in, float *out, ThreadPool &pool) {
  detail::check_pool<S>();
  static_assert(S.dh == 1 && S.dw == 1, "avg_pool2d has no dilation");
  detail::pool_driver<detail::Reduce::Mean>(
      in, out, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
      [](int oy, int ox) {
        int hs = oy * S.sh - S.ph, ws = ox * S.sw - S.pw;
        int he = std::min(hs + S.kh, S.h + S.ph);
        int we = std::min(ws + S.kw, S.w + S.pw);
        int padded_area = (he - hs) * (we - ws);
        hs = std::max(hs, 0), ws = std::max(ws, 0);
        he = std::min(he, S.h), we = std::min(we, S.w);
        int area = (he - hs) * (we - ws);
        return detail::Window{hs, he - hs, 1, ws, we - ws, 1,
                              float(S.exclude_pad ? area : padded_area)};
      },
      pool);
}

template <AdaptivePool2d S>
void adaptive_avg_pool2d(const float *in, float *out, ThreadPool &pool) {
  static_assert(S.in_stride >= S.c && S.out_stride >= S.c,
                "AdaptivePool2d: a pixel stride is smaller than c");
  detail::pool_driver<detail::Reduce::Mean>(
      in, out, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
      [](int oy, int ox) {
        int hs = oy * S.h / S.ho, he = detail::ceil_div((oy + 1) * S.h, S.ho);
        int ws = ox * S.w / S.wo, we = detail::ceil_div((ox + 1) * S.w, S.wo);
        return detail::Window{hs, he - hs, 1, ws, we - ws, 1,
                              float((he - hs) * (we - ws))};
      },
      pool);
}

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_KERNELS_IMPL_H
