//===- Toolchain.cpp - compiling and linking generated code ---------------===//
//
// This file implements buildExecutable: it writes each translation unit,
// compiles them in parallel, assembles the weights blob with .incbin, and
// links everything with libkiln_runtime.a (statically, with libstdc++) into
// a temporary file that is renamed to the output once complete.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Toolchain.h"

#include "compiler/Pipelines/ToolchainConfig.h"
#include "kiln/cpu/cpu_features.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <optional>
#include <chrono>
#include <thread>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sys/types.h>
#include <sys/wait.h>

using namespace mlir;
using namespace kiln;
using llvm::StringRef;

namespace {

/// The C++ compiler: $CXX, else the one kiln was built with, else c++.
std::string findCompiler() {
  if (const char *cxx = std::getenv("CXX"); cxx && *cxx) {
    // A bare name ("g++") is looked up in PATH, as make does.
    if (!StringRef(cxx).contains('/'))
      if (auto path = llvm::sys::findProgramByName(cxx))
        return *path;
    return cxx;
  }
  if (llvm::sys::fs::can_execute(KILN_CXX_COMPILER))
    return KILN_CXX_COMPILER;
  if (auto path = llvm::sys::findProgramByName("c++"))
    return *path;
  return "c++";
}

std::string quote(StringRef arg) {
  if (arg.find_first_of(" \t\"'$\\") == StringRef::npos && !arg.empty())
    return arg.str();
  std::string s = "'";
  for (char c : arg)
    s += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return s + "'";
}

std::string commandLine(const std::vector<std::string> &args) {
  std::string s;
  for (const std::string &a : args)
    s += (s.empty() ? "" : " ") + quote(a);
  return s;
}

LogicalResult writeFile(StringRef path, StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) {
    os << text;
    os.close();
    ec = os.error();
  }
  if (ec) {
    llvm::errs() << "kiln: error: cannot write '" << path << "': "
                 << ec.message() << "\n";
    return failure();
  }
  return success();
}

/// A started compiler process and what to say if it fails.
struct Job {
  std::vector<std::string> args;
  std::string log;
  llvm::sys::ProcessInfo process;
  /// Print the log also on success (nvcc's ptxas report with -v).
  bool showLog = false;
  /// The exit status, once poll() or finish() has seen it.
  std::optional<int> exitCode;
};

/// The compiler and linker processes running now, for stopJobs() (a
/// signal handler): fixed slots, no allocation.
constexpr int kMaxJobs = 256;
std::atomic<pid_t> runningJobs[kMaxJobs];

void trackJob(pid_t pid, bool running) {
  for (std::atomic<pid_t> &slot : runningJobs) {
    pid_t expected = running ? 0 : pid;
    if (slot.compare_exchange_strong(expected, running ? pid : 0))
      return;
  }
}

LogicalResult start(Job &job, bool verbose) {
  if (verbose)
    llvm::errs() << commandLine(job.args) << "\n";
  std::vector<StringRef> argv(job.args.begin(), job.args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(job.log),
                                          StringRef(job.log)};
  std::string error;
  job.process = llvm::sys::ExecuteNoWait(job.args[0], argv, std::nullopt,
                                         redirects, 0, &error);
  if (job.process.Pid == llvm::sys::ProcessInfo::InvalidPid) {
    llvm::errs() << "kiln: error: cannot run '" << job.args[0] << "': " << error
                 << "\n";
    return failure();
  }
  trackJob(job.process.Pid, true);
  return success();
}

/// Whether |job| has exited (without waiting).
bool poll(Job &job) {
  if (job.exitCode)
    return true;
  std::string error;
  llvm::sys::ProcessInfo done =
      llvm::sys::Wait(job.process, /*SecondsToWait=*/0, &error);
  if (done.Pid != job.process.Pid)
    return false;
  trackJob(job.process.Pid, false);
  job.exitCode = done.ReturnCode;
  return true;
}

LogicalResult finish(Job &job) {
  if (!job.exitCode) {
    std::string error;
    llvm::sys::ProcessInfo done =
        llvm::sys::Wait(job.process, std::nullopt, &error);
    trackJob(job.process.Pid, false);
    job.exitCode = done.ReturnCode;
  }
  if (*job.exitCode == 0) {
    if (job.showLog)
      if (auto log = llvm::MemoryBuffer::getFile(job.log))
        llvm::errs() << (*log)->getBuffer();
    return success();
  }
  bool nvcc = llvm::sys::path::filename(job.args[0]) == "nvcc";
  llvm::errs() << "kiln: error: " << (nvcc ? "nvcc" : "the C++ compiler")
               << " failed (exit " << *job.exitCode << ")";
  if (auto log = llvm::MemoryBuffer::getFile(job.log)) {
    StringRef text = (*log)->getBuffer();
    llvm::errs() << ":\n" << text.take_back(8000);
  }
  llvm::errs() << "\nrepro: " << commandLine(job.args) << "\n";
  return failure();
}

/// The runtime library |name| next to the kiln executable (bin/../lib),
/// else in the build tree kiln comes from.
std::string runtimeLibrary(StringRef name) {
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  llvm::SmallString<256> lib(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(lib, "lib", name);
  if (llvm::sys::fs::exists(lib))
    return lib.str().str();
  return (StringRef(KILN_RUNTIME_LIBRARY_DIR) + "/" + name).str();
}

/// The nvcc command line shared by executables and --emit=ptx.
std::vector<std::string> nvccCommand(StringRef cxx) {
  return {KILN_NVCC, "-std=c++20", "-O3", "-DNDEBUG", "-ccbin", cxx.str(),
          "-I", KILN_RUNTIME_INCLUDE_DIR};
}

std::vector<std::string> splitList(StringRef list) {
  SmallVector<StringRef, 4> parts;
  list.split(parts, ';', -1, false);
  return std::vector<std::string>(parts.begin(), parts.end());
}

} // namespace

FailureOr<CpuTarget> kiln::cpuTarget(StringRef name) {
#if defined(__aarch64__)
  const bool x86 = false;
#else
  const bool x86 = true;
#endif
  CpuTarget t;
  t.name = name.str();
  if (name == "auto") {
    t.march = x86 ? "x86-64" : "armv8-a";
    t.kernelSets = x86 ? std::vector<std::string>{"avx512", "avx2", "portable"}
                       : std::vector<std::string>{"neon"};
    return t;
  }
  if (name == "native") {
    t.march = "native";
    if (!x86) {
      t.kernelSets = {"neon"};
      return t;
    }
    for (const char *set : {"avx512", "avx2", "portable"})
      if (cpu::cpu_supports_set(set)) {
        t.kernelSets = {set};
        break;
      }
    return t;
  }
  if (x86 && (name == "x86-64" || name == "x86-64-v2")) {
    t.march = name.str();
    t.kernelSets = {"portable"};
    return t;
  }
  if (x86 && name == "x86-64-v3") {
    t.march = name.str();
    t.kernelSets = {"avx2"};
    return t;
  }
  if (x86 && name == "x86-64-v4") {
    t.march = name.str();
    t.kernelSets = {"avx512"};
    return t;
  }
  if (name == "aarch64") {
    t.march = "armv8-a";
    t.kernelSets = {"neon"};
    if (x86)
      t.crossArch = "aarch64";
    return t;
  }
  llvm::errs() << "kiln: error: --cpu: unknown CPU '" << name
               << "' (expected auto, native, "
               << (x86 ? "x86-64, x86-64-v2, x86-64-v3, x86-64-v4, " : "")
               << "aarch64)\n";
  return failure();
}

bool kiln::haveNvcc() {
  return *KILN_NVCC && llvm::sys::fs::can_execute(KILN_NVCC);
}

LogicalResult kiln::parseCudaArchs(llvm::ArrayRef<std::string> names,
                                   std::vector<cuda::CodeImage> &images,
                                   std::string &error) {
  images.clear();
  if (names.empty())
    return success(cuda::parse_images(cuda::kDefaultImages, images));
  bool ptx = false;
  for (StringRef name : names) {
    std::string spelled = name.str();
    if (!name.empty() && llvm::isDigit(name.front()))
      spelled = "sm_" + spelled; // "90a" is sm_90a
    cuda::CodeImage image;
    if (!cuda::parse_image(spelled, image)) {
      error = "--cuda-arch '" + name.str() +
              "': expected sm_NN, NN or compute_NN, e.g. sm_80, sm_90a or compute_80";
      return failure();
    }
    if (image.arch < 80 || image.arch > 121) {
      error = "--cuda-arch " + name.str() +
              ": kiln's CUDA kernels need sm_80 or newer (e.g. sm_80,sm_86,sm_90a)";
      return failure();
    }
    if (image.specific && image.arch != 90) {
      error = "--cuda-arch " + name.str() +
              ": kiln has architecture-specific kernels for sm_90a (H100, H200) only";
      return failure();
    }
    // Hopper runs its own kernels: sm_90 is sm_90a.
    if (image.arch == 90 && !image.ptx)
      image.specific = true;
    ptx = ptx || image.ptx;
    if (!llvm::is_contained(images, image))
      images.push_back(image);
  }
  if (!ptx) {
    // PTX of the newest, for the GPUs after it.
    cuda::CodeImage newest = images.front();
    for (const cuda::CodeImage &i : images)
      if (i.arch > newest.arch)
        newest = i;
    newest.ptx = true;
    images.push_back(newest);
  }
  return success();
}

std::string kiln::cudaImageNames(llvm::ArrayRef<cuda::CodeImage> images, StringRef sep) {
  std::string names;
  for (const cuda::CodeImage &i : images)
    names += (names.empty() ? "" : sep.str()) + i.name();
  return names;
}

std::vector<std::string> kiln::cudaVirtualArchs(llvm::ArrayRef<cuda::CodeImage> images) {
  std::vector<cuda::CodeImage> sorted(images.begin(), images.end());
  llvm::stable_sort(sorted, [](const cuda::CodeImage &a, const cuda::CodeImage &b) {
    return a.arch < b.arch || (a.arch == b.arch && !a.specific && b.specific);
  });
  std::vector<std::string> archs;
  for (const cuda::CodeImage &i : sorted) {
    std::string arch = std::to_string(i.arch) + (i.specific ? "a" : "");
    if (!llvm::is_contained(archs, arch))
      archs.push_back(arch);
  }
  return archs;
}

LogicalResult kiln::compilePtx(const std::string &cudaUnit, const std::string &arch,
                               const std::string &workDir, bool verbose,
                               std::string &ptx) {
  if (!haveNvcc()) {
    llvm::errs() << "kiln: error: --emit=ptx needs nvcc, which this kiln was "
                    "built without\n";
    return failure();
  }
  llvm::SmallString<256> cu(workDir), out(workDir), log(workDir);
  llvm::sys::path::append(cu, "model_cuda.cu");
  llvm::sys::path::append(out, "model_cuda.ptx");
  llvm::sys::path::append(log, "ptx.log");
  if (failed(writeFile(cu, cudaUnit)))
    return failure();
  Job job{nvccCommand(findCompiler()), log.str().str(), {}};
  job.args.insert(job.args.end(),
                  {"-arch=compute_" + arch, "-ptx",
                   cu.str().str(), "-o", out.str().str()});
  if (failed(start(job, verbose)) || failed(finish(job)))
    return failure();
  auto text = llvm::MemoryBuffer::getFile(out);
  if (!text) {
    llvm::errs() << "kiln: error: cannot read '" << out << "'\n";
    return failure();
  }
  ptx = (*text)->getBuffer().str();
  return success();
}

void kiln::stopJobs() {
  for (std::atomic<pid_t> &slot : runningJobs)
    if (pid_t pid = slot.load(); pid > 0)
      ::kill(pid, SIGTERM);
  for (std::atomic<pid_t> &slot : runningJobs)
    if (pid_t pid = slot.exchange(0); pid > 0)
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
}

LogicalResult kiln::makeTempDir(std::string &dir) {
  llvm::SmallString<128> path;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("kiln", path)) {
    llvm::errs() << "kiln: error: cannot create a temporary directory: "
                 << ec.message() << "\n";
    return failure();
  }
  dir = path.str().str();
  return success();
}

const char *const kiln::kLibraryFunctions[] = {
    "kiln_status_name",  "kiln_last_error",   "kiln_api_version",
    "kiln_model",        "kiln_imagenet_label", "kiln_options_init",
    "kiln_open",         "kiln_close",        "kiln_input_shape",
    "kiln_output_shape", "kiln_device",       "kiln_on_gpu",
    "kiln_run",          "kiln_bench",        "kiln_dump_weights",
    "kiln_transform_init", "kiln_load_image", nullptr};

namespace {

/// The last phase nvcc's -time file (a CSV line per finished phase) names:
/// "ptxas sm_80", or "" before the first.
std::string nvccPhase(StringRef timeFile) {
  auto text = llvm::MemoryBuffer::getFile(timeFile);
  if (!text)
    return "";
  SmallVector<StringRef> lines;
  (*text)->getBuffer().split(lines, '\n', -1, false);
  if (lines.size() < 2)
    return "";
  SmallVector<StringRef> fields;
  lines.back().split(fields, ',');
  if (fields.size() < 5)
    return "";
  std::string phase = fields[1].trim().str();
  if (StringRef arch = fields[4].trim(); !arch.empty())
    phase += " " + arch.str();
  return phase;
}

} // namespace

LogicalResult kiln::buildExecutable(const CpuSource &source,
                                    const BuildOptions &options,
                                    const BuildProgress &progress,
                                    BuildSummary *summary) {
  const std::string &dir = options.workDir;
  auto file = [&](StringRef name) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    return path.str().str();
  };
  auto report = [&](const std::string &stage) {
    if (progress)
      progress(stage);
  };
  const bool library = options.artifact != Artifact::Executable;

  const CpuTarget &cpu = options.cpu;
  std::string cxx = findCompiler();
  std::string includeDir = KILN_RUNTIME_INCLUDE_DIR;
  // The runtime libraries: this build's, or those built for the target
  // (ThreadSanitizer's instrumented ones for the runtime and sessions).
  auto library_ = [&](StringRef name) {
    if (options.threadSanitizer &&
        (name == "libkiln_runtime.a" || name == "libkiln_session.a"))
      return runtimeLibrary(("tsan/" + name).str());
    return runtimeLibrary(name);
  };
  std::string crossLibDir;
  if (!cpu.crossArch.empty()) {
    if (cpu.crossArch != "aarch64" || !*KILN_AARCH64_CXX ||
        !llvm::sys::fs::exists(std::string(KILN_AARCH64_RUNTIME_DIR) +
                               "/libkiln_runtime.a")) {
      llvm::errs() << "kiln: error: --cpu " << cpu.name
                   << " needs the runtime built for " << cpu.crossArch
                   << " with a cross compiler (./setup.sh installs "
                      "g++-aarch64-linux-gnu and builds it); this kiln has "
                      "none\n";
      return failure();
    }
    cxx = KILN_AARCH64_CXX;
    crossLibDir = KILN_AARCH64_RUNTIME_DIR;
    if (options.cuda != CudaBuild::None) {
      llvm::errs() << "kiln: error: --cpu " << cpu.name
                   << " builds CPU code only (use --target cpu)\n";
      return failure();
    }
  }
  if (options.threadSanitizer &&
      !llvm::sys::fs::exists(runtimeLibrary("tsan/libkiln_runtime.a"))) {
    llvm::errs() << "kiln: error: --sanitize=thread needs the runtime built "
                    "with ThreadSanitizer (lib/tsan), which this kiln lacks\n";
    return failure();
  }
  auto lib = [&](StringRef name) {
    return crossLibDir.empty() ? library_(name)
                               : (crossLibDir + "/" + name).str();
  };
  // Code of a library is position independent (a static one may end up in
  // a PIE or a shared object).
  std::vector<std::string> extraFlags;
  if (library)
    extraFlags.push_back("-fPIC");
  if (library && *KILN_NO_GNU_UNIQUE && cxx == KILN_CXX_COMPILER)
    extraFlags.push_back(KILN_NO_GNU_UNIQUE);
  if (options.threadSanitizer)
    extraFlags.insert(extraFlags.end(), {"-fsanitize=thread", "-g1"});
  std::vector<Job> jobs;
  std::vector<std::string> objects;
  for (size_t i = 0; i < source.units.size(); ++i) {
    std::string cpp = file("model" + std::to_string(i) + ".cpp");
    if (failed(writeFile(cpp, source.units[i])))
      return failure();
    objects.push_back(file("model" + std::to_string(i) + ".o"));
    jobs.push_back({{cxx, "-std=c++20", "-O3", "-march=" + cpu.march,
                     "-fno-math-errno", "-DNDEBUG", "-I", includeDir,
                     "-c", cpp, "-o", objects.back()},
                    file("model" + std::to_string(i) + ".log"),
                    {}});
    jobs.back().args.insert(jobs.back().args.end() - 4, extraFlags.begin(),
                            extraFlags.end());
  }
  const size_t hostUnits = jobs.size();
  std::string nvccTime;
  int nvccJob = -1;
  if (options.cuda != CudaBuild::None) {
    std::string cu = file("model_cuda.cu");
    if (failed(writeFile(cu, options.cudaUnit)))
      return failure();
    objects.push_back(file("model_cuda.o"));
    Job job{{}, file("model_cuda.log"), {}};
    if (options.cuda == CudaBuild::Nvcc) {
      if (!haveNvcc()) {
        llvm::errs() << "kiln: error: the CUDA target needs nvcc, which this "
                        "kiln was built without (use --target cpu)\n";
        return failure();
      }
      job.args = nvccCommand(cxx);
      // Each virtual architecture once: its SASS and PTX images together.
      for (const std::string &arch : cudaVirtualArchs(options.cudaImages)) {
        std::vector<cuda::CodeImage> codes;
        for (const cuda::CodeImage &i : options.cudaImages)
          if (std::to_string(i.arch) + (i.specific ? "a" : "") == arch)
            codes.push_back(i);
        std::string code = cudaImageNames(codes, ",");
        job.args.insert(job.args.end(),
                        {"-gencode", "arch=compute_" + arch + ",code=" +
                                         (codes.size() > 1 ? "[" + code + "]" : code)});
      }
      if (options.verbose) {
        // ptxas reports registers, spills and shared memory per kernel.
        job.args.insert(job.args.end(), {"-Xptxas", "-v"});
        job.showLog = true;
      }
      if (library)
        for (const std::string &flag : extraFlags)
          job.args.insert(job.args.end(), {"-Xcompiler", flag});
      // A line per finished phase (cicc, ptxas per architecture): progress.
      nvccTime = file("nvcc-time.csv");
      job.args.insert(job.args.end(), {"-time", nvccTime});
    } else {
      job.args = {cxx, "-std=c++20", "-O2", "-DNDEBUG", "-x", "c++",
                  "-DKILN_CUDA_EMULATED", "-fno-strict-aliasing", "-Wno-psabi", "-include",
                  KILN_CUDA_EMU_HEADER, "-I", KILN_RUNTIME_INCLUDE_DIR, "-I",
                  KILN_CUDA_EMU_INCLUDE_DIR};
      if (library)
        job.args.insert(job.args.end(), extraFlags.begin(), extraFlags.end());
    }
    job.args.insert(job.args.end(), {"-c", cu, "-o", objects.back()});
    nvccJob = int(jobs.size());
    jobs.push_back(std::move(job));
  }
  if (!options.weightsBlob.empty()) {
    // The weights become a read-only section of the executable. On x86-64
    // it is the large-data section .lrodata, which the linker script puts
    // after every other section, by its name (GNU as also marks it
    // SHF_X86_64_LARGE; clang 14 knows no flag for that): blobs over 2 GiB
    // (regnet_y_128gf's 2.6 GB) would otherwise push the code's 32-bit
    // PC-relative references out of range. Code reaches the blob's start
    // only (through a 64-bit data relocation); its size is a constant
    // beside it.
#if defined(__aarch64__)
    const bool x86 = false;
#else
    const bool x86 = cpu.crossArch.empty();
#endif
    std::string asmFile = file("weights.S");
    std::string text =
        std::string(x86 ? "  .section .lrodata,\"a\",@progbits\n"
                        : "  .section .rodata\n") +
        "  .balign 64\n"
        "  .globl kiln_embedded_weights_begin\nkiln_embedded_weights_begin:\n"
        "  .incbin \"" + options.weightsBlob + "\"\n"
        "kiln_embedded_weights_end:\n"
        "  .section .rodata\n  .balign 8\n"
        "  .globl kiln_embedded_weights_size\nkiln_embedded_weights_size:\n"
        "  .quad kiln_embedded_weights_end - kiln_embedded_weights_begin\n"
        "  .section .note.GNU-stack,\"\",@progbits\n";
    if (failed(writeFile(asmFile, text)))
      return failure();
    objects.push_back(file("weights.o"));
    jobs.push_back({{cxx, "-c", asmFile, "-o", objects.back()},
                    file("weights.log"),
                    {}});
  }
  // Compile everything at once; the machine's cores share the work. While
  // they run, say how far they are.
  bool ok = true;
  if (options.verbose)
    report("");
  for (Job &job : jobs)
    ok &= succeeded(start(job, options.verbose));
  auto compileStart = std::chrono::steady_clock::now();
  double hostSeconds = 0, nvccSeconds = 0;
  auto since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         compileStart)
        .count();
  };
  if (ok) {
    std::string last;
    while (true) {
      size_t hostDone = 0;
      bool all = true;
      for (size_t i = 0; i < jobs.size(); ++i) {
        bool done = poll(jobs[i]);
        all &= done;
        if (i < hostUnits && done)
          ++hostDone;
        if (int(i) == nvccJob && done && !nvccSeconds)
          nvccSeconds = since();
      }
      if (hostDone == hostUnits && !hostSeconds)
        hostSeconds = since();
      if (all)
        break;
      std::string stage;
      if (hostDone < hostUnits)
        stage = "host compiler: " + std::to_string(hostDone) + " of " +
                std::to_string(hostUnits) + " units done";
      if (nvccJob >= 0 && !jobs[size_t(nvccJob)].exitCode) {
        std::string phase = options.cuda == CudaBuild::Nvcc
                                ? nvccPhase(nvccTime)
                                : std::string();
        stage += (stage.empty() ? "" : "; ") +
                 std::string(options.cuda == CudaBuild::Nvcc
                                 ? "nvcc"
                                 : "CUDA code for the emulator") +
                 (phase.empty() ? "" : " (" + phase + " done)");
      }
      if (stage != last)
        report(stage);
      last = stage;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // A failing job prints its error: the progress line goes first.
  auto finished = [&](Job &job) {
    if (!job.exitCode || *job.exitCode != 0)
      report("");
    return finish(job);
  };
  for (Job &job : jobs)
    if (job.process.Pid != llvm::sys::ProcessInfo::InvalidPid)
      ok &= succeeded(finished(job));
  if (!ok)
    return failure();
  if (summary) {
    summary->units = int(hostUnits);
    summary->compileSeconds = hostSeconds;
    summary->nvccSeconds = nvccSeconds;
  }

  // Link into a temporary name next to the output, then rename.
  report(library ? "linking the library" : "linking");
  auto linkStart = std::chrono::steady_clock::now();
  std::string partial = options.output + ".partial";
  std::vector<std::string> libraries;
  if (options.artifact == Artifact::Executable) {
    libraries.insert(libraries.end(),
                     {lib("libkiln_main.a"), lib("libkiln_session.a")});
  } else {
    // Nothing in the model refers to the interface: take all of it.
    libraries.insert(libraries.end(),
                     {"-Wl,--whole-archive", lib("libkiln_session.a"),
                      "-Wl,--no-whole-archive"});
  }
  if (options.cuda == CudaBuild::Nvcc)
    libraries.push_back(lib("libkiln_cuda.a"));
  if (options.cuda == CudaBuild::Emulated)
    libraries.insert(libraries.end(), {lib("libkiln_cuda_emulated.a"),
                                       lib("libkiln_cuda_emu.a")});
  for (const std::string &set : cpu.kernelSets)
    libraries.push_back(lib("libkiln_cpu_" + set + ".a"));
  libraries.push_back(lib("libkiln_runtime.a"));
  // What a program linking the library (or the executable) needs besides.
  std::vector<std::string> system;
  if (options.cuda == CudaBuild::Nvcc)
    // The static CUDA runtime: the executable needs only the driver.
    system.insert(system.end(), {"-L" + std::string(KILN_CUDA_LIBRARY_DIR),
                                 "-lcudart_static", "-ldl", "-lrt"});
  if (options.cuda == CudaBuild::Emulated)
    for (const std::string &l : splitList(KILN_CUDA_EMU_LINK_LIBRARIES))
      system.push_back(l);

  if (options.artifact == Artifact::StaticLibrary) {
    // One relocatable object of the model and everything of the runtime it
    // uses, whose only global symbols are kiln.h's functions: programs may
    // link several models' libraries, and the runtime's C++ names never
    // meet theirs. Then an archive of it.
    std::string combined = file("model-lib.o");
    Job merge{{cxx, "-r", "-nostdlib", "-o", combined}, file("merge.log"), {}};
    merge.args.insert(merge.args.end(), objects.begin(), objects.end());
    for (const std::string &l : libraries)
      merge.args.push_back(l);
    std::string keep = file("exports.txt"), keepText;
    for (const char *const *f = kLibraryFunctions; *f; ++f)
      keepText += std::string(*f) + "\n";
    std::string objcopy = "objcopy", ar = "ar";
    if (auto path = llvm::sys::findProgramByName("objcopy"))
      objcopy = *path;
    if (auto path = llvm::sys::findProgramByName("ar"))
      ar = *path;
    Job localize{{objcopy, "--keep-global-symbols=" + keep, combined},
                 file("localize.log"), {}};
    Job archive{{ar, "rcs", partial, combined}, file("archive.log"), {}};
    llvm::sys::fs::remove(partial);
    if (failed(writeFile(keep, keepText)) || failed(start(merge, options.verbose)) ||
        failed(finished(merge)) || failed(start(localize, options.verbose)) ||
        failed(finished(localize)) || failed(start(archive, options.verbose)) ||
        failed(finished(archive))) {
      llvm::sys::fs::remove(partial);
      return failure();
    }
    if (summary) {
      summary->linkFlags = "-lstdc++ -lm -pthread";
      for (const std::string &flag : system)
        summary->linkFlags += " " + flag;
    }
  } else {
    Job link{{cxx, "-o", partial}, file("link.log"), {}};
    if (options.artifact == Artifact::SharedLibrary) {
      // Only kiln.h's functions are exported: a process may load several
      // models' libraries, each with its own copy of the runtime.
      std::string map = file("exports.map"), mapText = "{\n  global:\n";
      for (const char *const *f = kLibraryFunctions; *f; ++f)
        mapText += "    " + std::string(*f) + ";\n";
      mapText += "  local: *;\n};\n";
      if (failed(writeFile(map, mapText)))
        return failure();
      link.args.insert(link.args.end(),
                       {"-shared", "-Wl,--version-script=" + map,
                        "-Wl,-soname," +
                            llvm::sys::path::filename(options.output).str(),
                        "-Wl,--no-undefined"});
    }
    link.args.insert(link.args.end(), objects.begin(), objects.end());
    link.args.insert(link.args.end(), libraries.begin(), libraries.end());
    link.args.insert(link.args.end(), system.begin(), system.end());
    link.args.insert(link.args.end(),
                     {"-pthread", "-static-libstdc++", "-static-libgcc"});
    if (options.threadSanitizer)
      link.args.push_back("-fsanitize=thread");
    // A cross-built executable runs on machines without the target's
    // libraries (and under qemu-user without a sysroot): link everything.
    if (!crossLibDir.empty())
      link.args.push_back("-static");
    else
      for (const std::string &flag : splitList(KILN_SANITIZER_LINK_FLAGS))
        link.args.push_back(flag);
    if (failed(start(link, options.verbose)) || failed(finished(link))) {
      llvm::sys::fs::remove(partial);
      return failure();
    }
  }
  if (summary)
    summary->linkSeconds = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - linkStart)
                               .count();
  if (std::error_code ec = llvm::sys::fs::rename(partial, options.output)) {
    llvm::sys::fs::remove(partial);
    llvm::errs() << "kiln: error: cannot write '" << options.output
                 << "': " << ec.message() << "\n";
    return failure();
  }
  return success();
}
