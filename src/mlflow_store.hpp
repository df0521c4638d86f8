#pragma once
// An MLflow tracking file store (`mlruns/`) as MLflow's FileStore writes it, read by the
// `mlflow` input and written by the cost write-back (docs/ingest.md, "mlflow"):
//
//   mlruns/<experiment id>/meta.yaml             name, lifecycle_stage
//   mlruns/<experiment id>/<run id>/meta.yaml    run_id, start_time, end_time (ms), status
//   mlruns/<experiment id>/<run id>/params/<key> the value, no newline
//   mlruns/<experiment id>/<run id>/tags/<key>   the value, no newline
//   mlruns/<experiment id>/<run id>/metrics/<key>  "<timestamp ms> <value> <step>" a line
//
// `.trash` (deleted experiments) and `models` (the model registry) are not experiments;
// an experiment's `tags`, `datasets` and `traces` folders are not runs.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apportion/config.hpp"
#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE
namespace mlflow {

// The first five of `names`, then "..." when there are more: what a warning lists.
std::string first_few(const std::vector<std::string>& names);

// A run's status, as the tracking REST API spells it; the file store keeps its number
// (RunStatus: 1 RUNNING, 2 SCHEDULED, 3 FINISHED, 4 FAILED, 5 KILLED).
std::optional<std::string> status_name(std::int64_t number);

// A `meta.yaml`: the flat mapping of plain and quoted scalars MLflow writes (yaml.safe_dump),
// each value's text with its line; `null`, `~` and nothing are absent values. Anything else
// (a nested mapping) is SpecError("<where> line N", ...).
struct YamlValue {
  std::optional<std::string> text;  // none: null
  std::size_t line = 0;
};
std::map<std::string, YamlValue> read_meta_yaml(const std::filesystem::path& file, const std::string& where);
std::map<std::string, YamlValue> parse_meta_yaml(std::string_view text, const std::string& where);

// A whole number of milliseconds (start_time, a metric's timestamp) from its text.
std::optional<std::int64_t> whole_number(std::string_view text);

// One point of a metric's history.
struct MetricPoint {
  std::int64_t timestamp = 0;
  std::string value;  // as written ("47.32", "nan")
  std::int64_t step = 0;
};
// The points of a metric file; a line that is not "timestamp value [step]" is
// SpecError("<where> line N", ...).
std::vector<MetricPoint> read_metric_file(const std::filesystem::path& file, const std::string& where);
std::vector<MetricPoint> parse_metric_lines(std::string_view text, const std::string& where);
// The point MLflow shows as a metric's value: the largest step, then timestamp, then value.
const MetricPoint* latest_point(const std::vector<MetricPoint>& points);

// The file's text, or none when it does not exist; unreadable is SpecError(where).
std::optional<std::string> read_small_file(const std::filesystem::path& file, const std::string& where);

// The experiments of a store: their folders under the root, without `.trash` and `models`.
std::vector<std::filesystem::path> experiment_folders(const std::filesystem::path& store);
// The run folders of an experiment folder (those holding a meta.yaml), in name order.
std::vector<std::filesystem::path> run_folders(const std::filesystem::path& experiment);
// The folders that hold no meta.yaml where experiments (`store` true: under the root, but
// `.trash`, `models` and hidden ones) or runs (under an experiment, but its `tags`,
// `datasets` and `traces`) are, in name order: MLflow passes over them.
std::vector<std::filesystem::path> folders_without_meta(const std::filesystem::path& folder, bool store);
// SpecError(shown) unless `store` is a store's root folder: a folder, holding an
// experiment, not itself an experiment's or a run's folder.
void check_store(const std::filesystem::path& store, const std::string& shown);
// Every run folder of the store, by run id (its folder's name), found in one pass.
std::map<std::string, std::filesystem::path> run_index(const std::filesystem::path& store);

}  // namespace mlflow
APPORTION_END_NAMESPACE
