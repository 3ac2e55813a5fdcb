//===- schedule.h - GEMM geometry, valid schedules, the heuristic -*- C++
//-*-===//
//
// This file holds what the compiler needs to know about the CUDA kernels
// without including CUDA: how a convolution maps to an implicit GEMM (or to
// the direct kernel), which tile schedules a shape supports (schedule_ok),
// their shared memory, the split-K workspace, the alignment the kernels
// assume of activation pointers, and default_schedule, the heuristic that
// picks a schedule for a layer and a GPU. Everything is constexpr, so the same
// functions serve the compiler at run time and kernels.cuh at compile time.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_SCHEDULE_H
#define KILN_RUNTIME_CUDA_SCHEDULE_H

#include "kiln/cuda/types.h"

namespace kiln::cuda {

//===----------------------------------------------------------------------===//
// Small arithmetic
//===----------------------------------------------------------------------===//

KILN_HOST_DEVICE constexpr long ceil_div(long a, long b) {
  return (a + b - 1) / b;
}
KILN_HOST_DEVICE constexpr long round_up(long a, long b) {
  return ceil_div(a, b) * b;
}
KILN_HOST_DEVICE constexpr int gcd(int a, int b) {
  return b == 0 ? a : gcd(b, a % b);
}

/// Largest dynamic shared memory a block may use on every target GPU (the
/// A100's 163 KiB opt-in limit; the H100 allows 227 KiB).
inline constexpr int kMaxSharedBytes = 166912;

/// Bytes a packed GEMM weight row (one output channel's K values) is padded
/// to, so that a K step of any supported bk never needs a bounds check.
inline constexpr int kPackedRowAlign = 128;

//===----------------------------------------------------------------------===//
// Alignment
//===----------------------------------------------------------------------===//

/// The alignment, in bytes, that kernels assume of an activation pointer
/// whose pixels hold |channels| elements every |stride| elements: the largest
/// power of two <= 16 dividing both sizes in bytes. Channel slices of a wider
/// buffer (concat) must start at a multiple of it; conv2d and friends check
/// it and return cudaErrorMisalignedAddress otherwise. Weights, bias, scale
/// and workspace pointers must be 16-byte aligned.
KILN_HOST_DEVICE constexpr int activation_alignment(int channels, int stride,
                                                    Precision p) {
  int es = element_bytes(p);
  return gcd(gcd(16, channels * es), stride * es);
}

/// Bytes to which the output pointer of |s| must be aligned.
KILN_HOST_DEVICE constexpr int output_alignment(const Conv2d &s, Precision p) {
  return s.out_step == 1 ? activation_alignment(s.o, s.out_stride, p)
                         : element_bytes(p);
}

//===----------------------------------------------------------------------===//
// Convolution as a GEMM
//===----------------------------------------------------------------------===//

/// Whether a convolution runs as an implicit GEMM (dense, and grouped with at
/// least 16 input and output channels per group: one GEMM per group) or as the
/// direct kernel (depthwise and narrow groups, e.g. ResNeXt's 4 or 8 channels
/// per group, where a GEMM tile would be mostly padding).
KILN_HOST_DEVICE constexpr bool conv_uses_gemm(const Conv2d &s) {
  int cg = s.c / s.groups, og = s.o / s.groups;
  return s.groups == 1 || (cg >= 16 && og >= 16);
}

/// The implicit GEMM of one group of a convolution: C[M][N] = A[M][K] B[N][K]^T
/// with A the im2col view of the input (K ordered ky, kx, channel) and B the
/// packed weights.
struct GemmGeometry {
  int es;      ///< element bytes
  long m;      ///< n * ho * wo output pixels
  int n, k;    ///< output / kh*kw*input channels per group
  int kp;      ///< packed row length (k padded to kPackedRowAlign bytes)
  int cg, og;  ///< input / output channels per group
  int a_vec;   ///< bytes of one A load: 16 or 4 (cp.async), or es (plain)
  int out_vec; ///< elements of one epilogue load / store
};

KILN_HOST_DEVICE constexpr GemmGeometry
gemm_geometry(const Conv2d &s, Precision p, const Epilogue &e = {}) {
  GemmGeometry g{};
  g.es = element_bytes(p);
  g.cg = s.c / s.groups;
  g.og = s.o / s.groups;
  g.m = long(s.n) * s.ho * s.wo;
  g.n = g.og;
  g.k = s.kh * s.kw * g.cg;
  g.kp = int(round_up(g.k, kPackedRowAlign / g.es));
  // A 16-byte cp.async must stay inside one filter tap of one group, and be
  // aligned; narrower inputs (the 3-channel stem) take the slower paths.
  int a = gcd(activation_alignment(s.c, s.in_stride, p), g.cg * g.es);
  g.a_vec = a >= 16 ? 16 : a >= 4 ? 4 : g.es;
  // A channel-stepped output is stored element by element: only the
  // epilogue's other loads limit its vectors.
  int out = gcd(s.out_step == 1 ? activation_alignment(s.o, s.out_stride, p)
                                 : 16,
                g.og * g.es);
  if (e.residual)
    out = gcd(out, activation_alignment(s.o, e.residual_stride, p));
  g.out_vec = out / g.es > 0 ? out / g.es : 1;
  return g;
}

/// Threads of a block of schedule |t|.
KILN_HOST_DEVICE constexpr int schedule_threads(const Schedule &t) {
  return 32 * t.warps_m * t.warps_n;
}

/// Number of bk-deep steps of the whole K loop (all split-K slices).
KILN_HOST_DEVICE constexpr int schedule_k_tiles(const Conv2d &s, Precision p,
                                                const Schedule &t) {
  return int(ceil_div(gemm_geometry(s, p).k, t.bk));
}

/// Dynamic shared memory of a GEMM kernel: the pipeline's stages of an A
/// (bm x bk) and a B (bn x bk) tile, reused by the epilogue for the fp32
/// bm x bn result (rows padded to avoid bank conflicts).
KILN_HOST_DEVICE constexpr int schedule_shared_bytes(const Schedule &t,
                                                     Precision p) {
  int pipeline = t.stages * (t.bm + t.bn) * t.bk * element_bytes(p);
  int pad = p == Precision::F32 ? 4 : 8;
  int epilogue = t.bm * (t.bn + pad) * 4;
  return pipeline > epilogue ? pipeline : epilogue;
}

/// Whether the GEMM kernel supports schedule |t| for convolution |s| in
/// precision |p| (direct convolutions accept any schedule and ignore it):
///  * bm in {16, 32, 64, 128}, bn in {16, 32, 64, 128};
///  * bk * element bytes in {64, 128}: bk in {32, 64} for F16/BF16, {16, 32}
///    for F32/TF32;
///  * 2 to 8 warps; tensor cores (TF32/F16/BF16): the warp tile
///    (bm/warps_m) x (bn/warps_n) has both sides multiples of 16 and at most
///    64 x 64; F32: multiples of 8 x 4, at most 64 x 32 (8 x 8 per thread);
///  * stages in 2..4 and shared memory <= kMaxSharedBytes;
///  * 1 <= split_k <= number of K steps, groups * split_k <= 65535;
///  * a row of the A tile, in load units, divides the block's threads.
KILN_HOST_DEVICE constexpr bool schedule_ok(const Conv2d &s, Precision p,
                                            const Schedule &t) {
  if (!conv_uses_gemm(s))
    return true;
  auto one_of = [](int v, int a, int b, int c, int d) {
    return v == a || v == b || v == c || v == d;
  };
  GemmGeometry g = gemm_geometry(s, p);
  if (!one_of(t.bm, 16, 32, 64, 128) || !one_of(t.bn, 16, 32, 64, 128))
    return false;
  int bk_bytes = t.bk * g.es;
  if (t.bk <= 0 || (bk_bytes != 64 && bk_bytes != 128))
    return false;
  int warps = t.warps_m * t.warps_n;
  if (t.warps_m < 1 || t.warps_n < 1 || warps < 2 || warps > 8)
    return false;
  if (t.bm % t.warps_m || t.bn % t.warps_n)
    return false;
  int wm = t.bm / t.warps_m, wn = t.bn / t.warps_n;
  if (p == Precision::F32) {
    if (wm % 8 || wn % 4 || wm > 64 || wn > 32)
      return false;
  } else if (wm % 16 || wn % 16 || wm * wn > 64 * 64) {
    return false;
  }
  if (t.stages < 2 || t.stages > 4 ||
      schedule_shared_bytes(t, p) > kMaxSharedBytes)
    return false;
  if (t.split_k < 1 || t.split_k > schedule_k_tiles(s, p, t) ||
      long(s.groups) * t.split_k > 65535)
    return false;
  if (schedule_threads(t) % (bk_bytes / g.a_vec))
    return false;
  return ceil_div(g.m, t.bm) * ceil_div(g.n, t.bn) < (1l << 31);
}

/// Bytes of split-K workspace conv2d needs with schedule |t|: fp32 partial
/// sums [split_k][n*ho*wo][o]; 0 without split-K or for direct convolutions.
KILN_HOST_DEVICE constexpr size_t
conv2d_workspace_size(const Conv2d &s, Precision p, const Schedule &t) {
  if (!conv_uses_gemm(s) || t.split_k <= 1)
    return 0;
  return size_t(t.split_k) * size_t(gemm_geometry(s, p).m) * size_t(s.o) * 4;
}

//===----------------------------------------------------------------------===//
// default_schedule
//===----------------------------------------------------------------------===//

namespace detail {

/// A throughput model of one SM, in cycles, good enough to rank schedules:
/// tensor-core (or FMA) MACs per clock, and how many MACs per byte a warp
/// tile needs from shared memory and a block tile from L2 to keep up.
struct SmModel {
  double macs_per_clock;
  double l2_bytes_per_clock;   ///< per SM
  double dram_bytes_per_clock; ///< whole GPU
};

constexpr SmModel sm_model(Precision p) {
  double macs = p == Precision::F32 ? 64 : p == Precision::TF32 ? 512 : 1024;
  return {macs, 32, 1400};
}

/// Estimated cycles of convolution |s| with schedule |t| on |sm_count| SMs.
constexpr double schedule_cost(const Conv2d &s, Precision p, const Schedule &t,
                               int sm_count) {
  GemmGeometry g = gemm_geometry(s, p);
  SmModel sm = sm_model(p);
  int wm = t.bm / t.warps_m, wn = t.bn / t.warps_n;
  // Shared memory delivers 128 B/clock: a warp tile needs wm*wn/(wm+wn)/es
  // MACs per byte to stay fed (the FMA path reads float4s per 4x4 products).
  double warp_intensity = double(wm) * wn / (wm + wn) / g.es;
  double block_intensity = double(t.bm) * t.bn / (t.bm + t.bn) / g.es;
  double eff = 1.0;
  if (warp_intensity * 128 < sm.macs_per_clock)
    eff = warp_intensity * 128 / sm.macs_per_clock;
  if (block_intensity * sm.l2_bytes_per_clock < sm.macs_per_clock * eff)
    eff = block_intensity * sm.l2_bytes_per_clock / sm.macs_per_clock;
  long tiles = ceil_div(g.m, t.bm) * ceil_div(g.n, t.bn) * s.groups;
  long blocks = tiles * t.split_k;
  long k_steps = ceil_div(schedule_k_tiles(s, p, t), t.split_k);
  double tile_cycles =
      double(t.bm) * t.bn * t.bk * k_steps / (sm.macs_per_clock * eff);
  // Blocks resident per SM, by shared memory and threads (registers allow
  // about as many as threads do at these tile sizes).
  long resident = kMaxSharedBytes / schedule_shared_bytes(t, p);
  long by_threads = 1024 / schedule_threads(t);
  resident = resident < by_threads ? resident : by_threads;
  resident = resident < 1 ? 1 : resident;
  double per_sm = double(ceil_div(blocks, sm_count));
  double compute = per_sm * tile_cycles;
  // A block needs at least the latency of its k steps (~ a global load plus
  // the math of one step each) and its prologue and epilogue.
  long waves = ceil_div(blocks, sm_count * resident);
  double latency = waves * (1500.0 + k_steps * (120.0 + t.bm * t.bn / 64.0));
  double cost = compute > latency ? compute : latency;
  // Compulsory traffic: A once per column of tiles, weights once per row.
  double bytes = double(g.m) * g.k * g.es * ceil_div(g.n, t.bn) * s.groups +
                 double(g.n) * g.kp * g.es * ceil_div(g.m, t.bm) * s.groups +
                 double(g.m) * s.o * g.es;
  double memory = bytes / sm.dram_bytes_per_clock / 2; // L2 absorbs re-reads
  cost = cost > memory ? cost : memory;
  if (t.split_k > 1) // partial sums out and back, and a second launch
    cost += 2.0 * t.split_k * g.m * s.o * 4 / sm.dram_bytes_per_clock + 2500;
  return cost;
}

} // namespace detail

/// The schedule the compiler should use for convolution |s| in precision |p|
/// on a GPU with |sm_count| SMs: the cheapest under detail::schedule_cost
/// among a table of tiles that perform well (big tiles when there are enough
/// of them, small tiles and then split-K for the batch-1 layers at 14x14 and
/// 7x7), with bk of 128 bytes for long K loops and 3 or 4 stages. Always
/// returns a schedule that schedule_ok accepts; Schedule{} for direct
/// convolutions.
constexpr Schedule default_schedule(const Conv2d &s, Precision p,
                                    int sm_count) {
  if (!conv_uses_gemm(s))
    return {};
  struct Tile {
    int bm, bn, warps_m, warps_n;
  };
  constexpr Tile mma_tiles[] = {
      {128, 128, 2, 2}, {128, 64, 2, 2}, {64, 128, 2, 2}, {64, 64, 2, 2},
      {128, 32, 4, 1},  {32, 128, 1, 4}, {64, 32, 2, 1},  {32, 64, 1, 2},
      {32, 32, 2, 1},   {16, 64, 1, 2},  {16, 128, 1, 4}, {16, 32, 1, 2},
      {128, 16, 4, 1},  {64, 16, 2, 1}};
  constexpr Tile fma_tiles[] = {
      {128, 128, 2, 4}, {128, 64, 2, 2}, {64, 128, 2, 4}, {64, 64, 2, 2},
      {64, 32, 2, 2},   {32, 64, 2, 2},  {32, 32, 2, 2},  {16, 64, 1, 2},
      {128, 32, 4, 2},  {64, 16, 2, 2}};
  constexpr int splits[] = {1, 2, 3, 4, 6, 8, 12, 16};
  GemmGeometry g = gemm_geometry(s, p);
  const Tile *table = p == Precision::F32 ? fma_tiles : mma_tiles;
  int count = p == Precision::F32 ? int(sizeof fma_tiles / sizeof(Tile))
                                  : int(sizeof mma_tiles / sizeof(Tile));
  Schedule best{};
  double best_cost = 0;
  for (int i = 0; i < count; ++i) {
    for (int split : splits) {
      Schedule t{table[i].bm,      table[i].bn, 0,    table[i].warps_m,
                 table[i].warps_n, 3,           split};
      // 128-byte K steps when each split has a long K loop.
      t.bk = (g.k / split >= 4 * (128 / g.es) ? 128 : 64) / g.es;
      long k_steps = ceil_div(schedule_k_tiles(s, p, t), split);
      if (split > 1 && k_steps < 4)
        continue; // slices too short to amortize the reduction
      t.stages = t.bm * t.bn <= 64 * 64 ? 4 : 3;
      if (t.stages > k_steps + 1)
        t.stages = k_steps + 1 < 2 ? 2 : int(k_steps + 1);
      while (t.stages > 2 && schedule_shared_bytes(t, p) > kMaxSharedBytes)
        --t.stages;
      if (!schedule_ok(s, p, t))
        continue;
      // Register pressure (ptxas spills otherwise, seen on ResNet-50 and
      // GhostNet for sm_80): a 64 x 64 warp tile in tf32 (twice the A/B
      // fragment registers of fp16), and more than 4 x 8 outputs per thread
      // on the fp32 FMA path (with the loaders' addressing).
      int warp_tile = (t.bm / t.warps_m) * (t.bn / t.warps_n);
      if (p == Precision::TF32 && warp_tile > 64 * 32)
        continue;
      if (p == Precision::F32 && warp_tile > 32 * 32)
        continue;
      double cost = detail::schedule_cost(s, p, t, sm_count);
      if (best.bm == 0 || cost < best_cost * 0.98) // prefer earlier entries
        best = t, best_cost = cost;
    }
  }
  return best;
}

/// A Linear layer is the 1x1 convolution of m pixels.
KILN_HOST_DEVICE constexpr Conv2d linear_as_conv(const Linear &s) {
  return {s.m, 1, 1, s.k, s.n, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, s.k, s.n};
}

constexpr Schedule default_schedule(const Linear &s, Precision p,
                                    int sm_count) {
  return default_schedule(linear_as_conv(s), p, sm_count);
}

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_SCHEDULE_H
