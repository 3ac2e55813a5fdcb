//===- kiln-translate.cpp - kernel-level IR to generated code -------------===//
//
// mlir-translate for kiln: reads a module whose model function is at kernel
// level (the kernel dialect, as `kiln compile --emit=kernels` prints it)
// and prints the code a target generates for it:
//   --kiln-to-cpp    the CPU's C++ (one translation unit unless --jobs)
//   --kiln-to-cuda   the CUDA C++ (the function needs kernel.precision)
// so that each kernel's emitted code is tested from a small hand-written
// .mlir file (test/Target/{Cpu,Cuda}).
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Cpu/CpuEmitter.h"
#include "compiler/Target/Cuda/CudaEmitter.h"
#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"

using namespace mlir;

static llvm::cl::opt<unsigned>
    jobs("jobs", llvm::cl::desc("--kiln-to-cpp: the most translation units "
                                "the kernels are spread over"),
         llvm::cl::init(1));

namespace {

/// The model function of |module| and its params, or an error.
FailureOr<func::FuncOp> modelOf(ModuleOp module, kiln::ModelParams &params) {
  func::FuncOp func = kiln::findModelFunc(module);
  if (!func)
    return module.emitError("no function carries 'kiln.model'");
  if (func.getNumArguments() != 2 || func.getNumResults() != 0)
    return func.emitError("a kernel-level model function takes its input "
                          "and output as arguments and returns nothing");
  if (!kiln::collectParams(func, params))
    return failure();
  return func;
}

void registerDialects(DialectRegistry &registry) {
  registry.insert<kiln::KilnDialect, kiln::kernel::KernelDialect,
                  func::FuncDialect>();
}

} // namespace

int main(int argc, char **argv) {
  TranslateFromMLIRRegistration cpp(
      "kiln-to-cpp", "kernel-level IR to the CPU target's C++",
      [](ModuleOp module, llvm::raw_ostream &os) -> LogicalResult {
        kiln::ModelParams params;
        auto func = modelOf(module, params);
        if (failed(func))
          return failure();
        kiln::CpuEmitOptions options;
        options.jobs = jobs;
        kiln::CpuSource source;
        if (failed(kiln::emitCpuSource(*func, params, options, source)))
          return failure();
        for (const std::string &unit : source.units)
          os << unit;
        return success();
      },
      registerDialects);
  TranslateFromMLIRRegistration cuda(
      "kiln-to-cuda", "kernel-level IR to the CUDA target's CUDA C++",
      [](ModuleOp module, llvm::raw_ostream &os) -> LogicalResult {
        kiln::ModelParams params;
        auto func = modelOf(module, params);
        if (failed(func))
          return failure();
        kiln::CudaSource source;
        if (failed(kiln::emitCudaSource(*func, params, source)))
          return failure();
        os << source.unit;
        return success();
      },
      registerDialects);
  return failed(mlirTranslateMain(argc, argv, "kiln translation driver\n"));
}
