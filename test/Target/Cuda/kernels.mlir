// RUN: kiln-translate --split-input-file --kiln-to-cuda %S/../Inputs/kernels.mlir | FileCheck %s
// RUN: kiln-translate --kiln-to-cuda %S/../Inputs/pad-channels.mlir | FileCheck %s --check-prefix=PAD
// RUN: kiln-translate --split-input-file --kiln-to-cuda --verify-diagnostics %s

// Tests the CUDA C++ the CUDA target prints for each kernel kind, from the
// hand-written kernel-level models of Inputs/kernels.mlir (the same the CPU
// test prints); then (this file) the kernels it refuses. Arena buffers are
// typed pointers at byte offsets of `A`; elementwise kernels are generated
// __global__ functions with 32-bit index arithmetic, each thread writing 16
// bytes of the innermost output dimension when it is contiguous (else one
// element); every step sits between KILN_STEP_BEGIN / END.

// CHECK-LABEL: for model 'conv' (CUDA, fp16)
// CHECK:       constexpr Precision kP = Precision::F16;
// CHECK:       constexpr Conv2d kConv2d0{.n = 1, .h = 8, .w = 8, .c = 16, .o = 16, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1, .ho = 8, .wo = 8, .in_stride = 16, .out_stride = 16};
// CHECK:       std::copy_n(p[1], 16, reinterpret_cast<float *>((w + kP0)));
// CHECK-NEXT:  conv2d_pack<kConv2d0, kP>(p[0], (w + kP1));
// The fp32 NCHW input converted to T in NHWC order: a thread writes 8
// channels (16 bytes) of a pixel, gathered from the input's channel planes.
// CHECK:       kernel0(const float *__restrict__ in0_, T *__restrict__ out_)
// CHECK:         if (i >= 128u)
// CHECK:         const unsigned j1 = (r % 2u) * 8u;
// CHECK:         const float *const in0p = in0_ + (j2 * 8u + j3 + j1 * 64u);
// CHECK:           const float in0 = kiln::cuda::to_f32(in0p[k * 64u]);
// CHECK:         kiln::cuda::ew_store_act<8, kP>(out_ + (j2 * 128u + j3 * 16u + j1), o);
// CHECK:       kernel1(const T *__restrict__ in0_, float *__restrict__ out_)
// CHECK:         kiln::cuda::ew_store<4>(out_ + (j1 * 64u + j2 * 8u + j3), o);
// CHECK:       KILN_LAUNCH(kernel0, dim3(1), dim3(256), 0, stream)(input, reinterpret_cast<T *>(A + 0));
// CHECK:       KILN_TRY((conv2d<kConv2d0, Schedule{64, 16, 32, 2, 1, 3, 1, 0}, Epilogue{.bias = true, .residual = true, .residual_stride = 16, .act = Activation::Relu, .scale = false}, kP>(
// CHECK-NEXT:      reinterpret_cast<T *>(A + 0), (w + kP1), reinterpret_cast<const float *>(w + kP0), reinterpret_cast<T *>(A + 0), nullptr, reinterpret_cast<T *>(A + 4096), workspace, stream)));
// CHECK:       KILN_LAUNCH(kernel1, dim3(1), dim3(256), 0, stream)(reinterpret_cast<T *>(A + 4096), output);
// One variant (no layer has an sm_90a schedule), no split-K workspace:
// CHECK:       {false, 0, kPreparedBytes0},
// CHECK:       "fp16", "sm_80 sm_90a compute_80", 12288,
// CHECK-NEXT:  1, kVariants, prepare, run, kiln::cuda::openSession,
// CHECK-NEXT:  kiln::cuda::deviceCount};

// A direct (depthwise) convolution needs no schedule; its channel-stepped
// output starts one element into the buffer.
// CHECK-LABEL: for model 'depthwise' (CUDA, fp32)
// CHECK:       .groups = 16, .ho = 8, .wo = 8, .in_stride = 16, .out_stride = 32, .out_step = 2};
// CHECK:       kernel1(T *__restrict__ out_)
// CHECK:       out_[j2 * 256u + j3 * 32u + j1 * 2u] = kiln::cuda::to_act<kP>(0.0f);
// CHECK:       KILN_TRY((conv2d<kConv2d0, Schedule{0, 0, 0, 0, 0, 0, 1, 0}, Epilogue{.bias = false, .residual = false, .residual_stride = 0, .act = Activation::Relu6, .scale = false}, kP>(
// CHECK-NEXT:      reinterpret_cast<T *>(A + 0), (w + kP0), nullptr, nullptr, nullptr, (reinterpret_cast<T *>(A + 4096) + 1), workspace, stream)));
// CHECK:       KILN_TRY((max_pool2d<kPool2d1, kP>(reinterpret_cast<T *>(A + 4096), reinterpret_cast<T *>(A + 12288), stream)));

// The SE gate is one launcher (two kernels) writing an fp32 gate, which
// the next convolution reads as its input scale.
// CHECK-LABEL: for model 'gate' (CUDA, bf16)
// CHECK:       constexpr SqueezeExcite kSqueezeExcite0{.n = 1, .h = 4, .w = 4, .c = 16, .r = 4, .in_stride = 16, .act = Activation::Relu, .gate = Activation::HardSigmoid};
// CHECK:       se_pack_reduce<kSqueezeExcite0>(p[0], (w + kP2));
// CHECK-NEXT:  se_pack_expand<kSqueezeExcite0>(p[2], (w + kP3));
// CHECK:       KILN_TRY((se_gate<kSqueezeExcite0, kP>(reinterpret_cast<T *>(A + 0), (w + kP2), reinterpret_cast<const float *>(w + kP0), (w + kP3), reinterpret_cast<const float *>(w + kP1), reinterpret_cast<float *>(A + 1024), stream)));
// CHECK-NEXT:  KILN_STEP_END(1);
// CHECK-NEXT:  KILN_STEP_BEGIN(2, "conv");
// CHECK-NEXT:  KILN_TRY((conv2d<kConv2d1, Schedule{32, 16, 32, 2, 1, 2, 1, 0}, Epilogue{{.*}}.scale = true}, kP>(
// CHECK-NEXT:      reinterpret_cast<T *>(A + 0), (w + kP4), nullptr, nullptr, reinterpret_cast<float *>(A + 1024), reinterpret_cast<T *>(A + 2048), workspace, stream)));
// CHECK:       KILN_TRY((avg_pool2d<kPool2d2, kP>(reinterpret_cast<T *>(A + 2048), reinterpret_cast<T *>(A + 5120), stream)));
// The classifier pools into its scratch, then multiplies.
// CHECK:       KILN_TRY((adaptive_avg_pool2d<kAdaptivePool2d3, kP, T>(reinterpret_cast<T *>(A + 5120), reinterpret_cast<T *>(A + 5632), stream)));
// CHECK-NEXT:  KILN_TRY((linear<kLinear4, Schedule{32, 16, 32, 2, 1, 2, 1, 0}, Epilogue{.bias = true, {{.*}}, kP>(
// CHECK-NEXT:      reinterpret_cast<T *>(A + 5632), (w + kP6), reinterpret_cast<const float *>(w + kP5), nullptr, reinterpret_cast<T *>(A + 6144), workspace, stream)));

// CHECK-LABEL: for model 'loops' (CUDA, fp32)
// The batch norm's scale and shift are fp32 prepared vectors, one value of
// each for a thread's 4 elements of a channel's row (broadcast).
// CHECK:       kernel0(const float *__restrict__ in0_, const float *__restrict__ in1_, const float *__restrict__ in2_, T *__restrict__ out_)
// CHECK:         kiln::cuda::ew_load<4>(in0_ + (j0 * 128u + j1 * 16u + j2 * 4u + j3), in0v);
// CHECK-NEXT:    const float in1s = kiln::cuda::to_f32(in1_[j1]);
// CHECK:           o[k] = in0 * in1 + in2;
// CHECK:           o[k] = in0 * fminf(fmaxf(in0 + 3.0f, 0.0f), 6.0f) / 6.0f;
// CHECK:           o[k] = in0 / (1.0f + expf(-in0));
// The general mean: one thread per output element sums its 4 x 4 pixels.
// CHECK:       for (long q2 = 0; q2 < 4l; ++q2)
// CHECK-NEXT:    for (long q3 = 0; q3 < 4l; ++q3)
// CHECK-NEXT:      acc += kiln::cuda::to_f32(in0_[0 + j0 * 128l + j1 * 16l + q2 * 4l + q3 * 1l]);
// CHECK-NEXT:  out_[0 + j0 * 8l + j1 * 1l] = kiln::cuda::to_act<kP>(acc * 0x1p-4f);
// CHECK:       KILN_LAUNCH(kernel0, dim3(1), dim3(256), 0, stream)(input, reinterpret_cast<const float *>(w + kP0), (reinterpret_cast<const float *>(w + kP0) + 8), reinterpret_cast<T *>(A + 0));
// CHECK:       KILN_TRY((adaptive_avg_pool2d<kAdaptivePool2d0, kP, T>(reinterpret_cast<T *>(A + 1024), reinterpret_cast<T *>(A + 2048), stream)));

// CHECK-LABEL: for model 'elementwise_fns' (CUDA, fp32)
// CHECK:       kiln::cuda::to_act<kP>(0x1p-1f);
// CHECK:       kiln::cuda::to_act<kP>(in0 - in1);
// CHECK:       kiln::cuda::to_act<kP>(in0 / in1);
// CHECK:       kiln::cuda::to_act<kP>(1.0f - 2.0f / (1.0f + expf(2.0f * in0)));
// CHECK:       kiln::cuda::to_act<kP>((in0 > 0.0f ? in0 : 0x1.99999ap-4f * in0));
// CHECK:           o[k] = (in0 > 0.0f ? in0 : 0x1p+1f * (expf(in0) - 1.0f));

// A constant operand is an fp32 prepared vector; each softmax row is one
// warp: the maximum and the sum reduced across its lanes with shuffles.
// CHECK-LABEL: for model 'onnx_ops' (CUDA, fp16)
// CHECK:       kernel0(const float *__restrict__ in0_, const float *__restrict__ in1_, T *__restrict__ out_)
// CHECK:         const float in1 = kiln::cuda::to_f32(in1_[j1]);
// CHECK-NEXT:    out_[j2 * 12u + j3 * 3u + j1] = kiln::cuda::to_act<kP>(in0 - in1);
// CHECK:       kernel1(const float *__restrict__ in0_, const T *__restrict__ in1_, T *__restrict__ out_)
// CHECK:         const float in0 = kiln::cuda::to_f32(in0_[0]);
// CHECK:         kiln::cuda::to_act<kP>(in0 / in1);
// CHECK:         kiln::cuda::to_act<kP>(fminf(fmaxf(in0, -0x1p+0f), 0x1p-1f));
// CHECK:         kiln::cuda::to_act<kP>(fminf(in0, 0x1p+1f));
// CHECK:         out_[j2 * 48u + j3 * 24u + j4 * 6u + j5 * 3u + j1] = kiln::cuda::to_act<kP>(in0);
// CHECK:       kernel5(const T *__restrict__ in0_, T *__restrict__ out_)
// CHECK-NEXT:    const long row = (long(blockIdx.x) * 256 + long(threadIdx.x)) / 32;
// CHECK-NEXT:    const int lane = int(threadIdx.x) % 32;
// CHECK-NEXT:    if (row >= 16l)
// CHECK:         const auto *x = in0_ + (0 + j0 * 48l + j2 * 12l + j3 * 3l);
// CHECK:         for (long k = lane; k < 3l; k += 32)
// CHECK-NEXT:      max = fmaxf(max, kiln::cuda::to_f32(x[k * 1l]));
// CHECK-NEXT:    for (int d = 16; d > 0; d /= 2)
// CHECK-NEXT:      max = fmaxf(max, __shfl_xor_sync(0xffffffffu, max, d));
// CHECK:           sum += expf(kiln::cuda::to_f32(x[k * 1l]) - max);
// CHECK-NEXT:    for (int d = 16; d > 0; d /= 2)
// CHECK-NEXT:      sum += __shfl_xor_sync(0xffffffffu, sum, d);
// CHECK:           y[k * 1l] = kiln::cuda::to_act<kP>(expf(kiln::cuda::to_f32(x[k * 1l]) - max) / sum);
// CHECK:       kernel6(const T *__restrict__ in0_, float *__restrict__ out_)
// CHECK:           y[k * 1l] = kiln::cuda::from_f32<float>(
// Sixteen rows are two blocks of eight warps.
// CHECK:       KILN_LAUNCH(kernel5, dim3(2), dim3(256), 0, stream)

// PAD-LABEL: for model 'stem' (CUDA, fp16)
// The weights are padded from 3 to 8 input channels before packing.
// PAD:       std::vector<float> padded(16 * 8 * 9, 0.0f);
// PAD:       padded[(o * 8) * 9 + i] = p[0][(o * 3) * 9 + i];
// PAD-NEXT:  conv2d_pack<kConv2d0, kP>(padded.data(), (w + kP0));
// PAD:       const float *const at = in0_ + (n * 192u + y * 8u + xx * 1u);
// PAD:         v[c] = c < 3 ? kiln::cuda::to_f32(at[c * 64u]) : 0.0f;
// PAD:       kiln::cuda::ew_store_act<8, kP>(out_ + pixel * 8u, v);
// PAD:       KILN_LAUNCH(kernel0, dim3(1), dim3(256), 0, stream)(input, reinterpret_cast<T *>(A + 4096));
// PAD-NEXT:  KILN_TRY(cudaGetLastError());
// PAD-NEXT:  KILN_STEP_END(0);
// PAD-NEXT:  KILN_STEP_BEGIN(1, "conv1");
// PAD-NEXT:  KILN_TRY((conv2d<kConv2d0, {{.*}}>(
// PAD-NEXT:      reinterpret_cast<T *>(A + 4096), (w + kP0),

// Negative cases.

// expected-error @below {{the CUDA target needs kernels lowered for it}}
func.func @no_precision(%in: memref<1x4xf32>, %out: memref<1x4xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 1024 : i64} {
  return
}

// -----

func.func @unscheduled(%in: memref<1x16x8x8xf32>, %out: memref<1x16x8x8xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 8192 : i64, kernel.precision = #kernel<precision fp16>} {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  // expected-error @below {{the CUDA target needs a tile schedule on this layer}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<16x16x3x3xf32>
  return
}

// -----

func.func @bad_schedule(%in: memref<1x16x8x8xf32>, %out: memref<1x16x8x8xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 8192 : i64, kernel.precision = #kernel<precision bf16>} {
  %w = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>
  // expected-error @below {{the schedule [16, 16, 32, 1, 1, 2, 1] is not valid for this layer in bf16}}
  kernel.conv2d %w {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>,
      schedule = #kernel.schedule<bm = 16, bn = 16, bk = 32, warps_m = 1, warps_n = 1, stages = 2, split_k = 1>,
      stride = array<i64: 1, 1>} : tensor<16x16x3x3xf32>
  return
}

// -----

func.func @misaligned(%in: memref<1x16x4x4xf32>, %out: memref<1x16x4x4xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 8192 : i64, kernel.precision = #kernel<precision fp16>} {
  // expected-error @below {{a channel slice at element offset 3 is not 16-byte aligned, as the fp16 kernels need}}
  kernel.pool2d max {dilation = array<i64: 1, 1>, exclude_pad = false,
      input = #kernel.buffer<arena[0, 3], act, [1, 16, 4, 4], [512, 1, 128, 32]>,
      kernel = array<i64: 2, 2>, output = #kernel.buffer<arena[4096, 0], act, [1, 16, 2, 2], [64, 1, 32, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 2, 2>}
  return
}

// -----

func.func @fp32_input(%in: memref<1x16x4x4xf32>, %out: memref<1x16x2x2xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 8192 : i64, kernel.precision = #kernel<precision fp16>} {
  // expected-error @below {{a fp16 kernel reads and writes 16-bit activations, not fp32}}
  kernel.pool2d max {dilation = array<i64: 1, 1>, exclude_pad = false,
      input = #kernel.buffer<arena[0, 0], f32, [1, 16, 4, 4], [256, 1, 64, 16]>,
      kernel = array<i64: 2, 2>, output = #kernel.buffer<arena[4096, 0], act, [1, 16, 2, 2], [64, 1, 32, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 2, 2>}
  return
}

// -----

// expected-error @below {{a kernel-level model function takes its input and output as arguments and returns nothing}}
func.func @graph(%in: tensor<1x16xf32>) -> tensor<1x16xf32>
    attributes {kiln.model = "m", kiln.arena_bytes = 1024 : i64, kernel.precision = #kernel<precision fp16>} {
  return %in : tensor<1x16xf32>
}
