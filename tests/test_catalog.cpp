#include "apportion/catalog.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "printers.hpp"

namespace {

using apportion::Billing;
using apportion::Catalog;
using apportion::Decimal;
using apportion::Instant;
using apportion::Interval;
using apportion::Price;
using apportion::PriceNotFound;
using apportion::PriceUnit;
using apportion::Rational;
using apportion::Sku;
using namespace std::chrono_literals;

Decimal D(const char* text) { return Decimal::parse(text); }
Instant T(const char* text) { return Instant::parse(text); }
Interval I(const char* start, const char* end) { return Interval(T(start), T(end)); }

Price price(const char* tier, const char* rate, const char* from = nullptr) {
  Price p;
  p.tier = tier;
  p.rate = D(rate);
  if (from) p.from = T(from);
  return p;
}

// One GPU SKU: on-demand 3.00 until a cut to 2.00 on June 2nd; spot only from June 1st.
// The prices are given out of order on purpose.
Catalog gpu_catalog() {
  Sku s;
  s.id = "gpu/h100";
  s.prices = {price("on_demand", "2.00", "2026-06-02T00:00:00Z"), price("spot", "1.00", "2026-06-01T00:00:00Z"),
              price("on_demand", "3.00"), price("spot", "1.50", "2026-06-03T00:00:00Z")};
  Catalog c;
  c.add(s);
  return c;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Catalog, RateAtFollowsEffectiveDates) {
  const Catalog c = gpu_catalog();
  EXPECT_EQ(c.rate_at("gpu/h100", "on_demand", T("2020-01-01T00:00:00Z")), D("3"));
  EXPECT_EQ(c.rate_at("gpu/h100", "on_demand", T("2026-06-01T23:59:59.999999999Z")), D("3"));
  EXPECT_EQ(c.rate_at("gpu/h100", "on_demand", T("2026-06-02T00:00:00Z")), D("2"));  // `from` is inclusive
  EXPECT_EQ(c.rate_at("gpu/h100", "on_demand", T("2030-01-01T00:00:00Z")), D("2"));
  EXPECT_EQ(c.rate_at("gpu/h100", "spot", T("2026-06-01T00:00:00Z")), D("1"));
  EXPECT_EQ(c.rate_at("gpu/h100", "spot", T("2026-06-02T23:00:00Z")), D("1"));
  EXPECT_EQ(c.rate_at("gpu/h100", "spot", T("2026-06-03T00:00:00Z")), D("1.5"));
}

TEST(Catalog, LatestRateIsTheLatestFrom) {
  const Catalog c = gpu_catalog();
  EXPECT_EQ(c.latest_rate("gpu/h100", "on_demand"), D("2"));
  EXPECT_EQ(c.latest_rate("gpu/h100", "spot"), D("1.5"));
  EXPECT_THROW(c.latest_rate("gpu/h100", "reserved"), PriceNotFound);
  EXPECT_THROW(c.latest_rate("gpu/none", "on_demand"), std::invalid_argument);
}

TEST(Catalog, PriceNotFoundNamesSkuTierAndTime) {
  const Catalog c = gpu_catalog();
  const std::string before = message_of([&] { c.rate_at("gpu/h100", "spot", T("2026-05-31T12:00:00Z")); });
  EXPECT_NE(before.find("gpu/h100"), std::string::npos) << before;
  EXPECT_NE(before.find("spot"), std::string::npos) << before;
  EXPECT_NE(before.find("2026-05-31T12:00:00Z"), std::string::npos) << before;
  EXPECT_THROW(c.rate_at("gpu/h100", "spot", T("2026-05-31T12:00:00Z")), PriceNotFound);

  // A run that starts before the tier's first price (spec case error-no-price-at-time).
  const Interval early = I("2026-05-31T23:00:00Z", "2026-06-01T01:00:00Z");
  EXPECT_THROW(c.rate_hours("gpu/h100", "spot", early), PriceNotFound);
  const std::string run = message_of([&] { c.rate_hours("gpu/h100", "spot", early); });
  EXPECT_NE(run.find("gpu/h100"), std::string::npos) << run;
  EXPECT_NE(run.find("spot"), std::string::npos) << run;
  EXPECT_NE(run.find("2026-05-31T23:00:00Z"), std::string::npos) << run;

  // A tier with no price at all is a moment with no price too.
  const std::string tier = message_of([&] { c.rate_at("gpu/h100", "reserved", T("2026-06-02T10:00:00Z")); });
  EXPECT_THROW(c.rate_at("gpu/h100", "reserved", T("2026-06-02T10:00:00Z")), PriceNotFound);
  EXPECT_NE(tier.find("gpu/h100"), std::string::npos) << tier;
  EXPECT_NE(tier.find("reserved"), std::string::npos) << tier;
  EXPECT_NE(tier.find("2026-06-02T10:00:00Z"), std::string::npos) << tier;
  const std::string tier_run =
      message_of([&] { c.rate_hours("gpu/h100", "reserved", I("2026-06-02T10:00:00Z", "2026-06-02T11:00:00Z")); });
  EXPECT_NE(tier_run.find("2026-06-02T10:00:00Z"), std::string::npos) << tier_run;
}

TEST(Catalog, RateHoursIsTimeWeightedAcrossAPriceChange) {
  const Catalog c = gpu_catalog();
  // Two hours at 3.00 and two at 2.00.
  const Interval across = I("2026-06-01T22:00:00Z", "2026-06-02T02:00:00Z");
  EXPECT_EQ(c.rate_hours("gpu/h100", "on_demand", across), Rational(10));
  EXPECT_EQ(c.average_rate("gpu/h100", "on_demand", across), Rational(5, 2));
  EXPECT_EQ(c.cost_over("gpu/h100", "on_demand", D("8"), across), Rational(80));
  // Spot across its change on June 3rd: an hour at 1.00 and half an hour at 1.50 ...
  EXPECT_EQ(c.rate_hours("gpu/h100", "spot", I("2026-06-02T23:00:00Z", "2026-06-03T00:30:00Z")), Rational(7, 4));
  // ... entirely inside one price, and a 1-second slice.
  EXPECT_EQ(c.rate_hours("gpu/h100", "on_demand", I("2026-06-02T10:00:00Z", "2026-06-02T10:40:00Z")), Rational(4, 3));
  EXPECT_EQ(c.rate_hours("gpu/h100", "on_demand", I("2026-06-01T23:59:59.5Z", "2026-06-02T00:00:00.5Z")),
            Rational(5, 2) / 3600);
  EXPECT_EQ(c.rate_hours("gpu/h100", "on_demand", I("2026-06-02T10:00:00Z", "2026-06-02T10:00:00Z")), Rational(0));
}

TEST(Catalog, AverageRateOfAZeroLengthRunIsTheRateAtItsStart) {
  const Catalog c = gpu_catalog();
  EXPECT_EQ(c.average_rate("gpu/h100", "on_demand", I("2026-06-01T12:00:00Z", "2026-06-01T12:00:00Z")), Rational(3));
  EXPECT_EQ(c.average_rate("gpu/h100", "on_demand", I("2026-06-02T00:00:00Z", "2026-06-02T00:00:00Z")), Rational(2));
  EXPECT_THROW(c.average_rate("gpu/h100", "spot", I("2026-05-01T00:00:00Z", "2026-05-01T00:00:00Z")), PriceNotFound);
}

Sku billed(Billing billing, const char* minimum = "0") {
  Sku s;
  s.id = "x";
  s.billing = billing;
  s.minimum_seconds = D(minimum);
  return s;
}

TEST(Sku, BilledSecondsPerSecondHasAMinimum) {
  const Sku s = billed(Billing::per_second, "60");
  EXPECT_EQ(s.billed_seconds(30s), Rational(60));
  EXPECT_EQ(s.billed_seconds(0s), Rational(60));
  EXPECT_EQ(s.billed_seconds(60s), Rational(60));
  EXPECT_EQ(s.billed_seconds(90500ms), Rational(181, 2));
  EXPECT_EQ(billed(Billing::per_second).billed_seconds(1ns), Rational(1, 1'000'000'000));
  EXPECT_EQ(billed(Billing::per_second).billed_seconds(0s), Rational(0));
}

TEST(Sku, BilledSecondsRoundsUpToMinutesOrHours) {
  const Sku minute = billed(Billing::per_minute);
  EXPECT_EQ(minute.billed_seconds(0s), Rational(0));
  EXPECT_EQ(minute.billed_seconds(1s), Rational(60));
  EXPECT_EQ(minute.billed_seconds(60s), Rational(60));
  EXPECT_EQ(minute.billed_seconds(60s + 1ns), Rational(120));
  EXPECT_EQ(minute.billed_seconds(61s), Rational(120));
  const Sku hour = billed(Billing::per_hour);
  EXPECT_EQ(hour.billed_seconds(40min), Rational(3600));
  EXPECT_EQ(hour.billed_seconds(1h), Rational(3600));
  EXPECT_EQ(hour.billed_seconds(3601s), Rational(7200));
  EXPECT_EQ(hour.billed_seconds(0s), Rational(0));
}

TEST(Catalog, RunCostUsesBillingAndTheAverageRate) {
  Catalog c;
  Sku per_second;
  per_second.id = "spheron/h100-sxm5";
  per_second.prices = {price("on_demand", "3.92")};
  Sku per_hour = per_second;
  per_hour.id = "hourly/h100-sxm5";
  per_hour.billing = Billing::per_hour;
  c.add(per_second);
  c.add(per_hour);
  // Spec case seed-training-billing-granularity: 8 GPUs for 40 minutes.
  const Interval run = I("2026-06-02T10:00:00Z", "2026-06-02T10:40:00Z");
  EXPECT_EQ(c.run_cost("spheron/h100-sxm5", "on_demand", D("8"), run), Rational(1568, 75));  // 20.906...
  EXPECT_EQ(c.run_cost("hourly/h100-sxm5", "on_demand", D("8"), run), Rational(3136, 100));

  // Spec case spot-price-change: 16 GPUs from 06:00 to 21:30 across a change at 12:00.
  Sku spot;
  spot.id = "spot/h100";
  spot.prices = {price("spot", "2.91", "2026-06-01T00:00:00Z"), price("spot", "3.35", "2026-06-02T12:00:00Z")};
  c.add(spot);
  EXPECT_EQ(c.run_cost("spot/h100", "spot", D("16"), I("2026-06-02T06:00:00Z", "2026-06-02T21:30:00Z")),
            Rational(78856, 100));
  EXPECT_THROW(c.run_cost("spot/h100", "spot", D("-1"), run), std::invalid_argument);
  EXPECT_THROW(c.cost_over("spot/h100", "spot", D("-1"), run), std::invalid_argument);
}

TEST(Catalog, RunCostOfAZeroLengthRunBillsTheMinimum) {
  Catalog c;
  Sku s;
  s.id = "aws/p5";
  s.unit = PriceUnit::instance_hour;
  s.minimum_seconds = D("60");
  s.prices = {price("on_demand", "36")};
  c.add(s);
  const Interval empty = I("2026-06-02T10:00:00Z", "2026-06-02T10:00:00Z");
  EXPECT_EQ(c.run_cost("aws/p5", "on_demand", D("2"), empty), Rational(6, 5));  // 2 x 60 s x 36 / 3600
}

TEST(Catalog, TwoPricesOfOneTierFromOneMomentAreAnError) {
  Sku s;
  s.id = "dup";
  s.prices = {price("on_demand", "1", "2026-06-01T00:00:00Z"), price("on_demand", "2", "2026-06-01T00:00:00Z")};
  Catalog c;
  const std::string what = message_of([&] { c.add(s); });
  EXPECT_NE(what.find("dup"), std::string::npos) << what;
  EXPECT_NE(what.find("on_demand"), std::string::npos) << what;
  EXPECT_THROW(c.add(s), std::invalid_argument);
  s.prices = {price("spot", "1"), price("spot", "2")};  // both from the beginning of time
  EXPECT_THROW(c.add(s), std::invalid_argument);
  s.prices = {price("on_demand", "1", "2026-06-01T00:00:00Z"), price("spot", "2", "2026-06-01T00:00:00Z")};
  EXPECT_NO_THROW(c.add(s));  // different tiers
}

TEST(Catalog, RefusesInvalidSkus) {
  Catalog c;
  Sku s;
  s.id = "a";
  s.prices = {price("on_demand", "-1")};
  EXPECT_THROW(c.add(s), std::invalid_argument);
  s.prices = {price("on_demand", "1")};
  s.minimum_seconds = D("-1");
  EXPECT_THROW(c.add(s), std::invalid_argument);
  s.minimum_seconds = Decimal();
  s.id = "";
  EXPECT_THROW(c.add(s), std::invalid_argument);
  s.id = "a";
  c.add(s);
  EXPECT_THROW(c.add(s), std::invalid_argument);  // id given twice
  Catalog other;
  other.add(s);
  EXPECT_THROW(c.merge(other), std::invalid_argument);
}

TEST(Catalog, TimeBasedPricingNeedsAnHourlyUnit) {
  Catalog c;
  Sku s;
  s.id = "openai/gpt-4o";
  s.unit = PriceUnit::million_tokens;
  s.prices = {price("input", "2.5")};
  c.add(s);
  const Interval hour = I("2026-06-02T10:00:00Z", "2026-06-02T11:00:00Z");
  const Interval empty = I("2026-06-02T10:00:00Z", "2026-06-02T10:00:00Z");
  EXPECT_THROW(c.rate_hours("openai/gpt-4o", "input", hour), std::invalid_argument);
  EXPECT_THROW(c.average_rate("openai/gpt-4o", "input", hour), std::invalid_argument);
  EXPECT_THROW(c.average_rate("openai/gpt-4o", "input", empty), std::invalid_argument);
  EXPECT_THROW(c.cost_over("openai/gpt-4o", "input", D("1"), hour), std::invalid_argument);
  EXPECT_THROW(c.run_cost("openai/gpt-4o", "input", D("1"), hour), std::invalid_argument);
  const std::string what = message_of([&] { c.rate_hours("openai/gpt-4o", "input", hour); });
  EXPECT_NE(what.find("openai/gpt-4o"), std::string::npos) << what;
  EXPECT_NE(what.find("million_tokens"), std::string::npos) << what;
  // A rate lookup is not time-based pricing.
  EXPECT_EQ(c.rate_at("openai/gpt-4o", "input", T("2026-06-02T10:00:00Z")), D("2.5"));
  EXPECT_EQ(c.latest_rate("openai/gpt-4o", "input"), D("2.5"));
  for (PriceUnit u : {PriceUnit::gpu_hour, PriceUnit::instance_hour, PriceUnit::hour}) {
    s.unit = u;
    EXPECT_TRUE(s.hourly());
  }
  s.unit = PriceUnit::token;
  EXPECT_FALSE(s.hourly());
}

TEST(Catalog, FindsSkusAndTiers) {
  Catalog c = gpu_catalog();
  Sku b;
  b.id = "a/first";
  c.add(b);
  EXPECT_EQ(c.skus().size(), 2u);
  EXPECT_EQ(c.skus().front().id, "a/first");  // kept sorted by id
  EXPECT_NE(c.find("gpu/h100"), nullptr);
  EXPECT_EQ(c.find("gpu/h10"), nullptr);
  EXPECT_EQ(c.sku("gpu/h100").tiers(), (std::vector<std::string>{"on_demand", "spot"}));
  const std::string what = message_of([&] { c.sku("nope/x"); });
  EXPECT_NE(what.find("nope/x"), std::string::npos) << what;
  EXPECT_THROW(c.rate_at("nope/x", "on_demand", T("2026-06-02T10:00:00Z")), std::invalid_argument);
  EXPECT_FALSE(c.empty());
  EXPECT_TRUE(Catalog().empty());
  Catalog merged;
  merged.merge(c);
  EXPECT_EQ(merged.skus().size(), 2u);
}

TEST(Catalog, UnitAndBillingNames) {
  for (PriceUnit u : {PriceUnit::gpu_hour, PriceUnit::instance_hour, PriceUnit::hour, PriceUnit::token,
                      PriceUnit::million_tokens})
    EXPECT_EQ(apportion::price_unit_from_string(apportion::to_string(u)), u);
  for (Billing b : {Billing::per_second, Billing::per_minute, Billing::per_hour})
    EXPECT_EQ(apportion::billing_from_string(apportion::to_string(b)), b);
  EXPECT_EQ(apportion::to_string(PriceUnit::million_tokens), "million_tokens");
  EXPECT_EQ(apportion::to_string(Billing::per_minute), "per_minute");
  EXPECT_EQ(apportion::price_unit_from_string("gpu_hours"), std::nullopt);
  EXPECT_EQ(apportion::billing_from_string("hourly"), std::nullopt);
}

// Catalog::builtin() holds every SKU of src/builtin_catalog.json, with its unit, billing,
// minimum and prices.
TEST(Catalog, BuiltinHasTheShippedSkus) {
  std::ifstream file(APPORTION_BUILTIN_CATALOG_JSON);
  ASSERT_TRUE(file) << APPORTION_BUILTIN_CATALOG_JSON;
  const nlohmann::json doc = nlohmann::json::parse(file);
  const Catalog& builtin = Catalog::builtin();
  ASSERT_EQ(builtin.skus().size(), doc.at("skus").size());
  for (const nlohmann::json& j : doc.at("skus")) {
    const std::string id = j.at("id").get<std::string>();
    const Sku* sku = builtin.find(id);
    ASSERT_NE(sku, nullptr) << id;
    EXPECT_EQ(apportion::to_string(sku->unit), j.at("unit").get<std::string>()) << id;
    EXPECT_EQ(apportion::to_string(sku->billing), j.value("billing", "per_second")) << id;
    EXPECT_EQ(sku->minimum_seconds, Decimal(j.value("minimum_seconds", 0))) << id;
    ASSERT_EQ(sku->prices.size(), j.at("prices").size()) << id;
    for (const nlohmann::json& p : j.at("prices")) {
      const std::string tier = p.value("tier", "on_demand");
      const Decimal rate = Decimal::parse(p.at("rate").get<std::string>());
      if (p.contains("from")) {
        const Instant from = T(p.at("from").get<std::string>().c_str());
        EXPECT_EQ(builtin.rate_at(id, tier, from), rate) << id << ' ' << tier;
      } else {
        EXPECT_EQ(builtin.rate_at(id, tier, T("1970-01-01T00:00:00Z")), rate) << id << ' ' << tier;
      }
    }
  }
  // The P5 price cut of 2025-06-01.
  EXPECT_EQ(builtin.rate_at("aws/p5.48xlarge", "on_demand", T("2025-05-31T23:59:59Z")), D("98.32"));
  EXPECT_EQ(builtin.latest_rate("aws/p5.48xlarge", "on_demand"), D("55.04"));
  EXPECT_EQ(&Catalog::builtin(), &builtin);  // built once
}

}  // namespace
