//===- Passes.h - kiln CPU target passes ----------------------*- C++ -*-===//
//
// Declares the CPU target's passes (see Passes.td) and their registration.
// They run on planned graph IR, after the graph passes, except
// fuse-shuffle-copies, which runs on the CPU's kernel IR.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_CPU_TRANSFORMS_PASSES_H
#define KILN_COMPILER_TARGET_CPU_TRANSFORMS_PASSES_H

#include "dialects/Kernel/IR/KernelDialect.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "compiler/Target/Cpu/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Target/Cpu/Transforms/Passes.h.inc"

} // namespace kiln

#endif // KILN_COMPILER_TARGET_CPU_TRANSFORMS_PASSES_H
