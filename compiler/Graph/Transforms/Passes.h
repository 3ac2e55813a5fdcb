//===- Passes.h - kiln graph passes ----------------------------*- C++ -*-===//
//
// Declares the graph passes (see Passes.td) and their registration.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_GRAPH_TRANSFORMS_PASSES_H
#define KILN_COMPILER_GRAPH_TRANSFORMS_PASSES_H

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "compiler/Graph/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Graph/Transforms/Passes.h.inc"

} // namespace kiln

#endif // KILN_COMPILER_GRAPH_TRANSFORMS_PASSES_H
