//===- fuzz_yaml.cpp - libFuzzer harness of the YAML frontend -------------===//
//
// Writes each input as a model file and imports it as `kiln report` and
// `kiln compile` do (parse, expressions, blocks, includes, shape
// inference), then verifies the module and runs --kiln-check-limits on it:
// every input either imports into a module that verifies or gets an error,
// never a crash, an abort, a hang or unbounded memory. Diagnostics are
// counted, not printed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImportModel.h"
#include "compiler/Graph/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

/// LLVM's BumpPtrAllocator poisons its slabs when compiled with ASan, as the
/// inline copies in this harness are, and Debian's uninstrumented libMLIR.so
/// then writes to them without unpoisoning: a false use-after-poison.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

namespace {

/// The model file each input is written to, in a private directory so
/// that relative includes find nothing but the file itself.
std::string modelPath() {
  static std::string path = [] {
    char dir[] = "/tmp/kiln-fuzz-yaml-XXXXXX";
    if (!mkdtemp(dir))
      std::abort();
    return std::string(dir) + "/model.yaml";
  }();
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = modelPath();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0)
    std::abort();

  // One context per input, so no input sees another's state; without its
  // thread pool, which would cost more than most imports.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  unsigned errors = 0;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::success();
  });
  llvm::SourceMgr sourceMgr;
  auto module = kiln::importModelFile(path, context, sourceMgr, {});
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
