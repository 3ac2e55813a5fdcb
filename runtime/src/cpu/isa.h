//===- isa.h - the kernel families of one kernel set ------------*- C++ -*-===//
//
// Declares the convolution drivers that gemm.cpp and grouped.cpp define for
// the kernel set being compiled (namespace KILN_CPU_ISA).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_ISA_H
#define KILN_RUNTIME_CPU_ISA_H

#include "simd.h"

namespace kiln::cpu::KILN_CPU_ISA {

/// The implicit-GEMM convolution (gemm.h); |pass| is Epilogue::pass_stride's
/// tensor, or null.
void conv_gemm(const Conv2d &S, const Epilogue &E, const float *in,
               const float *packed, const float *bias, const float *residual,
               const float *pass, float *out, ThreadPool &pool);
/// The lane-shared convolution (grouped.h).
void conv_lanes(const Conv2d &S, const Epilogue &E, const float *in,
                const float *packed, const float *bias, const float *residual,
                float *out, ThreadPool &pool);

/// A 1x1 / depthwise / 1x1 chain as one kernel (chain.cpp).
void conv_chain(const ConvChain &C, const Epilogue *E, const float *in,
                const float *const *packed, const float *const *bias,
                const float *residual, float *out, ThreadPool &pool);
/// Winograd F(m x m, 3 x 3) (winograd.cpp).
void conv_winograd(const Winograd &W, const Epilogue &E, const float *in,
                   const float *packed, const float *bias,
                   const float *residual, float *out, ThreadPool &pool);

} // namespace kiln::cpu::KILN_CPU_ISA

#endif // KILN_RUNTIME_CPU_ISA_H
