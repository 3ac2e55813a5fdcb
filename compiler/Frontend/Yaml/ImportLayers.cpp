//===- ImportLayers.cpp - the layers of a model spec ----------------------===//
//
// This file implements the walk over a list of layers: the fields each kind
// of layer accepts, its name and inputs, `if`, `repeat` (with `from` and
// `override`), and the building of an op layer (its fields evaluated and
// type-checked by the op table before the op's builder runs) or of a layer
// group.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImporterImpl.h"

#include "dialects/Kiln/IR/KilnDialect.h"

#include <map>

using namespace mlir;

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

  // A module's own tensor (`op: buffer` or `parameter`) is bound to its
  // name but is no step of the sequence: the running value goes on.
  const OpSpec *spec = opNode ? lookupOp(opNode->value) : nullptr;
  bool tensorOnly = spec && spec->arity == Arity::None;
  if (tensorOnly)
    if (const Node *node = layer.find("repeat"))
      return error(*node) << "'" << spec->name
                          << "' defines one tensor; it cannot be repeated";
  auto bind = [&](const Values &values) {
    if (!name.empty())
      scope.names[name] = values;
    if (!alias.empty())
      scope.names[alias] = values;
    if (!tensorOnly)
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
      if (tensorOnly)
        return success();
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
  if (spec.arity == Arity::None) {
    if (name.empty())
      return error(layer) << "'" << spec.name
                          << "' needs a 'name': the attribute the module "
                             "holds it in, which ends its state_dict key";
    for (StringRef key : {"input", "inputs", "class"})
      if (const Node *node = layer.find(key))
        return error(*node) << "'" << spec.name << "' takes no '" << key << "'";
  } else if (spec.hasParams && name.empty())
    return error(layer) << "'" << spec.name
                        << "' has parameters, so it needs a 'name' (its "
                           "PyTorch module name, which prefixes its "
                           "state_dict keys)";
  if (!spec.moduleClass && !name.empty() && spec.arity != Arity::None)
    return error(at) << "'" << spec.name
                     << "' is a function, not a module, so it has no "
                        "'name'; use 'as' to refer to its result";

  // Inputs.
  const Node *inputsNode = layer.find("inputs");
  const Node &inputAt = inputsNode     ? *inputsNode
                        : layer.find("input") ? *layer.find("input")
                                              : layer;
  switch (spec.arity) {
  case Arity::None:
    break;
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
    if (spec.arity != Arity::None)
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

} // namespace kiln::frontend::importer
