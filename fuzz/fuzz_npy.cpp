//===- fuzz_npy.cpp - libFuzzer harness of the .npy reader ----------------===//
//
// Feeds arbitrary bytes to parseNpy (what readNpy runs after reading the
// file): it must return true or false with a message, never crash, read out
// of bounds or allocate without bound.
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::rt::NpyArray array;
  std::string error;
  bool ok = kiln::rt::parseNpy(data, size, "fuzz.npy", array, error);
  if (ok == !error.empty())
    std::abort(); // a result needs no message, a failure needs one
  if (ok) {
    size_t numel = 1;
    for (int64_t d : array.shape)
      numel *= size_t(d);
    if (numel != array.data.size())
      std::abort();
  }
  return 0;
}
