// RUN: kiln-opt --split-input-file --kiln-fold-batch-norm %s | FileCheck %s

// Tests that a batch norm after a bias-free conv folds into the conv's
// weights and a new bias, and that the conv keeps its layer and records both.
// CHECK-LABEL: @conv_bn
// CHECK-DAG:     %[[W:.*]] = kiln.param "conv1.weight" parameter : tensor<16x3x3x3xf32>
// CHECK-DAG:     %[[GAMMA:.*]] = kiln.param "bn1.weight" parameter : tensor<16xf32>
// CHECK-DAG:     %[[BETA:.*]] = kiln.param "bn1.bias" parameter : tensor<16xf32>
// CHECK-DAG:     %[[MEAN:.*]] = kiln.param "bn1.running_mean" buffer : tensor<16xf32>
// CHECK-DAG:     %[[VAR:.*]] = kiln.param "bn1.running_var" buffer : tensor<16xf32>
// CHECK:         %[[FW:.*]] = kiln.fold_bn_weight %[[W]], %[[GAMMA]], %[[VAR]] epsilon 1.000000e-05 : tensor<16x3x3x3xf32>, tensor<16xf32>, tensor<16xf32>
// CHECK:         %[[FB:.*]] = kiln.fold_bn_bias %[[GAMMA]], %[[BETA]], %[[MEAN]], %[[VAR]] epsilon 1.000000e-05 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %[[FW]] bias %[[FB]] stride [2, 2] padding [1, 1] dilation [1, 1] groups 1
// CHECK-SAME:      kiln.fused = ["conv1", "bn1"], kiln.layer = #kiln.layer<"conv1", "Conv2d">
// CHECK-SAME:      -> tensor<1x16x16x16xf32>
// CHECK-NOT:     kiln.batch_norm
// CHECK:         %[[RELU:.*]] = kiln.relu %[[CONV]]
// CHECK:         return %[[RELU]]
func.func @conv_bn(%x: tensor<1x3x32x32xf32>) -> tensor<1x16x16x16xf32> {
  %w = kiln.param "conv1.weight" parameter : tensor<16x3x3x3xf32>
  %c = kiln.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"conv1", "Conv2d">}
      : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x16x16xf32>
  %g = kiln.param "bn1.weight" parameter : tensor<16xf32>
  %be = kiln.param "bn1.bias" parameter : tensor<16xf32>
  %m = kiln.param "bn1.running_mean" buffer : tensor<16xf32>
  %v = kiln.param "bn1.running_var" buffer : tensor<16xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05 {kiln.layer = #kiln.layer<"bn1", "BatchNorm2d">}
      : tensor<1x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %r = kiln.relu %n : tensor<1x16x16x16xf32>
  return %r : tensor<1x16x16x16xf32>
}

// -----

// Tests that the conv's own bias is passed to the folded bias, so that
// b' = (b - mean) * gamma / sqrt(var + eps) + beta.
// CHECK-LABEL: @conv_bias_bn
// CHECK-DAG:     %[[W:.*]] = kiln.param "features.0.weight"
// CHECK-DAG:     %[[B:.*]] = kiln.param "features.0.bias"
// CHECK:         %[[FW:.*]] = kiln.fold_bn_weight %[[W]], %{{.*}}, %{{.*}} epsilon 1.000000e-03
// CHECK:         %[[FB:.*]] = kiln.fold_bn_bias %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias %[[B]] epsilon 1.000000e-03
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %[[FW]] bias %[[FB]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
// CHECK-NOT:     kiln.batch_norm
// CHECK:         return %[[CONV]]
func.func @conv_bias_bn(%x: tensor<1x8x14x14xf32>) -> tensor<1x8x14x14xf32> {
  %w = kiln.param "features.0.weight" parameter : tensor<8x8x3x3xf32>
  %b = kiln.param "features.0.bias" parameter : tensor<8xf32>
  %c = kiln.conv2d %x, %w bias %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x14x14xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x14x14xf32>
  %g = kiln.param "features.1.weight" parameter : tensor<8xf32>
  %be = kiln.param "features.1.bias" parameter : tensor<8xf32>
  %m = kiln.param "features.1.running_mean" buffer : tensor<8xf32>
  %v = kiln.param "features.1.running_var" buffer : tensor<8xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-03
      : tensor<1x8x14x14xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return %n : tensor<1x8x14x14xf32>
}

// -----

// Tests that a batch norm after a depthwise conv folds too (one weight
// row per output channel, whatever the groups).
// CHECK-LABEL: @depthwise_bn
// CHECK:         %[[FW:.*]] = kiln.fold_bn_weight %{{.*}}, %{{.*}}, %{{.*}} epsilon 1.000000e-05 : tensor<32x1x3x3xf32>, tensor<32xf32>, tensor<32xf32>
// CHECK:         %[[FB:.*]] = kiln.fold_bn_bias
// CHECK:         kiln.conv2d %arg0, %[[FW]] bias %[[FB]] stride [2, 2] padding [1, 1] dilation [1, 1] groups 32
// CHECK-NOT:     kiln.batch_norm
func.func @depthwise_bn(%x: tensor<1x32x28x28xf32>) -> tensor<1x32x14x14xf32> {
  %w = kiln.param "dw.weight" parameter : tensor<32x1x3x3xf32>
  %c = kiln.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 32
      : (tensor<1x32x28x28xf32>, tensor<32x1x3x3xf32>) -> tensor<1x32x14x14xf32>
  %g = kiln.param "bn.weight" parameter : tensor<32xf32>
  %be = kiln.param "bn.bias" parameter : tensor<32xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<32xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<32xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x32x14x14xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>
  return %n : tensor<1x32x14x14xf32>
}

// -----

// Tests that a BatchNorm1d after a linear layer on N x IN folds into the
// linear's weights and bias.
// CHECK-LABEL: @linear_bn1d
// CHECK-DAG:     %[[W:.*]] = kiln.param "fc.weight" parameter : tensor<300x784xf32>
// CHECK-DAG:     %[[B:.*]] = kiln.param "fc.bias" parameter : tensor<300xf32>
// CHECK:         %[[FW:.*]] = kiln.fold_bn_weight %[[W]], %{{.*}}, %{{.*}} epsilon 1.000000e-05 : tensor<300x784xf32>, tensor<300xf32>, tensor<300xf32>
// CHECK:         %[[FB:.*]] = kiln.fold_bn_bias %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias %[[B]] epsilon 1.000000e-05
// CHECK:         %[[FC:.*]] = kiln.linear %arg0, %[[FW]] bias %[[FB]] {kiln.fused = ["linear", "batch_norm"]} : (tensor<4x784xf32>, tensor<300x784xf32>, tensor<300xf32>) -> tensor<4x300xf32>
// CHECK-NOT:     kiln.batch_norm
// CHECK:         kiln.relu %[[FC]]
func.func @linear_bn1d(%x: tensor<4x784xf32>) -> tensor<4x300xf32> {
  %w = kiln.param "fc.weight" parameter : tensor<300x784xf32>
  %b = kiln.param "fc.bias" parameter : tensor<300xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<4x784xf32>, tensor<300x784xf32>, tensor<300xf32>) -> tensor<4x300xf32>
  %g = kiln.param "bn.weight" parameter : tensor<300xf32>
  %be = kiln.param "bn.bias" parameter : tensor<300xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<300xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<300xf32>
  %n = kiln.batch_norm %y, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<4x300xf32>, tensor<300xf32>, tensor<300xf32>, tensor<300xf32>, tensor<300xf32>
  %r = kiln.relu %n : tensor<4x300xf32>
  return %r : tensor<4x300xf32>
}

// -----

// Tests that a batch norm is left alone when the conv result has a second
// user, which needs the unnormalized values.
// CHECK-LABEL: @conv_second_user
// CHECK-NOT:     kiln.fold_bn_weight
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} stride [1, 1]
// CHECK:         %[[BN:.*]] = kiln.batch_norm %[[CONV]]
// CHECK:         kiln.add %[[BN]], %[[CONV]]
func.func @conv_second_user(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x1x1xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %g = kiln.param "bn.weight" parameter : tensor<16xf32>
  %be = kiln.param "bn.bias" parameter : tensor<16xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<16xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<16xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %a = kiln.add %n, %c : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %a : tensor<1x16x8x8xf32>
}

// -----

// Tests that batch-norm statistics passed as function arguments (not
// kiln.param weights) are not folded: the prepare step could not evaluate
// the weight transforms.
// CHECK-LABEL: @stats_are_arguments
// CHECK-NOT:     kiln.fold_bn_weight
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0
// CHECK:         kiln.batch_norm %[[CONV]], %arg1, %arg2, %arg3, %arg4
func.func @stats_are_arguments(%x: tensor<1x16x8x8xf32>, %g: tensor<16xf32>, %be: tensor<16xf32>,
                               %m: tensor<16xf32>, %v: tensor<16xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  return %n : tensor<1x16x8x8xf32>
}

// -----

// Tests that a conv whose weight is a function argument is not folded
// either.
// CHECK-LABEL: @weight_is_argument
// CHECK-NOT:     kiln.fold_bn_weight
// CHECK:         kiln.batch_norm
func.func @weight_is_argument(%x: tensor<1x16x8x8xf32>, %w: tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32> {
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %g = kiln.param "bn.weight" parameter : tensor<16xf32>
  %be = kiln.param "bn.bias" parameter : tensor<16xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<16xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<16xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  return %n : tensor<1x16x8x8xf32>
}

// -----

// Tests that a BatchNorm1d on the 3-D output of a linear layer is left
// alone: it normalizes dimension 1 (L), not the linear's output features.
// CHECK-LABEL: @linear_3d_bn
// CHECK-NOT:     kiln.fold_bn_weight
// CHECK:         %[[FC:.*]] = kiln.linear %arg0, %{{.*}} bias %{{.*}} : (tensor<2x6x32xf32>, tensor<6x32xf32>, tensor<6xf32>) -> tensor<2x6x6xf32>
// CHECK:         kiln.batch_norm %[[FC]], {{.*}} : tensor<2x6x6xf32>
func.func @linear_3d_bn(%x: tensor<2x6x32xf32>) -> tensor<2x6x6xf32> {
  %w = kiln.param "fc.weight" parameter : tensor<6x32xf32>
  %b = kiln.param "fc.bias" parameter : tensor<6xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<2x6x32xf32>, tensor<6x32xf32>, tensor<6xf32>) -> tensor<2x6x6xf32>
  %g = kiln.param "bn.weight" parameter : tensor<6xf32>
  %be = kiln.param "bn.bias" parameter : tensor<6xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<6xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<6xf32>
  %n = kiln.batch_norm %y, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<2x6x6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>
  return %n : tensor<2x6x6xf32>
}

// -----

// Tests that a batch norm after a conv with a fused activation is left
// alone: the affine map no longer directly follows the conv's sum.
// CHECK-LABEL: @conv_with_activation
// CHECK-NOT:     kiln.fold_bn_weight
// CHECK:         %[[CONV:.*]] = kiln.conv2d {{.*}} activation relu
// CHECK:         kiln.batch_norm %[[CONV]]
func.func @conv_with_activation(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %g = kiln.param "bn.weight" parameter : tensor<16xf32>
  %be = kiln.param "bn.bias" parameter : tensor<16xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<16xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<16xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  return %n : tensor<1x16x8x8xf32>
}

// -----

// Tests that a batch norm whose input is not a conv or linear (a
// pre-activation block's bn(relu(x))) is left alone.
// CHECK-LABEL: @bn_after_relu
// CHECK-NOT:     kiln.fold_bn_weight
// CHECK:         %[[RELU:.*]] = kiln.relu %arg0
// CHECK:         kiln.batch_norm %[[RELU]]
func.func @bn_after_relu(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %r = kiln.relu %x : tensor<1x16x8x8xf32>
  %g = kiln.param "bn.weight" parameter : tensor<16xf32>
  %be = kiln.param "bn.bias" parameter : tensor<16xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<16xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<16xf32>
  %n = kiln.batch_norm %r, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  return %n : tensor<1x16x8x8xf32>
}
