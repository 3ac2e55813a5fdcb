//===- KernelOps.cpp - kernel dialect op verifiers -------------------------===//
//
// This file implements the verifiers of the kernel ops: a kernel's buffers
// have the shapes and layouts its kind reads and writes, and its weights
// fit them.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;

using namespace kiln::kernel;

#define GET_OP_CLASSES
#include "dialects/Kernel/IR/KernelOps.cpp.inc"

namespace {

ArrayRef<int64_t> tensorShape(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Checks that |buffer| (named |what| in errors) is a 4-D NHWC activation
/// with contiguous channels.
LogicalResult checkNhwc(Operation *op, BufferAttr buffer, StringRef what) {
  if (!buffer.getPixelStride())
    return op->emitOpError() << "needs a channels-last 4-D " << what;
  return success();
}

/// The output extent of a window of |k| taps, |dilation| apart, slid by
/// |stride| over |in| plus |pad| on both sides.
int64_t windows(int64_t in, int64_t k, int64_t stride, int64_t pad,
                int64_t dilation) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

LogicalResult checkPairs(Operation *op,
                         std::initializer_list<std::pair<StringRef, ArrayRef<int64_t>>>
                             attrs,
                         bool allowZero) {
  for (auto [name, values] : attrs) {
    if (values.size() != 2)
      return op->emitOpError() << "'" << name << "' needs two values";
    for (int64_t v : values)
      if (v < (allowZero && name == "padding" ? 0 : 1))
        return op->emitOpError() << "'" << name << "' must be "
                                 << (name == "padding" ? "non-negative" : "positive");
  }
  return success();
}

/// The mma.sync kernel's `schedule` has no warpgroups; the wgmma kernel's
/// `sm90a_schedule` has them.
LogicalResult checkSchedules(Operation *op, ScheduleAttr schedule,
                             ScheduleAttr sm90aSchedule) {
  if (schedule && schedule.getWarpgroups() != 0)
    return op->emitOpError("'schedule' is the mma.sync kernel's (no warpgroups); an sm_90a "
                           "schedule is 'sm90a_schedule'");
  if (sm90aSchedule && sm90aSchedule.getWarpgroups() < 1)
    return op->emitOpError("'sm90a_schedule' needs warpgroups");
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Conv2dOp
//===----------------------------------------------------------------------===//

bool Conv2dOp::isDirect() {
  int64_t groups = getGroups();
  if (groups == 1)
    return false;
  ArrayRef<int64_t> wt = tensorShape(getWeight());
  // Depthwise or narrow groups: fewer than 16 channels a group on either
  // side (conv_uses_gemm in kiln/cuda/schedule.h).
  return wt[0] / groups < 16 || wt[1] < 16;
}

BufferAttr Conv2dOp::passthroughDestination(int64_t offset) {
  BufferAttr out = getOutput();
  return BufferAttr::get(getContext(), out.getSpace(), out.getByteOffset(),
                         out.getOffset() + offset, out.getElement(),
                         out.getShape(), out.getStrides());
}

/// The bytes [first, last) of its space that |b| touches, strides >= 0.
static std::pair<int64_t, int64_t> byteSpan(BufferAttr b, int64_t elementBytes) {
  int64_t last = b.getOffset();
  for (auto [size, stride] : llvm::zip(b.getShape(), b.getStrides()))
    last += (size - 1) * stride;
  return {b.getByteOffset() + b.getOffset() * elementBytes,
          b.getByteOffset() + (last + 1) * elementBytes};
}

std::string Conv2dOp::passthroughProblem(BufferAttr pass, int64_t offset) {
  if (offset != -1 && offset != 1)
    return "'passthrough_offset' must be -1 or 1";
  BufferAttr out = getOutput();
  auto nhwc = out.getNhwcOutput();
  if (!nhwc || nhwc->second != 2)
    return "a pass-through needs an output of every other channel (a "
           "two-group shuffle)";
  if (getGroups() != 1 || getWinograd() || getScale() || getSchedule() ||
      getSm90aSchedule())
    return "a pass-through needs a dense CPU convolution without Winograd or "
           "an input scale";
  if (pass.getShape() != out.getShape() || !pass.getPixelStride() ||
      pass.getElement() != out.getElement())
    return "needs a channels-last pass-through of the output's shape and "
           "element type";
  if (out.getOffset() + offset < 0)
    return "the pass-through lands before its buffer";
  // Threads read the pass-through, the input and the residual while others
  // write both groups' pixels. (Only the CPU has pass-throughs: 4-byte
  // elements.)
  BufferAttr dst = passthroughDestination(offset);
  // (Plain variables, not a structured binding: clang < 16 cannot capture
  // one in the lambda below.)
  const int64_t w0 = byteSpan(offset < 0 ? dst : out, 4).first;
  const int64_t w1 = byteSpan(offset < 0 ? out : dst, 4).second;
  auto overlaps = [&](BufferAttr b) {
    if (!b || b.getSpace() != out.getSpace())
      return false;
    auto [r0, r1] = byteSpan(b, 4);
    return r0 < w1 && w0 < r1;
  };
  if (overlaps(pass))
    return "the pass-through overlaps the output";
  if (overlaps(getInput()) || overlaps(getResidualAttr()))
    return "the input or the residual overlaps the pass-through's output";
  return "";
}

LogicalResult Conv2dOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (failed(checkNhwc(*this, in, "input")))
    return failure();
  if (!out.getNhwcOutput())
    return emitOpError("needs a channels-last 4-D output");
  if (failed(checkPairs(*this,
                        {{"stride", getStride()},
                         {"padding", getPadding()},
                         {"dilation", getDilation()}},
                        true)))
    return failure();
  ArrayRef<int64_t> x = in.getShape(), y = out.getShape(), wt = tensorShape(getWeight());
  int64_t groups = getGroups();
  if (wt.size() != 4)
    return emitOpError("needs a 4-D weight");
  if (groups < 1 || wt[0] % groups)
    return emitOpError() << "cannot split " << wt[0] << " output channels into "
                         << groups << " groups";
  if (wt[1] * groups != x[1] && !(groups == 1 && wt[1] < x[1]))
    return emitOpError() << "a weight of " << wt[1] << " input channels per group ("
                         << groups << " groups) does not fit an input of "
                         << x[1] << " channels";
  if (y[0] != x[0] || y[1] != wt[0])
    return emitOpError() << "the output must be " << x[0] << "x" << wt[0]
                         << "xHxW";
  for (int i = 0; i < 2; ++i)
    if (y[2 + i] != windows(x[2 + i], wt[2 + i], getStride()[i], getPadding()[i],
                            getDilation()[i]))
      return emitOpError() << "output " << (i ? "width " : "height ") << y[2 + i]
                           << " does not follow from the input and the window";
  if (getBias() && tensorShape(getBias()) != ArrayRef<int64_t>{wt[0]})
    return emitOpError("needs a bias of one value per output channel");
  if (auto residual = getResidual()) {
    if (residual->getShape() != y || failed(checkNhwc(*this, *residual, "residual")))
      return emitOpError("needs a channels-last residual of the output's shape");
  }
  if (auto scale = getScale()) {
    if (scale->getShape() != ArrayRef<int64_t>{x[0], x[1]} ||
        !scale->isRowMajor() || scale->getElement() != ElementKind::f32)
      return emitOpError("needs a dense N x C fp32 input scale");
  }
  if (auto m = getWinograd()) {
    auto ones = [](ArrayRef<int64_t> v) {
      return llvm::all_of(v, [](int64_t x) { return x == 1; });
    };
    if (*m != 2 && *m != 4)
      return emitOpError("'winograd' must be 2 or 4");
    if (wt[2] != 3 || wt[3] != 3 || !ones(getStride()) || !ones(getDilation()) ||
        groups != 1 || wt[1] != x[1] || getScale() || getSchedule() ||
        getSm90aSchedule())
      return emitOpError("'winograd' needs a dense 3x3 convolution with "
                         "stride 1, no dilation, no channel padding, no input "
                         "scale and no GPU schedule");
  }
  if (bool(getPassthrough()) != bool(getPassthroughOffset()))
    return emitOpError("needs both 'passthrough' and 'passthrough_offset' or "
                       "neither");
  if (auto pass = getPassthroughAttr()) {
    std::string problem = passthroughProblem(pass, *getPassthroughOffset());
    if (!problem.empty())
      return emitOpError(problem);
  }
  return checkSchedules(*this, getScheduleAttr(), getSm90aScheduleAttr());
}

//===----------------------------------------------------------------------===//
// ConvChainOp
//===----------------------------------------------------------------------===//

LogicalResult ConvChainOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (failed(checkNhwc(*this, in, "input")))
    return failure();
  if (!out.getNhwcOutput())
    return emitOpError("needs a channels-last 4-D output");
  if (failed(checkPairs(*this, {{"stride", getStride()}, {"padding", getPadding()}},
                        true)))
    return failure();
  ArrayRef<int64_t> x = in.getShape(), y = out.getShape();
  ArrayRef<int64_t> we = tensorShape(getExpand()), wd = tensorShape(getDepthwise()),
                    wp = tensorShape(getProject());
  int64_t e = we.size() == 4 ? we[0] : 0;
  if (we != ArrayRef<int64_t>{e, x[1], 1, 1} || e % 16 != 0)
    return emitOpError() << "needs a 1x1 expand weight from the input's " << x[1]
                         << " channels to a multiple of 16";
  if (wd.size() != 4 || wd[0] != e || wd[1] != 1 || wd[2] != wd[3] ||
      (wd[2] != 3 && wd[2] != 5))
    return emitOpError() << "needs a 3x3 or 5x5 depthwise weight of " << e
                         << " channels";
  ArrayRef<int64_t> s = getStride();
  if (s[0] != s[1] || s[0] > 2)
    return emitOpError("needs the same stride, 1 or 2, both ways");
  if (wp.size() != 4 || wp[1] != e || wp[2] != 1 || wp[3] != 1)
    return emitOpError() << "needs a 1x1 project weight from " << e << " channels";
  if (y[0] != x[0] || y[1] != wp[0])
    return emitOpError() << "the output must be " << x[0] << "x" << wp[0] << "xHxW";
  for (int i = 0; i < 2; ++i)
    if (y[2 + i] != windows(x[2 + i], wd[2], s[i], getPadding()[i], 1))
      return emitOpError() << "output " << (i ? "width " : "height ") << y[2 + i]
                           << " does not follow from the input and the window";
  if (tensorShape(getExpandBias()) != ArrayRef<int64_t>{e} ||
      tensorShape(getDepthwiseBias()) != ArrayRef<int64_t>{e} ||
      tensorShape(getProjectBias()) != ArrayRef<int64_t>{wp[0]})
    return emitOpError("needs a bias of one value per output channel of each layer");
  if (auto residual = getResidual()) {
    if (residual->getShape() != y || failed(checkNhwc(*this, *residual, "residual")))
      return emitOpError("needs a channels-last residual of the output's shape");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  ArrayRef<int64_t> wt = tensorShape(getWeight());
  if (wt.size() != 2)
    return emitOpError("needs a 2-D weight");
  int64_t n = wt[0], k = wt[1];
  if (out.getShape().back() != n || !out.isRowMajor())
    return emitOpError() << "needs a row-major output of " << n << " features";
  int64_t rows = out.getNumElements() / n;
  if (getPoolScratch()) {
    if (failed(checkNhwc(*this, in, "input to pool")))
      return failure();
    if (in.getShape()[0] != rows || in.getShape()[1] != k)
      return emitOpError() << "pools an input of " << in.getShape()[1]
                           << " channels for " << k << " features";
  } else if (in.getNumElements() != rows * k || in.getShape().back() != k) {
    return emitOpError() << "needs an input of " << rows << " rows of " << k
                         << " features";
  }
  if (getBias() && tensorShape(getBias()) != ArrayRef<int64_t>{n})
    return emitOpError("needs a bias of one value per output feature");
  if (auto residual = getResidual())
    if (residual->getShape() != out.getShape())
      return emitOpError("needs a residual of the output's shape");
  return checkSchedules(*this, getScheduleAttr(), getSm90aScheduleAttr());
}

//===----------------------------------------------------------------------===//
// SqueezeExciteGateOp
//===----------------------------------------------------------------------===//

LogicalResult SqueezeExciteGateOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (failed(checkNhwc(*this, in, "input")))
    return failure();
  int64_t n = in.getShape()[0], c = in.getShape()[1];
  // Linear or 1x1 convolution weights: [out, in] or [out, in, 1, 1].
  auto layer = [](Value w) -> std::optional<std::pair<int64_t, int64_t>> {
    ArrayRef<int64_t> s = tensorShape(w);
    if (s.size() != 2 && !(s.size() == 4 && s[2] == 1 && s[3] == 1))
      return std::nullopt;
    return std::make_pair(s[0], s[1]);
  };
  auto w1 = layer(getReduceWeight()), w2 = layer(getExpandWeight());
  if (!w1 || !w2 || w1->second != c || w2->first != c || w2->second != w1->first)
    return emitOpError() << "needs weights " << c << " -> R -> " << c;
  if (tensorShape(getReduceBias()) != ArrayRef<int64_t>{w1->first} ||
      tensorShape(getExpandBias()) != ArrayRef<int64_t>{c})
    return emitOpError("needs one bias value per feature of each layer");
  if (out.getShape() != ArrayRef<int64_t>{n, c} || !out.isRowMajor())
    return emitOpError() << "needs a dense " << n << " x " << c << " output";
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling and reductions
//===----------------------------------------------------------------------===//

LogicalResult Pool2dOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (failed(checkNhwc(*this, in, "input")) ||
      failed(checkNhwc(*this, out, "output")))
    return failure();
  if (failed(checkPairs(*this,
                        {{"kernel", getKernel()},
                         {"stride", getStride()},
                         {"padding", getPadding()},
                         {"dilation", getDilation()}},
                        true)))
    return failure();
  ArrayRef<int64_t> x = in.getShape(), y = out.getShape();
  if (x[0] != y[0] || x[1] != y[1])
    return emitOpError("keeps the batch and the channels");
  for (int i = 0; i < 2; ++i) {
    if (2 * getPadding()[i] > getKernel()[i])
      return emitOpError("pads by more than half the window");
    // ceil_mode may add one window.
    int64_t floor = windows(x[2 + i], getKernel()[i], getStride()[i],
                            getPadding()[i], getDilation()[i]);
    if (y[2 + i] != floor && y[2 + i] != floor + 1)
      return emitOpError() << "output " << (i ? "width " : "height ") << y[2 + i]
                           << " does not follow from the input and the window";
  }
  return success();
}

LogicalResult AdaptivePool2dOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (failed(checkNhwc(*this, in, "input")))
    return failure();
  ArrayRef<int64_t> size = getOutputSize(), x = in.getShape();
  if (size.size() != 2 || size[0] < 1 || size[1] < 1)
    return emitOpError("needs a positive output size of two values");
  bool dense = out.getRank() == 4
                   ? out.getPixelStride() == out.getShape()[1] &&
                         out.getShape() == ArrayRef<int64_t>{x[0], x[1], size[0], size[1]}
                   : size[0] == 1 && size[1] == 1 && out.isRowMajor() &&
                         out.getNumElements() == x[0] * x[1];
  if (!dense)
    return emitOpError("needs a dense output of the pooled shape");
  return success();
}

LogicalResult ReduceOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  int64_t rank = in.getRank();
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(getDims(), d)) {
      if (getKeepdim())
        kept.push_back(1);
      continue;
    }
    kept.push_back(in.getShape()[d]);
  }
  for (int64_t d : getDims())
    if (d < 0 || d >= rank)
      return emitOpError() << "reduces dimension " << d << " of a rank-" << rank
                           << " input";
  if (ArrayRef<int64_t>(kept) != out.getShape())
    return emitOpError("has an output shape that does not follow from the input");
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Whether a tensor of shape |x| broadcasts to |y|, aligned from the right.
static bool broadcastsTo(ArrayRef<int64_t> x, ArrayRef<int64_t> y) {
  if (x.size() > y.size())
    return false;
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t d = y[y.size() - x.size() + i];
    if (x[i] != d && x[i] != 1)
      return false;
  }
  return true;
}

LogicalResult ElementwiseOp::verify() {
  ElementwiseFn fn = getFn();
  unsigned arity = fn == ElementwiseFn::zero || fn == ElementwiseFn::fill ? 0
                   : fn == ElementwiseFn::add || fn == ElementwiseFn::mul ||
                           fn == ElementwiseFn::sub || fn == ElementwiseFn::div
                       ? 2
                       : 1;
  unsigned buffers = arity - (getWeight() ? 1 : 0);
  if (getWeight() && arity == 0)
    return emitOpError() << "'" << stringifyElementwiseFn(fn)
                         << "' takes no weight";
  if (getInputs().size() != buffers)
    return emitOpError() << "'" << stringifyElementwiseFn(fn) << "' takes "
                         << arity << " inputs";
  if (bool(getWeight()) != bool(getWeightPosition()))
    return emitOpError("has a weight exactly when it has a weight_position");
  if (getWeightPosition() && *getWeightPosition() >= arity)
    return emitOpError() << "reads its weight as operand " << *getWeightPosition()
                         << " of a function of " << arity;
  bool clamp = fn == ElementwiseFn::clamp;
  bool takesAlpha = fn == ElementwiseFn::leaky_relu || fn == ElementwiseFn::elu ||
                    fn == ElementwiseFn::fill;
  if (!clamp && bool(getAlpha()) != takesAlpha)
    return emitOpError() << "'" << stringifyElementwiseFn(fn) << "' "
                         << (takesAlpha ? "needs" : "takes no") << " alpha";
  if (!clamp && getBeta())
    return emitOpError() << "'" << stringifyElementwiseFn(fn) << "' takes no beta";
  if (clamp && !getAlpha() && !getBeta())
    return emitOpError("'clamp' needs a bound: alpha (min) or beta (max)");
  if ((getAlpha() && !std::isfinite(getAlpha()->convertToDouble())) ||
      (getBeta() && !std::isfinite(getBeta()->convertToDouble())))
    return emitOpError("needs a finite alpha and beta");
  if (clamp && getAlpha() && getBeta() &&
      getAlpha()->convertToDouble() > getBeta()->convertToDouble())
    return emitOpError("'clamp' needs alpha (min) <= beta (max)");
  if (bool(getActivation()) != (getFn() == ElementwiseFn::activation))
    return emitOpError("names an activation exactly when its function is one");
  if (getActivation() && *getActivation() == kiln::Activation::none)
    return emitOpError("needs an activation other than none");
  ArrayRef<int64_t> y = getOutput().getShape();
  for (Attribute a : getInputs())
    if (!broadcastsTo(cast<BufferAttr>(a).getShape(), y))
      return emitOpError("has an input that does not broadcast to the output");
  if (getWeight() && !broadcastsTo(tensorShape(getWeight()), y))
    return emitOpError("has a weight that does not broadcast to the output");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (in.getShape() != out.getShape())
    return emitOpError("needs an input and an output of one shape");
  int64_t dim = getDim();
  if (dim < 0 || dim >= in.getRank())
    return emitOpError() << "reduces dimension " << dim << " of a rank-"
                         << in.getRank() << " input";
  return success();
}

LogicalResult BatchNormOp::verify() {
  ArrayRef<int64_t> x = getInput().getShape();
  if (x.size() < 2 || getOutput().getShape() != x)
    return emitOpError("needs an input and an output of one shape, with channels");
  for (Value v : {getWeight(), getBias(), getMean(), getVar()})
    if (tensorShape(v) != ArrayRef<int64_t>{x[1]})
      return emitOpError() << "needs statistics of " << x[1] << " channels";
  if (getEpsilon().convertToDouble() <= 0)
    return emitOpError("needs a positive epsilon");
  return success();
}

LogicalResult PadChannelsOp::verify() {
  BufferAttr in = getInput(), out = getOutput();
  if (in.getRank() != 4 || failed(checkNhwc(*this, out, "output")))
    return emitOpError("needs a 4-D input and a channels-last 4-D output");
  ArrayRef<int64_t> x = in.getShape(), y = out.getShape();
  if (x[0] != y[0] || x[2] != y[2] || x[3] != y[3] || y[1] < x[1])
    return emitOpError("needs an output of the input's pixels with more channels");
  return success();
}
