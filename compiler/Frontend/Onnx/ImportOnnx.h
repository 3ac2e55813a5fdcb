//===- ImportOnnx.h - ONNX model to kiln IR --------------------*- C++ -*-===//
//
// Declares the entry point of the ONNX frontend. It produces the same kiln
// dialect as the YAML frontend (one op per PyTorch module call or function,
// `kiln.layer` on module calls, weights as `kiln.param`), so everything
// after import is shared. The initializers a layer uses become its weights,
// named as a state_dict names them: `<module path>.weight`, `.bias`,
// `.running_mean`, ... where the module path comes from the node's scope
// (PyTorch's exporter writes `/layer1/layer1.0/conv1/Conv`) or, without
// one, from the node's name. Their data is returned beside the module.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_ONNX_IMPORTONNX_H
#define KILN_COMPILER_FRONTEND_ONNX_IMPORTONNX_H

#include "compiler/Frontend/Yaml/ImportModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <vector>

namespace kiln {

/// The float32 data of every `kiln.param` an ONNX import created, by name.
using ImportedWeights = llvm::StringMap<std::vector<float>>;

/// Whether |path| names an ONNX file (by its extension, `.onnx`).
bool isOnnxPath(llvm::StringRef path);

/// Imports the ONNX model at |path| into a module holding one `func.func`,
/// and fills |weights| with its initializers. Errors are emitted through
/// |context| at locations `NameLoc("node 'N' (Op)", path:0:0)`, all of
/// them (every unsupported node is listed), and the result is null.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(llvm::StringRef path,
                                                 mlir::MLIRContext &context,
                                                 const ImportOptions &options,
                                                 ImportedWeights &weights);

/// The module path in PyTorch's scoped node name: `/layer1/layer1.0/conv1/Conv`
/// is a call in module `layer1.0.conv1` (a segment that extends the previous
/// one, `layer1` then `layer1.0`, replaces it). Empty for other names.
std::string modulePathOf(llvm::StringRef nodeName);

/// If |loc| is a location of the ONNX frontend (a NameLoc on a file at line
/// 0), its file and the node it names; used to print `model.onnx: node
/// 'Conv_17' (Conv): message`.
std::optional<std::pair<std::string, std::string>>
onnxLocation(mlir::Location loc);

} // namespace kiln

#endif // KILN_COMPILER_FRONTEND_ONNX_IMPORTONNX_H
