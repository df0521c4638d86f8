// Limits against resource exhaustion (limits.hpp): their names, settings and the one
// message for input past any of them.

#include "apportion/limits.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#ifdef __linux__
#include <unistd.h>
#endif

#include "apportion/errors.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

struct Entry {
  LimitInfo info;
  std::uint64_t Limits::*wide = nullptr;
  std::size_t Limits::*size = nullptr;
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> all = {
      {{"max_spec_bytes", "--max-spec-bytes", "bytes of one spec document"}, &Limits::max_spec_bytes, nullptr},
      {{"max_depth", "--max-depth", "levels of nested JSON objects and lists"}, nullptr, &Limits::max_depth},
      {{"max_string_bytes", "--max-string-bytes", "bytes of one JSON string or key"}, nullptr, &Limits::max_string_bytes},
      {{"max_records", "--max-records", "records in all, inline and from inputs"}, nullptr, &Limits::max_records},
      {{"max_pools", "--max-pools", "pools in all, inline and from inputs"}, nullptr, &Limits::max_pools},
      {{"max_steps", "--max-steps", "steps"}, nullptr, &Limits::max_steps},
      {{"max_groups_per_step", "--max-groups-per-step", "lines (groups) of one step"}, nullptr,
       &Limits::max_groups_per_step},
      {{"max_inputs", "--max-inputs", "entries of the inputs list"}, nullptr, &Limits::max_inputs},
      {{"max_input_bytes", "--max-input-bytes", "bytes of one input file"}, &Limits::max_input_bytes, nullptr},
  };
  return all;
}

const Entry* find(std::string_view name) {
  for (const Entry& e : entries())
    if (e.info.name == name) return &e;
  return nullptr;
}

}  // namespace

std::size_t default_max_records() noexcept {
  static const std::size_t records = [] {
    constexpr std::uint64_t bytes_per_record = 1536, most = 200'000'000;
    std::uint64_t memory = 0;
#ifdef __linux__
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) memory = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
    // A container's memory is its cgroup's limit ("max" when it has none).
    if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
      unsigned long long cgroup = 0;
      if (std::fscanf(f, "%llu", &cgroup) == 1 && cgroup > 0 && (memory == 0 || cgroup < memory)) memory = cgroup;
      std::fclose(f);
    }
#endif
    if (memory == 0) return static_cast<std::size_t>(most);
    return static_cast<std::size_t>(std::max<std::uint64_t>(1, std::min(most, memory / 4 * 3 / bytes_per_record)));
  }();
  return records;
}

const std::vector<LimitInfo>& limit_infos() {
  static const std::vector<LimitInfo> infos = [] {
    std::vector<LimitInfo> out;
    for (const Entry& e : entries()) out.push_back(e.info);
    return out;
  }();
  return infos;
}

std::uint64_t limit_value(const Limits& limits, std::string_view name) {
  const Entry* e = find(name);
  if (!e) throw std::invalid_argument("unknown limit \"" + std::string(name) + "\"");
  return e->wide ? limits.*(e->wide) : static_cast<std::uint64_t>(limits.*(e->size));
}

void set_limit(Limits& limits, std::string_view name, std::string_view value, const std::string& path) {
  const Entry* e = find(name);
  if (!e) {
    std::string known;
    for (const Entry& k : entries()) known += (known.empty() ? "" : ", ") + std::string(k.info.name);
    throw SpecError(path, "unknown limit \"" + std::string(name) + "\" (known: " + known + ")");
  }
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n == 0)
    throw SpecError(path, "must be a positive whole number (got \"" + std::string(value) + "\")");
  if (e->wide) {
    limits.*(e->wide) = n;
  } else {
    if (n > static_cast<std::uint64_t>(static_cast<std::size_t>(-1)))
      throw SpecError(path, "must be a positive whole number (got \"" + std::string(value) + "\")");
    limits.*(e->size) = static_cast<std::size_t>(n);
  }
}

std::string with_separators(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void limit_exceeded(const std::string& path, std::uint64_t limit, std::string_view things, std::string_view limit_name) {
  const Entry* e = find(limit_name);
  const std::string option = e ? std::string(e->info.option) : "--" + std::string(limit_name);
  throw SpecError(path, "more than " + with_separators(limit) + " " + std::string(things) + " (limit " +
                            std::string(limit_name) + "; raise it with " + option + " or SpecOptions::limits)");
}

APPORTION_END_NAMESPACE
