// RUN: kiln-opt --split-input-file --pass-pipeline='builtin.module(func.func(kiln-fold-batch-norm,kiln-fuse-squeeze-excite,kiln-fuse-epilogues,kiln-eliminate-concat,kiln-choose-layout,kiln-plan-memory))' %s \
// RUN:   | grep -v kiln.param | FileCheck %s

// The whole graph pipeline on two blocks, written as the frontend imports
// them (one op per PyTorch module). The kiln.param lines are filtered out
// of the output so that the CHECK-NEXT lines list every remaining op, i.e.
// the kernels, the weight transforms and the layout conversions. Memory
// plans follow the rules of plan-memory.mlir (program positions count the
// kiln.param ops, given as @N below; sizes are numel * 4 rounded up to 64;
// largest first, lowest free offset).

// Tests that a ResNet bottleneck with a projection shortcut becomes five
// kernels: conv1 and conv2 with their batch norms folded and relu fused,
// the projection with its batch norm folded, and conv3 taking bn3, the
// residual add and the final relu; the input is converted to NHWC once for
// conv1 and the projection, and the output back to NCHW.
// Plan (positions after the pipeline):
//   in   = convert_layout @0    1x8x8x8  = 2048 B  [0, 31]  (read by conv1 @8 and the projection @31)
//   c1   = conv1 @8             1x4x8x8  = 1024 B  [8, 16]
//   c2   = conv2 @16            1024 B             [16, 32]
//   ds   = projection @31       1x16x8x8 = 4096 B  [31, 32]
//   c3   = conv3 @32            4096 B             [32, 33]
//   out  = convert_layout @33   4096 B             [33, 34]
// Largest first (4096s by first use, then 2048, then 1024s):
//   ds   +0
//   c3   +4096  (ds is read at 32)
//   out  +0     (c3 is read at 33; ds is dead)
//   in   +4096  (ds [0, 4096) is live at 31; c3 and out are not live yet)
//   c1   +0     (only in [4096, 6144) is live at 8..16)
//   c2   +8192  (live at 16..32: c1 [0, 1024), ds [0, 4096), in [4096, 6144),
//                c3 [4096, 8192))
// arena = 8192 + 1024 = 9216
// live  = at 32: c2 + ds + c3 = 1024 + 4096 + 4096 = 9216
// CHECK-LABEL: func.func @bottleneck(
// CHECK-SAME:    kiln.arena_bytes = 9216 : i64, kiln.live_bytes = 9216 : i64
// CHECK-NEXT:    %[[IN:.*]] = kiln.convert_layout %arg0 to nhwc {kiln.offset = 4096 : i64} : tensor<1x8x8x8xf32>
// CHECK-NEXT:    %[[W1:.*]] = kiln.fold_bn_weight {{.*}} : tensor<4x8x1x1xf32>
// CHECK-NEXT:    %[[B1:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[C1:.*]] = kiln.conv2d %[[IN]], %[[W1]] bias %[[B1]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
// CHECK-SAME:      {kiln.fused = ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu"], kiln.layer = #kiln.layer<"layer1.0.conv1", "Conv2d">, kiln.layout = #kiln<layout nhwc>, kiln.offset = 0 : i64}
// CHECK-NEXT:    %[[W2:.*]] = kiln.fold_bn_weight {{.*}} : tensor<4x4x3x3xf32>
// CHECK-NEXT:    %[[B2:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[C2:.*]] = kiln.conv2d %[[C1]], %[[W2]] bias %[[B2]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu
// CHECK-SAME:      {kiln.fused = ["layer1.0.conv2", "layer1.0.bn2", "layer1.0.relu"], kiln.layer = #kiln.layer<"layer1.0.conv2", "Conv2d">, kiln.layout = #kiln<layout nhwc>, kiln.offset = 8192 : i64}
// CHECK-NEXT:    %[[W3:.*]] = kiln.fold_bn_weight {{.*}} : tensor<16x4x1x1xf32>
// CHECK-NEXT:    %[[B3:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[WD:.*]] = kiln.fold_bn_weight {{.*}} : tensor<16x8x1x1xf32>
// CHECK-NEXT:    %[[BD:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[DS:.*]] = kiln.conv2d %[[IN]], %[[WD]] bias %[[BD]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
// CHECK-SAME:      {kiln.fused = ["layer1.0.downsample.0", "layer1.0.downsample.1"], kiln.layer = #kiln.layer<"layer1.0.downsample.0", "Conv2d">, kiln.layout = #kiln<layout nhwc>, kiln.offset = 0 : i64}
// CHECK-NEXT:    %[[C3:.*]] = kiln.conv2d %[[C2]], %[[W3]] bias %[[B3]] residual %[[DS]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
// CHECK-SAME:      {kiln.fused = ["layer1.0.conv3", "layer1.0.bn3", "add", "layer1.0.relu"], kiln.layer = #kiln.layer<"layer1.0.conv3", "Conv2d">, kiln.layout = #kiln<layout nhwc>, kiln.offset = 4096 : i64}
// CHECK-NEXT:    %[[OUT:.*]] = kiln.convert_layout %[[C3]] to nchw {kiln.offset = 0 : i64} : tensor<1x16x8x8xf32>
// CHECK-NEXT:    return %[[OUT]]
func.func @bottleneck(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "layer1.0.conv1.weight" parameter : tensor<4x8x1x1xf32>
  %c1 = kiln.conv2d %x, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer1.0.conv1", "Conv2d">}
      : (tensor<1x8x8x8xf32>, tensor<4x8x1x1xf32>) -> tensor<1x4x8x8xf32>
  %g1 = kiln.param "layer1.0.bn1.weight" parameter : tensor<4xf32>
  %be1 = kiln.param "layer1.0.bn1.bias" parameter : tensor<4xf32>
  %m1 = kiln.param "layer1.0.bn1.running_mean" buffer : tensor<4xf32>
  %v1 = kiln.param "layer1.0.bn1.running_var" buffer : tensor<4xf32>
  %n1 = kiln.batch_norm %c1, %g1, %be1, %m1, %v1 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"layer1.0.bn1", "BatchNorm2d">}
      : tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %r1 = kiln.relu %n1 {kiln.layer = #kiln.layer<"layer1.0.relu", "ReLU">} : tensor<1x4x8x8xf32>
  %w2 = kiln.param "layer1.0.conv2.weight" parameter : tensor<4x4x3x3xf32>
  %c2 = kiln.conv2d %r1, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer1.0.conv2", "Conv2d">}
      : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %g2 = kiln.param "layer1.0.bn2.weight" parameter : tensor<4xf32>
  %be2 = kiln.param "layer1.0.bn2.bias" parameter : tensor<4xf32>
  %m2 = kiln.param "layer1.0.bn2.running_mean" buffer : tensor<4xf32>
  %v2 = kiln.param "layer1.0.bn2.running_var" buffer : tensor<4xf32>
  %n2 = kiln.batch_norm %c2, %g2, %be2, %m2, %v2 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"layer1.0.bn2", "BatchNorm2d">}
      : tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %r2 = kiln.relu %n2 {kiln.layer = #kiln.layer<"layer1.0.relu", "ReLU">} : tensor<1x4x8x8xf32>
  %w3 = kiln.param "layer1.0.conv3.weight" parameter : tensor<16x4x1x1xf32>
  %c3 = kiln.conv2d %r2, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer1.0.conv3", "Conv2d">}
      : (tensor<1x4x8x8xf32>, tensor<16x4x1x1xf32>) -> tensor<1x16x8x8xf32>
  %g3 = kiln.param "layer1.0.bn3.weight" parameter : tensor<16xf32>
  %be3 = kiln.param "layer1.0.bn3.bias" parameter : tensor<16xf32>
  %m3 = kiln.param "layer1.0.bn3.running_mean" buffer : tensor<16xf32>
  %v3 = kiln.param "layer1.0.bn3.running_var" buffer : tensor<16xf32>
  %n3 = kiln.batch_norm %c3, %g3, %be3, %m3, %v3 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"layer1.0.bn3", "BatchNorm2d">}
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %wd = kiln.param "layer1.0.downsample.0.weight" parameter : tensor<16x8x1x1xf32>
  %cd = kiln.conv2d %x, %wd stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"layer1.0.downsample.0", "Conv2d">}
      : (tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x8x8xf32>
  %gd = kiln.param "layer1.0.downsample.1.weight" parameter : tensor<16xf32>
  %bed = kiln.param "layer1.0.downsample.1.bias" parameter : tensor<16xf32>
  %md = kiln.param "layer1.0.downsample.1.running_mean" buffer : tensor<16xf32>
  %vd = kiln.param "layer1.0.downsample.1.running_var" buffer : tensor<16xf32>
  %nd = kiln.batch_norm %cd, %gd, %bed, %md, %vd epsilon 1.0e-05 {kiln.layer = #kiln.layer<"layer1.0.downsample.1", "BatchNorm2d">}
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %a = kiln.add %n3, %nd : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  %r3 = kiln.relu %a {kiln.layer = #kiln.layer<"layer1.0.relu", "ReLU">} : tensor<1x16x8x8xf32>
  return %r3 : tensor<1x16x8x8xf32>
}

// -----

// Tests that a GhostNet bottleneck (ghost module with relu, SE, ghost
// module without relu, identity shortcut) becomes: two in-place concats
// whose convs write their channel slices, an se_gate kernel, the SE
// multiply folded into ghost2's primary conv as its input scale, and the
// shortcut add as the one elementwise kernel, reading the NCHW input as it
// is.
// Plan (positions after the pipeline):
//   in     = convert_layout @0         1x16x8x8 = 4096 B  [0, 8]
//   cat1   = ghost1 concat @17         1x32x8x8 = 8192 B  [8, 31]  (its convs write at 8
//            and 16; the slice of it is read by the gate @23 and ghost2's conv @31)
//   gate   = se_gate @23               1x32 = 128 B       [23, 31]
//   cat2   = ghost2 concat @40         1x16x8x8 = 4096 B  [31, 42] (its convs write at
//            31 and 39; the slice of it is read by the add @42)
//   sum    = add @42                   4096 B             [42, 43] (its operands are a
//            view and the model input, so it writes a new buffer)
//   out    = convert_layout @43        4096 B             [43, 44]
//   scratch of the gate @23            N*(C+R) = 32+8 = 40 floats = 160 B -> 192 (160 align 64)
//   scratch of the scaled conv @31     1*ceil64(8)*32*1*1 = 2048 floats = 8192 B
// Largest first (8192s, 4096s, 192, 128; ties by first use):
//   cat1            +0
//   scratch @31     +8192   (cat1 is live at 31)
//   in              +8192   (cat1 is live at 8)
//   cat2            +16384  (cat1 [0, 8192) and scratch [8192, 16384) at 31)
//   sum             +0      (only cat2 is live at 42)
//   out             +4096   (sum [0, 4096) is read at 43)
//   scratch @23     +8192   (only cat1 [0, 8192) is live at 23)
//   gate            +20480  (live at 23..31: [0, 8192), [8192, 8384),
//                            [8192, 16384), [16384, 20480))
// arena = 20480 + 128 = 20608
// live  = at 31: cat1 + gate + cat2 + scratch = 8192 + 128 + 4096 + 8192 = 20608
// CHECK-LABEL: func.func @ghost_bottleneck_se(
// CHECK-SAME:    kiln.arena_bytes = 20608 : i64, kiln.live_bytes = 20608 : i64
// CHECK-NEXT:    %[[IN:.*]] = kiln.convert_layout %arg0 to nhwc {kiln.offset = 8192 : i64}
// CHECK-NEXT:    %[[W1:.*]] = kiln.fold_bn_weight
// CHECK-NEXT:    %[[B1:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[X1:.*]] = kiln.conv2d %[[IN]], %[[W1]] bias %[[B1]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
// CHECK-SAME:      {kiln.fused = ["ghost1.primary_conv.0", "ghost1.primary_conv.1", "ghost1.primary_conv.2"], kiln.layer = #kiln.layer<"ghost1.primary_conv.0", "Conv2d">, kiln.layout = #kiln<layout nhwc>} :
// CHECK-NEXT:    %[[W2:.*]] = kiln.fold_bn_weight
// CHECK-NEXT:    %[[B2:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[X2:.*]] = kiln.conv2d %[[X1]], %[[W2]] bias %[[B2]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 16 activation relu
// CHECK-SAME:      {kiln.fused = ["ghost1.cheap_operation.0", "ghost1.cheap_operation.1", "ghost1.cheap_operation.2"], kiln.layer = #kiln.layer<"ghost1.cheap_operation.0", "Conv2d">, kiln.layout = #kiln<layout nhwc>} :
// CHECK-NEXT:    %[[CAT1:.*]] = kiln.concat %[[X1]], %[[X2]] dim 1 {kiln.in_place, kiln.layout = #kiln<layout nhwc>, kiln.offset = 0 : i64}
// CHECK-NEXT:    %[[G1:.*]] = kiln.slice %[[CAT1]] dim 1 start 0 end 32 step 1 :
// CHECK-NEXT:    %[[GATE:.*]] = kiln.se_gate %[[G1]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} activation relu gate hard_sigmoid
// CHECK-SAME:      {kiln.fused = ["se.avg_pool", "se.conv_reduce", "se.act1", "se.conv_expand", "hard_sigmoid"], kiln.offset = 20480 : i64, kiln.scratch = 8192 : i64}
// CHECK-SAME:      -> tensor<1x32xf32>
// CHECK-NEXT:    %[[W3:.*]] = kiln.fold_bn_weight
// CHECK-NEXT:    %[[B3:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[Y1:.*]] = kiln.conv2d %[[G1]], %[[W3]] bias %[[B3]] scale %[[GATE]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
// CHECK-SAME:      {kiln.fused = ["mul", "ghost2.primary_conv.0", "ghost2.primary_conv.1"], kiln.layer = #kiln.layer<"ghost2.primary_conv.0", "Conv2d">, kiln.layout = #kiln<layout nhwc>, kiln.scratch = 8192 : i64} :
// CHECK-NEXT:    %[[W4:.*]] = kiln.fold_bn_weight
// CHECK-NEXT:    %[[B4:.*]] = kiln.fold_bn_bias
// CHECK-NEXT:    %[[Y2:.*]] = kiln.conv2d %[[Y1]], %[[W4]] bias %[[B4]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 8
// CHECK-SAME:      {kiln.fused = ["ghost2.cheap_operation.0", "ghost2.cheap_operation.1"], kiln.layer = #kiln.layer<"ghost2.cheap_operation.0", "Conv2d">, kiln.layout = #kiln<layout nhwc>} :
// CHECK-NEXT:    %[[CAT2:.*]] = kiln.concat %[[Y1]], %[[Y2]] dim 1 {kiln.in_place, kiln.layout = #kiln<layout nhwc>, kiln.offset = 16384 : i64}
// CHECK-NEXT:    %[[G2:.*]] = kiln.slice %[[CAT2]] dim 1 start 0 end 16 step 1 :
// CHECK-NEXT:    %[[SUM:.*]] = kiln.add %[[G2]], %arg0 {kiln.layout = #kiln<layout nhwc>, kiln.offset = 0 : i64}
// CHECK-NEXT:    %[[OUT:.*]] = kiln.convert_layout %[[SUM]] to nchw {kiln.offset = 4096 : i64}
// CHECK-NEXT:    return %[[OUT]]
func.func @ghost_bottleneck_se(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "ghost1.primary_conv.0.weight" parameter : tensor<16x16x1x1xf32>
  %p1 = kiln.conv2d %x, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"ghost1.primary_conv.0", "Conv2d">}
      : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %g1 = kiln.param "ghost1.primary_conv.1.weight" parameter : tensor<16xf32>
  %be1 = kiln.param "ghost1.primary_conv.1.bias" parameter : tensor<16xf32>
  %m1 = kiln.param "ghost1.primary_conv.1.running_mean" buffer : tensor<16xf32>
  %v1 = kiln.param "ghost1.primary_conv.1.running_var" buffer : tensor<16xf32>
  %n1 = kiln.batch_norm %p1, %g1, %be1, %m1, %v1 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"ghost1.primary_conv.1", "BatchNorm2d">}
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %x1 = kiln.relu %n1 {kiln.layer = #kiln.layer<"ghost1.primary_conv.2", "ReLU">} : tensor<1x16x8x8xf32>
  %w2 = kiln.param "ghost1.cheap_operation.0.weight" parameter : tensor<16x1x3x3xf32>
  %q1 = kiln.conv2d %x1, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 16 {kiln.layer = #kiln.layer<"ghost1.cheap_operation.0", "Conv2d">}
      : (tensor<1x16x8x8xf32>, tensor<16x1x3x3xf32>) -> tensor<1x16x8x8xf32>
  %g2 = kiln.param "ghost1.cheap_operation.1.weight" parameter : tensor<16xf32>
  %be2 = kiln.param "ghost1.cheap_operation.1.bias" parameter : tensor<16xf32>
  %m2 = kiln.param "ghost1.cheap_operation.1.running_mean" buffer : tensor<16xf32>
  %v2 = kiln.param "ghost1.cheap_operation.1.running_var" buffer : tensor<16xf32>
  %n2 = kiln.batch_norm %q1, %g2, %be2, %m2, %v2 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"ghost1.cheap_operation.1", "BatchNorm2d">}
      : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
  %x2 = kiln.relu %n2 {kiln.layer = #kiln.layer<"ghost1.cheap_operation.2", "ReLU">} : tensor<1x16x8x8xf32>
  %cat1 = kiln.concat %x1, %x2 dim 1 : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) -> tensor<1x32x8x8xf32>
  %o1 = kiln.slice %cat1 dim 1 start 0 end 32 step 1 : tensor<1x32x8x8xf32> -> tensor<1x32x8x8xf32>
  %sp = kiln.adaptive_avg_pool2d %o1 output_size [1, 1] {kiln.layer = #kiln.layer<"se.avg_pool", "AdaptiveAvgPool2d">}
      : tensor<1x32x8x8xf32> -> tensor<1x32x1x1xf32>
  %wr = kiln.param "se.conv_reduce.weight" parameter : tensor<8x32x1x1xf32>
  %br = kiln.param "se.conv_reduce.bias" parameter : tensor<8xf32>
  %sr = kiln.conv2d %sp, %wr bias %br stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"se.conv_reduce", "Conv2d">}
      : (tensor<1x32x1x1xf32>, tensor<8x32x1x1xf32>, tensor<8xf32>) -> tensor<1x8x1x1xf32>
  %sa = kiln.relu %sr {kiln.layer = #kiln.layer<"se.act1", "ReLU">} : tensor<1x8x1x1xf32>
  %we = kiln.param "se.conv_expand.weight" parameter : tensor<32x8x1x1xf32>
  %bex = kiln.param "se.conv_expand.bias" parameter : tensor<32xf32>
  %se = kiln.conv2d %sa, %we bias %bex stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"se.conv_expand", "Conv2d">}
      : (tensor<1x8x1x1xf32>, tensor<32x8x1x1xf32>, tensor<32xf32>) -> tensor<1x32x1x1xf32>
  %sg = kiln.hard_sigmoid %se : tensor<1x32x1x1xf32>
  %y = kiln.mul %o1, %sg : tensor<1x32x8x8xf32>, tensor<1x32x1x1xf32> -> tensor<1x32x8x8xf32>
  %w3 = kiln.param "ghost2.primary_conv.0.weight" parameter : tensor<8x32x1x1xf32>
  %p2 = kiln.conv2d %y, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"ghost2.primary_conv.0", "Conv2d">}
      : (tensor<1x32x8x8xf32>, tensor<8x32x1x1xf32>) -> tensor<1x8x8x8xf32>
  %g3 = kiln.param "ghost2.primary_conv.1.weight" parameter : tensor<8xf32>
  %be3 = kiln.param "ghost2.primary_conv.1.bias" parameter : tensor<8xf32>
  %m3 = kiln.param "ghost2.primary_conv.1.running_mean" buffer : tensor<8xf32>
  %v3 = kiln.param "ghost2.primary_conv.1.running_var" buffer : tensor<8xf32>
  %y1 = kiln.batch_norm %p2, %g3, %be3, %m3, %v3 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"ghost2.primary_conv.1", "BatchNorm2d">}
      : tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %w4 = kiln.param "ghost2.cheap_operation.0.weight" parameter : tensor<8x1x3x3xf32>
  %q2 = kiln.conv2d %y1, %w4 stride [1, 1] padding [1, 1] dilation [1, 1] groups 8 {kiln.layer = #kiln.layer<"ghost2.cheap_operation.0", "Conv2d">}
      : (tensor<1x8x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x8x8xf32>
  %g4 = kiln.param "ghost2.cheap_operation.1.weight" parameter : tensor<8xf32>
  %be4 = kiln.param "ghost2.cheap_operation.1.bias" parameter : tensor<8xf32>
  %m4 = kiln.param "ghost2.cheap_operation.1.running_mean" buffer : tensor<8xf32>
  %v4 = kiln.param "ghost2.cheap_operation.1.running_var" buffer : tensor<8xf32>
  %y2 = kiln.batch_norm %q2, %g4, %be4, %m4, %v4 epsilon 1.0e-05 {kiln.layer = #kiln.layer<"ghost2.cheap_operation.1", "BatchNorm2d">}
      : tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %cat2 = kiln.concat %y1, %y2 dim 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>
  %o2 = kiln.slice %cat2 dim 1 start 0 end 16 step 1 : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  %out = kiln.add %o2, %x : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %out : tensor<1x16x8x8xf32>
}
