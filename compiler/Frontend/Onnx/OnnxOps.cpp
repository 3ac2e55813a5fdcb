//===- OnnxOps.cpp - ONNX compute ops to kiln ops --------------------------===//
//
// This file implements the converters of the ONNX ops kiln imports, one
// function per op family, and the helpers they share (NodeContext). Weight
// inputs must be constants; they become `kiln.param`s named after the
// layer, transformed where kiln's layout differs (a MatMul's [K, N] weight
// is transposed to Linear's [N, K]; Gemm's alpha and beta are multiplied
// in). Patterns exporters write for one PyTorch op are recognised here:
//   * Mul(x, Sigmoid(x)) is SiLU, Mul(x, HardSigmoid(x)) is Hardswish;
//   * Clip(0, 6) is ReLU6 and Clip(0, inf) is ReLU;
//   * MatMul (or bias-less Conv) then Add of a constant is a layer's bias;
//   * Reshape [N, g, C/g, H, W], Transpose [0, 2, 1, 3, 4], Reshape
//     [N, C, H, W] is a channel shuffle of g groups.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxImporter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx;

//===----------------------------------------------------------------------===//
// Constant
//===----------------------------------------------------------------------===//

int64_t Constant::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

double Constant::at(int64_t i) const {
  return isFloat ? double(floats[i]) : double(ints[i]);
}

std::shared_ptr<Constant> Constant::ofInts(std::vector<int64_t> dims,
                                           std::vector<int64_t> values) {
  auto c = std::make_shared<Constant>();
  c->dims = std::move(dims);
  c->isFloat = false;
  c->ints = std::move(values);
  return c;
}

std::shared_ptr<Constant> Constant::ofFloats(std::vector<int64_t> dims,
                                             std::vector<float> values) {
  auto c = std::make_shared<Constant>();
  c->dims = std::move(dims);
  c->floats = std::move(values);
  return c;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeContext::error() { return importer.error(node); }

OpBuilder &NodeContext::builder() { return importer.builder; }

FailureOr<Value> NodeContext::activation(size_t i, StringRef what) {
  if (!hasInput(i)) {
    error() << "needs its input " << what;
    return failure();
  }
  if (!inputs[i].value) {
    error() << "input " << what << " ('" << node.inputs[i]
            << "') is a constant; kiln supports it only as an activation "
               "computed from the model's input";
    return failure();
  }
  return inputs[i].value;
}

FailureOr<std::shared_ptr<const Constant>>
NodeContext::constant(size_t i, StringRef what) {
  if (!hasInput(i)) {
    error() << "needs its input " << what;
    return failure();
  }
  if (!inputs[i].constant) {
    error() << "input " << what << " ('" << node.inputs[i]
            << "') must be a constant (an initializer or computed from "
               "constants); kiln compiles static weights and shapes";
    return failure();
  }
  return inputs[i].constant;
}

const onnx::Attribute *NodeContext::attr(StringRef name) const {
  return node.find(name.str());
}

FailureOr<int64_t> NodeContext::getInt(StringRef name, int64_t otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise;
  if (a->kind != onnx::Attribute::Kind::Int) {
    error() << "attribute '" << name << "' must be an integer";
    return failure();
  }
  return a->i;
}

FailureOr<float> NodeContext::getFloat(StringRef name, float otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise;
  if (a->kind != onnx::Attribute::Kind::Float) {
    error() << "attribute '" << name << "' must be a float";
    return failure();
  }
  return a->f;
}

FailureOr<std::string> NodeContext::getString(StringRef name,
                                              StringRef otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise.str();
  if (a->kind != onnx::Attribute::Kind::String) {
    error() << "attribute '" << name << "' must be a string";
    return failure();
  }
  return a->s;
}

FailureOr<std::vector<int64_t>>
NodeContext::getInts(StringRef name, std::vector<int64_t> otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise;
  if (a->kind != onnx::Attribute::Kind::Ints) {
    error() << "attribute '" << name << "' must be a list of integers";
    return failure();
  }
  return a->ints;
}

LogicalResult NodeContext::expectAttributes(ArrayRef<StringRef> known) {
  bool ok = true;
  for (const onnx::Attribute &a : node.attributes)
    if (!llvm::is_contained(known, a.name)) {
      error() << "attribute '" << a.name << "' is not supported";
      ok = false;
    }
  return success(ok);
}

/// |name| with characters other than letters, digits, '_' and '.' replaced.
static std::string sanitize(StringRef name) {
  std::string out;
  for (char ch : name)
    out += (llvm::isAlnum(ch) || ch == '_' || ch == '.') ? ch : '_';
  while (!out.empty() && out.front() == '.')
    out.erase(0, 1);
  return out;
}

std::string NodeContext::weightPath() {
  auto known = importer.weightPaths.find(&node);
  if (known != importer.weightPaths.end())
    return known->second;
  size_t index = &node - importer.model.graph.nodes.data();
  const Importer::Scope &scope = importer.scopes[index];
  std::string base;
  if (scope.leaf) {
    base = scope.path;
  } else {
    StringRef name = node.name;
    std::string leaf = sanitize(name.substr(name.rfind('/') + 1));
    if (leaf.empty())
      leaf = node.opType + "_" + std::to_string(index);
    base = scope.path.empty() ? leaf : scope.path + "." + leaf;
  }
  // Another node with this path: the same module called again shares its
  // weights (the same initializers); otherwise the path gets a suffix.
  std::string path = base;
  for (int k = 1;; ++k) {
    auto [it, inserted] = importer.weightOwners.try_emplace(path, &node);
    if (inserted)
      break;
    // The layers of one module (a MatMul and the Add of its bias) share
    // its path; two of the same op share it only as one module's calls.
    const Node *other = it->second;
    if (other->opType != node.opType ||
        ArrayRef(other->inputs).drop_front() == ArrayRef(node.inputs).drop_front())
      break;
    path = base + "_" + std::to_string(k);
  }
  importer.weightPaths[&node] = path;
  return path;
}

Value NodeContext::param(StringRef suffix, ArrayRef<int64_t> dims,
                         std::vector<float> data, ParamRole role) {
  std::string name = weightPath() + "." + suffix.str();
  importer.weights[name] = std::move(data);
  auto type = RankedTensorType::get(dims, builder().getF32Type());
  return builder().create<ParamOp>(
      loc, type, builder().getStringAttr(name),
      ParamRoleAttr::get(builder().getContext(), role));
}

template <typename OpT>
OpT NodeContext::create(ValueRange operands, ArrayRef<NamedAttribute> attrs) {
  SmallVector<Type> types;
  MLIRContext *ctx = builder().getContext();
  if (failed(OpT::inferReturnTypes(ctx, loc, operands,
                                   DictionaryAttr::get(ctx, attrs),
                                   /*properties=*/nullptr, /*regions=*/{},
                                   types))) {
    importer.failedAny = true;
    return nullptr;
  }
  for (Type type : types) {
    int64_t n = 1;
    for (int64_t d : cast<RankedTensorType>(type).getShape())
      if (d < 0 || __builtin_mul_overflow(n, d, &n) || n > (int64_t(1) << 40)) {
        error() << "its result " << type << " is too large";
        return nullptr;
      }
  }
  OperationState state(loc, OpT::getOperationName());
  state.addOperands(operands);
  state.addAttributes(attrs);
  state.addTypes(types);
  return cast<OpT>(builder().create(state));
}

NamedAttribute NodeContext::i64(StringRef name, int64_t value) {
  return builder().getNamedAttr(name, builder().getI64IntegerAttr(value));
}

NamedAttribute NodeContext::array(StringRef name, ArrayRef<int64_t> values) {
  return builder().getNamedAttr(name, builder().getDenseI64ArrayAttr(values));
}

NamedAttribute NodeContext::unit(StringRef name) {
  return builder().getNamedAttr(name, builder().getUnitAttr());
}

namespace {

/// Prints |values| as "[a, b, c]".
std::string str(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
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
LogicalResult produce(NodeContext &c, Operation *op, bool isLayer = true) {
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

/// Resolves an ONNX axis (negative counts from the end) of a rank-|rank|
/// tensor, or reports it.
FailureOr<int64_t> resolveAxis(NodeContext &c, int64_t axis, int64_t rank,
                               StringRef what = "axis") {
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

//===----------------------------------------------------------------------===//
// Padding
//===----------------------------------------------------------------------===//

/// The begin and end padding of the two spatial dimensions of a windowed
/// op (`pads` as [top, left, bottom, right], or `auto_pad`).
struct Pads {
  int64_t begin[2], end[2];
};

FailureOr<Pads> spatialPads(NodeContext &c, RankedTensorType input,
                            ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
                            ArrayRef<int64_t> dilation) {
  auto autoPad = c.getString("auto_pad", "NOTSET");
  auto pads = c.getInts("pads", {0, 0, 0, 0});
  if (failed(autoPad) || failed(pads))
    return failure();
  Pads p;
  if (*autoPad == "NOTSET") {
    if (pads->size() != 4) {
      c.error() << "attribute 'pads' must have 4 values for a 2-D window, got "
                << str(*pads);
      return failure();
    }
    for (int i = 0; i < 2; ++i) {
      p.begin[i] = (*pads)[i];
      p.end[i] = (*pads)[2 + i];
      if (p.begin[i] < 0 || p.end[i] < 0) {
        c.error() << "negative 'pads' " << str(*pads) << " are not supported";
        return failure();
      }
    }
    return p;
  }
  if (*autoPad != "VALID" && *autoPad != "SAME_UPPER" &&
      *autoPad != "SAME_LOWER") {
    c.error() << "auto_pad '" << *autoPad << "' is not one of NOTSET, VALID, "
              << "SAME_UPPER, SAME_LOWER";
    return failure();
  }
  for (int i = 0; i < 2; ++i) {
    p.begin[i] = p.end[i] = 0;
    if (*autoPad == "VALID")
      continue;
    int64_t in = input.getDimSize(2 + i);
    int64_t out = (in + stride[i] - 1) / stride[i];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - in);
    p.begin[i] = *autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    p.end[i] = total - p.begin[i];
  }
  return p;
}

/// A 2-D window attribute (`strides`, `dilations`) with 2 values.
FailureOr<std::vector<int64_t>> pairAttr(NodeContext &c, StringRef name,
                                         int64_t min) {
  auto values = c.getInts(name, {1, 1});
  if (failed(values))
    return failure();
  if (values->size() != 2 || (*values)[0] < min || (*values)[1] < min) {
    c.error() << "attribute '" << name << "' must be two values of at least "
              << min << ", got " << str(*values);
    return failure();
  }
  return values;
}

FailureOr<Value> input4d(NodeContext &c) {
  auto x = c.activation(0, "X");
  if (failed(x))
    return failure();
  if (c.typeOf(*x).getRank() != 4) {
    c.error() << "kiln supports the 2-D form (an N×C×H×W input), got "
              << c.typeOf(*x);
    return failure();
  }
  return x;
}

//===----------------------------------------------------------------------===//
// Conv, BatchNormalization, Gemm, MatMul
//===----------------------------------------------------------------------===//

LogicalResult convertConv(NodeContext &c) {
  if (failed(c.expectAttributes(
          {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})))
    return failure();
  auto x = input4d(c);
  auto w = c.constant(1, "W");
  if (failed(x) || failed(w))
    return failure();
  const Constant &weight = **w;
  if (weight.dims.size() != 4) {
    c.error() << "the weight must be 4-D (O×C/group×KH×KW), got "
              << str(weight.dims);
    return failure();
  }
  auto group = c.getInt("group", 1);
  auto strides = pairAttr(c, "strides", 1);
  auto dilations = pairAttr(c, "dilations", 1);
  auto kernelShape = c.getInts(
      "kernel_shape", {weight.dims[2], weight.dims[3]});
  if (failed(group) || failed(strides) || failed(dilations) ||
      failed(kernelShape))
    return failure();
  if (*kernelShape != std::vector<int64_t>{weight.dims[2], weight.dims[3]}) {
    c.error() << "kernel_shape " << str(*kernelShape)
              << " does not match the weight " << str(weight.dims);
    return failure();
  }
  RankedTensorType type = c.typeOf(*x);
  auto pads = spatialPads(c, type, *kernelShape, *strides, *dilations);
  if (failed(pads))
    return failure();
  SmallVector<Value> operands = {
      *x, c.param("weight", weight.dims, floatsOf(weight))};
  int32_t hasBias = c.hasInput(2);
  if (hasBias) {
    auto b = c.constant(2, "B");
    if (failed(b))
      return failure();
    if ((*b)->numel() != weight.dims[0]) {
      c.error() << "the bias has " << (*b)->numel() << " elements for "
                << weight.dims[0] << " output channels";
      return failure();
    }
    operands.push_back(c.param("bias", {weight.dims[0]}, floatsOf(**b)));
  }
  // kiln's convolution pads symmetrically. Asymmetric padding is the
  // convolution padded by the larger side, cropped: an extra end is cut
  // off the end; an extra begin of k strides skips the first k outputs.
  // An extra end that is not a whole number of strides is padded first
  // (kiln.pad), and the convolution pads by the begin.
  int64_t padding[2], cropStart[2], outSize[2], prePad[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t b = pads->begin[i], e = pads->end[i];
    int64_t span = (*dilations)[i] * ((*kernelShape)[i] - 1) + 1;
    int64_t in = type.getDimSize(2 + i);
    outSize[i] = in + b + e >= span ? (in + b + e - span) / (*strides)[i] + 1 : 0;
    padding[i] = std::max(b, e);
    cropStart[i] = 0;
    if (b < e && (e - b) % (*strides)[i] == 0) {
      cropStart[i] = (e - b) / (*strides)[i];
    } else if (b < e) {
      prePad[i] = e - b;
      padding[i] = b;
    }
  }
  if (prePad[0] || prePad[1]) {
    auto pad = c.create<PadOp>(
        {operands[0]}, {c.array("pads", {0, 0, prePad[0], prePad[1]}),
                        c.builder().getNamedAttr("value",
                                                 c.builder().getF64FloatAttr(0))});
    if (!pad)
      return failure();
    operands[0] = pad.getResult();
  }
  auto conv = c.create<Conv2dOp>(
      operands,
      {c.array("stride", *strides), c.array("padding", {padding[0], padding[1]}),
       c.array("dilation", *dilations), c.i64("groups", *group),
       c.builder().getNamedAttr("operandSegmentSizes",
                                c.builder().getDenseI32ArrayAttr(
                                    {1, 1, hasBias, 0, 0}))});
  if (!conv)
    return failure();
  c.layerOp = conv;
  Value result = conv.getResult();
  for (int i = 0; i < 2; ++i) {
    int64_t have = c.typeOf(result).getDimSize(2 + i);
    if (cropStart[i] == 0 && have == outSize[i])
      continue;
    auto slice = c.create<SliceOp>(
        {result}, {c.i64("dim", 2 + i), c.i64("start", cropStart[i]),
                   c.i64("end", cropStart[i] + outSize[i]), c.i64("step", 1)});
    if (!slice)
      return failure();
    result = slice.getResult();
  }
  c.outputs.push_back({result, nullptr});
  return success();
}

LogicalResult convertBatchNorm(NodeContext &c) {
  if (failed(c.expectAttributes(
          {"epsilon", "momentum", "training_mode", "spatial"})))
    return failure();
  auto x = c.activation(0, "X");
  auto eps = c.getFloat("epsilon", 1e-5f);
  auto training = c.getInt("training_mode", 0);
  auto spatial = c.getInt("spatial", 1);
  if (failed(x) || failed(eps) || failed(training) || failed(spatial))
    return failure();
  if (*training != 0 || c.node.outputs.size() > 1) {
    c.error() << "training mode is not supported (export the model in eval "
                 "mode)";
    return failure();
  }
  if (*spatial != 1) {
    c.error() << "spatial = 0 is not supported";
    return failure();
  }
  RankedTensorType type = c.typeOf(*x);
  if (type.getRank() < 2) {
    c.error() << "expects an N×C… input, got " << type;
    return failure();
  }
  int64_t channels = type.getDimSize(1);
  const char *names[] = {"scale", "B", "mean", "var"};
  const char *suffixes[] = {"weight", "bias", "running_mean", "running_var"};
  SmallVector<Value> operands = {*x};
  for (int i = 0; i < 4; ++i) {
    auto k = c.constant(1 + i, names[i]);
    if (failed(k))
      return failure();
    if ((*k)->numel() != channels) {
      c.error() << "'" << names[i] << "' has " << (*k)->numel()
                << " elements for " << channels << " channels";
      return failure();
    }
    operands.push_back(c.param(suffixes[i], {channels}, floatsOf(**k),
                               i < 2 ? ParamRole::parameter : ParamRole::buffer));
  }
  return produce(c, c.create<BatchNormOp>(
                        operands, {c.builder().getNamedAttr(
                                      "epsilon", c.builder().getF64FloatAttr(
                                                     shortestDecimal(*eps)))}));
}

/// Builds `kiln.linear` of |x| with weight [N, K] and an optional bias.
LogicalResult buildLinear(NodeContext &c, Value x, ArrayRef<int64_t> dims,
                          std::vector<float> weight,
                          std::optional<std::vector<float>> bias) {
  SmallVector<Value> operands = {x, c.param("weight", dims, std::move(weight))};
  int32_t hasBias = bias.has_value();
  if (bias)
    operands.push_back(c.param("bias", {dims[0]}, std::move(*bias)));
  return produce(
      c, c.create<LinearOp>(operands, {c.builder().getNamedAttr(
                                          "operandSegmentSizes",
                                          c.builder().getDenseI32ArrayAttr(
                                              {1, 1, hasBias, 0}))}));
}

/// The [N, K] transpose of a [K, N] matrix.
std::vector<float> transposed(const std::vector<float> &m, int64_t rows,
                              int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < cols; ++col)
      t[col * rows + r] = m[r * cols + col];
  return t;
}

LogicalResult convertGemm(NodeContext &c) {
  if (failed(c.expectAttributes({"alpha", "beta", "transA", "transB"})))
    return failure();
  auto a = c.activation(0, "A");
  auto b = c.constant(1, "B");
  auto alpha = c.getFloat("alpha", 1), beta = c.getFloat("beta", 1);
  auto transA = c.getInt("transA", 0), transB = c.getInt("transB", 0);
  if (failed(a) || failed(b) || failed(alpha) || failed(beta) ||
      failed(transA) || failed(transB))
    return failure();
  if (*transA) {
    c.error() << "transA = 1 is not supported (the activation must be M×K)";
    return failure();
  }
  if (c.typeOf(*a).getRank() != 2 || (*b)->dims.size() != 2) {
    c.error() << "expects a 2-D A and B, got " << c.typeOf(*a) << " and "
              << str((*b)->dims);
    return failure();
  }
  int64_t k = c.typeOf(*a).getDimSize(1);
  std::vector<float> w = floatsOf(**b);
  int64_t rows = (*b)->dims[0], cols = (*b)->dims[1];
  if (!*transB) {
    w = transposed(w, rows, cols);
    std::swap(rows, cols);
  }
  if (cols != k) {
    c.error() << "B " << str((*b)->dims) << (*transB ? " (transposed)" : "")
              << " does not fit A " << c.typeOf(*a);
    return failure();
  }
  for (float &v : w)
    v *= *alpha;
  std::optional<std::vector<float>> bias;
  if (c.hasInput(2)) {
    auto bc = c.constant(2, "C");
    if (failed(bc))
      return failure();
    const Constant &cc = **bc;
    int64_t n = cc.numel();
    bool rowVector = cc.dims.empty() || cc.dims.back() == n;
    if (!rowVector || (n != rows && n != 1)) {
      c.error() << "C " << str(cc.dims) << " must broadcast along rows ("
                << rows << " or 1 elements in its last dimension)";
      return failure();
    }
    std::vector<float> data = floatsOf(cc);
    bias.emplace(size_t(rows));
    for (int64_t i = 0; i < rows; ++i)
      (*bias)[i] = *beta * data[n == 1 ? 0 : i];
  }
  return buildLinear(c, *a, {rows, cols}, std::move(w), std::move(bias));
}

LogicalResult convertMatMul(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  auto a = c.activation(0, "A");
  if (failed(a))
    return failure();
  if (!c.hasInput(1) || !c.inputs[1].constant) {
    c.error() << "MatMul of two activations is not supported (the second "
                 "operand must be a constant weight)";
    return failure();
  }
  const Constant &b = *c.inputs[1].constant;
  if (b.dims.size() != 2) {
    c.error() << "the weight must be 2-D (K×N), got " << str(b.dims);
    return failure();
  }
  return buildLinear(c, *a, {b.dims[1], b.dims[0]},
                     transposed(floatsOf(b), b.dims[0], b.dims[1]),
                     std::nullopt);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Add(layer(x), constant): the constant as the bias of a MatMul's or a
/// bias-less Conv's layer when it has one value per output feature and the
/// layer's result has no other reader.
LogicalResult addBias(NodeContext &c, size_t layerInput, const Constant &k) {
  Value v = c.inputs[layerInput].value;
  Operation *def = v.getDefiningOp();
  RankedTensorType type = c.typeOf(v);
  int64_t features = isa_and_nonnull<Conv2dOp>(def) ? type.getDimSize(1)
                                                    : type.getShape().back();
  bool oneReader = consumers(c, c.node.inputs[layerInput]) == 1;
  auto fail = [&] {
    c.error() << "adding a constant " << str(k.dims)
              << " is supported only as the bias of a MatMul or Conv (one "
                 "value per output feature)";
    return failure();
  };
  if (!oneReader || k.numel() != features || !def || !def->use_empty())
    return fail();
  // The constant must lie along the feature dimension.
  auto linear = dyn_cast<LinearOp>(def);
  auto conv = dyn_cast<Conv2dOp>(def);
  if (linear && !linear.getBias() && !linear.getResidual() &&
      (k.dims.empty() || k.dims.back() == features)) {
    OpBuilder::InsertionGuard guard(c.builder());
    c.builder().setInsertionPoint(linear);
    Value bias = c.param("bias", {features}, floatsOf(k));
    auto fused = c.create<LinearOp>(
        {linear.getInput(), linear.getWeight(), bias},
        {c.builder().getNamedAttr("operandSegmentSizes",
                                  c.builder().getDenseI32ArrayAttr({1, 1, 1, 0}))});
    if (!fused)
      return failure();
    if (auto layer = linear->getAttr(KilnDialect::getLayerAttrName()))
      fused->setAttr(KilnDialect::getLayerAttrName(), layer);
    linear.getResult().replaceAllUsesWith(fused.getResult());
    linear.erase();
    return produce(c, fused);
  }
  bool perChannel = k.dims.size() >= 3 && k.dims[k.dims.size() - 3] == features &&
                    k.dims[k.dims.size() - 1] == 1 && k.dims[k.dims.size() - 2] == 1;
  if (conv && !conv.getBias() && !conv.getResidual() && !conv.getScale() &&
      perChannel) {
    OpBuilder::InsertionGuard guard(c.builder());
    c.builder().setInsertionPoint(conv);
    Value bias = c.param("bias", {features}, floatsOf(k));
    auto fused = c.create<Conv2dOp>(
        {conv.getInput(), conv.getWeight(), bias},
        {c.array("stride", conv.getStride()), c.array("padding", conv.getPadding()),
         c.array("dilation", conv.getDilation()), c.i64("groups", conv.getGroups()),
         c.builder().getNamedAttr("operandSegmentSizes",
                                  c.builder().getDenseI32ArrayAttr({1, 1, 1, 0, 0}))});
    if (!fused)
      return failure();
    if (auto layer = conv->getAttr(KilnDialect::getLayerAttrName()))
      fused->setAttr(KilnDialect::getLayerAttrName(), layer);
    conv.getResult().replaceAllUsesWith(fused.getResult());
    conv.erase();
    return produce(c, fused);
  }
  return fail();
}

LogicalResult convertAdd(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  if (!c.hasInput(0) || !c.hasInput(1)) {
    c.error() << "needs two inputs";
    return failure();
  }
  if (c.inputs[0].value && c.inputs[1].value)
    return produce(c, c.create<AddOp>({c.inputs[0].value, c.inputs[1].value}),
                   false);
  size_t act = c.inputs[0].value ? 0 : 1;
  return addBias(c, act, *c.inputs[1 - act].constant);
}

LogicalResult convertMul(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  if (!c.hasInput(0) || !c.hasInput(1)) {
    c.error() << "needs two inputs";
    return failure();
  }
  Value a = c.inputs[0].value, b = c.inputs[1].value;
  if (!a || !b) {
    c.error() << "multiplying by a constant is not supported (kiln "
                 "multiplies activations)";
    return failure();
  }
  // x · sigmoid(x) is SiLU; x · hardsigmoid(x) is Hardswish.
  for (auto [x, gate] : {std::pair(a, b), std::pair(b, a)}) {
    Operation *def = gate.getDefiningOp();
    if (def && def->getOperand(0) == x && isa<SigmoidOp>(def))
      return produce(c, c.create<SiluOp>({x}));
    if (def && def->getOperand(0) == x && isa<HardSigmoidOp>(def))
      return produce(c, c.create<HardSwishOp>({x}));
  }
  return produce(c, c.create<MulOp>({a, b}), false);
}

LogicalResult convertSubDiv(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  auto a = c.activation(0, "A"), b = c.activation(1, "B");
  if (failed(a) || failed(b))
    return failure();
  if (c.node.opType == "Sub")
    return produce(c, c.create<SubOp>({*a, *b}), false);
  return produce(c, c.create<DivOp>({*a, *b}), false);
}

/// LeakyRelu (alpha 0.01) and Elu (alpha 1).
LogicalResult convertScalarParam(NodeContext &c) {
  if (failed(c.expectAttributes({"alpha"})))
    return failure();
  bool leaky = c.node.opType == "LeakyRelu";
  auto x = c.activation(0, "X");
  auto alpha = c.getFloat("alpha", leaky ? 0.01f : 1.0f);
  if (failed(x) || failed(alpha))
    return failure();
  NamedAttribute attr = c.builder().getNamedAttr(
      "alpha", c.builder().getF64FloatAttr(shortestDecimal(*alpha)));
  if (leaky)
    return produce(c, c.create<LeakyReluOp>({*x}, {attr}));
  return produce(c, c.create<EluOp>({*x}, {attr}));
}

template <typename OpT>
LogicalResult convertUnary(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  auto x = c.activation(0, "X");
  if (failed(x))
    return failure();
  return produce(c, c.create<OpT>({*x}));
}

LogicalResult convertHardSigmoid(NodeContext &c) {
  if (failed(c.expectAttributes({"alpha", "beta"})))
    return failure();
  auto x = c.activation(0, "X");
  auto alpha = c.getFloat("alpha", 0.2f), beta = c.getFloat("beta", 0.5f);
  if (failed(x) || failed(alpha) || failed(beta))
    return failure();
  // kiln's hard_sigmoid is PyTorch's: relu6(x + 3) / 6.
  if (std::fabs(*alpha - 1.0f / 6) > 1e-6f || std::fabs(*beta - 0.5f) > 1e-6f) {
    c.error() << "alpha = " << *alpha << ", beta = " << *beta
              << " are not supported (kiln's hard_sigmoid is PyTorch's: "
                 "alpha = 1/6, beta = 0.5)";
    return failure();
  }
  return produce(c, c.create<HardSigmoidOp>({*x}));
}

LogicalResult convertClip(NodeContext &c) {
  if (failed(c.expectAttributes({"min", "max"})))
    return failure();
  auto x = c.activation(0, "input");
  if (failed(x))
    return failure();
  // Bounds: attributes before opset 11, optional inputs since.
  float lo = -INFINITY, hi = INFINITY;
  if (c.importer.model.opset < 11) {
    auto a = c.getFloat("min", -INFINITY), b = c.getFloat("max", INFINITY);
    if (failed(a) || failed(b))
      return failure();
    lo = *a;
    hi = *b;
  } else {
    for (int i = 1; i <= 2; ++i) {
      if (!c.hasInput(i))
        continue;
      auto k = c.constant(i, i == 1 ? "min" : "max");
      if (failed(k))
        return failure();
      if ((*k)->numel() != 1) {
        c.error() << "its bound must be a scalar";
        return failure();
      }
      (i == 1 ? lo : hi) = float((*k)->at(0));
    }
  }
  if (lo == 0 && hi == 6)
    return produce(c, c.create<Relu6Op>({*x}));
  if (lo == 0 && std::isinf(hi) && hi > 0)
    return produce(c, c.create<ReluOp>({*x}));
  auto num = [](float v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", double(v));
    return std::string(text);
  };
  c.error() << "Clip to [" << num(lo) << ", " << num(hi) << "] is not supported (kiln clips as ReLU [0, inf) and ReLU6 "
               "[0, 6])";
  return failure();
}

LogicalResult convertDropout(NodeContext &c) {
  if (failed(c.expectAttributes({"ratio", "seed", "is_test"})))
    return failure();
  auto x = c.activation(0, "data");
  auto ratio = c.getFloat("ratio", 0.5f);
  if (failed(x) || failed(ratio))
    return failure();
  double p = *ratio;
  if (c.hasInput(1)) {
    auto k = c.constant(1, "ratio");
    if (failed(k))
      return failure();
    p = (*k)->numel() == 1 ? (*k)->at(0) : 0.5;
  }
  if (c.hasInput(2)) {
    auto k = c.constant(2, "training_mode");
    if (failed(k) || ((*k)->numel() == 1 && (*k)->at(0) != 0)) {
      if (succeeded(k))
        c.error() << "training mode is not supported";
      return failure();
    }
  }
  p = std::clamp(p, 0.0, 0.999999);
  return produce(c, c.create<DropoutOp>(
                        {*x}, {c.builder().getNamedAttr(
                                  "p", c.builder().getF64FloatAttr(p))}));
}

/// Pad: constant padding of the spatial dimensions of an N×C×H×W tensor.
LogicalResult convertPad(NodeContext &c) {
  if (failed(c.expectAttributes({"mode", "pads", "value"})))
    return failure();
  auto x = c.activation(0, "data");
  auto mode = c.getString("mode", "constant");
  auto attrPads = c.getInts("pads", {});
  auto attrValue = c.getFloat("value", 0.0f);
  if (failed(x) || failed(mode) || failed(attrPads) || failed(attrValue))
    return failure();
  std::vector<int64_t> pads = *attrPads;
  double value = *attrValue;
  if (c.hasInput(1)) {
    auto k = c.constant(1, "pads");
    if (failed(k))
      return failure();
    auto ints = intsOf(c, **k, "pads");
    if (failed(ints))
      return failure();
    pads = *ints;
  }
  if (c.hasInput(2)) {
    auto k = c.constant(2, "constant_value");
    if (failed(k))
      return failure();
    if ((*k)->numel() != 1) {
      c.error() << "constant_value must be a scalar";
      return failure();
    }
    value = (*k)->at(0);
  }
  if (c.hasInput(3)) {
    c.error() << "the axes input is not supported";
    return failure();
  }
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; })) {
    c.outputs.push_back({*x, nullptr});
    return success();
  }
  int64_t rank = c.typeOf(*x).getRank();
  // [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; only H and W of 4-D.
  bool spatial = rank == 4 && int64_t(pads.size()) == 2 * rank &&
                 pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0;
  if (*mode != "constant" || !spatial ||
      llvm::any_of(pads, [](int64_t p) { return p < 0; })) {
    c.error() << "padding by " << str(pads) << " (mode '" << *mode
              << "') is not supported: kiln pads the height and width of "
                 "N×C×H×W tensors with a constant";
    return failure();
  }
  return produce(
      c, c.create<PadOp>({*x}, {c.array("pads", {pads[2], pads[3], pads[6], pads[7]}),
                                c.builder().getNamedAttr(
                                    "value", c.builder().getF64FloatAttr(value))}),
      false);
}

LogicalResult convertIdentity(NodeContext &c) {
  if (!c.hasInput(0)) {
    c.error() << "needs an input";
    return failure();
  }
  c.outputs.push_back(c.inputs[0]);
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling and reductions
//===----------------------------------------------------------------------===//

LogicalResult convertPool(NodeContext &c) {
  bool isMax = c.node.opType == "MaxPool";
  if (failed(c.expectAttributes(
          isMax ? ArrayRef<StringRef>{"auto_pad", "ceil_mode", "dilations",
                                      "kernel_shape", "pads", "storage_order",
                                      "strides"}
                : ArrayRef<StringRef>{"auto_pad", "ceil_mode",
                                      "count_include_pad", "kernel_shape",
                                      "pads", "strides"})))
    return failure();
  auto x = input4d(c);
  auto kernel = c.getInts("kernel_shape", {});
  auto ceil = c.getInt("ceil_mode", 0);
  auto includePad = c.getInt("count_include_pad", 0);
  if (failed(x) || failed(kernel) || failed(ceil) || failed(includePad))
    return failure();
  if (kernel->size() != 2 || (*kernel)[0] < 1 || (*kernel)[1] < 1) {
    c.error() << "kernel_shape must be two positive values, got "
              << str(*kernel);
    return failure();
  }
  auto strides = pairAttr(c, "strides", 1);
  auto dilations = pairAttr(c, "dilations", 1);
  if (failed(strides) || failed(dilations))
    return failure();
  auto pads = spatialPads(c, c.typeOf(*x), *kernel, *strides, *dilations);
  if (failed(pads))
    return failure();
  if (pads->begin[0] != pads->end[0] || pads->begin[1] != pads->end[1]) {
    c.error() << "asymmetric pads [" << pads->begin[0] << ", " << pads->begin[1]
              << ", " << pads->end[0] << ", " << pads->end[1]
              << "] are not supported for pooling";
    return failure();
  }
  SmallVector<NamedAttribute> attrs = {
      c.array("kernel", *kernel), c.array("stride", *strides),
      c.array("padding", {pads->begin[0], pads->begin[1]})};
  if (*ceil)
    attrs.push_back(c.unit("ceil_mode"));
  if (isMax) {
    attrs.push_back(c.array("dilation", *dilations));
    return produce(c, c.create<MaxPool2dOp>({*x}, attrs));
  }
  if ((*dilations)[0] != 1 || (*dilations)[1] != 1) {
    c.error() << "dilated average pooling is not supported";
    return failure();
  }
  if (!*includePad)
    attrs.push_back(c.unit("exclude_pad"));
  return produce(c, c.create<AvgPool2dOp>({*x}, attrs));
}

LogicalResult convertGlobalPool(NodeContext &c) {
  if (failed(c.expectAttributes({})))
    return failure();
  auto x = input4d(c);
  if (failed(x))
    return failure();
  if (c.node.opType == "GlobalAveragePool")
    return produce(c, c.create<AdaptiveAvgPool2dOp>(
                          {*x}, {c.array("output_size", {1, 1})}));
  // Global max pooling is max pooling with one window over the whole map.
  ArrayRef<int64_t> shape = c.typeOf(*x).getShape();
  return produce(c, c.create<MaxPool2dOp>(
                        {*x}, {c.array("kernel", {shape[2], shape[3]}),
                               c.array("stride", {shape[2], shape[3]}),
                               c.array("padding", {0, 0}),
                               c.array("dilation", {1, 1})}));
}

LogicalResult convertReduceMean(NodeContext &c) {
  if (failed(c.expectAttributes({"axes", "keepdims", "noop_with_empty_axes"})))
    return failure();
  auto x = c.activation(0, "data");
  auto keep = c.getInt("keepdims", 1);
  auto axes = c.getInts("axes", {});
  if (failed(x) || failed(keep) || failed(axes))
    return failure();
  if (c.hasInput(1)) { // opset 18
    auto k = c.constant(1, "axes");
    if (failed(k))
      return failure();
    auto ints = intsOf(c, **k, "axes");
    if (failed(ints))
      return failure();
    axes = *ints;
  }
  int64_t rank = c.typeOf(*x).getRank();
  SmallVector<int64_t> dims;
  if (axes->empty())
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(i);
  for (int64_t a : *axes) {
    auto d = resolveAxis(c, a, rank);
    if (failed(d))
      return failure();
    dims.push_back(*d);
  }
  llvm::sort(dims);
  SmallVector<NamedAttribute> attrs = {c.array("dims", dims)};
  if (*keep)
    attrs.push_back(c.unit("keepdim"));
  return produce(c, c.create<MeanOp>({*x}, attrs), false);
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

LogicalResult convertConcat(NodeContext &c) {
  if (failed(c.expectAttributes({"axis"})))
    return failure();
  auto axis = c.getInt("axis", 0);
  if (failed(axis))
    return failure();
  SmallVector<Value> operands;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto v = c.activation(i, "#" + std::to_string(i));
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (operands.empty()) {
    c.error() << "needs at least one input";
    return failure();
  }
  auto dim = resolveAxis(c, *axis, c.typeOf(operands[0]).getRank());
  if (failed(dim))
    return failure();
  return produce(c, c.create<ConcatOp>(operands, {c.i64("dim", *dim)}), false);
}

LogicalResult convertSplit(NodeContext &c) {
  if (failed(c.expectAttributes({"axis", "split", "num_outputs"})))
    return failure();
  auto x = c.activation(0, "input");
  auto axis = c.getInt("axis", 0);
  auto split = c.getInts("split", {});
  if (failed(x) || failed(axis) || failed(split))
    return failure();
  auto dim = resolveAxis(c, *axis, c.typeOf(*x).getRank());
  if (failed(dim))
    return failure();
  std::vector<int64_t> sizes = *split;
  if (c.hasInput(1)) {
    auto k = c.constant(1, "split");
    if (failed(k))
      return failure();
    auto ints = intsOf(c, **k, "split");
    if (failed(ints))
      return failure();
    sizes = *ints;
  }
  int64_t size = c.typeOf(*x).getDimSize(*dim);
  size_t pieces = c.node.outputs.size();
  if (sizes.empty()) {
    if (pieces == 0 || size % int64_t(pieces) != 0) {
      c.error() << "cannot split " << size << " into " << pieces
                << " equal pieces";
      return failure();
    }
    sizes.assign(pieces, size / int64_t(pieces));
  }
  if (sizes.size() != pieces) {
    c.error() << "splits into " << sizes.size() << " pieces but has "
              << pieces << " outputs";
    return failure();
  }
  auto op = c.create<SplitOp>({*x}, {c.i64("dim", *dim), c.array("sizes", sizes)});
  if (!op)
    return failure();
  for (Value r : op.getResults())
    c.outputs.push_back({r, nullptr});
  return success();
}

LogicalResult convertSlice(NodeContext &c) {
  auto x = c.activation(0, "data");
  if (failed(x))
    return failure();
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.importer.model.opset < 10) {
    if (failed(c.expectAttributes({"starts", "ends", "axes"})))
      return failure();
    auto s = c.getInts("starts", {}), e = c.getInts("ends", {}),
         a = c.getInts("axes", {});
    if (failed(s) || failed(e) || failed(a))
      return failure();
    starts = *s, ends = *e, axes = *a;
  } else {
    if (failed(c.expectAttributes({})))
      return failure();
    const char *names[] = {"starts", "ends", "axes", "steps"};
    std::vector<int64_t> *lists[] = {&starts, &ends, &axes, &steps};
    for (int i = 0; i < 4; ++i) {
      if (!c.hasInput(1 + i))
        continue;
      auto k = c.constant(1 + i, names[i]);
      if (failed(k))
        return failure();
      auto ints = intsOf(c, **k, names[i]);
      if (failed(ints))
        return failure();
      *lists[i] = *ints;
    }
  }
  int64_t rank = c.typeOf(*x).getRank();
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    c.error() << "starts, ends, axes and steps differ in length";
    return failure();
  }
  Value v = *x;
  for (size_t i = 0; i < starts.size(); ++i) {
    auto dim = resolveAxis(c, axes[i], rank);
    if (failed(dim))
      return failure();
    if (steps[i] < 1) {
      c.error() << "step " << steps[i] << " is not supported (kiln slices "
                << "forward)";
      return failure();
    }
    int64_t size = c.typeOf(v).getDimSize(*dim);
    auto clampIndex = [&](int64_t idx) {
      if (idx < 0)
        idx += size;
      return std::clamp<int64_t>(idx, 0, size);
    };
    int64_t start = clampIndex(starts[i]), end = clampIndex(ends[i]);
    if (start == 0 && end == size && steps[i] == 1)
      continue;
    auto slice = c.create<SliceOp>(
        {v}, {c.i64("dim", *dim), c.i64("start", start), c.i64("end", end),
              c.i64("step", steps[i])});
    if (!slice)
      return failure();
    v = slice.getResult();
  }
  c.outputs.push_back({v, nullptr});
  return success();
}

/// If |input| is `transpose(reshape(x))` that splits x's channels into
/// [g, C/g] and swaps them, and |shape| is x's shape, the group count g.
std::optional<int64_t> channelShuffleGroups(Value input,
                                            ArrayRef<int64_t> shape) {
  auto transpose = input.getDefiningOp<TransposeOp>();
  if (!transpose || transpose.getDims() != ArrayRef<int64_t>{1, 2})
    return std::nullopt;
  auto reshape = transpose.getInput().getDefiningOp<ReshapeOp>();
  if (!reshape)
    return std::nullopt;
  auto x = cast<RankedTensorType>(reshape.getInput().getType()).getShape();
  auto split = cast<RankedTensorType>(reshape.getType()).getShape();
  if (x.size() != 4 || split.size() != 5 || shape != x || split[0] != x[0] ||
      split[1] * split[2] != x[1] || split[3] != x[2] || split[4] != x[3])
    return std::nullopt;
  return split[1];
}

LogicalResult convertReshape(NodeContext &c) {
  if (failed(c.expectAttributes({"allowzero"})))
    return failure();
  auto x = c.activation(0, "data");
  auto k = c.constant(1, "shape");
  auto allowZero = c.getInt("allowzero", 0);
  if (failed(x) || failed(k) || failed(allowZero))
    return failure();
  auto target = intsOf(c, **k, "shape");
  if (failed(target))
    return failure();
  ArrayRef<int64_t> in = c.typeOf(*x).getShape();
  SmallVector<int64_t> shape;
  for (auto [i, d] : llvm::enumerate(*target)) {
    if (d == 0 && !*allowZero) {
      if (i >= in.size()) {
        c.error() << "shape " << str(*target) << " copies dimension " << i
                  << " of a rank-" << in.size() << " input";
        return failure();
      }
      shape.push_back(in[i]);
    } else {
      shape.push_back(d);
    }
  }
  // The -1 dimension, resolved (the channel shuffle test compares shapes).
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d == -1 && inferred < 0)
      inferred = int64_t(i);
    else
      known *= d;
  }
  int64_t numel = c.typeOf(*x).getNumElements();
  if (inferred >= 0 && known > 0 && numel % known == 0)
    shape[inferred] = numel / known;
  if (auto groups = channelShuffleGroups(*x, shape)) {
    Value original = x->getDefiningOp<TransposeOp>()
                         .getInput()
                         .getDefiningOp<ReshapeOp>()
                         .getInput();
    return produce(c, c.create<ChannelShuffleOp>({original},
                                                 {c.i64("groups", *groups)}),
                   false);
  }
  return produce(c, c.create<ReshapeOp>({*x}, {c.array("shape", shape)}), false);
}

LogicalResult convertFlatten(NodeContext &c) {
  if (failed(c.expectAttributes({"axis"})))
    return failure();
  auto x = c.activation(0, "input");
  auto axis = c.getInt("axis", 1);
  if (failed(x) || failed(axis))
    return failure();
  ArrayRef<int64_t> shape = c.typeOf(*x).getShape();
  int64_t rank = shape.size(), a = *axis < 0 ? *axis + rank : *axis;
  if (a < 0 || a > rank) {
    c.error() << "axis " << *axis << " is out of range for rank " << rank;
    return failure();
  }
  if (a == 1 && rank >= 2)
    return produce(c, c.create<FlattenOp>({*x}, {c.i64("start_dim", 1),
                                                 c.i64("end_dim", rank - 1)}));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < a ? outer : inner) *= shape[i];
  return produce(c, c.create<ReshapeOp>({*x}, {c.array("shape", {outer, inner})}),
                 false);
}

LogicalResult convertTranspose(NodeContext &c) {
  if (failed(c.expectAttributes({"perm"})))
    return failure();
  auto x = c.activation(0, "data");
  if (failed(x))
    return failure();
  int64_t rank = c.typeOf(*x).getRank();
  std::vector<int64_t> reversed;
  for (int64_t i = rank - 1; i >= 0; --i)
    reversed.push_back(i);
  auto perm = c.getInts("perm", reversed);
  if (failed(perm))
    return failure();
  SmallVector<int64_t> sorted(perm->begin(), perm->end());
  llvm::sort(sorted);
  bool valid = int64_t(perm->size()) == rank;
  for (int64_t i = 0; valid && i < rank; ++i)
    valid = sorted[i] == i;
  if (!valid) {
    c.error() << "perm " << str(*perm) << " is not a permutation of rank "
              << rank;
    return failure();
  }
  // Output dimension i is input dimension perm[i]: swap them into place
  // one at a time (kiln.transpose swaps two dimensions).
  SmallVector<int64_t> current;
  for (int64_t i = 0; i < rank; ++i)
    current.push_back(i);
  Value v = *x;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t j = llvm::find(current, (*perm)[i]) - current.begin();
    if (j == i)
      continue;
    auto t = c.create<TransposeOp>({v}, {c.array("dims", {i, j})});
    if (!t)
      return failure();
    std::swap(current[i], current[j]);
    v = t.getResult();
  }
  c.outputs.push_back({v, nullptr});
  return success();
}

/// Squeeze and Unsqueeze of an activation: a reshape.
LogicalResult convertSqueeze(NodeContext &c) {
  if (failed(c.expectAttributes({"axes"})))
    return failure();
  auto x = c.activation(0, "data");
  auto attrAxes = c.getInts("axes", {});
  if (failed(x) || failed(attrAxes))
    return failure();
  std::vector<int64_t> axes = *attrAxes;
  if (c.hasInput(1)) {
    auto k = c.constant(1, "axes");
    if (failed(k))
      return failure();
    auto ints = intsOf(c, **k, "axes");
    if (failed(ints))
      return failure();
    axes = *ints;
  }
  ArrayRef<int64_t> in = c.typeOf(*x).getShape();
  bool unsqueeze = c.node.opType == "Unsqueeze";
  int64_t rank = int64_t(in.size()) + (unsqueeze ? int64_t(axes.size()) : 0);
  std::vector<bool> marked(rank, false);
  for (int64_t a : axes) {
    auto d = resolveAxis(c, a, rank);
    if (failed(d))
      return failure();
    marked[*d] = true;
  }
  SmallVector<int64_t> shape;
  if (unsqueeze) {
    size_t next = 0;
    for (int64_t i = 0; i < rank; ++i)
      shape.push_back(marked[i] ? 1 : in[next++]);
  } else {
    for (int64_t i = 0; i < rank; ++i) {
      bool drop = axes.empty() ? in[i] == 1 : marked[i];
      if (drop && in[i] != 1) {
        c.error() << "cannot squeeze dimension " << i << " of size " << in[i];
        return failure();
      }
      if (!drop)
        shape.push_back(in[i]);
    }
  }
  return produce(c, c.create<ReshapeOp>({*x}, {c.array("shape", shape)}), false);
}

/// Shape of an activation: a constant from its static type.
LogicalResult convertShape(NodeContext &c) {
  if (failed(c.expectAttributes({"start", "end"})))
    return failure();
  auto x = c.activation(0, "data");
  auto start = c.getInt("start", 0);
  if (failed(x) || failed(start))
    return failure();
  ArrayRef<int64_t> shape = c.typeOf(*x).getShape();
  int64_t rank = shape.size();
  auto end = c.getInt("end", rank);
  if (failed(end))
    return failure();
  auto clampIndex = [&](int64_t i) {
    return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank);
  };
  int64_t s = clampIndex(*start), e = std::max(s, clampIndex(*end));
  std::vector<int64_t> dims(shape.begin() + s, shape.begin() + e);
  c.outputs.push_back(
      {nullptr, Constant::ofInts({int64_t(dims.size())}, dims)});
  return success();
}

} // namespace

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
