// Errors of --kiln-choose-schedule without sm90a (run by ../choose-schedule.mlir).

// An sm_90a schedule where the executable has no sm_90a variant.
func.func @sm90a(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  // expected-error @+1 {{'kiln.schedule_sm90a' where the executable has no sm_90a variant (sm90a=false)}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule_sm90a = array<i32: 64, 64, 64, 4, 1, 3, 1, 1>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// The mma.sync schedule has 7 entries: an sm_90a one is kiln.schedule_sm90a.
func.func @eight(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  // expected-error @+1 {{'kiln.schedule' must be array<i32: bm, bn, bk, warps_m, warps_n, stages, split_k> (all positive) on a kiln.conv2d or kiln.linear}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 64, 64, 64, 4, 1, 3, 1, 1>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// An sm_90a schedule without warpgroups is malformed.
func.func @seven(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  // expected-error @+1 {{'kiln.schedule_sm90a' must be array<i32: bm, bn, bk, warps_m, warps_n, stages, split_k, warpgroups> (all positive) on a kiln.conv2d or kiln.linear}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule_sm90a = array<i32: 64, 64, 64, 4, 1, 3, 1>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}
