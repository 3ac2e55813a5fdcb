//===- kiln.cpp - the kiln driver ------------------------------------------===//
//
// This file implements the `kiln` command: `kiln compile`, `kiln report` and
// `kiln run` (DESIGN.md §1.1). Diagnostics go through MLIR's source manager
// handler, so every error names file:line:col and quotes the YAML line.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImportModel.h"
#include "compiler/Report/Report.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;

namespace {

cl::SubCommand compileCmd("compile", "Compile a model into an executable");
cl::SubCommand reportCmd("report",
                         "Print each layer's shapes, parameters and "
                         "Mult-Adds (torchsummaryX conventions)");

cl::OptionCategory category("kiln options");

cl::opt<std::string> modelPath(cl::Positional, cl::desc("MODEL.yaml"),
                               cl::Required, cl::sub(compileCmd),
                               cl::sub(reportCmd), cl::cat(category));
cl::opt<int64_t> batch("batch",
                       cl::desc("Batch size (replaces the model input's "
                                "first dimension)"),
                       cl::init(0), cl::sub(compileCmd), cl::sub(reportCmd),
                       cl::cat(category));

// kiln compile
enum class Emit { Mlir };
cl::opt<Emit> emit("emit", cl::desc("Stop after a stage and print it"),
                   cl::values(clEnumValN(Emit::Mlir, "mlir",
                                         "the IR imported from the YAML")),
                   cl::sub(compileCmd), cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                cl::value_desc("path"), cl::init("-"),
                                cl::sub(compileCmd), cl::cat(category));

// kiln report
enum class Format { Table, Json, Csv, Dot };
cl::opt<Format> format(
    "format", cl::desc("Report format"), cl::init(Format::Table),
    cl::values(clEnumValN(Format::Table, "table", "aligned text table"),
               clEnumValN(Format::Json, "json", "one JSON object"),
               clEnumValN(Format::Csv, "csv", "comma-separated values"),
               clEnumValN(Format::Dot, "dot", "Graphviz dataflow graph")),
    cl::sub(reportCmd), cl::cat(category));

/// Imports the model named on the command line; null after an error.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              SourceMgr &sourceMgr) {
  if (batch < 0) {
    errs() << "kiln: error: --batch must be positive, got " << batch << "\n";
    return nullptr;
  }
  kiln::ImportOptions options;
  options.batch = batch;
  return kiln::importModelFile(modelPath, context, sourceMgr, options);
}

int runCompile(mlir::MLIRContext &context, SourceMgr &sourceMgr) {
  if (!emit.getNumOccurrences()) {
    errs() << "kiln: error: code generation is not part of this build yet; "
              "use --emit=mlir\n";
    return 1;
  }
  auto module = importModel(context, sourceMgr);
  if (!module)
    return 1;
  std::string error;
  auto output = mlir::openOutputFile(outputPath, &error);
  if (!output) {
    errs() << "kiln: error: " << error << "\n";
    return 1;
  }
  module->print(output->os());
  output->keep();
  return 0;
}

int runReport(mlir::MLIRContext &context, SourceMgr &sourceMgr) {
  auto module = importModel(context, sourceMgr);
  if (!module)
    return 1;
  if (format == Format::Dot) {
    kiln::report::printDot(*module, outs());
    return 0;
  }
  std::optional<kiln::report::Summary> summary =
      kiln::report::summarize(*module);
  if (!summary)
    return 1;
  switch (format) {
  case Format::Table:
    kiln::report::printTable(*summary, outs());
    break;
  case Format::Json:
    kiln::report::printJson(*summary, outs());
    break;
  case Format::Csv:
    kiln::report::printCsv(*summary, outs());
    break;
  case Format::Dot:
    break;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kiln: ahead-of-time compiler for convolutional networks\n\n"
      "  kiln compile MODEL.yaml --emit=mlir\n"
      "  kiln report  MODEL.yaml [--batch N] [--format table|json|csv|dot]\n");

  mlir::MLIRContext context;
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, errs());

  if (compileCmd)
    return runCompile(context, sourceMgr);
  if (reportCmd)
    return runReport(context, sourceMgr);
  errs() << "kiln: error: expected a command: compile or report (see "
            "kiln --help)\n";
  return 1;
}
