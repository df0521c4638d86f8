// MLflow's file-store files (docs/fuzzing.md). Byte 0 picks what the rest is:
//   even: a meta.yaml: read, or refused with a SpecError naming "meta.yaml line N" (or
//         the file); what is read names lines the text has;
//   odd:  a metric file: read into points (a timestamp, a value without spaces, a step),
//         or refused naming its line; the latest point is one of them.

#include <algorithm>
#include <string>

#include "../../src/mlflow_store.hpp"
#include "fuzz_common.hpp"

using namespace apportion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const bool yaml = in.byte() % 2 == 0;
  const std::string_view text = in.rest();
  // YAML's line breaks: LF, and NEL (U+0085), which MLflow's PyYAML reads as one too.
  std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (std::size_t at = text.find("\xC2\x85"); at != std::string_view::npos; at = text.find("\xC2\x85", at + 2)) ++lines;
  if (yaml) {
    std::map<std::string, mlflow::YamlValue> meta;
    const std::string e = fuzz::outcome([&] { meta = mlflow::parse_meta_yaml(text, "meta.yaml"); });
    fuzz::check(e.empty() || e.starts_with("error: meta.yaml line ") || e.starts_with("error: meta.yaml: the file "),
                "a meta.yaml error names its line, or is about the whole file", e);
    for (const auto& [key, value] : meta) {
      fuzz::check(!key.empty(), "a key is never empty", std::string(text));
      fuzz::check(value.line >= 1 && value.line <= lines, "a value's line is in the text", key);
    }
    return 0;
  }
  std::vector<mlflow::MetricPoint> points;
  const std::string e = fuzz::outcome([&] { points = mlflow::parse_metric_lines(text, "metrics/loss"); });
  fuzz::check(e.empty() || e.starts_with("error: metrics/loss line "), "a metric error names its line", e);
  for (const mlflow::MetricPoint& p : points)
    fuzz::check(!p.value.empty() && p.value.find(' ') == std::string::npos, "a value is one field", p.value);
  const mlflow::MetricPoint* latest = mlflow::latest_point(points);
  fuzz::check((latest == nullptr) == points.empty(), "the latest point is one of them", std::string(text));
  return 0;
}
