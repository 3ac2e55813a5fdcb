//===- json.cpp - the JSON of safetensors headers -------------------------===//
//
// This file implements json.h: a strict recursive-descent JSON parser
// (RFC 8259, nothing more: no comments, no trailing commas, valid UTF-8,
// paired surrogates, a bounded depth) whose messages give the byte offset
// in the file, and the quoting of JSON string literals.
//
//===----------------------------------------------------------------------===//

#include "json.h"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace kiln::rt::detail {

namespace {

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
      JsonMember member;
      if (!parseString(member.key))
        return false;
      skipSpace();
      if (peek() != ':')
        return fail("expected ':'");
      ++pos_;
      skipSpace();
      if (!parseValue(member.value, depth + 1))
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

} // namespace

bool parseJson(std::string_view text, size_t base, Json &out,
               std::string &error) {
  return JsonParser(text, base).parseDocument(out, error);
}

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

} // namespace kiln::rt::detail
