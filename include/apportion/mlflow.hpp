#pragma once
// Training costs written back to MLflow, next to the metrics a team judges a run by
// (docs/ingest.md, "Costs written back to MLflow"): for every run a `per_experiment` step
// priced (a record tagged `run_id`, as the mlflow input tags them), the metrics
// `training_cost_<currency>`, `gpu_hours` and, when the run has an `epochs` param or metric,
// `cost_per_epoch`, and tags holding the exact decimals, the price and the spec.

#include <optional>
#include <string>
#include <vector>

#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

struct MlflowLogOptions {
  // Names the spec in the tag `apportion.spec` (its file name, say); empty: not written.
  std::string spec;
  // For a tracking server: sent as `Authorization: Bearer ...` (MLflow's own
  // MLFLOW_TRACKING_TOKEN); credentials in the address (`https://user:pw@host`) are sent as
  // basic authentication. Never shown in a message.
  std::optional<std::string> bearer_token;
};

// What was written for one run.
struct MlflowLoggedRun {
  std::string run_id;
  std::string step;                      // the first per_experiment step that priced it
  Decimal cost;                          // the whole run's, rounded half-even to the result's precision
  Decimal gpu_hours;                     // count x actual hours, rounded half-even to 6 places
  std::optional<Decimal> cost_per_epoch; // cost / epochs, to the precision; none without epochs
  std::vector<std::string> metrics_written;  // keys of the points added (none: all up to date)
  std::vector<std::string> tags_written;
};

struct MlflowLogReport {
  std::string target;  // the store's folder, or the server's address without credentials
  int places = 2;      // the digits the costs are written with: the result's precision
  std::vector<MlflowLoggedRun> runs;  // those logged (or up to date), by run id
  std::size_t not_logged = 0;         // priced runs the target lacks or holds deleted
  // Priced runs that could not be written (no run_id tag, not in the store, deleted).
  std::vector<std::string> warnings;
  std::size_t points_written() const noexcept;
};

// Writes the costs of `allocation`'s priced runs (as `result`, the run of it, rounds them)
// to `target`: an MLflow file store's folder (`mlruns`, or a `file://` URI of it), in
// MLflow's own metric and tag files, or a tracking server's `http(s)://` address, through
// `runs/get` and `runs/log-batch`. A run's cost is the whole run's, even where the
// input's window clips it (the month's spec charges the month its part; the run cost all of
// it). A metric point is (timestamp: the run's end in ms, the
// value: the nearest double to the exact decimal, step: 0, or one more than the latest
// point's when the value changed); a run whose latest points hold the same values is left
// as it is, so a second write of the same spec adds nothing and a changed price adds a new
// point. Tags are rewritten only when their text changes. A store that is not one, an
// unreachable server or an error answer is SpecError naming the target. Every run's state
// is read before anything is written, so a run that cannot be read stops it unbegun.
MlflowLogReport log_to_mlflow(const Allocation& allocation, const Result& result, const std::string& target,
                              const MlflowLogOptions& options = {});

// The report as JSON: {"target", "runs": [{"run_id", "step", "cost", "gpu_hours",
// "cost_per_epoch", "metrics_written", "tags_written"}], "not_logged", "points_written",
// "warnings"}.
std::string mlflow_log_report_to_json(const MlflowLogReport& report);

APPORTION_END_NAMESPACE
