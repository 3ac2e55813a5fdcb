//===- ImportBlocks.cpp - block definitions and calls ---------------------===//
//
// This file implements the blocks of a model spec: reading the block
// definitions of the model or of an included file, and expanding a block
// call: its arguments are evaluated where it is called, its parameters and
// vars in an environment of their own, and the ops and errors inside it
// point at the block's text and say where it was called.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImporterImpl.h"

#include "llvm/ADT/ScopeExit.h"

using namespace mlir;

/// The deepest chain of block calls (models nest a handful).
static constexpr size_t kMaxBlockDepth = 100;

namespace kiln::frontend::importer {

LogicalResult Importer::parseBlocks(const Node &node) {
  if (failed(expectKind(node, Node::Kind::Map, "'blocks'")))
    return failure();
  for (size_t i = 0; i < node.keys.size(); ++i) {
    const Node &key = node.keys[i], &body = node.items[i];
    if (!isIdentifier(key.value))
      return error(key) << "'" << key.value << "' is not a valid block name";
    if (failed(expectKind(body, Node::Kind::Map, "a block definition")) ||
        failed(checkKeys(body,
                         {"params", "vars", "input", "layers", "output",
                          "description"},
                         "block '" + key.value + "'")))
      return failure();
    if (auto it = blocks.find(key.value); it != blocks.end()) {
      auto diag = error(key) << "block '" << key.value << "' is defined twice";
      diag.attachNote(FileLineColLoc::get(&context, it->second.file,
                                          it->second.node->line,
                                          it->second.node->column))
          << "first definition is here";
      return failure();
    }
    BlockDef def;
    def.file = file;
    def.node = &key;
    def.params = body.find("params");
    def.vars = body.find("vars");
    def.layers = body.find("layers");
    def.output = body.find("output");
    if (!def.layers)
      return error(key) << "block '" << key.value << "' has no 'layers'";
    if (def.params) {
      if (failed(expectKind(*def.params, Node::Kind::Map, "'params'")))
        return failure();
      for (const Node &param : def.params->keys)
        if (!isIdentifier(param.value))
          return error(param) << "'" << param.value
                              << "' is not a valid parameter name";
    }
    if (const Node *input = body.find("input")) {
      if (!input->isScalar() || !isIdentifier(input->value))
        return error(*input) << "a block's 'input' is the name of its input "
                                "value, e.g. 'x'";
      def.inputName = input->value;
    }
    blocks[key.value] = def;
  }
  return success();
}

FailureOr<Values> Importer::callBlock(const Node &layer, StringRef name,
                                      const Values &inputs, Scope &scope,
                                      const Env &env, const Node *overrides) {
  const Node &blockNode = *layer.find("block");
  if (!blockNode.isScalar())
    return error(blockNode) << "'block' must be a block name";
  auto it = blocks.find(blockNode.value);
  if (it == blocks.end()) {
    SmallVector<StringRef> names;
    for (const auto &entry : blocks)
      names.push_back(entry.getKey());
    auto diag = error(blockNode) << "unknown block '" << blockNode.value << "'";
    suggest(diag, blockNode.value, names);
    return failure();
  }
  const BlockDef &def = it->second;
  if (activeBlocks.contains(blockNode.value))
    return error(blockNode) << "block '" << blockNode.value
                            << "' calls itself; blocks cannot recurse";
  // Each call nests the importer once more; a chain of thousands of
  // distinct blocks would exhaust the stack.
  if (activeBlocks.size() >= kMaxBlockDepth)
    return error(blockNode) << "blocks call each other more than "
                            << kMaxBlockDepth << " deep";
  if (inputs.size() != 1)
    return error(layer) << "block '" << blockNode.value
                        << "' takes one tensor but its input has "
                        << inputs.size() << " results";
  if (layer.find("class"))
    return error(*layer.find("class"))
           << "'class' applies to op layers only";

  std::string path = name.empty() ? scope.prefix : joinPath(scope.prefix, name);
  if (!name.empty() &&
      failed(registerModule(path, {false, nullptr, blockNode.value, loc(layer)},
                            layer.find("name") ? *layer.find("name") : layer)))
    return failure();

  // Arguments are evaluated where the block is called.
  SmallVector<StringRef> paramNames;
  if (def.params)
    for (const Node &key : def.params->keys)
      paramNames.push_back(key.value);
  llvm::StringMap<std::pair<Value, const Node *>> args;
  auto collectArgs = [&](const Node *map) -> LogicalResult {
    if (!map)
      return success();
    if (failed(expectKind(*map, Node::Kind::Map, "'args'")))
      return failure();
    for (size_t i = 0; i < map->keys.size(); ++i) {
      const Node &key = map->keys[i];
      if (!llvm::is_contained(paramNames, key.value)) {
        auto diag = error(key) << "block '" << blockNode.value
                               << "' has no parameter '" << key.value << "'";
        suggest(diag, key.value, paramNames);
        diag.attachNote(FileLineColLoc::get(&context, def.file,
                                            def.node->line, def.node->column))
            << "'" << blockNode.value << "' is defined here";
        return failure();
      }
      std::optional<Value> value = evaluate(map->items[i], env);
      if (!value)
        return failure();
      args[key.value] = {std::move(*value), &map->items[i]};
    }
    return success();
  };
  if (failed(collectArgs(layer.find("args"))) || failed(collectArgs(overrides)))
    return failure();

  // The block's environment: globals, builtins, parameters, then vars.
  Env blockEnv;
  blockEnv.parent = &globals;
  auto inputType = cast<RankedTensorType>(inputs[0].getType());
  if (inputType.getRank() >= 2)
    blockEnv.vars["in_channels"] = Value::ofInt(inputType.getDimSize(1));
  // From here on, nodes come from the block's definition, possibly in an
  // included file, and locations say where the block was called.
  std::optional<Location> savedCaller = caller;
  std::string savedFile = file;
  Location callLoc = loc(layer, path);
  auto restore = llvm::make_scope_exit([&] {
    caller = savedCaller;
    file = savedFile;
  });
  file = def.file;
  if (def.params) {
    for (size_t i = 0; i < def.params->keys.size(); ++i) {
      StringRef param = def.params->keys[i].value;
      auto arg = args.find(param);
      if (arg != args.end()) {
        blockEnv.vars[param] = arg->second.first;
        continue;
      }
      const Node &fallback = def.params->items[i];
      if (fallback.isNull()) {
        file = savedFile;
        caller = savedCaller;
        auto diag = error(layer) << "block '" << blockNode.value
                                 << "' needs parameter '" << param << "'";
        diag.attachNote(FileLineColLoc::get(&context, def.file,
                                            def.params->keys[i].line,
                                            def.params->keys[i].column))
            << "'" << param << "' is declared here";
        return failure();
      }
      // Defaults are evaluated inside the block, after the earlier params.
      caller = callLoc;
      std::optional<Value> value = evaluate(fallback, blockEnv);
      if (!value)
        return failure();
      blockEnv.vars[param] = std::move(*value);
    }
  }

  caller = callLoc;
  activeBlocks.insert(blockNode.value);
  auto leave = llvm::make_scope_exit([&] { activeBlocks.erase(blockNode.value); });
  if (def.vars && failed(evaluateVars(*def.vars, blockEnv, "'vars'")))
    return failure();
  Scope body;
  body.prefix = path;
  body.env = &blockEnv;
  body.names[def.inputName] = inputs;
  body.current = inputs;
  if (failed(processLayers(*def.layers, body)))
    return failure();
  if (!def.output)
    return body.current;
  return resolveRef(*def.output, body);
}

} // namespace kiln::frontend::importer
