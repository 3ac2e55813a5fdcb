// RUN: kiln-opt --split-input-file --kiln-plan-memory %s | FileCheck %s

// The expected plans below are worked out by hand from the rules of the
// pass, in the manner of IREE's layout_slices.mlir:
//  * ops are numbered in program order, kiln.param and return included
//    (the number is written after each op);
//  * a buffer has numel * 4 bytes rounded up to 64 ("1000 align 64" is
//    1024) and lives from the op that writes it to the last op reading any
//    value in it, both ends included;
//  * buffers are placed largest first (ties: earlier first) at the lowest
//    offset that is free for the whole live range;
//  * kiln.arena_bytes is the highest end of a buffer, kiln.live_bytes the
//    largest sum of buffers live at one op.

// Tests that the buffers of a straight chain of convs ping-pong between two
// slots, with sizes rounded up to 64 bytes.
//   %a  [1, 3]  1x10x5x5 = 250 floats = 1000 B -> 1024 (1000 align 64)
//   %b  [3, 4]  1024
//   %c  [4, 6]  1024
//   %d  [6, 7]  1x6x5x5 = 150 floats = 600 B -> 640 (600 align 64);
//               returned 4-D, so it has a buffer read by the return
// Placement (1024s by first use, then 640):
//   %a  +0
//   %b  +1024   (%a is live at 3)
//   %c  +0      (%b at +1024 is live at 4, %a is dead)
//   %d  +1024   (%c at +0 is live at 6)
// arena = max(0+1024, 1024+1024, 0+1024, 1024+640) = 2048
// live  = at 3: %a + %b = 2048; at 4: %b + %c = 2048; at 6: 1024 + 640
// CHECK-LABEL: func.func @chain(
// CHECK-SAME:    kiln.arena_bytes = 2048 : i64, kiln.live_bytes = 2048 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[B:.*]] = kiln.conv2d %[[A]], {{.*}} {kiln.offset = 1024 : i64}
// CHECK:         %[[C:.*]] = kiln.conv2d %[[B]], {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[D:.*]] = kiln.conv2d %[[C]], {{.*}} {kiln.offset = 1024 : i64}
// CHECK:         return %[[D]]
func.func @chain(%x: tensor<1x3x10x10xf32>) -> tensor<1x6x5x5xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "conv1.weight" parameter : tensor<10x3x3x3xf32>                 // 0
  %a = kiln.conv2d %x, %w1 stride [2, 2] padding [1, 1] dilation [1, 1] groups 1   // 1
      : (tensor<1x3x10x10xf32>, tensor<10x3x3x3xf32>) -> tensor<1x10x5x5xf32>
  %w2 = kiln.param "conv2.weight" parameter : tensor<10x10x3x3xf32>                // 2
  %b = kiln.conv2d %a, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 3
      : (tensor<1x10x5x5xf32>, tensor<10x10x3x3xf32>) -> tensor<1x10x5x5xf32>
  %c = kiln.conv2d %b, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 4
      : (tensor<1x10x5x5xf32>, tensor<10x10x3x3xf32>) -> tensor<1x10x5x5xf32>
  %w3 = kiln.param "conv3.weight" parameter : tensor<6x10x1x1xf32>                 // 5
  %d = kiln.conv2d %c, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1   // 6
      : (tensor<1x10x5x5xf32>, tensor<6x10x1x1xf32>) -> tensor<1x6x5x5xf32>
  return %d : tensor<1x6x5x5xf32>                                                  // 7
}

// -----

// Tests that the input of a residual block stays live across both convs,
// so the block's output needs a third slot; and that a pooled linear layer
// gets scratch for the pooled vector while its 2-D model output gets no
// buffer.
//   %a   [1, 5]  1x16x8x8 = 1024 floats = 4096 B (read by %c's residual)
//   %b   [3, 5]  4096
//   %c   [5, 8]  4096
//   %y   model output, not 4-D: no buffer
//   scratch of %y  [8, 8]  N*C = 1*16 floats = 64 B
// Placement:
//   %a  +0
//   %b  +4096   (%a is live at 3)
//   %c  +8192   (%a and %b are both read at 5)
//   scratch of %y  +0   (only %c at +8192 is live at 8)
// arena = 8192 + 4096 = 12288
// live  = at 5: %a + %b + %c = 12288
// CHECK-LABEL: func.func @residual(
// CHECK-SAME:    kiln.arena_bytes = 12288 : i64, kiln.live_bytes = 12288 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[B:.*]] = kiln.conv2d %[[A]], {{.*}} {kiln.offset = 4096 : i64}
// CHECK:         %[[C:.*]] = kiln.conv2d %[[B]], %{{.*}} residual %[[A]] {{.*}} {kiln.offset = 8192 : i64}
// CHECK:         %[[Y:.*]] = kiln.linear %[[C]], %{{.*}} bias %{{.*}} pool {kiln.scratch = 0 : i64} :
// CHECK:         return %[[Y]]
func.func @residual(%x: tensor<1x16x8x8xf32>) -> tensor<1x10xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "stem.weight" parameter : tensor<16x16x3x3xf32>                 // 0
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu  // 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %w2 = kiln.param "layer1.0.conv1.weight" parameter : tensor<16x16x3x3xf32>       // 2
  %b = kiln.conv2d %a, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu  // 3
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %w3 = kiln.param "layer1.0.conv2.weight" parameter : tensor<16x16x3x3xf32>       // 4
  %c = kiln.conv2d %b, %w3 residual %a stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu  // 5
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %fc = kiln.param "fc.weight" parameter : tensor<10x16xf32>                       // 6
  %fb = kiln.param "fc.bias" parameter : tensor<10xf32>                            // 7
  %y = kiln.linear %c, %fc bias %fb pool                                           // 8
      : (tensor<1x16x8x8xf32>, tensor<10x16xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>                                                     // 9
}

// -----

// Tests that an elementwise op writes over an operand of its type that
// dies at it (and records that buffer's offset), but not over one that is
// read later.
//   all values 1x8x8x8 = 512 floats = 2048 B
//   %a  [1, 5]  read by %r (2) and %s (5)
//   %r  [2, 4]  own buffer: %a is read again at 5
//   %b  [4, 7]  %s writes over it (%b dies at 5), %t over that (%s dies
//               at 6); the return reads it at 7
// Placement:
//   %a  +0
//   %r  +2048   (%a is live at 2)
//   %b  +4096   (%a and %r are live at 4)
//   %s, %t  +4096  (in %b's buffer)
// arena = 4096 + 2048 = 6144
// live  = at 4: %a + %r + %b = 6144
// CHECK-LABEL: func.func @in_place_elementwise(
// CHECK-SAME:    kiln.arena_bytes = 6144 : i64, kiln.live_bytes = 6144 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[R:.*]] = kiln.relu %[[A]] {kiln.offset = 2048 : i64}
// CHECK:         %[[B:.*]] = kiln.conv2d %[[R]], {{.*}} {kiln.offset = 4096 : i64}
// CHECK:         %[[S:.*]] = kiln.add %[[B]], %[[A]] {kiln.offset = 4096 : i64}
// CHECK:         %[[T:.*]] = kiln.hard_swish %[[S]] {kiln.offset = 4096 : i64}
// CHECK:         return %[[T]]
func.func @in_place_elementwise(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "conv1.weight" parameter : tensor<8x8x3x3xf32>                  // 0
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %r = kiln.relu %a : tensor<1x8x8x8xf32>                                          // 2
  %w2 = kiln.param "conv2.weight" parameter : tensor<8x8x3x3xf32>                  // 3
  %b = kiln.conv2d %r, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 4
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %s = kiln.add %b, %a : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>  // 5
  %t = kiln.hard_swish %s : tensor<1x8x8x8xf32>                                    // 6
  return %t : tensor<1x8x8x8xf32>                                                  // 7
}

// -----

// Tests that a broadcasting multiply writes over its full-size operand
// (here the right one) and a unary op over the small tensor it gates.
//   %a  [1, 5]  1x8x8x8 = 2048 B; %m writes over it (%a dies at 4), the
//               return reads it at 5
//   %p  [2, 4]  1x8x1x1 = 8 floats = 32 B -> 64 (32 align 64); %g writes
//               over it, %m reads it at 4
//   (%g is 1x8x1x1, not %m's type, so %m cannot write there)
// Placement:
//   %a  +0
//   %p  +2048   (%a is live at 2)
// arena = 2048 + 64 = 2112
// live  = at 2..4: 2048 + 64 = 2112
// CHECK-LABEL: func.func @in_place_broadcast_mul(
// CHECK-SAME:    kiln.arena_bytes = 2112 : i64, kiln.live_bytes = 2112 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[P:.*]] = kiln.adaptive_avg_pool2d %[[A]] output_size [1, 1] {kiln.offset = 2048 : i64}
// CHECK:         %[[G:.*]] = kiln.sigmoid %[[P]] {kiln.offset = 2048 : i64}
// CHECK:         %[[M:.*]] = kiln.mul %[[G]], %[[A]] {kiln.offset = 0 : i64}
// CHECK:         return %[[M]]
func.func @in_place_broadcast_mul(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<8x8x3x3xf32>                    // 0
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1    // 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %p = kiln.adaptive_avg_pool2d %a output_size [1, 1] : tensor<1x8x8x8xf32> -> tensor<1x8x1x1xf32>  // 2
  %g = kiln.sigmoid %p : tensor<1x8x1x1xf32>                                       // 3
  %m = kiln.mul %g, %a : tensor<1x8x1x1xf32>, tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>  // 4
  return %m : tensor<1x8x8x8xf32>                                                  // 5
}

// -----

// Tests that the inputs of an in-place concat live in the concat's buffer
// (no buffers, no offsets of their own), which lives from its first
// producer to the last reader of a view of it.
//   %h        [1, 3]  1x16x8x8 = 1024 floats = 4096 B
//   concat    [3, 9]  1x16x8x8 = 4096 B; holds %x1 (written at 3, read at
//                     5 and 6) and %x2 (written at 5); the slice %s is a
//                     view of it, read by %y at 9
//   %y        [9, 10] 4096 B
// Placement (all 4096 B, by first use):
//   %h      +0
//   concat  +4096  (%h is still read at 3, where %x1 is written)
//   %y      +0     (%h is dead, the concat at +4096 is live at 9)
// arena = 4096 + 4096 = 8192
// live  = at 3: %h + concat = 8192; at 9: concat + %y = 8192
// CHECK-LABEL: func.func @in_place_concat(
// CHECK-SAME:    kiln.arena_bytes = 8192 : i64, kiln.live_bytes = 8192 : i64
// CHECK:         %[[H:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[X1:.*]] = kiln.conv2d %[[H]], {{.*}} activation relu :
// CHECK:         %[[X2:.*]] = kiln.conv2d %[[X1]], {{.*}} groups 8 activation relu :
// CHECK:         %[[CAT:.*]] = kiln.concat %[[X1]], %[[X2]] dim 1 {kiln.in_place, kiln.offset = 4096 : i64}
// CHECK:         %[[S:.*]] = kiln.slice %[[CAT]] dim 1 start 0 end 12 step 1 :
// CHECK:         %[[Y:.*]] = kiln.conv2d %[[S]], {{.*}} {kiln.offset = 0 : i64}
// CHECK:         return %[[Y]]
func.func @in_place_concat(%x: tensor<1x3x16x16xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "m"} {
  %w0 = kiln.param "stem.weight" parameter : tensor<16x3x3x3xf32>                  // 0
  %h = kiln.conv2d %x, %w0 stride [2, 2] padding [1, 1] dilation [1, 1] groups 1   // 1
      : (tensor<1x3x16x16xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  %w1 = kiln.param "ghost.primary_conv.0.weight" parameter : tensor<8x16x1x1xf32>  // 2
  %x1 = kiln.conv2d %h, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu  // 3
      : (tensor<1x16x8x8xf32>, tensor<8x16x1x1xf32>) -> tensor<1x8x8x8xf32>
  %w2 = kiln.param "ghost.cheap_operation.0.weight" parameter : tensor<8x1x3x3xf32>  // 4
  %x2 = kiln.conv2d %x1, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 8 activation relu  // 5
      : (tensor<1x8x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x8x8xf32>
  %c = kiln.concat %x1, %x2 dim 1 {kiln.in_place} : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>  // 6
  %s = kiln.slice %c dim 1 start 0 end 12 step 1 : tensor<1x16x8x8xf32> -> tensor<1x12x8x8xf32>  // 7
  %w3 = kiln.param "next.weight" parameter : tensor<16x12x1x1xf32>                 // 8
  %y = kiln.conv2d %s, %w3 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1   // 9
      : (tensor<1x12x8x8xf32>, tensor<16x12x1x1xf32>) -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>                                                 // 10
}

// -----

// Tests that buffers are placed largest first, so a small buffer goes
// beside the big ones instead of under them.
//   %a  [1, 3]  1x8x8x8 = 2048 B
//   %b  [3, 5]  1x32x8x8 = 2048 floats = 8192 B
//   %c  [5, 6]  8192 B
// Placement, largest first (%b, %c, then %a):
//   %b  +0
//   %c  +8192   (%b is live at 5)
//   %a  +8192   (%b at +0 is live at 3; %c is not live yet)
// arena = 8192 + 8192 = 16384 = live at 5 (%b + %c).
// (Placing in program order would give %a +0, %b +2048 and %c +10240, an
// arena of 18432.)
// CHECK-LABEL: func.func @largest_first(
// CHECK-SAME:    kiln.arena_bytes = 16384 : i64, kiln.live_bytes = 16384 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 8192 : i64}
// CHECK:         %[[B:.*]] = kiln.conv2d %[[A]], {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[C:.*]] = kiln.conv2d %[[B]], {{.*}} {kiln.offset = 8192 : i64}
func.func @largest_first(%x: tensor<1x8x8x8xf32>) -> tensor<1x32x8x8xf32> attributes {kiln.model = "m"} {
  %w1 = kiln.param "conv1.weight" parameter : tensor<8x8x3x3xf32>                  // 0
  %a = kiln.conv2d %x, %w1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %w2 = kiln.param "conv2.weight" parameter : tensor<32x8x3x3xf32>                 // 2
  %b = kiln.conv2d %a, %w2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 3
      : (tensor<1x8x8x8xf32>, tensor<32x8x3x3xf32>) -> tensor<1x32x8x8xf32>
  %w3 = kiln.param "conv3.weight" parameter : tensor<32x32x3x3xf32>                // 4
  %c = kiln.conv2d %b, %w3 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1   // 5
      : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  return %c : tensor<1x32x8x8xf32>                                                 // 6
}

// -----

// Tests that fused kernels get temporary memory live at their op only: an
// SE gate (the pooled vector and the reduced one), a conv with an input
// scale (its weights scaled per sample, output channels padded to 64) and a
// pooled linear layer; the gate's N x C output is an ordinary buffer.
//   %h   [1, 8]    1x16x8x8 = 4096 B (read by %g at 6 and %y at 8)
//   %g   [6, 8]    1x16 = 16 floats = 64 B
//   %y   [8, 11]   1x24x8x8 = 1536 floats = 6144 B
//   %z   model output, not 4-D: no buffer
//   scratch of %g  [6, 6]    N*(C+R) = 1*(16+4) = 20 floats = 80 B -> 128 (80 align 64)
//   scratch of %y  [8, 8]    groups*ceil64(O/groups)*I*KH*KW = 1*64*16*1*1 = 1024 floats = 4096 B
//   scratch of %z  [11, 11]  N*C = 1*24 = 24 floats = 96 B -> 128 (96 align 64)
// Placement, largest first (6144; 4096s by first use; 128s by first use; 64):
//   %y             +0
//   %h             +6144   (%y at +0 is live at 8)
//   scratch of %y  +10240  (%y at +0 and %h at +6144 are live at 8)
//   scratch of %g  +0      (only %h at +6144 is live at 6)
//   scratch of %z  +6144   (only %y at +0 is live at 11)
//   %g             +14336  (live at 6..8 are [0, 128), [0, 6144),
//                           [6144, 10240) and [10240, 14336))
// arena = 14336 + 64 = 14400
// live  = at 8: %h + %g + %y + scratch of %y = 4096 + 64 + 6144 + 4096 = 14400
// CHECK-LABEL: func.func @scratch(
// CHECK-SAME:    kiln.arena_bytes = 14400 : i64, kiln.live_bytes = 14400 : i64
// CHECK:         %[[H:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 6144 : i64}
// CHECK:         %[[G:.*]] = kiln.se_gate %[[H]], {{.*}} {kiln.offset = 14336 : i64, kiln.scratch = 0 : i64}
// CHECK:         %[[Y:.*]] = kiln.conv2d %[[H]], %{{.*}} scale %[[G]] {{.*}} {kiln.offset = 0 : i64, kiln.scratch = 10240 : i64}
// CHECK:         %[[Z:.*]] = kiln.linear %[[Y]], %{{.*}} pool {kiln.scratch = 6144 : i64} :
// CHECK:         return %[[Z]]
func.func @scratch(%x: tensor<1x16x8x8xf32>) -> tensor<1x10xf32> attributes {kiln.model = "m"} {
  %w0 = kiln.param "conv.weight" parameter : tensor<16x16x3x3xf32>                 // 0
  %h = kiln.conv2d %x, %w0 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 activation relu  // 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %w1 = kiln.param "se.conv_reduce.weight" parameter : tensor<4x16x1x1xf32>        // 2
  %b1 = kiln.param "se.conv_reduce.bias" parameter : tensor<4xf32>                 // 3
  %w2 = kiln.param "se.conv_expand.weight" parameter : tensor<16x4x1x1xf32>        // 4
  %b2 = kiln.param "se.conv_expand.bias" parameter : tensor<16xf32>                // 5
  %g = kiln.se_gate %h, %w1, %b1, %w2, %b2 activation relu gate hard_sigmoid       // 6
      : (tensor<1x16x8x8xf32>, tensor<4x16x1x1xf32>, tensor<4xf32>, tensor<16x4x1x1xf32>, tensor<16xf32>) -> tensor<1x16xf32>
  %w3 = kiln.param "conv_pwl.weight" parameter : tensor<24x16x1x1xf32>             // 7
  %y = kiln.conv2d %h, %w3 scale %g stride [1, 1] padding [0, 0] dilation [1, 1] groups 1  // 8
      : (tensor<1x16x8x8xf32>, tensor<24x16x1x1xf32>, tensor<1x16xf32>) -> tensor<1x24x8x8xf32>
  %fc = kiln.param "classifier.weight" parameter : tensor<10x24xf32>               // 9
  %fb = kiln.param "classifier.bias" parameter : tensor<10xf32>                    // 10
  %z = kiln.linear %y, %fc bias %fb pool                                           // 11
      : (tensor<1x24x8x8xf32>, tensor<10x24xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %z : tensor<1x10xf32>                                                     // 12
}

// -----

// Tests that views (dropout, flatten) live in their source's buffer and
// keep it alive until their own last reader, and that an elementwise op
// producing the 2-D model output writes it directly (no buffer, no
// offset).
//   %a  [1, 5]  1x5x7x7 = 245 floats = 980 B -> 1024 (980 align 64); the
//               flatten of its dropout is read by %y at 5
//   %y  [5, 6]  1x10 = 40 B -> 64 (40 align 64)
//   %s  model output, not 4-D: no buffer
// Placement:
//   %a  +0
//   %y  +1024   (%a is live at 5)
// arena = 1024 + 64 = 1088 = live at 5
// CHECK-LABEL: func.func @views_and_output(
// CHECK-SAME:    kiln.arena_bytes = 1088 : i64, kiln.live_bytes = 1088 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[D:.*]] = kiln.dropout %[[A]] p 5.000000e-01 :
// CHECK:         %[[F:.*]] = kiln.flatten %[[D]] start_dim 1 end_dim 3 :
// CHECK:         %[[Y:.*]] = kiln.linear %[[F]], %{{.*}} {kiln.offset = 1024 : i64}
// CHECK:         %[[S:.*]] = kiln.sigmoid %[[Y]] : tensor<1x10xf32>
// CHECK:         return %[[S]]
func.func @views_and_output(%x: tensor<1x5x7x7xf32>) -> tensor<1x10xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "conv.weight" parameter : tensor<5x5x3x3xf32>                    // 0
  %a = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1    // 1
      : (tensor<1x5x7x7xf32>, tensor<5x5x3x3xf32>) -> tensor<1x5x7x7xf32>
  %d = kiln.dropout %a p 0.5 : tensor<1x5x7x7xf32>                                 // 2
  %f = kiln.flatten %d start_dim 1 end_dim 3 : tensor<1x5x7x7xf32> -> tensor<1x245xf32>  // 3
  %fc = kiln.param "fc.weight" parameter : tensor<10x245xf32>                      // 4
  %y = kiln.linear %f, %fc : (tensor<1x245xf32>, tensor<10x245xf32>) -> tensor<1x10xf32>  // 5
  %s = kiln.sigmoid %y : tensor<1x10xf32>                                          // 6
  return %s : tensor<1x10xf32>                                                     // 7
}

// -----

// Tests that an elementwise op does not write over an operand while another
// of its operands reads the same buffer through a view with other indices.
//   %a [2, 4] 1x4x8x8 = 256 floats = 1024 B; %t is a view of it
//   %s cannot take %a's buffer (it would overwrite %t's elements before the
//   add reads them): %s [4, 5] 1024 B at +1024
// arena = 2048, live at 4 = 2048
// CHECK-LABEL: func.func @no_in_place_through_view(
// CHECK-SAME:    kiln.arena_bytes = 2048 : i64, kiln.live_bytes = 2048 : i64
func.func @no_in_place_through_view(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> attributes {kiln.model = "m"} {
  %w = kiln.param "w" parameter : tensor<4x4x1x1xf32>              // 0
  // CHECK: kiln.conv2d {{.*}}kiln.offset = 0 : i64
  %a = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 {kiln.layout = #kiln<layout nhwc>} : (tensor<1x4x8x8xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x8x8xf32>  // 1
  %t = kiln.transpose %a dims [2, 3] : tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>  // 2
  // CHECK: kiln.add {{.*}}kiln.offset = 1024 : i64
  %s = kiln.add %a, %t {kiln.layout = #kiln<layout nhwc>} : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>  // 3
  return %s : tensor<1x4x8x8xf32>                                  // 4
}

// -----

// Tests that a shuffled concat (ShuffleNetV2: shuffle(cat(x1, b), 2)) and
// its shuffle share one buffer: the branch convolution %b is produced
// there (no offset of its own), the chunk %p#0 is copied in by the
// concat, and the shuffle records the concat's offset.
//   %h        [1, 5]  1x8x8x8 = 2048 B; %p is a view of it, %p#1 read by
//                     %b at 4, %p#0 by the concat at 5
//   concat    [4, 7]  2048 B; holds %b (written at 4) and the shuffle's
//                     result (6), returned at 7
// Placement (both 2048 B, by first use): %h +0, concat +2048
// arena = 4096, live = 4096
// CHECK-LABEL: func.func @shuffled_concat(
// CHECK-SAME:    kiln.arena_bytes = 4096 : i64, kiln.live_bytes = 4096 : i64
// CHECK:         %[[H:.*]] = kiln.conv2d %arg0, {{.*}} {kiln.offset = 0 : i64}
// CHECK:         %[[P:.*]]:2 = kiln.chunk %[[H]]
// CHECK:         %[[B:.*]] = kiln.conv2d %[[P]]#1, {{.*}} activation relu :
// CHECK:         %[[CAT:.*]] = kiln.concat %[[P]]#0, %[[B]] dim 1 {kiln.in_place, kiln.offset = 2048 : i64}
// CHECK:         %[[Y:.*]] = kiln.channel_shuffle %[[CAT]] groups 2 {kiln.in_place, kiln.offset = 2048 : i64}
// CHECK:         return %[[Y]]
func.func @shuffled_concat(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> attributes {kiln.model = "m"} {
  %w0 = kiln.param "conv.weight" parameter : tensor<8x8x1x1xf32>                    // 0
  %h = kiln.conv2d %x, %w0 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1    // 1
      : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  %p:2 = kiln.chunk %h dim 1 chunks 2 : tensor<1x8x8x8xf32> -> tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>  // 2
  %w1 = kiln.param "branch2.0.weight" parameter : tensor<4x4x1x1xf32>                // 3
  %b = kiln.conv2d %p#1, %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu  // 4
      : (tensor<1x4x8x8xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %c = kiln.concat %p#0, %b dim 1 {kiln.in_place} : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x8x8x8xf32>  // 5
  %y = kiln.channel_shuffle %c groups 2 {kiln.in_place} : tensor<1x8x8x8xf32>        // 6
  return %y : tensor<1x8x8x8xf32>                                                    // 7
}

// -----

// Tests that an input an in-place concat copies keeps its own buffer: %a
// is read by two concats, so it is produced in the first (no offset) and
// copied into the second, where %c is produced.
//   cat1 [1, 6]   1x16x4x4 = 1024 B: %a (written at 1), %b (at 2); returned
//   cat2 [3, 6]   1024 B: %c (written at 3), %a copied in at 5; returned
// Placement (both 1024 B, by first use): cat1 +0, cat2 +1024
// arena = 2048, live = 2048
// CHECK-LABEL: func.func @copied_input(
// CHECK-SAME:    kiln.arena_bytes = 2048 : i64, kiln.live_bytes = 2048 : i64
// CHECK:         %[[A:.*]] = kiln.conv2d %arg0, {{.*}} groups 1 :
// CHECK:         %[[B:.*]] = kiln.relu %arg0 :
// CHECK:         %[[C:.*]] = kiln.sigmoid %arg0 :
// CHECK:         kiln.concat %[[A]], %[[B]] dim 1 {kiln.in_place, kiln.offset = 0 : i64}
// CHECK:         kiln.concat %[[A]], %[[C]] dim 1 {kiln.in_place, kiln.offset = 1024 : i64}
func.func @copied_input(%x: tensor<1x8x4x4xf32>) -> (tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>) attributes {kiln.model = "m"} {
  %w = kiln.param "a.weight" parameter : tensor<8x8x1x1xf32>                        // 0
  %a = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1     // 1
      : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x4x4xf32>
  %b = kiln.relu %x : tensor<1x8x4x4xf32>                                           // 2
  %c = kiln.sigmoid %x : tensor<1x8x4x4xf32>                                        // 3
  %cat1 = kiln.concat %a, %b dim 1 {kiln.in_place} : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x16x4x4xf32>  // 4
  %cat2 = kiln.concat %a, %c dim 1 {kiln.in_place} : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x16x4x4xf32>  // 5
  return %cat1, %cat2 : tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>                   // 6
}

// -----

// A convolution chain marked kiln.chain (fuse-conv-chains) reads its input
// when the CPU computes it, at its last layer: the input (4 KB) must then
// outlive the expanded (24 KB at 0) and depthwise (24 KB at 24576) results,
// so it goes to 49152, where unmarked (below) it shares the depthwise
// result's bytes.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME:    kiln.arena_bytes = 53248
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 49152 : i64} : {{.*}} -> tensor<1x16x8x8xf32>
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 0 : i64} : {{.*}} -> tensor<1x96x8x8xf32>
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 24576 : i64} : {{.*}} -> tensor<1x96x8x8xf32>
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 0 : i64} : {{.*}} -> tensor<1x16x8x8xf32>
// CHECK-LABEL: func.func @unmarked(
// CHECK-SAME:    kiln.arena_bytes = 49152
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 24576 : i64} : {{.*}} -> tensor<1x16x8x8xf32>
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 0 : i64} : {{.*}} -> tensor<1x96x8x8xf32>
// CHECK:         kiln.conv2d {{.*}}kiln.offset = 24576 : i64} : {{.*}} -> tensor<1x96x8x8xf32>
func.func @chain(%in: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "chain"} {
  %ws = kiln.param "s.weight" parameter : tensor<16x16x3x3xf32>
  %x = kiln.conv2d %in, %ws stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %we = kiln.param "e.weight" parameter : tensor<96x16x1x1xf32>
  %be = kiln.param "e.bias" parameter : tensor<96xf32>
  %wd = kiln.param "d.weight" parameter : tensor<96x1x3x3xf32>
  %bd = kiln.param "d.bias" parameter : tensor<96xf32>
  %wp = kiln.param "p.weight" parameter : tensor<16x96x1x1xf32>
  %bp = kiln.param "p.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %x, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x16x8x8xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x8x8xf32>
  %d = kiln.conv2d %e, %wd bias %bd stride [1, 1] padding [1, 1] dilation [1, 1] groups 96 activation relu6 {kiln.chain}
      : (tensor<1x96x8x8xf32>, tensor<96x1x3x3xf32>, tensor<96xf32>) -> tensor<1x96x8x8xf32>
  %p = kiln.conv2d %d, %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x96x8x8xf32>, tensor<16x96x1x1xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  %q = kiln.relu %p : tensor<1x16x8x8xf32>
  return %q : tensor<1x16x8x8xf32>
}
func.func @unmarked(%in: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {kiln.model = "unmarked"} {
  %ws = kiln.param "s.weight" parameter : tensor<16x16x3x3xf32>
  %x = kiln.conv2d %in, %ws stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %we = kiln.param "e.weight" parameter : tensor<96x16x1x1xf32>
  %be = kiln.param "e.bias" parameter : tensor<96xf32>
  %wd = kiln.param "d.weight" parameter : tensor<96x1x3x3xf32>
  %bd = kiln.param "d.bias" parameter : tensor<96xf32>
  %wp = kiln.param "p.weight" parameter : tensor<16x96x1x1xf32>
  %bp = kiln.param "p.bias" parameter : tensor<16xf32>
  %e = kiln.conv2d %x, %we bias %be stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 activation relu6
      : (tensor<1x16x8x8xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x8x8xf32>
  %d = kiln.conv2d %e, %wd bias %bd stride [1, 1] padding [1, 1] dilation [1, 1] groups 96 activation relu6
      : (tensor<1x96x8x8xf32>, tensor<96x1x3x3xf32>, tensor<96xf32>) -> tensor<1x96x8x8xf32>
  %p = kiln.conv2d %d, %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1
      : (tensor<1x96x8x8xf32>, tensor<16x96x1x1xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  %q = kiln.relu %p : tensor<1x16x8x8xf32>
  return %q : tensor<1x16x8x8xf32>
}
