//===- image.h - images for ImageNet classifiers ---------------*- C++ -*-===//
//
// Decodes an image and applies the usual ImageNet test transform of
// torchvision, bit for bit as torchvision does on a PIL image:
//   Resize(256) (short side, PIL bilinear with antialiasing), CenterCrop(224),
//   ToTensor() (scale to [0, 1]), Normalize(mean, std).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IMAGE_H
#define KILN_RUNTIME_IMAGE_H

#include <string>
#include <vector>

namespace kiln::rt {

struct ImageTransform {
  int resize = 256; ///< the short side is resized to this
  int crop = 224;   ///< then a centered crop of crop × crop
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};
};

/// Loads a JPEG, PNG or binary PPM/PGM file and writes the transformed
/// 3 × crop × crop image (channels R, G, B) to |chw|.
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

/// The 1000 ImageNet class names, in torchvision's order.
extern const char *const kImageNetLabels[1000];

} // namespace kiln::rt

#endif // KILN_RUNTIME_IMAGE_H
