// result_to_markdown: a result as GitHub-flavoured markdown, for pull requests, issues and
// chat: a table per step, then the governance sections (docs/output-formats.md).

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "apportion/governance.hpp"
#include "apportion/render.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

// A cell's text: `\`, `|` and `<` backslash-escaped (a literal pipe, no HTML), line breaks as <br>.
std::string cell(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' || c == '|' || c == '<') {
      out += '\\';
      out += c;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      out += "<br>";
    } else {
      out += c;
    }
  }
  return out;
}

// Free text outside tables (headings, summary lines): the same escapes.
std::string text(std::string_view s) { return cell(s); }

class MdTable {
 public:
  MdTable(std::vector<std::string> header, std::vector<bool> right)
      : header_(std::move(header)), right_(std::move(right)) {}
  // Cells are escaped here.
  void add(const std::vector<std::string>& row) { rows_.push_back(row); }
  std::string str() const {
    // Appended piece by piece: `" " + std::string&&` trips GCC 12's -Wrestrict (a false positive).
    std::string out = "|";
    for (const std::string& h : header_) {
      out += ' ';
      out += cell(h);
      out += " |";
    }
    out += "\n|";
    for (bool r : right_) out += r ? "---:|" : "---|";
    out += "\n";
    for (const auto& row : rows_) {
      out += "|";
      for (std::size_t c = 0; c < header_.size(); ++c) {
        const std::string v = c < row.size() ? cell(row[c]) : "";
        if (!v.empty()) {
          out += ' ';
          out += v;
        }
        out += " |";
      }
      out += "\n";
    }
    return out;
  }

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

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

void governance_sections(const GovernanceReport& g, const Decimal& unit, std::ostream& out) {
  const auto money = [&](const Decimal& d) { return group_thousands(format_amount(d, unit)); };
  if (!g.budgets.empty()) {
    MdTable table({"budget", "tags", "spend", "amount", "used", "forecast", "crossed", "new alerts"},
                  {false, false, true, true, true, true, false, false});
    for (const BudgetStatus& b : g.budgets) {
      std::string alerts;
      for (const BudgetAlert& a : b.alerts)
        alerts += (alerts.empty() ? "" : ", ") + a.threshold.text + " " + std::string(to_string(a.severity));
      table.add({b.id, b.tags.empty() ? "" : tags_text(b.tags), money(b.spend), money(b.amount), percent(b.ratio),
                 b.forecast ? money(*b.forecast) : "", joined(b.crossed), alerts});
    }
    out << "## Budgets\n\nForecast: linear run rate to the period's end.\n\n" << table.str() << "\n";
  }
  for (const AnomalyReport& a : g.anomalies) {
    out << "## Anomalies " << text(a.id) << "\n\n"
        << to_string(a.method) << " >= " << text(a.threshold.text) << " over " << a.lines
        << " lines, baseline (median) " << (a.median ? money(Decimal::from_rational(*a.median, unit)) : "none");
    if (a.mad) out << ", MAD " << format_places(*a.mad, 6);
    out << "\n\n";
    if (a.flagged.empty()) {
      out << "Nothing flagged.\n\n";
      continue;
    }
    MdTable table({"line", "cost", "baseline", "score", "alert"}, {false, true, true, true, false});
    for (const FlaggedLine& f : a.flagged)
      table.add({tags_text(f.tags), money(f.cost), money(f.baseline), format_places(f.score, 2),
                 f.alert ? "new" : "fired before"});
    out << table.str() << "\n";
  }
  for (const ReconcileReport& r : g.reconcile) {
    out << "## Reconcile " << text(r.id);
    if (r.period) out << " (" << r.period->start().to_string() << " to " << r.period->end().to_string() << ")";
    out << "\n\nEstimate " << money(r.estimate) << ", actual " << money(r.actual) << ", difference "
        << money(r.difference);
    if (r.drift) out << " (drift " << percent(*r.drift) << ")";
    out << ".\n\n";
    for (const CauseAmount& c : r.causes) out << "- cause " << text(c.name) << ": " << money(c.amount) << "\n";
    if (!r.causes.empty()) out << "\n";
    MdTable table({"kind", "line", "cost", "true-up"}, {false, false, true, true});
    for (const ReconciledLine& l : r.lines)
      table.add({std::string(to_string(l.kind)), tags_text(l.tags), money(l.cost), money(l.true_up)});
    out << table.str() << "\n";
  }
  for (const ScorecardReport& s : g.scorecards) {
    out << "## Scorecard " << text(s.id) << "\n\nBaseline " << money(s.baseline) << ".\n\n";
    MdTable table({"lever", "saving", "standalone", "incremental", "risk"}, {false, true, true, true, false});
    for (const LeverResult& l : s.levers)
      table.add({l.name, percent(l.saving), money(l.standalone), money(l.incremental), l.risk});
    table.add({"**combined**", "", "", money(s.combined), ""});
    table.add({"**remaining**", "", "", money(s.remaining), ""});
    out << table.str() << "\n";
  }
  static const std::vector<std::pair<std::string, std::string>> units{
      {"inference", "per inference"}, {"thousand_requests", "per 1k requests"}, {"million_tokens", "per 1M tokens"},
      {"run", "per run"},             {"epoch", "per epoch"},                   {"gpu_hour", "per GPU-hour"},
      {"gpu_hour_used", "per GPU-hour used"}};
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
    MdTable table(header, right);
    for (const LineEconomics& l : u.lines) {
      std::vector<std::string> row{tags_text(l.tags), money(l.cost)};
      for (const std::string& name : present) {
        const auto it = std::find_if(l.per.begin(), l.per.end(), [&](const auto& p) { return p.first == name; });
        row.push_back(it == l.per.end() ? "" : group_thousands(format_amount(it->second, u.unit_precision)));
      }
      table.add(row);
    }
    out << "## Unit economics " << text(u.id) << " (step " << text(u.step) << ")\n\n" << table.str() << "\n";
  }
}

}  // namespace

std::string result_to_markdown(const Result& result) {
  const Decimal unit = result.precision;
  const std::string currency(result.currency.code());
  std::ostringstream out;
  std::vector<std::string> steps = result.steps;
  if (steps.empty())
    for (const Line& l : result.lines)
      if (std::find(steps.begin(), steps.end(), l.step) == steps.end()) steps.push_back(l.step);
  for (const std::string& step : steps) {
    const auto lines = result.lines_of(step);
    if (lines.empty()) continue;
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
    MdTable table(header, right);
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
      table.add(row);
    }
    std::vector<std::string> totals{"**total**"};
    totals.resize(1 + keys.size());
    totals.push_back("**" + group_thousands(format_amount(total, unit)) + "**");
    totals.push_back(total.is_zero() ? "" : "**100.00%**");
    totals.resize(header.size());
    table.add(totals);

    out << "## Step " << text(step);
    if (lines.front()->pool) out << ": pool " << text(*lines.front()->pool);
    out << "\n\n" << table.str();
    bool notes = false;
    for (const UnitCost& u : result.unit_costs) {
      if (u.step != step) continue;
      if (!notes) out << "\n";
      notes = true;
      out << "- unit cost";
      for (const auto& [k, v] : u.tags) out << " " << text(k) << "=" << text(v);
      out << ":";
      const char* separator = " ";
      for (const auto& [name, rate] : u.per_million) {
        out << separator << name << " " << rate.to_fixed(u.unit_precision.fractional_digits());
        separator = ", ";
      }
      out << " " << currency << " per million tokens\n";
    }
    for (const Coverage& c : result.coverage)
      if (c.step == step) {
        if (!notes) out << "\n";
        notes = true;
        out << "- coverage: " << format_places(c.ratio * 100, 2) << "% of the pool allocated\n";
      }
    out << "\n";
  }
  if (result.governance) governance_sections(*result.governance, unit, out);
  std::string s = out.str();
  while (s.size() >= 2 && s[s.size() - 1] == '\n' && s[s.size() - 2] == '\n') s.pop_back();
  return s;
}

APPORTION_END_NAMESPACE
