//===- eval.cpp - --eval: accuracy over an ImageFolder ---------------------===//
//
// This file implements an executable's --eval DIR, the seed notes' DataLoader
// loop over torchvision.datasets.ImageFolder:
//   * the samples are those of ImageFolder(DIR): the class folders are the
//     subdirectories of DIR sorted by name (a class's index is its
//     position), and each class's images are the files under its folder
//     (recursively, following links) whose names end in one of torchvision's
//     image extensions, in the order of sorted(os.walk(...)) then
//     sorted(fnames); a class without images is an error, as there;
//   * worker threads decode and transform the images (kiln_load_image) into
//     batch slots ahead of the model, which runs batch after batch;
//   * every image's top-5 is compared with its label: top-1 and top-5
//     accuracy overall and per class, and optionally one CSV row per image.
//
//===----------------------------------------------------------------------===//

#include "cli.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <utility>

namespace kiln::cli {

namespace {

struct Sample {
  std::string path;
  int label;
};

/// os.path.join(a, b) for a relative b.
std::string join(const std::string &a, const std::string &b) {
  if (a.empty() || a.back() == '/')
    return a + b;
  return a + "/" + b;
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// The names in |dir| (os.scandir / os.listdir); false if it cannot be read.
bool listDirectory(const std::string &dir, std::vector<std::string> &names) {
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return false;
  while (struct dirent *e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..")
      names.push_back(name);
  }
  ::closedir(d);
  return true;
}

/// has_file_allowed_extension with torchvision's IMG_EXTENSIONS.
bool isImageName(const std::string &name) {
  static const char *const kExtensions[] = {".jpg", ".jpeg", ".png",
                                            ".ppm", ".bmp",  ".pgm",
                                            ".tif", ".tiff", ".webp"};
  std::string lower = name;
  for (char &c : lower)
    if (c >= 'A' && c <= 'Z')
      c = char(c - 'A' + 'a');
  for (const char *ext : kExtensions) {
    size_t n = std::strlen(ext);
    if (lower.size() >= n && lower.compare(lower.size() - n, n, ext) == 0)
      return true;
  }
  return false;
}

/// Whether kiln decodes files named |name| (JPEG, PNG, PPM, PGM).
bool isDecodable(const std::string &name) {
  std::string lower = name;
  for (char &c : lower)
    if (c >= 'A' && c <= 'Z')
      c = char(c - 'A' + 'a');
  for (const char *ext : {".jpg", ".jpeg", ".png", ".ppm", ".pgm"}) {
    size_t n = std::strlen(ext);
    if (lower.size() >= n && lower.compare(lower.size() - n, n, ext) == 0)
      return true;
  }
  return false;
}

/// os.walk(top, followlinks=True) as sorted() orders it: every directory
/// under |top| (|top| first), sorted by path, each with its sorted
/// non-directory names. A directory reached twice through links is walked
/// once (os.walk would loop forever).
void walk(const std::string &top,
          std::vector<std::pair<std::string, std::vector<std::string>>> &out,
          std::set<std::pair<dev_t, ino_t>> &seen) {
  struct stat st;
  if (::stat(top.c_str(), &st) != 0 || !seen.insert({st.st_dev, st.st_ino}).second)
    return;
  std::vector<std::string> names, files, dirs;
  if (!listDirectory(top, names))
    return; // os.walk ignores directories it cannot read
  for (const std::string &name : names)
    (isDirectory(join(top, name)) ? dirs : files).push_back(name);
  std::sort(files.begin(), files.end());
  out.emplace_back(top, std::move(files));
  for (const std::string &d : dirs)
    walk(join(top, d), out, seen);
}

/// ImageFolder(dir)'s classes and samples, or fails as torchvision would
/// (with kiln's own words).
void listFolder(const std::string &dir, std::vector<std::string> &classes,
                std::vector<Sample> &samples) {
  std::vector<std::string> names;
  if (!listDirectory(dir, names))
    fail("--eval: cannot read the directory '" + dir +
         "': " + std::strerror(errno));
  for (const std::string &name : names)
    if (isDirectory(join(dir, name)))
      classes.push_back(name);
  std::sort(classes.begin(), classes.end());
  if (classes.empty())
    fail("--eval: '" + dir + "' has no class folders (ImageFolder reads " +
         "DIR/<class>/<image>)");
  std::vector<std::string> empty, undecodable;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::pair<std::string, std::vector<std::string>>> tree;
    std::set<std::pair<dev_t, ino_t>> seen;
    walk(join(dir, classes[c]), tree, seen);
    std::sort(tree.begin(), tree.end());
    size_t before = samples.size();
    for (const auto &[root, files] : tree)
      for (const std::string &f : files)
        if (isImageName(f)) {
          samples.push_back({join(root, f), int(c)});
          if (!isDecodable(f))
            undecodable.push_back(samples.back().path);
        }
    if (samples.size() == before)
      empty.push_back(classes[c]);
  }
  if (!empty.empty()) {
    std::string list;
    for (const std::string &c : empty)
      list += (list.empty() ? "" : ", ") + c;
    fail("--eval: no images for the classes " + list + " in '" + dir +
         "' (ImageFolder's extensions: .jpg .jpeg .png .ppm .bmp .pgm .tif "
         ".tiff .webp)");
  }
  if (!undecodable.empty())
    fail("--eval: " + undecodable.front() +
         (undecodable.size() > 1
              ? " and " + std::to_string(undecodable.size() - 1) + " more"
              : std::string()) +
         ": ImageFolder would read it, but kiln decodes only JPEG, PNG, PPM "
         "and PGM (convert or remove it)");
}

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or newline.
std::string csvField(const std::string &s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos)
    return s;
  std::string q = "\"";
  for (char c : s)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string percent(int64_t part, int64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%",
                whole ? 100.0 * double(part) / double(whole) : 0.0);
  return text;
}

/// Decodes samples into batch slots ahead of the model: |threads| workers
/// fill the next |depth| batches while the caller runs the current one.
class Decoder {
public:
  Decoder(const Model &model, const std::vector<Sample> &samples, int64_t batch,
          int depth, int threads)
      : model_(model), samples_(samples), batch_(batch), depth_(depth),
        slots_(size_t(depth)), left_(size_t(depth), 0) {
    batches_ = (int64_t(samples.size()) + batch - 1) / batch;
    for (auto &slot : slots_)
      slot.resize(size_t(batch) * model.inSample);
    for (int64_t b = 0; b < std::min<int64_t>(depth, batches_); ++b)
      left_[size_t(b)] = sizeOf(b);
    for (int t = 0; t < threads; ++t)
      workers_.emplace_back([this] { work(); });
  }

  ~Decoder() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread &t : workers_)
      t.join();
  }

  int64_t batches() const { return batches_; }
  int64_t sizeOf(int64_t b) const {
    return std::min<int64_t>(batch_, int64_t(samples_.size()) - b * batch_);
  }

  /// Waits until batch |b| is decoded; its input, or null with |error| set
  /// to the first image that could not be loaded.
  const float *wait(int64_t b, std::string &error) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return left_[size_t(b % depth_)] == 0 || failed_; });
    if (failed_) {
      error = error_;
      return nullptr;
    }
    return slots_[size_t(b % depth_)].data();
  }

  /// Batch |b| has run: its slot takes batch b + depth.
  void release(int64_t b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      consumed_ = b + 1;
      if (b + depth_ < batches_)
        left_[size_t(b % depth_)] = sizeOf(b + depth_);
    }
    wake_.notify_all();
  }

private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] {
        return stop_ || failed_ || next_ >= int64_t(samples_.size()) ||
               next_ / batch_ < consumed_ + depth_;
      });
      if (stop_ || failed_ || next_ >= int64_t(samples_.size()))
        return;
      int64_t i = next_++;
      lock.unlock();
      float *dst = slots_[size_t(i / batch_ % depth_)].data() +
                   size_t(i % batch_) * model_.inSample;
      bool ok = kiln_load_image(samples_[size_t(i)].path.c_str(),
                                &model_.transform, dst) == KILN_OK;
      std::string error = ok ? "" : kiln_last_error();
      lock.lock();
      if (!ok && !failed_) {
        failed_ = true;
        error_ = error;
      }
      if (ok)
        --left_[size_t(i / batch_ % depth_)];
      wake_.notify_all();
    }
  }

  const Model &model_;
  const std::vector<Sample> &samples_;
  const int64_t batch_;
  const int depth_;
  int64_t batches_ = 0;
  std::vector<std::vector<float>> slots_;
  std::mutex mutex_;
  std::condition_variable wake_;
  /// Images left to decode per slot; the next image; batches run.
  std::vector<int64_t> left_;
  int64_t next_ = 0, consumed_ = 0;
  bool stop_ = false, failed_ = false;
  std::string error_;
  std::vector<std::thread> workers_;
};

} // namespace

int evaluateFolder(const Model &model, const Options &o) {
  std::vector<std::string> classes;
  std::vector<Sample> samples;
  listFolder(o.evalDir, classes, samples);
  const int outputs = int(model.outSample);
  if (int(classes.size()) > outputs)
    std::fprintf(stderr,
                 "%s: warning: '%s' has %zu classes, but the model only %d "
                 "outputs: the images of classes %d and up are never right\n",
                 program, o.evalDir.c_str(), classes.size(), outputs, outputs);
  const int64_t batch = o.batchSize ? o.batchSize : model.batch;
  int threads = int(o.decodeThreads);
  if (!threads)
    threads = std::clamp(int(std::thread::hardware_concurrency()) / 2, 1, 8);
  // Two batches ahead of the model, one when batches are large.
  size_t batchBytes = size_t(batch) * model.inSample * sizeof(float);
  int depth = batchBytes > (size_t(256) << 20) ? 2 : 3;

  kiln::rt::Progress progress(model.progress, std::string(program) + ": eval");
  auto start = std::chrono::steady_clock::now();
  std::vector<float> output(size_t(batch) * model.outSample);
  std::vector<int64_t> top1(classes.size(), 0), top5(classes.size(), 0),
      count(classes.size(), 0);
  std::string report = "path,label,top1,top2,top3,top4,top5\n";
  std::string error;
  {
    Decoder decoder(model, samples, batch, depth, threads);
    int64_t done = 0;
    for (int64_t b = 0; b < decoder.batches(); ++b) {
      int64_t n = decoder.sizeOf(b);
      const float *input = decoder.wait(b, error);
      if (!input)
        break; // the decoder's threads stop before the error is reported
      model.run(input, n, output.data());
      decoder.release(b);
      for (int64_t i = 0; i < n; ++i) {
        const Sample &s = samples[size_t(b * batch + i)];
        std::vector<int> best = topK(output.data() + i * outputs, outputs, 5);
        ++count[size_t(s.label)];
        top1[size_t(s.label)] += best[0] == s.label;
        top5[size_t(s.label)] +=
            std::find(best.begin(), best.end(), s.label) != best.end();
        if (!o.evalReport.empty()) {
          report += csvField(s.path) + "," + std::to_string(s.label);
          for (size_t k = 0; k < 5; ++k)
            report += "," + (k < best.size() ? std::to_string(best[k]) : "");
          report += "\n";
        }
      }
      done += n;
      progress.count(done, int64_t(samples.size()), "images");
    }
  }
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  progress.done();
  if (!error.empty())
    fail(error);
  if (!o.evalReport.empty())
    writeTextFile(o.evalReport, report);

  int64_t total = int64_t(samples.size()), all1 = 0, all5 = 0;
  size_t width = 5;
  for (size_t c = 0; c < classes.size(); ++c) {
    all1 += top1[c];
    all5 += top5[c];
    width = std::max(width, classes[c].size());
  }
  std::printf("evaluated %lld images of %zu classes in %s\n", (long long)total,
              classes.size(), o.evalDir.c_str());
  std::printf("top-1: %s (%lld/%lld)\n", percent(all1, total).c_str(),
              (long long)all1, (long long)total);
  std::printf("top-5: %s (%lld/%lld)\n", percent(all5, total).c_str(),
              (long long)all5, (long long)total);
  std::printf("per class:\n  %5s  %-*s  %7s  %8s  %8s\n", "index", int(width),
              "class", "images", "top-1", "top-5");
  for (size_t c = 0; c < classes.size(); ++c)
    std::printf("  %5zu  %-*s  %7lld  %8s  %8s\n", c, int(width),
                classes[c].c_str(), (long long)count[c],
                percent(top1[c], count[c]).c_str(),
                percent(top5[c], count[c]).c_str());
  std::printf("time: %.2f s, %.1f images/s (batch %lld on %s; %d decoding "
              "thread%s)\n",
              seconds, double(total) / std::max(seconds, 1e-9),
              (long long)batch, kiln_device(model.session), threads,
              threads == 1 ? "" : "s");
  return 0;
}

} // namespace kiln::cli
