// The vllm ingest format: counter increases per model from a query_range answer.

#include <gtest/gtest.h>

#include <string>

#include "apportion/ingest.hpp"
#include "ingest_support.hpp"

using namespace apportion;
using ingest_test::error_of;

using ingest_test::read_data;

namespace {

const char* const llama = "meta-llama/Llama-3.1-8B-Instruct";
const char* const qwen = "Qwen/Qwen2.5-7B-Instruct";

const Record* find(const IngestResult& r, const std::string& model, const std::string& pod = "") {
  for (const Record& rec : r.records)
    if (rec.tags.get("model") == model && (pod.empty() || rec.tags.get("pod") == pod)) return &rec;
  return nullptr;
}

Decimal measure(const Record& r, const std::string& key) { return r.measures.at(key); }

std::string matrix(const std::string& series) {
  return R"({"status":"success","data":{"resultType":"matrix","result":[)" + series + "]}}";
}

}  // namespace

TEST(Vllm, IncreasesPerModelWithCounterReset) {
  const IngestResult r = ingest_test::ingest("vllm", read_data("vllm/query_range.json"), R"({"pool": "gpu"})", "vllm.json");
  ASSERT_EQ(r.records.size(), 2u);
  const Record* l = find(r, llama);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->tags.size(), 1u);
  EXPECT_EQ(measure(*l, "tokens_prompt"), Decimal(2000));
  EXPECT_EQ(measure(*l, "tokens_generation"), Decimal(1120));
  EXPECT_EQ(measure(*l, "tokens_cached"), Decimal(600));
  EXPECT_EQ(measure(*l, "requests"), Decimal(17));  // stop and length both count
  EXPECT_EQ(l->measures.size(), 4u);                // prefix_cache_queries and gauges are not read
  EXPECT_EQ(l->pool, std::optional<std::string>("gpu"));
  EXPECT_EQ(l->origin, "vllm.json data.result[0]");
  const Record* q = find(r, qwen);
  ASSERT_NE(q, nullptr);
  // 8000 → 8600 → (reset) 150 → 400: 600 + 150 + 250.
  EXPECT_EQ(measure(*q, "tokens_prompt"), Decimal(1000));
  EXPECT_EQ(measure(*q, "tokens_generation"), Decimal(1900));
  EXPECT_EQ(measure(*q, "tokens_cached"), Decimal(300));
  EXPECT_EQ(measure(*q, "requests"), Decimal(8));
  EXPECT_EQ(r.skipped, 0u);
}

TEST(Vllm, ExtraLabelsSplitRecords) {
  const IngestResult r = ingest_test::ingest("vllm", read_data("vllm/query_range.json"), R"({"labels": "pod"})");
  ASSERT_EQ(r.records.size(), 3u);
  const Record* a = find(r, llama, "vllm-llama-0");
  const Record* b = find(r, llama, "vllm-llama-1");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(measure(*a, "tokens_prompt"), Decimal(1300));
  EXPECT_EQ(measure(*a, "tokens_generation"), Decimal(1000));
  EXPECT_EQ(measure(*a, "tokens_cached"), Decimal(500));
  EXPECT_EQ(measure(*a, "requests"), Decimal(11));
  EXPECT_EQ(measure(*b, "tokens_prompt"), Decimal(700));
  EXPECT_EQ(measure(*b, "tokens_generation"), Decimal(120));
  EXPECT_EQ(measure(*b, "tokens_cached"), Decimal(100));
  EXPECT_EQ(measure(*b, "requests"), Decimal(6));
  EXPECT_EQ(error_of("vllm", read_data("vllm/query_range.json"), R"({"labels": "model_name"})").find("inputs[0].labels"),
            0u);
}

TEST(Vllm, NaNSamplesAreErrorsOrSkipped) {
  const std::string text = matrix(
      R"({"metric":{"__name__":"vllm:prompt_tokens_total","model_name":"m"},"values":[[1,"10"],[2,"NaN"],[3,"25.5"]]})");
  EXPECT_EQ(error_of("vllm", text, "{}", "v.json"), "v.json data.result[0].values[1]: counter value is NaN");
  const IngestResult r = ingest_test::ingest("vllm", text, R"({"skip_invalid": true})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(measure(r.records[0], "tokens_prompt"), Decimal::parse("15.5"));
  EXPECT_EQ(r.skipped, 1u);
}

TEST(Vllm, CachedAbovePromptIsAnError) {
  const std::string text = matrix(
      R"({"metric":{"__name__":"vllm:prompt_tokens_total","model_name":"m"},"values":[[1,"0"],[2,"10"]]},)"
      R"({"metric":{"__name__":"vllm:prefix_cache_hits_total","model_name":"m"},"values":[[1,"0"],[2,"11"]]})");
  EXPECT_EQ(error_of("vllm", text, "{}", "v.json"),
            "v.json data.result[0]: prefix-cache hits (11 tokens) exceed prompt tokens (10) for model m");
  EXPECT_EQ(ingest_test::ingest("vllm", text, R"({"skip_invalid": true})").records.size(), 0u);
}

TEST(Vllm, RefusesTextScrapesAndInstantQueries) {
  EXPECT_NE(error_of("vllm", "vllm:prompt_tokens_total{model_name=\"m\"} 5\n", "{}").find("query_range"),
            std::string::npos);
  const std::string vector =
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"vllm:prompt_tokens_total","model_name":"m"},"value":[1,"5"]}]}})";
  EXPECT_NE(error_of("vllm", vector, "{}").find("matrix"), std::string::npos);
  const std::string no_model =
      matrix(R"({"metric":{"__name__":"vllm:prompt_tokens_total"},"values":[[1,"0"],[2,"3"]]})");
  EXPECT_EQ(error_of("vllm", no_model, "{}", "v.json"), "v.json data.result[0]: series has no model_name label");
  EXPECT_NE(error_of("vllm", no_model, R"({"lables": "pod"})").find("lables"), std::string::npos);
}

TEST(Vllm, ARangeAnswerStreamedGivesWhatItGivesReadWhole) {
  // ingest_both_ways reads the answer whole and a series at a time (as a file or a live
  // range is read) and throws when the two differ in records, skips, warnings or error.
  const IngestResult r = ingest_test::ingest_both_ways("vllm", read_data("vllm/query_range.json"), R"({"pool": "gpu"})");
  EXPECT_FALSE(r.records.empty());
  // Counters of two names interleaved, as Prometheus's sort by every label makes them:
  // records in the answer's order either way.
  const std::string interleaved = matrix(
      R"({"metric":{"__name__":"vllm:prompt_tokens_total","model_name":"b"},"values":[[1,"0"],[2,"7"]]},)"
      R"({"metric":{"__name__":"vllm:generation_tokens_total","model_name":"a"},"values":[[1,"0"],[2,"5"]]},)"
      R"({"metric":{"__name__":"vllm:prompt_tokens_total","model_name":"a"},"values":[[1,"0"],[2,"3"]]})");
  const IngestResult both = ingest_test::ingest_both_ways("vllm", interleaved, "{}");
  ASSERT_EQ(both.records.size(), 2u);
  EXPECT_EQ(std::string(*both.records[0].tags.get("model")), "b");
  // A bad series, then a bad sample the parser finds later: the parser's error first, as
  // the whole text is parsed before any series is read.
  const std::string bad = matrix(
      R"({"metric":{"__name__":"vllm:prompt_tokens_total"},"values":[[1,"0"],[2,"3"]]},)"
      R"({"metric":{"__name__":"vllm:prompt_tokens_total","model_name":"m"},"values":[[1,"0"],[2,"x"]]})");
  EXPECT_EQ(ingest_test::error_both_ways("vllm", bad, "{}", "q.json"), "q.json data.result[1].values[1]: bad value \"x\"");
  const IngestResult skipped = ingest_test::ingest_both_ways("vllm", bad, R"({"skip_invalid": true})", "q.json");
  ASSERT_EQ(skipped.skipped_reasons.size(), 2u);
  EXPECT_EQ(skipped.skipped_reasons[0], "q.json data.result[1].values[1]: bad value \"x\"");
  EXPECT_EQ(skipped.skipped_reasons[1], "q.json data.result[0]: series has no model_name label");
  EXPECT_EQ(ingest_test::error_both_ways("vllm", bad.substr(0, 60), "{}", "q.json").substr(0, 39),
            "q.json: not a Prometheus API response: ");
}
