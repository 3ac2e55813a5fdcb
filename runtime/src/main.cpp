//===- main.cpp - main() of kiln-generated executables --------------------===//
//
// This file implements the command line of every executable kiln builds
// (DESIGN.md §1.1): load weights (embedded, --weights, or seeded), prepare
// them, run the model on an .npy input or an image, write the output, print
// the top-k classes, or benchmark. Every error is one line on stderr and a
// non-zero exit; no partial output file is left behind.
//
//===----------------------------------------------------------------------===//

#include "kiln/cpu/kernels.h"
#include "kiln/image.h"
#include "kiln/runtime.h"
#include "kiln/tensor_io.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <memory>
#include <numeric>
#include <new>
#include <optional>
#include <system_error>
#include <string>
#include <vector>

using namespace kiln::rt;

namespace {

const char *program = "model";

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", program, message.c_str());
  std::exit(1);
}

std::string shapeString(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t product(const int64_t *shape, int rank) {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= shape[i];
  return n;
}

struct Options {
  std::string input, image, output, weights, dumpWeights, device = "auto";
  bool strict = true;
  int topk = 5, threads = 0;
  long bench = 0;
};

/// The CPU kernel set of this run, chosen at start-up; null without CPU code.
const kiln::cpu::KernelTable *cpuKernels = nullptr;

/// "avx2 (AMD EPYC 7763 64-Core Processor)": the kernel set and the CPU.
std::string cpuDescription() {
  std::string model = kiln::cpu::cpu_model_name();
  return std::string(cpuKernels ? cpuKernels->name : "none") +
         (model.empty() ? "" : " (" + model + ")");
}

void printHelp() {
  const ModelInfo &m = kModel;
  std::printf(
      "%s: %s, compiled by kiln\n"
      "input %s, output %s\n\n"
      "usage: %s [--input x.npy | --image picture.jpg] [--output y.npy]\n"
      "          [--weights W.safetensors [--no-strict]] [--topk K]\n"
      "          [--bench N] [--threads N] [--device cpu|cuda|auto]\n"
      "          [--dump-weights W.safetensors]\n\n"
      "  --input FILE         float32 .npy input of the model's shape\n"
      "  --image FILE         JPEG/PNG/PPM picture, ImageNet preprocessing\n"
      "                       (resize 256, center crop, normalize); prints\n"
      "                       the top-k classes\n"
      "  --output FILE        write the output as a float32 .npy file\n"
      "  --weights FILE       safetensors state_dict to run with (default:\n"
      "                       the weights given at compile time, else seeded);\n"
      "                       F32, F16 and BF16 load exactly, F64 is rounded to\n"
      "                       float32; num_batches_tracked is ignored\n"
      "  --strict             weights must match the model exactly (default)\n"
      "  --no-strict          load what matches by name and shape; seed the rest\n"
      "  --topk K             classes to print for --image (default 5)\n"
      "  --bench N            time N runs (1 to 100000) after a warm-up of\n"
      "                       N/10 (3 to 100): median, p10, p90, images/s\n"
      "  --threads N          CPU threads, 1 to 1024 (default: all)\n"
      "  --device D           cpu, cuda or auto (default auto)\n"
      "  --dump-weights FILE  write the weights in use as safetensors\n",
      program, m.name, shapeString(m.input_shape, m.input_rank).c_str(),
      shapeString(m.output_shape, m.output_rank).c_str(), program);
  if (m.num_cpu_kernels > 0) {
    std::string sets;
    for (int i = 0; i < m.num_cpu_kernels; ++i)
      sets += (i ? ", " : "") + std::string(m.cpu_kernels[i]->name);
    std::printf("\nCPU kernels: %s; this CPU: %s\n"
                "  KILN_CPU=NAME        use the kernel set NAME (one of the above)\n",
                sets.c_str(),
                cpuKernels ? cpuDescription().c_str() : "none of them");
  }
}

/// The most runs --bench takes (a ResNet-50 at 1 ms a run: under 2 minutes).
constexpr long kMaxBench = 100000;
/// The most threads --threads takes.
constexpr long kMaxThreads = 1024;
/// The most classes --topk prints.
constexpr long kMaxTopK = 1000000;

/// Parses |text| as a decimal integer in [min, max] (the whole string: no
/// sign tricks, no trailing characters, no overflow); fails naming |flag|.
long parseInt(const char *flag, const std::string &text, long min, long max) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (errno || text.empty() || *end || v < min || v > max)
    fail(std::string(flag) + " expects an integer from " +
         std::to_string(min) + " to " + std::to_string(max) + ", got '" +
         text + "'");
  return v;
}

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    // Accept both "--flag value" and "--flag=value".
    std::string value;
    bool inlineValue = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inlineValue = true;
    }
    auto next = [&]() -> std::string {
      if (inlineValue)
        return value;
      if (i + 1 >= argc)
        fail(arg + " needs a value (see --help)");
      return argv[++i];
    };
    // A file name: never empty (an empty one would silently mean "none").
    auto path = [&]() -> std::string {
      std::string p = next();
      if (p.empty())
        fail(arg + " needs a file name, got an empty one");
      return p;
    };
    if (arg == "--help" || arg == "-h") {
      printHelp();
      std::exit(0);
    } else if (arg == "--input") {
      o.input = path();
    } else if (arg == "--image") {
      o.image = path();
    } else if (arg == "--output") {
      o.output = path();
    } else if (arg == "--weights") {
      o.weights = path();
    } else if (arg == "--dump-weights") {
      o.dumpWeights = path();
    } else if (arg == "--strict") {
      o.strict = true;
    } else if (arg == "--no-strict") {
      o.strict = false;
    } else if (arg == "--topk") {
      o.topk = int(parseInt("--topk", next(), 1, kMaxTopK));
    } else if (arg == "--bench") {
      o.bench = parseInt("--bench", next(), 1, kMaxBench);
    } else if (arg == "--threads") {
      o.threads = int(parseInt("--threads", next(), 1, kMaxThreads));
    } else if (arg == "--device") {
      o.device = next();
      if (o.device != "cpu" && o.device != "cuda" && o.device != "auto")
        fail("--device must be cpu, cuda or auto, got '" + o.device + "'");
    } else {
      fail("unknown argument '" + arg + "' (see --help)");
    }
  }
  if (!o.input.empty() && !o.image.empty())
    fail("give --input or --image, not both");
  if (o.input.empty() && o.image.empty() && !o.bench && o.dumpWeights.empty())
    fail("nothing to do: give --input, --image, --bench or --dump-weights "
         "(see --help)");
  if (!o.output.empty() && o.input.empty() && o.image.empty())
    fail("--output needs --input or --image");
  return o;
}

/// Loads the weights the model runs with, saying where they come from.
WeightSet loadWeights(const Options &o) {
  const ModelInfo &m = kModel;
  WeightSet weights(m.params, m.num_params);
  std::vector<uint8_t> bytes;
  const uint8_t *data = nullptr;
  size_t size = 0;
  std::string source, error;
  if (!o.weights.empty()) {
    if (!readFile(o.weights, bytes, error, weights.fileLimit(),
                  "a weights file of this model"))
      fail(error);
    data = bytes.data();
    size = bytes.size();
    source = o.weights;
  } else if (m.embedded_weights) {
    data = m.embedded_weights;
    size = m.embedded_weights_size;
    source = "embedded weights";
  } else {
    std::fprintf(stderr,
                 "%s: warning: no weights given; running with seeded weights "
                 "(PyTorch's default initialization)\n",
                 program);
    return weights;
  }
  auto file = SafeTensors::parse(data, size, source, error);
  if (!file)
    fail(error);
  LoadReport report;
  if (!weights.load(*file, o.strict, report, error))
    fail(source + ": " + error);
  if (!o.strict) {
    std::fprintf(stderr, "%s: loaded %d of %d tensors from %s\n", program,
                 report.loaded, m.num_params, source.c_str());
    auto list = [](const char *what, const std::vector<std::string> &names) {
      for (const std::string &n : names)
        std::fprintf(stderr, "  %s: %s\n", what, n.c_str());
    };
    list("missing (seeded)", report.missing);
    list("unexpected (ignored)", report.unexpected);
    list("mismatch (seeded)", report.mismatched);
  }
  return weights;
}

/// The input tensor from --input or --image (zeros when benchmarking only).
std::vector<float> loadInput(const Options &o) {
  const ModelInfo &m = kModel;
  int64_t numel = product(m.input_shape, m.input_rank);
  std::string error;
  if (!o.input.empty()) {
    NpyArray array;
    if (!readNpy(o.input, array, error, npyFileLimit(uint64_t(numel))))
      fail(error);
    if (int(array.shape.size()) != m.input_rank ||
        !std::equal(array.shape.begin(), array.shape.end(), m.input_shape))
      fail(o.input + ": shape " +
           shapeString(array.shape.data(), int(array.shape.size())) +
           " does not match the model input " +
           shapeString(m.input_shape, m.input_rank));
    return std::move(array.data);
  }
  if (!o.image.empty()) {
    if (m.input_rank != 4 || m.input_shape[0] != 1 || m.input_shape[1] != 3 ||
        m.input_shape[2] != m.input_shape[3])
      fail("--image needs a model with a 1x3xSxS input; this one takes " +
           shapeString(m.input_shape, m.input_rank) + " (use --input)");
    ImageTransform transform;
    transform.crop = int(m.input_shape[2]);
    // torchvision's ratio: resize 256 for a 224 crop.
    transform.resize = int(std::lround(transform.crop * 256.0 / 224.0));
    std::vector<float> chw;
    if (!loadImage(o.image, transform, chw, error))
      fail(error);
    return chw;
  }
  return std::vector<float>(size_t(numel), 0.0f);
}

/// Memory for the activations and prepared weights: 64-byte aligned.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes)
      : ptr(static_cast<char *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64))) {
    if (!ptr)
      fail("out of memory (" + std::to_string(bytes) + " bytes)");
  }
  ~AlignedBuffer() { std::free(ptr); }
  char *ptr;
};

double milliseconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void printTopK(const std::vector<float> &logits, int k, bool imagenet) {
  // Softmax over the classes for readable confidences.
  float top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    sum += p[i] = std::exp(double(logits[i]) - top);
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::min<int>(k, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return logits[a] > logits[b]; });
  std::printf("top-%d:\n", k);
  for (int i = 0; i < k; ++i) {
    int c = order[i];
    std::printf("  %d. %6.2f%%  %s (%d)\n", i + 1, 100.0 * p[c] / sum,
                imagenet && logits.size() == 1000 ? kImageNetLabels[c]
                                                  : "class",
                c);
  }
}

} // namespace

namespace {
int run_main(int argc, char **argv);
} // namespace

/// main: run_main, with the failures no input may turn into an abort (an
/// allocation the machine cannot give, a thread it cannot start) reported
/// as one error and exit code 1.
int main(int argc, char **argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::bad_alloc &) {
    fail("out of memory (the model's buffers, its weights or an input are "
         "larger than this machine can allocate)");
  } catch (const std::system_error &e) {
    fail(std::string("system error: ") + e.what());
  }
  return 1;
}

namespace {
int run_main(int argc, char **argv) {
  if (argc > 0 && argv[0]) {
    program = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
  }
  const ModelInfo &m = kModel;
  // The CPU kernels: the best set this CPU runs, or $KILN_CPU's. --help
  // says which, so a failure is reported only when the CPU code runs.
  std::string cpuError;
  if (m.num_cpu_kernels > 0) {
    cpuKernels = kiln::cpu::choose_kernels(m.cpu_kernels, m.num_cpu_kernels,
                                           std::getenv("KILN_CPU"), cpuError);
    if (cpuKernels)
      kiln::cpu::use_kernels(*cpuKernels);
  }
  Options o = parseOptions(argc, argv);
  if (o.device == "cuda" && !m.cuda)
    fail("this executable has no CUDA code (compile with --target cuda or all)");
  if (o.device == "cpu" && !m.run)
    fail("this executable has no CPU code (compile with --target cpu or all)");

  std::optional<ThreadPool> pool_storage;
  try {
    pool_storage.emplace(o.threads);
  } catch (const std::system_error &e) {
    fail("cannot start " + std::to_string(o.threads) + " threads: " +
         e.what() + " (use fewer --threads)");
  }
  ThreadPool &pool = *pool_storage;
  WeightSet weights = loadWeights(o);
  std::string error;
  if (!o.dumpWeights.empty() && !weights.dump(o.dumpWeights, error))
    fail(error);
  if (o.input.empty() && o.image.empty() && !o.bench)
    return 0;

  std::vector<float> input = loadInput(o);
  std::vector<float> output(size_t(product(m.output_shape, m.output_rank)));
  std::vector<const float *> params = weights.pointers();

  // The device: CUDA when asked for, or when auto finds a usable GPU.
  std::unique_ptr<DeviceSession> session;
  if (m.cuda && o.device != "cpu") {
    bool unavailable = false;
    session = m.cuda->open(m, params, error, unavailable);
    if (!session && (o.device == "cuda" || !unavailable || !m.run))
      fail(error);
    if (!session)
      std::fprintf(stderr, "%s: %s; running on the CPU\n", program,
                   error.c_str());
    else
      std::fprintf(stderr, "%s: running on %s\n", program,
                   session->description().c_str());
  } else if (o.device == "auto" && (o.bench || !o.image.empty())) {
    std::fprintf(stderr, "%s: running on the CPU\n", program);
  }

  std::unique_ptr<AlignedBuffer> prepared, arena;
  if (!session) {
    if (!cpuKernels)
      fail(cpuError);
    prepared = std::make_unique<AlignedBuffer>(m.prepared_floats * sizeof(float));
    m.prepare(params.data(), reinterpret_cast<float *>(prepared->ptr), pool);
    arena = std::make_unique<AlignedBuffer>(m.arena_bytes);
  }
  auto forward = [&] {
    if (session) {
      if (!session->run(input.data(), output.data(), error))
        fail(error);
      return;
    }
    m.run(reinterpret_cast<const float *>(prepared->ptr), input.data(),
          output.data(), arena->ptr, pool);
  };

  if (o.bench) {
    std::vector<double> times;
    if (session) {
      if (!session->bench(input.data(), o.bench, times, error))
        fail(error);
    } else {
      long warmup = std::clamp(o.bench / 10, 3L, 100L);
      for (long i = 0; i < warmup; ++i)
        forward();
      for (long i = 0; i < o.bench; ++i) {
        auto start = std::chrono::steady_clock::now();
        forward();
        times.push_back(milliseconds(std::chrono::steady_clock::now() - start));
      }
    }
    std::sort(times.begin(), times.end());
    auto at = [&](double q) {
      return times[std::min(times.size() - 1, size_t(q * double(times.size())))];
    };
    double median = at(0.5);
    std::printf("%s: batch %lld, %s, %ld runs: median %.3f ms, p10 %.3f ms, "
                "p90 %.3f ms, %.1f images/s\n",
                m.name, (long long)m.input_shape[0],
                session ? session->description().c_str()
                        : (std::to_string(pool.size()) + " threads, cpu " +
                           cpuDescription()).c_str(),
                o.bench, median, at(0.1), at(0.9),
                double(m.input_shape[0]) * 1000.0 / median);
    if (o.input.empty() && o.image.empty())
      return 0;
  }

  auto start = std::chrono::steady_clock::now();
  forward();
  double ms = milliseconds(std::chrono::steady_clock::now() - start);

  if (!o.output.empty() &&
      !writeNpy(o.output, std::vector<int64_t>(m.output_shape,
                                               m.output_shape + m.output_rank),
                output.data(), error))
    fail(error);
  if (!o.image.empty()) {
    printTopK(output, o.topk, m.imagenet_classes);
    if (session)
      std::printf("time: %.2f ms (%s)\n", ms, session->description().c_str());
    else
      std::printf("time: %.2f ms (%d threads)\n", ms, pool.size());
  } else if (o.output.empty()) {
    std::printf("output %s:", shapeString(m.output_shape, m.output_rank).c_str());
    for (size_t i = 0; i < output.size() && i < 10; ++i)
      std::printf(" %g", double(output[i]));
    std::printf(output.size() > 10 ? " ...\n" : "\n");
  }
  return 0;
}
} // namespace
