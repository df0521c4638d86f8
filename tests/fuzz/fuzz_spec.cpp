// The spec document (docs/fuzzing.md). The input is spec JSON text, read two ways:
// allocation_from_json (the fast path run_spec uses) and allocation_from_spec(parse_json),
// which must agree: both succeed, or both fail with the same message. When they succeed and
// the text is small, the allocation is run and rendered both ways, again with one outcome.
// `inputs` may name only files under examples/data (relative paths without ".."), so the
// fuzzer exercises ingest through the spec without reading arbitrary files.

#include <filesystem>
#include <string>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "fuzz_common.hpp"

#ifndef APPORTION_FUZZ_DATA
#error "define APPORTION_FUZZ_DATA (the folder spec inputs are read from)"
#endif

namespace {

using namespace apportion;

// Whether every `inputs[].path` of a parsed document is a plain file under the data folder.
bool inputs_allowed(const Value& doc) {
  if (!doc.is(Value::Type::object)) return true;
  const Value* inputs = doc.find("inputs");
  if (!inputs || !inputs->is(Value::Type::array)) return true;
  for (const Value& input : inputs->items()) {
    if (!input.is(Value::Type::object)) continue;
    for (const Value::Member& m : input.members()) {
      if (m.first != "path" || !m.second.is(Value::Type::string)) continue;
      const std::filesystem::path p(m.second.text());
      if (p.empty() || p.is_absolute() || m.second.text().find('\0') != std::string::npos) return false;
      for (const auto& part : p)
        if (part == "..") return false;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(std::filesystem::path(APPORTION_FUZZ_DATA) / p, ec)) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  SpecOptions options;
  options.base_dir = APPORTION_FUZZ_DATA;
  options.live_sources = false;  // a generated `url` must not reach the network

  Value doc;
  const std::string parse_error = fuzz::outcome([&] { doc = parse_json(text); });
  if (parse_error.empty() && !inputs_allowed(doc)) return 0;

  Allocation fast, slow;
  const std::string e_fast = fuzz::outcome([&] { fast = allocation_from_json(text, options); });
  const std::string e_slow = fuzz::outcome([&] {
    if (!parse_error.empty()) doc = parse_json(text);  // throws the same error again
    slow = allocation_from_spec(doc, options);
  });
  fuzz::check(e_fast == e_slow, "allocation_from_json and allocation_from_spec(parse_json) disagree",
              "\n  from_json: " + (e_fast.empty() ? std::string("ok") : e_fast) +
                  "\n  from_spec: " + (e_slow.empty() ? std::string("ok") : e_slow));
  if (!e_fast.empty() || size > 16384) return 0;

  std::string out_fast, out_slow;
  const std::string r_fast = fuzz::outcome([&] { out_fast = result_to_json(run(fast)); });
  const std::string r_slow = fuzz::outcome([&] { out_slow = result_to_json(run(slow)); });
  fuzz::check(r_fast == r_slow && out_fast == out_slow, "the two allocations run differently",
              "\n  fast: " + r_fast + out_fast + "\n  slow: " + r_slow + out_slow);
  // Records read through the plan (summed) and whole give the same result.
  SpecOptions whole_options = options;
  whole_options.plan_records = false;
  std::string out_whole;
  const std::string r_whole = fuzz::outcome([&] { out_whole = result_to_json(run(allocation_from_json(text, whole_options))); });
  fuzz::check(r_whole == r_fast && out_whole == out_fast, "records read through the plan and whole run differently",
              "\n  planned: " + r_fast + out_fast + "\n  whole: " + r_whole + out_whole);
  return 0;
}
