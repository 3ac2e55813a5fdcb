//===- gemm.h - implicit-GEMM convolution and its microkernel ---*- C++ -*-===//
//
// This file implements dense convolution (and, through it, linear layers and
// wide grouped convolution) as an implicit GEMM:
//
//   out[p][o] = sum over taps t=(ky,kx) and channels ci of
//               in[pixel(p, t)][ci] * W[o][ci][ky][kx]
//
// with M = n*ho*wo output pixels, N = o output channels, K = kh*kw*c.
//
// B side: conv2d_pack stores the weights once, in panels of NR = NV*16
// output channels, [group][o/NR][kh][kw][c][NR], zero-padded to whole
// panels, so the microkernel streams one panel front to back.
//
// A side: never materialized (no im2col). For a tile of MR output pixels the
// driver builds, on the stack, the address of each pixel's input row for
// every tap: the c floats at in + offset, or a row of zeros where the tap
// falls in the padding ("indirect convolution", as in XNNPACK).
//
// The microkernel (gemm_tile) keeps an MR x NR tile of accumulators in
// registers through the whole K reduction, broadcasting one input value per
// pixel against NV weight vectors per step, and applies the epilogue (bias,
// residual, activation) at the store, masking the tail panel's lanes. It is
// templated only on MR, NV and the epilogue's kind, so all layers of a
// model share a handful of instances.
//
// Part of kernels.h; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_GEMM_H
#define KILN_RUNTIME_CPU_GEMM_H

#include "kiln/cpu/simd.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace kiln::cpu::detail {

using namespace simd;

constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

/// |e| with its runtime-only parts zeroed: layers whose epilogues differ only
/// in strides share microkernel instances.
constexpr Epilogue epilogue_kind(Epilogue e) {
  e.residual_stride = 0;
  return e;
}

/// |n| floats of zeros, shared by all layers that need that many: the input
/// row of a tap that falls in the padding.
template <int N> const float *zeros() {
  alignas(64) static const float z[N] = {};
  return z;
}

/// Applies epilogue |E| to the accumulated vector |acc| of output channels
/// [16 v, 16 v + 16) of a panel and stores its |m| lanes to |out|.
/// |bias| is the panel's bias vector (ignored without E.bias), |res| the
/// pixel's residual at the same channel (ignored without E.residual).
/// Lane l goes to out[l * step]: step > 1 writes one group of a channel
/// shuffle straight into the shuffled buffer.
template <Epilogue E>
KILN_INLINE void store_epilogue(float *out, Vec acc, Vec bias,
                                const float *res, Mask m, int step) {
  if constexpr (E.bias)
    acc = add(acc, bias);
  if constexpr (E.residual)
    acc = add(acc, load(res, m));
  if (step == 1)
    store(out, activate<E.act>(acc), m);
  else
    store_every(out, activate<E.act>(acc), m, step);
}

/// Where a GEMM tile's results go.
struct TileOut {
  float *out;             ///< first pixel, first channel of the panel
  int out_stride;         ///< floats between pixels
  int out_step;           ///< floats between channels (Conv2d::out_step)
  const float *bias;      ///< the panel's first channel (if E.bias)
  const float *residual;  ///< like out (if E.residual)
  int residual_stride;
  int channels;           ///< valid channels in the panel, 1 .. NV*16
};

//===----------------------------------------------------------------------===//
// The microkernel
//===----------------------------------------------------------------------===//

/// Computes an MR-pixel x NV*16-channel tile: for each of |taps| taps, pixel
/// r's input row is rows[tap * MR + r] + |a_offset|, of which |kc| floats
/// are reduced against the packed panel |b| ([taps][kc][NV*16], read
/// sequentially). Accumulates in fp32 in a fixed order (tap, then channel),
/// so results do not depend on how the caller splits work.
template <int MR, int NV, Epilogue E>
KILN_NOINLINE void gemm_tile(const float *const *rows, int taps, int kc,
                             int a_offset, const float *b,
                             const TileOut &o) {
  // MR * NV accumulators + NV weight vectors + one broadcast must fit the
  // 32 vector registers of AVX-512, or the tile spills.
  static_assert(MR >= 1 && NV >= 1 && MR * NV + NV + 1 <= 32);
  Vec acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = zero();

  for (int t = 0; t < taps; ++t) {
    const float *a[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      a[r] = rows[t * MR + r] + a_offset;
    for (int k = 0; k < kc; ++k, b += NV * kLanes) {
      Vec w[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        w[v] = load(b + v * kLanes);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        Vec x = splat(a[r][k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          acc[r][v] = fma(x, w[v], acc[r][v]);
      }
    }
  }

  Mask m[NV];
  Vec bias[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    m[v] = first(o.channels - v * kLanes);
    bias[v] = E.bias ? load(o.bias + v * kLanes, m[v]) : zero();
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      store_epilogue<E>(o.out + r * o.out_stride + v * kLanes * o.out_step,
                        acc[r][v], bias[v],
                        o.residual + r * o.residual_stride + v * kLanes, m[v],
                        o.out_step);
}

//===----------------------------------------------------------------------===//
// Planning
//===----------------------------------------------------------------------===//

/// The register tile: MR pixels x NV vectors of 16 output channels.
struct GemmTile {
  int mr, nv;
};

/// Chooses the register tile for |n| output channels. Each candidate keeps
/// 8 to 24 accumulators and fewer than 12 row pointers live (more spill
/// x86's general registers), and measured at the FMA peak on Zen 4; the
/// wider ones load fewer weights per FMA, which matters on cores with two
/// 512-bit FMA units. So pick the one that wastes the fewest lanes on the
/// zero-padded tail panel, with a slight preference for width.
constexpr GemmTile choose_tile(int n) {
  constexpr GemmTile candidates[] = {{6, 4}, {8, 3}, {8, 2}, {8, 1}};
  GemmTile best = candidates[0];
  double best_score = 0;
  for (GemmTile t : candidates) {
    int lanes = ceil_div(n, t.nv * kLanes) * t.nv * kLanes;
    double score = double(n) / lanes * (1 - 0.03 * (4 - t.nv));
    if (score > best_score)
      best = t, best_score = score;
  }
  return best;
}

/// Bytes of packed weights one task keeps hot while it walks its pixel
/// tiles: a part of the L2 cache (1-2 MiB per core on current x86), leaving
/// room for the input rows streaming past.
inline constexpr size_t kWeightChunkBytes = 384 * 1024;

/// The implicit GEMM of one conv2d shape: each group is an independent GEMM
/// of M pixels x N = o/groups channels x K = kh*kw*(c/groups).
template <Conv2d S> struct ConvGemm {
  static constexpr int kc = S.c / S.groups;  ///< reduced channels per tap
  static constexpr int n = S.o / S.groups;   ///< output channels per group
  static constexpr int taps = S.kh * S.kw;
  static constexpr int m = S.n * S.ho * S.wo;
  static constexpr GemmTile tile = choose_tile(n);
  static constexpr int nr = tile.nv * kLanes;
  static constexpr int panels = ceil_div(n, nr);
  static constexpr size_t panel_floats = size_t(taps) * kc * nr;
  static constexpr size_t group_floats = panels * panel_floats;
  static constexpr size_t packed_size = S.groups * group_floats;

  /// Pixels split into |tiles| tiles of |tile_lo| or tile_lo + 1 pixels
  /// (the first |tile_rem| are the larger): with MR = 8, a 49-pixel layer
  /// runs 7 tiles of 7 rather than 6 of 8 and one of 1, which would stream
  /// the weights once more for a single pixel.
  static constexpr int tiles = ceil_div(m, tile.mr);
  static constexpr int tile_lo = m / tiles;
  static constexpr int tile_rem = m % tiles;

  /// Panels split into |chunks| chunks of |chunk_panels| that fit the cache
  /// budget.
  static constexpr int chunks = ceil_div(
      panels,
      int(std::clamp<size_t>(kWeightChunkBytes / (panel_floats * 4), 1,
                             size_t(panels))));
  static constexpr int chunk_panels = ceil_div(panels, chunks);

  /// Without padding every tap is in bounds; 1x1, stride 1 convolutions
  /// (most of a ResNet) read pixel p's row directly.
  static constexpr bool padded = S.ph > 0 || S.pw > 0;
  static constexpr bool pointwise = S.kh == 1 && S.kw == 1 && S.sh == 1 &&
                                    S.sw == 1 && !padded;
  /// In an unsliced input, the kw taps of a kernel row are one run of kw*c
  /// contiguous floats, which is also their order in the packed panel. A
  /// tile whose pixels all see their whole kernel row inside the input then
  /// reads each kernel row as one tap: 7x fewer row pointers for the 7x7,
  /// 3-channel stem, whose taps are otherwise 3 floats long.
  static constexpr bool merge_rows =
      S.groups == 1 && S.kw > 1 && S.dw == 1 && S.in_stride == S.c;
};

//===----------------------------------------------------------------------===//
// Packing and the convolution driver
//===----------------------------------------------------------------------===//

/// OIHW [o][c/groups][kh][kw] -> [group][panel][kh][kw][c/groups][NR].
template <Conv2d S> void pack_gemm(const float *oihw, float *packed) {
  using P = ConvGemm<S>;
  for (int g = 0; g < S.groups; ++g)
    for (int panel = 0; panel < P::panels; ++panel)
      for (int ky = 0; ky < S.kh; ++ky)
        for (int kx = 0; kx < S.kw; ++kx)
          for (int ci = 0; ci < P::kc; ++ci)
            for (int lane = 0; lane < P::nr; ++lane) {
              int oc = panel * P::nr + lane;
              size_t o = size_t(g) * P::n + oc; // in the whole layer
              *packed++ = oc < P::n
                              ? oihw[((o * P::kc + ci) * S.kh + ky) * S.kw + kx]
                              : 0.f;
            }
}

/// The A side of a tile: |taps| runs of |kc| floats per pixel.
struct TileRows {
  int taps, kc;
};

/// Fills rows[tap * count + r] with the input row of pixel p0 + r at each
/// tap (channel 0 of the whole input; groups add their offset later), and
/// returns the taps' shape: kh*kw taps of c/groups floats, or kh merged taps
/// of kw*c floats (see ConvGemm::merge_rows).
template <Conv2d S>
KILN_INLINE TileRows tile_rows(const float *in, int p0, int count,
                               const float **rows) {
  using P = ConvGemm<S>;
  if constexpr (P::pointwise) {
    for (int r = 0; r < count; ++r)
      rows[r] = in + size_t(p0 + r) * S.in_stride;
    return {1, P::kc};
  }
  bool merged = P::merge_rows;
  if constexpr (P::merge_rows)
    for (int r = 0; r < count; ++r) {
      int ix0 = (p0 + r) % S.wo * S.sw - S.pw;
      merged &= ix0 >= 0 && ix0 + S.kw <= S.w;
    }
  for (int r = 0; r < count; ++r) {
    int p = p0 + r;
    int img = p / (S.ho * S.wo), oy = p / S.wo % S.ho, ox = p % S.wo;
    const float *base = in + size_t(img) * S.h * S.w * S.in_stride;
    int iy0 = oy * S.sh - S.ph, ix0 = ox * S.sw - S.pw;
    for (int ky = 0; ky < S.kh; ++ky) {
      int iy = iy0 + ky * S.dh;
      bool row_inside = !P::padded || (iy >= 0 && iy < S.h);
      if constexpr (P::merge_rows)
        if (merged) {
          rows[ky * count + r] =
              row_inside ? base + (size_t(iy) * S.w + ix0) * S.in_stride
                         : zeros<S.kw * S.c>();
          continue;
        }
      for (int kx = 0; kx < S.kw; ++kx) {
        int ix = ix0 + kx * S.dw;
        bool inside = row_inside && (!P::padded || (ix >= 0 && ix < S.w));
        rows[(ky * S.kw + kx) * count + r] =
            inside ? base + (size_t(iy) * S.w + ix) * S.in_stride
                   : zeros<S.c>();
      }
    }
  }
  if (merged)
    return {S.kh, S.kw * S.c};
  return {P::taps, P::kc};
}

/// Runs the tile of |count| pixels (tile_lo or tile_lo + 1) with the
/// matching microkernel instance.
template <Conv2d S, Epilogue E>
KILN_INLINE void run_tile(int count, const float *const *rows, TileRows a,
                          int a_offset, const float *b, const TileOut &o) {
  using P = ConvGemm<S>;
  if constexpr (P::tile_rem > 0)
    if (count != P::tile_lo)
      return gemm_tile<P::tile_lo + 1, P::tile.nv, E>(rows, a.taps, a.kc,
                                                      a_offset, b, o);
  gemm_tile<P::tile_lo, P::tile.nv, E>(rows, a.taps, a.kc, a_offset, b, o);
}

/// The implicit-GEMM convolution (groups == 1, or grouped convolution as
/// one GEMM per group on channel slices).
///
/// Work is split into tasks of (group, chunk of panels, range of tiles);
/// inside a task, each tile's rows are built once and swept over the
/// chunk's panels, which stay in L2 across tiles. Tasks are ordered
/// tiles-fastest so that threads share the weight chunk they stream. Small
/// layers (7x7 pixels, thousands of channels) get their parallelism from the
/// panel chunks; large ones from the tiles.
template <Conv2d S, Epilogue E>
void conv_gemm(const float *in, const float *packed, const float *bias,
               const float *residual, float *out, ThreadPool &pool) {
  using P = ConvGemm<S>;
  constexpr Epilogue EK = epilogue_kind(E);
  constexpr int res_stride = E.residual ? E.residual_stride : 0;
  // About 4 tasks per thread balances the load; one thread needs one task.
  int per_chunk = S.groups * P::chunks;
  int want = pool.size() == 1 ? 1 : 4 * pool.size();
  int tile_ranges = std::clamp(ceil_div(want, per_chunk), 1, P::tiles);
  int range_tiles = ceil_div(P::tiles, tile_ranges);
  tile_ranges = ceil_div(P::tiles, range_tiles);

  pool.parallel_for(int64_t(per_chunk) * tile_ranges, [&](int64_t task) {
    int range = int(task % tile_ranges);
    int chunk = int(task / tile_ranges % P::chunks);
    int g = int(task / tile_ranges / P::chunks);
    const float *rows[P::taps * (P::tile_lo + 1)];
    int first_panel = chunk * P::chunk_panels;
    int last_panel = std::min(P::panels, first_panel + P::chunk_panels);
    int last_tile = std::min(P::tiles, (range + 1) * range_tiles);
    for (int tile = range * range_tiles; tile < last_tile; ++tile) {
      int count = P::tile_lo + (tile < P::tile_rem);
      int p0 = tile * P::tile_lo + std::min(tile, P::tile_rem);
      TileRows a = tile_rows<S>(in, p0, count, rows);
      for (int panel = first_panel; panel < last_panel; ++panel) {
        int o0 = g * P::n + panel * P::nr; // first output channel
        TileOut o{out + size_t(p0) * S.out_stride + o0 * S.out_step,
                  S.out_stride,
                  S.out_step,
                  E.bias ? bias + o0 : nullptr,
                  E.residual ? residual + size_t(p0) * res_stride + o0
                             : nullptr,
                  res_stride,
                  std::min(P::nr, P::n - panel * P::nr)};
        run_tile<S, EK>(count, rows, a, g * P::kc,
                        packed + g * P::group_floats + panel * P::panel_floats,
                        o);
      }
    }
  });
}

} // namespace kiln::cpu::detail

#endif // KILN_RUNTIME_CPU_GEMM_H
