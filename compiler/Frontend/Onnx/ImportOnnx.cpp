//===- ImportOnnx.cpp - ONNX model to kiln IR ------------------------------===//
//
// This file implements the entry point of the ONNX frontend and the walk of
// the graph (OnnxImporter.h):
//   1. the graph is checked: every input of a node is produced by a node,
//      an initializer or a graph input (else "dangling input"), no value is
//      produced twice, and the nodes are ordered topologically (Kahn's
//      algorithm; nodes left over lie on a cycle, which is reported);
//   2. module paths are recovered from the node names PyTorch's exporter
//      writes (`/layer1/layer1.0/conv1/Conv` is the call of module
//      `layer1.0.conv1`), so layers and weights get state_dict names;
//   3. the model's one input gets a static shape (symbolic dimensions from
//      --input-shape / --batch, else an error naming the dimension);
//   4. the nodes are converted in order; every failure is reported and the
//      walk goes on, so all unsupported nodes are listed at once;
//   5. ops that conversions left unused (a Sigmoid folded into a SiLU) are
//      erased and the module is verified.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <deque>
#include <set>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx;

//===----------------------------------------------------------------------===//
// Locations
//===----------------------------------------------------------------------===//

/// The text a node is named by in messages.
static std::string describeNode(const Node &node, size_t index) {
  std::string name =
      node.name.empty() ? "#" + std::to_string(index) : "'" + node.name + "'";
  return "node " + name + " (" + node.opType + ")";
}

Location Importer::fileLoc() {
  return FileLineColLoc::get(&context, path, 0, 0);
}

Location Importer::nodeLoc(const Node &node) {
  size_t index = &node - model.graph.nodes.data();
  return NameLoc::get(StringAttr::get(&context, describeNode(node, index)),
                      fileLoc());
}

InFlightDiagnostic Importer::error(const Node &node) {
  failedAny = true;
  return mlir::emitError(nodeLoc(node));
}

InFlightDiagnostic Importer::error() {
  failedAny = true;
  return mlir::emitError(NameLoc::get(StringAttr::get(&context, "the graph"),
                                      fileLoc()));
}

std::optional<std::pair<std::string, std::string>>
kiln::onnxLocation(Location loc) {
  auto name = dyn_cast<NameLoc>(loc);
  if (!name)
    return std::nullopt;
  auto file = dyn_cast<FileLineColLoc>(name.getChildLoc());
  if (!file || file.getLine() != 0)
    return std::nullopt;
  return std::make_pair(file.getFilename().str(), name.getName().str());
}

bool kiln::isOnnxPath(StringRef path) {
  return llvm::sys::path::extension(path).equals_insensitive(".onnx");
}

//===----------------------------------------------------------------------===//
// The graph's structure
//===----------------------------------------------------------------------===//

LogicalResult Importer::checkGraph(std::vector<const Node *> &order) {
  const Graph &graph = model.graph;
  // Who defines each value: -1 for initializers and graph inputs.
  std::map<std::string, long> producer;
  for (const Tensor &t : graph.initializers)
    if (!producer.emplace(t.name, -1).second) {
      error() << "initializer '" << t.name << "' is defined twice";
      return failure();
    }
  for (const ValueInfo &v : graph.inputs)
    producer.emplace(v.name, -1);
  bool ok = true;
  for (const auto &[i, node] : llvm::enumerate(graph.nodes))
    for (const std::string &out : node.outputs) {
      if (out.empty())
        continue;
      auto [it, inserted] = producer.emplace(out, long(i));
      if (!inserted) {
        error(node) << "output '" << out << "' is already produced by "
                    << (it->second < 0
                            ? std::string("an initializer or graph input")
                            : describeNode(graph.nodes[it->second],
                                           it->second));
        ok = false;
      }
    }
  // Dangling inputs, and the dependency counts of Kahn's algorithm.
  std::vector<int> pending(graph.nodes.size(), 0);
  std::vector<std::vector<size_t>> users(graph.nodes.size());
  for (const auto &[i, node] : llvm::enumerate(graph.nodes))
    for (const std::string &in : node.inputs) {
      if (in.empty())
        continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        error(node) << "input '" << in
                    << "' is not produced by any node, initializer or graph "
                       "input (a dangling input)";
        ok = false;
        continue;
      }
      if (it->second >= 0) {
        ++pending[i];
        users[it->second].push_back(i);
      }
    }
  for (const ValueInfo &out : graph.outputs)
    if (!producer.count(out.name)) {
      error() << "the graph output '" << out.name
              << "' is not produced by any node";
      ok = false;
    }
  if (!ok)
    return failure();
  // Kahn's algorithm, taking ready nodes in file order.
  std::set<size_t> ready;
  for (size_t i = 0; i < pending.size(); ++i)
    if (pending[i] == 0)
      ready.insert(i);
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(&graph.nodes[i]);
    for (size_t user : users[i])
      if (--pending[user] == 0)
        ready.insert(user);
  }
  if (order.size() != graph.nodes.size()) {
    auto diag = error() << "the graph has a cycle; these nodes depend on "
                           "their own outputs:";
    for (size_t i = 0; i < pending.size(); ++i)
      if (pending[i] > 0)
        diag << " " << describeNode(graph.nodes[i], i);
    return failure();
  }
  return success();
}

std::string kiln::modulePathOf(StringRef name) {
  if (!name.starts_with("/"))
    return "";
  SmallVector<StringRef> segments;
  name.drop_front().split(segments, '/');
  segments.pop_back(); // the op's own name
  SmallVector<std::string> parts;
  StringRef previous;
  for (StringRef s : segments) {
    if (s.empty())
      continue;
    if (!parts.empty() && s.starts_with((previous + ".").str()))
      parts.back() = s.str();
    else
      parts.push_back(s.str());
    previous = s;
  }
  // Within a scope, segments repeat the path of their parent scope
  // (`features.1`, `conv`, `conv.0`): join the last components.
  return llvm::join(parts, ".");
}

/// Ops that only name or compute constants: not module calls.
static bool isBookkeeping(StringRef opType) {
  return opType == "Constant" || opType == "Identity" || opType == "Shape" ||
         opType == "Gather" || opType == "Unsqueeze" || opType == "Cast" ||
         opType == "ConstantOfShape";
}

void Importer::computeScopes() {
  const auto &nodes = model.graph.nodes;
  std::vector<std::string> paths;
  llvm::StringSet<> all, inner;
  for (const Node &node : nodes) {
    paths.push_back(kiln::modulePathOf(node.name));
    if (!paths.back().empty())
      all.insert(paths.back());
  }
  // A scope with deeper scopes under it is a container (a block's forward),
  // not a leaf module.
  for (const auto &entry : all) {
    StringRef p = entry.getKey();
    for (size_t dot = p.rfind('.'); dot != StringRef::npos;
         dot = p.take_front(dot).rfind('.'))
      inner.insert(p.take_front(dot));
  }
  // A second call of a module gets the scope `relu_1` beside `relu`.
  auto canonical = [&](const std::string &p) {
    size_t us = p.rfind('_');
    if (us == std::string::npos || us + 1 >= p.size() ||
        !llvm::all_of(StringRef(p).drop_front(us + 1), llvm::isDigit))
      return p;
    std::string base = p.substr(0, us);
    return all.contains(base) ? base : p;
  };
  // The module call of a leaf scope is its last compute node (a SiLU is
  // Sigmoid then Mul; a Clip has Constant nodes before it).
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!paths[i].empty() && !isBookkeeping(nodes[i].opType))
      last[paths[i]] = i;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Scope scope;
    if (!paths[i].empty()) {
      bool leaf = !inner.contains(paths[i]);
      scope.path = canonical(paths[i]);
      scope.leaf = leaf;
      scope.moduleCall = leaf && last[paths[i]] == i;
    }
    scopes.push_back(scope);
  }
}

/// The value of |name| if it is a one-element constant (an initializer or
/// a Constant node's output).
static std::optional<double> scalarOf(const Model &model,
                                      const std::string &name) {
  for (const Tensor &t : model.graph.initializers)
    if (t.name == name && t.numel() == 1)
      return t.isFloat() ? double(t.floats[0]) : double(t.ints[0]);
  for (const Node &n : model.graph.nodes) {
    if (n.opType != "Constant" || n.outputs.size() != 1 || n.outputs[0] != name)
      continue;
    for (const onnx::Attribute &a : n.attributes) {
      if (a.kind == onnx::Attribute::Kind::Float)
        return a.f;
      if (a.kind == onnx::Attribute::Kind::Int)
        return double(a.i);
      if (a.kind == onnx::Attribute::Kind::Tensor && a.t->numel() == 1)
        return a.t->isFloat() ? double(a.t->floats[0]) : double(a.t->ints[0]);
    }
  }
  return std::nullopt;
}

void Importer::recognizeChains() {
  const auto &nodes = model.graph.nodes;
  std::map<std::string, std::vector<const Node *>> readers;
  std::map<std::string, const Node *> producer;
  for (const Node &n : nodes) {
    for (const std::string &in : n.inputs)
      readers[in].push_back(&n);
    for (const std::string &out : n.outputs)
      producer[out] = &n;
  }
  for (const ValueInfo &out : model.graph.outputs)
    readers[out.name].push_back(nullptr);
  auto only = [&](const Node *n) -> const Node * {
    if (n->outputs.size() != 1)
      return nullptr;
    auto &r = readers[n->outputs[0]];
    return r.size() == 1 ? r[0] : nullptr;
  };
  auto near = [](std::optional<double> v, double want) {
    return v && std::abs(*v - want) < 1e-6;
  };
  for (const Node &add : nodes) {
    // Add(x, 3) → [Relu →] Clip(0, 6) → Div(6) or Mul(1/6): PyTorch's
    // F.relu6(x + 3.) / 6., a hard sigmoid (GhostNet's).
    if (add.opType != "Add" || add.inputs.size() != 2)
      continue;
    int k = near(scalarOf(model, add.inputs[1]), 3) ? 1
            : near(scalarOf(model, add.inputs[0]), 3) ? 0
                                                        : -1;
    if (k < 0)
      continue;
    const Node *clip = only(&add);
    // F.relu6 exports as Relu then Clip at some opsets.
    const Node *relu = nullptr;
    if (clip && clip->opType == "Relu") {
      relu = clip;
      clip = only(relu);
    }
    if (!clip || clip->opType != "Clip")
      continue;
    std::optional<double> lo, hi;
    if (model.opset < 11) {
      const onnx::Attribute *a = clip->find("min"), *b = clip->find("max");
      lo = a ? std::optional<double>(a->f) : std::nullopt;
      hi = b ? std::optional<double>(b->f) : std::nullopt;
    } else if (clip->inputs.size() == 3) {
      lo = scalarOf(model, clip->inputs[1]);
      hi = scalarOf(model, clip->inputs[2]);
    }
    if (!near(lo, 0) || !near(hi, 6))
      continue;
    const Node *div = only(clip);
    if (!div || div->inputs.size() != 2 || div->inputs[0] != clip->outputs[0] ||
        !((div->opType == "Div" && near(scalarOf(model, div->inputs[1]), 6)) ||
          (div->opType == "Mul" &&
           near(scalarOf(model, div->inputs[1]), 1.0 / 6))))
      continue;
    absorbed.insert(&add);
    absorbed.insert(clip);
    if (relu)
      absorbed.insert(relu);
    hardSigmoidOf[div] = add.inputs[1 - k];
  }
}

//===----------------------------------------------------------------------===//
// Inputs and the walk
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> Importer::inputType(const ValueInfo &input) {
  if (input.elemType != kFloat) {
    error() << "the input '" << input.name << "' has element type "
            << dataTypeName(input.elemType) << "; kiln models take FLOAT input";
    return failure();
  }
  SmallVector<int64_t> shape;
  if (!options.inputShape.empty()) {
    if (input.hasShape && input.dims.size() != options.inputShape.size()) {
      error() << "--input-shape gives " << options.inputShape.size()
              << " dimensions but the input '" << input.name << "' has "
              << input.dims.size();
      return failure();
    }
    for (auto [i, d] : llvm::enumerate(options.inputShape)) {
      if (input.hasShape && input.dims[i].value > 0 && input.dims[i].value != d &&
          i != 0)
        mlir::emitWarning(fileLoc())
            << "--input-shape replaces dimension " << i << " of the input '"
            << input.name << "' (" << input.dims[i].value << ") with " << d;
      shape.push_back(d);
    }
  } else {
    if (!input.hasShape) {
      error() << "the input '" << input.name
              << "' has no shape; give it with --input-shape N,C,H,W";
      return failure();
    }
    for (auto [i, d] : llvm::enumerate(input.dims)) {
      if (d.value > 0) {
        shape.push_back(d.value);
        continue;
      }
      if (i == 0 && options.batch > 0) {
        shape.push_back(options.batch);
        continue;
      }
      auto diag = error() << "the input '" << input.name << "' has a "
                          << (d.param.empty() ? std::string("dynamic")
                                              : "symbolic ('" + d.param + "')")
                          << " dimension " << i << "; kiln compiles static "
                          << "shapes: give ";
      diag << (i == 0 ? "--batch N or " : "") << "--input-shape with all "
           << input.dims.size() << " dimensions";
      return failure();
    }
  }
  if (options.batch > 0 && !shape.empty())
    shape[0] = options.batch;
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 1 || __builtin_mul_overflow(n, d, &n) || n > (int64_t(1) << 40)) {
      error() << "the input '" << input.name << "' is too large";
      return failure();
    }
  return RankedTensorType::get(shape, builder.getF32Type());
}

void Importer::convert(const Node &node, size_t index) {
  NodeContext c(*this, node, nodeLoc(node));
  auto markFailed = [&] {
    for (const std::string &out : node.outputs)
      failedValues[out] = true;
  };
  if (absorbed.count(&node))
    return; // part of a chain its last node converts
  if (auto chain = hardSigmoidOf.find(&node); chain != hardSigmoidOf.end()) {
    if (failedValues.count(chain->second))
      return markFailed();
    const OnnxValue &x = values.at(chain->second);
    if (!x.value) {
      error(node) << "a hard sigmoid of a constant is not supported";
      return markFailed();
    }
    auto op = builder.create<HardSigmoidOp>(c.loc, x.value);
    values[node.outputs[0]] = {op.getResult(), nullptr};
    return;
  }
  for (const std::string &in : node.inputs) {
    if (in.empty()) {
      c.inputs.emplace_back();
      continue;
    }
    if (failedValues.count(in))
      return markFailed(); // reported upstream
    c.inputs.push_back(values.at(in));
  }
  if (!node.domain.empty() && node.domain != "ai.onnx") {
    error(node) << "op domain '" << node.domain
                << "' is not supported (kiln imports the default ONNX domain)";
    return markFailed();
  }
  bool allConstant = llvm::all_of(c.inputs, [](const OnnxValue &v) {
    return !v.value; // constant or omitted
  });
  LogicalResult converted = failure();
  if (allConstant && isFoldable(node.opType)) {
    converted = foldConstants(c);
  } else if (Converter convert = lookupConverter(node.opType)) {
    converted = convert(c);
  } else {
    error(node) << "op '" << node.opType << "' is not supported";
  }
  if (failed(converted)) {
    failedAny = true;
    return markFailed();
  }
  if (c.outputs.size() < node.outputs.size()) {
    // Optional outputs (a Dropout's mask) that a converter did not make must
    // be unused.
    for (size_t i = c.outputs.size(); i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty())
        for (const Node &other : model.graph.nodes)
          if (llvm::is_contained(other.inputs, node.outputs[i])) {
            error(node) << "output " << i << " ('" << node.outputs[i]
                        << "') is not supported";
            return markFailed();
          }
  }
  for (size_t i = 0; i < node.outputs.size() && i < c.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      values[node.outputs[i]] = c.outputs[i];
  if (c.layerOp && scopes[index].moduleCall)
    if (const char *cls = moduleClassOf(node, c.layerOp))
      c.layerOp->setAttr(KilnDialect::getLayerAttrName(),
                         LayerAttr::get(&context, scopes[index].path, cls));
}

/// A model name from the file name: an identifier.
static std::string modelName(StringRef path) {
  std::string name = llvm::sys::path::stem(path).str();
  for (char &ch : name)
    if (!llvm::isAlnum(ch) && ch != '_')
      ch = '_';
  if (name.empty() || llvm::isDigit(name[0]))
    name = "model_" + name;
  return name;
}

OwningOpRef<ModuleOp> Importer::run() {
  if (model.opset < 9) {
    error() << "the model uses ONNX opset " << model.opset
            << "; kiln imports opsets 9 to 17 (convert it with "
               "onnx.version_converter)";
    return nullptr;
  }
  if (model.opset > 17)
    mlir::emitWarning(fileLoc())
        << "the model uses ONNX opset " << model.opset
        << "; kiln imports opsets 9 to 17 and reads it as opset 17";

  std::vector<const Node *> order;
  if (failed(checkGraph(order)))
    return nullptr;
  computeScopes();
  recognizeChains();

  // The model's input: the one graph input that is not an initializer.
  std::set<std::string> initializerNames;
  for (const Tensor &t : model.graph.initializers)
    initializerNames.insert(t.name);
  std::vector<const ValueInfo *> inputs;
  for (const ValueInfo &v : model.graph.inputs)
    if (!initializerNames.count(v.name))
      inputs.push_back(&v);
  if (inputs.size() != 1) {
    auto diag = error() << "kiln models take one input; the graph has "
                        << inputs.size();
    for (const ValueInfo *v : inputs)
      diag << " '" << v->name << "'";
    return nullptr;
  }
  if (model.graph.outputs.size() != 1) {
    error() << "kiln models have one output; the graph has "
            << model.graph.outputs.size();
    return nullptr;
  }
  auto type = inputType(*inputs[0]);
  if (failed(type))
    return nullptr;

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc());
  builder.setInsertionPointToEnd(module->getBody());
  std::string name = modelName(path);
  auto func = builder.create<func::FuncOp>(
      fileLoc(), name, builder.getFunctionType({*type}, {}));
  func->setAttr(KilnDialect::getModelAttrName(), builder.getStringAttr(name));
  Block *entry = func.addEntryBlock();
  entry->getArgument(0).setLoc(
      NameLoc::get(builder.getStringAttr("input '" + inputs[0]->name + "'"),
                   fileLoc()));
  builder.setInsertionPointToEnd(entry);

  values[inputs[0]->name] = {entry->getArgument(0), nullptr};
  for (const Tensor &t : model.graph.initializers) {
    auto constant = std::make_shared<Constant>();
    constant->dims = t.dims;
    constant->isFloat = t.isFloat();
    constant->floats = t.floats;
    constant->ints = t.ints;
    values[t.name] = {nullptr, std::move(constant)};
  }
  for (const Node *node : order)
    convert(*node, node - model.graph.nodes.data());
  if (failedAny)
    return nullptr;

  const std::string &outName = model.graph.outputs[0].name;
  const OnnxValue &out = values.at(outName);
  if (!out.value) {
    error() << "the output '" << outName
            << "' is a constant; kiln models compute their output from the "
               "input";
    return nullptr;
  }
  builder.create<func::ReturnOp>(fileLoc(), out.value);
  func.setFunctionType(
      builder.getFunctionType({*type}, {out.value.getType()}));

  // Conversions that matched a pattern (SiLU, channel shuffle, biases) left
  // ops without users; params no layer took were never created.
  bool erased = true;
  while (erased) {
    erased = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
      if (!isa<func::ReturnOp>(op) && op.use_empty()) {
        op.erase();
        erased = true;
      }
  }
  // Weights of params that are gone.
  llvm::StringSet<> used;
  func.walk([&](ParamOp p) { used.insert(p.getName()); });
  for (auto it = weights.begin(); it != weights.end();) {
    auto next = std::next(it);
    if (!used.contains(it->getKey()))
      weights.erase(it);
    it = next;
  }
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

OwningOpRef<ModuleOp> kiln::importOnnxFile(StringRef path, MLIRContext &context,
                                           const ImportOptions &options,
                                           ImportedWeights &weights) {
  registerFrontendDialects(context);
  Model model;
  std::string error;
  if (!readModel(path.str(), model, error)) {
    mlir::emitError(UnknownLoc::get(&context)) << error;
    return nullptr;
  }
  return Importer(model, path.str(), context, options, weights).run();
}
