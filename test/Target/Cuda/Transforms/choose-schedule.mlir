// RUN: kiln-opt --split-input-file --kiln-choose-schedule="precision=fp16" %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-choose-schedule="precision=fp32 sm-count=8" %s | FileCheck %s --check-prefix=FP32
// RUN: kiln-opt --split-input-file --verify-diagnostics --kiln-choose-schedule="precision=fp16" %S/Inputs/choose-schedule-errors.mlir
// RUN: not kiln-opt --kiln-choose-schedule="precision=fp8" %s 2>&1 | FileCheck %s --check-prefix=PRECISION
// RUN: kiln-opt --split-input-file --kiln-choose-schedule="precision=bf16 sm90a=true" %s | FileCheck %s --check-prefix=SM90A
// RUN: kiln-opt --split-input-file --kiln-choose-schedule="precision=tf32 sm90a=true generic=false" %s | FileCheck %s --check-prefix=HOPPER
// RUN: kiln-opt --split-input-file --kiln-choose-schedule="precision=bf16 sm90a=true" %S/Inputs/choose-schedule-sm90a.mlir | FileCheck %S/Inputs/choose-schedule-sm90a.mlir
// RUN: not kiln-opt --kiln-choose-schedule="precision=fp16 generic=false" %s 2>&1 | FileCheck %s --check-prefix=NOVARIANT
// RUN: kiln-opt --split-input-file --verify-diagnostics --kiln-choose-schedule="precision=fp16 sm90a=true" %S/Inputs/choose-schedule-sm90a-errors.mlir
// RUN: kiln-opt --split-input-file --verify-diagnostics --kiln-choose-schedule="precision=fp16" %S/Inputs/choose-schedule-sm80-errors.mlir

// Tests that dense convolutions and linear layers get a tile schedule, that
// depthwise and narrow grouped convolutions (direct kernels) get none, and
// that the function records the precision. The tiles themselves come from
// the kernels' cost model (schedule.h), so only their form is checked here;
// runtime/test/cuda/kernel_test.cu checks that default_schedule always
// returns schedules the kernels accept, and the e2e/cuda tests run them.
// CHECK-LABEL: func.func @layers(
// CHECK-SAME:    kiln.precision = "fp16"
// CHECK:         kiln.conv2d {{.*}} groups 1 {{.*}}kiln.schedule = array<i32: {{[0-9]+}}, {{[0-9]+}}, {{32|64}}, {{[1-8]}}, {{[1-8]}}, {{[2-4]}}, {{[0-9]+}}>
// CHECK:         kiln.conv2d {{.*}} groups 32
// CHECK-NOT:     kiln.schedule
// CHECK:         kiln.conv2d {{.*}} groups 8
// CHECK-NOT:     kiln.schedule
// CHECK:         kiln.conv2d {{.*}} groups 2 {{.*}}kiln.schedule = array<i32:
// CHECK:         kiln.linear {{.*}}kiln.schedule = array<i32:
// FP32-LABEL: func.func @layers(
// FP32-SAME:    kiln.precision = "fp32"
// FP32:         kiln.conv2d {{.*}} groups 1 {{.*}}kiln.schedule = array<i32: {{[0-9]+}}, {{[0-9]+}}, {{16|32}},
// With sm90a (the executable has an sm_90a variant), the dense convolution
// and the linear layer also get the sm_90a kernel's schedules (an 8th entry:
// its consumer warpgroups; bm = 64 of them, warps_m = 4 of them, 128-byte K
// steps); the grouped GEMM has the mma.sync kernel only.
// SM90A-LABEL: func.func @layers(
// SM90A:         kiln.conv2d {{.*}} groups 1 {{.*}}kiln.schedule = array<i32: {{([0-9]+, ){6}[0-9]+}}>, kiln.schedule_sm90a = array<i32: {{64, [0-9]+, 64, 4, 1|128, [0-9]+, 64, 8, 1}}, {{[2-8]}}, {{[0-9]+}}, {{1|2}}>
// SM90A:         kiln.conv2d {{.*}} groups 2 {{.*}}kiln.schedule = array<i32: {{([0-9]+, ){6}[0-9]+}}>}
// SM90A:         kiln.linear {{.*}}kiln.schedule = array<i32: {{([0-9]+, ){6}[0-9]+}}>, kiln.schedule_sm90a = array<i32: {{.*}}, {{1|2}}>
// Without the variant of other GPUs (generic=false: the H100/H200 alone), a
// layer with an sm_90a schedule has no other:
// HOPPER-LABEL: func.func @layers(
// HOPPER:         kiln.conv2d {{.*}} groups 1 {{.*}}{kiln.schedule_sm90a = array<i32: {{([0-9]+, ){7}[12]}}>}
// HOPPER:         kiln.conv2d {{.*}} groups 2 {{.*}}{kiln.schedule = array<i32: {{([0-9]+, ){6}[0-9]+}}>}
// HOPPER:         kiln.linear {{.*}}{kiln.schedule_sm90a = array<i32:
func.func @layers(%x: tensor<1x32x16x16xf32>) -> tensor<1x10xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "conv1.weight" parameter : tensor<64x32x3x3xf32>
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x32x16x16xf32>, tensor<64x32x3x3xf32>) -> tensor<1x64x16x16xf32>
  // Depthwise: a direct kernel.
  %w2 = kiln.param "conv2.weight" parameter : tensor<64x2x3x3xf32>
  %b = kiln.conv2d %a, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 32
      : (tensor<1x64x16x16xf32>, tensor<64x2x3x3xf32>) -> tensor<1x64x16x16xf32>
  // 8 channels per group: too narrow for a GEMM tile.
  %w3 = kiln.param "conv3.weight" parameter : tensor<64x8x3x3xf32>
  %c = kiln.conv2d %b, %w3 stride [1, 1] padding [1, 1] dilation [1, 1] groups 8
      : (tensor<1x64x16x16xf32>, tensor<64x8x3x3xf32>) -> tensor<1x64x16x16xf32>
  // 32 channels per group: one GEMM per group.
  %w4 = kiln.param "conv4.weight" parameter : tensor<64x32x1x1xf32>
  %d = kiln.conv2d %c, %w4 stride [1, 1] padding [0, 0] dilation [1, 1] groups 2
      : (tensor<1x64x16x16xf32>, tensor<64x32x1x1xf32>) -> tensor<1x64x16x16xf32>
  %m = kiln.mean %d dims [2, 3] : tensor<1x64x16x16xf32> -> tensor<1x64xf32>
  %fw = kiln.param "fc.weight" parameter : tensor<10x64xf32>
  %y = kiln.linear %m, %fw : (tensor<1x64xf32>, tensor<10x64xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that a schedule given in the IR (tuned by hand) is kept, and that
// without the variant of other GPUs it is dropped where the layer gets an
// sm_90a schedule (Inputs/choose-schedule-sm90a.mlir: given sm_90a ones).
// CHECK-LABEL: func.func @given(
// CHECK:         kiln.schedule = array<i32: 32, 32, 32, 2, 1, 2, 1>
// FP32-LABEL: func.func @given(
// SM90A-LABEL: func.func @given(
// SM90A:         kiln.schedule = array<i32: 32, 32, 32, 2, 1, 2, 1>, kiln.schedule_sm90a = array<i32:
// HOPPER-LABEL: func.func @given(
// HOPPER:         {kiln.schedule_sm90a = array<i32: {{([0-9]+, ){7}[12]}}>}
func.func @given(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<32x32x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      {kiln.schedule = array<i32: 32, 32, 32, 2, 1, 2, 1>}
      : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// Tests that an RGB stem is scheduled as the kernels run it, its 3 channels
// padded to 16 bytes: the sm_90a kernel's packed-taps layout.
// SM90A-LABEL: func.func @stem(
// SM90A:         kiln.conv2d {{.*}}kiln.schedule_sm90a = array<i32: {{.*}}, {{1|2}}>
// HOPPER-LABEL: func.func @stem(
// HOPPER:         kiln.conv2d {{.*}}{kiln.schedule_sm90a = array<i32: {{.*}}, {{1|2}}>}
// CHECK-LABEL: func.func @stem(
// FP32-LABEL: func.func @stem(
func.func @stem(%x: tensor<1x3x32x32xf32>) -> tensor<1x16x16x16xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<16x3x7x7xf32>
  %y = kiln.conv2d %x, %w stride [2, 2] padding [3, 3] dilation [1, 1] groups 1
      : (tensor<1x3x32x32xf32>, tensor<16x3x7x7xf32>) -> tensor<1x16x16x16xf32>
  return %y : tensor<1x16x16x16xf32>
}

// PRECISION: error: --kiln-choose-schedule: unknown precision 'fp8' (fp32, tf32, fp16 or bf16)
// NOVARIANT: error: --kiln-choose-schedule: no variant to schedule for (generic=false needs sm90a=true)
