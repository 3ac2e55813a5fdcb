//===- KernelAttrs.td - kernel dialect attributes and enums -*- tablegen -*-===//
//
// Buffers, tile schedules and the enums of the kernel dialect.
//
//===----------------------------------------------------------------------===//

#ifndef KERNEL_ATTRS_TD
#define KERNEL_ATTRS_TD

include "dialects/Kernel/IR/KernelBase.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Kernel_MemorySpace : I32EnumAttr<"MemorySpace",
    "Where a buffer lives", [
      I32EnumAttrCase<"arena", 0>,
      I32EnumAttrCase<"input", 1>,
      I32EnumAttrCase<"output", 2>
    ]> {
  let cppNamespace = "::kiln::kernel";
  let genSpecializedAttr = 0;
}

def Kernel_ElementKind : I32EnumAttr<"ElementKind",
    "The element type of a buffer: fp32, or the target's activation type "
    "(the precision's on a GPU, fp32 on the CPU)", [
      I32EnumAttrCase<"f32", 0>,
      I32EnumAttrCase<"act", 1>
    ]> {
  let cppNamespace = "::kiln::kernel";
  let genSpecializedAttr = 0;
}

def Kernel_ElementwiseFn : I32EnumAttr<"ElementwiseFn",
    "What an elementwise kernel stores", [
      I32EnumAttrCase<"zero", 0>,
      I32EnumAttrCase<"copy", 1>,
      I32EnumAttrCase<"add", 2>,
      I32EnumAttrCase<"mul", 3>,
      I32EnumAttrCase<"activation", 4>,
      I32EnumAttrCase<"sub", 5>,
      I32EnumAttrCase<"div", 6>,
      I32EnumAttrCase<"tanh", 7>,
      I32EnumAttrCase<"leaky_relu", 8>,
      I32EnumAttrCase<"elu", 9>,
      I32EnumAttrCase<"fill", 10>,
      I32EnumAttrCase<"clamp", 11>
    ]> {
  let cppNamespace = "::kiln::kernel";
  let genSpecializedAttr = 0;
}

def Kernel_ElementwiseFnAttr : EnumAttr<Kernel_Dialect, Kernel_ElementwiseFn, "fn"> {
  let assemblyFormat = "$value";
}

def Kernel_PoolKind : I32EnumAttr<"PoolKind", "A pooling reduction", [
      I32EnumAttrCase<"max", 0>,
      I32EnumAttrCase<"avg", 1>
    ]> {
  let cppNamespace = "::kiln::kernel";
  let genSpecializedAttr = 0;
}

def Kernel_PoolKindAttr : EnumAttr<Kernel_Dialect, Kernel_PoolKind, "pool"> {
  let assemblyFormat = "$value";
}

def Kernel_Precision : I32EnumAttr<"Precision",
    "The arithmetic of a GPU target's kernels", [
      I32EnumAttrCase<"fp32", 0>,
      I32EnumAttrCase<"tf32", 1>,
      I32EnumAttrCase<"fp16", 2>,
      I32EnumAttrCase<"bf16", 3>
    ]> {
  let cppNamespace = "::kiln::kernel";
  let genSpecializedAttr = 0;
}

def Kernel_PrecisionAttr : EnumAttr<Kernel_Dialect, Kernel_Precision, "precision"> {
  let assemblyFormat = "$value";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Kernel_BufferAttr : Kernel_Attr<"Buffer", "buffer"> {
  let summary = "Where a kernel reads or writes a tensor.";
  let description = [{
    `#kernel.buffer<arena[1024, 64], act, [1, 64, 56, 56], [200704, 1, 3584, 64]>`
    is the tensor of logical (PyTorch, NCHW) shape `[1, 64, 56, 56]` whose
    element `[n, c, h, w]` is at element `64 + n * 200704 + c + h * 3584 +
    w * 64` of the arena slot at byte 1024, in the activation type: here an
    NHWC channel slice, 64 channels into a wider buffer. The memory space
    is the arena, the model's `input` or its `output` (those two at byte
    0). A stride of 0 broadcasts.
  }];
  let parameters = (ins EnumParameter<Kernel_MemorySpace>:$space,
                        "int64_t":$byteOffset,
                        "int64_t":$offset,
                        EnumParameter<Kernel_ElementKind>:$element,
                        ArrayRefParameter<"int64_t">:$shape,
                        ArrayRefParameter<"int64_t">:$strides);
  let assemblyFormat = [{
    `<` $space `[` $byteOffset `,` $offset `]` `,` $element `,`
        `[` $shape `]` `,` `[` $strides `]` `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getShape().size(); }
    int64_t getNumElements() const;
    /// Whether the buffer has |strides| on every dimension of more than
    /// one element (the others' strides never matter).
    bool hasStrides(::llvm::ArrayRef<int64_t> strides) const;
    /// Whether it is dense in PyTorch's row-major order.
    bool isRowMajor() const;
    /// If 4-D NHWC with channels contiguous and pixels P >= C elements
    /// apart (a channel slice of a wider buffer when P > C), P.
    std::optional<int64_t> getPixelStride() const;
    /// If 4-D NHWC with pixels P elements apart and channels S apart (the
    /// groups of a shuffled concat's buffer), the pair {P, S}.
    std::optional<std::pair<int64_t, int64_t>> getNhwcOutput() const;
  }];
}

def Kernel_ScheduleAttr : Kernel_Attr<"Schedule", "schedule"> {
  let summary = "The GPU tile schedule of an implicit-GEMM kernel.";
  let description = [{
    `#kernel.schedule<bm = 128, bn = 64, bk = 32, warps_m = 2, warps_n = 2,
    stages = 3, split_k = 1>`: a block computes a bm x bn output tile in
    steps of bk, with warps_m x warps_n warps, a `stages`-deep cp.async
    pipeline and the reduction split split_k ways (kiln/cuda/schedule.h).
    With `warpgroups = N` (N >= 1; omitted when 0) it is the sm_90a kernel:
    a producer warpgroup and N consumer warpgroups, a TMA/mbarrier pipeline
    and wgmma.
  }];
  let parameters = (ins "int32_t":$bm, "int32_t":$bn, "int32_t":$bk,
                        "int32_t":$warps_m, "int32_t":$warps_n,
                        "int32_t":$stages, "int32_t":$split_k,
                        DefaultValuedParameter<"int32_t", "0">:$warpgroups);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // KERNEL_ATTRS_TD
