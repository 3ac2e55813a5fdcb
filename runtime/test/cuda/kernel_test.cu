//===- kernel_test.cu - checks the CUDA kernels against a reference -------===//
//
// kiln-cuda-kernel-test runs every CUDA kernel template (kiln/cuda/kernels.cuh)
// on many small shapes, in each precision, and compares it with a plain
// double-precision reference written here, independently of the kernels:
//  * implicit-GEMM convolution: 3x3 / 1x1 / 7x7 stem / asymmetric kernels,
//    stride 2, padding beyond k/2, dilation, wide groups, odd channel counts
//    (the 4-byte and element-wise load paths), M, N and K tails, every
//    activation, bias, residual (also aliasing the output), the SE input
//    scale, inputs / outputs / residuals that are channel slices of wider
//    buffers, split-K, and schedules of every tile size, warp layout, K step
//    and pipeline depth;
//  * linear (batch 1 with split-K, and a few rows);
//  * depthwise (multipliers 1, 2, 3) and narrow grouped convolution;
//  * max / average pooling (ceil_mode, padding, dilation, exclude_pad),
//    adaptive average pooling (global and non-divisible, fp32 output);
//  * the squeeze-and-excitation gate;
//  * weight packing's rounding, misaligned pointers, and the schedule
//    heuristic on every ResNet-50 layer (valid schedules only).
// Inputs are rounded to the kernel's precision first, so the reference sees
// the same values; weights are fp32 (their rounding is part of packing). A
// case passes when the relative L2 error over the tensor is at most 1e-5
// (F32), 5e-3 (TF32) or 1e-2 (F16, BF16), no element is off by more than
// 1e-4 / 2e-2 / 2e-2 / 4e-2 of max|ref|, nothing outside the output's
// channel slice was written, and a second run is bit-identical. One line per
// case; the last line is "kiln-cuda-kernel-test: N cases, F failed"; the exit
// status is 1 when F > 0.
//
// --negative corrupts one output element of every case (by 5x the element
// tolerance) to show that the checker catches it: every case must then fail.
// --schedules prints default_schedule for the ResNet-50 layers.
//
// Built two ways: with g++ through the SIMT emulator (KILN_CUDA_EMULATED,
// the lit suite) and with nvcc for a real GPU (the same checks on hardware).
//
//===----------------------------------------------------------------------===//

#include "kiln/cuda/kernels.cuh"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace kiln::cuda;
using P_ = Precision;
using A_ = Activation;

namespace {

bool negative = false;
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

void cuda_check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(e));
    std::exit(2);
  }
}

//===----------------------------------------------------------------------===//
// Elements of each precision on the host
//===----------------------------------------------------------------------===//

const char *precision_name(Precision p) {
  const char *names[] = {"f32", "tf32", "f16", "bf16"};
  return names[int(p)];
}

double half_to_double(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0    ? std::ldexp(m, -24)
             : e == 31 ? (m ? NAN : INFINITY)
                       : std::ldexp(1024 + m, e - 25);
  return h & 0x8000 ? -v : v;
}

double bf16_to_double(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// A host tensor of precision |p| as raw bytes, with double accessors.
struct Tensor {
  Precision p;
  std::vector<unsigned char> bytes;
  Tensor(Precision p_, size_t n) : p(p_), bytes(n * element_bytes(p_)) {}
  size_t size() const { return bytes.size() / element_bytes(p); }
  double get(size_t i) const {
    if (element_bytes(p) == 4) {
      float f;
      std::memcpy(&f, &bytes[i * 4], 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    return p == P_::F16 ? half_to_double(h) : bf16_to_double(h);
  }
  /// Stores |x| rounded to the precision (TF32 activations stay fp32: the
  /// kernels round them); returns the stored value.
  double set(size_t i, float x) {
    store_element(bytes.data(), i, x, p == P_::TF32 ? P_::F32 : p);
    return get(i);
  }
  /// Fills with a bit pattern that no computed value has.
  void poison(uint8_t byte = 0xff) {
    std::fill(bytes.begin(), bytes.end(), byte);
  }
};

/// Device memory holding a copy of a host buffer.
struct Device {
  void *ptr = nullptr;
  size_t size = 0;
  explicit Device(size_t bytes, const void *init = nullptr) : size(bytes) {
    cuda_check(cudaMalloc(&ptr, bytes ? bytes : 16), "cudaMalloc");
    if (init)
      cuda_check(cudaMemcpy(ptr, init, bytes, cudaMemcpyHostToDevice),
                 "cudaMemcpy");
  }
  Device(const Device &) = delete;
  ~Device() { cudaFree(ptr); }
  template <typename T> T *as(size_t offset_elements = 0) const {
    return static_cast<T *>(ptr) + offset_elements;
  }
  void read(void *dst) const {
    cuda_check(cudaMemcpy(dst, ptr, size, cudaMemcpyDeviceToHost),
               "cudaMemcpy");
  }
};

//===----------------------------------------------------------------------===//
// Checking
//===----------------------------------------------------------------------===//

struct Tolerance {
  double l2, element;
};
Tolerance tolerance(Precision p) {
  switch (p) {
  case P_::F32:
    return {1e-5, 1e-4};
  case P_::TF32:
    return {5e-3, 2e-2};
  case P_::F16:
    return {1e-2, 2e-2};
  case P_::BF16:
    return {1e-2, 4e-2};
  }
  return {0, 0};
}

/// A kernel's output: |pixels| pixels of |channels| values, |step|
/// elements apart from |offset| on, within pixels of |stride| elements; the
/// rest of the buffer must keep the poison of |poisoned|.
struct Slice {
  size_t pixels;
  int channels, stride, offset;
  int step = 1;
};

/// Compares |out| with |ref| ([pixel][channel]); |again| is a second run
/// that must be bit-identical. Prints the case's line and counts it.
void check(const std::string &what, Tensor out, const Tensor &again,
           const Tensor &poisoned, const std::vector<double> &ref, Slice s,
           Tolerance tol, Rng &rng) {
  ++cases;
  bool same = out.bytes == again.bytes;
  double ref_max = 0;
  for (double r : ref)
    ref_max = std::max(ref_max, std::fabs(r));
  size_t es = size_t(element_bytes(out.p));
  if (negative) {
    size_t p = rng.next() % s.pixels, c = rng.next() % s.channels;
    size_t i = p * s.stride + s.offset + c * s.step;
    double bump = 5 * tol.element * ref_max + 1e-20;
    out.set(i, float(out.get(i) + (rng.next() & 1 ? bump : -bump)));
  }
  double err2 = 0, ref2 = 0, err_max = 0;
  bool guards = true;
  for (size_t p = 0; p < s.pixels; ++p)
    for (int c = 0; c < s.stride; ++c) {
      size_t i = p * s.stride + c;
      int d = c - s.offset, k = d / s.step;
      if (d < 0 || d % s.step != 0 || k >= s.channels) {
        guards &= !std::memcmp(&out.bytes[i * es], &poisoned.bytes[i * es], es);
        continue;
      }
      double y = out.get(i), r = ref[p * s.channels + k], e = std::fabs(y - r);
      err2 += e * e, ref2 += r * r;
      err_max = std::isnan(y) ? INFINITY : std::max(err_max, e);
    }
  double l2 = std::sqrt(err2 / std::max(ref2, 1e-300));
  double elem = err_max / std::max(ref_max, 1e-30);
  bool ok = same && guards && l2 <= tol.l2 && elem <= tol.element;
  failures += !ok;
  std::printf("%s %s: l2 %.1e max %.1e%s%s\n", ok ? "PASS" : "FAIL",
              what.c_str(), l2, elem, same ? "" : ", runs differ",
              guards ? "" : ", wrote outside its slice");
  std::fflush(stdout);
}

double activate(double x, Activation a) {
  switch (a) {
  case A_::None:
    return x;
  case A_::Relu:
    return std::max(x, 0.0);
  case A_::Relu6:
    return std::min(std::max(x, 0.0), 6.0);
  case A_::Sigmoid:
    return 1 / (1 + std::exp(-x));
  case A_::HardSigmoid:
    return std::min(std::max(x + 3, 0.0), 6.0) / 6;
  case A_::HardSwish:
    return x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
  case A_::Silu:
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
  if (e.scale)
    s += " +scale";
  return s + " " + act_name(e.act);
}

std::string describe(Schedule t) {
  char buf[96];
  if (t.warpgroups > 0)
    std::snprintf(buf, sizeof buf, " [sm90a %dx%dx%d wg%d st%d sk%d]", t.bm, t.bn, t.bk,
                  t.warpgroups, t.stages, t.split_k);
  else
    std::snprintf(buf, sizeof buf, " [%dx%dx%d w%dx%d st%d sk%d]", t.bm, t.bn,
                  t.bk, t.warps_m, t.warps_n, t.stages, t.split_k);
  return buf;
}

/// The channel offset of a slice of |channels| in pixels of |stride|: about
/// the middle of the extra elements, at the alignment the kernels require.
int slice_offset(int channels, int stride, Precision p) {
  int align = activation_alignment(channels, stride, p) / element_bytes(p);
  align = align < 1 ? 1 : align;
  return (stride - channels) / 2 / align * align;
}

/// Random activations of precision |p| in a strided layout: channels
/// [offset, offset + channels) of each pixel are values in [lo, hi] (rounded
/// to p; their exact values go to |exact|, dense), the rest is NaN, which a
/// kernel reading it would spread into its results.
Tensor activations(Precision p, size_t pixels, int channels, int stride,
                   int offset, Rng &rng, std::vector<double> &exact,
                   float lo = -1, float hi = 1) {
  Tensor t(p, pixels * stride);
  exact.assign(pixels * channels, 0);
  for (size_t px = 0; px < pixels; ++px)
    for (int c = 0; c < stride; ++c) {
      int k = c - offset;
      if (k < 0 || k >= channels)
        t.set(px * stride + c, NAN);
      else
        exact[px * channels + k] = t.set(px * stride + c, rng.uniform(lo, hi));
    }
  return t;
}

//===----------------------------------------------------------------------===//
// Convolution and linear
//===----------------------------------------------------------------------===//

/// PyTorch's output size.
constexpr int conv_out(int in, int k, int s, int p, int d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// A convolution whose input and output pixel strides exceed the channels
/// by |in_extra| and |out_extra| (the test uses the middle of such wider
/// buffers, at an offset of half the extra).
constexpr Conv2d conv(int n, int h, int w, int c, int o, int kh, int kw, int sh,
                      int sw, int ph, int pw, int dh = 1, int dw = 1,
                      int groups = 1, int in_extra = 0, int out_extra = 0) {
  return {n,
          h,
          w,
          c,
          o,
          kh,
          kw,
          sh,
          sw,
          ph,
          pw,
          dh,
          dw,
          groups,
          conv_out(h, kh, sh, ph, dh),
          conv_out(w, kw, sw, pw, dw),
          c + in_extra,
          o + out_extra};
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
constexpr Epilogue epi(bool bias, Activation act, bool scale = false) {
  return {bias, false, 0, act, scale};
}
constexpr Epilogue res(bool bias, Activation act, int stride,
                       bool scale = false) {
  return {bias, true, stride, act, scale};
}

/// A schedule with K steps of |bk_bytes| bytes in precision |P|.
template <Precision P>
constexpr Schedule sch(int bm, int bn, int bk_bytes, int warps_m, int warps_n,
                       int stages, int split_k = 1) {
  return {bm,     bn,     bk_bytes / element_bytes(P), warps_m, warps_n,
          stages, split_k};
}
/// An sm_90a schedule: 64 * |warpgroups| x |bn| tiles, 128-byte K steps.
template <Precision P>
constexpr Schedule wg(int warpgroups, int bn, int stages, int split_k = 1) {
  return {64 * warpgroups, bn, 128 / element_bytes(P), 4 * warpgroups, 1,
          stages, split_k, warpgroups};
}

/// The small schedule most cases use: 32x32 tiles, 64-byte K steps.
template <Precision P> constexpr Schedule small(int split_k = 1) {
  return P == P_::F32 ? sch<P>(32, 32, 64, 2, 2, 3, split_k)
                      : sch<P>(32, 32, 64, 2, 1, 3, split_k);
}

/// out[p][o] = act(sum (in * scale) * w + bias + residual), in double, from
/// dense [pixel][channel] inputs.
std::vector<double>
ref_conv(const Conv2d &s, const Epilogue &e, const std::vector<double> &in,
         const std::vector<float> &w, const std::vector<float> &bias,
         const std::vector<double> &residual, const std::vector<float> &scale) {
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
                int c = g * cin + j;
                double x = in[((size_t(n) * s.h + iy) * s.w + ix) * s.c + c];
                if (e.scale)
                  x *= scale[size_t(n) * s.c + c];
                acc += x * w[((size_t(o) * cin + j) * s.kh + ky) * s.kw + kx];
              }
          if (e.bias)
            acc += bias[o];
          if (e.residual)
            acc += residual[p * s.o + o];
          out[p * s.o + o] = activate(acc, e.act);
        }
  return out;
}

/// Runs conv2d<S, T, E, P> on random data and checks it. With |alias|, the
/// residual is read from the output buffer itself (E.residual_stride must
/// equal S.out_stride).
template <Conv2d S, Schedule T, Epilogue E, Precision P>
void conv_case(const char *family, bool alias = false) {
  Rng rng(cases + 1);
  size_t pixels = size_t(S.n) * S.ho * S.wo;
  int in_off = slice_offset(S.c, S.in_stride, P);
  int out_off = S.out_step == 1 ? slice_offset(S.o, S.out_stride, P)
                                 : S.out_step - 1;
  int rs = E.residual ? E.residual_stride : S.o;
  int res_off = slice_offset(S.o, rs, P);
  std::vector<double> in_exact, res_exact;
  Tensor in = activations(P, size_t(S.n) * S.h * S.w, S.c, S.in_stride, in_off,
                          rng, in_exact);
  float bound = 1 / std::sqrt(float(S.c / S.groups * S.kh * S.kw));
  std::vector<float> w =
      rng.floats(size_t(S.o) * (S.c / S.groups) * S.kh * S.kw, -bound, bound);
  std::vector<float> bias = rng.floats(S.o, -0.5f, 0.5f);
  std::vector<float> scale = rng.floats(size_t(S.n) * S.c, 0.25f, 1.5f);
  Tensor residual = activations(P, pixels, S.o, rs, res_off, rng, res_exact);
  std::vector<double> ref = ref_conv(S, E, in_exact, w, bias, res_exact, scale);

  std::vector<unsigned char> packed(conv2d_packed_bytes<S, P, T>());
  conv2d_pack<S, P, T>(w.data(), packed.data());
  Device d_in(in.bytes.size(), in.bytes.data());
  Device d_packed(packed.size(), packed.data());
  Device d_bias(bias.size() * 4, bias.data());
  Device d_scale(scale.size() * 4, scale.data());
  Device d_res(residual.bytes.size(), residual.bytes.data());
  // Poisoned workspace: every partial sum the reduction reads must have
  // been written; the split-K tile counters start at zero (and the second
  // run checks that the kernel left them so).
  std::vector<unsigned char> ws_init(conv2d_workspace_bytes<S, P>(T), 0xff);
  std::fill_n(ws_init.begin(), std::min<size_t>(ws_init.size(), kSplitKCounterBytes), 0);
  Device d_ws(ws_init.size(), ws_init.data());
  Tensor poisoned(P, pixels * S.out_stride);
  poisoned.poison(0xee);
  if (alias) // the residual's values, in the output's own buffer
    for (size_t p = 0; p < pixels; ++p)
      std::memcpy(
          &poisoned.bytes[(p * S.out_stride + out_off) * element_bytes(P)],
          &residual.bytes[(p * rs + res_off) * element_bytes(P)],
          size_t(S.o) * element_bytes(P));
  auto run = [&] {
    Device d_out(poisoned.bytes.size(), poisoned.bytes.data());
    const Act<P> *r = E.residual ? d_res.as<Act<P>>(res_off) : nullptr;
    if (alias)
      r = d_out.as<Act<P>>(out_off);
    cuda_check(conv2d<S, T, E, P>(d_in.as<Act<P>>(in_off), d_packed.ptr,
                                  E.bias ? d_bias.as<float>() : nullptr, r,
                                  E.scale ? d_scale.as<float>() : nullptr,
                                  d_out.as<Act<P>>(out_off), d_ws.ptr, 0),
               "conv2d");
    cuda_check(cudaDeviceSynchronize(), "conv2d");
    Tensor out(P, pixels * S.out_stride);
    d_out.read(out.bytes.data());
    return out;
  };
  Tensor out1 = run(), out2 = run();
  if (alias) // outside the slice, the aliased buffer keeps its poison
    for (size_t p = 0; p < pixels; ++p)
      std::memset(
          &poisoned.bytes[(p * S.out_stride + out_off) * element_bytes(P)],
          0xee, size_t(S.o) * element_bytes(P));

  char what[320];
  std::snprintf(what, sizeof what,
                "conv2d %-10s %-4s n%d %dx%dx%d->%d k%dx%d s%d,%d p%d,%d "
                "d%d,%d g%d strides %d/%d%s%s%s%s",
                family, precision_name(P), S.n, S.h, S.w, S.c, S.o, S.kh, S.kw,
                S.sh, S.sw, S.ph, S.pw, S.dh, S.dw, S.groups, S.in_stride,
                S.out_stride,
                S.out_step == 1 ? "" : (" step " + std::to_string(S.out_step)).c_str(),
                describe(E).c_str(),
                conv_uses_gemm(S) ? describe(T).c_str() : " [direct]",
                alias ? " (aliases out)" : "");
  check(what, std::move(out1), out2, poisoned, ref,
        {pixels, S.o, S.out_stride, out_off, S.out_step}, tolerance(P), rng);
}

/// conv_case in every precision, with the schedule built for each.
template <Conv2d S, Epilogue E, template <Precision> class Sched>
void conv_all(const char *family, bool alias = false) {
  conv_case<S, Sched<P_::F32>::value, E, P_::F32>(family, alias);
  conv_case<S, Sched<P_::TF32>::value, E, P_::TF32>(family, alias);
  conv_case<S, Sched<P_::F16>::value, E, P_::F16>(family, alias);
  conv_case<S, Sched<P_::BF16>::value, E, P_::BF16>(family, alias);
}
template <Precision P> struct Small {
  static constexpr Schedule value = small<P>();
};
template <Precision P> struct Split3 {
  static constexpr Schedule value = small<P>(3);
};

template <Linear S, Schedule T, Epilogue E, Precision P> void linear_case() {
  Rng rng(cases + 1);
  std::vector<double> x_exact, r_exact;
  Tensor x = activations(P, S.m, S.k, S.k, 0, rng, x_exact);
  float bound = 1 / std::sqrt(float(S.k));
  std::vector<float> w = rng.floats(size_t(S.n) * S.k, -bound, bound);
  std::vector<float> bias = rng.floats(S.n, -0.5f, 0.5f);
  Tensor residual = activations(P, S.m, S.n, S.n, 0, rng, r_exact);
  std::vector<double> ref(size_t(S.m) * S.n);
  for (int m = 0; m < S.m; ++m)
    for (int n = 0; n < S.n; ++n) {
      double acc = 0;
      for (int k = 0; k < S.k; ++k)
        acc += x_exact[size_t(m) * S.k + k] * w[size_t(n) * S.k + k];
      if (E.bias)
        acc += bias[n];
      if (E.residual)
        acc += r_exact[size_t(m) * S.n + n];
      ref[size_t(m) * S.n + n] = activate(acc, E.act);
    }
  std::vector<unsigned char> packed(linear_packed_bytes<S, P, T>());
  linear_pack<S, P, T>(w.data(), packed.data());
  Device d_x(x.bytes.size(), x.bytes.data());
  Device d_packed(packed.size(), packed.data());
  Device d_bias(bias.size() * 4, bias.data());
  Device d_res(residual.bytes.size(), residual.bytes.data());
  std::vector<unsigned char> ws_init(linear_workspace_bytes<S, P>(T), 0xff);
  std::fill_n(ws_init.begin(), std::min<size_t>(ws_init.size(), kSplitKCounterBytes), 0);
  Device d_ws(ws_init.size(), ws_init.data());
  Tensor poisoned(P, size_t(S.m) * S.n);
  poisoned.poison(0xee);
  auto run = [&] {
    Device d_y(poisoned.bytes.size(), poisoned.bytes.data());
    cuda_check(linear<S, T, E, P>(d_x.as<Act<P>>(), d_packed.ptr,
                                  d_bias.as<float>(), d_res.as<Act<P>>(),
                                  d_y.as<Act<P>>(), d_ws.ptr, 0),
               "linear");
    cuda_check(cudaDeviceSynchronize(), "linear");
    Tensor y(P, size_t(S.m) * S.n);
    d_y.read(y.bytes.data());
    return y;
  };
  Tensor y1 = run(), y2 = run();
  char what[200];
  std::snprintf(what, sizeof what, "linear %s m%d k%d n%d%s%s",
                precision_name(P), S.m, S.k, S.n, describe(E).c_str(),
                describe(T).c_str());
  check(what, std::move(y1), y2, poisoned, ref, {size_t(S.m), S.n, S.n, 0},
        tolerance(P), rng);
}

//===----------------------------------------------------------------------===//
// Pooling and the SE gate
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

enum class Kind { Max, Avg, Adaptive };

/// Checks a pooling launch on random data. |window| gives output pixel
/// (oy, ox)'s window [y0, y1) x [x0, x1) in unpadded input coordinates (the
/// dilation step is |d|) and its divisor; |launch|(in, out) runs the kernel;
/// the output has precision |out_p| (fp32 for the float variants).
template <Precision P, typename Launch, typename WindowFn>
void pool_case(const std::string &what, Kind kind, int n, int h, int w, int c,
               int ho, int wo, int in_stride, int out_stride, int d,
               Precision out_p, Launch launch, WindowFn window) {
  Rng rng(cases + 1);
  int in_off = slice_offset(c, in_stride, P);
  int out_off = slice_offset(c, out_stride, out_p);
  std::vector<double> in_exact;
  Tensor in =
      activations(P, size_t(n) * h * w, c, in_stride, in_off, rng, in_exact);
  size_t pixels = size_t(n) * ho * wo;
  std::vector<double> ref(pixels * c);
  for (int img = 0; img < n; ++img)
    for (int oy = 0; oy < ho; ++oy)
      for (int ox = 0; ox < wo; ++ox)
        for (int ch = 0; ch < c; ++ch) {
          int y0, y1, x0, x1;
          double divisor;
          window(oy, ox, y0, y1, x0, x1, divisor);
          double acc = kind == Kind::Max ? -INFINITY : 0;
          int count = 0;
          for (int iy = y0; iy < y1; iy += d)
            for (int ix = x0; ix < x1; ix += d) {
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              acc = kind == Kind::Max
                        ? std::max(
                              acc,
                              in_exact[((size_t(img) * h + iy) * w + ix) * c +
                                       ch])
                        : acc + in_exact[((size_t(img) * h + iy) * w + ix) * c +
                                         ch];
              ++count;
            }
          if (kind != Kind::Max)
            acc = count ? acc / divisor : 0;
          ref[((size_t(img) * ho + oy) * wo + ox) * c + ch] = acc;
        }
  Device d_in(in.bytes.size(), in.bytes.data());
  Tensor poisoned(out_p, pixels * out_stride);
  poisoned.poison(0xee);
  auto run = [&] {
    Device d_out(poisoned.bytes.size(), poisoned.bytes.data());
    cuda_check(launch(d_in.as<unsigned char>(in_off * element_bytes(P)),
                      d_out.as<unsigned char>(out_off * element_bytes(out_p))),
               what.c_str());
    cuda_check(cudaDeviceSynchronize(), what.c_str());
    Tensor out(out_p, pixels * out_stride);
    d_out.read(out.bytes.data());
    return out;
  };
  Tensor out1 = run(), out2 = run();
  check(what + " " + precision_name(P), std::move(out1), out2, poisoned, ref,
        {pixels, c, out_stride, out_off}, tolerance(P), rng);
}

std::string describe(const Pool2d &s) {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "n%d %dx%dx%d->%dx%d k%d s%d p%d d%d strides %d/%d", s.n, s.h,
                s.w, s.c, s.ho, s.wo, s.kh, s.sh, s.ph, s.dh, s.in_stride,
                s.out_stride);
  return buf;
}

template <Pool2d S, Precision P> void max_pool_case() {
  pool_case<P>(
      "max_pool2d " + describe(S), Kind::Max, S.n, S.h, S.w, S.c, S.ho, S.wo,
      S.in_stride, S.out_stride, S.dh, P,
      [](unsigned char *in, unsigned char *out) {
        return max_pool2d<S, P>(reinterpret_cast<const Act<P> *>(in),
                                reinterpret_cast<Act<P> *>(out), 0);
      },
      [](int oy, int ox, int &y0, int &y1, int &x0, int &x1, double &div) {
        y0 = oy * S.sh - S.ph, y1 = y0 + (S.kh - 1) * S.dh + 1;
        x0 = ox * S.sw - S.pw, x1 = x0 + (S.kw - 1) * S.dw + 1;
        div = 1;
      });
}

template <Pool2d S, Precision P> void avg_pool_case() {
  pool_case<P>(
      "avg_pool2d " + describe(S) +
          (S.exclude_pad ? " exclude_pad" : " include_pad"),
      Kind::Avg, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride, 1,
      P,
      [](unsigned char *in, unsigned char *out) {
        return avg_pool2d<S, P>(reinterpret_cast<const Act<P> *>(in),
                                reinterpret_cast<Act<P> *>(out), 0);
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

template <AdaptivePool2d S, Precision P, typename Out = Act<P>>
void adaptive_case() {
  constexpr bool f32_out = std::is_same_v<Out, float>;
  char what[160];
  std::snprintf(what, sizeof what,
                "adaptive_avg_pool2d n%d %dx%dx%d->%dx%d strides %d/%d%s", S.n,
                S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
                f32_out ? " ->f32" : "");
  pool_case<P>(
      what, Kind::Adaptive, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride,
      S.out_stride, 1, f32_out ? P_::F32 : P,
      [](unsigned char *in, unsigned char *out) {
        return adaptive_avg_pool2d<S, P, Out>(
            reinterpret_cast<const Act<P> *>(in), reinterpret_cast<Out *>(out),
            0);
      },
      [](int oy, int ox, int &y0, int &y1, int &x0, int &x1, double &div) {
        y0 = int(std::floor(double(oy) * S.h / S.ho));
        y1 = int(std::ceil(double(oy + 1) * S.h / S.ho));
        x0 = int(std::floor(double(ox) * S.w / S.wo));
        x1 = int(std::ceil(double(ox + 1) * S.w / S.wo));
        div = double(y1 - y0) * (x1 - x0);
      });
}

template <SqueezeExcite S, Precision P> void se_case() {
  Rng rng(cases + 1);
  std::vector<double> x_exact;
  int off = slice_offset(S.c, S.in_stride, P);
  Tensor x = activations(P, size_t(S.n) * S.h * S.w, S.c, S.in_stride, off, rng,
                         x_exact, -2, 2);
  std::vector<float> w1 = rng.floats(size_t(S.r) * S.c, -0.5f, 0.5f);
  std::vector<float> w2 = rng.floats(size_t(S.c) * S.r, -0.5f, 0.5f);
  std::vector<float> b1 = rng.floats(S.r, -0.5f, 0.5f);
  std::vector<float> b2 = rng.floats(S.c, -0.5f, 0.5f);
  std::vector<double> ref(size_t(S.n) * S.c);
  for (int n = 0; n < S.n; ++n) {
    std::vector<double> mean(S.c, 0), hidden(S.r, 0);
    for (int p = 0; p < S.h * S.w; ++p)
      for (int c = 0; c < S.c; ++c)
        mean[c] += x_exact[(size_t(n) * S.h * S.w + p) * S.c + c] / (S.h * S.w);
    for (int r = 0; r < S.r; ++r) {
      double acc = b1[r];
      for (int c = 0; c < S.c; ++c)
        acc += double(w1[size_t(r) * S.c + c]) * mean[c];
      hidden[r] = activate(acc, S.act);
    }
    for (int c = 0; c < S.c; ++c) {
      double acc = b2[c];
      for (int r = 0; r < S.r; ++r)
        acc += double(w2[size_t(c) * S.r + r]) * hidden[r];
      ref[size_t(n) * S.c + c] = activate(acc, S.gate);
    }
  }
  std::vector<unsigned char> p1(se_packed_bytes<S>()), p2(se_packed_bytes<S>());
  se_pack_reduce<S>(w1.data(), p1.data());
  se_pack_expand<S>(w2.data(), p2.data());
  Device d_x(x.bytes.size(), x.bytes.data()), d_w1(p1.size(), p1.data()),
      d_w2(p2.size(), p2.data()), d_b1(b1.size() * 4, b1.data()),
      d_b2(b2.size() * 4, b2.data());
  Tensor poisoned(P_::F32, size_t(S.n) * S.c);
  poisoned.poison(0xee);
  auto run = [&] {
    Device d_gate(poisoned.bytes.size(), poisoned.bytes.data());
    cuda_check(se_gate<S, P>(d_x.as<Act<P>>(off), d_w1.ptr, d_b1.as<float>(),
                             d_w2.ptr, d_b2.as<float>(), d_gate.as<float>(), 0),
               "se_gate");
    cuda_check(cudaDeviceSynchronize(), "se_gate");
    Tensor g(P_::F32, size_t(S.n) * S.c);
    d_gate.read(g.bytes.data());
    return g;
  };
  Tensor g1 = run(), g2 = run();
  char what[200];
  std::snprintf(what, sizeof what,
                "se_gate %s n%d %dx%dx%d r%d stride %d %s/%s",
                precision_name(P), S.n, S.h, S.w, S.c, S.r, S.in_stride,
                act_name(S.act), act_name(S.gate));
  // The gate is fp32, but the mean of rounded inputs is what it sees.
  check(what, std::move(g1), g2, poisoned, ref, {size_t(S.n), S.c, S.c, 0},
        tolerance(P), rng);
}

//===----------------------------------------------------------------------===//
// Host-side checks
//===----------------------------------------------------------------------===//

/// A check that is not a kernel run (it ignores --negative).
void host_case(const std::string &what, bool ok) {
  ++cases;
  ok = negative ? false : ok; // --negative: every case must fail
  failures += !ok;
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
}

/// Packing rounds to nearest even (fp16, bf16) and ties away (tf32),
/// including subnormal halves, overflow and carries into the exponent.
void rounding_case() {
  struct {
    float x;
    uint16_t half, bf16;
  } const table[] = {
      {1.0f, 0x3c00, 0x3f80},
      {-2.5f, 0xc100, 0xc020},
      {1.0f + 1.0f / 2048, 0x3c00, 0x3f80}, // half tie -> even
      {1.0f + 3.0f / 2048, 0x3c02, 0x3f80}, // half tie -> even (up)
      {65504.0f, 0x7bff, 0x4780},           // largest half; bf16 rounds up to 2^16
      {65520.0f, 0x7c00, 0x4780},           // rounds to infinity
      {5.9604645e-08f, 0x0001, 0x3380},     // smallest subnormal half
      {2.9802322e-08f, 0x0000, 0x3300},     // its half: tie -> 0
      {6.1035156e-05f, 0x0400, 0x3880},     // smallest normal half
      {1.00390625f, 0x3c04, 0x3f80},        // bf16 tie -> even (down)
      {1.01171875f, 0x3c0c, 0x3f82},        // bf16 tie -> even (up)
  };
  bool ok = true;
  for (const auto &row : table)
    ok &= float_to_half_bits(row.x) == row.half &&
          float_to_bf16_bits(row.x) == row.bf16;
  // tf32 keeps 10 fraction bits, ties away from zero.
  ok &= round_to_tf32(1.0f + 1.0f / 2048) == 1.0f + 1.0f / 1024;
  ok &= round_to_tf32(-(1.0f + 1.0f / 2048)) == -(1.0f + 1.0f / 1024);
  ok &= round_to_tf32(1.0f + 1.0f / 4096) == 1.0f;
  host_case("pack rounding to f16 / bf16 / tf32", ok);
}

/// Launchers refuse misaligned activation pointers.
void alignment_case() {
  constexpr Conv2d S = sq(1, 4, 4, 16, 16, 1, 1, 0);
  constexpr Schedule T = small<P_::F16>();
  Device in(4 * 4 * 16 * 2 + 64), packed(conv2d_packed_bytes<S, P_::F16>()),
      out(4 * 4 * 16 * 2 + 64);
  cudaError_t e = conv2d<S, T, Epilogue{}, P_::F16>(
      in.as<Act<P_::F16>>(1), packed.ptr, nullptr, nullptr, nullptr,
      out.as<Act<P_::F16>>(), nullptr, 0);
  cudaGetLastError();
  host_case("conv2d rejects a misaligned input",
            e == cudaErrorMisalignedAddress &&
                activation_alignment(3, 3, P_::F16) == 2 &&
                activation_alignment(58, 116, P_::F16) == 4 &&
                activation_alignment(64, 64, P_::F32) == 16);
}

/// The ResNet-50 convolutions at a given batch (for the heuristic).
std::vector<Conv2d> resnet50(int n) {
  std::vector<Conv2d> layers{sq(n, 224, 224, 3, 64, 7, 2, 3)};
  int h = 56, in = 64;
  const int widths[] = {64, 128, 256, 512}, blocks[] = {3, 4, 6, 3};
  for (int stage = 0; stage < 4; ++stage) {
    int wd = widths[stage], out = wd * 4;
    for (int b = 0; b < blocks[stage]; ++b) {
      int s = stage > 0 && b == 0 ? 2 : 1, hin = h * s;
      layers.push_back(sq(n, hin, hin, in, wd, 1, 1, 0));
      layers.push_back(sq(n, hin, hin, wd, wd, 3, s, 1));
      layers.push_back(sq(n, h, h, wd, out, 1, 1, 0));
      if (b == 0)
        layers.push_back(sq(n, hin, hin, in, out, 1, s, 0));
      in = out;
    }
    h /= 2;
  }
  layers.push_back(linear_as_conv(Linear{n, 2048, 1000}));
  return layers;
}

void schedule_case(bool print) {
  bool ok = true;
  for (int n : {1, 256})
    for (Precision p : {P_::F32, P_::TF32, P_::F16, P_::BF16})
      for (int sms : {108, 132})
        for (const Conv2d &s : resnet50(n)) {
          Schedule t = default_schedule(s, p, sms);
          ok &= schedule_ok(s, p, t) && t.bm > 0;
          Schedule h = default_schedule(s, p, sms, true);
          ok &= schedule_ok(s, p, h) && h.bm > 0 &&
                (h.warpgroups > 0) == (p != P_::F32 && wgmma_shape_ok(s, p));
          if (print && p == P_::F16 && sms == 132)
            std::printf("schedule n%d %dx%dx%d->%d k%d s%d:%s\n", n, s.h, s.w,
                        s.c, s.o, s.kh, s.sh, describe(t).c_str());
        }
  host_case("default_schedule is valid on ResNet-50 (4 precisions, batch "
            "1 / 256, 108 / 132 SMs, sm_80 and sm_90a kernels)",
            ok);
}

//===----------------------------------------------------------------------===//
// The cases
//===----------------------------------------------------------------------===//

void gemm_cases() {
  // Dense: 3x3 with padding, M / N / K tails (the N tail is 40 of 64).
  conv_all<sq(2, 6, 5, 16, 24, 3, 1, 1), epi(true, A_::Relu), Small>("dense");
  conv_all<sq(1, 9, 7, 24, 40, 3, 2, 1), res(true, A_::Relu6, 40), Small>(
      "dense");
  conv_all<sq(2, 5, 5, 32, 48, 1, 1, 0), epi(false, A_::None), Small>(
      "pointwise");
  conv_all<sq(1, 9, 9, 32, 32, 1, 2, 0), res(true, A_::HardSwish, 32), Small>(
      "pointwise");
  conv_all<sq(1, 8, 7, 16, 16, 3, 1, 2, 2), epi(true, A_::Sigmoid), Small>(
      "dilated");
  conv_all<sq(1, 6, 6, 16, 32, 3, 1, 1), epi(true, A_::Silu), Small>("silu");
  conv_all<conv(1, 5, 8, 16, 32, 1, 3, 1, 2, 0, 1), epi(true, A_::HardSigmoid),
           Small>("asym");
  conv_all<sq(1, 4, 4, 16, 16, 3, 1, 2), epi(true, A_::Relu), Small>("overpad");
  // Input channels that are not a multiple of a vector: the stem (3: plain
  // loads in 16 bits, 4-byte cp.async in 32), 6 and 12 (4-byte cp.async).
  conv_all<sq(1, 11, 10, 3, 16, 7, 2, 3), epi(true, A_::Relu), Small>("stem");
  conv_all<sq(1, 6, 6, 6, 32, 3, 1, 1), epi(true, A_::Relu), Small>("narrow");
  conv_all<sq(1, 5, 6, 12, 32, 3, 1, 1, 1, 1, 4, 0), epi(true, A_::None),
           Small>("narrow");
  // Channel slices of wider buffers; a residual in place in the output.
  conv_all<sq(2, 6, 5, 16, 32, 3, 1, 1, 1, 1, 16, 16), res(true, A_::Relu, 40),
           Small>("sliced");
  conv_all<sq(1, 5, 5, 32, 32, 1, 1, 0, 1, 1, 0, 16), res(true, A_::Relu, 48),
           Small>("sliced", true);
  // Wide groups: a GEMM per group (16 and 32 channels per group).
  conv_all<sq(1, 6, 6, 32, 32, 3, 1, 1, 1, 2), epi(true, A_::Relu), Small>(
      "grouped");
  conv_all<sq(2, 5, 5, 64, 64, 3, 2, 1, 1, 2), res(true, A_::Relu, 64), Small>(
      "grouped");
  // The SE scale on the input (images straddle tiles: 9 pixels each).
  conv_all<sq(3, 3, 3, 32, 32, 1, 1, 0), epi(true, A_::None, true), Small>(
      "scaled");
  conv_all<sq(2, 5, 4, 16, 32, 3, 1, 1), res(true, A_::Relu, 32, true), Small>(
      "scaled");
  conv_all<sq(2, 5, 5, 6, 16, 3, 1, 1), epi(false, A_::Relu, true), Small>(
      "scaled");
  // Split-K: partial sums in a workspace, reduced in order.
  conv_all<sq(1, 4, 4, 64, 32, 3, 1, 1), epi(true, A_::Relu), Split3>(
      "split-k");
  // One group of a channel shuffle (ShuffleNetV2's branch outputs): every
  // out_step-th channel, stored element by element, also after split-K.
  conv_all<shuffled(sq(1, 6, 7, 48, 58, 1, 1, 0), 2), epi(true, A_::Relu),
           Small>("shuffled");
  conv_all<shuffled(sq(2, 5, 5, 16, 24, 3, 2, 1), 3),
           res(true, A_::Relu6, 24), Small>("shuffled");
  conv_all<shuffled(sq(1, 4, 4, 64, 32, 3, 1, 1), 2), epi(true, A_::None),
           Split3>("shuffled");
  conv_all<sq(1, 3, 3, 96, 48, 1, 1, 0), res(true, A_::None, 48, true), Split3>(
      "split-k");
  conv_all<sq(1, 3, 3, 128, 64, 1, 1, 0), res(true, A_::Relu, 64), Split3>(
      "split-k", true);
}

/// The schedules themselves: tile sizes, warp layouts, K steps, stages.
void schedule_cases() {
  constexpr Conv2d S = sq(2, 9, 8, 64, 96, 3, 1, 1);
  constexpr Epilogue E = res(true, A_::Relu, 96);
  conv_case<S, sch<P_::F16>(64, 64, 128, 2, 2, 3), E, P_::F16>("tile");
  conv_case<S, sch<P_::F16>(128, 64, 64, 4, 1, 4), E, P_::F16>("tile");
  conv_case<S, sch<P_::F16>(64, 128, 128, 1, 2, 2), E, P_::F16>("tile");
  conv_case<S, sch<P_::F16>(128, 128, 64, 2, 2, 2), E, P_::F16>("tile");
  conv_case<S, sch<P_::F16>(16, 64, 64, 1, 2, 4), E, P_::F16>("tile");
  conv_case<S, sch<P_::F16>(32, 16, 128, 2, 1, 3), E, P_::F16>("tile");
  conv_case<S, sch<P_::F16>(64, 32, 64, 2, 2, 3, 4), E, P_::F16>("tile");
  conv_case<S, sch<P_::BF16>(128, 32, 128, 4, 2, 3), E, P_::BF16>("tile");
  conv_case<S, sch<P_::BF16>(32, 128, 64, 2, 4, 2, 2), E, P_::BF16>("tile");
  conv_case<S, sch<P_::TF32>(64, 64, 128, 2, 2, 3), E, P_::TF32>("tile");
  conv_case<S, sch<P_::TF32>(32, 64, 64, 1, 2, 4), E, P_::TF32>("tile");
  conv_case<S, sch<P_::TF32>(128, 64, 128, 2, 2, 2, 2), E, P_::TF32>("tile");
  // 64 x 64 warp tiles (the largest schedule_ok accepts) in tf32.
  conv_case<S, sch<P_::TF32>(128, 128, 128, 2, 2, 3), E, P_::TF32>("tile");
  conv_case<S, sch<P_::F32>(64, 64, 128, 2, 2, 3), E, P_::F32>("tile");
  conv_case<S, sch<P_::F32>(128, 64, 64, 2, 2, 2), E, P_::F32>("tile");
  conv_case<S, sch<P_::F32>(16, 64, 64, 1, 2, 4, 2), E, P_::F32>("tile");
  conv_case<S, sch<P_::F32>(128, 128, 64, 2, 4, 3), E, P_::F32>("tile");
}

void linear_cases() {
  linear_case<Linear{1, 256, 40}, sch<P_::F16>(16, 32, 64, 1, 2, 3, 4),
              epi(true, A_::None), P_::F16>();
  linear_case<Linear{5, 40, 24}, small<P_::F32>(), res(true, A_::Relu, 24),
              P_::F32>();
  linear_case<Linear{3, 64, 32}, small<P_::TF32>(), epi(true, A_::HardSwish),
              P_::TF32>();
  linear_case<Linear{2, 128, 48}, sch<P_::BF16>(16, 32, 64, 1, 2, 2),
              epi(false, A_::Sigmoid), P_::BF16>();
}

/// conv_case for a direct (non-GEMM) convolution in every precision.
template <Conv2d S, Epilogue E>
void direct_all(const char *family, bool alias = false) {
  static_assert(!conv_uses_gemm(S));
  conv_case<S, Schedule{}, E, P_::F32>(family, alias);
  conv_case<S, Schedule{}, E, P_::TF32>(family, alias);
  conv_case<S, Schedule{}, E, P_::F16>(family, alias);
  conv_case<S, Schedule{}, E, P_::BF16>(family, alias);
}

void direct_cases() {
  // Depthwise: multiplier 1 with channel tails, stride 2, 5x5, dilation,
  // slices, residual in place, the SE scale; multipliers 2 and 3.
  direct_all<sq(1, 7, 6, 24, 24, 3, 1, 1, 1, 24), epi(true, A_::Relu6)>(
      "depthwise");
  direct_all<sq(2, 7, 7, 20, 20, 3, 2, 1, 1, 20), epi(true, A_::HardSwish)>(
      "depthwise");
  direct_all<sq(1, 6, 5, 7, 7, 3, 1, 1, 1, 7), epi(false, A_::None)>(
      "depthwise");
  direct_all<sq(1, 8, 7, 16, 16, 5, 2, 2, 1, 16), epi(true, A_::Relu)>(
      "depthwise");
  direct_all<sq(1, 7, 7, 16, 16, 3, 1, 2, 2, 16), epi(true, A_::Sigmoid)>(
      "depthwise");
  direct_all<sq(1, 6, 6, 16, 16, 3, 1, 1, 1, 16, 16, 8),
             res(true, A_::None, 24)>("depthwise", true);
  direct_all<sq(2, 5, 5, 32, 32, 3, 1, 1, 1, 32), epi(true, A_::None, true)>(
      "depthwise");
  direct_all<sq(1, 6, 6, 8, 16, 3, 1, 1, 1, 8), epi(true, A_::Relu)>(
      "multiplier");
  direct_all<sq(1, 6, 5, 5, 15, 3, 1, 1, 1, 5), res(true, A_::Relu, 15)>(
      "multiplier");
  direct_all<shuffled(sq(1, 7, 6, 24, 24, 3, 2, 1, 1, 24), 2),
             epi(true, A_::None)>("shuffled dw");
  // Narrow groups: ResNeXt's 4 and 8 channels per group, fewer outputs
  // than inputs per group, and 32 inputs for 8 outputs per group.
  direct_all<sq(1, 6, 6, 32, 32, 3, 1, 1, 1, 8), res(true, A_::Relu, 32)>(
      "grouped");
  direct_all<sq(2, 7, 7, 32, 32, 3, 2, 1, 1, 4), epi(true, A_::Relu)>(
      "grouped");
  direct_all<sq(1, 5, 5, 16, 8, 3, 1, 1, 1, 4), epi(true, A_::Relu6, true)>(
      "grouped");
  direct_all<sq(1, 5, 4, 64, 16, 1, 1, 0, 1, 2), epi(false, A_::None)>(
      "grouped");
}

template <Precision P> void pool_cases() {
  max_pool_case<pool2d(1, 9, 9, 16, 3, 2, 1, false), P>();
  max_pool_case<pool2d(2, 8, 7, 24, 3, 2, 0, true), P>();
  max_pool_case<pool2d(1, 9, 8, 6, 3, 2, 1, true, false, 2, 2, 2), P>();
  avg_pool_case<pool2d(1, 8, 9, 20, 2, 2, 0, false), P>();
  avg_pool_case<pool2d(2, 7, 7, 8, 3, 1, 1, false, true, 1, 8, 0), P>();
  avg_pool_case<pool2d(1, 6, 6, 12, 3, 2, 1, true, false), P>();
  avg_pool_case<pool2d(1, 4, 5, 16, 3, 3, 1, true, true), P>();
  adaptive_case<AdaptivePool2d{1, 7, 7, 64, 1, 1, 64, 64}, P>();
  adaptive_case<AdaptivePool2d{2, 10, 10, 19, 3, 3, 19, 19}, P>();
  adaptive_case<AdaptivePool2d{1, 5, 7, 16, 2, 4, 20, 18}, P>();
  adaptive_case<AdaptivePool2d{2, 9, 8, 40, 1, 1, 48, 40}, P, float>();
  // GhostNet's SE squeeze: in fp16, 9 vectors of 8 channels do not divide
  // a 256-thread block (the block is 9 x 28 threads).
  adaptive_case<AdaptivePool2d{2, 8, 8, 72, 1, 1, 72, 72}, P, float>();
}

template <Precision P> void se_cases() {
  se_case<SqueezeExcite{2, 5, 5, 24, 8, 24, A_::Relu, A_::HardSigmoid}, P>();
  se_case<SqueezeExcite{2, 8, 8, 72, 20, 72, A_::Relu, A_::HardSigmoid}, P>();
  se_case<SqueezeExcite{1, 3, 4, 20, 6, 28, A_::Relu, A_::Sigmoid}, P>();
}

//===----------------------------------------------------------------------===//
// sm_90a: the warp-specialised TMA / mbarrier / wgmma kernel (wgmma.cuh)
//===----------------------------------------------------------------------===//

/// conv_case with sm_90a schedules in the three tensor-core precisions.
template <Conv2d S, Epilogue E, int Warpgroups, int Bn, int Stages, int SplitK = 1>
void wgmma_all(const char *family, bool alias = false) {
  conv_case<S, wg<P_::F16>(Warpgroups, Bn, Stages, SplitK), E, P_::F16>(family, alias);
  conv_case<S, wg<P_::BF16>(Warpgroups, Bn, Stages, SplitK), E, P_::BF16>(family, alias);
  conv_case<S, wg<P_::TF32>(Warpgroups, Bn, Stages, SplitK), E, P_::TF32>(family, alias);
}

/// Whether the sm_90a kernels can run: the emulator, or an H100/H200 (and
/// this test compiled for sm_90a).
bool sm90a_device() {
  cudaDeviceProp props;
  if (cudaGetDeviceProperties(&props, 0) != cudaSuccess)
    return false;
  if (props.major == 9 && props.minor == 0)
    return true;
  std::printf("SKIP the sm_90a kernel: the device is sm_%d%d\n", props.major, props.minor);
  return false;
}

void wgmma_cases() {
  if (!sm90a_device())
    return;
  // gemm mode (1x1, stride 1): a 2-D tensor map; K steps wrap the stages.
  wgmma_all<sq(2, 6, 6, 256, 96, 1, 1, 0), res(true, A_::Relu, 96), 1, 64, 2>("sm90a 1x1");
  wgmma_all<sq(1, 9, 9, 128, 80, 1, 1, 0), epi(true, A_::None), 2, 128, 3>("sm90a 1x1");
  // chunked: 3x3 (padding as out-of-bounds zeros), stride 2, channel tails
  // (40 of a 64-channel chunk), dilation, bn 256.
  wgmma_all<sq(2, 8, 7, 64, 64, 3, 1, 1), res(true, A_::Relu, 64), 1, 64, 3>("sm90a 3x3");
  wgmma_all<sq(1, 11, 10, 40, 48, 3, 2, 1), epi(true, A_::HardSwish), 2, 64, 4>(
      "sm90a strided");
  wgmma_all<sq(1, 9, 9, 32, 32, 3, 1, 2, 2), epi(true, A_::Sigmoid), 1, 64, 2>(
      "sm90a dilated");
  wgmma_all<sq(1, 6, 6, 64, 200, 3, 1, 1), epi(true, A_::Relu6), 1, 256, 2>("sm90a wide");
  // Several images in one tile (7x7 outputs), a 1x1 stride-2 downsample.
  wgmma_all<sq(4, 7, 7, 64, 64, 3, 1, 1), epi(true, A_::Relu), 2, 64, 2>("sm90a images");
  wgmma_all<sq(2, 14, 14, 64, 128, 1, 2, 0), res(true, A_::None, 128), 1, 128, 2>(
      "sm90a downsample");
  // The stem: 16-byte pixels (3 channels padded to 8 in 16 bits, to 4 in
  // tf32), 8 taps of 16 bytes a K step, no swizzle.
  conv_case<sq(1, 15, 14, 8, 32, 7, 2, 3), wg<P_::F16>(1, 64, 3), epi(true, A_::Relu),
            P_::F16>("sm90a stem");
  conv_case<sq(1, 15, 14, 8, 32, 7, 2, 3), wg<P_::BF16>(2, 64, 2), epi(true, A_::Relu),
            P_::BF16>("sm90a stem");
  conv_case<sq(1, 15, 14, 4, 32, 7, 2, 3), wg<P_::TF32>(1, 64, 3), epi(true, A_::Relu),
            P_::TF32>("sm90a stem");
  // Channel slices, a residual in place, one group of a channel shuffle.
  wgmma_all<sq(2, 6, 5, 64, 64, 3, 1, 1, 1, 1, 64, 16), res(true, A_::Relu, 80), 1, 64,
            2>("sm90a sliced");
  wgmma_all<sq(1, 5, 5, 64, 64, 1, 1, 0, 1, 1, 0, 0), res(true, A_::Relu, 64), 1, 64, 2>(
      "sm90a sliced", true);
  wgmma_all<shuffled(sq(1, 6, 7, 64, 58, 1, 1, 0), 2), epi(true, A_::Relu), 1, 64, 2>(
      "sm90a shuffled");
  // Split-K: the last slice block of a tile reduces.
  wgmma_all<sq(1, 4, 4, 128, 64, 3, 1, 1), epi(true, A_::Relu), 1, 64, 2, 3>(
      "sm90a split-k");
  wgmma_all<sq(1, 7, 7, 256, 64, 1, 1, 0), res(true, A_::None, 64), 2, 64, 2, 2>(
      "sm90a split-k");
  // Linear layers (gemm mode, few rows).
  linear_case<Linear{3, 256, 40}, wg<P_::F16>(1, 64, 2), epi(true, A_::None), P_::F16>();
  linear_case<Linear{5, 192, 72}, wg<P_::TF32>(1, 128, 3), res(true, A_::Relu, 72),
              P_::TF32>();
  linear_case<Linear{2, 128, 48}, wg<P_::BF16>(2, 64, 2, 2), epi(false, A_::Sigmoid),
              P_::BF16>();
}

/// The sm_90a kernel with one synchronisation point left out must compute
/// wrong data, or fail, in the emulator: one line per omission.
template <Conv2d S, Schedule T, Precision P, int kOmit> void wgmma_fault(const char *what) {
  using C = detail::WgmmaConfig<S, T, Epilogue{}, P>;
  static_assert(C::G.steps > T.stages, "the stages must wrap around");
  Rng rng(cases + 1);
  size_t pixels = size_t(S.n) * S.ho * S.wo;
  std::vector<double> in_exact, unused;
  Tensor in = activations(P, size_t(S.n) * S.h * S.w, S.c, S.c, 0, rng, in_exact);
  float bound = 1 / std::sqrt(float(S.c * S.kh * S.kw));
  std::vector<float> w = rng.floats(size_t(S.o) * S.c * S.kh * S.kw, -bound, bound);
  std::vector<double> ref = ref_conv(S, Epilogue{}, in_exact, w, {}, unused, {});
  std::vector<unsigned char> packed(conv2d_packed_bytes<S, P, T>());
  conv2d_pack<S, P, T>(w.data(), packed.data());
  Device d_in(in.bytes.size(), in.bytes.data()), d_packed(packed.size(), packed.data());
  Tensor out(P, pixels * S.o);
  out.poison(0xee);
  Device d_out(out.bytes.size(), out.bytes.data());
  detail::ConvArgs<P> args{d_in.as<Act<P>>(), d_packed.as<Act<P>>(), nullptr, nullptr,
                           nullptr, d_out.as<Act<P>>(), nullptr};
  cudaError_t e = detail::launch_wgmma<C, kOmit>(args, 0);
  cudaError_t synced = cudaDeviceSynchronize(); // also clears a launch failure
  cudaGetLastError();
  if (e == cudaSuccess)
    e = synced;
  ++cases;
  std::string verdict;
  if (e != cudaSuccess) {
    verdict = std::string("the emulator stopped the kernel (") + cudaGetErrorName(e) + ")";
  } else {
    d_out.read(out.bytes.data());
    size_t wrong = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      double y = out.get(i);
      wrong += !(std::fabs(y - ref[i]) <= 0.05 * (1 + std::fabs(ref[i])));
    }
    if (wrong)
      verdict = std::to_string(wrong) + " of " + std::to_string(ref.size()) +
                " outputs are wrong";
  }
  failures += verdict.empty();
  std::printf("%s sm90a without %s (%s): %s\n", verdict.empty() ? "MISSED" : "DETECTED", what,
              precision_name(P), verdict.empty() ? "the results are right" : verdict.c_str());
}

void wgmma_faults() {
  constexpr Conv2d S = sq(1, 6, 6, 64, 64, 3, 1, 1);
  constexpr Schedule T = wg<P_::F16>(1, 64, 2);
  wgmma_fault<S, T, P_::F16, detail::kOmitFullWait>("the consumers' wait on the full barrier");
  wgmma_fault<S, T, P_::F16, detail::kOmitExpectTx>("expect_tx on the full barrier");
  wgmma_fault<S, T, P_::F16, detail::kOmitFence>("wgmma.fence");
  wgmma_fault<S, T, P_::F16, detail::kOmitWgmmaWait>(
      "wgmma.wait_group before a stage is released");
  wgmma_fault<S, T, P_::F16, detail::kOmitEmptyWait>("the producer's wait on the empty barrier");
  constexpr Schedule T2 = wg<P_::TF32>(2, 64, 2);
  wgmma_fault<S, T2, P_::TF32, detail::kOmitFullWait>("the consumers' wait on the full barrier");
  wgmma_fault<S, T2, P_::TF32, detail::kOmitFence>("wgmma.fence");
  wgmma_fault<S, T2, P_::TF32, detail::kOmitWgmmaWait>(
      "wgmma.wait_group before a stage is released");
}

} // namespace

int main(int argc, char **argv) {
  bool schedules = false, faults = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--negative")) {
      negative = true;
    } else if (!std::strcmp(argv[i], "--schedules")) {
      schedules = true;
    } else if (!std::strcmp(argv[i], "--hopper-faults")) {
      faults = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--negative] [--schedules] [--hopper-faults]\n"
                   "Checks kiln's CUDA kernels against a double-precision "
                   "reference.\n  --negative   corrupt one output element "
                   "per case; every case must then fail\n  --schedules  "
                   "print default_schedule of ResNet-50's layers (f16)\n"
                   "  --hopper-faults  run the sm_90a kernel without each of its "
                   "synchronisation points; each must be detected\n",
                   argv[0]);
      return 2;
    }
  }
  if (schedules) {
    schedule_case(true);
    return failures ? 1 : 0;
  }
  if (faults) {
    wgmma_faults();
    std::printf("kiln-cuda-kernel-test --hopper-faults: %d cases, %d missed\n", cases,
                failures);
    return failures ? 1 : 0;
  }
  rounding_case();
  alignment_case();
  schedule_case(false);
  gemm_cases();
  schedule_cases();
  linear_cases();
  direct_cases();
  pool_cases<P_::F32>();
  pool_cases<P_::F16>();
  pool_cases<P_::BF16>();
  se_cases<P_::F32>();
  se_cases<P_::F16>();
  wgmma_cases();
  std::printf("kiln-cuda-kernel-test: %d cases, %d failed\n", cases, failures);
  return failures ? 1 : 0;
}
