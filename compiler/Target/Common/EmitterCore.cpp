//===- EmitterCore.cpp - what the CPU and CUDA code generators share ------===//
//
// This file implements the target-independent walk of EmitterCore.h over a
// kernel-level function: constants, prepared weights, elementwise kernels,
// batch norms and reductions, and the dispatch of the other kernels to the
// target's printers.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Common/EmitterCore.h"

#include "dialects/Kiln/IR/KilnDialect.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace kiln;

std::string kiln::activationExpr(Activation act, StringRef x,
                                 const ScalarTable &t) {
  auto max0 = [&](const std::string &v) {
    return std::string(t.max) + "(" + v + ", 0.0f)";
  };
  auto relu6 = [&](const std::string &v) {
    return std::string(t.min) + "(" + max0(v) + ", 6.0f)";
  };
  std::string v = x.str();
  switch (act) {
  case Activation::none:
    return v;
  case Activation::relu:
    return max0(v);
  case Activation::relu6:
    return relu6(v);
  case Activation::sigmoid:
    return "1.0f / (1.0f + " + std::string(t.exp) + "(-" + v + "))";
  case Activation::hard_sigmoid:
    return relu6(v + " + 3.0f") + " / 6.0f";
  case Activation::hard_swish:
    return v + " * " + relu6(v + " + 3.0f") + " / 6.0f";
  case Activation::silu:
    return v + " / (1.0f + " + std::string(t.exp) + "(-" + v + "))";
  }
  return v;
}

std::string kiln::elementwiseExpr(kernel::ElementwiseOp op,
                                  const ScalarTable &t) {
  switch (op.getFn()) {
  case kernel::ElementwiseFn::zero:
    return "0.0f";
  case kernel::ElementwiseFn::copy:
    return "in0";
  case kernel::ElementwiseFn::add:
    return "in0 + in1";
  case kernel::ElementwiseFn::mul:
    return "in0 * in1";
  case kernel::ElementwiseFn::activation:
    return activationExpr(*op.getActivation(), "in0", t);
  case kernel::ElementwiseFn::sub:
    return "in0 - in1";
  case kernel::ElementwiseFn::div:
    return "in0 / in1";
  case kernel::ElementwiseFn::tanh:
    // 1 - 2 / (1 + e^2x): +-1 where e^2x overflows or vanishes.
    return "1.0f - 2.0f / (1.0f + " + std::string(t.exp) + "(2.0f * in0))";
  case kernel::ElementwiseFn::leaky_relu:
    return "(in0 > 0.0f ? in0 : " + floatLiteral(op.getAlpha()->convertToDouble()) + " * in0)";
  case kernel::ElementwiseFn::elu:
    return "(in0 > 0.0f ? in0 : " + floatLiteral(op.getAlpha()->convertToDouble()) + " * (" +
           std::string(t.exp) + "(in0) - 1.0f))";
  case kernel::ElementwiseFn::fill:
    return floatLiteral(op.getAlpha()->convertToDouble());
  case kernel::ElementwiseFn::clamp: {
    std::string v = "in0";
    if (op.getAlpha())
      v = std::string(t.max) + "(" + v + ", " +
          floatLiteral(op.getAlpha()->convertToDouble()) + ")";
    if (op.getBeta())
      v = std::string(t.min) + "(" + v + ", " +
          floatLiteral(op.getBeta()->convertToDouble()) + ")";
    return v;
  }
  }
  return "in0";
}

//===----------------------------------------------------------------------===//
// The batch
//===----------------------------------------------------------------------===//

void EmitterCore::initBatch() {
  auto input = func.getNumArguments()
                   ? dyn_cast<ShapedType>(func.getArgument(0).getType())
                   : ShapedType();
  batchN = input && input.getRank() ? input.getDimSize(0) : 1;
  flexible = bool(func->getAttr(KilnDialect::getBatchAttrName()));
}

std::string EmitterCore::rows(int64_t total) {
  if (!runtimeBatch())
    return std::to_string(total);
  if (total % batchN != 0) {
    batchFailure = func;
    return std::to_string(total);
  }
  int64_t per = total / batchN;
  return per == 1 ? "batch" : "(" + std::to_string(per) + " * batch)";
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
// Kernels
//===----------------------------------------------------------------------===//

/// The layer |op| computes, for profiles: the state_dict prefix of its first
/// weight ("layer1.0.conv1"), else its kind and source line ("elementwise@
/// resnet50.yaml:42").
static std::string stepName(Operation *op) {
  for (Value operand : op->getOperands()) {
    // Through the weight transforms (batch-norm folds) to a parameter.
    Operation *def = operand.getDefiningOp();
    while (def && !isa<ParamOp>(def) && def->getNumOperands() > 0)
      def = def->getOperand(0).getDefiningOp();
    if (auto param = dyn_cast_or_null<ParamOp>(def)) {
      StringRef name = param.getName();
      name.consume_back(".weight");
      return name.str();
    }
  }
  std::string name = op->getName().stripDialect().str();
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    name += "@" + llvm::sys::path::filename(loc.getFilename().getValue()).str() +
            ":" + std::to_string(loc.getLine());
  return name;
}

LogicalResult EmitterCore::emitBody(Block &body) {
  for (Operation &op : body) {
    if (isa<func::ReturnOp>(op))
      break;
    if (failed(emitOp(&op)))
      return failure();
    if (!run.empty()) {
      steps.push_back(std::move(run));
      stepNames.push_back(stepName(&op));
      run.clear();
    }
  }
  return success();
}

LogicalResult EmitterCore::emitPadChannels(kernel::PadChannelsOp op) {
  return op.emitError() << "the " << targetName
                        << " target has no channel-padding kernel";
}

LogicalResult EmitterCore::emitConvChain(kernel::ConvChainOp op) {
  return op.emitError() << "the " << targetName
                        << " target has no convolution-chain kernel";
}

LogicalResult EmitterCore::emitOp(Operation *op) {
  if (isa<ParamOp, FoldBatchNormWeightOp, FoldBatchNormBiasOp>(op))
    return success(); // Weights: the prepare step reads them on demand.
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](kernel::ElementwiseOp e) {
        SmallVector<Storage, 3> ins;
        for (Attribute in : e.getInputs())
          ins.push_back(storageOf(cast<kernel::BufferAttr>(in)));
        if (e.getWeight()) {
          // A constant operand: its prepared copy, row-major (dimensions of
          // one element broadcast).
          auto data = vector(e, e.getWeight());
          if (failed(data))
            return failure();
          Storage w;
          w.base = *data;
          w.shape = shapeOf(e.getWeight());
          w.strides = rowMajorStrides(w.shape);
          ins.insert(ins.begin() + *e.getWeightPosition(), std::move(w));
        }
        emitElementwise(storageOf(e.getOutput()), ins, elementwiseExpr(e, scalars));
        return success();
      })
      .Case([&](kernel::SoftmaxOp s) {
        emitSoftmax(storageOf(s.getOutput()), storageOf(s.getInput()), s.getDim());
        return success();
      })
      .Case([&](kernel::ReduceOp r) {
        ArrayRef<int64_t> x = r.getInput().getShape();
        int64_t count = 1;
        for (int64_t d : r.getDims())
          count *= x[d];
        emitReduce(storageOf(r.getOutput()), storageOf(r.getInput()), r.getDims(),
                   r.getKeepdim(), 1.0 / double(count));
        return success();
      })
      .Case([&](kernel::BatchNormOp b) { return emitBatchNorm(b); })
      .Case([&](kernel::Conv2dOp c) { return emitConv(c); })
      .Case([&](kernel::LinearOp l) { return emitLinear(l); })
      .Case([&](kernel::SqueezeExciteGateOp g) { return emitSeGate(g); })
      .Case([&](kernel::Pool2dOp p) { return emitPool(p); })
      .Case([&](kernel::AdaptivePool2dOp a) { return emitAdaptivePool(a); })
      .Case([&](kernel::PadChannelsOp p) { return emitPadChannels(p); })
      .Case([&](kernel::ConvChainOp c) { return emitConvChain(c); })
      .Default([&](Operation *) {
        return op->emitError() << "the " << targetName << " target cannot compile '"
                               << op->getName() << "'";
      });
}

LogicalResult EmitterCore::emitBatchNorm(kernel::BatchNormOp op) {
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
  Storage x = storageOf(op.getInput()), out = storageOf(op.getOutput());
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
  emitElementwise(out, {x, perChannel(0), perChannel(c)}, "in0 * in1 + in2");
  return success();
}
