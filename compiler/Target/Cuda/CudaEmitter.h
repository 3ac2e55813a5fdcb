//===- CudaEmitter.h - kiln IR to CUDA C++ ---------------------*- C++ -*-===//
//
// Declares the CUDA code generator: it turns a planned model function (with
// the GPU tile schedules of --kiln-choose-schedule) into one CUDA C++
// translation unit that defines `kiln_cuda_model`, the rt::CudaModel of
// runtime/include/kiln/runtime.h: a host prepare step that converts and
// packs the weights for the kernels, and a run function that enqueues the
// model's kernels on a stream (so the runtime can capture it into a CUDA
// graph), both for each launch variant (the sm_90a one and the one of
// other GPUs; kiln/cuda/arch.h), with the device code the executable
// holds. Convolutions, linear layers, pooling and the SE gate instantiate
// the templates of runtime/include/kiln/cuda/kernels.cuh with constant
// shapes; everything elementwise becomes a generated __global__ kernel.
// The same source compiles with nvcc for GPUs and with the host compiler
// against kiln's SIMT emulator for tests.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_CUDA_CUDAEMITTER_H
#define KILN_COMPILER_TARGET_CUDA_CUDAEMITTER_H

#include "kiln/cuda/arch.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>

namespace kiln {

struct ModelParams;

struct CudaSource {
  std::string unit;
  /// Statistics for -v and kiln report --after-fusion: device memory of the
  /// activations (the arena and its staging buffers) and of the split-K
  /// workspace, and the kernel launches of one forward pass.
  size_t arenaBytes = 0, workspaceBytes = 0;
  int kernels = 0;
  /// Launch variants of the forward pass (1, or 2: sm_90a and the others).
  int variants = 1;
};

/// Generates CUDA C++ for |func| in the precision its kiln.precision
/// attribute names, for an executable holding |images| (nvcc's names,
/// space-separated: the runtime picks the variant from them). Emits an
/// error at the offending op and returns failure for IR the CUDA target
/// cannot handle.
mlir::LogicalResult emitCudaSource(mlir::func::FuncOp func,
                                   const ModelParams &params,
                                   CudaSource &source,
                                   llvm::StringRef images = cuda::kDefaultImages);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_CUDA_CUDAEMITTER_H
