//===- progress.h - progress of long work on stderr ------------*- C++ -*-===//
//
// What `kiln compile` and the executables' --eval, --video and --bench show
// while they work. On a terminal: one line redrawn in place (a bar with the
// rate and the time left for counted work, the current stage and the
// elapsed time for staged work), refreshed by a ticker thread so that the
// clock moves while a child process runs; erased when done, so that the
// caller's summary line follows. Elsewhere (a pipe, a file, CI): counted
// work prints a plain line every few seconds, staged work nothing (the
// caller prints one summary line). Quiet: nothing.
//
// $KILN_PROGRESS=terminal|plain|quiet overrides the choice, and
// $KILN_PROGRESS_SECONDS the interval of plain lines (default 5).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PROGRESS_H
#define KILN_RUNTIME_PROGRESS_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace kiln::rt {

class Progress {
public:
  enum class Mode { Terminal, Plain, Quiet };
  /// Terminal when stderr is a terminal (and TERM is not "dumb"), else
  /// Plain; Quiet when |quiet|. $KILN_PROGRESS overrides all three.
  static Mode choose(bool quiet);

  /// |label| starts every line ("kiln", "resnet50: eval").
  Progress(Mode mode, std::string label);
  ~Progress();
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  /// Counted work: |done| of |total| |unit| (total 0: not known).
  void count(int64_t done, int64_t total, const std::string &unit);
  /// Staged work: what runs now ("host compiler: 3 of 5 units").
  void stage(const std::string &text);
  /// Prints |line| (and a newline) to stderr above the progress line.
  void print(const std::string &line);
  /// Erases the terminal line and stops the ticker; the caller prints its
  /// summary (or an error) next. Called by the destructor too.
  void done();

  Mode mode() const { return mode_; }
  /// Seconds since construction.
  double elapsed() const;

private:
  void draw(bool force);
  void startTicker();

  const Mode mode_;
  const std::string label_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
  bool stopped_ = false, drawn_ = false;
  // What is shown.
  std::string stage_, unit_;
  int64_t done_ = 0, total_ = 0;
  bool counting_ = false;
  double lastDraw_ = -1, lastLine_ = 0, plainInterval_ = 5;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_PROGRESS_H
