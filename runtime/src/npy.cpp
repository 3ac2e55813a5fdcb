//===- npy.cpp - NumPy .npy files -----------------------------------------===//
//
// This file implements the .npy half of kiln/tensor_io.h
// (numpy/lib/format.py): magic, version, header length, a Python dict
// literal {'descr': ..., 'fortran_order': ..., 'shape': ...}, then the raw
// data. Only little-endian float32 in C order is accepted.
//
// Every length read from a file is checked against the bytes that are really
// there before it is used, and sizes are computed in uint64_t with overflow
// checks, so no input can make the reader read out of bounds. The writer
// writes an AtomicFile (atomic_file.h).
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include "atomic_file.h"
#include "tensor_io_internal.h"

#include <cstring>
#include <new>

namespace kiln::rt {

using detail::AtomicFile;
using detail::formatShape;
using detail::kMaxElements;
using detail::loadLE;
using detail::mulChecked;
using detail::quote;

namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLen = 6;

/// The header dict of a .npy file.
struct NpyHeader {
  std::string descr;
  bool structured = false; ///< descr is a list (a structured dtype)
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

/// Parses the Python dict literal numpy writes, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
/// Values may be strings, True/False, or tuples of non-negative integers;
/// a list as 'descr' marks a structured dtype.
class NpyHeaderParser {
public:
  explicit NpyHeaderParser(std::string_view text) : s_(text) {}

  bool parse(NpyHeader &h, std::string &error) {
    bool seenDescr = false, seenOrder = false, seenShape = false;
    skipSpace();
    if (!expect('{'))
      return report(error);
    for (;;) {
      skipSpace();
      if (peek() == '}')
        break;
      std::string key;
      const size_t keyPos = pos_;
      if (!parseString(key))
        return report(error);
      skipSpace();
      if (!expect(':'))
        return report(error);
      skipSpace();
      bool &seen = key == "descr"           ? seenDescr
                   : key == "fortran_order" ? seenOrder
                   : key == "shape"         ? seenShape
                                            : unknown_;
      if (&seen == &unknown_ || seen) {
        pos_ = keyPos;
        fail((seen ? "duplicate key " : "unexpected key ") + quote(key, false));
        return report(error);
      }
      seen = true;
      if (key == "descr") {
        if (peek() == '[') {
          h.structured = true;
          if (!skipBracketed())
            return report(error);
        } else if (!parseString(h.descr)) {
          return report(error);
        }
      } else if (key == "fortran_order") {
        if (!parseBool(h.fortranOrder))
          return report(error);
      } else if (!parseShape(h.shape)) {
        return report(error);
      }
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') {
        fail("expected ',' or '}'");
        return report(error);
      }
    }
    ++pos_; // '}'
    skipSpace();
    if (pos_ != s_.size()) {
      fail("unexpected text after the header dict");
      return report(error);
    }
    if (!seenDescr || !seenOrder || !seenShape) {
      error = std::string("malformed header: no '") +
              (!seenDescr   ? "descr"
               : !seenOrder ? "fortran_order"
                            : "shape") +
              "' key";
      return false;
    }
    return true;
  }

private:
  bool report(std::string &error) {
    error = "malformed header at character " + std::to_string(errorPos_) +
            ": " + error_;
    return false;
  }
  bool fail(const std::string &what) {
    if (error_.empty()) {
      error_ = what;
      errorPos_ = pos_;
    }
    return false;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool expect(char c) {
    if (peek() != c)
      return fail(std::string("expected '") + c + "'");
    ++pos_;
    return true;
  }

  /// A quoted string without escapes (numpy never writes any).
  bool parseString(std::string &out) {
    char q = peek();
    if (q != '\'' && q != '"')
      return fail("expected a quoted string");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos)
      return fail("unterminated string");
    out = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
    if (out.find('\\') != std::string::npos)
      return fail("escapes in strings are not supported");
    pos_ = end + 1;
    return true;
  }

  bool parseBool(bool &out) {
    for (auto [word, value] : {std::pair{"True", true}, {"False", false}}) {
      std::string_view w(word);
      if (s_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        out = value;
        return true;
      }
    }
    return fail("expected True or False");
  }

  /// (), (n,), (n, m), (n, m,) ...
  bool parseShape(std::vector<int64_t> &shape) {
    if (!expect('('))
      return false;
    bool comma = false;
    for (;;) {
      skipSpace();
      if (peek() == ')')
        break;
      if (peek() == '-')
        return fail("negative dimension in the shape");
      uint64_t v = 0;
      size_t start = pos_;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (uint64_t{1} << 62) / 10)
          return fail("dimension too large");
        v = v * 10 + static_cast<uint64_t>(peek() - '0');
        ++pos_;
      }
      if (pos_ == start)
        return fail("expected an integer or ')' in the shape");
      if (peek() == 'L') // Python 2 long literal
        ++pos_;
      shape.push_back(static_cast<int64_t>(v));
      skipSpace();
      comma = peek() == ',';
      if (comma) {
        ++pos_;
        continue;
      }
      if (peek() != ')')
        return fail("expected ',' or ')' in the shape");
    }
    ++pos_; // ')'
    if (shape.size() == 1 && !comma)
      return fail("the shape is not a tuple (a 1-element tuple needs a ',')");
    return true;
  }

  /// Skips a [...] value (the descr of a structured dtype).
  bool skipBracketed() {
    int depth = 0;
    for (; pos_ < s_.size(); ++pos_) {
      char c = s_[pos_];
      if (c == '[' || c == '(')
        ++depth;
      else if ((c == ']' || c == ')') && --depth == 0) {
        ++pos_;
        return true;
      }
    }
    return fail("unterminated list");
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
  size_t errorPos_ = 0;
  bool unknown_ = false;
};

/// A readable name for a numpy dtype string: '<f8' -> "float64".
std::string describeNpyDType(const std::string &descr) {
  if (descr.size() < 3)
    return quote(descr, false);
  char order = descr[0], kind = descr[1];
  std::string bytes = descr.substr(2);
  if (bytes.find_first_not_of("0123456789") != std::string::npos ||
      bytes.size() > 4)
    return quote(descr, false);
  int bits = std::stoi(bytes) * 8;
  std::string name;
  switch (kind) {
  case 'f':
    name = "float" + std::to_string(bits);
    break;
  case 'i':
    name = "int" + std::to_string(bits);
    break;
  case 'u':
    name = "uint" + std::to_string(bits);
    break;
  case 'c':
    name = "complex" + std::to_string(bits);
    break;
  case 'b':
    name = "bool";
    break;
  case 'U':
    name = "str";
    break;
  case 'S':
    name = "bytes";
    break;
  case 'O':
    name = "object";
    break;
  case 'M':
    name = "datetime64";
    break;
  case 'm':
    name = "timedelta64";
    break;
  case 'V':
    name = "void";
    break;
  default:
    return quote(descr, false);
  }
  if (order == '>')
    name = "big-endian " + name;
  else if (order != '<' && bits > 8 && std::strchr("fiuc", kind))
    name += " of unspecified byte order";
  return name + " (" + quote(descr, false) + ")";
}

} // namespace

bool readNpy(const std::string &path, NpyArray &out, std::string &error,
             uint64_t limit) {
  std::vector<uint8_t> bytes;
  if (!readFile(path, bytes, error, limit, "a .npy file of the model's input"))
    return false;
  return parseNpy(bytes.data(), bytes.size(), path, out, error);
}

bool parseNpy(const uint8_t *bytes, size_t size, const std::string &source,
              NpyArray &out, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = source + ": " + why;
    return false;
  };
  if (size < kNpyMagicLen + 2 ||
      std::memcmp(bytes, kNpyMagic, kNpyMagicLen) != 0)
    return fail("not a .npy file (it does not start with \\x93NUMPY)");
  int major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    return fail("unsupported .npy version " + std::to_string(major) + "." +
                std::to_string(minor) + " (kiln reads 1.0, 2.0 and 3.0)");
  // Version 1.0 has a 2-byte header length, 2.0 and 3.0 a 4-byte one.
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t prefix = kNpyMagicLen + 2 + lenBytes;
  if (size < prefix)
    return fail("file ends inside the header length");
  uint64_t headerLen =
      loadLE(bytes + kNpyMagicLen + 2, static_cast<int>(lenBytes));
  if (headerLen > size - prefix)
    return fail("header length " + std::to_string(headerLen) +
                " is beyond the end of the file (" + std::to_string(size) +
                " bytes)");

  NpyHeader header;
  std::string msg;
  std::string_view text(reinterpret_cast<const char *>(bytes + prefix),
                        headerLen);
  if (!NpyHeaderParser(text).parse(header, msg))
    return fail(msg);
  if (header.structured)
    return fail("has a structured dtype; expected float32 ('<f4')");
  if (header.descr != "<f4")
    return fail("has dtype " + describeNpyDType(header.descr) +
                "; expected float32 ('<f4')");
  // With fewer than 2 dimensions Fortran and C order are the same layout.
  if (header.fortranOrder && header.shape.size() > 1)
    return fail("is in Fortran order; kiln reads C-order arrays (save "
                "numpy.ascontiguousarray(a))");

  uint64_t numel = 1;
  for (int64_t d : header.shape)
    if (!mulChecked(numel, static_cast<uint64_t>(d), numel) ||
        numel > kMaxElements)
      return fail("shape " + formatShape(header.shape) + " is too large");
  uint64_t need = numel * 4;
  uint64_t have = size - prefix - headerLen;
  std::string shape = formatShape(header.shape);
  if (have < need)
    return fail("data is truncated: shape " + shape + " needs " +
                std::to_string(need) + " bytes, the file has " +
                std::to_string(have));
  if (have > need)
    return fail("shape " + shape + " needs " + std::to_string(need) +
                " bytes of data but the file has " + std::to_string(have));
  try {
    out.shape = std::move(header.shape);
    out.data.resize(static_cast<size_t>(numel));
  } catch (const std::bad_alloc &) {
    return fail("out of memory");
  }
  if (need)
    std::memcpy(out.data.data(), bytes + prefix + headerLen, need);
  return true;
}

bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const float *data, std::string &error) {
  uint64_t numel = 1;
  for (int64_t d : shape)
    if (d < 0 || !mulChecked(numel, static_cast<uint64_t>(d), numel) ||
        numel > kMaxElements) {
      error = "cannot write '" + path + "': bad shape " + formatShape(shape);
      return false;
    }
  if (numel && !data) {
    error = "cannot write '" + path + "': no data";
    return false;
  }
  // {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  // Pad with spaces and end with '\n' so the data starts 64-byte aligned,
  // as numpy does; use version 2.0 only if the header needs it.
  int major = dict.size() + 1 + 10 <= 65535 ? 1 : 2;
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';

  std::string head(kNpyMagic, kNpyMagicLen);
  head += static_cast<char>(major);
  head += '\0';
  for (size_t i = 0; i < prefix - 8; ++i)
    head += static_cast<char>((dict.size() >> (8 * i)) & 0xFF);

  AtomicFile file(path);
  if (!file.open(error))
    return false;
  file.write(head);
  file.write(dict);
  file.write(data, numel * 4);
  return file.commit(error);
}

} // namespace kiln::rt
