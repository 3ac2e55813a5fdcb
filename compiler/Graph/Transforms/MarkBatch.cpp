//===- MarkBatch.cpp - mark a model whose samples are independent ---------===//
//
// This file implements --kiln-mark-batch (see Passes.td): it follows the
// activations of the model function from its input and sets kiln.batch = N
// when every op keeps the batch dimension first and computes each sample
// from the same sample of its operands. The code generators then pass the
// batch to the kernels at run time (ModelInfo::flexible_batch).
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_MARKBATCHPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

int64_t rankOf(Value v) { return cast<ShapedType>(v.getType()).getRank(); }

/// Whether dimension |d| of a rank-|rank| tensor (negative counting from
/// the end) is the batch dimension.
bool isBatchDim(int64_t d, int64_t rank) { return d == 0 || d == -rank; }

/// Whether |op|, which reads an activation, computes each sample of its
/// results from the same sample of its activation operands alone, as far as
/// its kind and attributes tell (the shapes are checked by the caller).
bool perSample(Operation *op, const llvm::DenseSet<Value> &activations) {
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case<Conv2dOp, BatchNormOp, LinearOp, SqueezeExciteGateOp,
            ConvertLayoutOp, ReluOp, Relu6Op, SigmoidOp, HardSigmoidOp,
            HardSwishOp, SiluOp, IdentityOp, TanhOp, LeakyReluOp, EluOp,
            DropoutOp, MaxPool2dOp, AvgPool2dOp, AdaptiveAvgPool2dOp,
            ChannelShuffleOp, PadOp, ReshapeOp, FlattenOp, func::ReturnOp>(
          [](Operation *) { return true; })
      .Case<AddOp, MulOp, SubOp, DivOp>([&](Operation *binary) {
        // Broadcasting aligns from the right: an activation of lower rank
        // would meet the batch with another of its dimensions.
        int64_t rank = rankOf(binary->getResult(0));
        return llvm::all_of(binary->getOperands(), [&](Value v) {
          return !activations.contains(v) || rankOf(v) == rank;
        });
      })
      .Case([](MeanOp mean) {
        int64_t rank = rankOf(mean.getInput());
        return llvm::none_of(mean.getDims(),
                             [&](int64_t d) { return isBatchDim(d, rank); });
      })
      .Case([](TransposeOp t) {
        int64_t rank = rankOf(t.getInput());
        return llvm::none_of(t.getDims(),
                             [&](int64_t d) { return isBatchDim(d, rank); });
      })
      .Case([](ConcatOp c) {
        return !isBatchDim(c.getDim(), rankOf(c.getResult()));
      })
      .Case([](SliceOp s) {
        return !isBatchDim(s.getDim(), rankOf(s.getInput()));
      })
      .Case([](SplitOp s) {
        return !isBatchDim(s.getDim(), rankOf(s.getInput()));
      })
      .Case([](ChunkOp c) {
        return !isBatchDim(c.getDim(), rankOf(c.getInput()));
      })
      .Default([](Operation *) { return false; });
}

struct MarkBatchPass : kiln::impl::MarkBatchPassBase<MarkBatchPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!func->hasAttr(KilnDialect::getModelAttrName()) ||
        func.getNumArguments() != 1 || func.isExternal())
      return;
    func->removeAttr(KilnDialect::getBatchAttrName());
    Value input = func.getArgument(0);
    auto type = dyn_cast<RankedTensorType>(input.getType());
    if (!type || type.getRank() < 1)
      return;
    int64_t batch = type.getDimSize(0);
    llvm::DenseSet<Value> activations = {input};
    auto batched = [&](Value v) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      return t && t.getRank() >= 1 && t.getDimSize(0) == batch;
    };
    WalkResult walk = func.getBody().front().walk([&](Operation *op) {
      // Weights and what is computed from weights alone do not count.
      if (llvm::none_of(op->getOperands(),
                        [&](Value v) { return activations.contains(v); }))
        return WalkResult::advance();
      if (!perSample(op, activations))
        return WalkResult::interrupt();
      for (Value result : op->getResults()) {
        if (!batched(result))
          return WalkResult::interrupt();
        activations.insert(result);
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return;
    func->setAttr(KilnDialect::getBatchAttrName(),
                  IntegerAttr::get(IntegerType::get(&getContext(), 64), batch));
  }
};

} // namespace
