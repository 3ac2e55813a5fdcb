// RUN: kiln-opt --split-input-file --kiln-choose-layout --kiln-fuse-conv-chains %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-fuse-conv-chains %s | FileCheck %s --check-prefix=NOLAYOUT

// Tests that MobileNetV2's inverted residuals whose expanded tensor is large
// (here 56x56x144, 1.8 MB; stride 1 with the residual, and stride 2) get
// kiln.chain on their depthwise convolution, and that no other does: a
// small expanded tensor (7x7x960, 188 KB), channels the kernels would need
// a partial vector for (116), a 7x7 window, an expand result read twice,
// and a depthwise layer read by something other than a 1x1 convolution.
// Without planned channels-last layouts nothing is marked.
// CHECK-LABEL: func.func @chains(
// CHECK:         kiln.conv2d {{.*}} groups 1 activation relu6 {kiln.layout = #kiln<layout nhwc>}
// CHECK-SAME:      -> tensor<1x144x56x56xf32>
// CHECK-NEXT:    kiln.conv2d {{.*}} groups 144 activation relu6 {kiln.chain, kiln.layout = #kiln<layout nhwc>}
// CHECK-NEXT:    kiln.conv2d {{.*}} residual
// CHECK:         kiln.conv2d {{.*}} stride [2, 2] {{.*}} groups 144 activation relu6 {kiln.chain,
// CHECK-NOT:     kiln.chain
// CHECK:         return
// NOLAYOUT-LABEL: func.func @chains(
// NOLAYOUT-NOT:   kiln.chain
func.func @chains(%x: tensor<1x24x56x56xf32>, %s: tensor<1x160x7x7xf32>,
                  %t: tensor<1x58x28x28xf32>) attributes {kiln.model = "m"} {
  %we = kiln.param "e.weight" parameter : tensor<144x24x1x1xf32>
  %be = kiln.param "e.bias" parameter : tensor<144xf32>
  %wd = kiln.param "d.weight" parameter : tensor<144x1x3x3xf32>
  %bd = kiln.param "d.bias" parameter : tensor<144xf32>
  %wp = kiln.param "p.weight" parameter : tensor<24x144x1x1xf32>
  %bp = kiln.param "p.bias" parameter : tensor<24xf32>
  %e = kiln.conv2d %x, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x24x56x56xf32>, tensor<144x24x1x1xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %d = kiln.conv2d %e, %wd bias %bd stride [1, 1] padding [1, 1] dilation [1, 1] groups 144 activation relu6
      : (tensor<1x144x56x56xf32>, tensor<144x1x3x3xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %p = kiln.conv2d %d, %wp bias %bp residual %x stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x144x56x56xf32>, tensor<24x144x1x1xf32>, tensor<24xf32>, tensor<1x24x56x56xf32>) -> tensor<1x24x56x56xf32>
  // Stride 2.
  %e2 = kiln.conv2d %p, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x24x56x56xf32>, tensor<144x24x1x1xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %d2 = kiln.conv2d %e2, %wd bias %bd stride [2, 2] padding [1, 1] dilation [1, 1] groups 144 activation relu6
      : (tensor<1x144x56x56xf32>, tensor<144x1x3x3xf32>, tensor<144xf32>) -> tensor<1x144x28x28xf32>
  %wq = kiln.param "q.weight" parameter : tensor<32x144x1x1xf32>
  %bq = kiln.param "q.bias" parameter : tensor<32xf32>
  %p2 = kiln.conv2d %d2, %wq bias %bq stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x144x28x28xf32>, tensor<32x144x1x1xf32>, tensor<32xf32>) -> tensor<1x32x28x28xf32>
  // 7x7x960: small enough to stay three kernels.
  %wf = kiln.param "f.weight" parameter : tensor<960x160x1x1xf32>
  %bf = kiln.param "f.bias" parameter : tensor<960xf32>
  %wg = kiln.param "g.weight" parameter : tensor<960x1x3x3xf32>
  %bg = kiln.param "g.bias" parameter : tensor<960xf32>
  %wh = kiln.param "h.weight" parameter : tensor<160x960x1x1xf32>
  %bh = kiln.param "h.bias" parameter : tensor<160xf32>
  %f = kiln.conv2d %s, %wf bias %bf stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x160x7x7xf32>, tensor<960x160x1x1xf32>, tensor<960xf32>) -> tensor<1x960x7x7xf32>
  %g = kiln.conv2d %f, %wg bias %bg stride [1, 1] padding [1, 1] dilation [1, 1] groups 960 activation relu6
      : (tensor<1x960x7x7xf32>, tensor<960x1x3x3xf32>, tensor<960xf32>) -> tensor<1x960x7x7xf32>
  %h = kiln.conv2d %g, %wh bias %bh stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x960x7x7xf32>, tensor<160x960x1x1xf32>, tensor<160xf32>) -> tensor<1x160x7x7xf32>
  // 116 channels (ShuffleNetV2's): not a multiple of 16.
  %wi = kiln.param "i.weight" parameter : tensor<116x58x1x1xf32>
  %bi = kiln.param "i.bias" parameter : tensor<116xf32>
  %wj = kiln.param "j.weight" parameter : tensor<116x1x3x3xf32>
  %bj = kiln.param "j.bias" parameter : tensor<116xf32>
  %wk = kiln.param "k.weight" parameter : tensor<58x116x1x1xf32>
  %bk = kiln.param "k.bias" parameter : tensor<58xf32>
  %i = kiln.conv2d %t, %wi bias %bi stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x58x28x28xf32>, tensor<116x58x1x1xf32>, tensor<116xf32>) -> tensor<1x116x28x28xf32>
  %j = kiln.conv2d %i, %wj bias %bj stride [1, 1] padding [1, 1] dilation [1, 1] groups 116
      : (tensor<1x116x28x28xf32>, tensor<116x1x3x3xf32>, tensor<116xf32>) -> tensor<1x116x28x28xf32>
  %k = kiln.conv2d %j, %wk bias %bk stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x116x28x28xf32>, tensor<58x116x1x1xf32>, tensor<58xf32>) -> tensor<1x58x28x28xf32>
  // A 7x7 window.
  %w7 = kiln.param "w7.weight" parameter : tensor<144x1x7x7xf32>
  %e3 = kiln.conv2d %p, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x24x56x56xf32>, tensor<144x24x1x1xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %d3 = kiln.conv2d %e3, %w7 bias %bd stride [1, 1] padding [3, 3] dilation [1, 1] groups 144 activation relu6
      : (tensor<1x144x56x56xf32>, tensor<144x1x7x7xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %p3 = kiln.conv2d %d3, %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x144x56x56xf32>, tensor<24x144x1x1xf32>, tensor<24xf32>) -> tensor<1x24x56x56xf32>
  // The expand's result read twice.
  %e4 = kiln.conv2d %p, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x24x56x56xf32>, tensor<144x24x1x1xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %d4 = kiln.conv2d %e4, %wd bias %bd stride [1, 1] padding [1, 1] dilation [1, 1] groups 144 activation relu6
      : (tensor<1x144x56x56xf32>, tensor<144x1x3x3xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %p4 = kiln.conv2d %d4, %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x144x56x56xf32>, tensor<24x144x1x1xf32>, tensor<24xf32>) -> tensor<1x24x56x56xf32>
  %r4 = kiln.relu %e4 : tensor<1x144x56x56xf32>
  // A depthwise result that is not a 1x1 convolution's input.
  %e5 = kiln.conv2d %p, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x24x56x56xf32>, tensor<144x24x1x1xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %d5 = kiln.conv2d %e5, %wd bias %bd stride [1, 1] padding [1, 1] dilation [1, 1] groups 144 activation relu6
      : (tensor<1x144x56x56xf32>, tensor<144x1x3x3xf32>, tensor<144xf32>) -> tensor<1x144x56x56xf32>
  %r5 = kiln.relu %d5 : tensor<1x144x56x56xf32>
  return
}
