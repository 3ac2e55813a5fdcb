//===- kernels.cuh - CUDA kernel templates ----------------------*- CUDA
//-*-===//
//
// The kernels generated CUDA code calls; the GPU counterpart of
// kiln/cpu/kernels.h. Activations are NHWC: pixel (n, y, x) starts at
// ((n * H + y) * W + x) * stride elements, where the stride may exceed the
// channel count, so a kernel can read or write a channel slice of a wider
// buffer (concat without copies). Shapes, fusion and tile schedule are
// compile-time constants (C++20 class-type template parameters), so every
// layer gets a fully specialized kernel; layers with equal parameters share
// one instance.
//
// Precision P (types.h) selects the element type Act<P> of activations and
// packed weights: float (F32, TF32), __half (F16), __nv_bfloat16 (BF16). Sums
// are fp32; bias and the SE scale are fp32 in every precision.
//
// Weights are transformed once, on the host, by the model's prepare step,
// from PyTorch's layout into each kernel's packed layout (pack.h), then
// copied to the device.
//
// Calling conventions, for all launchers:
//  * They enqueue work on |stream| and return the launch status (never
//    synchronize), so they can be captured into a CUDA graph. They allocate
//    nothing; split-K convolutions take a workspace of
//    conv2d_workspace_bytes<S, P>(T) bytes (may be shared by layers that do
//    not run concurrently) whose first kSplitKCounterBytes are zero before
//    the first launch: the kernels count slices there and leave it zero.
//  * Alignment: an activation pointer with C channels per pixel and pixel
//    stride s must be aligned to activation_alignment(C, s, P) bytes (at most
//    16: the kernels move 16-byte vectors); packed weights, bias, scale and
//    workspace to 16 bytes. A misaligned pointer makes the launcher return
//    cudaErrorMisalignedAddress without launching.
//  * |out| must not overlap |in| or the weights. |residual| may be exactly
//    |out| (same pointer, residual_stride == out_stride): each element is
//    read before it is overwritten, by the same thread. Elements between
//    channel slices (stride > channels) are neither read nor written.
//  * |bias|, |residual| and |scale| are not read (may be null) unless the
//    epilogue asks for them.
//  * Results are deterministic: split-K partial sums are added in slice
//    order (by whichever slice block of a tile finishes last; an atomic
//    counter only decides which).
//  * Shapes and schedules are checked with static_assert.
//  * The batch: each launcher takes the samples (rows for linear) to
//    compute at run time, from 1 to the shape's n (m), defaulting to all of
//    them. Samples are outermost in every tensor and the kernels' blocks
//    walk them in order, so fewer samples launch fewer blocks; the last
//    block may compute (discarded) values past the samples asked for, never
//    past the shape's.
//  * Kernels that raise their shared-memory limit do so once per process
//    and device (cudaFuncSetAttribute is per device).
//
// Kernel families (kernels_impl.cuh dispatches with `if constexpr`):
//  * gemm.cuh    implicit-GEMM convolution on tensor cores (FMA for F32):
//                dense, grouped with >= 16 channels per group, linear;
//  * wgmma.cuh   the same on sm_90a (schedules with warpgroups): TMA,
//                mbarrier pipelines and wgmma, warp-specialised;
//  * direct.cuh  depthwise and narrow grouped convolution;
//  * pool.cuh    max / average / adaptive average pooling, the SE gate.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_KERNELS_CUH
#define KILN_RUNTIME_CUDA_KERNELS_CUH

#include "kiln/cuda/numeric.cuh"
#include "kiln/cuda/pack.h"
#include "kiln/cuda/schedule.h"
#include "kiln/cuda/types.h"

namespace kiln::cuda {

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

/// Bytes of packed weights conv2d_pack writes for |S| in precision |P|
/// (for schedule |T|: an sm_90a schedule has its own layout).
template <Conv2d S, Precision P, Schedule T = Schedule{}>
constexpr size_t conv2d_packed_bytes();

/// Packs OIHW fp32 weights [o][c / groups][kh][kw] into |packed| (host
/// memory, conv2d_packed_bytes<S, P, T>() bytes), converted to P.
template <Conv2d S, Precision P, Schedule T = Schedule{}>
void conv2d_pack(const float *oihw, void *packed);

/// Whether conv2d<S, T, E, P> accepts schedule |t| (schedule.h lists the
/// rules); always true for direct convolutions, which ignore it.
template <Conv2d S, Precision P> constexpr bool schedule_ok(Schedule t);

/// Split-K workspace conv2d<S, T, ...> needs: 0 unless t.split_k > 1.
template <Conv2d S, Precision P>
constexpr size_t conv2d_workspace_bytes(Schedule t);

/// out = epilogue(conv(in * scale, weights)): bias has o floats, residual is
/// NHWC with E.residual_stride, scale (if E.scale) is N x C fp32. |I|: the
/// device images that hold the kernel's code (types.h).
template <Conv2d S, Schedule T, Epilogue E, Precision P, Images I = Images::All>
cudaError_t conv2d(const Act<P> *in, const void *packed, const float *bias,
                   const Act<P> *residual, const float *scale, Act<P> *out,
                   void *workspace, cudaStream_t stream, int n = S.n);

//===----------------------------------------------------------------------===//
// Linear: the 1x1 convolution of m pixels (the same GEMM kernel)
//===----------------------------------------------------------------------===//

template <Linear S, Precision P, Schedule T = Schedule{}>
constexpr size_t linear_packed_bytes();
/// Packs a PyTorch Linear weight [n][k].
template <Linear S, Precision P, Schedule T = Schedule{}>
void linear_pack(const float *weight, void *packed);
template <Linear S, Precision P> constexpr bool schedule_ok(Schedule t);
template <Linear S, Precision P>
constexpr size_t linear_workspace_bytes(Schedule t);
/// y[m][:] = epilogue(W x[m][:]); rows of x, y and residual are contiguous
/// (E.residual_stride == n).
template <Linear S, Schedule T, Epilogue E, Precision P, Images I = Images::All>
cudaError_t linear(const Act<P> *x, const void *packed, const float *bias,
                   const Act<P> *residual, Act<P> *y, void *workspace,
                   cudaStream_t stream, int m = S.m);

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

template <Pool2d S, Precision P>
cudaError_t max_pool2d(const Act<P> *in, Act<P> *out, cudaStream_t stream,
                       int n = S.n);
template <Pool2d S, Precision P>
cudaError_t avg_pool2d(const Act<P> *in, Act<P> *out, cudaStream_t stream,
                       int n = S.n);
/// |Out| is Act<P>, or float for heads that continue in fp32.
template <AdaptivePool2d S, Precision P, typename Out = Act<P>>
cudaError_t adaptive_avg_pool2d(const Act<P> *in, Out *out,
                                cudaStream_t stream, int n = S.n);

//===----------------------------------------------------------------------===//
// Squeeze-and-excitation gate
//===----------------------------------------------------------------------===//

/// Bytes of each packed SE matrix (fp32 in every precision).
template <SqueezeExcite S> constexpr size_t se_packed_bytes();
/// Packs conv_reduce.weight [r][c][1][1] / conv_expand.weight [c][r][1][1].
template <SqueezeExcite S> void se_pack_reduce(const float *w1, void *packed);
template <SqueezeExcite S> void se_pack_expand(const float *w2, void *packed);
/// gate[n][c] = S.gate(W2 . S.act(W1 . mean_hw(x[n]) + b1) + b2); two
/// kernels (the squeeze, then the dense layers), |gate| N x C fp32.
template <SqueezeExcite S, Precision P>
cudaError_t se_gate(const Act<P> *x, const void *packed_w1, const float *b1,
                    const void *packed_w2, const float *b2, float *gate,
                    cudaStream_t stream, int n = S.n);

} // namespace kiln::cuda

#include "kiln/cuda/kernels_impl.cuh"

#endif // KILN_RUNTIME_CUDA_KERNELS_CUH
