//===- kernels_impl.cuh - the CUDA launchers' definitions -------*- CUDA
//-*-===//
//
// This file defines the templates declared in kernels.cuh: it checks each
// shape at compile time, checks pointer alignment at run time, and launches
// the kernel family the shape belongs to (`if constexpr`):
//  * gemm.cuh    conv_gemm_kernel (split-K reduced in the same launch);
//  * wgmma.cuh   conv_wgmma_kernel (sm_90a schedules: warpgroups > 0);
//  * direct.cuh  direct_conv_kernel;
//  * pool.cuh    pool_kernel, mean_reduce_kernel, se_dense_kernel.
// Included at the end of kernels.cuh; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_KERNELS_IMPL_CUH
#define KILN_RUNTIME_CUDA_KERNELS_IMPL_CUH

#include "kiln/cuda/direct.cuh"
#include "kiln/cuda/gemm.cuh"
#include "kiln/cuda/pool.cuh"
#include "kiln/cuda/wgmma.cuh"

namespace kiln::cuda {

namespace detail {

/// Rejects, at compile time, a convolution shape PyTorch would not accept
/// or whose output size or strides are inconsistent.
template <Conv2d S, Epilogue E> constexpr void check_conv() {
  static_assert(S.n > 0 && S.h > 0 && S.w > 0 && S.c > 0 && S.o > 0 &&
                    S.kh > 0 && S.kw > 0 && S.sh > 0 && S.sw > 0 && S.ph >= 0 &&
                    S.pw >= 0 && S.dh > 0 && S.dw > 0 && S.groups > 0,
                "Conv2d: sizes must be positive, padding non-negative");
  static_assert(S.c % S.groups == 0 && S.o % S.groups == 0,
                "Conv2d: groups must divide c and o");
  static_assert(S.ho == (S.h + 2 * S.ph - S.dh * (S.kh - 1) - 1) / S.sh + 1 &&
                    S.wo ==
                        (S.w + 2 * S.pw - S.dw * (S.kw - 1) - 1) / S.sw + 1 &&
                    S.ho > 0 && S.wo > 0,
                "Conv2d: ho/wo disagree with PyTorch's output size");
  static_assert(S.in_stride >= S.c && S.out_step >= 1 &&
                    S.out_stride >= S.o * S.out_step,
                "Conv2d: a pixel stride is smaller than the channel count");
  static_assert(!E.residual || E.residual_stride >= S.o,
                "Epilogue: residual_stride is smaller than o");
}

/// Rejects a pooling shape whose output size is neither PyTorch's floor
/// nor its ceil_mode size, or whose strides are too small.
template <Pool2d S> constexpr void check_pool() {
  static_assert(
      S.ho == (S.h + 2 * S.ph - S.dh * (S.kh - 1) - 1 + S.sh - 1) / S.sh + 1 ||
          S.ho == (S.h + 2 * S.ph - S.dh * (S.kh - 1) - 1) / S.sh + 1,
      "Pool2d: ho is neither the floor nor the ceil_mode size");
  static_assert(
      S.wo == (S.w + 2 * S.pw - S.dw * (S.kw - 1) - 1 + S.sw - 1) / S.sw + 1 ||
          S.wo == (S.w + 2 * S.pw - S.dw * (S.kw - 1) - 1) / S.sw + 1,
      "Pool2d: wo is neither the floor nor the ceil_mode size");
  static_assert(S.in_stride >= S.c && S.out_stride >= S.c,
                "Pool2d: a pixel stride is smaller than the channel count");
}

inline bool aligned(const void *p, int bytes) {
  return reinterpret_cast<uintptr_t>(p) % uintptr_t(bytes) == 0;
}

constexpr unsigned grid_1d(long threads, int block) {
  return unsigned(ceil_div(threads, block));
}

} // namespace detail

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

template <Conv2d S, Precision P, Schedule T> constexpr size_t conv2d_packed_bytes() {
  detail::check_conv<S, Epilogue{}>();
  return conv2d_packed_size(S, P, T);
}

template <Conv2d S, Precision P, Schedule T>
void conv2d_pack(const float *oihw, void *packed) {
  detail::check_conv<S, Epilogue{}>();
  conv2d_pack(S, P, T, oihw, packed);
}

template <Conv2d S, Precision P> constexpr bool schedule_ok(Schedule t) {
  return schedule_ok(S, P, t);
}

template <Conv2d S, Precision P>
constexpr size_t conv2d_workspace_bytes(Schedule t) {
  return conv2d_workspace_size(S, P, t);
}

template <Conv2d S, Schedule T, Epilogue E, Precision P, Images I>
cudaError_t conv2d(const Act<P> *in, const void *packed, const float *bias,
                   const Act<P> *residual, const float *scale, Act<P> *out,
                   void *workspace, cudaStream_t stream, int n) {
  detail::check_conv<S, E>();
  if (n < 1 || n > S.n)
    return cudaErrorInvalidValue;
  if (!detail::aligned(in, activation_alignment(S.c, S.in_stride, P)) ||
      !detail::aligned(out, output_alignment(S, P)) ||
      (E.residual &&
       !detail::aligned(residual,
                        activation_alignment(S.o, E.residual_stride, P))) ||
      !detail::aligned(packed, 16) || (E.bias && !detail::aligned(bias, 16)) ||
      (E.scale && !detail::aligned(scale, 16)))
    return cudaErrorMisalignedAddress;
  detail::ConvArgs<P> args{
      in,  static_cast<const Act<P> *>(packed), bias, residual, scale,
      out, static_cast<float *>(workspace)};
  if constexpr (conv_uses_gemm(S) && T.warpgroups > 0) {
    return detail::launch_wgmma<detail::WgmmaConfig<S, T, E, P>>(args, stream, n);
  } else if constexpr (conv_uses_gemm(S)) {
    using C = detail::GemmConfig<S, T, E, P, I>;
    if (T.split_k > 1 && !detail::aligned(workspace, 16))
      return cudaErrorMisalignedAddress;
    auto kernel = detail::conv_gemm_kernel<C>;
    static detail::SharedOnce shared;
    cudaError_t attribute = shared(kernel, C::kSharedBytes);
    if (attribute != cudaSuccess)
      return attribute;
    // Tiles are M-major (tm = blockIdx.x / kTilesN): n samples' rows are
    // the first tiles.
    long rows = long(n) * S.ho * S.wo;
    unsigned tilesM = unsigned(ceil_div(rows, long(T.bm)));
    dim3 grid(tilesM * unsigned(C::kTilesN), unsigned(S.groups * T.split_k));
    KILN_LAUNCH(kernel, grid, dim3(C::kThreads), C::kSharedBytes, stream)
    (args);
  } else {
    using C = detail::DirectConfig<S, E, P>;
    auto kernel = detail::direct_conv_kernel<C>;
    long threads = C::kThreadsTotal / S.n * n;
    KILN_LAUNCH(kernel, dim3(detail::grid_1d(threads, C::kBlock)),
                dim3(C::kBlock), 0, stream)
    (args);
  }
  return cudaGetLastError();
}

//===----------------------------------------------------------------------===//
// Linear
//===----------------------------------------------------------------------===//

template <Linear S, Precision P, Schedule T> constexpr size_t linear_packed_bytes() {
  return conv2d_packed_bytes<linear_as_conv(S), P, T>();
}

template <Linear S, Precision P, Schedule T>
void linear_pack(const float *weight, void *packed) {
  conv2d_pack<linear_as_conv(S), P, T>(weight, packed);
}

template <Linear S, Precision P> constexpr bool schedule_ok(Schedule t) {
  return schedule_ok(linear_as_conv(S), P, t);
}

template <Linear S, Precision P>
constexpr size_t linear_workspace_bytes(Schedule t) {
  return conv2d_workspace_size(linear_as_conv(S), P, t);
}

template <Linear S, Schedule T, Epilogue E, Precision P, Images I>
cudaError_t linear(const Act<P> *x, const void *packed, const float *bias,
                   const Act<P> *residual, Act<P> *y, void *workspace,
                   cudaStream_t stream, int m) {
  static_assert(!E.residual || E.residual_stride == S.n,
                "linear: the residual's rows are contiguous (stride n)");
  static_assert(!E.scale, "linear: no input scale (use a 1x1 conv2d)");
  return conv2d<linear_as_conv(S), T, E, P, I>(x, packed, bias, residual, nullptr,
                                               y, workspace, stream, m);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

namespace detail {

template <PoolKind K, auto S, Precision P, typename Out>
cudaError_t launch_pool(const Act<P> *in, Out *out, cudaStream_t stream,
                        int n) {
  using Io = PoolIo<K, S, P, Out>;
  if (!aligned(in, Io::kInAlign) || !aligned(out, Io::kOutAlign))
    return cudaErrorMisalignedAddress;
  if (n < 1 || n > S.n)
    return cudaErrorInvalidValue;
  auto kernel = pool_kernel<Io>;
  long threads = long(n) * S.ho * S.wo * (S.c / Io::kVec);
  KILN_LAUNCH(kernel, dim3(grid_1d(threads, 256)), dim3(256), 0, stream)
  (in, out);
  return cudaGetLastError();
}

template <auto S, Precision P, typename Out>
cudaError_t launch_mean_reduce(const Act<P> *in, Out *out,
                               cudaStream_t stream, int n) {
  using B = MeanBlock<S, P, Out>;
  if (!aligned(in, B::Io::kInAlign) || !aligned(out, B::Io::kOutAlign))
    return cudaErrorMisalignedAddress;
  if (n < 1 || n > S.n)
    return cudaErrorInvalidValue;
  auto kernel = mean_reduce_kernel<B>;
  dim3 grid(unsigned(ceil_div(B::kVectors, B::kVectorsPerBlock)),
            unsigned(long(n) * S.ho * S.wo));
  KILN_LAUNCH(kernel, grid, dim3(B::kThreads), 0, stream)(in, out);
  return cudaGetLastError();
}

} // namespace detail

template <Pool2d S, Precision P>
cudaError_t max_pool2d(const Act<P> *in, Act<P> *out, cudaStream_t stream,
                       int n) {
  detail::check_pool<S>();
  return detail::launch_pool<detail::PoolKind::Max, S, P>(in, out, stream, n);
}

template <Pool2d S, Precision P>
cudaError_t avg_pool2d(const Act<P> *in, Act<P> *out, cudaStream_t stream,
                       int n) {
  detail::check_pool<S>();
  static_assert(S.dh == 1 && S.dw == 1, "avg_pool2d has no dilation");
  return detail::launch_pool<detail::PoolKind::Avg, S, P>(in, out, stream, n);
}

template <AdaptivePool2d S, Precision P, typename Out>
cudaError_t adaptive_avg_pool2d(const Act<P> *in, Out *out,
                                cudaStream_t stream, int n) {
  static_assert(S.in_stride >= S.c && S.out_stride >= S.c,
                "AdaptivePool2d: a pixel stride is smaller than c");
  static_assert(std::is_same_v<Out, Act<P>> || std::is_same_v<Out, float>,
                "adaptive_avg_pool2d writes Act<P> or float");
  // Windows of more than 32 pixels (global pooling) are split over a block.
  if constexpr (detail::adaptive_window(S.h, S.ho) *
                    detail::adaptive_window(S.w, S.wo) >
                32)
    return detail::launch_mean_reduce<S, P>(in, out, stream, n);
  else
    return detail::launch_pool<detail::PoolKind::Adaptive, S, P>(in, out,
                                                                 stream, n);
}

//===----------------------------------------------------------------------===//
// Squeeze-and-excitation
//===----------------------------------------------------------------------===//

template <SqueezeExcite S> constexpr size_t se_packed_bytes() {
  return se_packed_size(S);
}
template <SqueezeExcite S> void se_pack_reduce(const float *w1, void *packed) {
  se_pack_reduce(S, w1, packed);
}
template <SqueezeExcite S> void se_pack_expand(const float *w2, void *packed) {
  se_pack_expand(S, w2, packed);
}

template <SqueezeExcite S, Precision P>
cudaError_t se_gate(const Act<P> *x, const void *packed_w1, const float *b1,
                    const void *packed_w2, const float *b2, float *gate,
                    cudaStream_t stream, int n) {
  static_assert(S.n > 0 && S.h > 0 && S.w > 0 && S.c > 0 && S.r > 0 &&
                    S.in_stride >= S.c,
                "SqueezeExcite: sizes must be positive, stride >= c");
  constexpr AdaptivePool2d squeeze{S.n, S.h, S.w, S.c, 1, 1, S.in_stride, S.c};
  if (!detail::aligned(gate, 16))
    return cudaErrorMisalignedAddress;
  cudaError_t status =
      detail::launch_mean_reduce<squeeze, P, float>(x, gate, stream, n);
  if (status != cudaSuccess)
    return status;
  auto kernel = detail::se_dense_kernel<detail::SeConfig<S>>;
  constexpr int shared = (S.c + S.r) * 4;
  static detail::SharedOnce once;
  cudaError_t attribute = once(kernel, shared);
  if (attribute != cudaSuccess)
    return attribute;
  KILN_LAUNCH(kernel, dim3(unsigned(n)), dim3(256), shared, stream)
  (static_cast<const float *>(packed_w1), b1,
   static_cast<const float *>(packed_w2), b2, gate);
  return cudaGetLastError();
}

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_KERNELS_IMPL_CUH
