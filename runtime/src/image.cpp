//===- image.cpp - images for ImageNet classifiers ------------------------===//
//
// This file implements loadImage() of kiln/image.h: decode with stb_image,
// then torchvision's ImageNet test transform on a PIL image, reproduced bit
// for bit (torchvision 0.14, Pillow 9.4):
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
// Decoding matches PIL's convert('RGB') (Pillow 9.4 with libjpeg-turbo 2.1):
// grayscale is replicated, alpha is dropped (not composited), palettes are
// expanded, 16-bit PNG samples keep their high byte, PPM/PGM with a maxval
// other than 255 are rescaled. stb_image parses every format; for JPEG, the
// steps where decoders round differently (IDCT, chroma upsampling, colour
// conversion) are done here as libjpeg-turbo does them, so JPEG pixels match
// PIL's too. tools/check_image_transform.py checks all of this against
// torchvision.
//
//===----------------------------------------------------------------------===//

#include "kiln/image.h"

#include "kiln/tensor_io.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

// stb_image is compiled into the runtime (static, decoders we need only), so
// executables need no image library at run time.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
// Zeroed allocations: stb_image 2.27 can leave buffers partly unwritten on
// odd inputs (a JPEG whose scans skip a component), which would otherwise
// leak heap contents into the image.
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(p, size) std::realloc(p, size)
#define STBI_FREE(p) std::free(p)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace kiln::rt {
namespace {

// Images above this many pixels (decoded or resized) are refused rather
// than risk an out-of-memory death: 2^28 pixels = 768 MiB of RGB.
constexpr int64_t kMaxPixels = int64_t{1} << 28;

/// An 8-bit RGB image, rows of width * 3 bytes.
struct Rgb8 {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
  uint8_t *row(int y) { return pixels.data() + size_t(y) * width * 3; }
  const uint8_t *row(int y) const {
    return pixels.data() + size_t(y) * width * 3;
  }
};

//===----------------------------------------------------------------------===//
// PIL's bilinear resize (libImaging/Resample.c)
//===----------------------------------------------------------------------===//

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

//===----------------------------------------------------------------------===//
// JPEG, the libjpeg-turbo way
//===----------------------------------------------------------------------===//
//
// PIL decodes JPEG with libjpeg-turbo's defaults: the accurate integer IDCT
// (JDCT_ISLOW), "fancy" (triangle) chroma upsampling and fixed-point
// YCbCr -> RGB tables. stb_image rounds all three differently (up to a few
// levels). The entropy-coded coefficients, however, are lossless and decode
// identically everywhere. So kiln lets stb_image parse the file and decode
// the coefficients, hooks the IDCT, and does upsampling and colour
// conversion itself, each step transcribed from libjpeg-turbo 2.1
// (jidctint.c, jdsample.c, jdcolor.c, jdmaster.c). This uses stb_image
// internals (stbi__jpeg, stbi__decode_jpeg_image) of the version Debian
// ships, 2.27; they are stable, and a change would fail to compile rather
// than misbehave.

/// range_limit[] after the IDCT (jdmaster.c prepare_range_limit_table):
/// x + 128 clamped to [0, 255] for |x| <= 512, wrapping beyond (only corrupt
/// data gets there).
inline uint8_t idctRangeLimit(int64_t x) {
  int t = static_cast<int>(x & 1023);
  return t < 128 ? t + 128 : t < 512 ? 255 : t < 896 ? 0 : t - 896;
}

inline int64_t descale(int64_t x, int n) {
  return (x + (int64_t{1} << (n - 1))) >> n;
}

/// jpeg_idct_islow (jidctint.c) for 8-bit samples: |data| holds the
/// dequantized coefficients in natural order (stb_image has dequantized
/// them already), |out| receives 8 rows of 8 samples, |stride| apart.
void idctIslow(stbi_uc *out, int stride, short data[64]) {
  constexpr int kConstBits = 13, kPass1Bits = 2;
  // FIX(x) = x * 2^13, rounded.
  constexpr int64_t F0_298 = 2446, F0_390 = 3196, F0_541 = 4433, F0_765 = 6270,
                    F0_899 = 7373, F1_175 = 9633, F1_501 = 12299,
                    F1_847 = 15137, F1_961 = 16069, F2_053 = 16819,
                    F2_562 = 20995, F3_072 = 25172;
  // The odd part, shared by both passes: inputs 1, 3, 5, 7 -> tmp0..tmp3.
  auto odd = [&](int64_t in1, int64_t in3, int64_t in5, int64_t in7,
                 int64_t t[4]) {
    int64_t tmp3 = in1, tmp2 = in3, tmp1 = in5, tmp0 = in7;
    int64_t z4 = tmp1 + tmp3, z3 = tmp0 + tmp2, z2 = tmp1 + tmp2,
            z1 = tmp0 + tmp3;
    int64_t z5 = (z3 + z4) * F1_175;
    tmp3 *= F1_501;
    tmp2 *= F3_072;
    tmp1 *= F2_053;
    tmp0 *= F0_298;
    z4 = z4 * -F0_390 + z5;
    z3 = z3 * -F1_961 + z5;
    z1 *= -F0_899;
    z2 *= -F2_562;
    t[3] = tmp3 + z1 + z4;
    t[2] = tmp2 + z2 + z3;
    t[1] = tmp1 + z2 + z4;
    t[0] = tmp0 + z1 + z3;
  };
  // The even part: inputs 0, 2, 4, 6 -> tmp10..tmp13.
  auto even = [&](int64_t in0, int64_t in2, int64_t in4, int64_t in6,
                  int64_t t[4]) {
    int64_t z1 = (in2 + in6) * F0_541;
    int64_t tmp2 = z1 + in6 * -F1_847, tmp3 = z1 + in2 * F0_765;
    int64_t tmp0 = (in0 + in4) * (int64_t{1} << kConstBits);
    int64_t tmp1 = (in0 - in4) * (int64_t{1} << kConstBits);
    t[0] = tmp0 + tmp3; // tmp10
    t[3] = tmp0 - tmp3; // tmp13
    t[1] = tmp1 + tmp2; // tmp11
    t[2] = tmp1 - tmp2; // tmp12
  };

  // Pass 1: columns into the workspace, scaled up by 2^kPass1Bits.
  int ws[64];
  for (int c = 0; c < 8; ++c) {
    const short *in = data + c;
    int *w = ws + c;
    if (!in[8] && !in[16] && !in[24] && !in[32] && !in[40] && !in[48] &&
        !in[56]) {
      int dc = in[0] * (1 << kPass1Bits); // AC terms all zero
      for (int r = 0; r < 8; ++r)
        w[r * 8] = dc;
      continue;
    }
    int64_t e[4], o[4];
    even(in[0], in[16], in[32], in[48], e);
    odd(in[8], in[24], in[40], in[56], o);
    constexpr int n = kConstBits - kPass1Bits;
    w[0] = static_cast<int>(descale(e[0] + o[3], n));
    w[56] = static_cast<int>(descale(e[0] - o[3], n));
    w[8] = static_cast<int>(descale(e[1] + o[2], n));
    w[48] = static_cast<int>(descale(e[1] - o[2], n));
    w[16] = static_cast<int>(descale(e[2] + o[1], n));
    w[40] = static_cast<int>(descale(e[2] - o[1], n));
    w[24] = static_cast<int>(descale(e[3] + o[0], n));
    w[32] = static_cast<int>(descale(e[3] - o[0], n));
  }
  // Pass 2: rows, descaled by 2^(kConstBits + kPass1Bits + 3), to samples.
  for (int r = 0; r < 8; ++r) {
    const int *w = ws + r * 8;
    stbi_uc *o8 = out + r * stride;
    if (!w[1] && !w[2] && !w[3] && !w[4] && !w[5] && !w[6] && !w[7]) {
      uint8_t dc = idctRangeLimit(descale(w[0], kPass1Bits + 3));
      std::memset(o8, dc, 8);
      continue;
    }
    int64_t e[4], o[4];
    even(w[0], w[2], w[4], w[6], e);
    odd(w[1], w[3], w[5], w[7], o);
    constexpr int n = kConstBits + kPass1Bits + 3;
    o8[0] = idctRangeLimit(descale(e[0] + o[3], n));
    o8[7] = idctRangeLimit(descale(e[0] - o[3], n));
    o8[1] = idctRangeLimit(descale(e[1] + o[2], n));
    o8[6] = idctRangeLimit(descale(e[1] - o[2], n));
    o8[2] = idctRangeLimit(descale(e[2] + o[1], n));
    o8[5] = idctRangeLimit(descale(e[2] - o[1], n));
    o8[3] = idctRangeLimit(descale(e[3] + o[0], n));
    o8[4] = idctRangeLimit(descale(e[3] - o[0], n));
  }
}

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
                              int outH) {
  std::vector<uint8_t> out(size_t(outW) * outH);
  const bool wide = p.width > 2;
  std::vector<int> colsum(p.width);
  for (int y = 0; y < outH; ++y) {
    uint8_t *o = &out[size_t(y) * outW];
    const int near = y / vs;
    if (hs == 2 && vs == 1 && wide) { // h2v1_fancy_upsample
      const int last = p.width - 1;
      for (int x = 0; x < outW; ++x) {
        int i = x / 2, v = p.at(i, near);
        if (x % 2 == 0)
          o[x] = i == 0 ? v : (v * 3 + p.at(i - 1, near) + 1) >> 2;
        else
          o[x] = i == last ? v : (v * 3 + p.at(i + 1, near) + 2) >> 2;
      }
    } else if (hs == 1 && vs == 2) { // h1v2_fancy_upsample
      // The next nearest row is above for even rows, below for odd ones;
      // the image's first and last rows are replicated (jdmainct.c).
      const bool above = y % 2 == 0;
      const int far = std::clamp(above ? near - 1 : near + 1, 0, p.height - 1);
      const int bias = above ? 1 : 2;
      for (int x = 0; x < outW; ++x)
        o[x] = (p.at(x, near) * 3 + p.at(x, far) + bias) >> 2;
    } else if (hs == 2 && vs == 2 && wide) { // h2v2_fancy_upsample
      const int far =
          std::clamp(y % 2 == 0 ? near - 1 : near + 1, 0, p.height - 1);
      for (int i = 0; i < p.width; ++i)
        colsum[i] = p.at(i, near) * 3 + p.at(i, far);
      const int last = p.width - 1;
      for (int x = 0; x < outW; ++x) {
        int i = x / 2, s = colsum[i];
        if (x % 2 == 0)
          o[x] = i == 0 ? (s * 4 + 8) >> 4 : (s * 3 + colsum[i - 1] + 8) >> 4;
        else
          o[x] =
              i == last ? (s * 4 + 7) >> 4 : (s * 3 + colsum[i + 1] + 7) >> 4;
      }
    } else { // fullsize, h2v1_upsample, h2v2_upsample, int_upsample
      for (int x = 0; x < outW; ++x)
        o[x] = static_cast<uint8_t>(p.at(x / hs, near));
    }
  }
  return out;
}

/// jdcolor.c's fixed-point YCbCr -> RGB (SCALEBITS 16) for one pixel.
class YCbCrToRgb {
public:
  YCbCrToRgb() {
    constexpr int64_t kOneHalf = int64_t{1} << 15;
    auto fix = [](double x) { return static_cast<int64_t>(x * 65536 + 0.5); };
    for (int i = 0; i < 256; ++i) {
      int64_t x = i - 128;
      crR_[i] = static_cast<int>((fix(1.40200) * x + kOneHalf) >> 16);
      cbB_[i] = static_cast<int>((fix(1.77200) * x + kOneHalf) >> 16);
      crG_[i] = -fix(0.71414) * x;
      cbG_[i] = -fix(0.34414) * x + kOneHalf;
    }
  }
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

/// MULDIV255 of Pillow: a * b / 255, rounded.
inline int mulDiv255(int a, int b) {
  int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/// stb_image's reason for the last failure ("corrupt data" when it gave
/// none); clearReason() forgets a stale one before a new call.
void clearReason() { stbi__g_failure_reason = nullptr; }
std::string failureReason() {
  const char *reason = stbi_failure_reason();
  return reason ? reason : "corrupt data";
}

/// Decodes a JPEG into RGB as PIL's Image.open(f).convert('RGB') does.
bool decodeJpeg(const uint8_t *bytes, int len, Rgb8 &image) {
  stbi__context ctx;
  stbi__start_mem(&ctx, bytes, len);
  auto j = std::make_unique<stbi__jpeg>(); // zeroed
  j->s = &ctx;
  stbi__setup_jpeg(j.get());
  j->idct_block_kernel = idctIslow;
  ctx.img_n = 0; // makes stbi__cleanup_jpeg safe before the frame header
  struct Cleanup {
    stbi__jpeg *j;
    ~Cleanup() { stbi__cleanup_jpeg(j); }
  } cleanup{j.get()};
  clearReason();
  if (!stbi__decode_jpeg_image(j.get()))
    return false; // the caller reports stbi_failure_reason()
  const int n = ctx.img_n, w = static_cast<int>(ctx.img_x),
            h = static_cast<int>(ctx.img_y);
  // stbi_info_from_memory() has checked the size.

  // Upsample every component to full size.
  std::vector<std::vector<uint8_t>> planes(n);
  for (int k = 0; k < n; ++k) {
    const auto &c = j->img_comp[k];
    Plane p{c.data, c.x, c.y, c.w2};
    planes[k] = upsample(p, j->img_h_max / c.h, j->img_v_max / c.v, w, h);
  }

  // The colour space, guessed as libjpeg's default_decompress_parms does.
  enum { Gray, YCbCr, Rgb, Cmyk, Ycck } space = Gray;
  if (n == 3) {
    const int id0 = j->img_comp[0].id, id1 = j->img_comp[1].id,
              id2 = j->img_comp[2].id;
    if (j->jfif)
      space = YCbCr;
    else if (j->app14_color_transform >= 0)
      space = j->app14_color_transform == 0 ? Rgb : YCbCr;
    else
      space = id0 == 'R' && id1 == 'G' && id2 == 'B' ? Rgb : YCbCr;
  } else if (n == 4) {
    space = j->app14_color_transform == 2   ? Ycck
            : j->app14_color_transform <= 0 ? Cmyk
                                            : Ycck;
  }

  image.width = w;
  image.height = h;
  image.pixels.resize(size_t(w) * h * 3);
  static const YCbCrToRgb toRgb;
  uint8_t *out = image.pixels.data();
  const size_t count = size_t(w) * h;
  for (size_t i = 0; i < count; ++i, out += 3) {
    switch (space) {
    case Gray:
      out[0] = out[1] = out[2] = planes[0][i];
      break;
    case Rgb:
      for (int c = 0; c < 3; ++c)
        out[c] = planes[c][i];
      break;
    case YCbCr:
      toRgb(planes[0][i], planes[1][i], planes[2][i], out);
      break;
    case Cmyk:
    case Ycck: {
      // libjpeg outputs CMYK (ycck_cmyk_convert inverts YCC->RGB, K passes
      // through); PIL reads it as Adobe-inverted "CMYK;I" and converts with
      // cmyk2rgb: nk - nk * c / 255 per channel, with c, k = 255 - sample.
      uint8_t cmy[3];
      if (space == Ycck) {
        toRgb(planes[0][i], planes[1][i], planes[2][i], cmy);
        for (uint8_t &v : cmy)
          v = static_cast<uint8_t>(255 - v);
      } else {
        for (int c = 0; c < 3; ++c)
          cmy[c] = planes[c][i];
      }
      const int nk = planes[3][i]; // 255 - (255 - sample)
      for (int c = 0; c < 3; ++c) {
        int v = nk - mulDiv255(255 - cmy[c], nk);
        out[c] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
      }
      break;
    }
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

/// The header of a binary PNM (P5/P6) file.
struct PnmHeader {
  int64_t width = 0, height = 0, maxval = 0, channels = 0;
  size_t dataOffset = 0;
};

/// Parses a binary PNM header as stb_image does (whitespace, '#' comments,
/// one whitespace byte after maxval), but refuses numbers of more than 9
/// digits, which stb_image 2.27 would overflow, and checks that the file
/// holds all the pixels, which stb_image 2.27 does not (it would return
/// uninitialized memory). PIL reports the same cases as errors.
bool parsePnm(const uint8_t *bytes, size_t size, PnmHeader &h,
              std::string &why) {
  auto space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  h.channels = bytes[1] == '6' ? 3 : 1;
  size_t i = 2;
  int64_t *fields[3] = {&h.width, &h.height, &h.maxval};
  for (int64_t *field : fields) {
    for (;;) {
      while (i < size && space(bytes[i]))
        ++i;
      if (i >= size || bytes[i] != '#')
        break;
      while (i < size && bytes[i] != '\n' && bytes[i] != '\r')
        ++i;
    }
    size_t start = i;
    while (i < size && bytes[i] >= '0' && bytes[i] <= '9' && i - start < 10)
      *field = *field * 10 + (bytes[i++] - '0');
    if (i == start || i - start > 9) {
      why = "bad PPM/PGM header";
      return false;
    }
  }
  if (h.width == 0 || h.height == 0 || h.maxval == 0 || h.maxval > 65535) {
    why = "bad PPM/PGM header (" + std::to_string(h.width) + " x " +
          std::to_string(h.height) + ", maxval " + std::to_string(h.maxval) +
          ")";
    return false;
  }
  if (h.width * h.height > kMaxPixels) {
    why = "image of " + std::to_string(h.width) + " x " +
          std::to_string(h.height) + " pixels is too large";
    return false;
  }
  h.dataOffset = i + 1;
  uint64_t need =
      uint64_t(h.width * h.height * h.channels) * (h.maxval > 255 ? 2 : 1);
  if (h.dataOffset > size || size - h.dataOffset < need) {
    why = "truncated PPM/PGM: " + std::to_string(h.width) + " x " +
          std::to_string(h.height) + " pixels need " + std::to_string(need) +
          " bytes of data, the file has " +
          std::to_string(size > h.dataOffset ? size - h.dataOffset : 0);
    return false;
  }
  return true;
}

// stb_image 2.27 (Debian bookworm) predates a round of fuzzing fixes. kiln
// closes the holes that corrupt memory or leak it (Huffman tables, PNM
// headers and sizes, zeroed allocations, all below and above). One known
// issue remains: on corrupt entropy-coded JPEG data its bit reader can shift
// by 32 (undefined behaviour; on x86 and ARM the result is garbage pixels of
// an already corrupt file).

/// Checks the Huffman tables of a JPEG before stb_image sees it: stb_image
/// 2.27 does not check that a table defines at most 256 codes and writes past
/// its arrays when one does (fixed upstream in 2.28). Walks the segments as
/// stb_image does: skips each by its length, scans entropy-coded data for
/// the next marker, and reads DHT tables one after another while the
/// segment's length lasts.
bool jpegHuffmanTablesValid(const uint8_t *p, size_t size) {
  size_t i = 2; // after SOI
  while (i + 1 < size) {
    if (p[i] != 0xFF || p[i + 1] == 0xFF) {
      ++i; // entropy-coded data, padding, fill bytes
      continue;
    }
    const uint8_t m = p[i + 1];
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {
      i += 2; // stuffed 0xFF, TEM, RSTn, SOI, EOI: no length
      continue;
    }
    if (i + 3 >= size)
      break;
    const size_t len = size_t(p[i + 2]) << 8 | p[i + 3];
    if (m == 0xC4) { // DHT: tables of 1 + 16 + (sum of counts) bytes
      int64_t left = int64_t(len) - 2;
      size_t j = i + 4;
      while (left > 0) {
        int codes = 0;
        for (size_t k = j + 1; k < j + 17; ++k)
          codes += k < size ? p[k] : 0; // stb reads zeros past the end
        if (codes > 256)
          return false;
        j += 17 + size_t(codes);
        left -= 17 + codes;
      }
    }
    i += 2 + len;
  }
  return true;
}

/// Decodes |bytes| into |image| as PIL's Image.open(f).convert('RGB') does.
/// On failure |why| says what is wrong, naming the format.
bool decodeImage(const std::vector<uint8_t> &bytes, Rgb8 &image,
                 std::string &why) {
  const size_t size = bytes.size();
  const uint8_t *p = bytes.data();
  const bool jpeg = size >= 2 && p[0] == 0xFF && p[1] == 0xD8;
  const bool png = size >= 8 && std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool pnm = size >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6');
  if (!jpeg && !png && !pnm) {
    why = "not a JPEG, PNG or PPM/PGM image";
    return false;
  }
  if (size > static_cast<size_t>(INT_MAX)) {
    why = "file too large";
    return false;
  }
  const char *format = jpeg ? "JPEG" : png ? "PNG" : "PPM/PGM";
  auto corrupt = [&] {
    why = std::string("corrupt or truncated ") + format + " (" +
          failureReason() + ")";
    return false;
  };

  // Checks stb_image 2.27 lacks, before it reads anything.
  PnmHeader header;
  if (jpeg && !jpegHuffmanTablesValid(p, size)) {
    why = "corrupt JPEG (a Huffman table has more than 256 codes)";
    return false;
  }
  if (pnm && !parsePnm(p, size, header, why))
    return false;

  const int len = static_cast<int>(size);
  int w = 0, h = 0, comp = 0;
  clearReason();
  if (!stbi_info_from_memory(p, len, &w, &h, &comp))
    return corrupt();
  if (w <= 0 || h <= 0 || int64_t{w} * h > kMaxPixels) {
    why = "image of " + std::to_string(w) + " x " + std::to_string(h) +
          " pixels is too large";
    return false;
  }
  if (jpeg)
    return decodeJpeg(p, len, image) || corrupt();

  // Request 3 channels: stb replicates gray and drops alpha, like PIL's
  // convert('RGB') (which neither composites nor premultiplies); 16-bit PNG
  // samples keep their high byte, as PIL's 16-bit RGB(A) modes do.
  const int maxval = pnm ? static_cast<int>(header.maxval) : 255;
  const bool wide = maxval > 255;
  clearReason();
  void *data = wide ? static_cast<void *>(
                          stbi_load_16_from_memory(p, len, &w, &h, &comp, 3))
                    : static_cast<void *>(
                          stbi_load_from_memory(p, len, &w, &h, &comp, 3));
  if (!data)
    return corrupt();
  struct Free {
    void *p;
    ~Free() { stbi_image_free(p); }
  } release{data};
  image.width = w;
  image.height = h;
  const size_t count = size_t(w) * h * 3;
  image.pixels.resize(count);
  if (maxval == 255) {
    std::memcpy(image.pixels.data(), data, count);
    return true;
  }
  // PNM with another maxval: PIL's PpmDecoder scales each sample to
  // min(255, round(v / maxval * 255)) (Python's round: half to even).
  // (Pillow 9.4 reads 16-bit samples little-endian, against the format;
  // kiln reads them big-endian, as the format and stb_image do.)
  for (size_t i = 0; i < count; ++i) {
    double v = wide ? static_cast<const uint16_t *>(data)[i]
                    : static_cast<const uint8_t *>(data)[i];
    double scaled = std::nearbyint(v / maxval * 255.0);
    image.pixels[i] = static_cast<uint8_t>(scaled > 255 ? 255 : scaled);
  }
  return true;
}

//===----------------------------------------------------------------------===//
// torchvision's Resize, CenterCrop, ToTensor, Normalize
//===----------------------------------------------------------------------===//

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
  if (!readFile(path, bytes, error))
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
