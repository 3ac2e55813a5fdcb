// RUN: kiln-opt --split-input-file --kiln-choose-winograd %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-choose-winograd=tile=2 %s | FileCheck %s --check-prefix=F2
// RUN: kiln-opt --split-input-file --kiln-choose-winograd=tile=none %s | FileCheck %s --check-prefix=NONE
// RUN: not kiln-opt --kiln-choose-winograd=tile=8 %s 2>&1 | FileCheck %s --check-prefix=TILE

// Tests that the cost model gives each dense 3x3 stride-1 layer the tile
// that pays (docs/cpu-kernels.md): F(4x4) on ResNet-50's 56x56x64 layer at
// batch 1 (3.6x fewer multiply-add units than direct), F(2x2) on its
// 14x14x256 one (F(4x4)'s 9.4 MB of weights for 16 tiles would stream from
// memory), none on its 7x7x512 one (Winograd's weights cost more than the
// arithmetic saved) nor on a tiny layer; and that no other convolution gets
// one: stride 2, 1x1, grouped, dilated, or with an input scale.
// (An op without attributes prints no "{" before its types.)
// CHECK-LABEL: func.func @layers(
// CHECK:         kiln.conv2d {{.*}} {kiln.winograd = 4 : i64} : {{.*}} -> tensor<1x64x56x56xf32>
// CHECK:         kiln.conv2d {{.*}} {kiln.winograd = 2 : i64} : {{.*}} -> tensor<1x256x14x14xf32>
// CHECK:         kiln.conv2d {{[^{]*}} -> tensor<1x512x7x7xf32>
// CHECK:         kiln.conv2d {{[^{]*}} -> tensor<1x16x8x8xf32>
// CHECK-NOT:     kiln.winograd
// CHECK:         return
// F2-LABEL: func.func @layers(
// F2-COUNT-4:    kiln.winograd = 2
// F2-NOT:        kiln.winograd
// F2:            return
// NONE-LABEL: func.func @layers(
// NONE-NOT:      kiln.winograd
func.func @layers(%x: tensor<1x64x56x56xf32>, %y: tensor<1x256x14x14xf32>,
                  %z: tensor<1x512x7x7xf32>, %t: tensor<1x16x8x8xf32>,
                  %s: tensor<1x64xf32>) attributes {kiln.model = "m"} {
  %w1 = kiln.param "a.weight" parameter : tensor<64x64x3x3xf32>
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu
      : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x56x56xf32>
  %w2 = kiln.param "b.weight" parameter : tensor<256x256x3x3xf32>
  %b = kiln.conv2d %y, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x256x14x14xf32>, tensor<256x256x3x3xf32>) -> tensor<1x256x14x14xf32>
  %w3 = kiln.param "c.weight" parameter : tensor<512x512x3x3xf32>
  %c = kiln.conv2d %z, %w3 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x512x7x7xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x7x7xf32>
  %w4 = kiln.param "d.weight" parameter : tensor<16x16x3x3xf32>
  %d = kiln.conv2d %t, %w4 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  // Not Winograd's: stride 2, 1x1, grouped, dilated, input scale.
  %e = kiln.conv2d %x, %w1 stride [2, 2] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x28x28xf32>
  %w5 = kiln.param "f.weight" parameter : tensor<64x64x1x1xf32>
  %f = kiln.conv2d %x, %w5 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x64x56x56xf32>, tensor<64x64x1x1xf32>) -> tensor<1x64x56x56xf32>
  %w6 = kiln.param "g.weight" parameter : tensor<64x32x3x3xf32>
  %g = kiln.conv2d %x, %w6 stride [1, 1] padding [1, 1] dilation [1, 1] groups 2
      : (tensor<1x64x56x56xf32>, tensor<64x32x3x3xf32>) -> tensor<1x64x56x56xf32>
  %h = kiln.conv2d %x, %w1 stride [1, 1] padding [2, 2] dilation [2, 2] groups 1
      : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x56x56xf32>
  %i = kiln.conv2d %x, %w1 scale %s stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>, tensor<1x64xf32>) -> tensor<1x64x56x56xf32>
  return
}

// -----

// Tests that at batch 32 the 7x7x512 layer pays for F(4x4) (its weights are
// read once for 128 tiles), and that a tile already in the IR is replaced
// by the pass's choice (or removed with tile=none).
// CHECK-LABEL: func.func @batch(
// CHECK:         kiln.winograd = 4
// CHECK-LABEL: func.func @given(
// CHECK:         kiln.conv2d {{[^{]*}} -> tensor<1x16x8x8xf32>
// NONE-LABEL: func.func @batch(
// NONE-NOT:      kiln.winograd
func.func @batch(%x: tensor<32x512x7x7xf32>) -> tensor<32x512x7x7xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<512x512x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<32x512x7x7xf32>, tensor<512x512x3x3xf32>) -> tensor<32x512x7x7xf32>
  return %y : tensor<32x512x7x7xf32>
}
func.func @given(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {kiln.winograd = 4 : i64}
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// TILE: error: --kiln-choose-winograd: unknown tile '8' (auto, 2, 4 or none)

// -----

// Tests that the choice is for the samples of one pass (a thread runs a
// batch through the network a few samples at a time, as many as keep a
// pass's activations within 4 MB: kiln/cpu/layout.h): beside a 56x56x256
// layer (6.4 MB a sample in and out) a batch of 32 runs a sample a pass,
// and the 7x7x512 layer stays direct, as at batch 1; F(4x4) still pays on
// the 56x56x64 layer.
// CHECK-LABEL: func.func @passes(
// CHECK:         kiln.conv2d {{[^{]*}} -> tensor<32x512x7x7xf32>
// CHECK:         kiln.conv2d {{.*}} {kiln.winograd = 4 : i64} : {{.*}} -> tensor<32x64x56x56xf32>
// CHECK:         kiln.conv2d {{[^{]*}} -> tensor<32x256x56x56xf32>
func.func @passes(%x: tensor<32x512x7x7xf32>, %y: tensor<32x64x56x56xf32>) attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<512x512x3x3xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<32x512x7x7xf32>, tensor<512x512x3x3xf32>) -> tensor<32x512x7x7xf32>
  %w2 = kiln.param "b.weight" parameter : tensor<64x64x3x3xf32>
  %b = kiln.conv2d %y, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<32x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<32x64x56x56xf32>
  %w3 = kiln.param "c.weight" parameter : tensor<256x64x1x1xf32>
  %c = kiln.conv2d %b, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<32x64x56x56xf32>, tensor<256x64x1x1xf32>) -> tensor<32x256x56x56xf32>
  return
}
