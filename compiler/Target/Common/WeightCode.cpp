//===- WeightCode.cpp - weight transforms in generated prepare steps ------===//
//
// This file implements WeightCode (see WeightCode.h).
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Common/WeightCode.h"

#include "compiler/Target/Common/LoopNest.h"
#include "compiler/Target/Common/Storage.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace kiln;

std::string kiln::floatLiteral(double v) {
  return llvm::formatv("{0}f", llvm::format("%a", double(float(v)))).str();
}

FailureOr<std::string> WeightCode::data(Operation *user, Value v) {
  if (auto it = exprs.find(v); it != exprs.end())
    return it->second;
  Operation *def = v.getDefiningOp();
  if (auto param = dyn_cast_or_null<ParamOp>(def)) {
    auto index = params.byName.find(param.getName());
    if (index == params.byName.end())
      return user->emitError() << "the weight '" << param.getName()
                               << "' is not one of the model's";
    return exprs[v] = "p[" + std::to_string(index->second) + "]";
  }
  // Batch-norm folding, in double, into a prepare-local vector.
  std::string name = "t" + std::to_string(exprs.size());
  auto expr = [&](Value operand) { return data(user, operand); };
  if (auto fold = dyn_cast_or_null<FoldBatchNormWeightOp>(def)) {
    auto w = expr(fold.getWeight()), g = expr(fold.getGamma()),
         var = expr(fold.getVar());
    if (failed(w) || failed(g) || failed(var))
      return failure();
    Dims shape = shapeOf(v);
    int64_t rows = shape[0], inner = numel(shape) / rows;
    code += llvm::formatv(
        "  std::vector<float> {0}({1});\n"
        "  for (int64_t r = 0; r < {2}; ++r) {{\n"
        "    double s = double({3}[r]) / std::sqrt(double({4}[r]) + {5});\n"
        "    for (int64_t i = 0; i < {6}; ++i)\n"
        "      {0}[r * {6} + i] = float(double({7}[r * {6} + i]) * s);\n"
        "  }\n",
        name, numel(shape), rows, *g, *var,
        llvm::format("%.17g", fold.getEpsilon().convertToDouble()), inner, *w);
    return exprs[v] = name + ".data()";
  }
  if (auto fold = dyn_cast_or_null<FoldBatchNormBiasOp>(def)) {
    auto g = expr(fold.getGamma()), beta = expr(fold.getBeta()),
         mean = expr(fold.getMean()), var = expr(fold.getVar());
    if (failed(g) || failed(beta) || failed(mean) || failed(var))
      return failure();
    std::string bias = "0.0";
    if (fold.getBias()) {
      auto b = expr(fold.getBias());
      if (failed(b))
        return failure();
      bias = "double(" + *b + "[c])";
    }
    int64_t c = shapeOf(v)[0];
    code += llvm::formatv(
        "  std::vector<float> {0}({1});\n"
        "  for (int64_t c = 0; c < {1}; ++c)\n"
        "    {0}[c] = float(({2} - double({3}[c])) * double({4}[c]) /\n"
        "                   std::sqrt(double({5}[c]) + {6}) + double({7}[c]));\n",
        name, c, bias, *mean, *g, *var,
        llvm::format("%.17g", fold.getEpsilon().convertToDouble()), *beta);
    return exprs[v] = name + ".data()";
  }
  return user->emitError("this operand must be a weight (a param or a weight transform)");
}

void kiln::printPreparedOffsets(llvm::raw_ostream &os,
                                llvm::ArrayRef<PreparedItem> items,
                                llvm::StringRef align, llvm::StringRef total) {
  auto end = [&](size_t i) {
    return (align + "(kP" + std::to_string(i) + " + " + items[i].size + ")").str();
  };
  for (size_t i = 0; i < items.size(); ++i)
    os << "constexpr size_t kP" << i << " = " << (i ? end(i - 1) : "0") << ";\n";
  os << "constexpr size_t " << total << " = "
     << (items.empty() ? std::string("0") : end(items.size() - 1)) << ";\n\n";
}
