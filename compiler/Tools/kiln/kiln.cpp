//===- kiln.cpp - the kiln driver ------------------------------------------===//
//
// This file implements the `kiln` command (DESIGN.md §1.1):
//   kiln compile  MODEL.yaml -o EXE      YAML → IR → C++ → executable
//   kiln report   MODEL.yaml             torchsummaryX-style report
//   kiln run      MODEL.yaml --input x   the reference interpreter
// Diagnostics about the model go through MLIR's source manager handler, so
// they name file:line:col and quote the YAML; other errors are one line.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/ImportOnnx.h"
#include "compiler/Frontend/Onnx/WriteYaml.h"
#include "compiler/Frontend/Yaml/ImportModel.h"
#include "compiler/Interpreter/Interpreter.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Pipelines/Toolchain.h"
#include "compiler/Report/Report.h"
#include "compiler/Target/Cpu/CpuEmitter.h"
#include "compiler/Target/Cuda/CudaEmitter.h"
#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kiln/IR/KilnDialect.h"
#include "kiln/progress.h"
#include "kiln/tensor_io.h"
#include "kiln/weights.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace {

cl::SubCommand compileCmd("compile", "Compile a model into an executable");
cl::SubCommand reportCmd("report",
                         "Print each layer's shapes, parameters and "
                         "Mult-Adds (torchsummaryX conventions)");
cl::SubCommand runCmd("run", "Run a model with the reference interpreter");
cl::SubCommand importCmd("import",
                         "Write an ONNX model as a model spec (YAML) and its "
                         "weights (safetensors)");

cl::OptionCategory category("kiln options");

cl::opt<std::string> modelPath(cl::Positional,
                               cl::desc("MODEL.yaml or MODEL.onnx"),
                               cl::Required, cl::sub(compileCmd),
                               cl::sub(reportCmd), cl::sub(runCmd),
                               cl::sub(importCmd),
                               cl::cat(category));
cl::opt<int64_t> batch("batch",
                       cl::desc("Batch size (replaces the model input's "
                                "first dimension)"),
                       cl::init(0), cl::sub(compileCmd), cl::sub(reportCmd),
                       cl::sub(runCmd), cl::sub(importCmd), cl::cat(category));
cl::list<int64_t> inputShape(
    "input-shape",
    cl::desc("The model input's whole shape, e.g. 1,3,64,64 (replaces the "
             "YAML's)"),
    cl::CommaSeparated, cl::sub(compileCmd), cl::sub(reportCmd),
    cl::sub(runCmd), cl::sub(importCmd), cl::cat(category));

// Weights, for compile and run.
cl::opt<std::string> weightsPath(
    "weights",
    cl::desc("Weights (safetensors, PyTorch state_dict names; F32, F16 and "
             "BF16 load exactly, F64 is rounded to float32, "
             "num_batches_tracked is ignored); default: seeded"),
    cl::value_desc("W.safetensors"), cl::sub(compileCmd), cl::sub(runCmd),
    cl::cat(category));
cl::opt<bool> strict("strict",
                     cl::desc("Weights must match the model exactly (default)"),
                     cl::sub(compileCmd), cl::sub(runCmd), cl::cat(category));
cl::opt<bool> noStrict("no-strict",
                       cl::desc("Load the weights that match by name and "
                                "shape, seed the rest"),
                       cl::sub(compileCmd), cl::sub(runCmd), cl::cat(category));

// kiln compile
enum class Emit { Exe, Lib, Mlir, Fused, Planned, Kernels, Source, Ptx };
cl::opt<Emit> emit(
    "emit",
    cl::desc("Build a library instead of an executable, or stop after a "
             "stage and print it"),
    cl::init(Emit::Exe),
    cl::values(clEnumValN(Emit::Lib, "lib",
                          "a library with the C interface of kiln.h "
                          "(-o libNAME.so or libNAME.a)"),
               clEnumValN(Emit::Mlir, "mlir", "the IR imported from the YAML"),
               clEnumValN(Emit::Fused, "fused",
                          "the IR after folding and fusion (one op per kernel)"),
               clEnumValN(Emit::Planned, "planned",
                          "the IR with layouts and the memory plan"),
               clEnumValN(Emit::Kernels, "kernels",
                          "the kernels of each target (kernel dialect)"),
               clEnumValN(Emit::Source, "source",
                          "the generated C++ (and CUDA C++)"),
               clEnumValN(Emit::Ptx, "ptx",
                          "the PTX of the CUDA kernels (each architecture's)")),
    cl::sub(compileCmd), cl::cat(category));
cl::opt<bool> fixedBatch(
    "fixed-batch",
    cl::desc("Kernels always run the compiled batch (a smaller batch is "
             "padded); default: they take the batch at run time when the "
             "model allows it"),
    cl::sub(compileCmd), cl::cat(category));
cl::opt<bool> noFusion("no-fusion",
                       cl::desc("Skip the fusion passes (one kernel per "
                                "graph op; for comparison)"),
                       cl::sub(compileCmd), cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                cl::value_desc("path"), cl::sub(compileCmd),
                                cl::sub(importCmd), cl::cat(category));
cl::opt<std::string> weightsOut(
    "weights-out",
    cl::desc("Write the model's weights here, named as the spec's state_dict"),
    cl::value_desc("W.safetensors"), cl::sub(importCmd), cl::cat(category));
enum class Target { Default, Cpu, Cuda, All, Emulated, AllEmulated };
cl::opt<Target> target(
    "target",
    cl::desc("Code to generate (default: all when this kiln has nvcc, else "
             "cpu)"),
    cl::init(Target::Default),
    cl::values(clEnumValN(Target::Cpu, "cpu", "the host CPU"),
               clEnumValN(Target::Cuda, "cuda", "NVIDIA GPUs (sm_80 and newer)"),
               clEnumValN(Target::All, "all",
                          "CPU and CUDA in one executable (--device picks)"),
               clEnumValN(Target::Emulated, "cuda-emulated",
                          "the CUDA code, run on the CPU by kiln's SIMT "
                          "emulator (for testing; slow)"),
               clEnumValN(Target::AllEmulated, "all-emulated",
                          "CPU code and emulated CUDA code (for testing)")),
    cl::sub(compileCmd), cl::cat(category));
enum class Precision { Fp32, Tf32, Fp16, Bf16 };
cl::opt<Precision> precision(
    "precision", cl::desc("Arithmetic of the CUDA kernels"),
    cl::init(Precision::Fp32),
    cl::values(clEnumValN(Precision::Fp32, "fp32", "fp32 on the FMA units"),
               clEnumValN(Precision::Tf32, "tf32",
                          "tensor cores, operands rounded to tf32"),
               clEnumValN(Precision::Fp16, "fp16",
                          "fp16 activations and weights, fp32 sums"),
               clEnumValN(Precision::Bf16, "bf16",
                          "bf16 activations and weights, fp32 sums")),
    cl::sub(compileCmd), cl::cat(category));
cl::list<std::string> cudaArchs(
    "cuda-arch",
    cl::desc("GPU code to embed: SASS for sm_NN (or NN), PTX for compute_NN "
             "(else for the newest sm_NN). Default sm_80,sm_90a,compute_80: the "
             "mma.sync kernels for every GPU from the A100 and Hopper's own "
             "(TMA, mbarrier pipelines, wgmma) for the H100/H200, chosen at "
             "start-up. sm_90 means sm_90a"),
    cl::CommaSeparated, cl::sub(compileCmd), cl::cat(category));
cl::opt<int> smCount("sm-count",
                     cl::desc("SMs of the target GPU, for the tile "
                              "schedules (default 132: H100 SXM)"),
                     cl::init(132), cl::sub(compileCmd), cl::cat(category));
cl::opt<std::string> cpu(
    "cpu",
    cl::desc("CPU the executable is for: auto (default: the kernels for "
             "every x86-64 level, AVX-512, AVX2 and a portable baseline, "
             "picked at start-up), native (this machine's best only), "
             "x86-64, x86-64-v2, x86-64-v3, x86-64-v4 (one level), aarch64 "
             "(cross-compiled, static)"),
    cl::init("auto"), cl::sub(compileCmd), cl::cat(category));
cl::opt<std::string> winograd(
    "winograd",
    cl::desc("Which dense 3x3 stride-1 layers the CPU runs as Winograd: auto "
             "(default: F(2x2,3x3) or F(4x4,3x3) where it pays), 2 or 4 "
             "(that tile on every such layer), none"),
    cl::init("auto"), cl::sub(compileCmd), cl::cat(category));
cl::opt<bool> noConvChains(
    "no-conv-chains",
    cl::desc("Run MobileNetV2's expand / depthwise / project layers as three "
             "CPU kernels, not one (for comparison)"),
    cl::sub(compileCmd), cl::cat(category));
cl::opt<unsigned> jobs("jobs",
                      cl::desc("Compile the CPU kernels as at most N parallel "
                               "units (default: this machine's cores)"),
                      cl::value_desc("N"), cl::init(0), cl::sub(compileCmd),
                      cl::cat(category));
cl::opt<std::string> keepTemps("keep-temps",
                               cl::desc("Keep the generated files in DIR"),
                               cl::value_desc("DIR"), cl::sub(compileCmd),
                               cl::cat(category));
cl::opt<bool> verbose("v", cl::desc("Print the commands that are run"),
                      cl::sub(compileCmd), cl::cat(category));
cl::opt<bool> quiet("quiet",
                    cl::desc("No progress and no summary line (errors and "
                             "warnings only)"),
                    cl::sub(compileCmd), cl::cat(category));
cl::opt<std::string> sanitize(
    "sanitize",
    cl::desc("Build with a sanitizer against an instrumented runtime "
             "(thread: ThreadSanitizer; for kiln's own tests)"),
    cl::Hidden, cl::sub(compileCmd), cl::cat(category));

// kiln report
enum class Format { Table, Json, Csv, Dot };
cl::opt<Format> format(
    "format", cl::desc("Report format"), cl::init(Format::Table),
    cl::values(clEnumValN(Format::Table, "table", "aligned text table"),
               clEnumValN(Format::Json, "json", "one JSON object"),
               clEnumValN(Format::Csv, "csv", "comma-separated values"),
               clEnumValN(Format::Dot, "dot", "Graphviz dataflow graph")),
    cl::sub(reportCmd), cl::cat(category));

cl::opt<bool> afterFusion(
    "after-fusion",
    cl::desc("Report the generated kernels: fused layers, FLOPs, bytes, "
             "arithmetic intensity, roofline time; the arena and its bound"),
    cl::sub(reportCmd), cl::cat(category));

// kiln run
cl::opt<std::string> runInput("input", cl::desc("float32 .npy input"),
                              cl::value_desc("x.npy"), cl::sub(runCmd),
                              cl::cat(category));
cl::opt<std::string> runOutput("output", cl::desc("Write the output here"),
                               cl::value_desc("y.npy"), cl::sub(runCmd),
                               cl::cat(category));
cl::opt<bool> runFused("fused",
                       cl::desc("Interpret the IR after the fusion passes "
                                "(to check them) instead of as imported"),
                       cl::sub(runCmd), cl::cat(category));

int fail(const Twine &message) {
  errs() << "kiln: error: " << message << "\n";
  return 1;
}

/// What an interrupted compile leaves behind: the temporary directory and
/// the link's partial output. Fixed buffers: the signal handler reads them.
char interruptedWorkDir[4096], interruptedPartial[4096];

int removeEntry(const char *path, const struct stat *, int, struct FTW *) {
  ::remove(path);
  return 0;
}

/// SIGINT, SIGTERM, SIGHUP: remove what removeOnSignal named, then die of
/// the signal as if unhandled (the shell sees 128 + signal).
void onInterrupt(int sig) {
  kiln::stopJobs(); // they write into the directory (and g++ into $TMPDIR)
  if (interruptedWorkDir[0])
    ::nftw(interruptedWorkDir, removeEntry, 16, FTW_DEPTH | FTW_PHYS);
  if (interruptedPartial[0])
    ::unlink(interruptedPartial);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

/// Removes |dir| (recursively) and |file| if kiln is interrupted.
void removeOnSignal(const std::string &dir, const std::string &file) {
  if (dir.size() >= sizeof interruptedWorkDir ||
      file.size() >= sizeof interruptedPartial)
    return;
  std::memcpy(interruptedPartial, file.c_str(), file.size() + 1);
  std::memcpy(interruptedWorkDir, dir.c_str(), dir.size() + 1);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction action = {};
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
}

/// Checks, before anything is compiled, that an executable can be written
/// at |path|: its directory exists and is writable, and what is there (if
/// anything) is a regular file. A symbolic link to one is followed, so that
/// the link stays a link: |resolved| is the file to replace.
bool checkExecutablePath(const std::string &path, std::string &resolved,
                         std::string &why) {
  namespace fs = sys::fs;
  resolved = path;
  fs::file_status status;
  if (!fs::status(path, status, /*follow=*/false) &&
      status.type() == fs::file_type::symlink_file) {
    SmallString<256> real;
    if (fs::real_path(path, real)) {
      why = "it is a symbolic link to a missing file";
      return false;
    }
    resolved = real.str().str();
  }
  if (!fs::status(resolved, status) &&
      status.type() != fs::file_type::regular_file) {
    why = status.type() == fs::file_type::directory_file
              ? "it is a directory"
              : "it is not a regular file (an executable replaces only one)";
    return false;
  }
  StringRef dir = sys::path::parent_path(resolved);
  if (dir.empty())
    dir = ".";
  if (!fs::is_directory(dir)) {
    why = "the directory '" + dir.str() + "' does not exist";
    return false;
  }
  if (fs::access(dir, fs::AccessMode::Write)) {
    why = "the directory '" + dir.str() + "' is not writable";
    return false;
  }
  return true;
}

/// The weights of an ONNX model (its initializers), by param name; empty
/// for YAML models.
kiln::ImportedWeights importedWeights;

/// Imports the model named on the command line (YAML, or ONNX by its
/// extension); null after an error.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              SourceMgr &sourceMgr) {
  if (batch.getNumOccurrences() && batch < 1) {
    fail("--batch must be positive, got " + Twine(batch));
    return nullptr;
  }
  kiln::ImportOptions options;
  options.batch = batch;
  for (int64_t d : inputShape) {
    if (d < 1) {
      fail("--input-shape dimensions must be positive");
      return nullptr;
    }
    options.inputShape.push_back(d);
  }
  if (kiln::isOnnxPath(modelPath))
    return kiln::importOnnxFile(modelPath, context, options, importedWeights);
  return kiln::importModelFile(modelPath, context, sourceMgr, options);
}

/// Whether the model brings its own weights (an ONNX model's initializers).
bool hasImportedWeights() { return kiln::isOnnxPath(modelPath); }

/// Fills |weights| with the imported model's own weights.
void fillImportedWeights(kiln::rt::WeightSet &weights) {
  for (int i = 0; i < weights.size(); ++i) {
    auto it = importedWeights.find(weights.spec(i).name);
    if (it != importedWeights.end() &&
        int64_t(it->second.size()) == weights.spec(i).numel())
      std::copy(it->second.begin(), it->second.end(), weights.data(i));
  }
}

/// Loads --weights into |weights| under the --strict / --no-strict rules.
bool loadWeights(kiln::rt::WeightSet &weights) {
  if (weightsPath.empty())
    return true;
  if (strict && noStrict) {
    fail("give --strict or --no-strict, not both");
    return false;
  }
  std::vector<uint8_t> bytes;
  std::string error;
  if (!kiln::rt::readFile(weightsPath, bytes, error, weights.fileLimit(),
                          "a weights file of this model")) {
    fail(error);
    return false;
  }
  auto file =
      kiln::rt::SafeTensors::parse(bytes.data(), bytes.size(), weightsPath, error);
  if (!file) {
    fail(error);
    return false;
  }
  kiln::rt::LoadReport report;
  if (!weights.load(*file, !noStrict, report, error)) {
    fail(weightsPath + ": " + error);
    return false;
  }
  if (noStrict) {
    errs() << "kiln: loaded " << report.loaded << " of " << weights.size()
           << " tensors from " << weightsPath << "\n";
    for (const std::string &n : report.missing)
      errs() << "  missing (seeded): " << n << "\n";
    for (const std::string &n : report.unexpected)
      errs() << "  unexpected (ignored): " << n << "\n";
    for (const std::string &n : report.mismatched)
      errs() << "  mismatch (seeded): " << n << "\n";
  }
  return true;
}

const char *precisionName() {
  switch (precision) {
  case Precision::Fp32:
    return "fp32";
  case Precision::Tf32:
    return "tf32";
  case Precision::Fp16:
    return "fp16";
  case Precision::Bf16:
    return "bf16";
  }
  return "fp32";
}

int runCompile(mlir::MLIRContext &context, SourceMgr &sourceMgr) {
  Target t = target;
  if (t == Target::Default)
    t = kiln::haveNvcc() ? Target::All : Target::Cpu;
  bool cuda = t != Target::Cpu,
       cpuCode = t == Target::Cpu || t == Target::All || t == Target::AllEmulated;
  if (emit == Emit::Ptx && !cuda)
    return fail("--emit=ptx needs --target cuda or all");
  if (!cuda && (precision.getNumOccurrences() || cudaArchs.getNumOccurrences() ||
                smCount.getNumOccurrences()))
    errs() << "kiln: warning: --precision, --cuda-arch and --sm-count apply to "
              "CUDA code; --target cpu builds fp32 CPU code only\n";
  if ((t == Target::Cuda || t == Target::All) && !kiln::haveNvcc() &&
      emit != Emit::Source && emit != Emit::Mlir && emit != Emit::Fused &&
      emit != Emit::Planned && emit != Emit::Kernels)
    return fail("--target " + std::string(t == Target::All ? "all" : "cuda") +
                " needs nvcc, and this kiln was built without a CUDA toolkit "
                "(use --target cpu)");
  // The device code: SASS and PTX images, as nvcc names them.
  std::vector<kiln::cuda::CodeImage> images;
  if (std::string error; failed(kiln::parseCudaArchs(cudaArchs, images, error)))
    return fail(error);
  if (smCount < 1)
    return fail("--sm-count must be positive");
  if (winograd != "auto" && winograd != "2" && winograd != "4" &&
      winograd != "none")
    return fail("--winograd '" + winograd + "': expected auto, 2, 4 or none");
  if (sanitize.getNumOccurrences() && sanitize != "thread")
    return fail("--sanitize: only 'thread' (ThreadSanitizer) is supported");
  kiln::Artifact artifact = kiln::Artifact::Executable;
  if (emit == Emit::Lib) {
    StringRef ext = sys::path::extension(outputPath);
    if (outputPath.empty() || (ext != ".so" && ext != ".a"))
      return fail("--emit=lib writes a shared (-o libNAME.so) or static "
                  "(-o libNAME.a) library; name it so");
    artifact = ext == ".so" ? kiln::Artifact::SharedLibrary
                            : kiln::Artifact::StaticLibrary;
  }

  // Progress while an executable or library is built: stages on a terminal,
  // then one summary line (none with --quiet).
  bool building = emit == Emit::Exe || emit == Emit::Lib;
  kiln::rt::Progress progress(
      kiln::rt::Progress::choose(quiet || !building),
      ("kiln: " + sys::path::filename(modelPath)).str());
  // Diagnostics print below a cleared progress line.
  mlir::DiagnosticEngine::HandlerID clearLine =
      context.getDiagEngine().registerHandler([&](mlir::Diagnostic &) {
        progress.done();
        return mlir::failure(); // the next handler prints it
      });
  auto unregister = make_scope_exit(
      [&] { context.getDiagEngine().eraseHandler(clearLine); });
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  Clock::time_point started = Clock::now();
  progress.stage("importing the model");
  auto module = importModel(context, sourceMgr);
  if (!module)
    return 1;
  Clock::time_point imported = Clock::now();
  progress.stage("graph passes");
  // The state_dict as written, before passes transform the weights.
  mlir::func::FuncOp func = kiln::findModelFunc(*module);
  kiln::ModelParams params;
  if (!kiln::collectParams(func, params))
    return 1;
  kiln::PipelineOptions pipeline;
  pipeline.fuse = !noFusion;
  pipeline.runtimeBatch = !fixedBatch;
  if (cuda) {
    pipeline.cudaPrecision = precisionName();
    pipeline.smCount = smCount;
    // The variants: sm_90a where the executable holds sm_90a code, and the
    // one of every other GPU where it holds any other.
    pipeline.sm90a = llvm::any_of(images, [](auto &i) { return i.specific; });
    pipeline.generic = llvm::any_of(images, [](auto &i) { return !i.specific; });
  }
  if (cpuCode) {
    pipeline.winograd = winograd;
    pipeline.convChains = pipeline.fuse && !noConvChains;
  }
  kiln::Phase last = emit == Emit::Mlir    ? kiln::Phase::Imported
                     : emit == Emit::Fused ? kiln::Phase::Fused
                                           : kiln::Phase::Planned;
  if (failed(kiln::runPipeline(*module, last, pipeline)))
    return 1;
  Clock::time_point passed = Clock::now();
  progress.stage("generating code");
  if (emit == Emit::Mlir || emit == Emit::Fused || emit == Emit::Planned) {
    std::string error;
    auto output = mlir::openOutputFile(outputPath.empty() ? std::string("-") : outputPath.getValue(), &error);
    if (!output)
      return fail(error);
    module->print(output->os());
    output->keep();
    return 0;
  }

  // The kernels of each target, lowered from copies of the planned graph.
  mlir::OwningOpRef<mlir::ModuleOp> cpuKernels, cudaKernels;
  if (cpuCode && !(cpuKernels = kiln::lowerForTarget(*module, kiln::KernelTarget::Cpu)))
    return 1;
  if (cuda && !(cudaKernels = kiln::lowerForTarget(*module, kiln::KernelTarget::Cuda)))
    return 1;
  if (emit == Emit::Kernels) {
    std::string error;
    auto output = mlir::openOutputFile(outputPath.empty() ? std::string("-") : outputPath.getValue(), &error);
    if (!output)
      return fail(error);
    // One module per target, split as mlir-opt's --split-input-file reads.
    if (cpuKernels)
      cpuKernels->print(output->os());
    if (cpuKernels && cudaKernels)
      output->os() << "\n// -----\n\n";
    if (cudaKernels)
      cudaKernels->print(output->os());
    output->keep();
    return 0;
  }

  auto cpuTarget = kiln::cpuTarget(cpu);
  if (failed(cpuTarget))
    return 1;
  kiln::CpuEmitOptions emitOptions;
  emitOptions.cpuKernels = cpuTarget->kernelSets;
  emitOptions.embeddedWeights = !weightsPath.empty() || hasImportedWeights();
  emitOptions.cpuCode = cpuCode;
  emitOptions.cudaModel = cuda;
  emitOptions.jobs = jobs;
  kiln::CpuSource source;
  // A CUDA-only executable's CPU unit describes the model from its kernels.
  mlir::ModuleOp described = cpuKernels ? *cpuKernels : *cudaKernels;
  if (failed(kiln::emitCpuSource(kiln::findModelFunc(described), params,
                                 emitOptions, source)))
    return 1;
  kiln::CudaSource cudaSource;
  if (cuda && failed(kiln::emitCudaSource(kiln::findModelFunc(*cudaKernels), params,
                                          cudaSource, kiln::cudaImageNames(images))))
    return 1;
  if (emit == Emit::Source || emit == Emit::Ptx) {
    std::string text;
    if (emit == Emit::Ptx) {
      std::string dir = keepTemps;
      if (dir.empty() && failed(kiln::makeTempDir(dir)))
        return 1;
      if (!keepTemps.empty())
        if (std::error_code ec = sys::fs::create_directories(dir))
          return fail("cannot create '" + dir + "': " + ec.message());
      auto cleanup = make_scope_exit([&] {
        if (keepTemps.empty())
          sys::fs::remove_directories(dir);
      });
      // One PTX module per virtual architecture the build compiles.
      for (const std::string &arch : kiln::cudaVirtualArchs(images)) {
        std::string ptx;
        if (failed(kiln::compilePtx(cudaSource.unit, arch, dir, verbose, ptx)))
          return 1;
        text += "//\n// kiln --emit=ptx: compute_" + arch + "\n//\n" + ptx;
      }
    } else {
      for (const std::string &unit : source.units)
        text += unit;
      if (cuda)
        text += "\n// ---- CUDA ----\n\n" + cudaSource.unit;
    }
    std::string error;
    auto output = mlir::openOutputFile(outputPath.empty() ? std::string("-") : outputPath.getValue(), &error);
    if (!output)
      return fail(error);
    output->os() << text;
    output->keep();
    return 0;
  }
  if (outputPath.empty())
    return fail("kiln compile needs -o EXE (or --emit=...)");
  std::string output;
  if (std::string why; !checkExecutablePath(outputPath, output, why)) {
    progress.done();
    return fail("cannot write '" + outputPath + "': " + why);
  }

  kiln::BuildOptions build;
  build.output = output;
  build.artifact = artifact;
  build.threadSanitizer = sanitize == "thread";
  build.cpu = *cpuTarget;
  build.verbose = verbose;
  build.workDir = keepTemps;
  build.cuda = !cuda                     ? kiln::CudaBuild::None
               : t == Target::Emulated || t == Target::AllEmulated
                   ? kiln::CudaBuild::Emulated
                                       : kiln::CudaBuild::Nvcc;
  build.cudaUnit = cudaSource.unit;
  build.cudaImages = images;
  if (build.workDir.empty()) {
    if (failed(kiln::makeTempDir(build.workDir)))
      return 1;
    removeOnSignal(build.workDir, output + ".partial");
  } else if (std::error_code ec = sys::fs::create_directories(build.workDir)) {
    return fail("cannot create '" + build.workDir + "': " + ec.message());
  }
  auto cleanup = make_scope_exit([&] {
    if (keepTemps.empty())
      sys::fs::remove_directories(build.workDir);
  });

  if (!weightsPath.empty() || hasImportedWeights()) {
    // Check the weights now and embed the complete set the model runs with
    // (an ONNX model's own, replaced by name by --weights).
    kiln::rt::WeightSet weights(params.specs.data(), int(params.specs.size()));
    fillImportedWeights(weights);
    if (!loadWeights(weights))
      return 1;
    SmallString<256> blob(build.workDir);
    sys::path::append(blob, "weights.safetensors");
    std::string error;
    if (!weights.dump(blob.str().str(), error))
      return fail(error);
    build.weightsBlob = blob.str().str();
  } else {
    progress.print(std::string("kiln: warning: no --weights: the ") +
                   (artifact == kiln::Artifact::Executable ? "executable"
                                                           : "library") +
                   " will run with seeded weights unless given weights");
  }
  Clock::time_point generated = Clock::now();
  kiln::BuildSummary summary;
  auto report = [&](const std::string &stage) {
    if (stage.empty())
      progress.done();
    else
      progress.stage(stage);
  };
  if (failed(kiln::buildExecutable(source, build, report, &summary))) {
    progress.done();
    return 1;
  }
  Clock::time_point built = Clock::now();
  progress.done();
  if (verbose)
    errs() << "kiln: " << (cuda ? cudaSource.kernels : source.kernels)
           << " kernels, arena "
           << (cuda ? cudaSource.arenaBytes : source.arenaBytes)
           << " bytes, built in " << seconds(generated, built) << " s\n";
  if (!quiet) {
    std::string targets = cpuCode ? "cpu" : "";
    if (cuda)
      targets += std::string(targets.empty() ? "" : "+") +
                 (build.cuda == kiln::CudaBuild::Emulated ? "cuda-emulated"
                                                          : "cuda") +
                 " " + precisionName();
    errs() << formatv("kiln: built {0} ({1}) in {2:F1} s: import {3:F1} s, "
                      "passes {4:F1} s, code {5:F1} s, host compiler {6:F1} s "
                      "({7} unit{8})",
                      outputPath, targets, seconds(started, built),
                      seconds(started, imported), seconds(imported, passed),
                      seconds(passed, generated), summary.compileSeconds,
                      summary.units, summary.units == 1 ? "" : "s");
    if (build.cuda == kiln::CudaBuild::Nvcc)
      errs() << formatv(", nvcc {0:F1} s", summary.nvccSeconds);
    errs() << formatv(", link {0:F1} s\n", summary.linkSeconds);
    if (artifact == kiln::Artifact::StaticLibrary)
      errs() << "kiln: link programs with " << outputPath << " "
             << summary.linkFlags << "\n";
  }
  return 0;
}

int runReport(mlir::MLIRContext &context, SourceMgr &sourceMgr) {
  auto module = importModel(context, sourceMgr);
  if (!module)
    return 1;
  if (afterFusion) {
    if (format != Format::Table && format != Format::Json)
      return fail("--after-fusion reports as a table or JSON");
    mlir::OwningOpRef<mlir::ModuleOp> imported = module->clone();
    if (failed(kiln::runPipeline(*module, kiln::Phase::Planned, {})))
      return 1;
    auto kernels = kiln::report::summarizeKernels(*module);
    if (!kernels)
      return 1;
    // The CUDA code of each precision, as kiln compile generates it (for
    // the default GPU): its launches per forward pass and device memory.
    kiln::ModelParams params;
    if (!kiln::collectParams(kiln::findModelFunc(*imported), params))
      return 1;
    for (const char *p : {"fp32", "tf32", "fp16", "bf16"}) {
      mlir::OwningOpRef<mlir::ModuleOp> copy = imported->clone();
      kiln::PipelineOptions options;
      options.cudaPrecision = p;
      if (failed(kiln::runPipeline(*copy, kiln::Phase::Planned, options)))
        return 1;
      auto lowered = kiln::lowerForTarget(*copy, kiln::KernelTarget::Cuda);
      kiln::CudaSource source;
      if (!lowered || failed(kiln::emitCudaSource(kiln::findModelFunc(*lowered),
                                                  params, source)))
        return 1;
      kernels->cuda.push_back({p, source.kernels, int64_t(source.arenaBytes),
                               int64_t(source.workspaceBytes)});
    }
    if (format == Format::Json)
      kiln::report::printKernelJson(*kernels, outs());
    else
      kiln::report::printKernelTable(*kernels, outs());
    return 0;
  }
  if (format == Format::Dot) {
    kiln::report::printDot(*module, outs());
    return 0;
  }
  std::optional<kiln::report::Summary> summary =
      kiln::report::summarize(*module);
  if (!summary)
    return 1;
  switch (format) {
  case Format::Table:
    kiln::report::printTable(*summary, outs());
    break;
  case Format::Json:
    kiln::report::printJson(*summary, outs());
    break;
  case Format::Csv:
    kiln::report::printCsv(*summary, outs());
    break;
  case Format::Dot:
    break;
  }
  return 0;
}

/// Whether the interpreter's least memory (every parameter, the input and
/// the largest op result, each float32) fits in this machine's memory and
/// the process's address-space limit; else one error. LLVM's allocation
/// failure handler aborts kiln, so a model too large to interpret is
/// refused before its tensors are allocated.
bool fitsInMemory(mlir::func::FuncOp func, const kiln::ModelParams &params) {
  auto bytesOf = [](mlir::Type type) -> uint64_t {
    auto tensor = dyn_cast<mlir::RankedTensorType>(type);
    return tensor ? uint64_t(tensor.getNumElements()) * sizeof(float) : 0;
  };
  uint64_t need = bytesOf(func.getArgument(0).getType());
  for (const kiln::rt::ParamSpec &spec : params.specs)
    need += uint64_t(spec.numel()) * sizeof(float);
  uint64_t largest = 0;
  func.walk([&](mlir::Operation *op) {
    if (isa<kiln::ParamOp>(op))
      return; // counted above
    for (mlir::Type type : op->getResultTypes())
      largest = std::max(largest, bytesOf(type));
  });
  need += largest;
  uint64_t have = uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE));
  std::string which = "this machine's memory";
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      uint64_t(limit.rlim_cur) < have) {
    have = limit.rlim_cur;
    which = "the process's address-space limit (ulimit -v)";
  }
  if (need <= have)
    return true;
  auto gib = [](uint64_t bytes) {
    return llvm::formatv("{0:F1} GiB", double(bytes) / double(1ull << 30)).str();
  };
  fail("the model needs at least " + gib(need) +
       " for its parameters, input and largest tensor; " + which + " is " +
       gib(have));
  return false;
}

int runInterpreter(mlir::MLIRContext &context, SourceMgr &sourceMgr) {
  if (runInput.empty())
    return fail("kiln run needs --input x.npy");
  auto module = importModel(context, sourceMgr);
  if (!module)
    return 1;
  if (failed(kiln::checkLimits(*module)))
    return 1;
  mlir::func::FuncOp func = kiln::findModelFunc(*module);
  kiln::ModelParams params;
  if (!kiln::collectParams(func, params))
    return 1;
  if (!fitsInMemory(func, params))
    return 1;
  kiln::rt::WeightSet weights(params.specs.data(), int(params.specs.size()));
  fillImportedWeights(weights);
  if (weightsPath.empty() && !hasImportedWeights())
    errs() << "kiln: warning: no --weights: running with seeded weights\n";
  else if (!loadWeights(weights))
    return 1;

  kiln::rt::NpyArray input;
  std::string error;
  auto inputType = cast<mlir::RankedTensorType>(func.getArgument(0).getType());
  auto expected = inputType.getShape();
  if (!kiln::rt::readNpy(runInput, input, error,
                         kiln::rt::npyFileLimit(
                             uint64_t(inputType.getNumElements()))))
    return fail(error);
  if (ArrayRef<int64_t>(input.shape) != expected) {
    std::string got, want;
    raw_string_ostream g(got), w(want);
    interleaveComma(input.shape, g);
    interleaveComma(expected, w);
    return fail(runInput + ": shape [" + got + "] does not match the model "
                "input [" + want + "]");
  }
  if (runFused && failed(kiln::runPipeline(*module, kiln::Phase::Fused, {})))
    return 1;
  std::vector<float> output;
  if (failed(kiln::interpret(func, params, weights.pointers(), input.data, output)))
    return 1;
  auto shape =
      cast<mlir::RankedTensorType>(func.getFunctionType().getResult(0)).getShape();
  if (!runOutput.empty()) {
    if (!kiln::rt::writeNpy(runOutput, std::vector<int64_t>(shape.begin(), shape.end()),
                            output.data(), error))
      return fail(error);
    return 0;
  }
  outs() << "output [";
  interleaveComma(shape, outs());
  outs() << "]:";
  for (size_t i = 0; i < output.size() && i < 10; ++i)
    outs() << " " << output[i];
  outs() << (output.size() > 10 ? " ...\n" : "\n");
  return 0;
}

int runImport(mlir::MLIRContext &context, SourceMgr &sourceMgr) {
  if (!kiln::isOnnxPath(modelPath))
    return fail("kiln import reads ONNX models (MODEL.onnx), got '" +
                modelPath + "'");
  if (outputPath.empty() || weightsOut.empty())
    return fail("kiln import needs -o MODEL.yaml and --weights-out "
                "W.safetensors");
  auto module = importModel(context, sourceMgr);
  if (!module)
    return 1;
  std::string weightsName = sys::path::filename(weightsOut).str();
  std::string header =
      "# Imported from " + sys::path::filename(modelPath).str() +
      " by `kiln import`; its weights are in " + weightsName +
      "\n# (kiln compile MODEL.yaml --weights " + weightsName + ").\n";
  kiln::ModelSpecText spec;
  if (failed(kiln::writeModelSpec(kiln::findModelFunc(*module),
                                  importedWeights, header, spec)))
    return 1;
  std::vector<kiln::rt::NamedTensor> tensors;
  for (size_t i = 0; i < spec.tensors.size(); ++i)
    tensors.push_back({spec.tensors[i].first, spec.shapes[i],
                       spec.tensors[i].second->data()});
  std::string error;
  if (!kiln::rt::writeSafeTensors(weightsOut, tensors, error))
    return fail(error);
  auto output = mlir::openOutputFile(outputPath, &error);
  if (!output)
    return fail(error);
  output->os() << spec.yaml;
  output->keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kiln: ahead-of-time compiler for convolutional networks\n\n"
      "  kiln compile MODEL.yaml -o EXE [--weights W.safetensors]\n"
      "  kiln compile MODEL.yaml --emit=lib -o libNAME.so|libNAME.a\n"
      "  kiln report  MODEL.yaml [--batch N] [--format table|json|csv|dot]\n"
      "  kiln run     MODEL.yaml --input x.npy [--output y.npy] [--weights W]\n"
      "  kiln import  MODEL.onnx -o MODEL.yaml --weights-out W.safetensors\n"
      "(MODEL.onnx works wherever MODEL.yaml does)\n");

  // A file name given empty would silently mean "none".
  for (cl::opt<std::string> *file :
       {&modelPath, &weightsPath, &outputPath, &keepTemps, &runInput,
        &runOutput, &weightsOut})
    if (file->getNumOccurrences() && file->empty()) {
      std::string flag = file->ArgStr.empty() ? "MODEL.yaml"
                         : file->ArgStr.size() > 1
                             ? "--" + file->ArgStr.str()
                             : "-" + file->ArgStr.str();
      return fail(flag + " needs a file name, got an empty one");
    }

  mlir::MLIRContext context;
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, errs());
  // A diagnostic at no location (a model file that cannot be read) reads
  // like kiln's own errors, not "<unknown>:0:".
  context.getDiagEngine().registerHandler([](mlir::Diagnostic &d) {
    // An ONNX file has no lines: its diagnostics name the file and the node,
    // "model.onnx: node 'Conv_17' (Conv): error: ...".
    if (auto onnx = kiln::onnxLocation(d.getLocation())) {
      errs() << onnx->first << ": " << onnx->second << ": "
             << (d.getSeverity() == mlir::DiagnosticSeverity::Error ? "error"
                                                                    : "warning")
             << ": " << d << "\n";
      for (const mlir::Diagnostic &note : d.getNotes())
        errs() << onnx->first << ": note: " << note << "\n";
      return mlir::success();
    }
    if (!isa<mlir::UnknownLoc>(d.getLocation()))
      return mlir::failure();
    errs() << "kiln: "
           << (d.getSeverity() == mlir::DiagnosticSeverity::Error ? "error"
                                                                  : "warning")
           << ": " << d << "\n";
    return mlir::success();
  });

  if (compileCmd)
    return runCompile(context, sourceMgr);
  if (reportCmd)
    return runReport(context, sourceMgr);
  if (runCmd)
    return runInterpreter(context, sourceMgr);
  if (importCmd)
    return runImport(context, sourceMgr);
  return fail("expected a command: compile, report, run or import (see kiln "
              "--help)");
}
