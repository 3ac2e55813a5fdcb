//===- cuda_emu/CpAsync.cpp - cp.async with deferred completion -----------===//
//
// cp.async copies are queued per CUDA thread and performed only when the
// thread waits for them (cp.async.wait_group N / wait_all), group by group,
// oldest first. So a kernel that reads shared memory before waiting reads
// whatever was there (the 0xff poison of a fresh block, or the previous
// pipeline stage), the way a GPU may when the copy is still in flight. Both
// the read of global memory and the write of shared memory happen at the
// wait; a GPU may do either at any time between the issue and the wait.
//
// Copies never waited for are dropped when the thread exits (counted; an
// error with KILN_EMU_STRICT=1).
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cstdio>
#include <cstring>

namespace kiln::emu {

void Runner::cpAsync(void *dst, const void *src, unsigned cpSize, unsigned srcSize) {
  if (cpSize != 4 && cpSize != 8 && cpSize != 16)
    fail("cp.async with a copy size of " + std::to_string(cpSize) + " bytes (4, 8 or 16)");
  if (srcSize > cpSize)
    fail("cp.async with src-size " + std::to_string(srcSize) + " > cp-size " +
         std::to_string(cpSize));
  const auto d = reinterpret_cast<std::uintptr_t>(dst);
  const auto s = reinterpret_cast<std::uintptr_t>(src);
  if (d % cpSize || (srcSize && s % cpSize)) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "cp.async of %u bytes with a misaligned address (shared %p, global %p)",
                  cpSize, dst, src);
    fail(buf);
  }
  countStat(Stat::CpAsync);
  threads_[unsigned(cur_)].copies.push_back(
      CpCopy{dst, src, std::uint8_t(cpSize), std::uint8_t(srcSize)});
}

void Runner::cpAsyncCommit() {
  Thread &t = threads_[unsigned(cur_)];
  // An empty group is legal (and common at the end of a pipeline).
  t.groups.push_back(std::uint32_t(t.copies.size()) - t.committed);
  t.committed = std::uint32_t(t.copies.size());
}

void Runner::performCopies(Thread &t, std::uint32_t count) {
  for (std::uint32_t i = 0; i < count; ++i) {
    const CpCopy &c = t.copies[i];
    if (c.srcSize)
      std::memcpy(c.dst, c.src, c.srcSize);
    if (c.srcSize < c.cpSize)
      std::memset(static_cast<char *>(c.dst) + c.srcSize, 0, c.cpSize - c.srcSize);
  }
  t.copies.erase(t.copies.begin(), t.copies.begin() + count);
  t.committed -= count;
}

void Runner::cpAsyncWait(unsigned n) {
  countStat(Stat::CpAsyncWaits);
  Thread &t = threads_[unsigned(cur_)];
  if (t.groups.size() <= n)
    return;
  const size_t complete = t.groups.size() - n;
  std::uint32_t count = 0;
  for (size_t g = 0; g < complete; ++g)
    count += t.groups[g];
  t.groups.erase(t.groups.begin(), t.groups.begin() + std::ptrdiff_t(complete));
  performCopies(t, count);
}

namespace detail {


void cpAsync(void *dst, const void *src, unsigned cpSize, unsigned srcSize) {
  Runner::inKernel("cp.async").cpAsync(dst, src, cpSize, srcSize);
}
void cpAsyncCommit() { Runner::inKernel("cp.async.commit_group").cpAsyncCommit(); }
void cpAsyncWait(unsigned n) { Runner::inKernel("cp.async.wait_group").cpAsyncWait(n); }
void cpAsyncWaitAll() {
  Runner &r = Runner::inKernel("cp.async.wait_all");
  r.cpAsyncCommit();
  r.cpAsyncWait(0);
}

} // namespace detail
} // namespace kiln::emu
