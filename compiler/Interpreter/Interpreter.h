//===- Interpreter.h - reference evaluation of kiln graphs -----*- C++ -*-===//
//
// Declares the reference interpreter behind `kiln run`: it evaluates kiln
// graph IR with plain loops in double precision. It is the oracle compiled
// code is tested against, and a debugging tool for users.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_INTERPRETER_INTERPRETER_H
#define KILN_COMPILER_INTERPRETER_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <vector>

namespace kiln {

struct ModelParams;

/// Evaluates the model |func| on |input| (row-major, of the function's
/// input shape) with one float32 tensor per param of |specs| in |params|.
/// Writes the output (row-major, the result shape) to |output|. Emits an
/// error on an op it cannot evaluate.
mlir::LogicalResult interpret(mlir::func::FuncOp func, const ModelParams &specs,
                              const std::vector<const float *> &params,
                              const std::vector<float> &input,
                              std::vector<float> &output);

} // namespace kiln

#endif // KILN_COMPILER_INTERPRETER_INTERPRETER_H
