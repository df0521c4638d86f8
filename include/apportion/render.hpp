#pragma once
// Renderers that turn a Result into text for people and spreadsheets. (The result
// document itself is result_to_json in spec.hpp.)

#include <string>

#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

// An aligned table per step: one column per tag key, cost with thousands separators,
// share of the step's total as a percentage, and a totals row; unit costs and coverage
// follow the step they belong to.
std::string result_to_table(const Result& result);

// One CSV row per line (RFC 4180 quoting): step, pool, kind, one column per tag key used
// anywhere in the result, cost, weight, share, split_cost, unused_cost, gpu_hours.
std::string result_to_csv(const Result& result);

// Number formats shared by every renderer, all rounding half-even:
// an amount with exactly the digits of `unit` ("2.50" for unit 0.01),
std::string format_amount(const Decimal& value, const Decimal& unit);
std::string format_amount(const Rational& value, const Decimal& unit);
// a value with exactly `places` fractional digits (0..12),
std::string format_places(const Rational& value, int places);
// and a weight: at most 6 fractional digits, trailing zeros dropped.
std::string format_weight(const Rational& value);

// "1234567.5" -> "1,234,567.5": digits grouped by three in the integer part.
std::string group_thousands(const std::string& decimal_text);

APPORTION_END_NAMESPACE
