//===- Passes.td - kiln conversion passes ------------------*- tablegen -*-===//
//
// The lowerings between kiln's dialects. Each pass is one file and has a
// lit test test/Conversion/<folder>/<flag>.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToKernelsPass : Pass<"kiln-lower-to-kernels", "mlir::ModuleOp"> {
  let summary = "Lowers a planned graph to the kernels one target runs.";
  let description = [{
    Reads the model function after `--kiln-plan-memory` (and, for `cuda`,
    `--kiln-choose-schedule`) and replaces it with its kernel-level form
    (the `kernel` dialect): one op per kernel in program order, each
    reading and writing `#kernel.buffer`s of the plan's arena, the model's
    input or its output. Views and in-place concats become buffers (no
    op); concat and channel-shuffle copies, layout conversions and the
    final copy into the output become `kernel.elementwise`. For `cuda`,
    the fp32 model input is converted to the 16-bit activation type where
    a kernel reads it, a 16-bit result the plan sends straight to the
    caller is staged after the arena, and an RGB stem reads its input
    zero-padded to 16 bytes a pixel (`kernel.pad_channels`); the function
    gets `kernel.precision`. Kernel ops keep the graph ops' locations.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "cpu or cuda">,
  ];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

#endif // KILN_CONVERSION_PASSES_TD
