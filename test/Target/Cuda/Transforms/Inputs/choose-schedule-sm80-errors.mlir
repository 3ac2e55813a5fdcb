// Errors of --kiln-choose-schedule without sm90a (run by ../choose-schedule.mlir).

// An sm_90a schedule where the executable also targets older GPUs.
func.func @sm90a(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  // expected-error @+1 {{the schedule [64, 64, 64, 4, 1, 3, 1, 1] is for the sm_90a kernel; this pass targets older GPUs too (sm90a=false)}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 64, 64, 64, 4, 1, 3, 1, 1>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// A negative warpgroups entry is malformed.
func.func @negative(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  // expected-error @+1 {{'kiln.schedule' must be array<i32: bm, bn, bk, warps_m, warps_n, stages, split_k[, warpgroups]>}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 64, 64, 64, 4, 1, 3, 1, -1>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}
