//===- LayerParts.cpp - taking layers apart and rebuilding them -----------===//
//
// This file implements the helpers of the fusion passes (fold-batch-norm,
// fuse-squeeze-excite, fuse-epilogues) that take a convolution or linear
// layer apart, rebuild it with other parts, and record which layers the
// rebuilt op fuses.
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/LayerParts.h"

using namespace mlir;
using namespace kiln;

void kiln::recordFused(Operation *into, Operation *from) {
  SmallVector<Attribute> names;
  if (auto list = into->getAttrOfType<ArrayAttr>(KilnDialect::getFusedAttrName()))
    names.append(list.begin(), list.end());
  Builder b(into->getContext());
  if (auto list = from->getAttrOfType<ArrayAttr>(KilnDialect::getFusedAttrName()))
    names.append(list.begin(), list.end());
  else if (auto layer = from->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName()))
    names.push_back(b.getStringAttr(layer.getPath()));
  else
    names.push_back(b.getStringAttr(from->getName().stripDialect()));
  into->setAttr(KilnDialect::getFusedAttrName(), b.getArrayAttr(names));
  // The fused op stands for the YAML nodes of all its members (FusedLoc
  // flattens and drops repeats); a diagnostic shows the first, the layer.
  into->setLoc(FusedLoc::get(into->getContext(), {into->getLoc(), from->getLoc()}));
}

LayerParts kiln::partsOf(Operation *op) {
  LayerParts p;
  if (auto conv = dyn_cast<Conv2dOp>(op)) {
    p.input = conv.getInput();
    p.weight = conv.getWeight();
    p.bias = conv.getBias();
    p.residual = conv.getResidual();
    p.scale = conv.getScale();
    p.activation = conv.getActivation();
    return p;
  }
  auto linear = cast<LinearOp>(op);
  p.input = linear.getInput();
  p.weight = linear.getWeight();
  p.bias = linear.getBias();
  p.residual = linear.getResidual();
  p.pool = linear.getPool();
  p.activation = linear.getActivation();
  return p;
}

Operation *kiln::rebuildLayer(OpBuilder &builder, Location loc, Operation *like,
                              const LayerParts &p) {
  OperationState state(loc, like->getName());
  state.addOperands({p.input, p.weight});
  SmallVector<int32_t> segments = {1, 1};
  SmallVector<Value, 3> optionals = {p.bias, p.residual};
  if (isa<Conv2dOp>(like))
    optionals.push_back(p.scale);
  for (Value optional : optionals) {
    segments.push_back(optional ? 1 : 0);
    if (optional)
      state.addOperands(optional);
  }
  // Keep the attributes (shape parameters, layer, fused members), then set
  // the epilogue.
  // Keep the layer and plan attributes; callers record the fused members.
  for (NamedAttribute attr : like->getDiscardableAttrs())
    if (attr.getName() != KilnDialect::getFusedAttrName())
      state.addAttribute(attr.getName(), attr.getValue());
  if (auto conv = dyn_cast<Conv2dOp>(like)) {
    state.addAttribute("stride", conv.getStrideAttr());
    state.addAttribute("padding", conv.getPaddingAttr());
    state.addAttribute("dilation", conv.getDilationAttr());
    state.addAttribute("groups", conv.getGroupsAttr());
  }
  if (p.activation != Activation::none)
    state.addAttribute("activation",
                       ActivationAttr::get(builder.getContext(), p.activation));
  if (p.pool)
    state.addAttribute("pool", builder.getUnitAttr());
  state.addAttribute("operandSegmentSizes",
                     builder.getDenseI32ArrayAttr(segments));
  state.addTypes(like->getResultTypes());
  return builder.create(state);
}
