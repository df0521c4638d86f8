// The spec runner: JSON text (or a spec file) in, a Result out, rendered as the result
// document, a table or CSV. The same functions the command line uses, so Python gets the
// same numbers and the same error messages; the GIL is released while they run.

#include <pybind11/stl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "apportion/alerts.hpp"
#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "apportion/limits.hpp"
#include "apportion/mlflow.hpp"
#include "apportion/render.hpp"
#include "apportion/report.hpp"
#include "apportion/spec.hpp"
#include "batch.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

// `limits`: limit name -> value as decimal text ("max_records" -> "1000"), checked here;
// and "live_sources" -> "false" to refuse inputs that read a server.
using LimitSettings = std::map<std::string, std::string>;
// Records as columns, read after the spec's own records.
using Batches = std::vector<std::shared_ptr<Batch>>;

Allocation read_text(const std::string& text, const std::filesystem::path& base_dir, const LimitSettings& limits,
                     const Batches& batches = {}) {
  SpecOptions options;
  options.base_dir = base_dir;
  for (const auto& [name, value] : limits) {
    if (name == "live_sources") options.live_sources = value != "false";
    else set_limit(options.limits, name, value, name);
  }
  for (const auto& b : batches) options.batches.push_back(b->batch);
  return allocation_from_json(text, options);
}

// What `read` gives reading an input with the options of `options_json`, every option
// checked as read, as spec JSON: what `apportion.ingest` returns, from a file, a folder or
// a server.
template <class Read>
std::string ingest_to_json(const std::string& options_json, Read&& read) {
  const Value options = parse_json(options_json);
  ObjectReader reader(options, "options");
  const IngestResult result = read(reader);
  reader.finish();
  return ingest_result_to_json(result);
}

// The new alerts of a spec, rendered: `fired` holds the keys of earlier checks.
std::string alerts_text(const std::string& text, const std::filesystem::path& base_dir, const LimitSettings& limits,
                        const std::string& format, const std::vector<std::string>& fired) {
  const AlertFormat f = parse_alert_format(format);
  Allocation allocation = read_text(text, base_dir, limits);
  add_fired_keys(allocation, fired);
  return render_alerts(alert_events(run(allocation)), f);
}

// A run's result with what result_to_focus reads of its allocation: the steps and pools
// (its records are dropped once the run is over).
struct RunResult {
  Result result;
  Allocation allocation;
};

std::shared_ptr<RunResult> run_kept(Allocation allocation) {
  auto out = std::make_shared<RunResult>();
  out->result = run(allocation);
  allocation.records = {};
  out->allocation = std::move(allocation);
  return out;
}

// The lines as columns, each a list with one entry per line: what lines_dataframe builds a
// DataFrame from, the numbers formatted as the result document writes them (so the two
// agree), as decimal.Decimal, without a JSON text between.
py::dict lines_columns(const Result& result) {
  const std::size_t n = result.lines.size();
  const py::object decimal_type = py::module_::import("decimal").attr("Decimal");
  const auto none_list = [n] {
    py::list l(n);
    for (std::size_t i = 0; i < n; ++i) l[i] = py::none();
    return l;
  };
  // Steps, pools, kinds and tag values repeat: one str object each.
  std::map<std::string, py::str, std::less<>> strings;
  const auto text = [&](std::string_view s) -> py::object {
    auto it = strings.find(s);
    if (it == strings.end()) it = strings.emplace(std::string(s), py::str(s.data(), s.size())).first;
    return it->second;
  };
  const auto number = [&](const std::string& s) { return decimal_type(py::str(s)); };
  std::set<std::string, std::less<>> keys;
  for (const Line& l : result.lines)
    for (const auto& [k, v] : l.tags) keys.insert(k);
  py::list step(n), pool(n), kind(n), cost(n), weight = none_list(), share = none_list();
  const bool series = !result.series.empty();  // then each line's bucket, as RFC 3339 text
  py::list bucket_start = series ? none_list() : py::list(), bucket_end = series ? none_list() : py::list();
  std::map<std::string, py::list, std::less<>> tags;
  for (const std::string& k : keys) tags.emplace(k, none_list());
  // The optional columns, created when some line has a value.
  std::map<std::string, py::list> optional;
  const auto set_optional = [&](const char* name, std::size_t i, const std::optional<Rational>& value, auto format) {
    if (!value) return;
    auto it = optional.find(name);
    if (it == optional.end()) it = optional.emplace(name, none_list()).first;
    it->second[i] = number(format(*value));
  };
  const Decimal unit = result.precision;
  const auto amount = [&](const Rational& r) { return format_amount(r, unit); };
  const auto places = [](const Rational& r) { return format_places(r, 6); };
  for (std::size_t i = 0; i < n; ++i) {
    const Line& l = result.lines[i];
    step[i] = text(l.step);
    pool[i] = l.pool ? text(*l.pool) : py::none();
    kind[i] = text(to_string(l.kind));
    if (series && l.bucket) {
      bucket_start[i] = text(l.bucket->start().to_string());
      bucket_end[i] = text(l.bucket->end().to_string());
    }
    for (const auto& [k, v] : l.tags) tags.find(k)->second[i] = text(v);
    cost[i] = number(format_amount(l.cost, unit));
    if (l.weight) weight[i] = number(format_weight(*l.weight));
    if (l.share) share[i] = number(format_places(*l.share, 6));
    set_optional("split_cost", i, l.split_cost, amount);
    set_optional("unused_cost", i, l.unused_cost, amount);
    set_optional("gpu_hours", i, l.gpu_hours, places);
  }
  py::dict tag_columns;
  for (auto& [k, column] : tags) tag_columns[py::str(k)] = column;
  py::dict out;
  out["step"] = step;
  out["pool"] = pool;
  if (series) {
    out["bucket_start"] = bucket_start;
    out["bucket_end"] = bucket_end;
  }
  out["kind"] = kind;
  out["tags"] = tag_columns;
  out["cost"] = cost;
  out["weight"] = weight;
  out["share"] = share;
  for (const char* name : {"split_cost", "unused_cost", "gpu_hours"})
    if (const auto it = optional.find(name); it != optional.end()) out[name] = it->second;
  return out;
}

// As the command line reads a spec file, with its message when the file cannot be read.
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot read the file: " + std::strerror(errno));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

void register_engine(py::module_& m) {
  py::class_<RunResult, std::shared_ptr<RunResult>>(m, "Result", "The result of one run, kept in C++ until rendered.")
      .def("to_json", [](const RunResult& r) { return result_to_json(r.result); }, py::call_guard<py::gil_scoped_release>(),
           "The result document (spec.md, Result) as JSON text.")
      .def("lines_columns", [](const RunResult& r) { return lines_columns(r.result); },
           "The lines as columns: {step, pool, kind, tags: {key: column}, cost, weight, share, and split_cost, "
           "unused_cost, gpu_hours where a line has one}, each a list (numbers decimal.Decimal, None where "
           "a line has no value).")
      .def("to_table", [](const RunResult& r) { return result_to_table(r.result); },
           py::call_guard<py::gil_scoped_release>(), "An aligned table per step, as `apportion run --format table` prints it.")
      .def("to_csv", [](const RunResult& r) { return result_to_csv(r.result); }, py::call_guard<py::gil_scoped_release>(),
           "One CSV row per line, as `apportion run --format csv` prints it.")
      .def("to_focus", [](const RunResult& r) { return result_to_focus(r.result, r.allocation); },
           py::call_guard<py::gil_scoped_release>(),
           "FOCUS 1.3 allocated charges (CSV), as `apportion run --format focus` prints them.")
      .def("to_markdown", [](const RunResult& r) { return result_to_markdown(r.result); },
           py::call_guard<py::gil_scoped_release>(), "Markdown tables, as `apportion run --format markdown` prints them.")
      .def("to_prometheus", [](const RunResult& r) { return result_to_prometheus(r.result); },
           py::call_guard<py::gil_scoped_release>(),
           "Prometheus text exposition, as `apportion run --format prometheus` prints it.")
      .def(
          "to_html",
          [](const RunResult& r, const std::optional<std::string>& title, const std::optional<std::string>& generated_at) {
            ReportOptions options;
            if (title) options.title = *title;
            options.generated_at = generated_at;
            py::gil_scoped_release release;
            return result_to_html(r.result, options);
          },
          py::arg("title") = py::none(), py::arg("generated_at") = py::none(),
          "A self-contained HTML showback report, as `apportion report` writes it.");

  m.def(
      "run_spec",
      [](const std::string& text, const std::string& base_dir, const LimitSettings& limits, const Batches& batches) {
        py::gil_scoped_release release;
        return run_kept(read_text(text, base_dir, limits, batches));
      },
      py::arg("text"), py::arg("base_dir") = ".", py::arg("limits") = LimitSettings{}, py::arg("batches") = Batches{},
      "Runs spec JSON text; `inputs` paths are relative to base_dir; `limits` maps limit names to values; "
      "`batches` (RecordBatch) are records read after the spec's own.");
  m.def(
      "run_spec_file",
      [](const std::string& path, const LimitSettings& limits, const Batches& batches) {
        py::gil_scoped_release release;
        return run_kept(read_text(read_file(path), std::filesystem::path(path).parent_path(), limits, batches));
      },
      py::arg("path"), py::arg("limits") = LimitSettings{}, py::arg("batches") = Batches{},
      "Runs a spec file; `inputs` paths are relative to its folder.");
  m.def(
      "alerts_spec",
      [](const std::string& text, const std::string& base_dir, const LimitSettings& limits, const std::string& format,
         const std::vector<std::string>& already_fired) {
        py::gil_scoped_release release;
        return alerts_text(text, base_dir, limits, format, already_fired);
      },
      py::arg("text"), py::arg("base_dir") = ".", py::arg("limits") = LimitSettings{}, py::arg("format") = "text",
      py::arg("already_fired") = std::vector<std::string>{},
      "The new alerts of spec JSON text (budgets, anomalies) rendered as text, json or slack.");
  m.def(
      "alerts_spec_file",
      [](const std::string& path, const LimitSettings& limits, const std::string& format,
         const std::vector<std::string>& already_fired) {
        py::gil_scoped_release release;
        return alerts_text(read_file(path), std::filesystem::path(path).parent_path(), limits, format, already_fired);
      },
      py::arg("path"), py::arg("limits") = LimitSettings{}, py::arg("format") = "text",
      py::arg("already_fired") = std::vector<std::string>{},
      "The new alerts of a spec file rendered as text, json or slack.");
  m.def(
      "log_to_mlflow_spec",
      [](const std::string& text, const std::string& base_dir, const LimitSettings& limits, const std::string& target,
         const std::string& spec_name, std::optional<std::string> token) {
        py::gil_scoped_release release;
        const Allocation allocation = read_text(text, base_dir, limits);
        const Result result = run(allocation);
        MlflowLogOptions options;
        options.spec = spec_name;
        options.bearer_token = std::move(token);
        return mlflow_log_report_to_json(log_to_mlflow(allocation, result, target, options));
      },
      py::arg("text"), py::arg("base_dir"), py::arg("limits"), py::arg("target"), py::arg("spec_name"), py::arg("token"),
      "Runs spec JSON text and writes its priced runs' costs to an MLflow store or server; the report as JSON.");
  m.def("strategies", [] { return StrategyRegistry::global().names(); }, "The names of the registered strategies.");
  m.def(
      "ingest_json",
      [](const std::string& format, const std::string& text, const std::string& options_json, const std::string& source) {
        py::gil_scoped_release release;
        return ingest_to_json(options_json, [&](ObjectReader& reader) {
          return IngestRegistry::global().parse(format, text, reader, source);
        });
      },
      py::arg("format"), py::arg("text"), py::arg("options_json") = "{}", py::arg("source") = "input",
      "Reads text in an input format; returns the records, pools or catalog as spec JSON.");
  m.def(
      "ingest_folder_json",
      [](const std::string& format, const std::string& folder, const std::string& options_json) {
        py::gil_scoped_release release;
        return ingest_to_json(options_json, [&](ObjectReader& reader) {
          return IngestRegistry::global().parse_folder(format, folder, reader, folder);
        });
      },
      py::arg("format"), py::arg("folder"), py::arg("options_json") = "{}",
      "Reads a folder in an input format (mlflow's mlruns/); returns the records as spec JSON.");
  m.def(
      "ingest_live_json",
      [](const std::string& format, const std::string& options_json) {
        py::gil_scoped_release release;
        return ingest_to_json(options_json, [&](ObjectReader& reader) {
          return IngestRegistry::global().parse_live(format, reader, LiveContext{});
        });
      },
      py::arg("format"), py::arg("options_json"),
      "Reads an input format from a live source (the `url` option and those with it); returns spec JSON.");
  m.def("ingest_formats", [] { return IngestRegistry::global().formats(); }, "The names of the input formats.");
}

}  // namespace apportion::python
