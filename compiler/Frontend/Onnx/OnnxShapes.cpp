//===- OnnxShapes.cpp - ONNX shape ops to kiln ops --------------------------===//
//
// This file implements the converters of the ONNX ops that move data:
// Concat, Split, Slice, Reshape (the Reshape-Transpose-Reshape idiom is a
// channel shuffle), Flatten, Transpose (as swaps of two dimensions),
// Squeeze / Unsqueeze (reshapes) and Shape (a constant: shapes are static).
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/OnnxConverters.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace kiln;

namespace kiln::onnx {
//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

LogicalResult convertConcat(NodeContext &c) {
  if (failed(c.expectAttributes({"axis"})))
    return failure();
  auto axis = c.getInt("axis", 0);
  if (failed(axis))
    return failure();
  SmallVector<Value> operands;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto v = c.activation(i, "#" + std::to_string(i));
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (operands.empty()) {
    c.error() << "needs at least one input";
    return failure();
  }
  auto dim = resolveAxis(c, *axis, c.typeOf(operands[0]).getRank());
  if (failed(dim))
    return failure();
  return produce(c, c.create<ConcatOp>(operands, {c.i64("dim", *dim)}), false);
}

LogicalResult convertSplit(NodeContext &c) {
  if (failed(c.expectAttributes({"axis", "split", "num_outputs"})))
    return failure();
  auto x = c.activation(0, "input");
  auto axis = c.getInt("axis", 0);
  auto split = c.getInts("split", {});
  if (failed(x) || failed(axis) || failed(split))
    return failure();
  auto dim = resolveAxis(c, *axis, c.typeOf(*x).getRank());
  if (failed(dim))
    return failure();
  auto splitOrInput = intsInputOr(c, 1, "split", *split);
  if (failed(splitOrInput))
    return failure();
  std::vector<int64_t> sizes = *splitOrInput;
  int64_t size = c.typeOf(*x).getDimSize(*dim);
  size_t pieces = c.node.outputs.size();
  if (sizes.empty()) {
    if (pieces == 0 || size % int64_t(pieces) != 0) {
      c.error() << "cannot split " << size << " into " << pieces
                << " equal pieces";
      return failure();
    }
    sizes.assign(pieces, size / int64_t(pieces));
  }
  if (failed(checkRange(c, sizes, 0, size, "split sizes")))
    return failure();
  if (sizes.size() != pieces) {
    c.error() << "splits into " << sizes.size() << " pieces but has "
              << pieces << " outputs";
    return failure();
  }
  auto op = c.create<SplitOp>({*x}, {c.i64("dim", *dim), c.array("sizes", sizes)});
  if (!op)
    return failure();
  for (Value r : op.getResults())
    c.outputs.push_back({r, nullptr});
  return success();
}

LogicalResult convertSlice(NodeContext &c) {
  auto x = c.activation(0, "data");
  if (failed(x))
    return failure();
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.importer.model.opset < 10) {
    if (failed(c.expectAttributes({"starts", "ends", "axes"})))
      return failure();
    auto s = c.getInts("starts", {}), e = c.getInts("ends", {}),
         a = c.getInts("axes", {});
    if (failed(s) || failed(e) || failed(a))
      return failure();
    starts = *s, ends = *e, axes = *a;
  } else {
    if (failed(c.expectAttributes({})))
      return failure();
    const char *names[] = {"starts", "ends", "axes", "steps"};
    std::vector<int64_t> *lists[] = {&starts, &ends, &axes, &steps};
    for (int i = 0; i < 4; ++i) {
      if (!c.hasInput(1 + i))
        continue;
      auto k = c.constant(1 + i, names[i]);
      if (failed(k))
        return failure();
      auto ints = intsOf(c, **k, names[i]);
      if (failed(ints))
        return failure();
      *lists[i] = *ints;
    }
  }
  int64_t rank = c.typeOf(*x).getRank();
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    c.error() << "starts, ends, axes and steps differ in length";
    return failure();
  }
  Value v = *x;
  for (size_t i = 0; i < starts.size(); ++i) {
    auto dim = resolveAxis(c, axes[i], rank);
    if (failed(dim))
      return failure();
    if (steps[i] < 1) {
      c.error() << "step " << steps[i] << " is not supported (kiln slices "
                << "forward)";
      return failure();
    }
    int64_t size = c.typeOf(v).getDimSize(*dim);
    // A step past the dimension takes only the first element.
    steps[i] = std::min(steps[i], size);
    auto clampIndex = [&](int64_t idx) {
      if (idx < 0)
        idx += size;
      return std::clamp<int64_t>(idx, 0, size);
    };
    int64_t start = clampIndex(starts[i]), end = clampIndex(ends[i]);
    if (start == 0 && end == size && steps[i] == 1)
      continue;
    auto slice = c.create<SliceOp>(
        {v}, {c.i64("dim", *dim), c.i64("start", start), c.i64("end", end),
              c.i64("step", steps[i])});
    if (!slice)
      return failure();
    v = slice.getResult();
  }
  c.outputs.push_back({v, nullptr});
  return success();
}

/// If |input| is `transpose(reshape(x))` that splits x's channels into
/// [g, C/g] and swaps them, and |shape| is x's shape, the group count g.
static std::optional<int64_t> channelShuffleGroups(Value input,
                                            ArrayRef<int64_t> shape) {
  auto transpose = input.getDefiningOp<TransposeOp>();
  if (!transpose || transpose.getDims() != ArrayRef<int64_t>{1, 2})
    return std::nullopt;
  auto reshape = transpose.getInput().getDefiningOp<ReshapeOp>();
  if (!reshape)
    return std::nullopt;
  auto x = cast<RankedTensorType>(reshape.getInput().getType()).getShape();
  auto split = cast<RankedTensorType>(reshape.getType()).getShape();
  if (x.size() != 4 || split.size() != 5 || shape != x || split[0] != x[0] ||
      split[1] * split[2] != x[1] || split[3] != x[2] || split[4] != x[3])
    return std::nullopt;
  return split[1];
}

LogicalResult convertReshape(NodeContext &c) {
  if (failed(c.expectAttributes({"allowzero"})))
    return failure();
  auto x = c.activation(0, "data");
  auto k = c.constant(1, "shape");
  auto allowZero = c.getInt("allowzero", 0);
  if (failed(x) || failed(k) || failed(allowZero))
    return failure();
  auto target = intsOf(c, **k, "shape");
  if (failed(target))
    return failure();
  ArrayRef<int64_t> in = c.typeOf(*x).getShape();
  auto resolved = resolveReshape(c, in, *target, *allowZero,
                                 c.typeOf(*x).getNumElements());
  if (failed(resolved))
    return failure();
  SmallVector<int64_t> shape(resolved->begin(), resolved->end());
  if (auto groups = channelShuffleGroups(*x, shape)) {
    Value original = x->getDefiningOp<TransposeOp>()
                         .getInput()
                         .getDefiningOp<ReshapeOp>()
                         .getInput();
    return produce(c, c.create<ChannelShuffleOp>({original},
                                                 {c.i64("groups", *groups)}),
                   false);
  }
  return produce(c, c.create<ReshapeOp>({*x}, {c.array("shape", shape)}), false);
}

LogicalResult convertFlatten(NodeContext &c) {
  if (failed(c.expectAttributes({"axis"})))
    return failure();
  auto x = c.activation(0, "input");
  auto axis = c.getInt("axis", 1);
  if (failed(x) || failed(axis))
    return failure();
  ArrayRef<int64_t> shape = c.typeOf(*x).getShape();
  int64_t rank = shape.size(), a = *axis < 0 ? *axis + rank : *axis;
  if (a < 0 || a > rank) {
    c.error() << "axis " << *axis << " is out of range for rank " << rank;
    return failure();
  }
  if (a == 1 && rank >= 2)
    return produce(c, c.create<FlattenOp>({*x}, {c.i64("start_dim", 1),
                                                 c.i64("end_dim", rank - 1)}));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < a ? outer : inner) *= shape[i];
  return produce(c, c.create<ReshapeOp>({*x}, {c.array("shape", {outer, inner})}),
                 false);
}

LogicalResult convertTranspose(NodeContext &c) {
  if (failed(c.expectAttributes({"perm"})))
    return failure();
  auto x = c.activation(0, "data");
  if (failed(x))
    return failure();
  int64_t rank = c.typeOf(*x).getRank();
  std::vector<int64_t> reversed;
  for (int64_t i = rank - 1; i >= 0; --i)
    reversed.push_back(i);
  auto perm = c.getInts("perm", reversed);
  if (failed(perm))
    return failure();
  SmallVector<int64_t> sorted(perm->begin(), perm->end());
  llvm::sort(sorted);
  bool valid = int64_t(perm->size()) == rank;
  for (int64_t i = 0; valid && i < rank; ++i)
    valid = sorted[i] == i;
  if (!valid) {
    c.error() << "perm " << str(*perm) << " is not a permutation of rank "
              << rank;
    return failure();
  }
  // Output dimension i is input dimension perm[i]: swap them into place
  // one at a time (kiln.transpose swaps two dimensions).
  SmallVector<int64_t> current;
  for (int64_t i = 0; i < rank; ++i)
    current.push_back(i);
  Value v = *x;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t j = llvm::find(current, (*perm)[i]) - current.begin();
    if (j == i)
      continue;
    auto t = c.create<TransposeOp>({v}, {c.array("dims", {i, j})});
    if (!t)
      return failure();
    std::swap(current[i], current[j]);
    v = t.getResult();
  }
  c.outputs.push_back({v, nullptr});
  return success();
}

/// Squeeze and Unsqueeze of an activation: a reshape.
LogicalResult convertSqueeze(NodeContext &c) {
  if (failed(c.expectAttributes({"axes"})))
    return failure();
  auto x = c.activation(0, "data");
  auto attrAxes = c.getInts("axes", {});
  if (failed(x) || failed(attrAxes))
    return failure();
  auto axesOrInput = intsInputOr(c, 1, "axes", *attrAxes);
  if (failed(axesOrInput))
    return failure();
  std::vector<int64_t> axes = *axesOrInput;
  ArrayRef<int64_t> in = c.typeOf(*x).getShape();
  bool unsqueeze = c.node.opType == "Unsqueeze";
  int64_t rank = int64_t(in.size()) + (unsqueeze ? int64_t(axes.size()) : 0);
  std::vector<bool> marked(rank, false);
  for (int64_t a : axes) {
    auto d = resolveAxis(c, a, rank);
    if (failed(d))
      return failure();
    marked[*d] = true;
  }
  SmallVector<int64_t> shape;
  if (unsqueeze) {
    size_t next = 0;
    for (int64_t i = 0; i < rank; ++i)
      shape.push_back(marked[i] ? 1 : in[next++]);
  } else {
    for (int64_t i = 0; i < rank; ++i) {
      bool drop = axes.empty() ? in[i] == 1 : marked[i];
      if (drop && in[i] != 1) {
        c.error() << "cannot squeeze dimension " << i << " of size " << in[i];
        return failure();
      }
      if (!drop)
        shape.push_back(in[i]);
    }
  }
  return produce(c, c.create<ReshapeOp>({*x}, {c.array("shape", shape)}), false);
}

/// Shape of an activation: a constant from its static type.
LogicalResult convertShape(NodeContext &c) {
  if (failed(c.expectAttributes({"start", "end"})))
    return failure();
  auto x = c.activation(0, "data");
  auto start = c.getInt("start", 0);
  if (failed(x) || failed(start))
    return failure();
  ArrayRef<int64_t> shape = c.typeOf(*x).getShape();
  int64_t rank = shape.size();
  auto end = c.getInt("end", rank);
  if (failed(end))
    return failure();
  auto clampIndex = [&](int64_t i) {
    return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank);
  };
  int64_t s = clampIndex(*start), e = std::max(s, clampIndex(*end));
  std::vector<int64_t> dims(shape.begin() + s, shape.begin() + e);
  c.outputs.push_back(
      {nullptr, Constant::ofInts({int64_t(dims.size())}, dims)});
  return success();
}

} // namespace kiln::onnx

namespace kiln::onnx {

/// Resize (opsets 10 to 17) and Upsample in nearest mode by whole factors
/// of H and W: kiln.upsample_nearest, whose output pixel i reads input
/// pixel floor(i / s). The coordinate modes that pick that pixel for every
/// whole factor s are accepted: asymmetric with floor (what PyTorch
/// exports, and all Upsample and opset-10 Resize does), half_pixel and
/// pytorch_half_pixel with either rounding, tf_half_pixel_for_nn with
/// floor, and asymmetric with round_prefer_floor for factors up to 2.
LogicalResult convertResize(NodeContext &c) {
  bool upsample = c.node.opType == "Upsample";
  if (failed(c.expectAttributes(
          upsample ? ArrayRef<StringRef>{"mode", "scales"}
                   : ArrayRef<StringRef>{"mode", "coordinate_transformation_mode",
                                         "nearest_mode", "cubic_coeff_a",
                                         "exclude_outside", "extrapolation_value"})))
    return failure();
  auto x = c.activation(0, "X");
  auto mode = c.getString("mode", "nearest");
  bool legacy = upsample || c.importer.model.opset < 11;
  auto transform = c.getString("coordinate_transformation_mode",
                               legacy ? "asymmetric" : "half_pixel");
  auto rounding = c.getString("nearest_mode", legacy ? "floor" : "round_prefer_floor");
  if (failed(x) || failed(mode) || failed(transform) || failed(rounding))
    return failure();
  if (*mode != "nearest") {
    c.error() << "mode '" << *mode << "' is not supported (kiln resizes in "
              << "nearest mode by whole factors)";
    return failure();
  }
  RankedTensorType type = c.typeOf(*x);
  if (type.getRank() != 4) {
    c.error() << "expects an N×C×H×W input, got " << type;
    return failure();
  }
  ArrayRef<int64_t> in = type.getShape();
  // The factors: the `scales` attribute (Upsample before opset 9), the
  // scales input (#1 for Upsample and opset-10 Resize, #2 after), or the
  // output sizes (#3).
  std::vector<double> scales;
  if (const onnx::Attribute *a = c.attr("scales")) {
    if (a->kind != onnx::Attribute::Kind::Floats) {
      c.error() << "attribute 'scales' must be a list of floats";
      return failure();
    }
    scales.assign(a->floats.begin(), a->floats.end());
  }
  size_t scalesInput = legacy ? 1 : 2;
  if (c.hasInput(scalesInput)) {
    auto k = c.constant(scalesInput, "scales");
    if (failed(k))
      return failure();
    for (int64_t i = 0; i < (*k)->numel(); ++i)
      scales.push_back((*k)->at(i));
  }
  if (scales.empty() && !legacy && c.hasInput(3)) {
    auto k = c.constant(3, "sizes");
    if (failed(k))
      return failure();
    if ((*k)->numel() == 4)
      for (int64_t i = 0; i < 4; ++i)
        scales.push_back((*k)->at(i) / double(in[i]));
  }
  if (scales.size() != 4) {
    c.error() << "needs 4 scales or sizes (N, C, H, W), got " << scales.size();
    return failure();
  }
  std::vector<int64_t> factors;
  for (double s : scales) {
    if (!(s >= 1 && s <= double(kMaxWindow)) || s != std::floor(s)) {
      c.error() << "scales [" << num(scales[0]) << ", " << num(scales[1]) << ", "
                << num(scales[2]) << ", " << num(scales[3])
                << "] are not supported (kiln upsamples H and W by whole factors)";
      return failure();
    }
    factors.push_back(int64_t(s));
  }
  if (factors[0] != 1 || factors[1] != 1) {
    c.error() << "resizing the batch or channel dimension is not supported";
    return failure();
  }
  const std::string &t = *transform, &r = *rounding;
  bool halfPixel = t == "half_pixel" || t == "pytorch_half_pixel";
  bool floorPixel =
      (t == "asymmetric" && r == "floor") ||
      (halfPixel && (r == "round_prefer_floor" || r == "round_prefer_ceil")) ||
      (t == "tf_half_pixel_for_nn" && r == "floor") ||
      (t == "asymmetric" && r == "round_prefer_floor" && factors[2] <= 2 &&
       factors[3] <= 2);
  if (!floorPixel) {
    c.error() << "coordinate_transformation_mode '" << t << "' with nearest_mode '"
              << r << "' is not supported for scales " << str(factors)
              << " (kiln's nearest upsampling reads input pixel floor(i / scale))";
    return failure();
  }
  return produce(c, c.create<UpsampleNearestOp>(
                        {*x}, {c.array("scale", {factors[2], factors[3]})}));
}

} // namespace kiln::onnx
