#include "apportion/engine.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>
#include <set>

#include "apportion/allocate.hpp"
#include "apportion/governance.hpp"
#include "apportion/statements.hpp"
#include "apportion/strategies.hpp"
#include "apportion/strategy.hpp"

APPORTION_BEGIN_NAMESPACE

std::string_view to_string(LineKind kind) noexcept {
  switch (kind) {
    case LineKind::allocated: return "allocated";
    case LineKind::overhead: return "overhead";
    case LineKind::idle: return "idle";
    case LineKind::unallocated: return "unallocated";
  }
  return "?";
}

std::optional<std::pair<std::string, std::string>> measure_problem(const Amounts& measures) {
  const auto get = [&](std::string_view name) {
    const auto it = measures.find(name);
    return it == measures.end() ? std::optional<Decimal>() : std::optional<Decimal>(it->second);
  };
  if (const auto u = get("utilization"); u && *u > Decimal(1))
    return std::pair<std::string, std::string>{"utilization", "must be between 0 and 1 (got " + u->to_string() + ")"};
  const Decimal cached = get("tokens_cached").value_or(Decimal{}), prompt = get("tokens_prompt").value_or(Decimal{});
  if (cached > prompt)
    return std::pair<std::string, std::string>{
        "tokens_cached", "must not exceed tokens_prompt (" + cached.to_string() + " > " + prompt.to_string() + ")"};
  return std::nullopt;
}

std::vector<const Line*> Result::lines_of(std::string_view step) const {
  std::vector<const Line*> out;
  for (const Line& l : lines)
    if (l.step == step) out.push_back(&l);
  return out;
}

// ---- Shared mechanics ---------------------------------------------------------------

namespace grouping {

std::optional<Tags> key_of(const Record& record, std::span<const std::string> group_by) {
  // A record holding just the group keys (what the plan reads records as) is its own key:
  // the tags are shared, not copied.
  if (record.tags.size() == group_by.size() &&
      std::all_of(group_by.begin(), group_by.end(), [&](const std::string& k) { return record.tags.contains(k); }))
    return record.tags;
  std::vector<Tags::Pair> pairs;
  pairs.reserve(group_by.size());
  for (const std::string& key : group_by) {
    const auto value = record.tags.get(key);
    if (!value) return std::nullopt;
    pairs.emplace_back(key, std::string(*value));
  }
  return Tags(std::move(pairs));
}

Tags marker_tags(std::span<const std::string> group_by, std::string_view marker) {
  std::vector<Tags::Pair> pairs;
  for (const std::string& key : group_by) pairs.emplace_back(key, std::string(marker));
  return Tags(std::move(pairs));
}

Tags key_or_marker(const Record& record, std::span<const std::string> group_by, std::string_view marker) {
  std::vector<Tags::Pair> pairs;
  for (const std::string& key : group_by) {
    const auto value = record.tags.get(key);
    pairs.emplace_back(key, std::string(value ? *value : marker));
  }
  return Tags(std::move(pairs));
}

Tags unallocated_tags(const Record& record, std::span<const std::string> group_by, bool keep_present) {
  return keep_present ? key_or_marker(record, group_by, unallocated_value) : marker_tags(group_by, unallocated_value);
}

}  // namespace grouping

void GroupedWeights::add(const StepInput& input, const Record& record, const Rational& weight) {
  total += weight;
  if (auto key = grouping::key_of(record, input.group_by)) {
    groups[*key] += weight;
  } else {
    unallocated[grouping::unallocated_tags(record, input.group_by, input.step.keep_present_keys)] += weight;
  }
}

namespace {

// The lines of `g`, its weights moved out of it, or copied when `g` is const (std::move of a
// const weight copies it). Tags are shared, never copied.
template <class Weights>
std::vector<WeightedLine> weighted_lines(Weights& g) {
  std::vector<WeightedLine> out;
  out.reserve(g.groups.size() + 1);
  for (auto& [tags, weight] : g.groups) out.push_back({LineKind::allocated, tags, std::move(weight), 0});
  for (auto& [tags, weight] : g.unallocated) out.push_back({LineKind::unallocated, tags, std::move(weight), 0});
  return out;
}

}  // namespace

std::vector<WeightedLine> GroupedWeights::lines(const StepInput&) const& { return weighted_lines(*this); }
std::vector<WeightedLine> GroupedWeights::lines(const StepInput&) && { return weighted_lines(*this); }

ExactSum& GroupedSums::sum_for(const Record& record) {
  scratch_.clear();
  for (const std::string& key : group_by_) {
    const auto value = record.tags.get(key);
    if (!value) {
      if (keep_present_keys_) return unallocated_[grouping::unallocated_tags(record, group_by_, true)];
      if (unallocated_.empty()) unallocated_.emplace(grouping::marker_tags(group_by_, grouping::unallocated_value), ExactSum());
      return unallocated_.begin()->second;
    }
    const auto size = static_cast<std::uint32_t>(value->size());  // length-prefixed: any bytes may follow
    scratch_.append(reinterpret_cast<const char*>(&size), sizeof size);
    scratch_.append(*value);
  }
  const std::uint32_t id = index_.intern(scratch_);
  if (id == groups_.size()) {
    Group& g = groups_.emplace_back(Group{*grouping::key_of(record, group_by_), ExactSum(), {}});
    const std::string_view first = g.key.empty() ? std::string_view() : std::string_view(g.key.begin()->second);
    std::copy_n(first.begin(), std::min(first.size(), g.head.size()), g.head.begin());
    if (id == 0) {
      shared_ = first.size();
    } else {
      const std::string_view a = std::string_view(groups_[0].key.begin()->second).substr(0, shared_);
      shared_ = static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), first.begin(), first.end()).first - a.begin());
    }
  }
  return groups_[id].sum;
}

template <class Self>
std::vector<WeightedLine> GroupedSums::lines_of(Self& self) {
  const auto& groups = self.groups_;
  const std::size_t shared = self.shared_;
  // Every group's key holds the same keys (group_by's), so keys order as their values do,
  // pair by pair. The first values' eight bytes after the prefix they all share, read
  // big-endian, order most pairs without reading the values themselves (pod-000123).
  const std::size_t n = groups.size();
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order(n);
  for (std::size_t g = 0; g < n; ++g) {
    const Group& group = groups[g];
    std::uint64_t prefix = 0;
    if (shared + 8 <= group.head.size()) {
      for (std::size_t b = shared; b < shared + 8; ++b) prefix = prefix << 8 | group.head[b];
    } else {  // a long shared prefix: the bytes after it, from the value
      const std::string_view rest = std::string_view(group.key.begin()->second).substr(shared);
      for (std::size_t b = 0; b < 8; ++b) prefix = prefix << 8 | (b < rest.size() ? static_cast<unsigned char>(rest[b]) : 0u);
    }
    order[g] = {prefix, static_cast<std::uint32_t>(g)};
  }
  const auto before = [&](const std::pair<std::uint64_t, std::uint32_t>& a, const std::pair<std::uint64_t, std::uint32_t>& b) {
    if (a.first != b.first) return a.first < b.first;
    return groups[a.second].key < groups[b.second].key;
  };
  if (!std::is_sorted(order.begin(), order.end(), before)) std::sort(order.begin(), order.end(), before);
  std::vector<WeightedLine> out;
  out.reserve(n + 1);
  // std::move of a const group's key copies it.
  for (const auto& [prefix, g] : order) {
    WeightedLine& line = out.emplace_back();  // filled in place: four Rationals are not moved
    line.tags = std::move(self.groups_[g].key);
    line.weight = groups[g].sum.value();
  }
  for (const auto& [tags, sum] : self.unallocated_) out.push_back({LineKind::unallocated, tags, sum.value(), 0});
  return out;
}

template std::vector<WeightedLine> GroupedSums::lines_of(const GroupedSums&);
template std::vector<WeightedLine> GroupedSums::lines_of(GroupedSums&);

const Rational& SparseRational::zero() noexcept {
  static const Rational value;
  return value;
}

StepOutput split_by_weight(const StepInput& input, std::vector<WeightedLine> lines, const Rational& denominator) {
  StepOutput out;
  const Rational pool = input.pool_cost.value_or(Decimal{}).to_rational();
  if (denominator == 0) {
    DraftLine whole;
    whole.kind = LineKind::unallocated;
    whole.tags = grouping::marker_tags(input.group_by, grouping::unallocated_value);
    whole.cost = pool;
    out.lines.push_back(std::move(whole));
    return out;
  }
  const Rational per_weight = pool / denominator;  // once, not a division per line
  out.lines.reserve(lines.size());
  for (WeightedLine& l : lines) {
    DraftLine& d = out.lines.emplace_back();  // filled in place: a line is not moved again
    d.kind = l.kind;
    d.tags = std::move(l.tags);
    d.cost = multiply(per_weight, l.spread_weight.is_zero() ? l.weight : l.weight + l.spread_weight.value());
    d.share = divide(l.weight, denominator);
    d.weight = std::move(l.weight);
    if (!l.absorbed_overhead.is_zero()) d.absorbed_overhead = multiply(per_weight, l.absorbed_overhead.value());
    if (!l.absorbed_idle.is_zero()) d.absorbed_idle = multiply(per_weight, l.absorbed_idle.value());
  }
  return out;
}

// ---- Registry -----------------------------------------------------------------------

StrategyRegistry::StrategyRegistry(const StrategyRegistry& other) {
  std::shared_lock lock(other.mutex_);
  factories_ = other.factories_;
}

StrategyRegistry& StrategyRegistry::operator=(const StrategyRegistry& other) {
  if (this != &other) {
    std::scoped_lock lock(mutex_, other.mutex_);
    factories_ = other.factories_;
  }
  return *this;
}

void StrategyRegistry::add(std::string name, StrategyFactory factory) {
  if (name.empty() || !factory) throw std::invalid_argument("a strategy needs a name and a factory");
  std::unique_lock lock(mutex_);
  if (factories_.contains(name)) throw std::invalid_argument("strategy \"" + name + "\" is already registered");
  factories_.emplace(std::move(name), std::move(factory));
}

bool StrategyRegistry::contains(std::string_view name) const {
  std::shared_lock lock(mutex_);
  return factories_.find(name) != factories_.end();
}

std::vector<std::string> StrategyRegistry::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

std::shared_ptr<const Strategy> StrategyRegistry::make(std::string_view name, ObjectReader& options) const {
  StrategyFactory factory;
  {
    std::shared_lock lock(mutex_);
    const auto it = factories_.find(name);
    if (it == factories_.end()) return nullptr;
    factory = it->second;
  }
  return factory(options);
}

StrategyRegistry& StrategyRegistry::global() {
  static StrategyRegistry registry = with_builtins();
  return registry;
}

// ---- Running an allocation ------------------------------------------------------------

namespace {

std::string pool_path(std::size_t i) { return "pools[" + std::to_string(i) + "]"; }
std::string step_path(std::size_t i) { return "steps[" + std::to_string(i) + "]"; }

bool selected(const Record& r, const Selector& select) {
  for (const auto& [key, values] : select) {
    const auto v = r.tags.get(key);
    if (!v || std::find(values.begin(), values.end(), *v) == values.end()) return false;
  }
  return true;
}

// A step's select and its exclusions.
bool selected(const Record& r, const Step& step) {
  for (const auto& [key, values] : step.exclude) {
    const auto v = r.tags.get(key);
    if (v && std::find(values.begin(), values.end(), *v) != values.end()) return false;
  }
  return selected(r, step.select);
}

class Runner {
 public:
  // `bucket`: `a` is one bucket of a series, holding the records that fall in it.
  explicit Runner(const Allocation& a, bool bucket = false) : a_(a), bucket_(bucket) {
    result_.currency = a.currency;
    result_.precision = a.precision.value_or(a.currency.minor_unit());
    result_.inputs = a.inputs;
    if (!result_.precision.is_power_of_ten())
      throw SpecError("precision", "must be a power of ten such as \"0.01\" (got \"" + result_.precision.to_string() + "\")");
    validate();
  }

  // Runs the steps, then the statements and governance.
  Result run() {
    for (std::size_t s = 0; s < a_.steps.size(); ++s) run_step(s);
    for (std::size_t p = 0; p < a_.pools.size(); ++p) result_.pools.push_back({a_.pools[p].id, pool_cost(p)});
    result_.statements = build_statements(a_, result_);
    if (a_.governance)
      result_.governance = std::make_shared<const GovernanceReport>(evaluate(*a_.governance, a_, result_));
    return std::move(result_);
  }

 private:
  void validate() {
    for (std::size_t i = 0; i < a_.pools.size(); ++i) {
      if (a_.pools[i].id.empty()) throw SpecError(pool_path(i) + ".id", "must not be empty");
      if (!pool_index_.emplace(a_.pools[i].id, i).second)
        throw SpecError(pool_path(i) + ".id", "pool \"" + a_.pools[i].id + "\" is defined twice");
    }
    for (std::size_t i = 0; i < a_.steps.size(); ++i) {
      const Step& step = a_.steps[i];
      const std::string path = step_path(i);
      if (step.id.empty()) throw SpecError(path + ".id", "must not be empty");
      if (!step_index_.emplace(step.id, i).second)
        throw SpecError(path + ".id", "step \"" + step.id + "\" is defined twice");
      if (!step.strategy) throw SpecError(path + ".strategy", "no strategy given");
      const bool fleet = step.over_fleet();
      if (step.strategy->splits_pool()) {
        if (step.pool && fleet) throw SpecError(path + ".pools", "give either \"pool\" or \"pools\", not both");
        if (!step.pool && !fleet) throw SpecError(path, "missing required key \"pool\"");
      } else if (step.pool || fleet) {
        throw SpecError(path + (step.pool ? ".pool" : ".pools"), "this strategy prices runs and takes no pool");
      }
      if (step.match && !fleet) throw SpecError(path + ".match", "matches records to the pools of a fleet: give \"pools\"");
      pools_of_step_.push_back(pools_of_step(a_, step, path));
      if (!step.strategy->reads_records() &&
          (!step.group_by.empty() || !step.select.empty() || !step.exclude.empty() || step.keep_present_keys))
        throw SpecError(path + (!step.group_by.empty() ? ".group_by" : step.keep_present_keys ? ".unallocated_keys" : ".select"),
                        "this strategy reads no records");
      if (step.group_by.empty() && step.strategy->reads_records() && step.strategy->default_group_by().empty())
        throw SpecError(path, "missing required key \"group_by\"");
    }
    for (std::size_t i = 0; i < a_.pools.size(); ++i) {
      const auto* from = std::get_if<FromStepSource>(&a_.pools[i].source);
      if (!from) continue;
      const auto it = step_index_.find(from->step);
      if (it == step_index_.end())
        throw SpecError(pool_path(i) + ".from.step", "unknown step \"" + from->step + "\"");
      for (std::size_t s = 0; s < a_.steps.size(); ++s)
        if (splits(s, i) && s <= it->second) {
          if (s == it->second)
            throw SpecError(pool_path(i) + ".from.step", "step \"" + from->step +
                                                             "\" splits this pool, so the pool cannot also come from it (a cycle)");
          throw SpecError(pool_path(i) + ".from.step", "step \"" + from->step + "\" does not run before step \"" +
                                                           a_.steps[s].id + "\", which splits this pool");
        }
    }
    for (std::size_t i = 0; i < a_.records.size(); ++i) {
      const Record& r = a_.records[i];
      // A field of an inline record is a path (records[3].pool); of a record from a file,
      // named after the line (usage.csv line 4: pool: ...).
      const auto bad_field = [&r](const char* key, const std::string& what) {
        return r.origin.starts_with("records[") ? SpecError(r.origin + "." + key, what)
                                                : SpecError(r.origin, std::string(key) + ": " + what);
      };
      if (r.pool && !pool_index_.contains(*r.pool)) throw bad_field("pool", "unknown pool \"" + *r.pool + "\"");
      if (r.sku && r.pool) throw bad_field("pool", "a priced run (a record with a sku) may not name a pool");
      if (r.at && !a_.series) throw bad_field("at", "places the record in a bucket of a series, and the spec has no \"series\"");
    }
    if (!a_.series)
      for (std::size_t i = 0; i < a_.pools.size(); ++i)
        if (a_.pools[i].period)
          throw SpecError(pool_path(i) + ".period", "spreads the pool over the buckets of a series, and the spec has no \"series\"");
  }

  const Catalog& catalog(const std::string& path) const {
    if (!a_.catalog) throw SpecError(path, "needs a catalog, and the spec gives none");
    return *a_.catalog;
  }

 public:
  // A pool's cost, rounded once (cached).
  Decimal pool_cost(std::size_t i) {
    if (const auto it = pool_costs_.find(i); it != pool_costs_.end()) return it->second;
    const Decimal cost = round_pool(exact_pool_cost(i), pool_path(i));
    pool_costs_.emplace(i, cost);
    return cost;
  }

  // A pool's amount exactly, before rounding, in the allocation's currency; a price over an
  // interval priced over `clip` instead (a part of its interval: a series' bucket).
  Rational exact_pool_cost(std::size_t i, const std::optional<Interval>& clip = std::nullopt) {
    const Pool& pool = a_.pools[i];
    const std::string path = pool_path(i);
    Rational exact = std::visit(
        [&](const auto& source) -> Rational {
          using S = std::decay_t<decltype(source)>;
          if constexpr (std::is_same_v<S, CostSource>) {
            return source.cost.to_rational();
          } else if constexpr (std::is_same_v<S, PriceSource>) {
            const Catalog& c = catalog(path + ".price.sku");
            // Each error names the field at fault: the SKU, the tier, or the interval's start
            // for a time before the tier's first price.
            if (!c.find(source.sku)) throw SpecError(path + ".price.sku", "unknown SKU \"" + source.sku + "\"");
            try {
              if (source.interval) return c.cost_over(source.sku, source.tier, source.quantity, clip ? *clip : *source.interval);
              return source.quantity.to_rational() * c.latest_rate(source.sku, source.tier).to_rational();
            } catch (const SpecError&) {
              throw;
            } catch (const PriceNotFound& e) {
              const auto& prices = c.find(source.sku)->prices;
              const bool tier_priced = std::any_of(prices.begin(), prices.end(), [&](const Price& p) { return p.tier == source.tier; });
              throw SpecError(path + (tier_priced ? ".price.start" : ".price.tier"), e.what());
            } catch (const std::invalid_argument& e) {
              throw SpecError(path + ".price.sku", e.what());  // a SKU not priced by the hour
            }
          } else if constexpr (std::is_same_v<S, FromStepSource>) {
            if (!ran_.contains(source.step))
              throw SpecError(path + ".from.step", "step \"" + source.step + "\" has not run yet");
            Rational sum = 0;
            for (const Line& l : result_.lines)
              if (l.step == source.step && l.tags.contains_all(source.tags)) sum += l.cost.to_rational();
            return sum;
          } else if constexpr (std::is_same_v<S, AmortizedSource>) {
            return amortized_amount(source, path + ".amortized.term");
          } else {
            Rational sum = 0;
            for (std::size_t k = 0; k < source.parts.size(); ++k) {
              const std::string part_path = path_index(path + ".parts", k);
              PartInput& part = part_inputs_[i].emplace_back(PartInput{&source.parts[k], part_cost(source.parts[k], part_path), part_path});
              sum += part.cost;
            }
            return sum;
          }
        },
        pool.source);
    if (pool.currency && !(*pool.currency == a_.currency)) {
      const Rational rate = conversion(i);
      exact *= rate;
      for (PartInput& part : part_inputs_[i]) part.cost *= rate;  // the parts converted like the pool
    }
    return exact;
  }

 private:
  static Rational amortized_amount(const AmortizedSource& source, const std::string& term_path) {
    try {
      return exact_amount(source);
    } catch (const std::invalid_argument& e) {
      throw SpecError(term_path, e.what());
    }
  }

  static Rational part_cost(const PoolPart& part, const std::string& path) {
    if (const auto* a = std::get_if<AmortizedSource>(&part.source)) return amortized_amount(*a, path + ".amortized.term");
    return exact_amount(part.source);
  }

  Rational fx_rate(Currency from, const std::string& path) {
    const FxRate* found = nullptr;
    for (const FxRate& fx : a_.fx) {
      if (!(fx.from == from) || !(fx.to == a_.currency)) continue;
      if (found)
        throw SpecError(path, "two exchange rates from " + std::string(from.code()) + " to " + std::string(a_.currency.code()));
      found = &fx;
    }
    if (!found)
      throw SpecError(path, "no exchange rate from " + std::string(from.code()) + " to " + std::string(a_.currency.code()));
    const bool listed = std::any_of(result_.fx_used.begin(), result_.fx_used.end(), [&](const FxRate& f) {
      return f.from == found->from && f.to == found->to;
    });
    if (!listed) result_.fx_used.push_back(*found);
    return found->rate.to_rational();
  }

 public:
  const std::vector<FxRate>& fx_used() const noexcept { return result_.fx_used; }

  // What one unit of pool i's currency is in the allocation's.
  Rational conversion(std::size_t i) {
    const Pool& pool = a_.pools[i];
    if (!pool.currency || *pool.currency == a_.currency) return 1;
    return fx_rate(*pool.currency, pool_path(i) + ".currency");
  }

  Decimal round_pool(const Rational& exact, const std::string& path) const {
    try {
      return Decimal::from_rational(exact, result_.precision, RoundingMode::half_even);
    } catch (const OverflowError& e) {
      throw SpecError(path, e.what());
    }
  }

 private:
  void run_step(std::size_t s) {
    const Step& step = a_.steps[s];
    const Strategy& strategy = *step.strategy;
    step_lines_from_ = result_.lines.size();
    if (!strategy.splits_pool()) {
      split(s, std::nullopt, true);
    } else {
      // Each pool on its own: a step over a fleet splits each of its pools as a step of one
      // pool would, and its coverage is over them all.
      const std::vector<std::size_t>& pools = pools_of_step_[s];
      const bool fleet = step.over_fleet();
      Decimal total, unallocated;
      std::vector<std::string> without_records;
      for (std::size_t p : pools) {
        total += pool_cost(p);
        bool had_records = true;
        unallocated += split(s, p, !fleet, &had_records);
        if (!had_records) without_records.push_back(a_.pools[p].id);
      }
      if (fleet && !without_records.empty()) warn_fleet_without_records(s, without_records, pools.size());
      if (step.match) warn_unmatched(s, pools);
      if (!total.is_zero()) {
        const Rational t = total.to_rational();
        result_.coverage.push_back({step.id, (t - unallocated.to_rational()) / t});
      }
    }
    ran_.insert(step.id);
    result_.steps.push_back(step.id);
  }

  bool splits(std::size_t step, std::size_t pool) const {
    const auto& pools = pools_of_step_[step];
    return std::find(pools.begin(), pools.end(), pool) != pools.end();
  }

  // Splits one pool by step `s` (or runs a step that splits none), appends its lines, and
  // returns the cost on its unallocated lines. `warn`: say when no record took part.
  Decimal split(std::size_t s, std::optional<std::size_t> pool, bool warn, bool* had_records = nullptr) {
    const Step& step = a_.steps[s];
    const Strategy& strategy = *step.strategy;
    // A pool of a fleet is split as by a step of that one pool.
    Step one_pool;
    const bool fleet = step.over_fleet();
    if (fleet) {
      one_pool = step;
      one_pool.pool = a_.pools[*pool].id;
    }
    const Step& as_run = fleet ? one_pool : step;
    StepInput input{as_run, step_path(s), std::nullopt, {}, step.group_by, a_.catalog.get(), result_.precision};
    if (input.group_by.empty()) input.group_by = strategy.default_group_by();
    if (pool) {
      input.pool_cost = pool_cost(*pool);
      if (const auto it = part_inputs_.find(*pool); it != part_inputs_.end()) input.parts = it->second;
    }
    if (strategy.reads_records()) {
      input.records = records_of_step(a_, as_run);
      if (input.records.empty() && warn) warn_no_records(s);
    }
    if (had_records) *had_records = !strategy.reads_records() || !input.records.empty();
    StepOutput out = strategy.run(input);
    const std::string where = step_path(s) + (fleet ? " (pool \"" + a_.pools[*pool].id + "\")" : "");
    for (const std::string& w : out.warnings) result_.warnings.push_back(where + ": " + w);
    if (input.records.size() > 0) warn_missing_keys(s, input, out);
    if (fleet && !out.unit_costs.empty())
      throw SpecError(step_path(s) + ".pools", "strategy \"" + std::string(strategy.name()) +
                                                   "\" gives unit costs, which a step over a fleet does not keep apart by "
                                                   "pool: split one pool per step");
    // Over the whole step: a fleet's pools together.
    const std::size_t earlier = result_.lines.size() - step_lines_from_;
    if (out.lines.size() > a_.limits.max_groups_per_step - std::min(a_.limits.max_groups_per_step, earlier))
      limit_exceeded(step_path(s), a_.limits.max_groups_per_step, "lines (groups) in one step", "max_groups_per_step");

    const auto line_order = [](const DraftLine& a, const DraftLine& b) {
      if (a.kind != b.kind) return a.kind < b.kind;
      return a.tags < b.tags;
    };
    // Strategies mostly give their lines in this order already (grouped sums are sorted).
    if (!std::is_sorted(out.lines.begin(), out.lines.end(), line_order))
      std::sort(out.lines.begin(), out.lines.end(), line_order);
    for (std::size_t i = 1; i < out.lines.size(); ++i)
      if (out.lines[i].kind == out.lines[i - 1].kind && out.lines[i].tags == out.lines[i - 1].tags)
        throw std::logic_error("step \"" + step.id + "\" produced two lines with the same kind and tags");

    std::vector<Decimal> costs;
    std::vector<Rational> exact;  // what is rounded: a pool's lines' costs, moved back after
    if (pool || strategy.rounds_lines_together()) {
      // The step's total: its pool, or for a step that prices its own records and rounds its
      // lines together the exact sum of its lines rounded once, so they add up to it.
      // A pool's lines sum to it exactly already (checked in the rounding): no second sum.
      exact.reserve(out.lines.size());
      Decimal total;
      if (pool) {
        total = *input.pool_cost;
        for (DraftLine& l : out.lines) exact.push_back(std::move(l.cost));
      } else {
        Rational exact_total = 0;
        for (const DraftLine& l : out.lines) exact_total += l.cost;
        total = round_pool(exact_total, step_path(s));
        for (const DraftLine& l : out.lines)
          exact.push_back(exact_total == 0 ? l.cost : total.to_rational() * l.cost / exact_total);
      }
      // Ties after remainder and amount: smaller tags first, then kind order.
      costs = round_largest_remainder(exact, total, result_.precision, [&](std::size_t a, std::size_t b) {
        if (out.lines[a].tags != out.lines[b].tags) return out.lines[a].tags < out.lines[b].tags;
        return out.lines[a].kind < out.lines[b].kind;
      });
      Decimal sum;
      for (Decimal c : costs) sum += c;
      if (sum != total)
        throw std::logic_error("step \"" + step.id + "\": lines sum to " + sum.to_string() + ", its total is " +
                               total.to_string());
    } else {
      for (const DraftLine& l : out.lines) costs.push_back(round_pool(l.cost, step_path(s)));
    }

    Decimal unallocated;
    result_.lines.reserve(result_.lines.size() + out.lines.size());
    for (std::size_t i = 0; i < out.lines.size(); ++i) {
      DraftLine& d = out.lines[i];
      Line& line = result_.lines.emplace_back();  // filled in place
      line.step = step.id;
      if (pool) line.pool = a_.pools[*pool].id;
      line.kind = d.kind;
      line.tags = std::move(d.tags);
      line.cost = costs[i];
      line.exact_cost = pool ? std::move(exact[i]) : std::move(d.cost);
      line.weight = std::move(d.weight);
      line.share = std::move(d.share);
      line.split_cost = std::move(d.split_cost);
      line.unused_cost = std::move(d.unused_cost);
      line.gpu_hours = std::move(d.gpu_hours);
      line.absorbed_overhead = std::move(d.absorbed_overhead);
      line.absorbed_idle = std::move(d.absorbed_idle);
      if (line.kind == LineKind::unallocated) unallocated += line.cost;
    }
    for (UnitCost& u : out.unit_costs) {
      u.step = step.id;
      result_.unit_costs.push_back(std::move(u));
    }
    return unallocated;
  }

  // Records took part but none has a group_by key: every line is unallocated. Name the key,
  // and a tag the records do have that is spelt like it (`label_team` for `team`).
  void warn_missing_keys(std::size_t s, const StepInput& input, const StepOutput& out) {
    if (std::any_of(out.lines.begin(), out.lines.end(), [](const DraftLine& l) { return l.kind != LineKind::unallocated; }))
      return;
    for (const std::string& key : input.group_by) {
      std::set<std::string_view> seen;
      bool found = false;
      for (const Record* r : input.records) {
        for (const auto& [k, v] : r->tags) {
          found = found || k == key;
          if (seen.size() < 1000) seen.insert(k);
        }
        if (found) break;
      }
      if (found) continue;
      std::string hint;
      seen.insert(a_.dropped_tags.begin(), a_.dropped_tags.end());  // what the plan did not keep
      const std::vector<std::string_view> names(seen.begin(), seen.end());
      const std::string_view bare = std::string_view(key).substr(key.starts_with("label_") ? 6 : 0);
      for (std::string_view k : names)
        if (k == bare || k == "label_" + key) hint = std::string(k);
      if (const auto near = closest_spelling(key, names); hint.empty() && near) hint = std::string(*near);
      std::string warning = step_path(s) + ": no record taking part in step \"" + a_.steps[s].id +
                            "\" has the group_by key \"" + key + "\", so all of it is unallocated" +
                            (hint.empty() ? "" : " (the records have \"" + hint + "\")");
      // Once for a step over a fleet, whose pools are split one by one.
      if (std::find(result_.warnings.begin(), result_.warnings.end(), warning) == result_.warnings.end())
        result_.warnings.push_back(std::move(warning));
    }
  }

  // Pools of a fleet no record took part in: each is all unallocated (a node nothing ran on,
  // or records whose match tag names it otherwise).
  void warn_fleet_without_records(std::size_t s, const std::vector<std::string>& pools, std::size_t of) {
    std::string names;
    for (std::size_t i = 0; i < pools.size() && i < 5; ++i) names += (i ? ", " : "") + ("\"" + pools[i] + "\"");
    if (pools.size() > 5) names += " and " + std::to_string(pools.size() - 5) + " more";
    result_.warnings.push_back(step_path(s) + ": no record takes part in " + std::to_string(pools.size()) + " of the " +
                               std::to_string(of) + " pools of step \"" + a_.steps[s].id + "\" (" + names +
                               "), so no use splits their costs (they are unallocated or idle)");
  }

  // Records of a fleet's step naming no pool whose match tag names none of its pools take no
  // part: usage of a node the bill does not have, or a tag spelt otherwise.
  void warn_unmatched(std::size_t s, const std::vector<std::size_t>& pools) {
    const Step& step = a_.steps[s];
    std::set<std::string_view> names;
    for (std::size_t p : pools) {
      const Pool& pool = a_.pools[p];
      if (const auto v = step.match->pool_tag.empty() ? std::optional<std::string_view>(pool.id) : pool.tags.get(step.match->pool_tag))
        names.insert(*v);
    }
    const bool priced = step.strategy->reads_priced_runs();
    std::set<std::string> values;  // all of them, so the few named do not depend on record order
    for (const Record& r : a_.records) {
      if (r.pool || r.priced_run() != priced || !selected(r, step)) continue;
      const auto v = r.tags.get(step.match->tag);
      if (v && names.contains(*v)) continue;
      values.insert(v ? "\"" + std::string(*v) + "\"" : "no \"" + step.match->tag + "\" tag");
    }
    if (values.empty()) return;
    std::string which;
    std::size_t named = 0;
    for (const std::string& v : values)
      if (named++ < 5) which += (which.empty() ? "" : ", ") + v;
    if (values.size() > 5) which += " and " + std::to_string(values.size() - 5) + " more";
    // Named by values, not counted: the plan may have summed rows into one record.
    result_.warnings.push_back(step_path(s) + ": records of step \"" + step.id + "\" match no pool by their tag \"" +
                               step.match->tag + "\" (" + which + "), so they take no part");
  }

  // A step in which no record takes part is all unallocated: say so, with the likely cause.
  void warn_no_records(std::size_t s) {
    const Step& step = a_.steps[s];
    const bool priced = step.strategy->reads_priced_runs();
    std::size_t other_pool = 0, of_kind = 0;
    for (const Record& r : a_.records) {
      if (r.priced_run() != priced) continue;
      ++of_kind;
      if (r.pool && r.pool != step.pool) ++other_pool;
    }
    std::string why;
    if (of_kind == 0 && bucket_) why = priced ? "no priced run falls in the bucket" : "no usage record falls in the bucket";
    else if (of_kind == 0) why = priced ? "the spec has no priced runs (records with a sku)" : "the spec has no usage records";
    else if (other_pool == of_kind) why = "every record names another pool";
    // Not counted: the plan may have summed rows into one record.
    else if (other_pool > 0) why = "some records name another pool; the others do not match its select";
    else why = "no record matches its select";
    result_.warnings.push_back(step_path(s) + ": no record takes part in step \"" + step.id + "\" (" + why + ")");
  }

  const Allocation& a_;
  const bool bucket_;
  Result result_;
  std::map<std::string, std::size_t, std::less<>> pool_index_;
  std::map<std::string, std::size_t, std::less<>> step_index_;
  std::map<std::size_t, Decimal> pool_costs_;
  std::map<std::size_t, std::vector<PartInput>> part_inputs_;  // of pools broken down into parts, costed
  std::set<std::string, std::less<>> ran_;
  std::vector<std::vector<std::size_t>> pools_of_step_;  // per step: the pools it splits
  std::size_t step_lines_from_ = 0;                      // the first line of the step running
};

}  // namespace

namespace {

// A pool the step's pool is drawn from (through `from`), with what a record pinned to it
// must match to be among the lines drawn: the from's tags and the drawing step's select.
struct DrawnFrom {
  std::string_view pool;
  const Tags* tags;
  const Step* drawing;  // whose select (and exclusions) the records drawn must match
};

// The pools `pool` is drawn from, nearest first.
std::vector<DrawnFrom> drawn_from(const Allocation& allocation, const std::optional<std::string>& pool) {
  std::vector<DrawnFrom> out;
  std::optional<std::string_view> at;
  if (pool) at = *pool;
  // At most one level per step: from-chains are checked to run forward, so they end.
  for (std::size_t level = 0; at && level <= allocation.steps.size(); ++level) {
    const auto p = std::find_if(allocation.pools.begin(), allocation.pools.end(), [&](const Pool& x) { return x.id == *at; });
    const auto* from = p == allocation.pools.end() ? nullptr : std::get_if<FromStepSource>(&p->source);
    if (!from) break;
    const auto s = std::find_if(allocation.steps.begin(), allocation.steps.end(), [&](const Step& x) { return x.id == from->step; });
    if (s == allocation.steps.end() || !s->pool) break;
    out.push_back({*s->pool, &from->tags, &*s});
    at = *s->pool;
  }
  return out;
}

}  // namespace

Rational exact_amount(const std::variant<CostSource, AmortizedSource>& source) {
  if (const auto* c = std::get_if<CostSource>(&source)) return c->cost.to_rational();
  const auto& a = std::get<AmortizedSource>(source);
  const auto term = a.term.length();
  if (term.count() == 0) throw std::invalid_argument("has zero length");
  return a.amount.to_rational() * seconds_of(a.window.overlap(a.term)) / seconds_of(term);
}

std::vector<std::size_t> pools_of_step(const Allocation& allocation, const Step& step, const std::string& step_path) {
  std::vector<std::size_t> out;
  const auto index_of = [&](const std::string& id) {
    for (std::size_t p = 0; p < allocation.pools.size(); ++p)
      if (allocation.pools[p].id == id) return p;
    return allocation.pools.size();
  };
  if (step.pool) {
    const std::size_t p = index_of(*step.pool);
    if (p == allocation.pools.size()) throw SpecError(step_path + ".pool", "unknown pool \"" + *step.pool + "\"");
    out.push_back(p);
  } else if (step.pools_tagged) {
    for (std::size_t p = 0; p < allocation.pools.size(); ++p)
      if (allocation.pools[p].tags.contains_all(*step.pools_tagged)) out.push_back(p);
    if (out.empty()) throw SpecError(step_path + ".pools.tags", "no pool has these tags");
  } else {
    for (std::size_t i = 0; i < step.pools.size(); ++i) {
      const std::size_t p = index_of(step.pools[i]);
      const std::string path = step_path + ".pools[" + std::to_string(i) + "]";
      if (p == allocation.pools.size()) throw SpecError(path, "unknown pool \"" + step.pools[i] + "\"");
      if (std::find(out.begin(), out.end(), p) != out.end()) throw SpecError(path, "pool \"" + step.pools[i] + "\" is listed twice");
      out.push_back(p);
    }
    std::sort(out.begin(), out.end());  // spec order, whatever the list's
  }
  return out;
}

std::vector<const Record*> records_of_step(const Allocation& allocation, const Step& step) {
  std::vector<const Record*> out;
  if (!step.strategy || !step.strategy->reads_records()) return out;
  const bool priced = step.strategy->reads_priced_runs();
  // A drill-down whose pool no record names reads the records of the lines it is drawn
  // from: those pinned to the nearest pool up its `from` chain that records name, when
  // they belong to the lines drawn at every level between (inputs pin usage to the node).
  std::set<std::string_view> named;
  for (const Record& r : allocation.records)
    if (r.pool && r.priced_run() == priced) named.insert(*r.pool);
  std::vector<DrawnFrom> ancestors;
  if (step.pool && !named.contains(*step.pool)) {
    ancestors = drawn_from(allocation, step.pool);
    const auto nearest = std::find_if(ancestors.begin(), ancestors.end(), [&](const DrawnFrom& d) { return named.contains(d.pool); });
    ancestors.erase(nearest == ancestors.end() ? ancestors.begin() : nearest + 1, ancestors.end());
  }
  const auto drawn = [&](const Record& r) {
    if (ancestors.empty() || *r.pool != ancestors.back().pool) return false;
    return std::all_of(ancestors.begin(), ancestors.end(),
                       [&](const DrawnFrom& d) { return r.tags.contains_all(*d.tags) && selected(r, *d.drawing); });
  };
  // In a step over a fleet, a record naming no pool takes part in the pool its match tag names.
  std::optional<std::string_view> match_value;
  if (step.match && step.pool) {
    const auto p = std::find_if(allocation.pools.begin(), allocation.pools.end(), [&](const Pool& x) { return x.id == *step.pool; });
    if (p != allocation.pools.end())
      match_value = step.match->pool_tag.empty() ? std::optional<std::string_view>(p->id) : p->tags.get(step.match->pool_tag);
  }
  const bool unnamed = step.match && step.pool && !match_value;  // a pool without the tag: no tag names it
  for (const Record& r : allocation.records) {
    if (r.priced_run() != priced) continue;
    if (r.pool && step.pool != r.pool && !drawn(r)) continue;
    if (!r.pool && (unnamed || (match_value && r.tags.get(step.match->tag) != match_value))) continue;
    if (selected(r, step)) out.push_back(&r);
  }
  return out;
}


// ---- Series: the steps once per bucket ----------------------------------------------

namespace {

// The part of each bucket in [span.start, span.end), as weights.
std::vector<Rational> overlaps(const std::vector<Interval>& buckets, const Interval& span) {
  std::vector<Rational> out;
  out.reserve(buckets.size());
  for (const Interval& b : buckets) out.emplace_back(BigInt(b.overlap(span).count()));
  return out;
}

// `total` (rounded already) spread over the buckets in proportion to `weights`, rounded
// together so the buckets sum to it exactly; equal remainders go to the earlier bucket.
std::vector<Decimal> spread(Decimal total, const std::vector<Rational>& weights, Decimal precision) {
  Rational sum = 0;
  for (const Rational& w : weights) sum += w;
  std::vector<Rational> exact;
  exact.reserve(weights.size());
  const Rational per_weight = total.to_rational() / sum;
  for (const Rational& w : weights) exact.push_back(per_weight * w);
  return round_largest_remainder(exact, total, precision, {}, RemainderTies::in_order);
}

class SeriesRunner {
 public:
  explicit SeriesRunner(const Allocation& a) : a_(a), whole_(a) {
    const Series& series = *a.series;
    try {
      buckets_ = buckets_between(series.start, series.end, series.step);
    } catch (const std::invalid_argument& e) {
      throw SpecError("series", e.what());
    }
    if (buckets_.empty()) throw SpecError("series.end", "must be after start (" + series.start.to_string() + ")");
  }

  Result run() {
    const std::size_t n = buckets_.size();
    const std::vector<std::vector<std::optional<PoolSource>>> amounts = pool_amounts();
    std::vector<std::vector<Record>> records = records_by_bucket();
    Result out;
    std::vector<Decimal> pool_totals(a_.pools.size());
    std::map<std::string, std::size_t> warnings;  // each warning once, with the buckets it was in
    std::vector<std::string> warning_order;
    std::map<std::string, std::string> first_bucket;
    std::vector<std::map<Tags, StatementRow>> rows(a_.statements.size());
    std::vector<Decimal> statement_totals(a_.statements.size());
    const bool keep_buckets = a_.governance && !a_.governance->unit_economics.empty();
    std::vector<Allocation> kept;
    for (std::size_t b = 0; b < n; ++b) {
      Allocation bucket;
      bucket.currency = a_.currency;
      bucket.precision = a_.precision;
      bucket.catalog = a_.catalog;
      bucket.pools = a_.pools;
      for (std::size_t p = 0; p < a_.pools.size(); ++p) {
        Pool& pool = bucket.pools[p];
        pool.period.reset();
        if (!amounts[p][b]) continue;  // drawn from a step: that bucket's lines
        pool.source = *amounts[p][b];
        pool.currency.reset();  // converted with the whole pool
      }
      bucket.records = std::move(records[b]);
      bucket.steps = a_.steps;
      bucket.fx = a_.fx;
      bucket.dropped_tags = a_.dropped_tags;
      bucket.limits = a_.limits;
      bucket.statements = a_.statements;
      Result r = Runner(bucket, true).run();
      if (keep_buckets) kept.push_back(std::move(bucket));  // unit economics reads each bucket's records
      const Interval& at = buckets_[b];
      if (b == 0) {
        out.currency = r.currency;
        out.precision = r.precision;
        out.steps = r.steps;
        out.inputs = a_.inputs;
      }
      for (std::size_t p = 0; p < r.pools.size(); ++p) pool_totals[p] += r.pools[p].cost;
      out.series.push_back({at, std::move(r.pools)});
      for (Line& l : r.lines) {
        l.bucket = at;
        out.lines.push_back(std::move(l));
      }
      for (UnitCost& u : r.unit_costs) {
        u.bucket = at;
        out.unit_costs.push_back(std::move(u));
      }
      for (Coverage& c : r.coverage) {
        c.bucket = at;
        out.coverage.push_back(std::move(c));
      }
      for (FxRate& f : r.fx_used)
        if (std::none_of(out.fx_used.begin(), out.fx_used.end(), [&](const FxRate& x) { return x.from == f.from && x.to == f.to; }))
          out.fx_used.push_back(std::move(f));
      for (std::string& w : r.warnings) {
        if (warnings[w]++ == 0) {
          warning_order.push_back(w);
          first_bucket[w] = at.start().to_string();
        }
      }
      for (std::size_t i = 0; i < r.statements.size(); ++i) {
        statement_totals[i] += r.statements[i].total;
        for (StatementRow& row : r.statements[i].rows) {
          auto [it, fresh] = rows[i].try_emplace(row.tags);
          StatementRow& merged = it->second;
          if (fresh) {
            merged.tags = row.tags;
            merged.kind = row.kind;
            merged.buckets.assign(n, Decimal{});
          } else if (merged.kind != row.kind) {
            merged.kind = LineKind::allocated;
          }
          merged.cost += row.cost;
          merged.buckets[b] += row.cost;
          for (std::size_t k = 0; k < merged.made_of.size(); ++k) merged.made_of[k] += row.made_of[k];
          for (StatementPart& part : row.parts) {
            part.bucket = at;
            merged.parts.push_back(std::move(part));
          }
        }
      }
    }
    for (std::size_t p = 0; p < a_.pools.size(); ++p) out.pools.push_back({a_.pools[p].id, pool_totals[p]});
    out.warnings = std::move(warnings_);
    // Records the series does not cover take no part: said, not dropped silently.
    if (outside_ > 0)
      out.warnings.push_back("series: " + std::to_string(outside_) + (outside_ == 1 ? " record falls" : " records fall") +
                             " outside the series (" + buckets_.front().start().to_string() + " to " +
                             buckets_.back().end().to_string() + "), so " + (outside_ == 1 ? "it takes" : "they take") +
                             " no part");
    // Pools in another currency were converted whole, before they were spread.
    std::vector<FxRate> fx = whole_.fx_used();
    for (FxRate& f : out.fx_used)
      if (std::none_of(fx.begin(), fx.end(), [&](const FxRate& x) { return x.from == f.from && x.to == f.to; })) fx.push_back(std::move(f));
    out.fx_used = std::move(fx);
    for (const std::string& w : warning_order) {
      const std::size_t in = warnings[w];
      out.warnings.push_back(in == n ? w
                                     : w + " (in " + std::to_string(in) + " of the " + std::to_string(n) +
                                           " buckets, the first starting " + first_bucket[w] + ")");
    }
    for (std::size_t i = 0; i < a_.statements.size(); ++i) {
      Statement& st = out.statements.emplace_back();
      st.id = a_.statements[i].id;
      st.group_by = a_.statements[i].group_by;
      st.total = statement_totals[i];
      for (auto& [tags, row] : rows[i]) st.rows.push_back(std::move(row));
    }
    if (a_.governance) out.governance = std::make_shared<const GovernanceReport>(evaluate(*a_.governance, a_, out, kept));
    return out;
  }

 private:
  // Per pool, its amount in each bucket (a cost, or a pool's parts); none for a pool drawn
  // from a step's lines.
  std::vector<std::vector<std::optional<PoolSource>>> pool_amounts() {
    const Interval whole(buckets_.front().start(), buckets_.back().end());
    const Decimal precision = a_.precision.value_or(a_.currency.minor_unit());
    std::vector<std::vector<std::optional<PoolSource>>> out;
    for (std::size_t p = 0; p < a_.pools.size(); ++p) {
      const Pool& pool = a_.pools[p];
      const std::string path = "pools[" + std::to_string(p) + "]";
      auto& amounts = out.emplace_back(buckets_.size());
      const auto* price = std::get_if<PriceSource>(&pool.source);
      if (std::holds_alternative<FromStepSource>(pool.source) || (price && price->interval)) {
        if (pool.period)
          throw SpecError(path + ".period", price ? "a price over an interval is priced over each bucket it overlaps: it takes no period"
                                                  : "a pool drawn from a step takes each bucket's lines: it takes no period");
        if (!price) continue;
        // Priced over its overlap with each bucket at the rates then, rounded together.
        std::vector<Rational> exact;
        Rational sum = 0;
        for (const Interval& b : buckets_) {
          const Instant s = std::max(b.start(), price->interval->start());
          const Instant e = std::min(b.end(), price->interval->end());
          exact.push_back(e > s ? whole_.exact_pool_cost(p, Interval(s, e)) : Rational(0));
          sum += exact.back();
        }
        const Decimal total = whole_.round_pool(sum, path);
        const auto rounded = round_largest_remainder(exact, total, precision, {}, RemainderTies::in_order);
        for (std::size_t b = 0; b < buckets_.size(); ++b) amounts[b] = CostSource{rounded[b]};
        continue;
      }
      if (!pool.charges.empty()) {
        const auto rounded = charged(p, path, precision);
        for (std::size_t b = 0; b < buckets_.size(); ++b) amounts[b] = CostSource{rounded[b]};
        continue;
      }
      const Interval period = pool.period.value_or(whole);
      if (whole.overlap(period).count() == 0)
        throw SpecError(path + ".period", "does not overlap the series (" + whole.start().to_string() + " to " +
                                              whole.end().to_string() + ")");
      if (const auto* parts = std::get_if<PartsSource>(&pool.source)) {
        spread_parts(p, *parts, overlaps(buckets_, period), precision, amounts);
        continue;
      }
      const auto rounded = spread(whole_.pool_cost(p), overlaps(buckets_, period), precision);
      for (std::size_t b = 0; b < buckets_.size(); ++b) amounts[b] = CostSource{rounded[b]};
    }
    return out;
  }

  // A pool broken down by resource, per bucket: each part spread like the pool, all the
  // parts of all the buckets rounded together (equal remainders to the earlier bucket), so
  // they sum to the pool's cost; each bucket's pool has the same parts, with its amounts.
  void spread_parts(std::size_t p, const PartsSource& parts, const std::vector<Rational>& weights, Decimal precision,
                    std::vector<std::optional<PoolSource>>& amounts) {
    const Decimal total = whole_.pool_cost(p);  // checks every part first
    const Rational rate = whole_.conversion(p);
    Rational weight_sum = 0;
    for (const Rational& w : weights) weight_sum += w;
    std::vector<Rational> exact;
    for (const Rational& w : weights)
      for (const PoolPart& part : parts.parts) exact.push_back(exact_amount(part.source) * rate * w / weight_sum);
    const std::vector<Decimal> rounded = round_largest_remainder(exact, total, precision, {}, RemainderTies::in_order);
    for (std::size_t b = 0, i = 0; b < weights.size(); ++b) {
      PartsSource in_bucket = parts;
      for (PoolPart& part : in_bucket.parts) part.source = CostSource{rounded[i++]};
      amounts[b] = std::move(in_bucket);
    }
  }

  // A pool's amount per bucket from its charges: each charge's cost by its overlap with the
  // bucket (a charge of no length in the bucket holding it), rounded together. What falls
  // outside the series takes no part, and is told.
  std::vector<Decimal> charged(std::size_t p, const std::string& path, Decimal precision) {
    const Pool& pool = a_.pools[p];
    const auto* cost = std::get_if<CostSource>(&pool.source);
    if (!cost) throw SpecError(path + ".charges", "are the parts of a cost: the pool has no cost");
    if (pool.period) throw SpecError(path + ".period", "a pool charged over time (charges) takes no period");
    std::vector<Rational> exact(buckets_.size());
    Decimal sum;
    for (const Charge& c : pool.charges) {
      sum += c.cost;
      const std::int64_t length = c.period.length().count();
      if (length == 0) {
        if (const auto b = bucket_holding(buckets_, c.period.start())) exact[*b] += c.cost.to_rational();
        continue;
      }
      const Rational per_ns = c.cost.to_rational() / BigInt(length);
      for_each_overlap(buckets_, c.period, [&](std::size_t b, std::int64_t ns) { exact[b] += per_ns * BigInt(ns); });
    }
    if (sum != cost->cost)
      throw SpecError(path + ".charges", "sum to " + sum.to_string() + ", not the pool's cost " + cost->cost.to_string());
    const Rational rate = whole_.conversion(p);
    Rational inside = 0;
    for (Rational& e : exact) {
      e *= rate;
      inside += e;
    }
    const Decimal total = whole_.round_pool(inside, path);
    const Decimal whole = whole_.pool_cost(p);
    if (total != whole)
      warnings_.push_back(path + " (\"" + pool.id + "\"): " + (whole - total).to_string() +
                          " of its cost is charged outside the series, and takes no part");
    return round_largest_remainder(exact, total, precision, {}, RemainderTies::in_order);
  }

  // Each bucket's records: a record over an interval in every bucket it overlaps, with its
  // part of the measures; an instant in the bucket holding it; one with neither in every
  // bucket, spread like a pool without a period; a priced run clipped to each bucket.
  std::vector<std::vector<Record>> records_by_bucket() {
    const Interval whole(buckets_.front().start(), buckets_.back().end());
    std::vector<std::vector<Record>> out(buckets_.size());
    const auto holding = [&](Instant t) { return bucket_holding(buckets_, t); };
    outside_ = 0;
    for (const Record& r : a_.records) {
      if (r.at && (r.start || r.end))
        throw SpecError(r.origin + ".at", "an instant, or an interval with start and end: give one, not both");
      if (r.priced_run()) {
        if (!r.start || !r.end) {  // per_experiment names what it misses
          out.front().push_back(r);
          continue;
        }
        const Interval run(*r.start, *r.end);
        const Interval billed = r.window.value_or(run);
        if (billed.length().count() == 0) {
          if (const auto b = holding(billed.start())) out[*b].push_back(r);
          else ++outside_;
          continue;
        }
        if (whole.overlap(billed).count() == 0) ++outside_;
        std::vector<Record*> parts;
        for (std::size_t b = 0; b < buckets_.size(); ++b) {
          const Instant s = std::max(buckets_[b].start(), billed.start());
          const Instant e = std::min(buckets_[b].end(), billed.end());
          if (e <= s) continue;
          Record& part = out[b].emplace_back(r);
          part.window = Interval(s, e);
          parts.push_back(&part);
        }
        round_run_parts(run, parts);
        continue;
      }
      if (r.start.has_value() != r.end.has_value())
        throw SpecError(r.origin + (r.start ? ".end" : ".start"), "a record over an interval needs both start and end");
      const std::optional<Instant> instant = r.at ? r.at : (r.start && *r.start == *r.end ? r.start : std::nullopt);
      if (instant) {
        if (const auto b = holding(*instant)) out[*b].emplace_back(r).at.reset();  // placed
        else ++outside_;
        continue;
      }
      const Interval span = r.start ? Interval(*r.start, *r.end) : whole;
      if (whole.overlap(span).count() == 0) ++outside_;
      for (std::size_t b = 0; b < buckets_.size(); ++b) {
        const auto overlap = buckets_[b].overlap(span);
        if (overlap.count() == 0) continue;
        Record& part = out[b].emplace_back(r);
        if (overlap != span.length()) {
          // In lowest terms once here, not in each Rational the strategies make of it.
          const std::int64_t common = std::gcd(overlap.count(), span.length().count());
          part.portion_part = overlap.count() / common;
          part.portion_whole = span.length().count() / common;
        }
      }
    }
    return out;
  }

  // A priced run billed once as a whole: its parts' costs (each its window's share) rounded
  // together, so the buckets sum to the run's rounded cost. A run the catalog cannot price
  // is left to per_experiment, which says why.
  void round_run_parts(const Interval& run, const std::vector<Record*>& parts) const {
    if (parts.empty() || !a_.catalog || !parts.front()->count) return;
    const Record& r = *parts.front();
    std::vector<Rational> exact;
    Rational sum = 0;
    try {
      for (const Record* part : parts) {
        exact.push_back(a_.catalog->run_cost_part(*r.sku, r.tier.value_or("on_demand"), *r.count, run, *part->window));
        sum += exact.back();
      }
    } catch (const std::exception&) {
      return;
    }
    const Decimal precision = a_.precision.value_or(a_.currency.minor_unit());
    const Decimal total = whole_.round_pool(sum, r.origin);
    const std::vector<Decimal> rounded = round_largest_remainder(exact, total, precision, {}, RemainderTies::in_order);
    for (std::size_t i = 0; i < parts.size(); ++i) parts[i]->billed_part = rounded[i];
  }

  const Allocation& a_;
  Runner whole_;  // the document's checks, and its pools priced over the whole series
  std::vector<Interval> buckets_;
  std::size_t outside_ = 0;  // records in no bucket
  std::vector<std::string> warnings_;  // of the whole series, before each bucket's
};

}  // namespace

Result run(const Allocation& allocation) {
  // Error messages name records by origin; records built in code get their index.
  const bool named = std::all_of(allocation.records.begin(), allocation.records.end(),
                                 [](const Record& r) { return !r.origin.empty(); });
  const auto run_named = [](const Allocation& a) { return a.series ? SeriesRunner(a).run() : Runner(a).run(); };
  if (named) return run_named(allocation);
  Allocation copy = allocation;
  for (std::size_t i = 0; i < copy.records.size(); ++i)
    if (copy.records[i].origin.empty()) copy.records[i].origin = "records[" + std::to_string(i) + "]";
  return run_named(copy);
}

APPORTION_END_NAMESPACE
