//===- EliminateConcat.cpp - produce concat inputs in place ---------------===//
//
// This file implements --kiln-eliminate-concat (see Passes.td). The pass
// only decides and marks; plan-memory gives the inputs their slices of the
// concat's buffer, and the code generators make the producers write there
// (kernels take an output pixel stride, so a channel slice of an NHWC
// buffer is an ordinary destination).
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "llvm/ADT/SmallPtrSet.h"

namespace kiln {
#define GEN_PASS_DEF_ELIMINATECONCATPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Whether |v| is computed into a buffer of its own by an op that can write
/// it anywhere instead (a kernel or loop nest, not a view or a weight).
bool producedByKernel(Value v) {
  Operation *def = v.getDefiningOp();
  return def && !isViewOp(def) && !isWeightValue(v) && !isa<ConcatOp>(def) &&
         def->getNumResults() == 1;
}

//===----------------------------------------------------------------------===//
// --kiln-eliminate-concat
//===----------------------------------------------------------------------===//

struct EliminateConcatPass
    : kiln::impl::EliminateConcatPassBase<EliminateConcatPass> {
  void runOnOperation() override {
    llvm::SmallPtrSet<Value, 16> placed;
    getOperation().walk([&](ConcatOp concat) {
      if (concat.getDim() != 1 ||
          cast<RankedTensorType>(concat.getType()).getRank() != 4)
        return;
      // An identity (GhostModule's empty nn.Sequential) passes its
      // producer's buffer through: that producer writes into the slice.
      llvm::SmallPtrSet<Value, 4> seen;
      for (Value in : concat.getInputs()) {
        Value produced = throughIdentities(in);
        if (!producedByKernel(produced) || placed.contains(produced) ||
            !seen.insert(produced).second)
          return;
      }
      placed.insert(seen.begin(), seen.end());
      concat->setAttr(KilnDialect::getInPlaceAttrName(),
                      UnitAttr::get(&getContext()));
    });
  }
};

} // namespace
