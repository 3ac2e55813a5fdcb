//===- main.cpp - main() of kiln-built executables ------------------------===//
//
// This file implements the command line of every executable kiln builds
// (DESIGN.md §1.1) over the model's C interface (kiln.h), as any program
// linking a kiln library would: open a session (weights embedded, given
// with --weights, or seeded; the CPU or GPUs), then run .npy inputs of any
// batch, images (top-k per image), an ImageFolder evaluation (eval.cpp), a
// video (video.cpp) or a benchmark. Every error is one line on stderr and a
// non-zero exit; no partial output file is left behind.
//
//===----------------------------------------------------------------------===//

#include "cli.h"

#include "../atomic_file.h"
#include "kiln/tensor_io.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <vector>

namespace kiln::cli {

const char *program = "model";

void fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", program, message.c_str());
  std::exit(1);
}

void failLast() { fail(kiln_last_error()); }

/// The open session, reachable from here until it is closed: fail() ends
/// the process with exit() wherever an error is found (other threads may
/// still use the session), and what the session holds then is the
/// process's to give back, not a leak (LeakSanitizer agrees).
kiln_session *openSession = nullptr;

kiln::rt::ImageTransform imageTransform(const kiln_transform &t) {
  kiln::rt::ImageTransform r;
  r.resize = t.resize_h;
  r.resizeWidth = t.resize_w;
  r.crop = t.crop_h;
  r.cropWidth = t.crop_w;
  std::copy(t.mean, t.mean + 3, r.mean);
  std::copy(t.std, t.std + 3, r.std);
  return r;
}

std::string Model::label(int c) const {
  return c >= 0 && c < int(labels.size()) ? labels[c] : std::string("class");
}

void Model::run(const float *input, int64_t count, float *output) const {
  if (kiln_run(session, input, count, output) != KILN_OK)
    failLast();
}

std::vector<int> topK(const float *logits, int n, int k) {
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  k = std::min(k, n);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) {
                      return logits[a] > logits[b] ||
                             (logits[a] == logits[b] && a < b);
                    });
  order.resize(size_t(k));
  return order;
}

void printTopK(const Model &model, const float *logits, int k) {
  int n = int(model.outSample);
  // Softmax over the classes for readable confidences.
  float top = *std::max_element(logits, logits + n);
  std::vector<double> p(static_cast<size_t>(n));
  double sum = 0;
  for (int i = 0; i < n; ++i)
    sum += p[i] = std::exp(double(logits[i]) - top);
  std::vector<int> order = topK(logits, n, k);
  std::printf("top-%d:\n", int(order.size()));
  for (size_t i = 0; i < order.size(); ++i) {
    int c = order[i];
    std::printf("  %zu. %6.2f%%  %s (%d)\n", i + 1, 100.0 * p[c] / sum,
                model.label(c).c_str(), c);
  }
}

void writeTextFile(const std::string &path, const std::string &text) {
  kiln::rt::detail::AtomicFile file(path);
  std::string error;
  if (!file.open(error))
    fail(error);
  file.write(text);
  if (!file.commit(error))
    fail(error);
}

} // namespace kiln::cli

using namespace kiln::cli;

namespace {

std::string shapeString(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The most runs --bench takes (a ResNet-50 at 1 ms a run: under 2 minutes).
constexpr long kMaxBench = 100000;
/// The most threads --threads takes.
constexpr long kMaxThreads = 1024;
/// The most classes --topk prints.
constexpr long kMaxTopK = 1000000;
/// The largest --batch-size, --every and --decode-threads.
constexpr long kMaxBatchSize = 1 << 20, kMaxEvery = 1 << 30,
               kMaxDecodeThreads = 256;

void printHelp(const kiln_model_info &m) {
  int64_t n = m.input_rank ? m.input_shape[0] : 1;
  std::printf(
      "%s: %s, compiled by kiln\n"
      "input %s, output %s\n"
      "compiled batch N = %lld: --input and --image take any number of "
      "samples,\n"
      "run as passes of up to %lld (%s)\n\n",
      program, m.name, shapeString(m.input_shape, m.input_rank).c_str(),
      shapeString(m.output_shape, m.output_rank).c_str(), (long long)n,
      (long long)n,
      m.flexible_batch ? "a smaller pass computes only its own samples"
                       : "a smaller pass is padded to N");
  std::printf(
      "usage: %s [--input x.npy | --image a.jpg [b.png ...] | --eval DIR |\n"
      "          --video FILE] [--output y.npy] [options]\n\n"
      "Inputs:\n"
      "  --input FILE         float32 .npy input: the model's input shape with\n"
      "                       any batch (first dimension) from 1 up\n"
      "  --image FILE...      JPEG/PNG/PPM pictures, batched up to N per pass;\n"
      "                       prints the top-k classes of each\n"
      "  --eval DIR           evaluate an ImageFolder: DIR/<class>/<images>,\n"
      "                       classes sorted by name (class index = position),\n"
      "                       as torchvision's ImageFolder; prints top-1 and\n"
      "                       top-5 accuracy, per class, and the time\n"
      "  --video FILE         classify the frames of a video (FFmpeg's\n"
      "                       libraries, loaded when needed); prints each\n"
      "                       frame's top-k and the frames per second\n"
      "  --output FILE        write the output as a float32 .npy file\n"
      "                       (--input, --image)\n\n"
      "Images (--image, --eval, --video): torchvision's Resize, CenterCrop,\n"
      "ToTensor, Normalize, bit for bit:\n"
      "  --resize N | H,W     short side to N (default: crop * 256 / 224), or\n"
      "                       exactly H x W\n"
      "  --crop N | H,W       center crop (default and only size: the model's\n"
      "                       input, %lld x %lld)\n"
      "  --mean R,G,B         default 0.485,0.456,0.406 (ImageNet)\n"
      "  --std R,G,B          default 0.229,0.224,0.225\n"
      "  --labels FILE        class names, one per line (line i: class i);\n"
      "                       default: ImageNet's for a 1000-class output\n"
      "  --topk K             classes to print per image or frame (default 5)\n\n"
      "Evaluation and video:\n"
      "  --batch-size B       samples per call (default N; more than N run as\n"
      "                       several passes); also the batch of --bench\n"
      "  --eval-report FILE   write one CSV row per image: path, label, top-5\n"
      "  --decode-threads T   threads decoding images while the model runs\n"
      "                       (default: half the cores, 1 to 8)\n"
      "  --every K            classify every K-th frame (default 1)\n"
      "  --output-csv FILE    write one CSV row per classified frame\n\n"
      "Running:\n"
      "  --weights FILE       safetensors state_dict to run with (default:\n"
      "                       the weights given at compile time, else seeded);\n"
      "                       F32, F16 and BF16 load exactly, F64 is rounded to\n"
      "                       float32; num_batches_tracked is ignored\n"
      "  --strict             weights must match the model exactly (default)\n"
      "  --no-strict          load what matches by name and shape; seed the rest\n"
      "  --device D           cpu, cuda or auto (default auto: a GPU if there\n"
      "                       is one, else the CPU)\n"
      "  --devices 0,1|all    GPUs to split each batch across (one arena and\n"
      "                       CUDA graph per GPU, outputs gathered in order)\n"
      "  --threads N          CPU threads, 1 to 1024 (default: all); with at\n"
      "                       least N samples, each thread runs its own\n"
      "                       share of them through the whole network\n"
      "  --bench N            time N runs (1 to 100000) after a warm-up of\n"
      "                       N/10 (3 to 100): median, p10, p90, images/s\n"
      "  --quiet              no progress, no notes (errors only)\n"
      "  --dump-weights FILE  write the weights in use as safetensors\n"
      "  --help               this text\n",
      program, (long long)(m.input_rank == 4 ? m.input_shape[2] : 0),
      (long long)(m.input_rank == 4 ? m.input_shape[3] : 0));
  if (*m.cpu_kernels)
    std::printf("\nCPU kernels: %s; this CPU: %s\n"
                "  KILN_CPU=NAME        use the kernel set NAME (one of the above)\n"
                "  KILN_CPU_SAMPLES=K   samples each thread runs through the network\n"
                "                       at a time (default: as many as fit the cache)\n",
                m.cpu_kernels, *m.cpu_selected ? m.cpu_selected : "none of them");
  if (*m.cuda_precision)
    std::printf("CUDA code: %s\n", m.cuda_precision);
}

/// Parses |text| as a decimal integer in [min, max] (the whole string: no
/// sign tricks, no trailing characters, no overflow); fails naming |flag|.
long parseInt(const std::string &flag, const std::string &text, long min,
              long max) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (errno || text.empty() || *end || v < min || v > max ||
      !(std::isdigit(static_cast<unsigned char>(text[0]))))
    fail(flag + " expects an integer from " + std::to_string(min) + " to " +
         std::to_string(max) + ", got '" + text + "'");
  return v;
}

/// "N" or "H,W" for --resize and --crop.
void parseSize(const std::string &flag, const std::string &text, int &first,
               int &second) {
  size_t comma = text.find(',');
  first = int(parseInt(flag, text.substr(0, comma), 1, 65536));
  second = comma == std::string::npos
               ? 0
               : int(parseInt(flag, text.substr(comma + 1), 1, 65536));
}

/// "R,G,B" for --mean and --std: three finite numbers, each rounded to
/// float32 from its double value, as torch.as_tensor(list) does.
void parseTriple(const std::string &flag, const std::string &text,
                 float (&out)[3]) {
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    size_t comma = text.find(',', start);
    if ((i < 2) != (comma != std::string::npos))
      fail(flag + " expects three numbers R,G,B, got '" + text + "'");
    std::string item = text.substr(start, comma - start);
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end || errno || !std::isfinite(v))
      fail(flag + " expects three numbers R,G,B, got '" + text + "'");
    out[i] = float(v);
    start = comma + 1;
  }
}

Options parseOptions(int argc, char **argv, const kiln_model_info &m) {
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
      printHelp(m);
      std::exit(0);
    } else if (arg == "--input") {
      o.input = path();
    } else if (arg == "--image") {
      // One or more files, up to the next option.
      o.images.push_back(path());
      while (!inlineValue && i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
        if (!*argv[i + 1])
          fail("--image needs file names, got an empty one");
        o.images.push_back(argv[++i]);
      }
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
      o.topk = int(parseInt(arg, next(), 1, kMaxTopK));
    } else if (arg == "--bench") {
      o.bench = parseInt(arg, next(), 1, kMaxBench);
    } else if (arg == "--threads") {
      o.threads = int(parseInt(arg, next(), 1, kMaxThreads));
    } else if (arg == "--device") {
      o.device = next();
      if (o.device != "cpu" && o.device != "cuda" && o.device != "auto")
        fail("--device must be cpu, cuda or auto, got '" + o.device + "'");
    } else if (arg == "--devices") {
      o.devices = next();
      if (o.devices.empty())
        fail("--devices expects GPU numbers (0,1) or all");
    } else if (arg == "--resize") {
      parseSize(arg, next(), o.resize, o.resizeWidth);
    } else if (arg == "--crop") {
      parseSize(arg, next(), o.crop, o.cropWidth);
    } else if (arg == "--mean") {
      parseTriple(arg, next(), o.mean);
      o.haveMean = true;
    } else if (arg == "--std") {
      parseTriple(arg, next(), o.std);
      for (float s : o.std)
        if (s == 0.0f)
          fail("--std must not be zero");
      o.haveStd = true;
    } else if (arg == "--labels") {
      o.labels = path();
    } else if (arg == "--eval") {
      o.evalDir = path();
    } else if (arg == "--eval-report") {
      o.evalReport = path();
    } else if (arg == "--batch-size") {
      o.batchSize = parseInt(arg, next(), 1, kMaxBatchSize);
    } else if (arg == "--decode-threads") {
      o.decodeThreads = parseInt(arg, next(), 1, kMaxDecodeThreads);
    } else if (arg == "--video") {
      o.video = path();
    } else if (arg == "--every") {
      o.every = parseInt(arg, next(), 1, kMaxEvery);
    } else if (arg == "--output-csv") {
      o.outputCsv = path();
    } else if (arg == "--quiet") {
      o.quiet = true;
    } else {
      fail("unknown argument '" + arg + "' (see --help)");
    }
  }
  int sources = !o.input.empty() + !o.images.empty() + !o.evalDir.empty() +
                !o.video.empty();
  if (sources > 1)
    fail("give one of --input, --image, --eval and --video");
  if (sources == 0 && !o.bench && o.dumpWeights.empty())
    fail("nothing to do: give --input, --image, --eval, --video, --bench or "
         "--dump-weights (see --help)");
  if (!o.output.empty() && o.input.empty() && o.images.empty())
    fail("--output needs --input or --image");
  if (!o.evalReport.empty() && o.evalDir.empty())
    fail("--eval-report needs --eval");
  if ((!o.outputCsv.empty() || o.every != 1) && o.video.empty())
    fail("--every and --output-csv need --video");
  if (!o.devices.empty() && o.device == "cpu")
    fail("--devices names GPUs; it does not go with --device cpu");
  return o;
}

/// Reads --labels: one class name per line (a final newline is optional;
/// "\r\n" line ends are accepted).
std::vector<std::string> readLabels(const std::string &path, size_t classes) {
  std::vector<uint8_t> bytes;
  std::string error;
  if (!kiln::rt::readFile(path, bytes, error, uint64_t(64) << 20,
                          "a labels file"))
    fail(error);
  std::vector<std::string> labels;
  std::string text(bytes.begin(), bytes.end());
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    labels.push_back(line);
    start = end + 1;
  }
  if (labels.size() != classes)
    fail(path + ": " + std::to_string(labels.size()) +
         " class names, but the model has " + std::to_string(classes) +
         " classes (one name per line)");
  return labels;
}

/// The transform of the images, from the model's input and the options.
kiln_transform chooseTransform(const kiln_model_info &m, const Options &o,
                               bool needed) {
  kiln_transform t;
  bool image = m.input_rank == 4 && m.input_shape[1] == 3;
  if (!image) {
    if (needed)
      fail("images need a model with an N x 3 x H x W input; this one takes " +
           shapeString(m.input_shape, m.input_rank) + " (use --input)");
    kiln_transform_init(&t, 1, 1);
    return t;
  }
  int h = int(m.input_shape[2]), w = int(m.input_shape[3]);
  if (o.crop) {
    int ch = o.crop, cw = o.cropWidth ? o.cropWidth : o.crop;
    if (ch != h || cw != w)
      fail("--crop " + std::to_string(ch) + "x" + std::to_string(cw) +
           " does not fit the model, which takes " + std::to_string(h) + "x" +
           std::to_string(w) + " images");
  }
  kiln_transform_init(&t, h, w);
  if (o.resize) {
    t.resize_h = o.resize;
    t.resize_w = o.resizeWidth;
  }
  if (o.haveMean)
    std::copy(o.mean, o.mean + 3, t.mean);
  if (o.haveStd)
    std::copy(o.std, o.std + 3, t.std);
  return t;
}

/// The device string of kiln_options from --device and --devices.
std::string deviceString(const Options &o) {
  if (o.devices.empty())
    return o.device;
  if (o.devices == "all")
    return "cuda:all";
  return "cuda:" + o.devices;
}

/// The session's notes, on stderr; remembers a fallback to the CPU.
bool saidCpuFallback = false;
bool quietNotes = false;
void logNote(void *, const char *message) {
  std::string text = message;
  if (text.find("; running on the CPU") != std::string::npos)
    saidCpuFallback = true;
  bool warning = text.rfind("warning: ", 0) == 0;
  if (quietNotes && !warning)
    return;
  std::fprintf(stderr, "%s: %s\n", program, message);
}

/// --bench: |runs| timed passes of |batch| samples, with progress.
void bench(const Model &model, const Options &o) {
  int64_t batch = o.batchSize ? o.batchSize : model.batch;
  if (batch > model.batch)
    fail("--bench times one pass: --batch-size must be at most the compiled "
         "batch " + std::to_string(model.batch) + ", got " +
         std::to_string(batch));
  std::vector<double> times(size_t(o.bench));
  kiln::rt::Progress progress(model.progress, std::string(program) + ": bench");
  // In steps of about a tenth, so that the progress moves.
  int warmup = int(std::clamp(o.bench / 10, 3L, 100L));
  long step = std::max(1L, o.bench / 10);
  for (long done = 0; done < o.bench;) {
    int runs = int(std::min(step, o.bench - done));
    if (kiln_bench(model.session, batch, done == 0 ? warmup : 0, runs,
                   times.data() + done) != KILN_OK)
      failLast();
    done += runs;
    progress.count(done, o.bench, "runs");
  }
  progress.done();
  std::sort(times.begin(), times.end());
  auto at = [&](double q) {
    return times[std::min(times.size() - 1, size_t(q * double(times.size())))];
  };
  double median = at(0.5);
  std::printf("%s: batch %lld, %s, %ld runs: median %.3f ms, p10 %.3f ms, "
              "p90 %.3f ms, %.1f images/s\n",
              model.info.name, (long long)batch, kiln_device(model.session),
              o.bench, median, at(0.1), at(0.9),
              double(batch) * 1000.0 / median);
}

/// --image: classifies the pictures, up to N per pass.
void classifyImages(const Model &model, const Options &o) {
  size_t count = o.images.size();
  size_t plane = model.inSample;
  std::vector<float> input(count * plane), output(count * model.outSample);
  for (size_t i = 0; i < count; ++i)
    if (kiln_load_image(o.images[i].c_str(), &model.transform,
                        input.data() + i * plane) != KILN_OK)
      failLast();
  auto start = std::chrono::steady_clock::now();
  model.run(input.data(), int64_t(count), output.data());
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  if (!o.output.empty()) {
    std::vector<int64_t> shape(model.info.output_shape,
                               model.info.output_shape + model.info.output_rank);
    shape[0] = int64_t(count);
    std::string error;
    if (!kiln::rt::writeNpy(o.output, shape, output.data(), error))
      fail(error);
  }
  for (size_t i = 0; i < count; ++i) {
    if (count > 1)
      std::printf("%s\n", o.images[i].c_str());
    printTopK(model, output.data() + i * model.outSample, o.topk);
  }
  std::printf("time: %.2f ms%s (%s)\n", ms,
              count > 1 ? (" for " + std::to_string(count) + " images").c_str()
                        : "",
              kiln_device(model.session));
}

/// --input: any batch; the output has the same batch.
void runNpy(const Model &model, const Options &o) {
  const kiln_model_info &m = model.info;
  kiln::rt::NpyArray array;
  std::string error;
  // A file holds any batch (its size is known before it is read); a pipe
  // or a device at most one pass, so that /dev/zero is refused unread.
  uint64_t limit = kiln::rt::npyFileLimit(uint64_t(model.inSample) *
                                          uint64_t(model.batch));
  struct stat st;
  if (::stat(o.input.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    limit = std::max<uint64_t>(limit, uint64_t(st.st_size));
  if (!kiln::rt::readNpy(o.input, array, error, limit))
    fail(error);
  bool fits = int(array.shape.size()) == m.input_rank && m.input_rank > 0 &&
              array.shape[0] >= 1 &&
              std::equal(array.shape.begin() + 1, array.shape.end(),
                         m.input_shape + 1);
  if (!fits) {
    std::vector<int64_t> want(m.input_shape, m.input_shape + m.input_rank);
    std::string expected = shapeString(want.data(), int(want.size()));
    if (m.input_rank > 0)
      expected.replace(1, std::to_string(want[0]).size(), "B");
    fail(o.input + ": shape " +
         shapeString(array.shape.data(), int(array.shape.size())) +
         " does not match the model input " + expected + " (B: any batch)");
  }
  int64_t count = array.shape[0];
  bool perSample = m.output_rank > 0 && m.output_shape[0] == model.batch;
  if (!perSample && count != model.batch)
    fail(o.input + ": this model's output " +
         shapeString(m.output_shape, m.output_rank) +
         " is not per sample, so it takes batches of exactly " +
         std::to_string(model.batch));
  std::vector<float> output(size_t(count) * model.outSample);
  model.run(array.data.data(), count, output.data());
  std::vector<int64_t> shape(m.output_shape, m.output_shape + m.output_rank);
  if (perSample)
    shape[0] = count;
  if (!o.output.empty()) {
    if (!kiln::rt::writeNpy(o.output, shape, output.data(), error))
      fail(error);
    return;
  }
  std::printf("output %s:", shapeString(shape.data(), int(shape.size())).c_str());
  for (size_t i = 0; i < output.size() && i < 10; ++i)
    std::printf(" %g", double(output[i]));
  std::printf(output.size() > 10 ? " ...\n" : "\n");
}

int runMain(int argc, char **argv) {
  if (argc > 0 && argv[0])
    program = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
  Model model;
  kiln_model(&model.info);
  const kiln_model_info &m = model.info;
  Options o = parseOptions(argc, argv, m);
  quietNotes = o.quiet;
  model.progress = kiln::rt::Progress::choose(o.quiet);
  if ((o.device == "cuda" || !o.devices.empty()) && !*m.cuda_precision)
    fail("this executable has no CUDA code (compile with --target cuda or all)");
  if (o.device == "cpu" && !*m.cpu_kernels)
    fail("this executable has no CPU code (compile with --target cpu or all)");
  model.batch = m.input_rank ? m.input_shape[0] : 1;
  model.inSample = 1;
  for (int i = 1; i < m.input_rank; ++i)
    model.inSample *= size_t(m.input_shape[i]);
  model.outSample = 1;
  for (int i = m.output_shape[0] == model.batch ? 1 : 0; i < m.output_rank; ++i)
    model.outSample *= size_t(m.output_shape[i]);
  bool images = !o.images.empty() || !o.evalDir.empty() || !o.video.empty();
  model.transform = chooseTransform(m, o, images);
  if (!o.labels.empty())
    model.labels = readLabels(o.labels, model.outSample);
  else if (m.imagenet_classes)
    for (int c = 0; c < 1000; ++c)
      model.labels.push_back(kiln_imagenet_label(c));

  kiln_options options;
  kiln_options_init(&options);
  std::string device = deviceString(o);
  options.device = device.c_str();
  options.threads = o.threads;
  options.weights = o.weights.empty() ? nullptr : o.weights.c_str();
  options.strict = o.strict;
  options.log = logNote;
  if (kiln_open(&options, &model.session) != KILN_OK)
    failLast();
  openSession = model.session;
  if (!o.dumpWeights.empty() &&
      kiln_dump_weights(model.session, o.dumpWeights.c_str()) != KILN_OK)
    failLast();
  if (o.input.empty() && !images && !o.bench) {
    kiln_close(model.session);
    openSession = nullptr;
    return 0;
  }
  bool gpu = kiln_on_gpu(model.session);
  if (!o.quiet && (gpu || (o.device == "auto" && !saidCpuFallback &&
                           (o.bench || images))))
    std::fprintf(stderr, "%s: running on %s\n", program,
                 gpu ? kiln_device(model.session) : "the CPU");

  if (o.bench)
    bench(model, o);
  int status = 0;
  if (!o.input.empty())
    runNpy(model, o);
  else if (!o.images.empty())
    classifyImages(model, o);
  else if (!o.evalDir.empty())
    status = evaluateFolder(model, o);
  else if (!o.video.empty())
    status = classifyVideo(model, o);
  kiln_close(model.session);
  openSession = nullptr;
  return status;
}

} // namespace

/// main: runMain, with the failures no input may turn into an abort (an
/// allocation the machine cannot give, a thread it cannot start) reported
/// as one error and exit code 1.
int main(int argc, char **argv) {
  try {
    return runMain(argc, argv);
  } catch (const std::bad_alloc &) {
    fail("out of memory (the model's buffers, its weights or an input are "
         "larger than this machine can allocate)");
  } catch (const std::system_error &e) {
    fail(std::string("system error: ") + e.what());
  }
  return 1;
}
