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

/// Largest dynamic shared memory a block of the mma.sync (and FMA) kernels
/// may use: 99 KiB, the opt-in limit of the sm_86, sm_89 and sm_12x parts
/// they also run on (the A100 allows 163 KiB, the H100 227 KiB).
inline constexpr int kMaxSharedBytes = 101376;

/// Shared memory of an SM, for the cost model's count of resident blocks
/// (an A100's 164 KiB less the 1 KiB each block reserves).
inline constexpr int kSharedBytesPerSm = 166912;

/// Bytes at the start of a split-K workspace that hold one counter per
/// output tile (4096 tiles): the slices of a tile count themselves in there
/// and the last one reduces (gemm.cuh). They must be zero before the first
/// split-K launch; the kernels leave them zero.
inline constexpr int kSplitKCounterBytes = 16384;

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
  return t.warpgroups > 0 ? 128 * (t.warpgroups + 1) : 32 * t.warps_m * t.warps_n;
}

//===----------------------------------------------------------------------===//
// The sm_90a kernel (wgmma.cuh)
//===----------------------------------------------------------------------===//

/// Largest dynamic shared memory of a block on the H100 / H200 (227 KiB).
inline constexpr int kMaxSharedBytesSm90 = 232448;

/// How the sm_90a kernel maps a convolution onto its GEMM. Every K step is
/// 128 bytes of K (bk elements), loaded by the tensor memory accelerator:
///  * gemm: a 1x1, stride-1, unpadded convolution or a linear layer: A is
///    the [m][c] matrix of input pixels (a 2-D tensor map, rows of bm
///    pixels, the K step a bk-channel chunk), 128-byte swizzle;
///  * chunked: any other dense convolution: A is a box of a 4-D tensor map
///    (C, W, H, N) with element strides (1, sw, sh, 1), a rectangle of
///    rn x rh x rw output pixels (at most bm rows; rows past it are not
///    loaded and their outputs not stored), one tap and a bk-channel chunk a
///    K step (channels past c are zeros: padding is the map's out-of-bounds
///    fill), 128-byte swizzle;
///  * packed: c * element bytes == 16 (the padded RGB stem): 8 taps of 16
///    bytes a K step, 8 boxes of [rows][16 bytes] side by side, no swizzle
///    (the core-matrix layout, LBO = bm * 16 bytes).
/// Weights are [o][kp] with kp = steps * bk, K ordered as the steps read it
/// (tap-major, channels zero-padded to cpad), loaded by a 2-D tensor map.
struct WgmmaGeometry {
  int es, bk;
  bool gemm, packed;
  int taps, cpad;   ///< kh * kw; channels per tap in K
  int chunks;       ///< K steps per tap (chunked), else 1
  int steps;        ///< K steps of the whole K loop
  int kp;           ///< packed weight row length (elements)
  long m;           ///< output pixels (n * ho * wo)
  int rn, rh, rw;   ///< the M tile's rectangle (not gemm)
  int tn, th, tw;   ///< M tiles along n, ho, wo (not gemm)
  long tiles_m;     ///< M tiles
  int rows;         ///< output rows a tile loads: bm (gemm) or rn * rh * rw
};

/// Whether the sm_90a kernel runs convolution |s| in precision |p|: tensor
/// cores, one group, an input whose pixels start 16-byte aligned (the
/// tensor maps' strides and addresses), and boxes the TMA accepts.
KILN_HOST_DEVICE constexpr bool wgmma_shape_ok(const Conv2d &s, Precision p) {
  if (p == Precision::F32 || s.groups != 1)
    return false;
  int es = element_bytes(p);
  if (activation_alignment(s.c, s.in_stride, p) != 16 || (long(s.in_stride) * es) % 16)
    return false;
  if (long(s.n) * s.h * s.w * s.in_stride >= (1l << 31))
    return false;
  return s.sh <= 8 && s.sw <= 8; // TMA element strides
}

/// The rectangle of output pixels of one M tile: the one that wastes the
/// fewest rows of bm, then the widest (coalesced loads and stores).
KILN_HOST_DEVICE constexpr WgmmaGeometry wgmma_rect(const Conv2d &s, int bm,
                                                    WgmmaGeometry g) {
  long best_waste = -1;
  int rw_max = s.wo < bm ? s.wo : bm;
  if (rw_max * s.sw > 256)
    rw_max = 256 / s.sw;
  for (int rw = rw_max; rw >= 1; --rw) {
    int rh_max = bm / rw < s.ho ? bm / rw : s.ho;
    if (rh_max * s.sh > 256)
      rh_max = 256 / s.sh;
    for (int rh = rh_max; rh >= 1; --rh) {
      int rn_max = rw == s.wo && rh == s.ho ? bm / (rw * rh) : 1;
      if (rn_max > s.n)
        rn_max = s.n;
      if (rn_max > 256)
        rn_max = 256;
      for (int rn = rn_max; rn >= 1; --rn) {
        long tiles = ceil_div(s.n, rn) * ceil_div(s.ho, rh) * ceil_div(s.wo, rw);
        long waste = tiles * bm - g.m;
        if (best_waste < 0 || waste < best_waste) {
          best_waste = waste;
          g.rn = rn, g.rh = rh, g.rw = rw;
        }
      }
    }
  }
  g.tn = int(ceil_div(s.n, g.rn));
  g.th = int(ceil_div(s.ho, g.rh));
  g.tw = int(ceil_div(s.wo, g.rw));
  g.tiles_m = long(g.tn) * g.th * g.tw;
  g.rows = g.rn * g.rh * g.rw;
  return g;
}

KILN_HOST_DEVICE constexpr WgmmaGeometry wgmma_geometry(const Conv2d &s, Precision p,
                                                        int bm) {
  WgmmaGeometry g{};
  g.es = element_bytes(p);
  g.bk = 128 / g.es;
  g.m = long(s.n) * s.ho * s.wo;
  g.taps = s.kh * s.kw;
  g.gemm = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0;
  g.packed = !g.gemm && s.c * g.es == 16;
  if (g.packed) {
    g.cpad = s.c;
    g.chunks = 1;
    g.steps = int(ceil_div(g.taps, 8));
  } else {
    g.cpad = int(round_up(s.c, g.bk));
    g.chunks = g.cpad / g.bk;
    g.steps = g.taps * g.chunks;
  }
  g.kp = g.steps * g.bk;
  if (g.gemm) {
    g.tiles_m = ceil_div(g.m, bm);
    g.rows = bm;
    g.rn = g.rh = g.rw = 0;
    g.tn = g.th = g.tw = 0;
    return g;
  }
  return wgmma_rect(s, bm, g);
}

/// Dynamic shared memory of the sm_90a kernel: 1 KiB of alignment slack,
/// the stages of A (bm rows) and B (bn rows) of 128 bytes, their two
/// mbarriers; the epilogue's fp32 tile reuses the stages.
KILN_HOST_DEVICE constexpr int wgmma_shared_bytes(const Schedule &t) {
  int pipeline = t.stages * (t.bm + t.bn) * 128 + 16 * t.stages;
  int epilogue = t.bm * (t.bn + 8) * 4;
  return 1024 + (pipeline > epilogue ? pipeline : epilogue);
}

/// The rules of an sm_90a schedule (schedule_ok calls it): bm = 64 *
/// warpgroups (1 or 2), warps_m = 4 * warpgroups, warps_n = 1, bn in
/// {64, 128, 256}, 128-byte K steps, 2 to 8 stages within 227 KiB, split-K
/// as for the other kernels, and a layer wgmma_shape_ok accepts.
KILN_HOST_DEVICE constexpr bool wgmma_schedule_ok(const Conv2d &s, Precision p,
                                                  const Schedule &t) {
  if (!wgmma_shape_ok(s, p))
    return false;
  if (t.warpgroups < 1 || t.warpgroups > 2 || t.bm != 64 * t.warpgroups ||
      t.warps_m != 4 * t.warpgroups || t.warps_n != 1)
    return false;
  if (t.bn != 64 && t.bn != 128 && t.bn != 256)
    return false;
  if (t.bk * element_bytes(p) != 128)
    return false;
  if (t.stages < 2 || t.stages > 8 || wgmma_shared_bytes(t) > kMaxSharedBytesSm90)
    return false;
  WgmmaGeometry g = wgmma_geometry(s, p, t.bm);
  if (t.split_k < 1 || t.split_k > g.steps)
    return false;
  long tiles = g.tiles_m * ceil_div(s.o, t.bn);
  if (t.split_k > 1 && tiles > kSplitKCounterBytes / 4)
    return false;
  return tiles < (1l << 31) && t.split_k <= 65535;
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
///  * 1 <= split_k <= number of K steps, groups * split_k <= 65535, and
///    with split-K at most kSplitKCounterBytes / 4 tiles;
///  * a row of the A tile, in load units, divides the block's threads.
KILN_HOST_DEVICE constexpr bool schedule_ok(const Conv2d &s, Precision p,
                                            const Schedule &t) {
  if (!conv_uses_gemm(s))
    return true;
  if (t.warpgroups != 0)
    return wgmma_schedule_ok(s, p, t);
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
  if (t.split_k > 1 && ceil_div(g.m, t.bm) * ceil_div(g.n, t.bn) * s.groups >
                           kSplitKCounterBytes / 4)
    return false; // a counter per tile
  if (schedule_threads(t) % (bk_bytes / g.a_vec))
    return false;
  return ceil_div(g.m, t.bm) * ceil_div(g.n, t.bn) < (1l << 31);
}

/// Bytes of split-K workspace conv2d needs with schedule |t|: the tile
/// counters (kSplitKCounterBytes, zero between launches), then the fp32
/// partial sums [split_k][n*ho*wo][o]; 0 without split-K or for direct
/// convolutions.
KILN_HOST_DEVICE constexpr size_t
conv2d_workspace_size(const Conv2d &s, Precision p, const Schedule &t) {
  if (!conv_uses_gemm(s) || t.split_k <= 1)
    return 0;
  return kSplitKCounterBytes +
         size_t(t.split_k) * size_t(long(s.n) * s.ho * s.wo) * size_t(s.o) * 4;
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
  long resident = kSharedBytesPerSm / schedule_shared_bytes(t, p);
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
  if (t.split_k > 1) // partial sums out and back, reduced by one block a tile
    cost += 2.0 * t.split_k * g.m * s.o * 4 / sm.dram_bytes_per_clock +
            double(t.split_k) * t.bm * t.bn / 64.0 + 1000;
  return cost;
}

/// Estimated cycles of convolution |s| with the sm_90a schedule |t| on
/// |sm_count| SMs: wgmma at 2048 MACs a clock and SM in fp16/bf16 (1024 in
/// tf32) over the rows a tile computes (the rectangle's waste counts), one
/// resident block an SM, a K step's latency, and the same traffic terms as
/// schedule_cost.
constexpr double wgmma_schedule_cost(const Conv2d &s, Precision p, const Schedule &t,
                                     int sm_count) {
  WgmmaGeometry g = wgmma_geometry(s, p, t.bm);
  double macs = p == Precision::TF32 ? 1024 : 2048;
  // A warpgroup's m64nN wgmma reads (64 + N) * 32 bytes of shared memory
  // for 64 * N * 16 / es MACs; shared memory gives 128 bytes a clock.
  double need = double(64 + t.bn) * 32 * macs * g.es / (64.0 * t.bn * 32);
  double eff = need > 128 ? 128 / need : 1.0;
  long tiles = g.tiles_m * ceil_div(s.o, t.bn);
  long blocks = tiles * t.split_k;
  long k_steps = ceil_div(g.steps, t.split_k);
  double tile_cycles = double(t.bm) * t.bn * g.bk * k_steps / (macs * eff);
  double per_sm = double(ceil_div(blocks, sm_count));
  double compute = per_sm * tile_cycles;
  long waves = ceil_div(blocks, sm_count);
  double latency = waves * (1200.0 + k_steps * 60.0 + t.bm * t.bn / 64.0);
  double cost = compute > latency ? compute : latency;
  double bytes = double(g.m) * g.kp * g.es * ceil_div(s.o, t.bn) / 4 +
                 double(s.o) * g.kp * g.es * g.tiles_m + double(g.m) * s.o * g.es;
  double memory = bytes / 2400.0; // HBM3 and L2 reuse, bytes a clock
  cost = cost > memory ? cost : memory;
  if (t.split_k > 1)
    cost += 2.0 * t.split_k * g.m * s.o * 4 / 2400.0 + double(t.split_k) * t.bm * t.bn / 64.0 +
            1000;
  return cost;
}

} // namespace detail

/// The sm_90a schedule for |s| (wgmma_shape_ok): the cheapest under
/// detail::wgmma_schedule_cost of the tiles 128 or 64 rows by 256, 128 or
/// 64 columns, split-K for layers with too few tiles, as many stages (up to
/// 6) as shared memory holds.
constexpr Schedule wgmma_default_schedule(const Conv2d &s, Precision p, int sm_count) {
  constexpr int tiles[][2] = {{128, 256}, {128, 128}, {128, 64}, {64, 256}, {64, 128}, {64, 64}};
  constexpr int splits[] = {1, 2, 3, 4, 6, 8, 12, 16};
  Schedule best{};
  double best_cost = 0;
  for (const auto &tile : tiles) {
    for (int split : splits) {
      Schedule t{tile[0], tile[1], 128 / element_bytes(p), tile[0] / 16, 1, 6, split,
                 tile[0] / 64};
      WgmmaGeometry g = wgmma_geometry(s, p, t.bm);
      long k_steps = ceil_div(g.steps, split);
      if (split > 1 && k_steps < 4)
        continue; // slices too short to amortize the reduction
      if (t.bn > 64 && s.o <= t.bn / 2)
        continue; // mostly empty columns
      while (t.stages > 2 && (wgmma_shared_bytes(t) > kMaxSharedBytesSm90 ||
                              t.stages > k_steps + 1))
        --t.stages;
      if (!wgmma_schedule_ok(s, p, t))
        continue;
      double cost = detail::wgmma_schedule_cost(s, p, t, sm_count);
      if (best.bm == 0 || cost < best_cost * 0.98) // prefer earlier entries
        best = t, best_cost = cost;
    }
  }
  return best;
}

/// The schedule the compiler should use for convolution |s| in precision |p|
/// on a GPU with |sm_count| SMs (with |sm90a|, the sm_90a kernel's where the
/// layer allows it, wgmma_default_schedule): the cheapest under detail::schedule_cost
/// among a table of tiles that perform well (big tiles when there are enough
/// of them, small tiles and then split-K for the batch-1 layers at 14x14 and
/// 7x7), with bk of 128 bytes for long K loops and 3 or 4 stages. Always
/// returns a schedule that schedule_ok accepts; Schedule{} for direct
/// convolutions.
constexpr Schedule default_schedule(const Conv2d &s, Precision p, int sm_count,
                                    bool sm90a = false) {
  if (!conv_uses_gemm(s))
    return {};
  if (sm90a && wgmma_shape_ok(s, p))
    if (Schedule t = wgmma_default_schedule(s, p, sm_count); t.bm != 0)
      return t;
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

constexpr Schedule default_schedule(const Linear &s, Precision p, int sm_count,
                                    bool sm90a = false) {
  return default_schedule(linear_as_conv(s), p, sm_count, sm90a);
}

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_SCHEDULE_H
