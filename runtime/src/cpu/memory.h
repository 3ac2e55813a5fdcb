//===- memory.h - memory the CPU kernels allocate themselves ----*- C++ -*-===//
//
// Kernels need no scratch from the caller (kiln/cpu/kernels.h): the few
// that want some (Winograd's transformed tiles, a huge kernel's row
// pointers) take it from here. An allocation that fails ends the process
// with one "out of memory" error and exit status 1, as the executable's own
// allocations do (runtime/src/main.cpp), rather than an abort: the kernels
// run inside pool tasks, which cannot throw.
//
// Compiled for the baseline into kiln_runtime (memory.cpp), so all kernel
// sets share it; it holds no vector code.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_MEMORY_H
#define KILN_RUNTIME_CPU_MEMORY_H

#include <cstddef>

namespace kiln::cpu {

/// Prints "<program>: error: out of memory (a CPU kernel needed |bytes|
/// bytes for |what|)" and exits with status 1.
[[noreturn]] void out_of_memory(size_t bytes, const char *what);

/// malloc(|bytes|), or out_of_memory(bytes, what).
void *checked_malloc(size_t bytes, const char *what);
/// calloc(|count|, |size|), or out_of_memory.
void *checked_calloc(size_t count, size_t size, const char *what);

/// At least |floats| floats of the calling thread's scratch, 64-byte
/// aligned, uninitialized. It stays the thread's until the thread ends and
/// is reused (grown when too small) by its next call, so a kernel task must
/// be done with it before it calls again.
float *thread_scratch(size_t floats);

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_MEMORY_H
