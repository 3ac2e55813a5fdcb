//===- cuda_emu/Internal.h - the emulator's block scheduler ------*- C++ -*-===//
//
// This file declares the pieces of libkiln_cuda_emu that the .cpp files
// share: the per-worker block Runner (fibers, barriers, warp collectives,
// cp.async queues), the launch job that distributes blocks over workers,
// and the error channel back to the host API.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_INTERNAL_H
#define KILN_CUDA_EMU_INTERNAL_H

#include "kiln/cuda/emu/emulator.h"

#include <boost/context/fiber.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::emu {

using detail::LaunchSpec;

/// Limits of the emulated device (those of every part from sm_80; the
/// shared memory a block may opt into depends on the compute capability:
/// Settings::smemOptin, at most kMaxDynamicSmemOptin).
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxWarps = kMaxThreadsPerBlock / 32;
constexpr size_t kDefaultDynamicSmem = 48 * 1024;
constexpr size_t kMaxDynamicSmemOptin = 232448; // 227 KiB (sm_90, sm_100)
constexpr size_t kDynamicSmemAlign = 128;

/// Process-wide settings read once from the environment.
struct Settings {
  unsigned threads;      // KILN_EMU_THREADS: OS threads that run blocks
  size_t stackBytes;     // KILN_EMU_STACK_KB: stack of each CUDA thread
  int poisonByte;        // KILN_EMU_POISON: byte written into fresh memory, -1 = off
  bool abortOnError;     // KILN_EMU_ABORT: abort() on a kernel failure
  bool strict;           // KILN_EMU_STRICT: unwaited cp.async is an error
  bool stats;            // KILN_EMU_STATS: print operation counts at exit
  int devices;           // KILN_EMU_DEVICES: 1 (default) to 16, or 0 to emulate a machine
                         // without GPU
  size_t totalMem;       // KILN_EMU_MEMORY_MB: device memory (default 80 GiB)
  int cc;                // KILN_EMU_CC: compute capability, major * 10 + minor (default 90)
  size_t smemOptin;      //   its largest dynamic shared memory a block may opt into
  int sms;               //   and its SMs (those of an A100, H100, ...)
};
const Settings &settings();

/// Operation counts (KILN_EMU_STATS=1 prints them at exit).
enum class Stat : unsigned {
  Launches, Blocks, Threads, Barriers, Shfl, Gather, SyncWarp, Mma, Ldmatrix, CpAsync,
  CpAsyncWaits, Wgmma, Tma, MbarrierWaits, Count
};
void countStat(Stat s, std::uint64_t n = 1);

//===----------------------------------------------------------------------===//
// Runner
//===----------------------------------------------------------------------===//

enum class ThreadState : std::uint8_t { Ready, Barrier, Collective, Mbarrier, Exited };

/// One wgmma.mma_async of a thread, performed at wgmma.wait_group.
struct WgmmaOp {
  float *d;              // the thread's accumulators (its fiber stack)
  std::uint64_t descA, descB;
  std::uint16_t n;
  std::uint8_t kind;     // detail::WgmmaKind
  bool scaleD;
  bool unfenced;         // no wgmma.fence since the thread's last wait
};

/// An mbarrier object's state, kept beside shared memory (keyed by its
/// shared-window address).
struct Mbarrier {
  unsigned expected = 0; // arrivals per phase (init count)
  unsigned pending = 0;  // arrivals still missing in the current phase
  std::int64_t tx = 0;   // transaction bytes still expected in the phase
  unsigned phase = 0;    // completed phases
};

/// A cp.async.bulk.tensor load, performed when a thread waits on its barrier.
struct TmaCopy {
  std::uint32_t dst;     // shared-window address
  std::uint32_t bar;
  std::uint32_t bytes;
  int coords[5];
  detail::TensorMapData map;
};

/// One cp.async copy, performed when a wait requires it.
struct CpCopy {
  void *dst;
  const void *src;
  std::uint8_t cpSize;
  std::uint8_t srcSize;
};

enum class WarpOp : std::uint8_t { Shfl, Gather, SyncWarp, Mma, Ldmatrix };

struct Collective;
using CollectiveExec = void (*)(Collective &c);

/// A warp collective waiting for its lanes. Each arrived lane left a
/// pointer to its operands/results (on its own fiber stack, which stays
/// valid while it is blocked).
struct Collective {
  bool used = false;
  WarpOp op;
  std::uint8_t sub;       // shuffle mode, mma kind, ldmatrix num | trans << 4
  std::uint32_t mask;     // member mask as given
  std::uint32_t arrived;  // lanes that executed it
  CollectiveExec exec;
  void *args[32];
};

struct Warp {
  static constexpr int kSlots = 8;
  std::uint32_t exists; // lanes that are threads of the block
  std::uint32_t exited;
  Collective pending[kSlots];
};

/// The state of one CUDA thread. Its fiber persists across blocks: after
/// the kernel body returns the fiber parks until the next block reuses it.
struct Thread {
  boost::context::fiber fiber;
  uint3 tid{};
  unsigned linear = 0;
  ThreadState state = ThreadState::Ready;
  Collective *waitingOn = nullptr;
  std::vector<CpCopy> copies;       // issued, not yet performed (issue order)
  std::vector<std::uint32_t> groups; // sizes of committed pending groups, oldest first
  std::uint32_t committed = 0;      // copies[0, committed) are in groups
  // Hopper
  std::vector<WgmmaOp> wgmmaOpen;                 // issued, not yet committed
  std::vector<std::vector<WgmmaOp>> wgmmaGroups;  // committed, oldest first
  bool wgmmaFenced = false;
  std::uint32_t mbarrier = 0;                     // the barrier it waits at
  unsigned parity = 0;                            // ... for this phase parity
};

/// A fiber stack: mmap'd with a guard page below it.
struct Stack {
  void *base = nullptr; // mapping start (guard page)
  size_t mapped = 0;
  void *top = nullptr;
  size_t usable = 0;
};

/// Per-block outcome reported to the launch.
struct BlockReport {
  std::string error;             // empty when the block completed
  std::uint64_t unwaitedCopies = 0;
};

/// Runs blocks on the calling OS thread, one at a time.
class Runner {
public:
  /// The calling OS thread's runner (created on first use, never freed).
  static Runner &get();
  /// The runner of the calling CUDA thread, for device built-in |what|;
  /// called from host code, a fatal error (like a device-side trap).
  static Runner &inKernel(const char *what);

  /// Runs block |linear| of |spec| to completion or failure.
  void runBlock(const LaunchSpec &spec, std::uint64_t linear, BlockReport &report);

  // Called from CUDA threads (fibers) of the running block.
  int barrier(int pred, detail::BarrierReduce op);
  void collective(WarpOp op, std::uint8_t sub, unsigned mask, void *args, CollectiveExec exec);
  unsigned laneId() const { return threads_[cur_].linear & 31u; }
  unsigned activemask() const;
  void cpAsync(void *dst, const void *src, unsigned cpSize, unsigned srcSize);
  void cpAsyncCommit();
  void cpAsyncWait(unsigned n);
  void *dynamicSmem() const { return smem_; }
  // Hopper (Hopper.cpp).
  std::uint32_t sharedAddress(const void *p, std::size_t bytes, const char *what);
  void mbarrierInit(std::uint32_t bar, unsigned count);
  void mbarrierArrive(std::uint32_t bar, std::uint32_t txBytes);
  void mbarrierWait(std::uint32_t bar, unsigned parity);
  void tmaLoad(std::uint32_t dst, const detail::TensorMapData &map, const int *coords,
               std::uint32_t bar);
  void wgmmaFence();
  void wgmmaIssue(const WgmmaOp &op);
  void wgmmaCommit();
  void wgmmaWait(unsigned n);
  /// Aborts the block with |message| (prefixed with the current thread).
  [[noreturn]] void fail(const std::string &message);
  /// "thread (x,y,z) [lane l of warp w]" for the current thread.
  std::string describeCurrent() const;
  bool inKernel() const { return cur_ >= 0; }
  /// The name of the kernel that runs (for diagnostics).
  const char *kernelName() const { return spec_ ? spec_->name : "?"; }

private:
  Runner();
  static constexpr int kSched = -1;

  boost::context::fiber &slot(int i) { return i == kSched ? sched_ : threads_[i].fiber; }
  boost::context::fiber makeFiber(unsigned i);
  boost::context::fiber threadMain(unsigned i, boost::context::fiber &&caller);
  void setBuiltins(int i);
  void switchTo(int next);
  int nextReady(int after) const;
  void setReady(unsigned i) { ready_[i >> 6] |= std::uint64_t(1) << (i & 63); }
  void clearReady(unsigned i) { ready_[i >> 6] &= ~(std::uint64_t(1) << (i & 63)); }
  /// Blocks the current thread (state already set) and runs another one.
  void block();
  void threadExited(unsigned i);
  void complete(Warp &w, Collective &c, unsigned warpIndex);
  void checkCollectives(unsigned warpIndex);
  void performCopies(Thread &t, std::uint32_t count);
  Mbarrier &mbarrierAt(std::uint32_t bar, const char *what);
  void completeTx(std::uint32_t bar, Mbarrier &b, std::uint32_t bytes);
  void maybeCompletePhase(std::uint32_t bar, Mbarrier &b);
  void performTma(const TmaCopy &c, bool poisonOnly);
  /// Performs the queued loads of |bar| (completing their transactions).
  void landTma(std::uint32_t bar, Mbarrier &b);
  void performWgmma(const WgmmaOp &op);
  /// Hopper state of a new block; what an exiting thread left.
  void resetHopper();
  void hopperThreadExited(Thread &t);
  std::string describeMbarrierWaits() const;
  std::string describeThread(unsigned i) const;
  std::string describeDeadlock() const;
  void abortFibers();
  Stack &stack(unsigned i);

  // Block state.
  const LaunchSpec *spec_ = nullptr;
  unsigned n_ = 0;
  unsigned exitedCount_ = 0;
  unsigned arrived_ = 0;
  int barCount_ = 0;
  bool barAnd_ = true, barOr_ = false;
  int barResult_[3] = {0, 0, 0};
  std::uint64_t ready_[kMaxThreadsPerBlock / 64] = {};
  int cur_ = kSched;
  int prev_ = kSched;
  bool failed_ = false;
  std::string error_;
  std::uint64_t unwaited_ = 0;

  std::vector<Thread> threads_;
  std::vector<Stack> stacks_;
  Warp warps_[kMaxWarps];
  boost::context::fiber sched_;
  char *smem_ = nullptr;
  std::uint64_t blockLinear_ = 0;
  // Hopper: mbarriers by shared-window address, queued tensor loads.
  std::deque<std::pair<std::uint32_t, Mbarrier>> mbarriers_; // stable references
  std::vector<TmaCopy> tma_;
};

/// Thrown inside a CUDA thread's fiber to abandon the block after fail().
struct BlockAbort {};

/// Names of warp operations for diagnostics ("__shfl_sync", "mma.sync", ...).
const char *warpOpName(WarpOp op, std::uint8_t sub);

//===----------------------------------------------------------------------===//
// Launch, errors
//===----------------------------------------------------------------------===//

/// Runs every block of |spec| on the worker pool (the caller takes part) and
/// reports failures. Returns cudaErrorLaunchFailure if a block failed.
cudaError_t executeLaunch(const LaunchSpec &spec);

/// Validates |spec|'s configuration like cudaLaunchKernel; on failure prints
/// nothing and returns the CUDA error.
cudaError_t validateLaunch(const LaunchSpec &spec);

/// Records |e| as the calling thread's last error (if not success); returns e.
cudaError_t setLastError(cudaError_t e);
/// Records a failed kernel: cudaGetLastError and the next synchronizing
/// call return cudaErrorLaunchFailure.
void noteLaunchFailure();
/// The pending launch failure, cleared; cudaSuccess if none.
cudaError_t takePendingFailure();

/// Prints "kiln-emu: <kind>: <message>" to stderr (one write, no interleaving).
void diagnostic(const char *kind, const std::string &message);

/// Stream capture: returns true (and records) when |stream| is capturing.
struct GraphNode;
bool captureLaunch(const LaunchSpec &spec);

} // namespace kiln::emu

#endif // KILN_CUDA_EMU_INTERNAL_H
