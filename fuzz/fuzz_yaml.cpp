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

#include "ImportHarness.h"

#include "compiler/Frontend/Yaml/ImportModel.h"

#include "llvm/Support/SourceMgr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::writeInput("/tmp/kiln-fuzz-yaml-XXXXXX",
                                            "model.yaml", data, size);
  // One context per input, so no input sees another's state; without its
  // thread pool, which would cost more than most imports.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  llvm::SourceMgr sourceMgr;
  kiln::fuzz::checkImport(context, [&] {
    return kiln::importModelFile(path, context, sourceMgr, {});
  });
  return 0;
}
