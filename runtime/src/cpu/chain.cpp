//===- chain.cpp - a 1x1 / depthwise / 1x1 chain as one kernel ------------===//
//
// conv_chain (kiln/cpu/kernels.h, ConvChain in kiln/cpu/layout.h): MobileNetV2's
// inverted residual -- expand 1x1, depthwise KxK, project 1x1 -- computed an
// output row at a time, so that the expanded tensor (6x the block's input:
// 4.8 MB at MobileNetV2's 112x112 layer) never leaves the cache:
//
//  * a task owns a band of output rows of one image and a ring of K expanded
//    input rows in its thread's scratch; for each output row it expands the
//    input rows the depthwise window needs that the ring does not hold yet
//    (each once, except the K - stride rows a band shares with the one
//    above);
//  * runs the depthwise row kernel (depthwise.h) over the ring into one
//    row of depthwise output;
//  * projects that row into the output, with the project's epilogue.
//
// The 1x1 layers run gemm.h's microkernel on their conv2d_pack panels, one
// row of pixels at a time, and each output is reduced in the same order as
// by the three separate kernels, so the results are the same bit for bit.
//
// Compiled once per kernel set (kernels_isa.cpp).
//
//===----------------------------------------------------------------------===//

#include "depthwise.h"
#include "isa.h"
#include "memory.h"

namespace kiln::cpu::KILN_CPU_ISA {
namespace {

/// A row of |m| pixels of the 1x1 convolution |P|: pixel p reads
/// in + p * in_stride and writes out + p * out_stride (channel k at
/// k * out_step), with the epilogue |E| (residual pixel p at
/// residual + p * E.residual_stride).
void pointwise_row(const GemmLayout &P, const Epilogue &E, int m,
                   const float *in, int in_stride, const float *packed,
                   const float *bias, const float *residual, float *out,
                   int out_stride, int out_step) {
  const int res_stride = E.residual ? E.residual_stride : 0;
  for (int p0 = 0; const auto &[count, run] : even_tiles(m, P.tile.mr)) {
    if (run == 0)
      continue;
    const float *rows[kMaxMr];
    for (int r = 0; r < count; ++r)
      rows[r] = in + size_t(p0 + r) * in_stride;
    for (int panel = 0; panel < P.panels; ++panel) {
      const int o0 = panel * P.nr;
      TileOut o{out + size_t(p0) * out_stride + size_t(o0) * out_step,
                out_stride,
                out_step,
                E.bias ? bias + o0 : nullptr,
                E.residual ? residual + size_t(p0) * res_stride + o0 : nullptr,
                res_stride,
                std::min(P.nr, P.n - o0),
                E.bias,
                E.residual};
      tile_fn(count, P.tile.nv)(rows, 1, P.kc, 0,
                                packed + panel * P.panel_floats, o, E.act, run,
                                ptrdiff_t(count) * in_stride);
    }
    p0 += count * run;
  }
}

} // namespace

void conv_chain(const ConvChain &C, const Epilogue *E, const float *in,
                const float *const *packed, const float *const *bias,
                const float *residual, float *out, ThreadPool &pool) {
  const Conv2d &X = C.expand, &D = C.depthwise, &P = C.project;
  const GemmLayout gx = gemm_layout(X, kShape), gp = gemm_layout(P, kShape);
  const LaneLayout ld = lane_layout(D, kLanes);
  const DwRowFns dw = depthwise_row_fns(D);
  // (Not a structured binding: lambdas below use them, which clang < 16
  // cannot capture.)
  const DwColumns columns = interior_columns(D);
  const int x_lo = columns.lo, x_hi = columns.hi;
  // Bands of at least two output rows, one per thread: each band expands
  // the K - stride input rows it shares with the band above once more, so
  // more bands than threads cost more than they balance (on 2 threads, 4
  // bands a thread made MobileNetV2 12% slower than 1).
  const int want = pool.size();
  int bands = std::clamp(ceil_div(want, D.n), 1, std::max(1, D.ho / 2));
  const int band_rows = ceil_div(D.ho, bands);
  bands = ceil_div(D.ho, band_rows);
  const size_t row_floats = size_t(D.w) * D.c; // one expanded row
  const size_t scratch_floats = D.kh * row_floats + size_t(D.wo) * D.o;

  pool.parallel_for(int64_t(D.n) * bands, [&](int64_t task) {
    const int img = int(task / bands), band = int(task % bands);
    const int oy0 = band * band_rows, oy1 = std::min(D.ho, oy0 + band_rows);
    float *ring = thread_scratch(scratch_floats);
    float *dw_row = ring + D.kh * row_floats;
    int held[kMaxDepthwiseK]; // the input row each ring slot holds
    std::fill(held, held + kMaxDepthwiseK, -1);
    const float *image = in + size_t(img) * X.h * X.w * X.in_stride;
    for (int oy = oy0; oy < oy1; ++oy) {
      // The expanded input rows of this output row, in the ring.
      const float *rows[kMaxDepthwiseK];
      bool all = true;
      for (int ky = 0; ky < D.kh; ++ky) {
        const int iy = oy * D.sh - D.ph + ky;
        if (iy < 0 || iy >= D.h) {
          rows[ky] = nullptr;
          all = false;
          continue;
        }
        const int slot = iy % D.kh;
        float *row = ring + slot * row_floats;
        if (held[slot] != iy) {
          pointwise_row(gx, E[0], X.w, image + size_t(iy) * X.w * X.in_stride,
                        X.in_stride, packed[0], bias[0], nullptr, row, X.o, 1);
          held[slot] = iy;
        }
        rows[ky] = row;
      }
      // The depthwise row, a vector of channels at a time.
      for (int b = 0; b < ld.blocks; ++b) {
        DwRow d{};
        for (int ky = 0; ky < D.kh; ++ky)
          d.rows[ky] = rows[ky] ? rows[ky] + b * kLanes : nullptr;
        d.weights = packed[1] + b * ld.block_floats;
        d.out = dw_row + b * kLanes;
        d.bias = E[1].bias ? load(bias[1] + b * kLanes) : zero();
        d.x_lo = x_lo, d.x_hi = x_hi;
        (all ? dw.all_rows : dw.some_rows)(D, d, E[1].act);
      }
      // The projected row.
      const size_t pixel = (size_t(img) * D.ho + oy) * D.wo;
      pointwise_row(gp, E[2], D.wo, dw_row, D.o, packed[2], bias[2],
                    E[2].residual ? residual + pixel * E[2].residual_stride
                                  : nullptr,
                    out + pixel * P.out_stride, P.out_stride, P.out_step);
    }
  });
}

} // namespace kiln::cpu::KILN_CPU_ISA
