//===- emu_checks.h - what the emulator's test drivers share ----*- C++ -*-===//
//
// The check counter, device buffers and launch reporting of kiln-emu-test
// (emu_test.cu) and kiln-hopper-test (hopper_test.cu). Header-only, one
// copy per test driver.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TEST_CUDA_EMU_CHECKS_H
#define KILN_RUNTIME_TEST_CUDA_EMU_CHECKS_H

#include <cstdio>
#include <string>
#include <vector>

namespace kiln::emu_test {

inline int checks = 0, failed = 0;

/// Counts and prints one check ("PASS what" / "FAIL what").
inline void check(bool ok, const std::string &what) {
  ++checks;
  failed += !ok;
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
}

/// Device buffer of |n| T, freed at scope exit.
template <typename T> struct Buf {
  T *d = nullptr;
  size_t n;
  explicit Buf(size_t count) : n(count) { cudaMalloc(reinterpret_cast<void **>(&d), n * sizeof(T)); }
  Buf(const std::vector<T> &v) : Buf(v.size()) {
    cudaMemcpy(d, v.data(), n * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~Buf() { cudaFree(d); }
  std::vector<T> get() const {
    std::vector<T> v(n);
    cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
    return v;
  }
};

/// Reports a launch failure (the emulator printed why); returns true if ok.
inline bool launched(const char *what) {
  cudaError_t e = cudaGetLastError();
  cudaError_t s = cudaDeviceSynchronize();
  if (e == cudaSuccess && s == cudaSuccess)
    return true;
  std::printf("launch of %s failed: %s\n", what, cudaGetErrorName(e != cudaSuccess ? e : s));
  return false;
}

} // namespace kiln::emu_test

#endif // KILN_RUNTIME_TEST_CUDA_EMU_CHECKS_H
