//===- kiln/cuda/emu/lang.h - CUDA language keywords on the host -*- C++ -*-===//
//
// This file maps the CUDA C++ language extensions to plain C++20 so that a
// .cu file compiles with g++: the function and variable qualifiers, the
// built-in vector types (dim3, uint3, float4, ...), and the built-in
// variables threadIdx / blockIdx / blockDim / gridDim / warpSize.
//
// The built-in variables are thread_local globals that the emulator's
// scheduler rewrites on every switch between CUDA threads (fibers); a block
// runs entirely on one OS thread, so their addresses never change under a
// running fiber. They are declared constinit so that reading them costs one
// %fs-relative load, without a TLS wrapper call.
//
// Shared memory: `__shared__` becomes `thread_local` (a block-scope
// thread_local is implicitly static). One block runs on a worker OS thread
// at a time, so that storage is per block. Plain __shared__ arrays are NOT
// refilled between blocks (they keep the previous block's data, zero at
// first); declare them with KILN_SHARED(T, name, dims) to have them poisoned
// with 0xff bytes (NaN for float, half and bfloat16) at the start of every
// block. `extern __shared__ T name[];` cannot be expressed in C++ (it would
// need a per-name definition); use KILN_DYNAMIC_SHARED(T, name), which also
// compiles under nvcc.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_LANG_H
#define KILN_CUDA_EMU_LANG_H

#include <cstddef>
#include <cstdint>

//===----------------------------------------------------------------------===//
// Qualifiers
//===----------------------------------------------------------------------===//

#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __shared__ thread_local
#define __forceinline__ inline __attribute__((always_inline))
// __noinline__ is left undefined: libstdc++ spells the GNU attribute
// __attribute__((__noinline__)), which such a macro would break. Write
// __attribute__((noinline)) in device code instead.
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __grid_constant__
#define __device_builtin__
#define __builtin_align__(n) __attribute__((aligned(n)))
#define __cudart_builtin__
#define CUDART_CB
// __restrict__ is a GNU C++ keyword already.

//===----------------------------------------------------------------------===//
// Built-in vector types
//===----------------------------------------------------------------------===//

#define KILN_EMU_VEC2(T, N, A)                                                 \
  struct __attribute__((aligned(A), may_alias)) N##2 { T x, y; };              \
  inline constexpr N##2 make_##N##2(T x, T y) { return N##2{x, y}; }
#define KILN_EMU_VEC3(T, N)                                                    \
  struct __attribute__((may_alias)) N##3 { T x, y, z; };                       \
  inline constexpr N##3 make_##N##3(T x, T y, T z) { return N##3{x, y, z}; }
#define KILN_EMU_VEC4(T, N, A)                                                 \
  struct __attribute__((aligned(A), may_alias)) N##4 { T x, y, z, w; };        \
  inline constexpr N##4 make_##N##4(T x, T y, T z, T w) {                      \
    return N##4{x, y, z, w};                                                   \
  }
#define KILN_EMU_VEC1(T, N, A)                                                 \
  struct __attribute__((aligned(A), may_alias)) N##1 { T x; };                 \
  inline constexpr N##1 make_##N##1(T x) { return N##1{x}; }

KILN_EMU_VEC1(signed char, char, 1)
KILN_EMU_VEC2(signed char, char, 2)
KILN_EMU_VEC3(signed char, char)
KILN_EMU_VEC4(signed char, char, 4)
KILN_EMU_VEC1(unsigned char, uchar, 1)
KILN_EMU_VEC2(unsigned char, uchar, 2)
KILN_EMU_VEC3(unsigned char, uchar)
KILN_EMU_VEC4(unsigned char, uchar, 4)
KILN_EMU_VEC1(short, short, 2)
KILN_EMU_VEC2(short, short, 4)
KILN_EMU_VEC3(short, short)
KILN_EMU_VEC4(short, short, 8)
KILN_EMU_VEC1(unsigned short, ushort, 2)
KILN_EMU_VEC2(unsigned short, ushort, 4)
KILN_EMU_VEC3(unsigned short, ushort)
KILN_EMU_VEC4(unsigned short, ushort, 8)
KILN_EMU_VEC1(int, int, 4)
KILN_EMU_VEC2(int, int, 8)
KILN_EMU_VEC3(int, int)
KILN_EMU_VEC4(int, int, 16)
KILN_EMU_VEC1(unsigned int, uint, 4)
KILN_EMU_VEC2(unsigned int, uint, 8)
KILN_EMU_VEC3(unsigned int, uint)
KILN_EMU_VEC4(unsigned int, uint, 16)
KILN_EMU_VEC1(long long, longlong, 8)
KILN_EMU_VEC2(long long, longlong, 16)
KILN_EMU_VEC1(unsigned long long, ulonglong, 8)
KILN_EMU_VEC2(unsigned long long, ulonglong, 16)
KILN_EMU_VEC1(float, float, 4)
KILN_EMU_VEC2(float, float, 8)
KILN_EMU_VEC3(float, float)
KILN_EMU_VEC4(float, float, 16)
KILN_EMU_VEC1(double, double, 8)
KILN_EMU_VEC2(double, double, 16)

#undef KILN_EMU_VEC1
#undef KILN_EMU_VEC2
#undef KILN_EMU_VEC3
#undef KILN_EMU_VEC4

/// Launch geometry; unspecified components are 1, as in CUDA.
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

//===----------------------------------------------------------------------===//
// Built-in variables (maintained by the scheduler)
//===----------------------------------------------------------------------===//

extern thread_local constinit uint3 threadIdx;
extern thread_local constinit uint3 blockIdx;
extern thread_local constinit dim3 blockDim;
extern thread_local constinit dim3 gridDim;
inline constexpr int warpSize = 32;

#endif // KILN_CUDA_EMU_LANG_H
