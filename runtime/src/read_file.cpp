//===- read_file.cpp - whole files into memory ----------------------------===//
//
// This file implements readFile() of kiln/tensor_io.h, which the tensor
// and image readers use: one read of a regular file's size, or a growing
// buffer for anything else (a pipe), with every failure reported as
// "cannot read 'path': reason".
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt {

bool readFile(const std::string &path, std::vector<uint8_t> &out,
              std::string &error, uint64_t limit, const char *what) {
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
  auto too_large = [&] {
    out.clear();
    error = "cannot read '" + path + "': more than " + std::to_string(limit) +
            " bytes, the most " + what + " may take";
    return false;
  };
  if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > limit)
    return too_large();
  try {
    // A regular file is read in one go (the +1 sees the end of the file
    // without growing); anything else (a pipe) grows as needed.
    // At most limit + 1 bytes are read: one more than the limit tells a
    // file that is too large (or endless) from one that just fits.
    uint64_t cap = limit == UINT64_MAX ? limit : limit + 1;
    size_t capacity = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) + 1
                                          : size_t{1} << 16;
    capacity = static_cast<size_t>(std::min<uint64_t>(capacity, cap));
    out.resize(capacity);
    size_t used = 0;
    for (;;) {
      if (used >= cap)
        return too_large();
      if (used == out.size())
        out.resize(static_cast<size_t>(
            std::min<uint64_t>(uint64_t(out.size()) * 2, cap)));
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
    if (used > limit)
      return too_large();
    out.resize(used);
  } catch (const std::bad_alloc &) {
    out.clear();
    return fail(ENOMEM);
  }
  return true;
}

} // namespace kiln::rt
