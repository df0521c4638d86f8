// `--format prometheus`: the result as Prometheus text exposition (version 0.0.4), gauges
// for node_exporter's textfile collector or a Pushgateway, so costs can be charted in
// Grafana (docs/output-formats.md, "prometheus"). No timestamps (neither takes them): a
// series' buckets are labels.

#include <map>
#include <stdexcept>

#include "apportion/governance.hpp"
#include "apportion/render.hpp"
#include "apportion/statements.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

// Labels this format sets itself; a tag of that name is written `tag_<name>`.
bool reserved_label(std::string_view name) {
  for (std::string_view r : {"step", "pool", "currency", "bucket_start", "bucket_end", "statement", "budget", "phase"})
    if (name == r) return true;
  return name.rfind("__", 0) == 0;  // Prometheus keeps these for itself
}

// A tag key as a label name, [a-zA-Z_][a-zA-Z0-9_]*: other characters become `_`
// (`cost-center` is `cost_center`), a leading digit gets a `_` before it.
std::string label_name(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return reserved_label(out) ? "tag_" + out : out;
}

std::string label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// One sample's labels, in the order given, then the tags' in canonical order.
class Labels {
 public:
  Labels& add(std::string_view name, std::string_view value) {
    pairs_.emplace_back(std::string(name), label_value(value));
    return *this;
  }
  Labels& bucket(const std::optional<Interval>& bucket) {
    if (bucket) add("bucket_start", bucket->start().to_string()).add("bucket_end", bucket->end().to_string());
    return *this;
  }
  // Two tag keys that make one label name are an error: the sample would be ambiguous.
  Labels& tags(const Tags& tags, const std::string& of) {
    std::map<std::string, std::string_view> made;
    for (const auto& [key, value] : tags) {
      std::string name = label_name(key);
      if (const auto [at, added] = made.emplace(name, key); !added)
        throw std::invalid_argument("prometheus output: tags \"" + std::string(at->second) + "\" and \"" + key + "\" of " +
                                    of + " both make the label " + name + "; rename one");
      add(name, value);
    }
    return *this;
  }
  std::string text() const {
    std::string out = "{";
    for (std::size_t i = 0; i < pairs_.size(); ++i)
      out += (i ? "," : "") + pairs_[i].first + "=\"" + pairs_[i].second + "\"";
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

class Exposition {
 public:
  // A gauge family, its samples added after; written only if it has some.
  void family(std::string name, std::string help) { families_.push_back({std::move(name), std::move(help), ""}); }
  void sample(const Labels& labels, const std::string& value) {
    Family& f = families_.back();
    f.samples += f.name + labels.text() + " " + value + "\n";
  }
  std::string text() const {
    std::string out;
    for (const Family& f : families_) {
      if (f.samples.empty()) continue;
      out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " gauge\n" + f.samples;
    }
    return out;
  }

 private:
  struct Family {
    std::string name, help, samples;
  };
  std::vector<Family> families_;
};

}  // namespace

std::string result_to_prometheus(const Result& result) {
  const std::string currency(result.currency.code());
  const std::string amount_unit = "in the currency label's units";
  const auto amount = [&](const Decimal& d) { return format_amount(d, result.precision); };
  Exposition out;

  out.family("apportion_pool_cost", "What a pool costs, " + amount_unit + " (under a series, in each bucket).");
  if (result.series.empty()) {
    for (const PoolCost& p : result.pools) out.sample(Labels().add("pool", p.id).add("currency", currency), amount(p.cost));
  } else {
    for (const BucketPools& b : result.series)
      for (const PoolCost& p : b.pools)
        out.sample(Labels().add("pool", p.id).bucket(b.bucket).add("currency", currency), amount(p.cost));
  }

  for (const LineKind kind : {LineKind::allocated, LineKind::overhead, LineKind::idle, LineKind::unallocated}) {
    const std::string k(to_string(kind));
    out.family("apportion_" + k + "_cost", "The cost of a step's " + k + " lines, " + amount_unit + ", one per line.");
    for (const Line& line : result.lines) {
      if (line.kind != kind) continue;
      Labels labels;
      labels.add("step", line.step);
      if (line.pool) labels.add("pool", *line.pool);
      labels.bucket(line.bucket).add("currency", currency).tags(line.tags, "a line of step \"" + line.step + "\"");
      out.sample(labels, amount(line.cost));
    }
  }

  out.family("apportion_coverage_ratio", "The share of a step's pool not on unallocated lines.");
  for (const Coverage& c : result.coverage)
    out.sample(Labels().add("step", c.step).bucket(c.bucket), format_places(c.ratio, 6));

  out.family("apportion_cost_per_million_tokens", "A step's unit cost per million tokens, " + amount_unit + ".");
  for (const UnitCost& u : result.unit_costs)
    for (const auto& [phase, rate] : u.per_million) {
      Labels labels;
      labels.add("step", u.step).add("phase", phase).bucket(u.bucket).add("currency", currency);
      labels.tags(u.tags, "a unit cost of step \"" + u.step + "\"");
      out.sample(labels, format_amount(rate, u.unit_precision));
    }

  out.family("apportion_statement_cost", "What a group pays in all, by statement (under a series, in each bucket).");
  for (const Statement& s : result.statements)
    for (const StatementRow& row : s.rows) {
      const std::string of = "a row of statement \"" + s.id + "\"";
      if (result.series.empty()) {
        out.sample(Labels().add("statement", s.id).add("currency", currency).tags(row.tags, of), amount(row.cost));
        continue;
      }
      for (std::size_t b = 0; b < row.buckets.size() && b < result.series.size(); ++b)
        out.sample(Labels().add("statement", s.id).bucket(result.series[b].bucket).add("currency", currency).tags(row.tags, of),
                   amount(row.buckets[b]));
    }

  if (result.governance) {
    const auto& budgets = result.governance->budgets;
    const auto budget_labels = [&](const BudgetStatus& b, bool money) {
      Labels labels;
      labels.add("budget", b.id);
      if (money) labels.add("currency", currency);
      return labels.tags(b.tags, "budget \"" + b.id + "\"");
    };
    out.family("apportion_budget_spend", "A budget's spend so far, " + amount_unit + ".");
    for (const BudgetStatus& b : budgets) out.sample(budget_labels(b, true), amount(b.spend));
    out.family("apportion_budget_amount", "A budget's amount for its period, " + amount_unit + ".");
    for (const BudgetStatus& b : budgets) out.sample(budget_labels(b, true), amount(b.amount));
    out.family("apportion_budget_ratio", "A budget's spend over its amount.");
    for (const BudgetStatus& b : budgets) out.sample(budget_labels(b, false), format_places(b.ratio, 6));
    out.family("apportion_budget_forecast", "A budget's spend at its period's end at the run rate so far, " + amount_unit + ".");
    for (const BudgetStatus& b : budgets)
      if (b.forecast) out.sample(budget_labels(b, true), amount(*b.forecast));
  }
  return out.text();
}

APPORTION_END_NAMESPACE
