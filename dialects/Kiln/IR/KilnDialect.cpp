//===- KilnDialect.cpp - kiln dialect registration -------------------------===//
//
// This file implements the kiln dialect object: registration of its ops and
// attributes, and the verifier of the discardable `kiln.layer` attribute.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln;

#include "dialects/Kiln/IR/KilnDialect.cpp.inc"
#include "dialects/Kiln/IR/KilnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Kiln/IR/KilnAttrs.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kiln/IR/KilnOps.cpp.inc"
      >();
  registerAttributes();
}

void KilnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Kiln/IR/KilnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// LayerAttr
//===----------------------------------------------------------------------===//

LogicalResult LayerAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                StringRef path, StringRef className) {
  if (path.empty() || path.starts_with(".") || path.ends_with(".") ||
      path.contains(".."))
    return emitError() << "layer path '" << path
                       << "' is not a dotted PyTorch module path";
  if (className.empty())
    return emitError() << "layer '" << path << "' has an empty class name";
  return success();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

LogicalResult KilnDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  if (attr.getName() == getLayerAttrName()) {
    if (!isa<LayerAttr>(attr.getValue()))
      return op->emitError() << "'" << getLayerAttrName()
                             << "' must be a #kiln.layer attribute";
    if (!isa<KilnDialect>(op->getDialect()))
      return op->emitError() << "'" << getLayerAttrName()
                             << "' is only valid on kiln ops";
    return success();
  }
  if (attr.getName() == getModelAttrName()) {
    if (!isa<StringAttr>(attr.getValue()))
      return op->emitError() << "'" << getModelAttrName()
                             << "' must be a string";
    return success();
  }
  StringRef name = attr.getName().getValue();
  if (name == getLayoutAttrName()) {
    if (!isa<LayoutAttr>(attr.getValue()) || op->getNumResults() != 1 ||
        cast<ShapedType>(op->getResult(0).getType()).getRank() != 4)
      return op->emitError() << "'" << name
                             << "' must be a #kiln.layout on an op with one "
                                "4-D result";
    return success();
  }
  if (name == getFusedAttrName()) {
    auto list = dyn_cast<ArrayAttr>(attr.getValue());
    if (!list || !llvm::all_of(list, [](Attribute a) { return isa<StringAttr>(a); }))
      return op->emitError() << "'" << name << "' must be a list of strings";
    return success();
  }
  if (name == getOffsetAttrName() || name == getScratchAttrName() ||
      name == getArenaBytesAttrName() ||
      name == getLiveBytesAttrName()) {
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || value.getInt() < 0)
      return op->emitError() << "'" << name
                             << "' must be a non-negative integer";
    return success();
  }
  if (name == getInPlaceAttrName()) {
    if (!isa<UnitAttr>(attr.getValue()) || !isa<ConcatOp, ChannelShuffleOp>(op))
      return op->emitError() << "'" << name
                             << "' marks a kiln.concat or a kiln.channel_shuffle";
    // An in-place shuffle is written by its concat, one input per group.
    if (isa<ChannelShuffleOp>(op)) {
      auto concat = op->getOperand(0).getDefiningOp<ConcatOp>();
      if (!concat || !concat->hasAttr(name) || shuffleOfConcat(concat) != op)
        return op->emitError()
               << "'" << name
               << "' on a kiln.channel_shuffle needs an in-place kiln.concat "
                  "(channels, one input per group, no other reader) as its input";
    }
    return success();
  }
  if (name == getScheduleAttrName() || name == getScheduleSm90aAttrName()) {
    // The sm_90a kernel's schedule has an 8th entry, warpgroups.
    bool sm90a = name == getScheduleSm90aAttrName();
    auto tile = dyn_cast<DenseI32ArrayAttr>(attr.getValue());
    if (!tile || tile.size() != (sm90a ? 8 : 7) ||
        llvm::any_of(tile.asArrayRef(), [](int32_t v) { return v < 1; }) ||
        !isa<Conv2dOp, LinearOp>(op))
      return op->emitError() << "'" << name << "' must be array<i32: bm, bn, bk, warps_m, "
                             << "warps_n, stages, split_k" << (sm90a ? ", warpgroups" : "")
                             << "> (all positive) on a kiln.conv2d or kiln.linear";
    return success();
  }
  if (name == getWinogradAttrName()) {
    auto m = dyn_cast<IntegerAttr>(attr.getValue());
    auto conv = dyn_cast<Conv2dOp>(op);
    if (!m || (m.getInt() != 2 && m.getInt() != 4) || !conv)
      return op->emitError() << "'" << name
                             << "' must be the integer 2 or 4 on a kiln.conv2d";
    auto w = cast<ShapedType>(conv.getWeight().getType()).getShape();
    auto ones = [](ArrayRef<int64_t> v) {
      return llvm::all_of(v, [](int64_t x) { return x == 1; });
    };
    if (w.size() != 4 || w[2] != 3 || w[3] != 3 || !ones(conv.getStride()) ||
        !ones(conv.getDilation()) || conv.getGroups() != 1 || conv.getScale())
      return op->emitError() << "'" << name
                             << "' needs a dense 3x3 convolution with stride "
                                "1, no dilation and no input scale";
    return success();
  }
  if (name == getChainAttrName()) {
    auto conv = dyn_cast<Conv2dOp>(op);
    if (!isa<UnitAttr>(attr.getValue()) || !conv || !convChainAround(conv))
      return op->emitError()
             << "'" << name
             << "' marks a depthwise kiln.conv2d between two 1x1 ones (the "
                "only use of the first's result and the only user of its "
                "own, all with a bias, no input scale, no residual but on "
                "the last)";
    return success();
  }
  if (name == getPrecisionAttrName()) {
    auto p = dyn_cast<StringAttr>(attr.getValue());
    if (!p || !llvm::is_contained(ArrayRef<StringRef>{"fp32", "tf32", "fp16", "bf16"}, p.getValue()) ||
        !isa<func::FuncOp>(op))
      return op->emitError() << "'" << name
                             << "' must be \"fp32\", \"tf32\", \"fp16\" or "
                                "\"bf16\" on the model function";
    return success();
  }
  if (name == getBatchAttrName()) {
    auto n = dyn_cast<IntegerAttr>(attr.getValue());
    if (!n || n.getInt() < 1 || !isa<func::FuncOp>(op))
      return op->emitError() << "'" << name
                             << "' must be a positive integer on the model "
                                "function";
    return success();
  }
  return op->emitError() << "unknown kiln attribute '" << attr.getName()
                         << "'";
}

func::FuncOp kiln::findModelFunc(ModuleOp module) {
  func::FuncOp model;
  module.walk([&](func::FuncOp func) {
    if (func->hasAttr(KilnDialect::getModelAttrName()))
      model = func;
  });
  return model;
}

std::optional<Activation> kiln::activationOf(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<Activation>>(op)
      .Case([](ReluOp) { return Activation::relu; })
      .Case([](Relu6Op) { return Activation::relu6; })
      .Case([](SigmoidOp) { return Activation::sigmoid; })
      .Case([](HardSigmoidOp) { return Activation::hard_sigmoid; })
      .Case([](HardSwishOp) { return Activation::hard_swish; })
      .Case([](SiluOp) { return Activation::silu; })
      .Default([](Operation *) { return std::nullopt; });
}

bool kiln::isChannelConcat(ConcatOp concat) {
  return concat.getDim() == 1 &&
         cast<RankedTensorType>(concat.getType()).getRank() == 4;
}

ChannelShuffleOp kiln::shuffleOfConcat(ConcatOp concat) {
  auto type = cast<RankedTensorType>(concat.getType());
  if (!isChannelConcat(concat) || !concat->hasOneUse())
    return nullptr;
  auto shuffle = dyn_cast<ChannelShuffleOp>(*concat->user_begin());
  if (!shuffle ||
      int64_t(shuffle.getGroups()) != int64_t(concat.getInputs().size()))
    return nullptr;
  int64_t per = type.getDimSize(1) / int64_t(shuffle.getGroups());
  for (Value in : concat.getInputs())
    if (cast<RankedTensorType>(in.getType()).getDimSize(1) != per)
      return nullptr;
  return shuffle;
}

ChannelShuffleOp kiln::inPlaceShuffleOf(ConcatOp concat) {
  ChannelShuffleOp shuffle = shuffleOfConcat(concat);
  return shuffle && shuffle->hasAttr(KilnDialect::getInPlaceAttrName())
             ? shuffle
             : nullptr;
}

namespace {
/// A dense 1x1 convolution with stride 1, no padding and no input scale.
bool isPointwise(Conv2dOp conv) {
  auto w = cast<ShapedType>(conv.getWeight().getType()).getShape();
  auto ones = [](ArrayRef<int64_t> v) {
    return llvm::all_of(v, [](int64_t x) { return x == 1; });
  };
  return w.size() == 4 && w[2] == 1 && w[3] == 1 &&
         conv.getGroups() == 1 && ones(conv.getStride()) &&
         llvm::all_of(conv.getPadding(), [](int64_t p) { return p == 0; }) &&
         !conv.getScale();
}
} // namespace

std::optional<ConvChainOps> kiln::convChainAround(Conv2dOp depthwise) {
  auto w = cast<ShapedType>(depthwise.getWeight().getType()).getShape();
  auto x = cast<ShapedType>(depthwise.getInput().getType()).getShape();
  if (w.size() != 4 || x.size() != 4 || w[1] != 1 ||
      int64_t(depthwise.getGroups()) != x[1] || w[0] != x[1] ||
      depthwise.getResidual() || depthwise.getScale() || !depthwise.getBias())
    return std::nullopt;
  auto expand = depthwise.getInput().getDefiningOp<Conv2dOp>();
  if (!expand || !expand->hasOneUse() || !isPointwise(expand) ||
      expand.getResidual() || !expand.getBias() || !depthwise->hasOneUse())
    return std::nullopt;
  auto project = dyn_cast<Conv2dOp>(*depthwise->user_begin());
  if (!project || project.getInput() != depthwise.getResult() ||
      !isPointwise(project) || !project.getBias())
    return std::nullopt;
  return ConvChainOps{expand, depthwise, project};
}

std::optional<ConvChainOps> kiln::markedConvChainOf(Operation *op) {
  auto conv = dyn_cast<Conv2dOp>(op);
  if (!conv)
    return std::nullopt;
  Conv2dOp depthwise = conv;
  if (!conv->hasAttr(KilnDialect::getChainAttrName())) {
    // The expand (its one user) or the project (its input's producer).
    auto next = conv->hasOneUse() ? dyn_cast<Conv2dOp>(*conv->user_begin())
                                  : Conv2dOp();
    auto prev = conv.getInput().getDefiningOp<Conv2dOp>();
    if (next && next->hasAttr(KilnDialect::getChainAttrName()) &&
        next.getInput() == conv.getResult())
      depthwise = next;
    else if (prev && prev->hasAttr(KilnDialect::getChainAttrName()))
      depthwise = prev;
    else
      return std::nullopt;
  }
  auto chain = convChainAround(depthwise);
  if (!chain || (op != chain->expand && op != chain->depthwise &&
                 op != chain->project))
    return std::nullopt;
  return chain;
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

Dims kiln::shapeOf(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return Dims(s.begin(), s.end());
}

int64_t kiln::numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Dims kiln::rowMajorStrides(ArrayRef<int64_t> shape) {
  Dims strides(shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

Dims kiln::nhwcStrides(ArrayRef<int64_t> s) {
  return {s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]};
}
