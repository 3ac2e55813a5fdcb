//===- KilnOps.td - kiln graph ops -------------------------*- tablegen -*-===//
//
// The ops of the kiln graph dialect, grouped by family. Every op infers its
// result types and verifies its attributes; the checks live in KilnOps.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "dialects/Kiln/IR/KilnBase.td"
include "dialects/Kiln/IR/KilnAttrs.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// A graph op whose result types follow from its operands and attributes.
class Kiln_InferOp<string mnemonic, list<Trait> traits = []> :
    Kiln_Op<mnemonic, !listconcat(traits,
        [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Kiln_ParamOp : Kiln_Op<"param", [Pure]> {
  let summary = "A named weight tensor, loaded at run time.";
  let description = [{
    Produces the tensor stored under `name` in the model's weights, a
    PyTorch `state_dict()` key. `parameter` tensors are trainable parameters
    (counted in the report), `buffer` tensors are buffers such as batch-norm
    running statistics. The data is never part of the IR: the executable
    loads it from its embedded blob, a `--weights` file, or seeds it.

    ```mlir
    %w = kiln.param "layer1.0.conv1.weight" parameter : tensor<64x64x1x1xf32>
    %m = kiln.param "layer1.0.bn1.running_mean" buffer : tensor<64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, Kiln_ParamRoleAttr:$role);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$name `` $role attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Convolution, normalization, linear
//===----------------------------------------------------------------------===//

def Kiln_Conv2dOp : Kiln_InferOp<"conv2d", [AttrSizedOperandSegments]> {
  let summary = "2-D convolution (torch.nn.Conv2d), with a fused epilogue.";
  let description = [{
    `input` is N×C×H×W, `weight` is O×(C/groups)×KH×KW, the optional `bias`
    has O elements. `stride`, `padding` (symmetric, zeros) and `dilation` are
    [h, w] pairs. The result is N×O×HO×WO with
    `HO = (H + 2·padding_h − dilation_h·(KH − 1) − 1) / stride_h + 1`.

    Graph passes fuse neighbours into the op (a fused kernel):
    * `residual` (N×O×HO×WO) is added after the bias, then `activation` is
      applied: `y = act(conv(x) + bias + residual)`;
    * `scale` (N×C) multiplies the input channels of each sample first (a
      squeeze-and-excitation gate): `conv(x · scale[n, c])`.

    ```mlir
    %y = kiln.conv2d %x, %w stride [2, 2] padding [3, 3] dilation [1, 1] groups 1
        : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x112xf32>
    %z = kiln.conv2d %y, %w2 bias %b residual %id stride [1, 1] padding [0, 0]
        dilation [1, 1] groups 1 activation relu : (...) -> tensor<1x256x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weight,
                       Optional<Kiln_Tensor>:$bias,
                       Optional<Kiln_Tensor>:$residual,
                       Optional<Kiln_Tensor>:$scale,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups,
                       DefaultValuedAttr<Kiln_ActivationAttr,
                                         "::kiln::Activation::none">:$activation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`residual` $residual^)?
    (`scale` $scale^)? `stride` $stride `padding` $padding
    `dilation` $dilation `groups` $groups (`activation` `` $activation^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def Kiln_BatchNormOp : Kiln_InferOp<"batch_norm"> {
  let summary = "Inference-mode batch normalization (BatchNorm1d/2d).";
  let description = [{
    `y = (x − mean) / sqrt(var + epsilon) · weight + bias`, per channel
    (dimension 1). `input` is N×C, N×C×L or N×C×H×W; the four statistics
    tensors have C elements.

    ```mlir
    %y = kiln.batch_norm %x, %gamma, %beta, %mean, %var epsilon 1.0e-05
        : tensor<1x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weight,
                       Kiln_Tensor:$bias, Kiln_Tensor:$mean, Kiln_Tensor:$var,
                       F64Attr:$epsilon);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $mean `,` $var `epsilon` $epsilon attr-dict
    `:` type($input) `,` type($weight) `,` type($bias) `,` type($mean) `,`
    type($var)
  }];
}

def Kiln_LinearOp : Kiln_InferOp<"linear", [AttrSizedOperandSegments]> {
  let summary = "Fully connected layer (torch.nn.Linear), with a fused epilogue.";
  let description = [{
    `y = x · weightᵀ + bias` over the last dimension: `input` is …×IN,
    `weight` is OUT×IN, the optional `bias` has OUT elements; the result is
    …×OUT. Fused neighbours: `residual` (the result's shape) is added, then
    `activation` applied; with `pool`, the input is N×IN×H×W and is first
    averaged over H and W (global average pooling, flattened).

    ```mlir
    %y = kiln.linear %x, %w bias %b
        : (tensor<1x2048xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
    %z = kiln.linear %f, %w bias %b pool
        : (tensor<1x2048x7x7xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weight,
                       Optional<Kiln_Tensor>:$bias,
                       Optional<Kiln_Tensor>:$residual,
                       UnitAttr:$pool,
                       DefaultValuedAttr<Kiln_ActivationAttr,
                                         "::kiln::Activation::none">:$activation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`residual` $residual^)? (`pool` $pool^)?
    (`activation` `` $activation^)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Fused kernels and weight transforms (made by graph passes)
//===----------------------------------------------------------------------===//

def Kiln_SqueezeExciteGateOp : Kiln_InferOp<"se_gate"> {
  let summary = "The gate of a squeeze-and-excitation block, as one kernel.";
  let description = [{
    `gate = gate_act(W2 · act(W1 · mean_hw(x) + b1) + b2)`: global average
    pooling of the N×C×H×W input, then the two 1×1 convolutions of the SE
    block (weights R×C×1×1 and C×R×1×1 with biases). The result is the N×C
    gate, which a convolution consumes as its input `scale`.

    ```mlir
    %g = kiln.se_gate %x, %w1, %b1, %w2, %b2 activation relu gate hard_sigmoid
        : (tensor<1x72x28x28xf32>, tensor<20x72x1x1xf32>, tensor<20xf32>,
           tensor<72x20x1x1xf32>, tensor<72xf32>) -> tensor<1x72xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$reduce_weight,
                       Kiln_Tensor:$reduce_bias, Kiln_Tensor:$expand_weight,
                       Kiln_Tensor:$expand_bias,
                       Kiln_ActivationAttr:$activation,
                       Kiln_ActivationAttr:$gate);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $reduce_weight `,` $reduce_bias `,` $expand_weight `,` $expand_bias
    `activation` `` $activation `gate` `` $gate attr-dict
    `:` functional-type(operands, results)
  }];
}

def Kiln_FoldBatchNormWeightOp : Kiln_InferOp<"fold_bn_weight"> {
  let summary = "Weights of a conv or linear with the batch norm after it folded in.";
  let description = [{
    `w'[o, ...] = w[o, ...] · gamma[o] / sqrt(var[o] + epsilon)`. A weight
    transform: it only reads weights, so the executable computes it once,
    when it prepares its weights.

    ```mlir
    %w2 = kiln.fold_bn_weight %w, %gamma, %var epsilon 1.0e-05
        : tensor<64x3x7x7xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$weight, Kiln_Tensor:$gamma,
                       Kiln_Tensor:$var, F64Attr:$epsilon);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $weight `,` $gamma `,` $var `epsilon` $epsilon attr-dict
    `:` type($weight) `,` type($gamma) `,` type($var)
  }];
}

def Kiln_FoldBatchNormBiasOp : Kiln_InferOp<"fold_bn_bias"> {
  let summary = "Bias of a conv or linear with the batch norm after it folded in.";
  let description = [{
    `b'[o] = (b[o] − mean[o]) · gamma[o] / sqrt(var[o] + epsilon) + beta[o]`,
    with b = 0 when the layer has no bias. A weight transform, like
    `kiln.fold_bn_weight`.

    ```mlir
    %b2 = kiln.fold_bn_bias %gamma, %beta, %mean, %var epsilon 1.0e-05
        : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
    %b3 = kiln.fold_bn_bias %gamma, %beta, %mean, %var bias %b epsilon 1.0e-05
        : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$gamma, Kiln_Tensor:$beta, Kiln_Tensor:$mean,
                       Kiln_Tensor:$var, Optional<Kiln_Tensor>:$bias,
                       F64Attr:$epsilon);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $gamma `,` $beta `,` $mean `,` $var (`bias` $bias^)? `epsilon` $epsilon
    attr-dict `:` type(operands)
  }];
}

def Kiln_ConvertLayoutOp : Kiln_InferOp<"convert_layout"> {
  let summary = "Copies a 4-D activation into another memory order.";
  let description = [{
    The identity on values: the result has the input's (logical, NCHW) type
    and is stored in `layout`. Inserted by the choose-layout pass where a
    consumer needs another order than its producer writes (the model's NCHW
    input before NHWC kernels; NHWC data before a flatten).

    ```mlir
    %y = kiln.convert_layout %x to nhwc : tensor<1x3x224x224xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_LayoutAttr:$layout);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `to` `` $layout attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// y = f(x), elementwise; the result has the type of the input.
class Kiln_UnaryOp<string mnemonic, string formula, string torchName> :
    Kiln_InferOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "Elementwise " # formula # " (" # torchName # ").";
  let description = [{
    Applies `}] # formula # [{` to every element; the result has the type of
    the input.

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x : tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Kiln_ReluOp : Kiln_UnaryOp<"relu", "max(x, 0)", "torch.nn.ReLU">;
def Kiln_Relu6Op : Kiln_UnaryOp<"relu6", "min(max(x, 0), 6)", "torch.nn.ReLU6">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "1 / (1 + exp(-x))",
                                  "torch.nn.Sigmoid">;
def Kiln_HardSigmoidOp : Kiln_UnaryOp<"hard_sigmoid", "relu6(x + 3) / 6",
                                      "torch.nn.Hardsigmoid">;
def Kiln_HardSwishOp : Kiln_UnaryOp<"hard_swish", "x · relu6(x + 3) / 6",
                                    "torch.nn.Hardswish">;
def Kiln_SiluOp : Kiln_UnaryOp<"silu", "x · sigmoid(x)", "torch.nn.SiLU">;
def Kiln_IdentityOp : Kiln_UnaryOp<"identity", "x", "torch.nn.Identity">;
// Not epilogue activations (activationOf does not map them): each runs as
// an elementwise kernel of its own.
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "tanh(x)", "torch.nn.Tanh">;

/// y = f_alpha(x), elementwise, with one scalar parameter.
class Kiln_ScalarParamOp<string mnemonic, string param, string formula,
                         string torchName> :
    Kiln_InferOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "Elementwise " # formula # " (" # torchName # ").";
  let description = [{
    Applies `}] # formula # [{` to every element; `}] # param # [{` is a
    finite number. The result has the type of the input.

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x }] # param # [{ 1.000000e-01 : tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, F64Attr:$alpha);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `" # param # "` $alpha attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_LeakyReluOp : Kiln_ScalarParamOp<"leaky_relu", "negative_slope",
    "x if x > 0 else negative_slope · x", "torch.nn.LeakyReLU">;
def Kiln_EluOp : Kiln_ScalarParamOp<"elu", "alpha",
    "x if x > 0 else alpha · (exp(x) − 1)", "torch.nn.ELU">;

def Kiln_ClampOp : Kiln_InferOp<"clamp", [SameOperandsAndResultType]> {
  let summary = "Clamps every element into [min, max] (torch.clamp, nn.Hardtanh).";
  let description = [{
    `y = min(max(x, min), max)`; a bound that is absent does not apply
    (`torch.clamp(x, min=-1)`), at least one is given, both are finite and
    `min <= max`. ReLU and ReLU6 are `kiln.relu` and `kiln.relu6`, which
    layers fuse; ONNX's Clip with other bounds becomes this op.

    ```mlir
    %y = kiln.clamp %x min -1.000000e+00 max 1.000000e+00 : tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, OptionalAttr<F64Attr>:$min,
                       OptionalAttr<F64Attr>:$max);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input (`min` $min^)? (`max` $max^)? attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_InferOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "Softmax over one dimension (torch.nn.Softmax).";
  let description = [{
    `y = exp(x - max) / sum(exp(x - max))` along dimension `dim` (0 <=
    dim < rank), computed stably: the maximum along `dim` is subtracted
    before the exponentials. A classifier's probabilities (`dim` 1 after a
    linear layer), or a softmax over the channels of an N×C×H×W tensor.

    ```mlir
    %p = kiln.softmax %logits dim 1 : tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `dim` $dim attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_DropoutOp : Kiln_InferOp<"dropout"> {
  let summary = "Dropout; the identity at inference (torch.nn.Dropout).";
  let description = [{
    Kept so that the graph and the report mirror the PyTorch module; `p` is
    the training-time drop probability, in [0, 1).

    ```mlir
    %y = kiln.dropout %x p 2.000000e-01 : tensor<1x1280xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, F64Attr:$p);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `p` $p attr-dict `:` type($input)";
}

/// z = x op y with NumPy/PyTorch broadcasting.
class Kiln_BinaryOp<string mnemonic, string formula> :
    Kiln_InferOp<mnemonic> {
  let summary = "Elementwise " # formula # " with broadcasting.";
  let description = [{
    Computes `}] # formula # [{` elementwise. Shapes broadcast as in PyTorch:
    aligned from the right, each pair of dimensions equal or one of them 1.

    ```mlir
    %z = kiln.}] # mnemonic # [{ %x, %g : tensor<1x72x28x28xf32>, tensor<1x72x1x1xf32> -> tensor<1x72x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "x + y">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "x · y">;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "x − y">;
def Kiln_DivOp : Kiln_BinaryOp<"div", "x / y">;

//===----------------------------------------------------------------------===//
// Pooling and reductions
//===----------------------------------------------------------------------===//

def Kiln_MaxPool2dOp : Kiln_InferOp<"max_pool2d"> {
  let summary = "2-D max pooling (torch.nn.MaxPool2d).";
  let description = [{
    Windows of `kernel` [h, w] elements spaced `dilation` apart, moved by
    `stride`, over the input padded with −∞ by `padding` (at most half the
    kernel). With `ceil_mode` the output size rounds up, but no window may
    start in the right or bottom padding.

    ```mlir
    %y = kiln.max_pool2d %x kernel [3, 3] stride [2, 2] padding [1, 1] dilation [1, 1]
        : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, UnitAttr:$ceil_mode);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `kernel` $kernel `stride` $stride `padding` $padding
    `dilation` $dilation (`ceil_mode` $ceil_mode^)? attr-dict
    `:` type($input) `->` type($result)
  }];
}

def Kiln_AvgPool2dOp : Kiln_InferOp<"avg_pool2d"> {
  let summary = "2-D average pooling (torch.nn.AvgPool2d).";
  let description = [{
    Averages windows of `kernel` [h, w] elements moved by `stride` over the
    input zero-padded by `padding`. `exclude_pad` divides by the number of
    in-bounds elements (PyTorch `count_include_pad=False`); otherwise by the
    window area clipped to the padded input. `ceil_mode` as in max pooling.

    ```mlir
    %y = kiln.avg_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0]
        : tensor<1x64x56x56xf32> -> tensor<1x64x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       UnitAttr:$ceil_mode, UnitAttr:$exclude_pad);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `kernel` $kernel `stride` $stride `padding` $padding
    (`ceil_mode` $ceil_mode^)? (`exclude_pad` $exclude_pad^)? attr-dict
    `:` type($input) `->` type($result)
  }];
}

def Kiln_AdaptiveAvgPool2dOp : Kiln_InferOp<"adaptive_avg_pool2d"> {
  let summary = "2-D adaptive average pooling (torch.nn.AdaptiveAvgPool2d).";
  let description = [{
    Averages the input into an `output_size` [h, w] grid; output cell i
    covers input rows `floor(i·H/h)` to `ceil((i+1)·H/h)`. With [1, 1] this
    is global average pooling.

    ```mlir
    %y = kiln.adaptive_avg_pool2d %x output_size [1, 1]
        : tensor<1x2048x7x7xf32> -> tensor<1x2048x1x1xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$output_size);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `output_size` $output_size attr-dict `:` type($input) `->` type($result)
  }];
}

def Kiln_MeanOp : Kiln_InferOp<"mean"> {
  let summary = "Mean over dimensions (Tensor.mean).";
  let description = [{
    Averages over the distinct dimensions `dims`; they are dropped from the
    shape unless `keepdim` is set, which keeps them with size 1.
    ShuffleNetV2 pools globally with `x.mean([2, 3])`.

    ```mlir
    %y = kiln.mean %x dims [2, 3] : tensor<1x1024x7x7xf32> -> tensor<1x1024xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$dims,
                       UnitAttr:$keepdim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `dims` $dims (`keepdim` $keepdim^)? attr-dict
    `:` type($input) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

def Kiln_FlattenOp : Kiln_InferOp<"flatten"> {
  let summary = "Merges a range of dimensions (torch.flatten).";
  let description = [{
    Merges dimensions `start_dim` to `end_dim` (inclusive, non-negative)
    into one.

    ```mlir
    %y = kiln.flatten %x start_dim 1 end_dim 3 : tensor<1x2048x1x1xf32> -> tensor<1x2048xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$start_dim,
                       I64Attr:$end_dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `start_dim` $start_dim `end_dim` $end_dim attr-dict
    `:` type($input) `->` type($result)
  }];
}

def Kiln_ReshapeOp : Kiln_InferOp<"reshape"> {
  let summary = "Reinterprets the shape (Tensor.view / reshape).";
  let description = [{
    `shape` lists the new dimensions; at most one may be −1, inferred from
    the element count, which must not change.

    ```mlir
    %y = kiln.reshape %x shape [1, -1] : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `shape` $shape attr-dict `:` type($input) `->` type($result)
  }];
}

def Kiln_TransposeOp : Kiln_InferOp<"transpose"> {
  let summary = "Swaps two dimensions (torch.transpose).";
  let description = [{
    ```mlir
    %y = kiln.transpose %x dims [1, 2] : tensor<1x2x58x28x28xf32> -> tensor<1x58x2x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `dims` $dims attr-dict `:` type($input) `->` type($result)
  }];
}

def Kiln_ConcatOp : Kiln_InferOp<"concat"> {
  let summary = "Concatenates tensors along a dimension (torch.cat).";
  let description = [{
    All inputs have the same rank and agree on every dimension but `dim`.

    ```mlir
    %y = kiln.concat %a, %b dim 1
        : (tensor<1x8x56x56xf32>, tensor<1x8x56x56xf32>) -> tensor<1x16x56x56xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $inputs `dim` $dim attr-dict `:` functional-type($inputs, results)
  }];
}

def Kiln_SliceOp : Kiln_InferOp<"slice"> {
  let summary = "A strided range of one dimension (x[:, start:end:step]).";
  let description = [{
    Keeps indices `start`, `start + step`, … below `end` of dimension `dim`;
    `0 ≤ start < end ≤ size` and `step ≥ 1` (the frontend resolves Python's
    negative and out-of-range bounds).

    ```mlir
    %y = kiln.slice %x dim 1 start 0 end 20 step 1 : tensor<1x24x56x56xf32> -> tensor<1x20x56x56xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim, I64Attr:$start,
                       I64Attr:$end, I64Attr:$step);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `dim` $dim `start` $start `end` $end `step` $step attr-dict
    `:` type($input) `->` type($result)
  }];
}

def Kiln_SplitOp : Kiln_InferOp<"split"> {
  let summary = "Splits a dimension into consecutive pieces (torch.split).";
  let description = [{
    `sizes` lists the piece sizes, which are positive and add up to the size
    of `dim`; there is one result per piece. `torch.split(x, 2)` of a
    dimension of 5 is `sizes [2, 2, 1]`.

    ```mlir
    %a:3 = kiln.split %x dim 1 sizes [2, 2, 1]
        : tensor<1x5x8x8xf32> -> (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>)
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Kiln_Tensor>:$results);
  let assemblyFormat = [{
    $input `dim` $dim `sizes` $sizes attr-dict `:` type($input) `->` type($results)
  }];
}

def Kiln_ChunkOp : Kiln_InferOp<"chunk"> {
  let summary = "Splits a dimension into at most `chunks` pieces (torch.chunk).";
  let description = [{
    PyTorch semantics: every piece has `ceil(size / chunks)` elements but the
    last, which may be shorter, so fewer than `chunks` pieces can result
    (`torch.chunk` of 5 into 4 gives sizes 2, 2, 1).

    ```mlir
    %a:2 = kiln.chunk %x dim 1 chunks 2
        : tensor<1x116x28x28xf32> -> (tensor<1x58x28x28xf32>, tensor<1x58x28x28xf32>)
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim, I64Attr:$chunks);
  let results = (outs Variadic<Kiln_Tensor>:$results);
  let assemblyFormat = [{
    $input `dim` $dim `chunks` $chunks attr-dict `:` type($input) `->` type($results)
  }];
}

def Kiln_PadOp : Kiln_InferOp<"pad"> {
  let summary = "Pads the two spatial dimensions with a constant (F.pad).";
  let description = [{
    `pads` is [top, left, bottom, right], each at least 0: the N×C×H×W
    input becomes N×C×(top + H + bottom)×(left + W + right), the new
    elements `value`. `F.pad(x, (l, r, t, b), value=v)`; ONNX's constant
    Pad of the spatial dimensions.

    ```mlir
    %y = kiln.pad %x pads [0, 0, 1, 1] value 0.000000e+00
        : tensor<1x16x8x8xf32> -> tensor<1x16x9x9xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$pads,
                       F64Attr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `pads` $pads `value` $value attr-dict `:` type($input) `->` type($result)
  }];
}

def Kiln_UpsampleNearestOp : Kiln_InferOp<"upsample_nearest"> {
  let summary = "Nearest-neighbour upsampling by whole factors (nn.Upsample).";
  let description = [{
    `scale` is [sh, sw], each at least 1: the N×C×H×W input becomes
    N×C×(sh·H)×(sw·W) with `y[n, c, i, j] = x[n, c, i / sh, j / sw]`
    (`nn.Upsample(scale_factor=(sh, sw), mode='nearest')`; ONNX Resize and
    Upsample in nearest mode with whole scales).

    ```mlir
    %y = kiln.upsample_nearest %x scale [2, 2] : tensor<1x16x8x8xf32> -> tensor<1x16x16x16xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$scale);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `scale` $scale attr-dict `:` type($input) `->` type($result)
  }];
}

def Kiln_ChannelShuffleOp : Kiln_InferOp<"channel_shuffle"> {
  let summary = "Interleaves channel groups (torch.nn.ChannelShuffle).";
  let description = [{
    Views the C channels as `groups`×(C/groups), transposes to
    (C/groups)×`groups` and flattens back: output channel `i·groups + g`
    is input channel `g·(C/groups) + i`. ShuffleNetV2's `channel_shuffle`.

    ```mlir
    %y = kiln.channel_shuffle %x groups 2 : tensor<1x116x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$groups);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `groups` $groups attr-dict `:` type($input)";
}

#endif // KILN_OPS_TD
