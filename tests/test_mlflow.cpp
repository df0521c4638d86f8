// MLflow: the `mlflow` input (a tracking file store, a saved runs/search answer) read into
// priced runs, priced end to end by per_experiment, and the costs written back into a file
// store in MLflow's own files, once. The stores are written here the way MLflow's FileStore
// writes them (mlflow/store/tracking/file_store.py: yaml.safe_dump'd meta.yaml, a file a
// param or tag holding its value without a newline, "<timestamp> <value> <step>" lines a
// metric); the live server is tests/integration/mlflow_server.py.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;
namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 2026-06-04T00:00:00Z in ms.
constexpr long long t0 = 1780531200000;
constexpr long long hour = 3'600'000;

struct RunFields {
  std::string id;
  long long start = t0;
  std::optional<long long> end = t0 + hour;
  int status = 3;  // FINISHED
  std::string lifecycle = "active";
  std::map<std::string, std::string> params{{"num_gpus", "8"}, {"instance_type", "a100-80gb"}};
  std::map<std::string, std::string> tags{};
  std::string name = "run";
};

// A file store in a temporary folder, written as MLflow writes one.
class Store {
 public:
  Store() {
    root_ = fs::temp_directory_path() / ("apportion-mlflow-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(root_);
    experiment("0", "Default");
  }
  ~Store() { fs::remove_all(root_); }
  const fs::path& root() const { return root_; }

  void experiment(const std::string& id, const std::string& name, const std::string& stage = "active") {
    write(root_ / id / "meta.yaml", "artifact_location: file://" + (root_ / id).string() +
                                        "\ncreation_time: 1780531200000\nexperiment_id: '" + id +
                                        "'\nlast_update_time: 1780531200000\nlifecycle_stage: " + stage + "\nname: " + name + "\n");
  }

  fs::path run(const std::string& experiment, const RunFields& f) {
    const fs::path dir = root_ / experiment / f.id;
    write(dir / "meta.yaml", "artifact_uri: file://" + (dir / "artifacts").string() + "\nend_time: " +
                                 (f.end ? std::to_string(*f.end) : "null") + "\nentry_point_name: ''\nexperiment_id: '" +
                                 experiment + "'\nlifecycle_stage: " + f.lifecycle + "\nrun_id: " + f.id + "\nrun_name: " +
                                 f.name + "\nrun_uuid: " + f.id + "\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: " +
                                 std::to_string(f.start) + "\nstatus: " + std::to_string(f.status) + "\ntags: []\nuser_id: priya\n");
    for (const auto& [k, v] : f.params) write(dir / "params" / k, v);
    write(dir / "tags" / "mlflow.runName", f.name);
    write(dir / "tags" / "mlflow.user", "priya");
    write(dir / "tags" / "mlflow.source.type", "LOCAL");
    for (const auto& [k, v] : f.tags) write(dir / "tags" / k, v);
    write(dir / "metrics" / "loss", std::to_string(f.start + 1000) + " 0.5 0\n" + std::to_string(f.start + 2000) + " 0.25 1\n");
    return dir;
  }

 private:
  fs::path root_;
  static inline int counter_ = 0;
};

IngestResult ingest_folder(const fs::path& store, const std::string& options_json) {
  return ingest_test::ingest_folder("mlflow", store, options_json, "mlruns");
}
std::string folder_error(const fs::path& store, const std::string& options_json) {
  return ingest_test::message_of([&] { ingest_folder(store, options_json); });
}
IngestResult ingest_answer(const std::string& text, const std::string& options_json) {
  return ingest_test::ingest("mlflow", text, options_json, "runs.json");
}
std::string answer_error(const std::string& text, const std::string& options_json) {
  return ingest_test::error_of("mlflow", text, options_json, "runs.json");
}

const std::string sku_map = R"("sku": {"a100-80gb": "onprem/a100", "h100-sxm": "cloud/h100"})";

// A spec reading `store` through the mlflow input, priced by the catalog below.
std::string spec_for(const fs::path& store, const std::string& rate = "1.60", const std::string& extra_options = "") {
  return R"({"apportion": 1, "currency": "USD",
    "catalog": {"skus": [
      {"id": "onprem/a100", "unit": "gpu_hour", "billing": "per_second", "minimum_seconds": 60,
       "prices": [{"tier": "on_demand", "rate": ")" + rate + R"("}]},
      {"id": "cloud/h100", "unit": "gpu_hour", "billing": "per_minute",
       "prices": [{"tier": "on_demand", "rate": "3.90"}, {"tier": "spot", "rate": "1.95"}]}]},
    "inputs": [{"format": "mlflow", "path": ")" + store.string() + R"(", )" + sku_map + extra_options + R"(}],
    "pools": [], "records": [],
    "steps": [{"id": "runs", "strategy": "per_experiment", "group_by": ["run_id"]}]})";
}

const Record& by_id(const IngestResult& r, const std::string& id) {
  for (const Record& rec : r.records)
    if (rec.id == id) return rec;
  throw std::logic_error("no record " + id);
}

TEST(MlflowStore, RunsBecomePricedRunsWithTheirTags) {
  Store s;
  s.experiment("17283649", "bert-large-sweep");
  RunFields f;
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  f.name = "bert-lr-3e-5";
  f.tags = {{"team", "nlp"}, {"mlflow.source.git.commit", "abc"}};
  f.params["lr"] = "3e-5";
  s.run("17283649", f);
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + R"(, "params": ["lr"]})");
  ASSERT_EQ(r.records.size(), 1u);
  const Record& rec = r.records[0];
  EXPECT_EQ(rec.id, f.id);
  EXPECT_EQ(rec.origin, "mlruns/17283649/" + f.id);
  EXPECT_EQ(rec.start->to_string(), "2026-06-04T00:00:00Z");
  EXPECT_EQ(rec.end->to_string(), "2026-06-04T01:00:00Z");
  EXPECT_EQ(rec.count->to_string(), "8");
  EXPECT_EQ(*rec.sku, "onprem/a100");
  EXPECT_FALSE(rec.tier.has_value());
  // The run's own tags, its user tags without MLflow's system tags (mlflow.*), and the
  // params asked for.
  EXPECT_EQ(rec.tags, (Tags{{"experiment", "bert-large-sweep"}, {"experiment_id", "17283649"}, {"lr", "3e-5"},
                            {"run_id", f.id}, {"run_name", "bert-lr-3e-5"}, {"status", "FINISHED"}, {"team", "nlp"},
                            {"user", "priya"}}));
  EXPECT_EQ(r.rows, 1u);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(MlflowStore, PricesEachRunExactlyWithItsBillingGranularity) {
  Store s;
  s.experiment("1", "sweep");
  RunFields a;  // per_second, 1h 0m 0.5s on 8 A100s at 1.60: 8 x 3600.5 s x 1.60 / 3600
  a.id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  a.end = t0 + hour + 500;
  s.run("1", a);
  RunFields b;  // per_minute, 2h 0m 1s on 4 H100s on spot: billed 2h 1m at 1.95
  b.id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  b.end = t0 + 2 * hour + 1000;
  b.params = {{"num_gpus", "4"}, {"instance_type", "h100-sxm"}};
  b.tags = {{"capacity", "spot"}};
  s.run("1", b);
  RunFields c;  // per_second with a 60 s minimum: 10 s bills 60 s
  c.id = "cccccccccccccccccccccccccccccccc";
  c.end = t0 + 10'000;
  s.run("1", c);
  const Result result =
      run(allocation_from_json(spec_for(s.root(), "1.60", R"(, "tier": {"spot": "spot", "*": "on_demand"}, "tier_from": "capacity")")));
  std::map<std::string, std::string> cost;
  for (const Line& l : result.lines) cost[std::string(*l.tags.get("run_id"))] = l.cost.to_fixed(2);
  // 8 x 3600.5 x 1.60 / 3600 = 12.8017777...; 4 x 121/60 h x 1.95 = 15.73; 8 x 60 x 1.60 / 3600 = 0.2133...
  EXPECT_EQ(cost.at(a.id), "12.80");
  EXPECT_EQ(cost.at(b.id), "15.73");
  EXPECT_EQ(cost.at(c.id), "0.21");
}

TEST(MlflowStore, RunningRunsFollowTheRunningOption) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "dddddddddddddddddddddddddddddddd";
  f.end = std::nullopt;
  f.status = 1;  // RUNNING
  s.run("1", f);
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + "}"),
            "mlruns/1/" + f.id + ": end_time: run " + f.id +
                " has not ended (status RUNNING); set the option running to \"skip\" or to a time to close running runs at");
  const IngestResult skipped = ingest_folder(s.root(), "{" + sku_map + R"(, "running": "skip"})");
  EXPECT_TRUE(skipped.records.empty());
  ASSERT_EQ(skipped.warnings.size(), 1u);
  EXPECT_EQ(skipped.warnings[0], "mlruns: 1 run still running, left out (running: skip): " + f.id);
  const IngestResult closed = ingest_folder(s.root(), "{" + sku_map + R"(, "running": "2026-06-04T03:00:00Z"})");
  ASSERT_EQ(closed.records.size(), 1u);
  EXPECT_EQ(closed.records[0].end->to_string(), "2026-06-04T03:00:00Z");
  EXPECT_EQ(*closed.records[0].tags.get("status"), "RUNNING");
}

TEST(MlflowStore, DeletedRunsAndExperimentsAndNonExperimentFoldersAreLeftOut) {
  Store s;
  s.experiment("1", "sweep");
  RunFields kept;
  kept.id = "11111111111111111111111111111111";
  s.run("1", kept);
  RunFields deleted;
  deleted.id = "22222222222222222222222222222222";
  deleted.lifecycle = "deleted";
  s.run("1", deleted);
  RunFields never;  // SCHEDULED: no start_time yet
  never.id = "33333333333333333333333333333333";
  never.status = 2;
  const fs::path never_dir = s.run("1", never);
  std::string meta = read(never_dir / "meta.yaml");
  meta.replace(meta.find("start_time: "), meta.find('\n', meta.find("start_time: ")) - meta.find("start_time: "), "start_time: null");
  write(never_dir / "meta.yaml", meta);
  s.experiment("2", "old", "deleted");
  RunFields of_deleted;
  of_deleted.id = "44444444444444444444444444444444";
  s.run("2", of_deleted);
  // MLflow moves a deleted experiment to .trash; the model registry lives in models/.
  write(s.root() / ".trash" / "3" / "meta.yaml", "experiment_id: '3'\nname: gone\n");
  write(s.root() / "models" / "bert" / "meta.yaml", "name: bert\n");
  write(s.root() / "1" / "tags" / "mlflow.note.content", "a sweep");  // experiment tags are no run
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + "}");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].id, kept.id);
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], "mlruns: 1 run deleted (lifecycle_stage deleted), left out: " + deleted.id);
  EXPECT_EQ(r.warnings[1], "mlruns: 1 run never started (no start_time), left out: " + never.id);
}

TEST(MlflowStore, ABadRunNamesItsFolderAndIsSkippedOnlyWhenAsked) {
  Store s;
  s.experiment("1", "sweep");
  RunFields good;
  good.id = "11111111111111111111111111111111";
  s.run("1", good);
  RunFields no_gpus;
  no_gpus.id = "22222222222222222222222222222222";
  no_gpus.params = {{"instance_type", "a100-80gb"}};
  s.run("1", no_gpus);
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + "}"),
            "mlruns/1/" + no_gpus.id + ": num_gpus: run " + no_gpus.id +
                " has no param or tag num_gpus (its GPU count); log it, or name another with the option count");
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + R"(, "skip_invalid": true})");
  EXPECT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.rows, 2u);
  // A count for every run needs no param.
  EXPECT_EQ(ingest_folder(s.root(), "{" + sku_map + R"(, "count": 2})").records.size(), 2u);

  RunFields bad_time;
  bad_time.id = "33333333333333333333333333333333";
  const fs::path dir = s.run("1", bad_time);
  std::string meta = read(dir / "meta.yaml");
  meta.replace(meta.find("start_time: "), 12, "start_time: soon");
  meta.erase(meta.find("soon") + 4, meta.find('\n', meta.find("soon")) - meta.find("soon") - 4);
  write(dir / "meta.yaml", meta);
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + R"(, "count": 2})"),
            "mlruns/1/" + bad_time.id + ": meta.yaml line 12: start_time: not a time in milliseconds since 1970 (got \"soon\")");
}

TEST(MlflowStore, SkuAndTierMapsNameWhatTheyMissAndTellWhatStarPriced) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "11111111111111111111111111111111";
  f.params = {{"num_gpus", "1"}, {"instance_type", "l4"}};
  s.run("1", f);
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + "}"),
            "mlruns/1/" + f.id + ": instance_type: run " + f.id +
                " has instance_type \"l4\", which the option sku does not map (add it, or \"*\" for the rest)");
  const IngestResult r = ingest_folder(s.root(), R"({"sku": {"a100-80gb": "onprem/a100", "*": "cloud/l4"}})");
  EXPECT_EQ(*r.records.at(0).sku, "cloud/l4");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "mlruns: instance_type values the option sku does not name were priced as \"*\" (cloud/l4): l4");
  // One SKU for every run reads no param.
  EXPECT_EQ(*ingest_folder(s.root(), R"({"sku": "onprem/l4", "tier": "spot"})").records.at(0).tier, "spot");
}

TEST(MlflowStore, RunsAreClippedToTheWindowAndThoseOutsideAreTold) {
  Store s;
  s.experiment("1", "sweep");
  RunFields across;  // from 23:00 on June 3 to 01:00 on June 4
  across.id = "11111111111111111111111111111111";
  across.start = t0 - hour;
  across.end = t0 + hour;
  s.run("1", across);
  RunFields before;
  before.id = "22222222222222222222222222222222";
  before.start = t0 - 3 * hour;
  before.end = t0 - 2 * hour;
  s.run("1", before);
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + R"(, "start": "2026-06-04T00:00:00Z", "end": "2026-07-01T00:00:00Z"})");
  ASSERT_EQ(r.records.size(), 1u);
  ASSERT_TRUE(r.records[0].window.has_value());
  EXPECT_EQ(r.records[0].window->start().to_string(), "2026-06-04T00:00:00Z");
  EXPECT_EQ(r.records[0].window->end().to_string(), "2026-06-04T01:00:00Z");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "mlruns: 1 run ran wholly outside the window and is left out: " + before.id);
  // A run outside the window needs nothing else: no SKU the map lacks is an error for it.
  RunFields unmapped = before;
  unmapped.id = "33333333333333333333333333333333";
  unmapped.params = {{"num_gpus", "1"}, {"instance_type", "l4"}};
  s.run("1", unmapped);
  EXPECT_EQ(ingest_folder(s.root(), "{" + sku_map + R"(, "start": "2026-06-04T00:00:00Z"})").records.size(), 1u);
}

TEST(MlflowStore, WhatIsNoStoreOrNoRunIsSaidNotPassedOver) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "11111111111111111111111111111111";
  const fs::path run_dir = s.run("1", f);
  // An experiment's or a run's folder given for the store.
  EXPECT_EQ(folder_error(s.root() / "1", "{" + sku_map + "}"),
            "mlruns: is an experiment's folder (it holds a meta.yaml): give the store, the folder one level up (mlruns/)");
  EXPECT_EQ(folder_error(run_dir, "{" + sku_map + "}"),
            "mlruns: is a run's folder (it holds a meta.yaml): give the store, the folder two levels up (mlruns/)");
  // Folders without a meta.yaml, where experiments and runs are: MLflow passes over them, and so
  // does this, saying so.
  fs::create_directories(s.root() / "2" / "22222222222222222222222222222222" / "params");
  fs::create_directories(s.root() / "1" / "33333333333333333333333333333333" / "metrics");
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + "}");
  EXPECT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "1 folder without a meta.yaml is no experiment and was left out: mlruns/2",
                            "1 folder without a meta.yaml is no run and was left out: mlruns/1/33333333333333333333333333333333"}));
}

TEST(MlflowStore, OnlyAFormatThatReadsFoldersTakesOne) {
  Store s;
  const std::string spec = R"({"apportion": 1, "pools": [], "records": [],
    "inputs": [{"format": "csv", "path": ")" + s.root().string() + R"(", "measures": "gpu_seconds"}], "steps": []})";
  EXPECT_EQ(ingest_test::message_of([&] { run(allocation_from_json(spec)); }),
            "inputs[0]: " + s.root().string() + ": is a folder, and format \"csv\" reads a file");
}

TEST(MlflowStore, TagsTheRunOwnsAndTheWriteBacksAreNotCopied) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "11111111111111111111111111111111";
  f.tags = {{"status", "promising"}, {"team", "nlp"}, {"apportion.training_cost", "28.80 USD"}};
  s.run("1", f);
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + "}");
  EXPECT_EQ(*r.records.at(0).tags.get("status"), "FINISHED");
  EXPECT_FALSE(r.records.at(0).tags.contains("apportion.training_cost"));
  EXPECT_EQ(r.warnings, (std::vector<std::string>{"mlruns: run tags named as the run's own tags (status) are left out, the "
                                                  "run's own kept: name the tags to keep with the option tags"}));
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + R"(, "tags": "status,team"})"),
            "mlruns/1/" + f.id + ": tags/status: \"status\" is the run's own tag (from its meta.yaml) and may not be set "
            "by a run tag; leave it out of the option tags");
}

TEST(MlflowStore, TheExperimentsOptionAndNamesGivenAsText) {
  Store s;
  s.experiment("1", "sweep");
  s.experiment("2", "other");
  RunFields f;
  f.id = "11111111111111111111111111111111";
  s.run("1", f);
  RunFields gone;
  gone.id = "22222222222222222222222222222222";
  gone.lifecycle = "deleted";
  s.run("2", gone);
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + R"(, "experiments": "sweep,nope"})");
  EXPECT_EQ(r.records.size(), 1u);
  // The deleted run of an experiment not read is not told of.
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "mlruns: the option experiments names \"nope\", which no run's experiment is (by name or id)"}));
  EXPECT_EQ(*ingest_folder(s.root(), "{" + sku_map + R"(, "experiment_names": "1=bert"})").records.at(0).tags.get("experiment"),
            "bert");
}

TEST(MlflowStore, MetaYamlAsYamlWritesIt) {
  Store s;
  // yaml.safe_dump quotes a name that would read as something else, and folds a long one.
  write(s.root() / "5" / "meta.yaml",
        "artifact_location: file:///m/5\ncreation_time: 1\nexperiment_id: '5'\nlifecycle_stage: active\n"
        "name: 'it''s: a sweep of the learning rate over ten values, from one in a million to one in\n"
        "  a thousand'\n");
  RunFields f;
  f.id = "11111111111111111111111111111111";
  s.run("5", f);
  const IngestResult r = ingest_folder(s.root(), "{" + sku_map + "}");
  EXPECT_EQ(*r.records.at(0).tags.get("experiment"),
            "it's: a sweep of the learning rate over ten values, from one in a million to one in a thousand");
  write(s.root() / "5" / "meta.yaml", "experiment_id: '5'\nname:\n  nested: value\n");
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + "}"), "mlruns/5: meta.yaml line 2: \"name\" holds a mapping, where a value was expected");
}

TEST(MlflowStore, AFolderThatIsNoStoreIsAnError) {
  const fs::path empty = fs::temp_directory_path() / ("apportion-mlflow-empty-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  EXPECT_EQ(folder_error(empty, "{" + sku_map + "}"),
            "mlruns: holds no experiment (a folder with a meta.yaml): is it an MLflow file store such as mlruns/?");
  fs::remove_all(empty);
}

// A runs/search answer of the REST API (docs: mlflow.org/docs/latest/rest-api.html#search-runs),
// with the experiments/search answer saved beside it.
const std::string answer = R"({
  "experiments": [{"experiment_id": "17283649", "name": "bert-large-sweep", "lifecycle_stage": "active"}],
  "runs": [
    {"info": {"run_id": "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "run_uuid": "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
              "run_name": "bert-lr-3e-5", "experiment_id": "17283649", "user_id": "priya", "status": "FINISHED",
              "start_time": 1780531200000, "end_time": "1780534800000",
              "artifact_uri": "mlflow-artifacts:/17283649/0a1b/artifacts", "lifecycle_stage": "active"},
     "data": {"metrics": [{"key": "loss", "value": 0.25, "timestamp": 1780531202000, "step": 1}],
              "params": [{"key": "num_gpus", "value": "8"}, {"key": "instance_type", "value": "a100-80gb"},
                         {"key": "lr", "value": "3e-5"}],
              "tags": [{"key": "mlflow.runName", "value": "bert-lr-3e-5"}, {"key": "mlflow.user", "value": "priya"},
                       {"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "team", "value": "nlp"}]},
     "inputs": {}}
  ]
})";

TEST(MlflowAnswer, ASavedRunsSearchAnswerGivesWhatTheStoreGives) {
  Store s;
  s.experiment("17283649", "bert-large-sweep");
  RunFields f;
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  f.name = "bert-lr-3e-5";
  f.tags = {{"team", "nlp"}};
  f.params["lr"] = "3e-5";
  s.run("17283649", f);
  const IngestResult from_store = ingest_folder(s.root(), "{" + sku_map + R"(, "params": "lr"})");
  const IngestResult from_answer = ingest_answer(answer, "{" + sku_map + R"(, "params": "lr"})");
  ASSERT_EQ(from_answer.records.size(), 1u);
  const Record& a = from_answer.records[0];
  const Record& b = from_store.records[0];
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(*a.start, *b.start);
  EXPECT_EQ(*a.end, *b.end);
  EXPECT_EQ(*a.count, *b.count);
  EXPECT_EQ(*a.sku, *b.sku);
  EXPECT_EQ(a.origin, "runs.json: runs[0]");
}

TEST(MlflowAnswer, AnAnswerWithoutExperimentsTagsTheIdAndSaysSo) {
  std::string runs_only = answer;
  runs_only.erase(runs_only.find("\"experiments\""), runs_only.find("\"runs\"") - runs_only.find("\"experiments\""));
  runs_only.insert(runs_only.rfind('}'), R"(, "next_page_token": "eyJvZmZzZXQiOiAxfQ==")");
  const IngestResult r = ingest_answer(runs_only, "{" + sku_map + "}");
  EXPECT_EQ(*r.records.at(0).tags.get("experiment"), "17283649");
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0],
            "runs.json: the answer names no experiment 17283649, so its runs' experiment tag is the id: save the "
            "experiments/search answer beside the runs (\"experiments\": [...]) or give the option experiment_names");
  EXPECT_EQ(r.warnings[1], "runs.json: the answer has a next_page_token, so runs on later pages are not in it");
  EXPECT_EQ(*ingest_answer(runs_only, "{" + sku_map + R"(, "experiment_names": {"17283649": "bert"}})")
                 .records.at(0)
                 .tags.get("experiment"),
            "bert");
}

TEST(MlflowAnswer, AnAnswerWithoutRunsSaysSo) {
  const IngestResult r = ingest_answer("{}", "{" + sku_map + "}");
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "runs.json: the answer holds no runs (\"runs\" is absent: MLflow's answer to a search that "
                            "found none, or an experiments/search answer alone)"}));
}

TEST(MlflowAnswer, BadAnswersNameTheRunAndField) {
  std::string bad = answer;
  bad.replace(bad.find("1780531200000"), 13, "\"soon\"");
  EXPECT_EQ(answer_error(bad, "{" + sku_map + "}"),
            "runs.json: runs[0]: info.start_time: not a time in milliseconds since 1970 (got soon)");
  EXPECT_EQ(answer_error(R"({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Experiment 9 does not exist."})", "{" + sku_map + "}"),
            "runs.json: MLflow returned an error (RESOURCE_DOES_NOT_EXIST): Experiment 9 does not exist.");
  EXPECT_EQ(answer_error(R"([1, 2])", "{" + sku_map + "}"),
            "runs.json: not a runs/search answer of the MLflow REST API ({\"runs\": [...]}), nor an mlruns/ folder");
  EXPECT_EQ(answer_error(answer, "{}"), "inputs[0]: missing required key \"sku\"");
}

// ---- Costs written back --------------------------------------------------------------------

struct Logged {
  Result result;
  MlflowLogReport report;
};

Logged log_spec(const std::string& spec, const fs::path& target) {
  const Allocation allocation = allocation_from_json(spec);
  Logged out{run(allocation), {}};
  MlflowLogOptions options;
  options.spec = "training.json";
  out.report = log_to_mlflow(allocation, out.result, target.string(), options);
  return out;
}

TEST(MlflowLog, WritesCostsInMlflowsFilesOnceAndANewPointWhenThePriceChanges) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;  // 8 GPUs for 2h 15m at 1.60: 28.80, 18 GPU-hours
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  f.end = t0 + 2 * hour + 15 * 60'000;
  f.params["epochs"] = "10";
  const fs::path dir = s.run("1", f);
  const Logged first = log_spec(spec_for(s.root()), s.root());
  ASSERT_EQ(first.report.runs.size(), 1u);
  EXPECT_EQ(first.report.runs[0].cost, Decimal::parse("28.80"));
  EXPECT_EQ(first.report.runs[0].gpu_hours, Decimal(18));
  EXPECT_EQ(*first.report.runs[0].cost_per_epoch, Decimal::parse("2.88"));
  EXPECT_EQ(first.report.points_written(), 3u);
  const std::string end_ms = std::to_string(*f.end);
  EXPECT_EQ(read(dir / "metrics" / "training_cost_usd"), end_ms + " 28.8 0\n");
  EXPECT_EQ(read(dir / "metrics" / "gpu_hours"), end_ms + " 18.0 0\n");  // as Python writes a float
  EXPECT_EQ(read(dir / "metrics" / "cost_per_epoch"), end_ms + " 2.88 0\n");
  EXPECT_EQ(read(dir / "tags" / "apportion.training_cost"), "28.80 USD");
  EXPECT_EQ(read(dir / "tags" / "apportion.gpu_hours"), "18.000000");
  EXPECT_EQ(read(dir / "tags" / "apportion.price"), "onprem/a100 on_demand at 1.60 USD per gpu_hour, billed per_second");
  EXPECT_EQ(read(dir / "tags" / "apportion.spec"), "training.json");
  EXPECT_EQ(read(dir / "tags" / "apportion.step"), "runs");
  EXPECT_EQ(read(dir / "metrics" / "loss"), std::to_string(f.start + 1000) + " 0.5 0\n" + std::to_string(f.start + 2000) + " 0.25 1\n");

  // The same spec again: nothing new.
  const Logged again = log_spec(spec_for(s.root()), s.root());
  EXPECT_EQ(again.report.points_written(), 0u);
  EXPECT_TRUE(again.report.runs.at(0).tags_written.empty());
  EXPECT_EQ(read(dir / "metrics" / "training_cost_usd"), end_ms + " 28.8 0\n");

  // A new price: a new point, one step on, so MLflow shows it as the metric's value.
  const Logged repriced = log_spec(spec_for(s.root(), "1.70"), s.root());
  EXPECT_EQ(repriced.report.runs.at(0).cost, Decimal::parse("30.60"));
  EXPECT_EQ(repriced.report.runs.at(0).metrics_written, (std::vector<std::string>{"training_cost_usd", "cost_per_epoch"}));
  EXPECT_EQ(read(dir / "metrics" / "training_cost_usd"), end_ms + " 28.8 0\n" + end_ms + " 30.6 1\n");
  EXPECT_EQ(read(dir / "metrics" / "gpu_hours"), end_ms + " 18.0 0\n");
  EXPECT_EQ(read(dir / "tags" / "apportion.training_cost"), "30.60 USD");
}

TEST(MlflowLog, EpochsComeFromTheMetricBeforeTheParam) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  f.end = t0 + 2 * hour + 15 * 60'000;
  f.params["epochs"] = "10";
  const fs::path dir = s.run("1", f);
  write(dir / "metrics" / "epochs", std::to_string(t0 + 1) + " 3.0 0\n" + std::to_string(t0 + 2) + " 4.0 1\n");
  const Logged logged = log_spec(spec_for(s.root()), s.root());
  EXPECT_EQ(*logged.report.runs.at(0).cost_per_epoch, Decimal::parse("7.20"));  // 28.80 / 4
}

TEST(MlflowLog, AClippedRunIsLoggedWholeSoEveryMonthWritesTheSame) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;  // 8 GPUs from 23:00 on May 31 to 01:00 on June 1: 16 GPU-hours, 25.60
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  f.start = 1780268400000;
  f.end = f.start + 2 * hour;
  const fs::path dir = s.run("1", f);
  const auto month = [&](const char* start, const char* end) {
    return spec_for(s.root(), "1.60", std::string(R"(, "start": ")") + start + R"(", "end": ")" + end + R"(")");
  };
  const Logged may = log_spec(month("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"), s.root());
  EXPECT_EQ(may.result.lines.at(0).cost, Decimal::parse("12.80"));  // May's part
  EXPECT_EQ(may.report.runs.at(0).cost, Decimal::parse("25.60"));  // the run's cost
  EXPECT_EQ(may.report.runs.at(0).gpu_hours, Decimal(16));
  const Logged june = log_spec(month("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"), s.root());
  EXPECT_EQ(june.report.points_written(), 0u);
  EXPECT_EQ(read(dir / "metrics" / "training_cost_usd"), std::to_string(*f.end) + " 25.6 0\n");
}

TEST(MlflowLog, ABadFileStopsTheWriteBackBeforeItBegins) {
  Store s;
  s.experiment("1", "sweep");
  RunFields a;
  a.id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const fs::path a_dir = s.run("1", a);
  RunFields b;
  b.id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const fs::path b_dir = s.run("1", b);
  // A metric the write-back does not read may hold anything.
  write(a_dir / "metrics" / "train" / "loss", "not a metric line\n");
  write(b_dir / "metrics" / "epochs", "1780531200000 4.0\nbroken\n");
  EXPECT_EQ(ingest_test::message_of([&] { log_spec(spec_for(s.root()), s.root()); }),
            s.root().string() + "/1/" + b.id +
                "/metrics/epochs line 2: not \"<timestamp> <value> <step>\" as MLflow writes a metric (got \"broken\")");
  EXPECT_FALSE(fs::exists(a_dir / "metrics" / "training_cost_usd"));  // nothing written before it
  fs::remove(b_dir / "metrics" / "epochs");
  EXPECT_EQ(log_spec(spec_for(s.root()), "file:" + s.root().string()).report.points_written(), 4u);
}

TEST(MlflowLog, NoWriteFollowsALinkOrMeetsAFileForAFolder) {
  Store s;
  s.experiment("1", "sweep");
  RunFields a;
  a.id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const fs::path a_dir = s.run("1", a);
  RunFields b;
  b.id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const fs::path b_dir = s.run("1", b);
  const fs::path outside = fs::temp_directory_path() / ("apportion-mlflow-outside-" + std::to_string(::getpid()));
  write(outside, "keep me");
  fs::create_symlink(outside, b_dir / "tags" / "apportion.price");
  const auto error = [&] { return ingest_test::message_of([&] { log_spec(spec_for(s.root()), s.root()); }); };
  EXPECT_EQ(error(), s.root().string() + "/1/" + b.id + "/tags/apportion.price: is a symbolic link, which the write-back does not follow");
  EXPECT_EQ(read(outside), "keep me");
  EXPECT_FALSE(fs::exists(a_dir / "metrics" / "training_cost_usd"));
  fs::remove(b_dir / "tags" / "apportion.price");
  fs::remove_all(b_dir / "metrics");
  write(b_dir / "metrics", "a file where the metrics folder is");
  EXPECT_EQ(error(), s.root().string() + "/1/" + b.id + "/metrics: is not a folder");
  EXPECT_FALSE(fs::exists(a_dir / "metrics" / "training_cost_usd"));
  fs::remove(outside);
}

TEST(MlflowLog, AMetricFileWithoutItsLastNewlineIsEndedFirst) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  const fs::path dir = s.run("1", f);
  write(dir / "metrics" / "training_cost_usd", "1780531200001 1.0 0");  // cut short by a crash, say
  log_spec(spec_for(s.root()), s.root());
  EXPECT_EQ(read(dir / "metrics" / "training_cost_usd"), "1780531200001 1.0 0\n" + std::to_string(*f.end) + " 12.8 1\n");
}

TEST(MlflowLog, FractionalEpochsAndAnotherSpecWithTheSameValues) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;  // 12.80
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  f.params["epochs"] = "3";
  const fs::path dir = s.run("1", f);
  write(dir / "metrics" / "epochs", std::to_string(t0 + 1) + " 2.5 0\n");
  const Logged first = log_spec(spec_for(s.root()), s.root());
  EXPECT_EQ(*first.report.runs.at(0).cost_per_epoch, Decimal::parse("5.12"));  // 12.80 / 2.5
  // Another spec (another name) finding the same values writes nothing, its name neither.
  const Allocation allocation = allocation_from_json(spec_for(s.root()));
  MlflowLogOptions other;
  other.spec = "june.json";
  const MlflowLogReport again = log_to_mlflow(allocation, run(allocation), s.root().string(), other);
  EXPECT_EQ(again.points_written(), 0u);
  EXPECT_TRUE(again.runs.at(0).tags_written.empty());
  EXPECT_EQ(read(dir / "tags" / "apportion.spec"), "training.json");
}

TEST(MlflowLog, TheLastStepAndFileUris) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  const fs::path dir = s.run("1", f);
  write(dir / "metrics" / "training_cost_usd", "1 1.0 9223372036854775807\n");
  EXPECT_THROW(log_spec(spec_for(s.root()), s.root()), SpecError);
  fs::remove(dir / "metrics" / "training_cost_usd");
  // A store in a folder with a space, as MLflow writes its URI: percent-encoded.
  const fs::path spaced = s.root().parent_path() / (s.root().filename().string() + " copy");
  fs::remove_all(spaced);
  fs::copy(s.root(), spaced, fs::copy_options::recursive);
  std::string uri = "file://localhost" + spaced.string();
  uri.replace(uri.find(" copy"), 5, "%20copy");
  const Allocation allocation = allocation_from_json(spec_for(s.root()));
  EXPECT_EQ(log_to_mlflow(allocation, run(allocation), uri).points_written(), 2u);
  EXPECT_TRUE(fs::exists(spaced / "1" / f.id / "metrics" / "training_cost_usd"));
  fs::remove_all(spaced);
}

TEST(MlflowStore, ANameThatIsNotUtf8IsAnErrorNamingTheFile) {
  Store s;
  write(s.root() / "1" / "meta.yaml", "experiment_id: '1'\nname: caf\xe9\n");
  RunFields f;
  f.id = "11111111111111111111111111111111";
  s.run("1", f);
  EXPECT_EQ(folder_error(s.root(), "{" + sku_map + "}"), "mlruns/1: meta.yaml: the file is not valid UTF-8 (byte 0xE9 at offset 28)");
}

TEST(MlflowLog, RunsItCannotWriteAreTold) {
  Store s;
  s.experiment("1", "sweep");
  RunFields f;
  f.id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  s.run("1", f);
  Store other;
  other.experiment("1", "sweep");
  const Logged logged = log_spec(spec_for(s.root()), other.root());
  EXPECT_TRUE(logged.report.runs.empty());
  ASSERT_EQ(logged.report.warnings.size(), 1u);
  EXPECT_EQ(logged.report.warnings[0], "1 priced run is not in " + other.root().string() + " and was not logged: " + f.id);
  // Priced runs from elsewhere name no MLflow run.
  const std::string inline_runs = R"({"apportion": 1, "catalog": {"skus": [{"id": "onprem/a100", "unit": "gpu_hour",
      "prices": [{"tier": "on_demand", "rate": "1.60"}]}]}, "pools": [],
      "records": [{"tags": {"experiment": "x"}, "sku": "onprem/a100", "count": "1",
                   "start": "2026-06-04T00:00:00Z", "end": "2026-06-04T01:00:00Z"}],
      "steps": [{"id": "runs", "strategy": "per_experiment"}]})";
  const Logged none = log_spec(inline_runs, s.root());
  EXPECT_EQ(none.report.warnings.at(0),
            "1 priced run of step runs (and any after it) have no run_id tag, so they name no MLflow run and are not logged");
  EXPECT_THROW(log_spec(spec_for(s.root()), s.root() / "nowhere"), SpecError);
}

TEST(MlflowLog, TheReportAsJson) {
  MlflowLogReport report;
  report.target = "mlruns";
  MlflowLoggedRun r;
  r.run_id = "abc";
  r.step = "runs";
  r.cost = Decimal::parse("28.80");
  r.gpu_hours = Decimal::parse("18.000000");
  r.metrics_written = {"training_cost_usd"};
  report.runs.push_back(r);
  EXPECT_EQ(mlflow_log_report_to_json(report),
            R"({"target":"mlruns","runs":[{"run_id":"abc","step":"runs","cost":"28.80","gpu_hours":"18.000000",)"
            R"("cost_per_epoch":null,"metrics_written":["training_cost_usd"],"tags_written":[]}],"not_logged":0,"points_written":1,)"
            R"("warnings":[]})"
            "\n");
}

}  // namespace
