// RUN: kiln-opt %s | FileCheck %s
// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// Tests that every kernel op and attribute parses, verifies and prints back
// (twice: the printed form parses to the same IR).

// CHECK-LABEL: func.func @kernels(
// CHECK-SAME:    kernel.precision = #kernel<precision fp16>
func.func @kernels(%in: memref<1x3x8x8xf32>, %out: memref<1x10xf32>)
    attributes {kiln.model = "m", kiln.arena_bytes = 65536 : i64, kernel.precision = #kernel<precision fp16>} {
  %w = kiln.param "conv.weight" parameter : tensor<16x3x3x3xf32>
  %b = kiln.param "conv.bias" parameter : tensor<16xf32>
  %dw = kiln.param "dw.weight" parameter : tensor<16x1x3x3xf32>
  %r1 = kiln.param "se.fc1.weight" parameter : tensor<4x16x1x1xf32>
  %rb = kiln.param "se.fc1.bias" parameter : tensor<4xf32>
  %e1 = kiln.param "se.fc2.weight" parameter : tensor<16x4x1x1xf32>
  %eb = kiln.param "se.fc2.bias" parameter : tensor<16xf32>
  %g = kiln.param "bn.weight" parameter : tensor<16xf32>
  %m = kiln.param "bn.running_mean" buffer : tensor<16xf32>
  %fc = kiln.param "fc.weight" parameter : tensor<10x16xf32>
  // CHECK: kernel.pad_channels {input = #kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>, output = #kernel.buffer<arena[0, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>}
  kernel.pad_channels {input = #kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>,
                       output = #kernel.buffer<arena[0, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>}
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} {activation = #kiln<activation relu>, {{.*}}schedule = #kernel.schedule<bm = 64, bn = 16, bk = 32, warps_m = 2, warps_n = 1, stages = 3, split_k = 1>, sm90a_schedule = #kernel.schedule<bm = 64, bn = 64, bk = 64, warps_m = 4, warps_n = 1, stages = 4, split_k = 1, warpgroups = 1>, stride = array<i64: 1, 1>} : tensor<16x3x3x3xf32>, tensor<16xf32>
  kernel.conv2d %w, %b {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>,
      schedule = #kernel.schedule<bm = 64, bn = 16, bk = 32, warps_m = 2, warps_n = 1, stages = 3, split_k = 1>,
      sm90a_schedule = #kernel.schedule<bm = 64, bn = 64, bk = 64, warps_m = 4, warps_n = 1, stages = 4, split_k = 1, warpgroups = 1>}
      : tensor<16x3x3x3xf32>, tensor<16xf32>
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} {{{.*}}stride = array<i64: 1, 1>, winograd = 4 : i64} : tensor<16x3x3x3xf32>, tensor<16xf32>
  kernel.conv2d %w, %b {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>, winograd = 4 : i64}
      : tensor<16x3x3x3xf32>, tensor<16xf32>
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} {{{.*}}passthrough = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [2048, 1, 256, 32]>, passthrough_offset = 1 : i64, {{.*}}} : tensor<16x3x3x3xf32>, tensor<16xf32>
  kernel.conv2d %w, %b {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [1, 3, 8, 8], [192, 1, 24, 3]>,
      output = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [2048, 2, 256, 32]>,
      passthrough = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [2048, 1, 256, 32]>, passthrough_offset = 1 : i64,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>}
      : tensor<16x3x3x3xf32>, tensor<16xf32>
  // CHECK: kernel.conv_chain %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {depthwise_activation = #kiln<activation relu6>, {{.*}}stride = array<i64: 2, 2>}
  %ce = kiln.param "chain.expand.weight" parameter : tensor<32x16x1x1xf32>
  %cb = kiln.param "chain.expand.bias" parameter : tensor<32xf32>
  %cd = kiln.param "chain.dw.weight" parameter : tensor<32x1x3x3xf32>
  %cp = kiln.param "chain.project.weight" parameter : tensor<16x32x1x1xf32>
  kernel.conv_chain %ce, %cb, %cd, %cb, %cp, %b {depthwise_activation = #kiln<activation relu6>,
      expand_activation = #kiln<activation relu>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[4096, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      padding = array<i64: 1, 1>, project_activation = #kiln<activation none>, stride = array<i64: 2, 2>}
      : tensor<32x16x1x1xf32>, tensor<32xf32>, tensor<32x1x3x3xf32>, tensor<32xf32>, tensor<16x32x1x1xf32>, tensor<16xf32>
  // CHECK: kernel.conv2d %{{.*}} {{{.*}}groups = 16 : i64{{.*}}residual = #kernel.buffer<arena[4096, 0]
  kernel.conv2d %dw {activation = #kiln<activation none>, dilation = array<i64: 1, 1>, groups = 16 : i64,
      input = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, residual = #kernel.buffer<arena[4096, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      stride = array<i64: 1, 1>} : tensor<16x1x3x3xf32>
  // CHECK: kernel.pool2d max {{{.*}}exclude_pad = false
  kernel.pool2d max {dilation = array<i64: 1, 1>, exclude_pad = false,
      input = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      kernel = array<i64: 2, 2>, output = #kernel.buffer<arena[12288, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      padding = array<i64: 0, 0>, stride = array<i64: 2, 2>}
  // CHECK: kernel.se_gate {{.*}} {activation = #kiln<activation relu>, gate = #kiln<activation hard_sigmoid>
  kernel.se_gate %r1, %rb, %e1, %eb {activation = #kiln<activation relu>, gate = #kiln<activation hard_sigmoid>,
      input = #kernel.buffer<arena[12288, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[13312, 0], f32, [1, 16], [16, 1]>, scratch = 13568 : i64}
      : tensor<4x16x1x1xf32>, tensor<4xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>
  // CHECK: kernel.batch_norm {{.*}} {epsilon = 1.000000e-05 : f64
  kernel.batch_norm %g, %b, %m, %g {epsilon = 1.0e-5 : f64,
      input = #kernel.buffer<arena[12288, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
      : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  // CHECK: kernel.elementwise activation {activation = #kiln<activation hard_swish>
  kernel.elementwise activation {activation = #kiln<activation hard_swish>,
      inputs = [#kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>],
      output = #kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  // CHECK: kernel.elementwise mul
  kernel.elementwise mul {inputs = [#kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
                                    #kernel.buffer<arena[13312, 0], f32, [1, 16, 1, 1], [16, 1, 0, 0]>],
      output = #kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>}
  // CHECK: kernel.elementwise zero {inputs = []
  kernel.elementwise zero {inputs = [], output = #kernel.buffer<arena[0, 3], act, [1, 5, 8, 8], [512, 1, 64, 8]>}
  // CHECK: kernel.reduce {dims = array<i64: 2, 3>, {{.*}}keepdim = false
  kernel.reduce {dims = array<i64: 2, 3>, input = #kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      keepdim = false, output = #kernel.buffer<arena[15360, 0], act, [1, 16], [16, 1]>}
  // CHECK: kernel.adaptive_pool2d {{{.*}}output_size = array<i64: 1, 1>}
  kernel.adaptive_pool2d {input = #kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<arena[15360, 0], act, [1, 16], [16, 1]>, output_size = array<i64: 1, 1>}
  // CHECK: kernel.linear %{{.*}} {activation = #kiln<activation none>, {{.*}}pool_scratch = 15616 : i64}
  kernel.linear %fc {activation = #kiln<activation none>,
      input = #kernel.buffer<arena[14336, 0], act, [1, 16, 4, 4], [256, 1, 64, 16]>,
      output = #kernel.buffer<output[0, 0], f32, [1, 10], [10, 1]>, pool_scratch = 15616 : i64} : tensor<10x16xf32>
  return
}
