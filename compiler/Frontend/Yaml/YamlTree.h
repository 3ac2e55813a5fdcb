//===- YamlTree.h - YAML text to a plain node tree -------------*- C++ -*-===//
//
// Declares the node tree the YAML frontend works on. yaml-cpp reports errors
// by throwing, while kiln (like Debian's LLVM) builds without exceptions, so
// yaml-cpp is confined to YamlTree.cpp, which parses a whole document into
// these plain structs and turns every yaml-cpp exception into a ParseError.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_YAML_YAMLTREE_H
#define KILN_COMPILER_FRONTEND_YAML_YAMLTREE_H

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::yaml {

/// One YAML node with its 1-based source position.
struct Node {
  enum class Kind { Null, Scalar, Sequence, Map };

  Kind kind = Kind::Null;
  /// Text of a scalar.
  std::string value;
  /// Whether a scalar was written plain (unquoted): only plain scalars can be
  /// numbers, booleans or null.
  bool plain = true;
  unsigned line = 0, column = 0;
  /// Sequence items; for a map, the values (in source order).
  std::vector<Node> items;
  /// For a map, the keys; keys[i] maps to items[i].
  std::vector<Node> keys;

  bool isNull() const { return kind == Kind::Null; }
  bool isScalar() const { return kind == Kind::Scalar; }
  bool isSequence() const { return kind == Kind::Sequence; }
  bool isMap() const { return kind == Kind::Map; }

  /// The value under the scalar key |key| of a map, or nullptr.
  const Node *find(std::string_view key) const;
};

/// A syntax error at a 1-based position.
struct ParseError {
  unsigned line = 0, column = 0;
  std::string message;
};

/// Parses |text| holding exactly one YAML document. An empty text gives a
/// Null node. Duplicate keys in a map are an error.
struct ParseResult {
  std::optional<Node> root;
  ParseError error;
};
ParseResult parse(const std::string &text);

/// A readable name of |kind| for messages ("a map", "a sequence", ...).
const char *describe(Node::Kind kind);

} // namespace kiln::yaml

#endif // KILN_COMPILER_FRONTEND_YAML_YAMLTREE_H
