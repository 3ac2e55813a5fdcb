// An RGB stem on a GPU: the NCHW fp32 input converted into an NHWC buffer
// of 8 fp16 channels a pixel (16 bytes), the convolution reading all 8
// with its 3-channel weights padded to match.
func.func @stem(%in: memref<1x3x8x8xf32>, %out: memref<1x16x8x8xf32>)
    attributes {kiln.model = "stem", kiln.arena_bytes = 8192 : i64, kernel.precision = #kernel<precision fp16>} {
  %w = kiln.param "conv1.weight" parameter : tensor<16x3x3x3xf32>
  kernel.pad_channels {input = #kernel.buffer<input[0, 0], f32, [1, 3, 8, 8], [192, 64, 8, 1]>,
                       output = #kernel.buffer<arena[4096, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>}
  kernel.conv2d %w {activation = #kiln<activation relu>, dilation = array<i64: 1, 1>, groups = 1 : i64,
      input = #kernel.buffer<arena[4096, 0], act, [1, 8, 8, 8], [512, 1, 64, 8]>,
      output = #kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>,
      padding = array<i64: 1, 1>,
      schedule = #kernel.schedule<bm = 64, bn = 16, bk = 32, warps_m = 2, warps_n = 1, stages = 3, split_k = 1>,
      stride = array<i64: 1, 1>} : tensor<16x3x3x3xf32>
  kernel.elementwise copy {inputs = [#kernel.buffer<arena[0, 0], act, [1, 16, 8, 8], [1024, 1, 128, 16]>],
      output = #kernel.buffer<output[0, 0], f32, [1, 16, 8, 8], [1024, 64, 8, 1]>}
  return
}
