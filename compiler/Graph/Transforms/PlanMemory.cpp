//===- PlanMemory.cpp - one arena for all activations ---------------------===//
//
// This file implements --kiln-plan-memory (see Passes.td).
//
// Algorithm:
//   1. Number the ops of the function body in program order.
//   2. Map every activation value to the buffer it lives in: a computing op
//      owns a new buffer; a view lives in its source's buffer; an input
//      produced in an in-place concat lives in the concat's buffer, and so
//      does an in-place channel shuffle of it; an elementwise op
//      whose same-shaped operand dies at it reuses that operand's buffer.
//      The model output, when a computing op produces it and it is not 4-D,
//      goes straight to the caller's output and gets no buffer.
//   3. A buffer lives from the first op that writes it to the last op that
//      reads any value in it (a convolution chain marked kiln.chain reads its
//      input at its last layer, where the CPU computes it).
//      A buffer holds numel * activation-bytes bytes (4 or 2), except the
//      fp32 ones of every plan: the SE gate and the scratch of the ops below.
//   4. Place buffers from the largest to the smallest, each at the lowest
//      64-byte aligned offset that does not overlap a placed buffer live at
//      the same time. Temporary memory of an op is a buffer live at that op
//      only.
//   5. Write kiln.offset / kiln.scratch on ops, kiln.arena_bytes and
//      kiln.live_bytes (the largest sum of buffers live at one op) on the
//      function.
//
//===----------------------------------------------------------------------===//

#include "compiler/Graph/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"

#include "mlir/IR/Builders.h"

#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "compiler/Graph/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// |elements| of |elementBytes| each, rounded up to 64 bytes.
int64_t alignedBytes(int64_t elements, int64_t elementBytes) {
  return (elements * elementBytes + 63) / 64 * 64;
}

int64_t numel(Type t) { return cast<RankedTensorType>(t).getNumElements(); }

struct Buffer {
  int64_t bytes;
  int first, last;
  int64_t offset = 0;
  /// Where to record the offset: the owning op (kiln.offset), or for
  /// temporary memory the op that uses it (kiln.scratch).
  Operation *owner;
  bool scratch = false;
};

/// Elementwise ops that may write over an operand of their own shape: the
/// activations, adds, multiplies and batch norms.
bool isElementwise(Operation *op) {
  return activationOf(op).has_value() || isa<AddOp, MulOp, BatchNormOp>(op);
}

//===----------------------------------------------------------------------===//
// --kiln-plan-memory
//===----------------------------------------------------------------------===//

struct PlanMemoryPass : kiln::impl::PlanMemoryPassBase<PlanMemoryPass> {
  using PlanMemoryPassBase::PlanMemoryPassBase;
  void runOnOperation() override;
};

void PlanMemoryPass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (activationBytes != 4 && activationBytes != 2) {
    func.emitError() << "--kiln-plan-memory: activation-bytes must be 4 or 2, not "
                     << int(activationBytes);
    return signalPassFailure();
  }
  const int64_t act = activationBytes;
  // The bytes of |op|'s result: fp32 for the SE gate, else activations.
  auto resultBytes = [&](Operation *op) {
    return alignedBytes(numel(op->getResult(0).getType()),
                        isa<SqueezeExciteGateOp>(op) ? 4 : act);
  };
  Block &body = func.getBody().front();
  // 1. Program order.
  llvm::DenseMap<Operation *, int> position;
  for (Operation &op : body)
    position[&op] = int(position.size());
  // Where a use happens: the first layer of a marked convolution chain
  // (markedConvChainOf) reads its input when the CPU runs the chain, at the
  // chain's last layer.
  auto usedAt = [&](Operation *user) {
    if (auto chain = markedConvChainOf(user); chain && user == chain->expand)
      return position[chain->project];
    return position[user];
  };

  // 2. Buffers of values.
  std::vector<Buffer> buffers;
  llvm::DenseMap<Value, int> bufferOf;
  // An in-place concat's buffer holds the inputs produced there from the
  // first one on (the concat copies the others in), and is the buffer of
  // the channel shuffle it is written shuffled for.
  SmallVector<Operation *> inPlace;
  body.walk([&](ConcatOp concat) {
    if (!concat->hasAttr(KilnDialect::getInPlaceAttrName()))
      return;
    buffers.push_back({resultBytes(concat), position[concat], position[concat], 0,
                       concat});
    bufferOf[concat.getResult()] = int(buffers.size()) - 1;
    for (auto [i, in] : llvm::enumerate(concat.getInputs())) {
      if (!producedInConcat(concat, i))
        continue;
      Value produced = throughIdentities(in);
      bufferOf[produced] = int(buffers.size()) - 1;
      buffers.back().first =
          std::min(buffers.back().first, position[produced.getDefiningOp()]);
    }
    if (ChannelShuffleOp shuffle = inPlaceShuffleOf(concat)) {
      bufferOf[shuffle.getResult()] = int(buffers.size()) - 1;
      inPlace.push_back(shuffle);
    }
  });
  auto returned = cast<func::ReturnOp>(body.getTerminator()).getOperand(0);
  for (Operation &op : body) {
    if (isa<ParamOp, func::ReturnOp>(op) || isWeightValue(op.getResult(0)))
      continue;
    int at = position[&op];
    if (isViewOp(&op)) {
      for (Value r : op.getResults())
        if (auto it = bufferOf.find(op.getOperand(0)); it != bufferOf.end())
          bufferOf[r] = it->second;
      continue;
    }
    Value result = op.getResult(0);
    if (bufferOf.count(result))
      continue; // An in-place concat or one of its inputs.
    if (result == returned &&
        cast<RankedTensorType>(result.getType()).getRank() != 4)
      continue; // Written to the caller's output.
    if (isElementwise(&op)) {
      // Reuse an operand's buffer if this op is its last reader, the buffer
      // holds nothing else the op reads (through a view that maps indices
      // differently), and it is not a slot of a concat.
      for (Value operand : op.getOperands()) {
        auto it = bufferOf.find(operand);
        if (it == bufferOf.end() || operand.getType() != result.getType() ||
            !operand.getDefiningOp() ||
            operand.getDefiningOp()->getAttr(KilnDialect::getLayoutAttrName()) !=
                op.getAttr(KilnDialect::getLayoutAttrName()) ||
            isViewOp(operand.getDefiningOp()) ||
            isa<ConcatOp>(buffers[it->second].owner))
          continue;
        bool shared = llvm::any_of(op.getOperands(), [&](Value other) {
          auto o = bufferOf.find(other);
          return other != operand && o != bufferOf.end() && o->second == it->second;
        });
        if (shared)
          continue;
        bool dies = llvm::all_of(operand.getUsers(), [&](Operation *user) {
          return usedAt(user) <= at;
        });
        // Every other value in that buffer must be dead too.
        bool alone = llvm::all_of(bufferOf, [&](auto &entry) {
          return entry.second != it->second ||
                 llvm::all_of(entry.first.getUsers(), [&](Operation *user) {
                   return usedAt(user) <= at;
                 });
        });
        if (dies && alone) {
          bufferOf[result] = it->second;
          inPlace.push_back(&op);
          break;
        }
      }
      if (bufferOf.count(result))
        continue;
    }
    buffers.push_back({resultBytes(&op), at, at, 0, &op});
    bufferOf[result] = int(buffers.size()) - 1;
  }

  // Temporary memory: fp32 weights and gates, activation-typed vectors.
  for (Operation &op : body) {
    int64_t floats = 0, elementBytes = 4;
    if (auto conv = dyn_cast<Conv2dOp>(op); conv && conv.getScale()) {
      // Weights scaled per sample: at most the packed size of any kernel
      // layout (output channels rounded up to 64 per group).
      auto w = cast<RankedTensorType>(conv.getWeight().getType());
      int64_t perGroup = w.getDimSize(0) / conv.getGroups();
      floats = conv.getGroups() * ((perGroup + 63) / 64 * 64) * w.getDimSize(1) *
               w.getDimSize(2) * w.getDimSize(3);
    } else if (auto linear = dyn_cast<LinearOp>(op); linear && linear.getPool()) {
      auto x = cast<RankedTensorType>(linear.getInput().getType());
      floats = x.getDimSize(0) * x.getDimSize(1);
      elementBytes = act; // the pooled activations
    } else if (auto gate = dyn_cast<SqueezeExciteGateOp>(op)) {
      auto x = cast<RankedTensorType>(gate.getInput().getType());
      auto w1 = cast<RankedTensorType>(gate.getReduceWeight().getType());
      floats = x.getDimSize(0) * (x.getDimSize(1) + w1.getDimSize(0));
    }
    if (floats) {
      int at = position[&op];
      buffers.push_back({alignedBytes(floats, elementBytes), at, at, 0, &op, true});
    }
  }

  // 3. Live ranges.
  for (auto &[value, id] : bufferOf)
    for (Operation *user : value.getUsers())
      buffers[id].last = std::max(buffers[id].last, usedAt(user));

  // 4. Placement, largest buffers first (TFLite's "greedy by size"): big
  // buffers pack against each other and small ones fill the gaps.
  std::vector<int> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (buffers[a].bytes != buffers[b].bytes)
      return buffers[a].bytes > buffers[b].bytes;
    return buffers[a].first < buffers[b].first;
  });
  std::vector<int> placed;
  int64_t arena = 0;
  for (int id : order) {
    Buffer &buf = buffers[id];
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int other : placed) {
      const Buffer &o = buffers[other];
      if (o.last >= buf.first && o.first <= buf.last)
        busy.push_back({o.offset, o.offset + o.bytes});
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + buf.bytes <= begin)
        break;
      offset = std::max(offset, end);
    }
    buf.offset = offset;
    arena = std::max(arena, offset + buf.bytes);
    placed.push_back(id);
  }

  // 5. Record the plan.
  Builder b(&getContext());
  int64_t live = 0;
  for (int t = 0; t < int(position.size()); ++t) {
    int64_t sum = 0;
    for (const Buffer &buf : buffers)
      if (buf.first <= t && t <= buf.last)
        sum += buf.bytes;
    live = std::max(live, sum);
  }
  for (const Buffer &buf : buffers)
    buf.owner->setAttr(buf.scratch ? KilnDialect::getScratchAttrName()
                                   : KilnDialect::getOffsetAttrName(),
                       b.getI64IntegerAttr(buf.offset));
  // Ops writing over an operand record that operand's offset.
  for (Operation *op : inPlace)
    op->setAttr(KilnDialect::getOffsetAttrName(),
                b.getI64IntegerAttr(buffers[bufferOf[op->getResult(0)]].offset));
  func->setAttr(KilnDialect::getArenaBytesAttrName(), b.getI64IntegerAttr(arena));
  func->setAttr(KilnDialect::getLiveBytesAttrName(), b.getI64IntegerAttr(live));
}

} // namespace
