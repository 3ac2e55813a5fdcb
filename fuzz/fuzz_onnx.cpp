//===- fuzz_onnx.cpp - libFuzzer harness of the ONNX frontend -------------===//
//
// Writes each input as an ONNX file and imports it as `kiln compile
// model.onnx` does (protobuf decoding, tensor data, external data paths,
// graph checks, constant folding, op conversion and shape inference), then
// verifies the module and runs --kiln-check-limits on it: every input either
// imports into a module that verifies or gets an error, never a crash, an
// abort, a hang or unbounded memory. Diagnostics are counted, not printed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/ImportOnnx.h"
#include "compiler/Graph/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

/// See fuzz_yaml.cpp: LLVM's allocator poisons slabs that Debian's
/// uninstrumented libMLIR.so writes.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

namespace {

/// The model file each input is written to, in a private directory: an
/// external data location can only name files there (the model itself).
std::string modelPath() {
  static std::string path = [] {
    char dir[] = "/tmp/kiln-fuzz-onnx-XXXXXX";
    if (!mkdtemp(dir))
      std::abort();
    return std::string(dir) + "/model.onnx";
  }();
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = modelPath();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0)
    std::abort();

  // One context for all inputs (creating one and loading the dialects
  // costs more than most inputs): modules are destroyed after each input;
  // only interned types and attributes accumulate.
  static mlir::MLIRContext context;
  context.printOpOnDiagnostic(false);
  unsigned errors = 0;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::success();
  });
  kiln::ImportedWeights weights;
  auto module = kiln::importOnnxFile(path, context, {}, weights);
  if (!module) {
    if (!errors)
      std::abort(); // a refused model must say why
    return 0;
  }
  if (errors)
    std::abort(); // an imported model has no errors
  if (mlir::failed(mlir::verify(*module)))
    std::abort(); // the importer built IR its own verifiers reject
  mlir::PassManager pm(&context);
  pm.nest<mlir::func::FuncOp>().addPass(kiln::createCheckLimitsPass());
  (void)pm.run(*module);
  return 0;
}
