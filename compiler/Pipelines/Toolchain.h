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
#include "kiln/cuda/arch.h"

#include "mlir/Support/LogicalResult.h"

#include <functional>
#include <string>
#include <vector>

namespace kiln {

/// How the CUDA code of an executable is built.
enum class CudaBuild {
  None,     ///< CPU only
  Nvcc,     ///< nvcc: the SASS and PTX images of cudaImages
  Emulated, ///< the host compiler against kiln's SIMT emulator (tests)
};

/// What `kiln compile --cpu NAME` builds for: the -march of the generated
/// code, the CPU kernel sets the executable holds (best first; it picks the
/// first its CPU runs at start-up), and, for another architecture, the
/// cross compiler.
struct CpuTarget {
  std::string name;
  std::string march;
  std::vector<std::string> kernelSets;
  /// Empty for the host; else e.g. "aarch64": the executable is built with
  /// KILN_<ARCH>_CXX against the runtime built for it, statically.
  std::string crossArch;
};

/// The CpuTarget of --cpu |name|: auto (default: every kernel set of the
/// host architecture, baseline code around them), native (this machine's
/// best set only), x86-64 / x86-64-v2 (portable), x86-64-v3 (avx2),
/// x86-64-v4 (avx512), aarch64 (cross-compiled, neon). Prints an error and
/// fails on anything else.
mlir::FailureOr<CpuTarget> cpuTarget(llvm::StringRef name);

/// What `kiln compile` writes.
enum class Artifact {
  Executable,    ///< a standalone program (the runtime's main())
  SharedLibrary, ///< --emit=lib -o libNAME.so: kiln.h's functions exported
  StaticLibrary, ///< --emit=lib -o libNAME.a: one object, kiln.h's
                 ///< functions its only global symbols
};

/// The functions of runtime/include/kiln.h, which a library exports (and
/// nothing else); test/Lib checks the list against the header.
extern const char *const kLibraryFunctions[];

struct BuildOptions {
  /// The executable or library to write.
  std::string output;
  Artifact artifact = Artifact::Executable;
  /// Build with ThreadSanitizer against the instrumented runtime
  /// (lib/tsan; kiln compile --sanitize=thread, for the library's tests).
  bool threadSanitizer = false;
  /// The CPU the executable is for.
  CpuTarget cpu;
  /// The directory for generated files (it exists).
  std::string workDir;
  /// A safetensors file to embed in the executable, or empty.
  std::string weightsBlob;
  bool verbose = false;
  CudaBuild cuda = CudaBuild::None;
  /// The CUDA translation unit (CudaEmitter), when cuda != None.
  std::string cudaUnit;
  /// The device code nvcc embeds (parseCudaArchs).
  std::vector<cuda::CodeImage> cudaImages;
};

/// The device code of `kiln compile --cuda-arch |names|`: SASS for each
/// sm_NN[a] (or NN[a]) and PTX for each compute_NN[a]; without a
/// compute_ entry, PTX for the newest SASS too (later GPUs compile it when
/// the program starts). sm_90 is sm_90a: Hopper gets its own kernels. No
/// names: the default, sm_80 (every GPU from the A100, by SASS
/// compatibility), sm_90a (H100, H200) and compute_80 (later GPUs). Fails
/// with |error| on a name nvcc or kiln's kernels do not take.
mlir::LogicalResult parseCudaArchs(llvm::ArrayRef<std::string> names,
                                   std::vector<cuda::CodeImage> &images,
                                   std::string &error);

/// |images| as nvcc names them, separated by |sep|: "sm_80 sm_90a compute_80".
std::string cudaImageNames(llvm::ArrayRef<cuda::CodeImage> images,
                           llvm::StringRef sep = " ");

/// The virtual architectures nvcc compiles for |images| ("80", "90a"),
/// each once, oldest first: the PTX --emit=ptx prints.
std::vector<std::string> cudaVirtualArchs(llvm::ArrayRef<cuda::CodeImage> images);

/// Whether this kiln found nvcc when it was built.
bool haveNvcc();

/// Compiles |cudaUnit| to PTX for compute_|arch| with nvcc into |ptx|.
mlir::LogicalResult compilePtx(const std::string &cudaUnit, const std::string &arch,
                               const std::string &workDir, bool verbose,
                               std::string &ptx);

/// What a build reports as it goes (kiln compile's progress): the stage
/// that runs now ("host compiler: 2 of 5 units"). May be empty.
using BuildProgress = std::function<void(const std::string &stage)>;

/// What a finished build says for its summary line.
struct BuildSummary {
  int units = 0;            ///< host compiler units
  double compileSeconds = 0, nvccSeconds = 0, linkSeconds = 0;
  /// How to link a static library into a program ("-lstdc++ ...").
  std::string linkFlags;
};

/// Compiles and links |source|. On failure prints the error, with the
/// command that reproduces it, and returns failure; no partial executable
/// or library is left behind.
mlir::LogicalResult buildExecutable(const CpuSource &source,
                                    const BuildOptions &options,
                                    const BuildProgress &progress = {},
                                    BuildSummary *summary = nullptr);

/// Stops the compiler and linker processes a build is running (SIGTERM,
/// then waits for them). Async-signal-safe: for a handler of SIGINT/SIGTERM.
void stopJobs();

/// A new temporary directory for generated files, or an error.
mlir::LogicalResult makeTempDir(std::string &dir);

} // namespace kiln

#endif // KILN_COMPILER_PIPELINES_TOOLCHAIN_H
