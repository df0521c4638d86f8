// The `otel-genai` ingest format: OpenTelemetry GenAI spans in OTLP/JSON.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;

std::string read_file(const std::string& name) { return ingest_test::read_data("otel/" + name); }

IngestResult ingest(const std::string& text, const std::string& options_json = "{}") {
  const Value options = parse_json(options_json);
  ObjectReader reader(options, "inputs[0]");
  IngestResult r = IngestRegistry::global().parse("otel-genai", text, reader, "traces.json");
  reader.finish();
  return r;
}

std::string error_of(const std::string& text, const std::string& options_json = "{}") {
  try {
    ingest(text, options_json);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

Decimal d(const char* text) { return Decimal::parse(text); }

// One span with these attributes (a JSON list's inside) in an OTLP/JSON document.
std::string one_span(const std::string& attributes) {
  return R"({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{"spanId": "s1",
            "startTimeUnixNano": "1780394400000000000", "endTimeUnixNano": "1780394401000000000",
            "attributes": [)" +
         attributes + "]}]}]}]}";
}

TEST(IngestOtelGenai, OneRecordPerLlmSpan) {
  const IngestResult r = ingest(read_file("genai_traces.json"), R"({"pool": "llm", "tag_attributes": ["team"]})");
  // The HTTP span has no gen_ai.usage.* attribute: not an LLM call.
  ASSERT_EQ(r.records.size(), 2u);
  const Record& a = r.records[0];
  EXPECT_EQ(a.id, "eee19b7ec3c1b174");
  EXPECT_EQ(a.origin, "traces.json resourceSpans[0].scopeSpans[0].spans[0]");
  EXPECT_EQ(a.pool, "llm");
  EXPECT_EQ(a.tags, (Tags{{"model", "gpt-4o-mini-2024-07-18"},
                          {"provider", "openai"},
                          {"operation", "chat"},
                          {"service", "support-bot"},
                          {"team", "support"}}));
  EXPECT_EQ(a.measures.at("tokens_prompt"), d("1200"));  // cache reads are part of the input
  EXPECT_EQ(a.measures.at("tokens_cached"), d("1024"));
  EXPECT_EQ(a.measures.at("tokens_generation"), d("300"));
  EXPECT_EQ(a.measures.at("requests"), d("1"));
  EXPECT_EQ(a.start, Instant::from_unix_nanos(1780394400000000001));
  EXPECT_EQ(a.end, Instant::parse("2026-06-02T10:00:01.5Z"));

  // Deprecated names (gen_ai.system, prompt/completion tokens) alias the current ones.
  const Record& b = r.records[1];
  EXPECT_EQ(b.origin, "traces.json resourceSpans[0].scopeSpans[1].spans[0]");
  EXPECT_EQ(b.tags, (Tags{{"model", "claude-sonnet-4-20250514"},
                          {"provider", "anthropic"},
                          {"service", "support-bot"},
                          {"team", "support"}}));
  EXPECT_EQ(b.measures.at("tokens_prompt"), d("2000"));
  EXPECT_EQ(b.measures.at("tokens_generation"), d("800"));
  EXPECT_FALSE(b.measures.contains("tokens_cached"));
  EXPECT_EQ(b.start, Instant::parse("2026-06-02T10:01:00Z"));
  EXPECT_EQ(r.skipped, 0u);
}

TEST(IngestOtelGenai, CallsWithoutUsageAreTold) {
  // gen_ai.operation.name is required of every GenAI span (semantic conventions); a call
  // whose usage attributes were never set (a stream cut short) is no record, and is told.
  const IngestResult r =
      ingest(one_span(R"({"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                          {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}})"));
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.rows, 1u);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{"traces.json: 1 GenAI span has no gen_ai.usage.* attributes (a call "
                                                  "whose usage was not recorded, often a streamed one) and made no record"}));
  // Spans of anything else (the HTTP span around a call) are not calls: nothing to tell.
  EXPECT_TRUE(ingest(read_file("genai_traces.json")).warnings.empty());
}

TEST(IngestOtelGenai, JsonLinesAndSkipping) {
  const std::string text = read_file("genai_traces.jsonl");
  EXPECT_EQ(error_of(text),
            "traces.json line 3 resourceSpans[0].scopeSpans[0].spans[0]: "
            "attributes.gen_ai.usage.input_tokens: not a decimal number: \"12x\"");
  const IngestResult r = ingest(text, R"({"skip_invalid": true})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].origin, "traces.json line 1 resourceSpans[0].scopeSpans[0].spans[0]");
  EXPECT_EQ(r.records[2].origin, "traces.json line 3 resourceSpans[0].scopeSpans[1].spans[0]");
  EXPECT_EQ(r.skipped, 1u);
}

TEST(IngestOtelGenai, BadSpansAreErrors) {
  const std::string where = "traces.json resourceSpans[0].scopeSpans[0].spans[0]: ";
  EXPECT_EQ(error_of(one_span(R"({"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                                 {"key": "gen_ai.provider.name", "value": {"stringValue": "azure.ai.openai"}},
                                 {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1"}})")),
            where + "attributes.gen_ai.provider.name: is \"azure.ai.openai\" but the deprecated gen_ai.system is \"openai\"");
  EXPECT_EQ(error_of(one_span(R"({"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                                 {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "11"}})")),
            where + "attributes.gen_ai.usage.input_tokens: is \"10\" but the deprecated gen_ai.usage.prompt_tokens is \"11\"");
  EXPECT_EQ(error_of(one_span(R"({"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                                 {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "11"}})")),
            where + "attributes.gen_ai.usage.cache_read.input_tokens: cache-read tokens (11) exceed the input tokens (10)");
  EXPECT_EQ(error_of(one_span(R"({"key": "gen_ai.usage.output_tokens", "value": {"intValue": "-1"}})")),
            where + "attributes.gen_ai.usage.output_tokens: must not be negative (got \"-1\")");
  EXPECT_EQ(error_of(one_span(R"({"key": "gen_ai.usage.output_tokens", "value": {"doubleValue": 1.5}})")),
            where + "attributes.gen_ai.usage.output_tokens: must be a whole number of tokens (got \"1.5\")");
  EXPECT_EQ(error_of(one_span(R"({"key": "gen_ai.usage.output_tokens", "value": {"intValue": "1"}},
                                 {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "1"}})")),
            where + "attributes[1]: attribute \"gen_ai.usage.output_tokens\" given twice");
  EXPECT_EQ(error_of(R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "2", "endTimeUnixNano": "1",
                        "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1"}}]}]}]}]})"),
            where + "endTimeUnixNano: is before startTimeUnixNano");
  EXPECT_EQ(error_of(R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "1e9",
                        "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1"}}]}]}]}]})"),
            where + "startTimeUnixNano: must be a whole number of nanoseconds since 1970 (got \"1e9\")");
  EXPECT_EQ(error_of(R"({"traces": []})"), "traces.json: expected an OTLP/JSON object with \"resourceSpans\"");
  EXPECT_EQ(error_of("{\"resourceSpans\": [\n").substr(0, 22), "traces.json: not JSON:");
}

TEST(IngestOtelGenai, TagAttributes) {
  const std::string text = one_span(R"({"key": "gen_ai.usage.input_tokens", "value": {"intValue": 5}},
                                       {"key": "gen_ai.conversation.id", "value": {"stringValue": "c-9"}},
                                       {"key": "app.tier", "value": {"intValue": "3"}},
                                       {"key": "app.list", "value": {"arrayValue": {"values": []}}})");
  const IngestResult r = ingest(text, R"({"tag_attributes": "gen_ai.conversation.id,app.tier,absent"})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags, (Tags{{"gen_ai.conversation.id", "c-9"}, {"app.tier", "3"}}));
  EXPECT_EQ(r.records[0].measures.at("tokens_prompt"), d("5"));
  EXPECT_EQ(error_of(text, R"({"tag_attributes": ["app.list"]})"),
            "traces.json resourceSpans[0].scopeSpans[0].spans[0]: attributes.app.list: holds a arrayValue, not a string "
            "or number");
  EXPECT_EQ(error_of(text, R"({"tag_attributes": ["model"]})"),
            "inputs[0].tag_attributes: \"model\" is a tag this format sets itself");
}

}  // namespace
