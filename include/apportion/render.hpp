#pragma once
// Renderers that turn a Result into text for people and spreadsheets. (The result
// document itself is result_to_json in spec.hpp.)

#include <string>

#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

// An aligned table per step: one column per tag key, cost with thousands separators,
// share of the step's total as a percentage, and a totals row; unit costs and coverage
// follow the step they belong to. Governance sections (budgets, anomalies, reconcile,
// scorecards, unit economics) follow the steps, one table each.
std::string result_to_table(const Result& result);

// One CSV row per line (RFC 4180 quoting): step, pool, kind, one column per tag key used
// anywhere in the result, cost, weight, share, split_cost, unused_cost, gpu_hours.
std::string result_to_csv(const Result& result);

// FOCUS 1.3 allocated charges (CSV, RFC 4180): one row per line of each step that split a
// pool, the pool being the origin charge. Fills BillingCurrency, ChargeCategory, ResourceId
// (the pool id), Tags (the pool's), BilledCost and EffectiveCost (the line's cost),
// AllocatedMethodId ("<strategy>:<step id>"), AllocatedMethodDetails (the ratio's elements),
// AllocatedResourceId, AllocatedResourceName and AllocatedTags (the line's group; null for
// the unallocated line), x_StepId, x_LineKind and x_PoolId. A pool read from a FOCUS bill
// (Pool::origin) puts the bill's columns first, its costs and quantities split by the same
// weights. The rows of one pool and step sum exactly to the origin in every cost column,
// and their AllocatedRatio values to exactly 1 (docs/output-formats.md).
std::string result_to_focus(const Result& result, const Allocation& allocation);

// GitHub-flavoured markdown: a table per step (kind, tags, cost with thousands separators,
// share) with a totals row, unit costs and coverage, then the governance sections, one
// compact table each. `|`, `\`, `<` and line breaks in cells are escaped.
std::string result_to_markdown(const Result& result);

// Prometheus text exposition (0.0.4), for node_exporter's textfile collector or a
// Pushgateway: gauges apportion_<kind>_cost per line (labels step, pool, currency, the
// bucket's bucket_start/bucket_end under a series, then the line's tags), apportion_pool_cost,
// apportion_coverage_ratio, apportion_cost_per_million_tokens, apportion_statement_cost and
// the budgets' apportion_budget_{spend,amount,ratio,forecast}. A tag key becomes a label
// name by Prometheus's rules (`cost-center` is `cost_center`; a name this format uses, such
// as `step`, is `tag_step`); two keys of one line that make one name are
// std::invalid_argument. No timestamps, which neither collector takes.
std::string result_to_prometheus(const Result& result);

// Number formats shared by every renderer, all rounding half-even:
// an amount with exactly the digits of `unit` ("2.50" for unit 0.01),
std::string format_amount(const Decimal& value, const Decimal& unit);
std::string format_amount(const Rational& value, const Decimal& unit);
// a value with exactly `places` fractional digits (0..12),
std::string format_places(const Rational& value, int places);
// and a weight: at most 6 fractional digits, trailing zeros dropped.
std::string format_weight(const Rational& value);

// A ratio as a percentage with two places, half-even: "83.33%".
std::string format_percent(const Rational& ratio);
// part / whole (whole not zero) the same way, computed without a rational: "12.50%".
std::string format_percent_of(const Decimal& part, const Decimal& whole);
// A threshold as a percentage without trailing zeros: 0.5 -> "50%", 1.25 -> "125%",
// 0.875 -> "87.5%".
std::string format_threshold(const Decimal& fraction);
// Tags as "k=v" pairs in canonical order joined by `separator`; "" for none.
std::string tags_text(const Tags& tags, std::string_view separator);

// "1234567.5" -> "1,234,567.5": digits grouped by three in the integer part.
std::string group_thousands(const std::string& decimal_text);

APPORTION_END_NAMESPACE
