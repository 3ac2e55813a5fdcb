//===- FoldBatchNorm.cpp - fold batch norms into conv/linear weights ------===//
//
// This file implements --kiln-fold-batch-norm (see Passes.td). Inference
// batch norm is a per-channel affine map, y = x · s + (β − μ · s) with
// s = γ / sqrt(σ² + ε), so after a convolution or linear layer it folds into
// that layer's weights (scaled per output channel) and bias. The folding is
// IR (weight transforms), not arithmetic done here: the weights are only
// known when the executable loads them.
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "compiler/Graph/Transforms/LayerParts.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FOLDBATCHNORMPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Returns the conv or linear layer whose result |bn| normalizes, if the
/// batch norm can fold into it.
Operation *foldableProducer(BatchNormOp bn) {
  Operation *producer = bn.getInput().getDefiningOp();
  if (!producer || !isa<Conv2dOp, LinearOp>(producer) ||
      !producer->hasOneUse())
    return nullptr;
  LayerParts parts = partsOf(producer);
  // The affine map must directly follow the layer's sum.
  if (parts.residual || parts.activation != Activation::none)
    return nullptr;
  // BatchNorm1d normalizes dimension 1, a linear layer its last dimension.
  if (isa<LinearOp>(producer) &&
      cast<RankedTensorType>(bn.getType()).getRank() != 2)
    return nullptr;
  Value stats[] = {bn.getWeight(), bn.getBias(), bn.getMean(), bn.getVar(),
                   parts.weight};
  if (!llvm::all_of(stats, isWeightValue) ||
      (parts.bias && !isWeightValue(parts.bias)))
    return nullptr;
  return producer;
}

//===----------------------------------------------------------------------===//
// --kiln-fold-batch-norm
//===----------------------------------------------------------------------===//

struct FoldBatchNormPass : kiln::impl::FoldBatchNormPassBase<FoldBatchNormPass> {
  void runOnOperation() override {
    SmallVector<BatchNormOp> norms;
    getOperation().walk([&](BatchNormOp bn) { norms.push_back(bn); });
    for (BatchNormOp bn : norms) {
      Operation *producer = foldableProducer(bn);
      if (!producer)
        continue;
      OpBuilder builder(bn);
      Location loc = bn.getLoc();
      LayerParts parts = partsOf(producer);
      FloatAttr eps = bn.getEpsilonAttr();
      parts.weight = builder.create<FoldBatchNormWeightOp>(
          loc, parts.weight.getType(), parts.weight, bn.getWeight(),
          bn.getVar(), eps);
      parts.bias = builder.create<FoldBatchNormBiasOp>(
          loc, bn.getWeight().getType(), bn.getWeight(), bn.getBias(),
          bn.getMean(), bn.getVar(), parts.bias, eps);
      Operation *folded = rebuildLayer(builder, producer->getLoc(), producer, parts);
      recordFused(folded, producer);
      recordFused(folded, bn);
      bn.replaceAllUsesWith(folded->getResult(0));
      bn.erase();
      producer->erase();
    }
  }
};

} // namespace
