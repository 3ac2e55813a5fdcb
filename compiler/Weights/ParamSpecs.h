//===- ParamSpecs.h - a model's state_dict as runtime specs ----*- C++ -*-===//
//
// Declares how the compiler describes a model's weights to the runtime: one
// ParamSpec per `kiln.param`, in IR order, with the seeding rule (PyTorch's
// default initialization) derived from the op that uses the tensor. The
// interpreter and the code generators share this, so `kiln run` and a
// compiled executable see the same seeded weights.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_WEIGHTS_PARAMSPECS_H
#define KILN_COMPILER_WEIGHTS_PARAMSPECS_H

#include "dialects/Kiln/IR/KilnDialect.h"
#include "kiln/weights.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

#include "llvm/ADT/StringMap.h"

#include <deque>
#include <string>
#include <vector>

namespace kiln {

/// The specs of a model's params; owns the name strings the specs point to.
struct ModelParams {
  std::vector<rt::ParamSpec> specs;
  std::deque<std::string> names;
  /// Index of each param op in |specs|.
  llvm::DenseMap<mlir::Operation *, int> index;
  /// Index of each name in |specs|: a param op that passes moved or
  /// cloned (the kernel-level function's) finds its spec by name.
  llvm::StringMap<int> byName;
};

/// Collects the params of |func| as imported (before graph passes, whose
/// weight transforms would hide the layer that uses a param), or emits an
/// error (a param of rank above 4
/// or a name given twice with different shapes) and returns false.
bool collectParams(mlir::func::FuncOp func, ModelParams &params);

} // namespace kiln

#endif // KILN_COMPILER_WEIGHTS_PARAMSPECS_H
