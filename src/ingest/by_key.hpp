#pragma once
// Options that are one value for every row, or a map from a row's key (a GPU type, a
// partition, an instance type) to a value with "*" for the rest, shared by the formats that
// price runs (sacct, mlflow).

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/ingest.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Split at commas outside brackets: a host list `gpu[01-04,07],big1` is two names.
inline std::vector<std::string_view> split_names(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '[') ++depth;
    else if (text[i] == ']' && depth > 0) --depth;
    else if (text[i] == ',' && depth == 0) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(text.substr(start));
  return out;
}

// One value for every row, or a map from a row's key (its GPU type, partition or node) to a value with "*" for the rest: {"a100": "onprem/a100", "*": "onprem/h100"}, or
// the same as text, "a100=onprem/a100,*=onprem/h100", as the command line gives it.
template <class T>
struct ByKey {
  std::optional<T> single;
  std::map<std::string, T, std::less<>> map;  // "*" included; keys lower-cased when fold_case
  bool fold_case = false;

  bool is_map() const noexcept { return !single; }
  const T* find(std::string_view key) const {
    if (single) return &*single;
    const auto it = fold_case ? map.find(lower(key)) : map.find(key);
    return it != map.end() ? &it->second : nullptr;
  }
  const T* fallback() const { return single ? &*single : find("*"); }
};

template <class T, class ReadValue>
ByKey<T> read_by_key(const Value& v, const std::string& path, std::string_view key_name, bool fold_case,
                     ReadValue read_value) {
  ByKey<T> out;
  out.fold_case = fold_case;
  const auto add = [&](const std::string& key, const Value& value) {
    if (key.empty() || (value.is(Value::Type::string) && value.text().empty()))
      throw SpecError(path, "a " + std::string(key_name) + " and its value must not be empty");
    if (!out.map.emplace(fold_case ? lower(key) : key, read_value(value, path_join(path, key))).second)
      throw SpecError(path, std::string(key_name) + " \"" + key + "\" given twice");
  };
  if (v.is(Value::Type::object)) {
    for (const Value::Member& m : v.members()) add(m.first, m.second);
    if (out.map.empty()) throw SpecError(path, "must not be empty");
    return out;
  }
  if (v.is(Value::Type::string) && v.text().find('=') != std::string::npos) {
    for (std::string_view item : split_names(v.text())) {
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos)
        throw SpecError(path, "\"" + std::string(item) + "\" is not " + std::string(key_name) + "=value");
      add(std::string(item.substr(0, eq)), Value::string(std::string(item.substr(eq + 1))));
    }
    return out;
  }
  out.single = read_value(v, path);
  return out;
}

inline std::string read_name(const Value& v, const std::string& path) {
  std::string text = read_string(v, path);
  if (text.empty()) throw SpecError(path, "must not be empty");
  return text;
}

}  // namespace ingest
APPORTION_END_NAMESPACE
