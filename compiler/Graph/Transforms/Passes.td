//===- Passes.td - kiln graph passes -----------------------*- tablegen -*-===//
//
// The graph passes, in pipeline order within each group, alphabetical within
// a group otherwise. Each pass is one file of the same name and has a lit
// test test/Graph/Transforms/<flag>.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_TRANSFORMS_PASSES_TD
#define KILN_GRAPH_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

def CheckLimitsPass : Pass<"kiln-check-limits", "mlir::func::FuncOp"> {
  let summary = "Refuses tensors larger than the kernels can index.";
  let description = [{
    The kernels and the runtime describe shapes with 32-bit integers (the
    `Conv2d`, `Linear` and `Pool2d` descriptors of kiln/kernel_types.h) and
    the executable's input and output with at most 8 dimensions. A model
    input, parameter or op result of more than 2,147,483,647 elements, or
    of rank above 8, is an error at the YAML line that made it (the input's
    shape, the layer), before any code is generated: without this check
    such a model passed `kiln report` and then failed inside the C++
    compiler, or ran out of memory at run time. Only the first such tensor
    in program order is reported, since everything computed from it is too
    large as well.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

def FoldBatchNormPass : Pass<"kiln-fold-batch-norm", "mlir::func::FuncOp"> {
  let summary = "Folds batch norms into the convolution or linear layer before them.";
  let description = [{
    `batch_norm(conv(x, w, b), γ, β, μ, σ²)` becomes `conv(x, w', b')` with
    `w' = w · γ / sqrt(σ² + ε)` per output channel and
    `b' = (b − μ) · γ / sqrt(σ² + ε) + β`, written as the weight transforms
    `kiln.fold_bn_weight` and `kiln.fold_bn_bias`, which the executable
    evaluates once when it prepares its weights. The same holds for a
    BatchNorm1d after a linear layer. A conv whose result has other users,
    or statistics that are not weights, are left alone.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def FuseSqueezeExcitePass : Pass<"kiln-fuse-squeeze-excite", "mlir::func::FuncOp"> {
  let summary = "Fuses squeeze-and-excitation blocks into a gate kernel and a scaled convolution.";
  let description = [{
    `x · gate(conv_e(act(conv_r(avg_pool(x)))))` becomes `kiln.se_gate` (the
    pooling and both 1×1 convolutions, one kernel producing the N×C gate);
    when the gated tensor feeds a convolution, the multiply becomes that
    convolution's input `scale`, so the SE block costs two kernels and the
    gated tensor is never written.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def FuseEpiloguesPass : Pass<"kiln-fuse-epilogues", "mlir::func::FuncOp"> {
  let summary = "Fuses residual adds, activations and global pooling into convolutions and linear layers.";
  let description = [{
    * `act(conv(x))` → `conv(x) activation act`;
    * `add(conv(x), r)` (and `add(r, conv(x))`) → `conv(x) residual r`, then
      an activation after the add fuses too: ResNet's
      `relu(bn3(conv3(x)) + identity)` is one kernel;
    * `linear(flatten(adaptive_avg_pool2d(x, 1)))` and
      `linear(mean(x, [2, 3]))` → `linear(x) pool`.
    The fused op takes the place of the last op it replaces, so every
    operand is computed before it. Ops whose result has other users stay.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

def EliminateConcatPass : Pass<"kiln-eliminate-concat", "mlir::func::FuncOp"> {
  let summary = "Makes producers write their results into the channel slices of a concat.";
  let description = [{
    A channel concat of 4-D tensors with an input computed by a kernel
    (not a view, not the model input, not in another concat) is marked
    `kiln.in_place`: such inputs are produced directly in the slices of its
    buffer, and the concat only copies the others (none in GhostNet's
    modules, ShuffleNetV2's pass-through half). Slices, splits and chunks
    are views already, so GhostNet's `concat` + `[:, :oup]` moves no data.

    A concat whose only reader is a `channel_shuffle` of one group per
    input (ShuffleNetV2's `channel_shuffle(cat(a, b), 2)`) marks both: the
    inputs are written shuffled, convolution i's channel k to channel
    k * groups + i of the shuffle's buffer, and the shuffle moves nothing.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def ChooseLayoutPass : Pass<"kiln-choose-layout", "mlir::func::FuncOp"> {
  let summary = "Stores 4-D activations channels-last, with conversions at the boundary.";
  let description = [{
    Every op that computes a 4-D tensor gets `kiln.layout = nhwc`: the CPU
    kernels vectorize over channels and read a pixel's channels
    contiguously. Views (slices, chunks, identities) keep their source's
    order. `kiln.convert_layout` is inserted where a consumer needs another
    order: the model's NCHW input before a kernel, NHWC data before a
    flatten or reshape that mixes channels and pixels, and a 4-D model
    output, which is NCHW like PyTorch's.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def PlanMemoryPass : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Places every activation buffer at an offset of one arena.";
  let description = [{
    Each op that writes a buffer gets `kiln.offset` (bytes, 64-byte aligned);
    views share their source's buffer, inputs of an in-place concat live in
    its buffer, and an elementwise op whose operand dies there writes in
    place. Live ranges run over program order; buffers are placed largest
    first, each at the lowest offset free for its whole range. The function gets `kiln.arena_bytes` and
    `kiln.live_bytes`, the largest total of buffers live at one time (a
    lower bound of any arena). Ops that need temporary memory (a scaled
    convolution's weights, a pooled vector) get `kiln.scratch` the same way.

    `activation-bytes` is the size of an activation element: 4 (fp32, the
    CPU target and the CUDA target in fp32 and tf32) or 2 (the CUDA target
    in fp16 and bf16, whose arena is then about half the size). The SE
    gate's output and its scratch stay fp32 (4 bytes) in every plan, as do
    a scaled convolution's per-sample weights (CPU only).
  }];
  let options = [
    Option<"activationBytes", "activation-bytes", "int", /*default=*/"4",
           "bytes of an activation element: 4 or 2">,
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Run-time properties
//===----------------------------------------------------------------------===//

def MarkBatchPass : Pass<"kiln-mark-batch", "mlir::func::FuncOp"> {
  let summary = "Marks a model whose samples are independent along the batch.";
  let description = [{
    Sets `kiln.batch = N` on the model function when the first dimension of
    its input, N, is a batch that no op mixes: every activation (the input
    and what is computed from it) has N as its first dimension, and each op
    computes sample i of its result from sample i of its operands alone.
    The kernels may then run any first samples of the batch (the
    executable runs a batch of 3 compiled for 8 as 3, not padded to 8).

    Ops known to work per sample pass: layers, pooling, activations,
    `add`/`mul` whose activation operands have the result's rank (so that
    broadcasting cannot align the batch with another dimension), layout
    conversions, reshapes and flattens that keep N first, channel shuffles;
    `mean`, `transpose`, `concat`, `slice`, `split` and `chunk` pass when
    they leave dimension 0 alone. Any other op (or a batch dimension that
    changes) leaves the function unmarked: its kernels run all N samples.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

#endif // KILN_GRAPH_TRANSFORMS_PASSES_TD
