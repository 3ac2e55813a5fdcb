// RUN: kiln-opt %s | FileCheck %s
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// Tests that every kiln op parses, verifies and prints back in its custom
// form (and survives the generic form).

// CHECK-LABEL: func.func @conv_bn_relu
func.func @conv_bn_relu(%x: tensor<1x3x224x224xf32>) -> tensor<1x64x56x56xf32> {
  // CHECK: %[[W:.*]] = kiln.param "conv1.weight" parameter : tensor<64x3x7x7xf32>
  %w = kiln.param "conv1.weight" parameter : tensor<64x3x7x7xf32>
  %b = kiln.param "conv1.bias" parameter : tensor<64xf32>
  // CHECK: %[[C:.*]] = kiln.conv2d %{{.*}}, %[[W]] bias %{{.*}} stride [2, 2] padding [3, 3] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"conv1", "Conv2d">} : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
  %c = kiln.conv2d %x, %w bias %b stride [2, 2] padding [3, 3] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"conv1", "Conv2d">}
      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
  %g = kiln.param "bn1.weight" parameter : tensor<64xf32>
  %be = kiln.param "bn1.bias" parameter : tensor<64xf32>
  // CHECK: kiln.param "bn1.running_mean" buffer : tensor<64xf32>
  %m = kiln.param "bn1.running_mean" buffer : tensor<64xf32>
  %v = kiln.param "bn1.running_var" buffer : tensor<64xf32>
  // CHECK: kiln.batch_norm %{{.*}} epsilon 1.000000e-05 : tensor<1x64x112x112xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  %n = kiln.batch_norm %c, %g, %be, %m, %v epsilon 1.0e-05
      : tensor<1x64x112x112xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  // CHECK: kiln.relu %{{.*}} : tensor<1x64x112x112xf32>
  %r = kiln.relu %n : tensor<1x64x112x112xf32>
  // CHECK: kiln.max_pool2d %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] dilation [1, 1] : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  %p = kiln.max_pool2d %r kernel [3, 3] stride [2, 2] padding [1, 1] dilation [1, 1]
      : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  return %p : tensor<1x64x56x56xf32>
}

// CHECK-LABEL: func.func @grouped_dilated_conv
func.func @grouped_dilated_conv(%x: tensor<2x32x17x17xf32>, %w: tensor<64x4x3x3xf32>) -> tensor<2x64x8x8xf32> {
  // CHECK: kiln.conv2d {{.*}} stride [2, 2] padding [1, 1] dilation [2, 2] groups 8
  %y = kiln.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [2, 2] groups 8
      : (tensor<2x32x17x17xf32>, tensor<64x4x3x3xf32>) -> tensor<2x64x8x8xf32>
  return %y : tensor<2x64x8x8xf32>
}

// CHECK-LABEL: func.func @linear_bn1d
func.func @linear_bn1d(%x: tensor<4x784xf32>, %w: tensor<300x784xf32>, %b: tensor<300xf32>, %s: tensor<300xf32>) -> tensor<4x300xf32> {
  // CHECK: kiln.linear %{{.*}}, %{{.*}} bias %{{.*}} : (tensor<4x784xf32>, tensor<300x784xf32>, tensor<300xf32>) -> tensor<4x300xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<4x784xf32>, tensor<300x784xf32>, tensor<300xf32>) -> tensor<4x300xf32>
  // CHECK: kiln.linear %{{.*}}, %{{.*}} : (tensor<4x784xf32>, tensor<300x784xf32>) -> tensor<4x300xf32>
  %z = kiln.linear %x, %w : (tensor<4x784xf32>, tensor<300x784xf32>) -> tensor<4x300xf32>
  // CHECK: kiln.batch_norm {{.*}} : tensor<4x300xf32>
  %n = kiln.batch_norm %y, %s, %s, %s, %s epsilon 1.0e-03
      : tensor<4x300xf32>, tensor<300xf32>, tensor<300xf32>, tensor<300xf32>, tensor<300xf32>
  %a = kiln.add %n, %z : tensor<4x300xf32>, tensor<4x300xf32> -> tensor<4x300xf32>
  return %a : tensor<4x300xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<1x72x28x28xf32>, %g: tensor<1x72x1x1xf32>) -> tensor<1x72x28x28xf32> {
  // CHECK: kiln.relu6
  %0 = kiln.relu6 %x : tensor<1x72x28x28xf32>
  // CHECK: kiln.sigmoid
  %1 = kiln.sigmoid %0 : tensor<1x72x28x28xf32>
  // CHECK: kiln.hard_sigmoid
  %2 = kiln.hard_sigmoid %1 : tensor<1x72x28x28xf32>
  // CHECK: kiln.hard_swish
  %3 = kiln.hard_swish %2 : tensor<1x72x28x28xf32>
  // CHECK: kiln.silu
  %s = kiln.silu %3 : tensor<1x72x28x28xf32>
  // CHECK: kiln.identity
  %4 = kiln.identity %s : tensor<1x72x28x28xf32>
  // CHECK: kiln.dropout %{{.*}} p 2.000000e-01 : tensor<1x72x28x28xf32>
  %5 = kiln.dropout %4 p 0.2 : tensor<1x72x28x28xf32>
  // CHECK: kiln.mul %{{.*}}, %{{.*}} : tensor<1x72x28x28xf32>, tensor<1x72x1x1xf32> -> tensor<1x72x28x28xf32>
  %6 = kiln.mul %5, %g : tensor<1x72x28x28xf32>, tensor<1x72x1x1xf32> -> tensor<1x72x28x28xf32>
  // CHECK: kiln.add %{{.*}}, %{{.*}} : tensor<1x72x1x1xf32>, tensor<1x72x28x28xf32> -> tensor<1x72x28x28xf32>
  %7 = kiln.add %g, %6 : tensor<1x72x1x1xf32>, tensor<1x72x28x28xf32> -> tensor<1x72x28x28xf32>
  return %7 : tensor<1x72x28x28xf32>
}

// CHECK-LABEL: func.func @broadcast_ranks
func.func @broadcast_ranks(%x: tensor<2x3x4xf32>, %y: tensor<4xf32>) -> tensor<2x3x4xf32> {
  // CHECK: kiln.add {{.*}} : tensor<2x3x4xf32>, tensor<4xf32> -> tensor<2x3x4xf32>
  %0 = kiln.add %x, %y : tensor<2x3x4xf32>, tensor<4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @pooling
func.func @pooling(%x: tensor<1x8x15x15xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x5x5xf32>, tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>, tensor<1x8xf32>, tensor<1x8x1x1xf32>) {
  // ceil_mode rounds the output size up: (15 - 2 + 1) / 2 + 1 = 8.
  // CHECK: kiln.max_pool2d {{.*}} ceil_mode : tensor<1x8x15x15xf32> -> tensor<1x8x8x8xf32>
  %0 = kiln.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] dilation [1, 1] ceil_mode
      : tensor<1x8x15x15xf32> -> tensor<1x8x8x8xf32>
  // CHECK: kiln.avg_pool2d %{{.*}} kernel [3, 3] stride [3, 3] padding [0, 0] exclude_pad : tensor<1x8x15x15xf32> -> tensor<1x8x5x5xf32>
  %1 = kiln.avg_pool2d %x kernel [3, 3] stride [3, 3] padding [0, 0] exclude_pad
      : tensor<1x8x15x15xf32> -> tensor<1x8x5x5xf32>
  // CHECK: kiln.avg_pool2d %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] ceil_mode : tensor<1x8x15x15xf32> -> tensor<1x8x8x8xf32>
  %2 = kiln.avg_pool2d %x kernel [3, 3] stride [2, 2] padding [1, 1] ceil_mode
      : tensor<1x8x15x15xf32> -> tensor<1x8x8x8xf32>
  // CHECK: kiln.adaptive_avg_pool2d %{{.*}} output_size [1, 1]
  %3 = kiln.adaptive_avg_pool2d %x output_size [1, 1] : tensor<1x8x15x15xf32> -> tensor<1x8x1x1xf32>
  // CHECK: kiln.mean %{{.*}} dims [2, 3] : tensor<1x8x15x15xf32> -> tensor<1x8xf32>
  %4 = kiln.mean %x dims [2, 3] : tensor<1x8x15x15xf32> -> tensor<1x8xf32>
  // CHECK: kiln.mean %{{.*}} dims [3, 2] keepdim : tensor<1x8x15x15xf32> -> tensor<1x8x1x1xf32>
  %5 = kiln.mean %x dims [3, 2] keepdim : tensor<1x8x15x15xf32> -> tensor<1x8x1x1xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x8x8x8xf32>, tensor<1x8x5x5xf32>, tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>, tensor<1x8xf32>, tensor<1x8x1x1xf32>
}

// CHECK-LABEL: func.func @ceil_mode_window_in_padding
func.func @ceil_mode_window_in_padding(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  // Rounding up would give 4, but the 4th window would start in the right
  // padding, so PyTorch drops it.
  // CHECK: kiln.max_pool2d {{.*}} ceil_mode : tensor<1x1x5x5xf32> -> tensor<1x1x3x3xf32>
  %0 = kiln.max_pool2d %x kernel [2, 2] stride [2, 2] padding [1, 1] dilation [1, 1] ceil_mode
      : tensor<1x1x5x5xf32> -> tensor<1x1x3x3xf32>
  return %0 : tensor<1x1x3x3xf32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<1x50x5x5xf32>) -> (tensor<1x1250xf32>, tensor<1x1250xf32>, tensor<1x5x50x5xf32>) {
  // CHECK: kiln.flatten %{{.*}} start_dim 1 end_dim 3 : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
  %0 = kiln.flatten %x start_dim 1 end_dim 3 : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
  // CHECK: kiln.reshape %{{.*}} shape [1, -1] : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
  %1 = kiln.reshape %x shape [1, -1] : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
  // CHECK: kiln.transpose %{{.*}} dims [1, 2] : tensor<1x50x5x5xf32> -> tensor<1x5x50x5xf32>
  %2 = kiln.transpose %x dims [1, 2] : tensor<1x50x5x5xf32> -> tensor<1x5x50x5xf32>
  return %0, %1, %2 : tensor<1x1250xf32>, tensor<1x1250xf32>, tensor<1x5x50x5xf32>
}

// CHECK-LABEL: func.func @channels
func.func @channels(%x: tensor<1x5x8x8xf32>, %y: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  // CHECK: kiln.concat %{{.*}}, %{{.*}} dim 1 : (tensor<1x5x8x8xf32>, tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32>
  %0 = kiln.concat %x, %y dim 1 : (tensor<1x5x8x8xf32>, tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK: kiln.slice %{{.*}} dim 1 start 1 end 8 step 3 : tensor<1x8x8x8xf32> -> tensor<1x3x8x8xf32>
  %1 = kiln.slice %0 dim 1 start 1 end 8 step 3 : tensor<1x8x8x8xf32> -> tensor<1x3x8x8xf32>
  // torch.split(x, 2, dim=1) of 5 channels: 2, 2, 1.
  // CHECK: kiln.split %{{.*}} dim 1 sizes [2, 2, 1] : tensor<1x5x8x8xf32> -> tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>
  %2:3 = kiln.split %x dim 1 sizes [2, 2, 1] : tensor<1x5x8x8xf32> -> tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>
  // torch.chunk(x, 4, dim=1) of 5 channels: ceil(5/4) = 2, so 2, 2, 1 (three pieces).
  // CHECK: kiln.chunk %{{.*}} dim 1 chunks 4 : tensor<1x5x8x8xf32> -> tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>
  %3:3 = kiln.chunk %x dim 1 chunks 4 : tensor<1x5x8x8xf32> -> tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>
  // CHECK: kiln.channel_shuffle %{{.*}} groups 2 : tensor<1x8x8x8xf32>
  %4 = kiln.channel_shuffle %0 groups 2 : tensor<1x8x8x8xf32>
  return %4 : tensor<1x8x8x8xf32>
}

// CHECK-LABEL: func.func @fused_kernels
func.func @fused_kernels(%x: tensor<1x8x4x4xf32>, %w: tensor<8x8x1x1xf32>, %b: tensor<8xf32>,
                         %r: tensor<2x8x1x1xf32>, %rb: tensor<2xf32>, %e: tensor<8x2x1x1xf32>,
                         %fc: tensor<10x8xf32>) -> (tensor<1x10xf32>, tensor<1x8x4x4xf32>) {
  // CHECK: kiln.se_gate %{{.*}} activation relu gate hard_sigmoid : {{.*}} -> tensor<1x8xf32>
  %g = kiln.se_gate %x, %r, %rb, %e, %b activation relu gate hard_sigmoid
      : (tensor<1x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32>, tensor<8x2x1x1xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  // CHECK: kiln.conv2d %{{.*}} bias %{{.*}} residual %{{.*}} scale %{{.*}} stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6 :
  %c = kiln.conv2d %x, %w bias %b residual %x scale %g stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>, tensor<1x8x4x4xf32>, tensor<1x8xf32>) -> tensor<1x8x4x4xf32>
  // CHECK: kiln.linear %{{.*}}, %{{.*}} pool activation sigmoid : (tensor<1x8x4x4xf32>, tensor<10x8xf32>) -> tensor<1x10xf32>
  %y = kiln.linear %c, %fc pool activation sigmoid : (tensor<1x8x4x4xf32>, tensor<10x8xf32>) -> tensor<1x10xf32>
  // CHECK: kiln.convert_layout %{{.*}} to nhwc : tensor<1x8x4x4xf32>
  %n = kiln.convert_layout %c to nhwc : tensor<1x8x4x4xf32>
  return %y, %n : tensor<1x10xf32>, tensor<1x8x4x4xf32>
}

// CHECK-LABEL: func.func @weight_transforms
func.func @weight_transforms(%w: tensor<8x4x3x3xf32>, %s: tensor<8xf32>) -> (tensor<8x4x3x3xf32>, tensor<8xf32>, tensor<8xf32>) {
  // CHECK: kiln.fold_bn_weight %{{.*}}, %{{.*}}, %{{.*}} epsilon 1.000000e-05 : tensor<8x4x3x3xf32>, tensor<8xf32>, tensor<8xf32>
  %0 = kiln.fold_bn_weight %w, %s, %s epsilon 1.0e-05 : tensor<8x4x3x3xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: kiln.fold_bn_bias %{{.*}} epsilon 1.000000e-03 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %1 = kiln.fold_bn_bias %s, %s, %s, %s epsilon 1.0e-03 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: kiln.fold_bn_bias %{{.*}} bias %{{.*}} epsilon
  %2 = kiln.fold_bn_bias %s, %s, %s, %s bias %s epsilon 1.0e-03 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return %0, %1, %2 : tensor<8x4x3x3xf32>, tensor<8xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @elementwise_fns
func.func @elementwise_fns(%x: tensor<1x8x4x4xf32>, %y: tensor<1x8x1x1xf32>) -> tensor<1x8x6x7xf32> {
  // CHECK: kiln.sub %{{.*}}, %{{.*}} : tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32> -> tensor<1x8x4x4xf32>
  %s = kiln.sub %x, %y : tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32> -> tensor<1x8x4x4xf32>
  // CHECK: kiln.div %{{.*}}, %{{.*}} : tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32> -> tensor<1x8x4x4xf32>
  %d = kiln.div %s, %y : tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32> -> tensor<1x8x4x4xf32>
  // CHECK: kiln.tanh %{{.*}} : tensor<1x8x4x4xf32>
  %t = kiln.tanh %d : tensor<1x8x4x4xf32>
  // CHECK: kiln.leaky_relu %{{.*}} negative_slope 1.000000e-01 : tensor<1x8x4x4xf32>
  %l = kiln.leaky_relu %t negative_slope 0.1 : tensor<1x8x4x4xf32>
  // CHECK: kiln.elu %{{.*}} alpha 1.000000e+00 : tensor<1x8x4x4xf32>
  %e = kiln.elu %l alpha 1.0 : tensor<1x8x4x4xf32>
  // CHECK: kiln.pad %{{.*}} pads [0, 1, 2, 2] value 0.000000e+00 : tensor<1x8x4x4xf32> -> tensor<1x8x6x7xf32>
  %p = kiln.pad %e pads [0, 1, 2, 2] value 0.0 : tensor<1x8x4x4xf32> -> tensor<1x8x6x7xf32>
  return %p : tensor<1x8x6x7xf32>
}

// CHECK-LABEL: func.func @onnx_ops
func.func @onnx_ops(%x: tensor<1x8x4x4xf32>) -> (tensor<1x8x8x12xf32>, tensor<1x8x4x4xf32>) {
  // CHECK: kiln.clamp %{{.*}} min -1.000000e+00 max 5.000000e-01 : tensor<1x8x4x4xf32>
  %c = kiln.clamp %x min -1.0 max 0.5 : tensor<1x8x4x4xf32>
  // CHECK: kiln.clamp %{{.*}} max 2.000000e+00 : tensor<1x8x4x4xf32>
  %d = kiln.clamp %c max 2.0 : tensor<1x8x4x4xf32>
  // CHECK: kiln.softmax %{{.*}} dim 1 : tensor<1x8x4x4xf32>
  %s = kiln.softmax %d dim 1 : tensor<1x8x4x4xf32>
  // CHECK: kiln.upsample_nearest %{{.*}} scale [2, 3] : tensor<1x8x4x4xf32> -> tensor<1x8x8x12xf32>
  %u = kiln.upsample_nearest %s scale [2, 3] : tensor<1x8x4x4xf32> -> tensor<1x8x8x12xf32>
  // A constant operand of arithmetic.
  // CHECK: kiln.mul %{{.*}}, %{{.*}} : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  %k = kiln.param "layer_scale" parameter : tensor<8x1x1xf32>
  %m = kiln.mul %x, %k : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  return %u, %m : tensor<1x8x8x12xf32>, tensor<1x8x4x4xf32>
}
