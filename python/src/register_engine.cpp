// The spec runner: JSON text (or a spec file) in, a Result out, rendered as the result
// document, a table or CSV. The same functions the command line uses, so Python gets the
// same numbers and the same error messages; the GIL is released while they run.

#include <pybind11/stl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "apportion/limits.hpp"
#include "apportion/render.hpp"
#include "apportion/spec.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

// `limits`: limit name -> value as decimal text ("max_records" -> "1000"), checked here.
using LimitSettings = std::map<std::string, std::string>;

Result run_text(const std::string& text, const std::filesystem::path& base_dir, const LimitSettings& limits) {
  SpecOptions options;
  options.base_dir = base_dir;
  for (const auto& [name, value] : limits) set_limit(options.limits, name, value, name);
  return run(allocation_from_json(text, options));
}

// As the command line reads a spec file, with its message when the file cannot be read.
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot read the file: " + std::strerror(errno));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

void register_engine(py::module_& m) {
  py::class_<Result, std::shared_ptr<Result>>(m, "Result", "The result of one run, kept in C++ until rendered.")
      .def("to_json", &result_to_json, py::call_guard<py::gil_scoped_release>(),
           "The result document (spec.md, Result) as JSON text.")
      .def("to_table", &result_to_table, py::call_guard<py::gil_scoped_release>(),
           "An aligned table per step, as `apportion run --format table` prints it.")
      .def("to_csv", &result_to_csv, py::call_guard<py::gil_scoped_release>(),
           "One CSV row per line, as `apportion run --format csv` prints it.");

  m.def(
      "run_spec",
      [](const std::string& text, const std::string& base_dir, const LimitSettings& limits) {
        py::gil_scoped_release release;
        return std::make_shared<Result>(run_text(text, base_dir, limits));
      },
      py::arg("text"), py::arg("base_dir") = ".", py::arg("limits") = LimitSettings{},
      "Runs spec JSON text; `inputs` paths are relative to base_dir; `limits` maps limit names to values.");
  m.def(
      "run_spec_file",
      [](const std::string& path, const LimitSettings& limits) {
        py::gil_scoped_release release;
        return std::make_shared<Result>(run_text(read_file(path), std::filesystem::path(path).parent_path(), limits));
      },
      py::arg("path"), py::arg("limits") = LimitSettings{}, "Runs a spec file; `inputs` paths are relative to its folder.");
  m.def("strategies", [] { return StrategyRegistry::global().names(); }, "The names of the registered strategies.");
  m.def(
      "ingest_json",
      [](const std::string& format, const std::string& text, const std::string& options_json, const std::string& source) {
        py::gil_scoped_release release;
        const Value options = parse_json(options_json);
        ObjectReader reader(options, "options");
        const IngestResult result = IngestRegistry::global().parse(format, text, reader, source);
        reader.finish();
        return ingest_result_to_json(result);
      },
      py::arg("format"), py::arg("text"), py::arg("options_json") = "{}", py::arg("source") = "input",
      "Reads text in an input format; returns the records, pools or catalog as spec JSON.");
  m.def("ingest_formats", [] { return IngestRegistry::global().formats(); }, "The names of the input formats.");
}

}  // namespace apportion::python
