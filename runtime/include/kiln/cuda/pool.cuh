//===- pool.cuh - pooling and the squeeze-and-excitation gate ---*- CUDA
//-*-===//
//
// This file implements max, average and adaptive average pooling (NHWC,
// vectorized over channels) and the squeeze-and-excitation gate. The window
// of an output pixel follows PyTorch exactly (see kiln/cpu/pool.h, whose
// semantics these kernels share):
//  * max_pool2d: the dilated window clipped to the input (padding is -inf);
//  * avg_pool2d: divisor (he - hs) * (we - ws) with the window clipped to the
//    padded input only, or the in-bounds area with exclude_pad; an empty
//    window gives 0;
//  * adaptive_avg_pool2d: rows floor(oy*h/ho) .. ceil((oy+1)*h/ho).
// Small windows run one thread per output pixel and channel vector. Large
// windows (global pooling, the SE squeeze) would leave most of the GPU idle
// at batch 1, so a block splits the window's pixels over its threads and
// adds the partial sums in a fixed order (deterministic).
//
// The SE gate is that reduction (into the gate buffer) followed by one
// block per image for the two small dense layers: a warp per hidden unit
// (shuffle reduction in a fixed tree), then a thread per channel.
//
// Part of kernels.cuh; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_POOL_CUH
#define KILN_RUNTIME_CUDA_POOL_CUH

#include "kiln/cuda/numeric.cuh"

#include <cmath>
#include <type_traits>

namespace kiln::cuda::detail {

enum class Reduce { Max, Mean };

/// The input pixels one output pixel reduces: rows y0 + i*dy (ny of them),
/// columns x0 + j*dx (nx), already clipped to the input.
struct Window {
  int y0, ny, dy, x0, nx, dx;
  float divisor; ///< mean only
};

/// The dilated window starting at |start| (may be negative), clipped to
/// [0, size): first index and count.
__device__ __forceinline__ void clip_taps(int start, int taps, int step,
                                          int size, int &first, int &count) {
  int t0 = start >= 0 ? 0 : (-start + step - 1) / step;
  int t1 =
      start + (taps - 1) * step < size ? taps : (size - 1 - start) / step + 1;
  first = start + t0 * step;
  count = t1 - t0 > 0 ? t1 - t0 : 0;
}

/// Which pooling a kernel does, and its windows.
enum class PoolKind { Max, Avg, Adaptive };

template <PoolKind K, auto S>
__device__ __forceinline__ Window pool_window(int oy, int ox) {
  if constexpr (K == PoolKind::Max) {
    Window win{0, 0, S.dh, 0, 0, S.dw, 1.f};
    clip_taps(oy * S.sh - S.ph, S.kh, S.dh, S.h, win.y0, win.ny);
    clip_taps(ox * S.sw - S.pw, S.kw, S.dw, S.w, win.x0, win.nx);
    return win;
  } else if constexpr (K == PoolKind::Avg) {
    int hs = oy * S.sh - S.ph, ws = ox * S.sw - S.pw;
    int he = hs + S.kh < S.h + S.ph ? hs + S.kh : S.h + S.ph;
    int we = ws + S.kw < S.w + S.pw ? ws + S.kw : S.w + S.pw;
    int padded_area = (he - hs) * (we - ws);
    hs = hs > 0 ? hs : 0, ws = ws > 0 ? ws : 0;
    he = he < S.h ? he : S.h, we = we < S.w ? we : S.w;
    int ny = he > hs ? he - hs : 0, nx = we > ws ? we - ws : 0;
    return {hs, ny, 1, ws, nx, 1, float(S.exclude_pad ? ny * nx : padded_area)};
  } else {
    int hs = oy * S.h / S.ho, he = ((oy + 1) * S.h + S.ho - 1) / S.ho;
    int ws = ox * S.w / S.wo, we = ((ox + 1) * S.w + S.wo - 1) / S.wo;
    return {hs, he - hs, 1, ws, we - ws, 1, float((he - hs) * (we - ws))};
  }
}

/// Largest window, in pixels, of an adaptive pooling (to pick a kernel).
constexpr int adaptive_window(int in, int out) {
  int most = 0;
  for (int i = 0; i < out; ++i) {
    int len = ((i + 1) * in + out - 1) / out - i * in / out;
    most = len > most ? len : most;
  }
  return most;
}

/// Vector I/O of a pooling: alignment (bytes) of its input and output
/// pointers and the channels per thread (the widest input vector; outputs
/// are stored in pieces as wide as their alignment allows).
template <PoolKind K, auto S, Precision P, typename Out> struct PoolIo {
  static constexpr PoolKind kKind = K;
  static constexpr auto kS = S;
  static constexpr Precision kP = P;
  using OutT = Out;
  static constexpr int kOutEs = int(sizeof(Out));
  static constexpr int kInAlign = activation_alignment(S.c, S.in_stride, P);
  static constexpr int kOutAlign =
      gcd(gcd(16, S.c *kOutEs), S.out_stride *kOutEs);
  static constexpr int kVec = kInAlign / element_bytes(P) > 0
                                  ? kInAlign / element_bytes(P)
                                  : 1;
  static constexpr Precision kOutP =
      std::is_same_v<Out, float> ? Precision::F32 : P;
};

/// One thread per (output pixel, channel vector): small windows.
template <class Io>
__global__ void __launch_bounds__(256)
    pool_kernel(const Act<Io::kP> *in, typename Io::OutT *out) {
  constexpr PoolKind K = Io::kKind;
  constexpr auto S = Io::kS;
  constexpr Precision P = Io::kP;
  constexpr int kVec = Io::kVec;
  constexpr int kVectors = S.c / kVec;
  long id = long(blockIdx.x) * 256 + threadIdx.x;
  if (id >= long(S.n) * S.ho * S.wo * kVectors)
    return;
  int c0 = int(id % kVectors) * kVec;
  long pixel = id / kVectors;
  int ox = int(pixel % S.wo), oy = int(pixel / S.wo % S.ho);
  int img = int(pixel / (long(S.wo) * S.ho));
  Window win = pool_window<K, S>(oy, ox);
  const Act<P> *image = in + long(img) * S.h * S.w * S.in_stride + c0;
  float acc[kVec];
#pragma unroll
  for (int j = 0; j < kVec; ++j)
    acc[j] = K == PoolKind::Max ? -INFINITY : 0.f;
  for (int i = 0; i < win.ny; ++i)
    for (int x = 0; x < win.nx; ++x) {
      float v[kVec];
      load_vec<P, kVec>(
          image +
              ((win.y0 + i * win.dy) * S.w + win.x0 + x * win.dx) * S.in_stride,
          v);
#pragma unroll
      for (int j = 0; j < kVec; ++j)
        acc[j] = K == PoolKind::Max ? fmaxf(acc[j], v[j]) : acc[j] + v[j];
    }
  if constexpr (K != PoolKind::Max) {
    bool empty = win.ny <= 0 || win.nx <= 0;
#pragma unroll
    for (int j = 0; j < kVec; ++j)
      acc[j] = empty ? 0.f : acc[j] / win.divisor;
  }
  store_vec<Io::kOutP, kVec, Io::kOutAlign>(out + pixel * S.out_stride + c0,
                                            acc);
}

/// Block geometry of the large-window mean: kVectorsPerBlock channel vectors
/// (x) times kLanes pixel lanes (y), 256 threads.
template <auto S, Precision P, typename Out> struct MeanBlock {
  using Io = PoolIo<PoolKind::Adaptive, S, P, Out>;
  static constexpr int kVec = Io::kVec;
  static constexpr int kVectors = S.c / kVec;
  static constexpr int kVectorsPerBlock = kVectors < 32 ? kVectors : 32;
  static constexpr int kLanes = 256 / kVectorsPerBlock;
  /// Launch exactly this many threads: 256 unless kVectorsPerBlock does not
  /// divide it (72 fp16 channels: 9 vectors x 28 lanes = 252); extra threads
  /// would index past |partial|.
  static constexpr int kThreads = kVectorsPerBlock * kLanes;
};

/// One block per (output pixel, up to 32 channel vectors); its pixel lanes
/// stride over the window, then lane 0 adds the lanes' sums in order.
template <class B>
__global__ void __launch_bounds__(256)
    mean_reduce_kernel(const Act<B::Io::kP> *in, typename B::Io::OutT *out) {
  constexpr auto S = B::Io::kS;
  constexpr Precision P = B::Io::kP;
  constexpr int kVec = B::kVec;
  __shared__ float partial[B::kLanes][B::kVectorsPerBlock][kVec];
  int vx = threadIdx.x % B::kVectorsPerBlock;
  int lane = threadIdx.x / B::kVectorsPerBlock;
  int vector = int(blockIdx.x) * B::kVectorsPerBlock + vx;
  long pixel = blockIdx.y;
  int ox = int(pixel % S.wo), oy = int(pixel / S.wo % S.ho);
  int img = int(pixel / (long(S.wo) * S.ho));
  Window win = pool_window<PoolKind::Adaptive, S>(oy, ox);
  int count = win.ny * win.nx;
  float acc[kVec];
#pragma unroll
  for (int j = 0; j < kVec; ++j)
    acc[j] = 0.f;
  const Act<P> *image =
      in + long(img) * S.h * S.w * S.in_stride + vector * kVec;
  if (vector < B::kVectors)
    for (int q = lane; q < count; q += B::kLanes) {
      int y = win.y0 + q / win.nx, x = win.x0 + q % win.nx;
      float v[kVec];
      load_vec<P, kVec>(image + (y * S.w + x) * S.in_stride, v);
#pragma unroll
      for (int j = 0; j < kVec; ++j)
        acc[j] += v[j];
    }
#pragma unroll
  for (int j = 0; j < kVec; ++j)
    partial[lane][vx][j] = acc[j];
  __syncthreads();
  if (lane != 0 || vector >= B::kVectors)
    return;
  for (int l = 1; l < B::kLanes; ++l)
#pragma unroll
    for (int j = 0; j < kVec; ++j)
      acc[j] += partial[l][vx][j];
#pragma unroll
  for (int j = 0; j < kVec; ++j)
    acc[j] /= win.divisor;
  store_vec<B::Io::kOutP, kVec, B::Io::kOutAlign>(
      out + pixel * S.out_stride + vector * kVec, acc);
}

/// The SE gate's dense layers; |gate| holds the pooled means on entry.
/// One block (256 threads) per image.
template <SqueezeExcite S> struct SeConfig {
  static constexpr SqueezeExcite kS = S;
};

template <class C>
__global__ void __launch_bounds__(256)
    se_dense_kernel(const float *w1, const float *b1, const float *w2t,
                    const float *b2, float *gate) {
  constexpr SqueezeExcite S = C::kS;
  float *pooled = reinterpret_cast<float *>(dynamic_shared()); // [c]
  float *hidden = pooled + S.c;                                // [r]
  float *g = gate + long(blockIdx.x) * S.c;
  for (int c = threadIdx.x; c < S.c; c += 256)
    pooled[c] = g[c];
  __syncthreads();
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int r = warp; r < S.r; r += 8) {
    float sum = 0.f;
    for (int c = lane; c < S.c; c += 32)
      sum = fmaf(w1[long(r) * S.c + c], pooled[c], sum);
#pragma unroll
    for (int d = 16; d > 0; d /= 2)
      sum += __shfl_xor_sync(0xffffffffu, sum, d);
    if (lane == 0)
      hidden[r] = activate<S.act>(sum + b1[r]);
  }
  __syncthreads();
  for (int c = threadIdx.x; c < S.c; c += 256) {
    float sum = b2[c];
    for (int r = 0; r < S.r; ++r)
      sum = fmaf(w2t[long(r) * S.c + c], hidden[r], sum);
    g[c] = activate<S.gate>(sum);
  }
}

} // namespace kiln::cuda::detail

#endif // KILN_RUNTIME_CUDA_POOL_CUH
