// `--format prometheus`: the result as Prometheus text exposition (version 0.0.4), gauges
// for node_exporter's textfile collector or a Pushgateway, so costs can be charted in
// Grafana (docs/output-formats.md, "prometheus"). No timestamps (neither takes them): a
// series' buckets are labels.

#include <map>
#include <stdexcept>

#include "apportion/governance.hpp"
#include "apportion/render.hpp"
#include "apportion/statements.hpp"
#include "text.hpp"

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

void put_label_value(text::Buffer& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') text::put(out, "\\\\");
    else if (c == '"') text::put(out, "\\\"");
    else if (c == '\n') text::put(out, "\\n");
    else out.push_back(c);
  }
}

// One sample's labels, in the order given, then the tags' in canonical order. Names and
// values are views: what they view outlives the sample.
class Labels {
 public:
  // Tag keys' label names, worked out once per key for the whole exposition.
  using Names = std::map<std::string, std::string, std::less<>>;

  Labels& add(std::string_view name, std::string_view value) {
    labels_.push_back({name, value, std::nullopt});
    return *this;
  }
  Labels& bucket(const std::optional<Interval>& bucket) {
    if (bucket) {
      labels_.push_back({"bucket_start", {}, bucket->start()});
      labels_.push_back({"bucket_end", {}, bucket->end()});
    }
    return *this;
  }
  // Two tag keys that make one label name are an error: the sample would be ambiguous.
  // `of` names what the tags are of, for that message.
  template <class Of>
  Labels& tags(const Tags& tags, Names& names, Of&& of) {
    const std::size_t first = labels_.size();
    for (const auto& [key, value] : tags) {
      auto at = names.find(key);
      if (at == names.end()) at = names.emplace(key, label_name(key)).first;
      const std::string_view name = at->second;
      for (std::size_t i = first; i < labels_.size(); ++i)
        if (labels_[i].name == name)
          throw std::invalid_argument("prometheus output: tags \"" + std::string(labels_[i].key) + "\" and \"" + key +
                                      "\" of " + of() + " both make the label " + std::string(name) + "; rename one");
      labels_.push_back({name, value, std::nullopt, key});
    }
    return *this;
  }
  void put(text::Buffer& out) const {
    out.push_back('{');
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (i) out.push_back(',');
      text::put(out, labels_[i].name);
      text::put(out, "=\"");
      if (labels_[i].instant) text::put_instant(out, *labels_[i].instant);
      else put_label_value(out, labels_[i].value);
      out.push_back('"');
    }
    out.push_back('}');
  }

 private:
  struct Label {
    std::string_view name, value;
    std::optional<Instant> instant;  // a bucket's bounds, written as they are needed
    std::string_view key = {};       // the tag key it was made from
  };
  std::vector<Label> labels_;
};

// The exposition, written as it is made: a family's HELP and TYPE go out before its first
// sample, and a family with none is left out.
class Exposition {
 public:
  explicit Exposition(const Decimal& unit) : unit_(unit), places_(unit.fractional_digits()) {}
  void family(std::string name, std::string help) {
    name_ = std::move(name);
    help_ = std::move(help);
    started_ = false;
  }
  void amount(const Labels& labels, const Decimal& value) {
    start(labels);
    text::put_amount(out_, value, unit_, places_);
    out_.push_back('\n');
  }
  void sample(const Labels& labels, std::string_view value) {
    start(labels);
    text::put(out_, value);
    out_.push_back('\n');
  }
  Labels::Names& names() { return names_; }
  std::string text() && { return std::move(out_); }

 private:
  void start(const Labels& labels) {
    if (!started_) text::put_format(out_, "# HELP {0} {1}\n# TYPE {0} gauge\n", name_, help_);
    started_ = true;
    text::put(out_, name_);
    labels.put(out_);
    out_.push_back(' ');
  }
  Decimal unit_;
  int places_;
  std::string name_, help_;
  bool started_ = false;
  text::Buffer out_;
  Labels::Names names_;
};

}  // namespace

std::string result_to_prometheus(const Result& result) {
  const std::string currency(result.currency.code());
  const std::string amount_unit = "in the currency label's units";
  Exposition out(result.precision);

  out.family("apportion_pool_cost", "What a pool costs, " + amount_unit + " (under a series, in each bucket).");
  if (result.series.empty()) {
    for (const PoolCost& p : result.pools) out.amount(Labels().add("pool", p.id).add("currency", currency), p.cost);
  } else {
    for (const BucketPools& b : result.series)
      for (const PoolCost& p : b.pools)
        out.amount(Labels().add("pool", p.id).bucket(b.bucket).add("currency", currency), p.cost);
  }

  for (const LineKind kind : {LineKind::allocated, LineKind::overhead, LineKind::idle, LineKind::unallocated}) {
    const std::string k(to_string(kind));
    out.family("apportion_" + k + "_cost", "The cost of a step's " + k + " lines, " + amount_unit + ", one per line.");
    for (const Line& line : result.lines) {
      if (line.kind != kind) continue;
      Labels labels;
      labels.add("step", line.step);
      if (line.pool) labels.add("pool", *line.pool);
      labels.bucket(line.bucket).add("currency", currency).tags(line.tags, out.names(), [&] {
        return "a line of step \"" + line.step + "\"";
      });
      out.amount(labels, line.cost);
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
      labels.tags(u.tags, out.names(), [&] { return "a unit cost of step \"" + u.step + "\""; });
      out.sample(labels, format_amount(rate, u.unit_precision));
    }

  out.family("apportion_statement_cost", "What a group pays in all, by statement (under a series, in each bucket).");
  for (const Statement& s : result.statements)
    for (const StatementRow& row : s.rows) {
      const auto of = [&] { return "a row of statement \"" + s.id + "\""; };
      if (result.series.empty()) {
        out.amount(Labels().add("statement", s.id).add("currency", currency).tags(row.tags, out.names(), of), row.cost);
        continue;
      }
      for (std::size_t b = 0; b < row.buckets.size() && b < result.series.size(); ++b)
        out.amount(Labels()
                       .add("statement", s.id)
                       .bucket(result.series[b].bucket)
                       .add("currency", currency)
                       .tags(row.tags, out.names(), of),
                   row.buckets[b]);
    }

  if (result.governance) {
    const auto& budgets = result.governance->budgets;
    const auto budget_labels = [&](const BudgetStatus& b, bool money) {
      Labels labels;
      labels.add("budget", b.id);
      if (money) labels.add("currency", currency);
      return labels.tags(b.tags, out.names(), [&] { return "budget \"" + b.id + "\""; });
    };
    out.family("apportion_budget_spend", "A budget's spend so far, " + amount_unit + ".");
    for (const BudgetStatus& b : budgets) out.amount(budget_labels(b, true), b.spend);
    out.family("apportion_budget_amount", "A budget's amount for its period, " + amount_unit + ".");
    for (const BudgetStatus& b : budgets) out.amount(budget_labels(b, true), b.amount);
    out.family("apportion_budget_ratio", "A budget's spend over its amount.");
    for (const BudgetStatus& b : budgets) out.sample(budget_labels(b, false), format_places(b.ratio, 6));
    out.family("apportion_budget_forecast", "A budget's spend at its period's end at the run rate so far, " + amount_unit + ".");
    for (const BudgetStatus& b : budgets)
      if (b.forecast) out.amount(budget_labels(b, true), *b.forecast);
  }
  return std::move(out).text();
}

APPORTION_END_NAMESPACE
