//===- kiln-inspect.cpp - look inside kiln's runtime files ----------------===//
//
// This file implements kiln-inspect, a small command-line tool over the
// runtime's readers and writers (kiln/tensor_io.h, kiln/image.h): it lists
// safetensors files, summarizes .npy files, preprocesses images exactly as a
// compiled executable's --image does, and writes small test files. It is
// also the driver of the runtime's lit tests (test/Runtime/).
//
// Every error is printed as "kiln-inspect: error: MESSAGE" on stderr, and
// the exit status is 1; usage errors exit with 2.
//
//===----------------------------------------------------------------------===//

#include "kiln/image.h"
#include "kiln/tensor_io.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace kiln::rt;

namespace {

constexpr const char *kUsage = R"(OVERVIEW: look inside kiln's runtime files

USAGE: kiln-inspect COMMAND [ARGS]

COMMANDS:
  safetensors FILE [--values]
        List the tensors: one line 'name dtype [shape] nbytes' each, then a
        total. --values also prints each tensor's first 16 values (as
        float32).
  npy FILE
        Print the shape and dtype of a float32 .npy file and the min, max
        and mean of its values.
  image FILE [-o OUT.npy] [--resize N|H,W] [--crop N|H,W] [--mean R,G,B]
        [--std R,G,B]
        Decode a JPEG, PNG or PPM/PGM image and apply torchvision's test
        transform exactly as torchvision does: Resize (default: the crop
        times 256/224; H,W: exactly that), CenterCrop (default 224),
        ToTensor, Normalize (default ImageNet's mean and std); print the
        1x3xHxW result's summary and write it to OUT.npy.
  write-npy OUT.npy --shape D0,D1,... [--fill V | --iota]
        Write a float32 .npy file filled with V (default 0) or 0, 1, 2, ...
  write-safetensors OUT.safetensors NAME=D0,D1,... [NAME=SHAPE ...]
        Write an F32 safetensors file; each tensor holds 0, 1, 2, ...

OPTIONS:
  -h, --help   Print this help and exit.
)";

int error(const std::string &message) {
  std::fprintf(stderr, "kiln-inspect: error: %s\n", message.c_str());
  return 1;
}

int usageError(const std::string &message) {
  std::fprintf(stderr,
               "kiln-inspect: error: %s\n"
               "run 'kiln-inspect --help' for usage\n",
               message.c_str());
  return 2;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Parses "1,3,224,224" (an empty string is the 0-d shape).
bool parseShape(std::string_view text, std::vector<int64_t> &shape) {
  shape.clear();
  if (text.empty())
    return true;
  size_t pos = 0;
  for (;;) {
    size_t comma = text.find(',', pos);
    std::string part(text.substr(pos, comma - pos));
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end || errno || v < 0 || v > (int64_t{1} << 40))
      return false;
    shape.push_back(v);
    if (comma == std::string_view::npos)
      return true;
    pos = comma + 1;
  }
}

/// numel of |shape|, or -1 above 2^31 elements (plenty for test files).
int64_t numelOf(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    n *= d;
    if (n > (int64_t{1} << 31))
      return -1;
  }
  return n;
}

/// Prints "shape [..] dtype float32" and "min .. max .. mean ..".
void printSummary(const std::vector<int64_t> &shape,
                  const std::vector<float> &data) {
  std::printf("shape %s dtype float32\n", formatShape(shape).c_str());
  double sum = 0;
  float lo = INFINITY, hi = -INFINITY;
  size_t nans = 0;
  for (float v : data) {
    if (std::isnan(v)) {
      ++nans;
      continue;
    }
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
    sum += v;
  }
  if (data.size() == nans) {
    std::printf("min - max - mean -");
  } else {
    std::printf("min %.9g max %.9g mean %.9g", lo, hi,
                sum / double(data.size() - nans));
  }
  if (nans)
    std::printf(" (%zu NaN)", nans);
  std::printf("\n");
}

//===----------------------------------------------------------------------===//
// Commands
//===----------------------------------------------------------------------===//

int cmdSafeTensors(const std::vector<std::string> &args) {
  std::string path;
  bool values = false;
  for (const std::string &a : args) {
    if (a == "--values")
      values = true;
    else if (a.size() > 1 && a[0] == '-')
      return usageError("unknown option '" + a + "' for 'safetensors'");
    else if (path.empty())
      path = a;
    else
      return usageError("'safetensors' takes one file");
  }
  if (path.empty())
    return usageError("'safetensors' needs a file");
  std::vector<uint8_t> bytes;
  std::string err;
  if (!readFile(path, bytes, err))
    return error(err);
  auto st = SafeTensors::parse(bytes.data(), bytes.size(), path, err);
  if (!st)
    return error(err);
  uint64_t totalBytes = 0, totalElements = 0;
  std::vector<float> buf;
  for (const TensorView &t : st->tensors()) {
    std::printf("%s %s %s %zu\n", t.name.c_str(), dtypeName(t.dtype),
                formatShape(t.shape).c_str(), t.nbytes);
    totalBytes += t.nbytes;
    totalElements += static_cast<uint64_t>(t.numel());
    if (values && !isFloatWeight(t.dtype)) {
      std::printf("  values: not shown (%s is not a weight dtype)\n",
                  dtypeName(t.dtype));
    } else if (values) {
      buf.resize(static_cast<size_t>(t.numel()));
      t.toFloat32(buf.data());
      std::printf("  values:");
      for (size_t i = 0; i < buf.size() && i < 16; ++i)
        std::printf(" %.9g", buf[i]);
      std::printf(buf.size() > 16 ? " ...\n" : "\n");
    }
  }
  std::printf("total: %zu tensors, %" PRIu64 " elements, %" PRIu64 " bytes\n",
              st->tensors().size(), totalElements, totalBytes);
  return 0;
}

int cmdNpy(const std::vector<std::string> &args) {
  if (args.size() != 1 || (args[0].size() > 1 && args[0][0] == '-'))
    return usageError("'npy' takes one file");
  NpyArray array;
  std::string err;
  if (!readNpy(args[0], array, err))
    return error(err);
  printSummary(array.shape, array.data);
  return 0;
}

/// "N" or "H,W" (each 1 to 65536) into |first| and |second| (0 without).
bool parseSizes(const std::string &text, int &first, int &second) {
  auto one = [](const std::string &t, int &v) {
    char *end = nullptr;
    long n = std::strtol(t.c_str(), &end, 10);
    if (t.empty() || *end || n < 1 || n > 65536)
      return false;
    v = int(n);
    return true;
  };
  size_t comma = text.find(',');
  second = 0;
  return one(text.substr(0, comma), first) &&
         (comma == std::string::npos || one(text.substr(comma + 1), second));
}

/// "R,G,B": three numbers, each the float32 nearest its double value.
bool parseTriple(const std::string &text, float (&out)[3]) {
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    size_t comma = text.find(',', start);
    if ((i < 2) != (comma != std::string::npos))
      return false;
    std::string item = text.substr(start, comma - start);
    char *end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end || !std::isfinite(v))
      return false;
    out[i] = float(v);
    start = comma + 1;
  }
  return true;
}

int cmdImage(const std::vector<std::string> &args) {
  std::string path, out;
  ImageTransform transform;
  bool resized = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    bool valued = a == "-o" || a == "--resize" || a == "--crop" ||
                  a == "--mean" || a == "--std";
    if (valued && i + 1 == args.size())
      return usageError("'" + a + "' needs " +
                        (a == "-o" ? "a file name" : "a value"));
    if (a == "-o") {
      out = args[++i];
    } else if (a == "--resize") {
      if (!parseSizes(args[++i], transform.resize, transform.resizeWidth))
        return usageError("--resize expects N or H,W (1 to 65536)");
      resized = true;
    } else if (a == "--crop") {
      if (!parseSizes(args[++i], transform.crop, transform.cropWidth))
        return usageError("--crop expects N or H,W (1 to 65536)");
    } else if (a == "--mean") {
      if (!parseTriple(args[++i], transform.mean))
        return usageError("--mean expects R,G,B");
    } else if (a == "--std") {
      if (!parseTriple(args[++i], transform.std))
        return usageError("--std expects R,G,B");
    } else if (a.size() > 1 && a[0] == '-') {
      return usageError("unknown option '" + a + "' for 'image'");
    } else if (path.empty()) {
      path = a;
    } else {
      return usageError("'image' takes one file");
    }
  }
  if (path.empty())
    return usageError("'image' needs a file");
  // As the executables: resize 256 for a 224 crop.
  if (!resized)
    transform.resize = int(std::lround(transform.crop * 256.0 / 224.0));
  std::vector<float> chw;
  std::string err;
  if (!loadImage(path, transform, chw, err))
    return error(err);
  std::vector<int64_t> shape = {1, 3, transform.crop, transform.cropW()};
  if (!out.empty() && !writeNpy(out, shape, chw.data(), err))
    return error(err);
  printSummary(shape, chw);
  return 0;
}

int cmdWriteNpy(const std::vector<std::string> &args) {
  std::string out;
  std::vector<int64_t> shape;
  bool haveShape = false, iota = false;
  float fill = 0.0f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--shape" || a == "--fill") {
      if (i + 1 == args.size())
        return usageError("'" + a + "' needs a value");
      const std::string &v = args[++i];
      if (a == "--shape") {
        if (!parseShape(v, shape))
          return usageError("bad shape '" + v + "' (expected e.g. 1,3,2,2)");
        haveShape = true;
      } else {
        char *end = nullptr;
        fill = std::strtof(v.c_str(), &end);
        if (v.empty() || *end)
          return usageError("bad number '" + v + "' for '--fill'");
      }
    } else if (a == "--iota") {
      iota = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usageError("unknown option '" + a + "' for 'write-npy'");
    } else if (out.empty()) {
      out = a;
    } else {
      return usageError("'write-npy' takes one output file");
    }
  }
  if (out.empty() || !haveShape)
    return usageError("'write-npy' needs an output file and --shape");
  int64_t n = numelOf(shape);
  if (n < 0)
    return usageError("shape " + formatShape(shape) + " is too large");
  std::vector<float> data(static_cast<size_t>(n), fill);
  for (int64_t i = 0; iota && i < n; ++i)
    data[i] = static_cast<float>(i);
  std::string err;
  if (!writeNpy(out, shape, data.data(), err))
    return error(err);
  return 0;
}

int cmdWriteSafeTensors(const std::vector<std::string> &args) {
  if (args.empty())
    return usageError("'write-safetensors' needs an output file");
  std::vector<std::vector<float>> storage;
  std::vector<NamedTensor> tensors;
  storage.reserve(args.size());
  for (size_t i = 1; i < args.size(); ++i) {
    size_t eq = args[i].rfind('=');
    std::vector<int64_t> shape;
    if (eq == std::string::npos ||
        !parseShape(std::string_view(args[i]).substr(eq + 1), shape))
      return usageError("bad tensor '" + args[i] +
                        "' (expected NAME=D0,D1,...)");
    int64_t n = numelOf(shape);
    if (n < 0)
      return usageError("shape " + formatShape(shape) + " is too large");
    storage.emplace_back(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j)
      storage.back()[j] = static_cast<float>(j);
    tensors.push_back({args[i].substr(0, eq), shape, storage.back().data()});
  }
  std::string err;
  if (!writeSafeTensors(args[0], tensors, err))
    return error(err);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string &a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (args.empty())
    return usageError("no command given");
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "safetensors")
    return cmdSafeTensors(args);
  if (command == "npy")
    return cmdNpy(args);
  if (command == "image")
    return cmdImage(args);
  if (command == "write-npy")
    return cmdWriteNpy(args);
  if (command == "write-safetensors")
    return cmdWriteSafeTensors(args);
  return usageError("unknown command '" + command + "'");
}
