//===- KilnBase.td - kiln dialect definition ---------------*- tablegen -*-===//
//
// The `kiln` dialect is kiln's tensor-level model graph: one op per PyTorch
// module call or functional op of the network, on ranked f32 tensors in the
// PyTorch (NCHW) layout. The YAML frontend produces it; graph passes fold and
// fuse it; the report, the reference interpreter and the code generators
// read it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_BASE_TD
#define KILN_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "Tensor-level graph of a convolutional network.";
  let description = [{
    Ops mirror PyTorch modules and functions (`conv2d`, `batch_norm`,
    `linear`, activations, pooling, shape ops). Operands and results are
    statically shaped ranked tensors; every op infers its result types
    (`InferTypeOpInterface`) and checks its attributes in a verifier, so a
    model that imports is well formed.

    Invariants:
    * Weights are values produced by `kiln.param`, named by their PyTorch
      `state_dict()` key; their data never appears in the IR.
    * An op that corresponds to a PyTorch module call carries the
      `kiln.layer` attribute, `#kiln.layer<"layer1.0.conv1", "Conv2d">`: the
      module path and class, which the report prints as torchsummaryX does.
    * Locations are the YAML nodes the ops came from.
  }];
  let cppNamespace = "::kiln";
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the discardable attribute naming the PyTorch module of an op.
    static constexpr ::llvm::StringLiteral getLayerAttrName() {
      return ::llvm::StringLiteral("kiln.layer");
    }
    /// Name of the function attribute holding the model name.
    static constexpr ::llvm::StringLiteral getModelAttrName() {
      return ::llvm::StringLiteral("kiln.model");
    }
    /// Memory order of an op's 4-D result (choose-layout).
    static constexpr ::llvm::StringLiteral getLayoutAttrName() {
      return ::llvm::StringLiteral("kiln.layout");
    }
    /// Arena offset in bytes of an op's result buffer (plan-memory).
    static constexpr ::llvm::StringLiteral getOffsetAttrName() {
      return ::llvm::StringLiteral("kiln.offset");
    }
    /// On a concat whose inputs are produced in its buffer (eliminate-concat).
    static constexpr ::llvm::StringLiteral getInPlaceAttrName() {
      return ::llvm::StringLiteral("kiln.in_place");
    }
    /// Arena offset in bytes of an op's temporary memory (plan-memory).
    static constexpr ::llvm::StringLiteral getScratchAttrName() {
      return ::llvm::StringLiteral("kiln.scratch");
    }
    /// The layers a fused op stands for (fusion passes; --after-fusion).
    static constexpr ::llvm::StringLiteral getFusedAttrName() {
      return ::llvm::StringLiteral("kiln.fused");
    }
    /// Function attributes of the memory plan: the arena size and the
    /// largest sum of simultaneously live buffers (a lower bound of it).
    static constexpr ::llvm::StringLiteral getArenaBytesAttrName() {
      return ::llvm::StringLiteral("kiln.arena_bytes");
    }
    static constexpr ::llvm::StringLiteral getLiveBytesAttrName() {
      return ::llvm::StringLiteral("kiln.live_bytes");
    }
    /// The GPU tile schedules of a convolution or linear layer that runs as
    /// an implicit GEMM (choose-schedule): of the mma.sync (FMA in fp32)
    /// kernel, array<i32: bm, bn, bk, warps_m, warps_n, stages, split_k>;
    /// of the sm_90a (wgmma) kernel, the same and warpgroups (>= 1), where
    /// the executable has an sm_90a variant and the kernel runs the layer;
    /// and the function's precision.
    static constexpr ::llvm::StringLiteral getScheduleAttrName() {
      return ::llvm::StringLiteral("kiln.schedule");
    }
    static constexpr ::llvm::StringLiteral getScheduleSm90aAttrName() {
      return ::llvm::StringLiteral("kiln.schedule_sm90a");
    }
    static constexpr ::llvm::StringLiteral getPrecisionAttrName() {
      return ::llvm::StringLiteral("kiln.precision");
    }
    /// The Winograd output tile m (2 or 4) a CPU convolution runs with,
    /// F(m x m, 3 x 3) (choose-winograd); the CUDA target ignores it.
    static constexpr ::llvm::StringLiteral getWinogradAttrName() {
      return ::llvm::StringLiteral("kiln.winograd");
    }
    /// On a depthwise convolution that the CPU runs as one kernel with the
    /// 1x1 convolutions before and after it (fuse-conv-chains,
    /// markedConvChainOf); the CUDA target ignores it.
    static constexpr ::llvm::StringLiteral getChainAttrName() {
      return ::llvm::StringLiteral("kiln.chain");
    }
    /// On the model function (mark-batch): every activation's first
    /// dimension is the batch of this many samples, which no op mixes, so
    /// the kernels may compute any first samples of it.
    static constexpr ::llvm::StringLiteral getBatchAttrName() {
      return ::llvm::StringLiteral("kiln.batch");
    }
  private:
    void registerAttributes();
  public:
  }];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []> :
    Op<Kiln_Dialect, mnemonic, traits>;

class Kiln_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Kiln_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

/// Tensors the graph computes on.
def Kiln_Tensor : RankedTensorOf<[F32, F16, BF16]>;

#endif // KILN_BASE_TD
