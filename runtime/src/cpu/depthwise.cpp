//===- depthwise.cpp - the depthwise row kernels of one kernel set --------===//
//
// The instances of depthwise.h, compiled once per kernel set
// (kernels_isa.cpp), apart from grouped.cpp so that the two compile in
// parallel.
//
//===----------------------------------------------------------------------===//

#include "depthwise.h"

namespace kiln::cpu::KILN_CPU_ISA {

namespace {
template <int K, int SW> DwRowFns row_fns() {
  return {&depthwise_row<K, SW, true>, &depthwise_row<K, SW, false>,
          &depthwise_row<K, SW, false, true>};
}
} // namespace

DwRowFns depthwise_row_fns(const Conv2d &S) {
  bool depthwise = S.groups == S.c && S.o == S.c;
  if (!depthwise || S.kh != S.kw || S.dh != 1 || S.dw != 1)
    return {};
  switch (S.kw * 10 + S.sw) {
  case 31: return row_fns<3, 1>();
  case 32: return row_fns<3, 2>();
  case 51: return row_fns<5, 1>();
  case 52: return row_fns<5, 2>();
  }
  return {};
}

} // namespace kiln::cpu::KILN_CPU_ISA
