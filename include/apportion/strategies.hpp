#pragma once
// The built-in strategies of the allocation spec, usable directly from C++:
//   Step{"s1", std::make_shared<PerNamespace>(PerNamespace::Options{...}), "node"}
// Their options mirror the spec's keys (docs/spec.md).

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "apportion/strategy.hpp"

APPORTION_BEGIN_NAMESPACE

// A weight: one measure, or a linear combination {"tokens_prompt": 1, "tokens_generation": 3}.
struct WeightExpression {
  std::vector<std::pair<std::string, Decimal>> terms;
  static WeightExpression measure(std::string name) { return {{{std::move(name), Decimal(1)}}}; }
  Rational of(const Record& record) const;
  // The measures it reads.
  std::vector<std::string> measures() const;
  // The same weight as a Decimal, or none when it is not one (a fractional coefficient, or
  // beyond the Decimal range).
  std::optional<Decimal> decimal_of(const Record& record) const;
};

class Proportional final : public Strategy {
 public:
  std::string_view name() const override { return "proportional"; }
  RecordNeeds record_needs() const override;
  explicit Proportional(WeightExpression weight) : weight_(std::move(weight)) {}
  StepOutput run(const StepInput& input) const override;

 private:
  WeightExpression weight_;
};

// Where overhead or idle cost goes: its own lines, spread over the allocated lines by
// weight, spread over them in equal parts (OpenCost's even sharing), or assigned to the one
// allocated line with these tags.
struct SeparatePolicy {};
struct ProportionalPolicy {};
struct AssignPolicy {
  Tags tags;
};
struct EvenPolicy {};
using CostPolicy = std::variant<SeparatePolicy, ProportionalPolicy, AssignPolicy, EvenPolicy>;

// The mechanics of a CostPolicy, shared by per_namespace (overhead, idle) and commitment
// (unused). settle_by_policy spreads `weight` over the allocated lines in proportion to their
// effective weight (or in equal parts), or assigns it to the allocated line with the policy's tags (created if
// absent; it reports the weight it absorbs). It returns false when the weight must stay on
// its own lines: a separate policy, or nothing allocated to spread over. An assign policy
// whose tags do not have exactly the group_by keys is SpecError at policy_path + ".assign";
// check_policy makes that check alone.
// `as` says what the weight is, for the lines' absorbed costs: overhead, or idle (unused).
enum class Absorbed { overhead, idle };
void check_policy(const CostPolicy& policy, const std::string& policy_path, std::span<const std::string> group_by);
bool settle_by_policy(std::vector<WeightedLine>& lines, const CostPolicy& policy, const Rational& weight,
                      const std::string& policy_path, std::span<const std::string> group_by, Absorbed as);

class PerNamespace final : public Strategy {
 public:
  std::string_view name() const override { return "per_namespace"; }
  RecordNeeds record_needs() const override;
  struct Options {
    WeightExpression weight = WeightExpression::measure("gpu_seconds");
    std::vector<std::string> overhead_namespaces{"kube-system", "gpu-operator", "monitoring"};
    // Records with one of these values of each key are overhead too, whatever their
    // namespace (a label `app=shared`, OpenCost's label sharing).
    Selector overhead_tags;
    CostPolicy overhead_policy = SeparatePolicy{};
    std::optional<Decimal> idle_capacity;  // in weight units
    CostPolicy idle_policy = SeparatePolicy{};
    // Per resource, the weight of its use: when given, the pool must be broken down into
    // parts (PartsSource), and each part is split by its resource's use among the records
    // holding the part's tags, its idle (beyond that use, up to its capacity) settled by
    // idle_policy resource by resource (OpenCost's idle sharing). `weight` and
    // `idle_capacity` are then unused.
    std::map<std::string, WeightExpression> resource_weights;
    // Resources of the parts that are overhead as a whole (a fixed fee): settled with the
    // overhead namespaces, or kept on one line with "__shared__" for each group key.
    std::vector<std::string> overhead_resources;
  };
  static constexpr std::string_view shared_value = "__shared__";
  explicit PerNamespace(Options options) : options_(std::move(options)) {}
  std::vector<std::string> default_group_by() const override { return {"namespace"}; }
  LineKind kind_of(const Record& record) const override;
  StepOutput run(const StepInput& input) const override;

 private:
  StepOutput run_by_parts(const StepInput& input) const;
  Options options_;
};

struct TokenWeights {
  Decimal prompt{1};
  Decimal generation{1};
};

// Prompt tokens not served from the prefix cache (tokens_prompt - tokens_cached); more
// cached than prompt tokens is SpecError naming the record.
Rational uncached_prompt_tokens(const Record& record);

class PerTenant final : public Strategy {
 public:
  std::string_view name() const override { return "per_tenant"; }
  RecordNeeds record_needs() const override;
  // list_price: what a record's tokens cost at the catalog's per-token list price, its SKU
  // being sku_prefix + its model_tag tag: "litellm/" + the model litellm-spend read, the
  // SKUs litellm-prices loads.
  enum class Weight { tokens, requests, list_price };
  enum class Cached { proportional, tenant, separate };
  struct Options {
    Weight weight = Weight::tokens;
    TokenWeights token_weights;
    Cached cached = Cached::proportional;
    std::string sku_prefix = "litellm/";
    std::string model_tag = "litellm_model";
  };
  explicit PerTenant(Options options) : options_(std::move(options)) {}
  std::vector<std::string> default_group_by() const override { return {"team"}; }
  StepOutput run(const StepInput& input) const override;

 private:
  Options options_;
};

class PerToken final : public Strategy {
 public:
  std::string_view name() const override { return "per_token"; }
  RecordNeeds record_needs() const override;
  struct Phases {
    Decimal prompt;
    Decimal generation;
  };
  struct Options {
    TokenWeights token_weights;
    std::vector<std::string> rate_by{"model"};
    Decimal unit_precision = Decimal::parse("0.0001");
    std::optional<Phases> phases;
  };
  explicit PerToken(Options options) : options_(std::move(options)) {}
  std::vector<std::string> default_group_by() const override { return {"team"}; }
  StepOutput run(const StepInput& input) const override;

 private:
  Options options_;
};

class PerExperiment final : public Strategy {
 public:
  std::string_view name() const override { return "per_experiment"; }
  // It reads priced runs, which are never read as sums, and none of the other records.
  RecordNeeds record_needs() const override { return {{}, {}, false}; }
  // lines: each line rounded half-even alone (the spec's rule); total: the lines rounded
  // together so they sum to the runs' total rounded once (ten runs of 0.005 cost 0.05).
  enum class Rounding { lines, total };
  struct Options {
    Rounding rounding = Rounding::lines;
  };
  PerExperiment() = default;
  explicit PerExperiment(Options options) : options_(options) {}
  bool splits_pool() const override { return false; }
  bool reads_priced_runs() const override { return true; }
  bool rounds_lines_together() const override { return options_.rounding == Rounding::total; }
  std::vector<std::string> default_group_by() const override { return {"experiment"}; }
  StepOutput run(const StepInput& input) const override;
  // One run's exact cost from the catalog, as a line of this step sums it: its part in the
  // bucket being split, its window's part of the whole run, or the whole run. A run missing
  // start, end or count, or a SKU the catalog lacks, is SpecError naming the record.
  static Rational price(const Record& record, const Catalog* catalog);

 private:
  Options options_;
};

class WeightedSplit final : public Strategy {
 public:
  std::string_view name() const override { return "weighted_split"; }
  enum class Basis { max, reserved, used };
  enum class Unused { proportional, separate };
  struct Options {
    Amounts capacity;
    std::optional<Amounts> weights;  // none: {gpu: 9, cpu: 0.9, memory_gb: 0.1} with GPUs, else {cpu: 9, memory_gb: 1}
    Basis basis = Basis::max;
    Unused unused = Unused::proportional;
  };
  explicit WeightedSplit(Options options);
  std::vector<std::string> default_group_by() const override { return {"pod"}; }
  StepOutput run(const StepInput& input) const override;
  const Amounts& weights() const noexcept { return weights_; }

 private:
  Options options_;
  Amounts weights_;
};

class Even final : public Strategy {
 public:
  std::string_view name() const override { return "even"; }
  RecordNeeds record_needs() const override { return {{}, {}, false}; }  // only which groups are present
  StepOutput run(const StepInput& input) const override;
};

class Fixed final : public Strategy {
 public:
  std::string_view name() const override { return "fixed"; }
  RecordNeeds record_needs() const override { return {{}, {}, false}; }
  struct Share {
    Tags tags;
    Decimal share;
  };
  explicit Fixed(std::vector<Share> shares);
  bool reads_records() const override { return false; }
  StepOutput run(const StepInput& input) const override;

 private:
  std::vector<Share> shares_;
};

// A commitment: reserved instances, a savings plan, a committed-use discount, or a credit.
// The pool (usually amortised) pays for `covers` units of weight in the pool's window; with
// W the records' total weight, each group's line costs pool x weight / max(covers, W), and
// the unused part, pool x max(covers - W, 0) / max(covers, W), is settled by the unused
// policy: a line of kind idle tagged "__unused__" (separate), spread over the allocated
// lines by weight (proportional), or assigned to one allocated line. Lines carry split_cost
// (their used part) and unused_cost (the unused cost they absorbed), both exact.
class Commitment final : public Strategy {
 public:
  std::string_view name() const override { return "commitment"; }
  RecordNeeds record_needs() const override;
  static constexpr std::string_view unused_value = "__unused__";
  struct Options {
    Decimal covers;  // the usage the commitment covers in the pool's window, in weight units
    WeightExpression weight = WeightExpression::measure("gpu_seconds");
    CostPolicy unused_policy = SeparatePolicy{};
  };
  // A negative `covers` is std::invalid_argument.
  explicit Commitment(Options options);
  std::vector<std::string> default_group_by() const override { return {"team"}; }
  StepOutput run(const StepInput& input) const override;

 private:
  Options options_;
};

APPORTION_END_NAMESPACE
