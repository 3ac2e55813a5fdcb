//===- EliminateConcat.cpp - produce concat inputs in place ---------------===//
//
// This file implements --kiln-eliminate-concat (see Passes.td). The pass
// only decides and marks; which inputs are produced in place is
// producedInConcat's rule (Graph/Analysis/GraphQueries.cpp), so that
// plan-memory, the code generators and the kernel report agree.
// Plan-memory gives those inputs their slices of the concat's buffer, and
// the code generators make the producers write there (kernels take an
// output pixel stride and a channel step, so a channel slice of an NHWC
// buffer, or every g-th channel of a shuffled one, is an ordinary
// destination).
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"

namespace kiln {
#define GEN_PASS_DEF_ELIMINATECONCATPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

//===----------------------------------------------------------------------===//
// --kiln-eliminate-concat
//===----------------------------------------------------------------------===//

struct EliminateConcatPass
    : kiln::impl::EliminateConcatPassBase<EliminateConcatPass> {
  void runOnOperation() override {
    UnitAttr inPlace = UnitAttr::get(&getContext());
    getOperation().walk([&](ConcatOp concat) {
      if (!isChannelConcat(concat))
        return;
      // A concat that only feeds a channel shuffle of one group per input
      // is written shuffled into the shuffle's buffer; whatever is not
      // produced there is copied there by the concat: one strided copy
      // instead of a concat and a shuffle.
      if (ChannelShuffleOp shuffle = shuffleOfConcat(concat)) {
        concat->setAttr(KilnDialect::getInPlaceAttrName(), inPlace);
        shuffle->setAttr(KilnDialect::getInPlaceAttrName(), inPlace);
        return;
      }
      for (unsigned i = 0, e = concat.getInputs().size(); i < e; ++i)
        if (producedInConcat(concat, i)) {
          concat->setAttr(KilnDialect::getInPlaceAttrName(), inPlace);
          return;
        }
    });
  }
};

} // namespace
