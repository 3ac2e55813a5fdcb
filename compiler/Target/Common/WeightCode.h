//===- WeightCode.h - weight transforms in generated prepare steps -*- C++ -*-===//
//
// Declares WeightCode, shared by the CPU and CUDA emitters: it names the
// raw weights a kernel needs as C++ expressions of a generated prepare step
// (`p[i]`, PyTorch layout, fp32), writing the code of the weight transforms
// on the way (batch-norm folding, in double), each once.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_COMMON_WEIGHTCODE_H
#define KILN_COMPILER_TARGET_COMMON_WEIGHTCODE_H

#include "compiler/Weights/ParamSpecs.h"

#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace kiln {

/// A prepared-weight item: |size| (a C++ expression, in the target's
/// units) and the prepare step's |code| that fills it. |pack| names the
/// kernel packing it does, if any, so that the CPU target can place the
/// packing code in its kernel's translation unit.
struct PreparedItem {
  struct Pack {
    std::string kind, shape, data;
  };
  std::string size, code;
  std::optional<Pack> pack;
};

class WeightCode {
public:
  explicit WeightCode(const ModelParams &params) : params(params) {}

  /// The `const float *` expression of the weight value |v| (a param or a
  /// batch-norm fold of params); an error at |user| if |v| is not a weight.
  mlir::FailureOr<std::string> data(mlir::Operation *user, mlir::Value v);

  /// Code that computes the transformed weights, to run before any use.
  const std::string &transforms() const { return code; }

private:
  const ModelParams &params;
  llvm::DenseMap<mlir::Value, std::string> exprs;
  std::string code;
};

/// An exact C++ float literal (hexadecimal, so no digits are lost).
std::string floatLiteral(double v);

/// Prints the offsets of prepared items laid out one after another:
/// "constexpr size_t kP<i> = ...;" for each item, each start rounded up by
/// the constexpr function |align|, then |total|, the end of the last.
void printPreparedOffsets(llvm::raw_ostream &os,
                          llvm::ArrayRef<PreparedItem> items,
                          llvm::StringRef align, llvm::StringRef total);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_COMMON_WEIGHTCODE_H
