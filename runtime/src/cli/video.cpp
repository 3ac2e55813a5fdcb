//===- video.cpp - --video: classifying the frames of a video -------------===//
//
// This file implements an executable's --video FILE [--every K]
// [--output-csv F]: FFmpeg's libraries demux and decode the video,
// libswscale converts each K-th frame to 8-bit RGB at its own size, and the
// images' transform (kiln/image.h, the same as --image) turns it into the
// model's input. A reader thread decodes ahead while the model runs batches
// of frames; each frame's top-k is printed as it is classified, then the
// sustained frames per second.
//
// The FFmpeg libraries are loaded with dlopen when --video runs, by the
// sonames of the headers the runtime was built with (libavformat.so.59 ...
// for FFmpeg 5.1, Debian 12): executables stay free of any FFmpeg
// dependency, start without FFmpeg installed, and say what to install if
// --video finds no FFmpeg. (Linking FFmpeg statically would pull in every
// codec library it was built with; Debian ships few of them as archives.)
// Without FFmpeg's headers at build time (KILN_HAVE_FFMPEG unset), --video
// says the runtime was built without it.
//
//===----------------------------------------------------------------------===//

#include "cli.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#ifdef KILN_HAVE_FFMPEG
#include <dlfcn.h>
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}
#endif

namespace kiln::cli {

#ifndef KILN_HAVE_FFMPEG

int classifyVideo(const Model &, const Options &) {
  fail("--video: this executable's runtime was built without FFmpeg's "
       "headers (rebuild kiln with libavformat-dev, libavcodec-dev and "
       "libswscale-dev installed; setup.sh installs them)");
}

#else

namespace {

#define KILN_STR2(x) #x
#define KILN_STR(x) KILN_STR2(x)

/// The FFmpeg functions --video calls, from the libraries dlopen finds.
struct FFmpeg {
  // libavutil
  void (*av_log_set_level)(int);
  int (*av_strerror)(int, char *, size_t);
  AVFrame *(*av_frame_alloc)();
  void (*av_frame_free)(AVFrame **);
  // libavcodec
  AVCodecContext *(*avcodec_alloc_context3)(const AVCodec *);
  void (*avcodec_free_context)(AVCodecContext **);
  int (*avcodec_parameters_to_context)(AVCodecContext *,
                                       const AVCodecParameters *);
  int (*avcodec_open2)(AVCodecContext *, const AVCodec *, AVDictionary **);
  int (*avcodec_send_packet)(AVCodecContext *, const AVPacket *);
  int (*avcodec_receive_frame)(AVCodecContext *, AVFrame *);
  AVPacket *(*av_packet_alloc)();
  void (*av_packet_free)(AVPacket **);
  void (*av_packet_unref)(AVPacket *);
  // libavformat
  int (*avformat_open_input)(AVFormatContext **, const char *,
                             const AVInputFormat *, AVDictionary **);
  int (*avformat_find_stream_info)(AVFormatContext *, AVDictionary **);
  int (*av_find_best_stream)(AVFormatContext *, enum AVMediaType, int, int,
                             const AVCodec **, int);
  int (*av_read_frame)(AVFormatContext *, AVPacket *);
  void (*avformat_close_input)(AVFormatContext **);
  // libswscale
  SwsContext *(*sws_getCachedContext)(SwsContext *, int, int,
                                      enum AVPixelFormat, int, int,
                                      enum AVPixelFormat, int, SwsFilter *,
                                      SwsFilter *, const double *);
  int (*sws_scale)(SwsContext *, const uint8_t *const[], const int[], int,
                   int, uint8_t *const[], const int[]);
  void (*sws_freeContext)(SwsContext *);

  std::string error(int code) const {
    char text[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, text, sizeof text);
    return text;
  }
};

/// Loads the libraries once; fails naming what to install.
const FFmpeg &ffmpeg() {
  static FFmpeg f;
  static bool loaded = false;
  if (loaded)
    return f;
  const char *names[] = {
      "libavutil.so." KILN_STR(LIBAVUTIL_VERSION_MAJOR),
      "libavcodec.so." KILN_STR(LIBAVCODEC_VERSION_MAJOR),
      "libavformat.so." KILN_STR(LIBAVFORMAT_VERSION_MAJOR),
      "libswscale.so." KILN_STR(LIBSWSCALE_VERSION_MAJOR)};
  void *libs[4];
  for (int i = 0; i < 4; ++i) {
    libs[i] = ::dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!libs[i])
      fail(std::string("--video needs FFmpeg's libraries (") + names[0] +
           ", " + names[1] + ", " + names[2] + ", " + names[3] +
           "; on Debian 12: apt-get install libavformat59 libavcodec59 "
           "libswscale6): " + ::dlerror());
  }
  bool ok = true;
  auto get = [&](auto &fn, int lib, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        ::dlsym(libs[lib], name));
    if (!fn) {
      fail(std::string("--video: ") + names[lib] + " has no " + name +
           " (an FFmpeg of another version?)");
      ok = false;
    }
  };
#define KILN_FF(lib, name) get(f.name, lib, #name)
  KILN_FF(0, av_log_set_level);
  KILN_FF(0, av_strerror);
  KILN_FF(0, av_frame_alloc);
  KILN_FF(0, av_frame_free);
  KILN_FF(1, avcodec_alloc_context3);
  KILN_FF(1, avcodec_free_context);
  KILN_FF(1, avcodec_parameters_to_context);
  KILN_FF(1, avcodec_open2);
  KILN_FF(1, avcodec_send_packet);
  KILN_FF(1, avcodec_receive_frame);
  KILN_FF(1, av_packet_alloc);
  KILN_FF(1, av_packet_free);
  KILN_FF(1, av_packet_unref);
  KILN_FF(2, avformat_open_input);
  KILN_FF(2, avformat_find_stream_info);
  KILN_FF(2, av_find_best_stream);
  KILN_FF(2, av_read_frame);
  KILN_FF(2, avformat_close_input);
  KILN_FF(3, sws_getCachedContext);
  KILN_FF(3, sws_scale);
  KILN_FF(3, sws_freeContext);
#undef KILN_FF
  loaded = ok;
  // FFmpeg's own messages: errors only (kiln reports what fails).
  f.av_log_set_level(AV_LOG_ERROR);
  return f;
}

/// One classified frame's input and where it came from.
struct Frame {
  int64_t index;
  double seconds;
  std::vector<float> input;
};

/// Demuxes, decodes and transforms every K-th frame on its own thread; the
/// model takes frames from next().
class Reader {
public:
  Reader(const Model &model, const std::string &path, long every)
      : model_(model), f_(ffmpeg()), path_(path), every_(every) {
    int status = f_.avformat_open_input(&format_, path.c_str(), nullptr, nullptr);
    if (status < 0)
      fail(path + ": cannot open it as a video: " + f_.error(status));
    if ((status = f_.avformat_find_stream_info(format_, nullptr)) < 0)
      fail(path + ": cannot read its streams: " + f_.error(status));
    const AVCodec *codec = nullptr;
    stream_ = f_.av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream_ < 0)
      fail(path + ": no video stream" +
           (stream_ == AVERROR_DECODER_NOT_FOUND
                ? std::string(" this FFmpeg can decode")
                : std::string()));
    AVStream *s = format_->streams[stream_];
    timeBase_ = s->time_base.den ? double(s->time_base.num) / s->time_base.den : 0;
    // For the progress: the frames the container declares, else its
    // duration times the frame rate (an estimate).
    int64_t frames = s->nb_frames;
    if (frames <= 0 && format_->duration > 0 && s->avg_frame_rate.num > 0 &&
        s->avg_frame_rate.den > 0)
      frames = std::llround(double(format_->duration) / AV_TIME_BASE *
                            av_q2d(s->avg_frame_rate));
    if (frames > 0)
      expected_ = (frames + every - 1) / every;
    codec_ = f_.avcodec_alloc_context3(codec);
    if (!codec_ ||
        (status = f_.avcodec_parameters_to_context(codec_, s->codecpar)) < 0 ||
        (status = f_.avcodec_open2(codec_, codec, nullptr)) < 0)
      fail(path + ": cannot open its decoder: " + f_.error(status));
    thread_ = std::thread([this] { read(); });
  }

  ~Reader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
    f_.avcodec_free_context(&codec_);
    f_.avformat_close_input(&format_);
  }

  /// Frames to classify, if the container says (else 0).
  int64_t expected() const { return expected_; }
  int64_t decoded() {
    std::lock_guard<std::mutex> lock(mutex_);
    return decoded_;
  }

  /// The next frame into |frame|; false at the end. Fails on an error.
  bool next(Frame &frame) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (!error_.empty()) {
        std::string error = error_;
        lock.unlock();
        fail(error);
      }
      return false;
    }
    frame = std::move(queue_.front());
    queue_.pop_front();
    wake_.notify_all();
    return true;
  }

private:
  /// The reader thread: a packet in, the frames it completes out, until
  /// the decoder, flushed at the end of the file, has no more.
  void read() {
    AVPacket *packet = f_.av_packet_alloc();
    AVFrame *frame = f_.av_frame_alloc();
    std::string error;
    if (!packet || !frame)
      error = "out of memory";
    bool flushed = false;
    while (error.empty()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_)
          break;
      }
      int status = 0;
      if (!flushed) {
        status = f_.av_read_frame(format_, packet);
        if (status == AVERROR_EOF) {
          status = f_.avcodec_send_packet(codec_, nullptr);
          flushed = true;
        } else if (status < 0) {
          error = path_ + ": reading failed: " + f_.error(status);
          break;
        } else {
          if (packet->stream_index == stream_)
            status = f_.avcodec_send_packet(codec_, packet);
          f_.av_packet_unref(packet);
          // A damaged packet is skipped, as ffmpeg does.
          if (status == AVERROR_INVALIDDATA)
            status = 0;
        }
        if (status < 0 && status != AVERROR_EOF) {
          error = path_ + ": decoding failed: " + f_.error(status);
          break;
        }
      }
      // Every frame the decoder can give now (all of them once flushed).
      while (error.empty()) {
        status = f_.avcodec_receive_frame(codec_, frame);
        if (status == AVERROR(EAGAIN) || status == AVERROR_EOF)
          break;
        if (status < 0)
          error = path_ + ": decoding failed: " + f_.error(status);
        else
          error = take(frame);
      }
      if (flushed)
        break;
    }
    f_.av_frame_free(&frame);
    f_.av_packet_free(&packet);
    if (sws_)
      f_.sws_freeContext(sws_);
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    error_ = error;
    wake_.notify_all();
  }

  /// Counts a decoded frame and, for every K-th, queues its input; "" or
  /// an error.
  std::string take(AVFrame *frame) {
    int64_t index;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      index = decoded_++;
    }
    if (index % every_ != 0)
      return "";
    int w = frame->width, h = frame->height;
    sws_ = f_.sws_getCachedContext(sws_, w, h, AVPixelFormat(frame->format), w,
                                   h, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr,
                                   nullptr, nullptr);
    if (!sws_)
      return path_ + ": frame " + std::to_string(index) +
             ": cannot convert its pixel format to RGB";
    rgb_.resize(size_t(w) * h * 3);
    uint8_t *dst[4] = {rgb_.data(), nullptr, nullptr, nullptr};
    int dstStride[4] = {3 * w, 0, 0, 0};
    f_.sws_scale(sws_, frame->data, frame->linesize, 0, h, dst, dstStride);
    Frame out;
    out.index = index;
    int64_t pts = frame->best_effort_timestamp;
    out.seconds = pts == AV_NOPTS_VALUE ? -1 : double(pts) * timeBase_;
    out.input.resize(model_.inSample);
    std::string error;
    if (!kiln::rt::transformRgb(rgb_.data(), w, h, size_t(3 * w),
                                imageTransform(model_.transform),
                                out.input.data(), error))
      return path_ + ": frame " + std::to_string(index) + ": " + error;
    std::unique_lock<std::mutex> lock(mutex_);
    // Two passes of the model ahead at most.
    size_t most = size_t(std::max<int64_t>(2 * model_.batch, 4));
    wake_.wait(lock, [&] { return queue_.size() < most || stop_; });
    queue_.push_back(std::move(out));
    wake_.notify_all();
    return "";
  }

  const Model &model_;
  const FFmpeg &f_;
  const std::string path_;
  const long every_;
  AVFormatContext *format_ = nullptr;
  AVCodecContext *codec_ = nullptr;
  SwsContext *sws_ = nullptr;
  int stream_ = -1;
  double timeBase_ = 0;
  int64_t expected_ = 0;
  std::vector<uint8_t> rgb_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Frame> queue_;
  int64_t decoded_ = 0;
  bool stop_ = false, finished_ = false;
  std::string error_;
};

} // namespace

int classifyVideo(const Model &model, const Options &o) {
  const int outputs = int(model.outSample);
  const int64_t batch = o.batchSize ? o.batchSize : model.batch;
  const int k = std::min(o.topk, outputs);
  std::string csv = "frame,time";
  for (int i = 1; i <= k; ++i)
    csv += ",class" + std::to_string(i) + ",p" + std::to_string(i);
  csv += "\n";

  kiln::rt::Progress progress(model.progress, std::string(program) + ": video");
  auto start = std::chrono::steady_clock::now();
  int64_t classified = 0, decoded = 0;
  {
    Reader reader(model, o.video, o.every);
    std::vector<Frame> frames;
    std::vector<float> input, output(size_t(batch) * outputs);
    bool more = true;
    while (more) {
      frames.clear();
      Frame frame;
      while (int64_t(frames.size()) < batch && (more = reader.next(frame)))
        frames.push_back(std::move(frame));
      if (frames.empty())
        break;
      input.resize(frames.size() * model.inSample);
      for (size_t i = 0; i < frames.size(); ++i)
        std::copy(frames[i].input.begin(), frames[i].input.end(),
                  input.begin() + i * model.inSample);
      model.run(input.data(), int64_t(frames.size()), output.data());
      for (size_t i = 0; i < frames.size(); ++i) {
        const float *logits = output.data() + i * outputs;
        float top = *std::max_element(logits, logits + outputs);
        double sum = 0;
        for (int c = 0; c < outputs; ++c)
          sum += std::exp(double(logits[c]) - top);
        std::vector<int> best = topK(logits, outputs, k);
        char head[64];
        std::snprintf(head, sizeof head, "frame %lld (%.3f s):",
                      (long long)frames[i].index, frames[i].seconds);
        std::string line = head;
        char row[64];
        std::snprintf(row, sizeof row, "%lld,%.6f", (long long)frames[i].index,
                      frames[i].seconds);
        csv += row;
        for (int j = 0; j < k; ++j) {
          int c = best[size_t(j)];
          double p = std::exp(double(logits[c]) - top) / sum;
          char item[32];
          std::snprintf(item, sizeof item, " %.2f%% ", 100 * p);
          line += (j ? "," : "") + std::string(item) + model.label(c) + " (" +
                  std::to_string(c) + ")";
          std::snprintf(item, sizeof item, ",%d,%.6f", c, p);
          csv += item;
        }
        csv += "\n";
        if (progress.mode() == kiln::rt::Progress::Mode::Terminal)
          progress.done(); // frame lines and a bar do not mix: lines win
        std::printf("%s\n", line.c_str());
      }
      std::fflush(stdout);
      classified += int64_t(frames.size());
      progress.count(classified, reader.expected(), "frames");
    }
    decoded = reader.decoded();
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  progress.done();
  if (!o.outputCsv.empty())
    writeTextFile(o.outputCsv, csv);
  std::printf("video: %lld frames decoded, %lld classified in %.2f s: %.1f "
              "frames/s (batch %lld on %s)\n",
              (long long)decoded, (long long)classified, seconds,
              double(classified) / std::max(seconds, 1e-9), (long long)batch,
              kiln_device(model.session));
  return 0;
}

#endif // KILN_HAVE_FFMPEG

} // namespace kiln::cli
