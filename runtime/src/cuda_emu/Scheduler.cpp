//===- cuda_emu/Scheduler.cpp - blocks, fibers and barriers ---------------===//
//
// This file runs the blocks of a launch. Each block runs on one OS thread (a
// worker of a small persistent pool, or the launching thread itself) and
// every CUDA thread of the block is a fiber (Boost.Context) on its own
// mmap'd stack with a guard page.
//
// Scheduling is deterministic: thread 0 runs until it blocks (at a barrier
// or a warp collective) or exits, then the next ready thread in linear
// order, round-robin. A thread blocked at __syncthreads becomes ready when
// the last thread of the block arrives; a warp collective completes when its
// last required lane arrives, and the arriving lane computes every lane's
// result (Warp.cpp). When no thread is ready and some have not exited, the
// block is deadlocked: the scheduler says who waits where and abandons the
// block (the fibers are unwound). A barrier reached after a thread exited
// (or a thread exiting while others wait at a barrier) is an error too: on a
// GPU it hangs or silently skips the barrier, depending on the part.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

// The built-in variables (lang.h).
thread_local constinit uint3 threadIdx{};
thread_local constinit uint3 blockIdx{};
thread_local constinit dim3 blockDim{1, 1, 1};
thread_local constinit dim3 gridDim{1, 1, 1};

namespace kiln::emu {

namespace detail {
thread_local constinit std::uint64_t blockEpoch = 0;
} // namespace detail

namespace ctx = boost::context;

//===----------------------------------------------------------------------===//
// Settings and diagnostics
//===----------------------------------------------------------------------===//

static std::atomic<std::uint64_t> stats[unsigned(Stat::Count)];

void countStat(Stat s, std::uint64_t n) {
  if (settings().stats)
    stats[unsigned(s)].fetch_add(n, std::memory_order_relaxed);
}

static void printStats() {
  static const char *names[] = {"launches", "blocks",    "threads",  "barriers",
                                "shuffles", "votes",     "syncwarps", "mma.sync (per lane)",
                                "ldmatrix (per lane)", "cp.async", "cp.async waits",
                                "wgmma (per thread)", "tma loads", "mbarrier waits"};
  static_assert(sizeof names / sizeof *names == unsigned(Stat::Count));
  std::string s = "operation counts:";
  for (unsigned i = 0; i < unsigned(Stat::Count); ++i)
    s += std::string(" ") + names[i] + " " + std::to_string(stats[i].load());
  diagnostic("stats", s);
}

static long envLong(const char *name, long fallback) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return fallback;
  char *end = nullptr;
  long r = std::strtol(v, &end, 0);
  return end && *end == 0 ? r : fallback;
}

/// The parts KILN_EMU_CC may name: compute capability, the dynamic shared
/// memory a block may opt into, SMs (V100, T4, A100, A10, Orin, L4, H100,
/// B200, B300, RTX 5090, GB10).
struct Part {
  int cc;
  size_t smemOptin;
  int sms;
};
constexpr Part kParts[] = {{70, 98304, 80},   {75, 65536, 40},   {80, 166912, 108},
                           {86, 101376, 72},  {87, 166912, 16},  {89, 101376, 58},
                           {90, 232448, 132}, {100, 232448, 148}, {103, 232448, 148},
                           {120, 101376, 170}, {121, 101376, 48}};

/// KILN_EMU_CC: "9.0" or "90"; exits with a message on anything else.
static const Part &emulatedPart() {
  const char *v = std::getenv("KILN_EMU_CC");
  std::string text = v ? v : "";
  int cc = 90;
  if (!text.empty()) {
    std::string digits = text;
    if (size_t dot = digits.find('.'); dot != std::string::npos && dot + 2 == digits.size())
      digits.erase(dot, 1);
    char *end = nullptr;
    long n = std::strtol(digits.c_str(), &end, 10);
    cc = end && *end == 0 && !digits.empty() && digits[0] != '-' ? int(n) : -1;
  }
  for (const Part &p : kParts)
    if (p.cc == cc)
      return p;
  std::string known;
  for (const Part &p : kParts)
    known += (known.empty() ? "" : ", ") + std::to_string(p.cc / 10) + "." +
             std::to_string(p.cc % 10);
  diagnostic("error", "KILN_EMU_CC='" + text + "': expected a compute capability: " + known);
  std::exit(2);
}

const Settings &settings() {
  static const Settings s = [] {
    Settings r;
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    long threads = envLong("KILN_EMU_THREADS", 0);
    r.threads = threads > 0 ? unsigned(std::min<long>(threads, 256)) : std::min(hw, 2u);
    long kb = envLong("KILN_EMU_STACK_KB", 128);
    r.stackBytes = size_t(std::clamp<long>(kb, 16, 64 * 1024)) * 1024;
    long poison = envLong("KILN_EMU_POISON", 0xff);
    r.poisonByte = poison < 0 ? -1 : int(poison & 0xff);
    r.abortOnError = envLong("KILN_EMU_ABORT", 0) != 0;
    r.strict = envLong("KILN_EMU_STRICT", 0) != 0;
    r.stats = envLong("KILN_EMU_STATS", 0) != 0;
    r.devices = int(std::clamp<long>(envLong("KILN_EMU_DEVICES", 1), 0, 16));
    long mb = envLong("KILN_EMU_MEMORY_MB", 80 * 1024);
    r.totalMem = size_t(std::max(mb, 1L)) << 20;
    const Part &part = emulatedPart();
    r.cc = part.cc;
    r.smemOptin = part.smemOptin;
    r.sms = part.sms;
    if (r.stats)
      std::atexit(printStats);
    return r;
  }();
  return s;
}

void diagnostic(const char *kind, const std::string &message) {
  std::string line = "kiln-emu: ";
  line += kind;
  line += ": ";
  line += message;
  if (line.empty() || line.back() != '\n')
    line += '\n';
  std::fflush(stdout);
  (void)!::write(2, line.data(), line.size());
}

const char *warpOpName(WarpOp op, std::uint8_t sub) {
  switch (op) {
  case WarpOp::Shfl: {
    static const char *names[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync",
                                  "__shfl_xor_sync"};
    return names[sub & 3];
  }
  case WarpOp::Gather:
    return "a warp vote/match/reduce (__ballot_sync, __all_sync, ...)";
  case WarpOp::SyncWarp:
    return "__syncwarp";
  case WarpOp::Mma:
    return "mma.sync";
  case WarpOp::Ldmatrix:
    return "ldmatrix";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Runner: stacks and fibers
//===----------------------------------------------------------------------===//

namespace {
/// A stack allocator that hands out one preallocated stack and frees nothing.
struct FixedStack {
  ctx::stack_context sc;
  ctx::stack_context allocate() { return sc; }
  void deallocate(ctx::stack_context &) noexcept {}
};

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

/// "0-3,7,9-31" for the set bits of |lanes|.
std::string laneList(std::uint32_t lanes) {
  std::string s;
  for (int l = 0; l < 32;) {
    if (!(lanes >> l & 1)) {
      ++l;
      continue;
    }
    int e = l;
    while (e + 1 < 32 && (lanes >> (e + 1) & 1))
      ++e;
    if (!s.empty())
      s += ",";
    s += std::to_string(l);
    if (e > l)
      s += "-" + std::to_string(e);
    l = e + 1;
  }
  return s.empty() ? "none" : s;
}
} // namespace

Runner &Runner::get() {
  static thread_local Runner *runner = new Runner();
  return *runner;
}

Runner &Runner::inKernel(const char *what) {
  Runner &r = get();
  if (!r.inKernel()) {
    diagnostic("fatal", std::string(what) + " called outside a kernel");
    std::abort();
  }
  return r;
}

Runner::Runner() {
  threads_.reserve(kMaxThreadsPerBlock);
  void *p = std::aligned_alloc(kDynamicSmemAlign, kMaxDynamicSmemOptin + kDynamicSmemAlign);
  smem_ = static_cast<char *>(p);
}

Stack &Runner::stack(unsigned i) {
  if (stacks_.size() <= i)
    stacks_.resize(i + 1);
  Stack &s = stacks_[i];
  if (!s.base) {
    const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    const size_t usable = (settings().stackBytes + page - 1) / page * page;
    void *p = ::mmap(nullptr, usable + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      diagnostic("fatal", "cannot map a fiber stack of " + std::to_string(usable) + " bytes");
      std::abort();
    }
    ::mprotect(p, page, PROT_NONE); // guard page below the stack
    s.base = p;
    s.mapped = usable + page;
    s.usable = usable;
    s.top = static_cast<char *>(p) + usable + page;
  }
  return s;
}

ctx::fiber Runner::makeFiber(unsigned i) {
  Stack &s = stack(i);
  ctx::stack_context sc;
  sc.size = s.usable;
  sc.sp = s.top;
  return ctx::fiber(std::allocator_arg, FixedStack{sc},
                    [this, i](ctx::fiber &&caller) { return threadMain(i, std::move(caller)); });
}

void Runner::setBuiltins(int i) {
  if (i >= 0)
    threadIdx = threads_[unsigned(i)].tid;
}

void Runner::switchTo(int next) {
  prev_ = cur_;
  cur_ = next;
  setBuiltins(next);
  ctx::fiber f = std::move(slot(next)).resume();
  // Someone switched back to us; |f| is where they stopped.
  slot(prev_) = std::move(f);
}

ctx::fiber Runner::threadMain(unsigned i, ctx::fiber &&caller) {
  slot(prev_) = std::move(caller);
  try {
    spec_->invoke(spec_->closure);
    threadExited(i);
  } catch (BlockAbort &) {
  }
  int next = failed_ ? kSched : nextReady(int(i));
  if (next < 0)
    next = kSched;
  prev_ = int(i);
  cur_ = next;
  setBuiltins(next);
  return std::move(slot(next));
}

int Runner::nextReady(int after) const {
  const unsigned words = (n_ + 63) / 64;
  auto from = [&](unsigned start) -> int {
    for (unsigned w = start / 64; w < words; ++w) {
      std::uint64_t bits = ready_[w];
      if (w == start / 64)
        bits &= ~std::uint64_t(0) << (start % 64);
      if (bits)
        return int(w * 64 + unsigned(std::countr_zero(bits)));
    }
    return -1;
  };
  int r = from(unsigned(after + 1));
  if (r < 0 && after >= 0)
    r = from(0);
  return r;
}

void Runner::block() {
  int next = nextReady(cur_);
  switchTo(next < 0 ? kSched : next);
}

//===----------------------------------------------------------------------===//
// Runner: blocks
//===----------------------------------------------------------------------===//

void Runner::runBlock(const LaunchSpec &spec, std::uint64_t linear, BlockReport &report) {
  spec_ = &spec;
  blockLinear_ = linear;
  n_ = spec.block.x * spec.block.y * spec.block.z;
  exitedCount_ = 0;
  arrived_ = 0;
  barCount_ = 0;
  barAnd_ = true;
  barOr_ = false;
  failed_ = false;
  error_.clear();
  unwaited_ = 0;
  std::memset(ready_, 0, sizeof ready_);
  if (threads_.size() < n_)
    threads_.resize(n_);
  for (unsigned i = 0; i < n_; ++i) {
    Thread &t = threads_[i];
    t.tid = uint3{i % spec.block.x, (i / spec.block.x) % spec.block.y,
                  i / (spec.block.x * spec.block.y)};
    t.linear = i;
    t.state = ThreadState::Ready;
    t.waitingOn = nullptr;
    t.copies.clear();
    t.groups.clear();
    t.committed = 0;
    t.wgmmaOpen.clear();
    t.wgmmaGroups.clear();
    t.wgmmaFenced = false;
    t.mbarrier = 0;
    t.fiber = makeFiber(i);
    setReady(i);
  }
  const unsigned nWarps = (n_ + 31) / 32;
  for (unsigned w = 0; w < nWarps; ++w) {
    const unsigned lanes = std::min(32u, n_ - w * 32);
    warps_[w].exists = lanes == 32 ? ~0u : (1u << lanes) - 1;
    warps_[w].exited = 0;
    for (Collective &c : warps_[w].pending)
      c.used = false;
  }

  countStat(Stat::Blocks);
  countStat(Stat::Threads, n_);
  blockIdx = uint3{unsigned(linear % spec.grid.x), unsigned(linear / spec.grid.x % spec.grid.y),
                   unsigned(linear / (std::uint64_t(spec.grid.x) * spec.grid.y))};
  blockDim = spec.block;
  gridDim = spec.grid;
  ++detail::blockEpoch;
  resetHopper();
  if (spec.smem && settings().poisonByte >= 0)
    std::memset(smem_, settings().poisonByte, spec.smem);

  cur_ = kSched;
  switchTo(0);
  // Back in the scheduler: every thread exited, or the block failed, or
  // nothing can run.
  cur_ = kSched;
  if (!failed_ && exitedCount_ != n_) {
    failed_ = true;
    error_ = describeDeadlock();
  }
  if (!failed_ && !tma_.empty()) {
    // Tensor loads no thread waited for: their data never landed.
    unwaited_ += tma_.size();
    if (settings().strict) {
      failed_ = true;
      error_ = std::to_string(tma_.size()) +
               " cp.async.bulk.tensor loads were never waited for (no thread waited on their "
               "mbarrier) before the block ended (KILN_EMU_STRICT)";
    }
  }
  if (failed_)
    abortFibers();
  report.error = error_;
  report.unwaitedCopies = unwaited_;
  spec_ = nullptr;
}

void Runner::abortFibers() {
  // Destroying a suspended fiber unwinds its stack (forced_unwind).
  for (unsigned i = 0; i < n_; ++i) {
    cur_ = int(i);
    threads_[i].fiber = ctx::fiber();
  }
  cur_ = kSched;
}

void Runner::threadExited(unsigned i) {
  Thread &t = threads_[i];
  if (!t.copies.empty()) {
    unwaited_ += t.copies.size();
    if (settings().strict)
      fail(std::to_string(t.copies.size()) +
           " cp.async copies were never waited for (cp.async.wait_group / wait_all) before the "
           "thread exited (KILN_EMU_STRICT)");
    t.copies.clear();
    t.groups.clear();
    t.committed = 0;
  }
  hopperThreadExited(t);
  t.state = ThreadState::Exited;
  clearReady(i);
  ++exitedCount_;
  if (arrived_ > 0)
    fail("exited while " + std::to_string(arrived_) +
         " thread(s) of the block wait at __syncthreads(): every thread must reach every "
         "barrier (a barrier inside a branch or after an early return)");
  Warp &w = warps_[i >> 5];
  w.exited |= 1u << (i & 31);
  checkCollectives(i >> 5);
}

int Runner::barrier(int pred, detail::BarrierReduce op) {
  if (exitedCount_ > 0) {
    unsigned first = 0;
    while (first < n_ && threads_[first].state != ThreadState::Exited)
      ++first;
    fail("reached __syncthreads() after " + std::to_string(exitedCount_) +
         " thread(s) of the block exited (first: " + describeThread(first) +
         "): every thread must reach every barrier");
  }
  countStat(Stat::Barriers);
  barCount_ += pred != 0;
  barAnd_ = barAnd_ && pred != 0;
  barOr_ = barOr_ || pred != 0;
  ++arrived_;
  auto result = [&] {
    switch (op) {
    case detail::BarrierReduce::Count:
      return barResult_[0];
    case detail::BarrierReduce::And:
      return barResult_[1];
    case detail::BarrierReduce::Or:
      return barResult_[2];
    }
    return 0;
  };
  if (arrived_ == n_) {
    barResult_[0] = barCount_;
    barResult_[1] = barAnd_;
    barResult_[2] = barOr_;
    arrived_ = 0;
    barCount_ = 0;
    barAnd_ = true;
    barOr_ = false;
    for (unsigned i = 0; i < n_; ++i)
      if (threads_[i].state == ThreadState::Barrier) {
        threads_[i].state = ThreadState::Ready;
        setReady(i);
      }
    return result();
  }
  const unsigned me = unsigned(cur_);
  threads_[me].state = ThreadState::Barrier;
  clearReady(me);
  block();
  return result();
}

[[noreturn]] void Runner::fail(const std::string &message) {
  if (!failed_) {
    failed_ = true;
    error_ = (cur_ >= 0 ? describeCurrent() + ": " : std::string()) + message;
  }
  throw BlockAbort{};
}

std::string Runner::describeThread(unsigned i) const {
  const Thread &t = threads_[i];
  char buf[96];
  std::snprintf(buf, sizeof buf, "thread (%u,%u,%u) [lane %u of warp %u]", t.tid.x, t.tid.y,
                t.tid.z, i & 31, i >> 5);
  return buf;
}

std::string Runner::describeCurrent() const {
  return cur_ >= 0 ? describeThread(unsigned(cur_)) : std::string("the scheduler");
}

std::string Runner::describeDeadlock() const {
  std::string s = "deadlock: no thread of the block can run";
  unsigned atBarrier = 0, first = 0;
  for (unsigned i = 0; i < n_; ++i)
    if (threads_[i].state == ThreadState::Barrier && atBarrier++ == 0)
      first = i;
  if (atBarrier)
    s += "\n  " + std::to_string(atBarrier) + " thread(s) wait at __syncthreads() (first: " +
         describeThread(first) + "), " + std::to_string(exitedCount_) + " exited";
  s += describeMbarrierWaits();
  const unsigned nWarps = (n_ + 31) / 32;
  for (unsigned w = 0; w < nWarps; ++w) {
    const Warp &W = warps_[w];
    for (const Collective &c : W.pending) {
      if (!c.used)
        continue;
      const std::uint32_t required = c.mask & W.exists & ~W.exited;
      const std::uint32_t missing = required & ~c.arrived;
      s += "\n  warp " + std::to_string(w) + " lanes " + laneList(c.arrived) + " wait at " +
           warpOpName(c.op, c.sub) + " (mask " + hex(c.mask) + ") for lanes " +
           laneList(missing);
      std::uint32_t atBar = 0, atOther = 0;
      for (unsigned l = 0; l < 32; ++l)
        if (missing >> l & 1) {
          const Thread &t = threads_[w * 32 + l];
          if (t.state == ThreadState::Barrier)
            atBar |= 1u << l;
          else
            atOther |= 1u << l;
        }
      if (atBar)
        s += "; lanes " + laneList(atBar) + " are at __syncthreads()";
      if (atOther)
        s += "; lanes " + laneList(atOther) + " wait at another warp operation";
    }
  }
  return s;
}

//===----------------------------------------------------------------------===//
// Warp collectives: matching and completion
//===----------------------------------------------------------------------===//

void Runner::collective(WarpOp op, std::uint8_t sub, unsigned mask, void *args,
                        CollectiveExec exec) {
  static constexpr Stat kStat[] = {Stat::Shfl, Stat::Gather, Stat::SyncWarp, Stat::Mma,
                                   Stat::Ldmatrix};
  countStat(kStat[unsigned(op)]);
  const unsigned me = unsigned(cur_);
  const unsigned lane = me & 31, wi = me >> 5;
  Warp &w = warps_[wi];
  if (!(mask >> lane & 1))
    fail(std::string(warpOpName(op, sub)) + " with member mask " + hex(mask) +
         " that does not include the calling lane");
  Collective *c = nullptr;
  for (Collective &k : w.pending)
    if (k.used && k.op == op && k.sub == sub && k.mask == mask && !(k.arrived >> lane & 1)) {
      c = &k;
      break;
    }
  if (!c) {
    for (Collective &k : w.pending)
      if (!k.used) {
        c = &k;
        break;
      }
    if (!c)
      fail("too many different warp operations pending in warp " + std::to_string(wi) +
           " (lanes diverged: " + warpOpName(op, sub) + ")");
    c->used = true;
    c->op = op;
    c->sub = sub;
    c->mask = mask;
    c->arrived = 0;
    c->exec = exec;
  }
  c->args[lane] = args;
  c->arrived |= 1u << lane;
  const std::uint32_t required = mask & w.exists & ~w.exited;
  if ((c->arrived & required) == required) {
    complete(w, *c, wi);
    return;
  }
  Thread &t = threads_[me];
  t.state = ThreadState::Collective;
  t.waitingOn = c;
  clearReady(me);
  block();
}

void Runner::complete(Warp &w, Collective &c, unsigned warpIndex) {
  (void)w;
  c.exec(c);
  for (unsigned l = 0; l < 32; ++l) {
    if (!(c.arrived >> l & 1))
      continue;
    Thread &t = threads_[warpIndex * 32 + l];
    if (t.state == ThreadState::Collective && t.waitingOn == &c) {
      t.state = ThreadState::Ready;
      t.waitingOn = nullptr;
      setReady(warpIndex * 32 + l);
    }
  }
  c.used = false;
}

void Runner::checkCollectives(unsigned warpIndex) {
  Warp &w = warps_[warpIndex];
  for (Collective &c : w.pending) {
    if (!c.used)
      continue;
    const std::uint32_t required = c.mask & w.exists & ~w.exited;
    if ((c.arrived & required) == required)
      complete(w, c, warpIndex);
  }
}

unsigned Runner::activemask() const {
  const Warp &w = warps_[unsigned(cur_) >> 5];
  return w.exists & ~w.exited;
}

//===----------------------------------------------------------------------===//
// The launch: blocks over a pool of workers
//===----------------------------------------------------------------------===//

namespace {

struct Job {
  const LaunchSpec *spec = nullptr;
  std::uint64_t total = 0;
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex m;
  std::uint64_t failedBlock = ~std::uint64_t(0);
  std::string error;
  std::uint64_t unwaited = 0;

  void work() {
    Runner &r = Runner::get();
    BlockReport report;
    std::uint64_t unwaitedHere = 0;
    for (;;) {
      if (stop.load(std::memory_order_relaxed))
        break;
      const std::uint64_t b = next.fetch_add(1, std::memory_order_relaxed);
      if (b >= total)
        break;
      r.runBlock(*spec, b, report);
      unwaitedHere += report.unwaitedCopies;
      if (!report.error.empty()) {
        std::lock_guard<std::mutex> lock(m);
        if (b < failedBlock) {
          failedBlock = b;
          error = report.error;
        }
        stop.store(true, std::memory_order_relaxed);
      }
    }
    std::lock_guard<std::mutex> lock(m);
    unwaited += unwaitedHere;
  }
};

/// Persistent workers; the launching thread takes part in every job.
class Pool {
public:
  static Pool &get() {
    static Pool *pool = new Pool(settings().threads > 0 ? settings().threads - 1 : 0);
    return *pool;
  }

  void run(Job &job) {
    if (workers_.empty() || job.total <= 1) {
      job.work();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = &job;
      busy_ = unsigned(workers_.size());
      ++generation_;
    }
    cv_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
  }

private:
  explicit Pool(unsigned n) {
    for (unsigned i = 0; i < n; ++i)
      workers_.emplace_back([this] { loop(); });
    for (std::thread &t : workers_)
      t.detach();
  }

  void loop() {
    std::uint64_t seen = 0;
    for (;;) {
      Job *job;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
      }
      job->work();
      std::lock_guard<std::mutex> lock(m_);
      if (--busy_ == 0)
        done_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_, done_;
  Job *job_ = nullptr;
  unsigned busy_ = 0;
  std::uint64_t generation_ = 0;
};

std::mutex launchMutex;

} // namespace

cudaError_t executeLaunch(const LaunchSpec &spec) {
  std::lock_guard<std::mutex> serial(launchMutex);
  countStat(Stat::Launches);
  Job job;
  job.spec = &spec;
  job.total = std::uint64_t(spec.grid.x) * spec.grid.y * spec.grid.z;
  Pool::get().run(job);
  if (job.unwaited && !settings().strict) {
    // Not an error (the copies land eventually on a GPU), but worth a note
    // when asked for.
    if (std::getenv("KILN_EMU_VERBOSE"))
      diagnostic("warning", "kernel " + std::string(spec.name) + ": " +
                                std::to_string(job.unwaited) +
                                " cp.async copies were never waited for");
  }
  if (job.error.empty())
    return cudaSuccess;
  const std::uint64_t b = job.failedBlock;
  char where[96];
  std::snprintf(where, sizeof where, "block (%u,%u,%u)", unsigned(b % spec.grid.x),
                unsigned(b / spec.grid.x % spec.grid.y),
                unsigned(b / (std::uint64_t(spec.grid.x) * spec.grid.y)));
  diagnostic("error", "kernel " + std::string(spec.name) + " <<<(" +
                          std::to_string(spec.grid.x) + "," + std::to_string(spec.grid.y) +
                          "," + std::to_string(spec.grid.z) + "), (" +
                          std::to_string(spec.block.x) + "," + std::to_string(spec.block.y) +
                          "," + std::to_string(spec.block.z) + ")>>> " + where + ", " +
                          job.error);
  if (settings().abortOnError)
    std::abort();
  noteLaunchFailure();
  return cudaErrorLaunchFailure;
}

cudaError_t validateLaunch(const LaunchSpec &spec);

//===----------------------------------------------------------------------===//
// Entry points of device.h
//===----------------------------------------------------------------------===//

namespace detail {


void syncthreads() { Runner::inKernel("__syncthreads()").barrier(1, BarrierReduce::Count); }
int syncthreadsReduce(int pred, BarrierReduce op) {
  return Runner::inKernel("__syncthreads_{count,and,or}()").barrier(pred, op);
}
unsigned activemask() { return Runner::inKernel("__activemask()").activemask(); }
unsigned laneId() { return Runner::inKernel("%laneid").laneId(); }
void *dynamicSharedMemory() { return Runner::inKernel("dynamic shared memory").dynamicSmem(); }
void poisonShared(void *p, std::size_t n) {
  if (settings().poisonByte >= 0)
    std::memset(p, settings().poisonByte, n);
}
[[noreturn]] void trap(const char *what) {
  Runner &r = Runner::inKernel(what);
  r.fail(std::string(what) + " was called");
}
long long clock64() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace detail

} // namespace kiln::emu
