//===- emu_test.cu - checks of kiln's SIMT emulator -----------------------===//
//
// kiln-emu-test <command> runs one group of checks of the emulator
// (libkiln_cuda_emu) and prints one line per check and a summary
// "kiln-emu-test <command>: N checks, F failed"; the exit status is 1 when a
// check failed (2 on a usage error).
//
// Commands that must pass:
//   barriers   __syncthreads (+ count/and/or), threadIdx/blockIdx mapping,
//              partial warps
//   shared     KILN_SHARED and dynamic shared memory are poisoned per block;
//              the dynamic shared memory limit and its opt-in attribute
//   warp       shuffles (idx/up/down/xor, width 16), votes, match, reduce,
//              __activemask, __syncwarp on a partial mask
//   mma        mma.sync m16n8k16 f16 / bf16 and m16n8k8 tf32 fragments,
//              checked against a plain matrix product
//   ldmatrix   ldmatrix .x1/.x2/.x4, with and without .trans
//   cp-async   a multi-stage cp.async pipeline, zero fill, 4-byte copies,
//              and that completion is deferred until the wait
//   fp16       half / bfloat16 / tf32 conversions (nearest even, NaN, inf,
//              subnormals) against an independent reference
//   runtime    memory checks, errors, device properties, streams, events,
//              graph capture and replay, bad launch configurations
//   device     the part KILN_EMU_CC presents (compute capability, SMs, the
//              shared memory a block may opt into, enforced)
// Commands whose kernels are wrong, and that must fail (exit status 1):
//   missing-sync      reads other threads' shared memory without a barrier
//   missing-wait      reads cp.async data without waiting for it
//   deadlock          one lane waits at a shuffle while the others wait at
//                     __syncthreads
//   skipped-barrier   a thread returns early, the others wait at a barrier
//   bad-mask          a shuffle whose mask lacks the calling lane
//   trap              __trap()
//
//===----------------------------------------------------------------------===//

#include "kiln/cuda/intrinsics.cuh"

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

//===----------------------------------------------------------------------===//
// barriers
//===----------------------------------------------------------------------===//

__global__ void barrier_kernel(int *out, int *counts) {
  __shared__ int s[256];
  const int n = blockDim.x * blockDim.y * blockDim.z;
  const int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  s[t] = t * 3 + b;
  __syncthreads();
  int v = s[(t + 1) % n];
  __syncthreads();
  s[t] = v + 1;
  __syncthreads();
  out[b * n + t] = s[(t + n - 1) % n];
  int c = __syncthreads_count(t % 3 == 0);
  int a = __syncthreads_and(t < n);
  int o = __syncthreads_or(t == n - 1);
  int z = __syncthreads_or(0);
  if (t == 0) {
    counts[b * 4 + 0] = c;
    counts[b * 4 + 1] = a;
    counts[b * 4 + 2] = o;
    counts[b * 4 + 3] = z;
  }
}

void barriers() {
  const dim3 shapes[] = {dim3(32, 3, 1), dim3(48), dim3(4, 3, 5), dim3(256)};
  for (dim3 block : shapes) {
    const dim3 grid(3, 2, 2);
    const int n = int(block.x * block.y * block.z), blocks = 12;
    Buf<int> out(size_t(n) * blocks), counts(size_t(blocks) * 4);
    KILN_LAUNCH(barrier_kernel, grid, block, 0, 0)(out.d, counts.d);
    if (!launched("barrier_kernel")) {
      check(false, "barriers");
      continue;
    }
    std::vector<int> o = out.get(), c = counts.get();
    bool ok = true, cok = true;
    for (int b = 0; b < blocks; ++b) {
      for (int t = 0; t < n; ++t)
        ok &= o[size_t(b) * n + t] == t * 3 + b + 1; // s[t-1] = s0[t] + 1
      cok &= c[b * 4] == (n + 2) / 3 && c[b * 4 + 1] == 1 && c[b * 4 + 2] == 1 &&
             c[b * 4 + 3] == 0;
    }
    char what[96];
    std::snprintf(what, sizeof what, "__syncthreads, block (%u,%u,%u) x grid (3,2,2)", block.x,
                  block.y, block.z);
    check(ok, what);
    check(cok, std::string("__syncthreads_count/and/or, ") + (what + 15));
  }
}

//===----------------------------------------------------------------------===//
// shared
//===----------------------------------------------------------------------===//

__global__ void poison_kernel(unsigned *out) {
  KILN_SHARED(unsigned, tile, [64]);
  KILN_DYNAMIC_SHARED(unsigned, dyn);
  const int t = threadIdx.x;
  // Nobody wrote these yet in this block: poison.
  out[blockIdx.x * 128 + t] = tile[t];
  out[blockIdx.x * 128 + 64 + t] = dyn[t + 1000];
  __syncthreads();
  tile[t] = 7;
  dyn[t + 1000] = 9;
}

__global__ void big_smem_kernel(float *out) {
  KILN_DYNAMIC_SHARED(float, s);
  const int n = 100 * 1024 / 4;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    s[i] = float(i);
  __syncthreads();
  float sum = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    sum += s[n - 1 - i];
  out[threadIdx.x] = sum;
}

void shared() {
  Buf<unsigned> out(3 * 128);
  KILN_LAUNCH(poison_kernel, dim3(3), dim3(64), 8192, 0)(out.d);
  bool ok = launched("poison_kernel");
  std::vector<unsigned> o = out.get();
  for (unsigned v : o)
    ok &= v == 0xffffffffu;
  check(ok, "KILN_SHARED and dynamic shared memory read 0xff bytes before any write, in every "
            "block");

  Buf<float> sums(128);
  KILN_LAUNCH(big_smem_kernel, dim3(1), dim3(128), 100 * 1024, 0)(sums.d);
  cudaError_t e = cudaGetLastError();
  check(e == cudaErrorInvalidValue, "100 KiB of dynamic shared memory without the attribute: " +
                                        std::string(cudaGetErrorName(e)));
  check(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             100 * 1024) == cudaSuccess,
        "cudaFuncSetAttribute(MaxDynamicSharedMemorySize, 100 KiB)");
  KILN_LAUNCH(big_smem_kernel, dim3(1), dim3(128), 100 * 1024, 0)(sums.d);
  ok = launched("big_smem_kernel");
  std::vector<float> s = sums.get();
  double total = 0;
  for (float v : s)
    total += v;
  const double n = 100 * 1024 / 4;
  check(ok && total == n * (n - 1) / 2, "100 KiB of dynamic shared memory after opting in");
  check(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             240 * 1024) == cudaErrorInvalidValue,
        "more than 227 KiB of dynamic shared memory is refused");
  cudaGetLastError();
}

//===----------------------------------------------------------------------===//
// warp
//===----------------------------------------------------------------------===//

__global__ void warp_kernel(int *out) {
  const int t = threadIdx.x, lane = t & 31;
  int *o = out + t * 16;
  const int v = t * 10 + 1;
  o[0] = __shfl_sync(0xffffffffu, v, (lane * 7) & 31);
  o[1] = __shfl_up_sync(0xffffffffu, v, 3);
  o[2] = __shfl_down_sync(0xffffffffu, v, 5);
  o[3] = __shfl_xor_sync(0xffffffffu, v, 6);
  o[4] = __shfl_sync(0xffffffffu, v, 3, 16);
  o[5] = __shfl_down_sync(0xffffffffu, v, 2, 16);
  o[6] = int(__ballot_sync(0xffffffffu, lane % 3 == 0));
  o[7] = __all_sync(0xffffffffu, lane < 40);
  o[8] = __any_sync(0xffffffffu, lane == 17);
  o[9] = int(__match_any_sync(0xffffffffu, lane / 8));
  o[10] = __reduce_add_sync(0xffffffffu, lane);
  o[11] = int(__activemask());
  o[12] = int(lane_id());
  if (lane < 16) {
    // A partial mask: only the low half takes part.
    __syncwarp(0x0000ffffu);
    o[13] = __shfl_xor_sync(0x0000ffffu, v, 1);
    o[14] = __reduce_max_sync(0x0000ffffu, lane);
  } else {
    o[13] = -1;
    o[14] = -1;
  }
  // shuffle of a 64-bit value
  double d = double(t) + 0.5;
  o[15] = int(__shfl_sync(0xffffffffu, d, 0) * 2);
}

void warp() {
  const int n = 64;
  Buf<int> out(size_t(n) * 16);
  KILN_LAUNCH(warp_kernel, dim3(1), dim3(n), 0, 0)(out.d);
  bool ok = launched("warp_kernel");
  std::vector<int> o = out.get();
  const char *names[] = {"__shfl_sync idx",  "__shfl_up_sync",     "__shfl_down_sync",
                         "__shfl_xor_sync",  "__shfl_sync width 16", "__shfl_down_sync width 16",
                         "__ballot_sync",    "__all_sync",         "__any_sync",
                         "__match_any_sync", "__reduce_add_sync",  "__activemask",
                         "%laneid",          "partial-mask __shfl_xor_sync / __syncwarp",
                         "partial-mask __reduce_max_sync", "64-bit __shfl_sync"};
  for (int k = 0; k < 16; ++k) {
    bool good = ok;
    for (int t = 0; t < n; ++t) {
      const int lane = t & 31, w = t & ~31;
      auto v = [&](int l) { return (w + l) * 10 + 1; };
      int expect = 0;
      switch (k) {
      case 0: expect = v((lane * 7) & 31); break;
      case 1: expect = lane >= 3 ? v(lane - 3) : v(lane); break;
      case 2: expect = lane + 5 < 32 ? v(lane + 5) : v(lane); break;
      case 3: expect = v(lane ^ 6); break;
      case 4: expect = v((lane & 16) | 3); break;
      case 5: expect = (lane & 15) + 2 < 16 ? v(lane + 2) : v(lane); break;
      case 6: {
        unsigned b = 0;
        for (int l = 0; l < 32; l += 3)
          b |= 1u << l;
        expect = int(b);
        break;
      }
      case 7: expect = 1; break;
      case 8: expect = 1; break;
      case 9: expect = int(0xffu << (lane / 8 * 8)); break;
      case 10: expect = 31 * 32 / 2; break;
      case 11: expect = -1; break;
      case 12: expect = lane; break;
      case 13: expect = lane < 16 ? v(lane ^ 1) : -1; break;
      case 14: expect = lane < 16 ? 15 : -1; break;
      case 15: expect = 2 * w + 1; break;
      }
      good &= o[size_t(t) * 16 + k] == expect;
    }
    check(good, names[k]);
  }
}

//===----------------------------------------------------------------------===//
// mma
//===----------------------------------------------------------------------===//

/// One warp: loads the fragments of A (16 x K, row-major), B (K x 8,
/// row-major) and C (16 x 8) following the PTX ISA's fragment tables, runs
/// one mma and stores D by the same table.
template <int Kind>
__global__ void mma_kernel(const float *A, const float *B, const float *C, float *D) {
  const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  uint32_t a[4], b[2];
  float c[4], d[4];
  if (Kind == 2) { // tf32, m16n8k8: the raw fp32 bits (the mma ignores 13 of them)
    for (int i = 0; i < 4; ++i) {
      int row = (i == 0 || i == 2) ? g : g + 8, col = i < 2 ? t : t + 4;
      std::memcpy(&a[i], &A[row * 8 + col], 4);
    }
    for (int i = 0; i < 2; ++i) {
      int row = i == 0 ? t : t + 4;
      std::memcpy(&b[i], &B[row * 8 + g], 4);
    }
  } else { // f16 / bf16, m16n8k16: a0..a7 and b0..b3 as in the ISA's figures
    uint16_t ah[8], bh[4];
    for (int i = 0; i < 8; ++i) {
      int row = (i == 0 || i == 1 || i == 4 || i == 5) ? g : g + 8;
      int col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
      float x = A[row * 16 + col];
      ah[i] = Kind == 0 ? __half(x).__x : __nv_bfloat16(x).__x;
    }
    for (int i = 0; i < 4; ++i) {
      int row = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
      float x = B[row * 8 + g];
      bh[i] = Kind == 0 ? __half(x).__x : __nv_bfloat16(x).__x;
    }
    for (int r = 0; r < 4; ++r)
      a[r] = uint32_t(ah[2 * r]) | uint32_t(ah[2 * r + 1]) << 16;
    for (int r = 0; r < 2; ++r)
      b[r] = uint32_t(bh[2 * r]) | uint32_t(bh[2 * r + 1]) << 16;
  }
  for (int i = 0; i < 4; ++i)
    c[i] = C[(i < 2 ? g : g + 8) * 8 + t * 2 + (i & 1)];
  if (Kind == 0)
    mma_m16n8k16_f16(d, a, b, c);
  else if (Kind == 1)
    mma_m16n8k16_bf16(d, a, b, c);
  else
    mma_m16n8k8_tf32(d, a, b, c);
  for (int i = 0; i < 4; ++i)
    D[(i < 2 ? g : g + 8) * 8 + t * 2 + (i & 1)] = d[i];
}

template <int Kind> void mma_case(const char *name, bool integers) {
  const int K = Kind == 2 ? 8 : 16;
  std::vector<float> A(16 * K), B(K * 8), C(16 * 8);
  uint64_t s = 12345 + Kind * 7 + integers;
  auto rnd = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double(s >> 40) / double(1 << 24);
  };
  for (float &x : A)
    x = integers ? float(int(rnd() * 9) - 4) : float(rnd() * 2 - 1);
  for (float &x : B)
    x = integers ? float(int(rnd() * 9) - 4) : float(rnd() * 2 - 1);
  for (float &x : C)
    x = integers ? float(int(rnd() * 200) - 100) : float(rnd() * 2 - 1);
  // The operands as the tensor core sees them.
  auto op = [&](float x) -> double {
    if (Kind == 0)
      return double(float(__half(x)));
    if (Kind == 1)
      return double(float(__nv_bfloat16(x)));
    uint32_t u;
    std::memcpy(&u, &x, 4);
    u &= 0xffffe000u;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  Buf<float> dA(A), dB(B), dC(C), dD(16 * 8);
  KILN_LAUNCH(mma_kernel<Kind>, dim3(1), dim3(32), 0, 0)(dA.d, dB.d, dC.d, dD.d);
  bool ok = launched(name);
  std::vector<float> D = dD.get();
  double err = 0;
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double ref = C[m * 8 + n];
      for (int k = 0; k < K; ++k)
        ref += op(A[m * K + k]) * op(B[k * 8 + n]);
      err = std::max(err, std::fabs(D[m * 8 + n] - ref) / std::max(1.0, std::fabs(ref)));
    }
  check(ok && (integers ? err == 0 : err < 1e-6),
        std::string(name) + (integers ? " (integers: exact)" : " (random: 1e-6)"));
}

void mma() {
  mma_case<0>("mma.sync m16n8k16 f16", true);
  mma_case<0>("mma.sync m16n8k16 f16", false);
  mma_case<1>("mma.sync m16n8k16 bf16", true);
  mma_case<1>("mma.sync m16n8k16 bf16", false);
  mma_case<2>("mma.sync m16n8k8 tf32", true);
  mma_case<2>("mma.sync m16n8k8 tf32", false);
}

//===----------------------------------------------------------------------===//
// ldmatrix
//===----------------------------------------------------------------------===//

template <int Num, bool Trans> __global__ void ldmatrix_kernel(uint32_t *out) {
  KILN_SHARED(uint16_t, m, [4 * 8 * 8]);
  const int lane = threadIdx.x;
  for (int i = lane; i < 256; i += 32)
    m[i] = uint16_t(i);
  __syncwarp();
  // Lanes 8j..8j+7 address the rows of matrix j (lanes past Num*8 repeat).
  const int j = (lane / 8) % Num, r = lane % 8;
  uint32_t regs[4] = {0, 0, 0, 0};
  const void *row = &m[j * 64 + r * 8];
  if (Num == 4)
    Trans ? ldmatrix_x4_trans(regs, row) : ldmatrix_x4(regs, row);
  else if (Num == 2)
    Trans ? ldmatrix_x2_trans(regs, row) : ldmatrix_x2(regs, row);
  else
    Trans ? ldmatrix_x1_trans(regs, row) : ldmatrix_x1(regs, row);
  for (int k = 0; k < 4; ++k)
    out[lane * 4 + k] = regs[k];
}

template <int Num, bool Trans> void ldmatrix_case() {
  Buf<uint32_t> out(32 * 4);
  KILN_LAUNCH(ldmatrix_kernel<Num, Trans>, dim3(1), dim3(32), 0, 0)(out.d);
  bool ok = launched("ldmatrix_kernel");
  std::vector<uint32_t> o = out.get();
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j) {
      uint32_t expect = 0;
      if (j < Num) {
        // PTX: thread l holds row l/4, columns 2(l%4), 2(l%4)+1 (transposed:
        // the element (2(l%4), l/4) and (2(l%4)+1, l/4)).
        int r = lane / 4, c = 2 * (lane % 4);
        uint32_t lo = Trans ? j * 64 + c * 8 + r : j * 64 + r * 8 + c;
        uint32_t hi = Trans ? j * 64 + (c + 1) * 8 + r : j * 64 + r * 8 + c + 1;
        expect = lo | hi << 16;
      }
      ok &= o[lane * 4 + j] == expect;
    }
  check(ok, "ldmatrix .x" + std::to_string(Num) + (Trans ? ".trans" : ""));
}

void ldmatrix() {
  ldmatrix_case<1, false>();
  ldmatrix_case<2, false>();
  ldmatrix_case<4, false>();
  ldmatrix_case<1, true>();
  ldmatrix_case<2, true>();
  ldmatrix_case<4, true>();
}

//===----------------------------------------------------------------------===//
// cp-async
//===----------------------------------------------------------------------===//

/// Sums |chunks| chunks of 64 threads x 4 floats through a |Stages|-deep
/// cp.async pipeline; with Wait false the kernel forgets to wait.
template <int Stages, bool Wait>
__global__ void pipeline_kernel(const float *in, int chunks, float *out) {
  KILN_SHARED(float, buf, [Stages][256]);
  const int t = threadIdx.x;
  float sum = 0;
  for (int s = 0; s < Stages - 1; ++s) {
    if (s < chunks)
      cp_async_16(&buf[s][t * 4], in + s * 256 + t * 4);
    cp_async_commit();
  }
  for (int c = 0; c < chunks; ++c) {
    if (Wait)
      cp_async_wait<Stages - 2>();
    __syncthreads();
    // Other threads' data: the barrier orders it after their waits.
    const float *b = buf[c % Stages];
    for (int i = 0; i < 4; ++i)
      sum += b[((t + 1) % 64) * 4 + i];
    const int next = c + Stages - 1;
    if (next < chunks)
      cp_async_16(&buf[next % Stages][t * 4], in + next * 256 + t * 4);
    cp_async_commit();
  }
  if (Wait)
    cp_async_wait_all();
  out[t] = sum;
}

__global__ void deferred_kernel(const float *in, float *out) {
  KILN_SHARED(float, s, [64]);
  const int t = threadIdx.x;
  cp_async_16(&s[t * 4], in + t * 4, 16);
  cp_async_commit();
  // Read back before the wait: still the poison (deferred completion).
  out[t] = s[t * 4];
  cp_async_wait<0>();
  out[16 + t] = s[t * 4];
  // Zero fill: 8 of 16 bytes, then 4-byte copies with 0 and 4 source bytes.
  cp_async_16(&s[t * 4], in + 64 + t * 4, 8);
  cp_async_4(&s[t * 4 + 2], in + 128 + t * 4, 0);
  cp_async_4(&s[t * 4 + 3], in + 128 + t * 4, 4);
  cp_async_wait_all();
  for (int i = 0; i < 4; ++i)
    out[32 + t * 4 + i] = s[t * 4 + i];
}

template <int Stages> bool pipeline_ok(bool wait, int chunks) {
  std::vector<float> in(size_t(chunks) * 256);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = float(i % 97);
  Buf<float> d_in(in), d_out(64);
  if (wait)
    KILN_LAUNCH(pipeline_kernel<Stages, true>, dim3(1), dim3(64), 0, 0)(d_in.d, chunks, d_out.d);
  else
    KILN_LAUNCH(pipeline_kernel<Stages, false>, dim3(1), dim3(64), 0, 0)(d_in.d, chunks, d_out.d);
  if (!launched("pipeline_kernel"))
    return false;
  std::vector<float> o = d_out.get();
  int wrong = 0;
  for (int t = 0; t < 64; ++t) {
    double expect = 0;
    for (int c = 0; c < chunks; ++c)
      for (int i = 0; i < 4; ++i)
        expect += in[size_t(c) * 256 + ((t + 1) % 64) * 4 + i];
    wrong += !(o[t] == expect);
  }
  if (wrong)
    std::printf("cp.async pipeline (%d stages): %d of 64 results are wrong (stale shared "
                "memory)\n",
                Stages, wrong);
  return wrong == 0;
}

void cp_async() {
  check(pipeline_ok<2>(true, 5), "cp.async pipeline, 2 stages");
  check(pipeline_ok<3>(true, 7), "cp.async pipeline, 3 stages");
  check(pipeline_ok<4>(true, 9), "cp.async pipeline, 4 stages");
  check(pipeline_ok<4>(true, 2), "cp.async pipeline, 4 stages, fewer chunks than stages");

  std::vector<float> in(192);
  for (int i = 0; i < 192; ++i)
    in[i] = float(i + 1);
  Buf<float> d_in(in), d_out(96);
  KILN_LAUNCH(deferred_kernel, dim3(1), dim3(16), 0, 0)(d_in.d, d_out.d);
  bool ok = launched("deferred_kernel");
  std::vector<float> o = d_out.get();
  bool before = ok, after = ok, fill = ok;
  for (int t = 0; t < 16; ++t) {
    before &= std::isnan(o[t]);
    after &= o[16 + t] == in[t * 4];
    fill &= o[32 + t * 4] == in[64 + t * 4] && o[32 + t * 4 + 1] == in[64 + t * 4 + 1] &&
            o[32 + t * 4 + 2] == 0 && o[32 + t * 4 + 3] == in[128 + t * 4];
  }
  check(before, "cp.async: shared memory is unchanged until the wait (deferred completion)");
  check(after, "cp.async.wait_group 0 completes the copies");
  check(fill, "cp.async zero fill (src-size 8 of 16, 0 of 4) and 4-byte copies");
}

//===----------------------------------------------------------------------===//
// fp16
//===----------------------------------------------------------------------===//

/// Round |x| to a binary format with |frac| fraction bits and minimum normal
/// exponent |emin|, nearest even, overflowing at |maxFinite| (in double; an
/// independent reference for the emulator's bit twiddling).
double round_ref(double x, int frac, int emin, double maxFinite) {
  if (std::isnan(x) || std::isinf(x) || x == 0)
    return x;
  int e;
  std::frexp(std::fabs(x), &e); // |x| = m * 2^e, m in [0.5, 1)
  e -= 1;
  if (e < emin)
    e = emin;
  const double ulp = std::ldexp(1.0, e - frac);
  double q = std::nearbyint(x / ulp) * ulp; // the default rounding mode: nearest even
  // Overflow: values at or past the midpoint above maxFinite become inf.
  const double limit = maxFinite + std::ldexp(1.0, int(std::log2(maxFinite)) - frac) / 2;
  if (std::fabs(x) >= limit)
    return std::copysign(INFINITY, x);
  if (std::fabs(q) > maxFinite)
    q = std::copysign(maxFinite, x);
  return q;
}

void fp16() {
  // Every half: to float and back.
  bool ok = true;
  int nans = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = kiln::emu::fp::f16ToF32(uint16_t(h));
    if (std::isnan(f)) {
      ++nans;
      ok &= (kiln::emu::fp::f32ToF16(f) & 0x7c00u) == 0x7c00u &&
            (kiln::emu::fp::f32ToF16(f) & 0x3ffu) != 0;
      continue;
    }
    ok &= kiln::emu::fp::f32ToF16(f) == h;
  }
  check(ok && nans == 2 * 1023, "every binary16 value converts to float and back exactly");

  // Random floats over the whole range, and specials.
  uint64_t s = 99;
  bool half_ok = true, bf_ok = true;
  std::vector<float> xs = {0.0f, -0.0f, INFINITY, -INFINITY, 65504.0f, 65519.99f, 65520.0f,
                           5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f, 8.940697e-08f,
                           6.1035156e-05f, 6.0975552e-05f, 1e-10f, 3.4028235e38f, 1e-40f,
                           1.1754942e-38f};
  for (int i = 0; i < 200000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t u = uint32_t(s >> 32);
    float f;
    std::memcpy(&f, &u, 4);
    if (!std::isnan(f))
      xs.push_back(f);
    xs.push_back(std::ldexp(float((s >> 8) & 0xffffff) / float(1 << 24), int((s >> 40) % 60) - 40));
  }
  for (float x : xs) {
    const double h = kiln::emu::fp::f16ToF32(kiln::emu::fp::f32ToF16(x));
    const double b = kiln::emu::fp::bf16ToF32(kiln::emu::fp::f32ToBf16(x));
    const double hr = round_ref(x, 10, -14, 65504.0);
    const double br = round_ref(x, 7, -126, 3.3895313892515355e38);
    half_ok &= h == hr && std::signbit(h) == std::signbit(hr);
    bf_ok &= b == br && std::signbit(b) == std::signbit(br);
  }
  check(half_ok, "float -> half: nearest even, subnormals, overflow to inf (" +
                     std::to_string(xs.size()) + " values)");
  check(bf_ok, "float -> bfloat16: nearest even, subnormals, overflow to inf");
  check(std::isnan(float(__half(NAN))) && std::isnan(float(__nv_bfloat16(NAN))) &&
            std::isinf(float(__half(1e6f))) && float(__half(-1e6f)) < 0,
        "NaN stays NaN, overflow gives a signed infinity");
  // tf32: 10 fraction bits, ties away from zero.
  auto tf = [](float x) {
    uint32_t u = kiln::emu::fp::f32ToTf32(x);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  check(tf(1.0f + 1.0f / 2048) == 1.0f + 1.0f / 1024 &&
            tf(-(1.0f + 3.0f / 2048)) == -(1.0f + 2.0f / 1024) && tf(1.0f + 1.0f / 4096) == 1.0f &&
            std::isnan(tf(NAN)) && std::isinf(tf(INFINITY)),
        "cvt.rna.tf32.f32: ties away from zero, NaN, inf");
  // __half arithmetic rounds once.
  __half a = 1.0f, b = float(1.0 / 2048);
  check(float(a + b) == 1.0f && float(__half(1.0f + 3.0f / 2048)) == 1.0f + 2.0f / 1024,
        "__half addition rounds to nearest even");
}

//===----------------------------------------------------------------------===//
// runtime
//===----------------------------------------------------------------------===//

__global__ void add_kernel(float *x, float v, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    x[i] += v;
}

void runtime() {
  cudaDeviceProp p;
  const bool props = cudaGetDeviceProperties(&p, 0) == cudaSuccess;
  check(props &&
            std::string(p.name) == "kiln SIMT emulator" && p.major == 9 && p.minor == 0 &&
            p.warpSize == 32 && p.sharedMemPerBlockOptin == 232448,
        std::string("device properties: ") + p.name + ", sm_" + std::to_string(p.major) +
            std::to_string(p.minor));
  int count = 0;
  check(cudaGetDeviceCount(&count) == cudaSuccess && count == 1, "one device");
  check(std::string(cudaGetErrorString(cudaErrorInvalidValue)) == "invalid argument" &&
            std::string(cudaGetErrorName(cudaErrorLaunchFailure)) == "cudaErrorLaunchFailure",
        "error strings and names");

  float *d = nullptr;
  check(cudaMalloc(reinterpret_cast<void **>(&d), 100 * sizeof(float)) == cudaSuccess,
        "cudaMalloc");
  std::vector<float> h(200, 1.0f);
  check(cudaMemcpy(d, h.data(), 200 * sizeof(float), cudaMemcpyHostToDevice) ==
            cudaErrorInvalidValue,
        "a copy that leaves its allocation fails");
  int local = 0;
  check(cudaFree(&local) == cudaErrorInvalidValue, "cudaFree of a host pointer fails");
  cudaGetLastError();

  // Bad launch configurations set the last error and run nothing.
  KILN_LAUNCH(add_kernel, dim3(1), dim3(2048), 0, 0)(d, 1.0f, 100);
  check(cudaGetLastError() == cudaErrorInvalidConfiguration,
        "a block of 2048 threads: cudaErrorInvalidConfiguration");
  KILN_LAUNCH(add_kernel, dim3(0), dim3(32), 0, 0)(d, 1.0f, 100);
  check(cudaGetLastError() == cudaErrorInvalidConfiguration,
        "an empty grid: cudaErrorInvalidConfiguration");
  check(cudaGetLastError() == cudaSuccess, "cudaGetLastError clears the error");

  // Streams and events.
  cudaStream_t st;
  cudaEvent_t e0, e1;
  cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  cudaMemsetAsync(d, 0, 100 * sizeof(float), st);
  cudaEventRecord(e0, st);
  KILN_LAUNCH(add_kernel, dim3(4), dim3(32), 0, st)(d, 2.0f, 100);
  cudaEventRecord(e1, st);
  cudaStreamSynchronize(st);
  float ms = -1;
  check(cudaEventElapsedTime(&ms, e0, e1) == cudaSuccess && ms >= 0,
        "events around a launch on a stream");
  std::vector<float> r(100);
  cudaMemcpy(r.data(), d, 100 * sizeof(float), cudaMemcpyDeviceToHost);
  bool ok = true;
  for (float v : r)
    ok &= v == 2.0f;
  check(ok, "memset and a launch on a stream run in order");

  // Graph capture: nothing runs while capturing; the arguments are copied
  // at capture time; replays run the nodes in order.
  float value = 1.0f;
  std::vector<float> ones(100, 10.0f);
  cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal);
  cudaStreamCaptureStatus status;
  cudaStreamIsCapturing(st, &status);
  cudaMemcpyAsync(d, ones.data(), 100 * sizeof(float), cudaMemcpyHostToDevice, st);
  KILN_LAUNCH(add_kernel, dim3(4), dim3(32), 0, st)(d, value, 100);
  value = 100.0f;
  KILN_LAUNCH(add_kernel, dim3(4), dim3(32), 0, st)(d, value, 100);
  cudaGraph_t graph;
  check(cudaStreamEndCapture(st, &graph) == cudaSuccess &&
            status == cudaStreamCaptureStatusActive,
        "stream capture");
  cudaMemcpy(r.data(), d, 100 * sizeof(float), cudaMemcpyDeviceToHost);
  check(r[0] == 2.0f, "nothing runs during capture");
  size_t nodes = 0;
  cudaGraphGetNodes(graph, nullptr, &nodes);
  check(nodes == 3, "the graph has 3 nodes");
  cudaGraphExec_t exec;
  cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph); // the instance outlives its graph
  ok = true;
  for (int rep = 0; rep < 2; ++rep) {
    ok &= cudaGraphLaunch(exec, st) == cudaSuccess;
    cudaStreamSynchronize(st);
    cudaMemcpy(r.data(), d, 100 * sizeof(float), cudaMemcpyDeviceToHost);
    for (float v : r)
      ok &= v == 111.0f;
  }
  check(ok, "graph replays (arguments copied at capture time)");
  cudaGraphExecDestroy(exec);
  check(cudaStreamBeginCapture(0, cudaStreamCaptureModeGlobal) ==
            cudaErrorStreamCaptureUnsupported,
        "the legacy stream cannot capture");
  cudaGetLastError();
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(st);
  cudaFree(d);
}

//===----------------------------------------------------------------------===//
// Negative tests
//===----------------------------------------------------------------------===//

template <bool Sync> __global__ void rotate_kernel(float *out) {
  __shared__ float s[128];
  const int t = threadIdx.x;
  s[t] = float(t);
  if (Sync)
    __syncthreads();
  out[t] = s[(t + 1) % 128];
}

int missing_sync() {
  Buf<float> out(128);
  // Poison the static __shared__ array first: a previous run may have left
  // the right values in it.
  KILN_LAUNCH(rotate_kernel<false>, dim3(1), dim3(128), 0, 0)(out.d);
  if (!launched("rotate_kernel"))
    return 1;
  std::vector<float> o = out.get();
  int wrong = 0;
  for (int t = 0; t < 128; ++t)
    wrong += o[t] != float((t + 1) % 128);
  std::printf("missing-sync: %d of 128 results are wrong\n", wrong);
  return wrong ? 1 : 0;
}

__global__ void deadlock_kernel(int *out) {
  int v = threadIdx.x;
  if (threadIdx.x == 0)
    v = __shfl_sync(0xffffffffu, v, 1); // the other lanes are at the barrier
  __syncthreads();
  out[threadIdx.x] = v;
}

__global__ void skipped_barrier_kernel(int *out) {
  if (threadIdx.x == 5)
    return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void bad_mask_kernel(int *out) {
  out[threadIdx.x] = __shfl_sync(0x1u, int(threadIdx.x), 0);
}

__global__ void trap_kernel(int *out) {
  if (threadIdx.x == 3)
    __trap();
  out[threadIdx.x] = 1;
}

template <typename K> int expect_failure(K kernel, const char *name, dim3 block) {
  Buf<int> out(block.x);
  // makeLauncher directly, to give the diagnostics the kernel's own name.
  kiln::emu::detail::makeLauncher(kernel, name, dim3(2), block, 0, 0)(out.d);
  return launched(name) ? 0 : 1;
}

} // namespace

//===----------------------------------------------------------------------===//
// device
//===----------------------------------------------------------------------===//

/// The part KILN_EMU_CC makes the emulator present: its compute capability,
/// SMs and shared-memory opt-in limit, reported alike by the properties and
/// the attributes, and enforced.
void device() {
  cudaDeviceProp p;
  check(cudaGetDeviceProperties(&p, 0) == cudaSuccess, "cudaGetDeviceProperties");
  int major = 0, minor = 0, sms = 0, optin = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
  check(major == p.major && minor == p.minor && sms == p.multiProcessorCount &&
            size_t(optin) == p.sharedMemPerBlockOptin,
        "the attributes agree with the properties");
  std::printf("device: %s, sm_%d%d, %d SMs, %d bytes of shared memory a block may opt into\n",
              p.name, major, minor, sms, optin);
  check(cudaFuncSetAttribute(add_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, optin) ==
            cudaSuccess,
        "a kernel may opt into all of it");
  check(cudaFuncSetAttribute(add_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             optin + 1) == cudaErrorInvalidValue,
        "one byte more is refused");
  cudaGetLastError();
}

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string cmd = argc == 2 ? argv[1] : "";
  if (cmd == "barriers")
    barriers();
  else if (cmd == "shared")
    shared();
  else if (cmd == "warp")
    warp();
  else if (cmd == "mma")
    mma();
  else if (cmd == "ldmatrix")
    ldmatrix();
  else if (cmd == "cp-async")
    cp_async();
  else if (cmd == "fp16")
    fp16();
  else if (cmd == "runtime")
    runtime();
  else if (cmd == "device")
    device();
  else if (cmd == "missing-sync")
    return missing_sync();
  else if (cmd == "missing-wait")
    return pipeline_ok<3>(false, 4) ? 0 : 1;
  else if (cmd == "deadlock")
    return expect_failure(deadlock_kernel, "deadlock_kernel", dim3(64));
  else if (cmd == "skipped-barrier")
    return expect_failure(skipped_barrier_kernel, "skipped_barrier_kernel", dim3(64));
  else if (cmd == "bad-mask")
    return expect_failure(bad_mask_kernel, "bad_mask_kernel", dim3(32));
  else if (cmd == "trap")
    return expect_failure(trap_kernel, "trap_kernel", dim3(32));
  else {
    std::fprintf(stderr,
                 "usage: %s <command>\nChecks kiln's SIMT emulator. Commands: barriers shared "
                 "warp mma ldmatrix cp-async fp16 runtime device; failing on purpose: missing-sync "
                 "missing-wait deadlock skipped-barrier bad-mask trap\n",
                 argv[0]);
    return 2;
  }
  std::printf("kiln-emu-test %s: %d checks, %d failed\n", cmd.c_str(), checks, failed);
  return failed ? 1 : 0;
}
