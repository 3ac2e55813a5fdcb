//===- KilnDialect.h - kiln graph dialect ----------------------*- C++ -*-===//
//
// Declares the kiln dialect, its attributes and its ops. Include this one
// header to use the dialect.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_IR_KILNDIALECT_H
#define KILN_DIALECTS_KILN_IR_KILNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

#include "dialects/Kiln/IR/KilnDialect.h.inc"
#include "dialects/Kiln/IR/KilnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Kiln/IR/KilnAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Kiln/IR/KilnOps.h.inc"

namespace mlir {
class ModuleOp;
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace kiln {
/// A static shape or stride list.
using Dims = llvm::SmallVector<int64_t, 6>;

/// The shape of the ranked tensor |v|.
Dims shapeOf(mlir::Value v);
/// The number of elements of |shape|.
int64_t numel(llvm::ArrayRef<int64_t> shape);
/// Row-major strides of |shape| (the logical, PyTorch layout).
Dims rowMajorStrides(llvm::ArrayRef<int64_t> shape);
/// NHWC strides of a logical [N, C, H, W] shape.
Dims nhwcStrides(llvm::ArrayRef<int64_t> shape);

/// The activation that |op| computes when it is an activation op
/// (kiln.relu, kiln.relu6, kiln.sigmoid, kiln.hard_sigmoid,
/// kiln.hard_swish, kiln.silu), else nullopt. This is the one map from activation ops
/// to Activation (the enum of fused epilogues): a new activation is added
/// here, next to its op and its enum case.
std::optional<Activation> activationOf(mlir::Operation *op);

/// The function of |module| that carries the model (the one with the
/// `kiln.model` attribute), or null.
mlir::func::FuncOp findModelFunc(mlir::ModuleOp module);

/// Whether |concat| joins 4-D tensors along their channels (dim 1): the
/// concats whose inputs kernels can write in place.
bool isChannelConcat(ConcatOp concat);

/// The channel shuffle whose only input is |concat| (dim 1, 4-D), when the
/// concat has one input per shuffle group, all of the same width
/// (ShuffleNetV2's cat + channel_shuffle): channel k of input i is then
/// channel k * groups + i of the shuffle's result. Such a pair may be
/// marked kiln.in_place (--kiln-eliminate-concat).
ChannelShuffleOp shuffleOfConcat(ConcatOp concat);

/// shuffleOfConcat(|concat|) when it is marked kiln.in_place: the concat's
/// inputs are then written shuffled into the shuffle's buffer.
ChannelShuffleOp inPlaceShuffleOf(ConcatOp concat);

/// A 1x1 convolution, the depthwise convolution of its result and the 1x1
/// convolution of that (MobileNetV2's inverted residual).
struct ConvChainOps {
  Conv2dOp expand, depthwise, project;
};
/// The chain around the depthwise convolution |depthwise|, when its input
/// is the only use of a dense 1x1 stride-1 unpadded kiln.conv2d and its
/// result has one use, by another; the depthwise one must have one input
/// channel per group and no residual, all three a bias (batch norms fold
/// into them) and none of them an input scale.
/// (Whether the kernels take the window is conv_chain_ok's, runtime side.)
std::optional<ConvChainOps> convChainAround(Conv2dOp depthwise);
/// The chain |op| belongs to when its depthwise convolution is marked
/// kiln.chain (--kiln-fuse-conv-chains): the CPU then runs the three as
/// one kernel at the project's place, and the chain's input lives until
/// then.
std::optional<ConvChainOps> markedConvChainOf(mlir::Operation *op);
} // namespace kiln

#endif // KILN_DIALECTS_KILN_IR_KILNDIALECT_H
