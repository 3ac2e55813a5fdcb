// RUN: kiln-opt --split-input-file --kiln-fuse-shuffle-copies %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-fuse-shuffle-copies %s | kiln-translate --split-input-file --kiln-to-cpp | FileCheck %s --check-prefix=CPP

// Tests that the copy of a two-group shuffle's untouched half right after
// the dense convolution writing the other half (ShuffleNetV2's stride-1
// unit: x -> [x[:8], branch(x[8:])] shuffled) becomes that convolution's
// pass-through, with the group before (-1) or after (+1) the convolution's
// channels, and that the executable calls conv2d_shuffled with it; and
// that no copy is fused where something runs between the two, where the
// convolution is depthwise or Winograd, where the groups are three, where
// the copy's destination is not the channels beside the output, or where
// the source, the input or the residual overlaps the output's pixels.

// CHECK-LABEL: func.func @unit(
// CHECK:         kernel.conv2d {{.*}}output = #kernel.buffer<arena[1024, 0]
// CHECK-NEXT:    kernel.conv2d
// CHECK-SAME:      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>
// CHECK-SAME:      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = -1 : i64
// CHECK-NEXT:    kernel.elementwise copy {inputs = [#kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4]
// CHECK-SAME:      output = #kernel.buffer<output
// CHECK-NEXT:    return
// CPP-LABEL: for model 'unit'
// CPP:         kiln::cpu::conv2d_shuffled<kConv2d1, kiln::cpu::Epilogue{.bias = true, .residual = false, .residual_stride = 0, .act = kiln::cpu::Act::Relu, .pass_stride = 16, .pass_offset = -1}>((A + 256), (w + kP1), (w + kP2), nullptr, A, (A + 513), pool);
// CPP-NOT:     dst_col = 2
func.func @unit(%in: memref<1x16x4x4xf32>, %out: memref<1x16x4x4xf32>)
    attributes {kiln.model = "unit", kiln.arena_bytes = 4096 : i64} {
  %w1 = kiln.param "b.0.weight" parameter : tensor<8x8x1x1xf32>
  %w2 = kiln.param "b.1.weight" parameter : tensor<8x8x1x1xf32>
  %b2 = kiln.param "b.1.bias" parameter : tensor<8xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  kernel.conv2d %w1 {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  kernel.conv2d %w2, %b2 {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>,
      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>, tensor<8xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>}
  return
}

// -----

// The pass-through after the convolution's channels, a 3x3 layer with a
// residual.
// CHECK-LABEL: func.func @after(
// CHECK:         kernel.conv2d
// CHECK-SAME:      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = 1 : i64
// CHECK-NEXT:    kernel.elementwise copy {inputs = [#kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4]
// CPP-LABEL: for model 'after'
// CPP:         kiln::cpu::conv2d_shuffled<kConv2d0, kiln::cpu::Epilogue{.bias = false, .residual = true, .residual_stride = 8, .act = kiln::cpu::Act::None, .pass_stride = 16, .pass_offset = 1}>((A + 256), (w + kP0), nullptr, (A + 384), A, (A + 512), pool);
func.func @after(%in: memref<1x16x4x4xf32>, %out: memref<1x16x4x4xf32>)
    attributes {kiln.model = "after", kiln.arena_bytes = 4096 : i64} {
  %w = kiln.param "c.weight" parameter : tensor<8x8x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>,
      output = #kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      residual = #kernel.buffer<arena[1536, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<8x8x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>}
  return
}

// -----

// Not fused: each convolution is followed by its group's copy, but an op
// runs between them, the convolution is depthwise or Winograd, or the
// source overlaps the output.
// CPP-LABEL: for model 'kept'
// CPP-NOT:     conv2d_shuffled
// CPP-COUNT-5: dst_col = 2
// CPP-NOT:     conv2d_shuffled
// CHECK-LABEL: func.func @kept(
// CHECK-NOT:     passthrough
// CHECK-COUNT-5: kernel.elementwise copy {inputs = [#kernel.buffer<arena[{{0|2048}}, 0], act, [1, 8, 4, 4]
// CHECK-NOT:     passthrough
// CHECK:         return
func.func @kept(%in: memref<1x16x4x4xf32>, %out: memref<1x16x4x4xf32>)
    attributes {kiln.model = "kept", kiln.arena_bytes = 4096 : i64} {
  %w = kiln.param "c.weight" parameter : tensor<8x8x1x1xf32>
  %w3 = kiln.param "c3.weight" parameter : tensor<8x8x3x3xf32>
  %wd = kiln.param "d.weight" parameter : tensor<8x1x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  // Something between.
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  kernel.elementwise zero {inputs = [], output = #kernel.buffer<arena[3072, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  // Depthwise.
  kernel.conv2d %wd {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 8 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<8x1x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  // Winograd.
  kernel.conv2d %w3 {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>, winograd = 2 : i64} : tensor<8x8x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  // The source is the output's own buffer (what the convolution wrote).
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2048, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  // The input lies between the output's pixels (channels 16..23 of 24).
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 16], act, [1, 8, 4, 4], [384, 1, 96, 24]>,
      output = #kernel.buffer<arena[0, 1], act, [1, 8, 4, 4], [384, 2, 96, 24]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[2048, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [384, 2, 96, 24]>}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [384, 1, 96, 24]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>}
  return
}

// -----

// Not fused: three groups, and a destination that is not beside the
// output (another buffer's channels).
// CHECK-LABEL: func.func @elsewhere(
// CHECK-NOT:     passthrough
// CHECK-COUNT-2: kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4]
func.func @elsewhere(%in: memref<1x16x4x4xf32>, %out: memref<1x16x4x4xf32>)
    attributes {kiln.model = "elsewhere", kiln.arena_bytes = 4096 : i64} {
  %w = kiln.param "c.weight" parameter : tensor<8x8x1x1xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [384, 3, 96, 24]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [384, 3, 96, 24]>}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2560, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[1024, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>}
  return
}
