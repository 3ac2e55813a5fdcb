//===- OnnxProto.cpp - decoding an ONNX protobuf ---------------------------===//
//
// This file implements parseModel and readModel (OnnxModel.h): the only
// code that sees protobuf and Debian's libonnx_proto. It is built with
// -fexceptions (protobuf may throw, e.g. std::bad_alloc on a hostile
// length); every exception becomes an error message here. Everything a
// hostile file can declare is checked before it is used: element counts
// against the bytes that hold them, external data paths (relative, inside
// the model's folder), offsets and lengths against the data file.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxModel.h"

#include "kiln/tensor_io.h"

#include <onnx/onnx_pb.h>

#include <google/protobuf/io/coded_stream.h>

#include <cstring>
#include <exception>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::onnx {

const char *dataTypeName(int32_t type) {
  switch (type) {
  case kFloat: return "FLOAT";
  case kUint8: return "UINT8";
  case kInt8: return "INT8";
  case 4: return "UINT16";
  case 5: return "INT16";
  case kInt32: return "INT32";
  case kInt64: return "INT64";
  case 8: return "STRING";
  case kBool: return "BOOL";
  case kFloat16: return "FLOAT16";
  case kDouble: return "DOUBLE";
  case 12: return "UINT32";
  case 13: return "UINT64";
  case 14: return "COMPLEX64";
  case 15: return "COMPLEX128";
  case kBFloat16: return "BFLOAT16";
  default: return "UNDEFINED";
  }
}

bool Tensor::isFloat() const {
  return dataType == kFloat || dataType == kFloat16 ||
         dataType == kDouble || dataType == kBFloat16;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

const Attribute *Node::find(const std::string &attribute) const {
  for (const Attribute &a : attributes)
    if (a.name == attribute)
      return &a;
  return nullptr;
}

namespace {

/// The most elements one tensor may declare: 2^40 (4 TiB of float32), so
/// that no product of dimensions overflows.
constexpr int64_t kMaxElements = int64_t(1) << 40;

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: normalize.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(112 - e) << 23 | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Bytes an element of |type| takes in raw_data, or 0 for types kiln
/// does not read.
size_t elementBytes(int32_t type) {
  switch (type) {
  case kFloat: case kInt32: return 4;
  case kInt64: case kDouble: return 8;
  case kFloat16: case kBFloat16: return 2;
  case kUint8: case kInt8: case kBool: return 1;
  default: return 0;
  }
}

/// Decodes |n| little-endian elements of |type| from |raw| into |t|.
void decodeRaw(const uint8_t *raw, int64_t n, int32_t type, Tensor &t) {
  auto load = [&](auto value, int64_t i) {
    std::memcpy(&value, raw + i * sizeof(value), sizeof(value));
    return value;
  };
  if (t.isFloat())
    t.floats.resize(size_t(n));
  else
    t.ints.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (type) {
    case kFloat: t.floats[i] = load(float(), i); break;
    case kDouble: t.floats[i] = float(load(double(), i)); break;
    case kFloat16: t.floats[i] = halfToFloat(load(uint16_t(), i)); break;
    case kBFloat16: t.floats[i] = bf16ToFloat(load(uint16_t(), i)); break;
    case kInt32: t.ints[i] = load(int32_t(), i); break;
    case kInt64: t.ints[i] = load(int64_t(), i); break;
    case kUint8: t.ints[i] = load(uint8_t(), i); break;
    case kInt8: t.ints[i] = load(int8_t(), i); break;
    case kBool: t.ints[i] = load(uint8_t(), i) != 0; break;
    }
  }
}

class Decoder {
public:
  explicit Decoder(const std::string &path) : path(path) {
    size_t slash = path.rfind('/');
    folder = slash == std::string::npos ? "." : path.substr(0, slash);
    if (folder.empty())
      folder = "/";
  }

  bool model(const ::onnx::ModelProto &proto, Model &out);

  std::string error;

private:
  std::string path, folder;

  bool fail(const std::string &message) {
    if (error.empty())
      error = message;
    return false;
  }
  bool tensor(const ::onnx::TensorProto &proto, Tensor &out,
              const std::string &what);
  bool externalData(const ::onnx::TensorProto &proto, int64_t n,
                    std::vector<uint8_t> &bytes, const std::string &what);
  bool attribute(const ::onnx::AttributeProto &proto, Attribute &out,
                 const std::string &what);
  void valueInfo(const ::onnx::ValueInfoProto &proto, ValueInfo &out);
};

bool Decoder::externalData(const ::onnx::TensorProto &proto, int64_t n,
                           std::vector<uint8_t> &bytes,
                           const std::string &what) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : proto.external_data()) {
    const std::string &key = entry.key(), &value = entry.value();
    auto number = [&](int64_t &v) {
      char *end = nullptr;
      errno = 0;
      long long parsed = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end || errno || parsed < 0)
        return fail(what + ": external data " + key + " '" + value +
                    "' is not a non-negative integer");
      v = parsed;
      return true;
    };
    if (key == "location")
      location = value;
    else if (key == "offset" ? !number(offset) : key == "length" && !number(length))
      return false;
  }
  if (location.empty())
    return fail(what + ": its data is external but no location is given");
  // The data file lives beside the model: a relative path that stays in
  // its folder (as onnx.checker requires), never an absolute one.
  if (location[0] == '/' || location == ".." ||
      location.rfind("../", 0) == 0 ||
      location.find("/../") != std::string::npos ||
      (location.size() >= 3 &&
       location.compare(location.size() - 3, 3, "/..") == 0))
    return fail(what + ": external data location '" + location +
                "' must be a path inside the model's folder");
  std::string file = folder + "/" + location;
  uint64_t want = uint64_t(n) * elementBytes(proto.data_type());
  if (length >= 0 && uint64_t(length) != want)
    return fail(what + ": external data length " + std::to_string(length) +
                " does not match its " + std::to_string(n) + " elements (" +
                std::to_string(want) + " bytes)");
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(what + ": cannot read its external data file '" + file +
                "': " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(what + ": its external data '" + file +
                "' is not a regular file");
  if (uint64_t(offset) > uint64_t(st.st_size) ||
      want > uint64_t(st.st_size) - uint64_t(offset))
    return fail(what + ": external data '" + file + "' has " +
                std::to_string(st.st_size) + " bytes, too few for " +
                std::to_string(want) + " bytes at offset " +
                std::to_string(offset));
  bytes.resize(size_t(want));
  size_t done = 0;
  while (done < want) {
    ssize_t got = ::pread(fd, bytes.data() + done, want - done,
                          off_t(offset + done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return fail(what + ": cannot read its external data '" + file + "'");
    done += size_t(got);
  }
  return true;
}

bool Decoder::tensor(const ::onnx::TensorProto &proto, Tensor &out,
                     const std::string &what) {
  out.name = proto.name();
  out.dataType = proto.data_type();
  int64_t n = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0)
      return fail(what + " has a negative dimension " + std::to_string(d));
    if (d > kMaxElements || (n *= d) > kMaxElements)
      return fail(what + " has more than 2^40 elements");
    out.dims.push_back(d);
  }
  if (proto.has_segment())
    return fail(what + " is segmented, which kiln does not read");
  size_t bytes = elementBytes(out.dataType);
  if (bytes == 0)
    return fail(what + " has data type " + dataTypeName(out.dataType) +
                "; kiln reads FLOAT, FLOAT16, BFLOAT16, DOUBLE and integer "
                "tensors");
  auto count = [&](int64_t have) {
    if (have == n)
      return true;
    return fail(what + " declares " + std::to_string(n) + " elements but holds " +
                std::to_string(have));
  };
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    std::vector<uint8_t> raw;
    if (!externalData(proto, n, raw, what))
      return false;
    decodeRaw(raw.data(), n, out.dataType, out);
    return true;
  }
  if (proto.has_raw_data()) {
    const std::string &raw = proto.raw_data();
    if (raw.size() % bytes || !count(int64_t(raw.size() / bytes)))
      return fail(what + " has " + std::to_string(raw.size()) +
                  " bytes of data, not " + std::to_string(n) + " elements of " +
                  dataTypeName(out.dataType));
    decodeRaw(reinterpret_cast<const uint8_t *>(raw.data()), n, out.dataType,
              out);
    return true;
  }
  // The typed fields.
  switch (out.dataType) {
  case kFloat:
    if (!count(proto.float_data_size()))
      return false;
    out.floats.assign(proto.float_data().begin(), proto.float_data().end());
    return true;
  case kDouble:
    if (!count(proto.double_data_size()))
      return false;
    for (double v : proto.double_data())
      out.floats.push_back(float(v));
    return true;
  case kInt64:
    if (!count(proto.int64_data_size()))
      return false;
    out.ints.assign(proto.int64_data().begin(), proto.int64_data().end());
    return true;
  default: // int32_data holds INT32, INT8, UINT8, BOOL, FLOAT16, BFLOAT16
    if (!count(proto.int32_data_size()))
      return false;
    for (int32_t v : proto.int32_data()) {
      if (out.dataType == kFloat16)
        out.floats.push_back(halfToFloat(uint16_t(v)));
      else if (out.dataType == kBFloat16)
        out.floats.push_back(bf16ToFloat(uint16_t(v)));
      else
        out.ints.push_back(out.dataType == kBool ? v != 0 : v);
    }
    return true;
  }
}

bool Decoder::attribute(const ::onnx::AttributeProto &proto, Attribute &out,
                        const std::string &what) {
  using A = ::onnx::AttributeProto;
  out.name = proto.name();
  switch (proto.type()) {
  case A::FLOAT:
    out.kind = Attribute::Kind::Float;
    out.f = proto.f();
    return true;
  case A::INT:
    out.kind = Attribute::Kind::Int;
    out.i = proto.i();
    return true;
  case A::STRING:
    out.kind = Attribute::Kind::String;
    out.s = proto.s();
    return true;
  case A::TENSOR:
    out.kind = Attribute::Kind::Tensor;
    out.t.emplace();
    return tensor(proto.t(), *out.t, what + " attribute '" + out.name + "'");
  case A::FLOATS:
    out.kind = Attribute::Kind::Floats;
    out.floats.assign(proto.floats().begin(), proto.floats().end());
    return true;
  case A::INTS:
    out.kind = Attribute::Kind::Ints;
    out.ints.assign(proto.ints().begin(), proto.ints().end());
    return true;
  case A::STRINGS:
    out.kind = Attribute::Kind::Strings;
    out.strings.assign(proto.strings().begin(), proto.strings().end());
    return true;
  default:
    // Graphs, sparse tensors, types: the ops kiln imports take none; the
    // importer names the attribute if a node it converts has one.
    out.kind = Attribute::Kind::Other;
    return true;
  }
}

void Decoder::valueInfo(const ::onnx::ValueInfoProto &proto, ValueInfo &out) {
  out.name = proto.name();
  if (!proto.has_type() || !proto.type().has_tensor_type())
    return;
  const auto &tensorType = proto.type().tensor_type();
  out.elemType = tensorType.elem_type();
  if (!tensorType.has_shape())
    return;
  out.hasShape = true;
  for (const auto &d : tensorType.shape().dim()) {
    ValueInfo::Dim dim;
    if (d.has_dim_value())
      dim.value = d.dim_value();
    else if (d.has_dim_param())
      dim.param = d.dim_param();
    out.dims.push_back(dim);
  }
}

bool Decoder::model(const ::onnx::ModelProto &proto, Model &out) {
  out.irVersion = proto.ir_version();
  out.producerName = proto.producer_name();
  out.producerVersion = proto.producer_version();
  for (const auto &opset : proto.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx")
      out.opset = opset.version();
    else
      out.otherDomains.push_back(opset.domain());
  }
  if (!proto.has_graph())
    return fail("not an ONNX model: it has no graph (the file is truncated "
                "or is not an ONNX file)");
  if (out.irVersion < 1)
    return fail("not an ONNX model: no ir_version (the file is truncated or "
                "is not an ONNX file)");
  if (proto.opset_import_size() == 0)
    return fail("the model imports no opset (the file is truncated or is "
                "not an ONNX file)");
  const auto &graph = proto.graph();
  out.graph.name = graph.name();
  for (int i = 0; i < graph.initializer_size(); ++i) {
    const auto &t = graph.initializer(i);
    Tensor tensorValue;
    if (!tensor(t, tensorValue, "initializer '" + t.name() + "'"))
      return false;
    out.graph.initializers.push_back(std::move(tensorValue));
  }
  if (graph.sparse_initializer_size())
    return fail("the graph has sparse initializers, which kiln does not read");
  for (const auto &n : graph.node()) {
    Node node;
    node.name = n.name();
    node.opType = n.op_type();
    node.domain = n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    std::string what = "node '" + n.name() + "' (" + n.op_type() + ")";
    for (const auto &a : n.attribute()) {
      Attribute attr;
      if (!attribute(a, attr, what))
        return false;
      node.attributes.push_back(std::move(attr));
    }
    out.graph.nodes.push_back(std::move(node));
  }
  for (const auto &v : graph.input()) {
    out.graph.inputs.emplace_back();
    valueInfo(v, out.graph.inputs.back());
  }
  for (const auto &v : graph.output()) {
    out.graph.outputs.emplace_back();
    valueInfo(v, out.graph.outputs.back());
  }
  return true;
}

} // namespace

bool parseModel(const uint8_t *bytes, size_t size, const std::string &path,
                Model &model, std::string &error) {
  if (size > kMaxProtobufBytes) {
    error = "the file has " + std::to_string(size) +
            " bytes, over protobuf's limit of 2 GB (2^31 - 1 bytes); save "
            "the model with its weights as external data";
    return false;
  }
  try {
    ::onnx::ModelProto proto;
    google::protobuf::io::CodedInputStream stream(bytes, int(size));
    stream.SetTotalBytesLimit(int(kMaxProtobufBytes));
    if (!proto.ParseFromCodedStream(&stream) ||
        !stream.ConsumedEntireMessage()) {
      error = "not an ONNX model: its bytes are not a protobuf ModelProto "
              "(the file is truncated or is not an ONNX file)";
      return false;
    }
    Decoder decoder(path);
    if (!decoder.model(proto, model)) {
      error = decoder.error;
      return false;
    }
    return true;
  } catch (const std::bad_alloc &) {
    error = "out of memory while decoding the model";
  } catch (const std::exception &e) {
    error = std::string("cannot decode the model: ") + e.what();
  }
  return false;
}

bool readModel(const std::string &path, Model &model, std::string &error) {
  std::vector<uint8_t> bytes;
  if (!rt::readFile(path, bytes, error, kMaxProtobufBytes,
                    "an ONNX protobuf (larger models keep their weights in "
                    "external data files)"))
    return false;
  if (!parseModel(bytes.data(), bytes.size(), path, model, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

} // namespace kiln::onnx
