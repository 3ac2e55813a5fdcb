//===- arch.h - which of an executable's GPU code a device runs -*- C++ -*-===//
//
// A kiln executable holds its CUDA code as nvcc embeds it: an image per
// architecture it was compiled for, SASS for sm_80, sm_90a, ... (code the
// GPU runs as it is) and PTX for compute_NN (which the driver compiles for
// the GPU when the program starts). And it holds the model's forward pass
// in one or two launch variants: the sm_90a variant, whose GEMM layers run
// the warp-specialised TMA/wgmma kernels that exist on compute capability
// 9.0 only (H100, H200), and the variant of every other GPU (mma.sync).
//
// This header states which image the CUDA driver loads on a device and so
// which variant the runtime must launch there (session.cpp), and which
// image lists the compiler accepts (kiln compile --cuda-arch). It needs no
// CUDA header. The driver's rules (CUDA C++ Programming Guide, "Binary
// Compatibility", "Application Compatibility" and the feature-set suffixes):
//   * SASS for sm_XY runs on devices of compute capability X.Y' with Y' >= Y
//     and the same major version X; sm_90a (architecture-specific features)
//     runs on compute capability 9.0 only;
//   * PTX for compute_XY is compiled by the driver for any device of compute
//     capability >= X.Y; compute_90a's only for 9.0;
//   * a compatible SASS image is preferred to compiling PTX; of several,
//     the newest. CUDA_FORCE_PTX_JIT=1 makes the driver ignore SASS and
//     CUDA_DISABLE_PTX_JIT=1 ignore PTX.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_ARCH_H
#define KILN_RUNTIME_CUDA_ARCH_H

#include <string>
#include <string_view>
#include <vector>

namespace kiln::cuda {

/// The device code of an executable compiled without --cuda-arch: SASS
/// for sm_80 (which the A100 and every later 8.x GPU runs) and sm_90a (the
/// H100 and H200), PTX for compute_80 (GPUs after them compile it).
inline constexpr const char *kDefaultImages = "sm_80 sm_90a compute_80";

/// One image of an executable's CUDA code.
struct CodeImage {
  /// The compute capability it is for, as major * 10 + minor (80, 90, 100).
  int arch = 0;
  /// sm_90a / compute_90a: architecture-specific features (wgmma): runs on
  /// exactly that compute capability.
  bool specific = false;
  /// PTX (compute_NN), else SASS (sm_NN).
  bool ptx = false;

  /// As nvcc names it: "sm_80", "sm_90a", "compute_80".
  std::string name() const {
    return (ptx ? "compute_" : "sm_") + std::to_string(arch) + (specific ? "a" : "");
  }
  bool operator==(const CodeImage &o) const {
    return arch == o.arch && specific == o.specific && ptx == o.ptx;
  }
};

/// Parses "sm_80", "sm_90a", "compute_80", "compute_90a" (no range check).
inline bool parse_image(std::string_view name, CodeImage &image) {
  image = CodeImage{};
  if (name.substr(0, 3) == "sm_") {
    name.remove_prefix(3);
  } else if (name.substr(0, 8) == "compute_") {
    name.remove_prefix(8);
    image.ptx = true;
  } else {
    return false;
  }
  if (!name.empty() && name.back() == 'a') {
    image.specific = true;
    name.remove_suffix(1);
  }
  if (name.empty() || name.size() > 3)
    return false;
  for (char c : name) {
    if (c < '0' || c > '9')
      return false;
    image.arch = image.arch * 10 + (c - '0');
  }
  return true;
}

/// Parses a space-separated image list ("sm_80 sm_90a compute_80").
inline bool parse_images(std::string_view list, std::vector<CodeImage> &images) {
  images.clear();
  while (!list.empty()) {
    size_t end = list.find(' ');
    std::string_view word = list.substr(0, end);
    list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
    if (word.empty())
      continue;
    CodeImage image;
    if (!parse_image(word, image))
      return false;
    images.push_back(image);
  }
  return !images.empty();
}

/// Whether the driver can run |image| on a device of compute capability
/// |cc| (major * 10 + minor).
inline bool image_runs_on(const CodeImage &image, int cc) {
  if (image.specific)
    return cc == image.arch;
  if (image.ptx)
    return cc >= image.arch;
  return cc / 10 == image.arch / 10 && cc % 10 >= image.arch % 10;
}

/// What the driver does with the images it may use on a device.
struct JitPolicy {
  /// CUDA_FORCE_PTX_JIT=1: SASS is ignored, PTX always compiled.
  bool force_ptx = false;
  /// CUDA_DISABLE_PTX_JIT=1: PTX is never compiled.
  bool disable_ptx = false;
};

/// The image the driver loads on a device of compute capability |cc|: the
/// newest compatible SASS, else the newest compatible PTX; null if none.
inline const CodeImage *loaded_image(const std::vector<CodeImage> &images, int cc,
                                     JitPolicy policy = {}) {
  const CodeImage *best = nullptr;
  for (bool ptx : {false, true}) {
    if ((ptx && policy.disable_ptx) || (!ptx && policy.force_ptx))
      continue;
    for (const CodeImage &image : images)
      if (image.ptx == ptx && image_runs_on(image, cc) &&
          (!best || image.arch > best->arch ||
           (image.arch == best->arch && image.specific)))
        best = &image;
    if (best)
      return best;
  }
  return nullptr;
}

/// "sm_80" for compute capability 80.
inline std::string sm_name(int cc) { return "sm_" + std::to_string(cc); }

/// The variant of a model to launch on a device of compute capability |cc|,
/// given the images the executable holds and whether each of its variants
/// is the sm_90a one (|sm90a|[i]): the sm_90a
/// variant where the driver loads an sm_90a image, else the other one. -1
/// when the device can run none of the images; |why| then says so, naming
/// the device (|device|, e.g. "NVIDIA A100-SXM4-80GB") and the remedy.
inline int choose_variant(const std::vector<CodeImage> &images,
                          const std::vector<bool> &sm90a, int cc,
                          const std::string &device, JitPolicy policy, std::string &why) {
  const CodeImage *image = loaded_image(images, cc, policy);
  if (!image) {
    std::string list;
    bool hopper = true;
    for (const CodeImage &i : images) {
      list += (list.empty() ? "" : ", ") + i.name();
      hopper = hopper && i.specific && i.arch == 90;
    }
    std::vector<CodeImage> defaults;
    parse_images(kDefaultImages, defaults);
    std::string remedy = "--cuda-arch " + sm_name(cc);
    if (loaded_image(defaults, cc, policy))
      remedy = "no --cuda-arch (the default, " + std::string(kDefaultImages) +
               ", is for every GPU from the A100) or with " + remedy;
    why = "the CUDA device " + device + " is " + sm_name(cc) +
          ", and this executable's CUDA code (" + list + ") " +
          (hopper ? "is for the H100 and H200 (sm_90) only" : "does not run on it") +
          (policy.force_ptx ? " with CUDA_FORCE_PTX_JIT=1" : "") +
          (policy.disable_ptx ? " with CUDA_DISABLE_PTX_JIT=1" : "") +
          ": compile it with " + remedy;
    return -1;
  }
  // An sm_90a image holds both variants' kernels that run there; any other
  // image only those of the variant that is not sm_90a.
  int fallback = -1;
  for (int v = 0; v < int(sm90a.size()); ++v) {
    if (sm90a[v] == image->specific)
      return v;
    if (!sm90a[v])
      fallback = v;
  }
  if (image->specific && fallback >= 0)
    return fallback;
  why = "this executable's sm_90a code cannot run from the " + image->name() +
        " image the driver loads on the CUDA device " + device;
  return -1;
}

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_ARCH_H
