//===- cli.h - the command line of kiln-built executables ------*- C++ -*-===//
//
// What the parts of an executable's main() share: its options, one-line
// errors, the class names it prints, and the model's session. Every part
// drives the model through the C interface (kiln.h) only, as any program
// linking a kiln library would.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CLI_CLI_H
#define KILN_RUNTIME_CLI_CLI_H

#include "kiln.h"
#include "kiln/image.h"
#include "kiln/progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::cli {

/// The executable's name, for messages.
extern const char *program;

/// Prints "program: error: MESSAGE" and exits with status 1.
[[noreturn]] void fail(const std::string &message);
/// fail() with the C interface's last error.
[[noreturn]] void failLast();

struct Options {
  std::string input, output, weights, dumpWeights, device = "auto", devices;
  std::vector<std::string> images;
  bool strict = true, quiet = false;
  int topk = 5, threads = 0;
  long bench = 0;
  /// The image transform as given (0: the model's default).
  int resize = 0, resizeWidth = 0, crop = 0, cropWidth = 0;
  bool haveMean = false, haveStd = false;
  float mean[3] = {}, std[3] = {};
  std::string labels;
  /// --eval DIR [--batch-size B] [--eval-report CSV] [--decode-threads T]
  std::string evalDir, evalReport;
  long batchSize = 0, decodeThreads = 0;
  /// --video FILE [--every K] [--output-csv CSV]
  std::string video, outputCsv;
  long every = 1;
};

/// The model and the session every part uses.
struct Model {
  kiln_model_info info;
  kiln_session *session = nullptr;
  /// Samples per pass (the compiled batch) and floats per sample.
  int64_t batch = 1;
  size_t inSample = 0, outSample = 0;
  /// Class names: --labels, else ImageNet's for a 1000-class ImageNet
  /// model, else none.
  std::vector<std::string> labels;
  /// The transform of --image, --eval and --video.
  kiln_transform transform;
  kiln::rt::Progress::Mode progress = kiln::rt::Progress::Mode::Plain;

  /// The name of class |c|, or "class".
  std::string label(int c) const;
  /// Runs |count| samples of |input| into |output|, or fails.
  void run(const float *input, int64_t count, float *output) const;
};

/// The transform kiln_load_image takes, from a kiln_transform.
kiln::rt::ImageTransform imageTransform(const kiln_transform &t);

/// The indices of the |k| largest of |logits| (n of them), largest first;
/// ties go to the lower index, as torch.topk does on CPU.
std::vector<int> topK(const float *logits, int n, int k);

/// Prints the top-k block of one sample (softmax confidences).
void printTopK(const Model &model, const float *logits, int k);

/// --eval: evaluates |dir| as torchvision's ImageFolder; returns the exit
/// status.
int evaluateFolder(const Model &model, const Options &options);

/// --video: classifies the frames of a video; returns the exit status.
int classifyVideo(const Model &model, const Options &options);

/// Writes |text| to |path| atomically (or fails).
void writeTextFile(const std::string &path, const std::string &text);

} // namespace kiln::cli

#endif // KILN_RUNTIME_CLI_CLI_H
