#pragma once
// Governance: what an attribution result is checked against once the steps have run.
// Budgets with threshold alerts and a run-rate forecast, anomalies against a baseline,
// reconciliation of estimates with the bill, optimisation scorecards and unit economics.
// Each rule reads the lines of a Result; none sends anything anywhere: alerts are data,
// rendered to text, JSON or a Slack Block Kit payload by alerts.hpp.

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

// The sum of the reported costs of one step's lines whose tags contain all of `tags`, or,
// with `statement` set (and `step` empty), of that statement's rows whose tags do.
struct LinesRef {
  std::string step;
  Tags tags;
  std::string statement{};
};
// A pool's rounded cost.
struct PoolRef {
  std::string pool;
};

// A number as written in a spec: its exact value and its text (keys and echoes use the text).
struct WrittenDecimal {
  Decimal value;
  std::string text;
};

enum class Severity { info, warning, critical };
std::string_view to_string(Severity severity) noexcept;
// info below 0.8 of the budget, warning from 0.8, critical from 1.
Severity severity_of_threshold(const Decimal& threshold) noexcept;

// ---- Budgets ---------------------------------------------------------------------------

struct Budget {
  std::string id;
  Tags tags;                                 // whose budget (informative, echoed)
  std::variant<Decimal, LinesRef> spend;     // a literal amount is rounded to the precision
  Decimal amount;                            // positive
  Interval period{Instant{}, Instant{}};
  std::string period_text;                   // the period's start as written: the alert key's middle part
  std::optional<Instant> as_of;              // none: no forecast
  std::vector<WrittenDecimal> thresholds = default_thresholds();
  std::vector<std::string> already_fired;    // alert keys a previous check fired

  static std::vector<WrittenDecimal> default_thresholds();
};

struct BudgetAlert {
  std::string key;  // "<id>/<period start>/<threshold>", as written
  WrittenDecimal threshold;
  Severity severity = Severity::info;
};

struct BudgetStatus {
  std::string id;
  Tags tags;
  Interval period{Instant{}, Instant{}};
  std::optional<Instant> as_of;
  Decimal spend;                    // rounded
  Decimal amount;
  Rational ratio;                   // spend / amount, exact
  std::optional<Decimal> forecast;  // linear run rate to the period's end, rounded
  std::vector<WrittenDecimal> crossed;           // thresholds with ratio >= threshold
  std::vector<WrittenDecimal> forecast_crossed;  // thresholds the forecast reaches
  std::vector<BudgetAlert> alerts;               // crossed and not already fired
  std::vector<WrittenDecimal> thresholds;        // all of the budget's, as given
};

// ---- Anomalies ---------------------------------------------------------------------------

// ratio and mad compare every selected line with their median; trend (under a series)
// compares a line with the same tags' costs over the buckets before its own.
enum class AnomalyMethod { ratio, mad, trend };
std::string_view to_string(AnomalyMethod method) noexcept;

struct AnomalyRule {
  std::string id;
  LinesRef lines;
  AnomalyMethod method = AnomalyMethod::ratio;
  std::optional<WrittenDecimal> threshold;  // none: 10 for ratio, 3.5 for mad, 3 for trend
  std::vector<std::string> already_fired;   // flagged keys a previous check alerted on
  std::size_t window = 7;                   // trend: how many earlier buckets the median is over
};

struct FlaggedLine {
  // "<id>/<tags as k=v joined by ,>"; under a series "<id>/<bucket start>/<tags>", so each
  // bucket's line alerts once.
  std::string key;
  LineKind kind = LineKind::allocated;
  Tags tags;
  Decimal cost;
  Decimal baseline;  // the median, rounded to the precision
  Rational score;    // cost / median, or the robust score
  bool alert = true;  // false when its key was already fired
  std::optional<Interval> bucket{};  // under a series: the line's bucket
};

struct AnomalyReport {
  std::string id;
  AnomalyMethod method = AnomalyMethod::ratio;
  WrittenDecimal threshold;
  std::size_t lines = 0;               // how many lines the baseline is taken over
  std::optional<Rational> median;      // none when there are no lines
  std::optional<Rational> mad;         // mad method only
  std::vector<FlaggedLine> flagged;    // in result order
};

// ---- Reconciliation ----------------------------------------------------------------------

// A named part of the difference whose amount is known (tax, credits, a fee missing from
// the estimate); what the causes do not explain is reported as the cause "unexplained".
struct ReconcileCause {
  std::string name;
  std::variant<Decimal, LinesRef, PoolRef> amount;
};
// Billed and estimated quantities (GPU-hours, tokens) let the rest of the difference be
// split into a usage cause (quantity at the estimate's rate) and a price cause.
struct ReconcileQuantity {
  Decimal estimate;
  Decimal actual;
  std::string unit;  // informative
};

struct Reconciliation {
  std::string id;
  LinesRef estimate;
  std::variant<Decimal, PoolRef> actual;  // a literal amount is rounded to the precision
  std::optional<Interval> period;          // informative: reports over time form a drift series
  std::vector<ReconcileCause> causes;
  std::optional<ReconcileQuantity> quantity;
};

struct ReconciledLine {
  LineKind kind = LineKind::allocated;
  Tags tags;
  Decimal cost;     // the line's cost plus its true-up
  Decimal true_up;  // its share of the difference
  std::optional<Interval> bucket{};  // under a series: the estimate line's bucket
};

struct CauseAmount {
  std::string name;
  Decimal amount;
};

struct ReconcileReport {
  std::string id;
  std::optional<Interval> period;
  Decimal estimate, actual, difference;
  std::optional<Rational> drift;  // difference / estimate; none when the estimate is zero
  std::vector<CauseAmount> causes;  // sum exactly to the difference; empty when none was given
  std::vector<ReconciledLine> lines;  // sum exactly to `actual`
};

// ---- Scorecards --------------------------------------------------------------------------

// How a lever's saving is known: a fraction given outright, or computed from its parameters.
struct LeverModel {
  enum class Kind { given, spot, quantization, caching, right_sizing };
  Kind kind = Kind::given;
  // given: saving. spot: on_demand_rate, spot_rate. quantization: throughput_gain.
  // caching: hit_rate, cached_price_ratio. right_sizing: utilization, target_utilization.
  std::vector<std::pair<std::string, WrittenDecimal>> parameters;
  std::optional<WrittenDecimal> eligible;  // the share of the baseline the lever applies to
};
std::string_view to_string(LeverModel::Kind kind) noexcept;

struct Lever {
  std::string name;
  LeverModel model;
  std::string risk;
  std::string assumptions;
};

struct Scorecard {
  std::string id;
  std::variant<Decimal, LinesRef> baseline;  // a literal amount is rounded to the precision
  std::vector<Lever> levers;
};

struct LeverResult {
  std::string name;
  Rational saving;       // the fraction it saves of what it applies to
  std::string formula;   // how the saving was computed, from the parameters
  std::string risk, assumptions;
  Decimal standalone;    // baseline x saving, rounded
  Decimal incremental;   // its part of the combined saving; these sum to `combined`
};

struct ScorecardReport {
  std::string id;
  Decimal baseline;
  std::vector<LeverResult> levers;
  Decimal combined;   // baseline x (1 - product of (1 - saving)), rounded
  Decimal remaining;  // baseline - combined
};

// ---- Unit economics ----------------------------------------------------------------------

// Costs per unit of work for each selected line, from the records that took part in the
// line's step and fall in its group.
struct UnitEconomicsRule {
  std::string id;
  LinesRef lines;
  Decimal unit_precision = Decimal::parse("0.0001");
};

struct LineEconomics {
  LineKind kind = LineKind::allocated;
  Tags tags;
  std::optional<Interval> bucket;  // under a series: the line's
  Decimal cost;
  // Denominators, present when positive: requests, tokens, runs, epochs, gpu_hours,
  // gpu_hours_used (utilisation-adjusted).
  std::vector<std::pair<std::string, Rational>> quantities;
  // Per inference, thousand_requests, million_tokens, run, epoch, gpu_hour, gpu_hour_used.
  std::vector<std::pair<std::string, Decimal>> per;
};

struct UnitEconomicsReport {
  std::string id;
  std::string step;
  Decimal unit_precision;
  std::vector<LineEconomics> lines;
};

// ---- All of it ---------------------------------------------------------------------------

struct Governance {
  std::vector<Budget> budgets;
  std::vector<AnomalyRule> anomalies;
  std::vector<Reconciliation> reconcile;
  std::vector<Scorecard> scorecards;
  std::vector<UnitEconomicsRule> unit_economics;
  // Alert keys fired by earlier checks, for every budget and anomaly rule (a state file).
  std::vector<std::string> already_fired;

  bool empty() const noexcept {
    return budgets.empty() && anomalies.empty() && reconcile.empty() && scorecards.empty() && unit_economics.empty();
  }
};

struct GovernanceReport {
  std::vector<BudgetStatus> budgets;
  std::vector<AnomalyReport> anomalies;
  std::vector<ReconcileReport> reconcile;
  std::vector<ScorecardReport> scorecards;
  std::vector<UnitEconomicsReport> unit_economics;
};

// Each rule on its own, over a result the engine produced from `allocation`. Bad references
// (an unknown step or pool) throw SpecError naming `path`.
BudgetStatus check_budget(const Budget& budget, const Result& result, const std::vector<std::string>& fired = {},
                          const std::string& path = "budget");
AnomalyReport find_anomalies(const AnomalyRule& rule, const Result& result, const std::vector<std::string>& fired = {},
                             const std::string& path = "anomaly");
ReconcileReport reconcile(const Reconciliation& rec, const Result& result, const std::string& path = "reconcile");
ScorecardReport score(const Scorecard& card, const Result& result, const std::string& path = "scorecard");
// Under a series, `buckets` are the allocation of each bucket (its records' parts there, in
// the order of result.series): a line's quantities are its bucket's.
UnitEconomicsReport unit_economics(const UnitEconomicsRule& rule, const Allocation& allocation, const Result& result,
                                   const std::string& path = "unit_economics", std::span<const Allocation> buckets = {});

// Every rule of `governance`, with the spec's paths in errors (`budgets[0].spend.step`);
// `buckets` as for unit_economics.
GovernanceReport evaluate(const Governance& governance, const Allocation& allocation, const Result& result,
                          std::span<const Allocation> buckets = {});

// The reported cost a reference names.
Decimal resolve(const LinesRef& ref, const Result& result, const std::string& path);
Decimal resolve(const PoolRef& ref, const Result& result, const std::string& path);

APPORTION_END_NAMESPACE
