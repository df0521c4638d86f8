// The `csv` ingest format and the shared RFC 4180 reader.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;

std::string read_file(const std::string& path) { return ingest_test::read_data(path); }

IngestResult ingest(const std::string& text, const std::string& options_json) {
  return ingest_test::ingest("csv", text, options_json);
}
std::string error_of(const std::string& text, const std::string& options_json) {
  return ingest_test::error_of("csv", text, options_json);
}

TEST(IngestCsv, ReadsQuotedFieldsBomCrlfAndBlankLines) {
  const std::string text = read_file("csv/usage.csv");
  const IngestResult r = ingest(text, R"({"tags": ["namespace", "team"], "measures": "gpu_seconds,tokens_prompt",
                                          "pool": "month", "id": "id"})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].id, "r1");  // the BOM is not part of the first column's name
  EXPECT_EQ(r.records[0].tags, (Tags{{"namespace", "nlp"}, {"team", "search, ranking"}}));
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal::parse("8294400"));
  EXPECT_EQ(r.records[0].measures.at("tokens_prompt"), Decimal::parse("4000000"));
  EXPECT_EQ(r.records[0].pool, "month");
  EXPECT_EQ(r.records[0].origin, "sample.txt line 2");
  // An empty tag cell leaves the tag out; an empty measure cell leaves the measure out.
  EXPECT_EQ(r.records[1].tags, (Tags{{"namespace", "vision"}}));
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal::parse("3600.5"));
  EXPECT_FALSE(r.records[1].measures.contains("tokens_prompt"));
  EXPECT_EQ(r.records[1].origin, "sample.txt line 3");
  // Row 2's quoted note spans two lines and a blank line follows: row 3 starts on line 6.
  EXPECT_EQ(r.records[2].origin, "sample.txt line 6");
  EXPECT_EQ(r.records[2].measures.at("gpu_seconds"), Decimal::from_raw(1));
  EXPECT_EQ(r.skipped, 0u);
}

TEST(IngestCsv, OptionsFromTheCommandLineAreStrings) {
  const IngestResult r = ingest("a;b;x\n\"1;2\";5;\n", R"({"tags": "a", "measures": "b", "delimiter": ";",
                                                          "skip_invalid": "false"})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags, (Tags{{"a", "1;2"}}));
  EXPECT_EQ(r.records[0].measures.at("b"), Decimal(5));
  EXPECT_FALSE(r.records[0].pool.has_value());
}

TEST(IngestCsv, EmbeddedQuotesAndLoneLineEnds) {
  const IngestResult r = ingest("k,v\n\"say \"\"hi\"\"\",1\n\"a\nb\",2", R"({"tags": ["k"], "measures": ["v"]})");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].tags.get("k"), "say \"hi\"");
  EXPECT_EQ(r.records[1].tags.get("k"), "a\nb");
  EXPECT_EQ(r.records[1].origin, "sample.txt line 3");  // no final line break needed
}

TEST(IngestCsv, MissingColumnIsAnErrorNamingIt) {
  EXPECT_EQ(error_of("namespace,gpu\nx,1\n", R"({"tags": ["team"]})"),
            "sample.txt line 1: no column \"team\" (named by tags) in the header");
  EXPECT_EQ(error_of("namespace,gpu\nx,1\n", R"({"measures": ["gpu"], "id": "rid"})"),
            "sample.txt line 1: no column \"rid\" (named by id) in the header");
  EXPECT_EQ(error_of("", R"({})"), "sample.txt: no header row");
}

TEST(IngestCsv, BadCellsNameLineAndColumn) {
  const std::string text = "ns,gpu_seconds\na,1\nb,-5\nc,abc\nd,1e400\ne,2,3\nf,0.0000000000001\n";
  EXPECT_EQ(error_of(text, R"({"tags": ["ns"], "measures": ["gpu_seconds"]})"),
            "sample.txt line 3: gpu_seconds: must not be negative (got \"-5\")");
  const IngestResult r = ingest(text, R"({"tags": ["ns"], "measures": ["gpu_seconds"], "skip_invalid": true})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags.get("ns"), "a");
  EXPECT_EQ(r.skipped, 5u);
  ASSERT_EQ(r.skipped_reasons.size(), 5u);
  EXPECT_EQ(r.skipped_reasons[1], "sample.txt line 4: gpu_seconds: not an exact decimal number (got \"abc\")");
  EXPECT_EQ(r.skipped_reasons[2], "sample.txt line 5: gpu_seconds: out of range (got \"1e400\")");
  EXPECT_EQ(r.skipped_reasons[3], "sample.txt line 6: has 3 fields, the header has 2");
  EXPECT_EQ(r.skipped_reasons[4],
            "sample.txt line 7: gpu_seconds: not an exact decimal number (got \"0.0000000000001\")");
}

TEST(IngestCsv, MalformedCsvIsAnError) {
  EXPECT_EQ(error_of("a,b\n1,\"open\n2,3\n", R"({"tags": ["a"]})"), "sample.txt line 2: a quoted field is never closed");
  EXPECT_EQ(error_of("a,b\n1,\"x\"y\n", R"({"tags": ["a"]})"),
            "sample.txt line 2: unexpected character after a closing quote (field 2)");
  EXPECT_EQ(error_of("a,b\n1,2\n", R"({"delimiter": ";;"})"),
            "inputs[0].delimiter: must be one character other than a quote or a line break");
  EXPECT_EQ(error_of("a,b\n1,2\n", R"({"tags": "a", "skip_invalid": "yes"})"), "inputs[0].skip_invalid: must be true or false");
}

TEST(IngestCsv, TabDelimiterAndStrayQuotes) {
  const IngestResult r = ingest("a\tb\rx y\t7\r", R"({"tags": "a", "measures": "b", "delimiter": "tab"})");
  ASSERT_EQ(r.records.size(), 1u);  // lone CR line ends
  EXPECT_EQ(r.records[0].tags.get("a"), "x y");
  EXPECT_EQ(r.records[0].measures.at("b"), Decimal(7));
  EXPECT_EQ(error_of("a,b\n1,2\n5 \"inch,3\n", R"({"tags": ["a"]})"),
            "sample.txt line 3: a quote inside an unquoted field (field 1)");
}

// Found by fuzzing (tests/fuzz/fuzz_csv): a skipped row's reason quotes the cell, which
// need not be UTF-8; the reasons go into JSON, which then threw nlohmann's type_error.
TEST(IngestCsv, SkippedReasonsQuotingBytesThatAreNotUtf8AreValidJson) {
  const std::string text = "k,v\nx,1\ny,0.5\xDA\xCF\n";
  for (const char* options : {R"({"tags": "k", "measures": "v", "skip_invalid": true})",
                              R"({"tags": "k", "measures": "v", "skip_invalid": true, "aggregate": true})"}) {
    const IngestResult r = ingest(text, options);
    ASSERT_EQ(r.records.size(), 1u);
    ASSERT_EQ(r.skipped, 1u);
    ASSERT_EQ(r.skipped_reasons.size(), 1u);
    EXPECT_NE(r.skipped_reasons[0].find("sample.txt line 3"), std::string::npos) << r.skipped_reasons[0];
    EXPECT_NE(r.skipped_reasons[0].find("0.5\xEF\xBF\xBD"), std::string::npos) << r.skipped_reasons[0];
    std::string json;
    EXPECT_NO_THROW(json = ingest_result_to_json(r));
    EXPECT_NE(json.find("\"skipped_reasons\""), std::string::npos);
  }
}

TEST(IngestCsv, UnknownOptionIsRefusedByFinish) {
  EXPECT_THROW(ingest("a\n1\n", R"({"tag": ["a"]})"), SpecError);
}

}  // namespace

// ---- Read through the plan (plan.hpp) -------------------------------------------------------

namespace {

struct PlanFolder {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("apportion-plan-" + std::to_string(::getpid()));
  PlanFolder() { std::filesystem::create_directories(dir); }
  ~PlanFolder() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
  Allocation read(const std::string& spec, bool planned) const {
    SpecOptions options;
    options.base_dir = dir;
    options.plan_records = planned;
    return allocation_from_json(spec, options);
  }
  std::string run(const std::string& spec, bool planned) const {
    try {
      return result_to_json(apportion::run(read(spec, planned)));
    } catch (const std::exception& e) {
      return std::string("error: ") + e.what();
    }
  }
};

const std::string kUsage =
    "namespace,team,pod,gpu_seconds,tokens_prompt\n"
    "nlp,search,p1,100,5\n"
    "nlp,search,p2,50,\n"
    "vision,,p3,30,1\n"
    "kube-system,platform,p4,10,0\n"
    "nlp,search,p1,100,5\n"
    "vision,ads,p5,0.5,2\n";

const std::string kInputs = R"("inputs": [{"format": "csv", "path": "usage.csv", "tags": "namespace,team,pod",
                                          "measures": "gpu_seconds,tokens_prompt"}])";

}  // namespace

TEST(CsvThroughThePlan, RowsAreSummedOnWhatTheStepsReadWithTheSameResult) {
  // Grouped by namespace and by team, the pod column costs nothing: six rows become the four
  // (namespace, team) pairs, first row's line their origin, in the order they first came.
  const PlanFolder folder;
  folder.write("usage.csv", kUsage);
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "100.00"}, {"id": "shared", "cost": "7.00"}],
    "records": [], )" + kInputs + R"(,
    "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "gpu"},
              {"id": "teams", "strategy": "proportional", "pool": "shared", "group_by": ["team"], "weight": "gpu_seconds"}]})";
  const Allocation planned = folder.read(spec, true);
  ASSERT_EQ(planned.records.size(), 4u);
  EXPECT_EQ(planned.records[0].tags, (Tags{{"namespace", "nlp"}, {"team", "search"}}));
  EXPECT_EQ(planned.records[0].measures, (Amounts{{"gpu_seconds", Decimal(250)}}));  // tokens: no step reads them
  EXPECT_EQ(planned.records[0].origin, "usage.csv line 2");
  EXPECT_EQ(planned.records[1].tags, (Tags{{"namespace", "vision"}}));
  EXPECT_EQ(planned.records[1].origin, "usage.csv line 4");
  EXPECT_EQ(planned.records[3].origin, "usage.csv line 7");
  EXPECT_EQ(planned.inputs[0].records, 6u);  // the records the rows were
  EXPECT_EQ(planned.dropped_tags, (std::vector<std::string>{"pod"}));
  EXPECT_EQ(folder.read(spec, false).records.size(), 6u);
  EXPECT_EQ(folder.run(spec, true), folder.run(spec, false));
  // A step by pod keeps pods: the rows meet only when they agree on it too.
  const std::string by_pod = R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "100.00"}], "records": [], )" + kInputs +
                             R"(, "steps": [{"id": "pods", "strategy": "proportional", "pool": "gpu", "group_by": ["pod"],
                                            "weight": "tokens_prompt"}]})";
  EXPECT_EQ(folder.read(by_pod, true).records.size(), 5u);
  EXPECT_EQ(folder.run(by_pod, true), folder.run(by_pod, false));
}

TEST(CsvThroughThePlan, ErrorsAreTheSame) {
  // A record pinned to a pool that does not exist is named by its first row, planned or not;
  // a bad row is reported at its line whatever the plan drops.
  const PlanFolder folder;
  folder.write("usage.csv", kUsage);
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "100.00"}], "records": [],
    "inputs": [{"format": "csv", "path": "usage.csv", "tags": "namespace,team,pod", "measures": "gpu_seconds",
                "pool": "nope"}],
    "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "gpu"}]})";
  EXPECT_EQ(folder.run(spec, true), "error: usage.csv line 2: pool: unknown pool \"nope\"");
  EXPECT_EQ(folder.run(spec, true), folder.run(spec, false));
  folder.write("usage.csv", kUsage + "nlp,search,\xff,1,1\n");
  const std::string bad = R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "100.00"}], "records": [], )" + kInputs +
                          R"(, "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "gpu"}]})";
  EXPECT_EQ(folder.run(bad, true).substr(0, 35), "error: inputs[0]: usage.csv line 8:");
  EXPECT_EQ(folder.run(bad, true), folder.run(bad, false));
}

// ---- Read through the plan in parts, on several threads --------------------------------------

namespace {

// Everything a planned read gives, as text: each record (origin, tags, measures), what the
// input read and skipped, and the run's result; or the error.
std::string planned_read(const PlanFolder& folder, const std::string& spec, unsigned threads, std::size_t block) {
  const unsigned previous_threads = ingest::set_csv_threads(threads);
  const std::size_t previous_block = ingest::set_csv_chunk_size(block);
  std::string out;
  try {
    const Allocation a = folder.read(spec, true);
    for (const Record& r : a.records) {
      out += r.origin + ":";
      for (const auto& [k, v] : r.tags) out += " " + k + "=" + v;
      for (const auto& [k, v] : r.measures) out += " " + k + "=" + v.to_string();
      out += "\n";
    }
    for (const InputSummary& i : a.inputs) {
      out += "rows " + std::to_string(i.rows) + " records " + std::to_string(i.records) + " skipped " +
             std::to_string(i.skipped) + "\n";
      for (const std::string& s : i.skipped_reasons) out += s + "\n";
    }
    out += result_to_json(apportion::run(a));
  } catch (const std::exception& e) {
    out = std::string("error: ") + e.what();
  }
  ingest::set_csv_threads(previous_threads);
  ingest::set_csv_chunk_size(previous_block);
  return out;
}

// Rows with every awkward thing a part boundary may fall on: quoted line breaks, doubled
// quotes, CRLF, a lone CR ending a row, blank lines, a cell that is not UTF-8, and a row
// whose sum leaves the Decimal range.
std::string awkward_usage(std::size_t rows, std::size_t pods = 13) {
  std::string text = "\xEF\xBB\xBFnamespace,team,pod,gpu_seconds\r\n";
  for (std::size_t i = 0; i < rows; ++i) {
    const std::string ns = "ns" + std::to_string(i % 7), pod = "p" + std::to_string(i % pods);
    switch (i % 9) {
      case 0: text += ns + ",\"multi\nline\"," + pod + "," + std::to_string(i) + "\n"; break;
      case 1: text += ns + ",\"say \"\"hi\"\"\"," + pod + ",0.5\r\n"; break;
      case 2: text += "\n\r\n" + ns + ",caf\xC3\xA9," + pod + ",1\n"; break;
      case 3: text += ns + ",search," + pod + ",2\r"; break;  // a lone CR ends it
      case 4: text += ns + ",search," + pod + ",x\n"; break;   // not a number: skipped
      case 5: text += ns + ",search," + pod + ",100000000000000\n"; break;
      default: text += ns + ",t" + std::to_string(i % 3) + "," + pod + "," + std::to_string(i * 7) + ".25\n";
    }
  }
  return text + "ns1,last,p1,3";  // no line end
}

}  // namespace

TEST(CsvThroughThePlan, EveryThreadCountAndBlockSizeGivesTheSameRead) {
  const PlanFolder folder;
  const auto spec = [](const char* extra) {
    return R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "1000.00"}, {"id": "shared", "cost": "7.00"}],
      "records": [], "inputs": [{"format": "csv", "path": "usage.csv", "tags": "namespace,team,pod",
                                 "measures": "gpu_seconds")" + std::string(extra) + R"(}],
      "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "gpu"},
                {"id": "teams", "strategy": "proportional", "pool": "shared", "group_by": ["team"], "weight": "gpu_seconds"}]})";
  };
  const std::string skipping = spec(R"(, "skip_invalid": true)"), strict = spec("");
  folder.write("usage.csv", awkward_usage(400));
  const std::string expected = planned_read(folder, skipping, 1, 1 << 20);
  ASSERT_NE(expected.find("usage.csv line 2:"), std::string::npos) << expected.substr(0, 300);
  ASSERT_NE(expected.find("skipped 44"), std::string::npos) << expected.substr(0, 2000);
  for (unsigned threads : {2u, 3u, 8u})
    for (std::size_t block : {1u, 5u, 64u, 1000u, 1u << 20})
      EXPECT_EQ(planned_read(folder, skipping, threads, block), expected) << threads << " threads, blocks of " << block;
  // Grouped by pod, with a pod a row: parts stop paying once a part is mostly groups, and
  // the rest of the file is read in one pass, from the row after the last part.
  const std::string by_pod = R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "1000.00"}], "records": [],
      "inputs": [{"format": "csv", "path": "usage.csv", "tags": "namespace,team,pod", "measures": "gpu_seconds",
                  "skip_invalid": true}],
      "steps": [{"id": "pods", "strategy": "proportional", "pool": "gpu", "group_by": ["pod"], "weight": "gpu_seconds"}]})";
  folder.write("usage.csv", awkward_usage(400, 400));
  const std::string pods = planned_read(folder, by_pod, 1, 1 << 20);
  ASSERT_NE(pods.find("pod=p399"), std::string::npos);
  for (unsigned threads : {2u, 4u})
    for (std::size_t block : {1u, 16u, 300u})
      EXPECT_EQ(planned_read(folder, by_pod, threads, block), pods) << threads << " threads, blocks of " << block;
  folder.write("usage.csv", awkward_usage(400));
  // Without skip_invalid the first bad row in the file is the error, whatever the parts.
  const std::string error = planned_read(folder, strict, 1, 1 << 20);
  EXPECT_EQ(error, "error: inputs[0]: usage.csv line 9: gpu_seconds: not an exact decimal number (got \"x\")");
  for (unsigned threads : {2u, 8u})
    for (std::size_t block : {1u, 7u, 100u})
      EXPECT_EQ(planned_read(folder, strict, threads, block), error) << threads << " threads, blocks of " << block;
  // Plain text (no quotes, no CR) is cut after each part's last line feed, counted 16 bytes
  // at a time: the line of a bad row far into the file is the same whatever the parts
  // (blocks of 300 and 1000 bytes cut the file into parts all the way, their buffers reused;
  // tiny ones hold a row or two a part, and the read goes on in one pass).
  std::string plain = "namespace,team,pod,gpu_seconds\n";
  for (std::size_t i = 0; i < 3000; ++i)
    plain += "ns" + std::to_string(i % 7) + ",t" + std::to_string(i % 3) + ",pod-" + std::to_string(i) + "," +
             (i == 2500 ? "x" : std::to_string(i * 3)) + "\n";
  folder.write("usage.csv", plain);
  const std::string plain_error = planned_read(folder, strict, 1, 1 << 20);
  EXPECT_EQ(plain_error, "error: inputs[0]: usage.csv line 2502: gpu_seconds: not an exact decimal number (got \"x\")");
  const std::string plain_skipped = planned_read(folder, skipping, 1, 1 << 20);
  ASSERT_NE(plain_skipped.find("usage.csv line 2502"), std::string::npos);
  for (unsigned threads : {2u, 3u})
    for (std::size_t block : {1u, 13u, 16u, 300u, 1000u}) {
      EXPECT_EQ(planned_read(folder, strict, threads, block), plain_error) << threads << " threads, blocks of " << block;
      EXPECT_EQ(planned_read(folder, skipping, threads, block), plain_skipped) << threads << " threads, blocks of " << block;
    }
  // Text that is not CSV stops the read at its line, even when later parts have rows, and
  // a quote never closed is found at the end, whatever the parts.
  const std::string rows = awkward_usage(60), more = rows.substr(rows.find('\n') + 1);
  folder.write("usage.csv", rows + "\nns1,te\"am,p1,1\n" + more);
  const std::string stray = planned_read(folder, skipping, 1, 1 << 20);
  EXPECT_EQ(stray, "error: inputs[0]: usage.csv line 84: a quote inside an unquoted field (field 2)");
  folder.write("usage.csv", rows + "\n" + more + "\nns1,\"open,p1,1\n");
  const std::string unclosed = planned_read(folder, skipping, 1, 1 << 20);
  EXPECT_EQ(unclosed, "error: inputs[0]: usage.csv line 166: a quoted field is never closed");
  for (std::size_t block : {1u, 9u, 64u}) {
    folder.write("usage.csv", rows + "\nns1,te\"am,p1,1\n" + more);
    EXPECT_EQ(planned_read(folder, skipping, 4, block), stray) << block;
    folder.write("usage.csv", rows + "\n" + more + "\nns1,\"open,p1,1\n");
    EXPECT_EQ(planned_read(folder, skipping, 4, block), unclosed) << block;
  }
}
