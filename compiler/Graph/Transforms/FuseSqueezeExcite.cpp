//===- FuseSqueezeExcite.cpp - SE blocks as a gate and a scaled conv ------===//
//
// This file implements --kiln-fuse-squeeze-excite (see Passes.td). It
// matches, from the multiply back to the pooling:
//
//   %p = adaptive_avg_pool2d %x [1, 1]          (or mean keepdim)
//   %r = conv2d %p, %w1 bias %b1 [activation a] (1x1, groups 1)
//   %a = act %r                                 (unless fused already)
//   %e = conv2d %a, %w2 bias %b2                (1x1, groups 1)
//   %g = gate %e                                (sigmoid or hard_sigmoid)
//   %y = mul %x, %g
//
// and replaces it with %gate = se_gate(%x, ...) : N×C. If %y's only user is
// a convolution, the multiply becomes its input `scale`; otherwise %y =
// mul(%x, reshape(%gate)) remains (two kernels either way, not five).
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "compiler/Graph/Transforms/LayerParts.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FUSESQUEEZEEXCITEPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// A 1x1, ungrouped convolution with a bias to a 1x1 output (the pooled
/// vector's dense layer), with nothing fused but possibly an activation.
bool isPointwiseWithBias(Conv2dOp conv) {
  if (!conv)
    return false;
  auto w = cast<RankedTensorType>(conv.getWeight().getType());
  auto y = cast<RankedTensorType>(conv.getType());
  return y.getDimSize(2) == 1 && y.getDimSize(3) == 1 && conv.getBias() && !conv.getResidual() && !conv.getScale() &&
         conv.getGroups() == 1 && w.getDimSize(2) == 1 && w.getDimSize(3) == 1 &&
         isWeightValue(conv.getWeight()) && isWeightValue(conv.getBias()) &&
         conv->hasOneUse();
}

/// Peels an activation op off |v| (the pass runs before epilogue fusion,
/// so activations are still ops). Returns the value below it and sets |act|.
Value peelActivation(Value v, Activation &act) {
  Operation *def = v.getDefiningOp();
  if (!def || !def->hasOneUse())
    return v;
  std::optional<Activation> a = activationOf(def);
  if (!a)
    return v;
  act = *a;
  return def->getOperand(0);
}

struct Match {
  Value x;
  Conv2dOp reduce, expand;
  Activation act = Activation::none, gate = Activation::none;
  SmallVector<Operation *> dead; // ops to erase, users first
};

std::optional<Match> match(MulOp mul) {
  for (int side = 0; side < 2; ++side) {
    Match m;
    m.x = mul->getOperand(side);
    Value gated = mul->getOperand(1 - side);
    auto x = cast<RankedTensorType>(m.x.getType());
    if (x.getRank() != 4 || mul.getType() != x)
      continue;
    Operation *gateOp = gated.getDefiningOp();
    Value e = peelActivation(gated, m.gate);
    if (m.gate != Activation::sigmoid && m.gate != Activation::hard_sigmoid)
      continue;
    m.expand = e.getDefiningOp<Conv2dOp>();
    if (!m.expand || !isPointwiseWithBias(m.expand) ||
        m.expand.getActivation() != Activation::none)
      continue;
    Operation *actOp = m.expand.getInput().getDefiningOp();
    Value r = peelActivation(m.expand.getInput(), m.act);
    m.reduce = r.getDefiningOp<Conv2dOp>();
    if (!m.reduce || !isPointwiseWithBias(m.reduce))
      continue;
    if (m.act == Activation::none)
      m.act = m.reduce.getActivation();
    else if (m.reduce.getActivation() != Activation::none)
      continue;
    Operation *pool = m.reduce.getInput().getDefiningOp();
    bool pooled = false;
    if (auto p = dyn_cast_or_null<AdaptiveAvgPool2dOp>(pool))
      pooled = p.getInput() == m.x && p.getOutputSize() == ArrayRef<int64_t>{1, 1};
    else if (auto p = dyn_cast_or_null<MeanOp>(pool))
      pooled = p.getInput() == m.x && p.getKeepdim() &&
               p.getDims().size() == 2 && llvm::is_contained(p.getDims(), 2) &&
               llvm::is_contained(p.getDims(), 3);
    if (!pooled || !pool->hasOneUse())
      continue;
    // Users before what they use.
    m.dead.append({gateOp, m.expand});
    if (actOp != m.reduce.getOperation())
      m.dead.push_back(actOp);
    m.dead.append({m.reduce, pool});
    return m;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// --kiln-fuse-squeeze-excite
//===----------------------------------------------------------------------===//

struct FuseSqueezeExcitePass
    : kiln::impl::FuseSqueezeExcitePassBase<FuseSqueezeExcitePass> {
  void runOnOperation() override {
    SmallVector<MulOp> muls;
    getOperation().walk([&](MulOp mul) { muls.push_back(mul); });
    for (MulOp mul : muls) {
      std::optional<Match> m = match(mul);
      if (!m)
        continue;
      OpBuilder builder(mul);
      Location loc = mul.getLoc();
      auto x = cast<RankedTensorType>(m->x.getType());
      auto gateType = RankedTensorType::get({x.getDimSize(0), x.getDimSize(1)},
                                            x.getElementType());
      auto gate = builder.create<SqueezeExciteGateOp>(
          loc, gateType, m->x, m->reduce.getWeight(), m->reduce.getBias(),
          m->expand.getWeight(), m->expand.getBias(),
          ActivationAttr::get(&getContext(), m->act),
          ActivationAttr::get(&getContext(), m->gate));
      for (Operation *op : llvm::reverse(m->dead))
        recordFused(gate, op);

      // The multiply: into the consuming convolution, or kept.
      auto consumer = mul->hasOneUse()
                          ? dyn_cast<Conv2dOp>(*mul->getUsers().begin())
                          : Conv2dOp();
      // A dense convolution can scale its weights per sample instead.
      if (consumer && consumer.getInput() == mul.getResult() &&
          !consumer.getScale() && consumer.getGroups() == 1) {
        OpBuilder at(consumer);
        LayerParts parts = partsOf(consumer);
        parts.input = m->x;
        parts.scale = gate.getResult();
        Operation *scaled = rebuildLayer(at, consumer.getLoc(), consumer, parts);
        recordFused(scaled, mul);
        recordFused(scaled, consumer);
        consumer.replaceAllUsesWith(scaled->getResult(0));
        consumer.erase();
        mul.erase();
      } else {
        SmallVector<int64_t> shape = {x.getDimSize(0), x.getDimSize(1), 1, 1};
        auto reshaped = builder.create<ReshapeOp>(
            loc, RankedTensorType::get(shape, x.getElementType()), gate,
            builder.getDenseI64ArrayAttr(shape));
        mul->setOperands({m->x, reshaped.getResult()});
      }
      for (Operation *op : m->dead)
        op->erase();
    }
  }
};

} // namespace
