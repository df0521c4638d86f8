// Governance rules over a Result: budgets, anomalies, reconciliation, scorecards and unit
// economics (governance.hpp). Every figure is computed exactly and rounded once; every
// split (true-ups, lever increments) uses the library's one largest-remainder rule.

#include "apportion/governance.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "apportion/allocate.hpp"
#include "apportion/render.hpp"
#include "apportion/strategy.hpp"

APPORTION_BEGIN_NAMESPACE

std::string_view to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "info";
}

Severity severity_of_threshold(const Decimal& threshold) noexcept {
  if (threshold >= Decimal(1)) return Severity::critical;
  if (threshold >= Decimal::parse("0.8")) return Severity::warning;
  return Severity::info;
}

std::string_view to_string(AnomalyMethod method) noexcept {
  switch (method) {
    case AnomalyMethod::ratio: return "ratio";
    case AnomalyMethod::mad: return "mad";
    case AnomalyMethod::trend: return "trend";
  }
  return "ratio";
}

std::string_view to_string(LeverModel::Kind kind) noexcept {
  switch (kind) {
    case LeverModel::Kind::given: return "given";
    case LeverModel::Kind::spot: return "spot";
    case LeverModel::Kind::quantization: return "quantization";
    case LeverModel::Kind::caching: return "caching";
    case LeverModel::Kind::right_sizing: return "right_sizing";
  }
  return "given";
}

std::vector<WrittenDecimal> Budget::default_thresholds() {
  std::vector<WrittenDecimal> out;
  for (const char* t : {"0.5", "0.8", "1", "1.25"}) out.push_back({Decimal::parse(t), t});
  return out;
}

namespace {

// The lines a reference selects, in result order. A result built in code may not list its
// steps: then the steps of its lines are known. A statement's rows, in row order, are given
// as lines (the statement's id for their step) made in `rows`.
std::vector<const Line*> select_lines(const LinesRef& ref, const Result& result, const std::string& path,
                                      std::vector<Line>& rows) {
  std::vector<const Line*> out;
  if (!ref.statement.empty()) {
    const auto st = std::find_if(result.statements.begin(), result.statements.end(),
                                 [&](const Statement& s) { return s.id == ref.statement; });
    if (st == result.statements.end()) throw SpecError(path + ".statement", "unknown statement \"" + ref.statement + "\"");
    rows.clear();
    rows.reserve(st->rows.size());  // pointers into it stay valid
    for (const StatementRow& row : st->rows) {
      if (!row.tags.contains_all(ref.tags)) continue;
      Line& l = rows.emplace_back();
      l.step = st->id;
      l.kind = row.kind;
      l.tags = row.tags;
      l.cost = row.cost;
      l.exact_cost = row.cost.to_rational();
      out.push_back(&l);
    }
    return out;
  }
  bool known = std::find(result.steps.begin(), result.steps.end(), ref.step) != result.steps.end();
  for (const Line& l : result.lines) {
    if (l.step != ref.step) continue;
    known = true;
    if (l.tags.contains_all(ref.tags)) out.push_back(&l);
  }
  if (!known) throw SpecError(path + ".step", "unknown step \"" + ref.step + "\"");
  return out;
}

Decimal round_to(const Rational& exact, const Decimal& unit, const std::string& path) {
  try {
    return Decimal::from_rational(exact, unit, RoundingMode::half_even);
  } catch (const OverflowError& e) {
    throw SpecError(path, e.what());
  }
}

Decimal round_to(const Rational& exact, const Result& result, const std::string& path) {
  return round_to(exact, result.precision, path);
}

Decimal literal_amount(const Decimal& amount, const Result& result) { return amount.round(result.precision); }

bool fired(const std::string& key, const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::find(a.begin(), a.end(), key) != a.end() || std::find(b.begin(), b.end(), key) != b.end();
}

// The median of sorted values: the middle one, or the mean of the two middle ones.
Rational median_of(std::vector<Rational> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

Decimal resolve(const LinesRef& ref, const Result& result, const std::string& path) {
  Decimal sum;
  std::vector<Line> rows;
  for (const Line* l : select_lines(ref, result, path, rows)) sum += l->cost;
  return sum;
}

namespace {

// Under a series: where a line's bucket is in result.series; its size for a line without one.
std::size_t bucket_index(const Result& result, const Line& line) {
  const auto b = std::find_if(result.series.begin(), result.series.end(), [&](const BucketPools& x) { return x.bucket == line.bucket; });
  return static_cast<std::size_t>(b - result.series.begin());
}

// Under a series: what a reference sums to in each bucket, in bucket order.
std::vector<Decimal> resolve_by_bucket(const LinesRef& ref, const Result& result, const std::string& path) {
  std::vector<Decimal> out(result.series.size());
  if (!ref.statement.empty()) {
    const auto st = std::find_if(result.statements.begin(), result.statements.end(),
                                 [&](const Statement& s) { return s.id == ref.statement; });
    if (st == result.statements.end()) throw SpecError(path + ".statement", "unknown statement \"" + ref.statement + "\"");
    for (const StatementRow& row : st->rows)
      if (row.tags.contains_all(ref.tags))
        for (std::size_t b = 0; b < out.size() && b < row.buckets.size(); ++b) out[b] += row.buckets[b];
    return out;
  }
  std::vector<Line> rows;
  for (const Line* l : select_lines(ref, result, path, rows))
    if (const std::size_t b = bucket_index(result, *l); b < out.size()) out[b] += l->cost;
  return out;
}

}  // namespace

Decimal resolve(const PoolRef& ref, const Result& result, const std::string& path) {
  for (const PoolCost& p : result.pools)
    if (p.id == ref.pool) return p.cost;
  throw SpecError(path + ".pool", "unknown pool \"" + ref.pool + "\"");
}

// ---- Budgets -------------------------------------------------------------------------------

BudgetStatus check_budget(const Budget& budget, const Result& result, const std::vector<std::string>& fired_keys,
                          const std::string& path) {
  if (budget.amount.signum() <= 0) throw SpecError(path + ".amount", "must be positive");
  BudgetStatus s;
  s.id = budget.id;
  s.tags = budget.tags;
  s.period = budget.period;
  s.as_of = budget.as_of;
  s.spend = std::visit(
      [&](const auto& spend) {
        if constexpr (std::is_same_v<std::decay_t<decltype(spend)>, Decimal>)
          return literal_amount(spend, result);
        else
          return resolve(spend, result, path + ".spend");
      },
      budget.spend);
  s.amount = budget.amount;
  s.thresholds = budget.thresholds;
  s.ratio = s.spend.to_rational() / budget.amount.to_rational();
  const LinesRef* lines = std::get_if<LinesRef>(&budget.spend);
  if (budget.as_of && lines && !result.series.empty()) {
    // The run rate of the buckets inside the period that have ended by as_of.
    const std::vector<Decimal> costs = resolve_by_bucket(*lines, result, path + ".spend");
    Rational cost = 0;
    Instant::Duration elapsed{0};
    for (std::size_t b = 0; b < costs.size(); ++b) {
      const Interval& bucket = result.series[b].bucket;
      if (bucket.start() < budget.period.start() || bucket.end() > budget.period.end() || bucket.end() > *budget.as_of) continue;
      cost += costs[b].to_rational();
      elapsed += bucket.length();
    }
    if (elapsed.count() > 0) s.forecast = round_to(cost * seconds_of(budget.period.length()) / seconds_of(elapsed), result, path);
  } else if (budget.as_of) {
    const Instant until = std::min(*budget.as_of, budget.period.end());
    if (until > budget.period.start()) {
      const Rational forecast = s.spend.to_rational() * seconds_of(budget.period.length()) /
                                seconds_of(until - budget.period.start());
      s.forecast = round_to(forecast, result, path);
    }
  }
  for (const WrittenDecimal& t : budget.thresholds) {
    if (s.ratio >= t.value.to_rational()) {
      s.crossed.push_back(t);
      const std::string key = budget.id + "/" + budget.period_text + "/" + t.text;
      if (!fired(key, budget.already_fired, fired_keys)) s.alerts.push_back({key, t, severity_of_threshold(t.value)});
    }
    if (s.forecast && s.forecast->to_rational() >= t.value.to_rational() * budget.amount.to_rational())
      s.forecast_crossed.push_back(t);
  }
  return s;
}

// ---- Anomalies ------------------------------------------------------------------------------

namespace {

FlaggedLine flagged_line(const AnomalyRule& rule, const Line& line, const Decimal& baseline, const Rational& score,
                         const std::vector<std::string>& fired_keys) {
  FlaggedLine f;
  // A line of another kind may have the same tags as an allocated one (an overhead line);
  // under a series the same tags have a line in each bucket.
  f.key = rule.id + "/" + (line.bucket ? line.bucket->start().to_string() + "/" : "") +
          (line.kind == LineKind::allocated ? "" : std::string(to_string(line.kind)) + "/") + tags_text(line.tags, ",");
  f.kind = line.kind;
  f.tags = line.tags;
  f.cost = line.cost;
  f.baseline = baseline;
  f.score = score;
  f.alert = !fired(f.key, rule.already_fired, fired_keys);
  f.bucket = line.bucket;
  return f;
}

// Each line against the median of the same kind and tags' costs over the `window` buckets
// before its own (a bucket without such a line costs 0); none before it, or a median of
// zero or less: not flagged.
AnomalyReport find_trend(const AnomalyRule& rule, AnomalyReport report, const Result& result,
                         const std::vector<std::string>& fired_keys, const std::string& path) {
  if (result.series.empty())
    throw SpecError(path + ".method", "\"trend\" compares a line with its own earlier buckets, and the spec has no \"series\"");
  if (!rule.lines.statement.empty())
    throw SpecError(path + ".lines.statement", "\"trend\" reads a step's lines bucket by bucket: name a step");
  std::vector<Line> rows;
  const std::vector<const Line*> lines = select_lines(rule.lines, result, path + ".lines", rows);
  report.lines = lines.size();
  // Per kind and tags, the cost in each bucket.
  std::map<std::pair<LineKind, Tags>, std::vector<Rational>> costs;
  for (const Line* l : lines) {
    auto& by_bucket = costs[{l->kind, l->tags}];
    by_bucket.resize(result.series.size());
    if (const std::size_t b = bucket_index(result, *l); b < by_bucket.size()) by_bucket[b] += l->cost.to_rational();
  }
  const Rational threshold = report.threshold.value.to_rational();
  for (const Line* l : lines) {
    const std::size_t b = bucket_index(result, *l);
    if (b == 0 || b >= result.series.size()) continue;
    const auto& by_bucket = costs[{l->kind, l->tags}];
    const std::size_t from = b > rule.window ? b - rule.window : 0;
    const Rational m = median_of(std::vector<Rational>(by_bucket.begin() + static_cast<std::ptrdiff_t>(from),
                                                       by_bucket.begin() + static_cast<std::ptrdiff_t>(b)));
    const Rational cost = l->cost.to_rational();
    if (m <= 0 || cost < threshold * m) continue;
    report.flagged.push_back(flagged_line(rule, *l, round_to(m, result, path), cost / m, fired_keys));
  }
  return report;
}

}  // namespace

AnomalyReport find_anomalies(const AnomalyRule& rule, const Result& result, const std::vector<std::string>& fired_keys,
                             const std::string& path) {
  AnomalyReport report;
  report.id = rule.id;
  report.method = rule.method;
  report.threshold = rule.threshold.value_or(rule.method == AnomalyMethod::mad     ? WrittenDecimal{Decimal::parse("3.5"), "3.5"}
                                             : rule.method == AnomalyMethod::trend ? WrittenDecimal{Decimal(3), "3"}
                                                                                   : WrittenDecimal{Decimal(10), "10"});
  if (rule.method == AnomalyMethod::trend) return find_trend(rule, std::move(report), result, fired_keys, path);
  std::vector<Line> rows;
  const std::vector<const Line*> lines = select_lines(rule.lines, result, path + ".lines", rows);
  report.lines = lines.size();
  if (lines.empty()) return report;
  std::vector<Rational> costs;
  for (const Line* l : lines) costs.push_back(l->cost.to_rational());
  const Rational m = median_of(costs);
  report.median = m;
  const Rational threshold = report.threshold.value.to_rational();
  std::optional<Rational> mad;
  if (rule.method == AnomalyMethod::mad) {
    std::vector<Rational> deviations;
    for (const Rational& c : costs) deviations.push_back(c > m ? Rational(c - m) : Rational(m - c));
    mad = median_of(deviations);
    report.mad = mad;
  }
  const Decimal baseline = round_to(m, result, path);
  static const Rational consistency = Decimal::parse("0.6745").to_rational();  // MAD to a normal sigma
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::optional<Rational> score;
    if (rule.method == AnomalyMethod::ratio) {
      if (m > 0 && costs[i] >= threshold * m) score = costs[i] / m;
    } else if (*mad > 0) {
      const Rational robust = consistency * (costs[i] - m) / *mad;
      if (robust >= threshold) score = robust;
    }
    if (!score) continue;
    report.flagged.push_back(flagged_line(rule, *lines[i], baseline, *score, fired_keys));
  }
  return report;
}

// ---- Reconciliation -------------------------------------------------------------------------

ReconcileReport reconcile(const Reconciliation& rec, const Result& result, const std::string& path) {
  ReconcileReport r;
  r.id = rec.id;
  r.period = rec.period;
  std::vector<Line> rows;
  const std::vector<const Line*> lines = select_lines(rec.estimate, result, path + ".estimate", rows);
  for (const Line* l : lines) r.estimate += l->cost;
  r.actual = std::visit(
      [&](const auto& actual) {
        if constexpr (std::is_same_v<std::decay_t<decltype(actual)>, Decimal>)
          return literal_amount(actual, result);
        else
          return resolve(actual, result, path + ".actual");
      },
      rec.actual);
  r.difference = r.actual - r.estimate;
  if (r.estimate.is_zero() && !r.difference.is_zero())
    throw SpecError(path + ".estimate", "is zero, so a difference of " + r.difference.to_string() +
                                            " cannot be split over its lines");
  if (!r.estimate.is_zero()) r.drift = r.difference.to_rational() / r.estimate.to_rational();

  std::vector<Rational> exact;
  for (const Line* l : lines)
    exact.push_back(r.estimate.is_zero() ? Rational(0)
                                         : r.difference.to_rational() * l->cost.to_rational() / r.estimate.to_rational());
  const std::vector<Decimal> true_ups =
      round_largest_remainder(exact, r.difference, result.precision, [&](std::size_t a, std::size_t b) {
        if (lines[a]->tags != lines[b]->tags) return lines[a]->tags < lines[b]->tags;
        return lines[a]->kind < lines[b]->kind;
      });
  for (std::size_t i = 0; i < lines.size(); ++i)
    r.lines.push_back({lines[i]->kind, lines[i]->tags, lines[i]->cost + true_ups[i], true_ups[i], lines[i]->bucket});

  if (!rec.causes.empty() || rec.quantity) {
    Decimal rest = r.difference;
    for (std::size_t i = 0; i < rec.causes.size(); ++i) {
      const std::string cause_path = path + ".causes[" + std::to_string(i) + "].amount";
      const Decimal amount = std::visit(
          [&](const auto& a) {
            if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Decimal>)
              return literal_amount(a, result);
            else
              return resolve(a, result, cause_path);
          },
          rec.causes[i].amount);
      r.causes.push_back({rec.causes[i].name, amount});
      rest -= amount;
    }
    if (rec.quantity) {
      const ReconcileQuantity& q = *rec.quantity;
      if (q.estimate.signum() <= 0) throw SpecError(path + ".quantity.estimate", "must be positive");
      // Usage: the change in quantity at the estimate's own rate; price: what is left.
      const Decimal usage = round_to((q.actual.to_rational() - q.estimate.to_rational()) * r.estimate.to_rational() /
                                         q.estimate.to_rational(),
                                     result, path + ".quantity");
      r.causes.push_back({"usage", usage});
      r.causes.push_back({"price", rest - usage});
    } else {
      r.causes.push_back({"unexplained", rest});
    }
  }
  return r;
}

// ---- Scorecards -------------------------------------------------------------------------------

namespace {

const WrittenDecimal& parameter(const Lever& lever, std::string_view name, const std::string& path) {
  for (const auto& [n, v] : lever.model.parameters)
    if (n == name) return v;
  throw SpecError(path + ".parameters", "missing required key \"" + std::string(name) + "\"");
}

// The lever's saving as a fraction of the baseline, and how it was computed.
std::pair<Rational, std::string> lever_saving(const Lever& lever, const std::string& path) {
  const auto fraction = [&](std::string_view name, bool zero_ok = true) {
    const WrittenDecimal& v = parameter(lever, name, path);
    const std::string p = path + ".parameters." + std::string(name);
    if (v.value.signum() < 0 || v.value > Decimal(1)) throw SpecError(p, "must be between 0 and 1 (got " + v.text + ")");
    if (!zero_ok && v.value.is_zero()) throw SpecError(p, "must be positive");
    return v;
  };
  Rational saving;
  std::string formula;
  switch (lever.model.kind) {
    case LeverModel::Kind::given: {
      const WrittenDecimal& s = parameter(lever, "saving", path);
      saving = s.value.to_rational();
      formula = s.text;
      break;
    }
    case LeverModel::Kind::spot: {
      const WrittenDecimal& on_demand = parameter(lever, "on_demand_rate", path);
      const WrittenDecimal& spot = parameter(lever, "spot_rate", path);
      if (on_demand.value.signum() <= 0) throw SpecError(path + ".parameters.on_demand_rate", "must be positive");
      if (spot.value > on_demand.value)
        throw SpecError(path + ".parameters.spot_rate", "must not exceed on_demand_rate (" + spot.text + " > " + on_demand.text + ")");
      saving = 1 - spot.value.to_rational() / on_demand.value.to_rational();
      formula = "1 - spot_rate / on_demand_rate = 1 - " + spot.text + " / " + on_demand.text;
      break;
    }
    case LeverModel::Kind::quantization: {
      const WrittenDecimal& gain = parameter(lever, "throughput_gain", path);
      if (gain.value < Decimal(1))
        throw SpecError(path + ".parameters.throughput_gain", "must be at least 1 (got " + gain.text + ")");
      saving = 1 - 1 / gain.value.to_rational();
      formula = "1 - 1 / throughput_gain = 1 - 1 / " + gain.text;
      break;
    }
    case LeverModel::Kind::caching: {
      const WrittenDecimal& hit = fraction("hit_rate");
      const WrittenDecimal& price = fraction("cached_price_ratio");
      saving = hit.value.to_rational() * (1 - price.value.to_rational());
      formula = "hit_rate x (1 - cached_price_ratio) = " + hit.text + " x (1 - " + price.text + ")";
      break;
    }
    case LeverModel::Kind::right_sizing: {
      const WrittenDecimal& used = fraction("utilization");
      const WrittenDecimal& target = fraction("target_utilization", false);
      const Rational s = 1 - used.value.to_rational() / target.value.to_rational();
      saving = s > 0 ? s : Rational(0);
      formula = "max(0, 1 - utilization / target_utilization) = max(0, 1 - " + used.text + " / " + target.text + ")";
      break;
    }
  }
  if (saving < 0 || saving > 1) throw SpecError(path + ".saving", "must be between 0 and 1");
  if (lever.model.eligible) {
    const WrittenDecimal& e = *lever.model.eligible;
    if (e.value.signum() < 0 || e.value > Decimal(1))
      throw SpecError(path + ".eligible", "must be between 0 and 1 (got " + e.text + ")");
    saving *= e.value.to_rational();
    formula = "(" + formula + ") x eligible " + e.text;
  }
  return {saving, formula};
}

}  // namespace

ScorecardReport score(const Scorecard& card, const Result& result, const std::string& path) {
  ScorecardReport r;
  r.id = card.id;
  r.baseline = std::visit(
      [&](const auto& b) {
        if constexpr (std::is_same_v<std::decay_t<decltype(b)>, Decimal>)
          return literal_amount(b, result);
        else
          return resolve(b, result, path + ".baseline");
      },
      card.baseline);
  const Rational baseline = r.baseline.to_rational();
  Rational left = 1;  // the fraction of the baseline the levers so far leave
  std::vector<Rational> increments;
  for (std::size_t i = 0; i < card.levers.size(); ++i) {
    const Lever& lever = card.levers[i];
    const std::string lever_path = path + ".levers[" + std::to_string(i) + "]";
    auto [saving, formula] = lever_saving(lever, lever_path);
    increments.push_back(left * saving);
    left *= 1 - saving;
    r.levers.push_back({lever.name, saving, std::move(formula), lever.risk, lever.assumptions,
                        round_to(baseline * saving, result, lever_path), Decimal{}});
  }
  r.combined = round_to(baseline * (1 - left), result, path);
  r.remaining = r.baseline - r.combined;
  Rational increment_sum = 0;
  for (const Rational& inc : increments) increment_sum += inc;
  if (increment_sum > 0) {
    std::vector<Rational> parts;
    for (const Rational& inc : increments) parts.push_back(r.combined.to_rational() * inc / increment_sum);
    const std::vector<Decimal> incremental = round_largest_remainder(parts, r.combined, result.precision);
    for (std::size_t i = 0; i < incremental.size(); ++i) r.levers[i].incremental = incremental[i];
  }
  return r;
}

// ---- Unit economics -----------------------------------------------------------------------------

UnitEconomicsReport unit_economics(const UnitEconomicsRule& rule, const Allocation& allocation, const Result& result,
                                   const std::string& path, std::span<const Allocation> buckets) {
  if (!rule.unit_precision.is_power_of_ten())
    throw SpecError(path + ".unit_precision", "must be a power of ten such as \"0.0001\"");
  if (!rule.lines.statement.empty())
    throw SpecError(path + ".lines.statement",
                    "unit economics reads a step's lines and their records, which a statement's rows do not have: name a step");
  const auto step_it = std::find_if(allocation.steps.begin(), allocation.steps.end(),
                                    [&](const Step& s) { return s.id == rule.lines.step; });
  if (step_it == allocation.steps.end()) throw SpecError(path + ".lines.step", "unknown step \"" + rule.lines.step + "\"");
  const Step& step = *step_it;
  if (step.over_fleet())
    throw SpecError(path + ".lines.step", "step \"" + step.id +
                                              "\" splits a fleet of pools; unit economics reads the records of a step of one pool");
  std::vector<std::string> group_by = step.group_by;
  if (group_by.empty() && step.strategy) group_by = step.strategy->default_group_by();

  // The records of each line of the step, by the line's kind and tags: a record the strategy
  // sets apart (overhead) is on its overhead line; one lacking a group key otherwise on the
  // step's unallocated line, as the engine has it.
  // Under a series, per bucket, of the bucket's records.
  using Groups = std::map<std::pair<LineKind, Tags>, std::vector<const Record*>>;
  const auto group = [&](const Allocation& a) {
    Groups groups;
    for (const Record* r : records_of_step(a, step)) {
      const LineKind kind = step.strategy ? step.strategy->kind_of(*r) : LineKind::allocated;
      if (kind == LineKind::overhead)
        groups[{kind, grouping::key_or_marker(*r, group_by, grouping::unallocated_value)}].push_back(r);
      else if (auto key = grouping::key_of(*r, group_by))
        groups[{kind, std::move(*key)}].push_back(r);
      else
        groups[{LineKind::unallocated, grouping::unallocated_tags(*r, group_by, step.keep_present_keys)}].push_back(r);
    }
    return groups;
  };
  std::vector<Groups> groups_by_bucket;
  if (buckets.empty()) groups_by_bucket.push_back(group(allocation));
  for (const Allocation& b : buckets) groups_by_bucket.push_back(group(b));

  UnitEconomicsReport report;
  report.id = rule.id;
  report.step = rule.lines.step;
  report.unit_precision = rule.unit_precision;
  std::vector<Line> no_rows;  // a step's lines only
  for (const Line* line : select_lines(rule.lines, result, path + ".lines", no_rows)) {
    LineEconomics e;
    e.kind = line->kind;
    e.tags = line->tags;
    e.bucket = line->bucket;
    e.cost = line->cost;
    Rational requests = 0, tokens = 0, epochs = 0, gpu_hours = 0, used_hours = 0;
    std::size_t runs = 0;
    bool all_utilized = true, any_hours = false;
    const std::size_t b = buckets.empty() ? 0 : bucket_index(result, *line);
    const Groups* groups = b < groups_by_bucket.size() ? &groups_by_bucket[b] : nullptr;
    if (const auto it = groups ? groups->find({line->kind, line->tags}) : Groups::const_iterator{};
        groups && it != groups->end()) {
      for (const Record* r : it->second) {
        requests += r->exact_measure("requests");
        tokens += r->exact_measure("tokens_prompt") + r->exact_measure("tokens_generation");
        epochs += r->exact_measure("epochs");
        Rational hours = 0;
        bool has_hours = false;
        if (r->priced_run()) {
          ++runs;
          if (r->start && r->end && r->count) {
            hours = r->run_hours();
            has_hours = true;
          }
        } else if (r->measures.contains("gpu_seconds")) {
          hours = r->exact_measure("gpu_seconds") / 3600;
          has_hours = true;
        }
        if (!has_hours) continue;
        any_hours = true;
        gpu_hours += hours;
        // The GPU time used: an aggregate's exact gpu_seconds_used, else hours x utilization.
        if (r->measures.contains("gpu_seconds_used"))
          used_hours += r->exact_measure("gpu_seconds_used") / 3600;
        else if (r->measures.contains("utilization"))
          used_hours += hours * r->measure("utilization").to_rational();
        else
          all_utilized = false;
      }
    }
    const Rational cost = line->cost.to_rational();
    const auto add = [&](const char* quantity, const Rational& amount, std::initializer_list<std::pair<const char*, Rational>> per) {
      if (amount <= 0) return;
      e.quantities.emplace_back(quantity, amount);
      for (const auto& [name, scale] : per)
        e.per.emplace_back(name, round_to(cost * scale / amount, rule.unit_precision, path + ".lines"));
    };
    add("requests", requests, {{"inference", Rational(1)}, {"thousand_requests", Rational(1000)}});
    add("tokens", tokens, {{"million_tokens", Rational(1000000)}});
    add("runs", Rational(static_cast<long long>(runs)), {{"run", Rational(1)}});
    add("epochs", epochs, {{"epoch", Rational(1)}});
    add("gpu_hours", gpu_hours, {{"gpu_hour", Rational(1)}});
    if (any_hours && all_utilized) add("gpu_hours_used", used_hours, {{"gpu_hour_used", Rational(1)}});
    report.lines.push_back(std::move(e));
  }
  return report;
}

// ---- All of it ----------------------------------------------------------------------------------

namespace {

// Each rule of one section, in order; an amount beyond the Decimal range is reported at the
// rule that met it.
template <class Rule, class Report, class Evaluate>
void each_rule(const std::vector<Rule>& rules, const char* section, std::vector<Report>& out, Evaluate evaluate) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::string path = std::string(section) + "[" + std::to_string(i) + "]";
    try {
      out.push_back(evaluate(rules[i], path));
    } catch (const OverflowError& e) {
      throw SpecError(path, e.what());
    }
  }
}

}  // namespace

GovernanceReport evaluate(const Governance& g, const Allocation& allocation, const Result& result,
                          std::span<const Allocation> buckets) {
  const std::vector<std::string>& fired = g.already_fired;
  GovernanceReport report;
  each_rule(g.budgets, "budgets", report.budgets,
            [&](const Budget& b, const std::string& path) { return check_budget(b, result, fired, path); });
  each_rule(g.anomalies, "anomalies", report.anomalies,
            [&](const AnomalyRule& a, const std::string& path) { return find_anomalies(a, result, fired, path); });
  each_rule(g.reconcile, "reconcile", report.reconcile,
            [&](const Reconciliation& r, const std::string& path) { return reconcile(r, result, path); });
  each_rule(g.scorecards, "scorecards", report.scorecards,
            [&](const Scorecard& c, const std::string& path) { return score(c, result, path); });
  each_rule(g.unit_economics, "unit_economics", report.unit_economics,
            [&](const UnitEconomicsRule& u, const std::string& path) { return unit_economics(u, allocation, result, path, buckets); });
  return report;
}

APPORTION_END_NAMESPACE
