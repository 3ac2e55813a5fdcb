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
//
// The same file builds twice: against the CUDA runtime (libkiln_cuda), and
// against kiln's SIMT emulator (libkiln_cuda_emulated, KILN_CUDA_EMULATED),
// which is how CI, without a GPU, runs this code.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime.h"

#ifndef KILN_CUDA_EMULATED
#include <cuda_runtime.h>
#endif

#include <algorithm>
#include <cstdio>
#include <map>
#include <cstring>
#include <string>

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
  CudaSession(const rt::ModelInfo &model, int device)
      : model(model), cuda(*model.cuda), device(device) {}

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
    if (!allocate(&prepared, bytes(cuda.prepared_bytes), "the weights", error) ||
        !allocate(&arena, bytes(cuda.arena_bytes), "the activations", error) ||
        !allocate(&workspace, bytes(cuda.workspace_bytes),
                  "the split-K workspace", error) ||
        !allocate(&input, inputBytes, "the input", error) ||
        !allocate(&output, outputBytes, "the output", error))
      return false;
    KILN_CUDA_CHECK(cudaMallocHost(&hostInput, inputBytes));
    KILN_CUDA_CHECK(cudaMallocHost(&hostOutput, outputBytes));

    // Weights: prepared on the host in pinned memory, uploaded once.
    void *staging = nullptr;
    KILN_CUDA_CHECK(cudaMallocHost(&staging, bytes(cuda.prepared_bytes)));
    cuda.prepare(params.data(), staging);
    bool ok = check(cudaMemcpy(prepared, staging, cuda.prepared_bytes,
                               cudaMemcpyHostToDevice),
                    "cudaMemcpy(weights)", error);
    cudaFreeHost(staging);
    if (!ok)
      return false;

    // One eager run (kernels configure themselves), then the capture.
    KILN_CUDA_CHECK(cudaMemsetAsync(input, 0, inputBytes, stream));
    if (!check(forward(batchSize), "launching the model's kernels", error))
      return false;
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return graphFor(batchSize, error) != nullptr;
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

  /// Enqueues the model's kernels for |batch| samples; the first failing
  /// launch's status.
  cudaError_t forward(int batch) {
    return cudaError_t(cuda.run(prepared, static_cast<const float *>(input),
                                static_cast<float *>(output), arena, workspace,
                                batch, stream));
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
  cudaStream_t stream = nullptr;
  /// The instantiated graph of each batch size run so far.
  std::map<int, cudaGraphExec_t> graphs;
  void *arena = nullptr, *workspace = nullptr, *prepared = nullptr;
  void *input = nullptr, *output = nullptr;
  void *hostInput = nullptr, *hostOutput = nullptr;
  size_t inputBytes = 0, outputBytes = 0, pending = 0;
  int batchSize = 1;
};

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
  auto session = std::make_unique<CudaSession>(model, device);
  session->name = std::string(props.name) + " (sm_" +
                  std::to_string(props.major * 10 + props.minor) + ", " +
                  model.cuda->precision + ")";
  if (!session->init(params, error))
    return nullptr;
  return session;
}
