//===- ChooseWinograd.cpp - Winograd tiles for the CPU's 3x3 layers -------===//
//
// This file implements --kiln-choose-winograd (see Passes.td). The geometry
// (tiles, padded weight panels) is the CPU kernels' own (kiln/cpu/layout.h);
// the cost model's constants are measured (bench/kernels.cpp --winograd),
// and docs/cpu-kernels.md gives the numbers and why the choice ignores
// rounding error.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/Transforms/Passes.h"

#include "kiln/cpu/layout.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace kiln {
#define GEN_PASS_DEF_CHOOSEWINOGRADPASS
#include "compiler/Target/Cpu/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Multiply-adds the cores run in the time one byte of weights streams from
/// memory (both threads of a 2-core share of a server: ~2 x 90 G multiply-
/// adds/s against ~22 GB/s). Direct layers hide their weight traffic behind
/// their arithmetic; Winograd's larger weights can make a layer memory-bound
/// (ResNet-50's 7x7x512 layers at batch 1).
constexpr double kMacsPerWeightByte = 8;

/// Vector operations per tile and channel of the input and output transforms
/// (counted in winograd.cpp's folded matrices), F(2x2) and F(4x4).
constexpr double kInputOps[2] = {32, 156};
constexpr double kOutputOps[2] = {24, 100};

/// A Winograd tile must beat the direct convolution by this factor.
constexpr double kMinGain = 1.15;

/// The cost of a 3x3 layer three ways, in multiply-add time units.
struct Costs {
  double direct, f2, f4;
};

Costs costOf(const cpu::Conv2d &s) {
  auto roundUp = [](double x, double to) { return std::ceil(x / to) * to; };
  // Weights are packed in panels of up to 64 output channels.
  double c = s.c, k = roundUp(s.o, 16);
  double pixels = double(s.n) * s.ho * s.wo;
  auto time = [](double macs, double weightBytes) {
    return std::max(macs, kMacsPerWeightByte * weightBytes);
  };
  Costs cost;
  cost.direct = time(pixels * 9 * c * k, 9 * c * k * 4);
  for (int m : {2, 4}) {
    cpu::WinogradLayout l = cpu::winograd_layout({s, m}, cpu::kAvx512Shape);
    double tiles = l.tiles, positions = l.positions;
    double macs = tiles * positions * c * k +
                  tiles * (kInputOps[m / 4] * c + kOutputOps[m / 4] * k);
    (m == 2 ? cost.f2 : cost.f4) = time(macs, positions * c * k * 4);
  }
  return cost;
}

/// The kernels' description of a conv (n, h, w, c, o and the window; strides
/// do not matter here).
std::optional<cpu::Conv2d> describe(Conv2dOp op) {
  auto x = cast<RankedTensorType>(op.getInput().getType()).getShape();
  auto y = cast<RankedTensorType>(op.getResult().getType()).getShape();
  auto w = cast<RankedTensorType>(op.getWeight().getType()).getShape();
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  if (x.size() != 4 || w.size() != 4 || op.getScale())
    return std::nullopt;
  cpu::Conv2d c{int(x[0]), int(x[2]), int(x[3]), int(x[1]), int(y[1]),
                int(w[2]), int(w[3]), int(s[0]), int(s[1]), int(p[0]),
                int(p[1]), int(d[0]), int(d[1]), int(op.getGroups()),
                int(y[2]), int(y[3]), int(x[1]), int(y[1])};
  if (!cpu::winograd_ok(c, 2))
    return std::nullopt;
  return c;
}

/// The samples a CPU thread runs per pass of |func| (kiln/cpu/layout.h's
/// cpu_pass_samples), one sample measured by the largest layer's input and
/// output: a batch of ResNet-50 runs a sample a pass, so its 7x7x512
/// layers read their weights for one sample's tiles whatever the batch.
int passSamples(func::FuncOp func) {
  int64_t batch = 1, largest = 0;
  func.walk([&](Conv2dOp op) {
    auto in = cast<RankedTensorType>(op.getInput().getType());
    auto out = cast<RankedTensorType>(op.getResult().getType());
    if (!in.hasStaticShape() || !out.hasStaticShape() || out.getDimSize(0) < 1)
      return;
    int64_t n = out.getDimSize(0);
    batch = std::max(batch, n);
    int64_t floats = (in.getNumElements() + out.getNumElements()) / n;
    largest = std::max<int64_t>(largest, floats * sizeof(float));
  });
  return cpu::cpu_pass_samples(double(largest), int(batch));
}

struct ChooseWinogradPass
    : public kiln::impl::ChooseWinogradPassBase<ChooseWinogradPass> {
  using ChooseWinogradPassBase::ChooseWinogradPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    int forced = tile == "2" ? 2 : tile == "4" ? 4 : 0;
    if (tile != "auto" && tile != "none" && !forced) {
      func.emitError() << "--kiln-choose-winograd: unknown tile '" << tile
                       << "' (auto, 2, 4 or none)";
      return signalPassFailure();
    }
    Builder b(func.getContext());
    StringRef attr = KilnDialect::getWinogradAttrName();
    const int samples = passSamples(func);
    func.walk([&](Conv2dOp op) {
      op->removeAttr(attr);
      std::optional<cpu::Conv2d> shape = describe(op);
      if (!shape || tile == "none")
        return;
      int m = forced;
      if (!m) {
        // The layer runs on the samples of one pass, not the whole batch.
        cpu::Conv2d pass = *shape;
        pass.n = std::min(pass.n, samples);
        Costs c = costOf(pass);
        double best = std::min(c.f2, c.f4);
        if (best * kMinGain > c.direct)
          return;
        m = c.f4 < c.f2 ? 4 : 2;
      }
      op->setAttr(attr, b.getI64IntegerAttr(m));
    });
  }
};

} // namespace
