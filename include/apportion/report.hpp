#pragma once
// A showback report for people: one self-contained HTML file per Result. Inline CSS,
// inline SVG charts and one inline script (a table sorter); nothing fetched (a
// Content-Security-Policy forbids it), so the file opens offline and can be mailed or
// attached to a ticket. The same result and options give the same bytes. docs/report.md
// shows what it holds.

#include <cstddef>
#include <optional>
#include <string>

#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

struct ReportOptions {
  // The page title and heading.
  std::string title = "Cost showback";
  // Shown under the heading as given ("2026-06-30 18:00 UTC"); none: no date, so the bytes
  // depend on the result alone.
  std::optional<std::string> generated_at;
  // Lines drawn as bars per step, largest costs first; the rest form one "other" bar.
  std::size_t max_bars = 20;
  // Lines listed in each step's table, largest costs first; the rest are summed in one row
  // (the CSV format, `apportion run --format csv`, lists every line).
  std::size_t max_table_lines = 500;
};

// The report: header (currency, precision, pools and their totals), then per step a bar
// chart of cost by line, a table of lines sorted by cost (largest first), the check that
// the lines sum to the pool, tag coverage against the 80% chargeback-readiness line and
// unit costs; then governance when the result has it (budgets, anomalies, reconciliation,
// scorecards, unit economics). All text is HTML-escaped.
std::string result_to_html(const Result& result, const ReportOptions& options = {});

// An amount for people: the currency's symbol ($, €, £, ¥) or its code, thousands
// separators, exactly the digits of `unit` (rounded half-even): "$1,234.50",
// "-€12.00", "CHF 1,000.00".
std::string format_money(const Decimal& amount, const Currency& currency, const Decimal& unit);

// `text` with &, <, >, " and ' replaced by character references.
std::string html_escape(std::string_view text);

APPORTION_END_NAMESPACE
