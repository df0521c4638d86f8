// The Prometheus model (text exposition and HTTP API JSON) and the prometheus-text,
// prometheus-json formats (dcgm: test_ingest_dcgm.cpp).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "../src/ingest/prometheus.hpp"
#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

using namespace apportion;
namespace prom = apportion::prometheus;

namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(APPORTION_TEST_DATA) + "/prometheus/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

IngestResult run_ingest(const std::string& format, const std::string& text, const std::string& options_json = "{}") {
  const Value options = parse_json(options_json);
  ObjectReader reader(options, "inputs[0]");
  IngestResult result = IngestRegistry::global().parse(format, text, reader, "metrics.txt");
  reader.finish();
  return result;
}

std::string error_of(const std::string& format, const std::string& text, const std::string& options_json = "{}") {
  try {
    run_ingest(format, text, options_json);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(no error)";
}

const prom::Family* family(const prom::Exposition& e, const std::string& name) {
  for (const auto& f : e.families)
    if (f.name == name) return &f;
  return nullptr;
}

std::string tag(const Record& r, const std::string& key) { return std::string(r.tags.get(key).value_or("<none>")); }

}  // namespace

TEST(PrometheusText, FamiliesTypesAndSuffixes) {
  const auto e = prom::parse_text(data("node_exporter.prom"), "node.prom");
  const auto* summary = family(e, "go_gc_duration_seconds");
  ASSERT_NE(summary, nullptr);
  EXPECT_EQ(summary->type, prom::MetricType::summary);
  EXPECT_EQ(summary->series.size(), 5u);
  EXPECT_EQ(summary->help, "A summary of the pause duration of garbage collection cycles.");
  EXPECT_EQ(summary->series[0].samples[0].value, Decimal::parse("0.000023899"));
  const auto* hist = family(e, "http_request_duration_seconds");
  ASSERT_NE(hist, nullptr);
  EXPECT_EQ(hist->type, prom::MetricType::histogram);
  ASSERT_EQ(hist->series.size(), 6u);
  EXPECT_EQ(hist->series[3].name, "http_request_duration_seconds_bucket");
  EXPECT_EQ(hist->series[3].labels.get("le"), "+Inf");  // a label, not a sample
  EXPECT_EQ(hist->series[5].name, "http_request_duration_seconds_count");
  EXPECT_EQ(family(e, "http_request_duration_seconds_bucket"), nullptr);
  // A counter whose name ends in _count is its own family.
  const auto* rpc = family(e, "rpc_count");
  ASSERT_NE(rpc, nullptr);
  EXPECT_EQ(rpc->type, prom::MetricType::counter);
  ASSERT_EQ(rpc->series.size(), 1u);
  EXPECT_EQ(rpc->series[0].samples[0].timestamp, Instant::from_unix_nanos(1395066363000LL * 1'000'000));
  const auto* cpu = family(e, "node_cpu_seconds_total");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->series[0].samples[0].value, Decimal(1500000));
  EXPECT_EQ(cpu->series[1].samples[0].value, Decimal::parse("43210.27"));
  const auto* rule = family(e, "job:request_rate:5m");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->type, prom::MetricType::untyped);
  EXPECT_EQ(rule->series[0].labels.get("path"), "C:\\DIRNAME\\file \"x\"\nnext");
  EXPECT_EQ(rule->series[0].where, "node.prom line 24");
  EXPECT_FALSE(rule->series[0].samples[0].timestamp);
}

TEST(PrometheusText, Values) {
  EXPECT_EQ(prom::parse_value("1.5e+06").value, Decimal(1500000));
  EXPECT_EQ(prom::parse_value("-0.25").value, Decimal::parse("-0.25"));
  EXPECT_EQ(prom::parse_value("+3").value, Decimal(3));
  EXPECT_EQ(prom::parse_value(".5").value, Decimal::parse("0.5"));
  EXPECT_EQ(prom::parse_value("1.").value, Decimal(1));
  EXPECT_EQ(prom::parse_value("1e-13").value, Decimal{});  // rounded half-even to 12 digits
  EXPECT_EQ(prom::parse_value("NaN").special, prom::Sample::Special::nan);
  EXPECT_EQ(prom::parse_value("+Inf").special, prom::Sample::Special::pos_inf);
  EXPECT_EQ(prom::parse_value("-Inf").special, prom::Sample::Special::neg_inf);
  EXPECT_THROW(prom::parse_value("abc"), ParseError);
  EXPECT_THROW(prom::parse_value("--1"), ParseError);
  EXPECT_THROW(prom::parse_value("1e40"), OverflowError);
}

TEST(PrometheusText, Errors) {
  const auto error = [](const std::string& text) {
    try {
      prom::parse_text(text, "m.prom");
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(error("a 1\na 2\n"), "m.prom line 2: duplicate series a (first on line 1)");
  EXPECT_EQ(error("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n"), "m.prom line 2: duplicate series a (first on line 1)");
  EXPECT_EQ(error("a{x=\"1\"} 1\na{x=\"2\"} 2\n"), "(no error)");
  EXPECT_EQ(error("\n\na{x=\"1} 1\n"), "m.prom line 3: label value has no closing quote");
  EXPECT_EQ(error("a{x=\"\\t\"} 1\n"), "m.prom line 1: invalid escape \\t in a label value");
  EXPECT_EQ(error("a{x=\"1\",x=\"2\"} 1\n"), "m.prom line 1: label x given twice");
  EXPECT_EQ(error("a\n"), "m.prom line 1: missing value");
  EXPECT_EQ(error("a one\n"), "m.prom line 1: bad value \"one\"");
  EXPECT_EQ(error("a 1 12x\n"), "m.prom line 1: bad timestamp \"12x\"");
  EXPECT_EQ(error("a 1 12 extra\n"), "m.prom line 1: unexpected text after the timestamp");
  EXPECT_EQ(error("# TYPE a gauge\n# TYPE a counter\n"), "m.prom line 2: second # TYPE for a");
  EXPECT_EQ(error("a 1\n# TYPE a gauge\n"), "m.prom line 2: # TYPE for a after its samples (line 1)");
  EXPECT_EQ(error("# TYPE a widget\n"), "m.prom line 1: unknown metric type \"widget\"");
  EXPECT_EQ(error("9a 1\n"), "m.prom line 1: expected a metric name");
  EXPECT_EQ(error("# histogram parts after the type\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"),
            "(no error)");
}

TEST(PrometheusApi, MatrixVectorScalarAndErrors) {
  const auto m = prom::parse_api_json(data("query_range.json"), "range.json");
  EXPECT_EQ(m.result_type, "matrix");
  ASSERT_EQ(m.families.size(), 1u);
  ASSERT_EQ(m.families[0].series.size(), 2u);
  const auto& s = m.families[0].series[1];
  EXPECT_EQ(s.name, "DCGM_FI_DEV_GPU_UTIL");
  EXPECT_FALSE(s.labels.contains("__name__"));
  ASSERT_EQ(s.samples.size(), 3u);
  EXPECT_EQ(s.samples[1].special, prom::Sample::Special::nan);
  EXPECT_EQ(s.samples[1].timestamp, Instant::from_unix_nanos(1717286430500000000LL));
  EXPECT_EQ(s.samples[2].value, Decimal(15));
  EXPECT_EQ(prom::sample_where(s, 1), "range.json data.result[1].values[1]");

  const auto v = prom::parse_api_json(data("query_vector.json"), "v.json");
  EXPECT_EQ(v.result_type, "vector");
  ASSERT_EQ(v.families[0].series.size(), 2u);
  EXPECT_EQ(v.families[0].series[0].samples[0].timestamp, Instant::from_unix_nanos(1435781451781000000LL));

  const auto sc = prom::parse_api_json(R"({"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"2.5"]}})", "s.json");
  ASSERT_EQ(sc.families.size(), 1u);
  EXPECT_EQ(sc.families[0].series[0].samples[0].value, Decimal::parse("2.5"));

  const auto error = [](const std::string& text) {
    try {
      prom::parse_api_json(text, "q.json");
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(error(data("query_error.json")),
            "q.json: Prometheus returned an error (bad_data): invalid parameter \"query\": 1:5: parse error: "
            "unexpected end of input");
  EXPECT_EQ(error(R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})"),
            "q.json data.resultType: \"string\" is not supported (vector, matrix or scalar)");
  EXPECT_EQ(error(R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[2,"1"],[1,"1"]]}]}})"),
            "q.json data.result[0]: timestamps must increase");
  EXPECT_EQ(error(R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}})"),
            "q.json data.result[0].values[0]: bad value \"x\"");
  EXPECT_EQ(error(R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"1"},"value":[1,"2"]}]}})"),
            "q.json data.result[1]: duplicate series (also at q.json data.result[0])");
  EXPECT_EQ(error("not json").rfind("q.json: not a Prometheus API response", 0), 0u);
}

TEST(PrometheusTextFormat, OneRecordPerSeries) {
  const auto r = run_ingest("prometheus-text", data("node_exporter.prom"), R"({"metric": "node_cpu_seconds_total", "measure": "cpu_core_seconds", "pool": "node-1"})");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(tag(r.records[0], "metric"), "node_cpu_seconds_total");
  EXPECT_EQ(tag(r.records[0], "mode"), "idle");
  EXPECT_EQ(r.records[0].measures.at("cpu_core_seconds"), Decimal(1500000));
  EXPECT_EQ(r.records[0].pool, "node-1");
  EXPECT_EQ(r.records[1].origin, "metrics.txt line 22");

  // A family name keeps all its parts; +Inf in le is a label.
  const auto h = run_ingest("prometheus-text", data("node_exporter.prom"), R"({"metric": ["http_request_duration_seconds"], "labels": "le"})");
  ASSERT_EQ(h.records.size(), 6u);
  EXPECT_EQ(tag(h.records[3], "le"), "+Inf");
  EXPECT_EQ(h.records[3].measures.at("value"), Decimal(144320));
  EXPECT_EQ(tag(h.records[5], "le"), "<none>");
  // Command-line style: every option a string. dcgm-exporter writes DCGM_FI_DEV_GPU_UTIL for
  // the two whole GPUs only, none for the MIG instances; all 10 series are read.
  const auto cli = run_ingest("prometheus-text", data("dcgm_scrape.prom"), R"({"metric": "DCGM_FI_DEV_GPU_UTIL", "labels": "namespace,pod", "skip_invalid": "false"})");
  ASSERT_EQ(cli.records.size(), 2u);
  EXPECT_EQ(cli.rows, 10u);
  EXPECT_EQ(cli.records[0].tags, (Tags{{"metric", "DCGM_FI_DEV_GPU_UTIL"}, {"namespace", "nlp"}, {"pod", "train-0"}}));
  EXPECT_EQ(cli.records[1].tags, (Tags{{"metric", "DCGM_FI_DEV_GPU_UTIL"}}));  // empty labels are no tags
}

TEST(PrometheusTextFormat, InvalidSamples) {
  EXPECT_EQ(error_of("prometheus-text", "a 1\nb NaN\n"), "metrics.txt line 2: value is NaN");
  EXPECT_EQ(error_of("prometheus-text", "a 1\nb -Inf\n"), "metrics.txt line 2: value is -Inf");
  EXPECT_EQ(error_of("prometheus-text", "a -2\n"), "metrics.txt line 1: value -2 is negative");
  EXPECT_EQ(error_of("prometheus-text", "a{metric=\"x\"} 1\n"),
            "metrics.txt line 1: label \"metric\" clashes with the tag that holds the metric name");
  EXPECT_EQ(error_of("prometheus-text", "a 1\n", R"({"bogus": 1})"), "inputs[0].bogus: unknown key");
  const auto r = run_ingest("prometheus-text", "a 1\nb NaN\nc{ 2\nd 4\nd 5\n", R"({"skip_invalid": true})");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.rows, 3u);  // a, b, the first d: the unreadable line and the second d are no series
  EXPECT_EQ(r.skipped, 3u);
  ASSERT_EQ(r.skipped_reasons.size(), 3u);
  EXPECT_EQ(r.skipped_reasons[0], "metrics.txt line 3: expected a label name or }");
  EXPECT_EQ(r.skipped_reasons[1], "metrics.txt line 5: duplicate series d (first on line 4)");
  EXPECT_EQ(r.skipped_reasons[2], "metrics.txt line 2: value is NaN");
}

TEST(PrometheusJsonFormat, Aggregates) {
  const std::string range = data("query_range.json");
  const auto last = run_ingest("prometheus-json", range, R"({"labels": ["namespace", "pod"], "skip_invalid": true})");
  ASSERT_EQ(last.records.size(), 2u);
  EXPECT_EQ(last.rows, 2u);
  EXPECT_EQ(last.records[0].measures.at("value"), Decimal(60));
  EXPECT_EQ(last.records[1].measures.at("value"), Decimal(15));
  EXPECT_EQ(last.skipped, 1u);
  EXPECT_EQ(last.skipped_reasons[0], "metrics.txt data.result[1].values[1]: value is NaN");
  EXPECT_EQ(last.records[0].origin, "metrics.txt data.result[0]");
  EXPECT_EQ(tag(last.records[1], "namespace"), "<none>");  // an empty label is no label

  EXPECT_EQ(error_of("prometheus-json", range), "metrics.txt data.result[1].values[1]: value is NaN");

  const auto sum = run_ingest("prometheus-json", range, R"({"aggregate": "sum", "skip_invalid": "true"})");
  EXPECT_EQ(sum.records[0].measures.at("value"), Decimal(380));

  // 80×30 + 90×30 + 100×(300 > max_gap: nothing) + 50×30 = 6600; the last sample closes the range.
  const auto integral = run_ingest("prometheus-json", range, R"({"aggregate": "integrate", "max_gap": "120", "measure": "util_seconds", "skip_invalid": true})");
  EXPECT_EQ(integral.records[0].measures.at("util_seconds"), Decimal(6600));
  // Without the NaN sample: 0 × 60 = 0.
  EXPECT_EQ(integral.records[1].measures.at("util_seconds"), Decimal(0));
  const auto wide = run_ingest("prometheus-json", range, R"({"aggregate": "integrate", "max_gap": 300, "metric": "DCGM_FI_DEV_GPU_UTIL", "skip_invalid": true})");
  EXPECT_EQ(wide.records[0].measures.at("value"), Decimal(36600));

  EXPECT_TRUE(integral.warnings.empty());  // the 300 s gap is one among 30 s ones: data
  // max_gap below the 30 s step: every gap is past it, the integral 0. Before, silently; now
  // one warning (both series count: the second has 0 and 15 left, 60 s apart).
  const auto narrow = run_ingest("prometheus-json", range, R"({"aggregate": "integrate", "max_gap": "20s", "skip_invalid": true})");
  EXPECT_EQ(narrow.records[0].measures.at("value"), Decimal(0));
  EXPECT_EQ(narrow.warnings, std::vector<std::string>{
                                 "metrics.txt: all 2 series with two or more samples hold nothing: every gap between "
                                 "samples is longer than max_gap (20 s; the shortest is 30 s), so all usage is 0; set "
                                 "max_gap a little above the query step (e.g. 45 for a 30 s step)"});
  // Only integrate holds samples for time: the other aggregates never warn.
  EXPECT_TRUE(run_ingest("prometheus-json", range, R"({"aggregate": "sum", "skip_invalid": true})").warnings.empty());

  // Fractional timestamps integrate exactly.
  const auto exact = run_ingest("prometheus-json",
                            R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[[10,"0.3"],[10.001,"1"]]}]}})",
                            R"({"aggregate": "integrate", "max_gap": 1})");
  EXPECT_EQ(exact.records[0].measures.at("value"), Decimal::parse("0.0003"));

  EXPECT_EQ(error_of("prometheus-json", range, R"({"aggregate": "integrate"})").rfind("inputs[0].max_gap: is required", 0), 0u);
  EXPECT_EQ(error_of("prometheus-json", range, R"({"max_gap": 60})"),
            "inputs[0].max_gap: applies only to \"aggregate\": \"integrate\"");
  EXPECT_EQ(error_of("prometheus-json", range, R"({"aggregate": "mean"})"),
            "inputs[0].aggregate: must be \"last\", \"sum\" or \"integrate\" (got \"mean\")");
  EXPECT_EQ(error_of("prometheus-json", data("query_vector.json"), R"({"aggregate": "integrate", "max_gap": 60})"),
            "inputs[0].aggregate: \"integrate\" needs a range query (resultType matrix), got \"vector\"");
  EXPECT_EQ(error_of("prometheus-json", data("query_error.json")).rfind("metrics.txt: Prometheus returned an error (bad_data)", 0), 0u);
}

TEST(PrometheusJsonFormat, Vector) {
  const auto r = run_ingest("prometheus-json", data("query_vector.json"), R"({"measure": "requests"})");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].tags, (Tags{{"instance", "localhost:9090"}, {"job", "prometheus"}, {"metric", "up"}}));
  EXPECT_EQ(r.records[0].measures.at("requests"), Decimal(1));
  EXPECT_EQ(r.records[0].origin, "metrics.txt data.result[0].value");
}

namespace {

// Parts of a long range written to files, merged, the merged answer's text returned.
struct MergedParts {
  std::optional<std::size_t> unreadable;
  std::string text;
};

MergedParts merge_parts(const std::vector<std::string>& parts) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("apportion-merge-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                     "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(dir);
  std::vector<std::filesystem::path> files;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    files.push_back(dir / ("part-" + std::to_string(i)));
    std::ofstream(files.back(), std::ios::binary) << parts[i];
  }
  MergedParts out;
  out.unreadable = apportion::prometheus::merge_range_answers(files, dir / "merged");
  std::ifstream in(dir / "merged", std::ios::binary);
  out.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  return out;
}

std::string matrix_answer(const std::string& items, const std::string& extra = "") {
  return R"({"status":"success","data":{"resultType":"matrix","result":[)" + items + "]}" + extra + "}";
}

}  // namespace

// A long range fetched in parts (docs/ingest.md, "Live sources"): the merged answer is the
// answer of the whole range, each series once with its values in order, whatever series a
// part lacks; the server's text is kept byte for byte.
TEST(PrometheusApiJson, PartsOfARangeMergeIntoTheAnswerOfTheWholeRange) {
  const std::string a = R"({"metric":{"__name__":"up","job":"a"},"values":)";
  const std::string b = R"({"metric":{"__name__":"up","job":"b"},"values":)";
  const std::string c = R"({"metric":{"__name__":"up","job":"c\"q"},"values":)";
  const auto merged = merge_parts({
      matrix_answer(a + R"([[1,"1"],[2,"1.50"]]},)" + b + R"([[2,"0"]]})", R"(,"warnings":["store 2 is down"])"),
      matrix_answer(b + R"([[3,"1e+06"]]},)" + c + R"([[3,"7"]]})", R"(,"warnings":["store 2 is down"],"infos":["i"])"),
      matrix_answer(""),
      matrix_answer(a + R"([ [4.5, "2"] ]})"),
  });
  EXPECT_EQ(merged.unreadable, std::nullopt);
  EXPECT_EQ(merged.text, matrix_answer(a + R"([[1,"1"],[2,"1.50"], [4.5, "2"] ]},)" + b + R"([[2,"0"],[3,"1e+06"]]},)" + c +
                                           R"([[3,"7"]]})",
                                       R"(,"warnings":["store 2 is down"],"infos":["i"])"));
  // The merged answer reads as one answer: each series once, its samples in order.
  const auto exposition = apportion::prometheus::parse_api_json(merged.text, "merged");
  ASSERT_EQ(exposition.families.size(), 1u);
  ASSERT_EQ(exposition.families[0].series.size(), 3u);
  EXPECT_EQ(exposition.families[0].series[0].samples.size(), 3u);

  // Series a server did not sort by labels are merged all the same, in label order.
  const auto unsorted = merge_parts({matrix_answer(b + R"([[2,"0"]]},)" + a + R"([[1,"1"]]})"),
                                     matrix_answer(a + R"([[4,"2"]]})")});
  EXPECT_EQ(unsorted.unreadable, std::nullopt);
  EXPECT_EQ(unsorted.text, matrix_answer(a + R"([[1,"1"],[4,"2"]]},)" + b + R"([[2,"0"]]})"));

  // A part that is an error, not a matrix, or holds a series the merge cannot read is named,
  // to be read alone for what is wrong with it.
  EXPECT_EQ(merge_parts({matrix_answer(a + R"([[1,"1"]]})"), R"({"status":"error","errorType":"timeout","error":"x"})"})
                .unreadable,
            std::optional<std::size_t>(1));
  EXPECT_EQ(merge_parts({R"({"status":"success","data":{"resultType":"vector","result":[]}})"}).unreadable,
            std::optional<std::size_t>(0));
  EXPECT_EQ(merge_parts({matrix_answer(a + R"([[1,"1"]]})"), matrix_answer(R"({"metric":1,"values":[]})")}).unreadable,
            std::optional<std::size_t>(1));
  EXPECT_EQ(merge_parts({matrix_answer(a + R"([[1,"1"]]})"), matrix_answer(a).substr(0, 30)}).unreadable,
            std::optional<std::size_t>(1));
}

TEST(PrometheusJsonFormat, ARangeAnswerStreamedGivesWhatItGivesReadWhole) {
  // Whole and a series at a time (ingest_both_ways): the same records, skips and errors.
  const std::string interleaved = matrix_answer(
      R"({"metric":{"__name__":"b","k":"1"},"values":[[0,"1"],[60,"2"]]},)"
      R"({"metric":{"__name__":"a","k":"1"},"values":[[0,"3"],[60,"4"]]},)"
      R"({"metric":{"__name__":"b","k":"2"},"values":[[0,"5"],[60,"6"]]})");
  const IngestResult r = ingest_test::ingest_both_ways("prometheus-json", interleaved, R"({"labels": "k", "measure": "v"})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[1].measures.at("v").to_string(), "4");  // the answer's order, not by name
  const IngestResult integrated = ingest_test::ingest_both_ways(
      "prometheus-json", interleaved, R"({"labels": "k", "measure": "v", "aggregate": "integrate", "max_gap": 60})");
  EXPECT_EQ(integrated.records[2].measures.at("v").to_string(), "300");
  const std::string bad = matrix_answer(
      R"({"metric":{"__name__":"b","k":"1"},"values":[[0,"-1"],[60,"2"]]},)"
      R"({"metric":{"__name__":"a","k":"1"},"values":[[0,"x"]]})");
  EXPECT_EQ(ingest_test::error_both_ways("prometheus-json", bad, R"({"measure": "v"})", "q.json"),
            "q.json data.result[1].values[0]: bad value \"x\"");
  EXPECT_EQ(ingest_test::error_both_ways(
                "prometheus-json",
                R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"a"},"value":[1,"5"]}]}})",
                R"({"measure": "v", "aggregate": "integrate", "max_gap": 60})", "q.json"),
            "inputs[0].aggregate: \"integrate\" needs a range query (resultType matrix), got \"vector\"");
}
