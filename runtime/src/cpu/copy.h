//===- copy.h - strided copies ----------------------------------*- C++ -*-===//
//
// This file implements copy2d (Copy2d in kiln/kernel_types.h), the copies
// the generated code makes between kernels: a concat's inputs and a channel
// shuffle's groups into place (rows of pixels, each a run of channels read
// contiguously and written contiguously or every k-th float), and the model
// input's change from NCHW to NHWC (rows of pixels, each gathering one
// float of every channel plane). Compiled once per kernel set, so these run
// in the set's vectors rather than the generated code's baseline scalars:
//  * contiguous rows: memcpy;
//  * rows written every other float (ShuffleNetV2's groups): a vector at a
//    time, with AVX-512 spread by lane permutes and blended into the floats
//    between (store_every2_blend);
//  * with AVX-512, three channel planes into pixels (an RGB input): 16
//    pixels of each plane, interleaved by two-source lane permutes into
//    three vectors;
//  * anything else: the scalar loop the generated code had, now compiled
//    for the kernel set.
//
// Included by the kernel sources of src/cpu only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_COPY_H
#define KILN_RUNTIME_CPU_COPY_H

#include "gemm.h"

#include <cstring>

namespace kiln::cpu::KILN_CPU_ISA {

#if KILN_SIMD_AVX512
/// Pixels [p, p + 16) of three planes |a|, |b|, |c| into 48 floats at |out|
/// (pixel-major: a0 b0 c0 a1 ...).
KILN_INLINE void interleave3(const float *a, const float *b, const float *c,
                             float *out) {
  // Output float g = 16 k + e is pixel g / 3's channel g % 3: the first
  // permute picks channels 0 and 1 from a and b (channel 2's lanes get
  // anything), the second keeps those lanes and takes channel 2 from c.
  alignas(64) static constexpr auto kIndex = [] {
    struct {
      int ab[3][16], tc[3][16];
    } t{};
    for (int k = 0; k < 3; ++k)
      for (int e = 0; e < 16; ++e) {
        int g = 16 * k + e, pixel = g / 3, channel = g % 3;
        t.ab[k][e] = channel == 1 ? 16 + pixel : pixel;
        t.tc[k][e] = channel == 2 ? 16 + pixel : e;
      }
    return t;
  }();
  const Vec va = load(a), vb = load(b), vc = load(c);
  for (int k = 0; k < 3; ++k) {
    Vec ab = _mm512_permutex2var_ps(
        va, _mm512_load_si512(kIndex.ab[k]), vb);
    store(out + 16 * k, _mm512_permutex2var_ps(
                            ab, _mm512_load_si512(kIndex.tc[k]), vc));
  }
}
#endif

/// |cols| floats from |in| into every other float from |out| (a group of a
/// two-group channel shuffle): whole vectors with store_every2_blend (the
/// floats between belong to the shuffle's other group, which another step
/// writes; copy2d's tasks are rows, and a vector's floats lie inside its
/// row), the tail masked.
KILN_INLINE void spread2(const float *in, float *out, long long cols) {
  long long c = 0;
  for (; c + kLanes <= cols; c += kLanes)
    store_every2_blend(out + 2 * c, load(in + c));
  if (c < cols) {
    const Mask m = first(int(cols - c));
    store_every(out + 2 * c, load(in + c, m), m, 2);
  }
}

/// Rows [r0, r1) of one of |s|'s 2-D copies, from |src| to |dst|.
inline void copy_rows(const Copy2d &s, const float *src, float *dst,
                      long long r0, long long r1) {
#if KILN_SIMD_AVX512
  if (s.src_row == 1 && s.cols == 3 && s.dst_col == 1 && s.dst_row == 3) {
    for (; r0 + kLanes <= r1; r0 += kLanes)
      interleave3(src + r0, src + r0 + s.src_col, src + r0 + 2 * s.src_col,
                  dst + 3 * r0);
    // The last few pixels: below.
  }
#endif
  for (long long r = r0; r < r1; ++r) {
    const float *in = src + r * s.src_row;
    float *out = dst + r * s.dst_row;
    if (s.src_col == 1 && s.dst_col == 1) {
      std::memcpy(out, in, size_t(s.cols) * sizeof(float));
      continue;
    }
    if (s.src_col == 1 && s.dst_col == 2) {
      spread2(in, out, s.cols);
      continue;
    }
    for (long long c = 0; c < s.cols; ++c)
      out[c * s.dst_col] = in[c * s.src_col];
  }
}

/// The copy: the n x rows rows in order, split among the threads when
/// there are enough floats to pay for it (as the generated loops did).
inline void copy2d(const Copy2d &s, const float *src, float *dst,
                   ThreadPool &pool) {
  const long long rows = s.n * s.rows;
  if (rows <= 0 || s.cols <= 0)
    return;
  const long long tasks = pool.size() > 1 && rows * s.cols >= (1 << 15)
                              ? std::min<long long>(rows, 4 * pool.size())
                              : 1;
  pool.parallel_for(tasks, [&](int64_t t) {
    // Rows [begin, end) of the n x rows, a piece of each image they cover.
    const long long begin = t * rows / tasks, end = (t + 1) * rows / tasks;
    for (long long r = begin; r < end;) {
      const long long i = r / s.rows, r0 = r % s.rows;
      const long long r1 = std::min(s.rows, r0 + (end - r));
      copy_rows(s, src + i * s.src_n, dst + i * s.dst_n, r0, r1);
      r += r1 - r0;
    }
  });
}

} // namespace kiln::cpu::KILN_CPU_ISA

#endif // KILN_RUNTIME_CPU_COPY_H
