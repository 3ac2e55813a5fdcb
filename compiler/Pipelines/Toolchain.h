//===- Toolchain.h - compiling and linking generated code ------*- C++ -*-===//
//
// Declares the last stage of `kiln compile`: writing the generated sources,
// compiling them with the host C++ compiler and linking them with the
// runtime and the weights into one standalone executable.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PIPELINES_TOOLCHAIN_H
#define KILN_COMPILER_PIPELINES_TOOLCHAIN_H

#include "compiler/Target/Cpu/CpuEmitter.h"

#include "mlir/Support/LogicalResult.h"

#include <string>

namespace kiln {

struct BuildOptions {
  /// The executable to write.
  std::string output;
  /// The -march= of the generated code ("native": the build machine's).
  std::string cpu = "native";
  /// The directory for generated files (it exists).
  std::string workDir;
  /// A safetensors file to embed in the executable, or empty.
  std::string weightsBlob;
  bool verbose = false;
};

/// Compiles and links |source|. On failure prints the error, with the
/// command that reproduces it, and returns failure; no partial executable
/// is left behind.
mlir::LogicalResult buildExecutable(const CpuSource &source,
                                    const BuildOptions &options);

/// A new temporary directory for generated files, or an error.
mlir::LogicalResult makeTempDir(std::string &dir);

} // namespace kiln

#endif // KILN_COMPILER_PIPELINES_TOOLCHAIN_H
