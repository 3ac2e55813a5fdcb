//===- Expr.h - the expression language of model specs ---------*- C++ -*-===//
//
// Declares the values and the evaluator of the small expression language a
// model spec may use in block arguments and layer fields: `$planes` or
// `${planes * 4}`. The grammar is a subset of Python's, with its semantics
// (`//` floors, `/` is true division, `a if c else b`, `and`/`or`/`not`) and
// a few functions: make_divisible, ceil, floor, round, int, float, min, max,
// abs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_FRONTEND_YAML_EXPR_H
#define KILN_COMPILER_FRONTEND_YAML_EXPR_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::expr {

/// A value of a spec: a YAML scalar, a list, or the result of an expression.
struct Value {
  enum class Kind { None, Bool, Int, Float, String, List };

  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string string;
  std::vector<Value> list;

  static Value none() { return Value(); }
  static Value ofBool(bool b);
  static Value ofInt(int64_t i);
  static Value ofFloat(double f);
  static Value ofString(std::string s);
  static Value ofList(std::vector<Value> items);

  bool isNumber() const {
    return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool;
  }
  /// The number as a double (ints and bools convert).
  double toDouble() const;
  /// Python truthiness.
  bool truthy() const;
  /// Python-like rendering: 3, 2.5, True, None, 'text', [1, 2].
  std::string str() const;
  /// "an integer", "a float", "a boolean", ... for messages.
  const char *typeName() const;
};

bool operator==(const Value &a, const Value &b);

/// Looks up a variable; returns nullptr when it is not defined.
using Lookup = llvm::function_ref<const Value *(llvm::StringRef name)>;

/// The result of an evaluation: a value, or an error at a byte offset of the
/// expression text.
struct Result {
  std::optional<Value> value;
  size_t errorOffset = 0;
  std::string error;
};

/// Evaluates the expression |text| (the part inside `${...}`), resolving
/// names with |lookup|.
Result evaluate(llvm::StringRef text, Lookup lookup);

/// Python's int() of a float that must hold an integral value in range.
std::optional<int64_t> exactInteger(const Value &value);

} // namespace kiln::expr

#endif // KILN_COMPILER_FRONTEND_YAML_EXPR_H
