//===- image_libjpeg.h - libjpeg-turbo's JPEG rounding ---------*- C++ -*-===//
//
// This file declares the steps of JPEG decoding where decoders round
// differently, done as libjpeg-turbo 2.1 does them with PIL's settings:
// the accurate integer IDCT, "fancy" chroma upsampling and fixed-point
// YCbCr -> RGB. image_decode.cpp's JPEG decoder plugs them into stb_image.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IMAGE_LIBJPEG_H
#define KILN_RUNTIME_IMAGE_LIBJPEG_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::rt::detail {

/// jpeg_idct_islow (jidctint.c) for 8-bit samples: |data| holds the
/// dequantized coefficients in natural order (stb_image has dequantized
/// them already), |out| receives 8 rows of 8 samples, |stride| apart.
void idctIslow(uint8_t *out, int stride, short data[64]);

/// One decoded component: |width| x |height| samples, rows |stride| apart.
struct Plane {
  const uint8_t *data;
  int width, height, stride;
  int at(int x, int y) const { return data[size_t(y) * stride + x]; }
};

/// Upsamples |p| by the integral factors |hs| x |vs| to |outW| x |outH| as
/// jdsample.c does with do_fancy_upsampling: triangle filters for 2x1, 1x2
/// and 2x2 (edges replicated; rounding biases alternate as there), plain
/// replication for the rest and for planes 2 samples wide or less.
std::vector<uint8_t> upsample(const Plane &p, int hs, int vs, int outW,
                              int outH);

/// jdcolor.c's fixed-point YCbCr -> RGB (SCALEBITS 16) for one pixel.
class YCbCrToRgb {
public:
  YCbCrToRgb();
  void operator()(int y, int cb, int cr, uint8_t rgb[3]) const {
    rgb[0] = clamp(y + crR_[cr]);
    rgb[1] = clamp(y + static_cast<int>((cbG_[cb] + crG_[cr]) >> 16));
    rgb[2] = clamp(y + cbB_[cb]);
  }

private:
  static uint8_t clamp(int v) {
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
  int crR_[256], cbB_[256];
  int64_t crG_[256], cbG_[256];
};

} // namespace kiln::rt::detail

#endif // KILN_RUNTIME_IMAGE_LIBJPEG_H
