//===- image_transform.cpp - torchvision's ImageNet transform -------------===//
//
// This file implements loadImage() of kiln/image.h: decode
// (image_decode.cpp), then torchvision's ImageNet test transform on a PIL
// image, reproduced bit for bit (torchvision 0.14, Pillow 9.4):
//
//   img = PIL.Image.open(path).convert('RGB')      # datasets.folder.pil_loader
//   Resize(256)       short side -> 256, long side int(256 * long / short);
//                     PIL Image.resize(BILINEAR): separable triangle filter
//                     whose support grows with the downscale factor, 8-bit
//                     fixed-point coefficients (libImaging/Resample.c)
//   CenterCrop(224)   offsets int(round((size - 224) / 2.0)), zero padding
//                     when the image is smaller than the crop
//   ToTensor()        float32(v) / 255
//   Normalize(m, s)   (x - m) / s in float32
//
// The resize is image_resize.cpp's; this file computes the sizes, crops,
// scales and normalizes. tools/check_image_transform.py checks all of this
// against torchvision.
//
//===----------------------------------------------------------------------===//

#include "kiln/image.h"

#include "kiln/tensor_io.h"

#include "image_internal.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <new>
#include <utility>

namespace kiln::rt {

using detail::decodeImage;
using detail::kMaxImageFileBytes;
using detail::kMaxPixels;
using detail::resizeBilinear;
using detail::Rgb8;

namespace {

/// _compute_resized_output_size() for a single size: the short side becomes
/// |size|, the long side int(size * long / short) (Python true division,
/// which is the correctly rounded double quotient, then truncation).
void resizedSize(int w, int h, int size, int64_t &newW, int64_t &newH) {
  int64_t shortSide = std::min(w, h), longSide = std::max(w, h);
  int64_t newLong =
      static_cast<int64_t>(static_cast<double>(int64_t{size} * longSide) /
                           static_cast<double>(shortSide));
  newW = w <= h ? size : newLong;
  newH = w <= h ? newLong : size;
}

/// int(round(d / 2.0)) in Python: halves round to even.
int roundHalfToEven(int d) {
  int q = d / 2; // d >= 0
  return d % 2 == 0 || q % 2 == 0 ? q : q + 1;
}

/// center_crop(): first pads (with zeros) the sides shorter than the crop,
/// putting the odd pixel after, then crops at int(round((size - crop) / 2)).
/// Returns the offset of the crop in |in|'s coordinates (may be negative).
int cropOffset(int size, int crop) {
  if (crop > size)
    return -((crop - size) / 2); // padded to exactly crop: offset 0 there
  return roundHalfToEven(size - crop);
}

} // namespace

bool loadImage(const std::string &path, const ImageTransform &transform,
               std::vector<float> &chw, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = path + ": " + why;
    return false;
  };
  if (transform.resize <= 0 || transform.crop <= 0 || transform.crop > 65536 ||
      transform.resize > 65536)
    return fail("bad image transform (resize " +
                std::to_string(transform.resize) + ", crop " +
                std::to_string(transform.crop) + ")");

  // 1. Decode to 8-bit RGB.
  std::vector<uint8_t> bytes;
  if (!readFile(path, bytes, error, kMaxImageFileBytes, "an image file"))
    return false;
  Rgb8 image;
  std::string why;
  try {
    if (!decodeImage(bytes, image, why))
      return fail(why);
  } catch (const std::bad_alloc &) {
    return fail("out of memory");
  }
  const int w = image.width, h = image.height;

  // 2. Resize the short side, as torchvision's Resize(int) does.
  int64_t newW, newH;
  resizedSize(w, h, transform.resize, newW, newH);
  if (newW <= 0 || newH <= 0 || newW > INT_MAX / 4 || newH > INT_MAX / 4 ||
      newW * newH > kMaxPixels)
    return fail("image of " + std::to_string(w) + " x " + std::to_string(h) +
                " pixels would be resized to " + std::to_string(newW) + " x " +
                std::to_string(newH) + ", which is too large");
  Rgb8 resized;
  try {
    resized = resizeBilinear(std::move(image), static_cast<int>(newW),
                             static_cast<int>(newH));
  } catch (const std::bad_alloc &) {
    return fail("out of memory");
  }

  // 3. Center crop (zero padding outside the image), scale and normalize.
  const int crop = transform.crop;
  const int top = cropOffset(resized.height, crop);
  const int left = cropOffset(resized.width, crop);
  const size_t plane = size_t(crop) * crop;
  chw.assign(3 * plane, 0.0f);
  for (int c = 0; c < 3; ++c) {
    const float mean = transform.mean[c], stddev = transform.std[c];
    float *dst = chw.data() + c * plane;
    for (int y = 0; y < crop; ++y) {
      int sy = top + y;
      for (int x = 0; x < crop; ++x) {
        int sx = left + x;
        bool inside =
            sy >= 0 && sy < resized.height && sx >= 0 && sx < resized.width;
        uint8_t v = inside ? resized.row(sy)[sx * 3 + c] : 0;
        // ToTensor: float32 division by 255; Normalize: float32 sub, div.
        dst[size_t(y) * crop + x] =
            (static_cast<float>(v) / 255.0f - mean) / stddev;
      }
    }
  }
  return true;
}

} // namespace kiln::rt
