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

/// How many elements |copy|'s destination lies from |conv|'s output, if it
/// is that buffer moved by one element: the other group of its shuffle.
std::optional<int64_t> besideOutput(kernel::Conv2dOp conv, BufferAttr dst) {
  BufferAttr out = conv.getOutput();
  int64_t offset = dst.getOffset() - out.getOffset();
  if ((offset != -1 && offset != 1) || dst.getSpace() != out.getSpace() ||
      dst.getByteOffset() != out.getByteOffset() ||
      dst.getElement() != out.getElement() || dst.getShape() != out.getShape() ||
      dst.getStrides() != out.getStrides())
    return std::nullopt;
  return offset;
}

struct FuseShuffleCopiesPass
    : public kiln::impl::FuseShuffleCopiesPassBase<FuseShuffleCopiesPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    SmallVector<std::pair<kernel::Conv2dOp, kernel::ElementwiseOp>> fused;
    getOperation().walk([&](kernel::ElementwiseOp copy) {
      if (copy.getFn() != kernel::ElementwiseFn::copy || copy.getWeight() ||
          copy.getInputs().size() != 1)
        return;
      // Right after the convolution: nothing between reads or writes the
      // buffers whose order changes.
      auto conv = dyn_cast_or_null<kernel::Conv2dOp>(copy->getPrevNode());
      if (!conv || conv.getPassthrough())
        return;
      std::optional<int64_t> offset = besideOutput(conv, copy.getOutput());
      auto src = cast<BufferAttr>(copy.getInputs()[0]);
      if (offset && conv.passthroughProblem(src, *offset).empty())
        fused.push_back({conv, copy});
    });
    for (auto [conv, copy] : fused) {
      conv.setPassthroughAttr(cast<BufferAttr>(copy.getInputs()[0]));
      conv.setPassthroughOffsetAttr(
          b.getI64IntegerAttr(copy.getOutput().getOffset() -
                              conv.getOutput().getOffset()));
      copy.erase();
    }
  }
};

} // namespace
