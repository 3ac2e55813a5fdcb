//===- OnnxImporter.h - the ONNX importer's shared state -------*- C++ -*-===//
//
// Declares the importer class of the ONNX frontend, private to this folder:
// ImportOnnx.cpp walks the graph (order, inputs, outputs, module paths,
// errors), OnnxOps.cpp converts the compute ops to kiln ops, and
// OnnxConstants.cpp evaluates nodes whose inputs are all constants (the
// Shape / Gather / Unsqueeze / Concat chains exporters write for reshapes).
//
// Every ONNX value is either an activation (a kiln SSA value) or a constant
// (an initializer, a Constant node, or a folded node): constants become
// `kiln.param`s only where a layer takes them as weights. A node that
// cannot be converted is reported and its outputs are marked failed, so
// the walk goes on and every unsupported node is listed in one run; nodes
// downstream of a failed one are skipped silently.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_ONNX_ONNXIMPORTER_H
#define KILN_COMPILER_FRONTEND_ONNX_ONNXIMPORTER_H

#include "compiler/Frontend/Onnx/ImportOnnx.h"
#include "compiler/Frontend/Onnx/OnnxModel.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <set>
#include <memory>
#include <string>

namespace kiln::onnx {

/// A constant tensor value: float or integer data, row-major.
struct Constant {
  std::vector<int64_t> dims;
  bool isFloat = true;
  std::vector<float> floats;
  std::vector<int64_t> ints;

  int64_t numel() const;
  /// Element |i| as a double (whichever kind holds it).
  double at(int64_t i) const;
  static std::shared_ptr<Constant> ofInts(std::vector<int64_t> dims,
                                          std::vector<int64_t> values);
  static std::shared_ptr<Constant> ofFloats(std::vector<int64_t> dims,
                                            std::vector<float> values);
};

/// An ONNX value: exactly one of |value| and |constant| is set.
struct OnnxValue {
  mlir::Value value;
  std::shared_ptr<const Constant> constant;
};

class Importer;

/// What a converter sees: the node, its inputs, and helpers that report
/// errors at the node.
class NodeContext {
public:
  NodeContext(Importer &importer, const Node &node, mlir::Location loc)
      : importer(importer), node(node), loc(loc) {}

  Importer &importer;
  const Node &node;
  mlir::Location loc;
  /// Inputs by position; an omitted optional input is empty.
  std::vector<OnnxValue> inputs;
  /// Set by the converter: one per node output.
  std::vector<OnnxValue> outputs;
  /// The op that stands for the module call, when the node is one.
  mlir::Operation *layerOp = nullptr;

  mlir::InFlightDiagnostic error();
  bool hasInput(size_t i) const {
    return i < inputs.size() && (inputs[i].value || inputs[i].constant);
  }
  /// Input |i| as an activation, or an error naming |what|.
  mlir::FailureOr<mlir::Value> activation(size_t i, llvm::StringRef what);
  /// Input |i| as a constant, or an error naming |what|.
  mlir::FailureOr<std::shared_ptr<const Constant>> constant(size_t i,
                                                            llvm::StringRef what);
  mlir::RankedTensorType typeOf(mlir::Value v) const {
    return llvm::cast<mlir::RankedTensorType>(v.getType());
  }

  // Attributes, checked for their kind (an error names the attribute).
  const Attribute *attr(llvm::StringRef name) const;
  mlir::FailureOr<int64_t> getInt(llvm::StringRef name, int64_t otherwise);
  mlir::FailureOr<float> getFloat(llvm::StringRef name, float otherwise);
  mlir::FailureOr<std::string> getString(llvm::StringRef name,
                                         llvm::StringRef otherwise);
  mlir::FailureOr<std::vector<int64_t>>
  getInts(llvm::StringRef name, std::vector<int64_t> otherwise);
  /// Fails, naming them, if the node has attributes outside |known|.
  mlir::LogicalResult expectAttributes(llvm::ArrayRef<llvm::StringRef> known);

  /// The module path weights of this node are named after.
  std::string weightPath();
  /// A `kiln.param "<weightPath>.<suffix>"` holding |data| (shape |dims|).
  mlir::Value param(llvm::StringRef suffix, llvm::ArrayRef<int64_t> dims,
                    std::vector<float> data,
                    ParamRole role = ParamRole::parameter);

  /// Input |i|, a constant, as a weight of the graph (an operand of an
  /// elementwise op: a per-channel scale, a normalization constant): a
  /// `kiln.param` named by the initializer when its name is a state_dict
  /// key (`features.1.0.layer_scale`), else `<weightPath>.constant`; a
  /// scalar has shape [1].
  mlir::Value constantParam(size_t i);

  /// Creates an |OpT| after inferring its result types; a shape error is
  /// reported at the node and the result is null.
  template <typename OpT>
  OpT create(mlir::ValueRange operands,
             llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  mlir::OpBuilder &builder();
  mlir::NamedAttribute i64(llvm::StringRef name, int64_t value);
  mlir::NamedAttribute array(llvm::StringRef name,
                             llvm::ArrayRef<int64_t> values);
  mlir::NamedAttribute unit(llvm::StringRef name);
};

using Converter = mlir::LogicalResult (*)(NodeContext &);

/// The converter of ONNX op |opType| (default domain), or null.
Converter lookupConverter(llvm::StringRef opType);
/// Whether |opType| is evaluated when all its inputs are constants.
bool isFoldable(llvm::StringRef opType);
/// Evaluates a node on constant inputs (OnnxConstants.cpp).
mlir::LogicalResult foldConstants(NodeContext &c);
/// The PyTorch module class a node of |opType| is a call of (for the
/// report and `kiln import`), or null for functions.
const char *moduleClassOf(const Node &node, mlir::Operation *op);

class Importer {
public:
  Importer(const Model &model, std::string path, mlir::MLIRContext &context,
           const ImportOptions &options, ImportedWeights &weights)
      : model(model), path(std::move(path)), context(context),
        builder(&context), options(options), weights(weights) {}

  mlir::OwningOpRef<mlir::ModuleOp> run();

  const Model &model;
  std::string path;
  mlir::MLIRContext &context;
  mlir::OpBuilder builder;
  const ImportOptions &options;
  ImportedWeights &weights;
  bool failedAny = false;

  /// The location of |node|'s diagnostics.
  mlir::Location nodeLoc(const Node &node);
  /// The location of errors about the model as a whole.
  mlir::Location fileLoc();
  mlir::InFlightDiagnostic error(const Node &node);
  mlir::InFlightDiagnostic error();

  /// Module path and whether the node is a module call (not a function
  /// its parent module's forward calls).
  struct Scope {
    std::string path;
    /// Whether the path is a leaf module (no modules inside it): its nodes
    /// compute that module, and their weights are the module's.
    bool leaf = false;
    bool moduleCall = false;
  };
  std::vector<Scope> scopes; ///< one per node
  /// Module paths given to weight owners, to keep them distinct.
  llvm::StringMap<const Node *> weightOwners;
  std::map<const Node *, std::string> weightPaths;

  /// Nodes of recognised chains (Add(x, 3) → Clip(0, 6) → Div(6), a
  /// hand-written hard sigmoid) that are not converted one by one, and the
  /// last node of each chain with the name of its input x.
  std::set<const Node *> absorbed;
  std::map<const Node *, std::string> hardSigmoidOf;

private:
  std::map<std::string, OnnxValue> values;
  void recognizeChains();
  std::map<std::string, bool> failedValues;

  mlir::LogicalResult checkGraph(std::vector<const Node *> &order);
  void computeScopes();
  mlir::FailureOr<mlir::RankedTensorType> inputType(const ValueInfo &input);
  void convert(const Node &node, size_t index);
};

template <typename OpT>
OpT NodeContext::create(mlir::ValueRange operands,
                        llvm::ArrayRef<mlir::NamedAttribute> attrs) {
  llvm::SmallVector<mlir::Type> types;
  mlir::MLIRContext *ctx = builder().getContext();
  if (mlir::failed(OpT::inferReturnTypes(ctx, loc, operands,
                                   mlir::DictionaryAttr::get(ctx, attrs),
                                   /*properties=*/nullptr, /*regions=*/{},
                                   types))) {
    importer.failedAny = true;
    return nullptr;
  }
  for (mlir::Type type : types) {
    int64_t n = 1;
    for (int64_t d : llvm::cast<mlir::RankedTensorType>(type).getShape())
      if (d < 0 || __builtin_mul_overflow(n, d, &n) || n > (int64_t(1) << 40)) {
        error() << "its result " << type << " is too large";
        return nullptr;
      }
  }
  mlir::OperationState state(loc, OpT::getOperationName());
  state.addOperands(operands);
  state.addAttributes(attrs);
  state.addTypes(types);
  return llvm::cast<OpT>(builder().create(state));
}


} // namespace kiln::onnx

#endif // KILN_COMPILER_FRONTEND_ONNX_ONNXIMPORTER_H
