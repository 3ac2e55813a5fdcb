//===- image_transform.cpp - torchvision's ImageNet transform -------------===//
//
// This file implements loadImage() and transformRgb() of kiln/image.h:
// decode (image_decode.cpp), then torchvision's test transform on a PIL
// image, reproduced bit for bit (torchvision 0.14, Pillow 9.4); shown here
// with ImageNet's sizes, the default (any others work the same way):
//
//   img = PIL.Image.open(path).convert('RGB')      # datasets.folder.pil_loader
//   Resize(256)       short side -> 256, long side int(256 * long / short)
//                     (Resize((h, w)): exactly h x w);
//                     PIL Image.resize(BILINEAR): separable triangle filter
//                     whose support grows with the downscale factor, 8-bit
//                     fixed-point coefficients (libImaging/Resample.c)
//   CenterCrop(224)   offsets int(round((size - 224) / 2.0)) (each side;
//                     CenterCrop((h, w)) too), zero padding
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
#include <cmath>
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

std::string checkTransform(const ImageTransform &t) {
  auto inRange = [](int v, int lo) { return v >= lo && v <= 65536; };
  if (!inRange(t.resize, 1) || !inRange(t.resizeWidth, 0) ||
      !inRange(t.crop, 1) || !inRange(t.cropWidth, 0))
    return "bad image transform (resize " + std::to_string(t.resize) +
           (t.resizeWidth ? "x" + std::to_string(t.resizeWidth) : "") +
           ", crop " + std::to_string(t.crop) +
           (t.cropWidth ? "x" + std::to_string(t.cropWidth) : "") +
           "): sizes are from 1 to 65536";
  for (float s : t.std)
    if (!(s != 0.0f) || !std::isfinite(s))
      return "bad image transform: std must be finite and non-zero";
  for (float m : t.mean)
    if (!std::isfinite(m))
      return "bad image transform: mean must be finite";
  return "";
}

namespace {

/// Steps 2 and 3 of the transform on a decoded picture; "" or why not.
std::string transformDecoded(Rgb8 image, const ImageTransform &transform,
                             float *chw) {
  const int w = image.width, h = image.height;

  // 2. Resize, as torchvision's Resize(int) or Resize((h, w)) does.
  int64_t newW = transform.resizeWidth, newH = transform.resize;
  if (transform.resizeWidth == 0)
    resizedSize(w, h, transform.resize, newW, newH);
  if (newW <= 0 || newH <= 0 || newW > INT_MAX / 4 || newH > INT_MAX / 4 ||
      newW * newH > kMaxPixels)
    return "image of " + std::to_string(w) + " x " + std::to_string(h) +
           " pixels would be resized to " + std::to_string(newW) + " x " +
           std::to_string(newH) + ", which is too large";
  Rgb8 resized;
  try {
    resized = resizeBilinear(std::move(image), static_cast<int>(newW),
                             static_cast<int>(newH));
  } catch (const std::bad_alloc &) {
    return "out of memory";
  }

  // 3. Center crop (zero padding outside the image), scale and normalize.
  const int cropH = transform.crop, cropW = transform.cropW();
  const int top = cropOffset(resized.height, cropH);
  const int left = cropOffset(resized.width, cropW);
  const size_t plane = size_t(cropH) * cropW;
  for (int c = 0; c < 3; ++c) {
    const float mean = transform.mean[c], stddev = transform.std[c];
    float *dst = chw + c * plane;
    for (int y = 0; y < cropH; ++y) {
      int sy = top + y;
      for (int x = 0; x < cropW; ++x) {
        int sx = left + x;
        bool inside =
            sy >= 0 && sy < resized.height && sx >= 0 && sx < resized.width;
        uint8_t v = inside ? resized.row(sy)[sx * 3 + c] : 0;
        // ToTensor: float32 division by 255; Normalize: float32 sub, div.
        dst[size_t(y) * cropW + x] =
            (static_cast<float>(v) / 255.0f - mean) / stddev;
      }
    }
  }
  return "";
}

} // namespace

bool loadImage(const std::string &path, const ImageTransform &transform,
               std::vector<float> &chw, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = path + ": " + why;
    return false;
  };
  if (std::string why = checkTransform(transform); !why.empty())
    return fail(why);

  // 1. Decode to 8-bit RGB.
  std::vector<uint8_t> bytes;
  if (!readFile(path, bytes, error, kMaxImageFileBytes, "an image file"))
    return false;
  Rgb8 image;
  std::string why;
  try {
    if (!decodeImage(bytes, image, why))
      return fail(why);
    chw.assign(3 * size_t(transform.crop) * transform.cropW(), 0.0f);
  } catch (const std::bad_alloc &) {
    return fail("out of memory");
  }
  why = transformDecoded(std::move(image), transform, chw.data());
  return why.empty() || fail(why);
}

bool transformRgb(const uint8_t *rgb, int width, int height, size_t stride,
                  const ImageTransform &transform, float *chw,
                  std::string &error) {
  error = checkTransform(transform);
  if (!error.empty())
    return false;
  if (width <= 0 || height <= 0 || int64_t(width) * height > kMaxPixels) {
    error = "a picture of " + std::to_string(width) + " x " +
            std::to_string(height) + " pixels";
    return false;
  }
  Rgb8 image;
  try {
    image.width = width;
    image.height = height;
    image.pixels.resize(size_t(width) * height * 3);
  } catch (const std::bad_alloc &) {
    error = "out of memory";
    return false;
  }
  for (int y = 0; y < height; ++y)
    std::copy_n(rgb + size_t(y) * stride, size_t(width) * 3, image.row(y));
  error = transformDecoded(std::move(image), transform, chw);
  return error.empty();
}

} // namespace kiln::rt
