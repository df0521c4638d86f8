// The `jsonl` ingest format: one JSON object per line, fields mapped by name or dotted path.
// Every input is read whole and a line at a time (ingest_both_ways): the two must agree.

#include <gtest/gtest.h>

#include <string>

#include "apportion/apportion.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;
using ingest_test::error_both_ways;

IngestResult ingest(const std::string& text, const std::string& options_json) {
  return ingest_test::ingest_both_ways("jsonl", text, options_json, "requests.jsonl");
}

std::string error_of(const std::string& text, const std::string& options_json) {
  return error_both_ways("jsonl", text, options_json, "requests.jsonl");
}

std::string tag_text(const Tags& tags) { return tags_text(tags, " "); }

std::string tag(const Record& r, const std::string& key) { return std::string(r.tags.get(key).value_or("<none>")); }

// An inference service's per-request log, as a JSON logger writes it: nested objects,
// numbers as JSON numbers and as strings, a CRLF line, a blank line.
const std::string kLog =
    R"({"ts":"2026-11-03T10:00:00.120Z","model":"llama-3-70b","request":{"id":"r1","business_unit":"search"},"usage":{"gpu_seconds":0.1,"prompt_tokens":512}})"
    "\n"
    R"({"ts":"2026-11-03T10:00:00.480Z","model":"llama-3-70b","request":{"id":"r2","business_unit":"ads"},"usage":{"gpu_seconds":0.2,"prompt_tokens":900}})"
    "\r\n\n"
    R"({"ts":1793700001.5,"model":"mistral-7b","request":{"id":"r3","business_unit":"search"},"usage":{"gpu_seconds":"1e-7","prompt_tokens":10},"http.status":200})"
    "\n";

TEST(Jsonl, FieldsByNameAndDottedPathExactly) {
  const IngestResult r = ingest(kLog, R"({"tags": ["model", "request.business_unit", "http.status"],
                                          "measures": {"gpu_seconds": "usage.gpu_seconds", "tokens": "usage.prompt_tokens"},
                                          "at": "ts", "id": "request.id", "pool": "gpu-node-3"})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.rows, 3u);  // the blank line is no row
  EXPECT_EQ(tag(r.records[1], "request.business_unit"), "ads");
  EXPECT_EQ(tag(r.records[2], "http.status"), "200");  // a key holding a dot, found whole
  // Decimals from the JSON text, not through a double: 0.1 + 0.2 is 0.3.
  EXPECT_EQ((r.records[0].measures.at("gpu_seconds") + r.records[1].measures.at("gpu_seconds")).to_string(), "0.3");
  EXPECT_EQ(r.records[2].measures.at("gpu_seconds").to_string(), "0.0000001");
  EXPECT_EQ(r.records[0].measures.at("tokens").to_string(), "512");
  EXPECT_EQ(r.records[0].at->to_string(), "2026-11-03T10:00:00.12Z");
  EXPECT_EQ(r.records[2].at->to_string(), "2026-11-03T10:00:01.5Z");  // Unix seconds
  EXPECT_EQ(r.records[1].id, "r2");
  EXPECT_EQ(*r.records[0].pool, "gpu-node-3");
  EXPECT_EQ(r.records[2].origin, "requests.jsonl line 4");
  // `apportion ingest` writes each record's instant (it wrote none before jsonl gave one).
  EXPECT_NE(ingest_result_to_json(r).find(R"("at": "2026-11-03T10:00:00.12Z")"), std::string::npos);
  // Renamed on the command line's way: key=path.
  const IngestResult renamed = ingest(kLog, R"({"tags": "business_unit=request.business_unit", "measures": "usage.gpu_seconds"})");
  EXPECT_EQ(tag(renamed.records[0], "business_unit"), "search");
}

TEST(Jsonl, MissingFieldsAreToldAndTimesInOtherUnits) {
  const std::string log = R"({"t":1793700000123,"end":1793700060123,"g":1})"
                          "\n"
                          R"({"t":1793700000000,"end":1793700000000,"g":2,"team":"a"})"
                          "\n";
  const IngestResult r = ingest(log, R"({"tags": "team", "measures": "g,h", "start": "t", "end": "end", "time_unit": "ms"})");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].start->to_string(), "2026-11-03T10:00:00.123Z");
  EXPECT_EQ(r.records[0].end->to_string(), "2026-11-03T10:01:00.123Z");
  EXPECT_FALSE(r.records[0].tags.contains("team"));
  EXPECT_EQ(r.records[0].measures.count("h"), 0u);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "requests.jsonl: 2 of 2 lines have no h; their records go without it",
                            "requests.jsonl: 1 of 2 lines has no team; their records go without it"}));
}

TEST(Jsonl, BadLinesNameTheirLineAndAreSkippedOnlyWhenAsked) {
  const std::string opts = R"({"tags": "team", "measures": "g", "at": "ts"})";
  const std::string good = R"({"ts":"2026-11-03T10:00:00Z","g":1,"team":"a"})";
  EXPECT_EQ(error_of(good + "\n" + R"({"ts":"2026-11-03T10:00:00Z","g":-1})", opts),
            "requests.jsonl line 2: g: must not be negative (got \"-1\")");
  EXPECT_EQ(error_of("[1]", opts), "requests.jsonl line 1: not a JSON object (got a list)");
  EXPECT_EQ(error_of(R"({"g": 1)", opts).substr(0, 43), "requests.jsonl line 1: not JSON: column 8: ");
  EXPECT_EQ(error_of(R"({"g":1,"g":2})", opts).substr(0, 25), "requests.jsonl line 1: g:");  // valid JSON, a key twice
  EXPECT_EQ(error_of(R"({"g":1,"ts":true})", opts),
            "requests.jsonl line 1: ts: must be RFC 3339 text or a number of seconds since 1970 (or of time_unit), got a boolean");
  EXPECT_EQ(error_of(R"({"g":1})", R"({"measures": "g", "id": "rid"})"), "requests.jsonl line 1: rid: missing (the id field)");
  EXPECT_EQ(error_of(R"({"g":1,"team":{"x":1},"ts":"2026-11-03T10:00:00Z"})", opts),
            "requests.jsonl line 1: team: must be a string, a number or a boolean to be a tag (got an object)");
  EXPECT_EQ(error_of(R"({"g":1})", opts), "requests.jsonl line 1: ts: missing (the at field)");
  EXPECT_EQ(error_of(R"({"g":1,"ts":"yesterday"})", opts).substr(0, 48), "requests.jsonl line 1: ts: not an RFC 3339 times");
  EXPECT_EQ(error_of(R"({"g":1,"ts":1.0000000001})", opts), "requests.jsonl line 1: ts: is finer than a nanosecond (got 1.0000000001)");
  EXPECT_EQ(error_of(R"({"g":1,"a":2,"b":1})", R"({"measures": "g", "start": "a", "end": "b"})"),
            "requests.jsonl line 1: b: is before a (1970-01-01T00:00:01Z < 1970-01-01T00:00:02Z)");
  const IngestResult skipped = ingest(good + "\nnot json\n" + good + "\n", R"({"tags": "team", "measures": "g", "at": "ts", "skip_invalid": true})");
  EXPECT_EQ(skipped.records.size(), 2u);
  EXPECT_EQ(skipped.skipped, 1u);
  // A skipped line made no record: it is not counted as lacking a field.
  const IngestResult lacking = ingest(R"({"g":1,"team":"a"})" "\n" R"({"g":"bad"})" "\n" R"({"g":2})" "\n",
                                      R"({"tags": "team", "measures": "g", "skip_invalid": true})");
  EXPECT_EQ(lacking.warnings, std::vector<std::string>{"requests.jsonl: 1 of 3 lines has no team; their records go without it"});
}

TEST(Jsonl, DottedKeysAndEpochsInStrings) {
  const IngestResult r = ingest(R"({"a.b":{"c":5},"ts":"1762156800","x":{"y.z":{"w":"v"}}})" "\n",
                                R"({"tags": "x.y.z.w", "measures": "a.b.c", "at": "ts"})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].measures.at("a.b.c").to_string(), "5");
  EXPECT_EQ(tag(r.records[0], "x.y.z.w"), "v");
  EXPECT_EQ(r.records[0].at->to_string(), "2025-11-03T08:00:00Z");
}

TEST(Jsonl, OptionsAreChecked) {
  EXPECT_EQ(error_of("", R"({"tags": "team"})"), "inputs[0].measures: is required: the fields to read as measures");
  EXPECT_EQ(error_of("", R"({"measures": "g", "start": "a"})"), "inputs[0].end: is needed with start");
  EXPECT_EQ(error_of("", R"({"measures": "g", "at": "t", "start": "a", "end": "b"})"),
            "inputs[0].at: an instant, or an interval with start and end: give one, not both");
  EXPECT_EQ(error_of("", R"({"measures": "g", "time_unit": "min"})"),
            "inputs[0].time_unit: must be \"s\", \"ms\", \"us\" or \"ns\" (got \"min\")");
  EXPECT_EQ(error_of("", R"({"measures": "g,g"})"), "inputs[0].measures: \"g\" is named twice");
  EXPECT_NE(error_of("", R"({"measures": "g", "tag": "x"})").find("inputs[0].tag"), std::string::npos);
}

TEST(Jsonl, ARequestLogSplitsANodesBillByBusinessUnit) {
  // The node's bill split by the GPU-seconds each request logged: to the cent, summing
  // exactly to the bill (100 over 0.1 : 0.2 : 0.0000001).
  const std::string spec = R"({"apportion": 1, "currency": "USD",
    "pools": [{"id": "gpu-node-3", "cost": "100.00"}], "records": [],
    "steps": [{"id": "by-unit", "strategy": "proportional", "pool": "gpu-node-3", "group_by": ["business_unit"],
               "weight": "gpu_seconds"}]})";
  Allocation a = allocation_from_json(spec);
  const IngestResult r = ingest(kLog, R"({"tags": "business_unit=request.business_unit", "measures": "gpu_seconds=usage.gpu_seconds"})");
  a.records = r.records;
  const Result result = run(a);
  ASSERT_EQ(result.lines.size(), 2u);
  EXPECT_EQ(tag_text(result.lines[0].tags), "business_unit=ads");
  EXPECT_EQ(result.lines[0].cost.to_string(), "66.67");
  EXPECT_EQ(result.lines[1].cost.to_string(), "33.33");
}

}  // namespace
