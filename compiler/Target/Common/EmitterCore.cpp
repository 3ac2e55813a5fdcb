//===- EmitterCore.cpp - what the CPU and CUDA code generators share ------===//
//
// This file implements the target-independent walk of EmitterCore.h:
// storage, constants, prepared weights, views, concats, channel shuffles,
// batch norms, means and elementwise ops, and the dispatch of kernels to
// the target's printers.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Common/EmitterCore.h"

#include "compiler/Graph/Transforms/Passes.h"
#include "compiler/Target/Common/LoopNest.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace kiln;

std::optional<std::string> kiln::elementwiseExpr(Operation *op,
                                                 const ScalarTable &t) {
  auto max0 = [&](const std::string &v) {
    return std::string(t.max) + "(" + v + ", 0.0f)";
  };
  auto relu6 = [&](const std::string &v) {
    return std::string(t.min) + "(" + max0(v) + ", 6.0f)";
  };
  return llvm::TypeSwitch<Operation *, std::optional<std::string>>(op)
      .Case([&](AddOp) { return "in0 + in1"; })
      .Case([&](MulOp) { return "in0 * in1"; })
      .Case([&](ReluOp) { return max0("in0"); })
      .Case([&](Relu6Op) { return relu6("in0"); })
      .Case([&](SigmoidOp) {
        return "1.0f / (1.0f + " + std::string(t.exp) + "(-in0))";
      })
      .Case([&](HardSigmoidOp) { return relu6("in0 + 3.0f") + " / 6.0f"; })
      .Case([&](HardSwishOp) {
        return "in0 * " + relu6("in0 + 3.0f") + " / 6.0f";
      })
      .Default([](Operation *) { return std::nullopt; });
}

//===----------------------------------------------------------------------===//
// Storage
//===----------------------------------------------------------------------===//

FailureOr<Storage> EmitterCore::resultStorage(Operation *op, ElementType type) {
  Value result = op->getResult(0);
  Dims shape = shapeOf(result);
  bool nhwc = false;
  if (auto layout = op->getAttrOfType<LayoutAttr>(KilnDialect::getLayoutAttrName()))
    nhwc = layout.getValue() == Layout::nhwc;
  if (auto convert = dyn_cast<ConvertLayoutOp>(op))
    nhwc = convert.getLayout() == Layout::nhwc;
  // An input of an in-place concat is a slice of the concat's buffer.
  if (auto it = producedSlots.find(result); it != producedSlots.end()) {
    auto [concat, index] = it->second;
    auto offset = concat->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName());
    if (!offset)
      return op->emitError("the in-place concat has no planned offset");
    return concatSlot(concat, index,
                      arenaAt(offset.getInt(), shapeOf(concat.getResult()),
                              /*nhwc=*/true, type));
  }
  if (auto offset = op->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName()))
    return arenaAt(offset.getInt(), shape, nhwc, type);
  // The plan sends a non-4-D model output straight to the caller.
  if (result.hasOneUse() && isa<func::ReturnOp>(*result.getUsers().begin()) &&
      shape.size() != 4)
    return directOutput(shape, type);
  return op->emitError() << "the " << targetName
                         << " target needs planned IR (no kiln.offset on this "
                            "op; run --kiln-plan-memory)";
}

FailureOr<std::pair<Storage, int64_t>> EmitterCore::kernelInput(Operation *op,
                                                                Value v) {
  Storage s = activation(storage.lookup(v));
  auto stride = nhwcPixelStride(s);
  if (!stride)
    return op->emitError("operand is not a channels-last activation "
                         "(choose-layout should have converted it)");
  return std::make_pair(s, *stride);
}

//===----------------------------------------------------------------------===//
// Constants and prepared weights
//===----------------------------------------------------------------------===//

std::string EmitterCore::constant(StringRef type, const std::string &init) {
  std::string text = type.str() + init;
  auto it = constantNames.find(text);
  if (it != constantNames.end())
    return it->second;
  std::string name = "k" + type.str() + std::to_string(constants.size());
  constants.push_back("constexpr " + constantPrefix.str() + type.str() + " " +
                      name + init + ";");
  return constantNames[text] = name;
}

std::string EmitterCore::addPrepared(
    std::string size, llvm::function_ref<std::string(StringRef)> fill,
    std::optional<PreparedItem::Pack> pack) {
  std::string dst = "(w + kP" + std::to_string(prepared.size()) + ")";
  prepared.push_back({std::move(size), fill(dst), std::move(pack)});
  return dst;
}

FailureOr<std::string> EmitterCore::vector(Operation *op, Value v) {
  auto data = weightCode.data(op, v);
  if (failed(data))
    return failure();
  int64_t n = numel(shapeOf(v));
  std::string dst = addPrepared(floatsSize(n), [&](StringRef p) {
    return "  std::copy_n(" + *data + ", " + std::to_string(n) + ", " +
           asFloats(p, /*isConst=*/false) + ");\n";
  });
  return asFloats(dst, /*isConst=*/true);
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult EmitterCore::emitBody(Block &body) {
  producedSlots = collectConcatSlots(body);
  Storage input;
  input.base = "input";
  input.shape = shapeOf(body.getArgument(0));
  input.strides = rowMajorStrides(input.shape);
  storage[body.getArgument(0)] = input;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      // Unless its producer wrote it there, copy the output in PyTorch order.
      Storage result = storage.lookup(ret.getOperand(0));
      if (result.base != "output") {
        Storage out;
        out.base = "output";
        out.shape = result.shape;
        out.strides = rowMajorStrides(out.shape);
        emitElementwise(out, {result}, "in0");
        steps.push_back(std::move(run));
        run.clear();
      }
      break;
    }
    if (failed(emitOp(&op)))
      return failure();
    if (!run.empty()) {
      steps.push_back(std::move(run));
      run.clear();
    }
  }
  return success();
}

LogicalResult EmitterCore::emitConvertLayout(ConvertLayoutOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  emitElementwise(*out, {storage.lookup(op.getInput())}, "in0");
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult EmitterCore::emitOp(Operation *op) {
  if (isa<ParamOp, FoldBatchNormWeightOp, FoldBatchNormBiasOp>(op))
    return success(); // Weights: the prepare step reads them on demand.
  if (isViewOp(op)) {
    viewStorage(op, storage.lookup(op->getOperand(0)), storage);
    return success();
  }
  if (auto convert = dyn_cast<ConvertLayoutOp>(op))
    return emitConvertLayout(convert);
  if (std::optional<std::string> expr = elementwiseExpr(op, scalars)) {
    auto out = resultStorage(op);
    if (failed(out))
      return failure();
    SmallVector<Storage, 2> ins;
    for (Value operand : op->getOperands())
      ins.push_back(storage.lookup(operand));
    emitElementwise(*out, ins, *expr);
    storage[op->getResult(0)] = *out;
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](Conv2dOp c) { return emitConv(c); })
      .Case([&](LinearOp l) { return emitLinear(l); })
      .Case([&](SqueezeExciteGateOp g) { return emitSeGate(g); })
      .Case([&](BatchNormOp b) { return emitBatchNorm(b); })
      .Case<MaxPool2dOp, AvgPool2dOp>([&](Operation *) { return emitPool(op); })
      .Case([&](AdaptiveAvgPool2dOp a) {
        return emitAdaptivePool(a, a.getInput(), a.getOutputSize()[0],
                                a.getOutputSize()[1]);
      })
      .Case([&](MeanOp m) { return emitMean(m); })
      .Case([&](ConcatOp c) { return emitConcat(c); })
      .Case([&](ChannelShuffleOp c) { return emitChannelShuffle(c); })
      .Default([&](Operation *) {
        return op->emitError() << "the " << targetName << " target cannot compile '"
                               << op->getName() << "'";
      });
}

LogicalResult EmitterCore::emitBatchNorm(BatchNormOp op) {
  // Unfused inference batch norm is a per-channel affine map x · s + t with
  // s = weight / sqrt(var + eps), t = bias - mean · s, prepared in double.
  Value stats[4] = {op.getWeight(), op.getBias(), op.getMean(), op.getVar()};
  std::string data[4];
  for (int i = 0; i < 4; ++i) {
    auto d = weightCode.data(op, stats[i]);
    if (failed(d))
      return failure();
    data[i] = *d;
  }
  Storage x = storage.lookup(op.getInput());
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  int64_t c = x.shape[1];
  std::string affine = addPrepared(floatsSize(2 * c), [&](StringRef p) {
    std::string f = asFloats(p, /*isConst=*/false);
    return llvm::formatv(
               "  for (int64_t c = 0; c < {0}; ++c) {{\n"
               "    double s = double({1}[c]) / std::sqrt(double({4}[c]) + {5});\n"
               "    {6}[c] = float(s);\n"
               "    {6}[{0} + c] = float(double({2}[c]) - double({3}[c]) * s);\n"
               "  }\n",
               c, data[0], data[1], data[2], data[3],
               llvm::format("%.17g", op.getEpsilon().convertToDouble()), f)
        .str();
  });
  // Scale and shift broadcast along every dimension but the channels.
  auto perChannel = [&](int64_t offset) {
    Storage s;
    s.base = asFloats(affine, /*isConst=*/true);
    s.offset = offset;
    s.shape.assign(x.shape.size(), 1);
    s.shape[1] = c;
    s.strides.assign(x.shape.size(), 0);
    s.strides[1] = 1;
    return s;
  };
  emitElementwise(*out, {x, perChannel(0), perChannel(c)}, "in0 * in1 + in2");
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult EmitterCore::emitMean(MeanOp op) {
  ArrayRef<int64_t> dims = op.getDims();
  Storage x = storage.lookup(op.getInput());
  if (x.shape.size() == 4 && dims.size() == 2 && llvm::is_contained(dims, 2) &&
      llvm::is_contained(dims, 3) && nhwcPixelStride(x) && poolsMean(x))
    return emitAdaptivePool(op, op.getInput(), 1, 1);
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  int64_t count = 1;
  for (int64_t d : dims)
    count *= x.shape[d];
  emitReduce(*out, x, dims, op.getKeepdim(), 1.0 / double(count));
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult EmitterCore::emitConcat(ConcatOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  storage[op.getResult()] = *out;
  for (const Copy &copy : concatCopies(op, *out, storage))
    emitElementwise(copy.dst, {copy.src}, "in0");
  return success();
}

LogicalResult EmitterCore::emitChannelShuffle(ChannelShuffleOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  storage[op.getResult()] = *out;
  if (auto copy = shuffleCopy(op, storage.lookup(op.getInput()), *out))
    emitElementwise(copy->dst, {copy->src}, "in0");
  return success();
}
