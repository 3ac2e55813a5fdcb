//===- wgmma.cuh - the sm_90a implicit-GEMM convolution kernel --*- CUDA -*-===//
//
// This file implements the Hopper (sm_90a) form of the implicit-GEMM
// convolution and linear layer of gemm.cuh (same C = A * B^T, same packed
// weights order within a K step, same fused epilogues), warp-specialised:
//
//  * warpgroup 0 is the producer: one thread waits until a pipeline stage is
//    free (its "empty" mbarrier), tells the stage's "full" mbarrier how many
//    bytes will land (arrive.expect_tx), and has the tensor memory
//    accelerator copy the K step's A box(es) and B tile there
//    (cp.async.bulk.tensor, completing on "full"). The layouts are those of
//    WgmmaGeometry (schedule.h): A by a 2-D map of [m][c] (gemm), a 4-D map
//    of the NHWC input with the convolution's strides as element strides and
//    its padding as out-of-bounds zeros (chunked), or eight 16-byte-wide
//    boxes, one per filter tap (packed); B by a 2-D map of [o][kp].
//  * warpgroups 1.. are consumers: each waits for a stage to be full,
//    fences, multiplies its 64 rows of A by the stage's B with wgmma
//    (m64nNk16 for fp16/bf16, m64nNk8 for tf32; both operands read from
//    shared memory through descriptors: 128-byte swizzle, or the
//    no-swizzle core-matrix layout of the packed stem), commits, waits for
//    the previous step's group and then releases that step's stage (one
//    arrival per consumer warp on "empty").
//  * the epilogue is gemm.cuh's: the fp32 tile goes through shared memory
//    (the stages, free once every K step is consumed) and every thread of
//    the block, producer warpgroup included, finishes kVec consecutive
//    output channels of a pixel (bias, residual, activation, one rounding,
//    vector stores, channel slices and shuffles). Split-K is gemm.cuh's too:
//    partial sums and a tile counter; the last slice block reduces.
//
// The M tile is bm = 64 * warpgroups rows: consecutive output pixels (gemm)
// or a rectangle of rn x rh x rw pixels; rows past the rectangle are not
// loaded (whatever shared memory holds there only reaches accumulator rows
// nobody stores, since wgmma rows are independent).
//
// Part of kernels.cuh; include that.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_WGMMA_CUH
#define KILN_RUNTIME_CUDA_WGMMA_CUH

#include "kiln/cuda/gemm.cuh"
#include "kiln/cuda/intrinsics_sm90.cuh"
#include "kiln/cuda/shared_once.cuh"

namespace kiln::cuda::detail {

template <Conv2d S, Schedule T, Epilogue E, Precision P> struct WgmmaConfig {
  static constexpr Conv2d kS = S;
  static constexpr Schedule kT = T;
  static constexpr Epilogue kE = E;
  static constexpr Precision kP = P;
  static constexpr WgmmaGeometry G = wgmma_geometry(S, P, T.bm);
  static constexpr int kThreads = schedule_threads(T);
  static constexpr int kConsumers = T.warpgroups;
  static constexpr int kTileA = T.bm * 128, kTileB = T.bn * 128;
  static constexpr int kSharedBytes = wgmma_shared_bytes(T);
  static constexpr long kTilesM = G.tiles_m;
  static constexpr int kTilesN = int(ceil_div(S.o, T.bn));
  static constexpr long kTiles = kTilesM * kTilesN;
  /// Bytes one K step's copies complete on its "full" barrier.
  static constexpr uint32_t kStepBytes =
      uint32_t((G.packed ? 8 * G.rows * 16 : G.rows * 128) + T.bn * 128);
  static constexpr int kStageLd = T.bn + 8; ///< fp32 epilogue tile row
  static constexpr int kVec = gemm_geometry(S, P, E).out_vec;

  static_assert(T.warpgroups > 0 && schedule_ok(S, P, T),
                "conv2d: unsupported sm_90a schedule (see wgmma_schedule_ok)");
  static_assert(!E.scale, "conv2d: the sm_90a kernel has no SE input scale");
  static_assert(G.m * S.out_stride < (1l << 31) &&
                    G.m * E.residual_stride < (1l << 31),
                "conv2d: tensors of 2^31 elements or more are unsupported");
};

/// The output pixel of row |r| of M tile |tm|, or -1 past the tensor or the
/// tile's rectangle.
template <class C>
__device__ __forceinline__ long wgmma_pixel(long tm, int r) {
  constexpr Conv2d S = C::kS;
  constexpr WgmmaGeometry G = C::G;
  if constexpr (G.gemm) {
    long m = tm * C::kT.bm + r;
    return m < G.m ? m : -1;
  } else {
    if (r >= G.rows)
      return -1;
    int tx = int(tm % G.tw), ty = int(tm / G.tw % G.th), ti = int(tm / (long(G.tw) * G.th));
    int x = tx * G.rw + r % G.rw, y = ty * G.rh + r / G.rw % G.rh,
        img = ti * G.rn + r / (G.rw * G.rh);
    if (x >= S.wo || y >= S.ho || img >= S.n)
      return -1;
    return (long(img) * S.ho + y) * S.wo + x;
  }
}

/// The producer's copies of K step |kt| of M tile |tm| into stage |a| / |b|.
template <class C>
__device__ __forceinline__ void wgmma_load(const CUtensorMap *map_a, const CUtensorMap *map_b,
                                           unsigned char *a, unsigned char *b, long tm,
                                           int n0, int kt, uint64_t *full) {
  constexpr Conv2d S = C::kS;
  constexpr WgmmaGeometry G = C::G;
  tma_load_2d(b, map_b, kt * G.bk, n0, full);
  if constexpr (G.gemm) {
    tma_load_2d(a, map_a, (kt % G.chunks) * G.bk, int(tm * C::kT.bm), full);
  } else {
    int tx = int(tm % G.tw), ty = int(tm / G.tw % G.th), ti = int(tm / (long(G.tw) * G.th));
    int x0 = tx * G.rw * S.sw - S.pw, y0 = ty * G.rh * S.sh - S.ph, img0 = ti * G.rn;
    if constexpr (G.packed) {
      // Eight taps, each a [rows][16 bytes] column; taps past the filter
      // read channels past c: zeros.
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        int tap = kt * 8 + j;
        bool real = tap < G.taps;
        int ky = real ? tap / S.kw : 0, kx = real ? tap % S.kw : 0;
        tma_load_4d(a + j * (C::kT.bm * 16), map_a, real ? 0 : G.cpad, x0 + kx * S.dw,
                    y0 + ky * S.dh, img0, full);
      }
    } else {
      int tap = kt / G.chunks, chunk = kt % G.chunks;
      int ky = tap / S.kw, kx = tap % S.kw;
      tma_load_4d(a, map_a, chunk * G.bk, x0 + kx * S.dw, y0 + ky * S.dh, img0, full);
    }
  }
}

/// Synchronisation points a test may leave out of conv_wgmma_kernel (bits
/// of its kOmit), to check that the emulator then computes wrong data or
/// fails (kiln-cuda-kernel-test --hopper-faults); 0 in every real use.
enum WgmmaOmit : int {
  kOmitFullWait = 1,  ///< consumers read a stage without waiting on "full"
  kOmitExpectTx = 2,  ///< the producer arrives without expect_tx
  kOmitFence = 4,     ///< no wgmma.fence before a step's wgmmas
  kOmitWgmmaWait = 8, ///< stages released before their wgmmas completed
  kOmitEmptyWait = 16 ///< the producer refills stages without waiting
};

/// The kernel's body (conv_wgmma_kernel, below, is empty outside sm_90a).
template <class C, int kOmit>
__device__ __forceinline__ void conv_wgmma_body(const CUtensorMap &map_a,
                                                const CUtensorMap &map_b,
                                                const ConvArgs<C::kP> &args) {
  constexpr Schedule T = C::kT;
  constexpr Precision P = C::kP;
  constexpr WgmmaGeometry G = C::G;
  // Stages at a 1024-byte boundary of the shared window (the 128-byte
  // swizzle repeats every 8 rows of 128 bytes, and descriptors assume it).
  unsigned char *raw = dynamic_shared();
  unsigned char *smem = raw + ((1024 - shared_address(raw) % 1024) % 1024);
  unsigned char *stage_a = smem;
  unsigned char *stage_b = smem + T.stages * C::kTileA;
  uint64_t *full = reinterpret_cast<uint64_t *>(stage_b + T.stages * C::kTileB);
  uint64_t *empty = full + T.stages;

  const int tid = threadIdx.x, wg = tid / 128, lane = tid & 31;
  const long tm = long(blockIdx.x / C::kTilesN);
  const int n0 = int(blockIdx.x % C::kTilesN) * T.bn;
  const int slice = int(blockIdx.y);
  const int kt0 = slice * G.steps / T.split_k;
  const int steps = (slice + 1) * G.steps / T.split_k - kt0;

  if (tid == 0) {
    for (int s = 0; s < T.stages; ++s) {
      mbarrier_init(&full[s], 1);
      mbarrier_init(&empty[s], 4 * C::kConsumers);
    }
    fence_barrier_init();
  }
  __syncthreads();

  float acc[T.bn / 2];
  if (wg == 0) {
    if (tid == 0) {
      for (int i = 0; i < steps; ++i) {
        int s = i % T.stages;
        // Free once every consumer warp released it (the first round
        // passes: the barrier's phase before phase 0 counts as complete).
        if constexpr (!(kOmit & kOmitEmptyWait))
          mbarrier_wait(&empty[s], ((i / T.stages) & 1) ^ 1);
        if constexpr (kOmit & kOmitExpectTx)
          mbarrier_arrive(&full[s]);
        else
          mbarrier_arrive_expect_tx(&full[s], C::kStepBytes);
        wgmma_load<C>(&map_a, &map_b, stage_a + s * C::kTileA, stage_b + s * C::kTileB, tm,
                      n0, kt0 + i, &full[s]);
      }
    }
  } else {
    const int cw = wg - 1; // this consumer's 64 rows
#pragma unroll
    for (int j = 0; j < T.bn / 2; ++j)
      acc[j] = 0.f;
    for (int i = 0; i < steps; ++i) {
      int s = i % T.stages;
      if constexpr (!(kOmit & kOmitFullWait))
        mbarrier_wait(&full[s], (i / T.stages) & 1);
      unsigned char *a = stage_a + s * C::kTileA, *b = stage_b + s * C::kTileB;
      if constexpr (!(kOmit & kOmitFence))
        wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) { // 32 bytes of K each
        uint64_t da =
            G.packed ? wgmma_descriptor(a + 2 * ks * (T.bm * 16) + cw * 64 * 16, T.bm * 16,
                                        128, Swizzle::None)
                     : wgmma_descriptor(a + cw * 64 * 128 + 32 * ks, 16, 1024, Swizzle::B128);
        uint64_t db = wgmma_descriptor(b + 32 * ks, 16, 1024, Swizzle::B128);
        wgmma_ss<P, T.bn>(acc, da, db, 1);
      }
      wgmma_commit();
      if constexpr (kOmit & kOmitWgmmaWait) {
        if (lane == 0) // this step's stage, while its wgmmas may still read it
          mbarrier_arrive(&empty[s]);
        continue;
      }
      // The previous step's multiplies are done: release its stage.
      wgmma_wait<1>();
      if (i > 0 && lane == 0)
        mbarrier_arrive(&empty[(i - 1) % T.stages]);
    }
    wgmma_wait<0>();
  }
  __syncthreads(); // every stage consumed: the epilogue may reuse them

  float *sc = reinterpret_cast<float *>(smem);
  if (wg > 0) {
    // The accumulator fragment: d[4j + q] is row 16 * warp + g + 8 (q / 2),
    // column 8j + 2t + q % 2 of this warpgroup's 64 x bn tile.
    const int row0 = (wg - 1) * 64 + 16 * ((tid / 32) % 4) + lane / 4;
#pragma unroll
    for (int j = 0; j < T.bn / 8; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        Words<2> v{{__float_as_uint(acc[4 * j + 2 * h]), __float_as_uint(acc[4 * j + 2 * h + 1])}};
        *reinterpret_cast<Words<2> *>(sc + (row0 + 8 * h) * C::kStageLd + 8 * j +
                                      (lane & 3) * 2) = v;
      }
  }
  __syncthreads();

  store_tile<C>(args, smem, 0, slice, n0, [&](int r) { return wgmma_pixel<C>(tm, r); }, tid);
}

/// The kernel: code in nvcc's sm_90a device pass (and the emulator's) only;
/// in the others (sm_80, PTX for later GPUs) it traps, as their variant
/// never launches it (kiln/cuda/arch.h).
template <class C, int kOmit = 0>
__global__ void __launch_bounds__(C::kThreads, 1)
    conv_wgmma_kernel(const __grid_constant__ CUtensorMap map_a,
                      const __grid_constant__ CUtensorMap map_b, ConvArgs<C::kP> args) {
#if KILN_SM90A || !defined(__CUDA_ARCH__)
  conv_wgmma_body<C, kOmit>(map_a, map_b, args);
#else
  (void)map_a, (void)map_b, (void)args;
  __trap();
#endif
}

/// The tensor maps of a launch: A over the input (2-D for gemm, else the
/// 4-D NHWC tensor with the convolution's strides), B over the packed
/// weights. False when the driver refuses one (or has no encoder).
template <class C>
bool wgmma_tensor_maps(const void *in, const void *weights, CUtensorMap *map_a,
                       CUtensorMap *map_b) {
  constexpr Conv2d S = C::kS;
  constexpr Schedule T = C::kT;
  constexpr WgmmaGeometry G = C::G;
  TensorMapEncoder encode = get_tensor_map_encoder();
  if (!encode)
    return false;
  const CUtensorMapDataType type = C::kP == Precision::F16    ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                                   : C::kP == Precision::BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                              : CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
  const cuuint64_t es = cuuint64_t(G.es), pixel = cuuint64_t(S.in_stride) * es;
  CUresult ra;
  if constexpr (G.gemm) {
    const cuuint64_t dims[2] = {cuuint64_t(S.c), cuuint64_t(G.m)};
    const cuuint64_t strides[1] = {pixel};
    const cuuint32_t box[2] = {cuuint32_t(G.bk), cuuint32_t(T.bm)};
    const cuuint32_t steps[2] = {1, 1};
    ra = encode(map_a, type, 2, const_cast<void *>(in), dims, strides, box, steps,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  } else {
    const cuuint64_t dims[4] = {cuuint64_t(S.c), cuuint64_t(S.w), cuuint64_t(S.h),
                                cuuint64_t(S.n)};
    const cuuint64_t strides[3] = {pixel, pixel * S.w, pixel * S.w * S.h};
    const cuuint32_t box[4] = {cuuint32_t(G.packed ? G.cpad : G.bk), cuuint32_t(G.rw * S.sw),
                               cuuint32_t(G.rh * S.sh), cuuint32_t(G.rn)};
    const cuuint32_t steps[4] = {1, cuuint32_t(S.sw), cuuint32_t(S.sh), 1};
    ra = encode(map_a, type, 4, const_cast<void *>(in), dims, strides, box, steps,
                CU_TENSOR_MAP_INTERLEAVE_NONE,
                G.packed ? CU_TENSOR_MAP_SWIZZLE_NONE : CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  }
  const cuuint64_t wdims[2] = {cuuint64_t(G.kp), cuuint64_t(S.o)};
  const cuuint64_t wstrides[1] = {cuuint64_t(G.kp) * es};
  const cuuint32_t wbox[2] = {cuuint32_t(G.bk), cuuint32_t(T.bn)};
  const cuuint32_t wsteps[2] = {1, 1};
  CUresult rb = encode(map_b, type, 2, const_cast<void *>(weights), wdims, wstrides, wbox,
                       wsteps, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                       CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return ra == CUDA_SUCCESS && rb == CUDA_SUCCESS;
}

/// Launches conv_wgmma_kernel<C, kOmit> (conv2d, for an sm_90a schedule)
/// over the M tiles of the first |n| samples (tiles are sample-major).
template <class C, int kOmit = 0>
cudaError_t launch_wgmma(const ConvArgs<C::kP> &args, cudaStream_t stream,
                         int n = C::kS.n) {
  if (C::kT.split_k > 1 && reinterpret_cast<uintptr_t>(args.workspace) % 16)
    return cudaErrorMisalignedAddress;
  // Tensor maps hold the addresses: made at every call (host only; a
  // captured graph keeps them).
  CUtensorMap map_a, map_b;
  if (!wgmma_tensor_maps<C>(args.in, args.weights, &map_a, &map_b))
    return cudaErrorNotSupported;
  auto kernel = conv_wgmma_kernel<C, kOmit>;
  static SharedOnce shared;
  if (cudaError_t attribute = shared(kernel, C::kSharedBytes);
      attribute != cudaSuccess)
    return attribute;
  constexpr WgmmaGeometry G = C::G;
  long tiles_m = G.gemm ? ceil_div(long(n) * C::kS.ho * C::kS.wo, long(C::kT.bm))
                        : ceil_div(long(n), long(G.rn)) * G.th * G.tw;
  dim3 grid(unsigned(tiles_m * C::kTilesN), unsigned(C::kT.split_k));
  KILN_LAUNCH(kernel, grid, dim3(C::kThreads), C::kSharedBytes, stream)
  (map_a, map_b, args);
  return cudaGetLastError();
}

} // namespace kiln::cuda::detail

#endif // KILN_RUNTIME_CUDA_WGMMA_CUH
