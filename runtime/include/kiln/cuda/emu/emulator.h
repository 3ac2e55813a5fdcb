//===- kiln/cuda/emu/emulator.h - run CUDA kernels on the CPU -*- C++ -*-===//
//
// This is the one header of the SIMT emulator. A .cu file compiles for it
// with g++ (C++20) as
//
//   g++ -std=c++20 -x c++ -DKILN_CUDA_EMULATED -fno-strict-aliasing
//       -include kiln/cuda/emu/emulator.h
//       -I<kiln>/runtime/include -I<kiln>/runtime/include/kiln/cuda/emu/include
//       -c kernel.cu
//
// (one command line)
//
// and links with libkiln_cuda_emu.a, Boost.Context (static) and pthreads
// (CMake: target_link_libraries(... kiln_cuda_emu), which carries all of
// that; kiln_cuda_emu_compile_options(<target>) adds the flags above to a
// target's .cu sources). The second include directory holds stand-ins for
// <cuda_runtime.h>, <cuda_fp16.h>, <cuda_bf16.h>, ... that include this
// header, so device and host code include the CUDA headers as usual; never
// put /usr/local/cuda/include on that compile line.
//
// What it provides: lang.h (qualifiers, vector types, threadIdx & co),
// fp16.h (__half, __nv_bfloat16), device.h (barriers, warp collectives,
// atomics, intrinsics, and Hopper's mbarrier, TMA and wgmma), runtime_api.h
// (cudaMalloc, streams, events, graphs, launches), driver.h (tensor maps),
// plus the shared-memory macros below. kiln/cuda/intrinsics.cuh builds
// mma.sync, ldmatrix and cp.async on top of it, intrinsics_sm90.cuh the
// Hopper instructions.
//
// Execution model: a launch runs its blocks on a pool of worker threads
// (KILN_EMU_THREADS, default min(hardware threads, 2)); inside a block every
// CUDA thread is a fiber, scheduled deterministically (thread 0 runs until
// it blocks at a barrier or warp collective or exits, then thread 1, ...).
// See runtime/src/cuda_emu/Scheduler.cpp for the details.
//
// Environment: KILN_EMU_THREADS (worker threads), KILN_EMU_STACK_KB (stack
// of each CUDA thread, default 128), KILN_EMU_POISON (byte that fills new
// device and shared memory, default 0xff; -1: none), KILN_EMU_ABORT=1
// (abort() on a kernel failure, for a debugger), KILN_EMU_STRICT=1 (a
// cp.async copy never waited for is an error), KILN_EMU_STATS=1 (print
// operation counts at exit), KILN_EMU_VERBOSE=1 (also report rejected
// launch configurations and unwaited copies on stderr), KILN_EMU_DEVICES=N
// (that many devices, 0 to 16, default 1; 0 reports no device, like a
// machine without a GPU; with several, cudaSetDevice selects the calling
// thread's device, streams and graphs belong to the device current when
// they are made and launches into another device's are refused, and kernel
// attributes are per device) and KILN_EMU_MEMORY_MB (device memory, default
// 80 GiB, shared by all devices): the last two let tests exercise the
// runtime's no-device, several-device and out-of-memory paths.
// KILN_EMU_CC
// (default 9.0, an H100) is the compute capability the devices report:
// 7.0, 7.5, 8.0 (an A100), 8.6, 8.7, 8.9, 9.0, 10.0, 10.3, 12.0 or 12.1,
// with that part's SM count and shared-memory opt-in limit; sm_90a's
// instructions (wgmma, cp.async.bulk.tensor, mbarrier expect_tx) fail on
// any but 9.0, so tests can run one executable as each GPU would.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_EMULATOR_H
#define KILN_CUDA_EMU_EMULATOR_H

#if defined(__CUDACC__) || defined(__CUDA_ARCH__)
#error "kiln/cuda/emu/emulator.h is for host compilers; nvcc uses the real CUDA headers"
#endif

#ifndef KILN_CUDA_EMULATED
#define KILN_CUDA_EMULATED 1
#endif

#include "kiln/cuda/emu/lang.h"
#include "kiln/cuda/emu/fp16.h"
#include "kiln/cuda/emu/device.h"
#include "kiln/cuda/emu/runtime_api.h"
#include "kiln/cuda/emu/driver.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

/// KILN_SHARED(T, name, dims): a statically sized shared array, e.g.
/// `KILN_SHARED(float, As, [16][16]);`, aligned to 16 bytes. Unlike a plain
/// __shared__ array it is filled with 0xff bytes when the first thread of
/// each block reaches the declaration, so reading an element nobody wrote
/// shows up as NaN / -1. Under nvcc it is `__shared__ __align__(16) T name dims`.
#define KILN_SHARED(T, name, dims)                                              \
  thread_local __attribute__((aligned(16))) T name dims;                        \
  thread_local ::std::uint64_t kiln_shared_epoch_##name = 0;                    \
  ::kiln::emu::detail::poisonSharedOnce(&name, sizeof(name), kiln_shared_epoch_##name)

/// KILN_DYNAMIC_SHARED(T, name): `T *const name` pointing at the block's
/// dynamic shared memory (the launch's smem bytes, 128-byte aligned, filled
/// with 0xff at block start). Under nvcc it declares one
/// `extern __shared__ __align__(16) unsigned char[]` and casts it, which
/// avoids nvcc's clash between extern shared arrays of different types.
#define KILN_DYNAMIC_SHARED(T, name)                                            \
  T *const name = static_cast<T *>(::kiln::emu::detail::dynamicSharedMemory())

#endif // KILN_CUDA_EMU_EMULATOR_H
