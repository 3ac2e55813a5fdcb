//===- Buffers.h - where the graph's values live at kernel level -*- C++ -*-===//
//
// Declares Buffer, the mutable twin of #kernel.buffer that the lowering
// tracks per graph value: a memory space, offsets and a stride per logical
// (PyTorch) dimension. Views (slices, splits, reshapes of contiguous data,
// transposes), the inputs of in-place concats and shuffled concats are
// buffers computed here, so they cost no kernel.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CONVERSION_GRAPHTOKERNEL_BUFFERS_H
#define KILN_COMPILER_CONVERSION_GRAPHTOKERNEL_BUFFERS_H

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Block.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <vector>

namespace kiln {

struct Buffer {
  kernel::MemorySpace space = kernel::MemorySpace::arena;
  /// The arena slot's byte offset, and the element offset within it.
  int64_t byteOffset = 0, offset = 0;
  kernel::ElementKind element = kernel::ElementKind::f32;
  Dims shape, strides;

  /// A dense buffer of |shape| in |space| at byte |byteOffset|, NHWC or
  /// row-major.
  static Buffer dense(kernel::MemorySpace space, int64_t byteOffset,
                      llvm::ArrayRef<int64_t> shape, bool nhwc,
                      kernel::ElementKind element);
  kernel::BufferAttr attr(mlir::MLIRContext *context) const;
};

/// Sets the buffer of each result of the view op |op| (isViewOp) from its
/// operand's, |x|.
void viewBuffers(mlir::Operation *op, const Buffer &x,
                 llvm::DenseMap<mlir::Value, Buffer> &buffers);

/// Where input |index| of |concat| goes in the concat's buffer |whole|: a
/// slice along the concat's dimension, or every g-th channel from |index|
/// on when the concat is written shuffled (inPlaceShuffleOf).
Buffer concatSlot(ConcatOp concat, unsigned index, Buffer whole);

/// A copy the lowering emits as an elementwise kernel.
struct Copy {
  Buffer dst, src;
};

/// The copies that assemble |concat| in |out|: every input, or for an
/// in-place concat those not produced there (producedInConcat). |buffers|
/// holds the inputs' buffers.
std::vector<Copy> concatCopies(ConcatOp concat, const Buffer &out,
                               const llvm::DenseMap<mlir::Value, Buffer> &buffers);

/// The copy that shuffles |src| into |out| (output channel i * groups + j
/// is input channel j * per + i: a strided copy over the channel dimension
/// split in two); none when its concat wrote it shuffled.
std::optional<Copy> shuffleCopy(ChannelShuffleOp shuffle, Buffer src, Buffer out);

/// The inputs produced in the in-place concats of |body| (producedInConcat),
/// with their concat and operand index.
using ConcatSlots = llvm::DenseMap<mlir::Value, std::pair<ConcatOp, unsigned>>;
ConcatSlots collectConcatSlots(mlir::Block &body);

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_GRAPHTOKERNEL_BUFFERS_H
