//===- hopper_test.cu - checks of the emulator's sm_90a instructions ------===//
//
// kiln-hopper-test <command> checks kiln's SIMT emulator on Hopper's
// asynchronous instructions (runtime/src/cuda_emu/Hopper.cpp) through the
// wrappers kernels use (kiln/cuda/intrinsics_sm90.cuh), one line per check
// and "kiln-hopper-test <command>: N checks, F failed" (exit status 1 when a
// check failed, 2 on a usage error). The expected values are written from
// the PTX ISA's definitions, independently of the emulator's code: the
// swizzles as CUTLASS's Swizzle<3,4,3>, <2,4,3> and <1,4,3> define them (the
// 16-byte chunk index within the span XORed with the 128-byte line index
// within the 1024-byte atom, as many bits as the span has chunks), the
// no-swizzle layout as 8x16-byte core matrices, the wgmma fragment as the
// m16n8 one repeated along N, tensor boxes element by element with zeros
// outside the tensor.
//
// Commands that must pass:
//   wgmma       m64nNk16 f16 / bf16 and m64nNk8 tf32 (N = 64, 128, 256) from
//               each shared-memory layout (no swizzle, 32B, 64B, 128B), four
//               K slices by advancing the descriptors, two warpgroups; an
//               integer-valued product, compared exactly
//   tma         2-D and 4-D tensor boxes: out-of-bounds zeros (negative and
//               past the end), element strides, the 32B/64B/128B swizzles,
//               NaN fill, several loads on one mbarrier
//   mbarrier    phases and parities over a two-stage producer/consumer ring,
//               arrival counts, expect_tx
//   tensor-map  cuTensorMapEncodeTiled's argument checks
// Commands whose kernels are wrong and that must fail (exit status 1):
//   missing-tma-wait    reads a TMA destination without waiting on its barrier
//   missing-expect-tx   arrives on the barrier without expect_tx: the phase
//                       completes before the bytes land
//   missing-fence       wgmma without wgmma.fence
//   missing-wgmma-wait  reads the accumulators without wgmma.wait_group
//   early-release       overwrites a stage before the wgmma reading it waited
//   mbarrier-deadlock   waits for a phase nobody completes
//   extra-arrival       arrives more often than the barrier's count
//   uninitialized-mbarrier  waits on a barrier never initialized
//
//===----------------------------------------------------------------------===//

#include "kiln/cuda/intrinsics_sm90.cuh"
#include "kiln/cuda/numeric.cuh"

#include "emu_checks.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace kiln::cuda;

namespace {

using namespace kiln::emu_test;

const char *name(Precision p) {
  return p == Precision::F16 ? "f16" : p == Precision::BF16 ? "bf16" : "tf32";
}
const char *name(Swizzle s) {
  switch (s) {
  case Swizzle::None:
    return "no swizzle";
  case Swizzle::B32:
    return "32B swizzle";
  case Swizzle::B64:
    return "64B swizzle";
  case Swizzle::B128:
    return "128B swizzle";
  }
  return "?";
}

/// The span of a swizzle mode (16 for the core-matrix layout).
KILN_HOST_DEVICE_INLINE constexpr int span_of(Swizzle s) {
  return s == Swizzle::B128 ? 128 : s == Swizzle::B64 ? 64 : s == Swizzle::B32 ? 32 : 16;
}

/// Where logical byte |at| of a swizzled buffer (1024-byte aligned) is:
/// Swizzle<B,4,3> with 2^B = span / 16 chunks.
KILN_HOST_DEVICE_INLINE int swizzle_at(int span, int at) {
  const int chunks = span / 16;
  return span <= 16 ? at : at ^ (((at >> 7) & (chunks - 1)) << 4);
}

/// Offset of byte |k| (0..127) of K-major row |r| in a tile of |rows| rows
/// laid out for |s|, the tile 1024-byte aligned. K is split into column
/// blocks of `span` bytes, each holding every row ([rows][span], rows
/// contiguous, then swizzled); none: 16-byte column blocks, 8 rows of which
/// are a core matrix.
KILN_HOST_DEVICE_INLINE int tile_offset(Swizzle s, int rows, int r, int k) {
  const int span = span_of(s), block = k / span, in = k % span;
  return swizzle_at(span, block * rows * span + r * span + in);
}

/// The descriptor of K slice |ks| (32 bytes) of a tile laid out for |s|.
KILN_DEVICE_INLINE uint64_t slice_descriptor(const unsigned char *tile, Swizzle s, int rows,
                                             int ks) {
  const int span = span_of(s), k = 32 * ks;
  const unsigned char *start = tile + (k / span) * rows * span + k % span;
  if (s == Swizzle::None) // core matrices: K neighbours are the next 16-byte block
    return wgmma_descriptor(start, uint32_t(rows * 16), 128, s);
  return wgmma_descriptor(start, 16, uint32_t(8 * span), s);
}

//===----------------------------------------------------------------------===//
// wgmma
//===----------------------------------------------------------------------===//

template <Precision P> using Elem = Act<P>;

/// Two warpgroups: warpgroup w multiplies A rows [64w, 64w + 64) by B, K =
/// 64 elements of f16/bf16 (or 32 of tf32) in four wgmma slices. A and B
/// are staged in shared memory by plain stores at tile_offset.
template <Precision P, int N, Swizzle S>
__global__ void wgmma_kernel(const Elem<P> *a, const Elem<P> *b, float *d) {
  constexpr int es = int(sizeof(Elem<P>)), kk = 128 / es;
  KILN_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char *smem = raw + (1024 - shared_address(raw) % 1024) % 1024;
  unsigned char *ta = smem, *tb = smem + 128 * 128;
  const int t = threadIdx.x;
  for (int i = t; i < 128 * kk; i += blockDim.x) {
    int r = i / kk, k = i % kk;
    *reinterpret_cast<Elem<P> *>(ta + tile_offset(S, 128, r, k * es)) = a[i];
  }
  for (int i = t; i < N * kk; i += blockDim.x) {
    int r = i / kk, k = i % kk;
    *reinterpret_cast<Elem<P> *>(tb + tile_offset(S, N, r, k * es)) = b[i];
  }
  __syncthreads();
  const int wg = t / 128;
  float acc[N / 2];
  for (int j = 0; j < N / 2; ++j)
    acc[j] = 0.f;
  wgmma_fence();
  for (int ks = 0; ks < 4; ++ks) {
    // Warpgroup wg's A: rows 64wg.. (whole 8-row groups: SBO steps).
    uint64_t da = slice_descriptor(ta, S, 128, ks) +
                  ((uint64_t(wg * 64 / 8) * (S == Swizzle::None ? 128 : 8 * span_of(S))) >> 4);
    wgmma_ss<P, N>(acc, da, slice_descriptor(tb, S, N, ks), 1);
  }
  wgmma_commit();
  wgmma_wait<0>();
  const int lane = t % 32, warp = t / 32 % 4;
  for (int j = 0; j < N / 8; ++j)
    for (int q = 0; q < 4; ++q) {
      int row = 64 * wg + 16 * warp + lane / 4 + 8 * (q / 2), col = 8 * j + 2 * (lane % 4) + q % 2;
      d[row * N + col] = acc[4 * j + q];
    }
}

template <Precision P> Elem<P> from_int(int v) {
  if constexpr (P == Precision::TF32)
    return float(v);
  else
    return Elem<P>(float(v));
}

template <Precision P, int N, Swizzle S> void wgmma_case() {
  constexpr int kk = 128 / int(sizeof(Elem<P>));
  std::vector<Elem<P>> a(128 * kk), b(N * kk);
  std::vector<int> ia(a.size()), ib(b.size());
  for (size_t i = 0; i < a.size(); ++i)
    ia[i] = int((i * 7 + i / kk * 3) % 9) - 4, a[i] = from_int<P>(ia[i]);
  for (size_t i = 0; i < b.size(); ++i)
    ib[i] = int((i * 5 + i / kk) % 7) - 3, b[i] = from_int<P>(ib[i]);
  Buf<Elem<P>> da(a), db(b);
  Buf<float> dd(128 * N);
  cudaFuncSetAttribute(wgmma_kernel<P, N, S>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                       128 * 128 + N * 128 + 1024);
  KILN_LAUNCH(wgmma_kernel<P, N, S>, dim3(1), dim3(256), 128 * 128 + N * 128 + 1024, 0)
  (da.d, db.d, dd.d);
  bool ok = launched("wgmma_kernel");
  std::vector<float> d = dd.get();
  int wrong = 0;
  for (int r = 0; r < 128 && ok; ++r)
    for (int c = 0; c < N; ++c) {
      long e = 0;
      for (int k = 0; k < kk; ++k)
        e += long(ia[r * kk + k]) * ib[c * kk + k];
      wrong += d[r * N + c] != float(e);
    }
  char what[120];
  std::snprintf(what, sizeof what, "wgmma m64n%dk%d %s, %s, 4 K slices, 2 warpgroups%s", N,
                P == Precision::TF32 ? 8 : 16, name(P), name(S),
                wrong ? (" (" + std::to_string(wrong) + " wrong)").c_str() : "");
  check(ok && wrong == 0, what);
}

template <Precision P, Swizzle S> void wgmma_n() {
  wgmma_case<P, 64, S>();
  wgmma_case<P, 128, S>();
  wgmma_case<P, 256, S>();
}

void wgmma() {
  for (auto f : {wgmma_n<Precision::F16, Swizzle::None>, wgmma_n<Precision::F16, Swizzle::B32>,
                 wgmma_n<Precision::F16, Swizzle::B64>, wgmma_n<Precision::F16, Swizzle::B128>,
                 wgmma_n<Precision::BF16, Swizzle::B128>, wgmma_n<Precision::BF16, Swizzle::None>,
                 wgmma_n<Precision::TF32, Swizzle::B128>, wgmma_n<Precision::TF32, Swizzle::B64>,
                 wgmma_n<Precision::TF32, Swizzle::None>})
    f();
}

//===----------------------------------------------------------------------===//
// tma
//===----------------------------------------------------------------------===//

struct MapSpec {
  int rank;
  uint64_t dims[5];
  uint32_t box[5], steps[5];
  CUtensorMapSwizzle swizzle;
  bool nan_fill;
};

constexpr int swizzle_span(CUtensorMapSwizzle s) {
  return s == CU_TENSOR_MAP_SWIZZLE_128B ? 128 : s == CU_TENSOR_MAP_SWIZZLE_64B ? 64
         : s == CU_TENSOR_MAP_SWIZZLE_32B ? 32 : 0;
}

/// One box of a float tensor (dims dense, dim 0 innermost) at |coords|, and
/// optionally a second one (the box after it in shared memory) on the same
/// barrier; the shared bytes are copied out raw.
__global__ void tma_kernel(const __grid_constant__ CUtensorMap map, int rank, int c0, int c1,
                           int c2, int c3, int second, uint32_t bytes, float *out) {
  KILN_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char *smem = raw + (1024 - shared_address(raw) % 1024) % 1024;
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem + 8192 + 1024);
  if (threadIdx.x == 0) {
    mbarrier_init(bar, 1);
    fence_barrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    mbarrier_arrive_expect_tx(bar, bytes * (second ? 2 : 1));
    for (int i = 0; i <= second; ++i) {
      unsigned char *dst = smem + i * 4096;
      if (rank == 2)
        tma_load_2d(dst, &map, c0 + i, c1, bar);
      else
        tma_load_4d(dst, &map, c0, c1, c2 + i, c3, bar);
    }
  }
  mbarrier_wait(bar, 0);
  for (int i = threadIdx.x; i < 8192 / 4; i += blockDim.x)
    out[i] = reinterpret_cast<const float *>(smem)[i];
}

void tma_case(const char *what, const MapSpec &m, std::vector<int> coords, bool second = false) {
  uint64_t total = 1;
  for (int d = 0; d < m.rank; ++d)
    total *= m.dims[d];
  std::vector<float> host(total);
  for (uint64_t i = 0; i < total; ++i)
    host[i] = float(i + 1);
  Buf<float> src(host), out(8192 / 4);
  alignas(64) CUtensorMap map;
  cuuint64_t strides[4];
  uint64_t s = 4;
  for (int d = 1; d < m.rank; ++d)
    s *= m.dims[d - 1], strides[d - 1] = s;
  CUresult r = cuTensorMapEncodeTiled(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, m.rank, src.d,
                                      m.dims, strides, m.box, m.steps,
                                      CU_TENSOR_MAP_INTERLEAVE_NONE, m.swizzle,
                                      CU_TENSOR_MAP_L2_PROMOTION_NONE,
                                      m.nan_fill ? CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA
                                                 : CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    check(false, std::string(what) + ": cuTensorMapEncodeTiled refused the map");
    return;
  }
  uint32_t count[4] = {1, 1, 1, 1};
  uint32_t bytes = 4;
  for (int d = 0; d < m.rank; ++d)
    count[d] = (m.box[d] + (d ? m.steps[d] : 1) - 1) / (d ? m.steps[d] : 1), bytes *= count[d];
  coords.resize(4, 0);
  cudaFuncSetAttribute(tma_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 8192 + 2048);
  KILN_LAUNCH(tma_kernel, dim3(1), dim3(64), 8192 + 2048, 0)
  (map, m.rank, coords[0], coords[1], coords[2], coords[3], second ? 1 : 0, bytes, out.d);
  bool ok = launched("tma_kernel");
  std::vector<float> got = out.get();
  // Element by element: where it must land and what it must be.
  const int span = swizzle_span(m.swizzle);
  int wrong = 0;
  for (int box = 0; box <= int(second) && ok; ++box) {
    uint32_t logical = uint32_t(box) * 4096;
    for (uint32_t i3 = 0; i3 < count[3]; ++i3)
      for (uint32_t i2 = 0; i2 < count[2]; ++i2)
        for (uint32_t i1 = 0; i1 < count[1]; ++i1)
          for (uint32_t i0 = 0; i0 < count[0]; ++i0, logical += 4) {
            const uint32_t idx[4] = {i0, i1, i2, i3};
            int64_t x[4];
            bool inside = true;
            uint64_t flat = 0, stride = 1;
            for (int d = 0; d < m.rank; ++d) {
              int shift = box && (m.rank == 2 ? d == 0 : d == 2) ? 1 : 0;
              x[d] = coords[d] + shift + int64_t(idx[d]) * (d ? m.steps[d] : 1);
              inside = inside && x[d] >= 0 && uint64_t(x[d]) < m.dims[d];
              flat += uint64_t(inside ? x[d] : 0) * stride;
              stride *= m.dims[d];
            }
            float expect = inside ? host[flat] : m.nan_fill ? NAN : 0.f;
            // The swizzle: chunk c of row r (rows of `span` bytes) moves to
            // c ^ (r % (span / 16)), the row taken within its 8-row atom.
            uint32_t at = uint32_t(swizzle_at(span, int(logical)));
            float g = got[at / 4];
            bool same = std::isnan(expect) ? std::isnan(g) : g == expect;
            wrong += !same;
          }
  }
  check(ok && wrong == 0,
        std::string(what) + (wrong ? " (" + std::to_string(wrong) + " wrong)" : ""));
}

void tma() {
  // 2-D: 40 x 30 floats, boxes of 32 x 8 (128 bytes a row).
  MapSpec m2{2, {40, 30}, {32, 8}, {1, 1}, CU_TENSOR_MAP_SWIZZLE_128B, false};
  tma_case("tma 2d box inside the tensor, 128B swizzle", m2, {0, 0});
  tma_case("tma 2d box past the end (zeros), 128B swizzle", m2, {16, 26});
  tma_case("tma 2d box at negative coordinates (zeros)", m2, {-5, -3});
  MapSpec n2 = m2;
  n2.nan_fill = true;
  tma_case("tma 2d out of bounds with NaN fill", n2, {16, 26});
  // Boxes of more than 8 lines of 128 bytes: each 1024-byte atom's lines.
  MapSpec s64 = m2;
  s64.box[0] = 16, s64.box[1] = 24, s64.swizzle = CU_TENSOR_MAP_SWIZZLE_64B;
  tma_case("tma 2d, 64B swizzle", s64, {3, 1});
  MapSpec s32 = m2;
  s32.box[0] = 8, s32.box[1] = 24, s32.swizzle = CU_TENSOR_MAP_SWIZZLE_32B;
  tma_case("tma 2d, 32B swizzle", s32, {7, 2});
  MapSpec s128 = m2;
  s128.box[1] = 24;
  tma_case("tma 2d, 128B swizzle, 3 atoms", s128, {5, 3});
  MapSpec none = m2;
  none.box[0] = 4, none.swizzle = CU_TENSOR_MAP_SWIZZLE_NONE;
  tma_case("tma 2d, 16-byte rows, no swizzle", none, {38, 28});
  tma_case("tma 2d, two loads on one mbarrier", m2, {1, 2}, true);
  // 4-D NHWC, a convolution's view: C = 8 (32 bytes), W = 9, H = 7, N = 2;
  // element strides 2 along W and H (stride-2 taps), padding as negative
  // coordinates.
  MapSpec m4{4, {8, 9, 7, 2}, {8, 8, 6, 2}, {1, 2, 2, 1}, CU_TENSOR_MAP_SWIZZLE_32B, false};
  tma_case("tma 4d, element strides 2, padding (negative coordinates), 32B swizzle", m4,
           {0, -1, -1, 0});
  tma_case("tma 4d, element strides 2, past the end", m4, {0, 4, 3, 1});
  MapSpec q4{4, {8, 9, 7, 2}, {8, 4, 3, 1}, {1, 1, 1, 1}, CU_TENSOR_MAP_SWIZZLE_NONE, false};
  tma_case("tma 4d, unit strides, no swizzle, two loads", q4, {0, 6, 5, 1}, true);
}

//===----------------------------------------------------------------------===//
// mbarrier
//===----------------------------------------------------------------------===//

/// Thread 0 produces 6 items through a ring of 2 slots (full: 1 arrival;
/// empty: one per consumer warp); warps 1-3 consume each item and add it up.
__global__ void ring_kernel(int *out) {
  KILN_DYNAMIC_SHARED(unsigned char, smem);
  uint64_t *full = reinterpret_cast<uint64_t *>(smem), *empty = full + 2;
  int *slot = reinterpret_cast<int *>(smem + 64);
  const int t = threadIdx.x;
  if (t == 0) {
    for (int s = 0; s < 2; ++s) {
      mbarrier_init(&full[s], 1);
      mbarrier_init(&empty[s], 3);
    }
    fence_barrier_init();
  }
  __syncthreads();
  if (t < 32) {
    if (t == 0)
      for (int i = 0; i < 6; ++i) {
        int s = i % 2;
        mbarrier_wait(&empty[s], ((i / 2) & 1) ^ 1);
        slot[s] = 10 * (i + 1);
        mbarrier_arrive(&full[s]);
      }
  } else {
    int sum = 0;
    for (int i = 0; i < 6; ++i) {
      int s = i % 2;
      mbarrier_wait(&full[s], (i / 2) & 1);
      sum += slot[s] + i;
      __syncwarp();
      if (t % 32 == 0)
        mbarrier_arrive(&empty[s]);
    }
    out[t - 32] = sum;
  }
}

void mbarrier() {
  Buf<int> out(96);
  KILN_LAUNCH(ring_kernel, dim3(1), dim3(128), 128, 0)(out.d);
  bool ok = launched("ring_kernel");
  std::vector<int> o = out.get();
  int expect = 10 * 21 + 15, wrong = 0;
  for (int v : o)
    wrong += ok && v != expect;
  check(ok && wrong == 0, "mbarrier: a 2-slot ring over 6 items, parities and arrival counts");
}

//===----------------------------------------------------------------------===//
// tensor-map
//===----------------------------------------------------------------------===//

void tensor_map() {
  Buf<float> buf(4096);
  alignas(64) CUtensorMap map;
  auto encode = [&](void *base, cuuint64_t stride, cuuint32_t box0, cuuint32_t box1,
                    cuuint32_t step1, CUtensorMapSwizzle sw) {
    const cuuint64_t dims[2] = {64, 64};
    const cuuint64_t strides[1] = {stride};
    const cuuint32_t box[2] = {box0, box1};
    const cuuint32_t steps[2] = {1, step1};
    return cuTensorMapEncodeTiled(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, base, dims, strides,
                                  box, steps, CU_TENSOR_MAP_INTERLEAVE_NONE, sw,
                                  CU_TENSOR_MAP_L2_PROMOTION_NONE,
                                  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  };
  check(encode(buf.d, 256, 32, 8, 1, CU_TENSOR_MAP_SWIZZLE_128B) == CUDA_SUCCESS,
        "cuTensorMapEncodeTiled accepts a valid map");
  check(encode(reinterpret_cast<char *>(buf.d) + 4, 256, 32, 8, 1,
               CU_TENSOR_MAP_SWIZZLE_128B) == CUDA_ERROR_INVALID_VALUE,
        "cuTensorMapEncodeTiled refuses a global address not 16-byte aligned");
  check(encode(buf.d, 260, 32, 8, 1, CU_TENSOR_MAP_SWIZZLE_128B) == CUDA_ERROR_INVALID_VALUE,
        "cuTensorMapEncodeTiled refuses a stride not a multiple of 16");
  check(encode(buf.d, 256, 64, 8, 1, CU_TENSOR_MAP_SWIZZLE_128B) == CUDA_ERROR_INVALID_VALUE,
        "cuTensorMapEncodeTiled refuses an inner box wider than the swizzle span");
  check(encode(buf.d, 256, 3, 8, 1, CU_TENSOR_MAP_SWIZZLE_NONE) == CUDA_ERROR_INVALID_VALUE,
        "cuTensorMapEncodeTiled refuses an inner box not a multiple of 16 bytes");
  check(encode(buf.d, 256, 32, 300, 1, CU_TENSOR_MAP_SWIZZLE_128B) == CUDA_ERROR_INVALID_VALUE,
        "cuTensorMapEncodeTiled refuses a box dimension over 256");
  check(encode(buf.d, 256, 32, 8, 9, CU_TENSOR_MAP_SWIZZLE_128B) == CUDA_ERROR_INVALID_VALUE,
        "cuTensorMapEncodeTiled refuses an element stride over 8");
  TensorMapEncoder e = get_tensor_map_encoder();
  check(e == &cuTensorMapEncodeTiled,
        "cudaGetDriverEntryPointByVersion finds cuTensorMapEncodeTiled");
}

//===----------------------------------------------------------------------===//
// Kernels that must fail
//===----------------------------------------------------------------------===//

enum class Fault { None, TmaWait, ExpectTx, Fence, WgmmaWait, EarlyRelease };

/// One warpgroup computes a 64 x 64 f16 product (K = 64) from A and B that
/// the TMA loads (128B swizzle), with one synchronisation point left out.
template <Fault F>
__global__ void faulty_kernel(const __grid_constant__ CUtensorMap map_a,
                              const __grid_constant__ CUtensorMap map_b,
                              const __grid_constant__ CUtensorMap map_c, float *d) {
  KILN_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char *smem = raw + (1024 - shared_address(raw) % 1024) % 1024;
  unsigned char *ta = smem, *tb = smem + 8192;
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem + 16384);
  const int t = threadIdx.x;
  if (t == 0) {
    mbarrier_init(&bar[0], 1);
    mbarrier_init(&bar[1], 1);
    fence_barrier_init();
  }
  __syncthreads();
  if (t == 0) {
    if (F == Fault::ExpectTx)
      mbarrier_arrive(&bar[0]);
    else
      mbarrier_arrive_expect_tx(&bar[0], 2 * 8192);
    tma_load_2d(ta, &map_a, 0, 0, &bar[0]);
    tma_load_2d(tb, &map_b, 0, 0, &bar[0]);
  }
  if (F != Fault::TmaWait)
    mbarrier_wait(&bar[0], 0);
  float acc[32];
  for (int j = 0; j < 32; ++j)
    acc[j] = 0.f;
  if (F != Fault::Fence)
    wgmma_fence();
  for (int ks = 0; ks < 4; ++ks)
    wgmma_ss<Precision::F16, 64>(acc, wgmma_descriptor(ta + 32 * ks, 16, 1024, Swizzle::B128),
                                 wgmma_descriptor(tb + 32 * ks, 16, 1024, Swizzle::B128), 1);
  wgmma_commit();
  if (F == Fault::EarlyRelease) {
    // The stage is refilled (with other data) before the multiply waited.
    if (t == 0) {
      mbarrier_arrive_expect_tx(&bar[1], 8192);
      tma_load_2d(ta, &map_c, 0, 0, &bar[1]);
    }
    mbarrier_wait(&bar[1], 0);
  }
  if (F != Fault::WgmmaWait)
    wgmma_wait<0>();
  const int lane = t % 32, warp = t / 32;
  for (int j = 0; j < 8; ++j)
    for (int q = 0; q < 4; ++q)
      d[(16 * warp + lane / 4 + 8 * (q / 2)) * 64 + 8 * j + 2 * (lane % 4) + q % 2] =
          acc[4 * j + q];
  if (F == Fault::WgmmaWait)
    wgmma_wait<0>();
}

template <Fault F> int faulty(const char *what) {
  std::vector<__half> a(64 * 64), b(64 * 64), c(64 * 64);
  std::vector<int> ia(a.size()), ib(b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ia[i] = int(i * 7 % 5) - 2, a[i] = __half(float(ia[i]));
    ib[i] = int(i * 3 % 7) - 3, b[i] = __half(float(ib[i]));
    c[i] = __half(float(int(i % 3) + 5));
  }
  Buf<__half> da(a), db(b), dc(c);
  Buf<float> dd(64 * 64);
  CUtensorMap maps[3];
  const __half *srcs[3] = {da.d, db.d, dc.d};
  for (int i = 0; i < 3; ++i) {
    const cuuint64_t dims[2] = {64, 64}, strides[1] = {128};
    const cuuint32_t box[2] = {64, 64}, steps[2] = {1, 1};
    cuTensorMapEncodeTiled(&maps[i], CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2,
                           const_cast<__half *>(srcs[i]), dims, strides, box, steps,
                           CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                           CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  }
  cudaFuncSetAttribute(faulty_kernel<F>, cudaFuncAttributeMaxDynamicSharedMemorySize, 18432);
  KILN_LAUNCH(faulty_kernel<F>, dim3(1), dim3(128), 18432, 0)(maps[0], maps[1], maps[2], dd.d);
  if (!launched(what))
    return 1;
  std::vector<float> d = dd.get();
  int wrong = 0;
  for (int r = 0; r < 64; ++r)
    for (int col = 0; col < 64; ++col) {
      long e = 0;
      for (int k = 0; k < 64; ++k)
        e += long(ia[r * 64 + k]) * ib[col * 64 + k];
      wrong += d[r * 64 + col] != float(e);
    }
  std::printf("%s: %d of 4096 results are wrong\n", what, wrong);
  return wrong ? 1 : 0;
}

__global__ void deadlock_kernel(int *out) {
  KILN_DYNAMIC_SHARED(uint64_t, bar);
  if (threadIdx.x == 0)
    mbarrier_init(bar, 2);
  __syncthreads();
  if (threadIdx.x == 0)
    mbarrier_arrive(bar); // one of two arrivals
  mbarrier_wait(bar, 0);
  out[threadIdx.x] = 1;
}

__global__ void extra_arrival_kernel(int *out) {
  KILN_DYNAMIC_SHARED(uint64_t, bar);
  if (threadIdx.x == 0) {
    mbarrier_init(bar, 1);
    mbarrier_arrive_expect_tx(bar, 16);
    mbarrier_arrive(bar); // the phase still waits for its 16 bytes
  }
  out[threadIdx.x] = 1;
}

__global__ void uninitialized_kernel(int *out) {
  KILN_DYNAMIC_SHARED(uint64_t, bar);
  mbarrier_wait(bar, 0);
  out[threadIdx.x] = 1;
}

template <typename K> int expect_failure(K kernel, const char *what) {
  Buf<int> out(64);
  KILN_LAUNCH(kernel, dim3(1), dim3(64), 64, 0)(out.d);
  return launched(what) ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string cmd = argc == 2 ? argv[1] : "";
  if (cmd == "wgmma")
    wgmma();
  else if (cmd == "tma")
    tma();
  else if (cmd == "mbarrier")
    mbarrier();
  else if (cmd == "tensor-map")
    tensor_map();
  else if (cmd == "good-pipeline")
    return faulty<Fault::None>("the TMA + wgmma pipeline with every synchronisation point");
  else if (cmd == "missing-tma-wait")
    return faulty<Fault::TmaWait>("no mbarrier wait before reading the TMA data");
  else if (cmd == "missing-expect-tx")
    return faulty<Fault::ExpectTx>("mbarrier.arrive without expect_tx");
  else if (cmd == "missing-fence")
    return faulty<Fault::Fence>("wgmma without wgmma.fence");
  else if (cmd == "missing-wgmma-wait")
    return faulty<Fault::WgmmaWait>("accumulators read before wgmma.wait_group");
  else if (cmd == "early-release")
    return faulty<Fault::EarlyRelease>("a stage refilled before the wgmma reading it waited");
  else if (cmd == "mbarrier-deadlock")
    return expect_failure(deadlock_kernel, "deadlock_kernel");
  else if (cmd == "extra-arrival")
    return expect_failure(extra_arrival_kernel, "extra_arrival_kernel");
  else if (cmd == "uninitialized-mbarrier")
    return expect_failure(uninitialized_kernel, "uninitialized_kernel");
  else {
    std::fprintf(stderr,
                 "usage: %s <command>\nChecks kiln's emulation of Hopper's TMA, mbarrier and "
                 "wgmma. Commands: wgmma tma mbarrier tensor-map good-pipeline; failing on "
                 "purpose: missing-tma-wait missing-expect-tx missing-fence missing-wgmma-wait "
                 "early-release mbarrier-deadlock extra-arrival uninitialized-mbarrier\n",
                 argv[0]);
    return 2;
  }
  std::printf("kiln-hopper-test %s: %d checks, %d failed\n", cmd.c_str(), checks, failed);
  return failed ? 1 : 0;
}
