//===- capi.cpp - the C interface of a compiled model (kiln.h) ------------===//
//
// This file implements kiln.h over kiln::rt::Session: argument checks, the
// thread's last error, and the boundary no C++ exception crosses (a failed
// allocation or a thread that cannot start becomes a status and a message).
//
//===----------------------------------------------------------------------===//

#include "kiln.h"

#include "kiln/image.h"
#include "session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <system_error>

using namespace kiln::rt;

struct kiln_session {
  std::unique_ptr<Session> session;
};

namespace {

thread_local std::string lastError;

kiln_status failed(const Status &status) {
  lastError = status.message;
  return status.code;
}

kiln_status failed(kiln_status code, const std::string &message) {
  lastError = message;
  return code;
}

/// Runs |body| (returning a kiln_status), turning exceptions into one.
template <typename Body> kiln_status guarded(Body &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return failed(KILN_ERROR_MEMORY,
                  "out of memory (the model's buffers, its weights or an "
                  "input are larger than this machine can allocate)");
  } catch (const std::system_error &e) {
    return failed(KILN_ERROR_RUNTIME, std::string("system error: ") + e.what());
  } catch (const std::exception &e) {
    return failed(KILN_ERROR_RUNTIME, std::string("internal error: ") + e.what());
  }
}

} // namespace

extern "C" {

const char *kiln_status_name(kiln_status status) {
  switch (status) {
  case KILN_OK:
    return "KILN_OK";
  case KILN_ERROR_ARGUMENT:
    return "KILN_ERROR_ARGUMENT";
  case KILN_ERROR_FILE:
    return "KILN_ERROR_FILE";
  case KILN_ERROR_WEIGHTS:
    return "KILN_ERROR_WEIGHTS";
  case KILN_ERROR_DEVICE:
    return "KILN_ERROR_DEVICE";
  case KILN_ERROR_MEMORY:
    return "KILN_ERROR_MEMORY";
  case KILN_ERROR_RUNTIME:
    return "KILN_ERROR_RUNTIME";
  }
  return "KILN_ERROR_UNKNOWN";
}

const char *kiln_last_error(void) { return lastError.c_str(); }

int kiln_api_version(void) { return KILN_API_VERSION; }

void kiln_model(kiln_model_info *info) {
  if (info)
    *info = modelInfo();
}

const char *kiln_imagenet_label(int index) {
  return index >= 0 && index < 1000 ? kImageNetLabels[index] : nullptr;
}

void kiln_options_init(kiln_options *options) {
  if (!options)
    return;
  std::memset(options, 0, sizeof *options);
  options->size = sizeof *options;
  options->device = "auto";
  options->strict = 1;
}

kiln_status kiln_open(const kiln_options *options, kiln_session **session) {
  if (session)
    *session = nullptr;
  if (!options || !session)
    return failed(KILN_ERROR_ARGUMENT, "kiln_open: options and session must "
                                       "not be null");
  if (options->size != sizeof(kiln_options))
    return failed(KILN_ERROR_ARGUMENT,
                  "kiln_open: options.size is " + std::to_string(options->size) +
                      ", not sizeof(kiln_options) = " +
                      std::to_string(sizeof(kiln_options)) +
                      " (call kiln_options_init; is kiln.h the library's?)");
  return guarded([&] {
    Status status;
    std::unique_ptr<Session> s = Session::open(*options, status);
    if (!s)
      return failed(status);
    *session = new kiln_session{std::move(s)};
    return KILN_OK;
  });
}

void kiln_close(kiln_session *session) { delete session; }

int kiln_input_shape(const kiln_session *, int64_t *shape) {
  const kiln_model_info &m = modelInfo();
  if (shape)
    std::copy(m.input_shape, m.input_shape + m.input_rank, shape);
  return m.input_rank;
}

int kiln_output_shape(const kiln_session *, int64_t *shape) {
  const kiln_model_info &m = modelInfo();
  if (shape)
    std::copy(m.output_shape, m.output_shape + m.output_rank, shape);
  return m.output_rank;
}

const char *kiln_device(const kiln_session *session) {
  return session ? session->session->device().c_str() : "";
}

int kiln_on_gpu(const kiln_session *session) {
  return session && session->session->onGpu();
}

kiln_status kiln_run(kiln_session *session, const float *input, int64_t batch,
                     float *output) {
  if (!session)
    return failed(KILN_ERROR_ARGUMENT, "kiln_run: the session is null");
  return guarded([&] {
    Status status;
    return session->session->run(input, batch, output, status)
               ? KILN_OK
               : failed(status);
  });
}

kiln_status kiln_bench(kiln_session *session, int64_t batch, int warmup,
                       int runs, double *milliseconds) {
  if (!session)
    return failed(KILN_ERROR_ARGUMENT, "kiln_bench: the session is null");
  return guarded([&] {
    Status status;
    return session->session->bench(batch, warmup, runs, milliseconds, status)
               ? KILN_OK
               : failed(status);
  });
}

kiln_status kiln_dump_weights(kiln_session *session, const char *path) {
  if (!session || !path || !*path)
    return failed(KILN_ERROR_ARGUMENT,
                  "kiln_dump_weights: needs a session and a file name");
  return guarded([&] {
    Status status;
    return session->session->dumpWeights(path, status) ? KILN_OK
                                                        : failed(status);
  });
}

void kiln_transform_init(kiln_transform *transform, int crop_h, int crop_w) {
  if (!transform)
    return;
  ImageTransform t;
  t.crop = crop_h;
  t.cropWidth = crop_w;
  // torchvision's ratio: resize 256 for a 224 crop.
  t.resize = int(std::lround(crop_h * 256.0 / 224.0));
  transform->resize_h = t.resize;
  transform->resize_w = 0;
  transform->crop_h = crop_h;
  transform->crop_w = crop_w;
  std::copy(t.mean, t.mean + 3, transform->mean);
  std::copy(t.std, t.std + 3, transform->std);
}

kiln_status kiln_load_image(const char *path, const kiln_transform *transform,
                            float *chw) {
  if (!path || !*path || !transform || !chw)
    return failed(KILN_ERROR_ARGUMENT,
                  "kiln_load_image: needs a file name, a transform and an "
                  "output buffer");
  return guarded([&] {
    ImageTransform t;
    t.resize = transform->resize_h;
    t.resizeWidth = transform->resize_w;
    t.crop = transform->crop_h;
    t.cropWidth = transform->crop_w;
    std::copy(transform->mean, transform->mean + 3, t.mean);
    std::copy(transform->std, transform->std + 3, t.std);
    std::string error = checkTransform(t);
    if (!error.empty())
      return failed(KILN_ERROR_ARGUMENT, "kiln_load_image: " + error);
    std::vector<float> image;
    if (!loadImage(path, t, image, error))
      return failed(KILN_ERROR_FILE, error);
    std::copy(image.begin(), image.end(), chw);
    return KILN_OK;
  });
}

} // extern "C"
