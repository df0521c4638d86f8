// The built-in strategies' factories: each reads its options from the step object and
// refuses values the spec does not allow, naming the path.

#include "apportion/strategies.hpp"

#include <algorithm>

APPORTION_BEGIN_NAMESPACE

namespace {

std::string one_of(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string s = "must be \"" + std::string(a) + "\" or \"" + std::string(b) + "\"";
  if (!c.empty()) s = "must be \"" + std::string(a) + "\", \"" + std::string(b) + "\" or \"" + std::string(c) + "\"";
  return s;
}

WeightExpression read_weight(const Value& v, const std::string& path) {
  if (v.is(Value::Type::string)) return WeightExpression::measure(v.text());
  if (!v.is(Value::Type::object))
    throw SpecError(path, "must be a measure name or an object of measure names and coefficients");
  WeightExpression w;
  for (const auto& [measure, coefficient] : v.members())
    w.terms.emplace_back(measure, read_non_negative(coefficient, path_join(path, measure)));
  if (w.terms.empty()) throw SpecError(path, "must name at least one measure");
  return w;
}

CostPolicy read_policy(const Value& v, const std::string& path) {
  if (v.is(Value::Type::string)) {
    if (v.text() == "separate") return SeparatePolicy{};
    if (v.text() == "proportional") return ProportionalPolicy{};
    if (v.text() == "even") return EvenPolicy{};
  } else if (v.is(Value::Type::object)) {
    ObjectReader r(v, path);
    AssignPolicy assign{read_tags(r.required("assign"), r.path("assign"))};
    r.finish();
    if (assign.tags.empty()) throw SpecError(path + ".assign", "must name the line's tags");
    return assign;
  }
  throw SpecError(path, "must be \"separate\", \"proportional\", \"even\" or {\"assign\": {...}}");
}

TokenWeights read_token_weights(ObjectReader& options) {
  TokenWeights tw;
  if (const Value* v = options.optional("token_weights")) {
    ObjectReader r(*v, options.path("token_weights"));
    if (const Value* p = r.optional("prompt")) tw.prompt = read_non_negative(*p, r.path("prompt"));
    if (const Value* g = r.optional("generation")) tw.generation = read_non_negative(*g, r.path("generation"));
    r.finish();
  }
  return tw;
}

Decimal read_power_of_ten(const Value& v, const std::string& path) {
  const Decimal d = read_decimal(v, path);
  if (!d.is_power_of_ten()) throw SpecError(path, "must be a power of ten such as \"0.01\" (got \"" + v.text() + "\")");
  return d;
}

Amounts read_amounts(const Value& v, const std::string& path) {
  if (!v.is(Value::Type::object)) throw SpecError(path, "must be an object of resource names and amounts");
  Amounts out;
  for (const auto& [name, amount] : v.members()) out.emplace(name, read_non_negative(amount, path_join(path, name)));
  return out;
}

std::shared_ptr<const Strategy> make_proportional(ObjectReader& o) {
  return std::make_shared<Proportional>(read_weight(o.required("weight"), o.path("weight")));
}

std::shared_ptr<const Strategy> make_per_namespace(ObjectReader& o) {
  PerNamespace::Options opt;
  // Every key taken first, so that a misspelt one is named before any check between them.
  const Value* weight = o.optional("weight");
  const Value* resources = o.optional("resources");
  const Value* overhead = o.optional("overhead");
  const Value* idle = o.optional("idle");
  o.finish();
  if (weight) opt.weight = read_weight(*weight, o.path("weight"));
  if (resources) {  // {"cpu": "cpu_core_seconds", "gpu": {"gpu_seconds": 1}, ...}
    if (weight) throw SpecError(o.path("weight"), "give \"weight\" or \"resources\", not both");
    if (!resources->is(Value::Type::object) || resources->members().empty())
      throw SpecError(o.path("resources"), "must be an object of resource names and their weights");
    for (const auto& [resource, w] : resources->members())
      opt.resource_weights.emplace(resource, read_weight(w, path_join(o.path("resources"), resource)));
  }
  if (overhead) {
    ObjectReader r(*overhead, o.path("overhead"));
    const Value* ns = r.optional("namespaces");
    const Value* t = r.optional("tags");
    const Value* p = r.optional("policy");
    const Value* res = r.optional("resources");
    r.finish();
    if (ns) opt.overhead_namespaces = read_string_list(*ns, r.path("namespaces"));
    if (t) {  // {"app": "shared"} or {"app": ["shared", "common"]}
      if (!t->is(Value::Type::object)) throw SpecError(r.path("tags"), "must be an object of tag keys and values");
      for (const auto& [key, value] : t->members()) {
        const std::string tp = path_join(r.path("tags"), key);
        std::vector<std::string> values = value.is(Value::Type::string) ? std::vector<std::string>{read_string(value, tp)}
                                                                        : read_string_list(value, tp);
        if (values.empty()) throw SpecError(tp, "must name at least one value");
        opt.overhead_tags[key] = std::move(values);
      }
    }
    if (p) opt.overhead_policy = read_policy(*p, r.path("policy"));
    if (res) {
      if (!resources) throw SpecError(r.path("resources"), "names resources of a pool's parts: give the step's \"resources\"");
      opt.overhead_resources = read_string_list(*res, r.path("resources"));
      for (const std::string& name : opt.overhead_resources)
        if (opt.resource_weights.contains(name))
          throw SpecError(r.path("resources"), "resource \"" + name + "\" is overhead as a whole, so it takes no weight in \"resources\"");
    }
  }
  if (idle) {
    ObjectReader r(*idle, o.path("idle"));
    const Value* capacity = r.optional("capacity");
    const Value* p = r.optional("policy");
    r.finish();
    // Split by parts, the capacities are the parts'.
    if (resources && capacity)
      throw SpecError(r.path("capacity"), "a step with \"resources\" takes each part's capacity from the pool's parts");
    if (!resources && !capacity)
      throw SpecError(r.path(), "missing required key \"capacity\" (or give the step \"resources\" to split a pool's "
                                "parts, which carry their own capacities)");
    if (capacity) opt.idle_capacity = read_non_negative(*capacity, r.path("capacity"));
    if (p) opt.idle_policy = read_policy(*p, r.path("policy"));
  }
  return std::make_shared<PerNamespace>(std::move(opt));
}

std::shared_ptr<const Strategy> make_per_tenant(ObjectReader& o) {
  PerTenant::Options opt;
  if (const Value* w = o.optional("weight")) {
    const std::string s = read_string(*w, o.path("weight"));
    if (s == "tokens") opt.weight = PerTenant::Weight::tokens;
    else if (s == "requests") opt.weight = PerTenant::Weight::requests;
    else if (s == "list_price") opt.weight = PerTenant::Weight::list_price;
    else throw SpecError(o.path("weight"), one_of("tokens", "requests", "list_price"));
  }
  const bool list_price = opt.weight == PerTenant::Weight::list_price;
  // The list price weighs every kind of token at its own rate: no token weights, no cached policy.
  for (const char* key : {"token_weights", "cached"})
    if (list_price && o.has(key)) throw SpecError(o.path(key), "has no effect with weight \"list_price\"");
  for (const char* key : {"sku_prefix", "model_tag"})
    if (!list_price && o.has(key)) throw SpecError(o.path(key), "is read only with weight \"list_price\"");
  if (const Value* v = o.optional("sku_prefix")) opt.sku_prefix = read_string(*v, o.path("sku_prefix"));
  if (const Value* v = o.optional("model_tag")) {
    opt.model_tag = read_string(*v, o.path("model_tag"));
    if (opt.model_tag.empty()) throw SpecError(o.path("model_tag"), "must name a tag");
  }
  opt.token_weights = read_token_weights(o);
  if (const Value* c = o.optional("cached")) {
    const std::string s = read_string(*c, o.path("cached"));
    if (s == "proportional") opt.cached = PerTenant::Cached::proportional;
    else if (s == "tenant") opt.cached = PerTenant::Cached::tenant;
    else if (s == "separate") opt.cached = PerTenant::Cached::separate;
    else throw SpecError(o.path("cached"), one_of("proportional", "tenant", "separate"));
  }
  return std::make_shared<PerTenant>(std::move(opt));
}

std::shared_ptr<const Strategy> make_per_token(ObjectReader& o) {
  PerToken::Options opt;
  opt.token_weights = read_token_weights(o);
  if (const Value* v = o.optional("rate_by")) opt.rate_by = read_tag_keys(*v, o.path("rate_by"));
  if (const Value* v = o.optional("unit_precision")) opt.unit_precision = read_power_of_ten(*v, o.path("unit_precision"));
  if (const Value* v = o.optional("phases")) {
    ObjectReader r(*v, o.path("phases"));
    PerToken::Phases phases{read_non_negative(r.required("prompt"), r.path("prompt")),
                            read_non_negative(r.required("generation"), r.path("generation"))};
    r.finish();
    if (phases.prompt + phases.generation != Decimal(1))
      throw SpecError(o.path("phases"), "prompt and generation must sum to 1 (got " +
                                            (phases.prompt + phases.generation).to_string() + ")");
    opt.phases = phases;
  }
  return std::make_shared<PerToken>(std::move(opt));
}

std::shared_ptr<const Strategy> make_weighted_split(ObjectReader& o) {
  WeightedSplit::Options opt;
  opt.capacity = read_amounts(o.required("capacity"), o.path("capacity"));
  if (const Value* v = o.optional("weights")) opt.weights = read_amounts(*v, o.path("weights"));
  if (const Value* v = o.optional("basis")) {
    const std::string s = read_string(*v, o.path("basis"));
    if (s == "max") opt.basis = WeightedSplit::Basis::max;
    else if (s == "reserved") opt.basis = WeightedSplit::Basis::reserved;
    else if (s == "used") opt.basis = WeightedSplit::Basis::used;
    else throw SpecError(o.path("basis"), one_of("max", "reserved", "used"));
  }
  if (const Value* v = o.optional("unused")) {
    const std::string s = read_string(*v, o.path("unused"));
    if (s == "proportional") opt.unused = WeightedSplit::Unused::proportional;
    else if (s == "separate") opt.unused = WeightedSplit::Unused::separate;
    else throw SpecError(o.path("unused"), one_of("proportional", "separate"));
  }
  try {
    return std::make_shared<WeightedSplit>(std::move(opt));
  } catch (const std::invalid_argument& e) {
    throw SpecError(o.path("capacity"), e.what());
  }
}

std::shared_ptr<const Strategy> make_commitment(ObjectReader& o) {
  Commitment::Options opt;
  opt.covers = read_non_negative(o.required("covers"), o.path("covers"));
  if (const Value* w = o.optional("weight")) opt.weight = read_weight(*w, o.path("weight"));
  if (const Value* u = o.optional("unused")) opt.unused_policy = read_policy(*u, o.path("unused"));
  return std::make_shared<Commitment>(std::move(opt));
}

std::shared_ptr<const Strategy> make_fixed(ObjectReader& o) {
  const std::string path = o.path("shares");
  std::vector<Fixed::Share> shares;
  const auto& items = read_array(o.required("shares"), path);
  for (std::size_t i = 0; i < items.size(); ++i) {
    ObjectReader r(items[i], path_index(path, i));
    shares.push_back({read_tags(r.required("tags"), r.path("tags")), read_non_negative(r.required("share"), r.path("share"))});
    r.finish();
  }
  try {
    return std::make_shared<Fixed>(std::move(shares));
  } catch (const std::invalid_argument& e) {
    throw SpecError(path, e.what());
  }
}

}  // namespace

StrategyRegistry StrategyRegistry::with_builtins() {
  StrategyRegistry r;
  r.add("proportional", make_proportional);
  r.add("per_namespace", make_per_namespace);
  r.add("per_tenant", make_per_tenant);
  r.add("per_token", make_per_token);
  r.add("per_experiment", [](ObjectReader& o) {
    PerExperiment::Options options;
    if (const Value* v = o.optional("rounding")) {
      const std::string text = read_string(*v, o.path("rounding"));
      if (text == "total") options.rounding = PerExperiment::Rounding::total;
      else if (text != "lines") throw SpecError(o.path("rounding"), "must be \"lines\" or \"total\" (got \"" + text + "\")");
    }
    return std::make_shared<PerExperiment>(options);
  });
  r.add("weighted_split", make_weighted_split);
  r.add("even", [](ObjectReader&) { return std::make_shared<Even>(); });
  r.add("fixed", make_fixed);
  r.add("commitment", make_commitment);
  return r;
}

APPORTION_END_NAMESPACE
