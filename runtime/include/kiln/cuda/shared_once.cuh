//===- shared_once.cuh - the shared-memory opt-in of a kernel ---*- CUDA -*-===//
//
// A kernel that uses more than 48 KiB of dynamic shared memory must opt in,
// once per device (the attribute is per device and outlives launches).
// Launchers keep a SharedOnce as a static local, so that each of their
// instances (each kernel) has its own.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_SHARED_ONCE_CUH
#define KILN_RUNTIME_CUDA_SHARED_ONCE_CUH

#include <mutex>

namespace kiln::cuda::detail {

/// Opts a kernel into more than 48 KiB of dynamic shared memory.
template <typename Kernel> cudaError_t allow_shared(Kernel kernel, int bytes) {
  if (bytes <= 48 * 1024)
    return cudaSuccess;
  return cudaFuncSetAttribute(
      kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

/// allow_shared once per process and device for one kernel: the attribute
/// is per device and outlives launches. A launcher keeps one of these as a
/// static local, so that each of its instances (each kernel) has its own.
struct SharedOnce {
  static constexpr int kDevices = 64;
  std::once_flag once[kDevices];
  cudaError_t status[kDevices] = {};

  /// The first call's status on the current device.
  template <typename Kernel> cudaError_t operator()(Kernel kernel, int bytes) {
    if (bytes <= 48 * 1024)
      return cudaSuccess;
    int device = 0;
    if (cudaError_t e = cudaGetDevice(&device); e != cudaSuccess)
      return e;
    if (device < 0 || device >= kDevices)
      return allow_shared(kernel, bytes);
    std::call_once(once[device],
                   [&] { status[device] = allow_shared(kernel, bytes); });
    return status[device];
  }
};

} // namespace kiln::cuda::detail

#endif // KILN_RUNTIME_CUDA_SHARED_ONCE_CUH
