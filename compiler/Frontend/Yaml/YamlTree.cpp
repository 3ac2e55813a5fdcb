//===- YamlTree.cpp - YAML text to a plain node tree ----------------------===//
//
// This file implements kiln::yaml::parse with yaml-cpp's event parser. It is
// the only translation unit built with exceptions: every yaml-cpp exception
// (and std::exception, e.g. bad_alloc on absurd input) is caught here and
// becomes a ParseError with the position yaml-cpp reported.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/YamlTree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <sstream>

using namespace kiln::yaml;

const Node *Node::find(std::string_view key) const {
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i].isScalar() && keys[i].value == key)
      return &items[i];
  return nullptr;
}

const char *kiln::yaml::describe(Node::Kind kind) {
  switch (kind) {
  case Node::Kind::Null:
    return "nothing";
  case Node::Kind::Scalar:
    return "a scalar";
  case Node::Kind::Sequence:
    return "a sequence";
  case Node::Kind::Map:
    return "a map";
  }
  return "a node";
}

namespace {

/// The most nodes a document may expand to (aliases included), and the
/// deepest it may nest: model specs have a few thousand nodes, nested a
/// dozen deep. The importer walks the tree recursively, so depth is bounded
/// here, with a message, before anything can run out of stack.
constexpr uint64_t kMaxNodes = 1'000'000;
constexpr size_t kMaxDepth = 200;

/// An error found while building the tree (not by yaml-cpp itself).
struct TreeError {
  ParseError error;
};

/// Builds the Node tree from parser events.
class TreeBuilder : public YAML::EventHandler {
public:
  explicit TreeBuilder(const std::string &text) : text(text) {}
  std::optional<Node> root;

  void OnDocumentStart(const YAML::Mark &) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark &mark, YAML::anchor_t anchor) override {
    count(1, mark);
    add(make(Node::Kind::Null, mark), anchor, 1);
  }

  void OnAlias(const YAML::Mark &mark, YAML::anchor_t anchor) override {
    auto it = anchors.find(anchor);
    if (it == anchors.end())
      throw TreeError{{line(mark), column(mark), "unknown alias"}};
    // An alias is a copy of its anchor's tree: count it before copying, so
    // that nested aliases ("billion laughs") cannot blow up.
    count(it->second.size, mark);
    Node copy = it->second.node;
    copy.line = line(mark);
    copy.column = column(mark);
    add(std::move(copy), 0, it->second.size);
  }

  void OnScalar(const YAML::Mark &mark, const std::string &tag,
                YAML::anchor_t anchor, const std::string &value) override {
    Node node = make(Node::Kind::Scalar, mark);
    node.value = value;
    // yaml-cpp tags plain scalars "?" and quoted or block scalars "!".
    node.plain = tag == "?";
    if (!tag.empty() && tag != "?" && tag != "!")
      throw TreeError{{node.line, node.column,
                       "YAML tags ('" + tag + "') are not supported"}};
    checkQuoteClosed(mark);
    count(1, mark);
    add(std::move(node), anchor, 1);
  }

  void OnSequenceStart(const YAML::Mark &mark, const std::string &,
                       YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(make(Node::Kind::Sequence, mark), anchor, mark);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark &mark, const std::string &,
                  YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(make(Node::Kind::Map, mark), anchor, mark);
  }
  void OnMapEnd() override {
    Node &map = stack.back().node;
    if (map.keys.size() != map.items.size())
      throw TreeError{{map.line, map.column, "map key without a value"}};
    close();
  }

private:
  const std::string &text;

  /// yaml-cpp 0.7 takes a quoted scalar that is never closed as running to
  /// the end of the file (swallowing the rest of the model); refuse it.
  void checkQuoteClosed(const YAML::Mark &mark) const {
    if (mark.is_null() || mark.pos < 0 || size_t(mark.pos) >= text.size())
      return;
    char quote = text[size_t(mark.pos)];
    if (quote != '"' && quote != '\'')
      return;
    for (size_t i = size_t(mark.pos) + 1; i < text.size(); ++i) {
      if (quote == '"' && text[i] == '\\') {
        ++i; // an escaped character
      } else if (text[i] == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i; // '' is a quote inside a single-quoted scalar
          continue;
        }
        return;
      }
    }
    throw TreeError{{line(mark), column(mark),
                     std::string("this ") +
                         (quote == '"' ? "double" : "single") +
                         "-quoted string is never closed"}};
  }

  struct Open {
    Node node;
    YAML::anchor_t anchor;
    uint64_t nodesBefore; ///< |nodes| when it opened
  };
  /// An anchored tree and its number of nodes.
  struct Anchored {
    Node node;
    uint64_t size;
  };
  std::vector<Open> stack;
  std::map<YAML::anchor_t, Anchored> anchors;
  /// Nodes of the document so far, aliases counted as the trees they copy.
  uint64_t nodes = 0;

  void count(uint64_t more, const YAML::Mark &mark) {
    nodes += more;
    if (nodes > kMaxNodes)
      throw TreeError{{line(mark), column(mark),
                       "the document grows beyond " +
                           std::to_string(kMaxNodes) +
                           " nodes (through aliases of aliases?); a model "
                           "spec is far smaller"}};
  }
  void open(Node node, YAML::anchor_t anchor, const YAML::Mark &mark) {
    if (stack.size() >= kMaxDepth)
      throw TreeError{{node.line, node.column,
                       "collections nest more than " +
                           std::to_string(kMaxDepth) + " deep"}};
    count(1, mark);
    stack.push_back({std::move(node), anchor, nodes - 1});
  }

  static unsigned line(const YAML::Mark &mark) {
    return mark.is_null() ? 0 : unsigned(mark.line + 1);
  }
  static unsigned column(const YAML::Mark &mark) {
    return mark.is_null() ? 0 : unsigned(mark.column + 1);
  }
  static Node make(Node::Kind kind, const YAML::Mark &mark) {
    Node node;
    node.kind = kind;
    node.line = line(mark);
    node.column = column(mark);
    return node;
  }

  void close() {
    Open open = std::move(stack.back());
    stack.pop_back();
    add(std::move(open.node), open.anchor, nodes - open.nodesBefore);
  }

  /// Attaches a finished |node| of |size| nodes to the open collection, or
  /// makes it the root.
  void add(Node node, YAML::anchor_t anchor, uint64_t size) {
    if (anchor)
      anchors[anchor] = {node, size};
    if (stack.empty()) {
      root = std::move(node);
      return;
    }
    Node &parent = stack.back().node;
    if (parent.kind == Node::Kind::Sequence) {
      inheritPosition(node, parent);
      parent.items.push_back(std::move(node));
      return;
    }
    // A map alternates keys and values.
    if (parent.keys.size() == parent.items.size()) {
      if (!node.isScalar())
        throw TreeError{{node.line, node.column,
                         "map keys must be scalars, not " +
                             std::string(describe(node.kind))}};
      for (const Node &key : parent.keys)
        if (key.value == node.value)
          throw TreeError{{node.line, node.column,
                           "duplicate key '" + node.value +
                               "' (first at line " + std::to_string(key.line) +
                               ")"}};
      parent.keys.push_back(std::move(node));
    } else {
      // A value written as nothing ("key:") has no mark of its own.
      if (node.line == 0) {
        node.line = parent.keys.back().line;
        node.column = parent.keys.back().column;
      }
      parent.items.push_back(std::move(node));
    }
  }

  static void inheritPosition(Node &node, const Node &parent) {
    if (node.line == 0) {
      node.line = parent.line;
      node.column = parent.column;
    }
  }
};

} // namespace

ParseResult kiln::yaml::parse(const std::string &text) {
  ParseResult result;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    TreeBuilder builder(text);
    if (!parser.HandleNextDocument(builder)) {
      result.root = Node(); // An empty stream is an empty document.
      return result;
    }
    if (!builder.root)
      builder.root = Node();
    TreeBuilder extra(text);
    if (parser.HandleNextDocument(extra)) {
      unsigned line = extra.root ? extra.root->line : 0;
      result.error = {line, 1, "expected a single YAML document, found more"};
      return result;
    }
    result.root = std::move(builder.root);
  } catch (const TreeError &e) {
    result.error = e.error;
  } catch (const YAML::Exception &e) {
    result.error = {e.mark.is_null() ? 0u : unsigned(e.mark.line + 1),
                    e.mark.is_null() ? 0u : unsigned(e.mark.column + 1),
                    e.msg};
  } catch (const std::exception &e) {
    result.error = {0, 0, std::string("cannot parse YAML: ") + e.what()};
  }
  return result;
}
