//===- kiln/cuda/emu/fp16.h - __half and __nv_bfloat16 on the host -*- C++ -*-===//
//
// This file implements the types and functions of cuda_fp16.h and
// cuda_bf16.h that device code uses, bit-exactly: every operation computes
// the exact result and rounds it once, to nearest even unless the name says
// otherwise (_rz, _rd, _ru), like the hardware's add/mul/fma.{f16,bf16}.
// (For + - * / and sqrt, rounding the binary32 result again is exact since
// 24 >= 2*11+2; fma rounds to odd in binary64 first.)
//
// As in CUDA, __half converts implicitly from and to float, and the
// arithmetic and comparison operators work on __half and __half2 (also for
// __nv_bfloat16 / __nv_bfloat162). The types are trivially copyable and
// trivially default-constructible, so arrays of them can live in
// __shared__ / KILN_SHARED storage; they are marked may_alias because device
// code reinterprets them as 32-bit words (fragments) all the time.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_FP16_H
#define KILN_CUDA_EMU_FP16_H

#include "kiln/cuda/emu/fp_convert.h"
#include "kiln/cuda/emu/lang.h"

#include <bit>
#include <concepts>
#include <cmath>
#include <cstdint>

struct __half_raw {
  unsigned short x;
};
struct __half2_raw {
  unsigned short x, y;
};
struct __nv_bfloat16_raw {
  unsigned short x;
};
struct __nv_bfloat162_raw {
  unsigned short x, y;
};

/// IEEE binary16.
struct __attribute__((aligned(2), may_alias)) __half {
  unsigned short __x;

  __half() = default;
  constexpr __half(const __half_raw &r) : __x(r.x) {}
  __half(float f) : __x(kiln::emu::fp::f32ToF16(f)) {}
  __half(double d) : __x(kiln::emu::fp::f64ToF16(d)) {}
  /// From any integer, as CUDA's int, short and long long overloads.
  template <std::integral I>
  __half(I i) : __x(kiln::emu::fp::f64ToF16(double(i))) {}
  operator float() const { return kiln::emu::fp::f16ToF32(__x); }
  operator __half_raw() const { return __half_raw{__x}; }
  __half &operator=(const __half_raw &r) {
    __x = r.x;
    return *this;
  }
  __half &operator=(float f) {
    __x = kiln::emu::fp::f32ToF16(f);
    return *this;
  }
  __half &operator=(double d) {
    __x = kiln::emu::fp::f64ToF16(d);
    return *this;
  }
};

/// Two binary16 values; x is the low 16 bits of the 32-bit word.
struct __attribute__((aligned(4), may_alias)) __half2 {
  __half x, y;
  __half2() = default;
  constexpr __half2(__half a, __half b) : x(a), y(b) {}
  constexpr __half2(const __half2_raw &r) : x(__half_raw{r.x}), y(__half_raw{r.y}) {}
  operator __half2_raw() const { return __half2_raw{x.__x, y.__x}; }
};

/// bfloat16.
struct __attribute__((aligned(2), may_alias)) __nv_bfloat16 {
  unsigned short __x;

  __nv_bfloat16() = default;
  constexpr __nv_bfloat16(const __nv_bfloat16_raw &r) : __x(r.x) {}
  __nv_bfloat16(float f) : __x(kiln::emu::fp::f32ToBf16(f)) {}
  __nv_bfloat16(double d) : __x(kiln::emu::fp::f64ToBf16(d)) {}
  /// From any integer, as CUDA's int, short and long long overloads.
  template <std::integral I>
  __nv_bfloat16(I i) : __x(kiln::emu::fp::f64ToBf16(double(i))) {}
  operator float() const { return kiln::emu::fp::bf16ToF32(__x); }
  operator __nv_bfloat16_raw() const { return __nv_bfloat16_raw{__x}; }
  __nv_bfloat16 &operator=(const __nv_bfloat16_raw &r) {
    __x = r.x;
    return *this;
  }
  __nv_bfloat16 &operator=(float f) {
    __x = kiln::emu::fp::f32ToBf16(f);
    return *this;
  }
  __nv_bfloat16 &operator=(double d) {
    __x = kiln::emu::fp::f64ToBf16(d);
    return *this;
  }
};

struct __attribute__((aligned(4), may_alias)) __nv_bfloat162 {
  __nv_bfloat16 x, y;
  __nv_bfloat162() = default;
  constexpr __nv_bfloat162(__nv_bfloat16 a, __nv_bfloat16 b) : x(a), y(b) {}
  constexpr __nv_bfloat162(const __nv_bfloat162_raw &r)
      : x(__nv_bfloat16_raw{r.x}), y(__nv_bfloat16_raw{r.y}) {}
  operator __nv_bfloat162_raw() const { return __nv_bfloat162_raw{x.__x, y.__x}; }
};

typedef __half half;
typedef __half2 half2;
typedef __nv_bfloat16 nv_bfloat16;
typedef __nv_bfloat162 nv_bfloat162;

namespace kiln::emu::fp {
using R = Round;
inline __half mkh(std::uint16_t b) { return __half(__half_raw{b}); }
inline __nv_bfloat16 mkb(std::uint16_t b) { return __nv_bfloat16(__nv_bfloat16_raw{b}); }
inline float f(__half a) { return f16ToF32(a.__x); }
inline float f(__nv_bfloat16 a) { return bf16ToF32(a.__x); }
inline __half toH(float v, R r = R::NearestEven) { return mkh(f32ToF16(v, r)); }
inline __nv_bfloat16 toB(float v, R r = R::NearestEven) { return mkb(f32ToBf16(v, r)); }
inline __half toH(double v, R r = R::NearestEven) { return mkh(f64ToF16(v, r)); }
inline __nv_bfloat16 toB(double v, R r = R::NearestEven) { return mkb(f64ToBf16(v, r)); }
inline bool isNan(__half a) { return (a.__x & 0x7fffu) > 0x7c00u; }
inline bool isNan(__nv_bfloat16 a) { return (a.__x & 0x7fffu) > 0x7f80u; }
} // namespace kiln::emu::fp

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

inline __half __float2half(float a) { return kiln::emu::fp::toH(a); }
inline __half __float2half_rn(float a) { return kiln::emu::fp::toH(a); }
inline __half __float2half_rz(float a) { return kiln::emu::fp::toH(a, kiln::emu::fp::R::TowardZero); }
inline __half __float2half_rd(float a) { return kiln::emu::fp::toH(a, kiln::emu::fp::R::Down); }
inline __half __float2half_ru(float a) { return kiln::emu::fp::toH(a, kiln::emu::fp::R::Up); }
inline __half __double2half(double a) { return kiln::emu::fp::toH(a); }
inline float __half2float(__half a) { return kiln::emu::fp::f(a); }
inline float __low2float(__half2 a) { return kiln::emu::fp::f(a.x); }
inline float __high2float(__half2 a) { return kiln::emu::fp::f(a.y); }
inline __half2 __float2half2_rn(float a) { return __half2(__float2half(a), __float2half(a)); }
inline __half2 __floats2half2_rn(float a, float b) { return __half2(__float2half(a), __float2half(b)); }
inline __half2 __float22half2_rn(float2 a) { return __floats2half2_rn(a.x, a.y); }
inline float2 __half22float2(__half2 a) { return float2{__half2float(a.x), __half2float(a.y)}; }
inline __half2 __halves2half2(__half a, __half b) { return __half2(a, b); }
inline __half2 __half2half2(__half a) { return __half2(a, a); }
inline __half __low2half(__half2 a) { return a.x; }
inline __half __high2half(__half2 a) { return a.y; }
inline __half2 __low2half2(__half2 a) { return __half2(a.x, a.x); }
inline __half2 __high2half2(__half2 a) { return __half2(a.y, a.y); }
inline __half2 __lows2half2(__half2 a, __half2 b) { return __half2(a.x, b.x); }
inline __half2 __highs2half2(__half2 a, __half2 b) { return __half2(a.y, b.y); }
inline __half2 __lowhigh2highlow(__half2 a) { return __half2(a.y, a.x); }
inline __half2 make_half2(__half a, __half b) { return __half2(a, b); }
inline short __half_as_short(__half a) { return short(a.__x); }
inline unsigned short __half_as_ushort(__half a) { return a.__x; }
inline __half __short_as_half(short a) { return kiln::emu::fp::mkh((unsigned short)a); }
inline __half __ushort_as_half(unsigned short a) { return kiln::emu::fp::mkh(a); }
inline __half __int2half_rn(int i) { return kiln::emu::fp::toH(double(i)); }
inline __half __uint2half_rn(unsigned i) { return kiln::emu::fp::toH(double(i)); }
inline int __half2int_rn(__half a) { return int(std::nearbyint(__half2float(a))); }
inline int __half2int_rz(__half a) { return int(__half2float(a)); }

inline __nv_bfloat16 __float2bfloat16(float a) { return kiln::emu::fp::toB(a); }
inline __nv_bfloat16 __float2bfloat16_rn(float a) { return kiln::emu::fp::toB(a); }
inline __nv_bfloat16 __float2bfloat16_rz(float a) { return kiln::emu::fp::toB(a, kiln::emu::fp::R::TowardZero); }
inline __nv_bfloat16 __float2bfloat16_rd(float a) { return kiln::emu::fp::toB(a, kiln::emu::fp::R::Down); }
inline __nv_bfloat16 __float2bfloat16_ru(float a) { return kiln::emu::fp::toB(a, kiln::emu::fp::R::Up); }
inline __nv_bfloat16 __double2bfloat16(double a) { return kiln::emu::fp::toB(a); }
inline float __bfloat162float(__nv_bfloat16 a) { return kiln::emu::fp::f(a); }
inline float __low2float(__nv_bfloat162 a) { return kiln::emu::fp::f(a.x); }
inline float __high2float(__nv_bfloat162 a) { return kiln::emu::fp::f(a.y); }
inline __nv_bfloat162 __float2bfloat162_rn(float a) { return __nv_bfloat162(__float2bfloat16(a), __float2bfloat16(a)); }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return __nv_bfloat162(__float2bfloat16(a), __float2bfloat16(b)); }
inline __nv_bfloat162 __float22bfloat162_rn(float2 a) { return __floats2bfloat162_rn(a.x, a.y); }
inline float2 __bfloat1622float2(__nv_bfloat162 a) { return float2{__bfloat162float(a.x), __bfloat162float(a.y)}; }
inline __nv_bfloat162 __halves2bfloat162(__nv_bfloat16 a, __nv_bfloat16 b) { return __nv_bfloat162(a, b); }
inline __nv_bfloat162 __bfloat162bfloat162(__nv_bfloat16 a) { return __nv_bfloat162(a, a); }
inline __nv_bfloat16 __low2bfloat16(__nv_bfloat162 a) { return a.x; }
inline __nv_bfloat16 __high2bfloat16(__nv_bfloat162 a) { return a.y; }
inline __nv_bfloat162 make_bfloat162(__nv_bfloat16 a, __nv_bfloat16 b) { return __nv_bfloat162(a, b); }
inline short __bfloat16_as_short(__nv_bfloat16 a) { return short(a.__x); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 a) { return a.__x; }
inline __nv_bfloat16 __short_as_bfloat16(short a) { return kiln::emu::fp::mkb((unsigned short)a); }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short a) { return kiln::emu::fp::mkb(a); }
inline __nv_bfloat16 __int2bfloat16_rn(int i) { return kiln::emu::fp::toB(double(i)); }
inline __half __bfloat162half(__nv_bfloat16 a) { return __float2half(__bfloat162float(a)); }

//===----------------------------------------------------------------------===//
// Arithmetic (one rounding each), for __half and __nv_bfloat16
//===----------------------------------------------------------------------===//

#define KILN_EMU_FP16_OPS(T, TO, BF)                                            \
  inline T __hadd(T a, T b) { return TO(kiln::emu::fp::f(a) + kiln::emu::fp::f(b)); } \
  inline T __hsub(T a, T b) { return TO(kiln::emu::fp::f(a) - kiln::emu::fp::f(b)); } \
  inline T __hmul(T a, T b) { return TO(kiln::emu::fp::f(a) * kiln::emu::fp::f(b)); } \
  inline T __hdiv(T a, T b) { return TO(kiln::emu::fp::f(a) / kiln::emu::fp::f(b)); } \
  inline T __hadd_rn(T a, T b) { return __hadd(a, b); }                        \
  inline T __hsub_rn(T a, T b) { return __hsub(a, b); }                        \
  inline T __hmul_rn(T a, T b) { return __hmul(a, b); }                        \
  inline T __hfma(T a, T b, T c) {                                              \
    T r;                                                                        \
    r.__x = kiln::emu::fp::fmaNarrow<BF>(kiln::emu::fp::f(a), kiln::emu::fp::f(b), \
                                         kiln::emu::fp::f(c));                  \
    return r;                                                                   \
  }                                                                             \
  inline T __hfma_relu(T a, T b, T c) {                                         \
    T r = __hfma(a, b, c);                                                      \
    return kiln::emu::fp::isNan(r) || kiln::emu::fp::f(r) > 0 ? r : T(0.0f);   \
  }                                                                             \
  inline T __hneg(T a) {                                                        \
    a.__x ^= 0x8000u;                                                           \
    return a;                                                                   \
  }                                                                             \
  inline T __habs(T a) {                                                        \
    a.__x &= 0x7fffu;                                                           \
    return a;                                                                   \
  }                                                                             \
  inline T __hmax(T a, T b) {                                                   \
    if (kiln::emu::fp::isNan(a))                                                \
      return kiln::emu::fp::isNan(b) ? T(__builtin_nanf("")) : b;               \
    if (kiln::emu::fp::isNan(b))                                                \
      return a;                                                                 \
    float x = kiln::emu::fp::f(a), y = kiln::emu::fp::f(b);                     \
    if (x == y)                                                                 \
      return (a.__x & 0x8000u) ? b : a; /* max(-0, +0) = +0 */                 \
    return x > y ? a : b;                                                       \
  }                                                                             \
  inline T __hmin(T a, T b) {                                                   \
    if (kiln::emu::fp::isNan(a))                                                \
      return kiln::emu::fp::isNan(b) ? T(__builtin_nanf("")) : b;               \
    if (kiln::emu::fp::isNan(b))                                                \
      return a;                                                                 \
    float x = kiln::emu::fp::f(a), y = kiln::emu::fp::f(b);                     \
    if (x == y)                                                                 \
      return (a.__x & 0x8000u) ? a : b;                                         \
    return x < y ? a : b;                                                       \
  }                                                                             \
  inline bool __heq(T a, T b) { return kiln::emu::fp::f(a) == kiln::emu::fp::f(b); } \
  inline bool __hne(T a, T b) { return !kiln::emu::fp::isNan(a) && !kiln::emu::fp::isNan(b) && kiln::emu::fp::f(a) != kiln::emu::fp::f(b); } \
  inline bool __hlt(T a, T b) { return kiln::emu::fp::f(a) < kiln::emu::fp::f(b); } \
  inline bool __hle(T a, T b) { return kiln::emu::fp::f(a) <= kiln::emu::fp::f(b); } \
  inline bool __hgt(T a, T b) { return kiln::emu::fp::f(a) > kiln::emu::fp::f(b); } \
  inline bool __hge(T a, T b) { return kiln::emu::fp::f(a) >= kiln::emu::fp::f(b); } \
  inline bool __hisnan(T a) { return kiln::emu::fp::isNan(a); }                \
  inline int __hisinf(T a) {                                                    \
    if ((a.__x & 0x7fffu) != (BF ? 0x7f80u : 0x7c00u))                          \
      return 0;                                                                 \
    return (a.__x & 0x8000u) ? -1 : 1;                                          \
  }                                                                             \
  inline T operator+(const T &a, const T &b) { return __hadd(a, b); }          \
  inline T operator-(const T &a, const T &b) { return __hsub(a, b); }          \
  inline T operator*(const T &a, const T &b) { return __hmul(a, b); }          \
  inline T operator/(const T &a, const T &b) { return __hdiv(a, b); }          \
  inline T &operator+=(T &a, const T &b) { return a = __hadd(a, b); }          \
  inline T &operator-=(T &a, const T &b) { return a = __hsub(a, b); }          \
  inline T &operator*=(T &a, const T &b) { return a = __hmul(a, b); }          \
  inline T &operator/=(T &a, const T &b) { return a = __hdiv(a, b); }          \
  inline T operator+(const T &a) { return a; }                                 \
  inline T operator-(const T &a) { return __hneg(a); }                         \
  inline bool operator==(const T &a, const T &b) { return __heq(a, b); }       \
  inline bool operator!=(const T &a, const T &b) { return __hne(a, b); }       \
  inline bool operator<(const T &a, const T &b) { return __hlt(a, b); }        \
  inline bool operator<=(const T &a, const T &b) { return __hle(a, b); }       \
  inline bool operator>(const T &a, const T &b) { return __hgt(a, b); }        \
  inline bool operator>=(const T &a, const T &b) { return __hge(a, b); }       \
  inline T hsqrt(T a) { return TO(std::sqrt(kiln::emu::fp::f(a))); }          \
  inline T hrsqrt(T a) { return TO(1.0f / std::sqrt(kiln::emu::fp::f(a))); }   \
  inline T hrcp(T a) { return TO(1.0f / kiln::emu::fp::f(a)); }                \
  inline T hexp(T a) { return TO(std::exp(kiln::emu::fp::f(a))); }             \
  inline T hlog(T a) { return TO(std::log(kiln::emu::fp::f(a))); }             \
  inline T htanh(T a) { return TO(std::tanh(kiln::emu::fp::f(a))); }

KILN_EMU_FP16_OPS(__half, kiln::emu::fp::toH, false)
KILN_EMU_FP16_OPS(__nv_bfloat16, kiln::emu::fp::toB, true)
#undef KILN_EMU_FP16_OPS

#define KILN_EMU_FP16X2_OPS(T2, T)                                              \
  inline T2 __hadd2(T2 a, T2 b) { return T2(__hadd(a.x, b.x), __hadd(a.y, b.y)); } \
  inline T2 __hsub2(T2 a, T2 b) { return T2(__hsub(a.x, b.x), __hsub(a.y, b.y)); } \
  inline T2 __hmul2(T2 a, T2 b) { return T2(__hmul(a.x, b.x), __hmul(a.y, b.y)); } \
  inline T2 __h2div(T2 a, T2 b) { return T2(__hdiv(a.x, b.x), __hdiv(a.y, b.y)); } \
  inline T2 __hfma2(T2 a, T2 b, T2 c) {                                         \
    return T2(__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y));                    \
  }                                                                             \
  inline T2 __hfma2_relu(T2 a, T2 b, T2 c) {                                    \
    return T2(__hfma_relu(a.x, b.x, c.x), __hfma_relu(a.y, b.y, c.y));          \
  }                                                                             \
  inline T2 __hneg2(T2 a) { return T2(__hneg(a.x), __hneg(a.y)); }             \
  inline T2 __habs2(T2 a) { return T2(__habs(a.x), __habs(a.y)); }             \
  inline T2 __hmax2(T2 a, T2 b) { return T2(__hmax(a.x, b.x), __hmax(a.y, b.y)); } \
  inline T2 __hmin2(T2 a, T2 b) { return T2(__hmin(a.x, b.x), __hmin(a.y, b.y)); } \
  inline T2 operator+(const T2 &a, const T2 &b) { return __hadd2(a, b); }      \
  inline T2 operator-(const T2 &a, const T2 &b) { return __hsub2(a, b); }      \
  inline T2 operator*(const T2 &a, const T2 &b) { return __hmul2(a, b); }      \
  inline T2 operator/(const T2 &a, const T2 &b) { return __h2div(a, b); }      \
  inline T2 &operator+=(T2 &a, const T2 &b) { return a = __hadd2(a, b); }      \
  inline T2 &operator-=(T2 &a, const T2 &b) { return a = __hsub2(a, b); }      \
  inline T2 &operator*=(T2 &a, const T2 &b) { return a = __hmul2(a, b); }      \
  inline T2 operator-(const T2 &a) { return __hneg2(a); }                      \
  inline bool operator==(const T2 &a, const T2 &b) { return a.x == b.x && a.y == b.y; } \
  inline bool operator!=(const T2 &a, const T2 &b) { return a.x != b.x && a.y != b.y; }

KILN_EMU_FP16X2_OPS(__half2, __half)
KILN_EMU_FP16X2_OPS(__nv_bfloat162, __nv_bfloat16)
#undef KILN_EMU_FP16X2_OPS

#endif // KILN_CUDA_EMU_FP16_H
