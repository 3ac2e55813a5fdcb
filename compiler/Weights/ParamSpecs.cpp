//===- ParamSpecs.cpp - a model's state_dict as runtime specs -------------===//
//
// This file implements collectParams. Seeding follows PyTorch's defaults:
// nn.Conv2d and nn.Linear draw weight and bias from U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5) reduces to that bound),
// batch norm starts as the identity (weight 1, bias 0, mean 0, var 1).
//
//===----------------------------------------------------------------------===//

#include "compiler/Weights/ParamSpecs.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {

/// The seeding rule of |param| from the first op that uses it.
void chooseSeed(ParamOp param, rt::ParamSpec &spec) {
  spec.seed = rt::SeedKind::Uniform;
  spec.a = -0.1f;
  spec.b = 0.1f;
  for (OpOperand &use : param->getUses()) {
    Operation *user = use.getOwner();
    unsigned i = use.getOperandNumber();
    if (auto bn = dyn_cast<BatchNormOp>(user)) {
      // Operands: input, weight, bias, mean, var.
      spec.seed = rt::SeedKind::Constant;
      spec.a = (i == 1 || i == 4) ? 1.0f : 0.0f;
      return;
    }
    if (isa<Conv2dOp, LinearOp>(user) && (i == 1 || i == 2)) {
      auto weight = cast<RankedTensorType>(user->getOperand(1).getType());
      int64_t fanIn = weight.getNumElements() / weight.getDimSize(0);
      float bound = float(1.0 / std::sqrt(double(fanIn)));
      spec.a = -bound;
      spec.b = bound;
      return;
    }
  }
}

} // namespace

bool kiln::collectParams(func::FuncOp func, ModelParams &params) {
  llvm::StringMap<int> &byName = params.byName;
  bool ok = true;
  func.walk([&](ParamOp param) {
    RankedTensorType type = param.getType();
    auto [it, inserted] = byName.try_emplace(param.getName(), int(params.specs.size()));
    if (!inserted) {
      // The same state_dict entry used twice: one tensor.
      const rt::ParamSpec &first = params.specs[it->second];
      if (!std::equal(type.getShape().begin(), type.getShape().end(),
                      first.shape, first.shape + first.rank) ||
          type.getRank() != first.rank) {
        param.emitError("'") << param.getName()
                             << "' is used with two different shapes";
        ok = false;
      }
      params.index[param] = it->second;
      return;
    }
    if (type.getRank() > 4) {
      param.emitError("'") << param.getName() << "' has rank "
                           << type.getRank() << "; weights have rank 4 at most";
      ok = false;
      return;
    }
    rt::ParamSpec spec{};
    params.names.push_back(param.getName().str());
    spec.name = params.names.back().c_str();
    spec.rank = int(type.getRank());
    for (int i = 0; i < spec.rank; ++i)
      spec.shape[i] = type.getDimSize(i);
    chooseSeed(param, spec);
    params.index[param] = int(params.specs.size());
    params.specs.push_back(spec);
  });
  return ok;
}
