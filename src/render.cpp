#include "apportion/render.hpp"

#include "apportion/governance.hpp"
#include "render_util.hpp"
#include "text.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <type_traits>

APPORTION_BEGIN_NAMESPACE

namespace {

// Display width of UTF-8 text: code points, not bytes.
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// `rows` in aligned columns for a terminal, a rule under the header and above `rule_at`
// (when there is one); columns marked in `right` are right-aligned.
void put_aligned(text::Buffer& out, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right, std::size_t rule_at) {
  std::vector<std::size_t> w(header.size(), 0);
  for (std::size_t c = 0; c < header.size(); ++c) w[c] = width(header[c]);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < w.size(); ++c) w[c] = std::max(w[c], width(row[c]));
  std::size_t total = 0;
  for (std::size_t c : w) total += c + 2;
  const auto rule = [&] { text::put_format(out, "  {:-<{}}\n", "", total > 2 ? total - 2 : 0); };
  const auto put_row = [&](const std::vector<std::string>& row) {
    out.push_back(' ');
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::size_t pad = w[c] - width(row[c]);
      out.push_back(' ');
      if (right[c]) text::put_repeated(out, ' ', pad);
      text::put(out, row[c]);
      if (!right[c]) text::put_repeated(out, ' ', pad);
      out.push_back(' ');
    }
    while (out.size() > 0 && out.data()[out.size() - 1] == ' ') out.resize(out.size() - 1);
    out.push_back('\n');
  };
  put_row(header);
  rule();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r == rule_at) rule();
    put_row(rows[r]);
  }
}

}  // namespace

std::string format_amount(const Decimal& value, const Decimal& unit) {
  text::Buffer out;
  text::put_amount(out, value, unit, unit.fractional_digits());
  return out;
}

std::string format_amount(const Rational& value, const Decimal& unit) {
  return format_amount(Decimal::from_rational(value, unit), unit);
}

std::string format_places(const Rational& value, int places) {
  text::Buffer out;
  text::put_rounded(out, value, places, false);
  return out;
}

std::string format_weight(const Rational& value) {
  text::Buffer out;
  text::put_rounded(out, value, 6, true);
  return out;
}

std::string format_percent(const Rational& ratio) { return format_places(ratio * 100, 2) + "%"; }

std::string format_percent_of(const Decimal& part, const Decimal& whole) {
  std::string out;
  text::put_percent(out, part, whole);
  return out;
}

std::string format_threshold(const Decimal& fraction) { return format_weight(fraction.to_rational() * 100) + "%"; }

std::string tags_text(const Tags& tags, std::string_view separator) {
  std::string out;
  for (const auto& [k, v] : tags) {
    if (!out.empty()) out += separator;
    out += k + "=" + v;
  }
  return out;
}

std::string group_thousands(const std::string& text) {
  const std::size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  std::size_t end = text.find('.');
  if (end == std::string::npos) end = text.size();
  std::string out = text;
  for (std::size_t pos = end; pos > start + 3; pos -= 3) out.insert(pos - 3, 1, ',');
  return out;
}

namespace {

// A cell of a markdown table, or free text: `\`, `|` and `<` backslash-escaped (a literal
// pipe, no HTML), line breaks as <br>.
void put_markdown(text::Buffer& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' || c == '|' || c == '<') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      text::put(out, "<br>");
    } else {
      out.push_back(c);
    }
  }
}

// A table to lay out: rows from `totals_from` on are totals (below a rule, or in bold).
struct TableData {
  TableData(std::vector<std::string> h = {}, std::vector<bool> r = {}) : header(std::move(h)), right(std::move(r)) {}
  std::vector<std::string> header;
  std::vector<bool> right;
  std::vector<std::vector<std::string>> rows;
  std::size_t totals_from = static_cast<std::size_t>(-1);
};

// How one rendering lays out the blocks the table and markdown formats share.
class Layout {
 public:
  virtual ~Layout() = default;
  virtual void heading(const std::string& title) = 0;
  virtual void paragraph(const std::string& text) = 0;
  virtual void bullets(const std::vector<std::string>& items) = 0;
  virtual void table(const TableData& t) = 0;
  virtual void end_section() = 0;
  std::string str() const { return out_; }

 protected:
  text::Buffer out_;
};

// `apportion run --format table`: aligned columns for a terminal.
class AlignedLayout final : public Layout {
 public:
  void heading(const std::string& title) override { text::put_format(out_, "{}\n", title); }
  void paragraph(const std::string& text) override { text::put_format(out_, "  {}\n", text); }
  void bullets(const std::vector<std::string>& items) override {
    for (const std::string& item : items) text::put_format(out_, "  {}\n", item);
  }
  void table(const TableData& t) override { put_aligned(out_, t.header, t.rows, t.right, t.totals_from); }
  void end_section() override { out_.push_back('\n'); }
};

// `apportion run --format markdown`: GitHub-flavoured markdown, every block followed by a
// blank line.
class MarkdownLayout final : public Layout {
 public:
  void heading(const std::string& title) override {
    text::put(out_, "## ");
    put_markdown(out_, title);
    text::put(out_, "\n\n");
  }
  void paragraph(const std::string& text) override {
    put_markdown(out_, text);
    text::put(out_, "\n\n");
  }
  void bullets(const std::vector<std::string>& items) override {
    if (items.empty()) return;
    for (const std::string& item : items) {
      text::put(out_, "- ");
      put_markdown(out_, item);
      out_.push_back('\n');
    }
    out_.push_back('\n');
  }
  void table(const TableData& t) override {
    out_.push_back('|');
    for (const std::string& h : t.header) {
      out_.push_back(' ');
      put_markdown(out_, h);
      text::put(out_, " |");
    }
    text::put(out_, "\n|");
    for (bool r : t.right) text::put(out_, r ? "---:|" : "---|");
    out_.push_back('\n');
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      out_.push_back('|');
      for (std::size_t c = 0; c < t.header.size(); ++c) {
        if (c < t.rows[r].size() && !t.rows[r][c].empty()) {
          const bool bold = r >= t.totals_from;
          text::put(out_, bold ? " **" : " ");
          put_markdown(out_, t.rows[r][c]);
          if (bold) text::put(out_, "**");
        }
        text::put(out_, " |");
      }
      out_.push_back('\n');
    }
    out_.push_back('\n');
  }
  void end_section() override {}
};

// A line's tags for people: "team=nlp env=prod", or "(all)".
std::string line_label(const Tags& tags) { return tags.empty() ? "(all)" : tags_text(tags, " "); }


std::string joined(const std::vector<WrittenDecimal>& values) {
  std::string out;
  for (const WrittenDecimal& v : values) out += (out.empty() ? "" : ", ") + v.text;
  return out;
}

// A table per step: one column per tag key, cost, share of the step's total, and a totals
// row; then the step's unit costs and coverage.
void step_sections(const Result& result, Layout& out) {
  const Decimal unit = result.precision;
  const int places = unit.fractional_digits();
  const auto money = [&](const Decimal& value) {
    std::string cell;
    text::put_amount(cell, value, unit, places);
    return group_thousands(cell);
  };
  const std::string currency(result.currency.code());
  for (const std::string& step : result.steps) {
    const auto lines = result.lines_of(step);
    if (lines.empty()) continue;
    std::set<std::string> key_set;
    std::vector<std::string> pools;  // a step over a fleet splits several
    bool gpu_hours = false, split = false;
    Decimal total;
    for (const Line* l : lines) {
      if (l->pool && (pools.empty() || pools.back() != *l->pool)) pools.push_back(*l->pool);
      for (const auto& [k, v] : l->tags) key_set.insert(k);
      gpu_hours |= l->gpu_hours.has_value();
      split |= l->split_cost.has_value();
      total += l->cost;
    }
    const std::vector<std::string> keys(key_set.begin(), key_set.end());
    const bool fleet = pools.size() > 1;
    const bool buckets = lines.front()->bucket.has_value();  // a series: every line has one
    TableData t;
    t.header = {"kind"};
    if (fleet) t.header.insert(t.header.begin(), "pool");
    if (buckets) t.header.insert(t.header.begin(), "bucket");
    const std::ptrdiff_t lead = (fleet ? 2 : 1) + (buckets ? 1 : 0);  // the columns before the keys
    t.header.insert(t.header.end(), keys.begin(), keys.end());
    t.header.push_back("cost (" + currency + ")");
    t.header.push_back("cost share");  // of the step's cost; JSON and CSV `share` is the weight share
    if (split) {
      t.header.push_back("split cost");
      t.header.push_back("unused cost");
    }
    if (gpu_hours) t.header.push_back("GPU-hours");
    t.right.assign(t.header.size(), true);
    std::fill(t.right.begin(), t.right.begin() + lead + static_cast<std::ptrdiff_t>(keys.size()), false);
    for (const Line* l : lines) {
      std::vector<std::string> row{std::string(to_string(l->kind))};
      if (fleet) row.insert(row.begin(), l->pool.value_or(""));
      if (buckets) row.insert(row.begin(), l->bucket ? l->bucket->start().to_string() : "");
      for (const std::string& k : keys) row.emplace_back(l->tags.get(k).value_or(""));
      row.push_back(money(l->cost));
      row.push_back(total.is_zero() ? "" : format_percent_of(l->cost, total));
      if (split) {
        row.push_back(l->split_cost ? money(Decimal::from_rational(*l->split_cost, unit)) : "");
        row.push_back(l->unused_cost ? money(Decimal::from_rational(*l->unused_cost, unit)) : "");
      }
      if (gpu_hours) row.push_back(l->gpu_hours ? format_places(*l->gpu_hours, 2) : "");
      t.rows.push_back(std::move(row));
    }
    std::vector<std::string> totals{"total"};
    totals.resize(static_cast<std::size_t>(lead) + keys.size());
    totals.push_back(money(total));
    totals.push_back(total.is_zero() ? "" : "100.00%");
    totals.resize(t.header.size());
    t.totals_from = t.rows.size();
    t.rows.push_back(std::move(totals));

    out.heading("Step " + step + (fleet ? ": " + std::to_string(pools.size()) + " pools"
                                        : lines.front()->pool ? ": pool " + *lines.front()->pool : ""));
    out.table(t);
    std::vector<std::string> notes;
    for (const UnitCost& u : result.unit_costs) {
      if (u.step != step) continue;
      std::string note = "unit cost";
      if (u.bucket) note += " in the bucket starting " + u.bucket->start().to_string();
      for (const auto& [k, v] : u.tags) note += " " + k + "=" + v;
      note += ":";
      const char* separator = " ";
      for (const auto& [name, rate] : u.per_million) {
        note += separator + name + " " + rate.to_fixed(u.unit_precision.fractional_digits());
        separator = ", ";
      }
      notes.push_back(note + " " + currency + " per million tokens");
    }
    for (const Coverage& c : result.coverage)
      if (c.step == step)
        notes.push_back("coverage" + (c.bucket ? " in the bucket starting " + c.bucket->start().to_string() : std::string()) +
                        ": " + format_percent(c.ratio) + " of the pool allocated");
    out.bullets(notes);
    out.end_section();
  }
}

// A table per statement: its group_by columns, cost, share of the total, what each row is
// made of (by kind, with the overhead and idle its lines took in), and the total.
void statement_sections(const Result& result, Layout& out) {
  const Decimal unit = result.precision;
  const auto money = [&](const Decimal& d) { return group_thousands(format_amount(d, unit)); };
  for (const Statement& st : result.statements) {
    TableData t;
    t.header = st.group_by;
    t.header.push_back("cost (" + std::string(result.currency.code()) + ")");
    t.header.push_back("share");
    t.header.push_back("made of");
    t.right.assign(t.header.size(), false);
    t.right[st.group_by.size()] = t.right[st.group_by.size() + 1] = true;
    for (const StatementRow& row : st.rows) {
      std::vector<std::string> cells;
      for (const std::string& k : st.group_by) cells.emplace_back(*row.tags.get(k));
      cells.push_back(money(row.cost));
      cells.push_back(st.total.is_zero() ? "" : format_percent_of(row.cost, st.total));
      std::string made_of;
      for (std::size_t k = 0; k < row.made_of.size(); ++k)
        if (!row.made_of[k].is_zero())
          made_of += (made_of.empty() ? "" : ", ") + std::string(to_string(static_cast<LineKind>(k))) + " " + money(row.made_of[k]);
      cells.push_back(made_of + " (" + std::to_string(row.parts.size()) + (row.parts.size() == 1 ? " part)" : " parts)"));
      t.rows.push_back(std::move(cells));
    }
    std::vector<std::string> totals{"total"};
    totals.resize(st.group_by.size());
    totals.push_back(money(st.total));
    totals.push_back(st.total.is_zero() ? "" : "100.00%");
    totals.emplace_back();
    t.totals_from = t.rows.size();
    t.rows.push_back(std::move(totals));
    out.heading("Statement " + st.id + ": what each " + render_detail::key_list(st.group_by) + " pays in all");
    out.table(t);
    out.end_section();
  }
}

// The governance sections after the steps, one table each.
void governance_sections(const GovernanceReport& g, const Decimal& unit, Layout& out) {
  const auto money = [&](const Decimal& d) { return group_thousands(format_amount(d, unit)); };
  if (!g.budgets.empty()) {
    TableData t{{"budget", "tags", "spend", "amount", "used", "forecast", "crossed", "new alerts"},
                {false, false, true, true, true, true, false, false}};
    for (const BudgetStatus& b : g.budgets) {
      std::string alerts;
      for (const BudgetAlert& a : b.alerts)
        alerts += (alerts.empty() ? "" : ", ") + a.threshold.text + " " + std::string(to_string(a.severity));
      t.rows.push_back({b.id, b.tags.empty() ? "" : line_label(b.tags), money(b.spend), money(b.amount),
                        format_percent(b.ratio), b.forecast ? money(*b.forecast) : "", joined(b.crossed), alerts});
    }
    out.heading("Budgets");
    out.paragraph("Forecast: linear run rate to the period's end.");
    out.table(t);
    out.end_section();
  }
  for (const AnomalyReport& a : g.anomalies) {
    std::string summary = std::string(to_string(a.method)) + " >= " + a.threshold.text + " over " +
                          std::to_string(a.lines) + " lines, baseline (median) " +
                          (a.method == AnomalyMethod::trend ? "of each line's earlier buckets"
                           : a.median                       ? money(Decimal::from_rational(*a.median, unit))
                                                            : "none");
    if (a.mad) summary += ", MAD " + format_places(*a.mad, 6);
    out.heading("Anomalies " + a.id);
    out.paragraph(summary);
    if (a.flagged.empty()) {
      out.paragraph("Nothing flagged.");
    } else {
      TableData t{{"line", "cost", "baseline", "score", "alert"}, {false, true, true, true, false}};
      for (const FlaggedLine& f : a.flagged)
        t.rows.push_back({(f.bucket ? f.bucket->start().to_string() + " " : "") + line_label(f.tags), money(f.cost),
                          money(f.baseline), format_places(f.score, 2),
                          f.alert ? "new" : "fired before"});
      out.table(t);
    }
    out.end_section();
  }
  for (const ReconcileReport& r : g.reconcile) {
    std::string title = "Reconcile " + r.id;
    if (r.period) title += " (" + r.period->start().to_string() + " to " + r.period->end().to_string() + ")";
    std::string summary = "Estimate " + money(r.estimate) + ", actual " + money(r.actual) + ", difference " +
                          money(r.difference);
    if (r.drift) summary += " (drift " + format_percent(*r.drift) + ")";
    out.heading(title);
    out.paragraph(summary + ".");
    std::vector<std::string> causes;
    for (const CauseAmount& c : r.causes) causes.push_back("cause " + c.name + ": " + money(c.amount));
    out.bullets(causes);
    TableData t{{"kind", "line", "cost", "true-up"}, {false, false, true, true}};
    for (const ReconciledLine& l : r.lines)
      t.rows.push_back({std::string(to_string(l.kind)), line_label(l.tags), money(l.cost), money(l.true_up)});
    out.table(t);
    out.end_section();
  }
  for (const ScorecardReport& s : g.scorecards) {
    TableData t{{"lever", "saving", "standalone", "incremental", "risk"}, {false, true, true, true, false}};
    for (const LeverResult& l : s.levers)
      t.rows.push_back({l.name, format_percent(l.saving), money(l.standalone), money(l.incremental), l.risk});
    t.totals_from = t.rows.size();
    t.rows.push_back({"combined", "", "", money(s.combined), ""});
    t.rows.push_back({"remaining", "", "", money(s.remaining), ""});
    out.heading("Scorecard " + s.id);
    out.paragraph("Baseline " + money(s.baseline) + ".");
    out.table(t);
    out.end_section();
  }
  static const std::vector<std::pair<std::string, std::string>> units{
      {"inference", "per inference"}, {"thousand_requests", "per 1k requests"}, {"million_tokens", "per 1M tokens"},
      {"run", "per run"},             {"epoch", "per epoch"},                   {"gpu_hour", "per GPU-hour"},
      {"gpu_hour_used", "per GPU-hour used"}};
  for (const UnitEconomicsReport& u : g.unit_economics) {
    TableData t{{"line", "cost"}, {}};
    std::vector<std::string> present;
    for (const auto& unit : units)  // not a structured binding: clang < 16 cannot capture one
      if (std::any_of(u.lines.begin(), u.lines.end(), [&](const LineEconomics& l) {
            return std::any_of(l.per.begin(), l.per.end(), [&](const auto& p) { return p.first == unit.first; });
          })) {
        t.header.push_back(unit.second);
        present.push_back(unit.first);
      }
    t.right.assign(t.header.size(), true);
    t.right[0] = false;
    for (const LineEconomics& l : u.lines) {
      std::vector<std::string> row{(l.bucket ? l.bucket->start().to_string() + " " : "") + line_label(l.tags), money(l.cost)};
      for (const std::string& name : present) {
        const auto it = std::find_if(l.per.begin(), l.per.end(), [&](const auto& p) { return p.first == name; });
        row.push_back(it == l.per.end() ? "" : group_thousands(format_amount(it->second, u.unit_precision)));
      }
      t.rows.push_back(std::move(row));
    }
    out.heading("Unit economics " + u.id + " (step " + u.step + ")");
    out.table(t);
    out.end_section();
  }
}

// What ran but looks wrong: the inputs' warnings, then the run's.
void warning_section(const Result& result, Layout& out) {
  std::vector<std::string> items;
  for (const InputSummary& in : result.inputs) items.insert(items.end(), in.warnings.begin(), in.warnings.end());
  items.insert(items.end(), result.warnings.begin(), result.warnings.end());
  if (items.empty()) return;
  out.heading("Warnings");
  out.bullets(items);
  out.end_section();
}

std::string render_with(const Result& result, Layout& layout) {
  step_sections(result, layout);
  statement_sections(result, layout);
  if (result.governance) governance_sections(*result.governance, result.precision, layout);
  warning_section(result, layout);
  return layout.str();
}

}  // namespace

std::string result_to_table(const Result& result) {
  AlignedLayout layout;
  return render_with(result, layout);
}

std::string result_to_markdown(const Result& result) {
  MarkdownLayout layout;
  std::string s = render_with(result, layout);
  while (s.size() >= 2 && s[s.size() - 1] == '\n' && s[s.size() - 2] == '\n') s.pop_back();
  return s;
}

std::string result_to_csv(const Result& result) {
  const Decimal unit = result.precision;
  std::set<std::string> key_set;
  for (const Line& l : result.lines)
    for (const auto& [k, v] : l.tags) key_set.insert(k);
  for (const Statement& st : result.statements) key_set.insert(st.group_by.begin(), st.group_by.end());
  // With statements, a last column names the statement of each statement row (kind
  // "statement"): a result without them keeps its columns.
  const bool statements = !result.statements.empty();
  // Under a series, each line's bucket follows its pool, and a statement row is written
  // once per bucket.
  const bool series = !result.series.empty();
  const int places = unit.fractional_digits();
  text::Buffer out;
  const auto field = [&](std::string_view value) {
    out.push_back(',');
    text::put_csv_field(out, value);
  };
  const auto amount = [&](const Decimal& value) {
    out.push_back(',');
    text::put_amount(out, value, unit, places);
  };
  const auto rational_amount = [&](const std::optional<Rational>& value) {
    if (value) amount(Decimal::from_rational(*value, unit));
    else out.push_back(',');
  };
  const auto rounded = [&](const std::optional<Rational>& value, bool trim) {
    out.push_back(',');
    if (value) text::put_rounded(out, *value, 6, trim);
  };
  const auto bucket = [&](const Interval& b) {
    out.push_back(',');
    text::put_instant(out, b.start());
    out.push_back(',');
    text::put_instant(out, b.end());
  };
  text::put(out, series ? "step,pool,bucket_start,bucket_end,kind" : "step,pool,kind");
  for (const std::string& k : key_set) field(k);
  text::put(out, ",cost,weight,share,split_cost,unused_cost,gpu_hours");
  text::put(out, statements ? ",statement\r\n" : "\r\n");
  for (const Line& l : result.lines) {
    text::put_csv_field(out, l.step);
    field(l.pool ? std::string_view(*l.pool) : "");
    if (series) {
      if (l.bucket) bucket(*l.bucket);
      else text::put(out, ",,");
    }
    field(to_string(l.kind));
    for (const std::string& k : key_set) field(l.tags.get(k).value_or(""));
    amount(l.cost);
    rounded(l.weight, true);
    rounded(l.share, false);
    rational_amount(l.split_cost);
    rational_amount(l.unused_cost);
    rounded(l.gpu_hours, false);
    text::put(out, statements ? ",\r\n" : "\r\n");
  }
  for (const Statement& st : result.statements)
    for (const StatementRow& row : st.rows) {
      const auto write = [&](const Decimal& cost, const Interval* in_bucket) {
        out.push_back(',');
        if (in_bucket) bucket(*in_bucket);
        text::put(out, ",statement");
        for (const std::string& k : key_set) field(row.tags.get(k).value_or(""));
        amount(cost);
        text::put(out, ",,,,,");
        field(st.id);
        text::put(out, "\r\n");
      };
      if (!series) write(row.cost, nullptr);
      for (std::size_t b = 0; series && b < result.series.size(); ++b)
        write(b < row.buckets.size() ? row.buckets[b] : Decimal{}, &result.series[b].bucket);
    }
  return out;
}

APPORTION_END_NAMESPACE
