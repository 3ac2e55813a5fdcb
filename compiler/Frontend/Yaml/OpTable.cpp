//===- OpTable.cpp - the ops a model spec can use -------------------------===//
//
// This file implements the YAML op table: one row per op with its PyTorch
// fields and a builder that emits kiln IR. Builders check what only the
// input shapes can tell (channels against `in_channels`, dimensions in
// range), then let the op's own shape rule check the rest.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/OpTable.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace kiln;
using namespace kiln::frontend;

//===----------------------------------------------------------------------===//
// OpBuildContext
//===----------------------------------------------------------------------===//

int64_t OpBuildContext::getInt(StringRef name) const {
  return fields.find(name)->second.value.integer;
}

std::array<int64_t, 2> OpBuildContext::getPair(StringRef name) const {
  const expr::Value &v = fields.find(name)->second.value;
  if (v.kind == expr::Value::Kind::List)
    return {v.list[0].integer, v.list[1].integer};
  return {v.integer, v.integer};
}

SmallVector<int64_t> OpBuildContext::getInts(StringRef name) const {
  const expr::Value &v = fields.find(name)->second.value;
  if (v.kind != expr::Value::Kind::List)
    return {v.integer};
  SmallVector<int64_t> out;
  for (const expr::Value &item : v.list)
    out.push_back(item.integer);
  return out;
}

bool OpBuildContext::getBool(StringRef name) const {
  return fields.find(name)->second.value.boolean;
}

double OpBuildContext::getFloat(StringRef name) const {
  return fields.find(name)->second.value.toDouble();
}

bool OpBuildContext::has(StringRef name) const {
  auto it = fields.find(name);
  return it != fields.end() && it->second.value.kind != expr::Value::Kind::None;
}

RankedTensorType OpBuildContext::inputType(unsigned i) const {
  return cast<RankedTensorType>(inputs[i].getType());
}

InFlightDiagnostic OpBuildContext::emitError(StringRef field) const {
  auto it = field.empty() ? fields.end() : fields.find(field);
  return mlir::emitError(it != fields.end() ? it->second.loc : loc);
}

LogicalResult OpBuildContext::checkSize(RankedTensorType type) const {
  constexpr int64_t kMaxElements = int64_t(1) << 40;
  int64_t n = 1;
  for (int64_t d : type.getShape())
    if (d < 0 || __builtin_mul_overflow(n, d, &n) || n > kMaxElements) {
      emitError() << "tensor " << type << " is too large";
      return failure();
    }
  return success();
}

mlir::Value OpBuildContext::param(StringRef suffix, ArrayRef<int64_t> shape,
                                  ParamRole role) {
  auto type = RankedTensorType::get(shape, builder.getF32Type());
  if (failed(checkSize(type)))
    return nullptr;
  return builder.create<ParamOp>(loc, type,
                                 builder.getStringAttr(path + "." + suffix),
                                 ParamRoleAttr::get(builder.getContext(), role));
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

using expr::Value;

/// Checks that the input has rank |rank|; |what| describes the layout.
LogicalResult expectInputRank(OpBuildContext &c, int64_t rank,
                              StringRef what) {
  RankedTensorType type = c.inputType();
  if (type.getRank() == rank)
    return success();
  c.emitError() << "expects " << what << " input, got " << type;
  return failure();
}

/// Resolves a PyTorch dimension index (negative counts from the end).
FailureOr<int64_t> resolveDim(OpBuildContext &c, StringRef field,
                              int64_t rank, int64_t dim) {
  int64_t resolved = dim < 0 ? dim + rank : dim;
  if (resolved < 0 || resolved >= rank) {
    c.emitError(field) << "dimension " << dim
                       << " is out of range for a tensor of rank " << rank;
    return failure();
  }
  return resolved;
}

/// Checks an optional `in_channels`-like field against the actual count.
LogicalResult checkDeclared(OpBuildContext &c, StringRef field,
                            int64_t actual, StringRef what) {
  if (!c.has(field) || c.getInt(field) == actual)
    return success();
  c.emitError(field) << "'" << field << "' is " << c.getInt(field)
                     << " but the input has " << actual << " " << what;
  return failure();
}

/// Checks that every element of field |name| is at least |min|.
LogicalResult checkAtLeast(OpBuildContext &c, StringRef name, int64_t min) {
  for (int64_t v : c.getInts(name))
    if (v < min) {
      c.emitError(name) << "'" << name << "' must be at least " << min
                        << ", got " << v;
      return failure();
    }
  return success();
}

Operation *buildConv2d(OpBuildContext &c) {
  if (failed(expectInputRank(c, 4, "an N×C×H×W")))
    return nullptr;
  int64_t channels = c.inputType().getDimSize(1);
  int64_t out = c.getInt("out_channels"), groups = c.getInt("groups");
  auto kernel = c.getPair("kernel_size");
  if (failed(checkDeclared(c, "in_channels", channels, "channels")) ||
      failed(checkAtLeast(c, "out_channels", 1)) ||
      failed(checkAtLeast(c, "kernel_size", 1)) ||
      failed(checkAtLeast(c, "stride", 1)) ||
      failed(checkAtLeast(c, "padding", 0)) ||
      failed(checkAtLeast(c, "dilation", 1)) ||
      failed(checkAtLeast(c, "groups", 1)))
    return nullptr;
  if (channels % groups != 0) {
    c.emitError("groups") << "the input's " << channels
                          << " channels are not divisible by groups = "
                          << groups;
    return nullptr;
  }
  if (out % groups != 0) {
    c.emitError("groups") << "out_channels = " << out
                          << " is not divisible by groups = " << groups;
    return nullptr;
  }
  SmallVector<mlir::Value> operands = {
      c.inputs[0],
      c.param("weight", {out, channels / groups, kernel[0], kernel[1]})};
  if (c.getBool("bias"))
    operands.push_back(c.param("bias", {out}));
  if (llvm::is_contained(operands, nullptr))
    return nullptr;
  auto stride = c.getPair("stride"), padding = c.getPair("padding"),
       dilation = c.getPair("dilation");
  int32_t hasBias = c.getBool("bias");
  return c.create<Conv2dOp>(
      operands,
      {c.array("stride", stride), c.array("padding", padding),
       c.array("dilation", dilation), c.i64("groups", groups),
       c.attr("operandSegmentSizes",
              c.builder.getDenseI32ArrayAttr({1, 1, hasBias, 0, 0}))});
}

Operation *buildBatchNorm(OpBuildContext &c) {
  RankedTensorType type = c.inputType();
  if (type.getRank() < 2 || type.getRank() > 4) {
    c.emitError() << "expects an N×C, N×C×L or N×C×H×W input, got " << type;
    return nullptr;
  }
  int64_t channels = type.getDimSize(1);
  if (failed(checkDeclared(c, "num_features", channels, "channels")))
    return nullptr;
  c.moduleClass = type.getRank() == 4 ? "BatchNorm2d" : "BatchNorm1d";
  double eps = c.getFloat("eps");
  if (!(eps >= 0)) {
    c.emitError("eps") << "'eps' must be non-negative";
    return nullptr;
  }
  SmallVector<mlir::Value> operands = {
      c.inputs[0], c.param("weight", {channels}), c.param("bias", {channels}),
      c.param("running_mean", {channels}, ParamRole::buffer),
      c.param("running_var", {channels}, ParamRole::buffer)};
  if (llvm::is_contained(operands, nullptr))
    return nullptr;
  return c.create<BatchNormOp>(
      operands, {c.attr("epsilon", c.builder.getF64FloatAttr(eps))});
}

Operation *buildLinear(OpBuildContext &c) {
  RankedTensorType type = c.inputType();
  if (type.getRank() < 1) {
    c.emitError() << "expects an input with features in its last dimension";
    return nullptr;
  }
  int64_t in = type.getShape().back(), out = c.getInt("out_features");
  if (failed(checkDeclared(c, "in_features", in, "features")) ||
      failed(checkAtLeast(c, "out_features", 1)))
    return nullptr;
  SmallVector<mlir::Value> operands = {c.inputs[0],
                                       c.param("weight", {out, in})};
  if (c.getBool("bias"))
    operands.push_back(c.param("bias", {out}));
  if (llvm::is_contained(operands, nullptr))
    return nullptr;
  int32_t hasBias = c.getBool("bias");
  return c.create<LinearOp>(
      operands, {c.attr("operandSegmentSizes",
                        c.builder.getDenseI32ArrayAttr({1, 1, hasBias, 0}))});
}

template <typename OpT>
Operation *buildUnary(OpBuildContext &c) {
  return c.create<OpT>(c.inputs);
}

Operation *buildDropout(OpBuildContext &c) {
  double p = c.getFloat("p");
  if (!(p >= 0 && p < 1)) {
    c.emitError("p") << "'p' must be in [0, 1), got " << p;
    return nullptr;
  }
  return c.create<DropoutOp>(c.inputs,
                             {c.attr("p", c.builder.getF64FloatAttr(p))});
}

/// leaky_relu and elu: one finite parameter, field |field|.
template <typename OpT>
Operation *buildScalarParam(OpBuildContext &c, StringRef field) {
  double alpha = c.getFloat(field);
  if (!std::isfinite(alpha)) {
    c.emitError(field) << "'" << field << "' must be a finite number";
    return nullptr;
  }
  return c.create<OpT>(c.inputs,
                       {c.attr("alpha", c.builder.getF64FloatAttr(alpha))});
}

/// clamp (min, max) and hardtanh (min_val, max_val): finite bounds, at
/// least one of them, min <= max.
Operation *buildClamp(OpBuildContext &c, StringRef minField,
                      StringRef maxField) {
  SmallVector<NamedAttribute, 2> attrs;
  std::optional<double> lo, hi;
  for (StringRef field : {minField, maxField}) {
    if (!c.has(field))
      continue;
    double v = c.getFloat(field);
    if (!std::isfinite(v)) {
      c.emitError(field) << "'" << field << "' must be a finite number";
      return nullptr;
    }
    (field == minField ? lo : hi) = v;
    attrs.push_back(c.attr(field == minField ? "min" : "max",
                           c.builder.getF64FloatAttr(v)));
  }
  if (!lo && !hi) {
    c.emitError() << "'clamp' needs '" << minField << "' or '" << maxField << "'";
    return nullptr;
  }
  if (lo && hi && *lo > *hi) {
    auto text = [](double v) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%g", v);
      return std::string(buffer);
    };
    c.emitError(minField) << "'" << minField << "' (" << text(*lo)
                          << ") must not exceed '" << maxField << "' ("
                          << text(*hi) << ")";
    return nullptr;
  }
  return c.create<ClampOp>(c.inputs, attrs);
}

Operation *buildSoftmax(OpBuildContext &c) {
  auto dim = resolveDim(c, "dim", c.inputType().getRank(), c.getInt("dim"));
  if (failed(dim))
    return nullptr;
  return c.create<SoftmaxOp>(c.inputs, {c.i64("dim", *dim)});
}

Operation *buildUpsample(OpBuildContext &c) {
  if (failed(expectInputRank(c, 4, "an N×C×H×W")) ||
      failed(checkAtLeast(c, "scale_factor", 1)))
    return nullptr;
  auto [sh, sw] = c.getPair("scale_factor");
  return c.create<UpsampleNearestOp>(c.inputs, {c.array("scale", {sh, sw})});
}

/// buffer and parameter: a tensor of the enclosing module, named by the
/// layer (its state_dict key is the module's path and that name).
Operation *buildTensor(OpBuildContext &c, ParamRole role) {
  if (failed(checkAtLeast(c, "shape", 1)))
    return nullptr;
  SmallVector<int64_t> shape = c.getInts("shape");
  auto type = RankedTensorType::get(shape, c.builder.getF32Type());
  if (failed(c.checkSize(type)))
    return nullptr;
  return c.builder.create<ParamOp>(c.loc, type, c.builder.getStringAttr(c.path),
                                   ParamRoleAttr::get(c.builder.getContext(), role));
}

Operation *buildPad(OpBuildContext &c) {
  if (failed(expectInputRank(c, 4, "an N×C×H×W")) ||
      failed(checkAtLeast(c, "pad", 0)))
    return nullptr;
  // F.pad's order: (left, right, top, bottom); two values pad the width.
  SmallVector<int64_t> pad = c.getInts("pad");
  if (pad.size() != 2 && pad.size() != 4) {
    c.emitError("pad") << "'pad' is (left, right) or (left, right, top, "
                          "bottom), got "
                       << pad.size() << " values";
    return nullptr;
  }
  pad.resize(4, 0);
  double value = c.getFloat("value");
  if (!std::isfinite(value)) {
    c.emitError("value") << "'value' must be a finite number";
    return nullptr;
  }
  return c.create<PadOp>(
      c.inputs, {c.array("pads", {pad[2], pad[0], pad[3], pad[1]}),
                 c.attr("value", c.builder.getF64FloatAttr(value))});
}

template <typename OpT>
Operation *buildBinary(OpBuildContext &c) {
  return c.create<OpT>(c.inputs);
}

Operation *buildMaxPool2d(OpBuildContext &c) {
  if (failed(expectInputRank(c, 4, "an N×C×H×W")) ||
      failed(checkAtLeast(c, "kernel_size", 1)) ||
      failed(checkAtLeast(c, "padding", 0)) ||
      failed(checkAtLeast(c, "dilation", 1)))
    return nullptr;
  auto kernel = c.getPair("kernel_size");
  auto stride = c.has("stride") ? c.getPair("stride") : kernel;
  if (c.has("stride") && failed(checkAtLeast(c, "stride", 1)))
    return nullptr;
  SmallVector<NamedAttribute> attrs = {
      c.array("kernel", kernel), c.array("stride", stride),
      c.array("padding", c.getPair("padding")),
      c.array("dilation", c.getPair("dilation"))};
  if (c.getBool("ceil_mode"))
    attrs.push_back(c.attr("ceil_mode", c.builder.getUnitAttr()));
  return c.create<MaxPool2dOp>(c.inputs, attrs);
}

Operation *buildAvgPool2d(OpBuildContext &c) {
  if (failed(expectInputRank(c, 4, "an N×C×H×W")) ||
      failed(checkAtLeast(c, "kernel_size", 1)) ||
      failed(checkAtLeast(c, "padding", 0)))
    return nullptr;
  auto kernel = c.getPair("kernel_size");
  auto stride = c.has("stride") ? c.getPair("stride") : kernel;
  if (c.has("stride") && failed(checkAtLeast(c, "stride", 1)))
    return nullptr;
  SmallVector<NamedAttribute> attrs = {c.array("kernel", kernel),
                                       c.array("stride", stride),
                                       c.array("padding", c.getPair("padding"))};
  if (c.getBool("ceil_mode"))
    attrs.push_back(c.attr("ceil_mode", c.builder.getUnitAttr()));
  if (!c.getBool("count_include_pad"))
    attrs.push_back(c.attr("exclude_pad", c.builder.getUnitAttr()));
  return c.create<AvgPool2dOp>(c.inputs, attrs);
}

Operation *buildAdaptiveAvgPool2d(OpBuildContext &c) {
  if (failed(expectInputRank(c, 4, "an N×C×H×W")) ||
      failed(checkAtLeast(c, "output_size", 1)))
    return nullptr;
  return c.create<AdaptiveAvgPool2dOp>(
      c.inputs, {c.array("output_size", c.getPair("output_size"))});
}

Operation *buildMean(OpBuildContext &c) {
  int64_t rank = c.inputType().getRank();
  SmallVector<int64_t> dims;
  for (int64_t d : c.getInts("dim")) {
    auto resolved = resolveDim(c, "dim", rank, d);
    if (failed(resolved))
      return nullptr;
    dims.push_back(*resolved);
  }
  SmallVector<NamedAttribute> attrs = {c.array("dims", dims)};
  if (c.getBool("keepdim"))
    attrs.push_back(c.attr("keepdim", c.builder.getUnitAttr()));
  return c.create<MeanOp>(c.inputs, attrs);
}

Operation *buildFlatten(OpBuildContext &c) {
  int64_t rank = c.inputType().getRank();
  auto start = resolveDim(c, "start_dim", rank, c.getInt("start_dim"));
  if (failed(start))
    return nullptr;
  auto end = resolveDim(c, "end_dim", rank, c.getInt("end_dim"));
  if (failed(end))
    return nullptr;
  if (*start > *end) {
    c.emitError("end_dim") << "flatten: start_dim " << *start
                           << " comes after end_dim " << *end;
    return nullptr;
  }
  return c.create<FlattenOp>(c.inputs, {c.i64("start_dim", *start),
                                        c.i64("end_dim", *end)});
}

Operation *buildReshape(OpBuildContext &c) {
  return c.create<ReshapeOp>(c.inputs, {c.array("shape", c.getInts("shape"))});
}

Operation *buildTranspose(OpBuildContext &c) {
  int64_t rank = c.inputType().getRank();
  auto d0 = resolveDim(c, "dim0", rank, c.getInt("dim0"));
  if (failed(d0))
    return nullptr;
  auto d1 = resolveDim(c, "dim1", rank, c.getInt("dim1"));
  if (failed(d1))
    return nullptr;
  return c.create<TransposeOp>(c.inputs, {c.array("dims", {*d0, *d1})});
}

Operation *buildConcat(OpBuildContext &c) {
  auto dim = resolveDim(c, "dim", c.inputType().getRank(), c.getInt("dim"));
  if (failed(dim))
    return nullptr;
  return c.create<ConcatOp>(c.inputs, {c.i64("dim", *dim)});
}

Operation *buildSlice(OpBuildContext &c) {
  auto dim = resolveDim(c, "dim", c.inputType().getRank(), c.getInt("dim"));
  if (failed(dim))
    return nullptr;
  int64_t size = c.inputType().getDimSize(*dim);
  int64_t step = c.getInt("step");
  if (step < 1) {
    c.emitError("step") << "slice step must be positive, got " << step;
    return nullptr;
  }
  // Python slice bounds: negative counts from the end, out of range clamps.
  auto bound = [&](StringRef field, int64_t otherwise) {
    if (!c.has(field))
      return otherwise;
    int64_t v = c.getInt(field);
    if (v < 0)
      v += size;
    return std::clamp<int64_t>(v, 0, size);
  };
  int64_t start = bound("start", 0), end = bound("end", size);
  if (start >= end) {
    auto written = [&](StringRef field) {
      return c.has(field) ? std::to_string(c.getInt(field)) : std::string();
    };
    c.emitError() << "slice [" << written("start") << ":" << written("end")
                  << "] of dimension " << *dim << " (size " << size
                  << ") is empty";
    return nullptr;
  }
  return c.create<SliceOp>(c.inputs,
                           {c.i64("dim", *dim), c.i64("start", start),
                            c.i64("end", end), c.i64("step", step)});
}

Operation *buildSplit(OpBuildContext &c) {
  auto dim = resolveDim(c, "dim", c.inputType().getRank(), c.getInt("dim"));
  if (failed(dim) || failed(checkAtLeast(c, "split_size", 1)))
    return nullptr;
  int64_t size = c.inputType().getDimSize(*dim);
  SmallVector<int64_t> sizes = c.getInts("split_size");
  if (c.fields.find("split_size")->second.value.kind != Value::Kind::List) {
    // torch.split(x, n): pieces of n, the last one shorter.
    int64_t piece = sizes[0];
    sizes.clear();
    for (int64_t begin = 0; begin < size; begin += piece)
      sizes.push_back(std::min(piece, size - begin));
  }
  return c.create<SplitOp>(c.inputs,
                           {c.i64("dim", *dim), c.array("sizes", sizes)});
}

Operation *buildChunk(OpBuildContext &c) {
  auto dim = resolveDim(c, "dim", c.inputType().getRank(), c.getInt("dim"));
  if (failed(dim) || failed(checkAtLeast(c, "chunks", 1)))
    return nullptr;
  return c.create<ChunkOp>(c.inputs, {c.i64("dim", *dim),
                                      c.i64("chunks", c.getInt("chunks"))});
}

Operation *buildChannelShuffle(OpBuildContext &c) {
  if (failed(checkAtLeast(c, "groups", 1)))
    return nullptr;
  return c.create<ChannelShuffleOp>(c.inputs,
                                    {c.i64("groups", c.getInt("groups"))});
}

/// Fields every activation module accepts and ignores.
const FieldSpec kInplace = {"inplace", FieldType::Bool, "false"};

std::vector<OpSpec> makeTable() {
  using F = FieldType;
  return {
      {"conv2d", "Conv2d", Arity::One, true,
       {{"in_channels", F::IntOrNone, "null"},
        {"out_channels", F::Int, nullptr},
        {"kernel_size", F::IntPair, nullptr},
        {"stride", F::IntPair, "1"},
        {"padding", F::IntPair, "0"},
        {"dilation", F::IntPair, "1"},
        {"groups", F::Int, "1"},
        {"bias", F::Bool, "true"}},
       buildConv2d},
      {"batch_norm", "BatchNorm2d", Arity::One, true,
       {{"num_features", F::IntOrNone, "null"},
        {"eps", F::Float, "1e-5"},
        {"momentum", F::Float, "0.1"}},
       buildBatchNorm},
      {"linear", "Linear", Arity::One, true,
       {{"in_features", F::IntOrNone, "null"},
        {"out_features", F::Int, nullptr},
        {"bias", F::Bool, "true"}},
       buildLinear},
      {"relu", "ReLU", Arity::One, false, {kInplace}, buildUnary<ReluOp>},
      {"relu6", "ReLU6", Arity::One, false, {kInplace}, buildUnary<Relu6Op>},
      {"sigmoid", "Sigmoid", Arity::One, false, {}, buildUnary<SigmoidOp>},
      {"hard_sigmoid", "Hardsigmoid", Arity::One, false, {kInplace},
       buildUnary<HardSigmoidOp>},
      {"hard_swish", "Hardswish", Arity::One, false, {kInplace},
       buildUnary<HardSwishOp>},
      {"silu", "SiLU", Arity::One, false, {kInplace}, buildUnary<SiluOp>},
      {"identity", "Identity", Arity::One, false, {}, buildUnary<IdentityOp>},
      {"tanh", "Tanh", Arity::One, false, {}, buildUnary<TanhOp>},
      {"leaky_relu", "LeakyReLU", Arity::One, false,
       {{"negative_slope", F::Float, "0.01"}, kInplace},
       [](OpBuildContext &c) {
         return buildScalarParam<LeakyReluOp>(c, "negative_slope");
       }},
      {"elu", "ELU", Arity::One, false,
       {{"alpha", F::Float, "1.0"}, kInplace},
       [](OpBuildContext &c) { return buildScalarParam<EluOp>(c, "alpha"); }},
      {"pad", nullptr, Arity::One, false,
       {{"pad", F::IntList, nullptr}, {"value", F::Float, "0.0"}},
       buildPad},
      {"clamp", "Hardtanh", Arity::One, false,
       {{"min", F::FloatOrNone, "null"}, {"max", F::FloatOrNone, "null"}},
       [](OpBuildContext &c) { return buildClamp(c, "min", "max"); }},
      {"hardtanh", "Hardtanh", Arity::One, false,
       {{"min_val", F::FloatOrNone, "-1.0"},
        {"max_val", F::FloatOrNone, "1.0"},
        kInplace},
       [](OpBuildContext &c) { return buildClamp(c, "min_val", "max_val"); }},
      {"softmax", "Softmax", Arity::One, false, {{"dim", F::Int, nullptr}},
       buildSoftmax},
      {"upsample_nearest", "Upsample", Arity::One, false,
       {{"scale_factor", F::IntPair, nullptr}},
       buildUpsample},
      {"buffer", nullptr, Arity::None, true, {{"shape", F::IntList, nullptr}},
       [](OpBuildContext &c) { return buildTensor(c, ParamRole::buffer); }},
      {"parameter", nullptr, Arity::None, true, {{"shape", F::IntList, nullptr}},
       [](OpBuildContext &c) { return buildTensor(c, ParamRole::parameter); }},
      {"dropout", "Dropout", Arity::One, false,
       {{"p", F::Float, "0.5"}, kInplace},
       buildDropout},
      {"add", nullptr, Arity::Two, false, {}, buildBinary<AddOp>},
      {"mul", nullptr, Arity::Two, false, {}, buildBinary<MulOp>},
      {"sub", nullptr, Arity::Two, false, {}, buildBinary<SubOp>},
      {"div", nullptr, Arity::Two, false, {}, buildBinary<DivOp>},
      {"max_pool2d", "MaxPool2d", Arity::One, false,
       {{"kernel_size", F::IntPair, nullptr},
        {"stride", F::IntPair, "null"},
        {"padding", F::IntPair, "0"},
        {"dilation", F::IntPair, "1"},
        {"ceil_mode", F::Bool, "false"}},
       buildMaxPool2d},
      {"avg_pool2d", "AvgPool2d", Arity::One, false,
       {{"kernel_size", F::IntPair, nullptr},
        {"stride", F::IntPair, "null"},
        {"padding", F::IntPair, "0"},
        {"ceil_mode", F::Bool, "false"},
        {"count_include_pad", F::Bool, "true"}},
       buildAvgPool2d},
      {"adaptive_avg_pool2d", "AdaptiveAvgPool2d", Arity::One, false,
       {{"output_size", F::IntPair, nullptr}},
       buildAdaptiveAvgPool2d},
      {"mean", nullptr, Arity::One, false,
       {{"dim", F::IntList, nullptr}, {"keepdim", F::Bool, "false"}},
       buildMean},
      {"flatten", "Flatten", Arity::One, false,
       {{"start_dim", F::Int, "1"}, {"end_dim", F::Int, "-1"}},
       buildFlatten},
      {"reshape", nullptr, Arity::One, false,
       {{"shape", F::IntList, nullptr}},
       buildReshape},
      {"transpose", nullptr, Arity::One, false,
       {{"dim0", F::Int, nullptr}, {"dim1", F::Int, nullptr}},
       buildTranspose},
      {"concat", nullptr, Arity::Many, false,
       {{"dim", F::Int, nullptr}},
       buildConcat},
      {"slice", nullptr, Arity::One, false,
       {{"dim", F::Int, nullptr},
        {"start", F::IntOrNone, "null"},
        {"end", F::IntOrNone, "null"},
        {"step", F::Int, "1"}},
       buildSlice},
      {"split", nullptr, Arity::One, false,
       {{"split_size", F::IntList, nullptr}, {"dim", F::Int, nullptr}},
       buildSplit},
      {"chunk", nullptr, Arity::One, false,
       {{"chunks", F::Int, nullptr}, {"dim", F::Int, nullptr}},
       buildChunk},
      {"channel_shuffle", "ChannelShuffle", Arity::One, false,
       {{"groups", F::Int, nullptr}},
       buildChannelShuffle},
  };
}

} // namespace

ArrayRef<OpSpec> kiln::frontend::allOps() {
  static const std::vector<OpSpec> table = makeTable();
  return table;
}

const OpSpec *kiln::frontend::lookupOp(StringRef name) {
  for (const OpSpec &spec : allOps())
    if (name == spec.name)
      return &spec;
  return nullptr;
}
