// OpenTelemetry GenAI spans: OTLP/JSON trace exports ({"resourceSpans": [...]}, one
// document or JSON lines of them, as the collector's file exporter writes) turned into one
// record per LLM call. See docs/ingest.md.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apportion/json.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace {

// Tag names the format sets itself; `tag_attributes` may not reuse them.
constexpr std::string_view builtin_tags[] = {"model", "provider", "operation", "service"};

struct Options {
  std::optional<std::string> pool;
  std::vector<std::string> tag_attributes;
};

// Spans of GenAI calls (with gen_ai.operation.name, required of them) that carry no
// gen_ai.usage.* attribute, counted while reading: a streamed call whose usage was never
// recorded is no record, and the result says how many there were.
struct Unmeasured {
  std::size_t calls = 0;
};

// An attribute list ([{"key": ..., "value": {"stringValue": ...}}]) as key -> AnyValue.
std::map<std::string, const Value*, std::less<>> attributes_of(const Value& owner, const std::string& path) {
  std::map<std::string, const Value*, std::less<>> out;
  const Value* list = owner.find("attributes");
  if (list == nullptr || list->is(Value::Type::null)) return out;
  const std::string lpath = path_join(path, "attributes");
  if (!list->is(Value::Type::array)) throw SpecError(lpath, "must be a list");
  for (std::size_t i = 0; i < list->items().size(); ++i) {
    const Value& kv = list->items()[i];
    const std::string kpath = path_index(lpath, i);
    if (!kv.is(Value::Type::object)) throw SpecError(kpath, "must be an object with \"key\" and \"value\"");
    const Value* key = kv.find("key");
    if (key == nullptr) throw SpecError(kpath, "has no \"key\"");
    const std::string name = read_string(*key, path_join(kpath, "key"));
    const Value* value = kv.find("value");
    static const Value empty = Value::object({});
    if (!out.emplace(name, value ? value : &empty).second)
      throw SpecError(kpath, "attribute \"" + name + "\" given twice");
  }
  return out;
}

// The scalar inside an AnyValue as text: stringValue, intValue (a string in OTLP/JSON, a
// number in some exporters), doubleValue, boolValue. None for an empty AnyValue.
std::optional<std::string> scalar_text(const Value& any, const std::string& path) {
  if (!any.is(Value::Type::object)) throw SpecError(path, "must be an AnyValue object");
  for (const char* kind : {"stringValue", "intValue", "doubleValue", "boolValue"}) {
    if (const Value* v = any.find(kind)) {
      if (v->is(Value::Type::string) || v->is(Value::Type::number) || v->is(Value::Type::boolean)) return v->text();
      throw SpecError(path_join(path, kind), "must be a scalar");
    }
  }
  if (any.members().empty()) return std::nullopt;
  throw SpecError(path, "holds a " + any.members().front().first + ", not a string or number");
}

using Attributes = std::map<std::string, const Value*, std::less<>>;

// `<span path>.attributes.<key>`: the attribute by its key, which may hold dots itself.
std::string attr_path(const std::string& path, std::string_view key) { return path + ".attributes." + std::string(key); }

// The value of an attribute or its deprecated alias; both given with different values is
// an error. Returns the text and the key it was read from.
std::optional<std::pair<std::string, std::string>> aliased(const Attributes& attrs, std::string_view current,
                                                           std::string_view deprecated, const std::string& path) {
  std::optional<std::string> a, b;
  const std::string apath = attr_path(path, current);
  const std::string bpath = attr_path(path, deprecated);
  if (auto it = attrs.find(current); it != attrs.end()) a = scalar_text(*it->second, apath);
  if (auto it = attrs.find(deprecated); !deprecated.empty() && it != attrs.end()) b = scalar_text(*it->second, bpath);
  if (a && b && *a != *b)
    throw SpecError(apath, "is \"" + *a + "\" but the deprecated " + std::string(deprecated) + " is \"" + *b + "\"");
  if (a) return std::pair{*a, apath};
  if (b) return std::pair{*b, bpath};
  return std::nullopt;
}

std::optional<Decimal> token_count(const Attributes& attrs, std::string_view current, std::string_view deprecated,
                                   const std::string& path) {
  const auto v = aliased(attrs, current, deprecated, path);
  if (!v) return std::nullopt;
  const Decimal d = read_non_negative(Value::string(v->first), v->second);
  if (d.fractional_digits() != 0) throw SpecError(v->second, "must be a whole number of tokens (got \"" + v->first + "\")");
  return d;
}

std::optional<Instant> nanos(const Value& span, std::string_view key, const std::string& path) {
  const Value* v = span.find(key);
  if (v == nullptr || v->is(Value::Type::null)) return std::nullopt;
  const std::string kpath = path_join(path, key);
  if (!v->is(Value::Type::string) && !v->is(Value::Type::number)) throw SpecError(kpath, "must be a whole number of nanoseconds");
  const std::string& t = v->text();
  if (t.empty() || t.size() > 19 || t.find_first_not_of("0123456789") != std::string::npos)
    throw SpecError(kpath, "must be a whole number of nanoseconds since 1970 (got \"" + t + "\")");
  std::int64_t ns = 0;
  for (char c : t) {
    if (ns > (INT64_MAX - (c - '0')) / 10) throw SpecError(kpath, "is out of range (got \"" + t + "\")");
    ns = ns * 10 + (c - '0');
  }
  if (ns == 0) return std::nullopt;  // OTLP's "unset"
  return Instant::from_unix_nanos(ns);
}

// One span: a record, or none when it carries no gen_ai.usage.* attribute (counted in
// `unmeasured` when it is a GenAI call all the same).
std::optional<Record> span_record(const Value& span, const std::string& path, const Attributes& resource,
                                  const Options& options, Unmeasured& unmeasured) {
  if (!span.is(Value::Type::object)) throw SpecError(path, "a span must be an object");
  const Attributes attrs = attributes_of(span, path);
  bool usage = false;
  for (const auto& [key, value] : attrs) usage = usage || key.starts_with("gen_ai.usage.");
  if (!usage) {
    if (attrs.contains("gen_ai.operation.name")) ++unmeasured.calls;
    return std::nullopt;
  }

  Record r;
  const std::optional<Decimal> input = token_count(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", path);
  const std::optional<Decimal> output =
      token_count(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", path);
  const std::optional<Decimal> cached = token_count(attrs, "gen_ai.usage.cache_read.input_tokens", "", path);
  if (input) r.measures["tokens_prompt"] = *input;
  if (output) r.measures["tokens_generation"] = *output;
  if (cached) {
    // Cache reads are part of the input tokens (GenAI semantic conventions).
    if (*cached > r.measure("tokens_prompt"))
      throw SpecError(attr_path(path, "gen_ai.usage.cache_read.input_tokens"),
                      "cache-read tokens (" + cached->to_string() + ") exceed the input tokens (" +
                          r.measure("tokens_prompt").to_string() + ")");
    if (!cached->is_zero()) r.measures["tokens_cached"] = *cached;
  }
  r.measures["requests"] = Decimal(1);

  std::vector<Tags::Pair> tags;
  std::optional<std::string> model;
  if (auto it = attrs.find("gen_ai.response.model"); it != attrs.end())
    model = scalar_text(*it->second, attr_path(path, "gen_ai.response.model"));
  if (!model)
    if (auto it = attrs.find("gen_ai.request.model"); it != attrs.end())
      model = scalar_text(*it->second, attr_path(path, "gen_ai.request.model"));
  if (model) tags.emplace_back("model", *model);
  if (const auto provider = aliased(attrs, "gen_ai.provider.name", "gen_ai.system", path))
    tags.emplace_back("provider", provider->first);
  if (auto it = attrs.find("gen_ai.operation.name"); it != attrs.end())
    if (auto op = scalar_text(*it->second, attr_path(path, "gen_ai.operation.name")))
      tags.emplace_back("operation", *op);
  if (auto it = resource.find("service.name"); it != resource.end())
    if (auto service = scalar_text(*it->second, "resource.attributes.service.name")) tags.emplace_back("service", *service);
  for (const std::string& key : options.tag_attributes) {
    std::optional<std::string> value;
    if (auto it = attrs.find(key); it != attrs.end()) {
      value = scalar_text(*it->second, attr_path(path, key));
    } else if (auto rit = resource.find(key); rit != resource.end()) {
      value = scalar_text(*rit->second, "resource.attributes." + key);
    }
    if (value) tags.emplace_back(key, *value);
  }
  r.tags = Tags(std::move(tags));

  r.start = nanos(span, "startTimeUnixNano", path);
  r.end = nanos(span, "endTimeUnixNano", path);
  if (r.start && r.end && *r.end < *r.start) throw SpecError(path_join(path, "endTimeUnixNano"), "is before startTimeUnixNano");
  if (const Value* id = span.find("spanId"); id && id->is(Value::Type::string)) r.id = id->text();
  r.pool = options.pool;
  return r;
}

// Every span of one OTLP/JSON document; `prefix` is "<source> " or "<source> line N ".
void read_document(IngestResult& result, const ingest::RowErrors& errors, const Value& doc, const std::string& prefix,
                   const Options& options, Unmeasured& unmeasured) {
  const std::string where = prefix.substr(0, prefix.size() - 1);
  if (!doc.is(Value::Type::object)) throw SpecError(where, "expected an OTLP/JSON object with \"resourceSpans\"");
  const Value* rs = doc.find("resourceSpans");
  if (rs == nullptr) throw SpecError(where, "expected an OTLP/JSON object with \"resourceSpans\"");
  if (!rs->is(Value::Type::array)) throw SpecError(prefix + "resourceSpans", "must be a list");
  for (std::size_t i = 0; i < rs->items().size(); ++i) {
    const Value& resource_spans = rs->items()[i];
    const std::string rpath = path_index("resourceSpans", i);
    Attributes resource;
    const Value* scopes = nullptr;
    try {
      if (!resource_spans.is(Value::Type::object)) throw SpecError(rpath, "must be an object");
      if (const Value* res = resource_spans.find("resource"); res && res->is(Value::Type::object))
        resource = attributes_of(*res, path_join(rpath, "resource"));
      scopes = resource_spans.find("scopeSpans");
      if (scopes && !scopes->is(Value::Type::array)) throw SpecError(path_join(rpath, "scopeSpans"), "must be a list");
    } catch (const SpecError& e) {
      errors.skip(result, prefix + rpath, e.what());
      continue;
    }
    if (scopes == nullptr) continue;
    for (std::size_t j = 0; j < scopes->items().size(); ++j) {
      const Value& scope = scopes->items()[j];
      const std::string spath = path_index(path_join(rpath, "scopeSpans"), j);
      const Value* spans = scope.is(Value::Type::object) ? scope.find("spans") : nullptr;
      if (!scope.is(Value::Type::object) || (spans && !spans->is(Value::Type::array))) {
        errors.skip(result, prefix + spath, "must be an object with a list of \"spans\"");
        continue;
      }
      if (spans == nullptr) continue;
      for (std::size_t k = 0; k < spans->items().size(); ++k) {
        const std::string path = path_index(path_join(spath, "spans"), k);
        ++result.rows;
        try {
          if (std::optional<Record> r = span_record(spans->items()[k], path, resource, options, unmeasured)) {
            r->origin = prefix + path;
            result.records.push_back(std::move(*r));
          }
        } catch (const SpecError& e) {
          // The location names the span; the message keeps the part inside it.
          std::string what = e.what();
          if (!e.path().empty() && e.path().starts_with(path)) {
            what = what.substr(path.size());
            if (what.starts_with(".")) what.erase(0, 1);
            if (what.starts_with(": ")) what.erase(0, 2);
          }
          errors.skip(result, prefix + path, what);
        } catch (const std::invalid_argument& e) {
          errors.skip(result, prefix + path, e.what());
        } catch (const std::overflow_error& e) {
          errors.skip(result, prefix + path, e.what());
        }
      }
    }
  }
}

IngestResult parse_otel(std::string_view text, ObjectReader& reader, const std::string& source) {
  Options options;
  if (const Value* v = reader.optional("pool")) options.pool = read_string(*v, reader.path("pool"));
  if (const Value* v = reader.optional("tag_attributes")) {
    options.tag_attributes = ingest::read_names(*v, reader.path("tag_attributes"));
    for (const std::string& key : options.tag_attributes)
      for (std::string_view b : builtin_tags)
        if (key == b) throw SpecError(reader.path("tag_attributes"), "\"" + key + "\" is a tag this format sets itself");
    for (std::size_t i = 0; i < options.tag_attributes.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (options.tag_attributes[i] == options.tag_attributes[j])
          throw SpecError(reader.path("tag_attributes"), "\"" + options.tag_attributes[i] + "\" is given twice");
  }
  const ingest::RowErrors errors(reader);
  reader.finish();  // a misspelt option is reported before any row is read
  IngestResult result;

  // One document, or JSON lines of them.
  std::optional<Value> whole;
  std::string whole_error;
  try {
    whole = parse_json(text);
  } catch (const SpecError& e) {
    whole_error = e.what();
  }
  Unmeasured unmeasured;
  const auto tell = [&] {
    if (unmeasured.calls > 0)
      result.warnings.push_back(source + ": " + std::to_string(unmeasured.calls) +
                                (unmeasured.calls == 1 ? " GenAI span has" : " GenAI spans have") +
                                " no gen_ai.usage.* attributes (a call whose usage was not recorded, often a streamed "
                                "one) and made no record");
  };
  if (whole) {
    read_document(result, errors, *whole, source + " ", options, unmeasured);
    tell();
    return result;
  }
  std::size_t start = 0, line = 0;
  bool any_line = false;
  while (start < text.size()) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    ++line;
    const std::string_view piece = text.substr(start, nl - start);
    start = nl + 1;
    if (piece.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string prefix = source + " line " + std::to_string(line) + " ";
    std::optional<Value> doc;
    try {
      doc = parse_json(piece);
    } catch (const SpecError& e) {
      // Not JSON lines either: the text is one broken document.
      if (!any_line) throw SpecError(source, "not JSON: " + whole_error);
      errors.skip(result, source + " line " + std::to_string(line), std::string("not JSON: ") + e.what());
      continue;
    }
    any_line = true;
    try {
      read_document(result, errors, *doc, prefix, options, unmeasured);
    } catch (const SpecError& e) {
      if (!errors.skipping()) throw;  // already names the line
      errors.skip(result, source + " line " + std::to_string(line), e.what());
    }
  }
  tell();
  return result;
}

}  // namespace

namespace ingest {

void register_otel_genai(IngestRegistry& registry) { registry.add("otel-genai", parse_otel); }

}  // namespace ingest
APPORTION_END_NAMESPACE
