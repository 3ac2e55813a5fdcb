//===- depthwise.h - the depthwise row kernel -------------------*- C++ -*-===//
//
// This file implements the fast path of depthwise convolution (one input and
// one output channel per group) for the geometries the depthwise networks
// use: KxK taps with K = 3 or 5, horizontal stride 1 or 2, no dilation.
//
// One call computes one output row of one vector of channels (kLanes
// consecutive channels, NHWC, so one vector load per pixel and tap; the last
// vector of a layer whose channels are not a multiple of kLanes is masked):
//
//  * the KxK weight vectors are loaded once per row;
//  * interior pixels (no tap in the horizontal padding) go NX at a time:
//    for each kernel row, the (NX - 1) * SW + K input columns those pixels
//    read are loaded once and each feeds up to K accumulators (a sliding
//    window: 6 loads for 12 FMAs at 3x3, stride 1, NX = 4);
//  * the pixels whose taps reach into the horizontal padding (one or two at
//    each end) go the same way, their columns in the padding zeros rather
//    than loads: at stride 1 in a group with their interior neighbours (a
//    row starts with one such group and ends with groups of 4, 2 and 1
//    pixels), at stride 2 one at a time;
//  * kernel rows in the vertical padding are skipped by the caller passing
//    no row for them (AllRows = false is the instance that checks).
//
// The general lane-shared block (grouped.h) still serves everything else:
// other geometries and grouped convolution. Accumulation order per output
// is the same as there (kernel row, then column; a tap in the padding adds a
// zero), so results do not depend on the path.
//
// Included by the kernel sources of src/cpu only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_DEPTHWISE_H
#define KILN_RUNTIME_CPU_DEPTHWISE_H

#include "gemm.h"

#include <type_traits>

namespace kiln::cpu::KILN_CPU_ISA {

/// The largest kernel the row kernel takes.
inline constexpr int kMaxDepthwiseK = 5;

/// One output row of one kLanes-channel block.
struct DwRow {
  /// Input row of each kernel row, at the block's first channel, or null
  /// where the kernel row falls in the vertical padding.
  const float *rows[kMaxDepthwiseK];
  const float *weights;  ///< the block's packed weights [kh][kw][kLanes]
  float *out;            ///< output pixel (row, 0), the block's channel 0
  const float *residual; ///< like out (if has_residual)
  Vec bias;
  int x_lo, x_hi; ///< output columns [x_lo, x_hi) read no horizontal padding
  int residual_stride;
  bool has_residual;
  /// The block's channels (Masked instances only: the others load and store
  /// all kLanes).
  Mask mask;
};

/// Pixels per interior step: NX accumulators, the step's input columns and
/// one weight stay in registers.
inline constexpr int kDepthwiseNx = kRegisters >= 32 ? 8 : 4;

template <int K, int SW, bool AllRows, bool Masked, Fast F>
KILN_INLINE void depthwise_row_with(const Conv2d &S, const DwRow &r,
                                    Activation act) {
  constexpr int NX = kDepthwiseNx;
  const ptrdiff_t stride = S.in_stride;
  // A partial block reads only its own channels: the lanes past them may be
  // past the end of the input.
  auto in = [&](const float *p) KILN_INLINE_LAMBDA {
    if constexpr (Masked)
      return load(p, r.mask);
    else
      return load(p);
  };
  Vec w[K * K];
  KILN_UNROLL
  for (int t = 0; t < K * K; ++t)
    w[t] = load(r.weights + t * kLanes);

  auto store_pixel = [&](int ox, Vec acc) KILN_INLINE_LAMBDA {
    store_epilogue<F>(r.out + size_t(ox) * S.out_stride, acc, r.bias,
                      r.residual + size_t(ox) * r.residual_stride,
                      r.has_residual, Masked ? r.mask : kAll, S.out_step,
                      act);
  };
  // N pixels from ox: the (N - 1) * SW + K input columns of each kernel row
  // loaded once, each feeding up to K accumulators. Checked: columns outside
  // the input (the horizontal padding) are zeros, not loads.
  auto group = [&](int ox, auto n, auto checked) KILN_INLINE_LAMBDA {
    constexpr int N = decltype(n)::value;
    constexpr bool Checked = decltype(checked)::value;
    constexpr int kCols = (N - 1) * SW + K;
    Vec acc[N];
    KILN_UNROLL
    for (int x = 0; x < N; ++x)
      acc[x] = zero();
    const ptrdiff_t ix0 = ptrdiff_t(ox) * SW - S.pw;
    KILN_UNROLL
    for (int ky = 0; ky < K; ++ky) {
      const float *row = r.rows[ky];
      if (!AllRows && !row)
        continue;
      Vec v[kCols];
      KILN_UNROLL
      for (int j = 0; j < kCols; ++j) {
        const ptrdiff_t ix = ix0 + j;
        v[j] = !Checked || (ix >= 0 && ix < S.w) ? in(row + ix * stride)
                                                 : zero();
      }
      KILN_UNROLL
      for (int kx = 0; kx < K; ++kx)
        KILN_UNROLL
        for (int x = 0; x < N; ++x)
          acc[x] = fma(v[x * SW + kx], w[ky * K + kx], acc[x]);
    }
    KILN_UNROLL
    for (int x = 0; x < N; ++x)
      store_pixel(ox + x, acc[x]);
  };
  // Pixels [ox, end) in groups of NX, 4, 2 and 1.
  auto groups = [&](int ox, int end, auto checked) KILN_INLINE_LAMBDA {
    using I = std::integral_constant<int, NX>;
    for (; ox + NX <= end; ox += NX)
      group(ox, I{}, checked);
    if constexpr (NX > 4)
      if (ox + 4 <= end) {
        group(ox, std::integral_constant<int, 4>{}, checked);
        ox += 4;
      }
    if (ox + 2 <= end) {
      group(ox, std::integral_constant<int, 2>{}, checked);
      ox += 2;
    }
    if (ox < end)
      group(ox, std::integral_constant<int, 1>{}, checked);
  };
  using Checked = std::true_type;
  using Unchecked = std::false_type;

  // At stride 1 the pixels reading the left padding go in one checked group
  // with the interior pixels after them, rather than one at a time: alone,
  // a pixel's taps are one chain of dependent FMAs, as long as the whole
  // row's interior on a 14-pixel row. The interior's whole groups follow;
  // its last few pixels go in checked groups with the right edge. (At
  // stride 2 a wide checked group's columns cost more than that: the edge
  // pixels go alone there.)
  if constexpr (SW == 1) {
    int ox = 0;
    if (r.x_lo > 0) {
      ox = std::min(S.wo, std::max(r.x_lo, NX));
      groups(0, ox, Checked{});
    }
    int interior_end = ox + (std::max(r.x_hi - ox, 0) / NX) * NX;
    groups(ox, interior_end, Unchecked{});
    groups(interior_end, S.wo, Checked{});
  } else {
    groups(0, r.x_lo, Checked{});
    groups(r.x_lo, r.x_hi, Unchecked{});
    groups(r.x_hi, S.wo, Checked{});
  }
}

/// depthwise_row_with for the activation of the layer, chosen once a row.
template <int K, int SW, bool AllRows, bool Masked = false>
KILN_NOINLINE void depthwise_row(const Conv2d &S, const DwRow &r,
                                 Activation act) {
  with_activation(act, [&](auto a) {
    depthwise_row_with<K, SW, AllRows, Masked, decltype(a)::value>(S, r, act);
  });
}

using DwRowFn = void (*)(const Conv2d &S, const DwRow &r, Activation act);

/// The row kernels of one geometry: every kernel row inside the input, or
/// some in the padding; and for a partial block of channels (DwRow::mask),
/// with kernel rows in the padding or not.
struct DwRowFns {
  DwRowFn all_rows, some_rows, masked;
};

/// The row kernels for |S|, or nulls if the fast path does not take it
/// (depthwise.cpp).
DwRowFns depthwise_row_fns(const Conv2d &S);

/// Output columns [lo, hi) of |S| whose taps read no horizontal padding.
struct DwColumns {
  int lo, hi;
};
inline DwColumns interior_columns(const Conv2d &S) {
  const int lo = std::min(S.wo, ceil_div(S.pw, S.sw));
  const int last = S.w - 1 + S.pw - (S.kw - 1) * S.dw;
  return {lo, std::clamp(last < 0 ? 0 : last / S.sw + 1, lo, S.wo)};
}

} // namespace kiln::cpu::KILN_CPU_ISA

#endif // KILN_RUNTIME_CPU_DEPTHWISE_H
