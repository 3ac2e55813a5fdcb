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
// Variants. An executable with sm_90a code runs the layers that have an
// sm90a_schedule on the wgmma kernel there, and on mma.sync elsewhere
// (kiln/cuda/arch.h): run() and prepare() take the variant, a layer whose
// variants differ is an `if (variant == 0)` of its two launches (the
// mma.sync one marked Images::NotSm90a, which the sm_90a image leaves
// empty), and its two packings are prepared weights of their variant only,
// after the shared ones and overlapping the other variant's.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cuda/CudaEmitter.h"

#include "compiler/Target/Common/EmitterCore.h"
#include "compiler/Target/Common/LoopNest.h"
#include "compiler/Target/Common/Storage.h"
#include "compiler/Target/Common/WeightCode.h"
#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kiln/IR/KilnDialect.h"
#include "kiln/cuda/arch.h"
#include "kiln/cuda/schedule.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <numeric>

using namespace mlir;
using namespace kiln;

namespace {

/// The device's scalar math.
const ScalarTable kCudaScalars = {"fmaxf", "fminf", "expf"};

struct PrecisionInfo {
  cuda::Precision precision;
  const char *enumerator, *name;
};

PrecisionInfo precisionOf(kernel::Precision p) {
  switch (p) {
  case kernel::Precision::fp32:
    return {cuda::Precision::F32, "F32", "fp32"};
  case kernel::Precision::tf32:
    return {cuda::Precision::TF32, "TF32", "tf32"};
  case kernel::Precision::fp16:
    return {cuda::Precision::F16, "F16", "fp16"};
  case kernel::Precision::bf16:
    return {cuda::Precision::BF16, "BF16", "bf16"};
  }
  return {cuda::Precision::F32, "F32", "fp32"};
}

std::string scheduleText(const cuda::Schedule &t) {
  return llvm::formatv("Schedule{{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}}", t.bm,
                       t.bn, t.bk, t.warps_m, t.warps_n, t.stages, t.split_k,
                       t.warpgroups)
      .str();
}

/// |code| (lines) indented one level more.
std::string indented(StringRef code) {
  SmallVector<StringRef> lines;
  code.split(lines, '\n', -1, false);
  std::string text;
  for (StringRef line : lines)
    text += "  " + line.str() + "\n";
  return text;
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

class CudaEmitter : public EmitterCore {
public:
  CudaEmitter(func::FuncOp func, const ModelParams &params, PrecisionInfo p,
              StringRef images)
      : EmitterCore(func, params, kCudaScalars, "CUDA", ""), precision(p),
        images(images) {}
  LogicalResult emit(CudaSource &source);

private:
  PrecisionInfo precision;
  /// The device code the executable holds, as rt::CudaModel::images.
  std::string images;
  /// The generated kernels, named once per distinct body.
  std::string kernelText;
  std::map<std::string, std::string> kernelNames;
  int64_t arenaBytes = 0;

  /// The launch variants of the forward pass (kiln/cuda/arch.h): with a
  /// GEMM layer that has an sm90a_schedule, variant 0 is the sm_90a one
  /// (it runs those schedules) and, if every GEMM layer also has a
  /// mma.sync schedule, variant 1 the one of every other GPU; else one
  /// variant. run() and prepare() take the variant's index.
  struct Variant {
    bool sm90a = false;
    size_t workspaceBytes = 0;
  };
  SmallVector<Variant, 2> variants;
  /// The variant each prepared item is for, by index; absent: all.
  std::map<size_t, int> preparedVariant;

  bool sixteenBit() const {
    return precision.precision == cuda::Precision::F16 ||
           precision.precision == cuda::Precision::BF16;
  }

  //===--------------------------------------------------------------------===//
  // Target hooks
  //===--------------------------------------------------------------------===//

  /// The arena is bytes (`A`); its buffers are typed pointers into it. The
  /// fp32 model input read as activations (fp32 and tf32) is reinterpreted.
  Storage storageOf(kernel::BufferAttr b) const override {
    Storage s;
    s.type = b.getElement() == kernel::ElementKind::f32 ? ElementType::F32
                                                        : ElementType::Activation;
    switch (b.getSpace()) {
    case kernel::MemorySpace::arena:
      s.base = "reinterpret_cast<" + std::string(typeName(s.type)) + " *>(A + " +
               std::to_string(b.getByteOffset()) + ")";
      break;
    case kernel::MemorySpace::input:
      s.base = s.type == ElementType::F32 ? "input"
                                          : "reinterpret_cast<const T *>(input)";
      break;
    case kernel::MemorySpace::output:
      s.base = "output";
      break;
    }
    s.offset = b.getOffset();
    s.shape.assign(b.getShape().begin(), b.getShape().end());
    s.strides.assign(b.getStrides().begin(), b.getStrides().end());
    return s;
  }

  std::string floatsSize(int64_t floats) const override {
    return std::to_string(4 * floats);
  }
  // (The mutable form keeps the parentheses of the code it replaced.)
  std::string asFloats(StringRef dst, bool isConst) const override {
    return isConst ? "reinterpret_cast<const float *>" + dst.str()
                   : "reinterpret_cast<float *>(" + dst.str() + ")";
  }

  void emitElementwise(const Storage &out, ArrayRef<Storage> ins,
                       std::string expr) override;
  void emitReduce(const Storage &out, const Storage &in, ArrayRef<int64_t> dims,
                  bool keepdim, double scale) override;
  void emitSoftmax(const Storage &out, const Storage &in, int64_t dim) override;

  /// The arena at byte |bytes| as a T pointer, or "" when there is none.
  static std::string scratch(std::optional<uint64_t> bytes) {
    return bytes ? "reinterpret_cast<T *>(A + " + std::to_string(*bytes) + ")" : "";
  }

  /// Checks that |b|, a channel slice, starts where the kernels' vector
  /// accesses need it to (activation_alignment).
  LogicalResult checkAligned(Operation *op, kernel::BufferAttr b) {
    auto [stride, step] = *b.getNhwcOutput();
    // A channel-stepped output is stored element by element.
    int need = step == 1 ? cuda::activation_alignment(int(b.getShape()[1]), int(stride),
                                                      precision.precision)
                         : cuda::element_bytes(precision.precision);
    int64_t bytes = b.getOffset() * cuda::element_bytes(precision.precision);
    if (bytes % need == 0)
      return success();
    return op->emitError() << "a channel slice at element offset " << b.getOffset()
                           << " is not " << need << "-byte aligned, as the "
                           << precision.name << " kernels need";
  }
  /// Checks that the kernel reads and writes activations of type T.
  LogicalResult checkActivation(Operation *op, kernel::BufferAttr b) {
    if (b.getElement() == kernel::ElementKind::act || !sixteenBit())
      return success();
    return op->emitError() << "a " << precision.name
                           << " kernel reads and writes 16-bit activations, not fp32";
  }

  //===--------------------------------------------------------------------===//
  // Kernels and prepared weights
  //===--------------------------------------------------------------------===//

  /// The template arguments of a layer's packing functions: the shape, the
  /// precision and, for an sm_90a schedule (its own layout), the schedule.
  static std::string packArgs(StringRef name, const cuda::Schedule &s) {
    return (name + ", kP" + (s.warpgroups > 0 ? ", " + scheduleText(s) : "")).str();
  }

  FailureOr<std::string> packed(Operation *op, Value weight, StringRef kind,
                                StringRef name, const cuda::Schedule &schedule) {
    auto data = weightCode.data(op, weight);
    if (failed(data))
      return failure();
    std::string args = packArgs(name, schedule);
    return addPrepared((kind + "_packed_bytes<" + args + ">()").str(),
                       [&](StringRef dst) {
                         return ("  " + kind + "_pack<" + args + ">(" + *data +
                                 ", " + dst + ");\n")
                             .str();
                       });
  }

  /// Launches |kernel| (a generated __global__ function) over |threads|,
  /// whose flat index has the batch outermost: with a run-time batch, over
  /// the threads of the samples that run (the kernel's bound stays all N's).
  void launch(StringRef kernel, int64_t threads, ArrayRef<std::string> args) {
    llvm::raw_string_ostream os(run);
    std::string blocks = std::to_string((threads + 255) / 256);
    if (runtimeBatch())
      blocks = "unsigned((long(" + rows(threads) + ") + 255) / 256)";
    os << "  KILN_LAUNCH(" << kernel << ", dim3(" << blocks
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

  //===--------------------------------------------------------------------===//
  // Kernel calls
  //===--------------------------------------------------------------------===//

  LogicalResult emitConv(kernel::Conv2dOp op) override;
  LogicalResult emitLinear(kernel::LinearOp op) override;
  LogicalResult emitSeGate(kernel::SqueezeExciteGateOp op) override;
  LogicalResult emitPool(kernel::Pool2dOp op) override;
  LogicalResult emitAdaptivePool(kernel::AdaptivePool2dOp op) override;
  LogicalResult emitPadChannels(kernel::PadChannelsOp op) override;

  FailureOr<cuda::Schedule> scheduleOf(Operation *op, kernel::ScheduleAttr attr,
                                       const cuda::Conv2d &shape);
  /// Emits a layer that may run as an implicit GEMM (|shape|): in each
  /// variant with its schedule (|generic|, or |sm90a| in the sm_90a
  /// variant), one launch for all variants where they agree. |weights|
  /// adds the layer's weights packed for a schedule (Schedule{} for a
  /// direct convolution) and returns their pointer; |call| prints the
  /// launch for a schedule, the weights and the kernel's Images argument.
  LogicalResult emitGemm(
      Operation *op, kernel::ScheduleAttr generic, kernel::ScheduleAttr sm90a,
      const cuda::Conv2d &shape,
      function_ref<FailureOr<std::string>(const cuda::Schedule &)> weights,
      function_ref<std::string(const cuda::Schedule &, StringRef, StringRef)> call);
  void printPrepared(llvm::raw_ostream &os) const;
  std::string adaptivePoolCall(const Storage &in, int64_t stride,
                               StringRef out, ElementType outType, int64_t oh,
                               int64_t ow);
  std::string print();
  /// The steps of run(), each between KILN_STEP_BEGIN and KILN_STEP_END
  /// (kiln/cuda/profile.h), named after their layers.
  std::string stepsText() const;
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

/// The largest element index |s| reaches (its offset plus every dimension
/// at its last index).
static int64_t lastIndex(const Storage &s) {
  int64_t last = s.offset;
  for (size_t d = 0; d < s.shape.size(); ++d)
    last += (s.shape[d] - 1) * std::abs(s.strides[d]);
  return last;
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
  // An input's stride along output dimension |d| (0 where it broadcasts).
  auto inStride = [&](const Storage &in, size_t d) -> int64_t {
    size_t lead = rank - in.shape.size();
    return d < lead || in.shape[d - lead] == 1 ? 0 : in.strides[d - lead];
  };
  if (runtimeBatch() && (order.empty() || order[0] != 0))
    batchFailure = func;
  int64_t total = numel(out.shape);

  // Each thread computes V consecutive elements of the innermost output
  // dimension, 16 bytes of output, when that dimension is contiguous and a
  // multiple of V, and the vectors start aligned: every other output stride
  // and the offset are multiples of V, and so are those of each input that
  // is contiguous there (the others broadcast, or are gathered element by
  // element).
  auto bytesOf = [&](ElementType t) {
    return t == ElementType::F32 ? 4 : cuda::element_bytes(precision.precision);
  };
  int v = 1;
  // (With a run-time batch, a vector never spans samples.)
  if (!order.empty() && (order.size() > 1 || !runtimeBatch())) {
    size_t inner = order.back();
    int want = 16 / bytesOf(out.type);
    auto aligned = [&](auto strideOf, int64_t offset) {
      if (offset % want)
        return false;
      for (size_t d : order)
        if (d != inner && strideOf(d) % want)
          return false;
      return true;
    };
    bool ok = out.strides[inner] == 1 && out.shape[inner] % want == 0 &&
              aligned([&](size_t d) { return out.strides[d]; }, out.offset);
    for (const Storage &in : ins)
      if (inStride(in, inner) == 1)
        ok = ok && aligned([&](size_t d) { return inStride(in, d); }, in.offset);
    if (ok)
      v = want;
  }
  // 32-bit index arithmetic unless an index can reach 2^31.
  bool wide = total >= (int64_t(1) << 31) || lastIndex(out) >= (int64_t(1) << 31);
  for (const Storage &in : ins)
    wide = wide || lastIndex(in) >= (int64_t(1) << 31);
  const char *index = wide ? "long" : "unsigned";
  const char *suffix = wide ? "l" : "u";
  int64_t threads = total / v;

  std::string body = llvm::formatv(
      "  const {0} i = {0}(blockIdx.x) * 256{1} + {0}(threadIdx.x);\n"
      "  if (i >= {2}{1})\n    return;\n  {0} r = i;\n",
      index, suffix, threads);
  for (size_t k = order.size(); k-- > 0;) {
    size_t d = order[k];
    int64_t extent = out.shape[d] / (k + 1 == order.size() ? v : 1);
    std::string scaled = k + 1 == order.size() && v > 1
                             ? " * " + std::to_string(v) + suffix
                             : "";
    if (k == 0)
      body += llvm::formatv("  const {0} j{1} = r{2};\n", index, d, scaled);
    else
      body += llvm::formatv("  const {0} j{1} = (r % {2}{3}){4};\n  r /= {2}{3};\n",
                            index, d, extent, suffix, scaled);
  }
  auto offsetText = [&](auto strideOf, bool skipInner) {
    std::string text;
    for (size_t d : order) {
      int64_t st = strideOf(d);
      if (st == 0 || (skipInner && d == order.back()))
        continue;
      text += (text.empty() ? "" : " + ") + ("j" + std::to_string(d)) +
              (st == 1 ? "" : " * " + std::to_string(st) + suffix);
    }
    return text.empty() ? std::string("0") : text;
  };

  std::string params, loop;
  std::vector<std::string> argList;
  for (size_t i = 0; i < ins.size(); ++i) {
    const Storage &in = ins[i];
    const char *type = typeName(in.type);
    params += llvm::formatv("const {0} *__restrict__ in{1}_, ", type, i).str();
    argList.push_back(ptr(in));
    auto strideOf = [&](size_t d) { return inStride(in, d); };
    if (v == 1) {
      body += llvm::formatv("  const float in{0} = kiln::cuda::to_f32(in{0}_[{1}]);\n",
                            i, offsetText(strideOf, false));
      continue;
    }
    int64_t s = inStride(in, order.back());
    if (s == 1) {
      body += llvm::formatv("  float in{0}v[{1}];\n  kiln::cuda::ew_load<{1}>(in{0}_ + "
                            "({2}), in{0}v);\n",
                            i, v, offsetText(strideOf, false));
      loop += llvm::formatv("    const float in{0} = in{0}v[k];\n", i);
    } else if (s == 0) {
      body += llvm::formatv("  const float in{0}s = kiln::cuda::to_f32(in{0}_[{1}]);\n",
                            i, offsetText(strideOf, false));
      loop += llvm::formatv("    const float in{0} = in{0}s;\n", i);
    } else {
      body += llvm::formatv("  const {0} *const in{1}p = in{1}_ + ({2});\n", type, i,
                            offsetText(strideOf, false));
      loop += llvm::formatv(
          "    const float in{0} = kiln::cuda::to_f32(in{0}p[k * {1}{2}]);\n", i, s,
          suffix);
    }
  }
  params += std::string(typeName(out.type)) + " *__restrict__ out_";
  argList.push_back(ptr(out));
  std::string outIndex = offsetText([&](size_t d) { return out.strides[d]; }, false);
  // Activations are stored as the precision stores them (to_act: tf32
  // ones rounded); fp32 buffers as they are.
  bool act = out.type == ElementType::Activation;
  if (v == 1) {
    body += llvm::formatv("  out_[{0}] = kiln::cuda::{1}({2});\n", outIndex,
                          act ? "to_act<kP>" : "from_f32<float>", expr);
  } else {
    body += llvm::formatv("  float o[{0}];\n#pragma unroll\n  for (int k = 0; k < {0}; "
                          "++k) {{\n{1}    o[k] = {2};\n  }\n"
                          "  kiln::cuda::{4}(out_ + ({3}), o);\n",
                          v, loop, expr, outIndex,
                          act ? "ew_store_act<" + std::to_string(v) + ", kP>"
                              : "ew_store<" + std::to_string(v) + ">");
  }
  launch(defineKernel(params, body), threads, argList);
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
  body += "  out_[" + outIndex + "] = kiln::cuda::" +
          (out.type == ElementType::Activation ? "to_act<kP>" : "from_f32<float>") +
          "(acc * " + floatLiteral(scale) + ");\n";
  std::string params = "const " + std::string(typeName(in.type)) +
                       " *__restrict__ in0_, " + typeName(out.type) +
                       " *__restrict__ out_";
  launch(defineKernel(params, body), numel(out.shape), {ptr(in), ptr(out)});
}

void CudaEmitter::emitSoftmax(const Storage &out, const Storage &in,
                              int64_t dim) {
  // One warp per row: its lanes stride along the row to the maximum and
  // then the sum of exp(x - max), each reduced across the warp with
  // shuffles, then store exp(x - max) / sum. Rows are whole warps of a
  // block (256 threads), so a warp past the last row returns as a whole.
  SmallVector<size_t, 6> kept;
  for (size_t d = 0; d < in.shape.size(); ++d)
    if (int64_t(d) != dim)
      kept.push_back(d);
  int64_t rows = numel(in.shape) / in.shape[dim], n = in.shape[dim];
  std::string body = llvm::formatv(
      "  const long row = (long(blockIdx.x) * 256 + long(threadIdx.x)) / 32;\n"
      "  const int lane = int(threadIdx.x) % 32;\n"
      "  if (row >= {0}l)\n    return;\n  long r = row;\n",
      rows);
  for (size_t k = kept.size(); k-- > 0;) {
    size_t d = kept[k];
    if (k == 0)
      body += llvm::formatv("  const long j{0} = r;\n", d);
    else
      body += llvm::formatv("  const long j{0} = r % {1}l;\n  r /= {1}l;\n", d,
                            in.shape[d]);
  }
  std::string inBase = "0", outBase = "0";
  for (size_t d : kept) {
    inBase += " + j" + std::to_string(d) + " * " + std::to_string(in.strides[d]) + "l";
    outBase += " + j" + std::to_string(d) + " * " + std::to_string(out.strides[d]) + "l";
  }
  body += llvm::formatv(
      "  const auto *x = in0_ + ({0});\n"
      "  auto *y = out_ + ({1});\n"
      "  float max = kiln::cuda::to_f32(x[0]);\n"
      "  for (long k = lane; k < {2}l; k += 32)\n"
      "    max = fmaxf(max, kiln::cuda::to_f32(x[k * {3}l]));\n"
      "  for (int d = 16; d > 0; d /= 2)\n"
      "    max = fmaxf(max, __shfl_xor_sync(0xffffffffu, max, d));\n"
      "  float sum = 0.0f;\n"
      "  for (long k = lane; k < {2}l; k += 32)\n"
      "    sum += expf(kiln::cuda::to_f32(x[k * {3}l]) - max);\n"
      "  for (int d = 16; d > 0; d /= 2)\n"
      "    sum += __shfl_xor_sync(0xffffffffu, sum, d);\n"
      "  for (long k = lane; k < {2}l; k += 32)\n"
      "    y[k * {4}l] = kiln::cuda::{5}(expf(kiln::cuda::to_f32(x[k * {3}l]) - max) / sum);\n",
      inBase, outBase, n, in.strides[dim], out.strides[dim],
      out.type == ElementType::Activation ? "to_act<kP>" : "from_f32<float>");
  std::string params = "const " + std::string(typeName(in.type)) +
                       " *__restrict__ in0_, " + typeName(out.type) +
                       " *__restrict__ out_";
  launch(defineKernel(params, body), rows * 32, {ptr(in), ptr(out)});
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

FailureOr<cuda::Schedule> CudaEmitter::scheduleOf(Operation *op,
                                                  kernel::ScheduleAttr attr,
                                                  const cuda::Conv2d &shape) {
  if (!cuda::conv_uses_gemm(shape))
    return cuda::Schedule{};
  if (!attr)
    return op->emitError("the CUDA target needs a tile schedule on this layer "
                         "(run --kiln-choose-schedule)");
  cuda::Schedule s{attr.getBm(),     attr.getBn(),     attr.getBk(),
                   attr.getWarpsM(), attr.getWarpsN(), attr.getStages(),
                   attr.getSplitK(),   attr.getWarpgroups()};
  if (!cuda::schedule_ok(shape, precision.precision, s))
    return op->emitError() << "the schedule [" << s.bm << ", " << s.bn << ", "
                           << s.bk << ", " << s.warps_m << ", " << s.warps_n
                           << ", " << s.stages << ", " << s.split_k
                           << "] is not valid for this layer in " << precision.name;
  return s;
}

LogicalResult CudaEmitter::emitGemm(
    Operation *op, kernel::ScheduleAttr generic, kernel::ScheduleAttr sm90a,
    const cuda::Conv2d &shape,
    function_ref<FailureOr<std::string>(const cuda::Schedule &)> weights,
    function_ref<std::string(const cuda::Schedule &, StringRef, StringRef)> call) {
  // The schedule attribute of each variant.
  SmallVector<kernel::ScheduleAttr, 2> attrs;
  for (const Variant &v : variants) {
    kernel::ScheduleAttr attr = v.sm90a && sm90a ? sm90a : generic;
    attrs.push_back(attr);
  }
  ++kernels;
  if (llvm::all_equal(attrs)) {
    auto s = scheduleOf(op, attrs.front(), shape);
    if (failed(s))
      return failure();
    for (Variant &v : variants)
      v.workspaceBytes = std::max(
          v.workspaceBytes, cuda::conv2d_workspace_size(shape, precision.precision, *s));
    auto w = weights(*s);
    if (failed(w))
      return failure();
    run += call(*s, *w, "");
    return success();
  }
  // Two variants, two kernels: the sm_90a variant's (variant 0), and the
  // mma.sync kernel of the other GPUs, which the sm_90a image leaves out.
  std::string branches[2];
  for (int i = 0; i < 2; ++i) {
    auto s = scheduleOf(op, attrs[i], shape);
    if (failed(s))
      return failure();
    variants[i].workspaceBytes =
        std::max(variants[i].workspaceBytes,
                 cuda::conv2d_workspace_size(shape, precision.precision, *s));
    size_t first = prepared.size();
    auto w = weights(*s);
    if (failed(w))
      return failure();
    for (size_t item = first; item < prepared.size(); ++item)
      preparedVariant[item] = i;
    branches[i] = indented(call(*s, *w, i == 0 ? "" : ", Images::NotSm90a"));
  }
  run += "  if (variant == 0) {\n" + branches[0] + "  } else {\n" + branches[1] + "  }\n";
  return success();
}

LogicalResult CudaEmitter::emitConv(kernel::Conv2dOp op) {
  kernel::BufferAttr inBuffer = op.getInput(), outBuffer = op.getOutput();
  if (op.getPassthrough())
    return op.emitError("the CUDA kernels copy no pass-through (a CPU fusion, "
                        "--kiln-fuse-shuffle-copies)");
  if (failed(checkActivation(op, inBuffer)) || failed(checkActivation(op, outBuffer)) ||
      failed(checkAligned(op, inBuffer)) || failed(checkAligned(op, outBuffer)))
    return failure();
  Storage input = storageOf(inBuffer), out = storageOf(outBuffer);
  auto [outStride, outStep] = *outBuffer.getNhwcOutput();
  int64_t inStride = *inBuffer.getPixelStride();
  Dims x = input.shape, y = out.shape, wt = shapeOf(op.getWeight());
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  // A dense layer on a few input channels (an RGB stem) reads them padded
  // with zeros to 16 bytes a pixel, so that its A tiles load with 16-byte
  // cp.async like every other layer's; its weights are padded to match.
  bool pad = wt[1] * int64_t(op.getGroups()) < x[1];
  cuda::Conv2d shape{int(x[0]), int(x[2]), int(x[3]), int(x[1]), int(y[1]),
                     int(wt[2]), int(wt[3]), int(s[0]), int(s[1]), int(p[0]),
                     int(p[1]), int(d[0]), int(d[1]), int(op.getGroups()),
                     int(y[2]), int(y[3]), int(inStride), int(outStride),
                     int(outStep)};
  std::string name = constant("Conv2d", conv2dInit(op, x[0]));
  auto weights = [&](const cuda::Schedule &schedule) -> FailureOr<std::string> {
    if (!pad)
      return packed(op, op.getWeight(), "conv2d", name, schedule);
    auto raw = weightCode.data(op, op.getWeight());
    if (failed(raw))
      return failure();
    int64_t taps = wt[2] * wt[3], padded = x[1];
    std::string args = packArgs(name, schedule);
    return addPrepared("conv2d_packed_bytes<" + args + ">()", [&](StringRef dst) {
      return llvm::formatv("  {{\n"
                      "    std::vector<float> padded({0} * {1} * {2}, 0.0f);\n"
                      "    for (int64_t o = 0; o < {0}; ++o)\n"
                      "      for (int64_t i = 0; i < {3} * {2}; ++i)\n"
                      "        padded[(o * {1}) * {2} + i] = {4}[(o * {3}) * {2} + i];\n"
                      "    conv2d_pack<{5}>(padded.data(), {6});\n"
                      "  }\n",
                      wt[0], padded, taps, wt[1], *raw, args, dst)
          .str();
    });
  };
  std::string residual = "nullptr", scale = "nullptr";
  int64_t residualStride = 0;
  auto bias = optionalVector(op, op.getBias());
  if (failed(bias))
    return failure();
  if (auto r = op.getResidual()) {
    if (failed(checkActivation(op, *r)) || failed(checkAligned(op, *r)))
      return failure();
    residual = ptr(storageOf(*r));
    residualStride = *r->getPixelStride();
  }
  if (auto gate = op.getScale())
    scale = ptr(storageOf(*gate));
  std::string epilogue = epilogueText(bool(op.getBias()), residualStride,
                                      op.getActivation(), bool(op.getScale()));
  return emitGemm(op, op.getScheduleAttr(), op.getSm90aScheduleAttr(), shape, weights,
                  [&](const cuda::Schedule &schedule, StringRef w, StringRef images) {
                    return llvm::formatv(
                               "  KILN_TRY((conv2d<{0}, {1}, {2}, kP{3}>(\n"
                               "      {4}, {5}, {6}, {7}, {8}, {9}, workspace, stream{10})));\n",
                               name, scheduleText(schedule), epilogue, images, ptr(input),
                               w, *bias, residual, scale, ptr(out), rowsArg(x[0]))
                        .str();
                  });
}

std::string CudaEmitter::adaptivePoolCall(const Storage &in, int64_t stride,
                                          StringRef out, ElementType outType,
                                          int64_t oh, int64_t ow) {
  std::string name = constant(
      "AdaptivePool2d", adaptivePool2dInit(in.shape, stride, oh, ow));
  ++kernels;
  return llvm::formatv("  KILN_TRY((adaptive_avg_pool2d<{0}, kP, {1}>({2}, {3}, "
                       "stream{4})));\n",
                       name, typeName(outType), ptr(in), out, rowsArg(in.shape[0]));
}

LogicalResult CudaEmitter::emitLinear(kernel::LinearOp op) {
  Storage out = storageOf(op.getOutput());
  if (out.type != ElementType::Activation && sixteenBit())
    return op.emitError("internal: a 16-bit linear layer writes fp32");
  Dims wt = shapeOf(op.getWeight());
  int64_t k = wt[1], n = wt[0];
  std::string x;
  if (failed(checkActivation(op, op.getInput())))
    return failure();
  if (op.getPoolScratch()) {
    if (failed(checkAligned(op, op.getInput())))
      return failure();
    x = scratch(op.getPoolScratch());
    run += adaptivePoolCall(storageOf(op.getInput()), *op.getInput().getPixelStride(),
                            x, ElementType::Activation, 1, 1);
  } else {
    if (!op.getInput().isRowMajor())
      return op.emitError("the input is not a contiguous activation");
    x = ptr(storageOf(op.getInput()));
  }
  int64_t m = numel(out.shape) / n;
  cuda::Linear shape{int(m), int(k), int(n)};
  std::string name = constant(
      "Linear", llvm::formatv("{{.m = {0}, .k = {1}, .n = {2}}", m, k, n));
  std::string residual = "nullptr";
  auto bias = optionalVector(op, op.getBias());
  if (failed(bias))
    return failure();
  if (auto r = op.getResidual()) {
    if (failed(checkActivation(op, *r)))
      return failure();
    residual = ptr(storageOf(*r));
  }
  std::string epilogue = epilogueText(bool(op.getBias()), op.getResidual() ? n : 0,
                                      op.getActivation(), false);
  std::string y = out.type == ElementType::Activation
                      ? ptr(out)
                      : "reinterpret_cast<T *>(" + ptr(out) + ")";
  return emitGemm(
      op, op.getScheduleAttr(), op.getSm90aScheduleAttr(), cuda::linear_as_conv(shape),
      [&](const cuda::Schedule &schedule) {
        return packed(op, op.getWeight(), "linear", name, schedule);
      },
      [&](const cuda::Schedule &schedule, StringRef w, StringRef images) {
        return llvm::formatv("  KILN_TRY((linear<{0}, {1}, {2}, kP{3}>(\n"
                             "      {4}, {5}, {6}, {7}, {8}, workspace, stream{9})));\n",
                             name, scheduleText(schedule), epilogue, images, x, w, *bias,
                             residual, y, rowsArg(m))
            .str();
      });
}

LogicalResult CudaEmitter::emitSeGate(kernel::SqueezeExciteGateOp op) {
  if (failed(checkActivation(op, op.getInput())) ||
      failed(checkAligned(op, op.getInput())))
    return failure();
  if (op.getOutput().getElement() != kernel::ElementKind::f32)
    return op.emitError("the CUDA gate kernel writes an fp32 gate");
  Storage in = storageOf(op.getInput()), out = storageOf(op.getOutput());
  Dims x = in.shape;
  int64_t r = shapeOf(op.getReduceWeight())[0];
  std::string name = constant(
      "SqueezeExcite",
      llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .r = {4}, "
                    ".in_stride = {5}, .act = Activation::{6}, "
                    ".gate = Activation::{7}}",
                    x[0], x[2], x[3], x[1], r, *op.getInput().getPixelStride(),
                    activationName(op.getActivation()),
                    activationName(op.getGate())));
  auto w1 = weightCode.data(op, op.getReduceWeight());
  auto w2 = weightCode.data(op, op.getExpandWeight());
  auto b1 = vector(op, op.getReduceBias());
  auto b2 = vector(op, op.getExpandBias());
  if (failed(w1) || failed(w2) || failed(b1) || failed(b2))
    return failure();
  auto pack = [&](StringRef kind, StringRef data) {
    return addPrepared("se_packed_bytes<" + name + ">()", [&](StringRef dst) {
      return ("  se_pack_" + kind + "<" + name + ">(" + data + ", " + dst + ");\n")
          .str();
    });
  };
  std::string p1 = pack("reduce", *w1), p2 = pack("expand", *w2);
  run += llvm::formatv("  KILN_TRY((se_gate<{0}, kP>({1}, {2}, {3}, {4}, {5}, "
                       "{6}, stream{7})));\n",
                       name, ptr(in), p1, *b1, p2, *b2, ptr(out), rowsArg(x[0]));
  kernels += 2;
  return success();
}

LogicalResult CudaEmitter::emitPool(kernel::Pool2dOp op) {
  for (kernel::BufferAttr b : {op.getInput(), op.getOutput()})
    if (failed(checkActivation(op, b)) || failed(checkAligned(op, b)))
      return failure();
  std::string name = constant("Pool2d", pool2dInit(op));
  Storage in = storageOf(op.getInput());
  run += llvm::formatv("  KILN_TRY(({0}<{1}, kP>({2}, {3}, stream{4})));\n",
                       op.getKind() == kernel::PoolKind::max ? "max_pool2d"
                                                             : "avg_pool2d",
                       name, ptr(in), ptr(storageOf(op.getOutput())),
                       rowsArg(in.shape[0]));
  ++kernels;
  return success();
}

LogicalResult CudaEmitter::emitAdaptivePool(kernel::AdaptivePool2dOp op) {
  if (failed(checkActivation(op, op.getInput())) ||
      failed(checkAligned(op, op.getInput())))
    return failure();
  Storage out = storageOf(op.getOutput());
  run += adaptivePoolCall(storageOf(op.getInput()), *op.getInput().getPixelStride(),
                          ptr(out), out.type, op.getOutputSize()[0],
                          op.getOutputSize()[1]);
  return success();
}

LogicalResult CudaEmitter::emitPadChannels(kernel::PadChannelsOp op) {
  // One kernel converts the (NCHW, fp32) input into NHWC T with the pixels
  // padded with zero channels, which the convolution reads as 16-byte
  // vectors: a thread per pixel, one 16-byte store (consecutive threads
  // read consecutive pixels of each input channel).
  Storage in = storageOf(op.getInput()), wide = storageOf(op.getOutput());
  ArrayRef<int64_t> x = op.getInput().getShape();
  int64_t p = wide.shape[1];
  if (*op.getOutput().getPixelStride() != p)
    return op.emitError("the padded buffer must be dense");
  if (p * cuda::element_bytes(precision.precision) != 16)
    return op.emitError("the padded pixel must be 16 bytes");
  int64_t pixels = x[0] * x[2] * x[3];
  if (pixels * p >= (int64_t(1) << 31))
    return op.emitError("the padded input has 2^31 elements or more");
  std::string body = llvm::formatv(
      "  const unsigned pixel = blockIdx.x * 256u + threadIdx.x;\n"
      "  if (pixel >= {0}u)\n    return;\n"
      "  const unsigned xx = pixel % {1}u, y = pixel / {1}u % {2}u, n = pixel / {3}u;\n"
      "  const float *const at = in0_ + (n * {4}u + y * {5}u + xx * {6}u);\n"
      "  float v[{7}];\n#pragma unroll\n  for (int c = 0; c < {7}; ++c)\n"
      "    v[c] = c < {8} ? kiln::cuda::to_f32(at[c * {9}u]) : 0.0f;\n"
      "  kiln::cuda::ew_store_act<{7}, kP>(out_ + pixel * {7}u, v);\n",
      pixels, x[3], x[2], x[2] * x[3], in.strides[0], in.strides[2], in.strides[3], p,
      x[1], in.strides[1]);
  if (in.type != ElementType::F32)
    return op.emitError("the padded input must be the fp32 model input");
  std::string params = "const float *__restrict__ in0_, T *__restrict__ out_";
  launch(defineKernel(params, body), pixels, {ptr(in), ptr(wide)});
  return success();
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

std::string CudaEmitter::print() {
  std::string out;
  llvm::raw_string_ostream os(out);
  StringRef model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).getValue();
  int64_t arena = arenaBytes;
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
     << "            int device, std::string &error, bool &unavailable);\n"
     << "int deviceCount(std::string &error);\n"
     << "} // namespace kiln::cuda\n\n"
     << "namespace {\n\nusing namespace kiln::cuda;\n\n"
     << "constexpr Precision kP = Precision::" << precision.enumerator << ";\n"
     << "using T = Act<kP>;\n"
     << "constexpr size_t align256(size_t n) { return (n + 255) / 256 * 256; }\n\n";
  for (const std::string &c : constants)
    os << c << "\n";
  printPrepared(os);
  os << "void prepare(const float *const *p, void *prepared, int variant) {\n"
     << "  char *const w = static_cast<char *>(prepared);\n"
     << "  (void)variant;\n"
     << weightCode.transforms();
  for (size_t i = 0; i < prepared.size(); ++i)
    if (!preparedVariant.count(i))
      os << prepared[i].code;
  for (size_t v = 0; v < variants.size(); ++v) {
    std::string code;
    for (auto [item, variant] : preparedVariant)
      if (variant == int(v))
        code += prepared[item].code;
    if (!code.empty())
      os << "  if (variant == " << v << ") {\n" << indented(code) << "  }\n";
  }
  os << "}\n\n" << kernelText;
  os << "int run(const void *prepared, const float *input, float *output, "
        "void *arena,\n        void *workspace, int batch, void *stream_, int variant) {\n"
     << "  const char *const w = static_cast<const char *>(prepared);\n"
     << "  char *const A = static_cast<char *>(arena);\n"
     << "  cudaStream_t stream = static_cast<cudaStream_t>(stream_);\n"
     << "  (void)w;\n  (void)A;\n  (void)input;\n  (void)output;\n"
     << "  (void)workspace;\n  (void)batch;\n  (void)variant;\n"
     << stepsText() << "  return 0;\n}\n\n";
  os << "// The variants of the forward pass: sm_90a (wgmma kernels), split-K\n"
     << "// workspace, prepared weights.\n"
     << "const kiln::rt::CudaVariant kVariants[] = {\n";
  for (size_t v = 0; v < variants.size(); ++v)
    os << "    {" << (variants[v].sm90a ? "true" : "false") << ", "
       << variants[v].workspaceBytes << ", kPreparedBytes" << v << "},\n";
  os << "};\n\n} // namespace\n\n";
  os << "extern const kiln::rt::CudaModel kiln_cuda_model;\n"
     << "const kiln::rt::CudaModel kiln_cuda_model = {\n"
     << "    \"" << precision.name << "\", \"" << images << "\", " << arena << ",\n"
     << "    " << variants.size() << ", kVariants, prepare, run, kiln::cuda::openSession,\n"
     << "    kiln::cuda::deviceCount};\n";
  return out;
}

void CudaEmitter::printPrepared(llvm::raw_ostream &os) const {
  // Items every variant uses first, then each variant's after them (the
  // variants' overlap: a session prepares one).
  os << "\n// Prepared weights: byte offsets.\n";
  auto chain = [&](int variant, StringRef start, StringRef total) {
    std::string end = start.str();
    for (size_t i = 0; i < prepared.size(); ++i) {
      auto it = preparedVariant.find(i);
      if ((it == preparedVariant.end() ? -1 : it->second) != variant)
        continue;
      os << "constexpr size_t kP" << i << " = " << end << ";\n";
      end = "align256(kP" + std::to_string(i) + " + " + prepared[i].size + ")";
    }
    os << "constexpr size_t " << total << " = " << end << ";\n";
  };
  chain(-1, "0", "kPreparedShared");
  for (size_t v = 0; v < variants.size(); ++v)
    chain(int(v), "kPreparedShared", "kPreparedBytes" + std::to_string(v));
  os << "\n";
}

std::string CudaEmitter::stepsText() const {
  std::string text;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::string name = stepNames[i];
    for (char &c : name)
      if (c == '"' || c == '\\')
        c = '_';
    text += llvm::formatv("  KILN_STEP_BEGIN({0}, \"{1}\");\n{2}  KILN_STEP_END({0});\n",
                          i, name, steps[i])
                .str();
  }
  return text;
}

LogicalResult CudaEmitter::emit(CudaSource &source) {
  auto arena = func->getAttrOfType<IntegerAttr>(KilnDialect::getArenaBytesAttrName());
  if (!arena)
    return func.emitError("the CUDA target needs kernel-level IR with an "
                          "arena (run --kiln-lower-to-kernels)");
  arenaBytes = arena.getInt();
  // The variants: an sm_90a one if a layer has an sm_90a schedule, and one
  // for the other GPUs if every GEMM layer has a mma.sync schedule.
  bool sm90a = false, generic = true;
  func.walk([&](Operation *op) {
    if (auto conv = dyn_cast<kernel::Conv2dOp>(op)) {
      sm90a = sm90a || conv.getSm90aSchedule();
      generic = generic && (conv.isDirect() || conv.getSchedule());
    } else if (auto linear = dyn_cast<kernel::LinearOp>(op)) {
      sm90a = sm90a || linear.getSm90aSchedule();
      generic = generic && linear.getSchedule();
    }
  });
  if (sm90a)
    variants.push_back({/*sm90a=*/true});
  if (generic || !sm90a)
    variants.push_back({/*sm90a=*/false});
  if (failed(emitBody(func.getBody().front())))
    return failure();
  if (batchFailure)
    return func.emitError("internal: a kernel of the CUDA code does not have "
                          "the batch outermost, which kiln.batch promises");
  source.unit = print();
  source.arenaBytes = size_t(arenaBytes);
  for (const Variant &v : variants)
    source.workspaceBytes = std::max(source.workspaceBytes, v.workspaceBytes);
  source.kernels = kernels;
  source.variants = int(variants.size());
  return success();
}

} // namespace

LogicalResult kiln::emitCudaSource(func::FuncOp func, const ModelParams &params,
                                   CudaSource &source, StringRef images) {
  auto precision = func->getAttrOfType<kernel::PrecisionAttr>(
      kernel::KernelDialect::getPrecisionAttrName());
  if (!precision)
    return func.emitError("the CUDA target needs kernels lowered for it (run "
                          "--kiln-lower-to-kernels=target=cuda)");
  std::vector<cuda::CodeImage> parsed;
  if (!cuda::parse_images(images.str(), parsed))
    return func.emitError() << "invalid CUDA image list '" << images << "'";
  return CudaEmitter(func, params, precisionOf(precision.getValue()), images).emit(source);
}
