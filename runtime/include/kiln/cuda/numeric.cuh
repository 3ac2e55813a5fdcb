//===- numeric.cuh - element types, vector I/O and activations --*- CUDA
//-*-===//
//
// This file implements the small device helpers every CUDA kernel template
// shares: the element type Act<P> of each precision, conversion to and from
// fp32, loads and stores of up to 16 bytes of consecutive channels as one
// vector instruction, and the activations of the fused epilogues. Sums are
// always fp32; an element is converted once when loaded and once when stored.
//
// Part of kernels.cuh; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_NUMERIC_CUH
#define KILN_RUNTIME_CUDA_NUMERIC_CUH

#include "kiln/cuda/intrinsics.cuh"
#include "kiln/cuda/schedule.h"

#include <cstdint>

namespace kiln::cuda {

namespace detail {
template <Precision P> struct ElementOf { using type = float; };
template <> struct ElementOf<Precision::F16> { using type = __half; };
template <> struct ElementOf<Precision::BF16> { using type = __nv_bfloat16; };
} // namespace detail

/// Element type of activations and packed weights in precision |P|.
template <Precision P> using Act = typename detail::ElementOf<P>::type;

namespace detail {

/// |N| 32-bit words loaded or stored as one instruction (N in 1, 2, 4).
template <int N> struct alignas(4 * N) Words { uint32_t w[N]; };

/// The dynamic shared memory of the running block, 16-byte aligned.
__device__ __forceinline__ unsigned char *dynamic_shared() {
#if KILN_EMULATED
  // `extern __shared__` has no C++ equivalent; the emulator hands it out.
  return static_cast<unsigned char *>(::kiln::emu::detail::dynamicSharedMemory());
#else
  extern __shared__ Words<4> kiln_dynamic_shared[];
  return reinterpret_cast<unsigned char *>(kiln_dynamic_shared);
#endif
}

/// 16-bit storage element <-> fp32 (the two 16-bit formats differ only here).
template <Precision P>
__device__ __forceinline__ float from_bits16(uint16_t b) {
  if constexpr (P == Precision::F16)
    return __half2float(__ushort_as_half(b));
  else
    return __uint_as_float(uint32_t(b) << 16); // bf16 is the top of an fp32
}

/// Two fp32 rounded to nearest even and packed low, high.
template <Precision P>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (P == Precision::F16)
    return pack_half2(lo, hi);
  else
    return pack_bf162(lo, hi);
}

/// Loads |N| consecutive elements at |p| into fp32. |p| is aligned to
/// |Align| bytes (by default the whole vector, up to 16): the load is split
/// into pieces of gcd(Align, N * size, 16) bytes, one instruction each.
template <Precision P, int N, int Align = 16>
__device__ __forceinline__ void load_vec(const Act<P> *p, float (&v)[N]) {
  constexpr int es = element_bytes(P);
  constexpr int piece = gcd(gcd(Align, N * es), 16);
  if constexpr (piece < 4) {
    // Odd 16-bit counts or offsets element by element.
#pragma unroll
    for (int i = 0; i < N; ++i)
      v[i] = from_bits16<P>(reinterpret_cast<const uint16_t *>(p)[i]);
  } else {
    constexpr int words = piece / 4, per = piece / es;
#pragma unroll
    for (int i0 = 0; i0 < N; i0 += per) {
      Words<words> w = *reinterpret_cast<const Words<words> *>(p + i0);
#pragma unroll
      for (int i = 0; i < words; ++i) {
        if constexpr (es == 4) {
          v[i0 + i] = __uint_as_float(w.w[i]);
        } else {
          v[i0 + 2 * i] = from_bits16<P>(uint16_t(w.w[i] & 0xffff));
          v[i0 + 2 * i + 1] = from_bits16<P>(uint16_t(w.w[i] >> 16));
        }
      }
    }
  }
}

/// Stores |N| fp32 values, converted to Act<P>, as consecutive elements at
/// |p|, aligned to |Align| bytes (as load). TF32 activations are stored
/// rounded to tf32 (nearest, ties away, as cvt.rna.tf32.f32): every GEMM
/// reads them as tf32 operands, and the sm_90a kernel's wgmma takes the 19
/// high bits of what it reads (truncation), so they must be rounded before.
template <Precision P, int N, int Align = 16>
__device__ __forceinline__ void store_vec(Act<P> *p, const float (&v)[N]) {
  constexpr int es = element_bytes(P);
  constexpr int piece = gcd(gcd(Align, N * es), 16);
  if constexpr (piece < 4) {
#pragma unroll
    for (int i = 0; i < N; ++i)
      reinterpret_cast<uint16_t *>(p)[i] = uint16_t(pack2<P>(v[i], 0.f));
  } else {
    constexpr int words = piece / 4, per = piece / es;
#pragma unroll
    for (int i0 = 0; i0 < N; i0 += per) {
      Words<words> w;
#pragma unroll
      for (int i = 0; i < words; ++i) {
        if constexpr (P == Precision::TF32)
          w.w[i] = cvt_tf32(v[i0 + i]); // see store_vec's comment
        else if constexpr (es == 4)
          w.w[i] = __float_as_uint(v[i0 + i]);
        else
          w.w[i] = pack2<P>(v[i0 + 2 * i], v[i0 + 2 * i + 1]);
      }
      *reinterpret_cast<Words<words> *>(p + i0) = w;
    }
  }
}

/// |N| fp32 values at |p| (16-byte aligned when N is a multiple of 4).
template <int N>
__device__ __forceinline__ void load_f32(const float *p, float (&v)[N]) {
  if constexpr (N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N; i += 4) {
      Words<4> w = *reinterpret_cast<const Words<4> *>(p + i);
#pragma unroll
      for (int j = 0; j < 4; ++j)
        v[i + j] = __uint_as_float(w.w[j]);
    }
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i)
      v[i] = p[i];
  }
}

/// load_f32 past L1 (ld.global.cg): for data other blocks of the same
/// launch wrote (split-K partial sums).
template <int N>
__device__ __forceinline__ void load_f32_cg(const float *p, float (&v)[N]) {
  if constexpr (N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N; i += 4) {
      float4 f = __ldcg(reinterpret_cast<const float4 *>(p + i));
      v[i] = f.x, v[i + 1] = f.y, v[i + 2] = f.z, v[i + 3] = f.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i)
      v[i] = __ldcg(p + i);
  }
}

template <int N>
__device__ __forceinline__ void store_f32(float *p, const float (&v)[N]) {
  if constexpr (N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N; i += 4) {
      Words<4> w;
#pragma unroll
      for (int j = 0; j < 4; ++j)
        w.w[j] = __float_as_uint(v[i + j]);
      *reinterpret_cast<Words<4> *>(p + i) = w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i)
      p[i] = v[i];
  }
}

/// The epilogue activation |A| of one value.
template <Activation A> __device__ __forceinline__ float activate(float x) {
  if constexpr (A == Activation::Relu)
    return fmaxf(x, 0.f);
  else if constexpr (A == Activation::Relu6)
    return fminf(fmaxf(x, 0.f), 6.f);
  else if constexpr (A == Activation::Sigmoid)
    return 1.f / (1.f + expf(-x));
  else if constexpr (A == Activation::HardSigmoid)
    return fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f;
  else if constexpr (A == Activation::HardSwish)
    return x * (fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f);
  else if constexpr (A == Activation::Silu)
    return x / (1.f + expf(-x));
  else
    return x;
}

/// The fused epilogue of |N| consecutive outputs (channels o0 .. o0+N-1 of
/// output pixel |pixel|): adds bias and residual, activates, stores Act<P>,
/// channel k at k * OutStep (one group of a channel shuffle when > 1).
template <Epilogue E, Precision P, int N, int OutStride, int OutStep = 1>
__device__ __forceinline__ void finish(float (&v)[N], long pixel, int o0,
                                       const float *bias,
                                       const Act<P> *residual, Act<P> *out) {
  if constexpr (E.bias) {
    float b[N];
    load_f32<N>(bias + o0, b);
#pragma unroll
    for (int i = 0; i < N; ++i)
      v[i] += b[i];
  }
  if constexpr (E.residual) {
    float r[N];
    load_vec<P, N>(residual + pixel * E.residual_stride + o0, r);
#pragma unroll
    for (int i = 0; i < N; ++i)
      v[i] += r[i];
  }
#pragma unroll
  for (int i = 0; i < N; ++i)
    v[i] = activate<E.act>(v[i]);
  if constexpr (OutStep == 1) {
    store_vec<P, N>(out + pixel * OutStride + o0, v);
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) {
      const float one[1] = {v[i]};
      store_vec<P, 1>(out + pixel * OutStride + long(o0 + i) * OutStep, one);
    }
  }
}

} // namespace detail
} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_NUMERIC_CUH
