//===- kernel_types.h - descriptors shared by the CPU and CUDA kernels -*- C++
//-*-===//
//
// The compile-time descriptions that the CPU kernels (kiln/cpu/kernels.h) and
// the CUDA kernels (kiln/cuda/types.h) are both instantiated with: the
// epilogue activation and the layer shapes. Each target header re-exports
// them into its own namespace (`using kiln::kernel::Conv2d;` in kiln::cpu
// and kiln::cuda), so kernel code and generated code name them as before,
// and one struct, not two with the same fields, describes each layer.
//
// What differs between the targets stays in their headers: the fused
// epilogue (the CUDA one also carries the squeeze-and-excitation `scale`
// prologue; the CPU kernels apply that gate by rescaling packed weights,
// conv2d_scale_packed), the precision, the tile schedule and the CUDA-only
// squeeze-and-excitation gate kernel.
//
// The namespace is kiln::kernel, not kiln: the compiler includes this header
// (through kiln/cuda/schedule.h) next to its dialect, whose enum
// ::kiln::Activation (none, relu, ...) names the same activations in the IR.
//
// Plain aggregates without member functions, so that they are structural
// types (class-type template parameters) and compile unchanged with host
// compilers, nvcc (host and device code) and the SIMT emulator. A constexpr
// helper of them must be marked KILN_HOST_DEVICE to be callable from device
// code. No CUDA, LLVM or MLIR header.
//
// Strides and steps count elements: floats on the CPU, elements of the
// layer's precision on CUDA.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_KERNEL_TYPES_H
#define KILN_RUNTIME_KERNEL_TYPES_H

/// Marks the constexpr helpers that kernels also evaluate (nvcc refuses to
/// call a plain constexpr function from device code without
/// --expt-relaxed-constexpr); empty for host compilers and the emulator.
#if defined(__CUDACC__)
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln::kernel {

/// The most elements of one tensor: the descriptors below, and the kernels'
/// offsets within a tensor, are `int`. kiln-check-limits refuses larger
/// tensors at compile time.
inline constexpr long long kMaxTensorElements = 2147483647;
/// The most dimensions of any tensor (the model input and output shapes of
/// kiln/runtime.h hold this many).
inline constexpr int kMaxRank = 8;

/// Activation applied by a kernel epilogue: relu max(x,0); relu6
/// min(max(x,0),6); sigmoid 1/(1+e^-x); hard_sigmoid relu6(x+3)/6;
/// hard_swish x*relu6(x+3)/6; silu x/(1+e^-x).
enum class Activation { None, Relu, Relu6, Sigmoid, HardSigmoid, HardSwish, Silu };

/// A 2-D convolution, NHWC, weights in PyTorch OIHW order before packing.
/// groups == 1 (dense), groups == c == o / m (depthwise, channel multiplier
/// m) or any other divisor (grouped, e.g. ResNeXt).
struct Conv2d {
  int n, h, w, c;            ///< input
  int o, kh, kw;             ///< output channels, kernel
  int sh, sw, ph, pw, dh, dw;
  int groups;
  int ho, wo;                ///< output size (PyTorch's formula)
  int in_stride, out_stride; ///< elements between consecutive pixels
  /// Elements between consecutive output channels: 1, or g when the output
  /// is one group of a channel shuffle over g groups (channel k of the
  /// result lands at k * out_step of the output pointer).
  int out_step = 1;
};

/// y[m][n] = x[m][:] · W[n][:] for a PyTorch Linear weight W[n][k]; rows of
/// x and y are contiguous (stride k and n, so a residual's stride is n).
/// Runs as the 1x1 convolution of m pixels.
struct Linear {
  int m, k, n;
};

/// Max or average pooling, NHWC. ho/wo follow PyTorch (ceil_mode is already
/// applied to them). Average pooling divides by the window clipped to the
/// padded input, or, with exclude_pad, by the in-bounds elements; it has no
/// dilation (dh == dw == 1).
struct Pool2d {
  int n, h, w, c;
  int kh, kw, sh, sw, ph, pw, dh, dw;
  int ho, wo;
  bool exclude_pad;
  int in_stride, out_stride;
};

/// PyTorch's adaptive average pooling, NHWC: output cell (i, j) averages
/// rows floor(i*h/ho) .. ceil((i+1)*h/ho) and the same for columns.
struct AdaptivePool2d {
  int n, h, w, c, ho, wo;
  int in_stride, out_stride;
};

/// A strided copy of n x rows x cols floats: dst[i * dst_n + r * dst_row +
/// c * dst_col] = src[i * src_n + r * src_row + c * src_col]. The copies
/// that assemble concats and channel shuffles, and the model input's change
/// from NCHW to NHWC (n images of rows pixels of cols channels).
struct Copy2d {
  long long n, rows, cols;
  long long src_n, src_row, src_col;
  long long dst_n, dst_row, dst_col;
};

} // namespace kiln::kernel

#endif // KILN_RUNTIME_KERNEL_TYPES_H
