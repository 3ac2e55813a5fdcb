//===- Storage.cpp - where generated code finds a value -------------------===//
//
// This file implements the storage queries of Storage.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Common/Storage.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "compiler/Target/Common/LoopNest.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace kiln;

Dims kiln::shapeOf(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return Dims(s.begin(), s.end());
}

int64_t kiln::numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Dims kiln::nhwcStrides(ArrayRef<int64_t> s) {
  return {s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]};
}

bool kiln::hasStrides(const Storage &s, ArrayRef<int64_t> strides) {
  for (size_t i = 0; i < s.shape.size(); ++i)
    if (s.shape[i] != 1 && s.strides[i] != strides[i])
      return false;
  return true;
}

std::optional<int64_t> kiln::nhwcPixelStride(const Storage &s) {
  if (s.shape.size() != 4)
    return std::nullopt;
  int64_t c = s.shape[1], h = s.shape[2], w = s.shape[3];
  int64_t p = w > 1 ? s.strides[3] : h > 1 ? s.strides[2] / w : c;
  if (p < c || !hasStrides(s, {h * w * p, 1, w * p, p}))
    return std::nullopt;
  return p;
}

std::optional<NhwcOutput> kiln::nhwcOutput(const Storage &s) {
  if (s.shape.size() != 4)
    return std::nullopt;
  int64_t c = s.shape[1], h = s.shape[2], w = s.shape[3];
  int64_t step = c > 1 ? s.strides[1] : 1;
  int64_t p = w > 1 ? s.strides[3] : h > 1 ? s.strides[2] / w : c * step;
  if (step < 1 || p < c * step || !hasStrides(s, {h * w * p, step, w * p, p}))
    return std::nullopt;
  return NhwcOutput{p, step};
}

const char *kiln::activationName(Activation a) {
  switch (a) {
  case Activation::none:
    return "None";
  case Activation::relu:
    return "Relu";
  case Activation::relu6:
    return "Relu6";
  case Activation::sigmoid:
    return "Sigmoid";
  case Activation::hard_sigmoid:
    return "HardSigmoid";
  case Activation::hard_swish:
    return "HardSwish";
  }
  return "None";
}

void kiln::viewStorage(Operation *op, const Storage &x,
                       llvm::DenseMap<Value, Storage> &storage) {
  Storage view = x;
  if (isa<IdentityOp, DropoutOp>(op)) {
    storage[op->getResult(0)] = view;
  } else if (isa<FlattenOp, ReshapeOp>(op)) {
    // Choose-layout made the input contiguous in PyTorch's order.
    view.shape = shapeOf(op->getResult(0));
    view.strides = rowMajorStrides(view.shape);
    storage[op->getResult(0)] = view;
  } else if (auto t = dyn_cast<TransposeOp>(op)) {
    int64_t a = t.getDims()[0], b = t.getDims()[1];
    std::swap(view.shape[a], view.shape[b]);
    std::swap(view.strides[a], view.strides[b]);
    storage[t.getResult()] = view;
  } else {
    int64_t dim = isa<SliceOp>(op)   ? cast<SliceOp>(op).getDim()
                  : isa<SplitOp>(op) ? cast<SplitOp>(op).getDim()
                                     : cast<ChunkOp>(op).getDim();
    int64_t step = isa<SliceOp>(op) ? cast<SliceOp>(op).getStep() : 1;
    int64_t start = isa<SliceOp>(op) ? cast<SliceOp>(op).getStart() : 0;
    for (Value result : op->getResults()) {
      Storage part = x;
      part.shape[dim] = shapeOf(result)[dim];
      part.offset += start * x.strides[dim];
      part.strides[dim] *= step;
      start += part.shape[dim];
      storage[result] = part;
    }
  }
}

Storage kiln::concatSlot(ConcatOp concat, unsigned index, Storage whole) {
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

std::vector<Copy> kiln::concatCopies(ConcatOp concat, const Storage &out,
                                     const DenseMap<Value, Storage> &storage) {
  bool inPlace = concat->hasAttr(KilnDialect::getInPlaceAttrName());
  std::vector<Copy> copies;
  for (auto [i, in] : llvm::enumerate(concat.getInputs()))
    if (!inPlace || !producedInConcat(concat, i))
      copies.push_back({concatSlot(concat, i, out), storage.lookup(in)});
  return copies;
}

std::optional<Copy> kiln::shuffleCopy(ChannelShuffleOp shuffle, Storage src,
                                      Storage out) {
  if (shuffle->hasAttr(KilnDialect::getInPlaceAttrName()))
    return std::nullopt;
  int64_t groups = shuffle.getGroups(), per = src.shape[1] / groups;
  for (Storage *s : {&src, &out}) {
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

std::string kiln::conv2dInit(Conv2dOp op, ArrayRef<int64_t> x, int64_t n,
                             int64_t inStride, int64_t outStride,
                             int64_t outStep) {
  Dims y = shapeOf(op.getResult()), wt = shapeOf(op.getWeight());
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  return llvm::formatv(
             "{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .o = {4}, .kh = {5}, "
             ".kw = {6}, .sh = {7}, .sw = {8}, .ph = {9}, .pw = {10}, "
             ".dh = {11}, .dw = {12}, .groups = {13}, .ho = {14}, .wo = {15}, "
             ".in_stride = {16}, .out_stride = {17}{18}}",
             n, x[2], x[3], x[1], y[1], wt[2], wt[3], s[0], s[1], p[0], p[1],
             d[0], d[1], op.getGroups(), y[2], y[3], inStride, outStride,
             outStep == 1 ? "" : ", .out_step = " + std::to_string(outStep))
      .str();
}

std::string kiln::pool2dInit(Operation *op, int64_t inStride, int64_t outStride) {
  ArrayRef<int64_t> k, s, p;
  SmallVector<int64_t, 2> dilation = {1, 1};
  bool excludePad = false;
  if (auto max = dyn_cast<MaxPool2dOp>(op)) {
    k = max.getKernel();
    s = max.getStride();
    p = max.getPadding();
    dilation.assign(max.getDilation().begin(), max.getDilation().end());
  } else {
    auto avg = cast<AvgPool2dOp>(op);
    k = avg.getKernel();
    s = avg.getStride();
    p = avg.getPadding();
    excludePad = avg.getExcludePad();
  }
  Dims x = shapeOf(op->getOperand(0)), y = shapeOf(op->getResult(0));
  return llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .kh = {4}, "
                       ".kw = {5}, .sh = {6}, .sw = {7}, .ph = {8}, .pw = {9}, "
                       ".dh = {10}, .dw = {11}, .ho = {12}, .wo = {13}, "
                       ".exclude_pad = {14}, .in_stride = {15}, .out_stride = {16}}",
                       x[0], x[2], x[3], x[1], k[0], k[1], s[0], s[1], p[0], p[1],
                       dilation[0], dilation[1], y[2], y[3],
                       excludePad ? "true" : "false", inStride, outStride)
      .str();
}

std::string kiln::adaptivePool2dInit(ArrayRef<int64_t> x, int64_t inStride,
                                     int64_t oh, int64_t ow) {
  return llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .ho = {4}, "
                       ".wo = {5}, .in_stride = {6}, .out_stride = {7}}",
                       x[0], x[2], x[3], x[1], oh, ow, inStride, x[1])
      .str();
}
