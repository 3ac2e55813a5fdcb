//===- LoopNest.cpp - strided loop nests for elementwise code -------------===//
//
// This file implements LoopNest::simplify and LoopNest::print.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/Common/LoopNest.h"

#include <algorithm>

using namespace kiln;

int64_t LoopNest::trips() const {
  int64_t n = 1;
  for (int64_t e : extents)
    n *= e;
  return n;
}

void LoopNest::simplify() {
  auto operands = [&]() {
    llvm::SmallVector<StridedOperand *, 4> all = {&out};
    for (StridedOperand &in : ins)
      all.push_back(&in);
    return all;
  };
  // Drop loops of one iteration.
  for (int i = int(extents.size()) - 1; i >= 0 && extents.size() > 1; --i) {
    if (extents[i] != 1)
      continue;
    extents.erase(extents.begin() + i);
    for (StridedOperand *op : operands())
      op->strides.erase(op->strides.begin() + i);
  }
  // Merge loop i into loop i+1 when every operand steps through both as one.
  for (int i = int(extents.size()) - 2; i >= 0; --i) {
    bool mergeable = true;
    for (StridedOperand *op : operands())
      mergeable &= op->strides[i] == op->strides[i + 1] * extents[i + 1];
    if (!mergeable)
      continue;
    extents[i + 1] *= extents[i];
    extents.erase(extents.begin() + i);
    for (StridedOperand *op : operands())
      op->strides.erase(op->strides.begin() + i);
  }
}

namespace {

/// "base + i0 * s0 + i1 * s1 ..." without zero terms.
std::string index(const StridedOperand &op) {
  std::string s = op.base + "[";
  bool first = true;
  for (size_t i = 0; i < op.strides.size(); ++i) {
    if (op.strides[i] == 0)
      continue;
    if (!first)
      s += " + ";
    first = false;
    s += "i" + std::to_string(i);
    if (op.strides[i] != 1)
      s += " * " + std::to_string(op.strides[i]);
  }
  return s + (first ? "0]" : "]");
}

} // namespace

void LoopNest::print(llvm::raw_ostream &os, int indent) const {
  std::string pad(indent, ' ');
  // Split the outermost loop into a few ranges run as pool tasks when
  // there is enough work (a task per iteration would cost more than it
  // does).
  int64_t tasks =
      trips() * tripCost >= (1 << 15) ? std::min<int64_t>(extents[0], 16) : 1;
  if (tasks > 1)
    os << pad << "pool.parallel_for(" << tasks << ", [&](int64_t task) {\n";
  for (size_t i = 0; i < extents.size(); ++i) {
    if (i + 1 == extents.size() && body.empty())
      os << pad << std::string(2 * i, ' ') << "#pragma GCC ivdep\n";
    std::string begin = "0", end = std::to_string(extents[i]);
    if (i == 0 && !outerExtent.empty())
      end = outerExtent;
    if (i == 0 && tasks > 1) {
      begin = "task * " + end + " / " + std::to_string(tasks);
      end = "(task + 1) * " + end + " / " + std::to_string(tasks);
    }
    os << pad << std::string(2 * i, ' ') << "for (int64_t i" << i << " = "
       << begin << "; i" << i << " < " << end << "; ++i" << i << ") {\n";
  }
  std::string inner = pad + std::string(2 * extents.size(), ' ');
  if (!body.empty()) {
    for (size_t k = 0; k < ins.size(); ++k)
      os << inner << "const float *const in" << k << "_row = &" << index(ins[k])
         << ";\n";
    os << inner << "float *const out_row = &" << index(out) << ";\n";
    llvm::SmallVector<llvm::StringRef, 8> lines;
    llvm::StringRef(body).split(lines, '\n', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef line : lines)
      os << inner << line << "\n";
  } else {
    for (size_t k = 0; k < ins.size(); ++k)
      os << inner << "const float in" << k << " = " << index(ins[k]) << ";\n";
    os << inner << index(out) << (accumulate ? " += " : " = ") << expr << ";\n";
  }
  for (size_t i = extents.size(); i-- > 0;)
    os << pad << std::string(2 * i, ' ') << "}\n";
  if (tasks > 1)
    os << pad << "});\n";
}
