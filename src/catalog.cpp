#include "apportion/catalog.hpp"

#include <set>
#include <stdexcept>

APPORTION_BEGIN_NAMESPACE

namespace {

constexpr std::pair<PriceUnit, std::string_view> unit_names[] = {
    {PriceUnit::gpu_hour, "gpu_hour"}, {PriceUnit::instance_hour, "instance_hour"}, {PriceUnit::hour, "hour"},
    {PriceUnit::token, "token"},       {PriceUnit::million_tokens, "million_tokens"}};
constexpr std::pair<Billing, std::string_view> billing_names[] = {
    {Billing::per_second, "per_second"}, {Billing::per_minute, "per_minute"}, {Billing::per_hour, "per_hour"}};

// Prices without a `from` start at the beginning of time, so they sort first.
bool earlier(const Price& a, const Price& b) {
  if (!a.from || !b.from) return !a.from && b.from;
  return *a.from < *b.from;
}

std::string no_price(std::string_view sku, std::string_view tier, Instant at) {
  return "no " + std::string(tier) + " price for SKU \"" + std::string(sku) + "\" at " + at.to_string();
}

}  // namespace

std::string_view to_string(PriceUnit unit) noexcept {
  for (const auto& [u, name] : unit_names)
    if (u == unit) return name;
  return "?";
}
std::string_view to_string(Billing billing) noexcept {
  for (const auto& [b, name] : billing_names)
    if (b == billing) return name;
  return "?";
}
std::optional<PriceUnit> price_unit_from_string(std::string_view text) noexcept {
  for (const auto& [u, name] : unit_names)
    if (name == text) return u;
  return std::nullopt;
}
std::optional<Billing> billing_from_string(std::string_view text) noexcept {
  for (const auto& [b, name] : billing_names)
    if (name == text) return b;
  return std::nullopt;
}

std::vector<std::string> Sku::tiers() const {
  std::set<std::string> names;
  for (const Price& p : prices) names.insert(p.tier);
  return {names.begin(), names.end()};
}

Rational Sku::billed_seconds(Instant::Duration length) const {
  const Rational seconds = seconds_of(length);
  switch (billing) {
    case Billing::per_second: return std::max(seconds, minimum_seconds.to_rational());
    case Billing::per_minute: return Rational(detail::divide_rounded<BigInt>(BigInt(length.count()), BigInt(60'000'000'000), RoundingMode::ceiling) * 60);
    case Billing::per_hour: return Rational(detail::divide_rounded<BigInt>(BigInt(length.count()), BigInt(3'600'000'000'000), RoundingMode::ceiling) * 3600);
  }
  return seconds;
}

void Catalog::add(Sku sku) {
  if (sku.id.empty()) throw std::invalid_argument("a SKU needs a non-empty id");
  if (sku.minimum_seconds.signum() < 0) throw std::invalid_argument("SKU \"" + sku.id + "\": minimum_seconds must not be negative");
  std::stable_sort(sku.prices.begin(), sku.prices.end(), earlier);
  for (std::size_t i = 0; i < sku.prices.size(); ++i) {
    const Price& p = sku.prices[i];
    if (p.rate.signum() < 0) throw std::invalid_argument("SKU \"" + sku.id + "\": a rate must not be negative");
    for (std::size_t j = 0; j < i; ++j)
      if (sku.prices[j].tier == p.tier && sku.prices[j].from == p.from)
        throw std::invalid_argument("SKU \"" + sku.id + "\": two " + p.tier + " prices from " +
                                    (p.from ? p.from->to_string() : std::string("the beginning of time")));
  }
  const auto it = std::lower_bound(skus_.begin(), skus_.end(), sku.id, [](const Sku& s, const std::string& id) { return s.id < id; });
  if (it != skus_.end() && it->id == sku.id) throw std::invalid_argument("SKU \"" + sku.id + "\" is defined twice");
  skus_.insert(it, std::move(sku));
}

void Catalog::merge(const Catalog& other) {
  for (const Sku& s : other.skus_) add(s);
}

const Sku* Catalog::find(std::string_view id) const noexcept {
  const auto it = std::lower_bound(skus_.begin(), skus_.end(), id, [](const Sku& s, std::string_view k) { return s.id < k; });
  return it != skus_.end() && it->id == id ? &*it : nullptr;
}

const Sku& Catalog::sku(std::string_view id) const {
  if (const Sku* s = find(id)) return *s;
  throw std::invalid_argument("unknown SKU \"" + std::string(id) + "\"");
}

const Sku& Catalog::hourly_sku(std::string_view sku_id) const {
  const Sku& s = sku(sku_id);
  if (!s.hourly())
    throw std::invalid_argument("SKU \"" + s.id + "\" is priced per " + std::string(to_string(s.unit)) +
                                ": time-based pricing needs an hourly unit");
  return s;
}

std::vector<const Price*> Catalog::prices_of(const Sku& sku, std::string_view tier, std::optional<Instant> at) const {
  std::vector<const Price*> out;
  for (const Price& p : sku.prices)
    if (p.tier == tier) out.push_back(&p);
  if (out.empty())
    throw PriceNotFound(at ? no_price(sku.id, tier, *at) : "SKU \"" + sku.id + "\" has no " + std::string(tier) + " price");
  return out;
}

Decimal Catalog::rate_at(std::string_view sku_id, std::string_view tier, Instant at) const {
  const Price* in_force = nullptr;
  for (const Price* p : prices_of(sku(sku_id), tier, at))
    if (!p->from || *p->from <= at) in_force = p;
  if (!in_force) throw PriceNotFound(no_price(sku_id, tier, at));
  return in_force->rate;
}

Decimal Catalog::latest_rate(std::string_view sku_id, std::string_view tier) const {
  return prices_of(sku(sku_id), tier, std::nullopt).back()->rate;
}

Rational Catalog::rate_hours(std::string_view sku_id, std::string_view tier, const Interval& interval) const {
  const auto prices = prices_of(hourly_sku(sku_id), tier, interval.start());
  if (interval.length().count() == 0) return 0;
  if (prices.front()->from && interval.start() < *prices.front()->from)
    throw PriceNotFound(no_price(sku_id, tier, interval.start()));
  Rational total = 0;
  for (std::size_t i = 0; i < prices.size(); ++i) {
    const Instant from = prices[i]->from ? *prices[i]->from : interval.start();
    const Instant until = i + 1 < prices.size() ? *prices[i + 1]->from : interval.end();
    if (until <= from) continue;
    total += hours_of(interval.overlap(Interval(from, until))) * prices[i]->rate.to_rational();
  }
  return total;
}

Rational Catalog::average_rate(std::string_view sku_id, std::string_view tier, const Interval& interval) const {
  if (interval.length().count() == 0) {
    hourly_sku(sku_id);
    return rate_at(sku_id, tier, interval.start()).to_rational();
  }
  return rate_hours(sku_id, tier, interval) / hours_of(interval.length());
}

Rational Catalog::cost_over(std::string_view sku_id, std::string_view tier, Decimal count, const Interval& interval) const {
  if (count.signum() < 0) throw std::invalid_argument("count must not be negative");
  return count.to_rational() * rate_hours(sku_id, tier, interval);
}

Rational Catalog::run_cost(std::string_view sku_id, std::string_view tier, Decimal count, const Interval& interval) const {
  if (count.signum() < 0) throw std::invalid_argument("count must not be negative");
  const Sku& s = hourly_sku(sku_id);
  return count.to_rational() * s.billed_seconds(interval.length()) * average_rate(sku_id, tier, interval) / 3600;
}

Rational Catalog::run_cost_part(std::string_view sku_id, std::string_view tier, Decimal count, const Interval& run,
                               const Interval& part) const {
  const Rational whole = run_cost(sku_id, tier, count, run);
  const Instant start = std::max(run.start(), part.start()), end = std::min(run.end(), part.end());
  const Rational run_hours = rate_hours(sku_id, tier, run);
  if (run_hours == 0) return part.contains(run.start()) ? whole : Rational(0);
  if (end <= start) return 0;
  return whole * rate_hours(sku_id, tier, Interval(start, end)) / run_hours;
}

APPORTION_END_NAMESPACE
