#include "apportion/render.hpp"

#include "apportion/governance.hpp"
#include "render_util.hpp"

#include <algorithm>
#include <set>
#include <sstream>

APPORTION_BEGIN_NAMESPACE

namespace {

using render_detail::csv_field;

// Display width of UTF-8 text: code points, not bytes.
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_aligned)
      : right_(std::move(right_aligned)) {
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void rule() { rules_.insert(rows_.size()); }
  std::string str() const {
    std::vector<std::size_t> w(rows_[0].size(), 0);
    for (const auto& row : rows_)
      for (std::size_t c = 0; c < row.size(); ++c) w[c] = std::max(w[c], width(row[c]));
    std::string out;
    const auto line = [&] {
      std::size_t total = 0;
      for (std::size_t c : w) total += c + 2;
      out += "  " + std::string(total > 2 ? total - 2 : 0, '-') + "\n";
    };
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      if (rules_.contains(r)) line();
      out += " ";
      for (std::size_t c = 0; c < rows_[r].size(); ++c) {
        const std::string pad(w[c] - width(rows_[r][c]), ' ');
        // Appended piece by piece: `" " + std::string&&` trips GCC 12's -Wrestrict (a false positive).
        out += ' ';
        out += right_[c] ? pad : rows_[r][c];
        out += right_[c] ? rows_[r][c] : pad;
        out += ' ';
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "\n";
      if (r == 0) line();
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
  std::set<std::size_t> rules_;
};

}  // namespace

std::string format_amount(const Decimal& value, const Decimal& unit) {
  return value.round(unit).to_fixed(unit.fractional_digits());
}

std::string format_amount(const Rational& value, const Decimal& unit) {
  return Decimal::from_rational(value, unit).to_fixed(unit.fractional_digits());
}

namespace {

// `value` rounded half-even to `places` fractional digits, at any magnitude: weights and
// shares are exact rationals that may lie beyond the Decimal range (a weight of 10^23 x
// 10^23), and reporting one must not fail. `trim` drops trailing zeros ("2.5", "12").
std::string rounded_text(const Rational& value, int places, bool trim) {
  BigInt scale = 1;
  for (int i = 0; i < places; ++i) scale *= 10;
  const BigInt num = boost::multiprecision::numerator(value) * scale;
  const BigInt den = boost::multiprecision::denominator(value);  // positive
  BigInt q = num / den;                                            // toward zero
  const BigInt twice_rest = boost::multiprecision::abs(num - q * den) * 2;
  if (twice_rest > den || (twice_rest == den && boost::multiprecision::bit_test(boost::multiprecision::abs(q), 0)))
    q += num < 0 ? -1 : 1;
  std::string digits = boost::multiprecision::abs(q).str();
  if (digits.size() <= static_cast<std::size_t>(places)) digits.insert(0, places + 1 - digits.size(), '0');
  std::string out = (q < 0 ? "-" : "") + digits.substr(0, digits.size() - places);
  std::string fraction = digits.substr(digits.size() - places);
  if (trim) fraction.erase(fraction.find_last_not_of('0') + 1);
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

}  // namespace

std::string format_places(const Rational& value, int places) { return rounded_text(value, places, false); }

std::string format_weight(const Rational& value) { return rounded_text(value, 6, true); }

std::string group_thousands(const std::string& text) {
  const std::size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  std::size_t end = text.find('.');
  if (end == std::string::npos) end = text.size();
  std::string out = text;
  for (std::size_t pos = end; pos > start + 3; pos -= 3) out.insert(pos - 3, 1, ',');
  return out;
}

namespace {

std::string tags_text(const Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out.empty() ? "(all)" : out;
}

std::string percent(const Rational& ratio) { return format_places(ratio * 100, 2) + "%"; }

std::string joined(const std::vector<WrittenDecimal>& values) {
  std::string out;
  for (const WrittenDecimal& v : values) out += (out.empty() ? "" : ", ") + v.text;
  return out;
}

// The governance sections after the steps, one table each.
void governance_tables(const GovernanceReport& g, const Decimal& unit, std::ostream& out) {
  const auto money = [&](const Decimal& d) { return group_thousands(format_amount(d, unit)); };
  if (!g.budgets.empty()) {
    Table table({"budget", "tags", "spend", "amount", "used", "forecast", "crossed", "new alerts"},
                {false, false, true, true, true, true, false, false});
    for (const BudgetStatus& b : g.budgets) {
      std::string alerts;
      for (const BudgetAlert& a : b.alerts) alerts += (alerts.empty() ? "" : ", ") + a.threshold.text + " " + std::string(to_string(a.severity));
      table.add({b.id, b.tags.empty() ? "" : tags_text(b.tags), money(b.spend), money(b.amount), percent(b.ratio),
                 b.forecast ? money(*b.forecast) : "", joined(b.crossed), alerts});
    }
    out << "Budgets (forecast: linear run rate to the period's end)\n" << table.str() << "\n";
  }
  for (const AnomalyReport& a : g.anomalies) {
    out << "Anomalies " << a.id << ": " << to_string(a.method) << " >= " << a.threshold.text << " over " << a.lines
        << " lines, baseline (median) " << (a.median ? money(Decimal::from_rational(*a.median, unit)) : "none");
    if (a.mad) out << ", MAD " << format_places(*a.mad, 6);
    out << "\n";
    Table table({"line", "cost", "baseline", "score", "alert"}, {false, true, true, true, false});
    for (const FlaggedLine& f : a.flagged)
      table.add({tags_text(f.tags), money(f.cost), money(f.baseline), format_places(f.score, 2), f.alert ? "new" : "fired before"});
    out << (a.flagged.empty() ? "  nothing flagged\n" : table.str()) << "\n";
  }
  for (const ReconcileReport& r : g.reconcile) {
    out << "Reconcile " << r.id;
    if (r.period) out << " (" << r.period->start().to_string() << " to " << r.period->end().to_string() << ")";
    out << ": estimate " << money(r.estimate) << ", actual " << money(r.actual) << ", difference " << money(r.difference);
    if (r.drift) out << " (drift " << percent(*r.drift) << ")";
    out << "\n";
    for (const CauseAmount& c : r.causes) out << "  cause " << c.name << ": " << money(c.amount) << "\n";
    Table table({"kind", "line", "cost", "true-up"}, {false, false, true, true});
    for (const ReconciledLine& l : r.lines) table.add({std::string(to_string(l.kind)), tags_text(l.tags), money(l.cost), money(l.true_up)});
    out << table.str() << "\n";
  }
  for (const ScorecardReport& s : g.scorecards) {
    out << "Scorecard " << s.id << ": baseline " << money(s.baseline) << "\n";
    Table table({"lever", "saving", "standalone", "incremental", "risk"}, {false, true, true, true, false});
    for (const LeverResult& l : s.levers)
      table.add({l.name, percent(l.saving), money(l.standalone), money(l.incremental), l.risk});
    table.rule();
    table.add({"combined", "", "", money(s.combined), ""});
    table.add({"remaining", "", "", money(s.remaining), ""});
    out << table.str() << "\n";
  }
  static const std::vector<std::pair<std::string, std::string>> units{
      {"inference", "per inference"}, {"thousand_requests", "per 1k requests"}, {"million_tokens", "per 1M tokens"},
      {"run", "per run"}, {"epoch", "per epoch"}, {"gpu_hour", "per GPU-hour"}, {"gpu_hour_used", "per GPU-hour used"}};
  for (const UnitEconomicsReport& u : g.unit_economics) {
    std::vector<std::string> header{"line", "cost"};
    std::vector<std::string> present;
    for (const auto& [name, label] : units)
      if (std::any_of(u.lines.begin(), u.lines.end(), [&](const LineEconomics& l) {
            return std::any_of(l.per.begin(), l.per.end(), [&](const auto& p) { return p.first == name; });
          })) {
        header.push_back(label);
        present.push_back(name);
      }
    std::vector<bool> right(header.size(), true);
    right[0] = false;
    Table table(header, right);
    for (const LineEconomics& l : u.lines) {
      std::vector<std::string> row{tags_text(l.tags), money(l.cost)};
      for (const std::string& name : present) {
        const auto it = std::find_if(l.per.begin(), l.per.end(), [&](const auto& p) { return p.first == name; });
        row.push_back(it == l.per.end() ? "" : group_thousands(format_amount(it->second, u.unit_precision)));
      }
      table.add(std::move(row));
    }
    out << "Unit economics " << u.id << " (step " << u.step << ")\n" << table.str() << "\n";
  }
}

}  // namespace

std::string result_to_table(const Result& result) {
  const Decimal unit = result.precision;
  const std::string currency(result.currency.code());
  std::ostringstream out;
  std::vector<std::string> steps;
  for (const Line& l : result.lines)
    if (std::find(steps.begin(), steps.end(), l.step) == steps.end()) steps.push_back(l.step);
  for (const std::string& step : steps) {
    const auto lines = result.lines_of(step);
    std::set<std::string> key_set;
    bool gpu_hours = false, split = false;
    Decimal total;
    for (const Line* l : lines) {
      for (const auto& [k, v] : l->tags) key_set.insert(k);
      gpu_hours |= l->gpu_hours.has_value();
      split |= l->split_cost.has_value();
      total += l->cost;
    }
    const std::vector<std::string> keys(key_set.begin(), key_set.end());
    std::vector<std::string> header{"kind"};
    header.insert(header.end(), keys.begin(), keys.end());
    header.push_back("cost (" + currency + ")");
    header.push_back("share");
    if (split) {
      header.push_back("split cost");
      header.push_back("unused cost");
    }
    if (gpu_hours) header.push_back("GPU-hours");
    std::vector<bool> right(header.size(), true);
    std::fill(right.begin(), right.begin() + 1 + static_cast<std::ptrdiff_t>(keys.size()), false);
    Table table(header, right);
    for (const Line* l : lines) {
      std::vector<std::string> row{std::string(to_string(l->kind))};
      for (const std::string& k : keys) row.emplace_back(l->tags.get(k).value_or(""));
      row.push_back(group_thousands(format_amount(l->cost, unit)));
      row.push_back(total.is_zero() ? "" : format_places(l->cost.to_rational() / total.to_rational() * 100, 2) + "%");
      if (split) {
        row.push_back(l->split_cost ? group_thousands(format_amount(*l->split_cost, unit)) : "");
        row.push_back(l->unused_cost ? group_thousands(format_amount(*l->unused_cost, unit)) : "");
      }
      if (gpu_hours) row.push_back(l->gpu_hours ? format_places(*l->gpu_hours, 2) : "");
      table.add(std::move(row));
    }
    std::vector<std::string> totals{"total"};
    totals.resize(1 + keys.size());
    totals.push_back(group_thousands(format_amount(total, unit)));
    totals.push_back(total.is_zero() ? "" : "100.00%");
    totals.resize(header.size());
    table.rule();
    table.add(std::move(totals));

    const std::string pool = lines.empty() || !lines.front()->pool ? "" : *lines.front()->pool;
    out << "Step " << step;
    if (!pool.empty()) out << ": pool " << pool;
    out << "\n" << table.str();
    for (const UnitCost& u : result.unit_costs) {
      if (u.step != step) continue;
      out << "  unit cost";
      for (const auto& [k, v] : u.tags) out << " " << k << "=" << v;
      out << ":";
      const char* separator = " ";
      for (const auto& [name, rate] : u.per_million) {
        out << separator << name << " " << rate.to_fixed(u.unit_precision.fractional_digits());
        separator = ", ";
      }
      out << " " << currency << " per million tokens\n";
    }
    for (const Coverage& c : result.coverage)
      if (c.step == step) out << "  coverage: " << format_places(c.ratio * 100, 2) << "% of the pool allocated\n";
    out << "\n";
  }
  if (result.governance) governance_tables(*result.governance, unit, out);
  return out.str();
}

std::string result_to_csv(const Result& result) {
  const Decimal unit = result.precision;
  std::set<std::string> key_set;
  for (const Line& l : result.lines)
    for (const auto& [k, v] : l.tags) key_set.insert(k);
  std::ostringstream out;
  out << "step,pool,kind";
  for (const std::string& k : key_set) out << "," << csv_field(k);
  out << ",cost,weight,share,split_cost,unused_cost,gpu_hours\r\n";
  for (const Line& l : result.lines) {
    out << csv_field(l.step) << "," << csv_field(l.pool.value_or("")) << "," << to_string(l.kind);
    for (const std::string& k : key_set) out << "," << csv_field(std::string(l.tags.get(k).value_or("")));
    out << "," << format_amount(l.cost, unit);
    out << "," << (l.weight ? format_weight(*l.weight) : "");
    out << "," << (l.share ? format_places(*l.share, 6) : "");
    out << "," << (l.split_cost ? format_amount(*l.split_cost, unit) : "");
    out << "," << (l.unused_cost ? format_amount(*l.unused_cost, unit) : "");
    out << "," << (l.gpu_hours ? format_places(*l.gpu_hours, 6) : "") << "\r\n";
  }
  return out.str();
}

APPORTION_END_NAMESPACE
