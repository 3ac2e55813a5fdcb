//===- threads.h - the runtime's thread pool -------------------*- C++ -*-===//
//
// A persistent pool of worker threads. Kernels split their work into tasks
// and call parallel_for; the calling thread takes part, so a pool of size 1
// runs everything inline with no synchronization.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_THREADS_H
#define KILN_RUNTIME_THREADS_H

#include <cstdint>

namespace kiln::rt {

class ThreadPool {
public:
  /// Creates a pool of |threads| threads in all (the caller counts as one);
  /// |threads| <= 0 means one per available CPU.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Threads that run tasks, the caller included.
  int size() const { return size_; }

  /// Runs fn(task) for task in [0, tasks) and returns when all are done.
  /// Tasks may run in any order and on any thread, though each thread
  /// starts on its own contiguous share, in order (the caller on the
  /// first): kernels that split work into a few tasks a thread give each
  /// thread the same part of every layer. fn must not throw.
  template <typename Fn>
  void parallel_for(int64_t tasks, Fn &&fn) {
    if (tasks <= 0)
      return;
    if (tasks == 1 || size_ == 1) {
      for (int64_t t = 0; t < tasks; ++t)
        fn(t);
      return;
    }
    run(tasks, [](void *ctx, int64_t t) { (*static_cast<Fn *>(ctx))(t); },
        &fn);
  }

private:
  using TaskFn = void (*)(void *ctx, int64_t task);
  void run(int64_t tasks, TaskFn fn, void *ctx);

  struct State;
  State *state_;
  int size_;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_THREADS_H
