//===- ImporterImpl.h - the YAML importer's shared state -------*- C++ -*-===//
//
// Declares the importer class of the YAML frontend, private to this folder:
// its methods are defined in ImportModel.cpp (files, includes and the model's
// top level), ImportLayers.cpp (layers, repeat and groups), ImportBlocks.cpp
// (block definitions and calls), ImportValues.cpp (YAML nodes to values) and
// ImportNames.cpp (names, references and the module registry).
//
// A spec is walked once, in layer order, building IR as it goes, so every
// layer sees the shapes of its inputs (channel counts are inferred, never
// repeated). The walk keeps:
//
//   * a Scope per model body, block body and layer group: the module-path
//     prefix, the values named so far (a later layer of the same name
//     shadows an earlier one, as Python rebinding does) and the previous
//     layer's output, which is a layer's input unless it says otherwise;
//   * an Env of expression variables (model vars, block params and vars,
//     `index` inside a repeat, the builtins `batch` and `in_channels`);
//   * the registry of module paths, which rejects duplicate names except a
//     parameter-free module called again (the shared `relu` of a ResNet
//     block);
//   * the location of the block call being expanded, so ops and errors
//     inside a block point at the block's text and say where it was called.
//
// The first error stops the import: users get one diagnostic, with notes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_YAML_IMPORTERIMPL_H
#define KILN_COMPILER_FRONTEND_YAML_IMPORTERIMPL_H

#include "compiler/Frontend/Yaml/Expr.h"
#include "compiler/Frontend/Yaml/ImportModel.h"
#include "compiler/Frontend/Yaml/OpTable.h"
#include "compiler/Frontend/Yaml/YamlTree.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::frontend::importer {

using expr::Value;
using yaml::Node;

/// Values a layer produced: one, or several for split and chunk.
using Values = llvm::SmallVector<mlir::Value, 2>;

/// Expression variables, chained to an enclosing environment.
struct Env {
  const Env *parent = nullptr;
  llvm::StringMap<Value> vars;

  const Value *lookup(llvm::StringRef name) const {
    auto it = vars.find(name);
    if (it != vars.end())
      return &it->second;
    return parent ? parent->lookup(name) : nullptr;
  }
};

/// Names and the running value of a model, block or group body.
struct Scope {
  /// Enclosing scope whose names are visible (null for block bodies, which
  /// see only their input, as a PyTorch module's forward does).
  Scope *parent = nullptr;
  /// Module path of the body ("layer1.0"); empty at the top.
  std::string prefix;
  llvm::StringMap<Values> names;
  /// Output of the previous layer.
  Values current;
  const Env *env = nullptr;

  const Values *lookup(llvm::StringRef name) const {
    auto it = names.find(name);
    if (it != names.end())
      return &it->second;
    return parent ? parent->lookup(name) : nullptr;
  }
  void collectNames(llvm::SmallVectorImpl<llvm::StringRef> &out) const {
    for (const auto &entry : names)
      out.push_back(entry.getKey());
    if (parent)
      parent->collectNames(out);
  }
};

/// A block definition of the spec.
struct BlockDef {
  /// The file that defines it (the model or an included file).
  std::string file;
  const Node *node = nullptr;
  const Node *params = nullptr;
  const Node *vars = nullptr;
  const Node *layers = nullptr;
  const Node *output = nullptr;
  std::string inputName = "input";
};

/// A module path claimed by a layer, group or block call.
struct ModuleRecord {
  bool leaf;
  /// For leaves: the op and whether it owns parameters.
  const OpSpec *op;
  std::string className;
  mlir::Location loc;
};

// Names (ImportNames.cpp).
std::string joinPath(llvm::StringRef prefix, llvm::StringRef name);
void suggest(mlir::InFlightDiagnostic &diag, llvm::StringRef word,
             llvm::ArrayRef<llvm::StringRef> candidates);
bool isIdentifier(llvm::StringRef s);
bool isModuleName(llvm::StringRef s);

// Values (ImportValues.cpp).
Value plainScalar(llvm::StringRef text);

class Importer {
public:
  Importer(mlir::MLIRContext &context, llvm::SourceMgr &sourceMgr,
           const ImportOptions &options)
      : context(context), builder(&context), sourceMgr(sourceMgr),
        options(options) {}

  /// Imports the model at |path|.
  mlir::OwningOpRef<mlir::ModuleOp> run(llvm::StringRef path);

private:
  mlir::MLIRContext &context;
  mlir::OpBuilder builder;
  llvm::SourceMgr &sourceMgr;
  const ImportOptions &options;
  /// The file the nodes being read come from.
  std::string file;
  /// Parsed trees of the model file and the files it includes.
  std::vector<std::unique_ptr<Node>> trees;
  /// Included files, to detect include cycles and repeated includes.
  llvm::StringSet<> included;

  llvm::StringMap<BlockDef> blocks;
  llvm::StringMap<ModuleRecord> modules;
  Env globals;
  /// Location of the innermost block call being expanded.
  std::optional<mlir::Location> caller;
  /// Blocks being expanded, to reject a block that calls itself.
  llvm::StringSet<> activeBlocks;
  /// Ops built so far, to stop runaway specs (`repeat: 100000000`).
  int64_t opCount = 0;
  static constexpr int64_t kMaxOps = 1000000;

  //===--------------------------------------------------------------------===//
  // Locations and errors
  //===--------------------------------------------------------------------===//

  mlir::Location fileLoc(const Node &node, unsigned extraColumn = 0) {
    return mlir::FileLineColLoc::get(&context, file, node.line,
                                     node.column + extraColumn);
  }

  /// The location of |node|, named |name| when given, inside the block call
  /// being expanded.
  mlir::Location loc(const Node &node, llvm::StringRef name = {},
                     unsigned extraColumn = 0) {
    mlir::Location result = fileLoc(node, extraColumn);
    if (!name.empty())
      result =
          mlir::NameLoc::get(mlir::StringAttr::get(&context, name), result);
    if (caller)
      result = mlir::CallSiteLoc::get(result, *caller);
    return result;
  }

  mlir::InFlightDiagnostic error(const Node &node, unsigned extraColumn = 0) {
    return mlir::emitError(loc(node, {}, extraColumn));
  }

  /// Checks that |node| is a map whose keys are all in |allowed|.
  mlir::LogicalResult checkKeys(const Node &node,
                                llvm::ArrayRef<llvm::StringRef> allowed,
                                llvm::StringRef what) {
    for (const Node &key : node.keys) {
      if (llvm::is_contained(allowed, key.value))
        continue;
      auto diag = error(key) << "unknown field '" << key.value << "' in "
                             << what;
      suggest(diag, key.value, allowed);
      return mlir::failure();
    }
    return mlir::success();
  }

  mlir::LogicalResult expectKind(const Node &node, Node::Kind kind,
                                 llvm::StringRef what) {
    if (node.kind == kind)
      return mlir::success();
    return error(node) << what << " must be " << yaml::describe(kind)
                       << ", got " << yaml::describe(node.kind);
  }

  //===--------------------------------------------------------------------===//
  // Values and expressions (ImportValues.cpp)
  //===--------------------------------------------------------------------===//

  /// Evaluates a YAML node to a value: plain scalars are numbers, booleans,
  /// null or strings; `$name` and `${expr}` are expressions over |env|.
  std::optional<Value> evaluate(const Node &node, const Env &env);
  std::optional<Value> evaluateScalar(const Node &node, const Env &env);

  /// Evaluates |node| and checks it has |type|; |what| names it in errors.
  std::optional<Value> evaluateAs(const Node &node, const Env &env,
                                  FieldType type, llvm::StringRef what);
  std::optional<Value> coerce(const Node &node, Value value, FieldType type,
                              llvm::StringRef what);

  /// Evaluates |node| as a string (a name, a class).
  std::optional<std::string> evaluateString(const Node &node, const Env &env,
                                            llvm::StringRef what);
  mlir::LogicalResult evaluateVars(const Node &node, Env &env,
                                   llvm::StringRef what);

  //===--------------------------------------------------------------------===//
  // Spec walk
  //===--------------------------------------------------------------------===//

  // Files and the model (ImportModel.cpp).
  const Node *load(llvm::StringRef path, std::optional<mlir::Location> at);
  mlir::LogicalResult parseIncludes(const Node &node);
  mlir::OwningOpRef<mlir::ModuleOp> importModel(const Node &root);

  // Names (ImportNames.cpp).
  mlir::FailureOr<Values> resolveRef(const Node &node, const Scope &scope);
  mlir::LogicalResult registerModule(llvm::StringRef path, ModuleRecord record,
                                     const Node &at);

  // Layers (ImportLayers.cpp).
  mlir::LogicalResult processLayers(const Node &list, Scope &scope);
  mlir::LogicalResult processLayer(const Node &layer, Scope &scope);
  mlir::FailureOr<Values> instantiate(const Node &layer, llvm::StringRef name,
                                      const Values &inputs, Scope &scope,
                                      const Env &env, const Node *overrides);
  mlir::FailureOr<Values> buildOp(const Node &layer, const OpSpec &spec,
                                  llvm::StringRef name, const Values &inputs,
                                  Scope &scope, const Env &env,
                                  const Node *overrides);
  mlir::FailureOr<Values> buildGroup(const Node &layer, llvm::StringRef name,
                                     const Values &inputs, Scope &scope,
                                     const Env &env);

  // Blocks (ImportBlocks.cpp).
  mlir::LogicalResult parseBlocks(const Node &node);
  mlir::FailureOr<Values> callBlock(const Node &layer, llvm::StringRef name,
                                    const Values &inputs, Scope &scope,
                                    const Env &env, const Node *overrides);
};

} // namespace kiln::frontend::importer

#endif // KILN_COMPILER_FRONTEND_YAML_IMPORTERIMPL_H
