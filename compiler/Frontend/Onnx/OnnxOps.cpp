//===- OnnxOps.cpp - the table of ONNX ops ---------------------------------===//
//
// This file implements the table from ONNX op type to converter, the module
// class a converted op stands for, and the helpers the converters share
// (OnnxConverters.h).
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxConverters.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx;

namespace kiln::onnx {

/// Prints |values| as "[a, b, c]".
std::string str(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
}

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

/// The shortest decimal that rounds to |f| in float32, as a double: ONNX
/// stores PyTorch's eps = 1e-5 as the float nearest it, and the double 1e-5
/// is what PyTorch (and a model spec) computes with.
double shortestDecimal(float f) {
  for (int digits = 1; digits <= 9; ++digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*g", digits, double(f));
    if (std::strtof(text, nullptr) == f)
      return std::strtod(text, nullptr);
  }
  return f;
}

/// Sets the node's single output to the result of |op| (null: failed).
LogicalResult produce(NodeContext &c, Operation *op, bool isLayer) {
  if (!op)
    return failure();
  c.outputs.push_back({op->getResult(0), nullptr});
  if (isLayer)
    c.layerOp = op;
  return success();
}

/// A constant's data as floats (integers converted).
std::vector<float> floatsOf(const Constant &k) {
  if (k.isFloat)
    return k.floats;
  std::vector<float> out;
  for (int64_t v : k.ints)
    out.push_back(float(v));
  return out;
}

/// A constant's data as integers, or an error naming |what|.
FailureOr<std::vector<int64_t>> intsOf(NodeContext &c, const Constant &k,
                                       StringRef what) {
  if (!k.isFloat)
    return k.ints;
  c.error() << what << " must be an integer tensor";
  return failure();
}

/// Input |index| (a constant integer tensor named |what|) where the node
/// has it, else |fallback| (the attribute older opsets used).
FailureOr<std::vector<int64_t>> intsInputOr(NodeContext &c, int index,
                                            StringRef what,
                                            std::vector<int64_t> fallback) {
  if (!c.hasInput(index))
    return fallback;
  auto k = c.constant(index, what);
  if (failed(k))
    return failure();
  return intsOf(c, **k, what);
}

/// Resolves an ONNX axis (negative counts from the end) of a rank-|rank|
/// tensor, or reports it.
FailureOr<int64_t> resolveAxis(NodeContext &c, int64_t axis, int64_t rank,
                               StringRef what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    c.error() << what << " " << axis << " is out of range for rank " << rank;
    return failure();
  }
  return a;
}

/// How many nodes of the graph read the value |name| (plus 1 if it is the
/// graph's output).
int consumers(NodeContext &c, const std::string &name) {
  int n = 0;
  for (const Node &other : c.importer.model.graph.nodes)
    n += llvm::count(other.inputs, name);
  for (const ValueInfo &out : c.importer.model.graph.outputs)
    n += out.name == name;
  return n;
}

FailureOr<std::vector<int64_t>> resolveReshape(NodeContext &c,
                                               ArrayRef<int64_t> in,
                                               ArrayRef<int64_t> target,
                                               bool allowZero, int64_t numel) {
  std::vector<int64_t> shape;
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allowZero) {
      if (i >= in.size()) {
        c.error() << "shape " << str(target) << " copies dimension " << i
                  << " of a rank-" << in.size() << " input";
        return failure();
      }
      d = in[i];
    }
    if (d == -1 && inferred < 0) {
      inferred = int64_t(i);
    } else if (d < 0 || __builtin_mul_overflow(known, d, &known)) {
      c.error() << "cannot reshape " << str(in) << " to " << str(target);
      return failure();
    }
    shape.push_back(d);
  }
  if (inferred >= 0 && known > 0 && numel % known == 0)
    shape[inferred] = numel / known;
  else if (inferred >= 0)
    known = -1;
  if ((inferred < 0 && known != numel) || known < 0) {
    c.error() << "cannot reshape " << str(in) << " (" << numel
              << " elements) to " << str(target);
    return failure();
  }
  return shape;
}

LogicalResult checkRange(NodeContext &c, ArrayRef<int64_t> values, int64_t lo,
                         int64_t hi, StringRef what) {
  for (int64_t v : values)
    if (v < lo || v > hi) {
      c.error() << what << " " << str(values) << " must lie in [" << lo << ", "
                << hi << "]";
      return failure();
    }
  return success();
}

} // namespace kiln::onnx

Converter kiln::onnx::lookupConverter(StringRef opType) {
  return llvm::StringSwitch<Converter>(opType)
      .Case("Conv", convertConv)
      .Case("BatchNormalization", convertBatchNorm)
      .Case("Gemm", convertGemm)
      .Case("MatMul", convertMatMul)
      .Case("Add", convertAdd)
      .Case("Mul", convertMul)
      .Cases("Sub", "Div", convertSubDiv)
      .Case("Relu", convertUnary<ReluOp>)
      .Case("Sigmoid", convertUnary<SigmoidOp>)
      .Case("Tanh", convertUnary<TanhOp>)
      .Cases("LeakyRelu", "Elu", convertScalarParam)
      .Case("HardSwish", convertUnary<HardSwishOp>)
      .Case("HardSigmoid", convertHardSigmoid)
      .Case("Clip", convertClip)
      .Case("Dropout", convertDropout)
      .Case("Identity", convertIdentity)
      .Case("Pad", convertPad)
      .Cases("MaxPool", "AveragePool", convertPool)
      .Cases("GlobalAveragePool", "GlobalMaxPool", convertGlobalPool)
      .Case("ReduceMean", convertReduceMean)
      .Case("Softmax", convertSoftmax)
      .Cases("Resize", "Upsample", convertResize)
      .Case("Concat", convertConcat)
      .Case("Split", convertSplit)
      .Case("Slice", convertSlice)
      .Case("Reshape", convertReshape)
      .Case("Flatten", convertFlatten)
      .Case("Transpose", convertTranspose)
      .Cases("Squeeze", "Unsqueeze", convertSqueeze)
      .Case("Shape", convertShape)
      .Default(nullptr);
}

const char *kiln::onnx::moduleClassOf(const Node &node, Operation *op) {
  return llvm::TypeSwitch<Operation *, const char *>(op)
      .Case([](Conv2dOp) { return "Conv2d"; })
      .Case([](BatchNormOp bn) {
        return cast<RankedTensorType>(bn.getInput().getType()).getRank() == 4
                   ? "BatchNorm2d"
                   : "BatchNorm1d";
      })
      .Case([](LinearOp) { return "Linear"; })
      .Case([](ReluOp) { return "ReLU"; })
      .Case([](Relu6Op) { return "ReLU6"; })
      .Case([](SigmoidOp) { return "Sigmoid"; })
      .Case([](HardSigmoidOp) { return "Hardsigmoid"; })
      .Case([](HardSwishOp) { return "Hardswish"; })
      .Case([](SiluOp) { return "SiLU"; })
      .Case([](TanhOp) { return "Tanh"; })
      .Case([](LeakyReluOp) { return "LeakyReLU"; })
      .Case([](EluOp) { return "ELU"; })
      .Case([](ClampOp) { return "Hardtanh"; })
      .Case([](SoftmaxOp) { return "Softmax"; })
      .Case([](UpsampleNearestOp) { return "Upsample"; })
      .Case([&](MaxPool2dOp) {
        return node.opType == "GlobalMaxPool" ? "AdaptiveMaxPool2d"
                                              : "MaxPool2d";
      })
      .Case([](AvgPool2dOp) { return "AvgPool2d"; })
      .Case([](AdaptiveAvgPool2dOp) { return "AdaptiveAvgPool2d"; })
      .Case([](FlattenOp) { return "Flatten"; })
      .Case([](DropoutOp) { return "Dropout"; })
      .Default([](Operation *) { return nullptr; });
}

