//===- vector_types.h - stand-in for CUDA's vector_types.h under the emulator -------*- C++ -*-===//
//
// This file is on the include path of code compiled for kiln's SIMT emulator
// (runtime/include/kiln/cuda/emu/include). Everything the emulator offers
// comes from one header; see kiln/cuda/emu/emulator.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_SHIM_VECTOR_TYPES_H
#define KILN_CUDA_EMU_SHIM_VECTOR_TYPES_H

#include "kiln/cuda/emu/emulator.h"

#endif // KILN_CUDA_EMU_SHIM_VECTOR_TYPES_H
