//===- ChooseLayout.cpp - channels-last inside, NCHW at the boundary ------===//
//
// This file implements --kiln-choose-layout (see Passes.td).
//
// Algorithm:
//   1. Every op that computes a 4-D tensor (not a view, not a weight) gets
//      kiln.layout = nhwc.
//   2. Each value then has a memory order: the model input is NCHW, a
//      computed tensor has its op's layout, a view of a tensor has the
//      order of its source, restricted: a channel slice of NHWC data is
//      still usable by kernels (they take a pixel stride), but not by code
//      that needs the PyTorch order; other views are neither.
//   3. Where a consumer needs an order its operand does not have, a
//      kiln.convert_layout is inserted before it (once per value and
//      order).
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_CHOOSELAYOUTPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// How a value lies in memory, as far as its consumers care.
enum class Order {
  RowMajor,     ///< PyTorch's order, contiguous
  Nhwc,         ///< channels-last, contiguous
  NhwcChannels, ///< a channel slice of channels-last data
  Other,        ///< strided some other way
};

bool isFourD(Value v) { return cast<RankedTensorType>(v.getType()).getRank() == 4; }

/// Whether NHWC and PyTorch order coincide for |v| (e.g. N×C×1×1).
bool orderIrrelevant(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getRank() != 4)
    return true;
  return t.getDimSize(2) * t.getDimSize(3) == 1 || t.getDimSize(1) == 1;
}

Order orderOf(Value v) {
  Operation *def = v.getDefiningOp();
  // The model input and tensors of other ranks are in PyTorch's order.
  if (!def || !isFourD(v))
    return Order::RowMajor;
  if (auto convert = dyn_cast<ConvertLayoutOp>(def))
    return convert.getLayout() == Layout::nhwc ? Order::Nhwc : Order::RowMajor;
  if (auto layout = def->getAttrOfType<LayoutAttr>(KilnDialect::getLayoutAttrName()))
    return layout.getValue() == Layout::nhwc ? Order::Nhwc : Order::RowMajor;
  if (isa<IdentityOp, DropoutOp>(def))
    return orderOf(def->getOperand(0));
  if (isa<SliceOp, SplitOp, ChunkOp>(def)) {
    Order source = orderOf(def->getOperand(0));
    int64_t dim = isa<SliceOp>(def)   ? cast<SliceOp>(def).getDim()
                  : isa<SplitOp>(def) ? cast<SplitOp>(def).getDim()
                                      : cast<ChunkOp>(def).getDim();
    bool everything = v.getType() == def->getOperand(0).getType();
    if (everything)
      return source;
    if (dim == 1 && (source == Order::Nhwc || source == Order::NhwcChannels))
      return Order::NhwcChannels;
    return Order::Other;
  }
  if (isa<FlattenOp, ReshapeOp>(def))
    return Order::RowMajor; // Emitted on row-major data (see below).
  return Order::Other;
}

/// Kernels read NHWC (a channel slice will do).
bool readsNhwc(Operation *user, unsigned operand) {
  if (auto conv = dyn_cast<Conv2dOp>(user))
    return operand == 0 || Value(conv.getResidual()) == user->getOperand(operand);
  if (auto linear = dyn_cast<LinearOp>(user))
    return linear.getPool() && operand == 0;
  return isa<MaxPool2dOp, AvgPool2dOp, AdaptiveAvgPool2dOp,
             SqueezeExciteGateOp>(user) &&
         operand == 0;
}

/// Flatten, reshape, a linear layer and the model's output need 4-D data
/// in PyTorch's order.
bool readsRowMajor(Operation *user, unsigned operand) {
  if (isa<FlattenOp, ReshapeOp, func::ReturnOp>(user))
    return true;
  if (auto linear = dyn_cast<LinearOp>(user))
    return !linear.getPool() && operand == 0;
  return false;
}

//===----------------------------------------------------------------------===//
// --kiln-choose-layout
//===----------------------------------------------------------------------===//

struct ChooseLayoutPass : kiln::impl::ChooseLayoutPassBase<ChooseLayoutPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    // 1. Computed 4-D tensors are channels-last.
    func.walk([&](Operation *op) {
      if (op->getNumResults() == 1 && isFourD(op->getResult(0)) &&
          !isViewOp(op) && !reshapeCopies(op) &&
          !isa<ConvertLayoutOp, ParamOp>(op) &&
          !isWeightValue(op->getResult(0)))
        op->setAttr(KilnDialect::getLayoutAttrName(),
                    LayoutAttr::get(ctx, Layout::nhwc));
    });
    // 2-3. Conversions where a consumer needs another order.
    llvm::DenseMap<std::pair<Value, int>, Value> converted;
    SmallVector<std::pair<OpOperand *, Layout>> fixes;
    func.walk([&](Operation *user) {
      for (OpOperand &use : user->getOpOperands()) {
        Value v = use.get();
        if (!isFourD(v) || isWeightValue(v))
          continue;
        Order order = orderOf(v);
        unsigned i = use.getOperandNumber();
        if (readsNhwc(user, i) && order != Order::Nhwc &&
            order != Order::NhwcChannels)
          fixes.push_back({&use, Layout::nhwc});
        else if (readsRowMajor(user, i) && order != Order::RowMajor &&
                 !(order == Order::Nhwc && orderIrrelevant(v)))
          fixes.push_back({&use, Layout::nchw});
      }
    });
    for (auto [use, layout] : fixes) {
      Value v = use->get();
      Value &copy = converted[{v, int(layout)}];
      if (!copy) {
        OpBuilder builder(ctx);
        builder.setInsertionPointAfterValue(v);
        copy = builder.create<ConvertLayoutOp>(v.getLoc(), v.getType(), v,
                                               LayoutAttr::get(ctx, layout));
      }
      use->set(copy);
    }
  }
};

} // namespace
