// RUN: kiln-opt --split-input-file --kiln-choose-layout --kiln-plan-memory --kiln-lower-to-kernels %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-choose-layout --kiln-plan-memory --kiln-choose-schedule=precision=fp16 --kiln-lower-to-kernels=target=cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: kiln-opt --split-input-file --kiln-choose-layout --kiln-plan-memory --kiln-choose-schedule="precision=fp16 sm90a=true" --kiln-lower-to-kernels=target=cuda %s | FileCheck %s --check-prefix=SM90A
// RUN: kiln-opt --split-input-file --verify-diagnostics --kiln-lower-to-kernels %S/Inputs/lower-to-kernels-errors.mlir
// RUN: not kiln-opt --kiln-choose-layout --kiln-plan-memory --kiln-lower-to-kernels=target=tpu %s 2>&1 | FileCheck %s --check-prefix=TARGET

// Tests that a planned graph becomes one kernel op per kernel, in order,
// on buffers of the plan: the model function takes the input and output
// as memrefs, weights stay ops, views and in-place concats cost nothing,
// and the CUDA target adds its conversions.

// CHECK-LABEL: func.func @net(
// CHECK-SAME:    %{{.*}}: memref<1x3x8x8xf32>, %{{.*}}: memref<1x10xf32>)
// CHECK-SAME:    kiln.arena_bytes = [[ARENA:[0-9]+]] : i64
// CHECK-NOT:     kernel.precision
// The NCHW input into NHWC for the convolution.
// CHECK:         kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>], output = #kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>}
// CHECK:         kernel.conv2d %{{.*}} {activation = #kiln<activation none>, {{.*}}groups = 1 : i64, input = #kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>, output = #kernel.buffer<arena[[[CONV:[0-9]+]], 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>
// CHECK-NOT:     schedule
// CHECK:         kernel.elementwise activation {activation = #kiln<activation relu>, inputs = [#kernel.buffer<arena[[[CONV]], 0], act, [1, 16, 8, 8]
// The slice is a view: the pool reads channels 8..15 of the relu's buffer
// (element offset 8, pixels 16 apart).
// CHECK:         kernel.pool2d max {{{.*}}input = #kernel.buffer<arena[[[RELU:[0-9]+]], 8], act, [1, 8, 8, 8], [1024, 1, 128, 16]>
// CHECK-SAME:      output = #kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>
// CHECK:         kernel.adaptive_pool2d {input = #kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>, output = #kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 8], [8, 1]>, output_size = array<i64: 1, 1>}
// The classifier writes the model's output directly.
// CHECK:         kernel.linear %{{.*}}, %{{.*}} {{{.*}}output = #kernel.buffer<output[0, 0], f32, [1, 10], [10, 1]>}
// CHECK-NEXT:    return

// CUDA-LABEL: func.func @net(
// CUDA-SAME:    kernel.precision = #kernel<precision fp16>
// The RGB stem reads a zero-padded 8-channel input (16 bytes of fp16).
// CUDA:         kernel.pad_channels {input = #kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>, output = #kernel.buffer<arena[[[PAD:[0-9]+]], 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>}
// CUDA:         kernel.conv2d {{.*}}input = #kernel.buffer<arena[[[PAD]], 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>{{.*}}schedule = #kernel.schedule<
// A 16-bit result the plan sends to the caller is staged after the arena,
// then converted.
// CUDA:         kernel.linear {{.*}}output = #kernel.buffer<arena[[[STAGE:[0-9]+]], 0], act, [1, 10], [10, 1]>, schedule
// CUDA-NEXT:    kernel.elementwise copy {inputs = [#kernel.buffer<arena[[[STAGE]], 0], act, [1, 10], [10, 1]>], output = #kernel.buffer<output[0, 0], f32, [1, 10], [10, 1]>}
// CUDA-NEXT:    return

// Both variants' schedules (kiln.schedule, kiln.schedule_sm90a) become the
// kernel ops' schedule and sm90a_schedule:
// SM90A-LABEL: func.func @net(
// SM90A:         kernel.conv2d {{.*}}schedule = #kernel.schedule<{{.*}}split_k = {{[0-9]+}}>, sm90a_schedule = #kernel.schedule<{{.*}}, warpgroups = {{[12]}}>

// TARGET: unknown target 'tpu' (expected cpu or cuda)
func.func @net(%x: tensor<1x3x8x8xf32>) -> tensor<1x10xf32> attributes {kiln.model = "net"} {
  %w1 = kiln.param "conv1.weight" parameter : tensor<16x3x3x3xf32>
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  %r = kiln.relu %a : tensor<1x16x8x8xf32>
  %s = kiln.slice %r dim 1 start 8 end 16 step 1 : tensor<1x16x8x8xf32> -> tensor<1x8x8x8xf32>
  %p = kiln.max_pool2d %s kernel [2, 2] stride [2, 2] padding [0, 0] dilation [1, 1]
      : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
  %m = kiln.mean %p dims [2, 3] : tensor<1x8x4x4xf32> -> tensor<1x8xf32>
  %w2 = kiln.param "fc.weight" parameter : tensor<10x8xf32>
  %b2 = kiln.param "fc.bias" parameter : tensor<10xf32>
  %y = kiln.linear %m, %w2 bias %b2 : (tensor<1x8xf32>, tensor<10x8xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// A concat whose inputs are copied (no in-place marking), then a channel
// shuffle, which copies too.
// CHECK-LABEL: func.func @cat(
// CHECK:         kernel.elementwise copy {inputs = [#kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 4, 4, 4]{{.*}}output = #kernel.buffer<arena[[[CAT:[0-9]+]], 0], act, [1, 4, 4, 4], [128, 1, 32, 8]>}
// CHECK:         kernel.elementwise copy {inputs = [#kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 4, 4, 4]{{.*}}output = #kernel.buffer<arena[[[CAT]], 4], act, [1, 4, 4, 4], [128, 1, 32, 8]>}
// The shuffle: output channel i * 2 + j is input channel j * 4 + i.
// CHECK:         kernel.elementwise copy {inputs = [#kernel.buffer<arena[[[CAT]], 0], act, [1, 4, 2, 4, 4], [128, 1, 4, 32, 8]>], output = #kernel.buffer<arena[{{[0-9]+}}, 0], act, [1, 4, 2, 4, 4], [128, 2, 1, 32, 8]>}
func.func @cat(%x: tensor<1x4x4x4xf32>) -> tensor<1x8x4x4xf32> attributes {kiln.model = "cat"} {
  %w1 = kiln.param "a.weight" parameter : tensor<4x4x1x1xf32>
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x4x4xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x4x4xf32>
  %w2 = kiln.param "b.weight" parameter : tensor<4x4x1x1xf32>
  %b = kiln.conv2d %x, %w2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x4x4x4xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x4x4xf32>
  %c = kiln.concat %a, %b dim 1 : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x8x4x4xf32>
  %s = kiln.channel_shuffle %c groups 2 : tensor<1x8x4x4xf32>
  return %s : tensor<1x8x4x4xf32>
}

// -----

// Tests that a reshape of a transposed view is no view: it gets a buffer of
// its own (planned, row-major) and one copy kernel gathers the transposed
// elements into it; a reshape of a contiguous value stays a view.
// CHECK-LABEL: func.func @reshape_of_transpose
// CHECK:         kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [2, 4, 3], [12, 1, 4]>], output = #kernel.buffer<arena[[[R:[0-9]+]], 0], act, [2, 4, 3], [12, 3, 1]>}
// CHECK-NOT:     kernel.elementwise
// CHECK:         kernel.linear {{.*}}input = #kernel.buffer<arena[[[R]], 0], act, [2, 12], [12, 1]>
func.func @reshape_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<2x5xf32> attributes {kiln.model = "net"} {
  %t = kiln.transpose %x dims [1, 2] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %r = kiln.reshape %t shape [2, 12] : tensor<2x4x3xf32> -> tensor<2x12xf32>
  %w = kiln.param "fc.weight" parameter : tensor<5x12xf32>
  %y = kiln.linear %r, %w : (tensor<2x12xf32>, tensor<5x12xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// A Winograd tile (choose-winograd) goes to the CPU's kernel; the CUDA
// kernels have no Winograd path, so their lowering leaves it out.
// CHECK-LABEL: func.func @winograd(
// CHECK:         kernel.conv2d {{.*}}winograd = 4 : i64}
// CUDA-LABEL: func.func @winograd(
// CUDA:          kernel.conv2d
// CUDA-NOT:      winograd
// CUDA:          return
func.func @winograd(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "w"} {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {kiln.winograd = 4 : i64}
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// A convolution chain (fuse-conv-chains) is one CPU kernel at the project's
// place, reading the chain's input and the residual; the CUDA kernels run
// the three layers.
// CHECK-LABEL: func.func @chain(
// CHECK:         kernel.conv2d
// CHECK-NOT:     kernel.conv2d
// CHECK:         kernel.conv_chain %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {depthwise_activation = #kiln<activation relu6>, expand_activation = #kiln<activation relu6>, input = #kernel.buffer<arena[[[X:[0-9]+]], 0], act, [1, 16, 8, 8]{{.*}}project_activation = #kiln<activation none>, residual = #kernel.buffer<arena[[[X]], 0], act, [1, 16, 8, 8]
// CHECK-NOT:     kernel.conv2d
// CHECK:         return
// CUDA-LABEL: func.func @chain(
// CUDA-COUNT-4:  kernel.conv2d
// CUDA-NOT:      kernel.conv_chain
// CUDA:          return
func.func @chain(%in: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "chain"} {
  %ws = kiln.param "s.weight" parameter : tensor<16x16x3x3xf32>
  %x = kiln.conv2d %in, %ws stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %we = kiln.param "e.weight" parameter : tensor<96x16x1x1xf32>
  %be = kiln.param "e.bias" parameter : tensor<96xf32>
  %wd = kiln.param "d.weight" parameter : tensor<96x1x3x3xf32>
  %bd = kiln.param "d.bias" parameter : tensor<96xf32>
  %wp = kiln.param "p.weight" parameter : tensor<16x96x1x1xf32>
  %bp = kiln.param "p.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %x, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x16x8x8xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x8x8xf32>
  %d = kiln.conv2d %e, %wd bias %bd stride [1, 1] padding [1, 1] dilation [1, 1] groups 96 activation relu6 {kiln.chain}
      : (tensor<1x96x8x8xf32>, tensor<96x1x3x3xf32>, tensor<96xf32>) -> tensor<1x96x8x8xf32>
  %p = kiln.conv2d %d, %wp bias %bp residual %x stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x96x8x8xf32>, tensor<16x96x1x1xf32>, tensor<16xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  return %p : tensor<1x16x8x8xf32>
}

// -----

// Tests the ops ONNX models brought: a constant operand is the elementwise
// kernel's weight at its position (the mean subtracted, a scalar divided by
// the activation), clamp keeps its bounds, the upsampling is one copy into
// the output seen as N x C x H x 2 x W x 2, and the softmax is one kernel
// writing the model's output.
// CHECK-LABEL: func.func @onnx_ops
// CHECK:         %[[M:.*]] = kiln.param "mean" buffer : tensor<1x3x1x1xf32>
// CHECK:         kernel.elementwise sub %[[M]] {inputs = [#kernel.buffer<input[0, 0], f32, [1, 3, 4, 4], [48, 16, 4, 1]>], output = #kernel.buffer<arena[[[S:[0-9]+]], 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>, weight_position = 1 : i64} : tensor<1x3x1x1xf32>
// CHECK:         %[[H:.*]] = kiln.param "half" buffer : tensor<1xf32>
// CHECK:         kernel.elementwise div %[[H]] {inputs = [#kernel.buffer<arena[[[S]], 0], {{.*}}], output = #kernel.buffer<arena[[[D:[0-9]+]], 0], {{.*}}, weight_position = 0 : i64} : tensor<1xf32>
// CHECK:         kernel.elementwise clamp {alpha = -1.000000e+00 : f64, beta = 5.000000e-01 : f64, inputs = [#kernel.buffer<arena[[[D]], 0], {{.*}}], output = #kernel.buffer<arena[[[C:[0-9]+]], 0]
// CHECK:         kernel.elementwise copy {inputs = [#kernel.buffer<arena[[[C]], 0], act, [1, 3, 4, 1, 4, 1], [48, 1, 12, 0, 3, 0]>], output = #kernel.buffer<arena[[[U:[0-9]+]], 0], act, [1, 3, 4, 2, 4, 2], [192, 1, 48, 24, 6, 3]>}
// CHECK:         kernel.softmax {dim = 1 : i64, input = #kernel.buffer<arena[[[F:[0-9]+]], 0], act, [1, 192], [192, 1]>, output = #kernel.buffer<output[0, 0], f32, [1, 192], [192, 1]>}
func.func @onnx_ops(%x: tensor<1x3x4x4xf32>) -> tensor<1x192xf32> attributes {kiln.model = "net"} {
  %m = kiln.param "mean" buffer : tensor<1x3x1x1xf32>
  %s = kiln.sub %x, %m : tensor<1x3x4x4xf32>, tensor<1x3x1x1xf32> -> tensor<1x3x4x4xf32>
  %h = kiln.param "half" buffer : tensor<1xf32>
  %d = kiln.div %h, %s : tensor<1xf32>, tensor<1x3x4x4xf32> -> tensor<1x3x4x4xf32>
  %c = kiln.clamp %d min -1.0 max 0.5 : tensor<1x3x4x4xf32>
  %u = kiln.upsample_nearest %c scale [2, 2] : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  %f = kiln.flatten %u start_dim 1 end_dim 3 : tensor<1x3x8x8xf32> -> tensor<1x192xf32>
  %y = kiln.softmax %f dim 1 : tensor<1x192xf32>
  return %y : tensor<1x192xf32>
}
