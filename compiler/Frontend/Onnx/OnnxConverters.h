//===- OnnxConverters.h - the converters of ONNX ops -----------*- C++ -*-===//
//
// Declares, for the files of this folder only, the converter of each ONNX
// op family (OnnxLayers.cpp: convolution, normalization, linear layers and
// pooling; OnnxElementwise.cpp; OnnxShapes.cpp: shape and data movement)
// and the helpers they share (OnnxOps.cpp, which also holds the table from
// op type to converter).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_ONNX_ONNXCONVERTERS_H
#define KILN_COMPILER_FRONTEND_ONNX_ONNXCONVERTERS_H

#include "compiler/Frontend/Onnx/OnnxImporter.h"

namespace kiln::onnx {

//===----------------------------------------------------------------------===//
// Helpers (OnnxOps.cpp)
//===----------------------------------------------------------------------===//

/// Prints |values| as "[a, b, c]".
std::string str(llvm::ArrayRef<int64_t> values);
/// Prints |v| as "%g" does ("1.5", "-1", "inf").
std::string num(double v);
/// The shortest decimal that rounds to |f| in float32, as a double: ONNX
/// stores PyTorch's eps = 1e-5 as the float nearest it, and the double 1e-5
/// is what PyTorch (and a model spec) computes with.
double shortestDecimal(float f);
/// Sets the node's single output to the result of |op| (null: failed);
/// with |isLayer|, |op| stands for the module call.
mlir::LogicalResult produce(NodeContext &c, mlir::Operation *op,
                            bool isLayer = true);
/// A constant's data as floats (integers converted).
std::vector<float> floatsOf(const Constant &k);
/// A constant's data as integers, or an error naming |what|.
mlir::FailureOr<std::vector<int64_t>> intsOf(NodeContext &c, const Constant &k,
                                             llvm::StringRef what);
/// Input |index| (a constant integer tensor named |what|) where the node
/// has it, else |fallback| (the attribute older opsets used).
mlir::FailureOr<std::vector<int64_t>>
intsInputOr(NodeContext &c, int index, llvm::StringRef what,
            std::vector<int64_t> fallback);
/// Resolves an ONNX axis (negative counts from the end) of a rank-|rank|
/// tensor, or reports it.
mlir::FailureOr<int64_t> resolveAxis(NodeContext &c, int64_t axis,
                                     int64_t rank,
                                     llvm::StringRef what = "axis");
/// The shape |target| of ONNX Reshape resolved against the input's shape
/// |in| of |numel| elements: 0 copies the input's dimension (unless
/// |allowZero|), one -1 is inferred; an error if the element count differs
/// or the product overflows.
mlir::FailureOr<std::vector<int64_t>>
resolveReshape(NodeContext &c, llvm::ArrayRef<int64_t> in,
               llvm::ArrayRef<int64_t> target, bool allowZero, int64_t numel);
/// Checks that the values of attribute or input |what| lie in [lo, hi].
mlir::LogicalResult checkRange(NodeContext &c, llvm::ArrayRef<int64_t> values,
                               int64_t lo, int64_t hi, llvm::StringRef what);
/// The largest window, stride, dilation or pad kiln accepts: 2^31 - 1.
constexpr int64_t kMaxWindow = (int64_t(1) << 31) - 1;

/// How many nodes of the graph read the value |name| (plus 1 if it is the
/// graph's output).
int consumers(NodeContext &c, const std::string &name);

//===----------------------------------------------------------------------===//
// Converters
//===----------------------------------------------------------------------===//

mlir::LogicalResult convertConv(NodeContext &c);
mlir::LogicalResult convertBatchNorm(NodeContext &c);
mlir::LogicalResult convertGemm(NodeContext &c);
mlir::LogicalResult convertMatMul(NodeContext &c);
mlir::LogicalResult convertPool(NodeContext &c);
mlir::LogicalResult convertGlobalPool(NodeContext &c);
mlir::LogicalResult convertReduceMean(NodeContext &c);
mlir::LogicalResult convertSoftmax(NodeContext &c);
mlir::LogicalResult convertResize(NodeContext &c);

mlir::LogicalResult convertAdd(NodeContext &c);
mlir::LogicalResult convertMul(NodeContext &c);
mlir::LogicalResult convertSubDiv(NodeContext &c);
mlir::LogicalResult convertScalarParam(NodeContext &c);
mlir::LogicalResult convertHardSigmoid(NodeContext &c);
mlir::LogicalResult convertClip(NodeContext &c);
mlir::LogicalResult convertDropout(NodeContext &c);
mlir::LogicalResult convertPad(NodeContext &c);
mlir::LogicalResult convertIdentity(NodeContext &c);

mlir::LogicalResult convertConcat(NodeContext &c);
mlir::LogicalResult convertSplit(NodeContext &c);
mlir::LogicalResult convertSlice(NodeContext &c);
mlir::LogicalResult convertReshape(NodeContext &c);
mlir::LogicalResult convertFlatten(NodeContext &c);
mlir::LogicalResult convertTranspose(NodeContext &c);
mlir::LogicalResult convertSqueeze(NodeContext &c);
mlir::LogicalResult convertShape(NodeContext &c);

/// A unary op without attributes (Relu, Sigmoid, HardSwish, Tanh).
template <typename OpT>
mlir::LogicalResult convertUnary(NodeContext &c) {
  if (mlir::failed(c.expectAttributes({})))
    return mlir::failure();
  auto x = c.activation(0, "X");
  if (mlir::failed(x))
    return mlir::failure();
  return produce(c, c.create<OpT>({*x}));
}


} // namespace kiln::onnx

#endif // KILN_COMPILER_FRONTEND_ONNX_ONNXCONVERTERS_H
