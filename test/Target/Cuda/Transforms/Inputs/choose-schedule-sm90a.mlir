// Given sm_90a schedules (run by ../choose-schedule.mlir with precision=bf16
// sm90a=true): kept, with the mma.sync schedule chosen beside them.

// CHECK-LABEL: func.func @given(
// CHECK:         kiln.conv2d {{.*}}{kiln.schedule = array<i32: {{([0-9]+, ){6}[0-9]+}}>, kiln.schedule_sm90a = array<i32: 64, 64, 64, 4, 1, 3, 1, 1>}
func.func @given(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule_sm90a = array<i32: 64, 64, 64, 4, 1, 3, 1, 1>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// Both given: both kept.
// CHECK-LABEL: func.func @both(
// CHECK:         kiln.conv2d {{.*}}{kiln.schedule = array<i32: 32, 32, 64, 2, 1, 2, 1>, kiln.schedule_sm90a = array<i32: 128, 64, 64, 8, 1, 2, 2, 2>}
func.func @both(%x: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<64x64x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 32, 32, 64, 2, 1, 2, 1>,
       kiln.schedule_sm90a = array<i32: 128, 64, 64, 8, 1, 2, 2, 2>}
      : (tensor<1x64x8x8xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}
