//===- grouped.cpp - the lane-shared convolution of one kernel set --------===//
//
// The driver of grouped.h, compiled once per kernel set (kernels_isa.cpp).
//
//===----------------------------------------------------------------------===//

#include "depthwise.h"
#include "grouped.h"
#include "isa.h"

namespace kiln::cpu::KILN_CPU_ISA {

/// The lane-shared convolution. Tasks are (output row, range of channel
/// blocks); rows give large layers their parallelism, channel blocks small
/// ones. The channel blocks of the common depthwise geometries take the
/// row kernels of depthwise.h (a partial last block its masked one),
/// everything else lane_block.
void conv_lanes(const Conv2d &S, const Epilogue &E, const float *in,
                       const float *packed, const float *bias,
                       const float *residual, float *out, ThreadPool &pool) {
  const LaneLayout P = lane_layout(S, kLanes);
  const LaneFns fns = lane_fns(S);
  if (!fns.interior)
    std::abort(); // lane_shared() admits no other shape
  const DwRowFns dw = depthwise_row_fns(S);
  // Output columns [x_lo, x_hi) read no horizontal padding at any tap.
  // (Not a structured binding: lambdas below use them, which clang < 16
  // cannot capture.)
  const DwColumns columns = interior_columns(S);
  const int x_lo = columns.lo, x_hi = columns.hi;
  const int rows = S.n * S.ho;
  int want = pool.size() == 1 ? 1 : 4 * pool.size();
  int ranges = std::clamp(ceil_div(want, rows), 1, P.blocks);
  int range_blocks = ceil_div(P.blocks, ranges);
  ranges = ceil_div(P.blocks, range_blocks);

  pool.parallel_for(int64_t(rows) * ranges, [&](int64_t task) {
    int row = int(task / ranges), range = int(task % ranges);
    int img = row / S.ho, oy = row % S.ho;
    size_t pixel = size_t(row) * S.wo; // output pixel (img, oy, 0)
    int last_block = std::min(P.blocks, (range + 1) * range_blocks);
    for (int b = range * range_blocks; b < last_block; ++b) {
      int cbase = b * kLanes / P.cout * P.cin, obase = b * kLanes;
      if (dw.all_rows) {
        const bool full = obase + kLanes <= S.o;
        DwRow d{};
        const float *image =
            in + size_t(img) * S.h * S.w * S.in_stride + cbase;
        bool all = true;
        for (int ky = 0; ky < S.kh; ++ky) {
          int iy = oy * S.sh - S.ph + ky;
          bool inside = iy >= 0 && iy < S.h;
          d.rows[ky] = inside ? image + size_t(iy) * S.w * S.in_stride
                              : nullptr;
          all &= inside;
        }
        d.weights = packed + b * P.block_floats;
        d.out = out + pixel * S.out_stride + size_t(obase) * S.out_step;
        d.residual = E.residual
                         ? residual + pixel * E.residual_stride + obase
                         : nullptr;
        d.mask = first(S.o - obase);
        d.bias = E.bias ? load(bias + obase, d.mask) : zero();
        d.x_lo = x_lo;
        d.x_hi = x_hi;
        d.residual_stride = E.residual ? E.residual_stride : 0;
        d.has_residual = E.residual;
        (!full ? dw.masked : all ? dw.all_rows : dw.some_rows)(S, d, E.act);
        continue;
      }
      Mask out_mask = first(S.o - obase);
      LaneRow r{in + size_t(img) * S.h * S.w * S.in_stride + cbase,
                packed + b * P.block_floats,
                out + pixel * S.out_stride + size_t(obase) * S.out_step,
                E.residual ? residual + pixel * E.residual_stride + obase
                           : nullptr,
                oy * S.sh - S.ph,
                E.bias ? load(bias + obase, out_mask) : zero(),
                first(std::min(P.in_lanes, S.c - cbase)),
                out_mask,
                E.residual ? E.residual_stride : 0,
                E.residual};
      for (int ox0 = 0; ox0 < S.wo; ox0 += kLaneBlock) {
        int count = std::min(kLaneBlock, S.wo - ox0);
        bool interior = count == kLaneBlock && ox0 >= x_lo &&
                        ox0 + kLaneBlock <= x_hi;
        (interior ? fns.interior : fns.edge)(S, r, ox0, count, E.act);
      }
    }
  });
}

} // namespace kiln::cpu::KILN_CPU_ISA
