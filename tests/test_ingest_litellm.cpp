// The `litellm-spend` and `litellm-prices` ingest formats.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;

std::string read_file(const std::string& name) { return ingest_test::read_data("litellm/" + name); }

IngestResult ingest(const std::string& format, const std::string& text, const std::string& options_json = "{}") {
  const Value options = parse_json(options_json);
  ObjectReader reader(options, "inputs[0]");
  IngestResult r = IngestRegistry::global().parse(format, text, reader, "spend.log");
  reader.finish();
  return r;
}

std::string error_of(const std::string& format, const std::string& text, const std::string& options_json = "{}") {
  try {
    ingest(format, text, options_json);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

Decimal d(const char* text) { return Decimal::parse(text); }

TEST(IngestLitellmSpend, ReadsJsonRows) {
  const IngestResult r = ingest("litellm-spend", read_file("spend_logs.json"), R"({"pool": "gateway"})");
  ASSERT_EQ(r.records.size(), 2u);
  const Record& a = r.records[0];
  EXPECT_EQ(a.id, "chatcmpl-9f1c2a7e-5b1d-4c1e-9a55-0d0c0b1a2f31");
  EXPECT_EQ(a.origin, "spend.log [0]");
  EXPECT_EQ(a.pool, "gateway");
  EXPECT_EQ(a.tags, (Tags{{"team", "search"},
                          {"key_alias", "search-prod"},
                          {"user", "default_user_id"},
                          {"end_user", "customer-42"},
                          {"model", "gpt-4o-mini"},
                          {"litellm_model", "gpt-4o-mini-2024-07-18"},
                          {"provider", "openai"},
                          {"call_type", "acompletion"},
                          {"tag:jobID:214590dsff09fds", "true"},
                          {"tag:taskName:run_page_classification", "true"}}));
  EXPECT_EQ(a.measures.at("spend"), d("0.00041025"));  // exact from the JSON number's text
  EXPECT_EQ(a.measures.at("tokens_prompt"), d("1230"));
  EXPECT_EQ(a.measures.at("tokens_generation"), d("260"));
  EXPECT_EQ(a.measures.at("tokens_cached"), d("1024"));
  EXPECT_EQ(a.measures.at("requests"), d("1"));
  EXPECT_EQ(a.start, Instant::parse("2026-06-02T10:00:00.123Z"));
  EXPECT_EQ(a.end, Instant::parse("2026-06-02T10:00:02.456Z"));

  // Metadata and request_tags as JSON text; no model_group, no alias: model and team_id.
  const Record& b = r.records[1];
  EXPECT_EQ(b.tags, (Tags{{"team", "ml-platform"}, {"model", "claude-sonnet-4-20250514"},
                          {"litellm_model", "claude-sonnet-4-20250514"}, {"provider", "anthropic"},
                          {"call_type", "acompletion"}}));
  EXPECT_EQ(b.measures.at("spend"), d("1.234567890123"));  // rounded half-even to 12 places
  EXPECT_EQ(b.measures.at("tokens_cached"), d("500"));     // usage_object.cache_read_input_tokens
  EXPECT_EQ(b.measures.at("tokens_cache_write"), d("300"));  // usage_object.cache_creation_input_tokens
  EXPECT_FALSE(a.measures.contains("tokens_cache_write"));
  // Zone-less times are UTC; "+00" is PostgreSQL's spelling of +00:00.
  EXPECT_EQ(b.start, Instant::parse("2026-06-02T11:00:00.5Z"));
  EXPECT_EQ(b.end, Instant::parse("2026-06-02T11:00:07Z"));
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.rows, 2u);
}

TEST(IngestLitellmSpend, ReadsCsvExport) {
  const IngestResult r = ingest("litellm-spend", read_file("spend_logs.csv"));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].origin, "spend.log line 2");
  EXPECT_EQ(r.records[0].tags, (Tags{{"team", "search"},
                                     {"key_alias", "search-prod"},
                                     {"user", "alice"},
                                     {"end_user", "customer, inc."},
                                     {"model", "gpt-4o-mini"},
                                     {"litellm_model", "gpt-4o-mini-2024-07-18"},
                                     {"provider", "openai"},
                                     {"call_type", "acompletion"},
                                     {"tag:env:prod", "true"}}));
  EXPECT_EQ(r.records[0].measures.at("spend"), d("0.000615"));
  EXPECT_EQ(r.records[0].measures.at("tokens_cached"), d("200"));
  EXPECT_FALSE(r.records[0].pool.has_value());
  // A null team alias falls back to team_id; 2.6e-06 is read exactly.
  EXPECT_EQ(r.records[1].tags.get("team"), "t-2");
  EXPECT_EQ(r.records[1].tags.get("key_alias"), "rag-indexer");
  EXPECT_EQ(r.records[1].measures.at("spend"), d("0.0000026"));
  EXPECT_EQ(r.records[1].measures.at("tokens_generation"), d("0"));
  EXPECT_FALSE(r.records[1].measures.contains("tokens_cached"));
}

TEST(IngestLitellmSpend, ReadsJsonLines) {
  const IngestResult r = ingest("litellm-spend",
                                "{\"request_id\": \"a\", \"spend\": 0.5, \"model\": \"m\"}\n\n"
                                "{\"request_id\": \"b\", \"spend\": \"0.25\", \"prompt_tokens\": 10}\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].origin, "spend.log line 3");
  EXPECT_EQ(r.records[1].measures.at("tokens_prompt"), d("10"));
}

TEST(IngestLitellmSpend, BadRowsAreErrorsOrSkipped) {
  const std::string header = "request_id,spend,prompt_tokens,completion_tokens,metadata\n";
  EXPECT_EQ(error_of("litellm-spend", header + "r1,abc,1,1,\n"), "spend.log line 2: spend: not a decimal number: \"abc\"");
  EXPECT_EQ(error_of("litellm-spend", header + "r1,0.1,1.5,1,\n"),
            "spend.log line 2: prompt_tokens: must be a whole number (got \"1.5\")");
  EXPECT_EQ(error_of("litellm-spend", header + "r1,-0.1,1,1,\n"),
            "spend.log line 2: spend: must not be negative (got \"-0.1\")");
  EXPECT_EQ(error_of("litellm-spend", header + "r1,0.1,1,1\n"), "spend.log line 2: has 4 fields, the header has 5");
  EXPECT_EQ(error_of("litellm-spend", header + "r1,,1,1,\n"), "spend.log line 2: spend: is missing");
  EXPECT_NE(error_of("litellm-spend", header + "r1,0.1,1,1,{not json\n").find("spend.log line 2: metadata: is not JSON"),
            std::string::npos);
  EXPECT_EQ(error_of("litellm-spend",
                     header + "r1,0.1,10,1,\"{\"\"usage_object\"\": {\"\"cache_read_input_tokens\"\": 11}}\"\n"),
            "spend.log line 2: metadata.usage_object.cache_read_input_tokens: cached tokens (11) exceed "
            "prompt_tokens (10)");
  EXPECT_EQ(error_of("litellm-spend", "request_id,model\nr1,m\n"),
            "spend.log line 1: no column \"spend\" (named by the litellm-spend format) in the header");
  EXPECT_EQ(error_of("litellm-spend", R"([{"spend": 1}, {"spend": 1, "startTime": "yesterday"}])").substr(0, 26),
            "spend.log [1]: startTime: ");

  const IngestResult r =
      ingest("litellm-spend", header + "r1,abc,1,1,\nr2,0.1,1,1,\nr3,0.1,2,x,\n", R"({"skip_invalid": "true"})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].id, "r2");
  EXPECT_EQ(r.skipped, 2u);
  ASSERT_EQ(r.skipped_reasons.size(), 2u);
  EXPECT_EQ(r.skipped_reasons[1].substr(0, 35), "spend.log line 4: completion_tokens");
}

TEST(IngestLitellmSpend, FailedCallsAreLeftOutAndTold) {
  // LiteLLM_SpendLogs has a status column; a failed call is logged with spend 0 and, since
  // LiteLLM's PR #37365, estimated prompt tokens (BerriAI/litellm#41521): it must not take a
  // share of a bill split by tokens or requests.
  const std::string rows = R"([
    {"request_id": "ok-1", "model": "gpt-4o", "spend": 0.0025, "prompt_tokens": 1000, "completion_tokens": 100,
     "status": "success", "metadata": {"user_api_key_team_alias": "search"}},
    {"request_id": "bad-1", "model": "gpt-4o", "spend": 0.0, "prompt_tokens": 900, "completion_tokens": 0,
     "status": "failure", "metadata": {"user_api_key_team_alias": "ads"}}])";
  const IngestResult r = ingest("litellm-spend", rows);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].id, "ok-1");
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "spend.log: 1 of 2 rows are failed calls (status \"failure\"), left out: LiteLLM charges "
                            "them nothing (\"failures\": \"keep\" keeps them, tagged status=failure)"}));
  const IngestResult kept = ingest("litellm-spend", rows, R"({"failures": "keep"})");
  ASSERT_EQ(kept.records.size(), 2u);
  EXPECT_EQ(kept.records[1].tags.get("status"), "failure");
  EXPECT_TRUE(kept.warnings.empty());
  EXPECT_EQ(error_of("litellm-spend", rows, R"({"failures": "drop"})"),
            "inputs[0].failures: must be \"skip\" or \"keep\" (got \"drop\")");
}

TEST(IngestLitellmSpend, AMisspeltOptionIsRefusedBeforeAnyRow) {
  const Value options = parse_json(R"({"pool": "p", "pol": "x"})");
  ObjectReader reader(options, "inputs[0]");
  try {
    IngestRegistry::global().parse("litellm-spend", "[{\"bad\": 1}]", reader, "s");
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()), "inputs[0].pol: unknown key");
  }
}

TEST(IngestLitellmPrices, OneTokenSkuPerModel) {
  const IngestResult r = ingest("litellm-prices", read_file("model_prices_and_context_window.json"));
  ASSERT_TRUE(r.catalog.has_value());
  const Catalog& c = *r.catalog;
  // sample_spec and dall-e-3 (priced per image) are left out.
  ASSERT_EQ(c.skus().size(), 3u);
  EXPECT_EQ(c.find("litellm/sample_spec"), nullptr);
  EXPECT_EQ(c.find("litellm/dall-e-3"), nullptr);
  const Sku& sonnet = c.sku("litellm/claude-sonnet-4-20250514");
  EXPECT_EQ(sonnet.unit, PriceUnit::token);
  EXPECT_EQ(sonnet.tiers(), (std::vector<std::string>{"cache_read", "cache_read_above_200k", "cache_write",
                                                      "cache_write_above_200k", "input", "input_above_200k", "output",
                                                      "output_above_200k"}));
  EXPECT_EQ(c.latest_rate("litellm/claude-sonnet-4-20250514", "cache_write_above_200k"), d("0.0000075"));
  EXPECT_EQ(c.latest_rate("litellm/claude-sonnet-4-20250514", "input"), d("0.000003"));
  EXPECT_EQ(c.latest_rate("litellm/claude-sonnet-4-20250514", "output_above_200k"), d("0.0000225"));
  EXPECT_EQ(c.latest_rate("litellm/claude-sonnet-4-20250514", "cache_write"), d("0.00000375"));
  EXPECT_EQ(sonnet.prices.front().source, "LiteLLM model_prices_and_context_window.json");
  EXPECT_EQ(c.latest_rate("litellm/gpt-4o-mini", "cache_read"), d("0.000000075"));
  EXPECT_EQ(c.sku("litellm/gpt-4o-mini").tiers(), (std::vector<std::string>{"cache_read", "input", "output"}));
  EXPECT_EQ(c.latest_rate("litellm/text-embedding-3-small", "output"), d("0"));
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.rows, 4u);  // the models in the file, sample_spec aside
}

TEST(IngestLitellmPrices, PrefixAndModels) {
  const IngestResult r = ingest("litellm-prices", read_file("model_prices_and_context_window.json"),
                                R"({"prefix": "gw/", "models": "gpt-4o-mini,text-embedding-3-small"})");
  ASSERT_EQ(r.catalog->skus().size(), 2u);
  EXPECT_EQ(r.catalog->skus()[0].id, "gw/gpt-4o-mini");
  EXPECT_EQ(error_of("litellm-prices", read_file("model_prices_and_context_window.json"), R"({"models": ["gpt-5"]})"),
            "inputs[0].models: model \"gpt-5\" is not in spend.log");
  EXPECT_EQ(error_of("litellm-prices", read_file("model_prices_and_context_window.json"), R"({"models": ["dall-e-3"]})"),
            "spend.log dall-e-3: has no per-token prices");
}

TEST(IngestLitellmPrices, BadPricesAreErrors) {
  EXPECT_EQ(error_of("litellm-prices", R"({"m": {"input_cost_per_token": -1e-06}})"),
            "spend.log m: input_cost_per_token: must not be negative (got \"-1e-06\")");
  EXPECT_EQ(error_of("litellm-prices", R"({"m": {"input_cost_per_token": 1e-15}})").substr(0, 33),
            "spend.log m: input_cost_per_token");
  const IngestResult r = ingest("litellm-prices", R"({"m": {"input_cost_per_token": "x"}, "n": {"output_cost_per_token": 2e-06}})",
                                R"({"skip_invalid": true})");
  EXPECT_EQ(r.catalog->skus().size(), 1u);
  EXPECT_EQ(r.skipped, 1u);
}

TEST(IngestLitellmSpend, CacheWritesAreReadBesideCacheReads) {
  // LiteLLM keeps the provider's usage in metadata.usage_object, prompt_tokens counting cache
  // reads and writes alike (BerriAI/litellm#11364 shows a SpendLogs row: prompt_tokens 98805
  // = 10 uncached + 66360 cache_read_input_tokens + 32435 cache_creation_input_tokens).
  const IngestResult r = ingest("litellm-spend", read_file("spend_logs_list_price.json"));
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.rows, 5u);
  const Record& support = r.records[1];
  EXPECT_EQ(support.measures.at("tokens_prompt"), d("98805"));
  EXPECT_EQ(support.measures.at("tokens_cached"), d("66360"));
  EXPECT_EQ(support.measures.at("tokens_cache_write"), d("32435"));
  EXPECT_EQ(support.measures.at("tokens_generation"), d("5120"));
  EXPECT_EQ(support.tags.get("model"), "claude-sonnet");  // the proxy's model_group
  EXPECT_EQ(support.tags.get("litellm_model"), "claude-sonnet-4-20250514");
  // Only prompt_tokens_details.cache_creation_tokens (metadata as JSON text); and 0 is left out.
  EXPECT_EQ(r.records[2].measures.at("tokens_cache_write"), d("300"));
  EXPECT_FALSE(r.records[3].measures.contains("tokens_cache_write"));
  EXPECT_EQ(error_of("litellm-spend",
                     R"([{"spend": 0, "prompt_tokens": 100, "metadata": {"usage_object": {"cache_read_input_tokens": 60,)"
                     R"( "cache_creation_input_tokens": 50}}}])"),
            "spend.log [0]: metadata.usage_object.cache_creation_input_tokens: cache-write tokens (50) and cached tokens "
            "(60) exceed prompt_tokens (100)");
}

TEST(IngestLitellm, ABillSplitsByTheListPriceOfEachTeamsTokens) {
  // LiteLLM's cost of a request (litellm/litellm_core_utils/llm_cost_calc/utils.py,
  // generic_cost_per_token): prompt_tokens less cache reads and writes at
  // input_cost_per_token, reads at cache_read_input_token_cost, writes at
  // cache_creation_input_token_cost, completion_tokens at output_cost_per_token; above 200,000
  // prompt tokens the *_above_200k_tokens rates. By hand, per request:
  //   search  gpt-4o-mini  800 x 1.5e-7 + 200 x 7.5e-8 + 500 x 6e-7               = 0.000435
  //   support sonnet-4     10 x 3e-6 + 66360 x 3e-7 + 32435 x 3.75e-6 + 5120 x 1.5e-5 = 0.21836925
  //   search  sonnet-4     1200 x 3e-6 + 500 x 3e-7 + 300 x 3.75e-6 + 1000 x 1.5e-5   = 0.019875
  //   support sonnet-4 (210,000 prompt tokens) 200000 x 6e-6 + 10000 x 6e-7 + 1000 x 2.25e-5 = 1.2285
  //   analytics embedding  130 x 2e-8                                                = 0.0000026
  // search 0.02031, support 1.44686925, analytics 0.0000026; total 1.46718185. A bill of
  // 100.00: search 100 x 0.02031 / 1.46718185 = 1.3842..., support 98.6155..., analytics
  // 0.00017...; rounded once: 1.38, 98.62 (the largest remainder), 0.00.
  IngestResult prices = ingest("litellm-prices", read_file("list_price_models.json"));
  IngestResult spend = ingest("litellm-spend", read_file("spend_logs_list_price.json"), R"({"pool": "bill"})");
  Allocation a;
  a.catalog = std::make_shared<Catalog>(std::move(*prices.catalog));
  a.records = spend.records;
  Pool bill;
  bill.id = "bill";
  bill.source = CostSource{d("100.00")};
  a.pools.push_back(bill);
  PerTenant::Options options;
  options.weight = PerTenant::Weight::list_price;
  a.steps.push_back(Step{"teams", std::make_shared<PerTenant>(options), "bill", {"team"}, {}});
  const Result result = run(a);
  std::map<std::string, std::pair<std::string, Rational>> lines;
  for (const Line& line : result.lines)
    lines[std::string(line.tags.get("team").value_or(""))] = {line.cost.to_fixed(2), line.exact_cost};
  const Rational total(29343637, 20000000);  // 1.46718185
  EXPECT_EQ(lines.at("search"), (std::pair<std::string, Rational>{"1.38", Rational(100) * Rational(2031, 100000) / total}));
  EXPECT_EQ(lines.at("support"),
            (std::pair<std::string, Rational>{"98.62", Rational(100) * Rational(5787477, 4000000) / total}));
  EXPECT_EQ(lines.at("analytics"), (std::pair<std::string, Rational>{"0.00", Rational(100) * Rational(13, 5000000) / total}));
  // Weighed by tokens instead (every token alike), search would get 3,800 of 242,495 tokens.
}

TEST(IngestLitellmPrices, AMalformedFileIsNamedWithTheLineAndColumn) {
  EXPECT_EQ(error_of("litellm-prices", "{\n  \"gpt-4o\": {\"input_cost_per_token\": 2.5e-06,}\n}"),
            "spend.log: not a LiteLLM price map (model_prices_and_context_window.json): line 2, column 46: syntax error "
            "while parsing object key - unexpected '}'; expected string literal");
  EXPECT_EQ(error_of("litellm-spend", "[{\"spend\": 1}\n{\"spend\": 2}]").rfind(
                "spend.log: not a JSON list of spend log rows: line 2, column 1: ", 0),
            0u);
}

}  // namespace
