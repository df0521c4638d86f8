// The mlflow ingest format: MLflow training runs as priced runs for the per_experiment
// strategy, one record per run, read from a tracking file store (`mlruns/`, a folder), a
// saved `runs/search` answer of the tracking REST API (a file), or a tracking server's
// `url` (live.cpp fetches the same answers). See docs/ingest.md, "mlflow".

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../mlflow_store.hpp"
#include "apportion/json.hpp"
#include "by_key.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

// A run as both sources give it.
struct Run {
  std::string where;  // "mlruns/1/0a1b..." or "runs.json: runs[3]"
  std::string run_id, experiment_id, run_name, user, status, lifecycle_stage = "active";
  std::optional<std::int64_t> start_ms, end_ms;
  std::map<std::string, std::string> params, tags;
};

struct MlflowOptions {
  std::optional<ByKey<std::string>> sku;
  std::string sku_from = "instance_type";
  std::optional<ByKey<std::string>> tier;
  std::string tier_from = "tier";
  std::optional<Decimal> fixed_count;
  std::string count_from = "num_gpus";
  enum class Running { error, skip, close } running = Running::error;
  Instant close_at;
  std::optional<Instant> window_start, window_end;
  std::optional<std::set<std::string>> tags;  // none: every tag not starting "mlflow."
  std::vector<std::string> params;            // params that tag the run
  std::optional<std::set<std::string>> experiments;  // names or ids; none: all
  std::map<std::string, std::string> experiment_names;  // id -> name, for answers without them
};

std::string read_field_name(const Value& v, const std::string& path) {
  std::string text = read_string(v, path);
  if (text.empty()) throw SpecError(path, "must name a param or tag");
  return text;
}

MlflowOptions read_options(ObjectReader& options) {
  MlflowOptions o;
  o.sku = read_by_key<std::string>(options.required("sku"), options.path("sku"), "value", false, read_name);
  if (const Value* v = options.optional("sku_from")) o.sku_from = read_field_name(*v, options.path("sku_from"));
  if (const Value* v = options.optional("tier"))
    o.tier = read_by_key<std::string>(*v, options.path("tier"), "value", false, read_name);
  if (const Value* v = options.optional("tier_from")) o.tier_from = read_field_name(*v, options.path("tier_from"));
  if (const Value* v = options.optional("count")) {
    // A number is every run's count; a name is the param or tag holding it.
    if (v->is(Value::Type::number) ||
        (v->is(Value::Type::string) && !v->text().empty() && v->text().find_first_not_of("0123456789.") == std::string::npos)) {
      const Decimal n = read_non_negative(*v, options.path("count"));
      if (n.is_zero()) throw SpecError(options.path("count"), "must be positive");
      o.fixed_count = n;
    } else {
      o.count_from = read_field_name(*v, options.path("count"));
    }
  }
  if (const Value* v = options.optional("running")) {
    const std::string text = read_string(*v, options.path("running"));
    if (text == "error") o.running = MlflowOptions::Running::error;
    else if (text == "skip") o.running = MlflowOptions::Running::skip;
    else {
      try {
        o.close_at = Instant::parse(text);
      } catch (const std::invalid_argument&) {
        throw SpecError(options.path("running"),
                        "must be \"error\", \"skip\" or an RFC 3339 time to close running runs at (got \"" + text + "\")");
      }
      o.running = MlflowOptions::Running::close;
    }
  }
  if (const Value* v = options.optional("start")) o.window_start = read_instant(*v, options.path("start"));
  if (const Value* v = options.optional("end")) o.window_end = read_instant(*v, options.path("end"));
  if (o.window_start && o.window_end && *o.window_end <= *o.window_start)
    throw SpecError(options.path("end"), "must be after start (" + o.window_start->to_string() + ")");
  if (const Value* v = options.optional("tags")) {
    o.tags.emplace();
    for (std::string& k : read_names(*v, options.path("tags"))) o.tags->insert(std::move(k));
  }
  if (const Value* v = options.optional("params")) o.params = read_names(*v, options.path("params"));
  if (const Value* v = options.optional("experiments")) {
    o.experiments.emplace();
    for (std::string& k : read_names(*v, options.path("experiments"))) o.experiments->insert(std::move(k));
  }
  if (const Value* v = options.optional("experiment_names")) {
    // An object of id -> name, or "id=name,id=name" as the command line gives it.
    const ByKey<std::string> names =
        read_by_key<std::string>(*v, options.path("experiment_names"), "experiment id", false, read_name);
    if (!names.is_map())
      throw SpecError(options.path("experiment_names"), "must be an object of experiment id -> name, or \"id=name,...\"");
    o.experiment_names.insert(names.map.begin(), names.map.end());
  }
  return o;
}

// The tags every run has, which the run's own tags and params may not set.
constexpr std::array<std::string_view, 6> own_keys{"experiment", "experiment_id", "run_id", "run_name", "user", "status"};

// What a run leaves out, told once per input.
struct Notes {
  std::vector<std::string> deleted, unstarted, running, outside, by_star;
};

std::string runs_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " run" : " runs"); }

// A param, else a tag, of the run: where MLflow users put a run's resources
// (mlflow.log_param("num_gpus", 8), mlflow.set_tag("instance_type", "p4d.24xlarge")).
const std::string* run_value(const Run& run, const std::string& key) {
  if (const auto p = run.params.find(key); p != run.params.end()) return &p->second;
  if (const auto t = run.tags.find(key); t != run.tags.end()) return &t->second;
  return nullptr;
}

// The runs made into records, in the order given (experiments, then runs, by id).
IngestResult make_records(const std::vector<Run>& runs, const std::map<std::string, std::string>& names,
                          const MlflowOptions& o, const RowErrors& errors, const std::string& source) {
  IngestResult result;
  Notes notes;
  std::set<std::string> seen, experiments_seen;
  std::set<std::string> shadowed;  // tag keys a run's own tags hide
  for (const Run& run : runs) {
    ++result.rows;
    errors.row(result, run.where, [&] {
      if (run.run_id.empty()) throw ParseError("run_id: missing");
      if (!seen.insert(run.run_id).second) throw ParseError("run_id: run " + run.run_id + " is given twice");
      const auto name = names.find(run.experiment_id);
      const std::string experiment = name != names.end() ? name->second : run.experiment_id;
      if (o.experiments) {
        if (!o.experiments->contains(experiment) && !o.experiments->contains(run.experiment_id)) return;
        experiments_seen.insert(o.experiments->contains(experiment) ? experiment : run.experiment_id);
      }
      if (run.lifecycle_stage == "deleted") {
        notes.deleted.push_back(run.run_id);
        return;
      }
      if (!run.start_ms) {  // scheduled, never started: it held nothing
        notes.unstarted.push_back(run.run_id);
        return;
      }
      const Instant start = Instant::from_unix_nanos(*run.start_ms * 1'000'000);
      Instant end;
      if (!run.end_ms || run.status == "RUNNING") {
        if (o.running == MlflowOptions::Running::skip) {
          notes.running.push_back(run.run_id);
          return;
        }
        if (o.running == MlflowOptions::Running::error)
          throw ParseError("end_time: run " + run.run_id + " has not ended (status " + run.status +
                           "); set the option running to \"skip\" or to a time to close running runs at");
        end = o.close_at;
        if (end < start)
          throw ParseError("end_time: the time running runs are closed at (" + end.to_string() + ") is before the run's start (" +
                           start.to_string() + ")");
      } else {
        end = Instant::from_unix_nanos(*run.end_ms * 1'000'000);
        if (end < start) throw ParseError("end_time: " + end.to_string() + " is before start_time " + start.to_string());
      }
      // The run's part in the window, as sacct's jobs: clipped, or wholly outside and told
      // (before anything else of it is read: a run outside needs no SKU).
      const bool before = o.window_start && (end < *o.window_start || (end == *o.window_start && start < end));
      const bool after = o.window_end && start >= *o.window_end;
      if (before || after) {
        notes.outside.push_back(run.run_id);
        return;
      }

      Record r;
      r.id = run.run_id;
      r.origin = run.where;
      r.start = start;
      r.end = end;
      if ((o.window_start && start < *o.window_start) || (o.window_end && end > *o.window_end))
        r.window = Interval(o.window_start ? std::max(start, *o.window_start) : start,
                            o.window_end ? std::min(end, *o.window_end) : end);
      if (o.fixed_count) {
        r.count = *o.fixed_count;
      } else {
        const std::string* text = run_value(run, o.count_from);
        if (!text)
          throw ParseError(o.count_from + ": run " + run.run_id + " has no param or tag " + o.count_from +
                           " (its GPU count); log it, or name another with the option count");
        const Decimal n = [&] {
          try {
            return Decimal::parse(*text);
          } catch (const std::exception&) {
            throw ParseError(o.count_from + ": not a number of GPUs (got \"" + *text + "\")");
          }
        }();
        if (n <= Decimal{}) throw ParseError(o.count_from + ": must be a positive number of GPUs (got \"" + *text + "\")");
        r.count = n;
      }
      const auto pick = [&](const ByKey<std::string>& by, const std::string& from, const char* option) -> std::string {
        if (by.single) return *by.single;
        const std::string* key = run_value(run, from);
        if (key)
          if (const std::string* v = by.find(*key)) return *v;
        if (const std::string* v = by.find("*")) {
          if (std::string_view(option) == "sku") notes.by_star.push_back(key ? *key : "no " + from);
          return *v;
        }
        if (!key)
          throw ParseError(from + ": run " + run.run_id + " has no param or tag " + from + ", which the option " + option +
                           " maps from (add \"*\" to the map for runs without it)");
        throw ParseError(from + ": run " + run.run_id + " has " + from + " \"" + *key + "\", which the option " + option +
                         " does not map (add it, or \"*\" for the rest)");
      };
      r.sku = pick(*o.sku, o.sku_from, "sku");
      if (o.tier) r.tier = pick(*o.tier, o.tier_from, "tier");

      std::vector<Tags::Pair> pairs;
      const auto own = [](const std::string& key) { return std::find(own_keys.begin(), own_keys.end(), key) != own_keys.end(); };
      for (const auto& [key, value] : run.tags) {
        // By default every tag but MLflow's own (mlflow.*) and what a write-back left (apportion.*).
        if (o.tags ? !o.tags->contains(key) : key.starts_with("mlflow.") || key.starts_with("apportion.")) continue;
        if (own(key)) {
          if (o.tags)
            throw ParseError("tags/" + key + ": \"" + key + "\" is the run's own tag (from its " +
                             (key == "experiment" ? "experiment's name" : "meta.yaml") +
                             ") and may not be set by a run tag; leave it out of the option tags");
          shadowed.insert(key);
          continue;
        }
        if (!value.empty()) pairs.emplace_back(key, value);
      }
      for (const std::string& key : o.params)
        if (const auto p = run.params.find(key); p != run.params.end()) {
          if (own(key))
            throw ParseError("params/" + key + ": \"" + key + "\" is the run's own tag and may not be set by a param; "
                             "leave it out of the option params");
          if (!p->second.empty()) pairs.emplace_back(key, p->second);
        }
      pairs.emplace_back("experiment", experiment);
      pairs.emplace_back("experiment_id", run.experiment_id);
      pairs.emplace_back("run_id", run.run_id);
      const std::string run_name = !run.run_name.empty() ? run.run_name : run.tags.contains("mlflow.runName") ? run.tags.at("mlflow.runName") : "";
      if (!run_name.empty()) pairs.emplace_back("run_name", run_name);
      const std::string user = !run.user.empty() ? run.user : run.tags.contains("mlflow.user") ? run.tags.at("mlflow.user") : "";
      if (!user.empty()) pairs.emplace_back("user", user);
      if (!run.status.empty()) pairs.emplace_back("status", run.status);
      r.tags = Tags(std::move(pairs));
      result.records.push_back(std::move(r));
    });
  }
  const auto tell = [&](const std::vector<std::string>& ids, const std::string& what) {
    if (!ids.empty())
      result.warnings.push_back(source + ": " + runs_text(ids.size()) + " " + what + ": " + mlflow::first_few(ids));
  };
  const auto verb = [](const std::vector<std::string>& ids) { return ids.size() == 1 ? "is" : "are"; };
  tell(notes.deleted, "deleted (lifecycle_stage deleted), left out");
  tell(notes.unstarted, "never started (no start_time), left out");
  tell(notes.running, "still running, left out (running: skip)");
  tell(notes.outside, std::string("ran wholly outside the window and ") + verb(notes.outside) + " left out");
  if (!notes.by_star.empty()) {
    std::sort(notes.by_star.begin(), notes.by_star.end());
    notes.by_star.erase(std::unique(notes.by_star.begin(), notes.by_star.end()), notes.by_star.end());
    result.warnings.push_back(source + ": " + o.sku_from + " values the option sku does not name were priced as \"*\" (" +
                              *o.sku->find("*") + "): " + mlflow::first_few(notes.by_star));
  }
  if (!shadowed.empty()) {
    std::string keys;
    for (const std::string& k : shadowed) keys += (keys.empty() ? "" : ", ") + k;
    result.warnings.push_back(source + ": run tags named as the run's own tags (" + keys +
                              ") are left out, the run's own kept: name the tags to keep with the option tags");
  }
  if (o.experiments)
    for (const std::string& e : *o.experiments)
      if (!experiments_seen.contains(e))
        result.warnings.push_back(source + ": the option experiments names \"" + e + "\", which no run's experiment is (by name or id)");
  return result;
}

// ---- The file store ---------------------------------------------------------------------

std::string relative(const std::filesystem::path& path, const std::filesystem::path& store, const std::string& source) {
  return source + "/" + path.lexically_relative(store).generic_string();
}

// A run's params or tags: a file each, its name the key, its text the value. `kind` is the
// folder's name ("params"), as messages name the file.
std::map<std::string, std::string> read_values(const std::filesystem::path& folder, const std::string& kind) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return out;
  // A key with slashes ("eval/loss") is a file in a sub-folder, as MLflow writes it.
  for (auto it = std::filesystem::recursive_directory_iterator(folder); it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string key = it->path().lexically_relative(folder).generic_string();
    const std::string where = kind + "/" + key;
    if (const std::string problem = utf8_problem(key); !problem.empty()) throw SpecError(kind, "a file's name " + problem);
    std::string value = *mlflow::read_small_file(it->path(), where);
    if (const std::string problem = utf8_problem(value); !problem.empty()) throw SpecError(where, "the value " + problem);
    out[key] = std::move(value);
  }
  return out;
}

std::optional<std::int64_t> yaml_time(const std::map<std::string, mlflow::YamlValue>& meta, const char* key,
                                      const std::string& where) {
  const auto it = meta.find(key);
  if (it == meta.end() || !it->second.text) return std::nullopt;
  const auto ms = mlflow::whole_number(*it->second.text);
  if (!ms || *ms < 0 || *ms > 9'000'000'000'000)
    throw SpecError(where + " line " + std::to_string(it->second.line),
                   std::string(key) + ": not a time in milliseconds since 1970 (got \"" + *it->second.text + "\")");
  return ms;
}

std::string yaml_text(const std::map<std::string, mlflow::YamlValue>& meta, const char* key) {
  const auto it = meta.find(key);
  return it == meta.end() || !it->second.text ? std::string() : *it->second.text;
}

IngestResult read_store(const std::filesystem::path& store, ObjectReader& options, const std::string& source) {
  const RowErrors errors(options);
  MlflowOptions o = read_options(options);
  options.finish();
  IngestResult skipped;  // rows the store's own folders could not give
  std::vector<Run> runs;
  std::map<std::string, std::string> names = o.experiment_names;
  mlflow::check_store(store, source);
  const std::vector<std::filesystem::path> experiments = mlflow::experiment_folders(store);
  std::vector<std::string> not_experiments, not_runs;  // folders without a meta.yaml
  for (const std::filesystem::path& f : mlflow::folders_without_meta(store, true)) not_experiments.push_back(relative(f, store, source));
  for (const std::filesystem::path& folder : experiments) {
    const std::string where = relative(folder, store, source);
    std::map<std::string, mlflow::YamlValue> meta;
    if (!errors.row(skipped, where, [&] { meta = mlflow::read_meta_yaml(folder / "meta.yaml", "meta.yaml"); })) continue;
    const std::string id = yaml_text(meta, "experiment_id");
    if (id != folder.filename().string()) {
      errors.skip(skipped, where, "meta.yaml: experiment_id: \"" + id + "\" is not its folder's name \"" + folder.filename().string() + "\"");
      continue;
    }
    if (yaml_text(meta, "lifecycle_stage") == "deleted") continue;
    names.emplace(id, yaml_text(meta, "name"));
    for (const std::filesystem::path& f : mlflow::folders_without_meta(folder, false)) not_runs.push_back(relative(f, store, source));
    for (const std::filesystem::path& run_folder : mlflow::run_folders(folder)) {
      Run run;
      run.where = relative(run_folder, store, source);
      const std::string meta_where = "meta.yaml";
      const bool read = errors.row(skipped, run.where, [&] {
        const auto m = mlflow::read_meta_yaml(run_folder / "meta.yaml", meta_where);
        run.run_id = yaml_text(m, "run_id");
        if (run.run_id.empty()) run.run_id = yaml_text(m, "run_uuid");
        if (run.run_id != run_folder.filename().string())
          throw SpecError(meta_where, "run_id: \"" + run.run_id + "\" is not its folder's name \"" +
                                         run_folder.filename().string() + "\"");
        run.experiment_id = yaml_text(m, "experiment_id");
        if (run.experiment_id != id)
          throw SpecError(meta_where, "experiment_id: \"" + run.experiment_id + "\" is not its experiment's \"" + id + "\"");
        run.run_name = yaml_text(m, "run_name");
        run.user = yaml_text(m, "user_id");
        if (const std::string stage = yaml_text(m, "lifecycle_stage"); !stage.empty()) run.lifecycle_stage = stage;
        const std::string status = yaml_text(m, "status");
        const auto number = mlflow::whole_number(status);
        const auto name = number ? mlflow::status_name(*number) : std::nullopt;
        if (!status.empty() && !name)
          throw SpecError(meta_where, "status: not one of MLflow's run statuses 1 to 5 (got \"" + status + "\")");
        run.status = name.value_or("RUNNING");
        run.start_ms = yaml_time(m, "start_time", meta_where);
        run.end_ms = yaml_time(m, "end_time", meta_where);
        run.params = read_values(run_folder / "params", "params");
        run.tags = read_values(run_folder / "tags", "tags");
      });
      if (read) runs.push_back(std::move(run));
    }
  }
  IngestResult result = make_records(runs, names, o, errors, source);
  result.rows += skipped.skipped;
  result.skipped += skipped.skipped;
  result.skipped_reasons.insert(result.skipped_reasons.begin(), skipped.skipped_reasons.begin(), skipped.skipped_reasons.end());
  // MLflow passes over such folders too ("Malformed experiment", "Malformed run"); said here.
  const auto tell = [&](const std::vector<std::string>& folders, const char* what) {
    if (folders.empty()) return;
    const std::string list = mlflow::first_few(folders);
    result.warnings.push_back(std::to_string(folders.size()) + (folders.size() == 1 ? " folder" : " folders") + " without a meta.yaml " +
                              (folders.size() == 1 ? "is" : "are") + " no " + what + " and " +
                              (folders.size() == 1 ? "was" : "were") + " left out: " + list);
  };
  tell(not_experiments, "experiment");
  tell(not_runs, "run");
  return result;
}

IngestResult parse_store(const std::filesystem::path& store, ObjectReader& options, const std::string& source) {
  try {
    return read_store(store, options, source);
  } catch (const std::filesystem::filesystem_error& e) {  // a folder that cannot be read
    throw SpecError(source, e.code().message() + ": " + e.path1().string());
  }
}

// ---- A runs/search answer -----------------------------------------------------------------

std::optional<std::int64_t> json_time(const Value* v, const std::string& path) {
  if (!v || v->is(Value::Type::null)) return std::nullopt;
  // The REST API writes int64 as JSON numbers; protobuf's own JSON writes them as strings.
  const auto ms = (v->is(Value::Type::number) || v->is(Value::Type::string)) ? mlflow::whole_number(v->text()) : std::nullopt;
  if (!ms || *ms < 0 || *ms > 9'000'000'000'000)
    throw SpecError(path, "not a time in milliseconds since 1970 (got " + v->text() + ")");
  return ms;
}

std::string json_text(const Value& object, std::string_view key, const std::string& path) {
  const Value* v = object.find(key);
  if (!v || v->is(Value::Type::null)) return {};
  if (!v->is(Value::Type::string) && !v->is(Value::Type::number))
    throw SpecError(path_join(path, key), "must be a string (got " + std::string(type_name(v->type())) + ")");
  return v->text();
}

std::map<std::string, std::string> json_pairs(const Value* list, const std::string& path) {
  std::map<std::string, std::string> out;
  if (!list || list->is(Value::Type::null)) return out;
  if (!list->is(Value::Type::array)) throw SpecError(path, "must be a list of {\"key\", \"value\"}");
  for (std::size_t i = 0; i < list->items().size(); ++i) {
    const Value& item = list->items()[i];
    const std::string at = path_index(path, i);
    if (!item.is(Value::Type::object)) throw SpecError(at, "must be an object of key and value");
    const std::string key = json_text(item, "key", at);
    if (key.empty()) throw SpecError(path_join(at, "key"), "missing");
    out[key] = json_text(item, "value", at);
  }
  return out;
}

IngestResult parse_answer(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors errors(options);
  MlflowOptions o = read_options(options);
  options.finish();
  const Value doc = [&] {
    try {
      return parse_json(text);
    } catch (const SpecError& e) {
      throw SpecError(source, std::string("not a runs/search answer of the MLflow REST API: ") + e.what());
    }
  }();
  if (const Value* code = doc.is(Value::Type::object) ? doc.find("error_code") : nullptr)
    throw SpecError(source, "MLflow returned an error (" + code->text() + "): " + json_text(doc, "message", source));
  if (!doc.is(Value::Type::object) || (!doc.find("runs") && !doc.find("experiments") && !doc.members().empty()))
    throw SpecError(source, "not a runs/search answer of the MLflow REST API ({\"runs\": [...]}), nor an mlruns/ folder");
  std::map<std::string, std::string> names = o.experiment_names;
  IngestResult skipped;
  if (const Value* list = doc.find("experiments")) {
    if (!list->is(Value::Type::array)) throw SpecError(path_join(source, "experiments"), "must be a list");
    for (std::size_t i = 0; i < list->items().size(); ++i) {
      const Value& e = list->items()[i];
      const std::string at = path_index(source + ": experiments", i);
      errors.row(skipped, at, [&] {
        if (!e.is(Value::Type::object)) throw ParseError("must be an experiment object");
        names.emplace(json_text(e, "experiment_id", ""), json_text(e, "name", ""));
      });
    }
  }
  std::vector<Run> runs;
  const Value* list = doc.find("runs");
  if (!list) skipped.warnings.push_back(source + ": the answer holds no runs (\"runs\" is absent: MLflow's answer to a search that found none, or an experiments/search answer alone)");
  if (list && !list->is(Value::Type::array)) throw SpecError(source + ": runs", "must be a list");
  for (std::size_t i = 0; list && i < list->items().size(); ++i) {
    const Value& item = list->items()[i];
    Run run;
    run.where = path_index(source + ": runs", i);
    const bool read = errors.row(skipped, run.where, [&] {
      if (!item.is(Value::Type::object)) throw ParseError("must be a run object of info and data");
      const Value* info = item.find("info");
      if (!info || !info->is(Value::Type::object)) throw SpecError("info", "missing");
      const std::string info_path = "info";
      run.run_id = json_text(*info, "run_id", info_path);
      if (run.run_id.empty()) run.run_id = json_text(*info, "run_uuid", info_path);
      run.experiment_id = json_text(*info, "experiment_id", info_path);
      run.run_name = json_text(*info, "run_name", info_path);
      run.user = json_text(*info, "user_id", info_path);
      run.status = json_text(*info, "status", info_path);
      if (!run.status.empty() && run.status != "RUNNING" && run.status != "SCHEDULED" && run.status != "FINISHED" &&
          run.status != "FAILED" && run.status != "KILLED")
        throw SpecError(path_join(info_path, "status"), "not an MLflow run status (got \"" + run.status + "\")");
      if (const std::string stage = json_text(*info, "lifecycle_stage", info_path); !stage.empty()) run.lifecycle_stage = stage;
      run.start_ms = json_time(info->find("start_time"), path_join(info_path, "start_time"));
      run.end_ms = json_time(info->find("end_time"), path_join(info_path, "end_time"));
      if (const Value* data = item.find("data"); data && data->is(Value::Type::object)) {
        run.params = json_pairs(data->find("params"), "data.params");
        run.tags = json_pairs(data->find("tags"), "data.tags");
      }
    });
    if (read) runs.push_back(std::move(run));
  }
  IngestResult result = make_records(runs, names, o, errors, source);
  result.rows += skipped.skipped;
  result.skipped += skipped.skipped;
  result.skipped_reasons.insert(result.skipped_reasons.begin(), skipped.skipped_reasons.begin(), skipped.skipped_reasons.end());
  result.warnings.insert(result.warnings.begin(), skipped.warnings.begin(), skipped.warnings.end());
  std::set<std::string> unnamed;
  for (const Record& r : result.records)
    if (const std::string id(r.tags.get("experiment_id").value_or("")); !names.contains(id)) unnamed.insert(id);
  if (!unnamed.empty()) {
    std::string ids;
    for (const std::string& id : unnamed) ids += (ids.empty() ? "" : ", ") + id;
    result.warnings.push_back(source + ": the answer names no experiment " + ids +
                              ", so its runs' experiment tag is the id: save the experiments/search answer beside the runs "
                              "(\"experiments\": [...]) or give the option experiment_names");
  }
  if (const Value* token = doc.find("next_page_token"); token && token->is(Value::Type::string) && !token->text().empty())
    result.warnings.push_back(source + ": the answer has a next_page_token, so runs on later pages are not in it");
  return result;
}

}  // namespace

void register_mlflow(IngestRegistry& registry) {
  registry.add("mlflow", parse_answer);
  registry.add_folder("mlflow", parse_store);
  registry.add_live("mlflow", LiveSource{LiveSource::Api::mlflow_runs, {}});
}

}  // namespace ingest
APPORTION_END_NAMESPACE
