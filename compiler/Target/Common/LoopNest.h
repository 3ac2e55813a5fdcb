//===- LoopNest.h - strided loop nests for elementwise code ----*- C++ -*-===//
//
// Declares the one loop-nest generator the code generators share. Every op
// that maps elements to elements (activations, broadcast arithmetic, batch
// norm as a per-channel affine, layout changes, copies for concat, slice and
// channel shuffle) is a loop nest whose operands are pointers with a stride
// per loop; a stride of 0 broadcasts. The scalar work is one C expression
// from a per-target table (ScalarTable), so a new elementwise op costs one
// table row.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_COMMON_LOOPNEST_H
#define KILN_COMPILER_TARGET_COMMON_LOOPNEST_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace kiln {

/// A pointer (C++ expression of type float *) and its stride per loop.
struct StridedOperand {
  std::string base;
  llvm::SmallVector<int64_t, 6> strides;
};

struct LoopNest {
  /// Trip counts, outermost first.
  llvm::SmallVector<int64_t, 6> extents;
  StridedOperand out;
  llvm::SmallVector<StridedOperand, 3> ins;
  /// The value stored to out, in terms of in0, in1, ... (floats).
  std::string expr;
  /// out += expr instead of out = expr.
  bool accumulate = false;
  /// When not empty, the trip count of the outermost loop as a C++
  /// expression evaluated at run time (a batch: fewer samples than
  /// extents[0] covers); extents[0] is its largest value.
  std::string outerExtent;
  /// When set, the innermost statements instead of the store of |expr|:
  /// code that reads `in0_row`, ... and writes `out_row`, pointers to the
  /// operands' elements at the loops' indices (a row kernel: softmax).
  std::string body;
  /// The work of one trip relative to one element's (a row's length), for
  /// the decision to split the nest into parallel tasks.
  int64_t tripCost = 1;

  int64_t trips() const;
  /// Drops unit loops and merges adjacent loops that every operand walks
  /// contiguously, so that copies become single long loops.
  void simplify();
  /// Prints the nest as C++ at |indent|. Large nests split their outer loop
  /// into ranges run as pool.parallel_for tasks (each output element is
  /// written by one task, so results do not depend on the thread count).
  void print(llvm::raw_ostream &os, int indent) const;
};

} // namespace kiln

#endif // KILN_COMPILER_TARGET_COMMON_LOOPNEST_H
