//===- CheckLimits.cpp - refuse tensors the kernels cannot index ----------===//
//
// This file implements --kiln-check-limits (see Passes.td): the first model
// input, parameter or op result (in program order) whose rank or element
// count the kernels cannot describe is an error at its location, the YAML
// line of the input's shape or of the layer.
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "kiln/kernel_types.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

namespace kiln {
#define GEN_PASS_DEF_CHECKLIMITSPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// 1x3x224x224, as the report writes shapes.
std::string shapeText(RankedTensorType type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(type.getShape(), os, "x");
  return text;
}

/// What the error calls |value|: "the model input", "parameter 'fc.weight'",
/// "'layer1.0.conv1' (conv2d)" or "kiln.concat".
std::string describe(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op)
    return "the model input";
  if (auto param = dyn_cast<ParamOp>(op))
    return ("parameter '" + param.getName() + "'").str();
  if (auto layer = op->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName()))
    return ("'" + layer.getPath() + "' (" +
            op->getName().stripDialect() + ")").str();
  return op->getName().getStringRef().str();
}

/// Emits the error for |value| of |type| if it is over a limit.
LogicalResult check(Value value, RankedTensorType type) {
  int64_t rank = type.getRank();
  if (rank > kernel::kMaxRank)
    return emitError(value.getLoc())
           << describe(value) << " has rank " << rank << " (" << shapeText(type)
           << "); kiln's tensors have at most " << kernel::kMaxRank
           << " dimensions";
  // Shapes are static and positive (the ops' verifiers); a product past
  // int64 is over the limit too.
  int64_t elements = 1;
  bool overflow = false;
  for (int64_t d : type.getShape())
    overflow |= __builtin_mul_overflow(elements, d, &elements);
  if (overflow || elements > kernel::kMaxTensorElements)
    return emitError(value.getLoc())
           << describe(value) << " is a " << shapeText(type) << " tensor of "
           << (overflow ? std::string("more than 2^63")
                        : llvm::formatv("{0:N}", elements).str())
           << " elements; kiln's kernels index a tensor with 32-bit integers, "
              "so it may have at most "
           << llvm::formatv("{0:N}", kernel::kMaxTensorElements).str()
           << (isa<BlockArgument>(value) ? " (use a smaller batch or input size)"
               : isa<ParamOp>(value.getDefiningOp())
                   ? " (make the layer smaller)"
                   : " (use a smaller batch or input size, or a smaller layer)");
  return success();
}

struct CheckLimitsPass : kiln::impl::CheckLimitsPassBase<CheckLimitsPass> {
  void runOnOperation() override {
    auto checkValue = [](Value value) {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      return !type || succeeded(check(value, type));
    };
    for (BlockArgument arg : getOperation().getArguments())
      if (!checkValue(arg))
        return signalPassFailure();
    WalkResult walk = getOperation().walk([&](Operation *op) {
      for (Value result : op->getResults())
        if (!checkValue(result))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
