// RUN: kiln-opt --split-input-file --kiln-choose-layout %s | FileCheck %s

// Tests that the NCHW model input is converted to NHWC once, at the top,
// even with three kernels reading it (two convs and a pool), that kernels
// compute NHWC, and that 4-D model outputs are converted back to NCHW.
// CHECK-LABEL: @input_three_consumers
// CHECK-NEXT:    %[[IN:.*]] = kiln.convert_layout %arg0 to nhwc : tensor<1x3x32x32xf32>
// CHECK-NOT:     kiln.convert_layout %arg0
// CHECK:         %[[CONV:.*]] = kiln.conv2d %[[IN]], %{{.*}} stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 {kiln.layout = #kiln<layout nhwc>}
// CHECK-NOT:     kiln.convert_layout %arg0
// CHECK:         %[[PROJ:.*]] = kiln.conv2d %[[IN]], %{{.*}} stride [2, 2] padding [0, 0] dilation [1, 1] groups 1 {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[SUM:.*]] = kiln.add %[[CONV]], %[[PROJ]] {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[SUM_OUT:.*]] = kiln.convert_layout %[[SUM]] to nchw : tensor<1x16x16x16xf32>
// CHECK-NEXT:    %[[POOL:.*]] = kiln.max_pool2d %[[IN]] kernel [2, 2] stride [2, 2] padding [0, 0] dilation [1, 1] {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[POOL_OUT:.*]] = kiln.convert_layout %[[POOL]] to nchw : tensor<1x3x16x16xf32>
// CHECK-NEXT:    return %[[SUM_OUT]], %[[POOL_OUT]]
func.func @input_three_consumers(%x: tensor<1x3x32x32xf32>) -> (tensor<1x16x16x16xf32>, tensor<1x3x16x16xf32>) {
  %w = kiln.param "conv1.weight" parameter : tensor<16x3x3x3xf32>
  %c = kiln.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x16x16xf32>
  %wp = kiln.param "proj.weight" parameter : tensor<16x3x1x1xf32>
  %d = kiln.conv2d %x, %wp stride [2, 2] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x3x32x32xf32>, tensor<16x3x1x1xf32>) -> tensor<1x16x16x16xf32>
  %s = kiln.add %c, %d : tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32> -> tensor<1x16x16x16xf32>
  %p = kiln.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] dilation [1, 1] : tensor<1x3x32x32xf32> -> tensor<1x3x16x16xf32>
  return %s, %p : tensor<1x16x16x16xf32>, tensor<1x3x16x16xf32>
}

// -----

// Tests that elementwise ops compute NHWC and get no conversion before
// them: they run over any strides.
// CHECK-LABEL: @elementwise
// CHECK:         %[[A:.*]] = kiln.conv2d {{.*}} {kiln.layout = #kiln<layout nhwc>}
// CHECK:         %[[B:.*]] = kiln.conv2d {{.*}} {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[SUM:.*]] = kiln.add %[[A]], %[[B]] {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[RELU:.*]] = kiln.relu %[[SUM]] {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[MUL:.*]] = kiln.mul %[[RELU]], %arg1 {kiln.layout = #kiln<layout nhwc>} : tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>
// CHECK-NEXT:    %[[BN:.*]] = kiln.batch_norm %[[MUL]], {{.*}} {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[OUT:.*]] = kiln.convert_layout %[[BN]] to nchw
// CHECK-NEXT:    return %[[OUT]]
func.func @elementwise(%x: tensor<1x8x8x8xf32>, %g: tensor<1x8x1x1xf32>, %s: tensor<8xf32>) -> tensor<1x8x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %b = kiln.conv2d %a, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %sum = kiln.add %a, %b : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
  %r = kiln.relu %sum : tensor<1x8x8x8xf32>
  %m = kiln.mul %r, %g : tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32> -> tensor<1x8x8x8xf32>
  %n = kiln.batch_norm %m, %s, %s, %s, %s epsilon 1.0e-05
      : tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return %n : tensor<1x8x8x8xf32>
}

// -----

// Tests that an elementwise op on the model input also reads it as it is
// (NCHW) and writes NHWC, with no conversion before it.
// CHECK-LABEL: @elementwise_on_input
// CHECK-NOT:     kiln.convert_layout %arg0
// CHECK:         %[[RELU:.*]] = kiln.relu %arg0 {kiln.layout = #kiln<layout nhwc>}
// CHECK-NOT:     kiln.convert_layout
// CHECK:         %[[CONV:.*]] = kiln.conv2d %[[RELU]], %{{.*}} {kiln.layout = #kiln<layout nhwc>}
func.func @elementwise_on_input(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %r = kiln.relu %x : tensor<1x8x8x8xf32>
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %c = kiln.conv2d %r, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  return %c : tensor<1x8x8x8xf32>
}

// -----

// Tests that a flatten of NHWC data with H*W > 1 (a VGG-style classifier)
// gets a conversion to NCHW, so the features are in PyTorch's order, and
// that the 2-D linear gets no layout.
// CHECK-LABEL: @flatten_spatial
// CHECK:         %[[POOL:.*]] = kiln.max_pool2d {{.*}} {kiln.layout = #kiln<layout nhwc>} : tensor<1x16x8x8xf32> -> tensor<1x16x4x4xf32>
// CHECK-NEXT:    %[[ROWS:.*]] = kiln.convert_layout %[[POOL]] to nchw : tensor<1x16x4x4xf32>
// CHECK-NEXT:    %[[FLAT:.*]] = kiln.flatten %[[ROWS]] start_dim 1 end_dim 3 : tensor<1x16x4x4xf32> -> tensor<1x256xf32>
// CHECK:         kiln.linear %[[FLAT]], %{{.*}} : (tensor<1x256xf32>, tensor<10x256xf32>) -> tensor<1x10xf32>
func.func @flatten_spatial(%x: tensor<1x16x8x8xf32>) -> tensor<1x10xf32> {
  %w = kiln.param "features.0.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %p = kiln.max_pool2d %c kernel [2, 2] stride [2, 2] padding [0, 0] dilation [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x4x4xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 3 : tensor<1x16x4x4xf32> -> tensor<1x256xf32>
  %fw = kiln.param "classifier.weight" parameter : tensor<10x256xf32>
  %y = kiln.linear %f, %fw : (tensor<1x256xf32>, tensor<10x256xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that a flatten of N x C x 1 x 1 data gets no conversion: both
// orders are the same there.
// CHECK-LABEL: @flatten_pooled
// CHECK:         %[[POOL:.*]] = kiln.adaptive_avg_pool2d {{.*}} {kiln.layout = #kiln<layout nhwc>} : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
// CHECK-NEXT:    %[[FLAT:.*]] = kiln.flatten %[[POOL]] start_dim 1 end_dim 3
// CHECK-NOT:     kiln.convert_layout
// CHECK:         return
func.func @flatten_pooled(%x: tensor<1x16x8x8xf32>) -> tensor<1x16xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %p = kiln.adaptive_avg_pool2d %c output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 3 : tensor<1x16x1x1xf32> -> tensor<1x16xf32>
  return %f : tensor<1x16xf32>
}

// -----

// Tests that a returned N x C x 1 x 1 tensor is not converted either.
// CHECK-LABEL: @return_pooled
// CHECK:         %[[POOL:.*]] = kiln.adaptive_avg_pool2d
// CHECK-NEXT:    return %[[POOL]]
func.func @return_pooled(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x1x1xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %p = kiln.adaptive_avg_pool2d %c output_size [1, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  return %p : tensor<1x16x1x1xf32>
}

// -----

// Tests that views keep their source's order and get no layout: a conv
// reads a channel slice of NHWC data directly, while returning that slice
// converts it.
// CHECK-LABEL: @channel_slice
// CHECK:         %[[CAT:.*]] = kiln.concat {{.*}} {kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    %[[S:.*]] = kiln.slice %[[CAT]] dim 1 start 0 end 12 step 1 : tensor<1x16x16x16xf32> -> tensor<1x12x16x16xf32>
// CHECK-NEXT:    %[[S_OUT:.*]] = kiln.convert_layout %[[S]] to nchw
// CHECK-NOT:     kiln.convert_layout
// CHECK:         kiln.conv2d %[[S]], %{{.*}} {kiln.layout = #kiln<layout nhwc>}
// CHECK:         return %[[S_OUT]]
func.func @channel_slice(%x: tensor<1x16x16x16xf32>) -> (tensor<1x12x16x16xf32>, tensor<1x8x16x16xf32>) {
  %w1 = kiln.param "primary_conv.0.weight" parameter : tensor<8x16x1x1xf32>
  %x1 = kiln.conv2d %x, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x16x16x16xf32>, tensor<8x16x1x1xf32>) -> tensor<1x8x16x16xf32>
  %w2 = kiln.param "cheap_operation.0.weight" parameter : tensor<8x1x3x3xf32>
  %x2 = kiln.conv2d %x1, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 8
      : (tensor<1x8x16x16xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x16x16xf32>
  %c = kiln.concat %x1, %x2 dim 1 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  %s = kiln.slice %c dim 1 start 0 end 12 step 1 : tensor<1x16x16x16xf32> -> tensor<1x12x16x16xf32>
  %w3 = kiln.param "next.weight" parameter : tensor<8x12x1x1xf32>
  %y = kiln.conv2d %s, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x12x16x16xf32>, tensor<8x12x1x1xf32>) -> tensor<1x8x16x16xf32>
  return %s, %y : tensor<1x12x16x16xf32>, tensor<1x8x16x16xf32>
}

// -----

// Tests that a conv reading a channel slice of the NCHW model input gets
// the slice converted to NHWC.
// CHECK-LABEL: @slice_of_input
// CHECK:         %[[S:.*]] = kiln.slice %arg0 dim 1
// CHECK-NEXT:    %[[S_NHWC:.*]] = kiln.convert_layout %[[S]] to nhwc : tensor<1x4x8x8xf32>
// CHECK:         kiln.conv2d %[[S_NHWC]], %{{.*}} {kiln.layout = #kiln<layout nhwc>}
func.func @slice_of_input(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %s = kiln.slice %x dim 1 start 4 end 8 step 1 : tensor<1x8x8x8xf32> -> tensor<1x4x8x8xf32>
  %w = kiln.param "conv.weight" parameter : tensor<8x4x1x1xf32>
  %c = kiln.conv2d %s, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x8x8xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %c : tensor<1x8x8x8xf32>
}

// -----

// Tests that a conv's residual read from the model input is converted to
// NHWC like its input (one conversion for both), and that folded 4-D
// weights get no layout.
// CHECK-LABEL: @residual_from_input
// CHECK-NEXT:    %[[IN:.*]] = kiln.convert_layout %arg0 to nhwc
// CHECK:         %[[FW:.*]] = kiln.fold_bn_weight %{{.*}} epsilon 1.000000e-05 : tensor<8x8x3x3xf32>
// CHECK-NOT:     kiln.layout
// CHECK:         kiln.conv2d %[[IN]], %[[FW]] bias %{{.*}} residual %[[IN]] {{.*}} {kiln.layout = #kiln<layout nhwc>}
func.func @residual_from_input(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %g = kiln.param "bn.weight" parameter : tensor<8xf32>
  %be = kiln.param "bn.bias" parameter : tensor<8xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<8xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<8xf32>
  %fw = kiln.fold_bn_weight %w, %g, %v epsilon 1.0e-05 : tensor<8x8x3x3xf32>, tensor<8xf32>, tensor<8xf32>
  %fb = kiln.fold_bn_bias %g, %be, %m, %v epsilon 1.0e-05 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %c = kiln.conv2d %x, %fw bias %fb residual %x stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %c : tensor<1x8x8x8xf32>
}

// -----

// Tests that a linear layer with fused global pooling reads NHWC, so the
// model input is converted before it.
// CHECK-LABEL: @pooled_linear_on_input
// CHECK-NEXT:    %[[IN:.*]] = kiln.convert_layout %arg0 to nhwc : tensor<1x64x7x7xf32>
// CHECK:         kiln.linear %[[IN]], %{{.*}} pool : (tensor<1x64x7x7xf32>, tensor<10x64xf32>) -> tensor<1x10xf32>
func.func @pooled_linear_on_input(%x: tensor<1x64x7x7xf32>) -> tensor<1x10xf32> {
  %w = kiln.param "fc.weight" parameter : tensor<10x64xf32>
  %y = kiln.linear %x, %w pool : (tensor<1x64x7x7xf32>, tensor<10x64xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}
