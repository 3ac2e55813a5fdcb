//===- Passes.td - kiln CUDA target passes -----------------*- tablegen -*-===//
//
// The passes of the CUDA target: decisions on planned graph IR that follow
// the CUDA kernels' own rules (runtime/include/kiln/cuda/schedule.h), which
// the graph passes do not know. Each pass is one file of the same name and
// has a lit test test/Target/Cuda/Transforms/<flag>.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_CUDA_TRANSFORMS_PASSES_TD
#define KILN_TARGET_CUDA_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ChooseSchedulePass : Pass<"kiln-choose-schedule", "mlir::func::FuncOp"> {
  let summary = "Chooses the GPU tile schedule of every convolution and linear layer.";
  let description = [{
    Runs after `--kiln-plan-memory` (a layer's pixel strides follow from
    where the plan put its operands). Each `kiln.conv2d` and `kiln.linear`
    that the CUDA target runs as an implicit GEMM on tensor cores (dense
    convolutions, grouped ones with at least 16 channels per group, linear
    layers) gets `kiln.schedule = array<i32: bm, bn, bk, warps_m, warps_n,
    stages, split_k>`: the tile of `default_schedule` in
    runtime/include/kiln/cuda/schedule.h, the cheapest under its cost model
    for the precision and SM count, with split-K for layers that have too
    few tiles to fill the GPU at small batch. Depthwise and narrow grouped
    convolutions run as direct kernels and get none. The function gets
    `kiln.precision`. A schedule already present is checked against the
    kernel's rules (`schedule_ok`) and kept, so schedules can be tuned by
    hand in the IR.

    An executable holds one or two variants of the forward pass (the
    runtime launches the one the device runs, kiln/cuda/arch.h): with
    `sm90a` (it holds sm_90a code: `kiln compile` by default, or with
    sm_90a in `--cuda-arch`), layers the sm_90a kernel can run (tensor-core
    precisions, one group, 16-byte aligned input pixels, no SE input
    scale) also get `kiln.schedule_sm90a`, that kernel's schedule: the
    same entries and an 8th, warpgroups, the consumer warpgroups of the
    warp-specialised TMA/wgmma kernel (`wgmma_default_schedule`). The
    sm_90a variant runs them with it and every other layer with
    `kiln.schedule`; the variant of every other GPU runs every layer with
    `kiln.schedule`. With `generic=false` (an executable for the H100/H200
    alone) a layer with an sm_90a schedule gets no `kiln.schedule`. Both
    are checked when given.

    ```mlir
    kiln.conv2d %x, %w ... {kiln.schedule = array<i32: 128, 64, 64, 2, 2, 3, 1>,
                            kiln.schedule_sm90a = array<i32: 128, 128, 64, 8, 1, 4, 1, 2>}
    ```
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"fp32\"",
           "fp32 (SIMT), tf32, fp16 or bf16 (tensor cores)">,
    Option<"smCount", "sm-count", "int", /*default=*/"132",
           "streaming multiprocessors of the target GPU (H100 SXM: 132)">,
    Option<"sm90a", "sm90a", "bool", /*default=*/"false",
           "the executable has an sm_90a variant: schedules for the sm_90a "
           "(wgmma) kernel where a layer allows it">,
    Option<"generic", "generic", "bool", /*default=*/"true",
           "the executable has the variant of GPUs other than the H100/H200 "
           "(mma.sync schedules for every layer)">,
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}

#endif // KILN_TARGET_CUDA_TRANSFORMS_PASSES_TD
