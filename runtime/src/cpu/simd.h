//===- simd.h - the vector type of the CPU kernels -------------*- C++ -*-===//
//
// This file defines simd::Vec, a vector of kLanes floats with the operations
// the kernels need (masked loads and stores, FMA, broadcast, lane
// permutation, the epilogue activations). Each kernel is written once
// against it; the instruction set the translation unit is compiled for
// picks one implementation:
//  * AVX-512F (x86-64-v4): 16 lanes, 32 registers;
//  * AVX2 + FMA (x86-64-v3): 8 lanes, 16 registers;
//  * Advanced SIMD (AArch64): 4 lanes, 32 registers;
//  * portable: plain loops over 16 floats, which the host compiler
//    vectorizes for whatever the target has (SSE2 on the x86-64 baseline),
//    with std::exp for the sigmoid.
// Masks are bit sets over the lanes in all of them.
//
// Everything here lives in kiln::cpu::KILN_CPU_ISA (isa_avx2, ...), the
// namespace of the kernel set being compiled, so that no inline function
// compiled for one ISA is shared, by the linker, with code of another.
//
// Included by the kernel sources of src/cpu only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_SIMD_H
#define KILN_RUNTIME_CPU_SIMD_H

#include "kiln/cpu/kernels.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

#ifndef KILN_CPU_ISA
#error "compile the CPU kernels with -DKILN_CPU_ISA=<namespace> (CMakeLists.txt)"
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12 warns that the "undefined" pass-through operand of some AVX-512
// intrinsics is used uninitialized (GCC bug 105593, fixed in 12.3/13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

// KILN_INLINE for small helpers that must vanish into their caller;
// KILN_NOINLINE for the microkernels, so that every layer with the same tile
// calls one shared instance (compile time, code size).
#if defined(__GNUC__)
#define KILN_INLINE inline __attribute__((always_inline))
#define KILN_NOINLINE __attribute__((noinline))
#define KILN_INLINE_LAMBDA __attribute__((always_inline))
#else
#define KILN_INLINE_LAMBDA
#define KILN_INLINE inline
#define KILN_NOINLINE
#endif

namespace kiln::cpu::KILN_CPU_ISA::simd {

#if defined(__AVX512F__)
#define KILN_SIMD_AVX512 1
inline constexpr int kLanes = 16;
inline constexpr int kRegisters = 32;
#elif defined(__AVX2__) && defined(__FMA__)
#define KILN_SIMD_AVX2 1
inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
#elif defined(__ARM_NEON) && defined(__aarch64__)
#define KILN_SIMD_NEON 1
inline constexpr int kLanes = 4;
inline constexpr int kRegisters = 32;
#else
#define KILN_SIMD_PORTABLE 1
inline constexpr int kLanes = 16;
// Not the target's registers: the fallback's tiles are planned as for 16,
// which keeps them few and small (it is a baseline, not a fast path).
inline constexpr int kRegisters = 16;
#endif

/// The layouts of kiln/cpu/layout.h plan for exactly these numbers.
inline constexpr VectorShape kShape{kLanes, kRegisters};

using Mask = uint32_t;
/// All lanes.
inline constexpr Mask kAll = (1u << kLanes) - 1;

/// Lane indices for permute(): lane l of the result takes lane idx[l].
struct Index {
  int32_t lane[kLanes];
};

#if KILN_SIMD_AVX512

using Vec = __m512;
using IndexVec = __m512i;

KILN_INLINE Vec zero() { return _mm512_setzero_ps(); }
KILN_INLINE Vec splat(float x) { return _mm512_set1_ps(x); }
KILN_INLINE Vec load(const float *p) { return _mm512_loadu_ps(p); }
/// Loads the lanes in |m|; the others are 0 and are not read from memory.
KILN_INLINE Vec load(const float *p, Mask m) {
  return _mm512_maskz_loadu_ps(__mmask16(m), p);
}
KILN_INLINE void store(float *p, Vec x) { _mm512_storeu_ps(p, x); }
/// Stores the lanes in |m|; memory under the other lanes is not touched.
KILN_INLINE void store(float *p, Vec x, Mask m) {
  _mm512_mask_storeu_ps(p, __mmask16(m), x);
}
/// a * b + c, rounded once.
KILN_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
KILN_INLINE Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
KILN_INLINE Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
KILN_INLINE Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
KILN_INLINE Vec div(Vec a, Vec b) { return _mm512_div_ps(a, b); }
KILN_INLINE Vec min(Vec a, Vec b) { return _mm512_min_ps(a, b); }
KILN_INLINE Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
KILN_INLINE IndexVec index(const Index &i) {
  return _mm512_loadu_si512(i.lane);
}
KILN_INLINE Vec permute(Vec x, IndexVec idx) {
  return _mm512_permutexvar_ps(idx, x);
}

/// Round to the nearest integer (ties to even), for exp().
KILN_INLINE Vec round_nearest(Vec x) {
  return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/// p * 2^n for integral n, for exp(): vscalefps, which also gives 0 and +inf
/// for huge |n|.
KILN_INLINE Vec scale_pow2(Vec p, Vec n) { return _mm512_scalef_ps(p, n); }
/// exp()'s input range: beyond it e^x is 0 or +inf in float anyway.
inline constexpr float kExpLo = -110.f, kExpHi = 100.f;

#elif KILN_SIMD_AVX2

using Vec = __m256;
using IndexVec = __m256i;

/// The lanes of |m| as a vector of all-ones / all-zeros lanes.
KILN_INLINE __m256i lane_mask(Mask m) {
  const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(int(m)), bits),
                            bits);
}

KILN_INLINE Vec zero() { return _mm256_setzero_ps(); }
KILN_INLINE Vec splat(float x) { return _mm256_set1_ps(x); }
KILN_INLINE Vec load(const float *p) { return _mm256_loadu_ps(p); }
/// Loads the lanes in |m|; the others are 0 and are not read from memory
/// (vmaskmovps does not fault on them).
KILN_INLINE Vec load(const float *p, Mask m) {
  if (m == kAll)
    return load(p);
  return _mm256_maskload_ps(p, lane_mask(m));
}
KILN_INLINE void store(float *p, Vec x) { _mm256_storeu_ps(p, x); }
/// Stores the lanes in |m|; memory under the other lanes is not touched.
KILN_INLINE void store(float *p, Vec x, Mask m) {
  if (m == kAll)
    return store(p, x);
  _mm256_maskstore_ps(p, lane_mask(m), x);
}
KILN_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
KILN_INLINE Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
KILN_INLINE Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
KILN_INLINE Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
KILN_INLINE Vec div(Vec a, Vec b) { return _mm256_div_ps(a, b); }
KILN_INLINE Vec min(Vec a, Vec b) { return _mm256_min_ps(a, b); }
KILN_INLINE Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
KILN_INLINE IndexVec index(const Index &i) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(i.lane));
}
KILN_INLINE Vec permute(Vec x, IndexVec idx) {
  return _mm256_permutevar8x32_ps(x, idx);
}

KILN_INLINE Vec round_nearest(Vec x) {
  return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/// p * 2^n with 2^n built in the exponent field in two halves
/// (2^(n/2) * 2^(n - n/2)), so that results below FLT_MIN come out
/// subnormal and those above FLT_MAX +inf, without vscalefps.
KILN_INLINE Vec scale_pow2(Vec p, Vec n) {
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  auto pow2 = [](__m256i e) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
  };
  return _mm256_mul_ps(_mm256_mul_ps(p, pow2(n1)), pow2(n2));
}
/// Each half of n stays a normal exponent in this range.
inline constexpr float kExpLo = -104.f, kExpHi = 89.f;

#elif KILN_SIMD_NEON

using Vec = float32x4_t;
/// Byte indices for vqtbl1q_u8: 4 bytes per lane.
using IndexVec = uint8x16_t;

KILN_INLINE Vec zero() { return vdupq_n_f32(0.f); }
KILN_INLINE Vec splat(float x) { return vdupq_n_f32(x); }
KILN_INLINE Vec load(const float *p) { return vld1q_f32(p); }
/// NEON has no masked load: a partial mask goes lane by lane, so that no
/// float outside |m| is read.
KILN_INLINE Vec load(const float *p, Mask m) {
  if (m == kAll)
    return load(p);
  float lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = (m >> l) & 1 ? p[l] : 0.f;
  return vld1q_f32(lanes);
}
KILN_INLINE void store(float *p, Vec x) { vst1q_f32(p, x); }
KILN_INLINE void store(float *p, Vec x, Mask m) {
  if (m == kAll)
    return store(p, x);
  float lanes[kLanes];
  vst1q_f32(lanes, x);
  for (int l = 0; l < kLanes; ++l)
    if ((m >> l) & 1)
      p[l] = lanes[l];
}
KILN_INLINE Vec fma(Vec a, Vec b, Vec c) { return vfmaq_f32(c, a, b); }
KILN_INLINE Vec add(Vec a, Vec b) { return vaddq_f32(a, b); }
KILN_INLINE Vec sub(Vec a, Vec b) { return vsubq_f32(a, b); }
KILN_INLINE Vec mul(Vec a, Vec b) { return vmulq_f32(a, b); }
KILN_INLINE Vec div(Vec a, Vec b) { return vdivq_f32(a, b); }
// b < a ? b : a, as the x86 versions (and the portable loops) compute it.
KILN_INLINE Vec min(Vec a, Vec b) { return vbslq_f32(vcltq_f32(b, a), b, a); }
KILN_INLINE Vec max(Vec a, Vec b) { return vbslq_f32(vcgtq_f32(b, a), b, a); }
KILN_INLINE IndexVec index(const Index &i) {
  uint8_t bytes[16];
  for (int l = 0; l < kLanes; ++l)
    for (int b = 0; b < 4; ++b)
      bytes[4 * l + b] = uint8_t(4 * i.lane[l] + b);
  return vld1q_u8(bytes);
}
KILN_INLINE Vec permute(Vec x, IndexVec idx) {
  return vreinterpretq_f32_u8(vqtbl1q_u8(vreinterpretq_u8_f32(x), idx));
}
KILN_INLINE Vec round_nearest(Vec x) { return vrndnq_f32(x); }
/// p * 2^n as in the AVX2 version.
KILN_INLINE Vec scale_pow2(Vec p, Vec n) {
  int32x4_t ni = vcvtq_s32_f32(n);
  int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
  auto pow2 = [](int32x4_t e) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(e, vdupq_n_s32(127)), 23));
  };
  return vmulq_f32(vmulq_f32(p, pow2(n1)), pow2(n2));
}
inline constexpr float kExpLo = -104.f, kExpHi = 89.f;

#else // Portable: per-lane loops.

// An array rather than a GCC vector_size(64) type: GCC vectorizes the
// microkernels' lane loops over it, while it lowers over-wide generic
// vectors to scalar code (measured 18x slower).
struct Vec {
  float v[kLanes];
};
using IndexVec = Index;

#define KILN_LANES(expr)                                                       \
  Vec r;                                                                       \
  for (int l = 0; l < kLanes; ++l)                                             \
    r.v[l] = (expr);                                                           \
  return r

KILN_INLINE Vec zero() { KILN_LANES(0.f); }
KILN_INLINE Vec splat(float x) { KILN_LANES(x); }
KILN_INLINE Vec load(const float *p) { KILN_LANES(p[l]); }
KILN_INLINE void store(float *p, Vec x) {
  for (int l = 0; l < kLanes; ++l)
    p[l] = x.v[l];
}
// Masked lanes must not be touched (they may lie past the end of a buffer),
// so a partial mask goes lane by lane; the full mask, by far the most
// common, stays a plain loop that vectorizes.
KILN_INLINE Vec load(const float *p, Mask m) {
  if (m == kAll)
    return load(p);
  KILN_LANES((m >> l) & 1 ? p[l] : 0.f);
}
KILN_INLINE void store(float *p, Vec x, Mask m) {
  if (m == kAll)
    return store(p, x);
  for (int l = 0; l < kLanes; ++l)
    if ((m >> l) & 1)
      p[l] = x.v[l];
}
/// a * b + c, rounded once where the target has FMA instructions; elsewhere
/// std::fma would be a library call per lane, so round twice.
KILN_INLINE Vec fma(Vec a, Vec b, Vec c) {
#if defined(FP_FAST_FMAF)
  KILN_LANES(std::fma(a.v[l], b.v[l], c.v[l]));
#else
  KILN_LANES(a.v[l] * b.v[l] + c.v[l]);
#endif
}
KILN_INLINE Vec add(Vec a, Vec b) { KILN_LANES(a.v[l] + b.v[l]); }
KILN_INLINE Vec sub(Vec a, Vec b) { KILN_LANES(a.v[l] - b.v[l]); }
KILN_INLINE Vec mul(Vec a, Vec b) { KILN_LANES(a.v[l] * b.v[l]); }
KILN_INLINE Vec div(Vec a, Vec b) { KILN_LANES(a.v[l] / b.v[l]); }
KILN_INLINE Vec min(Vec a, Vec b) {
  KILN_LANES(b.v[l] < a.v[l] ? b.v[l] : a.v[l]);
}
KILN_INLINE Vec max(Vec a, Vec b) {
  KILN_LANES(b.v[l] > a.v[l] ? b.v[l] : a.v[l]);
}
KILN_INLINE IndexVec index(const Index &i) { return i; }
KILN_INLINE Vec permute(Vec x, IndexVec idx) { KILN_LANES(x.v[idx.lane[l]]); }
KILN_INLINE Vec exp(Vec x) { KILN_LANES(std::exp(x.v[l])); }

#undef KILN_LANES

#endif

#if !KILN_SIMD_PORTABLE
/// e^x to ~1 ulp for the native backends, from their round_nearest and
/// scale_pow2: x = n ln2 + r with |r| <= ln2/2 (ln2 in two parts, so that
/// n * kLn2Hi is exact for |n| < 2^8), e^r by its degree-7 Taylor polynomial
/// (truncation error < 6e-9 relative on that interval), times 2^n.
KILN_INLINE Vec exp(Vec x) {
  x = max(min(x, splat(kExpHi)), splat(kExpLo));
  Vec n = round_nearest(mul(x, splat(1.44269504088896341f)));
  Vec r = fma(n, splat(-0.693145751953125f), x);
  r = fma(n, splat(-1.428606765330187e-06f), r);
  Vec p = splat(1.f / 5040);
  p = fma(p, r, splat(1.f / 720));
  p = fma(p, r, splat(1.f / 120));
  p = fma(p, r, splat(1.f / 24));
  p = fma(p, r, splat(1.f / 6));
  p = fma(p, r, splat(0.5f));
  p = fma(p, r, splat(1.f));
  p = fma(p, r, splat(1.f));
  return scale_pow2(p, n);
}
#endif

/// Precedes a short loop over an array of vectors (accumulators, taps).
/// With native vectors it is fully unrolled so that the array lives in
/// registers; the portable loops stay rolled, because GCC vectorizes the
/// lanes of a rolled loop but breaks an unrolled one into scalars (4x slower
/// on the depthwise kernel).
#if KILN_SIMD_PORTABLE
#define KILN_UNROLL _Pragma("GCC unroll 1")
#else
#define KILN_UNROLL _Pragma("GCC unroll 16")
#endif

/// The first |n| lanes, 0 <= n; n >= kLanes gives all.
KILN_INLINE Mask first(int n) {
  return n >= kLanes ? kAll : Mask((1u << (n < 0 ? 0 : n)) - 1);
}

#if KILN_SIMD_AVX512
/// Lanes 0..7 of |x| to the even lanes of |lo| and lanes 8..15 to those of
/// |hi| (each lane is doubled): a vector spread over 2 * kLanes floats.
KILN_INLINE void spread2_lanes(Vec x, Vec &lo, Vec &hi) {
  lo = permute(x, _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1,
                                   0, 0));
  hi = permute(x, _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11,
                                   10, 10, 9, 9, 8, 8));
}
#endif

/// Stores lane l of |x| to p[l * step] for the lanes in |m| (one group of a
/// channel shuffle); the memory between them is not touched. With AVX-512,
/// step 2 (ShuffleNetV2) is two lane permutes and two masked stores.
KILN_INLINE void store_every(float *p, Vec x, Mask m, int step) {
#if KILN_SIMD_AVX512
  if (step == 2) {
    // Bits 0..7 of |b| to bits 0, 2, ..., 14.
    auto spread = [](unsigned b) {
      b = (b | b << 4) & 0x0F0Fu;
      b = (b | b << 2) & 0x3333u;
      return Mask((b | b << 1) & 0x5555u);
    };
    Vec lo, hi;
    spread2_lanes(x, lo, hi);
    store(p, lo, spread(m & 0xFFu));
    store(p + kLanes, hi, spread(unsigned(m) >> 8));
    return;
  }
#endif
  alignas(64) float lanes[kLanes];
  store(lanes, x);
  for (int l = 0; l < kLanes; ++l)
    if ((m >> l) & 1)
      p[ptrdiff_t(l) * step] = lanes[l];
}

/// store_every(p, x, kAll, 2) for a caller that owns the floats between
/// the lanes' places too, for the moment: none of them is written by
/// another thread meanwhile (the other group of a two-group shuffle, which
/// another step writes). With AVX-512 it loads the 2 * kLanes floats,
/// blends the lanes in and stores them whole, cheaper than two half-masked
/// stores; the values between are written back unchanged.
KILN_INLINE void store_every2_blend(float *p, Vec x) {
#if KILN_SIMD_AVX512
  Vec lo, hi;
  spread2_lanes(x, lo, hi);
  store(p, _mm512_mask_blend_ps(0x5555, load(p), lo));
  store(p + kLanes, _mm512_mask_blend_ps(0x5555, load(p + kLanes), hi));
#else
  store_every(p, x, kAll, 2);
#endif
}

/// Stores a[l] to p[2 l] and b[l] to p[2 l + 1] for the first |n| lanes
/// (none for n <= 0): two vectors interleaved, both groups of a two-group
/// channel shuffle written whole. Memory past p[2 n - 1] is not touched.
KILN_INLINE void store_interleaved(float *p, Vec a, Vec b, int n) {
#if KILN_SIMD_AVX512
  const __m512i lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
                                          18, 2, 17, 1, 16, 0);
  const __m512i hi_idx = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27,
                                          11, 26, 10, 25, 9, 24, 8);
  Vec lo = _mm512_permutex2var_ps(a, lo_idx, b);
  Vec hi = _mm512_permutex2var_ps(a, hi_idx, b);
#elif KILN_SIMD_AVX2
  Vec x = _mm256_unpacklo_ps(a, b); // a0 b0 a1 b1 | a4 b4 a5 b5
  Vec y = _mm256_unpackhi_ps(a, b); // a2 b2 a3 b3 | a6 b6 a7 b7
  Vec lo = _mm256_permute2f128_ps(x, y, 0x20);
  Vec hi = _mm256_permute2f128_ps(x, y, 0x31);
#elif KILN_SIMD_NEON
  Vec lo = vzip1q_f32(a, b), hi = vzip2q_f32(a, b);
#else
  Vec lo, hi;
  for (int l = 0; l < kLanes / 2; ++l) {
    lo.v[2 * l] = a.v[l];
    lo.v[2 * l + 1] = b.v[l];
    hi.v[2 * l] = a.v[l + kLanes / 2];
    hi.v[2 * l + 1] = b.v[l + kLanes / 2];
  }
#endif
  if (n >= kLanes) {
    store(p, lo);
    store(p + kLanes, hi);
    return;
  }
  store(p, lo, first(2 * n));
  if (2 * n > kLanes)
    store(p + kLanes, hi, first(2 * n - kLanes));
}

/// Applies activation |A| (formulas in kiln/kernel_types.h) to every lane.
template <Activation A> KILN_INLINE Vec activate(Vec x) {
  if constexpr (A == Activation::None) {
    return x;
  } else if constexpr (A == Activation::Relu) {
    return max(x, zero());
  } else if constexpr (A == Activation::Relu6) {
    return min(max(x, zero()), splat(6.f));
  } else if constexpr (A == Activation::Sigmoid) {
    return div(splat(1.f), add(splat(1.f), exp(mul(x, splat(-1.f)))));
  } else if constexpr (A == Activation::HardSigmoid) {
    Vec r6 = min(max(add(x, splat(3.f)), zero()), splat(6.f));
    return div(r6, splat(6.f));
  } else if constexpr (A == Activation::HardSwish) {
    Vec r6 = min(max(add(x, splat(3.f)), zero()), splat(6.f));
    return mul(x, div(r6, splat(6.f)));
  } else {
    static_assert(A == Activation::Silu);
    return div(x, add(splat(1.f), exp(mul(x, splat(-1.f)))));
  }
}

/// act(x) for an activation known only at run time (the rarer ones: the
/// exp-based and hard ones), out of line so that each kernel instance holds
/// one copy of them, not one per accumulator.
KILN_NOINLINE inline Vec activate_slow(Vec x, Activation a) {
  switch (a) {
  case Activation::Sigmoid: return activate<Activation::Sigmoid>(x);
  case Activation::HardSigmoid: return activate<Activation::HardSigmoid>(x);
  case Activation::HardSwish: return activate<Activation::HardSwish>(x);
  case Activation::Silu: return activate<Activation::Silu>(x);
  case Activation::Relu: return activate<Activation::Relu>(x);
  case Activation::Relu6: return activate<Activation::Relu6>(x);
  case Activation::None: break;
  }
  return x;
}

/// The activations the epilogues compile inline: None, Relu, Relu6, and
/// Other (activate_slow), which covers the rest.
enum class Fast { None, Relu, Relu6, Other };

/// Calls fn(std::integral_constant<Fast, F>) for the activation |a|: the
/// epilogues are compiled once per case, outside the kernels' inner loops.
template <typename Fn> KILN_INLINE void with_activation(Activation a, Fn &&fn) {
  switch (a) {
  case Activation::None:
    return fn(std::integral_constant<Fast, Fast::None>());
  case Activation::Relu:
    return fn(std::integral_constant<Fast, Fast::Relu>());
  case Activation::Relu6:
    return fn(std::integral_constant<Fast, Fast::Relu6>());
  default:
    return fn(std::integral_constant<Fast, Fast::Other>());
  }
}

/// activate for the case F of with_activation.
template <Fast F> KILN_INLINE Vec activate(Vec x, Activation a) {
  if constexpr (F == Fast::None)
    return x;
  else if constexpr (F == Fast::Relu)
    return activate<Activation::Relu>(x);
  else if constexpr (F == Fast::Relu6)
    return activate<Activation::Relu6>(x);
  else
    return activate_slow(x, a);
}

} // namespace kiln::cpu::KILN_CPU_ISA::simd

#endif // KILN_RUNTIME_CPU_SIMD_H
