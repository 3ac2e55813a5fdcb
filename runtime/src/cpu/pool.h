//===- pool.h - max, average and adaptive average pooling -------*- C++ -*-===//
//
// This file implements the pooling kernels, NHWC, vectorized over channels.
// All three share one driver: for each output pixel, a window of input
// pixels (rows y0 + i*dy, columns x0 + j*dx, already clipped to the input)
// is reduced per channel and finalized. They differ only in how the window
// and the divisor are derived, which follows PyTorch exactly:
//  * max_pool2d: the dilated window, clipped (padding acts as -inf);
//  * avg_pool2d: hs = oy*sh - ph, he = min(hs + kh, h + ph), divisor
//    (he - hs) * (we - ws) computed BEFORE clipping to [0, h) (so ceil_mode
//    windows that run past the padding count less), or the clipped area with
//    exclude_pad; an empty window gives 0;
//  * adaptive_avg_pool2d: rows floor(oy*h/ho) .. ceil((oy+1)*h/ho).
//
// Included by the kernel sources of src/cpu only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_POOL_H
#define KILN_RUNTIME_CPU_POOL_H

#include "gemm.h"

#include <limits>

namespace kiln::cpu::KILN_CPU_ISA {

/// The input pixels one output pixel reduces.
struct Window {
  int y0, ny, dy; ///< rows y0, y0 + dy, ... (ny of them)
  int x0, nx, dx;
  float divisor;  ///< average pooling only
};

/// The dilated window starting at |start| (may be negative), clipped to
/// [0, size): first index and count.
constexpr void clip_taps(int start, int taps, int step, int size, int &first,
                         int &count) {
  int t0 = start >= 0 ? 0 : ceil_div(-start, step);
  int t1 = start + (taps - 1) * step < size ? taps
                                            : (size - 1 - start) / step + 1;
  first = start + t0 * step;
  count = std::max(0, t1 - t0);
}

enum class Reduce { Max, Mean };

/// Pools |rows| = n * ho output rows of |wo| pixels, |c| channels; the
/// window of output pixel (oy, ox) is window(oy, ox). Tasks are ranges of
/// rows and of channel vectors (global pooling has a single row).
template <Reduce R, typename WindowFn>
void pool_driver(const float *in, float *out, int n, int h, int w, int c,
                 int ho, int wo, int in_stride, int out_stride,
                 WindowFn window, ThreadPool &pool) {
  int rows = n * ho, vectors = ceil_div(c, kLanes);
  int want = pool.size() == 1 ? 1 : 4 * pool.size();
  int row_ranges = std::min(rows, want);
  int vector_ranges = std::clamp(ceil_div(want, row_ranges), 1, vectors);
  pool.parallel_for(int64_t(row_ranges) * vector_ranges, [&](int64_t task) {
    int rr = int(task / vector_ranges), vr = int(task % vector_ranges);
    int v0 = vr * vectors / vector_ranges;
    int v1 = (vr + 1) * vectors / vector_ranges;
    for (int row = rr * rows / row_ranges; row < (rr + 1) * rows / row_ranges;
         ++row) {
      int img = row / ho, oy = row % ho;
      const float *image = in + size_t(img) * h * w * in_stride;
      for (int ox = 0; ox < wo; ++ox) {
        Window win = window(oy, ox);
        float *dst = out + (size_t(row) * wo + ox) * out_stride;
        for (int v = v0; v < v1; ++v) {
          Mask m = first(c - v * kLanes);
          Vec acc = R == Reduce::Max
                        ? splat(-std::numeric_limits<float>::infinity())
                        : zero();
          for (int i = 0; i < win.ny; ++i) {
            const float *src = image +
                               (size_t(win.y0 + i * win.dy) * w + win.x0) *
                                   in_stride +
                               v * kLanes;
            for (int j = 0; j < win.nx; ++j) {
              Vec x = load(src + size_t(j) * win.dx * in_stride, m);
              if constexpr (R == Reduce::Max)
                acc = max(acc, x);
              else
                acc = add(acc, x);
            }
          }
          // An empty average window (not produced by PyTorch's sizes) is 0.
          if constexpr (R == Reduce::Mean)
            acc = win.ny > 0 && win.nx > 0 ? div(acc, splat(win.divisor))
                                           : zero();
          store(dst + v * kLanes, acc, m);
        }
      }
    }
  });
}

inline void max_pool2d(const Pool2d &S, const float *in, float *out,
                       ThreadPool &pool) {
  pool_driver<Reduce::Max>(
      in, out, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
      [&S](int oy, int ox) {
        Window win{0, 0, S.dh, 0, 0, S.dw, 1.f};
        clip_taps(oy * S.sh - S.ph, S.kh, S.dh, S.h, win.y0, win.ny);
        clip_taps(ox * S.sw - S.pw, S.kw, S.dw, S.w, win.x0, win.nx);
        return win;
      },
      pool);
}

inline void avg_pool2d(const Pool2d &S, const float *in, float *out,
                       ThreadPool &pool) {
  pool_driver<Reduce::Mean>(
      in, out, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
      [&S](int oy, int ox) {
        int hs = oy * S.sh - S.ph, ws = ox * S.sw - S.pw;
        int he = std::min(hs + S.kh, S.h + S.ph);
        int we = std::min(ws + S.kw, S.w + S.pw);
        int padded_area = (he - hs) * (we - ws);
        hs = std::max(hs, 0), ws = std::max(ws, 0);
        he = std::min(he, S.h), we = std::min(we, S.w);
        int area = (he - hs) * (we - ws);
        return Window{hs, he - hs, 1, ws, we - ws, 1,
                      float(S.exclude_pad ? area : padded_area)};
      },
      pool);
}

inline void adaptive_avg_pool2d(const AdaptivePool2d &S, const float *in,
                                float *out, ThreadPool &pool) {
  pool_driver<Reduce::Mean>(
      in, out, S.n, S.h, S.w, S.c, S.ho, S.wo, S.in_stride, S.out_stride,
      [&S](int oy, int ox) {
        int hs = oy * S.h / S.ho, he = ceil_div((oy + 1) * S.h, S.ho);
        int ws = ox * S.w / S.wo, we = ceil_div((ox + 1) * S.w, S.wo);
        return Window{hs, he - hs, 1, ws, we - ws, 1,
                      float((he - hs) * (we - ws))};
      },
      pool);
}

} // namespace kiln::cpu::KILN_CPU_ISA

#endif // KILN_RUNTIME_CPU_POOL_H
