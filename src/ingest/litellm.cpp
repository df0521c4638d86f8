// LiteLLM: the proxy's spend logs (LiteLLM_SpendLogs rows, as JSON or CSV) and its price
// list (model_prices_and_context_window.json). See docs/ingest.md.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apportion/json.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace {

// ---- Spend logs -------------------------------------------------------------------------

bool blank(const Value* v) { return v == nullptr || v->is(Value::Type::null) || (v->is(Value::Type::string) && v->text().empty()); }

// A column that is JSON (metadata, request_tags): an object or list in a JSON row, JSON text
// in a CSV cell. None when absent, null or empty.
std::optional<Value> json_column(const Value& row, std::string_view key) {
  const Value* v = row.find(key);
  if (blank(v)) return std::nullopt;
  if (!v->is(Value::Type::string)) return *v;
  try {
    Value parsed = parse_json(v->text());
    if (parsed.is(Value::Type::null)) return std::nullopt;
    return parsed;
  } catch (const SpecError& e) {
    throw SpecError(std::string(key), std::string("is not JSON (") + e.what() + ")");
  }
}

// A text column as a tag value: strings as they are, numbers by their text.
std::optional<std::string> text_of(const Value* v, std::string_view key) {
  if (blank(v)) return std::nullopt;
  if (v->is(Value::Type::string) || v->is(Value::Type::number) || v->is(Value::Type::boolean)) return v->text();
  throw SpecError(std::string(key), std::string("must be text, not ") + std::string(type_name(v->type())));
}

const Value* member_path(const Value* v, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    if (v == nullptr || !v->is(Value::Type::object)) return nullptr;
    v = v->find(k);
  }
  return v;
}

// A count of tokens: a whole, non-negative number.
Decimal read_count(const Value& v, const std::string& path) {
  const Decimal d = read_non_negative(v, path);
  if (d.fractional_digits() != 0) throw SpecError(path, "must be a whole number (got \"" + v.text() + "\")");
  return d;
}

// startTime / endTime: RFC 3339, also with a space before the time, a zone of "+HH" (as
// PostgreSQL prints it) or none at all, which is read as UTC.
Instant read_time(const Value& v, const std::string& path) {
  std::string text = read_string(v, path);
  if (text.size() > 10) {
    const std::string_view clock = std::string_view(text).substr(11);
    const std::size_t zone = clock.find_first_of("Zz+-");
    if (zone == std::string_view::npos) {
      text += 'Z';
    } else if (clock[zone] != 'Z' && clock[zone] != 'z' && clock.size() - zone == 3) {
      text += ":00";
    }
  }
  return read_instant(Value::string(text), path);
}

Record spend_record(const Value& row, const std::optional<std::string>& pool) {
  if (!row.is(Value::Type::object)) throw SpecError("", "a spend log row must be an object");
  Record r;
  std::vector<Tags::Pair> tags;
  auto tag = [&](std::string key, std::optional<std::string> value) {
    if (value) tags.emplace_back(std::move(key), std::move(*value));
  };
  const std::optional<Value> metadata = json_column(row, "metadata");
  const Value* meta = metadata ? &*metadata : nullptr;
  if (meta && !meta->is(Value::Type::object)) throw SpecError("metadata", "must be a JSON object");

  std::optional<std::string> team = text_of(member_path(meta, {"user_api_key_team_alias"}), "metadata.user_api_key_team_alias");
  if (!team) team = text_of(row.find("team_id"), "team_id");
  if (!team) team = text_of(member_path(meta, {"user_api_key_team_id"}), "metadata.user_api_key_team_id");
  tag("team", team);
  tag("key_alias", text_of(member_path(meta, {"user_api_key_alias"}), "metadata.user_api_key_alias"));
  tag("user", text_of(row.find("user"), "user"));
  tag("end_user", text_of(row.find("end_user"), "end_user"));
  // The model clients asked for (the proxy's model_group), and the one LiteLLM called and
  // priced, whose name keys the price map.
  const std::optional<std::string> called = text_of(row.find("model"), "model");
  const std::optional<std::string> group = text_of(row.find("model_group"), "model_group");
  tag("model", group ? group : called);
  tag("litellm_model", called);
  tag("provider", text_of(row.find("custom_llm_provider"), "custom_llm_provider"));
  tag("call_type", text_of(row.find("call_type"), "call_type"));
  if (const std::optional<Value> request_tags = json_column(row, "request_tags")) {
    if (!request_tags->is(Value::Type::array)) throw SpecError("request_tags", "must be a JSON list of strings");
    for (std::size_t i = 0; i < request_tags->items().size(); ++i) {
      const std::string name = read_string(request_tags->items()[i], path_index("request_tags", i));
      const std::string key = "tag:" + name;
      bool seen = false;
      for (const auto& p : tags) seen = seen || p.first == key;
      if (!seen) tags.emplace_back(key, "true");
    }
  }
  r.tags = Tags(std::move(tags));

  const Value* spend = row.find("spend");
  if (blank(spend)) throw SpecError("spend", "is missing");
  r.measures["spend"] = read_non_negative(*spend, "spend", ExcessDigits::round_half_even);
  if (const Value* v = row.find("prompt_tokens"); !blank(v)) r.measures["tokens_prompt"] = read_count(*v, "prompt_tokens");
  if (const Value* v = row.find("completion_tokens"); !blank(v))
    r.measures["tokens_generation"] = read_count(*v, "completion_tokens");
  // Prefix-cache hits, as LiteLLM keeps them in the usage object it stores in metadata.
  const Value* cached = member_path(meta, {"usage_object", "prompt_tokens_details", "cached_tokens"});
  std::string cached_path = "metadata.usage_object.prompt_tokens_details.cached_tokens";
  if (blank(cached)) {
    cached = member_path(meta, {"usage_object", "cache_read_input_tokens"});
    cached_path = "metadata.usage_object.cache_read_input_tokens";
  }
  if (!blank(cached)) {
    const Decimal c = read_count(*cached, cached_path);
    if (c > r.measure("tokens_prompt"))
      throw SpecError(cached_path, "cached tokens (" + c.to_string() + ") exceed prompt_tokens (" +
                                       r.measure("tokens_prompt").to_string() + ")");
    if (!c.is_zero()) r.measures["tokens_cached"] = c;
  }
  // Prompt-cache writes (Anthropic's cache_creation_input_tokens), priced apart from reads.
  // LiteLLM counts both in prompt_tokens, so reads and writes together cannot exceed it.
  const Value* written = member_path(meta, {"usage_object", "cache_creation_input_tokens"});
  std::string written_path = "metadata.usage_object.cache_creation_input_tokens";
  if (blank(written)) {
    written = member_path(meta, {"usage_object", "prompt_tokens_details", "cache_creation_tokens"});
    written_path = "metadata.usage_object.prompt_tokens_details.cache_creation_tokens";
  }
  if (!blank(written)) {
    const Decimal w = read_count(*written, written_path);
    if (w + r.measure("tokens_cached") > r.measure("tokens_prompt"))
      throw SpecError(written_path, "cache-write tokens (" + w.to_string() + ") and cached tokens (" +
                                        r.measure("tokens_cached").to_string() + ") exceed prompt_tokens (" +
                                        r.measure("tokens_prompt").to_string() + ")");
    if (!w.is_zero()) r.measures["tokens_cache_write"] = w;
  }
  r.measures["requests"] = Decimal(1);

  if (const Value* v = row.find("startTime"); !blank(v)) r.start = read_time(*v, "startTime");
  if (const Value* v = row.find("endTime"); !blank(v)) r.end = read_time(*v, "endTime");
  if (r.start && r.end && *r.end < *r.start) throw SpecError("endTime", "is before startTime");
  if (const auto id = text_of(row.find("request_id"), "request_id")) r.id = *id;
  r.pool = pool;
  return r;
}

struct SpendOptions {
  std::optional<std::string> pool;
  bool keep_failures = false;
  std::size_t failures = 0;  // rows of failed calls left out
};

void add_spend_row(IngestResult& result, const ingest::RowErrors& errors, const Value& row, const std::string& where,
                   SpendOptions& o) {
  ++result.rows;
  errors.row(result, where, [&] {
    // A failed call (status "failure") is charged nothing by LiteLLM, though its row may
    // hold estimated prompt tokens: it weighs nothing unless asked for, and is counted.
    const bool failed = row.is(Value::Type::object) && row.find("status") && row.find("status")->text() == "failure";
    if (failed && !o.keep_failures) {
      ++o.failures;
      return;
    }
    Record r = spend_record(row, o.pool);
    if (failed) r.tags = r.tags.with("status", "failure");
    r.origin = where;
    result.records.push_back(std::move(r));
  });
}

IngestResult parse_spend(std::string_view text, ObjectReader& options, const std::string& source) {
  SpendOptions o;  // as every row reads them
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  if (const Value* v = options.optional("failures")) {
    const std::string f = read_string(*v, options.path("failures"));
    if (f != "skip" && f != "keep") throw SpecError(options.path("failures"), "must be \"skip\" or \"keep\" (got \"" + f + "\")");
    o.keep_failures = f == "keep";
  }
  const ingest::RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read
  IngestResult result;

  std::size_t first = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") first = 3;
  while (first < text.size() && (text[first] == ' ' || text[first] == '\t' || text[first] == '\r' || text[first] == '\n'))
    ++first;
  if (first < text.size() && text[first] == '[') {  // a JSON list of rows
    Value doc;
    try {
      doc = parse_json(text.substr(text.starts_with("\xEF\xBB\xBF") ? 3 : 0));  // lines and columns as in the file
    } catch (const SpecError& e) {
      throw SpecError(source, std::string("not a JSON list of spend log rows: ") + e.what());
    }
    if (!doc.is(Value::Type::array)) throw SpecError(source, "expected a JSON list of spend log rows");
    for (std::size_t i = 0; i < doc.items().size(); ++i)
      add_spend_row(result, errors, doc.items()[i], source + " " + path_index("", i), o);
  } else if (first < text.size() && text[first] == '{') {  // JSON lines, one row each
    std::size_t start = 0, line = 0;
    while (start < text.size()) {
      const std::size_t nl = std::min(text.find('\n', start), text.size());
      ++line;
      const std::string_view piece = text.substr(start, nl - start);
      start = nl + 1;
      if (piece.find_first_not_of(" \t\r\xEF\xBB\xBF") == std::string_view::npos) continue;
      const std::string where = source + " line " + std::to_string(line);
      std::optional<Value> row;
      try {
        row = parse_json(piece);
      } catch (const SpecError& e) {
        ++result.rows;
        errors.skip(result, where, std::string("not JSON: ") + e.what());
        continue;
      }
      add_spend_row(result, errors, *row, where, o);
    }
  } else {  // CSV with a header row
    ingest::CsvReader reader(text, source);
    ingest::CsvRow header;
    if (!reader.next(header)) return result;
    ingest::csv_column(reader, header, "spend", "the litellm-spend format");
    ingest::CsvRow row;
    while (reader.next(row)) {
      const std::string where = reader.where(row.line);
      if (!errors.row(result, where, [&] { ingest::require_header_width(row, header); })) {
        ++result.rows;
        continue;
      }
      std::vector<Value::Member> members;
      for (std::size_t c = 0; c < header.fields.size(); ++c) {
        bool dup = false;
        for (const auto& m : members) dup = dup || m.first == header.fields[c];
        if (!dup) members.emplace_back(header.fields[c], Value::string(row.fields[c]));
      }
      add_spend_row(result, errors, Value::object(std::move(members)), where, o);
    }
  }
  if (o.failures > 0)
    result.warnings.push_back(source + ": " + std::to_string(o.failures) + " of " + std::to_string(result.rows) +
                              " rows are failed calls (status \"failure\"), left out: LiteLLM charges them nothing "
                              "(\"failures\": \"keep\" keeps them, tagged status=failure)");
  return result;
}

// ---- Prices -----------------------------------------------------------------------------

constexpr const char* prices_source = "LiteLLM model_prices_and_context_window.json";

IngestResult parse_prices(std::string_view text, ObjectReader& options, const std::string& source) {
  std::string prefix = "litellm/";
  if (const Value* v = options.optional("prefix")) prefix = read_string(*v, options.path("prefix"));
  std::optional<std::vector<std::string>> models;
  if (const Value* v = options.optional("models")) models = ingest::read_names(*v, options.path("models"));
  const ingest::RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read

  Value doc;
  try {
    doc = parse_json(text);
  } catch (const SpecError& e) {
    throw SpecError(source, std::string("not a LiteLLM price map (model_prices_and_context_window.json): ") + e.what());
  }
  if (!doc.is(Value::Type::object)) throw SpecError(source, "expected a JSON object of models");
  IngestResult result;
  Catalog catalog;
  static constexpr std::pair<const char*, const char*> tiers[] = {
      {"input_cost_per_token", "input"},
      {"output_cost_per_token", "output"},
      {"cache_read_input_token_cost", "cache_read"},
      {"cache_creation_input_token_cost", "cache_write"},
      {"input_cost_per_token_above_200k_tokens", "input_above_200k"},
      {"output_cost_per_token_above_200k_tokens", "output_above_200k"},
      {"cache_read_input_token_cost_above_200k_tokens", "cache_read_above_200k"},
      {"cache_creation_input_token_cost_above_200k_tokens", "cache_write_above_200k"},
  };
  std::vector<std::string> found;
  for (const Value::Member& member : doc.members()) {
    // Plain references, not a structured binding: clang before 16 cannot capture one in a lambda.
    const std::string& name = member.first;
    const Value& entry = member.second;
    if (name == "sample_spec") continue;
    ++result.rows;
    if (models) {
      bool wanted = false;
      for (const std::string& m : *models) wanted = wanted || m == name;
      if (!wanted) continue;
      found.push_back(name);
    }
    const std::string where = source + " " + path_join("", name);
    errors.row(result, where, [&] {
      if (!entry.is(Value::Type::object)) throw SpecError("", "a model's entry must be an object");
      Sku sku;
      sku.id = prefix + name;
      sku.unit = PriceUnit::token;
      sku.source = prices_source;
      for (const auto& [key, tier] : tiers) {
        const Value* v = entry.find(key);
        if (blank(v)) continue;
        Price p;
        p.tier = tier;
        p.rate = read_non_negative(*v, key);
        p.source = prices_source;
        sku.prices.push_back(std::move(p));
      }
      // Models priced otherwise (per image, per second, per character) have no token tiers.
      if (sku.prices.empty()) {
        if (models) throw SpecError("", "has no per-token prices");
        return;
      }
      std::string description;
      if (const Value* v = entry.find("litellm_provider"); v && v->is(Value::Type::string)) description = v->text();
      if (const Value* v = entry.find("mode"); v && v->is(Value::Type::string))
        description += (description.empty() ? "" : " ") + v->text();
      sku.description = description;
      catalog.add(std::move(sku));
    });
  }
  if (models)
    for (const std::string& m : *models) {
      bool seen = false;
      for (const std::string& f : found) seen = seen || f == m;
      if (!seen) throw SpecError(options.path("models"), "model \"" + m + "\" is not in " + source);
    }
  result.catalog = std::move(catalog);
  return result;
}

}  // namespace

namespace ingest {

void register_litellm(IngestRegistry& registry) {
  registry.add("litellm-spend", parse_spend);
  registry.add("litellm-prices", parse_prices);
}

}  // namespace ingest
APPORTION_END_NAMESPACE
