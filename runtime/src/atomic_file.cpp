//===- atomic_file.cpp - output files written atomically ------------------===//
//
// This file implements AtomicFile (atomic_file.h): a file written as
// |path| + ".tmp-XXXXXXXX" in the target's directory, created with O_EXCL,
// and renamed to |path| once it is complete. What is already at |path|
// decides how:
//  * nothing, or a regular file: the temporary and the rename;
//  * a symbolic link to a regular file: the same, next to the file it names
//    (the link stays a link);
//  * a character device or a FIFO (/dev/null, /dev/stdout, a named pipe):
//    written directly, never replaced;
//  * anything else (a directory, a socket, a block device, a dangling
//    link): refused.
//
//===----------------------------------------------------------------------===//

#include "atomic_file.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt::detail {

AtomicFile::~AtomicFile() {
  if (file_)
    std::fclose(file_);
  if (!tmp_.empty())
    ::unlink(tmp_.c_str());
}

bool AtomicFile::open(std::string &error) {
  struct stat st, link;
  bool exists = ::stat(path_.c_str(), &st) == 0;
  bool isLink = ::lstat(path_.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
  if (isLink && !exists) {
    error = "cannot write '" + path_ + "': it is a symbolic link to a " +
            "missing file";
    return false;
  }
  if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return fail(errno, error);
    file_ = ::fdopen(fd, "wb");
    if (!file_) {
      int err = errno;
      ::close(fd);
      return fail(err, error);
    }
    return true; // no temporary: commit() only flushes and closes
  }
  if (exists && !S_ISREG(st.st_mode)) {
    error = "cannot write '" + path_ + "': it is " +
            (S_ISDIR(st.st_mode) ? "a directory"
                                 : "not a regular file, a character device or "
                                   "a FIFO") +
            "; kiln replaces only regular files";
    return false;
  }
  std::string target = path_;
  if (isLink) {
    char resolved[PATH_MAX];
    if (!::realpath(path_.c_str(), resolved))
      return fail(errno, error);
    target = resolved;
  }
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
    std::string tmp = target + suffix;
    int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST)
        continue;
      return fail(errno, error);
    }
    tmp_ = tmp;
    target_ = target;
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

void AtomicFile::write(const void *data, size_t size) {
  if (size && !errno_ && std::fwrite(data, 1, size, file_) != size)
    errno_ = errno ? errno : EIO;
}

bool AtomicFile::commit(std::string &error) {
  if (!errno_ && std::fflush(file_) != 0)
    errno_ = errno;
  int closed = std::fclose(file_);
  file_ = nullptr;
  if (!errno_ && closed != 0)
    errno_ = errno;
  if (!errno_ && !tmp_.empty() && std::rename(tmp_.c_str(), target_.c_str()) != 0)
    errno_ = errno;
  if (errno_)
    return fail(errno_, error);
  tmp_.clear();
  return true;
}

bool AtomicFile::fail(int err, std::string &error) {
  error = "cannot write '" + path_ + "': " + std::strerror(err);
  return false;
}

} // namespace kiln::rt::detail
