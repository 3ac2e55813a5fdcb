//===- CpuEmitter.cpp - planned kiln IR to C++ for the CPU ----------------===//
//
// This file implements the CPU code generator. It reads planned IR (after
// --kiln-choose-layout and --kiln-plan-memory) and prints, for each op in
// program order:
//   * a kernel call of runtime/include/kiln/cpu with the shapes as
//     compile-time constants (convolution and linear layers with their fused
//     epilogues, pooling, the squeeze-and-excitation gate),
//   * a loop nest from the shared generator (elementwise ops, unfused batch
//     norm, layout conversions, copying concats, channel shuffle), or
//   * nothing: views (identity, dropout, transpose, slices, splits, chunks,
//     reshapes of contiguous data) and in-place concats only change how
//     later code addresses memory.
//
// A value's storage is a base pointer (the arena, the model's input or
// output, or prepared weights), an offset and one stride per logical
// (PyTorch) dimension; the plan says where each buffer starts and the layout
// attributes how it is ordered. Weight-only values (params, batch-norm
// folding) become the prepare step: evaluated once, then packed.
//
// The kernel calls of a large network are spread over a few translation
// units (`kiln_step_N` functions that run() calls in order), so that the
// host compiler builds them on several cores; each kernel instance is
// compiled in one unit only.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/CpuEmitter.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "compiler/Target/Common/LoopNest.h"
#include "compiler/Target/Common/Storage.h"
#include "compiler/Target/Common/WeightCode.h"
#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <set>
#include <thread>
#include <numeric>

using namespace mlir;
using namespace kiln;

namespace {

/// Distinct kernel instances per extra translation unit, and the most such
/// units: each unit costs ~1 s of parsing the kernel headers, an instance
/// about 0.3 s of optimizing.
constexpr int kInstancesPerUnit = 6;
constexpr int kMaxKernelUnits = 4;

/// The scalar C expression of a unary op applied to |x| (the CPU table).
std::string unaryExpr(Operation *op, StringRef x) {
  std::string v = x.str();
  std::string relu6 = "std::min(std::max(" + v + " + 3.0f, 0.0f), 6.0f)";
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case([&](ReluOp) { return "std::max(" + v + ", 0.0f)"; })
      .Case([&](Relu6Op) { return "std::min(std::max(" + v + ", 0.0f), 6.0f)"; })
      .Case([&](SigmoidOp) { return "1.0f / (1.0f + std::exp(-" + v + "))"; })
      .Case([&](HardSigmoidOp) { return relu6 + " / 6.0f"; })
      .Case([&](HardSwishOp) { return v + " * " + relu6 + " / 6.0f"; })
      .Default([](Operation *) { return std::string(); });
}

class CpuEmitter {
public:
  CpuEmitter(func::FuncOp func, const ModelParams &params)
      : func(func), params(params) {}
  LogicalResult emit(const CpuEmitOptions &options, CpuSource &source);

private:
  func::FuncOp func;
  const ModelParams &params;
  llvm::DenseMap<Value, Storage> storage;
  /// Inputs of in-place concats: the concat and the input's channel offset.
  ConcatSlots producedSlots;
  /// The code of the op being emitted.
  std::string run;
  /// The run function's body: the code of each op, in order.
  std::vector<std::string> steps;
  /// Kernel shape constants, deduplicated by their text.
  std::map<std::string, std::string> constantNames;
  std::vector<std::string> constants;
  /// Prepared weights: size expression and code per item.
  std::vector<std::pair<std::string, std::string>> prepared;
  /// A prepared item that packs a layer's weights: kind<shape>_pack(data).
  struct Pack {
    std::string kind, shape, data;
  };
  /// The packing items, by prepared item index.
  std::map<size_t, Pack> packItems;
  /// Raw weights and their transforms (batch-norm folding).
  WeightCode weightCode{params};
  int kernels = 0;

  //===--------------------------------------------------------------------===//
  // Storage
  //===--------------------------------------------------------------------===//

  static std::string ptr(const Storage &s) {
    return s.offset ? "(" + s.base + " + " + std::to_string(s.offset) + ")"
                    : s.base;
  }

  Storage arenaAt(int64_t bytes, ArrayRef<int64_t> shape, bool nhwc) {
    Storage s;
    s.base = "A";
    s.offset = bytes / 4;
    s.shape.assign(shape.begin(), shape.end());
    s.strides = nhwc ? nhwcStrides(shape) : rowMajorStrides(shape);
    return s;
  }

  /// The storage of |op|'s result as the plan placed it.
  FailureOr<Storage> resultStorage(Operation *op) {
    Value result = op->getResult(0);
    Dims shape = shapeOf(result);
    bool nhwc = false;
    if (auto layout = op->getAttrOfType<LayoutAttr>(KilnDialect::getLayoutAttrName()))
      nhwc = layout.getValue() == Layout::nhwc;
    if (auto convert = dyn_cast<ConvertLayoutOp>(op))
      nhwc = convert.getLayout() == Layout::nhwc;
    // An input of an in-place concat is a channel slice of its buffer.
    if (auto it = producedSlots.find(result); it != producedSlots.end()) {
      auto [concat, index] = it->second;
      auto offset = concat->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName());
      if (!offset)
        return op->emitError("the in-place concat has no planned offset");
      return kiln::concatSlot(
          concat, index, arenaAt(offset.getInt(), shapeOf(concat.getResult()), true));
    }
    if (auto offset = op->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName()))
      return arenaAt(offset.getInt(), shape, nhwc);
    // The plan sends a non-4-D model output straight to the caller.
    if (result.hasOneUse() && isa<func::ReturnOp>(*result.getUsers().begin()) &&
        shape.size() != 4) {
      Storage s;
      s.base = "output";
      s.shape = shape;
      s.strides = rowMajorStrides(shape);
      return s;
    }
    return op->emitError("the CPU target needs planned IR (no kiln.offset on "
                         "this op; run --kiln-plan-memory)");
  }

  std::string scratch(Operation *op) {
    auto bytes = op->getAttrOfType<IntegerAttr>(KilnDialect::getScratchAttrName());
    return bytes ? "(A + " + std::to_string(bytes.getInt() / 4) + ")" : "";
  }

  /// The NHWC storage of |v| a kernel reads, and its pixel stride.
  FailureOr<std::pair<Storage, int64_t>> kernelInput(Operation *op, Value v) {
    Storage s = storage.lookup(v);
    auto stride = nhwcPixelStride(s);
    if (!stride)
      return op->emitError("operand is not channels-last (choose-layout "
                           "should have converted it)");
    return std::make_pair(s, *stride);
  }

  void emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                       std::string expr, bool accumulate = false);

  //===--------------------------------------------------------------------===//
  // Constants and prepared weights
  //===--------------------------------------------------------------------===//

  std::string constant(StringRef type, const std::string &init) {
    std::string text = type.str() + init;
    auto it = constantNames.find(text);
    if (it != constantNames.end())
      return it->second;
    std::string name = "k" + type.str() + std::to_string(constants.size());
    constants.push_back("constexpr kiln::cpu::" + type.str() + " " + name +
                        init + ";");
    return constantNames[text] = name;
  }

  /// Adds a prepared item of |size| floats filled by |code| (which names
  /// the item's pointer "@P"); returns the pointer's C++ expression.
  std::string addPrepared(std::string size, std::string code) {
    std::string dst = "(w + kP" + std::to_string(prepared.size()) + ")";
    size_t pos;
    while ((pos = code.find("@P")) != std::string::npos)
      code.replace(pos, 2, dst);
    prepared.push_back({std::move(size), std::move(code)});
    return dst;
  }

  FailureOr<std::string> weightData(Operation *user, Value v) {
    return weightCode.data(user, v);
  }
  /// Packs |weight| for the kernel |kind|<|name|> ("conv2d" or "linear").
  FailureOr<std::string> packed(Operation *op, Value weight, StringRef kind,
                                StringRef name);
  /// Copies a weight vector (a bias) into the prepared weights.
  FailureOr<std::string> vector(Operation *op, Value v);

  //===--------------------------------------------------------------------===//
  // Ops
  //===--------------------------------------------------------------------===//

  /// The run function's code: the ops of |body| in order.
  LogicalResult emitBody(Block &body);
  LogicalResult emitOp(Operation *op);
  LogicalResult emitConv(Conv2dOp op);
  LogicalResult emitLinear(LinearOp op);
  LogicalResult emitSeGate(SqueezeExciteGateOp op);
  LogicalResult emitBatchNorm(BatchNormOp op);
  LogicalResult emitPool(Operation *op);
  LogicalResult emitAdaptivePool(Operation *op, Value input, int64_t oh,
                                 int64_t ow);
  LogicalResult emitMean(MeanOp op);
  LogicalResult emitConcat(ConcatOp op);
  LogicalResult emitChannelShuffle(ChannelShuffleOp op);
  void emitViews(Operation *op);

  std::string adaptivePoolCall(const Storage &in, int64_t stride,
                               StringRef out, int64_t oh, int64_t ow);
  /// The translation units: the model (constants, prepare, run and the
  /// ModelInfo) first, then the units its kernel steps are spread over.
  std::vector<std::string> print(const CpuEmitOptions &options, int64_t arena);
  /// Assigns each step a unit (0: inline in run) for at most |jobs|
  /// parallel compilations, and each kernel shape constant the unit of its
  /// first kernel; returns the unit count.
  int partition(unsigned jobs, std::vector<int> &unitOf,
                llvm::StringMap<int> &unitOfShape) const;
};

void CpuEmitter::emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                                 std::string expr, bool accumulate) {
  size_t rank = out.shape.size();
  // Loops in decreasing output stride, so the innermost is contiguous.
  SmallVector<size_t, 6> order(rank);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return out.strides[a] > out.strides[b];
  });
  LoopNest nest;
  nest.expr = std::move(expr);
  nest.accumulate = accumulate;
  nest.out.base = ptr(out);
  for (size_t d : order) {
    nest.extents.push_back(out.shape[d]);
    nest.out.strides.push_back(out.strides[d]);
  }
  for (const Storage &in : ins) {
    StridedOperand op;
    op.base = ptr(in);
    // Inputs broadcast to the output's shape, aligned from the right.
    size_t lead = rank - in.shape.size();
    for (size_t d : order)
      op.strides.push_back(d < lead || in.shape[d - lead] == 1
                               ? 0
                               : in.strides[d - lead]);
    nest.ins.push_back(std::move(op));
  }
  nest.simplify();
  llvm::raw_string_ostream os(run);
  nest.print(os, 2);
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

FailureOr<std::string> CpuEmitter::packed(Operation *op, Value weight,
                                          StringRef kind, StringRef name) {
  auto data = weightData(op, weight);
  if (failed(data))
    return failure();
  packItems[prepared.size()] = {kind.str(), name.str(), *data};
  return addPrepared(("kiln::cpu::" + kind + "_packed_size<" + name + ">()").str(),
                     ("  kiln::cpu::" + kind + "_pack<" + name + ">(" + *data +
                      ", @P);\n")
                         .str());
}

FailureOr<std::string> CpuEmitter::vector(Operation *op, Value v) {
  auto data = weightData(op, v);
  if (failed(data))
    return failure();
  int64_t n = numel(shapeOf(v));
  return addPrepared(std::to_string(n), "  std::copy_n(" + *data + ", " +
                                            std::to_string(n) + ", @P);\n");
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult CpuEmitter::emitConv(Conv2dOp op) {
  auto in = kernelInput(op, op.getInput());
  auto out = resultStorage(op);
  if (failed(in) || failed(out))
    return failure();
  auto where = nhwcOutput(*out);
  if (!where)
    return op.emitError("the result is not planned channels-last");
  Dims x = in->first.shape, wt = shapeOf(op.getWeight());
  bool perSample = bool(op.getScale());
  // A per-sample input scale is applied to the weights of one sample.
  std::string name =
      constant("Conv2d", conv2dInit(op, x, perSample ? 1 : x[0], in->second,
                                    where->pixelStride, where->channelStep));
  auto weights = packed(op, op.getWeight(), "conv2d", name);
  if (failed(weights))
    return failure();
  std::string bias = "nullptr", residual = "nullptr";
  int64_t residualStride = 0;
  if (op.getBias()) {
    auto b = vector(op, op.getBias());
    if (failed(b))
      return failure();
    bias = *b;
  }
  Storage res;
  if (op.getResidual()) {
    auto r = kernelInput(op, op.getResidual());
    if (failed(r))
      return failure();
    res = r->first;
    residual = ptr(res);
    residualStride = r->second;
  }
  std::string epilogue = llvm::formatv(
      "kiln::cpu::Epilogue{{.bias = {0}, .residual = {1}, .residual_stride = "
      "{2}, .act = kiln::cpu::Act::{3}}",
      op.getBias() ? "true" : "false", op.getResidual() ? "true" : "false",
      residualStride, activationName(op.getActivation()));
  llvm::raw_string_ostream os(run);
  if (!perSample) {
    os << llvm::formatv("  kiln::cpu::conv2d<{0}, {1}>({2}, {3}, {4}, {5}, "
                        "{6}, pool);\n",
                        name, epilogue, ptr(in->first), *weights, bias,
                        residual, ptr(*out));
  } else {
    std::string scaled = scratch(op);
    if (scaled.empty())
      return op.emitError("the plan gives this scaled convolution no scratch");
    Storage gate = storage.lookup(op.getScale());
    os << llvm::formatv(
        "  static_assert(kiln::cpu::conv2d_packed_size<{0}>() <= {1}, \"scratch\");\n"
        "  for (int64_t n = 0; n < {2}; ++n) {{\n"
        "    kiln::cpu::conv2d_scale_packed<{0}>({3}, {4} + n * {5}, {6});\n"
        "    kiln::cpu::conv2d<{0}, {7}>({8} + n * {9}, {6}, {10}, {11}, "
        "{12} + n * {13}, pool);\n"
        "  }\n",
        name, wt[1] * wt[2] * wt[3] * ((wt[0] + 63) / 64 * 64), x[0], *weights,
        ptr(gate), gate.strides[0], scaled, epilogue, ptr(in->first),
        in->first.strides[0], bias,
        op.getResidual() ? "(" + residual + " + n * " + std::to_string(res.strides[0]) + ")"
                         : std::string("nullptr"),
        ptr(*out), out->strides[0]);
  }
  ++kernels;
  storage[op.getResult()] = *out;
  return success();
}

std::string CpuEmitter::adaptivePoolCall(const Storage &in, int64_t stride,
                                         StringRef out, int64_t oh, int64_t ow) {
  std::string name = constant(
      "AdaptivePool2d", adaptivePool2dInit(in.shape, stride, oh, ow));
  return llvm::formatv("  kiln::cpu::adaptive_avg_pool2d<{0}>({1}, {2}, pool);\n",
                       name, ptr(in), out);
}

LogicalResult CpuEmitter::emitLinear(LinearOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  Dims wt = shapeOf(op.getWeight());
  int64_t k = wt[1], n = wt[0];
  std::string x;
  llvm::raw_string_ostream os(run);
  if (op.getPool()) {
    // Global average pooling into scratch, then the layer.
    auto in = kernelInput(op, op.getInput());
    if (failed(in))
      return failure();
    x = scratch(op);
    if (x.empty())
      return op.emitError("the plan gives this pooled linear no scratch");
    os << adaptivePoolCall(in->first, in->second, x, 1, 1);
  } else {
    Storage in = storage.lookup(op.getInput());
    if (!hasStrides(in, rowMajorStrides(in.shape)))
      return op.emitError("the input is not contiguous (choose-layout should "
                          "have converted it)");
    x = ptr(in);
  }
  int64_t m = numel(out->shape) / n;
  std::string name = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", m, k, n));
  auto weights = packed(op, op.getWeight(), "linear", name);
  if (failed(weights))
    return failure();
  std::string bias = "nullptr";
  if (op.getBias()) {
    auto b = vector(op, op.getBias());
    if (failed(b))
      return failure();
    bias = *b;
  }
  std::string residual = "nullptr";
  if (op.getResidual())
    residual = ptr(storage.lookup(op.getResidual()));
  os << llvm::formatv(
      "  kiln::cpu::linear<{0}, kiln::cpu::Epilogue{{.bias = {1}, .residual = "
      "{2}, .residual_stride = {3}, .act = kiln::cpu::Act::{4}}>({5}, {6}, {7}, "
      "{8}, {9}, pool);\n",
      name, op.getBias() ? "true" : "false", op.getResidual() ? "true" : "false",
      op.getResidual() ? n : 0, activationName(op.getActivation()), x, *weights, bias,
      residual, ptr(*out));
  ++kernels;
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult CpuEmitter::emitSeGate(SqueezeExciteGateOp op) {
  // pool (N×C) → linear + act (N×R) → linear + gate (N×C), in scratch.
  auto in = kernelInput(op, op.getInput());
  auto out = resultStorage(op);
  if (failed(in) || failed(out))
    return failure();
  std::string pooled = scratch(op);
  if (pooled.empty())
    return op.emitError("the plan gives this gate no scratch");
  int64_t n = in->first.shape[0], c = in->first.shape[1];
  int64_t r = shapeOf(op.getReduceWeight())[0];
  std::string hidden = "(" + pooled + " + " + std::to_string(n * c) + ")";
  std::string reduce = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", n, c, r));
  std::string expand = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", n, r, c));
  auto w1 = packed(op, op.getReduceWeight(), "linear", reduce);
  auto w2 = packed(op, op.getExpandWeight(), "linear", expand);
  auto b1 = vector(op, op.getReduceBias());
  auto b2 = vector(op, op.getExpandBias());
  if (failed(w1) || failed(w2) || failed(b1) || failed(b2))
    return failure();
  llvm::raw_string_ostream os(run);
  os << adaptivePoolCall(in->first, in->second, pooled, 1, 1);
  os << llvm::formatv("  kiln::cpu::linear<{0}, kiln::cpu::Epilogue{{.bias = "
                      "true, .act = kiln::cpu::Act::{1}}>({2}, {3}, {4}, "
                      "nullptr, {5}, pool);\n",
                      reduce, activationName(op.getActivation()), pooled, *w1, *b1,
                      hidden);
  os << llvm::formatv("  kiln::cpu::linear<{0}, kiln::cpu::Epilogue{{.bias = "
                      "true, .act = kiln::cpu::Act::{1}}>({2}, {3}, {4}, "
                      "nullptr, {5}, pool);\n",
                      expand, activationName(op.getGate()), hidden, *w2, *b2,
                      ptr(*out));
  ++kernels;
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult CpuEmitter::emitBatchNorm(BatchNormOp op) {
  // Unfused inference batch norm is a per-channel affine map x · s + t with
  // s = weight / sqrt(var + eps), t = bias - mean · s, prepared in double.
  Value stats[4] = {op.getWeight(), op.getBias(), op.getMean(), op.getVar()};
  std::string data[4];
  for (int i = 0; i < 4; ++i) {
    auto d = weightData(op, stats[i]);
    if (failed(d))
      return failure();
    data[i] = *d;
  }
  Storage x = storage.lookup(op.getInput());
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  int64_t c = x.shape[1];
  std::string affine = addPrepared(
      std::to_string(2 * c),
      llvm::formatv(
          "  for (int64_t c = 0; c < {0}; ++c) {{\n"
          "    double s = double({1}[c]) / std::sqrt(double({4}[c]) + {5});\n"
          "    @P[c] = float(s);\n"
          "    @P[{0} + c] = float(double({2}[c]) - double({3}[c]) * s);\n"
          "  }\n",
          c, data[0], data[1], data[2], data[3],
          llvm::format("%.17g", op.getEpsilon().convertToDouble())));
  // Scale and shift broadcast along every dimension but the channels.
  auto perChannel = [&](int64_t offset) {
    Storage s;
    s.base = affine;
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

LogicalResult CpuEmitter::emitPool(Operation *op) {
  bool isMax = isa<MaxPool2dOp>(op);
  auto in = kernelInput(op, op->getOperand(0));
  auto out = resultStorage(op);
  if (failed(in) || failed(out))
    return failure();
  auto outStride = nhwcPixelStride(*out);
  if (!outStride)
    return op->emitError("the result is not planned channels-last");
  std::string name =
      constant("Pool2d", pool2dInit(op, in->second, *outStride));
  run += llvm::formatv("  kiln::cpu::{0}<{1}>({2}, {3}, pool);\n",
                       isMax ? "max_pool2d" : "avg_pool2d", name, ptr(in->first),
                       ptr(*out));
  ++kernels;
  storage[op->getResult(0)] = *out;
  return success();
}

LogicalResult CpuEmitter::emitAdaptivePool(Operation *op, Value input,
                                           int64_t oh, int64_t ow) {
  auto in = kernelInput(op, input);
  auto out = resultStorage(op);
  if (failed(in) || failed(out))
    return failure();
  // The kernel writes NHWC with contiguous pixels: with the 1×1 output of a
  // mean that drops H and W, that is also the result's row-major order.
  bool dense = out->shape.size() == 4 ? nhwcPixelStride(*out) == out->shape[1]
                                      : hasStrides(*out, rowMajorStrides(out->shape));
  if (!dense)
    return op->emitError("the result is not planned as a dense tensor");
  run += adaptivePoolCall(in->first, in->second, ptr(*out), oh, ow);
  ++kernels;
  storage[op->getResult(0)] = *out;
  return success();
}

LogicalResult CpuEmitter::emitMean(MeanOp op) {
  ArrayRef<int64_t> dims = op.getDims();
  Storage x = storage.lookup(op.getInput());
  if (x.shape.size() == 4 && dims.size() == 2 && llvm::is_contained(dims, 2) &&
      llvm::is_contained(dims, 3) && nhwcPixelStride(x))
    return emitAdaptivePool(op, op.getInput(), 1, 1);
  // Any other reduction: sum into the zeroed result, then scale.
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  // A view of the result with the input's rank: stride 0 on reduced dims.
  Storage acc = *out;
  acc.shape = x.shape;
  acc.strides.assign(x.shape.size(), 0);
  int64_t count = 1;
  for (size_t d = 0, k = 0; d < x.shape.size(); ++d) {
    if (llvm::is_contained(dims, int64_t(d))) {
      count *= x.shape[d];
      if (op.getKeepdim())
        ++k;
      continue;
    }
    acc.strides[d] = out->strides[k++];
  }
  emitElementwise(*out, {}, "0.0f");
  emitElementwise(acc, {x}, "in0", /*accumulate=*/true);
  emitElementwise(*out, {*out}, "in0 * " + floatLiteral(1.0 / double(count)));
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult CpuEmitter::emitConcat(ConcatOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  storage[op.getResult()] = *out;
  for (const Copy &copy : concatCopies(op, *out, storage))
    emitElementwise(copy.dst, {copy.src}, "in0");
  return success();
}

LogicalResult CpuEmitter::emitChannelShuffle(ChannelShuffleOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  storage[op.getResult()] = *out;
  if (auto copy = shuffleCopy(op, storage.lookup(op.getInput()), *out))
    emitElementwise(copy->dst, {copy->src}, "in0");
  return success();
}

void CpuEmitter::emitViews(Operation *op) {
  viewStorage(op, storage.lookup(op->getOperand(0)), storage);
}

LogicalResult CpuEmitter::emitOp(Operation *op) {
  if (isa<ParamOp, FoldBatchNormWeightOp, FoldBatchNormBiasOp>(op))
    return success(); // Weights: the prepare step reads them on demand.
  if (isViewOp(op)) {
    emitViews(op);
    return success();
  }
  if (!unaryExpr(op, "x").empty() || isa<AddOp, MulOp, ConvertLayoutOp>(op)) {
    auto out = resultStorage(op);
    if (failed(out))
      return failure();
    SmallVector<Storage, 2> ins;
    for (Value operand : op->getOperands())
      ins.push_back(storage.lookup(operand));
    std::string expr = isa<AddOp>(op)             ? "in0 + in1"
                       : isa<MulOp>(op)           ? "in0 * in1"
                       : isa<ConvertLayoutOp>(op) ? "in0"
                                                  : unaryExpr(op, "in0");
    emitElementwise(*out, ins, expr);
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
        return op->emitError("the CPU target cannot compile '")
               << op->getName() << "'";
      });
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

/// The kernel template instances a step calls ("kiln::cpu::conv2d<kConv2d3,
/// kiln::cpu::Epilogue{...}>"): each is compiled where its first step is.
static SmallVector<StringRef> kernelInstances(StringRef code) {
  SmallVector<StringRef> found;
  for (size_t at = code.find("kiln::cpu::"); at != StringRef::npos;
       at = code.find("kiln::cpu::", at + 1)) {
    size_t open = code.find('<', at), call = code.find(">(", at);
    size_t name = code.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyz0123456789_", at + strlen("kiln::cpu::"));
    if (open != name || call == StringRef::npos)
      continue; // Not a template call (Act::..., Epilogue{...}).
    found.push_back(code.slice(at, call + 1));
    at = call;
  }
  return found;
}

int CpuEmitter::partition(unsigned jobs, std::vector<int> &unitOf,
                          llvm::StringMap<int> &unitOfShape) const {
  // One g++ compiles the kernels of a whole network in 10-30 s; spread over
  // a few units they compile on all cores. Steps that call the same
  // instance share a unit (compiled once); loops stay inline in run.
  std::vector<SmallVector<StringRef>> instancesOf;
  llvm::StringMap<int> unitOfInstance;
  for (const std::string &step : steps) {
    instancesOf.push_back(kernelInstances(step));
    for (StringRef instance : instancesOf.back())
      unitOfInstance.try_emplace(instance, 0);
  }
  // Units beyond the cores would only repeat the shared microkernels.
  if (jobs == 0)
    jobs = std::max(1u, std::thread::hardware_concurrency());
  int units = std::clamp(int(unitOfInstance.size()) / kInstancesPerUnit, 0,
                         std::min(int(jobs), kMaxKernelUnits));
  unitOf.assign(steps.size(), 0);
  if (units < 2)
    return 1;
  std::vector<int> load(units + 1, 0);
  for (size_t i = 0; i < steps.size(); ++i) {
    ArrayRef<StringRef> instances = instancesOf[i];
    if (instances.empty())
      continue;
    int unit = unitOfInstance[instances.front()];
    if (unit == 0) {
      unit = 1;
      for (int u = 2; u <= units; ++u)
        if (load[u] < load[unit])
          unit = u;
    }
    unitOf[i] = unit;
    for (StringRef instance : instances) {
      int &home = unitOfInstance[instance];
      if (home == 0) {
        home = unit;
        ++load[unit];
      }
      // "kiln::cpu::conv2d<kConv2d3, ...>": the shape constant.
      StringRef shape = instance.drop_until([](char c) { return c == '<'; })
                            .drop_front()
                            .take_until([](char c) { return c == ',' || c == '>'; });
      unitOfShape.try_emplace(shape, unit);
    }
  }
  return units + 1;
}

std::vector<std::string> CpuEmitter::print(const CpuEmitOptions &options,
                                           int64_t arena) {
  std::vector<int> unitOf;
  llvm::StringMap<int> unitOfShape;
  int unitCount =
      options.cpuCode ? partition(options.jobs, unitOf, unitOfShape) : 1;
  std::vector<std::string> units(unitCount);
  StringRef model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).getValue();
  // What every unit starts with: includes and the kernels' constants.
  auto prelude = [&](llvm::raw_ostream &os, int unit) {
    os << "// Generated by kiln for model '" << model << "'"
       << (unit ? " (kernels, part " + std::to_string(unit) + ")" : "")
       << ". Do not edit.\n";
    if (options.cpuCode)
      os << "#include \"kiln/cpu/kernels.h\"\n";
    os << "#include \"kiln/runtime.h\"\n\n"
       << "#include <algorithm>\n#include <cmath>\n#include <cstdint>\n"
       << "#include <vector>\n\n"
       << "namespace {\n\n";
    if (options.cpuCode) {
      os << "constexpr size_t align16(size_t n) { return (n + 15) / 16 * 16; }\n\n";
      for (const std::string &c : constants)
        os << c << "\n";
      os << "\n// Prepared weights: offsets in floats.\n";
      printPreparedOffsets(os, prepared, "align16", "kPreparedFloats");
    }
  };
  const char *stepParams = "(const float *w, const float *input, float *output, "
                           "float *const A, kiln::rt::ThreadPool &pool)";
  // A layer's weights are packed in its kernel's unit: the packing code
  // depends on the same shape constant.
  std::vector<std::string> packs(unitCount);
  std::set<std::string> packed;
  SmallVector<std::string> prepareCode;
  for (auto [i, item] : llvm::enumerate(prepared)) {
    auto pack = packItems.find(i);
    int unit = pack == packItems.end() ? 0 : unitOfShape.lookup(pack->second.shape);
    if (unit == 0) {
      prepareCode.push_back(item.second);
      continue;
    }
    const Pack &p = pack->second;
    std::string fn = "kiln_pack_" + p.shape;
    if (packed.insert(fn).second) {
      packs[unit] += "void " + fn + "(const float *src, float *dst) {\n  kiln::cpu::" +
                     p.kind + "_pack<" + p.shape + ">(src, dst);\n}\n\n";
      packs[0] += "void " + fn + "(const float *src, float *dst);\n";
    }
    prepareCode.push_back("  " + fn + "(" + p.data + ", (w + kP" +
                          std::to_string(i) + "));\n");
  }
  for (int unit = 1; unit < unitCount; ++unit) {
    llvm::raw_string_ostream os(units[unit]);
    prelude(os, unit);
    os << "} // namespace\n\n" << packs[unit];
    for (size_t i = 0; i < steps.size(); ++i)
      if (unitOf[i] == unit)
        os << "void kiln_step_" << i << stepParams << " {\n" << steps[i] << "}\n\n";
  }

  llvm::raw_string_ostream os(units[0]);
  prelude(os, 0);
  os << "const kiln::rt::ParamSpec kParams[] = {\n";
  for (const rt::ParamSpec &spec : params.specs) {
    os << "    {\"" << spec.name << "\", " << spec.rank << ", {";
    for (int i = 0; i < 4; ++i)
      os << (i ? ", " : "") << (i < spec.rank ? spec.shape[i] : 0);
    os << "}, kiln::rt::SeedKind::"
       << (spec.seed == rt::SeedKind::Uniform ? "Uniform" : "Constant") << ", "
       << floatLiteral(spec.a) << ", " << floatLiteral(spec.b) << "},\n";
  }
  os << "};\n\n";

  if (options.cpuCode) {
    os << "} // namespace\n\n" << packs[0] << "\nnamespace {\n\n"
       << "void prepare(const float *const *p, float *w, kiln::rt::ThreadPool &) {\n"
       << weightCode.transforms();
    for (const std::string &code : prepareCode)
      os << code;
    os << "}\n\n} // namespace\n\n";

    // The steps compiled in the other units.
    for (size_t i = 0; i < steps.size(); ++i)
      if (unitOf[i] != 0)
        os << "void kiln_step_" << i << stepParams << ";\n";
    os << "\nnamespace {\n\n"
       << "void run(const float *w, const float *input, float *output, char "
          "*arena, kiln::rt::ThreadPool &pool) {\n"
       << "  float *const A = reinterpret_cast<float *>(arena);\n";
    for (size_t i = 0; i < steps.size(); ++i) {
      if (unitOf[i] == 0)
        os << steps[i];
      else
        os << "  kiln_step_" << i << "(w, input, output, A, pool);\n";
    }
    os << "}\n\n} // namespace\n\n";
  } else {
    os << "} // namespace\n\n";
  }
  if (options.cudaModel)
    os << "extern const kiln::rt::CudaModel kiln_cuda_model;\n\n";
  if (options.embeddedWeights)
    os << "extern \"C\" const unsigned char kiln_embedded_weights_begin[];\n"
       << "extern \"C\" const unsigned char kiln_embedded_weights_end[];\n\n";
  auto shape = [&](Type t) {
    ArrayRef<int64_t> s = cast<RankedTensorType>(t).getShape();
    std::string text = std::to_string(s.size()) + ", {";
    for (size_t i = 0; i < s.size(); ++i)
      text += (i ? ", " : "") + std::to_string(s[i]);
    return text + "}";
  };
  Type output = func.getFunctionType().getResult(0);
  bool imagenet = cast<RankedTensorType>(output).getRank() == 2 &&
                  cast<RankedTensorType>(output).getDimSize(1) == 1000;
  os << "const kiln::rt::ModelInfo kiln::rt::kModel = {\n"
     << "    \"" << model << "\",\n"
     << "    " << shape(func.getArgument(0).getType()) << ",\n"
     << "    " << shape(output) << ",\n"
     << "    kParams, " << params.specs.size() << ",\n";
  if (options.embeddedWeights)
    os << "    kiln_embedded_weights_begin,\n"
       << "    size_t(kiln_embedded_weights_end - kiln_embedded_weights_begin),\n";
  else
    os << "    nullptr, 0,\n";
  os << "    " << (imagenet ? "true" : "false") << ",\n"
     << "    " << (options.cpuCode ? "kPreparedFloats" : "0") << ", "
     << (options.cpuCode ? arena : 0) << ",\n"
     << "    " << (options.cpuCode ? "prepare, run" : "nullptr, nullptr") << ", "
     << (options.cudaModel ? "&kiln_cuda_model" : "nullptr") << "};\n";
  return units;
}

LogicalResult CpuEmitter::emitBody(Block &body) {
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

LogicalResult CpuEmitter::emit(const CpuEmitOptions &options,
                               CpuSource &source) {
  auto arena = func->getAttrOfType<IntegerAttr>(KilnDialect::getArenaBytesAttrName());
  if (!arena)
    return func.emitError("the CPU target needs planned IR (run "
                          "--kiln-plan-memory)");
  Block &body = func.getBody().front();
  producedSlots = collectConcatSlots(body);
  Storage input;
  input.base = "input";
  input.shape = shapeOf(body.getArgument(0));
  input.strides = rowMajorStrides(input.shape);
  storage[body.getArgument(0)] = input;

  // A CUDA-only executable's CPU unit holds the model's description only.
  if (options.cpuCode && failed(emitBody(body)))
    return failure();
  source.units = print(options, arena.getInt());
  source.arenaBytes = arena.getInt();
  source.kernels = kernels;
  return success();
}

} // namespace

LogicalResult kiln::emitCpuSource(func::FuncOp func, const ModelParams &params,
                                  const CpuEmitOptions &options,
                                  CpuSource &source) {
  return CpuEmitter(func, params).emit(options, source);
}
