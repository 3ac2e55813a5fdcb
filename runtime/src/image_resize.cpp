//===- image_resize.cpp - PIL's bilinear resize ---------------------------===//
//
// This file implements resizeBilinear() (image_internal.h): PIL's
// Image.resize(BILINEAR) of Pillow 9.4 (libImaging/Resample.c), bit for
// bit: a separable triangle filter whose support grows with the downscale
// factor (antialiasing), with 8-bit fixed-point coefficients and a
// rounding to 8 bits after each pass.
//
//===----------------------------------------------------------------------===//

#include "image_internal.h"

#include <cmath>

namespace kiln::rt::detail {
namespace {

// Coefficients are fixed point with this many fraction bits: 32 bits minus 8
// for the result minus 2 for the overflow of filters with negative lobes.
constexpr int kPrecisionBits = 32 - 8 - 2;

/// The filter taps of one output position.
struct Taps {
  int first; ///< first input pixel
  int count; ///< number of input pixels
};

/// The resampling of one axis: |taps| per output pixel and their weights,
/// |ksize| per output pixel.
struct AxisCoeffs {
  int ksize = 0;
  std::vector<Taps> taps;
  std::vector<int32_t> weights;
};

double bilinearFilter(double x) {
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return 1.0 - x;
  return 0.0;
}

/// precompute_coeffs() + normalize_coeffs_8bpc() of Resample.c for the box
/// [0, inSize): the triangle filter is stretched by the downscale factor
/// (antialiasing), weights are normalized in double precision, then rounded
/// to fixed point half away from zero.
AxisCoeffs precomputeCoeffs(int inSize, int outSize) {
  const double support0 = 1.0; // the bilinear filter's support
  // Pillow computes (in1 - in0) in float with in0 = 0.0f, in1 = inSize.
  double scale = static_cast<double>(static_cast<float>(inSize)) / outSize;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = support0 * filterscale;
  AxisCoeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.taps.resize(outSize);
  c.weights.assign(size_t(outSize) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < outSize; ++xx) {
    double center = 0.0 + (xx + 0.5) * scale;
    double ww = 0.0;
    double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5); // truncation, as C
    if (xmin < 0)
      xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > inSize)
      xmax = inSize;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      // volatile: keeps the compiler from fusing this product with the
      // filter's 1 - |t| into one multiply-add (as it may where FMA exists),
      // which would round differently from Pillow.
      volatile double t = (x + xmin - center + 0.5) * ss;
      double w = bilinearFilter(t);
      k[x] = w;
      ww += w;
    }
    int32_t *out = &c.weights[size_t(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      double v = ww != 0.0 ? k[x] / ww : k[x];
      out[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                     : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    c.taps[xx] = {xmin, xmax};
  }
  return c;
}

/// clip8() of Resample.c: drop the fraction bits, clamp to [0, 255].
inline uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits; // arithmetic shift (C++20)
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// The accumulators are 32-bit as in Pillow: with the bilinear filter the
// weights are non-negative and sum to about 2^22, so 255 * 2^22 + 2^21
// cannot overflow.

/// ImagingResampleHorizontal_8bpc: rows [y0, y0 + out.height) of |in|.
void resampleHorizontal(const Rgb8 &in, int y0, const AxisCoeffs &c,
                        Rgb8 &out) {
  for (int yy = 0; yy < out.height; ++yy) {
    const uint8_t *src = in.row(yy + y0);
    uint8_t *dst = out.row(yy);
    for (int xx = 0; xx < out.width; ++xx) {
      const Taps t = c.taps[xx];
      const int32_t *k = &c.weights[size_t(xx) * c.ksize];
      int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < t.count; ++x) {
        const uint8_t *p = src + size_t(t.first + x) * 3;
        s0 += p[0] * k[x];
        s1 += p[1] * k[x];
        s2 += p[2] * k[x];
      }
      dst[xx * 3 + 0] = clip8(s0);
      dst[xx * 3 + 1] = clip8(s1);
      dst[xx * 3 + 2] = clip8(s2);
    }
  }
}

/// ImagingResampleVertical_8bpc; |c|'s taps are relative to |in|'s rows.
void resampleVertical(const Rgb8 &in, const AxisCoeffs &c, int tapOffset,
                      Rgb8 &out) {
  const size_t rowBytes = size_t(in.width) * 3;
  for (int yy = 0; yy < out.height; ++yy) {
    const Taps t = c.taps[yy];
    const int32_t *k = &c.weights[size_t(yy) * c.ksize];
    const uint8_t *src = in.row(t.first - tapOffset);
    uint8_t *dst = out.row(yy);
    for (size_t i = 0; i < rowBytes; ++i) {
      int32_t s = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < t.count; ++y)
        s += src[size_t(y) * rowBytes + i] * k[y];
      dst[i] = clip8(s);
    }
  }
}

} // namespace

/// ImagingResampleInner: a horizontal pass (only over the rows the vertical
/// pass reads), then a vertical pass, each rounding to 8 bits; a pass whose
/// axis keeps its size is skipped.
Rgb8 resizeBilinear(Rgb8 in, int width, int height) {
  if (width == in.width && height == in.height)
    return in; // torchvision skips the resize
  AxisCoeffs vert = precomputeCoeffs(in.height, height);
  const Rgb8 *src = &in;
  Rgb8 tmp;
  int tapOffset = 0;
  if (width != in.width) {
    int yFirst = vert.taps.front().first;
    int yLast = vert.taps.back().first + vert.taps.back().count;
    AxisCoeffs horiz = precomputeCoeffs(in.width, width);
    tmp.width = width;
    tmp.height = yLast - yFirst;
    tmp.pixels.resize(size_t(tmp.width) * tmp.height * 3);
    resampleHorizontal(in, yFirst, horiz, tmp);
    src = &tmp;
    tapOffset = yFirst;
  }
  if (height == in.height)
    return tmp; // only the horizontal pass was needed
  Rgb8 out;
  out.width = width;
  out.height = height;
  out.pixels.resize(size_t(width) * height * 3);
  resampleVertical(*src, vert, tapOffset, out);
  return out;
}

} // namespace kiln::rt::detail
