//===- memory.cpp - memory the CPU kernels allocate themselves ------------===//

#include "memory.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace kiln::cpu {

void out_of_memory(size_t bytes, const char *what) {
  // program_invocation_short_name (glibc): the executable's name, as
  // main.cpp's errors start.
  std::fprintf(stderr,
               "%s: error: out of memory (a CPU kernel needed %zu bytes for "
               "%s)\n",
               program_invocation_short_name, bytes, what);
  std::fflush(stderr);
  std::_Exit(1);
}

void *checked_malloc(size_t bytes, const char *what) {
  void *p = std::malloc(bytes ? bytes : 1);
  if (!p)
    out_of_memory(bytes, what);
  return p;
}

void *checked_calloc(size_t count, size_t size, const char *what) {
  void *p = std::calloc(count ? count : 1, size ? size : 1);
  if (!p)
    out_of_memory(count * size, what);
  return p;
}

namespace {
struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};
struct Scratch {
  std::unique_ptr<float, FreeDeleter> data;
  size_t floats = 0;
};
} // namespace

float *thread_scratch(size_t floats) {
  thread_local Scratch scratch;
  if (floats > scratch.floats) {
    // Grow by half again, so that a model's growing layers reallocate a few
    // times only.
    size_t want = std::max(floats, scratch.floats + scratch.floats / 2);
    size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
    scratch.data.reset();
    scratch.floats = 0;
    float *p = static_cast<float *>(std::aligned_alloc(64, bytes));
    if (!p)
      out_of_memory(bytes, "its scratch");
    scratch.data.reset(p);
    scratch.floats = want;
  }
  return scratch.data.get();
}

} // namespace kiln::cpu
