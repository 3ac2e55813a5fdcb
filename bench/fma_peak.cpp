//===- fma_peak.cpp - this machine's fp32 FMA peak and memory bandwidth ---===//
//
// Measures the two ceilings BENCHMARKS.md states kiln's speed against:
//
//  * the fp32 multiply-add throughput the CPU kernels can at best reach:
//    12 independent chains of vector FMAs (enough to cover the FMA latency
//    of every current core: 4 cycles x 2-3 units), per ISA the CPU runs
//    (AVX2 + FMA, AVX-512; NEON on AArch64), on 1 thread and on N threads at
//    once. GFLOP/s counts a multiply-add as 2.
//  * the memory bandwidth a layer that streams its tensors sees: reading a
//    buffer far larger than the last-level cache (a sum), and copying one
//    (read + write, counted as both), on 1 and on N threads, each thread on
//    its own part.
//  * what handing work between threads costs, which every layer split
//    among threads pays at least once: the round trip of a cache line
//    between two threads that take turns writing it (tens of ns between
//    cores that share a cache, hundreds across chiplets or sockets, where
//    a small network at batch 1 may run slower on two threads than on one).
//
//   g++ -O2 -std=c++20 -pthread bench/fma_peak.cpp -o /tmp/fma_peak
//   /tmp/fma_peak [--threads N] [--seconds S] [--mib M]
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace {

constexpr int kChains = 12;

/// Runs |iters| rounds of 12 FMAs on |lanes|-float vectors; returns a value
/// that depends on all of them (so nothing is optimized away).
using Kernel = float (*)(long iters);

/// The chains on GCC's generic vectors of |Lanes| floats: compiled into each
/// ISA's function below (always_inline), with that function's target, where
/// a * b + c contracts to one vector FMA (optimize("fp-contract=fast")).
template <int Lanes> struct Vector {
  typedef float type __attribute__((vector_size(4 * Lanes)));
};
template <int Lanes> inline __attribute__((always_inline)) float chains(long iters) {
  using V = typename Vector<Lanes>::type;
  V acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = V{} + float(i);
  const V a = V{} + 0.999f, b = V{} + 0.001f;
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i)
      acc[i] = acc[i] * a + b;
  float s = 0;
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < Lanes; ++l)
      s += acc[i][l];
  return s;
}

#define KILN_FMA_KERNEL(name, target, lanes)                                   \
  __attribute__((target, optimize("fp-contract=fast"))) float name(long n) {   \
    return chains<lanes>(n);                                                   \
  }
#if defined(__x86_64__)
KILN_FMA_KERNEL(fma_avx2, target("avx2,fma"), 8)
KILN_FMA_KERNEL(fma_avx512, target("avx512f"), 16)
#elif defined(__aarch64__)
KILN_FMA_KERNEL(fma_neon, , 4)
#endif
#undef KILN_FMA_KERNEL

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The best of 3 runs of |work|(thread) on |threads| threads at once, in
/// seconds.
double best_parallel(int threads, const std::function<void(int)> &work) {
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<std::thread> pool;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back(work, t);
    for (auto &t : pool)
      t.join();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

/// GFLOP/s of |kernel| on |threads| threads at once, for ~|seconds|.
double fma_gflops(Kernel kernel, int lanes, int threads, double seconds) {
  // Calibrate on one thread: iterations per second.
  long iters = 1 << 20;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    volatile float sink = kernel(iters);
    (void)sink;
    double s = seconds_since(t0);
    if (s > 0.05) {
      iters = long(iters * seconds / s);
      break;
    }
    iters *= 4;
  }
  double s = best_parallel(threads, [&](int) {
    volatile float sink = kernel(iters);
    (void)sink;
  });
  return 2.0 * kChains * lanes * double(iters) * threads / s / 1e9;
}

/// Read and copy bandwidth in GB/s over |bytes| per thread, on |threads|.
struct Bandwidth {
  double read, copy;
};
Bandwidth bandwidth(size_t bytes, int threads) {
  size_t n = bytes / sizeof(float);
  std::vector<std::vector<float>> src(threads), dst(threads);
  for (int t = 0; t < threads; ++t) {
    src[t].assign(n, 1.f); // touched: no page faults in the timed runs
    dst[t].assign(n, 0.f);
  }
  std::vector<float> sums(threads);
  double read = best_parallel(threads, [&](int t) {
    const float *p = src[t].data();
    float s[16] = {};
    for (size_t i = 0; i + 16 <= n; i += 16)
#pragma GCC unroll 16
      for (int l = 0; l < 16; ++l)
        s[l] += p[i + l];
    sums[t] = s[0] + s[15];
  });
  double copy = best_parallel(threads, [&](int t) {
    std::memcpy(dst[t].data(), src[t].data(), n * sizeof(float));
  });
  double all = double(n) * sizeof(float) * threads;
  return {all / read / 1e9, 2 * all / copy / 1e9};
}

/// Nanoseconds of one round trip of a cache line between two threads that
/// take turns incrementing it, the best of 3 runs of 100000.
double handoff_ns() {
  double best = 1e30;
  for (int run = 0; run < 3; ++run) {
    alignas(64) std::atomic<long> turn{0};
    constexpr long kRounds = 100000;
    auto wait_for = [&](long v) {
      while (turn.load(std::memory_order_acquire) != v) {
      }
    };
    std::thread other([&] {
      for (long i = 0; i < kRounds; ++i) {
        wait_for(2 * i + 1);
        turn.store(2 * i + 2, std::memory_order_release);
      }
    });
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < kRounds; ++i) {
      turn.store(2 * i + 1, std::memory_order_release);
      wait_for(2 * i + 2);
    }
    double ns = std::chrono::duration<double, std::nano>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
    other.join();
    best = std::min(best, ns / kRounds);
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  int threads = int(std::thread::hardware_concurrency());
  double seconds = 0.5;
  long mib = 256;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--mib") && i + 1 < argc)
      mib = std::atol(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--threads N] [--seconds S] [--mib M]\n", argv[0]);
      return 2;
    }
  }
  threads = std::max(threads, 1);
  mib = std::max(mib, 1L);
  struct Isa {
    const char *name;
    Kernel kernel;
    int lanes;
    bool runs;
  };
#if defined(__x86_64__)
  __builtin_cpu_init();
  Isa isas[] = {
      {"avx2", fma_avx2, 8,
       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
      {"avx512", fma_avx512, 16, bool(__builtin_cpu_supports("avx512f"))},
  };
#elif defined(__aarch64__)
  Isa isas[] = {{"neon", fma_neon, 4, true}};
#else
  Isa isas[] = {};
#endif
  for (const Isa &isa : isas) {
    if (!isa.runs) {
      std::printf("%-7s not supported by this CPU\n", isa.name);
      continue;
    }
    double one = fma_gflops(isa.kernel, isa.lanes, 1, seconds);
    double all = fma_gflops(isa.kernel, isa.lanes, threads, seconds);
    std::printf("%-7s fp32 FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d "
                "threads\n", isa.name, one, all, threads);
  }
  size_t bytes = size_t(mib) << 20;
  Bandwidth one = bandwidth(bytes, 1), all = bandwidth(bytes, threads);
  std::printf("memory  read %.1f GB/s, copy %.1f GB/s on 1 thread; read %.1f GB/s, "
              "copy %.1f GB/s on %d threads (%ld MiB per thread)\n",
              one.read, one.copy, all.read, all.copy, threads, mib);
  if (threads > 1)
    std::printf("threads a cache line's round trip between two threads: %.0f ns\n",
                handoff_ns());
  return 0;
}
