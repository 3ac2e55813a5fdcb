//===- pool.h - max, average and adaptive average pooling -------*- C++ -*-===//
//
// This file implements the pooling kernels, NHWC, vectorized over channels.
// For each output pixel, a window of input pixels (rows y0 + i*dy, columns
// x0 + j*dx, already clipped to the input) is reduced per channel and
// finalized. The average poolings share one driver; max pooling has its own
// loop (a whole 3x3 window as a tree of maxima). The windows and divisors
// follow PyTorch exactly:
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

/// Independent accumulators of the averaging loop: (pixel, channel vector)
/// pairs reduced together, tap by tap.
inline constexpr int kPoolAcc = 8;

/// Average-pools |rows| = n * ho output rows of |wo| pixels, |c| channels;
/// the window of output pixel (oy, ox) is window(oy, ox), its sum divided by
/// the window's divisor. Tasks are ranges of rows and of channel vectors
/// (global pooling has a single row).
template <typename WindowFn>
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
      for (int ox = 0; ox < wo;) {
        Window win = window(oy, ox);
        // The next pixels whose windows have this one's shape, their input
        // a fixed step apart, join it while accumulators are free: a 24- or
        // 64-channel layer's few vectors alone would leave each
        // accumulator's chain of max or add latencies back to back.
        int pixels = 1, step = 0;
        const int max_pixels = v1 - v0 >= kPoolAcc ? 1 : kPoolAcc / (v1 - v0);
        while (pixels < max_pixels && ox + pixels < wo) {
          Window next = window(oy, ox + pixels);
          int d = next.x0 - win.x0;
          if (next.y0 != win.y0 || next.ny != win.ny || next.nx != win.nx ||
              next.divisor != win.divisor ||
              (pixels == 1 ? d <= 0 : d != pixels * step))
            break;
          step = pixels == 1 ? d : step;
          ++pixels;
        }
        float *dst = out + (size_t(row) * wo + ox) * out_stride;
        for (int vg = v0; vg < v1; vg += kPoolAcc) {
          // Accumulator a: pixel a / group, vector vg + a % group.
          const int group = std::min(kPoolAcc, v1 - vg);
          const int used = pixels * group;
          Vec acc[kPoolAcc];
          Mask m[kPoolAcc];
          size_t at[kPoolAcc];
          KILN_UNROLL
          for (int a = 0; a < kPoolAcc; ++a) {
            int p = a / group, v = vg + a % group;
            m[a] = first(c - v * kLanes);
            at[a] = size_t(p) * step * in_stride + v * kLanes;
            acc[a] = zero();
          }
          for (int i = 0; i < win.ny; ++i) {
            const float *src =
                image + (size_t(win.y0 + i * win.dy) * w + win.x0) * in_stride;
            for (int j = 0; j < win.nx; ++j, src += size_t(win.dx) * in_stride)
              KILN_UNROLL
              for (int a = 0; a < kPoolAcc; ++a) {
                if (a >= used)
                  break;
                acc[a] = add(acc[a], load(src + at[a], m[a]));
              }
          }
          KILN_UNROLL
          for (int a = 0; a < kPoolAcc; ++a) {
            if (a >= used)
              break;
            // An empty window (not produced by PyTorch's sizes) is 0.
            acc[a] = win.ny > 0 && win.nx > 0 ? div(acc[a], splat(win.divisor))
                                              : zero();
            int p = a / group, v = vg + a % group;
            store(dst + size_t(p) * out_stride + v * kLanes, acc[a], m[a]);
          }
        }
        ox += pixels;
      }
    }
  });
}

/// The maximum of the K x K window at |src| (rows |row_step|, columns
/// |col_step| floats apart), lanes |m|: all K*K loads first, then a tree of
/// maxima (depth 4 at 3x3, rather than a chain of 9).
template <int K>
KILN_INLINE Vec window_max(const float *src, ptrdiff_t row_step,
                           ptrdiff_t col_step, Mask m) {
  Vec x[K * K];
  KILN_UNROLL
  for (int i = 0; i < K; ++i)
    KILN_UNROLL
    for (int j = 0; j < K; ++j)
      x[i * K + j] = load(src + i * row_step + j * col_step, m);
  KILN_UNROLL
  for (int width = 1; width < K * K; width *= 2)
    KILN_UNROLL
    for (int t = 0; t + width < K * K; t += 2 * width)
      x[t] = max(x[t], x[t + width]);
  return x[0];
}

/// Max pooling: output pixels one at a time. A whole 2x2 or 3x3 window (no
/// tap in the padding) takes window_max; the windows at the edges, and
/// other sizes, a loop over their clipped rows and columns.
inline void max_pool2d(const Pool2d &S, const float *in, float *out,
                       ThreadPool &pool) {
  const int rows = S.n * S.ho, vectors = ceil_div(S.c, kLanes);
  const int tasks = pool.size() == 1 ? 1 : std::min(rows, 4 * pool.size());
  const Vec lowest = splat(-std::numeric_limits<float>::infinity());
  const int square = S.kh == S.kw && (S.kh == 2 || S.kh == 3) ? S.kh : 0;
  const ptrdiff_t row_step = ptrdiff_t(S.dh) * S.w * S.in_stride;
  const ptrdiff_t col_step = ptrdiff_t(S.dw) * S.in_stride;
  pool.parallel_for(tasks, [&](int64_t task) {
    for (int row = int(task * rows / tasks);
         row < int((task + 1) * rows / tasks); ++row) {
      const int img = row / S.ho, oy = row % S.ho;
      int y0, ny;
      clip_taps(oy * S.sh - S.ph, S.kh, S.dh, S.h, y0, ny);
      const float *image = in + (size_t(img) * S.h + y0) * S.w * S.in_stride;
      float *dst = out + size_t(row) * S.wo * S.out_stride;
      for (int ox = 0; ox < S.wo; ++ox) {
        int x0, nx;
        clip_taps(ox * S.sw - S.pw, S.kw, S.dw, S.w, x0, nx);
        const float *src = image + ptrdiff_t(x0) * S.in_stride;
        float *o = dst + size_t(ox) * S.out_stride;
        const bool whole = ny == S.kh && nx == S.kw;
        for (int v = 0; v < vectors; ++v) {
          const Mask m = first(S.c - v * kLanes);
          Vec acc = lowest;
          if (whole && square == 3)
            acc = window_max<3>(src + v * kLanes, row_step, col_step, m);
          else if (whole && square == 2)
            acc = window_max<2>(src + v * kLanes, row_step, col_step, m);
          else
            for (int i = 0; i < ny; ++i)
              for (int j = 0; j < nx; ++j)
                acc = max(acc, load(src + i * row_step + j * col_step +
                                        v * kLanes,
                                    m));
          store(o + v * kLanes, acc, m);
        }
      }
    }
  });
}

inline void avg_pool2d(const Pool2d &S, const float *in, float *out,
                       ThreadPool &pool) {
  pool_driver(
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
  pool_driver(
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
