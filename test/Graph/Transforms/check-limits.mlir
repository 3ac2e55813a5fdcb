// RUN: kiln-opt --split-input-file --verify-diagnostics --kiln-check-limits %s | FileCheck %s

// Tests that tensors up to the kernels' limits pass unchanged: the largest
// element count (2^31 - 1) and the largest rank (8).
// CHECK-LABEL: @at_the_limit
// CHECK:         kiln.param "fc.weight" parameter : tensor<2147483647x1xf32>
// CHECK:         kiln.relu %arg0 : tensor<1x2x2x2x2x2x2x2xf32>
func.func @at_the_limit(%x: tensor<1x2x2x2x2x2x2x2xf32>) -> tensor<1x2x2x2x2x2x2x2xf32> {
  %w = kiln.param "fc.weight" parameter : tensor<2147483647x1xf32>
  %y = kiln.relu %x : tensor<1x2x2x2x2x2x2x2xf32>
  return %y : tensor<1x2x2x2x2x2x2x2xf32>
}

// -----

// Tests that an input of 2^31 elements is refused at the input.
// expected-error @below {{the model input is a 2x1073741824 tensor of 2,147,483,648 elements; kiln's kernels index a tensor with 32-bit integers, so it may have at most 2,147,483,647 (use a smaller batch or input size)}}
func.func @input_over(%x: tensor<2x1073741824xf32>) -> tensor<2x1073741824xf32> {
  %y = kiln.relu %x : tensor<2x1073741824xf32>
  return %y : tensor<2x1073741824xf32>
}

// -----

// Tests that only the first tensor over the limit is reported (the relu
// after it is as large) and that a parameter is named by its key.
func.func @param_over(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // expected-error @below {{parameter 'big.weight' is a 65536x65536 tensor of 4,294,967,296 elements}}
  %w = kiln.param "big.weight" parameter : tensor<65536x65536xf32>
  %r = kiln.relu %w : tensor<65536x65536xf32>
  return %x : tensor<1x8xf32>
}

// -----

// Tests that a layer's result is named by its module path and op.
func.func @result_over(%x: tensor<1x3x8192x8192xf32>) -> tensor<1x3x8192x8192xf32> {
  %w = kiln.param "c.weight" parameter : tensor<64x3x1x1xf32>
  // expected-error @below {{'c' (conv2d) is a 1x64x8192x8192 tensor of 4,294,967,296 elements; kiln's kernels index a tensor with 32-bit integers, so it may have at most 2,147,483,647 (use a smaller batch or input size, or a smaller layer)}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layer = #kiln.layer<"c", "Conv2d">} : (tensor<1x3x8192x8192xf32>, tensor<64x3x1x1xf32>) -> tensor<1x64x8192x8192xf32>
  return %x : tensor<1x3x8192x8192xf32>
}

// -----

// Tests that an element count past int64 is reported without overflowing.
// expected-error @below {{the model input is a 4294967296x4294967296x4 tensor of more than 2^63 elements}}
func.func @overflow(%x: tensor<4294967296x4294967296x4xf32>) -> tensor<4294967296x4294967296x4xf32> {
  return %x : tensor<4294967296x4294967296x4xf32>
}

// -----

// Tests that rank 9 is refused.
// expected-error @below {{the model input has rank 9 (1x1x1x1x1x1x1x1x2); kiln's tensors have at most 8 dimensions}}
func.func @rank9(%x: tensor<1x1x1x1x1x1x1x1x2xf32>) -> tensor<1x1x1x1x1x1x1x1x2xf32> {
  return %x : tensor<1x1x1x1x1x1x1x1x2xf32>
}
