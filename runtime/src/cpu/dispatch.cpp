//===- dispatch.cpp - choosing a kernel set, and packing for it -----------===//
//
// Compiled for the baseline of the architecture, like the rest of the
// runtime: nothing here may run an instruction some CPU lacks. It decides
// which kernel set a process uses (from CPUID on x86-64, through GCC's
// __builtin_cpu_supports, which also checks that the OS saves the vector
// registers) and packs weights into that set's layout (layout.h) with
// scalar code.
//
//===----------------------------------------------------------------------===//

#include "kiln/cpu/kernels.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace kiln::cpu {

namespace {
const KernelTable *active = nullptr;
} // namespace

bool cpu_supports(const KernelTable &t) { return cpu_supports_set(t.name); }

bool cpu_supports_set(const char *set) {
  std::string name = set;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (name == "portable")
    return true;
  // x86-64-v3: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE (the compiler
  // may use any of them under -march=x86-64-v3).
  bool v3 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
            __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("lzcnt") && __builtin_cpu_supports("movbe");
  if (name == "avx2")
    return v3;
  // x86-64-v4 adds AVX512F, BW, CD, DQ and VL.
  if (name == "avx512")
    return v3 && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
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

void conv2d_pack(const Conv2d &s, const float *oihw, float *packed) {
  const VectorShape v = kernels().shape;
  if (lane_shared(s, v.lanes)) {
    // OIHW [o][c/groups][kh][kw] -> [o/lanes][kh][kw][c/groups][lanes].
    const LaneLayout p = lane_layout(s, v.lanes);
    for (int b = 0; b < p.blocks; ++b)
      for (int ky = 0; ky < s.kh; ++ky)
        for (int kx = 0; kx < s.kw; ++kx)
          for (int j = 0; j < p.cin; ++j)
            for (int l = 0; l < v.lanes; ++l) {
              int oc = b * v.lanes + l;
              *packed++ =
                  oc < s.o
                      ? oihw[((size_t(oc) * p.cin + j) * s.kh + ky) * s.kw + kx]
                      : 0.f;
            }
    return;
  }
  // OIHW [o][c/groups][kh][kw] -> [group][panel][kh][kw][c/groups][NR].
  const GemmLayout p = gemm_layout(s, v);
  for (int g = 0; g < s.groups; ++g)
    for (int panel = 0; panel < p.panels; ++panel)
      for (int ky = 0; ky < s.kh; ++ky)
        for (int kx = 0; kx < s.kw; ++kx)
          for (int ci = 0; ci < p.kc; ++ci)
            for (int lane = 0; lane < p.nr; ++lane) {
              int oc = panel * p.nr + lane;
              size_t o = size_t(g) * p.n + oc; // in the whole layer
              *packed++ = oc < p.n
                              ? oihw[((o * p.kc + ci) * s.kh + ky) * s.kw + kx]
                              : 0.f;
            }
}

void conv2d_scale_packed(const Conv2d &s, const float *packed,
                         const float *scale, float *scaled) {
  // Dense: packed as [panel][kh][kw][c][NR]; scale each run of NR by its
  // channel.
  const GemmLayout p = gemm_layout(s, kernels().shape);
  size_t runs = size_t(p.panels) * s.kh * s.kw * s.c;
  for (size_t run = 0; run < runs; ++run) {
    float f = scale[run % s.c];
    for (int lane = 0; lane < p.nr; ++lane)
      scaled[run * p.nr + lane] = packed[run * p.nr + lane] * f;
  }
}

} // namespace kiln::cpu
