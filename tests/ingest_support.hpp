#pragma once
// What the ingest tests share: reading test data, and running a format the way the spec
// runner does (options from JSON, then every option checked as read).

#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <utility>
#include <sstream>
#include <string>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"

namespace ingest_test {

// A file under tests/data, by its path there ("csv/usage.csv").
inline std::string read_data(const std::string& relative) {
  std::ifstream in(std::string(APPORTION_TEST_DATA) + "/" + relative, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline apportion::IngestResult ingest(const std::string& format, const std::string& text,
                                      const std::string& options_json, const std::string& source = "sample.txt") {
  const apportion::Value options = apportion::parse_json(options_json);
  apportion::ObjectReader reader(options, "inputs[0]");
  apportion::IngestResult r = apportion::IngestRegistry::global().parse(format, text, reader, source);
  reader.finish();
  return r;
}

// Everything an ingest gave, as text, to compare two ways of reading one input.
inline std::string describe(const apportion::IngestResult& r) {
  std::string out = "rows " + std::to_string(r.rows) + ", skipped " + std::to_string(r.skipped) + "\n";
  for (const std::string& s : r.skipped_reasons) out += "skipped: " + s + "\n";
  for (const std::string& w : r.warnings) out += "warning: " + w + "\n";
  for (const apportion::Record& rec : r.records) {
    out += rec.origin + ":";
    for (const auto& [k, v] : rec.tags) out += " " + k + "=" + v;
    for (const auto& [k, v] : rec.measures) out += " " + k + ":" + v.to_string();
    if (rec.start) out += " from " + rec.start->to_string();
    if (rec.end) out += " to " + rec.end->to_string();
    out += "\n";
  }
  return out;
}

// A format with a streaming entry point read both ways, whole and streamed: they must give
// the same records, skipped rows and warnings, or the same error; the result, or that error.
inline apportion::IngestResult ingest_both_ways(const std::string& format, const std::string& text,
                                                const std::string& options_json, const std::string& source = "sample.txt") {
  const auto read = [&](bool stream) -> std::pair<std::optional<apportion::IngestResult>, std::string> {
    try {
      const apportion::Value options = apportion::parse_json(options_json);
      apportion::ObjectReader reader(options, "inputs[0]");
      std::istringstream in(text);
      apportion::IngestResult r = stream ? apportion::IngestRegistry::global().parse_stream(format, in, reader, source)
                                         : apportion::IngestRegistry::global().parse(format, text, reader, source);
      reader.finish();
      return {std::move(r), ""};
    } catch (const apportion::SpecError& e) {
      return {std::nullopt, e.what()};
    }
  };
  auto whole = read(false);
  const auto streamed = read(true);
  if (whole.first && streamed.first) {
    if (describe(*whole.first) != describe(*streamed.first))
      throw std::logic_error("streamed differs from whole:\n" + describe(*whole.first) + "---\n" + describe(*streamed.first));
    return std::move(*whole.first);
  }
  if (whole.second != streamed.second)
    throw std::logic_error("streamed error differs from whole: \"" + whole.second + "\" / \"" + streamed.second + "\"");
  throw apportion::SpecError("", whole.second);
}

// The message of the SpecError `f` throws, or "no error".
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const apportion::SpecError& e) {
    return e.what();
  }
  return "no error";
}

// The message of an ingest expected to fail, or "no error".
inline std::string error_of(const std::string& format, const std::string& text, const std::string& options_json,
                            const std::string& source = "sample.txt") {
  return message_of([&] { ingest(format, text, options_json, source); });
}

// The message of an ingest expected to fail, read both ways (ingest_both_ways), or "no error".
inline std::string error_both_ways(const std::string& format, const std::string& text, const std::string& options_json,
                                   const std::string& source = "sample.txt") {
  return message_of([&] { ingest_both_ways(format, text, options_json, source); });
}

// A folder read in a format that reads folders (mlflow's mlruns/), as the spec runner reads it.
inline apportion::IngestResult ingest_folder(const std::string& format, const std::filesystem::path& folder,
                                             const std::string& options_json, const std::string& source) {
  const apportion::Value options = apportion::parse_json(options_json);
  apportion::ObjectReader reader(options, "inputs[0]");
  apportion::IngestResult r = apportion::IngestRegistry::global().parse_folder(format, folder, reader, source);
  reader.finish();
  return r;
}

}  // namespace ingest_test
