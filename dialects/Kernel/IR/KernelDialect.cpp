//===- KernelDialect.cpp - kernel dialect registration and attributes -----===//
//
// This file implements the kernel dialect object: registration of its ops
// and attributes, the queries and verifiers of #kernel.buffer and
// #kernel.schedule, and the verifier of the `kernel.precision` function
// attribute.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

using namespace kiln::kernel;

#include "dialects/Kernel/IR/KernelDialect.cpp.inc"
#include "dialects/Kernel/IR/KernelEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Kernel/IR/KernelAttrs.cpp.inc"

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kernel/IR/KernelOps.cpp.inc"
      >();
  registerAttributes();
}

void KernelDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Kernel/IR/KernelAttrs.cpp.inc"
      >();
}

LogicalResult KernelDialect::verifyOperationAttribute(Operation *op,
                                                      NamedAttribute attr) {
  if (attr.getName() == getPrecisionAttrName()) {
    if (!isa<PrecisionAttr>(attr.getValue()) || !isa<func::FuncOp>(op))
      return op->emitError() << "'" << getPrecisionAttrName()
                             << "' must be a #kernel.precision on a function";
    return success();
  }
  return op->emitError() << "unknown kernel attribute '" << attr.getName()
                         << "'";
}

//===----------------------------------------------------------------------===//
// BufferAttr
//===----------------------------------------------------------------------===//

LogicalResult BufferAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 MemorySpace space, int64_t byteOffset,
                                 int64_t offset, ElementKind element,
                                 ArrayRef<int64_t> shape,
                                 ArrayRef<int64_t> strides) {
  if (shape.size() != strides.size())
    return emitError() << "a buffer of rank " << shape.size() << " has "
                       << strides.size() << " strides";
  if (llvm::any_of(shape, [](int64_t d) { return d < 1; }))
    return emitError() << "a buffer's dimensions must be positive";
  if (llvm::any_of(strides, [](int64_t s) { return s < 0; }))
    return emitError() << "a buffer's strides must not be negative";
  if (byteOffset < 0 || offset < 0)
    return emitError() << "a buffer's offsets must not be negative";
  if (space != MemorySpace::arena && byteOffset != 0)
    return emitError() << "only arena buffers have a byte offset";
  return success();
}

int64_t BufferAttr::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : getShape())
    n *= d;
  return n;
}

bool BufferAttr::hasStrides(ArrayRef<int64_t> strides) const {
  ArrayRef<int64_t> shape = getShape(), own = getStrides();
  if (strides.size() != shape.size())
    return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1 && own[i] != strides[i])
      return false;
  return true;
}

bool BufferAttr::isRowMajor() const {
  ArrayRef<int64_t> shape = getShape();
  SmallVector<int64_t, 6> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * shape[i];
  return hasStrides(strides);
}

std::optional<int64_t> BufferAttr::getPixelStride() const {
  auto nhwc = getNhwcOutput();
  if (!nhwc || nhwc->second != 1)
    return std::nullopt;
  return nhwc->first;
}

std::optional<std::pair<int64_t, int64_t>> BufferAttr::getNhwcOutput() const {
  if (getRank() != 4)
    return std::nullopt;
  ArrayRef<int64_t> s = getStrides();
  int64_t c = getShape()[1], h = getShape()[2], w = getShape()[3];
  int64_t step = c > 1 ? s[1] : 1;
  int64_t p = w > 1 ? s[3] : h > 1 ? s[2] / w : c * step;
  if (step < 1 || p < c * step || !hasStrides({h * w * p, step, w * p, p}))
    return std::nullopt;
  return std::make_pair(p, step);
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int32_t bm, int32_t bn, int32_t bk,
                                   int32_t warpsM, int32_t warpsN,
                                   int32_t stages, int32_t splitK,
                                   int32_t warpgroups) {
  for (int32_t v : {bm, bn, bk, warpsM, warpsN, stages, splitK})
    if (v < 1)
      return emitError() << "a tile schedule's entries must be positive";
  if (warpgroups < 0)
    return emitError() << "a tile schedule's warpgroups must not be negative";
  if (warpgroups > 0 && (bm != 64 * warpgroups || warpsM != 4 * warpgroups || warpsN != 1))
    return emitError() << "an sm_90a schedule of " << warpgroups
                       << " warpgroups has bm = " << 64 * warpgroups << ", warps_m = "
                       << 4 * warpgroups << " and warps_n = 1";
  if (bm % warpsM || bn % warpsN)
    return emitError() << "a " << bm << "x" << bn << " tile does not split "
                       << "over " << warpsM << "x" << warpsN << " warps";
  return success();
}
