//===- OnnxModel.h - an ONNX file as plain structs -------------*- C++ -*-===//
//
// Declares the ONNX model the ONNX frontend works on. protobuf (and the C++
// exceptions it may throw) is confined to OnnxProto.cpp, which decodes a
// ModelProto into these plain structs: kiln, like Debian's LLVM, builds
// without exceptions, and nothing past the reader needs protobuf. Tensor
// data is decoded here too (raw_data or the typed fields, and external
// data files), so the importer sees numbers, never encodings.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_ONNX_ONNXMODEL_H
#define KILN_COMPILER_FRONTEND_ONNX_ONNXMODEL_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::onnx {

/// TensorProto.DataType values kiln reads.
enum DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kBFloat16 = 16,
};

/// The ONNX name of a data type ("FLOAT", "INT64", ...).
const char *dataTypeName(int32_t type);

/// A constant tensor: an initializer, a Constant node's value or a tensor
/// attribute. Floating-point data is converted to float32 (kiln computes in
/// float32; DOUBLE data is rounded to nearest), integer and boolean data to
/// int64.
struct Tensor {
  std::string name;
  std::vector<int64_t> dims;
  int32_t dataType = kUndefined;
  /// Exactly one of these holds numel(dims) values, by dataType.
  std::vector<float> floats;
  std::vector<int64_t> ints;

  bool isFloat() const;
  int64_t numel() const;
};

/// One attribute of a node.
struct Attribute {
  enum class Kind { Undefined, Float, Int, String, Tensor, Floats, Ints, Strings, Other };
  std::string name;
  Kind kind = Kind::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::optional<onnx::Tensor> t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string name, opType, domain;
  /// Input names ("" for an omitted optional input) and output names.
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;

  const Attribute *find(const std::string &attribute) const;
};

/// A graph input or output: its element type and shape, where a dimension
/// is a number (value >= 0) or a symbol (param, e.g. "batch_size") or
/// unknown (both empty / negative).
struct ValueInfo {
  struct Dim {
    int64_t value = -1;
    std::string param;
  };
  std::string name;
  int32_t elemType = kUndefined;
  bool hasShape = false;
  std::vector<Dim> dims;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs, outputs;
};

struct Model {
  int64_t irVersion = 0;
  std::string producerName, producerVersion;
  /// The opset of the default domain ("" or "ai.onnx"); 0 if not imported.
  int64_t opset = 0;
  /// Other domains the model imports, for messages.
  std::vector<std::string> otherDomains;
  Graph graph;
};

/// The most bytes a protobuf message may take (protobuf's own limit): a
/// larger model keeps its weights in external data files.
constexpr uint64_t kMaxProtobufBytes = (uint64_t(1) << 31) - 1;

/// Decodes the |size| bytes of an ONNX file, named |path| in messages;
/// external data files are read relative to |path|'s folder. On failure
/// returns false with one message (without the path) in |error|.
bool parseModel(const uint8_t *bytes, size_t size, const std::string &path,
                Model &model, std::string &error);

/// Reads and decodes the ONNX file at |path| (at most kMaxProtobufBytes).
bool readModel(const std::string &path, Model &model, std::string &error);

} // namespace kiln::onnx

#endif // KILN_COMPILER_FRONTEND_ONNX_ONNXMODEL_H
