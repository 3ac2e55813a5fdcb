//===- tensor_io.h - safetensors and .npy ----------------------*- C++ -*-===//
//
// Readers and writers of the two tensor file formats kiln uses: safetensors
// for weights (PyTorch state_dict names) and NumPy .npy for inputs and
// outputs. Readers validate everything (lengths, offsets, dtypes, shapes)
// and report one message naming the file; they never crash on bad input.
// Writers write a temporary file and rename it, so a failed write leaves no
// partial output behind.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TENSOR_IO_H
#define KILN_RUNTIME_TENSOR_IO_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::rt {

/// Reads a whole file. On failure returns false and sets |error| to
/// "cannot read 'path': reason". A file (or a pipe, or a device such as
/// /dev/zero) of more than |limit| bytes is refused without reading more
/// than limit + 1 bytes of it: "cannot read 'path': more than N bytes, the
/// most <what> may take".
bool readFile(const std::string &path, std::vector<uint8_t> &out,
              std::string &error, uint64_t limit = UINT64_MAX,
              const char *what = "a file");

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

/// The dtypes of the safetensors format. kiln's weights are float32: F32,
/// F16 and BF16 convert exactly, F64 is rounded to nearest float32 (its
/// extra precision is lost, values beyond float32's range become +-inf);
/// the integer, boolean and 8-bit float dtypes are read (a state_dict saved
/// with safetensors.torch.save_file holds every BatchNorm's
/// num_batches_tracked as an I64 scalar) but cannot be weights.
enum class DType {
  F32, F16, BF16, F64,
  I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2,
};
const char *dtypeName(DType dtype);
/// Bytes per element of |dtype|.
size_t dtypeSize(DType dtype);
/// Whether TensorView::toFloat32 converts |dtype| (F32, F16, BF16, F64).
bool isFloatWeight(DType dtype);

/// One tensor of a safetensors file; |data| points into the parsed bytes
/// (little-endian, not necessarily aligned).
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const;
  /// Converts the tensor to float32 into |out| (numel() floats). F16 and
  /// BF16 are widened exactly, subnormals, infinities and NaNs included;
  /// F64 is rounded to nearest. Only for isFloatWeight(dtype).
  void toFloat32(float *out) const;
};

/// A parsed safetensors file. The bytes must outlive it.
class SafeTensors {
public:
  /// Parses and validates |size| bytes. |source| names them in messages
  /// (a file name, or "embedded weights"). Rejects: a file shorter than its
  /// 8-byte header length or the header it announces, malformed JSON,
  /// entries without dtype/shape/data_offsets (or with other fields),
  /// dtypes the format does not define, shapes and offsets that are not
  /// non-negative integers, offsets outside the data or not matching
  /// shape × dtype size, duplicate names, and (as the reference
  /// implementation does) data that the tensors do not tile exactly: no
  /// overlap, no hole, nothing left over. `__metadata__` (a map of strings)
  /// is accepted and ignored. Tensors keep the order of the header.
  static std::unique_ptr<SafeTensors> parse(const uint8_t *bytes, size_t size,
                                            const std::string &source,
                                            std::string &error);

  const std::vector<TensorView> &tensors() const { return tensors_; }
  /// The tensor named |name|, or nullptr.
  const TensorView *find(std::string_view name) const;

private:
  std::vector<TensorView> tensors_;
  std::vector<size_t> byName_; ///< indices into tensors_, sorted by name
};

/// A float32 tensor to write.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float *data;
};

/// Writes |tensors| as a safetensors file of F32 tensors, in the given order
/// (header and data), with the header padded by spaces to a multiple of 8
/// bytes as the reference implementation does. Duplicate names fail.
bool writeSafeTensors(const std::string &path,
                      const std::vector<NamedTensor> &tensors,
                      std::string &error);

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// Reads a little-endian float32 ('<f4'), C-order .npy file (versions 1.0,
/// 2.0 and 3.0). Any other dtype, Fortran order, a corrupt header or a data
/// size that does not match the shape is an error. A file of more than
/// |limit| bytes is refused unread (readFile).
bool readNpy(const std::string &path, NpyArray &out, std::string &error,
             uint64_t limit = UINT64_MAX);

/// readNpy's parser: the |size| bytes of a .npy file, named |source| in
/// messages.
bool parseNpy(const uint8_t *bytes, size_t size, const std::string &source,
              NpyArray &out, std::string &error);

/// The most bytes a .npy file of |elements| float32 values takes: the data
/// and the largest header numpy writes (1 MiB covers any real one).
inline uint64_t npyFileLimit(uint64_t elements) {
  return elements * 4 + (uint64_t(1) << 20);
}

/// Writes a float32 C-order .npy file (version 1.0, header padded to 64
/// bytes as numpy does).
bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const float *data, std::string &error);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TENSOR_IO_H
