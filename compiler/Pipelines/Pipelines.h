//===- Pipelines.h - the pass pipelines of kiln compile --------*- C++ -*-===//
//
// Declares the stages of `kiln compile` and the pipeline that runs them, so
// that `--emit` can stop after any stage.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PIPELINES_PIPELINES_H
#define KILN_COMPILER_PIPELINES_PIPELINES_H

#include "compiler/Conversion/GraphToKernel/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"

#include <string>

namespace kiln {

/// Stop points of the pipeline, in order.
enum class Phase {
  Imported, ///< the graph as the YAML describes it (--emit=mlir)
  Fused,    ///< batch norms folded, epilogues, SE and concats fused (--emit=fused)
  Planned,  ///< layouts chosen, every buffer placed in the arena (--emit=planned)
};

struct PipelineOptions {
  /// Run the fusion passes (off: one kernel per graph op, for comparison).
  bool fuse = true;
  /// Let the kernels take the batch at run time when the model allows it
  /// (--kiln-mark-batch; off: they always run the compiled batch).
  bool runtimeBatch = true;
  /// For the CUDA target: the precision whose GPU tile schedules
  /// --kiln-choose-schedule records after planning; empty: none.
  std::string cudaPrecision;
  int smCount = 132;
  /// The variants of the executable (kiln/cuda/arch.h): the sm_90a one
  /// (the wgmma kernel's schedules where a layer allows them) and the one
  /// of every other GPU; the default executable has both.
  bool sm90a = true, generic = true;
  /// For the CPU target: which 3x3 layers run as Winograd
  /// (--kiln-choose-winograd's tile: auto, 2, 4 or none); empty: not run.
  std::string winograd;
  /// For the CPU target: run 1x1 / depthwise / 1x1 chains as one kernel
  /// (--kiln-fuse-conv-chains).
  bool convChains = false;
};

/// Runs the graph passes on |module| up to and including |last|.
mlir::LogicalResult runPipeline(mlir::ModuleOp module, Phase last,
                                const PipelineOptions &options);

/// Runs --kiln-check-limits alone (what the reference interpreter needs
/// before it allocates the model's tensors).
mlir::LogicalResult checkLimits(mlir::ModuleOp module);

/// A copy of the |planned| module lowered to the kernels of |target|
/// (--kiln-lower-to-kernels), verified; null after an error.
mlir::OwningOpRef<mlir::ModuleOp> lowerForTarget(mlir::ModuleOp planned,
                                                 KernelTarget target);

} // namespace kiln

#endif // KILN_COMPILER_PIPELINES_PIPELINES_H
