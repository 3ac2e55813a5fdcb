//===- elementwise.cuh - helpers of generated CUDA code ---------*- CUDA -*-===//
//
// What the CUDA code kiln generates uses besides the kernel templates of
// kernels.cuh: element conversions for the elementwise kernels it writes
// itself (layout conversions, unfused activations and adds, copying
// concats, channel shuffles, reductions), and KILN_TRY, which returns the
// first failing launch's status from a model's run function.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_ELEMENTWISE_CUH
#define KILN_RUNTIME_CUDA_ELEMENTWISE_CUH

#include "kiln/cuda/kernels.cuh"

namespace kiln::cuda {

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) {
  return __bfloat162float(x);
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
