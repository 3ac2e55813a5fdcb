//===- kiln/cuda/intrinsics_sm90.cuh - Hopper's async GEMM instructions -*- CUDA -*-===//
//
// This file provides, in namespace kiln::cuda, the sm_90a instructions of the
// warp-specialised GEMM kernels (wgmma.cuh), with one source for both
// targets like intrinsics.cuh: inline PTX under nvcc for sm_90a, kiln's SIMT
// emulator (runtime/src/cuda_emu/Hopper.cpp, which documents the semantics
// it follows) otherwise.
//
//   shared_address(p)            the shared-window address of p
//   mbarrier_init / _arrive / _arrive_expect_tx / _wait (phase parity)
//   fence_barrier_init()         fence.mbarrier_init.release.cluster
//   tma_load_2d / tma_load_4d    cp.async.bulk.tensor ... .mbarrier::complete_tx::bytes
//   wgmma_fence / _commit / _wait<N>, wgmma_ss<P, N>   (m64nNk16 / k8 for tf32)
//   wgmma_descriptor(p, lbo, sbo, swizzle)             the 64-bit matrix descriptor
//   get_tensor_map_encoder()     cuTensorMapEncodeTiled, from the driver at run time
//
// Under nvcc the device code needs sm_90a (`-gencode arch=compute_90a,...`;
// KILN_SM90A, intrinsics.cuh): wgmma has no sm_90 or older form; a kernel
// that uses these functions in another device pass traps (wgmma.cuh's
// kernel is empty there).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_INTRINSICS_SM90_CUH
#define KILN_CUDA_INTRINSICS_SM90_CUH

#include "kiln/cuda/intrinsics.cuh"
#include "kiln/cuda/types.h"

#include <cuda.h>

namespace kiln::cuda {

/// The shared-window address of a pointer into the block's dynamic shared
/// memory (what descriptors, mbarrier and TMA operands take).
KILN_DEVICE_INLINE uint32_t shared_address(const void *p) {
#if KILN_EMULATED
  return ::kiln::emu::detail::sharedAddress(p);
#elif defined(__CUDA_ARCH__)
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
#else
  (void)p;
  return 0;
#endif
}

//===----------------------------------------------------------------------===//
// mbarrier
//===----------------------------------------------------------------------===//

/// mbarrier.init.shared::cta.b64 [bar], count.
KILN_DEVICE_INLINE void mbarrier_init(uint64_t *bar, unsigned count) {
#if KILN_EMULATED
  ::kiln::emu::detail::mbarrierInit(bar, count);
#elif KILN_SM90A
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)),
               "r"(count)
               : "memory");
#else
  (void)bar, (void)count;
  __trap();
#endif
}

/// Makes initialized barriers visible to the async proxy (the TMA unit).
KILN_DEVICE_INLINE void fence_barrier_init() {
#if KILN_EMULATED
  ::kiln::emu::detail::fenceAsync();
#elif KILN_SM90A
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#else
  __trap();
#endif
}

/// mbarrier.arrive.shared::cta.b64: one arrival.
KILN_DEVICE_INLINE void mbarrier_arrive(uint64_t *bar) {
#if KILN_EMULATED
  ::kiln::emu::detail::mbarrierArrive(bar, 0);
#elif KILN_SM90A
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(shared_address(bar))
               : "memory");
#else
  (void)bar;
  __trap();
#endif
}

/// mbarrier.arrive.expect_tx.shared::cta.b64: expects |bytes| more
/// transaction bytes in the current phase, then arrives once.
KILN_DEVICE_INLINE void mbarrier_arrive_expect_tx(uint64_t *bar, uint32_t bytes) {
#if KILN_EMULATED
  ::kiln::emu::detail::mbarrierArrive(bar, bytes);
#elif KILN_SM90A
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(
                   shared_address(bar)),
               "r"(bytes)
               : "memory");
#else
  (void)bar, (void)bytes;
  __trap();
#endif
}

/// Waits until the phase of parity |parity| of |bar| has completed
/// (mbarrier.try_wait.parity in a loop).
KILN_DEVICE_INLINE void mbarrier_wait(uint64_t *bar, unsigned parity) {
#if KILN_EMULATED
  ::kiln::emu::detail::mbarrierWait(bar, parity);
#elif KILN_SM90A
  uint32_t done = 0;
  const uint32_t addr = shared_address(bar);
  while (!done)
    asm volatile("{\n.reg .pred p;\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 "selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(addr), "r"(parity)
                 : "memory");
#else
  (void)bar, (void)parity;
  __trap();
#endif
}

//===----------------------------------------------------------------------===//
// The tensor memory accelerator
//===----------------------------------------------------------------------===//

/// cp.async.bulk.tensor.2d: the box of |map| at (c0, c1) into |dst|, its
/// bytes completing transactions on |bar|.
KILN_DEVICE_INLINE void tma_load_2d(void *dst, const CUtensorMap *map, int c0, int c1,
                                    uint64_t *bar) {
#if KILN_EMULATED
  const int coords[2] = {c0, c1};
  ::kiln::emu::detail::tmaLoad(dst, map, 2, coords, bar);
#elif KILN_SM90A
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(shared_address(dst)),
               "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(shared_address(bar))
               : "memory");
#else
  (void)dst, (void)map, (void)c0, (void)c1, (void)bar;
  __trap();
#endif
}

/// cp.async.bulk.tensor.4d: the box of |map| at (c0, c1, c2, c3).
KILN_DEVICE_INLINE void tma_load_4d(void *dst, const CUtensorMap *map, int c0, int c1, int c2,
                                    int c3, uint64_t *bar) {
#if KILN_EMULATED
  const int coords[4] = {c0, c1, c2, c3};
  ::kiln::emu::detail::tmaLoad(dst, map, 4, coords, bar);
#elif KILN_SM90A
  asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(shared_address(dst)),
               "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3),
               "r"(shared_address(bar))
               : "memory");
#else
  (void)dst, (void)map, (void)c0, (void)c1, (void)c2, (void)c3, (void)bar;
  __trap();
#endif
}

//===----------------------------------------------------------------------===//
// wgmma
//===----------------------------------------------------------------------===//

/// Shared-memory layouts of a wgmma operand (the descriptor's bits 62-63).
enum class Swizzle : int { None = 0, B128 = 1, B64 = 2, B32 = 3 };

/// The matrix descriptor of a K-major operand at |p|: |lbo| and |sbo| in
/// bytes (the leading byte offset between core matrices along K, used
/// without swizzling; the stride byte offset between 8-row groups).
KILN_DEVICE_INLINE uint64_t wgmma_descriptor(const void *p, uint32_t lbo, uint32_t sbo,
                                             Swizzle swizzle) {
  const uint32_t addr = shared_address(p);
  return uint64_t((addr & 0x3ffff) >> 4) | (uint64_t((lbo >> 4) & 0x3fff) << 16) |
         (uint64_t((sbo >> 4) & 0x3fff) << 32) | (uint64_t(int(swizzle)) << 62);
}

/// wgmma.fence.sync.aligned: before the first wgmma of a group.
KILN_DEVICE_INLINE void wgmma_fence() {
#if KILN_EMULATED
  ::kiln::emu::detail::wgmmaFence();
#elif KILN_SM90A
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#else
  __trap();
#endif
}

/// wgmma.commit_group.sync.aligned.
KILN_DEVICE_INLINE void wgmma_commit() {
#if KILN_EMULATED
  ::kiln::emu::detail::wgmmaCommit();
#elif KILN_SM90A
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#else
  __trap();
#endif
}

/// wgmma.wait_group.sync.aligned N: at most N groups still in flight.
template <int N> KILN_DEVICE_INLINE void wgmma_wait() {
  static_assert(N >= 0 && N <= 7, "wgmma.wait_group takes 0 to 7");
#if KILN_EMULATED
  ::kiln::emu::detail::wgmmaWait(unsigned(N));
#elif KILN_SM90A
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#else
  __trap();
#endif
}

/// D (64 x N, fp32, this thread's N/2 values) = A * B + (scale_d ? D : 0),
/// A (64 x K) and B (N x K) K-major in shared memory, K = 16 (f16, bf16) or 8
/// (tf32): wgmma.mma_async.sync.aligned.m64nNk{16,8}.f32.{type}.{type}.
template <Precision P, int N>
KILN_DEVICE_INLINE void wgmma_ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b,
                                 int scale_d);

#if KILN_EMULATED
template <Precision P, int N>
KILN_DEVICE_INLINE void wgmma_ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b,
                                 int scale_d) {
  static_assert(P != Precision::F32, "wgmma has no fp32 inputs (use tf32)");
  using K = ::kiln::emu::detail::WgmmaKind;
  ::kiln::emu::detail::wgmma(P == Precision::F16    ? K::F16
                             : P == Precision::BF16 ? K::Bf16
                                                    : K::Tf32,
                             unsigned(N), d, desc_a, desc_b, scale_d);
}
#elif KILN_SM90A
// One macro per N (the PTX names every accumulator register), instantiated
// for each type: K is 16 for f16/bf16 (which take the two transpose
// immediates, 0: K-major) and 8 for tf32.
#define KILN_WGMMA_N64(P, TYPE, K, IMM)                                         \
  template <>                                                                   \
  KILN_DEVICE_INLINE void wgmma_ss<Precision::P, 64>(float(&d)[32], uint64_t desc_a,    \
                                                  uint64_t desc_b, int scale_d) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                        \
                 "wgmma.mma_async.sync.aligned.m64n64k" K ".f32." TYPE "." TYPE " "  \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "\
                 "%32, %33, p, 1, 1" IMM ";\n}\n"                                      \
                 : \
      "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
      "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
      "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
      "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]) \
                 : "l"(desc_a), "l"(desc_b), "r"(scale_d));                      \
  }

#define KILN_WGMMA_N128(P, TYPE, K, IMM)                                         \
  template <>                                                                   \
  KILN_DEVICE_INLINE void wgmma_ss<Precision::P, 128>(float(&d)[64], uint64_t desc_a,    \
                                                  uint64_t desc_b, int scale_d) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                        \
                 "wgmma.mma_async.sync.aligned.m64n128k" K ".f32." TYPE "." TYPE " "  \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "\
                 "%64, %65, p, 1, 1" IMM ";\n}\n"                                      \
                 : \
      "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
      "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
      "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
      "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
      "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
      "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
      "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
      "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]) \
                 : "l"(desc_a), "l"(desc_b), "r"(scale_d));                      \
  }

#define KILN_WGMMA_N256(P, TYPE, K, IMM)                                         \
  template <>                                                                   \
  KILN_DEVICE_INLINE void wgmma_ss<Precision::P, 256>(float(&d)[128], uint64_t desc_a,    \
                                                  uint64_t desc_b, int scale_d) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"                        \
                 "wgmma.mma_async.sync.aligned.m64n256k" K ".f32." TYPE "." TYPE " "  \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "\
                 "%128, %129, p, 1, 1" IMM ";\n}\n"                                      \
                 : \
      "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
      "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
      "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
      "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
      "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
      "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
      "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
      "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), \
      "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
      "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
      "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
      "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
      "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
      "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
      "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
      "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127]) \
                 : "l"(desc_a), "l"(desc_b), "r"(scale_d));                      \
  }


KILN_WGMMA_N64(F16, "f16", "16", ", 0, 0")
KILN_WGMMA_N64(BF16, "bf16", "16", ", 0, 0")
KILN_WGMMA_N64(TF32, "tf32", "8", "")
KILN_WGMMA_N128(F16, "f16", "16", ", 0, 0")
KILN_WGMMA_N128(BF16, "bf16", "16", ", 0, 0")
KILN_WGMMA_N128(TF32, "tf32", "8", "")
KILN_WGMMA_N256(F16, "f16", "16", ", 0, 0")
KILN_WGMMA_N256(BF16, "bf16", "16", ", 0, 0")
KILN_WGMMA_N256(TF32, "tf32", "8", "")
#undef KILN_WGMMA_N64
#undef KILN_WGMMA_N128
#undef KILN_WGMMA_N256
#else
template <Precision P, int N>
KILN_DEVICE_INLINE void wgmma_ss(float (&d)[N / 2], uint64_t, uint64_t, int) {
  (void)d;
#if defined(__CUDA_ARCH__)
  __trap();
#endif
}
#endif

//===----------------------------------------------------------------------===//
// Tensor maps (host)
//===----------------------------------------------------------------------===//

using TensorMapEncoder = CUresult (*)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                                      const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                                      const cuuint32_t *, CUtensorMapInterleave,
                                      CUtensorMapSwizzle, CUtensorMapL2promotion,
                                      CUtensorMapFloatOOBfill);

/// cuTensorMapEncodeTiled of the driver (or the emulator), looked up once;
/// null when the driver has none.
inline TensorMapEncoder get_tensor_map_encoder() {
  static const TensorMapEncoder encoder = [] {
    void *fn = nullptr;
    cudaDriverEntryPointQueryResult status{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
                                         cudaEnableDefault, &status) != cudaSuccess ||
        status != cudaDriverEntryPointSuccess)
      return TensorMapEncoder(nullptr);
    return reinterpret_cast<TensorMapEncoder>(fn);
  }();
  return encoder;
}

} // namespace kiln::cuda

#endif // KILN_CUDA_INTRINSICS_SM90_CUH
