// Governance: budgets, anomalies, reconciliation, scorecards and unit economics, through the
// C++ API. Worked numbers written from the contract (docs/spec.md, "Governance"), plus
// idempotency of alerts and property tests of the exact-sum guarantees.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"
#include "apportion/governance.hpp"

namespace {

using namespace apportion;

Decimal dec(const char* text) { return Decimal::parse(text); }
Rational rat(long long n, long long d = 1) { return Rational(BigInt(n), BigInt(d)); }
Instant at(const char* text) { return Instant::parse(text); }
WrittenDecimal written(const char* text) { return WrittenDecimal{Decimal::parse(text), text}; }

std::vector<std::string> texts(const std::vector<WrittenDecimal>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v.text);
  return out;
}

std::vector<std::string> keys(const std::vector<BudgetAlert>& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a.key);
  return out;
}

// Pool 1000 split by gpu_seconds over team x env: a/prod 500, a/dev 100, b/prod 300, c/prod 70,
// and 30 without a team (unallocated).
const char* kTeamsSpec = R"({"apportion": 1,
  "pools": [{"id": "june", "cost": "1000"}],
  "records": [
    {"tags": {"team": "a", "env": "prod"}, "measures": {"gpu_seconds": 500}},
    {"tags": {"team": "a", "env": "dev"}, "measures": {"gpu_seconds": 100}},
    {"tags": {"team": "b", "env": "prod"}, "measures": {"gpu_seconds": 300}},
    {"tags": {"team": "c", "env": "prod"}, "measures": {"gpu_seconds": 70}},
    {"tags": {"env": "prod"}, "measures": {"gpu_seconds": 30}}],
  "steps": [{"id": "gpu", "strategy": "proportional", "pool": "june", "group_by": ["team", "env"], "weight": "gpu_seconds"}]})";

Result teams_result() { return run(allocation_from_json(kTeamsSpec)); }

Budget june_budget(std::string id, std::variant<Decimal, LinesRef> spend, const char* amount) {
  Budget b;
  b.id = std::move(id);
  b.spend = std::move(spend);
  b.amount = dec(amount);
  b.period = Interval(at("2026-06-01T00:00:00Z"), at("2026-07-01T00:00:00Z"));
  b.period_text = "2026-06";
  return b;
}

// A result built by hand: one step "s" whose lines have the given costs, tags {"k": "iNN"}.
Result hand_result(const std::vector<Decimal>& costs, const char* precision = "0.01") {
  Result r;
  r.currency = Currency("USD");
  r.precision = dec(precision);
  r.steps = {"s"};
  for (std::size_t i = 0; i < costs.size(); ++i) {
    Line l;
    l.step = "s";
    l.pool = "p";
    l.kind = LineKind::allocated;
    std::string name = std::to_string(i);
    name = "i" + std::string(3 - std::min<std::size_t>(3, name.size()), '0') + name;
    l.tags = Tags{{"k", name}};
    l.cost = costs[i];
    l.exact_cost = costs[i].to_rational();
    r.lines.push_back(l);
  }
  return r;
}

// ---- Budgets -------------------------------------------------------------------------------

TEST(Budgets, DefaultThresholds) {
  const auto defaults = texts(Budget::default_thresholds());
  EXPECT_EQ(defaults, (std::vector<std::string>{"0.5", "0.8", "1", "1.25"}));
}

TEST(Budgets, SeverityBoundaries) {
  EXPECT_EQ(severity_of_threshold(dec("0")), Severity::info);
  EXPECT_EQ(severity_of_threshold(dec("0.799999")), Severity::info);
  EXPECT_EQ(severity_of_threshold(dec("0.8")), Severity::warning);
  EXPECT_EQ(severity_of_threshold(dec("0.999999")), Severity::warning);
  EXPECT_EQ(severity_of_threshold(dec("1")), Severity::critical);
  EXPECT_EQ(severity_of_threshold(dec("1.25")), Severity::critical);
  EXPECT_EQ(to_string(Severity::info), "info");
  EXPECT_EQ(to_string(Severity::warning), "warning");
  EXPECT_EQ(to_string(Severity::critical), "critical");
}

// team a: 500 + 100 = 600.00 of a 700 budget: 6/7, crosses 0.5 and 0.8.
TEST(Budgets, LinesReferenceWithTags) {
  const Result result = teams_result();
  EXPECT_EQ(resolve(LinesRef{"gpu", Tags{{"team", "a"}}}, result, "x"), dec("600.00"));
  EXPECT_EQ(resolve(LinesRef{"gpu", Tags{{"env", "prod"}}}, result, "x"), dec("870.00"));
  EXPECT_EQ(resolve(LinesRef{"gpu", Tags{}}, result, "x"), dec("1000.00"));

  const BudgetStatus s = check_budget(june_budget("team-a", LinesRef{"gpu", Tags{{"team", "a"}}}, "700"), result);
  EXPECT_EQ(s.id, "team-a");
  EXPECT_EQ(s.spend, dec("600.00"));
  EXPECT_EQ(s.amount, dec("700"));
  EXPECT_EQ(s.ratio, rat(6, 7));
  EXPECT_FALSE(s.forecast.has_value());
  EXPECT_TRUE(s.forecast_crossed.empty());
  EXPECT_EQ(texts(s.crossed), (std::vector<std::string>{"0.5", "0.8"}));
  ASSERT_EQ(s.alerts.size(), 2u);
  EXPECT_EQ(s.alerts[0].key, "team-a/2026-06/0.5");
  EXPECT_EQ(s.alerts[0].severity, Severity::info);
  EXPECT_EQ(s.alerts[1].key, "team-a/2026-06/0.8");
  EXPECT_EQ(s.alerts[1].threshold.text, "0.8");
  EXPECT_EQ(s.alerts[1].severity, Severity::warning);
}

// A literal spend is rounded half-even to the precision: 412.345 -> 412.34; thresholds keep
// their text ("0.90", "0.50") in keys, and are listed in the order given.
TEST(Budgets, LiteralSpendRoundedAndThresholdsAsWritten) {
  const Result result = teams_result();
  Budget b = june_budget("lit", dec("412.345"), "500");
  b.thresholds = {written("0.90"), written("0.8"), written("0.50")};
  const BudgetStatus s = check_budget(b, result);
  EXPECT_EQ(s.spend, dec("412.34"));
  EXPECT_EQ(s.ratio, dec("412.34").to_rational() / 500);
  EXPECT_EQ(texts(s.crossed), (std::vector<std::string>{"0.8", "0.50"}));
  EXPECT_EQ(keys(s.alerts), (std::vector<std::string>{"lit/2026-06/0.8", "lit/2026-06/0.50"}));
}

// Ratio exactly at a threshold crosses it.
TEST(Budgets, RatioEqualToThresholdCrosses) {
  const Result result = teams_result();
  const BudgetStatus s = check_budget(june_budget("all", LinesRef{"gpu", Tags{}}, "800"), result);
  EXPECT_EQ(s.ratio, rat(5, 4));
  EXPECT_EQ(texts(s.crossed), (std::vector<std::string>{"0.5", "0.8", "1", "1.25"}));
  ASSERT_EQ(s.alerts.size(), 4u);
  EXPECT_EQ(s.alerts[3].severity, Severity::critical);
}

// forecast = spend x period length / elapsed: 123.45 x 91 days / 11 days = 1021.2681.. -> 1021.27.
TEST(Budgets, LinearForecast) {
  const Result result = teams_result();
  Budget b = june_budget("q2", dec("123.45"), "1000");
  b.period = Interval(at("2026-04-01T00:00:00Z"), at("2026-07-01T00:00:00Z"));
  b.period_text = "2026-Q2";
  b.as_of = at("2026-04-12T00:00:00Z");
  BudgetStatus s = check_budget(b, result);
  ASSERT_TRUE(s.forecast.has_value());
  EXPECT_EQ(*s.forecast, dec("1021.27"));
  EXPECT_TRUE(s.crossed.empty());
  EXPECT_EQ(texts(s.forecast_crossed), (std::vector<std::string>{"0.5", "0.8", "1"}));
  EXPECT_TRUE(s.alerts.empty());

  b.as_of = at("2026-08-01T00:00:00Z");  // after the end: the spend itself
  s = check_budget(b, result);
  ASSERT_TRUE(s.forecast.has_value());
  EXPECT_EQ(*s.forecast, dec("123.45"));

  b.as_of = at("2026-04-01T00:00:00Z");  // nothing elapsed
  EXPECT_FALSE(check_budget(b, result).forecast.has_value());
  b.as_of = at("2026-03-01T00:00:00Z");  // before the start
  EXPECT_FALSE(check_budget(b, result).forecast.has_value());

  // 2.15 x 24h / 16h = 3.225 -> 3.22 (half-even)
  Budget d = june_budget("day", dec("2.15"), "100");
  d.period = Interval(at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z"));
  d.as_of = at("2026-06-01T16:00:00Z");
  s = check_budget(d, result);
  ASSERT_TRUE(s.forecast.has_value());
  EXPECT_EQ(*s.forecast, dec("3.22"));
}

// Checking twice with the first check's keys fires nothing; a later check with more spend
// fires only the thresholds newly crossed.
TEST(Budgets, AlertsAreIdempotent) {
  const Result result = teams_result();
  Budget b = june_budget("team-a", LinesRef{"gpu", Tags{{"team", "a"}}}, "700");
  const BudgetStatus first = check_budget(b, result);
  ASSERT_EQ(first.alerts.size(), 2u);
  const std::vector<std::string> fired = keys(first.alerts);

  const BudgetStatus again = check_budget(b, result, fired);
  EXPECT_TRUE(again.alerts.empty());
  EXPECT_EQ(texts(again.crossed), texts(first.crossed));

  b.already_fired = fired;  // the same through the budget's own list
  EXPECT_TRUE(check_budget(b, result).alerts.empty());

  // More spend: 1000 of 700 crosses 1 and 1.25 as well; only those two fire.
  b.spend = LinesRef{"gpu", Tags{}};
  const BudgetStatus later = check_budget(b, result, fired);
  EXPECT_EQ(keys(later.alerts), (std::vector<std::string>{"team-a/2026-06/1", "team-a/2026-06/1.25"}));
  std::vector<std::string> all = fired;
  for (const auto& k : keys(later.alerts)) all.push_back(k);
  EXPECT_TRUE(check_budget(b, result, all).alerts.empty());

  // Exactly one fired key suppresses exactly one alert.
  b.already_fired = {"team-a/2026-06/1"};
  EXPECT_EQ(keys(check_budget(b, result).alerts),
            (std::vector<std::string>{"team-a/2026-06/0.5", "team-a/2026-06/0.8", "team-a/2026-06/1.25"}));
}

TEST(Budgets, UnknownStepIsAnErrorAtThePath) {
  const Result result = teams_result();
  try {
    check_budget(june_budget("x", LinesRef{"nope", Tags{}}, "10"), result, {}, "budgets[3]");
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("budgets[3].spend.step: ", 0), 0u) << e.what();
  }
}

// ---- Through the spec ----------------------------------------------------------------------

TEST(GovernanceSpec, RunSetsTheReport) {
  std::string spec = kTeamsSpec;
  spec.pop_back();  // the closing brace
  spec += R"(, "budgets": [{"id": "prod", "spend": {"step": "gpu", "tags": {"env": "prod"}}, "amount": "800",
                             "period": {"month": "2026-06"}, "thresholds": ["0.90", "1"], "already_fired": ["prod/2026-06/1"]}],
              "reconcile": [{"id": "r", "estimate": {"step": "gpu", "tags": {"env": "prod"}}, "actual": "870.03"}],
              "scorecards": [{"id": "c", "baseline": "1000", "levers": [{"name": "a", "saving": "0.5"}, {"name": "b", "saving": 0.5}]}]})";
  const Allocation allocation = allocation_from_json(spec);
  ASSERT_TRUE(allocation.governance);
  const Result result = run(allocation);
  ASSERT_TRUE(result.governance);
  const GovernanceReport& g = *result.governance;

  ASSERT_EQ(g.budgets.size(), 1u);
  EXPECT_EQ(g.budgets[0].spend, dec("870.00"));
  EXPECT_EQ(g.budgets[0].ratio, rat(87, 80));
  EXPECT_EQ(texts(g.budgets[0].crossed), (std::vector<std::string>{"0.90", "1"}));
  EXPECT_EQ(keys(g.budgets[0].alerts), (std::vector<std::string>{"prod/2026-06/0.90"}));

  // estimate 500 + 300 + 70 = 870.00; difference 0.03 split 500:300:70 -> exact 0.01724, 0.01034,
  // 0.00241 cents-wise 1.724, 1.034, 0.241: floors 1, 1, 0, one left to the largest remainder (a, .724).
  ASSERT_EQ(g.reconcile.size(), 1u);
  const ReconcileReport& r = g.reconcile[0];
  EXPECT_EQ(r.estimate, dec("870.00"));
  EXPECT_EQ(r.actual, dec("870.03"));
  EXPECT_EQ(r.difference, dec("0.03"));
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0].true_up, dec("0.02"));
  EXPECT_EQ(r.lines[0].cost, dec("500.02"));
  EXPECT_EQ(r.lines[1].true_up, dec("0.01"));
  EXPECT_EQ(r.lines[2].true_up, dec("0"));
  ASSERT_TRUE(r.drift.has_value());
  EXPECT_EQ(*r.drift, rat(3, 87000));

  ASSERT_EQ(g.scorecards.size(), 1u);
  EXPECT_EQ(g.scorecards[0].combined, dec("750.00"));
  EXPECT_EQ(g.scorecards[0].remaining, dec("250.00"));
  ASSERT_EQ(g.scorecards[0].levers.size(), 2u);
  EXPECT_EQ(g.scorecards[0].levers[0].incremental, dec("500.00"));
  EXPECT_EQ(g.scorecards[0].levers[1].incremental, dec("250.00"));
  EXPECT_EQ(g.scorecards[0].levers[1].standalone, dec("500.00"));
}

TEST(GovernanceSpec, ErrorsNameThePath) {
  auto error_of = [](const std::string& extra) -> std::string {
    std::string spec = kTeamsSpec;
    spec.pop_back();
    try {
      run_spec(spec + extra + "}");
    } catch (const SpecError& e) {
      return e.what();
    }
    return "no error";
  };
  auto starts = [](const std::string& message, const std::string& prefix) { return message.rfind(prefix, 0) == 0; };
  const std::string b = R"("id": "b", "spend": "1", "period": {"month": "2026-06"})";
  std::string m = error_of(R"(, "budgets": [{)" + b + R"(, "amount": "0"}])");
  EXPECT_TRUE(starts(m, "budgets[0].amount: ")) << m;
  m = error_of(R"(, "budgets": [{)" + b + R"(, "amount": "5", "colour": "red"}])");
  EXPECT_TRUE(starts(m, "budgets[0].colour")) << m;
  m = error_of(R"(, "budgets": [{)" + b + R"(, "amount": "5", "thresholds": ["0.5", "-1"]}])");
  EXPECT_TRUE(starts(m, "budgets[0].thresholds[1]: ")) << m;
  m = error_of(R"(, "budgets": [{"id": "b", "spend": {"step": "zz"}, "amount": "5", "period": {"month": "2026-06"}}])");
  EXPECT_TRUE(starts(m, "budgets[0].spend.step: ")) << m;
  m = error_of(R"(, "scorecards": [{"id": "c", "baseline": "1", "levers": [{"name": "a", "saving": "1.5"}]}])");
  EXPECT_TRUE(starts(m, "scorecards[0].levers[0].saving: ")) << m;
  m = error_of(R"(, "reconcile": [{"id": "r", "estimate": {"step": "gpu", "tags": {"team": "zz"}}, "actual": "1"}])");
  EXPECT_TRUE(starts(m, "reconcile[0].estimate: ")) << m;
}

// evaluate(): every rule, the global fired keys added to each rule's own, paths as in the spec.
TEST(GovernanceSpec, EvaluateWithGlobalFiredKeys) {
  const Allocation allocation = allocation_from_json(kTeamsSpec);
  const Result result = run(allocation);
  Governance g;
  g.budgets.push_back(june_budget("team-a", LinesRef{"gpu", Tags{{"team", "a"}}}, "700"));
  g.anomalies.push_back(AnomalyRule{"big", LinesRef{"gpu", Tags{}}, AnomalyMethod::ratio, written("5"), {}});
  g.already_fired = {"team-a/2026-06/0.5", "big/env=prod,team=a"};
  const GovernanceReport rep = evaluate(g, allocation, result);
  ASSERT_EQ(rep.budgets.size(), 1u);
  EXPECT_EQ(keys(rep.budgets[0].alerts), (std::vector<std::string>{"team-a/2026-06/0.8"}));
  // costs 100, 500, 300, 70, 30: median 100, threshold 5 flags 500 only; its key was fired.
  ASSERT_EQ(rep.anomalies.size(), 1u);
  ASSERT_EQ(rep.anomalies[0].flagged.size(), 1u);
  EXPECT_EQ(rep.anomalies[0].flagged[0].key, "big/env=prod,team=a");
  EXPECT_EQ(rep.anomalies[0].flagged[0].score, rat(5));
  EXPECT_FALSE(rep.anomalies[0].flagged[0].alert);

  g.budgets.push_back(june_budget("bad", LinesRef{"nope", Tags{}}, "1"));
  try {
    evaluate(g, allocation, result);
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("budgets[1].spend.step: ", 0), 0u) << e.what();
  }
}

// ---- Anomalies -------------------------------------------------------------------------------

// Costs 10.00, 10.50, 12.00, 13.25, 40.00, 9.00: median 11.25; MAD 1.625.
TEST(Anomalies, RatioAndMad) {
  const Result r = hand_result({dec("10.00"), dec("10.50"), dec("12.00"), dec("13.25"), dec("40.00"), dec("9.00")});
  AnomalyRule ratio{"big", LinesRef{"s", Tags{}}, AnomalyMethod::ratio, written("3"), {}};
  AnomalyReport a = find_anomalies(ratio, r);
  EXPECT_EQ(a.lines, 6u);
  ASSERT_TRUE(a.median.has_value());
  EXPECT_EQ(*a.median, rat(45, 4));
  ASSERT_EQ(a.flagged.size(), 1u);  // 40 >= 3 x 11.25 = 33.75
  EXPECT_EQ(a.flagged[0].key, "big/k=i004");
  EXPECT_EQ(a.flagged[0].cost, dec("40.00"));
  EXPECT_EQ(a.flagged[0].baseline, dec("11.25"));
  EXPECT_EQ(a.flagged[0].score, rat(160, 45));
  EXPECT_TRUE(a.flagged[0].alert);

  // Already fired: still flagged, no alert.
  a = find_anomalies(ratio, r, {"big/k=i004"});
  ASSERT_EQ(a.flagged.size(), 1u);
  EXPECT_FALSE(a.flagged[0].alert);

  AnomalyRule mad{"m", LinesRef{"s", Tags{}}, AnomalyMethod::mad, std::nullopt, {}};
  a = find_anomalies(mad, r);
  ASSERT_TRUE(a.mad.has_value());
  EXPECT_EQ(*a.mad, rat(13, 8));
  EXPECT_EQ(a.threshold.text, "3.5");
  ASSERT_EQ(a.flagged.size(), 1u);
  // 0.6745 x 28.75 / 1.625
  EXPECT_EQ(a.flagged[0].score, dec("0.6745").to_rational() * rat(115, 4) / rat(13, 8));

  mad.threshold = written("0.83");  // d: 0.6745 x 2 / 1.625 = 0.83015..
  a = find_anomalies(mad, r);
  ASSERT_EQ(a.flagged.size(), 2u);
  EXPECT_EQ(a.flagged[0].tags, (Tags{{"k", "i003"}}));
}

TEST(Anomalies, NothingWhenMedianNotPositiveOrMadZero) {
  const Result credit = hand_result({dec("-10"), dec("-10"), dec("-10"), dec("50")});
  AnomalyRule ratio{"c", LinesRef{"s", Tags{}}, AnomalyMethod::ratio, written("1"), {}};
  EXPECT_TRUE(find_anomalies(ratio, credit).flagged.empty());  // median -10

  const Result flat = hand_result({dec("5"), dec("5"), dec("5"), dec("5"), dec("100")});
  AnomalyRule mad{"f", LinesRef{"s", Tags{}}, AnomalyMethod::mad, std::nullopt, {}};
  const AnomalyReport a = find_anomalies(mad, flat);
  EXPECT_TRUE(a.flagged.empty());
  ASSERT_TRUE(a.mad.has_value());
  EXPECT_EQ(*a.mad, rat(0));

  AnomalyRule none{"n", LinesRef{"s", Tags{{"k", "zzz"}}}, AnomalyMethod::ratio, std::nullopt, {}};
  const AnomalyReport e = find_anomalies(none, flat);
  EXPECT_EQ(e.lines, 0u);
  EXPECT_FALSE(e.median.has_value());
  EXPECT_TRUE(e.flagged.empty());
}

// ---- Reconciliation ----------------------------------------------------------------------------

Reconciliation rec_of(std::variant<Decimal, PoolRef> actual) {
  Reconciliation rec;
  rec.id = "r";
  rec.estimate = LinesRef{"s", Tags{}};
  rec.actual = std::move(actual);
  return rec;
}

// 100, 100, 50 and a difference of one cent: a and b tie; the smaller tags win.
TEST(Reconcile, LargestRemainderTie) {
  const Result r = hand_result({dec("100"), dec("100"), dec("50")});
  const ReconcileReport rep = reconcile(rec_of(dec("250.0149")), r);
  EXPECT_EQ(rep.actual, dec("250.01"));
  EXPECT_EQ(rep.difference, dec("0.01"));
  ASSERT_EQ(rep.lines.size(), 3u);
  EXPECT_EQ(rep.lines[0].true_up, dec("0.01"));
  EXPECT_EQ(rep.lines[1].true_up, dec("0"));
  EXPECT_EQ(rep.lines[2].true_up, dec("0"));
  EXPECT_EQ(*rep.drift, rat(1, 25000));
  EXPECT_TRUE(rep.causes.empty());
}

// 25 and 75, difference two cents: exact 0.005 and 0.015 tie on remainder; the larger exact wins.
TEST(Reconcile, TieGoesToLargerExact) {
  const Result r = hand_result({dec("25"), dec("75")});
  const ReconcileReport rep = reconcile(rec_of(dec("100.02")), r);
  EXPECT_EQ(rep.lines[0].true_up, dec("0"));
  EXPECT_EQ(rep.lines[1].true_up, dec("0.02"));
}

TEST(Reconcile, CausesUsageAndPrice) {
  const Result r = hand_result({dec("120"), dec("80")});
  Reconciliation rec = rec_of(dec("230"));
  rec.causes = {ReconcileCause{"tax", dec("4.004")}};
  rec.quantity = ReconcileQuantity{dec("30"), dec("31"), "gpu_hour"};
  const ReconcileReport rep = reconcile(rec, r);
  ASSERT_EQ(rep.causes.size(), 3u);
  EXPECT_EQ(rep.causes[0].name, "tax");
  EXPECT_EQ(rep.causes[0].amount, dec("4.00"));
  EXPECT_EQ(rep.causes[1].name, "usage");
  EXPECT_EQ(rep.causes[1].amount, dec("6.67"));  // 1 x 200 / 30
  EXPECT_EQ(rep.causes[2].name, "price");
  EXPECT_EQ(rep.causes[2].amount, dec("19.33"));

  Reconciliation plain = rec_of(dec("190"));
  plain.causes = {ReconcileCause{"credit", dec("-7.5")}};
  const ReconcileReport p = reconcile(plain, r);
  ASSERT_EQ(p.causes.size(), 2u);
  EXPECT_EQ(p.causes[1].name, "unexplained");
  EXPECT_EQ(p.causes[1].amount, dec("-2.50"));
}

TEST(Reconcile, ZeroEstimate) {
  const Result r = hand_result({dec("0"), dec("0")});
  const ReconcileReport ok = reconcile(rec_of(dec("0")), r);
  EXPECT_FALSE(ok.drift.has_value());
  EXPECT_EQ(ok.difference, dec("0"));
  try {
    reconcile(rec_of(dec("5")), r, "reconcile[2]");
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("reconcile[2].estimate: ", 0), 0u) << e.what();
  }
}

// Property: for random estimate lines (some credits) and actual amounts, the reconciled lines
// sum exactly to the actual amount, the true-ups to the difference, and each true-up is within
// one unit of its exact share.
TEST(Reconcile, PropertyLinesSumToActual) {
  std::mt19937_64 rng(20260601);
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const char* precision = trial % 4 == 3 ? "0.0001" : "0.01";
    const Decimal unit = dec(precision);
    const int n = 1 + static_cast<int>(rng() % 12);
    const bool credits = trial % 5 == 0;
    std::vector<Decimal> costs;
    for (int i = 0; i < n; ++i) {
      long long units = static_cast<long long>(rng() % 100000);
      if (credits && rng() % 3 == 0) units = -units / 4;
      costs.push_back(unit * units);
    }
    Decimal estimate;
    for (const auto& c : costs) estimate += c;
    if (estimate.is_zero()) continue;
    const long long actual_units = static_cast<long long>(rng() % 300000) - 50000;
    const Decimal actual = unit * actual_units;
    const Result r = hand_result(costs, precision);
    const ReconcileReport rep = reconcile(rec_of(actual), r);
    ASSERT_EQ(rep.lines.size(), costs.size());
    Decimal sum, ups;
    for (std::size_t i = 0; i < rep.lines.size(); ++i) {
      sum += rep.lines[i].cost;
      ups += rep.lines[i].true_up;
      EXPECT_EQ(rep.lines[i].cost, costs[i] + rep.lines[i].true_up);
      const Rational exact = (actual - estimate).to_rational() * costs[i].to_rational() / estimate.to_rational();
      const Rational off = rep.lines[i].true_up.to_rational() - exact;
      EXPECT_LT(abs(off), unit.to_rational()) << "trial " << trial << " line " << i;
    }
    EXPECT_EQ(sum, actual) << "trial " << trial;
    EXPECT_EQ(ups, actual - estimate) << "trial " << trial;
    EXPECT_EQ(rep.difference, actual - estimate);
    ++checked;
  }
  EXPECT_GT(checked, 350);
}

// ---- Scorecards -----------------------------------------------------------------------------

Lever given(const char* name, const char* saving) {
  Lever l;
  l.name = name;
  l.model.kind = LeverModel::Kind::given;
  l.model.parameters = {{"saving", written(saving)}};
  return l;
}

TEST(Scorecards, HalvesCompose) {
  const Result r = hand_result({dec("1")});
  Scorecard card{"c", dec("1000"), {given("a", "0.5"), given("b", "0.5")}};
  const ScorecardReport rep = score(card, r);
  EXPECT_EQ(rep.baseline, dec("1000.00"));
  EXPECT_EQ(rep.combined, dec("750.00"));
  EXPECT_EQ(rep.remaining, dec("250.00"));
  ASSERT_EQ(rep.levers.size(), 2u);
  EXPECT_EQ(rep.levers[0].saving, rat(1, 2));
  EXPECT_EQ(rep.levers[0].standalone, dec("500"));
  EXPECT_EQ(rep.levers[1].standalone, dec("500"));
  EXPECT_EQ(rep.levers[0].incremental, dec("500"));
  EXPECT_EQ(rep.levers[1].incremental, dec("250"));
}

// 1.01 with 0.5 then 1: increments 0.505 and 0.505 tie: the earlier lever takes the cent.
TEST(Scorecards, TieGoesToEarlierLever) {
  const Result r = hand_result({dec("1")});
  const ScorecardReport rep = score(Scorecard{"t", dec("1.01"), {given("half", "0.5"), given("rest", "1")}}, r);
  EXPECT_EQ(rep.combined, dec("1.01"));
  EXPECT_EQ(rep.levers[0].standalone, dec("0.50"));
  EXPECT_EQ(rep.levers[0].incremental, dec("0.51"));
  EXPECT_EQ(rep.levers[1].incremental, dec("0.50"));
  EXPECT_EQ(rep.remaining, dec("0"));
}

TEST(Scorecards, Models) {
  const Result r = hand_result({dec("4000")});
  Lever spot;
  spot.name = "spot";
  spot.model.kind = LeverModel::Kind::spot;
  spot.model.parameters = {{"on_demand_rate", written("3.92")}, {"spot_rate", written("2.91")}};
  spot.model.eligible = written("0.5");
  Lever q;
  q.name = "fp8";
  q.model.kind = LeverModel::Kind::quantization;
  q.model.parameters = {{"throughput_gain", written("1.6")}};
  Lever c;
  c.name = "cache";
  c.model.kind = LeverModel::Kind::caching;
  c.model.parameters = {{"hit_rate", written("0.4")}, {"cached_price_ratio", written("0.1")}};
  Lever rs;
  rs.name = "right";
  rs.model.kind = LeverModel::Kind::right_sizing;
  rs.model.parameters = {{"utilization", written("0.9")}, {"target_utilization", written("0.6")}};
  const ScorecardReport rep = score(Scorecard{"m", LinesRef{"s", Tags{}}, {spot, q, c, rs}}, r);
  EXPECT_EQ(rep.baseline, dec("4000.00"));
  ASSERT_EQ(rep.levers.size(), 4u);
  EXPECT_EQ(rep.levers[0].saving, rat(101, 784));
  EXPECT_EQ(rep.levers[1].saving, rat(3, 8));
  EXPECT_EQ(rep.levers[2].saving, rat(9, 25));
  EXPECT_EQ(rep.levers[3].saving, rat(0));
  EXPECT_EQ(rep.levers[0].standalone, dec("515.31"));  // 4000 x 101/784 = 515.306..
  // combined = 4000 x (1 - (683/784)(5/8)(16/25)) = 4000 - 4000 x 683/1960 = 2606.12..
  EXPECT_EQ(rep.combined, Decimal::from_rational(rat(4000) * (1 - rat(683, 784) * rat(5, 8) * rat(16, 25)), dec("0.01")));
  EXPECT_EQ(rep.combined, dec("2606.12"));
  EXPECT_FALSE(rep.levers[0].formula.empty());
}

// Property: random savings compose to at most the baseline, the increments sum to the
// combined saving exactly, and remaining is what is left.
TEST(Scorecards, PropertyCombinedWithinBaseline) {
  std::mt19937_64 rng(77);
  const Result r = hand_result({dec("1")});
  for (int trial = 0; trial < 300; ++trial) {
    const Decimal baseline = dec("0.01") * static_cast<long long>(rng() % 10000000);
    Scorecard card;
    card.id = "p";
    card.baseline = baseline;
    const int n = 1 + static_cast<int>(rng() % 6);
    std::vector<std::string> savings;
    for (int i = 0; i < n; ++i) {
      const unsigned v = static_cast<unsigned>(rng() % 1000001);  // 0 .. 1 in millionths
      savings.push_back((Decimal::parse(std::to_string(v)) * Decimal::parse("0.000001")).to_string());
    }
    for (int i = 0; i < n; ++i) {
      Lever l;
      l.name = "l" + std::to_string(i);
      l.model.parameters = {{"saving", WrittenDecimal{Decimal::parse(savings[i]), savings[i]}}};
      card.levers.push_back(l);
    }
    const ScorecardReport rep = score(card, r);
    EXPECT_LE(rep.combined, baseline) << "trial " << trial;
    EXPECT_GE(rep.combined, Decimal{}) << "trial " << trial;
    EXPECT_EQ(rep.remaining, baseline - rep.combined);
    Decimal sum;
    for (const auto& l : rep.levers) {
      sum += l.incremental;
      EXPECT_GE(l.incremental, Decimal{});
    }
    EXPECT_EQ(sum, rep.combined) << "trial " << trial;
  }
}

// ---- Unit economics -------------------------------------------------------------------------

TEST(UnitEconomics, PerTenantTokensAndRequests) {
  const char* spec = R"({"apportion": 1, "pools": [{"id": "endpoint", "cost": "100"}],
    "records": [
      {"tags": {"team": "a"}, "measures": {"tokens_prompt": 1000000, "tokens_generation": 500000, "requests": 1000}},
      {"tags": {"team": "a"}, "measures": {"tokens_prompt": 200000, "tokens_generation": 300000, "requests": 500}},
      {"tags": {"team": "b"}, "measures": {"tokens_prompt": 2000000, "tokens_generation": 1000000, "requests": 2500}},
      {"tags": {}, "measures": {"tokens_prompt": 400000, "tokens_generation": 100000, "requests": 100}}],
    "steps": [{"id": "tenants", "strategy": "per_tenant", "pool": "endpoint"}]})";
  // Read whole: the spec has no unit_economics section, so its plan would drop `requests`.
  SpecOptions whole;
  whole.plan_records = false;
  const Allocation allocation = allocation_from_json(spec, whole);
  const Result result = run(allocation);
  const UnitEconomicsReport rep = unit_economics(UnitEconomicsRule{"u", LinesRef{"tenants", Tags{}}}, allocation, result);
  ASSERT_EQ(rep.lines.size(), 3u);
  const LineEconomics& a = rep.lines[0];
  EXPECT_EQ(a.cost, dec("36.36"));
  auto get = [](const auto& pairs, const std::string& name) {
    for (const auto& [k, v] : pairs)
      if (k == name) return std::optional(v);
    return std::optional<std::decay_t<decltype(pairs[0].second)>>();
  };
  EXPECT_EQ(get(a.quantities, "requests"), std::optional(rat(1500)));
  EXPECT_EQ(get(a.quantities, "tokens"), std::optional(rat(2000000)));
  EXPECT_EQ(get(a.per, "inference"), std::optional(dec("0.0242")));
  EXPECT_EQ(get(a.per, "thousand_requests"), std::optional(dec("24.24")));
  EXPECT_EQ(get(a.per, "million_tokens"), std::optional(dec("18.18")));
  EXPECT_FALSE(get(a.per, "gpu_hour").has_value());
  const LineEconomics& b = rep.lines[1];
  EXPECT_EQ(get(b.per, "million_tokens"), std::optional(dec("18.1833")));  // 54.55 / 3
  const LineEconomics& u = rep.lines[2];
  EXPECT_EQ(u.kind, LineKind::unallocated);
  EXPECT_EQ(get(u.quantities, "requests"), std::optional(rat(100)));
}

TEST(UnitEconomics, PerExperimentRunsEpochsAndUtilization) {
  const char* spec = R"({"apportion": 1,
    "catalog": {"skus": [{"id": "gpu/h100", "unit": "gpu_hour", "prices": [{"rate": "2.00"}]}]},
    "pools": [],
    "records": [
      {"tags": {"experiment": "e1"}, "sku": "gpu/h100", "count": 8, "start": "2026-06-02T10:00:00Z", "end": "2026-06-02T11:00:00Z",
       "measures": {"utilization": "0.5", "epochs": 3}},
      {"tags": {"experiment": "e1"}, "sku": "gpu/h100", "count": 4, "start": "2026-06-02T10:00:00Z", "end": "2026-06-02T10:30:00Z",
       "measures": {"utilization": "0.75", "epochs": 1}},
      {"tags": {"experiment": "e2"}, "sku": "gpu/h100", "count": 2, "start": "2026-06-02T12:00:00Z", "end": "2026-06-02T14:00:00Z",
       "measures": {"utilization": "0.5"}},
      {"tags": {"experiment": "e2"}, "sku": "gpu/h100", "count": 1, "start": "2026-06-02T12:00:00Z", "end": "2026-06-02T13:00:00Z"}],
    "steps": [{"id": "runs", "strategy": "per_experiment"}]})";
  const Allocation allocation = allocation_from_json(spec);
  const Result result = run(allocation);
  const UnitEconomicsReport rep = unit_economics(UnitEconomicsRule{"u", LinesRef{"runs", Tags{}}}, allocation, result);
  ASSERT_EQ(rep.lines.size(), 2u);
  auto has = [](const auto& pairs, const std::string& name) {
    for (const auto& p : pairs)
      if (p.first == name) return true;
    return false;
  };
  auto get = [](const auto& pairs, const std::string& name) {
    for (const auto& p : pairs)
      if (p.first == name) return p.second;
    return decltype(pairs[0].second){};
  };
  const LineEconomics& e1 = rep.lines[0];
  EXPECT_EQ(e1.cost, dec("20.00"));
  EXPECT_EQ(get(e1.quantities, "runs"), rat(2));
  EXPECT_EQ(get(e1.quantities, "epochs"), rat(4));
  EXPECT_EQ(get(e1.quantities, "gpu_hours"), rat(10));
  EXPECT_EQ(get(e1.quantities, "gpu_hours_used"), rat(11, 2));
  EXPECT_EQ(get(e1.per, "run"), dec("10"));
  EXPECT_EQ(get(e1.per, "epoch"), dec("5"));
  EXPECT_EQ(get(e1.per, "gpu_hour"), dec("2"));
  EXPECT_EQ(get(e1.per, "gpu_hour_used"), dec("3.6364"));
  const LineEconomics& e2 = rep.lines[1];  // one run lacks utilization
  EXPECT_EQ(e2.cost, dec("10.00"));
  EXPECT_EQ(get(e2.quantities, "gpu_hours"), rat(5));
  EXPECT_FALSE(has(e2.quantities, "gpu_hours_used"));
  EXPECT_FALSE(has(e2.per, "gpu_hour_used"));
  EXPECT_FALSE(has(e2.quantities, "epochs"));
  EXPECT_FALSE(has(e2.per, "epoch"));
  EXPECT_EQ(get(e2.per, "run"), dec("5"));
}

}  // namespace
