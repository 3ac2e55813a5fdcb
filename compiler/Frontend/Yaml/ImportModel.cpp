//===- ImportModel.cpp - model spec (YAML) to kiln IR ---------------------===//
//
// This file implements the entry point of the YAML frontend and the top level
// of a spec: reading the model file and the files it includes, the model's
// input, vars and output, and the `func.func` its layers are built into. The
// walk and the state it keeps are described in ImporterImpl.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImportModel.h"

#include "compiler/Frontend/Yaml/ImporterImpl.h"
#include "dialects/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

using namespace mlir;
using namespace kiln;

namespace kiln::frontend::importer {

OwningOpRef<ModuleOp> Importer::importModel(const Node &root) {
  if (root.isNull()) {
    mlir::emitError(FileLineColLoc::get(&context, file, 1, 1))
        << "the model file is empty; a model spec is a map with 'model', "
           "'input' and 'layers'";
    return nullptr;
  }
  if (!root.isMap()) {
    error(root) << "a model spec is a map with 'model', 'input' and "
                   "'layers', got "
                << yaml::describe(root.kind);
    return nullptr;
  }
  if (failed(checkKeys(root,
                       {"model", "description", "include", "input", "vars",
                        "blocks", "layers", "output"},
                       "the model spec")))
    return nullptr;
  for (StringRef key : {"model", "input", "layers"})
    if (!root.find(key.str())) {
      error(root) << "the model spec needs '" << key << "'";
      return nullptr;
    }

  const Node &modelNode = *root.find("model");
  if (!modelNode.isScalar() || !isIdentifier(modelNode.value)) {
    error(modelNode) << "'model' must be an identifier such as 'resnet50'";
    return nullptr;
  }

  // The input: {name, shape, dtype}.
  const Node &input = *root.find("input");
  if (failed(expectKind(input, Node::Kind::Map, "'input'")) ||
      failed(checkKeys(input, {"name", "shape", "dtype"}, "'input'")))
    return nullptr;
  std::string inputName = "x";
  if (const Node *n = input.find("name")) {
    if (!n->isScalar() || !isIdentifier(n->value)) {
      error(*n) << "the input 'name' must be an identifier";
      return nullptr;
    }
    inputName = n->value;
  }
  const Node *shapeNode = input.find("shape");
  if (!shapeNode) {
    error(input) << "'input' needs a 'shape', e.g. [1, 3, 224, 224]";
    return nullptr;
  }
  auto shapeValue = evaluateAs(*shapeNode, globals, FieldType::IntList, "shape");
  if (!shapeValue)
    return nullptr;
  SmallVector<int64_t> shape;
  for (const Value &d : shapeValue->kind == Value::Kind::List
                            ? shapeValue->list
                            : std::vector<Value>{*shapeValue}) {
    if (d.integer < 1) {
      error(*shapeNode) << "input dimensions must be positive, got "
                        << shapeValue->str();
      return nullptr;
    }
    shape.push_back(d.integer);
  }
  if (!options.inputShape.empty())
    shape.assign(options.inputShape.begin(), options.inputShape.end());
  if (options.batch > 0)
    shape[0] = options.batch;
  int64_t numel = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(numel, d, &numel) || numel > (int64_t(1) << 40)) {
      error(*shapeNode) << "the input is too large";
      return nullptr;
    }
  if (const Node *dtype = input.find("dtype")) {
    if (!dtype->isScalar() ||
        (dtype->value != "float32" && dtype->value != "f32")) {
      error(*dtype) << "unsupported input dtype '" << dtype->value
                    << "'; models take float32 input";
      return nullptr;
    }
  }

  globals.vars["batch"] = Value::ofInt(shape[0]);
  if (const Node *vars = root.find("vars"))
    if (failed(evaluateVars(*vars, globals, "'vars'")))
      return nullptr;
  if (failed(parseIncludes(root)))
    return nullptr;
  if (const Node *blocksNode = root.find("blocks"))
    if (failed(parseBlocks(*blocksNode)))
      return nullptr;

  // Build `func.func @<model>(%x) -> ...` layer by layer.
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc(root));
  builder.setInsertionPointToEnd(module->getBody());
  auto inputType = RankedTensorType::get(shape, builder.getF32Type());
  auto func = builder.create<func::FuncOp>(
      fileLoc(modelNode), modelNode.value,
      builder.getFunctionType({inputType}, {}));
  func->setAttr(KilnDialect::getModelAttrName(),
                builder.getStringAttr(modelNode.value));
  Block *entry = func.addEntryBlock();
  // Errors about the input (kiln-check-limits) point at its shape.
  entry->getArgument(0).setLoc(fileLoc(*shapeNode));
  builder.setInsertionPointToEnd(entry);

  Scope top;
  top.env = &globals;
  top.names[inputName] = {entry->getArgument(0)};
  top.current = {entry->getArgument(0)};
  if (failed(processLayers(*root.find("layers"), top)))
    return nullptr;

  Values outputs = top.current;
  const Node *outputNode = root.find("output");
  if (outputNode) {
    auto values = resolveRef(*outputNode, top);
    if (failed(values))
      return nullptr;
    outputs = *values;
  }
  if (outputs.size() != 1) {
    error(outputNode ? *outputNode : *root.find("layers"))
        << "the model output must be one tensor, got " << outputs.size();
    return nullptr;
  }
  builder.create<func::ReturnOp>(fileLoc(modelNode), outputs[0]);
  func.setFunctionType(
      builder.getFunctionType({inputType}, {outputs[0].getType()}));
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

/// The most bytes a model file (or an included one) may take: a model is
/// text of a few KB to a few hundred; anything near this is not one (or is
/// /dev/zero).
constexpr uint64_t kMaxModelFileBytes = uint64_t{16} << 20;

/// Reads |path| whole, refusing more than kMaxModelFileBytes without
/// reading further; on failure returns null and sets |error|.
static std::unique_ptr<llvm::MemoryBuffer> readModelFile(StringRef path,
                                                         std::string &error) {
  int fd;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd)) {
    error = ec.message();
    return nullptr;
  }
  auto closeFd = llvm::make_scope_exit([&] { llvm::sys::Process::SafelyCloseFileDescriptor(fd); });
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(fd, status)) {
    error = ec.message();
    return nullptr;
  }
  if (status.type() == llvm::sys::fs::file_type::directory_file) {
    error = "is a directory";
    return nullptr;
  }
  std::string text;
  char chunk[1 << 16];
  for (;;) {
    auto n = llvm::sys::fs::readNativeFile(
        llvm::sys::fs::convertFDToNativeFile(fd), llvm::MutableArrayRef(chunk));
    if (!n) {
      error = llvm::toString(n.takeError());
      return nullptr;
    }
    if (*n == 0)
      break;
    text.append(chunk, *n);
    if (text.size() > kMaxModelFileBytes) {
      error = "more than " + std::to_string(kMaxModelFileBytes) +
              " bytes, the most a model file may take";
      return nullptr;
    }
  }
  return llvm::MemoryBuffer::getMemBufferCopy(text, path);
}

const Node *Importer::load(StringRef path, std::optional<Location> at) {
  std::string why;
  std::unique_ptr<llvm::MemoryBuffer> buffer = readModelFile(path, why);
  if (!buffer) {
    // Without an include's location the message names the file itself, at
    // no location (there is no line in a file that cannot be read).
    Location loc = at.value_or(mlir::UnknownLoc::get(&context));
    mlir::emitError(loc) << "cannot read '" << path << "': " << why;
    return nullptr;
  }
  std::string text = buffer->getBuffer().str();
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  yaml::ParseResult parsed = yaml::parse(text);
  if (!parsed.root) {
    mlir::emitError(FileLineColLoc::get(&context, path,
                                        std::max(1u, parsed.error.line),
                                        std::max(1u, parsed.error.column)))
        << "invalid YAML: " << parsed.error.message;
    return nullptr;
  }
  trees.push_back(std::make_unique<Node>(std::move(*parsed.root)));
  return trees.back().get();
}

/// `include: [a.yaml, ...]` reads the blocks of other files, resolved
/// relative to the including file (a library such as models/blocks/).
LogicalResult Importer::parseIncludes(const Node &root) {
  const Node *list = root.find("include");
  if (!list)
    return success();
  if (failed(expectKind(*list, Node::Kind::Sequence, "'include'")))
    return failure();
  for (const Node &item : list->items) {
    if (!item.isScalar() || item.value.empty())
      return error(item) << "'include' lists file names";
    // Relative names are relative to the including file; absolute ones are
    // used as they are.
    SmallString<256> path;
    if (llvm::sys::path::is_absolute(item.value)) {
      path = item.value;
    } else {
      path = llvm::sys::path::parent_path(file);
      llvm::sys::path::append(path, item.value);
    }
    if (!included.insert(path).second)
      continue;
    const Node *tree = load(path, loc(item));
    if (!tree)
      return failure();
    std::string savedFile = file;
    file = path.str().str();
    auto restore = llvm::make_scope_exit([&] { file = savedFile; });
    if (!tree->isMap())
      return error(*tree) << "an included file is a map with 'blocks'";
    if (failed(checkKeys(*tree, {"description", "include", "blocks"},
                         "an included file")) ||
        failed(parseIncludes(*tree)))
      return failure();
    if (const Node *blocksNode = tree->find("blocks"))
      if (failed(parseBlocks(*blocksNode)))
        return failure();
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::run(StringRef path) {
  file = path.str();
  included.insert(path);
  const Node *root = load(path, std::nullopt);
  if (!root)
    return nullptr;
  return importModel(*root);
}

} // namespace kiln::frontend::importer

void kiln::registerFrontendDialects(MLIRContext &context) {
  context.loadDialect<KilnDialect, func::FuncDialect>();
}

OwningOpRef<ModuleOp> kiln::importModelFile(StringRef path,
                                            MLIRContext &context,
                                            llvm::SourceMgr &sourceMgr,
                                            const ImportOptions &options) {
  registerFrontendDialects(context);
  return frontend::importer::Importer(context, sourceMgr, options).run(path);
}
