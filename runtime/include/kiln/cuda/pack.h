//===- pack.h - host-side weight packing for the CUDA kernels ---*- C++ -*-===//
//
// This file implements the weight transforms the model's prepare step runs
// once, on the host, before the CUDA kernels see the weights: conversion from
// fp32 to the kernel's precision (round to nearest even for fp16 and bf16,
// round to nearest with ties away for tf32, as cvt.rna.tf32 does) and the
// layout each kernel family reads:
//  * implicit GEMM (dense, wide groups, linear): [groups][og][kp] with each
//    output channel's K = (ky, kx, ci) contiguous and zero-padded to kp (a
//    multiple of 128 bytes), the B operand of the GEMM ("K-major");
//  * direct convolution (depthwise, narrow groups): [kh][kw][cg][o], so that
//    a thread's consecutive output channels read one vector per tap;
//  * squeeze-and-excitation: fp32 whatever the precision (two tiny matrices
//    whose gate multiplies every activation of the block).
// The layout depends on the shape and precision, and for the sm_90a kernel
// (a schedule with warpgroups) on its tile rows; packing may run at build
// time; it needs no CUDA header.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_PACK_H
#define KILN_RUNTIME_CUDA_PACK_H

#include "kiln/cuda/schedule.h"

#include <cstring>

namespace kiln::cuda {

//===----------------------------------------------------------------------===//
// Rounding to the storage precisions (bit patterns)
//===----------------------------------------------------------------------===//

inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

/// fp32 -> IEEE binary16, round to nearest even (as __float2half_rn).
inline uint16_t float_to_half_bits(float x) {
  uint32_t u = float_bits(x);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t exp = (u >> 23) & 0xff, mant = u & 0x7fffff;
  if (exp == 0xff) // inf or nan (keep nan quiet)
    return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));
  int e = int(exp) - 127 + 15;
  if (e >= 31)
    return uint16_t(sign | 0x7c00);
  if (e <= 0) { // subnormal half, or zero
    if (e < -10)
      return sign;
    mant |= 0x800000;
    int shift = 14 - e; // 24-bit significand -> 10 - (1 - e) bits
    uint32_t h = mant >> shift, rest = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1)))
      ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = (uint32_t(e) << 10) | (mant >> 13), rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h; // may carry into the exponent, up to infinity: still correct
  return uint16_t(sign | h);
}

/// fp32 -> bfloat16, round to nearest even (as __float2bfloat16_rn).
inline uint16_t float_to_bf16_bits(float x) {
  uint32_t u = float_bits(x);
  if ((u & 0x7f800000) == 0x7f800000 && (u & 0x7fffff))
    return uint16_t((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

/// fp32 rounded to tf32 (10 mantissa bits), ties away from zero, as
/// cvt.rna.tf32.f32; the kernels round their activations the same way.
inline float round_to_tf32(float x) {
  uint32_t u = float_bits(x);
  if ((u & 0x7f800000) != 0x7f800000)
    u = (u + 0x1000) & 0xffffe000;
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

/// Stores |x| as element |i| of an array of precision |p|.
inline void store_element(void *dst, size_t i, float x, Precision p) {
  switch (p) {
  case Precision::F32:
    static_cast<float *>(dst)[i] = x;
    break;
  case Precision::TF32:
    static_cast<float *>(dst)[i] = round_to_tf32(x);
    break;
  case Precision::F16:
    static_cast<uint16_t *>(dst)[i] = float_to_half_bits(x);
    break;
  case Precision::BF16:
    static_cast<uint16_t *>(dst)[i] = float_to_bf16_bits(x);
    break;
  }
}

//===----------------------------------------------------------------------===//
// Convolution and linear weights
//===----------------------------------------------------------------------===//

/// Bytes of packed weights conv2d_pack writes for |s| in precision |p|.
constexpr size_t conv2d_packed_size(const Conv2d &s, Precision p) {
  size_t es = size_t(element_bytes(p));
  if (conv_uses_gemm(s)) {
    GemmGeometry g = gemm_geometry(s, p);
    return size_t(s.groups) * g.og * g.kp * es;
  }
  return size_t(s.kh) * s.kw * (s.c / s.groups) * s.o * es;
}

/// Packs OIHW fp32 weights [o][c / groups][kh][kw] into |packed| (which
/// holds conv2d_packed_size(s, p) bytes and is 16-byte aligned).
inline void conv2d_pack(const Conv2d &s, Precision p, const float *oihw,
                        void *packed) {
  int cg = s.c / s.groups, taps = s.kh * s.kw;
  auto weight = [&](int o, int ci, int tap) {
    return oihw[(size_t(o) * cg + ci) * taps + tap];
  };
  if (conv_uses_gemm(s)) {
    GemmGeometry g = gemm_geometry(s, p);
    for (int o = 0; o < s.o; ++o)
      for (int k = 0; k < g.kp; ++k) {
        int tap = k / cg, ci = k % cg;
        float v = k < g.k ? weight(o, ci, tap) : 0.f;
        store_element(packed, size_t(o) * g.kp + k, v, p);
      }
    return;
  }
  for (int tap = 0; tap < taps; ++tap)
    for (int ci = 0; ci < cg; ++ci)
      for (int o = 0; o < s.o; ++o)
        store_element(packed, (size_t(tap) * cg + ci) * s.o + o,
                      weight(o, ci, tap), p);
}

/// Bytes of packed weights for schedule |t|: the sm_90a kernel's layout
/// (wgmma.cuh, WgmmaGeometry) when t.warpgroups > 0, else the one above.
constexpr size_t conv2d_packed_size(const Conv2d &s, Precision p, const Schedule &t) {
  if (t.warpgroups > 0 && conv_uses_gemm(s))
    return size_t(s.o) * size_t(wgmma_geometry(s, p, t.bm).kp) * size_t(element_bytes(p));
  return conv2d_packed_size(s, p);
}

/// Packs for schedule |t|. The sm_90a layout is [o][kp], K in the order of
/// its K steps: a tap's channels zero-padded to cpad (a multiple of bk, or
/// the 16 bytes of the packed stem), taps in order, zeros past the last tap.
inline void conv2d_pack(const Conv2d &s, Precision p, const Schedule &t, const float *oihw,
                        void *packed) {
  if (t.warpgroups == 0 || !conv_uses_gemm(s)) {
    conv2d_pack(s, p, oihw, packed);
    return;
  }
  const WgmmaGeometry g = wgmma_geometry(s, p, t.bm);
  const int taps = s.kh * s.kw;
  for (int o = 0; o < s.o; ++o)
    for (int k = 0; k < g.kp; ++k) {
      int tap, ci;
      if (g.packed) {
        tap = k / g.cpad, ci = k % g.cpad;
      } else {
        int step = k / g.bk;
        tap = step / g.chunks, ci = (step % g.chunks) * g.bk + k % g.bk;
      }
      float v = tap < taps && ci < s.c ? oihw[(size_t(o) * s.c + ci) * taps + tap] : 0.f;
      store_element(packed, size_t(o) * g.kp + k, v, p);
    }
}

/// A Linear weight [n][k] is an OIHW weight [n][k][1][1].
constexpr size_t linear_packed_size(const Linear &s, Precision p) {
  return conv2d_packed_size(linear_as_conv(s), p);
}
inline void linear_pack(const Linear &s, Precision p, const float *weight,
                        void *packed) {
  conv2d_pack(linear_as_conv(s), p, weight, packed);
}

//===----------------------------------------------------------------------===//
// Squeeze-and-excitation
//===----------------------------------------------------------------------===//

/// Bytes of each of the two packed SE matrices (fp32 [r][c]).
constexpr size_t se_packed_size(const SqueezeExcite &s) {
  return size_t(s.r) * s.c * 4;
}
/// conv_reduce.weight [r][c][1][1] is already [r][c].
inline void se_pack_reduce(const SqueezeExcite &s, const float *w1,
                           void *packed) {
  std::memcpy(packed, w1, se_packed_size(s));
}
/// conv_expand.weight [c][r][1][1] is transposed to [r][c], so that the
/// threads computing consecutive gates read consecutive weights.
inline void se_pack_expand(const SqueezeExcite &s, const float *w2,
                           void *packed) {
  float *dst = static_cast<float *>(packed);
  for (int c = 0; c < s.c; ++c)
    for (int r = 0; r < s.r; ++r)
      dst[size_t(r) * s.c + c] = w2[size_t(c) * s.r + r];
}

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_PACK_H
