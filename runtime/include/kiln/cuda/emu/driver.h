//===- kiln/cuda/emu/driver.h - the driver API's tensor maps -----*- C++ -*-===//
//
// The part of CUDA's driver API (cuda.h) that kiln's Hopper kernels use:
// tensor maps for the tensor memory accelerator. cuTensorMapEncodeTiled
// checks its arguments as the CUDA 12/13 documentation states them (and
// returns CUDA_ERROR_INVALID_VALUE like the driver), then stores them in
// the opaque 128 bytes for the emulator's cp.async.bulk.tensor
// (runtime/src/cuda_emu/Hopper.cpp). Under nvcc the real cuda.h is used and
// the function comes from the driver (cudaGetDriverEntryPointByVersion).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CUDA_EMU_DRIVER_H
#define KILN_CUDA_EMU_DRIVER_H

#include <cstdint>

typedef std::uint32_t cuuint32_t;
typedef std::uint64_t cuuint64_t;

enum cudaError_enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_NOT_SUPPORTED = 801,
};
typedef enum cudaError_enum CUresult;

/// The opaque tensor map (64-byte aligned, 128 bytes).
typedef struct alignas(64) CUtensorMap_st {
  std::uint64_t opaque[16];
} CUtensorMap;

typedef enum CUtensorMapDataType_enum {
  CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0,
  CU_TENSOR_MAP_DATA_TYPE_UINT16,
  CU_TENSOR_MAP_DATA_TYPE_UINT32,
  CU_TENSOR_MAP_DATA_TYPE_INT32,
  CU_TENSOR_MAP_DATA_TYPE_UINT64,
  CU_TENSOR_MAP_DATA_TYPE_INT64,
  CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
  CU_TENSOR_MAP_DATA_TYPE_FLOAT32,
  CU_TENSOR_MAP_DATA_TYPE_FLOAT64,
  CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
  CU_TENSOR_MAP_DATA_TYPE_FLOAT32_FTZ,
  CU_TENSOR_MAP_DATA_TYPE_TFLOAT32,
  CU_TENSOR_MAP_DATA_TYPE_TFLOAT32_FTZ,
} CUtensorMapDataType;

typedef enum CUtensorMapInterleave_enum {
  CU_TENSOR_MAP_INTERLEAVE_NONE = 0,
  CU_TENSOR_MAP_INTERLEAVE_16B,
  CU_TENSOR_MAP_INTERLEAVE_32B,
} CUtensorMapInterleave;

typedef enum CUtensorMapSwizzle_enum {
  CU_TENSOR_MAP_SWIZZLE_NONE = 0,
  CU_TENSOR_MAP_SWIZZLE_32B,
  CU_TENSOR_MAP_SWIZZLE_64B,
  CU_TENSOR_MAP_SWIZZLE_128B,
} CUtensorMapSwizzle;

typedef enum CUtensorMapL2promotion_enum {
  CU_TENSOR_MAP_L2_PROMOTION_NONE = 0,
  CU_TENSOR_MAP_L2_PROMOTION_L2_64B,
  CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
  CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
} CUtensorMapL2promotion;

typedef enum CUtensorMapFloatOOBfill_enum {
  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0,
  CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA,
} CUtensorMapFloatOOBfill;

/// Tiled-mode tensor maps only (no interleave, no im2col mode).
CUresult cuTensorMapEncodeTiled(CUtensorMap *tensorMap, CUtensorMapDataType tensorDataType,
                                cuuint32_t tensorRank, void *globalAddress,
                                const cuuint64_t *globalDim, const cuuint64_t *globalStrides,
                                const cuuint32_t *boxDim, const cuuint32_t *elementStrides,
                                CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                CUtensorMapL2promotion l2Promotion,
                                CUtensorMapFloatOOBfill oobFill);

namespace kiln::emu::detail {
/// What cuTensorMapEncodeTiled stores in CUtensorMap::opaque.
struct TensorMapData {
  std::uint32_t magic;        ///< kTensorMapMagic
  std::uint8_t rank;
  std::uint8_t elementBytes;
  std::uint8_t swizzleBytes;  ///< 0 (none), 32, 64 or 128
  std::uint8_t nanFill;       ///< OOB elements are NaN instead of zero
  std::uint16_t box[5];
  std::uint8_t elementStrides[5];
  std::uint64_t globalAddress;
  std::uint64_t dims[5];
  std::uint64_t strides[5];   ///< bytes; strides[0] is the element size
};
static_assert(sizeof(TensorMapData) <= sizeof(CUtensorMap), "tensor map fits");
inline constexpr std::uint32_t kTensorMapMagic = 0x6b746d31; // "ktm1"
} // namespace kiln::emu::detail

#endif // KILN_CUDA_EMU_DRIVER_H
