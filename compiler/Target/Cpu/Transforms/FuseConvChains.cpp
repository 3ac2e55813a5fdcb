//===- FuseConvChains.cpp - 1x1 / depthwise / 1x1 chains as one CPU kernel ===//
//
// This file implements --kiln-fuse-conv-chains (see Passes.td). Which
// windows the fused kernel takes is the kernels' own rule (conv_chain_ok in
// kiln/cpu/layout.h); where fusing pays is measured (docs/cpu-kernels.md).
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/Transforms/Passes.h"

#include "kiln/cpu/layout.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FUSECONVCHAINSPASS
#include "compiler/Target/Cpu/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Chains whose expanded tensor (one image) is smaller than this stay three
/// kernels: it stays in L2 between them anyway, and the layer-wide GEMMs of
/// small images keep both threads busy where a few rows would not.
constexpr int64_t kMinExpandedBytes = 256 * 1024;

bool isNhwc(Operation *op) {
  auto layout = op->getAttrOfType<LayoutAttr>(KilnDialect::getLayoutAttrName());
  return layout && layout.getValue() == Layout::nhwc;
}

/// The kernels' description of the chain (intermediate tensors dense).
cpu::ConvChain describe(ConvChainOps c) {
  auto x = cast<RankedTensorType>(c.expand.getInput().getType()).getShape();
  auto y = cast<RankedTensorType>(c.project.getType()).getShape();
  auto wd = cast<RankedTensorType>(c.depthwise.getWeight().getType()).getShape();
  auto s = c.depthwise.getStride(), p = c.depthwise.getPadding(),
       d = c.depthwise.getDilation();
  int n = int(x[0]), h = int(x[2]), w = int(x[3]), e = int(wd[0]);
  int ho = int(y[2]), wo = int(y[3]);
  return {{n, h, w, int(x[1]), e, 1, 1, 1, 1, 0, 0, 1, 1, 1, h, w, int(x[1]), e},
          {n, h, w, e, e, int(wd[2]), int(wd[3]), int(s[0]), int(s[1]),
           int(p[0]), int(p[1]), int(d[0]), int(d[1]), e, ho, wo, e, e},
          {n, ho, wo, e, int(y[1]), 1, 1, 1, 1, 0, 0, 1, 1, 1, ho, wo, e,
           int(y[1])}};
}

struct FuseConvChainsPass
    : public kiln::impl::FuseConvChainsPassBase<FuseConvChainsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    Builder b(func.getContext());
    StringRef attr = KilnDialect::getChainAttrName();
    func.walk([&](Conv2dOp op) {
      op->removeAttr(attr);
      auto chain = convChainAround(op);
      if (!chain || !isNhwc(chain->expand) || !isNhwc(chain->depthwise) ||
          !isNhwc(chain->project))
        return;
      cpu::ConvChain c = describe(*chain);
      int64_t expanded = int64_t(c.expand.h) * c.expand.w * c.expand.o * 4;
      if (!cpu::conv_chain_ok(c) || expanded < kMinExpandedBytes)
        return;
      op->setAttr(attr, b.getUnitAttr());
    });
  }
};

} // namespace
