//===- EmitterCore.h - what the CPU and CUDA code generators share -*- C++ -*-===//
//
// Declares EmitterCore, the walk over a kernel-level function (the kernel
// dialect) that both code generators are: it names the kernels' shape
// constants once each, collects the prepared-weight items, and prints each
// op of the body in program order:
//   * weight ops (params, batch-norm folds) print nothing here: the
//     prepare step reads them on demand (WeightCode);
//   * kernel.elementwise (a constant operand as a prepared vector),
//     kernel.batch_norm and kernel.reduce become loops, their scalar work
//     written with the target's ScalarTable; kernel.softmax goes to the
//     target's row-reduction printer;
//   * the other kernels (convolutions, linear layers, pooling, the SE gate,
//     channel padding) go to the target's printers, the virtual functions
//     below.
// A target (CpuEmitter.cpp, CudaEmitter.cpp) supplies only what differs:
// how it addresses a buffer, its scalar math, its elementwise printer and
// kernel-call printers, and the prologue and epilogue of its file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_COMMON_EMITTERCORE_H
#define KILN_COMPILER_TARGET_COMMON_EMITTERCORE_H

#include "compiler/Target/Common/Storage.h"
#include "compiler/Target/Common/WeightCode.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct ModelParams;

/// A target's scalar math, as the names of its float functions.
struct ScalarTable {
  const char *max, *min, *exp;
};

/// The scalar expression of |act| applied to the float expression |x|.
/// Adding an activation is one case here.
std::string activationExpr(Activation act, llvm::StringRef x,
                           const ScalarTable &table);

/// The scalar expression an elementwise kernel stores, of the float
/// operands "in0", "in1", ...
std::string elementwiseExpr(kernel::ElementwiseOp op, const ScalarTable &table);

class EmitterCore {
public:
  virtual ~EmitterCore() = default;

protected:
  EmitterCore(mlir::func::FuncOp func, const ModelParams &params,
              const ScalarTable &scalars, llvm::StringRef targetName,
              llvm::StringRef constantPrefix)
      : func(func), weightCode(params), scalars(scalars),
        targetName(targetName), constantPrefix(constantPrefix) {
    initBatch();
  }

  /// Prints every op of the kernel function's |body|; each kernel's code
  /// is one of |steps|.
  mlir::LogicalResult emitBody(mlir::Block &body);

  //===--------------------------------------------------------------------===//
  // Target hooks
  //===--------------------------------------------------------------------===//

  /// How generated code addresses |buffer|.
  virtual Storage storageOf(kernel::BufferAttr buffer) const = 0;
  /// Prints a loop over |out| storing |expr| of the loaded "in<i>".
  virtual void emitElementwise(const Storage &out, llvm::ArrayRef<Storage> ins,
                               std::string expr) = 0;
  /// Sums |in| over |dims| into |out| times |scale| (a general mean).
  virtual void emitReduce(const Storage &out, const Storage &in,
                          llvm::ArrayRef<int64_t> dims, bool keepdim,
                          double scale) = 0;
  /// Writes the softmax of |in| along |dim| to |out| (of |in|'s shape):
  /// each row's maximum, then the sum of exp(x - max), then the quotients.
  virtual void emitSoftmax(const Storage &out, const Storage &in,
                           int64_t dim) = 0;
  /// |floats| floats of prepared weights, in the target's size units.
  virtual std::string floatsSize(int64_t floats) const = 0;
  /// The prepared item at |dst| as a (const) float pointer.
  virtual std::string asFloats(llvm::StringRef dst, bool isConst) const = 0;

  virtual mlir::LogicalResult emitConv(kernel::Conv2dOp op) = 0;
  virtual mlir::LogicalResult emitLinear(kernel::LinearOp op) = 0;
  virtual mlir::LogicalResult emitSeGate(kernel::SqueezeExciteGateOp op) = 0;
  virtual mlir::LogicalResult emitPool(kernel::Pool2dOp op) = 0;
  virtual mlir::LogicalResult emitAdaptivePool(kernel::AdaptivePool2dOp op) = 0;
  /// A GPU stem's padded input; by default not supported.
  virtual mlir::LogicalResult emitPadChannels(kernel::PadChannelsOp op);
  /// A CPU convolution chain; by default not supported.
  virtual mlir::LogicalResult emitConvChain(kernel::ConvChainOp op);

  //===--------------------------------------------------------------------===//
  // Storage
  //===--------------------------------------------------------------------===//

  static std::string ptr(const Storage &s) {
    return s.offset ? "(" + s.base + " + " + std::to_string(s.offset) + ")"
                    : s.base;
  }

  //===--------------------------------------------------------------------===//
  // Constants and prepared weights
  //===--------------------------------------------------------------------===//

  /// The name of a kernel shape constant of |type| initialized by |init|,
  /// defined once per distinct text.
  std::string constant(llvm::StringRef type, const std::string &init);

  /// Adds a prepared item of |size| filled by the code |fill| prints for
  /// the item's pointer; returns that pointer's C++ expression.
  std::string addPrepared(
      std::string size, llvm::function_ref<std::string(llvm::StringRef)> fill,
      std::optional<PreparedItem::Pack> pack = std::nullopt);

  /// Copies a weight vector (a bias) into the prepared weights; returns its
  /// float pointer.
  mlir::FailureOr<std::string> vector(mlir::Operation *op, mlir::Value v);
  /// vector(|op|, |v|), or "nullptr" without |v| (an optional bias).
  mlir::FailureOr<std::string> optionalVector(mlir::Operation *op, mlir::Value v) {
    if (!v)
      return std::string("nullptr");
    return vector(op, v);
  }

  //===--------------------------------------------------------------------===//
  // The batch
  //===--------------------------------------------------------------------===//

  /// Whether generated code takes the batch at run time: the function has
  /// kiln.batch (mark-batch found the samples independent) and N > 1. Then
  /// the code computes the first `batch` samples, a variable of the run
  /// function, and must touch nothing past them in the caller's input and
  /// output.
  bool runtimeBatch() const { return flexible && batchN > 1; }
  /// |total| rows (or threads: a multiple of N, all samples) as the C++
  /// expression (an int) of the part the samples that run cover.
  std::string rows(int64_t total);
  /// The trailing argument of a kernel call or launcher that runs |total|
  /// rows: the run-time rows, or nothing (the kernel's default: all).
  std::string rowsArg(int64_t total) {
    return runtimeBatch() ? ", " + rows(total) : "";
  }
  /// Reads N and kiln.batch from the function.
  void initBatch();

  mlir::func::FuncOp func;
  /// The compiled batch N (the input's first dimension), kiln.batch's
  /// presence, and the kernel whose batch could not be made a run-time
  /// value (emit() fails then).
  int64_t batchN = 1;
  bool flexible = false;
  mlir::Operation *batchFailure = nullptr;
  WeightCode weightCode;
  const ScalarTable &scalars;
  /// "CPU" or "CUDA", for diagnostics.
  llvm::StringRef targetName;
  /// What qualifies the kernels' descriptor types ("kiln::cpu::" or "").
  llvm::StringRef constantPrefix;

  /// The code of the kernel being printed, then of each kernel in order.
  std::string run;
  std::vector<std::string> steps;
  /// The layer of each step (for profiles): a weight's state_dict prefix,
  /// else the op's kind and source line.
  std::vector<std::string> stepNames;
  /// Kernel shape constants, deduplicated by their text.
  std::map<std::string, std::string> constantNames;
  std::vector<std::string> constants;
  std::vector<PreparedItem> prepared;
  int kernels = 0;

private:
  mlir::LogicalResult emitOp(mlir::Operation *op);
  mlir::LogicalResult emitBatchNorm(kernel::BatchNormOp op);
};

} // namespace kiln

#endif // KILN_COMPILER_TARGET_COMMON_EMITTERCORE_H
