//===- elementwise.cuh - helpers of generated CUDA code ---------*- CUDA -*-===//
//
// What the CUDA code kiln generates uses besides the kernel templates of
// kernels.cuh: element conversions for the elementwise kernels it writes
// itself (layout conversions, unfused activations and adds, copying
// concats, channel shuffles, reductions), KILN_TRY, which returns the
// first failing launch's status from a model's run function, and the step
// markers of kiln/cuda/profile.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_ELEMENTWISE_CUH
#define KILN_RUNTIME_CUDA_ELEMENTWISE_CUH

#include "kiln/cuda/kernels.cuh"
#include "kiln/cuda/profile.h"

namespace kiln::cuda {

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) {
  return __bfloat162float(x);
}

/// |V| consecutive elements at |p| as fp32, in 16-byte (or smaller: V *
/// sizeof(E)) vector loads; |p| is aligned to min(16, V * sizeof(E)) bytes.
template <int V, typename E>
__device__ __forceinline__ void ew_load(const E *p, float (&v)[V]) {
  constexpr int kBytes = V * int(sizeof(E));
  constexpr int kPiece = kBytes < 16 ? kBytes : 16;
  constexpr int kPer = kPiece / int(sizeof(E));
  static_assert(kPiece % 4 == 0, "ew_load moves whole 32-bit words");
#pragma unroll
  for (int i0 = 0; i0 < V; i0 += kPer) {
    detail::Words<kPiece / 4> w =
        *reinterpret_cast<const detail::Words<kPiece / 4> *>(p + i0);
    const E *e = reinterpret_cast<const E *>(&w);
#pragma unroll
    for (int j = 0; j < kPer; ++j)
      v[i0 + j] = to_f32(e[j]);
  }
}

/// Rounds to nearest even, once, like the kernels' epilogues.
template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) {
  return x;
}
template <> __device__ __forceinline__ __half from_f32<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

/// Stores |V| fp32 values converted to E as consecutive elements at |p|
/// (aligned like ew_load).
template <int V, typename E>
__device__ __forceinline__ void ew_store(E *p, const float (&v)[V]) {
  constexpr int kBytes = V * int(sizeof(E));
  constexpr int kPiece = kBytes < 16 ? kBytes : 16;
  constexpr int kPer = kPiece / int(sizeof(E));
  static_assert(kPiece % 4 == 0, "ew_store moves whole 32-bit words");
#pragma unroll
  for (int i0 = 0; i0 < V; i0 += kPer) {
    detail::Words<kPiece / 4> w;
    E *e = reinterpret_cast<E *>(&w);
#pragma unroll
    for (int j = 0; j < kPer; ++j)
      e[j] = from_f32<E>(v[i0 + j]);
    *reinterpret_cast<detail::Words<kPiece / 4> *>(p + i0) = w;
  }
}

/// An activation of precision |P| from fp32, rounded once: tf32 activations
/// are stored as tf32 values (numeric.cuh, store_vec).
template <Precision P> __device__ __forceinline__ Act<P> to_act(float x) {
  if constexpr (P == Precision::TF32)
    return __uint_as_float(cvt_tf32(x));
  else
    return from_f32<Act<P>>(x);
}

/// ew_store of activations of precision |P| (rounded as to_act).
template <int V, Precision P>
__device__ __forceinline__ void ew_store_act(Act<P> *p, const float (&v)[V]) {
  if constexpr (P == Precision::TF32) {
    float r[V];
#pragma unroll
    for (int j = 0; j < V; ++j)
      r[j] = to_act<P>(v[j]);
    ew_store<V, float>(p, r);
  } else {
    ew_store<V, Act<P>>(p, v);
  }
}

} // namespace kiln::cuda

/// Returns the status of |expr| (a cudaError_t) from the enclosing function
/// when it is not cudaSuccess.
#define KILN_TRY(expr)                                                         \
  do {                                                                         \
    cudaError_t kiln_status_ = (expr);                                         \
    if (kiln_status_ != cudaSuccess)                                           \
      return int(kiln_status_);                                                \
  } while (0)

#endif // KILN_RUNTIME_CUDA_ELEMENTWISE_CUH
