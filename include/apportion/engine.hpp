#pragma once
// The allocation engine: pools of money, records of what consumed it, and steps that
// split each pool by a strategy into lines. Knows no JSON and no files: build an
// Allocation in code (or let the spec runner build one) and call run().

#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "apportion/catalog.hpp"
#include "apportion/decimal.hpp"
#include "apportion/heap_optional.hpp"
#include "apportion/limits.hpp"
#include "apportion/money.hpp"
#include "apportion/tags.hpp"
#include "apportion/time.hpp"

APPORTION_BEGIN_NAMESPACE

// Named amounts: measures, and the resource maps `reserved`, `used`, `capacity`.
using Amounts = std::map<std::string, Decimal, std::less<>>;

// What no record may measure, whatever it came from: a `utilization` above 1 (a ratio) or
// more `tokens_cached` than `tokens_prompt`. The measure at fault and what is wrong
// ("must be between 0 and 1 (got 1.4)"), or none.
std::optional<std::pair<std::string, std::string>> measure_problem(const std::map<std::string, Decimal, std::less<>>& measures);

// What consumed a pool. Only `tags` is always needed; strategies name what they read.
struct Record {
  std::string id;
  Tags tags;
  std::optional<std::string> pool;  // none: takes part in every step its select matches
  Amounts measures;                 // gpu_seconds, tokens_prompt, ... (non-negative)
  Amounts reserved;                 // weighted_split: resources requested
  Amounts used;                     // weighted_split: resources used
  std::optional<Instant> start;     // priced runs (per_experiment)
  std::optional<Instant> end;
  // What only priced runs have is on the heap (HeapOptional): a million usage records do
  // not carry it inline.
  // A priced run clipped to a period: the part of [start, end) this record bills, its share
  // of the whole run's cost (Catalog::run_cost_part); none: all of it.
  HeapOptional<Interval> window;
  HeapOptional<Decimal> count;
  HeapOptional<std::string> sku;  // a record with a SKU is a priced run
  HeapOptional<std::string> tier;
  // An instant the record belongs to, under a series: it falls in the bucket holding it.
  std::optional<Instant> at;
  // Under a series, the part of the record's measures in the bucket being split:
  // portion_part / portion_whole (its overlap with the bucket over its length, in
  // nanoseconds). portion_whole 0: all of them, as without a series. run() sets it on the
  // records of each bucket; strategies read measures through exact_measure.
  std::int64_t portion_part = 0, portion_whole = 0;
  // Under a series, a priced run's part of its rounded cost in the bucket being split: run()
  // prices the whole run, and rounds its parts together so they sum to it. None: priced here.
  HeapOptional<Decimal> billed_part;
  // Where the record came from, for error messages: "records[3]" or "usage.csv line 7".
  std::string origin;

  Decimal measure(std::string_view name) const {
    const auto it = measures.find(name);
    return it == measures.end() ? Decimal{} : it->second;
  }
  bool priced_run() const noexcept { return sku.has_value(); }
  // The measure in the bucket being split: measure() x the portion, exactly. `utilization`
  // is a ratio, not an amount, and is not portioned.
  Rational exact_measure(std::string_view name) const {
    Rational m = measure(name).to_rational();
    if (portion_whole != 0 && name != "utilization") m = m * BigInt(portion_part) / BigInt(portion_whole);
    return m;
  }
  bool portioned() const noexcept { return portion_whole != 0; }
  // A priced run's GPU time: count x the length of [start, end) within its window.
  Rational run_hours() const {
    if (!start || !end || !count) return 0;
    const Interval run(*start, *end);
    return count->to_rational() * hours_of(window ? run.overlap(*window) : run.length());
  }
};

// The ways a pool's amount is known.
struct CostSource {  // a known amount; negative for credits
  Decimal cost;
};
struct PriceSource {  // quantity x the tier's latest rate, or count priced over an interval
  std::string sku;
  std::string tier = "on_demand";
  Decimal quantity;
  std::optional<Interval> interval;
};
struct FromStepSource {  // the reported costs of an earlier step's lines with these tags
  std::string step;
  Tags tags;
};
struct AmortizedSource {  // amount x overlap(window, term) / term length
  Decimal amount;
  Interval term;
  Interval window;
};
// One part of a pool broken down by resource, as OpenCost breaks an allocation's cost down
// (CPU, GPU, RAM, storage, network, a fixed fee): a per_namespace step with `resources`
// splits each part by its resource's use among the records holding all of `tags` (one
// node's, one cluster's; empty: every record of the step). Its idle is its cost beyond what
// those records use of `capacity`, in the resource weight's units (none: all of it is used).
struct PoolPart {
  std::string resource;
  Tags tags;
  std::variant<CostSource, AmortizedSource> source;  // non-negative
  std::optional<Decimal> capacity;
};
struct PartsSource {  // the sum of its parts
  std::vector<PoolPart> parts;
};
using PoolSource = std::variant<CostSource, PriceSource, FromStepSource, AmortizedSource, PartsSource>;
// A cost or amortized amount, exactly: amount x overlap(window, term) / term length.
// A term of zero length is std::invalid_argument.
Rational exact_amount(const std::variant<CostSource, AmortizedSource>& source);

// The columns of one FOCUS bill, shared by the origin charges of the pools read from it.
struct OriginSchema {
  // A cost is in the billing currency; another summable metric is a quantity or a cost in
  // the pricing currency. A price (a unit price in the billing currency) repeats like a
  // dimension: prices do not add up.
  enum class Kind { dimension, price, cost, summable };
  std::vector<std::string> names;  // in the bill's column order
  std::vector<Kind> kinds;
  std::string cost_column;         // the column the pools' costs are the sums of
  std::vector<std::string> texts;  // the distinct values of dimensions and prices
  static constexpr std::uint32_t null = 0xffffffffu;
};

// The charge a pool was read from, as its bill's columns, so that FOCUS output can repeat
// them on the pool's allocated rows. The `focus` ingest format fills it for each pool from
// the pool's rows (docs/output-formats.md says how each column is taken). Compact: a bill
// of a million resources has a million of these.
struct OriginCharge {
  std::shared_ptr<const OriginSchema> schema;
  Currency currency;  // the rows' BillingCurrency, the currency of the costs
  // Per column: for a dimension or price, an index into schema->texts; for a cost or
  // summable metric, an index into `amounts`; OriginSchema::null for null.
  std::vector<std::uint32_t> cells;
  std::vector<Decimal> amounts;

  std::optional<std::string_view> value(std::size_t column) const {
    const auto kind = schema->kinds[column];
    if (cells[column] == OriginSchema::null || kind == OriginSchema::Kind::cost ||
        kind == OriginSchema::Kind::summable)
      return std::nullopt;
    return std::string_view(schema->texts[cells[column]]);
  }
  std::optional<Decimal> amount(std::size_t column) const {
    const auto kind = schema->kinds[column];
    if (cells[column] == OriginSchema::null ||
        (kind != OriginSchema::Kind::cost && kind != OriginSchema::Kind::summable))
      return std::nullopt;
    return amounts[cells[column]];
  }
};

// A part of a pool's cost charged over a period of its own: a bill's rows for one period.
struct Charge {
  Interval period;
  Decimal cost;  // in the pool's currency
};

struct Pool {
  std::string id;
  Tags tags;
  PoolSource source;
  std::optional<Currency> currency;  // none: the allocation's currency
  std::shared_ptr<const OriginCharge> origin;  // none: not read from a bill
  // Under a series: the time the pool's amount is spread over (none: the whole series).
  std::optional<Interval> period{};
  // Under a series, instead of `period`: the pool's cost as it was charged over time (a
  // cost pool's; they sum to it), each part over its own period. The `focus` format fills
  // it from the bill's ChargePeriodStart/End.
  std::vector<Charge> charges{};
};

// An exchange rate for pools in another currency: 1 `from` = rate `to`.
struct FxRate {
  Currency from;
  Currency to;
  Decimal rate;
  std::string date;
  std::string source;
  std::string rate_text;  // the rate as written in a spec, echoed in the result (else rate)
};

// Record selection: each key's tag must hold one of the listed values.
using Selector = std::map<std::string, std::vector<std::string>, std::less<>>;

enum class LineKind { allocated, overhead, idle, unallocated };
std::string_view to_string(LineKind kind) noexcept;

class Strategy;
struct Governance;        // governance.hpp
struct GovernanceReport;

// How a record that names no pool finds its pool in a step over a fleet: its tag `tag`
// equals the pool's id, or the pool's tag `pool_tag` when that is given.
struct PoolMatch {
  std::string tag;
  std::string pool_tag;  // empty: the pool's id
};

struct Step {
  std::string id;
  std::shared_ptr<const Strategy> strategy;
  std::optional<std::string> pool;      // required by strategies that split a pool
  std::vector<std::string> group_by;    // empty: the strategy's default
  Selector select;
  // Records whose tag holds one of these values take no part (`"select": {"namespace":
  // {"not": [...]}}`); a record without the tag is not excluded by it.
  Selector exclude{};
  // A step over a fleet, instead of `pool`: it splits each of these pools on its own (its
  // lines sum to each, and carry their pool), or each pool whose tags hold all of
  // `pools_tagged`, in spec order.
  std::vector<std::string> pools{};
  std::optional<Tags> pools_tagged{};
  std::optional<PoolMatch> match{};  // none: a record naming no pool takes part in every pool
  // A record lacking some group_by keys: false (the spec's rule), its line is the one
  // unallocated line with "__unallocated__" for every key; true (`"unallocated_keys":
  // "missing"`, as OpenCost does), its line keeps the keys it has and marks only the others.
  bool keep_present_keys = false;

  bool over_fleet() const noexcept { return !pools.empty() || pools_tagged.has_value(); }
};

struct Allocation;
// The pools a step splits, as indexes into allocation.pools in spec order: its `pool`, or
// its fleet. Empty for a step that splits none; SpecError (at `step_path`) for an unknown
// pool or a fleet whose tags select none.
std::vector<std::size_t> pools_of_step(const Allocation& allocation, const Step& step, const std::string& step_path);

// What one input file yielded (informative; echoed in the result).
struct InputSummary {
  std::string path;
  std::string format;
  std::size_t rows = 0;  // what the file held, in its format's units (IngestResult::rows)
  std::size_t records = 0, pools = 0, skus = 0;
  std::size_t skipped = 0;                   // unreadable rows skipped on request
  std::vector<std::string> skipped_reasons;  // the first 100
  std::optional<std::string> join;                 // the input whose tags were joined on
  std::size_t joined = 0, unmatched = 0;           // records that found a match, and not
  bool join_only = false;                          // read only as a tag table for joins
  std::vector<std::string> warnings;               // the format's (IngestResult::warnings)
};

// A chargeback statement: one total per group across every pool and step (docs/spec.md,
// "Statements"). Each pool is read through one step: the one `steps` names for it, else the
// first that splits it.
struct StatementSpec {
  std::string id;
  std::vector<std::string> group_by;  // non-empty, no key twice
  std::vector<std::string> steps;     // ids of steps chosen for their pools
};

// Attribution over time (docs/spec.md, "Series"): the steps run once per bucket of `step`
// from `start` to `end`, both on bucket boundaries.
struct Series {
  Instant start;
  Instant end;
  BucketStep step = BucketStep::day;
};

// Everything one run needs.
struct Allocation {
  Currency currency;
  std::optional<Decimal> precision;  // none: the currency's minor unit
  std::shared_ptr<const Catalog> catalog;
  std::vector<Pool> pools;
  std::vector<Record> records;
  std::vector<Step> steps;
  std::vector<FxRate> fx;
  std::vector<InputSummary> inputs;  // what the spec's `inputs` read, for the result
  // Tag keys records had that the spec's plan did not keep (plan.hpp), for hints: a step
  // grouped by `team` over records tagged `label_team` names it.
  std::vector<std::string> dropped_tags;
  Limits limits;                     // run() enforces max_groups_per_step
  // Built by run() after the steps (statements.hpp), before governance, which may read them.
  std::vector<StatementSpec> statements;
  // Budgets, anomalies, reconciliation, scorecards and unit economics, evaluated by run()
  // after the steps (governance.hpp); null for none.
  std::shared_ptr<const Governance> governance;
  // None: one run over the whole document, as without a series.
  std::optional<Series> series{};
};

// ---- Results -------------------------------------------------------------------------

struct PoolCost {
  std::string id;
  Decimal cost;  // rounded to the precision
};

struct Line {
  std::string step;
  std::optional<std::string> pool;  // none for steps that price runs
  std::optional<Interval> bucket;   // under a series: the bucket it was split in
  LineKind kind = LineKind::allocated;
  Tags tags;
  Decimal cost;                      // rounded; a split step's lines sum exactly to its pool
  Rational exact_cost;               // before rounding
  std::optional<Rational> weight;    // in the step's weight unit
  std::optional<Rational> share;     // weight / the step's denominator
  // Fields few lines have are on the heap (HeapOptional): a step of a million lines does not
  // carry them inline.
  HeapOptional<Rational> split_cost, unused_cost;  // weighted_split, commitment
  HeapOptional<Rational> gpu_hours;                // per_experiment
  // Of exact_cost, what the line took in of overhead and of idle (or unused capacity) cost,
  // spread or assigned to it; none when nothing. What the rest is made of is its own kind.
  HeapOptional<Rational> absorbed_overhead, absorbed_idle;
};

struct UnitCost {
  std::string step;
  Tags tags;
  // "blended", and "prompt" and "generation" when the step gives phases; per million tokens.
  std::vector<std::pair<std::string, Decimal>> per_million;
  Decimal unit_precision;  // the unit the rates are rounded to
  std::optional<Interval> bucket{};  // under a series
};

struct Coverage {
  std::string step;
  Rational ratio;  // share of the pool not on unallocated lines
  std::optional<Interval> bucket{};  // under a series
};

// A leaf of a statement: a line of a pool's chosen step, or a pool no step splits (`step`
// none, kind unallocated, the pool's tags).
struct StatementPart {
  std::optional<std::string> step;
  std::string pool;
  LineKind kind = LineKind::allocated;
  Tags tags;  // the leaf's own, not those it inherits
  Decimal cost;
  // The cost by what it is made of, indexed by LineKind: the line's own kind, and the
  // overhead and idle it took in (Line::absorbed_*), rounded to sum to `cost` exactly.
  std::array<Decimal, 4> made_of{};
  std::optional<Interval> bucket{};  // under a series: the bucket of its line
};

struct StatementRow {
  Tags tags;  // the group_by keys, with "__idle__" or "__unallocated__" for a key a leaf lacks
  // The kind every part shares, else allocated: what governance reports a row as.
  LineKind kind = LineKind::allocated;
  Decimal cost;  // the exact sum of the parts' costs
  std::array<Decimal, 4> made_of{};  // the sums of the parts' made_of, by LineKind
  std::vector<StatementPart> parts;  // in line order, then unsplit pools in spec order
  // Under a series: the row's cost in each bucket, in bucket order (Result::series), zeros
  // included.
  std::vector<Decimal> buckets{};
};

struct Statement {
  std::string id;
  std::vector<std::string> group_by;
  Decimal total;  // the sum of the rows: the sum of the pools not drawn from lines
  std::vector<StatementRow> rows;  // by tags in canonical order
};

// Under a series: each pool's amount in one bucket.
struct BucketPools {
  Interval bucket;
  std::vector<PoolCost> pools;  // every pool, in spec order
};

struct Result {
  Currency currency;
  Decimal precision;
  std::vector<PoolCost> pools;  // under a series, each pool's total over the buckets
  std::vector<BucketPools> series;  // under a series, in bucket order; else empty
  std::vector<std::string> steps;  // the ids of the steps that ran, in order
  std::vector<Line> lines;
  std::vector<UnitCost> unit_costs;
  std::vector<Coverage> coverage;
  std::vector<FxRate> fx_used;
  std::vector<InputSummary> inputs;
  // What ran but looks wrong, each starting with the path it is about: a step in which no
  // record took part. Inputs' own warnings are in `inputs`.
  std::vector<std::string> warnings;
  std::vector<Statement> statements;  // one per StatementSpec, in spec order
  std::shared_ptr<const GovernanceReport> governance;  // set when the allocation has governance

  // The lines of one step, in result order.
  std::vector<const Line*> lines_of(std::string_view step) const;
};

// The records that take part in a step, in input order: those without a pool (in a step
// over a fleet with a `match`, those whose tag names the step's pool) or with the step's
// pool, matching its select; call it with `pool` set to one pool of a fleet; priced runs for strategies that read them, else the
// rest. When no record names the step's pool and it is drawn from another step's lines
// (`from`), the records pinned to the nearest pool up that chain which records name take
// part too, if they belong to the lines drawn (the from's tags and the drawing step's
// select, at every level between).
std::vector<const Record*> records_of_step(const Allocation& allocation, const Step& step);

// Runs every step in order. Bad input throws SpecError whose path names the offending
// part (`steps[1].pool`, `records[3].measures.gpu_seconds`); a broken invariant (a step
// whose lines do not sum to its pool) throws std::logic_error. Governance, when given, is
// evaluated last and its report set on the result.
Result run(const Allocation& allocation);

APPORTION_END_NAMESPACE
