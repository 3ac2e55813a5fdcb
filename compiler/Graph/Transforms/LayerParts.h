//===- LayerParts.h - taking layers apart and rebuilding them --*- C++ -*-===//
//
// Declares what the fusion passes share to replace a convolution or linear
// layer by one that takes more (a folded weight, a residual, an activation,
// an input scale): its parts, an op rebuilt from them, and the record of
// the layers a fused op stands for.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_GRAPH_TRANSFORMS_LAYERPARTS_H
#define KILN_COMPILER_GRAPH_TRANSFORMS_LAYERPARTS_H

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/IR/Builders.h"

namespace kiln {

/// The parts of a convolution or linear layer a pass may replace.
struct LayerParts {
  mlir::Value input, weight, bias, residual, scale;
  Activation activation = Activation::none;
  bool pool = false;
};

/// The parts of |op| (a Conv2dOp or LinearOp).
LayerParts partsOf(mlir::Operation *op);

/// Creates an op like |like| (a Conv2dOp or LinearOp: same attributes and
/// result type) with |parts|, at |builder|'s insertion point.
mlir::Operation *rebuildLayer(mlir::OpBuilder &builder, mlir::Location loc,
                              mlir::Operation *like, const LayerParts &parts);

/// Appends the names of |from|'s fused members (or its own layer) to the
/// `kiln.fused` list of |into|, for --after-fusion reports, and |from|'s
/// location to |into|'s (a FusedLoc of the members' YAML nodes, which the
/// kernel ops keep).
void recordFused(mlir::Operation *into, mlir::Operation *from);

} // namespace kiln

#endif // KILN_COMPILER_GRAPH_TRANSFORMS_LAYERPARTS_H
