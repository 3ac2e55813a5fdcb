//===- safetensors.cpp - safetensors files --------------------------------===//
//
// This file implements the safetensors half of kiln/tensor_io.h
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON mapping tensor names to {dtype, shape,
// data_offsets}, then the data. The header is read by the strict JSON
// parser of json.h and every field is checked as the reference
// implementation does: data offsets must tile the data section exactly (no
// overlap, no hole, nothing left over).
//
// Every length read from a file is checked against the bytes that are really
// there before it is used, and sizes are computed in uint64_t with overflow
// checks, so no input can make the reader read out of bounds. The writer
// writes an AtomicFile (atomic_file.h).
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include "atomic_file.h"
#include "json.h"
#include "tensor_io_internal.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <string_view>

namespace kiln::rt {

using detail::appendJsonString;
using detail::AtomicFile;
using detail::formatShape;
using detail::Json;
using detail::kMaxElements;
using detail::loadLE;
using detail::mulChecked;
using detail::parseJson;
using detail::quote;

namespace {

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxSafeTensorsHeader = 100'000'000;

/// The format's dtype names, in DType order.
constexpr std::string_view kDTypeNames[] = {
    "F32", "F16", "BF16", "F64", "I64",  "I32",     "I16",    "I8",
    "U64", "U32", "U16",  "U8",  "BOOL", "F8_E4M3", "F8_E5M2"};
constexpr uint8_t kDTypeSizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 8, 4, 2, 1, 1, 1, 1};
static_assert(std::size(kDTypeNames) == size_t(DType::F8_E5M2) + 1 &&
              std::size(kDTypeSizes) == std::size(kDTypeNames));

bool parseDType(std::string_view name, DType &dtype) {
  for (size_t i = 0; i < std::size(kDTypeNames); ++i)
    if (name == kDTypeNames[i]) {
      dtype = DType(i);
      return true;
    }
  return false;
}

/// Reads a non-negative JSON integer into |out|; |what| names it in |error|.
bool jsonToUint(const Json &v, uint64_t &out, const std::string &what,
                std::string &error) {
  if (v.kind != Json::Kind::Number || !v.integer) {
    error = what + " is not an integer";
    return false;
  }
  if (v.text[0] == '-') {
    error = what + " is negative (" + v.text + ")";
    return false;
  }
  out = 0;
  for (char c : v.text) {
    if (!mulChecked(out, 10, out) ||
        __builtin_add_overflow(out, static_cast<uint64_t>(c - '0'), &out)) {
      error = what + " is too large (" + v.text + ")";
      return false;
    }
  }
  return true;
}

/// IEEE half -> float, exact for every input (subnormals, inf, NaN payload).
float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000 | (mant << 13); // inf or NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 -> 127
  } else if (mant == 0) {
    bits = sign; // +-0
  } else {
    // Subnormal: mant * 2^-24. Normalize so the leading 1 becomes implicit.
    int shift = std::countl_zero(mant) - 21; // leading 1 to bit 10
    mant = (mant << shift) & 0x3FF;
    bits = sign | ((113 - shift) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

} // namespace

const char *dtypeName(DType dtype) {
  size_t i = size_t(dtype);
  return i < std::size(kDTypeNames) ? kDTypeNames[i].data() : "?";
}

size_t dtypeSize(DType dtype) {
  size_t i = size_t(dtype);
  return i < std::size(kDTypeSizes) ? kDTypeSizes[i] : 1;
}

bool isFloatWeight(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::F64;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d; // parse() checked that this cannot overflow
  return n;
}

void TensorView::toFloat32(float *out) const {
  size_t n = nbytes / dtypeSize(dtype);
  switch (dtype) {
  case DType::F32:
    if (n)
      std::memcpy(out, data, n * 4);
    return;
  case DType::F16:
    for (size_t i = 0; i < n; ++i)
      out[i] = halfToFloat(static_cast<uint16_t>(loadLE(data + 2 * i, 2)));
    return;
  case DType::BF16:
    for (size_t i = 0; i < n; ++i)
      out[i] = std::bit_cast<float>(
          static_cast<uint32_t>(loadLE(data + 2 * i, 2)) << 16);
    return;
  case DType::F64:
    for (size_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(std::bit_cast<double>(loadLE(data + 8 * i, 8)));
    return;
  default:
    break; // not a float dtype: callers check isFloatWeight first
  }
  std::fill(out, out + n, 0.f);
}

std::unique_ptr<SafeTensors> SafeTensors::parse(const uint8_t *bytes,
                                                size_t size,
                                                const std::string &source,
                                                std::string &error) {
  std::string msg;
  auto fail = [&](const std::string &why) -> std::unique_ptr<SafeTensors> {
    error = source + ": " + why;
    return nullptr;
  };

  // 1. The header length, then the header itself.
  if (size < 8)
    return fail("file is too short for a safetensors file (" +
                std::to_string(size) +
                " bytes; the header length alone takes 8)");
  uint64_t headerLen = loadLE(bytes, 8);
  if (headerLen > size - 8)
    return fail("header length " + std::to_string(headerLen) +
                " is beyond the end of the file (" + std::to_string(size) +
                " bytes)");
  if (headerLen > kMaxSafeTensorsHeader)
    return fail("header length " + std::to_string(headerLen) +
                " is above the limit of " +
                std::to_string(kMaxSafeTensorsHeader) + " bytes");
  std::string_view header(reinterpret_cast<const char *>(bytes + 8), headerLen);
  Json root;
  if (!parseJson(header, 8, root, msg))
    return fail(msg);
  if (root.kind != Json::Kind::Object)
    return fail("the header is not a JSON object");

  const uint8_t *data = bytes + 8 + headerLen;
  uint64_t dataSize = size - 8 - headerLen;

  // 2. One entry per tensor, each checked on its own.
  auto result = std::unique_ptr<SafeTensors>(new SafeTensors());
  std::vector<std::pair<uint64_t, uint64_t>> offsets;
  for (const auto &[name, entry] : root.members) {
    if (name == "__metadata__") {
      if (entry.kind != Json::Kind::Object)
        return fail("'__metadata__' is not a map of strings");
      for (const auto &[key, value] : entry.members)
        if (value.kind != Json::Kind::String)
          return fail("'__metadata__' entry " + quote(key) +
                      " is not a string");
      continue;
    }
    std::string tensor = "tensor " + quote(name);
    if (entry.kind != Json::Kind::Object)
      return fail(tensor + " is not a JSON object");
    const Json *dtypeJ = nullptr, *shapeJ = nullptr, *offsetsJ = nullptr;
    for (const auto &[key, value] : entry.members) {
      const Json **slot = key == "dtype"          ? &dtypeJ
                          : key == "shape"        ? &shapeJ
                          : key == "data_offsets" ? &offsetsJ
                                                  : nullptr;
      if (!slot)
        return fail(tensor + " has an unknown field " + quote(key));
      if (*slot)
        return fail(tensor + " has two '" + key + "' fields");
      *slot = &value;
    }
    if (!dtypeJ || !shapeJ || !offsetsJ)
      return fail(tensor + " has no '" +
                  (!dtypeJ   ? "dtype"
                   : !shapeJ ? "shape"
                             : "data_offsets") +
                  "'");

    TensorView view;
    view.name = name;
    if (dtypeJ->kind != Json::Kind::String)
      return fail(tensor + " has a dtype that is not a string");
    if (!parseDType(dtypeJ->text, view.dtype))
      return fail(tensor + " has dtype " + quote(dtypeJ->text) +
                  ", which the safetensors format does not define");

    if (shapeJ->kind != Json::Kind::Array)
      return fail(tensor + " has a shape that is not a list");
    // numel <= 2^60 keeps every size below in range of uint64_t and int64_t.
    uint64_t numel = 1;
    bool tooLarge = false;
    for (size_t i = 0; i < shapeJ->items.size(); ++i) {
      uint64_t dim;
      if (!jsonToUint(shapeJ->items[i], dim, "dimension " + std::to_string(i),
                      msg))
        return fail(tensor + " has a bad shape: " + msg);
      tooLarge |= !mulChecked(numel, dim, numel) || numel > kMaxElements;
      view.shape.push_back(static_cast<int64_t>(std::min(dim, kMaxElements)));
    }
    if (tooLarge) {
      std::string dims;
      for (const Json &d : shapeJ->items)
        dims += (dims.empty() ? "" : ", ") + d.text;
      return fail(tensor + " has shape [" + dims + "], too large to address");
    }
    uint64_t nbytes = numel * dtypeSize(view.dtype);

    if (offsetsJ->kind != Json::Kind::Array || offsetsJ->items.size() != 2)
      return fail(tensor + " has data_offsets that are not a [begin, end] "
                           "pair");
    uint64_t begin, end;
    if (!jsonToUint(offsetsJ->items[0], begin, "begin", msg) ||
        !jsonToUint(offsetsJ->items[1], end, "end", msg))
      return fail(tensor + " has bad data_offsets: " + msg);
    std::string range =
        "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end)
      return fail(tensor + " has data_offsets " + range +
                  " whose begin is after its end");
    if (end > dataSize)
      return fail(tensor + " has data_offsets " + range +
                  " beyond the end of the data (" + std::to_string(dataSize) +
                  " bytes)");
    if (end - begin != nbytes)
      return fail(tensor + " has shape " + formatShape(view.shape) +
                  " and dtype " + dtypeName(view.dtype) + " (" +
                  std::to_string(nbytes) + " bytes) but data_offsets " + range +
                  " (" + std::to_string(end - begin) + " bytes)");
    view.data = data + begin;
    view.nbytes = static_cast<size_t>(nbytes);
    result->tensors_.push_back(std::move(view));
    offsets.emplace_back(begin, end);
  }

  // 3. Names are unique; find() searches this sorted index.
  auto &tensors = result->tensors_;
  auto &byName = result->byName_;
  byName.resize(tensors.size());
  for (size_t i = 0; i < byName.size(); ++i)
    byName[i] = i;
  std::sort(byName.begin(), byName.end(), [&](size_t a, size_t b) {
    return tensors[a].name < tensors[b].name;
  });
  for (size_t i = 1; i < byName.size(); ++i)
    if (tensors[byName[i - 1]].name == tensors[byName[i]].name)
      return fail("duplicate tensor name " + quote(tensors[byName[i]].name));

  // 4. Like the reference implementation, the tensors must tile the data
  // section: sorted by offset, each starts where the previous one ended.
  std::vector<size_t> byOffset(tensors.size());
  for (size_t i = 0; i < byOffset.size(); ++i)
    byOffset[i] = i;
  std::sort(byOffset.begin(), byOffset.end(),
            [&](size_t a, size_t b) { return offsets[a] < offsets[b]; });
  uint64_t pos = 0;
  for (size_t i = 0; i < byOffset.size(); ++i) {
    auto [begin, end] = offsets[byOffset[i]];
    if (begin < pos)
      return fail("tensors " + quote(tensors[byOffset[i - 1]].name) + " and " +
                  quote(tensors[byOffset[i]].name) +
                  " overlap (data_offsets [" +
                  std::to_string(offsets[byOffset[i - 1]].first) + ", " +
                  std::to_string(offsets[byOffset[i - 1]].second) + "] and [" +
                  std::to_string(begin) + ", " + std::to_string(end) + "])");
    if (begin > pos)
      return fail("bytes [" + std::to_string(pos) + ", " +
                  std::to_string(begin) + ") of the data belong to no tensor");
    pos = end;
  }
  if (pos != dataSize)
    return fail("the data section has " + std::to_string(dataSize) +
                " bytes but the tensors end at byte " + std::to_string(pos));
  return result;
}

const TensorView *SafeTensors::find(std::string_view name) const {
  auto it = std::lower_bound(
      byName_.begin(), byName_.end(), name,
      [&](size_t i, std::string_view n) { return tensors_[i].name < n; });
  if (it == byName_.end() || tensors_[*it].name != name)
    return nullptr;
  return &tensors_[*it];
}

bool writeSafeTensors(const std::string &path,
                      const std::vector<NamedTensor> &tensors,
                      std::string &error) {
  auto fail = [&](const std::string &why) {
    error = "cannot write '" + path + "': " + why;
    return false;
  };
  // The header: {"name":{"dtype":"F32","shape":[..],"data_offsets":[b,e]},..}
  std::string header = "{";
  std::vector<uint64_t> sizes;
  std::vector<std::string_view> names;
  uint64_t offset = 0;
  for (const NamedTensor &t : tensors) {
    if (t.name == "__metadata__")
      return fail("'__metadata__' cannot name a tensor");
    uint64_t numel = 1;
    for (int64_t d : t.shape)
      if (d < 0 || !mulChecked(numel, static_cast<uint64_t>(d), numel) ||
          numel > kMaxElements)
        return fail("tensor " + quote(t.name) + " has a bad shape " +
                    formatShape(t.shape));
    uint64_t nbytes = numel * 4;
    if (nbytes > UINT64_MAX - offset)
      return fail("the tensors are too large for one file");
    if (nbytes && !t.data)
      return fail("tensor " + quote(t.name) + " has no data");
    if (header.size() > 1)
      header += ',';
    appendJsonString(header, t.name);
    header += ":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
    sizes.push_back(nbytes);
    names.push_back(t.name);
  }
  header += '}';
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup != names.end())
    return fail("duplicate tensor name " + quote(*dup));
  // Pad with spaces so the data starts 8-byte aligned, as the reference does.
  header.append((8 - header.size() % 8) % 8, ' ');

  AtomicFile file(path);
  if (!file.open(error))
    return false;
  uint8_t len[8];
  for (int i = 0; i < 8; ++i)
    len[i] =
        static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  file.write(len, 8);
  file.write(header);
  for (size_t i = 0; i < tensors.size(); ++i)
    file.write(tensors[i].data, sizes[i]);
  return file.commit(error);
}

} // namespace kiln::rt
