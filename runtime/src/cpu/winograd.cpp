//===- winograd.cpp - Winograd F(m x m, 3 x 3) convolution of one set -----===//
//
// A dense 3x3, stride-1 convolution as Winograd F(m x m, 3 x 3), m = 2 or 4
// (winograd_matrices.h; docs/cpu-kernels.md says where kiln uses it). Per
// block of T output tiles (m x m pixels each) and chunk of output-channel
// panels, one task:
//
//  1. transforms the block's input tiles, V = B^T d B, a vector of
//     channels at a time, into V[t][xi][c] (xi the (m+2)^2 positions);
//  2. runs, per position, the GEMM M[t][xi][k] = V[t][xi][:] . U[xi][:][k]
//     against the packed transformed weights U (prepared at load time,
//     winograd_pack) with gemm.h's microkernel;
//  3. transforms the products back, Y = A^T M A, and stores each valid
//     pixel with the epilogue (bias, residual, activation) fused.
//
// V and M live in the task's thread scratch, tile-major, so that each
// transform reads and writes one contiguous run per tile (position-major
// scattered its 36 stores 16 KB apart, and at batch 32 the transforms took
// as long as the GEMMs); the microkernel takes its rows at any stride.
// Tasks are ordered blocks-fastest so that the threads share the chunk of
// weights they read. Every output is reduced by one task in a fixed order,
// so results do not depend on the thread count.
//
// Compiled once per kernel set (kernels_isa.cpp).
//
//===----------------------------------------------------------------------===//

#include "gemm.h"
#include "isa.h"
#include "memory.h"
#include "winograd_matrices.h"

#include <type_traits>
#include <utility>

namespace kiln::cpu::KILN_CPU_ISA {
namespace {

/// Calls f(std::integral_constant<int, I>) for I = 0 .. N-1, unrolled.
template <int N, typename F> KILN_INLINE void unroll(F &&f) {
  [&]<int... I>(std::integer_sequence<int, I...>) KILN_INLINE_LAMBDA {
    (f(std::integral_constant<int, I>()), ...);
  }(std::make_integer_sequence<int, N>());
}

/// Sum over j of M[I][j] * x(j), with M's constants folded: zero terms
/// skipped, +1 and -1 as adds and subtracts, the rest as FMAs, in the order
/// of j.
template <const auto &M, int I, int J = 0, bool Started = false, typename X>
KILN_INLINE Vec combine(const X &x, Vec acc) {
  constexpr int N = std::remove_cvref_t<decltype(M)>::cols;
  if constexpr (J == N) {
    if constexpr (Started)
      return acc;
    else
      return zero();
  } else {
    constexpr float c = M.a[I][J];
    if constexpr (c == 0.f)
      return combine<M, I, J + 1, Started>(x, acc);
    else if constexpr (!Started && c == 1.f)
      return combine<M, I, J + 1, true>(x, x(J));
    else if constexpr (!Started)
      return combine<M, I, J + 1, true>(x, mul(splat(c), x(J)));
    else if constexpr (c == 1.f)
      return combine<M, I, J + 1, true>(x, add(acc, x(J)));
    else if constexpr (c == -1.f)
      return combine<M, I, J + 1, true>(x, sub(acc, x(J)));
    else
      return combine<M, I, J + 1, true>(x, fma(splat(c), x(J), acc));
  }
}

/// y = M x M^T for an N x N tile x and the R x N matrix M (row-major
/// arrays of vectors).
template <const auto &M>
KILN_INLINE void transform(const Vec *x, Vec *y) {
  constexpr int R = std::remove_cvref_t<decltype(M)>::rows;
  constexpr int N = std::remove_cvref_t<decltype(M)>::cols;
  Vec t[R * N]; // M x
  unroll<N>([&](auto c) KILN_INLINE_LAMBDA {
    unroll<R>([&](auto i) KILN_INLINE_LAMBDA {
      t[i * N + c] = combine<M, decltype(i)::value>(
          [&](int j) KILN_INLINE_LAMBDA { return x[j * N + c]; }, zero());
    });
  });
  unroll<R>([&](auto i) KILN_INLINE_LAMBDA {
    unroll<R>([&](auto k) KILN_INLINE_LAMBDA {
      y[i * R + k] = combine<M, decltype(k)::value>(
          [&](int j) KILN_INLINE_LAMBDA { return t[i * N + j]; }, zero());
    });
  });
}

/// The matrices of F(m x m, 3 x 3).
template <int M> struct Matrices;
template <> struct Matrices<2> {
  static constexpr const auto &bt = winograd::kBt2;
  static constexpr const auto &at = winograd::kAt2;
};
template <> struct Matrices<4> {
  static constexpr const auto &bt = winograd::kBt4;
  static constexpr const auto &at = winograd::kAt4;
};

/// Where a task's tiles are and what it computes.
struct Block {
  int first_tile, tiles;       ///< tiles [first_tile, first_tile + tiles)
  int first_panel, panels;     ///< output-channel panels of the chunk
  float *v;                    ///< [T][positions][cp] transformed input
  float *prod;                 ///< [T][positions][kcw] products
  int T, cp, kcw;              ///< scratch strides
};

/// Step 1: V = B^T d B for every tile of |b|, zeros outside the input.
template <int M>
KILN_NOINLINE void input_transform(const Conv2d &S, const WinogradLayout &L,
                                   const float *in, const Block &b) {
  constexpr int N = M + 2;
  for (int t = 0; t < b.tiles; ++t) {
    int tile = b.first_tile + t;
    int img = tile / (L.tiles_y * L.tiles_x);
    int ty = tile / L.tiles_x % L.tiles_y, tx = tile % L.tiles_x;
    int iy0 = ty * M - S.ph, ix0 = tx * M - S.pw;
    bool interior = iy0 >= 0 && ix0 >= 0 && iy0 + N <= S.h && ix0 + N <= S.w;
    const float *image = in + size_t(img) * S.h * S.w * S.in_stride;
    float *v = b.v + size_t(t) * N * N * b.cp;
    // Prefetch the input the next tile to the right adds (its last M
    // columns): at batch 32 the input comes from memory, and the transform
    // waited on its loads.
    if (tx + 1 < L.tiles_x && t + 1 < b.tiles) {
      int nx0 = ix0 + N; // first column of the next tile's own part
      for (int i = 0; i < N; ++i) {
        int iy = iy0 + i;
        if (iy < 0 || iy >= S.h)
          continue;
        for (int j = std::max(nx0, 0); j < std::min(nx0 + M, S.w); ++j) {
          const char *p = reinterpret_cast<const char *>(
              image + (size_t(iy) * S.w + j) * S.in_stride);
          for (int c = 0; c < S.c * 4; c += 64)
            __builtin_prefetch(p + c);
        }
      }
    }
    for (int cv = 0; cv < S.c; cv += kLanes) {
      Mask mask = first(S.c - cv);
      Vec d[N * N], y[N * N];
      KILN_UNROLL
      for (int i = 0; i < N; ++i)
        KILN_UNROLL
        for (int j = 0; j < N; ++j) {
          int iy = iy0 + i, ix = ix0 + j;
          bool inside = interior || (iy >= 0 && iy < S.h && ix >= 0 && ix < S.w);
          d[i * N + j] =
              inside ? load(image + (size_t(iy) * S.w + ix) * S.in_stride + cv,
                            mask)
                     : zero();
        }
      transform<Matrices<M>::bt>(d, y);
      KILN_UNROLL
      for (int xi = 0; xi < N * N; ++xi)
        store(v + xi * b.cp + cv, y[xi]);
    }
  }
}

/// Step 2: the products, one GEMM per position, with gemm.h's microkernel.
void products(const Conv2d &S, const WinogradLayout &L, const float *packed,
              const Block &b) {
  const GemmLayout &G = L.gemm;
  // Row tiles of about MR tiles each (as gemm_layout splits pixels).
  const auto runs = even_tiles(b.tiles, G.tile.mr);
  const size_t v_tile = size_t(L.positions) * b.cp;    // V's tile stride
  const int p_tile = L.positions * b.kcw;               // M's tile stride
  for (int xi = 0; xi < L.positions; ++xi) {
    const float *u = packed + xi * L.position_floats;
    for (int panel = b.first_panel; panel < b.first_panel + b.panels; ++panel) {
      TileOut o{nullptr, p_tile, 1, nullptr, nullptr, 0, G.nr, false, false};
      const float *u_panel = u + panel * G.panel_floats;
      for (int r0 = 0; const auto &[count, run] : runs) {
        if (run == 0)
          continue;
        const float *rows[kMaxMr];
        for (int r = 0; r < count; ++r)
          rows[r] = b.v + size_t(r0 + r) * v_tile + xi * b.cp;
        o.out = b.prod + size_t(r0) * p_tile + xi * b.kcw +
                (panel - b.first_panel) * G.nr;
        tile_fn(count, G.tile.nv)(rows, 1, S.c, 0, u_panel, o,
                                  Activation::None, run,
                                  ptrdiff_t(count) * v_tile);
        r0 += count * run;
      }
    }
  }
}

/// Step 3: Y = A^T M A for every tile of |b|, stored with the epilogue.
template <int M, Fast F>
KILN_NOINLINE void output_transform(const Conv2d &S, const Epilogue &E,
                                    const WinogradLayout &L, const float *bias,
                                    const float *residual, float *out,
                                    const Block &b) {
  constexpr int N = M + 2;
  const int k0 = b.first_panel * L.gemm.nr;
  const int k1 = std::min(S.o, (b.first_panel + b.panels) * L.gemm.nr);
  const int rs = E.residual ? E.residual_stride : 0;
  for (int t = 0; t < b.tiles; ++t) {
    int tile = b.first_tile + t;
    int img = tile / (L.tiles_y * L.tiles_x);
    int ty = tile / L.tiles_x % L.tiles_y, tx = tile % L.tiles_x;
    int rows = std::min(M, S.ho - ty * M), cols = std::min(M, S.wo - tx * M);
    size_t pixel0 = (size_t(img) * S.ho + ty * M) * S.wo + tx * M;
    const float *prod = b.prod + size_t(t) * N * N * b.kcw - k0;
    for (int kv = k0; kv < k1; kv += kLanes) {
      Mask mask = first(k1 - kv);
      Vec p[N * N], y[M * M];
      KILN_UNROLL
      for (int xi = 0; xi < N * N; ++xi)
        p[xi] = load(prod + xi * b.kcw + kv);
      transform<Matrices<M>::at>(p, y);
      Vec bias_v = E.bias ? load(bias + kv, mask) : zero();
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
          size_t pixel = pixel0 + size_t(i) * S.wo + j;
          store_epilogue<F>(out + pixel * S.out_stride + size_t(kv) * S.out_step,
                            y[i * M + j], bias_v,
                            E.residual ? residual + pixel * rs + kv : nullptr,
                            E.residual, mask, S.out_step, E.act);
        }
    }
  }
}

/// Bytes of transformed weights one chunk of panels may span (all
/// positions), and of transformed tiles and products a block may hold.
constexpr size_t kChunkBytes = 2 << 20;
constexpr size_t kBlockBytes = 2 << 20;
/// The most tiles of a block.
constexpr int kMaxBlockTiles = 64;

template <int M>
void run_winograd(const Winograd &W, const Epilogue &E, const float *in,
                  const float *packed, const float *bias,
                  const float *residual, float *out, ThreadPool &pool) {
  const Conv2d &S = W.conv;
  const WinogradLayout L = winograd_layout(W, kShape);
  const GemmLayout &G = L.gemm;
  const int want = pool.size() == 1 ? 1 : 4 * pool.size();
  // Chunks of panels whose weights (at every position) fit kChunkBytes.
  size_t chunk_bytes = size_t(L.positions) * G.panel_floats * sizeof(float);
  int chunk_panels = int(std::clamp<size_t>(kChunkBytes / chunk_bytes, 1, G.panels));
  int chunks = ceil_div(G.panels, chunk_panels);
  // Blocks of tiles whose transforms fit kBlockBytes; more, smaller ones
  // (down to one register tile) when there are too few tasks for the pool.
  const int cp = ceil_div(S.c, kLanes) * kLanes;
  int kcw = ceil_div(G.panels, chunks) * G.nr;
  size_t tile_bytes = size_t(L.positions) * (cp + kcw) * sizeof(float);
  int block = int(std::clamp<size_t>(kBlockBytes / tile_bytes, G.tile.mr,
                                     kMaxBlockTiles));
  int blocks = ceil_div(L.tiles, block);
  if (blocks * chunks < want)
    blocks = std::min(ceil_div(L.tiles, G.tile.mr), ceil_div(want, chunks));
  if (blocks * chunks < want)
    chunks = std::min(G.panels, ceil_div(want, blocks));
  chunk_panels = ceil_div(G.panels, chunks);
  chunks = ceil_div(G.panels, chunk_panels);
  kcw = chunk_panels * G.nr;
  const int T = ceil_div(L.tiles, blocks);
  blocks = ceil_div(L.tiles, T);
  const size_t v_floats = size_t(L.positions) * T * cp;
  const size_t scratch_floats = v_floats + size_t(L.positions) * T * kcw;

  pool.parallel_for(int64_t(blocks) * chunks, [&](int64_t task) {
    Block b;
    b.first_tile = int(task % blocks) * T;
    b.tiles = std::min(T, L.tiles - b.first_tile);
    b.first_panel = int(task / blocks) * chunk_panels;
    b.panels = std::min(chunk_panels, G.panels - b.first_panel);
    b.v = thread_scratch(scratch_floats);
    b.prod = b.v + v_floats;
    b.T = T, b.cp = cp, b.kcw = kcw;
    input_transform<M>(S, L, in, b);
    products(S, L, packed, b);
    with_activation(E.act, [&](auto a) {
      output_transform<M, decltype(a)::value>(S, E, L, bias, residual, out, b);
    });
  });
}

} // namespace

void conv_winograd(const Winograd &W, const Epilogue &E, const float *in,
                   const float *packed, const float *bias,
                   const float *residual, float *out, ThreadPool &pool) {
  if (W.m == 2)
    run_winograd<2>(W, E, in, packed, bias, residual, out, pool);
  else
    run_winograd<4>(W, E, in, packed, bias, residual, out, pool);
}

} // namespace kiln::cpu::KILN_CPU_ISA
