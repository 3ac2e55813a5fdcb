//===- CpuEmitter.cpp - kernel-level IR to C++ for the CPU ----------------===//
//
// This file implements the CPU code generator: the CPU's table of the
// EmitterCore walk over a kernel-level function (--kiln-lower-to-kernels
// with target=cpu). It prints, for each kernel in program order:
//   * a kernel call of runtime/include/kiln/cpu with the shapes as
//     compile-time constants (convolution and linear layers with their fused
//     epilogues, pooling, the squeeze-and-excitation gate), or
//   * a loop nest from the shared generator (elementwise kernels, unfused
//     batch norms, reductions).
//
// A buffer is the arena `A` (float offsets), the model's `input` or its
// `output`. Weight-only values (params, batch-norm folding) become the
// prepare step: evaluated once, then packed.
//
// The kernel calls of a large network are spread over a few translation
// units (`kiln_step_N` functions that run() calls in order), so that the
// host compiler builds them on several cores; each kernel instance is
// compiled in one unit only.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/CpuEmitter.h"

#include "compiler/Target/Common/EmitterCore.h"
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

/// The CPU's scalar math.
const ScalarTable kCpuScalars = {"std::max", "std::min", "std::exp"};

class CpuEmitter : public EmitterCore {
public:
  CpuEmitter(func::FuncOp func, const ModelParams &params)
      : EmitterCore(func, params, kCpuScalars, "CPU", "kiln::cpu::"),
        params(params) {}
  LogicalResult emit(const CpuEmitOptions &options, CpuSource &source);

private:
  const ModelParams &params;

  //===--------------------------------------------------------------------===//
  // Target hooks
  //===--------------------------------------------------------------------===//

  Storage storageOf(kernel::BufferAttr b) const override {
    Storage s;
    s.base = b.getSpace() == kernel::MemorySpace::arena   ? "A"
             : b.getSpace() == kernel::MemorySpace::input ? "input"
                                                          : "output";
    s.type = b.getElement() == kernel::ElementKind::f32 ? ElementType::F32
                                                        : ElementType::Activation;
    s.offset = b.getByteOffset() / 4 + b.getOffset();
    s.shape.assign(b.getShape().begin(), b.getShape().end());
    s.strides.assign(b.getStrides().begin(), b.getStrides().end());
    return s;
  }

  std::string floatsSize(int64_t floats) const override {
    return std::to_string(floats);
  }
  std::string asFloats(StringRef dst, bool) const override { return dst.str(); }

  void emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                       std::string expr) override {
    emitLoopNest(out, ins, std::move(expr), /*accumulate=*/false);
  }
  void emitLoopNest(const Storage &out, ArrayRef<Storage> ins,
                    std::string expr, bool accumulate);
  void emitReduce(const Storage &out, const Storage &in, ArrayRef<int64_t> dims,
                  bool keepdim, double scale) override;
  void emitSoftmax(const Storage &out, const Storage &in, int64_t dim) override;

  /// The arena at byte |bytes|, or "" when there is none.
  static std::string scratch(std::optional<uint64_t> bytes) {
    return bytes ? "(A + " + std::to_string(*bytes / 4) + ")" : "";
  }

  //===--------------------------------------------------------------------===//
  // Kernel calls
  //===--------------------------------------------------------------------===//

  /// A kernel template instance a step calls ("kiln::cpu::conv2d<kConv2d3,
  /// kiln::cpu::Epilogue{...}>") and its shape constant: each instance is
  /// compiled in one unit, with the packing code of its shape.
  struct Instance {
    std::string text, shape;
  };
  /// The instances of each step, by step index.
  std::map<size_t, SmallVector<Instance, 2>> instancesOf;
  /// Records that the step being emitted calls |kernel|<|shape|...>;
  /// returns the instance's text.
  std::string instance(std::string kernel, StringRef shape) {
    instancesOf[steps.size()].push_back({kernel, shape.str()});
    return kernel;
  }

  /// Packs |weight| for the kernel |kind|<|name|> ("conv2d" or "linear").
  FailureOr<std::string> packed(Operation *op, Value weight, StringRef kind,
                                StringRef name);

  LogicalResult emitConv(kernel::Conv2dOp op) override;
  LogicalResult emitConvChain(kernel::ConvChainOp op) override;
  LogicalResult emitLinear(kernel::LinearOp op) override;
  LogicalResult emitSeGate(kernel::SqueezeExciteGateOp op) override;
  LogicalResult emitPool(kernel::Pool2dOp op) override;
  LogicalResult emitAdaptivePool(kernel::AdaptivePool2dOp op) override;

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

void CpuEmitter::emitLoopNest(const Storage &out, ArrayRef<Storage> ins,
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
  // With a run-time batch, the outermost loop (the batch, the largest
  // output stride, possibly merged with the loops inside it) runs the
  // samples asked for.
  bool batchLoop = runtimeBatch();
  if (batchLoop && (rank == 0 || out.shape[0] != batchN || order[0] != 0))
    batchFailure = func;
  nest.simplify();
  if (batchLoop && nest.extents[0] % batchN == 0)
    nest.outerExtent = rows(nest.extents[0]);
  else if (batchLoop)
    batchFailure = func;
  llvm::raw_string_ostream os(run);
  // A plain copy of up to three loops (a concat's or a shuffle's part, the
  // input's NCHW to NHWC, of each image of a run-time batch) is the
  // runtime's copy2d, in the kernel set's vectors rather than this unit's
  // baseline scalars.
  if (!accumulate && nest.expr == "in0" && nest.ins.size() == 1 &&
      nest.body.empty() && nest.extents.size() <= 3) {
    // Loops padded to three from the outside (one trip, strides 0).
    size_t pad = 3 - nest.extents.size();
    auto extent = [&](size_t d) -> std::string {
      if (d < pad)
        return "1";
      if (d == pad && !nest.outerExtent.empty())
        return nest.outerExtent;
      return std::to_string(nest.extents[d - pad]);
    };
    auto stride = [&](const StridedOperand &o, size_t d) {
      return std::to_string(d < pad ? 0 : o.strides[d - pad]);
    };
    const StridedOperand &in = nest.ins[0];
    os << "  kiln::cpu::copy2d({.n = " << extent(0) << ", .rows = "
       << extent(1) << ", .cols = " << extent(2)
       << ", .src_n = " << stride(in, 0) << ", .src_row = " << stride(in, 1)
       << ", .src_col = " << stride(in, 2)
       << ", .dst_n = " << stride(nest.out, 0)
       << ", .dst_row = " << stride(nest.out, 1)
       << ", .dst_col = " << stride(nest.out, 2) << "}, " << in.base << ", "
       << nest.out.base << ", pool);\n";
    return;
  }
  nest.print(os, 2);
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

FailureOr<std::string> CpuEmitter::packed(Operation *op, Value weight,
                                          StringRef kind, StringRef name) {
  auto data = weightCode.data(op, weight);
  if (failed(data))
    return failure();
  return addPrepared(
      ("kiln::cpu::" + kind + "_packed_size<" + name + ">()").str(),
      [&](StringRef dst) {
        return ("  kiln::cpu::" + kind + "_pack<" + name + ">(" + *data + ", " +
                dst + ");\n")
            .str();
      },
      PreparedItem::Pack{kind.str(), name.str(), *data});
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult CpuEmitter::emitConv(kernel::Conv2dOp op) {
  Storage in = storageOf(op.getInput()), out = storageOf(op.getOutput());
  Dims x = in.shape, wt = shapeOf(op.getWeight());
  if (wt[1] * int64_t(op.getGroups()) != x[1])
    return op.emitError("the CPU kernels read no channel-padded input");
  bool perSample = bool(op.getScale());
  // A per-sample input scale is applied to the weights of one sample.
  std::string name = constant("Conv2d", conv2dInit(op, perSample ? 1 : x[0]));
  // Winograd (choose-winograd) has its own descriptor, packing and kernel.
  std::optional<uint64_t> winograd = op.getWinograd();
  if (winograd)
    name = constant("Winograd", "{.conv = " + conv2dInit(op, x[0]) +
                                    ", .m = " + std::to_string(*winograd) + "}");
  std::string kind = winograd ? "conv2d_winograd" : "conv2d";
  auto weights = packed(op, op.getWeight(), kind, name);
  if (failed(weights))
    return failure();
  std::string residual = "nullptr";
  int64_t residualStride = 0;
  auto bias = optionalVector(op, op.getBias());
  if (failed(bias))
    return failure();
  Storage res;
  if (auto r = op.getResidual()) {
    res = storageOf(*r);
    residual = ptr(res);
    residualStride = *r->getPixelStride();
  }
  // A two-group shuffle's other group, copied by the kernel (verified:
  // no Winograd, no input scale).
  std::string pass, passFields;
  if (auto p = op.getPassthroughAttr()) {
    kind = "conv2d_shuffled";
    pass = ptr(storageOf(p)) + ", ";
    passFields = llvm::formatv(", .pass_stride = {0}, .pass_offset = {1}",
                               *p.getPixelStride(),
                               int64_t(*op.getPassthroughOffset()));
  }
  std::string epilogue = llvm::formatv(
      "kiln::cpu::Epilogue{{.bias = {0}, .residual = {1}, .residual_stride = "
      "{2}, .act = kiln::cpu::Act::{3}{4}}",
      op.getBias() ? "true" : "false", op.getResidual() ? "true" : "false",
      residualStride, activationName(op.getActivation()), passFields);
  llvm::raw_string_ostream os(run);
  if (!perSample) {
    os << llvm::formatv("  {0}({1}, {2}, {3}, {4}, {5}{6}, pool{7});\n",
                        instance("kiln::cpu::" + kind + "<" + name + ", " +
                                     epilogue + ">",
                                 name),
                        ptr(in), *weights, *bias, residual, pass, ptr(out),
                        rowsArg(x[0]));
  } else {
    std::string scaled = scratch(op.getScratch());
    if (scaled.empty())
      return op.emitError("the plan gives this scaled convolution no scratch");
    Storage gate = storageOf(*op.getScale());
    std::string size = instance("kiln::cpu::conv2d_packed_size<" + name + ">", name);
    std::string scale = instance("kiln::cpu::conv2d_scale_packed<" + name + ">", name);
    std::string conv =
        instance("kiln::cpu::conv2d<" + name + ", " + epilogue + ">", name);
    os << llvm::formatv(
        "  static_assert({14}() <= {1}, \"scratch\");\n"
        "  for (int64_t n = 0; n < {2}; ++n) {{\n"
        "    {15}({3}, {4} + n * {5}, {6}, pool);\n"
        "    {16}({8} + n * {9}, {6}, {10}, {11}, {12} + n * {13}, pool);\n"
        "  }\n",
        name, wt[1] * wt[2] * wt[3] * ((wt[0] + 63) / 64 * 64), rows(x[0]), *weights,
        ptr(gate), gate.strides[0], scaled, epilogue, ptr(in), in.strides[0], *bias,
        op.getResidual() ? "(" + residual + " + n * " + std::to_string(res.strides[0]) + ")"
                         : std::string("nullptr"),
        ptr(out), out.strides[0], size, scale, conv);
  }
  ++kernels;
  return success();
}

LogicalResult CpuEmitter::emitConvChain(kernel::ConvChainOp op) {
  Storage in = storageOf(op.getInput()), out = storageOf(op.getOutput());
  Dims x = in.shape, y = out.shape, wd = shapeOf(op.getDepthwise());
  int64_t e = wd[0], k = wd[2], s = op.getStride()[0], p = op.getPadding()[0],
          q = op.getPadding()[1];
  auto [outStride, outStep] = *op.getOutput().getNhwcOutput();
  // The three layers' shapes; the intermediate tensors are dense.
  int64_t h = x[2], w = x[3], n = x[0];
  std::string layers[3] = {
      constant("Conv2d", conv2dText({n, h, w, x[1], e, 1, 1, 1, 1, 0, 0, 1, 1, 1,
                                     h, w, *op.getInput().getPixelStride(), e})),
      constant("Conv2d", conv2dText({n, h, w, e, e, k, k, s, s, p, q, 1, 1, e,
                                     y[2], y[3], e, e})),
      constant("Conv2d", conv2dText({n, y[2], y[3], e, y[1], 1, 1, 1, 1, 0, 0, 1,
                                     1, 1, y[2], y[3], e, outStride, outStep}))};
  std::string name = constant("ConvChain", "{" + layers[0] + ", " + layers[1] +
                                               ", " + layers[2] + "}");
  Value weights[3] = {op.getExpand(), op.getDepthwise(), op.getProject()};
  Value biases[3] = {op.getExpandBias(), op.getDepthwiseBias(), op.getProjectBias()};
  Activation acts[3] = {op.getExpandActivation(), op.getDepthwiseActivation(),
                        op.getProjectActivation()};
  std::string args, epilogues;
  for (int i = 0; i < 3; ++i) {
    auto packedWeights = packed(op, weights[i], "conv2d", layers[i]);
    auto bias = vector(op, biases[i]);
    if (failed(packedWeights) || failed(bias))
      return failure();
    args += *packedWeights + ", " + *bias + ", ";
    bool residual = i == 2 && op.getResidual();
    epilogues += llvm::formatv(
        ", kiln::cpu::Epilogue{{.bias = true, .residual = {0}, .residual_stride "
        "= {1}, .act = kiln::cpu::Act::{2}}",
        residual ? "true" : "false",
        residual ? *op.getResidual()->getPixelStride() : 0,
        activationName(acts[i]));
  }
  std::string residual =
      op.getResidual() ? ptr(storageOf(*op.getResidual())) : "nullptr";
  llvm::raw_string_ostream os(run);
  os << llvm::formatv("  {0}({1}, {2}{3}, {4}, pool{5});\n",
                      instance("kiln::cpu::conv_chain<" + name + epilogues + ">",
                               name),
                      ptr(in), args, residual, ptr(out), rowsArg(n));
  ++kernels;
  return success();
}

std::string CpuEmitter::adaptivePoolCall(const Storage &in, int64_t stride,
                                         StringRef out, int64_t oh, int64_t ow) {
  std::string name = constant(
      "AdaptivePool2d", adaptivePool2dInit(in.shape, stride, oh, ow));
  return llvm::formatv(
      "  {0}({1}, {2}, pool{3});\n",
      instance("kiln::cpu::adaptive_avg_pool2d<" + name + ">", name), ptr(in), out,
      rowsArg(in.shape[0]));
}

LogicalResult CpuEmitter::emitLinear(kernel::LinearOp op) {
  Storage out = storageOf(op.getOutput());
  Dims wt = shapeOf(op.getWeight());
  int64_t k = wt[1], n = wt[0];
  std::string x;
  llvm::raw_string_ostream os(run);
  if (op.getPoolScratch()) {
    // Global average pooling into scratch, then the layer.
    x = scratch(op.getPoolScratch());
    os << adaptivePoolCall(storageOf(op.getInput()), *op.getInput().getPixelStride(),
                           x, 1, 1);
  } else {
    if (!op.getInput().isRowMajor())
      return op.emitError("the input is not a contiguous activation");
    x = ptr(storageOf(op.getInput()));
  }
  int64_t m = numel(out.shape) / n;
  std::string name = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", m, k, n));
  auto weights = packed(op, op.getWeight(), "linear", name);
  if (failed(weights))
    return failure();
  auto bias = optionalVector(op, op.getBias());
  if (failed(bias))
    return failure();
  std::string residual = "nullptr";
  if (auto r = op.getResidual())
    residual = ptr(storageOf(*r));
  std::string kernel = llvm::formatv(
      "kiln::cpu::linear<{0}, kiln::cpu::Epilogue{{.bias = {1}, .residual = "
      "{2}, .residual_stride = {3}, .act = kiln::cpu::Act::{4}}>",
      name, op.getBias() ? "true" : "false", op.getResidual() ? "true" : "false",
      op.getResidual() ? n : 0, activationName(op.getActivation()));
  os << llvm::formatv("  {0}({1}, {2}, {3}, {4}, {5}, pool{6});\n",
                      instance(kernel, name), x, *weights, *bias, residual,
                      ptr(out), rowsArg(m));
  ++kernels;
  return success();
}

LogicalResult CpuEmitter::emitSeGate(kernel::SqueezeExciteGateOp op) {
  // pool (N×C) → linear + act (N×R) → linear + gate (N×C), in scratch.
  Storage in = storageOf(op.getInput()), out = storageOf(op.getOutput());
  std::string pooled = scratch(op.getScratch());
  if (pooled.empty())
    return op.emitError("the plan gives this gate no scratch");
  int64_t n = in.shape[0], c = in.shape[1];
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
  os << adaptivePoolCall(in, *op.getInput().getPixelStride(), pooled, 1, 1);
  auto layer = [&](const std::string &shape, Activation act, StringRef x,
                   StringRef weights, StringRef bias, StringRef y) {
    std::string kernel = "kiln::cpu::linear<" + shape +
                         ", kiln::cpu::Epilogue{.bias = true, .act = "
                         "kiln::cpu::Act::" + activationName(act) + "}>";
    os << llvm::formatv("  {0}({1}, {2}, {3}, nullptr, {4}, pool{5});\n",
                        instance(kernel, shape), x, weights, bias, y, rowsArg(n));
  };
  layer(reduce, op.getActivation(), pooled, *w1, *b1, hidden);
  layer(expand, op.getGate(), hidden, *w2, *b2, ptr(out));
  ++kernels;
  return success();
}

LogicalResult CpuEmitter::emitPool(kernel::Pool2dOp op) {
  std::string name = constant("Pool2d", pool2dInit(op));
  std::string kernel = (op.getKind() == kernel::PoolKind::max
                            ? "kiln::cpu::max_pool2d<"
                            : "kiln::cpu::avg_pool2d<") +
                       name + ">";
  Storage in = storageOf(op.getInput());
  run += llvm::formatv("  {0}({1}, {2}, pool{3});\n", instance(kernel, name),
                       ptr(in), ptr(storageOf(op.getOutput())), rowsArg(in.shape[0]));
  ++kernels;
  return success();
}

LogicalResult CpuEmitter::emitAdaptivePool(kernel::AdaptivePool2dOp op) {
  // The kernel writes NHWC with contiguous pixels: with the 1×1 output of a
  // mean that drops H and W, that is also the result's row-major order.
  run += adaptivePoolCall(storageOf(op.getInput()), *op.getInput().getPixelStride(),
                          ptr(storageOf(op.getOutput())), op.getOutputSize()[0],
                          op.getOutputSize()[1]);
  ++kernels;
  return success();
}

void CpuEmitter::emitReduce(const Storage &out, const Storage &x,
                            ArrayRef<int64_t> dims, bool keepdim, double scale) {
  // Sum into the zeroed result, then scale. A view of the result with the
  // input's rank, stride 0 on reduced dims, accumulates.
  Storage acc = out;
  acc.shape = x.shape;
  acc.strides.assign(x.shape.size(), 0);
  for (size_t d = 0, k = 0; d < x.shape.size(); ++d) {
    if (llvm::is_contained(dims, int64_t(d))) {
      if (keepdim)
        ++k;
      continue;
    }
    acc.strides[d] = out.strides[k++];
  }
  emitElementwise(out, {}, "0.0f");
  emitLoopNest(acc, {x}, "in0", /*accumulate=*/true);
  emitElementwise(out, {out}, "in0 * " + floatLiteral(scale));
}

void CpuEmitter::emitSoftmax(const Storage &out, const Storage &x, int64_t dim) {
  // A loop nest over the rows (every dimension but |dim|, at extent 1 in
  // the nest's view), whose body reduces its row twice and then stores it.
  LoopNest nest;
  size_t rank = out.shape.size();
  SmallVector<size_t, 6> order(rank);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return out.strides[a] > out.strides[b];
  });
  nest.out.base = ptr(out);
  StridedOperand source;
  source.base = ptr(x);
  for (size_t d : order) {
    nest.extents.push_back(d == size_t(dim) ? 1 : out.shape[d]);
    nest.out.strides.push_back(d == size_t(dim) ? 0 : out.strides[d]);
    source.strides.push_back(d == size_t(dim) ? 0 : x.strides[d]);
  }
  nest.ins.push_back(std::move(source));
  int64_t n = x.shape[dim];
  nest.tripCost = 3 * n;
  std::string in = "in0_row[k * " + std::to_string(x.strides[dim]) + "]";
  std::string o = "out_row[k * " + std::to_string(out.strides[dim]) + "]";
  std::string loop = "for (int64_t k = 0; k < " + std::to_string(n) + "; ++k)";
  nest.body = llvm::formatv(
      "float max = in0_row[0];\n"
      "{0}\n  max = {3}(max, {1});\n"
      "double sum = 0.0;\n"
      "{0} {{\n  const float e = {4}({1} - max);\n  {2} = e;\n  sum += e;\n}\n"
      "{0}\n  {2} = float({2} / sum);\n",
      loop, in, o, kCpuScalars.max, kCpuScalars.exp);
  nest.simplify();
  llvm::raw_string_ostream os(run);
  nest.print(os, 2);
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

int CpuEmitter::partition(unsigned jobs, std::vector<int> &unitOf,
                          llvm::StringMap<int> &unitOfShape) const {
  // One g++ compiles the kernels of a whole network in 10-30 s; spread over
  // a few units they compile on all cores. Steps that call the same
  // instance share a unit (compiled once); loops stay inline in run.
  llvm::StringMap<int> unitOfInstance;
  for (const auto &[step, instances] : instancesOf)
    for (const Instance &instance : instances)
      unitOfInstance.try_emplace(instance.text, 0);
  // Units beyond the cores would only repeat the shared microkernels.
  if (jobs == 0)
    jobs = std::max(1u, std::thread::hardware_concurrency());
  int units = std::clamp(int(unitOfInstance.size()) / kInstancesPerUnit, 0,
                         std::min(int(jobs), kMaxKernelUnits));
  unitOf.assign(steps.size(), 0);
  if (units < 2)
    return 1;
  std::vector<int> load(units + 1, 0);
  for (const auto &[i, instances] : instancesOf) {
    int unit = unitOfInstance[instances.front().text];
    if (unit == 0) {
      unit = 1;
      for (int u = 2; u <= units; ++u)
        if (load[u] < load[unit])
          unit = u;
    }
    unitOf[i] = unit;
    for (const Instance &instance : instances) {
      int &home = unitOfInstance[instance.text];
      if (home == 0) {
        home = unit;
        ++load[unit];
      }
      unitOfShape.try_emplace(instance.shape, unit);
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
                           "float *const A, kiln::rt::ThreadPool &pool, int batch)";
  // A layer's weights are packed in its kernel's unit: the packing code
  // depends on the same shape constant.
  std::vector<std::string> packs(unitCount);
  std::set<std::string> packed;
  SmallVector<std::string> prepareCode;
  for (auto [i, item] : llvm::enumerate(prepared)) {
    int unit = item.pack ? unitOfShape.lookup(item.pack->shape) : 0;
    if (unit == 0) {
      prepareCode.push_back(item.code);
      continue;
    }
    const PreparedItem::Pack &p = *item.pack;
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
          "*arena, kiln::rt::ThreadPool &pool, int batch) {\n"
       << "  float *const A = reinterpret_cast<float *>(arena);\n"
       << "  (void)batch;\n";
    for (size_t i = 0; i < steps.size(); ++i) {
      if (unitOf[i] == 0)
        os << steps[i];
      else
        os << "  kiln_step_" << i << "(w, input, output, A, pool, batch);\n";
    }
    os << "}\n\n} // namespace\n\n";
  } else {
    os << "} // namespace\n\n";
  }
  if (options.cudaModel)
    os << "extern const kiln::rt::CudaModel kiln_cuda_model;\n\n";
  if (options.embeddedWeights)
    os << "extern \"C\" const unsigned char kiln_embedded_weights_begin[];\n"
       << "extern \"C\" const unsigned long long kiln_embedded_weights_size;\n\n";
  auto shape = [&](Type t) {
    ArrayRef<int64_t> s = cast<ShapedType>(t).getShape();
    std::string text = std::to_string(s.size()) + ", {";
    for (size_t i = 0; i < s.size(); ++i)
      text += (i ? ", " : "") + std::to_string(s[i]);
    return text + "}";
  };
  // The kernel function's arguments: the input and the output.
  Type output = func.getArgument(1).getType();
  bool imagenet = cast<ShapedType>(output).getRank() == 2 &&
                  cast<ShapedType>(output).getDimSize(1) == 1000;
  if (options.cpuCode) {
    os << "const kiln::cpu::KernelTable *const kCpuKernels[] = {";
    for (auto [i, name] : llvm::enumerate(options.cpuKernels))
      os << (i ? ", " : "") << "&kiln::cpu::kernels_" << name;
    os << "};\n\n";
  }
  os << "const kiln::rt::ModelInfo kiln::rt::kModel = {\n"
     << "    \"" << model << "\",\n"
     << "    " << shape(func.getArgument(0).getType()) << ",\n"
     << "    " << shape(output) << ",\n"
     << "    kParams, " << params.specs.size() << ",\n";
  if (options.embeddedWeights)
    os << "    kiln_embedded_weights_begin,\n"
       << "    size_t(kiln_embedded_weights_size),\n";
  else
    os << "    nullptr, 0,\n";
  os << "    " << (imagenet ? "true" : "false") << ", "
     << (flexible || batchN == 1 ? "true" : "false") << ",\n"
     << "    " << (options.cpuCode ? "kPreparedFloats" : "0") << ", "
     << (options.cpuCode ? arena : 0) << ",\n"
     << "    " << (options.cpuCode ? "prepare, run" : "nullptr, nullptr") << ", "
     << (options.cudaModel ? "&kiln_cuda_model" : "nullptr") << ",\n"
     << "    "
     << (options.cpuCode ? "kCpuKernels, " + std::to_string(options.cpuKernels.size())
                         : std::string("nullptr, 0"))
     << "};\n";
  return units;
}

LogicalResult CpuEmitter::emit(const CpuEmitOptions &options,
                               CpuSource &source) {
  auto arena = func->getAttrOfType<IntegerAttr>(KilnDialect::getArenaBytesAttrName());
  if (!arena)
    return func.emitError("the CPU target needs kernel-level IR with an "
                          "arena (run --kiln-lower-to-kernels)");
  // A CUDA-only executable's CPU unit holds the model's description only.
  if (options.cpuCode && failed(emitBody(func.getBody().front())))
    return failure();
  if (batchFailure)
    return func.emitError("internal: a kernel of the CPU code does not have "
                          "the batch outermost, which kiln.batch promises");
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
