//===- ImportHarness.h - what the frontend harnesses share -------*- C++ -*-===//
//
// fuzz_yaml and fuzz_onnx write each input as a model file in a private
// directory and import it; every input must either import into a module
// that verifies (and passes --kiln-check-limits) or be refused with an
// error, never crash, abort, hang or take unbounded memory. An abort here
// is a finding, which libFuzzer reports with the input. Included by one
// translation unit per harness executable.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FUZZ_IMPORTHARNESS_H
#define KILN_FUZZ_IMPORTHARNESS_H

#include "compiler/Graph/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

/// LLVM's BumpPtrAllocator poisons its slabs when compiled with ASan, as the
/// inline copies in the harnesses are, and Debian's uninstrumented
/// libMLIR.so then writes to them without unpoisoning: a false
/// use-after-poison.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

namespace kiln::fuzz {

/// Writes |data| to |fileName| in a private directory made once from
/// |dirTemplate| (mkdtemp's XXXXXX), so that relative includes and external
/// data locations find nothing but the file itself; returns its path.
inline std::string writeInput(const char *dirTemplate, const char *fileName,
                              const uint8_t *data, size_t size) {
  static const std::string dir = [&] {
    std::string d = dirTemplate;
    if (!mkdtemp(d.data()))
      std::abort();
    return d;
  }();
  std::string path = dir + "/" + fileName;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0)
    std::abort();
  return path;
}

/// Runs |import|(), which returns an OwningOpRef<ModuleOp> or null, with
/// errors counted rather than printed, and checks the contract above.
template <typename Import>
void checkImport(mlir::MLIRContext &context, Import &&import) {
  context.printOpOnDiagnostic(false);
  unsigned errors = 0;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module = import();
  if (!module) {
    if (!errors)
      std::abort(); // a refused model must say why
    return;
  }
  if (errors)
    std::abort(); // an imported model has no errors
  if (mlir::failed(mlir::verify(*module)))
    std::abort(); // the importer built IR its own verifiers reject
  mlir::PassManager pm(&context);
  pm.nest<mlir::func::FuncOp>().addPass(kiln::createCheckLimitsPass());
  (void)pm.run(*module);
}

} // namespace kiln::fuzz

#endif // KILN_FUZZ_IMPORTHARNESS_H
