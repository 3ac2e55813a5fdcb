//===- layout.h - how the CPU kernels lay out weights, per ISA --*- C++ -*-===//
//
// The packed weight layout of a convolution depends on two numbers of the
// instruction set its kernels run on: the floats per vector and the vector
// registers (VectorShape). This header plans that layout as constexpr
// functions of the shape, so that
//  * the generated code can size the prepared weights at compile time, as
//    the largest layout of any ISA the executable may pick at run time
//    (conv2d_packed_floats), and
//  * the packing code (compiled once, for the baseline) and each ISA's
//    kernels (compiled for that ISA) agree on one plan.
//
// Two kernel families (docs/cpu-kernels.md):
//  * the implicit GEMM: weights in panels of NR = NV * lanes output
//    channels, [group][o/NR][kh][kw][c/groups][NR], zero-padded to whole
//    panels; the register tile MR x NV is chosen per output-channel count;
//  * lane sharing (depthwise, narrow grouped): [o/lanes][kh][kw][c/groups]
//    [lanes], when a vector's lanes hold whole groups.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_LAYOUT_H
#define KILN_RUNTIME_CPU_LAYOUT_H

#include "kiln/kernel_types.h"

#include <algorithm>
#include <cstddef>

namespace kiln::cpu {

using kiln::kernel::Conv2d;

/// The vector registers of an instruction set, as the layouts see them.
struct VectorShape {
  int lanes;     ///< floats per vector
  int registers; ///< architectural vector registers
};

/// AVX-512 (x86-64-v4): 32 zmm of 16 floats.
inline constexpr VectorShape kAvx512Shape{16, 32};
/// AVX2 + FMA (x86-64-v3): 16 ymm of 8 floats.
inline constexpr VectorShape kAvx2Shape{8, 16};
/// The portable kernels (any CPU; plain loops over 16 floats that the host
/// compiler vectorizes for whatever the target has); planned as 16
/// registers, which keeps its tiles few and small.
inline constexpr VectorShape kPortableShape{16, 16};
/// AArch64 Advanced SIMD: 32 q registers of 4 floats.
inline constexpr VectorShape kNeonShape{4, 32};

/// The shapes of every kernel set an executable of this architecture may
/// hold; prepared weights are sized for the largest layout among them.
#if defined(__aarch64__)
inline constexpr VectorShape kArchShapes[] = {kNeonShape};
#else
inline constexpr VectorShape kArchShapes[] = {kAvx512Shape, kAvx2Shape,
                                              kPortableShape};
#endif

constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

/// Activations one CPU thread's pass may hold: a little more than the L2
/// cache of one core. A batch runs in passes of as many samples as fit
/// (kiln::rt::Session::cpuRun), each thread its own, so that a layer's
/// output is still in cache when the next layer reads it.
inline constexpr double kCpuPassBytes = 4.0 * 1024 * 1024;

/// Samples per pass of a model compiled for |batch| samples, of which one
/// sample's activations take |sample_bytes|: at least one, at most batch.
/// The runtime measures a sample by the arena (arena_bytes / batch); the
/// Winograd choice, which comes before the memory plan, by its largest
/// layer (input and output).
constexpr int cpu_pass_samples(double sample_bytes, int batch) {
  if (batch < 1)
    return 1;
  double n = sample_bytes > 0 ? kCpuPassBytes / sample_bytes : batch;
  return n < 1 ? 1 : n > batch ? batch : int(n);
}

/// The register tile: MR pixels x NV vectors of output channels.
struct GemmTile {
  int mr, nv;
};

/// Whether an MR x NV tile fits the registers: MR * NV accumulators, NV
/// weight vectors and one broadcast input.
constexpr bool tile_fits(int mr, int nv, VectorShape v) {
  return mr >= 1 && nv >= 1 && mr * nv + nv + 1 <= v.registers;
}

/// Chooses the register tile for |n| output channels. Each candidate keeps
/// the accumulators and fewer than 12 row pointers live (more spill x86's
/// general registers); the wider ones load fewer weights per FMA. Pick the
/// one that wastes the fewest lanes on the zero-padded tail panel, with a
/// slight preference for width.
///  * 32 registers (AVX-512, NEON): 6x4, 8x3, 8x2, 8x1 (measured at the FMA
///    peak on Zen 4);
///  * 16 registers (AVX2): 6x2 (12 accumulators, 2 weight vectors and a
///    broadcast: the Haswell sgemm tile of BLIS and OpenBLAS), 8x1.
constexpr GemmTile choose_tile(int n, VectorShape v) {
  constexpr GemmTile wide[] = {{6, 4}, {8, 3}, {8, 2}, {8, 1}};
  constexpr GemmTile narrow[] = {{6, 2}, {8, 1}, {0, 0}, {0, 0}};
  const GemmTile *candidates = v.registers >= 32 ? wide : narrow;
  int widest = candidates[0].nv;
  GemmTile best = candidates[0];
  double best_score = 0;
  for (int i = 0; i < 4; ++i) {
    GemmTile t = candidates[i];
    if (t.mr == 0)
      break;
    int lanes = ceil_div(n, t.nv * v.lanes) * t.nv * v.lanes;
    double score = double(n) / lanes * (1 - 0.03 * (widest - t.nv));
    if (score > best_score)
      best = t, best_score = score;
  }
  return best;
}

/// Bytes of packed weights one task keeps hot while it walks its pixel
/// tiles: a part of the L2 cache (512 KiB to 2 MiB per core on current x86
/// and ARM servers), leaving room for the input rows streaming past.
inline constexpr size_t kWeightChunkBytes = 384 * 1024;

/// The implicit-GEMM plan of one conv2d shape on one vector shape: each
/// group is an independent GEMM of M pixels x N = o/groups channels x
/// K = kh*kw*(c/groups).
struct GemmLayout {
  int kc;     ///< reduced channels per tap
  int n;      ///< output channels per group
  int taps, m;
  GemmTile tile;
  int nr, panels;
  size_t panel_floats, group_floats, packed_size;
  /// Pixels split into |tiles| tiles of |tile_lo| or tile_lo + 1 pixels
  /// (the first |tile_rem| are the larger): with MR = 8, a 49-pixel layer
  /// runs 7 tiles of 7 rather than 6 of 8 and one of 1, which would stream
  /// the weights once more for a single pixel.
  int tiles, tile_lo, tile_rem;
  /// Panels split into |chunks| chunks of |chunk_panels| that fit
  /// kWeightChunkBytes.
  int chunks, chunk_panels;
};

constexpr GemmLayout gemm_layout(const Conv2d &s, VectorShape v) {
  GemmLayout p{};
  p.kc = s.c / s.groups;
  p.n = s.o / s.groups;
  p.taps = s.kh * s.kw;
  p.m = s.n * s.ho * s.wo;
  p.tile = choose_tile(p.n, v);
  p.nr = p.tile.nv * v.lanes;
  p.panels = ceil_div(p.n, p.nr);
  p.panel_floats = size_t(p.taps) * p.kc * p.nr;
  p.group_floats = p.panels * p.panel_floats;
  p.packed_size = s.groups * p.group_floats;
  p.tiles = ceil_div(p.m, p.tile.mr);
  p.tile_lo = p.m / p.tiles;
  p.tile_rem = p.m % p.tiles;
  size_t per_chunk = std::clamp<size_t>(
      kWeightChunkBytes / (p.panel_floats * 4), 1, size_t(p.panels));
  p.chunks = ceil_div(p.panels, int(per_chunk));
  p.chunk_panels = ceil_div(p.panels, p.chunks);
  return p;
}

/// Whether the lane-sharing kernel handles |s| (otherwise a GEMM per group
/// does): the groups of one vector must read at most |lanes| input channels
/// in all, and sharing must beat the per-group GEMM. It does unless each
/// group fills a vector with several input channels; then the GEMM's lanes
/// are all useful, without permutes. The input channels per group are a
/// power of two (the kernels are compiled for those: 1 for depthwise, 2 to 8
/// for ResNeXt-style groups); other narrow groups run the per-group GEMM.
constexpr bool lane_shared(const Conv2d &s, int lanes) {
  int cin = s.c / s.groups, cout = s.o / s.groups;
  return s.groups > 1 && lanes % cout == 0 && cin <= cout &&
         (cin & (cin - 1)) == 0 && (cout < lanes || cin == 1);
}

/// The lane-sharing plan: vectors of |lanes| consecutive output channels.
struct LaneLayout {
  int cin, cout;
  int in_lanes; ///< input channels one vector's groups read
  int blocks;   ///< vectors of output channels
  size_t block_floats, packed_size;
};

constexpr LaneLayout lane_layout(const Conv2d &s, int lanes) {
  LaneLayout p{};
  p.cin = s.c / s.groups;
  p.cout = s.o / s.groups;
  p.in_lanes = lanes / p.cout * p.cin;
  p.blocks = ceil_div(s.o, lanes);
  p.block_floats = size_t(s.kh) * s.kw * p.cin * lanes;
  p.packed_size = p.blocks * p.block_floats;
  return p;
}

/// Floats of packed weights of |s| on vector shape |v|.
constexpr size_t packed_floats(const Conv2d &s, VectorShape v) {
  return lane_shared(s, v.lanes) ? lane_layout(s, v.lanes).packed_size
                                 : gemm_layout(s, v).packed_size;
}

/// Floats of packed weights of |s| for any kernel set of this architecture.
constexpr size_t conv2d_packed_floats(const Conv2d &s) {
  size_t most = 0;
  for (VectorShape v : kArchShapes)
    most = std::max(most, packed_floats(s, v));
  return most;
}

//===----------------------------------------------------------------------===//
// Winograd
//===----------------------------------------------------------------------===//

/// A 3x3, stride-1, undilated, dense convolution computed as Winograd
/// F(m x m, 3 x 3), m = 2 or 4 (docs/cpu-kernels.md): the output in m x m
/// tiles, each from an (m + 2) x (m + 2) input tile, as (m + 2)^2
/// independent GEMMs of tiles x input channels x output channels between the
/// transformed input and the transformed weights.
struct Winograd {
  Conv2d conv;
  int m;
};

/// Whether F(m x m, 3 x 3) computes |s|: a dense 3x3 convolution with
/// stride 1 and no dilation (any padding), m = 2 or 4.
constexpr bool winograd_ok(const Conv2d &s, int m) {
  return (m == 2 || m == 4) && s.kh == 3 && s.kw == 3 && s.sh == 1 &&
         s.sw == 1 && s.dh == 1 && s.dw == 1 && s.groups == 1;
}

/// The Winograd plan of one shape on one vector shape. The weights of
/// position xi (0 <= xi < positions) are the GEMM panels of a 1x1
/// convolution c -> o on that vector shape, [xi][o/NR][c][NR]: the same
/// panels and register tile as gemm_layout's.
struct WinogradLayout {
  int m, n;      ///< output and input tile side (n = m + 2)
  int positions; ///< n * n
  int tiles_y, tiles_x;
  int tiles; ///< batch * tiles_y * tiles_x
  GemmLayout gemm;
  size_t position_floats, packed_size;
};

constexpr GemmLayout winograd_gemm(const Conv2d &s, VectorShape v) {
  Conv2d pointwise{1, 1, 1, s.c, s.o, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, s.c, s.o};
  return gemm_layout(pointwise, v);
}

constexpr WinogradLayout winograd_layout(const Winograd &w, VectorShape v) {
  WinogradLayout p{};
  p.m = w.m;
  p.n = w.m + 2;
  p.positions = p.n * p.n;
  p.tiles_y = ceil_div(w.conv.ho, w.m);
  p.tiles_x = ceil_div(w.conv.wo, w.m);
  p.tiles = w.conv.n * p.tiles_y * p.tiles_x;
  p.gemm = winograd_gemm(w.conv, v);
  p.position_floats = p.gemm.packed_size;
  p.packed_size = p.positions * p.position_floats;
  return p;
}

/// Floats of packed Winograd weights of |w| for any kernel set of this
/// architecture.
constexpr size_t winograd_packed_floats(const Winograd &w) {
  size_t most = 0;
  for (VectorShape v : kArchShapes)
    most = std::max(most, winograd_layout(w, v).packed_size);
  return most;
}

//===----------------------------------------------------------------------===//
// Convolution chains
//===----------------------------------------------------------------------===//

/// Three convolutions run as one kernel, a few rows at a time
/// (docs/cpu-kernels.md): a 1x1 `expand` of the chain's input, a depthwise
/// `depthwise` convolution of its result, a 1x1 `project` of that --
/// MobileNetV2's inverted residual, whose expanded tensor then never leaves
/// the cache. The intermediate tensors are dense NHWC (strides = channels).
struct ConvChain {
  Conv2d expand, depthwise, project;
};

/// The channel counts every kernel set takes without a partial vector.
inline constexpr int kChainChannelMultiple = 16;

/// Whether conv_chain computes |c|: the three shapes connect as above, the
/// expand and project are dense 1x1 with stride 1 and no padding, the
/// depthwise one has a 3x3 or 5x5 window, stride 1 or 2 both ways, no
/// dilation and a multiple of 16 channels, and the intermediate tensors are
/// dense.
constexpr bool conv_chain_ok(const ConvChain &c) {
  auto pointwise = [](const Conv2d &s) {
    return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 &&
           s.pw == 0 && s.groups == 1 && s.ho == s.h && s.wo == s.w;
  };
  const Conv2d &x = c.expand, &d = c.depthwise, &p = c.project;
  return pointwise(x) && pointwise(p) && d.groups == d.c && d.o == d.c &&
         d.kh == d.kw && (d.kh == 3 || d.kh == 5) && d.sh == d.sw &&
         (d.sh == 1 || d.sh == 2) && d.dh == 1 && d.dw == 1 &&
         d.c % kChainChannelMultiple == 0 && x.n == d.n && d.n == p.n &&
         x.o == d.c && x.h == d.h && x.w == d.w && p.c == d.o &&
         p.h == d.ho && p.w == d.wo && x.out_stride == x.o &&
         x.out_step == 1 && d.in_stride == d.c && d.out_stride == d.o &&
         d.out_step == 1 && p.in_stride == p.c;
}

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_LAYOUT_H
