//===- OpTable.h - the ops a model spec can use ----------------*- C++ -*-===//
//
// Declares the table of YAML ops: for each, its fields (PyTorch argument
// names, types, defaults), how many inputs it takes, the PyTorch module class
// it stands for, and the function that builds its kiln IR. The importer
// evaluates and type-checks the fields before calling the builder, so
// builders read typed values and only check what depends on input shapes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_YAML_OPTABLE_H
#define KILN_COMPILER_FRONTEND_YAML_OPTABLE_H

#include "compiler/Frontend/Yaml/Expr.h"
#include "compiler/Frontend/Yaml/YamlTree.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"

#include <array>
#include <functional>

namespace kiln::frontend {

/// The type a field's value must have.
enum class FieldType {
  Int,     ///< an integer
  IntPair, ///< an integer n (meaning [n, n]) or a list [h, w]
  IntList, ///< an integer n (meaning [n]) or a list of integers
  Bool,    ///< true or false
  Float,   ///< a number
  IntOrNone, ///< an integer or null (Python None)
  FloatOrNone, ///< a number or null
};

struct FieldSpec {
  const char *name;
  FieldType type;
  /// The default as YAML text, or nullptr when the field is required.
  const char *defaultValue;
};

/// How a layer names its inputs.
enum class Arity {
  None, ///< no tensor: a module's own buffer or parameter, bound to its name
  One,  ///< one tensor, by default the previous layer's output
  Two,  ///< `inputs: [a, b]`
  Many, ///< `inputs: [a, b, ...]`, at least one
};

class OpBuildContext;

struct OpSpec {
  const char *name;
  /// PyTorch module class when the op may be a named module (nn.Conv2d ...);
  /// nullptr for functions (torch.cat, +, Tensor.view), which cannot be named.
  const char *moduleClass;
  Arity arity;
  /// Whether the op owns parameters, so it must be a named module.
  bool hasParams;
  std::vector<FieldSpec> fields;
  /// Builds the IR; returns the op that stands for the module call, or
  /// nullptr after emitting an error.
  std::function<mlir::Operation *(OpBuildContext &)> build;
};

/// Returns the spec of op |name| or nullptr.
const OpSpec *lookupOp(llvm::StringRef name);
/// All ops, for suggestions and docs.
llvm::ArrayRef<OpSpec> allOps();

/// What a builder gets: the insertion point, the layer's location and module
/// path, its input values and its evaluated fields.
class OpBuildContext {
public:
  OpBuildContext(mlir::OpBuilder &builder, mlir::Location loc,
                 std::string path, std::string moduleClass)
      : builder(builder), loc(loc), path(std::move(path)),
        moduleClass(std::move(moduleClass)) {}

  mlir::OpBuilder &builder;
  /// The layer's location.
  mlir::Location loc;
  /// Module path ("layer1.0.conv1"), empty for an unnamed layer.
  std::string path;
  /// The module class the report shows; a builder may refine it
  /// (BatchNorm1d / BatchNorm2d).
  std::string moduleClass;
  llvm::SmallVector<mlir::Value> inputs;

  /// Evaluated fields, with the node each came from (null for defaults).
  struct Field {
    expr::Value value;
    mlir::Location loc;
  };
  llvm::StringMap<Field> fields;

  int64_t getInt(llvm::StringRef name) const;
  std::array<int64_t, 2> getPair(llvm::StringRef name) const;
  llvm::SmallVector<int64_t> getInts(llvm::StringRef name) const;
  bool getBool(llvm::StringRef name) const;
  double getFloat(llvm::StringRef name) const;
  /// Whether field |name| holds a value other than None.
  bool has(llvm::StringRef name) const;

  /// The type of input |i|.
  mlir::RankedTensorType inputType(unsigned i = 0) const;

  /// Emits an error at field |name| (at the layer when it is not written).
  mlir::InFlightDiagnostic emitError(llvm::StringRef field = {}) const;

  /// Rejects tensors of more than 2^40 elements (a typo'd size), so that no
  /// later computation on sizes overflows.
  mlir::LogicalResult checkSize(mlir::RankedTensorType type) const;

  /// Creates `kiln.param "<path>.<suffix>"` of |shape|.
  mlir::Value param(llvm::StringRef suffix, llvm::ArrayRef<int64_t> shape,
                    ParamRole role = ParamRole::parameter);

  /// Creates an |OpT| after inferring its result types; on a shape error the
  /// op's rule has reported it at the layer's location and this returns null.
  template <typename OpT>
  OpT create(mlir::ValueRange operands,
             llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    llvm::SmallVector<mlir::Type> types;
    mlir::MLIRContext *ctx = builder.getContext();
    if (mlir::failed(OpT::inferReturnTypes(
            ctx, loc, operands, mlir::DictionaryAttr::get(ctx, attrs),
            /*properties=*/nullptr, /*regions=*/{}, types)))
      return nullptr;
    for (mlir::Type type : types)
      if (mlir::failed(checkSize(llvm::cast<mlir::RankedTensorType>(type))))
        return nullptr;
    mlir::OperationState state(loc, OpT::getOperationName());
    state.addOperands(operands);
    state.addAttributes(attrs);
    state.addTypes(types);
    return llvm::cast<OpT>(builder.create(state));
  }

  mlir::NamedAttribute attr(llvm::StringRef name, mlir::Attribute value) {
    return builder.getNamedAttr(name, value);
  }
  mlir::NamedAttribute i64(llvm::StringRef name, int64_t value) {
    return attr(name, builder.getI64IntegerAttr(value));
  }
  mlir::NamedAttribute array(llvm::StringRef name,
                             llvm::ArrayRef<int64_t> values) {
    return attr(name, builder.getDenseI64ArrayAttr(values));
  }
};

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_YAML_OPTABLE_H
