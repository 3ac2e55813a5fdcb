//===- Passes.h - kiln conversion passes -----------------------*- C++ -*-===//
//
// Declares the lowerings between kiln's dialects (see Passes.td) and their
// registration.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CONVERSION_GRAPHTOKERNEL_PASSES_H
#define KILN_COMPILER_CONVERSION_GRAPHTOKERNEL_PASSES_H

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "compiler/Conversion/GraphToKernel/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Conversion/GraphToKernel/Passes.h.inc"

/// The targets a planned graph lowers to.
enum class KernelTarget { Cpu, Cuda };

/// Replaces the model function of the planned |module| with its kernels
/// for |target| (--kiln-lower-to-kernels).
mlir::LogicalResult lowerToKernels(mlir::ModuleOp module, KernelTarget target);

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_GRAPHTOKERNEL_PASSES_H
