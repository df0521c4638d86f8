// `opencost`: the JSON of OpenCost's /allocation and /allocation/compute APIs, one record per
// allocation, tagged from its properties and its pod's and namespace's labels, with usage
// measures converted exactly.

#include <cctype>
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
std::optional<Rational> read_number(const Value& alloc, std::string_view key, const std::string& where,
                                    bool signed_number = false) {
  const Value* v = alloc.find(key);
  if (!v) return std::nullopt;
  const std::string path = path_join(where, key);
  if (v->is(Value::Type::null)) throw SpecError(path, "is null (NaN or infinity in OpenCost), not a number");
  if (!v->is(Value::Type::number) && !v->is(Value::Type::string))
    throw SpecError(path, std::string("must be a number, not ") + std::string(type_name(v->type())));
  std::optional<Rational> r = exact_number(v->text());
  if (!r) throw SpecError(path, "not a number (got \"" + v->text().substr(0, 40) + "\")");
  if (*r < 0 && !signed_number) throw SpecError(path, "must not be negative (got \"" + v->text() + "\")");
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

Record read_allocation(const std::string& name, const Value& alloc, const std::string& where, bool one_set,
                       const std::optional<std::string>& pool) {
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
  if (name == "__idle__") pairs.emplace_back("idle", "true");
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
  // Each resource's cost with its adjustment (which may be negative), as OpenCost's
  // TotalCost adds them: what its idle sharing weighs each resource's idle by.
  for (const auto& [field, measure] : {std::pair{"cpu", "opencost_cpu_cost"}, {"gpu", "opencost_gpu_cost"},
                                       {"ram", "opencost_ram_cost"}, {"pv", "opencost_pv_cost"},
                                       {"network", "opencost_network_cost"}, {"loadBalancer", "opencost_load_balancer_cost"}}) {
    const std::string cost_key = std::string(field) + "Cost";
    const auto cost = read_number(alloc, cost_key, where);
    if (!cost) continue;
    const auto adjustment = read_number(alloc, cost_key + "Adjustment", where, true);
    const Rational total = *cost + adjustment.value_or(Rational(0));
    const std::string path = path_join(where, cost_key);
    if (total < 0)
      throw SpecError(path, "with its adjustment " + to_decimal(*adjustment, path).to_string() + " is negative");
    record.measures.emplace(measure, to_decimal(total, path));
  }
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
  const bool one_set = sets.size() == 1;
  for (std::size_t s = 0; s < sets.size(); ++s) {
    const std::string set_path = data->is(Value::Type::array) ? path_index(source + " data", s) : source + " data";
    if (sets[s]->is(Value::Type::null)) continue;  // an empty window step
    if (!sets[s]->is(Value::Type::object)) throw SpecError(set_path, "must be an object of allocations");
    for (const auto& [name, alloc] : sets[s]->members()) {
      ++result.rows;
      const std::string where = path_join(set_path, name);
      try {
        result.records.push_back(read_allocation(name, alloc, where, one_set, pool));
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
  return result;
}

}  // namespace

void register_opencost(IngestRegistry& registry) { registry.add("opencost", parse_opencost); }

}  // namespace ingest
APPORTION_END_NAMESPACE
