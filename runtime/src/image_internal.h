//===- image_internal.h - the pieces of loadImage() ------------*- C++ -*-===//
//
// This file declares what the units of loadImage() (kiln/image.h) share:
// the 8-bit RGB image that decoding (image_decode.cpp) produces and the
// resize (image_resize.cpp) and the transform (image_transform.cpp) take,
// the pixel limit, and the two steps themselves.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IMAGE_INTERNAL_H
#define KILN_RUNTIME_IMAGE_INTERNAL_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt::detail {

// Images above this many pixels (decoded or resized) are refused rather
// than risk an out-of-memory death: 2^28 pixels = 768 MiB of RGB.
inline constexpr int64_t kMaxPixels = int64_t{1} << 28;
// Image files above this many bytes are refused unread: a camera's JPEG is
// a few tens of MB, a PNG of kMaxPixels pixels at most about 768 MiB raw,
// but no real one of that size compresses to less than a quarter of it.
inline constexpr uint64_t kMaxImageFileBytes = uint64_t{256} << 20;

/// An 8-bit RGB image, rows of width * 3 bytes.
struct Rgb8 {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
  uint8_t *row(int y) { return pixels.data() + size_t(y) * width * 3; }
  const uint8_t *row(int y) const {
    return pixels.data() + size_t(y) * width * 3;
  }
};

/// Resizes |in| to |width| x |height| as PIL's Image.resize(BILINEAR) does,
/// bit for bit (image_resize.cpp).
Rgb8 resizeBilinear(Rgb8 in, int width, int height);

/// Decodes |bytes| into |image| as PIL's Image.open(f).convert('RGB') does.
/// On failure |why| says what is wrong, naming the format.
bool decodeImage(const std::vector<uint8_t> &bytes, Rgb8 &image,
                 std::string &why);

} // namespace kiln::rt::detail

#endif // KILN_RUNTIME_IMAGE_INTERNAL_H
