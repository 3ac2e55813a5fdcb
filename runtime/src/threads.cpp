//===- threads.cpp - the runtime's thread pool ----------------------------===//
//
// This file implements kiln::rt::ThreadPool: persistent workers that share
// the tasks of one parallel_for at a time with the calling thread.
//
// A model runs ~100 kernels per inference, each one parallel_for, so the
// cost of a call matters as much as its scaling. The protocol below costs a
// few atomic operations per call while the workers are awake (they spin for
// a short while after each job) and one futex wake-up otherwise.
//
// Protocol. One word, |state|, holds the job's generation in its high 32
// bits, a "closed" bit, and the number of workers that have entered the job
// in its low bits.
//  1. The caller writes the job (function, context, task count), resets the
//     task counter and publishes a new generation with entered = 0, open.
//  2. A worker that sees a new generation enters it by incrementing
//     |entered| with a compare-and-swap, which fails once the job is closed
//     or replaced; only entered workers ever read the job or take tasks.
//  3. The tasks are split into one contiguous range per thread, each with an
//     atomic counter on its own cache line. A thread takes its own range's
//     tasks in order, then helps with the others' (taking from the same
//     counters), so nobody idles while tasks are left. Taking a task from
//     its own counter costs a thread no cache-line transfer (one counter
//     shared by all moved its line between the cores on every task: ~0.1 us
//     a task, 1 to 3 us per kernel on two cores), and a thread takes the
//     same part of every kernel's work (the first pixels, rows or channel
//     chunks for the caller), so much of what it reads, it wrote itself.
//  4. The caller, out of tasks, closes the job (fetch_or of the closed bit,
//     which also reads how many workers entered) and waits until as many
//     have left. Every task has then finished, and no worker can touch the
//     job again, so the next call may overwrite it.
// A worker that was asleep or descheduled during a short job therefore
// never delays it: it finds the job closed and goes back to waiting.
//
//===----------------------------------------------------------------------===//

#include "kiln/threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace kiln::rt {

namespace {

/// Tells the core that this is a spin-wait loop (saves power and lets the
/// sibling hyperthread run).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kEnteredMask = kClosed - 1;

constexpr uint32_t generation(uint64_t state) {
  return static_cast<uint32_t>(state >> 32);
}

/// How long an idle worker spins before it sleeps. Kernels of one inference
/// follow each other within microseconds, so this keeps workers awake
/// through a whole forward pass, while an idle process stops burning CPU
/// within a millisecond.
constexpr auto kSpinTime = std::chrono::microseconds(500);

} // namespace

struct ThreadPool::State {
  // The current job; written by the caller only while no worker is inside.
  TaskFn fn = nullptr;
  void *ctx = nullptr;

  /// One thread's tasks [next, end) of the current job; |next| is taken by
  /// its owner, and by the others once theirs are done.
  struct alignas(64) Range {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  // Thread i (the caller is 0, worker k is k) starts on ranges[i].
  std::vector<Range> ranges;

  // Each on its own cache line: |state| and |left| are polled by spinning
  // threads.
  alignas(64) std::atomic<uint64_t> state{0};
  alignas(64) std::atomic<uint32_t> left{0};

  // Sleeping workers wait on |wake|; |sleepers| lets the caller skip the
  // mutex when nobody sleeps.
  alignas(64) std::atomic<int> sleepers{0};
  std::mutex mutex;
  std::condition_variable wake;
  // Set under |mutex| by the destructor; read by spinning workers too.
  std::atomic<bool> stopping{false};

  std::vector<std::thread> workers;
  uint32_t last_generation = 0; // the caller's

  /// Takes tasks of the current job until none is left: those of thread
  /// |self|'s range first, then the others'.
  void work(int self) {
    const int parts = int(ranges.size());
    for (int i = 0; i < parts; ++i) {
      Range &r = ranges[(self + i) % parts];
      for (int64_t t; (t = r.next.fetch_add(1, std::memory_order_relaxed)) < r.end;)
        fn(ctx, t);
    }
  }

  /// Waits until the published generation differs from |seen| and returns
  /// true with the new state in |s|, or returns false when the pool stops.
  /// Spins first, then sleeps.
  bool wait_for_job(uint32_t seen, uint64_t &s) {
    auto start = std::chrono::steady_clock::now();
    for (int spins = 0;; ++spins) {
      s = state.load(std::memory_order_acquire);
      if (generation(s) != seen)
        return true;
      if (stopping.load(std::memory_order_relaxed))
        return false;
      cpu_relax();
      // Reading the clock costs ~20 ns; do it once every 64 spins.
      if ((spins & 63) == 63 &&
          std::chrono::steady_clock::now() - start > kSpinTime)
        break;
    }
    std::unique_lock<std::mutex> lock(mutex);
    // seq_cst pairs with the caller's store of |state| then load of
    // |sleepers|: either the caller sees us sleeping and notifies, or we see
    // its new generation here.
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    wake.wait(lock, [&] {
      s = state.load(std::memory_order_seq_cst);
      return generation(s) != seen ||
             stopping.load(std::memory_order_relaxed);
    });
    sleepers.fetch_sub(1, std::memory_order_relaxed);
    return generation(s) != seen;
  }

  void worker_loop(int self) {
    uint32_t seen = 0;
    uint64_t s;
    while (wait_for_job(seen, s)) {
      seen = generation(s);
      // Enter the job unless it is already closed or replaced.
      bool entered = false;
      while (generation(s) == seen && !(s & kClosed)) {
        if (state.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                        std::memory_order_acquire)) {
          entered = true;
          break;
        }
      }
      if (!entered)
        continue;
      work(self);
      left.fetch_add(1, std::memory_order_release);
    }
  }
};

ThreadPool::ThreadPool(int threads) : state_(new State) {
  if (threads <= 0)
    threads = static_cast<int>(std::thread::hardware_concurrency());
  size_ = threads < 1 ? 1 : threads;
  state_->ranges = std::vector<State::Range>(size_);
  for (int i = 1; i < size_; ++i)
    state_->workers.emplace_back([s = state_, i] { s->worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping.store(true, std::memory_order_relaxed);
  }
  state_->wake.notify_all();
  for (std::thread &t : state_->workers)
    t.join();
  delete state_;
}

void ThreadPool::run(int64_t tasks, TaskFn fn, void *ctx) {
  State &st = *state_;
  // 1. Publish the job; no worker is inside the previous one any more.
  st.fn = fn;
  st.ctx = ctx;
  for (int i = 0; i < size_; ++i) {
    st.ranges[i].next.store(tasks * i / size_, std::memory_order_relaxed);
    st.ranges[i].end = tasks * (i + 1) / size_;
  }
  st.left.store(0, std::memory_order_relaxed);
  uint32_t gen = ++st.last_generation;
  if (gen == 0) // 0 is the workers' initial "seen"; never reuse it.
    gen = ++st.last_generation;
  st.state.store(uint64_t{gen} << 32, std::memory_order_seq_cst);
  if (st.sleepers.load(std::memory_order_seq_cst) > 0) {
    // Taking the mutex orders this notify after a sleeper's predicate check.
    { std::lock_guard<std::mutex> lock(st.mutex); }
    st.wake.notify_all();
  }

  // 3. Take part.
  st.work(0);

  // 4. Close the job and wait for the workers that entered it.
  uint64_t s = st.state.fetch_or(kClosed, std::memory_order_acq_rel);
  uint32_t entered = static_cast<uint32_t>(s & kEnteredMask);
  while (st.left.load(std::memory_order_acquire) != entered)
    cpu_relax();
}

} // namespace kiln::rt
