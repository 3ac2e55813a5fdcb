//===- KernelReport.cpp - kiln report --after-fusion ----------------------===//
//
// This file implements the kernel report: one row per kernel of planned IR
// (every op that runs code: not weights, not views, not in-place concats),
// with the layers it fuses, its FLOPs, the bytes it moves, its arithmetic
// intensity and its roofline-bound time
//     t = max(FLOPs / peak, bytes / bandwidth)
// on an H100 (dense fp16/bf16 tensor cores, 2-byte activations and weights)
// and on the CPU kiln was developed on (fp32). FLOPs count a multiply-add as
// two; bytes count every tensor a kernel reads or writes once. The caller
// adds, per CUDA precision, the launches of one forward pass and the device
// memory of the generated code (KernelSummary::cuda).
//
//===----------------------------------------------------------------------===//

#include "compiler/Report/Report.h"

#include "compiler/Graph/Analysis/GraphQueries.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::report;

namespace {

/// Peaks of the roofline. H100 SXM: dense fp16/bf16 tensor throughput and
/// HBM3 bandwidth. CPU: 2 Zen 4 cores at fp32 FMA peak (bench/kernels.cpp)
/// and a 2-thread copy's bandwidth, measured on the development machine.
constexpr double kH100Flops = 790e12, kH100Bytes = 3.0e12;
constexpr double kCpuFlops = 230e9, kCpuBytes = 33e9;

int64_t numel(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}

/// FLOPs of |op| (a multiply-add is two).
int64_t flopsOf(Operation *op) {
  return llvm::TypeSwitch<Operation *, int64_t>(op)
      .Case([](Conv2dOp c) {
        auto w = cast<RankedTensorType>(c.getWeight().getType());
        auto y = cast<RankedTensorType>(c.getType());
        int64_t perOutput = w.getNumElements() / w.getDimSize(0);
        return 2 * y.getNumElements() * perOutput + y.getNumElements();
      })
      .Case([](LinearOp l) {
        auto w = cast<RankedTensorType>(l.getWeight().getType());
        int64_t rows = numel(l.getResult()) / w.getDimSize(0);
        return 2 * rows * w.getNumElements() +
               (l.getPool() ? numel(l.getInput()) : 0);
      })
      .Case([](SqueezeExciteGateOp g) {
        auto w1 = cast<RankedTensorType>(g.getReduceWeight().getType());
        int64_t n = cast<RankedTensorType>(g.getType()).getDimSize(0);
        return numel(g.getInput()) + 4 * n * w1.getNumElements();
      })
      .Case<MaxPool2dOp, AvgPool2dOp>([](Operation *p) {
        ArrayRef<int64_t> k = isa<MaxPool2dOp>(p) ? cast<MaxPool2dOp>(p).getKernel()
                                                  : cast<AvgPool2dOp>(p).getKernel();
        return numel(p->getResult(0)) * k[0] * k[1];
      })
      .Case<AdaptiveAvgPool2dOp, MeanOp>(
          [](Operation *p) { return numel(p->getOperand(0)); })
      .Case([](BatchNormOp b) { return 2 * numel(b.getResult()); })
      .Case<ConvertLayoutOp, ConcatOp, ChannelShuffleOp>(
          [](Operation *) { return int64_t(0); })
      .Default([](Operation *o) { return numel(o->getResult(0)); });
}

/// Elements |op| reads and writes (each operand and result once; an
/// in-place concat only the inputs it copies).
int64_t elementsMoved(Operation *op) {
  int64_t n = 0;
  if (auto concat = dyn_cast<ConcatOp>(op);
      concat && concat->hasAttr(KilnDialect::getInPlaceAttrName())) {
    for (auto [i, in] : llvm::enumerate(concat.getInputs()))
      if (!producedInConcat(concat, i))
        n += 2 * numel(in);
    return n;
  }
  for (Value v : op->getOperands())
    n += numel(v);
  for (Value v : op->getResults())
    n += numel(v);
  return n;
}

std::string nameOf(Operation *op) {
  if (auto layer = op->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName()))
    return layer.getPath().str();
  if (auto fused = op->getAttrOfType<ArrayAttr>(KilnDialect::getFusedAttrName()))
    return cast<StringAttr>(fused[0]).str();
  return op->getName().stripDialect().str();
}

std::string membersOf(Operation *op) {
  auto fused = op->getAttrOfType<ArrayAttr>(KilnDialect::getFusedAttrName());
  if (!fused)
    return nameOf(op);
  std::string s;
  for (Attribute a : fused)
    s += (s.empty() ? "" : " + ") + cast<StringAttr>(a).str();
  return s;
}

std::string withCommas(int64_t value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

} // namespace

std::optional<KernelSummary> kiln::report::summarizeKernels(ModuleOp module) {
  func::FuncOp func = findModelFunc(module);
  auto arena = func ? func->getAttrOfType<IntegerAttr>(KilnDialect::getArenaBytesAttrName())
                    : IntegerAttr();
  if (!arena) {
    module.emitError("the kernel report needs planned IR");
    return std::nullopt;
  }
  KernelSummary summary;
  summary.model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).str();
  summary.arenaBytes = arena.getInt();
  summary.liveBytes =
      func->getAttrOfType<IntegerAttr>(KilnDialect::getLiveBytesAttrName()).getInt();
  for (Operation &op : func.getBody().front()) {
    if (isa<ParamOp, func::ReturnOp>(op) || isViewOp(&op) ||
        isWeightValue(op.getResult(0)) ||
        (op.hasAttr(KilnDialect::getInPlaceAttrName()) &&
         (isa<ChannelShuffleOp>(op) || elementsMoved(&op) == 0)))
      continue; // No code, or written by its producers.

    KernelRow row;
    row.name = nameOf(&op);
    row.kind = op.getName().stripDialect().str();
    row.members = membersOf(&op);
    row.flops = flopsOf(&op);
    row.elements = elementsMoved(&op);
    double h100 = std::max(row.flops / kH100Flops, 2.0 * row.elements / kH100Bytes);
    double cpu = std::max(row.flops / kCpuFlops, 4.0 * row.elements / kCpuBytes);
    row.h100Micros = h100 * 1e6;
    row.cpuMicros = cpu * 1e6;
    summary.totalFlops += row.flops;
    summary.h100Micros += row.h100Micros;
    summary.cpuMicros += row.cpuMicros;
    summary.kernels.push_back(std::move(row));
  }
  return summary;
}

void kiln::report::printKernelTable(const KernelSummary &s, llvm::raw_ostream &os) {
  os << "Model: " << s.model << "    " << s.kernels.size() << " kernels\n"
     << "Arena: " << withCommas(s.arenaBytes) << " bytes; liveness lower bound "
     << withCommas(s.liveBytes) << " bytes ("
     << llvm::format("%.2f", double(s.arenaBytes) / std::max<int64_t>(1, s.liveBytes))
     << "x)\n"
     << "Roofline: H100 fp16 (790 TFLOP/s, 3.0 TB/s, 2-byte data); CPU fp32 "
        "(230 GFLOP/s, 33 GB/s, 4-byte data)\n";
  os << llvm::left_justify("#", 4) << " " << llvm::left_justify("kernel", 28)
     << " " << llvm::left_justify("kind", 16) << " "
     << llvm::right_justify("FLOPs", 14) << " "
     << llvm::right_justify("bytes (fp32)", 14) << " "
     << llvm::right_justify("FLOP/B", 7) << " "
     << llvm::right_justify("H100 us", 9) << " "
     << llvm::right_justify("CPU us", 9) << "  fuses\n";
  for (size_t i = 0; i < s.kernels.size(); ++i) {
    const KernelRow &k = s.kernels[i];
    os << llvm::format("%-4zu %-28s %-16s %14s %14s %7.1f %9.2f %9.1f  ", i,
                       k.name.c_str(), k.kind.c_str(),
                       withCommas(k.flops).c_str(),
                       withCommas(4 * k.elements).c_str(),
                       double(k.flops) / double(4 * k.elements), k.h100Micros,
                       k.cpuMicros)
       << k.members << "\n";
  }
  os << llvm::format("total: %s FLOPs, H100 bound %.1f us, CPU bound %.2f ms\n",
                     withCommas(s.totalFlops).c_str(), s.h100Micros,
                     s.cpuMicros / 1000);
  if (s.cuda.empty())
    return;
  os << "CUDA, per forward pass (one graph replay):\n"
     << llvm::left_justify("precision", 10) << " " << llvm::right_justify("launches", 8)
     << " " << llvm::right_justify("arena bytes", 14) << " "
     << llvm::right_justify("split-K workspace", 17) << "\n";
  for (const CudaPrecisionRow &r : s.cuda)
    os << llvm::format("%-10s %8d %14s %17s\n", r.precision.c_str(), r.launches,
                       withCommas(r.arenaBytes).c_str(),
                       withCommas(r.workspaceBytes).c_str());
}

void kiln::report::printKernelJson(const KernelSummary &s, llvm::raw_ostream &os) {
  llvm::json::Array kernels;
  for (const KernelRow &k : s.kernels)
    kernels.push_back(llvm::json::Object{
        {"name", k.name},
        {"kind", k.kind},
        {"fuses", k.members},
        {"flops", k.flops},
        {"bytes", 4 * k.elements},
        {"intensity", double(k.flops) / double(4 * k.elements)},
        {"h100_us", k.h100Micros},
        {"cpu_us", k.cpuMicros}});
  llvm::json::Array cuda;
  for (const CudaPrecisionRow &r : s.cuda)
    cuda.push_back(llvm::json::Object{{"precision", r.precision},
                                      {"launches", r.launches},
                                      {"arena_bytes", r.arenaBytes},
                                      {"workspace_bytes", r.workspaceBytes}});
  llvm::json::Object root{{"model", s.model},
                          {"kernels", std::move(kernels)},
                          {"cuda", std::move(cuda)},
                          {"total_flops", s.totalFlops},
                          {"arena_bytes", s.arenaBytes},
                          {"live_bytes", s.liveBytes},
                          {"h100_us", s.h100Micros},
                          {"cpu_us", s.cpuMicros}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}
