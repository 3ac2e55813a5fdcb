//===- fma_peak.cpp - this machine's fp32 FMA peak, per ISA ---------------===//
//
// Measures the fp32 multiply-add throughput the CPU kernels can at best
// reach: 12 independent chains of vector FMAs (enough to cover the FMA
// latency of every current core: 4 cycles x 2-3 units), per ISA the CPU runs
// (AVX2 + FMA, AVX-512; NEON on AArch64), on 1 thread and on N threads at
// once. GFLOP/s counts a multiply-add as 2. BENCHMARKS.md states kiln's
// speed as a fraction of this.
//
//   g++ -O2 -std=c++20 -pthread bench/fma_peak.cpp -o /tmp/fma_peak
//   /tmp/fma_peak [--threads N] [--seconds S]
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace {

constexpr int kChains = 12;

/// Runs |iters| rounds of 12 FMAs on |lanes|-float vectors; returns a value
/// that depends on all of them (so nothing is optimized away).
using Kernel = float (*)(long iters);

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float fma_avx2(long iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = _mm256_add_ps(s, acc[i]);
  return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) float fma_avx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
#elif defined(__aarch64__)
float fma_neon(long iters) {
  float32x4_t acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = vdupq_n_f32(float(i));
  const float32x4_t a = vdupq_n_f32(0.999f), b = vdupq_n_f32(0.001f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i)
      acc[i] = vfmaq_f32(b, acc[i], a);
  float32x4_t s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = vaddq_f32(s, acc[i]);
  return vaddvq_f32(s);
}
#endif

/// GFLOP/s of |kernel| on |threads| threads at once, for ~|seconds|.
double measure(Kernel kernel, int lanes, int threads, double seconds) {
  // Calibrate on one thread: iterations per second.
  long iters = 1 << 20;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    volatile float sink = kernel(iters);
    (void)sink;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0.05) {
      iters = long(iters * seconds / s);
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<std::thread> pool;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        volatile float sink = kernel(iters);
        (void)sink;
      });
    for (auto &t : pool)
      t.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * kChains * lanes * double(iters) * threads / s / 1e9);
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  int threads = int(std::thread::hardware_concurrency());
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--threads N] [--seconds S]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1)
    threads = 1;
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
    double one = measure(isa.kernel, isa.lanes, 1, seconds);
    double all = measure(isa.kernel, isa.lanes, threads, seconds);
    std::printf("%-7s fp32 FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d "
                "threads\n", isa.name, one, all, threads);
  }
  return 0;
}
