//===- EmitterCore.h - what the CPU and CUDA code generators share -*- C++ -*-===//
//
// Declares EmitterCore, the walk over planned kiln IR that both code
// generators are: it tracks where each value lives (Storage), names the
// kernels' shape constants once each, collects the prepared-weight items,
// and dispatches each op of the body in program order:
//   * weight ops (params, batch-norm folding) generate nothing here: the
//     prepare step reads them on demand (WeightCode);
//   * views and in-place concats only change storage;
//   * elementwise ops, unfused batch norms, layout conversions, copying
//     concats and channel shuffles become elementwise loops, their scalar
//     work written with the target's ScalarTable;
//   * kernels (convolutions, linear layers, pooling, the SE gate, general
//     reductions) go to the target's printers, the virtual functions below.
// A target (CpuEmitter.cpp, CudaEmitter.cpp) supplies only what differs:
// how arena memory is addressed, its scalar math, its elementwise printer
// and kernel-call printers, and the prologue and epilogue of its file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_COMMON_EMITTERCORE_H
#define KILN_COMPILER_TARGET_COMMON_EMITTERCORE_H

#include "compiler/Target/Common/Storage.h"
#include "compiler/Target/Common/WeightCode.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
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

/// The scalar expression of the elementwise op |op| on the float operands
/// "in0", "in1", ...; none if |op| is not elementwise. Adding an
/// elementwise op or an activation is one case here.
std::optional<std::string> elementwiseExpr(mlir::Operation *op,
                                           const ScalarTable &table);

class EmitterCore {
public:
  virtual ~EmitterCore() = default;

protected:
  EmitterCore(mlir::func::FuncOp func, const ModelParams &params,
              const ScalarTable &scalars, llvm::StringRef targetName,
              llvm::StringRef constantPrefix)
      : func(func), weightCode(params), scalars(scalars),
        targetName(targetName), constantPrefix(constantPrefix) {}

  /// Sets up the model input's storage and emits every op of the body, up
  /// to the copy of the result into the output; each op's code is one of
  /// |steps|.
  mlir::LogicalResult emitBody(mlir::Block &body);

  //===--------------------------------------------------------------------===//
  // Target hooks
  //===--------------------------------------------------------------------===//

  /// A buffer of |shape| at byte |offset| of the arena, NHWC or row-major.
  virtual Storage arenaAt(int64_t offset, llvm::ArrayRef<int64_t> shape,
                          bool nhwc, ElementType type) = 0;
  /// Where the plan sends a non-4-D model output of |shape| (no arena slot).
  virtual Storage directOutput(llvm::ArrayRef<int64_t> shape,
                               ElementType type) = 0;
  /// The storage of |v| as a kernel reads it (the CUDA target converts the
  /// fp32 model input to the activation type).
  virtual Storage activation(const Storage &s) { return s; }
  /// Prints a loop over |out| storing |expr| of the loaded "in<i>".
  virtual void emitElementwise(const Storage &out, llvm::ArrayRef<Storage> ins,
                               std::string expr) = 0;
  /// Sums |in| over |dims| into |out| times |scale| (a general mean).
  virtual void emitReduce(const Storage &out, const Storage &in,
                          llvm::ArrayRef<int64_t> dims, bool keepdim,
                          double scale) = 0;
  /// |floats| floats of prepared weights, in the target's size units.
  virtual std::string floatsSize(int64_t floats) const = 0;
  /// The prepared item at |dst| as a (const) float pointer.
  virtual std::string asFloats(llvm::StringRef dst, bool isConst) const = 0;
  /// Whether a mean over H and W of |x| runs as adaptive pooling.
  virtual bool poolsMean(const Storage &x) const { return true; }

  virtual mlir::LogicalResult emitConv(Conv2dOp op) = 0;
  virtual mlir::LogicalResult emitLinear(LinearOp op) = 0;
  virtual mlir::LogicalResult emitSeGate(SqueezeExciteGateOp op) = 0;
  /// kiln.max_pool2d and kiln.avg_pool2d.
  virtual mlir::LogicalResult emitPool(mlir::Operation *op) = 0;
  virtual mlir::LogicalResult emitAdaptivePool(mlir::Operation *op,
                                               mlir::Value input, int64_t oh,
                                               int64_t ow) = 0;
  /// A layout conversion; by default an elementwise copy.
  virtual mlir::LogicalResult emitConvertLayout(ConvertLayoutOp op);

  //===--------------------------------------------------------------------===//
  // Storage
  //===--------------------------------------------------------------------===//

  static std::string ptr(const Storage &s) {
    return s.offset ? "(" + s.base + " + " + std::to_string(s.offset) + ")"
                    : s.base;
  }

  /// The storage of |op|'s result as the plan placed it.
  mlir::FailureOr<Storage> resultStorage(
      mlir::Operation *op, ElementType type = ElementType::Activation);

  /// The NHWC storage of |v| a kernel reads, and its pixel stride.
  mlir::FailureOr<std::pair<Storage, int64_t>> kernelInput(mlir::Operation *op,
                                                           mlir::Value v);

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

  mlir::func::FuncOp func;
  WeightCode weightCode;
  const ScalarTable &scalars;
  /// "CPU" or "CUDA", for diagnostics.
  llvm::StringRef targetName;
  /// What qualifies the kernels' descriptor types ("kiln::cpu::" or "").
  llvm::StringRef constantPrefix;

  llvm::DenseMap<mlir::Value, Storage> storage;
  /// Inputs of in-place concats: the concat and the input's index.
  ConcatSlots producedSlots;
  /// The code of the op being emitted, then of each op in order.
  std::string run;
  std::vector<std::string> steps;
  /// Kernel shape constants, deduplicated by their text.
  std::map<std::string, std::string> constantNames;
  std::vector<std::string> constants;
  std::vector<PreparedItem> prepared;
  int kernels = 0;

private:
  mlir::LogicalResult emitOp(mlir::Operation *op);
  mlir::LogicalResult emitBatchNorm(BatchNormOp op);
  mlir::LogicalResult emitMean(MeanOp op);
  mlir::LogicalResult emitConcat(ConcatOp op);
  mlir::LogicalResult emitChannelShuffle(ChannelShuffleOp op);
};

} // namespace kiln

#endif // KILN_COMPILER_TARGET_COMMON_EMITTERCORE_H
