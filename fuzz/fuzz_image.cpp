//===- fuzz_image.cpp - libFuzzer harness of the image decoders -----------===//
//
// Feeds arbitrary bytes to decodeImage (JPEG through kiln's libjpeg-exact
// decoder, PNG through stb_image after kiln's checks, PPM/PGM) and resizes
// what decodes, as loadImage does: no crash, no out-of-bounds access, no
// undefined behaviour, a message for every failure.
//
//===----------------------------------------------------------------------===//

#include "image_internal.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  kiln::rt::detail::Rgb8 image;
  std::string why;
  if (!kiln::rt::detail::decodeImage(bytes, image, why)) {
    if (why.empty())
      std::abort();
    return 0;
  }
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * image.height * 3)
    std::abort();
  // A small resize of whatever decoded: the bilinear filter's edges.
  kiln::rt::detail::resizeBilinear(std::move(image), 7, 5);
  return 0;
}
