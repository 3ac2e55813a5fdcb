//===- GraphQueries.cpp - what passes and targets ask of kiln graphs ------===//
//
// This file implements the queries on kiln graphs that the graph passes, the
// CUDA schedule pass, the code generators and the kernel report share: which
// values are weights, which ops are views, which concat inputs are produced
// in place, and the strides of a planned value's buffer.
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Analysis/GraphQueries.h"

using namespace mlir;
using namespace kiln;

bool kiln::isWeightValue(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (isa<ParamOp>(def))
    return true;
  if (isa<FoldBatchNormWeightOp, FoldBatchNormBiasOp>(def))
    return llvm::all_of(def->getOperands(), isWeightValue);
  return false;
}

Value kiln::throughIdentities(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<IdentityOp, DropoutOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

bool kiln::reshapeCopies(Operation *op) {
  if (!isa<FlattenOp, ReshapeOp>(op))
    return false;
  // Back through the views the input is made of: a transpose, or a slice
  // that is not one block of memory, breaks row-major contiguity.
  Value v = op->getOperand(0);
  while (Operation *def = v.getDefiningOp()) {
    if (isa<TransposeOp>(def))
      return true;
    if (isa<SliceOp, SplitOp, ChunkOp>(def)) {
      int64_t dim = isa<SliceOp>(def)   ? cast<SliceOp>(def).getDim()
                    : isa<SplitOp>(def) ? cast<SplitOp>(def).getDim()
                                        : cast<ChunkOp>(def).getDim();
      int64_t step = isa<SliceOp>(def) ? cast<SliceOp>(def).getStep() : 1;
      ArrayRef<int64_t> in =
          cast<RankedTensorType>(def->getOperand(0).getType()).getShape();
      if (step != 1 || numel(in.take_front(dim)) != 1)
        return true;
    } else if (!isa<IdentityOp, DropoutOp, FlattenOp, ReshapeOp>(def) ||
               reshapeCopies(def)) {
      // A reshape that copies writes a fresh contiguous buffer; other ops
      // (not views) too.
      return false;
    }
    v = def->getOperand(0);
  }
  return false;
}

bool kiln::isViewOp(Operation *op) {
  return isa<IdentityOp, DropoutOp, TransposeOp, SliceOp, SplitOp, ChunkOp>(op) ||
         (isa<FlattenOp, ReshapeOp>(op) && !reshapeCopies(op));
}

/// Calls |f| on each concat that reads |v| directly or through identities,
/// with the operand index.
static void forEachConcatUse(Value v,
                             llvm::function_ref<void(ConcatOp, unsigned)> f) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (isa<IdentityOp, DropoutOp>(user))
      forEachConcatUse(user->getResult(0), f);
    else if (auto concat = dyn_cast<ConcatOp>(user))
      f(concat, use.getOperandNumber());
  }
}

/// Whether |v| and each identity between it and |in| has a single reader.
static bool onlyFeeds(Value v, Value in) {
  for (; v != in; v = (*v.user_begin())->getResult(0))
    if (!v.hasOneUse() || !isa<IdentityOp, DropoutOp>(*v.user_begin()))
      return false;
  return in.hasOneUse();
}

bool kiln::producedInConcat(ConcatOp concat, unsigned i) {
  if (!isChannelConcat(concat))
    return false;
  Value in = concat.getInputs()[i];
  Value produced = throughIdentities(in);
  Operation *def = produced.getDefiningOp();
  if (!def || isViewOp(def) || reshapeCopies(def) || isWeightValue(produced) ||
      isa<ConcatOp>(def) ||
      def->getNumResults() != 1)
    return false;
  // A value read by several channel concats (or twice by one) is produced
  // at its first place in program order; the other places copy it.
  std::pair<ConcatOp, unsigned> first = {nullptr, 0};
  forEachConcatUse(produced, [&](ConcatOp c, unsigned j) {
    if (!isChannelConcat(c))
      return;
    if (!first.first || c->isBeforeInBlock(first.first) ||
        (c == first.first && j < first.second))
      first = {c, j};
  });
  if (first != std::make_pair(concat, i))
    return false;
  if (shuffleOfConcat(concat))
    return isa<Conv2dOp>(def) && onlyFeeds(produced, in);
  return true;
}

/// The in-place concat |v| (or an identity of it) is produced into, and the
/// operand it is.
static std::pair<ConcatOp, unsigned> inPlaceConcatOf(Value v) {
  std::pair<ConcatOp, unsigned> slot = {nullptr, 0};
  forEachConcatUse(v, [&](ConcatOp concat, unsigned i) {
    if (concat->hasAttr(KilnDialect::getInPlaceAttrName()) &&
        producedInConcat(concat, i))
      slot = {concat, i};
  });
  return slot;
}

int64_t kiln::pixelStride(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  Operation *def = v.getDefiningOp();
  if (def && isa<IdentityOp, DropoutOp>(def))
    return pixelStride(def->getOperand(0));
  // Channel views keep their source's pixels.
  if (auto slice = dyn_cast_or_null<SliceOp>(def);
      slice && slice.getDim() == 1 && slice.getStep() == 1)
    return pixelStride(def->getOperand(0));
  if (auto split = dyn_cast_or_null<SplitOp>(def); split && split.getDim() == 1)
    return pixelStride(def->getOperand(0));
  if (auto chunk = dyn_cast_or_null<ChunkOp>(def); chunk && chunk.getDim() == 1)
    return pixelStride(def->getOperand(0));
  if (ConcatOp concat = inPlaceConcatOf(v).first)
    return pixelStride(concat.getResult());
  return type.getRank() == 4 ? type.getDimSize(1) : type.getShape().back();
}

int64_t kiln::channelStep(Value v) {
  if (ConcatOp concat = inPlaceConcatOf(v).first)
    if (ChannelShuffleOp shuffle = inPlaceShuffleOf(concat))
      return shuffle.getGroups();
  return 1;
}
