#pragma once
// The typed exceptions of the library. Each derives from the standard exception that
// bindings map naturally: invalid_argument -> ValueError, overflow_error -> OverflowError.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE

// Text that is not a valid value: garbage, NaN, infinity, too many digits, a bad date.
class ParseError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A value outside the range the library holds exactly.
class OverflowError : public std::overflow_error {
 public:
  using std::overflow_error::overflow_error;
};

// An exact result that needs more than the 12 fractional digits a Decimal holds.
class PrecisionError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Arithmetic or comparison between amounts of different currencies.
class CurrencyMismatch : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A catalog has no price for a SKU and tier at some moment.
class PriceNotFound : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A spec document (or a value built from one) is invalid. The message starts with the
// JSON path of the offending value, or "line L, column C" for text that is not JSON.
class SpecError : public std::invalid_argument {
 public:
  SpecError(std::string path, const std::string& what)
      : std::invalid_argument(path.empty() ? what : path + ": " + what), path_(std::move(path)) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// The one of `names` closest to `name` when it is close enough to be a likely misspelling
// (ASCII case, `-` for `_` and a few edits apart), for "did you mean" hints.
std::optional<std::string_view> closest_spelling(std::string_view name, const std::vector<std::string_view>& names);

APPORTION_END_NAMESPACE
