//===- tensor_io.cpp - safetensors and .npy -------------------------------===//
//
// This file implements the tensor file formats of kiln/tensor_io.h:
//
//  * safetensors (https://github.com/huggingface/safetensors): an 8-byte
//    little-endian header length N, N bytes of JSON mapping tensor names to
//    {dtype, shape, data_offsets}, then the data. The header is read by a
//    small strict JSON parser (RFC 8259, nothing more) and every field is
//    checked as the reference implementation does: data offsets must tile the
//    data section exactly (no overlap, no hole, nothing left over).
//  * NumPy .npy (numpy/lib/format.py): magic, version, header length, a
//    Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': ...},
//    then the raw data. Only little-endian float32 in C order is accepted.
//
// Every length read from a file is checked against the bytes that are really
// there before it is used, and sizes are computed in uint64_t with overflow
// checks, so no input can make a reader read out of bounds. Writers write a
// temporary file next to the target and rename it only once it is complete.
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt {

// The formats are little-endian; so are all the hosts kiln targets, which
// lets the readers and writers copy float data with memcpy.
static_assert(std::endian::native == std::endian::little,
              "kiln's runtime assumes a little-endian host");

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

uint64_t loadLE(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

/// Sets |out| = |a| * |b|; returns false on uint64_t overflow.
bool mulChecked(uint64_t a, uint64_t b, uint64_t &out) {
  return !__builtin_mul_overflow(a, b, &out);
}

/// "[2, 3, 4]"
std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Quotes |s| for a message, escaping bytes that would garble a terminal
/// (and, unless |utf8|, every non-ASCII byte).
std::string quote(std::string_view s, bool utf8 = true) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '\\' || (!utf8 && c >= 0x80)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

//===----------------------------------------------------------------------===//
// Atomic output files
//===----------------------------------------------------------------------===//

/// A file written as |path| + ".tmp-XXXXXXXX" in the target's directory and
/// renamed to |path| by commit(). Destroying it uncommitted removes the
/// temporary, so a failed writer leaves nothing behind.
class AtomicFile {
public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {}
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  ~AtomicFile() {
    if (file_)
      std::fclose(file_);
    if (!tmp_.empty())
      ::unlink(tmp_.c_str());
  }

  /// Creates the temporary file.
  bool open(std::string &error) {
    static std::atomic<uint32_t> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      // Unique enough: O_EXCL catches the rare collision and we retry.
      uint64_t seed =
          static_cast<uint64_t>(
              std::chrono::steady_clock::now().time_since_epoch().count()) ^
          (static_cast<uint64_t>(::getpid()) << 32) ^
          (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull);
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".tmp-%08x",
                    static_cast<unsigned>(seed ^ (seed >> 32)));
      std::string tmp = path_ + suffix;
      int fd =
          ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0) {
        if (errno == EEXIST)
          continue;
        return fail(errno, error);
      }
      tmp_ = tmp;
      file_ = ::fdopen(fd, "wb");
      if (!file_) {
        int err = errno;
        ::close(fd);
        return fail(err, error);
      }
      return true;
    }
    return fail(EEXIST, error);
  }

  /// Appends |size| bytes; errors are reported by commit().
  void write(const void *data, size_t size) {
    if (size && !errno_ && std::fwrite(data, 1, size, file_) != size)
      errno_ = errno ? errno : EIO;
  }
  void write(std::string_view s) { write(s.data(), s.size()); }

  /// Closes the temporary and renames it to the target.
  bool commit(std::string &error) {
    if (!errno_ && std::fflush(file_) != 0)
      errno_ = errno;
    int closed = std::fclose(file_);
    file_ = nullptr;
    if (!errno_ && closed != 0)
      errno_ = errno;
    if (!errno_ && std::rename(tmp_.c_str(), path_.c_str()) != 0)
      errno_ = errno;
    if (errno_)
      return fail(errno_, error);
    tmp_.clear();
    return true;
  }

private:
  bool fail(int err, std::string &error) {
    error = "cannot write '" + path_ + "': " + std::strerror(err);
    return false;
  }

  std::string path_;
  std::string tmp_;
  std::FILE *file_ = nullptr;
  int errno_ = 0;
};

//===----------------------------------------------------------------------===//
// JSON (the safetensors header)
//===----------------------------------------------------------------------===//

/// A parsed JSON value. Objects keep their members in file order, duplicates
/// included; the safetensors reader decides what a duplicate means.
struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  bool integer = false;    ///< a Number without fraction or exponent
  std::string text;        ///< String: decoded contents; Number: the literal
  std::vector<Json> items; ///< Array
  std::vector<std::pair<std::string, Json>> members; ///< Object
};

/// A strict recursive-descent JSON parser. Messages give the byte offset in
/// the file (|base| is the offset of the text in the file).
class JsonParser {
public:
  JsonParser(std::string_view text, size_t base) : s_(text), base_(base) {}

  /// Parses the whole text: one value, surrounded by whitespace only.
  bool parseDocument(Json &out, std::string &error) {
    skipSpace();
    if (!parseValue(out, 0))
      return report(error);
    skipSpace();
    if (pos_ != s_.size()) {
      fail("unexpected data after the JSON value");
      return report(error);
    }
    return true;
  }

private:
  // Deep enough for any header, shallow enough for the stack.
  static constexpr int kMaxDepth = 64;

  bool report(std::string &error) {
    error = "bad header JSON at byte " + std::to_string(base_ + errorPos_) +
            ": " + error_;
    return false;
  }
  bool fail(const char *what) {
    if (error_.empty()) {
      error_ = what;
      errorPos_ = pos_;
    }
    return false;
  }
  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return atEnd() ? '\0' : s_[pos_]; }
  void skipSpace() {
    while (!atEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                        s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word)
      return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool parseValue(Json &v, int depth) {
    if (depth > kMaxDepth)
      return fail("nested too deeply");
    if (atEnd())
      return fail("unexpected end of the header");
    char c = peek();
    if (c == '{')
      return parseObject(v, depth);
    if (c == '[')
      return parseArray(v, depth);
    if (c == '"') {
      v.kind = Json::Kind::String;
      return parseString(v.text);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseNumber(v);
    if (c == 't' || c == 'f') {
      v.kind = Json::Kind::Bool;
      v.boolean = c == 't';
      return literal(v.boolean ? "true" : "false");
    }
    if (c == 'n') {
      v.kind = Json::Kind::Null;
      return literal("null");
    }
    return fail("expected a value");
  }

  bool parseObject(Json &v, int depth) {
    v.kind = Json::Kind::Object;
    ++pos_; // '{'
    skipSpace();
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipSpace();
      if (peek() != '"')
        return fail("expected a string key");
      std::pair<std::string, Json> member;
      if (!parseString(member.first))
        return false;
      skipSpace();
      if (peek() != ':')
        return fail("expected ':'");
      ++pos_;
      skipSpace();
      if (!parseValue(member.second, depth + 1))
        return false;
      v.members.push_back(std::move(member));
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(Json &v, int depth) {
    v.kind = Json::Kind::Array;
    ++pos_; // '['
    skipSpace();
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipSpace();
      Json item;
      if (!parseValue(item, depth + 1))
        return false;
      v.items.push_back(std::move(item));
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool parseNumber(Json &v) {
    auto digits = [&] {
      size_t start = pos_;
      while (!atEnd() && s_[pos_] >= '0' && s_[pos_] <= '9')
        ++pos_;
      return pos_ - start;
    };
    size_t start = pos_;
    v.kind = Json::Kind::Number;
    v.integer = true;
    if (peek() == '-')
      ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return fail("invalid number");
    }
    if (peek() == '.') {
      ++pos_;
      v.integer = false;
      if (digits() == 0)
        return fail("invalid number");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      v.integer = false;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      if (digits() == 0)
        return fail("invalid number");
    }
    v.text = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parseHex4(uint32_t &cp) {
    if (s_.size() - pos_ < 4)
      return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        return fail("invalid \\u escape");
    }
    return true;
  }

  /// Length of the valid UTF-8 sequence at |pos_| (a non-ASCII lead byte),
  /// or 0 if it is not one.
  size_t utf8Length() const {
    auto byte = [&](size_t i) -> uint8_t {
      return pos_ + i < s_.size() ? static_cast<uint8_t>(s_[pos_ + i]) : 0;
    };
    auto cont = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
    uint8_t b0 = byte(0), b1 = byte(1);
    if (b0 >= 0xC2 && b0 <= 0xDF)
      return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
      if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F))
        return 0; // overlong or surrogate
      return cont(1) && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
      if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F))
        return 0; // overlong or beyond U+10FFFF
      return cont(1) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
  }

  bool parseString(std::string &out) {
    const size_t start = pos_;
    ++pos_; // '"'
    out.clear();
    for (;;) {
      if (atEnd()) {
        pos_ = start; // point at the string that never ends
        return fail("unterminated string");
      }
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20)
        return fail("control character in a string");
      if (c >= 0x80) {
        size_t n = utf8Length();
        if (n == 0)
          return fail("invalid UTF-8 in a string");
        out.append(s_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (atEnd()) {
        pos_ = start;
        return fail("unterminated string");
      }
      char e = s_[pos_++];
      // \" \\ \/ \b \f \n \r \t, then \uXXXX (surrogate pairs joined).
      static constexpr char kFrom[] = "\"\\/bfnrt", kTo[] = "\"\\/\b\f\n\r\t";
      if (const char *f = std::strchr(kFrom, e); f && e) {
        out += kTo[f - kFrom];
        continue;
      }
      if (e != 'u') {
        --pos_;
        return fail("invalid escape in a string");
      }
      uint32_t cp;
      if (!parseHex4(cp))
        return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail("unpaired surrogate in a \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t low;
        if (s_.substr(pos_, 2) != "\\u")
          return fail("unpaired surrogate in a \\u escape");
        pos_ += 2;
        if (!parseHex4(low))
          return false;
        if (low < 0xDC00 || low > 0xDFFF)
          return fail("unpaired surrogate in a \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      appendUtf8(out, cp);
    }
  }

  std::string_view s_;
  size_t base_;
  size_t pos_ = 0;
  std::string error_;
  size_t errorPos_ = 0;
};

/// Appends |s| to |out| as a JSON string literal.
void appendJsonString(std::string &out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxSafeTensorsHeader = 100'000'000;

// The most elements a tensor may have: 2^60, so that sizes in bytes fit.
constexpr uint64_t kMaxElements = uint64_t{1} << 60;

size_t dtypeSize(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

bool parseDType(std::string_view name, DType &dtype) {
  if (name == "F32")
    dtype = DType::F32;
  else if (name == "F16")
    dtype = DType::F16;
  else if (name == "BF16")
    dtype = DType::BF16;
  else
    return false;
  return true;
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

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

bool readFile(const std::string &path, std::vector<uint8_t> &out,
              std::string &error) {
  auto fail = [&](int err) {
    error = "cannot read '" + path + "': " + std::strerror(err);
    return false;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(errno);
  struct CloseFd {
    int fd;
    ~CloseFd() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return fail(errno);
  if (S_ISDIR(st.st_mode))
    return fail(EISDIR);
  try {
    // A regular file is read in one go (the +1 sees the end of the file
    // without growing); anything else (a pipe) grows as needed.
    size_t capacity = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) + 1
                                          : size_t{1} << 16;
    out.resize(capacity);
    size_t used = 0;
    for (;;) {
      if (used == out.size())
        out.resize(out.size() * 2);
      ssize_t n = ::read(fd, out.data() + used, out.size() - used);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        int err = errno;
        out.clear();
        return fail(err);
      }
      if (n == 0)
        break;
      used += static_cast<size_t>(n);
    }
    out.resize(used);
  } catch (const std::bad_alloc &) {
    out.clear();
    return fail(ENOMEM);
  }
  return true;
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  }
  return "?";
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
  }
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
  if (!JsonParser(header, 8).parseDocument(root, msg))
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
      return fail(tensor + " has dtype " + dtypeJ->text +
                  "; kiln reads F32, F16 and BF16");

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

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

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

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::vector<uint8_t> bytes;
  if (!readFile(path, bytes, error))
    return false;
  auto fail = [&](const std::string &why) {
    error = path + ": " + why;
    return false;
  };
  size_t size = bytes.size();
  if (size < kNpyMagicLen + 2 ||
      std::memcmp(bytes.data(), kNpyMagic, kNpyMagicLen) != 0)
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
      loadLE(bytes.data() + kNpyMagicLen + 2, static_cast<int>(lenBytes));
  if (headerLen > size - prefix)
    return fail("header length " + std::to_string(headerLen) +
                " is beyond the end of the file (" + std::to_string(size) +
                " bytes)");

  NpyHeader header;
  std::string msg;
  std::string_view text(reinterpret_cast<const char *>(bytes.data() + prefix),
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
    std::memcpy(out.data.data(), bytes.data() + prefix + headerLen, need);
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
