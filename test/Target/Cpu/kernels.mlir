// RUN: kiln-translate --split-input-file --kiln-to-cpp %S/../Inputs/kernels.mlir | FileCheck %s
// RUN: kiln-translate --split-input-file --kiln-to-cpp --verify-diagnostics %s

// Tests the C++ the CPU target prints for each kernel kind, from the
// hand-written kernel-level models of Inputs/kernels.mlir; then (this file)
// the kernels the CPU target refuses. Arena buffers are `A` plus the byte
// offset / 4 plus the element offset.

// An implicit-GEMM convolution: its shape constant, its packed weights and
// bias, and its epilogue (residual at 16 elements a pixel).
// CHECK-LABEL: for model 'conv'
// CHECK:       constexpr kiln::cpu::Conv2d kConv2d0{.n = 1, .h = 8, .w = 8, .c = 16, .o = 16, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1, .ho = 8, .wo = 8, .in_stride = 16, .out_stride = 16};
// CHECK:       kiln::cpu::conv2d_pack<kConv2d0>(p[0], (w + kP0));
// CHECK-NEXT:  std::copy_n(p[1], 16, (w + kP1));
// The copy from NCHW into NHWC, a call of the runtime's copy2d: rows of
// pixels, each gathering its 16 channels 64 floats apart; and back.
// CHECK:       kiln::cpu::copy2d({.n = 1, .rows = 64, .cols = 16, .src_n = 0, .src_row = 1, .src_col = 64, .dst_n = 0, .dst_row = 16, .dst_col = 1}, input, A, pool);
// CHECK:       kiln::cpu::conv2d<kConv2d0, kiln::cpu::Epilogue{.bias = true, .residual = true, .residual_stride = 16, .act = kiln::cpu::Act::Relu}>(A, (w + kP0), (w + kP1), A, (A + 1024), pool);
// CHECK:       kiln::cpu::copy2d({.n = 1, .rows = 16, .cols = 64, .src_n = 0, .src_row = 1, .src_col = 16, .dst_n = 0, .dst_row = 64, .dst_col = 1}, (A + 1024), output, pool);
// CHECK:       kPreparedFloats, 12288,

// A depthwise convolution into every second channel (out_step 2) from
// element 1, the zero fill of the other channels, max pooling.
// CHECK-LABEL: for model 'depthwise'
// CHECK:       kConv2d0{{.*}} .groups = 16, .ho = 8, .wo = 8, .in_stride = 16, .out_stride = 32, .out_step = 2};
// CHECK:       kPool2d1{.n = 1, .h = 8, .w = 8, .c = 32, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .ho = 4, .wo = 4, .exclude_pad = false, .in_stride = 32, .out_stride = 32};
// CHECK:       kiln::cpu::conv2d<kConv2d0, kiln::cpu::Epilogue{.bias = false, .residual = false, .residual_stride = 0, .act = kiln::cpu::Act::Relu6}>(A, (w + kP0), nullptr, nullptr, (A + 1025), pool);
// CHECK:       for (int64_t i0 = 0; i0 < 1024; ++i0) {
// CHECK-NEXT:    (A + 1024)[i0 * 2] = 0.0f;
// CHECK:       kiln::cpu::max_pool2d<kPool2d1>((A + 1024), (A + 3072), pool);

// The SE gate in steps through its scratch (pool, two linear layers), the
// per-image scaled convolution (weights scaled into its scratch per image),
// average pooling, and the pooled classifier.
// CHECK-LABEL: for model 'gate'
// CHECK:       kLinear0{.m = 1, .k = 16, .n = 4};
// CHECK:       kLinear1{.m = 1, .k = 4, .n = 16};
// CHECK:       kAdaptivePool2d2{.n = 1, .h = 4, .w = 4, .c = 16, .ho = 1, .wo = 1, .in_stride = 16, .out_stride = 16};
// CHECK:       kiln::cpu::adaptive_avg_pool2d<kAdaptivePool2d2>(A, (A + 320), pool);
// CHECK-NEXT:  kiln::cpu::linear<kLinear0, kiln::cpu::Epilogue{.bias = true, .act = kiln::cpu::Act::Relu}>((A + 320), (w + kP0), (w + kP2), nullptr, ((A + 320) + 16), pool);
// CHECK-NEXT:  kiln::cpu::linear<kLinear1, kiln::cpu::Epilogue{.bias = true, .act = kiln::cpu::Act::HardSigmoid}>(((A + 320) + 16), (w + kP1), (w + kP3), nullptr, (A + 256), pool);
// CHECK-NEXT:  static_assert(kiln::cpu::conv2d_packed_size<kConv2d3>() <= 1024, "scratch");
// CHECK-NEXT:  for (int64_t n = 0; n < 1; ++n) {
// CHECK-NEXT:    kiln::cpu::conv2d_scale_packed<kConv2d3>((w + kP4), (A + 256) + n * 16, (A + 2048), pool);
// CHECK-NEXT:    kiln::cpu::conv2d<kConv2d3, {{.*}}>(A + n * 256, (A + 2048), nullptr, nullptr, (A + 512) + n * 256, pool);
// CHECK:       kiln::cpu::avg_pool2d<kPool2d4>((A + 512), (A + 1280), pool);
// CHECK-NEXT:  kiln::cpu::adaptive_avg_pool2d<kAdaptivePool2d5>((A + 1280), (A + 1408), pool);
// CHECK-NEXT:  kiln::cpu::linear<kLinear6, {{.*}}>((A + 1408), (w + kP5), (w + kP6), nullptr, (A + 1536), pool);
// One loop (the logits into the output) is a single row.
// CHECK-NEXT:  kiln::cpu::copy2d({.n = 1, .rows = 1, .cols = 10, .src_n = 0, .src_row = 0, .src_col = 1, .dst_n = 0, .dst_row = 0, .dst_col = 1}, (A + 1536), output, pool);

// Loops: the batch norm's affine prepared in double, an activation from
// the CPU's scalar table, a broadcast-free add, a general mean as zero,
// accumulate and scale by 1/16.
// CHECK-LABEL: for model 'loops'
// CHECK:       double s = double(p[0][c]) / std::sqrt(double(p[3][c]) + 1.0000000000000001e-05);
// CHECK-NEXT:  (w + kP0)[c] = float(s);
// CHECK-NEXT:  (w + kP0)[8 + c] = float(double(p[1][c]) - double(p[2][c]) * s);
// CHECK:       A[i0 * 128 + i1 * 16 + i2] = in0 * in1 + in2;
// CHECK:       (A + 256)[i0 * 128 + i1 * 8 + i2] = in0 * std::min(std::max(in0 + 3.0f, 0.0f), 6.0f) / 6.0f;
// In place on a dense buffer, the silu is one loop.
// CHECK:       for (int64_t i0 = 0; i0 < 256; ++i0) {
// CHECK-NEXT:    const float in0 = (A + 256)[i0];
// CHECK-NEXT:    (A + 256)[i0] = in0 / (1.0f + std::exp(-in0));
// CHECK:       const float in1 = input[i0 * 128 + i1 + i2 * 16];
// CHECK-NEXT:  (A + 256)[i0 * 128 + i1 * 8 + i2] = in0 + in1;
// CHECK:       kiln::cpu::adaptive_avg_pool2d<kAdaptivePool2d0>((A + 256), (A + 512), pool);
// CHECK:       (A + 576)[i0] = 0.0f;
// CHECK:       (A + 576)[i0] += in0;
// CHECK:       (A + 576)[i0] = in0 * 0x1p-4f;
// CHECK:       output[i0] = in0 * in1;

// Elementwise functions: the fill and the interior copy of a pad (three
// loops: copy2d's images, rows and columns), then sub,
// div, tanh (from the CPU's exp), leaky_relu and elu with exact literals.
// CHECK-LABEL: for model 'elementwise_fns'
// CHECK:       A[i0] = 0x1p-1f;
// CHECK:       kiln::cpu::copy2d({.n = 2, .rows = 2, .cols = 2, .src_n = 2, .src_row = 1, .src_col = 4, .dst_n = 8, .dst_row = 2, .dst_col = 1}, input, (A + 10), pool);
// CHECK:       (A + 64)[i0 * 2 + i1] = in0 - in1;
// CHECK:       (A + 128)[i0] = in0 / in1;
// CHECK:       (A + 64)[i0] = 1.0f - 2.0f / (1.0f + std::exp(2.0f * in0));
// CHECK:       (A + 128)[i0] = (in0 > 0.0f ? in0 : 0x1.99999ap-4f * in0);
// CHECK:       output[i0 * 16 + i1] = (in0 > 0.0f ? in0 : 0x1p+1f * (std::exp(in0) - 1.0f));

// Constant operands are prepared vectors read with their own strides (the
// mean per channel, the scalar broadcast); clamps print their bounds; the
// upsampling is one copy; each softmax row is reduced to its maximum, then
// its sum (in double), then divided.
// CHECK-LABEL: for model 'onnx_ops'
// CHECK:       std::copy_n(p[0], 3, (w + kP0));
// CHECK-NEXT:  std::copy_n(p[1], 1, (w + kP1));
// CHECK:       const float in0 = input[i0 + i1 * 16];
// CHECK-NEXT:  const float in1 = (w + kP0)[i1];
// CHECK-NEXT:  A[i0 * 3 + i1] = in0 - in1;
// CHECK:       const float in0 = (w + kP1)[0];
// CHECK-NEXT:  const float in1 = A[i0];
// CHECK-NEXT:  (A + 64)[i0] = in0 / in1;
// CHECK:       A[i0] = std::min(std::max(in0, -0x1p+0f), 0x1p-1f);
// CHECK:       (A + 64)[i0] = std::min(in0, 0x1p+1f);
// CHECK:       const float in0 = (A + 64)[i0 * 12 + i2 * 3 + i4];
// CHECK-NEXT:  (A + 128)[i0 * 48 + i1 * 24 + i2 * 6 + i3 * 3 + i4] = in0;
// CHECK:       for (int64_t i0 = 0; i0 < 16; ++i0) {
// CHECK-NEXT:    const float *const in0_row = &A[i0 * 3];
// CHECK-NEXT:    float *const out_row = &(A + 384)[i0 * 3];
// CHECK-NEXT:    float max = in0_row[0];
// CHECK-NEXT:    for (int64_t k = 0; k < 3; ++k)
// CHECK-NEXT:      max = std::max(max, in0_row[k * 1]);
// CHECK-NEXT:    double sum = 0.0;
// CHECK-NEXT:    for (int64_t k = 0; k < 3; ++k) {
// CHECK-NEXT:      const float e = std::exp(in0_row[k * 1] - max);
// CHECK-NEXT:      out_row[k * 1] = e;
// CHECK-NEXT:      sum += e;
// CHECK-NEXT:    }
// CHECK-NEXT:    for (int64_t k = 0; k < 3; ++k)
// CHECK-NEXT:      out_row[k * 1] = float(out_row[k * 1] / sum);
// CHECK-NEXT:  }
// CHECK:       float *const out_row = &output[i0 * 48];
// CHECK:       for (int64_t k = 0; k < 48; ++k)
// CHECK-NEXT:    max = std::max(max, in0_row[k * 1]);

// Negative cases.

// expected-error @below {{the CPU target needs kernel-level IR with an arena}}
func.func @no_arena(%in: memref<1x4xf32>, %out: memref<1x4xf32>) attributes {kiln.model = "m"} {
  return
}

// -----

func.func @pad(%in: memref<1x3x8x8xf32>, %out: memref<1x8x8x8xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 2048 : i64} {
  // expected-error @below {{the CPU target has no channel-padding kernel}}
  kernel.pad_channels {input = #kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>,
                       output = #kernel.buffer<arena[0, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>}
  return
}

// -----

func.func @padded(%in: memref<1x3x8x8xf32>, %out: memref<1x16x8x8xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 8192 : i64} {
  %w = kiln.param "conv.weight" parameter : tensor<16x3x3x3xf32>
  // expected-error @below {{the CPU kernels read no channel-padded input}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<16x3x3x3xf32>
  return
}

// -----

func.func @scaled(%in: memref<1x16x4x4xf32>, %out: memref<1x16x4x4xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 8192 : i64} {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x1x1xf32>
  // expected-error @below {{the plan gives this scaled convolution no scratch}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[2048, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      padding = array<i64: 0, 0>, scale = #kernel.buffer<arena[1024, 0], f32, [1, 16], [16, 1]>,
      stride = array<i64: 1, 1>} : tensor<16x16x1x1xf32>
  return
}
