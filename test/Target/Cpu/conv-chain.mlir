// RUN: kiln-translate --kiln-to-cpp %s | FileCheck %s
// RUN: not kiln-translate --kiln-to-cuda %s 2>&1 | FileCheck %s --check-prefix=CUDA

// Tests the C++ the CPU target prints for a convolution chain
// (fuse-conv-chains): a Conv2d constant per layer (dense intermediate
// tensors; the expand reads the input's pixel stride, the project writes the
// output's), a ConvChain of the three, each layer's weights packed by its
// own conv2d_pack, and one conv_chain call with the three epilogues, the
// project's with the residual. The CUDA target has no such kernel.
// CHECK:       constexpr kiln::cpu::Conv2d [[X:kConv2d[0-9]+]]{.n = 1, .h = 8, .w = 8, .c = 16, .o = 96, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .ph = 0, .pw = 0, .dh = 1, .dw = 1, .groups = 1, .ho = 8, .wo = 8, .in_stride = 32, .out_stride = 96};
// CHECK-NEXT:  constexpr kiln::cpu::Conv2d [[D:kConv2d[0-9]+]]{.n = 1, .h = 8, .w = 8, .c = 96, .o = 96, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 96, .ho = 8, .wo = 8, .in_stride = 96, .out_stride = 96};
// CHECK-NEXT:  constexpr kiln::cpu::Conv2d [[P:kConv2d[0-9]+]]{.n = 1, .h = 8, .w = 8, .c = 96, .o = 16, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .ph = 0, .pw = 0, .dh = 1, .dw = 1, .groups = 1, .ho = 8, .wo = 8, .in_stride = 96, .out_stride = 16};
// CHECK-NEXT:  constexpr kiln::cpu::ConvChain [[C:kConvChain[0-9]+]]{[[X]], [[D]], [[P]]};
// CHECK:       kiln::cpu::conv2d_pack<[[X]]>(p[0], (w + kP0));
// CHECK:       kiln::cpu::conv2d_pack<[[D]]>(p[2], (w + kP2));
// CHECK:       kiln::cpu::conv2d_pack<[[P]]>(p[4], (w + kP4));
// CHECK:       kiln::cpu::conv_chain<[[C]], kiln::cpu::Epilogue{.bias = true, .residual = false, .residual_stride = 0, .act = kiln::cpu::Act::Relu6}, kiln::cpu::Epilogue{.bias = true, .residual = false, .residual_stride = 0, .act = kiln::cpu::Act::Relu6}, kiln::cpu::Epilogue{.bias = true, .residual = true, .residual_stride = 32, .act = kiln::cpu::Act::None}>(A, (w + kP0), (w + kP1), (w + kP2), (w + kP3), (w + kP4), (w + kP5), A, (A + 2048), pool);
// CUDA: error: the CUDA target has no convolution-chain kernel
func.func @chain(%in: memref<1x16x8x8xf32>, %out: memref<1x16x8x8xf32>)
    attributes {kiln.model = "chain", kiln.arena_bytes = 16384 : i64, kernel.precision = #kernel<precision fp32>} {
  %we = kiln.param "e.weight" parameter : tensor<96x16x1x1xf32>
  %be = kiln.param "e.bias" parameter : tensor<96xf32>
  %wd = kiln.param "d.weight" parameter : tensor<96x1x3x3xf32>
  %bd = kiln.param "d.bias" parameter : tensor<96xf32>
  %wp = kiln.param "p.weight" parameter : tensor<16x96x1x1xf32>
  %bp = kiln.param "p.bias" parameter : tensor<16xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [1, 16, 8, 8], [1024, 64, 8, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [2048, 1, 256, 32]>}
  kernel.conv_chain %we, %be, %wd, %bd, %wp, %bp {depthwise_activation = #kiln<activation relu6>,
      expand_activation = #kiln<activation relu6>,
      input = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [2048, 1, 256, 32]>,
      output = #kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>, project_activation = #kiln<activation none>,
      residual = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [2048, 1, 256, 32]>,
      stride = array<i64: 1, 1>}
      : tensor<96x16x1x1xf32>, tensor<96xf32>, tensor<96x1x3x3xf32>, tensor<96xf32>, tensor<16x96x1x1xf32>, tensor<16xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[8192, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 8, 8], [1024, 64, 8, 1]>}
  return
}
