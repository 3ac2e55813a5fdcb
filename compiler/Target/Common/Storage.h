//===- Storage.h - how generated code addresses a buffer --------*- C++ -*-===//
//
// Declares what the CPU and CUDA code generators share about printing
// memory: a Storage is a #kernel.buffer (or a prepared-weight vector) as
// generated code names it, a pointer expression, an element offset and a
// stride per logical (PyTorch) dimension; and the designated initializers
// of the kernels' shape descriptors.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_COMMON_STORAGE_H
#define KILN_COMPILER_TARGET_COMMON_STORAGE_H

#include "dialects/Kernel/IR/KernelDialect.h"

#include "llvm/ADT/SmallVector.h"

#include <string>

namespace kiln {

/// The element type of a buffer in generated code: fp32, or the target's
/// activation type (`T` in CUDA code: the precision's; fp32 on the CPU).
enum class ElementType { F32, Activation };

/// The C++ name of |type| in generated code ("float" or "T").
const char *typeName(ElementType type);

/// Where a value lives: a base pointer expression of element type |type|,
/// an offset and a stride per logical dimension, both in elements.
struct Storage {
  std::string base;
  ElementType type = ElementType::F32;
  int64_t offset = 0;
  Dims shape, strides;
};

/// The name of |a| in the kernels' Activation enums ("Relu", ...).
const char *activationName(Activation a);

//===----------------------------------------------------------------------===//
// Kernel descriptors
//===----------------------------------------------------------------------===//
// The CPU and CUDA kernels describe layers with the same structs
// (kiln/kernel_types.h); these print their designated initializers
// ("{.n = 1, .h = 56, ...}").

/// Conv2d of |op| for a batch of |n| (the input buffer's, or 1 for a
/// kernel applied per image).
std::string conv2dInit(kernel::Conv2dOp op, int64_t n);

/// The fields of a Conv2d (kiln/kernel_types.h) conv2dText prints.
struct Conv2dFields {
  int64_t n, h, w, c, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, ho, wo;
  int64_t inStride, outStride, outStep = 1;
};
std::string conv2dText(const Conv2dFields &f);

/// Pool2d of |op|.
std::string pool2dInit(kernel::Pool2dOp op);

/// AdaptivePool2d from the NCHW shape |x| to oh x ow, written densely.
std::string adaptivePool2dInit(llvm::ArrayRef<int64_t> x, int64_t inStride,
                               int64_t oh, int64_t ow);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_COMMON_STORAGE_H
