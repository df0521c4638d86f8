// Pricing catalogs through the C ABI: an opaque handle around an immutable Catalog.

#include <fstream>
#include <string>

#include "apportion/catalog.hpp"
#include "apportion/spec.hpp"
#include "apportion/time.hpp"
#include "detail.hpp"

using apportion::Catalog;
using apportion::Instant;
using namespace apn::detail;

// The handle owns its catalog, except the built-in one, which it only borrows.
struct apn_catalog {
  Catalog owned;
  const Catalog* catalog = &owned;
  bool borrowed = false;
};

namespace {

Instant instant_arg(const char* text, const char* name) {
  require(text, name);
  try {
    return Instant::parse(text);
  } catch (const apportion::ParseError& e) {
    throw Failure(APN_EPARSE, std::string(name) + ": " + e.what());
  }
}

// Checks the handle and the SKU, so an unknown SKU is APN_ENOPRICE rather than a bad argument.
const Catalog& catalog_with_sku(const apn_catalog* handle, const char* sku) {
  require(handle, "catalog");
  require(sku, "sku");
  if (handle->catalog->find(sku) == nullptr)
    throw Failure(APN_ENOPRICE, std::string("sku: unknown SKU \"") + sku + "\"");
  return *handle->catalog;
}

}  // namespace

extern "C" {

int apn_catalog_load_json(apn_catalog** out, const char* json, size_t len) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(json, "json");
    auto* handle = new apn_catalog{apportion::parse_catalog(std::string_view(json, len))};
    *out = handle;
    return APN_OK;
  });
}

int apn_catalog_load_file(apn_catalog** out, const char* path) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(path, "path");
    if (!std::ifstream(path)) throw Failure(APN_EIO, std::string(path) + ": cannot read the file");
    *out = new apn_catalog{apportion::load_catalog(path)};
    return APN_OK;
  });
}

int apn_catalog_builtin(const apn_catalog** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    static const apn_catalog builtin{Catalog{}, &Catalog::builtin(), true};
    *out = &builtin;
    return APN_OK;
  });
}

void apn_catalog_free(apn_catalog* catalog) {
  if (catalog != nullptr && !catalog->borrowed) delete catalog;
}

int apn_catalog_rate_at(char** out_rate, const apn_catalog* catalog, const char* sku, const char* tier,
                        const char* at) {
  if (out_rate != nullptr) *out_rate = nullptr;
  return guarded([&] {
    require(out_rate, "out_rate");
    const Catalog& c = catalog_with_sku(catalog, sku);
    require(tier, "tier");
    *out_rate = copy_out(c.rate_at(sku, tier, instant_arg(at, "at")).to_string());
    return APN_OK;
  });
}

int apn_catalog_cost(char** out_cost, const apn_catalog* catalog, const char* sku, const char* tier,
                     const char* count, const char* start, const char* end) {
  if (out_cost != nullptr) *out_cost = nullptr;
  return guarded([&] {
    require(out_cost, "out_cost");
    const Catalog& c = catalog_with_sku(catalog, sku);
    require(tier, "tier");
    const apportion::Decimal n = decimal_arg(count, "count");
    const apportion::Interval interval(instant_arg(start, "start"), instant_arg(end, "end"));
    const apportion::Rational exact = c.cost_over(sku, tier, n, interval);
    // One unit of the last of the 12 fractional digits a Decimal holds.
    const auto cost = apportion::Decimal::from_rational(exact, apportion::Decimal::from_raw(1));
    *out_cost = copy_out(cost.to_string());
    return APN_OK;
  });
}

int apn_catalog_to_json(char** out, const apn_catalog* catalog) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(catalog, "catalog");
    *out = copy_out(apportion::catalog_to_json(*catalog->catalog));
    return APN_OK;
  });
}

}  // extern "C"
