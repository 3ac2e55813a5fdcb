//===- kernels_isa.cpp - one instruction set's kernel table ---------------===//
//
// Compiled once per kernel set (runtime/CMakeLists.txt) with gemm.cpp and
// grouped.cpp (apart, so that they compile in parallel), each time with the
// -march of its ISA and -DKILN_CPU_ISA=<namespace> -DKILN_CPU_TABLE=<table>
// -DKILN_CPU_NAME=<name> -DKILN_CPU_DESCRIPTION=<text>; defines the
// KernelTable kernels.h declares for it.
//
//===----------------------------------------------------------------------===//

#include "copy.h"
#include "isa.h"
#include "pool.h"

namespace kiln::cpu::KILN_CPU_ISA {
namespace {

void conv2d(const Conv2d &s, const Epilogue &e, const float *in,
            const float *packed, const float *bias, const float *residual,
            const float *pass, float *out, ThreadPool &pool) {
  // A pass-through is only for dense layers (conv2d_shuffled), which
  // lane_shared never takes.
  if (lane_shared(s, kLanes))
    conv_lanes(s, e, in, packed, bias, residual, out, pool);
  else
    conv_gemm(s, e, in, packed, bias, residual, pass, out, pool);
}

} // namespace
} // namespace kiln::cpu::KILN_CPU_ISA

namespace kiln::cpu {

extern const KernelTable KILN_CPU_TABLE = {
    KILN_CPU_NAME,
    KILN_CPU_DESCRIPTION,
    KILN_CPU_ISA::kShape,
    &KILN_CPU_ISA::conv2d,
    &KILN_CPU_ISA::max_pool2d,
    &KILN_CPU_ISA::avg_pool2d,
    &KILN_CPU_ISA::adaptive_avg_pool2d,
    &KILN_CPU_ISA::conv_winograd,
    &KILN_CPU_ISA::conv_chain,
    &KILN_CPU_ISA::copy2d,
};

} // namespace kiln::cpu
