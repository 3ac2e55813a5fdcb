//===- json.h - the JSON of safetensors headers ----------------*- C++ -*-===//
//
// This file declares the small strict JSON parser (RFC 8259, nothing more)
// that reads safetensors headers, and the string literals their writer
// needs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_JSON_H
#define KILN_RUNTIME_JSON_H

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::rt::detail {

struct JsonMember;

/// A parsed JSON value. Objects keep their members in file order, duplicates
/// included; the safetensors reader decides what a duplicate means.
struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  bool integer = false;    ///< a Number without fraction or exponent
  std::string text;        ///< String: decoded contents; Number: the literal
  std::vector<Json> items; ///< Array
  /// Object. (A vector of std::pair<std::string, Json> would need Json
  /// complete here; a vector of an incomplete struct is allowed.)
  std::vector<JsonMember> members;
};

struct JsonMember {
  std::string key;
  Json value;
};

/// Parses |text|, the whole of it: one value, surrounded by whitespace only.
/// |base| is the offset of the text in its file; on failure |error| is
/// "bad header JSON at byte N: what", N counted in the file.
bool parseJson(std::string_view text, size_t base, Json &out,
               std::string &error);

/// Appends |s| to |out| as a JSON string literal.
void appendJsonString(std::string &out, std::string_view s);

} // namespace kiln::rt::detail

#endif // KILN_RUNTIME_JSON_H
