//===- OnnxElementwise.cpp - ONNX elementwise ops to kiln ops ---------------===//
//
// This file implements the converters of the elementwise ONNX ops, and the
// patterns exporters write for one PyTorch op: Mul(x, Sigmoid(x)) is SiLU,
// Mul(x, HardSigmoid(x)) is Hardswish, Clip(0, 6) is ReLU6, Clip(0, inf)
// ReLU and other Clips clamp, and a MatMul (or bias-less Conv) then Add of
// a constant is the layer's bias. Other constant operands of Add, Sub, Mul
// and Div are weights of the graph.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxConverters.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace kiln;

namespace kiln::onnx {
//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Add(layer(x), constant): the constant as the bias of a MatMul's or a
/// bias-less Conv's layer when it has one value per output feature and the
/// layer's result has no other reader. Returns nothing when the add is not
/// such a bias.
static std::optional<LogicalResult> tryAddBias(NodeContext &c, size_t layerInput,
                                               const Constant &k) {
  Value v = c.inputs[layerInput].value;
  Operation *def = v.getDefiningOp();
  RankedTensorType type = c.typeOf(v);
  int64_t features = isa_and_nonnull<Conv2dOp>(def) ? type.getDimSize(1)
                                                    : type.getShape().back();
  bool oneReader = consumers(c, c.node.inputs[layerInput]) == 1;
  if (!oneReader || k.numel() != features || !def || !def->use_empty())
    return std::nullopt;
  // The constant must lie along the feature dimension.
  auto linear = dyn_cast<LinearOp>(def);
  auto conv = dyn_cast<Conv2dOp>(def);
  if (linear && !linear.getBias() && !linear.getResidual() &&
      (k.dims.empty() || k.dims.back() == features) &&
      int64_t(k.dims.size()) <= type.getRank()) {
    OpBuilder::InsertionGuard guard(c.builder());
    c.builder().setInsertionPoint(linear);
    Value bias = c.param("bias", {features}, floatsOf(k));
    auto fused = c.create<LinearOp>(
        {linear.getInput(), linear.getWeight(), bias},
        {c.builder().getNamedAttr("operandSegmentSizes",
                                  c.builder().getDenseI32ArrayAttr({1, 1, 1, 0}))});
    if (!fused)
      return failure();
    if (auto layer = linear->getAttr(KilnDialect::getLayerAttrName()))
      fused->setAttr(KilnDialect::getLayerAttrName(), layer);
    linear.getResult().replaceAllUsesWith(fused.getResult());
    linear.erase();
    return produce(c, fused);
  }
  bool perChannel = k.dims.size() >= 3 && k.dims.size() <= 4 &&
                    k.dims[k.dims.size() - 3] == features &&
                    k.dims[k.dims.size() - 1] == 1 && k.dims[k.dims.size() - 2] == 1;
  if (conv && !conv.getBias() && !conv.getResidual() && !conv.getScale() &&
      perChannel) {
    OpBuilder::InsertionGuard guard(c.builder());
    c.builder().setInsertionPoint(conv);
    Value bias = c.param("bias", {features}, floatsOf(k));
    auto fused = c.create<Conv2dOp>(
        {conv.getInput(), conv.getWeight(), bias},
        {c.array("stride", conv.getStride()), c.array("padding", conv.getPadding()),
         c.array("dilation", conv.getDilation()), c.i64("groups", conv.getGroups()),
         c.builder().getNamedAttr("operandSegmentSizes",
                                  c.builder().getDenseI32ArrayAttr({1, 1, 1, 0, 0}))});
    if (!fused)
      return failure();
    if (auto layer = conv->getAttr(KilnDialect::getLayerAttrName()))
      fused->setAttr(KilnDialect::getLayerAttrName(), layer);
    conv.getResult().replaceAllUsesWith(fused.getResult());
    conv.erase();
    return produce(c, fused);
  }
  return std::nullopt;
}

/// A binary op of an activation and a constant (or of two activations):
/// the constant becomes a weight of the graph (NodeContext::constantParam)
/// read by the kiln op in its place.
template <typename OpT>
static LogicalResult binaryWithConstants(NodeContext &c) {
  if (!c.hasInput(0) || !c.hasInput(1)) {
    c.error() << "needs two inputs";
    return failure();
  }
  Value operands[2];
  for (size_t i = 0; i < 2; ++i)
    operands[i] = c.inputs[i].value ? c.inputs[i].value : c.constantParam(i);
  return produce(c, c.create<OpT>({operands[0], operands[1]}), false);
}

LogicalResult convertAdd(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  if (!c.hasInput(0) || !c.hasInput(1)) {
    c.error() << "needs two inputs";
    return failure();
  }
  if (!c.inputs[0].value || !c.inputs[1].value) {
    size_t act = c.inputs[0].value ? 0 : 1;
    if (auto bias = tryAddBias(c, act, *c.inputs[1 - act].constant))
      return *bias;
  }
  return binaryWithConstants<AddOp>(c);
}

LogicalResult convertMul(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  if (!c.hasInput(0) || !c.hasInput(1)) {
    c.error() << "needs two inputs";
    return failure();
  }
  Value a = c.inputs[0].value, b = c.inputs[1].value;
  // x · sigmoid(x) is SiLU; x · hardsigmoid(x) is Hardswish.
  for (auto [x, gate] : {std::pair(a, b), std::pair(b, a)}) {
    Operation *def = gate ? gate.getDefiningOp() : nullptr;
    if (def && def->getOperand(0) == x && isa<SigmoidOp>(def))
      return produce(c, c.create<SiluOp>({x}));
    if (def && def->getOperand(0) == x && isa<HardSigmoidOp>(def))
      return produce(c, c.create<HardSwishOp>({x}));
  }
  return binaryWithConstants<MulOp>(c);
}

LogicalResult convertSubDiv(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  if (c.node.opType == "Sub")
    return binaryWithConstants<SubOp>(c);
  return binaryWithConstants<DivOp>(c);
}

/// LeakyRelu (alpha 0.01) and Elu (alpha 1).
LogicalResult convertScalarParam(NodeContext &c) {
  if (failed(c.expectAttributes({"alpha"})))
    return failure();
  bool leaky = c.node.opType == "LeakyRelu";
  auto x = c.activation(0, "X");
  auto alpha = c.getFloat("alpha", leaky ? 0.01f : 1.0f);
  if (failed(x) || failed(alpha))
    return failure();
  NamedAttribute attr = c.builder().getNamedAttr(
      "alpha", c.builder().getF64FloatAttr(shortestDecimal(*alpha)));
  if (leaky)
    return produce(c, c.create<LeakyReluOp>({*x}, {attr}));
  return produce(c, c.create<EluOp>({*x}, {attr}));
}

LogicalResult convertHardSigmoid(NodeContext &c) {
  if (failed(c.expectAttributes({"alpha", "beta"})))
    return failure();
  auto x = c.activation(0, "X");
  auto alpha = c.getFloat("alpha", 0.2f), beta = c.getFloat("beta", 0.5f);
  if (failed(x) || failed(alpha) || failed(beta))
    return failure();
  // kiln's hard_sigmoid is PyTorch's: relu6(x + 3) / 6.
  if (std::fabs(*alpha - 1.0f / 6) > 1e-6f || std::fabs(*beta - 0.5f) > 1e-6f) {
    c.error() << "alpha = " << *alpha << ", beta = " << *beta
              << " are not supported (kiln's hard_sigmoid is PyTorch's: "
                 "alpha = 1/6, beta = 0.5)";
    return failure();
  }
  return produce(c, c.create<HardSigmoidOp>({*x}));
}

LogicalResult convertClip(NodeContext &c) {
  if (failed(c.expectAttributes({"min", "max"})))
    return failure();
  auto x = c.activation(0, "input");
  if (failed(x))
    return failure();
  // Bounds: attributes before opset 11, optional inputs since.
  float lo = -INFINITY, hi = INFINITY;
  if (c.importer.model.opset < 11) {
    auto a = c.getFloat("min", -INFINITY), b = c.getFloat("max", INFINITY);
    if (failed(a) || failed(b))
      return failure();
    lo = *a;
    hi = *b;
  } else {
    for (int i = 1; i <= 2; ++i) {
      if (!c.hasInput(i))
        continue;
      auto k = c.constant(i, i == 1 ? "min" : "max");
      if (failed(k))
        return failure();
      if ((*k)->numel() != 1) {
        c.error() << "its bound must be a scalar";
        return failure();
      }
      (i == 1 ? lo : hi) = float((*k)->at(0));
    }
  }
  if (std::isnan(lo) || std::isnan(hi)) {
    c.error() << "its bounds must be numbers";
    return failure();
  }
  if (lo == 0 && hi == 6)
    return produce(c, c.create<Relu6Op>({*x}));
  if (lo == 0 && std::isinf(hi) && hi > 0)
    return produce(c, c.create<ReluOp>({*x}));
  if (std::isinf(lo) && lo < 0 && std::isinf(hi) && hi > 0) {
    c.outputs.push_back({*x, nullptr}); // no bounds: the identity
    return success();
  }
  if (lo > hi || (std::isinf(lo) && lo > 0) || (std::isinf(hi) && hi < 0)) {
    c.error() << "Clip to [" << num(lo) << ", " << num(hi)
              << "] is not supported (min must not exceed max)";
    return failure();
  }
  // The bounds as PyTorch wrote them (ONNX stores float32).
  SmallVector<NamedAttribute, 2> bounds;
  if (!std::isinf(lo))
    bounds.push_back(c.builder().getNamedAttr(
        "min", c.builder().getF64FloatAttr(shortestDecimal(lo))));
  if (!std::isinf(hi))
    bounds.push_back(c.builder().getNamedAttr(
        "max", c.builder().getF64FloatAttr(shortestDecimal(hi))));
  return produce(c, c.create<ClampOp>({*x}, bounds));
}

LogicalResult convertDropout(NodeContext &c) {
  if (failed(c.expectAttributes({"ratio", "seed", "is_test"})))
    return failure();
  auto x = c.activation(0, "data");
  auto ratio = c.getFloat("ratio", 0.5f);
  if (failed(x) || failed(ratio))
    return failure();
  double p = *ratio;
  if (c.hasInput(1)) {
    auto k = c.constant(1, "ratio");
    if (failed(k))
      return failure();
    p = (*k)->numel() == 1 ? (*k)->at(0) : 0.5;
  }
  if (c.hasInput(2)) {
    auto k = c.constant(2, "training_mode");
    if (failed(k) || ((*k)->numel() == 1 && (*k)->at(0) != 0)) {
      if (succeeded(k))
        c.error() << "training mode is not supported";
      return failure();
    }
  }
  p = std::clamp(p, 0.0, 0.999999);
  return produce(c, c.create<DropoutOp>(
                        {*x}, {c.builder().getNamedAttr(
                                  "p", c.builder().getF64FloatAttr(p))}));
}

/// Pad: constant padding of the spatial dimensions of an N×C×H×W tensor.
LogicalResult convertPad(NodeContext &c) {
  if (failed(c.expectAttributes({"mode", "pads", "value"})))
    return failure();
  auto x = c.activation(0, "data");
  auto mode = c.getString("mode", "constant");
  auto attrPads = c.getInts("pads", {});
  auto attrValue = c.getFloat("value", 0.0f);
  if (failed(x) || failed(mode) || failed(attrPads) || failed(attrValue))
    return failure();
  auto padsOrInput = intsInputOr(c, 1, "pads", *attrPads);
  if (failed(padsOrInput))
    return failure();
  std::vector<int64_t> pads = *padsOrInput;
  double value = *attrValue;
  if (c.hasInput(2)) {
    auto k = c.constant(2, "constant_value");
    if (failed(k))
      return failure();
    if ((*k)->numel() != 1) {
      c.error() << "constant_value must be a scalar";
      return failure();
    }
    value = (*k)->at(0);
  }
  if (c.hasInput(3)) {
    c.error() << "the axes input is not supported";
    return failure();
  }
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; })) {
    c.outputs.push_back({*x, nullptr});
    return success();
  }
  if (failed(checkRange(c, pads, INT64_MIN, kMaxWindow, "pads")))
    return failure();
  int64_t rank = c.typeOf(*x).getRank();
  // [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; only H and W of 4-D.
  bool spatial = rank == 4 && int64_t(pads.size()) == 2 * rank &&
                 pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0;
  if (*mode != "constant" || !spatial ||
      llvm::any_of(pads, [](int64_t p) { return p < 0; })) {
    c.error() << "padding by " << str(pads) << " (mode '" << *mode
              << "') is not supported: kiln pads the height and width of "
                 "N×C×H×W tensors with a constant";
    return failure();
  }
  return produce(
      c, c.create<PadOp>({*x}, {c.array("pads", {pads[2], pads[3], pads[6], pads[7]}),
                                c.builder().getNamedAttr(
                                    "value", c.builder().getF64FloatAttr(value))}),
      false);
}

LogicalResult convertIdentity(NodeContext &c) {
  if (!c.hasInput(0)) {
    c.error() << "needs an input";
    return failure();
  }
  c.outputs.push_back(c.inputs[0]);
  return success();
}

} // namespace kiln::onnx
