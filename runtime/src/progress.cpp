//===- progress.cpp - progress of long work on stderr ---------------------===//
//
// This file implements kiln::rt::Progress (kiln/progress.h).
//
//===----------------------------------------------------------------------===//

#include "kiln/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <unistd.h>

namespace kiln::rt {

namespace {

/// "12.3 s", "4 min 05 s".
std::string duration(double seconds) {
  char text[32];
  if (seconds < 60)
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  else
    std::snprintf(text, sizeof text, "%d min %02d s", int(seconds) / 60,
                  int(seconds) % 60);
  return text;
}

/// The terminal's width, or 80.
int terminalWidth() {
  if (const char *columns = std::getenv("COLUMNS"))
    if (int c = std::atoi(columns); c >= 20 && c <= 1000)
      return c;
  return 80;
}

} // namespace

Progress::Mode Progress::choose(bool quiet) {
  if (const char *forced = std::getenv("KILN_PROGRESS")) {
    if (std::strcmp(forced, "terminal") == 0)
      return Mode::Terminal;
    if (std::strcmp(forced, "plain") == 0)
      return Mode::Plain;
    if (std::strcmp(forced, "quiet") == 0)
      return Mode::Quiet;
  }
  if (quiet)
    return Mode::Quiet;
  const char *term = std::getenv("TERM");
  bool terminal = ::isatty(STDERR_FILENO) && !(term && std::strcmp(term, "dumb") == 0);
  return terminal ? Mode::Terminal : Mode::Plain;
}

Progress::Progress(Mode mode, std::string label)
    : mode_(mode), label_(std::move(label)),
      start_(std::chrono::steady_clock::now()) {
  if (const char *s = std::getenv("KILN_PROGRESS_SECONDS")) {
    char *end = nullptr;
    double v = std::strtod(s, &end);
    if (end != s && !*end && v >= 0 && v < 1e6)
      plainInterval_ = v;
  }
}

Progress::~Progress() { done(); }

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
      .count();
}

void Progress::startTicker() {
  // Under mutex_. The clock of a terminal line moves while nothing reports.
  if (mode_ != Mode::Terminal || ticker_.joinable() || stopped_)
    return;
  try {
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!stopped_) {
        wake_.wait_for(lock, std::chrono::milliseconds(250));
        if (!stopped_)
          draw(true);
      }
    });
  } catch (const std::system_error &) {
    // No ticker: the line is redrawn only when the work reports.
  }
}

void Progress::count(int64_t done, int64_t total, const std::string &unit) {
  if (mode_ == Mode::Quiet)
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  counting_ = true;
  done_ = done;
  total_ = total;
  unit_ = unit;
  startTicker();
  draw(total > 0 && done >= total);
}

void Progress::stage(const std::string &text) {
  if (mode_ == Mode::Quiet)
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  counting_ = false;
  stage_ = text;
  startTicker();
  draw(true);
}

void Progress::draw(bool force) {
  // Under mutex_.
  double now = elapsed();
  if (mode_ == Mode::Plain) {
    // Counted work only: a line every plainInterval_ seconds.
    if (!counting_ || now - lastLine_ < plainInterval_ || done_ == 0)
      return;
    lastLine_ = now;
    double rate = done_ / std::max(now, 1e-9);
    if (total_ > 0)
      std::fprintf(stderr, "%s: %lld of %lld %s (%d%%), %.1f %s/s, %s\n",
                   label_.c_str(), (long long)done_, (long long)total_,
                   unit_.c_str(), int(100 * done_ / total_), rate,
                   unit_.c_str(), duration(now).c_str());
    else
      std::fprintf(stderr, "%s: %lld %s, %.1f %s/s, %s\n", label_.c_str(),
                   (long long)done_, unit_.c_str(), rate, unit_.c_str(),
                   duration(now).c_str());
    std::fflush(stderr);
    return;
  }
  if (mode_ != Mode::Terminal || stopped_ || (!force && now - lastDraw_ < 0.1))
    return;
  lastDraw_ = now;
  std::string line = label_ + ": ";
  if (counting_) {
    double rate = done_ / std::max(now, 1e-9);
    char text[160];
    if (total_ > 0) {
      const int width = 24;
      int filled = int(width * std::min<int64_t>(done_, total_) / total_);
      line += "[" + std::string(size_t(filled), '#') +
              std::string(size_t(width - filled), '.') + "] ";
      std::snprintf(text, sizeof text, "%lld/%lld %s, %.1f %s/s",
                    (long long)done_, (long long)total_, unit_.c_str(), rate,
                    unit_.c_str());
      line += text;
      if (done_ > 0 && done_ < total_)
        line += ", " + duration(double(total_ - done_) / rate) + " left";
    } else {
      std::snprintf(text, sizeof text, "%lld %s, %.1f %s/s", (long long)done_,
                    unit_.c_str(), rate, unit_.c_str());
      line += text;
    }
  } else {
    line += stage_;
  }
  line += " [" + duration(now) + "]";
  int width = terminalWidth() - 1;
  if (int(line.size()) > width)
    line = line.substr(0, size_t(width - 3)) + "...";
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::print(const std::string &line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (drawn_ && !stopped_)
    std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  if (drawn_ && !stopped_)
    draw(true);
}

void Progress::done() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_)
      return;
    stopped_ = true;
    if (drawn_) {
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    }
  }
  wake_.notify_all();
  if (ticker_.joinable())
    ticker_.join();
}

} // namespace kiln::rt
