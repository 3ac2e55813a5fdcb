// RUN: kiln-opt --split-input-file --verify-diagnostics %s

// Tests the verifiers of the kernel dialect: each case is one broken
// kernel.

// expected-error @below {{a buffer of rank 2 has 1 strides}}
func.func private @f() attributes {a = #kernel.buffer<arena[0, 0], act, [1, 4], [4]>}

// -----

// expected-error @below {{only arena buffers have a byte offset}}
func.func private @f() attributes {a = #kernel.buffer<input[64, 0], f32, [1, 4], [4, 1]>}

// -----

// expected-error @below {{a buffer's dimensions must be positive}}
func.func private @f() attributes {a = #kernel.buffer<arena[0, 0], f32, [0, 4], [4, 1]>}

// -----

// expected-error @below {{a 64x48 tile does not split over 2x5 warps}}
func.func private @f() attributes {s = #kernel.schedule<bm = 64, bn = 48, bk = 32, warps_m = 2, warps_n = 5, stages = 3, split_k = 1>}

// -----

// expected-error @below {{'kernel.precision' must be a #kernel.precision on a function}}
func.func private @f() attributes {kernel.precision = "fp16"}

// -----

func.func @conv(%w: tensor<16x3x3x3xf32>) {
  // expected-error @below {{needs a channels-last 4-D input}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 64, 8, 1]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<16x3x3x3xf32>
  return
}

// -----

func.func @conv(%w: tensor<16x3x3x3xf32>) {
  // expected-error @below {{output height 7 does not follow from the input and the window}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 7, 8], [896, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<16x3x3x3xf32>
  return
}

// -----

func.func @conv(%w: tensor<16x4x3x3xf32>) {
  // expected-error @below {{a weight of 4 input channels per group (2 groups) does not fit an input of 3 channels}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 2 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<16x4x3x3xf32>
  return
}

// -----

func.func @conv(%w: tensor<16x3x1x1xf32>) {
  // expected-error @below {{needs a dense N x C fp32 input scale}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 0, 0>, scale = #kernel.buffer<arena[8192, 0], act, [1, 3], [3, 1]>,
      stride = array<i64: 1, 1>} : tensor<16x3x1x1xf32>
  return
}

// -----

func.func @linear(%w: tensor<10x16xf32>) {
  // expected-error @below {{needs an input of 1 rows of 16 features}}
  kernel.linear %w {activation = #kiln<activation none>,
      input = #kernel.buffer<arena[0, 0], act, [1, 15], [15, 1]>,
      output = #kernel.buffer<output[0, 0], f32, [1, 10], [10, 1]>} : tensor<10x16xf32>
  return
}

// -----

func.func @se(%w1: tensor<4x16xf32>, %b1: tensor<4xf32>, %w2: tensor<16x4xf32>, %b2: tensor<16xf32>) {
  // expected-error @below {{needs a dense 1 x 16 output}}
  kernel.se_gate %w1, %b1, %w2, %b2 {activation = #kiln<activation relu>, gate = #kiln<activation sigmoid>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 0], f32, [1, 16, 1, 1], [16, 1, 16, 16]>}
      : tensor<4x16xf32>, tensor<4xf32>, tensor<16x4xf32>, tensor<16xf32>
  return
}

// -----

func.func @pool() {
  // expected-error @below {{keeps the batch and the channels}}
  kernel.pool2d avg {dilation = array<i64: 1, 1>, exclude_pad = false,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      kernel = array<i64: 2, 2>, output = #kernel.buffer<arena[4096, 0], act, [1, 8, 4, 4], [128, 1, 32, 8]>,
      padding = array<i64: 0, 0>, stride = array<i64: 2, 2>}
  return
}

// -----

func.func @pool() {
  // expected-error @below {{needs a dense output of the pooled shape}}
  kernel.adaptive_pool2d {input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 2, 2], [64, 1, 32, 16]>, output_size = array<i64: 1, 1>}
  return
}

// -----

func.func @reduce() {
  // expected-error @below {{has an output shape that does not follow from the input}}
  kernel.reduce {dims = array<i64: 1>, input = #kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>,
      keepdim = false, output = #kernel.buffer<arena[4096, 0], act, [16], [1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'add' takes 2 inputs}}
  kernel.elementwise add {inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{names an activation exactly when its function is one}}
  kernel.elementwise copy {activation = #kiln<activation relu>,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{has an input that does not broadcast to the output}}
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [3, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'leaky_relu' needs alpha}}
  kernel.elementwise leaky_relu {inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'sub' takes no alpha}}
  kernel.elementwise sub {alpha = 1.0 : f64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>, #kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'fill' takes 0 inputs}}
  kernel.elementwise fill {alpha = 1.0 : f64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise(%w: tensor<16xf32>) {
  // expected-error @below {{has a weight exactly when it has a weight_position}}
  kernel.elementwise mul %w {inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>} : tensor<16xf32>
  return
}

// -----

func.func @elementwise(%w: tensor<16xf32>) {
  // expected-error @below {{reads its weight as operand 2 of a function of 2}}
  kernel.elementwise sub %w {weight_position = 2 : i64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>} : tensor<16xf32>
  return
}

// -----

func.func @elementwise(%w: tensor<8xf32>) {
  // expected-error @below {{has a weight that does not broadcast to the output}}
  kernel.elementwise add %w {weight_position = 1 : i64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>} : tensor<8xf32>
  return
}

// -----

func.func @elementwise(%w: tensor<16xf32>) {
  // expected-error @below {{'add' takes 2 inputs}}
  kernel.elementwise add %w {weight_position = 1 : i64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>, #kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>} : tensor<16xf32>
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'clamp' needs a bound: alpha (min) or beta (max)}}
  kernel.elementwise clamp {inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'clamp' needs alpha (min) <= beta (max)}}
  kernel.elementwise clamp {alpha = 1.0 : f64, beta = -1.0 : f64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @elementwise() {
  // expected-error @below {{'tanh' takes no beta}}
  kernel.elementwise tanh {beta = 1.0 : f64,
      inputs = [#kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>],
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @softmax() {
  // expected-error @below {{needs an input and an output of one shape}}
  kernel.softmax {dim = 1 : i64, input = #kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>,
      output = #kernel.buffer<arena[4096, 0], act, [2, 8], [8, 1]>}
  return
}

// -----

func.func @softmax() {
  // expected-error @below {{reduces dimension 2 of a rank-2 input}}
  kernel.softmax {dim = 2 : i64, input = #kernel.buffer<arena[0, 0], act, [2, 16], [16, 1]>,
      output = #kernel.buffer<arena[4096, 0], act, [2, 16], [16, 1]>}
  return
}

// -----

func.func @bn(%s: tensor<8xf32>) {
  // expected-error @below {{needs statistics of 16 channels}}
  kernel.batch_norm %s, %s, %s, %s {epsilon = 1.0e-5 : f64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
      : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @pad() {
  // expected-error @below {{needs an output of the input's pixels with more channels}}
  kernel.pad_channels {input = #kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>,
                       output = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 8], [256, 1, 64, 8]>}
  return
}

// -----

func.func @winograd_tile(%w: tensor<16x3x3x3xf32>) {
  // expected-error @below {{'winograd' must be 2 or 4}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>, winograd = 3 : i64} : tensor<16x3x3x3xf32>
  return
}

// -----

func.func @conv(%w: tensor<16x8x3x3xf32>) {
  // expected-error @below {{'schedule' is the mma.sync kernel's (no warpgroups); an sm_90a schedule is 'sm90a_schedule'}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>,
      schedule = #kernel.schedule<bm = 64, bn = 64, bk = 64, warps_m = 4, warps_n = 1, stages = 3, split_k = 1, warpgroups = 1>}
      : tensor<16x8x3x3xf32>
  return
}

// -----

func.func @winograd_strided(%w: tensor<16x3x3x3xf32>) {
  // expected-error @below {{'winograd' needs a dense 3x3 convolution with stride 1, no dilation, no channel padding, no input scale and no GPU schedule}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 2, 2>, winograd = 2 : i64} : tensor<16x3x3x3xf32>
  return
}

// -----

func.func @winograd_1x1(%w: tensor<16x3x1x1xf32>) {
  // expected-error @below {{'winograd' needs a dense 3x3 convolution}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>, winograd = 4 : i64} : tensor<16x3x1x1xf32>
  return
}

// -----

func.func @chain_channels(%we: tensor<40x16x1x1xf32>, %be: tensor<40xf32>, %wd: tensor<40x1x3x3xf32>,
                          %wp: tensor<16x40x1x1xf32>, %bp: tensor<16xf32>) {
  // expected-error @below {{needs a 1x1 expand weight from the input's 16 channels to a multiple of 16}}
  kernel.conv_chain %we, %be, %wd, %be, %wp, %bp {depthwise_activation = #kiln<activation relu6>,
      expand_activation = #kiln<activation relu6>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, project_activation = #kiln<activation none>, stride = array<i64: 1, 1>}
      : tensor<40x16x1x1xf32>, tensor<40xf32>, tensor<40x1x3x3xf32>, tensor<40xf32>, tensor<16x40x1x1xf32>, tensor<16xf32>
  return
}

// -----

func.func @chain_window(%we: tensor<48x16x1x1xf32>, %be: tensor<48xf32>, %wd: tensor<48x1x7x7xf32>,
                        %wp: tensor<16x48x1x1xf32>, %bp: tensor<16xf32>) {
  // expected-error @below {{needs a 3x3 or 5x5 depthwise weight of 48 channels}}
  kernel.conv_chain %we, %be, %wd, %be, %wp, %bp {depthwise_activation = #kiln<activation relu6>,
      expand_activation = #kiln<activation relu6>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 3, 3>, project_activation = #kiln<activation none>, stride = array<i64: 1, 1>}
      : tensor<48x16x1x1xf32>, tensor<48xf32>, tensor<48x1x7x7xf32>, tensor<48xf32>, tensor<16x48x1x1xf32>, tensor<16xf32>
  return
}

// -----

func.func @chain_output(%we: tensor<48x16x1x1xf32>, %be: tensor<48xf32>, %wd: tensor<48x1x3x3xf32>,
                        %wp: tensor<16x48x1x1xf32>, %bp: tensor<16xf32>) {
  // expected-error @below {{output height 8 does not follow from the input and the window}}
  kernel.conv_chain %we, %be, %wd, %be, %wp, %bp {depthwise_activation = #kiln<activation relu6>,
      expand_activation = #kiln<activation relu6>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, project_activation = #kiln<activation none>, stride = array<i64: 2, 2>}
      : tensor<48x16x1x1xf32>, tensor<48xf32>, tensor<48x1x3x3xf32>, tensor<48xf32>, tensor<16x48x1x1xf32>, tensor<16xf32>
  return
}

// -----

func.func @linear(%w: tensor<10x16xf32>) {
  // expected-error @below {{'sm90a_schedule' needs warpgroups}}
  kernel.linear %w {activation = #kiln<activation none>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16], [16, 1]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 10], [10, 1]>,
      sm90a_schedule = #kernel.schedule<bm = 32, bn = 32, bk = 32, warps_m = 2, warps_n = 1, stages = 2, split_k = 1>}
      : tensor<10x16xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{needs both 'passthrough' and 'passthrough_offset' or neither}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{'passthrough_offset' must be -1 or 1}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = 2 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{a pass-through needs an output of every other channel (a two-group shuffle)}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = -1 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x1x1x1xf32>) {
  // expected-error @below {{a pass-through needs a dense CPU convolution without Winograd or an input scale}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 8 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = -1 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x1x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{needs a channels-last pass-through of the output's shape and element type}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 16, 4, 1]>, passthrough_offset = -1 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{the pass-through lands before its buffer}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = -1 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{the pass-through overlaps the output}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 8], act, [1, 8, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [256, 2, 64, 16]>,
      passthrough = #kernel.buffer<arena[1024, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = -1 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}

// -----

func.func @passthrough(%w: tensor<8x8x1x1xf32>) {
  // expected-error @below {{the input or the residual overlaps the pass-through's output}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[1024, 16], act, [1, 8, 4, 4], [384, 1, 96, 24]>,
      output = #kernel.buffer<arena[1024, 1], act, [1, 8, 4, 4], [384, 2, 96, 24]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 8, 4, 4], [256, 1, 64, 16]>, passthrough_offset = -1 : i64,
      padding = array<i64: 0, 0>, stride = array<i64: 1, 1>} : tensor<8x8x1x1xf32>
  return
}
