//===- OnnxLayers.cpp - ONNX layers to kiln ops -----------------------------===//
//
// This file implements the converters of the ONNX ops that are PyTorch
// layers with weights or windows: Conv (groups, dilation, auto_pad and
// asymmetric pads, which are cropped or padded), BatchNormalization, Gemm
// and MatMul (weights transposed to Linear's [N, K], Gemm's alpha and beta
// multiplied in), and pooling (MaxPool, AveragePool, the global pools,
// ReduceMean). Weights must be constants; they become `kiln.param`s named
// after the layer.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxConverters.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace kiln;

namespace kiln::onnx {
//===----------------------------------------------------------------------===//
// Padding
//===----------------------------------------------------------------------===//

/// The begin and end padding of the two spatial dimensions of a windowed
/// op (`pads` as [top, left, bottom, right], or `auto_pad`).
struct Pads {
  int64_t begin[2], end[2];
};

static FailureOr<Pads> spatialPads(NodeContext &c, RankedTensorType input,
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
      if (p.begin[i] > kMaxWindow || p.end[i] > kMaxWindow) {
        c.error() << "'pads' " << str(*pads) << " are too large";
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
static FailureOr<std::vector<int64_t>> pairAttr(NodeContext &c, StringRef name,
                                         int64_t min) {
  auto values = c.getInts(name, {1, 1});
  if (failed(values))
    return failure();
  if (values->size() != 2 || (*values)[0] < min || (*values)[1] < min ||
      (*values)[0] > kMaxWindow || (*values)[1] > kMaxWindow) {
    c.error() << "attribute '" << name << "' must be two values of at least "
              << min << ", got " << str(*values);
    return failure();
  }
  return values;
}

static FailureOr<Value> input4d(NodeContext &c) {
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
static LogicalResult buildLinear(NodeContext &c, Value x, ArrayRef<int64_t> dims,
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
static std::vector<float> transposed(const std::vector<float> &m, int64_t rows,
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
  if (c.typeOf(*a).getRank() != 2 || (*b)->dims.size() != 2) {
    c.error() << "expects a 2-D A and B, got " << c.typeOf(*a) << " and "
              << str((*b)->dims);
    return failure();
  }
  Value x = *a;
  if (*transA) {
    // Aᵀ, copied into M×K rows (a reshape of the transposed view copies).
    ArrayRef<int64_t> shape = c.typeOf(x).getShape();
    auto t = c.create<TransposeOp>({x}, {c.array("dims", {0, 1})});
    if (!t)
      return failure();
    auto rows = c.create<ReshapeOp>({t.getResult()},
                                    {c.array("shape", {shape[1], shape[0]})});
    if (!rows)
      return failure();
    x = rows.getResult();
  }
  int64_t k = c.typeOf(x).getDimSize(1);
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
  return buildLinear(c, x, {rows, cols}, std::move(w), std::move(bias));
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

/// Softmax along one axis. Before opset 13 the input is seen as a matrix,
/// the dimensions before `axis` (default 1) its rows and the others its
/// columns, and each row is normalized: a softmax over `axis` when the
/// dimensions after it are 1 (a classifier's N×C), else one over the
/// flattened columns (reshaped there and back). From opset 13 `axis`
/// (default -1) is the one dimension normalized.
LogicalResult convertSoftmax(NodeContext &c) {
  if (failed(c.expectAttributes({"axis"})))
    return failure();
  bool coerced = c.importer.model.opset < 13;
  auto x = c.activation(0, "input");
  auto axisAttr = c.getInt("axis", coerced ? 1 : -1);
  if (failed(x) || failed(axisAttr))
    return failure();
  RankedTensorType type = c.typeOf(*x);
  auto axis = resolveAxis(c, *axisAttr, type.getRank());
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t after = 1;
  for (int64_t d : shape.drop_front(*axis + 1))
    after *= d;
  if (!coerced || after == 1)
    return produce(c, c.create<SoftmaxOp>({*x}, {c.i64("dim", *axis)}));
  int64_t rows = 1;
  for (int64_t d : shape.take_front(*axis))
    rows *= d;
  auto matrix = c.create<ReshapeOp>({*x}, {c.array("shape", {rows, after * shape[*axis]})});
  if (!matrix)
    return failure();
  auto soft = c.create<SoftmaxOp>({matrix.getResult()}, {c.i64("dim", 1)});
  if (!soft)
    return failure();
  c.layerOp = soft;
  return produce(c, c.create<ReshapeOp>({soft.getResult()}, {c.array("shape", shape)}),
                 false);
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
  if (kernel->size() != 2 || (*kernel)[0] < 1 || (*kernel)[1] < 1 ||
      (*kernel)[0] > kMaxWindow || (*kernel)[1] > kMaxWindow) {
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
  auto attrAxes = c.getInts("axes", {});
  if (failed(x) || failed(keep) || failed(attrAxes))
    return failure();
  auto axes = intsInputOr(c, 1, "axes", *attrAxes); // an input from opset 18
  if (failed(axes))
    return failure();
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

} // namespace kiln::onnx
