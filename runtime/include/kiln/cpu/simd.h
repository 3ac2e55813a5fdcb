//===- simd.h - the vector type of the CPU kernels -------------*- C++ -*-===//
//
// This file defines kiln::cpu::simd, a minimal vector of 16 floats with the
// operations the kernels need (masked loads and stores, FMA, broadcast,
// lane permutation, the epilogue activations). Each kernel is written once
// against it; there are two implementations:
//  * AVX-512 intrinsics, when the translation unit is compiled with
//    AVX-512F (-march=native on the machines kiln targets), and
//  * plain 16-lane loops otherwise, which GCC auto-vectorizes for whatever
//    the target has (AVX2, NEON, ...), with std::exp for the sigmoid.
//    kiln-kernel-test passes with it too (build it without AVX-512, e.g.
//    -march=x86-64-v3). On AVX2 it runs the GEMM at ~60 GFLOP/s per core
//    (half the AVX-512 speed) and depthwise layers at ~10.
// Masks are bit sets over the 16 lanes in both (__mmask16 is an integer).
//
// Part of kernels.h, which includes it after declaring Activation; include
// that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_SIMD_H
#define KILN_RUNTIME_CPU_SIMD_H

#include <cmath>
#include <cstdint>

#if defined(__AVX512F__)
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
#endif

// KILN_INLINE for small helpers that must vanish into their caller;
// KILN_NOINLINE for the microkernels, so that every layer with the same tile
// calls one shared instance (compile time, code size).
#if defined(__GNUC__)
#define KILN_INLINE inline __attribute__((always_inline))
#define KILN_NOINLINE __attribute__((noinline))
#else
#define KILN_INLINE inline
#define KILN_NOINLINE
#endif

namespace kiln::cpu::simd {

/// Floats per vector.
inline constexpr int kLanes = 16;

/// Lane indices for permute(): lane l of the result takes lane idx[l].
struct Index {
  int32_t lane[kLanes];
};

#if defined(__AVX512F__)

using Vec = __m512;
using Mask = __mmask16;
using IndexVec = __m512i;

KILN_INLINE Vec zero() { return _mm512_setzero_ps(); }
KILN_INLINE Vec splat(float x) { return _mm512_set1_ps(x); }
KILN_INLINE Vec load(const float *p) { return _mm512_loadu_ps(p); }
/// Loads the lanes in |m|; the others are 0 and are not read from memory.
KILN_INLINE Vec load(const float *p, Mask m) {
  return _mm512_maskz_loadu_ps(m, p);
}
KILN_INLINE void store(float *p, Vec x) { _mm512_storeu_ps(p, x); }
/// Stores the lanes in |m|; memory under the other lanes is not touched.
KILN_INLINE void store(float *p, Vec x, Mask m) {
  _mm512_mask_storeu_ps(p, m, x);
}
/// a * b + c, rounded once.
KILN_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
KILN_INLINE Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
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

/// e^x to ~1 ulp: x = n ln2 + r with |r| <= ln2/2, e^r by its degree-7
/// Taylor polynomial (truncation error < 6e-9 relative on that interval),
/// times 2^n with vscalefps, which also gives 0 and +inf for huge |n|.
KILN_INLINE Vec exp(Vec x) {
  x = _mm512_max_ps(_mm512_min_ps(x, splat(100.f)), splat(-110.f));
  Vec n = _mm512_roundscale_ps(_mm512_mul_ps(x, splat(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln2 in two parts: n * kLn2Hi is exact for |n| < 2^8.
  Vec r = _mm512_fnmadd_ps(n, splat(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, splat(1.428606765330187e-06f), r);
  Vec p = splat(1.f / 5040);
  p = fma(p, r, splat(1.f / 720));
  p = fma(p, r, splat(1.f / 120));
  p = fma(p, r, splat(1.f / 24));
  p = fma(p, r, splat(1.f / 6));
  p = fma(p, r, splat(0.5f));
  p = fma(p, r, splat(1.f));
  p = fma(p, r, splat(1.f));
  return _mm512_scalef_ps(p, n);
}

#else // Portable fallback: per-lane loops.

// An array rather than a GCC vector_size(64) type: GCC vectorizes the
// microkernels' lane loops over it for AVX2 at ~half the AVX-512 speed,
// while it lowers over-wide generic vectors to scalar code (measured 18x
// slower).
struct Vec {
  float v[kLanes];
};
using Mask = uint32_t;
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
  if (m == 0xFFFF)
    return load(p);
  KILN_LANES((m >> l) & 1 ? p[l] : 0.f);
}
KILN_INLINE void store(float *p, Vec x, Mask m) {
  if (m == 0xFFFF)
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

/// Precedes a short loop over an array of vectors (accumulators, taps).
/// With AVX-512 it is fully unrolled so that the array lives in registers;
/// the fallback keeps it rolled, because GCC vectorizes the lanes of a
/// rolled loop but breaks an unrolled one into scalars (4x slower on the
/// depthwise kernel).
#if defined(__AVX512F__)
#define KILN_UNROLL _Pragma("GCC unroll 16")
#else
#define KILN_UNROLL _Pragma("GCC unroll 1")
#endif

/// The first |n| lanes, 0 <= n; n >= kLanes gives all.
KILN_INLINE Mask first(int n) {
  return n >= kLanes ? Mask(0xFFFF) : Mask((1u << (n < 0 ? 0 : n)) - 1);
}

/// Stores lane l of |x| to p[l * step] for the lanes in |m| (one group of a
/// channel shuffle); the memory between them is not touched. With AVX-512,
/// step 2 (ShuffleNetV2) is two lane permutes and two masked stores.
KILN_INLINE void store_every(float *p, Vec x, Mask m, int step) {
#if defined(__AVX512F__)
  if (step == 2) {
    // Bits 0..7 of |b| to bits 0, 2, ..., 14.
    auto spread = [](unsigned b) {
      b = (b | b << 4) & 0x0F0Fu;
      b = (b | b << 2) & 0x3333u;
      return Mask((b | b << 1) & 0x5555u);
    };
    const IndexVec lo = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2,
                                         1, 1, 0, 0);
    const IndexVec hi = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11,
                                         11, 10, 10, 9, 9, 8, 8);
    store(p, permute(x, lo), spread(m & 0xFFu));
    store(p + kLanes, permute(x, hi), spread(unsigned(m) >> 8));
    return;
  }
#endif
  alignas(64) float lanes[kLanes];
  store(lanes, x);
  for (int l = 0; l < kLanes; ++l)
    if ((m >> l) & 1)
      p[ptrdiff_t(l) * step] = lanes[l];
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

} // namespace kiln::cpu::simd

#endif // KILN_RUNTIME_CPU_SIMD_H
