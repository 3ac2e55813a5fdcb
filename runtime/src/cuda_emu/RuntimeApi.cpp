//===- cuda_emu/RuntimeApi.cpp - the CUDA runtime API on the CPU ----------===//
//
// This file implements runtime_api.h: errors, the emulated device (an sm_90
// part called "kiln SIMT emulator"), tracked device memory, streams that run
// everything synchronously, events with host timestamps, kernel attributes
// and launches, and CUDA graphs built by stream capture and replayed in
// order.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <unordered_map>

using namespace kiln::emu;
using kiln::emu::detail::LaunchSpec;

//===----------------------------------------------------------------------===//
// Streams, events, graphs
//===----------------------------------------------------------------------===//

namespace kiln::emu {

/// Owns a launch's closure; shared by the captured graph and its instances.
struct ClosureOwner {
  void *closure;
  void (*destroy)(void *);
  ~ClosureOwner() {
    if (destroy)
      destroy(closure);
  }
};

struct GraphNode {
  enum Kind { Kernel, Memcpy, Memset, EventRecord } kind;
  LaunchSpec spec{};
  std::shared_ptr<ClosureOwner> owner;
  void *dst = nullptr;
  const void *src = nullptr;
  size_t count = 0;
  int value = 0;
  cudaMemcpyKind copyKind = cudaMemcpyDefault;
  cudaEvent_t event = nullptr;
};

} // namespace kiln::emu

struct CUstream_st {
  unsigned flags = 0;
  int device = 0; ///< the device current when it was created
  bool capturing = false;
  bool invalidated = false;
  std::vector<std::shared_ptr<GraphNode>> captured;
};

struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};

struct CUgraph_st {
  std::vector<std::shared_ptr<GraphNode>> nodes;
};

struct CUgraphExec_st {
  std::vector<std::shared_ptr<GraphNode>> nodes;
  int device = 0; ///< the device current when it was instantiated
};

namespace kiln::emu {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

namespace {
thread_local cudaError_t lastError = cudaSuccess;
std::atomic<bool> pendingFailure{false};
std::mutex stateMutex; // allocations, attributes
std::map<std::uintptr_t, size_t> allocations;
/// cudaFuncAttributeMaxDynamicSharedMemorySize, per device and kernel (the
/// attribute is per device, as on real GPUs).
std::map<std::pair<int, const void *>, int> maxDynamicSmem;
/// The calling thread's device (cudaSetDevice).
thread_local int currentDevice = 0;
size_t allocatedBytes = 0;

/// Device memory: 80 GiB unless KILN_EMU_MEMORY_MB says otherwise.
size_t totalMem() { return settings().totalMem; }

bool isSpecialStream(cudaStream_t s) {
  return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread;
}
} // namespace

cudaError_t setLastError(cudaError_t e) {
  if (e != cudaSuccess)
    lastError = e;
  return e;
}

void noteLaunchFailure() {
  lastError = cudaErrorLaunchFailure;
  pendingFailure.store(true);
}

cudaError_t takePendingFailure() {
  return pendingFailure.exchange(false) ? cudaErrorLaunchFailure : cudaSuccess;
}

namespace {

/// Checks that [p, p + n) lies inside one cudaMalloc'd range; |what| names
/// the operand in the message.
bool checkDeviceRange(const void *p, size_t n, const char *op, const char *what) {
  std::lock_guard<std::mutex> lock(stateMutex);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto it = allocations.upper_bound(a);
  if (it != allocations.begin()) {
    --it;
    if (a >= it->first && a < it->first + std::max<size_t>(it->second, 1)) {
      if (a + n <= it->first + it->second)
        return true;
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "%s: the %s range %p + %zu bytes leaves its allocation of %zu bytes at %p",
                    op, what, p, n, it->second, reinterpret_cast<void *>(it->first));
      diagnostic("error", buf);
      return false;
    }
  }
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s: the %s pointer %p is not in device memory (cudaMalloc)", op,
                what, p);
  diagnostic("error", buf);
  return false;
}

/// True when |p| points into a device allocation (for cudaMemcpyDefault).
bool isDevice(const void *p) {
  std::lock_guard<std::mutex> lock(stateMutex);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto it = allocations.upper_bound(a);
  if (it == allocations.begin())
    return false;
  --it;
  return a >= it->first && a < it->first + std::max<size_t>(it->second, 1);
}

cudaError_t doMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind) {
  if (count == 0)
    return cudaSuccess;
  if (!dst || !src)
    return setLastError(cudaErrorInvalidValue);
  bool dstDev = false, srcDev = false;
  switch (kind) {
  case cudaMemcpyHostToHost:
    break;
  case cudaMemcpyHostToDevice:
    dstDev = true;
    break;
  case cudaMemcpyDeviceToHost:
    srcDev = true;
    break;
  case cudaMemcpyDeviceToDevice:
    dstDev = srcDev = true;
    break;
  case cudaMemcpyDefault:
    dstDev = isDevice(dst);
    srcDev = isDevice(src);
    break;
  default:
    return setLastError(cudaErrorInvalidMemcpyDirection);
  }
  if ((dstDev && !checkDeviceRange(dst, count, "cudaMemcpy", "destination")) ||
      (srcDev && !checkDeviceRange(src, count, "cudaMemcpy", "source")))
    return setLastError(cudaErrorInvalidValue);
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t doMemset(void *ptr, int value, size_t count) {
  if (count == 0)
    return cudaSuccess;
  if (!checkDeviceRange(ptr, count, "cudaMemset", "destination"))
    return setLastError(cudaErrorInvalidValue);
  std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t runNode(const GraphNode &n) {
  switch (n.kind) {
  case GraphNode::Kernel:
    return executeLaunch(n.spec);
  case GraphNode::Memcpy:
    return doMemcpy(n.dst, n.src, n.count, n.copyKind);
  case GraphNode::Memset:
    return doMemset(n.dst, n.value, n.count);
  case GraphNode::EventRecord:
    n.event->recorded = true;
    n.event->time = std::chrono::steady_clock::now();
    return cudaSuccess;
  }
  return cudaSuccess;
}

/// Records |node| when |stream| captures; returns true then.
bool capture(cudaStream_t stream, std::shared_ptr<GraphNode> node) {
  if (isSpecialStream(stream) || !stream->capturing)
    return false;
  stream->captured.push_back(std::move(node));
  return true;
}

} // namespace

bool captureLaunch(const LaunchSpec &spec) {
  if (isSpecialStream(spec.stream) || !spec.stream->capturing)
    return false;
  auto node = std::make_shared<GraphNode>();
  node->kind = GraphNode::Kernel;
  node->spec = spec;
  node->owner.reset(new ClosureOwner{spec.closure, spec.destroy});
  return capture(spec.stream, std::move(node));
}

cudaError_t validateLaunch(const LaunchSpec &spec) {
  const dim3 b = spec.block, g = spec.grid;
  if (b.x == 0 || b.y == 0 || b.z == 0 || g.x == 0 || g.y == 0 || g.z == 0 || b.x > 1024 ||
      b.y > 1024 || b.z > 64 || std::uint64_t(b.x) * b.y * b.z > kMaxThreadsPerBlock ||
      g.y > 65535 || g.z > 65535)
    return cudaErrorInvalidConfiguration;
  size_t limit = kDefaultDynamicSmem;
  {
    std::lock_guard<std::mutex> lock(stateMutex);
    auto it = maxDynamicSmem.find({currentDevice, spec.fn});
    if (it != maxDynamicSmem.end())
      limit = size_t(it->second);
  }
  if (spec.smem > limit)
    return cudaErrorInvalidValue;
  // A kernel runs on the current device, into a stream of that device.
  if (!isSpecialStream(spec.stream) && spec.stream->device != currentDevice)
    return cudaErrorInvalidResourceHandle;
  return cudaSuccess;
}

namespace detail {

cudaError_t launch(const LaunchSpec &spec) {
  cudaError_t e = validateLaunch(spec);
  if (e != cudaSuccess) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "kernel %s: bad launch configuration <<<(%u,%u,%u), (%u,%u,%u), %zu>>>: %s",
                  spec.name, spec.grid.x, spec.grid.y, spec.grid.z, spec.block.x, spec.block.y,
                  spec.block.z, spec.smem, cudaGetErrorString(e));
    if (std::getenv("KILN_EMU_VERBOSE"))
      diagnostic("error", buf);
    spec.destroy(spec.closure);
    return setLastError(e);
  }
  if (!isSpecialStream(spec.stream) && spec.stream->capturing) {
    captureLaunch(spec);
    return cudaSuccess;
  }
  e = executeLaunch(spec);
  spec.destroy(spec.closure);
  return e;
}

cudaError_t funcSetAttribute(const void *fn, cudaFuncAttribute attr, int value) {
  if (!fn)
    return setLastError(cudaErrorInvalidDeviceFunction);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > settings().smemOptin)
      return setLastError(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(stateMutex);
    maxDynamicSmem[{currentDevice, fn}] = value;
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout)
    return value >= -1 && value <= 100 ? cudaSuccess : setLastError(cudaErrorInvalidValue);
  return setLastError(cudaErrorInvalidValue);
}

cudaError_t funcGetAttributes(cudaFuncAttributes *attr, const void *fn) {
  if (!attr || !fn)
    return setLastError(cudaErrorInvalidValue);
  std::memset(attr, 0, sizeof *attr);
  attr->maxThreadsPerBlock = int(kMaxThreadsPerBlock);
  attr->ptxVersion = settings().cc;
  attr->binaryVersion = settings().cc;
  {
    std::lock_guard<std::mutex> lock(stateMutex);
    auto it = maxDynamicSmem.find({currentDevice, fn});
    attr->maxDynamicSharedSizeBytes = it != maxDynamicSmem.end() ? it->second : 48 * 1024;
  }
  attr->preferredShmemCarveout = -1;
  return cudaSuccess;
}

} // namespace detail
} // namespace kiln::emu

//===----------------------------------------------------------------------===//
// The C API
//===----------------------------------------------------------------------===//

const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define KILN_NAME(x)                                                                         \
  case x:                                                                                    \
    return #x;
    KILN_NAME(cudaSuccess)
    KILN_NAME(cudaErrorInvalidValue)
    KILN_NAME(cudaErrorMemoryAllocation)
    KILN_NAME(cudaErrorInitializationError)
    KILN_NAME(cudaErrorCudartUnloading)
    KILN_NAME(cudaErrorInvalidConfiguration)
    KILN_NAME(cudaErrorInvalidPitchValue)
    KILN_NAME(cudaErrorInvalidSymbol)
    KILN_NAME(cudaErrorInvalidDevicePointer)
    KILN_NAME(cudaErrorInvalidMemcpyDirection)
    KILN_NAME(cudaErrorInvalidDeviceFunction)
    KILN_NAME(cudaErrorNoDevice)
    KILN_NAME(cudaErrorInvalidDevice)
    KILN_NAME(cudaErrorInvalidResourceHandle)
    KILN_NAME(cudaErrorIllegalState)
    KILN_NAME(cudaErrorNotReady)
    KILN_NAME(cudaErrorIllegalAddress)
    KILN_NAME(cudaErrorLaunchOutOfResources)
    KILN_NAME(cudaErrorLaunchTimeout)
    KILN_NAME(cudaErrorAssert)
    KILN_NAME(cudaErrorMisalignedAddress)
    KILN_NAME(cudaErrorLaunchFailure)
    KILN_NAME(cudaErrorNotPermitted)
    KILN_NAME(cudaErrorNotSupported)
    KILN_NAME(cudaErrorStreamCaptureUnsupported)
    KILN_NAME(cudaErrorStreamCaptureInvalidated)
    KILN_NAME(cudaErrorStreamCaptureMerge)
    KILN_NAME(cudaErrorStreamCaptureUnmatched)
    KILN_NAME(cudaErrorStreamCaptureUnjoined)
    KILN_NAME(cudaErrorStreamCaptureIsolation)
    KILN_NAME(cudaErrorStreamCaptureImplicit)
    KILN_NAME(cudaErrorStreamCaptureWrongThread)
    KILN_NAME(cudaErrorGraphExecUpdateFailure)
    KILN_NAME(cudaErrorUnknown)
#undef KILN_NAME
  }
  return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess:
    return "no error";
  case cudaErrorInvalidValue:
    return "invalid argument";
  case cudaErrorMemoryAllocation:
    return "out of memory";
  case cudaErrorInitializationError:
    return "initialization error";
  case cudaErrorInvalidConfiguration:
    return "invalid configuration argument";
  case cudaErrorInvalidDevicePointer:
    return "invalid device pointer";
  case cudaErrorInvalidMemcpyDirection:
    return "invalid copy direction for memcpy";
  case cudaErrorInvalidDeviceFunction:
    return "invalid device function";
  case cudaErrorNoDevice:
    return "no CUDA-capable device is detected";
  case cudaErrorInvalidDevice:
    return "invalid device ordinal";
  case cudaErrorInvalidResourceHandle:
    return "invalid resource handle";
  case cudaErrorIllegalState:
    return "the operation cannot be performed in the present state";
  case cudaErrorNotReady:
    return "device not ready";
  case cudaErrorIllegalAddress:
    return "an illegal memory access was encountered";
  case cudaErrorMisalignedAddress:
    return "misaligned address";
  case cudaErrorLaunchFailure:
    return "unspecified launch failure (kiln-emu: the kernel broke the execution model; see the "
           "message above)";
  case cudaErrorNotSupported:
    return "operation not supported";
  case cudaErrorStreamCaptureUnsupported:
    return "operation not permitted when stream is capturing";
  case cudaErrorStreamCaptureInvalidated:
    return "operation failed due to a previous error during capture";
  case cudaErrorStreamCaptureUnmatched:
    return "capture was not initiated in this stream";
  default:
    return cudaGetErrorName(e);
  }
}

cudaError_t cudaGetLastError() {
  cudaError_t e = lastError;
  lastError = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return lastError; }

cudaError_t cudaGetDeviceCount(int *count) {
  if (!count)
    return setLastError(cudaErrorInvalidValue);
  // KILN_EMU_DEVICES=0 emulates a machine without a GPU, as the CUDA
  // runtime reports it.
  *count = settings().devices;
  return settings().devices ? cudaSuccess : setLastError(cudaErrorNoDevice);
}
cudaError_t cudaGetDevice(int *device) {
  if (!device)
    return setLastError(cudaErrorInvalidValue);
  *device = currentDevice;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= settings().devices)
    return setLastError(cudaErrorInvalidDevice);
  currentDevice = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device) {
  if (!p)
    return setLastError(cudaErrorInvalidValue);
  if (device < 0 || device >= settings().devices)
    return setLastError(cudaErrorInvalidDevice);
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "kiln SIMT emulator");
  p->totalGlobalMem = totalMem();
  p->sharedMemPerBlock = kDefaultDynamicSmem;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->memPitch = size_t(1) << 31;
  p->maxThreadsPerBlock = int(kMaxThreadsPerBlock);
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->clockRate = 1755000;
  p->totalConstMem = 65536;
  p->major = settings().cc / 10;
  p->minor = settings().cc % 10;
  p->textureAlignment = 512;
  p->deviceOverlap = 1;
  p->multiProcessorCount = settings().sms;
  p->canMapHostMemory = 1;
  p->concurrentKernels = 1;
  p->asyncEngineCount = 1;
  p->unifiedAddressing = 1;
  p->memoryClockRate = 2619000;
  p->memoryBusWidth = 5120;
  p->l2CacheSize = 50 * 1024 * 1024;
  p->maxThreadsPerMultiProcessor = 2048;
  p->globalL1CacheSupported = 1;
  p->localL1CacheSupported = 1;
  p->sharedMemPerMultiprocessor = settings().smemOptin + 1024;
  p->regsPerMultiprocessor = 65536;
  p->managedMemory = 1;
  p->cooperativeLaunch = 1;
  p->sharedMemPerBlockOptin = settings().smemOptin;
  p->maxBlocksPerMultiProcessor = 32;
  p->reservedSharedMemPerBlock = 1024;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device) {
  if (!value)
    return setLastError(cudaErrorInvalidValue);
  if (device < 0 || device >= settings().devices)
    return setLastError(cudaErrorInvalidDevice);
  cudaDeviceProp p;
  cudaGetDeviceProperties(&p, device);
  switch (attr) {
  case cudaDevAttrMaxThreadsPerBlock:
    *value = p.maxThreadsPerBlock;
    break;
  case cudaDevAttrMaxBlockDimX:
    *value = p.maxThreadsDim[0];
    break;
  case cudaDevAttrMaxBlockDimY:
    *value = p.maxThreadsDim[1];
    break;
  case cudaDevAttrMaxBlockDimZ:
    *value = p.maxThreadsDim[2];
    break;
  case cudaDevAttrMaxGridDimX:
    *value = p.maxGridSize[0];
    break;
  case cudaDevAttrMaxGridDimY:
    *value = p.maxGridSize[1];
    break;
  case cudaDevAttrMaxGridDimZ:
    *value = p.maxGridSize[2];
    break;
  case cudaDevAttrMaxSharedMemoryPerBlock:
    *value = int(p.sharedMemPerBlock);
    break;
  case cudaDevAttrWarpSize:
    *value = 32;
    break;
  case cudaDevAttrMaxRegistersPerBlock:
    *value = p.regsPerBlock;
    break;
  case cudaDevAttrClockRate:
    *value = p.clockRate;
    break;
  case cudaDevAttrMultiProcessorCount:
    *value = p.multiProcessorCount;
    break;
  case cudaDevAttrL2CacheSize:
    *value = p.l2CacheSize;
    break;
  case cudaDevAttrMaxThreadsPerMultiProcessor:
    *value = p.maxThreadsPerMultiProcessor;
    break;
  case cudaDevAttrComputeCapabilityMajor:
    *value = p.major;
    break;
  case cudaDevAttrComputeCapabilityMinor:
    *value = p.minor;
    break;
  case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
    *value = int(p.sharedMemPerMultiprocessor);
    break;
  case cudaDevAttrMaxSharedMemoryPerBlockOptin:
    *value = int(p.sharedMemPerBlockOptin);
    break;
  default:
    return setLastError(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return setLastError(takePendingFailure()); }
cudaError_t cudaDeviceReset() {
  takePendingFailure();
  lastError = cudaSuccess;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free, size_t *total) {
  if (!free || !total)
    return setLastError(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(stateMutex);
  *total = totalMem();
  *free = totalMem() - std::min(allocatedBytes, totalMem());
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *v) {
  if (!v)
    return setLastError(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int *v) { return cudaDriverGetVersion(v); }

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

cudaError_t cudaMalloc(void **ptr, size_t size) {
  if (!ptr)
    return setLastError(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0)
    return cudaSuccess;
  const size_t rounded = (size + 255) / 256 * 256;
  {
    // Out of (emulated) device memory, counting what is allocated.
    std::lock_guard<std::mutex> lock(stateMutex);
    if (size > totalMem() || rounded > totalMem() - std::min(allocatedBytes, totalMem()))
      return setLastError(cudaErrorMemoryAllocation);
  }
  void *p = std::aligned_alloc(256, rounded);
  if (!p)
    return setLastError(cudaErrorMemoryAllocation);
  if (settings().poisonByte >= 0)
    std::memset(p, settings().poisonByte, rounded);
  std::lock_guard<std::mutex> lock(stateMutex);
  allocations[reinterpret_cast<std::uintptr_t>(p)] = size;
  allocatedBytes += rounded;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void *ptr) {
  if (!ptr)
    return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(stateMutex);
    auto it = allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
    if (it == allocations.end()) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "cudaFree(%p): not a pointer returned by cudaMalloc", ptr);
      diagnostic("error", buf);
      return setLastError(cudaErrorInvalidValue);
    }
    allocatedBytes -= (it->second + 255) / 256 * 256;
    allocations.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t size) { return cudaHostAlloc(ptr, size, 0); }
cudaError_t cudaHostAlloc(void **ptr, size_t size, unsigned) {
  if (!ptr)
    return setLastError(cudaErrorInvalidValue);
  *ptr = std::aligned_alloc(256, (std::max<size_t>(size, 1) + 255) / 256 * 256);
  return *ptr ? cudaSuccess : setLastError(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void *ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind) {
  cudaError_t pending = takePendingFailure();
  if (pending != cudaSuccess)
    return setLastError(pending);
  return doMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  auto node = std::make_shared<GraphNode>();
  node->kind = GraphNode::Memcpy;
  node->dst = dst;
  node->src = src;
  node->count = count;
  node->copyKind = kind;
  if (capture(stream, node))
    return cudaSuccess;
  return doMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemset(void *ptr, int value, size_t count) { return doMemset(ptr, value, count); }

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t count, cudaStream_t stream) {
  auto node = std::make_shared<GraphNode>();
  node->kind = GraphNode::Memset;
  node->dst = ptr;
  node->value = value;
  node->count = count;
  if (capture(stream, node))
    return cudaSuccess;
  return doMemset(ptr, value, count);
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

cudaError_t cudaStreamCreate(cudaStream_t *stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags) {
  if (!stream)
    return setLastError(cudaErrorInvalidValue);
  *stream = new CUstream_st;
  (*stream)->flags = flags;
  (*stream)->device = currentDevice;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (isSpecialStream(stream))
    return setLastError(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!isSpecialStream(stream) && stream->capturing) {
    stream->invalidated = true;
    return setLastError(cudaErrorStreamCaptureUnsupported);
  }
  return setLastError(takePendingFailure());
}
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t event, unsigned int) {
  return event ? cudaSuccess : setLastError(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventCreate(cudaEvent_t *event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags) {
  if (!event)
    return setLastError(cudaErrorInvalidValue);
  *event = new CUevent_st;
  (*event)->flags = flags;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event)
    return setLastError(cudaErrorInvalidResourceHandle);
  auto node = std::make_shared<GraphNode>();
  node->kind = GraphNode::EventRecord;
  node->event = event;
  if (capture(stream, node))
    return cudaSuccess;
  return runNode(*node);
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event)
    return setLastError(cudaErrorInvalidResourceHandle);
  return setLastError(takePendingFailure());
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (!event)
    return setLastError(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms)
    return setLastError(cudaErrorInvalidValue);
  if (!start || !end)
    return setLastError(cudaErrorInvalidResourceHandle);
  if ((start->flags | end->flags) & cudaEventDisableTiming)
    return setLastError(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded)
    return setLastError(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

//===----------------------------------------------------------------------===//
// Graphs
//===----------------------------------------------------------------------===//

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (isSpecialStream(stream))
    return setLastError(cudaErrorStreamCaptureUnsupported);
  if (stream->capturing)
    return setLastError(cudaErrorIllegalState);
  stream->capturing = true;
  stream->invalidated = false;
  stream->captured.clear();
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
  if (!graph)
    return setLastError(cudaErrorInvalidValue);
  if (isSpecialStream(stream) || !stream->capturing)
    return setLastError(cudaErrorIllegalState);
  stream->capturing = false;
  if (stream->invalidated) {
    stream->captured.clear();
    *graph = nullptr;
    return setLastError(cudaErrorStreamCaptureInvalidated);
  }
  *graph = new CUgraph_st{std::move(stream->captured)};
  stream->captured.clear();
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status) {
  if (!status)
    return setLastError(cudaErrorInvalidValue);
  *status = !isSpecialStream(stream) && stream->capturing
                ? (stream->invalidated ? cudaStreamCaptureStatusInvalidated
                                       : cudaStreamCaptureStatusActive)
                : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph)
    return setLastError(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes, currentDevice};
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *exec, cudaGraph_t graph,
                                          unsigned long long flags) {
  return cudaGraphInstantiate(exec, graph, flags);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec)
    return setLastError(cudaErrorInvalidResourceHandle);
  // A graph runs on the device it was made on, into one of its streams.
  if (exec->device != currentDevice ||
      (!isSpecialStream(stream) && stream->device != currentDevice))
    return setLastError(cudaErrorInvalidResourceHandle);
  if (!isSpecialStream(stream) && stream->capturing) {
    // Launching a graph into a capture records its nodes.
    for (const auto &n : exec->nodes)
      stream->captured.push_back(n);
    return cudaSuccess;
  }
  for (const auto &n : exec->nodes) {
    cudaError_t e = runNode(*n);
    if (e != cudaSuccess)
      return setLastError(e);
  }
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, void **nodes, size_t *count) {
  if (!graph || !count)
    return setLastError(cudaErrorInvalidValue);
  if (nodes)
    for (size_t i = 0; i < std::min(*count, graph->nodes.size()); ++i)
      nodes[i] = graph->nodes[i].get();
  *count = graph->nodes.size();
  return cudaSuccess;
}
