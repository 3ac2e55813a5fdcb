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

/// Whether |v| is computed from weights alone (params and weight
/// transforms): the prepare step evaluates such values once.
bool isWeightValue(mlir::Value v);

/// The value |v| is an identity or dropout (chain) of, or |v| itself.
mlir::Value throughIdentities(mlir::Value v);

/// Whether |op| only reinterprets its input's memory (no code runs).
bool isViewOp(mlir::Operation *op);

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
/// `kiln.fused` list of |into|, for --after-fusion reports.
void recordFused(mlir::Operation *into, mlir::Operation *from);

/// Whether input |i| of |concat| (dim 1, 4-D) can be computed straight
/// into its channels of the concat's buffer: a kernel computes it (not a
/// view, a weight, the model input or another concat), and this is the
/// first place it has in a channel concat (in program order; the others
/// copy it). Into a shuffled concat (shuffleOfConcat) only a convolution
/// with no other reader writes (its channels are then strided). The other
/// inputs an in-place concat copies.
bool producedInConcat(ConcatOp concat, unsigned i);

/// Elements between consecutive pixels of the channels-last 4-D value |v|
/// once planned: its channel count, or, for a channel slice of a wider
/// buffer (a channel view, or an input of an in-place concat), the
/// buffer's.
int64_t pixelStride(mlir::Value v);

/// Elements between consecutive channels of the 4-D value |v| once
/// planned: the shuffle's groups for an input produced into an in-place
/// shuffled concat, else 1.
int64_t channelStep(mlir::Value v);

} // namespace kiln

#endif // KILN_COMPILER_GRAPH_TRANSFORMS_PASSES_H
