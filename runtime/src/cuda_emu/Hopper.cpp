//===- cuda_emu/Hopper.cpp - mbarrier, TMA and wgmma (sm_90a) -------------===//
//
// This file emulates the asynchronous machinery of Hopper's GEMM kernels, as
// the PTX ISA describes it (sections "mbarrier", "cp.async.bulk.tensor",
// "Tensor Map" and "Asynchronous Warpgroup Level Matrix Multiply-Accumulate"),
// so that a kernel that forgets one of its synchronisation points computes
// wrong data here, as it may on a GPU:
//
// mbarrier  An object in shared memory with an expected arrival count, the
//           arrivals still pending in the current phase, a transaction count
//           (bytes) and a phase. A phase completes when its pending arrivals
//           reach zero and its transaction count is zero; then the phase
//           advances and the pending count is reset. try_wait.parity(P) is
//           true once the phase of parity P has completed (the current
//           phase's parity differs from P); mbarrierWait blocks the CUDA
//           thread until then (a wait nothing can satisfy is a deadlock,
//           reported with each barrier's counts). More arrivals than a phase
//           expects is an error (undefined on a GPU). The state lives beside
//           shared memory, keyed by the barrier's address; using a barrier
//           before mbarrier.init is an error.
//
// TMA       cp.async.bulk.tensor (tile mode) reads a box of a tensor map:
//           boxDim[d] / elementStrides[d] elements along dimension d from the
//           given coordinates, dimension 0 innermost; elements outside the
//           tensor (negative or past globalDim) are zero (or NaN with
//           CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA). The box lands
//           densely in shared memory, rows of dimension 0, each 16-byte chunk
//           of a row moved by the map's swizzle (32B/64B/128B: the chunk index,
//           address bits 4.., XORed with address bits 7.., as many bits as the
//           span has chunks) -- the same pattern wgmma descriptors read. The
//           copy's bytes complete transactions on its mbarrier. The copy is
//           queued at issue, its destination poisoned at once, and performed
//           when a thread waits on its barrier: reading a stage before its
//           barrier completes, or issuing a load into a stage a wgmma has not
//           finished reading, shows as poison. (A load issued while a thread
//           already waits on its barrier lands at once.)
//
// wgmma     wgmma.mma_async m64nNk16 (.f16/.bf16) and m64nNk8 (.tf32) with A
//           and B in shared memory, K-major, described by 64-bit matrix
//           descriptors: start address, leading (LBO) and stride (SBO) byte
//           offsets, each >> 4, and the swizzle mode (bits 62-63: 1 = 128B,
//           2 = 64B, 3 = 32B, 0 = none). Row r, K byte k of an operand is at
//             none:    start + (r / 8) * SBO + (r % 8) * 16 + (k / 16) * LBO + k % 16
//             swizzle: swizzle(start + (r / 8) * SBO + (r % 8) * span + k)
//           (the canonical K-major layouts: 8-row core matrices of 16 bytes,
//           or 8-row atoms of span bytes). Thread l of the warpgroup holds
//           rows 16 * (l / 32 % 4) + g (+ 8) and columns 8j + 2t (+ 1) of D,
//           g = l % 32 / 4, t = l % 4: d[4j + q] is row g + 8 (q / 2),
//           column 8j + 2t + q % 2 (the m16n8 fragment, repeated along N).
//           Each thread's operation is queued at issue and performed at
//           wgmma.wait_group (reading shared memory then, writing the thread's
//           accumulators then): reading accumulators before the wait reads
//           stale values. An operation issued without a wgmma.fence since the
//           thread's last wait (or start) reads its accumulators as NaN: the
//           ISA requires the fence before the first wgmma and after the
//           registers were touched otherwise; kiln's kernels fence before
//           every group (stricter than the ISA, as CUTLASS does).
//           Products are exact and each output is D + sum(a * b) in binary64
//           rounded once to binary32 (as the emulated mma.sync); .tf32 uses
//           the 19 high bits of each operand.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace kiln::emu {

namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

/// The physical shared-window address of logical |addr| under a |span|-byte
/// swizzle (0: none).
std::uint32_t swizzled(std::uint32_t addr, unsigned span) {
  if (span == 0)
    return addr;
  const unsigned bits = span == 32 ? 1 : span == 64 ? 2 : 3;
  return addr ^ (((addr >> 7) & ((1u << bits) - 1)) << 4);
}

double elementValue(const unsigned char *p, detail::WgmmaKind kind) {
  if (kind == detail::WgmmaKind::Tf32) {
    std::uint32_t bits;
    std::memcpy(&bits, p, 4);
    bits &= 0xffffe000u; // the 19 tf32 bits
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  std::uint16_t bits;
  std::memcpy(&bits, p, 2);
  if (kind == detail::WgmmaKind::F16)
    return double(fp::f16ToF32(bits));
  std::uint32_t wide = std::uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

} // namespace

//===----------------------------------------------------------------------===//
// Shared addresses
//===----------------------------------------------------------------------===//

std::uint32_t Runner::sharedAddress(const void *p, std::size_t bytes, const char *what) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const auto base = reinterpret_cast<std::uintptr_t>(smem_);
  if (a < base || a + bytes > base + spec_->smem)
    fail(std::string(what) + ": address " + hex32(std::uint32_t(a)) +
         " is not in the block's dynamic shared memory (" + std::to_string(spec_->smem) +
         " bytes)");
  return std::uint32_t(a - base);
}

//===----------------------------------------------------------------------===//
// mbarrier
//===----------------------------------------------------------------------===//

Mbarrier &Runner::mbarrierAt(std::uint32_t bar, const char *what) {
  if (bar % 8)
    fail(std::string(what) + ": the mbarrier at shared address " + hex32(bar) +
         " is not 8-byte aligned");
  for (auto &[at, b] : mbarriers_)
    if (at == bar)
      return b;
  fail(std::string(what) + " on the mbarrier at shared address " + hex32(bar) +
       " before mbarrier.init");
}

void Runner::mbarrierInit(std::uint32_t bar, unsigned count) {
  if (bar % 8)
    fail("mbarrier.init: shared address " + hex32(bar) + " is not 8-byte aligned");
  if (count < 1 || count > (1u << 20) - 1)
    fail("mbarrier.init with count " + std::to_string(count) + " (1 to 2^20 - 1)");
  Mbarrier fresh;
  fresh.expected = fresh.pending = count;
  for (auto &[at, b] : mbarriers_)
    if (at == bar) {
      b = fresh;
      return;
    }
  mbarriers_.push_back({bar, fresh});
}

void Runner::maybeCompletePhase(std::uint32_t bar, Mbarrier &b) {
  if (b.pending != 0 || b.tx != 0)
    return;
  ++b.phase;
  b.pending = b.expected;
  for (unsigned i = 0; i < n_; ++i) {
    Thread &t = threads_[i];
    if (t.state == ThreadState::Mbarrier && t.mbarrier == bar) {
      t.state = ThreadState::Ready;
      setReady(i);
    }
  }
}

void Runner::mbarrierArrive(std::uint32_t bar, std::uint32_t txBytes) {
  Mbarrier &b = mbarrierAt(bar, txBytes ? "mbarrier.arrive.expect_tx" : "mbarrier.arrive");
  if (b.pending == 0)
    fail("mbarrier.arrive on the mbarrier at shared address " + hex32(bar) +
         ": every one of its " + std::to_string(b.expected) +
         " arrivals of this phase already happened (an arrival for a later phase: a "
         "missing wait)");
  b.tx += txBytes;
  if (b.tx > (std::int64_t(1) << 20) - 1)
    fail("mbarrier.expect_tx: more than 2^20 - 1 transaction bytes pending");
  --b.pending;
  maybeCompletePhase(bar, b);
}

void Runner::completeTx(std::uint32_t bar, Mbarrier &b, std::uint32_t bytes) {
  b.tx -= bytes;
  if (b.tx < -((std::int64_t(1) << 20) - 1))
    fail("the mbarrier at shared address " + hex32(bar) +
         " received more transaction bytes than it expects");
  maybeCompletePhase(bar, b);
}

void Runner::mbarrierWait(std::uint32_t bar, unsigned parity) {
  countStat(Stat::MbarrierWaits);
  Mbarrier &b = mbarrierAt(bar, "mbarrier.try_wait.parity");
  const unsigned me = unsigned(cur_);
  // A phase that already completed lets the thread through at once, whatever
  // is in flight (a missing expect_tx then reads poison). Otherwise the
  // tensor loads this barrier tracks land now, oldest first.
  if ((b.phase & 1u) != (parity & 1u))
    return;
  landTma(bar, b);
  while ((b.phase & 1u) == (parity & 1u)) {
    Thread &t = threads_[me];
    t.state = ThreadState::Mbarrier;
    t.mbarrier = bar;
    t.parity = parity & 1u;
    clearReady(me);
    block();
  }
}

void Runner::landTma(std::uint32_t bar, Mbarrier &b) {
  for (size_t i = 0; i < tma_.size();) {
    if (tma_[i].bar != bar) {
      ++i;
      continue;
    }
    TmaCopy c = tma_[i];
    tma_.erase(tma_.begin() + std::ptrdiff_t(i));
    performTma(c, false);
    completeTx(bar, b, c.bytes);
  }
}

std::string Runner::describeMbarrierWaits() const {
  std::string s;
  for (const auto &[at, b] : mbarriers_) {
    unsigned waiting = 0, first = 0;
    for (unsigned i = 0; i < n_; ++i)
      if (threads_[i].state == ThreadState::Mbarrier && threads_[i].mbarrier == at &&
          waiting++ == 0)
        first = i;
    if (!waiting)
      continue;
    s += "\n  " + std::to_string(waiting) + " thread(s) wait at the mbarrier at shared address " +
         hex32(at) + " for the phase of parity " + std::to_string(threads_[first].parity) +
         " (first: " + describeThread(first) + "); it is in phase " + std::to_string(b.phase) +
         " with " + std::to_string(b.pending) + " of " + std::to_string(b.expected) +
         " arrivals and " + std::to_string(b.tx) + " transaction bytes pending";
  }
  return s;
}

//===----------------------------------------------------------------------===//
// Tensor memory accelerator
//===----------------------------------------------------------------------===//

void Runner::tmaLoad(std::uint32_t dst, const detail::TensorMapData &map, const int *coords,
                     std::uint32_t bar) {
  countStat(Stat::Tma);
  if (map.magic != detail::kTensorMapMagic)
    fail("cp.async.bulk.tensor with a tensor map cuTensorMapEncodeTiled did not write");
  std::uint32_t count[5] = {1, 1, 1, 1, 1};
  std::uint64_t elements = 1;
  for (unsigned d = 0; d < map.rank; ++d) {
    const std::uint32_t stride = d == 0 ? 1 : map.elementStrides[d];
    count[d] = (map.box[d] + stride - 1) / stride;
    elements *= count[d];
  }
  const std::uint32_t rowBytes = count[0] * map.elementBytes;
  const std::uint64_t bytes = elements * map.elementBytes;
  const std::uint32_t align = map.swizzleBytes ? 8 * map.swizzleBytes : 128;
  if (dst % align)
    fail("cp.async.bulk.tensor: the destination (shared address " + hex32(dst) +
         ") is not " + std::to_string(align) + "-byte aligned, as " +
         (map.swizzleBytes ? std::to_string(map.swizzleBytes) + "-byte swizzling"
                           : std::string("the tensor memory accelerator")) +
         " needs");
  // A swizzled box's last rows may move anywhere in their 8-row atom.
  const std::uint64_t end =
      map.swizzleBytes ? (dst + bytes + align - 1) / align * align : dst + bytes;
  if (end > spec_->smem)
    fail("cp.async.bulk.tensor: a " + std::to_string(bytes) + "-byte box at shared address " +
         hex32(dst) + " runs past the block's " + std::to_string(spec_->smem) +
         " bytes of shared memory");
  if (map.swizzleBytes && rowBytes != map.swizzleBytes)
    fail("cp.async.bulk.tensor: kiln's emulator takes swizzled boxes whose inner dimension "
         "is the swizzle span (" + std::to_string(rowBytes) + " bytes vs " +
         std::to_string(map.swizzleBytes) + ")");
  Mbarrier &b = mbarrierAt(bar, "cp.async.bulk.tensor");
  TmaCopy c{dst, bar, std::uint32_t(bytes), {}, map};
  for (unsigned d = 0; d < 5; ++d)
    c.coords[d] = d < map.rank ? coords[d] : 0;
  performTma(c, true); // in flight: the destination is undefined until the wait
  tma_.push_back(c);
  // A thread already waits on the barrier: the copy lands for it now.
  for (unsigned i = 0; i < n_; ++i)
    if (threads_[i].state == ThreadState::Mbarrier && threads_[i].mbarrier == bar) {
      landTma(bar, b);
      break;
    }
}

void Runner::performTma(const TmaCopy &c, bool poisonOnly) {
  const detail::TensorMapData &m = c.map;
  std::uint32_t count[5] = {1, 1, 1, 1, 1};
  for (unsigned d = 0; d < m.rank; ++d) {
    const std::uint32_t stride = d == 0 ? 1 : m.elementStrides[d];
    count[d] = (m.box[d] + stride - 1) / stride;
  }
  const int poison = settings().poisonByte;
  const unsigned es = m.elementBytes;
  std::uint32_t logical = c.dst;
  unsigned char nan[8];
  if (m.nanFill) {
    if (es == 2) {
      const std::uint16_t h = 0x7fff;
      std::memcpy(nan, &h, 2);
    } else {
      const std::uint32_t f = 0x7fffffff;
      std::memcpy(nan, &f, 4);
    }
  }
  for (std::uint32_t i4 = 0; i4 < count[4]; ++i4)
    for (std::uint32_t i3 = 0; i3 < count[3]; ++i3)
      for (std::uint32_t i2 = 0; i2 < count[2]; ++i2)
        for (std::uint32_t i1 = 0; i1 < count[1]; ++i1)
          for (std::uint32_t i0 = 0; i0 < count[0]; ++i0, logical += es) {
            unsigned char *to = reinterpret_cast<unsigned char *>(smem_) +
                                swizzled(logical, m.swizzleBytes);
            if (poisonOnly) {
              if (poison >= 0)
                std::memset(to, poison, es);
              continue;
            }
            const std::uint32_t idx[5] = {i0, i1, i2, i3, i4};
            bool inside = true;
            std::uint64_t offset = 0;
            for (unsigned d = 0; d < m.rank; ++d) {
              const std::int64_t x = std::int64_t(c.coords[d]) +
                                     std::int64_t(idx[d]) * (d == 0 ? 1 : m.elementStrides[d]);
              if (x < 0 || std::uint64_t(x) >= m.dims[d]) {
                inside = false;
                break;
              }
              offset += std::uint64_t(x) * m.strides[d];
            }
            if (inside)
              std::memcpy(to, reinterpret_cast<const void *>(m.globalAddress + offset), es);
            else if (m.nanFill)
              std::memcpy(to, nan, es);
            else
              std::memset(to, 0, es);
          }
}

//===----------------------------------------------------------------------===//
// wgmma
//===----------------------------------------------------------------------===//

void Runner::wgmmaFence() { threads_[unsigned(cur_)].wgmmaFenced = true; }

void Runner::wgmmaIssue(const WgmmaOp &op) {
  countStat(Stat::Wgmma);
  if (n_ % 128 || n_ < 128)
    fail("wgmma.mma_async in a block of " + std::to_string(n_) +
         " threads (warpgroups are 128 threads; the block must hold whole warpgroups)");
  if (op.n < 8 || op.n > 256 || op.n % 8)
    fail("wgmma.mma_async with N = " + std::to_string(op.n) + " (8 to 256, a multiple of 8)");
  Thread &t = threads_[unsigned(cur_)];
  WgmmaOp o = op;
  o.unfenced = !t.wgmmaFenced;
  t.wgmmaOpen.push_back(o);
}

void Runner::wgmmaCommit() {
  Thread &t = threads_[unsigned(cur_)];
  t.wgmmaGroups.push_back(std::move(t.wgmmaOpen));
  t.wgmmaOpen.clear();
}

void Runner::wgmmaWait(unsigned n) {
  Thread &t = threads_[unsigned(cur_)];
  while (t.wgmmaGroups.size() > n) {
    std::vector<WgmmaOp> group = std::move(t.wgmmaGroups.front());
    t.wgmmaGroups.erase(t.wgmmaGroups.begin());
    for (const WgmmaOp &op : group)
      performWgmma(op);
  }
  // The accumulators were written: the next wgmma needs a fence again.
  t.wgmmaFenced = false;
}

void Runner::performWgmma(const WgmmaOp &op) {
  const auto kind = detail::WgmmaKind(op.kind);
  const unsigned es = kind == detail::WgmmaKind::Tf32 ? 4 : 2;
  const unsigned k = 32 / es; // 16 or 8 elements: 32 bytes of K
  const unsigned me = unsigned(cur_) % 128;
  const unsigned warp = me / 32, g = me % 32 / 4, tq = me % 4;

  // Element (row, kk) of the operand described by |desc|.
  auto operand = [&](std::uint64_t desc, unsigned row, unsigned kk, const char *which) {
    const std::uint32_t start = std::uint32_t(desc & 0x3fff) << 4;
    const std::uint32_t lbo = std::uint32_t((desc >> 16) & 0x3fff) << 4;
    const std::uint32_t sbo = std::uint32_t((desc >> 32) & 0x3fff) << 4;
    const unsigned baseOffset = unsigned(desc >> 49) & 7;
    const unsigned mode = unsigned(desc >> 62);
    if (baseOffset)
      fail(std::string("wgmma.mma_async: the ") + which +
           " descriptor has a matrix base offset, which kiln's emulator does not model");
    static constexpr unsigned kSpan[] = {0, 128, 64, 32};
    const unsigned span = kSpan[mode];
    const std::uint32_t kb = kk * es;
    std::uint32_t addr;
    if (span == 0)
      addr = start + (row / 8) * sbo + (row % 8) * 16 + (kb / 16) * lbo + kb % 16;
    else
      addr = swizzled(start + (row / 8) * sbo + (row % 8) * span + kb, span);
    if (addr + es > spec_->smem)
      fail(std::string("wgmma.mma_async: the ") + which + " operand's row " +
           std::to_string(row) + " reads shared address " + hex32(addr) + ", past the block's " +
           std::to_string(spec_->smem) + " bytes");
    return elementValue(reinterpret_cast<const unsigned char *>(smem_) + addr, kind);
  };

  // This thread's two rows of A and its columns of B, K values each.
  const unsigned rows[2] = {16 * warp + g, 16 * warp + g + 8};
  double a[2][16];
  for (unsigned r = 0; r < 2; ++r)
    for (unsigned kk = 0; kk < k; ++kk)
      a[r][kk] = operand(op.descA, rows[r], kk, "A");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (unsigned j = 0; j < op.n / 8u; ++j)
    for (unsigned c = 0; c < 2; ++c) {
      const unsigned col = 8 * j + 2 * tq + c;
      double b[16];
      for (unsigned kk = 0; kk < k; ++kk)
        b[kk] = operand(op.descB, col, kk, "B");
      for (unsigned r = 0; r < 2; ++r) {
        float &d = op.d[4 * j + 2 * r + c];
        double sum = op.unfenced ? nan : op.scaleD ? double(d) : 0.0;
        for (unsigned kk = 0; kk < k; ++kk)
          sum += a[r][kk] * b[kk];
        d = float(sum);
      }
    }
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

void Runner::resetHopper() {
  mbarriers_.clear();
  tma_.clear();
}

void Runner::hopperThreadExited(Thread &t) {
  size_t open = t.wgmmaOpen.size();
  for (const auto &g : t.wgmmaGroups)
    open += g.size();
  if (open) {
    unwaited_ += open;
    if (settings().strict)
      fail(std::to_string(open) + " wgmma.mma_async operations were never waited for "
           "(wgmma.commit_group / wait_group) before the thread exited (KILN_EMU_STRICT)");
  }
  t.wgmmaOpen.clear();
  t.wgmmaGroups.clear();
  t.wgmmaFenced = false;
}

namespace {

/// The running kernel's Runner, for an instruction that only compute
/// capability 9.0 has (sm_90a's wgmma, the tensor memory accelerator,
/// mbarrier transaction counts): on an emulated device of another
/// compute capability (KILN_EMU_CC) it fails, as the instruction cannot be
/// in the code a GPU of that kind runs (nvcc leaves it out or traps).
Runner &inSm90aKernel(const char *what) {
  Runner &r = Runner::inKernel(what);
  const int cc = settings().cc;
  if (cc != 90)
    r.fail(std::string(what) + " needs sm_90a (compute capability 9.0), and the emulated " +
           "device is sm_" + std::to_string(cc) + " (KILN_EMU_CC)");
  return r;
}

} // namespace

namespace detail {

std::uint32_t sharedAddress(const void *p) {
  return Runner::inKernel("__cvta_generic_to_shared").sharedAddress(p, 0, "a shared address");
}

void mbarrierInit(std::uint64_t *bar, unsigned count) {
  Runner &r = Runner::inKernel("mbarrier.init");
  r.mbarrierInit(r.sharedAddress(bar, 8, "mbarrier.init"), count);
}
void mbarrierArrive(std::uint64_t *bar, std::uint32_t txBytes) {
  Runner &r = txBytes ? inSm90aKernel("mbarrier.arrive.expect_tx")
                      : Runner::inKernel("mbarrier.arrive");
  r.mbarrierArrive(r.sharedAddress(bar, 8, "mbarrier.arrive"), txBytes);
}
void mbarrierWait(std::uint64_t *bar, unsigned parity) {
  Runner &r = Runner::inKernel("mbarrier.try_wait.parity");
  r.mbarrierWait(r.sharedAddress(bar, 8, "mbarrier.try_wait.parity"), parity);
}
void fenceAsync() { (void)Runner::inKernel("fence.proxy.async / fence.mbarrier_init"); }

void tmaLoad(void *dst, const void *map, int rank, const int *coords, std::uint64_t *bar) {
  Runner &r = inSm90aKernel("cp.async.bulk.tensor");
  TensorMapData data;
  std::memcpy(&data, map, sizeof data);
  if (data.magic == kTensorMapMagic && int(data.rank) != rank)
    r.fail("cp.async.bulk.tensor." + std::to_string(rank) + "d with a tensor map of rank " +
           std::to_string(data.rank));
  r.tmaLoad(r.sharedAddress(dst, 0, "cp.async.bulk.tensor"), data, coords,
            r.sharedAddress(bar, 8, "cp.async.bulk.tensor's mbarrier"));
}

void wgmmaFence() { inSm90aKernel("wgmma.fence").wgmmaFence(); }
void wgmmaCommit() { inSm90aKernel("wgmma.commit_group").wgmmaCommit(); }
void wgmmaWait(unsigned n) { inSm90aKernel("wgmma.wait_group").wgmmaWait(n); }
void wgmma(WgmmaKind kind, unsigned n, float *d, std::uint64_t descA, std::uint64_t descB,
           int scaleD) {
  inSm90aKernel("wgmma.mma_async")
      .wgmmaIssue(WgmmaOp{d, descA, descB, std::uint16_t(n), std::uint8_t(kind), scaleD != 0,
                          false});
}

} // namespace detail
} // namespace kiln::emu

//===----------------------------------------------------------------------===//
// The driver API's tensor maps
//===----------------------------------------------------------------------===//

CUresult cuTensorMapEncodeTiled(CUtensorMap *tensorMap, CUtensorMapDataType type,
                                cuuint32_t rank, void *globalAddress, const cuuint64_t *globalDim,
                                const cuuint64_t *globalStrides, const cuuint32_t *boxDim,
                                const cuuint32_t *elementStrides, CUtensorMapInterleave interleave,
                                CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2Promotion,
                                CUtensorMapFloatOOBfill oobFill) {
  using kiln::emu::diagnostic;
  auto invalid = [](const std::string &why) {
    if (std::getenv("KILN_EMU_VERBOSE"))
      diagnostic("error", "cuTensorMapEncodeTiled: " + why);
    return CUDA_ERROR_INVALID_VALUE;
  };
  unsigned es = 0;
  switch (type) {
  case CU_TENSOR_MAP_DATA_TYPE_UINT8:
    es = 1;
    break;
  case CU_TENSOR_MAP_DATA_TYPE_UINT16:
  case CU_TENSOR_MAP_DATA_TYPE_FLOAT16:
  case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16:
    es = 2;
    break;
  case CU_TENSOR_MAP_DATA_TYPE_UINT32:
  case CU_TENSOR_MAP_DATA_TYPE_INT32:
  case CU_TENSOR_MAP_DATA_TYPE_FLOAT32:
  case CU_TENSOR_MAP_DATA_TYPE_FLOAT32_FTZ:
  case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32:
  case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32_FTZ:
    es = 4;
    break;
  default:
    es = 8;
  }
  if (!tensorMap || reinterpret_cast<std::uintptr_t>(tensorMap) % 64)
    return invalid("the tensor map is not 64-byte aligned");
  if (rank < 1 || rank > 5)
    return invalid("rank " + std::to_string(rank) + " (1 to 5)");
  if (reinterpret_cast<std::uintptr_t>(globalAddress) % 16)
    return invalid("the global address is not 16-byte aligned");
  if (interleave != CU_TENSOR_MAP_INTERLEAVE_NONE)
    return invalid("interleaved layouts are not emulated");
  if (l2Promotion < CU_TENSOR_MAP_L2_PROMOTION_NONE ||
      l2Promotion > CU_TENSOR_MAP_L2_PROMOTION_L2_256B)
    return invalid("unknown L2 promotion");
  if (oobFill == CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA &&
      (type == CU_TENSOR_MAP_DATA_TYPE_UINT8 || type == CU_TENSOR_MAP_DATA_TYPE_UINT16 ||
       type == CU_TENSOR_MAP_DATA_TYPE_UINT32 || type == CU_TENSOR_MAP_DATA_TYPE_INT32 ||
       type == CU_TENSOR_MAP_DATA_TYPE_UINT64 || type == CU_TENSOR_MAP_DATA_TYPE_INT64))
    return invalid("NaN fill of an integer type");
  kiln::emu::detail::TensorMapData m{};
  m.magic = kiln::emu::detail::kTensorMapMagic;
  m.rank = rank;
  m.elementBytes = es;
  m.nanFill = oobFill == CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA;
  m.globalAddress = reinterpret_cast<std::uint64_t>(globalAddress);
  static constexpr unsigned kSpan[] = {0, 32, 64, 128};
  if (swizzle < CU_TENSOR_MAP_SWIZZLE_NONE || swizzle > CU_TENSOR_MAP_SWIZZLE_128B)
    return invalid("only the 32B, 64B and 128B swizzles (and none) are emulated");
  m.swizzleBytes = kSpan[swizzle];
  for (unsigned d = 0; d < rank; ++d) {
    if (globalDim[d] == 0 || globalDim[d] > (std::uint64_t(1) << 32))
      return invalid("globalDim[" + std::to_string(d) + "] must be 1 to 2^32");
    if (boxDim[d] == 0 || boxDim[d] > 256)
      return invalid("boxDim[" + std::to_string(d) + "] must be 1 to 256");
    if (elementStrides[d] == 0 || elementStrides[d] > 8)
      return invalid("elementStrides[" + std::to_string(d) + "] must be 1 to 8");
    m.dims[d] = globalDim[d];
    m.box[d] = boxDim[d];
    m.elementStrides[d] = d == 0 ? 1 : elementStrides[d]; // dimension 0's is ignored
    if (d == 0) {
      m.strides[d] = es;
    } else {
      const cuuint64_t stride = globalStrides[d - 1];
      if (stride % 16 || stride >= (std::uint64_t(1) << 40))
        return invalid("globalStrides[" + std::to_string(d - 1) +
                       "] must be a multiple of 16 below 2^40");
      m.strides[d] = stride;
    }
  }
  if ((std::uint64_t(boxDim[0]) * es) % 16)
    return invalid("boxDim[0] * element size must be a multiple of 16 bytes");
  if (m.swizzleBytes && std::uint64_t(boxDim[0]) * es > m.swizzleBytes)
    return invalid("the box's inner dimension exceeds the swizzle span");
  static_assert(sizeof m <= sizeof(CUtensorMap));
  std::memset(tensorMap, 0, sizeof(CUtensorMap));
  std::memcpy(tensorMap, &m, sizeof m);
  return CUDA_SUCCESS;
}

cudaError_t cudaGetDriverEntryPointByVersion(const char *symbol, void **funcPtr,
                                             unsigned int cudaVersion, unsigned long long flags,
                                             cudaDriverEntryPointQueryResult *status) {
  (void)cudaVersion;
  (void)flags;
  if (!symbol || !funcPtr)
    return cudaErrorInvalidValue;
  if (std::strcmp(symbol, "cuTensorMapEncodeTiled") == 0) {
    *funcPtr = reinterpret_cast<void *>(&cuTensorMapEncodeTiled);
    if (status)
      *status = cudaDriverEntryPointSuccess;
    return cudaSuccess;
  }
  *funcPtr = nullptr;
  if (status)
    *status = cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}
