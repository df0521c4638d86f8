#pragma once
// What the ingest tests share: reading test data, and running a format the way the spec
// runner does (options from JSON, then every option checked as read).

#include <fstream>
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

// The message of an ingest expected to fail, or "no error".
inline std::string error_of(const std::string& format, const std::string& text, const std::string& options_json,
                            const std::string& source = "sample.txt") {
  try {
    ingest(format, text, options_json, source);
  } catch (const apportion::SpecError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace ingest_test
