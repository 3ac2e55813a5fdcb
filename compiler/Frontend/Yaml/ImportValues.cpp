//===- ImportValues.cpp - YAML nodes to spec values -----------------------===//
//
// This file turns YAML nodes into the values of a spec: plain scalars by the
// YAML 1.2 core schema, `$name` and `${expr}` by the evaluator of Expr.cpp
// (with errors at the column inside the expression), strings, and the vars
// of a model or block; and it checks a value against the type of a field.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImporterImpl.h"

#include <cmath>

using namespace mlir;

namespace kiln::frontend::importer {

/// Bound of integer fields and input dimensions (|v| < 2^31), so that shape
/// arithmetic stays far from int64 overflow.
constexpr int64_t kMaxExtent = int64_t(1) << 31;

/// Parses a plain YAML scalar by the YAML 1.2 core schema.
Value plainScalar(StringRef text) {
  if (text == "true" || text == "True" || text == "TRUE")
    return Value::ofBool(true);
  if (text == "false" || text == "False" || text == "FALSE")
    return Value::ofBool(false);
  if (text.empty() || text == "~" || text == "null" || text == "Null" ||
      text == "NULL")
    return Value::none();
  int64_t i;
  if (!text.getAsInteger(0, i))
    return Value::ofInt(i);
  double d;
  if (!text.getAsDouble(d) && std::isfinite(d) &&
      text.find_first_not_of("+-.0123456789eE") == StringRef::npos)
    return Value::ofFloat(d);
  return Value::ofString(text.str());
}

std::optional<Value> Importer::evaluateScalar(const Node &node,
                                              const Env &env) {
  StringRef text = node.value;
  if (!text.starts_with("$"))
    return node.plain ? plainScalar(text) : Value::ofString(text.str());
  if (text.starts_with("$$"))
    return Value::ofString(text.drop_front().str());
  // Columns of the expression text: skip the quote of a quoted scalar.
  unsigned base = node.plain ? 0 : 1;
  StringRef source;
  unsigned offset;
  if (text.starts_with("${")) {
    if (!text.ends_with("}")) {
      error(node, base) << "expression '" << text << "' lacks its closing '}'";
      return std::nullopt;
    }
    source = text.drop_front(2).drop_back();
    offset = 2;
  } else {
    source = text.drop_front();
    offset = 1;
    if (!isIdentifier(source)) {
      error(node, base) << "'" << text
                        << "' is neither a variable ($name) nor an "
                           "expression (${...}); write '$$' for a literal '$'";
      return std::nullopt;
    }
  }
  expr::Result result = expr::evaluate(
      source, [&](StringRef name) { return env.lookup(name); });
  if (result.value)
    return std::move(result.value);
  error(node, base + offset + unsigned(result.errorOffset)) << result.error;
  return std::nullopt;
}

std::optional<Value> Importer::evaluate(const Node &node, const Env &env) {
  switch (node.kind) {
  case Node::Kind::Null:
    return Value::none();
  case Node::Kind::Scalar:
    return evaluateScalar(node, env);
  case Node::Kind::Sequence: {
    std::vector<Value> items;
    for (const Node &item : node.items) {
      std::optional<Value> v = evaluate(item, env);
      if (!v)
        return std::nullopt;
      items.push_back(std::move(*v));
    }
    return Value::ofList(std::move(items));
  }
  case Node::Kind::Map:
    error(node) << "expected a value, got a map";
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Value> Importer::coerce(const Node &node, Value value,
                                      FieldType type, StringRef what) {
  auto mismatch = [&](StringRef expected) -> std::optional<Value> {
    error(node) << "'" << what << "' must be " << expected << ", got "
                << value.typeName() << " (" << value.str() << ")";
    return std::nullopt;
  };
  // Sizes are bounded so shape arithmetic cannot overflow.
  auto isInt = [](const Value &v) {
    return v.kind == Value::Kind::Int && v.integer > -kMaxExtent &&
           v.integer < kMaxExtent;
  };
  auto tooLarge = [](const Value &v) {
    if (v.kind == Value::Kind::Int)
      return v.integer <= -kMaxExtent || v.integer >= kMaxExtent;
    return v.kind == Value::Kind::List &&
           llvm::any_of(v.list, [](const Value &item) {
             return item.kind == Value::Kind::Int &&
                    (item.integer <= -kMaxExtent || item.integer >= kMaxExtent);
           });
  };
  if (tooLarge(value)) {
    error(node) << "'" << what << "' is out of range: " << value.str();
    return std::nullopt;
  }
  switch (type) {
  case FieldType::Int:
    return isInt(value) ? std::optional<Value>(value) : mismatch("an integer");
  case FieldType::IntOrNone:
    return isInt(value) || value.kind == Value::Kind::None
               ? std::optional<Value>(value)
               : mismatch("an integer or null");
  case FieldType::IntPair:
    if (isInt(value) || value.kind == Value::Kind::None)
      return value;
    if (value.kind == Value::Kind::List && value.list.size() == 2 &&
        llvm::all_of(value.list, isInt))
      return value;
    return mismatch("an integer or a list of two integers");
  case FieldType::IntList:
    if (isInt(value))
      return value;
    if (value.kind == Value::Kind::List && !value.list.empty() &&
        llvm::all_of(value.list, isInt))
      return value;
    return mismatch("an integer or a non-empty list of integers");
  case FieldType::Bool:
    return value.kind == Value::Kind::Bool ? std::optional<Value>(value)
                                           : mismatch("true or false");
  case FieldType::Float:
    if (value.kind == Value::Kind::Int || value.kind == Value::Kind::Float)
      return Value::ofFloat(value.toDouble());
    return mismatch("a number");
  case FieldType::FloatOrNone:
    if (value.kind == Value::Kind::Int || value.kind == Value::Kind::Float)
      return Value::ofFloat(value.toDouble());
    if (value.kind == Value::Kind::None)
      return value;
    return mismatch("a number or null");
  }
  return std::nullopt;
}

std::optional<Value> Importer::evaluateAs(const Node &node, const Env &env,
                                          FieldType type, StringRef what) {
  std::optional<Value> value = evaluate(node, env);
  if (!value)
    return std::nullopt;
  return coerce(node, std::move(*value), type, what);
}

std::optional<std::string> Importer::evaluateString(const Node &node,
                                                    const Env &env,
                                                    StringRef what) {
  std::optional<Value> value = evaluate(node, env);
  if (!value)
    return std::nullopt;
  if (value->kind == Value::Kind::String)
    return value->string;
  if (value->kind == Value::Kind::Int) // Sequential children: `name: 0`.
    return std::to_string(value->integer);
  error(node) << "'" << what << "' must be a string, got " << value->typeName();
  return std::nullopt;
}

LogicalResult Importer::evaluateVars(const Node &node, Env &env,
                                     StringRef what) {
  if (failed(expectKind(node, Node::Kind::Map, what)))
    return failure();
  for (size_t i = 0; i < node.keys.size(); ++i) {
    if (!isIdentifier(node.keys[i].value))
      return error(node.keys[i]) << "'" << node.keys[i].value
                                 << "' is not a valid variable name";
    std::optional<Value> value = evaluate(node.items[i], env);
    if (!value)
      return failure();
    env.vars[node.keys[i].value] = std::move(*value);
  }
  return success();
}

} // namespace kiln::frontend::importer
