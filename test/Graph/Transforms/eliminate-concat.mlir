// RUN: kiln-opt --split-input-file --kiln-eliminate-concat %s | FileCheck %s

// Tests that GhostNet's ghost module, cat([x1, cheap(x1)])[:, :oup], gets an
// in-place concat: both convs are kernels that can write their channel
// slice, and the slice after it stays a view.
// CHECK-LABEL: @ghost_module
// CHECK:         %[[X1:.*]] = kiln.conv2d %arg0
// CHECK:         %[[X2:.*]] = kiln.conv2d %[[X1]]
// CHECK:         %[[CAT:.*]] = kiln.concat %[[X1]], %[[X2]] dim 1 {kiln.in_place} : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
// CHECK:         kiln.slice %[[CAT]] dim 1 start 0 end 12 step 1
func.func @ghost_module(%x: tensor<1x16x16x16xf32>) -> tensor<1x12x16x16xf32> {
  %w1 = kiln.param "ghost1.primary_conv.0.weight" parameter : tensor<8x16x1x1xf32>
  %x1 = kiln.conv2d %x, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x16x16x16xf32>, tensor<8x16x1x1xf32>) -> tensor<1x8x16x16xf32>
  %w2 = kiln.param "ghost1.cheap_operation.0.weight" parameter : tensor<8x1x3x3xf32>
  %x2 = kiln.conv2d %x1, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 8 activation relu
      : (tensor<1x8x16x16xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x16x16xf32>
  %c = kiln.concat %x1, %x2 dim 1 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  %s = kiln.slice %c dim 1 start 0 end 12 step 1 : tensor<1x16x16x16xf32> -> tensor<1x12x16x16xf32>
  return %s : tensor<1x12x16x16xf32>
}

// -----

// Tests that an input reached through an identity (GhostModule's empty
// nn.Sequential) still lets the concat be in place: its producer writes
// into the slice.
// CHECK-LABEL: @through_identity
// CHECK:         %[[X1:.*]] = kiln.conv2d %arg0
// CHECK:         %[[ID:.*]] = kiln.identity %[[X1]]
// CHECK:         kiln.concat %[[ID]], %{{.*}} dim 1 {kiln.in_place}
func.func @through_identity(%x: tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32> {
  %w1 = kiln.param "primary_conv.0.weight" parameter : tensor<8x16x1x1xf32>
  %x1 = kiln.conv2d %x, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x16x16x16xf32>, tensor<8x16x1x1xf32>) -> tensor<1x8x16x16xf32>
  %i = kiln.identity %x1 : tensor<1x8x16x16xf32>
  %w2 = kiln.param "cheap_operation.0.weight" parameter : tensor<8x1x3x3xf32>
  %x2 = kiln.conv2d %i, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 8
      : (tensor<1x8x16x16xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x16x16xf32>
  %c = kiln.concat %i, %x2 dim 1 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  return %c : tensor<1x16x16x16xf32>
}

// -----

// Tests that a concat with the model input among its inputs is still in
// place: the convolution writes its slice, and the concat copies only the
// argument, which nothing computes (plan-memory.mlir checks who writes
// where).
// CHECK-LABEL: @input_is_argument
// CHECK:         kiln.concat %arg0, %{{.*}} dim 1 {kiln.in_place}
func.func @input_is_argument(%x: tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x16x16xf32>
  %c = kiln.concat %x, %y dim 1 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  return %c : tensor<1x16x16x16xf32>
}

// -----

// Tests that a concat of a chunk view and a branch result is in place for
// the branch: the chunk, a view of another buffer, is the one input copied.
// CHECK-LABEL: @input_is_chunk
// CHECK:         %[[PARTS:.*]]:2 = kiln.chunk
// CHECK:         kiln.concat %[[PARTS]]#0, %{{.*}} dim 1 {kiln.in_place}
func.func @input_is_chunk(%x: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
  %w0 = kiln.param "conv0.weight" parameter : tensor<8x8x1x1xf32>
  %y = kiln.conv2d %x, %w0 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x16x16xf32>
  %p:2 = kiln.chunk %y dim 1 chunks 2 : tensor<1x8x16x16xf32> -> tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
  %w = kiln.param "branch2.0.weight" parameter : tensor<4x4x1x1xf32>
  %b = kiln.conv2d %p#1, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x4x16x16xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x16x16xf32>
  %c = kiln.concat %p#0, %b dim 1 : (tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>) -> tensor<1x8x16x16xf32>
  return %c : tensor<1x8x16x16xf32>
}

// -----

// Tests that a concat of views and the model input only is not in place:
// no kernel computes any of its inputs, so it copies them all.
// CHECK-LABEL: @only_views
// CHECK:         %[[S:.*]] = kiln.slice
// CHECK:         kiln.concat %[[S]], %arg0 dim 1 :
// CHECK-NOT:     kiln.in_place
func.func @only_views(%x: tensor<1x8x16x16xf32>) -> tensor<1x12x16x16xf32> {
  %s = kiln.slice %x dim 1 start 0 end 4 step 1 : tensor<1x8x16x16xf32> -> tensor<1x4x16x16xf32>
  %c = kiln.concat %s, %x dim 1 : (tensor<1x4x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x12x16x16xf32>
  return %c : tensor<1x12x16x16xf32>
}

// -----

// Tests that a tensor used by two concats leaves both in place: it is
// produced in the first (a producer writes one place) and copied into the
// second, whose other input is produced there (plan-memory.mlir).
// CHECK-LABEL: @shared_by_two_concats
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0
// CHECK:         %[[B:.*]] = kiln.conv2d %arg0
// CHECK:         %[[C:.*]] = kiln.conv2d %arg0
// CHECK:         kiln.concat %[[A]], %[[B]] dim 1 {kiln.in_place}
// CHECK:         kiln.concat %[[A]], %[[C]] dim 1 {kiln.in_place}
func.func @shared_by_two_concats(%x: tensor<1x8x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %wa = kiln.param "a.weight" parameter : tensor<8x8x1x1xf32>
  %a = kiln.conv2d %x, %wa stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  %wb = kiln.param "b.weight" parameter : tensor<8x8x3x3xf32>
  %b = kiln.conv2d %x, %wb stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %wc = kiln.param "c.weight" parameter : tensor<8x8x3x3xf32>
  %c = kiln.conv2d %x, %wc stride [1, 1] padding [2, 2] dilation [2, 2] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %cat1 = kiln.concat %a, %b dim 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>
  %cat2 = kiln.concat %a, %c dim 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>
  return %cat1, %cat2 : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// Tests that a concat along the batch dimension is not in place (only
// channel concats are slices a kernel can write).
// CHECK-LABEL: @concat_dim0
// CHECK:         kiln.concat %{{.*}}, %{{.*}} dim 0 :
// CHECK-NOT:     kiln.in_place
func.func @concat_dim0(%x: tensor<1x8x8x8xf32>) -> tensor<2x8x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %b = kiln.relu %x : tensor<1x8x8x8xf32>
  %c = kiln.concat %a, %b dim 0 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<2x8x8x8xf32>
  return %c : tensor<2x8x8x8xf32>
}

// -----

// Tests that the same tensor twice (torch.cat([x, x])) is in place: it is
// produced into the first slice and copied into the second.
// CHECK-LABEL: @same_input_twice
// CHECK:         %[[A:.*]] = kiln.conv2d
// CHECK:         kiln.concat %[[A]], %[[A]] dim 1 {kiln.in_place}
func.func @same_input_twice(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %c = kiln.concat %a, %a dim 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>
  return %c : tensor<1x16x8x8xf32>
}

// -----

// Tests that a concat of a concat (DenseNet-style growth) is in place for
// both: the outer one copies the inner concat's result (not a kernel's
// output) and has its convolution produced in place.
// CHECK-LABEL: @nested_concat
// CHECK:         %[[INNER:.*]] = kiln.concat %{{.*}}, %{{.*}} dim 1 {kiln.in_place}
// CHECK:         kiln.concat %[[INNER]], %{{.*}} dim 1 {kiln.in_place}
func.func @nested_concat(%x: tensor<1x8x8x8xf32>) -> tensor<1x24x8x8xf32> {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %b = kiln.conv2d %a, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %i = kiln.concat %a, %b dim 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>
  %w2 = kiln.param "conv2.weight" parameter : tensor<8x16x3x3xf32>
  %c = kiln.conv2d %i, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<8x16x3x3xf32>) -> tensor<1x8x8x8xf32>
  %o = kiln.concat %i, %c dim 1 : (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x24x8x8xf32>
  return %o : tensor<1x24x8x8xf32>
}

// -----

// Tests that a concat of 2-D tensors along dimension 1 is not in place.
// CHECK-LABEL: @concat_2d
// CHECK:         kiln.concat %{{.*}}, %{{.*}} dim 1 :
// CHECK-NOT:     kiln.in_place
func.func @concat_2d(%x: tensor<2x64xf32>) -> tensor<2x20xf32> {
  %w = kiln.param "fc.weight" parameter : tensor<10x64xf32>
  %a = kiln.linear %x, %w : (tensor<2x64xf32>, tensor<10x64xf32>) -> tensor<2x10xf32>
  %b = kiln.relu %a : tensor<2x10xf32>
  %c = kiln.concat %a, %b dim 1 : (tensor<2x10xf32>, tensor<2x10xf32>) -> tensor<2x20xf32>
  return %c : tensor<2x20xf32>
}

// -----

// Tests that ShuffleNetV2's stride-1 block, channel_shuffle(cat(x1,
// branch2(x2)), 2), marks the concat and the shuffle: the branch writes
// every other channel of the shuffle's buffer, the concat copies x1 into
// the others, and the shuffle moves nothing.
// CHECK-LABEL: @shuffle_block
// CHECK:         %[[PARTS:.*]]:2 = kiln.chunk
// CHECK:         %[[B:.*]] = kiln.conv2d %[[PARTS]]#1
// CHECK:         %[[CAT:.*]] = kiln.concat %[[PARTS]]#0, %[[B]] dim 1 {kiln.in_place}
// CHECK:         kiln.channel_shuffle %[[CAT]] groups 2 {kiln.in_place}
func.func @shuffle_block(%x: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
  %p:2 = kiln.chunk %x dim 1 chunks 2 : tensor<1x8x16x16xf32> -> tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
  %w = kiln.param "branch2.0.weight" parameter : tensor<4x4x1x1xf32>
  %b = kiln.conv2d %p#1, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu
      : (tensor<1x4x16x16xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x16x16xf32>
  %c = kiln.concat %p#0, %b dim 1 : (tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>) -> tensor<1x8x16x16xf32>
  %y = kiln.channel_shuffle %c groups 2 : tensor<1x8x16x16xf32>
  return %y : tensor<1x8x16x16xf32>
}

// -----

// Tests that a channel shuffle whose groups differ from the concat's inputs
// stays a copy: input i no longer lands on every g-th channel from i. The
// concat itself is still in place.
// CHECK-LABEL: @shuffle_other_groups
// CHECK:         %[[CAT:.*]] = kiln.concat %{{.*}}, %{{.*}} dim 1 {kiln.in_place}
// CHECK:         kiln.channel_shuffle %[[CAT]] groups 4 :
func.func @shuffle_other_groups(%x: tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32> {
  %w = kiln.param "a.weight" parameter : tensor<8x8x1x1xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x16x16xf32>
  %b = kiln.conv2d %a, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x16x16xf32>
  %c = kiln.concat %a, %b dim 1 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  %y = kiln.channel_shuffle %c groups 4 : tensor<1x16x16x16xf32>
  return %y : tensor<1x16x16x16xf32>
}

// -----

// Tests that a concat read by more than its channel shuffle is not written
// shuffled: the other reader needs the concat's own channel order.
// CHECK-LABEL: @shuffle_and_another_reader
// CHECK:         %[[CAT:.*]] = kiln.concat %{{.*}}, %{{.*}} dim 1 {kiln.in_place}
// CHECK:         kiln.channel_shuffle %[[CAT]] groups 2 :
func.func @shuffle_and_another_reader(%x: tensor<1x8x16x16xf32>) -> (tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>) {
  %w = kiln.param "a.weight" parameter : tensor<8x8x1x1xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x16x16xf32>
  %b = kiln.conv2d %a, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x16x16xf32>
  %c = kiln.concat %a, %b dim 1 : (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) -> tensor<1x16x16x16xf32>
  %y = kiln.channel_shuffle %c groups 2 : tensor<1x16x16x16xf32>
  %r = kiln.relu %c : tensor<1x16x16x16xf32>
  return %y, %r : tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>
}

// -----

// Tests that inputs of unequal widths do not make a shuffled concat, even
// with one input per group.
// CHECK-LABEL: @shuffle_unequal_inputs
// CHECK:         %[[CAT:.*]] = kiln.concat %{{.*}}, %{{.*}} dim 1 {kiln.in_place}
// CHECK:         kiln.channel_shuffle %[[CAT]] groups 2 :
func.func @shuffle_unequal_inputs(%x: tensor<1x8x16x16xf32>) -> tensor<1x12x16x16xf32> {
  %w = kiln.param "a.weight" parameter : tensor<8x8x1x1xf32>
  %a = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x8x16x16xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x16x16xf32>
  %s = kiln.slice %a dim 1 start 0 end 4 step 1 : tensor<1x8x16x16xf32> -> tensor<1x4x16x16xf32>
  %c = kiln.concat %a, %s dim 1 : (tensor<1x8x16x16xf32>, tensor<1x4x16x16xf32>) -> tensor<1x12x16x16xf32>
  %y = kiln.channel_shuffle %c groups 2 : tensor<1x12x16x16xf32>
  return %y : tensor<1x12x16x16xf32>
}
