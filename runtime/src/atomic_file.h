//===- atomic_file.h - output files written atomically ---------*- C++ -*-===//
//
// This file declares AtomicFile, the writer that the safetensors and .npy
// writers share: it writes a temporary file next to the target and renames
// it only once it is complete, so a failed write leaves no partial output
// behind.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_ATOMIC_FILE_H
#define KILN_RUNTIME_ATOMIC_FILE_H

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

namespace kiln::rt::detail {

/// A file written as |path| + ".tmp-XXXXXXXX" in the target's directory and
/// renamed to |path| by commit(). Destroying it uncommitted removes the
/// temporary, so a failed writer leaves nothing behind.
class AtomicFile {
public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {}
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  ~AtomicFile();

  /// Creates the temporary file.
  bool open(std::string &error);

  /// Appends |size| bytes; errors are reported by commit().
  void write(const void *data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }

  /// Closes the temporary and renames it to the target.
  bool commit(std::string &error);

private:
  bool fail(int err, std::string &error);

  std::string path_;
  std::string target_; ///< the regular file replaced (path_, or its link's)
  std::string tmp_;
  std::FILE *file_ = nullptr;
  int errno_ = 0;
};

} // namespace kiln::rt::detail

#endif // KILN_RUNTIME_ATOMIC_FILE_H
