#include <algorithm>
#include <cctype>
#include <istream>
#include <iterator>
#include <mutex>

#include <nlohmann/json.hpp>

#include "apportion/spec.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE

IngestRegistry& IngestRegistry::global() {
  static IngestRegistry registry;
  static std::once_flag built_in;
  std::call_once(built_in, [] {
    // Built-in formats register here, one call per format file.
    ingest::register_prometheus(registry);
    ingest::register_csv(registry);
    ingest::register_focus(registry);
    ingest::register_opencost(registry);
    ingest::register_litellm(registry);
    ingest::register_otel_genai(registry);
    ingest::register_sacct(registry);
    ingest::register_kube_state_metrics(registry);
    ingest::register_vllm(registry);
    ingest::register_jsonl(registry);
    ingest::register_mlflow(registry);
  });
  return registry;
}

void IngestRegistry::add(std::string format, IngestParser parser) {
  if (format.empty() || !parser) throw std::invalid_argument("an ingest format needs a name and a parser");
  std::unique_lock lock(mutex_);
  if (parsers_.contains(format)) throw std::invalid_argument("ingest format \"" + format + "\" is already registered");
  parsers_.emplace(std::move(format), std::move(parser));
}

bool IngestRegistry::contains(std::string_view format) const {
  std::shared_lock lock(mutex_);
  return parsers_.find(format) != parsers_.end();
}

std::vector<std::string> IngestRegistry::formats() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, parser] : parsers_) out.push_back(name);
  return out;
}

IngestResult IngestRegistry::parse(std::string_view format, std::string_view text, ObjectReader& options,
                                   const std::string& source) const {
  IngestParser parser;
  {
    std::shared_lock lock(mutex_);
    const auto it = parsers_.find(format);
    if (it == parsers_.end()) {
      std::string known;
      for (const auto& [name, p] : parsers_) known += (known.empty() ? "" : ", ") + name;
      throw std::invalid_argument("unknown input format \"" + std::string(format) + "\" (known: " + known + ")");
    }
    parser = it->second;
  }
  return parser(text, options, source);
}

void IngestRegistry::add_stream(std::string_view format, IngestStreamParser parser) {
  if (!parser) throw std::invalid_argument("a streaming ingest parser must not be empty");
  std::unique_lock lock(mutex_);
  if (parsers_.find(format) == parsers_.end())
    throw std::invalid_argument("ingest format \"" + std::string(format) + "\" is not registered");
  if (stream_parsers_.find(format) != stream_parsers_.end())
    throw std::invalid_argument("ingest format \"" + std::string(format) + "\" already has a streaming parser");
  stream_parsers_.emplace(std::string(format), std::move(parser));
}

IngestResult IngestRegistry::parse_stream(std::string_view format, std::istream& in, ObjectReader& options,
                                          const std::string& source) const {
  IngestStreamParser parser;
  {
    std::shared_lock lock(mutex_);
    const auto it = stream_parsers_.find(format);
    if (it != stream_parsers_.end()) parser = it->second;
  }
  if (parser) return parser(in, options, source);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse(format, text, options, source);
}

void IngestRegistry::add_folder(std::string_view format, IngestFolderParser parser) {
  if (!parser) throw std::invalid_argument("a folder ingest parser must not be empty");
  std::unique_lock lock(mutex_);
  if (parsers_.find(format) == parsers_.end())
    throw std::invalid_argument("ingest format \"" + std::string(format) + "\" is not registered");
  if (!folder_parsers_.emplace(std::string(format), std::move(parser)).second)
    throw std::invalid_argument("ingest format \"" + std::string(format) + "\" already has a folder parser");
}

IngestResult IngestRegistry::parse_folder(std::string_view format, const std::filesystem::path& folder,
                                          ObjectReader& options, const std::string& source) const {
  IngestFolderParser parser;
  {
    std::shared_lock lock(mutex_);
    const auto it = folder_parsers_.find(format);
    if (it != folder_parsers_.end()) parser = it->second;
  }
  if (!parser) throw SpecError(source, "is a folder, and format \"" + std::string(format) + "\" reads a file");
  return parser(folder, options, source);
}

namespace ingest {

std::vector<std::string> read_names(const Value& v, std::string_view path) {
  if (v.is(Value::Type::array)) return read_string_list(v, path);
  const std::string text = read_string(v, path);
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) names.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

bool read_flag(const Value& v, std::string_view path) {
  if (v.is(Value::Type::boolean) || (v.is(Value::Type::string) && (v.text() == "true" || v.text() == "false")))
    return v.text() == "true";
  throw SpecError(std::string(path), "must be true or false");
}

Rational read_positive_whole(const Value& v, std::string_view path) {
  const Decimal d = read_non_negative(v, path);
  if (d.is_zero() || d.fractional_digits() != 0) throw SpecError(std::string(path), "must be a positive whole number");
  return d.to_rational();
}

Decimal read_seconds(const Value& v, std::string_view path) {
  const auto refuse = [&]() -> Decimal {
    throw SpecError(std::string(path), "must be a positive number of seconds or a duration such as \"30s\", \"5m\" or "
                                       "\"1h\" (got " + (v.is(Value::Type::string) ? "\"" + v.text() + "\"" : v.text()) + ")");
  };
  if (!v.is(Value::Type::number) && !v.is(Value::Type::string)) return refuse();
  const std::string& text = v.text();
  Decimal seconds;
  if (v.is(Value::Type::number) || text.empty() || !std::isalpha(static_cast<unsigned char>(text.back()))) {
    try {
      seconds = Decimal::parse(text);
    } catch (const std::exception&) {
      return refuse();
    }
  } else {
    // Prometheus's duration syntax: whole numbers, each with a unit, the units in order.
    static constexpr std::pair<std::string_view, long long> units[] = {
        {"y", 365 * 86400LL}, {"w", 7 * 86400LL}, {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 0}};
    std::size_t i = 0, rank = 0;  // rank: one past the last unit's index
    while (i < text.size()) {
      const std::size_t digits = i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      if (i == digits || i - digits > 15) return refuse();
      const long long n = std::stoll(text.substr(digits, i - digits));
      const std::size_t u = text.compare(i, 2, "ms") == 0
                                ? 6
                                : static_cast<std::size_t>(std::find_if(std::begin(units), std::end(units) - 1,
                                                                        [&](const auto& unit) { return text.compare(i, 1, unit.first) == 0; }) -
                                                           std::begin(units));
      if (u == 6 && text.compare(i, 2, "ms") != 0) return refuse();  // no unit
      if (u < rank) return refuse();
      rank = u + 1;
      i += units[u].first.size();
      seconds += u == 6 ? Decimal::from_raw(static_cast<int128>(n) * 1'000'000'000) : Decimal(n) * units[u].second;
    }
  }
  if (seconds.signum() <= 0) return refuse();
  return seconds;
}

namespace {
thread_local RecordBudget* current_budget = nullptr;
}  // namespace

RecordBudget::RecordBudget(std::size_t records, std::function<void()> exceeded)
    : records_(records), exceeded_(std::move(exceeded)), outer_(current_budget) {
  current_budget = this;
}

RecordBudget::~RecordBudget() { current_budget = outer_; }

void check_record_budget(std::size_t records) {
  if (current_budget && records > current_budget->records_) current_budget->exceeded_();
}

namespace {
thread_local const RecordPlan* plan_in_scope = nullptr;
}  // namespace

PlanScope::PlanScope(const RecordPlan* plan) : outer_(plan_in_scope) { plan_in_scope = plan; }
PlanScope::~PlanScope() { plan_in_scope = outer_; }
const RecordPlan* current_plan() noexcept { return plan_in_scope; }

namespace {
thread_local const std::vector<Interval>* buckets_in_scope = nullptr;
}  // namespace

BucketScope::BucketScope(const std::vector<Interval>* buckets) : outer_(buckets_in_scope) { buckets_in_scope = buckets; }
BucketScope::~BucketScope() { buckets_in_scope = outer_; }
const std::vector<Interval>* current_buckets() noexcept { return buckets_in_scope; }

RowErrors::RowErrors(ObjectReader& options) {
  if (const Value* v = options.optional("skip_invalid")) skip_ = read_flag(*v, options.path("skip_invalid"));
}

void RowErrors::skip(IngestResult& result, const std::string& where, const std::string& what) const {
  if (holding_) held_.emplace_back(where, what);
  else act(result, where, what);
}

void RowErrors::release(IngestResult& result) {
  holding_ = false;
  std::vector<std::pair<std::string, std::string>> held = std::move(held_);
  held_.clear();
  tell(result, held);
}

void RowErrors::tell(IngestResult& result, const std::vector<std::pair<std::string, std::string>>& errors) const {
  for (const auto& [where, what] : errors) act(result, where, what);
}

void RowErrors::act(IngestResult& result, const std::string& where, const std::string& what) const {
  if (!skip_) throw RowError(where, what);
  ++result.skipped;
  if (result.skipped_reasons.size() < 100) {
    // A message quotes the text it could not read, which need not be UTF-8; the reasons go
    // into JSON (ingest_result_to_json, the result's `inputs`), so bytes that are not UTF-8
    // become U+FFFD here rather than make the JSON writer throw.
    const std::string reason = where + ": " + what;
    result.skipped_reasons.push_back(
        nlohmann::json::parse(nlohmann::json(reason).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
            .get<std::string>());
  }
}

}  // namespace ingest

namespace {

nlohmann::ordered_json amounts_json(const Amounts& amounts) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, value] : amounts) j[name] = value.to_string();
  return j;
}

nlohmann::ordered_json tags_object(const Tags& tags) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

nlohmann::ordered_json interval_json(const Interval& i) {
  return {{"start", i.start().to_string()}, {"end", i.end().to_string()}};
}

nlohmann::ordered_json amortized_json(const AmortizedSource& a) {
  return {{"amount", a.amount.to_string()}, {"term", interval_json(a.term)}, {"window", interval_json(a.window)}};
}

}  // namespace

std::string ingest_result_to_json(const IngestResult& result) {
  using json = nlohmann::ordered_json;
  json doc = json::object();
  if (!result.records.empty() || (result.pools.empty() && !result.catalog)) {
    json records = json::array();
    for (const Record& r : result.records) {
      json j;
      if (!r.id.empty()) j["id"] = r.id;
      j["tags"] = tags_object(r.tags);
      if (r.pool) j["pool"] = *r.pool;
      if (!r.measures.empty()) j["measures"] = amounts_json(r.measures);
      if (!r.reserved.empty()) j["reserved"] = amounts_json(r.reserved);
      if (!r.used.empty()) j["used"] = amounts_json(r.used);
      if (r.start) j["start"] = r.start->to_string();
      if (r.end) j["end"] = r.end->to_string();
      if (r.at) j["at"] = r.at->to_string();
      if (r.window) j["window"] = interval_json(*r.window);
      if (r.count) j["count"] = r.count->to_string();
      if (r.sku) j["sku"] = *r.sku;
      if (r.tier) j["tier"] = *r.tier;
      records.push_back(std::move(j));
    }
    doc["records"] = std::move(records);
  }
  if (!result.pools.empty()) {
    json pools = json::array();
    for (const Pool& p : result.pools) {
      json j;
      j["id"] = p.id;
      if (!p.tags.empty()) j["tags"] = tags_object(p.tags);
      if (p.currency) j["currency"] = std::string(p.currency->code());
      std::visit(
          [&](const auto& s) {
            using S = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<S, CostSource>) {
              j["cost"] = s.cost.to_string();
            } else if constexpr (std::is_same_v<S, PriceSource>) {
              json price{{"sku", s.sku}, {"tier", s.tier}, {"quantity", s.quantity.to_string()}};
              if (s.interval) {
                price["start"] = s.interval->start().to_string();
                price["end"] = s.interval->end().to_string();
              }
              j["price"] = std::move(price);
            } else if constexpr (std::is_same_v<S, FromStepSource>) {
              j["from"] = {{"step", s.step}, {"tags", tags_object(s.tags)}};
            } else if constexpr (std::is_same_v<S, AmortizedSource>) {
              j["amortized"] = amortized_json(s);
            } else {
              json parts = json::array();
              for (const PoolPart& part : s.parts) {
                json pj{{"resource", part.resource}};
                if (!part.tags.empty()) pj["tags"] = tags_object(part.tags);
                if (const auto* c = std::get_if<CostSource>(&part.source)) pj["cost"] = c->cost.to_string();
                else pj["amortized"] = amortized_json(std::get<AmortizedSource>(part.source));
                if (part.capacity) pj["capacity"] = part.capacity->to_string();
                parts.push_back(std::move(pj));
              }
              j["parts"] = std::move(parts);
            }
          },
          p.source);
      pools.push_back(std::move(j));
    }
    doc["pools"] = std::move(pools);
  }
  if (result.catalog) doc["catalog"] = json::parse(catalog_to_json(*result.catalog));
  if (result.skipped > 0) {
    doc["skipped"] = result.skipped;
    doc["skipped_reasons"] = result.skipped_reasons;
  }
  if (!result.warnings.empty()) doc["warnings"] = result.warnings;
  return doc.dump(2) + "\n";
}

APPORTION_END_NAMESPACE
