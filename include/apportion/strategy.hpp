#pragma once
// The strategy plug-in interface, the mechanics strategies share (grouping, weighted
// splitting, the zero-denominator rule), and the registry of strategies by name.

#include <array>
#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "apportion/dictionary.hpp"
#include "apportion/engine.hpp"
#include "apportion/heap_optional.hpp"
#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE

// A part of the step's pool, with its exact cost.
struct PartInput {
  const PoolPart* part = nullptr;
  Rational cost;
  std::string path;  // "pools[0].parts[1]", for messages
};

// What a strategy sees of one step.
struct StepInput {
  const Step& step;
  std::string step_path;              // "steps[2]", for error messages
  std::optional<Decimal> pool_cost;   // the rounded pool; none for strategies without one
  std::vector<const Record*> records; // those taking part, in input order
  std::vector<std::string> group_by;  // resolved (the step's, or the strategy's default)
  const Catalog* catalog = nullptr;   // null when the allocation has none
  Decimal precision;
  std::vector<PartInput> parts{};     // the pool's parts when it is broken down (PartsSource)
};

// A line before rounding: the engine sorts and rounds a step's draft lines together.
struct DraftLine {
  LineKind kind = LineKind::allocated;
  Tags tags;
  Rational cost;  // exact
  std::optional<Rational> weight;
  std::optional<Rational> share;
  HeapOptional<Rational> split_cost, unused_cost, gpu_hours;  // as in Line
  // Of `cost`, what the line took in of overhead and of idle (or unused) cost, exactly.
  HeapOptional<Rational> absorbed_overhead, absorbed_idle;
};

struct StepOutput {
  std::vector<DraftLine> lines;
  std::vector<UnitCost> unit_costs;
  // What ran but looks wrong (more weight than the idle capacity); the engine adds the
  // step's path in front and puts them in the result's warnings.
  std::vector<std::string> warnings;
};

// What a strategy reads of the records taking part in its step, beyond the step's group_by
// and select keys: the plan the spec runner makes from the steps keeps only that of the
// records it reads (docs/architecture.md). `rows` false: the strategy's lines depend on the
// records only through the sums of these measures per value of these keys, so rows with the
// same values may be read as one record holding their sums.
struct RecordNeeds {
  std::vector<std::string> keys;
  std::vector<std::string> measures;
  bool rows = true;  // a strategy that does not say needs every record as it is
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // What the step reads of its records. The default, for a strategy added to a registry,
  // is every record as it is; built-in strategies name their measures and keys.
  virtual RecordNeeds record_needs() const { return {}; }
  // The name it is registered under, for outputs that say how a line was allocated (FOCUS's
  // AllocatedMethodId). Strategies added to a registry may override it.
  virtual std::string_view name() const { return "custom"; }
  // The kind of line a record's weight is reported on when it has all its group keys:
  // allocated, or overhead for what a strategy sets apart (per_namespace's overhead
  // namespaces). Unit economics uses it to find a line's records.
  virtual LineKind kind_of(const Record&) const { return LineKind::allocated; }
  // True (the default) for strategies that split a pool: their lines must sum to it.
  // False for strategies that price records themselves (per_experiment).
  virtual bool splits_pool() const { return true; }
  // True for strategies that read priced runs (records with a SKU) instead of the rest.
  virtual bool reads_priced_runs() const { return false; }
  // For a strategy that prices records itself (splits_pool() false): true when its lines are
  // rounded together (the step's exact total rounded half-even once, then split over the
  // lines by their exact costs with the largest-remainder rule, so they add up to it);
  // false when each line is rounded half-even alone.
  virtual bool rounds_lines_together() const { return false; }
  // The group_by used when a step gives none; empty means the step must give one.
  virtual std::vector<std::string> default_group_by() const { return {}; }
  // False for strategies that read no records (fixed): group_by and select are refused.
  virtual bool reads_records() const { return true; }
  virtual StepOutput run(const StepInput& input) const = 0;
};

// ---- Shared mechanics ---------------------------------------------------------------

namespace grouping {

inline constexpr std::string_view unallocated_value = "__unallocated__";
inline constexpr std::string_view idle_value = "__idle__";

// The record's values of the group keys, or none when it lacks one of them.
std::optional<Tags> key_of(const Record& record, std::span<const std::string> group_by);
// Every group key set to one marker value: {"team": "__unallocated__"}.
Tags marker_tags(std::span<const std::string> group_by, std::string_view marker);
// The tags of the unallocated line of a record lacking a group key: every key marked, or
// with keep_present (Step::keep_present_keys) its own values and the marker for the rest.
Tags unallocated_tags(const Record& record, std::span<const std::string> group_by, bool keep_present);

// The record's values of the group keys, with `marker` for the ones it lacks.
Tags key_or_marker(const Record& record, std::span<const std::string> group_by, std::string_view marker);

}  // namespace grouping

// A Rational that is zero on nearly every line: held on the heap when it is not, so that it
// is one pointer wide (a step of a million lines has three a line).
class SparseRational {
 public:
  SparseRational() = default;
  // Implicit, as a Rational's own are: lines are written {kind, tags, weight, 0}.
  SparseRational(Rational value) {
    if (value != 0) value_ = std::move(value);
  }
  // Integers only: a double or a wider integer must not reach a Rational through `int`.
  template <std::integral Integer>
  SparseRational(Integer value) : SparseRational(Rational(value)) {}
  const Rational& value() const noexcept { return value_ ? *value_ : zero(); }
  bool is_zero() const noexcept { return !value_; }
  SparseRational& operator+=(const Rational& add) {
    if (value_) {
      *value_ += add;
      if (*value_ == 0) value_.reset();
    } else if (add != 0) {
      value_ = add;
    }
    return *this;
  }

 private:
  static const Rational& zero() noexcept;
  HeapOptional<Rational> value_;
};

// Weighted lines over one denominator: each line's cost is pool x weight / denominator,
// with `spread_weight` (absorbed weight that is not reported) added to its weight. A zero
// denominator gives the whole pool as one unallocated line. Shares are reported weight /
// denominator.
struct WeightedLine {
  LineKind kind = LineKind::allocated;
  Tags tags;
  Rational weight;               // reported weight
  SparseRational spread_weight;  // weight absorbed from overhead or idle, not reported
  // Of weight + spread_weight, what came from overhead and from idle (spread or assigned to
  // the line): split_by_weight reports their costs as the line's absorbed costs.
  SparseRational absorbed_overhead{}, absorbed_idle{};
};
StepOutput split_by_weight(const StepInput& input, std::vector<WeightedLine> lines, const Rational& denominator);

// Per-group sums of a weight over a step's records: records lacking a group key sum into
// the unallocated group (or groups, by the keys they have, with Step::keep_present_keys).
struct GroupedWeights {
  std::map<Tags, Rational> groups;
  std::map<Tags, Rational> unallocated;  // by the unallocated lines' tags
  Rational total;

  void add(const StepInput& input, const Record& record, const Rational& weight);
  // One allocated line per group, then the unallocated lines if any; from an rvalue, the
  // groups' tags and weights are moved into the lines.
  std::vector<WeightedLine> lines(const StepInput& input) const&;
  std::vector<WeightedLine> lines(const StepInput& input) &&;
};

// An exact sum of Decimals and Rationals: Decimals add in a checked 128-bit integer, and a
// sum that would overflow carries into a Rational, so no addition is ever inexact.
class ExactSum {
 public:
  void add(Decimal d) {
    int128 sum;
    if (__builtin_add_overflow(acc_, d.raw(), &sum)) {
      carry_ += Decimal::from_raw(acc_).to_rational();
      acc_ = d.raw();
    } else {
      acc_ = sum;
    }
  }
  void add(const Rational& r) { carry_ += r; }
  Rational value() const {
    Rational decimals = Decimal::from_raw(acc_).to_rational();
    return carry_.is_zero() ? decimals : carry_.value() + decimals;
  }

 private:
  int128 acc_ = 0;
  SparseRational carry_;  // what overflowed acc_, and weights that are not Decimals
};

// GroupedWeights for many records: a record's group is found from its tag values without
// building Tags (a Dictionary of their bytes), and weights that are Decimals add as
// ExactSums, so the Rationals are made once per group, by lines(). The sums are exactly
// those GroupedWeights::add would give.
class GroupedSums {
 public:
  explicit GroupedSums(std::span<const std::string> group_by, bool keep_present_keys = false)
      : group_by_(group_by.begin(), group_by.end()), keep_present_keys_(keep_present_keys) {}
  void add(const Record& record, Decimal weight) { sum_for(record).add(weight), total_.add(weight); }
  void add(const Record& record, const Rational& weight) { sum_for(record).add(weight), total_.add(weight); }
  Rational total() const { return total_.value(); }
  // GroupedWeights::lines() of the same records: one allocated line per group in the order
  // of their tags, then the unallocated lines if any. Sorted here, not through a map. From
  // an rvalue, the groups' tags move into the lines (a million tags are not touched twice).
  std::vector<WeightedLine> lines(const StepInput&) const& { return lines_of(*this); }
  std::vector<WeightedLine> lines(const StepInput&) && { return lines_of(*this); }

 private:
  ExactSum& sum_for(const Record& record);
  template <class Self>
  static std::vector<WeightedLine> lines_of(Self& self);

  struct Group {
    Tags key;  // its group_by tags
    ExactSum sum;
    // The first 16 bytes of the key's first value, zero-padded: what lines() sorts by,
    // kept while the key is at hand rather than read again from a million keys.
    std::array<unsigned char, 16> head{};
  };
  std::vector<std::string> group_by_;
  Dictionary index_;  // the group keys' values -> groups_
  std::vector<Group> groups_;
  std::size_t shared_ = 0;  // the bytes every group's first value begins with
  bool keep_present_keys_;
  std::map<Tags, ExactSum> unallocated_;  // by the unallocated lines' tags
  ExactSum total_;
  std::string scratch_;
};

// ---- Registry -----------------------------------------------------------------------

// Builds a configured strategy from a step's options. The reader holds the step object:
// the factory takes its own keys from it; the runner then refuses any key left unread.
using StrategyFactory = std::function<std::shared_ptr<const Strategy>(ObjectReader& options)>;

class StrategyRegistry {
 public:
  // A registry holding the built-in strategies.
  static StrategyRegistry with_builtins();
  // The process-wide registry the spec runner uses; starts with the built-ins.
  static StrategyRegistry& global();

  // Adds a strategy under `name`; a name already present is std::invalid_argument.
  void add(std::string name, StrategyFactory factory);
  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;
  // Builds the strategy `name` from options, or none when the name is unknown.
  std::shared_ptr<const Strategy> make(std::string_view name, ObjectReader& options) const;

  StrategyRegistry() = default;
  StrategyRegistry(const StrategyRegistry& other);
  StrategyRegistry& operator=(const StrategyRegistry& other);

 private:
  mutable std::shared_mutex mutex_;  // many readers, rare writers
  std::map<std::string, StrategyFactory, std::less<>> factories_;
};

APPORTION_END_NAMESPACE
