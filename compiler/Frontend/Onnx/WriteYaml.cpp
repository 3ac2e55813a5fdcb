//===- WriteYaml.cpp - an imported model as a kiln model spec -------------===//
//
// This file implements writeModelSpec (`kiln import`). The algorithm:
//   1. Every op is placed in the module it belongs to: a module call (an op
//      with `kiln.layer`) in the parent of its path, under the last
//      component as its name; a function in the module whose forward called
//      it (the scope of its ONNX node, `/layer1/layer1.0/Add` → layer1.0).
//      Modules become nested layer groups, in program order.
//   2. A layer takes the previous layer's result unless it says otherwise;
//      other tensors are referenced by name (`as: tN` where the layer has no
//      usable name). A reference reaches a layer of the same group or an
//      enclosing one, or the output of a child group; anything else cannot
//      be written in the format and is an error.
//   3. A group whose layers only read its own values and its one input can
//      be a block. Runs of sibling groups numbered n, n+1, ... whose block
//      texts are identical (the same layers, fields and wiring: identical up
//      to weights) become one block called with `repeat` (a ResNet stage
//      after its first unit, MobileNetV2's inverted residuals of a stage).
//      A later group with the same text calls the same block.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Onnx/WriteYaml.h"

#include "dialects/Kiln/IR/KilnDialect.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <memory>
#include <set>

using namespace mlir;
using namespace kiln;

namespace {

/// The parent module of an ONNX node from its location's scoped name
/// ("node '/layer1/layer1.0/Add' (Add)" → "layer1.0"); empty if none.
std::string scopeOf(Operation *op) {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (!name)
    return "";
  StringRef text = name.getName().getValue();
  if (!text.consume_front("node '"))
    return "";
  return modulePathOf(text.take_front(text.rfind("' (")));
}

/// A module path with every component made a valid layer name (letters,
/// digits, '_'): RegNet's `block1-0` becomes `block1_0`.
std::string sanitizePath(StringRef path) {
  std::string out = path.str();
  for (char &ch : out)
    if (!llvm::isAlnum(ch) && ch != '_' && ch != '.')
      ch = '_';
  return out;
}

std::string parentOf(StringRef path) {
  size_t dot = path.rfind('.');
  return dot == StringRef::npos ? "" : path.take_front(dot).str();
}

std::string lastOf(StringRef path) {
  size_t dot = path.rfind('.');
  return dot == StringRef::npos ? path.str() : path.drop_front(dot + 1).str();
}

bool isIdentifier(StringRef s) {
  return !s.empty() && (llvm::isAlpha(s[0]) || s[0] == '_') &&
         llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

bool isModuleName(StringRef s) {
  return !s.empty() &&
         llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// A YAML scalar for a layer name ("0" is quoted so it stays a string).
std::string quoteName(StringRef s) {
  return isIdentifier(s) ? s.str() : "\"" + s.str() + "\"";
}

std::string pairText(ArrayRef<int64_t> v) {
  if (v.size() == 2 && v[0] == v[1])
    return std::to_string(v[0]);
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string listText(ArrayRef<int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string floatText(double v) {
  std::string s = llvm::formatv("{0}", llvm::format("%.9g", v)).str();
  if (s.find_first_of(".eEn") == std::string::npos)
    s += ".0";
  return s;
}

struct Group;

/// A layer of a group: an op, or a child group.
struct Item {
  Operation *op = nullptr;
  std::unique_ptr<Group> group;
};

struct Group {
  std::string name, path;
  Group *parent = nullptr;
  std::vector<Item> items;
  size_t indexInParent = 0;
};

bool isPrefix(StringRef prefix, StringRef path) {
  return prefix.empty() || path == prefix ||
         path.starts_with((prefix + ".").str());
}

class Writer {
public:
  Writer(func::FuncOp func, const ImportedWeights &weights, ModelSpecText &out)
      : func(func), weights(weights), out(out) {}
  LogicalResult run(StringRef header);

private:
  func::FuncOp func;
  const ImportedWeights &weights;
  ModelSpecText &out;
  Group root;
  int64_t batch = 1;

  /// Where each op result is defined: its group and item index.
  DenseMap<Operation *, std::pair<Group *, size_t>> where;
  std::string error;

  LogicalResult build();

  //===--- Writing ----------------------------------------------------------===//

  /// The state of one writing pass over a group tree: inline (the model's
  /// body) or as a block body (references to |entry| are the block input).
  struct Pass {
    bool block = false;
    Group *top = nullptr;
    Value entry;
    /// Names given to items that are referenced: (group, item) → name.
    std::map<std::pair<Group *, size_t>, std::string> aliases;
    int next = 0;
    bool failed = false;
    std::string why;
  };

  /// The name item |index| of |g| has in the spec ("" for a function).
  std::string itemName(Group *g, size_t index) const;
  /// The `as:` field of item |index| of |g|, if it needs one.
  std::optional<std::string> asField(
      const std::map<std::pair<Group *, size_t>, std::string> &aliases, Group *g,
      size_t index) const;
  std::string ref(Pass &p, Value v, Group *at);
  std::string aliasOf(Pass &p, Group *g, size_t index);
  std::string opLayer(Pass &p, Group *g, size_t index, Value &running);
  void writeGroup(Pass &p, Group *g, Value &running, int indent,
                  std::string &text);
  void writeItems(Pass &p, Group *g, Value &running, int indent,
                  std::string &text);
  /// The group's text as a block body, or empty if it reads values other
  /// than its input.
  std::string blockBody(Group *g, Value &entry);
  Value firstExternal(Group *g);
  Value outputOf(Group *g);

  /// Block definitions by body text, in order of definition.
  std::map<std::string, std::string> blockByText;
  std::vector<std::pair<std::string, std::string>> blocks; // name, text
  std::vector<size_t> blockParams; // how many width parameters each has
  std::set<std::string> blockNames;

  void addWeights(Operation *op, StringRef path);

  /// Constant operands of arithmetic (an initializer multiplied in) are
  /// written as `buffer` layers of the group that reads them, just before
  /// the reader, under these names.
  DenseMap<Operation *, std::string> bufferNames;
  void placeBuffers(Operation &op, Group *g);
};

/// Whether |op| reads constant tensors as operands (written as `buffer`
/// layers), rather than owning weights as a module does.
static bool readsBuffers(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp>(op);
}

void Writer::placeBuffers(Operation &op, Group *g) {
  if (!readsBuffers(&op))
    return;
  for (Value v : op.getOperands()) {
    auto param = v.getDefiningOp<ParamOp>();
    if (!param || where.count(param))
      continue;
    // The last component of its name, unique in the group.
    std::string base = sanitizePath(lastOf(param.getName()));
    if (!isModuleName(base) || llvm::isDigit(base[0]))
      base = "constant";
    std::string name = base;
    auto taken = [&](StringRef n) {
      return llvm::any_of(g->items, [&](const Item &item) {
        if (item.group)
          return item.group->name == n;
        auto it = bufferNames.find(item.op);
        if (it != bufferNames.end())
          return it->second == n;
        auto layer = item.op->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName());
        return layer && sanitizePath(lastOf(layer.getPath())) == n;
      });
    };
    for (int k = 1; taken(name); ++k)
      name = base + "_" + std::to_string(k);
    bufferNames[param] = name;
    where[param] = {g, g->items.size()};
    g->items.push_back({param, nullptr});
  }
}

LogicalResult Writer::build() {
  Block &body = func.getBody().front();
  auto arg = cast<RankedTensorType>(body.getArgument(0).getType());
  batch = arg.getDimSize(0);
  // Module paths of module calls: a function whose scope is one of them
  // (a crop after a convolution) belongs to the parent.
  std::set<std::string> layerPaths;
  for (Operation &op : body)
    if (auto layer = op.getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName()))
      layerPaths.insert(layer.getPath().str());
  Group *cur = &root;
  std::set<std::string> closed;
  for (Operation &op : body) {
    if (isa<ParamOp, func::ReturnOp>(op))
      continue;
    std::string groupPath;
    if (auto layer = op.getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName())) {
      groupPath = parentOf(layer.getPath());
    } else {
      groupPath = scopeOf(&op);
      while (layerPaths.count(groupPath))
        groupPath = parentOf(groupPath);
    }
    groupPath = sanitizePath(groupPath);
    while (!isPrefix(cur->path, groupPath)) {
      closed.insert(cur->path);
      cur = cur->parent;
    }
    while (cur->path != groupPath) {
      StringRef rest = StringRef(groupPath).drop_front(
          cur->path.empty() ? 0 : cur->path.size() + 1);
      std::string name = rest.take_front(rest.find('.')).str();
      std::string path = cur->path.empty() ? name : cur->path + "." + name;
      if (closed.count(path) || !isModuleName(name)) {
        op.emitError("kiln import: the layers of module '")
            << path << "' are not consecutive in the graph; the model format "
            << "writes a module's layers together";
        return failure();
      }
      auto g = std::make_unique<Group>();
      g->name = name;
      g->path = path;
      g->parent = cur;
      g->indexInParent = cur->items.size();
      Group *raw = g.get();
      cur->items.push_back({nullptr, std::move(g)});
      cur = raw;
    }
    placeBuffers(op, cur);
    where[&op] = {cur, cur->items.size()};
    cur->items.push_back({&op, nullptr});
  }
  return success();
}

Value Writer::outputOf(Group *g) {
  if (g->items.empty())
    return nullptr;
  Item &last = g->items.back();
  return last.op ? (last.op->getNumResults() == 1 ? last.op->getResult(0)
                                                  : Value())
                 : outputOf(last.group.get());
}

std::string Writer::itemName(Group *g, size_t index) const {
  const Item &item = g->items[index];
  if (item.group)
    return item.group->name;
  if (auto it = bufferNames.find(item.op); it != bufferNames.end())
    return it->second;
  if (auto layer =
          item.op->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName()))
    return sanitizePath(lastOf(layer.getPath()));
  return "";
}

std::string Writer::aliasOf(Pass &p, Group *g, size_t index) {
  auto key = std::make_pair(g, index);
  auto it = p.aliases.find(key);
  if (it != p.aliases.end())
    return it->second;
  // A layer is referred to by its own name where that is an identifier no
  // other layer of its group has (a ResNet block calls `relu` twice).
  std::string name = itemName(g, index);
  if (isIdentifier(name)) {
    int same = 0;
    for (size_t i = 0; i < g->items.size(); ++i)
      same += itemName(g, i) == name;
    if (same == 1)
      return p.aliases[key] = name;
  }
  return p.aliases[key] = "t" + std::to_string(p.next++);
}

std::optional<std::string> Writer::asField(
    const std::map<std::pair<Group *, size_t>, std::string> &aliases, Group *g,
    size_t index) const {
  auto it = aliases.find({g, index});
  if (it == aliases.end() || it->second == itemName(g, index))
    return std::nullopt;
  return "as: " + it->second;
}

/// A block body with its widths made parameters: every number after
/// `out_channels: `, `out_features: ` or `groups: ` becomes `$c1`, `$c2`, ...
/// (one parameter per distinct value, in order of appearance), so that the
/// units of several stages (a ResNet's bottlenecks, MobileNetV2's inverted
/// residuals), identical but for their widths, share one block. |args| gets
/// the values.
static std::string abstractWidths(StringRef body, std::vector<int64_t> &args) {
  std::string out;
  size_t i = 0;
  while (i < body.size()) {
    size_t best = StringRef::npos, keyEnd = 0;
    for (StringRef key : {"out_channels: ", "out_features: ", "groups: "}) {
      size_t at = body.find(key, i);
      if (at < best) {
        best = at;
        keyEnd = at + key.size();
      }
    }
    if (best == StringRef::npos) {
      out += body.drop_front(i).str();
      break;
    }
    size_t end = keyEnd;
    while (end < body.size() && llvm::isDigit(body[end]))
      ++end;
    out += body.slice(i, keyEnd).str();
    int64_t value;
    if (end == keyEnd || body.slice(keyEnd, end).getAsInteger(10, value)) {
      i = keyEnd;
      continue;
    }
    auto it = llvm::find(args, value);
    size_t index = it - args.begin();
    if (it == args.end())
      args.push_back(value);
    out += "$c" + std::to_string(index + 1);
    i = end;
  }
  return out;
}

/// Whether |g| is |at| or encloses it.
static bool encloses(Group *g, Group *at) {
  for (Group *x = at; x; x = x->parent)
    if (x == g)
      return true;
  return false;
}

std::string Writer::ref(Pass &p, Value v, Group *at) {
  if (p.block && v == p.entry)
    return "x";
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (p.block) {
      p.failed = true;
      return "?";
    }
    return "x";
  }
  Operation *def = v.getDefiningOp();
  auto [g, index] = where.lookup(def);
  std::string suffix;
  if (def->getNumResults() > 1)
    suffix = "[" + std::to_string(cast<OpResult>(v).getResultNumber()) + "]";
  // Up through the groups whose output it is, to one |at| can see.
  while (g && !encloses(g, at)) {
    if (index + 1 != g->items.size() || !suffix.empty() || !g->parent) {
      p.failed = true;
      p.why = "a value inside module '" + g->path + "' is read outside it";
      return "?";
    }
    index = g->indexInParent;
    g = g->parent;
  }
  if (!g || (p.block && !encloses(p.top, g))) {
    p.failed = true;
    return "?";
  }
  // A reference with an index is quoted: `[` opens a list in YAML.
  return suffix.empty() ? aliasOf(p, g, index)
                        : "\"" + aliasOf(p, g, index) + suffix + "\"";
}

void Writer::addWeights(Operation *op, StringRef path) {
  for (Value operand : op->getOperands()) {
    auto param = operand.getDefiningOp<ParamOp>();
    if (!param)
      continue;
    std::string name = (path + "." + lastOf(param.getName())).str();
    if (llvm::any_of(out.tensors, [&](auto &t) { return t.first == name; }))
      continue;
    auto it = weights.find(param.getName());
    if (it == weights.end())
      continue;
    out.tensors.push_back({name, &it->second});
    ArrayRef<int64_t> shape = param.getType().getShape();
    out.shapes.emplace_back(shape.begin(), shape.end());
  }
}

std::string Writer::opLayer(Pass &p, Group *g, size_t index, Value &running) {
  Operation *op = g->items[index].op;
  std::vector<std::string> fields;
  if (auto param = dyn_cast<ParamOp>(op)) {
    // A buffer layer: bound to its name; the running value goes on.
    std::string name = bufferNames.lookup(op);
    std::string path = g->path.empty() ? name : g->path + "." + name;
    auto it = weights.find(param.getName());
    if (!p.block && it != weights.end() &&
        llvm::none_of(out.tensors, [&](auto &t) { return t.first == path; })) {
      out.tensors.push_back({path, &it->second});
      ArrayRef<int64_t> shape = param.getType().getShape();
      out.shapes.emplace_back(shape.begin(), shape.end());
    }
    std::vector<std::string> head = {"name: " + quoteName(name)};
    if (auto as = asField(p.aliases, g, index))
      head.push_back(*as);
    head.push_back(std::string("op: ") +
                   (param.getRole() == ParamRole::buffer ? "buffer" : "parameter"));
    head.push_back("shape: " + listText(param.getType().getShape()));
    return "{" + llvm::join(head, ", ") + "}";
  }
  auto layer = op->getAttrOfType<LayerAttr>(KilnDialect::getLayerAttrName());
  bool hasParams = !readsBuffers(op) && llvm::any_of(op->getOperands(), [](Value v) {
    return v.getDefiningOp<ParamOp>() != nullptr;
  });
  std::string name;
  if (layer) {
    name = sanitizePath(lastOf(layer.getPath()));
  } else if (hasParams) {
    // A layer with weights needs a name: the one its weights have.
    for (Value v : op->getOperands())
      if (auto param = v.getDefiningOp<ParamOp>()) {
        name = sanitizePath(lastOf(parentOf(param.getName())));
        break;
      }
  }
  if (!name.empty())
    fields.push_back("name: " + quoteName(name));
  std::string path = g->path.empty() ? name : g->path + "." + name;
  if (hasParams && !p.block)
    addWeights(op, path);

  auto f = [&](StringRef key, const std::string &value) {
    fields.push_back((key + ": " + value).str());
  };
  std::string opName = op->getName().getStringRef().drop_front(5).str();
  // Inputs: the running value is implicit.
  SmallVector<Value> acts;
  for (Value v : op->getOperands())
    if (!v.getDefiningOp<ParamOp>() || readsBuffers(op))
      acts.push_back(v);
  std::string inputField;
  if (isa<AddOp, MulOp, SubOp, DivOp, ConcatOp>(op)) {
    std::vector<std::string> refs;
    for (Value v : acts)
      refs.push_back(ref(p, v, g));
    inputField = "inputs: [" + llvm::join(refs, ", ") + "]";
  } else if (!acts.empty() && acts[0] != running) {
    inputField = "input: " + ref(p, acts[0], g);
  }
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](Conv2dOp c) {
        auto w = cast<RankedTensorType>(c.getWeight().getType()).getShape();
        f("out_channels", std::to_string(w[0]));
        f("kernel_size", pairText(w.drop_front(2)));
        if (c.getStride() != ArrayRef<int64_t>{1, 1})
          f("stride", pairText(c.getStride()));
        if (c.getPadding() != ArrayRef<int64_t>{0, 0})
          f("padding", pairText(c.getPadding()));
        if (c.getDilation() != ArrayRef<int64_t>{1, 1})
          f("dilation", pairText(c.getDilation()));
        if (c.getGroups() != 1)
          f("groups", std::to_string(c.getGroups()));
        if (!c.getBias())
          f("bias", "false");
      })
      .Case([&](BatchNormOp b) {
        double eps = b.getEpsilon().convertToDouble();
        if (std::abs(eps - 1e-5) > 1e-12)
          f("eps", floatText(eps));
      })
      .Case([&](LinearOp l) {
        f("out_features", std::to_string(
                              cast<RankedTensorType>(l.getWeight().getType())
                                  .getDimSize(0)));
        if (!l.getBias())
          f("bias", "false");
      })
      .Case([&](DropoutOp d) { f("p", floatText(d.getP().convertToDouble())); })
      .Case([&](LeakyReluOp l) {
        f("negative_slope", floatText(l.getAlpha().convertToDouble()));
      })
      .Case([&](EluOp e) { f("alpha", floatText(e.getAlpha().convertToDouble())); })
      .Case([&](ClampOp c) {
        if (c.getMinAttr())
          f("min", floatText(c.getMinAttr().getValueAsDouble()));
        if (c.getMaxAttr())
          f("max", floatText(c.getMaxAttr().getValueAsDouble()));
      })
      .Case([&](SoftmaxOp s) { f("dim", std::to_string(s.getDim())); })
      .Case([&](UpsampleNearestOp u) { f("scale_factor", pairText(u.getScale())); })
      .Case([&](PadOp pad) {
        ArrayRef<int64_t> p = pad.getPads(); // top, left, bottom, right
        f("pad", listText({p[1], p[3], p[0], p[2]}));
        if (pad.getValue().convertToDouble() != 0)
          f("value", floatText(pad.getValue().convertToDouble()));
      })
      .Case([&](MaxPool2dOp m) {
        f("kernel_size", pairText(m.getKernel()));
        if (m.getStride() != m.getKernel())
          f("stride", pairText(m.getStride()));
        if (m.getPadding() != ArrayRef<int64_t>{0, 0})
          f("padding", pairText(m.getPadding()));
        if (m.getDilation() != ArrayRef<int64_t>{1, 1})
          f("dilation", pairText(m.getDilation()));
        if (m.getCeilMode())
          f("ceil_mode", "true");
      })
      .Case([&](AvgPool2dOp a) {
        f("kernel_size", pairText(a.getKernel()));
        if (a.getStride() != a.getKernel())
          f("stride", pairText(a.getStride()));
        if (a.getPadding() != ArrayRef<int64_t>{0, 0})
          f("padding", pairText(a.getPadding()));
        if (a.getCeilMode())
          f("ceil_mode", "true");
        if (a.getExcludePad())
          f("count_include_pad", "false");
      })
      .Case([&](AdaptiveAvgPool2dOp a) {
        f("output_size", pairText(a.getOutputSize()));
      })
      .Case([&](MeanOp m) {
        f("dim", listText(m.getDims()));
        if (m.getKeepdim())
          f("keepdim", "true");
      })
      .Case([&](FlattenOp fl) {
        int64_t rank = cast<RankedTensorType>(fl.getInput().getType()).getRank();
        if (fl.getStartDim() != 1)
          f("start_dim", std::to_string(fl.getStartDim()));
        if (int64_t(fl.getEndDim()) != rank - 1)
          f("end_dim", std::to_string(fl.getEndDim()));
      })
      .Case([&](ReshapeOp r) {
        std::vector<std::string> dims;
        auto in = cast<RankedTensorType>(r.getInput().getType());
        for (auto [i, d] : llvm::enumerate(r.getShape()))
          dims.push_back(i == 0 && d == batch && in.getDimSize(0) == batch
                             ? "$batch"
                             : std::to_string(d));
        f("shape", "[" + llvm::join(dims, ", ") + "]");
      })
      .Case([&](TransposeOp t) {
        f("dim0", std::to_string(t.getDims()[0]));
        f("dim1", std::to_string(t.getDims()[1]));
      })
      .Case([&](ConcatOp c) { f("dim", std::to_string(c.getDim())); })
      .Case([&](SliceOp s) {
        f("dim", std::to_string(s.getDim()));
        f("start", std::to_string(s.getStart()));
        f("end", std::to_string(s.getEnd()));
        if (s.getStep() != 1)
          f("step", std::to_string(s.getStep()));
      })
      .Case([&](SplitOp s) {
        f("split_size", listText(s.getSizes()));
        f("dim", std::to_string(s.getDim()));
      })
      .Case([&](ChunkOp s) {
        f("chunks", std::to_string(s.getChunks()));
        f("dim", std::to_string(s.getDim()));
      })
      .Case([&](ChannelShuffleOp s) {
        f("groups", std::to_string(s.getGroups()));
      });
  std::string text = "{";
  std::vector<std::string> head;
  if (!fields.empty() && StringRef(fields[0]).starts_with("name:")) {
    head.push_back(fields[0]);
    fields.erase(fields.begin());
  }
  if (auto as = asField(p.aliases, g, index))
    head.push_back(*as);
  head.push_back("op: " + opName);
  if (!inputField.empty())
    head.push_back(inputField);
  llvm::append_range(head, fields);
  text += llvm::join(head, ", ") + "}";
  running = op->getNumResults() == 1 ? op->getResult(0) : Value();
  return text;
}

Value Writer::firstExternal(Group *g) {
  for (Item &item : g->items) {
    if (item.group) {
      if (Value v = firstExternal(item.group.get()))
        return v;
      continue;
    }
    for (Value v : item.op->getOperands()) {
      if (v.getDefiningOp<ParamOp>())
        continue;
      Operation *def = v.getDefiningOp();
      if (!def || !encloses(g, where.lookup(def).first))
        return v;
    }
  }
  return nullptr;
}

std::string Writer::blockBody(Group *g, Value &entry) {
  entry = firstExternal(g);
  if (!entry)
    return "";
  // Two passes: the first finds which values need names.
  Pass first;
  first.block = true;
  first.top = g;
  first.entry = entry;
  Value running = entry;
  std::string text;
  writeItems(first, g, running, 6, text);
  if (first.failed)
    return "";
  Pass second = first;
  second.next = first.next;
  running = entry;
  text.clear();
  writeItems(second, g, running, 6, text);
  return second.failed ? "" : text;
}

void Writer::writeGroup(Pass &p, Group *g, Value &running, int indent,
                        std::string &text) {
  std::string pad(indent, ' ');
  text += pad + "- name: " + quoteName(g->name) + "\n";
  if (auto as = asField(p.aliases, g->parent, g->indexInParent))
    text += pad + "  " + *as + "\n";
  // The group starts from the running value; if its first layer reads
  // another tensor, that layer says so.
  text += pad + "  layers:\n";
  writeItems(p, g, running, indent + 4, text);
  running = outputOf(g);
}

void Writer::writeItems(Pass &p, Group *g, Value &running, int indent,
                        std::string &text) {
  std::string pad(indent, ' ');
  for (size_t i = 0; i < g->items.size(); ++i) {
    Item &item = g->items[i];
    if (item.op) {
      text += pad + "- " + opLayer(p, g, i, running) + "\n";
      continue;
    }
    // A run of identical numbered groups: one block, called with repeat.
    Group *child = item.group.get();
    int64_t number;
    if (!p.block && !StringRef(child->name).getAsInteger(10, number)) {
      Value entry;
      std::string body = blockBody(child, entry);
      size_t end = i + 1;
      if (!body.empty()) {
        while (end < g->items.size() && g->items[end].group) {
          Group *next = g->items[end].group.get();
          int64_t n;
          Value e;
          if (StringRef(next->name).getAsInteger(10, n) ||
              n != number + int64_t(end - i) || blockBody(next, e) != body)
            break;
          ++end;
        }
      }
      std::vector<int64_t> args;
      std::string abstract = abstractWidths(body, args);
      bool known = !body.empty() && blockByText.count(abstract);
      if (!body.empty() && (end - i >= 2 || known)) {
        // Blocks are named in the first pass, which sees every run, so the
        // second also calls them from single units before their first run.
        std::string &blockName = blockByText[abstract];
        if (blockName.empty()) {
          std::string base = child->path;
          for (char &ch : base)
            if (ch == '.')
              ch = '_';
          blockName = "Block_" + base;
        }
        if (blockNames.insert(blockName).second) {
          blocks.push_back({blockName, abstract});
          blockParams.push_back(args.size());
        }
        std::vector<std::string> head;
        auto alias = p.aliases.find({g, end - 1});
        if (alias != p.aliases.end())
          head.push_back("as: " + alias->second);
        if (end - i >= 2) {
          head.insert(head.begin(), "from: " + std::to_string(number));
          head.push_back("repeat: " + std::to_string(end - i));
        } else {
          head.insert(head.begin(), "name: " + quoteName(child->name));
        }
        head.push_back("block: " + blockName);
        if (!args.empty()) {
          std::vector<std::string> named;
          for (size_t k = 0; k < args.size(); ++k)
            named.push_back("c" + std::to_string(k + 1) + ": " +
                            std::to_string(args[k]));
          head.push_back("args: {" + llvm::join(named, ", ") + "}");
        }
        if (entry != running)
          head.push_back("input: " + ref(p, entry, g));
        text += pad + "- {" + llvm::join(head, ", ") + "}\n";
        // The weights, and the running value, as if written inline.
        for (size_t k = i; k < end; ++k) {
          Pass silent;
          silent.aliases = p.aliases;
          Value r = running;
          std::string ignored;
          writeGroup(silent, g->items[k].group.get(), r, 0, ignored);
          running = r;
        }
        // An alias on a run names its last instance.
        if (alias != p.aliases.end() && end - 1 != i)
          p.aliases[{g, i}] = alias->second;
        i = end - 1;
        continue;
      }
    }
    writeGroup(p, child, running, indent, text);
  }
}

LogicalResult Writer::run(StringRef header) {
  if (failed(build()))
    return failure();
  // First pass: which values need names; second: the text.
  Pass first;
  Value running = func.getBody().front().getArgument(0);
  std::string ignored;
  writeItems(first, &root, running, 2, ignored);
  if (first.failed) {
    func.emitError("kiln import: cannot write this model in the model "
                   "format: ")
        << (first.why.empty() ? "a value is read where the format cannot "
                                "name it"
                              : first.why);
    return failure();
  }
  Value result = func.getBody().front().getTerminator()->getOperand(0);
  bool outputIsLast = result == running;
  std::string outputRef;
  if (!outputIsLast)
    outputRef = ref(first, result, &root);
  out.tensors.clear();
  out.shapes.clear();
  blocks.clear();
  blockParams.clear();
  blockNames.clear();
  Pass second;
  second.aliases = first.aliases;
  second.next = first.next;
  running = func.getBody().front().getArgument(0);
  std::string layers;
  writeItems(second, &root, running, 2, layers);

  auto arg = cast<RankedTensorType>(func.getArgument(0).getType());
  std::string model =
      func->getAttrOfType<StringAttr>(KilnDialect::getModelAttrName()).str();
  std::string &y = out.yaml;
  y = header.str();
  y += "model: " + model + "\n";
  y += "input: {name: x, shape: " + listText(arg.getShape()) + "}\n";
  if (!blocks.empty()) {
    y += "blocks:\n";
    for (auto [index, block] : llvm::enumerate(blocks)) {
      auto &[name, body] = block;
      size_t params = blockParams[index];
      y += params ? "  # One unit, called with its widths (c1, ...) as arguments.\n"
                  : "  # One unit, identical up to weights wherever it is called.\n";
      y += "  " + name + ":\n";
      if (params) {
        std::vector<std::string> names;
        for (size_t k = 0; k < params; ++k)
          names.push_back("c" + std::to_string(k + 1) + ": ~");
        y += "    params: {" + llvm::join(names, ", ") + "}\n";
      }
      y += "    input: x\n    layers:\n" + body;
    }
  }
  y += "layers:\n" + layers;
  if (!outputIsLast)
    y += "output: " + outputRef + "\n";
  return success();
}

} // namespace

LogicalResult kiln::writeModelSpec(func::FuncOp func,
                                   const ImportedWeights &weights,
                                   StringRef header, ModelSpecText &out) {
  return Writer(func, weights, out).run(header);
}
