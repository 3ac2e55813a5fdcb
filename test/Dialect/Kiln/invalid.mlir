// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Tests that each op's shape rule rejects invalid operands and attributes.
// When the custom form spells out the result types, a failed rule also makes
// the verifier report "failed to infer returned types"; ops whose form omits
// them (batch_norm, dropout, channel_shuffle) fail while parsing, once.

func.func @param_empty_name() {
  // expected-error @+1 {{needs a non-empty state_dict key}}
  %w = kiln.param "" parameter : tensor<4xf32>
  return
}

// -----

func.func @param_unknown_role() {
  // expected-error @+2 {{expected ::kiln::ParamRole to be one of: parameter, buffer}}
  // expected-error @+1 {{failed to parse Kiln_ParamRoleAttr parameter 'value'}}
  %w = kiln.param "w" weight : tensor<4xf32>
  return
}

// -----

func.func @conv_channel_mismatch(%x: tensor<1x3x8x8xf32>, %w: tensor<16x4x3x3xf32>) {
  // expected-error @+2 {{conv2d: the weight 'tensor<16x4x3x3xf32>' with groups = 1 expects 4 input channels, but the input has 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x4x3x3xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_groups_do_not_divide(%x: tensor<1x6x8x8xf32>, %w: tensor<16x2x3x3xf32>) {
  // expected-error @+2 {{conv2d: 6 input channels are not divisible by groups = 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 4 : (tensor<1x6x8x8xf32>, tensor<16x2x3x3xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_out_channels_not_divisible(%x: tensor<1x8x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error @+2 {{conv2d: 6 output channels are not divisible by groups = 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 4 : (tensor<1x8x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_zero_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>) {
  // expected-error @+2 {{'stride' must be at least 1, got [0, 1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [0, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_negative_padding(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>) {
  // expected-error @+2 {{'padding' must be at least 0, got [-1, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [-1, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_pair_size(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>) {
  // expected-error @+2 {{'dilation' must have 2 elements, got [1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_kernel_too_large(%x: tensor<1x3x4x4xf32>, %w: tensor<16x3x7x7xf32>) {
  // expected-error @+2 {{conv2d: the 7x7 kernel (dilation [1, 1]) does not fit the 4x4 input padded by [1, 1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x3x4x4xf32>, tensor<16x3x7x7xf32>) -> tensor<1x16x1x1xf32>
  return
}

// -----

func.func @conv_bias_size(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{conv2d bias must have 16 elements, got 'tensor<8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w bias %b stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>, tensor<8xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<3x8x8xf32>, %w: tensor<16x3x3x3xf32>) {
  // expected-error @+2 {{conv2d input must have rank 4, got 'tensor<3x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_wrong_result(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x16x6x6xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @batch_norm_stat_size(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>, %m: tensor<4xf32>) {
  // expected-error @+1 {{batch_norm running_mean must have 8 elements, got 'tensor<4xf32>'}}
  %y = kiln.batch_norm %x, %s, %s, %m, %s epsilon 1.0e-05 : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4xf32>, tensor<8xf32>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{batch_norm input must be N×C, N×C×L or N×C×H×W, got 'tensor<8xf32>'}}
  %y = kiln.batch_norm %x, %s, %s, %s, %s epsilon 1.0e-05 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @batch_norm_negative_epsilon(%x: tensor<2x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{batch_norm: epsilon must be non-negative}}
  %y = kiln.batch_norm %x, %s, %s, %s, %s epsilon -1.0 : tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @linear_features(%x: tensor<1x100xf32>, %w: tensor<10x300xf32>) {
  // expected-error @+2 {{linear: the weight 'tensor<10x300xf32>' expects 300 input features, but the input 'tensor<1x100xf32>' has 100}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.linear %x, %w : (tensor<1x100xf32>, tensor<10x300xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<1x300xf32>, %w: tensor<10x300xf32>, %b: tensor<300xf32>) {
  // expected-error @+2 {{linear bias must have 10 elements, got 'tensor<300xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.linear %x, %w bias %b : (tensor<1x300xf32>, tensor<10x300xf32>, tensor<300xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @unary_type_change(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "kiln.relu"(%x) : (tensor<1x8xf32>) -> tensor<1x4xf32>
  return
}

// -----

// Tests that every elementwise activation keeps its input's type, one op at a time.
func.func @relu6_type_change(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "kiln.relu6"(%x) : (tensor<1x8xf32>) -> tensor<1x8xf16>
  return
}

// -----

func.func @sigmoid_type_change(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "kiln.sigmoid"(%x) : (tensor<2x8xf32>) -> tensor<8x2xf32>
  return
}

// -----

func.func @hard_sigmoid_type_change(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "kiln.hard_sigmoid"(%x) : (tensor<1x8x4x4xf32>) -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @hard_swish_type_change(%x: tensor<1x8xbf16>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "kiln.hard_swish"(%x) : (tensor<1x8xbf16>) -> tensor<1x8xf32>
  return
}

// -----

func.func @identity_type_change(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "kiln.identity"(%x) : (tensor<1x8xf32>) -> tensor<1x9xf32>
  return
}

// -----

// Tests that kiln tensors hold floating-point elements only.
func.func @relu_integer(%x: tensor<1x8xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %y = kiln.relu %x : tensor<1x8xi32>
  return
}

// -----

func.func @dropout_p(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{dropout: p must be in [0, 1), got 1.5}}
  %y = kiln.dropout %x p 1.5 : tensor<1x8xf32>
  return
}

// -----

func.func @broadcast_mismatch(%x: tensor<1x8x4x4xf32>, %y: tensor<1x6x1x1xf32>) {
  // expected-error @+2 {{add: shapes 'tensor<1x8x4x4xf32>' and 'tensor<1x6x1x1xf32>' do not broadcast (dimension 1: 8 vs 6)}}
  // expected-error @+1 {{failed to infer returned types}}
  %z = kiln.add %x, %y : tensor<1x8x4x4xf32>, tensor<1x6x1x1xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @mul_element_types(%x: tensor<4xf32>, %y: tensor<4xf16>) {
  // expected-error @+2 {{mul: element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %z = kiln.mul %x, %y : tensor<4xf32>, tensor<4xf16> -> tensor<4xf32>
  return
}

// -----

func.func @pool_padding_too_large(%x: tensor<1x8x8x8xf32>) {
  // expected-error @+2 {{max_pool2d: padding [2, 2] must be at most half the kernel [3, 3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.max_pool2d %x kernel [3, 3] stride [1, 1] padding [2, 2] dilation [1, 1] : tensor<1x8x8x8xf32> -> tensor<1x8x10x10xf32>
  return
}

// -----

func.func @pool_kernel_too_large(%x: tensor<1x8x2x2xf32>) {
  // expected-error @+2 {{avg_pool2d: kernel [3, 3] does not fit the 2x2 input padded by [0, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.avg_pool2d %x kernel [3, 3] stride [1, 1] padding [0, 0] : tensor<1x8x2x2xf32> -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @pool_zero_kernel(%x: tensor<1x8x8x8xf32>) {
  // expected-error @+2 {{'kernel' must be at least 1, got [0, 3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.max_pool2d %x kernel [0, 3] stride [1, 1] padding [0, 0] dilation [1, 1] : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @adaptive_output_size(%x: tensor<1x8x8x8xf32>) {
  // expected-error @+2 {{'output_size' must be at least 1, got [0, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.adaptive_avg_pool2d %x output_size [0, 0] : tensor<1x8x8x8xf32> -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @mean_repeated_dim(%x: tensor<1x8x8x8xf32>) {
  // expected-error @+2 {{mean: dimension 2 appears twice in 'dims'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.mean %x dims [2, 2] : tensor<1x8x8x8xf32> -> tensor<1x8x8xf32>
  return
}

// -----

func.func @mean_dim_range(%x: tensor<1x8x8x8xf32>) {
  // expected-error @+2 {{'dims' = 4 is out of range for a tensor of rank 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.mean %x dims [4] : tensor<1x8x8x8xf32> -> tensor<1x8x8xf32>
  return
}

// -----

func.func @flatten_order(%x: tensor<1x8x8x8xf32>) {
  // expected-error @+2 {{flatten: start_dim 3 is after end_dim 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.flatten %x start_dim 3 end_dim 1 : tensor<1x8x8x8xf32> -> tensor<1x512xf32>
  return
}

// -----

func.func @reshape_numel(%x: tensor<1x50x5x5xf32>) {
  // expected-error @+2 {{reshape: shape [1, 1000] is invalid for 1250 elements}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.reshape %x shape [1, 1000] : tensor<1x50x5x5xf32> -> tensor<1x1000xf32>
  return
}

// -----

func.func @reshape_two_inferred(%x: tensor<1x50x5x5xf32>) {
  // expected-error @+2 {{reshape: more than one -1 in [-1, -1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.reshape %x shape [-1, -1] : tensor<1x50x5x5xf32> -> tensor<1x1250xf32>
  return
}

// -----

func.func @transpose_dims(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{'dims' = 2 is out of range for a tensor of rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.transpose %x dims [0, 2] : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----

func.func @concat_mismatch(%x: tensor<1x8x4x4xf32>, %y: tensor<1x8x5x4xf32>) {
  // expected-error @+2 {{concat: input 1 'tensor<1x8x5x4xf32>' differs from input 0 'tensor<1x8x4x4xf32>' in dimension 2 (only dimension 1 may differ)}}
  // expected-error @+1 {{failed to infer returned types}}
  %z = kiln.concat %x, %y dim 1 : (tensor<1x8x4x4xf32>, tensor<1x8x5x4xf32>) -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @concat_rank(%x: tensor<1x8x4x4xf32>, %y: tensor<1x8x4xf32>) {
  // expected-error @+2 {{concat input must have rank 4, got 'tensor<1x8x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %z = kiln.concat %x, %y dim 1 : (tensor<1x8x4x4xf32>, tensor<1x8x4xf32>) -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @concat_dim(%x: tensor<1x8xf32>) {
  // expected-error @+2 {{'dim' = 2 is out of range for a tensor of rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %z = kiln.concat %x dim 2 : (tensor<1x8xf32>) -> tensor<1x8xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+2 {{slice: range [4, 12) is empty or outside dimension 1 of size 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.slice %x dim 1 start 4 end 12 step 1 : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+2 {{slice: step must be positive, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.slice %x dim 1 start 0 end 8 step 0 : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @split_sum(%x: tensor<1x5x4x4xf32>) {
  // expected-error @+2 {{split: sizes [2, 2] add up to 4 but dimension 1 has size 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %y:2 = kiln.split %x dim 1 sizes [2, 2] : tensor<1x5x4x4xf32> -> tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
  return
}

// -----

func.func @split_piece(%x: tensor<1x5x4x4xf32>) {
  // expected-error @+2 {{split: piece sizes must be positive, got [5, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y:2 = kiln.split %x dim 1 sizes [5, 0] : tensor<1x5x4x4xf32> -> tensor<1x5x4x4xf32>, tensor<1x0x4x4xf32>
  return
}

// -----

func.func @chunk_count(%x: tensor<1x5x4x4xf32>) {
  // expected-error @+2 {{chunk: chunks must be positive, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.chunk %x dim 1 chunks 0 : tensor<1x5x4x4xf32> -> tensor<1x5x4x4xf32>
  return
}

// -----

func.func @chunk_result_count(%x: tensor<1x5x4x4xf32>) {
  // torch.chunk(x, 4) of 5 gives three pieces, not four.
  // expected-error @+2 {{inferred type(s)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y:4 = kiln.chunk %x dim 1 chunks 4 : tensor<1x5x4x4xf32> -> tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x0x4x4xf32>
  return
}

// -----

func.func @shuffle_groups(%x: tensor<1x6x4x4xf32>) {
  // expected-error @+1 {{channel_shuffle: 6 channels are not divisible into groups = 4}}
  %y = kiln.channel_shuffle %x groups 4 : tensor<1x6x4x4xf32>
  return
}

// -----

func.func @layer_attr_path(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{layer path 'a..b' is not a dotted PyTorch module path}}
  %y = kiln.relu %x {kiln.layer = #kiln.layer<"a..b", "ReLU">} : tensor<1x8xf32>
  return
}

// -----

func.func @layer_attr_kind(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.layer' must be a #kiln.layer attribute}}
  %y = kiln.relu %x {kiln.layer = "relu"} : tensor<1x8xf32>
  return
}

// -----

// expected-error @+1 {{'kiln.layer' is only valid on kiln ops}}
func.func @layer_attr_on_func() attributes {kiln.layer = #kiln.layer<"f", "F">} {
  return
}

// -----

func.func @conv_residual_type(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>, %r: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{conv2d: residual 'tensor<1x16x8x8xf32>' must have the result's type 'tensor<1x16x6x6xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w residual %r stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @conv_scale_shape(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>, %g: tensor<1x16xf32>) {
  // expected-error @+2 {{conv2d: scale 'tensor<1x16xf32>' must be N×C of the input 'tensor<1x3x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.conv2d %x, %w scale %g stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>, tensor<1x16xf32>) -> tensor<1x16x6x6xf32>
  return
}

// -----

func.func @linear_pool_rank(%x: tensor<1x8xf32>, %w: tensor<10x8xf32>) {
  // expected-error @+2 {{linear with pool takes an N×C×H×W input, got 'tensor<1x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.linear %x, %w pool : (tensor<1x8xf32>, tensor<10x8xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @se_gate_weights(%x: tensor<1x8x4x4xf32>, %r: tensor<2x4x1x1xf32>, %rb: tensor<2xf32>, %e: tensor<8x2x1x1xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{se_gate: weights 'tensor<2x4x1x1xf32>' and 'tensor<8x2x1x1xf32>' must be R×C×1×1 and C×R×1×1 for 8 channels}}
  // expected-error @+1 {{failed to infer returned types}}
  %g = kiln.se_gate %x, %r, %rb, %e, %b activation relu gate sigmoid : (tensor<1x8x4x4xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>, tensor<8x2x1x1xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  return
}

// -----

func.func @fold_weight_rows(%w: tensor<8x4x3x3xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{fold_bn_weight gamma must have 8 elements, got 'tensor<4xf32>'}}
  %0 = kiln.fold_bn_weight %w, %s, %s epsilon 1.0e-05 : tensor<8x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @fold_bias_size(%s: tensor<8xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{fold_bn_bias mean must have 8 elements, got 'tensor<4xf32>'}}
  %0 = kiln.fold_bn_bias %s, %s, %t, %s epsilon 1.0e-05 : tensor<8xf32>, tensor<8xf32>, tensor<4xf32>, tensor<8xf32>
  return
}

// -----

func.func @convert_rank(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{convert_layout input must have rank 4, got 'tensor<2x8xf32>'}}
  %0 = kiln.convert_layout %x to nhwc : tensor<2x8xf32>
  return
}

// -----

func.func @layout_on_vector(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'kiln.layout' must be a #kiln.layout on an op with one 4-D result}}
  %0 = kiln.relu %x {kiln.layout = #kiln<layout nhwc>} : tensor<2x8xf32>
  return
}

// -----

func.func @in_place_on_add(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'kiln.in_place' marks a kiln.concat or a kiln.channel_shuffle}}
  %0 = kiln.add %x, %x {kiln.in_place} : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  return
}

// -----

// Tests that an in-place channel shuffle needs the in-place concat that
// writes it.
func.func @in_place_shuffle_without_concat(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+1 {{'kiln.in_place' on a kiln.channel_shuffle needs an in-place kiln.concat (channels, one input per group, no other reader) as its input}}
  %y = kiln.channel_shuffle %x groups 2 {kiln.in_place} : tensor<1x8x4x4xf32>
  return
}

// -----

func.func @in_place_shuffle_of_copied_concat(%x: tensor<1x4x4x4xf32>) {
  %c = kiln.concat %x, %x dim 1 : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x8x4x4xf32>
  // expected-error @+1 {{'kiln.in_place' on a kiln.channel_shuffle needs an in-place kiln.concat (channels, one input per group, no other reader) as its input}}
  %y = kiln.channel_shuffle %c groups 2 {kiln.in_place} : tensor<1x8x4x4xf32>
  return
}

// -----

func.func @in_place_shuffle_other_groups(%x: tensor<1x4x4x4xf32>) {
  %c = kiln.concat %x, %x dim 1 {kiln.in_place} : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x8x4x4xf32>
  // expected-error @+1 {{'kiln.in_place' on a kiln.channel_shuffle needs an in-place kiln.concat (channels, one input per group, no other reader) as its input}}
  %y = kiln.channel_shuffle %c groups 4 {kiln.in_place} : tensor<1x8x4x4xf32>
  return
}

// -----

func.func @sub_no_broadcast(%x: tensor<1x8x4x4xf32>, %y: tensor<1x3x1x1xf32>) {
  // expected-error @+2 {{sub: shapes 'tensor<1x8x4x4xf32>' and 'tensor<1x3x1x1xf32>' do not broadcast (dimension 1: 8 vs 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %z = kiln.sub %x, %y : tensor<1x8x4x4xf32>, tensor<1x3x1x1xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @winograd_tile(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x3x3xf32>) {
  // expected-error @+1 {{'kiln.winograd' must be the integer 2 or 4 on a kiln.conv2d}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {kiln.winograd = 6 : i64}
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @leaky_relu_nan(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.leaky_relu' op needs a finite parameter, got nan}}
  %y = kiln.leaky_relu %x negative_slope 0x7FF8000000000000 : tensor<1x8xf32>
  return
}

// -----

func.func @winograd_not_conv(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'kiln.winograd' must be the integer 2 or 4 on a kiln.conv2d}}
  %0 = kiln.relu %x {kiln.winograd = 2 : i64} : tensor<2x8xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+2 {{'pads' must be at least 0, got [0, -1, 0, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.pad %x pads [0, -1, 0, 0] value 0.0 : tensor<1x8x4x4xf32> -> tensor<1x8x4x3xf32>
  return
}

// -----

func.func @winograd_strided(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x3x3xf32>) {
  // expected-error @+1 {{'kiln.winograd' needs a dense 3x3 convolution with stride 1, no dilation and no input scale}}
  %y = kiln.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 {kiln.winograd = 2 : i64}
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @pad_not_4d(%x: tensor<8x4xf32>) {
  // expected-error @+2 {{pad input must have rank 4, got 'tensor<8x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.pad %x pads [0, 0, 0, 0] value 0.0 : tensor<8x4xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @winograd_grouped(%x: tensor<1x8x8x8xf32>, %w: tensor<8x4x3x3xf32>) {
  // expected-error @+1 {{'kiln.winograd' needs a dense 3x3 convolution with stride 1, no dilation and no input scale}}
  %y = kiln.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 2 {kiln.winograd = 4 : i64}
      : (tensor<1x8x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @clamp_unbounded(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.clamp' op needs a 'min' or a 'max' bound}}
  %y = kiln.clamp %x : tensor<1x8xf32>
  return
}

// -----

func.func @chain_not_between_pointwise(%x: tensor<1x16x8x8xf32>, %w: tensor<16x1x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'kiln.chain' marks a depthwise kiln.conv2d between two 1x1 ones}}
  %y = kiln.conv2d %x, %w bias %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 16 {kiln.chain}
      : (tensor<1x16x8x8xf32>, tensor<16x1x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @clamp_inverted(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.clamp' op needs min <= max, got min 2.000000e+00 and max 1.000000e+00}}
  %y = kiln.clamp %x min 2.0 max 1.0 : tensor<1x8xf32>
  return
}

// -----

func.func @clamp_infinite(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.clamp' op needs finite bounds (leave an unbounded side out)}}
  %y = kiln.clamp %x min 0x7FF0000000000000 : tensor<1x8xf32>
  return
}

// -----

func.func @softmax_dim(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.softmax' op 'dim' = 2 is out of range for a tensor of rank 2}}
  %y = kiln.softmax %x dim 2 : tensor<1x8xf32>
  return
}

// -----

func.func @upsample_zero(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+2 {{'scale' must be at least 1, got [0, 2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.upsample_nearest %x scale [0, 2] : tensor<1x8x4x4xf32> -> tensor<1x8x0x8xf32>
  return
}

// -----

func.func @upsample_not_4d(%x: tensor<8x4xf32>) {
  // expected-error @+2 {{upsample_nearest input must have rank 4, got 'tensor<8x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = kiln.upsample_nearest %x scale [2, 2] : tensor<8x4xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @softmax_negative_dim(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.softmax' op 'dim' = -1 is out of range for a tensor of rank 2}}
  %y = kiln.softmax %x dim -1 : tensor<1x8xf32>
  return
}
