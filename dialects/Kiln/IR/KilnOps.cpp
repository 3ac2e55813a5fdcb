//===- KilnOps.cpp - kiln graph ops: shape rules and verifiers ------------===//
//
// This file implements result type inference for every kiln op. The shape
// rules are also the ops' verifiers: `InferTypeOpInterface` re-runs them on
// verification with the op's location and checks that the declared result
// types match, so one function per op states everything that makes it valid.
// The rules follow PyTorch's (torch.nn.Conv2d, pooling_output_shape, ...).
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {

using MaybeLoc = std::optional<Location>;

/// The ranked tensor type of |value|, or null.
RankedTensorType rankedType(Value value) {
  return value ? dyn_cast<RankedTensorType>(value.getType()) : nullptr;
}

/// Prints |values| as "[a, b, c]".
std::string str(ArrayRef<int64_t> values) {
  std::string out = "[";
  llvm::raw_string_ostream os(out);
  llvm::interleaveComma(values, os);
  os << "]";
  return out;
}

/// Returns the tensor type of |value| if it is a ranked tensor of |rank|
/// (any rank when |rank| < 0), or emits an error naming |what|.
FailureOr<RankedTensorType> expectRank(MaybeLoc loc, Value value,
                                       StringRef what, int64_t rank) {
  RankedTensorType type = rankedType(value);
  if (!type || !type.hasStaticShape())
    return emitOptionalError(loc, what, " must be a statically shaped tensor");
  if (rank >= 0 && type.getRank() != rank)
    return emitOptionalError(loc, what, " must have rank ", rank, ", got ",
                             type);
  return type;
}

/// Checks that |values| has |size| elements, each at least |min|.
LogicalResult expectPair(MaybeLoc loc, StringRef name, ArrayRef<int64_t> values,
                         int64_t min, size_t size = 2) {
  if (values.size() != size)
    return emitOptionalError(loc, "'", name, "' must have ", size,
                             " elements, got ", str(values));
  for (int64_t v : values)
    if (v < min)
      return emitOptionalError(loc, "'", name, "' must be at least ", min,
                               ", got ", str(values));
  return success();
}

/// Checks that a 1-D tensor |value| (a bias or a statistic) has |n| elements.
LogicalResult expectVector(MaybeLoc loc, Value value, StringRef what,
                           int64_t n) {
  auto type = expectRank(loc, value, what, 1);
  if (failed(type))
    return failure();
  if (type->getDimSize(0) != n)
    return emitOptionalError(loc, what, " must have ", n, " elements, got ",
                             *type);
  return success();
}

/// Checks that |dim| indexes a dimension of a rank-|rank| tensor.
LogicalResult expectDim(MaybeLoc loc, StringRef name, int64_t dim,
                        int64_t rank) {
  if (dim < 0 || dim >= rank)
    return emitOptionalError(loc, "'", name, "' = ", dim,
                             " is out of range for a tensor of rank ", rank);
  return success();
}

/// PyTorch's pooling_output_shape for one spatial dimension. Returns 0 when
/// the window does not fit.
int64_t pooledSize(int64_t in, int64_t kernel, int64_t pad, int64_t stride,
                   int64_t dilation, bool ceilMode) {
  int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  int64_t out = (span + (ceilMode ? stride - 1 : 0)) / stride + 1;
  // With ceil_mode the last window must start inside the input or the
  // left padding, not in the right padding.
  if (ceilMode && (out - 1) * stride >= in + pad)
    --out;
  return out;
}

/// Shared rule of the two windowed pooling ops.
LogicalResult inferPool2d(MaybeLoc loc, StringRef opName, Value input,
                          ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
                          ArrayRef<int64_t> padding, ArrayRef<int64_t> dilation,
                          bool ceilMode, SmallVectorImpl<Type> &types) {
  auto type = expectRank(loc, input, "input", 4);
  if (failed(type) || failed(expectPair(loc, "kernel", kernel, 1)) ||
      failed(expectPair(loc, "stride", stride, 1)) ||
      failed(expectPair(loc, "padding", padding, 0)) ||
      failed(expectPair(loc, "dilation", dilation, 1)))
    return failure();
  SmallVector<int64_t> shape(type->getShape());
  for (int i = 0; i < 2; ++i) {
    if (padding[i] * 2 > kernel[i])
      return emitOptionalError(loc, opName, ": padding ", str(padding),
                               " must be at most half the kernel ",
                               str(kernel));
    int64_t out = pooledSize(shape[2 + i], kernel[i], padding[i], stride[i],
                             dilation[i], ceilMode);
    if (out < 1)
      return emitOptionalError(
          loc, opName, ": kernel ", str(kernel), " does not fit the ",
          shape[2], "x", shape[3], " input padded by ", str(padding));
    shape[2 + i] = out;
  }
  types.push_back(RankedTensorType::get(shape, type->getElementType()));
  return success();
}

/// Checks that a fused residual, if any, has the result's type.
LogicalResult expectResidual(MaybeLoc loc, StringRef opName, Value residual,
                             RankedTensorType result) {
  if (!residual)
    return success();
  if (residual.getType() != result)
    return emitOptionalError(loc, opName, ": residual ", residual.getType(),
                             " must have the result's type ", result);
  return success();
}

/// Product of |dims|.
int64_t product(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// Runs |rule| on an adaptor of |OpT|. When MLIR calls inference before the
/// op's properties exist (the generated parser of MLIR 19 may, and so do
/// callers that only have an attribute dictionary), the properties are
/// rebuilt from |attributes| first.
template <typename OpT, typename Rule>
LogicalResult inferWithAdaptor(MLIRContext *context, MaybeLoc loc,
                               ValueRange operands, DictionaryAttr attributes,
                               OpaqueProperties properties,
                               RegionRange regions,
                               SmallVectorImpl<Type> &types, Rule rule) {
  typename OpT::Properties storage;
  if (!properties) {
    auto emit = [&] {
      return mlir::emitError(loc.value_or(UnknownLoc::get(context)));
    };
    if (failed(OpT::setPropertiesFromAttr(
            storage, attributes ? attributes : DictionaryAttr::get(context),
            emit)))
      return failure();
    properties = OpaqueProperties(&storage);
  }
  typename OpT::Adaptor adaptor(operands, attributes, properties, regions);
  return rule(adaptor, loc, types);
}

} // namespace

/// Defines OpT::inferReturnTypes in terms of a rule taking the op's adaptor.
#define KILN_INFER_WITH_ADAPTOR(OpT, ...)                                      \
  LogicalResult OpT::inferReturnTypes(                                         \
      MLIRContext *context, MaybeLoc loc, ValueRange operands,                 \
      DictionaryAttr attributes, OpaqueProperties properties,                  \
      RegionRange regions, SmallVectorImpl<Type> &types) {                     \
    return inferWithAdaptor<OpT>(context, loc, operands, attributes,           \
                                 properties, regions, types, __VA_ARGS__);     \
  }

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty state_dict key");
  if (!getResult().getType().hasStaticShape())
    return emitOpError("'") << getName() << "' must have a static shape";
  return success();
}

//===----------------------------------------------------------------------===//
// Conv2dOp
//===----------------------------------------------------------------------===//

KILN_INFER_WITH_ADAPTOR(Conv2dOp, [](Conv2dOp::Adaptor op, MaybeLoc loc,
                                     SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "conv2d input", 4);
  auto weight = expectRank(loc, op.getWeight(), "conv2d weight", 4);
  if (failed(input) || failed(weight) ||
      failed(expectPair(loc, "stride", op.getStride(), 1)) ||
      failed(expectPair(loc, "padding", op.getPadding(), 0)) ||
      failed(expectPair(loc, "dilation", op.getDilation(), 1)))
    return failure();
  int64_t groups = op.getGroups();
  int64_t channels = input->getDimSize(1);
  int64_t outChannels = weight->getDimSize(0);
  if (groups < 1)
    return emitOptionalError(loc, "conv2d: groups must be positive, got ",
                             groups);
  if (channels % groups != 0)
    return emitOptionalError(loc, "conv2d: ", channels,
                             " input channels are not divisible by groups = ",
                             groups);
  if (outChannels % groups != 0)
    return emitOptionalError(loc, "conv2d: ", outChannels,
                             " output channels are not divisible by groups = ",
                             groups);
  if (weight->getDimSize(1) * groups != channels)
    return emitOptionalError(
        loc, "conv2d: the weight ", *weight, " with groups = ", groups,
        " expects ", weight->getDimSize(1) * groups,
        " input channels, but the input has ", channels);
  if (op.getBias() &&
      failed(expectVector(loc, op.getBias(), "conv2d bias", outChannels)))
    return failure();

  if (op.getScale()) {
    auto scale = expectRank(loc, op.getScale(), "conv2d scale", 2);
    if (failed(scale))
      return failure();
    if (scale->getDimSize(0) != input->getDimSize(0) ||
        scale->getDimSize(1) != channels)
      return emitOptionalError(loc, "conv2d: scale ", *scale,
                               " must be N×C of the input ", *input);
  }
  SmallVector<int64_t> shape = {input->getDimSize(0), outChannels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t extent = input->getDimSize(2 + i) + 2 * op.getPadding()[i];
    int64_t span = op.getDilation()[i] * (weight->getDimSize(2 + i) - 1) + 1;
    if (span > extent)
      return emitOptionalError(
          loc, "conv2d: the ", weight->getDimSize(2), "x",
          weight->getDimSize(3), " kernel (dilation ", str(op.getDilation()),
          ") does not fit the ", input->getDimSize(2), "x",
          input->getDimSize(3), " input padded by ", str(op.getPadding()));
    shape[2 + i] = (extent - span) / op.getStride()[i] + 1;
  }
  auto result = RankedTensorType::get(shape, input->getElementType());
  if (failed(expectResidual(loc, "conv2d", op.getResidual(), result)))
    return failure();
  types.push_back(result);
  return success();
})

//===----------------------------------------------------------------------===//
// BatchNormOp
//===----------------------------------------------------------------------===//

KILN_INFER_WITH_ADAPTOR(BatchNormOp, [](BatchNormOp::Adaptor op, MaybeLoc loc,
                                        SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "batch_norm input", -1);
  if (failed(input))
    return failure();
  if (input->getRank() < 2 || input->getRank() > 4)
    return emitOptionalError(
        loc, "batch_norm input must be N×C, N×C×L or N×C×H×W, got ", *input);
  int64_t channels = input->getDimSize(1);
  if (failed(expectVector(loc, op.getWeight(), "batch_norm weight",
                          channels)) ||
      failed(expectVector(loc, op.getBias(), "batch_norm bias", channels)) ||
      failed(expectVector(loc, op.getMean(), "batch_norm running_mean",
                          channels)) ||
      failed(expectVector(loc, op.getVar(), "batch_norm running_var",
                          channels)))
    return failure();
  if (!(op.getEpsilon().convertToDouble() >= 0))
    return emitOptionalError(loc, "batch_norm: epsilon must be non-negative");
  types.push_back(*input);
  return success();
})

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

KILN_INFER_WITH_ADAPTOR(LinearOp, [](LinearOp::Adaptor op, MaybeLoc loc,
                                     SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "linear input", -1);
  auto weight = expectRank(loc, op.getWeight(), "linear weight", 2);
  if (failed(input) || failed(weight))
    return failure();
  if (input->getRank() < 1)
    return emitOptionalError(loc, "linear input must have rank at least 1");
  if (op.getPool() && input->getRank() != 4)
    return emitOptionalError(loc, "linear with pool takes an N×C×H×W input, "
                                  "got ", *input);
  int64_t in = op.getPool() ? input->getDimSize(1) : input->getShape().back();
  if (weight->getDimSize(1) != in)
    return emitOptionalError(loc, "linear: the weight ", *weight, " expects ",
                             weight->getDimSize(1),
                             " input features, but the input ", *input,
                             " has ", in);
  if (op.getBias() && failed(expectVector(loc, op.getBias(), "linear bias",
                                          weight->getDimSize(0))))
    return failure();
  SmallVector<int64_t> shape(input->getShape());
  if (op.getPool())
    shape.resize(2);
  shape.back() = weight->getDimSize(0);
  auto result = RankedTensorType::get(shape, input->getElementType());
  if (failed(expectResidual(loc, "linear", op.getResidual(), result)))
    return failure();
  types.push_back(result);
  return success();
})

//===----------------------------------------------------------------------===//
// Fused kernels and weight transforms
//===----------------------------------------------------------------------===//

KILN_INFER_WITH_ADAPTOR(SqueezeExciteGateOp, [](SqueezeExciteGateOp::Adaptor op,
                                                MaybeLoc loc,
                                                SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "se_gate input", 4);
  auto w1 = expectRank(loc, op.getReduceWeight(), "se_gate reduce weight", 4);
  auto w2 = expectRank(loc, op.getExpandWeight(), "se_gate expand weight", 4);
  if (failed(input) || failed(w1) || failed(w2))
    return failure();
  int64_t c = input->getDimSize(1), r = w1->getDimSize(0);
  ArrayRef<int64_t> reduce = w1->getShape(), expand = w2->getShape();
  if (reduce != ArrayRef<int64_t>{r, c, 1, 1} ||
      expand != ArrayRef<int64_t>{c, r, 1, 1})
    return emitOptionalError(loc, "se_gate: weights ", *w1, " and ", *w2,
                             " must be R×C×1×1 and C×R×1×1 for ", c,
                             " channels");
  if (failed(expectVector(loc, op.getReduceBias(), "se_gate reduce bias", r)) ||
      failed(expectVector(loc, op.getExpandBias(), "se_gate expand bias", c)))
    return failure();
  types.push_back(RankedTensorType::get({input->getDimSize(0), c},
                                        input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(FoldBatchNormWeightOp,
                        [](FoldBatchNormWeightOp::Adaptor op, MaybeLoc loc,
                           SmallVectorImpl<Type> &types) {
  auto weight = expectRank(loc, op.getWeight(), "fold_bn_weight weight", -1);
  if (failed(weight))
    return failure();
  if (weight->getRank() < 1)
    return emitOptionalError(loc, "fold_bn_weight: the weight has no rows");
  int64_t rows = weight->getDimSize(0);
  if (failed(expectVector(loc, op.getGamma(), "fold_bn_weight gamma", rows)) ||
      failed(expectVector(loc, op.getVar(), "fold_bn_weight var", rows)))
    return failure();
  types.push_back(*weight);
  return success();
})

KILN_INFER_WITH_ADAPTOR(FoldBatchNormBiasOp, [](FoldBatchNormBiasOp::Adaptor op,
                                                MaybeLoc loc,
                                                SmallVectorImpl<Type> &types) {
  auto gamma = expectRank(loc, op.getGamma(), "fold_bn_bias gamma", 1);
  if (failed(gamma))
    return failure();
  int64_t c = gamma->getDimSize(0);
  if (failed(expectVector(loc, op.getBeta(), "fold_bn_bias beta", c)) ||
      failed(expectVector(loc, op.getMean(), "fold_bn_bias mean", c)) ||
      failed(expectVector(loc, op.getVar(), "fold_bn_bias var", c)) ||
      (op.getBias() &&
       failed(expectVector(loc, op.getBias(), "fold_bn_bias bias", c))))
    return failure();
  types.push_back(*gamma);
  return success();
})

KILN_INFER_WITH_ADAPTOR(ConvertLayoutOp, [](ConvertLayoutOp::Adaptor op,
                                            MaybeLoc loc,
                                            SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "convert_layout input", 4);
  if (failed(input))
    return failure();
  types.push_back(*input);
  return success();
})

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

// relu, relu6, sigmoid, hard_sigmoid, hard_swish and identity get their
// inference from SameOperandsAndResultType.

KILN_INFER_WITH_ADAPTOR(DropoutOp, [](DropoutOp::Adaptor op, MaybeLoc loc,
                                      SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "dropout input", -1);
  if (failed(input))
    return failure();
  double p = op.getP().convertToDouble();
  if (!(p >= 0 && p < 1))
    return emitOptionalError(loc, "dropout: p must be in [0, 1), got ", p);
  types.push_back(*input);
  return success();
})

/// leaky_relu and elu: a finite parameter.
static LogicalResult verifyScalarParam(Operation *op, double alpha) {
  if (!std::isfinite(alpha))
    return op->emitOpError("needs a finite parameter, got ") << alpha;
  return success();
}

LogicalResult LeakyReluOp::verify() {
  return verifyScalarParam(*this, getAlpha().convertToDouble());
}

LogicalResult EluOp::verify() {
  return verifyScalarParam(*this, getAlpha().convertToDouble());
}

LogicalResult ClampOp::verify() {
  std::optional<double> lo, hi;
  if (auto min = getMinAttr())
    lo = min.getValueAsDouble();
  if (auto max = getMaxAttr())
    hi = max.getValueAsDouble();
  if (!lo && !hi)
    return emitOpError("needs a 'min' or a 'max' bound");
  if ((lo && !std::isfinite(*lo)) || (hi && !std::isfinite(*hi)))
    return emitOpError("needs finite bounds (leave an unbounded side out)");
  if (lo && hi && *lo > *hi)
    return emitOpError("needs min <= max, got min ") << *lo << " and max " << *hi;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank(), dim = getDim();
  if (dim < 0 || dim >= rank)
    return emitOpError("'dim' = ")
           << dim << " is out of range for a tensor of rank " << rank;
  return success();
}

/// The broadcast of two shapes, PyTorch style.
static LogicalResult inferBroadcast(StringRef opName, Value lhs, Value rhs,
                                    MaybeLoc loc,
                                    SmallVectorImpl<Type> &types) {
  auto a = expectRank(loc, lhs, Twine(opName, " lhs").str(), -1);
  auto b = expectRank(loc, rhs, Twine(opName, " rhs").str(), -1);
  if (failed(a) || failed(b))
    return failure();
  if (a->getElementType() != b->getElementType())
    return emitOptionalError(loc, opName, ": element types differ: ", *a,
                             " and ", *b);
  int64_t rank = std::max(a->getRank(), b->getRank());
  SmallVector<int64_t> shape(rank);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t ia = a->getRank() - rank + i, ib = b->getRank() - rank + i;
    int64_t da = ia >= 0 ? a->getDimSize(ia) : 1;
    int64_t db = ib >= 0 ? b->getDimSize(ib) : 1;
    if (da != db && da != 1 && db != 1)
      return emitOptionalError(loc, opName, ": shapes ", *a, " and ", *b,
                               " do not broadcast (dimension ", i, ": ", da,
                               " vs ", db, ")");
    shape[i] = da == 1 ? db : da;
  }
  types.push_back(RankedTensorType::get(shape, a->getElementType()));
  return success();
}

#define KILN_INFER_BROADCAST(OpT, NAME)                                        \
  LogicalResult OpT::inferReturnTypes(                                         \
      MLIRContext *, MaybeLoc loc, ValueRange operands, DictionaryAttr,        \
      OpaqueProperties, RegionRange, SmallVectorImpl<Type> &types) {           \
    if (operands.size() != 2)                                                  \
      return emitOptionalError(loc, NAME " takes two operands");               \
    return inferBroadcast(NAME, operands[0], operands[1], loc, types);         \
  }

KILN_INFER_BROADCAST(AddOp, "add")
KILN_INFER_BROADCAST(MulOp, "mul")
KILN_INFER_BROADCAST(SubOp, "sub")
KILN_INFER_BROADCAST(DivOp, "div")
#undef KILN_INFER_BROADCAST

//===----------------------------------------------------------------------===//
// Pooling and reductions
//===----------------------------------------------------------------------===//

KILN_INFER_WITH_ADAPTOR(MaxPool2dOp, [](MaxPool2dOp::Adaptor op, MaybeLoc loc,
                                        SmallVectorImpl<Type> &types) {
  return inferPool2d(loc, "max_pool2d", op.getInput(), op.getKernel(),
                     op.getStride(), op.getPadding(), op.getDilation(),
                     op.getCeilMode(), types);
})

KILN_INFER_WITH_ADAPTOR(AvgPool2dOp, [](AvgPool2dOp::Adaptor op, MaybeLoc loc,
                                        SmallVectorImpl<Type> &types) {
  int64_t noDilation[] = {1, 1};
  return inferPool2d(loc, "avg_pool2d", op.getInput(), op.getKernel(),
                     op.getStride(), op.getPadding(), noDilation,
                     op.getCeilMode(), types);
})

KILN_INFER_WITH_ADAPTOR(AdaptiveAvgPool2dOp, [](AdaptiveAvgPool2dOp::Adaptor op,
                                                MaybeLoc loc,
                                                SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "adaptive_avg_pool2d input", 4);
  if (failed(input) ||
      failed(expectPair(loc, "output_size", op.getOutputSize(), 1)))
    return failure();
  SmallVector<int64_t> shape(input->getShape());
  shape[2] = op.getOutputSize()[0];
  shape[3] = op.getOutputSize()[1];
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(MeanOp, [](MeanOp::Adaptor op, MaybeLoc loc,
                                   SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "mean input", -1);
  if (failed(input))
    return failure();
  if (op.getDims().empty())
    return emitOptionalError(loc, "mean: 'dims' must not be empty");
  llvm::SmallSet<int64_t, 4> seen;
  for (int64_t d : op.getDims()) {
    if (failed(expectDim(loc, "dims", d, input->getRank())))
      return failure();
    if (!seen.insert(d).second)
      return emitOptionalError(loc, "mean: dimension ", d,
                               " appears twice in 'dims'");
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < input->getRank(); ++i) {
    if (!seen.contains(i))
      shape.push_back(input->getDimSize(i));
    else if (op.getKeepdim())
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

KILN_INFER_WITH_ADAPTOR(FlattenOp, [](FlattenOp::Adaptor op, MaybeLoc loc,
                                      SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "flatten input", -1);
  if (failed(input))
    return failure();
  int64_t start = op.getStartDim(), end = op.getEndDim();
  if (failed(expectDim(loc, "start_dim", start, input->getRank())) ||
      failed(expectDim(loc, "end_dim", end, input->getRank())))
    return failure();
  if (start > end)
    return emitOptionalError(loc, "flatten: start_dim ", start,
                             " is after end_dim ", end);
  ArrayRef<int64_t> dims = input->getShape();
  SmallVector<int64_t> shape(dims.take_front(start));
  shape.push_back(product(dims.slice(start, end - start + 1)));
  llvm::append_range(shape, dims.drop_front(end + 1));
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(ReshapeOp, [](ReshapeOp::Adaptor op, MaybeLoc loc,
                                      SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "reshape input", -1);
  if (failed(input))
    return failure();
  SmallVector<int64_t> shape(op.getShape());
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d == -1) {
      if (inferred >= 0)
        return emitOptionalError(loc, "reshape: more than one -1 in ",
                                 str(shape));
      inferred = i;
    } else if (d < 1) {
      return emitOptionalError(loc, "reshape: invalid size ", d, " in ",
                               str(shape));
    } else {
      known *= d;
    }
  }
  int64_t numel = input->getNumElements();
  if (inferred >= 0) {
    if (numel % known != 0)
      return emitOptionalError(loc, "reshape: shape ", str(shape),
                               " is invalid for ", numel, " elements");
    shape[inferred] = numel / known;
  } else if (known != numel) {
    return emitOptionalError(loc, "reshape: shape ", str(shape),
                             " is invalid for ", numel, " elements");
  }
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(TransposeOp, [](TransposeOp::Adaptor op, MaybeLoc loc,
                                        SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "transpose input", -1);
  if (failed(input) || failed(expectPair(loc, "dims", op.getDims(), 0)) ||
      failed(expectDim(loc, "dims", op.getDims()[0], input->getRank())) ||
      failed(expectDim(loc, "dims", op.getDims()[1], input->getRank())))
    return failure();
  SmallVector<int64_t> shape(input->getShape());
  std::swap(shape[op.getDims()[0]], shape[op.getDims()[1]]);
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(ConcatOp, [](ConcatOp::Adaptor op, MaybeLoc loc,
                                     SmallVectorImpl<Type> &types) {
  if (op.getInputs().empty())
    return emitOptionalError(loc, "concat needs at least one input");
  auto first = expectRank(loc, op.getInputs()[0], "concat input 0", -1);
  if (failed(first) ||
      failed(expectDim(loc, "dim", op.getDim(), first->getRank())))
    return failure();
  int64_t dim = op.getDim();
  SmallVector<int64_t> shape(first->getShape());
  for (auto [i, value] : llvm::enumerate(op.getInputs().drop_front())) {
    auto type = expectRank(loc, value, "concat input", first->getRank());
    if (failed(type))
      return failure();
    if (type->getElementType() != first->getElementType())
      return emitOptionalError(loc, "concat: input ", i + 1, " is ", *type,
                               " but input 0 is ", *first);
    for (int64_t d = 0; d < first->getRank(); ++d)
      if (d != dim && type->getDimSize(d) != shape[d])
        return emitOptionalError(loc, "concat: input ", i + 1, " ", *type,
                                 " differs from input 0 ", *first,
                                 " in dimension ", d, " (only dimension ",
                                 dim, " may differ)");
    shape[dim] += type->getDimSize(dim);
  }
  types.push_back(RankedTensorType::get(shape, first->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(SliceOp, [](SliceOp::Adaptor op, MaybeLoc loc,
                                    SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "slice input", -1);
  if (failed(input) ||
      failed(expectDim(loc, "dim", op.getDim(), input->getRank())))
    return failure();
  int64_t size = input->getDimSize(op.getDim());
  int64_t start = op.getStart(), end = op.getEnd(), step = op.getStep();
  if (step < 1)
    return emitOptionalError(loc, "slice: step must be positive, got ", step);
  if (start < 0 || end > size || start >= end)
    return emitOptionalError(loc, "slice: range [", start, ", ", end,
                             ") is empty or outside dimension ", op.getDim(),
                             " of size ", size);
  SmallVector<int64_t> shape(input->getShape());
  shape[op.getDim()] = (end - start + step - 1) / step;
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(SplitOp, [](SplitOp::Adaptor op, MaybeLoc loc,
                                    SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "split input", -1);
  if (failed(input) ||
      failed(expectDim(loc, "dim", op.getDim(), input->getRank())))
    return failure();
  int64_t size = input->getDimSize(op.getDim()), total = 0;
  if (op.getSizes().empty())
    return emitOptionalError(loc, "split: 'sizes' must not be empty");
  for (int64_t piece : op.getSizes()) {
    if (piece < 1)
      return emitOptionalError(loc, "split: piece sizes must be positive, got ",
                               str(op.getSizes()));
    total += piece;
  }
  if (total != size)
    return emitOptionalError(loc, "split: sizes ", str(op.getSizes()),
                             " add up to ", total, " but dimension ",
                             op.getDim(), " has size ", size);
  SmallVector<int64_t> shape(input->getShape());
  for (int64_t piece : op.getSizes()) {
    shape[op.getDim()] = piece;
    types.push_back(RankedTensorType::get(shape, input->getElementType()));
  }
  return success();
})

KILN_INFER_WITH_ADAPTOR(ChunkOp, [](ChunkOp::Adaptor op, MaybeLoc loc,
                                    SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "chunk input", -1);
  if (failed(input) ||
      failed(expectDim(loc, "dim", op.getDim(), input->getRank())))
    return failure();
  int64_t chunks = op.getChunks();
  int64_t size = input->getDimSize(op.getDim());
  if (chunks < 1)
    return emitOptionalError(loc, "chunk: chunks must be positive, got ",
                             chunks);
  if (size < 1)
    return emitOptionalError(loc, "chunk: dimension ", op.getDim(),
                             " is empty");
  // torch.chunk: pieces of ceil(size / chunks), the last one shorter.
  int64_t piece = (size + chunks - 1) / chunks;
  SmallVector<int64_t> shape(input->getShape());
  for (int64_t begin = 0; begin < size; begin += piece) {
    shape[op.getDim()] = std::min(piece, size - begin);
    types.push_back(RankedTensorType::get(shape, input->getElementType()));
  }
  return success();
})

KILN_INFER_WITH_ADAPTOR(PadOp, [](PadOp::Adaptor op, MaybeLoc loc,
                                  SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "pad input", 4);
  if (failed(input) || failed(expectPair(loc, "pads", op.getPads(), 0, 4)))
    return failure();
  if (!std::isfinite(op.getValue().convertToDouble()))
    return emitOptionalError(loc, "pad: the value must be finite");
  ArrayRef<int64_t> p = op.getPads();
  SmallVector<int64_t> shape(input->getShape());
  shape[2] += p[0] + p[2];
  shape[3] += p[1] + p[3];
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(UpsampleNearestOp, [](UpsampleNearestOp::Adaptor op,
                                              MaybeLoc loc,
                                              SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "upsample_nearest input", 4);
  if (failed(input) || failed(expectPair(loc, "scale", op.getScale(), 1)))
    return failure();
  SmallVector<int64_t> shape(input->getShape());
  for (int i = 0; i < 2; ++i)
    if (__builtin_mul_overflow(shape[2 + i], op.getScale()[i], &shape[2 + i]))
      return emitOptionalError(loc, "upsample_nearest: the result is too large");
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
})

KILN_INFER_WITH_ADAPTOR(ChannelShuffleOp, [](ChannelShuffleOp::Adaptor op,
                                             MaybeLoc loc,
                                             SmallVectorImpl<Type> &types) {
  auto input = expectRank(loc, op.getInput(), "channel_shuffle input", -1);
  if (failed(input))
    return failure();
  if (input->getRank() < 2)
    return emitOptionalError(loc, "channel_shuffle input must have channels "
                                  "in dimension 1");
  int64_t groups = op.getGroups(), channels = input->getDimSize(1);
  if (groups < 1 || channels % groups != 0)
    return emitOptionalError(loc, "channel_shuffle: ", channels,
                             " channels are not divisible into groups = ",
                             groups);
  types.push_back(*input);
  return success();
})

#define GET_OP_CLASSES
#include "dialects/Kiln/IR/KilnOps.cpp.inc"
