//===- Passes.td - kiln CPU target passes ------------------*- tablegen -*-===//
//
// The passes of the CPU target: decisions on graph IR that follow the CPU
// kernels' own geometry (runtime/include/kiln/cpu/layout.h), which the graph
// passes do not know, and fusions on the kernel IR the CPU runs. Each pass
// is one file of the same name and has a lit test
// test/Target/Cpu/Transforms/<flag>.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_CPU_TRANSFORMS_PASSES_TD
#define KILN_TARGET_CPU_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ChooseWinogradPass : Pass<"kiln-choose-winograd", "mlir::func::FuncOp"> {
  let summary = "Chooses Winograd F(2x2, 3x3) or F(4x4, 3x3) for the CPU's 3x3 convolutions where it pays.";
  let description = [{
    Runs after the fusion passes (a convolution's epilogue and input scale
    are final). Each dense 3x3 `kiln.conv2d` with stride 1, no dilation and
    no input scale is costed three ways -- direct (implicit GEMM),
    F(2x2, 3x3) and F(4x4, 3x3) -- as the larger of its arithmetic
    (multiply-adds, plus the transforms' vector operations) and of the time
    its weights take to stream from memory (Winograd's are (m+2)^2/9 times
    the direct ones: 1.8x and 4x); the cheapest Winograd tile is set as
    `kiln.winograd = m` when it beats direct by 15%. The choice is by cost
    alone: F(4x4)'s rounding error, though a few times F(2x2)'s in one
    layer, leaves every model's output within the same 1e-5 of PyTorch as
    the direct kernels (measured on every e2e model with F(4x4) on all such
    layers; docs/cpu-kernels.md). `tile=2` or `tile=4` forces that tile on
    every such layer and `tile=none` removes the attribute (for measuring
    them); the CUDA target ignores it.
  }];
  let options = [
    Option<"tile", "tile", "std::string", /*default=*/"\"auto\"",
           "auto (by cost), 2, 4 or none">,
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def FuseConvChainsPass : Pass<"kiln-fuse-conv-chains", "mlir::func::FuncOp"> {
  let summary = "Marks 1x1 / depthwise / 1x1 chains the CPU runs as one kernel.";
  let description = [{
    Runs after `--kiln-choose-layout` and before `--kiln-plan-memory`. A
    depthwise `kiln.conv2d` whose input is the only use of a dense 1x1
    convolution's result and whose result is only read by another dense 1x1
    convolution (MobileNetV2's inverted residual: expand, depthwise,
    project; all three with their biases and epilogues fused, see
    `convChainAround`) gets `kiln.chain` when the CPU's `conv_chain` kernel
    takes its window (3x3 or 5x5, stride 1 or 2, a multiple of 16 channels)
    and the expanded tensor of one image is at least 256 KB: the kernel
    then computes the chain a row at a time at the project's place, so that
    the expanded tensor never leaves the cache. The memory plan keeps the
    chain's input alive until then (`--kiln-plan-memory`); the CUDA target
    ignores the mark and runs three kernels.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def FuseShuffleCopiesPass : Pass<"kiln-fuse-shuffle-copies", "mlir::func::FuncOp"> {
  let summary = "Makes a two-group shuffle's copy part of the convolution that writes the other group.";
  let description = [{
    Runs on kernel IR (after `--kiln-lower-to-kernels` for the CPU). A
    `kernel.elementwise copy` right after a `kernel.conv2d` that writes every
    other channel of a buffer, into the channels between (ShuffleNetV2's
    stride-1 unit: the untouched half copied beside the branch's last 1x1
    layer), becomes that convolution's `passthrough`: the CPU kernel stores
    both groups pixel by pixel in whole vectors, and the copy (a second
    pass over the buffer) goes. Only where `Conv2dOp::passthroughProblem`
    finds nothing: a dense convolution without Winograd or an input scale,
    a copy source of the output's shape that overlaps neither group, and
    an input and residual that overlap neither. The CUDA target does not
    run it.
  }];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

#endif // KILN_TARGET_CPU_TRANSFORMS_PASSES_TD
