// Errors of --kiln-choose-schedule (run by ../choose-schedule.mlir).

// A schedule the kernels do not support (bm 48 is not a tile size).
func.func @invalid(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<32x32x3x3xf32>
  // expected-error @+1 {{the schedule [48, 32, 32, 2, 1, 2, 1] is not valid for this layer in fp16}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 48, 32, 32, 2, 1, 2, 1>}
      : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// Split-K into more slices than there are K steps (K = 9 * 32 = 288 = 9 steps of 32).
func.func @split(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<32x32x3x3xf32>
  // expected-error @+1 {{is not valid for this layer in fp16}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 32, 32, 32, 2, 1, 2, 10>}
      : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// A malformed attribute is rejected by the dialect's verifier.
func.func @malformed(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<32x32x3x3xf32>
  // expected-error @+1 {{'kiln.schedule' must be array<i32: bm, bn, bk, warps_m, warps_n, stages, split_k> (all positive) on a kiln.conv2d or kiln.linear}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 32, 32, 32>}
      : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
