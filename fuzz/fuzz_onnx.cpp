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

#include "ImportHarness.h"

#include "compiler/Frontend/Onnx/ImportOnnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // An external data location can only name files in the input's private
  // directory (the model itself).
  std::string path = kiln::fuzz::writeInput("/tmp/kiln-fuzz-onnx-XXXXXX",
                                            "model.onnx", data, size);
  // One context for all inputs (creating one and loading the dialects
  // costs more than most inputs): modules are destroyed after each input;
  // only interned types and attributes accumulate.
  static mlir::MLIRContext context;
  kiln::ImportedWeights weights;
  kiln::fuzz::checkImport(context, [&] {
    return kiln::importOnnxFile(path, context, {}, weights);
  });
  return 0;
}
