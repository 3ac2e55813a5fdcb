//===- kiln/cuda/emu/fp_convert.h - bit-exact fp16/bf16/tf32 rounding -*- C++ -*-===//
//
// This file implements the conversions between binary32/binary64 and the
// 16-bit formats (IEEE binary16 "half", bfloat16) and TF32 on plain bit
// patterns, with every rounding mode CUDA exposes. They are constexpr, depend
// on nothing CUDA, and are shared by the emulator's __half/__nv_bfloat16 types
// and by tests that compute expected device results on the host.
//
// Conventions that match the hardware (and cuda_fp16.hpp / cuda_bf16.hpp):
//   * a NaN converted to half or bfloat16 becomes the canonical 0x7fff;
//   * overflow gives infinity in round-to-nearest and the largest finite
//     value when the rounding direction points towards zero;
//   * subnormals are kept (no flush to zero).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_FP_CONVERT_H
#define KILN_CUDA_EMU_FP_CONVERT_H

#include <bit>
#include <cstdint>
#include <type_traits>

namespace kiln::emu::fp {

/// IEEE rounding directions; NearestAway is PTX's .rna (ties away from zero).
enum class Round : std::uint8_t { NearestEven, TowardZero, Down, Up, NearestAway };

/// Rounds the exact value (-1)^|neg| * |m| * 2^|e| to a binary format with
/// |FracBits| stored fraction bits and |ExpBits| exponent bits, and returns
/// its bit pattern (sign included). |m| may be any 64-bit integer.
template <int FracBits, int ExpBits>
constexpr std::uint32_t roundPack(bool neg, std::uint64_t m, int e, Round r) {
  constexpr int bias = (1 << (ExpBits - 1)) - 1;
  constexpr int emin = 1 - bias;                     // exponent of the smallest normal
  constexpr std::uint32_t infBits = ((1u << ExpBits) - 1u) << FracBits;
  const std::uint32_t sign = neg ? (1u << (FracBits + ExpBits)) : 0u;
  if (m == 0)
    return sign;
  // The value lies in [2^E, 2^(E+1)).
  const int msb = 63 - std::countl_zero(m);
  const int E = msb + e;
  // Exponent of the unit in the last place of the result.
  const int ulpExp = (E < emin ? emin : E) - FracBits;
  const int shift = ulpExp - e;
  std::uint64_t q;
  bool roundUp = false;
  if (shift <= 0) {
    q = m << -shift; // exact (the caller never asks for more than 64 bits)
  } else {
    std::uint64_t rem, halfway;
    if (shift >= 64) {
      q = 0;
      rem = m;
      halfway = 0; // the remainder is below one half ulp: only directed modes round up
      const bool inexact = rem != 0;
      switch (r) {
      case Round::Up: roundUp = inexact && !neg; break;
      case Round::Down: roundUp = inexact && neg; break;
      default: break;
      }
    } else {
      q = m >> shift;
      rem = m & ((std::uint64_t(1) << shift) - 1);
      halfway = std::uint64_t(1) << (shift - 1);
      switch (r) {
      case Round::NearestEven: roundUp = rem > halfway || (rem == halfway && (q & 1)); break;
      case Round::NearestAway: roundUp = rem >= halfway; break;
      case Round::TowardZero: break;
      case Round::Up: roundUp = rem != 0 && !neg; break;
      case Round::Down: roundUp = rem != 0 && neg; break;
      }
    }
    (void)halfway;
  }
  q += roundUp ? 1 : 0;
  // Assemble: a normal result has its implicit bit at 2^FracBits, which the
  // addition carries into the exponent field (so does a rounding carry).
  std::uint64_t bits = E < emin ? q : (std::uint64_t(E - emin) << FracBits) + q;
  if (bits >= infBits) {
    const bool toInf = r == Round::NearestEven || r == Round::NearestAway ||
                       (r == Round::Up && !neg) || (r == Round::Down && neg);
    bits = toInf ? infBits : infBits - 1;
  }
  return sign | std::uint32_t(bits);
}

/// Decomposes a finite nonzero float into |m| * 2^|e|.
constexpr void decompose(float f, std::uint64_t &m, int &e) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f) & 0x7fffffffu;
  const int be = int(x >> 23);
  m = x & 0x7fffffu;
  if (be == 0) {
    e = -149;
  } else {
    m |= 0x800000u;
    e = be - 150;
  }
}

constexpr void decompose(double d, std::uint64_t &m, int &e) {
  const std::uint64_t x = std::bit_cast<std::uint64_t>(d) & 0x7fffffffffffffffull;
  const int be = int(x >> 52);
  m = x & 0xfffffffffffffull;
  if (be == 0) {
    e = -1074;
  } else {
    m |= 0x10000000000000ull;
    e = be - 1075;
  }
}

template <int FracBits, int ExpBits, typename F>
constexpr std::uint16_t narrow(F f, Round r) {
  constexpr std::uint32_t infBits = ((1u << ExpBits) - 1u) << FracBits;
  constexpr std::uint32_t signBit = 1u << (FracBits + ExpBits);
  using Bits = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;
  constexpr int topBit = int(sizeof(F) * 8 - 1);
  const Bits x = std::bit_cast<Bits>(f);
  const bool neg = (x >> topBit) != 0;
  if (f != f)
    return 0x7fff; // canonical NaN, as cvt.rn.{f16,bf16}.f32 produce
  if (f - f != F(0))
    return std::uint16_t((neg ? signBit : 0u) | infBits); // infinity
  std::uint64_t m = 0;
  int e = 0;
  if (f != F(0))
    decompose(f, m, e);
  return std::uint16_t(roundPack<FracBits, ExpBits>(neg, m, e, r));
}

/// binary32 -> binary16 (cvt.{rn,rz,rm,rp}.f16.f32).
constexpr std::uint16_t f32ToF16(float f, Round r = Round::NearestEven) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t ax = x & 0x7fffffffu;
  // Fast path: round to nearest even of a value whose result is a normal half.
  if (r == Round::NearestEven && ax >= 0x38800000u && ax < 0x477ff000u)
    return std::uint16_t(((x >> 16) & 0x8000u) |
                         ((ax - 0x38000000u + 0xfffu + ((ax >> 13) & 1u)) >> 13));
  return narrow<10, 5>(f, r);
}
/// binary64 -> binary16 with one rounding (cvt.rn.f16.f64).
constexpr std::uint16_t f64ToF16(double d, Round r = Round::NearestEven) {
  return narrow<10, 5>(d, r);
}
/// binary32 -> bfloat16 (cvt.{rn,rz,...}.bf16.f32).
constexpr std::uint16_t f32ToBf16(float f, Round r = Round::NearestEven) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  // Fast path: round to nearest even of anything but NaN (overflow carries
  // into infinity by itself).
  if (r == Round::NearestEven && (x & 0x7fffffffu) <= 0x7f800000u)
    return std::uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
  return narrow<7, 8>(f, r);
}
constexpr std::uint16_t f64ToBf16(double d, Round r = Round::NearestEven) {
  return narrow<7, 8>(d, r);
}

/// binary16 -> binary32, exact. NaN payloads are kept (shifted).
constexpr float f16ToF32(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t man = h & 0x3ffu;
  if (exp == 0x1f)
    return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    // Subnormal or zero: man * 2^-24, exact in binary32.
    const float mag = float(man) * (1.0f / 16777216.0f);
    return sign ? -mag : mag;
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
}

/// bfloat16 -> binary32, exact.
constexpr float bf16ToF32(std::uint16_t b) {
  return std::bit_cast<float>(std::uint32_t(b) << 16);
}

/// cvt.rna.tf32.f32: rounds the fraction to 10 bits, ties away from zero,
/// and returns the binary32 pattern with the 13 low bits cleared. Infinity is
/// kept; NaN becomes the canonical 0x7fffffff (what sm_80/sm_90 return).
constexpr std::uint32_t f32ToTf32(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return 0x7fffffffu;
  return (x + 0x1000u) & 0xffffe000u;
}

/// What mma .tf32 reads of an operand register: the hardware uses the 19
/// high bits and ignores the 13 low ones (truncation toward zero).
constexpr float tf32Operand(std::uint32_t bits) {
  return std::bit_cast<float>(bits & 0xffffe000u);
}

/// Returns a*b + c rounded once to binary16 / bfloat16. The product of two
/// 16-bit values is exact in binary64; the sum is rounded to odd in binary64
/// (exact sticky bit), after which the narrowing rounding is correct.
template <bool Bf16>
inline std::uint16_t fmaNarrow(float a, float b, float c, Round r = Round::NearestEven) {
  const double p = double(a) * double(b);
  const double s = p + double(c);
  // TwoSum: s + err == p + c exactly (when nothing overflows).
  const double bb = s - p;
  const double err = (p - (s - bb)) + (double(c) - bb);
  double odd = s;
  if (err != 0 && s == s && s - s == 0) {
    std::uint64_t bits = std::bit_cast<std::uint64_t>(s);
    if ((bits & 1) == 0) {
      // Step one ulp toward the exact value: its other neighbour is odd.
      const bool awayFromZero = (err > 0) == (s > 0);
      bits += awayFromZero ? 1 : std::uint64_t(-1);
      odd = std::bit_cast<double>(bits);
    }
  }
  return Bf16 ? f64ToBf16(odd, r) : f64ToF16(odd, r);
}

} // namespace kiln::emu::fp

#endif // KILN_CUDA_EMU_FP_CONVERT_H
