// Graphs --kiln-lower-to-kernels refuses (lower-to-kernels.mlir).

// expected-error @below {{lowering to kernels needs planned IR (run --kiln-plan-memory)}}
func.func @unplanned(%x: tensor<1x4xf32>) -> tensor<1x4xf32> attributes {kiln.model = "m"} {
  %r = kiln.relu %x : tensor<1x4xf32>
  return %r : tensor<1x4xf32>
}

// -----

func.func @no_offset(%x: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
    attributes {kiln.model = "m", kiln.arena_bytes = 1024 : i64} {
  // expected-error @below {{lowering to kernels needs planned IR (no kiln.offset on this op; run --kiln-plan-memory)}}
  %r = kiln.relu %x : tensor<1x4x2x2xf32>
  return %r : tensor<1x4x2x2xf32>
}

// -----

// expected-error @below {{no function carries 'kiln.model'}}
module {
  func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
    return %x : tensor<1x4xf32>
  }
}

// -----

func.func @two_weights(%x: tensor<1x4xf32>) -> tensor<1x4xf32>
    attributes {kiln.model = "m", kiln.arena_bytes = 1024 : i64} {
  %a = kiln.param "a" buffer : tensor<1x4xf32>
  %b = kiln.param "b" buffer : tensor<1x4xf32>
  // expected-error @below {{no kernel computes an elementwise op of two constant tensors (fold them first)}}
  %s = kiln.add %a, %b {kiln.offset = 0 : i64} : tensor<1x4xf32>, tensor<1x4xf32> -> tensor<1x4xf32>
  return %s : tensor<1x4xf32>
}
