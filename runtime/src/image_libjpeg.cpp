//===- image_libjpeg.cpp - libjpeg-turbo's JPEG rounding ------------------===//
//
// This file implements image_libjpeg.h: the three steps of JPEG decoding
// where stb_image rounds differently from libjpeg-turbo (up to a few
// levels), each transcribed from libjpeg-turbo 2.1 so that kiln's JPEG
// pixels equal PIL's: jpeg_idct_islow (jidctint.c, with the range limit of
// jdmaster.c), the fancy upsampling of jdsample.c and the fixed-point
// YCbCr -> RGB tables of jdcolor.c.
//
//===----------------------------------------------------------------------===//

#include "image_libjpeg.h"

#include <algorithm>
#include <cstring>

namespace kiln::rt::detail {
namespace {

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

} // namespace

void idctIslow(uint8_t *out, int stride, short data[64]) {
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
    uint8_t *o8 = out + r * stride;
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

YCbCrToRgb::YCbCrToRgb() {
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

} // namespace kiln::rt::detail
