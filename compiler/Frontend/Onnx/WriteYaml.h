//===- WriteYaml.h - an imported model as a kiln model spec ----*- C++ -*-===//
//
// Declares `kiln import`'s writer: the kiln IR of an imported ONNX model,
// written back as a model spec in the style of models/ (nested layer groups
// named after the PyTorch modules, repeated structures as blocks called with
// `repeat`), with its weights renamed to the spec's state_dict names.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_ONNX_WRITEYAML_H
#define KILN_COMPILER_FRONTEND_ONNX_WRITEYAML_H

#include "compiler/Frontend/Onnx/ImportOnnx.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace kiln {

struct ModelSpecText {
  std::string yaml;
  /// The weights under the spec's names, in the order the spec uses them.
  std::vector<std::pair<std::string, const std::vector<float> *>> tensors;
  std::vector<std::vector<int64_t>> shapes;
};

/// Writes |func| (as imported, before any pass) as a model spec; |header|
/// is a comment put first. Emits an error on |func| and fails if a value
/// flows where the format cannot name it.
mlir::LogicalResult writeModelSpec(mlir::func::FuncOp func,
                                   const ImportedWeights &weights,
                                   llvm::StringRef header, ModelSpecText &out);

} // namespace kiln

#endif // KILN_COMPILER_FRONTEND_ONNX_WRITEYAML_H
