//===- cuda_emu/Warp.cpp - warp collectives, mma.sync and ldmatrix --------===//
//
// This file implements the warp-level operations on top of the scheduler's
// collectives (Scheduler.cpp): each lane leaves a pointer to its operands on
// its own stack, and the lane that completes the collective computes the
// results of every lane.
//
// mma.sync and ldmatrix follow the fragment layouts of the PTX ISA
// ("Matrix Fragments for mma.m16n8k16 with floating point type",
// "... for mma.m16n8k8" (.tf32) and "Warp-level matrix load instruction:
// ldmatrix"); see kiln/cuda/intrinsics.cuh for a summary. With groupID
// g = lane >> 2 and threadID_in_group t = lane % 4:
//   A (m16 x k16, f16/bf16), halves a_i, i = 0..7 (two per register):
//       row = g for a0,a1,a4,a5 and g + 8 for a2,a3,a6,a7
//       col = 2t + (i & 1) for i < 4, 2t + 8 + (i & 1) for i >= 4
//   B (k16 x n8), halves b_i, i = 0..3: row = 2t + (i & 1) (+ 8 for i >= 2), col = g
//   A (m16 x k8, tf32), a_i, i = 0..3: row = g (+ 8 for a1, a3), col = t (+ 4 for a2, a3)
//   B (k8 x n8, tf32), b_i, i = 0..1: row = t (+ 4 for b1), col = g
//   C, D (m16 x n8, f32), c_i, i = 0..3: row = g (+ 8 for i >= 2), col = 2t + (i & 1)
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cstring>

namespace kiln::emu {
namespace detail {

//===----------------------------------------------------------------------===//
// Shuffles, votes, __syncwarp
//===----------------------------------------------------------------------===//

namespace {

struct ShflArgs {
  std::uint64_t value;
  std::uint64_t result;
  unsigned b, c;
};

void execShfl(Collective &c) {
  const ShflMode mode = ShflMode(c.sub);
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(c.arrived >> lane & 1))
      continue;
    auto *a = static_cast<ShflArgs *>(c.args[lane]);
    const unsigned bval = a->b & 31u, cval = a->c & 31u, segmask = (a->c >> 8) & 31u;
    const unsigned maxLane = (lane & segmask) | (cval & ~segmask);
    const unsigned minLane = lane & segmask;
    int j = 0;
    bool pval = false;
    switch (mode) {
    case ShflMode::Up:
      j = int(lane) - int(bval);
      pval = j >= int(maxLane);
      break;
    case ShflMode::Down:
      j = int(lane + bval);
      pval = j <= int(maxLane);
      break;
    case ShflMode::Bfly:
      j = int(lane ^ bval);
      pval = j <= int(maxLane);
      break;
    case ShflMode::Idx:
      j = int(minLane | (bval & ~segmask));
      pval = j <= int(maxLane);
      break;
    }
    if (!pval)
      j = int(lane);
    // A source lane that did not take part gives all-ones bits.
    a->result = (c.arrived >> j & 1) ? static_cast<ShflArgs *>(c.args[j])->value : ~0ull;
  }
}

struct GatherArgs {
  std::uint64_t value;
  std::uint64_t *out;
  unsigned *members;
};

void execGather(Collective &c) {
  std::uint64_t all[32];
  for (unsigned l = 0; l < 32; ++l)
    all[l] = (c.arrived >> l & 1) ? static_cast<GatherArgs *>(c.args[l])->value : ~0ull;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(c.arrived >> l & 1))
      continue;
    auto *a = static_cast<GatherArgs *>(c.args[l]);
    std::memcpy(a->out, all, sizeof all);
    *a->members = c.arrived;
  }
}

void execNothing(Collective &) {}


} // namespace

std::uint64_t shfl(unsigned mask, std::uint64_t value, unsigned b, unsigned c, ShflMode mode) {
  ShflArgs a{value, 0, b, c};
  Runner::inKernel("__shfl_sync").collective(WarpOp::Shfl, std::uint8_t(mode), mask, &a, execShfl);
  return a.result;
}

void gather(unsigned mask, std::uint64_t value, std::uint64_t out[32], unsigned *members) {
  GatherArgs a{value, out, members};
  Runner::inKernel("a warp vote").collective(WarpOp::Gather, 0, mask, &a, execGather);
}

void syncwarp(unsigned mask) {
  Runner::inKernel("__syncwarp").collective(WarpOp::SyncWarp, 0, mask, nullptr, execNothing);
}

//===----------------------------------------------------------------------===//
// mma.sync
//===----------------------------------------------------------------------===//

namespace {

struct MmaArgs {
  float *d;
  const std::uint32_t *a;
  const std::uint32_t *b;
  const float *c;
};

float half16(std::uint32_t reg, unsigned i, MmaKind kind) {
  const std::uint16_t bits = std::uint16_t(i ? reg >> 16 : reg & 0xffffu);
  return kind == MmaKind::F16 ? fp::f16ToF32(bits) : fp::bf16ToF32(bits);
}

void execMma(Collective &c) {
  if (c.arrived != ~0u)
    Runner::get().fail("mma.sync needs all 32 lanes of the warp; lanes " +
                       std::to_string(__builtin_popcount(~c.arrived)) + " did not take part");
  const MmaKind kind = MmaKind(c.sub);
  const bool tf32 = kind == MmaKind::Tf32;
  const int K = tf32 ? 8 : 16;
  double A[16][16], B[16][8], C[16][8];
  for (unsigned lane = 0; lane < 32; ++lane) {
    const auto *x = static_cast<const MmaArgs *>(c.args[lane]);
    const unsigned g = lane >> 2, t = lane & 3;
    if (tf32) {
      for (unsigned i = 0; i < 4; ++i)
        A[g + (i & 1) * 8][t + (i >> 1) * 4] = fp::tf32Operand(x->a[i]);
      for (unsigned i = 0; i < 2; ++i)
        B[t + i * 4][g] = fp::tf32Operand(x->b[i]);
    } else {
      for (unsigned i = 0; i < 8; ++i) {
        const unsigned row = g + ((i >> 1) & 1) * 8;
        const unsigned col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0);
        A[row][col] = half16(x->a[i >> 1], i & 1, kind);
      }
      for (unsigned i = 0; i < 4; ++i)
        B[2 * t + (i & 1) + (i >= 2 ? 8 : 0)][g] = half16(x->b[i >> 1], i & 1, kind);
    }
    for (unsigned i = 0; i < 4; ++i)
      C[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)] = x->c[i];
  }
  // Products of 11/8-bit significands are exact in binary64; the sum of 17
  // terms is computed in binary64 and rounded once to binary32.
  float D[16][8];
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double s = C[m][n];
      for (int k = 0; k < K; ++k)
        s += A[m][k] * B[k][n];
      D[m][n] = float(s);
    }
  for (unsigned lane = 0; lane < 32; ++lane) {
    const auto *x = static_cast<const MmaArgs *>(c.args[lane]);
    const unsigned g = lane >> 2, t = lane & 3;
    for (unsigned i = 0; i < 4; ++i)
      x->d[i] = D[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)];
  }
}

} // namespace

void mma(MmaKind kind, float d[4], const std::uint32_t a[4], const std::uint32_t b[2],
         const float c[4]) {
  MmaArgs x{d, a, b, c};
  Runner::inKernel("mma.sync").collective(WarpOp::Mma, std::uint8_t(kind), ~0u, &x, execMma);
}

//===----------------------------------------------------------------------===//
// ldmatrix
//===----------------------------------------------------------------------===//

namespace {

struct LdmatrixArgs {
  std::uint32_t *r;
  const void *row;
};

void execLdmatrix(Collective &c) {
  const unsigned num = c.sub & 0xfu;
  const bool trans = (c.sub >> 4) & 1u;
  if (c.arrived != ~0u)
    Runner::get().fail("ldmatrix needs all 32 lanes of the warp");
  std::uint16_t M[4][8][8];
  for (unsigned j = 0; j < num; ++j)
    for (unsigned row = 0; row < 8; ++row) {
      const void *p = static_cast<const LdmatrixArgs *>(c.args[8 * j + row])->row;
      if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "ldmatrix: the row address %p given by lane %u is not 16-byte aligned", p,
                      8 * j + row);
        Runner::get().fail(buf);
      }
      std::memcpy(M[j][row], p, 16);
    }
  for (unsigned lane = 0; lane < 32; ++lane) {
    auto *x = static_cast<const LdmatrixArgs *>(c.args[lane]);
    const unsigned r = lane >> 2, e = 2 * (lane & 3);
    for (unsigned j = 0; j < num; ++j) {
      const std::uint16_t lo = trans ? M[j][e][r] : M[j][r][e];
      const std::uint16_t hi = trans ? M[j][e + 1][r] : M[j][r][e + 1];
      x->r[j] = std::uint32_t(lo) | (std::uint32_t(hi) << 16);
    }
  }
}

} // namespace

void ldmatrix(unsigned num, bool trans, std::uint32_t *r, const void *rowAddress) {
  if (num != 1 && num != 2 && num != 4) {
    diagnostic("fatal", "ldmatrix .x" + std::to_string(num) + " does not exist");
    std::abort();
  }
  LdmatrixArgs x{r, rowAddress};
  Runner::inKernel("ldmatrix").collective(WarpOp::Ldmatrix, std::uint8_t(num | (trans ? 16u : 0u)), ~0u,
                                &x, execLdmatrix);
}

} // namespace detail
} // namespace kiln::emu
