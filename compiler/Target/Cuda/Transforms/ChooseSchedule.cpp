//===- ChooseSchedule.cpp - GPU tiles for every GEMM layer ----------------===//
//
// This file implements --kiln-choose-schedule (see Passes.td). The rules and
// the cost model are the CUDA kernels' own (runtime/include/kiln/cuda/
// schedule.h, which needs no CUDA header), so the compiler and the kernels
// cannot disagree about which tiles are valid.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cuda/Transforms/Passes.h"

#include "compiler/Graph/Analysis/GraphQueries.h"

#include "kiln/cuda/schedule.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_CHOOSESCHEDULEPASS
#include "compiler/Target/Cuda/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

std::optional<cuda::Precision> parsePrecision(StringRef name) {
  return llvm::StringSwitch<std::optional<cuda::Precision>>(name)
      .Case("fp32", cuda::Precision::F32)
      .Case("tf32", cuda::Precision::TF32)
      .Case("fp16", cuda::Precision::F16)
      .Case("bf16", cuda::Precision::BF16)
      .Default(std::nullopt);
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// The kernel's description of |op| as planned.
cuda::Conv2d describe(Conv2dOp op) {
  ArrayRef<int64_t> x = shapeOf(op.getInput()), y = shapeOf(op.getResult()),
                    w = shapeOf(op.getWeight());
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  return {int(x[0]), int(x[2]), int(x[3]), int(x[1]),  int(y[1]),
          int(w[2]), int(w[3]), int(s[0]), int(s[1]),  int(p[0]),
          int(p[1]), int(d[0]), int(d[1]), int(op.getGroups()),
          int(y[2]), int(y[3]), int(pixelStride(op.getInput())),
          int(pixelStride(op.getResult())), int(channelStep(op.getResult()))};
}

cuda::Linear describe(LinearOp op) {
  ArrayRef<int64_t> w = shapeOf(op.getWeight());
  int64_t n = w[0], k = w[1], m = 1;
  for (int64_t d : shapeOf(op.getResult()))
    m *= d;
  return {int(m / n), int(k), int(n)};
}

struct ChooseSchedulePass
    : public kiln::impl::ChooseSchedulePassBase<ChooseSchedulePass> {
  using ChooseSchedulePassBase::ChooseSchedulePassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto p = parsePrecision(precision);
    if (!p) {
      func.emitError() << "--kiln-choose-schedule: unknown precision '"
                       << precision << "' (fp32, tf32, fp16 or bf16)";
      return signalPassFailure();
    }
    if (smCount < 1) {
      func.emitError() << "--kiln-choose-schedule: sm-count must be positive";
      return signalPassFailure();
    }
    if (!generic && !sm90a) {
      func.emitError() << "--kiln-choose-schedule: no variant to schedule for "
                          "(generic=false needs sm90a=true)";
      return signalPassFailure();
    }
    Builder b(func.getContext());
    func->setAttr(KilnDialect::getPrecisionAttrName(), b.getStringAttr(precision));
    auto walk = func.walk([&](Operation *op) -> WalkResult {
      cuda::Conv2d shape;
      auto conv = dyn_cast<Conv2dOp>(op);
      if (conv) {
        shape = describe(conv);
        // The layer the kernel runs: lowering pads a dense convolution's
        // pixels of fewer than 16 bytes (an RGB stem) with zero channels to
        // 16 bytes (GraphToKernel.cpp, padsInput).
        int es = cuda::element_bytes(*p);
        if (shape.groups == 1 && !conv.getScale() && shape.c * es < 16)
          shape.c = shape.in_stride = 16 / es;
      }
      else if (auto linear = dyn_cast<LinearOp>(op))
        shape = cuda::linear_as_conv(describe(linear));
      else
        return WalkResult::advance();
      if (!cuda::conv_uses_gemm(shape)) {
        op->removeAttr(KilnDialect::getScheduleAttrName());
        op->removeAttr(KilnDialect::getScheduleSm90aAttrName());
        return WalkResult::advance();
      }
      // The sm_90a kernel reads its input with the tensor memory
      // accelerator: no SE scale on the way.
      bool scaled = conv && conv.getScale();
      bool wgmmaRuns = cuda::wgmma_shape_ok(shape, *p) && !scaled;
      auto set = [&](StringRef name, const cuda::Schedule &s) {
        SmallVector<int32_t, 8> tile = {s.bm,      s.bn,     s.bk,     s.warps_m,
                                        s.warps_n, s.stages, s.split_k};
        if (s.warpgroups > 0)
          tile.push_back(s.warpgroups);
        op->setAttr(name, b.getDenseI32ArrayAttr(tile));
      };
      auto check = [&](ArrayRef<int32_t> t, const cuda::Schedule &s) {
        if (cuda::schedule_ok(shape, *p, s))
          return true;
        op->emitError() << "the schedule [" << t << "] is not valid for this layer in "
                        << precision << " (see schedule_ok in kiln/cuda/schedule.h)";
        return false;
      };

      // The sm_90a variant's schedule, where the layer has that kernel.
      bool hasSm90a = false;
      if (auto given = op->getAttrOfType<DenseI32ArrayAttr>(
              KilnDialect::getScheduleSm90aAttrName())) {
        ArrayRef<int32_t> t = given.asArrayRef();
        if (!sm90a) {
          op->emitError() << "'" << KilnDialect::getScheduleSm90aAttrName()
                          << "' where the executable has no sm_90a variant (sm90a=false)";
          return WalkResult::interrupt();
        }
        if (scaled) {
          op->emitError() << "the sm_90a kernel has no input scale (SE gate): this layer "
                             "has no '"
                          << KilnDialect::getScheduleSm90aAttrName() << "'";
          return WalkResult::interrupt();
        }
        if (!check(t, {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]}))
          return WalkResult::interrupt();
        hasSm90a = true;
      } else if (sm90a && wgmmaRuns) {
        cuda::Schedule s = cuda::wgmma_default_schedule(shape, *p, smCount);
        if (s.bm != 0) {
          set(KilnDialect::getScheduleSm90aAttrName(), s);
          hasSm90a = true;
        }
      }

      // The mma.sync (FMA) kernel's schedule: for the variant of the other
      // GPUs, and for the sm_90a variant where the layer has no wgmma one.
      if (!generic && hasSm90a) {
        op->removeAttr(KilnDialect::getScheduleAttrName());
        return WalkResult::advance();
      }
      if (auto given = op->getAttrOfType<DenseI32ArrayAttr>(
              KilnDialect::getScheduleAttrName())) {
        ArrayRef<int32_t> t = given.asArrayRef();
        if (!check(t, {t[0], t[1], t[2], t[3], t[4], t[5], t[6], 0}))
          return WalkResult::interrupt();
        return WalkResult::advance();
      }
      set(KilnDialect::getScheduleAttrName(),
          cuda::default_schedule(shape, *p, smCount, /*sm90a=*/false));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
