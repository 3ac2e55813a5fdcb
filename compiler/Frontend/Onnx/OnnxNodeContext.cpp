//===- OnnxNodeContext.cpp - what ONNX converters work with ---------------===//
//
// This file implements Constant and NodeContext (OnnxImporter.h): the
// inputs, attributes and weights of the node being converted, with errors
// reported at the node.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxImporter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx;

//===----------------------------------------------------------------------===//
// Constant
//===----------------------------------------------------------------------===//

int64_t Constant::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

double Constant::at(int64_t i) const {
  return isFloat ? double(floats[i]) : double(ints[i]);
}

std::shared_ptr<Constant> Constant::ofInts(std::vector<int64_t> dims,
                                           std::vector<int64_t> values) {
  auto c = std::make_shared<Constant>();
  c->dims = std::move(dims);
  c->isFloat = false;
  c->ints = std::move(values);
  return c;
}

std::shared_ptr<Constant> Constant::ofFloats(std::vector<int64_t> dims,
                                             std::vector<float> values) {
  auto c = std::make_shared<Constant>();
  c->dims = std::move(dims);
  c->floats = std::move(values);
  return c;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeContext::error() { return importer.error(node); }

OpBuilder &NodeContext::builder() { return importer.builder; }

FailureOr<Value> NodeContext::activation(size_t i, StringRef what) {
  if (!hasInput(i)) {
    error() << "needs its input " << what;
    return failure();
  }
  if (!inputs[i].value) {
    error() << "input " << what << " ('" << node.inputs[i]
            << "') is a constant; kiln supports it only as an activation "
               "computed from the model's input";
    return failure();
  }
  return inputs[i].value;
}

FailureOr<std::shared_ptr<const Constant>>
NodeContext::constant(size_t i, StringRef what) {
  if (!hasInput(i)) {
    error() << "needs its input " << what;
    return failure();
  }
  if (!inputs[i].constant) {
    error() << "input " << what << " ('" << node.inputs[i]
            << "') must be a constant (an initializer or computed from "
               "constants); kiln compiles static weights and shapes";
    return failure();
  }
  return inputs[i].constant;
}

const onnx::Attribute *NodeContext::attr(StringRef name) const {
  return node.find(name.str());
}

FailureOr<int64_t> NodeContext::getInt(StringRef name, int64_t otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise;
  if (a->kind != onnx::Attribute::Kind::Int) {
    error() << "attribute '" << name << "' must be an integer";
    return failure();
  }
  return a->i;
}

FailureOr<float> NodeContext::getFloat(StringRef name, float otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise;
  if (a->kind != onnx::Attribute::Kind::Float) {
    error() << "attribute '" << name << "' must be a float";
    return failure();
  }
  return a->f;
}

FailureOr<std::string> NodeContext::getString(StringRef name,
                                              StringRef otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise.str();
  if (a->kind != onnx::Attribute::Kind::String) {
    error() << "attribute '" << name << "' must be a string";
    return failure();
  }
  return a->s;
}

FailureOr<std::vector<int64_t>>
NodeContext::getInts(StringRef name, std::vector<int64_t> otherwise) {
  const onnx::Attribute *a = attr(name);
  if (!a)
    return otherwise;
  if (a->kind != onnx::Attribute::Kind::Ints) {
    error() << "attribute '" << name << "' must be a list of integers";
    return failure();
  }
  return a->ints;
}

LogicalResult NodeContext::expectAttributes(ArrayRef<StringRef> known) {
  bool ok = true;
  for (const onnx::Attribute &a : node.attributes)
    if (!llvm::is_contained(known, a.name)) {
      error() << "attribute '" << a.name << "' is not supported";
      ok = false;
    }
  return success(ok);
}

/// |name| with characters other than letters, digits, '_' and '.' replaced.
static std::string sanitize(StringRef name) {
  std::string out;
  for (char ch : name)
    out += (llvm::isAlnum(ch) || ch == '_' || ch == '.') ? ch : '_';
  while (!out.empty() && out.front() == '.')
    out.erase(0, 1);
  return out;
}

std::string NodeContext::weightPath() {
  auto known = importer.weightPaths.find(&node);
  if (known != importer.weightPaths.end())
    return known->second;
  size_t index = &node - importer.model.graph.nodes.data();
  const Importer::Scope &scope = importer.scopes[index];
  std::string base;
  if (scope.leaf) {
    base = scope.path;
  } else {
    StringRef name = node.name;
    std::string leaf = sanitize(name.substr(name.rfind('/') + 1));
    if (leaf.empty())
      leaf = node.opType + "_" + std::to_string(index);
    base = scope.path.empty() ? leaf : scope.path + "." + leaf;
  }
  // Another node with this path: the same module called again shares its
  // weights (the same initializers); otherwise the path gets a suffix.
  std::string path = base;
  for (int k = 1;; ++k) {
    auto [it, inserted] = importer.weightOwners.try_emplace(path, &node);
    if (inserted)
      break;
    // The layers of one module (a MatMul and the Add of its bias) share
    // its path; two of the same op share it only as one module's calls.
    const Node *other = it->second;
    if (other->opType != node.opType ||
        ArrayRef(other->inputs).drop_front() == ArrayRef(node.inputs).drop_front())
      break;
    path = base + "_" + std::to_string(k);
  }
  importer.weightPaths[&node] = path;
  return path;
}

Value NodeContext::param(StringRef suffix, ArrayRef<int64_t> dims,
                         std::vector<float> data, ParamRole role) {
  std::string name = weightPath() + "." + suffix.str();
  importer.weights[name] = std::move(data);
  auto type = RankedTensorType::get(dims, builder().getF32Type());
  return builder().create<ParamOp>(
      loc, type, builder().getStringAttr(name),
      ParamRoleAttr::get(builder().getContext(), role));
}

/// Whether |name| reads as a state_dict key: names of letters, digits and
/// '_' joined by dots, the first not starting with a digit.
static bool isStateDictKey(StringRef name) {
  SmallVector<StringRef, 8> parts;
  name.split(parts, '.');
  return !name.empty() && !llvm::isDigit(name[0]) &&
         llvm::all_of(parts, [](StringRef part) {
           return !part.empty() && llvm::all_of(part, [](char ch) {
             return llvm::isAlnum(ch) || ch == '_';
           });
         });
}

Value NodeContext::constantParam(size_t i) {
  const Constant &k = *inputs[i].constant;
  std::vector<int64_t> dims = k.dims.empty() ? std::vector<int64_t>{1} : k.dims;
  std::vector<float> data = k.isFloat ? k.floats : std::vector<float>();
  if (!k.isFloat)
    for (int64_t v : k.ints)
      data.push_back(float(v));
  const std::string &source = node.inputs[i];
  bool initializer = llvm::any_of(importer.model.graph.initializers,
                                  [&](const onnx::Tensor &t) { return t.name == source; });
  std::string name;
  if (initializer && isStateDictKey(source)) {
    // The same tensor read twice is one weight; another tensor of that name
    // (a layer's weight) keeps it.
    auto known = importer.weights.find(source);
    if (known == importer.weights.end() || known->second == data)
      name = source;
  }
  if (name.empty())
    name = weightPath() + ".constant";
  importer.weights[name] = std::move(data);
  auto type = RankedTensorType::get(dims, builder().getF32Type());
  return builder().create<ParamOp>(
      loc, type, builder().getStringAttr(name),
      ParamRoleAttr::get(builder().getContext(), ParamRole::buffer));
}

NamedAttribute NodeContext::i64(StringRef name, int64_t value) {
  return builder().getNamedAttr(name, builder().getI64IntegerAttr(value));
}

NamedAttribute NodeContext::array(StringRef name, ArrayRef<int64_t> values) {
  return builder().getNamedAttr(name, builder().getDenseI64ArrayAttr(values));
}

NamedAttribute NodeContext::unit(StringRef name) {
  return builder().getNamedAttr(name, builder().getUnitAttr());
}

