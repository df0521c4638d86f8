// The spec runner: a spec document (apportion::Value) to an Allocation, and a Result to
// the result document. Every key is checked; every error names its JSON path.

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "apportion/render.hpp"
#include "apportion/spec.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

Currency read_currency(const Value& v, const std::string& path) {
  const std::string code = read_string(v, path);
  try {
    return Currency(code);
  } catch (const ParseError& e) {
    throw SpecError(path, e.what());
  }
}

Interval read_interval(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  const Instant start = read_instant(r.required("start"), r.path("start"));
  const Instant end = read_instant(r.required("end"), r.path("end"));
  r.finish();
  if (end < start) throw SpecError(r.path("end"), "is before start (" + end.to_string() + " < " + start.to_string() + ")");
  return Interval(start, end);
}

Pool read_pool(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Pool pool;
  pool.id = read_string(r.required("id"), r.path("id"));
  if (const Value* t = r.optional("tags")) pool.tags = read_tags(*t, r.path("tags"));
  if (const Value* c = r.optional("currency")) pool.currency = read_currency(*c, r.path("currency"));
  int sources = 0;
  if (const Value* c = r.optional("cost")) {
    pool.source = CostSource{read_decimal(*c, r.path("cost"))};
    ++sources;
  }
  if (const Value* p = r.optional("price")) {
    ObjectReader pr(*p, r.path("price"));
    PriceSource price;
    price.sku = read_string(pr.required("sku"), pr.path("sku"));
    if (const Value* t = pr.optional("tier")) price.tier = read_string(*t, pr.path("tier"));
    price.quantity = read_non_negative(pr.required("quantity"), pr.path("quantity"));
    const Value* start = pr.optional("start");
    const Value* end = pr.optional("end");
    if (start && end) {
      const Instant s = read_instant(*start, pr.path("start"));
      const Instant e = read_instant(*end, pr.path("end"));
      if (e < s) throw SpecError(pr.path("end"), "is before start (" + e.to_string() + " < " + s.to_string() + ")");
      price.interval = Interval(s, e);
    } else if (start || end) {
      throw SpecError(pr.path(start ? "end" : "start"), "start and end must be given together");
    }
    pr.finish();
    pool.source = std::move(price);
    ++sources;
  }
  if (const Value* f = r.optional("from")) {
    ObjectReader fr(*f, r.path("from"));
    FromStepSource from;
    from.step = read_string(fr.required("step"), fr.path("step"));
    if (const Value* t = fr.optional("tags")) from.tags = read_tags(*t, fr.path("tags"));
    fr.finish();
    pool.source = std::move(from);
    ++sources;
  }
  if (const Value* a = r.optional("amortized")) {
    ObjectReader ar(*a, r.path("amortized"));
    const Decimal amount = read_decimal(ar.required("amount"), ar.path("amount"));
    const Interval term = read_interval(ar.required("term"), ar.path("term"));
    const Interval window = read_interval(ar.required("window"), ar.path("window"));
    ar.finish();
    pool.source = AmortizedSource{amount, term, window};
    ++sources;
  }
  r.finish();
  if (sources != 1)
    throw SpecError(path, sources == 0 ? "needs one of \"cost\", \"price\", \"from\" or \"amortized\""
                                       : "gives more than one of \"cost\", \"price\", \"from\" and \"amortized\"");
  return pool;
}

Amounts read_measures(const Value& v, const std::string& path) {
  if (!v.is(Value::Type::object)) throw SpecError(path, "must be an object of names and amounts");
  Amounts out;
  for (const auto& [name, amount] : v.members())
    out.emplace(name, read_non_negative(amount, path_join(path, name), ExcessDigits::round_half_even));
  return out;
}

Record read_record(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Record rec;
  rec.origin = path;
  if (const Value* id = r.optional("id")) rec.id = read_string(*id, r.path("id"));
  rec.tags = read_tags(r.required("tags"), r.path("tags"));
  if (const Value* p = r.optional("pool")) rec.pool = read_string(*p, r.path("pool"));
  if (const Value* m = r.optional("measures")) rec.measures = read_measures(*m, r.path("measures"));
  if (const Value* m = r.optional("reserved")) rec.reserved = read_measures(*m, r.path("reserved"));
  if (const Value* m = r.optional("used")) rec.used = read_measures(*m, r.path("used"));
  if (const Value* s = r.optional("start")) rec.start = read_instant(*s, r.path("start"));
  if (const Value* e = r.optional("end")) rec.end = read_instant(*e, r.path("end"));
  if (const Value* c = r.optional("count")) rec.count = read_non_negative(*c, r.path("count"), ExcessDigits::round_half_even);
  if (const Value* s = r.optional("sku")) rec.sku = read_string(*s, r.path("sku"));
  if (const Value* t = r.optional("tier")) rec.tier = read_string(*t, r.path("tier"));
  r.finish();
  if (rec.start && rec.end && *rec.end < *rec.start)
    throw SpecError(r.path("end"), "is before start (" + rec.end->to_string() + " < " + rec.start->to_string() + ")");
  const auto utilization = rec.measures.find("utilization");
  if (utilization != rec.measures.end() && utilization->second > Decimal(1))
    throw SpecError(path + ".measures.utilization", "must be between 0 and 1 (got " + utilization->second.to_string() + ")");
  if (rec.measure("tokens_cached") > rec.measure("tokens_prompt"))
    throw SpecError(path + ".measures.tokens_cached", "must not exceed tokens_prompt (" +
                                                        rec.measure("tokens_cached").to_string() + " > " +
                                                        rec.measure("tokens_prompt").to_string() + ")");
  return rec;
}

Selector read_select(const Value& v, const std::string& path) {
  if (!v.is(Value::Type::object)) throw SpecError(path, "must be an object of tag names and values");
  Selector select;
  for (const auto& [key, value] : v.members()) {
    const std::string p = path_join(path, key);
    if (value.is(Value::Type::string)) {
      select[key] = {value.text()};
    } else if (value.is(Value::Type::array)) {
      select[key] = read_string_list(value, p);
    } else {
      throw SpecError(p, "must be a tag value or a list of tag values");
    }
  }
  return select;
}

Step read_step(const Value& v, const std::string& path, const StrategyRegistry& registry) {
  ObjectReader r(v, path);
  Step step;
  step.id = read_string(r.required("id"), r.path("id"));
  const std::string name = read_string(r.required("strategy"), r.path("strategy"));
  if (const Value* p = r.optional("pool")) step.pool = read_string(*p, r.path("pool"));
  if (const Value* g = r.optional("group_by")) step.group_by = read_tag_keys(*g, r.path("group_by"));
  if (const Value* s = r.optional("select")) step.select = read_select(*s, r.path("select"));
  if (!registry.contains(name)) {
    std::string known;
    for (const std::string& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    throw SpecError(r.path("strategy"), "unknown strategy \"" + name + "\" (known: " + known + ")");
  }
  step.strategy = registry.make(name, r);
  r.finish();
  return step;
}

FxRate read_fx(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  FxRate fx{read_currency(r.required("from"), r.path("from")), read_currency(r.required("to"), r.path("to")),
            read_non_negative(r.required("rate"), r.path("rate")), "", "", r.required("rate").text()};
  if (fx.rate.is_zero()) throw SpecError(r.path("rate"), "must be positive");
  if (const Value* d = r.optional("date")) fx.date = read_string(*d, r.path("date"));
  if (const Value* s = r.optional("source")) fx.source = read_string(*s, r.path("source"));
  r.finish();
  return fx;
}

template <class T, class Read>
std::vector<T> read_list(ObjectReader& r, std::string_view key, Read read) {
  const std::string path = r.path(key);
  const auto& items = read_array(r.required(key), path);
  std::vector<T> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) out.push_back(read(items[i], path_index(path, i)));
  return out;
}

nlohmann::ordered_json tags_json(const Tags& tags) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

std::string read_text_file(const std::filesystem::path& file, const std::string& path) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SpecError(path, "cannot read \"" + file.string() + "\": " + std::strerror(errno));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Each input's file is read by its format's parser; what it yields joins the inline
// records, pools and catalog exactly as if written there.
void read_inputs(ObjectReader& spec, Allocation& a, const SpecOptions& options) {
  const std::string list_path = spec.path("inputs");
  const auto& inputs = read_array(spec.required("inputs"), list_path);
  std::optional<Catalog> merged;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = path_index(list_path, i);
    ObjectReader input(inputs[i], path);
    const std::string format = read_string(input.required("format"), input.path("format"));
    const std::string file = read_string(input.required("path"), input.path("path"));
    if (!IngestRegistry::global().contains(format)) {
      std::string known;
      for (const std::string& f : IngestRegistry::global().formats()) known += (known.empty() ? "" : ", ") + f;
      throw SpecError(input.path("format"), "unknown input format \"" + format + "\" (known: " + known + ")");
    }
    const std::string text = read_text_file(options.base_dir / file, input.path("path"));
    IngestResult got;
    try {
      got = IngestRegistry::global().parse(format, text, input, file);
    } catch (const SpecError& e) {
      // Option errors already name their JSON path; row errors name the file and line.
      if (e.path().rfind(path, 0) == 0) throw;
      throw SpecError(path, e.what());
    }
    input.finish();
    InputSummary summary{file, format, got.records.size(), got.pools.size(), 0, got.skipped, got.skipped_reasons};
    for (Record& rec : got.records) a.records.push_back(std::move(rec));
    for (Pool& pool : got.pools) a.pools.push_back(std::move(pool));
    if (got.catalog) {
      summary.skus = got.catalog->skus().size();
      if (!merged) merged = a.catalog ? *a.catalog : Catalog();
      try {
        merged->merge(*got.catalog);
      } catch (const std::invalid_argument& e) {
        throw SpecError(path, e.what());
      }
    }
    a.inputs.push_back(std::move(summary));
  }
  if (merged) a.catalog = std::make_shared<const Catalog>(std::move(*merged));
}

}  // namespace

Allocation allocation_from_spec(const Value& spec, const SpecOptions& options) {
  const StrategyRegistry& registry = options.registry ? *options.registry : StrategyRegistry::global();
  ObjectReader r(spec, "");
  const Value& version = r.required("apportion");
  if (!version.is(Value::Type::number) || version.text() != "1")
    throw SpecError("apportion", "must be 1 (the spec version this library reads)");
  Allocation a;
  if (const Value* c = r.optional("currency")) a.currency = read_currency(*c, "currency");
  if (const Value* p = r.optional("precision")) {
    const Decimal precision = read_decimal(*p, "precision");
    if (!precision.is_power_of_ten())
      throw SpecError("precision", "must be a power of ten such as \"0.01\" (got \"" + p->text() + "\")");
    a.precision = precision;
  }
  if (const Value* c = r.optional("catalog")) {
    if (c->is(Value::Type::string)) {
      if (c->text() != "builtin") throw SpecError("catalog", "must be a catalog object or \"builtin\"");
      a.catalog = std::shared_ptr<const Catalog>(&Catalog::builtin(), [](const Catalog*) {});
    } else {
      a.catalog = std::make_shared<const Catalog>(catalog_from_value(*c, "catalog"));
    }
  }
  a.pools = read_list<Pool>(r, "pools", read_pool);
  a.records = read_list<Record>(r, "records", read_record);
  a.steps = read_list<Step>(r, "steps", [&](const Value& v, const std::string& p) { return read_step(v, p, registry); });
  if (r.has("fx")) a.fx = read_list<FxRate>(r, "fx", read_fx);
  if (r.has("inputs")) read_inputs(r, a, options);
  for (const char* later : {"budgets", "anomalies", "reconcile", "scorecards"})
    if (r.optional(later)) throw SpecError(later, "is not supported by this version of apportion yet");
  r.finish();
  std::set<std::string> ids;
  for (std::size_t i = 0; i < a.records.size(); ++i)
    if (!a.records[i].id.empty() && !ids.insert(a.records[i].id).second) {
      const std::string& origin = a.records[i].origin;  // records[3], or a file and line
      throw SpecError(origin + (origin.starts_with("records[") ? ".id" : ""),
                      "record id \"" + a.records[i].id + "\" is used twice");
    }
  return a;
}

std::string result_to_json(const Result& result) {
  using json = nlohmann::ordered_json;
  const Decimal unit = result.precision;
  json doc;
  doc["apportion"] = 1;
  doc["currency"] = std::string(result.currency.code());
  doc["precision"] = unit.to_string();
  doc["pools"] = json::array();
  for (const PoolCost& p : result.pools) doc["pools"].push_back({{"id", p.id}, {"cost", format_amount(p.cost, unit)}});
  doc["lines"] = json::array();
  for (const Line& l : result.lines) {
    json j;
    j["step"] = l.step;
    if (l.pool) j["pool"] = *l.pool;
    j["kind"] = std::string(to_string(l.kind));
    j["tags"] = tags_json(l.tags);
    j["cost"] = format_amount(l.cost, unit);
    if (l.weight) j["weight"] = format_weight(*l.weight);
    if (l.share) j["share"] = format_places(*l.share, 6);
    if (l.split_cost) j["split_cost"] = format_amount(*l.split_cost, unit);
    if (l.unused_cost) j["unused_cost"] = format_amount(*l.unused_cost, unit);
    if (l.gpu_hours) j["gpu_hours"] = format_places(*l.gpu_hours, 6);
    doc["lines"].push_back(std::move(j));
  }
  doc["unit_costs"] = json::array();
  for (const UnitCost& u : result.unit_costs) {
    json rates = json::object();
    for (const auto& [name, rate] : u.per_million) rates[name] = format_amount(rate, u.unit_precision);
    doc["unit_costs"].push_back({{"step", u.step}, {"tags", tags_json(u.tags)}, {"per_million", std::move(rates)}});
  }
  doc["coverage"] = json::array();
  for (const Coverage& c : result.coverage) doc["coverage"].push_back({{"step", c.step}, {"ratio", format_places(c.ratio, 6)}});
  if (!result.fx_used.empty()) {
    doc["fx"] = json::array();
    for (const FxRate& fx : result.fx_used) {
      json j{{"from", std::string(fx.from.code())}, {"to", std::string(fx.to.code())}, {"rate", fx.rate_text.empty() ? fx.rate.to_string() : fx.rate_text}};
      if (!fx.date.empty()) j["date"] = fx.date;
      if (!fx.source.empty()) j["source"] = fx.source;
      doc["fx"].push_back(std::move(j));
    }
  }
  if (!result.inputs.empty()) {
    doc["inputs"] = json::array();
    for (const InputSummary& in : result.inputs) {
      json j{{"path", in.path}, {"format", in.format}, {"records", in.records}, {"pools", in.pools}, {"skus", in.skus},
             {"skipped", in.skipped}};
      if (!in.skipped_reasons.empty()) j["skipped_reasons"] = in.skipped_reasons;
      doc["inputs"].push_back(std::move(j));
    }
  }
  return doc.dump(2) + "\n";
}

std::string run_spec(std::string_view spec_json, const SpecOptions& options) {
  return result_to_json(run(allocation_from_spec(parse_json(spec_json), options)));
}

APPORTION_END_NAMESPACE
