//===- KernelOps.td - kernel dialect ops -------------------*- tablegen -*-===//
//
// One op per kind of kernel a planned model runs. Every op verifies that
// its buffers, weights and attributes describe a kernel that can run; the
// checks live in KernelOps.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KERNEL_OPS_TD
#define KERNEL_OPS_TD

include "dialects/Kernel/IR/KernelAttrs.td"
include "dialects/Kiln/IR/KilnAttrs.td"

def Kernel_Weight : RankedTensorOf<[F32]>;

class Kernel_BufferOp<string mnemonic, list<Trait> traits = []> :
    Kernel_Op<mnemonic, traits> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Convolution and linear layers
//===----------------------------------------------------------------------===//

def Kernel_Conv2dOp : Kernel_BufferOp<"conv2d"> {
  let summary = "A 2-D convolution with its fused epilogue.";
  let description = [{
    Reads the NHWC `input` and writes the NHWC `output` (pixels and
    channels may be strided: a channel slice of a concat's buffer, or every
    k-th channel of a shuffled one), computing
    `act(conv(input * scale, weight) + bias + residual)`: the bias is the
    optional operand, `residual` a buffer of the output's shape, `scale`
    a dense `N x C` fp32 gate multiplied into the input channels per
    image. A dense convolution runs as an implicit GEMM (on a GPU with the
    mma.sync kernel's tile `schedule`, and in an executable's sm_90a
    variant with the wgmma kernel's `sm90a_schedule` where it has one), a
    depthwise or narrow grouped one directly (`isDirect`); on the CPU, a
    dense 3x3 stride-1 one may run as Winograd F(m x m, 3 x 3) with
    `winograd = m` (2 or 4). An input with more channels than the weights' (and one
    group) is zero-padded: its weights are padded to match.

    On the CPU, a dense implicit-GEMM convolution whose output is one group
    of a two-group channel shuffle (every other channel) may also write the
    other group: `passthrough` is a channels-last buffer of the output's
    shape whose channel `k` it copies to the output's channel `k` moved by
    `passthrough_offset` elements (-1 or +1), so that both groups are
    stored as whole vectors (ShuffleNetV2's untouched half, set by
    `--kiln-fuse-shuffle-copies`).

    ```mlir
    kernel.conv2d %w, %b {activation = #kiln.activation<relu>,
        dilation = array<i64: 1, 1>, groups = 1 : i64,
        input = #kernel.buffer<arena[0, 0], act, [1, 64, 56, 56], [200704, 1, 3584, 64]>,
        output = #kernel.buffer<arena[802816, 0], act, [1, 64, 56, 56], [200704, 1, 3584, 64]>,
        padding = array<i64: 1, 1>, stride = array<i64: 1, 1>}
        : tensor<64x64x3x3xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Kernel_Weight:$weight, Optional<Kernel_Weight>:$bias,
                       Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       OptionalAttr<Kernel_BufferAttr>:$residual,
                       OptionalAttr<Kernel_BufferAttr>:$scale,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups,
                       Kiln_ActivationAttr:$activation,
                       OptionalAttr<I64Attr>:$scratch,
                       OptionalAttr<Kernel_ScheduleAttr>:$schedule,
                       OptionalAttr<Kernel_ScheduleAttr>:$sm90a_schedule,
                       OptionalAttr<I64Attr>:$winograd,
                       OptionalAttr<Kernel_BufferAttr>:$passthrough,
                       OptionalAttr<I64Attr>:$passthrough_offset);
  let assemblyFormat = [{
    $weight (`,` $bias^)? attr-dict `:` type($weight) (`,` type($bias)^)?
  }];
  let extraClassDeclaration = [{
    /// Whether it runs as a direct (depthwise or grouped) convolution
    /// rather than an implicit GEMM.
    bool isDirect();
    /// Where a pass-through `offset` elements from the output lands: the
    /// output buffer moved by that many elements.
    BufferAttr passthroughDestination(int64_t offset);
    /// Why `pass`, landing `offset` elements from the output, cannot be the
    /// pass-through (empty if it can): the verifier's rule, and that of
    /// `--kiln-fuse-shuffle-copies`.
    std::string passthroughProblem(BufferAttr pass, int64_t offset);
  }];
}

def Kernel_LinearOp : Kernel_BufferOp<"linear"> {
  let summary = "A fully connected layer with its fused epilogue.";
  let description = [{
    `output = act(input · weightᵀ + bias + residual)` over the rows of the
    row-major `input` (`[M, K]`, any leading shape). With `pool_scratch`,
    the input is a 4-D NHWC activation whose global average is pooled into
    the arena at that byte offset first (the classifier of a ResNet).
  }];
  let arguments = (ins Kernel_Weight:$weight, Optional<Kernel_Weight>:$bias,
                       Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       OptionalAttr<Kernel_BufferAttr>:$residual,
                       Kiln_ActivationAttr:$activation,
                       OptionalAttr<I64Attr>:$pool_scratch,
                       OptionalAttr<Kernel_ScheduleAttr>:$schedule,
                       OptionalAttr<Kernel_ScheduleAttr>:$sm90a_schedule);
  let assemblyFormat = [{
    $weight (`,` $bias^)? attr-dict `:` type($weight) (`,` type($bias)^)?
  }];
}

def Kernel_ConvChainOp : Kernel_BufferOp<"conv_chain"> {
  let summary = "A 1x1 / depthwise / 1x1 convolution chain as one kernel (CPU).";
  let description = [{
    `output = act2(project(act1(depthwise(act0(expand(input) + bias0)) + bias1))
    + bias2 + residual)`: MobileNetV2's inverted residual, computed a few
    rows at a time so that the expanded tensor stays in cache
    (--kiln-fuse-conv-chains). `expand` is `E x C x 1 x 1`, `depthwise`
    `E x 1 x K x K` (K = 3 or 5, `stride` 1 or 2 both ways, `padding`),
    `project` `O x E x 1 x 1`; the input and output are NHWC, the residual
    a buffer of the output's shape.
  }];
  let arguments = (ins Kernel_Weight:$expand, Kernel_Weight:$expand_bias,
                       Kernel_Weight:$depthwise, Kernel_Weight:$depthwise_bias,
                       Kernel_Weight:$project, Kernel_Weight:$project_bias,
                       Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       OptionalAttr<Kernel_BufferAttr>:$residual,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       Kiln_ActivationAttr:$expand_activation,
                       Kiln_ActivationAttr:$depthwise_activation,
                       Kiln_ActivationAttr:$project_activation);
  let assemblyFormat = [{
    $expand `,` $expand_bias `,` $depthwise `,` $depthwise_bias `,` $project
    `,` $project_bias attr-dict `:` type($expand) `,` type($expand_bias) `,`
    type($depthwise) `,` type($depthwise_bias) `,` type($project) `,`
    type($project_bias)
  }];
}

def Kernel_SqueezeExciteGateOp : Kernel_BufferOp<"se_gate"> {
  let summary = "A squeeze-and-excitation gate.";
  let description = [{
    `output = gate(expand(act(reduce(mean_hw(input)))))`: the global
    average of the NHWC `input`, two linear layers with their biases and
    activations, written as a dense `N x C` gate. A target that computes it
    in steps keeps the intermediates at byte `scratch` of the arena.
  }];
  let arguments = (ins Kernel_Weight:$reduce_weight, Kernel_Weight:$reduce_bias,
                       Kernel_Weight:$expand_weight, Kernel_Weight:$expand_bias,
                       Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       Kiln_ActivationAttr:$activation, Kiln_ActivationAttr:$gate,
                       OptionalAttr<I64Attr>:$scratch);
  let assemblyFormat = [{
    $reduce_weight `,` $reduce_bias `,` $expand_weight `,` $expand_bias attr-dict
    `:` type($reduce_weight) `,` type($reduce_bias) `,` type($expand_weight)
    `,` type($expand_bias)
  }];
}

//===----------------------------------------------------------------------===//
// Pooling and reductions
//===----------------------------------------------------------------------===//

def Kernel_Pool2dOp : Kernel_BufferOp<"pool2d"> {
  let summary = "Max or average pooling of an NHWC activation.";
  let arguments = (ins Kernel_PoolKindAttr:$kind, Kernel_BufferAttr:$input,
                       Kernel_BufferAttr:$output, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, BoolAttr:$exclude_pad);
  let assemblyFormat = "`` $kind attr-dict";
}

def Kernel_AdaptivePool2dOp : Kernel_BufferOp<"adaptive_pool2d"> {
  let summary = "Adaptive average pooling of an NHWC activation.";
  let description = [{
    Averages the NHWC `input` to `output_size` pixels, written densely:
    NHWC, or for a 1 x 1 result a row-major `[N, C]` buffer (a mean over
    H and W).
  }];
  let arguments = (ins Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       DenseI64ArrayAttr:$output_size);
  let assemblyFormat = "attr-dict";
}

def Kernel_ReduceOp : Kernel_BufferOp<"reduce"> {
  let summary = "The mean of a tensor over some dimensions.";
  let arguments = (ins Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       DenseI64ArrayAttr:$dims, BoolAttr:$keepdim);
  let assemblyFormat = "attr-dict";
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

def Kernel_ElementwiseOp : Kernel_BufferOp<"elementwise"> {
  let summary = "A loop over the output storing a function of the inputs.";
  let description = [{
    Stores, for every element of `output`, `fn` of the elements of
    `inputs` at the same logical index (inputs broadcast from the right,
    as in PyTorch): `zero` or `fill` with `alpha` (no inputs), `copy`
    (layout conversions, concat and channel-shuffle copies, pads, the result
    into the output), `add`, `sub`, `mul`, `div`, an `activation`, `tanh`,
    `leaky_relu` / `elu` with their parameter `alpha`, or `clamp` to
    [`alpha`, `beta`] (either bound may be absent).

    An operand of `fn` may be a constant tensor instead of a buffer: the
    optional `weight` (a per-channel scale, a model's normalization
    constants) is operand `weight_position` of `fn`, broadcast to the
    output like the inputs, which fill the other positions in order.

    ```mlir
    kernel.elementwise copy {
        inputs = [#kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>],
        output = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>}
    kernel.elementwise sub %mean {weight_position = 1 : i64,
        inputs = [#kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>],
        output = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>}
        : tensor<1x3x1x1xf32>
    ```
  }];
  let arguments = (ins Optional<Kernel_Weight>:$weight,
                       Kernel_ElementwiseFnAttr:$fn,
                       OptionalAttr<Kiln_ActivationAttr>:$activation,
                       TypedArrayAttrBase<Kernel_BufferAttr, "buffers">:$inputs,
                       Kernel_BufferAttr:$output,
                       OptionalAttr<F64Attr>:$alpha,
                       OptionalAttr<F64Attr>:$beta,
                       OptionalAttr<I64Attr>:$weight_position);
  let assemblyFormat = "`` $fn ($weight^)? attr-dict (`:` type($weight)^)?";
}

def Kernel_SoftmaxOp : Kernel_BufferOp<"softmax"> {
  let summary = "A softmax along one dimension of a buffer.";
  let description = [{
    For every index of the other dimensions, the row of `input` along
    `dim` is reduced twice, to its maximum and then to the sum of
    `exp(x - max)`, and `output` (of the input's shape, in any strides)
    gets `exp(x - max) / sum`.

    ```mlir
    kernel.softmax {dim = 1 : i64,
        input = #kernel.buffer<arena[0, 0], act, [1, 1000], [1000, 1]>,
        output = #kernel.buffer<output[0, 0], f32, [1, 1000], [1000, 1]>}
    ```
  }];
  let arguments = (ins Kernel_BufferAttr:$input, Kernel_BufferAttr:$output,
                       I64Attr:$dim);
  let assemblyFormat = "attr-dict";
}

def Kernel_BatchNormOp : Kernel_BufferOp<"batch_norm"> {
  let summary = "An unfused inference batch norm: a per-channel affine map.";
  let description = [{
    `output = input * s + t` per channel (dimension 1), with
    `s = weight / sqrt(var + epsilon)` and `t = bias - mean * s` computed
    in double when the weights are prepared.
  }];
  let arguments = (ins Kernel_Weight:$weight, Kernel_Weight:$bias,
                       Kernel_Weight:$mean, Kernel_Weight:$var,
                       F64Attr:$epsilon, Kernel_BufferAttr:$input,
                       Kernel_BufferAttr:$output);
  let assemblyFormat = [{
    $weight `,` $bias `,` $mean `,` $var attr-dict `:` type($weight) `,`
    type($bias) `,` type($mean) `,` type($var)
  }];
}

def Kernel_PadChannelsOp : Kernel_BufferOp<"pad_channels"> {
  let summary = "Converts an NCHW input into a zero-padded NHWC buffer.";
  let description = [{
    Writes the NHWC `output`, whose pixels hold more channels than the
    `input`'s: the input's channels, then zeros. A GPU target feeds an RGB
    stem this way, so that its pixels load as 16-byte vectors.
  }];
  let arguments = (ins Kernel_BufferAttr:$input, Kernel_BufferAttr:$output);
  let assemblyFormat = "attr-dict";
}

#endif // KERNEL_OPS_TD
