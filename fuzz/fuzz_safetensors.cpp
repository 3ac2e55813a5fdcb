//===- fuzz_safetensors.cpp - libFuzzer harness of the weights reader -----===//
//
// Feeds arbitrary bytes to SafeTensors::parse and, when they parse, converts
// every float tensor to float32 and loads the file into a small WeightSet
// (the path of `--weights`, strict and not): no crash, no out-of-bounds
// read, a message for every failure.
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"
#include "kiln/weights.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

// A conv2d + batch_norm + linear state_dict, the names a fuzzed header is
// most likely to hit (the seed corpus uses them).
using kiln::rt::SeedKind;
const kiln::rt::ParamSpec kSpecs[] = {
    {"conv.weight", 4, {4, 3, 3, 3}, SeedKind::Uniform, -0.2f, 0.2f},
    {"bn.weight", 1, {4}, SeedKind::Constant, 1, 0},
    {"bn.running_var", 1, {4}, SeedKind::Constant, 1, 0},
    {"fc.weight", 2, {2, 4}, SeedKind::Uniform, -0.5f, 0.5f},
    {"fc.bias", 1, {2}, SeedKind::Uniform, -0.5f, 0.5f},
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto file = kiln::rt::SafeTensors::parse(data, size, "fuzz.safetensors", error);
  if (!file) {
    if (error.empty())
      std::abort();
    return 0;
  }
  std::vector<float> values;
  for (const kiln::rt::TensorView &t : file->tensors()) {
    if (file->find(t.name) != &t)
      std::abort();
    if (!kiln::rt::isFloatWeight(t.dtype))
      continue;
    values.resize(size_t(t.numel()));
    t.toFloat32(values.data());
  }
  kiln::rt::WeightSet weights(kSpecs, int(std::size(kSpecs)));
  for (bool strict : {true, false}) {
    kiln::rt::LoadReport report;
    std::string loadError;
    bool ok = weights.load(*file, strict, report, loadError);
    if (!ok && loadError.empty())
      std::abort();
  }
  return 0;
}
