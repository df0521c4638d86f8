// Training costs written back to MLflow (mlflow.hpp): into a file store in MLflow's own
// files, or to a tracking server through its REST API. It reads the allocation's priced
// runs the way their per_experiment step priced them (PerExperiment::price) and the result
// for its rounding; it changes neither.

#include "apportion/mlflow.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "apportion/strategies.hpp"
#include "ingest/by_key.hpp"
#include "ingest/http.hpp"
#include "mlflow_store.hpp"
#include "text.hpp"

APPORTION_BEGIN_NAMESPACE

std::size_t MlflowLogReport::points_written() const noexcept {
  std::size_t n = 0;
  for (const MlflowLoggedRun& r : runs) n += r.metrics_written.size();
  return n;
}

namespace {

// A run's cost as its step priced it, summed over its records.
struct PricedRun {
  std::string step;
  Rational cost, gpu_hours, rate_hours, hours;  // rate_hours / hours: the average rate
  std::string sku, tier;
  Instant end;  // the metric points' timestamp: the end of the run
  std::size_t records = 0;
};

// What a metric or tag of a run holds now.
struct RunState {
  bool deleted = false;
  std::map<std::string, mlflow::MetricPoint> latest;  // by metric key
  std::map<std::string, std::string> params, tags;
};

struct Point {
  std::string key;
  double value;
  std::int64_t timestamp;
};

// The double nearest the decimal, as Python's repr writes it (MLflow's FileStore writes
// `f"{value}"`): the shortest text that reads back to it, with ".0" for whole numbers.
std::string python_float(double v) {
  std::string text = fmt::format("{}", v);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

double nearest_double(const Decimal& d) { return std::strtod(d.to_string().c_str(), nullptr); }

std::optional<Decimal> epochs_of(const RunState& state) {
  const auto positive = [](const std::string& text) -> std::optional<Decimal> {
    try {
      const Decimal n = Decimal::parse(text);
      if (n > Decimal{}) return n;
    } catch (const std::exception&) {
    }
    return std::nullopt;
  };
  // The metric first: what the run did (a run stopped early logged fewer epochs than its
  // param planned), as MLflow wrote it (10.0, 2.5).
  if (const auto m = state.latest.find("epochs"); m != state.latest.end())
    if (auto n = positive(m->second.value)) return n;
  if (const auto p = state.params.find("epochs"); p != state.params.end())
    if (auto n = positive(p->second)) return n;
  return std::nullopt;
}

// The points and tags a run lacks, given what it holds.
struct Writes {
  std::vector<std::pair<Point, std::int64_t>> points;  // with their step
  std::vector<std::pair<std::string, std::string>> tags;
};

// `tags` holds the values' own tags; `provenance` (the spec and step) names who wrote the
// points, and is written with them (or when absent), so that another spec finding the
// values up to date, a June spec after May's, writes nothing.
Writes writes_for(const std::vector<Point>& points, const std::vector<std::pair<std::string, std::string>>& tags,
                  const std::vector<std::pair<std::string, std::string>>& provenance, const RunState& state,
                  const std::string& run_id) {
  Writes w;
  for (const Point& p : points) {
    const auto latest = state.latest.find(p.key);
    if (latest == state.latest.end()) {
      w.points.emplace_back(p, 0);
      continue;
    }
    if (std::strtod(latest->second.value.c_str(), nullptr) == p.value) continue;  // up to date
    if (latest->second.step == std::numeric_limits<std::int64_t>::max())
      throw SpecError(run_id, "the metric " + p.key + " is at the last step MLflow holds, so no later point can be written");
    w.points.emplace_back(p, latest->second.step + 1);
  }
  const auto add = [&](const std::pair<std::string, std::string>& tag, bool only_new) {
    const auto held = state.tags.find(tag.first);
    if (held == state.tags.end() || (held->second != tag.second && !only_new)) w.tags.push_back(tag);
  };
  for (const auto& tag : tags) add(tag, false);
  for (const auto& tag : provenance) add(tag, w.points.empty());
  return w;
}

// ---- The file store ---------------------------------------------------------------------

// Whether a file's last byte is there and is no newline.
bool ends_unended(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() <= 0) return false;
  in.seekg(-1, std::ios::end);
  return in.get() != '\n';
}

class FileStore {
 public:
  explicit FileStore(std::filesystem::path root, std::string shown) : root_(std::move(root)), shown_(std::move(shown)) {
    mlflow::check_store(root_, shown_);
    folders_ = mlflow::run_index(root_);
  }

  // None: the store has no such run. Only the metrics and tags written here, and epochs,
  // are read: a run's other files are its own business.
  std::optional<RunState> state(const std::string& run_id, const std::vector<std::string>& metrics) {
    const auto found = folders_.find(run_id);
    if (found == folders_.end()) return std::nullopt;
    const std::filesystem::path* folder = &found->second;
    const std::string where = shown_ + "/" + folder->lexically_relative(root_).generic_string();
    RunState s;
    const auto meta = mlflow::read_meta_yaml(*folder / "meta.yaml", where + "/meta.yaml");
    if (const auto it = meta.find("lifecycle_stage"); it != meta.end() && it->second.text == "deleted") s.deleted = true;
    if (auto epochs = mlflow::read_small_file(*folder / "params" / "epochs", where + "/params/epochs")) s.params["epochs"] = *epochs;
    std::error_code ec;
    if (std::filesystem::is_directory(*folder / "tags", ec))
      for (const auto& e : std::filesystem::directory_iterator(*folder / "tags"))
        if (e.is_regular_file() && e.path().filename().string().starts_with("apportion."))
          s.tags[e.path().filename().string()] = *mlflow::read_small_file(e.path(), where + "/tags");
    for (const std::string& key : metrics) {
      const auto points = mlflow::read_metric_file(*folder / "metrics" / key, where + "/metrics/" + key);
      if (const mlflow::MetricPoint* p = mlflow::latest_point(points)) s.latest[key] = *p;
    }
    // What will be written is checked now, before anything is: folders that are folders,
    // files that are files, and no symbolic link, which could lead a write out of the store.
    const auto plain = [&](const std::filesystem::path& path, bool folder_expected) {
      std::error_code e;
      const auto status = std::filesystem::symlink_status(path, e);
      if (e || status.type() == std::filesystem::file_type::not_found) return;
      const std::string shown = where + "/" + path.lexically_relative(*folder).generic_string();
      if (status.type() == std::filesystem::file_type::symlink)
        throw SpecError(shown, "is a symbolic link, which the write-back does not follow");
      if (folder_expected ? status.type() != std::filesystem::file_type::directory
                          : status.type() != std::filesystem::file_type::regular)
        throw SpecError(shown, folder_expected ? "is not a folder" : "is not a file");
    };
    plain(*folder, true);
    plain(*folder / "metrics", true);
    plain(*folder / "tags", true);
    for (const std::string& key : metrics) plain(*folder / "metrics" / key, false);
    for (const auto& [key, value] : s.tags) plain(*folder / "tags" / key, false);
    return s;
  }

  void write(const std::string& run_id, const Writes& w) {
    const std::filesystem::path& folder = folders_.at(run_id);
    const auto open = [&](const std::filesystem::path& file, std::ios::openmode mode) {
      std::filesystem::create_directories(file.parent_path());
      std::ofstream out(file, std::ios::binary | mode);
      if (!out) throw SpecError(shown_, "cannot write " + file.lexically_relative(root_).generic_string());
      return out;
    };
    for (const auto& [p, step] : w.points) {
      const std::filesystem::path file = folder / "metrics" / p.key;
      const bool unended = ends_unended(file);  // a last line without its newline: end it first
      std::ofstream out = open(file, std::ios::app);
      if (unended) out << '\n';
      out << p.timestamp << ' ' << python_float(p.value) << ' ' << step << '\n';
      if (!out.flush()) throw SpecError(shown_, "cannot write the metric " + p.key + " of run " + run_id);
    }
    for (const auto& [key, value] : w.tags) {
      std::ofstream out = open(folder / "tags" / key, std::ios::trunc);
      out << value;  // no newline, as MLflow writes a tag
      if (!out.flush()) throw SpecError(shown_, "cannot write the tag " + key + " of run " + run_id);
    }
  }

 private:
  std::filesystem::path root_;
  std::string shown_;
  std::map<std::string, std::filesystem::path> folders_;  // by run id
};

// ---- A tracking server ------------------------------------------------------------------

class Server {
 public:
  Server(std::string url, const MlflowLogOptions& options) : url_(std::move(url)) {
    while (url_.size() > 8 && url_.back() == '/') url_.pop_back();
    shown_ = ingest::shown_address(url_);
    if (!ingest::http_available())
      throw SpecError(shown_, "this build of apportion has no HTTP client (it was built without libcurl)");
    request_.bearer_token = options.bearer_token;
    if (request_.bearer_token && request_.bearer_token->find_first_of("\r\n") != std::string::npos)
      throw SpecError(shown_, "the token must be one line");
  }
  const std::string& shown() const noexcept { return shown_; }

  std::optional<RunState> state(const std::string& run_id, const std::vector<std::string>&) {
    const auto [status, answer] = call("runs/get?run_id=" + ingest::url_encode(run_id), "");
    if (status == 404) {
      const Value* code = answer.find("error_code");
      if (code && code->text() == "RESOURCE_DOES_NOT_EXIST") return std::nullopt;
      fail("runs/get", status, answer);
    }
    if (status < 200 || status >= 300) fail("runs/get", status, answer);
    const Value* run = answer.find("run");
    const Value* info = run ? run->find("info") : nullptr;
    if (!info) throw SpecError(shown_, "the runs/get answer for run " + run_id + " has no run.info");
    RunState s;
    if (const Value* stage = info->find("lifecycle_stage"); stage && stage->text() == "deleted") s.deleted = true;
    if (const Value* data = run->find("data")) {
      const auto pairs = [&](const char* key, std::map<std::string, std::string>& into) {
        if (const Value* list = data->find(key); list && list->is(Value::Type::array))
          for (const Value& item : list->items())
            if (const Value* k = item.find("key"))
              if (const Value* v = item.find("value")) into[k->text()] = v->text();
      };
      pairs("params", s.params);
      pairs("tags", s.tags);
      if (const Value* list = data->find("metrics"); list && list->is(Value::Type::array))
        for (const Value& item : list->items()) {
          const Value* k = item.find("key");
          const Value* v = item.find("value");
          if (!k || !v) continue;
          mlflow::MetricPoint p;
          p.value = v->text();
          if (const Value* step = item.find("step")) p.step = mlflow::whole_number(step->text()).value_or(0);
          if (const Value* t = item.find("timestamp")) p.timestamp = mlflow::whole_number(t->text()).value_or(0);
          s.latest[k->text()] = std::move(p);
        }
    }
    return s;
  }

  void write(const std::string& run_id, const Writes& w) {
    text::Buffer body = R"({"run_id":)";
    text::put_json_string(body, run_id);
    body += R"(,"metrics":[)";
    for (std::size_t i = 0; i < w.points.size(); ++i) {
      const auto& [p, step] = w.points[i];
      body += i ? "," : "";
      body += R"({"key":)";
      text::put_json_string(body, p.key);
      body += fmt::format(R"(,"value":{},"timestamp":{},"step":{}}})", python_float(p.value), p.timestamp, step);
    }
    body += R"(],"tags":[)";
    for (std::size_t i = 0; i < w.tags.size(); ++i) {
      body += i ? "," : "";
      body += R"({"key":)";
      text::put_json_string(body, w.tags[i].first);
      body += R"(,"value":)";
      text::put_json_string(body, w.tags[i].second);
      body += "}";
    }
    body += "]}";
    const auto [status, answer] = call("runs/log-batch", body);
    if (status < 200 || status >= 300) fail("runs/log-batch", status, answer);
  }

 private:
  std::pair<long, Value> call(const std::string& api, const std::string& body) {
    ingest::HttpRequest request = request_;
    request.url = url_ + "/api/2.0/mlflow/" + api;
    request.form = body;
    request.content_type = "application/json";
    const std::filesystem::path file = temp_.file("answer.json");
    ingest::HttpAnswer answer;
    try {
      answer = ingest::http_fetch(request, file, shown_);
    } catch (const ingest::HttpError& e) {
      throw SpecError("", e.what());  // it names the address
    }
    std::ifstream in(file, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    Value doc;
    try {
      doc = parse_json(text.empty() ? "{}" : text);
    } catch (const SpecError&) {
      std::string line = text.substr(0, text.find_first_of("\r\n"));
      if (line.size() > 200) line = line.substr(0, 200) + "...";
      throw SpecError(shown_, "the " + api.substr(0, api.find('?')) + " answer (HTTP " + std::to_string(answer.status) +
                                  ") is not JSON (is this an MLflow tracking server's address?): " + line);
    }
    return {answer.status, std::move(doc)};
  }

  [[noreturn]] void fail(const std::string& api, long status, const Value& answer) const {
    std::string what = "MLflow answered " + api + " with HTTP " + std::to_string(status);
    if (const Value* code = answer.find("error_code")) what += " (" + code->text() + ")";
    if (const Value* message = answer.find("message")) what += ": " + message->text();
    throw SpecError(shown_, what);
  }

  std::string url_, shown_;
  ingest::HttpRequest request_;
  ingest::TempDir temp_;
};

// The priced runs of every per_experiment step, by run id; a run is the first step's that
// priced it (a second step reads the same records).
std::map<std::string, PricedRun> priced_runs(const Allocation& allocation, std::vector<std::string>& warnings) {
  std::map<std::string, PricedRun> runs;
  std::size_t untagged = 0;
  std::string untagged_step;
  for (const Step& step : allocation.steps) {
    if (!step.strategy || !step.strategy->reads_priced_runs()) continue;
    std::set<std::string> of_step;
    for (const Record* r : records_of_step(allocation, step)) {
      const std::optional<std::string_view> tag = r->tags.get("run_id");
      if (!tag || tag->empty()) {
        if (untagged++ == 0) untagged_step = step.id;
        continue;
      }
      const std::string run_id(*tag);
      const auto [it, added] = runs.try_emplace(run_id);
      if (!added && !of_step.contains(run_id)) continue;  // priced by an earlier step
      of_step.insert(run_id);
      PricedRun& p = it->second;
      p.step = step.id;
      // The whole run, even where the input's window clips it: a month's spec charges the
      // month its part, but a run's training cost is all of it, the same in every month.
      Record whole = *r;
      whole.window.reset();
      whole.billed_part.reset();
      p.cost += PerExperiment::price(whole, allocation.catalog.get());
      p.gpu_hours += whole.run_hours();
      const Interval run(*r->start, *r->end);
      p.sku = *r->sku;
      p.tier = r->tier.value_or("on_demand");
      if (run.length().count() > 0) {
        p.rate_hours += allocation.catalog->rate_hours(p.sku, p.tier, run) * r->count->to_rational();
        p.hours += hours_of(run.length()) * r->count->to_rational();
      }
      p.end = std::max(p.end, run.end());
      ++p.records;
    }
  }
  if (untagged > 0)
    warnings.push_back(std::to_string(untagged) + (untagged == 1 ? " priced run" : " priced runs") + " of step " +
                       untagged_step + " (and any after it) have no run_id tag, so they name no MLflow run and are not logged");
  return runs;
}


template <class Target>
MlflowLogReport log_runs(Target& target, const std::string& shown, const Allocation& allocation, const Result& result,
                         const MlflowLogOptions& options) {
  MlflowLogReport report;
  report.target = shown;
  report.places = result.precision.fractional_digits();
  const int places = report.places;
  const std::string currency(result.currency.code());
  const Decimal hours_unit = Decimal::parse("0.000001");
  const std::string cost_metric = "training_cost_" + ingest::lower(currency);
  const std::vector<std::string> metrics{cost_metric, "gpu_hours", "cost_per_epoch", "epochs"};
  std::vector<std::string> missing, deleted;
  // Every run's state read and its writes worked out before anything is written, so that a
  // run whose files cannot be read stops the write-back before it has begun.
  std::vector<Writes> writes;
  for (const auto& [run_id, p] : priced_runs(allocation, report.warnings)) {
    const std::optional<RunState> state = target.state(run_id, metrics);
    if (!state) {
      missing.push_back(run_id);
      continue;
    }
    if (state->deleted) {
      deleted.push_back(run_id);
      continue;
    }
    MlflowLoggedRun logged;
    logged.run_id = run_id;
    logged.step = p.step;
    logged.cost = Decimal::from_rational(p.cost, result.precision);
    logged.gpu_hours = Decimal::from_rational(p.gpu_hours, hours_unit);
    const std::optional<Decimal> epochs = epochs_of(*state);
    if (epochs) logged.cost_per_epoch = Decimal::from_rational(p.cost / epochs->to_rational(), result.precision);

    const std::int64_t timestamp = p.end.unix_nanos() / 1'000'000;
    std::vector<Point> points{{cost_metric, nearest_double(logged.cost), timestamp},
                              {"gpu_hours", nearest_double(logged.gpu_hours), timestamp}};
    if (logged.cost_per_epoch) points.push_back({"cost_per_epoch", nearest_double(*logged.cost_per_epoch), timestamp});
    std::string price = p.sku + " " + p.tier;
    if (p.hours != 0) {
      const Decimal rate = Decimal::from_rational(p.rate_hours / p.hours, hours_unit);
      price += " at " + rate.to_fixed(std::max(places, rate.fractional_digits())) + " " + currency + " per " +
               std::string(to_string(allocation.catalog->sku(p.sku).unit));
    }
    price += ", billed " + std::string(to_string(allocation.catalog->sku(p.sku).billing));
    std::vector<std::pair<std::string, std::string>> tags{
        {"apportion.training_cost", logged.cost.to_fixed(places) + " " + currency},
        {"apportion.gpu_hours", logged.gpu_hours.to_fixed(6)},
        {"apportion.price", price}};
    if (logged.cost_per_epoch)
      tags.emplace_back("apportion.cost_per_epoch", logged.cost_per_epoch->to_fixed(places) + " " + currency);
    std::vector<std::pair<std::string, std::string>> provenance{{"apportion.step", p.step}};
    if (!options.spec.empty()) provenance.emplace_back("apportion.spec", options.spec);
    Writes w = writes_for(points, tags, provenance, *state, run_id);
    for (const auto& [point, step] : w.points) logged.metrics_written.push_back(point.key);
    for (const auto& [key, value] : w.tags) logged.tags_written.push_back(key);
    report.runs.push_back(std::move(logged));
    writes.push_back(std::move(w));
  }
  for (std::size_t i = 0; i < writes.size(); ++i)
    if (!writes[i].points.empty() || !writes[i].tags.empty()) target.write(report.runs[i].run_id, writes[i]);
  report.not_logged = missing.size() + deleted.size();
  const auto tell = [&](const std::vector<std::string>& runs, const std::string& why) {
    if (runs.empty()) return;
    const std::string ids = mlflow::first_few(runs);
    report.warnings.push_back(std::to_string(runs.size()) + (runs.size() == 1 ? " priced run is " : " priced runs are ") + why +
                              " and " + (runs.size() == 1 ? "was" : "were") + " not logged: " + ids);
  };
  tell(missing, "not in " + shown);
  tell(deleted, "deleted in " + shown);
  return report;
}

std::string percent_decoded(std::string_view text, const std::string& target) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size() || std::sscanf(std::string(text.substr(i + 1, 2)).c_str(), "%2x", &value) != 1 ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 1])) || !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
      throw SpecError(target, "a % in a file:// URI is not followed by two hex digits");
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

}  // namespace

MlflowLogReport log_to_mlflow(const Allocation& allocation, const Result& result, const std::string& target,
                              const MlflowLogOptions& options) {
  if (target.empty()) throw SpecError("mlflow", "the store's folder or the server's address is empty");
  if (target.starts_with("http://") || target.starts_with("https://")) {
    Server server(target, options);
    return log_runs(server, server.shown(), allocation, result, options);
  }
  // MLflow's own spellings of a local store: file:///abs/mlruns (or file://localhost/...,
  // percent-encoded), file:./mlruns, file:mlruns.
  std::string folder = target;
  if (folder.starts_with("file://localhost/")) folder = percent_decoded(folder.substr(16), target);
  else if (folder.starts_with("file://")) folder = percent_decoded(folder.substr(7), target);
  else if (folder.starts_with("file:")) folder = percent_decoded(folder.substr(5), target);
  else if (folder.find("://") != std::string::npos || folder.starts_with("databricks"))
    throw SpecError(target, "is neither a folder, a file:// URI nor an http(s):// address of a tracking server");
  try {
    FileStore store(folder, target);
    return log_runs(store, target, allocation, result, options);
  } catch (const std::filesystem::filesystem_error& e) {  // a folder that cannot be read or written
    throw SpecError(target, e.code().message() + ": " + e.path1().string());
  }
}

std::string mlflow_log_report_to_json(const MlflowLogReport& report) {
  text::Buffer out = R"({"target":)";
  text::put_json_string(out, report.target);
  out += R"(,"runs":[)";
  const auto list = [&](const std::vector<std::string>& items) {
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ',';
      text::put_json_string(out, items[i]);
    }
    out += ']';
  };
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const MlflowLoggedRun& r = report.runs[i];
    out += i ? ",{" : "{";
    out += R"("run_id":)";
    text::put_json_string(out, r.run_id);
    out += R"(,"step":)";
    text::put_json_string(out, r.step);
    out += R"(,"cost":)";
    text::put_json_string(out, r.cost.to_fixed(report.places));
    out += R"(,"gpu_hours":)";
    text::put_json_string(out, r.gpu_hours.to_fixed(6));
    out += R"(,"cost_per_epoch":)";
    if (r.cost_per_epoch) text::put_json_string(out, r.cost_per_epoch->to_fixed(report.places));
    else out += "null";
    out += R"(,"metrics_written":)";
    list(r.metrics_written);
    out += R"(,"tags_written":)";
    list(r.tags_written);
    out += '}';
  }
  out += R"(],"not_logged":)" + std::to_string(report.not_logged) + R"(,"points_written":)" +
         std::to_string(report.points_written()) + R"(,"warnings":)";
  list(report.warnings);
  out += "}\n";
  return out;
}

APPORTION_END_NAMESPACE
