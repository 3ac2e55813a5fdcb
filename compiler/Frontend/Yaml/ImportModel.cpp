//===- ImportModel.cpp - model spec (YAML) to kiln IR ---------------------===//
//
// This file implements the entry point of the YAML frontend and the walk over
// a spec; the importer class and the state the walk keeps are declared in
// ImporterImpl.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImportModel.h"

#include "compiler/Frontend/Yaml/ImporterImpl.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <map>

using namespace mlir;
using namespace kiln;

namespace kiln::frontend::importer {

LogicalResult Importer::processLayers(const Node &list, Scope &scope) {
  if (failed(expectKind(list, Node::Kind::Sequence, "'layers'")))
    return failure();
  if (list.items.empty())
    return error(list) << "'layers' is empty";
  for (const Node &layer : list.items)
    if (failed(processLayer(layer, scope)))
      return failure();
  return success();
}

LogicalResult Importer::processLayer(const Node &layer, Scope &scope) {
  if (!layer.isMap())
    return error(layer) << "a layer must be a map such as '{op: relu}', got "
                        << yaml::describe(layer.kind);
  const Node *opNode = layer.find("op"), *blockNode = layer.find("block"),
             *layersNode = layer.find("layers");
  int kinds = !!opNode + !!blockNode + !!layersNode;
  if (kinds == 0)
    return error(layer) << "a layer needs one of 'op', 'block' or 'layers'";
  if (kinds > 1)
    return error(layer)
           << "a layer has exactly one of 'op', 'block' or 'layers'";

  // Check the fields this kind of layer accepts.
  SmallVector<StringRef> allowed = {"name", "as", "input", "inputs", "if",
                                    "repeat", "from", "override", "class"};
  std::string what;
  if (opNode) {
    allowed.push_back("op");
    if (!opNode->isScalar())
      return error(*opNode) << "'op' must be an op name such as 'conv2d'";
    const OpSpec *spec = lookupOp(opNode->value);
    if (!spec) {
      SmallVector<StringRef> names;
      for (const OpSpec &op : allOps())
        names.push_back(op.name);
      auto diag = error(*opNode) << "unknown op '" << opNode->value << "'";
      suggest(diag, opNode->value, names);
      return failure();
    }
    for (const FieldSpec &field : spec->fields)
      allowed.push_back(field.name);
    what = "op '" + opNode->value + "'";
  } else if (blockNode) {
    allowed.append({"block", "args"});
    what = "a block call";
  } else {
    allowed.append({"layers", "output"});
    what = "a layer group";
  }
  if (failed(checkKeys(layer, allowed, what)))
    return failure();
  if (!layer.find("repeat"))
    for (StringRef key : {"from", "override"})
      if (const Node *node = layer.find(key))
        return error(*node) << "'" << key << "' only goes with 'repeat'";

  const Env &env = *scope.env;
  std::string name, alias;
  if (const Node *node = layer.find("name")) {
    std::optional<std::string> s = evaluateString(*node, env, "name");
    if (!s)
      return failure();
    if (!isModuleName(*s))
      return error(*node) << "layer name '" << *s
                          << "' must be a PyTorch attribute name (letters, "
                             "digits, '_'), without dots";
    name = *s;
  }
  if (const Node *node = layer.find("as")) {
    if (!node->isScalar() || !isIdentifier(node->value))
      return error(*node) << "'as' must be an identifier";
    alias = node->value;
  }

  // Resolve the inputs.
  Values inputs;
  const Node *inputNode = layer.find("input"), *inputsNode = layer.find("inputs");
  if (inputNode && inputsNode)
    return error(*inputsNode) << "a layer has 'input' or 'inputs', not both";
  if (inputNode) {
    auto values = resolveRef(*inputNode, scope);
    if (failed(values))
      return failure();
    inputs = *values;
  } else if (inputsNode) {
    if (failed(expectKind(*inputsNode, Node::Kind::Sequence, "'inputs'")))
      return failure();
    for (const Node &ref : inputsNode->items) {
      auto values = resolveRef(ref, scope);
      if (failed(values))
        return failure();
      inputs.append(values->begin(), values->end());
    }
  } else {
    inputs = scope.current;
  }

  auto bind = [&](const Values &values) {
    if (!name.empty())
      scope.names[name] = values;
    if (!alias.empty())
      scope.names[alias] = values;
    scope.current = values;
  };

  // A layer whose condition is false is skipped: the running value does not
  // change, and a name not yet bound refers to its input, as if it were an
  // empty nn.Sequential (a ResNet block without `downsample` adds its input).
  // A name already bound keeps its value, so two layers of one name with
  // opposite conditions (`shortcut` as a projection or as an identity) work
  // in either order.
  if (const Node *cond = layer.find("if")) {
    std::optional<Value> value = evaluate(*cond, env);
    if (!value)
      return failure();
    if (value->kind != Value::Kind::Bool)
      return error(*cond) << "'if' must be true or false, got "
                          << value->typeName() << " (" << value->str() << ")";
    if (!value->boolean) {
      if (inputs.size() == 1) {
        if (!name.empty())
          scope.names.try_emplace(name, inputs);
        if (!alias.empty())
          scope.names.try_emplace(alias, inputs);
      }
      return success();
    }
  }

  const Node *repeatNode = layer.find("repeat");
  if (!repeatNode) {
    auto result = instantiate(layer, name, inputs, scope, env, nullptr);
    if (failed(result))
      return failure();
    bind(*result);
    return success();
  }

  // `repeat: n` makes n instances named from+0 ... from+n-1 that run in
  // sequence: children of a Sequential called `name`, or, without a name,
  // further children of the enclosing Sequential.
  auto count = evaluateAs(*repeatNode, env, FieldType::Int, "repeat");
  if (!count)
    return failure();
  if (count->integer < 1)
    return error(*repeatNode) << "'repeat' must be at least 1, got "
                              << count->integer;
  int64_t first = 0;
  if (const Node *from = layer.find("from")) {
    auto v = evaluateAs(*from, env, FieldType::Int, "from");
    if (!v)
      return failure();
    if (v->integer < 0)
      return error(*from) << "'from' must be non-negative";
    first = v->integer;
  }
  // Per-index overrides: {index: {field or argument: value}}.
  const Node *overrides = layer.find("override");
  std::map<int64_t, const Node *> overrideOf;
  if (overrides) {
    if (failed(expectKind(*overrides, Node::Kind::Map, "'override'")))
      return failure();
    for (size_t i = 0; i < overrides->keys.size(); ++i) {
      const Node &key = overrides->keys[i];
      int64_t index;
      if (StringRef(key.value).getAsInteger(10, index))
        return error(key) << "override keys are instance indices, got '"
                          << key.value << "'";
      int64_t resolved = index < 0 ? index + count->integer : index;
      if (resolved < 0 || resolved >= count->integer)
        return error(key) << "override index " << index
                          << " is outside 'repeat: " << count->integer << "'";
      if (failed(expectKind(overrides->items[i], Node::Kind::Map,
                            "an override")))
        return failure();
      if (overrideOf.count(resolved))
        return error(key) << "index " << index << " is overridden twice";
      overrideOf[resolved] = &overrides->items[i];
    }
  }

  Scope container;
  Scope *target = &scope;
  if (!name.empty()) {
    std::string path = joinPath(scope.prefix, name);
    if (failed(registerModule(path, {false, nullptr, "Sequential", loc(layer)},
                              *layer.find("name"))))
      return failure();
    container.parent = &scope;
    container.prefix = path;
    container.env = scope.env;
    target = &container;
  }
  Values current = inputs;
  for (int64_t i = 0; i < count->integer; ++i) {
    Env indexed;
    indexed.parent = &env;
    indexed.vars["index"] = Value::ofInt(i);
    auto it = overrideOf.find(i);
    auto result = instantiate(layer, std::to_string(first + i), current,
                              *target, indexed,
                              it == overrideOf.end() ? nullptr : it->second);
    if (failed(result))
      return failure();
    target->names[std::to_string(first + i)] = *result;
    current = *result;
  }
  bind(current);
  return success();
}

FailureOr<Values> Importer::instantiate(const Node &layer, StringRef name,
                                        const Values &inputs, Scope &scope,
                                        const Env &env,
                                        const Node *overrides) {
  if (const Node *op = layer.find("op"))
    return buildOp(layer, *lookupOp(op->value), name, inputs, scope, env,
                   overrides);
  if (layer.find("block"))
    return callBlock(layer, name, inputs, scope, env, overrides);
  if (overrides)
    return error(*overrides) << "'override' applies to repeated ops and "
                                "blocks, not to layer groups";
  return buildGroup(layer, name, inputs, scope, env);
}

FailureOr<Values> Importer::buildOp(const Node &layer, const OpSpec &spec,
                                    StringRef name, const Values &inputs,
                                    Scope &scope, const Env &env,
                                    const Node *overrides) {
  const Node &at = layer.find("name") ? *layer.find("name") : layer;
  if (spec.hasParams && name.empty())
    return error(layer) << "'" << spec.name
                        << "' has parameters, so it needs a 'name' (its "
                           "PyTorch module name, which prefixes its "
                           "state_dict keys)";
  if (!spec.moduleClass && !name.empty())
    return error(at) << "'" << spec.name
                     << "' is a function, not a module, so it has no "
                        "'name'; use 'as' to refer to its result";

  // Inputs.
  const Node *inputsNode = layer.find("inputs");
  const Node &inputAt = inputsNode     ? *inputsNode
                        : layer.find("input") ? *layer.find("input")
                                              : layer;
  switch (spec.arity) {
  case Arity::One:
    if (inputsNode)
      return error(*inputsNode) << "'" << spec.name
                                << "' takes one tensor: use 'input'";
    if (inputs.size() != 1)
      return error(inputAt)
             << "'" << spec.name << "' takes one tensor but its input has "
             << inputs.size()
             << " results; pick one with 'input: name[index]'";
    break;
  case Arity::Two:
    if (!inputsNode || inputs.size() != 2)
      return error(inputAt) << "'" << spec.name
                            << "' takes two tensors: 'inputs: [a, b]'";
    break;
  case Arity::Many:
    if (!inputsNode || inputs.empty())
      return error(inputAt) << "'" << spec.name
                            << "' takes a list of tensors: 'inputs: [a, b, "
                               "...]'";
    break;
  }

  std::string path = name.empty() ? "" : joinPath(scope.prefix, name);
  std::string className = spec.moduleClass ? spec.moduleClass : "";
  if (const Node *cls = layer.find("class")) {
    if (name.empty())
      return error(*cls) << "'class' names the module class of a named layer";
    auto s = evaluateString(*cls, env, "class");
    if (!s)
      return failure();
    if (!isIdentifier(*s))
      return error(*cls) << "'class' must be a Python class name";
    className = *s;
  }

  OpBuildContext ctx(builder, loc(layer, path), path, className);
  ctx.inputs.assign(inputs.begin(), inputs.end());
  for (const FieldSpec &field : spec.fields) {
    const Node *node = overrides ? overrides->find(field.name) : nullptr;
    if (!node)
      node = layer.find(field.name);
    std::optional<Value> value;
    if (node) {
      value = evaluateAs(*node, env, field.type, field.name);
    } else if (field.defaultValue) {
      value = plainScalar(field.defaultValue);
    } else {
      error(layer) << "op '" << spec.name << "' needs '" << field.name << "'";
      return failure();
    }
    if (!value)
      return failure();
    ctx.fields.insert(
        {field.name, {std::move(*value), node ? loc(*node) : ctx.loc}});
  }
  if (overrides)
    for (const Node &key : overrides->keys)
      if (!ctx.fields.count(key.value))
        return error(key) << "op '" << spec.name << "' has no field '"
                          << key.value << "'";

  if (++opCount > kMaxOps)
    return error(layer) << "the model has more than " << kMaxOps
                        << " layers; is a 'repeat' count wrong?";
  Operation *op = spec.build(ctx);
  if (!op)
    return failure();
  if (!path.empty()) {
    if (layer.find("class"))
      ctx.moduleClass = className;
    if (failed(registerModule(path, {true, &spec, ctx.moduleClass, ctx.loc},
                              at)))
      return failure();
    op->setAttr(KilnDialect::getLayerAttrName(),
                LayerAttr::get(&context, path, ctx.moduleClass));
  }
  return Values(op->getResults().begin(), op->getResults().end());
}

FailureOr<Values> Importer::buildGroup(const Node &layer, StringRef name,
                                       const Values &inputs, Scope &scope,
                                       const Env &env) {
  if (layer.find("class"))
    return error(*layer.find("class")) << "'class' applies to op layers only";
  std::string path = name.empty() ? scope.prefix : joinPath(scope.prefix, name);
  if (!name.empty() &&
      failed(registerModule(path, {false, nullptr, "Sequential", loc(layer)},
                            layer.find("name") ? *layer.find("name") : layer)))
    return failure();
  Scope body;
  body.parent = &scope;
  body.prefix = path;
  body.env = &env;
  body.current = inputs;
  if (failed(processLayers(*layer.find("layers"), body)))
    return failure();
  if (const Node *output = layer.find("output"))
    return resolveRef(*output, body);
  return body.current;
}

OwningOpRef<ModuleOp> Importer::importModel(const Node &root) {
  if (root.isNull()) {
    mlir::emitError(FileLineColLoc::get(&context, file, 1, 1))
        << "the model file is empty; a model spec is a map with 'model', "
           "'input' and 'layers'";
    return nullptr;
  }
  if (!root.isMap()) {
    error(root) << "a model spec is a map with 'model', 'input' and "
                   "'layers', got "
                << yaml::describe(root.kind);
    return nullptr;
  }
  if (failed(checkKeys(root,
                       {"model", "description", "include", "input", "vars",
                        "blocks", "layers", "output"},
                       "the model spec")))
    return nullptr;
  for (StringRef key : {"model", "input", "layers"})
    if (!root.find(key.str())) {
      error(root) << "the model spec needs '" << key << "'";
      return nullptr;
    }

  const Node &modelNode = *root.find("model");
  if (!modelNode.isScalar() || !isIdentifier(modelNode.value)) {
    error(modelNode) << "'model' must be an identifier such as 'resnet50'";
    return nullptr;
  }

  // The input: {name, shape, dtype}.
  const Node &input = *root.find("input");
  if (failed(expectKind(input, Node::Kind::Map, "'input'")) ||
      failed(checkKeys(input, {"name", "shape", "dtype"}, "'input'")))
    return nullptr;
  std::string inputName = "x";
  if (const Node *n = input.find("name")) {
    if (!n->isScalar() || !isIdentifier(n->value)) {
      error(*n) << "the input 'name' must be an identifier";
      return nullptr;
    }
    inputName = n->value;
  }
  const Node *shapeNode = input.find("shape");
  if (!shapeNode) {
    error(input) << "'input' needs a 'shape', e.g. [1, 3, 224, 224]";
    return nullptr;
  }
  auto shapeValue = evaluateAs(*shapeNode, globals, FieldType::IntList, "shape");
  if (!shapeValue)
    return nullptr;
  SmallVector<int64_t> shape;
  for (const Value &d : shapeValue->kind == Value::Kind::List
                            ? shapeValue->list
                            : std::vector<Value>{*shapeValue}) {
    if (d.integer < 1) {
      error(*shapeNode) << "input dimensions must be positive, got "
                        << shapeValue->str();
      return nullptr;
    }
    shape.push_back(d.integer);
  }
  if (!options.inputShape.empty())
    shape.assign(options.inputShape.begin(), options.inputShape.end());
  if (options.batch > 0)
    shape[0] = options.batch;
  int64_t numel = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(numel, d, &numel) || numel > (int64_t(1) << 40)) {
      error(*shapeNode) << "the input is too large";
      return nullptr;
    }
  if (const Node *dtype = input.find("dtype")) {
    if (!dtype->isScalar() ||
        (dtype->value != "float32" && dtype->value != "f32")) {
      error(*dtype) << "unsupported input dtype '" << dtype->value
                    << "'; models take float32 input";
      return nullptr;
    }
  }

  globals.vars["batch"] = Value::ofInt(shape[0]);
  if (const Node *vars = root.find("vars"))
    if (failed(evaluateVars(*vars, globals, "'vars'")))
      return nullptr;
  if (failed(parseIncludes(root)))
    return nullptr;
  if (const Node *blocksNode = root.find("blocks"))
    if (failed(parseBlocks(*blocksNode)))
      return nullptr;

  // Build `func.func @<model>(%x) -> ...` layer by layer.
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc(root));
  builder.setInsertionPointToEnd(module->getBody());
  auto inputType = RankedTensorType::get(shape, builder.getF32Type());
  auto func = builder.create<func::FuncOp>(
      fileLoc(modelNode), modelNode.value,
      builder.getFunctionType({inputType}, {}));
  func->setAttr(KilnDialect::getModelAttrName(),
                builder.getStringAttr(modelNode.value));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToEnd(entry);

  Scope top;
  top.env = &globals;
  top.names[inputName] = {entry->getArgument(0)};
  top.current = {entry->getArgument(0)};
  if (failed(processLayers(*root.find("layers"), top)))
    return nullptr;

  Values outputs = top.current;
  const Node *outputNode = root.find("output");
  if (outputNode) {
    auto values = resolveRef(*outputNode, top);
    if (failed(values))
      return nullptr;
    outputs = *values;
  }
  if (outputs.size() != 1) {
    error(outputNode ? *outputNode : *root.find("layers"))
        << "the model output must be one tensor, got " << outputs.size();
    return nullptr;
  }
  builder.create<func::ReturnOp>(fileLoc(modelNode), outputs[0]);
  func.setFunctionType(
      builder.getFunctionType({inputType}, {outputs[0].getType()}));
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

const Node *Importer::load(StringRef path, std::optional<Location> at) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    mlir::emitError(at.value_or(FileLineColLoc::get(&context, path, 0, 0)))
        << "cannot read '" << path << "': " << buffer.getError().message();
    return nullptr;
  }
  std::string text = (*buffer)->getBuffer().str();
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  yaml::ParseResult parsed = yaml::parse(text);
  if (!parsed.root) {
    mlir::emitError(FileLineColLoc::get(&context, path,
                                        std::max(1u, parsed.error.line),
                                        std::max(1u, parsed.error.column)))
        << "invalid YAML: " << parsed.error.message;
    return nullptr;
  }
  trees.push_back(std::make_unique<Node>(std::move(*parsed.root)));
  return trees.back().get();
}

/// `include: [a.yaml, ...]` reads the blocks of other files, resolved
/// relative to the including file (a library such as models/blocks/).
LogicalResult Importer::parseIncludes(const Node &root) {
  const Node *list = root.find("include");
  if (!list)
    return success();
  if (failed(expectKind(*list, Node::Kind::Sequence, "'include'")))
    return failure();
  for (const Node &item : list->items) {
    if (!item.isScalar() || item.value.empty())
      return error(item) << "'include' lists file names";
    SmallString<256> path(llvm::sys::path::parent_path(file));
    llvm::sys::path::append(path, item.value);
    if (!included.insert(path).second)
      continue;
    const Node *tree = load(path, loc(item));
    if (!tree)
      return failure();
    std::string savedFile = file;
    file = path.str().str();
    auto restore = llvm::make_scope_exit([&] { file = savedFile; });
    if (!tree->isMap())
      return error(*tree) << "an included file is a map with 'blocks'";
    if (failed(checkKeys(*tree, {"description", "include", "blocks"},
                         "an included file")) ||
        failed(parseIncludes(*tree)))
      return failure();
    if (const Node *blocksNode = tree->find("blocks"))
      if (failed(parseBlocks(*blocksNode)))
        return failure();
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::run(StringRef path) {
  file = path.str();
  included.insert(path);
  const Node *root = load(path, std::nullopt);
  if (!root)
    return nullptr;
  return importModel(*root);
}

} // namespace kiln::frontend::importer

void kiln::registerFrontendDialects(MLIRContext &context) {
  context.loadDialect<KilnDialect, func::FuncDialect>();
}

OwningOpRef<ModuleOp> kiln::importModelFile(StringRef path,
                                            MLIRContext &context,
                                            llvm::SourceMgr &sourceMgr,
                                            const ImportOptions &options) {
  registerFrontendDialects(context);
  return frontend::importer::Importer(context, sourceMgr, options).run(path);
}
