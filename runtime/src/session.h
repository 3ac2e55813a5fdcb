//===- session.h - a compiled model, ready to run --------------*- C++ -*-===//
//
// Declares kiln::rt::Session, what the C interface (kiln.h, capi.cpp) hands
// out as a kiln_session: the weights a model runs with (embedded, a file, or
// seeded), prepared once, and the device that runs it: the CPU (prepared
// weights, an activation arena, a thread pool) or one or more GPUs (a
// DeviceSession each, which splits every batch between them).
//
// A batch of any size runs as passes of at most the compiled batch N: a
// smaller pass runs as it is when the generated code takes the batch at run
// time (ModelInfo::flexible_batch), else padded with zeros to N.
//
// Nothing here prints, exits or throws (an allocation that fails is caught
// by the C interface); failures are a Status. The executables' main() and
// the Python module go through kiln.h, never through this class.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SESSION_H
#define KILN_RUNTIME_SESSION_H

#include "kiln.h"
#include "kiln/runtime.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::rt {

/// A failure: the code the C interface returns and its message.
struct Status {
  kiln_status code = KILN_OK;
  std::string message;

  bool fail(kiln_status c, std::string m) {
    code = c;
    message = std::move(m);
    return false;
  }
};

/// The model this library holds, described for kiln_model().
const kiln_model_info &modelInfo();

/// Floats of one sample of the input and of the output (the shapes without
/// the batch dimension); the whole tensor when the output's first dimension
/// is not the batch.
size_t sampleFloats(const int64_t *shape, int rank);

class Session {
public:
  /// Opens a session as kiln_open() describes; null on failure.
  static std::unique_ptr<Session> open(const kiln_options &options,
                                       Status &status);
  ~Session();

  bool run(const float *input, int64_t batch, float *output, Status &status);
  bool bench(int64_t batch, int warmup, int runs, double *milliseconds,
             Status &status);
  bool dumpWeights(const std::string &path, Status &status) const;

  const std::string &device() const { return device_; }
  bool onGpu() const { return !gpus_.empty(); }

private:
  explicit Session(const ModelInfo &model);
  bool loadWeights(const kiln_options &options, Status &status);
  bool openDevices(const kiln_options &options, Status &status);
  bool openCpu(int threads, Status &status);
  void log(const std::string &message) const;

  /// One pass of |batch| samples (1 to N) on the device(s).
  bool pass(const float *input, int batch, float *output, Status &status);
  /// One pass on the CPU of |batch| samples (N unless flexible).
  void cpuPass(const float *input, int batch, float *output);
  /// Any number of samples on the CPU (flexible batch, or N = 1): each
  /// thread runs its share through the whole network, in passes of
  /// microBatch_ samples, in an arena of its own; see cpuRun in session.cpp.
  void cpuRun(const float *input, int64_t batch, float *output);
  /// Whether cpuRun takes the batches: the CPU, and kernels that take any
  /// batch up to N, with an output per sample.
  bool cpuSplits() const;
  /// Whether the output's first dimension is the batch.
  bool perSampleOutput() const;

  const ModelInfo &model_;
  /// The compiled batch, and floats per sample of the input and output.
  int64_t batch_ = 1;
  size_t inSample_ = 0, outSample_ = 0;
  std::optional<WeightSet> weights_;
  std::string device_;
  kiln_log_fn log_ = nullptr;
  void *logUser_ = nullptr;

  // The CPU: prepared weights, the activation arena, the threads.
  struct Aligned {
    void operator()(void *p) const { std::free(p); }
  };
  std::unique_ptr<char, Aligned> prepared_, arena_;
  std::unique_ptr<ThreadPool> pool_;
  /// Samples per pass of one thread (cpuRun), and what the threads after the
  /// first need to run passes of their own: an arena each (allocated when
  /// first needed) and a pool of one, which runs the kernels' tasks inline.
  int microBatch_ = 1;
  std::vector<std::unique_ptr<char, Aligned>> workerArenas_;
  std::vector<std::unique_ptr<ThreadPool>> serialPools_;

  // GPUs: a session per device; every pass splits its batch evenly.
  std::vector<std::unique_ptr<DeviceSession>> gpus_;

  // A pass below N for a model without a flexible batch: padded copies.
  std::vector<float> padIn_, padOut_;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_SESSION_H
