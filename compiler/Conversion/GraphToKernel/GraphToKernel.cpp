//===- GraphToKernel.cpp - planned graph to the kernels of a target -------===//
//
// This file implements --kiln-lower-to-kernels. It walks the planned model
// function in program order, tracking the Buffer of every value, and
// builds the kernel-level function that replaces it:
//   * weight ops (params and batch-norm folds) are moved over as they are:
//     kernel ops take their values as operands;
//   * views and in-place concats only compute buffers;
//   * every other op becomes its kernel op (convolutions, linear layers,
//     pooling, the SE gate, reductions, unfused batch norms) or elementwise
//     kernels (activations, adds, multiplies, layout conversions, concat
//     and shuffle copies, and the final copy into the output).
// The plan's byte offsets (kiln.offset, kiln.scratch) become the buffers'
// and kernels' offsets; what a target adds beyond the plan (the CUDA
// target's staging buffers) goes after the plan's arena.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToKernel/Buffers.h"
#include "compiler/Conversion/GraphToKernel/Passes.h"
#include "compiler/Graph/Analysis/GraphQueries.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/TypeSwitch.h"

#include <map>
#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_LOWERTOKERNELSPASS
#include "compiler/Conversion/GraphToKernel/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using kernel::ElementKind;
using kernel::ElementwiseFn;
using kernel::MemorySpace;

namespace {

class Lowering {
public:
  Lowering(func::FuncOp graph, KernelTarget target)
      : graph(graph), target(target), builder(graph.getContext()) {}
  LogicalResult run();

private:
  func::FuncOp graph, kernels;
  KernelTarget target;
  OpBuilder builder;
  MLIRContext *context() { return graph.getContext(); }

  DenseMap<Value, Buffer> buffers;
  ConcatSlots producedSlots;
  /// The plan's arena (rounded up for the GPU) and what follows it.
  int64_t arenaBytes = 0, stagingBytes = 0;
  bool sixteenBit = false;
  int64_t elementBytes = 4;

  bool cuda() const { return target == KernelTarget::Cuda; }

  //===--------------------------------------------------------------------===//
  // Buffers
  //===--------------------------------------------------------------------===//

  /// Memory after the plan's arena (staging), never reused.
  int64_t allocExtra(int64_t bytes) {
    int64_t at = arenaBytes + stagingBytes;
    stagingBytes += (bytes + 255) / 256 * 256;
    return at;
  }

  /// The buffer of |op|'s result as the plan placed it.
  FailureOr<Buffer> result(Operation *op, ElementKind type = ElementKind::act) {
    Value value = op->getResult(0);
    Dims shape = shapeOf(value);
    bool nhwc = false;
    if (auto layout = op->getAttrOfType<LayoutAttr>(KilnDialect::getLayoutAttrName()))
      nhwc = layout.getValue() == Layout::nhwc;
    if (auto convert = dyn_cast<ConvertLayoutOp>(op))
      nhwc = convert.getLayout() == Layout::nhwc;
    // An input of an in-place concat is a slice of the concat's buffer.
    if (auto it = producedSlots.find(value); it != producedSlots.end()) {
      auto [concat, index] = it->second;
      auto offset = concat->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName());
      if (!offset)
        return op->emitError("the in-place concat has no planned offset");
      return concatSlot(concat, index,
                        Buffer::dense(MemorySpace::arena, offset.getInt(),
                                      shapeOf(concat.getResult()), true, type));
    }
    if (auto offset = op->getAttrOfType<IntegerAttr>(KilnDialect::getOffsetAttrName()))
      return Buffer::dense(MemorySpace::arena, offset.getInt(), shape, nhwc, type);
    // The plan sends a non-4-D model output straight to the caller: fp32
    // results go there, 16-bit ones to a staging slot after the arena.
    if (value.hasOneUse() && isa<func::ReturnOp>(*value.getUsers().begin()) &&
        shape.size() != 4) {
      if (type == ElementKind::f32 || !sixteenBit)
        return Buffer::dense(MemorySpace::output, 0, shape, false, ElementKind::f32);
      return Buffer::dense(MemorySpace::arena, allocExtra(numel(shape) * elementBytes),
                           shape, false, type);
    }
    return op->emitError("lowering to kernels needs planned IR (no kiln.offset "
                         "on this op; run --kiln-plan-memory)");
  }

  /// |b| as a kernel reads it: in the activation type. On a GPU in 16 bits
  /// fp32 data (the model input) is converted into a staging buffer first,
  /// once.
  Buffer activation(Operation *op, const Buffer &b) {
    if (b.element == ElementKind::act || !sixteenBit) {
      Buffer t = b;
      t.element = ElementKind::act;
      return t;
    }
    auto key = std::make_tuple(b.space, b.byteOffset, b.offset);
    auto it = converted.find(key);
    if (it == converted.end()) {
      // Same order as |b|: densely packed in its stride order.
      Buffer t = b;
      SmallVector<size_t, 6> order(b.shape.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return b.strides[x] > b.strides[y];
      });
      int64_t stride = 1;
      for (size_t k = order.size(); k-- > 0;) {
        t.strides[order[k]] = stride;
        stride *= b.shape[order[k]];
      }
      t.space = MemorySpace::arena;
      t.element = ElementKind::act;
      t.offset = 0;
      t.byteOffset = allocExtra(numel(b.shape) * elementBytes);
      elementwise(op, ElementwiseFn::copy, t, {b});
      it = converted.insert({key, t}).first;
    }
    return it->second;
  }
  std::map<std::tuple<MemorySpace, int64_t, int64_t>, Buffer> converted;

  /// The NHWC buffer of |v| a kernel reads.
  FailureOr<Buffer> kernelInput(Operation *op, Value v) {
    Buffer b = activation(op, buffers.lookup(v));
    if (!b.attr(context()).getPixelStride())
      return op->emitError("operand is not a channels-last activation "
                           "(choose-layout should have converted it)");
    return b;
  }

  /// Channels a pixel of a GPU stem's padded input holds: 16 bytes.
  int64_t paddedChannels() const { return 16 / elementBytes; }
  /// Whether |conv| reads its input padded to paddedChannels().
  bool padsInput(Conv2dOp conv) const {
    return cuda() && conv.getGroups() == 1 && !conv.getScale() &&
           shapeOf(conv.getInput())[1] < paddedChannels();
  }
  /// A wide NHWC buffer of |shape| with paddedChannels() channels.
  Buffer paddedBuffer(ArrayRef<int64_t> shape) {
    Dims wide = {shape[0], paddedChannels(), shape[2], shape[3]};
    return Buffer::dense(MemorySpace::arena, allocExtra(numel(wide) * elementBytes),
                         wide, true, ElementKind::act);
  }
  /// Layout conversions written straight into a padded buffer for the
  /// convolution that reads them.
  DenseMap<Value, Buffer> prepadded;

  //===--------------------------------------------------------------------===//
  // Kernels
  //===--------------------------------------------------------------------===//

  IntegerAttr scratchOf(Operation *op) {
    return op->getAttrOfType<IntegerAttr>(KilnDialect::getScratchAttrName());
  }
  /// The GPU tile schedule choose-schedule gave |op| in attribute |name|
  /// (kiln.schedule or kiln.schedule_sm90a), for the CUDA target.
  kernel::ScheduleAttr scheduleOf(Operation *op, StringRef name) {
    if (!cuda())
      return nullptr;
    auto t = op->getAttrOfType<DenseI32ArrayAttr>(name);
    if (!t || (t.size() != 7 && t.size() != 8))
      return nullptr;
    ArrayRef<int32_t> s = t.asArrayRef();
    return kernel::ScheduleAttr::get(context(), s[0], s[1], s[2], s[3], s[4],
                                     s[5], s[6], t.size() == 8 ? s[7] : 0);
  }
  kernel::ScheduleAttr scheduleOf(Operation *op) {
    return scheduleOf(op, KilnDialect::getScheduleAttrName());
  }
  kernel::ScheduleAttr sm90aScheduleOf(Operation *op) {
    return scheduleOf(op, KilnDialect::getScheduleSm90aAttrName());
  }

  /// The Winograd tile choose-winograd gave |op|, for the CPU target (the
  /// CUDA kernels have no Winograd path).
  IntegerAttr winogradOf(Operation *op) {
    if (cuda())
      return nullptr;
    return op->getAttrOfType<IntegerAttr>(KilnDialect::getWinogradAttrName());
  }

  /// What an elementwise kernel takes besides its function and buffers.
  struct Extras {
    std::optional<Activation> act;
    std::optional<double> alpha, beta;
    /// A constant operand and its position among the function's operands.
    Value weight;
    int64_t weightPosition = 0;
  };

  void elementwise(Operation *op, ElementwiseFn fn, const Buffer &out,
                   ArrayRef<Buffer> ins, const Extras &extras) {
    SmallVector<Attribute> inputs;
    for (const Buffer &in : ins)
      inputs.push_back(in.attr(context()));
    auto f64 = [&](std::optional<double> v) {
      return v ? builder.getF64FloatAttr(*v) : FloatAttr();
    };
    builder.create<kernel::ElementwiseOp>(
        op->getLoc(), extras.weight, fn,
        extras.act ? ActivationAttr::get(context(), *extras.act) : ActivationAttr(),
        builder.getArrayAttr(inputs), out.attr(context()), f64(extras.alpha),
        f64(extras.beta),
        extras.weight ? builder.getI64IntegerAttr(extras.weightPosition)
                      : IntegerAttr());
  }
  void elementwise(Operation *op, ElementwiseFn fn, const Buffer &out,
                   ArrayRef<Buffer> ins,
                   std::optional<Activation> act = std::nullopt,
                   std::optional<double> alpha = std::nullopt) {
    Extras extras;
    extras.act = act;
    extras.alpha = alpha;
    elementwise(op, fn, out, ins, extras);
  }

  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerConv(Conv2dOp op);
  LogicalResult lowerConvChain(const ConvChainOps &chain);
  LogicalResult lowerLinear(LinearOp op);
  LogicalResult lowerSeGate(SqueezeExciteGateOp op);
  LogicalResult lowerPool(Operation *op);
  LogicalResult lowerAdaptivePool(Operation *op, Value input, int64_t oh,
                                  int64_t ow);
  LogicalResult lowerMean(MeanOp op);
  LogicalResult lowerConvertLayout(ConvertLayoutOp op);
  LogicalResult lowerPad(PadOp op);
  LogicalResult lowerElementwise(Operation *op);
  LogicalResult lowerSoftmax(SoftmaxOp op);
  LogicalResult lowerUpsample(UpsampleNearestOp op);
};

/// The elementwise ops that are no fused epilogue, and adds and multiplies
/// that were not fused: one kernel each. An operand that is a weight (a
/// constant tensor) is the kernel's weight, the others its buffers.
LogicalResult Lowering::lowerElementwise(Operation *op) {
  auto out = result(op);
  if (failed(out))
    return failure();
  Extras extras;
  extras.act = activationOf(op);
  SmallVector<Buffer, 2> ins;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isWeightValue(operand.get())) {
      ins.push_back(buffers.lookup(operand.get()));
      continue;
    }
    if (extras.weight)
      return op->emitError("no kernel computes an elementwise op of two "
                           "constant tensors (fold them first)");
    extras.weight = operand.get();
    extras.weightPosition = operand.getOperandNumber();
  }
  ElementwiseFn fn = ElementwiseFn::activation;
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](AddOp) { fn = ElementwiseFn::add; })
      .Case([&](MulOp) { fn = ElementwiseFn::mul; })
      .Case([&](SubOp) { fn = ElementwiseFn::sub; })
      .Case([&](DivOp) { fn = ElementwiseFn::div; })
      .Case([&](TanhOp) { fn = ElementwiseFn::tanh; })
      .Case([&](LeakyReluOp l) {
        fn = ElementwiseFn::leaky_relu;
        extras.alpha = l.getAlpha().convertToDouble();
      })
      .Case([&](EluOp e) {
        fn = ElementwiseFn::elu;
        extras.alpha = e.getAlpha().convertToDouble();
      })
      .Case([&](ClampOp c) {
        fn = ElementwiseFn::clamp;
        if (c.getMinAttr())
          extras.alpha = c.getMinAttr().getValueAsDouble();
        if (c.getMaxAttr())
          extras.beta = c.getMaxAttr().getValueAsDouble();
      });
  elementwise(op, fn, *out, ins, extras);
  buffers[op->getResult(0)] = *out;
  return success();
}

/// Softmax: one kernel that reduces each row to its maximum and sum.
LogicalResult Lowering::lowerSoftmax(SoftmaxOp op) {
  auto out = result(op);
  if (failed(out))
    return failure();
  builder.create<kernel::SoftmaxOp>(
      op.getLoc(), buffers.lookup(op.getInput()).attr(context()),
      out->attr(context()), op.getDimAttr());
  buffers[op.getResult()] = *out;
  return success();
}

/// Nearest upsampling by whole factors is one copy: the output seen as
/// N x C x H x sh x W x sw, the input broadcast along sh and sw.
LogicalResult Lowering::lowerUpsample(UpsampleNearestOp op) {
  auto out = result(op);
  if (failed(out))
    return failure();
  Buffer in = buffers.lookup(op.getInput());
  int64_t sh = op.getScale()[0], sw = op.getScale()[1];
  Buffer dst = *out, src = in;
  ArrayRef<int64_t> x = in.shape;
  ArrayRef<int64_t> o = out->strides, i = in.strides;
  dst.shape = {x[0], x[1], x[2], sh, x[3], sw};
  dst.strides = {o[0], o[1], o[2] * sh, o[2], o[3] * sw, o[3]};
  src.shape = {x[0], x[1], x[2], 1, x[3], 1};
  src.strides = {i[0], i[1], i[2], 0, i[3], 0};
  elementwise(op, ElementwiseFn::copy, dst, {src});
  buffers[op.getResult()] = *out;
  return success();
}

/// Pad: the constant everywhere, then the input into the interior.
LogicalResult Lowering::lowerPad(PadOp op) {
  auto out = result(op);
  if (failed(out))
    return failure();
  double value = op.getValue().convertToDouble();
  if (value == 0)
    elementwise(op, ElementwiseFn::zero, *out, {});
  else
    elementwise(op, ElementwiseFn::fill, *out, {}, std::nullopt, value);
  Buffer interior = *out;
  ArrayRef<int64_t> pads = op.getPads();
  interior.shape = shapeOf(op.getInput());
  interior.offset += pads[0] * out->strides[2] + pads[1] * out->strides[3];
  elementwise(op, ElementwiseFn::copy, interior, {buffers.lookup(op.getInput())});
  buffers[op.getResult()] = *out;
  return success();
}

LogicalResult Lowering::lowerConv(Conv2dOp op) {
  // A marked chain (fuse-conv-chains) is one CPU kernel at its project's
  // place; its other two layers compute nothing of their own.
  if (auto chain = markedConvChainOf(op); chain && !cuda()) {
    if (op == chain->project)
      return lowerConvChain(*chain);
    auto out = result(op);
    if (failed(out))
      return failure();
    buffers[op.getResult()] = *out;
    return success();
  }
  auto in = kernelInput(op, op.getInput());
  auto out = result(op);
  if (failed(in) || failed(out))
    return failure();
  if (!out->attr(context()).getNhwcOutput())
    return op.emitError("the result is not planned channels-last");
  Buffer input = *in;
  // A dense layer on a few input channels (an RGB stem) reads them padded
  // with zeros to 16 bytes a pixel on a GPU, so that its tiles load with
  // 16-byte cp.async like every other layer's.
  if (padsInput(op)) {
    if (auto it = prepadded.find(op.getInput()); it != prepadded.end()) {
      input = it->second;
    } else {
      // Copy into a padded buffer: the data, then zeros.
      Dims x = input.shape;
      Buffer wide = paddedBuffer(x), data = wide, zeros = wide;
      data.shape[1] = x[1];
      zeros.shape[1] = paddedChannels() - x[1];
      zeros.offset = x[1];
      elementwise(op, ElementwiseFn::copy, data, {input});
      elementwise(op, ElementwiseFn::zero, zeros, {});
      input = wide;
    }
  }
  kernel::BufferAttr residual, scale;
  if (op.getResidual()) {
    auto r = kernelInput(op, op.getResidual());
    if (failed(r))
      return failure();
    residual = r->attr(context());
  }
  if (op.getScale())
    scale = buffers.lookup(op.getScale()).attr(context());
  builder.create<kernel::Conv2dOp>(
      op.getLoc(), op.getWeight(), op.getBias(), input.attr(context()),
      out->attr(context()), residual, scale, op.getStrideAttr(),
      op.getPaddingAttr(), op.getDilationAttr(), op.getGroupsAttr(),
      op.getActivationAttr(), scratchOf(op), scheduleOf(op), sm90aScheduleOf(op),
      winogradOf(op), /*passthrough=*/nullptr, /*passthrough_offset=*/nullptr);
  buffers[op.getResult()] = *out;
  return success();
}

LogicalResult Lowering::lowerConvChain(const ConvChainOps &chain) {
  Conv2dOp x = chain.expand, d = chain.depthwise, p = chain.project;
  auto in = kernelInput(x, x.getInput());
  auto out = result(p);
  if (failed(in) || failed(out))
    return failure();
  kernel::BufferAttr residual;
  if (p.getResidual()) {
    auto r = kernelInput(p, p.getResidual());
    if (failed(r))
      return failure();
    residual = r->attr(context());
  }
  Location loc = FusedLoc::get(context(), {x.getLoc(), d.getLoc(), p.getLoc()});
  builder.create<kernel::ConvChainOp>(
      loc, x.getWeight(), x.getBias(), d.getWeight(), d.getBias(), p.getWeight(),
      p.getBias(), in->attr(context()), out->attr(context()), residual,
      d.getStrideAttr(), d.getPaddingAttr(), x.getActivationAttr(),
      d.getActivationAttr(), p.getActivationAttr());
  buffers[p.getResult()] = *out;
  return success();
}

LogicalResult Lowering::lowerLinear(LinearOp op) {
  auto out = result(op);
  if (failed(out))
    return failure();
  Buffer input;
  IntegerAttr pool;
  if (op.getPool()) {
    // Global average pooling into scratch, then the layer.
    auto in = kernelInput(op, op.getInput());
    if (failed(in))
      return failure();
    pool = scratchOf(op);
    if (!pool)
      return op.emitError("the plan gives this pooled linear no scratch");
    input = *in;
  } else {
    input = activation(op, buffers.lookup(op.getInput()));
    if (!input.attr(context()).isRowMajor())
      return op.emitError("the input is not a contiguous activation "
                          "(choose-layout should have converted it)");
  }
  kernel::BufferAttr residual;
  if (op.getResidual()) {
    Buffer r = activation(op, buffers.lookup(op.getResidual()));
    if (!r.attr(context()).isRowMajor())
      return op.emitError("the residual is not a contiguous activation");
    residual = r.attr(context());
  }
  builder.create<kernel::LinearOp>(op.getLoc(), op.getWeight(), op.getBias(),
                                   input.attr(context()), out->attr(context()),
                                   residual, op.getActivationAttr(), pool,
                                   scheduleOf(op), sm90aScheduleOf(op));
  buffers[op.getResult()] = *out;
  return success();
}

LogicalResult Lowering::lowerSeGate(SqueezeExciteGateOp op) {
  auto in = kernelInput(op, op.getInput());
  auto out = result(op, ElementKind::f32);
  if (failed(in) || failed(out))
    return failure();
  builder.create<kernel::SqueezeExciteGateOp>(
      op.getLoc(), op.getReduceWeight(), op.getReduceBias(), op.getExpandWeight(),
      op.getExpandBias(), in->attr(context()), out->attr(context()),
      op.getActivationAttr(), op.getGateAttr(), scratchOf(op));
  buffers[op.getResult()] = *out;
  return success();
}

LogicalResult Lowering::lowerPool(Operation *op) {
  auto in = kernelInput(op, op->getOperand(0));
  auto out = result(op);
  if (failed(in) || failed(out))
    return failure();
  if (!out->attr(context()).getPixelStride())
    return op->emitError("the result is not planned channels-last");
  DenseI64ArrayAttr kernelSize, stride, padding, dilation;
  bool excludePad = false;
  kernel::PoolKind kind = kernel::PoolKind::max;
  if (auto max = dyn_cast<MaxPool2dOp>(op)) {
    kernelSize = max.getKernelAttr();
    stride = max.getStrideAttr();
    padding = max.getPaddingAttr();
    dilation = max.getDilationAttr();
  } else {
    auto avg = cast<AvgPool2dOp>(op);
    kind = kernel::PoolKind::avg;
    kernelSize = avg.getKernelAttr();
    stride = avg.getStrideAttr();
    padding = avg.getPaddingAttr();
    dilation = builder.getDenseI64ArrayAttr({1, 1});
    excludePad = avg.getExcludePad();
  }
  builder.create<kernel::Pool2dOp>(
      op->getLoc(), kernel::PoolKindAttr::get(context(), kind), in->attr(context()),
      out->attr(context()), kernelSize, stride, padding, dilation,
      builder.getBoolAttr(excludePad));
  buffers[op->getResult(0)] = *out;
  return success();
}

LogicalResult Lowering::lowerAdaptivePool(Operation *op, Value input, int64_t oh,
                                          int64_t ow) {
  auto in = kernelInput(op, input);
  auto out = result(op);
  if (failed(in) || failed(out))
    return failure();
  builder.create<kernel::AdaptivePool2dOp>(op->getLoc(), in->attr(context()),
                                           out->attr(context()),
                                           builder.getDenseI64ArrayAttr({oh, ow}));
  buffers[op->getResult(0)] = *out;
  return success();
}

LogicalResult Lowering::lowerMean(MeanOp op) {
  ArrayRef<int64_t> dims = op.getDims();
  Buffer x = buffers.lookup(op.getInput());
  // A mean over H and W of an NHWC activation is adaptive pooling (on a
  // GPU in 16 bits, of an activation that is already 16-bit).
  if (x.shape.size() == 4 && dims.size() == 2 && llvm::is_contained(dims, 2) &&
      llvm::is_contained(dims, 3) && x.attr(context()).getPixelStride() &&
      (x.element == ElementKind::act || !sixteenBit))
    return lowerAdaptivePool(op, op.getInput(), 1, 1);
  auto out = result(op);
  if (failed(out))
    return failure();
  builder.create<kernel::ReduceOp>(op.getLoc(), x.attr(context()),
                                   out->attr(context()), op.getDimsAttr(),
                                   builder.getBoolAttr(op.getKeepdim()));
  buffers[op.getResult()] = *out;
  return success();
}

LogicalResult Lowering::lowerConvertLayout(ConvertLayoutOp op) {
  Value value = op.getResult();
  auto conv = value.hasOneUse() ? dyn_cast<Conv2dOp>(*value.getUsers().begin())
                                : Conv2dOp();
  Buffer in = buffers.lookup(op.getInput());
  if (conv && conv.getInput() == value && padsInput(conv) &&
      op.getLayout() == Layout::nhwc) {
    // One kernel converts the input into NHWC with the pixels padded with
    // zero channels; the rest of the program sees the real channels.
    Buffer wide = paddedBuffer(shapeOf(value));
    builder.create<kernel::PadChannelsOp>(op.getLoc(), in.attr(context()),
                                          wide.attr(context()));
    prepadded[value] = wide;
    Buffer view = wide;
    view.shape[1] = shapeOf(value)[1];
    buffers[value] = view;
    return success();
  }
  auto out = result(op);
  if (failed(out))
    return failure();
  elementwise(op, ElementwiseFn::copy, *out, {in});
  buffers[value] = *out;
  return success();
}

LogicalResult Lowering::lowerOp(Operation *op) {
  if (isa<ParamOp, FoldBatchNormWeightOp, FoldBatchNormBiasOp>(op)) {
    // Weights: kernels take their values; the prepare step evaluates them.
    op->moveBefore(builder.getInsertionBlock(), builder.getInsertionPoint());
    return success();
  }
  if (isViewOp(op)) {
    viewBuffers(op, buffers.lookup(op->getOperand(0)), buffers);
    return success();
  }
  if (reshapeCopies(op)) {
    // The input, strided, copied row-major into the result's buffer (seen
    // with the input's shape), which then holds the result.
    auto out = result(op);
    if (failed(out))
      return failure();
    Buffer dst = *out;
    dst.shape = shapeOf(op->getOperand(0));
    dst.strides = rowMajorStrides(dst.shape);
    elementwise(op, ElementwiseFn::copy, dst, {buffers.lookup(op->getOperand(0))});
    buffers[op->getResult(0)] = *out;
    return success();
  }
  if (auto convert = dyn_cast<ConvertLayoutOp>(op))
    return lowerConvertLayout(convert);
  if (auto pad = dyn_cast<PadOp>(op))
    return lowerPad(pad);
  if (activationOf(op) ||
      isa<AddOp, MulOp, SubOp, DivOp, TanhOp, LeakyReluOp, EluOp, ClampOp>(op))
    return lowerElementwise(op);
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](Conv2dOp c) { return lowerConv(c); })
      .Case([&](LinearOp l) { return lowerLinear(l); })
      .Case([&](SqueezeExciteGateOp g) { return lowerSeGate(g); })
      .Case([&](BatchNormOp b) {
        auto out = result(b);
        if (failed(out))
          return failure();
        builder.create<kernel::BatchNormOp>(
            b.getLoc(), b.getWeight(), b.getBias(), b.getMean(), b.getVar(),
            b.getEpsilonAttr(), buffers.lookup(b.getInput()).attr(context()),
            out->attr(context()));
        buffers[b.getResult()] = *out;
        return success();
      })
      .Case<MaxPool2dOp, AvgPool2dOp>([&](Operation *) { return lowerPool(op); })
      .Case([&](AdaptiveAvgPool2dOp a) {
        return lowerAdaptivePool(a, a.getInput(), a.getOutputSize()[0],
                                 a.getOutputSize()[1]);
      })
      .Case([&](MeanOp m) { return lowerMean(m); })
      .Case([&](SoftmaxOp m) { return lowerSoftmax(m); })
      .Case([&](UpsampleNearestOp u) { return lowerUpsample(u); })
      .Case([&](ConcatOp c) {
        auto out = result(c);
        if (failed(out))
          return failure();
        buffers[c.getResult()] = *out;
        for (const Copy &copy : concatCopies(c, *out, buffers))
          elementwise(c, ElementwiseFn::copy, copy.dst, {copy.src});
        return success();
      })
      .Case([&](ChannelShuffleOp c) {
        auto out = result(c);
        if (failed(out))
          return failure();
        buffers[c.getResult()] = *out;
        if (auto copy = shuffleCopy(c, buffers.lookup(c.getInput()), *out))
          elementwise(c, ElementwiseFn::copy, copy->dst, {copy->src});
        return success();
      })
      .Default([&](Operation *) {
        return op->emitError("no kernel computes '") << op->getName() << "'";
      });
}

LogicalResult Lowering::run() {
  auto arena = graph->getAttrOfType<IntegerAttr>(KilnDialect::getArenaBytesAttrName());
  if (!arena)
    return graph.emitError("lowering to kernels needs planned IR (run "
                           "--kiln-plan-memory)");
  arenaBytes = arena.getInt();
  kernel::PrecisionAttr precision;
  if (cuda()) {
    auto name = graph->getAttrOfType<StringAttr>(KilnDialect::getPrecisionAttrName());
    if (!name)
      return graph.emitError("the CUDA target needs the precision and tile "
                             "schedules (run --kiln-choose-schedule)");
    std::optional<kernel::Precision> p = kernel::symbolizePrecision(name.getValue());
    if (!p)
      return graph.emitError() << "unknown precision '" << name.getValue() << "'";
    precision = kernel::PrecisionAttr::get(context(), *p);
    sixteenBit = *p == kernel::Precision::fp16 || *p == kernel::Precision::bf16;
    elementBytes = sixteenBit ? 2 : 4;
    arenaBytes = (arenaBytes + 255) / 256 * 256;
  }

  // The kernel function: the input and output as memory.
  Block &body = graph.getBody().front();
  auto memref = [](Type t) {
    auto tensor = cast<RankedTensorType>(t);
    return MemRefType::get(tensor.getShape(), tensor.getElementType());
  };
  FunctionType type = graph.getFunctionType();
  builder.setInsertionPoint(graph);
  kernels = builder.create<func::FuncOp>(
      graph.getLoc(), graph.getName(),
      builder.getFunctionType({memref(type.getInput(0)), memref(type.getResult(0))},
                              {}));
  for (NamedAttribute attr : graph->getAttrs())
    if (attr.getName() == KilnDialect::getModelAttrName() ||
        attr.getName() == KilnDialect::getBatchAttrName())
      kernels->setAttr(attr.getName(), attr.getValue());
  if (precision)
    kernels->setAttr(kernel::KernelDialect::getPrecisionAttrName(), precision);
  builder.setInsertionPointToStart(kernels.addEntryBlock());

  producedSlots = collectConcatSlots(body);
  buffers[body.getArgument(0)] =
      Buffer::dense(MemorySpace::input, 0, shapeOf(body.getArgument(0)), false,
                    ElementKind::f32);
  for (Operation &op : llvm::make_early_inc_range(body)) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      // Unless its producer wrote it there, copy the output in PyTorch order.
      Buffer out = buffers.lookup(ret.getOperand(0));
      if (out.space != MemorySpace::output)
        elementwise(ret, ElementwiseFn::copy,
                    Buffer::dense(MemorySpace::output, 0, out.shape, false,
                                  ElementKind::f32),
                    {out});
      builder.create<func::ReturnOp>(ret.getLoc());
      break;
    }
    if (failed(lowerOp(&op)))
      return failure();
  }
  kernels->setAttr(KilnDialect::getArenaBytesAttrName(),
                   builder.getI64IntegerAttr(arenaBytes + stagingBytes));
  // The graph's compute ops are dead now; the weights moved.
  graph.erase();
  return success();
}

struct LowerToKernelsPass
    : public kiln::impl::LowerToKernelsPassBase<LowerToKernelsPass> {
  using LowerToKernelsPassBase::LowerToKernelsPassBase;
  void runOnOperation() override {
    if (target != "cpu" && target != "cuda") {
      getOperation().emitError() << "unknown target '" << target
                                 << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    if (failed(lowerToKernels(getOperation(), target == "cuda"
                                                  ? KernelTarget::Cuda
                                                  : KernelTarget::Cpu)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult kiln::lowerToKernels(ModuleOp module, KernelTarget target) {
  func::FuncOp graph = findModelFunc(module);
  if (!graph)
    return module.emitError("no function carries 'kiln.model'");
  return Lowering(graph, target).run();
}
