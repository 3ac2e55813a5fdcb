//===- FuseEpilogues.cpp - residual adds and activations into layers ------===//
//
// This file implements --kiln-fuse-epilogues (see Passes.td). It works
// forward through the function: whenever the single user of a convolution
// or linear layer is an activation or an add it can absorb, the layer is
// rebuilt with that epilogue at the user's position (so every operand is
// computed before it) and the user goes away; the rebuilt layer may absorb
// its own user in turn.
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "compiler/Graph/Transforms/LayerParts.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FUSEEPILOGUESPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

bool isLayer(Operation *op) { return op && isa<Conv2dOp, LinearOp>(op); }

/// Absorbs |user|, the only user of |layer|'s result, if it is an
/// activation or residual add the layer can take. Returns the new layer.
Operation *absorb(Operation *layer, Operation *user) {
  LayerParts parts = partsOf(layer);
  if (parts.activation != Activation::none)
    return nullptr;
  if (auto act = activationOf(user)) {
    parts.activation = *act;
  } else if (auto add = dyn_cast<AddOp>(user)) {
    Value self = layer->getResult(0);
    Value other = add.getLhs() == self ? add.getRhs() : add.getLhs();
    // Same shapes (no broadcast either way), not the layer's result twice,
    // and an activation: a constant tensor is no residual.
    if (parts.residual || other == self || other.getType() != add.getType() ||
        self.getType() != add.getType() || isWeightValue(other))
      return nullptr;
    parts.residual = other;
  } else {
    return nullptr;
  }
  OpBuilder builder(user);
  Operation *fused = rebuildLayer(builder, layer->getLoc(), layer, parts);
  recordFused(fused, layer);
  recordFused(fused, user);
  user->getResult(0).replaceAllUsesWith(fused->getResult(0));
  user->erase();
  layer->erase();
  return fused;
}

/// linear(flatten(adaptive_avg_pool2d(x, [1, 1]))) or linear(mean(x, [2,
/// 3])) → linear(x) pool.
void fusePool(LinearOp linear) {
  LayerParts parts = partsOf(linear);
  if (parts.pool)
    return;
  Operation *def = parts.input.getDefiningOp();
  SmallVector<Operation *> absorbed;
  Value source;
  if (auto flatten = dyn_cast_or_null<FlattenOp>(def)) {
    auto pool = flatten.getInput().getDefiningOp<AdaptiveAvgPool2dOp>();
    if (!pool || pool.getOutputSize() != ArrayRef<int64_t>{1, 1} ||
        flatten.getStartDim() != 1 || flatten.getEndDim() != 3 ||
        !flatten->hasOneUse() || !pool->hasOneUse())
      return;
    source = pool.getInput();
    absorbed = {pool, flatten};
  } else if (auto mean = dyn_cast_or_null<MeanOp>(def)) {
    auto dims = mean.getDims();
    if (mean.getKeepdim() || dims.size() != 2 || !llvm::is_contained(dims, 2) ||
        !llvm::is_contained(dims, 3) || !mean->hasOneUse() ||
        cast<RankedTensorType>(mean.getInput().getType()).getRank() != 4)
      return;
    source = mean.getInput();
    absorbed = {mean};
  } else {
    return;
  }
  parts.input = source;
  parts.pool = true;
  OpBuilder builder(linear);
  Operation *fused = rebuildLayer(builder, linear.getLoc(), linear, parts);
  for (Operation *op : absorbed)
    recordFused(fused, op);
  recordFused(fused, linear);
  linear.replaceAllUsesWith(fused->getResult(0));
  linear.erase();
  for (Operation *op : llvm::reverse(absorbed))
    op->erase();
}

//===----------------------------------------------------------------------===//
// --kiln-fuse-epilogues
//===----------------------------------------------------------------------===//

struct FuseEpiloguesPass : kiln::impl::FuseEpiloguesPassBase<FuseEpiloguesPass> {
  void runOnOperation() override {
    SmallVector<LinearOp> linears;
    getOperation().walk([&](LinearOp l) { linears.push_back(l); });
    for (LinearOp l : linears)
      fusePool(l);

    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (isLayer(op))
        layers.push_back(op);
    });
    for (Operation *layer : layers) {
      // Fuse as far as the chain goes: conv → add → relu.
      while (layer->hasOneUse()) {
        Operation *fused = absorb(layer, *layer->getUsers().begin());
        if (!fused)
          break;
        layer = fused;
      }
    }
    // A residual add of two layers: the later layer absorbed the earlier's
    // result, which is right (it is computed first). Nothing else to do.
  }
};

} // namespace
