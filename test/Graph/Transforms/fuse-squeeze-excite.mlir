// RUN: kiln-opt --split-input-file --kiln-fuse-squeeze-excite %s | FileCheck %s

// Tests that a MobileNetV3/GhostNet SE block (pool, 1x1 reduce, relu, 1x1
// expand, hard_sigmoid, mul) becomes one se_gate, and that the multiply
// becomes the input scale of the dense 1x1 conv that consumes it.
// CHECK-LABEL: @se_into_conv
// CHECK-NOT:     kiln.adaptive_avg_pool2d
// CHECK-DAG:     %[[W1:.*]] = kiln.param "se.conv_reduce.weight"
// CHECK-DAG:     %[[B1:.*]] = kiln.param "se.conv_reduce.bias"
// CHECK-DAG:     %[[W2:.*]] = kiln.param "se.conv_expand.weight"
// CHECK-DAG:     %[[B2:.*]] = kiln.param "se.conv_expand.bias"
// CHECK:         %[[GATE:.*]] = kiln.se_gate %arg0, %[[W1]], %[[B1]], %[[W2]], %[[B2]] activation relu gate hard_sigmoid
// CHECK-SAME:      kiln.fused = ["se.avg_pool", "se.conv_reduce", "se.act1", "se.conv_expand", "hard_sigmoid"]
// CHECK-SAME:      : (tensor<1x72x28x28xf32>, tensor<20x72x1x1xf32>, tensor<20xf32>, tensor<72x20x1x1xf32>, tensor<72xf32>) -> tensor<1x72xf32>
// CHECK:         %[[W3:.*]] = kiln.param "conv_pwl.weight"
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %[[W3]] scale %[[GATE]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
// CHECK-SAME:      kiln.fused = ["mul", "conv_pwl"], kiln.layer = #kiln.layer<"conv_pwl", "Conv2d">
// CHECK-SAME:      (tensor<1x72x28x28xf32>, tensor<40x72x1x1xf32>, tensor<1x72xf32>) -> tensor<1x40x28x28xf32>
// CHECK-NOT:     kiln.mul
// CHECK:         return %[[CONV]]
func.func @se_into_conv(%x: tensor<1x72x28x28xf32>) -> tensor<1x40x28x28xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] {kiln.layer = #kiln.layer<"se.avg_pool", "AdaptiveAvgPool2d">}
      : tensor<1x72x28x28xf32> -> tensor<1x72x1x1xf32>
  %w1 = kiln.param "se.conv_reduce.weight" parameter : tensor<20x72x1x1xf32>
  %b1 = kiln.param "se.conv_reduce.bias" parameter : tensor<20xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"se.conv_reduce", "Conv2d">}
      : (tensor<1x72x1x1xf32>, tensor<20x72x1x1xf32>, tensor<20xf32>) -> tensor<1x20x1x1xf32>
  %a = kiln.relu %r {kiln.layer = #kiln.layer<"se.act1", "ReLU">} : tensor<1x20x1x1xf32>
  %w2 = kiln.param "se.conv_expand.weight" parameter : tensor<72x20x1x1xf32>
  %b2 = kiln.param "se.conv_expand.bias" parameter : tensor<72xf32>
  %e = kiln.conv2d %a, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"se.conv_expand", "Conv2d">}
      : (tensor<1x20x1x1xf32>, tensor<72x20x1x1xf32>, tensor<72xf32>) -> tensor<1x72x1x1xf32>
  %g = kiln.hard_sigmoid %e : tensor<1x72x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x72x28x28xf32>, tensor<1x72x1x1xf32> -> tensor<1x72x28x28xf32>
  %w3 = kiln.param "conv_pwl.weight" parameter : tensor<40x72x1x1xf32>
  %o = kiln.conv2d %y, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"conv_pwl", "Conv2d">}
      : (tensor<1x72x28x28xf32>, tensor<40x72x1x1xf32>) -> tensor<1x40x28x28xf32>
  return %o : tensor<1x40x28x28xf32>
}

// -----

// Tests that the SE of EfficientNet's form also fuses: pooling by
// x.mean([2, 3], keepdim=True), a sigmoid gate, and the gate on the left of
// the multiply; the consumer's bias stays.
// CHECK-LABEL: @mean_sigmoid_gate_left
// CHECK-NOT:     kiln.mean
// CHECK:         %[[GATE:.*]] = kiln.se_gate %arg0, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} activation hard_swish gate sigmoid
// CHECK-SAME:      -> tensor<2x32xf32>
// CHECK:         kiln.conv2d %arg0, %{{.*}} bias %{{.*}} scale %[[GATE]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
// CHECK-SAME:      -> tensor<2x16x14x14xf32>
func.func @mean_sigmoid_gate_left(%x: tensor<2x32x14x14xf32>) -> tensor<2x16x14x14xf32> {
  %p = kiln.mean %x dims [3, 2] keepdim : tensor<2x32x14x14xf32> -> tensor<2x32x1x1xf32>
  %w1 = kiln.param "se.fc1.weight" parameter : tensor<8x32x1x1xf32>
  %b1 = kiln.param "se.fc1.bias" parameter : tensor<8xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<2x32x1x1xf32>, tensor<8x32x1x1xf32>, tensor<8xf32>) -> tensor<2x8x1x1xf32>
  %a = kiln.hard_swish %r : tensor<2x8x1x1xf32>
  %w2 = kiln.param "se.fc2.weight" parameter : tensor<32x8x1x1xf32>
  %b2 = kiln.param "se.fc2.bias" parameter : tensor<32xf32>
  %e = kiln.conv2d %a, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<2x8x1x1xf32>, tensor<32x8x1x1xf32>, tensor<32xf32>) -> tensor<2x32x1x1xf32>
  %g = kiln.sigmoid %e : tensor<2x32x1x1xf32>
  %y = kiln.mul %g, %x : tensor<2x32x1x1xf32>, tensor<2x32x14x14xf32> -> tensor<2x32x14x14xf32>
  %w3 = kiln.param "project.weight" parameter : tensor<16x32x1x1xf32>
  %b3 = kiln.param "project.bias" parameter : tensor<16xf32>
  %o = kiln.conv2d %y, %w3 bias %b3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<2x32x14x14xf32>, tensor<16x32x1x1xf32>, tensor<16xf32>) -> tensor<2x16x14x14xf32>
  return %o : tensor<2x16x14x14xf32>
}

// -----

// Tests that a reduce conv with its activation already fused (no separate
// relu op) gives the gate that activation.
// CHECK-LABEL: @reduce_with_fused_activation
// CHECK:         %[[GATE:.*]] = kiln.se_gate %arg0, {{.*}} activation relu6 gate hard_sigmoid
// CHECK:         kiln.conv2d %arg0, %{{.*}} scale %[[GATE]]
// CHECK-NOT:     kiln.mul
func.func @reduce_with_fused_activation(%x: tensor<1x16x8x8xf32>) -> tensor<1x24x8x8xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %b1 = kiln.param "se.reduce.bias" parameter : tensor<4xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %r, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.hard_sigmoid %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  %w3 = kiln.param "conv.weight" parameter : tensor<24x16x3x3xf32>
  %o = kiln.conv2d %y, %w3 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<24x16x3x3xf32>) -> tensor<1x24x8x8xf32>
  return %o : tensor<1x24x8x8xf32>
}

// -----

// Tests that when the gated tensor feeds a depthwise conv, the gate is
// still one kernel but the multiply stays, as mul of x and a reshape of the
// N x C gate (a depthwise conv takes no input scale).
// CHECK-LABEL: @se_before_depthwise
// CHECK:         %[[GATE:.*]] = kiln.se_gate %arg0, {{.*}} activation relu gate hard_sigmoid {{.*}} -> tensor<1x72xf32>
// CHECK:         %[[G4:.*]] = kiln.reshape %[[GATE]] shape [1, 72, 1, 1] : tensor<1x72xf32> -> tensor<1x72x1x1xf32>
// CHECK:         %[[MUL:.*]] = kiln.mul %arg0, %[[G4]] : tensor<1x72x28x28xf32>, tensor<1x72x1x1xf32> -> tensor<1x72x28x28xf32>
// CHECK:         kiln.conv2d %[[MUL]], %{{.*}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 72 :
// CHECK-NOT:     scale
func.func @se_before_depthwise(%x: tensor<1x72x28x28xf32>) -> tensor<1x72x28x28xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x72x28x28xf32> -> tensor<1x72x1x1xf32>
  %w1 = kiln.param "se.conv_reduce.weight" parameter : tensor<20x72x1x1xf32>
  %b1 = kiln.param "se.conv_reduce.bias" parameter : tensor<20xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x72x1x1xf32>, tensor<20x72x1x1xf32>, tensor<20xf32>) -> tensor<1x20x1x1xf32>
  %a = kiln.relu %r : tensor<1x20x1x1xf32>
  %w2 = kiln.param "se.conv_expand.weight" parameter : tensor<72x20x1x1xf32>
  %b2 = kiln.param "se.conv_expand.bias" parameter : tensor<72xf32>
  %e = kiln.conv2d %a, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x20x1x1xf32>, tensor<72x20x1x1xf32>, tensor<72xf32>) -> tensor<1x72x1x1xf32>
  %g = kiln.hard_sigmoid %e : tensor<1x72x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x72x28x28xf32>, tensor<1x72x1x1xf32> -> tensor<1x72x28x28xf32>
  %w3 = kiln.param "dw.weight" parameter : tensor<72x1x3x3xf32>
  %o = kiln.conv2d %y, %w3 stride [1, 1] padding [1, 1] dilation [1, 1] groups 72
      : (tensor<1x72x28x28xf32>, tensor<72x1x3x3xf32>) -> tensor<1x72x28x28xf32>
  return %o : tensor<1x72x28x28xf32>
}

// -----

// Tests that a gated tensor with two users (here a conv and the residual
// add) keeps its multiply, with the gate on the right even when it was on
// the left.
// CHECK-LABEL: @gated_two_users
// CHECK:         %[[GATE:.*]] = kiln.se_gate %arg0, {{.*}} activation relu gate sigmoid
// CHECK:         %[[G4:.*]] = kiln.reshape %[[GATE]] shape [1, 16, 1, 1]
// CHECK:         %[[MUL:.*]] = kiln.mul %arg0, %[[G4]]
// CHECK:         %[[CONV:.*]] = kiln.conv2d %[[MUL]], %{{.*}} stride
// CHECK:         kiln.add %[[CONV]], %[[MUL]]
func.func @gated_two_users(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %b1 = kiln.param "se.reduce.bias" parameter : tensor<4xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %a = kiln.relu %r : tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %a, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.sigmoid %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %g, %x : tensor<1x16x1x1xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  %w3 = kiln.param "conv.weight" parameter : tensor<16x16x1x1xf32>
  %o = kiln.conv2d %y, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %s = kiln.add %o, %y : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %s : tensor<1x16x8x8xf32>
}

// -----

// Tests that a gated tensor returned from the function keeps its multiply.
// CHECK-LABEL: @gated_returned
// CHECK:         %[[GATE:.*]] = kiln.se_gate
// CHECK:         %[[G4:.*]] = kiln.reshape %[[GATE]]
// CHECK:         %[[MUL:.*]] = kiln.mul %arg0, %[[G4]]
// CHECK:         return %[[MUL]]
func.func @gated_returned(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %b1 = kiln.param "se.reduce.bias" parameter : tensor<4xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %a = kiln.relu %r : tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %a, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.hard_sigmoid %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Tests that a block gated by relu (not sigmoid or hard_sigmoid) is not an
// SE block and is left alone.
// CHECK-LABEL: @relu_gate
// CHECK-NOT:     kiln.se_gate
// CHECK:         kiln.adaptive_avg_pool2d
// CHECK:         %[[G:.*]] = kiln.relu
// CHECK:         kiln.mul %arg0, %[[G]]
func.func @relu_gate(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %b1 = kiln.param "se.reduce.bias" parameter : tensor<4xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %r, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.relu %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Tests that an SE block whose pooled vector has a second user is left
// alone (se_gate does not expose the pooled vector).
// CHECK-LABEL: @pool_second_user
// CHECK-NOT:     kiln.se_gate
// CHECK:         %[[P:.*]] = kiln.adaptive_avg_pool2d %arg0
// CHECK:         %[[Y:.*]] = kiln.mul %arg0, %{{.*}}
// CHECK:         return %[[Y]], %[[P]]
func.func @pool_second_user(%x: tensor<1x16x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32>) {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %b1 = kiln.param "se.reduce.bias" parameter : tensor<4xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %r, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.sigmoid %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y, %p : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32>
}

// -----

// Tests that a gate computed from another tensor than the one it
// multiplies (pool of %y, mul of %x) is not an SE block.
// CHECK-LABEL: @gate_of_other_tensor
// CHECK-NOT:     kiln.se_gate
// CHECK:         kiln.adaptive_avg_pool2d %arg1
// CHECK:         kiln.mul %arg0, %{{.*}}
func.func @gate_of_other_tensor(%x: tensor<1x16x8x8xf32>, %z: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %p = kiln.adaptive_avg_pool2d %z output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %b1 = kiln.param "se.reduce.bias" parameter : tensor<4xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %r, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.sigmoid %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Tests that a block whose reduce conv has no bias is left alone (se_gate
// takes both biases).
// CHECK-LABEL: @reduce_without_bias
// CHECK-NOT:     kiln.se_gate
// CHECK:         kiln.mul %arg0
func.func @reduce_without_bias(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %w1 = kiln.param "se.reduce.weight" parameter : tensor<4x16x1x1xf32>
  %r = kiln.conv2d %p, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x1x1xf32>, tensor<4x16x1x1xf32>) -> tensor<1x4x1x1xf32>
  %w2 = kiln.param "se.expand.weight" parameter : tensor<16x4x1x1xf32>
  %b2 = kiln.param "se.expand.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %r, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x1x1xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16x1x1xf32>
  %g = kiln.hard_sigmoid %e : tensor<1x16x1x1xf32>
  %y = kiln.mul %x, %g : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Tests that a padded reduce conv, whose gate varies across the image, is
// not taken for an SE block.
// CHECK-LABEL: @padded_reduce
// CHECK-NOT: kiln.se_gate
func.func @padded_reduce(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %w1 = kiln.param "r.weight" parameter : tensor<2x8x1x1xf32>
  %b1 = kiln.param "r.bias" parameter : tensor<2xf32>
  %w2 = kiln.param "e.weight" parameter : tensor<8x2x1x1xf32>
  %b2 = kiln.param "e.bias" parameter : tensor<8xf32>
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x8x4x4xf32> -> tensor<1x8x1x1xf32>
  %r = kiln.conv2d %p, %w1 bias %b1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x1x1xf32>, tensor<2x8x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %a = kiln.relu %r : tensor<1x2x3x3xf32>
  %e = kiln.conv2d %a, %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x2x3x3xf32>, tensor<8x2x1x1xf32>, tensor<8xf32>) -> tensor<1x8x3x3xf32>
  %g = kiln.hard_sigmoid %e : tensor<1x8x3x3xf32>
  %p2 = kiln.adaptive_avg_pool2d %g output_size [1, 1] : tensor<1x8x3x3xf32> -> tensor<1x8x1x1xf32>
  %y = kiln.mul %x, %p2 : tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32> -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
