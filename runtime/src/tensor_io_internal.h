//===- tensor_io_internal.h - what the tensor formats share ----*- C++ -*-===//
//
// This file holds the helpers that the safetensors and .npy units
// (safetensors.cpp, npy.cpp) share: little-endian loads, overflow-checked
// sizes, the element limit, and the shapes and names their messages show.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TENSOR_IO_INTERNAL_H
#define KILN_RUNTIME_TENSOR_IO_INTERNAL_H

#include <bit>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::rt::detail {

// The formats are little-endian; so are all the hosts kiln targets, which
// lets the readers and writers copy float data with memcpy.
static_assert(std::endian::native == std::endian::little,
              "kiln's runtime assumes a little-endian host");

// The most elements a tensor may have: 2^60, so that sizes in bytes fit.
inline constexpr uint64_t kMaxElements = uint64_t{1} << 60;

inline uint64_t loadLE(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

/// Sets |out| = |a| * |b|; returns false on uint64_t overflow.
inline bool mulChecked(uint64_t a, uint64_t b, uint64_t &out) {
  return !__builtin_mul_overflow(a, b, &out);
}

/// "[2, 3, 4]"
inline std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Quotes |s| for a message, escaping bytes that would garble a terminal
/// (and, unless |utf8|, every non-ASCII byte).
inline std::string quote(std::string_view s, bool utf8 = true) {
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

} // namespace kiln::rt::detail

#endif // KILN_RUNTIME_TENSOR_IO_INTERNAL_H
