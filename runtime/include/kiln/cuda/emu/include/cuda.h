//===- cuda.h - stand-in for CUDA's driver API header under the emulator -*- C++ -*-===//
//
// This file is on the include path of code compiled for kiln's SIMT emulator
// (runtime/include/kiln/cuda/emu/include): the driver API subset of
// kiln/cuda/emu/driver.h (tensor maps). See kiln/cuda/emu/emulator.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_SHIM_CUDA_H
#define KILN_CUDA_EMU_SHIM_CUDA_H

#include "kiln/cuda/emu/emulator.h"

#endif // KILN_CUDA_EMU_SHIM_CUDA_H
