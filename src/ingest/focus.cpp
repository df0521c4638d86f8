// `focus`: a FOCUS 1.x billing export (CSV) summed into pools, one pool per distinct value of
// the `pool_by` columns, each pool's cost the exact sum of its rows' cost column.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "apportion/json.hpp"
#include "apportion/money.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

// Real exports write a missing value as the bare word NULL.
bool is_null(const CsvRow& row, std::size_t i) {
  return row.fields[i].empty() || (!row.quoted[i] && row.fields[i] == "NULL");
}

// A FOCUS timestamp: RFC 3339, or "2024-09-01 00:00:00" with no zone, which FOCUS defines as UTC.
Instant focus_instant(const std::string& text) {
  bool zoned = !text.empty() && (text.back() == 'Z' || text.back() == 'z');
  for (std::size_t i = 11; !zoned && i < text.size(); ++i) zoned = text[i] == '+' || text[i] == '-';
  return Instant::parse(zoned ? text : text + "Z");
}

// How a pool's origin charge takes a column from the pool's rows: a dimension (and a unit
// price) is the value every row agrees on, else null; the charge and billing periods run from
// the earliest start to the latest end; costs and the other summable metrics are summed,
// null rows counting as nothing.
enum class OriginRule { same, earliest, latest, cost, summable };

OriginRule origin_rule(std::string_view column) {
  if (column == "ChargePeriodStart" || column == "BillingPeriodStart") return OriginRule::earliest;
  if (column == "ChargePeriodEnd" || column == "BillingPeriodEnd") return OriginRule::latest;
  if (column == "BilledCost" || column == "EffectiveCost" || column == "ListCost" || column == "ContractedCost")
    return OriginRule::cost;
  if (column == "ConsumedQuantity" || column == "PricingQuantity" || column == "CommitmentDiscountQuantity" ||
      column == "PricingCurrencyEffectiveCost")
    return OriginRule::summable;
  return OriginRule::same;
}

// A summable metric other than a cost is summed only where the rows that have it give it in
// the same unit.
std::optional<std::string_view> unit_column_of(std::string_view metric) {
  if (metric == "ConsumedQuantity") return "ConsumedUnit";
  if (metric == "PricingQuantity") return "PricingUnit";
  if (metric == "CommitmentDiscountQuantity") return "CommitmentDiscountUnit";
  if (metric == "PricingCurrencyEffectiveCost") return "PricingCurrency";
  return std::nullopt;
}

// Each distinct text once for the whole bill: most columns repeat the same few values over
// every pool, and a bill may have a million pools.
class TextTable {
 public:
  std::uint32_t intern(std::string_view text) {
    if (const auto it = ids_.find(text); it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(texts_.size());
    if (id >= kConflict) throw SpecError("", "too many distinct values in the bill's columns");
    texts_.emplace_back(text);
    ids_.emplace(texts_.back(), id);
    return id;
  }
  const std::string& operator[](std::uint32_t id) const { return texts_[id]; }
  std::vector<std::string> release() {
    ids_.clear();
    return {std::make_move_iterator(texts_.begin()), std::make_move_iterator(texts_.end())};
  }

  // Cell states besides a text's id: no value yet (or null), and values that disagree or
  // cannot be read (null in the end).
  static constexpr std::uint32_t kNone = OriginSchema::null;
  static constexpr std::uint32_t kConflict = OriginSchema::null - 1;

 private:
  std::deque<std::string> texts_;  // a deque: the map's keys view its strings, which must not move
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};
constexpr std::uint32_t kNone = TextTable::kNone;
constexpr std::uint32_t kConflict = TextTable::kConflict;

// The bill's columns an origin charge carries, with their rules: all but Tags (the pool's
// tags stand for it) and the Allocated* columns of rows already split by the data generator,
// which the output writes afresh.
struct OriginColumns {
  std::vector<std::size_t> index;  // in the header
  std::vector<OriginRule> rule;
  std::vector<std::optional<std::size_t>> unit;  // a summable metric's unit column, in the header
  std::vector<std::size_t> slot;  // a cost's or summable metric's place among the sums, a period's among the instants
  std::size_t sums = 0, instants = 0;
};

OriginColumns origin_columns(const CsvRow& header) {
  OriginColumns out;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& name = header.fields[i];
    if (name == "Tags" || name.starts_with("Allocated")) continue;
    const OriginRule rule = origin_rule(name);
    out.index.push_back(i);
    out.rule.push_back(rule);
    std::optional<std::size_t> unit;
    if (const auto unit_name = unit_column_of(name))
      for (std::size_t u = 0; u < header.fields.size(); ++u)
        if (header.fields[u] == *unit_name) unit = u;
    out.unit.push_back(unit);
    const bool summed = rule == OriginRule::cost || rule == OriginRule::summable;
    out.slot.push_back(summed ? out.sums++ : rule == OriginRule::same ? 0 : out.instants++);
  }
  return out;
}

// A pool's origin columns while its rows are read: per column a state (kNone, kConflict,
// or the id of the agreed value, of the extreme period's text, of a metric's unit), and
// the sums and period instants by slot.
struct OriginAcc {
  std::vector<std::uint32_t> state;
  std::vector<Decimal> sums;
  std::vector<Instant> when;
};

// Folds one accepted row into a pool's origin columns.
void add_origin(OriginAcc& acc, const OriginColumns& columns, TextTable& texts, const CsvRow& row, bool first) {
  if (first) {
    acc.state.assign(columns.index.size(), kNone);
    acc.sums.assign(columns.sums, Decimal{});
    acc.when.assign(columns.instants, Instant{});
  }
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    std::uint32_t& state = acc.state[c];
    if (state == kConflict) continue;
    const std::size_t i = columns.index[c];
    const bool null = is_null(row, i);
    const std::string& text = row.fields[i];
    switch (columns.rule[c]) {
      case OriginRule::same:
        if (first)
          state = null ? kNone : texts.intern(text);
        else if ((state == kNone) != null || (!null && texts[state] != text))
          state = kConflict;
        break;
      case OriginRule::earliest:
      case OriginRule::latest: {
        if (null) {
          state = kConflict;
          break;
        }
        if (state != kNone && texts[state] == text) break;
        try {
          const Instant at = focus_instant(text);
          Instant& extreme = acc.when[columns.slot[c]];
          const bool earliest = columns.rule[c] == OriginRule::earliest;
          if (state == kNone || (earliest ? at < extreme : extreme < at)) {
            extreme = at;
            state = texts.intern(text);
          }
        } catch (const std::exception&) {
          state = kConflict;
        }
        break;
      }
      case OriginRule::summable:
      case OriginRule::cost:
        if (null) break;
        if (columns.rule[c] == OriginRule::summable) {
          // The state is the unit: the rows that have a value must agree on it.
          const auto u = columns.unit[c];
          const std::string_view unit = u && !is_null(row, *u) ? std::string_view(row.fields[*u]) : std::string_view();
          if (state == kNone) {
            state = texts.intern(unit);
          } else if (texts[state] != unit) {
            state = kConflict;
            break;
          }
        } else {
          state = 0;  // a value was seen
        }
        try {
          Decimal& sum = acc.sums[columns.slot[c]];
          sum += Decimal::parse(text, ExcessDigits::round_half_even);
        } catch (const std::exception&) {
          state = kConflict;  // unreadable, or a sum beyond the range
        }
        break;
    }
  }
}

// The bill's schema, once its rows are read: column names and kinds, and the texts.
std::shared_ptr<OriginSchema> origin_schema(const OriginColumns& columns, const CsvRow& header,
                                            const std::string& cost_column, TextTable& texts) {
  auto schema = std::make_shared<OriginSchema>();
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    const std::string& name = header.fields[columns.index[c]];
    schema->names.push_back(name);
    switch (columns.rule[c]) {
      case OriginRule::cost: schema->kinds.push_back(OriginSchema::Kind::cost); break;
      case OriginRule::summable: schema->kinds.push_back(OriginSchema::Kind::summable); break;
      default:
        schema->kinds.push_back(name == "ListUnitPrice" || name == "ContractedUnitPrice" ? OriginSchema::Kind::price
                                                                                         : OriginSchema::Kind::dimension);
    }
  }
  schema->cost_column = cost_column;
  schema->texts = texts.release();
  return schema;
}

std::shared_ptr<const OriginCharge> origin_charge(const OriginAcc& acc, const OriginColumns& columns,
                                                  const std::shared_ptr<const OriginSchema>& schema,
                                                  const std::string& currency) {
  auto charge = std::make_shared<OriginCharge>();
  charge->schema = schema;
  charge->currency = Currency(currency);
  charge->cells.assign(columns.index.size(), OriginSchema::null);
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    const std::uint32_t state = acc.state[c];
    if (state == kNone || state == kConflict) continue;
    if (columns.rule[c] == OriginRule::cost || columns.rule[c] == OriginRule::summable) {
      charge->cells[c] = static_cast<std::uint32_t>(charge->amounts.size());
      charge->amounts.push_back(acc.sums[columns.slot[c]]);
    } else {
      charge->cells[c] = state;
    }
  }
  // A summed metric's unit is the one its rows agree on, whatever rows without it hold.
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    if (columns.rule[c] != OriginRule::summable || charge->cells[c] == OriginSchema::null || !columns.unit[c]) continue;
    for (std::size_t u = 0; u < columns.index.size(); ++u)
      if (columns.index[u] == *columns.unit[c])
        charge->cells[u] = schema->texts[acc.state[c]].empty() ? OriginSchema::null : acc.state[c];
  }
  return charge;
}

struct PoolAcc {
  std::string id;
  Decimal cost;
  std::string currency;
  std::map<std::string, std::string, std::less<>> tags;  // pairs every row so far agrees on
  bool first = true;
  OriginAcc origin;
  std::map<std::pair<Instant, Instant>, Decimal> charges;  // under a series: cost per charge period
};

// A row's charge period, for a series to place it.
Interval charge_period(const CsvRow& row, std::size_t start_i, std::size_t end_i) {
  Instant bounds[2];
  for (int k = 0; k < 2; ++k) {
    const std::size_t i = k == 0 ? start_i : end_i;
    const char* name = k == 0 ? "ChargePeriodStart" : "ChargePeriodEnd";
    if (is_null(row, i)) throw SpecError("", std::string(name) + ": empty, so the series cannot place the row");
    try {
      bounds[k] = focus_instant(row.fields[i]);
    } catch (const std::exception&) {
      throw SpecError("", std::string(name) + ": not a timestamp (got \"" + row.fields[i] + "\")");
    }
  }
  if (bounds[1] < bounds[0]) throw SpecError("", "ChargePeriodEnd: before ChargePeriodStart");
  return Interval(bounds[0], bounds[1]);
}

// Keeps only the pairs of `acc` that `row` also has with the same value.
void intersect(std::map<std::string, std::string, std::less<>>& acc, const std::map<std::string, std::string>& row) {
  for (auto it = acc.begin(); it != acc.end();) {
    const auto found = row.find(it->first);
    if (found == row.end() || found->second != it->second)
      it = acc.erase(it);
    else
      ++it;
  }
}

IngestResult parse_focus(std::string_view text, ObjectReader& options, const std::string& source) {
  std::string cost_column = "BilledCost";
  if (const Value* v = options.optional("cost")) {
    cost_column = read_string(*v, options.path("cost"));
    if (cost_column != "BilledCost" && cost_column != "EffectiveCost" && cost_column != "ListCost" &&
        cost_column != "ContractedCost")
      throw SpecError(options.path("cost"), "must be BilledCost, EffectiveCost, ListCost or ContractedCost (got \"" +
                                                cost_column + "\")");
  }
  std::vector<std::string> pool_by{"ResourceId"};
  if (const Value* v = options.optional("pool_by")) {
    pool_by = read_names(*v, options.path("pool_by"));
    if (pool_by.empty()) throw SpecError(options.path("pool_by"), "names no column");
  }
  std::vector<std::string> tag_names;
  if (const Value* v = options.optional("tags")) tag_names = read_names(*v, options.path("tags"));
  std::optional<Instant> period_start, period_end;
  if (const Value* v = options.optional("period_start")) period_start = read_instant(*v, options.path("period_start"));
  if (const Value* v = options.optional("period_end")) period_end = read_instant(*v, options.path("period_end"));
  if (period_start && period_end && *period_end < *period_start)
    throw SpecError(options.path("period_end"), "is before period_start");
  const RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read

  CsvReader reader(text, source);
  CsvRow header;
  if (!reader.next(header)) throw SpecError(source, "no header row");
  const std::size_t cost_i = csv_column(reader, header, cost_column, "cost");
  const std::size_t currency_i = csv_column(reader, header, "BillingCurrency", "the FOCUS format");
  std::vector<std::size_t> pool_i, tag_i;
  for (const std::string& name : pool_by) pool_i.push_back(csv_column(reader, header, name, "pool_by"));
  for (const std::string& name : tag_names) tag_i.push_back(csv_column(reader, header, name, "tags"));
  std::optional<std::size_t> period_i;
  if (period_start || period_end) period_i = csv_column(reader, header, "ChargePeriodStart", "period_start/period_end");
  // Under a series each row is charged over its own period: the pool's charges.
  std::optional<std::pair<std::size_t, std::size_t>> charge_period_i;
  if (current_buckets())
    charge_period_i.emplace(csv_column(reader, header, "ChargePeriodStart", "a series"),
                            csv_column(reader, header, "ChargePeriodEnd", "a series"));
  std::optional<std::size_t> json_tags_i;
  for (std::size_t i = 0; i < header.fields.size(); ++i)
    if (header.fields[i] == "Tags") json_tags_i = i;
  const OriginColumns columns = origin_columns(header);
  TextTable texts;

  IngestResult result;
  std::vector<PoolAcc> pools;
  std::map<std::string, std::size_t, std::less<>> pool_index;
  std::size_t outside_period = 0;
  CsvRow row;
  while (reader.next(row)) {
    ++result.rows;
    const std::string where = reader.where(row.line);
    try {
      require_header_width(row, header);
      if (period_i) {
        if (is_null(row, *period_i)) throw SpecError("", "ChargePeriodStart: empty, so the period filter cannot place the row");
        Instant at;
        try {
          at = focus_instant(row.fields[*period_i]);
        } catch (const std::exception&) {
          throw SpecError("", "ChargePeriodStart: not a timestamp (got \"" + row.fields[*period_i] + "\")");
        }
        if ((period_start && at < *period_start) || (period_end && !(at < *period_end))) {
          ++outside_period;
          continue;
        }
      }
      if (is_null(row, cost_i)) throw SpecError("", cost_column + ": empty (NULL); a cost is needed for every row");
      Decimal cost;
      try {
        cost = Decimal::parse(row.fields[cost_i], ExcessDigits::round_half_even);
      } catch (const std::exception&) {
        throw SpecError("", cost_column + ": not a decimal number (got \"" + row.fields[cost_i] + "\")");
      }
      if (is_null(row, currency_i)) throw SpecError("", "BillingCurrency: empty (NULL)");
      const std::string& currency = row.fields[currency_i];
      const std::optional<Interval> charged =
          charge_period_i ? std::optional(charge_period(row, charge_period_i->first, charge_period_i->second)) : std::nullopt;
      try {
        (void)Currency(currency);
      } catch (const std::exception&) {
        throw SpecError("", "BillingCurrency: not an ISO 4217 currency code (got \"" + currency + "\")");
      }
      std::string id;
      for (std::size_t k = 0; k < pool_i.size(); ++k) {
        if (k > 0) id += '/';
        id += is_null(row, pool_i[k]) ? std::string("unassigned") : row.fields[pool_i[k]];
      }
      std::map<std::string, std::string> row_tags;
      if (json_tags_i && !is_null(row, *json_tags_i)) {
        Value parsed;
        try {
          parsed = parse_json(row.fields[*json_tags_i]);
        } catch (const SpecError& e) {
          throw SpecError("", std::string("Tags: not JSON (") + e.what() + ")");
        }
        if (!parsed.is(Value::Type::object)) throw SpecError("", "Tags: not a JSON object");
        for (const auto& [key, value] : parsed.members()) {
          if (value.is(Value::Type::null)) continue;  // a key with no value
          if (value.is(Value::Type::object) || value.is(Value::Type::array))
            throw SpecError("", "Tags." + key + ": must be a string");
          if (!value.text().empty()) row_tags[key] = value.text();
        }
      }
      for (std::size_t k = 0; k < tag_i.size(); ++k) {
        if (is_null(row, tag_i[k]))
          row_tags.erase(tag_names[k]);
        else
          row_tags[tag_names[k]] = row.fields[tag_i[k]];
      }
      auto [it, inserted] = pool_index.try_emplace(id, pools.size());
      if (inserted) pools.push_back(PoolAcc{id, Decimal{}, currency, {}, true, {}});
      PoolAcc& pool = pools[it->second];
      if (pool.currency != currency)
        throw SpecError("", "BillingCurrency: pool \"" + id + "\" mixes " + pool.currency + " and " + currency);
      pool.cost += cost;
      if (charged) pool.charges[{charged->start(), charged->end()}] += cost;
      if (pool.first)
        pool.tags.insert(row_tags.begin(), row_tags.end());
      else
        intersect(pool.tags, row_tags);
      add_origin(pool.origin, columns, texts, row, pool.first);
      pool.first = false;
    } catch (const SpecError& e) {
      errors.skip(result, where, e.what());
    } catch (const OverflowError& e) {
      errors.skip(result, where, std::string(cost_column) + ": " + e.what());
    }
  }
  const std::shared_ptr<const OriginSchema> schema = origin_schema(columns, header, cost_column, texts);
  for (PoolAcc& acc : pools) {
    if (acc.first) continue;  // created by a row that was then refused
    Pool pool;
    pool.id = acc.id;
    pool.tags = Tags(std::vector<Tags::Pair>(acc.tags.begin(), acc.tags.end()));
    pool.source = CostSource{acc.cost};
    pool.currency = Currency(acc.currency);
    pool.origin = origin_charge(acc.origin, columns, schema, acc.currency);
    for (const auto& [period, cost] : acc.charges) pool.charges.push_back({Interval(period.first, period.second), cost});
    result.pools.push_back(std::move(pool));
  }
  // Rows the period filter leaves out are told, so a bill that does not add up can be traced.
  if (outside_period > 0)
    result.warnings.push_back(source + ": " + std::to_string(outside_period) + " of " + std::to_string(result.rows) +
                              (result.rows == 1 ? " row" : " rows") + " charge a period outside [" +
                              (period_start ? period_start->to_string() : "") + ", " +
                              (period_end ? period_end->to_string() : "") + ") and are left out");
  return result;
}

}  // namespace

void register_focus(IngestRegistry& registry) { registry.add("focus", parse_focus); }

}  // namespace ingest
APPORTION_END_NAMESPACE
