//===- image.h - images for ImageNet classifiers ---------------*- C++ -*-===//
//
// Decodes an image and applies torchvision's test transform, bit for bit as
// torchvision does on a PIL image:
//   Resize(256) (short side, PIL bilinear with antialiasing), CenterCrop(224),
//   ToTensor() (scale to [0, 1]), Normalize(mean, std)
// by default, or any other sizes, mean and std (the seed notes test with
// Resize(224), CenterCrop(224)).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IMAGE_H
#define KILN_RUNTIME_IMAGE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

struct ImageTransform {
  /// Resize(resize): the short side becomes |resize|, the long side
  /// int(resize * long / short); with resizeWidth > 0, Resize((resize,
  /// resizeWidth)): exactly that height and width.
  int resize = 256;
  int resizeWidth = 0;
  /// CenterCrop((crop, cropWidth)); cropWidth 0 means crop (a square).
  int crop = 224;
  int cropWidth = 0;
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};

  int cropW() const { return cropWidth > 0 ? cropWidth : crop; }
};

/// Why |t| cannot be applied (sizes outside 1 to 65536, a zero std), or "".
std::string checkTransform(const ImageTransform &t);

/// Loads a JPEG, PNG or binary PPM/PGM file and writes the transformed
/// 3 × crop × cropW() image (channels R, G, B) to |chw|.
///
/// The pixels are those of PIL's Image.open(path).convert('RGB') (Pillow 9.4,
/// libjpeg-turbo 2.1), bit for bit: grayscale is replicated to RGB, alpha is
/// dropped (not composited), palettes are expanded, CMYK JPEGs are converted
/// as PIL does, 16-bit PNG samples keep their high byte and PPM/PGM files
/// with a maxval other than 255 are rescaled. EXIF orientation is ignored,
/// as PIL ignores it. With the default |transform| the result equals
/// torchvision's Resize(256), CenterCrop(224), ToTensor(), Normalize(...)
/// exactly (tools/check_image_transform.py).
///
/// Returns false with a message that starts with the file name when the file
/// cannot be read, is not one of those formats, is corrupt or truncated, or
/// holds more than 2^28 pixels.
bool loadImage(const std::string &path, const ImageTransform &transform,
               std::vector<float> &chw, std::string &error);

/// Applies |transform| to an 8-bit RGB picture (a decoded video frame):
/// |rgb| has |height| rows of |width| R, G, B triples, |stride| bytes apart.
/// Writes 3 × crop × cropW() floats to |chw|; false with |error| set when
/// the transform is invalid or the resized picture would be too large.
bool transformRgb(const uint8_t *rgb, int width, int height, size_t stride,
                  const ImageTransform &transform, float *chw,
                  std::string &error);

/// The 1000 ImageNet class names, in torchvision's order.
extern const char *const kImageNetLabels[1000];

} // namespace kiln::rt

#endif // KILN_RUNTIME_IMAGE_H
