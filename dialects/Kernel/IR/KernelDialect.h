//===- KernelDialect.h - kiln kernel dialect -------------------*- C++ -*-===//
//
// Declares the kernel dialect, its attributes and its ops. Include this one
// header to use the dialect.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H
#define KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"

#include <optional>
#include <utility>

#include "dialects/Kernel/IR/KernelDialect.h.inc"
#include "dialects/Kernel/IR/KernelEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Kernel/IR/KernelAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Kernel/IR/KernelOps.h.inc"

#endif // KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H
