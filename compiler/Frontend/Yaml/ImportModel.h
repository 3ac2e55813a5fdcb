//===- ImportModel.h - model spec (YAML) to kiln IR ------------*- C++ -*-===//
//
// Declares the entry point of the YAML frontend.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_YAML_IMPORTMODEL_H
#define KILN_COMPILER_FRONTEND_YAML_IMPORTMODEL_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"

#include <vector>

namespace kiln {

struct ImportOptions {
  /// Replaces the batch dimension of the model input when positive.
  int64_t batch = 0;
  /// Replaces the whole input shape when not empty (then |batch| applies
  /// to it).
  std::vector<int64_t> inputShape;
};

/// Imports the model spec at |path| into a module holding one `func.func`
/// named after the model. The file's buffer is added to |sourceMgr| so that
/// diagnostics can quote it. On error, one diagnostic (with notes) has been
/// emitted through |context| and the result is null.
mlir::OwningOpRef<mlir::ModuleOp> importModelFile(llvm::StringRef path,
                                                  mlir::MLIRContext &context,
                                                  llvm::SourceMgr &sourceMgr,
                                                  const ImportOptions &options);

/// Registers the dialects the imported IR uses.
void registerFrontendDialects(mlir::MLIRContext &context);

} // namespace kiln

#endif // KILN_COMPILER_FRONTEND_YAML_IMPORTMODEL_H
