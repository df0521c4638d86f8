// Limits against resource exhaustion, invalid UTF-8 and truncated input: each is a
// SpecError naming the place, the same through the fast reader (allocation_from_json) and
// the Value route (parse_json + allocation_from_spec).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "apportion/apportion.hpp"
#include "ingest_support.hpp"
// invalid_utf8, private to the library: header-only.
#include "../src/ingest/csv_reader.hpp"

namespace {

using namespace apportion;

// A valid spec with `n` records of team t0, t1, ... in one proportional step.
std::string spec_with_records(std::size_t n, const std::string& inputs = "") {
  std::string records;
  for (std::size_t i = 0; i < n; ++i)
    records += (i ? ", " : "") + std::string(R"({"tags": {"team": "t)") + std::to_string(i) +
               R"("}, "measures": {"gpu_seconds": 10}})";
  return R"({"apportion": 1, "pools": [{"id": "node", "cost": "100"}], "records": [)" + records + "]" + inputs +
         R"(, "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}]})";
}

// The message of the error reading `text` gives, by both routes; they must agree.
std::string error_of(const std::string& text, const SpecOptions& options) {
  std::string fast = "no error", plain = "no error";
  try {
    run(allocation_from_json(text, options));
  } catch (const SpecError& e) {
    fast = e.what();
  }
  try {
    run(allocation_from_spec(parse_json(text, options.limits), options));
  } catch (const SpecError& e) {
    plain = e.what();
  }
  EXPECT_EQ(fast, plain) << "the fast reader and the Value route disagree";
  return fast;
}

SpecOptions with_limit(const std::string& name, std::uint64_t value) {
  SpecOptions options;
  set_limit(options.limits, name, std::to_string(value), name);
  return options;
}

TEST(Limits, DefaultsAreGenerous) {
  const Limits limits;
  EXPECT_EQ(limits.max_depth, 128u);
  // As many records as fit in 3/4 of the machine's memory at 1.5 KiB each, at most 200 M.
  EXPECT_GE(limits.max_records, 1u);
  EXPECT_LE(limits.max_records, 200'000'000u);
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0)
    EXPECT_LE(std::uint64_t{limits.max_records} * 1536, std::uint64_t(pages) * std::uint64_t(page) / 4 * 3);
  EXPECT_GE(limits.max_string_bytes, std::size_t{1} << 20);
  EXPECT_EQ(limit_infos().size(), 9u);
  for (const LimitInfo& l : limit_infos()) EXPECT_GT(limit_value(limits, l.name), 0u) << l.name;
  EXPECT_EQ(with_separators(10'000'000), "10,000,000");
  EXPECT_EQ(with_separators(999), "999");
  EXPECT_EQ(with_separators(1000), "1,000");
}

TEST(Limits, SettingsAreChecked) {
  Limits limits;
  set_limit(limits, "max_records", "12", "--max-records");
  EXPECT_EQ(limits.max_records, 12u);
  const auto message = [&](const std::string& name, const std::string& value) {
    try {
      set_limit(limits, name, value, "here");
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("max_records", "0"), "here: must be a positive whole number (got \"0\")");
  EXPECT_EQ(message("max_records", "-1"), "here: must be a positive whole number (got \"-1\")");
  EXPECT_EQ(message("max_records", "1e3"), "here: must be a positive whole number (got \"1e3\")");
  EXPECT_EQ(message("max_rows", "5").substr(0, 30), "here: unknown limit \"max_rows\"");
}

TEST(Limits, Records) {
  EXPECT_EQ(error_of(spec_with_records(3), with_limit("max_records", 2)),
            "records: more than 2 records (limit max_records; raise it with --max-records or SpecOptions::limits)");
  EXPECT_EQ(error_of(spec_with_records(2), with_limit("max_records", 2)), "no error");
}

TEST(Limits, RecordsFromInputsCountWithInlineOnes) {
  const auto dir = std::filesystem::temp_directory_path() / "apportion_test_limits";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "usage.csv") << "team,gpu_seconds\na,1\nb,2\n";
  SpecOptions options = with_limit("max_records", 3);
  options.base_dir = dir;
  const std::string inputs = R"(, "inputs": [{"format": "csv", "path": "usage.csv", "tags": "team", "measures": "gpu_seconds"}])";
  EXPECT_EQ(error_of(spec_with_records(2, inputs), options),
            "inputs[0]: more than 3 records (with those before this input; \"aggregate\": true keeps one per group) "
            "(limit max_records; raise it with --max-records or SpecOptions::limits)");
  EXPECT_EQ(error_of(spec_with_records(1, inputs), options), "no error");
  // A long csv fails as it is read: past 4,096 records, before the bad row further on.
  {
    std::ofstream long_file(dir / "long.csv");
    long_file << "team,gpu_seconds\n";
    for (int i = 0; i < 5000; ++i) long_file << "t" << i << ",1\n";
    long_file << "bad,-1\n";
  }
  const std::string long_input = R"(, "inputs": [{"format": "csv", "path": "long.csv", "tags": "team", "measures": "gpu_seconds"}])";
  EXPECT_EQ(error_of(spec_with_records(0, long_input), options).substr(0, 26), "inputs[0]: more than 3 rec");
  options.limits.max_records = 10'000;
  EXPECT_EQ(error_of(spec_with_records(0, long_input), options).substr(0, 28), "inputs[0]: long.csv line 500");
  // Every format that reads rows through RowErrors::row stops at the row past the limit:
  // the fourth spend-log line, before the bad fifth.
  std::ofstream(dir / "spend.jsonl") << R"({"spend": 0.1, "prompt_tokens": 1}
{"spend": 0.1, "prompt_tokens": 1}
{"spend": 0.1, "prompt_tokens": 1}
{"spend": 0.1, "prompt_tokens": 1}
{"spend": -1}
)";
  options.limits.max_records = 3;
  EXPECT_EQ(error_of(spec_with_records(0, R"(, "inputs": [{"format": "litellm-spend", "path": "spend.jsonl"}])"), options),
            "inputs[0]: more than 3 records (with those before this input) (limit max_records; raise it with "
            "--max-records or SpecOptions::limits)");
  options.limits.max_input_bytes = 10;
  EXPECT_EQ(error_of(spec_with_records(1, inputs), options),
            "inputs[0].path: more than 10 bytes in \"usage.csv\" (limit max_input_bytes; raise it with "
            "--max-input-bytes or SpecOptions::limits)");
  options.limits = Limits{};
  options.limits.max_inputs = 1;
  const std::string two = R"(, "inputs": [{"format": "csv", "path": "usage.csv", "tags": "team", "measures": "gpu_seconds"},)"
                          R"( {"format": "csv", "path": "usage.csv", "tags": "team", "measures": "gpu_seconds"}])";
  EXPECT_EQ(error_of(spec_with_records(0, two), options),
            "inputs: more than 1 inputs (limit max_inputs; raise it with --max-inputs or SpecOptions::limits)");
  std::filesystem::remove_all(dir);
}

TEST(Limits, PoolsAndSteps) {
  const std::string two_pools =
      R"({"apportion": 1, "pools": [{"id": "a", "cost": "1"}, {"id": "b", "cost": "2"}], "records": [], "steps": []})";
  EXPECT_EQ(error_of(two_pools, with_limit("max_pools", 1)),
            "pools: more than 1 pools (limit max_pools; raise it with --max-pools or SpecOptions::limits)");
  const std::string two_steps =
      R"({"apportion": 1, "pools": [{"id": "a", "cost": "1"}], "records": [], "steps": [)"
      R"({"id": "s1", "strategy": "even", "pool": "a", "group_by": ["team"]}, {"id": "s2", "strategy": "even", "pool": "a", "group_by": ["team"]}]})";
  EXPECT_EQ(error_of(two_steps, with_limit("max_steps", 1)),
            "steps: more than 1 steps (limit max_steps; raise it with --max-steps or SpecOptions::limits)");
  EXPECT_EQ(error_of(two_steps, with_limit("max_steps", 2)), "no error");
}

TEST(Limits, GroupsPerStep) {
  EXPECT_EQ(error_of(spec_with_records(3), with_limit("max_groups_per_step", 2)),
            "steps[0]: more than 2 lines (groups) in one step (limit max_groups_per_step; raise it with "
            "--max-groups-per-step or SpecOptions::limits)");
  EXPECT_EQ(error_of(spec_with_records(3), with_limit("max_groups_per_step", 3)), "no error");
  // The engine enforces it for an allocation built in code too.
  Allocation a = allocation_from_json(spec_with_records(3));
  a.limits.max_groups_per_step = 1;
  EXPECT_THROW(run(a), SpecError);
}

TEST(Limits, Depth) {
  const std::string deep = R"({"apportion": 1, "pools": [], "records": [{"tags": {"a": "b"}, "measures": {"x": [[[1]]]}}], "steps": []})";
  EXPECT_EQ(error_of(deep, with_limit("max_depth", 4)),
            "records[0].measures.x: more than 4 levels of nested objects and lists (limit max_depth; raise it with "
            "--max-depth or SpecOptions::limits)");
}

TEST(Limits, StringsAndKeys) {
  // Keys count too: the longest key of these specs has 11 bytes ("gpu_seconds").
  std::string long_value = spec_with_records(1);
  long_value.replace(long_value.find("\"t0\""), 4, "\"a_rather_long_team\"");
  EXPECT_EQ(error_of(long_value, with_limit("max_string_bytes", 12)),
            "records[0].tags.team: more than 12 bytes in one string (limit max_string_bytes; raise it with --max-string-bytes "
            "or SpecOptions::limits)");
  const std::string long_key = R"({"apportion": 1, "pools": [], "records": [{"tags": {"a_very_long_tag": "b"}}], "steps": []})";
  EXPECT_EQ(error_of(long_key, with_limit("max_string_bytes", 12)),
            "records[0].tags.a_very_long_tag: more than 12 bytes in one key (limit max_string_bytes; raise it with --max-string-bytes "
            "or SpecOptions::limits)");
  EXPECT_EQ(error_of(long_key, with_limit("max_string_bytes", 15)), "no error");
}

TEST(Limits, SpecBytes) {
  const std::string text = spec_with_records(1);
  EXPECT_EQ(error_of(text, with_limit("max_spec_bytes", 10)),
            "more than 10 bytes of spec JSON (limit max_spec_bytes; raise it with --max-spec-bytes or "
            "SpecOptions::limits)");
}

const std::string kSpendHeader = "request_id,spend,prompt_tokens,completion_tokens,startTime,endTime,model\n";

// ---- Invalid UTF-8 ----------------------------------------------------------------------

TEST(Utf8, InAJsonStringByBothRoutes) {
  std::string text = spec_with_records(1);
  text.replace(text.find("t0"), 2, "t\xff");
  const std::string message = error_of(text, SpecOptions{});
  EXPECT_EQ(message.substr(0, 15), "line 1, column ") << message;
  EXPECT_NE(message.find("ill-formed UTF-8 byte"), std::string::npos) << message;
  // The message quotes the input, its bad byte written out: the message itself is UTF-8.
  EXPECT_NE(message.find("\\xFF"), std::string::npos) << message;
  EXPECT_EQ(ingest::invalid_utf8(message), std::string_view::npos) << message;
}

TEST(Utf8, Validator) {
  using ingest::invalid_utf8;
  constexpr auto npos = std::string_view::npos;
  EXPECT_EQ(invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), npos);
  EXPECT_EQ(invalid_utf8("caf\xe9"), 3u);                 // Latin-1
  EXPECT_EQ(invalid_utf8("\xc0\xaf"), 0u);                // overlong
  EXPECT_EQ(invalid_utf8("a\xed\xa0\x80"), 1u);           // a surrogate
  EXPECT_EQ(invalid_utf8("\xf4\x90\x80\x80"), 0u);        // above U+10FFFF
  EXPECT_EQ(invalid_utf8("ab\xe2\x82"), 2u);              // cut short
}

TEST(Utf8, InACsvCellHeaderAndStream) {
  EXPECT_EQ(ingest_test::error_of("csv", "team,gpu_seconds\ncaf\xe9,10\n", R"({"tags": "team", "measures": "gpu_seconds"})"),
            "sample.txt line 2: team: is not valid UTF-8 (byte 0xE9 at offset 3)");
  EXPECT_EQ(ingest_test::error_of("csv", "t\xe9\x61m,gpu_seconds\na,10\n", R"({"measures": "gpu_seconds"})"),
            "sample.txt line 1: column 1 of the header is not valid UTF-8 (byte 0xE9 at offset 1)");
  // skip_invalid counts such a row instead.
  const IngestResult r = ingest_test::ingest("csv", "team,gpu_seconds\ncaf\xe9,10\nok,5\n",
                                             R"({"tags": "team", "measures": "gpu_seconds", "skip_invalid": true})");
  EXPECT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.skipped, 1u);
  // The aggregated path checks too.
  EXPECT_EQ(ingest_test::error_of("csv", "team,gpu_seconds\ncaf\xe9,10\n",
                                  R"({"tags": "team", "measures": "gpu_seconds", "aggregate": true})"),
            "sample.txt line 2: team: is not valid UTF-8 (byte 0xE9 at offset 3)");
}

TEST(Utf8, InOtherFormats) {
  EXPECT_EQ(ingest_test::error_of("prometheus-text", "gpu_util{pod=\"caf\xe9\"} 1\n", "{}"),
            "sample.txt line 1: the line is not valid UTF-8 (byte 0xE9 at offset 17)");
  const std::string header = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|Comment|WCKey\n";
  EXPECT_EQ(ingest_test::error_of("sacct", header + "1|caf\xe9|a|b|gpu|COMPLETED|2026-06-02T10:00:00|2026-06-02T11:00:00|3600|gres/gpu=1||\n",
                                  R"({"sku": "onprem/h100"})"),
            "sample.txt line 2: the line is not valid UTF-8 (byte 0xE9 at offset 5)");
  // Formats read through the shared CSV reader (litellm-spend, focus).
  EXPECT_EQ(ingest_test::error_of("litellm-spend", kSpendHeader + "req-1,0.1,1,5,2026-06-02T10:00:00Z,2026-06-02T10:00:03Z,gpt\xe9\n", "{}"),
            "sample.txt line 2: field 7 is not valid UTF-8 (byte 0xE9 at offset 3)");
}

// ---- Truncated input --------------------------------------------------------------------

TEST(Truncated, SpecJson) {
  const std::string whole = spec_with_records(2);
  for (const std::size_t keep : {whole.size() - 1, whole.size() / 2, std::size_t{1}}) {
    const std::string message = error_of(whole.substr(0, keep), SpecOptions{});
    EXPECT_EQ(message.substr(0, 8), "line 1, ") << message;
    EXPECT_NE(message.find("unexpected end of input"), std::string::npos) << message;
  }
  EXPECT_EQ(error_of("", SpecOptions{}),
            "line 1, column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
}

TEST(Truncated, CsvQuoteAtEndOfFile) {
  EXPECT_EQ(ingest_test::error_of("csv", "team,gpu_seconds\na,10\n\"b,20", R"({"tags": "team", "measures": "gpu_seconds"})"),
            "sample.txt line 3: a quoted field is never closed");
  // Through the streaming reader, in tiny blocks.
  const std::size_t before = ingest::set_csv_chunk_size(3);
  const Value options = parse_json(R"({"tags": "team", "measures": "gpu_seconds"})");
  ObjectReader reader(options, "inputs[0]");
  std::istringstream stream("team,gpu_seconds\na,10\n\"b,20");
  try {
    IngestRegistry::global().parse_stream("csv", stream, reader, "usage.csv");
    ADD_FAILURE() << "no error";
  } catch (const SpecError& e) {
    EXPECT_STREQ(e.what(), "usage.csv line 3: a quoted field is never closed");
  }
  ingest::set_csv_chunk_size(before);
  EXPECT_EQ(ingest_test::error_of("litellm-spend", kSpendHeader + "req-1,0.1,1,5,2026-06-02T10:00:00Z,2026-06-02T10:00:03Z,\"gpt", "{}"),
            "sample.txt line 2: a quoted field is never closed");
}

TEST(Truncated, PrometheusAnswers) {
  EXPECT_EQ(ingest_test::error_of("prometheus-text", "gpu_util{gpu=\"0\"} 1\ngpu_util{gpu=\"1\",pod=\"tr", "{}"),
            "sample.txt line 2: label value has no closing quote");
  EXPECT_EQ(ingest_test::error_of("prometheus-text", "gpu_util{gpu=\"0\"} 1\ngpu_util{gpu=\"1\"}", "{}"),
            "sample.txt line 2: missing value");
  const std::string answer = ingest_test::read_data("prometheus/query_vector.json");
  for (std::size_t keep = 1; keep < answer.size() - 2; keep += 7) {
    const std::string message = ingest_test::error_of("prometheus-json", answer.substr(0, keep), "{}");
    EXPECT_EQ(message.substr(0, 48), "sample.txt: not a Prometheus API response: line ") << message;
  }
  EXPECT_EQ(ingest_test::error_of("prometheus-json", answer.substr(0, answer.rfind('}')), "{}"),
            "sample.txt: not a Prometheus API response: line 24, column 1: syntax error while parsing object - "
            "unexpected end of input; expected '}'");
}

}  // namespace
