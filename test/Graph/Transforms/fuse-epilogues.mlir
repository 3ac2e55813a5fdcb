// RUN: kiln-opt --split-input-file --kiln-fuse-epilogues %s | FileCheck %s

// Tests that an activation after a conv becomes the conv's activation.
// CHECK-LABEL: @conv_relu
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} bias %{{.*}} stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 activation relu
// CHECK-SAME:      kiln.fused = ["conv1", "relu"]
// CHECK-NOT:     kiln.relu
// CHECK:         return %[[CONV]]
func.func @conv_relu(%x: tensor<1x3x32x32xf32>) -> tensor<1x16x16x16xf32> {
  %w = kiln.param "conv1.weight" parameter : tensor<16x3x3x3xf32>
  %b = kiln.param "conv1.bias" parameter : tensor<16xf32>
  %c = kiln.conv2d %x, %w bias %b stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"conv1", "Conv2d">}
      : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x16x16xf32>
  %r = kiln.relu %c : tensor<1x16x16x16xf32>
  return %r : tensor<1x16x16x16xf32>
}

// -----

// Tests that ResNet's relu(conv3(x) + identity) becomes one conv with a
// residual and an activation, at the position of the relu.
// CHECK-LABEL: @bottleneck_tail
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} bias %{{.*}} residual %arg1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
// CHECK-SAME:      kiln.fused = ["layer1.0.conv3", "add", "layer1.0.relu"], kiln.layer = #kiln.layer<"layer1.0.conv3", "Conv2d">
// CHECK-SAME:      (tensor<1x64x8x8xf32>, tensor<256x64x1x1xf32>, tensor<256xf32>, tensor<1x256x8x8xf32>) -> tensor<1x256x8x8xf32>
// CHECK-NOT:     kiln.add
// CHECK-NOT:     kiln.relu
// CHECK:         return %[[CONV]]
func.func @bottleneck_tail(%x: tensor<1x64x8x8xf32>, %id: tensor<1x256x8x8xf32>) -> tensor<1x256x8x8xf32> {
  %w = kiln.param "layer1.0.conv3.weight" parameter : tensor<256x64x1x1xf32>
  %b = kiln.param "layer1.0.conv3.bias" parameter : tensor<256xf32>
  %c = kiln.conv2d %x, %w bias %b stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer1.0.conv3", "Conv2d">}
      : (tensor<1x64x8x8xf32>, tensor<256x64x1x1xf32>, tensor<256xf32>) -> tensor<1x256x8x8xf32>
  %a = kiln.add %c, %id : tensor<1x256x8x8xf32>, tensor<1x256x8x8xf32> -> tensor<1x256x8x8xf32>
  %r = kiln.relu %a {kiln.layer = #kiln.layer<"layer1.0.relu", "ReLU">} : tensor<1x256x8x8xf32>
  return %r : tensor<1x256x8x8xf32>
}

// -----

// Tests that the conv may be the right operand of the add (MobileNetV2's
// x + conv(x)).
// CHECK-LABEL: @add_conv_on_right
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} residual %arg0 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.fused = ["conv2d", "add"]}
// CHECK-NOT:     kiln.add
// CHECK:         return %[[CONV]]
func.func @add_conv_on_right(%x: tensor<1x24x28x28xf32>) -> tensor<1x24x28x28xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<24x24x1x1xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x24x28x28xf32>, tensor<24x24x1x1xf32>) -> tensor<1x24x28x28xf32>
  %a = kiln.add %x, %c : tensor<1x24x28x28xf32>, tensor<1x24x28x28xf32> -> tensor<1x24x28x28xf32>
  return %a : tensor<1x24x28x28xf32>
}

// -----

// Tests that in a downsampling block, relu(conv3(y) + downsample(x)), the
// first conv takes the downsample conv's result as its residual and moves
// after it.
// CHECK-LABEL: @downsample_residual
// CHECK:         %[[DS:.*]] = kiln.conv2d %arg1, %{{.*}} stride [2, 2] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer2.0.downsample.0", "Conv2d">}
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} residual %[[DS]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
// CHECK-NOT:     kiln.add
// CHECK:         return %[[CONV]]
func.func @downsample_residual(%y: tensor<1x32x4x4xf32>, %x: tensor<1x64x8x8xf32>) -> tensor<1x128x4x4xf32> {
  %w3 = kiln.param "layer2.0.conv3.weight" parameter : tensor<128x32x1x1xf32>
  %c3 = kiln.conv2d %y, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer2.0.conv3", "Conv2d">}
      : (tensor<1x32x4x4xf32>, tensor<128x32x1x1xf32>) -> tensor<1x128x4x4xf32>
  %wd = kiln.param "layer2.0.downsample.0.weight" parameter : tensor<128x64x1x1xf32>
  %ds = kiln.conv2d %x, %wd stride [2, 2] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer2.0.downsample.0", "Conv2d">}
      : (tensor<1x64x8x8xf32>, tensor<128x64x1x1xf32>) -> tensor<1x128x4x4xf32>
  %a = kiln.add %c3, %ds : tensor<1x128x4x4xf32>, tensor<1x128x4x4xf32> -> tensor<1x128x4x4xf32>
  %r = kiln.relu %a : tensor<1x128x4x4xf32>
  return %r : tensor<1x128x4x4xf32>
}

// -----

// Tests that linear(flatten(adaptive_avg_pool2d(x, 1))) becomes a linear
// layer with global pooling, which takes its activation too.
// CHECK-LABEL: @pool_flatten_linear
// CHECK:         %[[FC:.*]] = kiln.linear %arg0, %{{.*}} bias %{{.*}} pool activation sigmoid
// CHECK-SAME:      kiln.fused = ["avgpool", "flatten", "fc", "sigmoid"]
// CHECK-SAME:      (tensor<1x512x7x7xf32>, tensor<10x512xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// CHECK-NOT:     kiln.adaptive_avg_pool2d
// CHECK-NOT:     kiln.flatten
// CHECK:         return %[[FC]]
func.func @pool_flatten_linear(%x: tensor<1x512x7x7xf32>) -> tensor<1x10xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] {kiln.layer = #kiln.layer<"avgpool", "AdaptiveAvgPool2d">}
      : tensor<1x512x7x7xf32> -> tensor<1x512x1x1xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 3 : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
  %w = kiln.param "fc.weight" parameter : tensor<10x512xf32>
  %b = kiln.param "fc.bias" parameter : tensor<10xf32>
  %y = kiln.linear %f, %w bias %b {kiln.layer = #kiln.layer<"fc", "Linear">}
      : (tensor<1x512xf32>, tensor<10x512xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %s = kiln.sigmoid %y : tensor<1x10xf32>
  return %s : tensor<1x10xf32>
}

// -----

// Tests that ShuffleNetV2's linear(x.mean([2, 3])) becomes a linear layer
// with global pooling.
// CHECK-LABEL: @mean_linear
// CHECK:         %[[FC:.*]] = kiln.linear %arg0, %{{.*}} bias %{{.*}} pool
// CHECK-SAME:      (tensor<2x64x7x7xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<2x10xf32>
// CHECK-NOT:     kiln.mean
// CHECK:         return %[[FC]]
func.func @mean_linear(%x: tensor<2x64x7x7xf32>) -> tensor<2x10xf32> {
  %m = kiln.mean %x dims [2, 3] : tensor<2x64x7x7xf32> -> tensor<2x64xf32>
  %w = kiln.param "fc.weight" parameter : tensor<10x64xf32>
  %b = kiln.param "fc.bias" parameter : tensor<10xf32>
  %y = kiln.linear %m, %w bias %b : (tensor<2x64xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// -----

// Tests that a linear layer takes a following relu and a residual add of
// the same shape.
// CHECK-LABEL: @linear_add_relu
// CHECK:         %[[FC:.*]] = kiln.linear %arg0, %{{.*}} bias %{{.*}} residual %arg1 activation relu
// CHECK-SAME:      -> tensor<4x64xf32>
// CHECK-NOT:     kiln.add
// CHECK:         return %[[FC]]
func.func @linear_add_relu(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %w = kiln.param "fc.weight" parameter : tensor<64x64xf32>
  %b = kiln.param "fc.bias" parameter : tensor<64xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<4x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %a = kiln.add %y, %r : tensor<4x64xf32>, tensor<4x64xf32> -> tensor<4x64xf32>
  %s = kiln.relu %a : tensor<4x64xf32>
  return %s : tensor<4x64xf32>
}

// -----

// Tests that nothing fuses into a conv whose result has a second user.
// CHECK-LABEL: @conv_second_user
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK:         %[[RELU:.*]] = kiln.relu %[[CONV]]
// CHECK:         kiln.add %[[RELU]], %[[CONV]]
func.func @conv_second_user(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %r = kiln.relu %c : tensor<1x16x8x8xf32>
  %a = kiln.add %r, %c : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %a : tensor<1x16x8x8xf32>
}

// -----

// Tests that an add that broadcasts the other operand (a per-channel
// N x C x 1 x 1 term) does not become a residual.
// CHECK-LABEL: @add_broadcast
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK:         %[[ADD:.*]] = kiln.add %[[CONV]], %arg1 : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
// CHECK:         return %[[ADD]]
func.func @add_broadcast(%x: tensor<1x16x8x8xf32>, %t: tensor<1x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %a = kiln.add %c, %t : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %a : tensor<1x16x8x8xf32>
}

// -----

// Tests that an add after an activation does not fuse (the residual is
// added before the activation), while the activation does.
// CHECK-LABEL: @relu_then_add
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, {{.*}} activation relu6
// CHECK:         %[[ADD:.*]] = kiln.add %[[CONV]], %arg0
// CHECK:         return %[[ADD]]
func.func @relu_then_add(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %r = kiln.relu6 %c : tensor<1x16x8x8xf32>
  %a = kiln.add %r, %x : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %a : tensor<1x16x8x8xf32>
}

// -----

// Tests that a second activation after a fused one stays an op.
// CHECK-LABEL: @two_activations
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, {{.*}} activation relu
// CHECK:         %[[SIG:.*]] = kiln.sigmoid %[[CONV]]
// CHECK:         return %[[SIG]]
func.func @two_activations(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %r = kiln.relu %c : tensor<1x16x8x8xf32>
  %s = kiln.sigmoid %r : tensor<1x16x8x8xf32>
  return %s : tensor<1x16x8x8xf32>
}

// -----

// Tests that global pooling whose pooled tensor has a second user does not
// fuse into the linear layer.
// CHECK-LABEL: @pool_second_user
// CHECK:         %[[P:.*]] = kiln.adaptive_avg_pool2d %arg0
// CHECK:         %[[F:.*]] = kiln.flatten %[[P]]
// CHECK:         %[[FC:.*]] = kiln.linear %[[F]], %{{.*}} :
// CHECK-NOT:     pool
// CHECK:         return %[[FC]], %[[P]]
func.func @pool_second_user(%x: tensor<1x64x7x7xf32>) -> (tensor<1x10xf32>, tensor<1x64x1x1xf32>) {
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 3 : tensor<1x64x1x1xf32> -> tensor<1x64xf32>
  %w = kiln.param "fc.weight" parameter : tensor<10x64xf32>
  %y = kiln.linear %f, %w : (tensor<1x64xf32>, tensor<10x64xf32>) -> tensor<1x10xf32>
  return %y, %p : tensor<1x10xf32>, tensor<1x64x1x1xf32>
}

// -----

// Tests that adaptive pooling to more than one cell is not global pooling
// and does not fuse.
// CHECK-LABEL: @pool_2x2
// CHECK:         %[[P:.*]] = kiln.adaptive_avg_pool2d %arg0 output_size [2, 2]
// CHECK:         %[[F:.*]] = kiln.flatten %[[P]]
// CHECK:         kiln.linear %[[F]], %{{.*}} : (tensor<1x256xf32>
func.func @pool_2x2(%x: tensor<1x64x7x7xf32>) -> tensor<1x10xf32> {
  %p = kiln.adaptive_avg_pool2d %x output_size [2, 2] : tensor<1x64x7x7xf32> -> tensor<1x64x2x2xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 3 : tensor<1x64x2x2xf32> -> tensor<1x256xf32>
  %w = kiln.param "fc.weight" parameter : tensor<10x256xf32>
  %y = kiln.linear %f, %w : (tensor<1x256xf32>, tensor<10x256xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that a mean that keeps the pooled dimensions, flattened, is not
// fused (only mean over [2, 3] without keepdim is).
// CHECK-LABEL: @mean_keepdim
// CHECK:         %[[M:.*]] = kiln.mean %arg0 dims [2, 3] keepdim
// CHECK:         %[[F:.*]] = kiln.flatten %[[M]]
// CHECK:         kiln.linear %[[F]], %{{.*}} : (tensor<1x64xf32>
func.func @mean_keepdim(%x: tensor<1x64x7x7xf32>) -> tensor<1x10xf32> {
  %m = kiln.mean %x dims [2, 3] keepdim : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
  %f = kiln.flatten %m start_dim 1 end_dim 3 : tensor<1x64x1x1xf32> -> tensor<1x64xf32>
  %w = kiln.param "fc.weight" parameter : tensor<10x64xf32>
  %y = kiln.linear %f, %w : (tensor<1x64xf32>, tensor<10x64xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that an add does not fuse into a conv whose result is the smaller,
// broadcast operand (GCNet's x + conv(pool(x))).
// CHECK-LABEL: @broadcast_conv_result
// CHECK: kiln.conv2d
// CHECK-NOT: residual
// CHECK: kiln.add
func.func @broadcast_conv_result(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "w" parameter : tensor<16x16x1x1xf32>
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %c = kiln.conv2d %p, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x1x1xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x1x1xf32>
  %s = kiln.add %x, %c : tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %s : tensor<1x16x8x8xf32>
}

// -----

// Tests that a flatten that keeps a dimension is not taken for the flatten
// of global pooling.
// CHECK-LABEL: @partial_flatten
// CHECK: kiln.flatten
// CHECK: kiln.linear
// CHECK-NOT: pool
func.func @partial_flatten(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x10xf32> {
  %w = kiln.param "w" parameter : tensor<10x1xf32>
  %p = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 2 : tensor<1x16x1x1xf32> -> tensor<1x16x1xf32>
  %y = kiln.linear %f, %w : (tensor<1x16x1xf32>, tensor<10x1xf32>) -> tensor<1x16x10xf32>
  return %y : tensor<1x16x10xf32>
}

// -----

// Tests that a constant tensor of the layer's shape added to its result is
// not a residual (a residual is an activation the kernel reads).
// CHECK-LABEL: @add_constant
// CHECK:         %[[CONV:.*]] = kiln.conv2d %arg0, %{{.*}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK:         %[[ADD:.*]] = kiln.add %[[CONV]], %{{.*}} : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
// CHECK:         return %[[ADD]]
func.func @add_constant(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %t = kiln.param "pos" buffer : tensor<1x16x8x8xf32>
  %a = kiln.add %c, %t : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %a : tensor<1x16x8x8xf32>
}
