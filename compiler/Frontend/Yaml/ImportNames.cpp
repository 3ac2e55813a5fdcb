//===- ImportNames.cpp - names in a model spec ----------------------------===//
//
// This file implements the naming rules of a model spec: identifiers and
// module names, module paths and the registry that rejects a duplicate,
// references to named values (`conv1`, `parts[1]`), and the "did you mean"
// suggestions of errors.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/ImporterImpl.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace kiln::frontend::importer {

std::string joinPath(StringRef prefix, StringRef name) {
  return prefix.empty() ? name.str() : (prefix + "." + name).str();
}

namespace {

/// Returns the candidate closest to |word| when it is close enough to be a
/// likely typo.
std::optional<std::string> closest(StringRef word,
                                   ArrayRef<StringRef> candidates) {
  std::optional<std::string> best;
  unsigned bestDistance = std::max<unsigned>(2, word.size() / 3) + 1;
  for (StringRef candidate : candidates) {
    unsigned d = word.edit_distance(candidate, true, bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate.str();
    }
  }
  return best;
}

} // namespace

/// Appends "; did you mean 'x'?" when a candidate is close to |word|.
void suggest(InFlightDiagnostic &diag, StringRef word,
             ArrayRef<StringRef> candidates) {
  if (auto best = closest(word, candidates))
    diag << "; did you mean '" << *best << "'?";
}

bool isIdentifier(StringRef s) {
  if (s.empty() || !(llvm::isAlpha(s[0]) || s[0] == '_'))
    return false;
  return llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

bool isModuleName(StringRef s) {
  return !s.empty() &&
         llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

FailureOr<Values> Importer::resolveRef(const Node &node, const Scope &scope) {
  if (!node.isScalar())
    return error(node) << "a reference must be a layer name such as 'conv1' "
                          "or 'parts[1]', got "
                       << yaml::describe(node.kind);
  StringRef text = StringRef(node.value).trim();
  std::optional<int64_t> index;
  StringRef name = text;
  if (text.ends_with("]")) {
    size_t open = text.find('[');
    int64_t i;
    if (open == StringRef::npos ||
        text.slice(open + 1, text.size() - 1).trim().getAsInteger(10, i))
      return error(node) << "malformed reference '" << text
                         << "'; expected 'name' or 'name[index]'";
    name = text.take_front(open).trim();
    index = i;
  }
  const Values *values = scope.lookup(name);
  if (!values) {
    SmallVector<StringRef> known;
    scope.collectNames(known);
    auto diag = error(node) << "undefined value '" << name << "'";
    suggest(diag, name, known);
    return failure();
  }
  if (!index)
    return *values;
  int64_t i = *index < 0 ? *index + int64_t(values->size()) : *index;
  if (i < 0 || i >= int64_t(values->size()))
    return error(node) << "'" << name << "' has " << values->size()
                       << " result(s); index " << *index << " is out of range";
  return Values{(*values)[i]};
}

LogicalResult Importer::registerModule(StringRef path, ModuleRecord record,
                                       const Node &at) {
  auto [it, inserted] = modules.try_emplace(path, record);
  if (inserted)
    return success();
  const ModuleRecord &previous = it->second;
  // Calling a parameter-free module again is legal PyTorch: the one `relu`
  // of a torchvision Bottleneck runs three times.
  if (previous.leaf && record.leaf && previous.op == record.op &&
      !record.op->hasParams && previous.className == record.className)
    return success();
  auto diag = error(at) << "duplicate layer name: module '" << path
                        << "' is already defined";
  if (previous.leaf && record.leaf && previous.op == record.op &&
      record.op->hasParams)
    diag << " (a module with parameters is called once; give this layer "
            "its own name)";
  diag.attachNote(previous.loc) << "previous definition is here";
  return failure();
}

} // namespace kiln::frontend::importer
