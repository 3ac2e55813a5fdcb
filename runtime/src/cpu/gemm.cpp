//===- gemm.cpp - the implicit-GEMM convolution of one kernel set ---------===//
//
// The driver of gemm.h, compiled once per kernel set (kernels_isa.cpp).
//
//===----------------------------------------------------------------------===//

#include "gemm.h"
#include "isa.h"
#include "memory.h"

namespace kiln::cpu::KILN_CPU_ISA {

namespace {

template <int MR, int NV> constexpr TileFn tile_or_null() {
  if constexpr (tile_fits(MR, NV, kShape))
    return &gemm_tile<MR, NV>;
  else
    return nullptr;
}

template <int NV, int... I>
constexpr TileFn tile_for(int mr, std::integer_sequence<int, I...>) {
  constexpr TileFn fns[] = {tile_or_null<I + 1, NV>()...};
  return fns[mr - 1];
}

} // namespace

TileFn tile_fn(int mr, int nv) {
  auto mrs = std::make_integer_sequence<int, kMaxMr>();
  switch (nv) {
  case 1: return tile_for<1>(mr, mrs);
  case 2: return tile_for<2>(mr, mrs);
  case 3: return tile_for<3>(mr, mrs);
  default: return tile_for<4>(mr, mrs);
  }
}

/// Bytes of one panel's share of a K block: the block of weights every tile
/// of a task reads, which must stay in L2 between tiles (a panel of a 3x3,
/// 512-channel layer is 1.2 MB with 64 lanes, above most L2 caches).
constexpr size_t kKBlockBytes = 256 * 1024;

/// One block of the K reduction: taps [tap0, tap0 + taps), channels
/// [c0, c0 + kc) of each.
struct KBlock {
  int tap0, taps, c0, kc;
};

/// The K blocks of a layer whose panels exceed kKBlockBytes: runs of whole
/// taps, or, when one tap is too large, channel slices of each tap. Both in
/// the packed panel's order, so the sums of each output keep their order.
struct KBlocks {
  int count, per_tap; ///< blocks; blocks per tap (0: blocks of whole taps)
  int taps_per, channels_per;
  int layer_taps, layer_kc; ///< where the last block of a run stops

  KBlocks(const GemmLayout &P) : layer_taps(P.taps), layer_kc(P.kc) {
    size_t tap_bytes = size_t(P.kc) * P.nr * sizeof(float);
    auto blocks_of = [](size_t bytes) {
      return int((bytes + kKBlockBytes - 1) / kKBlockBytes);
    };
    if (tap_bytes <= kKBlockBytes) {
      taps_per = ceil_div(P.taps, blocks_of(P.taps * tap_bytes));
      count = ceil_div(P.taps, taps_per);
      per_tap = 0, channels_per = P.kc;
    } else {
      per_tap = blocks_of(tap_bytes);
      channels_per = ceil_div(P.kc, per_tap);
      per_tap = ceil_div(P.kc, channels_per);
      count = P.taps * per_tap, taps_per = 1;
    }
  }
  KBlock operator[](int b) const {
    if (per_tap == 0) {
      int tap0 = b * taps_per;
      return {tap0, std::min(taps_per, layer_taps - tap0), 0, channels_per};
    }
    int c0 = b % per_tap * channels_per;
    return {b / per_tap, 1, c0, std::min(channels_per, layer_kc - c0)};
  }
};

/// The implicit-GEMM convolution (groups == 1, or grouped convolution as
/// one GEMM per group on channel slices).
///
/// Work is split into tasks of (group, chunk of panels, range of tiles);
/// inside a task, each run of tiles (tile_run: the tiles of one output row
/// that read no padding, or any tiles of a 1x1 layer) has its rows built
/// once and is swept over the chunk's panels, which stay in L2 across runs;
/// one microkernel call covers a run on one panel. Tasks are ordered
/// tiles-fastest so that threads share the weight chunk they stream. Small
/// layers (7x7 pixels, thousands of channels) get their parallelism from the
/// panel chunks; large ones from the tiles.
///
/// A layer whose panels exceed kKBlockBytes reduces K in blocks instead
/// (KBlocks): for each block, every tile of the task sweeps the chunk's
/// slices of that block, which stay in L2, keeping its partial sums in the
/// thread's scratch; the last block applies the epilogue.
void conv_gemm(const Conv2d &S, const Epilogue &E, const float *in,
               const float *packed, const float *bias, const float *residual,
               const float *pass, float *out, ThreadPool &pool) {
  const GemmLayout P = gemm_layout(S, kShape);
  const int res_stride = E.residual ? E.residual_stride : 0;
  const bool blocked = P.panel_floats * sizeof(float) > kKBlockBytes;
  const KBlocks kblocks(P);
  RowPlan plan;
  plan.padded = S.ph > 0 || S.pw > 0;
  plan.pointwise =
      S.kh == 1 && S.kw == 1 && S.sh == 1 && S.sw == 1 && !plan.padded;
  // Merged rows are one tap of kw * c floats: not split into K blocks.
  plan.merge_rows = S.groups == 1 && S.kw > 1 && S.dw == 1 &&
                    S.in_stride == S.c && !blocked;
  float *owned_zeros = nullptr;
  plan.zeros = plan.padded ? zero_row(size_t(S.kw) * S.c, owned_zeros) : nullptr;
  TileFn lo = tile_fn(P.tile_lo, P.tile.nv);
  TileFn hi = P.tile_rem > 0 ? tile_fn(P.tile_lo + 1, P.tile.nv) : lo;

  // About 4 tasks per thread balances the load; one thread needs one task.
  int per_chunk = S.groups * P.chunks;
  int want = pool.size() == 1 ? 1 : 4 * pool.size();
  int tile_ranges = std::clamp(ceil_div(want, per_chunk), 1, P.tiles);
  int range_tiles = ceil_div(P.tiles, tile_ranges);
  tile_ranges = ceil_div(P.tiles, range_tiles);
  // Row pointers of one tile: on the stack unless the kernel is huge.
  const size_t row_count = size_t(P.taps) * (P.tile_lo + 1);
  constexpr size_t kStackRows = 1024;
  // Partial sums of a task's pixels and chunk, when blocked.
  const int partial_stride = P.chunk_panels * P.nr;
  const size_t partial_floats =
      blocked ? size_t(range_tiles) * (P.tile_lo + 1) * partial_stride : 0;

  // The weights of (chunk, K block) of group g, for the prefetch of the
  // next ones while a task computes: the next K block of its chunk, else
  // the first of the chunk it is likely to take next (tasks of whole
  // chunks: the next one, as each thread takes a contiguous range of the
  // tasks, kiln/threads.h). Of a chunk of several panels
  // that is K-blocked, the first panel's slice only (one range).
  auto weights_of = [&](int g, int chunk, int kb, size_t &floats) {
    const float *base = packed + g * P.group_floats +
                        size_t(chunk) * P.chunk_panels * P.panel_floats;
    if (!blocked) {
      int panels = std::min(P.panels - chunk * P.chunk_panels, P.chunk_panels);
      floats = size_t(panels) * P.panel_floats;
      return base;
    }
    KBlock k = kblocks[kb];
    floats = size_t(k.taps - 1) * P.kc * P.nr + size_t(k.kc) * P.nr;
    return base + (size_t(k.tap0) * P.kc + k.c0) * P.nr;
  };
  const int chunk_step = tile_ranges == 1 ? 1 : 0;
  // Tiles per run (tile_run): all of a task's, unless the run's input rows,
  // read again for each panel of the chunk, would crowd out the L1 cache.
  constexpr size_t kRunInputBytes = 32 * 1024;
  const size_t tile_input_bytes =
      size_t(P.tile_lo + 1) * P.taps * P.kc * sizeof(float);
  const int run_tiles =
      P.chunk_panels == 1
          ? P.tiles
          : int(std::max<size_t>(1, kRunInputBytes / tile_input_bytes));

  pool.parallel_for(int64_t(per_chunk) * tile_ranges, [&](int64_t task) {
    int range = int(task % tile_ranges);
    int chunk = int(task / tile_ranges % P.chunks);
    int g = int(task / tile_ranges / P.chunks);
    const float *stack_rows[kStackRows];
    const float **rows = stack_rows;
    if (row_count > kStackRows) {
      rows = static_cast<const float **>(
          checked_malloc(row_count * sizeof *rows, "its row pointers"));
    }
    float *partial = blocked ? thread_scratch(partial_floats) : nullptr;
    int first_panel = chunk * P.chunk_panels;
    int last_panel = std::min(P.panels, first_panel + P.chunk_panels);
    int first_tile = range * range_tiles;
    int last_tile = std::min(P.tiles, first_tile + range_tiles);
    int range_p0 = first_tile * P.tile_lo + std::min(first_tile, P.tile_rem);
    for (int kb = 0; kb < (blocked ? kblocks.count : 1); ++kb) {
      KBlock k = blocked ? kblocks[kb] : KBlock{};
      // What comes next, spread over this block's tile x panel calls.
      const char *next = nullptr;
      size_t next_floats = 0;
      if (blocked && kb + 1 < kblocks.count)
        next = reinterpret_cast<const char *>(
            weights_of(g, chunk, kb + 1, next_floats));
      else if (chunk_step > 0 && chunk + chunk_step < P.chunks)
        next = reinterpret_cast<const char *>(
            weights_of(g, chunk + chunk_step, 0, next_floats));
      const size_t calls = size_t(last_tile - first_tile) * (last_panel - first_panel);
      const size_t lines = (next_floats * sizeof(float) + 63) / 64;
      const size_t lines_per_call = (lines + calls - 1) / calls;
      size_t line = 0; // the next one to prefetch
      for (int tile = first_tile; tile < last_tile;) {
        int count = P.tile_lo + (tile < P.tile_rem);
        int p0 = tile * P.tile_lo + std::min(tile, P.tile_rem);
        // A run of tiles of one size (tile_run), its rows built once.
        int same = (tile < P.tile_rem ? P.tile_rem : last_tile) - tile;
        ptrdiff_t a_step = 0;
        int run = tile_run(S, plan, p0, count,
                           std::min({same, last_tile - tile, run_tiles}), a_step);
        TileRows a = tile_rows(S, plan, in, p0, count, rows);
        if (!blocked)
          k = {0, a.taps, 0, a.kc};
        TileFn fn = count == P.tile_lo ? lo : hi;
        for (int panel = first_panel; panel < last_panel; ++panel) {
          int o0 = g * P.n + panel * P.nr; // first output channel
          TileOut o{out + size_t(p0) * S.out_stride + size_t(o0) * S.out_step,
                    S.out_stride,
                    S.out_step,
                    E.bias ? bias + o0 : nullptr,
                    E.residual ? residual + size_t(p0) * res_stride + o0
                               : nullptr,
                    res_stride,
                    std::min(P.nr, P.n - panel * P.nr),
                    E.bias,
                    E.residual};
          if (pass) {
            o.pass = pass + size_t(p0) * E.pass_stride + o0;
            o.pass_stride = E.pass_stride;
            o.pass_first = E.pass_offset < 0;
          }
          if (blocked) {
            float *sums = partial + size_t(p0 - range_p0) * partial_stride +
                          (panel - first_panel) * P.nr;
            o.partial_in = kb > 0 ? sums : nullptr;
            o.partial_out = kb + 1 < kblocks.count ? sums : nullptr;
            o.partial_stride = partial_stride;
          }
          if (next && line < lines) {
            o.prefetch = next + line * 64;
            o.prefetch_lines = int(std::min(run * lines_per_call, lines - line));
            line += o.prefetch_lines;
          }
          fn(rows + size_t(k.tap0) * count, k.taps, k.kc, g * P.kc + k.c0,
             packed + g * P.group_floats + panel * P.panel_floats +
                 (size_t(k.tap0) * P.kc + k.c0) * P.nr,
             o, E.act, run, a_step);
        }
        tile += run;
      }
    }
    if (rows != stack_rows)
      std::free(rows);
  });
  std::free(owned_zeros);
}

} // namespace kiln::cpu::KILN_CPU_ISA
