//===- Storage.cpp - how generated code addresses a buffer ----------------===//
//
// This file implements the printing helpers of Storage.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Common/Storage.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace kiln;

const char *kiln::typeName(ElementType type) {
  return type == ElementType::F32 ? "float" : "T";
}

const char *kiln::activationName(Activation a) {
  switch (a) {
  case Activation::none:
    return "None";
  case Activation::relu:
    return "Relu";
  case Activation::relu6:
    return "Relu6";
  case Activation::sigmoid:
    return "Sigmoid";
  case Activation::hard_sigmoid:
    return "HardSigmoid";
  case Activation::hard_swish:
    return "HardSwish";
  case Activation::silu:
    return "Silu";
  }
  return "None";
}

std::string kiln::conv2dInit(kernel::Conv2dOp op, int64_t n) {
  ArrayRef<int64_t> x = op.getInput().getShape(), y = op.getOutput().getShape();
  Dims wt = shapeOf(op.getWeight());
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  auto [outStride, outStep] = *op.getOutput().getNhwcOutput();
  return conv2dText({n, x[2], x[3], x[1], y[1], wt[2], wt[3], s[0], s[1], p[0],
                     p[1], d[0], d[1], int64_t(op.getGroups()), y[2], y[3],
                     *op.getInput().getPixelStride(), outStride, outStep});
}

std::string kiln::conv2dText(const Conv2dFields &f) {
  return llvm::formatv(
             "{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .o = {4}, .kh = {5}, "
             ".kw = {6}, .sh = {7}, .sw = {8}, .ph = {9}, .pw = {10}, "
             ".dh = {11}, .dw = {12}, .groups = {13}, .ho = {14}, .wo = {15}, "
             ".in_stride = {16}, .out_stride = {17}{18}}",
             f.n, f.h, f.w, f.c, f.o, f.kh, f.kw, f.sh, f.sw, f.ph, f.pw, f.dh,
             f.dw, f.groups, f.ho, f.wo, f.inStride, f.outStride,
             f.outStep == 1 ? "" : ", .out_step = " + std::to_string(f.outStep))
      .str();
}

std::string kiln::pool2dInit(kernel::Pool2dOp op) {
  auto k = op.getKernel(), s = op.getStride(), p = op.getPadding(),
       d = op.getDilation();
  ArrayRef<int64_t> x = op.getInput().getShape(), y = op.getOutput().getShape();
  return llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .kh = {4}, "
                       ".kw = {5}, .sh = {6}, .sw = {7}, .ph = {8}, .pw = {9}, "
                       ".dh = {10}, .dw = {11}, .ho = {12}, .wo = {13}, "
                       ".exclude_pad = {14}, .in_stride = {15}, .out_stride = {16}}",
                       x[0], x[2], x[3], x[1], k[0], k[1], s[0], s[1], p[0], p[1],
                       d[0], d[1], y[2], y[3], op.getExcludePad() ? "true" : "false",
                       *op.getInput().getPixelStride(),
                       *op.getOutput().getPixelStride())
      .str();
}

std::string kiln::adaptivePool2dInit(ArrayRef<int64_t> x, int64_t inStride,
                                     int64_t oh, int64_t ow) {
  return llvm::formatv("{{.n = {0}, .h = {1}, .w = {2}, .c = {3}, .ho = {4}, "
                       ".wo = {5}, .in_stride = {6}, .out_stride = {7}}",
                       x[0], x[2], x[3], x[1], oh, ow, inStride, x[1])
      .str();
}
