// RUN: kiln-translate --kiln-to-cpp %s | FileCheck %s

// Tests the C++ the CPU target prints for a Winograd convolution
// (choose-winograd's `winograd = 4`): a Winograd descriptor holding the
// convolution's shape and the tile, weights transformed and packed by
// conv2d_winograd_pack at prepare, and the conv2d_winograd kernel with the
// layer's epilogue; next to it, the same layer without the attribute stays
// an implicit GEMM.
// CHECK:       constexpr kiln::cpu::Conv2d kConv2d0{.n = 2, .h = 8, .w = 8, .c = 16, .o = 32, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1, .ho = 8, .wo = 8, .in_stride = 16, .out_stride = 32};
// CHECK-NEXT:  constexpr kiln::cpu::Winograd kWinograd1{.conv = {.n = 2, .h = 8, .w = 8, .c = 16, .o = 32, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1, .ho = 8, .wo = 8, .in_stride = 16, .out_stride = 32}, .m = 4};
// CHECK:       kiln::cpu::conv2d_winograd_packed_size<kWinograd1>()
// CHECK:       kiln::cpu::conv2d_winograd_pack<kWinograd1>(p[0], (w + kP0));
// CHECK:       kiln::cpu::conv2d_pack<kConv2d0>(p[0], (w + kP2));
// CHECK:       kiln::cpu::conv2d_winograd<kWinograd1, kiln::cpu::Epilogue{.bias = true, .residual = false, .residual_stride = 0, .act = kiln::cpu::Act::Relu}>(A, (w + kP0), (w + kP1), nullptr, (A + 2048), pool);
// CHECK:       kiln::cpu::conv2d<kConv2d0, kiln::cpu::Epilogue{.bias = true, .residual = false, .residual_stride = 0, .act = kiln::cpu::Act::Relu}>(A, (w + kP2), (w + kP3), nullptr, (A + 6144), pool);
func.func @winograd(%in: memref<2x16x8x8xf32>, %out: memref<2x32x8x8xf32>)
    attributes {kiln.model = "winograd", kiln.arena_bytes = 40960 : i64} {
  %w = kiln.param "conv.weight" parameter : tensor<32x16x3x3xf32>
  %b = kiln.param "conv.bias" parameter : tensor<32xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<input[0, 0], f32, [2, 16, 8, 8], [1024, 64, 8, 1]>],
      output = #kernel.buffer<arena[0, 0], act, [2, 16, 8, 8], [1024, 1, 128, 16]>}
  kernel.conv2d %w, %b {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [2, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[8192, 0], act, [2, 32, 8, 8], [2048, 1, 256, 32]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>, winograd = 4 : i64} : tensor<32x16x3x3xf32>, tensor<32xf32>
  kernel.conv2d %w, %b {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[0, 0], act, [2, 16, 8, 8], [1024, 1, 128, 16]>,
      output = #kernel.buffer<arena[24576, 0], act, [2, 32, 8, 8], [2048, 1, 256, 32]>,
      padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<32x16x3x3xf32>, tensor<32xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[8192, 0], act, [2, 32, 8, 8], [2048, 1, 256, 32]>],
      output = #kernel.buffer<output[0, 0], f32, [2, 32, 8, 8], [2048, 64, 8, 1]>}
  return
}
