//===- kiln/cuda/emu/runtime_api.h - CUDA runtime API on the emulator -*- C++ -*-===//
//
// This file declares the subset of the CUDA runtime API that kiln's host code
// uses, implemented by libkiln_cuda_emu on the CPU: errors, device queries,
// memory, streams, events, function attributes, kernel launches and CUDA
// graphs (stream capture + replay). Names, enumerator values and signatures
// follow CUDA 12/13 so that host code compiles unmodified.
//
// Semantics worth knowing:
//   * Every operation completes before the call returns (kernels included):
//     streams are trivially ordered and synchronizing calls return at once.
//   * Device memory is host memory, but cudaMalloc'd ranges are tracked:
//     freeing an unknown pointer and copies that leave an allocation fail
//     with cudaErrorInvalidValue (and say why on stderr). New allocations
//     are filled with 0xff bytes so that reading unwritten memory shows.
//   * A launch with a bad configuration (block > 1024 threads or a zero
//     dimension, grid out of range, more dynamic shared memory than the
//     48 KiB default or the cudaFuncAttributeMaxDynamicSharedMemorySize set)
//     runs nothing and sets the last error (cudaErrorInvalidConfiguration /
//     cudaErrorInvalidValue), like CUDA.
//   * A kernel that breaks the execution model (deadlock, barrier after an
//     exit, bad warp-collective mask, __trap) is aborted; the diagnostic goes
//     to stderr and cudaErrorLaunchFailure is returned by the next
//     cudaGetLastError / cudaPeekAtLastError and by the next synchronizing
//     call (cudaDeviceSynchronize, cudaStreamSynchronize, ...).
//   * Capture (cudaStreamBeginCapture on a stream other than the legacy
//     default stream) records kernel launches, cudaMemcpyAsync,
//     cudaMemsetAsync and cudaEventRecord; cudaGraphLaunch replays them in
//     order. Kernel arguments are copied at capture time, as in CUDA.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_RUNTIME_API_H
#define KILN_CUDA_EMU_RUNTIME_API_H

#include "kiln/cuda/emu/lang.h"

#include <cstddef>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

//===----------------------------------------------------------------------===//
// Types and constants
//===----------------------------------------------------------------------===//

/// The runtime API version the emulator follows (CUDA 12.8 signatures).
#define CUDART_VERSION 12080

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorCudartUnloading = 4,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidPitchValue = 12,
  cudaErrorInvalidSymbol = 13,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchTimeout = 702,
  cudaErrorAssert = 710,
  cudaErrorMisalignedAddress = 716,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotPermitted = 800,
  cudaErrorNotSupported = 801,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureMerge = 902,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureUnjoined = 904,
  cudaErrorStreamCaptureIsolation = 905,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorStreamCaptureWrongThread = 908,
  cudaErrorGraphExecUpdateFailure = 910,
  cudaErrorUnknown = 999,
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxBlockDimX = 2,
  cudaDevAttrMaxBlockDimY = 3,
  cudaDevAttrMaxBlockDimZ = 4,
  cudaDevAttrMaxGridDimX = 5,
  cudaDevAttrMaxGridDimY = 6,
  cudaDevAttrMaxGridDimZ = 7,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMaxRegistersPerBlock = 12,
  cudaDevAttrClockRate = 13,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrL2CacheSize = 38,
  cudaDevAttrMaxThreadsPerMultiProcessor = 39,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01
#define cudaHostAllocMapped 0x02
#define cudaHostAllocWriteCombined 0x04
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02
#define cudaGraphInstantiateFlagAutoFreeOnLaunch 1

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;

/// The fields of CUDA's cudaDeviceProp that host code commonly reads.
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  size_t memPitch;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int clockRate;
  size_t totalConstMem;
  int major;
  int minor;
  size_t textureAlignment;
  int deviceOverlap;
  int multiProcessorCount;
  int kernelExecTimeoutEnabled;
  int integrated;
  int canMapHostMemory;
  int computeMode;
  int concurrentKernels;
  int ECCEnabled;
  int pciBusID;
  int pciDeviceID;
  int pciDomainID;
  int asyncEngineCount;
  int unifiedAddressing;
  int memoryClockRate;
  int memoryBusWidth;
  int l2CacheSize;
  int persistingL2CacheMaxSize;
  int maxThreadsPerMultiProcessor;
  int streamPrioritiesSupported;
  int globalL1CacheSupported;
  int localL1CacheSupported;
  size_t sharedMemPerMultiprocessor;
  int regsPerMultiprocessor;
  int managedMemory;
  int isMultiGpuBoard;
  int multiGpuBoardGroupID;
  int singleToDoublePrecisionPerfRatio;
  int pageableMemoryAccess;
  int concurrentManagedAccess;
  int cooperativeLaunch;
  size_t sharedMemPerBlockOptin;
  int maxBlocksPerMultiProcessor;
  size_t reservedSharedMemPerBlock;
};

/// What cudaFuncGetAttributes reports (the emulator knows no register or
/// static shared memory counts: check those with ptxas -v).
struct cudaFuncAttributes {
  size_t sharedSizeBytes;
  size_t constSizeBytes;
  size_t localSizeBytes;
  int maxThreadsPerBlock;
  int numRegs;
  int ptxVersion;
  int binaryVersion;
  int cacheModeCA;
  int maxDynamicSharedSizeBytes;
  int preferredShmemCarveout;
};

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

const char *cudaGetErrorString(cudaError_t error);
const char *cudaGetErrorName(cudaError_t error);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaDeviceReset();
cudaError_t cudaMemGetInfo(size_t *free, size_t *total);
cudaError_t cudaDriverGetVersion(int *version);
cudaError_t cudaRuntimeGetVersion(int *version);

cudaError_t cudaMalloc(void **ptr, size_t size);
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMallocHost(void **ptr, size_t size);
cudaError_t cudaHostAlloc(void **ptr, size_t size, unsigned int flags);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream = 0);
cudaError_t cudaMemset(void *ptr, int value, size_t count);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t count, cudaStream_t stream = 0);

cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags = 0);

cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t event);

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags = 0);
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *exec, cudaGraph_t graph,
                                          unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, void **nodes, size_t *count);

//===----------------------------------------------------------------------===//
// Kernels: attributes and launches
//===----------------------------------------------------------------------===//

namespace kiln::emu::detail {

/// One kernel launch as the library sees it. |invoke| runs the kernel body
/// for the current CUDA thread; the library owns |closure| and frees it with
/// |destroy| (a captured launch keeps it alive until its graph dies).
struct LaunchSpec {
  const char *name;
  const void *fn;
  dim3 grid;
  dim3 block;
  size_t smem;
  cudaStream_t stream;
  void (*invoke)(void *closure);
  void *closure;
  void (*destroy)(void *closure);
};
cudaError_t launch(const LaunchSpec &spec);

cudaError_t funcSetAttribute(const void *fn, cudaFuncAttribute attr, int value);
cudaError_t funcGetAttributes(cudaFuncAttributes *attr, const void *fn);

template <typename Closure>
void invokeClosure(void *c) {
  auto *closure = static_cast<Closure *>(c);
  // The kernel takes its parameters by value: every CUDA thread gets its own
  // copy, as from the parameter space on a GPU.
  std::apply(closure->fn, closure->args);
}
template <typename Closure>
void destroyClosure(void *c) {
  delete static_cast<Closure *>(c);
}

/// The object KILN_LAUNCH(...) yields: calling it with the kernel arguments
/// converts them to the parameter types and launches.
template <typename... P>
struct KernelLauncher {
  void (*fn)(P...);
  const char *name;
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;

  template <typename... A>
  void operator()(A &&...args) const {
    static_assert(sizeof...(A) == sizeof...(P),
                  "KILN_LAUNCH: wrong number of kernel arguments");
    struct Closure {
      void (*fn)(P...);
      std::tuple<std::decay_t<P>...> args;
    };
    auto *closure = new Closure{fn, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
    launch(LaunchSpec{name, reinterpret_cast<const void *>(fn), grid, block, smem, stream,
                      &invokeClosure<Closure>, closure, &destroyClosure<Closure>});
  }
};

template <typename... P>
KernelLauncher<P...> makeLauncher(void (*fn)(P...), const char *name, dim3 grid, dim3 block,
                                  size_t smem, cudaStream_t stream) {
  return KernelLauncher<P...>{fn, name, grid, block, smem, stream};
}

template <typename... P, size_t... I>
cudaError_t launchFromPointers(void (*fn)(P...), dim3 grid, dim3 block, void **args,
                               size_t smem, cudaStream_t stream, std::index_sequence<I...>) {
  struct Closure {
    void (*fn)(P...);
    std::tuple<std::decay_t<P>...> args;
  };
  auto *closure = new Closure{
      fn, std::tuple<std::decay_t<P>...>(*static_cast<std::decay_t<P> *>(args[I])...)};
  return launch(LaunchSpec{"<cudaLaunchKernel>", reinterpret_cast<const void *>(fn), grid,
                           block, smem, stream, &invokeClosure<Closure>, closure,
                           &destroyClosure<Closure>});
}

} // namespace kiln::emu::detail

/// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
/// bytes): raises the dynamic shared memory a kernel may launch with (up to
/// 227 KiB, the sm_90 opt-in limit).
template <typename... P>
cudaError_t cudaFuncSetAttribute(void (*fn)(P...), cudaFuncAttribute attr, int value) {
  return kiln::emu::detail::funcSetAttribute(reinterpret_cast<const void *>(fn), attr, value);
}
inline cudaError_t cudaFuncSetAttribute(const void *fn, cudaFuncAttribute attr, int value) {
  return kiln::emu::detail::funcSetAttribute(fn, attr, value);
}
template <typename... P>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *attr, void (*fn)(P...)) {
  return kiln::emu::detail::funcGetAttributes(attr, reinterpret_cast<const void *>(fn));
}

/// Driver entry points: "cuTensorMapEncodeTiled" (kiln/cuda/emu/driver.h)
/// is the one the emulator has; others report cudaDriverEntryPointSymbolNotFound.
enum cudaDriverEntryPointQueryResult {
  cudaDriverEntryPointSuccess = 0,
  cudaDriverEntryPointSymbolNotFound = 1,
  cudaDriverEntryPointVersionNotSufficent = 2,
};
#define cudaEnableDefault 0x0
cudaError_t cudaGetDriverEntryPointByVersion(const char *symbol, void **funcPtr,
                                             unsigned int cudaVersion, unsigned long long flags,
                                             cudaDriverEntryPointQueryResult *status = nullptr);

/// The typed cudaLaunchKernel of cuda_runtime.h: |args| points at one value
/// per kernel parameter.
template <typename... P>
cudaError_t cudaLaunchKernel(void (*fn)(P...), dim3 grid, dim3 block, void **args,
                             size_t smem = 0, cudaStream_t stream = 0) {
  return kiln::emu::detail::launchFromPointers(fn, grid, block, args, smem, stream,
                                               std::index_sequence_for<P...>{});
}

template <typename T>
cudaError_t cudaMemcpyToSymbol(T &symbol, const void *src, size_t count, size_t offset = 0,
                               cudaMemcpyKind = cudaMemcpyHostToDevice) {
  if (offset + count > sizeof(T))
    return cudaErrorInvalidValue;
  std::memcpy(reinterpret_cast<char *>(&symbol) + offset, src, count);
  return cudaSuccess;
}
template <typename T>
cudaError_t cudaMemcpyFromSymbol(void *dst, const T &symbol, size_t count, size_t offset = 0,
                                 cudaMemcpyKind = cudaMemcpyDeviceToHost) {
  if (offset + count > sizeof(T))
    return cudaErrorInvalidValue;
  std::memcpy(dst, reinterpret_cast<const char *>(&symbol) + offset, count);
  return cudaSuccess;
}

template <typename... P>
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, void (*)(P...),
                                                          int blockSize, size_t smem) {
  if (!blocks || blockSize <= 0)
    return cudaErrorInvalidValue;
  int byThreads = 2048 / blockSize;
  int bySmem = smem ? int(233472 / smem) : 32;
  int n = byThreads < bySmem ? byThreads : bySmem;
  *blocks = n < 32 ? n : 32;
  return cudaSuccess;
}

#endif // KILN_CUDA_EMU_RUNTIME_API_H
