//===- Report.cpp - torchsummaryX-style model report ----------------------===//
//
// This file implements `kiln report`. A row is an op with a `kiln.layer`
// attribute, in program order, which is PyTorch's call order. The numbers
// follow torchsummaryX:
//   * kernel shape: the module's `weight`, dims 0 and 1 swapped;
//   * params: elements of the module's trainable parameters (buffers such as
//     running statistics are not counted);
//   * Mult-Adds: numel(weight) × H_out × W_out for convolutions, numel(weight)
//     otherwise (linear: in × out, batch norm: C); per sample;
//   * a module without parameters shows "-" for both.
//
//===----------------------------------------------------------------------===//

#include "compiler/Report/Report.h"

#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::report;

namespace {

int64_t numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// torchsummaryX's name of a leaf module: the path of its parent, then
/// "<Class>_<attribute>"; a top-level module is just its attribute name.
std::string summaryName(StringRef path, StringRef className) {
  size_t dot = path.rfind('.');
  if (dot == StringRef::npos)
    return path.str();
  return (path.take_front(dot) + "." + className + "_" +
          path.drop_front(dot + 1))
      .str();
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// 1234567 -> "1,234,567".
std::string withCommas(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

} // namespace

std::optional<Summary> kiln::report::summarize(ModuleOp module) {
  func::FuncOp func = findModelFunc(module);
  if (!func || func.getNumArguments() != 1) {
    module.emitError("no kiln model function (a func.func with a '")
        << KilnDialect::getModelAttrName() << "' attribute and one argument)";
    return std::nullopt;
  }
  Summary summary;
  summary.model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).str();
  ArrayRef<int64_t> inputShape =
      cast<RankedTensorType>(func.getArgument(0).getType()).getShape();
  summary.inputShape.assign(inputShape.begin(), inputShape.end());

  func.walk([&](Operation *op) {
    auto layer = op->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName());
    if (!layer || op->getNumResults() == 0)
      return;
    Row row;
    row.name = layer.getPath().str();
    row.className = layer.getClassName().str();
    row.key = std::to_string(summary.rows.size()) + "_" +
              summaryName(row.name, row.className);
    ArrayRef<int64_t> outputShape =
        cast<RankedTensorType>(op->getResult(0).getType()).getShape();
    row.outputShape.assign(outputShape.begin(), outputShape.end());

    // The module's own parameters are the operands named "<path>.<attr>".
    std::string prefix = row.name + ".";
    int64_t params = 0;
    std::optional<int64_t> weightNumel;
    for (mlir::Value operand : op->getOperands()) {
      auto param = operand.getDefiningOp<ParamOp>();
      if (!param || !param.getName().starts_with(prefix) ||
          param.getRole() != ParamRole::parameter)
        continue;
      ArrayRef<int64_t> shape = param.getType().getShape();
      params += numel(shape);
      if (param.getName() == prefix + "weight") {
        weightNumel = numel(shape);
        std::vector<int64_t> kernel(shape.begin(), shape.end());
        if (kernel.size() > 1)
          std::swap(kernel[0], kernel[1]);
        row.kernelShape = kernel;
      }
    }
    if (params > 0) {
      row.params = params;
      int64_t multAdds = 0;
      if (weightNumel) {
        multAdds = *weightNumel;
        if (StringRef(row.className).contains("Conv"))
          multAdds *= numel(ArrayRef<int64_t>(row.outputShape).drop_front(2));
      }
      row.multAdds = multAdds;
      summary.totalParams += params;
      summary.totalMultAdds += multAdds;
    }
    summary.rows.push_back(std::move(row));
  });
  return summary;
}

void kiln::report::printTable(const Summary &summary, llvm::raw_ostream &os) {
  // Column widths from the content, like pandas.
  struct Cells {
    std::string key, kernel, output, params, multAdds;
  };
  std::vector<Cells> cells;
  Cells header{"Layer", "Kernel Shape", "Output Shape", "Params", "Mult-Adds"};
  size_t w[5] = {header.key.size(), header.kernel.size(), header.output.size(),
                 header.params.size(), header.multAdds.size()};
  for (const Row &row : summary.rows) {
    Cells c{row.key, row.kernelShape ? shapeString(*row.kernelShape) : "-",
            shapeString(row.outputShape),
            row.params ? withCommas(*row.params) : "-",
            row.multAdds ? withCommas(*row.multAdds) : "-"};
    w[0] = std::max(w[0], c.key.size());
    w[1] = std::max(w[1], c.kernel.size());
    w[2] = std::max(w[2], c.output.size());
    w[3] = std::max(w[3], c.params.size());
    w[4] = std::max(w[4], c.multAdds.size());
    cells.push_back(std::move(c));
  }
  size_t width = w[0] + w[1] + w[2] + w[3] + w[4] + 8;
  auto line = [&](char c) { os << std::string(width, c) << "\n"; };
  auto print = [&](const Cells &c) {
    os << llvm::left_justify(c.key, w[0]) << "  "
       << llvm::right_justify(c.kernel, w[1]) << "  "
       << llvm::right_justify(c.output, w[2]) << "  "
       << llvm::right_justify(c.params, w[3]) << "  "
       << llvm::right_justify(c.multAdds, w[4]) << "\n";
  };
  os << "Model: " << summary.model << "    Input: "
     << shapeString(summary.inputShape) << "\n";
  line('=');
  print(header);
  line('-');
  for (const Cells &c : cells)
    print(c);
  line('-');
  std::pair<const char *, std::string> totals[] = {
      {"Total params", withCommas(summary.totalParams)},
      {"Trainable params", withCommas(summary.totalParams)},
      {"Non-trainable params", "0"},
      {"Mult-Adds", withCommas(summary.totalMultAdds)}};
  for (auto &[label, value] : totals)
    os << llvm::left_justify(label, 22) << value << "\n";
  line('=');
}

void kiln::report::printJson(const Summary &summary, llvm::raw_ostream &os) {
  // One layer per line keeps large reports diffable.
  auto shape = [](ArrayRef<int64_t> s) {
    return llvm::json::Value(llvm::json::Array(s));
  };
  auto orDash = [](std::optional<int64_t> v) {
    return v ? llvm::json::Value(*v) : llvm::json::Value("-");
  };
  os << "{\"model\": " << llvm::json::Value(summary.model)
     << ", \"input_shape\": " << shape(summary.inputShape)
     << ",\n \"layers\": [\n";
  for (size_t i = 0; i < summary.rows.size(); ++i) {
    const Row &row = summary.rows[i];
    llvm::json::Object o{
        {"name", row.name},
        {"layer", row.key},
        {"class", row.className},
        {"kernel_shape", row.kernelShape ? shape(*row.kernelShape)
                                         : llvm::json::Value("-")},
        {"output_shape", shape(row.outputShape)},
        {"params", orDash(row.params)},
        {"mult_adds", orDash(row.multAdds)}};
    os << "  " << llvm::json::Value(std::move(o))
       << (i + 1 < summary.rows.size() ? ",\n" : "\n");
  }
  os << " ],\n \"total_params\": " << summary.totalParams
     << ", \"total_mult_adds\": " << summary.totalMultAdds << "}\n";
}

void kiln::report::printCsv(const Summary &summary, llvm::raw_ostream &os) {
  os << "layer,name,class,kernel_shape,output_shape,params,mult_adds\n";
  for (const Row &row : summary.rows) {
    os << row.key << "," << row.name << "," << row.className << ",\""
       << (row.kernelShape ? shapeString(*row.kernelShape) : "-") << "\",\""
       << shapeString(row.outputShape) << "\","
       << (row.params ? std::to_string(*row.params) : "-") << ","
       << (row.multAdds ? std::to_string(*row.multAdds) : "-") << "\n";
  }
  os << "total,,,,," << summary.totalParams << "," << summary.totalMultAdds
     << "\n";
}

void kiln::report::printDot(ModuleOp module, llvm::raw_ostream &os) {
  func::FuncOp func = findModelFunc(module);
  os << "digraph \"" << (func ? func.getName() : "model") << "\" {\n"
     << "  node [shape=box, fontname=\"monospace\"];\n";
  if (!func) {
    os << "}\n";
    return;
  }
  llvm::DenseMap<Operation *, unsigned> ids;
  os << "  n0 [label=\"input\\n"
     << shapeString(
            cast<RankedTensorType>(func.getArgument(0).getType()).getShape())
     << "\"];\n";
  auto nodeOf = [&](mlir::Value v) -> std::string {
    Operation *def = v.getDefiningOp();
    return def ? "n" + std::to_string(ids.lookup(def)) : "n0";
  };
  for (Operation &op : func.getBody().front()) {
    if (isa<ParamOp>(op))
      continue;
    unsigned id = ids.size() + 1;
    ids[&op] = id;
    std::string label = op.getName().getStringRef().str();
    if (auto layer = op.getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName()))
      label = layer.getPath().str() + "\\n" + label;
    if (op.getNumResults() > 0)
      if (auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType()))
        label += "\\n" + shapeString(type.getShape());
    os << "  n" << id << " [label=\"" << label << "\"];\n";
    for (mlir::Value operand : op.getOperands())
      if (!operand.getDefiningOp<ParamOp>())
        os << "  " << nodeOf(operand) << " -> n" << id << ";\n";
  }
  os << "}\n";
}
