// RUN: kiln-opt --split-input-file --kiln-mark-batch %s | FileCheck %s

// Tests that a classifier whose samples never meet is marked with its batch:
// convolution, pooling, flatten, linear, and weights computed from weights.
// CHECK-LABEL: @classifier
// CHECK-SAME:    attributes {kiln.batch = 4 : i64, kiln.model = "m"}
func.func @classifier(%x: tensor<4x3x8x8xf32>) -> tensor<4x10xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<16x3x3x3xf32>
  %c = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<4x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<4x16x8x8xf32>
  %g = kiln.param "gain" parameter : tensor<16x1x1xf32>
  %g2 = kiln.add %g, %g : tensor<16x1x1xf32>, tensor<16x1x1xf32> -> tensor<16x1x1xf32>
  %s = kiln.mul %c, %g2 : tensor<4x16x8x8xf32>, tensor<16x1x1xf32> -> tensor<4x16x8x8xf32>
  %r = kiln.relu %s : tensor<4x16x8x8xf32>
  %t = kiln.transpose %r dims [2, 3] : tensor<4x16x8x8xf32> -> tensor<4x16x8x8xf32>
  %p = kiln.adaptive_avg_pool2d %t output_size [1, 1] : tensor<4x16x8x8xf32> -> tensor<4x16x1x1xf32>
  %f = kiln.flatten %p start_dim 1 end_dim 3 : tensor<4x16x1x1xf32> -> tensor<4x16xf32>
  %fw = kiln.param "fc.weight" parameter : tensor<10x16xf32>
  %y = kiln.linear %f, %fw : (tensor<4x16xf32>, tensor<10x16xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// Tests that a batch of one is marked too, and reshapes keeping it first.
// CHECK-LABEL: @batch_one
// CHECK-SAME:    kiln.batch = 1 : i64
func.func @batch_one(%x: tensor<1x50x5x5xf32>) -> tensor<1x1250xf32> attributes {kiln.model = "m"} {
  %y = kiln.reshape %x shape [1, 1250] : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
  return %y : tensor<1x1250xf32>
}

// -----

// Tests that a transpose moving the batch leaves the model unmarked.
// CHECK-LABEL: @transpose_batch
// CHECK-NOT:     kiln.batch
func.func @transpose_batch(%x: tensor<4x4x8xf32>) -> tensor<4x4x8xf32> attributes {kiln.model = "m"} {
  %t = kiln.transpose %x dims [0, 1] : tensor<4x4x8xf32> -> tensor<4x4x8xf32>
  return %t : tensor<4x4x8xf32>
}

// -----

// Tests that a mean over the batch (kept as 1) leaves it unmarked.
// CHECK-LABEL: @mean_over_batch
// CHECK-NOT:     kiln.batch
func.func @mean_over_batch(%x: tensor<4x8xf32>) -> tensor<1x8xf32> attributes {kiln.model = "m"} {
  %m = kiln.mean %x dims [0] keepdim : tensor<4x8xf32> -> tensor<1x8xf32>
  return %m : tensor<1x8xf32>
}

// -----

// Tests that broadcasting an activation of lower rank, which aligns the
// batch with another dimension, leaves it unmarked (y[n][j] = x[n][j] + m[j]).
// CHECK-LABEL: @broadcast_activation
// CHECK-NOT:     kiln.batch
func.func @broadcast_activation(%x: tensor<8x8xf32>) -> tensor<8x8xf32> attributes {kiln.model = "m"} {
  %m = kiln.mean %x dims [1] : tensor<8x8xf32> -> tensor<8xf32>
  %y = kiln.add %x, %m : tensor<8x8xf32>, tensor<8xf32> -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

// Tests that a concat along the batch leaves it unmarked.
// CHECK-LABEL: @concat_batch
// CHECK-NOT:     kiln.batch
func.func @concat_batch(%x: tensor<2x8xf32>) -> tensor<4x8xf32> attributes {kiln.model = "m"} {
  %c = kiln.concat %x, %x dim 0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}

// -----

// Tests that a reshape changing the first dimension leaves it unmarked.
// CHECK-LABEL: @reshape_batch
// CHECK-NOT:     kiln.batch
func.func @reshape_batch(%x: tensor<4x6xf32>) -> tensor<8x3xf32> attributes {kiln.model = "m"} {
  %y = kiln.reshape %x shape [8, 3] : tensor<4x6xf32> -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

// Tests that a function that is not the model is left alone.
// CHECK-LABEL: @not_a_model
// CHECK-NOT:     kiln.batch
func.func @not_a_model(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = kiln.relu %x : tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// The ONNX importer's elementwise ops and spatial padding keep samples apart.
// CHECK-LABEL: @onnx_ops
// CHECK-SAME:    kiln.batch = 2 : i64
func.func @onnx_ops(%x: tensor<2x4x3x3xf32>) -> tensor<2x4x5x5xf32> attributes {kiln.model = "m"} {
  %c = kiln.param "c" buffer : tensor<1x4x1x1xf32>
  %s = kiln.sub %x, %c : tensor<2x4x3x3xf32>, tensor<1x4x1x1xf32> -> tensor<2x4x3x3xf32>
  %d = kiln.div %s, %x : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32> -> tensor<2x4x3x3xf32>
  %t = kiln.tanh %d : tensor<2x4x3x3xf32>
  %l = kiln.leaky_relu %t negative_slope 0.1 : tensor<2x4x3x3xf32>
  %e = kiln.elu %l alpha 1.0 : tensor<2x4x3x3xf32>
  %p = kiln.pad %e pads [1, 1, 1, 1] value 0.0 : tensor<2x4x3x3xf32> -> tensor<2x4x5x5xf32>
  return %p : tensor<2x4x5x5xf32>
}
