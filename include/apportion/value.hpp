#pragma once
// A generic value tree (null, boolean, number, string, array, object) with numbers kept
// as their exact text. The spec runner reads JSON into it, and strategy factories read
// their options from it through ObjectReader, which tracks the path for error messages
// and refuses unknown keys. The engine itself never sees one.

#include <array>
#include <cstdint>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apportion/decimal.hpp"
#include "apportion/errors.hpp"
#include "apportion/tags.hpp"
#include "apportion/time.hpp"

APPORTION_BEGIN_NAMESPACE

class Value {
 public:
  enum class Type { null, boolean, number, string, array, object };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  static Value boolean(bool b) { return Value(Type::boolean, b ? "true" : "false"); }
  static Value number(std::string text) { return Value(Type::number, std::move(text)); }
  static Value string(std::string text) { return Value(Type::string, std::move(text)); }
  static Value array(std::vector<Value> items) {
    Value v(Type::array, {});
    v.items_ = std::move(items);
    return v;
  }
  static Value object(std::vector<Member> members) {
    Value v(Type::object, {});
    v.members_ = std::move(members);
    return v;
  }

  Type type() const noexcept { return type_; }
  bool is(Type t) const noexcept { return type_ == t; }
  // The number's text, the string's characters, or "true"/"false".
  const std::string& text() const noexcept { return text_; }
  const std::vector<Value>& items() const noexcept { return items_; }
  const std::vector<Member>& members() const noexcept { return members_; }
  std::vector<Value>& items() noexcept { return items_; }
  std::vector<Member>& members() noexcept { return members_; }
  const Value* find(std::string_view key) const noexcept {
    for (const Member& m : members_)
      if (m.first == key) return &m.second;
    return nullptr;
  }

 private:
  Value(Type t, std::string text) : type_(t), text_(std::move(text)) {}
  Type type_ = Type::null;
  std::string text_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

std::string_view type_name(Value::Type t) noexcept;

// `path` extended by an object key: `steps[0]` + `pool` -> `steps[0].pool`.
std::string path_join(std::string_view path, std::string_view key);
// `path` extended by an array index: `records` + 3 -> `records[3]`.
std::string path_index(std::string_view path, std::size_t index);

// Typed reads that throw SpecError naming the path.
std::string read_string(const Value& v, std::string_view path);
// A number or a string holding JSON number syntax, read exactly.
Decimal read_decimal(const Value& v, std::string_view path, ExcessDigits excess = ExcessDigits::error);
// As read_decimal, refusing negative values: "must not be negative (got "-5")".
Decimal read_non_negative(const Value& v, std::string_view path, ExcessDigits excess = ExcessDigits::error);
Instant read_instant(const Value& v, std::string_view path);
// {"start": ..., "end": ...}, the end not before the start.
Interval read_interval(const Value& v, std::string_view path);
// An object of string values.
Tags read_tags(const Value& v, std::string_view path);
std::vector<std::string> read_string_list(const Value& v, std::string_view path);
// A non-empty list of distinct tag keys, as `group_by` and `rate_by` take.
std::vector<std::string> read_tag_keys(const Value& v, std::string_view path);
// A list of objects or a non-empty list of strings: the message says what was expected.
const std::vector<Value>& read_array(const Value& v, std::string_view path);

// Reads an object key by key; finish() refuses any key that was never asked for, so a
// misspelt option is an error rather than silently ignored, with the nearest key that was
// asked for and is absent as a hint; a missing required key names a given one spelt like it.
class ObjectReader {
 public:
  ObjectReader(const Value& v, std::string path);
  const Value* optional(std::string_view key);
  const Value& required(std::string_view key);
  bool has(std::string_view key) const noexcept { return value_->find(key) != nullptr; }
  std::string path(std::string_view key) const { return path_join(path_, key); }
  const std::string& path() const noexcept { return path_; }
  void finish() const;

 private:
  void mark(std::size_t member) noexcept;
  bool marked(std::size_t member) const noexcept;

  const Value* value_;
  std::string path_;
  // The members asked for, by position: a bit each for the first 64, then a list.
  std::uint64_t used_bits_ = 0;
  std::vector<bool> used_more_;
  // Keys asked for and absent, the candidates for a hint (copies: a key need not outlive
  // the reader; short keys need no allocation).
  std::array<std::string, 16> absent_{};
  std::size_t absent_count_ = 0;
};

APPORTION_END_NAMESPACE
