//===- Interpreter.cpp - reference evaluation of kiln graphs --------------===//
//
// This file implements the reference interpreter. Tensors are row-major
// arrays of doubles in the IR's logical (NCHW) layout; every op is a direct
// transcription of its PyTorch definition, written for clarity rather than
// speed, with double accumulation so that it is a trustworthy oracle for
// float32 code.
//
//===----------------------------------------------------------------------===//

#include "compiler/Interpreter/Interpreter.h"

#include "compiler/Weights/ParamSpecs.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;

namespace {

struct Tensor {
  SmallVector<int64_t, 4> shape;
  std::vector<double> data;

  int64_t dim(int i) const { return shape[i]; }
};

SmallVector<int64_t, 4> shapeOf(Value v) {
  return SmallVector<int64_t, 4>(cast<RankedTensorType>(v.getType()).getShape());
}

int64_t numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Row-major strides of |shape|.
SmallVector<int64_t, 4> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t, 4> strides(shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

Tensor makeTensor(Value result) {
  Tensor t;
  t.shape = shapeOf(result);
  t.data.assign(size_t(numel(t.shape)), 0.0);
  return t;
}

double hardSigmoid(double x) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }

double activate(Activation act, double x) {
  switch (act) {
  case Activation::none:
    return x;
  case Activation::relu:
    return std::max(x, 0.0);
  case Activation::relu6:
    return std::min(std::max(x, 0.0), 6.0);
  case Activation::sigmoid:
    return 1.0 / (1.0 + std::exp(-x));
  case Activation::hard_sigmoid:
    return hardSigmoid(x);
  case Activation::hard_swish:
    return x * hardSigmoid(x);
  case Activation::silu:
    return x / (1.0 + std::exp(-x));
  }
  return x;
}

class Interpreter {
public:
  Interpreter(const ModelParams &params, const std::vector<const float *> &data)
      : params(params), data(data) {}

  LogicalResult run(func::FuncOp func, const std::vector<float> &input,
                    std::vector<float> &output);

private:
  const ModelParams &params;
  const std::vector<const float *> &data;
  llvm::DenseMap<Value, Tensor> values;

  const Tensor &get(Value v) { return values.find(v)->second; }
  LogicalResult eval(Operation *op);

  Tensor conv2d(Conv2dOp op);
  Tensor batchNorm(BatchNormOp op);
  Tensor linear(LinearOp op);
  Tensor seGate(SqueezeExciteGateOp op);
  Tensor foldWeight(FoldBatchNormWeightOp op);
  Tensor foldBias(FoldBatchNormBiasOp op);
  template <typename Fn>
  Tensor unary(Operation *op, Fn fn);
  template <typename Fn>
  Tensor broadcast(Operation *op, Fn fn);
  Tensor maxPool(MaxPool2dOp op);
  Tensor avgPool(AvgPool2dOp op);
  Tensor adaptiveAvgPool(AdaptiveAvgPool2dOp op);
  Tensor mean(MeanOp op);
  Tensor softmax(SoftmaxOp op);
  Tensor upsample(UpsampleNearestOp op);
  Tensor transpose(TransposeOp op);
  Tensor concat(ConcatOp op);
  /// Copies |sizes| elements along |dim| starting at |start| with |step|.
  Tensor sliceOf(const Tensor &in, Value result, int64_t dim, int64_t start,
                 int64_t step);
  Tensor channelShuffle(ChannelShuffleOp op);
};

Tensor Interpreter::conv2d(Conv2dOp op) {
  const Tensor &x = get(op.getInput()), &w = get(op.getWeight());
  Tensor y = makeTensor(op.getResult());
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wi = x.dim(3);
  int64_t o = y.dim(1), ho = y.dim(2), wo = y.dim(3);
  int64_t kh = w.dim(2), kw = w.dim(3), g = op.getGroups();
  int64_t cg = c / g, og = o / g;
  auto s = op.getStride(), p = op.getPadding(), d = op.getDilation();
  const Tensor *b = op.getBias() ? &get(op.getBias()) : nullptr;
  const Tensor *residual = op.getResidual() ? &get(op.getResidual()) : nullptr;
  const Tensor *scale = op.getScale() ? &get(op.getScale()) : nullptr;
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t oc = 0; oc < o; ++oc) {
      int64_t group = oc / og;
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox) {
          double acc = b ? b->data[oc] : 0.0;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t ky = 0; ky < kh; ++ky) {
              int64_t iy = oy * s[0] - p[0] + ky * d[0];
              if (iy < 0 || iy >= h)
                continue;
              for (int64_t kx = 0; kx < kw; ++kx) {
                int64_t ix = ox * s[1] - p[1] + kx * d[1];
                if (ix < 0 || ix >= wi)
                  continue;
                double xv = x.data[((ni * c + group * cg + ic) * h + iy) * wi + ix];
                if (scale)
                  xv *= scale->data[ni * c + group * cg + ic];
                acc += xv * w.data[((oc * cg + ic) * kh + ky) * kw + kx];
              }
            }
          int64_t at = ((ni * o + oc) * ho + oy) * wo + ox;
          if (residual)
            acc += residual->data[at];
          y.data[at] = activate(op.getActivation(), acc);
        }
    }
  return y;
}

Tensor Interpreter::batchNorm(BatchNormOp op) {
  const Tensor &x = get(op.getInput());
  const Tensor &gamma = get(op.getWeight()), &beta = get(op.getBias()),
               &mu = get(op.getMean()), &var = get(op.getVar());
  double eps = op.getEpsilon().convertToDouble();
  Tensor y = makeTensor(op.getResult());
  int64_t c = x.dim(1), inner = numel(ArrayRef<int64_t>(x.shape).drop_front(2));
  for (size_t i = 0; i < x.data.size(); ++i) {
    int64_t ch = (int64_t(i) / inner) % c;
    y.data[i] = (x.data[i] - mu.data[ch]) / std::sqrt(var.data[ch] + eps) *
                    gamma.data[ch] +
                beta.data[ch];
  }
  return y;
}

Tensor Interpreter::linear(LinearOp op) {
  const Tensor &w = get(op.getWeight());
  const Tensor *b = op.getBias() ? &get(op.getBias()) : nullptr;
  const Tensor *residual = op.getResidual() ? &get(op.getResidual()) : nullptr;
  // With pool, the input is first averaged over H and W.
  Tensor pooled;
  const Tensor *xp = &get(op.getInput());
  if (op.getPool()) {
    const Tensor &x4 = *xp;
    int64_t hw = x4.dim(2) * x4.dim(3);
    pooled.shape = {x4.dim(0), x4.dim(1)};
    pooled.data.assign(size_t(x4.dim(0) * x4.dim(1)), 0.0);
    for (size_t i = 0; i < pooled.data.size(); ++i) {
      for (int64_t k = 0; k < hw; ++k)
        pooled.data[i] += x4.data[int64_t(i) * hw + k];
      pooled.data[i] /= double(hw);
    }
    xp = &pooled;
  }
  const Tensor &x = *xp;
  Tensor y = makeTensor(op.getResult());
  int64_t in = w.dim(1), out = w.dim(0), rows = numel(x.shape) / in;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < out; ++j) {
      double acc = b ? b->data[j] : 0.0;
      for (int64_t k = 0; k < in; ++k)
        acc += x.data[r * in + k] * w.data[j * in + k];
      if (residual)
        acc += residual->data[r * out + j];
      y.data[r * out + j] = activate(op.getActivation(), acc);
    }
  return y;
}

Tensor Interpreter::seGate(SqueezeExciteGateOp op) {
  const Tensor &x = get(op.getInput());
  const Tensor &w1 = get(op.getReduceWeight()), &b1 = get(op.getReduceBias());
  const Tensor &w2 = get(op.getExpandWeight()), &b2 = get(op.getExpandBias());
  Tensor y = makeTensor(op.getResult());
  int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3), r = w1.dim(0);
  for (int64_t ni = 0; ni < n; ++ni) {
    std::vector<double> pooled(c, 0.0), hidden(r, 0.0);
    for (int64_t ci = 0; ci < c; ++ci) {
      for (int64_t k = 0; k < hw; ++k)
        pooled[ci] += x.data[(ni * c + ci) * hw + k];
      pooled[ci] /= double(hw);
    }
    for (int64_t j = 0; j < r; ++j) {
      double acc = b1.data[j];
      for (int64_t ci = 0; ci < c; ++ci)
        acc += w1.data[j * c + ci] * pooled[ci];
      hidden[j] = activate(op.getActivation(), acc);
    }
    for (int64_t ci = 0; ci < c; ++ci) {
      double acc = b2.data[ci];
      for (int64_t j = 0; j < r; ++j)
        acc += w2.data[ci * r + j] * hidden[j];
      y.data[ni * c + ci] = activate(op.getGate(), acc);
    }
  }
  return y;
}

Tensor Interpreter::foldWeight(FoldBatchNormWeightOp op) {
  Tensor w = get(op.getWeight());
  const Tensor &gamma = get(op.getGamma()), &var = get(op.getVar());
  double eps = op.getEpsilon().convertToDouble();
  int64_t inner = numel(w.shape) / w.dim(0);
  for (int64_t i = 0; i < int64_t(w.data.size()); ++i) {
    int64_t row = i / inner;
    w.data[i] *= gamma.data[row] / std::sqrt(var.data[row] + eps);
  }
  return w;
}

Tensor Interpreter::foldBias(FoldBatchNormBiasOp op) {
  const Tensor &gamma = get(op.getGamma()), &beta = get(op.getBeta()),
               &mean = get(op.getMean()), &var = get(op.getVar());
  const Tensor *bias = op.getBias() ? &get(op.getBias()) : nullptr;
  double eps = op.getEpsilon().convertToDouble();
  Tensor b = makeTensor(op.getResult());
  for (size_t i = 0; i < b.data.size(); ++i)
    b.data[i] = ((bias ? bias->data[i] : 0.0) - mean.data[i]) * gamma.data[i] /
                    std::sqrt(var.data[i] + eps) +
                beta.data[i];
  return b;
}

template <typename Fn>
Tensor Interpreter::unary(Operation *op, Fn fn) {
  Tensor y = get(op->getOperand(0));
  for (double &v : y.data)
    v = fn(v);
  return y;
}

template <typename Fn>
Tensor Interpreter::broadcast(Operation *op, Fn fn) {
  const Tensor &a = get(op->getOperand(0)), &b = get(op->getOperand(1));
  Tensor y = makeTensor(op->getResult(0));
  int64_t rank = int64_t(y.shape.size());
  auto ys = stridesOf(y.shape);
  // Strides of a and b aligned to the result's rank, 0 where broadcast.
  auto aligned = [&](const Tensor &t) {
    SmallVector<int64_t, 4> s(rank, 0);
    auto ts = stridesOf(t.shape);
    int64_t offset = rank - int64_t(t.shape.size());
    for (int64_t i = 0; i < int64_t(t.shape.size()); ++i)
      s[offset + i] = t.shape[i] == 1 ? 0 : ts[i];
    return s;
  };
  auto as = aligned(a), bs = aligned(b);
  for (int64_t i = 0; i < int64_t(y.data.size()); ++i) {
    int64_t ia = 0, ib = 0, rest = i;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t idx = rest / ys[d];
      rest %= ys[d];
      ia += idx * as[d];
      ib += idx * bs[d];
    }
    y.data[i] = fn(a.data[ia], b.data[ib]);
  }
  return y;
}

Tensor Interpreter::maxPool(MaxPool2dOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  auto k = op.getKernel(), s = op.getStride(), p = op.getPadding(),
       d = op.getDilation();
  int64_t nc = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  int64_t ho = y.dim(2), wo = y.dim(3);
  for (int64_t i = 0; i < nc; ++i)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        double best = -std::numeric_limits<double>::infinity();
        for (int64_t ky = 0; ky < k[0]; ++ky)
          for (int64_t kx = 0; kx < k[1]; ++kx) {
            int64_t iy = oy * s[0] - p[0] + ky * d[0];
            int64_t ix = ox * s[1] - p[1] + kx * d[1];
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              best = std::max(best, x.data[(i * h + iy) * w + ix]);
          }
        y.data[(i * ho + oy) * wo + ox] = best;
      }
  return y;
}

Tensor Interpreter::avgPool(AvgPool2dOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  auto k = op.getKernel(), s = op.getStride(), p = op.getPadding();
  int64_t nc = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  int64_t ho = y.dim(2), wo = y.dim(3);
  for (int64_t i = 0; i < nc; ++i)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        // PyTorch: the window is clipped to the padded input for the
        // divisor, then to the input for the sum.
        int64_t y0 = oy * s[0] - p[0], x0 = ox * s[1] - p[1];
        int64_t y1 = std::min(y0 + k[0], h + p[0]);
        int64_t x1 = std::min(x0 + k[1], w + p[1]);
        int64_t padded = (y1 - y0) * (x1 - x0);
        y0 = std::max<int64_t>(y0, 0);
        x0 = std::max<int64_t>(x0, 0);
        y1 = std::min(y1, h);
        x1 = std::min(x1, w);
        double sum = 0;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix)
            sum += x.data[(i * h + iy) * w + ix];
        int64_t count = op.getExcludePad() ? (y1 - y0) * (x1 - x0) : padded;
        y.data[(i * ho + oy) * wo + ox] = sum / double(count);
      }
  return y;
}

Tensor Interpreter::adaptiveAvgPool(AdaptiveAvgPool2dOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  int64_t nc = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  int64_t ho = y.dim(2), wo = y.dim(3);
  for (int64_t i = 0; i < nc; ++i)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        int64_t y0 = oy * h / ho, y1 = ((oy + 1) * h + ho - 1) / ho;
        int64_t x0 = ox * w / wo, x1 = ((ox + 1) * w + wo - 1) / wo;
        double sum = 0;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix)
            sum += x.data[(i * h + iy) * w + ix];
        y.data[(i * ho + oy) * wo + ox] = sum / double((y1 - y0) * (x1 - x0));
      }
  return y;
}

/// softmax along one dimension: exp(x - max) / sum(exp(x - max)).
Tensor Interpreter::softmax(SoftmaxOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  int64_t dim = op.getDim(), size = x.shape[dim];
  int64_t inner = stridesOf(x.shape)[dim], outer = numel(x.shape) / (size * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t base = o * size * inner + i;
      double max = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t k = 0; k < size; ++k)
        max = std::max(max, x.data[base + k * inner]);
      for (int64_t k = 0; k < size; ++k)
        sum += std::exp(x.data[base + k * inner] - max);
      for (int64_t k = 0; k < size; ++k)
        y.data[base + k * inner] = std::exp(x.data[base + k * inner] - max) / sum;
    }
  return y;
}

Tensor Interpreter::upsample(UpsampleNearestOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  int64_t sh = op.getScale()[0], sw = op.getScale()[1];
  int64_t h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  for (int64_t plane = 0; plane < x.dim(0) * x.dim(1); ++plane)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        y.data[(plane * oh + i) * ow + j] = x.data[(plane * h + i / sh) * w + j / sw];
  return y;
}

Tensor Interpreter::mean(MeanOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  int64_t rank = int64_t(x.shape.size());
  SmallVector<bool, 4> reduced(rank, false);
  for (int64_t d : op.getDims())
    reduced[d] = true;
  // Map each input element to its output element (reduced dims dropped or
  // kept as 1: the linear index is the same either way).
  auto xs = stridesOf(x.shape);
  SmallVector<int64_t, 4> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!reduced[d])
      kept.push_back(x.shape[d]);
  auto ks = stridesOf(kept);
  int64_t count = numel(x.shape) / std::max<int64_t>(1, numel(kept));
  for (int64_t i = 0; i < int64_t(x.data.size()); ++i) {
    int64_t rest = i, out = 0, k = 0;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t idx = rest / xs[d];
      rest %= xs[d];
      if (!reduced[d])
        out += idx * ks[k++];
    }
    y.data[out] += x.data[i];
  }
  for (double &v : y.data)
    v /= double(count);
  return y;
}

Tensor Interpreter::transpose(TransposeOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  int64_t a = op.getDims()[0], b = op.getDims()[1];
  auto xs = stridesOf(x.shape), ys = stridesOf(y.shape);
  for (int64_t i = 0; i < int64_t(x.data.size()); ++i) {
    int64_t rest = i, out = 0;
    for (int64_t d = 0; d < int64_t(xs.size()); ++d) {
      int64_t idx = rest / xs[d];
      rest %= xs[d];
      int64_t to = d == a ? b : d == b ? a : d;
      out += idx * ys[to];
    }
    y.data[out] = x.data[i];
  }
  return y;
}

Tensor Interpreter::concat(ConcatOp op) {
  Tensor y = makeTensor(op.getResult());
  int64_t dim = op.getDim();
  int64_t outer = numel(ArrayRef<int64_t>(y.shape).take_front(dim));
  int64_t inner = numel(ArrayRef<int64_t>(y.shape).drop_front(dim + 1));
  int64_t offset = 0;
  for (Value input : op.getInputs()) {
    const Tensor &x = get(input);
    int64_t block = x.shape[dim] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(x.data.begin() + o * block, block,
                  y.data.begin() + o * y.shape[dim] * inner + offset);
    offset += block;
  }
  return y;
}

Tensor Interpreter::sliceOf(const Tensor &x, Value result, int64_t dim,
                            int64_t start, int64_t step) {
  Tensor y = makeTensor(result);
  int64_t outer = numel(ArrayRef<int64_t>(x.shape).take_front(dim));
  int64_t inner = numel(ArrayRef<int64_t>(x.shape).drop_front(dim + 1));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < y.shape[dim]; ++i)
      std::copy_n(x.data.begin() + (o * x.shape[dim] + start + i * step) * inner,
                  inner, y.data.begin() + (o * y.shape[dim] + i) * inner);
  return y;
}

Tensor Interpreter::channelShuffle(ChannelShuffleOp op) {
  const Tensor &x = get(op.getInput());
  Tensor y = makeTensor(op.getResult());
  int64_t n = x.dim(0), c = x.dim(1), g = op.getGroups(), per = c / g;
  int64_t inner = numel(ArrayRef<int64_t>(x.shape).drop_front(2));
  // Output channel i * g + j is input channel j * per + i.
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t j = 0; j < g; ++j)
      for (int64_t i = 0; i < per; ++i)
        std::copy_n(x.data.begin() + (ni * c + j * per + i) * inner, inner,
                    y.data.begin() + (ni * c + i * g + j) * inner);
  return y;
}

LogicalResult Interpreter::eval(Operation *op) {
  auto set = [&](Tensor t) {
    values[op->getResult(0)] = std::move(t);
    return success();
  };
  if (std::optional<Activation> act = activationOf(op))
    return set(unary(op, [&](double x) { return activate(*act, x); }));
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](ParamOp p) {
        Tensor t = makeTensor(p.getResult());
        const float *src = data[params.index.lookup(p)];
        std::copy_n(src, t.data.size(), t.data.begin());
        return set(std::move(t));
      })
      .Case([&](Conv2dOp c) { return set(conv2d(c)); })
      .Case([&](BatchNormOp b) { return set(batchNorm(b)); })
      .Case([&](LinearOp l) { return set(linear(l)); })
      .Case([&](SqueezeExciteGateOp g) { return set(seGate(g)); })
      .Case([&](FoldBatchNormWeightOp f) { return set(foldWeight(f)); })
      .Case([&](FoldBatchNormBiasOp f) { return set(foldBias(f)); })
      .Case<IdentityOp, DropoutOp, ConvertLayoutOp>(
          [&](Operation *) { return set(get(op->getOperand(0))); })
      .Case([&](AddOp) {
        return set(broadcast(op, [](double a, double b) { return a + b; }));
      })
      .Case([&](MulOp) {
        return set(broadcast(op, [](double a, double b) { return a * b; }));
      })
      .Case([&](SubOp) {
        return set(broadcast(op, [](double a, double b) { return a - b; }));
      })
      .Case([&](DivOp) {
        return set(broadcast(op, [](double a, double b) { return a / b; }));
      })
      .Case([&](TanhOp) {
        return set(unary(op, [](double x) { return std::tanh(x); }));
      })
      .Case([&](LeakyReluOp l) {
        double a = l.getAlpha().convertToDouble();
        return set(unary(op, [a](double x) { return x > 0 ? x : a * x; }));
      })
      .Case([&](EluOp e) {
        double a = e.getAlpha().convertToDouble();
        return set(unary(op, [a](double x) { return x > 0 ? x : a * std::expm1(x); }));
      })
      .Case([&](ClampOp c) {
        double lo = c.getMinAttr() ? c.getMinAttr().getValueAsDouble()
                                   : -std::numeric_limits<double>::infinity();
        double hi = c.getMaxAttr() ? c.getMaxAttr().getValueAsDouble()
                                   : std::numeric_limits<double>::infinity();
        return set(unary(op, [lo, hi](double x) { return std::min(std::max(x, lo), hi); }));
      })
      .Case([&](SoftmaxOp s) { return set(softmax(s)); })
      .Case([&](UpsampleNearestOp u) { return set(upsample(u)); })
      .Case([&](PadOp p) {
        const Tensor &x = get(p.getInput());
        Tensor y = makeTensor(p.getResult());
        std::fill(y.data.begin(), y.data.end(), p.getValue().convertToDouble());
        int64_t h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        int64_t top = p.getPads()[0], left = p.getPads()[1];
        for (int64_t plane = 0; plane < x.dim(0) * x.dim(1); ++plane)
          for (int64_t i = 0; i < h; ++i)
            std::copy_n(x.data.begin() + (plane * h + i) * w, w,
                        y.data.begin() + (plane * oh + top + i) * ow + left);
        return set(std::move(y));
      })
      .Case([&](MaxPool2dOp p) { return set(maxPool(p)); })
      .Case([&](AvgPool2dOp p) { return set(avgPool(p)); })
      .Case([&](AdaptiveAvgPool2dOp p) { return set(adaptiveAvgPool(p)); })
      .Case([&](MeanOp m) { return set(mean(m)); })
      .Case<FlattenOp, ReshapeOp>([&](Operation *) {
        Tensor t = get(op->getOperand(0));
        t.shape = shapeOf(op->getResult(0));
        return set(std::move(t));
      })
      .Case([&](TransposeOp t) { return set(transpose(t)); })
      .Case([&](ConcatOp c) { return set(concat(c)); })
      .Case([&](SliceOp s) {
        return set(sliceOf(get(s.getInput()), s.getResult(), s.getDim(),
                           s.getStart(), s.getStep()));
      })
      .Case<SplitOp, ChunkOp>([&](Operation *) {
        const Tensor &x = get(op->getOperand(0));
        int64_t dim = isa<SplitOp>(op) ? cast<SplitOp>(op).getDim()
                                       : cast<ChunkOp>(op).getDim();
        // Slice everything before inserting: an insertion may grow the map
        // and move |x|.
        std::vector<Tensor> parts;
        int64_t start = 0;
        for (Value r : op->getResults()) {
          parts.push_back(sliceOf(x, r, dim, start, 1));
          start += cast<RankedTensorType>(r.getType()).getDimSize(dim);
        }
        for (auto [r, part] : llvm::zip(op->getResults(), parts))
          values[r] = std::move(part);
        return success();
      })
      .Case([&](ChannelShuffleOp c) { return set(channelShuffle(c)); })
      .Default([&](Operation *) {
        return op->emitError("the interpreter cannot evaluate '")
               << op->getName() << "'";
      });
}

LogicalResult Interpreter::run(func::FuncOp func,
                               const std::vector<float> &input,
                               std::vector<float> &output) {
  Block &body = func.getBody().front();
  Tensor x;
  x.shape = shapeOf(body.getArgument(0));
  if (int64_t(input.size()) != numel(x.shape))
    return func.emitError("the input has ")
           << input.size() << " elements but the model takes " << numel(x.shape);
  x.data.assign(input.begin(), input.end());
  values[body.getArgument(0)] = std::move(x);

  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      const Tensor &result = get(ret.getOperand(0));
      output.assign(result.data.begin(), result.data.end());
      return success();
    }
    if (failed(eval(&op)))
      return failure();
    // Free what no later op reads, so large models fit in memory.
    for (Value operand : op.getOperands())
      if (llvm::all_of(operand.getUsers(), [&](Operation *user) {
            return user == &op || user->isBeforeInBlock(&op);
          }))
        values.erase(operand);
  }
  return func.emitError("the model function has no return");
}

} // namespace

LogicalResult kiln::interpret(func::FuncOp func, const ModelParams &specs,
                              const std::vector<const float *> &params,
                              const std::vector<float> &input,
                              std::vector<float> &output) {
  return Interpreter(specs, params).run(func, input, output);
}
