//===- GraphQueries.h - what passes and targets ask of graphs ---*- C++ -*-===//
//
// Declares the queries on kiln graphs that the graph passes, the CUDA
// schedule pass, the code generators and the kernel report share: which
// values are weights, which ops are views, which inputs of a concat are
// produced in place, and the strides of a planned value's buffer. They read
// the IR and change nothing.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_GRAPH_ANALYSIS_GRAPHQUERIES_H
#define KILN_COMPILER_GRAPH_ANALYSIS_GRAPHQUERIES_H

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/IR/Value.h"

#include <cstdint>

namespace kiln {

/// Whether |v| is computed from weights alone (params and weight
/// transforms): the prepare step evaluates such values once.
bool isWeightValue(mlir::Value v);

/// The value |v| is an identity or dropout (chain) of, or |v| itself.
mlir::Value throughIdentities(mlir::Value v);

/// Whether |op| only reinterprets its input's memory (no code runs).
bool isViewOp(mlir::Operation *op);

/// Whether |op| is a flatten or reshape of a value that is not contiguous
/// in PyTorch's order (a transposed or sliced view): such a reshape copies
/// its input into a buffer of its own (it is no view), row-major.
bool reshapeCopies(mlir::Operation *op);

/// Whether input |i| of |concat| (dim 1, 4-D) can be computed straight
/// into its channels of the concat's buffer: a kernel computes it (not a
/// view, a weight, the model input or another concat), and this is the
/// first place it has in a channel concat (in program order; the others
/// copy it). Into a shuffled concat (shuffleOfConcat) only a convolution
/// with no other reader writes (its channels are then strided). The other
/// inputs an in-place concat copies.
bool producedInConcat(ConcatOp concat, unsigned i);

/// Elements between consecutive pixels of the channels-last 4-D value |v|
/// once planned: its channel count, or, for a channel slice of a wider
/// buffer (a channel view, or an input of an in-place concat), the
/// buffer's.
int64_t pixelStride(mlir::Value v);

/// Elements between consecutive channels of the 4-D value |v| once
/// planned: the shuffle's groups for an input produced into an in-place
/// shuffled concat, else 1.
int64_t channelStep(mlir::Value v);

} // namespace kiln

#endif // KILN_COMPILER_GRAPH_ANALYSIS_GRAPHQUERIES_H
