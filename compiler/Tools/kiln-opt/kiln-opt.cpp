//===- kiln-opt.cpp - kiln's mlir-opt --------------------------------------===//
//
// This file implements kiln-opt: MlirOptMain with the kiln dialect, the
// upstream dialects kiln IR uses, and kiln's passes (the graph passes and the
// CPU and CUDA targets'). The lit tests drive it.
// Only what kiln needs is registered (MLIR's InitAll*.h is slow to build).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToKernel/Passes.h"
#include "compiler/Graph/Transforms/Passes.h"
#include "dialects/Kernel/IR/KernelDialect.h"
#include "compiler/Target/Cpu/Transforms/Passes.h"
#include "compiler/Target/Cuda/Transforms/Passes.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<kiln::KilnDialect, kiln::kernel::KernelDialect,
                  mlir::func::FuncDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  kiln::registerKilnPasses();
  kiln::registerKilnConversionPasses();
  kiln::registerKilnCudaPasses();
  kiln::registerKilnCpuPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kiln optimizer driver\n", registry));
}
