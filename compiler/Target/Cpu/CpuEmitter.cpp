//===- CpuEmitter.cpp - kiln IR to C++ for the CPU ------------------------===//
//
// This file implements the CPU code generator. It walks the model function
// once, in program order, and for each op either
//   * calls a kernel of runtime/include/kiln/cpu (convolution, linear,
//     pooling) with its shapes as compile-time constants,
//   * prints a loop nest (elementwise ops, batch norm, copies), or
//   * creates a view without code (identity, dropout, transpose, slices and
//     splits, reshapes of contiguous data).
//
// Activations live in one arena. A value's storage is a buffer of the arena
// plus an offset and one stride per logical (PyTorch) dimension, so views
// are free and layouts are explicit: 4-D results of kernels are NHWC
// (channels innermost); kernels that need NHWC, and code that needs the
// PyTorch order, get a converted copy when their input is not already laid
// out that way. Buffers get arena offsets from their live ranges (first-fit
// over program order) once all code is generated.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/CpuEmitter.h"

#include "compiler/Target/Common/LoopNest.h"
#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <map>
#include <numeric>

using namespace mlir;
using namespace kiln;

namespace {

using Dims = SmallVector<int64_t, 6>;

/// Where a value lives: a buffer (an arena buffer, or the model's input or
/// output) plus an offset and a stride per logical dimension, in floats.
struct Storage {
  /// Buffers that are not in the arena: the model's input and output, and
  /// the prepared weights (|external| is then the pointer expression).
  static constexpr int kInput = -1, kOutput = -2, kExternal = -3;
  int buffer = kInput;
  int64_t offset = 0;
  Dims shape, strides;
  std::string external;
};

struct Buffer {
  int64_t floats;
  int first, last;
  int64_t offset = 0;
};

/// NHWC strides of a logical [N, C, H, W] shape.
Dims nhwcStrides(ArrayRef<int64_t> s) {
  return {s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]};
}

int64_t numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Whether |s| walks its elements in the order given by |strides| (dims of
/// extent 1 are ignored: their stride never matters).
bool hasStrides(const Storage &s, ArrayRef<int64_t> strides) {
  for (size_t i = 0; i < s.shape.size(); ++i)
    if (s.shape[i] != 1 && s.strides[i] != strides[i])
      return false;
  return true;
}

/// If |s| is NHWC with channels contiguous and pixels |P| floats apart
/// (P >= C: a channel slice of a wider buffer), returns P.
std::optional<int64_t> nhwcPixelStride(const Storage &s) {
  if (s.shape.size() != 4)
    return std::nullopt;
  int64_t c = s.shape[1], h = s.shape[2], w = s.shape[3];
  int64_t p = w > 1 ? s.strides[3] : h > 1 ? s.strides[2] / w : c;
  if (p < c)
    return std::nullopt;
  Dims expected = {h * w * p, 1, w * p, p};
  if (!hasStrides(s, expected))
    return std::nullopt;
  return p;
}

/// An exact C++ float literal (hexadecimal, so no digits are lost).
std::string floatLiteral(double v) {
  return llvm::formatv("{0}f", llvm::format("%a", double(float(v)))).str();
}

const char *actName(Operation *op) {
  return llvm::TypeSwitch<Operation *, const char *>(op)
      .Case([](ReluOp) { return "Relu"; })
      .Case([](Relu6Op) { return "Relu6"; })
      .Case([](SigmoidOp) { return "Sigmoid"; })
      .Case([](HardSigmoidOp) { return "HardSigmoid"; })
      .Case([](HardSwishOp) { return "HardSwish"; })
      .Default([](Operation *) { return nullptr; });
}

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
  explicit CpuEmitter(func::FuncOp func) : func(func) {}
  LogicalResult emit(const CpuEmitOptions &options, CpuSource &source);

private:
  func::FuncOp func;
  ModelParams params;
  llvm::DenseMap<Value, Storage> storage;
  /// Converted copies, so a value is converted once.
  llvm::DenseMap<Value, Storage> nhwcCopies, rowMajorCopies;
  std::vector<Buffer> buffers;
  /// Generated code of the run function, one entry per step, with "@B<n>@"
  /// standing for the base pointer of buffer n.
  std::vector<std::string> steps;
  /// Kernel shape constants, deduplicated by their text.
  std::map<std::string, std::string> constantNames;
  std::vector<std::string> constants;
  /// Prepared weights: size expression and code per item.
  std::vector<std::pair<std::string, std::string>> prepared;
  int kernels = 0;
  int64_t arenaBytes = 0;

  //===--------------------------------------------------------------------===//
  // Storage
  //===--------------------------------------------------------------------===//

  int currentStep() const { return int(steps.size()); }

  Storage newBuffer(ArrayRef<int64_t> shape, bool nhwc) {
    Storage s;
    s.buffer = int(buffers.size());
    s.shape.assign(shape.begin(), shape.end());
    s.strides = nhwc ? nhwcStrides(shape) : rowMajorStrides(shape);
    buffers.push_back({numel(shape), currentStep(), currentStep()});
    return s;
  }

  /// A fresh buffer in the layout kernels produce: NHWC for 4-D tensors.
  Storage newResult(Value v) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(v.getType()).getShape();
    return newBuffer(shape, shape.size() == 4);
  }

  /// The C++ pointer to the first element of |s|.
  std::string ptr(const Storage &s) const {
    std::string base = s.buffer == Storage::kInput      ? "input"
                       : s.buffer == Storage::kOutput   ? "output"
                       : s.buffer == Storage::kExternal ? s.external
                                                        : "@B" + std::to_string(s.buffer) + "@";
    return s.offset ? "(" + base + " + " + std::to_string(s.offset) + ")" : base;
  }

  /// Records that the step being built reads or writes |s|.
  void touch(const Storage &s) {
    if (s.buffer >= 0)
      buffers[s.buffer].last = std::max(buffers[s.buffer].last, currentStep());
  }

  void addStep(std::string code, ArrayRef<const Storage *> touched) {
    for (const Storage *s : touched)
      touch(*s);
    steps.push_back(std::move(code));
  }

  /// Loop nest computing |expr| of |ins| into |out|; the inputs broadcast
  /// to the output's logical shape (aligned from the right).
  void emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                       std::string expr, bool accumulate = false) {
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
      size_t lead = rank - in.shape.size();
      for (size_t d : order)
        op.strides.push_back(d < lead || in.shape[d - lead] == 1
                                 ? 0
                                 : in.strides[d - lead]);
      nest.ins.push_back(std::move(op));
    }
    nest.simplify();
    std::string code;
    llvm::raw_string_ostream os(code);
    nest.print(os, 2);
    SmallVector<const Storage *> touched = {&out};
    for (const Storage &in : ins)
      touched.push_back(&in);
    addStep(std::move(code), touched);
  }

  /// |v| as a dense NHWC tensor, or as NHWC pixels |P| >= C floats apart
  /// when |allowPixelStride|; copies when needed.
  Storage asNHWC(Value v, bool allowPixelStride) {
    const Storage s = storage.lookup(v);
    if (auto p = nhwcPixelStride(s); p && (allowPixelStride || *p == s.shape[1]))
      return s;
    auto it = nhwcCopies.find(v);
    if (it != nhwcCopies.end())
      return it->second;
    Storage copy = newBuffer(s.shape, /*nhwc=*/true);
    emitElementwise(copy, {s}, "in0");
    return nhwcCopies[v] = copy;
  }

  /// |v| in PyTorch's row-major order; copies when needed.
  Storage asRowMajor(Value v) {
    const Storage s = storage.lookup(v);
    if (hasStrides(s, rowMajorStrides(s.shape)))
      return s;
    auto it = rowMajorCopies.find(v);
    if (it != rowMajorCopies.end())
      return it->second;
    Storage copy = newBuffer(s.shape, /*nhwc=*/false);
    emitElementwise(copy, {s}, "in0");
    return rowMajorCopies[v] = copy;
  }

  //===--------------------------------------------------------------------===//
  // Constants and prepared weights
  //===--------------------------------------------------------------------===//

  /// Names a constexpr kernel shape, reusing one with the same text.
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

  /// Adds a prepared item of |size| floats; returns the C++ expression of
  /// its pointer inside the prepared buffer (valid in prepare and run).
  std::string addPrepared(std::string size, std::string code) {
    std::string name = "kP" + std::to_string(prepared.size());
    prepared.push_back({std::move(size), std::move(code)});
    return "(w + " + name + ")";
  }

  /// The index of the param that defines |v|, or an error.
  FailureOr<int> paramIndex(Operation *op, Value v) {
    auto param = v.getDefiningOp<ParamOp>();
    if (!param)
      return op->emitError("the CPU target needs the weights of '")
             << op->getName() << "' to be model parameters";
    return params.index.lookup(param);
  }

  /// Copies param |index| into the prepared buffer.
  std::string preparedCopy(int index) {
    int64_t n = params.specs[index].numel();
    std::string dst = addPrepared(std::to_string(n), "");
    prepared.back().second = "  std::copy_n(p[" + std::to_string(index) +
                             "], " + std::to_string(n) + ", " + dst + ");\n";
    return dst;
  }

  //===--------------------------------------------------------------------===//
  // Ops
  //===--------------------------------------------------------------------===//

  LogicalResult emitOp(Operation *op);
  LogicalResult emitConv(Conv2dOp op);
  LogicalResult emitLinear(LinearOp op);
  LogicalResult emitBatchNorm(BatchNormOp op);
  LogicalResult emitPool(Operation *op);
  LogicalResult emitAdaptivePool(Value input, Value result, int64_t oh,
                                 int64_t ow);
  LogicalResult emitMean(MeanOp op);
  LogicalResult emitConcat(ConcatOp op);
  LogicalResult emitChannelShuffle(ChannelShuffleOp op);

  /// Views of |in| along |dim|: the given pieces as results.
  void emitSlices(Operation *op, Value in, int64_t dim, int64_t step);

  std::string print(const CpuEmitOptions &options);
  int64_t allocate();
};

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult CpuEmitter::emitConv(Conv2dOp op) {
  auto w = paramIndex(op, op.getWeight());
  if (failed(w))
    return failure();
  Storage in = asNHWC(op.getInput(), /*allowPixelStride=*/true);
  Storage out = newResult(op.getResult());
  ArrayRef<int64_t> x = in.shape, y = out.shape;
  auto wt = cast<RankedTensorType>(op.getWeight().getType()).getShape();
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  std::string shape = llvm::formatv(
      "{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .o = {4}, .kh = {5}, "
      ".kw = {6}, .sh = {7}, .sw = {8}, .ph = {9}, .pw = {10}, .dh = {11}, "
      ".dw = {12}, .groups = {13}, .ho = {14}, .wo = {15}, .in_stride = {16}, "
      ".out_stride = {17}}",
      x[0], x[2], x[3], x[1], y[1], wt[2], wt[3], s[0], s[1], p[0], p[1], d[0],
      d[1], op.getGroups(), y[2], y[3], *nhwcPixelStride(in), y[1]);
  std::string name = constant("Conv2d", shape);
  std::string packed =
      addPrepared("kiln::cpu::conv2d_packed_size<" + name + ">()", "");
  prepared.back().second = "  kiln::cpu::conv2d_pack<" + name + ">(p[" +
                           std::to_string(*w) + "], " + packed + ");\n";
  std::string bias = "nullptr";
  if (op.getBias()) {
    auto b = paramIndex(op, op.getBias());
    if (failed(b))
      return failure();
    bias = preparedCopy(*b);
  }
  std::string epilogue = llvm::formatv(
      "kiln::cpu::Epilogue{{.bias = {0}}", op.getBias() ? "true" : "false");
  addStep(llvm::formatv("  kiln::cpu::conv2d<{0}, {1}>({2}, {3}, {4}, "
                        "nullptr, {5}, pool);\n",
                        name, epilogue, ptr(in), packed, bias, ptr(out)),
          {&in, &out});
  ++kernels;
  storage[op.getResult()] = out;
  return success();
}

LogicalResult CpuEmitter::emitLinear(LinearOp op) {
  auto w = paramIndex(op, op.getWeight());
  if (failed(w))
    return failure();
  Storage in = asRowMajor(op.getInput());
  Storage out = newBuffer(cast<RankedTensorType>(op.getType()).getShape(),
                          /*nhwc=*/false);
  auto wt = cast<RankedTensorType>(op.getWeight().getType()).getShape();
  int64_t k = wt[1], n = wt[0], m = numel(in.shape) / k;
  std::string name = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", m, k, n));
  std::string packed =
      addPrepared("kiln::cpu::linear_packed_size<" + name + ">()", "");
  prepared.back().second = "  kiln::cpu::linear_pack<" + name + ">(p[" +
                           std::to_string(*w) + "], " + packed + ");\n";
  std::string bias = "nullptr";
  if (op.getBias()) {
    auto b = paramIndex(op, op.getBias());
    if (failed(b))
      return failure();
    bias = preparedCopy(*b);
  }
  addStep(llvm::formatv("  kiln::cpu::linear<{0}, kiln::cpu::Epilogue{{.bias "
                        "= {1}}>({2}, {3}, {4}, nullptr, {5}, pool);\n",
                        name, op.getBias() ? "true" : "false", ptr(in), packed,
                        bias, ptr(out)),
          {&in, &out});
  ++kernels;
  storage[op.getResult()] = out;
  return success();
}

LogicalResult CpuEmitter::emitBatchNorm(BatchNormOp op) {
  // Inference batch norm is a per-channel affine map: y = x * scale + shift
  // with scale = weight / sqrt(var + eps), shift = bias - mean * scale,
  // computed in double when the weights are prepared.
  int idx[4];
  Value stats[4] = {op.getWeight(), op.getBias(), op.getMean(), op.getVar()};
  for (int i = 0; i < 4; ++i) {
    auto index = paramIndex(op, stats[i]);
    if (failed(index))
      return failure();
    idx[i] = *index;
  }
  const Storage x = storage.lookup(op.getInput());
  int64_t c = x.shape[1];
  std::string affine = addPrepared(std::to_string(2 * c), "");
  prepared.back().second = llvm::formatv(
      "  for (int64_t c = 0; c < {0}; ++c) {{\n"
      "    double scale = double(p[{1}][c]) / std::sqrt(double(p[{4}][c]) + {5});\n"
      "    {6}[c] = float(scale);\n"
      "    {6}[{0} + c] = float(double(p[{2}][c]) - double(p[{3}][c]) * scale);\n"
      "  }\n",
      c, idx[0], idx[1], idx[2], idx[3],
      llvm::format("%.17g", op.getEpsilon().convertToDouble()), affine);
  // Scale and shift broadcast along every dimension but the channels.
  auto perChannel = [&](int64_t offset) {
    Storage s;
    s.buffer = Storage::kExternal;
    s.external = affine;
    s.offset = offset;
    s.shape.assign(x.shape.size(), 1);
    s.shape[1] = c;
    s.strides.assign(x.shape.size(), 0);
    s.strides[1] = 1;
    return s;
  };
  Storage out = newResult(op.getResult());
  emitElementwise(out, {x, perChannel(0), perChannel(c)}, "in0 * in1 + in2");
  storage[op.getResult()] = out;
  return success();
}

LogicalResult CpuEmitter::emitPool(Operation *op) {
  bool isMax = isa<MaxPool2dOp>(op);
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
  Storage in = asNHWC(op->getOperand(0), /*allowPixelStride=*/true);
  Storage out = newResult(op->getResult(0));
  std::string name = constant(
      "Pool2d",
      llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .kh = {4}, "
                    ".kw = {5}, .sh = {6}, .sw = {7}, .ph = {8}, .pw = {9}, "
                    ".dh = {10}, .dw = {11}, .ho = {12}, .wo = {13}, "
                    ".exclude_pad = {14}, .in_stride = {15}, .out_stride = {16}}",
                    in.shape[0], in.shape[2], in.shape[3], in.shape[1], k[0],
                    k[1], s[0], s[1], p[0], p[1], dilation[0], dilation[1],
                    out.shape[2], out.shape[3], excludePad ? "true" : "false",
                    *nhwcPixelStride(in), out.shape[1]));
  addStep(llvm::formatv("  kiln::cpu::{0}<{1}>({2}, {3}, pool);\n",
                        isMax ? "max_pool2d" : "avg_pool2d", name, ptr(in),
                        ptr(out)),
          {&in, &out});
  ++kernels;
  storage[op->getResult(0)] = out;
  return success();
}

LogicalResult CpuEmitter::emitAdaptivePool(Value input, Value result,
                                           int64_t oh, int64_t ow) {
  Storage in = asNHWC(input, /*allowPixelStride=*/true);
  Dims outShape = {in.shape[0], in.shape[1], oh, ow};
  Storage out = newBuffer(outShape, /*nhwc=*/true);
  std::string name = constant(
      "AdaptivePool2d",
      llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .ho = {4}, "
                    ".wo = {5}, .in_stride = {6}, .out_stride = {7}}",
                    in.shape[0], in.shape[2], in.shape[3], in.shape[1], oh, ow,
                    *nhwcPixelStride(in), in.shape[1]));
  addStep(llvm::formatv("  kiln::cpu::adaptive_avg_pool2d<{0}>({1}, {2}, pool);\n",
                        name, ptr(in), ptr(out)),
          {&in, &out});
  ++kernels;
  // The result may drop the 1x1 dims (mean): same memory, its own shape.
  ArrayRef<int64_t> shape = cast<RankedTensorType>(result.getType()).getShape();
  if (shape.size() != 4) {
    out.shape.assign(shape.begin(), shape.end());
    out.strides = rowMajorStrides(shape);
  }
  storage[result] = out;
  return success();
}

LogicalResult CpuEmitter::emitMean(MeanOp op) {
  ArrayRef<int64_t> dims = op.getDims();
  const Storage x = storage.lookup(op.getInput());
  if (x.shape.size() == 4 && dims.size() == 2 &&
      llvm::is_contained(dims, 2) && llvm::is_contained(dims, 3))
    return emitAdaptivePool(op.getInput(), op.getResult(), 1, 1);
  // Any other reduction: sum into a zeroed buffer, then scale.
  Storage out = newBuffer(cast<RankedTensorType>(op.getType()).getShape(),
                          /*nhwc=*/false);
  // A view of the output with the input's rank: stride 0 on reduced dims.
  Storage acc;
  acc.buffer = out.buffer;
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
    acc.strides[d] = out.strides[k++];
  }
  emitElementwise(out, {}, "0.0f");
  emitElementwise(acc, {x}, "in0", /*accumulate=*/true);
  emitElementwise(out, {out}, "in0 * " + floatLiteral(1.0 / double(count)));
  storage[op.getResult()] = out;
  return success();
}

LogicalResult CpuEmitter::emitConcat(ConcatOp op) {
  Storage out = newResult(op.getResult());
  int64_t dim = op.getDim(), offset = 0;
  for (Value in : op.getInputs()) {
    Storage part = out;
    part.shape[dim] = cast<RankedTensorType>(in.getType()).getDimSize(dim);
    part.offset += offset * out.strides[dim];
    offset += part.shape[dim];
    emitElementwise(part, {storage.lookup(in)}, "in0");
  }
  storage[op.getResult()] = out;
  return success();
}

LogicalResult CpuEmitter::emitChannelShuffle(ChannelShuffleOp op) {
  // Output channel i * g + j is input channel j * per + i: a copy over
  // (dims before C, i, j, dims after C) with the channel stride split.
  const Storage x = storage.lookup(op.getInput());
  Storage out = newResult(op.getResult());
  int64_t g = op.getGroups(), per = x.shape[1] / g;
  Storage src = x, dst = out;
  for (Storage *s : {&src, &dst}) {
    int64_t cs = s->strides[1];
    s->shape.erase(s->shape.begin() + 1);
    s->strides.erase(s->strides.begin() + 1);
    s->shape.insert(s->shape.begin() + 1, {per, g});
    if (s == &src)
      s->strides.insert(s->strides.begin() + 1, {cs, cs * per});
    else
      s->strides.insert(s->strides.begin() + 1, {cs * g, cs});
  }
  emitElementwise(dst, {src}, "in0");
  storage[op.getResult()] = out;
  return success();
}

void CpuEmitter::emitSlices(Operation *op, Value in, int64_t dim,
                            int64_t step) {
  // A copy: adding the results to |storage| may move its entries.
  const Storage x = storage.lookup(in);
  int64_t start = isa<SliceOp>(op) ? cast<SliceOp>(op).getStart() : 0;
  for (Value result : op->getResults()) {
    Storage view = x;
    view.shape[dim] = cast<RankedTensorType>(result.getType()).getDimSize(dim);
    view.offset += start * x.strides[dim];
    view.strides[dim] *= step;
    start += view.shape[dim];
    storage[result] = view;
  }
}

LogicalResult CpuEmitter::emitOp(Operation *op) {
  if (isa<ParamOp>(op))
    return success();
  if (const char *act = actName(op)) {
    (void)act;
    Storage out = newResult(op->getResult(0));
    emitElementwise(out, {storage.lookup(op->getOperand(0))}, unaryExpr(op, "in0"));
    storage[op->getResult(0)] = out;
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](Conv2dOp c) { return emitConv(c); })
      .Case([&](LinearOp l) { return emitLinear(l); })
      .Case([&](BatchNormOp b) { return emitBatchNorm(b); })
      .Case<IdentityOp, DropoutOp>([&](Operation *) {
        storage[op->getResult(0)] = storage.lookup(op->getOperand(0));
        return success();
      })
      .Case<AddOp, MulOp>([&](Operation *) {
        Storage out = newResult(op->getResult(0));
        emitElementwise(out,
                        {storage.lookup(op->getOperand(0)), storage.lookup(op->getOperand(1))},
                        isa<AddOp>(op) ? "in0 + in1" : "in0 * in1");
        storage[op->getResult(0)] = out;
        return success();
      })
      .Case<MaxPool2dOp, AvgPool2dOp>([&](Operation *) { return emitPool(op); })
      .Case([&](AdaptiveAvgPool2dOp a) {
        return emitAdaptivePool(a.getInput(), a.getResult(),
                                a.getOutputSize()[0], a.getOutputSize()[1]);
      })
      .Case([&](MeanOp m) { return emitMean(m); })
      .Case<FlattenOp, ReshapeOp>([&](Operation *) {
        Storage view = asRowMajor(op->getOperand(0));
        ArrayRef<int64_t> shape =
            cast<RankedTensorType>(op->getResult(0).getType()).getShape();
        view.shape.assign(shape.begin(), shape.end());
        view.strides = rowMajorStrides(shape);
        storage[op->getResult(0)] = view;
        return success();
      })
      .Case([&](TransposeOp t) {
        Storage view = storage.lookup(t.getInput());
        int64_t a = t.getDims()[0], b = t.getDims()[1];
        std::swap(view.shape[a], view.shape[b]);
        std::swap(view.strides[a], view.strides[b]);
        storage[t.getResult()] = view;
        return success();
      })
      .Case([&](ConcatOp c) { return emitConcat(c); })
      .Case([&](SliceOp s) {
        emitSlices(op, s.getInput(), s.getDim(), s.getStep());
        return success();
      })
      .Case([&](SplitOp s) {
        emitSlices(op, s.getInput(), s.getDim(), 1);
        return success();
      })
      .Case([&](ChunkOp c) {
        emitSlices(op, c.getInput(), c.getDim(), 1);
        return success();
      })
      .Case([&](ChannelShuffleOp c) { return emitChannelShuffle(c); })
      .Default([&](Operation *) {
        return op->emitError("the CPU target cannot compile '")
               << op->getName() << "'";
      });
}

//===----------------------------------------------------------------------===//
// Arena and printing
//===----------------------------------------------------------------------===//

/// Assigns arena offsets: buffers in order of their first step, each at the
/// lowest 64-byte aligned offset free for its whole live range.
int64_t CpuEmitter::allocate() {
  std::vector<int> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return buffers[a].first < buffers[b].first;
  });
  std::vector<int> placed;
  int64_t arena = 0;
  for (int id : order) {
    Buffer &buf = buffers[id];
    int64_t bytes = (buf.floats * 4 + 63) / 64 * 64;
    // Busy intervals of placed buffers that live at the same time.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int other : placed) {
      const Buffer &o = buffers[other];
      if (o.last >= buf.first && o.first <= buf.last)
        busy.push_back({o.offset, o.offset + (o.floats * 4 + 63) / 64 * 64});
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + bytes <= begin)
        break;
      offset = std::max(offset, end);
    }
    buf.offset = offset;
    arena = std::max(arena, offset + bytes);
    placed.push_back(id);
  }
  return arena;
}

std::string CpuEmitter::print(const CpuEmitOptions &options) {
  int64_t arena = allocate();
  std::string out;
  llvm::raw_string_ostream os(out);
  StringRef model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).getValue();
  os << "// Generated by kiln for model '" << model << "'. Do not edit.\n"
     << "#include \"kiln/cpu/kernels.h\"\n"
     << "#include \"kiln/runtime.h\"\n\n"
     << "#include <algorithm>\n#include <cmath>\n#include <cstdint>\n\n"
     << "namespace {\n\n"
     << "constexpr size_t align16(size_t n) { return (n + 15) / 16 * 16; }\n\n";
  for (const std::string &c : constants)
    os << c << "\n";
  os << "\n// Prepared weights: offsets in floats.\n";
  for (size_t i = 0; i < prepared.size(); ++i)
    os << "constexpr size_t kP" << i << " = "
       << (i ? "align16(kP" + std::to_string(i - 1) + " + " +
                   prepared[i - 1].first + ")"
             : std::string("0"))
       << ";\n";
  os << "constexpr size_t kPreparedFloats = "
     << (prepared.empty() ? std::string("0")
                          : "align16(kP" + std::to_string(prepared.size() - 1) +
                                " + " + prepared.back().first + ")")
     << ";\n\n";

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

  os << "void prepare(const float *const *p, float *w, kiln::rt::ThreadPool &) {\n";
  for (auto &item : prepared)
    os << item.second;
  os << "}\n\n";

  os << "void run(const float *w, const float *input, float *output, char "
        "*arena, kiln::rt::ThreadPool &pool) {\n";
  for (std::string step : steps) {
    // Replace the buffer placeholders by arena pointers.
    size_t pos;
    while ((pos = step.find("@B")) != std::string::npos) {
      size_t end = step.find('@', pos + 2);
      int id = std::stoi(step.substr(pos + 2, end - pos - 2));
      step.replace(pos, end - pos + 1,
                   "reinterpret_cast<float *>(arena + " +
                       std::to_string(buffers[id].offset) + ")");
    }
    os << step;
  }
  os << "}\n\n} // namespace\n\n";

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
     << "    kPreparedFloats, " << arena << ",\n"
     << "    prepare, run};\n";
  arenaBytes = arena;
  return out;
}

LogicalResult CpuEmitter::emit(const CpuEmitOptions &options,
                               CpuSource &source) {
  if (!collectParams(func, params))
    return failure();
  Block &body = func.getBody().front();
  Storage input;
  input.buffer = Storage::kInput;
  auto inShape = cast<RankedTensorType>(body.getArgument(0).getType()).getShape();
  input.shape.assign(inShape.begin(), inShape.end());
  input.strides = rowMajorStrides(inShape);
  storage[body.getArgument(0)] = input;

  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      // The output is written in PyTorch's order.
      Storage out;
      out.buffer = Storage::kOutput;
      out.shape = storage.lookup(ret.getOperand(0)).shape;
      out.strides = rowMajorStrides(out.shape);
      emitElementwise(out, {storage.lookup(ret.getOperand(0))}, "in0");
      break;
    }
    if (failed(emitOp(&op)))
      return failure();
  }
  source.units = {print(options)};
  source.arenaBytes = arenaBytes;
  source.kernels = kernels;
  return success();
}

} // namespace

LogicalResult kiln::emitCpuSource(func::FuncOp func,
                                  const CpuEmitOptions &options,
                                  CpuSource &source) {
  return CpuEmitter(func).emit(options, source);
}
