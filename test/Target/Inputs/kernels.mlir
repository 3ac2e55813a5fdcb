// Kernel-level models, one per kernel kind, that both targets' translation
// tests print (Cpu/kernels.mlir, Cuda/kernels.mlir). Arena buffers are
// placed by hand: every offset is a multiple of 256 bytes.

// A dense convolution with bias, residual and relu (an implicit GEMM),
// reading its input converted from the model's NCHW input.
func.func @conv(%in: memref<1x16x8x8xf32>, %out: memref<1x16x8x8xf32>)
    attributes {kiln.model = "conv", kiln.arena_bytes = 12288 : i64, kernel.precision = #kernel<precision fp16>} {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  %b = kiln.param "conv.bias" parameter : tensor<16xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 8, 8], [1024, 64, 8, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>}
  kernel.conv2d %w, %b {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, residual = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      schedule = #kernel.schedule<bm = 64, bn = 16, bk = 32, warps_m = 2, warps_n = 1, stages = 3, split_k = 1>,
      stride = array<i64: 1, 1>} : tensor<16x16x3x3xf32>, tensor<16xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 8, 8], [1024, 64, 8, 1]>}
  return
}

// -----

// A depthwise convolution (a direct kernel) writing every second channel
// of a wider buffer (a shuffled concat's), then max pooling of the buffer.
func.func @depthwise(%in: memref<1x16x8x8xf32>, %out: memref<1x32x4x4xf32>)
    attributes {kiln.model = "depthwise", kiln.arena_bytes = 16384 : i64, kernel.precision = #kernel<precision fp32>} {
  %w = kiln.param "dw.weight" parameter : tensor<16x1x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 8, 8], [1024, 64, 8, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>}
  kernel.conv2d %w {activation = #kiln<activation relu6>, dilation = array<i64: 1, 1>, groups = 16 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[4096, 1], act, [1, 16, 8, 8], [2048, 2, 256, 32]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<16x1x3x3xf32>
  kernel.elementwise zero {inputs = [], output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [2048, 2, 256, 32]>}
  kernel.pool2d max {dilation = array<i64: 1, 1>, exclude_pad = false,
      input = #kernel.buffer<arena[4096, 0], act, [1, 32, 8, 8], [2048, 1, 256, 32]>,
      kernel = array<i64: 3, 3>, output = #kernel.buffer<arena[12288, 0], act, [1, 32, 4, 4], [512, 1, 128, 32]>,
      padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[12288, 0], act, [1, 32, 4, 4], [512, 1, 128, 32]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 32, 4, 4], [512, 16, 4, 1]>}
  return
}

// -----

// A squeeze-and-excitation gate and the 1x1 convolution it scales, average
// pooling, and a pooled classifier.
func.func @gate(%in: memref<1x16x4x4xf32>, %out: memref<1x10xf32>)
    attributes {kiln.model = "gate", kiln.arena_bytes = 12288 : i64, kernel.precision = #kernel<precision bf16>} {
  %r = kiln.param "se.fc1.weight" parameter : tensor<4x16x1x1xf32>
  %rb = kiln.param "se.fc1.bias" parameter : tensor<4xf32>
  %e = kiln.param "se.fc2.weight" parameter : tensor<16x4x1x1xf32>
  %eb = kiln.param "se.fc2.bias" parameter : tensor<16xf32>
  %w = kiln.param "conv.weight" parameter : tensor<16x16x1x1xf32>
  %fc = kiln.param "fc.weight" parameter : tensor<10x16xf32>
  %fb = kiln.param "fc.bias" parameter : tensor<10xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 4, 4], [256, 16, 4, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  kernel.se_gate %r, %rb, %e, %eb {activation = #kiln<activation relu>, gate = #kiln<activation hard_sigmoid>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 0], f32, [1, 16], [16, 1]>, scratch = 1280 : i64}
      : tensor<4x16x1x1xf32>, tensor<4xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      padding = array<i64: 0, 0>, scale = #kernel.buffer<arena[1024, 0], f32, [1, 16], [16, 1]>,
      schedule = #kernel.schedule<bm = 32, bn = 16, bk = 32, warps_m = 2, warps_n = 1, stages = 2, split_k = 1>,
      scratch = 8192 : i64, stride = array<i64: 1, 1>} : tensor<16x16x1x1xf32>
  kernel.pool2d avg {dilation = array<i64: 1, 1>, exclude_pad = true,
      input = #kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      kernel = array<i64: 2, 2>, output = #kernel.buffer<arena[5120, 0], act, [1, 16, 2, 2], [64, 1, 32, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 2, 2>}
  kernel.linear %fc, %fb {activation = #kiln<activation none>,
      input = #kernel.buffer<arena[5120, 0], act, [1, 16, 2, 2], [64, 1, 32, 16]>,
      output = #kernel.buffer<arena[6144, 0], act, [1, 10], [10, 1]>, pool_scratch = 5632 : i64,
      schedule = #kernel.schedule<bm = 32, bn = 16, bk = 32, warps_m = 2, warps_n = 1, stages = 2, split_k = 1>}
      : tensor<10x16xf32>, tensor<10xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[6144, 0], act, [1, 10], [10, 1]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 10], [10, 1]>}
  return
}

// -----

// Elementwise kernels (hard_swish, then silu in place), an unfused batch
// norm, adaptive pooling and a general mean.
func.func @loops(%in: memref<2x8x4x4xf32>, %out: memref<2x8xf32>)
    attributes {kiln.model = "loops", kiln.arena_bytes = 4096 : i64, kernel.precision = #kernel<precision fp32>} {
  %g = kiln.param "bn.weight" parameter : tensor<8xf32>
  %b = kiln.param "bn.bias" parameter : tensor<8xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<8xf32>
  %v = kiln.param "bn.running_var" buffer : tensor<8xf32>
  kernel.batch_norm %g, %b, %m, %v {epsilon = 1.0e-5 : f64,
      input = #kernel.buffer<input[0, 0], f32, [2, 8, 4, 4], [128, 16, 4, 1]>,
      output = #kernel.buffer<arena[0, 0], act, [2, 8, 4, 4], [128, 16, 4, 1]>}
      : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  kernel.elementwise activation {activation = #kiln<activation hard_swish>,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 8, 4, 4], [128, 16, 4, 1]>],
      output = #kernel.buffer<arena[1024, 0], act, [2, 8, 4, 4], [128, 1, 32, 8]>}
  kernel.elementwise activation {activation = #kiln<activation silu>,
      inputs = [#kernel.buffer<arena[1024, 0], act, [2, 8, 4, 4], [128, 1, 32, 8]>],
      output = #kernel.buffer<arena[1024, 0], act, [2, 8, 4, 4], [128, 1, 32, 8]>}
  kernel.elementwise add {inputs = [#kernel.buffer<arena[1024, 0], act, [2, 8, 4, 4], [128, 1, 32, 8]>,
                                    #kernel.buffer<input[0, 0], f32, [2, 8, 4, 4], [128, 16, 4, 1]>],
      output = #kernel.buffer<arena[1024, 0], act, [2, 8, 4, 4], [128, 1, 32, 8]>}
  kernel.adaptive_pool2d {input = #kernel.buffer<arena[1024, 0], act, [2, 8, 4, 4], [128, 1, 32, 8]>,
      output = #kernel.buffer<arena[2048, 0], act, [2, 8], [8, 1]>, output_size = array<i64: 1, 1>}
  kernel.reduce {dims = array<i64: 2, 3>, input = #kernel.buffer<arena[0, 0], act, [2, 8, 4, 4], [128, 16, 4, 1]>,
      keepdim = false, output = #kernel.buffer<arena[2304, 0], act, [2, 8], [8, 1]>}
  kernel.elementwise mul {inputs = [#kernel.buffer<arena[2048, 0], act, [2, 8], [8, 1]>,
                                    #kernel.buffer<arena[2304, 0], act, [2, 8], [8, 1]>],
      output = #kernel.buffer<output[0, 0], f32, [2, 8], [8, 1]>}
  return
}

// -----

// Elementwise functions without an epilogue form: a pad (fill, then the
// input into the interior), sub, div, tanh, leaky_relu and elu.
func.func @elementwise_fns(%in: memref<1x2x2x2xf32>, %out: memref<1x2x4x4xf32>)
    attributes {kiln.model = "elementwise_fns", kiln.arena_bytes = 4096 : i64, kernel.precision = #kernel<precision fp32>} {
  kernel.elementwise fill {alpha = 5.0e-01 : f64, inputs = [],
      output = #kernel.buffer<arena[0, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>}
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 2, 2, 2], [8, 4, 2, 1]>],
      output = #kernel.buffer<arena[0, 10], act, [1, 2, 2, 2], [32, 1, 8, 2]>}
  kernel.elementwise sub {inputs = [#kernel.buffer<arena[0, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>,
                                    #kernel.buffer<arena[0, 0], act, [1, 2, 1, 1], [32, 1, 8, 2]>],
      output = #kernel.buffer<arena[256, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>}
  kernel.elementwise div {inputs = [#kernel.buffer<arena[256, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>,
                                    #kernel.buffer<arena[0, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>],
      output = #kernel.buffer<arena[512, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>}
  kernel.elementwise tanh {inputs = [#kernel.buffer<arena[512, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>],
      output = #kernel.buffer<arena[256, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>}
  kernel.elementwise leaky_relu {alpha = 1.0e-01 : f64,
      inputs = [#kernel.buffer<arena[256, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>],
      output = #kernel.buffer<arena[512, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>}
  kernel.elementwise elu {alpha = 2.0 : f64,
      inputs = [#kernel.buffer<arena[512, 0], act, [1, 2, 4, 4], [32, 1, 8, 2]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 2, 4, 4], [32, 16, 4, 1]>}
  return
}

// -----

// What ONNX models add: constant operands (a normalization's mean, a
// scalar divided by an activation), clamps, a nearest upsampling by 2 as
// one copy (the output seen as N x C x H x 2 x W x 2, the input broadcast
// along the factors), and softmaxes over the channels of NHWC data and
// along a row into the output.
func.func @onnx_ops(%in: memref<1x3x4x4xf32>, %out: memref<1x48xf32>)
    attributes {kiln.model = "onnx_ops", kiln.arena_bytes = 4096 : i64, kernel.precision = #kernel<precision fp16>} {
  %mean = kiln.param "mean" buffer : tensor<1x3x1x1xf32>
  %c = kiln.param "scale.constant" buffer : tensor<1xf32>
  kernel.elementwise sub %mean {weight_position = 1 : i64,
      inputs = [#kernel.buffer<input[0, 0], f32, [1, 3, 4, 4], [48, 16, 4, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>} : tensor<1x3x1x1xf32>
  kernel.elementwise div %c {weight_position = 0 : i64,
      inputs = [#kernel.buffer<arena[0, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>],
      output = #kernel.buffer<arena[256, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>} : tensor<1xf32>
  kernel.elementwise clamp {alpha = -1.0 : f64, beta = 5.0e-01 : f64,
      inputs = [#kernel.buffer<arena[256, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>}
  kernel.elementwise clamp {beta = 2.0 : f64,
      inputs = [#kernel.buffer<arena[0, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>],
      output = #kernel.buffer<arena[256, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>}
  kernel.elementwise copy {
      inputs = [#kernel.buffer<arena[256, 0], act, [1, 3, 4, 1, 4, 1], [48, 1, 12, 0, 3, 0]>],
      output = #kernel.buffer<arena[512, 0], act, [1, 3, 4, 2, 4, 2], [192, 1, 48, 24, 6, 3]>}
  kernel.softmax {dim = 1 : i64, input = #kernel.buffer<arena[0, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>,
      output = #kernel.buffer<arena[1536, 0], act, [1, 3, 4, 4], [48, 1, 12, 3]>}
  kernel.softmax {dim = 1 : i64, input = #kernel.buffer<arena[1536, 0], act, [1, 48], [48, 1]>,
      output = #kernel.buffer<output[0, 0], f32, [1, 48], [48, 1]>}
  return
}
