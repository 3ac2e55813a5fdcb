//===- device_launch_parameters.h - stand-in for CUDA's device_launch_parameters.h under the emulator -------*- C++ -*-===//
//
// This file is on the include path of code compiled for kiln's SIMT emulator
// (runtime/include/kiln/cuda/emu/include). Everything the emulator offers
// comes from one header; see kiln/cuda/emu/emulator.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_SHIM_DEVICE_LAUNCH_PARAMETERS_H
#define KILN_CUDA_EMU_SHIM_DEVICE_LAUNCH_PARAMETERS_H

#include "kiln/cuda/emu/emulator.h"

#endif // KILN_CUDA_EMU_SHIM_DEVICE_LAUNCH_PARAMETERS_H
