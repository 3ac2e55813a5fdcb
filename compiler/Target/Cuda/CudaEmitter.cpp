//===- CudaEmitter.cpp - planned kiln IR to CUDA C++ ----------------------===//
//
// This file implements the CUDA code generator. It reads planned IR (after
// --kiln-choose-layout, --kiln-plan-memory and --kiln-choose-schedule) and
// prints, for each op in program order:
//   * a launcher call of runtime/include/kiln/cuda/kernels.cuh with the
//     shape, tile schedule and fused epilogue as template arguments
//     (convolutions and linear layers, pooling, the SE gate);
//   * a generated __global__ kernel and its launch (everything elementwise:
//     layout conversions, unfused activations, adds and batch norms,
//     copying concats, channel shuffles, general means); or
//   * nothing: views and in-place concats only change how later code
//     addresses memory (as in the CPU emitter).
//
// Memory. The plan places every buffer at a byte offset of one arena sized
// for fp32. Activations are stored in the precision's element type T (half
// of each slot is used at 16 bits, so the plan stays target-independent);
// the SE gate is fp32 in every precision. A 16-bit model whose output the
// plan sends straight to the caller writes it to a staging slot after the
// plan's arena instead, and a last kernel converts it to the fp32 output.
// Weights are converted and packed on the host by the prepare step into
// one block (byte offsets kP<i>, 256-byte aligned) that the runtime
// uploads once.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cuda/CudaEmitter.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "compiler/Target/Common/LoopNest.h"
#include "compiler/Target/Common/Storage.h"
#include "compiler/Target/Common/WeightCode.h"
#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kiln/IR/KilnDialect.h"
#include "kiln/cuda/schedule.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <numeric>

using namespace mlir;
using namespace kiln;

namespace {

/// The device expression of a unary op applied to |x| (a float).
std::string unaryExpr(Operation *op, StringRef x) {
  std::string v = x.str();
  std::string relu6 = "fminf(fmaxf(" + v + " + 3.0f, 0.0f), 6.0f)";
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case([&](ReluOp) { return "fmaxf(" + v + ", 0.0f)"; })
      .Case([&](Relu6Op) { return "fminf(fmaxf(" + v + ", 0.0f), 6.0f)"; })
      .Case([&](SigmoidOp) { return "1.0f / (1.0f + expf(-" + v + "))"; })
      .Case([&](HardSigmoidOp) { return relu6 + " / 6.0f"; })
      .Case([&](HardSwishOp) { return v + " * " + relu6 + " / 6.0f"; })
      .Default([](Operation *) { return std::string(); });
}

struct PrecisionInfo {
  cuda::Precision precision;
  const char *enumerator, *name;
};

std::optional<PrecisionInfo> precisionOf(StringRef name) {
  return llvm::StringSwitch<std::optional<PrecisionInfo>>(name)
      .Case("fp32", PrecisionInfo{cuda::Precision::F32, "F32", "fp32"})
      .Case("tf32", PrecisionInfo{cuda::Precision::TF32, "TF32", "tf32"})
      .Case("fp16", PrecisionInfo{cuda::Precision::F16, "F16", "fp16"})
      .Case("bf16", PrecisionInfo{cuda::Precision::BF16, "BF16", "bf16"})
      .Default(std::nullopt);
}

std::string scheduleText(const cuda::Schedule &t) {
  return llvm::formatv("Schedule{{{0}, {1}, {2}, {3}, {4}, {5}, {6}}", t.bm,
                       t.bn, t.bk, t.warps_m, t.warps_n, t.stages, t.split_k)
      .str();
}

/// The kernels' Epilogue: a residual when |residualStride| > 0.
std::string epilogueText(bool bias, int64_t residualStride, Activation act,
                         bool scale) {
  return llvm::formatv("Epilogue{{.bias = {0}, .residual = {1}, "
                       ".residual_stride = {2}, .act = Activation::{3}, "
                       ".scale = {4}}",
                       bias ? "true" : "false",
                       residualStride ? "true" : "false", residualStride,
                       activationName(act), scale ? "true" : "false")
      .str();
}

class CudaEmitter {
public:
  CudaEmitter(func::FuncOp func, const ModelParams &params, PrecisionInfo p)
      : func(func), weightCode(params), precision(p) {}
  LogicalResult emit(CudaSource &source);

private:
  func::FuncOp func;
  WeightCode weightCode;
  PrecisionInfo precision;
  llvm::DenseMap<Value, Storage> storage;
  ConcatSlots producedSlots;
  /// The run function's body and the generated kernels.
  std::string run, kernelText;
  std::map<std::string, std::string> kernelNames;
  /// Shape constants, deduplicated by their text.
  std::map<std::string, std::string> constantNames;
  std::vector<std::string> constants;
  /// Prepared weights: size expression (bytes) and code per item.
  std::vector<std::pair<std::string, std::string>> prepared;
  int64_t arenaBytes = 0, stagingBytes = 0;
  size_t workspaceBytes = 0;
  int kernels = 0;

  bool sixteenBit() const {
    return precision.precision == cuda::Precision::F16 ||
           precision.precision == cuda::Precision::BF16;
  }

  //===--------------------------------------------------------------------===//
  // Storage
  //===--------------------------------------------------------------------===//

  static std::string ptr(const Storage &s) {
    return s.offset ? "(" + s.base + " + " + std::to_string(s.offset) + ")"
                    : s.base;
  }

  static Storage arenaAt(int64_t bytes, ArrayRef<int64_t> shape, bool nhwc,
                         StringRef type = "T") {
    Storage s;
    s.type = type.str();
    s.base = "reinterpret_cast<" + s.type + " *>(A + " +
             std::to_string(bytes) + ")";
    s.shape.assign(shape.begin(), shape.end());
    s.strides = nhwc ? nhwcStrides(shape) : rowMajorStrides(shape);
    return s;
  }

  FailureOr<Storage> resultStorage(Operation *op, StringRef type = "T") {
    Value result = op->getResult(0);
    Dims shape = shapeOf(result);
    bool nhwc = false;
    if (auto layout = op->getAttrOfType<LayoutAttr>(KilnDialect::getLayoutAttrName()))
      nhwc = layout.getValue() == Layout::nhwc;
    if (auto convert = dyn_cast<ConvertLayoutOp>(op))
      nhwc = convert.getLayout() == Layout::nhwc;
    if (auto it = producedSlots.find(result); it != producedSlots.end()) {
      auto [concat, index] = it->second;
      auto offset = concat->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName());
      if (!offset)
        return op->emitError("the in-place concat has no planned offset");
      return kiln::concatSlot(
          concat, index,
          arenaAt(offset.getInt(), shapeOf(concat.getResult()), true, type));
    }
    if (auto offset = op->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName()))
      return arenaAt(offset.getInt(), shape, nhwc, type);
    // The plan sends a non-4-D model output straight to the caller: fp32
    // results go there, 16-bit ones to the staging slot after the arena.
    if (result.hasOneUse() && isa<func::ReturnOp>(*result.getUsers().begin()) &&
        shape.size() != 4) {
      if (type == "float" || !sixteenBit()) {
        Storage s;
        s.base = "output";
        s.type = "float";
        s.shape = shape;
        s.strides = rowMajorStrides(shape);
        return s;
      }
      return arenaAt(allocExtra(numel(shape) * 4), shape, false, type);
    }
    return op->emitError("the CUDA target needs planned IR (no kiln.offset on "
                         "this op; run --kiln-plan-memory)");
  }

  /// Memory after the plan's arena (staging), never reused.
  int64_t allocExtra(int64_t bytes) {
    int64_t at = arenaBytes + stagingBytes;
    stagingBytes += (bytes + 255) / 256 * 256;
    return at;
  }

  /// |s| as an activation of type T: fp32 data (the model input) is
  /// converted into a staging buffer first in the 16-bit precisions.
  Storage asActivation(const Storage &s) {
    if (s.type == "T" || !sixteenBit()) {
      Storage t = s;
      t.type = "T";
      if (s.type != "T")
        t.base = "reinterpret_cast<const T *>(" + s.base + ")";
      return t;
    }
    auto key = std::make_pair(s.base, s.offset);
    auto it = converted.find(key);
    if (it == converted.end()) {
      // Same order as |s|: densely packed in its stride order.
      Storage t = s;
      SmallVector<size_t, 6> order(s.shape.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return s.strides[a] > s.strides[b];
      });
      int64_t stride = 1;
      for (size_t k = order.size(); k-- > 0;) {
        t.strides[order[k]] = stride;
        stride *= s.shape[order[k]];
      }
      t.type = "T";
      t.offset = 0;
      t.base = "reinterpret_cast<T *>(A + " +
               std::to_string(allocExtra(numel(s.shape) * 4)) + ")";
      emitElementwise(t, {s}, "in0");
      it = converted.insert({key, t}).first;
    }
    return it->second;
  }
  std::map<std::pair<std::string, int64_t>, Storage> converted;
  /// Layout conversions written straight into a zero-padded buffer for the
  /// convolution that reads them (see emitPaddedConversion).
  llvm::DenseMap<Value, Storage> prepadded;

  /// Channels a pixel of a padded input holds: 16 bytes.
  int64_t paddedChannels() const {
    return 16 / cuda::element_bytes(precision.precision);
  }
  /// Whether |conv| reads its input padded to paddedChannels().
  bool padsInput(Conv2dOp conv) {
    return conv.getGroups() == 1 && !conv.getScale() &&
           shapeOf(conv.getInput())[1] < paddedChannels();
  }
  /// A wide NHWC buffer of |shape| with paddedChannels() channels.
  Storage paddedBuffer(ArrayRef<int64_t> shape) {
    Storage wide;
    wide.type = "T";
    wide.shape = {shape[0], paddedChannels(), shape[2], shape[3]};
    wide.strides = nhwcStrides(wide.shape);
    wide.base = "reinterpret_cast<T *>(A + " +
                std::to_string(allocExtra(numel(wide.shape) *
                                          cuda::element_bytes(precision.precision))) +
                ")";
    return wide;
  }
  LogicalResult emitPaddedConversion(ConvertLayoutOp op);

  std::string scratch(Operation *op, StringRef type = "T") {
    auto bytes = op->getAttrOfType<IntegerAttr>(KilnDialect::getScratchAttrName());
    return bytes ? "reinterpret_cast<" + type.str() + " *>(A + " +
                       std::to_string(bytes.getInt()) + ")"
                 : "";
  }

  /// The NHWC storage of |v| a kernel reads, and its pixel stride.
  FailureOr<std::pair<Storage, int64_t>> kernelInput(Operation *op, Value v) {
    Storage s = asActivation(storage.lookup(v));
    auto stride = nhwcPixelStride(s);
    if (!stride)
      return op->emitError("operand is not a channels-last activation "
                           "(choose-layout should have converted it)");
    return std::make_pair(s, *stride);
  }

  /// Checks that a channel slice starts where the kernels' vector accesses
  /// need it to (activation_alignment).
  LogicalResult checkAligned(Operation *op, const Storage &s, int64_t stride,
                             int64_t step = 1) {
    // A channel-stepped output is stored element by element.
    int need = step == 1 ? cuda::activation_alignment(int(s.shape[1]), int(stride),
                                                      precision.precision)
                         : cuda::element_bytes(precision.precision);
    int64_t bytes = s.offset * cuda::element_bytes(precision.precision);
    if (bytes % need == 0)
      return success();
    return op->emitError() << "a channel slice at element offset " << s.offset
                           << " is not " << need << "-byte aligned, as the "
                           << precision.name << " kernels need";
  }

  //===--------------------------------------------------------------------===//
  // Constants, kernels and prepared weights
  //===--------------------------------------------------------------------===//

  std::string constant(StringRef type, const std::string &init) {
    std::string text = type.str() + init;
    auto it = constantNames.find(text);
    if (it != constantNames.end())
      return it->second;
    std::string name = "k" + type.str() + std::to_string(constants.size());
    constants.push_back("constexpr " + type.str() + " " + name + init + ";");
    return constantNames[text] = name;
  }

  /// Adds a prepared item of |size| bytes filled by |code| (which names its
  /// char pointer "@P"); returns the pointer's expression in run().
  std::string addPrepared(std::string size, std::string code) {
    std::string dst = "(w + kP" + std::to_string(prepared.size()) + ")";
    size_t pos;
    while ((pos = code.find("@P")) != std::string::npos)
      code.replace(pos, 2, dst);
    prepared.push_back({std::move(size), std::move(code)});
    return dst;
  }

  FailureOr<std::string> packed(Operation *op, Value weight, StringRef kind,
                                StringRef name) {
    auto data = weightCode.data(op, weight);
    if (failed(data))
      return failure();
    return addPrepared(
        (kind + "_packed_bytes<" + name + ", kP>()").str(),
        ("  " + kind + "_pack<" + name + ", kP>(" + *data + ", @P);\n").str());
  }

  /// Copies an fp32 weight vector (a bias) into the prepared block.
  FailureOr<std::string> vector(Operation *op, Value v) {
    auto data = weightCode.data(op, v);
    if (failed(data))
      return failure();
    int64_t n = numel(shapeOf(v));
    std::string dst = addPrepared(
        std::to_string(4 * n), "  std::copy_n(" + *data + ", " + std::to_string(n) +
                                   ", reinterpret_cast<float *>(@P));\n");
    return "reinterpret_cast<const float *>" + dst;
  }

  /// Launches |kernel| (a generated __global__ function) over |threads|.
  void launch(StringRef kernel, int64_t threads, ArrayRef<std::string> args) {
    llvm::raw_string_ostream os(run);
    os << "  KILN_LAUNCH(" << kernel << ", dim3(" << (threads + 255) / 256
       << "), dim3(256), 0, stream)(";
    llvm::interleaveComma(args, os);
    os << ");\n  KILN_TRY(cudaGetLastError());\n";
    ++kernels;
  }

  /// Names a generated kernel, once per distinct body.
  std::string defineKernel(const std::string &params, const std::string &body) {
    std::string text = params + body;
    auto it = kernelNames.find(text);
    if (it != kernelNames.end())
      return it->second;
    std::string name = "kernel" + std::to_string(kernelNames.size());
    kernelText += "__global__ void __launch_bounds__(256) " + name + "(" +
                  params + ") {\n" + body + "}\n\n";
    return kernelNames[text] = name;
  }

  void emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                       std::string expr);
  void emitReduce(const Storage &out, const Storage &in, ArrayRef<int64_t> dims,
                  bool keepdim, double scale);

  //===--------------------------------------------------------------------===//
  // Ops
  //===--------------------------------------------------------------------===//

  LogicalResult emitOp(Operation *op);
  LogicalResult emitConv(Conv2dOp op);
  LogicalResult emitLinear(LinearOp op);
  LogicalResult emitSeGate(SqueezeExciteGateOp op);
  LogicalResult emitBatchNorm(BatchNormOp op);
  LogicalResult emitPool(Operation *op);
  LogicalResult emitAdaptivePool(Operation *op, Value input, int64_t oh,
                                 int64_t ow, StringRef outType = "T");
  LogicalResult emitMean(MeanOp op);
  LogicalResult emitConcat(ConcatOp op);
  LogicalResult emitChannelShuffle(ChannelShuffleOp op);
  void emitViews(Operation *op);

  FailureOr<cuda::Schedule> scheduleOf(Operation *op, const cuda::Conv2d &shape);
  std::string adaptivePoolCall(const Storage &in, int64_t stride,
                               StringRef out, StringRef outType, int64_t oh,
                               int64_t ow);
  std::string print();
};

//===----------------------------------------------------------------------===//
// Generated kernels
//===----------------------------------------------------------------------===//

/// The start of a kernel with one thread per element of |total|: the
/// thread's flat index, decomposed into `jD` for each dimension D of |dims|
/// (outermost first, extents |shape|[D]).
static std::string threadIndices(int64_t total, ArrayRef<size_t> dims,
                                 ArrayRef<int64_t> shape) {
  std::string body = llvm::formatv(
      "  const long i = long(blockIdx.x) * 256 + long(threadIdx.x);\n"
      "  if (i >= {0}l)\n    return;\n  long r = i;\n",
      total);
  for (size_t k = dims.size(); k-- > 0;) {
    size_t d = dims[k];
    if (k == 0)
      body += llvm::formatv("  const long j{0} = r;\n", d);
    else
      body += llvm::formatv("  const long j{0} = r % {1}l;\n  r /= {1}l;\n", d,
                            shape[d]);
  }
  return body;
}

void CudaEmitter::emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                                  std::string expr) {
  size_t rank = out.shape.size();
  // Dimensions in decreasing output stride: the last index varies fastest,
  // so consecutive threads write consecutive elements.
  SmallVector<size_t, 6> order;
  for (size_t d = 0; d < rank; ++d)
    if (out.shape[d] != 1)
      order.push_back(d);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return out.strides[a] > out.strides[b];
  });
  int64_t total = numel(out.shape);
  std::string params, body = threadIndices(total, order, out.shape);
  std::vector<std::string> argList;
  for (size_t i = 0; i < ins.size(); ++i) {
    params += "const " + ins[i].type + " *__restrict__ in" + std::to_string(i) + "_, ";
    argList.push_back(ptr(ins[i]));
  }
  params += out.type + " *__restrict__ out_";
  argList.push_back(ptr(out));
  auto index = [&](auto strideOf) {
    std::string text;
    for (size_t d : order) {
      int64_t s = strideOf(d);
      if (s == 0)
        continue;
      text += (text.empty() ? "" : " + ") + ("j" + std::to_string(d)) +
              (s == 1 ? "" : " * " + std::to_string(s) + "l");
    }
    return text.empty() ? std::string("0") : text;
  };
  for (size_t i = 0; i < ins.size(); ++i) {
    const Storage &in = ins[i];
    size_t lead = rank - in.shape.size();
    body += llvm::formatv("  const float in{0} = kiln::cuda::to_f32(in{0}_[{1}]);\n",
                          i, index([&](size_t d) -> int64_t {
                            return d < lead || in.shape[d - lead] == 1
                                       ? 0
                                       : in.strides[d - lead];
                          }));
  }
  body += llvm::formatv("  out_[{0}] = kiln::cuda::from_f32<{1}>({2});\n",
                        index([&](size_t d) { return out.strides[d]; }),
                        out.type, expr);
  launch(defineKernel(params, body), total, argList);
}

void CudaEmitter::emitReduce(const Storage &out, const Storage &in,
                             ArrayRef<int64_t> dims, bool keepdim,
                             double scale) {
  // One thread per output element sums its reduced dimensions in order.
  size_t rank = in.shape.size();
  SmallVector<size_t, 6> kept;
  SmallVector<int64_t, 6> outStride(rank, 0);
  for (size_t d = 0, k = 0; d < rank; ++d) {
    if (llvm::is_contained(dims, int64_t(d))) {
      if (keepdim)
        ++k;
      continue;
    }
    kept.push_back(d);
    outStride[d] = out.strides[k++];
  }
  std::string body = threadIndices(numel(out.shape), kept, in.shape);
  std::string inIndex = "0", outIndex = "0";
  for (size_t d : kept) {
    inIndex += " + j" + std::to_string(d) + " * " + std::to_string(in.strides[d]) + "l";
    outIndex += " + j" + std::to_string(d) + " * " + std::to_string(outStride[d]) + "l";
  }
  body += "  float acc = 0.0f;\n";
  std::string indent = "  ";
  for (int64_t d : dims) {
    body += llvm::formatv("{0}for (long q{1} = 0; q{1} < {2}l; ++q{1})\n",
                          indent, d, in.shape[d]);
    inIndex += " + q" + std::to_string(d) + " * " + std::to_string(in.strides[d]) + "l";
    indent += "  ";
  }
  body += indent + "acc += kiln::cuda::to_f32(in0_[" + inIndex + "]);\n";
  body += "  out_[" + outIndex + "] = kiln::cuda::from_f32<" + out.type +
          ">(acc * " + floatLiteral(scale) + ");\n";
  std::string params = "const " + in.type + " *__restrict__ in0_, " +
                       out.type + " *__restrict__ out_";
  launch(defineKernel(params, body), numel(out.shape), {ptr(in), ptr(out)});
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

FailureOr<cuda::Schedule> CudaEmitter::scheduleOf(Operation *op,
                                                  const cuda::Conv2d &shape) {
  if (!cuda::conv_uses_gemm(shape))
    return cuda::Schedule{};
  auto attr = op->getAttrOfType<DenseI32ArrayAttr>(KilnDialect::getScheduleAttrName());
  if (!attr)
    return op->emitError("the CUDA target needs a tile schedule on this layer "
                         "(run --kiln-choose-schedule)");
  ArrayRef<int32_t> t = attr.asArrayRef();
  cuda::Schedule s{t[0], t[1], t[2], t[3], t[4], t[5], t[6]};
  if (!cuda::schedule_ok(shape, precision.precision, s))
    return op->emitError() << "the schedule [" << t << "] is not valid for "
                           << "this layer in " << precision.name;
  workspaceBytes = std::max(
      workspaceBytes, cuda::conv2d_workspace_size(shape, precision.precision, s));
  return s;
}

LogicalResult CudaEmitter::emitConv(Conv2dOp op) {
  auto in = kernelInput(op, op.getInput());
  auto out = resultStorage(op);
  if (failed(in) || failed(out))
    return failure();
  auto where = nhwcOutput(*out);
  if (!where)
    return op.emitError("the result is not planned channels-last");
  int64_t outStride = where->pixelStride, outStep = where->channelStep;
  if (failed(checkAligned(op, in->first, in->second)) ||
      failed(checkAligned(op, *out, outStride, outStep)))
    return failure();
  Dims x = in->first.shape, y = out->shape, wt = shapeOf(op.getWeight());
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  // A dense layer on a few input channels (an RGB stem) reads them padded
  // with zeros to 16 bytes a pixel, so that its A tiles load with 16-byte
  // cp.async like every other layer's; its weights are padded to match.
  int64_t padded = paddedChannels();
  bool pad = padsInput(op);
  Storage input = in->first;
  int64_t inStride = in->second;
  if (pad) {
    if (auto it = prepadded.find(op.getInput()); it != prepadded.end()) {
      input = it->second;
    } else {
      // Copy into a padded buffer: the data, then zeros.
      Storage wide = paddedBuffer(x), data = wide, zeros = wide;
      data.shape[1] = x[1];
      zeros.shape[1] = padded - x[1];
      zeros.offset = x[1];
      emitElementwise(data, {input}, "in0");
      emitElementwise(zeros, {}, "0.0f");
      input = wide;
    }
    inStride = padded;
    x[1] = padded;
  }
  cuda::Conv2d shape{int(x[0]), int(x[2]), int(x[3]), int(x[1]), int(y[1]),
                     int(wt[2]), int(wt[3]), int(s[0]), int(s[1]), int(p[0]),
                     int(p[1]), int(d[0]), int(d[1]), int(op.getGroups()),
                     int(y[2]), int(y[3]), int(inStride), int(outStride),
                     int(outStep)};
  auto schedule = scheduleOf(op, shape);
  if (failed(schedule))
    return failure();
  std::string name =
      constant("Conv2d", conv2dInit(op, x, x[0], inStride, outStride, outStep));
  FailureOr<std::string> weights;
  if (pad) {
    auto raw = weightCode.data(op, op.getWeight());
    if (failed(raw))
      return failure();
    int64_t taps = wt[2] * wt[3];
    weights = addPrepared(
        "conv2d_packed_bytes<" + name + ", kP>()",
        llvm::formatv("  {{\n"
                      "    std::vector<float> padded({0} * {1} * {2}, 0.0f);\n"
                      "    for (int64_t o = 0; o < {0}; ++o)\n"
                      "      for (int64_t i = 0; i < {3} * {2}; ++i)\n"
                      "        padded[(o * {1}) * {2} + i] = {4}[(o * {3}) * {2} + i];\n"
                      "    conv2d_pack<{5}, kP>(padded.data(), @P);\n"
                      "  }\n",
                      wt[0], padded, taps, wt[1], *raw, name)
            .str());
  } else {
    weights = packed(op, op.getWeight(), "conv2d", name);
  }
  if (failed(weights))
    return failure();
  std::string bias = "nullptr", residual = "nullptr", scale = "nullptr";
  int64_t residualStride = 0;
  if (op.getBias()) {
    auto b = vector(op, op.getBias());
    if (failed(b))
      return failure();
    bias = *b;
  }
  if (op.getResidual()) {
    auto r = kernelInput(op, op.getResidual());
    if (failed(r) || failed(checkAligned(op, r->first, r->second)))
      return failure();
    residual = ptr(r->first);
    residualStride = r->second;
  }
  if (op.getScale()) {
    Storage gate = storage.lookup(op.getScale());
    if (gate.type != "float" || !hasStrides(gate, rowMajorStrides(gate.shape)))
      return op.emitError("the input scale must be a dense fp32 N x C gate");
    scale = ptr(gate);
  }
  run += llvm::formatv(
      "  KILN_TRY((conv2d<{0}, {1}, {2}, kP>(\n"
      "      {3}, {4}, {5}, {6}, {7}, {8}, workspace, stream)));\n",
      name, scheduleText(*schedule),
      epilogueText(bool(op.getBias()), residualStride, op.getActivation(),
                   bool(op.getScale())),
      ptr(input), *weights, bias, residual, scale, ptr(*out));
  ++kernels;
  storage[op.getResult()] = *out;
  return success();
}

std::string CudaEmitter::adaptivePoolCall(const Storage &in, int64_t stride,
                                          StringRef out, StringRef outType,
                                          int64_t oh, int64_t ow) {
  std::string name = constant(
      "AdaptivePool2d", adaptivePool2dInit(in.shape, stride, oh, ow));
  ++kernels;
  return llvm::formatv("  KILN_TRY((adaptive_avg_pool2d<{0}, kP, {1}>({2}, {3}, "
                       "stream)));\n",
                       name, outType, ptr(in), out);
}

LogicalResult CudaEmitter::emitLinear(LinearOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  if (out->type != "T" && sixteenBit())
    return op.emitError("internal: a 16-bit linear layer writes fp32");
  Dims wt = shapeOf(op.getWeight());
  int64_t k = wt[1], n = wt[0];
  std::string x;
  if (op.getPool()) {
    auto in = kernelInput(op, op.getInput());
    if (failed(in) || failed(checkAligned(op, in->first, in->second)))
      return failure();
    x = scratch(op);
    if (x.empty())
      return op.emitError("the plan gives this pooled linear no scratch");
    run += adaptivePoolCall(in->first, in->second, x, "T", 1, 1);
  } else {
    Storage in = asActivation(storage.lookup(op.getInput()));
    if (!hasStrides(in, rowMajorStrides(in.shape)))
      return op.emitError("the input is not a contiguous activation "
                          "(choose-layout should have converted it)");
    x = ptr(in);
  }
  int64_t m = numel(out->shape) / n;
  cuda::Linear shape{int(m), int(k), int(n)};
  auto schedule = scheduleOf(op, cuda::linear_as_conv(shape));
  if (failed(schedule))
    return failure();
  std::string name = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", m, k, n));
  auto weights = packed(op, op.getWeight(), "linear", name);
  if (failed(weights))
    return failure();
  std::string bias = "nullptr", residual = "nullptr";
  if (op.getBias()) {
    auto b = vector(op, op.getBias());
    if (failed(b))
      return failure();
    bias = *b;
  }
  if (op.getResidual()) {
    Storage r = asActivation(storage.lookup(op.getResidual()));
    if (!hasStrides(r, rowMajorStrides(r.shape)))
      return op.emitError("the residual is not a contiguous activation");
    residual = ptr(r);
  }
  run += llvm::formatv(
      "  KILN_TRY((linear<{0}, {1}, {2}, kP>(\n"
      "      {3}, {4}, {5}, {6}, {7}, workspace, stream)));\n",
      name, scheduleText(*schedule),
      epilogueText(bool(op.getBias()), op.getResidual() ? n : 0,
                   op.getActivation(), false),
      x, *weights, bias, residual,
      out->type == "T" ? ptr(*out) : "reinterpret_cast<T *>(" + ptr(*out) + ")");
  ++kernels;
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult CudaEmitter::emitSeGate(SqueezeExciteGateOp op) {
  auto in = kernelInput(op, op.getInput());
  auto out = resultStorage(op, "float");
  if (failed(in) || failed(out))
    return failure();
  if (failed(checkAligned(op, in->first, in->second)))
    return failure();
  if (!hasStrides(*out, rowMajorStrides(out->shape)))
    return op.emitError("the gate is not planned as a dense N x C tensor");
  Dims x = in->first.shape;
  int64_t r = shapeOf(op.getReduceWeight())[0];
  std::string name = constant(
      "SqueezeExcite",
      llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .r = {4}, "
                    ".in_stride = {5}, .act = Activation::{6}, "
                    ".gate = Activation::{7}}",
                    x[0], x[2], x[3], x[1], r, in->second,
                    activationName(op.getActivation()),
                    activationName(op.getGate())));
  auto w1 = weightCode.data(op, op.getReduceWeight());
  auto w2 = weightCode.data(op, op.getExpandWeight());
  auto b1 = vector(op, op.getReduceBias());
  auto b2 = vector(op, op.getExpandBias());
  if (failed(w1) || failed(w2) || failed(b1) || failed(b2))
    return failure();
  std::string p1 = addPrepared("se_packed_bytes<" + name + ">()",
                               "  se_pack_reduce<" + name + ">(" + *w1 + ", @P);\n");
  std::string p2 = addPrepared("se_packed_bytes<" + name + ">()",
                               "  se_pack_expand<" + name + ">(" + *w2 + ", @P);\n");
  run += llvm::formatv("  KILN_TRY((se_gate<{0}, kP>({1}, {2}, {3}, {4}, {5}, "
                       "{6}, stream)));\n",
                       name, ptr(in->first), p1, *b1, p2, *b2, ptr(*out));
  kernels += 2;
  storage[op.getResult()] = *out;
  return success();
}

LogicalResult CudaEmitter::emitBatchNorm(BatchNormOp op) {
  // x · s + t per channel, s and t prepared in double (as on the CPU).
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
  std::string affine = addPrepared(
      std::to_string(8 * c),
      llvm::formatv(
          "  for (int64_t c = 0; c < {0}; ++c) {{\n"
          "    double s = double({1}[c]) / std::sqrt(double({4}[c]) + {5});\n"
          "    reinterpret_cast<float *>(@P)[c] = float(s);\n"
          "    reinterpret_cast<float *>(@P)[{0} + c] = float(double({2}[c]) - "
          "double({3}[c]) * s);\n"
          "  }\n",
          c, data[0], data[1], data[2], data[3],
          llvm::format("%.17g", op.getEpsilon().convertToDouble())));
  auto perChannel = [&](int64_t offset) {
    Storage s;
    s.base = "reinterpret_cast<const float *>" + affine;
    s.type = "float";
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

LogicalResult CudaEmitter::emitPool(Operation *op) {
  bool isMax = isa<MaxPool2dOp>(op);
  auto in = kernelInput(op, op->getOperand(0));
  auto out = resultStorage(op);
  if (failed(in) || failed(out))
    return failure();
  auto outStride = nhwcPixelStride(*out);
  if (!outStride)
    return op->emitError("the result is not planned channels-last");
  if (failed(checkAligned(op, in->first, in->second)) ||
      failed(checkAligned(op, *out, *outStride)))
    return failure();
  std::string name =
      constant("Pool2d", pool2dInit(op, in->second, *outStride));
  run += llvm::formatv("  KILN_TRY(({0}<{1}, kP>({2}, {3}, stream)));\n",
                       isMax ? "max_pool2d" : "avg_pool2d", name, ptr(in->first),
                       ptr(*out));
  ++kernels;
  storage[op->getResult(0)] = *out;
  return success();
}

LogicalResult CudaEmitter::emitAdaptivePool(Operation *op, Value input,
                                            int64_t oh, int64_t ow,
                                            StringRef outType) {
  auto in = kernelInput(op, input);
  auto out = resultStorage(op, outType);
  if (failed(in) || failed(out))
    return failure();
  if (failed(checkAligned(op, in->first, in->second)))
    return failure();
  bool dense = out->shape.size() == 4 ? nhwcPixelStride(*out) == out->shape[1]
                                      : hasStrides(*out, rowMajorStrides(out->shape));
  if (!dense)
    return op->emitError("the result is not planned as a dense tensor");
  run += adaptivePoolCall(in->first, in->second, ptr(*out), out->type, oh, ow);
  storage[op->getResult(0)] = *out;
  return success();
}

LogicalResult CudaEmitter::emitMean(MeanOp op) {
  ArrayRef<int64_t> dims = op.getDims();
  Storage x = storage.lookup(op.getInput());
  if (x.shape.size() == 4 && dims.size() == 2 && llvm::is_contained(dims, 2) &&
      llvm::is_contained(dims, 3) && nhwcPixelStride(x) &&
      (x.type == "T" || !sixteenBit()))
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

LogicalResult CudaEmitter::emitConcat(ConcatOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  storage[op.getResult()] = *out;
  for (const Copy &copy : concatCopies(op, *out, storage))
    emitElementwise(copy.dst, {copy.src}, "in0");
  return success();
}

LogicalResult CudaEmitter::emitChannelShuffle(ChannelShuffleOp op) {
  auto out = resultStorage(op);
  if (failed(out))
    return failure();
  storage[op.getResult()] = *out;
  if (auto copy = shuffleCopy(op, storage.lookup(op.getInput()), *out))
    emitElementwise(copy->dst, {copy->src}, "in0");
  return success();
}

LogicalResult CudaEmitter::emitPaddedConversion(ConvertLayoutOp op) {
  // One kernel converts the (NCHW, fp32) input into NHWC T with the pixels
  // padded with zero channels, which the convolution reads as 16-byte
  // vectors; the rest of the program sees the real channels.
  Storage in = storage.lookup(op.getInput());
  Dims x = shapeOf(op.getResult());
  Storage wide = paddedBuffer(x);
  int64_t p = paddedChannels();
  std::string body = llvm::formatv(
      "  const long i = long(blockIdx.x) * 256 + long(threadIdx.x);\n"
      "  if (i >= {0}l)\n    return;\n"
      "  const long c = i % {1}l, pixel = i / {1}l;\n"
      "  const long xx = pixel % {2}l, y = pixel / {2}l % {3}l, n = pixel / "
      "{4}l;\n"
      "  out_[i] = kiln::cuda::from_f32<T>(c < {5}l ? kiln::cuda::to_f32(in0_[n * "
      "{6}l + c * {7}l + y * {8}l + xx * {9}l]) : 0.0f);\n",
      numel(wide.shape), p, x[3], x[2], x[2] * x[3], x[1], in.strides[0],
      in.strides[1], in.strides[2], in.strides[3]);
  std::string params = "const " + in.type + " *__restrict__ in0_, T *__restrict__ out_";
  launch(defineKernel(params, body), numel(wide.shape), {ptr(in), ptr(wide)});
  prepadded[op.getResult()] = wide;
  Storage view = wide;
  view.shape[1] = x[1];
  storage[op.getResult()] = view;
  return success();
}

void CudaEmitter::emitViews(Operation *op) {
  viewStorage(op, storage.lookup(op->getOperand(0)), storage);
}

LogicalResult CudaEmitter::emitOp(Operation *op) {
  if (isa<ParamOp, FoldBatchNormWeightOp, FoldBatchNormBiasOp>(op))
    return success();
  if (isViewOp(op)) {
    emitViews(op);
    return success();
  }
  if (auto convert = dyn_cast<ConvertLayoutOp>(op)) {
    Value result = convert.getResult();
    auto conv = result.hasOneUse() ? dyn_cast<Conv2dOp>(*result.getUsers().begin())
                                   : Conv2dOp();
    if (conv && conv.getInput() == result && padsInput(conv) &&
        convert.getLayout() == Layout::nhwc)
      return emitPaddedConversion(convert);
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
        return op->emitError("the CUDA target cannot compile '")
               << op->getName() << "'";
      });
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

std::string CudaEmitter::print() {
  std::string out;
  llvm::raw_string_ostream os(out);
  StringRef model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).getValue();
  int64_t arena = arenaBytes + stagingBytes;
  os << "// Generated by kiln for model '" << model << "' (CUDA, "
     << precision.name << "). Do not edit.\n"
     << "#include \"kiln/cuda/elementwise.cuh\"\n"
     << "#include \"kiln/runtime.h\"\n\n"
     << "#include <algorithm>\n#include <cmath>\n#include <cstdint>\n"
     << "#include <memory>\n#include <vector>\n\n"
     << "namespace kiln::cuda {\n"
     << "std::unique_ptr<rt::DeviceSession>\n"
     << "openSession(const rt::ModelInfo &model, const std::vector<const "
        "float *> &params,\n"
     << "            std::string &error, bool &unavailable);\n"
     << "} // namespace kiln::cuda\n\n"
     << "namespace {\n\nusing namespace kiln::cuda;\n\n"
     << "constexpr Precision kP = Precision::" << precision.enumerator << ";\n"
     << "using T = Act<kP>;\n"
     << "constexpr size_t align256(size_t n) { return (n + 255) / 256 * 256; }\n\n";
  for (const std::string &c : constants)
    os << c << "\n";
  os << "\n// Prepared weights: byte offsets.\n";
  printPreparedOffsets(os, prepared, "align256", "kPreparedBytes");

  os << "void prepare(const float *const *p, void *prepared) {\n"
     << "  char *const w = static_cast<char *>(prepared);\n"
     << weightCode.transforms();
  for (auto &item : prepared)
    os << item.second;
  os << "}\n\n" << kernelText;
  os << "int run(const void *prepared, const float *input, float *output, "
        "void *arena,\n        void *workspace, void *stream_) {\n"
     << "  const char *const w = static_cast<const char *>(prepared);\n"
     << "  char *const A = static_cast<char *>(arena);\n"
     << "  cudaStream_t stream = static_cast<cudaStream_t>(stream_);\n"
     << "  (void)w;\n  (void)A;\n  (void)input;\n  (void)output;\n"
     << "  (void)workspace;\n"
     << run << "  return 0;\n}\n\n} // namespace\n\n";
  os << "extern const kiln::rt::CudaModel kiln_cuda_model;\n"
     << "const kiln::rt::CudaModel kiln_cuda_model = {\n"
     << "    \"" << precision.name << "\", " << arena << ", " << workspaceBytes
     << ", kPreparedBytes,\n"
     << "    prepare, run, kiln::cuda::openSession};\n";
  return out;
}

LogicalResult CudaEmitter::emit(CudaSource &source) {
  auto arena = func->getAttrOfType<IntegerAttr>(KilnDialect::getArenaBytesAttrName());
  if (!arena)
    return func.emitError("the CUDA target needs planned IR (run "
                          "--kiln-plan-memory)");
  arenaBytes = (arena.getInt() + 255) / 256 * 256;
  Block &body = func.getBody().front();
  producedSlots = collectConcatSlots(body);
  Storage input;
  input.base = "input";
  input.type = "float";
  input.shape = shapeOf(body.getArgument(0));
  input.strides = rowMajorStrides(input.shape);
  storage[body.getArgument(0)] = input;

  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      Storage result = storage.lookup(ret.getOperand(0));
      if (result.base != "output") {
        Storage out;
        out.base = "output";
        out.type = "float";
        out.shape = result.shape;
        out.strides = rowMajorStrides(out.shape);
        emitElementwise(out, {result}, "in0");
      }
      break;
    }
    if (failed(emitOp(&op)))
      return failure();
  }
  source.unit = print();
  source.arenaBytes = size_t(arenaBytes + stagingBytes);
  source.kernels = kernels;
  return success();
}

} // namespace

LogicalResult kiln::emitCudaSource(func::FuncOp func, const ModelParams &params,
                                   CudaSource &source) {
  auto name = func->getAttrOfType<StringAttr>(KilnDialect::getPrecisionAttrName());
  if (!name)
    return func.emitError("the CUDA target needs the precision and tile "
                          "schedules (run --kiln-choose-schedule)");
  auto precision = precisionOf(name.getValue());
  if (!precision)
    return func.emitError() << "unknown precision '" << name.getValue() << "'";
  return CudaEmitter(func, params, *precision).emit(source);
}
