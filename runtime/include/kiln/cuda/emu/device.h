//===- kiln/cuda/emu/device.h - CUDA device functions on the emulator -*- C++ -*-===//
//
// This file declares the device-side built-ins that kernels call: block
// barriers, warp collectives (shuffles, votes, matches, reductions,
// __syncwarp), atomics, memory fences, cache-hinted loads/stores, and the
// float/integer intrinsics of CUDA's math API. Block- and warp-level
// operations call into the scheduler (libkiln_cuda_emu); the rest are
// inline.
//
// Warp collectives follow the PTX rules: a collective completes when every
// non-exited lane named in |mask| has executed the same operation with the
// same mask; the calling lane must be in |mask|; reading a value from a lane
// that did not take part (not in the mask, or exited) yields all-ones bits.
// A named lane that never arrives (it waits elsewhere) is reported as a
// deadlock, with the lanes and what each one waits at.
//
// Numerics: __fmaf_rn, __fadd_rn, ... are exact (IEEE). The fast-math
// intrinsics (__expf, __logf, __sinf, rsqrtf, __fdividef, ...) use the C
// library: they are at least as accurate as the GPU's approximations but not
// bit-identical to them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_DEVICE_H
#define KILN_CUDA_EMU_DEVICE_H

#include "kiln/cuda/emu/lang.h"

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace kiln::emu::detail {

//===----------------------------------------------------------------------===//
// Scheduler entry points (libkiln_cuda_emu)
//===----------------------------------------------------------------------===//

/// __syncthreads(): waits until every thread of the block arrives.
void syncthreads();
enum class BarrierReduce : std::uint8_t { Count, And, Or };
/// __syncthreads_{count,and,or}.
int syncthreadsReduce(int pred, BarrierReduce op);

enum class ShflMode : std::uint8_t { Idx, Up, Down, Bfly };
/// shfl.sync.{idx,up,down,bfly}.b32 (moved as 64 bits; |c| is PTX's
/// packed segment mask / clamp operand).
std::uint64_t shfl(unsigned mask, std::uint64_t value, unsigned b, unsigned c, ShflMode mode);
/// Every participating lane's |value|: out[lane] for lanes in *members.
void gather(unsigned mask, std::uint64_t value, std::uint64_t out[32], unsigned *members);
/// bar.warp.sync |mask|.
void syncwarp(unsigned mask);
/// The lanes of the current warp that exist and have not exited.
unsigned activemask();
/// %laneid of the current thread.
unsigned laneId();

enum class MmaKind : std::uint8_t { F16, Bf16, Tf32 };
/// mma.sync.aligned.m16n8k16 (F16/Bf16) or m16n8k8 (Tf32) .row.col.f32.
void mma(MmaKind kind, float d[4], const std::uint32_t a[4], const std::uint32_t b[2],
         const float c[4]);
/// ldmatrix.sync.aligned.m8n8.x{num}{.trans}.shared.b16.
void ldmatrix(unsigned num, bool trans, std::uint32_t *r, const void *rowAddress);

/// cp.async.{ca,cg}.shared.global [dst], [src], cpSize, srcSize.
void cpAsync(void *dst, const void *src, unsigned cpSize, unsigned srcSize);
void cpAsyncCommit();
void cpAsyncWait(unsigned n);
void cpAsyncWaitAll();

//===----------------------------------------------------------------------===//
// Hopper (sm_90a): mbarrier, the tensor memory accelerator, wgmma (Hopper.cpp)
//===----------------------------------------------------------------------===//

/// The shared-window address of |p| (an offset into the block's dynamic
/// shared memory, whose window starts at 0); a fatal error for any other
/// pointer. What __cvta_generic_to_shared gives under nvcc.
std::uint32_t sharedAddress(const void *p);

/// mbarrier.init.shared.b64 [bar], count.
void mbarrierInit(std::uint64_t *bar, unsigned count);
/// mbarrier.arrive{.expect_tx}.shared.b64: with |txBytes| > 0 first raises
/// the phase's expected transaction bytes (.expect_tx), then arrives once.
void mbarrierArrive(std::uint64_t *bar, std::uint32_t txBytes);
/// mbarrier.try_wait.parity in a loop: returns once the phase of parity
/// |parity| has completed (the current phase's parity differs). Blocks the
/// calling thread (it is a deadlock if nothing can complete the phase).
void mbarrierWait(std::uint64_t *bar, unsigned parity);
/// fence.mbarrier_init.release.cluster / fence.proxy.async.shared::cta:
/// ordering only (the emulator has one proxy); counted.
void fenceAsync();

/// cp.async.bulk.tensor.<rank>d.shared::cluster.global.tile
/// .mbarrier::complete_tx::bytes [dst], [map, {coords}], [bar]: the box of
/// |map| at |coords| (dim 0 first) lands in |dst| when a thread waits on
/// |bar| (its bytes complete the phase's transactions then); until then
/// |dst| holds poison, so reading a stage before its barrier completes, or
/// overwriting one that a wgmma still reads, shows as wrong data.
void tmaLoad(void *dst, const void *map, int rank, const int *coords, std::uint64_t *bar);

enum class WgmmaKind : std::uint8_t { F16, Bf16, Tf32 };
/// wgmma.fence.sync.aligned.
void wgmmaFence();
/// wgmma.commit_group.sync.aligned.
void wgmmaCommit();
/// wgmma.wait_group.sync.aligned n.
void wgmmaWait(unsigned n);
/// wgmma.mma_async.sync.aligned.m64n{n}k{16|8}.f32.{f16|bf16|tf32} with A
/// and B in shared memory (descriptors) and the thread's n/2 accumulators
/// at |d|, which the operation writes when it completes (wgmma.wait_group):
/// D = A * B + (scaleD ? D : 0).
void wgmma(WgmmaKind kind, unsigned n, float *d, std::uint64_t descA, std::uint64_t descB,
           int scaleD);

/// The block's dynamic shared memory (the launch's smem bytes, poisoned).
void *dynamicSharedMemory();
/// Counts the blocks run by this worker; KILN_SHARED storage is poisoned
/// the first time a block reaches its declaration.
extern thread_local constinit std::uint64_t blockEpoch;
void poisonShared(void *p, std::size_t n);
inline void poisonSharedOnce(void *p, std::size_t n, std::uint64_t &epoch) {
  if (epoch != blockEpoch) {
    epoch = blockEpoch;
    poisonShared(p, n);
  }
}

/// __trap(): aborts the launch with an error.
[[noreturn]] void trap(const char *what);
long long clock64();

template <typename T>
inline std::uint64_t toBits(const T &v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>,
                "warp shuffles move at most 64 bits of a trivially copyable type");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <typename T>
inline T fromBits(std::uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
template <typename T>
inline T shflT(unsigned mask, T var, unsigned b, unsigned c, ShflMode mode) {
  return fromBits<T>(shfl(mask, toBits(var), b, c, mode));
}

} // namespace kiln::emu::detail

//===----------------------------------------------------------------------===//
// Barriers and warp collectives
//===----------------------------------------------------------------------===//

inline void __syncthreads() { kiln::emu::detail::syncthreads(); }
inline int __syncthreads_count(int p) {
  return kiln::emu::detail::syncthreadsReduce(p, kiln::emu::detail::BarrierReduce::Count);
}
inline int __syncthreads_and(int p) {
  return kiln::emu::detail::syncthreadsReduce(p, kiln::emu::detail::BarrierReduce::And);
}
inline int __syncthreads_or(int p) {
  return kiln::emu::detail::syncthreadsReduce(p, kiln::emu::detail::BarrierReduce::Or);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { kiln::emu::detail::syncwarp(mask); }
inline unsigned __activemask() { return kiln::emu::detail::activemask(); }

template <typename T>
inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize) {
  return kiln::emu::detail::shflT(mask, var, unsigned(srcLane),
                                  (unsigned(warpSize - width) << 8) | 0x1fu,
                                  kiln::emu::detail::ShflMode::Idx);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return kiln::emu::detail::shflT(mask, var, delta, unsigned(warpSize - width) << 8,
                                  kiln::emu::detail::ShflMode::Up);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return kiln::emu::detail::shflT(mask, var, delta, (unsigned(warpSize - width) << 8) | 0x1fu,
                                  kiln::emu::detail::ShflMode::Down);
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize) {
  return kiln::emu::detail::shflT(mask, var, unsigned(laneMask),
                                  (unsigned(warpSize - width) << 8) | 0x1fu,
                                  kiln::emu::detail::ShflMode::Bfly);
}

inline unsigned __ballot_sync(unsigned mask, int pred) {
  std::uint64_t all[32];
  unsigned members;
  kiln::emu::detail::gather(mask, pred != 0, all, &members);
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((members >> l & 1) && all[l])
      r |= 1u << l;
  return r;
}
inline int __all_sync(unsigned mask, int pred) {
  std::uint64_t all[32];
  unsigned members;
  kiln::emu::detail::gather(mask, pred != 0, all, &members);
  for (unsigned l = 0; l < 32; ++l)
    if ((members >> l & 1) && !all[l])
      return 0;
  return 1;
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __uni_sync(unsigned mask, int pred) {
  unsigned b = __ballot_sync(mask, pred);
  return b == 0 || b == (mask & __activemask());
}
template <typename T>
inline unsigned __match_any_sync(unsigned mask, T value) {
  std::uint64_t all[32];
  unsigned members;
  const std::uint64_t mine = kiln::emu::detail::toBits(value);
  kiln::emu::detail::gather(mask, mine, all, &members);
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((members >> l & 1) && all[l] == mine)
      r |= 1u << l;
  return r;
}
template <typename T>
inline unsigned __match_all_sync(unsigned mask, T value, int *pred) {
  const unsigned same = __match_any_sync(mask, value);
  const unsigned members = mask & __activemask();
  *pred = same == members;
  return same == members ? members : 0u;
}

namespace kiln::emu::detail {
template <typename T, typename Op>
inline T reduceSync(unsigned mask, T value, Op op) {
  std::uint64_t all[32];
  unsigned members;
  gather(mask, toBits(value), all, &members);
  bool first = true;
  T r{};
  for (unsigned l = 0; l < 32; ++l) {
    if (!(members >> l & 1))
      continue;
    T v = fromBits<T>(all[l]);
    r = first ? v : op(r, v);
    first = false;
  }
  return r;
}
} // namespace kiln::emu::detail

inline unsigned __reduce_add_sync(unsigned mask, unsigned v) {
  return kiln::emu::detail::reduceSync(mask, v, [](unsigned a, unsigned b) { return a + b; });
}
inline int __reduce_add_sync(unsigned mask, int v) {
  return int(__reduce_add_sync(mask, unsigned(v)));
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned v) {
  return kiln::emu::detail::reduceSync(mask, v, [](unsigned a, unsigned b) { return a < b ? a : b; });
}
inline int __reduce_min_sync(unsigned mask, int v) {
  return kiln::emu::detail::reduceSync(mask, v, [](int a, int b) { return a < b ? a : b; });
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned v) {
  return kiln::emu::detail::reduceSync(mask, v, [](unsigned a, unsigned b) { return a > b ? a : b; });
}
inline int __reduce_max_sync(unsigned mask, int v) {
  return kiln::emu::detail::reduceSync(mask, v, [](int a, int b) { return a > b ? a : b; });
}
inline unsigned __reduce_and_sync(unsigned mask, unsigned v) {
  return kiln::emu::detail::reduceSync(mask, v, [](unsigned a, unsigned b) { return a & b; });
}
inline unsigned __reduce_or_sync(unsigned mask, unsigned v) {
  return kiln::emu::detail::reduceSync(mask, v, [](unsigned a, unsigned b) { return a | b; });
}
inline unsigned __reduce_xor_sync(unsigned mask, unsigned v) {
  return kiln::emu::detail::reduceSync(mask, v, [](unsigned a, unsigned b) { return a ^ b; });
}

inline unsigned __lanemask_lt() { return (1u << kiln::emu::detail::laneId()) - 1u; }
inline unsigned __lanemask_le() { return (2u << kiln::emu::detail::laneId()) - 1u; }
inline unsigned __lanemask_eq() { return 1u << kiln::emu::detail::laneId(); }
inline unsigned __lanemask_gt() { return ~__lanemask_le(); }
inline unsigned __lanemask_ge() { return ~__lanemask_lt(); }

//===----------------------------------------------------------------------===//
// Fences, clocks, traps
//===----------------------------------------------------------------------===//

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_signal_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline long long clock64() { return kiln::emu::detail::clock64(); }
inline void __nanosleep(unsigned) {}
[[noreturn]] inline void __trap() { kiln::emu::detail::trap("__trap()"); }
[[noreturn]] inline void __brkpt() { kiln::emu::detail::trap("__brkpt()"); }
inline std::size_t __cvta_generic_to_shared(const void *p) {
  return kiln::emu::detail::sharedAddress(p);
}

//===----------------------------------------------------------------------===//
// Loads and stores with cache hints (plain accesses on the host)
//===----------------------------------------------------------------------===//

template <typename T> inline T __ldg(const T *p) { return *p; }
template <typename T> inline T __ldcg(const T *p) { return *p; }
template <typename T> inline T __ldca(const T *p) { return *p; }
template <typename T> inline T __ldcs(const T *p) { return *p; }
template <typename T> inline T __ldlu(const T *p) { return *p; }
template <typename T> inline T __ldcv(const T *p) { return *p; }
template <typename T> inline void __stcg(T *p, T v) { *p = v; }
template <typename T> inline void __stcs(T *p, T v) { *p = v; }
template <typename T> inline void __stwb(T *p, T v) { *p = v; }
template <typename T> inline void __stwt(T *p, T v) { *p = v; }

//===----------------------------------------------------------------------===//
// Atomics (std::atomic_ref: blocks run concurrently on worker threads)
//===----------------------------------------------------------------------===//

template <typename T>
inline T atomicAdd(T *p, std::type_identity_t<T> v) {
  return std::atomic_ref<T>(*p).fetch_add(v, std::memory_order_relaxed);
}
template <typename T>
inline T atomicSub(T *p, std::type_identity_t<T> v) {
  return std::atomic_ref<T>(*p).fetch_sub(v, std::memory_order_relaxed);
}
template <typename T>
inline T atomicExch(T *p, std::type_identity_t<T> v) {
  return std::atomic_ref<T>(*p).exchange(v, std::memory_order_relaxed);
}
template <typename T>
inline T atomicCAS(T *p, std::type_identity_t<T> compare, std::type_identity_t<T> v) {
  std::atomic_ref<T>(*p).compare_exchange_strong(compare, v, std::memory_order_relaxed);
  return compare;
}
template <typename T>
inline T atomicMax(T *p, std::type_identity_t<T> v) {
  std::atomic_ref<T> a(*p);
  T old = a.load(std::memory_order_relaxed);
  while (old < v && !a.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
  return old;
}
template <typename T>
inline T atomicMin(T *p, std::type_identity_t<T> v) {
  std::atomic_ref<T> a(*p);
  T old = a.load(std::memory_order_relaxed);
  while (v < old && !a.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
  return old;
}
template <typename T>
inline T atomicAnd(T *p, std::type_identity_t<T> v) {
  return std::atomic_ref<T>(*p).fetch_and(v, std::memory_order_relaxed);
}
template <typename T>
inline T atomicOr(T *p, std::type_identity_t<T> v) {
  return std::atomic_ref<T>(*p).fetch_or(v, std::memory_order_relaxed);
}
template <typename T>
inline T atomicXor(T *p, std::type_identity_t<T> v) {
  return std::atomic_ref<T>(*p).fetch_xor(v, std::memory_order_relaxed);
}
inline unsigned atomicInc(unsigned *p, unsigned limit) {
  std::atomic_ref<unsigned> a(*p);
  unsigned old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old >= limit ? 0u : old + 1u, std::memory_order_relaxed)) {
  }
  return old;
}
inline unsigned atomicDec(unsigned *p, unsigned limit) {
  std::atomic_ref<unsigned> a(*p);
  unsigned old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, (old == 0 || old > limit) ? limit : old - 1u,
                                  std::memory_order_relaxed)) {
  }
  return old;
}

//===----------------------------------------------------------------------===//
// Math intrinsics
//===----------------------------------------------------------------------===//

inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
// volatile keeps g++ from contracting a*b+c into an fma (-ffp-contract).
inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fdividef(float a, float b) { return a / b; }
inline float fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __frsqrt_rn(float a) { return 1.0f / std::sqrt(a); }
inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }
inline double rsqrt(double a) { return 1.0 / std::sqrt(a); }
inline float __expf(float a) { return std::exp(a); }
inline float __exp10f(float a) { return std::pow(10.0f, a); }
inline float __logf(float a) { return std::log(a); }
inline float __log2f(float a) { return std::log2(a); }
inline float __log10f(float a) { return std::log10(a); }
inline float __sinf(float a) { return std::sin(a); }
inline float __cosf(float a) { return std::cos(a); }
inline float __tanf(float a) { return std::tan(a); }
inline float __powf(float a, float b) { return std::pow(a, b); }
inline float __tanhf(float a) { return std::tanh(a); }
inline float exp10f(float a) { return std::pow(10.0f, a); }
inline float __saturatef(float a) { return a > 0.0f ? (a < 1.0f ? a : 1.0f) : 0.0f; }
inline void sincosf(float a, float *s, float *c) { *s = std::sin(a); *c = std::cos(a); }

inline int __float2int_rn(float a) { return int(std::nearbyint(a)); }
inline int __float2int_rz(float a) { return int(a); }
inline int __float2int_rd(float a) { return int(std::floor(a)); }
inline int __float2int_ru(float a) { return int(std::ceil(a)); }
inline unsigned __float2uint_rn(float a) { return unsigned(std::nearbyint(a)); }
inline unsigned __float2uint_rz(float a) { return unsigned(a); }
inline float __int2float_rn(int a) { return float(a); }
inline float __uint2float_rn(unsigned a) { return float(a); }
inline int __float_as_int(float a) { return std::bit_cast<int>(a); }
inline float __int_as_float(int a) { return std::bit_cast<float>(a); }
inline unsigned __float_as_uint(float a) { return std::bit_cast<unsigned>(a); }
inline float __uint_as_float(unsigned a) { return std::bit_cast<float>(a); }
inline long long __double_as_longlong(double a) { return std::bit_cast<long long>(a); }
inline double __longlong_as_double(long long a) { return std::bit_cast<double>(a); }

inline int __popc(unsigned a) { return std::popcount(a); }
inline int __popcll(unsigned long long a) { return std::popcount(a); }
inline int __clz(int a) { return std::countl_zero(unsigned(a)); }
inline int __clzll(long long a) { return std::countl_zero((unsigned long long)a); }
inline int __ffs(int a) { return a ? std::countr_zero(unsigned(a)) + 1 : 0; }
inline int __ffsll(long long a) { return a ? std::countr_zero((unsigned long long)a) + 1 : 0; }
inline unsigned __brev(unsigned a) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i)
    r |= ((a >> i) & 1u) << (31 - i);
  return r;
}
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
  const unsigned long long v = ((unsigned long long)y << 32) | x;
  unsigned r = 0;
  for (int i = 0; i < 4; ++i)
    r |= unsigned((v >> (((s >> (4 * i)) & 7u) * 8)) & 0xffu) << (8 * i);
  return r;
}
inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) {
  const unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return unsigned((v << (s & 31u)) >> 32);
}
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) {
  const unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return unsigned(v >> (s & 31u));
}
inline int __mul24(int a, int b) { return ((a << 8) >> 8) * ((b << 8) >> 8); }
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline int __mulhi(int a, int b) { return int(((long long)a * b) >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return unsigned(((unsigned long long)a * b) >> 32);
}
inline long long __mul64hi(long long a, long long b) {
  return (long long)(((__int128)a * b) >> 64);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline unsigned __sad(int a, int b, unsigned c) { return c + unsigned(a > b ? a - b : b - a); }
inline unsigned __usad(unsigned a, unsigned b, unsigned c) { return c + (a > b ? a - b : b - a); }

// CUDA's overloaded min/max in the global namespace.
#define KILN_EMU_MINMAX(T)                                                      \
  inline T min(T a, T b) { return b < a ? b : a; }                             \
  inline T max(T a, T b) { return a < b ? b : a; }
KILN_EMU_MINMAX(int)
KILN_EMU_MINMAX(unsigned int)
KILN_EMU_MINMAX(long)
KILN_EMU_MINMAX(unsigned long)
KILN_EMU_MINMAX(long long)
KILN_EMU_MINMAX(unsigned long long)
#undef KILN_EMU_MINMAX
inline unsigned int min(int a, unsigned int b) { return min(unsigned(a), b); }
inline unsigned int min(unsigned int a, int b) { return min(a, unsigned(b)); }
inline unsigned int max(int a, unsigned int b) { return max(unsigned(a), b); }
inline unsigned int max(unsigned int a, int b) { return max(a, unsigned(b)); }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline double min(float a, double b) { return std::fmin(double(a), b); }
inline double min(double a, float b) { return std::fmin(a, double(b)); }
inline double max(float a, double b) { return std::fmax(double(a), b); }
inline double max(double a, float b) { return std::fmax(a, double(b)); }

#endif // KILN_CUDA_EMU_DEVICE_H
