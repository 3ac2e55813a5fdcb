//===- OnnxConstants.cpp - evaluating ONNX nodes on constants -------------===//
//
// This file implements foldConstants: nodes whose inputs are all constants
// are evaluated at import time. Exporters compute reshape targets from the
// input's shape (Shape → Gather → Unsqueeze → Concat → Reshape); with static
// shapes `Shape` of an activation is a constant (OnnxOps.cpp), so these
// chains fold away, as do Constant nodes, Identity aliases of initializers
// and weight transposes of unfolded exports.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxConverters.h"

#include "llvm/ADT/StringSwitch.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx;

namespace {

using ConstPtr = std::shared_ptr<const Constant>;

/// The most elements a folded constant may have (a hostile ConstantOfShape
/// or Expand would otherwise allocate without bound).
constexpr int64_t kMaxFolded = int64_t(1) << 28;

/// A Constant node's value (or a tensor attribute).
std::shared_ptr<Constant> fromTensor(const Tensor &t) {
  auto c = std::make_shared<Constant>();
  c->dims = t.dims;
  c->isFloat = t.isFloat();
  c->floats = t.floats;
  c->ints = t.ints;
  return c;
}

LogicalResult foldConstantNode(NodeContext &c) {
  const onnx::Attribute *a = c.node.attributes.empty() ? nullptr : &c.node.attributes[0];
  if (c.node.attributes.size() != 1 || !a) {
    c.error() << "a Constant node needs exactly one value attribute";
    return failure();
  }
  std::shared_ptr<Constant> k;
  if (a->name == "value" && a->kind == onnx::Attribute::Kind::Tensor)
    k = fromTensor(*a->t);
  else if (a->name == "value_float" && a->kind == onnx::Attribute::Kind::Float)
    k = Constant::ofFloats(std::vector<int64_t>{}, std::vector<float>{a->f});
  else if (a->name == "value_floats" && a->kind == onnx::Attribute::Kind::Floats)
    k = Constant::ofFloats({int64_t(a->floats.size())}, a->floats);
  else if (a->name == "value_int" && a->kind == onnx::Attribute::Kind::Int)
    k = Constant::ofInts(std::vector<int64_t>{}, std::vector<int64_t>{a->i});
  else if (a->name == "value_ints" && a->kind == onnx::Attribute::Kind::Ints)
    k = Constant::ofInts({int64_t(a->ints.size())}, a->ints);
  if (!k) {
    c.error() << "value attribute '" << a->name << "' is not supported";
    return failure();
  }
  c.outputs.push_back({nullptr, std::move(k)});
  return success();
}

FailureOr<ConstPtr> in(NodeContext &c, size_t i, StringRef what) {
  return c.constant(i, what);
}

/// Row-major strides of |dims|.
std::vector<int64_t> stridesOf(ArrayRef<int64_t> dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;)
    s[i - 1] = s[i] * dims[i];
  return s;
}

/// numpy broadcasting of two constants through |fn| on doubles.
template <typename Fn>
LogicalResult broadcast(NodeContext &c, const Constant &a, const Constant &b,
                        Fn fn) {
  size_t rank = std::max(a.dims.size(), b.dims.size());
  std::vector<int64_t> dims(rank), da(rank, 1), db(rank, 1);
  std::copy(a.dims.begin(), a.dims.end(), da.begin() + (rank - a.dims.size()));
  std::copy(b.dims.begin(), b.dims.end(), db.begin() + (rank - b.dims.size()));
  int64_t n = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (da[i] != db[i] && da[i] != 1 && db[i] != 1) {
      c.error() << "shapes " << str(a.dims) << " and " << str(b.dims)
                << " do not broadcast";
      return failure();
    }
    dims[i] = da[i] == 1 ? db[i] : da[i];
    n *= dims[i];
  }
  if (n > kMaxFolded) {
    c.error() << "the folded constant is too large";
    return failure();
  }
  auto sa = stridesOf(da), sb = stridesOf(db), so = stridesOf(dims);
  auto out = std::make_shared<Constant>();
  out->dims = dims;
  out->isFloat = a.isFloat || b.isFloat;
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      int64_t idx = (i / so[d]) % dims[d];
      ia += (da[d] == 1 ? 0 : idx) * sa[d];
      ib += (db[d] == 1 ? 0 : idx) * sb[d];
    }
    if (out->isFloat) {
      out->floats.push_back(float(fn(a.at(ia), b.at(ib))));
    } else {
      double v = fn(a.at(ia), b.at(ib));
      if (!(std::fabs(v) < 0x1p62)) {
        c.error() << "integer arithmetic on constants overflows";
        return failure();
      }
      out->ints.push_back(int64_t(std::trunc(v)));
    }
  }
  c.outputs.push_back({nullptr, std::move(out)});
  return success();
}

LogicalResult foldBinary(NodeContext &c) {
  auto a = in(c, 0, "A"), b = in(c, 1, "B");
  if (failed(a) || failed(b))
    return failure();
  StringRef op = c.node.opType;
  if (op == "Div" && !(*a)->isFloat && !(*b)->isFloat)
    for (int64_t v : (*b)->ints)
      if (v == 0) {
        c.error() << "integer division by zero";
        return failure();
      }
  if (op == "Add")
    return broadcast(c, **a, **b, [](double x, double y) { return x + y; });
  if (op == "Sub")
    return broadcast(c, **a, **b, [](double x, double y) { return x - y; });
  if (op == "Mul")
    return broadcast(c, **a, **b, [](double x, double y) { return x * y; });
  return broadcast(c, **a, **b, [](double x, double y) { return x / y; });
}

/// Elements of |k| at flat indices |index| into a new constant of |dims|.
ConstPtr gatherElements(const Constant &k, std::vector<int64_t> dims,
                        const std::vector<int64_t> &index) {
  auto out = std::make_shared<Constant>();
  out->dims = std::move(dims);
  out->isFloat = k.isFloat;
  for (int64_t i : index) {
    if (k.isFloat)
      out->floats.push_back(k.floats[i]);
    else
      out->ints.push_back(k.ints[i]);
  }
  return out;
}

LogicalResult foldGather(NodeContext &c) {
  auto data = in(c, 0, "data"), indices = in(c, 1, "indices");
  auto axis = c.getInt("axis", 0);
  if (failed(data) || failed(indices) || failed(axis))
    return failure();
  const Constant &k = **data, &idx = **indices;
  int64_t rank = k.dims.size();
  int64_t a = *axis < 0 ? *axis + rank : *axis;
  if (rank == 0 || a < 0 || a >= rank || idx.isFloat) {
    c.error() << "cannot gather axis " << *axis << " of " << str(k.dims);
    return failure();
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < a; ++i)
    outer *= k.dims[i];
  for (int64_t i = a + 1; i < rank; ++i)
    inner *= k.dims[i];
  std::vector<int64_t> dims(k.dims.begin(), k.dims.begin() + a);
  dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
  dims.insert(dims.end(), k.dims.begin() + a + 1, k.dims.end());
  std::vector<int64_t> flat;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : idx.ints) {
      int64_t r = j < 0 ? j + k.dims[a] : j;
      if (r < 0 || r >= k.dims[a]) {
        c.error() << "index " << j << " is out of range for dimension of size "
                  << k.dims[a];
        return failure();
      }
      for (int64_t i = 0; i < inner; ++i)
        flat.push_back((o * k.dims[a] + r) * inner + i);
    }
  c.outputs.push_back({nullptr, gatherElements(k, dims, flat)});
  return success();
}

/// Reshape, Squeeze, Unsqueeze, Flatten, Identity, Cast: the same data,
/// another shape (or type).
LogicalResult foldReshapeLike(NodeContext &c) {
  auto data = in(c, 0, "data");
  if (failed(data))
    return failure();
  auto out = std::make_shared<Constant>(**data);
  StringRef op = c.node.opType;
  int64_t rank = out->dims.size();
  if (op == "Cast") {
    auto to = c.getInt("to", kFloat);
    if (failed(to))
      return failure();
    bool toFloat = *to == kFloat || *to == kDouble || *to == kFloat16 ||
                   *to == kBFloat16;
    if (toFloat && !out->isFloat) {
      for (int64_t v : out->ints)
        out->floats.push_back(float(v));
      out->ints.clear();
    } else if (!toFloat && out->isFloat) {
      for (float v : out->floats) {
        if (!(std::fabs(v) < 0x1p62f)) {
          c.error() << "cannot cast " << v << " to an integer";
          return failure();
        }
        out->ints.push_back(int64_t(std::trunc(v)));
      }
      out->floats.clear();
    }
    out->isFloat = toFloat;
  } else if (op == "Reshape") {
    auto shape = in(c, 1, "shape");
    if (failed(shape))
      return failure();
    auto dims = resolveReshape(c, out->dims, (*shape)->ints,
                               /*allowZero=*/false, out->numel());
    if (failed(dims))
      return failure();
    out->dims = *dims;
  } else if (op == "Squeeze" || op == "Unsqueeze") {
    auto attrAxes = c.getInts("axes", {});
    if (failed(attrAxes))
      return failure();
    std::vector<int64_t> axes = *attrAxes;
    if (c.hasInput(1)) {
      auto k = in(c, 1, "axes");
      if (failed(k))
        return failure();
      axes = (*k)->ints;
    }
    std::vector<int64_t> dims;
    if (op == "Unsqueeze") {
      int64_t r = rank + int64_t(axes.size());
      std::vector<bool> marked(r, false);
      for (int64_t a : axes)
        if (a + (a < 0 ? r : 0) >= 0 && a + (a < 0 ? r : 0) < r)
          marked[a + (a < 0 ? r : 0)] = true;
      size_t next = 0;
      for (int64_t i = 0; i < r; ++i)
        dims.push_back(marked[i] || next >= out->dims.size() ? 1
                                                             : out->dims[next++]);
    } else {
      for (int64_t i = 0; i < rank; ++i) {
        bool drop = axes.empty() ? out->dims[i] == 1
                                 : llvm::is_contained(axes, i) ||
                                       llvm::is_contained(axes, i - rank);
        if (!drop)
          dims.push_back(out->dims[i]);
      }
    }
    out->dims = dims;
  } else if (op == "Flatten") {
    auto axis = c.getInt("axis", 1);
    if (failed(axis))
      return failure();
    int64_t a = *axis < 0 ? *axis + rank : *axis, outer = 1;
    for (int64_t i = 0; i < a && i < rank; ++i)
      outer *= out->dims[i];
    out->dims = {outer, outer ? out->numel() / outer : 0};
  }
  int64_t n = 1;
  for (int64_t d : out->dims)
    n *= d;
  if (n != (*data)->numel()) {
    c.error() << "cannot reshape " << str((*data)->dims) << " to "
              << str(out->dims);
    return failure();
  }
  c.outputs.push_back({nullptr, std::move(out)});
  return success();
}

LogicalResult foldConcat(NodeContext &c) {
  auto axis = c.getInt("axis", 0);
  if (failed(axis))
    return failure();
  std::vector<ConstPtr> parts;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto k = in(c, i, "input");
    if (failed(k))
      return failure();
    parts.push_back(*k);
  }
  if (parts.empty() || parts[0]->dims.empty()) {
    c.error() << "cannot concatenate scalars";
    return failure();
  }
  int64_t rank = parts[0]->dims.size();
  int64_t a = *axis < 0 ? *axis + rank : *axis;
  if (a < 0 || a >= rank) {
    c.error() << "axis " << *axis << " is out of range";
    return failure();
  }
  std::vector<int64_t> dims = parts[0]->dims;
  dims[a] = 0;
  for (const ConstPtr &p : parts) {
    if (int64_t(p->dims.size()) != rank || p->isFloat != parts[0]->isFloat) {
      c.error() << "inputs differ in rank or type";
      return failure();
    }
    dims[a] += p->dims[a];
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < a; ++i)
    outer *= dims[i];
  auto out = std::make_shared<Constant>();
  out->dims = dims;
  out->isFloat = parts[0]->isFloat;
  for (int64_t o = 0; o < outer; ++o)
    for (const ConstPtr &p : parts) {
      int64_t chunk = p->numel() / std::max<int64_t>(outer, 1);
      for (int64_t i = 0; i < chunk; ++i) {
        if (out->isFloat)
          out->floats.push_back(p->floats[o * chunk + i]);
        else
          out->ints.push_back(p->ints[o * chunk + i]);
      }
    }
  c.outputs.push_back({nullptr, std::move(out)});
  return success();
}

LogicalResult foldSlice(NodeContext &c) {
  auto data = in(c, 0, "data");
  if (failed(data))
    return failure();
  const Constant &k = **data;
  std::vector<int64_t> starts, ends, axes, steps;
  for (int i = 1; i <= 4; ++i)
    if (c.hasInput(i)) {
      auto v = in(c, i, "bounds");
      if (failed(v))
        return failure();
      (i == 1 ? starts : i == 2 ? ends : i == 3 ? axes : steps) = (*v)->ints;
    }
  if (c.importer.model.opset < 10) {
    auto s = c.getInts("starts", {}), e = c.getInts("ends", {}),
         a = c.getInts("axes", {});
    if (failed(s) || failed(e) || failed(a))
      return failure();
    starts = *s, ends = *e, axes = *a;
  }
  int64_t rank = k.dims.size();
  // Per dimension: the first index, the step and the count (ONNX Slice,
  // negative steps included: exporters reverse lists with them).
  std::vector<int64_t> begin(rank, 0), step(rank, 1), dims(k.dims);
  for (size_t i = 0; i < starts.size() && i < ends.size(); ++i) {
    int64_t a = i < axes.size() ? axes[i] : int64_t(i);
    a = a < 0 ? a + rank : a;
    int64_t s = i < steps.size() ? steps[i] : 1;
    if (a < 0 || a >= rank || s == 0 || s == INT64_MIN) {
      c.error() << "unsupported slice of a constant";
      return failure();
    }
    int64_t size = k.dims[a];
    auto resolve = [&](int64_t idx) { return idx < 0 ? idx + size : idx; };
    int64_t first = resolve(starts[i]), last = resolve(ends[i]);
    if (s > 0) {
      first = std::clamp<int64_t>(first, 0, size);
      last = std::clamp<int64_t>(last, 0, size);
      dims[a] = last > first ? 1 + (last - first - 1) / s : 0;
    } else {
      first = std::clamp<int64_t>(first, 0, size - 1);
      last = std::clamp<int64_t>(last, -1, size - 1);
      dims[a] = first > last ? 1 + (first - last - 1) / -s : 0;
    }
    begin[a] = first;
    step[a] = s;
  }
  auto so = stridesOf(dims), si = stridesOf(k.dims);
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  std::vector<int64_t> flat;
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += (begin[d] + ((i / so[d]) % dims[d]) * step[d]) * si[d];
    flat.push_back(src);
  }
  c.outputs.push_back({nullptr, gatherElements(k, dims, flat)});
  return success();
}

LogicalResult foldTranspose(NodeContext &c) {
  auto data = in(c, 0, "data");
  if (failed(data))
    return failure();
  const Constant &k = **data;
  int64_t rank = k.dims.size();
  std::vector<int64_t> reversed;
  for (int64_t i = rank - 1; i >= 0; --i)
    reversed.push_back(i);
  auto perm = c.getInts("perm", reversed);
  if (failed(perm))
    return failure();
  if (int64_t(perm->size()) != rank) {
    c.error() << "perm " << str(*perm) << " does not fit rank " << rank;
    return failure();
  }
  std::vector<int64_t> dims(rank);
  for (int64_t i = 0; i < rank; ++i) {
    if ((*perm)[i] < 0 || (*perm)[i] >= rank) {
      c.error() << "perm " << str(*perm) << " is not a permutation";
      return failure();
    }
    dims[i] = k.dims[(*perm)[i]];
  }
  auto so = stridesOf(dims), si = stridesOf(k.dims);
  std::vector<int64_t> flat;
  for (int64_t i = 0; i < k.numel(); ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += ((i / so[d]) % dims[d]) * si[(*perm)[d]];
    flat.push_back(src);
  }
  c.outputs.push_back({nullptr, gatherElements(k, dims, flat)});
  return success();
}

LogicalResult foldShape(NodeContext &c) {
  auto data = in(c, 0, "data");
  if (failed(data))
    return failure();
  const auto &dims = (*data)->dims;
  c.outputs.push_back(
      {nullptr, Constant::ofInts({int64_t(dims.size())}, dims)});
  return success();
}

LogicalResult foldConstantOfShape(NodeContext &c) {
  auto shape = in(c, 0, "input");
  if (failed(shape))
    return failure();
  int64_t n = 1;
  for (int64_t d : (*shape)->ints) {
    if (d < 0 || (n *= d) > kMaxFolded) {
      c.error() << "shape " << str((*shape)->ints) << " is invalid or too large";
      return failure();
    }
  }
  auto out = std::make_shared<Constant>();
  out->dims = (*shape)->ints;
  const onnx::Attribute *value = c.attr("value");
  if (value && value->kind == onnx::Attribute::Kind::Tensor && value->t->numel() == 1) {
    out->isFloat = value->t->isFloat();
    if (out->isFloat)
      out->floats.assign(n, value->t->floats[0]);
    else
      out->ints.assign(n, value->t->ints[0]);
  } else {
    out->floats.assign(n, 0.0f);
  }
  c.outputs.push_back({nullptr, std::move(out)});
  return success();
}

} // namespace

bool kiln::onnx::isFoldable(StringRef opType) {
  return llvm::StringSwitch<bool>(opType)
      .Cases("Constant", "Identity", "Shape", "Gather", "Unsqueeze", "Squeeze",
             true)
      .Cases("Concat", "Slice", "Cast", "Reshape", "Flatten", "Transpose", true)
      .Cases("Add", "Sub", "Mul", "Div", "ConstantOfShape", true)
      .Default(false);
}

LogicalResult kiln::onnx::foldConstants(NodeContext &c) {
  StringRef op = c.node.opType;
  if (op == "Constant")
    return foldConstantNode(c);
  if (op == "Shape")
    return foldShape(c);
  if (op == "Gather")
    return foldGather(c);
  if (op == "Concat")
    return foldConcat(c);
  if (op == "Slice")
    return foldSlice(c);
  if (op == "Transpose")
    return foldTranspose(c);
  if (op == "ConstantOfShape")
    return foldConstantOfShape(c);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")
    return foldBinary(c);
  return foldReshapeLike(c);
}
