//===- Storage.h - where generated code finds a value ----------*- C++ -*-===//
//
// Declares what the CPU and CUDA emitters share about memory: a value is a
// pointer expression, an offset and a stride per logical (PyTorch)
// dimension, so views (slices, splits, reshapes of contiguous data,
// transposes) and the inputs of in-place concats generate no code; and the
// strides of the NHWC layout that kernels take.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_COMMON_STORAGE_H
#define KILN_COMPILER_TARGET_COMMON_STORAGE_H

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/IR/Block.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln {

using Dims = llvm::SmallVector<int64_t, 6>;

/// The element type of a buffer in generated code: fp32, or the target's
/// activation type (`T` in CUDA code: the precision's; fp32 on the CPU).
enum class ElementType { F32, Activation };

/// The C++ name of |type| in generated code ("float" or "T").
const char *typeName(ElementType type);

/// Where a value lives: a base pointer expression of element type |type|,
/// an offset and a stride per logical dimension, both in elements.
struct Storage {
  std::string base;
  ElementType type = ElementType::F32;
  int64_t offset = 0;
  Dims shape, strides;
};

Dims shapeOf(mlir::Value v);
int64_t numel(llvm::ArrayRef<int64_t> shape);

/// NHWC strides of a logical [N, C, H, W] shape.
Dims nhwcStrides(llvm::ArrayRef<int64_t> shape);

/// Whether |s| has |strides| on every dimension that has more than one
/// element (the others' strides never matter).
bool hasStrides(const Storage &s, llvm::ArrayRef<int64_t> strides);

/// If |s| is NHWC with channels contiguous and pixels P >= C elements apart
/// (a channel slice of a wider buffer when P > C), returns P.
std::optional<int64_t> nhwcPixelStride(const Storage &s);

/// Where a kernel writes an NHWC result: pixels |pixelStride| elements
/// apart, channels |channelStep| apart (1, or the groups of a shuffled
/// concat's buffer).
struct NhwcOutput {
  int64_t pixelStride, channelStep;
};
std::optional<NhwcOutput> nhwcOutput(const Storage &s);

/// The name of |a| in the kernels' Activation enums ("Relu", ...).
const char *activationName(Activation a);

/// Sets the storage of each result of the view op |op| (isViewOp) from its
/// operand's, |x|.
void viewStorage(mlir::Operation *op, const Storage &x,
                 llvm::DenseMap<mlir::Value, Storage> &storage);

/// Where input |index| of |concat| goes in the concat's storage |whole|: a
/// slice along the concat's dimension, or every g-th channel from |index|
/// on when the concat is written shuffled (inPlaceShuffleOf).
Storage concatSlot(ConcatOp concat, unsigned index, Storage whole);

/// A copy the code generators emit as a loop nest or elementwise kernel.
struct Copy {
  Storage dst, src;
};

/// The copies that assemble |concat| in |out|: every input, or for an
/// in-place concat those not produced there (producedInConcat). |storage|
/// holds the inputs' storage.
std::vector<Copy> concatCopies(
    ConcatOp concat, const Storage &out,
    const llvm::DenseMap<mlir::Value, Storage> &storage);

/// The copy that shuffles |src| into |out| (output channel i * groups + j
/// is input channel j * per + i: a strided copy over the channel dimension
/// split in two); none when its concat wrote it shuffled.
std::optional<Copy> shuffleCopy(ChannelShuffleOp shuffle, Storage src,
                                Storage out);

/// The inputs produced in the in-place concats of |body| (producedInConcat),
/// with their concat and operand index.
using ConcatSlots = llvm::DenseMap<mlir::Value, std::pair<ConcatOp, unsigned>>;
ConcatSlots collectConcatSlots(mlir::Block &body);

//===----------------------------------------------------------------------===//
// Kernel descriptors
//===----------------------------------------------------------------------===//
// The CPU (kiln/cpu/kernels.h) and CUDA (kiln/cuda/types.h) kernels describe
// layers with structs of the same fields; these print their designated
// initializers ("{.n = 1, .h = 56, ...}").

/// Conv2d of |op| on an input of NCHW shape |x| (its channels may differ
/// from the op's when the code pads them) and batch |n|.
std::string conv2dInit(Conv2dOp op, llvm::ArrayRef<int64_t> x, int64_t n,
                       int64_t inStride, int64_t outStride,
                       int64_t outStep = 1);

/// Pool2d of a kiln.max_pool2d or kiln.avg_pool2d |op|.
std::string pool2dInit(mlir::Operation *op, int64_t inStride, int64_t outStride);

/// AdaptivePool2d from the NCHW shape |x| to oh x ow, written densely.
std::string adaptivePool2dInit(llvm::ArrayRef<int64_t> x, int64_t inStride,
                               int64_t oh, int64_t ow);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_COMMON_STORAGE_H
