//===- grouped.h - depthwise and narrow grouped convolution -----*- C++ -*-===//
//
// This file implements convolutions whose groups are too narrow for a GEMM
// to fill a vector: depthwise (c/groups == 1, channel multiplier 1, 2, 4, ...)
// and grouped convolutions with a few channels per group (ResNeXt's 32x4d
// has 4 and 8). A GEMM per group would use a few of the vector's lanes, so
// instead groups share the lanes of a vector (lane_shared, layout.h):
//
// Each vector holds kLanes consecutive output channels (whole groups, since
// the channels per group divide kLanes). For one pixel and tap, the input
// channels those groups read (at most kLanes) are loaded once; reduction
// step j then permutes lane (l / cout) * cin + j of that load under output
// lane l and multiplies by the packed weights of step j. Depthwise with
// multiplier 1 needs no permutation at all. Every multiply is useful work.
//
// The loop runs along an output row, NB pixels at a time, so each weight
// vector is loaded once per tap and reused by all NB pixels. Blocks that
// touch the left or right padding (and the row's tail) check every tap;
// interior blocks do not. The common depthwise geometries (3x3 and 5x5,
// stride 1 and 2) are compiled with constant taps and strides (2.3x faster
// than run-time geometry on MobileNet's depthwise layers); others take them
// at run time.
//
// Included by the kernel sources of src/cpu only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_GROUPED_H
#define KILN_RUNTIME_CPU_GROUPED_H

#include "gemm.h"

#include <array>

namespace kiln::cpu::KILN_CPU_ISA {

/// Pixels per register block: NB accumulators, the weights of one tap and a
/// permuted input stay in registers.
inline constexpr int kLaneBlock = 8;

/// One output row of one kLanes-channel block.
struct LaneRow {
  const float *in;       ///< the image, at the block's first input channel
  const float *weights;  ///< the block's packed weights [kh][kw][cin][lanes]
  float *out;            ///< output pixel (row, 0), block's first channel
  const float *residual; ///< like out (if has_residual)
  int iy0;               ///< input row of tap ky = 0 (may be negative)
  Vec bias;
  Mask in_mask, out_mask;
  int residual_stride;
  bool has_residual;
};

/// Lane l of step j reads input lane (l / COUT) * CIN + j.
template <int CIN, int COUT> constexpr Index lane_source(int j) {
  Index idx{};
  for (int l = 0; l < kLanes; ++l)
    idx.lane[l] = (l / COUT) * CIN + j;
  return idx;
}

/// Computes output pixels [ox0, ox0 + count) (count <= kLaneBlock) of row
/// |r|; with |Checked|, taps left or right of the input are skipped (which
/// also skips pixels past the row's end that lie outside the input; those
/// inside are computed and not stored). KH, KW, SW are the kernel and
/// stride when non-zero (taps unrolled), else S's (taps in a loop).
template <int KH, int KW, int SW, bool Checked, int CIN, int COUT>
KILN_NOINLINE void lane_block(const Conv2d &S, const LaneRow &r, int ox0,
                              int count, Activation act) {
  constexpr int NB = kLaneBlock;
  constexpr bool permuted = !(CIN == 1 && COUT == 1);
  const int kh = KH ? KH : S.kh, kw = KW ? KW : S.kw, sw = SW ? SW : S.sw;
  static constexpr auto table = [] {
    std::array<Index, CIN> t{};
    for (int j = 0; j < CIN; ++j)
      t[j] = lane_source<CIN, COUT>(j);
    return t;
  }();
  IndexVec source[CIN];
  if constexpr (permuted)
    for (int j = 0; j < CIN; ++j)
      source[j] = index(table[j]);

  Vec acc[NB];
  KILN_UNROLL
  for (int x = 0; x < NB; ++x)
    acc[x] = zero();

  const int ix0 = ox0 * sw - S.pw;
  // One tap (ky, kx) of input row |row| for all NB pixels.
  auto tap = [&](const float *row, int ky, int kx) KILN_INLINE_LAMBDA {
    const float *wk = r.weights + (ky * kw + kx) * CIN * kLanes;
    Vec w[CIN];
    KILN_UNROLL
    for (int j = 0; j < CIN; ++j)
      w[j] = load(wk + j * kLanes);
    KILN_UNROLL
    for (int x = 0; x < NB; ++x) {
      int dx = kx * S.dw + x * sw;
      if (Checked && (ix0 + dx < 0 || ix0 + dx >= S.w))
        continue;
      Vec v = load(row + ptrdiff_t(ix0 + dx) * S.in_stride, r.in_mask);
      if constexpr (!permuted) {
        acc[x] = fma(v, w[0], acc[x]);
      } else {
        KILN_UNROLL
        for (int j = 0; j < CIN; ++j)
          acc[x] = fma(permute(v, source[j]), w[j], acc[x]);
      }
    }
  };
  auto input_row = [&](int ky) -> const float * {
    int iy = r.iy0 + ky * S.dh;
    return iy < 0 || iy >= S.h ? nullptr
                               : r.in + size_t(iy) * S.w * S.in_stride;
  };
  if constexpr (KH != 0) {
    KILN_UNROLL
    for (int ky = 0; ky < KH; ++ky)
      if (const float *row = input_row(ky)) {
        KILN_UNROLL
        for (int kx = 0; kx < KW; ++kx)
          tap(row, ky, kx);
      }
  } else {
#pragma GCC unroll 1
    for (int ky = 0; ky < kh; ++ky)
      if (const float *row = input_row(ky)) {
#pragma GCC unroll 1
        for (int kx = 0; kx < kw; ++kx)
          tap(row, ky, kx);
      }
  }

  with_activation(act, [&](auto a) {
    KILN_UNROLL
    for (int x = 0; x < NB; ++x)
      if (!Checked || x < count)
        store_epilogue<decltype(a)::value>(
            r.out + size_t(ox0 + x) * S.out_stride, acc[x], r.bias,
            r.residual + size_t(ox0 + x) * r.residual_stride, r.has_residual,
            r.out_mask, S.out_step, act);
  });
}

using LaneFn = void (*)(const Conv2d &S, const LaneRow &r, int ox0, int count,
                        Activation act);

/// The lane_block instances of one shape: unchecked and checked.
struct LaneFns {
  LaneFn interior, edge;
};

template <int KH, int KW, int SW, int CIN, int COUT> LaneFns lane_fns_for() {
  return {&lane_block<KH, KW, SW, false, CIN, COUT>,
          &lane_block<KH, KW, SW, true, CIN, COUT>};
}

/// The instances for |S|: constant geometry for the common depthwise
/// layers, run-time geometry otherwise.
template <int CIN, int COUT> LaneFns lane_geometry(const Conv2d &S) {
  if constexpr (CIN == 1 && COUT == 1) {
    if (S.kh == 3 && S.kw == 3 && S.sw == 1)
      return lane_fns_for<3, 3, 1, 1, 1>();
    if (S.kh == 3 && S.kw == 3 && S.sw == 2)
      return lane_fns_for<3, 3, 2, 1, 1>();
    if (S.kh == 5 && S.kw == 5 && S.sw == 1)
      return lane_fns_for<5, 5, 1, 1, 1>();
    if (S.kh == 5 && S.kw == 5 && S.sw == 2)
      return lane_fns_for<5, 5, 2, 1, 1>();
  }
  return lane_fns_for<0, 0, 0, CIN, COUT>();
}

/// Dispatches the (cin, cout) pair of a lane-shared shape (layout.h): cout
/// divides kLanes, cin <= cout is a power of two, and cin == 1 when
/// cout == kLanes.
template <int COUT, int CIN = 1> LaneFns lane_pair(const Conv2d &S, int cin) {
  if constexpr (CIN > COUT || (COUT == kLanes && CIN > 1)) {
    return {};
  } else {
    if (cin == CIN)
      return lane_geometry<CIN, COUT>(S);
    return lane_pair<COUT, CIN * 2>(S, cin);
  }
}

inline LaneFns lane_fns(const Conv2d &S) {
  int cin = S.c / S.groups, cout = S.o / S.groups;
  switch (cout) {
  case 1: return lane_pair<1>(S, cin);
  case 2: return lane_pair<2>(S, cin);
  case 4: return lane_pair<4>(S, cin);
  case 8:
    if constexpr (kLanes >= 8)
      return lane_pair<8>(S, cin);
    break;
  case 16:
    if constexpr (kLanes >= 16)
      return lane_pair<16>(S, cin);
    break;
  }
  return {};
}

} // namespace kiln::cpu::KILN_CPU_ISA

#endif // KILN_RUNTIME_CPU_GROUPED_H
