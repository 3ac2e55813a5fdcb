//===- Pipelines.cpp - the pass pipelines of kiln compile -----------------===//
//
// This file implements runPipeline: the order of the graph passes and of the
// CUDA target's choose-schedule and the CPU target's choose-winograd, with
// why each runs where it does.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "compiler/Graph/Transforms/Passes.h"
#include "compiler/Target/Cpu/Transforms/Passes.h"
#include "compiler/Target/Cuda/Transforms/Passes.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace kiln;

LogicalResult kiln::runPipeline(ModuleOp module, Phase last,
                                const PipelineOptions &options) {
  if (last == Phase::Imported)
    return success();
  PassManager pm(module.getContext());
  OpPassManager &func = pm.nest<func::FuncOp>();
  // Sizes first: the passes and the code generators assume tensors the
  // kernels can index.
  func.addPass(createCheckLimitsPass());
  // On the graph as imported, where every op is one the user wrote: whether
  // the kernels may take the batch at run time (kept through the fusions,
  // which replace per-sample ops by per-sample ops).
  if (options.runtimeBatch)
    func.addPass(createMarkBatchPass());
  if (options.fuse) {
    // Batch norms first: afterwards a conv's user is its activation or add.
    func.addPass(createFoldBatchNormPass());
    // SE before epilogues: it matches the activations as separate ops and
    // hands the multiply to the next convolution as its input scale.
    func.addPass(createFuseSqueezeExcitePass());
    // Residual adds and activations into the (folded) layers.
    func.addPass(createFuseEpiloguesPass());
    // With the producers final, decide which concats they write into.
    func.addPass(createEliminateConcatPass());
  }
  if (last >= Phase::Planned) {
    // Layouts may add conversions; the memory plan needs every op final.
    func.addPass(createChooseLayoutPass());
    // CPU convolution chains extend their input's life: before the plan,
    // after any conversion that could come between their layers.
    if (options.convChains)
      func.addPass(createFuseConvChainsPass());
    func.addPass(createPlanMemoryPass());
    // Tiles depend on the planned pixel strides of channel slices.
    if (!options.cudaPrecision.empty())
      func.addPass(createChooseSchedulePass(
          {options.cudaPrecision, options.smCount, options.sm90a, options.generic}));
    // Winograd tiles for the CPU's 3x3 layers: the epilogues are final.
    if (!options.winograd.empty())
      func.addPass(createChooseWinogradPass({options.winograd}));
  }
  return pm.run(module);
}

LogicalResult kiln::checkLimits(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.nest<func::FuncOp>().addPass(createCheckLimitsPass());
  return pm.run(module);
}

OwningOpRef<ModuleOp> kiln::lowerForTarget(ModuleOp planned, KernelTarget target) {
  OwningOpRef<ModuleOp> kernels = planned.clone();
  PassManager pm(planned.getContext());
  // The CUDA target in fp16 and bf16 stores 16-bit activations: plan its
  // arena again with 2-byte elements (the CPU keeps the fp32 plan).
  if (target == KernelTarget::Cuda)
    if (func::FuncOp func = findModelFunc(*kernels))
      if (auto p = func->getAttrOfType<StringAttr>(KilnDialect::getPrecisionAttrName());
          p && (p.getValue() == "fp16" || p.getValue() == "bf16"))
        pm.addNestedPass<func::FuncOp>(createPlanMemoryPass({/*activationBytes=*/2}));
  pm.addPass(createLowerToKernelsPass(
      {target == KernelTarget::Cuda ? "cuda" : "cpu"}));
  if (target == KernelTarget::Cpu)
    pm.addNestedPass<func::FuncOp>(createFuseShuffleCopiesPass());
  if (failed(pm.run(*kernels)))
    return nullptr;
  return kernels;
}
