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

// "1234567.5" -> "1,234,567.5": digits grouped by three in the integer part.
std::string group_thousands(const std::string& decimal_text);

APPORTION_END_NAMESPACE
