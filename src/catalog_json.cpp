// Catalog documents ({"skus": [...]}) to and from apportion::Catalog, and the built-in catalog.

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apportion/json.hpp"
#include "apportion/spec.hpp"

APPORTION_BEGIN_NAMESPACE

// Defined in the generated builtin_catalog.cpp, inside the versioned namespace (spelled out
// here so clang, which does not reopen the inline namespace's `detail` for
// `namespace apportion::detail`, links too).
namespace detail {
extern const char builtin_catalog_json[];
}

namespace {

Price read_price(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Price p;
  if (const Value* t = r.optional("tier")) p.tier = read_string(*t, r.path("tier"));
  p.rate = read_non_negative(r.required("rate"), r.path("rate"));
  if (const Value* f = r.optional("from")) p.from = read_instant(*f, r.path("from"));
  if (const Value* s = r.optional("source")) p.source = read_string(*s, r.path("source"));
  if (const Value* a = r.optional("as_of")) p.as_of = read_string(*a, r.path("as_of"));
  r.finish();
  if (p.tier.empty()) throw SpecError(path + ".tier", "must not be empty");
  return p;
}

Sku read_sku(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Sku s;
  s.id = read_string(r.required("id"), r.path("id"));
  if (s.id.empty()) throw SpecError(r.path("id"), "must not be empty");
  const std::string unit = read_string(r.required("unit"), r.path("unit"));
  const auto parsed_unit = price_unit_from_string(unit);
  if (!parsed_unit)
    throw SpecError(r.path("unit"), "must be gpu_hour, instance_hour, hour, token or million_tokens (got \"" + unit + "\")");
  s.unit = *parsed_unit;
  if (const Value* b = r.optional("billing")) {
    const std::string text = read_string(*b, r.path("billing"));
    const auto billing = billing_from_string(text);
    if (!billing) throw SpecError(r.path("billing"), "must be per_second, per_minute or per_hour (got \"" + text + "\")");
    s.billing = *billing;
  }
  if (const Value* m = r.optional("minimum_seconds")) s.minimum_seconds = read_non_negative(*m, r.path("minimum_seconds"));
  const std::string prices_path = r.path("prices");
  const auto& prices = read_array(r.required("prices"), prices_path);
  for (std::size_t i = 0; i < prices.size(); ++i) s.prices.push_back(read_price(prices[i], path_index(prices_path, i)));
  if (const Value* d = r.optional("description")) s.description = read_string(*d, r.path("description"));
  if (const Value* src = r.optional("source")) s.source = read_string(*src, r.path("source"));
  if (const Value* a = r.optional("as_of")) s.as_of = read_string(*a, r.path("as_of"));
  r.finish();
  return s;
}

}  // namespace

Catalog catalog_from_value(const Value& value, std::string_view path) {
  ObjectReader r(value, std::string(path));
  const std::string skus_path = r.path("skus");
  const auto& skus = read_array(r.required("skus"), skus_path);
  r.finish();
  Catalog catalog;
  for (std::size_t i = 0; i < skus.size(); ++i) {
    const std::string sku_path = path_index(skus_path, i);
    Sku sku = read_sku(skus[i], sku_path);
    try {
      catalog.add(std::move(sku));
    } catch (const std::invalid_argument& e) {
      throw SpecError(sku_path, e.what());
    }
  }
  return catalog;
}

Catalog parse_catalog(std::string_view json) { return catalog_from_value(parse_json(json), ""); }

Catalog load_catalog(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SpecError(file.string(), "cannot read the file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return parse_catalog(buffer.str());
  } catch (const SpecError& e) {
    throw SpecError(file.string(), e.what());
  }
}

std::string catalog_to_json(const Catalog& catalog) {
  nlohmann::ordered_json skus = nlohmann::ordered_json::array();
  for (const Sku& s : catalog.skus()) {
    nlohmann::ordered_json j;
    j["id"] = s.id;
    j["unit"] = std::string(to_string(s.unit));
    j["billing"] = std::string(to_string(s.billing));
    j["minimum_seconds"] = s.minimum_seconds.to_string();
    if (!s.description.empty()) j["description"] = s.description;
    if (!s.source.empty()) j["source"] = s.source;
    if (!s.as_of.empty()) j["as_of"] = s.as_of;
    j["prices"] = nlohmann::ordered_json::array();
    for (const Price& p : s.prices) {
      nlohmann::ordered_json pj;
      pj["tier"] = p.tier;
      pj["rate"] = p.rate.to_string();
      if (p.from) pj["from"] = p.from->to_string();
      if (!p.source.empty()) pj["source"] = p.source;
      if (!p.as_of.empty()) pj["as_of"] = p.as_of;
      j["prices"].push_back(std::move(pj));
    }
    skus.push_back(std::move(j));
  }
  nlohmann::ordered_json doc;
  doc["skus"] = std::move(skus);
  return doc.dump(2) + "\n";
}

const Catalog& Catalog::builtin() {
  static const Catalog catalog = parse_catalog(detail::builtin_catalog_json);
  return catalog;
}

APPORTION_END_NAMESPACE
