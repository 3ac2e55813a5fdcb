//===- dispatch.cpp - choosing a kernel set, and packing for it -----------===//
//
// Compiled for the baseline of the architecture, like the rest of the
// runtime: nothing here may run an instruction some CPU lacks. It decides
// which kernel set a process uses (from CPUID on x86-64, read directly with
// <cpuid.h> so that GCC and Clang agree, with XGETBV to check that the OS
// saves the vector registers) and packs weights into that set's layout
// (layout.h) with scalar code.
//
//===----------------------------------------------------------------------===//

#include "kiln/cpu/kernels.h"

#include "winograd_matrices.h"

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace kiln::cpu {

namespace {
const KernelTable *active = nullptr;
} // namespace

bool cpu_supports(const KernelTable &t) { return cpu_supports_set(t.name); }

#if defined(__x86_64__)
namespace {
/// The x86-64 features the kernel sets are compiled for, from CPUID. A
/// vector feature counts only if the OS saves its registers (XCR0).
struct X86Features {
  bool v3 = false; ///< x86-64-v3: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE
  bool v4 = false; ///< x86-64-v4: v3 and AVX512F, BW, CD, DQ, VL
};

X86Features readX86Features() {
  X86Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return f;
  bool fma = c & (1u << 12), movbe = c & (1u << 22), osxsave = c & (1u << 27),
       avx = c & (1u << 28), f16c = c & (1u << 29);
  if (!osxsave || !avx)
    return f;
  unsigned xcr0lo, xcr0hi;
  __asm__("xgetbv" : "=a"(xcr0lo), "=d"(xcr0hi) : "c"(0));
  bool ymmState = (xcr0lo & 0x6) == 0x6;   // SSE and AVX state
  bool zmmState = (xcr0lo & 0xe6) == 0xe6; // and opmask, ZMM0-15, ZMM16-31
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return f;
  bool bmi1 = b & (1u << 3), avx2 = b & (1u << 5), bmi2 = b & (1u << 8),
       avx512f = b & (1u << 16), avx512dq = b & (1u << 17),
       avx512cd = b & (1u << 28), avx512bw = b & (1u << 30),
       avx512vl = b & (1u << 31);
  bool lzcnt = __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5));
  f.v3 = ymmState && avx2 && bmi1 && bmi2 && f16c && fma && lzcnt && movbe;
  f.v4 = f.v3 && zmmState && avx512f && avx512bw && avx512cd && avx512dq &&
         avx512vl;
  return f;
}
} // namespace
#endif

bool cpu_supports_set(const char *set) {
  std::string name = set;
#if defined(__x86_64__)
  if (name == "portable")
    return true;
  static const X86Features features = readX86Features();
  if (name == "avx2")
    return features.v3;
  if (name == "avx512")
    return features.v4;
  return false;
#elif defined(__aarch64__)
  // Advanced SIMD is part of every AArch64 CPU that runs Linux.
  return name == "neon" || name == "portable";
#else
  return name == "portable";
#endif
}

const KernelTable *choose_kernels(const KernelTable *const *tables, int count,
                                  const char *forced, std::string &error) {
  std::string names;
  for (int i = 0; i < count; ++i)
    names += (i ? ", " : "") + std::string(tables[i]->name);
  if (forced && *forced) {
    for (int i = 0; i < count; ++i)
      if (std::strcmp(tables[i]->name, forced) == 0) {
        if (cpu_supports(*tables[i]))
          return tables[i];
        error = "KILN_CPU=" + std::string(forced) + ": this CPU cannot run the " +
                tables[i]->description + " kernels (it has: ";
        bool any = false;
        for (int j = 0; j < count; ++j)
          if (cpu_supports(*tables[j])) {
            error += (any ? ", " : "") + std::string(tables[j]->name);
            any = true;
          }
        error += ")";
        return nullptr;
      }
    error = "KILN_CPU=" + std::string(forced) +
            ": this executable holds no such kernels (it has: " + names + ")";
    return nullptr;
  }
  for (int i = 0; i < count; ++i)
    if (cpu_supports(*tables[i]))
      return tables[i];
  error = "this CPU runs none of this executable's kernel sets (" + names +
          "); compile it with --cpu auto";
  return nullptr;
}

void use_kernels(const KernelTable &t) { active = &t; }

const KernelTable &kernels() {
  if (!active) {
    std::fprintf(stderr, "kiln: internal error: a CPU kernel ran before a "
                         "kernel set was chosen (use_kernels)\n");
    std::abort();
  }
  return *active;
}

std::string cpu_model_name() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line)) {
    // x86: "model name\t: AMD EPYC 7763 ..."; ARM has no model name line.
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "";
}

namespace {
/// Packs output channels [o0, o0 + valid) of OIHW weights [o][cin][kh][kw]
/// as one block [kh][kw][cin][width], lanes past |valid| zero; returns the
/// end of the block.
float *pack_block(const Conv2d &s, const float *oihw, int cin, int o0,
                  int width, int valid, float *packed) {
  for (int ky = 0; ky < s.kh; ++ky)
    for (int kx = 0; kx < s.kw; ++kx)
      for (int j = 0; j < cin; ++j)
        for (int lane = 0; lane < width; ++lane)
          *packed++ =
              lane < valid
                  ? oihw[((size_t(o0 + lane) * cin + j) * s.kh + ky) * s.kw + kx]
                  : 0.f;
  return packed;
}
} // namespace

void conv2d_pack(const Conv2d &s, const float *oihw, float *packed) {
  const VectorShape v = kernels().shape;
  if (lane_shared(s, v.lanes)) {
    // [o/lanes][kh][kw][c/groups][lanes]: the output channels of a vector.
    const LaneLayout p = lane_layout(s, v.lanes);
    for (int b = 0; b < p.blocks; ++b)
      packed = pack_block(s, oihw, p.cin, b * v.lanes, v.lanes,
                          std::min(v.lanes, s.o - b * v.lanes), packed);
    return;
  }
  // [group][panel][kh][kw][c/groups][NR]: the panels of each group's GEMM.
  const GemmLayout p = gemm_layout(s, v);
  for (int g = 0; g < s.groups; ++g)
    for (int panel = 0; panel < p.panels; ++panel)
      packed = pack_block(s, oihw, p.kc, g * p.n + panel * p.nr, p.nr,
                          std::min(p.nr, p.n - panel * p.nr), packed);
}

void conv2d_winograd_pack(const Winograd &w, const float *oihw,
                          float *packed) {
  // [o][c][3][3] -> U = G g G^T per (o, c), in double, rounded once ->
  // [position][panel][c][NR], zero-padded to whole panels.
  const WinogradLayout p = winograd_layout(w, kernels().shape);
  const GemmLayout &gl = p.gemm;
  const int n = p.n;
  std::fill(packed, packed + p.packed_size, 0.f);
  for (int o = 0; o < w.conv.o; ++o)
    for (int c = 0; c < w.conv.c; ++c) {
      const float *g = oihw + (size_t(o) * w.conv.c + c) * 9;
      double gt[6][3]; // G g
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k) {
          gt[i][k] = 0;
          for (int j = 0; j < 3; ++j)
            gt[i][k] += (w.m == 2 ? winograd::kG2.a[i][j]
                                  : winograd::kG4.a[i][j]) *
                        g[j * 3 + k];
        }
      size_t at = size_t(o / gl.nr) * gl.panel_floats + size_t(c) * gl.nr +
                  o % gl.nr;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          double u = 0; // (G g G^T)[i][j]
          for (int k = 0; k < 3; ++k)
            u += gt[i][k] * (w.m == 2 ? winograd::kG2.a[j][k]
                                      : winograd::kG4.a[j][k]);
          packed[(i * n + j) * p.position_floats + at] = float(u);
        }
    }
}

void conv2d_scale_packed(const Conv2d &s, const float *packed,
                         const float *scale, float *scaled, ThreadPool &pool) {
  // Dense: packed as [panel][kh][kw][c][NR]; scale each run of NR by its
  // channel. Split among the threads by (panel, tap) when large enough: a
  // GhostNet layer's 150 000 weights are scaled every inference.
  const GemmLayout p = gemm_layout(s, kernels().shape);
  const int64_t blocks = int64_t(p.panels) * s.kh * s.kw; // of c runs each
  const int64_t floats = blocks * s.c * p.nr;
  const int64_t tasks =
      pool.size() == 1 || floats < (1 << 16) ? 1
                                             : std::min<int64_t>(
                                                   4 * pool.size(), blocks);
  pool.parallel_for(tasks, [&](int64_t task) {
    for (int64_t b = task * blocks / tasks; b < (task + 1) * blocks / tasks;
         ++b)
      for (int c = 0; c < s.c; ++c) {
        const float f = scale[c];
        const size_t at = (size_t(b) * s.c + c) * p.nr;
        // Four floats at a time (every set's NR is a multiple of 4) in
        // GCC's generic vectors: this unit is built for the baseline ISA,
        // where GCC left the loop over NR scalar.
        using Float4 = float __attribute__((vector_size(16)));
        for (int l = 0; l < p.nr; l += 4) {
          Float4 v;
          std::memcpy(&v, packed + at + l, sizeof v);
          v *= f;
          std::memcpy(scaled + at + l, &v, sizeof v);
        }
      }
  });
}

} // namespace kiln::cpu
