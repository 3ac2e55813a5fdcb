//===- session.cpp - a compiled model, ready to run -----------------------===//
//
// This file implements kiln::rt::Session (session.h): weights, the choice of
// device, batches of any size, and the benchmark loop.
//
//===----------------------------------------------------------------------===//

#include "session.h"

#include "kiln/cpu/kernels.h"
#include "kiln/tensor_io.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace kiln::rt {

namespace {

int64_t product(const int64_t *shape, int rank) {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= shape[i];
  return n;
}

std::string shapeString(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The CPU kernel set of this process: the best one this CPU runs, or
/// $KILN_CPU's; chosen once, whichever session (or kiln_model) asks first.
struct CpuChoice {
  const cpu::KernelTable *table = nullptr;
  std::string error, description;
};

const CpuChoice &cpuChoice() {
  static const CpuChoice choice = [] {
    CpuChoice c;
    const ModelInfo &m = kModel;
    if (m.num_cpu_kernels == 0)
      return c;
    c.table = cpu::choose_kernels(m.cpu_kernels, m.num_cpu_kernels,
                                  std::getenv("KILN_CPU"), c.error);
    if (c.table) {
      cpu::use_kernels(*c.table);
      std::string model = cpu::cpu_model_name();
      c.description =
          std::string(c.table->name) + (model.empty() ? "" : " (" + model + ")");
    }
    return c;
  }();
  return choice;
}

/// What kiln_options.device asks for.
struct DeviceRequest {
  enum Kind { Auto, Cpu, Cuda } kind = Auto;
  std::vector<int> gpus; ///< empty with |all|
  bool all = false;
};

bool parseDevice(const char *text, DeviceRequest &request, Status &status) {
  std::string d = text && *text ? text : "auto";
  auto bad = [&](const std::string &why) {
    return status.fail(KILN_ERROR_ARGUMENT,
                       "device '" + d + "': " + why +
                           " (expected auto, cpu, cuda, cuda:N, cuda:N,M,... "
                           "or cuda:all)");
  };
  if (d == "auto")
    return true;
  if (d == "cpu") {
    request.kind = DeviceRequest::Cpu;
    return true;
  }
  if (d == "cuda") {
    request.kind = DeviceRequest::Cuda;
    request.gpus = {0};
    return true;
  }
  if (d.rfind("cuda:", 0) != 0)
    return bad("unknown device");
  request.kind = DeviceRequest::Cuda;
  std::string list = d.substr(5);
  if (list == "all") {
    request.all = true;
    return true;
  }
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma - start);
    if (item.empty() || item.size() > 4 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      return bad("'" + item + "' is not a GPU number");
    int gpu = std::stoi(item);
    if (std::find(request.gpus.begin(), request.gpus.end(), gpu) !=
        request.gpus.end())
      return bad("GPU " + item + " is named twice");
    request.gpus.push_back(gpu);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return true;
}

/// Memory for the activations and prepared weights: 64-byte aligned.
char *alignedAlloc(size_t bytes) {
  return static_cast<char *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64));
}

/// Samples per pass of one CPU thread (Session::cpuRun): as many as keep
/// one pass's activations within kiln/cpu/layout.h's kCpuPassBytes (a
/// little more than the L2 cache of one core), at least one, at most N;
/// $KILN_CPU_SAMPLES sets it. The arena is the activations of N samples and
/// a little scratch, so arena_bytes / N approximates one sample's. Measured
/// on Zen 5 (2 MiB L2), batch 32: one sample a pass was fastest for
/// ResNet-50, MobileNetV2, GhostNet and ShuffleNetV2 on one thread (1.1x to
/// 1.9x faster a sample than one pass of 32), within 5% of two on two
/// threads. A model whose activations are small (an MLP) keeps whole
/// passes, and shares its weights among them. False, with |error|, if
/// $KILN_CPU_SAMPLES is not a positive number.
bool cpuMicroBatch(const ModelInfo &m, int64_t batch, int &samples,
                   std::string &error) {
  if (const char *forced = std::getenv("KILN_CPU_SAMPLES")) {
    char *end = nullptr;
    long n = std::strtol(forced, &end, 10);
    if (end == forced || *end != '\0' || n < 1 || n > 1000000) {
      error = std::string("KILN_CPU_SAMPLES: '") + forced +
              "' is not a number of samples from 1 to 1000000";
      return false;
    }
    samples = int(std::min<int64_t>(n, batch));
    return true;
  }
  samples = cpu::cpu_pass_samples(double(m.arena_bytes) / double(batch),
                                   int(batch));
  return true;
}

} // namespace

size_t sampleFloats(const int64_t *shape, int rank) {
  return size_t(rank ? product(shape + 1, rank - 1) : 1);
}

const kiln_model_info &modelInfo() {
  static const kiln_model_info info = [] {
    const ModelInfo &m = kModel;
    kiln_model_info i = {};
    i.name = m.name;
    i.input_rank = m.input_rank;
    std::copy(m.input_shape, m.input_shape + m.input_rank, i.input_shape);
    i.output_rank = m.output_rank;
    std::copy(m.output_shape, m.output_shape + m.output_rank, i.output_shape);
    i.flexible_batch = m.flexible_batch;
    i.imagenet_classes = m.imagenet_classes;
    i.embedded_weights = m.embedded_weights != nullptr;
    static std::string sets;
    for (int k = 0; k < m.num_cpu_kernels; ++k)
      sets += (k ? ", " : "") + std::string(m.cpu_kernels[k]->name);
    i.cpu_kernels = sets.c_str();
    i.cpu_selected = cpuChoice().description.c_str();
    i.cuda_precision = m.cuda ? m.cuda->precision : "";
    return i;
  }();
  return info;
}

Session::Session(const ModelInfo &model) : model_(model) {
  batch_ = model.input_rank ? model.input_shape[0] : 1;
  inSample_ = sampleFloats(model.input_shape, model.input_rank);
  // An output whose first dimension is not the batch is not per sample.
  bool perSample = model.output_rank && model.output_shape[0] == batch_;
  outSample_ = perSample ? sampleFloats(model.output_shape, model.output_rank)
                         : size_t(product(model.output_shape, model.output_rank));
}

Session::~Session() = default;

void Session::log(const std::string &message) const {
  if (log_)
    log_(logUser_, message.c_str());
}

std::unique_ptr<Session> Session::open(const kiln_options &options,
                                       Status &status) {
  std::unique_ptr<Session> s(new Session(kModel));
  s->log_ = options.log;
  s->logUser_ = options.log_user;
  if (options.threads < 0 || options.threads > 1024) {
    status.fail(KILN_ERROR_ARGUMENT, "threads must be from 0 (all cores) to "
                                     "1024, got " +
                                         std::to_string(options.threads));
    return nullptr;
  }
  DeviceRequest request;
  if (!parseDevice(options.device, request, status) ||
      !s->loadWeights(options, status) || !s->openDevices(options, status))
    return nullptr;
  return s;
}

bool Session::loadWeights(const kiln_options &o, Status &status) {
  const ModelInfo &m = model_;
  weights_.emplace(m.params, m.num_params);
  std::vector<uint8_t> bytes;
  const uint8_t *data = nullptr;
  size_t size = 0;
  std::string source, error;
  if (o.weights) {
    if (!*o.weights)
      return status.fail(KILN_ERROR_ARGUMENT,
                         "the weights file name is empty");
    if (!readFile(o.weights, bytes, error, weights_->fileLimit(),
                  "a weights file of this model"))
      return status.fail(KILN_ERROR_FILE, error);
    data = bytes.data();
    size = bytes.size();
    source = o.weights;
  } else if (m.embedded_weights) {
    data = m.embedded_weights;
    size = m.embedded_weights_size;
    source = "embedded weights";
  } else {
    log("warning: no weights given; running with seeded weights (PyTorch's "
        "default initialization)");
    return true;
  }
  auto file = SafeTensors::parse(data, size, source, error);
  if (!file)
    return status.fail(KILN_ERROR_FILE, error);
  LoadReport report;
  if (!weights_->load(*file, o.strict != 0, report, error))
    return status.fail(KILN_ERROR_WEIGHTS, source + ": " + error);
  if (!o.strict) {
    std::string text = "loaded " + std::to_string(report.loaded) + " of " +
                       std::to_string(m.num_params) + " tensors from " + source;
    auto list = [&](const char *what, const std::vector<std::string> &names) {
      for (const std::string &n : names)
        text += "\n  " + std::string(what) + ": " + n;
    };
    list("missing (seeded)", report.missing);
    list("unexpected (ignored)", report.unexpected);
    list("mismatch (seeded)", report.mismatched);
    log(text);
  }
  return true;
}

bool Session::openDevices(const kiln_options &o, Status &status) {
  const ModelInfo &m = model_;
  DeviceRequest request;
  parseDevice(o.device, request, status); // checked by open()
  if (request.kind == DeviceRequest::Cpu || (request.kind == DeviceRequest::Auto && !m.cuda))
    return openCpu(o.threads, status);
  if (!m.cuda)
    return status.fail(KILN_ERROR_DEVICE,
                       "this model was compiled without CUDA code (kiln "
                       "compile --target cuda or all)");
  std::vector<const float *> params = weights_->pointers();
  std::string error;
  bool autoFallback = request.kind == DeviceRequest::Auto && m.run;
  auto unavailableGpu = [&](const std::string &why) {
    if (!autoFallback)
      return status.fail(KILN_ERROR_DEVICE, why);
    log(why + "; running on the CPU");
    return openCpu(o.threads, status);
  };
  int count = m.cuda->device_count(error);
  if (count <= 0)
    return unavailableGpu(error.empty() ? "no CUDA device" : error);
  std::vector<int> gpus = request.gpus;
  if (request.kind == DeviceRequest::Auto)
    gpus = {0};
  if (request.all)
    for (int i = 0; i < count; ++i)
      gpus.push_back(i);
  for (int gpu : gpus)
    if (gpu >= count)
      return status.fail(KILN_ERROR_DEVICE,
                         "there is no CUDA device " + std::to_string(gpu) +
                             ": this machine has " + std::to_string(count) +
                             (count == 1 ? " (device 0)"
                                         : " (devices 0 to " +
                                               std::to_string(count - 1) + ")"));
  for (int gpu : gpus) {
    bool unavailable = false;
    auto session = m.cuda->open(m, params, gpu, error, unavailable);
    if (!session) {
      gpus_.clear();
      if (unavailable)
        return unavailableGpu(error);
      bool memory = error.find("out of GPU memory") != std::string::npos;
      return status.fail(memory ? KILN_ERROR_MEMORY : KILN_ERROR_RUNTIME,
                         error);
    }
    gpus_.push_back(std::move(session));
  }
  for (size_t i = 0; i < gpus_.size(); ++i)
    device_ += (i ? " + " : "") +
               (gpus.size() > 1 ? "cuda:" + std::to_string(gpus[i]) + " " : "") +
               gpus_[i]->description();
  return true;
}

bool Session::openCpu(int threads, Status &status) {
  const ModelInfo &m = model_;
  if (!m.run)
    return status.fail(KILN_ERROR_DEVICE,
                       "this model was compiled without CPU code (kiln "
                       "compile --target cpu or all)");
  const CpuChoice &choice = cpuChoice();
  if (!choice.table)
    return status.fail(KILN_ERROR_DEVICE, choice.error);
  std::string error;
  if (!cpuMicroBatch(m, batch_, microBatch_, error))
    return status.fail(KILN_ERROR_ARGUMENT, error);
  try {
    pool_ = std::make_unique<ThreadPool>(threads);
  } catch (const std::system_error &e) {
    return status.fail(KILN_ERROR_RUNTIME,
                       "cannot start " + std::to_string(threads) +
                           " threads: " + e.what() + " (use fewer threads)");
  }
  prepared_.reset(alignedAlloc(m.prepared_floats * sizeof(float)));
  arena_.reset(alignedAlloc(m.arena_bytes));
  if (!prepared_ || !arena_)
    return status.fail(KILN_ERROR_MEMORY,
                       "out of memory (" +
                           std::to_string(m.prepared_floats * sizeof(float) +
                                          m.arena_bytes) +
                           " bytes for the prepared weights and activations)");
  std::vector<const float *> params = weights_->pointers();
  m.prepare(params.data(), reinterpret_cast<float *>(prepared_.get()), *pool_);
  device_ = std::to_string(pool_->size()) + " threads, cpu " + choice.description;
  return true;
}

void Session::cpuPass(const float *input, int batch, float *output) {
  model_.run(reinterpret_cast<const float *>(prepared_.get()), input, output,
             arena_.get(), *pool_, batch);
}

bool Session::perSampleOutput() const {
  return outSample_ == sampleFloats(model_.output_shape, model_.output_rank);
}

bool Session::cpuSplits() const {
  return gpus_.empty() && (model_.flexible_batch || batch_ == 1) &&
         perSampleOutput();
}

/// A batch on the CPU, in one of two ways:
///  * Sample-parallel, when there are at least as many samples as threads:
///    each thread takes an equal share and runs it through the whole
///    network alone (a pool of one), in an arena of its own. No thread waits
///    for another between layers, and each works on its own samples'
///    activations, which stay in its caches; the samples left over (fewer
///    than the threads) then run with all the threads on each layer.
///  * Otherwise every layer is split among the threads (cpuPass).
/// Either way a thread's samples go in passes of microBatch_: one pass of
/// a large batch streams activations far larger than the caches from layer
/// to layer (ResNet-50 at batch 32 ran 1.2x slower a sample than at batch
/// 1), while a few samples a pass still share each layer's weights.
void Session::cpuRun(const float *input, int64_t batch, float *output) {
  const float *prepared = reinterpret_cast<const float *>(prepared_.get());
  const int64_t most = std::min<int64_t>(microBatch_, batch_);
  auto passes = [&](int64_t first, int64_t count, char *arena,
                    ThreadPool &pool) {
    for (int64_t done = first; done < first + count;) {
      int take = int(std::min(first + count - done, most));
      model_.run(prepared, input + size_t(done) * inSample_,
                 output + size_t(done) * outSample_, arena, pool, take);
      done += take;
    }
  };
  const int threads = pool_->size();
  const int64_t each = batch / threads;
  if (threads > 1 && each > 0) {
    // The first thread uses the session's arena; the others get theirs
    // once. Without the memory, the layers are split instead.
    while (int(workerArenas_.size()) < threads - 1) {
      std::unique_ptr<char, Aligned> arena(alignedAlloc(model_.arena_bytes));
      if (!arena)
        break;
      workerArenas_.push_back(std::move(arena));
    }
    while (int(serialPools_.size()) < threads)
      serialPools_.push_back(std::make_unique<ThreadPool>(1));
    if (int(workerArenas_.size()) == threads - 1) {
      pool_->parallel_for(threads, [&](int64_t t) {
        char *arena = t == 0 ? arena_.get() : workerArenas_[t - 1].get();
        passes(t * each, each, arena, *serialPools_[t]);
      });
      passes(threads * each, batch - threads * each, arena_.get(), *pool_);
      return;
    }
  }
  passes(0, batch, arena_.get(), *pool_);
}

bool Session::pass(const float *input, int batch, float *output,
                   Status &status) {
  if (cpuSplits()) {
    cpuRun(input, batch, output);
    return true;
  }
  const bool whole = batch == batch_ || model_.flexible_batch;
  if (gpus_.empty()) {
    if (whole) {
      cpuPass(input, batch, output);
      return true;
    }
    // Padded to N with zeros; the outputs of the padding are dropped.
    padIn_.assign(size_t(batch_) * inSample_, 0.0f);
    padOut_.resize(size_t(batch_) * outSample_);
    std::copy_n(input, size_t(batch) * inSample_, padIn_.begin());
    cpuPass(padIn_.data(), int(batch_), padOut_.data());
    std::copy_n(padOut_.begin(), size_t(batch) * outSample_, output);
    return true;
  }
  // An even share of the batch for each GPU, in order (the first ones take
  // one more when it does not divide), run concurrently.
  const int devices = int(gpus_.size());
  struct Share {
    int offset, count;
  };
  std::vector<Share> shares;
  for (int d = 0, offset = 0; d < devices; ++d) {
    int count = batch / devices + (d < batch % devices ? 1 : 0);
    shares.push_back({offset, count});
    offset += count;
  }
  const bool padded = !model_.flexible_batch;
  if (padded) {
    padIn_.assign(size_t(devices) * batch_ * inSample_, 0.0f);
    padOut_.resize(size_t(devices) * batch_ * outSample_);
  }
  std::string error;
  bool ok = true;
  int started = 0;
  for (int d = 0; d < devices && ok; ++d, ++started) {
    const Share &s = shares[d];
    if (s.count == 0)
      break;
    const float *in = input + size_t(s.offset) * inSample_;
    int count = s.count;
    if (padded && count != batch_) {
      float *slot = padIn_.data() + size_t(d) * batch_ * inSample_;
      std::copy_n(in, size_t(count) * inSample_, slot);
      in = slot;
      count = int(batch_);
    }
    ok = gpus_[d]->start(in, count, error);
  }
  // Wait for every device that started, even after a failure.
  for (int d = 0; d < started; ++d) {
    const Share &s = shares[d];
    float *out = output + size_t(s.offset) * outSample_;
    bool pad = padded && s.count != batch_;
    float *dst = pad ? padOut_.data() + size_t(d) * batch_ * outSample_ : out;
    std::string finishError;
    if (!gpus_[d]->finish(dst, finishError)) {
      if (ok)
        error = finishError;
      ok = false;
      continue;
    }
    if (pad)
      std::copy_n(dst, size_t(s.count) * outSample_, out);
  }
  if (!ok)
    return status.fail(KILN_ERROR_RUNTIME, error);
  return true;
}

bool Session::run(const float *input, int64_t batch, float *output,
                  Status &status) {
  if (!input || !output)
    return status.fail(KILN_ERROR_ARGUMENT, "the input or output is null");
  if (batch < 1)
    return status.fail(KILN_ERROR_ARGUMENT,
                       "the batch must be at least 1, got " +
                           std::to_string(batch));
  const ModelInfo &m = model_;
  if (!perSampleOutput() && batch != batch_)
    return status.fail(KILN_ERROR_ARGUMENT,
                       "this model's output " +
                           shapeString(m.output_shape, m.output_rank) +
                           " is not per sample: it runs batches of exactly " +
                           std::to_string(batch_) + ", got " +
                           std::to_string(batch));
  // The CPU takes any number of samples at once (threads share them out);
  // otherwise passes of at most N samples per device.
  if (cpuSplits()) {
    cpuRun(input, batch, output);
    return true;
  }
  const int64_t most = batch_ * int64_t(std::max<size_t>(gpus_.size(), 1));
  for (int64_t done = 0; done < batch;) {
    int take = int(std::min(batch - done, most));
    if (!pass(input + size_t(done) * inSample_, take,
              output + size_t(done) * outSample_, status))
      return false;
    done += take;
  }
  return true;
}

bool Session::bench(int64_t batch, int warmup, int runs, double *milliseconds,
                    Status &status) {
  if (batch < 1 || batch > batch_)
    return status.fail(KILN_ERROR_ARGUMENT,
                       "the benchmark's batch must be from 1 to " +
                           std::to_string(batch_) + ", got " +
                           std::to_string(batch));
  if (runs < 1 || warmup < 0 || !milliseconds)
    return status.fail(KILN_ERROR_ARGUMENT,
                       "the benchmark needs at least 1 run, no negative "
                       "warm-up and a buffer for the times");
  if (gpus_.size() == 1) {
    // Device time of graph replays, with events. A batch the graph does not
    // take is timed as the padded pass it runs.
    int b = model_.flexible_batch ? int(batch) : int(batch_);
    std::vector<double> times;
    std::string error;
    if (!gpus_[0]->bench(b, warmup, runs, times, error))
      return status.fail(KILN_ERROR_RUNTIME, error);
    std::copy(times.begin(), times.end(), milliseconds);
    return true;
  }
  // The CPU, or several GPUs: the wall time of whole passes.
  std::vector<float> in(size_t(batch) * inSample_, 0.0f);
  std::vector<float> out(size_t(batch) * outSample_);
  for (int i = 0; i < warmup + runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!pass(in.data(), int(batch), out.data(), status))
      return false;
    if (i >= warmup)
      milliseconds[i - warmup] = std::chrono::duration<double, std::milli>(
                                     std::chrono::steady_clock::now() - start)
                                     .count();
  }
  return true;
}

bool Session::dumpWeights(const std::string &path, Status &status) const {
  std::string error;
  if (!weights_->dump(path, error))
    return status.fail(KILN_ERROR_FILE, error);
  return true;
}

} // namespace kiln::rt
