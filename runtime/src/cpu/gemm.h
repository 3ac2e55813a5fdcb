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
// B side: packed once (pack.cpp) in panels of NR = NV * kLanes output
// channels, [group][o/NR][kh][kw][c][NR], zero-padded to whole panels, so the
// microkernel streams one panel front to back (GemmLayout in
// kiln/cpu/layout.h).
//
// A side: never materialized (no im2col). For a tile of MR output pixels the
// driver builds the address of each pixel's input row for every tap: the c
// floats at in + offset, or a row of zeros where the tap falls in the
// padding ("indirect convolution", as in XNNPACK).
//
// The microkernel (gemm_tile) keeps an MR x NR tile of accumulators in
// registers through the whole K reduction, broadcasting one input value per
// pixel against NV weight vectors per step, and applies the epilogue (bias,
// residual, activation) at the store, masking the tail panel's lanes. It is
// templated only on MR and NV: every layer of every model shares the same
// few dozen instances, compiled once per ISA into the runtime.
//
// Included by the kernel sources of src/cpu only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_GEMM_H
#define KILN_RUNTIME_CPU_GEMM_H

#include "memory.h"
#include "simd.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace kiln::cpu::KILN_CPU_ISA {

using namespace simd;

/// Where a GEMM tile's results go.
struct TileOut {
  float *out;             ///< first pixel, first channel of the panel
  int out_stride;         ///< floats between pixels
  int out_step;           ///< floats between channels (Conv2d::out_step)
  const float *bias;      ///< the panel's first channel (if bias)
  const float *residual;  ///< like out (if residual)
  int residual_stride;
  int channels;           ///< valid channels in the panel, 1 .. NV*kLanes
  bool has_bias, has_residual;
  /// A K-blocked reduction (conv_gemm): the tile starts from the partial
  /// sums at |partial_in| rather than zero, if given, and stores its sums
  /// there raw (all NV*kLanes lanes, no epilogue) rather than to |out|, if
  /// |partial_out| is given. Pixels are |partial_stride| floats apart.
  const float *partial_in = nullptr;
  float *partial_out = nullptr;
  int partial_stride = 0;
  /// Weights the caller reads next (conv_gemm: the next K block or chunk),
  /// that the tile pulls towards L2 a cache line per reduction step while
  /// it computes, for |prefetch_lines| lines; null for none.
  const char *prefetch = nullptr;
  int prefetch_lines = 0;
  /// A two-group shuffle's other group (Epilogue::pass_stride): the panel's
  /// channels of the pass-through tensor, stored interleaved with the
  /// results (out_step 2), before them if |pass_first|; null for none.
  const float *pass = nullptr;
  int pass_stride = 0;
  bool pass_first = false;
};

/// The epilogue (bias, residual, activation) of the accumulated vector
/// |acc|, whose lanes |m| are valid.
template <Fast F>
KILN_INLINE Vec apply_epilogue(Vec acc, Vec bias, const float *res,
                               bool has_res, Mask m, Activation act) {
  acc = add(acc, bias); // zero without a bias
  if (has_res)
    acc = add(acc, load(res, m));
  return activate<F>(acc, act);
}

/// Applies the epilogue to the accumulated vector |acc| of channels
/// [kLanes v, kLanes (v + 1)) of a panel and stores its |m| lanes to |out|.
/// Lane l goes to out[l * step]: step > 1 writes one group of a channel
/// shuffle straight into the shuffled buffer.
template <Fast F>
KILN_INLINE void store_epilogue(float *out, Vec acc, Vec bias,
                                const float *res, bool has_res, Mask m,
                                int step, Activation act) {
  acc = apply_epilogue<F>(acc, bias, res, has_res, m, act);
  if (step == 1)
    store(out, acc, m);
  else
    store_every(out, acc, m, step);
}

/// The microkernel's store: the whole tile, with activation case |F|.
template <int MR, int NV, Fast F>
KILN_INLINE void store_tile(Vec (&acc)[MR][NV], const TileOut &o,
                            Activation act) {
  Mask m[NV];
  Vec bias[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    m[v] = first(o.channels - v * kLanes);
    bias[v] = o.has_bias ? load(o.bias + v * kLanes, m[v]) : zero();
  }
  if (o.pass) {
    // Both groups of the shuffle, pixel by pixel: pairs of whole vectors.
    float *base = o.out - (o.pass_first ? 1 : 0);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        Vec y = apply_epilogue<F>(acc[r][v], bias[v],
                                  o.residual + r * o.residual_stride + v * kLanes,
                                  o.has_residual, m[v], act);
        Vec x = load(o.pass + r * o.pass_stride + v * kLanes, m[v]);
        store_interleaved(base + r * o.out_stride + 2 * v * kLanes,
                          o.pass_first ? x : y, o.pass_first ? y : x,
                          o.channels - v * kLanes);
      }
    return;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      store_epilogue<F>(o.out + r * o.out_stride + v * kLanes * o.out_step,
                        acc[r][v], bias[v],
                        o.residual + r * o.residual_stride + v * kLanes,
                        o.has_residual, m[v], o.out_step, act);
}

/// Computes an MR-pixel x NV*kLanes-channel tile: for each of |taps| taps,
/// pixel r's input row is rows[tap * MR + r] + |a_offset|, of which |kc|
/// floats are reduced against the packed panel |b| ([taps][kc][NV*kLanes],
/// read sequentially). Accumulates in fp32 in a fixed order (tap, then
/// channel; K blocks in order), so results do not depend on how the caller
/// splits work among threads or into runs. The prefetch of |o| goes from
/// |ahead| on, up to |ahead_end|.
template <int MR, int NV>
KILN_INLINE void tile_body(const float *const *rows, int taps, int kc,
                           ptrdiff_t a_offset, const float *b,
                           const TileOut &o, Activation act,
                           const char *&ahead, const char *ahead_end) {
  Vec acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = o.partial_in
                      ? load(o.partial_in + r * o.partial_stride + v * kLanes)
                      : zero();

  for (int t = 0; t < taps; ++t) {
    const float *a[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      a[r] = rows[t * MR + r] + a_offset;
    for (int k = 0; k < kc; ++k, b += NV * kLanes) {
      if (ahead < ahead_end) {
        __builtin_prefetch(ahead, 0, 2);
        ahead += 64;
      }
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
  if (o.partial_out) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        store(o.partial_out + r * o.partial_stride + v * kLanes, acc[r][v]);
    return;
  }
  with_activation(act, [&](auto a) {
    store_tile<MR, NV, decltype(a)::value>(acc, o, act);
  });
}

/// One tile (tile_body) as a call of its own; returns where its prefetch
/// stopped.
template <int MR, int NV>
KILN_NOINLINE const char *gemm_one_tile(const float *const *rows, int taps,
                                        int kc, ptrdiff_t a_offset,
                                        const float *b, const TileOut &o,
                                        Activation act, const char *ahead,
                                        const char *ahead_end) {
  tile_body<MR, NV>(rows, taps, kc, a_offset, b, o, act, ahead, ahead_end);
  return ahead;
}

/// Moves |t| on to the next tile of a run: MR pixels further on.
template <int MR> KILN_INLINE void advance_tile(TileOut &t) {
  t.out += MR * t.out_stride;
  if (t.has_residual)
    t.residual += MR * t.residual_stride;
  if (t.partial_in)
    t.partial_in += MR * t.partial_stride;
  if (t.partial_out)
    t.partial_out += MR * t.partial_stride;
  if (t.pass)
    t.pass += MR * t.pass_stride;
}

/// Computes |tiles| tiles of MR pixels in turn (gemm_one_tile): each reads
/// every input row |a_step| floats after the previous one and writes (reads
/// its residual and partial sums) MR pixels further on. That is a run of
/// tiles along one output row, or any tiles of a 1x1 layer, whose row
/// pointers the driver builds once (tile_run); the tiles take the prefetch
/// of |o| in turn, a line per reduction step.
///
/// Tiles of up to 16 accumulators (the narrow layers, the 3-channel stems)
/// run inline, which saves a call per tile: 10% of a 3-channel stem. Wider
/// ones call gemm_one_tile per tile: inlined into this loop, GCC spills
/// their accumulators inside the reduction (1x1 layers 30% slower).
template <int MR, int NV>
KILN_NOINLINE void gemm_tile(const float *const *rows, int taps, int kc,
                             int a_offset, const float *b, const TileOut &o,
                             Activation act, int tiles, ptrdiff_t a_step) {
  static_assert(tile_fits(MR, NV, kShape), "the tile spills");
  TileOut t = o;
  const char *ahead = o.prefetch;
  const char *ahead_end = ahead + size_t(o.prefetch_lines) * 64;
  for (int i = 0; i < tiles; ++i) {
    if constexpr (MR * NV <= 16)
      tile_body<MR, NV>(rows, taps, kc, a_offset + i * a_step, b, t, act,
                        ahead, ahead_end);
    else
      ahead = gemm_one_tile<MR, NV>(rows, taps, kc, a_offset + i * a_step, b,
                                    t, act, ahead, ahead_end);
    advance_tile<MR>(t);
  }
}

using TileFn = void (*)(const float *const *rows, int taps, int kc,
                        int a_offset, const float *b, const TileOut &o,
                        Activation act, int tiles, ptrdiff_t a_step);

/// The largest MR of any tile (layout.h's candidates).
inline constexpr int kMaxMr = 8;

/// The microkernel instance for an mr x nv tile (gemm.cpp, which
/// instantiates them all once per kernel set).
TileFn tile_fn(int mr, int nv);

/// |m| pixels in ceil(m / mr) tiles of as even a size as can be, as two
/// runs of {pixels per tile, tiles}: the larger tiles first, then the rest
/// (with mr = 8, 50 pixels are 1 tile of 8 and 6 of 7, rather than 6 of 8
/// and one of 2; a run may have no tiles).
struct EvenRun {
  int count, tiles;
};
inline std::array<EvenRun, 2> even_tiles(int m, int mr) {
  const int tiles = (m + mr - 1) / mr, lo = m / tiles, rem = m % tiles;
  return {{{lo + 1, rem}, {lo, tiles - rem}}};
}

/// A row of at least |n| zeros: the input row of a tap that falls in the
/// padding. A static one covers every layer of the models kiln knows; a
/// wider one is allocated into |owned| (freed by the caller).
inline const float *zero_row(size_t n, float *&owned) {
  alignas(64) static const float zeros[16384] = {};
  owned = nullptr;
  if (n <= sizeof zeros / sizeof(float))
    return zeros;
  owned = static_cast<float *>(
      checked_calloc(n, sizeof(float), "a row of zeros"));
  return owned;
}

/// The A side of a tile: |taps| runs of |kc| floats per pixel.
struct TileRows {
  int taps, kc;
};

/// What tile_rows needs of a shape, besides the Conv2d.
struct RowPlan {
  bool padded;    ///< some tap may fall in the padding
  bool pointwise; ///< 1x1, stride 1, unpadded: pixel p reads its own row
  /// In an unsliced input, the kw taps of a kernel row are one run of kw*c
  /// contiguous floats, which is also their order in the packed panel. A
  /// tile whose pixels all see their whole kernel row inside the input then
  /// reads each kernel row as one tap: 7x fewer row pointers for the 7x7,
  /// 3-channel stem, whose taps are otherwise 3 floats long.
  bool merge_rows;
  const float *zeros; ///< at least kw * c zeros when padded
};

/// The output pixels of a tile that lie in one output row: image |img|, row
/// |oy|, columns [ox0, ox0 + count); pixels [r0, r0 + count) of the tile.
struct RowRun {
  int img, oy, ox0, count, r0;
};

/// The runs of a tile's pixels [p0, p0 + count), one per output row they
/// touch (most tiles lie in one); the coordinates are divided out of p0 once
/// and stepped from there.
struct RowRuns {
  int img, oy, ox, count;
  RowRuns(const Conv2d &S, int p0, int count)
      : img(p0 / S.wo / S.ho), oy(p0 / S.wo % S.ho), ox(p0 % S.wo),
        count(count) {}
  template <typename Fn>
  KILN_INLINE void for_each(const Conv2d &S, Fn fn) const {
    int y = oy, x = ox, i = img;
    for (int r0 = 0; r0 < count;) {
      int n = std::min(count - r0, S.wo - x);
      fn(RowRun{i, y, x, n, r0});
      r0 += n, x = 0;
      if (++y == S.ho)
        y = 0, ++i;
    }
  }
};

/// Writes the row pointers of run |u| of a tile of |count| pixels:
/// rows[tap * count + u.r0 + r] for each of its pixels r, with one tap per
/// kernel row if |merged| (RowPlan::merge_rows), else kw. Within one output row each tap's
/// pointers are a fixed step apart, which keeps this loop's counters in
/// registers (a per-pixel loop inlined into conv_gemm had them spilled to
/// the stack, as costly as a 3-channel stem tile's arithmetic).
KILN_NOINLINE inline void row_pointers(const Conv2d &S, const RowPlan &R,
                                       const float *in, const RowRun &u,
                                       int count, bool merged,
                                       const float **rows) {
  const float *base = in + size_t(u.img) * S.h * S.w * S.in_stride;
  const ptrdiff_t step = ptrdiff_t(S.sw) * S.in_stride; // pixel to pixel
  const int iy0 = u.oy * S.sh - S.ph, ix0 = u.ox0 * S.sw - S.pw;
  const int ix_last = ix0 + (u.count - 1) * S.sw; // the last pixel's ix0
  const int taps_per_row = merged ? 1 : S.kw;
  rows += u.r0;
  for (int ky = 0; ky < S.kh; ++ky) {
    const int iy = iy0 + ky * S.dh;
    const float **out = rows + size_t(ky) * taps_per_row * count;
    if (R.padded && (iy < 0 || iy >= S.h)) {
      for (int t = 0; t < taps_per_row; ++t)
        for (int r = 0; r < u.count; ++r)
          out[t * count + r] = R.zeros;
      continue;
    }
    const float *row = base + size_t(iy) * S.w * S.in_stride;
    if (merged) { // every pixel's kernel row is inside the input
      const float *p = row + ptrdiff_t(ix0) * S.in_stride;
      for (int r = 0; r < u.count; ++r)
        out[r] = p + r * step;
      continue;
    }
    for (int kx = 0; kx < S.kw; ++kx, out += count) {
      const int ix = ix0 + kx * S.dw;
      if (!R.padded || (ix >= 0 && ix_last + kx * S.dw < S.w)) {
        const float *p = row + ptrdiff_t(ix) * S.in_stride;
        for (int r = 0; r < u.count; ++r)
          out[r] = p + r * step;
        continue;
      }
      for (int r = 0; r < u.count; ++r) {
        const int x = ix + r * S.sw;
        out[r] = x >= 0 && x < S.w ? row + ptrdiff_t(x) * S.in_stride
                                   : R.zeros;
      }
    }
  }
}

/// Fills rows[tap * count + r] with the input row of pixel p0 + r at each
/// tap (channel 0 of the whole input; groups add their offset later), and
/// returns the taps' shape: kh*kw taps of c/groups floats, or kh merged taps
/// of kw*c floats (see RowPlan::merge_rows).
inline TileRows tile_rows(const Conv2d &S, const RowPlan &R, const float *in,
                          int p0, int count, const float **rows) {
  int kc = S.c / S.groups;
  if (R.pointwise) {
    for (int r = 0; r < count; ++r)
      rows[r] = in + size_t(p0 + r) * S.in_stride;
    return {1, kc};
  }
  const RowRuns runs(S, p0, count);
  // Merged only if every pixel sees its whole kernel row inside the input.
  bool merged = R.merge_rows;
  if (merged)
    runs.for_each(S, [&](RowRun u) {
      int ix0 = u.ox0 * S.sw - S.pw;
      merged &= ix0 >= 0 && ix0 + (u.count - 1) * S.sw + S.kw <= S.w;
    });
  runs.for_each(S, [&](const RowRun &u) {
    row_pointers(S, R, in, u, count, merged, rows);
  });
  if (merged)
    return {S.kh, S.kw * S.c};
  return {S.kh * S.kw, kc};
}

/// How many tiles of |count| pixels from pixel |p0| on, at most |limit|, run
/// as one gemm_tile call, whose row pointers are the first tile's plus
/// |a_step| floats per tile (set here): any tiles of a 1x1 layer; else the
/// tiles that lie in one output row and whose taps all fall inside the
/// input. A tile that reads the padding, or that crosses a row, runs alone.
inline int tile_run(const Conv2d &S, const RowPlan &R, int p0, int count,
                    int limit, ptrdiff_t &a_step) {
  if (R.pointwise) {
    a_step = ptrdiff_t(count) * S.in_stride;
    return limit;
  }
  a_step = ptrdiff_t(count) * S.sw * S.in_stride;
  const int oy = p0 / S.wo % S.ho, ox = p0 % S.wo;
  const int iy0 = oy * S.sh - S.ph, ix0 = ox * S.sw - S.pw;
  if (limit <= 1 || iy0 < 0 || iy0 + (S.kh - 1) * S.dh >= S.h || ix0 < 0)
    return 1;
  // The last output column whose kernel row ends inside the input.
  const int x_last = (S.w - 1 - (S.kw - 1) * S.dw + S.pw) / S.sw;
  const int pixels = std::min(S.wo - 1, x_last) - ox + 1;
  return std::clamp(pixels / count, 1, limit);
}

} // namespace kiln::cpu::KILN_CPU_ISA

#endif // KILN_RUNTIME_CPU_GEMM_H
