//===- cpu_features.h - what this CPU runs ---------------------*- C++ -*-===//
//
// The run-time checks behind the choice of a CPU kernel set
// (kiln/cpu/kernels.h), apart so that C++17 code (kiln itself, for
// `--cpu native`) can use them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_CPU_FEATURES_H
#define KILN_RUNTIME_CPU_CPU_FEATURES_H

#include <string>

namespace kiln::cpu {

/// Whether this CPU (and its OS) runs the instructions of the kernel set
/// named |name| ("avx512": x86-64-v4, "avx2": x86-64-v3, "portable", "neon").
bool cpu_supports_set(const char *name);

/// This CPU's model name ("AMD EPYC 7763 64-Core Processor"), or "".
std::string cpu_model_name();

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_CPU_FEATURES_H
