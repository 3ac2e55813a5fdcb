// Errors of --kiln-choose-schedule with sm90a (run by ../choose-schedule.mlir).

// An sm_90a schedule whose tile is not 64 rows a warpgroup is malformed.
func.func @rows(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  // expected-error @+1 {{the schedule [64, 64, 64, 4, 1, 3, 1, 2] is not valid for this layer in fp16}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule_sm90a = array<i32: 64, 64, 64, 4, 1, 3, 1, 2>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// 96 columns is not a wgmma tile the kernel has.
func.func @columns(%x: tensor<1x64x8x8xf32>) -> tensor<1x96x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<96x64x3x3xf32>
  // expected-error @+1 {{is not valid for this layer in fp16}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule_sm90a = array<i32: 64, 96, 64, 4, 1, 3, 1, 1>}
      : (tensor<1x64x8x8xf32>, tensor<96x64x3x3xf32>) -> tensor<1x96x8x8xf32>
  return %y : tensor<1x96x8x8xf32>
}

// -----

// A grouped convolution has no sm_90a kernel.
func.func @grouped(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x32x1x1xf32>
  // expected-error @+1 {{is not valid for this layer in fp16}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 2
      {kiln.schedule_sm90a = array<i32: 64, 64, 64, 4, 1, 3, 1, 1>}
      : (tensor<1x64x8x8xf32>, tensor<64x32x1x1xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}
