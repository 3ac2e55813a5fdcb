// RUN: kiln-opt --split-input-file --kiln-plan-memory="activation-bytes=2" %s | FileCheck %s
// RUN: not kiln-opt --kiln-plan-memory="activation-bytes=3" %s 2>&1 | FileCheck %s --check-prefix=BYTES

// The plans of plan-memory.mlir with 16-bit activations (the CUDA target in
// fp16 and bf16), worked out by hand by the same rules: a buffer holds
// numel * 2 bytes rounded up to 64, except the fp32 ones (the SE gate's
// output and scratch, a scaled conv's weights).

// Tests the ping-pong chain of convs in 16-bit slots: half the fp32 arena.
//   %a  [1, 3]  250 elements = 500 B -> 512
//   %b  [3, 4]  512
//   %c  [4, 6]  512
//   %d  [6, 7]  150 elements = 300 B -> 320
// Placement: %a +0, %b +512, %c +0, %d +512; arena 1024 (fp32: 2048).
// CHECK-LABEL: func.func @chain(
// CHECK-SAME:    kiln.arena_bytes = 1024 : i64, kiln.live_bytes = 1024 : i64
// CHECK:         kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         kiln.conv2d {{.*}} {kiln.offset = 512 : i64}
// CHECK:         kiln.conv2d {{.*}} {kiln.offset = 0 : i64}
// CHECK:         kiln.conv2d {{.*}} {kiln.offset = 512 : i64}
func.func @chain(%x: tensor<1x3x10x10xf32>) -> tensor<1x6x5x5xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "conv1.weight" parameter : tensor<10x3x3x3xf32>                 // 0
  %a = kiln.conv2d %x, %w1 stride [2, 2] padding [1, 1] dilation [1, 1] groups 1   // 1
      : (tensor<1x3x10x10xf32>, tensor<10x3x3x3xf32>) -> tensor<1x10x5x5xf32>
  %w2 = kiln.param "conv2.weight" parameter : tensor<10x10x3x3xf32>                // 2
  %b = kiln.conv2d %a, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 3
      : (tensor<1x10x5x5xf32>, tensor<10x10x3x3xf32>) -> tensor<1x10x5x5xf32>
  %c = kiln.conv2d %b, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 4
      : (tensor<1x10x5x5xf32>, tensor<10x10x3x3xf32>) -> tensor<1x10x5x5xf32>
  %w3 = kiln.param "conv3.weight" parameter : tensor<6x10x1x1xf32>                 // 5
  %d = kiln.conv2d %c, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1   // 6
      : (tensor<1x10x5x5xf32>, tensor<6x10x1x1xf32>) -> tensor<1x6x5x5xf32>
  return %d : tensor<1x6x5x5xf32>                                                  // 7
}

// -----

// Tests the SE block of plan-memory.mlir's @scratch: activations at 2 bytes,
// the gate and its scratch and the scaled conv's weights at 4.
//   %h   [1, 8]    1024 elements = 2048 B
//   %g   [6, 8]    16 floats = 64 B (fp32)
//   %y   [8, 11]   1536 elements = 3072 B
//   scratch of %g  [6, 6]    20 floats = 80 B -> 128 (fp32)
//   scratch of %y  [8, 8]    1024 floats = 4096 B (fp32)
//   scratch of %z  [11, 11]  24 elements = 48 B -> 64
// Placement, largest first (4096, 3072, 2048, 128; the 64s by first use):
//   scratch of %y  +0
//   %y             +4096   (scratch of %y is live at 8)
//   %h             +7168   ([0, 4096) and [4096, 7168) are live at 8)
//   scratch of %g  +0      (only %h is live at 6)
//   %g             +9216   (live at 6..8: [0, 128), [0, 4096), [4096, 7168), [7168, 9216))
//   scratch of %z  +0      (only %y at +4096 is live at 11)
// arena = 9216 + 64 = 9280; live at 8: 2048 + 64 + 3072 + 4096 = 9280
// CHECK-LABEL: func.func @scratch(
// CHECK-SAME:    kiln.arena_bytes = 9280 : i64, kiln.live_bytes = 9280 : i64
// CHECK:         %[[H:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 7168 : i64}
// CHECK:         %[[G:.*]] = kiln.se_gate %[[H]], {{.*}} {kiln.offset = 9216 : i64, kiln.scratch = 0 : i64}
// CHECK:         %[[Y:.*]] = kiln.conv2d %[[H]], %{{.*}} scale %[[G]] {{.*}} {kiln.offset = 4096 : i64, kiln.scratch = 0 : i64}
// CHECK:         kiln.linear %[[Y]], %{{.*}} pool {kiln.scratch = 0 : i64} :
func.func @scratch(%x: tensor<1x16x8x8xf32>) -> tensor<1x10xf32> attributes {kiln.model = "m"} {
  %w0 = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>                 // 0
  %h = kiln.conv2d %x, %w0 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu  // 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %w1 = kiln.param "se.conv_reduce.weight" parameter : tensor<4x16x1x1xf32>        // 2
  %b1 = kiln.param "se.conv_reduce.bias" parameter : tensor<4xf32>                 // 3
  %w2 = kiln.param "se.conv_expand.weight" parameter : tensor<16x4x1x1xf32>        // 4
  %b2 = kiln.param "se.conv_expand.bias" parameter : tensor<16xf32>                // 5
  %g = kiln.se_gate %h, %w1, %b1, %w2, %b2 activation relu gate hard_sigmoid       // 6
      : (tensor<1x16x8x8xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16xf32>
  %w3 = kiln.param "conv_pwl.weight" parameter : tensor<24x16x1x1xf32>             // 7
  %y = kiln.conv2d %h, %w3 scale %g stride [1, 1] padding [0, 0] dilation [1, 1] groups 1  // 8
      : (tensor<1x16x8x8xf32>, tensor<24x16x1x1xf32>, tensor<1x16xf32>) -> tensor<1x24x8x8xf32>
  %fc = kiln.param "classifier.weight" parameter : tensor<10x24xf32>               // 9
  %fb = kiln.param "classifier.bias" parameter : tensor<10xf32>                    // 10
  %z = kiln.linear %y, %fc bias %fb pool                                           // 11
      : (tensor<1x24x8x8xf32>, tensor<10x24xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %z : tensor<1x10xf32>                                                     // 12
}

// BYTES: error: --kiln-plan-memory: activation-bytes must be 4 or 2, not 3
