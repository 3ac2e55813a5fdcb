//===- grouped.h - depthwise and narrow grouped convolution -----*- C++ -*-===//
//
// This file implements convolutions whose groups are too narrow for a GEMM
// to fill a vector: depthwise (c/groups == 1, channel multiplier 1, 2, 4, 8
// or 16) and grouped convolutions with a few channels per group (ResNeXt's
// 32x4d has 4 and 8). A GEMM per group would use 1 to 8 of 16 lanes, so
// instead groups share the lanes of a vector:
//
// Each vector holds 16 consecutive output channels (whole groups, since the
// channels per group divide 16). For one pixel and tap, the input channels
// those groups read (at most 16) are loaded once; reduction step j then
// permutes lane (l / cout) * cin + j of that load under output lane l and
// multiplies by the packed weights of step j. Depthwise with multiplier 1
// needs no permutation at all. Every multiply is useful work.
//
// The loop runs along an output row, MR pixels at a time, so each weight
// vector is loaded once per tap and reused by all MR pixels. Blocks that
// touch the left or right padding check every tap; interior blocks do not.
// Weights are packed [o/16][kh][kw][c/groups][16], zero-padded.
//
// Part of kernels.h; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_GROUPED_H
#define KILN_RUNTIME_CPU_GROUPED_H

#include "kiln/cpu/gemm.h"

#include <array>

namespace kiln::cpu::detail {

/// Whether the lane-sharing kernel handles |s| (otherwise a GEMM per group
/// does): the groups of one vector must read at most 16 input channels in
/// all, and sharing must beat the per-group GEMM. It does unless each group
/// has 16 output channels and several input channels; then the GEMM's lanes
/// are all useful, without permutes.
constexpr bool lane_shared(Conv2d s) {
  int cin = s.c / s.groups, cout = s.o / s.groups;
  return s.groups > 1 && kLanes % cout == 0 && cin <= cout &&
         (cout < kLanes || cin == 1);
}

/// Geometry of a lane-shared convolution: the template argument of
/// lane_block, so that its taps unroll with constant offsets (2.3x faster
/// than run-time geometry on MobileNet's depthwise layers). Layers with the
/// same geometry share instances.
struct LaneGeom {
  int h, w, in_stride;
  int kh, kw, sw, pw, dh, dw;
  int out_stride, residual_stride;
  int out_step; ///< floats between output channels (Conv2d::out_step)
};

/// One output row of one 16-channel block.
struct LaneRow {
  const float *in;       ///< the image, at the block's first input channel
  const float *weights;  ///< the block's packed weights [kh][kw][cin][16]
  float *out;            ///< output pixel (row, 0), block's first channel
  const float *residual; ///< like out (if E.residual)
  int iy0;               ///< input row of tap ky = 0 (may be negative)
  Vec bias;
  Mask in_mask, out_mask;
};

/// Lane l of step j reads input lane (l / COUT) * CIN + j.
template <int CIN, int COUT> constexpr Index lane_source(int j) {
  Index idx{};
  for (int l = 0; l < kLanes; ++l)
    idx.lane[l] = (l / COUT) * CIN + j;
  return idx;
}

/// Computes output pixels [ox0, ox0 + NB) of row |r|; with |Checked|, taps
/// left or right of the input are skipped.
template <LaneGeom G, int NB, bool Checked, int CIN, int COUT, Epilogue E>
KILN_NOINLINE void lane_block(const LaneRow &r, int ox0) {
  constexpr bool permuted = !(CIN == 1 && COUT == 1);
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

  int ix0 = ox0 * G.sw - G.pw;
  KILN_UNROLL
  for (int ky = 0; ky < G.kh; ++ky) {
    int iy = r.iy0 + ky * G.dh;
    if (iy < 0 || iy >= G.h)
      continue;
    const float *row = r.in + size_t(iy) * G.w * G.in_stride;
    KILN_UNROLL
    for (int kx = 0; kx < G.kw; ++kx) {
      const float *wk = r.weights + (ky * G.kw + kx) * CIN * kLanes;
      Vec w[CIN];
      KILN_UNROLL
      for (int j = 0; j < CIN; ++j)
        w[j] = load(wk + j * kLanes);
      KILN_UNROLL
      for (int x = 0; x < NB; ++x) {
        int dx = kx * G.dw + x * G.sw;
        if (Checked && (ix0 + dx < 0 || ix0 + dx >= G.w))
          continue;
        Vec v = load(row + ptrdiff_t(ix0 + dx) * G.in_stride, r.in_mask);
        if constexpr (!permuted) {
          acc[x] = fma(v, w[0], acc[x]);
        } else {
          KILN_UNROLL
          for (int j = 0; j < CIN; ++j)
            acc[x] = fma(permute(v, source[j]), w[j], acc[x]);
        }
      }
    }
  }

  KILN_UNROLL
  for (int x = 0; x < NB; ++x)
    store_epilogue<E>(r.out + size_t(ox0 + x) * G.out_stride, acc[x], r.bias,
                      r.residual + size_t(ox0 + x) * G.residual_stride,
                      r.out_mask, G.out_step);
}

/// The lane-shared convolution of one shape.
template <Conv2d S> struct LaneConv {
  static constexpr int cin = S.c / S.groups, cout = S.o / S.groups;
  static constexpr int in_lanes = kLanes / cout * cin;
  static constexpr int blocks = ceil_div(S.o, kLanes);
  static constexpr size_t block_floats = size_t(S.kh) * S.kw * cin * kLanes;
  static constexpr size_t packed_size = blocks * block_floats;

  /// Pixels per register block: NB accumulators, the weights of one tap and
  /// a permuted input stay in registers.
  static constexpr int nb = 8;
  static constexpr int tail = S.wo % nb;
  /// Output columns [x_lo, x_hi) read no horizontal padding at any tap.
  static constexpr int x_lo = std::min(S.wo, ceil_div(S.pw, S.sw));
  static constexpr int x_hi = std::clamp(
      S.w - 1 + S.pw - (S.kw - 1) * S.dw < 0
          ? 0
          : (S.w - 1 + S.pw - (S.kw - 1) * S.dw) / S.sw + 1,
      x_lo, S.wo);
};

/// OIHW [o][c/groups][kh][kw] -> [o/16][kh][kw][c/groups][16].
template <Conv2d S> void pack_lanes(const float *oihw, float *packed) {
  using P = LaneConv<S>;
  for (int b = 0; b < P::blocks; ++b)
    for (int ky = 0; ky < S.kh; ++ky)
      for (int kx = 0; kx < S.kw; ++kx)
        for (int j = 0; j < P::cin; ++j)
          for (int l = 0; l < kLanes; ++l) {
            int oc = b * kLanes + l;
            *packed++ =
                oc < S.o ? oihw[((size_t(oc) * P::cin + j) * S.kh + ky) * S.kw +
                                kx]
                         : 0.f;
          }
}

/// Runs the NB pixels from |ox0| (a full block or the row's tail), checking
/// horizontal bounds only if some tap of theirs reaches the padding.
template <Conv2d S, Epilogue E, LaneGeom G, int NB>
KILN_INLINE void run_lane_block(const LaneRow &r, int ox0) {
  using P = LaneConv<S>;
  if (ox0 < P::x_lo || ox0 + NB > P::x_hi)
    lane_block<G, NB, true, P::cin, P::cout, E>(r, ox0);
  else
    lane_block<G, NB, false, P::cin, P::cout, E>(r, ox0);
}

/// Tasks are (output row, range of channel blocks); rows give large layers
/// their parallelism, channel blocks small ones.
template <Conv2d S, Epilogue E>
void conv_lanes(const float *in, const float *packed, const float *bias,
                const float *residual, float *out, ThreadPool &pool) {
  using P = LaneConv<S>;
  constexpr Epilogue EK = epilogue_kind(E);
  constexpr LaneGeom geom{S.h,  S.w,  S.in_stride,
                          S.kh, S.kw, S.sw, S.pw, S.dh, S.dw,
                          S.out_stride, E.residual ? E.residual_stride : 0,
                          S.out_step};
  constexpr int rows = S.n * S.ho;
  int want = pool.size() == 1 ? 1 : 4 * pool.size();
  int ranges = std::clamp(ceil_div(want, rows), 1, P::blocks);
  int range_blocks = ceil_div(P::blocks, ranges);
  ranges = ceil_div(P::blocks, range_blocks);

  pool.parallel_for(int64_t(rows) * ranges, [&](int64_t task) {
    int row = int(task / ranges), range = int(task % ranges);
    int img = row / S.ho, oy = row % S.ho;
    size_t pixel = size_t(row) * S.wo; // output pixel (img, oy, 0)
    int last = std::min(P::blocks, (range + 1) * range_blocks);
    for (int b = range * range_blocks; b < last; ++b) {
      int cbase = b * kLanes / P::cout * P::cin, obase = b * kLanes;
      Mask out_mask = first(S.o - obase);
      LaneRow r{in + size_t(img) * S.h * S.w * S.in_stride + cbase,
                packed + b * P::block_floats,
                out + pixel * S.out_stride + obase * S.out_step,
                E.residual ? residual + pixel * E.residual_stride + obase
                           : nullptr,
                oy * S.sh - S.ph,
                E.bias ? load(bias + obase, out_mask) : zero(),
                first(std::min(P::in_lanes, S.c - cbase)),
                out_mask};
      int ox0 = 0;
      for (; ox0 + P::nb <= S.wo; ox0 += P::nb)
        run_lane_block<S, EK, geom, P::nb>(r, ox0);
      if constexpr (P::tail > 0)
        run_lane_block<S, EK, geom, P::tail>(r, ox0);
    }
  });
}

} // namespace kiln::cpu::detail

#endif // KILN_RUNTIME_CPU_GROUPED_H
