// JSON text to apportion::Value through nlohmann's SAX interface, which hands over the
// original text of every non-integer number, so no decimal ever passes through a double.

#include <algorithm>
#include <clocale>

#include <nlohmann/json.hpp>

#include "apportion/json.hpp"
#include "apportion/value.hpp"
#include "ingest/csv_reader.hpp"
#include "json_fast.hpp"

APPORTION_BEGIN_NAMESPACE

std::string_view type_name(Value::Type t) noexcept {
  switch (t) {
    case Value::Type::null: return "null";
    case Value::Type::boolean: return "a boolean";
    case Value::Type::number: return "a number";
    case Value::Type::string: return "a string";
    case Value::Type::array: return "a list";
    case Value::Type::object: return "an object";
  }
  return "?";
}

namespace {

bool plain_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '/' || c == ':'))
      return false;
  return true;
}

std::string shown_quoted(std::string_view text) {
  std::string shown(text.substr(0, 64));
  if (text.size() > 64) shown += "...";
  return "\"" + shown + "\"";
}

// At most 64 bytes of `text`, then "..." if there is more: a key in a message.
std::string shown(std::string_view text) {
  std::string out(text.substr(0, 64));
  if (text.size() > 64) out += "...";
  return out;
}

// `text` with every byte that is not part of well-formed UTF-8 written as \xFF, so a
// message quoting bad input is itself valid UTF-8 (for JSON, Python and terminals).
std::string printable(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const std::size_t bad = ingest::invalid_utf8(text);
    if (bad == std::string_view::npos) {
      out += text;
      break;
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    const auto b = static_cast<unsigned char>(text[bad]);
    out.append(text.substr(0, bad));
    out += "\\x";
    out += hex[b >> 4];
    out += hex[b & 15];
    text.remove_prefix(bad + 1);
  }
  return out;
}

[[noreturn]] void wrong_type(const Value& v, std::string_view path, std::string_view expected) {
  throw SpecError(std::string(path), "must be " + std::string(expected) + ", not " + std::string(type_name(v.type())));
}

// (line, column), both from 1, of the byte at `offset` (0-based).
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

class Builder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  Builder(std::string_view text, std::size_t max_depth, std::size_t max_string)
      : text_(text), max_depth_(max_depth), max_string_(max_string) {}

  bool null() override { return put(Value()); }
  bool boolean(bool b) override { return put(Value::boolean(b)); }
  bool number_integer(number_integer_t v) override { return put(Value::number(std::to_string(v))); }
  bool number_unsigned(number_unsigned_t v) override { return put(Value::number(std::to_string(v))); }
  // nlohmann's lexer writes the C locale's decimal point into a number's text (so that its
  // strtod reads it); JSON's is always '.', whatever locale the host process set.
  bool number_float(number_float_t, const string_t& text) override {
    const lconv* lc = std::localeconv();
    const char point = lc && lc->decimal_point && *lc->decimal_point ? *lc->decimal_point : '.';
    if (point == '.') return put(Value::number(text));
    std::string json_text = text;
    std::replace(json_text.begin(), json_text.end(), point, '.');
    return put(Value::number(std::move(json_text)));
  }
  bool string(string_t& s) override {
    if (s.size() > max_string_) return too_long(value_path(), "bytes in one string");
    return put(Value::string(std::move(s)));
  }
  bool binary(binary_t&) override { return put(Value()); }
  bool start_object(std::size_t) override { return open(Value::object({})); }
  bool key(string_t& k) override {
    if (k.size() > max_string_) return too_long(path_join(path(), shown(k)), "bytes in one key");
    Value& obj = stack_.back();
    for (const auto& m : obj.members())
      if (m.first == k) {
        error_ = SpecError(path_join(path(), k), "key appears twice in one object");
        return false;
      }
    obj.members().emplace_back(std::move(k), Value());
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Value::array({})); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& ex) override {
    // A number too large for a double (1e400) is valid JSON: nlohmann refuses it as
    // out_of_range.406, but it is a value out of range, reported by its path.
    if (ex.id == 406) {
      error_ = SpecError(value_path(), "decimal out of range: \"" + token.substr(0, 64) + "\"");
      return false;
    }
    // nlohmann: "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    std::string what = ex.what();
    const std::size_t column = what.find("column ");
    const std::size_t colon = column == std::string::npos ? std::string::npos : what.find(": ", column);
    if (colon != std::string::npos) what = what.substr(colon + 2);
    what = printable(what);  // "last read: ..." quotes the input, which may not be UTF-8
    const auto [line, col] = line_column(text_, position == 0 ? 0 : position - 1);
    error_ = SpecError("line " + std::to_string(line) + ", column " + std::to_string(col), what);
    return false;
  }

  Value take() { return std::move(root_); }
  const std::optional<SpecError>& error() const { return error_; }

 private:
  // The JSON path of the innermost open object or list. A list being built is not yet in
  // its parent, so its index is the parent's current size.
  std::string path() const {
    std::string p;
    for (std::size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Value& v = stack_[i];
      p = v.is(Value::Type::object) ? path_join(p, v.members().back().first) : path_index(p, v.items().size());
    }
    return p;
  }
  // The path of the value being read: the innermost open object's pending key, or the
  // innermost open list's next index.
  std::string value_path() const {
    if (stack_.empty()) return "";
    const Value& top = stack_.back();
    return top.is(Value::Type::object) ? path_join(path(), top.members().back().first)
                                       : path_index(path(), top.items().size());
  }
  bool put(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Value& top = stack_.back();
    if (top.is(Value::Type::object)) top.members().back().second = std::move(v);
    else top.items().push_back(std::move(v));
    return true;
  }
  bool open(Value v) {
    if (stack_.size() >= max_depth_) {
      try {
        limit_exceeded(value_path(), max_depth_, "levels of nested objects and lists", "max_depth");
      } catch (const SpecError& e) {
        error_ = e;
      }
      return false;
    }
    stack_.push_back(std::move(v));
    return true;
  }
  bool too_long(const std::string& where, std::string_view things) {
    try {
      limit_exceeded(where, max_string_, things, "max_string_bytes");
    } catch (const SpecError& e) {
      error_ = e;
    }
    return false;
  }
  bool close() {
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return put(std::move(v));
  }

  std::string_view text_;
  std::size_t max_depth_;
  std::size_t max_string_;
  std::vector<Value> stack_;
  Value root_;
  std::optional<SpecError> error_;
};

}  // namespace

std::string path_join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (plain_key(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += nlohmann::json(std::string(key)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ']';
  }
  return out;
}

std::string path_index(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Value parse_json(std::string_view text, std::size_t max_depth) {
  Limits limits;
  limits.max_depth = max_depth;
  limits.max_spec_bytes = static_cast<std::uint64_t>(-1);
  limits.max_string_bytes = static_cast<std::size_t>(-1);
  return parse_json(text, limits);
}

Value parse_json(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_spec_bytes) limit_exceeded("", limits.max_spec_bytes, "bytes of spec JSON", "max_spec_bytes");
  {
    Value fast;
    if (json_fast::Reader(text, limits.max_depth, limits.max_string_bytes).read(fast)) return fast;
  }
  Builder builder(text, limits.max_depth, limits.max_string_bytes);
  nlohmann::json::sax_parse(text.begin(), text.end(), &builder, nlohmann::json::input_format_t::json, true);
  if (builder.error()) throw *builder.error();
  return builder.take();
}

std::string read_string(const Value& v, std::string_view path) {
  if (!v.is(Value::Type::string)) wrong_type(v, path, "a string");
  return v.text();
}

Decimal read_decimal(const Value& v, std::string_view path, ExcessDigits excess) {
  if (!v.is(Value::Type::number) && !v.is(Value::Type::string)) wrong_type(v, path, "a number or a decimal string");
  try {
    return Decimal::parse(v.text(), excess);
  } catch (const ParseError& e) {
    throw SpecError(std::string(path), e.what());
  } catch (const OverflowError& e) {
    throw SpecError(std::string(path), e.what());
  }
}

Decimal read_non_negative(const Value& v, std::string_view path, ExcessDigits excess) {
  const Decimal d = read_decimal(v, path, excess);
  if (d.signum() < 0) throw SpecError(std::string(path), "must not be negative (got " + shown_quoted(v.text()) + ")");
  return d;
}

Instant read_instant(const Value& v, std::string_view path) {
  const std::string text = read_string(v, path);
  try {
    return Instant::parse(text);
  } catch (const ParseError& e) {
    throw SpecError(std::string(path), e.what());
  }
}

Interval read_interval(const Value& v, std::string_view path) {
  ObjectReader r(v, std::string(path));
  const Instant start = read_instant(r.required("start"), r.path("start"));
  const Instant end = read_instant(r.required("end"), r.path("end"));
  r.finish();
  if (end < start) throw SpecError(r.path("end"), "is before start (" + end.to_string() + " < " + start.to_string() + ")");
  return Interval(start, end);
}

Tags read_tags(const Value& v, std::string_view path) {
  if (!v.is(Value::Type::object)) wrong_type(v, path, "an object of tag names and string values");
  std::vector<Tags::Pair> pairs;
  pairs.reserve(v.members().size());
  for (const auto& [key, value] : v.members()) pairs.emplace_back(key, read_string(value, path_join(path, key)));
  return Tags(std::move(pairs));
}

std::vector<std::string> read_string_list(const Value& v, std::string_view path) {
  if (!v.is(Value::Type::array)) wrong_type(v, path, "a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.items().size(); ++i) out.push_back(read_string(v.items()[i], path_index(path, i)));
  return out;
}

std::vector<std::string> read_tag_keys(const Value& v, std::string_view path) {
  std::vector<std::string> keys = read_string_list(v, path);
  if (keys.empty()) throw SpecError(std::string(path), "must name at least one tag");
  for (std::size_t i = 1; i < keys.size(); ++i)
    if (std::find(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(i), keys[i]) !=
        keys.begin() + static_cast<std::ptrdiff_t>(i))
      throw SpecError(path_index(path, i), "tag \"" + keys[i] + "\" is listed twice");
  return keys;
}

const std::vector<Value>& read_array(const Value& v, std::string_view path) {
  if (!v.is(Value::Type::array)) wrong_type(v, path, "a list");
  return v.items();
}

ObjectReader::ObjectReader(const Value& v, std::string path) : value_(&v), path_(std::move(path)) {
  if (!v.is(Value::Type::object)) wrong_type(v, path_, "an object");
}

void ObjectReader::mark(std::size_t member) noexcept {
  if (member < 64) {
    used_bits_ |= std::uint64_t{1} << member;
    return;
  }
  if (used_more_.size() <= member - 64) used_more_.resize(member - 63);
  used_more_[member - 64] = true;
}

bool ObjectReader::marked(std::size_t member) const noexcept {
  if (member < 64) return (used_bits_ >> member) & 1;
  return member - 64 < used_more_.size() && used_more_[member - 64];
}

const Value* ObjectReader::optional(std::string_view key) {
  // Every member with this key counts as read (a tree built in code may repeat a key).
  const Value* found = nullptr;
  const auto& members = value_->members();
  for (std::size_t i = 0; i < members.size(); ++i)
    if (members[i].first == key) {
      mark(i);
      if (!found) found = &members[i].second;
    }
  if (!found && absent_count_ < absent_.size()) absent_[absent_count_++] = std::string(key);
  return found;
}

const Value& ObjectReader::required(std::string_view key) {
  const Value* v = optional(key);
  if (v) return *v;
  std::vector<std::string_view> unread;
  for (std::size_t i = 0; i < value_->members().size(); ++i)
    if (!marked(i)) unread.push_back(value_->members()[i].first);
  const auto given = closest_spelling(key, unread);
  throw SpecError(path_.empty() ? std::string(key) : path_,
                  "missing required key \"" + std::string(key) + "\"" +
                      (given ? " (\"" + std::string(*given) + "\" is given: a misspelling?)" : ""));
}

void ObjectReader::finish() const {
  const auto& members = value_->members();
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (marked(i)) continue;
    const std::vector<std::string_view> absent(absent_.begin(), absent_.begin() + static_cast<std::ptrdiff_t>(absent_count_));
    const auto hint = closest_spelling(members[i].first, absent);
    throw SpecError(path_join(path_, members[i].first),
                    hint ? "unknown key (did you mean \"" + std::string(*hint) + "\"?)" : "unknown key");
  }
}

APPORTION_END_NAMESPACE
