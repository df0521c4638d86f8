// `opencost`: the JSON of OpenCost's /allocation and /allocation/compute APIs, one record per
// allocation, tagged from its properties and its pod's and namespace's labels, with usage
// measures converted exactly.

#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apportion/json.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

// The exact value of JSON number text; nothing for anything else.
std::optional<Rational> exact_number(std::string_view t) {
  std::size_t i = 0;
  const bool negative = i < t.size() && t[i] == '-';
  if (negative) ++i;
  const auto digits = [&](std::string& out) {
    const std::size_t from = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) out += t[i++];
    return i > from;
  };
  std::string mantissa;
  if (!digits(mantissa)) return std::nullopt;
  if (mantissa.size() > 1 && mantissa[0] == '0') return std::nullopt;
  long long scale = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    std::string fraction;
    if (!digits(fraction)) return std::nullopt;
    mantissa += fraction;
    scale = static_cast<long long>(fraction.size());
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool negative_exp = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative_exp = t[i++] == '-';
    std::string exp;
    if (!digits(exp) || exp.size() > 4) return std::nullopt;
    scale += negative_exp ? std::stoll(exp) : -std::stoll(exp);
  }
  if (i != t.size()) return std::nullopt;
  // Boost reads a leading 0 as octal: strip leading zeros first.
  const std::size_t nonzero = mantissa.find_first_not_of('0');
  BigInt n(nonzero == std::string::npos ? std::string("0") : mantissa.substr(nonzero));
  if (negative) n = -n;
  const auto pow10 = [](long long k) {
    BigInt p = 1;
    for (long long j = 0; j < k; ++j) p *= 10;
    return p;
  };
  return scale >= 0 ? Rational(n, pow10(scale)) : Rational(n * pow10(-scale), BigInt(1));
}

const Decimal kUnit = Decimal::from_raw(1);  // 10^-12: results needing more digits round half-even

// Reads a numeric allocation field as an exact rational; absent is nothing.
std::optional<Rational> read_number(const Value& alloc, std::string_view key, const std::string& where) {
  const Value* v = alloc.find(key);
  if (!v) return std::nullopt;
  const std::string path = path_join(where, key);
  if (v->is(Value::Type::null)) throw SpecError(path, "is null (NaN or infinity in OpenCost), not a number");
  if (!v->is(Value::Type::number) && !v->is(Value::Type::string))
    throw SpecError(path, std::string("must be a number, not ") + std::string(type_name(v->type())));
  std::optional<Rational> r = exact_number(v->text());
  if (!r) throw SpecError(path, "not a number (got \"" + v->text().substr(0, 40) + "\")");
  if (*r < 0) throw SpecError(path, "must not be negative (got \"" + v->text() + "\")");
  return r;
}

Decimal to_decimal(const Rational& r, const std::string& path) {
  try {
    return Decimal::from_rational(r, kUnit);
  } catch (const OverflowError&) {
    throw SpecError(path, "out of range");
  }
}

// Adds a tag unless the value is null or empty; says whether it did.
bool add_tag(std::vector<Tags::Pair>& pairs, std::string key, const Value* v, const std::string& path) {
  if (!v || v->is(Value::Type::null)) return false;
  if (!v->is(Value::Type::string)) throw SpecError(path, "must be a string");
  if (v->text().empty()) return false;
  pairs.emplace_back(std::move(key), v->text());
  return true;
}

// The tags read from `properties`, and `idle`: a label of the same name keeps a label_ prefix.
constexpr std::pair<const char*, const char*> property_tags[] = {
    {"cluster", "cluster"}, {"node", "node"}, {"namespace", "namespace"}, {"controllerKind", "controller_kind"},
    {"controller", "controller"}, {"pod", "pod"}, {"container", "container"}};

std::string label_tag(const std::string& name) {
  if (name == "idle") return "label_idle";
  for (const auto& [from, to] : property_tags)
    if (name == to) return "label_" + name;
  return name;
}

// Kubernetes labels as tags under their own names: OpenCost already strips the label_ of
// kube-state-metrics. `taken` holds the labels read before, which win over these.
void add_labels(std::vector<Tags::Pair>& pairs, std::set<std::string>& taken, const Value* labels,
                const std::string& path) {
  if (!labels || labels->is(Value::Type::null)) return;
  if (!labels->is(Value::Type::object)) throw SpecError(path, "must be an object");
  for (const auto& [key, value] : labels->members())
    if (!taken.contains(key) && add_tag(pairs, label_tag(key), &value, path_join(path, key))) taken.insert(key);
}

// Each resource's cost with its adjustment, as OpenCost's TotalCost adds them: what its idle
// sharing weighs each resource's idle by.
constexpr std::pair<const char*, const char*> resource_costs[] = {
    {"cpuCost", "opencost_cpu_cost"}, {"gpuCost", "opencost_gpu_cost"}, {"ramCost", "opencost_ram_cost"},
    {"pvCost", "opencost_pv_cost"}, {"networkCost", "opencost_network_cost"},
    {"loadBalancerCost", "opencost_load_balancer_cost"}};

// The resource cost measures of an allocation that is not idle (idle is no resource's use).
// A cost or adjustment OpenCost wrote as null (NaN), or that is not a number, or a negative
// sum, leaves the measure out and is counted in `left_out` by field: fields that are read
// only for these measures do not fail an allocation whose usage is sound.
void add_resource_costs(Record& record, const Value& alloc, const std::string& where,
                        std::map<std::string, std::size_t>& left_out) {
  for (const auto& [field, measure] : resource_costs) {
    const std::string adjustment_field = std::string(field) + "Adjustment";
    const auto read = [&](const std::string& key) -> std::optional<Rational> {
      const Value* v = alloc.find(key);
      if (!v || (!v->is(Value::Type::number) && !v->is(Value::Type::string))) return std::nullopt;
      return exact_number(v->text());
    };
    if (!alloc.find(field)) continue;
    const auto cost = read(field);
    const bool has_adjustment = alloc.find(adjustment_field) != nullptr;
    const auto adjustment = has_adjustment ? read(adjustment_field) : std::optional<Rational>(Rational(0));
    if (!cost || !adjustment || *cost + *adjustment < 0) {
      ++left_out[!cost || *cost < 0 ? std::string(field) : adjustment_field];
      continue;
    }
    record.measures.emplace(measure, to_decimal(*cost + *adjustment, path_join(where, field)));
  }
}

Record read_allocation(const std::string& name, const Value& alloc, const std::string& where, bool one_set,
                       const std::optional<std::string>& pool, std::map<std::string, std::size_t>& left_out) {
  if (!alloc.is(Value::Type::object)) throw SpecError(where, "must be an object");
  Record record;
  record.origin = where;
  record.pool = pool;
  std::vector<Tags::Pair> pairs;
  if (const Value* props = alloc.find("properties"); props && !props->is(Value::Type::null)) {
    const std::string pp = path_join(where, "properties");
    if (!props->is(Value::Type::object)) throw SpecError(pp, "must be an object");
    for (const auto& [from, to] : property_tags) add_tag(pairs, to, props->find(from), path_join(pp, from));
    // Pod labels win over the namespace's (as OpenCost merges them into `labels` itself).
    std::set<std::string> taken;
    add_labels(pairs, taken, props->find("labels"), path_join(pp, "labels"));
    add_labels(pairs, taken, props->find("namespaceLabels"), path_join(pp, "namespaceLabels"));
  }
  // OpenCost names idle "__idle__", or "<cluster or node>/__idle__" split by cluster or node.
  const bool idle = name.find("__idle__") != std::string::npos;
  if (idle) pairs.emplace_back("idle", "true");
  try {
    record.tags = Tags(std::move(pairs));
  } catch (const std::invalid_argument& e) {
    throw SpecError(path_join(where, "properties"), e.what());
  }

  const Value* start = alloc.find("start");
  const Value* end = alloc.find("end");
  if (const Value* window = alloc.find("window"); window && window->is(Value::Type::object)) {
    if (!start) start = window->find("start");
    if (!end) end = window->find("end");
  }
  if (start) record.start = read_instant(*start, path_join(where, "start"));
  if (end) record.end = read_instant(*end, path_join(where, "end"));
  if (record.start && record.end && *record.end < *record.start)
    throw SpecError(path_join(where, "end"), "is before start");
  record.id = one_set || !record.start ? name : name + "@" + record.start->to_string();

  if (auto r = read_number(alloc, "gpuHours", where))
    record.measures.emplace("gpu_seconds", to_decimal(*r * 3600, path_join(where, "gpuHours")));
  if (auto r = read_number(alloc, "cpuCoreHours", where))
    record.measures.emplace("cpu_core_seconds", to_decimal(*r * 3600, path_join(where, "cpuCoreHours")));
  if (auto r = read_number(alloc, "ramByteHours", where))
    record.measures.emplace("memory_gib_seconds",
                            to_decimal(*r * 3600 / Rational(BigInt(1) << 30), path_join(where, "ramByteHours")));
  if (auto r = read_number(alloc, "totalCost", where))
    record.measures.emplace("opencost_total_cost", to_decimal(*r, path_join(where, "totalCost")));
  if (!idle) add_resource_costs(record, alloc, where, left_out);
  return record;
}

IngestResult parse_opencost(std::string_view text, ObjectReader& options, const std::string& source) {
  std::optional<std::string> pool;
  if (const Value* v = options.optional("pool")) {
    pool = read_string(*v, options.path("pool"));
    if (pool->empty()) throw SpecError(options.path("pool"), "must not be empty");
  }
  const RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read
  Value doc;
  try {
    doc = parse_json(text);
  } catch (const SpecError& e) {
    throw SpecError(source, e.what());
  }
  if (!doc.is(Value::Type::object)) throw SpecError(source, "must be a JSON object with \"data\"");
  if (const Value* code = doc.find("code"); code && code->text() != "200") {
    std::string message;
    if (const Value* m = doc.find("message"); m && m->is(Value::Type::string)) message = ": " + m->text();
    throw SpecError(source + " code", "the response is an error (code " + code->text() + message + ")");
  }
  const Value* data = doc.find("data");
  if (!data) throw SpecError(source, "no \"data\"");
  // data is a list of allocation sets (one per window step); a bare set is taken as one.
  std::vector<const Value*> sets;
  if (data->is(Value::Type::array)) {
    for (const Value& s : data->items()) sets.push_back(&s);
  } else if (data->is(Value::Type::object)) {
    sets.push_back(data);
  } else {
    throw SpecError(source + " data", "must be a list of allocation sets");
  }
  IngestResult result;
  std::map<std::string, std::size_t> left_out;  // resource cost fields not read, by field
  const bool one_set = sets.size() == 1;
  for (std::size_t s = 0; s < sets.size(); ++s) {
    const std::string set_path = data->is(Value::Type::array) ? path_index(source + " data", s) : source + " data";
    if (sets[s]->is(Value::Type::null)) continue;  // an empty window step
    if (!sets[s]->is(Value::Type::object)) throw SpecError(set_path, "must be an object of allocations");
    for (const auto& [name, alloc] : sets[s]->members()) {
      ++result.rows;
      const std::string where = path_join(set_path, name);
      try {
        result.records.push_back(read_allocation(name, alloc, where, one_set, pool, left_out));
      } catch (const SpecError& e) {
        // The location is the error's path; skip() reports it once.
        const std::string path = e.path().empty() ? where : e.path();
        const std::string what = std::string(e.what()).substr(e.path().empty() ? 0 : e.path().size() + 2);
        errors.skip(result, path, what);
      } catch (const std::exception& e) {
        errors.skip(result, where, e.what());
      }
    }
  }
  for (const auto& [field, count] : left_out)
    result.warnings.push_back(std::to_string(count) + (count == 1 ? " allocation has" : " allocations have") + " a " + field +
                              " that is null (NaN or infinity in OpenCost), not a number, or makes a negative cost: " +
                              (count == 1 ? "its" : "their") + " resource cost measure is left out");
  return result;
}

}  // namespace

void register_opencost(IngestRegistry& registry) {
  registry.add("opencost", parse_opencost);
  registry.add_live("opencost", {LiveSource::Api::opencost_allocation, {}});
}

}  // namespace ingest
APPORTION_END_NAMESPACE
