//===- kiln/cuda/intrinsics.cuh - warp MMA, ldmatrix, cp.async -*- CUDA -*-===//
//
// This file is included by all kiln device code. It provides, in namespace
// kiln::cuda, the warp-level primitives of the tensor-core kernels with one
// source for both targets:
//   * under nvcc (device pass, sm_80+) they are inline PTX;
//   * compiled as C++ with -DKILN_CUDA_EMULATED (and
//     -include kiln/cuda/emu/emulator.h) they call kiln's SIMT emulator,
//     which implements the PTX ISA's fragment layouts exactly.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 / m16n8k8"),
// with g = lane >> 2 and t = lane % 4; registers hold elements low half
// first:
//   m16n8k16 .f16/.bf16
//     A (16x16, row): a[0] = {A[g][2t], A[g][2t+1]}      a[1] = same, row g+8
//                     a[2] = {A[g][2t+8], A[g][2t+9]}    a[3] = same, row g+8
//     B (16x8, col):  b[0] = {B[2t][g], B[2t+1][g]}      b[1] = rows 2t+8, 2t+9
//   m16n8k8 .tf32 (one element per register)
//     A (16x8):       a[0] = A[g][t]  a[1] = A[g+8][t]  a[2] = A[g][t+4]  a[3] = A[g+8][t+4]
//     B (8x8):        b[0] = B[t][g]  b[1] = B[t+4][g]
//   C / D (16x8 f32): c[0] = C[g][2t]  c[1] = C[g][2t+1]  c[2] = C[g+8][2t]  c[3] = C[g+8][2t+1]
//   ldmatrix .m8n8.b16: lanes 8j..8j+7 give the row addresses of matrix j
//     (16-byte aligned rows of 8 elements); r[j] of lane l receives row l/4,
//     elements 2(l%4) and 2(l%4)+1 of matrix j (with .trans: column l/4,
//     rows 2(l%4) and 2(l%4)+1). .x1 reads lanes 0-7's addresses, .x2 0-15.
//
// Numerics of the emulated mma: products are exact and each output element
// is c + sum(a*b) computed in binary64 and rounded once to binary32. The PTX
// ISA does not define the accumulation order or intermediate precision of
// tensor cores (hardware aligns and truncates partial sums), so emulated and
// GPU results agree exactly only when no rounding happens (e.g. integer
// inputs) and otherwise within a few ulp of the sum's magnitude.
// TF32: mma .tf32 uses the 19 high bits of each operand register and ignores
// the 13 low bits (truncation); round operands first with cvt_tf32
// (cvt.rna.tf32.f32: nearest, ties away from zero) to get rounding instead.
//
// Also here: the launch macro and the conventions that let one file compile
// with nvcc and with the emulator:
//   KILN_LAUNCH(kernel, grid, block, smem_bytes, stream)(args...)
//       kernel<<<grid, block, smem_bytes, stream>>>(args...) under nvcc, the
//       emulator's launch otherwise (kernel may be a template-id with commas)
//   KILN_DEVICE_CODE      1 where kernels are compiled to run (nvcc's device
//                         pass, or the emulator), 0 in nvcc's host pass
//   KILN_EMULATED         1 under the emulator, 0 under nvcc
//   KILN_SM90A            1 in nvcc's device pass for sm_90a (wgmma, TMA),
//                         0 elsewhere (other device passes, host, emulator)
//   KILN_DEVICE_INLINE    __device__ __forceinline__
//   KILN_HOST_DEVICE_INLINE  __host__ __device__ __forceinline__
//   KILN_SHARED(T, name, dims)   shared array, poisoned per block when emulated
//   KILN_DYNAMIC_SHARED(T, name) T *name = the dynamic shared memory
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_INTRINSICS_CUH
#define KILN_CUDA_INTRINSICS_CUH

#include <cstdint>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define KILN_EMULATED 0
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "kiln device code needs sm_80 or newer (mma.sync m16n8k16, cp.async)"
#endif
#elif defined(KILN_CUDA_EMULATED)
#include "kiln/cuda/emu/emulator.h"
#define KILN_EMULATED 1
#else
#error "kiln/cuda/intrinsics.cuh: compile with nvcc, or as C++ with -DKILN_CUDA_EMULATED -include kiln/cuda/emu/emulator.h"
#endif

#if defined(__CUDA_ARCH__) || KILN_EMULATED
#define KILN_DEVICE_CODE 1
#else
#define KILN_DEVICE_CODE 0
#endif

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ == 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define KILN_SM90A 1
#else
#define KILN_SM90A 0
#endif

#define KILN_DEVICE_INLINE __device__ __forceinline__
#define KILN_HOST_DEVICE_INLINE __host__ __device__ __forceinline__

#if !KILN_EMULATED
#define KILN_SHARED(T, name, dims) __shared__ __align__(16) T name dims
#define KILN_DYNAMIC_SHARED(T, name)                                            \
  extern __shared__ __align__(16) unsigned char kiln_dynamic_smem[];            \
  T *const name = reinterpret_cast<T *>(kiln_dynamic_smem)
#endif

//===----------------------------------------------------------------------===//
// KILN_LAUNCH
//===----------------------------------------------------------------------===//

#define KILN_PP_CAT_(a, b) a##b
#define KILN_PP_CAT(a, b) KILN_PP_CAT_(a, b)
#define KILN_PP_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N
#define KILN_PP_NARGS(...) KILN_PP_NARGS_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

#if KILN_EMULATED
#define KILN_LAUNCH_IMPL(kernel, name, g, b, s, st)                             \
  ::kiln::emu::detail::makeLauncher(kernel, name, g, b, s, st)
#else
#define KILN_LAUNCH_IMPL(kernel, name, g, b, s, st) kernel<<<g, b, s, st>>>
#endif
// The kernel expression is everything but the last four arguments (a
// template-id's commas split it into several macro arguments).
#define KILN_LAUNCH_5(k1, g, b, s, st) KILN_LAUNCH_IMPL(k1, #k1, g, b, s, st)
#define KILN_LAUNCH_6(k1, k2, g, b, s, st)                                      \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN2(k1, k2), #k1 "," #k2, g, b, s, st)
#define KILN_LAUNCH_7(k1, k2, k3, g, b, s, st)                                  \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN3(k1, k2, k3), #k1 "," #k2 "," #k3, g, b, s, st)
#define KILN_LAUNCH_8(k1, k2, k3, k4, g, b, s, st)                              \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN4(k1, k2, k3, k4), #k1 "," #k2 "," #k3 "," #k4, g, b, s, st)
#define KILN_LAUNCH_9(k1, k2, k3, k4, k5, g, b, s, st)                          \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN5(k1, k2, k3, k4, k5),                           \
                   #k1 "," #k2 "," #k3 "," #k4 "," #k5, g, b, s, st)
#define KILN_LAUNCH_10(k1, k2, k3, k4, k5, k6, g, b, s, st)                     \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN6(k1, k2, k3, k4, k5, k6),                       \
                   #k1 "," #k2 "," #k3 "," #k4 "," #k5 "," #k6, g, b, s, st)
#define KILN_LAUNCH_11(k1, k2, k3, k4, k5, k6, k7, g, b, s, st)                 \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN7(k1, k2, k3, k4, k5, k6, k7),                   \
                   #k1 "," #k2 "," #k3 "," #k4 "," #k5 "," #k6 "," #k7, g, b, s, st)
#define KILN_LAUNCH_12(k1, k2, k3, k4, k5, k6, k7, k8, g, b, s, st)             \
  KILN_LAUNCH_IMPL(KILN_PP_JOIN8(k1, k2, k3, k4, k5, k6, k7, k8),               \
                   #k1 "," #k2 "," #k3 "," #k4 "," #k5 "," #k6 "," #k7 "," #k8, g, b, s, st)
// Re-joins the pieces of a template-id as one macro argument.
#define KILN_PP_JOIN2(a, b) a, b
#define KILN_PP_JOIN3(a, b, c) a, b, c
#define KILN_PP_JOIN4(a, b, c, d) a, b, c, d
#define KILN_PP_JOIN5(a, b, c, d, e) a, b, c, d, e
#define KILN_PP_JOIN6(a, b, c, d, e, f) a, b, c, d, e, f
#define KILN_PP_JOIN7(a, b, c, d, e, f, g) a, b, c, d, e, f, g
#define KILN_PP_JOIN8(a, b, c, d, e, f, g, h) a, b, c, d, e, f, g, h

/// KILN_LAUNCH(kernel, grid, block, smem_bytes, stream)(args...).
#define KILN_LAUNCH(...) KILN_PP_CAT(KILN_LAUNCH_, KILN_PP_NARGS(__VA_ARGS__))(__VA_ARGS__)

namespace kiln::cuda {

#if defined(__CUDA_ARCH__)
/// The 32-bit shared-state-space address of a generic pointer into shared memory.
KILN_DEVICE_INLINE uint32_t smem_u32(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
#endif

//===----------------------------------------------------------------------===//
// mma.sync
//===----------------------------------------------------------------------===//

/// D = A * B + C, mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32.
KILN_DEVICE_INLINE void mma_m16n8k16_f16(float d[4], const uint32_t a[4], const uint32_t b[2],
                                         const float c[4]) {
#if defined(__CUDA_ARCH__)
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
                 "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#elif KILN_EMULATED
  ::kiln::emu::detail::mma(::kiln::emu::detail::MmaKind::F16, d, a, b, c);
#endif
}

/// D = A * B + C, mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32.
KILN_DEVICE_INLINE void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2],
                                          const float c[4]) {
#if defined(__CUDA_ARCH__)
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
                 "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#elif KILN_EMULATED
  ::kiln::emu::detail::mma(::kiln::emu::detail::MmaKind::Bf16, d, a, b, c);
#endif
}

/// D = A * B + C, mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32. The
/// operands are binary32 bit patterns of which only the tf32 bits count.
KILN_DEVICE_INLINE void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2],
                                         const float c[4]) {
#if defined(__CUDA_ARCH__)
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
                 "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#elif KILN_EMULATED
  ::kiln::emu::detail::mma(::kiln::emu::detail::MmaKind::Tf32, d, a, b, c);
#endif
}

//===----------------------------------------------------------------------===//
// ldmatrix
//===----------------------------------------------------------------------===//


/// ldmatrix.sync.aligned.m8n8.x4.shared.b16: |smem| is this lane's row.
KILN_DEVICE_INLINE void ldmatrix_x4(uint32_t r[4], const void *smem) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(smem)));
#elif KILN_EMULATED
  ::kiln::emu::detail::ldmatrix(4, false, r, smem);
#endif
}
KILN_DEVICE_INLINE void ldmatrix_x2(uint32_t r[2], const void *smem) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_u32(smem)));
#elif KILN_EMULATED
  ::kiln::emu::detail::ldmatrix(2, false, r, smem);
#endif
}
KILN_DEVICE_INLINE void ldmatrix_x1(uint32_t r[1], const void *smem) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(smem_u32(smem)));
#elif KILN_EMULATED
  ::kiln::emu::detail::ldmatrix(1, false, r, smem);
#endif
}
KILN_DEVICE_INLINE void ldmatrix_x4_trans(uint32_t r[4], const void *smem) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(smem)));
#elif KILN_EMULATED
  ::kiln::emu::detail::ldmatrix(4, true, r, smem);
#endif
}
KILN_DEVICE_INLINE void ldmatrix_x2_trans(uint32_t r[2], const void *smem) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_u32(smem)));
#elif KILN_EMULATED
  ::kiln::emu::detail::ldmatrix(2, true, r, smem);
#endif
}
KILN_DEVICE_INLINE void ldmatrix_x1_trans(uint32_t r[1], const void *smem) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(smem_u32(smem)));
#elif KILN_EMULATED
  ::kiln::emu::detail::ldmatrix(1, true, r, smem);
#endif
}

//===----------------------------------------------------------------------===//
// cp.async
//===----------------------------------------------------------------------===//

/// cp.async.cg.shared.global [smem], [gmem], 16, src_bytes: copies
/// |src_bytes| (0..16) bytes and zero-fills the rest of the 16. Both
/// addresses must be 16-byte aligned; with src_bytes == 0 gmem is not read.
KILN_DEVICE_INLINE void cp_async_16(void *smem, const void *gmem, int src_bytes = 16) {
#if defined(__CUDA_ARCH__)
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem)),
               "l"(gmem), "r"(src_bytes)
               : "memory");
#elif KILN_EMULATED
  ::kiln::emu::detail::cpAsync(smem, gmem, 16, unsigned(src_bytes));
#endif
}

/// cp.async.ca.shared.global [smem], [gmem], 4, src_bytes (0..4).
KILN_DEVICE_INLINE void cp_async_4(void *smem, const void *gmem, int src_bytes = 4) {
#if defined(__CUDA_ARCH__)
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(smem)),
               "l"(gmem), "r"(src_bytes)
               : "memory");
#elif KILN_EMULATED
  ::kiln::emu::detail::cpAsync(smem, gmem, 4, unsigned(src_bytes));
#endif
}

/// cp.async.commit_group: closes this thread's uncommitted copies into a group.
KILN_DEVICE_INLINE void cp_async_commit() {
#if defined(__CUDA_ARCH__)
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#elif KILN_EMULATED
  ::kiln::emu::detail::cpAsyncCommit();
#endif
}

/// cp.async.wait_group N: waits until at most the N most recent committed
/// groups are pending. Uncommitted copies are not waited for.
template <int N>
KILN_DEVICE_INLINE void cp_async_wait() {
  static_assert(N >= 0, "cp.async.wait_group takes a non-negative constant");
#if defined(__CUDA_ARCH__)
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#elif KILN_EMULATED
  ::kiln::emu::detail::cpAsyncWait(unsigned(N));
#endif
}

/// cp.async.wait_all (= commit_group; wait_group 0).
KILN_DEVICE_INLINE void cp_async_wait_all() {
#if defined(__CUDA_ARCH__)
  asm volatile("cp.async.wait_all;\n" ::: "memory");
#elif KILN_EMULATED
  ::kiln::emu::detail::cpAsyncWaitAll();
#endif
}

//===----------------------------------------------------------------------===//
// Conversions and packing
//===----------------------------------------------------------------------===//

/// cvt.rna.tf32.f32: |x| rounded to tf32 (nearest, ties away from zero), as
/// a binary32 bit pattern with the 13 low bits clear.
KILN_DEVICE_INLINE uint32_t cvt_tf32(float x) {
#if defined(__CUDA_ARCH__)
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
#elif KILN_EMULATED
  return ::kiln::emu::fp::f32ToTf32(x);
#else
  return 0;
#endif
}

/// Two floats rounded to half (nearest even); |lo| in bits 0-15.
KILN_DEVICE_INLINE uint32_t pack_half2(float lo, float hi) {
#if defined(__CUDA_ARCH__)
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t *>(&h);
#elif KILN_EMULATED
  return uint32_t(::kiln::emu::fp::f32ToF16(lo)) | (uint32_t(::kiln::emu::fp::f32ToF16(hi)) << 16);
#else
  return 0;
#endif
}

/// Two floats rounded to bfloat16 (nearest even); |lo| in bits 0-15.
KILN_DEVICE_INLINE uint32_t pack_bf162(float lo, float hi) {
#if defined(__CUDA_ARCH__)
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t *>(&h);
#elif KILN_EMULATED
  return uint32_t(::kiln::emu::fp::f32ToBf16(lo)) |
         (uint32_t(::kiln::emu::fp::f32ToBf16(hi)) << 16);
#else
  return 0;
#endif
}

/// %laneid.
KILN_DEVICE_INLINE unsigned lane_id() {
#if defined(__CUDA_ARCH__)
  unsigned r;
  asm volatile("mov.u32 %0, %%laneid;\n" : "=r"(r));
  return r;
#elif KILN_EMULATED
  return ::kiln::emu::detail::laneId();
#else
  return 0;
#endif
}

} // namespace kiln::cuda

#endif // KILN_CUDA_INTRINSICS_CUH
