#pragma once
// Limits against resource exhaustion: input past one of them is a SpecError that names the
// place, the limit and how to raise it, instead of a process killed for memory. Every limit
// is generous for real workloads and can be raised (or lowered) through SpecOptions::limits,
// the command line (`apportion run --max-records N`), the C API (apn_run_json_opts) and
// Python (`apportion.run(spec, max_records=N)`). See docs/errors.md.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE

// The default of Limits::max_records: as many records as fit in three quarters of this
// machine's memory (its physical memory, or its cgroup's limit when lower) at 1.5 KiB a
// record, the measured cost of a record held with its tags, measures and origin; at most
// 200,000,000. On a 24 GiB machine, about 12.6 million.
std::size_t default_max_records() noexcept;

struct Limits {
  // Bytes of one spec document (JSON text).
  std::uint64_t max_spec_bytes = std::uint64_t{16} << 30;  // 16 GiB
  // Nesting of JSON objects and lists.
  std::size_t max_depth = 128;
  // Bytes of one JSON string or object key.
  std::size_t max_string_bytes = std::size_t{1} << 20;  // 1 MiB
  // Records in all: inline ones and those every input yields.
  std::size_t max_records = default_max_records();
  std::size_t max_pools = 10'000'000;
  std::size_t max_steps = 10'000;
  // Lines one step gives (its groups, with the overhead, idle and unallocated lines).
  std::size_t max_groups_per_step = 50'000'000;
  // Entries of the spec's `inputs` list.
  std::size_t max_inputs = 10'000;
  // Bytes of one input file.
  std::uint64_t max_input_bytes = std::uint64_t{256} << 30;  // 256 GiB
};

// One limit as the API, the command line and the C and Python options name it.
struct LimitInfo {
  std::string_view name;    // "max_records"
  std::string_view option;  // "--max-records"
  std::string_view what;    // "records in all, inline and from inputs"
};
// Every limit, in the order of Limits' members.
const std::vector<LimitInfo>& limit_infos();
// The value of the limit named `name` ("max_records"); std::invalid_argument if unknown.
std::uint64_t limit_value(const Limits& limits, std::string_view name);
// Sets the limit named `name` from decimal text (a positive integer). An unknown name or
// a bad value is SpecError(path, ...), `path` naming where the setting was given.
void set_limit(Limits& limits, std::string_view name, std::string_view value, const std::string& path);

// The error for input past a limit: SpecError(path, "more than 1,000 <things> (limit
// max_records; raise it with --max-records or SpecOptions::limits)").
[[noreturn]] void limit_exceeded(const std::string& path, std::uint64_t limit, std::string_view things,
                                 std::string_view limit_name);
// `n` with thousands separators: 10000000 -> "10,000,000".
std::string with_separators(std::uint64_t n);

APPORTION_END_NAMESPACE
