#pragma once
// Pricing catalogs: SKUs with a unit, a billing granularity and effective-dated prices by
// tier. Looks up the rate at an instant and prices usage over an interval, time-weighted
// across price changes, exactly.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/decimal.hpp"
#include "apportion/time.hpp"

APPORTION_BEGIN_NAMESPACE

enum class PriceUnit { gpu_hour, instance_hour, hour, token, million_tokens };
enum class Billing { per_second, per_minute, per_hour };

std::string_view to_string(PriceUnit unit) noexcept;
std::string_view to_string(Billing billing) noexcept;
std::optional<PriceUnit> price_unit_from_string(std::string_view text) noexcept;
std::optional<Billing> billing_from_string(std::string_view text) noexcept;

struct Price {
  std::string tier = "on_demand";
  Decimal rate;
  std::optional<Instant> from;  // absent: from the beginning of time
  std::string source;           // where the figure comes from (informative)
  std::string as_of;            // the date it was read there (informative)
};

struct Sku {
  std::string id;
  PriceUnit unit = PriceUnit::gpu_hour;
  Billing billing = Billing::per_second;
  Decimal minimum_seconds;
  std::vector<Price> prices;
  std::string description;
  std::string source;
  std::string as_of;

  // Time-based pricing (runs, intervals) needs a rate per hour.
  bool hourly() const noexcept {
    return unit == PriceUnit::gpu_hour || unit == PriceUnit::instance_hour || unit == PriceUnit::hour;
  }
  // The tiers this SKU has prices for, sorted.
  std::vector<std::string> tiers() const;
  // Seconds billed for a run of this length: exact and at least `minimum_seconds` per
  // second, or the length rounded up to whole minutes or hours.
  Rational billed_seconds(Instant::Duration length) const;
};

// An immutable-after-building set of SKUs; share it freely between threads once built.
class Catalog {
 public:
  // Adds a SKU. Its prices are checked (non-negative, no two of one tier with one `from`)
  // and kept sorted; a SKU id given twice is std::invalid_argument.
  void add(Sku sku);
  // Adds every SKU of `other`; an id present in both is std::invalid_argument.
  void merge(const Catalog& other);

  const Sku* find(std::string_view id) const noexcept;
  // The SKU with this id, or std::invalid_argument naming it.
  const Sku& sku(std::string_view id) const;
  const std::vector<Sku>& skus() const noexcept { return skus_; }
  bool empty() const noexcept { return skus_.empty(); }

  // The rate in force at `at`. PriceNotFound names SKU, tier and time when there is none.
  Decimal rate_at(std::string_view sku_id, std::string_view tier, Instant at) const;
  // The tier's latest price (the one with the latest `from`).
  Decimal latest_rate(std::string_view sku_id, std::string_view tier) const;
  // Exact sum over [start, end) of rate x hours, across price changes. PriceNotFound if
  // any moment of the interval has no price. Needs an hourly unit.
  Rational rate_hours(std::string_view sku_id, std::string_view tier, const Interval& interval) const;
  // The time-weighted average rate over the interval (the rate at its start when empty).
  Rational average_rate(std::string_view sku_id, std::string_view tier, const Interval& interval) const;
  // count units (GPUs, instances) priced over the interval, time-weighted, no granularity.
  Rational cost_over(std::string_view sku_id, std::string_view tier, Decimal count, const Interval& interval) const;
  // A run of `count` units: count x billed seconds x average rate / 3600.
  Rational run_cost(std::string_view sku_id, std::string_view tier, Decimal count, const Interval& interval) const;
  // The part of a run's cost (billed as a whole: granularity and minimum on the whole run)
  // that `part` of it carries at the rates in force then: run_cost x rate_hours(run and
  // part) / rate_hours(run). Parts that tile the run sum to its cost exactly. A run of zero
  // length (or rate) is all in the part holding its start.
  Rational run_cost_part(std::string_view sku_id, std::string_view tier, Decimal count, const Interval& run,
                         const Interval& part) const;

  // The catalog of public list prices shipped with the library (see docs/catalog.md).
  static const Catalog& builtin();

 private:
  // The tier's prices, earliest first. PriceNotFound when there are none, naming `at` if given.
  std::vector<const Price*> prices_of(const Sku& sku, std::string_view tier, std::optional<Instant> at) const;
  const Sku& hourly_sku(std::string_view sku_id) const;

  std::vector<Sku> skus_;  // sorted by id
};

APPORTION_END_NAMESPACE
