//===- weights.h - the weights a model runs with ---------------*- C++ -*-===//
//
// Every source of weights goes through one path: a WeightSet starts seeded
// (deterministic, PyTorch's default initialization), then loads whatever a
// safetensors file provides (embedded in the executable, or given with
// --weights), under PyTorch's strict or non-strict state_dict rules. The
// model's prepare step then transforms the set into kernel layouts.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_WEIGHTS_H
#define KILN_RUNTIME_WEIGHTS_H

#include "kiln/tensor_io.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

/// How a tensor is seeded when no file provides it: uniform in [a, b), or
/// the constant a. The compiler picks PyTorch's default initialization
/// (conv/linear weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); batch
/// norm weight 1, bias 0, running_mean 0, running_var 1).
enum class SeedKind : int { Uniform, Constant };

/// A named weight tensor of a model: a PyTorch state_dict entry.
struct ParamSpec {
  const char *name;
  int rank;
  int64_t shape[4];
  SeedKind seed;
  float a, b;

  int64_t numel() const;
};

/// The names that did not line up when loading a state_dict.
struct LoadReport {
  std::vector<std::string> missing;     ///< in the model, not in the file
  std::vector<std::string> unexpected;  ///< in the file, not in the model
  std::vector<std::string> mismatched;  ///< "name: file [a, b], model [c, d]"
  int loaded = 0;
};

class WeightSet {
public:
  /// One float32 tensor per spec, seeded with |seed|.
  WeightSet(const ParamSpec *specs, int count, uint64_t seed = 0);

  /// Loads the tensors of |file| that match a spec by name and shape
  /// (num_batches_tracked is ignored). With |strict|, any missing,
  /// unexpected or mismatched tensor is an error that lists them all and
  /// nothing is loaded; otherwise the matching ones are loaded and the rest
  /// keep their seeded values. |report| says what happened either way.
  bool load(const SafeTensors &file, bool strict, LoadReport &report,
            std::string &error);

  /// Writes the set as an F32 safetensors file (the model's state_dict).
  bool dump(const std::string &path, std::string &error) const;

  int size() const { return int(specs_.size()); }
  /// The most bytes a weights file for this set may take: every tensor as
  /// F64 plus 1 GiB (a header and tensors the model does not have, which
  /// --no-strict ignores). Larger files (or /dev/zero) are refused unread.
  uint64_t fileLimit() const;
  const ParamSpec &spec(int i) const { return specs_[i]; }
  float *data(int i) { return data_[i].data(); }
  const float *data(int i) const { return data_[i].data(); }
  /// Pointers to all tensors, in spec order (what prepare takes).
  std::vector<const float *> pointers() const;

private:
  std::vector<ParamSpec> specs_;
  std::vector<std::vector<float>> data_;
};

/// Fills |out| with |spec|'s seeded values: a counter-based generator keyed
/// by the tensor name, so each value depends only on (seed, name, index).
void seedTensor(const ParamSpec &spec, uint64_t seed, float *out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_WEIGHTS_H
