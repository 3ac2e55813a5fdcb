//===- gemm.cuh - the implicit-GEMM convolution kernel ----------*- CUDA
//-*-===//
//
// This file implements the one GEMM mainloop behind dense convolution,
// grouped convolution with wide groups and linear layers (a 1x1 convolution):
//
//   C[m][n] = sum_k A[m][k] * B[n][k]    m = output pixel (n*ho*wo of them),
//                                        n = output channel of a group,
//                                        k = (ky, kx, ci) of the group
//
// A is the im2col view of the NHWC input, never materialized: a load of A
// row m, columns k .. k+7, is a load of 8 consecutive channels of one input
// pixel (or zeros in the padding). B is the packed weights, [og][kp] per
// group, K contiguous. Both are therefore "K-major", the layout the
// mma.sync row.col instructions and ldmatrix (non-transposed) want.
//
// One block computes a bm x bn tile of C (blockIdx.x: tile, N fastest so
// that concurrent blocks share the A rows they read in L2; blockIdx.y:
// group x split-K slice):
//  1. Loaders: every thread owns fixed rows of the A and B tiles and one
//     16-byte column (4 bytes, or one element, for inputs whose channels are
//     not a multiple of 8 / 4 bytes: the 3-channel stem), decodes k into
//     (ky, kx, ci) once per K step and issues cp.async with zero-fill for the
//     padding and the M, N and K tails.
//  2. Pipeline: |stages| buffers in dynamic shared memory, stages-1 K steps
//     in flight while the warps compute on the oldest (the classic
//     wait_group(stages-2) / __syncthreads / issue next / compute loop).
//     With an SE gate (Epilogue::scale) each thread rescales its own landed
//     chunks in place before the barrier.
//  3. Shared layout: rows of 64 or 128 bytes (bk elements) with the 16-byte
//     chunk index XORed with bits 7..9 of the byte offset (the "128-byte
//     line" index), so that the 8 rows an ldmatrix phase or a cp.async
//     quarter-warp touches fall in 8 different bank groups.
//  4. Math: tensor cores (mma.sync m16n8k16 for f16/bf16, m16n8k8 for tf32;
//     both read 32 bytes of K per instruction, so the byte-level addressing of
//     ldmatrix is the same for the three) on a (bm/warps_m) x (bn/warps_n)
//     warp tile; or, for F32, FMA on an 8 x 4 thread grid per warp, reading
//     float4s of K from the same K-major tiles.
//  5. Epilogue: the fp32 accumulators go through shared memory (reusing the
//     pipeline buffers), so that each thread then owns up to 16 bytes of
//     consecutive output channels: bias, residual and activation are applied
//     there and stored as one vector. With split-K each slice writes its
//     fp32 partial sums to the workspace and counts itself in on the tile's
//     counter (splitk_counters); the last slice block of a tile to arrive
//     sums all slices in slice order (deterministic whatever the arrival
//     order), runs the epilogue and resets the counter for the next pass:
//     one launch, no separate reduction kernel.
//
// Part of kernels.cuh; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_GEMM_CUH
#define KILN_RUNTIME_CUDA_GEMM_CUH

#include "kiln/cuda/numeric.cuh"

#include <type_traits>

namespace kiln::cuda::detail {

/// Pointers of one convolution launch (all kernels of kernels.cuh take it).
template <Precision P> struct ConvArgs {
  const Act<P> *in;
  const Act<P> *weights; ///< packed
  const float *bias;
  const Act<P> *residual;
  const float *scale; ///< N x C input-channel scale, or null
  Act<P> *out;
  float *workspace; ///< split-K partial sums
};

/// Physical byte offset of logical byte |off| of a tile with 64- or 128-byte
/// rows: the 16-byte chunk index (bits 4..6) is XORed with the 128-byte line
/// index (bits 7..9). Conflict-free for 8 consecutive rows at one chunk.
__device__ __forceinline__ int swizzle(int off) {
  return off ^ ((off >> 3) & 0x70);
}

/// swizzle(|off| + |d|) from |swizzled| = swizzle(|off|), for a constant
/// |d| (after unrolling) that moves whole rows. When |d| is a multiple of 512
/// bytes the line index moves by a multiple of 4, which changes its low 3
/// bits by an XOR (0 or 4): one XOR and an addition the instruction's
/// immediate absorbs, so that ptxas need not keep every address in a
/// register. Otherwise it is computed again.
__device__ __forceinline__ int swizzle_add(int swizzled, int off, int d) {
  return d % 512 == 0 ? (swizzled ^ (((d >> 7) & 4) << 4)) + d
                      : swizzle(off + d);
}

/// Everything the kernels derive from the template arguments.
/// (Kernels take this type, not the class-type values themselves: nvcc's
/// host stubs cannot spell class-type template arguments of a __global__.)
template <Conv2d S, Schedule T, Epilogue E, Precision P, Images I = Images::All>
struct GemmConfig {
  static constexpr Conv2d kS = S;
  static constexpr Schedule kT = T;
  static constexpr Epilogue kE = E;
  static constexpr Precision kP = P;
  static constexpr GemmGeometry G = gemm_geometry(S, P, E);
  static constexpr int kThreads = schedule_threads(T);
  static constexpr int kRowBytes = T.bk * G.es; ///< a tile row
  static constexpr int kTileA = T.bm * kRowBytes;
  static constexpr int kTileB = T.bn * kRowBytes;
  static constexpr int kStageBytes = kTileA + kTileB;
  static constexpr int kWarpM = T.bm / T.warps_m, kWarpN = T.bn / T.warps_n;
  static constexpr int kKTiles = int(ceil_div(G.k, T.bk));
  static constexpr int kTilesM = int(ceil_div(G.m, T.bm));
  static constexpr int kTilesN = int(ceil_div(G.n, T.bn));
  static constexpr long kTiles = long(kTilesM) * kTilesN;
  static constexpr int kSharedBytes = schedule_shared_bytes(T, P);
  /// Row stride of the fp32 epilogue tile: +8 floats makes the mma
  /// fragments' float2 stores conflict-free, +4 the FMA grid's floats.
  static constexpr int kStageLd = T.bn + (P == Precision::F32 ? 4 : 8);
  static constexpr int kVec = G.out_vec; ///< epilogue elements per thread
  /// The kernel has code in this device pass (types.h, Images).
  static constexpr bool kCompiled = !(I == Images::NotSm90a && KILN_SM90A);

  static_assert(schedule_ok(S, P, T), "conv2d: unsupported schedule "
                                      "(see schedule_ok in schedule.h)");
  static_assert(long(S.n) * S.h * S.w * S.in_stride < (1l << 31) &&
                    G.m * S.out_stride < (1l << 31) &&
                    G.m * E.residual_stride < (1l << 31),
                "conv2d: tensors of 2^31 elements or more are unsupported");
};

//===----------------------------------------------------------------------===//
// Loaders: global -> shared
//===----------------------------------------------------------------------===//

/// Loads the A tile (bm rows of im2col) of one K step. A thread owns column
/// |col| (in load units of a_vec bytes) of rows row0 + i * kRowsPerPass.
/// With up to 8 rows per thread (the 16- and 4-byte paths) it keeps each
/// row's input pixel in registers; the element-wise path, with many rows,
/// decodes them again at each step.
template <class C, Conv2d S, Schedule T, Epilogue E, Precision P>
struct ALoader {
  static constexpr GemmGeometry G = C::G;
  static constexpr int kUnit = G.a_vec;       ///< bytes per load
  static constexpr int kElems = kUnit / G.es; ///< elements per load
  static constexpr int kUnitsPerRow = C::kRowBytes / kUnit;
  static constexpr int kRowsPerPass = C::kThreads / kUnitsPerRow;
  static constexpr int kIters = int(ceil_div(T.bm, kRowsPerPass));
  static constexpr bool kRowTail = kIters * kRowsPerPass > T.bm;
  static constexpr bool kKTail = G.k % T.bk != 0;
  static constexpr bool kCached = kIters <= 8;
  /// Without padding every tap of a valid output pixel is inside the input.
  static constexpr bool kNoPad = S.ph == 0 && S.pw == 0;
  static_assert(C::kThreads % kUnitsPerRow == 0, "A loader layout");

  /// Where row |r| of the tile reads: its output pixel's top-left tap.
  struct Row {
    int pixel; ///< element offset of input pixel (img, iy0, ix0)
    int iy0, ix0;
    bool ok; ///< the row is an output pixel (m < M)
  };

  const Act<P> *in; ///< channel 0 of the block's group, pixel 0
  long m0;          ///< first row of the tile
  int row0, col;
  int smem0; ///< swizzled offset of (row0, col) in a tile
  Row rows[kCached ? kIters : 1];

  /// Offset in a tile of this thread's unit in pass |i|.
  __device__ __forceinline__ int smem_offset(int i) const {
    return swizzle_add(smem0, row0 * C::kRowBytes + col * kUnit,
                       i * kRowsPerPass * C::kRowBytes);
  }

  __device__ __forceinline__ Row decode(int r) const {
    long m = m0 + r;
    bool ok = (!kRowTail || r < T.bm) && m < G.m;
    int mm = ok ? int(m) : 0;
    int img = mm / (S.ho * S.wo), rem = mm % (S.ho * S.wo);
    int iy0 = (rem / S.wo) * S.sh - S.ph, ix0 = (rem % S.wo) * S.sw - S.pw;
    return {((img * S.h + iy0) * S.w + ix0) * S.in_stride, iy0, ix0, ok};
  }

  __device__ __forceinline__ ALoader(const Act<P> *in_, long m0_, int tid)
      : in(in_), m0(m0_), row0(tid / kUnitsPerRow), col(tid % kUnitsPerRow),
        smem0(swizzle(row0 * C::kRowBytes + col * kUnit)) {
    if constexpr (kCached) {
#pragma unroll
      for (int i = 0; i < kIters; ++i)
        rows[i] = decode(row0 + i * kRowsPerPass);
    }
  }

  __device__ __forceinline__ Row row(int i) const {
    if constexpr (kCached)
      return rows[i];
    else
      return decode(row0 + i * kRowsPerPass);
  }

  /// The (ky, kx, ci) of this thread's column in K step |kt|, as the element
  /// offset from a row's (iy0, ix0) pixel, and whether it is inside K.
  struct Tap {
    int dy, dx, offset, ci;
    bool in_k;
  };
  __device__ __forceinline__ Tap tap(int kt) const {
    int k = kt * T.bk + col * kElems;
    int t = k / G.cg, ci = k % G.cg;
    int dy = (t / S.kw) * S.dh, dx = (t % S.kw) * S.dw;
    return {dy, dx, (dy * S.w + dx) * S.in_stride + ci, ci, !kKTail || k < G.k};
  }

  __device__ __forceinline__ void load(unsigned char *tile, int kt) const {
    Tap t = tap(kt);
#pragma unroll
    for (int i = 0; i < kIters; ++i) {
      int r = row0 + i * kRowsPerPass;
      if (kRowTail && r >= T.bm)
        break;
      Row w = row(i);
      bool ok = t.in_k && w.ok;
      if constexpr (!kNoPad)
        ok = ok && unsigned(w.iy0 + t.dy) < unsigned(S.h) &&
             unsigned(w.ix0 + t.dx) < unsigned(S.w);
      const Act<P> *src = ok ? in + (w.pixel + t.offset) : in;
      unsigned char *dst = tile + smem_offset(i);
      if constexpr (kUnit == 16) {
        cp_async_16(dst, src, ok ? 16 : 0);
      } else if constexpr (kUnit == 4) {
        cp_async_4(dst, src, ok ? 4 : 0);
      } else { // one 16-bit element: a plain load
        uint16_t v = ok ? *reinterpret_cast<const uint16_t *>(src) : 0;
        *reinterpret_cast<uint16_t *>(dst) = v;
      }
    }
  }

  /// Multiplies this thread's landed chunks of K step |kt| by the input
  /// channel scale of their image (the SE gate).
  __device__ __forceinline__ void rescale(unsigned char *tile, int kt,
                                          const float *scale, int group) const {
    Tap t = tap(kt);
    if (!t.in_k)
      return;
#pragma unroll
    for (int i = 0; i < kIters; ++i) {
      int r = row0 + i * kRowsPerPass;
      if (kRowTail && r >= T.bm)
        break;
      if (!row(i).ok)
        continue;
      int img = int((m0 + r) / (S.ho * S.wo));
      const float *s = scale + img * S.c + group * G.cg + t.ci;
      float f[kElems], x[kElems];
      load_f32<kElems>(s, f);
      Act<P> *p = reinterpret_cast<Act<P> *>(tile + smem_offset(i));
      load_vec<P, kElems>(p, x);
#pragma unroll
      for (int j = 0; j < kElems; ++j)
        x[j] *= f[j];
      store_vec<P, kElems>(p, x);
    }
  }
};

/// Loads the B tile (bn rows of packed weights) of one K step: always
/// 16-byte cp.async (packed rows are padded to 128 bytes of K).
template <class C, Conv2d S, Schedule T, Precision P> struct BLoader {
  static constexpr GemmGeometry G = C::G;
  static constexpr int kUnitsPerRow = C::kRowBytes / 16;
  static constexpr int kRowsPerPass = C::kThreads / kUnitsPerRow;
  static constexpr int kIters = int(ceil_div(T.bn, kRowsPerPass));
  static constexpr bool kRowTail = kIters * kRowsPerPass > T.bn;
  static constexpr bool kNTail = G.n % T.bn != 0;

  const Act<P> *w; ///< the block's first weight row
  int row0, col;
  int rows_left; ///< output channels of the group from the tile's first
  int smem0;     ///< swizzled offset of (row0, col) in a tile

  __device__ __forceinline__ BLoader(const Act<P> *w_, int n0, int tid)
      : w(w_ + long(n0) * G.kp), row0(tid / kUnitsPerRow),
        col(tid % kUnitsPerRow), rows_left(G.n - n0),
        smem0(swizzle(row0 * C::kRowBytes + col * 16)) {}

  __device__ __forceinline__ void load(unsigned char *tile, int kt) const {
#pragma unroll
    for (int i = 0; i < kIters; ++i) {
      int r = row0 + i * kRowsPerPass;
      if (kRowTail && r >= T.bn)
        break;
      bool ok = !kNTail || r < rows_left;
      const Act<P> *src =
          ok ? w + (r * G.kp + kt * T.bk + col * (16 / G.es)) : w;
      int dst = swizzle_add(smem0, row0 * C::kRowBytes + col * 16,
                            i * kRowsPerPass * C::kRowBytes);
      cp_async_16(tile + dst, src, ok ? 16 : 0);
    }
  }
};

//===----------------------------------------------------------------------===//
// Warp math
//===----------------------------------------------------------------------===//

/// Tensor-core warp tile WM x WN: (WM/16) x (WN/8) mma tiles, fragments
/// loaded with ldmatrix.x4 from the swizzled K-major tiles.
template <Precision P, int WM, int WN, int RowBytes> struct MmaMath {
  static constexpr int kMt = WM / 16, kNt = WN / 8;
  float acc[kMt][kNt][4];
  /// Swizzled offsets of the lane's ldmatrix rows for K slice 0, first
  /// m16 / n16 tile: the others are an XOR (slice) and an addition (tile)
  /// away, since tiles are 16 rows (>= 1024 bytes) apart.
  int a_off, b_off;

  __device__ __forceinline__ void init(int wm0, int wn0, int lane) {
    // A x4: lanes 0-15 address rows 0-15 of the first 16 bytes of the
    // slice (a0, a1), lanes 16-31 the same rows' next 16 bytes (a2, a3).
    a_off = swizzle((wm0 + (lane & 15)) * RowBytes + (lane >> 4) * 16);
    // B x4: two n8 tiles; lanes 0-7 / 8-15 rows 0-7 at the slice's first /
    // second 16 bytes (b0, b1 of tile j), lanes 16-31 rows 8-15 (tile j+1).
    b_off = swizzle((wn0 + (lane & 7) + ((lane >> 4) << 3)) * RowBytes +
                    ((lane >> 3) & 1) * 16);
#pragma unroll
    for (int i = 0; i < kMt; ++i)
#pragma unroll
      for (int j = 0; j < kNt; ++j)
#pragma unroll
        for (int q = 0; q < 4; ++q)
          acc[i][j][q] = 0.f;
  }

  /// One K step: RowBytes / 32 mma K slices (32 bytes of K each).
  __device__ __forceinline__ void step(const unsigned char *sa,
                                       const unsigned char *sb) {
#pragma unroll
    for (int ks = 0; ks < RowBytes / 32; ++ks) {
      uint32_t a[kMt][4], b[kNt][2];
#pragma unroll
      for (int i = 0; i < kMt; ++i)
        ldmatrix_x4(a[i], sa + ((a_off ^ (ks << 5)) + i * 16 * RowBytes));
#pragma unroll
      for (int j = 0; j < kNt; j += 2) {
        uint32_t r[4];
        ldmatrix_x4(r, sb + ((b_off ^ (ks << 5)) + j * 8 * RowBytes));
        b[j][0] = r[0], b[j][1] = r[1], b[j + 1][0] = r[2], b[j + 1][1] = r[3];
      }
      if constexpr (P == Precision::TF32) {
        // B was rounded to tf32 when packed; round A the same way (rna).
#pragma unroll
        for (int i = 0; i < kMt; ++i)
#pragma unroll
          for (int q = 0; q < 4; ++q)
            a[i][q] = cvt_tf32(__uint_as_float(a[i][q]));
      }
#pragma unroll
      for (int i = 0; i < kMt; ++i)
#pragma unroll
        for (int j = 0; j < kNt; ++j) {
          if constexpr (P == Precision::F16)
            mma_m16n8k16_f16(acc[i][j], a[i], b[j], acc[i][j]);
          else if constexpr (P == Precision::BF16)
            mma_m16n8k16_bf16(acc[i][j], a[i], b[j], acc[i][j]);
          else
            mma_m16n8k8_tf32(acc[i][j], a[i], b[j], acc[i][j]);
        }
    }
  }

  /// Writes the accumulators to the fp32 tile |sc| (row stride |ld|): c0, c1
  /// at (row g, cols 2t, 2t+1), c2, c3 at row g + 8 (g = lane/4, t = lane%4).
  __device__ __forceinline__ void stage(float *sc, int ld, int wm0, int wn0,
                                        int lane) const {
#pragma unroll
    for (int i = 0; i < kMt; ++i)
#pragma unroll
      for (int j = 0; j < kNt; ++j)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          int row = wm0 + i * 16 + (lane >> 2) + h * 8;
          int col = wn0 + j * 8 + (lane & 3) * 2;
          Words<2> v{{__float_as_uint(acc[i][j][2 * h]),
                      __float_as_uint(acc[i][j][2 * h + 1])}};
          *reinterpret_cast<Words<2> *>(sc + row * ld + col) = v;
        }
  }
};

/// FMA warp tile WM x WN for F32: lanes form an 8 x 4 grid; lane (r, s)
/// computes rows r + 8i and columns s + 4j, reading 16 bytes of K of each
/// (the rows of a load fall in different bank groups thanks to the swizzle).
template <int WM, int WN, int RowBytes> struct FmaMath {
  static constexpr int kTm = WM / 8, kTn = WN / 4;
  float acc[kTm][kTn];
  int a_row, b_row; ///< the lane's first A and B rows
  int a_off, b_off; ///< their swizzled offsets

  __device__ __forceinline__ void init(int wm0, int wn0, int lane) {
    a_row = wm0 + (lane >> 2), b_row = wn0 + (lane & 3);
    a_off = swizzle(a_row * RowBytes), b_off = swizzle(b_row * RowBytes);
#pragma unroll
    for (int i = 0; i < kTm; ++i)
#pragma unroll
      for (int j = 0; j < kTn; ++j)
        acc[i][j] = 0.f;
  }

  /// The four floats of 16-byte chunk |kc| of the row |d| bytes after the
  /// row at |row_bytes| (swizzled offset |off|) of the tile |s|.
  static __device__ __forceinline__ void load4(const unsigned char *s, int off,
                                               int row_bytes, int d, int kc,
                                               float (&v)[4]) {
    Words<4> w = *reinterpret_cast<const Words<4> *>(
        s + (swizzle_add(off, row_bytes, d) ^ (kc << 4)));
#pragma unroll
    for (int q = 0; q < 4; ++q)
      v[q] = __uint_as_float(w.w[q]);
  }

  __device__ __forceinline__ void step(const unsigned char *sa,
                                       const unsigned char *sb) {
#pragma unroll
    for (int kc = 0; kc < RowBytes / 16; ++kc) {
      float a[kTm][4], b[kTn][4];
#pragma unroll
      for (int i = 0; i < kTm; ++i)
        load4(sa, a_off, a_row * RowBytes, 8 * i * RowBytes, kc, a[i]);
#pragma unroll
      for (int j = 0; j < kTn; ++j)
        load4(sb, b_off, b_row * RowBytes, 4 * j * RowBytes, kc, b[j]);
#pragma unroll
      for (int q = 0; q < 4; ++q)
#pragma unroll
        for (int i = 0; i < kTm; ++i)
#pragma unroll
          for (int j = 0; j < kTn; ++j)
            acc[i][j] = fmaf(a[i][q], b[j][q], acc[i][j]);
    }
  }

  __device__ __forceinline__ void stage(float *sc, int ld, int wm0, int wn0,
                                        int lane) const {
#pragma unroll
    for (int i = 0; i < kTm; ++i)
#pragma unroll
      for (int j = 0; j < kTn; ++j)
        sc[(wm0 + (lane >> 2) + 8 * i) * ld + wn0 + (lane & 3) + 4 * j] =
            acc[i][j];
  }
};

template <class C, Precision P>
using WarpMath =
    std::conditional_t<P == Precision::F32,
                       FmaMath<C::kWarpM, C::kWarpN, C::kRowBytes>,
                       MmaMath<P, C::kWarpM, C::kWarpN, C::kRowBytes>>;

//===----------------------------------------------------------------------===//
// Split-K: the last slice block of a tile reduces
//===----------------------------------------------------------------------===//

/// The fp32 partial sums [split_k][m][o] of a split-K workspace: after the
/// tile counters (schedule.h, splitk_counter_bytes).
__device__ __forceinline__ float *partials(float *workspace) {
  return workspace + kSplitKCounterBytes / 4;
}

/// After a slice block stored its partial sums: counts it in on the tile's
/// counter; the block that completes the count sums the tile's split_k
/// slices in slice order and runs the epilogue, then zeroes the counter
/// (the workspace's counters are zero between launches). Classic
/// threadFenceReduction ordering: every thread fences its own stores before
/// the barrier, thread 0 counts, and the last block fences again before it
/// reads the other blocks' sums (with .cg loads, past L1).
///
/// |C| gives kS, kT, kE, kP, kVec, kThreads and kTiles (M tiles x N tiles);
/// |pixel|(r) is the output pixel of the tile's row r, or -1.
template <class C, class PixelOf>
__device__ __forceinline__ void splitk_finish(ConvArgs<C::kP> args,
                                              unsigned char *smem, int group,
                                              int n0, PixelOf pixel, int tid) {
  constexpr Conv2d S = C::kS;
  constexpr Schedule T = C::kT;
  constexpr int kVec = C::kVec;
  constexpr int kPerRow = T.bn / kVec;
  constexpr int kItems = T.bm * kPerRow;
  constexpr long kM = long(S.n) * S.ho * S.wo;
  constexpr int kOg = S.o / S.groups;
  __threadfence();
  __syncthreads(); // also: every thread is done with the staged tile
  int *last = reinterpret_cast<int *>(smem);
  if (tid == 0) {
    unsigned *counter = reinterpret_cast<unsigned *>(args.workspace) +
                        (long(group) * C::kTiles + blockIdx.x);
    unsigned arrived = atomicAdd(counter, 1u);
    *last = arrived == unsigned(T.split_k - 1);
    if (*last)
      *counter = 0; // every slice of this tile has counted in
  }
  __syncthreads();
  if (!*last)
    return;
  __threadfence();
  const float *ws = partials(args.workspace);
#pragma unroll 1
  for (int i0 = 0; i0 < kItems; i0 += C::kThreads) {
    int item = i0 + tid;
    if (kItems % C::kThreads != 0 && item >= kItems)
      break;
    int r = item / kPerRow, n = n0 + (item % kPerRow) * kVec;
    long m = pixel(r);
    if (m < 0 || n >= kOg)
      continue;
    int o = group * kOg + n;
    float v[kVec], p[kVec];
    load_f32_cg<kVec>(ws + m * S.o + o, v);
#pragma unroll 4
    for (int s = 1; s < T.split_k; ++s) {
      load_f32_cg<kVec>(ws + (s * kM + m) * S.o + o, p);
#pragma unroll
      for (int j = 0; j < kVec; ++j)
        v[j] += p[j];
    }
    finish<C::kE, C::kP, kVec, S.out_stride, S.out_step>(
        v, m, o, args.bias, args.residual, args.out);
  }
}

/// The epilogue of a GEMM tile staged in shared memory as fp32 (at |smem|,
/// rows of C::kStageLd floats): every thread stores kVec consecutive output
/// channels of a row at a time, finished (bias, residual, activation, one
/// rounding) or, with split-K, as this slice's partial sums, which the
/// tile's last slice block then reduces. |pixel|(r) is the output pixel of
/// the tile's row r (or -1); |n0| the tile's first channel of group |group|.
/// Shared by gemm.cuh's and wgmma.cuh's kernels.
template <class C, class PixelOf>
__device__ __forceinline__ void store_tile(ConvArgs<C::kP> args, unsigned char *smem,
                                           int group, int slice, int n0, PixelOf pixel,
                                           int tid) {
  constexpr Conv2d S = C::kS;
  constexpr Schedule T = C::kT;
  constexpr int kVec = C::kVec;
  constexpr int kPerRow = T.bn / kVec;
  constexpr int kItems = T.bm * kPerRow;
  constexpr long kM = long(S.n) * S.ho * S.wo;
  constexpr int kOg = S.o / S.groups;
  const float *sc = reinterpret_cast<const float *>(smem);
#pragma unroll
  for (int i0 = 0; i0 < kItems; i0 += C::kThreads) {
    int item = i0 + tid;
    if (kItems % C::kThreads != 0 && item >= kItems)
      break;
    int r = item / kPerRow, n = n0 + (item % kPerRow) * kVec;
    long m = pixel(r);
    if (m < 0 || n >= kOg)
      continue;
    float v[kVec];
    load_f32<kVec>(sc + r * C::kStageLd + (item % kPerRow) * kVec, v);
    int o = group * kOg + n;
    if constexpr (T.split_k > 1)
      store_f32<kVec>(partials(args.workspace) + (slice * kM + m) * S.o + o, v);
    else
      finish<C::kE, C::kP, kVec, S.out_stride, S.out_step>(v, m, o, args.bias,
                                                           args.residual, args.out);
  }
  if constexpr (T.split_k > 1)
    splitk_finish<C>(args, smem, group, n0, pixel, tid);
}

//===----------------------------------------------------------------------===//
// The kernel
//===----------------------------------------------------------------------===//

/// The kernel's body (conv_gemm_kernel, below, is empty where its
/// configuration is not compiled).
template <class C>
__device__ __forceinline__ void conv_gemm_body(const ConvArgs<C::kP> &args) {
  constexpr Conv2d S = C::kS;
  constexpr Schedule T = C::kT;
  constexpr Epilogue E = C::kE;
  constexpr Precision P = C::kP;
  constexpr GemmGeometry G = C::G;
  unsigned char *smem = dynamic_shared();
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int tn = int(blockIdx.x % C::kTilesN),
            tm = int(blockIdx.x / C::kTilesN);
  const int group = int(blockIdx.y) / T.split_k;
  const int slice = int(blockIdx.y) % T.split_k;
  const long m0 = long(tm) * T.bm;
  const int n0 = tn * T.bn;
  // This slice's K steps: an even share, fixed by the schedule alone.
  const int kt0 = slice * C::kKTiles / T.split_k;
  const int steps = (slice + 1) * C::kKTiles / T.split_k - kt0;

  ALoader<C, S, T, E, P> a(args.in + group * G.cg, m0, tid);
  BLoader<C, S, T, P> b(args.weights + long(group) * G.og * G.kp, n0, tid);
  const int wm0 = (warp / T.warps_n) * C::kWarpM;
  const int wn0 = (warp % T.warps_n) * C::kWarpN;
  WarpMath<C, P> math;
  math.init(wm0, wn0, lane);

  auto stage_a = [&](int s) { return smem + s * C::kStageBytes; };
  auto stage_b = [&](int s) { return smem + s * C::kStageBytes + C::kTileA; };

  // Prologue: stages-1 K steps in flight (empty groups keep the count).
#pragma unroll
  for (int s = 0; s < T.stages - 1; ++s) {
    if (s < steps) {
      a.load(stage_a(s), kt0 + s);
      b.load(stage_b(s), kt0 + s);
    }
    cp_async_commit();
  }
  int read = 0, write = T.stages - 1;
  for (int i = 0; i < steps; ++i) {
    // Step i has landed (this thread's copies), then everyone's.
    cp_async_wait<T.stages - 2>();
    if constexpr (E.scale)
      a.rescale(stage_a(read), kt0 + i, args.scale, group);
    __syncthreads();
    // The buffer written now was read in step i-1, which every warp
    // finished before the barrier above.
    if (i + T.stages - 1 < steps) {
      a.load(stage_a(write), kt0 + i + T.stages - 1);
      b.load(stage_b(write), kt0 + i + T.stages - 1);
    }
    cp_async_commit();
    math.step(stage_a(read), stage_b(read));
    read = read + 1 == T.stages ? 0 : read + 1;
    write = write + 1 == T.stages ? 0 : write + 1;
  }
  cp_async_wait_all();
  __syncthreads();

  // Epilogue through shared memory: each thread then owns kVec consecutive
  // output channels of one pixel.
  float *sc = reinterpret_cast<float *>(smem);
  math.stage(sc, C::kStageLd, wm0, wn0, lane);
  __syncthreads();
  store_tile<C>(args, smem, group, slice, n0,
                [&](int r) { return m0 + r < G.m ? m0 + r : -1l; }, tid);
}

template <class C>
__global__ void __launch_bounds__(C::kThreads, 1)
    conv_gemm_kernel(ConvArgs<C::kP> args) {
  if constexpr (!C::kCompiled) {
    (void)args;
#if defined(__CUDA_ARCH__)
    __trap();
#endif
  } else {
    conv_gemm_body<C>(args);
  }
}

} // namespace kiln::cuda::detail

#endif // KILN_RUNTIME_CUDA_GEMM_CUH
