// RUN: kiln-opt --kiln-fold-batch-norm --kiln-fuse-epilogues --kiln-choose-layout --kiln-plan-memory --kiln-lower-to-kernels --mlir-print-debuginfo %s | FileCheck %s

// Tests that a kernel that fuses several layers keeps a FusedLoc of all
// their YAML nodes (the fusion passes record them; the lowering keeps the
// op's location), so diagnostics and profiles can name every line.

// CHECK:     kernel.conv2d {{.*}} loc(#[[CONV:loc[0-9]*]])
// CHECK-DAG: #[[BN:loc[0-9]*]] = loc("net.yaml":5:5)
// CHECK-DAG: #[[LAYER:loc[0-9]*]] = loc("net.yaml":4:5)
// CHECK-DAG: #[[RELU:loc[0-9]*]] = loc("net.yaml":6:5)
// CHECK-DAG: #[[CONV]] = loc(fused[#[[LAYER]], #[[BN]], #[[RELU]]])
func.func @net(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> attributes {kiln.model = "net"} {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x1x1xf32> loc("net.yaml":3:5)
  %a = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x4x4xf32> loc("net.yaml":4:5)
  %g = kiln.param "bn.weight" parameter : tensor<8xf32> loc("net.yaml":5:5)
  %b = kiln.param "bn.bias" parameter : tensor<8xf32> loc("net.yaml":5:5)
  %m = kiln.param "bn.running_mean" buffer : tensor<8xf32> loc("net.yaml":5:5)
  %v = kiln.param "bn.running_var" buffer : tensor<8xf32> loc("net.yaml":5:5)
  %n = kiln.batch_norm %a, %g, %b, %m, %v epsilon 1.0e-05
      : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32> loc("net.yaml":5:5)
  %r = kiln.relu %n : tensor<1x8x4x4xf32> loc("net.yaml":6:5)
  return %r : tensor<1x8x4x4xf32>
}
