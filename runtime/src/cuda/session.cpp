//===- session.cpp - running a model on a CUDA device ---------------------===//
//
// This file implements the runtime's CUDA backend: kiln::cuda::openSession
// opens one device: it uploads the prepared weights once, allocates one
// device arena (plus the split-K workspace and the input and output
// buffers), runs the model once eagerly (so kernels set their shared-memory
// limits outside a capture), then captures the forward pass of the compiled
// batch into a CUDA graph that every run replays. A smaller batch (when the
// generated code takes the batch at run time) gets its own graph, captured
// the first time it runs: one graph per batch size used. Host input and
// output go through pinned buffers; start() enqueues a pass and returns, so
// that a session over several devices (kiln::rt::Session) runs them at once.
// Every CUDA call is checked; a failure becomes one message naming the call.
// KILN_CUDA_PROFILE=N times each step of the pass over N eager runs
// (kiln/cuda/profile.h).
//
// The same file builds twice: against the CUDA runtime (libkiln_cuda), and
// against kiln's SIMT emulator (libkiln_cuda_emulated, KILN_CUDA_EMULATED),
// which is how CI, without a GPU, runs this code.
//
//===----------------------------------------------------------------------===//

#include "kiln/cuda/arch.h"
#include "kiln/cuda/profile.h"
#include "kiln/runtime.h"

#ifndef KILN_CUDA_EMULATED
#include <cuda_runtime.h>
// NVTX 3 is header-only: without a tool attached (ncu) its calls are no-ops.
#include <nvtx3/nvToolsExt.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

kiln::cuda::StepHooks *kiln::cuda::step_hooks = nullptr;

namespace kiln::cuda {

std::unique_ptr<rt::DeviceSession>
openSession(const rt::ModelInfo &model, const std::vector<const float *> &params,
            int device, std::string &error, bool &unavailable);
int deviceCount(std::string &error);

} // namespace kiln::cuda

using namespace kiln;

namespace {

/// Checks a CUDA call: on failure sets |error| and returns false.
bool check(cudaError_t status, const char *call, std::string &error) {
  if (status == cudaSuccess)
    return true;
  error = std::string(call) + " failed: " + cudaGetErrorString(status);
  // Clear a sticky error state so that a later query reports fresh errors.
  (void)cudaGetLastError();
  return false;
}

#define KILN_CUDA_CHECK(call)                                                  \
  do {                                                                         \
    if (!check((call), #call, error))                                          \
      return false;                                                            \
  } while (0)

int64_t product(const int64_t *shape, int rank) {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= shape[i];
  return n;
}

/// KILN_CUDA_PROFILE: a CUDA event before and after every step of eager
/// forward passes, and an NVTX range around it ("k017_layer3.0.conv2").
class StepProfiler {
public:
  ~StepProfiler() {
    for (cudaEvent_t e : events)
      cudaEventDestroy(e);
  }

  /// Installs the hooks for one pass; |run| indexes the pass.
  void start(int run) {
    current = run;
    active = this;
    kiln::cuda::step_hooks = &hooks;
  }
  void stop() {
    kiln::cuda::step_hooks = nullptr;
    active = nullptr;
  }

  /// The first failing CUDA call of the hooks, if any.
  cudaError_t status = cudaSuccess;
  std::vector<std::string> names;
  /// [run][step] event pairs.
  std::vector<cudaEvent_t> events;
  int steps = 0, current = 0;

  cudaEvent_t &event(int run, int step, int which) {
    return events[(size_t(run) * size_t(steps) + size_t(step)) * 2 + size_t(which)];
  }

private:
  static StepProfiler *active;
  static void begin(int step, const char *name, void *stream) {
    StepProfiler &p = *active;
    if (p.current == 0) { // the first pass discovers the steps
      if (step >= int(p.names.size()))
        p.names.resize(size_t(step) + 1);
      std::string range = name;
      for (char &c : range)
        if (c == '/' || c == '@' || c == ' ')
          c = '_';
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "k%03d_", step);
      p.names[size_t(step)] = prefix + range;
    }
#ifndef KILN_CUDA_EMULATED
    if (step < int(p.names.size()))
      nvtxRangePushA(p.names[size_t(step)].c_str());
#endif
    p.record(step, 0, stream);
  }
  static void end(int step, void *stream) {
    StepProfiler &p = *active;
    p.record(step, 1, stream);
#ifndef KILN_CUDA_EMULATED
    nvtxRangePop();
#endif
  }
  void record(int step, int which, void *stream) {
    if (status != cudaSuccess || step >= steps)
      return;
    status = cudaEventRecord(event(current, step, which),
                             static_cast<cudaStream_t>(stream));
  }

  kiln::cuda::StepHooks hooks{begin, end};
};

StepProfiler *StepProfiler::active = nullptr;

/// Makes |device| current for a scope and then restores the caller's
/// current device: a session must not change the device of a program's
/// thread that uses CUDA itself.
class DeviceScope {
public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous) != cudaSuccess)
      previous = -1;
    status = cudaSetDevice(device);
  }
  ~DeviceScope() {
    if (previous >= 0)
      (void)cudaSetDevice(previous);
  }
  cudaError_t status;

private:
  int previous = -1;
};

class CudaSession : public rt::DeviceSession {
public:
  CudaSession(const rt::ModelInfo &model, int device, int variant)
      : model(model), cuda(*model.cuda), device(device), variant(variant),
        plan(model.cuda->variants[variant]) {}

  ~CudaSession() override {
    DeviceScope scope(device);
    if (scope.status != cudaSuccess)
      return;
    for (auto &[batch, exec] : graphs)
      cudaGraphExecDestroy(exec);
    for (void *p : {arena, workspace, prepared, input, output})
      if (p)
        cudaFree(p);
    for (void *p : {hostInput, hostOutput})
      if (p)
        cudaFreeHost(p);
    if (stream)
      cudaStreamDestroy(stream);
  }

  /// Allocates, uploads the weights and captures the graph of batch N.
  bool init(const std::vector<const float *> &params, std::string &error) {
    DeviceScope scope(device);
    KILN_CUDA_CHECK(scope.status);
    KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    batchSize = model.input_rank ? int(model.input_shape[0]) : 1;
    inputBytes = sizeof(float) * size_t(product(model.input_shape, model.input_rank));
    outputBytes =
        sizeof(float) * size_t(product(model.output_shape, model.output_rank));
    // cudaMalloc rejects 0 bytes on some versions: allocate at least 256.
    auto bytes = [](size_t n) { return std::max<size_t>(n, 256); };
    if (!allocate(&prepared, bytes(plan.prepared_bytes), "the weights", error) ||
        !allocate(&arena, bytes(cuda.arena_bytes), "the activations", error) ||
        !allocate(&workspace, bytes(plan.workspace_bytes),
                  "the split-K workspace", error) ||
        !allocate(&input, inputBytes, "the input", error) ||
        !allocate(&output, outputBytes, "the output", error))
      return false;
    KILN_CUDA_CHECK(cudaMallocHost(&hostInput, inputBytes));
    KILN_CUDA_CHECK(cudaMallocHost(&hostOutput, outputBytes));

    // Weights: prepared on the host in pinned memory, uploaded once.
    void *staging = nullptr;
    KILN_CUDA_CHECK(cudaMallocHost(&staging, bytes(plan.prepared_bytes)));
    cuda.prepare(params.data(), staging, variant);
    bool ok = check(cudaMemcpy(prepared, staging, plan.prepared_bytes,
                               cudaMemcpyHostToDevice),
                    "cudaMemcpy(weights)", error);
    cudaFreeHost(staging);
    if (!ok)
      return false;

    // Split-K tile counters start at zero (the kernels leave them so).
    KILN_CUDA_CHECK(cudaMemsetAsync(workspace, 0, bytes(plan.workspace_bytes), stream));
    // One eager run (kernels configure themselves), then the capture.
    KILN_CUDA_CHECK(cudaMemsetAsync(input, 0, inputBytes, stream));
    if (!check(forward(batchSize), "launching the model's kernels", error))
      return false;
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (!graphFor(batchSize, error))
      return false;
    if (const char *runs = std::getenv("KILN_CUDA_PROFILE"); runs && *runs)
      return profile(runs, error);
    return true;
  }

  std::string description() const override { return name; }

  bool start(const float *in, int batch, std::string &error) override {
    DeviceScope scope(device);
    KILN_CUDA_CHECK(scope.status);
    cudaGraphExec_t exec = graphFor(batch, error);
    if (!exec)
      return false;
    size_t inBytes = inputBytes / size_t(batchSize) * size_t(batch);
    pending = batch == batchSize
                  ? outputBytes
                  : outputBytes / size_t(batchSize) * size_t(batch);
    std::memcpy(hostInput, in, inBytes);
    KILN_CUDA_CHECK(cudaMemcpyAsync(input, hostInput, inBytes,
                                    cudaMemcpyHostToDevice, stream));
    KILN_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    KILN_CUDA_CHECK(cudaMemcpyAsync(hostOutput, output, pending,
                                    cudaMemcpyDeviceToHost, stream));
    return true;
  }

  bool finish(float *out, std::string &error) override {
    DeviceScope scope(device);
    KILN_CUDA_CHECK(scope.status);
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::memcpy(out, hostOutput, pending);
    return true;
  }

  bool bench(int batch, long warmup, long runs, std::vector<double> &ms,
             std::string &error) override {
    DeviceScope scope(device);
    KILN_CUDA_CHECK(scope.status);
    cudaGraphExec_t exec = graphFor(batch, error);
    if (!exec)
      return false;
    for (long i = 0; i < warmup; ++i)
      KILN_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    cudaEvent_t start = nullptr, stop = nullptr;
    KILN_CUDA_CHECK(cudaEventCreate(&start));
    KILN_CUDA_CHECK(cudaEventCreate(&stop));
    bool ok = true;
    for (long i = 0; i < runs && ok; ++i) {
      float elapsed = 0;
      ok = check(cudaEventRecord(start, stream), "cudaEventRecord", error) &&
           check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch", error) &&
           check(cudaEventRecord(stop, stream), "cudaEventRecord", error) &&
           check(cudaEventSynchronize(stop), "cudaEventSynchronize", error) &&
           check(cudaEventElapsedTime(&elapsed, start, stop),
                 "cudaEventElapsedTime", error);
      ms.push_back(elapsed);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return ok;
  }

  std::string name;

private:
  /// cudaMalloc with a message that says what did not fit, and how much
  /// memory the device has.
  static bool allocate(void **p, size_t n, const char *what, std::string &error) {
    cudaError_t status = cudaMalloc(p, n);
    if (status == cudaSuccess)
      return true;
    (void)cudaGetLastError();
    char text[256];
    size_t free = 0, total = 0;
    if (status == cudaErrorMemoryAllocation &&
        cudaMemGetInfo(&free, &total) == cudaSuccess) {
      std::snprintf(text, sizeof text,
                    "out of GPU memory: %.1f MiB for %s do not fit (%.1f of "
                    "%.1f MiB free); try a smaller --batch",
                    double(n) / 1048576, what, double(free) / 1048576,
                    double(total) / 1048576);
      error = text;
    } else {
      error = std::string("cudaMalloc for ") + what +
              " failed: " + cudaGetErrorString(status);
    }
    return false;
  }

  /// KILN_CUDA_PROFILE=|text| (1 to 10000 runs): times every step of the
  /// forward pass over that many eager runs after one warm-up and prints
  /// one line per step, slowest first, to stderr.
  bool profile(const char *text, std::string &error) {
    char *end = nullptr;
    long runs = std::strtol(text, &end, 10);
    if (*end || runs < 1 || runs > 10000) {
      error = std::string("KILN_CUDA_PROFILE='") + text +
              "': expected a number of runs, 1 to 10000";
      return false;
    }
    StepProfiler p;
    // A warm-up pass names the steps (it records no events: steps is 0).
    p.start(0);
    cudaError_t status = forward(batchSize);
    p.stop();
    KILN_CUDA_CHECK(status);
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    p.steps = int(p.names.size());
    p.events.assign(size_t(runs + 1) * size_t(p.steps) * 2, nullptr);
    for (cudaEvent_t &e : p.events)
      KILN_CUDA_CHECK(cudaEventCreate(&e));
    for (long r = 1; r <= runs; ++r) {
      p.start(int(r));
      status = forward(batchSize);
      p.stop();
      KILN_CUDA_CHECK(status);
      KILN_CUDA_CHECK(p.status);
    }
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    struct Row {
      int step;
      double median, min;
    };
    std::vector<Row> rows;
    double total = 0;
    for (int s = 0; s < p.steps; ++s) {
      std::vector<double> ms;
      for (long r = 1; r <= runs; ++r) {
        float t = 0;
        KILN_CUDA_CHECK(cudaEventElapsedTime(&t, p.event(int(r), s, 0),
                                             p.event(int(r), s, 1)));
        ms.push_back(t);
      }
      std::sort(ms.begin(), ms.end());
      rows.push_back({s, ms[ms.size() / 2], ms[0]});
      total += ms[ms.size() / 2];
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row &a, const Row &b) { return a.median > b.median; });
    std::fprintf(stderr, "kiln-profile: %d steps, %ld runs, sum of medians %.4f ms\n",
                 p.steps, runs, total);
    for (const Row &r : rows)
      std::fprintf(stderr, "kiln-profile: step %d %s median %.4f ms min %.4f ms\n",
                   r.step, p.names[size_t(r.step)].c_str(), r.median, r.min);
    return true;
  }

  /// Enqueues the model's kernels for |batch| samples; the first failing
  /// launch's status.
  cudaError_t forward(int batch) {
    return cudaError_t(cuda.run(prepared, static_cast<const float *>(input),
                                static_cast<float *>(output), arena, workspace,
                                batch, stream, variant));
  }

  /// The graph of the pass of |batch| samples, captured on first use; null
  /// with |error| set on failure.
  cudaGraphExec_t graphFor(int batch, std::string &error) {
    if (auto it = graphs.find(batch); it != graphs.end())
      return it->second;
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    if (!check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal),
               "cudaStreamBeginCapture", error))
      return nullptr;
    cudaError_t captured = forward(batch);
    cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    bool ok = check(captured, "launching the model's kernels (graph capture)",
                    error) &&
              check(ended, "cudaStreamEndCapture", error) &&
              check(cudaGraphInstantiate(&exec, graph, 0),
                    "cudaGraphInstantiate", error);
    if (graph)
      cudaGraphDestroy(graph);
    if (!ok)
      return nullptr;
    graphs[batch] = exec;
    return exec;
  }

  const rt::ModelInfo &model;
  const rt::CudaModel &cuda;
  const int device;
  /// The launch variant this device runs (kiln/cuda/arch.h) and its sizes.
  const int variant;
  const rt::CudaVariant &plan;
  cudaStream_t stream = nullptr;
  /// The instantiated graph of each batch size run so far.
  std::map<int, cudaGraphExec_t> graphs;
  void *arena = nullptr, *workspace = nullptr, *prepared = nullptr;
  void *input = nullptr, *output = nullptr;
  void *hostInput = nullptr, *hostOutput = nullptr;
  size_t inputBytes = 0, outputBytes = 0, pending = 0;
  int batchSize = 1;
};

/// The variant of |model| the device of |props| runs: the one of the code
/// image the driver loads there (kiln/cuda/arch.h), or -1 with |error| set
/// when the executable holds no code the device runs.
int chooseVariant(const rt::CudaModel &model, const cudaDeviceProp &props,
                  std::string &error) {
  std::vector<cuda::CodeImage> images;
  if (!cuda::parse_images(model.images, images)) {
    error = std::string("internal: bad CUDA image list '") + model.images + "'";
    return -1;
  }
  auto set = [](const char *name) {
    const char *v = std::getenv(name);
    return v && std::strcmp(v, "1") == 0;
  };
  cuda::JitPolicy policy{set("CUDA_FORCE_PTX_JIT"), set("CUDA_DISABLE_PTX_JIT")};
  std::vector<bool> sm90a;
  for (int v = 0; v < model.num_variants; ++v)
    sm90a.push_back(model.variants[v].sm90a);
  return cuda::choose_variant(images, sm90a, props.major * 10 + props.minor, props.name,
                              policy, error);
}

} // namespace

int kiln::cuda::deviceCount(std::string &error) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaSuccess && count > 0)
    return count;
  if (status == cudaSuccess || status == cudaErrorNoDevice)
    error = "no CUDA device";
#ifndef KILN_CUDA_EMULATED
  else if (status == cudaErrorInsufficientDriver)
    error = "no CUDA device: the NVIDIA driver is missing or older than this "
            "executable's CUDA runtime (" +
            std::to_string(CUDART_VERSION / 1000) + "." +
            std::to_string(CUDART_VERSION % 1000 / 10) + ") needs";
#endif
  else
    error = std::string("no CUDA device (") + cudaGetErrorString(status) + ")";
  (void)cudaGetLastError();
  return -1;
}

std::unique_ptr<rt::DeviceSession>
kiln::cuda::openSession(const rt::ModelInfo &model,
                        const std::vector<const float *> &params, int device,
                        std::string &error, bool &unavailable) {
  unavailable = false;
  if (deviceCount(error) <= device) {
    unavailable = true;
    if (error.empty())
      error = "no CUDA device " + std::to_string(device);
    return nullptr;
  }
  cudaDeviceProp props;
  if (!check(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties",
             error))
    return nullptr;
  if (props.major < 8) {
    unavailable = true;
    error = std::string("the CUDA device ") + props.name + " is sm_" +
            std::to_string(props.major * 10 + props.minor) +
            "; kiln's CUDA code needs sm_80 or newer";
    return nullptr;
  }
  int variant = chooseVariant(*model.cuda, props, error);
  if (variant < 0) {
    unavailable = true;
    return nullptr;
  }
  auto session = std::make_unique<CudaSession>(model, device, variant);
  session->name = std::string(props.name) + " (sm_" +
                  std::to_string(props.major * 10 + props.minor) + ", " +
                  model.cuda->precision +
                  (model.cuda->variants[variant].sm90a ? ", sm_90a kernels" : "") + ")";
  if (!session->init(params, error))
    return nullptr;
  return session;
}
