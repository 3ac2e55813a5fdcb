//===- Expr.cpp - the expression language of model specs ------------------===//
//
// This file implements a recursive-descent evaluator for spec expressions.
// Precedence, lowest first (as in Python):
//   1. a if cond else b      2. or      3. and      4. not
//   5. == != < <= > >=       6. + -     7. * / // %  8. unary -, +
//   9. atoms: numbers, True/False/None, names, calls f(a, b), (e), [a, b]
// Integers are 64-bit and overflow is an error, never a wrap.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Yaml/Expr.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace kiln::expr;
using llvm::StringRef;

Value Value::ofBool(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}
Value Value::ofInt(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}
Value Value::ofFloat(double f) {
  Value v;
  v.kind = Kind::Float;
  v.real = f;
  return v;
}
Value Value::ofString(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.string = std::move(s);
  return v;
}
Value Value::ofList(std::vector<Value> items) {
  Value v;
  v.kind = Kind::List;
  v.list = std::move(items);
  return v;
}

double Value::toDouble() const {
  switch (kind) {
  case Kind::Bool:
    return boolean;
  case Kind::Int:
    return double(integer);
  case Kind::Float:
    return real;
  default:
    return 0;
  }
}

bool Value::truthy() const {
  switch (kind) {
  case Kind::None:
    return false;
  case Kind::Bool:
    return boolean;
  case Kind::Int:
    return integer != 0;
  case Kind::Float:
    return real != 0;
  case Kind::String:
    return !string.empty();
  case Kind::List:
    return !list.empty();
  }
  return false;
}

std::string Value::str() const {
  switch (kind) {
  case Kind::None:
    return "None";
  case Kind::Bool:
    return boolean ? "True" : "False";
  case Kind::Int:
    return std::to_string(integer);
  case Kind::Float: {
    std::string s = llvm::formatv("{0}", real).str();
    if (s.find_first_of(".eEn") == std::string::npos)
      s += ".0";
    return s;
  }
  case Kind::String:
    return "'" + string + "'";
  case Kind::List: {
    std::string s = "[";
    for (size_t i = 0; i < list.size(); ++i)
      s += (i ? ", " : "") + list[i].str();
    return s + "]";
  }
  }
  return "?";
}

const char *Value::typeName() const {
  switch (kind) {
  case Kind::None:
    return "None";
  case Kind::Bool:
    return "a boolean";
  case Kind::Int:
    return "an integer";
  case Kind::Float:
    return "a float";
  case Kind::String:
    return "a string";
  case Kind::List:
    return "a list";
  }
  return "a value";
}

bool kiln::expr::operator==(const Value &a, const Value &b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float)
      return a.toDouble() == b.toDouble();
    return (a.kind == Value::Kind::Bool ? a.boolean : a.integer) ==
           (b.kind == Value::Kind::Bool ? b.boolean : b.integer);
  }
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case Value::Kind::None:
    return true;
  case Value::Kind::String:
    return a.string == b.string;
  case Value::Kind::List:
    return a.list == b.list;
  default:
    return false;
  }
}

std::optional<int64_t> kiln::expr::exactInteger(const Value &value) {
  switch (value.kind) {
  case Value::Kind::Int:
    return value.integer;
  case Value::Kind::Bool:
    return value.boolean;
  case Value::Kind::Float:
    if (std::isfinite(value.real) && std::trunc(value.real) == value.real &&
        std::fabs(value.real) < 9.0e18)
      return int64_t(value.real);
    return std::nullopt;
  default:
    return std::nullopt;
  }
}

namespace {

struct Token {
  enum class Kind { End, Number, Name, Op };
  Kind kind = Kind::End;
  StringRef text;
  size_t offset = 0;
};

/// Thrown-free error propagation: the first error wins and stops parsing.
class Evaluator {
public:
  Evaluator(StringRef text, Lookup lookup) : text(text), lookup(lookup) {
    advance();
  }

  Result run() {
    Result result;
    std::optional<Value> value = ternary();
    if (!failed && token.kind != Token::Kind::End)
      fail(token.offset, "unexpected '" + token.text.str() + "'");
    if (failed) {
      result.error = error;
      result.errorOffset = errorOffset;
      return result;
    }
    result.value = std::move(value);
    return result;
  }

private:
  StringRef text;
  Lookup lookup;
  size_t pos = 0;
  Token token;
  bool failed = false;
  std::string error;
  size_t errorOffset = 0;

  std::nullopt_t fail(size_t offset, std::string message) {
    if (!failed) {
      failed = true;
      errorOffset = offset;
      error = std::move(message);
    }
    return std::nullopt;
  }

  void advance() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
    token.offset = pos;
    if (pos >= text.size()) {
      token.kind = Token::Kind::End;
      token.text = "";
      return;
    }
    char c = text[pos];
    size_t start = pos;
    if (llvm::isDigit(c) ||
        (c == '.' && pos + 1 < text.size() && llvm::isDigit(text[pos + 1]))) {
      while (pos < text.size() &&
             (llvm::isAlnum(text[pos]) || text[pos] == '.' ||
              ((text[pos] == '+' || text[pos] == '-') &&
               (text[pos - 1] == 'e' || text[pos - 1] == 'E'))))
        ++pos;
      token.kind = Token::Kind::Number;
    } else if (llvm::isAlpha(c) || c == '_') {
      while (pos < text.size() && (llvm::isAlnum(text[pos]) || text[pos] == '_'))
        ++pos;
      token.kind = Token::Kind::Name;
    } else {
      static const char *twoChar[] = {"//", "==", "!=", "<=", ">="};
      token.kind = Token::Kind::Op;
      pos += 1;
      for (const char *op : twoChar)
        if (text.substr(start).starts_with(op))
          pos = start + 2;
    }
    token.text = text.slice(start, pos);
  }

  bool accept(StringRef op) {
    if (failed || token.text != op || token.kind == Token::Kind::Number)
      return false;
    advance();
    return true;
  }

  bool expect(StringRef op) {
    if (accept(op))
      return true;
    fail(token.offset, token.kind == Token::Kind::End
                           ? "expected '" + op.str() + "' at the end"
                           : "expected '" + op.str() + "', found '" +
                                 token.text.str() + "'");
    return false;
  }

  /// Limits recursion on inputs such as "((((...))))", "- - - ... 1" and
  /// "not not ... x": every self-recursive rule takes a guard.
  struct DepthGuard {
    Evaluator &e;
    explicit DepthGuard(Evaluator &e) : e(e) { ++e.depth; }
    ~DepthGuard() { --e.depth; }
  };
  static constexpr int kMaxDepth = 100;
  int depth = 0;

  std::optional<Value> ternary() {
    DepthGuard guard(*this);
    if (depth > kMaxDepth)
      return fail(token.offset, "expression nested too deeply");
    std::optional<Value> value = logicalOr();
    if (!value || token.text != "if" || token.kind != Token::Kind::Name)
      return value;
    advance();
    std::optional<Value> condition = logicalOr();
    if (!condition || !expect("else"))
      return std::nullopt;
    std::optional<Value> otherwise = ternary();
    if (!otherwise)
      return std::nullopt;
    return condition->truthy() ? value : otherwise;
  }

  std::optional<Value> logicalOr() {
    std::optional<Value> lhs = logicalAnd();
    while (lhs && token.kind == Token::Kind::Name && token.text == "or") {
      advance();
      std::optional<Value> rhs = logicalAnd();
      if (!rhs)
        return std::nullopt;
      if (!lhs->truthy())
        lhs = rhs;
    }
    return lhs;
  }

  std::optional<Value> logicalAnd() {
    std::optional<Value> lhs = logicalNot();
    while (lhs && token.kind == Token::Kind::Name && token.text == "and") {
      advance();
      std::optional<Value> rhs = logicalNot();
      if (!rhs)
        return std::nullopt;
      if (lhs->truthy())
        lhs = rhs;
    }
    return lhs;
  }

  std::optional<Value> logicalNot() {
    DepthGuard guard(*this);
    if (depth > kMaxDepth)
      return fail(token.offset, "expression nested too deeply");
    if (token.kind == Token::Kind::Name && token.text == "not") {
      advance();
      std::optional<Value> operand = logicalNot();
      if (!operand)
        return std::nullopt;
      return Value::ofBool(!operand->truthy());
    }
    return comparison();
  }

  std::optional<Value> comparison() {
    std::optional<Value> lhs = sum();
    if (!lhs || token.kind != Token::Kind::Op)
      return lhs;
    StringRef op = token.text;
    if (op != "==" && op != "!=" && op != "<" && op != "<=" && op != ">" &&
        op != ">=")
      return lhs;
    size_t at = token.offset;
    advance();
    std::optional<Value> rhs = sum();
    if (!rhs)
      return std::nullopt;
    if (op == "==")
      return Value::ofBool(*lhs == *rhs);
    if (op == "!=")
      return Value::ofBool(!(*lhs == *rhs));
    if (!lhs->isNumber() || !rhs->isNumber())
      return fail(at, "cannot compare " + std::string(lhs->typeName()) +
                          " with " + rhs->typeName());
    double a = lhs->toDouble(), b = rhs->toDouble();
    bool r = op == "<" ? a < b : op == "<=" ? a <= b : op == ">" ? a > b : a >= b;
    return Value::ofBool(r);
  }

  std::optional<Value> sum() {
    std::optional<Value> lhs = term();
    while (lhs && token.kind == Token::Kind::Op &&
           (token.text == "+" || token.text == "-")) {
      char op = token.text[0];
      size_t at = token.offset;
      advance();
      std::optional<Value> rhs = term();
      if (!rhs)
        return std::nullopt;
      lhs = arithmetic(op, *lhs, *rhs, at);
    }
    return lhs;
  }

  std::optional<Value> term() {
    std::optional<Value> lhs = unary();
    while (lhs && token.kind == Token::Kind::Op &&
           (token.text == "*" || token.text == "/" || token.text == "//" ||
            token.text == "%")) {
      char op = token.text == "//" ? 'f' : token.text[0];
      size_t at = token.offset;
      advance();
      std::optional<Value> rhs = unary();
      if (!rhs)
        return std::nullopt;
      lhs = arithmetic(op, *lhs, *rhs, at);
    }
    return lhs;
  }

  std::optional<Value> unary() {
    DepthGuard guard(*this);
    if (depth > kMaxDepth)
      return fail(token.offset, "expression nested too deeply");
    if (token.kind == Token::Kind::Op && (token.text == "-" || token.text == "+")) {
      char op = token.text[0];
      size_t at = token.offset;
      advance();
      std::optional<Value> operand = unary();
      if (!operand)
        return std::nullopt;
      if (op == '+') {
        if (!operand->isNumber())
          return fail(at, "cannot apply '+' to " +
                              std::string(operand->typeName()));
        return operand;
      }
      return arithmetic('-', Value::ofInt(0), *operand, at);
    }
    return atom();
  }

  /// Applies + - * / f(loor div) % to two numbers, Python style.
  std::optional<Value> arithmetic(char op, const Value &a, const Value &b,
                                  size_t at) {
    if (!a.isNumber() || !b.isNumber())
      return fail(at, std::string("cannot apply '") +
                          (op == 'f' ? "//" : std::string(1, op)) + "' to " +
                          a.typeName() + " and " + b.typeName());
    bool real = a.kind == Value::Kind::Float || b.kind == Value::Kind::Float ||
                op == '/';
    if (real) {
      double x = a.toDouble(), y = b.toDouble();
      if ((op == '/' || op == 'f' || op == '%') && y == 0)
        return fail(at, "division by zero");
      switch (op) {
      case '+':
        return Value::ofFloat(x + y);
      case '-':
        return Value::ofFloat(x - y);
      case '*':
        return Value::ofFloat(x * y);
      case '/':
        return Value::ofFloat(x / y);
      case 'f':
        return Value::ofFloat(std::floor(x / y));
      default:
        return Value::ofFloat(x - std::floor(x / y) * y);
      }
    }
    int64_t x = a.kind == Value::Kind::Bool ? a.boolean : a.integer;
    int64_t y = b.kind == Value::Kind::Bool ? b.boolean : b.integer;
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case '+':
      overflow = __builtin_add_overflow(x, y, &r);
      break;
    case '-':
      overflow = __builtin_sub_overflow(x, y, &r);
      break;
    case '*':
      overflow = __builtin_mul_overflow(x, y, &r);
      break;
    default: {
      if (y == 0)
        return fail(at, "division by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        overflow = true;
        break;
      }
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        q -= 1;
        m += y;
      }
      r = op == 'f' ? q : m;
    }
    }
    if (overflow)
      return fail(at, "integer overflow");
    return Value::ofInt(r);
  }

  std::optional<Value> atom() {
    Token t = token;
    switch (t.kind) {
    case Token::Kind::End:
      return fail(t.offset, "expected a value at the end");
    case Token::Kind::Number:
      advance();
      return number(t);
    case Token::Kind::Name:
      advance();
      if (token.kind == Token::Kind::Op && token.text == "(")
        return call(t);
      return name(t);
    case Token::Kind::Op:
      if (accept("(")) {
        std::optional<Value> inner = ternary();
        if (!inner || !expect(")"))
          return std::nullopt;
        return inner;
      }
      if (accept("[")) {
        std::vector<Value> items;
        if (!accept("]")) {
          do {
            std::optional<Value> item = ternary();
            if (!item)
              return std::nullopt;
            items.push_back(std::move(*item));
          } while (accept(","));
          if (!expect("]"))
            return std::nullopt;
        }
        return Value::ofList(std::move(items));
      }
      return fail(t.offset, "unexpected '" + t.text.str() + "'");
    }
    return std::nullopt;
  }

  std::optional<Value> number(const Token &t) {
    int64_t i;
    if (!t.text.getAsInteger(10, i))
      return Value::ofInt(i);
    double d;
    if (!t.text.getAsDouble(d) && std::isfinite(d))
      return Value::ofFloat(d);
    return fail(t.offset, "invalid number '" + t.text.str() + "'");
  }

  std::optional<Value> name(const Token &t) {
    if (t.text == "True" || t.text == "true")
      return Value::ofBool(true);
    if (t.text == "False" || t.text == "false")
      return Value::ofBool(false);
    if (t.text == "None")
      return Value::none();
    if (const Value *value = lookup(t.text))
      return *value;
    return fail(t.offset, "undefined name '" + t.text.str() + "'");
  }

  std::optional<Value> call(const Token &fn) {
    expect("(");
    std::vector<Value> args;
    std::vector<size_t> offsets;
    if (!accept(")")) {
      do {
        offsets.push_back(token.offset);
        std::optional<Value> arg = ternary();
        if (!arg)
          return std::nullopt;
        args.push_back(std::move(*arg));
      } while (accept(","));
      if (!expect(")"))
        return std::nullopt;
    }
    return builtin(fn, args, offsets);
  }

  std::optional<Value> builtin(const Token &fn, const std::vector<Value> &args,
                               const std::vector<size_t> &offsets) {
    StringRef f = fn.text;
    auto arity = [&](size_t lo, size_t hi) -> bool {
      if (args.size() >= lo && args.size() <= hi)
        return true;
      fail(fn.offset, f.str() + "() takes " +
                          (lo == hi ? std::to_string(lo)
                                    : std::to_string(lo) + " to " +
                                          std::to_string(hi)) +
                          " arguments, got " + std::to_string(args.size()));
      return false;
    };
    for (size_t i = 0; i < args.size(); ++i)
      if (!args[i].isNumber())
        return fail(offsets[i], f.str() + "() needs numbers, got " +
                                    args[i].typeName());
    auto toInt = [&](double d, size_t at) -> std::optional<Value> {
      if (!std::isfinite(d) || std::fabs(d) >= 9.0e18)
        return fail(at, "number out of integer range");
      return Value::ofInt(int64_t(d));
    };
    if (f == "ceil" || f == "floor" || f == "int" || f == "round" ||
        f == "float" || f == "abs") {
      if (!arity(1, 1))
        return std::nullopt;
      const Value &x = args[0];
      if (f == "float")
        return Value::ofFloat(x.toDouble());
      if (f == "abs")
        return x.kind == Value::Kind::Float
                   ? Value::ofFloat(std::fabs(x.real))
                   : arithmetic('*', x, Value::ofInt(x.toDouble() < 0 ? -1 : 1),
                                fn.offset);
      double d = x.toDouble();
      if (f == "ceil")
        return toInt(std::ceil(d), fn.offset);
      if (f == "floor")
        return toInt(std::floor(d), fn.offset);
      if (f == "int")
        return toInt(std::trunc(d), fn.offset);
      return toInt(std::nearbyint(d), fn.offset); // Python 3: half to even.
    }
    if (f == "min" || f == "max") {
      if (args.empty())
        return fail(fn.offset, f.str() + "() needs at least one argument");
      Value best = args[0];
      for (const Value &v : args)
        if (f == "min" ? v.toDouble() < best.toDouble()
                       : v.toDouble() > best.toDouble())
          best = v;
      return best;
    }
    if (f == "make_divisible") {
      // torchvision / timm _make_divisible(v, divisor, min_value=None).
      if (!arity(2, 3))
        return std::nullopt;
      double v = args[0].toDouble();
      std::optional<int64_t> divisor = exactInteger(args[1]);
      if (!divisor || *divisor <= 0)
        return fail(offsets[1], "make_divisible(): divisor must be a positive "
                                "integer");
      double minValue = args.size() > 2 ? args[2].toDouble() : double(*divisor);
      double rounded =
          std::floor(std::trunc(v + double(*divisor) / 2) / double(*divisor)) *
          double(*divisor);
      double result = std::max(minValue, rounded);
      if (result < 0.9 * v)
        result += double(*divisor);
      return toInt(result, fn.offset);
    }
    return fail(fn.offset, "unknown function '" + f.str() + "'");
  }
};

} // namespace

Result kiln::expr::evaluate(StringRef text, Lookup lookup) {
  return Evaluator(text, lookup).run();
}
