//===- FuseShuffleCopies.cpp - a shuffle's copy into its convolution ------===//
//
// This file implements --kiln-fuse-shuffle-copies (see Passes.td). Which
// pass-throughs the kernel takes is the dialect's rule
// (Conv2dOp::passthroughProblem), shared with the verifier; what it saves
// is measured in docs/cpu-kernels.md ("Copies between kernels").
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/SmallVector.h"

namespace kiln {
#define GEN_PASS_DEF_FUSESHUFFLECOPIESPASS
#include "compiler/Target/Cpu/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using kernel::BufferAttr;

namespace {

struct FuseShuffleCopiesPass
    : public kiln::impl::FuseShuffleCopiesPassBase<FuseShuffleCopiesPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    struct Fusion {
      kernel::Conv2dOp conv;
      kernel::ElementwiseOp copy;
      int64_t offset; // of the copy's destination from the output
    };
    SmallVector<Fusion> fused;
    getOperation().walk([&](kernel::ElementwiseOp copy) {
      if (copy.getFn() != kernel::ElementwiseFn::copy || copy.getWeight() ||
          copy.getInputs().size() != 1)
        return;
      // Right after the convolution: nothing between reads or writes the
      // buffers whose order changes.
      auto conv = dyn_cast_or_null<kernel::Conv2dOp>(copy->getPrevNode());
      if (!conv || conv.getPassthrough())
        return;
      // Into the channels beside the output's: the other group.
      BufferAttr dst = copy.getOutput();
      int64_t offset = dst.getOffset() - conv.getOutput().getOffset();
      if ((offset != -1 && offset != 1) ||
          dst != conv.passthroughDestination(offset))
        return;
      auto src = cast<BufferAttr>(copy.getInputs()[0]);
      if (conv.passthroughProblem(src, offset).empty())
        fused.push_back({conv, copy, offset});
    });
    for (Fusion &f : fused) {
      f.conv.setPassthroughAttr(cast<BufferAttr>(f.copy.getInputs()[0]));
      f.conv.setPassthroughOffsetAttr(b.getI64IntegerAttr(f.offset));
      f.copy.erase();
    }
  }
};

} // namespace
