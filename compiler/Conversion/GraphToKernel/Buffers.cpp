//===- Buffers.cpp - where the graph's values live at kernel level --------===//
//
// This file implements the buffer queries of Buffers.h: views, concat slots
// and the copies that assemble concats and channel shuffles.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToKernel/Buffers.h"

#include "compiler/Graph/Analysis/GraphQueries.h"

using namespace mlir;
using namespace kiln;
using kernel::BufferAttr;
using kernel::ElementKind;
using kernel::MemorySpace;

Buffer Buffer::dense(MemorySpace space, int64_t byteOffset,
                     ArrayRef<int64_t> shape, bool nhwc, ElementKind element) {
  Buffer b;
  b.space = space;
  b.byteOffset = byteOffset;
  b.element = element;
  b.shape.assign(shape.begin(), shape.end());
  b.strides = nhwc ? nhwcStrides(shape) : rowMajorStrides(shape);
  return b;
}

BufferAttr Buffer::attr(MLIRContext *context) const {
  return BufferAttr::get(context, space, byteOffset, offset, element, shape,
                         strides);
}

void kiln::viewBuffers(Operation *op, const Buffer &x,
                       llvm::DenseMap<Value, Buffer> &buffers) {
  Buffer view = x;
  if (isa<IdentityOp, DropoutOp>(op)) {
    buffers[op->getResult(0)] = view;
  } else if (isa<FlattenOp, ReshapeOp>(op)) {
    // Choose-layout made the input contiguous in PyTorch's order.
    view.shape = shapeOf(op->getResult(0));
    view.strides = rowMajorStrides(view.shape);
    buffers[op->getResult(0)] = view;
  } else if (auto t = dyn_cast<TransposeOp>(op)) {
    int64_t a = t.getDims()[0], b = t.getDims()[1];
    std::swap(view.shape[a], view.shape[b]);
    std::swap(view.strides[a], view.strides[b]);
    buffers[t.getResult()] = view;
  } else {
    int64_t dim = isa<SliceOp>(op)   ? cast<SliceOp>(op).getDim()
                  : isa<SplitOp>(op) ? cast<SplitOp>(op).getDim()
                                     : cast<ChunkOp>(op).getDim();
    int64_t step = isa<SliceOp>(op) ? cast<SliceOp>(op).getStep() : 1;
    int64_t start = isa<SliceOp>(op) ? cast<SliceOp>(op).getStart() : 0;
    for (Value result : op->getResults()) {
      Buffer part = x;
      part.shape[dim] = shapeOf(result)[dim];
      part.offset += start * x.strides[dim];
      part.strides[dim] *= step;
      start += part.shape[dim];
      buffers[result] = part;
    }
  }
}

Buffer kiln::concatSlot(ConcatOp concat, unsigned index, Buffer whole) {
  int64_t dim = concat.getDim();
  whole.shape[dim] = shapeOf(concat.getInputs()[index])[dim];
  if (ChannelShuffleOp shuffle = inPlaceShuffleOf(concat)) {
    whole.offset += index * whole.strides[1];
    whole.strides[1] *= shuffle.getGroups();
    return whole;
  }
  for (Value before : concat.getInputs().take_front(index))
    whole.offset += shapeOf(before)[dim] * whole.strides[dim];
  return whole;
}

std::vector<Copy> kiln::concatCopies(ConcatOp concat, const Buffer &out,
                                     const DenseMap<Value, Buffer> &buffers) {
  bool inPlace = concat->hasAttr(KilnDialect::getInPlaceAttrName());
  std::vector<Copy> copies;
  for (auto [i, in] : llvm::enumerate(concat.getInputs()))
    if (!inPlace || !producedInConcat(concat, i))
      copies.push_back({concatSlot(concat, i, out), buffers.lookup(in)});
  return copies;
}

std::optional<Copy> kiln::shuffleCopy(ChannelShuffleOp shuffle, Buffer src,
                                      Buffer out) {
  if (shuffle->hasAttr(KilnDialect::getInPlaceAttrName()))
    return std::nullopt;
  int64_t groups = shuffle.getGroups(), per = src.shape[1] / groups;
  for (Buffer *s : {&src, &out}) {
    int64_t cs = s->strides[1];
    s->shape.erase(s->shape.begin() + 1);
    s->strides.erase(s->strides.begin() + 1);
    s->shape.insert(s->shape.begin() + 1, {per, groups});
    if (s == &src)
      s->strides.insert(s->strides.begin() + 1, {cs, cs * per});
    else
      s->strides.insert(s->strides.begin() + 1, {cs * groups, cs});
  }
  return Copy{out, src};
}

ConcatSlots kiln::collectConcatSlots(Block &body) {
  ConcatSlots slots;
  body.walk([&](ConcatOp concat) {
    if (!concat->hasAttr(KilnDialect::getInPlaceAttrName()))
      return;
    for (auto [i, in] : llvm::enumerate(concat.getInputs()))
      if (producedInConcat(concat, i))
        slots[throughIdentities(in)] = {concat, unsigned(i)};
  });
  return slots;
}
