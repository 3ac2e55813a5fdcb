//===- kernels.cpp - benchmark of the CPU kernels, layer by layer ---------===//
//
// Times kiln's CPU conv2d / linear kernels on the convolutions and the
// classifier of torchvision's ResNet-50 (53 + 1) or MobileNetV2 (52 + 1,
// `--net mobilenet_v2`) at batch 1, 224x224, with the epilogues the compiler
// fuses into them (folded batch norm as bias, ReLU / ReLU6, the residual
// add), on 1 and 2 threads.
//
//  * Per distinct layer shape: the best of N runs of that layer alone
//    (weights hot in cache), and GFLOP/s (2 * MACs / time). Best-of-N,
//    because on a shared machine the median mostly measures the neighbours.
//  * The whole stack: all layers in network order, each with its own
//    weights and buffers (ResNet-50's 100 MB stream from memory as in a
//    real inference); the median and the best pass. Pooling is not included.
//
// Build and run (from the repository root; it is a standalone program):
//
//   g++ -O2 -std=c++20 -Iruntime/include -pthread bench/kernels.cpp
//       -Lbuild/lib -lkiln_cpu_avx512 -lkiln_cpu_avx2 -lkiln_cpu_portable
//       -lkiln_runtime -o /tmp/kiln-bench-kernels
//   [KILN_CPU=avx2] /tmp/kiln-bench-kernels [--net resnet50|mobilenet_v2]
//                                           [--reps N] [--winograd]
//
// --winograd also times each dense 3x3 stride-1 layer as Winograd F(2x2,3x3)
// and F(4x4,3x3) (conv2d_winograd), its GF/s counting the direct FLOPs.
//
// It runs the kernel set an executable would pick (or $KILN_CPU's).
//
//===----------------------------------------------------------------------===//

#include "kiln/cpu/kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

using namespace kiln::cpu;
using kiln::rt::ThreadPool;

namespace {

/// A square, batch-1 convolution with PyTorch's "same" padding k / 2.
constexpr Conv2d conv(int h, int c, int o, int k, int s, int groups = 1) {
  int p = k / 2, ho = (h + 2 * p - k) / s + 1;
  return {1, h, h, c, o, k, k, s, s, p, p, 1, 1, groups, ho, ho, c, o};
}

constexpr Epilogue kBiasRelu{true, false, 0, Activation::Relu};
constexpr Epilogue kBiasRelu6{true, false, 0, Activation::Relu6};
constexpr Epilogue kBias{true, false, 0, Activation::None};
constexpr Epilogue residual_relu(int o) {
  return {true, true, o, Activation::Relu};
}

struct Layer {
  const char *name;
  Conv2d shape;
  Epilogue epilogue;
  bool linear = false; ///< the fc layer: Linear{1, c, o}
};

/// Bottleneck |b| of a stage: width |w|, input |cin| channels at |h|, first
/// block strides by |s| (torchvision puts the stride on the 3x3).
#define KILN_BOTTLENECK(stage, h, cin, w, s)                                   \
  Layer{stage ".conv1 1x1", conv(h, cin, w, 1, 1), kBiasRelu},                 \
      Layer{stage ".conv2 3x3", conv(h, w, w, 3, s), kBiasRelu},               \
      Layer{stage ".conv3 1x1", conv(h / s, w, 4 * w, 1, 1),                   \
            residual_relu(4 * w)}
#define KILN_DOWNSAMPLE(stage, h, cin, w, s)                                   \
  Layer { stage ".downsample", conv(h, cin, 4 * w, 1, s), kBias }

constexpr Layer kResNet50[] = {
    {"conv1 7x7/2", conv(224, 3, 64, 7, 2), kBiasRelu},
    // layer1: 56x56, width 64.
    KILN_DOWNSAMPLE("layer1.0", 56, 64, 64, 1),
    KILN_BOTTLENECK("layer1.0", 56, 64, 64, 1),
    KILN_BOTTLENECK("layer1.1", 56, 256, 64, 1),
    KILN_BOTTLENECK("layer1.2", 56, 256, 64, 1),
    // layer2: 56 -> 28, width 128.
    KILN_DOWNSAMPLE("layer2.0", 56, 256, 128, 2),
    KILN_BOTTLENECK("layer2.0", 56, 256, 128, 2),
    KILN_BOTTLENECK("layer2.1", 28, 512, 128, 1),
    KILN_BOTTLENECK("layer2.2", 28, 512, 128, 1),
    KILN_BOTTLENECK("layer2.3", 28, 512, 128, 1),
    // layer3: 28 -> 14, width 256.
    KILN_DOWNSAMPLE("layer3.0", 28, 512, 256, 2),
    KILN_BOTTLENECK("layer3.0", 28, 512, 256, 2),
    KILN_BOTTLENECK("layer3.1", 14, 1024, 256, 1),
    KILN_BOTTLENECK("layer3.2", 14, 1024, 256, 1),
    KILN_BOTTLENECK("layer3.3", 14, 1024, 256, 1),
    KILN_BOTTLENECK("layer3.4", 14, 1024, 256, 1),
    KILN_BOTTLENECK("layer3.5", 14, 1024, 256, 1),
    // layer4: 14 -> 7, width 512.
    KILN_DOWNSAMPLE("layer4.0", 14, 1024, 512, 2),
    KILN_BOTTLENECK("layer4.0", 14, 1024, 512, 2),
    KILN_BOTTLENECK("layer4.1", 7, 2048, 512, 1),
    KILN_BOTTLENECK("layer4.2", 7, 2048, 512, 1),
    {"fc 2048->1000", conv(1, 2048, 1000, 1, 1), kBias, true},
};
static_assert(std::size(kResNet50) == 54, "53 convolutions and the classifier");

/// Inverted residual |b| of torchvision's MobileNetV2: input |cin| channels
/// at |h|, expansion |t|, output |cout|, depthwise stride |s|; the residual
/// add when the shape is kept.
#define KILN_INVERTED(b, h, cin, t, cout, s)                                   \
  Layer{b ".expand 1x1", conv(h, cin, cin * t, 1, 1), kBiasRelu6},             \
      KILN_INVERTED_DW(b, h, cin * t, cout, s)
#define KILN_INVERTED_DW(b, h, c, cout, s)                                     \
  Layer{b ".dw 3x3", conv(h, c, c, 3, s, c), kBiasRelu6},                      \
      Layer{b ".project 1x1", conv(h / s, c, cout, 1, 1),                      \
            s == 1 && c / 6 == cout ? Epilogue{true, true, cout,              \
                                               Activation::None}               \
                                    : kBias}

constexpr Layer kMobileNetV2[] = {
    {"features.0 3x3/2", conv(224, 3, 32, 3, 2), kBiasRelu6},
    KILN_INVERTED_DW("features.1", 112, 32, 16, 1),
    KILN_INVERTED("features.2", 112, 16, 6, 24, 2),
    KILN_INVERTED("features.3", 56, 24, 6, 24, 1),
    KILN_INVERTED("features.4", 56, 24, 6, 32, 2),
    KILN_INVERTED("features.5", 28, 32, 6, 32, 1),
    KILN_INVERTED("features.6", 28, 32, 6, 32, 1),
    KILN_INVERTED("features.7", 28, 32, 6, 64, 2),
    KILN_INVERTED("features.8", 14, 64, 6, 64, 1),
    KILN_INVERTED("features.9", 14, 64, 6, 64, 1),
    KILN_INVERTED("features.10", 14, 64, 6, 64, 1),
    KILN_INVERTED("features.11", 14, 64, 6, 96, 1),
    KILN_INVERTED("features.12", 14, 96, 6, 96, 1),
    KILN_INVERTED("features.13", 14, 96, 6, 96, 1),
    KILN_INVERTED("features.14", 14, 96, 6, 160, 2),
    KILN_INVERTED("features.15", 7, 160, 6, 160, 1),
    KILN_INVERTED("features.16", 7, 160, 6, 160, 1),
    KILN_INVERTED("features.17", 7, 160, 6, 320, 1),
    {"features.18 1x1", conv(7, 320, 1280, 1, 1), kBiasRelu6},
    {"classifier 1280->1000", conv(1, 1280, 1000, 1, 1), kBias, true},
};
static_assert(std::size(kMobileNetV2) == 53,
              "52 convolutions and the classifier");

constexpr double macs(const Conv2d &s) {
  return double(s.n) * s.ho * s.wo * s.o * s.kh * s.kw * (s.c / s.groups);
}

/// A layer's buffers: its own weights, input, output and residual.
struct Buffers {
  std::vector<float> packed, bias, in, out, residual;
};

using RunFn = void (*)(Buffers &, ThreadPool &);
using PackFn = void (*)(const float *, Buffers &);
using SizeFn = size_t (*)();

/// The layer as Winograd F(m x m, 3 x 3), m = 2 and 4 ([0] and [1]), where
/// it applies; |packed| then holds that tile's weights.
struct WinogradFns {
  bool ok = false;
  RunFn run[2] = {};
  PackFn pack[2] = {};
  SizeFn size[2] = {};
};

template <const auto &Net, int I> void run(Buffers &b, ThreadPool &pool) {
  constexpr Layer L = Net[I];
  if constexpr (L.linear)
    linear<Linear{1, L.shape.c, L.shape.o}, L.epilogue>(
        b.in.data(), b.packed.data(), b.bias.data(), b.residual.data(),
        b.out.data(), pool);
  else
    conv2d<L.shape, L.epilogue>(b.in.data(), b.packed.data(), b.bias.data(),
                                b.residual.data(), b.out.data(), pool);
}
template <const auto &Net, int I> void pack(const float *oihw, Buffers &b) {
  constexpr Layer L = Net[I];
  if constexpr (L.linear)
    linear_pack<Linear{1, L.shape.c, L.shape.o}>(oihw, b.packed.data());
  else
    conv2d_pack<L.shape>(oihw, b.packed.data());
}
template <const auto &Net, int I> size_t packed_size() {
  constexpr Layer L = Net[I];
  if constexpr (L.linear)
    return linear_packed_size<Linear{1, L.shape.c, L.shape.o}>();
  else
    return conv2d_packed_size<L.shape>();
}

template <const auto &Net, int I, int M>
void run_winograd(Buffers &b, ThreadPool &pool) {
  constexpr Layer L = Net[I];
  if constexpr (!L.linear && winograd_ok(L.shape, M))
    conv2d_winograd<Winograd{L.shape, M}, L.epilogue>(
        b.in.data(), b.packed.data(), b.bias.data(), b.residual.data(),
        b.out.data(), pool);
}
template <const auto &Net, int I, int M>
void pack_winograd(const float *oihw, Buffers &b) {
  constexpr Layer L = Net[I];
  if constexpr (!L.linear && winograd_ok(L.shape, M))
    conv2d_winograd_pack<Winograd{L.shape, M}>(oihw, b.packed.data());
}
template <const auto &Net, int I, int M> size_t winograd_size() {
  constexpr Layer L = Net[I];
  if constexpr (!L.linear && winograd_ok(L.shape, M))
    return conv2d_winograd_packed_size<Winograd{L.shape, M}>();
  return 0;
}
template <const auto &Net, int I> WinogradFns winograd_fns() {
  constexpr Layer L = Net[I];
  return {!L.linear && winograd_ok(L.shape, 2),
          {&run_winograd<Net, I, 2>, &run_winograd<Net, I, 4>},
          {&pack_winograd<Net, I, 2>, &pack_winograd<Net, I, 4>},
          {&winograd_size<Net, I, 2>, &winograd_size<Net, I, 4>}};
}

/// A network's layers with their kernel instances, one entry per layer.
struct Net {
  const char *name;
  const Layer *layers;
  int count;
  std::vector<RunFn> run;
  std::vector<PackFn> pack;
  std::vector<SizeFn> size;
  std::vector<WinogradFns> winograd;
};

template <const auto &Layers, size_t... I>
Net make_net(const char *name, std::index_sequence<I...>) {
  return {name,
          Layers,
          int(sizeof...(I)),
          {&run<Layers, I>...},
          {&pack<Layers, I>...},
          {&packed_size<Layers, I>...},
          {winograd_fns<Layers, I>()...}};
}
template <const auto &Layers> Net make_net(const char *name) {
  return make_net<Layers>(name, std::make_index_sequence<std::size(Layers)>());
}

std::vector<float> random_floats(size_t n, std::mt19937 &rng, float scale) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

Buffers make_buffers(const Net &net, int i, std::mt19937 &rng) {
  const Conv2d &s = net.layers[i].shape;
  Buffers b;
  std::vector<float> oihw =
      random_floats(size_t(s.o) * (s.c / s.groups) * s.kh * s.kw, rng, 0.05f);
  b.packed.resize(net.size[i]());
  net.pack[i](oihw.data(), b);
  b.bias = random_floats(s.o, rng, 0.1f);
  b.in = random_floats(size_t(s.n) * s.h * s.w * s.c, rng, 1.f);
  b.out.resize(size_t(s.n) * s.ho * s.wo * s.o);
  b.residual = random_floats(b.out.size(), rng, 1.f);
  return b;
}

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The median and the best of some timings.
struct Stats {
  double median, best;
};
Stats stats(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[0]};
}

/// Seconds of |reps| runs of layer |i| (after one warm-up run).
Stats time_layer(const Net &net, int i, Buffers &b, ThreadPool &pool,
                 int reps) {
  net.run[i](b, pool);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
    net.run[i](b, pool);
    t.push_back(now() - t0);
  }
  return stats(t);
}

/// Seconds of a pass over all layers in order, each with its own buffers.
Stats time_stack(const Net &net, std::vector<Buffers> &bufs, ThreadPool &pool,
                 int passes) {
  std::vector<double> t;
  for (int r = 0; r <= passes; ++r) {
    double t0 = now();
    for (int i = 0; i < net.count; ++i)
      net.run[i](bufs[i], pool);
    if (r > 0) // the first pass is a warm-up
      t.push_back(now() - t0);
  }
  return stats(t);
}

} // namespace

int main(int argc, char **argv) {
  int reps = 30;
  bool winograd = false;
  std::string name = "resnet50";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--net") && i + 1 < argc) {
      name = argv[++i];
    } else if (!std::strcmp(argv[i], "--winograd")) {
      winograd = true;
    } else {
      std::fprintf(stderr, "usage: %s [--net resnet50|mobilenet_v2] "
                           "[--reps N] [--winograd]\n", argv[0]);
      return 1;
    }
  }
  if (reps < 1) {
    std::fprintf(stderr, "--reps must be at least 1\n");
    return 1;
  }
  const Net nets[] = {make_net<kResNet50>("resnet50"),
                      make_net<kMobileNetV2>("mobilenet_v2")};
  const Net *found = nullptr;
  for (const Net &n : nets)
    if (name == n.name)
      found = &n;
  if (!found) {
    std::fprintf(stderr, "unknown --net '%s' (resnet50, mobilenet_v2)\n",
                 name.c_str());
    return 1;
  }
  const Net &net = *found;
  const KernelTable *sets[] = {&kernels_avx512, &kernels_avx2,
                               &kernels_portable};
  std::string error;
  const KernelTable *set = choose_kernels(sets, 3, std::getenv("KILN_CPU"), error);
  if (!set) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  use_kernels(*set);
  std::printf("kernel set %s (%s) on %s\n", set->name, set->description,
              cpu_model_name().c_str());
  ThreadPool pool1(1), pool2(2);
  std::mt19937 rng(42);
  std::vector<Buffers> bufs;
  for (int i = 0; i < net.count; ++i)
    bufs.push_back(make_buffers(net, i, rng));

  std::printf("%-22s %5s %6s %6s %6s  %8s %7s  %8s %7s\n", "layer", "count",
              "M", "N", "K", "1T ms", "GF/s", "2T ms", "GF/s");
  double total_macs = 0, sum1 = 0, sum2 = 0;
  for (int i = 0; i < net.count; ++i) {
    const Layer &L = net.layers[i];
    total_macs += macs(L.shape);
    // One line per distinct shape and epilogue, at its first occurrence.
    bool seen = false;
    int count = 0;
    for (int j = 0; j < net.count; ++j) {
      const Layer &J = net.layers[j];
      bool same = !std::memcmp(&J.shape, &L.shape, sizeof(Conv2d)) &&
                  !std::memcmp(&J.epilogue, &L.epilogue, sizeof(Epilogue));
      seen |= same && j < i;
      count += same;
    }
    if (seen)
      continue;
    double t1 = time_layer(net, i, bufs[i], pool1, reps).best;
    double t2 = time_layer(net, i, bufs[i], pool2, reps).best;
    sum1 += count * t1, sum2 += count * t2;
    double flop = 2 * macs(L.shape);
    const Conv2d &s = L.shape;
    std::printf("%-22s %5d %6d %6d %6d  %8.3f %7.1f  %8.3f %7.1f\n", L.name,
                count, s.n * s.ho * s.wo, s.o, s.kh * s.kw * s.c / s.groups,
                t1 * 1e3, flop / t1 * 1e-9, t2 * 1e3, flop / t2 * 1e-9);
    const WinogradFns &wf = net.winograd[i];
    if (!winograd || !wf.ok)
      continue;
    // The same layer as Winograd F(2x2) and F(4x4); GF/s counts the direct
    // convolution's FLOPs (the speed-up, not the arithmetic done).
    for (int t = 0; t < 2; ++t) {
      Buffers wb = bufs[i];
      std::vector<float> oihw = random_floats(
          size_t(s.o) * s.c * s.kh * s.kw, rng, 0.05f);
      wb.packed.assign(wf.size[t](), 0.f);
      wf.pack[t](oihw.data(), wb);
      auto time = [&](ThreadPool &pool) {
        wf.run[t](wb, pool);
        double best = 1e30;
        for (int r = 0; r < reps; ++r) {
          double t0 = now();
          wf.run[t](wb, pool);
          best = std::min(best, now() - t0);
        }
        return best;
      };
      double w1 = time(pool1), w2 = time(pool2);
      std::printf("  winograd F(%dx%d)%28s  %8.3f %7.1f  %8.3f %7.1f\n",
                  2 + 2 * t, 2 + 2 * t, "", w1 * 1e3, flop / w1 * 1e-9,
                  w2 * 1e3, flop / w2 * 1e-9);
    }
  }
  double flop = 2 * total_macs;
  std::printf("\nsum of per-layer bests (hot weights): 1T %.2f ms "
              "(%.1f GF/s), 2T %.2f ms (%.1f GF/s)\n",
              sum1 * 1e3, flop / sum1 * 1e-9, sum2 * 1e3, flop / sum2 * 1e-9);
  int passes = std::max(5, reps / 3);
  std::printf("whole stack, %d layers in order (%.2f GFLOP), %d passes:\n",
              net.count, flop * 1e-9, passes);
  for (int threads : {1, 2}) {
    Stats s = time_stack(net, bufs, threads == 1 ? pool1 : pool2, passes);
    std::printf("  %dT: median %.2f ms (%.1f GF/s), best %.2f ms (%.1f GF/s)\n",
                threads, s.median * 1e3, flop / s.median * 1e-9,
                s.best * 1e3, flop / s.best * 1e-9);
  }
  return 0;
}
