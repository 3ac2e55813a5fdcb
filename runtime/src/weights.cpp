//===- weights.cpp - the weights a model runs with ------------------------===//
//
// This file implements WeightSet: seeding, loading a state_dict from a
// safetensors file under strict or non-strict rules, and dumping.
//
//===----------------------------------------------------------------------===//

#include "kiln/weights.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

using namespace kiln::rt;

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= shape[i];
  return n;
}

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string shapeString(const int64_t *shape, size_t rank) {
  std::string s = "[";
  for (size_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Joins up to |limit| names, then "and N more".
std::string listNames(const std::vector<std::string> &names, size_t limit = 20) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < limit; ++i)
    s += "\n    " + names[i];
  if (names.size() > limit)
    s += "\n    ... and " + std::to_string(names.size() - limit) + " more";
  return s;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

void kiln::rt::seedTensor(const ParamSpec &spec, uint64_t seed, float *out) {
  int64_t n = spec.numel();
  if (spec.seed == SeedKind::Constant) {
    std::fill(out, out + n, spec.a);
    return;
  }
  uint64_t key = splitmix64(seed ^ fnv1a64(spec.name));
  for (int64_t i = 0; i < n; ++i) {
    // 24 random bits give every float in [0, 1) on a 2^-24 grid.
    float u = float(splitmix64(key + uint64_t(i)) >> 40) * 0x1p-24f;
    out[i] = spec.a + (spec.b - spec.a) * u;
  }
}

WeightSet::WeightSet(const ParamSpec *specs, int count, uint64_t seed)
    : specs_(specs, specs + count), data_(count) {
  for (int i = 0; i < count; ++i) {
    data_[i].resize(size_t(specs_[i].numel()));
    seedTensor(specs_[i], seed, data_[i].data());
  }
}

bool WeightSet::load(const SafeTensors &file, bool strict, LoadReport &report,
                     std::string &error) {
  report = LoadReport();
  std::unordered_map<std::string_view, int> index;
  for (int i = 0; i < size(); ++i)
    index[specs_[i].name] = i;

  // Match by name, then by shape, as load_state_dict does.
  std::vector<const TensorView *> source(specs_.size(), nullptr);
  std::vector<bool> named(specs_.size(), false);
  for (const TensorView &t : file.tensors()) {
    if (endsWith(t.name, "num_batches_tracked"))
      continue;
    auto it = index.find(t.name);
    if (it == index.end()) {
      report.unexpected.push_back(t.name);
      continue;
    }
    named[it->second] = true;
    const ParamSpec &spec = specs_[it->second];
    bool same = int(t.shape.size()) == spec.rank &&
                std::equal(t.shape.begin(), t.shape.end(), spec.shape);
    if (!same) {
      report.mismatched.push_back(
          t.name + ": file " + shapeString(t.shape.data(), t.shape.size()) +
          ", model " + shapeString(spec.shape, size_t(spec.rank)));
      continue;
    }
    if (!isFloatWeight(t.dtype)) {
      report.mismatched.push_back(
          t.name + ": dtype " + dtypeName(t.dtype) +
          " in the file; weights are F32, F16, BF16 or F64");
      continue;
    }
    source[it->second] = &t;
  }
  for (int i = 0; i < size(); ++i)
    if (!named[i])
      report.missing.push_back(specs_[i].name);

  if (strict && (!report.missing.empty() || !report.unexpected.empty() ||
                 !report.mismatched.empty())) {
    error = "the weights do not match the model (use --no-strict to load "
            "what matches):";
    if (!report.missing.empty())
      error += "\n  missing keys (" + std::to_string(report.missing.size()) +
               "):" + listNames(report.missing);
    if (!report.unexpected.empty())
      error += "\n  unexpected keys (" +
               std::to_string(report.unexpected.size()) + "):" +
               listNames(report.unexpected);
    if (!report.mismatched.empty())
      error += "\n  shape or dtype mismatches (" +
               std::to_string(report.mismatched.size()) + "):" +
               listNames(report.mismatched);
    return false;
  }
  for (int i = 0; i < size(); ++i)
    if (source[i]) {
      source[i]->toFloat32(data_[i].data());
      ++report.loaded;
    }
  return true;
}

bool WeightSet::dump(const std::string &path, std::string &error) const {
  std::vector<NamedTensor> tensors;
  for (int i = 0; i < int(specs_.size()); ++i)
    tensors.push_back({specs_[i].name,
                       std::vector<int64_t>(specs_[i].shape,
                                            specs_[i].shape + specs_[i].rank),
                       data_[i].data()});
  return writeSafeTensors(path, tensors, error);
}

uint64_t WeightSet::fileLimit() const {
  uint64_t elements = 0;
  for (const ParamSpec &spec : specs_)
    elements += uint64_t(spec.numel());
  return elements * 8 + (uint64_t(1) << 30);
}

std::vector<const float *> WeightSet::pointers() const {
  std::vector<const float *> out;
  for (const auto &d : data_)
    out.push_back(d.data());
  return out;
}
