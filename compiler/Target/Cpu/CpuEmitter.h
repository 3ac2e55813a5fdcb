//===- CpuEmitter.h - kiln IR to C++ for the CPU ---------------*- C++ -*-===//
//
// Declares the CPU code generator: it turns a model function into C++
// source that defines `kiln::rt::kModel` (runtime/include/kiln/runtime.h):
// the state_dict specs, a prepare step that packs weights for the kernels,
// and a run function of kernel calls and loop nests with constant shapes on
// one activation arena.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_CPU_CPUEMITTER_H
#define KILN_COMPILER_TARGET_CPU_CPUEMITTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace kiln {

struct CpuSource {
  /// Translation units; compiled separately (and in parallel).
  std::vector<std::string> units;
  /// Statistics for -v and the report.
  size_t arenaBytes = 0;
  int kernels = 0;
};

struct CpuEmitOptions {
  /// Whether the executable embeds a safetensors blob (symbols
  /// kiln_embedded_weights_begin/_end).
  bool embeddedWeights = false;
  /// Whether the executable runs on the CPU (false for --target cuda: no
  /// kernels, ModelInfo::prepare and run are null).
  bool cpuCode = true;
  /// Whether a CUDA translation unit defines `kiln_cuda_model`
  /// (CudaEmitter.h), which ModelInfo::cuda then points at.
  bool cudaModel = false;
  /// The most units the kernels are spread over, for as many compiler
  /// processes (0: the machine's hardware threads; 1: one unit).
  unsigned jobs = 0;
  /// The CPU kernel sets the executable holds, best first (kernels_NAME in
  /// kiln/cpu/kernels.h; CpuTarget in Pipelines/Toolchain.h).
  std::vector<std::string> cpuKernels = {"avx512", "avx2", "portable"};
};

struct ModelParams;

/// Generates C++ for the planned model |func|, whose weights |params|
/// describes (collected from the imported IR, before any pass, so that the
/// seeding rules see the layers as written). Emits an error at the
/// offending op and returns failure for IR the CPU target cannot handle.
mlir::LogicalResult emitCpuSource(mlir::func::FuncOp func,
                                  const ModelParams &params,
                                  const CpuEmitOptions &options,
                                  CpuSource &source);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_CPU_CPUEMITTER_H
