//===- KernelBase.td - kernel dialect definition -----------*- tablegen -*-===//
//
// The `kernel` dialect is kiln's kernel-level IR: what a planned model runs,
// one op per kernel, in program order, on memory. The graph-to-kernel
// lowering (compiler/Conversion/GraphToKernel) produces it from planned
// kiln IR for one target; the code generators (compiler/Target) print it.
//
//===----------------------------------------------------------------------===//

#ifndef KERNEL_BASE_TD
#define KERNEL_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Kernel_Dialect : Dialect {
  let name = "kernel";
  let summary = "The kernels of a planned model, on buffers of one arena.";
  let description = [{
    A model at kernel level is a `func.func` whose arguments are the input
    and the output (memrefs of the model's shapes, PyTorch order) and whose
    body is, in order: the weight ops of the graph (`kiln.param` and the
    batch-norm folds, evaluated once by the prepare step), then one op per
    kernel, then `func.return`. The function carries `kiln.model`,
    `kiln.arena_bytes` (the arena every buffer lives in, including any
    staging the target added) and, for a GPU target, `kernel.precision`.

    Kernel ops have no results: each reads and writes buffers, described by
    `#kernel.buffer` attributes (where the data is, its element type, its
    logical PyTorch shape and a stride per dimension, so views, channel
    slices and channel-stepped shuffle outputs are plain buffers). Their
    weights are operands: values of the graph's weight ops. The op names the
    kernel's kind; its epilogue (bias operand, residual buffer, activation),
    its GPU tile schedule and its input scale are typed attributes. A
    kernel that fused several graph ops has a `FusedLoc` of theirs.
  }];
  let cppNamespace = "::kiln::kernel";
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::func::FuncDialect"];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The function attribute naming the GPU precision (#kernel.precision).
    static constexpr ::llvm::StringLiteral getPrecisionAttrName() {
      return ::llvm::StringLiteral("kernel.precision");
    }
  private:
    void registerAttributes();
  public:
  }];
}

class Kernel_Op<string mnemonic, list<Trait> traits = []> :
    Op<Kernel_Dialect, mnemonic, traits>;

class Kernel_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Kernel_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // KERNEL_BASE_TD
