//===- image_decode.cpp - JPEG, PNG and PPM/PGM decoding ------------------===//
//
// This file implements decodeImage() (image_internal.h): the pixels of
// PIL's Image.open(path).convert('RGB'), decoded with stb_image.
//
// Decoding matches PIL's convert('RGB') (Pillow 9.4 with libjpeg-turbo 2.1):
// grayscale is replicated, alpha is dropped (not composited), palettes are
// expanded, 16-bit PNG samples keep their high byte, PPM/PGM with a maxval
// other than 255 are rescaled. stb_image parses JPEG and PNG, kiln reads
// PPM/PGM itself (decodePnm); for JPEG, the steps where decoders round
// differently (IDCT, chroma upsampling, colour conversion) are done as
// libjpeg-turbo does them (image_libjpeg.cpp), so JPEG pixels match PIL's. tools/check_image_transform.py checks all of
// this against torchvision.
//
//===----------------------------------------------------------------------===//

#include "image_internal.h"

#include "image_libjpeg.h"

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

// stb_image is compiled into the runtime (static, decoders we need only), so
// executables need no image library at run time.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
// Zeroed allocations: stb_image 2.27 can leave buffers partly unwritten on
// odd inputs (a JPEG whose scans skip a component), which would otherwise
// leak heap contents into the image.
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(p, size) std::realloc(p, size)
#define STBI_FREE(p) std::free(p)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace kiln::rt::detail {
namespace {

//===----------------------------------------------------------------------===//
// JPEG, the libjpeg-turbo way
//===----------------------------------------------------------------------===//
//
// PIL decodes JPEG with libjpeg-turbo's defaults: the accurate integer IDCT
// (JDCT_ISLOW), "fancy" (triangle) chroma upsampling and fixed-point
// YCbCr -> RGB tables. stb_image rounds all three differently (up to a few
// levels). The entropy-coded coefficients, however, are lossless and decode
// identically everywhere. So kiln lets stb_image parse the file and decode
// the coefficients, hooks the IDCT, and does upsampling and colour
// conversion itself, each step transcribed from libjpeg-turbo 2.1
// (jidctint.c, jdsample.c, jdcolor.c, jdmaster.c; image_libjpeg.cpp). This
// uses stb_image internals (stbi__jpeg, stbi__decode_jpeg_image) of the
// version Debian ships, 2.27; they are stable, and a change would fail to
// compile rather than misbehave.

/// MULDIV255 of Pillow: a * b / 255, rounded.
inline int mulDiv255(int a, int b) {
  int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/// stb_image's reason for the last failure ("corrupt data" when it gave
/// none); clearReason() forgets a stale one before a new call.
void clearReason() { stbi__g_failure_reason = nullptr; }
std::string failureReason() {
  const char *reason = stbi_failure_reason();
  if (!reason)
    return "corrupt data";
  // stb_image puts raw bytes of the file in some reasons (a PNG chunk's
  // type): never echo control or non-ASCII bytes to a terminal.
  std::string out;
  for (const char *c = reason; *c; ++c) {
    unsigned char b = static_cast<unsigned char>(*c);
    if (b >= 0x20 && b < 0x7F) {
      out += char(b);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", b);
      out += hex;
    }
  }
  return out;
}

/// The PNG checks stb_image 2.27 lacks, before it reads anything: the frame
/// size (stb_image reports a frame above its limits as "unknown image
/// type"), and zero-length IDAT chunks, legal but fed by stb_image to
/// memcpy(NULL, ..., 0); they hold no data and are dropped from |copy|
/// (which then replaces the file's bytes; left empty when there are none).
bool checkPng(const uint8_t *p, size_t size, std::vector<uint8_t> &copy,
              std::string &why) {
  if (size >= 24 && std::memcmp(p + 12, "IHDR", 4) == 0) {
    auto be32 = [&](size_t at) {
      return uint32_t(p[at]) << 24 | uint32_t(p[at + 1]) << 16 |
             uint32_t(p[at + 2]) << 8 | p[at + 3];
    };
    uint64_t w = be32(16), h = be32(20);
    if (w * h > uint64_t(kMaxPixels)) {
      why = "image of " + std::to_string(w) + " x " + std::to_string(h) +
            " pixels is too large (the limit is " +
            std::to_string(kMaxPixels) + " pixels)";
      return false;
    }
  }
  bool emptyIdat = false;
  for (size_t i = 8; i + 12 <= size;) {
    uint64_t len = uint64_t(p[i]) << 24 | uint64_t(p[i + 1]) << 16 |
                   uint64_t(p[i + 2]) << 8 | p[i + 3];
    emptyIdat |= len == 0 && std::memcmp(p + i + 4, "IDAT", 4) == 0;
    i += 12 + len;
  }
  if (!emptyIdat)
    return true;
  copy.assign(p, p + 8);
  for (size_t i = 8; i < size;) {
    uint64_t len = i + 12 <= size ? (uint64_t(p[i]) << 24 |
                                     uint64_t(p[i + 1]) << 16 |
                                     uint64_t(p[i + 2]) << 8 | p[i + 3])
                                  : 0;
    size_t end = i + 12 > size || len > size - i - 12 ? size
                                                       : size_t(i + 12 + len);
    if (!(len == 0 && end == i + 12 && std::memcmp(p + i + 4, "IDAT", 4) == 0))
      copy.insert(copy.end(), p + i, p + end);
    i = end;
  }
  return true;
}

/// Decodes a JPEG into RGB as PIL's Image.open(f).convert('RGB') does.
bool decodeJpeg(const uint8_t *bytes, int len, Rgb8 &image) {
  stbi__context ctx;
  stbi__start_mem(&ctx, bytes, len);
  auto j = std::make_unique<stbi__jpeg>(); // zeroed
  j->s = &ctx;
  stbi__setup_jpeg(j.get());
  j->idct_block_kernel = idctIslow;
  ctx.img_n = 0; // makes stbi__cleanup_jpeg safe before the frame header
  struct Cleanup {
    stbi__jpeg *j;
    ~Cleanup() { stbi__cleanup_jpeg(j); }
  } cleanup{j.get()};
  clearReason();
  if (!stbi__decode_jpeg_image(j.get()))
    return false; // the caller reports stbi_failure_reason()
  const int n = ctx.img_n, w = static_cast<int>(ctx.img_x),
            h = static_cast<int>(ctx.img_y);
  // stbi_info_from_memory() has checked the size.

  // Upsample every component to full size.
  std::vector<std::vector<uint8_t>> planes(n);
  for (int k = 0; k < n; ++k) {
    const auto &c = j->img_comp[k];
    Plane p{c.data, c.x, c.y, c.w2};
    planes[k] = upsample(p, j->img_h_max / c.h, j->img_v_max / c.v, w, h);
  }

  // The colour space, guessed as libjpeg's default_decompress_parms does.
  enum { Gray, YCbCr, Rgb, Cmyk, Ycck } space = Gray;
  if (n == 3) {
    const int id0 = j->img_comp[0].id, id1 = j->img_comp[1].id,
              id2 = j->img_comp[2].id;
    if (j->jfif)
      space = YCbCr;
    else if (j->app14_color_transform >= 0)
      space = j->app14_color_transform == 0 ? Rgb : YCbCr;
    else
      space = id0 == 'R' && id1 == 'G' && id2 == 'B' ? Rgb : YCbCr;
  } else if (n == 4) {
    space = j->app14_color_transform == 2   ? Ycck
            : j->app14_color_transform <= 0 ? Cmyk
                                            : Ycck;
  }

  image.width = w;
  image.height = h;
  image.pixels.resize(size_t(w) * h * 3);
  static const YCbCrToRgb toRgb;
  uint8_t *out = image.pixels.data();
  const size_t count = size_t(w) * h;
  for (size_t i = 0; i < count; ++i, out += 3) {
    switch (space) {
    case Gray:
      out[0] = out[1] = out[2] = planes[0][i];
      break;
    case Rgb:
      for (int c = 0; c < 3; ++c)
        out[c] = planes[c][i];
      break;
    case YCbCr:
      toRgb(planes[0][i], planes[1][i], planes[2][i], out);
      break;
    case Cmyk:
    case Ycck: {
      // libjpeg outputs CMYK (ycck_cmyk_convert inverts YCC->RGB, K passes
      // through); PIL reads it as Adobe-inverted "CMYK;I" and converts with
      // cmyk2rgb: nk - nk * c / 255 per channel, with c, k = 255 - sample.
      uint8_t cmy[3];
      if (space == Ycck) {
        toRgb(planes[0][i], planes[1][i], planes[2][i], cmy);
        for (uint8_t &v : cmy)
          v = static_cast<uint8_t>(255 - v);
      } else {
        for (int c = 0; c < 3; ++c)
          cmy[c] = planes[c][i];
      }
      const int nk = planes[3][i]; // 255 - (255 - sample)
      for (int c = 0; c < 3; ++c) {
        int v = nk - mulDiv255(255 - cmy[c], nk);
        out[c] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
      }
      break;
    }
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

/// The header of a binary PNM (P5/P6) file.
struct PnmHeader {
  int64_t width = 0, height = 0, maxval = 0, channels = 0;
  size_t dataOffset = 0;
};

/// Parses a binary PNM header as stb_image does (whitespace, '#' comments,
/// one whitespace byte after maxval), but refuses numbers of more than 9
/// digits, which stb_image 2.27 would overflow, and checks that the file
/// holds all the pixels, which stb_image 2.27 does not (it would return
/// uninitialized memory). PIL reports the same cases as errors.
bool parsePnm(const uint8_t *bytes, size_t size, PnmHeader &h,
              std::string &why) {
  auto space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  h.channels = bytes[1] == '6' ? 3 : 1;
  size_t i = 2;
  int64_t *fields[3] = {&h.width, &h.height, &h.maxval};
  for (int64_t *field : fields) {
    for (;;) {
      while (i < size && space(bytes[i]))
        ++i;
      if (i >= size || bytes[i] != '#')
        break;
      while (i < size && bytes[i] != '\n' && bytes[i] != '\r')
        ++i;
    }
    size_t start = i;
    while (i < size && bytes[i] >= '0' && bytes[i] <= '9' && i - start < 10)
      *field = *field * 10 + (bytes[i++] - '0');
    if (i == start || i - start > 9) {
      why = "bad PPM/PGM header";
      return false;
    }
  }
  if (h.width == 0 || h.height == 0 || h.maxval == 0 || h.maxval > 65535) {
    why = "bad PPM/PGM header (" + std::to_string(h.width) + " x " +
          std::to_string(h.height) + ", maxval " + std::to_string(h.maxval) +
          ")";
    return false;
  }
  if (h.width * h.height > kMaxPixels) {
    why = "image of " + std::to_string(h.width) + " x " +
          std::to_string(h.height) + " pixels is too large";
    return false;
  }
  h.dataOffset = i + 1;
  uint64_t need =
      uint64_t(h.width * h.height * h.channels) * (h.maxval > 255 ? 2 : 1);
  if (h.dataOffset > size || size - h.dataOffset < need) {
    why = "truncated PPM/PGM: " + std::to_string(h.width) + " x " +
          std::to_string(h.height) + " pixels need " + std::to_string(need) +
          " bytes of data, the file has " +
          std::to_string(size > h.dataOffset ? size - h.dataOffset : 0);
    return false;
  }
  return true;
}

/// Decodes the pixels of a PNM file that parsePnm accepted (it checked that
/// they are all there). kiln reads PNM itself: stb_image 2.27 returns 16-bit
/// samples unswapped (little-endian on x86, against the format) and converts
/// a 16-bit PGM to RGB as if its samples were 8-bit, reading past its buffer.
/// Gray is replicated to RGB. A maxval other than 255 is scaled as PIL's
/// PpmDecoder does, min(255, round(v / maxval * 255)) with Python's round
/// (half to even); 16-bit samples (maxval > 255) are big-endian. (Pillow 9.4
/// turns a 16-bit PGM into mode I, which convert('RGB') clips at 255 rather
/// than scales: there kiln scales, as it and PIL do for a 16-bit PPM.)
void decodePnm(const uint8_t *bytes, const PnmHeader &h, Rgb8 &image) {
  const size_t pixels = size_t(h.width) * h.height;
  const bool wide = h.maxval > 255;
  const uint8_t *data = bytes + h.dataOffset;
  image.width = static_cast<int>(h.width);
  image.height = static_cast<int>(h.height);
  image.pixels.resize(pixels * 3);
  uint8_t level[256];
  for (int v = 0; v < 256 && !wide; ++v) {
    double scaled = std::nearbyint(v / double(h.maxval) * 255.0);
    level[v] = static_cast<uint8_t>(scaled > 255 ? 255 : scaled);
  }
  for (size_t i = 0; i < pixels; ++i) {
    for (int c = 0; c < 3; ++c) {
      size_t from = i * h.channels + (h.channels == 3 ? c : 0);
      uint8_t out;
      if (wide) {
        double v = (unsigned(data[2 * from]) << 8) | data[2 * from + 1];
        double scaled = std::nearbyint(v / double(h.maxval) * 255.0);
        out = static_cast<uint8_t>(scaled > 255 ? 255 : scaled);
      } else {
        out = level[data[from]];
      }
      image.pixels[i * 3 + c] = out;
    }
  }
}

// stb_image 2.27 (Debian bookworm) predates a round of fuzzing fixes. kiln
// closes the holes that corrupt memory or leak it (Huffman tables, PNM
// headers and sizes, zeroed allocations, all below and above). One known
// issue remains: on corrupt entropy-coded JPEG data its bit reader can shift
// by 32 (undefined behaviour; on x86 and ARM the result is garbage pixels of
// an already corrupt file).

/// Checks the Huffman tables of a JPEG before stb_image sees it: stb_image
/// 2.27 does not check that a table defines at most 256 codes and writes past
/// its arrays when one does (fixed upstream in 2.28). Walks the segments as
/// stb_image does: skips each by its length, scans entropy-coded data for
/// the next marker, and reads DHT tables one after another while the
/// segment's length lasts.
bool jpegHuffmanTablesValid(const uint8_t *p, size_t size) {
  size_t i = 2; // after SOI
  while (i + 1 < size) {
    if (p[i] != 0xFF || p[i + 1] == 0xFF) {
      ++i; // entropy-coded data, padding, fill bytes
      continue;
    }
    const uint8_t m = p[i + 1];
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {
      i += 2; // stuffed 0xFF, TEM, RSTn, SOI, EOI: no length
      continue;
    }
    if (i + 3 >= size)
      break;
    const size_t len = size_t(p[i + 2]) << 8 | p[i + 3];
    if (m == 0xC4) { // DHT: tables of 1 + 16 + (sum of counts) bytes
      int64_t left = int64_t(len) - 2;
      size_t j = i + 4;
      while (left > 0) {
        int codes = 0;
        for (size_t k = j + 1; k < j + 17; ++k)
          codes += k < size ? p[k] : 0; // stb reads zeros past the end
        if (codes > 256)
          return false;
        j += 17 + size_t(codes);
        left -= 17 + codes;
      }
    }
    i += 2 + len;
  }
  return true;
}

} // namespace

bool decodeImage(const std::vector<uint8_t> &bytes, Rgb8 &image,
                 std::string &why) {
  size_t size = bytes.size();
  const uint8_t *p = bytes.data();
  const bool jpeg = size >= 2 && p[0] == 0xFF && p[1] == 0xD8;
  const bool png = size >= 8 && std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool pnm = size >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6');
  if (!jpeg && !png && !pnm) {
    why = "not a JPEG, PNG or PPM/PGM image";
    return false;
  }
  if (size > static_cast<size_t>(INT_MAX)) {
    why = "file too large";
    return false;
  }
  const char *format = jpeg ? "JPEG" : png ? "PNG" : "PPM/PGM";
  auto corrupt = [&] {
    why = std::string("corrupt or truncated ") + format + " (" +
          failureReason() + ")";
    return false;
  };

  // Checks stb_image 2.27 lacks, before it reads anything.
  std::vector<uint8_t> pngCopy;
  if (png && !checkPng(p, size, pngCopy, why))
    return false;
  if (!pngCopy.empty()) {
    p = pngCopy.data();
    size = pngCopy.size();
  }
  PnmHeader header;
  if (jpeg && !jpegHuffmanTablesValid(p, size)) {
    why = "corrupt JPEG (a Huffman table has more than 256 codes)";
    return false;
  }
  if (pnm && !parsePnm(p, size, header, why))
    return false;

  const int len = static_cast<int>(size);
  int w = 0, h = 0, comp = 0;
  clearReason();
  if (!stbi_info_from_memory(p, len, &w, &h, &comp))
    return corrupt();
  if (w <= 0 || h <= 0 || int64_t{w} * h > kMaxPixels) {
    why = "image of " + std::to_string(w) + " x " + std::to_string(h) +
          " pixels is too large";
    return false;
  }
  // Every 8x8 block of a JPEG costs at least one bit of entropy-coded data
  // (baseline: a DC and an end-of-block code, one bit or more each;
  // progressive: a DC bit in its first scan; stb_image has no arithmetic
  // coding), so a file holds at most 64 * 8 = 512 pixels a byte. One that
  // declares more is truncated or forged (libjpeg and stb_image would fill
  // the missing blocks with grey): it is refused before the decoder
  // allocates and fills the whole frame.
  constexpr int64_t kMaxJpegPixelsPerByte = 512;
  if (jpeg && int64_t{w} * h > int64_t(size) * kMaxJpegPixelsPerByte) {
    why = "truncated JPEG: it declares " + std::to_string(w) + " x " +
          std::to_string(h) + " pixels but holds only " +
          std::to_string(size) + " bytes";
    return false;
  }
  if (jpeg)
    return decodeJpeg(p, len, image) || corrupt();

  if (pnm)
    return decodePnm(p, header, image), true;

  // Request 3 channels: stb replicates gray and drops alpha, like PIL's
  // convert('RGB') (which neither composites nor premultiplies); 16-bit PNG
  // samples keep their high byte, as PIL's 16-bit RGB(A) modes do.
  clearReason();
  stbi_uc *data = stbi_load_from_memory(p, len, &w, &h, &comp, 3);
  if (!data)
    return corrupt();
  image.width = w;
  image.height = h;
  image.pixels.assign(data, data + size_t(w) * h * 3);
  stbi_image_free(data);
  return true;
}

} // namespace kiln::rt::detail
