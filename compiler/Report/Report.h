//===- Report.h - torchsummaryX-style model report -------------*- C++ -*-===//
//
// Declares `kiln report`: per PyTorch module call, its name, kernel shape,
// output shape, parameters and Mult-Adds, with the conventions of
// torchsummaryX (see DESIGN.md §1.4), computed from kiln IR.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_REPORT_REPORT_H
#define KILN_COMPILER_REPORT_REPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::report {

/// One module call.
struct Row {
  /// PyTorch module path ("layer1.0.conv1").
  std::string name;
  /// torchsummaryX's row key ("4_layer1.0.Conv2d_conv1").
  std::string key;
  std::string className;
  /// Shape of the module's `weight` with dims 0 and 1 swapped, if it has one.
  std::optional<std::vector<int64_t>> kernelShape;
  std::vector<int64_t> outputShape;
  /// Trainable parameters and Mult-Adds; nullopt prints "-" (no parameters).
  std::optional<int64_t> params, multAdds;
};

struct Summary {
  std::string model;
  std::vector<int64_t> inputShape;
  std::vector<Row> rows;
  int64_t totalParams = 0, totalMultAdds = 0;
};

/// Summarizes the model function of |module| (the one with `kiln.model`).
/// Emits an error and returns nullopt when there is none.
std::optional<Summary> summarize(mlir::ModuleOp module);

void printTable(const Summary &summary, llvm::raw_ostream &os);
void printJson(const Summary &summary, llvm::raw_ostream &os);
void printCsv(const Summary &summary, llvm::raw_ostream &os);
/// Graphviz of the model's dataflow, one node per op (weights omitted).
void printDot(mlir::ModuleOp module, llvm::raw_ostream &os);

/// One kernel of planned IR (kiln report --after-fusion).
struct KernelRow {
  std::string name, kind, members;
  int64_t flops = 0;
  /// Elements read and written; bytes at 4 (CPU) or 2 (H100) per element.
  int64_t elements = 0;
  double h100Micros = 0, cpuMicros = 0;
};

/// The CUDA code of one precision (kiln report --after-fusion).
struct CudaPrecisionRow {
  std::string precision;
  /// Kernel launches per forward pass (one CUDA graph replay).
  int launches = 0;
  /// Device memory: activations (arena and staging), split-K workspace.
  int64_t arenaBytes = 0, workspaceBytes = 0;
};

struct KernelSummary {
  std::string model;
  std::vector<KernelRow> kernels;
  int64_t totalFlops = 0, arenaBytes = 0, liveBytes = 0;
  double h100Micros = 0, cpuMicros = 0;
  /// Filled by the caller, which can generate CUDA code; empty otherwise.
  std::vector<CudaPrecisionRow> cuda;
};

/// Summarizes the kernels of planned IR; emits an error on other IR.
std::optional<KernelSummary> summarizeKernels(mlir::ModuleOp module);
void printKernelTable(const KernelSummary &summary, llvm::raw_ostream &os);
void printKernelJson(const KernelSummary &summary, llvm::raw_ostream &os);

} // namespace kiln::report

#endif // KILN_COMPILER_REPORT_REPORT_H
