//===- kernel_test.cpp - checks the CPU kernels against a reference -------===//
//
// kiln-kernel-test runs every CPU kernel template (kiln/cpu/kernels.h) on
// many shapes and compares it with a plain double-precision reference
// written here, independently of the kernels' code:
//  * convolution: dense, strided, padded beyond k/2, dilated, asymmetric,
//    grouped (lane-shared and per-group GEMM), depthwise with multipliers,
//    every activation, bias and residual on and off, batch > 1, channel
//    tails, inputs / outputs / residuals that are channel slices of wider
//    buffers, and a residual that aliases the output;
//  * a dense convolution into one group of a two-group shuffle that also
//    writes the other group from a pass-through (conv2d_shuffled), which
//    must come through bit for bit;
//  * Winograd F(2x2, 3x3) and F(4x4, 3x3) over the same range of cases;
//  * 1x1 / depthwise / 1x1 chains (conv_chain), also bit for bit against
//    the three conv2d kernels;
//  * linear, including the batch-1 GEMV;
//  * max / average pooling (ceil_mode, windows starting in the padding,
//    count_include_pad and exclude_pad, dilation) and adaptive average
//    pooling with non-divisible sizes;
//  * strided copies (copy2d): concat parts, shuffle groups (the floats
//    between a group's must come through unchanged), NCHW <-> NHWC;
//  * the thread pool itself.
// Each case runs on a 1-thread and a 2-thread pool, which must agree bit
// for bit (each output has one fixed reduction order), must not write
// outside its channel slice, and must match the reference within 1e-5
// relative L2 error over the tensor and 1e-4 of max|ref| per element. One
// line per case; the last line is "kiln-kernel-test: N cases, F failed";
// the exit status is 1 when F > 0.
//
// --negative corrupts one output element of every kernel case (by 1e-3 of
// max|ref|) after the thread comparison, to show that the checker catches
// it: every case must then fail.
//
//===----------------------------------------------------------------------===//

#include "kiln/cpu/kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace kiln::cpu;
using kiln::rt::ThreadPool;

namespace {

constexpr double kMaxL2 = 1e-5;      // relative L2 error over the tensor
constexpr double kMaxElement = 1e-4; // per element, relative to max|ref|
constexpr float kSentinel = -777.25f; // fills what a kernel must not write

bool negative = false;
/// The kernel set being checked.
const char *isa = "";
int cases = 0, failures = 0;

/// xorshift64*: deterministic on every platform.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * float(next() >> 40) / float(1 << 24);
  }
  std::vector<float> floats(size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (float &x : v)
      x = uniform(lo, hi);
    return v;
  }
};

ThreadPool &pool1() {
  static ThreadPool p(1);
  return p;
}
ThreadPool &pool2() {
  static ThreadPool p(2);
  return p;
}

//===----------------------------------------------------------------------===//
// Checking
//===----------------------------------------------------------------------===//

/// A kernel's output: |pixels| pixels of |channels| values, |step| floats
/// apart from |offset| on, within pixels of |stride| floats; the rest of the
/// buffer must keep kSentinel.
struct Slice {
  size_t pixels;
  int channels, stride, offset;
  int step = 1;
};

/// Compares the outputs of the 1- and 2-thread runs with each other and
/// |ref| ([pixel][channel]); prints the case's line and counts it. A
/// non-empty |problem| (found by the caller) fails the case too.
void check(const std::string &what, std::vector<float> out1,
           const std::vector<float> &out2, const std::vector<double> &ref,
           Slice s, Rng &rng, const std::string &problem = "") {
  ++cases;
  bool same = out1 == out2 ||
              !std::memcmp(out1.data(), out2.data(), out1.size() * 4);
  double ref_max = 0;
  for (double r : ref)
    ref_max = std::max(ref_max, std::fabs(r));
  if (negative) {
    size_t p = rng.next() % s.pixels, c = rng.next() % s.channels;
    out1[p * s.stride + s.offset + c * s.step] += float(1e-3 * ref_max + 1e-30);
  }
  double err2 = 0, ref2 = 0, err_max = 0;
  bool guards = true;
  for (size_t p = 0; p < s.pixels; ++p)
    for (int c = 0; c < s.stride; ++c) {
      float y = out1[p * s.stride + c];
      int d = c - s.offset, k = d / s.step;
      if (d < 0 || d % s.step != 0 || k >= s.channels) {
        guards &= !std::memcmp(&y, &kSentinel, 4);
        continue;
      }
      double r = ref[p * s.channels + k], e = std::fabs(y - r);
      err2 += e * e, ref2 += r * r;
      err_max = std::isnan(y) ? INFINITY : std::max(err_max, e);
    }
  double l2 = std::sqrt(err2 / std::max(ref2, 1e-300));
  double elem = err_max / std::max(ref_max, 1e-30);
  bool ok = same && guards && l2 <= kMaxL2 && elem <= kMaxElement &&
            problem.empty();
  failures += !ok;
  std::printf("%s %s %s: l2 %.1e max %.1e%s%s%s\n", ok ? "PASS" : "FAIL", isa,
              what.c_str(), l2, elem, same ? "" : ", 1 and 2 threads differ",
              guards ? "" : ", wrote outside its slice",
              problem.empty() ? "" : (", " + problem).c_str());
}

double activate(double x, Activation a) {
  switch (a) {
  case Activation::None:
    return x;
  case Activation::Relu:
    return std::max(x, 0.0);
  case Activation::Relu6:
    return std::min(std::max(x, 0.0), 6.0);
  case Activation::Sigmoid:
    return 1 / (1 + std::exp(-x));
  case Activation::HardSigmoid:
    return std::min(std::max(x + 3, 0.0), 6.0) / 6;
  case Activation::HardSwish:
    return x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
  case Activation::Silu:
    return x / (1 + std::exp(-x));
  }
  return x;
}

const char *act_name(Activation a) {
  const char *names[] = {"none",         "relu",       "relu6", "sigmoid",
                         "hard_sigmoid", "hard_swish", "silu"};
  return names[int(a)];
}

std::string describe(Epilogue e) {
  std::string s = e.bias ? " +bias" : "";
  if (e.residual)
    s += " +residual/" + std::to_string(e.residual_stride);
  if (e.pass_stride)
    s += " +pass/" + std::to_string(e.pass_stride) + "@" +
         std::to_string(e.pass_offset);
  return s + " " + act_name(e.act);
}

//===----------------------------------------------------------------------===//
// Convolution and linear
//===----------------------------------------------------------------------===//

/// PyTorch's output size.
constexpr int conv_out(int in, int k, int s, int p, int d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// A convolution whose input and output pixel strides exceed the channels
/// by |in_extra| and |out_extra| (the test reads and writes the middle of
/// such wider buffers).
constexpr Conv2d conv(int n, int h, int w, int c, int o, int kh, int kw,
                      int sh, int sw, int ph, int pw, int dh = 1, int dw = 1,
                      int groups = 1, int in_extra = 0, int out_extra = 0) {
  return {n,  h,  w,  c,  o,
          kh, kw, sh, sw, ph,
          pw, dh, dw, groups, conv_out(h, kh, sh, ph, dh),
          conv_out(w, kw, sw, pw, dw), c + in_extra, o + out_extra};
}
/// Square kernel, stride, padding and dilation.
constexpr Conv2d sq(int n, int h, int w, int c, int o, int k, int s, int p,
                    int d = 1, int groups = 1, int in_extra = 0,
                    int out_extra = 0) {
  return conv(n, h, w, c, o, k, k, s, s, p, p, d, d, groups, in_extra,
              out_extra);
}
/// |s| writing one group of a channel shuffle over |groups| groups: its
/// channel k at k * groups (the test writes the last group).
constexpr Conv2d shuffled(Conv2d s, int groups) {
  s.out_step = groups;
  s.out_stride = s.o * groups;
  return s;
}
constexpr Epilogue epi(bool bias, Activation act) {
  return {bias, false, 0, act};
}
constexpr Epilogue res(bool bias, Activation act, int stride) {
  return {bias, true, stride, act};
}

/// out[p][o] = act(sum in * w + bias + residual), in double.
std::vector<double> ref_conv(const Conv2d &s, const Epilogue &e,
                             const float *in, const float *w,
                             const float *bias, const float *residual) {
  int cin = s.c / s.groups, cout = s.o / s.groups;
  std::vector<double> out(size_t(s.n) * s.ho * s.wo * s.o);
  size_t p = 0;
  for (int n = 0; n < s.n; ++n)
    for (int oy = 0; oy < s.ho; ++oy)
      for (int ox = 0; ox < s.wo; ++ox, ++p)
        for (int o = 0; o < s.o; ++o) {
          double acc = 0;
          int g = o / cout;
          for (int j = 0; j < cin; ++j)
            for (int ky = 0; ky < s.kh; ++ky)
              for (int kx = 0; kx < s.kw; ++kx) {
                int iy = oy * s.sh - s.ph + ky * s.dh;
                int ix = ox * s.sw - s.pw + kx * s.dw;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                  continue;
                acc += double(in[((size_t(n) * s.h + iy) * s.w + ix) *
                                     s.in_stride +
                                 g * cin + j]) *
                       w[((size_t(o) * cin + j) * s.kh + ky) * s.kw + kx];
              }
          if (e.bias)
            acc += bias[o];
          if (e.residual)
            acc += residual[p * e.residual_stride + o];
          out[p * s.o + o] = activate(acc, e.act);
        }
  return out;
}

/// Runs conv2d<S, E> (or, with WinogradM = 2 or 4, conv2d_winograd of
/// F(m x m, 3 x 3)) on random data and checks it. With |alias|, the
/// residual is read from the output buffer itself (E.residual_stride must
/// equal S.out_stride).
template <Conv2d S, Epilogue E, int WinogradM = 0>
void conv_case(const char *family, bool alias = false) {
  static_assert(!E.residual || E.residual_stride >= S.o);
  if (alias && !(E.residual && E.residual_stride == S.out_stride)) {
    std::fprintf(stderr, "conv_case: an aliased residual needs the output's "
                         "stride\n");
    std::abort();
  }
  Rng rng(cases + 1);
  size_t pixels = size_t(S.n) * S.ho * S.wo;
  int in_off = (S.in_stride - S.c) / 2;
  int out_off = S.out_step == 1 ? (S.out_stride - S.o) / 2 : S.out_step - 1;
  int rs = E.residual ? E.residual_stride : S.o, res_off = (rs - S.o) / 2;
  std::vector<float> in =
      rng.floats(size_t(S.n) * S.h * S.w * S.in_stride, -1, 1);
  float bound = 1 / std::sqrt(float(S.c / S.groups * S.kh * S.kw));
  std::vector<float> w =
      rng.floats(size_t(S.o) * (S.c / S.groups) * S.kh * S.kw, -bound, bound);
  std::vector<float> bias = rng.floats(S.o, -0.5f, 0.5f);
  std::vector<float> residual = rng.floats(pixels * rs, -1, 1);
  std::vector<double> ref = ref_conv(S, E, in.data() + in_off, w.data(),
                                     bias.data(), residual.data() + res_off);

  constexpr Winograd W{S, WinogradM};
  std::vector<float> packed;
  if constexpr (WinogradM) {
    packed.assign(conv2d_winograd_packed_size<W>(), kSentinel);
    conv2d_winograd_pack<W>(w.data(), packed.data());
  } else {
    packed.assign(conv2d_packed_size<S>(), kSentinel);
    conv2d_pack<S>(w.data(), packed.data());
  }
  auto run = [&](ThreadPool &pool) {
    std::vector<float> out(pixels * S.out_stride, kSentinel);
    const float *r = E.residual ? residual.data() + res_off : nullptr;
    if (alias) {
      for (size_t p = 0; p < pixels; ++p)
        std::copy_n(residual.data() + p * rs + res_off, S.o,
                    out.data() + p * S.out_stride + out_off);
      r = out.data() + out_off;
    }
    if constexpr (WinogradM)
      conv2d_winograd<W, E>(in.data() + in_off, packed.data(),
                            E.bias ? bias.data() : nullptr, r,
                            out.data() + out_off, pool);
    else
      conv2d<S, E>(in.data() + in_off, packed.data(),
                   E.bias ? bias.data() : nullptr, r, out.data() + out_off,
                   pool);
    return out;
  };
  std::vector<float> out1 = run(pool1()), out2 = run(pool2());

  char what[256];
  std::snprintf(what, sizeof what,
                "conv2d %-10s n%d %dx%dx%d->%d k%dx%d s%d,%d p%d,%d d%d,%d "
                "g%d strides %d/%d%s%s%s",
                family, S.n, S.h, S.w, S.c, S.o, S.kh, S.kw, S.sh, S.sw, S.ph,
                S.pw, S.dh, S.dw, S.groups, S.in_stride, S.out_stride,
                S.out_step == 1 ? "" : (" step " + std::to_string(S.out_step)).c_str(),
                describe(E).c_str(), alias ? " (aliases out)" : "");
  check(what, std::move(out1), out2, ref,
        {pixels, S.o, S.out_stride, out_off, S.out_step}, rng);
}

/// Epilogue |e| with a pass-through |stride| floats a pixel apart, whose
/// channel k lands at out[2 k + offset].
constexpr Epilogue with_pass(Epilogue e, int stride, int offset) {
  e.pass_stride = stride;
  e.pass_offset = offset;
  return e;
}

/// Runs conv2d_shuffled<S, E> (S.out_step 2): the result's 2 S.o channels,
/// both groups of the shuffle, are checked together against the reference
/// convolution interleaved with the pass-through, which must come through
/// bit for bit; floats of the output's pixels around them stay untouched
/// (the output's pixels are 2 S.o + 4 floats apart, the pair starting at 2).
template <Conv2d S0, Epilogue E> void shuffled_conv_case() {
  constexpr Conv2d S = [] {
    Conv2d s = shuffled(S0, 2);
    s.out_stride = 2 * s.o + 4;
    return s;
  }();
  Rng rng(cases + 1);
  size_t pixels = size_t(S.n) * S.ho * S.wo;
  const int pair_off = 2, pass_off = (E.pass_stride - S.o) / 2;
  const int out_off = pair_off + (E.pass_offset < 0 ? 1 : 0);
  std::vector<float> in = rng.floats(size_t(S.n) * S.h * S.w * S.in_stride, -1, 1);
  float bound = 1 / std::sqrt(float(S.c * S.kh * S.kw));
  std::vector<float> w = rng.floats(size_t(S.o) * S.c * S.kh * S.kw, -bound, bound);
  std::vector<float> bias = rng.floats(S.o, -0.5f, 0.5f);
  int rs = E.residual ? E.residual_stride : S.o;
  std::vector<float> residual = rng.floats(pixels * rs, -1, 1);
  std::vector<float> pass = rng.floats(pixels * E.pass_stride, -1, 1);
  std::vector<double> conv = ref_conv(S, E, in.data(), w.data(), bias.data(),
                                      residual.data());
  std::vector<double> ref(pixels * 2 * S.o);
  for (size_t p = 0; p < pixels; ++p)
    for (int k = 0; k < S.o; ++k) {
      int at = 2 * k + (E.pass_offset < 0 ? 1 : 0);
      ref[p * 2 * S.o + at] = conv[p * S.o + k];
      ref[p * 2 * S.o + (at ^ 1)] = pass[p * E.pass_stride + pass_off + k];
    }
  std::vector<float> packed(conv2d_packed_size<S>(), kSentinel);
  conv2d_pack<S>(w.data(), packed.data());
  auto run = [&](ThreadPool &pool) {
    std::vector<float> out(pixels * S.out_stride, kSentinel);
    conv2d_shuffled<S, E>(in.data(), packed.data(),
                          E.bias ? bias.data() : nullptr,
                          E.residual ? residual.data() : nullptr,
                          pass.data() + pass_off, out.data() + out_off, pool);
    return out;
  };
  std::vector<float> out1 = run(pool1()), out2 = run(pool2());
  // The pass-through's floats must be exact copies.
  std::string problem;
  for (size_t p = 0; p < pixels && problem.empty(); ++p)
    for (int k = 0; k < S.o; ++k) {
      float y = out1[p * S.out_stride + pair_off + 2 * k +
                     (E.pass_offset < 0 ? 0 : 1)];
      if (std::memcmp(&y, &pass[p * E.pass_stride + pass_off + k], 4)) {
        problem = "pass-through channel " + std::to_string(k) + " of pixel " +
                  std::to_string(p) + " is not an exact copy";
        break;
      }
    }
  char what[256];
  std::snprintf(what, sizeof what,
                "conv2d shuffled+pass n%d %dx%dx%d->%d k%dx%d s%d p%d pass %s/%d%s",
                S.n, S.h, S.w, S.c, S.o, S.kh, S.kw, S.sh, S.ph,
                E.pass_offset < 0 ? "first" : "second", E.pass_stride,
                describe(E).c_str());
  check(what, std::move(out1), out2, ref,
        {pixels, 2 * S.o, S.out_stride, pair_off, 1}, rng, problem);
}

template <Linear S, Epilogue E> void linear_case() {
  Rng rng(cases + 1);
  std::vector<float> x = rng.floats(size_t(S.m) * S.k, -1, 1);
  float bound = 1 / std::sqrt(float(S.k));
  std::vector<float> w = rng.floats(size_t(S.n) * S.k, -bound, bound);
  std::vector<float> bias = rng.floats(S.n, -0.5f, 0.5f);
  std::vector<float> residual = rng.floats(size_t(S.m) * S.n, -1, 1);
  std::vector<double> ref(size_t(S.m) * S.n);
  for (int m = 0; m < S.m; ++m)
    for (int n = 0; n < S.n; ++n) {
      double acc = 0;
      for (int k = 0; k < S.k; ++k)
        acc += double(x[size_t(m) * S.k + k]) * w[size_t(n) * S.k + k];
      if (E.bias)
        acc += bias[n];
      if (E.residual)
        acc += residual[size_t(m) * S.n + n];
      ref[size_t(m) * S.n + n] = activate(acc, E.act);
    }

  std::vector<float> packed(linear_packed_size<S>(), kSentinel);
  linear_pack<S>(w.data(), packed.data());
  auto run = [&](ThreadPool &pool) {
    std::vector<float> y(size_t(S.m) * S.n, kSentinel);
    linear<S, E>(x.data(), packed.data(), E.bias ? bias.data() : nullptr,
                 E.residual ? residual.data() : nullptr, y.data(), pool);
    return y;
  };
  std::vector<float> y1 = run(pool1()), y2 = run(pool2());
  char what[160];
  std::snprintf(what, sizeof what, "linear m%d k%d n%d%s", S.m, S.k, S.n,
                describe(E).c_str());
  check(what, std::move(y1), y2, ref, {size_t(S.m), S.n, S.n, 0}, rng);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// PyTorch's pooling output size, including ceil_mode's rule that the last
/// window must start inside the input or the left padding.
constexpr int pool_out(int in, int k, int s, int p, int d, bool ceil_mode) {
  int span = in + 2 * p - d * (k - 1) - 1;
  int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p)
    --out;
  return out;
}

constexpr Pool2d pool2d(int n, int h, int w, int c, int k, int s, int p,
                        bool ceil_mode, bool exclude_pad = false, int d = 1,
                        int in_extra = 0, int out_extra = 0) {
  return {n,
          h,
          w,
          c,
          k,
          k,
          s,
          s,
          p,
          p,
          d,
          d,
          pool_out(h, k, s, p, d, ceil_mode),
          pool_out(w, k, s, p, d, ceil_mode),
          exclude_pad,
          c + in_extra,
          c + out_extra};
}

enum class PoolKind { Max, Avg, Adaptive };

/// Checks a pooling kernel on random data; |window| gives output pixel
/// (oy, ox)'s window [y0, y1) x [x0, x1) in unpadded input coordinates (the
/// dilation step is |d|) and its divisor.
template <typename Kernel, typename WindowFn>
void pool_case(const std::string &what, PoolKind kind, int n, int h, int w,
               int c, int ho, int wo, int in_stride, int out_stride, int d,
               Kernel kernel, WindowFn window) {
  Rng rng(cases + 1);
  int in_off = (in_stride - c) / 2, out_off = (out_stride - c) / 2;
  std::vector<float> in = rng.floats(size_t(n) * h * w * in_stride, -1, 1);
  size_t pixels = size_t(n) * ho * wo;
  std::vector<double> ref(pixels * c);
  for (int img = 0; img < n; ++img)
    for (int oy = 0; oy < ho; ++oy)
      for (int ox = 0; ox < wo; ++ox)
        for (int ch = 0; ch < c; ++ch) {
          int y0, y1, x0, x1;
          double divisor;
          window(oy, ox, y0, y1, x0, x1, divisor);
          double acc = kind == PoolKind::Max ? -INFINITY : 0;
          int count = 0;
          for (int iy = y0; iy < y1; iy += d)
            for (int ix = x0; ix < x1; ix += d) {
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              size_t pixel = (size_t(img) * h + iy) * w + ix;
              double v = in[pixel * in_stride + in_off + ch];
              acc = kind == PoolKind::Max ? std::max(acc, v) : acc + v;
              ++count;
            }
          if (kind != PoolKind::Max)
            acc = count ? acc / divisor : 0;
          ref[((size_t(img) * ho + oy) * wo + ox) * c + ch] = acc;
        }
  auto run = [&](ThreadPool &pool) {
    std::vector<float> out(pixels * out_stride, kSentinel);
    kernel(in.data() + in_off, out.data() + out_off, pool);
    return out;
  };
  std::vector<float> out1 = run(pool1()), out2 = run(pool2());
  check(what, std::move(out1), out2, ref, {pixels, c, out_stride, out_off},
        rng);
}

std::string describe(const Pool2d &s) {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "n%d %dx%dx%d->%dx%d k%d s%d p%d d%d strides %d/%d", s.n, s.h,
                s.w, s.c, s.ho, s.wo, s.kh, s.sh, s.ph, s.dh, s.in_stride,
                s.out_stride);
  return buf;
}

template <Pool2d S> void max_pool_case() {
  pool_case(
      "max_pool2d " + describe(S), PoolKind::Max, S.n, S.h, S.w, S.c, S.ho,
      S.wo, S.in_stride, S.out_stride, S.dh,
      [](const float *in, float *out, ThreadPool &p) {
        max_pool2d<S>(in, out, p);
      },
      [](int oy, int ox, int &y0, int &y1, int &x0, int &x1, double &div) {
        y0 = oy * S.sh - S.ph, y1 = y0 + (S.kh - 1) * S.dh + 1;
        x0 = ox * S.sw - S.pw, x1 = x0 + (S.kw - 1) * S.dw + 1;
        div = 1;
      });
}

template <Pool2d S> void avg_pool_case() {
  pool_case(
      std::string("avg_pool2d ") + describe(S) +
          (S.exclude_pad ? " exclude_pad" : " include_pad"),
      PoolKind::Avg, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride,
      S.out_stride, 1,
      [](const float *in, float *out, ThreadPool &p) {
        avg_pool2d<S>(in, out, p);
      },
      [](int oy, int ox, int &y0, int &y1, int &x0, int &x1, double &div) {
        // PyTorch: the window is clipped to the padded input first, and
        // that size is the divisor unless padding is excluded.
        y0 = oy * S.sh - S.ph, x0 = ox * S.sw - S.pw;
        y1 = std::min(y0 + S.kh, S.h + S.ph);
        x1 = std::min(x0 + S.kw, S.w + S.pw);
        int inside = (std::min(y1, S.h) - std::max(y0, 0)) *
                     (std::min(x1, S.w) - std::max(x0, 0));
        div = S.exclude_pad ? inside : (y1 - y0) * (x1 - x0);
      });
}

template <AdaptivePool2d S> void adaptive_case() {
  char what[160];
  std::snprintf(what, sizeof what,
                "adaptive_avg_pool2d n%d %dx%dx%d->%dx%d strides %d/%d", S.n,
                S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride);
  pool_case(
      what, PoolKind::Adaptive, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride,
      S.out_stride, 1,
      [](const float *in, float *out, ThreadPool &p) {
        adaptive_avg_pool2d<S>(in, out, p);
      },
      [](int oy, int ox, int &y0, int &y1, int &x0, int &x1, double &div) {
        y0 = int(std::floor(double(oy) * S.h / S.ho));
        y1 = int(std::ceil(double(oy + 1) * S.h / S.ho));
        x0 = int(std::floor(double(ox) * S.w / S.wo));
        x1 = int(std::ceil(double(ox + 1) * S.w / S.wo));
        div = double(y1 - y0) * (x1 - x0);
      });
}

//===----------------------------------------------------------------------===//
// Strided copies
//===----------------------------------------------------------------------===//

/// copy2d of |n| x |rows| x |cols| floats from a source of image, row and
/// column strides |src_n|, |src_row|, |src_col| into rows |dst_row| floats
/// apart (the images one after the other), column c at |dst_off| + c *
/// |dst_col|; the rest of each row must stay untouched.
void copy_case(const char *what, long long n, long long rows, long long cols,
               long long src_n, long long src_row, long long src_col,
               long long dst_row, long long dst_col, int dst_off) {
  Rng rng(cases + 1);
  const Copy2d S{n, rows, cols, src_n, src_row, src_col,
                 rows * dst_row, dst_row, dst_col};
  std::vector<float> src = rng.floats(
      size_t((n - 1) * src_n + (rows - 1) * src_row + (cols - 1) * src_col + 1),
      -1, 1);
  std::vector<double> ref(size_t(n * rows * cols));
  for (long long i = 0; i < n; ++i)
    for (long long r = 0; r < rows; ++r)
      for (long long c = 0; c < cols; ++c)
        ref[size_t((i * rows + r) * cols + c)] =
            src[size_t(i * src_n + r * src_row + c * src_col)];
  auto run = [&](ThreadPool &pool) {
    std::vector<float> out(size_t(n * rows * dst_row), kSentinel);
    copy2d(S, src.data(), out.data() + dst_off, pool);
    return out;
  };
  std::vector<float> out1 = run(pool1()), out2 = run(pool2());
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "copy2d %s %lldx%lldx%lld strides %lld,%lld,%lld -> %lld,%lld "
                "+%d",
                what, n, rows, cols, src_n, src_row, src_col, dst_row, dst_col,
                dst_off);
  check(buf, std::move(out1), out2, ref,
        {size_t(n * rows), int(cols), int(dst_row), dst_off, int(dst_col)},
        rng);
}

void copy_cases() {
  // A concat's part: contiguous runs of channels into a wider buffer.
  copy_case("concat", 1, 37, 58, 0, 58, 1, 116, 1, 58);
  // ShuffleNetV2's groups: every second channel, from channel 0 and 1, the
  // source a channel slice; and a shuffle of three groups.
  copy_case("shuffle", 1, 196, 116, 0, 232, 1, 232, 2, 0);
  copy_case("shuffle", 1, 49, 29, 0, 58, 1, 58, 2, 1);
  copy_case("shuffle", 1, 30, 21, 0, 21, 1, 63, 3, 2);
  // The input's NCHW to NHWC: three planes (whole groups of 16 pixels, and
  // a tail), then more planes; and back to NCHW.
  copy_case("nchw->nhwc", 1, 3 * 224, 3, 0, 1, 3 * 224, 3, 1, 0);
  copy_case("nchw->nhwc", 1, 50, 3, 0, 1, 50, 3, 1, 0);
  copy_case("nchw->nhwc", 1, 81, 16, 0, 1, 81, 16, 1, 0);
  copy_case("nhwc->nchw", 1, 10, 64, 0, 1, 10, 64, 1, 0);
  // Batches of images (a run-time batch): the tasks' row ranges cross
  // images, in the middle of a group of 16 pixels.
  copy_case("nchw->nhwc", 5, 1000, 3, 3000, 1, 1000, 3, 1, 0);
  copy_case("shuffle", 3, 300, 58, 300 * 116, 116, 1, 116, 2, 1);
  // One row (a flattened tensor), long enough to be split among threads.
  copy_case("row", 1, 1, 40000, 0, 0, 1, 40000, 1, 0);
}

//===----------------------------------------------------------------------===//
// The thread pool
//===----------------------------------------------------------------------===//

/// Many short back-to-back jobs of varied sizes: every task runs exactly
/// once per job, and each job is finished when parallel_for returns.
void thread_pool_case() {
  ++cases;
  bool ok = ThreadPool(0).size() >= 1 && ThreadPool(1).size() == 1 &&
            ThreadPool(3).size() == 3;
  ThreadPool &pool = pool2();
  std::vector<std::atomic<int>> hits(257);
  for (int job = 0; job < 20000 && ok; ++job) {
    int tasks = job % 257;
    pool.parallel_for(tasks, [&](int64_t t) {
      hits[t].fetch_add(1, std::memory_order_relaxed);
    });
    for (int t = 0; t < 257; ++t)
      ok &= hits[t].exchange(0, std::memory_order_relaxed) == (t < tasks);
  }
  failures += !ok;
  std::printf("%s thread_pool: 20000 jobs of 0..256 tasks\n",
              ok ? "PASS" : "FAIL");
}

//===----------------------------------------------------------------------===//
// The cases
//===----------------------------------------------------------------------===//

void conv_cases() {
  using A = Activation;
  // Dense: odd sizes, channel tails of every tile width, stride, padding.
  conv_case<sq(1, 9, 11, 5, 7, 3, 1, 1), epi(true, A::Relu)>("dense");
  conv_case<sq(1, 15, 13, 16, 40, 3, 2, 1), res(true, A::Relu6, 40)>("dense");
  conv_case<sq(2, 7, 7, 64, 200, 1, 1, 0), epi(true, A::None)>("pointwise");
  conv_case<sq(1, 6, 5, 48, 100, 1, 1, 0), epi(false, A::None)>("pointwise");
  conv_case<sq(1, 14, 14, 32, 64, 1, 2, 0), epi(true, A::None)>("pointwise");
  conv_case<sq(1, 32, 30, 3, 64, 7, 2, 3), epi(true, A::Relu)>("stem");
  conv_case<sq(1, 6, 6, 300, 70, 3, 1, 1), epi(true, A::Relu)>("dense");
  conv_case<sq(1, 7, 7, 512, 520, 3, 1, 1), epi(true, A::Relu)>("dense");
  // Weights split into several cache-sized chunks and pixels into several
  // tile ranges, at once.
  conv_case<sq(1, 14, 14, 128, 256, 3, 1, 1), res(true, A::Relu, 256)>(
      "chunked");
  // Panels over 256 KB reduce K in blocks (gemm.cpp): runs of whole taps
  // (above, and the 7x7x512 layer), and channel slices of each tap when one
  // tap's panel rows are that large (1040 channels x 64 lanes on AVX-512),
  // with a residual in place.
  conv_case<sq(1, 5, 6, 1040, 128, 3, 1, 1), res(true, A::Relu, 128)>(
      "kblocked");
  conv_case<sq(1, 5, 5, 1040, 128, 3, 1, 1, 1, 1, 0, 0),
            res(true, A::Relu6, 128)>("kblocked", true);
  // Runs of tiles (gemm.h, tile_run): rows wide enough for several tiles
  // between the padded edges, of every tile width; the stems' merged rows
  // (3x3 and 7x7, stride 2); a batch, a residual, dilation, channel slices,
  // a GEMM per group, a shuffle group; 1x1 runs across images, rows and the
  // change of tile size, K-blocked with the partial sums stepping along.
  conv_case<sq(1, 10, 70, 3, 24, 3, 2, 1), epi(true, A::Relu6)>("runs");
  conv_case<sq(1, 20, 64, 3, 16, 7, 2, 3), epi(true, A::Relu)>("runs");
  conv_case<sq(2, 6, 50, 16, 40, 3, 1, 1), res(true, A::Relu, 40)>("runs");
  conv_case<sq(1, 7, 45, 12, 200, 3, 1, 2, 2), epi(true, A::None)>("runs");
  conv_case<sq(1, 5, 40, 24, 40, 3, 1, 1, 1, 1, 7, 5),
            res(true, A::Relu, 43)>("runs");
  conv_case<sq(1, 6, 40, 64, 64, 3, 1, 1, 1, 2), epi(true, A::Relu)>("runs");
  conv_case<shuffled(sq(1, 4, 60, 24, 24, 1, 1, 0), 2), epi(true, A::Relu)>(
      "runs");
  conv_case<sq(2, 11, 13, 24, 58, 1, 1, 0), res(true, A::Relu, 58)>("runs");
  conv_case<sq(2, 11, 13, 1100, 128, 1, 1, 0), res(true, A::Relu6, 128)>(
      "runs");
  conv_case<sq(1, 3, 30, 4200, 16, 1, 1, 0), res(true, A::Relu, 16)>("runs");
  conv_case<sq(1, 9, 10, 12, 20, 3, 1, 2, 2), epi(true, A::HardSwish)>(
      "dilated");
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), epi(true, A::Silu)>("silu");
  linear_case<Linear{3, 64, 40}, epi(true, Activation::Silu)>();
  conv_case<conv(1, 11, 9, 6, 18, 3, 1, 2, 1, 1, 0), epi(true, A::Relu)>(
      "asym");
  conv_case<conv(1, 8, 12, 10, 33, 1, 5, 1, 3, 0, 2, 1, 2),
            epi(false, A::Sigmoid)>("asym");
  conv_case<sq(1, 5, 5, 8, 24, 3, 1, 2), epi(true, A::Relu)>("overpad");
  // One group of a channel shuffle (ShuffleNetV2's branch outputs): every
  // out_step-th channel, on the GEMM and the lane-shared paths.
  conv_case<shuffled(sq(1, 7, 7, 58, 58, 1, 1, 0), 2), epi(true, A::Relu)>(
      "shuffled");
  conv_case<shuffled(sq(2, 9, 8, 24, 40, 3, 2, 1), 3), res(true, A::Relu6, 40)>(
      "shuffled");
  conv_case<shuffled(sq(1, 10, 9, 32, 32, 3, 1, 1, 1, 32), 2),
            epi(true, A::None)>("shuffled dw");
  conv_case<shuffled(sq(1, 5, 6, 8, 5, 1, 1, 0), 2), epi(false, A::Sigmoid)>(
      "shuffled");
  // Both groups of a two-group shuffle from one dense layer, the other
  // copied from a pass-through (ShuffleNetV2's stride-1 units): partial
  // vectors (58, 5 channels), either group first, a 3x3 layer, a batch, a
  // residual and a K-blocked reduction.
  shuffled_conv_case<sq(1, 7, 7, 58, 58, 1, 1, 0),
                     with_pass(epi(true, A::Relu), 116, -1)>();
  shuffled_conv_case<sq(1, 14, 14, 116, 116, 1, 1, 0),
                     with_pass(epi(true, A::Relu), 232, -1)>();
  shuffled_conv_case<sq(2, 5, 6, 8, 5, 1, 1, 0),
                     with_pass(epi(false, A::Sigmoid), 9, 1)>();
  shuffled_conv_case<sq(1, 9, 8, 24, 40, 3, 1, 1),
                     with_pass(res(true, A::Relu6, 40), 40, 1)>();
  shuffled_conv_case<sq(1, 4, 5, 1100, 72, 1, 1, 0),
                     with_pass(epi(true, A::None), 80, -1)>();
  conv_case<sq(3, 5, 5, 9, 17, 3, 1, 1), res(true, A::Relu, 17)>("batch");
  conv_case<sq(1, 1, 1, 40, 1, 1, 1, 0), epi(true, A::None)>("1x1x1");
  conv_case<sq(1, 12, 9, 1, 16, 3, 1, 1), epi(true, A::Relu)>("gray");
  // Every activation, with and without bias and residual.
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), epi(false, A::None)>("act");
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), epi(true, A::Relu)>("act");
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), res(false, A::Relu6, 36)>("act");
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), epi(true, A::Sigmoid)>("act");
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), res(true, A::HardSigmoid, 36)>(
      "act");
  conv_case<sq(1, 6, 7, 20, 36, 3, 1, 1), epi(true, A::HardSwish)>("act");
  // Channel slices of wider buffers; a residual in place in the output.
  conv_case<sq(2, 8, 9, 24, 40, 3, 2, 1, 1, 1, 7, 5),
            res(true, A::Relu, 43)>("sliced");
  conv_case<sq(1, 7, 7, 64, 64, 1, 1, 0, 1, 1, 64, 32),
            res(true, A::Relu, 96)>("sliced");
  conv_case<sq(1, 7, 7, 30, 50, 3, 1, 1, 1, 1, 2, 6), res(true, A::Relu, 56)>(
      "sliced", true);
  // Grouped: ResNeXt-like widths (lane-shared for 4 and 8 channels per
  // group, a GEMM per group for 16 and 32), and odd groups.
  conv_case<sq(1, 8, 8, 128, 128, 3, 1, 1, 1, 32), epi(true, A::Relu)>(
      "grouped");
  conv_case<sq(2, 9, 9, 64, 64, 3, 2, 1, 1, 8), res(true, A::Relu, 64)>(
      "grouped");
  conv_case<sq(1, 7, 7, 64, 64, 3, 1, 1, 1, 4), res(true, A::Relu, 64)>(
      "grouped");
  conv_case<sq(1, 6, 6, 64, 64, 3, 2, 1, 1, 2), epi(true, A::Relu)>(
      "grouped");
  conv_case<sq(1, 7, 6, 15, 21, 3, 1, 1, 1, 3, 4, 3), epi(true, A::Relu6)>(
      "grouped");
  conv_case<sq(1, 6, 7, 32, 16, 3, 1, 1, 1, 4), epi(true, A::None)>(
      "grouped");
  conv_case<sq(1, 10, 10, 24, 48, 1, 1, 0, 1, 6, 8, 0), epi(true, A::None)>(
      "grouped");
  // Depthwise: multiplier 1 with channel tails, stride 2, 5x5, 7x7 (every
  // pixel near a border), dilation, slices, and multipliers 2, 3 and 16.
  conv_case<sq(1, 10, 9, 35, 35, 3, 1, 1, 1, 35), epi(true, A::Relu6)>(
      "depthwise");
  conv_case<sq(2, 23, 21, 64, 64, 3, 1, 1, 1, 64), epi(true, A::Relu)>(
      "depthwise");
  conv_case<sq(1, 17, 16, 64, 64, 5, 2, 2, 1, 64), epi(true, A::HardSwish)>(
      "depthwise");
  conv_case<sq(1, 7, 7, 40, 40, 7, 1, 3, 1, 40), epi(false, A::None)>(
      "depthwise");
  conv_case<sq(1, 12, 11, 16, 16, 3, 1, 2, 2, 16), epi(true, A::Relu)>(
      "depthwise");
  conv_case<sq(1, 13, 12, 48, 48, 3, 2, 1, 1, 48, 16, 8),
            res(true, A::None, 48 + 8)>("depthwise", true);
  // The row kernels of depthwise.h: every geometry they take, rows long
  // enough for several interior steps and with odd tails, no padding (no
  // checked pixel), rows narrower than one step, vertical stride other than
  // the horizontal one, the out-of-line activations, a residual.
  conv_case<sq(1, 9, 30, 24, 24, 5, 1, 2, 1, 24), epi(true, A::Silu)>(
      "depthwise");
  conv_case<sq(1, 14, 29, 16, 16, 3, 2, 1, 1, 16), epi(true, A::Relu6)>(
      "depthwise");
  conv_case<sq(1, 11, 31, 32, 32, 5, 2, 2, 1, 32),
            res(true, A::Sigmoid, 32)>("depthwise");
  conv_case<sq(1, 8, 19, 8, 8, 3, 1, 0, 1, 8), epi(false, A::Relu)>(
      "depthwise");
  conv_case<sq(2, 5, 3, 40, 40, 3, 1, 1, 1, 40), epi(true, A::HardSigmoid)>(
      "depthwise");
  conv_case<conv(1, 12, 25, 16, 16, 3, 3, 2, 1, 1, 1, 1, 1, 16),
            epi(true, A::None)>("depthwise");
  // A partial last vector of channels on the row kernels' masked instance:
  // GhostNet's cheap operations, 8 to 20 channels written beside their
  // primary ones into one concatenated buffer; a residual.
  conv_case<sq(1, 13, 20, 8, 8, 3, 1, 1, 1, 8, 8, 8), epi(true, A::Relu)>(
      "depthwise");
  conv_case<sq(1, 9, 21, 20, 20, 5, 2, 2, 1, 20, 4, 20),
            epi(true, A::HardSwish)>("depthwise");
  conv_case<sq(2, 10, 17, 12, 12, 3, 1, 1, 1, 12, 12, 12),
            res(true, A::None, 24)>("depthwise");
  conv_case<sq(1, 11, 13, 36, 36, 3, 2, 1, 1, 36), epi(false, A::Relu6)>(
      "depthwise");
  conv_case<sq(1, 9, 9, 12, 24, 3, 1, 1, 1, 12), epi(true, A::Relu)>(
      "multiplier");
  conv_case<sq(1, 9, 8, 5, 15, 3, 1, 1, 1, 5), epi(true, A::Relu)>(
      "multiplier");
  conv_case<sq(1, 8, 9, 3, 48, 3, 2, 1, 1, 3), epi(true, A::Relu)>(
      "multiplier");
}

/// Winograd F(m x m, 3 x 3) of conv2d_winograd, m = 2 and 4: tiles cut by
/// the output's edges, channel tails of every tile width, padding 0, 1 and
/// 2, batch, slices, a residual in place, one group of a channel shuffle,
/// the out-of-line activations, and layers with many tile blocks and
/// weight chunks (ResNet-50's 3x3 shapes).
template <int M> void winograd_cases() {
  using A = Activation;
  const std::string f = "winograd F" + std::to_string(M);
  const char *family = f.c_str();
  conv_case<sq(1, 9, 11, 5, 7, 3, 1, 1), epi(true, A::Relu), M>(family);
  conv_case<sq(1, 6, 6, 300, 70, 3, 1, 1), epi(true, A::Relu6), M>(family);
  conv_case<sq(2, 13, 10, 17, 33, 3, 1, 0), res(false, A::None, 33), M>(
      family);
  conv_case<sq(1, 8, 7, 24, 40, 3, 1, 2), epi(true, A::Silu), M>(family);
  conv_case<sq(3, 5, 5, 9, 17, 3, 1, 1), res(true, A::Relu, 17), M>(family);
  conv_case<sq(2, 8, 9, 24, 40, 3, 1, 1, 1, 1, 7, 5), res(true, A::Relu, 43),
            M>(family);
  conv_case<sq(1, 7, 7, 30, 50, 3, 1, 1, 1, 1, 2, 6), res(true, A::HardSwish, 56),
            M>(family, true);
  conv_case<shuffled(sq(1, 9, 8, 24, 40, 3, 1, 1), 2), epi(true, A::Sigmoid),
            M>(family);
  conv_case<sq(1, 28, 28, 64, 96, 3, 1, 1), res(true, A::Relu, 96), M>(family);
  conv_case<sq(1, 14, 14, 256, 256, 3, 1, 1), epi(true, A::Relu), M>(family);
  conv_case<sq(2, 7, 7, 512, 512, 3, 1, 1), epi(true, A::Relu), M>(family);
}

/// Runs conv_chain<C, E0, E1, E2> on random data and checks it against the
/// reference of the three convolutions and, bit for bit, against the three
/// conv2d kernels run one after the other.
template <ConvChain C, Epilogue E0, Epilogue E1, Epilogue E2>
void chain_case() {
  const Conv2d &X = C.expand, &D = C.depthwise, &P = C.project;
  Rng rng(cases + 1);
  int in_off = (X.in_stride - X.c) / 2, out_off = (P.out_stride - P.o) / 2;
  int rs = E2.residual ? E2.residual_stride : P.o, res_off = (rs - P.o) / 2;
  size_t in_pixels = size_t(X.n) * X.h * X.w, pixels = size_t(P.n) * P.h * P.w;
  std::vector<float> in = rng.floats(in_pixels * X.in_stride, -1, 1);
  std::vector<float> residual = rng.floats(pixels * rs, -1, 1);
  std::vector<float> w[3], bias[3], packed[3];
  const Conv2d *layers[3] = {&X, &D, &P};
  for (int i = 0; i < 3; ++i) {
    const Conv2d &s = *layers[i];
    float bound = 1 / std::sqrt(float(s.c / s.groups * s.kh * s.kw));
    w[i] = rng.floats(size_t(s.o) * (s.c / s.groups) * s.kh * s.kw, -bound,
                      bound);
    bias[i] = rng.floats(s.o, -0.5f, 0.5f);
  }
  packed[0].assign(conv2d_packed_size<C.expand>(), kSentinel);
  packed[1].assign(conv2d_packed_size<C.depthwise>(), kSentinel);
  packed[2].assign(conv2d_packed_size<C.project>(), kSentinel);
  conv2d_pack<C.expand>(w[0].data(), packed[0].data());
  conv2d_pack<C.depthwise>(w[1].data(), packed[1].data());
  conv2d_pack<C.project>(w[2].data(), packed[2].data());

  // The reference, layer by layer in double (rounded to float between
  // layers, as the kernels store them).
  auto to_float = [](const std::vector<double> &v) {
    return std::vector<float>(v.begin(), v.end());
  };
  std::vector<float> e = to_float(ref_conv(X, E0, in.data() + in_off,
                                           w[0].data(), bias[0].data(), nullptr));
  std::vector<float> d = to_float(
      ref_conv(D, E1, e.data(), w[1].data(), bias[1].data(), nullptr));
  std::vector<double> ref = ref_conv(P, E2, d.data(), w[2].data(),
                                     bias[2].data(), residual.data() + res_off);

  auto run = [&](ThreadPool &pool) {
    std::vector<float> out(pixels * P.out_stride, kSentinel);
    conv_chain<C, E0, E1, E2>(in.data() + in_off, packed[0].data(),
                              E0.bias ? bias[0].data() : nullptr,
                              packed[1].data(), E1.bias ? bias[1].data() : nullptr,
                              packed[2].data(), E2.bias ? bias[2].data() : nullptr,
                              E2.residual ? residual.data() + res_off : nullptr,
                              out.data() + out_off, pool);
    return out;
  };
  std::vector<float> out1 = run(pool1()), out2 = run(pool2());
  // The three kernels one after the other.
  std::vector<float> ex(in_pixels * X.o), dx(size_t(D.n) * D.ho * D.wo * D.o);
  std::vector<float> sep(pixels * P.out_stride, kSentinel);
  conv2d<C.expand, E0>(in.data() + in_off, packed[0].data(), bias[0].data(),
                       nullptr, ex.data(), pool2());
  conv2d<C.depthwise, E1>(ex.data(), packed[1].data(), bias[1].data(), nullptr,
                          dx.data(), pool2());
  conv2d<C.project, E2>(dx.data(), packed[2].data(), bias[2].data(),
                        E2.residual ? residual.data() + res_off : nullptr,
                        sep.data() + out_off, pool2());
  bool same = sep == out1 || !std::memcmp(sep.data(), out1.data(), sep.size() * 4);

  char what[256];
  std::snprintf(what, sizeof what,
                "conv_chain n%d %dx%dx%d->%d->dw%dx%d s%d->%d strides %d/%d%s",
                X.n, X.h, X.w, X.c, X.o, D.kh, D.kw, D.sh, P.o, X.in_stride,
                P.out_stride, describe(E2).c_str());
  check(what, std::move(out1), out2, ref,
        {pixels, P.o, P.out_stride, out_off, P.out_step}, rng,
        same ? "" : "differs from the three separate kernels");
}

/// MobileNetV2's inverted residuals (expansion 6): stride 1 with the
/// residual, stride 2, 5x5 (MnasNet), a batch, rows fewer than a band,
/// input and output slices of wider buffers, the out-of-line activations.
constexpr ConvChain chain(int n, int h, int w, int c, int e, int o, int k,
                          int s, int in_extra = 0, int out_extra = 0) {
  Conv2d x = conv(n, h, w, c, e, 1, 1, 1, 1, 0, 0, 1, 1, 1, in_extra, 0);
  Conv2d d = sq(n, h, w, e, e, k, s, k / 2, 1, e);
  Conv2d p = conv(n, d.ho, d.wo, e, o, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, out_extra);
  return {x, d, p};
}
void chain_cases() {
  using A = Activation;
  chain_case<chain(1, 13, 11, 16, 96, 16, 3, 1), epi(true, A::Relu6),
             epi(true, A::Relu6), res(true, A::None, 16)>();
  chain_case<chain(1, 14, 15, 24, 144, 32, 3, 2), epi(true, A::Relu6),
             epi(true, A::Relu6), epi(true, A::None)>();
  chain_case<chain(2, 9, 10, 40, 240, 40, 5, 1, 3, 5), epi(true, A::HardSwish),
             epi(true, A::HardSwish), res(true, A::None, 45)>();
  chain_case<chain(1, 3, 4, 8, 48, 24, 3, 2), epi(true, A::Relu),
             epi(false, A::Sigmoid), epi(true, A::Relu)>();
  chain_case<chain(1, 28, 28, 32, 192, 32, 3, 1), epi(true, A::Relu6),
             epi(true, A::Relu6), res(true, A::None, 32)>();
}

void linear_cases() {
  linear_case<Linear{1, 2048, 1000}, epi(true, Activation::None)>();
  linear_case<Linear{5, 33, 17}, res(true, Activation::Relu, 17)>();
  linear_case<Linear{16, 64, 64}, epi(false, Activation::Sigmoid)>();
  linear_case<Linear{3, 1280, 100}, epi(true, Activation::HardSwish)>();
}

void pool_cases() {
  // ResNet's stem pool, ceil_mode (ShuffleNet), dilation, slices, batch.
  max_pool_case<pool2d(1, 15, 15, 20, 3, 2, 1, false)>();
  max_pool_case<pool2d(2, 14, 13, 24, 3, 2, 0, true)>();
  max_pool_case<pool2d(1, 11, 12, 17, 3, 2, 1, true, false, 2)>();
  max_pool_case<pool2d(1, 9, 9, 33, 2, 2, 0, false, false, 1, 5, 3)>();
  // Rows long enough for whole groups of pixels to share the accumulators
  // (8 pixels of one vector, 4 of two, 2 of four), more vectors than
  // accumulators, and a width whose last group is cut short.
  max_pool_case<pool2d(1, 9, 40, 16, 3, 2, 1, false)>();
  max_pool_case<pool2d(2, 8, 45, 24, 3, 2, 1, false)>();
  max_pool_case<pool2d(1, 7, 29, 64, 3, 2, 1, false, false, 1, 8, 0)>();
  max_pool_case<pool2d(1, 6, 21, 150, 3, 1, 1, false)>();
  avg_pool_case<pool2d(1, 9, 37, 40, 3, 1, 1, false, true)>();
  // Average: DenseNet's 2x2, Inception's 3x3 s1 p1 with and without the
  // padding, and ceil_mode windows that start in the left padding and end
  // past the right one (the divisor counts only the padded input).
  avg_pool_case<pool2d(1, 8, 9, 20, 2, 2, 0, false)>();
  avg_pool_case<pool2d(1, 7, 7, 21, 3, 1, 1, false, false)>();
  avg_pool_case<pool2d(2, 7, 7, 21, 3, 1, 1, false, true, 1, 3, 1)>();
  avg_pool_case<pool2d(1, 6, 6, 18, 3, 2, 1, true, false)>();
  avg_pool_case<pool2d(1, 6, 6, 18, 3, 2, 1, true, true)>();
  avg_pool_case<pool2d(1, 4, 5, 16, 3, 3, 1, true, false)>();
  avg_pool_case<pool2d(1, 10, 10, 16, 4, 3, 2, true, false)>();
  // Adaptive: global, non-divisible, and larger than the input.
  adaptive_case<AdaptivePool2d{1, 7, 7, 2048, 1, 1, 2048, 2048}>();
  adaptive_case<AdaptivePool2d{2, 10, 10, 19, 3, 3, 19, 19}>();
  adaptive_case<AdaptivePool2d{1, 5, 7, 16, 2, 4, 20, 18}>();
  adaptive_case<AdaptivePool2d{1, 3, 2, 8, 5, 4, 8, 8}>();
}

} // namespace

int main(int argc, char **argv) {
#if defined(__aarch64__)
  const KernelTable *all[] = {&kernels_neon};
#else
  const KernelTable *all[] = {&kernels_avx512, &kernels_avx2,
                              &kernels_portable};
#endif
  const char *only = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--negative")) {
      negative = true;
    } else if (!std::strncmp(argv[i], "--isa=", 6)) {
      only = argv[i] + 6;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--negative] [--isa=NAME]\n"
                   "Checks kiln's CPU kernels against a double-precision "
                   "reference, on every kernel set this CPU runs.\n"
                   "  --negative  corrupt one output element per case; every "
                   "case must then fail\n"
                   "  --isa=NAME  check the kernel set NAME only (it must run "
                   "here)\n",
                   argv[0]);
      return 2;
    }
  }
  int sets = 0;
  for (const KernelTable *t : all) {
    bool runs = cpu_supports(*t);
    if (only && std::strcmp(only, t->name))
      continue;
    if (!runs) {
      std::printf("%s: kernel set %s not supported by this CPU%s\n", argv[0],
                  t->name, only ? "" : ": not checked");
      if (only)
        return 2;
      continue;
    }
    std::printf("%s: kernel set %s (%s)\n", argv[0], t->name, t->description);
    isa = t->name;
    use_kernels(*t);
    ++sets;
    conv_cases();
    winograd_cases<2>();
    winograd_cases<4>();
    chain_cases();
    linear_cases();
    pool_cases();
    copy_cases();
  }
  if (!sets) {
    std::printf("%s: no kernel set to check\n", argv[0]);
    return 2;
  }
  if (!negative) // it checks no kernel output
    thread_pool_case();
  std::printf("kiln-kernel-test: %d cases, %d failed\n", cases, failures);
  return failures ? 1 : 0;
}
